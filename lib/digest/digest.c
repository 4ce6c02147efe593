/* The public streaming digest: a thin wrapper over the private hasher. */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "internal.h"

struct registry_digest {
	registry__hash hash;
};

int registry_digest_new(registry_digest **out, int algorithm)
{
	REGISTRY__ENTER(rc);
	if (!out)
		return registry__fail(REGISTRY_EINVAL, "NULL out parameter");
	*out = NULL;
	if (!registry__digest_string_length(algorithm))
		return registry__fail(REGISTRY_EINVAL, "unknown digest algorithm %d", algorithm);
	registry_digest *d = calloc(1, sizeof(*d));
	if (!d)
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	if ((rc = registry__hash_init(&d->hash, algorithm))) {
		free(d);
		return rc;
	}
	*out = d;
	return 0;
}

int registry_digest_update(registry_digest *d, const void *data, size_t len)
{
	REGISTRY__ENTER(rc);
	if (!d || (!data && len))
		return registry__fail(REGISTRY_EINVAL, "NULL digest or data");
	return registry__hash_update(&d->hash, data, len);
}

int registry_digest_final(char **out, registry_digest *d)
{
	REGISTRY__ENTER(rc);
	if (!out || !d)
		return registry__fail(REGISTRY_EINVAL, "NULL out parameter or digest");
	*out = NULL;
	/* Allocated before finishing: on ENOMEM the hashed data is still
	 * there and the caller may retry. One allocation per digest, none
	 * per registry_digest_update(). */
	char *s = malloc(registry__digest_string_length(d->hash.algorithm) + 1);
	if (!s)
		return registry__nomem();
	if ((rc = registry__hash_final(&d->hash, s))) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void registry_digest_free(registry_digest *d)
{
	if (!d)
		return;
	registry__hash_cleanup(&d->hash);
	free(d);
}

int registry__digest_buffer(char out[REGISTRY_DIGEST_STRING_MAX], int algorithm, const void *data,
                            size_t len)
{
	if (!data && len)
		return registry__fail(REGISTRY_EINVAL, "NULL data with a length of %zu", len);
	if (!registry__digest_string_length(algorithm))
		return registry__fail(REGISTRY_EINVAL, "unknown digest algorithm %d", algorithm);
	registry__hash h;
	int rc = registry__hash_init(&h, algorithm);
	if (rc)
		return rc;
	rc = registry__hash_update(&h, data, len);
	if (!rc)
		rc = registry__hash_final(&h, out);
	registry__hash_cleanup(&h);
	return rc;
}

int registry_digest_buffer(char **out, int algorithm, const void *data, size_t len)
{
	REGISTRY__ENTER(rc);
	if (!out)
		return registry__fail(REGISTRY_EINVAL, "NULL out parameter");
	*out = NULL;
	char tmp[REGISTRY_DIGEST_STRING_MAX];
	if ((rc = registry__digest_buffer(tmp, algorithm, data, len)))
		return rc;
	if (!(*out = registry__strdup(tmp)))
		return registry__nomem();
	return 0;
}

const char *registry_digest_backend(void)
{
#ifdef REGISTRY_HAVE_OPENSSL
	return "openssl";
#else
	return "libsodium";
#endif
}

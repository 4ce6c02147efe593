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

int registry_digest_final(registry_digest *d, char *buf, size_t bufsize)
{
	REGISTRY__ENTER(rc);
	if (!d || !buf)
		return registry__fail(REGISTRY_EINVAL, "NULL digest or buffer");
	size_t need = registry__digest_string_length(d->hash.algorithm) + 1;
	/* Checked before finishing, so the caller can retry with a larger buffer. */
	if (bufsize < need)
		return registry__fail(REGISTRY_EINVAL, "digest buffer too small: %zu bytes, need %zu",
		                      bufsize, need);
	char tmp[REGISTRY_DIGEST_STRING_MAX];
	if ((rc = registry__hash_final(&d->hash, tmp)))
		return rc;
	memcpy(buf, tmp, need);
	return 0;
}

void registry_digest_free(registry_digest *d)
{
	if (!d)
		return;
	registry__hash_cleanup(&d->hash);
	free(d);
}

int registry_digest_buffer(char *buf, size_t bufsize, int algorithm, const void *data, size_t len)
{
	REGISTRY__ENTER(rc);
	if (!buf || (!data && len))
		return registry__fail(REGISTRY_EINVAL, "NULL buffer or data");
	size_t need = registry__digest_string_length(algorithm);
	if (!need)
		return registry__fail(REGISTRY_EINVAL, "unknown digest algorithm %d", algorithm);
	if (bufsize < need + 1)
		return registry__fail(REGISTRY_EINVAL, "digest buffer too small: %zu bytes, need %zu",
		                      bufsize, need + 1);
	registry__hash h;
	char tmp[REGISTRY_DIGEST_STRING_MAX];
	if ((rc = registry__hash_init(&h, algorithm)))
		return rc;
	rc = registry__hash_update(&h, data, len);
	if (!rc)
		rc = registry__hash_final(&h, tmp);
	registry__hash_cleanup(&h);
	if (!rc)
		memcpy(buf, tmp, need + 1);
	return rc;
}

const char *registry_digest_backend(void)
{
#ifdef REGISTRY_HAVE_OPENSSL
	return "openssl";
#else
	return "libsodium";
#endif
}

/* The private streaming hasher: backend dispatch and hex formatting. */
#include <string.h>

#include "backend.h"
#include "internal.h"

static const char *algorithm_name(int algorithm)
{
	return algorithm == REGISTRY_DIGEST_SHA512 ? "sha512" : "sha256";
}

static size_t algorithm_bytes(int algorithm)
{
	return algorithm == REGISTRY_DIGEST_SHA512 ? REGISTRY__SHA512_BYTES : REGISTRY__SHA256_BYTES;
}

size_t registry__digest_string_length(int algorithm)
{
	if (algorithm == REGISTRY_DIGEST_DEFAULT)
		algorithm = REGISTRY_DIGEST_SHA256;
	if (algorithm != REGISTRY_DIGEST_SHA256 && algorithm != REGISTRY_DIGEST_SHA512)
		return 0;
	return strlen(algorithm_name(algorithm)) + 1 + 2 * algorithm_bytes(algorithm);
}

int registry__hash_backend_available(int backend)
{
	if (backend == REGISTRY__BACKEND_SODIUM)
		return 1;
#ifdef REGISTRY_HAVE_OPENSSL
	if (backend == REGISTRY__BACKEND_OPENSSL)
		return 1;
#endif
	return 0;
}

int registry__hash_init_backend(registry__hash *h, int algorithm, int backend)
{
	if (!h)
		return registry__fail(REGISTRY_EINVAL, "NULL hasher");
	if (algorithm == REGISTRY_DIGEST_DEFAULT)
		algorithm = REGISTRY_DIGEST_SHA256;
	if (algorithm != REGISTRY_DIGEST_SHA256 && algorithm != REGISTRY_DIGEST_SHA512)
		return registry__fail(REGISTRY_EINVAL, "unknown digest algorithm %d", algorithm);
	if (backend == REGISTRY__BACKEND_DEFAULT)
#ifdef REGISTRY_HAVE_OPENSSL
		backend = REGISTRY__BACKEND_OPENSSL;
#else
		backend = REGISTRY__BACKEND_SODIUM;
#endif
	if (backend != REGISTRY__BACKEND_SODIUM && backend != REGISTRY__BACKEND_OPENSSL)
		return registry__fail(REGISTRY_EINVAL, "unknown digest backend %d", backend);
	if (!registry__hash_backend_available(backend))
		return registry__fail(REGISTRY_EUNSUPPORTED, "the OpenSSL digest backend was not built");

	memset(h, 0, sizeof(*h));
	h->algorithm = algorithm;
	h->backend = backend;
#ifdef REGISTRY_HAVE_OPENSSL
	if (backend == REGISTRY__BACKEND_OPENSSL)
		return registry__openssl_init(h);
#endif
	return registry__sodium_init(h);
}

int registry__hash_init(registry__hash *h, int algorithm)
{
	return registry__hash_init_backend(h, algorithm, REGISTRY__BACKEND_DEFAULT);
}

int registry__hash_update(registry__hash *h, const void *data, size_t len)
{
	if (len == 0)
		return 0;
#ifdef REGISTRY_HAVE_OPENSSL
	if (h->backend == REGISTRY__BACKEND_OPENSSL)
		return registry__openssl_update(h, data, len);
#endif
	return registry__sodium_update(h, data, len);
}

int registry__hash_final(registry__hash *h, char out[REGISTRY_DIGEST_STRING_MAX])
{
	unsigned char md[REGISTRY__HASH_MAX_BYTES];
	int rc;
#ifdef REGISTRY_HAVE_OPENSSL
	if (h->backend == REGISTRY__BACKEND_OPENSSL)
		rc = registry__openssl_final(h, md);
	else
#endif
		rc = registry__sodium_final(h, md);
	if (rc)
		return rc;

	const char *name = algorithm_name(h->algorithm);
	size_t name_len = strlen(name);
	size_t bytes = algorithm_bytes(h->algorithm);
	memcpy(out, name, name_len); // NOLINT(bugprone-not-null-terminated-result): the hex and NUL follow
	out[name_len] = ':';
	sodium_bin2hex(out + name_len + 1, 2 * bytes + 1, md, bytes);
	sodium_memzero(md, sizeof(md));
	return 0;
}

void registry__hash_cleanup(registry__hash *h)
{
	if (!h)
		return;
#ifdef REGISTRY_HAVE_OPENSSL
	if (h->backend == REGISTRY__BACKEND_OPENSSL)
		registry__openssl_cleanup(h);
#endif
	sodium_memzero(h, sizeof(*h));
}

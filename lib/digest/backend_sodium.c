/* The reference backend: libsodium's portable sha256/sha512. */
#include "backend.h"
#include "internal.h"

int registry__sodium_init(registry__hash *h)
{
	if (h->algorithm == REGISTRY_DIGEST_SHA512)
		crypto_hash_sha512_init(&h->u.sha512);
	else
		crypto_hash_sha256_init(&h->u.sha256);
	return 0;
}

int registry__sodium_update(registry__hash *h, const void *data, size_t len)
{
	if (h->algorithm == REGISTRY_DIGEST_SHA512)
		crypto_hash_sha512_update(&h->u.sha512, data, (unsigned long long)len);
	else
		crypto_hash_sha256_update(&h->u.sha256, data, (unsigned long long)len);
	return 0;
}

int registry__sodium_final(registry__hash *h, unsigned char *md)
{
	if (h->algorithm == REGISTRY_DIGEST_SHA512)
		crypto_hash_sha512_final(&h->u.sha512, md);
	else
		crypto_hash_sha256_final(&h->u.sha256, md);
	return registry__sodium_init(h);
}

/*
 * The accelerated backend: OpenSSL's EVP digests, which use the CPU's SHA
 * instructions. Compiled only when libcrypto was found at build time.
 */
#include <pthread.h>

#include <openssl/evp.h>
#include <openssl/opensslv.h>

#include "backend.h"
#include "internal.h"

static const EVP_MD *md_sha256;
static const EVP_MD *md_sha512;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

/*
 * OpenSSL 3 looks the algorithm up in its provider tables on every init
 * unless the EVP_MD was fetched explicitly: fetch once per process, as
 * small manifests are hashed often. The fetched objects live until exit.
 */
static void fetch_mds(void)
{
#if OPENSSL_VERSION_MAJOR >= 3
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	md_sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
#endif
	if (!md_sha256)
		md_sha256 = EVP_sha256();
	if (!md_sha512)
		md_sha512 = EVP_sha512();
}

static const EVP_MD *md_for(int algorithm)
{
	pthread_once(&md_once, fetch_mds);
	return algorithm == REGISTRY_DIGEST_SHA512 ? md_sha512 : md_sha256;
}

int registry__openssl_init(registry__hash *h)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return registry__fail(REGISTRY_ENOMEM, "out of memory creating an OpenSSL digest context");
	if (EVP_DigestInit_ex(ctx, md_for(h->algorithm), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return registry__fail(REGISTRY_EIO, "OpenSSL could not start a digest");
	}
	h->u.evp = ctx;
	return 0;
}

int registry__openssl_update(registry__hash *h, const void *data, size_t len)
{
	if (EVP_DigestUpdate(h->u.evp, data, len) != 1)
		return registry__fail(REGISTRY_EIO, "OpenSSL digest update failed");
	return 0;
}

int registry__openssl_final(registry__hash *h, unsigned char *md)
{
	unsigned int n = 0;
	if (EVP_DigestFinal_ex(h->u.evp, md, &n) != 1)
		return registry__fail(REGISTRY_EIO, "OpenSSL digest final failed");
	/* Same context, new stream: no allocation. */
	if (EVP_DigestInit_ex(h->u.evp, md_for(h->algorithm), NULL) != 1)
		return registry__fail(REGISTRY_EIO, "OpenSSL could not restart a digest");
	return 0;
}

void registry__openssl_cleanup(registry__hash *h)
{
	EVP_MD_CTX_free(h->u.evp);
	h->u.evp = NULL;
}

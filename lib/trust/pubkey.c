/*
 * Signature checks with a PEM public key, as cosign makes them: ECDSA
 * (ASN.1 DER signature over SHA-256 of the payload; SHA-384 is accepted
 * too for P-384, which sigstore's default verifier picks for that curve),
 * Ed25519 (over the payload itself) and RSA PKCS#1 v1.5 with SHA-256.
 */
#include <string.h>

#include "trust_impl.h"

#ifdef REGISTRY_HAVE_OPENSSL
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

static int verify_with(EVP_PKEY *key, const EVP_MD *md, const unsigned char *sig, size_t sig_len, const void *data,
                       size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) == 1 &&
	         EVP_DigestVerify(ctx, sig, sig_len, data, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

int registry__sig_verify_pem(const char *pem, size_t pem_len, const unsigned char *sig, size_t sig_len,
                             const void *data, size_t len)
{
	if (pem_len > REGISTRY__KEY_FILE_MAX)
		return registry__fail(REGISTRY_ETOOLARGE, "public key: more than %zu bytes", REGISTRY__KEY_FILE_MAX);
	BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
	EVP_PKEY *key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	int rc = 0;
	if (!key) {
		rc = registry__fail(REGISTRY_EFORMAT, "public key: not a PEM public key (ECDSA, Ed25519 or RSA)");
	} else {
		int id = EVP_PKEY_base_id(key), ok = 0;
		if (id == EVP_PKEY_ED25519)
			ok = verify_with(key, NULL, sig, sig_len, data, len);
		else if (id == EVP_PKEY_EC || id == EVP_PKEY_RSA)
			ok = verify_with(key, EVP_sha256(), sig, sig_len, data, len) ||
			     (id == EVP_PKEY_EC && EVP_PKEY_bits(key) == 384 &&
			      verify_with(key, EVP_sha384(), sig, sig_len, data, len));
		else
			rc = registry__fail(REGISTRY_EUNSUPPORTED, "public key: type %d is not ECDSA, Ed25519 or RSA", id);
		if (!rc && !ok)
			rc = registry__fail(REGISTRY_EDENIED, "the signature does not verify with the key");
	}
	EVP_PKEY_free(key);
	ERR_clear_error(); /* nothing of ours stays in OpenSSL's thread queue */
	return rc;
}

#else

int registry__sig_verify_pem(const char *pem, size_t pem_len, const unsigned char *sig, size_t sig_len,
                             const void *data, size_t len)
{
	(void)pem, (void)pem_len, (void)sig, (void)sig_len, (void)data, (void)len;
	return registry__fail(REGISTRY_EUNSUPPORTED, "sigstore signatures need libregistry built with OpenSSL");
}

#endif

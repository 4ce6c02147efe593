/*
 * cosign's private keys and signing. `cosign generate-key-pair` writes a
 * PEM block "ENCRYPTED SIGSTORE PRIVATE KEY" (older: "ENCRYPTED COSIGN
 * PRIVATE KEY") holding JSON:
 *   {"kdf": {"name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1}, "salt": B64},
 *    "cipher": {"name": "nacl/secretbox", "nonce": B64}, "ciphertext": B64}
 * The secretbox key is scrypt(password, salt, N, r, p, 32 bytes); the
 * plaintext is the PKCS#8 DER private key. libsodium has both primitives;
 * OpenSSL signs. Every field is bounded: a hostile key file must not make
 * scrypt allocate gigabytes.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "trust_impl.h"

#ifdef REGISTRY_HAVE_OPENSSL
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* scrypt uses 128 * N * r bytes: cap it at 256 MiB (cosign's 32768 * 8 is 32 MiB). */
#define SCRYPT_MEMORY_MAX ((uint64_t)256 << 20)

static int b64_member(const cJSON *o, const char *key, unsigned char *out, size_t size, size_t *len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsString(v) || sodium_base642bin(out, size, v->valuestring, strlen(v->valuestring), NULL, len, NULL,
	                                            sodium_base64_VARIANT_ORIGINAL) != 0)
		return registry__fail(REGISTRY_EFORMAT, "cosign key: \"%s\" is missing or not base64", key);
	return 0;
}

static int scrypt_params(const cJSON *kdf, unsigned long long *n, unsigned *r, unsigned *p)
{
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(kdf, "params");
	const cJSON *vn = cJSON_GetObjectItemCaseSensitive(params, "N");
	const cJSON *vr = cJSON_GetObjectItemCaseSensitive(params, "r");
	const cJSON *vp = cJSON_GetObjectItemCaseSensitive(params, "p");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(kdf, "name");
	if (!cJSON_IsString(name) || strcmp(name->valuestring, "scrypt") != 0)
		return registry__fail(REGISTRY_EUNSUPPORTED, "cosign key: the key derivation is not scrypt");
	if (!cJSON_IsNumber(vn) || !cJSON_IsNumber(vr) || !cJSON_IsNumber(vp) || vn->valuedouble < 2 ||
	    vr->valuedouble < 1 || vp->valuedouble < 1 || vn->valuedouble > (double)(1u << 24) ||
	    vr->valuedouble > 64 || vp->valuedouble > 16)
		return registry__fail(REGISTRY_EFORMAT, "cosign key: scrypt parameters missing or out of range");
	*n = (unsigned long long)vn->valuedouble;
	*r = (unsigned)vr->valuedouble;
	*p = (unsigned)vp->valuedouble;
	if ((*n & (*n - 1)) != 0 || 128ull * *n * *r > SCRYPT_MEMORY_MAX)
		return registry__fail(REGISTRY_EFORMAT, "cosign key: scrypt N must be a power of two using at most 256 MiB");
	return 0;
}

/* The JSON of an encrypted cosign key → the PKCS#8 DER private key (*der, *der_len), secret. */
static int open_box(const char *json, size_t json_len, const char *password, unsigned char **der, size_t *der_len)
{
	unsigned char salt[64], nonce[crypto_secretbox_NONCEBYTES], key[crypto_secretbox_KEYBYTES];
	unsigned char *ct = NULL;
	size_t salt_len, nonce_len, ct_len = 0;
	unsigned long long n = 0;
	unsigned r = 0, p = 0;
	cJSON *root = cJSON_ParseWithLength(json, json_len);
	const cJSON *kdf = cJSON_GetObjectItemCaseSensitive(root, "kdf");
	const cJSON *cipher = cJSON_GetObjectItemCaseSensitive(root, "cipher");
	const cJSON *cname = cJSON_GetObjectItemCaseSensitive(cipher, "name");
	int rc = 0;
	if (!cJSON_IsObject(root) || !cJSON_IsObject(kdf) || !cJSON_IsObject(cipher))
		rc = registry__fail(REGISTRY_EFORMAT, "cosign key: not the JSON of an encrypted key");
	else if (!cJSON_IsString(cname) || strcmp(cname->valuestring, "nacl/secretbox") != 0)
		rc = registry__fail(REGISTRY_EUNSUPPORTED, "cosign key: the cipher is not nacl/secretbox");
	else if (!(ct = malloc(json_len)))
		rc = registry__nomem();
	if (!rc && !(rc = scrypt_params(kdf, &n, &r, &p)) && !(rc = b64_member(kdf, "salt", salt, sizeof(salt), &salt_len)) &&
	    !(rc = b64_member(cipher, "nonce", nonce, sizeof(nonce), &nonce_len)) &&
	    !(rc = b64_member(root, "ciphertext", ct, json_len, &ct_len))) {
		if (nonce_len != sizeof(nonce) || ct_len < crypto_secretbox_MACBYTES)
			rc = registry__fail(REGISTRY_EFORMAT, "cosign key: nonce or ciphertext of the wrong size");
		else if (crypto_pwhash_scryptsalsa208sha256_ll((const uint8_t *)password, strlen(password), salt, salt_len, n,
		                                               r, p, key, sizeof(key)) != 0)
			rc = registry__fail(REGISTRY_ENOMEM, "cosign key: scrypt failed (out of memory?)");
		else if (!(*der = malloc(ct_len - crypto_secretbox_MACBYTES)))
			rc = registry__nomem();
		else if (crypto_secretbox_open_easy(*der, ct, ct_len, nonce, key) != 0)
			rc = registry__fail(REGISTRY_EAUTH, "cosign key: wrong password (the key does not decrypt)");
		else
			*der_len = ct_len - crypto_secretbox_MACBYTES;
	}
	if (rc && *der) {
		sodium_memzero(*der, ct_len - crypto_secretbox_MACBYTES);
		free(*der);
		*der = NULL;
	}
	sodium_memzero(key, sizeof(key));
	free(ct);
	cJSON_Delete(root);
	return rc;
}

/* PEM bytes → private key: an encrypted cosign key, or a plain PEM key. */
static int load_key(EVP_PKEY **out, const void *pem, size_t pem_len, const char *password)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL, *der = NULL;
	long data_len = 0;
	size_t der_len = 0;
	int rc = 0;
	*out = NULL;
	if (!bio || !PEM_read_bio(bio, &name, &header, &data, &data_len))
		rc = registry__fail(REGISTRY_EFORMAT, "cosign key: not a PEM file");
	else if (strcmp(name, "ENCRYPTED SIGSTORE PRIVATE KEY") == 0 || strcmp(name, "ENCRYPTED COSIGN PRIVATE KEY") == 0) {
		if (!(rc = open_box((const char *)data, (size_t)data_len, password ? password : "", &der, &der_len))) {
			const unsigned char *p = der;
			if (!(*out = d2i_AutoPrivateKey(NULL, &p, (long)der_len)))
				rc = registry__fail(REGISTRY_EFORMAT, "cosign key: the decrypted key is not PKCS#8");
		}
	} else if (BIO_reset(bio) != 1 || !(*out = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)""))) {
		rc = registry__fail(REGISTRY_EFORMAT, "cosign key: a PEM \"%.60s\", not a private key", name);
	}
	if (der) {
		sodium_memzero(der, der_len);
		free(der);
	}
	if (data)
		OPENSSL_cleanse(data, (size_t)data_len);
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(bio);
	return rc;
}

int registry__cosign_sign(unsigned char **sig, size_t *sig_len, const void *key, size_t key_len,
                          const char *password, const void *data, size_t len)
{
	*sig = NULL;
	if (key_len > REGISTRY__KEY_FILE_MAX)
		return registry__fail(REGISTRY_ETOOLARGE, "cosign key: more than %zu bytes", REGISTRY__KEY_FILE_MAX);
	EVP_PKEY *pk = NULL;
	int rc = load_key(&pk, key, key_len, password);
	int id = pk ? EVP_PKEY_base_id(pk) : 0;
	if (!rc && id != EVP_PKEY_EC && id != EVP_PKEY_ED25519 && id != EVP_PKEY_RSA)
		rc = registry__fail(REGISTRY_EUNSUPPORTED, "cosign key: type %d is not ECDSA, Ed25519 or RSA", id);
	EVP_MD_CTX *ctx = rc ? NULL : EVP_MD_CTX_new();
	size_t n = 0;
	if (!rc && (!ctx || EVP_DigestSignInit(ctx, NULL, id == EVP_PKEY_ED25519 ? NULL : EVP_sha256(), NULL, pk) != 1 ||
	            EVP_DigestSign(ctx, NULL, &n, data, len) != 1 || !(*sig = malloc(n)) ||
	            EVP_DigestSign(ctx, *sig, &n, data, len) != 1)) {
		free(*sig);
		*sig = NULL;
		rc = registry__fail(REGISTRY_EFORMAT, "cosign key: signing failed");
	}
	*sig_len = n;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	ERR_clear_error();
	return rc;
}

#else

int registry__cosign_sign(unsigned char **sig, size_t *sig_len, const void *key, size_t key_len,
                          const char *password, const void *data, size_t len)
{
	(void)sig_len, (void)key, (void)key_len, (void)password, (void)data, (void)len;
	*sig = NULL;
	return registry__fail(REGISTRY_EUNSUPPORTED, "cosign signing needs libregistry built with OpenSSL");
}

#endif

/*
 * Private streaming hasher for the library's hot paths (the blob store
 * hashes while it streams gigabytes). A registry__hash lives on the stack
 * or inside another struct: init and update never allocate, except that
 * the OpenSSL backend allocates its EVP context once in init.
 *
 *   registry__hash h;
 *   if ((rc = registry__hash_init(&h, REGISTRY_DIGEST_SHA256)))
 *           return rc;
 *   registry__hash_update(&h, data, len);            // any number of times
 *   registry__hash_final(&h, digest);                // "sha256:<hex>", then reset
 *   registry__hash_cleanup(&h);                      // always, after a successful init
 *
 * These functions do not touch the thread's last-error record except when
 * they fail, and do not call REGISTRY__ENTER(): public callers already did.
 */
#ifndef REGISTRY_DIGEST_HASH_H
#define REGISTRY_DIGEST_HASH_H

#include <stddef.h>

#include <sodium.h>

#include <registry/digest.h>

/* Backends. DEFAULT picks OpenSSL when built with it, else libsodium. */
enum {
	REGISTRY__BACKEND_DEFAULT = 0,
	REGISTRY__BACKEND_SODIUM = 1,
	REGISTRY__BACKEND_OPENSSL = 2
};

/* Raw digest sizes, in bytes, and hex lengths. */
#define REGISTRY__SHA256_BYTES 32
#define REGISTRY__SHA512_BYTES 64
#define REGISTRY__HASH_MAX_BYTES 64

typedef struct registry__hash {
	int algorithm; /* REGISTRY_DIGEST_SHA256 or REGISTRY_DIGEST_SHA512 (never DEFAULT) */
	int backend;   /* REGISTRY__BACKEND_SODIUM or REGISTRY__BACKEND_OPENSSL */
	union {
		crypto_hash_sha256_state sha256;
		crypto_hash_sha512_state sha512;
		void *evp; /* EVP_MD_CTX * of the OpenSSL backend */
	} u;
} registry__hash;

/*
 * Start hashing with @algorithm (a registry_digest_algorithm; DEFAULT means
 * sha256) on the default backend. 0, REGISTRY_EINVAL (NULL, unknown
 * algorithm), REGISTRY_ENOMEM. On failure nothing needs cleaning up.
 */
int registry__hash_init(registry__hash *h, int algorithm);

/* The same on a chosen backend; REGISTRY_EUNSUPPORTED if it was not built. */
int registry__hash_init_backend(registry__hash *h, int algorithm, int backend);

/* Whether @backend (SODIUM, OPENSSL) was compiled in. */
int registry__hash_backend_available(int backend);

/* Hash @len more bytes. 0, or REGISTRY_EIO if the backend failed. */
int registry__hash_update(registry__hash *h, const void *data, size_t len);

/*
 * Write "algorithm:hex" and its NUL into @out, then reset @h to hash a new
 * stream with the same algorithm and backend. 0 or REGISTRY_EIO.
 */
int registry__hash_final(registry__hash *h, char out[REGISTRY_DIGEST_STRING_MAX]);

/* Release what init allocated and wipe the state. Safe to call twice. */
void registry__hash_cleanup(registry__hash *h);

/*
 * One-shot digest of @len bytes into a caller's buffer: what the library
 * itself uses (registry_digest_buffer() allocates its result). 0,
 * REGISTRY_EINVAL (NULL data with a length, unknown algorithm), the
 * errors of registry__hash_init(), REGISTRY_EIO.
 */
int registry__digest_buffer(char out[REGISTRY_DIGEST_STRING_MAX], int algorithm, const void *data,
                            size_t len);

/* Length of "algorithm:hex" (without NUL) for @algorithm, 0 if unknown. */
size_t registry__digest_string_length(int algorithm);

/*
 * For a digest that registry_digest_validate() accepted: its algorithm
 * (REGISTRY_DIGEST_SHA256 or _SHA512), or 0 if it is not one of those.
 */
int registry__digest_algorithm(const char *validated_digest);

/*
 * The hex part of a validated digest (after the ':'), for building paths
 * such as blobs/sha256/<hex>; NULL when there is no ':'.
 */
const char *registry__digest_hex(const char *validated_digest);

/*
 * registry_digest_validate() on @len bytes that need not be NUL-terminated
 * (a header value, a fuzz input). An embedded NUL is a format error.
 * Records the failure in the last-error record.
 */
int registry__digest_validate_len(const char *digest, size_t len);

/*
 * The OCI digest grammar only (algorithm-component ([+._-]
 * algorithm-component)* ':' encoded, shorter than
 * REGISTRY_DIGEST_STRING_MAX), sha256 and sha512 in their exact form: 0 for
 * an algorithm we do not implement too. For digests a manifest names (the
 * image spec says implementations SHOULD accept them); such a digest must
 * still pass registry__digest_validate_len (EUNSUPPORTED, naming the
 * algorithm) before anything is fetched, verified or stored by it.
 */
int registry__digest_validate_grammar(const char *digest, size_t len);

#endif

/** @file
 * libregistry: content digests ("sha256:<64 hex>", "sha512:<128 hex>").
 *
 * Streaming hashing behind one interface. libsodium is the reference
 * backend; when libregistry was built with OpenSSL's libcrypto, that faster
 * backend (CPU SHA instructions) is used instead. Both give identical
 * results.
 *
 * Threads: a registry_digest is used by one thread at a time; the other
 * functions keep no state and may be called from any thread.
 */
#ifndef REGISTRY_DIGEST_H
#define REGISTRY_DIGEST_H

#include <registry/common.h>

REGISTRY_BEGIN_DECLS

/** Digest algorithms. 0 means the default, sha256. @since 0.1 */
enum registry_digest_algorithm {
	REGISTRY_DIGEST_DEFAULT = 0, /**< sha256 */
	REGISTRY_DIGEST_SHA256 = 1,  /**< "sha256:" + 64 hex */
	REGISTRY_DIGEST_SHA512 = 2   /**< "sha512:" + 128 hex (OCI) */
};

/** Buffer size that holds a sha256 or sha512 digest string with its NUL
 *  ("sha512:" + 128 hex): for sha256/sha512 only; algorithms added later
 *  may need more, which is why registry_digest_final() and
 *  registry_digest_buffer() return allocated strings. @since 0.1 */
#define REGISTRY_DIGEST_STRING_MAX 136

/** Opaque streaming hasher. @since 0.1 */
typedef struct registry_digest registry_digest;

/**
 * Start a streaming digest.
 * @param out receives the hasher; free with registry_digest_free().
 * @param algorithm a registry_digest_algorithm value.
 * @return 0, REGISTRY_EINVAL (NULL out, unknown algorithm), REGISTRY_ENOMEM.
 * @since 0.1
 */
REGISTRY_API int registry_digest_new(registry_digest **out, int algorithm);

/** Hash @p len more bytes. @return 0 or REGISTRY_EINVAL. @since 0.1 */
REGISTRY_API int registry_digest_update(registry_digest *d, const void *data, size_t len);

/**
 * Finish: "algorithm:hex" as a new string. The hasher is reset afterwards
 * and may be reused.
 * @param out receives the string; free it with registry_free().
 * @param d the hasher.
 * @return 0, REGISTRY_EINVAL (NULL @p out or @p d), REGISTRY_ENOMEM (the
 *         hashed data is kept: the call may be retried), REGISTRY_EIO (the
 *         hash backend failed).
 * @since 0.1 (allocated string, out-parameter first, since 0.2)
 */
REGISTRY_API int registry_digest_final(char **out, registry_digest *d);

/** Free a hasher; NULL is accepted. @since 0.1 */
REGISTRY_API void registry_digest_free(registry_digest *d);

/**
 * One-shot digest of a buffer ("sha256:...") as a new string.
 * @param out receives the string; free it with registry_free().
 * @param algorithm a registry_digest_algorithm value.
 * @param data, len the bytes; @p data may be NULL when @p len is 0.
 * @return 0, REGISTRY_EINVAL (NULL @p out, NULL @p data with a length,
 *         unknown algorithm), REGISTRY_ENOMEM.
 * @since 0.1 (allocated string since 0.2)
 */
REGISTRY_API int registry_digest_buffer(char **out, int algorithm, const void *data, size_t len);

/**
 * Validate an untrusted digest string: "sha256:" + 64 lowercase hex or
 * "sha512:" + 128 lowercase hex, nothing else. This is the only check that
 * makes a digest safe to use in a file name.
 * @return 0, REGISTRY_EINVAL for NULL, REGISTRY_EFORMAT (the message says
 *         which part is wrong), REGISTRY_EUNSUPPORTED for a well-formed
 *         digest of another algorithm.
 * @since 0.1
 */
REGISTRY_API int registry_digest_validate(const char *digest);

/**
 * Compare an expected digest string with a computed one, in constant time
 * over the hex part. @return 0 when equal, REGISTRY_EDIGEST (message names
 * both) when not, REGISTRY_EFORMAT when @p expected is not a valid digest,
 * REGISTRY_EUNSUPPORTED when it is a well-formed digest of an algorithm
 * other than sha256 and sha512.
 * @since 0.1
 */
REGISTRY_API int registry_digest_compare(const char *expected, const char *actual);

/** Name of the active backend: "openssl" or "libsodium". @since 0.1 */
REGISTRY_API const char *registry_digest_backend(void);

REGISTRY_END_DECLS

#endif

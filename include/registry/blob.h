/** @file
 * libregistry: remote blobs (transfer engine) and progress reporting.
 *
 * Blobs are fetched with a fixed buffer per transfer, hashed while they
 * stream, and committed into a registry_store only when their digest (and
 * size, when known) matches. Several blobs move in parallel through the
 * client's connections (registry_client_set_max_parallel(), default 4);
 * one slow or failed transfer does not stall the others. An interrupted
 * fetch leaves a partial file in the store and the next fetch resumes it
 * with an HTTP Range request (restarting cleanly when the server ignores
 * Range).
 *
 * Threads: a fetch of several blobs into a store runs them on up to
 * max_parallel threads that the call starts and joins before it returns,
 * each with a private copy of the client; otherwise the transfers run on
 * the calling thread (one curl multi handle), a fetch into a store writing,
 * hashing and committing on a worker thread. Callbacks are always called on
 * the calling thread. The client and the store are used for the whole
 * call: one thread at a time per handle.
 */
#ifndef REGISTRY_BLOB_H
#define REGISTRY_BLOB_H

#include <registry/common.h>
#include <registry/client.h>
#include <registry/store.h>

REGISTRY_BEGIN_DECLS

/** Opaque progress snapshot handed to callbacks; valid during the call only. @since 0.1 */
typedef struct registry_progress registry_progress;

/** States of one blob in a progress report. @since 0.1 */
enum registry_progress_state {
	REGISTRY_PROGRESS_STARTED = 1, /**< transfer began (or resumed) */
	REGISTRY_PROGRESS_RUNNING = 2, /**< bytes moved (throttled to <= 10 calls/s per blob) */
	REGISTRY_PROGRESS_DONE = 3,    /**< verified and committed */
	REGISTRY_PROGRESS_SKIPPED = 4, /**< already present: nothing to move */
	REGISTRY_PROGRESS_FAILED = 5   /**< this blob failed (others may go on) */
};

/**
 * Progress callback: return 0 to go on, non-zero to cancel the whole
 * operation, which then returns REGISTRY_ECANCELED (within about 100 ms),
 * keeping resumable partial files. Runs on the caller's thread.
 * @since 0.1
 */
typedef int (*registry_progress_cb)(const registry_progress *p, void *userdata);

/** Digest of the blob this report is about. @since 0.1 */
REGISTRY_API const char *registry_progress_digest(const registry_progress *p);
/** One of enum registry_progress_state. @since 0.1 */
REGISTRY_API int registry_progress_state(const registry_progress *p);
/** Bytes of this blob done (including a resumed prefix). @since 0.1 */
REGISTRY_API int64_t registry_progress_bytes_done(const registry_progress *p);
/** Size of this blob, -1 when unknown. @since 0.1 */
REGISTRY_API int64_t registry_progress_bytes_total(const registry_progress *p);
/** Bytes done over the whole operation. @since 0.1 */
REGISTRY_API int64_t registry_progress_overall_done(const registry_progress *p);
/** Bytes expected over the whole operation, -1 when unknown. @since 0.1 */
REGISTRY_API int64_t registry_progress_overall_total(const registry_progress *p);
/** Blobs finished (done, skipped or failed) so far. @since 0.1 */
REGISTRY_API size_t registry_progress_blobs_done(const registry_progress *p);
/** Blobs in the whole operation. @since 0.1 */
REGISTRY_API size_t registry_progress_blobs_total(const registry_progress *p);

/**
 * HEAD a blob: does @p repository hold @p digest?
 * @param size receives its size (may be NULL).
 * @return 0 when it exists, REGISTRY_ENOTFOUND when not, REGISTRY_EFORMAT
 *         for an invalid digest or repository, or a transport error.
 * @since 0.1 (out-parameters first since 0.2)
 */
REGISTRY_API int registry_blob_head(int64_t *size, registry_client *client,
                                    const char *repository, const char *digest);

/**
 * Options of registry_blob_fetch(). Initialise with
 * REGISTRY_BLOB_FETCH_OPTIONS_INIT or registry_blob_fetch_options_init();
 * zero fields mean the default.
 * @since 1.0
 */
typedef struct registry_blob_fetch_options {
	unsigned int version;          /**< REGISTRY_BLOB_FETCH_OPTIONS_VERSION */
	unsigned int flags;            /**< none defined yet: must be 0 */
	registry_progress_cb progress; /**< NULL, or called as the blob arrives; non-zero cancels */
	void *userdata;                /**< passed to progress */
} registry_blob_fetch_options;

/** Current version of registry_blob_fetch_options. @since 1.0 */
#define REGISTRY_BLOB_FETCH_OPTIONS_VERSION 1
/** Initialiser of registry_blob_fetch_options: every field the default. @since 1.0 */
#define REGISTRY_BLOB_FETCH_OPTIONS_INIT {REGISTRY_BLOB_FETCH_OPTIONS_VERSION, 0, NULL, NULL}

/**
 * Set @p opts to REGISTRY_BLOB_FETCH_OPTIONS_INIT.
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.0
 */
REGISTRY_API int registry_blob_fetch_options_init(registry_blob_fetch_options *opts);

/**
 * Fetch one blob into @p store, verified. A blob the store has is not
 * fetched again (REGISTRY_PROGRESS_SKIPPED); a partial one is resumed.
 * @param expected_size the size from the descriptor, or -1 when unknown.
 * @param opts NULL for the defaults.
 * @return 0, REGISTRY_EDIGEST (nothing committed; the message names the
 *         expected and actual digests), REGISTRY_ECANCELED, REGISTRY_EINVAL
 *         (NULL store or digest, options version 0 or newer than this
 *         library's, unknown flags), transport errors.
 * @since 1.0 (0.1 took the progress callback and its userdata as arguments)
 */
REGISTRY_API int registry_blob_fetch(registry_client *client, const char *repository,
                                     const char *digest, int64_t expected_size,
                                     registry_store *store, const registry_blob_fetch_options *opts);

/**
 * Options of registry_blob_fetch_many(). Initialise with
 * REGISTRY_BLOB_FETCH_MANY_OPTIONS_INIT or
 * registry_blob_fetch_many_options_init(); zero fields mean the default.
 * @since 1.0
 */
typedef struct registry_blob_fetch_many_options {
	unsigned int version;          /**< REGISTRY_BLOB_FETCH_MANY_OPTIONS_VERSION */
	unsigned int flags;            /**< none defined yet: must be 0 */
	registry_progress_cb progress; /**< NULL, or called for every blob; non-zero cancels */
	void *userdata;                /**< passed to progress */
} registry_blob_fetch_many_options;

/** Current version of registry_blob_fetch_many_options. @since 1.0 */
#define REGISTRY_BLOB_FETCH_MANY_OPTIONS_VERSION 1
/** Initialiser of registry_blob_fetch_many_options: every field the default. @since 1.0 */
#define REGISTRY_BLOB_FETCH_MANY_OPTIONS_INIT {REGISTRY_BLOB_FETCH_MANY_OPTIONS_VERSION, 0, NULL, NULL}

/**
 * Set @p opts to REGISTRY_BLOB_FETCH_MANY_OPTIONS_INIT.
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.0
 */
REGISTRY_API int registry_blob_fetch_many_options_init(registry_blob_fetch_many_options *opts);

/**
 * Fetch several blobs of one repository into @p store in parallel.
 * @param count number of blobs; @p digests and @p sizes (-1 unknown, or
 *        NULL for all unknown) have @p count entries.
 * @param results receives one code per blob (0 or REGISTRY_E...); may be NULL.
 * @param options NULL for the defaults.
 * @return 0 when every blob is in the store, else the first failing blob's
 *         code (registry_error_last() describes that failure);
 *         REGISTRY_EINVAL (NULL store or digest, options version 0 or newer
 *         than this library's, unknown flags).
 * @since 0.1 (options since 0.2; out-parameters first since 0.2)
 */
REGISTRY_API int registry_blob_fetch_many(int *results, registry_client *client,
                                          const char *repository, size_t count,
                                          const char *const *digests, const int64_t *sizes,
                                          registry_store *store, const registry_blob_fetch_many_options *options);

/**
 * Sink of registry_blob_fetch_to(): receives the next @p len bytes of the
 * blob; return 0 to go on, non-zero to stop. Runs on the caller's thread.
 * @since 1.0
 */
typedef int (*registry_blob_write_cb)(const void *data, size_t len, void *userdata);

/**
 * Options of registry_blob_fetch_to(). Initialise with
 * REGISTRY_BLOB_FETCH_TO_OPTIONS_INIT or registry_blob_fetch_to_options_init();
 * zero fields mean the default.
 * @since 1.0
 */
typedef struct registry_blob_fetch_to_options {
	unsigned int version;          /**< REGISTRY_BLOB_FETCH_TO_OPTIONS_VERSION */
	unsigned int flags;            /**< none defined yet: must be 0 */
	registry_progress_cb progress; /**< NULL, or called as the blob arrives; non-zero cancels */
	void *userdata;                /**< passed to progress */
} registry_blob_fetch_to_options;

/** Current version of registry_blob_fetch_to_options. @since 1.0 */
#define REGISTRY_BLOB_FETCH_TO_OPTIONS_VERSION 1
/** Initialiser of registry_blob_fetch_to_options: every field the default. @since 1.0 */
#define REGISTRY_BLOB_FETCH_TO_OPTIONS_INIT {REGISTRY_BLOB_FETCH_TO_OPTIONS_VERSION, 0, NULL, NULL}

/**
 * Set @p opts to REGISTRY_BLOB_FETCH_TO_OPTIONS_INIT.
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.0
 */
REGISTRY_API int registry_blob_fetch_to_options_init(registry_blob_fetch_to_options *opts);

/**
 * Stream one blob to a callback, hashing as it goes. @p write receives the
 * bytes in order (return 0 to go on, non-zero to stop: the call then
 * returns REGISTRY_ECANCELED). The digest is only known at the end: on
 * REGISTRY_EDIGEST the caller must discard what it received.
 * @param write_userdata passed to @p write.
 * @param opts NULL for the defaults.
 * @return 0, REGISTRY_EDIGEST, REGISTRY_ECANCELED, REGISTRY_EINVAL (NULL
 *         digest or callback, options version 0 or newer than this
 *         library's, unknown flags), REGISTRY_EFORMAT (bad digest or
 *         repository), transport errors.
 * @since 1.0 (0.1 took no options)
 */
REGISTRY_API int registry_blob_fetch_to(registry_client *client, const char *repository,
                                        const char *digest, int64_t expected_size,
                                        registry_blob_write_cb write, void *write_userdata,
                                        const registry_blob_fetch_to_options *opts);

/* ---- Uploads ------------------------------------------------------------ */

/** Default chunk size of uploads: blobs above it go in PATCH chunks of this size. @since 0.1 */
#define REGISTRY_BLOB_CHUNK_SIZE_DEFAULT ((size_t)16 << 20)

/**
 * Source of an upload: copy up to @p len bytes into @p buf and return how
 * many (0 at the end of the blob), or a negative REGISTRY_E... code to fail
 * the upload with that code. Runs on the caller's thread.
 * @since 0.1
 */
typedef int64_t (*registry_blob_read_cb)(void *buf, size_t len, void *userdata);

/**
 * Go back to the first byte of an upload's source; 0, or a negative code
 * when that is impossible. Needed to retry a monolithic PUT and to resume a
 * chunked upload the registry lost (the library then reads and skips the
 * bytes it already sent).
 * @since 0.1
 */
typedef int (*registry_blob_rewind_cb)(void *userdata);

/**
 * registry_blob_upload_options.flags: do not ask the registry first (HEAD)
 * whether it has the blob: it is uploaded in any case. Saves a round trip
 * for a caller that knows the registry lacks it.
 * @since 1.0
 */
#define REGISTRY_BLOB_UPLOAD_SKIP_EXISTS_CHECK 0x1u

/**
 * Options of registry_blob_upload() and registry_blob_upload_file().
 * Initialise with REGISTRY_BLOB_UPLOAD_OPTIONS_INIT or
 * registry_blob_upload_options_init(); zero fields mean the default.
 * @since 1.0
 */
typedef struct registry_blob_upload_options {
	unsigned int version;    /**< REGISTRY_BLOB_UPLOAD_OPTIONS_VERSION */
	unsigned int flags;      /**< REGISTRY_BLOB_UPLOAD_SKIP_EXISTS_CHECK */
	/** 0: REGISTRY_BLOB_CHUNK_SIZE_DEFAULT. Larger blobs are sent in chunks
	 * of this size (a buffer of this size is allocated). */
	size_t chunk_size;
	/** NULL, or progress reports (STARTED, RUNNING at most 10 per second,
	 * then DONE, SKIPPED or FAILED); a non-zero return cancels: the session
	 * is deleted and the call returns REGISTRY_ECANCELED. */
	registry_progress_cb progress;
	void *userdata;          /**< passed to progress */
} registry_blob_upload_options;

/** Current version of registry_blob_upload_options. @since 1.0 */
#define REGISTRY_BLOB_UPLOAD_OPTIONS_VERSION 1
/** Initialiser of registry_blob_upload_options: every field the default. @since 1.0 */
#define REGISTRY_BLOB_UPLOAD_OPTIONS_INIT {REGISTRY_BLOB_UPLOAD_OPTIONS_VERSION, 0, 0, NULL, NULL}

/**
 * Set @p opts to REGISTRY_BLOB_UPLOAD_OPTIONS_INIT.
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.0
 */
REGISTRY_API int registry_blob_upload_options_init(registry_blob_upload_options *opts);

/**
 * Upload one blob to @p repository, streamed from a callback.
 *
 * A HEAD first (unless REGISTRY_BLOB_UPLOAD_SKIP_EXISTS_CHECK): a blob the
 * registry has is not read at all (REGISTRY_PROGRESS_SKIPPED). Otherwise
 * an upload session is opened (POST /v2/NAME/blobs/uploads/) and the blob
 * goes
 * - in one streamed PUT when @p size is known and at most the chunk size;
 * - else in PATCH requests of the chunk size (more if the registry
 *   asks for a larger OCI-Chunk-Min-Length), each with its Content-Range,
 *   then a PUT with the digest. A PATCH that fails (connection lost, 5xx,
 *   429, 416) is resumed where the registry says it stands (GET on the
 *   session: Range 0-N); a session the registry lost is started again.
 * The bytes are hashed once, as they are read; when they do not hash to
 * @p digest (or their count differs from @p size) the session is canceled
 * (DELETE) before the registry commits anything. Any failure cancels the
 * session. The registry's Docker-Content-Digest is checked.
 * At most one chunk is held in memory (none for a monolithic PUT).
 *
 * @param repository e.g. "team/app".
 * @param digest the blob's digest ("sha256:..." or "sha512:...").
 * @param size the blob's size in bytes, or -1 when unknown (then chunked).
 * @param read the source; @p rewind may be NULL (then a request that needs
 *        its body again fails instead of being retried).
 * @param source_userdata passed to @p read and @p rewind.
 * @param options chunk size, flags and progress; NULL for the defaults.
 * @return 0 (uploaded, or already there); REGISTRY_EINVAL (NULL argument,
 *         size < -1, options version 0 or newer than this library's,
 *         unknown flags); REGISTRY_EFORMAT / REGISTRY_EUNSUPPORTED (bad
 *         repository or digest); REGISTRY_EDIGEST (the bytes do not match
 *         @p digest or @p size, or the registry reported another digest);
 *         REGISTRY_ECANCELED; a code returned by @p read; REGISTRY_EAUTH,
 *         REGISTRY_EDENIED (no push access) and other transport errors.
 * @since 0.1 (options since 0.2)
 */
REGISTRY_API int registry_blob_upload(registry_client *client, const char *repository,
                                      const char *digest, int64_t size, registry_blob_read_cb read,
                                      registry_blob_rewind_cb rewind, void *source_userdata,
                                      const registry_blob_upload_options *options);

/**
 * Upload the file at @p path as a blob, as registry_blob_upload() (the
 * size is the file's; resumes seek in the file).
 * @return as registry_blob_upload(); REGISTRY_ENOTFOUND when the file does
 *         not exist (a blob the registry lacks is not an error here: it is
 *         uploaded), REGISTRY_EIO when it cannot be read.
 * @since 0.1 (options since 0.2)
 */
REGISTRY_API int registry_blob_upload_file(registry_client *client, const char *repository,
                                           const char *digest, const char *path,
                                           const registry_blob_upload_options *options);

/**
 * Cross-repository mount: ask the registry to link the blob @p digest of
 * @p from_repository into @p repository without moving its bytes
 * (POST /v2/NAME/blobs/uploads/?mount=DIGEST&from=FROM). The token asked
 * for covers push on @p repository and pull on @p from_repository.
 * @return 0 when mounted (201); REGISTRY_ENOTFOUND when the registry did
 *         not mount (it opened an upload session instead, 202, which is
 *         deleted: the source lacks the blob, mounting is off, or pull on
 *         the source is not allowed); REGISTRY_EINVAL, REGISTRY_EFORMAT,
 *         REGISTRY_EUNSUPPORTED (arguments); transport errors.
 * @since 0.1
 */
REGISTRY_API int registry_blob_mount(registry_client *client, const char *repository,
                                     const char *digest, const char *from_repository);

REGISTRY_END_DECLS

#endif

/*
 * Private interface of the upload engine (lib/blob/upload.c), for the
 * operations that push many blobs (push, push_archive, copy): one blob at a
 * time from an internal source that may be able to seek, optional
 * cross-repository mount first, and progress counted over a whole operation.
 */
#ifndef REGISTRY_BLOB_UPLOAD_IMPL_H
#define REGISTRY_BLOB_UPLOAD_IMPL_H

#include "internal.h"

/* The snapshot handed to progress callbacks. It must stay identical to the
 * definition in lib/blob/fetch.c (one type across the library). */
struct registry_progress {
	const char *digest;
	int state;
	int64_t done, total;
	int64_t overall_done, overall_total;
	size_t blobs_done, blobs_total;
};

/* Progress over a whole operation, shared by its blob uploads. */
typedef struct registry__progress_ctx {
	registry_progress_cb cb; /* may be NULL */
	void *ud;
	int64_t overall_done, overall_total; /* total -1: unknown */
	size_t blobs_done, blobs_total;
	int canceled; /* the callback asked to stop */
} registry__progress_ctx;

/* Report a state of one blob (not throttled: callers throttle RUNNING).
 * Returns 1 when the callback asked to cancel. */
int registry__progress_report(registry__progress_ctx *p, const char *digest, int state,
                              int64_t done, int64_t total);

/*
 * Where an upload reads from. read: as registry_blob_read_cb. seek: put the
 * source at byte @offset (0 <= offset <= bytes read so far), 0 or a
 * negative code; NULL when the source cannot go back.
 */
typedef struct registry__upload_source {
	int64_t (*read)(void *buf, size_t len, void *ud);
	int (*seek)(int64_t offset, void *ud);
	void *ud;
} registry__upload_source;

typedef struct registry__upload_params {
	const char *repository;
	const char *digest;
	int64_t size;           /* -1: unknown */
	size_t chunk_size;      /* 0: REGISTRY_BLOB_CHUNK_SIZE_DEFAULT */
	int force_chunked;      /* never stream a monolithic PUT (the source must
	                           not use the same client while a request runs) */
	int skip_head;          /* the caller knows the registry lacks the blob */
	int stream_chunks;      /* read each PATCH chunk from the source while it
	                           is sent, without a chunk buffer: for a source
	                           with a cheap seek that does not use the client
	                           (a file) */
	const char *mount_from; /* try a mount from this repository first, or NULL */
	registry__progress_ctx *progress; /* may be NULL */
} registry__upload_params;

/* How a successful upload ended. */
enum {
	REGISTRY__UPLOAD_SENT = 1,    /* bytes were uploaded */
	REGISTRY__UPLOAD_PRESENT = 2, /* the registry had it (HEAD) */
	REGISTRY__UPLOAD_MOUNTED = 3  /* mounted from mount_from */
};

/*
 * Upload one blob (arguments validated here). @outcome may be NULL.
 * Records errors; does not call REGISTRY__ENTER().
 */
int registry__blob_upload(registry_client *c, const registry__upload_params *p,
                          const registry__upload_source *src, int *outcome);

/*
 * Whether @repository holds @digest, with a token scoped for pull and push
 * (so that an upload that follows needs no second token). 1 yes, 0 no, or
 * a negative code.
 */
int registry__blob_exists(registry_client *c, const char *repository, const char *digest,
                          int64_t *size);

/* Helpers of the upload protocol, shared with the event-loop push (lib/loop/push.c). */
/* The session URL from an answer's Location, resolved against resp->url and
 * checked (http(s), never https to http): replaces *out. 0 or recorded. */
struct registry__response;
int registry__upload_location(char **out, const struct registry__response *resp, const char *digest);
/* "0-N" or "bytes=0-N": N; -1 when unreadable. */
int64_t registry__upload_range_end(const char *range);
/* A PATCH that sent @sent bytes moved the upload on (took at least half). */
int registry__upload_made_progress(int64_t took, size_t sent);
/* A closing PUT that failed with @rc after the whole blob was sent may have
 * lost only its answer (then a retry finds the session gone): 1 when a HEAD
 * of the blob should decide. */
int registry__upload_answer_lost(int rc);
/* The chunk size after the session's OCI-Chunk-Min-Length, if it asks for more. */
size_t registry__upload_chunk_min(const struct registry__response *resp, size_t chunk);

/* The parameters' repository, digest (and its algorithm), size and mount
 * source checked, as registry__blob_upload checks them. 0 or recorded. */
int registry__upload_params_check(const registry__upload_params *p);
/* registry_blob_upload_options (@o; NULL: the defaults) checked for @fn and
 * turned into the engine's parameters; @prog must outlive @p. */
struct registry_blob_upload_options;
int registry__blob_upload_params(const char *fn, const struct registry_blob_upload_options *o,
                                 const char *repository, const char *digest, int64_t size,
                                 registry__progress_ctx *prog, registry__upload_params *p);

/* A source over a file (read(2), lseek(2)). *size receives its size. */
typedef struct registry__file_source {
	int fd;
	registry__upload_source src;
} registry__file_source;

int registry__file_source_open(registry__file_source *fs, const char *path, int64_t *size);
/* The same over a descriptor opened already (which the source then owns). */
void registry__file_source_from_fd(registry__file_source *fs, int fd);
void registry__file_source_close(registry__file_source *fs);

/* One blob of a store for registry__upload_files(). */
typedef struct registry__lane_job {
	const char *digest; /* borrowed for the call */
	registry_store *store; /* read through registry__store_blob_open() */
	int64_t size;       /* the file's size, checked when it is opened */
	int skip_head;      /* set by the engine when it asked already */
} registry__lane_job;

/*
 * Blobs up to this size are hashed before their first byte is sent, so a
 * damaged or planted blob of a layout is refused without leaking it (about
 * 60 ms at OpenSSL's 1.1 GB/s). Larger ones are not read twice (a 1 GiB
 * push would pay a second second): their size was checked against the
 * descriptor, and the registry checks the digest when the upload ends.
 */
#define REGISTRY__PUSH_PREHASH_MAX ((int64_t)64 << 20)

/*
 * Upload @n store blobs to @repository, up to @max_lanes at once (lib/blob/lanes.c):
 * each lane is a thread with a copy of @c; progress goes through @prog and
 * the cancel hook of @c is polled, both on the calling thread. Largest files
 * first. The first failure stops the rest and is the call's error. With one
 * lane, or when no thread can start, everything runs on the calling thread.
 */
int registry__upload_files(registry_client *c, const char *repository, registry__lane_job *jobs,
                           size_t n, size_t chunk_size, int max_lanes, registry__progress_ctx *prog);


#endif

/*
 * Private streaming blob writer of the store, for code that downloads blobs
 * (the remote-blob operations). Not installed.
 *
 *   registry__blob_writer *w;
 *   int64_t offset; int already;
 *   rc = registry__blob_writer_open(&w, store, digest, size, &offset, &already);
 *   if (rc || already) ...;                   // nothing to do when already
 *   // fetch with "Range: bytes=<offset>-" when offset > 0; a server that
 *   // answers 200 instead of 206 -> registry__blob_writer_restart(w)
 *   while (data) rc = registry__blob_writer_write(w, buf, n);
 *   rc = registry__blob_writer_commit(w);     // or _abort(w, keep_partial)
 *
 * The partial file is blobs/.partial/<alg>/<hex>, locked with flock(2) for
 * the writer's lifetime: a second writer of the same blob (another process
 * or another handle) blocks in _open until the first commits or aborts, and
 * then finds the blob committed (*already = 1) or resumes the partial the
 * first one kept. The store must outlive its writers. A second writer for
 * the same digest on the same handle is refused (REGISTRY_ECONFLICT) rather
 * than left waiting for itself; on two handles in one thread it would wait
 * forever, so callers dedupe digests.
 */
#ifndef REGISTRY_STORE_WRITER_H
#define REGISTRY_STORE_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include <registry/store.h>

typedef struct registry__blob_writer registry__blob_writer;

/*
 * Start (or resume) writing the blob @digest (validated here).
 * @expected_size the size the blob must have, -1 when unknown.
 * @offset receives where writing resumes: the length of a kept partial, whose
 *        bytes were re-hashed (0 for a new one; a partial longer than
 *        @expected_size is discarded).
 * @already receives 1 when the blob is already committed: then *out is NULL
 *        and there is nothing to write.
 * Returns 0, REGISTRY_EINVAL, REGISTRY_EFORMAT / REGISTRY_EUNSUPPORTED (bad
 * digest), REGISTRY_ECONFLICT (this handle already has a writer for it),
 * REGISTRY_EIO, REGISTRY_ENOMEM. Records errors; does not call
 * REGISTRY__ENTER().
 */
int registry__blob_writer_open(registry__blob_writer **out, registry_store *s, const char *digest,
                               int64_t expected_size, int64_t *offset, int *already);

/*
 * The same, except that a kept partial is not re-hashed here (a partial of
 * a gigabyte took half a second): *pending receives its length (0: none),
 * *out has offset 0, and the caller calls _rehash until it returns 0 before
 * anything else. For the event loop, which hashes it in bounded slices.
 */
int registry__blob_writer_open_lazy(registry__blob_writer **out, registry_store *s, const char *digest,
                                    int64_t expected_size, int64_t *pending, int *already);
/* Hash up to about @max more bytes of the kept partial: 1 (more to do), 0
 * (done: the offset is the partial's length, writing goes on after it), or
 * a failure (recorded; abort the writer). */
int registry__blob_writer_rehash(registry__blob_writer *w, size_t max);

/*
 * Append @len bytes with write(2) straight from @data and hash them; no
 * allocation. 0; REGISTRY_ETOOLARGE (would pass expected_size: nothing is
 * written); REGISTRY_EIO (the writer is then failed: commit refuses it, abort
 * with keep_partial resumes from what reached the disk; on ENOSPC or EDQUOT
 * the partial is deleted at once and the message says so).
 */
int registry__blob_writer_write(registry__blob_writer *w, const void *data, size_t len);

/*
 * For a caller that writes the bytes itself (the event loop's direct I/O,
 * loop/dwrite.c) at registry__blob_writer_offset() before this call: the
 * size check and hashing of _write, without writing. Same returns.
 */
int registry__blob_writer_account(registry__blob_writer *w, const void *data, size_t len);
/* Such a caller's write failed with @err: the writer fails as in _write
 * (recorded; REGISTRY_EIO; on ENOSPC or EDQUOT the partial is removed). */
int registry__blob_writer_write_failed(registry__blob_writer *w, int err);
/* A second descriptor on the partial, opened O_WRONLY | O_DIRECT; -1 when
 * the file system refuses direct I/O (nothing recorded). */
int registry__blob_writer_open_direct(const registry__blob_writer *w);

/* Truncate to 0 and reset the hash (the server ignored Range). 0 or REGISTRY_EIO. */
int registry__blob_writer_restart(registry__blob_writer *w);

/* Bytes written so far, including a resumed prefix; -1 for NULL. */
int64_t registry__blob_writer_offset(const registry__blob_writer *w);

/*
 * Finish: compare the digest (and the size when known). Match: fsync, rename
 * into blobs/<alg>/<hex>, fsync the directory, 0. Mismatch: the partial is
 * deleted, REGISTRY_EDIGEST "digest mismatch for X: got Y" (or "size
 * mismatch for X: ..."). REGISTRY_EIO on a failed writer or I/O error (the
 * partial is deleted). Always frees @w and releases the lock.
 */
int registry__blob_writer_commit(registry__blob_writer *w);

/*
 * The same in two halves, for a caller that makes the data durable without
 * blocking (the event loop's AIO fsync): _check compares size and digest
 * (0 with @w still open; a failure frees @w as _commit's does); the caller
 * then fsyncs registry__blob_writer_fd(@w) and calls _commit_synced with
 * that fsync's errno (0: success), which renames the blob into place and
 * opens its directory into *@dir_fd (-1 on failure) for the caller to
 * fsync and close. _commit_synced always frees @w.
 */
int registry__blob_writer_check(registry__blob_writer *w);
int registry__blob_writer_fd(const registry__blob_writer *w);
int registry__blob_writer_commit_synced(registry__blob_writer *w, int sync_err, int *dir_fd);
/* No sync_file_range(SYNC_FILE_RANGE_WRITE) every 8 MiB: on a busy device
 * it blocked for up to 30 ms. The event loop's commit fsyncs through AIO,
 * off its thread, so the writeback is the kernel's there anyway. */
void registry__blob_writer_no_writeback(registry__blob_writer *w);
/* Record that fsync of that directory failed with @err; returns REGISTRY_EIO. */
int registry__blob_writer_dir_sync_failed(int err);

/*
 * Give up: keep_partial = 1 leaves the partial for a later resume (cancel,
 * network error), 0 deletes it. Frees @w and releases the lock; NULL ok.
 */
void registry__blob_writer_abort(registry__blob_writer *w, int keep_partial);

#endif

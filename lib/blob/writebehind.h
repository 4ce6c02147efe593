/*
 * Write-behind for the blob fetch engine (fetch.c). Not installed.
 *
 * The transfer thread copies each piece of a blob curl hands it into a small
 * pool of buffers and goes back to receiving; a few worker threads write the
 * pieces to the blob's store writer, which hashes them, and finally commit it
 * (digest check, fsync, rename). Receiving, hashing and writing then run on
 * different cores, and the fsync of one finished blob holds up neither the
 * network nor the other blobs.
 *
 * The operations on one stream run in the order they were queued, on one
 * worker at a time. Without worker threads (0 asked, or none could be
 * started) every operation runs at once on the caller's thread, with the
 * same results. Errors of the workers reach the caller with their message
 * (an error snapshot). Only the thread that created it calls these.
 */
#ifndef REGISTRY_BLOB_WRITEBEHIND_H
#define REGISTRY_BLOB_WRITEBEHIND_H

#include <stddef.h>

#include "internal.h"
#include "store/store_writer.h"

typedef struct registry__wb registry__wb;
typedef struct registry__wb_stream registry__wb_stream;

/*
 * A write-behind with up to @threads workers (0: none) and @buffer_bytes of
 * buffers. @notify(@notify_ud) is called from a worker each time a commit
 * finished (the result waits for registry__wb_reap); it may be NULL.
 * Returns 0 or REGISTRY_ENOMEM.
 */
int registry__wb_new(registry__wb **out, int threads, size_t buffer_bytes, void (*notify)(void *ud),
                     void *notify_ud);

/* Wait for every queued operation, abort (keeping the partial file) the
 * streams never committed nor aborted, stop the workers, free. NULL ok. */
void registry__wb_free(registry__wb *s);

/* The stream takes over @w (an open writer) for good; @owner comes back
 * from registry__wb_reap. 0 or REGISTRY_ENOMEM (then @w stays the
 * caller's). */
int registry__wb_open(registry__wb *s, registry__blob_writer *w, void *owner, registry__wb_stream **out);

/*
 * Queue @len bytes (copied; waits while every buffer is in use). Returns 0,
 * or the code of an earlier failed write of this stream (its error record
 * restored on this thread): the bytes are then dropped, and the caller
 * should stop the transfer.
 */
int registry__wb_write(registry__wb_stream *st, const void *data, size_t len);

/* Queue a truncation to zero (registry__blob_writer_restart). Returns as
 * registry__wb_write. */
int registry__wb_restart(registry__wb_stream *st);

/* Queue the commit; the stream is no longer the caller's: its result comes
 * from registry__wb_reap. */
void registry__wb_commit(registry__wb_stream *st);

/* Queue an abort (registry__blob_writer_abort); the stream is freed once it
 * ran, nothing is reaped. */
void registry__wb_abort(registry__wb_stream *st, int keep_partial);

/*
 * A finished commit, if any: 1 with its @owner, its result @rc and, on
 * failure, the worker's error record in *err (restore it or free() it),
 * the stream freed; 0 when none is waiting.
 */
int registry__wb_reap(registry__wb *s, void **owner, int *rc, registry__error_snapshot **err);

/* Wait until no operation is queued or running. */
void registry__wb_drain(registry__wb *s);

#endif

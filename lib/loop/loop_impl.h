/*
 * Private interface of the event-loop driver (lib/loop): the loop, its
 * requests (lreq: the request state machine driven without blocking) and
 * the operations built on them (loop/pull.c). Not installed.
 */
#ifndef REGISTRY_LOOP_IMPL_H
#define REGISTRY_LOOP_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <registry/loop.h>

#include "transport/request.h"

/* A deadline on the loop's wait list (a backoff, a retry of a busy blob). */
typedef struct lwait {
	struct lwait *next;
	int64_t due; /* CLOCK_MONOTONIC microseconds */
	void (*fire)(struct lwait *w);
	int queued;
} lwait;

enum { LREQ_IDLE, LREQ_RUNNING, LREQ_WAITING, LREQ_TOKEN };

typedef struct lreq lreq;
struct lreq {
	registry_loop *L;
	registry_op *op;
	registry__req r;
	int begun;
	int state;
	CURL *h;
	registry__response resp;
	size_t body_limit;   /* buffered (non-sink) bodies; 0: REGISTRY__JSON_LIMIT */
	const char *body;    /* POST (token requests) or PUT body, unless send */
	size_t body_len, body_sent;
	int refuse_link_local, refused;
	int tls_probe;       /* a TLS handshake only, unverified (the scheme probe) */
	/* 2xx bodies go here instead of resp.body; non-zero stops (recorded). */
	int (*sink)(lreq *q, const char *data, size_t len);
	int sink_rc;
	int aborted;
	/* A PUT or PATCH body read as it is sent (curl's read callback, its
	 * data @q), send_len bytes; NULL: body and body_len. */
	size_t (*send)(char *buf, size_t size, size_t n, void *q);
	int64_t send_len;
	/* Before each attempt (e.g. the Range to ask for): non-zero fails it. */
	int (*before)(lreq *q);
	/* After an attempt, before the machine: a registry__req_next to apply
	 * instead, or -1. */
	int (*pre_step)(lreq *q, CURLcode cc);
	/* The request ended: rc 0 with resp final (any status), or a failure. */
	void (*done)(lreq *q, int rc);
	lwait wait;
	int paused;         /* CURL_WRITEFUNC_PAUSE: 1 on the loop's paused list,
	                     * 2 on its buf_waiters (loop/dwrite.c) */
	lreq *next_paused;
	lreq *token, *parent;     /* a token fetch under way, and its request */
	registry__token_fetch tf; /* a token request's own */
	/* One token request per client and scope at a time: the request that
	 * started it leads (on the loop's list of leaders), the others that
	 * need the same token wait on its list and share the answer. */
	lreq *waiters, *next_waiter, *leader, *next_leader;
	void *ud;
};

/* How an operation kind stops (every transfer, no callback), frees what it
 * holds, and goes on when kicked (settle()). */
typedef struct registry__op_kind {
	void (*stop)(registry_op *op);
	void (*free)(registry_op *op);
} registry__op_kind;

struct registry_op {
	registry_op *next;
	registry_loop *loop;
	registry_client *client;
	const registry__op_kind *kind_ops;
	registry_op_done_cb done_cb;
	void *userdata;
	int completed, rc, cancel_asked, kick;
	int notify; /* the completion callback is due */
	/* The client's scheme (registry_loop_with_base): found out once per
	 * client by the first operation, the others wait for it. */
	lreq probe;
	int probe_scheme; /* 0: https, 1: http */
	void (*base_known)(registry_op *op);
	struct registry_error err;
	char *digest; /* a pull's result */
	/* NULL, or a failure of the operation: non-zero when the operation
	 * takes it over and goes on another way (a pull's next mirror). */
	int (*fallback)(registry_op *op, int rc);
	/* NULL, or where an operation built on this one (a copy's pull or
	 * push, loop/copy.c) holds it: cleared when it is freed, whoever
	 * frees it first (registry_loop_free frees in list order). */
	registry_op **owner;
};

struct registry_loop {
	CURLM *multi;
	registry_loop_options o;
	int64_t curl_due, asked_due;
	lwait *waits;
	registry_op *ops;
	size_t pending;
	int deferred; /* settle() has work: a cancel or a kick */
	int depth;    /* steps running (a start inside a callback nests) */
	uint64_t steps;
	int64_t max_us;
	int64_t step_start; /* of the outermost step running */
	lreq *paused;
	lreq *token_leaders; /* requests whose token fetch is under way */
	/* Linux AIO for fsyncs (loop/sync.c): 0 not tried yet, 1 ready, -1 not
	 * available; its eventfd is watched while fsyncs are in flight. */
	int aio_state, aio_efd, aio_watched;
	unsigned long aio_ctx;
	struct lsync *syncs;
	/* Direct writes (loop/dwrite.c): the pool of staging buffers, and the
	 * transfers paused until one comes back (paused == 2). */
	void *bufs_free;
	int bufs_out;
	int dw_writes; /* direct writes in the kernel's hands */
	lreq *buf_waiters;
};

/* How long one step hands bytes to hashing and writing before it pauses
 * the transfer and lets the caller's loop run (microseconds). */
#define REGISTRY__LOOP_SLICE_US 2000

/* This step has spent its slice (REGISTRY__LOOP_SLICE_US). */
int registry__loop_over_budget(const registry_loop *L);
/* registry__loop_over_budget of the registry_loop @loop, as a callback
 * (a sliced unpack asks it between members and data blocks). */
int registry__loop_spent(void *loop);
/* The same, from a callback of @q's transfer: when spent, @q is paused
 * (return CURL_WRITEFUNC_PAUSE or CURL_READFUNC_PAUSE) and the next step
 * goes on with it. */
int registry__loop_slice_spent(lreq *q);

/* What curl asks a body source for at most per call (PUT, PATCH): a
 * 256 KiB read and hash is about 0.3 ms here, and fewer, larger sends
 * per step keep a push near the blocking one's speed. */
#define REGISTRY__LOOP_UPLOAD_BUFFER (256L * 1024L)

/* How often a client's cancel hook is asked while nothing else happens:
 * as the blocking calls ask it between their waits (milliseconds). */
#define REGISTRY__LOOP_CANCEL_POLL_MS REGISTRY__SLEEP_SLICE_MS

int registry__loop_lreq_begin(lreq *q, registry_loop *L, registry_op *op, registry_client *c,
                              const char *url, const char *scope);
int registry__loop_lreq_begin_external(lreq *q, registry_loop *L, registry_op *op, const char *url,
                                       const char *authorization);
/* Start (or go on with) the request: a token first when it needs one. */
void registry__loop_lreq_go(lreq *q);
void registry__loop_lreq_apply(lreq *q, registry__req_next next);
void registry__loop_lreq_stop(lreq *q);
void registry__loop_lreq_end(lreq *q);

void registry__loop_wait(registry_loop *L, lwait *w, long ms, void (*fire)(lwait *w));
void registry__loop_unwait(registry_loop *L, lwait *w);

int registry__loop_op_new(registry_op **out, registry_loop *L, registry_client *client,
                          const registry__op_kind *kind, size_t size, registry_op_done_cb done,
                          void *userdata);
/* The operation ended: its record saved, its callback called (once). */
void registry__loop_op_complete(registry_op *op, int rc);

/* Run @then once the client's scheme is known (at once when it is); a
 * failure to find it completes @op. */
void registry__loop_with_base(registry_op *op, void (*then)(registry_op *op));
/* registry__loop_lreq_begin at @path on @op's registry (its base URL):
 * 0, or the failure (recorded; @q ended). */
int registry__loop_lreq_begin_at(lreq *q, registry_op *op, const char *path, const char *scope);

/* A step of the loop (an entry point): timed; its end settles deferred
 * work and asks the caller's timer for what is due next. */
int64_t registry__loop_step_begin(registry_loop *L);
void registry__loop_step_end(registry_loop *L, int64_t start);

/* ---- an unpack in slices (loop/unpack.c) ---- */

/* A stepped unpack (unpack/unpack_impl.h) run one slice per step: each
 * slice is a 0 ms wait on the loop's timer. */
typedef struct lunpack lunpack;
struct lunpack {
	registry_loop *L;
	struct registry__unpack_run *run;
	lwait wait;
	void (*done)(lunpack *u, int rc); /* the run ended (u->run kept for its stats) */
};
/* Slices from the next step on, until the run ends: then done(u, rc). */
void registry__loop_unpack_go(lunpack *u);
/* No more slices; the run freed (one not ended removes its half-made tree). */
void registry__loop_unpack_stop(lunpack *u);

/* ---- fsync off the step (loop/sync.c) ---- */

typedef struct lsync lsync;
typedef struct lcommit lcommit;
struct registry__blob_writer;

/* fsync @fd without blocking the step (closed afterwards when @own_fd):
 * done(ud, errno or 0) runs in a later step. NULL: out of memory
 * (recorded; @fd closed when own_fd). */
lsync *registry__loop_fsync(registry_loop *L, int fd, int own_fd, void (*done)(void *ud, int err), void *ud);
/* Its done will not be called (what it fsyncs goes on in the kernel). */
void registry__loop_fsync_forget(lsync *s);
/* @fd is the AIO eventfd: its completions handled, 1; else 0. */
int registry__loop_aio_event(registry_loop *L, int fd);
void registry__loop_aio_free(registry_loop *L);

/* Commit @w as registry__blob_writer_commit does (check, fsync the data,
 * rename, fsync the folder) with the fsyncs off the step: 0 and
 * done(ud, rc) in a later step, @w the commit's; or the check's failure
 * now (@w freed). _forget: no done; a blob not yet renamed keeps its
 * partial for a resume. */
int registry__loop_commit(lcommit **out, registry_loop *L, struct registry__blob_writer *w,
                          void (*done)(void *ud, int rc), void *ud);
void registry__loop_commit_forget(lcommit *c);
/* @len bytes @data as the blob @digest of @store, committed as above: 1
 * (*out set, done later), 0 (the store has it: no done),
 * REGISTRY__LOOP_BUSY (another writer of this store handle holds it; try
 * again later), or a failure (recorded). */
#define REGISTRY__LOOP_BUSY 2
int registry__loop_commit_bytes(lcommit **out, registry_loop *L, registry_store *store, const char *digest,
                                const void *data, size_t len, void (*done)(void *ud, int rc), void *ud);

/* The end of a pull (loop/store.c): @image's manifest as the store keeps
 * it (converted unless @flags preserve digests) and its index.json entry
 * @ref_name, as registry__pull_store_manifest and registry__pull_index_entry
 * store them, each fsync off the step. 0 and done(op, rc) later (or from within, when nothing needs
 * writing), op->digest the entry's digest; or a failure now. _forget: no
 * done; what is not renamed yet is left (an index.json lock released). */
typedef struct lstore lstore;
struct registry_manifest;
int registry__loop_store_image(lstore **out, registry_op *op, registry_store *store, unsigned int flags,
                               const struct registry_manifest *image, const char *ref_name,
                               void (*done)(registry_op *op, int rc));
/* The same for @source stored as @built (taken; NULL: @source as served):
 * the index.json entry only when @entry; what is kept recorded in *@record
 * (when not NULL) before done. A child of an index, or the index of an
 * all-platform pull. */
struct registry__pull_stored;
int registry__loop_store_manifest(lstore **out, registry_op *op, registry_store *store,
                                  const struct registry_manifest *source, struct registry_manifest *built,
                                  int entry, const char *ref_name, struct registry__pull_stored *record,
                                  void (*done)(registry_op *op, int rc));
void registry__loop_store_forget(lstore *s);

/* A schema1 image @m (its blobs in @store) converted as
 * registry__convert_schema1 converts it, without a long step (loop/
 * schema1.c): its diff_ids about 1 MiB of work at a time on the loop's
 * timer, its config committed with AIO fsyncs; then done(op, rc, built),
 * @built the converted manifest (done's to free; NULL on failure). 0, or a
 * failure now (recorded). _forget: stops it, no done. @m must stay until
 * done or _forget. */
typedef struct ls1 ls1;
int registry__loop_schema1_convert(ls1 **out, registry_op *op, registry_store *store,
                                   const struct registry_manifest *m,
                                   void (*done)(registry_op *op, int rc, struct registry_manifest *built));
void registry__loop_schema1_forget(ls1 *c);

/* ---- a push with mounts (loop/push.c, for loop/copy.c) ---- */

/* registry_push_start, each blob the target lacks first asked of the
 * registry as a cross-repository mount from @mount_from (NULL: none):
 * POST ?mount=&from= as registry__blob_upload does; a 202 session takes
 * the upload. */
int registry__loop_push_start(registry_op **out, registry_loop *loop, registry_client *client,
                              registry_store *store, const char *ref_name, const registry_reference *target,
                              const registry_push_options *options, const char *mount_from,
                              registry_op_done_cb done, void *userdata);

/* ---- direct writes of downloaded blobs (loop/dwrite.c) ---- */

/* Staging buffers: the size of one write, its alignment, how many a loop
 * holds at most (their memory: 16 MiB), and how many writes one transfer
 * has in flight at most. */
#define REGISTRY__LOOP_DW_CHUNK ((size_t)256 * 1024)
#define REGISTRY__LOOP_DW_ALIGN 4096
#define REGISTRY__LOOP_DW_BUFFERS 64
#define REGISTRY__LOOP_DW_INFLIGHT 3
/* Blobs smaller than this are written as before (write(2) in the step). */
#define REGISTRY__LOOP_DW_MIN ((int64_t)1 << 20)

/* A sink's answer: nothing taken, pause the transfer (it was put on a
 * list that unpauses it). Not an error code (those are negative). */
#define REGISTRY__SINK_PAUSE 1

/* Write @len bytes of @buf (a pool buffer, now the write's) at @off of @fd
 * through AIO: the lsync, wdone(ud, errno or 0, ...) in a later step, the
 * buffer back in the pool after it. NULL: not submitted (no AIO here, the
 * context full, out of memory); the buffer is still the caller's. */
lsync *registry__loop_pwrite(registry_loop *L, int fd, void *buf, size_t len, int64_t off,
                             void (*wdone)(void *ud, int err, void *buf, size_t len, int64_t off), void *ud);
/* Linux AIO is there (set up on first use): 1, else 0. */
int registry__loop_aio_ready(registry_loop *L);
/* The pool: buffers that can still be got; one (NULL: none left unless
 * @force, or no memory); one given back (transfers waiting for one go on);
 * a transfer paused until then; the free ones freed (registry_loop_free).
 * A transfer waits for a buffer only while a direct write is in flight
 * (its completion gives one back); with none in flight every buffer is a
 * transfer's partly filled one, and waiting could last forever, so the
 * pool grows past its size instead (@force). */
int registry__loop_bufs_left(const registry_loop *L);
void *registry__loop_buf_get(registry_loop *L, int force);
void registry__loop_buf_put(registry_loop *L, void *buf);
void registry__loop_buf_wait(registry_loop *L, lreq *q);
void registry__loop_bufs_free(registry_loop *L);

/* A blob's bytes written with O_DIRECT through AIO instead of write(2):
 * no copy into the page cache, no dirty-page throttling inside a step.
 * Open: NULL when not used (no AIO, no direct I/O on this file system, a
 * blob smaller than REGISTRY__LOOP_DW_MIN or of unknown size; nothing
 * recorded): the writer's own writes then. The partial is sized to the
 * blob at once (direct writes past the end of an ext4 file wait for the
 * disk); an abort trims it back to what reached the disk. */
typedef struct ldw ldw;
struct registry__blob_writer;
ldw *registry__loop_dw_open(registry_loop *L, struct registry__blob_writer *w, int64_t size);
/* Hash and write @len bytes: 0; REGISTRY__SINK_PAUSE (nothing taken: no
 * buffer free, @q paused until one is); or a failure (recorded). */
int registry__loop_dw_write(ldw *d, lreq *q, const char *data, size_t len);
/* Start again from byte 0 (the server ignored Range): 0 or a failure. */
int registry__loop_dw_restart(ldw *d);
/* Every byte given: write what is staged, wait for the writes, free @d,
 * then done(ud, 0 or a failure) in a later step; the writer stays the
 * caller's (on failure the partial is trimmed to what reached the disk). */
void registry__loop_dw_finish(ldw *d, void (*done)(void *ud, int rc), void *ud);
/* Give up (at any time, finish under way included: no done): writes in
 * flight forgotten, the partial trimmed to what reached the disk, @d freed. */
void registry__loop_dw_abort(ldw *d);

/* ---- a signature policy (loop/verify.c) ---- */

/* registry__policy_gate for @ref on @op's client (its base URL known),
 * its requests made on the loop: from the next step on, then
 * done(op, rc, pinned) once: 0 with @ref pinned to the verified digest
 * (the caller's to free), or the blocking gate's failure, record and
 * all. 0, or a failure now (recorded). _free: stops it (no done). */
typedef struct lverify lverify;
struct registry_policy;
int registry__loop_verify_start(lverify **out, registry_op *op, const registry_reference *ref,
                                const struct registry_policy *policy,
                                void (*done)(registry_op *op, int rc, registry_reference *pinned));
void registry__loop_verify_free(lverify *v);

/* ---- operations built on others (loop/compose.c) ---- */

/* A new store in a new folder $TMPDIR/@prefix-XXXXXX: 0 and *dir (to
 * free) and *store, or the failure (recorded, naming @fn; *dir may be set).
 * _remove: the store closed, its folder removed quietly, both NULL. */
int registry__loop_tmp_store(char **dir, registry_store **store, const char *fn, const char *prefix);
void registry__loop_tmp_store_remove(char **dir, registry_store **store);
/* The push of @ref_name of @store to @target (@o) on @parent's client as
 * @parent's *child (its owner slot), done(child, rc, parent) at its end;
 * in a step of its own, so that a push failing before any request
 * completes after it. @mount_from: NULL, or the repository each blob is
 * first asked to be mounted from (registry__loop_push_start). A failure
 * to start completes @parent. */
void registry__loop_push_child(registry_op *parent, registry_op **child, registry_store *store, const char *ref_name,
                               const registry_reference *target, const registry_push_options *o,
                               const char *mount_from, registry_op_done_cb done);

#endif

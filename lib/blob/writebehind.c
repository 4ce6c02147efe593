/*
 * Write-behind for the blob fetch engine: a pool of buffers filled on the
 * transfer thread, worker threads that write, hash and commit (writebehind.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "blob/writebehind.h"

/* Blocks of the pool: small, as the pool counts in the process's peak
 * memory, yet a whole write(2) and hash update each. */
#define WB_BLOCK ((size_t)64 * 1024)
/* Workers only write, hash and rename: a small stack is plenty. */
#define WB_STACK ((size_t)256 * 1024)

enum { OP_DATA, OP_RESTART, OP_COMMIT, OP_ABORT, OP_ABORT_KEEP };

typedef struct item {
	struct item *next;
	int kind;
	size_t len;  /* OP_DATA: bytes in data */
	char *data;  /* OP_DATA: a block of the pool; NULL for the others */
} item;

struct registry__wb_stream {
	registry__wb *wb;
	registry__blob_writer *w; /* NULL once committed or aborted */
	void *owner;
	item *head, *tail;        /* queued operations */
	int busy;                 /* a worker runs its operations */
	int ready;                /* on the ready list */
	int rc;                   /* the first failure; sticky */
	registry__error_snapshot *err; /* its record, until handed over */
	int reported;             /* the caller has seen rc */
	registry__wb_stream *next_ready, *next_done, *next_all, **prev_all;
};

struct registry__wb {
	pthread_mutex_t lock;
	pthread_cond_t work;  /* workers: a stream is ready, or stop */
	pthread_cond_t space; /* the producer: blocks are free again */
	pthread_cond_t idle;  /* drain: nothing queued or running */
	pthread_t *threads;
	int nthreads;
	int stopping;
	int running;          /* workers inside a batch */
	char *pool;
	item *items;          /* one per block */
	item *free_items;
	size_t nfree, nblocks;
	size_t queued;        /* data blocks queued and not yet taken by a worker */
	int starved;          /* the producer waits for free blocks */
	registry__wb_stream *ready_head, *ready_tail;
	registry__wb_stream *done_head, *done_tail;
	registry__wb_stream *all; /* every stream not yet freed */
	void (*notify)(void *ud);
	void *notify_ud;
};

/* ---- Running operations (a worker, or the caller without workers) -------- */

static void keep_error(registry__wb_stream *st, int rc)
{
	registry__error_snapshot *err = registry__error_save(); /* this thread's record */
	pthread_mutex_lock(&st->wb->lock); /* the producer reads rc (sticky) */
	if (!st->rc) {
		st->rc = rc;
		st->err = err;
		err = NULL;
	}
	pthread_mutex_unlock(&st->wb->lock);
	free(err);
}

/* Run one operation on the stream's writer. Returns 1 when it closed the
 * stream (commit or abort). */
static int run_op(registry__wb_stream *st, const item *op)
{
	int rc;
	switch (op->kind) {
	case OP_DATA:
		if (!st->rc && st->w && (rc = registry__blob_writer_write(st->w, op->data, op->len)))
			keep_error(st, rc);
		return 0;
	case OP_RESTART:
		if (!st->rc && st->w && (rc = registry__blob_writer_restart(st->w)))
			keep_error(st, rc);
		return 0;
	case OP_COMMIT:
		if (st->rc) {
			/* As a failed write ends a transfer: keep what reached the disk. */
			registry__blob_writer_abort(st->w, st->rc != REGISTRY_EDIGEST);
		} else if ((rc = registry__blob_writer_commit(st->w))) {
			keep_error(st, rc);
		}
		st->w = NULL;
		return 1;
	default:
		registry__blob_writer_abort(st->w, op->kind == OP_ABORT_KEEP);
		st->w = NULL;
		return 1;
	}
}

/* ---- Bookkeeping, under the lock ------------------------------------------ */

static void make_ready(registry__wb *s, registry__wb_stream *st)
{
	if (st->busy || st->ready || !st->head)
		return;
	st->ready = 1;
	st->next_ready = NULL;
	if (s->ready_tail)
		s->ready_tail->next_ready = st;
	else
		s->ready_head = st;
	s->ready_tail = st;
}

/*
 * Wake a worker for the ready streams, but only once there is a batch worth
 * the context switch (a quarter of the pool), or @now: a commit, abort or
 * restart, or a producer about to wait for blocks.
 */
static void wake_worker(registry__wb *s, int now)
{
	if (s->ready_head && (now || s->queued >= s->nblocks / 4))
		pthread_cond_signal(&s->work);
}

static void stream_free(registry__wb_stream *st)
{
	*st->prev_all = st->next_all;
	if (st->next_all)
		st->next_all->prev_all = st->prev_all;
	free(st->err);
	free(st);
}

/* After the closing operation: hand a commit's result over, drop an abort. */
static int closed(registry__wb *s, registry__wb_stream *st, int kind)
{
	if (kind != OP_COMMIT) {
		stream_free(st);
		return 0;
	}
	st->next_done = NULL;
	if (s->done_tail)
		s->done_tail->next_done = st;
	else
		s->done_head = st;
	s->done_tail = st;
	return 1;
}

static void release_items(registry__wb *s, item *list)
{
	while (list) {
		item *next = list->next;
		if (list->data) {
			list->next = s->free_items;
			s->free_items = list;
			/* Wake a starved producer once a quarter of the pool is back,
			 * not for every block: fewer context switches. */
			if (++s->nfree >= s->nblocks / 4 && s->starved) {
				s->starved = 0;
				pthread_cond_signal(&s->space);
			}
		} else {
			free(list);
		}
		list = next;
	}
}

/*
 * Take a ready stream off the ready list with its queued operations; with
 * @data_only the first ready stream that starts with data, and only the data
 * before its first other operation (the producer must not wait on an fsync).
 * NULL when there is none. Under the lock.
 */
static registry__wb_stream *take(registry__wb *s, int data_only, item **batch)
{
	registry__wb_stream *st = s->ready_head, *prev = NULL;
	while (st && data_only && !st->head->data) {
		prev = st;
		st = st->next_ready;
	}
	if (!st)
		return NULL;
	if (prev)
		prev->next_ready = st->next_ready;
	else
		s->ready_head = st->next_ready;
	if (s->ready_tail == st)
		s->ready_tail = prev;
	st->ready = 0;
	st->busy = 1;
	*batch = st->head;
	item *last = NULL;
	for (item *op = st->head; op && (!data_only || op->data); op = op->next) {
		s->queued -= op->data != NULL;
		last = op;
	}
	st->head = last->next;
	last->next = NULL;
	if (!st->head)
		st->tail = NULL;
	s->running++;
	return st;
}

/* Run a batch outside the lock; the kind of the operation that closed the
 * stream, or -1. */
static int run_batch(registry__wb_stream *st, item *batch)
{
	int closing_kind = -1;
	for (item *op = batch; op; op = op->next)
		if (closing_kind < 0 && run_op(st, op))
			closing_kind = op->kind;
	return closing_kind;
}

/* After a batch, under the lock: its blocks back, the stream ready again or
 * closed. Returns 1 when a commit finished (notify the caller). */
static int give_back(registry__wb *s, registry__wb_stream *st, item *batch, int closing_kind)
{
	release_items(s, batch);
	s->running--;
	st->busy = 0;
	int notify = 0;
	if (closing_kind >= 0)
		notify = closed(s, st, closing_kind);
	else
		make_ready(s, st);
	if (!s->ready_head && !s->running)
		pthread_cond_broadcast(&s->idle);
	return notify;
}

static void *worker(void *arg)
{
	registry__wb *s = arg;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->ready_head && !s->stopping)
			pthread_cond_wait(&s->work, &s->lock);
		item *batch;
		registry__wb_stream *st = take(s, 0, &batch);
		if (!st)
			break; /* stopping, and nothing left */
		pthread_mutex_unlock(&s->lock);
		int closing_kind = run_batch(st, batch);
		pthread_mutex_lock(&s->lock);
		if (give_back(s, st, batch, closing_kind) && s->notify) {
			/* Outside the lock: the callback may take its own. */
			pthread_mutex_unlock(&s->lock);
			s->notify(s->notify_ud);
			pthread_mutex_lock(&s->lock);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Queue @op (without workers: run it now). */
static void enqueue(registry__wb_stream *st, item *op)
{
	registry__wb *s = st->wb;
	op->next = NULL;
	if (!s->nthreads) {
		int kind = op->kind;
		int close = run_op(st, op);
		release_items(s, op);
		if (close)
			closed(s, st, kind);
		return;
	}
	pthread_mutex_lock(&s->lock);
	if (st->tail)
		st->tail->next = op;
	else
		st->head = op;
	st->tail = op;
	s->queued += op->data != NULL;
	make_ready(s, st);
	wake_worker(s, !op->data);
	pthread_mutex_unlock(&s->lock);
}

/* A control operation; without memory for it, run what is queued first and
 * then the operation itself on this thread (same order, same result). */
static void control(registry__wb_stream *st, int kind)
{
	item *op = calloc(1, sizeof(*op));
	if (op) {
		op->kind = kind;
		enqueue(st, op);
		return;
	}
	registry__wb *s = st->wb;
	registry__wb_drain(s);
	item local = {.kind = kind};
	if (run_op(st, &local)) {
		pthread_mutex_lock(&s->lock);
		closed(s, st, kind);
		pthread_mutex_unlock(&s->lock);
	}
}

/* The stream's sticky failure, reported with its record the first time. */
static int sticky(registry__wb_stream *st)
{
	registry__wb *s = st->wb;
	if (s->nthreads)
		pthread_mutex_lock(&s->lock);
	int rc = st->rc;
	registry__error_snapshot *err = NULL;
	if (rc && !st->reported) {
		st->reported = 1;
		err = st->err;
		st->err = NULL;
	}
	if (s->nthreads)
		pthread_mutex_unlock(&s->lock);
	if (err)
		registry__error_restore(err);
	else if (rc)
		registry__fail(rc, "blob writer: an earlier write failed");
	return rc;
}

/* ---- The caller's side ---------------------------------------------------- */

int registry__wb_new(registry__wb **out, int threads, size_t buffer_bytes, void (*notify)(void *ud),
                     void *notify_ud)
{
	*out = NULL;
	registry__wb *s = calloc(1, sizeof(*s));
	if (!s)
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	size_t nblocks = buffer_bytes / WB_BLOCK;
	if (nblocks < 2)
		nblocks = 2;
	s->notify = notify;
	s->notify_ud = notify_ud;
	s->pool = malloc(nblocks * WB_BLOCK);
	s->items = calloc(nblocks, sizeof(*s->items));
	if (!s->pool || !s->items) {
		free(s->pool);
		free(s->items);
		free(s);
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < nblocks; i++) {
		s->items[i].data = s->pool + i * WB_BLOCK;
		s->items[i].next = i + 1 < nblocks ? &s->items[i + 1] : NULL;
	}
	s->free_items = &s->items[0];
	s->nfree = s->nblocks = nblocks;
	pthread_mutex_init(&s->lock, NULL);
	registry__cond_init(&s->work);
	registry__cond_init(&s->space);
	registry__cond_init(&s->idle);
	if (threads > 0 && (s->threads = calloc((size_t)threads, sizeof(*s->threads)))) {
		pthread_attr_t attr;
		int have_attr = pthread_attr_init(&attr) == 0;
		if (have_attr)
			pthread_attr_setstacksize(&attr, WB_STACK);
		for (int i = 0; i < threads; i++) {
			if (pthread_create(&s->threads[s->nthreads], have_attr ? &attr : NULL, worker, s) != 0)
				break; /* fewer workers, or none: still correct */
			s->nthreads++;
		}
		if (have_attr)
			pthread_attr_destroy(&attr);
	}
	*out = s;
	return 0;
}

void registry__wb_drain(registry__wb *s)
{
	if (!s || !s->nthreads)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->ready_head)
		pthread_cond_broadcast(&s->work);
	while (s->ready_head || s->running)
		pthread_cond_wait(&s->idle, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

void registry__wb_free(registry__wb *s)
{
	if (!s)
		return;
	registry__wb_drain(s);
	/* Streams the caller never closed keep their partial file for a resume. */
	registry__wb_stream *st = s->all;
	while (st) {
		registry__wb_stream *next = st->next_all;
		if (st->w)
			registry__blob_writer_abort(st->w, 1);
		st->w = NULL;
		st = next;
	}
	if (s->nthreads) {
		pthread_mutex_lock(&s->lock);
		s->stopping = 1;
		pthread_cond_broadcast(&s->work);
		pthread_mutex_unlock(&s->lock);
		for (int i = 0; i < s->nthreads; i++)
			pthread_join(s->threads[i], NULL);
	}
	while (s->all) {
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): stream_free() unlinks the stream through prev_all and only an OP_COMMIT/OP_ABORT closes one; the analyzer follows neither. */
		release_items(s, s->all->head);
		stream_free(s->all);
	}
	pthread_cond_destroy(&s->idle);
	pthread_cond_destroy(&s->space);
	pthread_cond_destroy(&s->work);
	pthread_mutex_destroy(&s->lock);
	free(s->threads);
	free(s->items);
	free(s->pool);
	free(s);
}

int registry__wb_open(registry__wb *s, registry__blob_writer *w, void *owner, registry__wb_stream **out)
{
	registry__wb_stream *st = calloc(1, sizeof(*st));
	if (!st)
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	st->wb = s;
	st->w = w;
	st->owner = owner;
	if (s->nthreads)
		pthread_mutex_lock(&s->lock);
	st->next_all = s->all;
	if (s->all)
		s->all->prev_all = &st->next_all;
	st->prev_all = &s->all;
	s->all = st;
	if (s->nthreads)
		pthread_mutex_unlock(&s->lock);
	*out = st;
	return 0;
}

int registry__wb_write(registry__wb_stream *st, const void *data, size_t len)
{
	registry__wb *s = st->wb;
	const char *p = data;
	while (len) {
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): stream_free() unlinks the stream through prev_all and only an OP_COMMIT/OP_ABORT closes one; the analyzer follows neither. */
		int rc = sticky(st);
		if (rc)
			return rc;
		if (s->nthreads) {
			pthread_mutex_lock(&s->lock);
			/* Callbacks bring a few KB each: fill the block still queued
			 * at the stream's tail first, so that workers write and hash
			 * whole blocks. */
			item *tail = st->tail;
			if (tail && tail->data && tail->len < WB_BLOCK) {
				size_t n = len < WB_BLOCK - tail->len ? len : WB_BLOCK - tail->len;
				memcpy(tail->data + tail->len, p, n);
				tail->len += n;
				pthread_mutex_unlock(&s->lock);
				p += n;
				len -= n;
				continue;
			}
			while (!s->free_items) {
				/* The workers are behind: rather than sleep, write some
				 * queued data here (a failure there is kept for its own
				 * stream; it may leave its message in this thread's record). */
				item *batch;
				registry__wb_stream *other = take(s, 1, &batch);
				if (other) {
					pthread_mutex_unlock(&s->lock);
					run_batch(other, batch);
					pthread_mutex_lock(&s->lock);
					give_back(s, other, batch, -1);
					continue;
				}
				s->starved = 1; /* every stream is with a worker: wait */
				wake_worker(s, 1);
				pthread_cond_wait(&s->space, &s->lock);
			}
		}
		item *b = s->free_items; /* without workers, blocks come back at once */
		s->free_items = b->next;
		s->nfree--;
		if (s->nthreads)
			pthread_mutex_unlock(&s->lock);
		size_t n = len < WB_BLOCK ? len : WB_BLOCK;
		memcpy(b->data, p, n);
		b->kind = OP_DATA;
		b->len = n;
		enqueue(st, b);
		p += n;
		len -= n;
	}
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): stream_free() unlinks the stream through prev_all and only an OP_COMMIT/OP_ABORT closes one; the analyzer follows neither. */
	return sticky(st);
}

int registry__wb_restart(registry__wb_stream *st)
{
	int rc = sticky(st);
	if (!rc)
		control(st, OP_RESTART);
	return rc ? rc : sticky(st);
}

void registry__wb_commit(registry__wb_stream *st)
{
	control(st, OP_COMMIT);
}

void registry__wb_abort(registry__wb_stream *st, int keep_partial)
{
	control(st, keep_partial ? OP_ABORT_KEEP : OP_ABORT);
}

int registry__wb_reap(registry__wb *s, void **owner, int *rc, registry__error_snapshot **err)
{
	if (s->nthreads)
		pthread_mutex_lock(&s->lock);
	registry__wb_stream *st = s->done_head;
	if (st) {
		s->done_head = st->next_done;
		if (!s->done_head)
			s->done_tail = NULL;
	}
	if (s->nthreads)
		pthread_mutex_unlock(&s->lock);
	if (!st)
		return 0;
	*owner = st->owner;
	*rc = st->rc;
	*err = st->err;
	st->err = NULL;
	if (s->nthreads)
		pthread_mutex_lock(&s->lock);
	stream_free(st);
	if (s->nthreads)
		pthread_mutex_unlock(&s->lock);
	return 1;
}

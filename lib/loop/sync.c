/*
 * Durable without blocking a step (docs/event-loop.md, "Bounded steps").
 *
 * Committing a blob fsyncs its data and then its folder; on a virtual disk
 * each fsync took 2-25 ms, and in the step that finished a transfer they
 * made the loop's longest steps (21-88 ms). Here the fsyncs go through Linux
 * AIO (IOCB_CMD_FSYNC, since Linux 4.18): io_submit only queues the work,
 * the kernel runs the fsync on its own workqueue (no thread of this
 * process: /proc/self/task stays at one), and the completion is signalled
 * on an eventfd that the caller's loop watches like any socket. The order
 * is the blocking commit's: data durable, then the rename, then the folder
 * durable, then the blob counts as done. Where AIO is not there (io_setup
 * refused by a seccomp filter or aio-max-nr, a file system without aio
 * fsync) the fsync runs inside the step, as before: longer steps, the same
 * durability.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "loop_impl.h"
#include "store/store_writer.h"

/* In flight at once per loop; beyond, an fsync runs in the step. */
#define AIO_SLOTS 256

struct lsync {
	lsync *next; /* the loop's in flight */
	registry_loop *L;
	struct iocb cb;
	int fd, own_fd;            /* own_fd: closed when done */
	void (*done)(void *ud, int err); /* NULL: forgotten */
	void *ud;
	lwait inline_done;         /* the fsync ran in the step: done comes next step */
	int err;
	/* A write (registry__loop_pwrite): its buffer goes back to the loop's
	 * pool once done, whether or not anyone still waits for it. */
	void *buf;
	size_t len;
	int64_t off;
	void (*wdone)(void *ud, int err, void *buf, size_t len, int64_t off);
};

static int aio_ready_or_setup(registry_loop *L)
{
	if (L->aio_state)
		return L->aio_state > 0;
	aio_context_t ctx = 0;
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0 || syscall(SYS_io_setup, AIO_SLOTS, &ctx) != 0) {
		if (efd >= 0)
			close(efd);
		L->aio_state = -1;
		return 0;
	}
	L->aio_ctx = ctx;
	L->aio_efd = efd;
	L->aio_state = 1;
	return 1;
}

static void finish(lsync *s)
{
	if (s->wdone)
		s->wdone(s->ud, s->err, s->buf, s->len, s->off);
	else if (s->done)
		s->done(s->ud, s->err);
	if (s->buf)
		registry__loop_buf_put(s->L, s->buf);
	if (s->own_fd)
		close(s->fd);
	free(s);
}

/* An AIO completion's result: errno, or 0 (a write that wrote it all). */
static int event_err(const lsync *s, long long res)
{
	if (res < 0)
		return (int)-res;
	if (s->buf && (uint64_t)res != (uint64_t)s->len)
		return EIO; /* short: wdone writes the rest itself to learn why */
	return 0;
}

static void inline_fired(lwait *w)
{
	finish((lsync *)(void *)((char *)w - offsetof(lsync, inline_done)));
}

static int submit(registry_loop *L, lsync *s)
{
	if (!aio_ready_or_setup(L))
		return -1;
	s->cb.aio_data = (uint64_t)(uintptr_t)s;
	if (s->buf) {
		s->cb.aio_lio_opcode = IOCB_CMD_PWRITE;
		s->cb.aio_buf = (uint64_t)(uintptr_t)s->buf;
		s->cb.aio_nbytes = s->len;
		s->cb.aio_offset = s->off;
	} else {
		s->cb.aio_lio_opcode = IOCB_CMD_FSYNC;
	}
	s->cb.aio_fildes = (uint32_t)s->fd;
	s->cb.aio_flags = IOCB_FLAG_RESFD;
	s->cb.aio_resfd = (uint32_t)L->aio_efd;
	struct iocb *cbs[1] = {&s->cb};
	if (syscall(SYS_io_submit, L->aio_ctx, 1, cbs) != 1)
		return -1; /* EINVAL (no aio fsync here), EAGAIN (full): in the step */
	if (!L->aio_watched) {
		if (L->o.socket_cb(L->aio_efd, REGISTRY_LOOP_READ, L->o.userdata) != 0) {
			/* The loop cannot watch it: wait for this one here. */
			struct io_event ev;
			syscall(SYS_io_getevents, L->aio_ctx, 1, 1, &ev, NULL);
			s->err = event_err(s, ev.res);
			return 0;
		}
		L->aio_watched = 1;
	}
	s->next = L->syncs;
	L->syncs = s;
	return 1;
}

lsync *registry__loop_fsync(registry_loop *L, int fd, int own_fd, void (*done)(void *ud, int err), void *ud)
{
	lsync *s = calloc(1, sizeof(*s));
	if (!s) {
		if (own_fd)
			close(fd);
		registry__nomem();
		return NULL;
	}
	*s = (lsync){.L = L, .fd = fd, .own_fd = own_fd, .done = done, .ud = ud};
	if (submit(L, s) <= 0) {
		if (s->err == 0 && fsync(fd) != 0 && !(errno == EINVAL && own_fd))
			s->err = errno; /* a folder some file systems cannot sync: as the blocking path */
		registry__loop_wait(L, &s->inline_done, 0, inline_fired);
	}
	return s;
}

void registry__loop_fsync_forget(lsync *s)
{
	if (!s)
		return;
	s->done = NULL;
	s->wdone = NULL;
	if (s->inline_done.queued) { /* done (in the step, or reaped) */
		registry__loop_unwait(s->L, &s->inline_done);
		finish(s);
	}
	/* else in the kernel's hands: freed when its completion arrives */
}

static void unlink_sync(registry_loop *L, lsync *s)
{
	for (lsync **p = &L->syncs; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			return;
		}
}

/* Completions: their callbacks go to the wait list (0 ms), so that the
 * timeout steps run them within the step's budget, not all in this one. */
static void reap(registry_loop *L, const struct timespec *wait, long min, int now)
{
	struct io_event ev[32];
	long n;
	while ((n = syscall(SYS_io_getevents, L->aio_ctx, min, 32, ev, wait)) > 0) {
		for (long i = 0; i < n; i++) {
			lsync *s = (lsync *)(uintptr_t)ev[i].data;
			unlink_sync(L, s);
			if (s->buf)
				L->dw_writes--;
			s->err = event_err(s, ev[i].res);
			if (s->err == EINVAL && s->own_fd)
				s->err = 0; /* a folder some file systems cannot sync */
			if (now)
				finish(s);
			else
				registry__loop_wait(L, &s->inline_done, 0, inline_fired);
		}
		if (!L->syncs)
			break;
	}
}

int registry__loop_aio_event(registry_loop *L, int fd)
{
	if (L->aio_state <= 0 || fd != L->aio_efd)
		return 0;
	uint64_t count;
	while (read(L->aio_efd, &count, sizeof(count)) == (ssize_t)sizeof(count))
		;
	const struct timespec now = {0, 0};
	reap(L, &now, 0, 0);
	if (!L->syncs && L->aio_watched) {
		L->aio_watched = 0;
		L->o.socket_cb(L->aio_efd, 0, L->o.userdata);
	}
	return 1;
}

void registry__loop_aio_free(registry_loop *L)
{
	if (L->aio_state <= 0)
		return;
	/* The kernel finishes what it was given (fsyncs: milliseconds). */
	while (L->syncs)
		reap(L, NULL, 1, 1);
	if (L->aio_watched)
		L->o.socket_cb(L->aio_efd, 0, L->o.userdata);
	syscall(SYS_io_destroy, L->aio_ctx);
	close(L->aio_efd);
	L->aio_state = 0;
}

/* ---- writes (loop/dwrite.c) ------------------------------------------------------ */

lsync *registry__loop_pwrite(registry_loop *L, int fd, void *buf, size_t len, int64_t off,
                             void (*wdone)(void *ud, int err, void *buf, size_t len, int64_t off), void *ud)
{
	lsync *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	*s = (lsync){.L = L, .fd = fd, .buf = buf, .len = len, .off = off, .wdone = wdone, .ud = ud};
	int r = submit(L, s);
	if (r < 0) {
		free(s); /* no AIO here, or it is full: the caller writes in the step */
		return NULL;
	}
	if (r == 0) /* done already (the loop could not watch the eventfd) */
		registry__loop_wait(L, &s->inline_done, 0, inline_fired);
	else
		L->dw_writes++;
	return s;
}

int registry__loop_aio_ready(registry_loop *L)
{
	return aio_ready_or_setup(L);
}

/* The pool: each free buffer holds the next one's address in its first bytes. */
int registry__loop_bufs_left(const registry_loop *L)
{
	return REGISTRY__LOOP_DW_BUFFERS - L->bufs_out;
}

void *registry__loop_buf_get(registry_loop *L, int force)
{
	if (L->bufs_out >= REGISTRY__LOOP_DW_BUFFERS && !force)
		return NULL;
	void *b = L->bufs_free;
	if (b) {
		memcpy(&L->bufs_free, b, sizeof(void *));
	} else if (posix_memalign(&b, REGISTRY__LOOP_DW_ALIGN, REGISTRY__LOOP_DW_CHUNK) != 0) {
		return NULL;
	}
	L->bufs_out++;
	return b;
}

void registry__loop_buf_put(registry_loop *L, void *b)
{
	memcpy(b, &L->bufs_free, sizeof(void *));
	L->bufs_free = b;
	L->bufs_out--;
	/* Transfers that waited for a buffer try again from the next step. */
	while (L->buf_waiters) {
		lreq *q = L->buf_waiters;
		L->buf_waiters = q->next_paused;
		q->paused = 1;
		q->next_paused = L->paused;
		L->paused = q;
		L->deferred = 1;
	}
}

void registry__loop_buf_wait(registry_loop *L, lreq *q)
{
	q->paused = 2;
	q->next_paused = L->buf_waiters;
	L->buf_waiters = q;
}

void registry__loop_bufs_free(registry_loop *L)
{
	while (L->bufs_free) {
		void *b = L->bufs_free;
		memcpy(&L->bufs_free, b, sizeof(void *));
		free(b);
	}
}

/* ---- a blob's commit ------------------------------------------------------------ */

struct lcommit {
	registry_loop *L;
	registry__blob_writer *w; /* until renamed */
	lsync *sync;              /* the fsync in flight */
	void (*done)(void *ud, int rc);
	void *ud;
};

static void commit_end(lcommit *c, int rc)
{
	void (*done)(void *ud, int rc) = c->done;
	void *ud = c->ud;
	free(c);
	done(ud, rc);
}

static void dir_synced(void *ud, int err)
{
	lcommit *c = ud;
	c->sync = NULL;
	commit_end(c, err ? registry__blob_writer_dir_sync_failed(err) : 0);
}

static void data_synced(void *ud, int err)
{
	lcommit *c = ud;
	int dir_fd = -1;
	c->sync = NULL;
	int rc = registry__blob_writer_commit_synced(c->w, err, &dir_fd);
	c->w = NULL;
	if (rc) {
		commit_end(c, rc);
		return;
	}
	if (!(c->sync = registry__loop_fsync(c->L, dir_fd, 1, dir_synced, c)))
		commit_end(c, REGISTRY_ENOMEM);
}

int registry__loop_commit(lcommit **out, registry_loop *L, registry__blob_writer *w,
                          void (*done)(void *ud, int rc), void *ud)
{
	*out = NULL;
	int rc = registry__blob_writer_check(w);
	if (rc)
		return rc;
	lcommit *c = calloc(1, sizeof(*c));
	if (!c) {
		registry__blob_writer_abort(w, 1);
		return registry__nomem();
	}
	*c = (lcommit){.L = L, .w = w, .done = done, .ud = ud};
	if (!(c->sync = registry__loop_fsync(L, registry__blob_writer_fd(w), 0, data_synced, c))) {
		registry__blob_writer_abort(w, 1);
		free(c);
		return registry__nomem();
	}
	*out = c;
	return 0;
}

void registry__loop_commit_forget(lcommit *c)
{
	if (!c)
		return;
	registry__loop_fsync_forget(c->sync);
	/* Not renamed yet: the complete partial stays for a resume, which
	 * re-hashes it (a kernel fsync in flight holds its own reference). */
	registry__blob_writer_abort(c->w, 1);
	free(c);
}

int registry__loop_commit_bytes(lcommit **out, registry_loop *L, registry_store *store, const char *digest,
                                const void *data, size_t len, void (*done)(void *ud, int rc), void *ud)
{
	*out = NULL;
	registry__blob_writer *w = NULL;
	int64_t offset = 0;
	int already = 0;
	int rc = registry__blob_writer_open(&w, store, digest, (int64_t)len, &offset, &already);
	if (rc == REGISTRY_ECONFLICT) {
		registry__error_clear();
		return REGISTRY__LOOP_BUSY;
	}
	if (!rc && already)
		return 0;
	if (!rc && offset > 0)
		rc = registry__blob_writer_restart(w); /* a partial of a few bytes: written anew */
	if (!rc)
		rc = registry__blob_writer_write(w, data, len);
	if (rc) {
		registry__blob_writer_abort(w, 0);
		return rc;
	}
	if ((rc = registry__loop_commit(out, L, w, done, ud)))
		return rc;
	return 1;
}

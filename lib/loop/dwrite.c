/*
 * A downloaded blob's bytes written without blocking a step
 * (docs/event-loop.md, "Bounded steps").
 *
 * write(2) into the page cache was most of the loop's CPU on a pull (the
 * copy into fresh pages and their zeroing: 45% of its samples), and once
 * dirty pages piled up the kernel throttled those writes inside a step for
 * up to 200 ms. Here the bytes are hashed as they arrive, gathered into
 * 256 KiB aligned buffers from the loop's pool, and written with O_DIRECT
 * through Linux AIO: io_submit queues the write and returns, the disk reads
 * the buffer itself, the completion comes on the loop's AIO eventfd. No
 * thread is made (the kernel does the work), no page-cache copy, no
 * throttling. ext4 waits for the disk when a direct write extends a file,
 * so the partial is given the blob's size first (ftruncate: a hole); what
 * is below its first unwritten byte is what a resume re-hashes, so every
 * way out but the commit trims the partial back to the bytes known to be
 * written. A process killed mid-blob leaves a partial of the full size,
 * which the next pull hashes, finds not to be the blob, and starts again.
 *
 * The head of a resumed partial is re-read into the first buffer (writes
 * start on a 4 KiB boundary) and the tail of the blob, under 4 KiB, goes
 * through write(2). A file system that refuses O_DIRECT, or a loop without
 * AIO, keeps the writer's own write(2) path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop_impl.h"
#include "store/store_impl.h"
#include "store/store_writer.h"

struct ldw {
	registry_loop *L;
	registry__blob_writer *w;
	int dfd, wfd;      /* O_DIRECT, and the writer's own descriptor */
	int64_t size;      /* the blob's: the partial's length while writing */
	int64_t pos;       /* the file offset of buf[0] */
	char *buf;         /* staging (a pool buffer), fill bytes of it */
	size_t fill;
	int no_direct;     /* direct writes were refused (EINVAL): write(2) */
	int err;           /* the first failed write's errno */
	int64_t bad;       /* its offset */
	struct {
		lsync *s;
		int64_t off;
	} io[REGISTRY__LOOP_DW_INFLIGHT + 1]; /* + the last one, at the finish */
	int inflight;
	/* The blob's last bytes (under 4 KiB): written with write(2) once the
	 * direct writes are done (a buffered write beside them waited for
	 * ext4's conversion of their extents: 12 ms). */
	char tail[REGISTRY__LOOP_DW_ALIGN];
	size_t tail_len;
	int64_t tail_off;
	int finishing;
	void (*done)(void *ud, int rc);
	void *ud;
	lwait fin;
};

#define ALIGN_DOWN(x) ((x) & ~(int64_t)(REGISTRY__LOOP_DW_ALIGN - 1))

ldw *registry__loop_dw_open(registry_loop *L, registry__blob_writer *w, int64_t size)
{
	if (!w || size < REGISTRY__LOOP_DW_MIN || !registry__loop_aio_ready(L))
		return NULL;
	int64_t offset = registry__blob_writer_offset(w);
	if (offset < 0 || offset >= size)
		return NULL;
	int dfd = registry__blob_writer_open_direct(w);
	if (dfd < 0)
		return NULL;
	ldw *d = calloc(1, sizeof(*d));
	if (!d) {
		close(dfd);
		return NULL;
	}
	*d = (ldw){.L = L, .w = w, .dfd = dfd, .wfd = registry__blob_writer_fd(w), .size = size, .bad = -1};
	d->pos = ALIGN_DOWN(offset);
	d->fill = (size_t)(offset - d->pos);
	if (d->fill) {
		/* The resumed partial's last bytes before the boundary: re-read
		 * (the resume just hashed them; they are in the page cache). */
		if (!(d->buf = registry__loop_buf_get(L, 0)) ||
		    pread(d->wfd, d->buf, d->fill, (off_t)d->pos) != (ssize_t)d->fill)
			goto refuse;
	}
	if (ftruncate(d->wfd, (off_t)size) != 0)
		goto refuse;
	return d;
refuse:
	if (d->buf)
		registry__loop_buf_put(L, d->buf);
	close(dfd);
	free(d);
	return NULL;
}

/* The first byte not known to be on disk: below every write in flight,
 * the staged bytes and a failed write. */
static int64_t written_prefix(const ldw *d)
{
	int64_t p = d->pos;
	for (int i = 0; i < d->inflight; i++)
		if (d->io[i].off < p)
			p = d->io[i].off;
	if (d->bad >= 0 && d->bad < p)
		p = d->bad;
	int64_t hashed = registry__blob_writer_offset(d->w);
	return hashed < p ? hashed : p;
}

static void fin_fired(lwait *w);

static void maybe_finished(ldw *d)
{
	if (d->finishing && d->inflight == 0 && !d->fin.queued)
		registry__loop_wait(d->L, &d->fin, 0, fin_fired);
}

static void failed(ldw *d, int err, int64_t off)
{
	if (!d->err)
		d->err = err;
	if (d->bad < 0 || off < d->bad)
		d->bad = off;
}

static void wrote(void *ud, int err, void *buf, size_t len, int64_t off)
{
	ldw *d = ud;
	for (int i = 0; i < d->inflight; i++)
		if (d->io[i].off == off) {
			d->io[i] = d->io[--d->inflight];
			break;
		}
	if (err == EINVAL && !d->no_direct) {
		/* Direct I/O accepted at open, refused at the write (a file
		 * system with other alignment rules): write(2) from now on. */
		d->no_direct = 1;
		err = registry__store_pwrite_all(d->wfd, buf, len, off);
	} else if (err == EIO) {
		/* Short, or the device's error: write(2) says which. */
		err = registry__store_pwrite_all(d->wfd, buf, len, off);
	}
	if (err)
		failed(d, err, off);
	maybe_finished(d);
}

/* Write @len bytes of the staging buffer at d->pos; the buffer is the
 * write's (or back in the pool) afterwards. */
static void submit(ldw *d, size_t len)
{
	char *buf = d->buf;
	int64_t off = d->pos;
	d->buf = NULL;
	d->fill = 0;
	d->pos += (int64_t)len;
	if (!d->no_direct && d->inflight < REGISTRY__LOOP_DW_INFLIGHT + d->finishing) {
		lsync *s = registry__loop_pwrite(d->L, d->dfd, buf, len, off, wrote, d);
		if (s) {
			d->io[d->inflight].s = s;
			d->io[d->inflight].off = off;
			d->inflight++;
			return;
		}
	}
	/* No AIO (or refused): in the step, as the writer would. */
	int err = registry__store_pwrite_all(d->no_direct ? d->wfd : d->dfd, buf, len, off);
	if (err == EINVAL && !d->no_direct) {
		d->no_direct = 1;
		err = registry__store_pwrite_all(d->wfd, buf, len, off);
	}
	if (err)
		failed(d, err, off);
	registry__loop_buf_put(d->L, buf);
}

int registry__loop_dw_write(ldw *d, lreq *q, const char *data, size_t len)
{
	if (d->err)
		return registry__blob_writer_write_failed(d->w, d->err);
	/* All or nothing: the buffers and writes these bytes need, first. */
	size_t f = d->buf ? d->fill : 0, left = len;
	int has = d->buf != NULL, bufs = 0, writes = 0;
	while (left) {
		if (!has) {
			bufs++;
			has = 1;
			f = 0;
		}
		size_t take = REGISTRY__LOOP_DW_CHUNK - f < left ? REGISTRY__LOOP_DW_CHUNK - f : left;
		f += take;
		left -= take;
		if (f == REGISTRY__LOOP_DW_CHUNK) {
			writes++;
			has = 0;
		}
	}
	/* Wait only for what a write in flight will give back: this
	 * transfer's own (its cap), or any (the pool). */
	int force = bufs > registry__loop_bufs_left(d->L);
	if ((force && d->L->dw_writes > 0) ||
	    (d->inflight > 0 && d->inflight + writes > REGISTRY__LOOP_DW_INFLIGHT)) {
		registry__loop_buf_wait(d->L, q);
		return REGISTRY__SINK_PAUSE;
	}
	int rc = registry__blob_writer_account(d->w, data, len);
	if (rc)
		return rc;
	while (len) {
		if (!d->buf && !(d->buf = registry__loop_buf_get(d->L, force)))
			return registry__blob_writer_write_failed(d->w, ENOMEM);
		size_t take = REGISTRY__LOOP_DW_CHUNK - d->fill < len ? REGISTRY__LOOP_DW_CHUNK - d->fill : len;
		memcpy(d->buf + d->fill, data, take);
		d->fill += take;
		data += take;
		len -= take;
		if (d->fill == REGISTRY__LOOP_DW_CHUNK)
			submit(d, REGISTRY__LOOP_DW_CHUNK);
	}
	if (d->err)
		return registry__blob_writer_write_failed(d->w, d->err);
	return 0;
}

/* Writes in flight go on in the kernel; their completions only give the
 * buffers back. */
static void forget_writes(ldw *d)
{
	for (int i = 0; i < d->inflight; i++)
		registry__loop_fsync_forget(d->io[i].s);
}

int registry__loop_dw_restart(ldw *d)
{
	forget_writes(d);
	d->inflight = 0;
	if (d->buf)
		registry__loop_buf_put(d->L, d->buf);
	d->buf = NULL;
	d->fill = 0;
	d->pos = 0;
	d->err = 0;
	d->bad = -1;
	/* ftruncate waits for the forgotten direct writes (inode_dio_wait). */
	int rc = registry__blob_writer_restart(d->w);
	if (rc)
		return rc;
	if (ftruncate(d->wfd, (off_t)d->size) != 0)
		return registry__blob_writer_write_failed(d->w, errno);
	return 0;
}

static void dw_free(ldw *d, int trim)
{
	forget_writes(d);
	if (trim) {
		/* What a resume will re-hash: only bytes known to be written. */
		int64_t keep = written_prefix(d);
		if (ftruncate(d->wfd, (off_t)keep) != 0) {
			/* Then nothing can be trusted: an empty partial. */
			if (ftruncate(d->wfd, 0) != 0) {
				/* left as it is; the writer's abort removes it */
			}
		}
	}
	if (d->buf)
		registry__loop_buf_put(d->L, d->buf);
	registry__loop_unwait(d->L, &d->fin);
	close(d->dfd);
	free(d);
}

static void fin_fired(lwait *w)
{
	ldw *d = (ldw *)(void *)((char *)w - offsetof(ldw, fin));
	void (*done)(void *ud, int rc) = d->done;
	void *ud = d->ud;
	int rc = 0;
	if (d->tail_len && !d->err) {
		int err = registry__store_pwrite_all(d->wfd, d->tail, d->tail_len, d->tail_off);
		if (err)
			failed(d, err, d->tail_off);
	}
	if (d->err)
		rc = registry__blob_writer_write_failed(d->w, d->err);
	dw_free(d, rc != 0);
	done(ud, rc);
}

void registry__loop_dw_finish(ldw *d, void (*done)(void *ud, int rc), void *ud)
{
	d->done = done;
	d->ud = ud;
	d->finishing = 1;
	if (d->buf && d->fill && !d->err) {
		/* The last bytes: whole 4 KiB blocks directly, the tail (the
		 * blob's end) kept for write(2) when they are done. */
		size_t whole = (size_t)ALIGN_DOWN((int64_t)d->fill);
		d->tail_len = d->fill - whole;
		d->tail_off = d->pos + (int64_t)whole;
		memcpy(d->tail, d->buf + whole, d->tail_len);
		if (whole) {
			d->fill = whole;
			submit(d, whole);
		}
	}
	maybe_finished(d);
}

void registry__loop_dw_abort(ldw *d)
{
	if (d)
		dw_free(d, 1);
}

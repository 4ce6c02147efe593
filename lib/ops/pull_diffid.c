/*
 * A layer's diff_id: the sha256 of the tar inside it. Gzip layers are
 * inflated as they are read (never held whole), following concatenated gzip
 * members as Go's gzip reader does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef REGISTRY_HAVE_ZLIB
#include <zlib.h>
#endif

#include "digest/hash.h"
#include "pull_impl.h"
#include "store/store_blob.h"

#define LAYER_IO_BUFFER (256u << 10)

#ifdef REGISTRY_HAVE_ZLIB
int registry__have_zlib(void)
{
	return 1;
}

static int oom(void)
{
	return registry__fail(REGISTRY_ENOMEM, "out of memory");
}

static ssize_t read_some(int fd, void *buf, size_t len)
{
	ssize_t r;
	do
		r = read(fd, buf, len);
	while (r < 0 && errno == EINTR);
	return r;
}

/* A diff_id under way (registry__diffid_step): the layer read a buffer at a
 * time, inflated when it is gzip (concatenated members followed), the
 * output hashed. */
struct registry__diffid {
	int fd, own_fd;
	char what[REGISTRY_DIGEST_STRING_MAX + 8];
	unsigned char *in, *outbuf;
	registry__hash h;
	int started, gz, eof, zr;
	z_stream z;
	registry__watch *w;
};

static int diffid_new(registry__diffid **out, int fd, int own_fd, const char *what, registry__watch *w)
{
	*out = NULL;
	registry__diffid *d = calloc(1, sizeof(*d));
	if (d) {
		d->in = malloc(LAYER_IO_BUFFER);
		d->outbuf = malloc(LAYER_IO_BUFFER);
	}
	if (!d || !d->in || !d->outbuf || registry__hash_init(&d->h, REGISTRY_DIGEST_SHA256) != 0) {
		if (d) {
			free(d->in);
			free(d->outbuf);
		}
		free(d);
		if (own_fd)
			close(fd);
		return oom();
	}
	d->fd = fd;
	d->own_fd = own_fd;
	d->w = w;
	d->zr = Z_OK;
	snprintf(d->what, sizeof(d->what), "%s", what);
	*out = d;
	return 0;
}

void registry__diffid_free(registry__diffid *d)
{
	if (!d)
		return;
	if (d->gz)
		inflateEnd(&d->z);
	registry__hash_cleanup(&d->h);
	if (d->own_fd)
		close(d->fd);
	free(d->in);
	free(d->outbuf);
	free(d);
}

int registry__diffid_begin(registry__diffid **out, registry_store *store, const char *digest, registry__watch *w)
{
	*out = NULL;
	int fd;
	int64_t size;
	int rc = registry__store_blob_open(store, digest, &fd, &size);
	if (rc)
		return rc;
	char what[REGISTRY_DIGEST_STRING_MAX + 8];
	snprintf(what, sizeof(what), "blob %s", digest);
	return diffid_new(out, fd, 1, what, w);
}

static int read_failed(const registry__diffid *d)
{
	return registry__fail(REGISTRY_EIO, "reading %s: %s", d->what, registry__errno_text(errno));
}

/* The first buffer: gzip (inflated from here on) or a plain tar. */
static int diffid_start(registry__diffid *d)
{
	ssize_t r = read_some(d->fd, d->in, LAYER_IO_BUFFER);
	if (r < 0)
		return read_failed(d);
	d->started = 1;
	d->eof = r == 0;
	if (r >= 2 && d->in[0] == 0x1f && d->in[1] == 0x8b) {
		if (inflateInit2(&d->z, 15 + 16) != Z_OK)
			return oom();
		d->gz = 1;
		d->z.next_in = d->in;
		d->z.avail_in = (uInt)r;
		return 0;
	}
	/* Not gzip: an uncompressed tar is its own diff. */
	int rc = registry__hash_update(&d->h, d->in, (size_t)r);
	return rc ? rc : registry__watch_step(d->w, r);
}

/* One buffer of inflating (*@consumed grows by the work done): 1 more to
 * do, 0 at the end, or a failure. */
static int gunzip_some(registry__diffid *d, int64_t *consumed)
{
	z_stream *z = &d->z;
	if (z->avail_in == 0 && !d->eof) {
		ssize_t r = read_some(d->fd, d->in, LAYER_IO_BUFFER);
		if (r < 0)
			return read_failed(d);
		d->eof = r == 0;
		z->next_in = d->in;
		z->avail_in = (uInt)r;
	}
	if (z->avail_in == 0 && d->eof) {
		if (d->zr != Z_STREAM_END)
			return registry__fail(REGISTRY_EFORMAT, "%s: truncated gzip stream", d->what);
		return 0;
	}
	if (d->zr == Z_STREAM_END && inflateReset(z) != Z_OK) /* another gzip member follows */
		return registry__fail(REGISTRY_EFORMAT, "%s: damaged gzip stream", d->what);
	z->next_out = d->outbuf;
	z->avail_out = LAYER_IO_BUFFER;
	uInt before = z->avail_in;
	d->zr = inflate(z, Z_NO_FLUSH);
	if (d->zr != Z_OK && d->zr != Z_STREAM_END && !(d->zr == Z_BUF_ERROR && z->avail_in == 0))
		return registry__fail(REGISTRY_EFORMAT, "%s: damaged gzip stream (%s)", d->what,
		                      z->msg ? z->msg : "inflate failed");
	if (d->zr == Z_BUF_ERROR)
		d->zr = Z_OK;
	size_t produced = LAYER_IO_BUFFER - z->avail_out;
	int rc = produced ? registry__hash_update(&d->h, d->outbuf, produced) : 0;
	/* The work: what was read and what was hashed (a stream that
	 * inflates a thousandfold is bounded by its output). */
	*consumed += (int64_t)(before - z->avail_in) + (int64_t)produced;
	/* The watch steps at every output buffer, so even a stream that
	 * inflates a thousandfold is asked about cancellation every 256 KiB. */
	return rc ? rc : (rc = registry__watch_step(d->w, (int64_t)(before - z->avail_in))) ? rc : 1;
}

/* One buffer of a plain tar: 1 more to do, 0 at the end, or a failure. */
static int plain_some(registry__diffid *d, int64_t *consumed)
{
	ssize_t r = read_some(d->fd, d->in, LAYER_IO_BUFFER);
	if (r < 0)
		return read_failed(d);
	if (r == 0)
		return 0;
	*consumed += r;
	int rc = registry__hash_update(&d->h, d->in, (size_t)r);
	return rc ? rc : (rc = registry__watch_step(d->w, r)) ? rc : 1;
}

int registry__diffid_step(registry__diffid *d, size_t max_work, char out[REGISTRY_DIGEST_STRING_MAX], int *gzipped)
{
	int rc = d->started ? 0 : diffid_start(d);
	if (rc)
		return rc;
	int64_t work = 0;
	for (;;) {
		rc = d->gz ? gunzip_some(d, &work) : plain_some(d, &work);
		if (rc < 0)
			return rc;
		if (rc == 0)
			break;
		if ((uint64_t)work >= (uint64_t)max_work)
			return 1;
	}
	if (gzipped)
		*gzipped = d->gz;
	return registry__hash_final(&d->h, out);
}

int registry__layer_diff_id_fd(char out[REGISTRY_DIGEST_STRING_MAX], int fd, const char *path, int *gzipped,
                               registry__watch *w)
{
	if (gzipped)
		*gzipped = 0;
	registry__diffid *d = NULL;
	int rc = diffid_new(&d, fd, 0, path, w);
	if (!rc)
		while ((rc = registry__diffid_step(d, SIZE_MAX, out, gzipped)) == 1)
			;
	registry__diffid_free(d);
	return rc;
}

int registry__layer_diff_id(char out[REGISTRY_DIGEST_STRING_MAX], const char *path, int *gzipped,
                            registry__watch *w)
{
	if (gzipped)
		*gzipped = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return registry__fail(errno == ENOENT ? REGISTRY_ENOTFOUND : REGISTRY_EIO, "opening %s: %s", path,
		                      registry__errno_text(errno));
	int rc = registry__layer_diff_id_fd(out, fd, path, gzipped, w);
	close(fd);
	return rc;
}

int registry__store_layer_diff_id(char out[REGISTRY_DIGEST_STRING_MAX], registry_store *store,
                                  const char *digest, int *gzipped, registry__watch *w)
{
	if (gzipped)
		*gzipped = 0;
	registry__diffid *d = NULL;
	int rc = registry__diffid_begin(&d, store, digest, w);
	if (!rc)
		while ((rc = registry__diffid_step(d, SIZE_MAX, out, gzipped)) == 1)
			;
	registry__diffid_free(d);
	return rc;
}
#else
int registry__have_zlib(void)
{
	return 0;
}

static int no_zlib(int *gzipped)
{
	if (gzipped)
		*gzipped = 0;
	return registry__fail(REGISTRY_EUNSUPPORTED, "built without zlib: cannot compute layer diff_ids");
}

int registry__layer_diff_id_fd(char out[REGISTRY_DIGEST_STRING_MAX], int fd, const char *path, int *gzipped,
                               registry__watch *w)
{
	(void)out;
	(void)fd;
	(void)path;
	(void)w;
	return no_zlib(gzipped);
}

int registry__layer_diff_id(char out[REGISTRY_DIGEST_STRING_MAX], const char *path, int *gzipped,
                            registry__watch *w)
{
	(void)out;
	(void)path;
	(void)w;
	return no_zlib(gzipped);
}

int registry__store_layer_diff_id(char out[REGISTRY_DIGEST_STRING_MAX], registry_store *store,
                                  const char *digest, int *gzipped, registry__watch *w)
{
	(void)out;
	(void)store;
	(void)digest;
	(void)w;
	return no_zlib(gzipped);
}

int registry__diffid_begin(registry__diffid **out, registry_store *store, const char *digest, registry__watch *w)
{
	(void)store;
	(void)digest;
	(void)w;
	*out = NULL;
	return no_zlib(NULL);
}

int registry__diffid_step(registry__diffid *d, size_t max_work, char out[REGISTRY_DIGEST_STRING_MAX], int *gzipped)
{
	(void)d;
	(void)max_work;
	(void)out;
	return no_zlib(gzipped);
}

void registry__diffid_free(registry__diffid *d)
{
	(void)d;
}
#endif


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

/* Inflate everything from @fd (starting with @in[0..have)) into @h. The
 * watch steps at every output buffer, so even a stream that inflates a
 * thousandfold is asked about cancellation every 256 KiB. */
static int gunzip_hash(int fd, unsigned char *in, size_t have, unsigned char *outbuf, registry__hash *h,
                       const char *path, registry__watch *w)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return oom();
	int rc = 0, eof = 0, zr = Z_OK;
	z.next_in = in;
	z.avail_in = (uInt)have;
	for (;;) {
		if (z.avail_in == 0 && !eof) {
			ssize_t r = read_some(fd, in, LAYER_IO_BUFFER);
			if (r < 0) {
				rc = registry__fail(REGISTRY_EIO, "reading %s: %s", path, registry__errno_text(errno));
				break;
			}
			eof = r == 0;
			z.next_in = in;
			z.avail_in = (uInt)r;
		}
		if (z.avail_in == 0 && eof) {
			if (zr != Z_STREAM_END)
				rc = registry__fail(REGISTRY_EFORMAT, "%s: truncated gzip stream", path);
			break;
		}
		if (zr == Z_STREAM_END) {
			/* Another gzip member follows (pigz and some builders write several). */
			if (inflateReset(&z) != Z_OK) {
				rc = registry__fail(REGISTRY_EFORMAT, "%s: damaged gzip stream", path);
				break;
			}
		}
		z.next_out = outbuf;
		z.avail_out = LAYER_IO_BUFFER;
		uInt before = z.avail_in;
		zr = inflate(&z, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END && !(zr == Z_BUF_ERROR && z.avail_in == 0)) {
			rc = registry__fail(REGISTRY_EFORMAT, "%s: damaged gzip stream (%s)", path,
			                    z.msg ? z.msg : "inflate failed");
			break;
		}
		if (zr == Z_BUF_ERROR)
			zr = Z_OK;
		size_t produced = LAYER_IO_BUFFER - z.avail_out;
		if (produced && (rc = registry__hash_update(h, outbuf, produced)))
			break;
		if ((rc = registry__watch_step(w, (int64_t)(before - z.avail_in))))
			break;
	}
	inflateEnd(&z);
	return rc;
}

int registry__layer_diff_id_fd(char out[REGISTRY_DIGEST_STRING_MAX], int fd, const char *path, int *gzipped,
                               registry__watch *w)
{
	if (gzipped)
		*gzipped = 0;
	unsigned char *in = malloc(LAYER_IO_BUFFER), *outbuf = malloc(LAYER_IO_BUFFER);
	registry__hash h;
	int rc = (!in || !outbuf) ? oom() : registry__hash_init(&h, REGISTRY_DIGEST_SHA256);
	if (!rc) {
		ssize_t r = read_some(fd, in, LAYER_IO_BUFFER);
		if (r < 0) {
			rc = registry__fail(REGISTRY_EIO, "reading %s: %s", path, registry__errno_text(errno));
		} else if (r >= 2 && in[0] == 0x1f && in[1] == 0x8b) {
			if (gzipped)
				*gzipped = 1;
			rc = gunzip_hash(fd, in, (size_t)r, outbuf, &h, path, w);
		} else {
			/* Not gzip: an uncompressed tar is its own diff. */
			while (!rc && r > 0) {
				rc = registry__hash_update(&h, in, (size_t)r);
				if (!rc)
					rc = registry__watch_step(w, r);
				if (!rc && (r = read_some(fd, in, LAYER_IO_BUFFER)) < 0)
					rc = registry__fail(REGISTRY_EIO, "reading %s: %s", path, registry__errno_text(errno));
			}
		}
		if (!rc)
			rc = registry__hash_final(&h, out);
		registry__hash_cleanup(&h);
	}
	free(in);
	free(outbuf);
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
	int fd;
	int64_t size;
	int rc = registry__store_blob_open(store, digest, &fd, &size);
	if (rc)
		return rc;
	char what[REGISTRY_DIGEST_STRING_MAX + 8];
	snprintf(what, sizeof(what), "blob %s", digest);
	rc = registry__layer_diff_id_fd(out, fd, what, gzipped, w);
	close(fd);
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
#endif


/*
 * Where the files of a `docker load` image go: a folder or a tarball, both
 * built under a temporary name next to the destination and renamed into
 * place only when complete, so a failed export leaves nothing half-written.
 * File contents are streamed from the store (or hard-linked into a folder
 * when allowed), never held whole in memory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef REGISTRY_HAVE_LIBARCHIVE
#include "archive_lazy.h"
#endif

#include "pull_impl.h"
#include "store/store_blob.h"

#define SINK_IO_BUFFER (1u << 20)
/* A deferred sink's piece: a read and a write between two looks at the
 * step's budget (about 0.1-0.3 ms here). */
#define SINK_PIECE ((size_t)256 << 10)

enum { OP_DIR, OP_FILE, OP_BLOB };

/* A deferred write (registry__sink_defer): what to make, in order. */
typedef struct sink_op {
	struct sink_op *next;
	int kind;
	char *name;
	char *data;   /* OP_FILE: its bytes; OP_BLOB: the blob's digest */
	size_t len;
} sink_op;

/* A file being streamed (registry__sink_copy, or a deferred blob). */
typedef struct sink_stream {
	const char *name;
	int in, out; /* out: a folder's file, or -1 for the tarball */
	int64_t size, total;
} sink_stream;

struct registry__sink {
	int format;
	int may_link;
	char *dest;
	char *tmp;
	int dirfd; /* folder: the temporary folder */
	int fd;    /* tarball: the temporary file */
#ifdef REGISTRY_HAVE_LIBARCHIVE
	struct archive *a;
#endif
	int committed;
	/* Deferred (registry__sink_defer): the writes queued, run in slices by
	 * registry__sink_run; the blob at hand streamed over several. */
	int deferred;
	registry_store *store;
	registry__watch watch;
	sink_op *head, **tail;
	sink_stream cur;
	int cur_open;
	char *buf;
};

static int oom(void)
{
	return registry__fail(REGISTRY_ENOMEM, "out of memory");
}

static int io_fail(const char *what, const char *path)
{
	int err = errno;
	return registry__fail(err == ENOENT ? REGISTRY_ENOTFOUND : REGISTRY_EIO, "%s %s: %s", what, path,
	                      registry__errno_text(err));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

static int remove_quietly(const char *path)
{
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT ? -1 : 0;
}

int registry__remove_tree(const char *path, int quiet)
{
	if (remove_quietly(path) == 0)
		return 0;
	return quiet ? REGISTRY_EIO : io_fail("removing", path);
}

static int dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return -1;
	struct dirent *e;
	int empty = 1;
	while (empty && (e = readdir(d)))
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty;
}

/* mkdir -p of the folder that will hold @dest. */
static int make_parent(const char *dest)
{
	char *copy = registry__strdup(dest);
	if (!copy)
		return oom();
	char *slash = strrchr(copy, '/');
	int rc = 0;
	if (slash && slash != copy) {
		*slash = '\0';
		for (char *p = copy + 1; !rc && p <= slash; p++) {
			if (*p != '/' && *p != '\0')
				continue;
			char saved = *p;
			*p = '\0';
			if (mkdir(copy, 0755) != 0 && errno != EEXIST)
				rc = io_fail("creating", copy);
			*p = saved;
		}
	}
	free(copy);
	return rc;
}

int registry__dest_path(const char *dest, char **out)
{
	*out = NULL;
	size_t n = dest ? strlen(dest) : 0;
	while (n > 1 && dest[n - 1] == '/')
		n--;
	if (n == 0 || (n == 1 && dest[0] == '/') || (n == 1 && dest[0] == '.') || (n == 2 && memcmp(dest, "..", 2) == 0) ||
	    (n >= 2 && memcmp(dest + n - 2, "/.", 2) == 0) || (n >= 3 && memcmp(dest + n - 3, "/..", 3) == 0))
		return registry__fail(REGISTRY_EINVAL, "\"%s\" cannot be replaced by an export", dest ? dest : "");
	return (*out = registry__strndup(dest, n)) ? 0 : oom();
}

int registry__sink_check_dest(const char *dest, int format)
{
	if (format != REGISTRY_IMAGE_FORMAT_DOCKER_DIR && format != REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE)
		return registry__fail(REGISTRY_EINVAL, "export: unknown format %d", format);
#ifndef REGISTRY_HAVE_LIBARCHIVE
	if (format == REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE)
		return registry__fail(REGISTRY_EUNSUPPORTED, "built without libarchive: cannot write %s", dest);
#endif
	struct stat st;
	if (lstat(dest, &st) != 0)
		return errno == ENOENT ? 0 : io_fail("checking", dest);
	if (format == REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE) {
		if (!S_ISREG(st.st_mode))
			return registry__fail(REGISTRY_ECONFLICT, "%s exists and is not a regular file", dest);
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return registry__fail(REGISTRY_ECONFLICT, "%s exists and is not a folder", dest);
	int empty = dir_is_empty(dest);
	if (empty < 0)
		return io_fail("reading", dest);
	return empty ? 0 : registry__fail(REGISTRY_ECONFLICT, "%s exists and is not empty", dest);
}

int registry__sink_open(registry__sink **out, const char *dest, int format, int may_link)
{
	*out = NULL;
	int rc = registry__sink_check_dest(dest, format);
	if (rc || (rc = make_parent(dest)))
		return rc;
	registry__sink *s = calloc(1, sizeof(*s));
	if (!s)
		return oom();
	s->format = format;
	s->may_link = may_link;
	s->dirfd = -1;
	s->fd = -1;
	static unsigned counter;
	registry__buf tmp;
	registry__buf_init(&tmp, 0);
	if (!(s->dest = registry__strdup(dest)) ||
	    registry__buf_printf(&tmp, "%s.tmp-%ld-%u", dest, (long)getpid(),
	                        __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED)) != 0) {
		registry__buf_free(&tmp);
		registry__sink_free(s);
		return oom();
	}
	s->tmp = registry__buf_detach(&tmp);
	if (format == REGISTRY_IMAGE_FORMAT_DOCKER_DIR) {
		if (mkdir(s->tmp, 0755) != 0) {
			rc = io_fail("creating", s->tmp);
			free(s->tmp);
			s->tmp = NULL; /* not ours to remove */
		} else if ((s->dirfd = open(s->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			rc = io_fail("opening", s->tmp);
		}
	} else {
#ifdef REGISTRY_HAVE_LIBARCHIVE
		if ((rc = registry__archive_load("writing a docker-archive tarball"))) {
			free(s->tmp);
			s->tmp = NULL;
		} else if ((s->fd = open(s->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0) {
			rc = io_fail("creating", s->tmp);
			free(s->tmp);
			s->tmp = NULL;
		} else if (!(s->a = archive_write_new())) {
			rc = oom();
		} else if (archive_write_set_format_pax_restricted(s->a) != ARCHIVE_OK ||
		           archive_write_set_bytes_in_last_block(s->a, 1) != ARCHIVE_OK ||
		           archive_write_open_fd(s->a, s->fd) != ARCHIVE_OK) {
			rc = registry__fail(REGISTRY_EIO, "starting tarball %s: %s", s->tmp, archive_error_string(s->a));
		}
#endif
	}
	if (rc) {
		registry__sink_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

#ifdef REGISTRY_HAVE_LIBARCHIVE
static int tar_header(registry__sink *s, const char *name, int is_dir, int64_t size)
{
	struct archive_entry *e = archive_entry_new();
	if (!e)
		return oom();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, is_dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(e, is_dir ? 0755 : 0644);
	archive_entry_set_size(e, is_dir ? 0 : size);
	archive_entry_set_mtime(e, 0, 0); /* the same image gives the same tarball */
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	int r = archive_write_header(s->a, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK)
		return registry__fail(REGISTRY_EIO, "writing %s into %s: %s", name, s->tmp, archive_error_string(s->a));
	return 0;
}

static int tar_data(registry__sink *s, const char *name, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		la_ssize_t w = archive_write_data(s->a, p, len);
		if (w <= 0)
			return registry__fail(REGISTRY_EIO, "writing %s into %s: %s", name, s->tmp,
			                      archive_error_string(s->a));
		p += w;
		len -= (size_t)w;
	}
	return 0;
}
#endif

/* Queue a deferred write (a copy of @name and of @len bytes of @data). */
static int queue(registry__sink *s, int kind, const char *name, const void *data, size_t len)
{
	sink_op *op = calloc(1, sizeof(*op));
	if (!op)
		return oom();
	op->kind = kind;
	op->len = len;
	op->name = registry__strdup(name);
	op->data = malloc(len ? len : 1);
	if (!op->name || !op->data) {
		free(op->name);
		free(op->data);
		free(op);
		return oom();
	}
	if (len)
		memcpy(op->data, data, len);
	*s->tail = op;
	s->tail = &op->next;
	return 0;
}

static int sink_dir_now(registry__sink *s, const char *name);
static int sink_file_now(registry__sink *s, const char *name, const void *data, size_t len);

int registry__sink_dir(registry__sink *s, const char *name)
{
	return s->deferred ? queue(s, OP_DIR, name, NULL, 0) : sink_dir_now(s, name);
}

int registry__sink_file(registry__sink *s, const char *name, const void *data, size_t len)
{
	return s->deferred ? queue(s, OP_FILE, name, data, len) : sink_file_now(s, name, data, len);
}

static int sink_dir_now(registry__sink *s, const char *name)
{
	if (s->format == REGISTRY_IMAGE_FORMAT_DOCKER_DIR) {
		if (mkdirat(s->dirfd, name, 0755) != 0 && errno != EEXIST)
			return io_fail("creating folder", name);
		return 0;
	}
#ifdef REGISTRY_HAVE_LIBARCHIVE
	char path[300];
	snprintf(path, sizeof(path), "%s/", name);
	return tar_header(s, path, 1, 0);
#else
	return registry__fail(REGISTRY_EUNSUPPORTED, "tar output needs libarchive (built without it)");
#endif
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int sink_file_now(registry__sink *s, const char *name, const void *data, size_t len)
{
	if (s->format == REGISTRY_IMAGE_FORMAT_DOCKER_DIR) {
		int fd = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0)
			return io_fail("creating", name);
		int bad = write_all(fd, data, len) != 0;
		if (close(fd) != 0)
			bad = 1;
		return bad ? io_fail("writing", name) : 0;
	}
#ifdef REGISTRY_HAVE_LIBARCHIVE
	int rc = tar_header(s, name, 0, (int64_t)len);
	return rc ? rc : tar_data(s, name, data, len);
#else
	return registry__fail(REGISTRY_EUNSUPPORTED, "tar output needs libarchive (built without it)");
#endif
}

/* Begin streaming @in (@size bytes) as @name: 1 when a hard link made the
 * file already, 0 to stream it (stream_piece), or a failure. */
static int stream_begin(registry__sink *s, sink_stream *st, const char *name, int in, int64_t size)
{
	*st = (sink_stream){.name = name, .in = in, .out = -1, .size = size};
	if (s->format == REGISTRY_IMAGE_FORMAT_DOCKER_DIR && s->may_link) {
		/* The open file itself, not a name that could have changed since. */
		char self[64];
		snprintf(self, sizeof(self), "/proc/self/fd/%d", in);
		if (linkat(AT_FDCWD, self, s->dirfd, name, AT_SYMLINK_FOLLOW) == 0)
			return 1;
	}
	if (lseek(in, 0, SEEK_SET) < 0)
		return io_fail("seeking in the blob for", name);
	if (s->format == REGISTRY_IMAGE_FORMAT_DOCKER_DIR) {
		st->out = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
		return st->out < 0 ? io_fail("creating", name) : 0;
	}
#ifdef REGISTRY_HAVE_LIBARCHIVE
	return tar_header(s, name, 0, size);
#else
	return registry__fail(REGISTRY_EUNSUPPORTED, "tar output needs libarchive (built without it)");
#endif
}

/* The next piece (up to @len bytes through @buf): 1 while more follows, 0
 * at the end of @in, or a failure. */
static int stream_piece(registry__sink *s, sink_stream *st, char *buf, size_t len, registry__watch *w)
{
	ssize_t r;
	do
		r = read(st->in, buf, len);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return io_fail("reading the blob for", st->name);
	if (r == 0)
		return 0;
	if (st->total + r > st->size)
		return registry__fail(REGISTRY_EIO, "the blob for %s grew while it was copied", st->name);
	st->total += r;
	int rc = 0;
	if (st->out >= 0) {
		if (write_all(st->out, buf, (size_t)r) != 0)
			rc = io_fail("writing", st->name);
	} else {
#ifdef REGISTRY_HAVE_LIBARCHIVE
		rc = tar_data(s, st->name, buf, (size_t)r);
#endif
	}
	if (!rc)
		rc = registry__watch_step(w, r);
	return rc ? rc : 1;
}

/* The stream ended with @rc: the size checked, the folder's file closed. */
static int stream_end(sink_stream *st, int rc)
{
	if (!rc && st->total != st->size)
		rc = registry__fail(REGISTRY_EIO, "the blob for %s: %lld bytes, expected %lld", st->name,
		                    (long long)st->total, (long long)st->size);
	if (st->out >= 0 && close(st->out) != 0 && !rc)
		rc = io_fail("writing", st->name);
	st->out = -1;
	return rc;
}

int registry__sink_copy(registry__sink *s, const char *name, int in, int64_t size, registry__watch *w)
{
	sink_stream st;
	int rc = stream_begin(s, &st, name, in, size);
	if (rc == 1)
		return 0;
	char *buf = rc ? NULL : malloc(SINK_IO_BUFFER);
	if (!rc && !buf)
		rc = oom();
	while (!rc && (rc = stream_piece(s, &st, buf, SINK_IO_BUFFER, w)) == 1)
		rc = 0;
	free(buf);
	return stream_end(&st, rc);
}

/* Blob @digest of @store, opened as the store opens its files, and
 * watched as a blob of its own. *in open on success. */
static int blob_open(registry_store *store, const char *digest, registry__watch *w, int *in, int64_t *size)
{
	int rc = registry__store_blob_open(store, digest, in, size);
	if (rc == REGISTRY_ENOTFOUND)
		rc = registry__fail(rc, "blob %s is not in the store (a foreign layer?)", digest);
	if (!rc)
		registry__watch_blob(w, digest, *size);
	return rc;
}

int registry__sink_blob(registry__sink *s, registry_store *store, const char *name, const char *digest,
                        registry__watch *w)
{
	if (s->deferred)
		return queue(s, OP_BLOB, name, digest, strlen(digest) + 1);
	int fd = -1;
	int64_t size = 0;
	int rc = blob_open(store, digest, w, &fd, &size);
	if (rc)
		return rc;
	rc = registry__sink_copy(s, name, fd, size, w);
	close(fd);
	return rc ? rc : registry__watch_blob_done(w);
}

int registry__sink_finish(registry__sink *s, int *sync_fd)
{
	*sync_fd = s->dirfd;
	if (s->format == REGISTRY_IMAGE_FORMAT_DOCKER_DIR)
		return 0;
#ifdef REGISTRY_HAVE_LIBARCHIVE
	if (archive_write_close(s->a) != ARCHIVE_OK)
		return registry__fail(REGISTRY_EIO, "finishing %s: %s", s->tmp, archive_error_string(s->a));
	archive_write_free(s->a);
	s->a = NULL;
#endif
	*sync_fd = s->fd;
	return 0;
}

int registry__sink_place(registry__sink *s, int sync_err)
{
	if (sync_err) {
		errno = sync_err;
		return io_fail("syncing", s->tmp);
	}
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->fd >= 0)
		close(s->fd);
	s->dirfd = s->fd = -1;
	/* A folder replaces an empty folder; a tarball replaces a file. */
	if (rename(s->tmp, s->dest) != 0) {
		if (errno == ENOTEMPTY || errno == EEXIST || errno == EISDIR || errno == ENOTDIR)
			return registry__fail(REGISTRY_ECONFLICT, "%s appeared meanwhile and cannot be replaced", s->dest);
		return io_fail("renaming into", s->dest);
	}
	s->committed = 1;
	return 0;
}

int registry__sink_commit(registry__sink *s)
{
	int fd = -1;
	int rc = registry__sink_finish(s, &fd);
	if (rc)
		return rc;
	return registry__sink_place(s, fsync(fd) != 0 ? errno : 0);
}

/* ---- deferred: the writes queued, then run in slices ---- */

void registry__sink_defer(registry__sink *s, registry_store *store, const registry__watch *w)
{
	s->deferred = 1;
	s->store = store;
	if (w)
		s->watch = *w;
	s->tail = &s->head;
}

registry__watch *registry__sink_watch(registry__sink *s)
{
	return &s->watch;
}

/* The blob at the queue's head, a piece at a time: 1 while more follows,
 * 0 once it is written (its watch done), or a failure. */
static int blob_slice(registry__sink *s, const sink_op *op)
{
	int rc = 0;
	if (!s->cur_open) {
		int fd = -1;
		int64_t size = 0;
		if ((rc = blob_open(s->store, op->data, &s->watch, &fd, &size)))
			return rc;
		s->cur_open = 1;
		rc = stream_begin(s, &s->cur, op->name, fd, size);
		if (rc == 1) /* hard-linked: nothing to stream */
			s->cur.total = size;
		rc = rc == 1 ? 0 : rc == 0 ? 1 : rc;
	} else {
		rc = stream_piece(s, &s->cur, s->buf, SINK_PIECE, &s->watch);
	}
	if (rc == 1)
		return 1;
	rc = stream_end(&s->cur, rc);
	close(s->cur.in);
	s->cur_open = 0;
	return rc ? rc : registry__watch_blob_done(&s->watch);
}

int registry__sink_run(registry__sink *s, int (*spent)(void *ud), void *ud)
{
	if (!s->buf && !(s->buf = malloc(SINK_PIECE)))
		return oom();
	while (s->head) {
		sink_op *op = s->head;
		int rc = op->kind == OP_DIR ? sink_dir_now(s, op->name)
		         : op->kind == OP_FILE ? sink_file_now(s, op->name, op->data, op->len)
		                               : blob_slice(s, op);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			s->head = op->next;
			if (!s->head)
				s->tail = &s->head;
			free(op->name);
			free(op->data);
			free(op);
		}
		if (spent && spent(ud))
			return s->head ? 1 : 0;
	}
	return 0;
}

void registry__sink_free(registry__sink *s)
{
	if (!s)
		return;
#ifdef REGISTRY_HAVE_LIBARCHIVE
	if (s->a)
		archive_write_free(s->a);
#endif
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->fd >= 0)
		close(s->fd);
	if (s->cur_open) {
		stream_end(&s->cur, REGISTRY_ECANCELED);
		close(s->cur.in);
	}
	while (s->head) {
		sink_op *op = s->head;
		s->head = op->next;
		free(op->name);
		free(op->data);
		free(op);
	}
	free(s->buf);
	if (!s->committed && s->tmp)
		remove_quietly(s->tmp); /* the caller's error is the one to report */
	free(s->tmp);
	free(s->dest);
	free(s);
}

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

#define SINK_IO_BUFFER (1u << 20)

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

int registry__sink_dir(registry__sink *s, const char *name)
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

int registry__sink_file(registry__sink *s, const char *name, const void *data, size_t len)
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

int registry__sink_copy(registry__sink *s, const char *name, int in, int64_t size, registry__watch *w)
{
	if (s->format == REGISTRY_IMAGE_FORMAT_DOCKER_DIR && s->may_link) {
		/* The open file itself, not a name that could have changed since. */
		char self[64];
		snprintf(self, sizeof(self), "/proc/self/fd/%d", in);
		if (linkat(AT_FDCWD, self, s->dirfd, name, AT_SYMLINK_FOLLOW) == 0)
			return 0;
	}
	if (lseek(in, 0, SEEK_SET) < 0)
		return io_fail("seeking in the blob for", name);
	int out = -1, rc = 0;
	if (s->format == REGISTRY_IMAGE_FORMAT_DOCKER_DIR) {
		out = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (out < 0)
			rc = io_fail("creating", name);
	} else {
#ifdef REGISTRY_HAVE_LIBARCHIVE
		rc = tar_header(s, name, 0, size);
#else
		rc = registry__fail(REGISTRY_EUNSUPPORTED, "tar output needs libarchive (built without it)");
#endif
	}
	char *buf = rc ? NULL : malloc(SINK_IO_BUFFER);
	if (!rc && !buf)
		rc = oom();
	int64_t total = 0;
	while (!rc) {
		ssize_t r = read(in, buf, SINK_IO_BUFFER);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = io_fail("reading the blob for", name);
			break;
		}
		if (r == 0)
			break;
		if (total + r > size) {
			rc = registry__fail(REGISTRY_EIO, "the blob for %s grew while it was copied", name);
			break;
		}
		total += r;
		if (out >= 0) {
			if (write_all(out, buf, (size_t)r) != 0)
				rc = io_fail("writing", name);
		} else {
#ifdef REGISTRY_HAVE_LIBARCHIVE
			rc = tar_data(s, name, buf, (size_t)r);
#endif
		}
		if (!rc)
			rc = registry__watch_step(w, r);
	}
	if (!rc && total != size)
		rc = registry__fail(REGISTRY_EIO, "the blob for %s: %lld bytes, expected %lld", name, (long long)total,
		                    (long long)size);
	free(buf);
	if (out >= 0 && close(out) != 0 && !rc)
		rc = io_fail("writing", name);
	return rc;
}

int registry__sink_commit(registry__sink *s)
{
	if (s->format == REGISTRY_IMAGE_FORMAT_DOCKER_DIR) {
		if (fsync(s->dirfd) != 0)
			return io_fail("syncing", s->tmp);
		close(s->dirfd);
		s->dirfd = -1;
	} else {
#ifdef REGISTRY_HAVE_LIBARCHIVE
		if (archive_write_close(s->a) != ARCHIVE_OK)
			return registry__fail(REGISTRY_EIO, "finishing %s: %s", s->tmp, archive_error_string(s->a));
		archive_write_free(s->a);
		s->a = NULL;
		if (fsync(s->fd) != 0)
			return io_fail("syncing", s->tmp);
		close(s->fd);
		s->fd = -1;
#endif
	}
	/* A folder replaces an empty folder; a tarball replaces a file. */
	if (rename(s->tmp, s->dest) != 0) {
		if (errno == ENOTEMPTY || errno == EEXIST || errno == EISDIR || errno == ENOTDIR)
			return registry__fail(REGISTRY_ECONFLICT, "%s appeared meanwhile and cannot be replaced", s->dest);
		return io_fail("renaming into", s->dest);
	}
	s->committed = 1;
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
	if (!s->committed && s->tmp)
		remove_quietly(s->tmp); /* the caller's error is the one to report */
	free(s->tmp);
	free(s->dest);
	free(s);
}

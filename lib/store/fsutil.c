/*
 * Small file-system helpers of the store: whole reads with a cap, writes that
 * finish, directories, flock, temporary files and the final rename.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "digest/hash.h"
#include "store_impl.h"

int registry__store_io_fail(int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return registry__fail(err == ENOMEM ? REGISTRY_ENOMEM : REGISTRY_EIO, "%s: %s", msg, registry__errno_text(err));
}

int registry__store_check_digest(const char *digest)
{
	if (!digest)
		return registry__fail(REGISTRY_EINVAL, "store: NULL digest");
	return registry__digest_validate_len(digest, strlen(digest));
}

int registry__store_alg_len(const char *digest)
{
	return (int)strcspn(digest, ":");
}

void registry__store_blob_rel(char out[STORE_REL_MAX], const char *digest)
{
	snprintf(out, STORE_REL_MAX, "%.*s/%s", registry__store_alg_len(digest), digest, registry__digest_hex(digest));
}

void registry__store_partial_rel(char out[STORE_REL_MAX], const char *digest)
{
	snprintf(out, STORE_REL_MAX, STORE_PARTIAL_DIR "/%.*s/%s", registry__store_alg_len(digest), digest,
	         registry__digest_hex(digest));
}

int registry__store_write_all(int fd, const void *data, size_t len)
{
	return registry__store_pwrite_all(fd, data, len, -1);
}

int registry__store_pwrite_all(int fd, const void *data, size_t len, int64_t off)
{
	const char *p = data;
	while (len) {
		ssize_t n = off < 0 ? write(fd, p, len) : pwrite(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (n == 0)
			return EIO;
		p += n;
		len -= (size_t)n;
		if (off >= 0)
			off += n;
	}
	return 0;
}

ssize_t registry__store_read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Open one component below @dirfd without following a link; -1 with errno. */
static int open_component(int dirfd, const char *name, int dir)
{
	int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW;
	/* O_NONBLOCK: opening a FIFO (or a device) must not wait for a peer;
	 * it has no effect on a regular file. */
	flags |= dir ? O_DIRECTORY : O_NONBLOCK;
	return openat(dirfd, name, flags);
}

int registry__store_open_regular_at(int dirfd, const char *rel, const char *what, int *fd_out, struct stat *st)
{
	int rc = registry__store_open_regular_quiet_at(dirfd, rel, what, fd_out, st);
	return rc == STORE_ABSENT ? registry__fail(REGISTRY_ENOTFOUND, "store: %s not found", what) : rc;
}

int registry__store_open_regular_quiet_at(int dirfd, const char *rel, const char *what, int *fd_out, struct stat *st)
{
	*fd_out = -1;
	char path[STORE_REL_MAX];
	size_t len = strlen(rel);
	if (len >= sizeof(path))
		return registry__fail(REGISTRY_EINVAL, "store: path of %s too long", what);
	memcpy(path, rel, len + 1);
	int cur = dirfd;
	char *name = path;
	for (char *slash; (slash = strchr(name, '/')); name = slash + 1) {
		*slash = '\0';
		int next = open_component(cur, name, 1);
		int err = errno;
		if (cur != dirfd)
			close(cur);
		if (next < 0) {
			if (err == ENOENT)
				return STORE_ABSENT;
			if (err == ELOOP || err == ENOTDIR)
				return registry__fail(REGISTRY_EFORMAT, "store: %s: %s is a symbolic link or not a "
				                      "directory (the store follows no links)", what, name);
			return registry__store_io_fail(err, "store: cannot open %s", what);
		}
		cur = next;
	}
	int fd = open_component(cur, name, 0);
	int err = errno;
	if (cur != dirfd)
		close(cur);
	if (fd < 0) {
		if (err == ENOENT)
			return STORE_ABSENT;
		if (err == ELOOP)
			return registry__fail(REGISTRY_EFORMAT, "store: %s is a symbolic link (the store follows no "
			                      "links)", what);
		return registry__store_io_fail(err, "store: cannot open %s", what);
	}
	if (fstat(fd, st) != 0) {
		err = errno;
		close(fd);
		return registry__store_io_fail(err, "store: cannot stat %s", what);
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return registry__fail(REGISTRY_EFORMAT, "store: %s is not a regular file", what);
	}
	*fd_out = fd;
	return 0;
}

int registry__store_read_file_at(int dirfd, const char *rel, size_t max, const char *what, char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	int fd;
	struct stat st = {0};
	int rc = registry__store_open_regular_at(dirfd, rel, what, &fd, &st);
	if (rc)
		return rc;
	if (st.st_size < 0 || (uint64_t)st.st_size > max) {
		close(fd);
		return registry__fail(REGISTRY_ETOOLARGE, "store: %s has %lld bytes, more than the limit of %zu",
		                      what, (long long)st.st_size, max);
	}
	/* One byte more than the size fstat saw, to notice a file that grows under us. */
	size_t cap = (size_t)st.st_size + 1;
	char *buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	}
	ssize_t n = registry__store_read_full(fd, buf, cap);
	int err = n < 0 ? (int)-n : 0;
	close(fd);
	if (err) {
		free(buf);
		return registry__store_io_fail(err, "store: cannot read %s", what);
	}
	if ((size_t)n > max) {
		free(buf);
		return registry__fail(REGISTRY_ETOOLARGE, "store: %s grew past the limit of %zu bytes", what, max);
	}
	buf[n] = '\0';
	*data = buf;
	*len = (size_t)n;
	return 0;
}

int registry__store_mkdirs_at(int dirfd, const char *rel)
{
	char path[STORE_REL_MAX];
	size_t n = strlen(rel);
	if (n >= sizeof(path))
		return registry__fail(REGISTRY_EINVAL, "store: path too long");
	memcpy(path, rel, n + 1);
	for (char *p = path;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (path[0] && mkdirat(dirfd, path, 0755) != 0 && errno != EEXIST)
			return registry__store_io_fail(errno, "store: cannot create directory %s", path);
		*p = saved;
		if (!saved)
			return 0;
	}
}

int registry__store_fsync_dir_at(int dirfd, const char *rel)
{
	int fd = openat(dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return registry__store_io_fail(errno, "store: cannot open directory %s", rel);
	int rc = 0;
	if (fsync(fd) != 0 && errno != EINVAL) /* some file systems cannot sync directories */
		rc = registry__store_io_fail(errno, "store: cannot fsync directory %s", rel);
	close(fd);
	return rc;
}

int registry__store_flock(int fd, int op)
{
	while (flock(fd, op) != 0) {
		if (errno != EINTR)
			return errno;
	}
	return 0;
}

int registry__store_temp_open(registry_store *s, char rel[STORE_REL_MAX], int *fd)
{
	int rc = registry__store_mkdirs_at(s->blobs_fd, STORE_PARTIAL_DIR);
	if (rc)
		return rc;
	for (int attempt = 0; attempt < 100; attempt++) {
		unsigned char rnd[8];
		char hex[sizeof(rnd) * 2 + 1];
		randombytes_buf(rnd, sizeof(rnd));
		sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
		snprintf(rel, STORE_REL_MAX, STORE_PARTIAL_DIR "/tmp-%ld-%u-%s", (long)getpid(),
		         s->temp_counter++, hex);
		*fd = openat(s->blobs_fd, rel, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (*fd >= 0)
			return 0;
		if (errno != EEXIST)
			return registry__store_io_fail(errno, "store: cannot create a temporary file in blobs/" STORE_PARTIAL_DIR);
	}
	return registry__fail(REGISTRY_EIO, "store: cannot find a free temporary file name");
}

int registry__store_install_renamed(registry_store *s, const char *rel, const char *digest, int *dir_fd)
{
	char alg[STORE_REL_MAX], final[STORE_REL_MAX];
	snprintf(alg, sizeof(alg), "%.*s", registry__store_alg_len(digest), digest);
	registry__store_blob_rel(final, digest);
	int rc;
	if ((rc = registry__store_mkdirs_at(s->blobs_fd, alg)))
		return rc;
	if (renameat(s->blobs_fd, rel, s->blobs_fd, final) != 0)
		return registry__store_io_fail(errno, "store: cannot rename blobs/%s to blobs/%s", rel, final);
	if (!dir_fd)
		return registry__store_fsync_dir_at(s->blobs_fd, alg);
	if ((*dir_fd = openat(s->blobs_fd, alg, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return registry__store_io_fail(errno, "store: cannot open directory %s", alg);
	return 0;
}

int registry__store_install(registry_store *s, int fd, const char *rel, const char *digest)
{
	if (fsync(fd) != 0)
		return registry__store_io_fail(errno, "store: cannot fsync the data of %s", digest);
	return registry__store_install_renamed(s, rel, digest, NULL);
}

int registry__store_hash_fd(int fd, registry__hash *h, int64_t *hashed)
{
	char *buf = malloc(STORE_IO_BUFFER);
	if (!buf)
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	int64_t total = 0;
	int rc = 0;
	for (;;) {
		ssize_t n = registry__store_read_full(fd, buf, STORE_IO_BUFFER);
		if (n < 0) {
			rc = registry__store_io_fail((int)-n, "store: read failed");
			break;
		}
		if (n == 0)
			break;
		if ((rc = registry__hash_update(h, buf, (size_t)n)))
			break;
		total += n;
		if ((size_t)n < STORE_IO_BUFFER)
			break;
	}
	free(buf);
	if (hashed)
		*hashed = total;
	return rc;
}

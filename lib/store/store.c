/*
 * Opening and creating a store: the directory, oci-layout, blobs/ and its
 * lifetime lock, index.json.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "store_impl.h"

#define LAYOUT_CONTENT "{\"imageLayoutVersion\":\"1.0.0\"}"

/* mkdir -p: every missing component of @path. */
static int make_dirs(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	int rc = 0;
	for (char *p = copy + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
			rc = registry__store_io_fail(errno, "store: cannot create directory %s", copy);
			break;
		}
		*p = saved;
		if (!saved)
			break;
	}
	free(copy);
	return rc;
}

/*
 * Write @name under @dirfd only if it does not exist yet: a complete
 * temporary file is hard-linked to the name, so another process creating
 * the same store at once can never see a half-written file, and the first
 * one wins.
 */
static int write_new_file_at(int dirfd, const char *name, const void *data, size_t len)
{
	char tmp[STORE_REL_MAX];
	unsigned char rnd[8];
	char hex[sizeof(rnd) * 2 + 1];
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	snprintf(tmp, sizeof(tmp), ".%s.tmp-%ld-%s", name, (long)getpid(), hex);
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return registry__store_io_fail(errno, "store: cannot create %s", tmp);
	int err = registry__store_write_all(fd, data, len);
	if (!err && fsync(fd) != 0)
		err = errno;
	close(fd);
	if (!err && linkat(dirfd, tmp, dirfd, name, 0) != 0) {
		err = errno;
		if (err == EEXIST) {
			err = 0;
		} else if (err == EPERM || err == ENOTSUP || err == EOPNOTSUPP) {
			/* No hard links here: check, then rename (a narrower race). */
			struct stat st;
			err = 0;
			if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 &&
			    renameat(dirfd, tmp, dirfd, name) != 0)
				err = errno;
		}
	}
	unlinkat(dirfd, tmp, 0);
	if (err)
		return registry__store_io_fail(err, "store: cannot write %s", name);
	return registry__store_fsync_dir_at(dirfd, ".");
}

static int create_layout(int root_fd)
{
	int rc = registry__store_mkdirs_at(root_fd, "blobs/sha256");
	if (rc)
		return rc;
	/* index.json first: oci-layout marks a complete layout. */
	if (faccessat(root_fd, "index.json", F_OK, AT_SYMLINK_NOFOLLOW) != 0) {
		registry_manifest_builder *b = NULL;
		registry_manifest *m = NULL;
		if ((rc = registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_OCI_INDEX)) ||
		    (rc = registry_manifest_builder_build(&m, b))) {
			registry_manifest_builder_free(b);
			return rc;
		}
		registry_manifest_builder_free(b);
		size_t len;
		const void *raw = registry_manifest_raw(m, &len);
		rc = write_new_file_at(root_fd, "index.json", raw, len);
		registry_manifest_free(m);
		if (rc)
			return rc;
	}
	return write_new_file_at(root_fd, "oci-layout", LAYOUT_CONTENT, strlen(LAYOUT_CONTENT));
}

/* oci-layout must be {"imageLayoutVersion": "1.0.0"} (other keys are ignored). */
static int check_layout_file(int root_fd, const char *path)
{
	char *data;
	size_t len;
	int rc = registry__store_read_file_at(root_fd, "oci-layout", STORE_LAYOUT_FILE_MAX, "oci-layout", &data, &len);
	if (rc == REGISTRY_ENOTFOUND)
		return registry__fail(REGISTRY_ENOTFOUND, "store: %s is not an OCI image layout (no oci-layout file)",
		                      path);
	if (rc)
		return rc;
	cJSON *doc = cJSON_ParseWithLength(data, len);
	free(data);
	const cJSON *v = cJSON_IsObject(doc) ? cJSON_GetObjectItemCaseSensitive(doc, "imageLayoutVersion") : NULL;
	if (!v || !cJSON_IsString(v))
		rc = registry__fail(REGISTRY_EFORMAT,
		                    "store: %s/oci-layout is not a JSON object with an imageLayoutVersion string", path);
	else if (strcmp(v->valuestring, "1.0.0") != 0)
		rc = registry__fail(REGISTRY_EUNSUPPORTED, "store: %s/oci-layout: imageLayoutVersion \"%.32s\" "
		                    "is not supported (1.0.0 is)", path, v->valuestring);
	cJSON_Delete(doc);
	return rc;
}

/* blobs/ (created when missing), locked shared for the handle's lifetime. */
static int open_blobs(registry_store *s)
{
	s->blobs_fd = openat(s->root_fd, "blobs", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (s->blobs_fd < 0 && errno == ENOENT) {
		if (mkdirat(s->root_fd, "blobs", 0755) != 0 && errno != EEXIST)
			return registry__store_io_fail(errno, "store: cannot create %s/blobs", s->path);
		s->blobs_fd = openat(s->root_fd, "blobs", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (s->blobs_fd < 0 && (errno == ELOOP || errno == ENOTDIR))
		return registry__fail(REGISTRY_EFORMAT, "store: %s/blobs is a symbolic link or not a directory "
		                      "(the store follows no links)", s->path);
	if (s->blobs_fd < 0)
		return registry__store_io_fail(errno, "store: cannot open %s/blobs", s->path);
	/* Waits while registry_store_gc() runs elsewhere. */
	int err = registry__store_flock(s->blobs_fd, LOCK_SH);
	if (err)
		return registry__store_io_fail(err, "store: cannot lock %s/blobs", s->path);
	return 0;
}

static int open_root(registry_store *s, const char *path, unsigned int flags)
{
	int rc;
	if ((flags & REGISTRY_STORE_CREATE) && (rc = make_dirs(path)))
		return rc;
	char *abs = realpath(path, NULL);
	if (!abs) {
		if (errno == ENOENT)
			return registry__fail(REGISTRY_ENOTFOUND, "store: %s does not exist", path);
		if (errno == ENOTDIR)
			return registry__fail(REGISTRY_EFORMAT, "store: %s is not a directory", path);
		return registry__store_io_fail(errno, "store: cannot resolve %s", path);
	}
	s->path = abs;
	s->root_fd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->root_fd < 0) {
		if (errno == ENOTDIR)
			return registry__fail(REGISTRY_EFORMAT, "store: %s is not a directory", abs);
		return registry__store_io_fail(errno, "store: cannot open %s", abs);
	}
	return 0;
}

int registry_store_open(registry_store **out, const char *path, unsigned int flags)
{
	REGISTRY__ENTER(rc);
	if (!out || !path)
		return registry__fail(REGISTRY_EINVAL, "registry_store_open: NULL argument");
	*out = NULL;
	if (flags & ~REGISTRY_STORE_CREATE)
		return registry__fail(REGISTRY_EINVAL, "registry_store_open: unknown flags 0x%x",
		                      flags & ~REGISTRY_STORE_CREATE);
	if (!*path)
		return registry__fail(REGISTRY_EINVAL, "registry_store_open: empty path");
	registry_store *s = calloc(1, sizeof(*s));
	if (!s)
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	s->root_fd = s->blobs_fd = -1;
	if (!(rc = open_root(s, path, flags))) {
		if ((flags & REGISTRY_STORE_CREATE) &&
		    (faccessat(s->root_fd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) != 0 ||
		     faccessat(s->root_fd, "index.json", F_OK, AT_SYMLINK_NOFOLLOW) != 0))
			rc = create_layout(s->root_fd);
		if (!rc && !(rc = check_layout_file(s->root_fd, s->path)) && !(rc = open_blobs(s)))
			rc = registry__store_index_load(s, &s->index);
	}
	if (rc) {
		registry_store_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void registry_store_free(registry_store *s)
{
	if (!s)
		return;
	if (s->blobs_fd >= 0)
		close(s->blobs_fd); /* releases the shared lock */
	if (s->root_fd >= 0)
		close(s->root_fd);
	registry_manifest_free(s->index);
	registry__store_index_batch_free(s);
	free(s->path);
	free(s);
}

const char *registry_store_path(const registry_store *s)
{
	return s ? s->path : NULL;
}

/*
 * Blobs: existence, size, path, verified reads, and adding content from
 * memory or from a file (hashed before it gets its name).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_blob.h"
#include "store_impl.h"

static int enter_with_digest(const registry_store *s, const char *digest, const char *fn)
{
	REGISTRY__ENTER(rc);
	if (!s)
		return registry__fail(REGISTRY_EINVAL, "%s: NULL store", fn);
	return registry__store_check_digest(digest);
}

/* stat of a validated digest's blob (opened as push would read it): 1
 * present, 0 absent, <0 error (a link or not a regular file). */
static int stat_blob(const registry_store *s, const char *digest, struct stat *st)
{
	char rel[STORE_REL_MAX], what[STORE_REL_MAX + 8];
	registry__store_blob_rel(rel, digest);
	snprintf(what, sizeof(what), "blobs/%s", rel);
	int fd;
	int rc = registry__store_open_regular_quiet_at(s->blobs_fd, rel, what, &fd, st);
	if (rc == STORE_ABSENT)
		return 0;
	if (rc)
		return rc;
	close(fd);
	return 1;
}

int registry_store_has(const registry_store *s, const char *digest)
{
	int rc = enter_with_digest(s, digest, "registry_store_has");
	if (rc)
		return rc;
	struct stat st;
	return stat_blob(s, digest, &st);
}

int registry_store_blob_size(int64_t *size, const registry_store *s, const char *digest)
{
	int rc = enter_with_digest(s, digest, "registry_store_blob_size");
	if (rc)
		return rc;
	if (!size)
		return registry__fail(REGISTRY_EINVAL, "registry_store_blob_size: NULL size");
	struct stat st;
	if ((rc = stat_blob(s, digest, &st)) < 0)
		return rc;
	if (rc == 0)
		return registry__fail(REGISTRY_ENOTFOUND, "store: blob %s not found", digest);
	*size = (int64_t)st.st_size;
	return 0;
}

int registry_store_blob_path(char **path, const registry_store *s, const char *digest)
{
	int rc = enter_with_digest(s, digest, "registry_store_blob_path");
	if (rc)
		return rc;
	if (!path)
		return registry__fail(REGISTRY_EINVAL, "registry_store_blob_path: NULL path");
	*path = NULL;
	struct stat st;
	if ((rc = stat_blob(s, digest, &st)) < 0)
		return rc;
	if (rc == 0)
		return registry__fail(REGISTRY_ENOTFOUND, "store: blob %s not found", digest);
	char rel[STORE_REL_MAX];
	registry__store_blob_rel(rel, digest);
	registry__buf b;
	registry__buf_init(&b, 0);
	if (registry__buf_printf(&b, "%s/blobs/%s", s->path, rel)) {
		registry__buf_free(&b);
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	}
	*path = registry__buf_detach(&b);
	return 0;
}

static int hash_with(int alg, const void *data, size_t len, char out[REGISTRY_DIGEST_STRING_MAX])
{
	registry__hash h;
	int rc = registry__hash_init(&h, alg);
	if (rc)
		return rc;
	if (!(rc = registry__hash_update(&h, data, len)))
		rc = registry__hash_final(&h, out);
	registry__hash_cleanup(&h);
	return rc;
}

/* Hash @data with the algorithm of @expected (sha256 when NULL) into @actual; compare. */
static int hash_and_compare(const char *expected, const void *data, size_t len, char actual[REGISTRY_DIGEST_STRING_MAX])
{
	int rc = hash_with(expected ? registry__digest_algorithm(expected) : REGISTRY_DIGEST_SHA256, data, len, actual);
	if (rc)
		return rc;
	if (expected && strcmp(expected, actual) != 0)
		return registry__fail(REGISTRY_EDIGEST, "digest mismatch: expected %s, got %s", expected, actual);
	return 0;
}

int registry__store_read_blob(const registry_store *s, const char *digest, size_t max_size, char **data, size_t *len)
{
	char rel[STORE_REL_MAX], what[STORE_REL_MAX + 16], actual[REGISTRY_DIGEST_STRING_MAX];
	registry__store_blob_rel(rel, digest);
	snprintf(what, sizeof(what), "blob %s", digest);
	char *buf;
	size_t n;
	int rc = registry__store_read_file_at(s->blobs_fd, rel, max_size, what, &buf, &n);
	if (rc)
		return rc;
	if ((rc = hash_with(registry__digest_algorithm(digest), buf, n, actual)) == 0 && strcmp(actual, digest) != 0)
		rc = registry__fail(REGISTRY_EDIGEST, "store: blob %s is damaged: its content hashes to %s",
		                    digest, actual);
	if (rc) {
		free(buf);
		return rc;
	}
	*data = buf;
	*len = n;
	return 0;
}

int registry_store_read_blob(void **data, size_t *len, const registry_store *s, const char *digest, size_t max_size)
{
	int rc = enter_with_digest(s, digest, "registry_store_read_blob");
	if (rc)
		return rc;
	if (!data || !len)
		return registry__fail(REGISTRY_EINVAL, "registry_store_read_blob: NULL argument");
	*data = NULL;
	*len = 0;
	char *buf;
	if ((rc = registry__store_read_blob(s, digest, max_size ? max_size : REGISTRY_MANIFEST_MAX_SIZE_DEFAULT, &buf, len)))
		return rc;
	*data = buf;
	return 0;
}

int registry_store_add_blob(char **digest_out, registry_store *s, const char *expected_digest, const void *data,
                            size_t len)
{
	REGISTRY__ENTER(rc);
	if (digest_out)
		*digest_out = NULL;
	if (!s || (!data && len))
		return registry__fail(REGISTRY_EINVAL, "registry_store_add_blob: NULL argument");
	if (expected_digest && (rc = registry__store_check_digest(expected_digest)))
		return rc;
	char digest[REGISTRY_DIGEST_STRING_MAX];
	if ((rc = hash_and_compare(expected_digest, data ? data : "", len, digest)))
		return rc;
	struct stat st;
	if ((rc = stat_blob(s, digest, &st)) < 0)
		return rc;
	if (rc == 0) {
		char rel[STORE_REL_MAX];
		int fd;
		if ((rc = registry__store_temp_open(s, rel, &fd)))
			return rc;
		int err = registry__store_write_all(fd, data, len);
		rc = err ? registry__store_io_fail(err, "store: cannot write blob %s", digest) : registry__store_install(s, fd, rel, digest);
		close(fd);
		if (rc) {
			unlinkat(s->blobs_fd, rel, 0);
			return rc;
		}
	}
	if (digest_out && !(*digest_out = registry__strdup(digest)))
		return registry__nomem();
	return 0;
}

/* Copy @in into a temporary file of the store while hashing; the digest goes to @actual. */
static int copy_hashing(registry_store *s, int in, const char *file, int alg, char rel[STORE_REL_MAX], int *out_fd,
                        char actual[REGISTRY_DIGEST_STRING_MAX])
{
	registry__hash h;
	int rc = registry__hash_init(&h, alg);
	if (rc)
		return rc;
	char *buf = malloc(STORE_IO_BUFFER);
	if (!buf) {
		registry__hash_cleanup(&h);
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	}
	if ((rc = registry__store_temp_open(s, rel, out_fd))) {
		free(buf);
		registry__hash_cleanup(&h);
		return rc;
	}
	for (;;) {
		ssize_t n = registry__store_read_full(in, buf, STORE_IO_BUFFER);
		if (n < 0) {
			rc = registry__store_io_fail((int)-n, "store: cannot read %s", file);
			break;
		}
		if (n == 0)
			break;
		int err = registry__store_write_all(*out_fd, buf, (size_t)n);
		if (err) {
			rc = registry__store_io_fail(err, "store: cannot write blobs/%s", rel);
			break;
		}
		if ((rc = registry__hash_update(&h, buf, (size_t)n)))
			break;
		if ((size_t)n < STORE_IO_BUFFER)
			break;
	}
	if (!rc)
		rc = registry__hash_final(&h, actual);
	free(buf);
	registry__hash_cleanup(&h);
	return rc;
}

/* registry_store_add_blob_file() without digest_out: @actual receives the stored digest. */
static int import_file(registry_store *s, const char *expected_digest, const char *file,
                       char actual[REGISTRY_DIGEST_STRING_MAX])
{
	int rc;
	if (!s || !file)
		return registry__fail(REGISTRY_EINVAL, "registry_store_add_blob_file: NULL argument");
	struct stat st;
	if (expected_digest) {
		if ((rc = registry__store_check_digest(expected_digest)))
			return rc;
		if ((rc = stat_blob(s, expected_digest, &st)) != 0) {
			if (rc > 0)
				snprintf(actual, REGISTRY_DIGEST_STRING_MAX, "%s", expected_digest);
			return rc < 0 ? rc : 0;
		}
	}
	int in = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (in < 0) {
		if (errno == ENOENT)
			return registry__fail(REGISTRY_ENOTFOUND, "store: %s not found", file);
		return registry__store_io_fail(errno, "store: cannot open %s", file);
	}
	if (fstat(in, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(in);
		return registry__fail(REGISTRY_EINVAL, "store: %s is a directory", file);
	}
	char rel[STORE_REL_MAX];
	int fd = -1;
	int alg = expected_digest ? registry__digest_algorithm(expected_digest) : REGISTRY_DIGEST_SHA256;
	rc = copy_hashing(s, in, file, alg, rel, &fd, actual);
	close(in);
	if (!rc && expected_digest && strcmp(actual, expected_digest) != 0)
		rc = registry__fail(REGISTRY_EDIGEST, "digest mismatch for %s: %s hashes to %s", expected_digest, file,
		                    actual);
	if (!rc)
		rc = registry__store_install(s, fd, rel, actual);
	if (fd >= 0) {
		close(fd);
		if (rc)
			unlinkat(s->blobs_fd, rel, 0);
	}
	return rc;
}

int registry_store_add_blob_file(char **digest_out, registry_store *s, const char *expected_digest, const char *file)
{
	REGISTRY__ENTER(rc);
	if (digest_out)
		*digest_out = NULL;
	char actual[REGISTRY_DIGEST_STRING_MAX] = "";
	if ((rc = import_file(s, expected_digest, file, actual)))
		return rc;
	if (digest_out && !(*digest_out = registry__strdup(actual)))
		return registry__nomem();
	return 0;
}

/* ---- Private reading by file descriptor (store_blob.h) ------------------ */

int registry__store_blob_open(registry_store *s, const char *digest, int *fd, int64_t *size)
{
	*fd = -1;
	if (!s)
		return registry__fail(REGISTRY_EINVAL, "store: NULL store");
	int rc = registry__store_check_digest(digest);
	if (rc)
		return rc;
	char rel[STORE_REL_MAX], what[STORE_REL_MAX + 8];
	registry__store_blob_rel(rel, digest);
	snprintf(what, sizeof(what), "blobs/%s", rel);
	struct stat st;
	if ((rc = registry__store_open_regular_at(s->blobs_fd, rel, what, fd, &st)))
		return rc;
	*size = (int64_t)st.st_size;
	return 0;
}

int registry__store_damaged(const char *digest, const char *actual)
{
	return registry__fail(REGISTRY_EDIGEST, "store: blob %s is damaged: its content hashes to %s", digest,
	                      actual);
}

int registry__store_fd_check_digest(int fd, const char *digest)
{
	if (lseek(fd, 0, SEEK_SET) < 0)
		return registry__store_io_fail(errno, "store: cannot seek in blob %s", digest);
	registry__hash h;
	int rc = registry__hash_init(&h, registry__digest_algorithm(digest));
	if (rc)
		return rc;
	char actual[REGISTRY_DIGEST_STRING_MAX] = "";
	if (!(rc = registry__store_hash_fd(fd, &h, NULL)))
		rc = registry__hash_final(&h, actual);
	registry__hash_cleanup(&h);
	if (!rc && strcmp(actual, digest) != 0)
		rc = registry__store_damaged(digest, actual);
	if (!rc && lseek(fd, 0, SEEK_SET) < 0)
		rc = registry__store_io_fail(errno, "store: cannot seek in blob %s", digest);
	return rc;
}

/*
 * The streaming blob writer: a locked, resumable partial file that becomes a
 * blob by rename only when its bytes hash to the blob's digest.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_impl.h"
#include "store_writer.h"

struct registry__blob_writer {
	registry_store *store;
	registry__blob_writer *next; /* the store's open writers */
	int fd; /* the partial, flock'ed LOCK_EX */
	int failed;
	int removed; /* the partial was deleted (a full disk): nothing left to keep */
	int64_t offset;
	int64_t flushed; /* writeback was started for [0, flushed) */
	int64_t expected_size;
	registry__hash hash;
	char digest[REGISTRY_DIGEST_STRING_MAX];
	char rel[STORE_REL_MAX]; /* the partial, relative to blobs_fd */
	int no_writeback; /* the event loop's: its fsync is off the step */
	int64_t rehash_end; /* _open_lazy: the kept partial's length, hashed up to offset so far */
};

/* Bytes written between two starts of writeback (sync_file_range). */
#define WRITEBACK_STEP ((int64_t)8 << 20)

/* The stores' lists of open writers: the fetch engine commits and aborts
 * writers on its worker threads while the caller's thread opens others. */
REGISTRY__GLOBAL_MUTEX(writers_lock)

static int blob_committed(registry_store *s, const char *digest)
{
	char rel[STORE_REL_MAX];
	struct stat st;
	registry__store_blob_rel(rel, digest);
	return fstatat(s->blobs_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

/*
 * Open and lock the partial into *fd_out. The lock belongs to the inode: when
 * the path no longer names the inode we locked (its holder committed it,
 * renaming it away, or deleted it), start again. *fd_out stays -1 with
 * *already = 1 when the blob got committed meanwhile.
 */
static int lock_partial(registry_store *s, const char *digest, const char *rel, int *fd_out, int *already)
{
	*fd_out = -1;
	for (;;) {
		if (blob_committed(s, digest)) {
			*already = 1;
			return 0;
		}
		int fd = openat(s->blobs_fd, rel, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0)
			return registry__store_io_fail(errno, "store: cannot open blobs/%s", rel);
		int err = registry__store_flock(fd, LOCK_EX);
		if (err) {
			close(fd);
			return registry__store_io_fail(err, "store: cannot lock blobs/%s", rel);
		}
		struct stat held, now;
		if (fstat(fd, &held) != 0) {
			err = errno;
			close(fd);
			return registry__store_io_fail(err, "store: cannot stat blobs/%s", rel);
		}
		if (fstatat(s->blobs_fd, rel, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_ino == held.st_ino &&
		    now.st_dev == held.st_dev) {
			if (!S_ISREG(held.st_mode)) {
				close(fd);
				return registry__fail(REGISTRY_EIO, "store: blobs/%s is not a regular file", rel);
			}
			*fd_out = fd;
			return 0;
		}
		close(fd);
	}
}

/* The length of a kept partial worth re-hashing into *size (one longer
 * than the blob can be is emptied: useless). */
static int resume_size(registry__blob_writer *w, int64_t *size)
{
	struct stat st;
	if (fstat(w->fd, &st) != 0)
		return registry__store_io_fail(errno, "store: cannot stat blobs/%s", w->rel);
	if (st.st_size > 0 && w->expected_size >= 0 && st.st_size > w->expected_size) {
		if (ftruncate(w->fd, 0) != 0)
			return registry__store_io_fail(errno, "store: cannot truncate blobs/%s", w->rel);
		st.st_size = 0;
	}
	*size = (int64_t)st.st_size;
	return 0;
}

/* Writing goes on exactly after the @hashed bytes of a partial of @size. */
static int resume_at(registry__blob_writer *w, int64_t hashed, int64_t size)
{
	if (lseek(w->fd, (off_t)hashed, SEEK_SET) < 0)
		return registry__store_io_fail(errno, "store: cannot seek in blobs/%s", w->rel);
	if (hashed != size && ftruncate(w->fd, (off_t)hashed) != 0)
		return registry__store_io_fail(errno, "store: cannot truncate blobs/%s", w->rel);
	w->offset = w->flushed = hashed;
	return 0;
}

/* Re-hash what a kept partial holds so writing can go on after it. */
static int resume(registry__blob_writer *w)
{
	int64_t size = 0, hashed = 0;
	int rc = resume_size(w, &size);
	if (!rc && size > 0)
		rc = registry__store_hash_fd(w->fd, &w->hash, &hashed);
	return rc ? rc : resume_at(w, hashed, size);
}

static void writer_free(registry__blob_writer *w)
{
	pthread_mutex_lock(&writers_lock);
	for (registry__blob_writer **p = &w->store->writers; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	pthread_mutex_unlock(&writers_lock);
	registry__hash_cleanup(&w->hash);
	if (w->fd >= 0)
		close(w->fd); /* releases the lock */
	free(w);
}

static int writer_open(registry__blob_writer **out, registry_store *s, const char *digest, int64_t expected_size,
                       int64_t *offset, int *already, int lazy);

int registry__blob_writer_open(registry__blob_writer **out, registry_store *s, const char *digest,
                               int64_t expected_size, int64_t *offset, int *already)
{
	return writer_open(out, s, digest, expected_size, offset, already, 0);
}

int registry__blob_writer_open_lazy(registry__blob_writer **out, registry_store *s, const char *digest,
                                    int64_t expected_size, int64_t *pending, int *already)
{
	return writer_open(out, s, digest, expected_size, pending, already, 1);
}

int registry__blob_writer_rehash(registry__blob_writer *w, size_t max)
{
	char buf[64 * 1024];
	while (w->offset < w->rehash_end && max > 0) {
		size_t want = sizeof(buf) < max ? sizeof(buf) : max;
		if ((int64_t)want > w->rehash_end - w->offset)
			want = (size_t)(w->rehash_end - w->offset);
		ssize_t n = pread(w->fd, buf, want, (off_t)w->offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return registry__store_io_fail(errno, "store: cannot read blobs/%s", w->rel);
		if (n == 0) {
			w->rehash_end = w->offset; /* shorter than it was: what is there counts */
			break;
		}
		int rc = registry__hash_update(&w->hash, buf, (size_t)n);
		if (rc)
			return rc;
		w->offset += n;
		max = (size_t)n < max ? max - (size_t)n : 0;
	}
	if (w->offset < w->rehash_end)
		return 1;
	struct stat st;
	if (fstat(w->fd, &st) != 0)
		return registry__store_io_fail(errno, "store: cannot stat blobs/%s", w->rel);
	w->rehash_end = 0;
	if ((int64_t)st.st_size < w->offset) {
		/* Cut below what was hashed meanwhile: the hash holds bytes that
		 * are gone, so the blob starts again. */
		w->offset = 0;
		return registry__blob_writer_restart(w);
	}
	return resume_at(w, w->offset, (int64_t)st.st_size);
}

static int writer_open(registry__blob_writer **out, registry_store *s, const char *digest, int64_t expected_size,
                       int64_t *offset, int *already, int lazy)
{
	if (!out || !s || !offset || !already)
		return registry__fail(REGISTRY_EINVAL, "blob writer: NULL argument");
	*out = NULL;
	*offset = 0;
	*already = 0;
	int rc = registry__store_check_digest(digest);
	if (rc)
		return rc;
	if (expected_size < -1)
		return registry__fail(REGISTRY_EINVAL, "blob writer: negative expected size %lld", (long long)expected_size);
	if (blob_committed(s, digest)) {
		*already = 1;
		return 0;
	}
	registry__blob_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	w->store = s;
	w->fd = -1;
	w->expected_size = expected_size;
	memcpy(w->digest, digest, strlen(digest) + 1);
	if ((rc = registry__hash_init(&w->hash, registry__digest_algorithm(digest)))) {
		free(w);
		return rc;
	}
	/* Waiting for our own lock would never end. */
	pthread_mutex_lock(&writers_lock);
	for (const registry__blob_writer *o = s->writers; o; o = o->next)
		if (strcmp(o->digest, digest) == 0)
			rc = REGISTRY_ECONFLICT;
	if (!rc) {
		w->next = s->writers;
		s->writers = w;
	}
	pthread_mutex_unlock(&writers_lock);
	if (rc) {
		registry__hash_cleanup(&w->hash);
		free(w);
		return registry__fail(REGISTRY_ECONFLICT, "blob writer: %s is already being written through "
		                      "this store handle", digest);
	}
	char dir[STORE_REL_MAX];
	snprintf(dir, sizeof(dir), STORE_PARTIAL_DIR "/%.*s", registry__store_alg_len(digest), digest);
	registry__store_partial_rel(w->rel, digest);
	if ((rc = registry__store_mkdirs_at(s->blobs_fd, dir))) {
		writer_free(w);
		return rc;
	}
	if ((rc = lock_partial(s, digest, w->rel, &w->fd, already)) || *already) {
		writer_free(w);
		return rc;
	}
	if (blob_committed(s, digest)) {
		/* Committed by another path (registry_store_add_blob): the partial is stale. */
		unlinkat(s->blobs_fd, w->rel, 0);
		writer_free(w);
		*already = 1;
		return 0;
	}
	if (lazy) {
		/* The caller hashes it with _rehash, a bounded piece at a time. */
		if ((rc = resume_size(w, &w->rehash_end))) {
			writer_free(w);
			return rc;
		}
		*offset = w->rehash_end;
		*out = w;
		return 0;
	}
	if ((rc = resume(w))) {
		writer_free(w);
		return rc;
	}
	*offset = w->offset;
	*out = w;
	return 0;
}

/*
 * A failed write fails the writer. On a full disk (or quota) the partial
 * goes at once, while we hold its lock: kept, it would hold the space the
 * next pull needs, and gc would leave it for a day.
 */
static int write_failed(registry__blob_writer *w, int err)
{
	w->failed = 1;
	if (err != ENOSPC && err != EDQUOT)
		return registry__store_io_fail(err, "store: cannot write blobs/%s", w->rel);
	if (ftruncate(w->fd, 0) == 0 && unlinkat(w->store->blobs_fd, w->rel, 0) == 0)
		w->removed = 1;
	return registry__fail(REGISTRY_EIO, "%s writing blob %s; %s", err == ENOSPC ? "no space left on device"
	                      : "disk quota exceeded", w->digest, w->removed ? "the partial file was removed"
	                      : "the partial file could not be removed");
}

/* @len more bytes may come: 0, or the failure (recorded). */
static int room_for(const registry__blob_writer *w, const void *data, size_t len)
{
	if (!w || (!data && len))
		return registry__fail(REGISTRY_EINVAL, "blob writer: NULL argument");
	if (w->failed)
		return registry__fail(REGISTRY_EIO, "blob writer: an earlier write to blobs/%s failed", w->rel);
	if (w->expected_size >= 0 && (uint64_t)len > (uint64_t)(w->expected_size - w->offset))
		return registry__fail(REGISTRY_ETOOLARGE, "blob %s: more than its %lld bytes", w->digest,
		                      (long long)w->expected_size);
	return 0;
}

/* @len bytes are written: hashed and counted. */
static int count_in(registry__blob_writer *w, const void *data, size_t len)
{
	int rc = registry__hash_update(&w->hash, data, len);
	if (rc) {
		w->failed = 1;
		return rc;
	}
	w->offset += (int64_t)len;
	return 0;
}

int registry__blob_writer_write(registry__blob_writer *w, const void *data, size_t len)
{
	int rc = room_for(w, data, len);
	if (rc)
		return rc;
	int err = registry__store_write_all(w->fd, data, len);
	if (err)
		return write_failed(w, err);
	if ((rc = count_in(w, data, len)))
		return rc;
	/* Start the disk writes now rather than all at the commit's fsync, so
	 * that they overlap with the download. A hint: its failure is harmless. */
#ifdef SYNC_FILE_RANGE_WRITE
	if (w->offset - w->flushed >= WRITEBACK_STEP && !w->no_writeback) {
		sync_file_range(w->fd, w->flushed, w->offset - w->flushed, SYNC_FILE_RANGE_WRITE);
		w->flushed = w->offset;
	}
#endif
	return 0;
}

int registry__blob_writer_account(registry__blob_writer *w, const void *data, size_t len)
{
	int rc = room_for(w, data, len);
	return rc ? rc : count_in(w, data, len);
}

int registry__blob_writer_write_failed(registry__blob_writer *w, int err)
{
	return write_failed(w, err);
}

int registry__blob_writer_open_direct(const registry__blob_writer *w)
{
	int fd = openat(w->store->blobs_fd, w->rel, O_WRONLY | O_DIRECT | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	struct stat a, b;
	if (fstat(fd, &a) != 0 || fstat(w->fd, &b) != 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		close(fd); /* not the partial we hold locked */
		return -1;
	}
	return fd;
}

void registry__blob_writer_no_writeback(registry__blob_writer *w)
{
	w->no_writeback = 1;
}

int registry__blob_writer_restart(registry__blob_writer *w)
{
	if (!w)
		return registry__fail(REGISTRY_EINVAL, "blob writer: NULL writer");
	if (w->removed)
		return registry__fail(REGISTRY_EIO, "blob writer: blobs/%s was removed after a failed write", w->rel);
	if (ftruncate(w->fd, 0) != 0 || lseek(w->fd, 0, SEEK_SET) < 0) {
		w->failed = 1;
		return registry__store_io_fail(errno, "store: cannot truncate blobs/%s", w->rel);
	}
	/* final() resets the hasher; the digest of the discarded bytes is dropped. */
	char discard[REGISTRY_DIGEST_STRING_MAX];
	int rc = registry__hash_final(&w->hash, discard);
	if (rc) {
		w->failed = 1;
		return rc;
	}
	w->offset = w->flushed = 0;
	w->failed = 0;
	return 0;
}

int64_t registry__blob_writer_offset(const registry__blob_writer *w)
{
	return w ? w->offset : -1;
}

static int discard(registry__blob_writer *w, int rc)
{
	if (!w->removed) /* else the name may be another writer's new partial */
		unlinkat(w->store->blobs_fd, w->rel, 0); /* while still holding the lock */
	writer_free(w);
	return rc;
}

/* The checks of a commit: 0 with @w open, or the failure with @w discarded. */
static int check(registry__blob_writer *w)
{
	if (w->failed)
		return discard(w, registry__fail(REGISTRY_EIO, "blob writer: blobs/%s had a failed write", w->rel));
	if (w->expected_size >= 0 && w->offset != w->expected_size)
		return discard(w, registry__fail(REGISTRY_EDIGEST, "size mismatch for %s: expected %lld bytes, got %lld",
		                                 w->digest, (long long)w->expected_size, (long long)w->offset));
	char actual[REGISTRY_DIGEST_STRING_MAX];
	int rc = registry__hash_final(&w->hash, actual);
	if (rc)
		return discard(w, rc);
	if (strcmp(actual, w->digest) != 0)
		return discard(w, registry__fail(REGISTRY_EDIGEST, "digest mismatch for %s: got %s", w->digest, actual));
	return 0;
}

int registry__blob_writer_commit(registry__blob_writer *w)
{
	if (!w)
		return registry__fail(REGISTRY_EINVAL, "blob writer: NULL writer");
	int rc = check(w);
	if (rc)
		return rc;
	if ((rc = registry__store_install(w->store, w->fd, w->rel, w->digest)))
		return discard(w, rc);
	writer_free(w);
	return 0;
}

int registry__blob_writer_check(registry__blob_writer *w)
{
	if (!w)
		return registry__fail(REGISTRY_EINVAL, "blob writer: NULL writer");
	return check(w);
}

int registry__blob_writer_fd(const registry__blob_writer *w)
{
	return w ? w->fd : -1;
}

int registry__blob_writer_commit_synced(registry__blob_writer *w, int sync_err, int *dir_fd)
{
	*dir_fd = -1;
	if (sync_err)
		return discard(w, registry__store_io_fail(sync_err, "store: cannot fsync the data of %s", w->digest));
	int rc = registry__store_install_renamed(w->store, w->rel, w->digest, dir_fd);
	if (rc)
		return discard(w, rc);
	writer_free(w);
	return 0;
}

int registry__blob_writer_dir_sync_failed(int err)
{
	return registry__store_io_fail(err, "store: cannot fsync a blobs directory");
}

void registry__blob_writer_abort(registry__blob_writer *w, int keep_partial)
{
	if (!w)
		return;
	if (!keep_partial && !w->removed)
		unlinkat(w->store->blobs_fd, w->rel, 0);
	writer_free(w);
}

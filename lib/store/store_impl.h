/*
 * Private structures and helpers of the store module.
 *
 * Every path is relative to a directory fd the store holds (openat and
 * friends), so the caller's working directory does not matter. Blob paths
 * are built only by registry__store_blob_rel() and registry__store_partial_rel(), from digests
 * that passed validation.
 */
#ifndef REGISTRY_STORE_IMPL_H
#define REGISTRY_STORE_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "digest/hash.h"
#include "internal.h"

/* Long enough for ".partial/sha512/<128 hex>" and temporary names. */
#define STORE_REL_MAX 192
/* Read/copy buffer of import and verify. */
#define STORE_IO_BUFFER (1u << 20)
/* Partial and temporary files untouched for this long are stale (gc). */
#define STORE_STALE_SECONDS (24L * 60 * 60)
/* oci-layout is tiny; anything bigger is not one. */
#define STORE_LAYOUT_FILE_MAX 4096

#define STORE_PARTIAL_DIR ".partial"
#define STORE_INDEX_TEMP ".index.json.tmp"

struct registry_store {
	char *path;      /* absolute */
	int root_fd;     /* the layout directory */
	int blobs_fd;    /* blobs/, holds LOCK_SH for the handle's lifetime */
	registry_manifest *index; /* index.json as last read or written */
	unsigned temp_counter;
	struct registry__blob_writer *writers; /* open on this handle (writer.c) */
	struct store_index_batch *batch; /* additions waiting for the commit (index.c), or NULL */
	unsigned long index_writes;      /* index.json rewrites by this handle (tests count them) */
};

/* registry__fail() with ": registry__errno_text(err)" appended. */
int registry__store_io_fail(int err, const char *fmt, ...) REGISTRY_PRINTF(2, 3);

/* Validate an untrusted digest (EINVAL for NULL, else registry_digest_validate's codes). */
int registry__store_check_digest(const char *digest);

/* "sha256/<hex>" and ".partial/sha256/<hex>" (relative to blobs_fd) of a validated digest. */
void registry__store_blob_rel(char out[STORE_REL_MAX], const char *digest);
void registry__store_partial_rel(char out[STORE_REL_MAX], const char *digest);
/* The algorithm name ("sha256") of a validated digest, into @out. */
/* Length of the algorithm part of a validated digest (before ':'), whole:
 * it names the blobs/ALG folder, so it is never cut short. */
int registry__store_alg_len(const char *digest);

/* write(2) all of @data, retrying short writes and EINTR. 0 or an errno value. */
int registry__store_write_all(int fd, const void *data, size_t len);
/* The same at offset @off with pwrite(2) (@off < 0: write(2), as above). */
int registry__store_pwrite_all(int fd, const void *data, size_t len, int64_t off);
/* read(2) up to @len, retrying EINTR; bytes read (< len only at EOF) or -errno. */
ssize_t registry__store_read_full(int fd, void *buf, size_t len);

/*
 * Open @rel (relative to @dirfd) read-only without following a symbolic link
 * at any of its components, and only when it is a regular file: a layout
 * whose blob links out of it must not hand out the target's bytes, and a
 * FIFO in place of a file must not block (opened O_NONBLOCK, then refused).
 * *st receives its fstat. REGISTRY_ENOTFOUND when absent, REGISTRY_EFORMAT
 * for a link or anything but a regular file, REGISTRY_EIO. @what names it
 * in messages.
 */
int registry__store_open_regular_at(int dirfd, const char *rel, const char *what, int *fd, struct stat *st);
/* The same, but an absent file returns STORE_ABSENT (> 0) and records nothing. */
#define STORE_ABSENT 1
int registry__store_open_regular_quiet_at(int dirfd, const char *rel, const char *what, int *fd, struct stat *st);

/*
 * Read a whole file relative to @dirfd, at most @max bytes (REGISTRY_ETOOLARGE
 * beyond), NUL-terminated. REGISTRY_ENOTFOUND when absent. @what names it in
 * messages. Free *data with free().
 */
int registry__store_read_file_at(int dirfd, const char *rel, size_t max, const char *what, char **data,
                        size_t *len);

/* mkdir each component of @rel under @dirfd (existing ones are fine). 0 or REGISTRY_EIO. */
int registry__store_mkdirs_at(int dirfd, const char *rel);
/* fsync the directory @rel under @dirfd ("." for itself). 0 or REGISTRY_EIO. */
int registry__store_fsync_dir_at(int dirfd, const char *rel);

/* flock(2) retrying EINTR; 0 or an errno value. */
int registry__store_flock(int fd, int op);

/*
 * A new temporary file blobs/.partial/tmp-<pid>-<n>-<random>, opened
 * O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC|O_NOFOLLOW. @rel receives its path
 * relative to blobs_fd.
 */
int registry__store_temp_open(registry_store *s, char rel[STORE_REL_MAX], int *fd);

/*
 * Move a fully written file whose content hashes to @digest into
 * blobs/<alg>/<hex>: fsync(fd), rename, fsync the directory. @rel is its
 * current path relative to blobs_fd. On failure the file at @rel is left
 * for the caller to unlink.
 */
int registry__store_install(registry_store *s, int fd, const char *rel, const char *digest);
/* The same after the caller made the data durable itself: rename, then
 * fsync the directory, or, with @dir_fd, open it into *@dir_fd for the
 * caller to fsync (the event loop does both through AIO). */
int registry__store_install_renamed(registry_store *s, const char *rel, const char *digest, int *dir_fd);

/* Hash the bytes of @fd from its current position to EOF (into @h); bytes hashed or <0. */
int registry__store_hash_fd(int fd, registry__hash *h, int64_t *hashed);

/* blobs.c: read a whole blob (at most @max bytes) and check its digest; free with free(). */
int registry__store_read_blob(const registry_store *s, const char *validated_digest, size_t max, char **data, size_t *len);

/* index.c */
int registry__store_index_load(const registry_store *s, registry_manifest **out);
/* Drop a batch that was never committed. */
void registry__store_index_batch_free(registry_store *s);

/*
 * registry_store_index_add() in steps, for a caller that fsyncs without
 * blocking (the event loop, loop/store.c):
 *   _begin: the same checks; with a batch open, the addition is only
 *     remembered (0, *out NULL: done). Else the layout lock is taken
 *     without waiting (REGISTRY__STORE_BUSY, nothing recorded, when another
 *     holds it: try again later), index.json re-read and the new one
 *     written to its temporary file, open in *fd for the caller's fsync.
 *   _rename: after that fsync (@sync_err its errno): index.json replaced,
 *     the store's folder opened into *dir_fd for the caller's fsync.
 *   _end: after that fsync (@sync_err), or at any point to give up (the
 *     temporary file goes): the lock released, @t freed.
 * While a lock is held so, a blocking index update of the same layout on
 * the same thread fails with REGISTRY_ECONFLICT instead of waiting forever.
 */
#define REGISTRY__STORE_BUSY 1
typedef struct registry__index_txn registry__index_txn;
int registry__store_index_add_begin(registry__index_txn **out, int *fd, registry_store *s,
                                    const registry_descriptor_spec *entry, const char *ref_name);
int registry__store_index_add_rename(registry__index_txn *t, int sync_err, int *dir_fd);
int registry__store_index_add_end(registry__index_txn *t, int sync_err);

/* walk.c: everything reachable from an index (index.json, freshly read). */
typedef struct store_walk_visit {
	const char *digest;
	const char *media_type;
	int64_t size;           /* from the descriptor; -1 unknown */
	const char *parent;     /* digest of the manifest that refers to it; NULL for index.json */
	int optional;           /* a subject or a foreign layer: may be absent */
} store_walk_visit;

/*
 * Visit each reachable descriptor once. @visit returns 0 to go on, else that
 * code stops the walk. Manifests are read (verified) and parsed from the
 * store; @on_manifest_error decides what a damaged or unparsable manifest
 * does: return its code to stop, 0 to skip it. Missing manifests are skipped
 * (after @visit saw them).
 */
typedef int (*store_walk_visit_fn)(const store_walk_visit *v, void *ud);
typedef int (*store_walk_error_fn)(const store_walk_visit *v, int rc, void *ud);
int registry__store_walk(const registry_store *s, const registry_manifest *root, store_walk_visit_fn visit,
                store_walk_error_fn on_manifest_error, void *ud);

/* verify.c / gc.c: the blob directories scanned ("sha256", "sha512"). */
extern const char *const registry__store_algorithms[2];
/* Whether @name is the hex part of a digest of algorithm @alg ("sha256"); quiet. */
int registry__store_hex_name_valid(const char *alg, const char *name);

/* A set of digest strings (open addressing). */
typedef struct store_digest_set {
	char **slots;
	size_t cap;
	size_t count;
} store_digest_set;

void registry__store_set_init(store_digest_set *set);
void registry__store_set_free(store_digest_set *set);
/* 1 when added, 0 when already there, REGISTRY_ENOMEM. */
int registry__store_set_add(store_digest_set *set, const char *digest);
int registry__store_set_has(const store_digest_set *set, const char *digest);

#endif

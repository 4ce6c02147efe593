/*
 * Private interface of the unpack module (lib/unpack): safe path
 * resolution beneath a root directory (root.c), the layer applier
 * (apply.c), and the image-level operations over a store (unpack.c,
 * bundle.c, rootfs_tar.c). Not installed.
 */
#ifndef REGISTRY_UNPACK_IMPL_H
#define REGISTRY_UNPACK_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <registry/unpack.h>

#include "internal.h"

/* ---- resolution beneath a root (root.c) ---- */

/*
 * How paths are resolved beneath the root. AUTO uses openat2(2) with
 * RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS when the kernel has it and the
 * component-by-component O_NOFOLLOW walk otherwise; the tests force each
 * one through registry__root_set_mode() so both stay proven.
 */
enum { REGISTRY__ROOT_AUTO = 0, REGISTRY__ROOT_OPENAT2 = 1, REGISTRY__ROOT_WALK = 2 };
/* Set the process-wide mode (tests); returns the previous one. */
int registry__root_set_mode(int mode);

/* registry__root_open_dir() flags: make missing directories; refuse any link on the way. */
#define REGISTRY__ROOT_CREATE 0x1
#define REGISTRY__ROOT_NO_LINKS 0x2

/*
 * Open the directory @rel (normalized: no "..", no leading '/', may be "")
 * beneath @root as an O_PATH descriptor, every component resolved inside
 * @root: a symbolic link met on the way is followed as if @root were "/"
 * (absolute targets and ".." never leave it), as RESOLVE_IN_ROOT does, or
 * with REGISTRY__ROOT_NO_LINKS refused (REGISTRY_EFORMAT). With
 * REGISTRY__ROOT_CREATE, missing directories are made (mode 0755). *fd
 * receives the descriptor. REGISTRY_ENOTFOUND, REGISTRY_EFORMAT (a
 * component is not a directory, a symlink loop), REGISTRY_EIO; @what names
 * the entry in messages.
 */
int registry__root_open_dir(int root, const char *rel, int flags, const char *what, int *fd);

/*
 * Remove @name in the directory @dirfd, a whole tree when it is a
 * directory, never following a symbolic link. ENOENT is success.
 * 0 or REGISTRY_EIO (recorded).
 */
int registry__root_remove_at(int dirfd, const char *name);

/*
 * A tar member name as a path beneath the root in @out: leading '/' and
 * "./" dropped, "." components and repeated slashes removed. REGISTRY_EFORMAT
 * for a ".." component, a NUL or a path longer than @size; "" for the root.
 */
int registry__root_clean_path(char *out, size_t size, const char *name);

/* ---- the layer applier (apply.c) ---- */

/* Counts of an unpack (kept for the whole image, across layers). */
typedef struct registry__unpack_counts {
	uint64_t layers, entries, bytes, whiteouts;
	uint64_t skipped_owners, skipped_devices, skipped_xattrs;
} registry__unpack_counts;

/* Read up to @len bytes of the (compressed) layer into @buf: the count, 0 at
 * its end, or a negative REGISTRY_E code that is recorded. */
typedef int64_t (*registry__layer_read_cb)(void *buf, size_t len, void *ud);

struct archive_entry;

/*
 * What the applier writes. An IMAGE layer: whiteouts, entries replace what
 * is there, links met in a path are followed inside the root, owners,
 * xattrs and every mode bit as root. PLAIN, one tar of files (an
 * artifact's directory, as oras packs it, written as libarchive's
 * no-overwrite, secure-symlinks extraction did): `.wh.` names are ordinary
 * names; nothing already there is replaced: a later entry of the same
 * name is skipped (a directory keeps its first settings), except that a
 * symbolic link there is removed first; a symbolic link in the middle of a
 * path is refused, never followed; no owners and no xattrs even as root;
 * modes are the permission bits less the umask.
 */
enum { REGISTRY__APPLY_IMAGE = 0, REGISTRY__APPLY_PLAIN = 1 };

typedef struct registry__applier_config {
	unsigned int flags;      /* REGISTRY_UNPACK_* flags */
	uint64_t max_size;       /* total tar bytes over all layers; 0: no limit */
	int (*step)(int64_t n, void *ud); /* @n more compressed bytes read: 0 or ECANCELED (may be NULL) */
	void *step_ud;
	int profile;             /* REGISTRY__APPLY_IMAGE or REGISTRY__APPLY_PLAIN */
	/* NULL, or asked first about each member (which it may change): 0 or a recorded code */
	int (*check)(struct archive_entry *e, void *ud);
	void *check_ud;
} registry__applier_config;

typedef struct registry__applier registry__applier;

/*
 * An applier writing into the directory @root (kept open by the caller for
 * the applier's life). It owns no thread and does no I/O of its own: layer
 * after layer, the caller begins a layer with a byte source and steps it
 * (one tar member a step, data copied in bounded buffers), so an event loop
 * can interleave it with other work.
 */
int registry__applier_new(registry__applier **out, int root, const registry__applier_config *cfg);
/*
 * Start a layer whose bytes @read gives, compressed with gzip or zstd or
 * not (decided by its first bytes, whatever its media type says).
 * @diff_id: the digest its uncompressed tar must have, or NULL.
 */
int registry__applier_begin(registry__applier *a, registry__layer_read_cb read, void *ud, const char *diff_id);
/*
 * Apply the next member: 1 when more follow, 0 when the layer is complete
 * (its diff_id checked, directory metadata set), else a REGISTRY_E code
 * (recorded); after a failure the layer is ended and the tree is partial.
 */
int registry__applier_step(registry__applier *a);
/*
 * Steps for as long as one slice lasts: members (and a large regular
 * file's data blocks) applied until @spent(@ud) says the slice is over,
 * libarchive's reader kept open for the next slice. 1 when more is to do,
 * else as registry__applier_step. The source is read inline (a store's
 * file), so an event loop's step stays about one slice long.
 */
int registry__applier_slice(registry__applier *a, int (*spent)(void *ud), void *ud);
const registry__unpack_counts *registry__applier_counts(const registry__applier *a);
void registry__applier_free(registry__applier *a);

/* A layer read from a descriptor (@what names it in messages): registry__fd_read's @ud. */
typedef struct registry__fd_source {
	int fd;
	const char *what;
} registry__fd_source;
int64_t registry__fd_read(void *buf, size_t len, void *ud);

/* begin + step until done, for callers that do not interleave. */
int registry__applier_run(registry__applier *a, registry__layer_read_cb read, void *ud, const char *diff_id);

/* The counts as the public stats struct (the fields its version has). */
void registry__unpack_stats_fill(registry_unpack_stats *stats, const registry__unpack_counts *c);

/* ---- an image of a store (unpack.c) ---- */

/*
 * registry_store_unpack() (@tar 0) or registry_store_unpack_tar() (@tar 1:
 * to the file @dest, or to @fd when @dest is NULL), with @client's cancel
 * hook asked as layers are read (NULL: none). Used by registry_pull_to().
 */
int registry__unpack(registry_unpack_stats *stats, registry_store *store, const char *ref_name, const char *dest,
                     int fd, int tar, const registry_unpack_options *opts, registry_client *client);

/*
 * registry__unpack() into @dest (a directory, or the tar file @dest when
 * @tar) in slices, for an event loop: _new checks, reads the manifest and
 * config, and makes the temporary tree beside @dest (short); each _step
 * applies layers until @spent(@ud) says the slice is over (a large file's
 * data goes on in the next step) and returns 1 while more is to do; the
 * last one renames the tree into place and returns 0, or a failure
 * (recorded, the tree removed). A tar is written from the complete tree by
 * further steps, the same slices (registry__tree_tar_step), then renamed
 * into place and the tree removed.
 * _free before the end (a cancel) removes the half-made tree. @opts is
 * copied (its progress callback is called from the steps).
 */
typedef struct registry__unpack_run registry__unpack_run;
int registry__unpack_run_new(registry__unpack_run **out, registry_store *store, const char *ref_name,
                             const char *dest, int tar, const registry_unpack_options *opts);
int registry__unpack_run_step(registry__unpack_run *r, int (*spent)(void *ud), void *ud);
void registry__unpack_run_stats(const registry__unpack_run *r, registry_unpack_stats *stats);
void registry__unpack_run_free(registry__unpack_run *r);

/*
 * Where an unpack fed by a running pull (lib/ops/pull_unpack.c) waits for
 * its blobs. @wait(digest) returns once blob @digest is in the store or no
 * more blobs will come (0: the open that follows tells which), or
 * REGISTRY_ECANCELED (recorded) when the unpack must stop; @wait(NULL)
 * returns 0 once the pull has succeeded, before the result is made visible.
 */
typedef struct registry__unpack_feed {
	int (*wait)(const char *digest, void *ud);
	void *ud;
} registry__unpack_feed;

/*
 * registry__unpack() of the image manifest @m (an OCI or Docker schema2
 * image, borrowed) to @dest, its config and layers read from @store as
 * @feed says they have arrived, layer after layer in order. @opts checked
 * by the caller; its progress callback is called on this thread.
 */
int registry__unpack_fed(registry_store *store, const registry_manifest *m, const char *dest, int tar,
                         const registry_unpack_options *opts, const registry__unpack_feed *feed);
/* Layers that do not come from a store (a docker-archive's members). */
typedef struct registry__layer_source {
	/* Open layer @i of the manifest: its bytes through *read with *ud. */
	int (*open)(void *ctx, size_t i, registry__layer_read_cb *read, void **ud);
	void (*close)(void *ctx, void *ud);
	void *ctx;
} registry__layer_source;

/* The options and stats checks of the unpack functions, for @fn. */
int registry__unpack_check(const char *fn, const registry_unpack_options *opts, const registry_unpack_stats *stats);

/*
 * registry_store_unpack() of an image given as its manifest @m and config
 * bytes (both taken over, freed here: @config with registry_free()), its
 * layers from @source, into the directory (or bundle) @dest. @fn names the
 * public function in messages.
 */
int registry__unpack_image(registry_unpack_stats *stats, const char *fn, registry_manifest *m, char *config,
                           size_t config_len, const registry__layer_source *source, const char *dest,
                           const registry_unpack_options *opts);

/* ---- the runtime bundle (bundle.c) ---- */

/*
 * The OCI runtime-spec config.json for an image config (the image spec's
 * conversion document): process args, env, cwd, user (resolved in the
 * unpacked tree @rootfd), annotations, root "rootfs". *out NUL-terminated,
 * free with registry_free().
 */
int registry__bundle_config(char **out, size_t *len, const char *image_config, size_t config_len, int rootfd);

/*
 * config.User ("user", "uid", "user:group", "uid:gid", "uid:group",
 * "user:gid"; NULL or "" is root) as numbers, names looked up in the
 * tree's /etc/passwd and /etc/group (read beneath @rootfd, bounded);
 * *home: the user's home directory from passwd, or NULL (free()).
 * REGISTRY_ENOTFOUND for a name the image does not have (passwd.c).
 */
int registry__resolve_user(int rootfd, const char *spec, unsigned long *uid, unsigned long *gid, char **home);

/* ---- a tree as one tar (rootfs_tar.c) ---- */

/* Write the tree under @root_path as a tar (pax) to @fd. */
int registry__tree_to_tar(const char *root_path, int fd);
/* The same in slices (an event loop's unpack, unpack.c): _open starts it;
 * each _step writes members, a large file's data a piece (256 KiB) at a
 * time, until @spent(@ud) says the slice is over (NULL: to the end), and
 * returns 1 while more is to do, 0 once the tar is complete, or a failure
 * (recorded); _free at any time. */
typedef struct registry__tree_tar registry__tree_tar;
int registry__tree_tar_open(registry__tree_tar **out, const char *root_path, int fd);
int registry__tree_tar_step(registry__tree_tar *t, int (*spent)(void *ud), void *ud);
void registry__tree_tar_free(registry__tree_tar *t);

#endif

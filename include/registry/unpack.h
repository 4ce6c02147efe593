/** @file
 * libregistry: unpack — an image of a store as a root filesystem.
 *
 * Layers are applied in order into a directory: gzip, zstd or plain tar
 * (decided by content, whatever the media type says), each checked against
 * its diff_id in the image config while it is read; whiteouts (`.wh.NAME`,
 * `.wh..wh..opq`) remove what lower layers made. Every path of a layer is
 * resolved beneath the target without leaving it: `..` components are
 * refused, absolute names are taken relative to the target, symbolic links
 * already in the tree are followed only as if the target were `/`, and the
 * last component of an entry is never followed. Hard links must point to
 * an entry of the tree.
 *
 * As root, owners, devices (with REGISTRY_UNPACK_DEVICES) and every
 * extended attribute are applied. Otherwise owners and devices are
 * skipped and counted, as are extended attributes the kernel refuses.
 * docs/unpack.md gives the rules.
 */
#ifndef REGISTRY_UNPACK_H
#define REGISTRY_UNPACK_H

#include <stdint.h>

#include <registry/common.h>
#include <registry/blob.h>
#include <registry/manifest.h>
#include <registry/store.h>

REGISTRY_BEGIN_DECLS

/** registry_unpack_options.flags: create character and block devices (only as root). @since 1.1 */
#define REGISTRY_UNPACK_DEVICES 0x1u
/**
 * registry_unpack_options.flags: write a runtime bundle, `DEST/rootfs` and
 * `DEST/config.json` (OCI runtime spec, converted from the image config),
 * instead of the root filesystem at `DEST` (registry_store_unpack() only).
 * @since 1.1
 */
#define REGISTRY_UNPACK_BUNDLE 0x2u

/**
 * Options of the unpack functions. Initialise with
 * REGISTRY_UNPACK_OPTIONS_INIT or registry_unpack_options_init(); zero
 * fields mean the default. Strings are read during the call only.
 * @since 1.1
 */
typedef struct registry_unpack_options {
	unsigned int version;      /**< REGISTRY_UNPACK_OPTIONS_VERSION */
	unsigned int flags;        /**< REGISTRY_UNPACK_DEVICES, REGISTRY_UNPACK_BUNDLE */
	const registry_platform *platform; /**< the entry of an index to unpack; NULL: the host's */
	uint64_t max_size;         /**< most tar bytes (uncompressed) over all layers; 0: no limit */
	registry_progress_cb progress; /**< NULL, or called as layers are read; non-zero cancels */
	void *userdata;            /**< passed to @p progress */
} registry_unpack_options;

/** Current version of registry_unpack_options. @since 1.1 */
#define REGISTRY_UNPACK_OPTIONS_VERSION 1
/** Initialiser of registry_unpack_options: every field the default. @since 1.1 */
#define REGISTRY_UNPACK_OPTIONS_INIT { REGISTRY_UNPACK_OPTIONS_VERSION, 0, NULL, 0, NULL, NULL }

/**
 * Set @p opts to REGISTRY_UNPACK_OPTIONS_INIT.
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.1
 */
REGISTRY_API int registry_unpack_options_init(registry_unpack_options *opts);

/**
 * What an unpack did. Set `version` (REGISTRY_UNPACK_STATS_INIT); the call
 * fills the fields that version has.
 * @since 1.1
 */
typedef struct registry_unpack_stats {
	unsigned int version;     /**< REGISTRY_UNPACK_STATS_VERSION */
	uint64_t layers;          /**< layers applied */
	uint64_t entries;         /**< tar members applied (whiteouts included) */
	uint64_t bytes;           /**< uncompressed tar bytes read */
	uint64_t whiteouts;       /**< whiteouts and opaque markers applied */
	uint64_t skipped_owners;  /**< entries whose owner was not set (not root) */
	uint64_t skipped_devices; /**< device nodes not created */
	uint64_t skipped_xattrs;  /**< extended attributes the kernel refused */
} registry_unpack_stats;

/** Current version of registry_unpack_stats. @since 1.1 */
#define REGISTRY_UNPACK_STATS_VERSION 1
/** Initialiser of registry_unpack_stats. @since 1.1 */
#define REGISTRY_UNPACK_STATS_INIT { REGISTRY_UNPACK_STATS_VERSION, 0, 0, 0, 0, 0, 0, 0 }

/**
 * Unpack the image @p ref_name of @p store into the directory @p dest,
 * which must not exist or be empty. The tree is built in a temporary
 * directory beside @p dest and renamed into place at the end: after a
 * failure or a cancel there is no @p dest (an empty one given is left).
 * @param stats NULL, or receives the counts (set its version first).
 * @param store an open store.
 * @param ref_name an index.json ref name or a manifest digest; of an index,
 *        the platform of @p opts.
 * @param dest the directory to create (or the bundle directory).
 * @param opts NULL for the defaults.
 * @return 0; REGISTRY_EINVAL (NULL argument, options or stats version,
 *         unknown flags); REGISTRY_ECONFLICT (@p dest exists and is not an
 *         empty directory); REGISTRY_ENOTFOUND (image, platform or a layer not in
 *         the store); REGISTRY_EDIGEST (a layer's tar does not have its
 *         diff_id); REGISTRY_EFORMAT (a damaged or hostile layer: a `..`
 *         name, a hard link out of the tree...); REGISTRY_ETOOLARGE (more
 *         than max_size bytes); REGISTRY_EUNSUPPORTED (not a container
 *         image, or built without libarchive); REGISTRY_ECANCELED;
 *         REGISTRY_EIO; REGISTRY_ENOMEM.
 * @since 1.1
 */
REGISTRY_API int registry_store_unpack(registry_unpack_stats *stats, registry_store *store, const char *ref_name,
                                       const char *dest, const registry_unpack_options *opts);

/**
 * The same image flattened into one tar (pax format), written to the file
 * @p dest (replaced atomically) or, when @p dest is NULL, to the open
 * descriptor @p fd (a pipe, stdout). The tree is built in a temporary
 * directory first (beside @p dest, or under TMPDIR).
 * @param stats NULL, or receives the counts.
 * @param dest the tar file to write, or NULL to write to @p fd.
 * @param fd used when @p dest is NULL; not closed.
 * @return as registry_store_unpack(); REGISTRY_EINVAL also for
 *         REGISTRY_UNPACK_BUNDLE.
 * @since 1.1
 */
REGISTRY_API int registry_store_unpack_tar(registry_unpack_stats *stats, registry_store *store,
                                           const char *ref_name, const char *dest, int fd,
                                           const registry_unpack_options *opts);

/**
 * Apply one layer read from @p layer_fd (gzip, zstd or tar, from its
 * current offset) onto the directory @p root: for embedders that keep
 * their own snapshots. Whiteouts remove what @p root already holds.
 * @param stats NULL, or receives the counts of this layer.
 * @param root the directory to apply onto (it must exist).
 * @param layer_fd the layer; not closed.
 * @param diff_id the digest of its uncompressed tar, or NULL not to check.
 * @param opts NULL for the defaults (platform is ignored).
 * @return 0; REGISTRY_EINVAL; REGISTRY_EDIGEST; REGISTRY_EFORMAT;
 *         REGISTRY_ETOOLARGE; REGISTRY_ECANCELED; REGISTRY_EIO;
 *         REGISTRY_EUNSUPPORTED; REGISTRY_ENOMEM. After a failure @p root
 *         holds part of the layer.
 * @since 1.1
 */
REGISTRY_API int registry_layer_apply(registry_unpack_stats *stats, const char *root, int layer_fd,
                                      const char *diff_id, const registry_unpack_options *opts);

/**
 * Unpack an image of a `docker save` tarball (the docker-archive format, as
 * `docker save`, `podman save` and `skopeo copy ... docker-archive:FILE`
 * write it) into the directory @p dest, as registry_store_unpack() does:
 * the same rules, the same checks of each layer against the config's
 * diff_ids, the same atomic result. manifest.json names the config and the
 * layers by their paths in the tarball; layers may be tar or gzip; the OCI
 * layout newer Docker writes inside the tarball (the old paths as symbolic
 * links to `blobs/sha256/...`) is followed inside the tarball only. The
 * layers are streamed from the tarball, no copy is kept.
 * @param stats NULL, or receives the counts (set its version first).
 * @param archive the tarball (plain or compressed).
 * @param ref NULL for the tarball's only image, or one of its RepoTags
 *        (`name:tag`, compared as normalized references).
 * @param dest the directory to create (or the bundle directory).
 * @param opts NULL for the defaults; `platform` is not used.
 * @return 0; REGISTRY_EINVAL (NULL argument, options or stats version,
 *         unknown flags, @p ref not a reference, @p ref NULL of a tarball of
 *         several images); REGISTRY_ENOTFOUND (no tarball, no image tagged
 *         @p ref); REGISTRY_EFORMAT (not a docker save tarball, a manifest.json
 *         naming what the tarball lacks or a path outside it, a member twice,
 *         a damaged or hostile layer); REGISTRY_EDIGEST (a layer's tar does
 *         not have its diff_id); REGISTRY_ETOOLARGE (manifest.json over 1 MiB,
 *         more than 100000 members, more than max_size bytes);
 *         REGISTRY_ECONFLICT; REGISTRY_EUNSUPPORTED (built without libarchive
 *         or unpack); REGISTRY_ECANCELED; REGISTRY_EIO; REGISTRY_ENOMEM.
 * @since 1.1
 */
REGISTRY_API int registry_archive_unpack(registry_unpack_stats *stats, const char *archive, const char *ref,
                                         const char *dest, const registry_unpack_options *opts);

REGISTRY_END_DECLS

#endif

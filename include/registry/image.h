/** @file
 * libregistry: whole-image operations — pull, push, copy, export.
 *
 * Pull writes into a registry_store (an OCI image layout). By default the
 * layout holds OCI media types, as OCI tools expect: a Docker schema2
 * manifest or list is converted to its OCI equivalent (media types mapped,
 * blobs unchanged, manifest re-serialized; the source digest is recorded as
 * an annotation on the index entry), and a schema1 image gets a config
 * synthesized from its v1 history with rootfs.diff_ids computed from the
 * layers. With REGISTRY_PULL_PRESERVE_DIGESTS every manifest is kept exactly
 * as served instead.
 *
 * Threads: an operation uses its client(s) and store for its whole run;
 * handles are not shared between threads without the caller's lock, but
 * different operations on different handles may run at once. Progress
 * callbacks run on the calling thread.
 */
#ifndef REGISTRY_IMAGE_H
#define REGISTRY_IMAGE_H

#include <registry/common.h>
#include <registry/blob.h>
#include <registry/client.h>
#include <registry/manifest.h>
#include <registry/reference.h>
#include <registry/store.h>
#include <registry/trust.h>

REGISTRY_BEGIN_DECLS

/**
 * Annotation on a store's index.json entry naming the digest the registry
 * served when the entry's manifest was converted (and so has another
 * digest). Absent when the digests are equal.
 * @since 0.1
 */
#define REGISTRY_ANNOTATION_SOURCE_DIGEST "io.libregistry.source.digest"

/** Destination formats of registry_pull_to() and registry_store_export().
 *  @since 0.1 (the values were REGISTRY_FORMAT_* before 1.0) */
enum registry_image_format {
	REGISTRY_IMAGE_FORMAT_OCI = 0,            /**< OCI image layout folder */
	REGISTRY_IMAGE_FORMAT_DOCKER_DIR = 1,     /**< a `docker load` folder (manifest.json, repositories) */
	REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE = 2, /**< the same as a tarball (needs libarchive) */
	REGISTRY_IMAGE_FORMAT_ROOTFS = 3,         /**< registry_pull_to() only: the image unpacked into a folder (see unpack.h; since 1.1) */
	REGISTRY_IMAGE_FORMAT_ROOTFS_TAR = 4      /**< registry_pull_to() only: that root filesystem as one tar file (since 1.1) */
};

/** registry_pull_options.flags: keep manifests byte for byte (Docker media types stay). @since 1.0 */
#define REGISTRY_PULL_PRESERVE_DIGESTS 0x1u
/**
 * registry_pull_options.flags: every platform of a list/index, not one
 * (platform is then ignored); each distinct child manifest is fetched
 * once, and at most about 8 MiB of them are held at a time.
 * @since 1.0
 */
#define REGISTRY_PULL_ALL_PLATFORMS 0x2u
/**
 * registry_pull_options.flags (registry_pull(), and registry_pull_to() into
 * an OCI layout): after the image, everything that refers to the manifest
 * pulled (as the registry serves it: its referrers API, or its referrers
 * tag), recursively, as REGISTRY_COPY_REFERRERS bounds it, each kept byte
 * for byte (their subject names the registry's digest: pull a Docker image
 * with REGISTRY_PULL_PRESERVE_DIGESTS for the link to hold in the layout)
 * and named by its digest in index.json (image-spec 1.1 layouts may hold
 * referrers). Refused for Docker formats.
 * @since 1.1
 */
#define REGISTRY_PULL_REFERRERS 0x4u
/**
 * registry_pull_options.flags: fetch foreign (non-distributable) layers,
 * the descriptors with "urls", which are otherwise left out as skopeo
 * leaves them: from their URLs in order (http and https only), with no
 * credentials and none of the client's extra headers, kept only when the
 * bytes match the descriptor's digest and size (REGISTRY_EDIGEST,
 * REGISTRY_ETOOLARGE otherwise). Plain HTTP only to loopback or where the
 * client's insecure setting allows it.
 * @since 1.1
 */
#define REGISTRY_PULL_FOREIGN_LAYERS 0x8u
/**
 * registry_pull_options.flags (registry_pull_to() and
 * registry_pull_to_start() into REGISTRY_IMAGE_FORMAT_ROOTFS or
 * REGISTRY_IMAGE_FORMAT_ROOTFS_TAR only): create the image's character and
 * block devices, as REGISTRY_UNPACK_DEVICES does (only as root); without
 * it they are skipped and counted. Refused (REGISTRY_EINVAL) by
 * registry_pull(), registry_pull_start() and for the other formats.
 * @since 1.1
 */
#define REGISTRY_PULL_UNPACK_DEVICES 0x10u

/**
 * Options of registry_pull() and registry_pull_to(). Initialise with
 * REGISTRY_PULL_OPTIONS_INIT, then set what differs; zero fields mean the
 * default. The strings are read during the call only.
 * @since 0.1
 */
typedef struct registry_pull_options {
	unsigned int version;     /**< REGISTRY_PULL_OPTIONS_VERSION */
	unsigned int flags;       /**< REGISTRY_PULL_PRESERVE_DIGESTS, REGISTRY_PULL_ALL_PLATFORMS, REGISTRY_PULL_REFERRERS,
	                               REGISTRY_PULL_FOREIGN_LAYERS, REGISTRY_PULL_UNPACK_DEVICES */
	const registry_platform *platform; /**< the platform to pick from an index; NULL: the host's (since 1.0 a registry_platform) */
	size_t max_manifest_size; /**< 0: 4 MiB */
	registry_progress_cb progress; /**< NULL, or called for every blob; non-zero cancels */
	void *userdata;           /**< passed to progress */
	/** Version 2: NULL, or a policy the image must satisfy (registry_verify()) before anything
	 *  is fetched or written; the verified digest is what is pulled. @since 1.1 */
	const registry_policy *policy;
} registry_pull_options;

/** Current version of registry_pull_options (2, in 1.1, appended policy). @since 0.1 */
#define REGISTRY_PULL_OPTIONS_VERSION 2
/** Initialiser of registry_pull_options: every field the default. @since 0.1 */
#define REGISTRY_PULL_OPTIONS_INIT {REGISTRY_PULL_OPTIONS_VERSION, 0, NULL, 0, NULL, NULL, NULL}

/**
 * Set @p opts to REGISTRY_PULL_OPTIONS_INIT (for callers that cannot use
 * the macro, such as bindings).
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.0
 */
REGISTRY_API int registry_pull_options_init(registry_pull_options *opts);

/**
 * Pull @p ref (tag or digest; it must name @p client's registry, else
 * REGISTRY_EINVAL naming both) into @p store: manifest, platform selection for
 * lists and indexes, config and layers fetched in parallel and verified,
 * then an index.json entry annotated org.opencontainers.image.ref.name =
 * @p ref_name (NULL: the tag, or the digest when pulled by digest).
 * Blobs the store has are not fetched again.
 * @param client the registry to pull from.
 * @param ref the image: its repository and its tag or digest.
 * @param store an open store (see store.h).
 * @param ref_name the index.json name, or NULL (see above). Copied.
 * @param options NULL for the defaults.
 * @param digest_out receives the digest of the manifest written to the
 *        index (free with registry_free()); may be NULL.
 * @return 0; REGISTRY_EINVAL (NULL argument, options version 0 or newer
 *         than this library's, unknown flags, malformed platform, a
 *         reference without tag or digest);
 *         REGISTRY_ENOTFOUND (image, or platform: the message lists the
 *         available ones); REGISTRY_EDIGEST (a manifest or blob does not
 *         match its digest; nothing of it is committed);
 *         REGISTRY_EUNSUPPORTED (an index inside an index, a manifest that
 *         cannot be converted to OCI); REGISTRY_ECANCELED (progress
 *         callback or the client's cancel hook; partial blobs stay for a
 *         resume); store errors (REGISTRY_EIO, ...) and transport errors;
 *         with options->policy, registry_verify()'s REGISTRY_EDENIED or
 *         REGISTRY_EUNSUPPORTED when the policy does not accept the image
 *         (nothing is fetched or written).
 * @since 0.1 (out-parameters first since 1.0; the policy since 1.1)
 */
REGISTRY_API int registry_pull(char **digest_out, registry_client *client,
                               const registry_reference *ref, registry_store *store,
                               const char *ref_name, const registry_pull_options *options);

/**
 * Pull into @p dest in @p format: an OCI layout folder (created or added
 * to), a `docker load` folder, or a tarball. Docker formats are pulled
 * into a store inside a temporary folder next to @p dest first.
 * @param dest a folder (REGISTRY_IMAGE_FORMAT_OCI, _DOCKER_DIR) or a file name
 *        (REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE). Copied.
 * @param digest_out receives the digest of the image manifest written
 *        (free with registry_free()); may be NULL. For the Docker formats it
 *        is the registry's digest of the platform's image manifest. NULL
 *        after a failure.
 * @param format an enum registry_image_format value. REGISTRY_IMAGE_FORMAT_ROOTFS
 *        and _ROOTFS_TAR pull into a temporary store beside @p dest, then
 *        unpack the image as registry_store_unpack() and
 *        registry_store_unpack_tar() do (default unpack options; platform
 *        and progress from @p options).
 * @param options NULL for the defaults.
 * @return as registry_pull(); REGISTRY_EINVAL also for an unknown format or
 *         REGISTRY_PULL_ALL_PLATFORMS with a Docker format (a `docker load`
 *         image holds one platform); REGISTRY_EUNSUPPORTED for a tarball
 *         when built without libarchive.
 * @since 0.1 (@p digest_out since 1.0)
 */
REGISTRY_API int registry_pull_to(char **digest_out, registry_client *client, const registry_reference *ref,
                                  const char *dest, int format, const registry_pull_options *options);

/** Current version of registry_store_export_options. @since 1.0 */
#define REGISTRY_STORE_EXPORT_OPTIONS_VERSION 1

/**
 * Options of registry_store_export(). Initialise with
 * REGISTRY_STORE_EXPORT_OPTIONS_INIT or registry_store_export_options_init();
 * zero fields mean the default.
 * @since 1.0
 */
typedef struct registry_store_export_options {
	unsigned int version;         /**< REGISTRY_STORE_EXPORT_OPTIONS_VERSION */
	unsigned int flags;           /**< none defined yet: 0 */
	const char *repo_tag;         /**< "name:tag" the image is tagged with, or NULL (untagged) */
	registry_progress_cb progress; /**< NULL, or called as layers are written; non-zero cancels */
	void *userdata;               /**< passed to @p progress */
} registry_store_export_options;

/** Initialiser of registry_store_export_options. @since 1.0 */
#define REGISTRY_STORE_EXPORT_OPTIONS_INIT { REGISTRY_STORE_EXPORT_OPTIONS_VERSION, 0, NULL, NULL, NULL }

/**
 * Set @p opts to REGISTRY_STORE_EXPORT_OPTIONS_INIT.
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.0
 */
REGISTRY_API int registry_store_export_options_init(registry_store_export_options *opts);

/**
 * Export the image named @p ref_name in @p store as a `docker load` folder
 * or tarball, tagged `opts->repo_tag`, in the layout moby's
 * download-frozen-image-v2.sh writes. The local counterpart of
 * registry_pull_to() with a Docker format.
 * @param ref_name an index.json ref name or a manifest digest.
 * @param dest the folder or tarball to write.
 * @param format REGISTRY_IMAGE_FORMAT_DOCKER_DIR or REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE.
 * @param opts NULL for the defaults (untagged, no progress).
 * @return 0; REGISTRY_EINVAL (NULL argument, options version 0 or newer
 *         than this library's, unknown flags, a repo_tag that is not
 *         name:tag); REGISTRY_ENOTFOUND (no such image in the store);
 *         REGISTRY_EUNSUPPORTED (not a container image, a layer type
 *         docker load cannot read, a tarball without libarchive);
 *         REGISTRY_ECANCELED (the progress callback; nothing named
 *         @p dest is left); REGISTRY_EDIGEST; REGISTRY_EIO; REGISTRY_ENOMEM.
 * @since 0.1 (options since 1.0)
 */
REGISTRY_API int registry_store_export(registry_store *store, const char *ref_name, const char *dest, int format,
                                       const registry_store_export_options *opts);

/**
 * Options of registry_push(). Initialise with REGISTRY_PUSH_OPTIONS_INIT or
 * registry_push_options_init(); zero fields mean the default.
 * @since 0.1 (its own struct, without platform, since 1.0)
 */
typedef struct registry_push_options {
	unsigned int version;      /**< REGISTRY_PUSH_OPTIONS_VERSION */
	unsigned int flags;        /**< none defined yet: must be 0 */
	size_t chunk_size;         /**< 0: REGISTRY_BLOB_CHUNK_SIZE_DEFAULT; blobs above it go in chunks */
	registry_progress_cb progress; /**< NULL, or called for every blob; non-zero cancels */
	void *userdata;            /**< passed to progress */
} registry_push_options;

/** Current version of registry_push_options. @since 0.1 */
#define REGISTRY_PUSH_OPTIONS_VERSION 1
/** Initialiser of registry_push_options: every field the default. @since 0.1 */
#define REGISTRY_PUSH_OPTIONS_INIT {REGISTRY_PUSH_OPTIONS_VERSION, 0, 0, NULL, NULL}

/**
 * Set @p opts to REGISTRY_PUSH_OPTIONS_INIT.
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.0
 */
REGISTRY_API int registry_push_options_init(registry_push_options *opts);

/**
 * Options of registry_push_archive(). Initialise with
 * REGISTRY_PUSH_ARCHIVE_OPTIONS_INIT or registry_push_archive_options_init();
 * zero fields mean the default.
 * @since 1.0
 */
typedef struct registry_push_archive_options {
	unsigned int version;      /**< REGISTRY_PUSH_ARCHIVE_OPTIONS_VERSION */
	unsigned int flags;        /**< none defined yet: must be 0 */
	size_t chunk_size;         /**< 0: REGISTRY_BLOB_CHUNK_SIZE_DEFAULT; blobs above it go in chunks */
	registry_progress_cb progress; /**< NULL, or called for every blob; non-zero cancels */
	void *userdata;            /**< passed to progress */
} registry_push_archive_options;

/** Current version of registry_push_archive_options. @since 1.0 */
#define REGISTRY_PUSH_ARCHIVE_OPTIONS_VERSION 1
/** Initialiser of registry_push_archive_options: every field the default. @since 1.0 */
#define REGISTRY_PUSH_ARCHIVE_OPTIONS_INIT {REGISTRY_PUSH_ARCHIVE_OPTIONS_VERSION, 0, 0, NULL, NULL}

/**
 * Set @p opts to REGISTRY_PUSH_ARCHIVE_OPTIONS_INIT.
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.0
 */
REGISTRY_API int registry_push_archive_options_init(registry_push_archive_options *opts);

/**
 * registry_copy_options.flags: copy every platform of a list/index and the
 * index itself (platform is then ignored), as 0.1 did by default.
 * @since 1.0
 */
#define REGISTRY_COPY_ALL_PLATFORMS 0x1u

/**
 * registry_copy_options.flags: after the image, copy everything that refers
 * to it (signatures, SBOMs, attestations: the source's referrers API, or its
 * referrers tag), and what refers to those, recursively, each by digest and
 * whole (every platform of an index), to at most
 * REGISTRY_COPY_REFERRERS_DEPTH levels and REGISTRY_COPY_REFERRERS_MAX
 * manifests (more is REGISTRY_ETOOLARGE). The destination lists them through
 * its referrers API, or the referrers tag the pushes keep.
 * @since 1.1
 */
#define REGISTRY_COPY_REFERRERS 0x2u
/** Levels of referrers copied with REGISTRY_COPY_REFERRERS. @since 1.1 */
#define REGISTRY_COPY_REFERRERS_DEPTH 4
/** Referrers copied at most with REGISTRY_COPY_REFERRERS. @since 1.1 */
#define REGISTRY_COPY_REFERRERS_MAX 256

/**
 * Options of registry_copy(). Initialise with REGISTRY_COPY_OPTIONS_INIT or
 * registry_copy_options_init(); zero fields mean the default.
 * @since 1.0
 */
typedef struct registry_copy_options {
	unsigned int version;      /**< REGISTRY_COPY_OPTIONS_VERSION */
	unsigned int flags;        /**< REGISTRY_COPY_ALL_PLATFORMS, REGISTRY_COPY_REFERRERS */
	const registry_platform *platform; /**< copy this platform of an index; NULL: the host's (since 1.0) */
	size_t chunk_size;         /**< 0: REGISTRY_BLOB_CHUNK_SIZE_DEFAULT; blobs above it go in chunks */
	registry_progress_cb progress; /**< NULL, or called for every blob; non-zero cancels */
	void *userdata;            /**< passed to progress */
	/** Version 2: NULL, or a policy the source image must satisfy (registry_verify()) before
	 *  anything is pushed; the verified digest is what is copied. @since 1.1 */
	const registry_policy *policy;
} registry_copy_options;

/** Current version of registry_copy_options (2, in 1.1, appended policy). @since 1.0 */
#define REGISTRY_COPY_OPTIONS_VERSION 2
/** Initialiser of registry_copy_options: every field the default. @since 1.0 */
#define REGISTRY_COPY_OPTIONS_INIT {REGISTRY_COPY_OPTIONS_VERSION, 0, NULL, 0, NULL, NULL, NULL}

/**
 * Set @p opts to REGISTRY_COPY_OPTIONS_INIT.
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.0
 */
REGISTRY_API int registry_copy_options_init(registry_copy_options *opts);

/**
 * Push the image named @p ref_name (a ref.name annotation or a manifest
 * digest) in @p store to @p target (tag or digest): blobs the registry has
 * are skipped, others uploaded (monolithic, or chunked above chunk_size),
 * then the config, then manifests (an index's children first). The
 * registry's Docker-Content-Digest is checked. Up to the client's
 * max_parallel blobs (registry_client_set_max_parallel()) are uploaded at
 * once, largest first, each on a thread of the call with its own copy of
 * the client; progress and the cancel hook are still called on the calling
 * thread, and the first failure stops every upload and is the call's error.
 * @param client the target registry.
 * @param target the repository and tag (or digest) to push to; a digest
 *        must be the manifest's.
 * @param options NULL for the defaults.
 * @param digest_out receives the pushed manifest's digest (free with
 *        registry_free()); may be NULL.
 * @return 0; REGISTRY_EINVAL (NULL argument, options version 0 or newer
 *         than this library's, unknown flags);
 *         REGISTRY_ENOTFOUND (@p ref_name or a blob is not in the store);
 *         REGISTRY_EDIGEST (a stored blob or the target digest does not
 *         match the manifest); REGISTRY_EUNSUPPORTED (indexes nested too
 *         deep); REGISTRY_ECANCELED; REGISTRY_EDENIED (no push access) and
 *         other transport errors; store errors.
 * @since 0.1 (out-parameters first since 1.0)
 */
REGISTRY_API int registry_push(char **digest_out, registry_client *client, registry_store *store,
                               const char *ref_name, const registry_reference *target,
                               const registry_push_options *options);

/**
 * Push a `docker save` / docker-archive tarball (needs libarchive), as
 * registry_push() pushes from a store, streaming the members from the
 * tarball.
 * @param archive_path the tarball.
 * @param options NULL for the defaults.
 * @param digest_out as registry_push().
 * @return as registry_push(); REGISTRY_EFORMAT (not a docker save archive,
 *         or its manifest.json names missing members); REGISTRY_EINVAL
 *         also when it holds several images and none is tagged as
 *         @p target; REGISTRY_EIO (unreadable archive);
 *         REGISTRY_EUNSUPPORTED (built without libarchive).
 * @since 0.1 (out-parameters first since 1.0)
 */
REGISTRY_API int registry_push_archive(char **digest_out, registry_client *client,
                                       const char *archive_path,
                                       const registry_reference *target,
                                       const registry_push_archive_options *options);

/**
 * Copy an image between registries (or within one), streaming each blob
 * from GET into the upload without touching disk or holding a blob in
 * memory; cross-repository mounts when both are the same registry. Of an
 * index, one platform is copied (options->platform, NULL: the host's, as
 * pull), or all of them and the index with REGISTRY_COPY_ALL_PLATFORMS.
 * Manifests are copied byte for byte, so the digest stays the same.
 * @param source, source_ref where the image is.
 * @param target, target_ref where it goes; @p target may be @p source.
 * @param options NULL for the defaults.
 * @param digest_out receives the digest at the target (free with
 *        registry_free()); may be NULL.
 * @return 0; REGISTRY_EINVAL (NULL argument, options version 0 or newer
 *         than this library's, unknown flags, malformed platform);
 *         REGISTRY_ENOTFOUND (image or platform); REGISTRY_EDIGEST;
 *         REGISTRY_EUNSUPPORTED (an index inside an index);
 *         REGISTRY_ECANCELED; REGISTRY_EPROTOCOL (the source broke Range
 *         requests); REGISTRY_EIO; transport errors of either registry;
 *         with options->policy, registry_verify()'s REGISTRY_EDENIED or
 *         REGISTRY_EUNSUPPORTED when the policy does not accept the source
 *         image (nothing is pushed).
 * @since 0.1 (out-parameters first since 1.0; the policy since 1.1)
 */
REGISTRY_API int registry_copy(char **digest_out, registry_client *source,
                               const registry_reference *source_ref, registry_client *target,
                               const registry_reference *target_ref, const registry_copy_options *options);

REGISTRY_END_DECLS

#endif

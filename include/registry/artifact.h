/** @file
 * libregistry: artifacts — any files in a registry (OCI image-spec 1.1,
 * "guidelines for artifact usage"), as oras stores them.
 *
 * An artifact is an OCI image manifest whose layers are files: each layer
 * has its media type (default `application/octet-stream`) and the
 * annotation `org.opencontainers.image.title`, the file's name. A
 * directory is one `application/vnd.oci.image.layer.v1.tar+gzip` layer
 * holding the directory under its name, annotated
 * `io.deis.oras.content.unpack` = `true` and `io.deis.oras.content.digest`
 * (the digest of the uncompressed tar), as oras writes it. The config is the
 * empty descriptor (`application/vnd.oci.empty.v1+json`, the two bytes
 * `{}`) unless a config file is given, and `artifactType` is set.
 *
 * A subject makes the artifact a referrer (a signature, an SBOM...): on a
 * registry without the referrers API, the push keeps the referrers tag
 * schema (see registry_manifest_push()).
 *
 * Titles read from a registry are hostile: a pull writes only titles that
 * are one path component (no `/`, not `.` or `..`, no control character,
 * at most 255 bytes), each created new (never through an existing name or
 * link), and unpacks a directory layer only beneath its title.
 *
 * Threads: as for the other operations, one client per thread.
 */
#ifndef REGISTRY_ARTIFACT_H
#define REGISTRY_ARTIFACT_H

#include <registry/common.h>
#include <registry/client.h>
#include <registry/reference.h>

REGISTRY_BEGIN_DECLS

/** The artifactType used when none is given and the config is empty (as oras). @since 1.1 */
#define REGISTRY_ARTIFACT_TYPE_UNKNOWN "application/vnd.unknown.artifact.v1"
/** The layer annotation naming a file. @since 1.1 */
#define REGISTRY_ANNOTATION_TITLE "org.opencontainers.image.title"
/** The layer annotation (value `true`) marking a packed directory. @since 1.1 */
#define REGISTRY_ANNOTATION_UNPACK "io.deis.oras.content.unpack"
/** The layer annotation holding the digest of a packed directory's uncompressed tar. @since 1.1 */
#define REGISTRY_ANNOTATION_CONTENT_DIGEST "io.deis.oras.content.digest"
/** At most this many files (layers) in an artifact pushed or pulled. @since 1.1 */
#define REGISTRY_ARTIFACT_FILES_MAX 1000

/**
 * One file (or directory) of an artifact push. Initialise with
 * REGISTRY_ARTIFACT_FILE_INIT.
 * @since 1.1
 */
typedef struct registry_artifact_file {
	unsigned int version;   /**< REGISTRY_ARTIFACT_FILE_VERSION */
	const char *path;       /**< a regular file, or a directory (packed as tar+gzip) */
	const char *media_type; /**< NULL: `application/octet-stream` for a file, the tar+gzip layer type for a directory */
	const char *title;      /**< NULL: the last component of @p path */
} registry_artifact_file;

/** Current version of registry_artifact_file. @since 1.1 */
#define REGISTRY_ARTIFACT_FILE_VERSION 1
/** Initialiser of registry_artifact_file: every field unset. @since 1.1 */
#define REGISTRY_ARTIFACT_FILE_INIT {REGISTRY_ARTIFACT_FILE_VERSION, NULL, NULL, NULL}

/**
 * Options of registry_artifact_push(). Initialise with
 * REGISTRY_ARTIFACT_PUSH_OPTIONS_INIT or registry_artifact_push_options_init();
 * zero fields mean the default.
 * @since 1.1
 */
typedef struct registry_artifact_push_options {
	unsigned int version;           /**< REGISTRY_ARTIFACT_PUSH_OPTIONS_VERSION */
	unsigned int flags;             /**< none defined yet: must be 0 */
	const char *artifact_type;      /**< NULL: REGISTRY_ARTIFACT_TYPE_UNKNOWN with the empty config, none with a config file */
	/** NULL-terminated key, value pairs of manifest annotations, or NULL */
	const char *const *annotations;
	const char *config_path;        /**< NULL: the empty descriptor; else this file is the config */
	const char *config_media_type;  /**< with config_path; NULL: `application/vnd.unknown.config.v1+json` */
	const char *subject;            /**< NULL, or the digest of a manifest of the same repository */
} registry_artifact_push_options;

/** Current version of registry_artifact_push_options. @since 1.1 */
#define REGISTRY_ARTIFACT_PUSH_OPTIONS_VERSION 1
/** Initialiser of registry_artifact_push_options: every field the default. @since 1.1 */
#define REGISTRY_ARTIFACT_PUSH_OPTIONS_INIT {REGISTRY_ARTIFACT_PUSH_OPTIONS_VERSION, 0, NULL, NULL, NULL, NULL, NULL}

/**
 * Set @p opts to REGISTRY_ARTIFACT_PUSH_OPTIONS_INIT.
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.1
 */
REGISTRY_API int registry_artifact_push_options_init(registry_artifact_push_options *opts);

/**
 * Push files as an artifact: each file (or packed directory) and the
 * config are uploaded as blobs (a blob the registry has is not sent
 * again), then the manifest under @p target's tag, or by digest when
 * @p target has none.
 * @param digest_out receives the manifest's digest (free with
 *        registry_free()); may be NULL.
 * @param files NULL-terminated list of pointers, at most
 *        REGISTRY_ARTIFACT_FILES_MAX; an empty list gives one empty layer
 *        (image-spec: an artifact without layers has the empty descriptor).
 * @param opts NULL for the defaults.
 * @return 0; REGISTRY_EINVAL (NULL argument, options or file version 0 or
 *         newer than this library's, unknown flags, a path that is neither
 *         a regular file nor a directory, a title that is not one path
 *         component, two files with one title, too many files, a subject
 *         that is not a digest); REGISTRY_ENOTFOUND (a file, the config or
 *         the subject does not exist); REGISTRY_EIO; REGISTRY_EUNSUPPORTED
 *         (a directory in a build without libarchive and zlib); upload and
 *         manifest push errors.
 * @since 1.1
 */
REGISTRY_API int registry_artifact_push(char **digest_out, registry_client *client,
                                        const registry_reference *target,
                                        const registry_artifact_file *const *files,
                                        const registry_artifact_push_options *opts);

/**
 * Options of registry_artifact_pull(). Initialise with
 * REGISTRY_ARTIFACT_PULL_OPTIONS_INIT or registry_artifact_pull_options_init();
 * zero fields mean the default.
 * @since 1.1
 */
typedef struct registry_artifact_pull_options {
	unsigned int version; /**< REGISTRY_ARTIFACT_PULL_OPTIONS_VERSION */
	unsigned int flags;   /**< none defined yet: must be 0 */
} registry_artifact_pull_options;

/** Current version of registry_artifact_pull_options. @since 1.1 */
#define REGISTRY_ARTIFACT_PULL_OPTIONS_VERSION 1
/** Initialiser of registry_artifact_pull_options: every field the default. @since 1.1 */
#define REGISTRY_ARTIFACT_PULL_OPTIONS_INIT {REGISTRY_ARTIFACT_PULL_OPTIONS_VERSION, 0}

/**
 * Set @p opts to REGISTRY_ARTIFACT_PULL_OPTIONS_INIT.
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.1
 */
REGISTRY_API int registry_artifact_pull_options_init(registry_artifact_pull_options *opts);

/**
 * Pull an artifact into the directory @p dir (created when absent, one
 * level): every layer with a title becomes the file of that name, its bytes
 * verified against the layer's digest; a layer marked for unpacking is a
 * tar(+gzip) unpacked beneath @p dir, every entry under its title (no
 * absolute names, no `..`, no links leading out, no devices). Layers
 * without a title are skipped. Every title is checked before anything is
 * written; a file that exists already is an error, never overwritten, and
 * a file that fails verification is removed.
 * @param digest_out receives the manifest's digest (free with
 *        registry_free()); may be NULL.
 * @param source the artifact (tag or digest).
 * @param opts NULL for the defaults.
 * @return 0; REGISTRY_EINVAL (NULL argument, bad options, a hostile title:
 *         the message names it, escaped; two layers with one title; more
 *         than REGISTRY_ARTIFACT_FILES_MAX layers; an unsafe tar entry);
 *         REGISTRY_EUNSUPPORTED (an index or Docker manifest, a directory
 *         layer in a build without libarchive); REGISTRY_ECONFLICT (a
 *         file of that name exists in @p dir: the message names it);
 *         REGISTRY_EIO; REGISTRY_EDIGEST; fetch errors.
 * @since 1.1
 */
REGISTRY_API int registry_artifact_pull(char **digest_out, registry_client *client,
                                        const registry_reference *source, const char *dir,
                                        const registry_artifact_pull_options *opts);

REGISTRY_END_DECLS

#endif

/** @file
 * libregistry: the manifest model.
 *
 * Bytes as a registry serves them -> one read-only model, whatever the
 * format: Docker schema1 (unsigned and signed), Docker schema2, Docker
 * manifest list, OCI image manifest and OCI image index. The model gives:
 *
 *  - the canonical digest of the bytes (for signed schema1, the digest of
 *    the JWS payload, which is what registries put in
 *    Docker-Content-Digest);
 *  - a normalized view of image manifests: the config descriptor and the
 *    layers base-first (schema1: fsLayers reversed, "throwaway" empty layers
 *    dropped, no config, sizes unknown);
 *  - the entries of lists and indexes with their platforms, and
 *    registry_manifest_select_platform() to pick one as containerd does.
 *
 * Parsing never touches the network or the disk. Input is untrusted: every
 * digest is validated against the OCI grammar (an algorithm other than
 * sha256 and sha512 is accepted, as the image spec asks, but its content
 * cannot be fetched, verified or stored: REGISTRY_EUNSUPPORTED naming the
 * algorithm, there); a platform must have "os" and "architecture" (both
 * REQUIRED); sizes must be integers in [0, 2^53), documents are
 * capped in size, and a document that is both a manifest and an index
 * (CVE-2021-41190) is refused.
 *
 * Borrowed data: every `const char *` and `const registry_descriptor *`
 * returned by an accessor belongs to its registry_manifest and stays valid
 * until registry_manifest_free(). Accessors are NULL-safe: given NULL or an
 * index out of range they return NULL, 0 or -1 as documented.
 *
 * A parsed manifest is immutable; different threads may read the same one.
 */
#ifndef REGISTRY_MANIFEST_H
#define REGISTRY_MANIFEST_H

#include <registry/common.h>

REGISTRY_BEGIN_DECLS

/** @name Media types. @since 0.1 */
/**@{*/
/** A media type, as registries send it in Content-Type and descriptors. */
#define REGISTRY_MEDIA_TYPE_DOCKER_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define REGISTRY_MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"
#define REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define REGISTRY_MEDIA_TYPE_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define REGISTRY_MEDIA_TYPE_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define REGISTRY_MEDIA_TYPE_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define REGISTRY_MEDIA_TYPE_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define REGISTRY_MEDIA_TYPE_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define REGISTRY_MEDIA_TYPE_DOCKER_FOREIGN_LAYER "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
#define REGISTRY_MEDIA_TYPE_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define REGISTRY_MEDIA_TYPE_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define REGISTRY_MEDIA_TYPE_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define REGISTRY_MEDIA_TYPE_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define REGISTRY_MEDIA_TYPE_OCI_EMPTY "application/vnd.oci.empty.v1+json"
/**@}*/

/** What a manifest describes. @since 0.1 */
enum registry_manifest_kind {
	REGISTRY_MANIFEST_IMAGE = 1, /**< one image (or artifact): config + layers */
	REGISTRY_MANIFEST_INDEX = 2  /**< a Docker manifest list or an OCI index */
};

/** Default largest accepted document size: 4 MiB (registry_manifest_parse_options can change it). @since 0.1 */
#define REGISTRY_MANIFEST_MAX_SIZE_DEFAULT ((size_t)4 << 20)

/** A parsed manifest (opaque, immutable). @since 0.1 */
typedef struct registry_manifest registry_manifest;

/**
 * A content descriptor inside a manifest: the config, a layer, an index
 * entry or a subject. Always borrowed from its registry_manifest.
 * @since 0.1
 */
typedef struct registry_descriptor registry_descriptor;

/** Current version of registry_manifest_parse_options. @since 0.1 */
#define REGISTRY_MANIFEST_PARSE_OPTIONS_VERSION 1

/**
 * Options of registry_manifest_parse(). Initialise with
 * REGISTRY_MANIFEST_PARSE_OPTIONS_INIT or
 * registry_manifest_parse_options_init(); zero fields mean the default.
 * @since 0.1 (flags since 0.2)
 */
typedef struct registry_manifest_parse_options {
	unsigned int version; /**< REGISTRY_MANIFEST_PARSE_OPTIONS_VERSION */
	unsigned int flags;   /**< none defined yet: 0 */
	/** largest accepted document in bytes; 0: REGISTRY_MANIFEST_MAX_SIZE_DEFAULT */
	size_t max_size;
} registry_manifest_parse_options;

/** Initialiser of registry_manifest_parse_options. @since 0.1 */
#define REGISTRY_MANIFEST_PARSE_OPTIONS_INIT { REGISTRY_MANIFEST_PARSE_OPTIONS_VERSION, 0, 0 }

/**
 * Set @p opts to REGISTRY_MANIFEST_PARSE_OPTIONS_INIT.
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.0
 */
REGISTRY_API int registry_manifest_parse_options_init(registry_manifest_parse_options *opts);

/**
 * Parse a manifest as served by a registry.
 *
 * The media type is taken from @p media_type (the response's Content-Type;
 * parameters such as "; charset=utf-8" are ignored, and so are generic
 * types: application/json, text/plain, application/octet-stream), else
 * from the body's "mediaType", else guessed from the document's shape. A
 * Content-Type that contradicts the body's "mediaType" is an error.
 *
 * @param out receives the manifest; free with registry_manifest_free().
 * @param data the bytes exactly as served (they are copied).
 * @param len length of @p data.
 * @param media_type the Content-Type, or NULL.
 * @param opts NULL for the defaults.
 * @return 0; REGISTRY_EINVAL (NULL out, NULL data with len > 0, options
 *         version 0 or newer than this library's, unknown flags);
 *         REGISTRY_ETOOLARGE (more than `max_size`, by default 4 MiB;
 *         checked before parsing);
 *         REGISTRY_EFORMAT (not JSON, nesting too deep, invalid UTF-8,
 *         duplicate keys, a missing or mistyped field, an invalid digest or
 *         size, a platform without os or architecture, too many entries,
 *         conflicting media types, manifest and index at once; the message
 *         names the field);
 *         REGISTRY_EUNSUPPORTED (an unknown manifest media type or
 *         schemaVersion);
 *         REGISTRY_ENOMEM.
 * @since 0.1 (options since 0.2)
 */
REGISTRY_API int registry_manifest_parse(registry_manifest **out, const void *data, size_t len,
                                         const char *media_type, const registry_manifest_parse_options *opts);

/** Free a manifest and everything borrowed from it; NULL is accepted. @since 0.1 */
REGISTRY_API void registry_manifest_free(registry_manifest *m);

/** The manifest's media type (one of the six REGISTRY_MEDIA_TYPE_ manifest types). @since 0.1 */
REGISTRY_API const char *registry_manifest_media_type(const registry_manifest *m);

/**
 * The canonical digest ("sha256:..."): of the bytes as served, or for a
 * signed schema1 manifest, of its JWS payload. This is what a registry sends
 * as Docker-Content-Digest.
 * @since 0.1
 */
REGISTRY_API const char *registry_manifest_digest(const registry_manifest *m);

/** Length in bytes of the document as served; -1 for NULL. @since 0.1 */
REGISTRY_API int64_t registry_manifest_size(const registry_manifest *m);

/** The bytes as served (not NUL-terminated); @p len (may be NULL) receives the length. @since 0.1 */
REGISTRY_API const void *registry_manifest_raw(const registry_manifest *m, size_t *len);

/** REGISTRY_MANIFEST_IMAGE or REGISTRY_MANIFEST_INDEX; 0 for NULL. @since 0.1 */
REGISTRY_API int registry_manifest_kind(const registry_manifest *m);

/** The schemaVersion: 1 or 2; 0 for NULL. @since 0.1 */
REGISTRY_API int registry_manifest_schema_version(const registry_manifest *m);

/**
 * 1 when the document carries JWS signatures (signed schema1), else 0. The
 * signatures are NOT verified: this says nothing about their validity.
 * @return 1 or 0 (0 for NULL), never an error.
 * @since 0.1
 */
REGISTRY_API int registry_manifest_signed(const registry_manifest *m);

/** The config descriptor; NULL for schema1 (which has none) and for indexes. @since 0.1 */
REGISTRY_API const registry_descriptor *registry_manifest_config(const registry_manifest *m);

/** Number of layers (image manifests; 0 for indexes). @since 0.1 */
REGISTRY_API size_t registry_manifest_layer_count(const registry_manifest *m);

/**
 * Layer @p i, base layer first. For schema1 the media type is
 * REGISTRY_MEDIA_TYPE_DOCKER_LAYER and the size is unknown (-1).
 * @since 0.1
 */
REGISTRY_API const registry_descriptor *registry_manifest_layer(const registry_manifest *m, size_t i);

/** Number of entries of a list or index (0 for image manifests).
 *  @since 0.1 (registry_manifest_manifest_count before 0.2) */
REGISTRY_API size_t registry_manifest_entry_count(const registry_manifest *m);

/** Entry @p i of a list or index, in document order, or NULL past the end.
 *  @since 0.1 (registry_manifest_manifest before 0.2) */
REGISTRY_API const registry_descriptor *registry_manifest_entry(const registry_manifest *m, size_t i);

/** The OCI "artifactType", or NULL. @since 0.1 */
REGISTRY_API const char *registry_manifest_artifact_type(const registry_manifest *m);

/** The OCI "subject" descriptor (referrers API), or NULL. @since 0.1 */
REGISTRY_API const registry_descriptor *registry_manifest_subject(const registry_manifest *m);

/** Number of top-level annotations. @since 0.1 */
REGISTRY_API size_t registry_manifest_annotation_count(const registry_manifest *m);
/** Key of annotation @p i (document order), or NULL. @since 0.1 */
REGISTRY_API const char *registry_manifest_annotation_key(const registry_manifest *m, size_t i);
/** Value of annotation @p i, or NULL. @since 0.1 */
REGISTRY_API const char *registry_manifest_annotation_value(const registry_manifest *m, size_t i);
/** Value of the annotation named @p key, or NULL. @since 0.1 */
REGISTRY_API const char *registry_manifest_annotation(const registry_manifest *m, const char *key);

/** Schema1 "name" (repository), or NULL (always for other formats).
 *  @since 0.1 (registry_manifest_name before 0.2) */
REGISTRY_API const char *registry_manifest_schema1_name(const registry_manifest *m);
/** Schema1 "tag", or NULL. @since 0.1 (registry_manifest_tag before 0.2) */
REGISTRY_API const char *registry_manifest_schema1_tag(const registry_manifest *m);
/** Schema1 "architecture", or NULL. @since 0.1 (registry_manifest_architecture before 0.2) */
REGISTRY_API const char *registry_manifest_schema1_architecture(const registry_manifest *m);

/**
 * Number of schema1 v1 history entries (one per fsLayers entry, throwaway
 * ones included); 0 for other formats.
 * @since 0.1
 */
REGISTRY_API size_t registry_manifest_history_count(const registry_manifest *m);

/** The v1Compatibility JSON text of history entry @p i, base first, or NULL. @since 0.1 */
REGISTRY_API const char *registry_manifest_history(const registry_manifest *m, size_t i);

/**
 * 1 when history entry @p i is marked "throwaway" (its layer is the empty
 * a3ed95caeb02... blob and is not among the layers), else 0.
 * @return 1 or 0 (0 also out of range or for NULL), never an error.
 * @since 0.1
 */
REGISTRY_API int registry_manifest_history_throwaway(const registry_manifest *m, size_t i);

/**
 * The normalized view as JSON, 3-space indented, for bindings and tools:
 * {"mediaType", "digest", "size", "schemaVersion", "kind" ("image" or
 * "index"), "signed", "artifactType", "config", "layers" (base first),
 * "manifests", "subject", "annotations", "name", "tag", "architecture",
 * "history" ([{"v1Compatibility", "throwaway"}])}. Every key is always
 * present; absent values are null (an unknown size is null, too).
 * Descriptors are {"mediaType", "digest", "size"} plus "artifactType",
 * "urls", "annotations" and "platform" {"os", "architecture", "variant",
 * "os.version", "os.features", "features"} when present.
 * @param out receives a NUL-terminated string; free with registry_free().
 * @return 0, REGISTRY_EINVAL, REGISTRY_ENOMEM.
 * @since 0.1
 */
REGISTRY_API int registry_manifest_to_json(char **out, const registry_manifest *m);

/** Current version of registry_platform. @since 1.0 */
#define REGISTRY_PLATFORM_VERSION 1

/**
 * A platform to select, as the image spec describes one. Initialise with
 * REGISTRY_PLATFORM_INIT or registry_platform_init(), then set the fields;
 * the strings are borrowed and read during the call only.
 * @since 1.0
 */
typedef struct registry_platform {
	unsigned int version;           /**< REGISTRY_PLATFORM_VERSION */
	const char *os;                 /**< e.g. "linux"; NULL: the host's */
	const char *architecture;       /**< e.g. "arm64"; NULL: the host's (and then a NULL variant is the host's too) */
	const char *variant;            /**< e.g. "v7", or NULL */
	const char *os_version;         /**< "os.version" the entry must have exactly (e.g. "10.0.17763.1234"), or NULL: any */
	const char *const *os_features; /**< NULL-terminated list of "os.features" the entry must all have, or NULL: any */
} registry_platform;

/** Static initialiser for registry_platform (every field NULL). @since 1.0 */
#define REGISTRY_PLATFORM_INIT { REGISTRY_PLATFORM_VERSION, NULL, NULL, NULL, NULL, NULL }

/**
 * Set @p p to REGISTRY_PLATFORM_INIT.
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.0
 */
REGISTRY_API int registry_platform_init(registry_platform *p);

/** Longest platform text registry_platform_parse() accepts, in bytes. @since 1.0 */
#define REGISTRY_PLATFORM_TEXT_MAX 255

/**
 * Parse the text form of a platform used by the example programs and the
 * Python bindings: "os/arch[/variant]" ("linux/arm64/v8") or containerd's
 * "os(os.version)/arch[/variant]" ("windows(10.0.17763.1234)/amd64"). Each
 * part is 1 to 63 characters of [A-Za-z0-9._-] (the os.version part also
 * `+`); anything else, or more than REGISTRY_PLATFORM_TEXT_MAX bytes, is
 * refused. The result's os_features is NULL.
 * @param out receives the platform; free it with registry_platform_free().
 * @param text the text.
 * @return 0; REGISTRY_EINVAL (NULL argument, or text not of that form: the
 *         message says what is wrong); REGISTRY_ENOMEM.
 * @since 1.0
 */
REGISTRY_API int registry_platform_parse(registry_platform **out, const char *text);

/**
 * Free a platform returned by registry_platform_parse() (never one the
 * caller filled in). NULL is a no-op.
 * @param p the platform, or NULL.
 * @since 1.0
 */
REGISTRY_API void registry_platform_free(registry_platform *p);

/**
 * Pick the entry of a list or index for a platform, as containerd does.
 *
 * Both sides are normalized (lowercase; x86_64/x86-64 -> amd64, aarch64 ->
 * arm64, armhf -> arm v7, armel -> arm v6, i386 -> 386; arm64 without a
 * variant is v8, arm without a variant is v7; macos -> darwin). An exact
 * match wins; otherwise compatible platforms are tried in order: arm vN ->
 * vN-1 ... v5; arm64 -> arm v8, v7, v6, v5; amd64 vN -> vN-1 ... v1, then
 * 386. Among equal matches the first entry in document order wins. Entries
 * without a platform are never chosen. When @p platform sets os_version, an
 * entry must have exactly that "os.version"; when it sets os_features, an
 * entry must list every one of them in "os.features" (as the image spec
 * says; Windows images need both).
 *
 * @param out receives the chosen entry (borrowed from @p m).
 * @param m a list or index.
 * @param platform the platform wanted; NULL: the host's (and so are its
 *        NULL os or architecture, see registry_platform).
 * @return 0; REGISTRY_EINVAL (NULL out or m, @p m not an index, a
 *         platform version this library does not know, an invalid
 *         platform); REGISTRY_ENOTFOUND (no compatible entry; the message
 *         lists the platforms the index offers); REGISTRY_EUNSUPPORTED (host
 *         platform unknown).
 * @since 0.1 (takes a registry_platform since 0.2)
 */
REGISTRY_API int registry_manifest_select_platform(const registry_descriptor **out,
                                                   const registry_manifest *m,
                                                   const registry_platform *platform);

/**
 * The platform this process runs on, in OCI terms (from uname(2), adjusted
 * for a 32-bit build on a 64-bit kernel): e.g. "linux", "amd64", NULL or
 * "linux", "arm64", "v8" or "linux", "arm", "v7". The strings are static.
 * Each out-parameter may be NULL.
 * @return 0, REGISTRY_EUNSUPPORTED for a machine type we cannot name.
 * @since 0.1
 */
REGISTRY_API int registry_manifest_host_platform(const char **os, const char **architecture,
                                                 const char **variant);

/** @name Descriptor accessors (NULL-safe). @since 0.1 */
/**@{*/
/** The media type; NULL only for a NULL descriptor. */
REGISTRY_API const char *registry_descriptor_media_type(const registry_descriptor *d);
/** The digest, validated against the OCI grammar: "sha256:...",
 *  "sha512:...", or an algorithm we do not implement ("blake3:...", at most
 *  REGISTRY_DIGEST_STRING_MAX - 1 characters), which registry_digest_validate()
 *  answers with REGISTRY_EUNSUPPORTED. */
REGISTRY_API const char *registry_descriptor_digest(const registry_descriptor *d);
/** The size in bytes; -1 when unknown (schema1 layers) or for NULL. */
REGISTRY_API int64_t registry_descriptor_size(const registry_descriptor *d);
/** The OCI "artifactType", or NULL. */
REGISTRY_API const char *registry_descriptor_artifact_type(const registry_descriptor *d);
/** Number of "urls" (foreign layers). */
REGISTRY_API size_t registry_descriptor_url_count(const registry_descriptor *d);
/** URL @p i, or NULL. */
REGISTRY_API const char *registry_descriptor_url(const registry_descriptor *d, size_t i);
/** Number of annotations. */
REGISTRY_API size_t registry_descriptor_annotation_count(const registry_descriptor *d);
/** Key of annotation @p i (document order), or NULL. */
REGISTRY_API const char *registry_descriptor_annotation_key(const registry_descriptor *d, size_t i);
/** Value of annotation @p i, or NULL. */
REGISTRY_API const char *registry_descriptor_annotation_value(const registry_descriptor *d, size_t i);
/** Value of the annotation named @p key, or NULL. */
REGISTRY_API const char *registry_descriptor_annotation(const registry_descriptor *d, const char *key);
/** 1 when the descriptor has a "platform" object, else 0 (also for NULL):
 *  1 or 0, never an error. */
REGISTRY_API int registry_descriptor_has_platform(const registry_descriptor *d);
/** platform "os" as written in the document, or NULL. */
REGISTRY_API const char *registry_descriptor_platform_os(const registry_descriptor *d);
/** platform "architecture" as written, or NULL. */
REGISTRY_API const char *registry_descriptor_platform_architecture(const registry_descriptor *d);
/** platform "variant" as written, or NULL. */
REGISTRY_API const char *registry_descriptor_platform_variant(const registry_descriptor *d);
/** platform "os.version", or NULL. */
REGISTRY_API const char *registry_descriptor_platform_os_version(const registry_descriptor *d);
/** Number of platform "os.features". */
REGISTRY_API size_t registry_descriptor_platform_os_feature_count(const registry_descriptor *d);
/** platform "os.features"[@p i], or NULL. */
REGISTRY_API const char *registry_descriptor_platform_os_feature(const registry_descriptor *d, size_t i);
/** Number of platform "features" (Docker lists). */
REGISTRY_API size_t registry_descriptor_platform_feature_count(const registry_descriptor *d);
/** platform "features"[@p i], or NULL. */
REGISTRY_API const char *registry_descriptor_platform_feature(const registry_descriptor *d, size_t i);
/**@}*/

/**
 * Builds a Docker schema2 manifest, an OCI image manifest, a Docker
 * manifest list or an OCI index (opaque).
 *
 * Serialization is deterministic and matches what docker/distribution
 * writes (and what `docker push` sends): 3-space indentation, no trailing
 * newline, keys in a fixed order -- schemaVersion, mediaType, artifactType,
 * config, layers | manifests, subject, annotations; in descriptors
 * mediaType, size, digest, artifactType, urls, annotations, platform
 * (architecture, os, os.version, os.features, variant, features);
 * annotation keys sorted bytewise; optional fields only when set; "<", ">"
 * and "&" escaped as `\u003c`, `\u003e`, `\u0026` as Go does.
 * @since 0.1
 */
typedef struct registry_manifest_builder registry_manifest_builder;

/**
 * Start a builder.
 * @param out receives the builder; free with registry_manifest_builder_free().
 * @param media_type REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST, _OCI_MANIFEST,
 *        _DOCKER_LIST or _OCI_INDEX.
 * @return 0, REGISTRY_EINVAL (NULL), REGISTRY_EUNSUPPORTED (another type,
 *         schema1 included), REGISTRY_ENOMEM.
 * @since 0.1
 */
REGISTRY_API int registry_manifest_builder_new(registry_manifest_builder **out, const char *media_type);

/** Free a builder; NULL is accepted. @since 0.1 */
REGISTRY_API void registry_manifest_builder_free(registry_manifest_builder *b);

/**
 * A descriptor to add to a builder, with everything the image spec lets a
 * descriptor carry. Initialise with REGISTRY_DESCRIPTOR_SPEC_INIT or
 * registry_descriptor_spec_init(), then set the fields; NULL fields are
 * left out. The strings are copied by the call.
 * @since 1.0
 */
typedef struct registry_descriptor_spec {
	unsigned int version;          /**< REGISTRY_DESCRIPTOR_SPEC_VERSION */
	const char *media_type;        /**< required */
	const char *digest;            /**< required */
	int64_t size;                  /**< required, in [0, 2^53) */
	const char *artifact_type;     /**< "artifactType", or NULL */
	const char *const *urls;       /**< NULL-terminated list of "urls", or NULL */
	/** NULL-terminated list of key, value pairs ("k1", "v1", "k2", "v2",
	 * NULL), or NULL; a later pair with the same key wins */
	const char *const *annotations;
	const char *os;                /**< platform "os" (with architecture, or neither) */
	const char *architecture;      /**< platform "architecture" */
	const char *variant;           /**< platform "variant", or NULL */
	const char *os_version;        /**< platform "os.version", or NULL */
	const char *const *os_features; /**< NULL-terminated platform "os.features", or NULL */
} registry_descriptor_spec;

/** Current version of registry_descriptor_spec. @since 1.0 */
#define REGISTRY_DESCRIPTOR_SPEC_VERSION 1
/** Initialiser of registry_descriptor_spec: every field unset. @since 1.0 */
#define REGISTRY_DESCRIPTOR_SPEC_INIT \
	{REGISTRY_DESCRIPTOR_SPEC_VERSION, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}

/**
 * Set @p spec to REGISTRY_DESCRIPTOR_SPEC_INIT.
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.0
 */
REGISTRY_API int registry_descriptor_spec_init(registry_descriptor_spec *spec);

/**
 * Set (or replace) the config of an image manifest: media type, digest,
 * size, artifactType, urls and annotations from @p spec.
 * @return 0; REGISTRY_EINVAL (an index builder, a NULL @p spec, a spec
 *         version 0 or newer than this library's, NULL or malformed media
 *         type, size outside [0, 2^53), any platform field set (a config is
 *         not an index entry), an odd annotation list, an empty annotation
 *         key or url, invalid UTF-8); REGISTRY_EFORMAT or
 *         REGISTRY_EUNSUPPORTED from registry_digest_validate(); REGISTRY_ENOMEM.
 * @since 0.1 (a registry_descriptor_spec since 0.2)
 */
REGISTRY_API int registry_manifest_builder_set_config(registry_manifest_builder *b,
                                                      const registry_descriptor_spec *spec);

/**
 * Append a layer (base first) to an image manifest, from @p spec: urls
 * make a foreign layer, annotations are the layer's.
 * @return as _set_config().
 * @since 0.1 (a registry_descriptor_spec since 0.2)
 */
REGISTRY_API int registry_manifest_builder_add_layer(registry_manifest_builder *b,
                                                     const registry_descriptor_spec *spec);

/**
 * Append an entry to a list or index: media type, digest, size,
 * artifactType, urls, annotations and platform (os, architecture, variant,
 * os.version, os.features) from @p spec.
 * @return as _set_config(); REGISTRY_EINVAL also for an image builder, a
 *         NULL @p spec, a spec version 0 or newer than this library's, a
 *         platform with os but no architecture (or the reverse), platform
 *         fields without os and architecture, a missing platform in a
 *         Docker list, an odd annotation list, an empty annotation key or
 *         url, invalid UTF-8.
 * @since 0.1 (a registry_descriptor_spec since 0.2)
 */
REGISTRY_API int registry_manifest_builder_add_manifest(registry_manifest_builder *b,
                                                        const registry_descriptor_spec *spec);

/**
 * Append a copy of a parsed descriptor (media type, digest, size,
 * artifactType, urls, annotations, platform): as a layer for an image
 * builder, as an entry for an index builder.
 * @return as _add_layer(); REGISTRY_EINVAL when its size is unknown (schema1).
 * @since 0.1
 */
REGISTRY_API int registry_manifest_builder_add_descriptor(registry_manifest_builder *b,
                                                          const registry_descriptor *d);

/**
 * Set a top-level annotation (a second call with the same key replaces the value).
 * @return 0, REGISTRY_EINVAL (NULL, empty key, invalid UTF-8), REGISTRY_ENOMEM.
 * @since 0.1 (registry_manifest_builder_add_annotation before 0.2)
 */
REGISTRY_API int registry_manifest_builder_set_annotation(registry_manifest_builder *b, const char *key,
                                                          const char *value);

/**
 * Set the OCI "artifactType" (NULL clears it).
 * @return 0, REGISTRY_EINVAL (Docker types, malformed media type), REGISTRY_ENOMEM.
 * @since 0.1
 */
REGISTRY_API int registry_manifest_builder_set_artifact_type(registry_manifest_builder *b,
                                                             const char *artifact_type);

/**
 * Set the OCI "subject" (the manifest this one refers to) from @p spec.
 * @return as _set_config() (a platform is refused here too: a subject is
 *         not an index entry); REGISTRY_EINVAL for Docker types.
 * @since 0.1 (a registry_descriptor_spec since 0.2)
 */
REGISTRY_API int registry_manifest_builder_set_subject(registry_manifest_builder *b,
                                                       const registry_descriptor_spec *spec);

/**
 * Serialize and parse back. The builder is left unchanged and may be
 * reused.
 * @param out receives the manifest (its raw bytes are what to push, its
 *        digest the name they will have); free with registry_manifest_free().
 * @return 0; REGISTRY_EINVAL (NULL, an image manifest without config);
 *         REGISTRY_ETOOLARGE (over 4 MiB); REGISTRY_ENOMEM.
 * @since 0.1
 */
REGISTRY_API int registry_manifest_builder_build(registry_manifest **out, const registry_manifest_builder *b);

REGISTRY_END_DECLS

#endif

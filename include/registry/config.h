/** @file
 * libregistry: the image configuration model.
 *
 * An image's config blob (OCI `application/vnd.oci.image.config.v1+json` or
 * Docker `application/vnd.docker.container.image.v1+json`; both have the
 * same shape) -> one read-only model: the platform, the runtime defaults a
 * container starts with (Env, Entrypoint, Cmd, WorkingDir, User, ...), the
 * labels, the layer history and the rootfs diff_ids (the digests of the
 * *uncompressed* layers, base first).
 *
 * Parsing never touches the network or the disk; registry_image_config_fetch()
 * is the operation that finds and fetches an image's config. Input is
 * untrusted: the document is capped at REGISTRY_IMAGE_CONFIG_MAX_SIZE, must be
 * UTF-8 JSON without duplicate keys or deep nesting, every field has the type
 * the image spec gives it, and every diff_id is a digest in the OCI grammar
 * (an algorithm libregistry does not implement is kept as text).
 *
 * Fields are read through a few generic accessors keyed by the enums below,
 * so that a field added later is a new enum value, not a new symbol.
 * Borrowed data: every `const char *` belongs to its registry_image_config
 * and stays valid until registry_image_config_free(). Accessors are
 * NULL-safe and return NULL or 0 for a NULL config, an unknown field or an
 * index out of range. A parsed config is immutable; threads may share it.
 */
#ifndef REGISTRY_CONFIG_H
#define REGISTRY_CONFIG_H

#include <registry/common.h>
#include <registry/client.h>
#include <registry/manifest.h>
#include <registry/reference.h>

REGISTRY_BEGIN_DECLS

/** Largest config document accepted by default: 8 MiB. @since 1.0 */
#define REGISTRY_IMAGE_CONFIG_MAX_SIZE ((size_t)8 << 20)

/** A parsed image configuration (opaque, immutable). @since 1.0 */
typedef struct registry_image_config registry_image_config;

/**
 * Single-string fields, for registry_image_config_string(). The JSON names
 * are those of the image spec. The three enums of this header take
 * disjoint values (1.., 101.., 201..), so that passing one where another is
 * meant returns NULL or 0 rather than another field.
 * @since 1.0
 */
enum registry_image_config_field {
	REGISTRY_IMAGE_CONFIG_ARCHITECTURE = 1, /**< "architecture" (required) */
	REGISTRY_IMAGE_CONFIG_OS = 2,           /**< "os" (required) */
	REGISTRY_IMAGE_CONFIG_VARIANT = 3,      /**< "variant" */
	REGISTRY_IMAGE_CONFIG_OS_VERSION = 4,   /**< "os.version" */
	REGISTRY_IMAGE_CONFIG_CREATED = 5,      /**< "created" (RFC 3339 text, as given) */
	REGISTRY_IMAGE_CONFIG_AUTHOR = 6,       /**< "author" */
	REGISTRY_IMAGE_CONFIG_USER = 7,         /**< "config.User" */
	REGISTRY_IMAGE_CONFIG_WORKING_DIR = 8,  /**< "config.WorkingDir" */
	REGISTRY_IMAGE_CONFIG_STOP_SIGNAL = 9,  /**< "config.StopSignal" */
	REGISTRY_IMAGE_CONFIG_ROOTFS_TYPE = 10  /**< "rootfs.type" ("layers") */
};

/**
 * String lists, for registry_image_config_list_count() and
 * registry_image_config_list_item(). Lists that are JSON objects in the
 * document (ExposedPorts, Volumes) give their keys, in document order.
 * @since 1.0
 */
enum registry_image_config_list {
	REGISTRY_IMAGE_CONFIG_LIST_ENV = 101,           /**< "config.Env": "NAME=value" */
	REGISTRY_IMAGE_CONFIG_LIST_ENTRYPOINT = 102,    /**< "config.Entrypoint" */
	REGISTRY_IMAGE_CONFIG_LIST_CMD = 103,           /**< "config.Cmd" */
	REGISTRY_IMAGE_CONFIG_LIST_EXPOSED_PORTS = 104, /**< keys of "config.ExposedPorts": "80/tcp" */
	REGISTRY_IMAGE_CONFIG_LIST_VOLUMES = 105,       /**< keys of "config.Volumes": "/data" */
	REGISTRY_IMAGE_CONFIG_LIST_DIFF_IDS = 106,      /**< "rootfs.diff_ids", base layer first */
	REGISTRY_IMAGE_CONFIG_LIST_OS_FEATURES = 107    /**< "os.features" */
};

/** Fields of one history entry, for registry_image_config_history(). @since 1.0 */
enum registry_image_config_history_field {
	REGISTRY_IMAGE_CONFIG_HISTORY_CREATED = 201,    /**< "created" */
	REGISTRY_IMAGE_CONFIG_HISTORY_CREATED_BY = 202, /**< "created_by" */
	REGISTRY_IMAGE_CONFIG_HISTORY_AUTHOR = 203,     /**< "author" */
	REGISTRY_IMAGE_CONFIG_HISTORY_COMMENT = 204     /**< "comment" */
};

/** Current version of registry_image_config_parse_options. @since 1.0 */
#define REGISTRY_IMAGE_CONFIG_PARSE_OPTIONS_VERSION 1

/**
 * Options of registry_image_config_parse(). Initialise with
 * REGISTRY_IMAGE_CONFIG_PARSE_OPTIONS_INIT or
 * registry_image_config_parse_options_init(); zero fields mean the default.
 * @since 1.0
 */
typedef struct registry_image_config_parse_options {
	unsigned int version; /**< REGISTRY_IMAGE_CONFIG_PARSE_OPTIONS_VERSION */
	unsigned int flags;   /**< none defined yet: 0 */
	/** largest accepted document in bytes; 0: REGISTRY_IMAGE_CONFIG_MAX_SIZE */
	size_t max_size;
} registry_image_config_parse_options;

/** Initialiser of registry_image_config_parse_options. @since 1.0 */
#define REGISTRY_IMAGE_CONFIG_PARSE_OPTIONS_INIT { REGISTRY_IMAGE_CONFIG_PARSE_OPTIONS_VERSION, 0, 0 }

/**
 * Set @p opts to REGISTRY_IMAGE_CONFIG_PARSE_OPTIONS_INIT.
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.0
 */
REGISTRY_API int registry_image_config_parse_options_init(registry_image_config_parse_options *opts);

/**
 * Parse a config document.
 * @param out receives the config; free with registry_image_config_free().
 * @param data, len the document's bytes (not NUL-terminated).
 * @param opts NULL for the defaults.
 * @return 0; REGISTRY_EINVAL (NULL @p out, or NULL @p data with a length;
 *         options version 0 or newer than this library's, unknown flags);
 *         REGISTRY_ETOOLARGE (over `max_size`, by default
 *         REGISTRY_IMAGE_CONFIG_MAX_SIZE);
 *         REGISTRY_EFORMAT (not JSON, a required field missing, a field of
 *         the wrong type, a bad diff_id: the message names the field, e.g.
 *         "config: config.Env[2]: must be a string, not a number");
 *         REGISTRY_ENOMEM.
 * @since 1.0
 */
REGISTRY_API int registry_image_config_parse(registry_image_config **out, const void *data, size_t len,
                                             const registry_image_config_parse_options *opts);

/** Free a config; NULL is allowed. @since 1.0 */
REGISTRY_API void registry_image_config_free(registry_image_config *config);

/**
 * A single-string field (enum registry_image_config_field).
 * @return the text, or NULL when the document lacks it.
 * @since 1.0
 */
REGISTRY_API const char *registry_image_config_string(const registry_image_config *config,
                                                      int field);

/**
 * Whether a list is present in the document (enum registry_image_config_list):
 * an absent Cmd and an empty one mean different things to a runtime.
 * @return 1 present (possibly empty), 0 absent or null (also for NULL or
 *         an unknown @p list): 1 or 0, never an error.
 * @since 1.0
 */
REGISTRY_API int registry_image_config_list_present(const registry_image_config *config, int list);

/** Number of items in a list (0 when absent). @since 1.0 */
REGISTRY_API size_t registry_image_config_list_count(const registry_image_config *config, int list);

/** Item @p i of a list, or NULL out of range. @since 1.0 */
REGISTRY_API const char *registry_image_config_list_item(const registry_image_config *config,
                                                         int list, size_t i);

/** Number of labels ("config.Labels"). @since 1.0 */
REGISTRY_API size_t registry_image_config_label_count(const registry_image_config *config);

/** Key of label @p i (document order), or NULL out of range. @since 1.0 */
REGISTRY_API const char *registry_image_config_label_key(const registry_image_config *config,
                                                         size_t i);

/** Value of label @p i, or NULL out of range. @since 1.0 */
REGISTRY_API const char *registry_image_config_label_value(const registry_image_config *config,
                                                           size_t i);

/** The value of the label named @p key, or NULL when there is none. @since 1.0 */
REGISTRY_API const char *registry_image_config_label(const registry_image_config *config,
                                                     const char *key);

/** Number of history entries (oldest first). @since 1.0 */
REGISTRY_API size_t registry_image_config_history_count(const registry_image_config *config);

/**
 * A field of history entry @p i (enum registry_image_config_history_field).
 * @return the text, or NULL when absent or out of range.
 * @since 1.0
 */
REGISTRY_API const char *registry_image_config_history(const registry_image_config *config,
                                                       size_t i, int field);

/**
 * Whether history entry @p i made no layer ("empty_layer": true).
 * @return 1 or 0 (0 also out of range or for NULL): never an error.
 * @since 1.0
 */
REGISTRY_API int registry_image_config_history_empty_layer(const registry_image_config *config,
                                                           size_t i);

/**
 * The config as indented JSON in the OCI image config shape, with the field
 * names `skopeo inspect --config` prints: created, author, architecture,
 * variant, os, os.version, os.features, config {User, ExposedPorts, Env,
 * Entrypoint, Cmd, Volumes, WorkingDir, Labels, StopSignal}, rootfs {type,
 * diff_ids}, history. Absent fields are left out.
 * @param out receives a NUL-terminated string; free with registry_free().
 * @return 0, REGISTRY_EINVAL, REGISTRY_ENOMEM.
 * @since 1.0
 */
REGISTRY_API int registry_image_config_to_json(char **out, const registry_image_config *config);

/** Current version of registry_image_config_fetch_options. @since 1.0 */
#define REGISTRY_IMAGE_CONFIG_FETCH_OPTIONS_VERSION 1

/**
 * Options of registry_image_config_fetch(). Initialise with
 * REGISTRY_IMAGE_CONFIG_FETCH_OPTIONS_INIT or
 * registry_image_config_fetch_options_init(); zero fields mean the default.
 * @since 1.0
 */
typedef struct registry_image_config_fetch_options {
	unsigned int version; /**< REGISTRY_IMAGE_CONFIG_FETCH_OPTIONS_VERSION */
	unsigned int flags;   /**< none defined yet: must be 0 */
	const registry_platform *platform; /**< the platform to pick from an index; NULL: the host's */
} registry_image_config_fetch_options;

/** Static initialiser for registry_image_config_fetch_options. @since 1.0 */
#define REGISTRY_IMAGE_CONFIG_FETCH_OPTIONS_INIT { REGISTRY_IMAGE_CONFIG_FETCH_OPTIONS_VERSION, 0, NULL }

/**
 * Set @p opts to the defaults (as REGISTRY_IMAGE_CONFIG_FETCH_OPTIONS_INIT).
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.0
 */
REGISTRY_API int registry_image_config_fetch_options_init(registry_image_config_fetch_options *opts);

/**
 * Find and fetch an image's config: the manifest @p ref names (the entry
 * for the platform when it is an index), then its config blob, verified
 * against its digest and size. A Docker schema1 image has no config blob:
 * its newest history entry's v1Compatibility document is parsed instead
 * (then there are no diff_ids and no history).
 * @param out receives the config; free with registry_image_config_free().
 * @param opts NULL for the defaults.
 * @return 0; REGISTRY_EINVAL (NULL arguments, a reference naming another
 *         registry than @p client's, unknown option version or flags, a
 *         malformed platform); REGISTRY_ENOTFOUND (no such image, or no
 *         entry for the platform); REGISTRY_EUNSUPPORTED (the manifest has no
 *         image config, e.g. an artifact); REGISTRY_ETOOLARGE; REGISTRY_EDIGEST;
 *         REGISTRY_EFORMAT; transport errors.
 * @since 1.0
 */
REGISTRY_API int registry_image_config_fetch(registry_image_config **out, registry_client *client,
                                             const registry_reference *ref,
                                             const registry_image_config_fetch_options *opts);

REGISTRY_END_DECLS

#endif

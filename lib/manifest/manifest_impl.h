/*
 * Private structures of the manifest module. Strings of a parsed manifest
 * point into its cJSON tree (kept alive by the manifest), so a parsed
 * manifest is a tree plus arrays of descriptors referring into it.
 */
#ifndef REGISTRY_MANIFEST_IMPL_H
#define REGISTRY_MANIFEST_IMPL_H

#include <cjson/cJSON.h>

#include "internal.h"

/* Caps on entry counts (a 4 MiB document could hold ~50 000 descriptors). */
#define MANIFEST_MAX_ENTRIES 4096     /* layers, manifests, fsLayers, history */
#define MANIFEST_MAX_ANNOTATIONS 4096 /* per object */
#define MANIFEST_MAX_LIST 256         /* urls, os.features, features */
#define MANIFEST_MAX_SAFE_INTEGER 9007199254740991.0 /* 2^53 - 1 */

typedef struct manifest_strlist {
	size_t count;
	const char **items;
} manifest_strlist;

typedef struct manifest_kvlist {
	size_t count;
	const char **keys;
	const char **values;
} manifest_kvlist;

struct registry_descriptor {
	const char *media_type;
	const char *digest;
	int64_t size; /* -1: unknown */
	const char *artifact_type;
	manifest_strlist urls;
	manifest_kvlist annotations;
	int has_platform;
	const char *os;
	const char *architecture;
	const char *variant;
	const char *os_version;
	manifest_strlist os_features;
	manifest_strlist features;
};

struct registry_manifest {
	char *raw;
	size_t raw_len;
	cJSON *tree; /* for signed schema1: the tree of the JWS payload */
	const char *media_type; /* a static string */
	char digest[REGISTRY_DIGEST_STRING_MAX];
	int schema_version;
	int kind;
	int is_signed;
	const char *artifact_type;
	registry_descriptor *config;
	registry_descriptor *subject;
	registry_descriptor *layers;
	size_t layer_count;
	registry_descriptor *manifests;
	size_t manifest_count;
	manifest_kvlist annotations;
	/* schema1 */
	const char *name;
	const char *tag;
	const char *architecture;
	const char **history;
	unsigned char *history_throwaway;
	size_t history_count;
	size_t max_entries; /* cap on layers/manifests while parsing: MANIFEST_MAX_ENTRIES */
};

/* Which of the six formats. */
enum manifest_format {
	FORMAT_UNKNOWN = 0,
	FORMAT_SCHEMA1,
	FORMAT_SCHEMA1_SIGNED,
	FORMAT_DOCKER_V2,
	FORMAT_DOCKER_LIST,
	FORMAT_OCI_MANIFEST,
	FORMAT_OCI_INDEX
};

/* scan.c: checks cJSON does not make (UTF-8, control bytes, \u0000, duplicate keys). */
int registry__manifest_check_bytes(const char *data, size_t len, const char *what);
cJSON *registry__manifest_parse_json(const char *data, size_t len, const char *what, int *rc);

/* fields.c: typed reads of untrusted JSON; messages name the field path. */
int registry__manifest_get_string(const cJSON *obj, const char *key, const char *path, int required,
                         const char **out);
int registry__manifest_get_size(const cJSON *obj, const char *key, const char *path, int64_t *out);
int registry__manifest_get_digest(const cJSON *obj, const char *key, const char *path, const char **out);
int registry__manifest_get_int(const cJSON *obj, const char *key, const char *path, int *present, int64_t *out);
int registry__manifest_get_array(const cJSON *obj, const char *key, const char *path, int required,
                        size_t max, const cJSON **out, size_t *count);
int registry__manifest_get_annotations(const cJSON *obj, const char *path, manifest_kvlist *out);
/* An object of strings (annotations, Labels), in document order. */
int registry__manifest_get_kvlist(const cJSON *obj, const char *key, const char *path, manifest_kvlist *out);
/* An optional array of at most @max strings (absent or null: empty). */
int registry__manifest_get_strlist(const cJSON *obj, const char *key, const char *path, size_t max,
                          manifest_strlist *out);
int registry__manifest_parse_descriptor(const cJSON *obj, const char *path, int allow_platform,
                               registry_descriptor *d);
void registry__manifest_descriptor_clear(registry_descriptor *d);
int registry__manifest_media_type_valid(const char *s);
int registry__manifest_fail_field(int code, const char *path, const char *fmt, ...) REGISTRY_PRINTF(3, 4);

/* platform.c: @p's version and bounds, as @fn's (NULL is valid: the host's). */
int registry__platform_check(const char *fn, const registry_platform *p);

/* config.c: registry_image_config_parse() without entering the API. */
int registry__image_config_parse(registry_image_config **out, const void *data, size_t len, size_t max);

/* schema1.c */
int registry__manifest_parse_schema1(registry_manifest *m, int declared_signed);

/* registry_manifest_parse() with an entry cap of its own (index.json is
 * no registry manifest: it has limits of its own, store.h). */
int registry__manifest_parse_limited(registry_manifest **out, const void *data, size_t len, const char *media_type,
                            size_t max_size, size_t max_entries);
/* The builder's caps on its document's size and entries (defaults: the
 * manifest limits), for the store's index.json. */
void registry__manifest_builder_set_limits(registry_manifest_builder *b, size_t max_size, size_t max_entries);

/* media types */
const char *registry__manifest_format_media_type(int format);
int registry__manifest_format_from_media_type(const char *mt, size_t len);

/* writer.c: a small JSON emitter, Go-compatible escaping, optional 3-space indentation. */
typedef struct manifest_writer {
	registry__buf buf;
	int indent; /* 0: compact */
	int depth;
	int need_comma;
	int rc;
} manifest_writer;

void registry__mw_init(manifest_writer *w, int indent, size_t limit);
void registry__mw_begin_object(manifest_writer *w, const char *key);
void registry__mw_end_object(manifest_writer *w);
void registry__mw_begin_array(manifest_writer *w, const char *key);
void registry__mw_end_array(manifest_writer *w);
void registry__mw_string(manifest_writer *w, const char *key, const char *value); /* NULL -> null */
void registry__mw_int(manifest_writer *w, const char *key, int64_t value);
void registry__mw_bool(manifest_writer *w, const char *key, int value);
void registry__mw_null(manifest_writer *w, const char *key);
int registry__manifest_utf8_valid(const char *s, size_t len);

#endif

/*
 * Bytes -> registry_manifest: size cap, JSON checks, media type resolution
 * (Content-Type, then the body's mediaType, then the document's shape), and
 * the schema2 / OCI readers. Schema1 lives in schema1.c.
 */
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest/hash.h"
#include "manifest_impl.h"

static const struct {
	const char *media_type;
	int format;
} formats[] = {
	{ REGISTRY_MEDIA_TYPE_DOCKER_SCHEMA1, FORMAT_SCHEMA1 },
	{ REGISTRY_MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED, FORMAT_SCHEMA1_SIGNED },
	{ REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST, FORMAT_DOCKER_V2 },
	{ REGISTRY_MEDIA_TYPE_DOCKER_LIST, FORMAT_DOCKER_LIST },
	{ REGISTRY_MEDIA_TYPE_OCI_MANIFEST, FORMAT_OCI_MANIFEST },
	{ REGISTRY_MEDIA_TYPE_OCI_INDEX, FORMAT_OCI_INDEX },
};

/* Content-Types that say nothing about the manifest format. */
static const char *const generic_types[] = {
	"application/json", "text/plain", "application/octet-stream", "*/*",
};

const char *registry__manifest_format_media_type(int format)
{
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(formats); i++)
		if (formats[i].format == format)
			return formats[i].media_type;
	return NULL;
}

/* Media types compare case-insensitively (RFC 6838). */
static int same_type(const char *a, size_t alen, const char *b)
{
	return strlen(b) == alen && strncasecmp(a, b, alen) == 0;
}

int registry__manifest_format_from_media_type(const char *mt, size_t len)
{
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(formats); i++)
		if (same_type(mt, len, formats[i].media_type))
			return formats[i].format;
	return FORMAT_UNKNOWN;
}

static int is_schema1(int format)
{
	return format == FORMAT_SCHEMA1 || format == FORMAT_SCHEMA1_SIGNED;
}

static int is_index(int format)
{
	return format == FORMAT_DOCKER_LIST || format == FORMAT_OCI_INDEX;
}

static int printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* The format a Content-Type names: 0 when absent or generic, else a format or an error. */
static int content_type_format(const char *ct, int *format)
{
	*format = FORMAT_UNKNOWN;
	if (!ct)
		return 0;
	size_t len = strcspn(ct, ";");
	while (len && (ct[len - 1] == ' ' || ct[len - 1] == '\t'))
		len--;
	while (len && (*ct == ' ' || *ct == '\t')) {
		ct++;
		len--;
	}
	if (len == 0)
		return 0;
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(generic_types); i++)
		if (same_type(ct, len, generic_types[i]))
			return 0;
	*format = registry__manifest_format_from_media_type(ct, len);
	if (*format)
		return 0;
	if (!printable(ct, len) || len > 200)
		return registry__fail(REGISTRY_EUNSUPPORTED, "manifest: unsupported Content-Type");
	return registry__fail(REGISTRY_EUNSUPPORTED, "manifest: unsupported manifest media type \"%.*s\"",
	                      (int)len, ct);
}

/* Guess the format of a document without a usable media type, as containers/image does. */
static int sniff_format(const cJSON *doc, int64_t version, int *format)
{
	if (version == 1) {
		const cJSON *sigs = cJSON_GetObjectItemCaseSensitive(doc, "signatures");
		*format = sigs && !cJSON_IsNull(sigs) ? FORMAT_SCHEMA1_SIGNED : FORMAT_SCHEMA1;
		return 0;
	}
	if (cJSON_GetObjectItemCaseSensitive(doc, "manifests")) {
		*format = FORMAT_OCI_INDEX;
		return 0;
	}
	const cJSON *config = cJSON_GetObjectItemCaseSensitive(doc, "config");
	if (config || cJSON_GetObjectItemCaseSensitive(doc, "layers")) {
		const cJSON *mt = cJSON_GetObjectItemCaseSensitive(config, "mediaType");
		*format = cJSON_IsString(mt) && strcmp(mt->valuestring, REGISTRY_MEDIA_TYPE_DOCKER_CONFIG) == 0
		                  ? FORMAT_DOCKER_V2
		                  : FORMAT_OCI_MANIFEST;
		return 0;
	}
	return registry__fail(REGISTRY_EFORMAT,
	                      "manifest: cannot tell its type: no mediaType, manifests, config or layers");
}

/* Decide the format from the Content-Type, the body's mediaType and the document. */
static int resolve_format(const cJSON *doc, int ct_format, int64_t version, int *format)
{
	const char *body_mt;
	int rc = registry__manifest_get_string(doc, "mediaType", "", 0, &body_mt);
	if (rc)
		return rc;
	int body_format = body_mt ? registry__manifest_format_from_media_type(body_mt, strlen(body_mt)) : 0;
	if (ct_format && body_mt) {
		int agree = body_format == ct_format || (is_schema1(body_format) && is_schema1(ct_format));
		if (!agree)
			return registry__fail(REGISTRY_EFORMAT,
			                      "manifest: served as %s but its mediaType says \"%.128s\"",
			                      registry__manifest_format_media_type(ct_format), body_mt);
	}
	if (ct_format) {
		*format = ct_format;
	} else if (body_mt) {
		if (!body_format)
			return registry__fail(REGISTRY_EUNSUPPORTED,
			                      "manifest: unsupported manifest media type \"%.128s\"", body_mt);
		*format = body_format;
	} else if ((rc = sniff_format(doc, version, format))) {
		return rc;
	}
	if (is_schema1(*format) != (version == 1))
		return registry__fail(REGISTRY_EFORMAT, "manifest: schemaVersion %d does not match media type %s",
		                      (int)version, registry__manifest_format_media_type(*format));
	return 0;
}

/* A document must be one thing: a manifest with layers or an index with manifests. */
static int check_shape(const cJSON *doc, int format)
{
	int has_manifests = cJSON_GetObjectItemCaseSensitive(doc, "manifests") != NULL;
	int has_layers = cJSON_GetObjectItemCaseSensitive(doc, "layers") != NULL;
	int has_config = cJSON_GetObjectItemCaseSensitive(doc, "config") != NULL;
	if (has_manifests && has_layers)
		return registry__fail(REGISTRY_EFORMAT,
		                      "manifest: has both \"manifests\" and \"layers\": a manifest and an index "
		                      "at once is ambiguous (CVE-2021-41190)");
	if (is_index(format) && (has_layers || has_config))
		return registry__fail(REGISTRY_EFORMAT, "manifest: an index (%s) must not have \"%s\"",
		                      registry__manifest_format_media_type(format), has_layers ? "layers" : "config");
	if (!is_index(format) && has_manifests)
		return registry__fail(REGISTRY_EFORMAT, "manifest: an image manifest (%s) must not have \"manifests\"",
		                      registry__manifest_format_media_type(format));
	if (is_schema1(format) && (has_layers || has_config))
		return registry__fail(REGISTRY_EFORMAT, "manifest: a schema1 manifest must not have \"%s\"",
		                      has_layers ? "layers" : "config");
	return 0;
}

static int parse_descriptor_array(const cJSON *doc, const char *key, size_t max_entries,
                                  registry_descriptor **out, size_t *count)
{
	const cJSON *arr;
	size_t n;
	int rc = registry__manifest_get_array(doc, key, "", 1, max_entries, &arr, &n);
	if (rc)
		return rc;
	*out = registry__calloc(n, sizeof(**out));
	if (!*out)
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	size_t i = 0;
	for (const cJSON *c = arr->child; c; c = c->next, i++) {
		char path[48]; /* "manifests[" + 20 digits + "]" */
		snprintf(path, sizeof(path), "%s[%zu]", key, i);
		if ((rc = registry__manifest_parse_descriptor(c, path, 1, &(*out)[i])))
			return rc;
		*count = i + 1;
	}
	return 0;
}

static int parse_single_descriptor(const cJSON *doc, const char *key, int required,
                                   registry_descriptor **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);
	if (!v || (!required && cJSON_IsNull(v))) {
		if (required)
			return registry__manifest_fail_field(REGISTRY_EFORMAT, key, "missing");
		return 0;
	}
	registry_descriptor *d = calloc(1, sizeof(*d));
	if (!d)
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	int rc = registry__manifest_parse_descriptor(v, key, 1, d);
	if (rc) {
		free(d);
		return rc;
	}
	*out = d;
	return 0;
}

/* Fields schema2 and OCI share: artifactType, subject, annotations. */
static int parse_common(registry_manifest *m, const cJSON *doc)
{
	int rc = registry__manifest_get_string(doc, "artifactType", "", 0, &m->artifact_type);
	if (rc)
		return rc;
	if (m->artifact_type && !registry__manifest_media_type_valid(m->artifact_type))
		return registry__manifest_fail_field(REGISTRY_EFORMAT, "artifactType", "not a valid media type (type/subtype)");
	if ((rc = parse_single_descriptor(doc, "subject", 0, &m->subject)))
		return rc;
	return registry__manifest_get_annotations(doc, "", &m->annotations);
}

static int parse_image(registry_manifest *m, const cJSON *doc)
{
	int rc = parse_single_descriptor(doc, "config", 1, &m->config);
	if (rc)
		return rc;
	if ((rc = parse_descriptor_array(doc, "layers", m->max_entries, &m->layers, &m->layer_count)))
		return rc;
	m->kind = REGISTRY_MANIFEST_IMAGE;
	return parse_common(m, doc);
}

static int parse_index(registry_manifest *m, const cJSON *doc)
{
	int rc = parse_descriptor_array(doc, "manifests", m->max_entries, &m->manifests, &m->manifest_count);
	if (rc)
		return rc;
	m->kind = REGISTRY_MANIFEST_INDEX;
	return parse_common(m, doc);
}

static int parse_document(registry_manifest *m, int ct_format)
{
	int rc;
	m->tree = registry__manifest_parse_json(m->raw, m->raw_len, "manifest", &rc);
	if (!m->tree)
		return rc;
	if (!cJSON_IsObject(m->tree))
		return registry__fail(REGISTRY_EFORMAT, "manifest: the document is not a JSON object");
	int present;
	int64_t version;
	if ((rc = registry__manifest_get_int(m->tree, "schemaVersion", "", &present, &version)))
		return rc;
	if (!present)
		return registry__manifest_fail_field(REGISTRY_EFORMAT, "schemaVersion", "missing");
	if (version != 1 && version != 2)
		return registry__fail(REGISTRY_EUNSUPPORTED, "manifest: unsupported schemaVersion %lld",
		                      (long long)version);
	int format = FORMAT_UNKNOWN;
	if ((rc = resolve_format(m->tree, ct_format, version, &format)) || (rc = check_shape(m->tree, format)))
		return rc;
	m->schema_version = (int)version;
	m->media_type = registry__manifest_format_media_type(format);
	if (is_schema1(format))
		return registry__manifest_parse_schema1(m, format == FORMAT_SCHEMA1_SIGNED);
	if ((rc = registry__digest_buffer(m->digest, REGISTRY_DIGEST_SHA256, m->raw,
	                                  m->raw_len)))
		return rc;
	return is_index(format) ? parse_index(m, m->tree) : parse_image(m, m->tree);
}

void registry_manifest_free(registry_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->layer_count; i++)
		registry__manifest_descriptor_clear(&m->layers[i]);
	for (size_t i = 0; i < m->manifest_count; i++)
		registry__manifest_descriptor_clear(&m->manifests[i]);
	free(m->layers);
	free(m->manifests);
	registry__manifest_descriptor_clear(m->config);
	free(m->config);
	registry__manifest_descriptor_clear(m->subject);
	free(m->subject);
	free(m->annotations.keys);
	free(m->annotations.values);
	free(m->history);
	free(m->history_throwaway);
	cJSON_Delete(m->tree);
	free(m->raw);
	free(m);
}

int registry_manifest_parse_options_init(registry_manifest_parse_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_manifest_parse_options_init: NULL options");
	*opts = (registry_manifest_parse_options)REGISTRY_MANIFEST_PARSE_OPTIONS_INIT;
	return 0;
}

int registry_manifest_parse(registry_manifest **out, const void *data, size_t len, const char *media_type,
                            const registry_manifest_parse_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!out)
		return registry__fail(REGISTRY_EINVAL, "registry_manifest_parse: NULL out parameter");
	*out = NULL;
	size_t max = REGISTRY_MANIFEST_MAX_SIZE_DEFAULT;
	if (opts) {
		if ((rc = registry__options_check("registry_manifest_parse", opts->version,
		                                  REGISTRY_MANIFEST_PARSE_OPTIONS_VERSION, opts->flags, 0)))
			return rc;
		if (opts->max_size)
			max = opts->max_size;
	}
	return registry__manifest_parse_limited(out, data, len, media_type, max, MANIFEST_MAX_ENTRIES);
}

int registry__manifest_parse_limited(registry_manifest **out, const void *data, size_t len, const char *media_type,
                            size_t max, size_t max_entries)
{
	int rc;
	*out = NULL;
	if (!data && len)
		return registry__fail(REGISTRY_EINVAL, "registry_manifest_parse: NULL data");
	if (len > max)
		return registry__fail(REGISTRY_ETOOLARGE, "manifest: %zu bytes exceed the limit of %zu bytes",
		                      len, max);
	if (len == 0)
		return registry__fail(REGISTRY_EFORMAT, "manifest: empty document");
	int ct_format;
	if ((rc = content_type_format(media_type, &ct_format)))
		return rc;

	registry_manifest *m = calloc(1, sizeof(*m));
	if (!m || !(m->raw = malloc(len + 1))) {
		free(m);
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	}
	memcpy(m->raw, data, len);
	m->raw[len] = '\0'; /* cJSON gets a terminated copy */
	m->raw_len = len;
	m->max_entries = max_entries;
	if ((rc = parse_document(m, ct_format))) {
		registry_manifest_free(m);
		return rc;
	}
	*out = m;
	return 0;
}


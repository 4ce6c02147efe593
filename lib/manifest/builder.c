/*
 * Building manifests to push: descriptors in, deterministic bytes out (the
 * layout docker/distribution writes, see manifest.h), parsed back so the
 * result has a digest and passes every check a downloaded manifest passes.
 */
#include <stdlib.h>
#include <string.h>

#include "manifest_impl.h"

typedef struct bstrs {
	size_t count;
	char **items;
} bstrs;

typedef struct bkv {
	size_t count;
	char **keys; /* kept sorted bytewise: that is the serialization order */
	char **values;
} bkv;

typedef struct bdesc {
	char *media_type;
	char *digest;
	int64_t size;
	char *artifact_type;
	bstrs urls;
	bkv annotations;
	int has_platform;
	char *os;
	char *arch;
	char *variant;
	char *os_version;
	bstrs os_features;
	bstrs features;
} bdesc;

struct registry_manifest_builder {
	int format;
	bdesc *config;
	bdesc *subject;
	bdesc *items; /* layers or index entries */
	size_t count;
	size_t cap;
	char *artifact_type;
	bkv annotations;
	size_t max_size;    /* 0: REGISTRY_MANIFEST_MAX_SIZE_DEFAULT */
	size_t max_entries; /* 0: MANIFEST_MAX_ENTRIES */
};

void registry__manifest_builder_set_limits(registry_manifest_builder *b, size_t max_size, size_t max_entries)
{
	b->max_size = max_size;
	b->max_entries = max_entries;
}

static size_t max_size_of(const registry_manifest_builder *b)
{
	return b->max_size ? b->max_size : REGISTRY_MANIFEST_MAX_SIZE_DEFAULT;
}

static size_t max_entries_of(const registry_manifest_builder *b)
{
	return b->max_entries ? b->max_entries : MANIFEST_MAX_ENTRIES;
}

static void strs_free(bstrs *s)
{
	for (size_t i = 0; i < s->count; i++)
		free(s->items[i]);
	free(s->items);
	memset(s, 0, sizeof(*s));
}

static void kv_free(bkv *kv)
{
	for (size_t i = 0; i < kv->count; i++) {
		free(kv->keys[i]);
		free(kv->values[i]);
	}
	free(kv->keys);
	free(kv->values);
	memset(kv, 0, sizeof(*kv));
}

static void bdesc_free(bdesc *d)
{
	if (!d)
		return;
	free(d->media_type);
	free(d->digest);
	free(d->artifact_type);
	strs_free(&d->urls);
	kv_free(&d->annotations);
	free(d->os);
	free(d->arch);
	free(d->variant);
	free(d->os_version);
	strs_free(&d->os_features);
	strs_free(&d->features);
	memset(d, 0, sizeof(*d));
}

static int is_index(const registry_manifest_builder *b)
{
	return b->format == FORMAT_DOCKER_LIST || b->format == FORMAT_OCI_INDEX;
}

static int is_docker(const registry_manifest_builder *b)
{
	return b->format == FORMAT_DOCKER_V2 || b->format == FORMAT_DOCKER_LIST;
}

static int oom(void)
{
	return registry__fail(REGISTRY_ENOMEM, "out of memory");
}

static int check_text(const char *s, const char *what)
{
	if (!s)
		return registry__fail(REGISTRY_EINVAL, "manifest builder: NULL %s", what);
	if (!registry__manifest_utf8_valid(s, strlen(s)))
		return registry__fail(REGISTRY_EINVAL, "manifest builder: %s is not valid UTF-8", what);
	return 0;
}

static int check_media_type(const char *s, const char *what)
{
	if (!s)
		return registry__fail(REGISTRY_EINVAL, "manifest builder: NULL %s", what);
	if (!registry__manifest_media_type_valid(s))
		return registry__fail(REGISTRY_EINVAL, "manifest builder: %s \"%.100s\" is not a valid media type",
		                      what, registry__manifest_utf8_valid(s, strlen(s)) ? s : "?");
	return 0;
}

static int check_descriptor(const char *media_type, const char *digest, int64_t size)
{
	int rc = check_media_type(media_type, "media type");
	if (rc)
		return rc;
	if (size < 0 || (double)size > MANIFEST_MAX_SAFE_INTEGER)
		return registry__fail(REGISTRY_EINVAL, "manifest builder: size %lld outside [0, 2^53)",
		                      (long long)size);
	/* registry_digest_validate() gives EINVAL, EFORMAT or EUNSUPPORTED with its message. */
	return registry_digest_validate(digest);
}

static int dup_into(char **slot, const char *s)
{
	if (!s)
		return 0;
	return (*slot = strdup(s)) ? 0 : oom();
}

static int kv_set(bkv *kv, const char *key, const char *value)
{
	size_t i = 0;
	int cmp = 1;
	while (i < kv->count && (cmp = strcmp(kv->keys[i], key)) < 0)
		i++;
	char *v = strdup(value);
	if (!v)
		return oom();
	if (i < kv->count && cmp == 0) {
		free(kv->values[i]);
		kv->values[i] = v;
		return 0;
	}
	if (kv->count >= MANIFEST_MAX_ANNOTATIONS) {
		free(v);
		return registry__fail(REGISTRY_EINVAL, "manifest builder: too many annotations");
	}
	char *k = strdup(key);
	char **keys = realloc(kv->keys, (kv->count + 1) * sizeof(*keys));
	if (keys)
		kv->keys = keys;
	char **values = keys ? realloc(kv->values, (kv->count + 1) * sizeof(*values)) : NULL;
	if (values)
		kv->values = values;
	if (!k || !keys || !values) {
		free(k);
		free(v);
		return oom();
	}
	memmove(kv->keys + i + 1, kv->keys + i, (kv->count - i) * sizeof(*keys));
	memmove(kv->values + i + 1, kv->values + i, (kv->count - i) * sizeof(*values));
	kv->keys[i] = k;
	kv->values[i] = v;
	kv->count++;
	return 0;
}

static int check_annotation(const char *key, const char *value)
{
	int rc;
	if ((rc = check_text(key, "annotation key")) || (rc = check_text(value, "annotation value")))
		return rc;
	if (!*key)
		return registry__fail(REGISTRY_EINVAL, "manifest builder: empty annotation key");
	return 0;
}

static int strs_copy(bstrs *dst, const manifest_strlist *src)
{
	if (!src->count)
		return 0;
	dst->items = calloc(src->count, sizeof(*dst->items));
	if (!dst->items)
		return oom();
	for (size_t i = 0; i < src->count; i++) {
		if (!(dst->items[i] = strdup(src->items[i])))
			return oom();
		dst->count++;
	}
	return 0;
}

static int set_platform(bdesc *d, const char *os, const char *arch, const char *variant)
{
	int rc;
	if (!os && !arch && !variant)
		return 0;
	if (!os || !arch || !*os || !*arch)
		return registry__fail(REGISTRY_EINVAL, "manifest builder: a platform needs both os and architecture");
	if ((rc = check_text(os, "os")) || (rc = check_text(arch, "architecture")) ||
	    (variant && (rc = check_text(variant, "variant"))))
		return rc;
	d->has_platform = 1;
	if ((rc = dup_into(&d->os, os)) || (rc = dup_into(&d->arch, arch)) ||
	    (variant && *variant && (rc = dup_into(&d->variant, variant))))
		return rc;
	return 0;
}

static int fill(bdesc *d, const char *media_type, const char *digest, int64_t size)
{
	int rc = check_descriptor(media_type, digest, size);
	if (rc)
		return rc;
	d->size = size;
	if ((rc = dup_into(&d->media_type, media_type)) || (rc = dup_into(&d->digest, digest)))
		return rc;
	return 0;
}

/* Make room for one more entry; the new slot is zeroed. */
static bdesc *new_item(registry_manifest_builder *b)
{
	if (b->count >= max_entries_of(b)) {
		registry__fail(REGISTRY_EINVAL, "manifest builder: more than %zu entries", max_entries_of(b));
		return NULL;
	}
	if (b->count == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;
		bdesc *p = realloc(b->items, cap * sizeof(*p));
		if (!p) {
			oom();
			return NULL;
		}
		b->items = p;
		b->cap = cap;
	}
	bdesc *d = &b->items[b->count];
	memset(d, 0, sizeof(*d));
	return d;
}

static int entry_checks(registry_manifest_builder *b, int want_index)
{
	REGISTRY__ENTER(rc);
	if (!b)
		return registry__fail(REGISTRY_EINVAL, "manifest builder: NULL builder");
	if (want_index >= 0 && is_index(b) != want_index)
		return registry__fail(REGISTRY_EINVAL, "manifest builder: %s takes %s",
		                      registry__manifest_format_media_type(b->format),
		                      is_index(b) ? "manifests, not config or layers" : "config and layers, not manifests");
	return 0;
}

int registry_manifest_builder_new(registry_manifest_builder **out, const char *media_type)
{
	REGISTRY__ENTER(rc);
	if (!out || !media_type)
		return registry__fail(REGISTRY_EINVAL, "registry_manifest_builder_new: NULL argument");
	*out = NULL;
	int format = registry__manifest_format_from_media_type(media_type, strlen(media_type));
	if (format != FORMAT_DOCKER_V2 && format != FORMAT_DOCKER_LIST && format != FORMAT_OCI_MANIFEST &&
	    format != FORMAT_OCI_INDEX)
		return registry__fail(REGISTRY_EUNSUPPORTED, "manifest builder: cannot build \"%.100s\"",
		                      registry__manifest_utf8_valid(media_type, strlen(media_type)) ? media_type : "?");
	registry_manifest_builder *b = calloc(1, sizeof(*b));
	if (!b)
		return oom();
	b->format = format;
	*out = b;
	return 0;
}

void registry_manifest_builder_free(registry_manifest_builder *b)
{
	if (!b)
		return;
	bdesc_free(b->config);
	free(b->config);
	bdesc_free(b->subject);
	free(b->subject);
	for (size_t i = 0; i < b->count; i++)
		bdesc_free(&b->items[i]);
	free(b->items);
	free(b->artifact_type);
	kv_free(&b->annotations);
	free(b);
}

/* Commit or roll back the slot new_item() prepared. */
static int finish_item(registry_manifest_builder *b, bdesc *d, int rc)
{
	if (rc) {
		bdesc_free(d);
		return rc;
	}
	b->count++;
	return 0;
}

int registry_descriptor_spec_init(registry_descriptor_spec *spec)
{
	REGISTRY__ENTER(rc);
	if (!spec)
		return registry__fail(REGISTRY_EINVAL, "registry_descriptor_spec_init: NULL spec");
	registry_descriptor_spec init = REGISTRY_DESCRIPTOR_SPEC_INIT;
	*spec = init;
	return 0;
}

/* Copy a caller's NULL-terminated list (at most MANIFEST_MAX_LIST items,
 * the parser's bound, so that what we build parses back). */
static int strs_from(bstrs *dst, const char *const *src, const char *what)
{
	size_t n = 0;
	while (src && src[n])
		if (++n > MANIFEST_MAX_LIST)
			return registry__fail(REGISTRY_EINVAL, "manifest builder: more than %d %s", MANIFEST_MAX_LIST,
			                      what);
	if (!n)
		return 0;
	if (!(dst->items = calloc(n, sizeof(*dst->items))))
		return oom();
	int rc;
	for (size_t i = 0; i < n; i++) {
		if ((rc = check_text(src[i], what)))
			return rc;
		if (!*src[i])
			return registry__fail(REGISTRY_EINVAL, "manifest builder: empty string in %s", what);
		if (!(dst->items[i] = strdup(src[i])))
			return oom();
		dst->count++;
	}
	return 0;
}

/* Key, value pairs up to a NULL key: a NULL value is an odd list. */
static int annotations_from(bkv *kv, const char *const *pairs)
{
	int rc;
	for (size_t i = 0; pairs && pairs[i]; i += 2) {
		if (!pairs[i + 1])
			return registry__fail(REGISTRY_EINVAL, "manifest builder: annotation \"%.100s\" has no value "
			                      "(the list must be key, value pairs)", pairs[i]);
		if ((rc = check_annotation(pairs[i], pairs[i + 1])) || (rc = kv_set(kv, pairs[i], pairs[i + 1])))
			return rc;
	}
	return 0;
}

static int fill_spec(bdesc *d, const registry_descriptor_spec *spec)
{
	int rc;
	if ((rc = fill(d, spec->media_type, spec->digest, spec->size)))
		return rc;
	if (spec->artifact_type && ((rc = check_media_type(spec->artifact_type, "artifactType")) ||
	                            (rc = dup_into(&d->artifact_type, spec->artifact_type))))
		return rc;
	if ((rc = strs_from(&d->urls, spec->urls, "urls")) || (rc = annotations_from(&d->annotations, spec->annotations)))
		return rc;
	if (!spec->os && !spec->architecture && (spec->variant || spec->os_version || spec->os_features))
		return registry__fail(REGISTRY_EINVAL, "manifest builder: platform fields without os and architecture");
	if ((rc = set_platform(d, spec->os, spec->architecture, spec->variant)))
		return rc;
	if (spec->os_version && ((rc = check_text(spec->os_version, "os.version")) ||
	                         (rc = dup_into(&d->os_version, spec->os_version))))
		return rc;
	return strs_from(&d->os_features, spec->os_features, "os.features");
}

/* A spec given to @fn: present, of a version we know. */
static int check_spec(const char *fn, const registry_descriptor_spec *spec)
{
	if (!spec)
		return registry__fail(REGISTRY_EINVAL, "%s: NULL spec", fn);
	return registry__options_check(fn, spec->version, REGISTRY_DESCRIPTOR_SPEC_VERSION, 0, 0);
}

/* Config, layers and subject are not index entries: a platform there would be
 * written into a manifest no reader expects it in. */
static int check_no_platform(const char *fn, const registry_descriptor_spec *spec)
{
	if (spec->os || spec->architecture || spec->variant || spec->os_version || spec->os_features)
		return registry__fail(REGISTRY_EINVAL, "%s: only index entries have a platform", fn);
	return 0;
}

/* Replace *slot with a new single descriptor (config or subject) made from @spec. */
static int set_single(const char *fn, bdesc **slot, const registry_descriptor_spec *spec)
{
	int rc;
	if ((rc = check_spec(fn, spec)) || (rc = check_no_platform(fn, spec)))
		return rc;
	bdesc *d = calloc(1, sizeof(*d));
	if (!d)
		return oom();
	if ((rc = fill_spec(d, spec))) {
		bdesc_free(d);
		free(d);
		return rc;
	}
	bdesc_free(*slot);
	free(*slot);
	*slot = d;
	return 0;
}

int registry_manifest_builder_set_config(registry_manifest_builder *b, const registry_descriptor_spec *spec)
{
	int rc = entry_checks(b, 0);
	if (rc)
		return rc;
	return set_single("registry_manifest_builder_set_config", &b->config, spec);
}

int registry_manifest_builder_set_subject(registry_manifest_builder *b, const registry_descriptor_spec *spec)
{
	int rc = entry_checks(b, -1);
	if (rc)
		return rc;
	if (is_docker(b))
		return registry__fail(REGISTRY_EINVAL, "manifest builder: Docker manifests have no subject");
	return set_single("registry_manifest_builder_set_subject", &b->subject, spec);
}

int registry_manifest_builder_add_layer(registry_manifest_builder *b, const registry_descriptor_spec *spec)
{
	static const char fn[] = "registry_manifest_builder_add_layer";
	int rc = entry_checks(b, 0);
	if (rc || (rc = check_spec(fn, spec)) || (rc = check_no_platform(fn, spec)))
		return rc;
	bdesc *d = new_item(b);
	if (!d)
		return registry_error_code(registry_error_last());
	return finish_item(b, d, fill_spec(d, spec));
}

int registry_manifest_builder_add_manifest(registry_manifest_builder *b, const registry_descriptor_spec *spec)
{
	int rc = entry_checks(b, 1);
	if (rc)
		return rc;
	if ((rc = check_spec("registry_manifest_builder_add_manifest", spec)))
		return rc;
	if (b->format == FORMAT_DOCKER_LIST && (!spec->os || !spec->architecture))
		return registry__fail(REGISTRY_EINVAL, "manifest builder: Docker list entries need a platform");
	bdesc *d = new_item(b);
	if (!d)
		return registry_error_code(registry_error_last());
	return finish_item(b, d, fill_spec(d, spec));
}

static int copy_descriptor(bdesc *d, const registry_descriptor *src, int docker_list)
{
	int rc;
	if (src->size < 0)
		return registry__fail(REGISTRY_EINVAL, "manifest builder: descriptor %s has no known size",
		                      src->digest ? src->digest : "?");
	if ((rc = fill(d, src->media_type, src->digest, src->size)))
		return rc;
	if (src->artifact_type && ((rc = check_media_type(src->artifact_type, "artifactType")) ||
	                           (rc = dup_into(&d->artifact_type, src->artifact_type))))
		return rc;
	if ((rc = strs_copy(&d->urls, &src->urls)))
		return rc;
	for (size_t i = 0; i < src->annotations.count; i++)
		if ((rc = kv_set(&d->annotations, src->annotations.keys[i], src->annotations.values[i])))
			return rc;
	if (docker_list && (!src->os || !src->architecture))
		return registry__fail(REGISTRY_EINVAL, "manifest builder: Docker list entries need a platform");
	if (src->has_platform) {
		if ((rc = set_platform(d, src->os, src->architecture, src->variant)) ||
		    (rc = dup_into(&d->os_version, src->os_version)) ||
		    (rc = strs_copy(&d->os_features, &src->os_features)) ||
		    (rc = strs_copy(&d->features, &src->features)))
			return rc;
	}
	return 0;
}

int registry_manifest_builder_add_descriptor(registry_manifest_builder *b, const registry_descriptor *src)
{
	int rc = entry_checks(b, -1);
	if (rc)
		return rc;
	if (!src)
		return registry__fail(REGISTRY_EINVAL, "manifest builder: NULL descriptor");
	bdesc *d = new_item(b);
	if (!d)
		return registry_error_code(registry_error_last());
	return finish_item(b, d, copy_descriptor(d, src, b->format == FORMAT_DOCKER_LIST));
}

int registry_manifest_builder_set_annotation(registry_manifest_builder *b, const char *key, const char *value)
{
	int rc = entry_checks(b, -1);
	if (rc || (rc = check_annotation(key, value)))
		return rc;
	return kv_set(&b->annotations, key, value);
}

int registry_manifest_builder_set_artifact_type(registry_manifest_builder *b, const char *artifact_type)
{
	int rc = entry_checks(b, -1);
	if (rc)
		return rc;
	if (is_docker(b))
		return registry__fail(REGISTRY_EINVAL, "manifest builder: Docker manifests have no artifactType");
	if (artifact_type && (rc = check_media_type(artifact_type, "artifactType")))
		return rc;
	char *copy = NULL;
	if (artifact_type && !(copy = strdup(artifact_type)))
		return oom();
	free(b->artifact_type);
	b->artifact_type = copy;
	return 0;
}

static void write_strs(manifest_writer *w, const char *key, const bstrs *s)
{
	if (!s->count)
		return;
	registry__mw_begin_array(w, key);
	for (size_t i = 0; i < s->count; i++)
		registry__mw_string(w, NULL, s->items[i]);
	registry__mw_end_array(w);
}

static void write_kv(manifest_writer *w, const char *key, const bkv *kv)
{
	if (!kv->count)
		return;
	registry__mw_begin_object(w, key);
	for (size_t i = 0; i < kv->count; i++)
		registry__mw_string(w, kv->keys[i], kv->values[i]);
	registry__mw_end_object(w);
}

static void write_desc(manifest_writer *w, const char *key, const bdesc *d, int platform_required)
{
	registry__mw_begin_object(w, key);
	registry__mw_string(w, "mediaType", d->media_type);
	registry__mw_int(w, "size", d->size);
	registry__mw_string(w, "digest", d->digest);
	if (d->artifact_type)
		registry__mw_string(w, "artifactType", d->artifact_type);
	write_strs(w, "urls", &d->urls);
	write_kv(w, "annotations", &d->annotations);
	if (d->has_platform || platform_required) {
		registry__mw_begin_object(w, "platform");
		registry__mw_string(w, "architecture", d->arch ? d->arch : "");
		registry__mw_string(w, "os", d->os ? d->os : "");
		if (d->os_version)
			registry__mw_string(w, "os.version", d->os_version);
		write_strs(w, "os.features", &d->os_features);
		if (d->variant)
			registry__mw_string(w, "variant", d->variant);
		write_strs(w, "features", &d->features);
		registry__mw_end_object(w);
	}
	registry__mw_end_object(w);
}

int registry_manifest_builder_build(registry_manifest **out, const registry_manifest_builder *b)
{
	REGISTRY__ENTER(rc);
	if (!out || !b)
		return registry__fail(REGISTRY_EINVAL, "registry_manifest_builder_build: NULL argument");
	*out = NULL;
	if (!is_index(b) && !b->config)
		return registry__fail(REGISTRY_EINVAL, "manifest builder: an image manifest needs a config");
	manifest_writer w;
	registry__mw_init(&w, 3, max_size_of(b));
	registry__mw_begin_object(&w, NULL);
	registry__mw_int(&w, "schemaVersion", 2);
	registry__mw_string(&w, "mediaType", registry__manifest_format_media_type(b->format));
	if (b->artifact_type)
		registry__mw_string(&w, "artifactType", b->artifact_type);
	if (!is_index(b))
		write_desc(&w, "config", b->config, 0);
	registry__mw_begin_array(&w, is_index(b) ? "manifests" : "layers");
	for (size_t i = 0; i < b->count; i++)
		write_desc(&w, NULL, &b->items[i], b->format == FORMAT_DOCKER_LIST);
	registry__mw_end_array(&w);
	if (b->subject)
		write_desc(&w, "subject", b->subject, 0);
	write_kv(&w, "annotations", &b->annotations);
	registry__mw_end_object(&w);
	if (w.rc) {
		registry__buf_free(&w.buf);
		return w.rc == REGISTRY_ETOOLARGE
		               ? registry__fail(REGISTRY_ETOOLARGE, "manifest builder: the manifest exceeds %zu bytes",
		                                max_size_of(b))
		               : oom();
	}
	rc = registry__manifest_parse_limited(out, w.buf.data, w.buf.len, registry__manifest_format_media_type(b->format),
	                             max_size_of(b), max_entries_of(b));
	registry__buf_free(&w.buf);
	return rc;
}

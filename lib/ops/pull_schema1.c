/*
 * Docker schema1 images: their v1 history read again, the image config
 * skopeo 1.9 (containers/image) synthesizes for them, and their conversion
 * to an OCI manifest.
 *
 * containers/image builds a Docker config from the newest v1Compatibility
 * and the history, then converts that to an OCI config by decoding it into
 * the OCI image struct and encoding it again. The result keeps only the OCI
 * fields, in the struct's order, with Go's encoding (maps sorted, HTML-safe
 * strings, time stamps normalized, empty fields omitted). We write the same
 * bytes, so the same schema1 image gets the same config digest (and image
 * id) here as with skopeo.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "manifest/manifest_impl.h"
#include "pull_impl.h"

static int oom(void)
{
	return registry__fail(REGISTRY_ENOMEM, "out of memory");
}

static int buf_rc(int rc)
{
	return rc == 0 ? 0 : rc == REGISTRY_ENOMEM ? oom() : registry__fail(rc, "config too large");
}

/* A struct field as Go's decoder finds it: the exact name, else one that differs in case. */
static const cJSON *go_field(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (v || !cJSON_IsObject(obj))
		return v;
	const cJSON *c;
	cJSON_ArrayForEach(c, obj)
		if (c->string && strcasecmp(c->string, name) == 0)
			return c;
	return NULL;
}

/* A string field: NULL when absent or null; REGISTRY_EFORMAT for another type (Go fails too). */
static int go_string_field(const cJSON *obj, const char *name, const char **out)
{
	const cJSON *v = go_field(obj, name);
	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return registry__fail(REGISTRY_EFORMAT, "schema1 v1Compatibility: \"%s\" is not a string", name);
	*out = v->valuestring;
	return 0;
}

void registry__schema1_free(registry__schema1 *s)
{
	if (!s)
		return;
	if (s->v1trees)
		for (size_t i = 0; i < s->count; i++)
			cJSON_Delete(s->v1trees[i]);
	free(s->v1trees);
	free(s->blob_sums);
	free(s->v1);
	free(s->ids);
	free(s->parents);
	free(s->throwaway);
	cJSON_Delete(s->tree);
	memset(s, 0, sizeof(*s));
}

static int v1_id_valid(const char *id)
{
	if (!id || strlen(id) != 64)
		return 0;
	for (size_t i = 0; i < 64; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return 1;
}

/* As Docker and containers/image require: hex ids, each once, each the parent of the next. */
static int check_chain(const registry__schema1 *s, const char *digest)
{
	for (size_t i = 0; i < s->count; i++) {
		if (!v1_id_valid(s->ids[i]))
			return registry__fail(REGISTRY_EFORMAT, "schema1 %s: v1 id of history entry %zu is not 64 hex digits",
			                      digest, s->count - 1 - i);
		const char *want = i ? s->ids[i - 1] : NULL;
		const char *parent = s->parents[i] && *s->parents[i] ? s->parents[i] : NULL;
		if ((want == NULL) != (parent == NULL) || (want && parent && strcmp(want, parent) != 0))
			return registry__fail(REGISTRY_EFORMAT, "schema1 %s: v1 id %s does not follow its parent", digest,
			                      s->ids[i]);
		for (size_t k = 0; k < i; k++)
			if (strcmp(s->ids[k], s->ids[i]) == 0) // NOLINT(clang-analyzer-core.NonNullParamChecker): ids[0..i] were checked above
				return registry__fail(REGISTRY_EFORMAT, "schema1 %s: v1 id %s appears twice", digest, s->ids[i]);
	}
	return 0;
}

static int load_entry(registry__schema1 *s, const cJSON *f, const cJSON *h, const char *digest, size_t k)
{
	const cJSON *sum = cJSON_GetObjectItemCaseSensitive(f, "blobSum");
	const cJSON *v1 = cJSON_GetObjectItemCaseSensitive(h, "v1Compatibility");
	cJSON *tree = cJSON_IsString(v1) ? cJSON_Parse(v1->valuestring) : NULL;
	const char *id = NULL, *parent = NULL;
	const cJSON *throwaway = go_field(tree, "throwaway");
	int rc = 0;
	if (!cJSON_IsString(sum) || registry_digest_validate(sum->valuestring) != 0 || !cJSON_IsObject(tree) ||
	    (throwaway && !cJSON_IsBool(throwaway) && !cJSON_IsNull(throwaway)))
		rc = registry__fail(REGISTRY_EFORMAT, "schema1 %s: history entry %zu is malformed", digest, k);
	if (!rc && !(rc = go_string_field(tree, "id", &id)))
		rc = go_string_field(tree, "parent", &parent);
	if (rc) {
		cJSON_Delete(tree);
		return rc;
	}
	/* An entry repeating the v1 id below it is the same image: the older one stays. */
	if (s->count && id && s->ids[s->count - 1] && strcmp(id, s->ids[s->count - 1]) == 0) {
		cJSON_Delete(tree);
		return 0;
	}
	size_t i = s->count++;
	s->v1trees[i] = tree;
	s->blob_sums[i] = sum->valuestring;
	s->v1[i] = v1->valuestring;
	s->ids[i] = id;
	s->parents[i] = parent;
	s->throwaway[i] = cJSON_IsTrue(throwaway);
	return 0;
}

int registry__schema1_load(registry__schema1 *s, const registry_manifest *m)
{
	memset(s, 0, sizeof(*s));
	if (registry_manifest_schema_version(m) != 1)
		return registry__fail(REGISTRY_EINVAL, "not a schema1 manifest");
	const char *digest = registry_manifest_digest(m);
	size_t len = 0;
	const char *raw = registry_manifest_raw(m, &len);
	cJSON *tree = cJSON_ParseWithLength(raw, len);
	const cJSON *fs = cJSON_GetObjectItemCaseSensitive(tree, "fsLayers");
	const cJSON *hist = cJSON_GetObjectItemCaseSensitive(tree, "history");
	size_t n = (size_t)cJSON_GetArraySize(fs);
	if (!tree || !cJSON_IsArray(fs) || !cJSON_IsArray(hist) || n == 0 ||
	    n != (size_t)cJSON_GetArraySize(hist) || n > MANIFEST_MAX_ENTRIES) {
		cJSON_Delete(tree);
		return registry__fail(REGISTRY_EFORMAT, "schema1 %s: fsLayers and history do not match", digest);
	}
	s->tree = tree;
	s->blob_sums = calloc(n, sizeof(char *));
	s->v1 = calloc(n, sizeof(char *));
	s->ids = calloc(n, sizeof(char *));
	s->parents = calloc(n, sizeof(char *));
	s->throwaway = calloc(n, 1);
	s->v1trees = calloc(n, sizeof(void *));
	int rc = 0;
	if (!s->blob_sums || !s->v1 || !s->ids || !s->parents || !s->throwaway || !s->v1trees)
		rc = oom();
	/* The documents run top first; the model runs base first. */
	for (size_t k = n; !rc && k-- > 0;)
		rc = load_entry(s, cJSON_GetArrayItem(fs, (int)k), cJSON_GetArrayItem(hist, (int)k), digest, k);
	if (!rc)
		rc = check_chain(s, digest);
	if (rc)
		registry__schema1_free(s);
	return rc;
}

/* ------------------------------------------------------------ Go encoding */

/* Go's time.Time round trip of an RFC 3339 text: fraction without trailing zeros, zero offset as Z. */
static int go_time(registry__buf *b, const char *t)
{
	if (!t)
		return registry__json_go_string(b, "0001-01-01T00:00:00Z");
	size_t n = strlen(t);
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	int ok = n >= 20 && n < 64;
	for (size_t i = 0; ok && i < 19; i++)
		ok = shape[i] == 'd' ? (t[i] >= '0' && t[i] <= '9') : t[i] == shape[i];
	size_t i = 19, frac_end = 19;
	if (ok && t[i] == '.') {
		i++;
		while (i < n && t[i] >= '0' && t[i] <= '9')
			i++;
		ok = i > 20;
		frac_end = i;
		while (frac_end > 20 && t[frac_end - 1] == '0')
			frac_end--;
		if (frac_end == 20)
			frac_end = 19;
	}
	const char *zone = ok ? t + i : "";
	ok = ok && (strcmp(zone, "Z") == 0 || (strlen(zone) == 6 && (zone[0] == '+' || zone[0] == '-') &&
	                                        zone[1] >= '0' && zone[1] <= '9' && zone[2] >= '0' &&
	                                        zone[2] <= '9' && zone[3] == ':' && zone[4] >= '0' &&
	                                        zone[4] <= '9' && zone[5] >= '0' && zone[5] <= '9'));
	if (!ok)
		return registry__fail(REGISTRY_EFORMAT, "schema1: \"created\" is not an RFC 3339 time: %.64s", t);
	char out[64];
	memcpy(out, t, frac_end);
	int utc = strcmp(zone, "Z") == 0 || strcmp(zone + 1, "00:00") == 0;
	const char *z = utc ? "Z" : zone;
	memcpy(out + frac_end, z, strlen(z) + 1); /* frac_end + strlen(zone) <= n < 64 */
	return registry__json_go_string(b, out);
}

/* "," before every member but the first, then "name": */
static int member(registry__buf *b, int *first, const char *name)
{
	int rc = *first ? 0 : registry__buf_append(b, ",", 1);
	*first = 0;
	if (!rc)
		rc = registry__buf_printf(b, "\"%s\":", name);
	return buf_rc(rc);
}

static int string_member(registry__buf *b, int *first, const cJSON *obj, const char *name, int always)
{
	const char *v = NULL;
	int rc = go_string_field(obj, name, &v);
	if (rc || (!always && (!v || !*v)))
		return rc;
	if ((rc = member(b, first, name)))
		return rc;
	return registry__json_go_string(b, v ? v : "");
}

/* []string, omitted when empty; null entries decode to "". */
static int strings_member(registry__buf *b, int *first, const cJSON *obj, const char *name)
{
	const cJSON *v = go_field(obj, name), *e;
	if (!v || cJSON_IsNull(v) || (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 0))
		return 0;
	if (!cJSON_IsArray(v))
		return registry__fail(REGISTRY_EFORMAT, "schema1 config: \"%s\" is not a list of strings", name);
	int rc = member(b, first, name);
	int k = 0;
	if (!rc)
		rc = buf_rc(registry__buf_append(b, "[", 1));
	cJSON_ArrayForEach(e, v) {
		if (rc)
			break;
		if (!cJSON_IsString(e) && !cJSON_IsNull(e))
			return registry__fail(REGISTRY_EFORMAT, "schema1 config: \"%s\" is not a list of strings", name);
		if (k++)
			rc = buf_rc(registry__buf_append(b, ",", 1));
		if (!rc)
			rc = registry__json_go_string(b, cJSON_IsString(e) ? e->valuestring : "");
	}
	return rc ? rc : buf_rc(registry__buf_append(b, "]", 1));
}

typedef struct keyed {
	const char *key;
	const cJSON *value;
	size_t order;
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
	const keyed *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : (x->order < y->order ? -1 : x->order > y->order);
}

/*
 * A Go map, keys sorted, omitted when empty: map[string]struct{} (@as_set:
 * every value an object, written {}) or map[string]string.
 */
static int map_member(registry__buf *b, int *first, const cJSON *obj, const char *name, int as_set)
{
	const cJSON *v = go_field(obj, name), *e;
	if (!v || cJSON_IsNull(v) || (cJSON_IsObject(v) && cJSON_GetArraySize(v) == 0))
		return 0;
	if (!cJSON_IsObject(v))
		return registry__fail(REGISTRY_EFORMAT, "schema1 config: \"%s\" is not an object", name);
	size_t n = (size_t)cJSON_GetArraySize(v), k = 0;
	keyed *items = calloc(n, sizeof(*items));
	if (!items)
		return oom();
	int rc = 0;
	cJSON_ArrayForEach(e, v) {
		if (as_set ? !cJSON_IsObject(e) && !cJSON_IsNull(e) : !cJSON_IsString(e) && !cJSON_IsNull(e))
			rc = registry__fail(REGISTRY_EFORMAT, "schema1 config: a value of \"%s\" has the wrong type", name);
		items[k] = (keyed){e->string, e, k};
		k++;
	}
	qsort(items, n, sizeof(*items), cmp_keyed);
	if (!rc)
		rc = member(b, first, name);
	if (!rc)
		rc = buf_rc(registry__buf_append(b, "{", 1));
	int written = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		if (i + 1 < n && strcmp(items[i].key, items[i + 1].key) == 0)
			continue; /* a repeated key: the last one wins */
		if (written++)
			rc = buf_rc(registry__buf_append(b, ",", 1));
		if (!rc)
			rc = registry__json_go_string(b, items[i].key);
		if (!rc)
			rc = buf_rc(registry__buf_append(b, ":", 1));
		if (!rc && as_set)
			rc = buf_rc(registry__buf_puts(b, "{}"));
		else if (!rc)
			rc = registry__json_go_string(b, cJSON_IsString(items[i].value) ? items[i].value->valuestring : "");
	}
	free(items);
	return rc ? rc : buf_rc(registry__buf_append(b, "}", 1));
}

/* The OCI ImageConfig struct, field by field. */
static int image_config(registry__buf *b, const cJSON *config)
{
	if (config && !cJSON_IsNull(config) && !cJSON_IsObject(config))
		return registry__fail(REGISTRY_EFORMAT, "schema1 v1Compatibility: \"config\" is not an object");
	int first = 1, rc = buf_rc(registry__buf_append(b, "{", 1));
	if (!rc)
		rc = string_member(b, &first, config, "User", 0);
	if (!rc)
		rc = map_member(b, &first, config, "ExposedPorts", 1);
	if (!rc)
		rc = strings_member(b, &first, config, "Env");
	if (!rc)
		rc = strings_member(b, &first, config, "Entrypoint");
	if (!rc)
		rc = strings_member(b, &first, config, "Cmd");
	if (!rc)
		rc = map_member(b, &first, config, "Volumes", 1);
	if (!rc)
		rc = string_member(b, &first, config, "WorkingDir", 0);
	if (!rc)
		rc = map_member(b, &first, config, "Labels", 0);
	if (!rc)
		rc = string_member(b, &first, config, "StopSignal", 0);
	const cJSON *escaped = go_field(config, "ArgsEscaped");
	if (!rc && escaped && !cJSON_IsBool(escaped) && !cJSON_IsNull(escaped))
		rc = registry__fail(REGISTRY_EFORMAT, "schema1 config: \"ArgsEscaped\" is not a boolean");
	if (!rc && cJSON_IsTrue(escaped) && !(rc = member(b, &first, "ArgsEscaped")))
		rc = buf_rc(registry__buf_puts(b, "true"));
	return rc ? rc : buf_rc(registry__buf_append(b, "}", 1));
}

/* One OCI History entry: created, created_by, author, comment, empty_layer. */
static int history_entry(registry__buf *b, const cJSON *v1, int throwaway)
{
	const char *created = NULL;
	int first = 1;
	int rc = go_string_field(v1, "created", &created);
	if (!rc)
		rc = member(b, &first, "created");
	if (!rc)
		rc = go_time(b, created);
	/* created_by: container_config.Cmd joined with spaces. */
	const cJSON *cc = go_field(v1, "container_config");
	const cJSON *cmd = cJSON_IsObject(cc) ? go_field(cc, "Cmd") : NULL, *part;
	if (!rc && ((cc && !cJSON_IsObject(cc) && !cJSON_IsNull(cc)) || (cmd && !cJSON_IsArray(cmd) && !cJSON_IsNull(cmd))))
		rc = registry__fail(REGISTRY_EFORMAT, "schema1 v1Compatibility: container_config.Cmd is not a list");
	registry__buf joined;
	registry__buf_init(&joined, 0);
	int k = 0;
	if (!cJSON_IsArray(cmd))
		cmd = NULL;
	cJSON_ArrayForEach(part, cmd) {
		if (rc)
			break;
		if (k++)
			rc = buf_rc(registry__buf_append(&joined, " ", 1));
		if (!rc && cJSON_IsString(part))
			rc = buf_rc(registry__buf_puts(&joined, part->valuestring));
		else if (!rc && !cJSON_IsNull(part))
			rc = registry__fail(REGISTRY_EFORMAT, "schema1 v1Compatibility: container_config.Cmd is not a list");
	}
	if (!rc && joined.len && !(rc = member(b, &first, "created_by")))
		rc = registry__json_go_string(b, joined.data);
	registry__buf_free(&joined);
	if (!rc)
		rc = string_member(b, &first, v1, "author", 0);
	if (!rc)
		rc = string_member(b, &first, v1, "comment", 0);
	if (!rc && throwaway && !(rc = member(b, &first, "empty_layer")))
		rc = buf_rc(registry__buf_puts(b, "true"));
	return rc;
}

static int write_config(registry__buf *b, const registry__schema1 *s, const char *const *diff_ids, size_t n)
{
	const cJSON *v1 = s->v1trees[s->count - 1]; /* the newest entry describes the image */
	const char *created = NULL;
	int first = 1;
	int rc = buf_rc(registry__buf_append(b, "{", 1));
	if (!rc)
		rc = go_string_field(v1, "created", &created);
	if (!rc && created && !(rc = member(b, &first, "created")))
		rc = go_time(b, created);
	if (!rc)
		rc = string_member(b, &first, v1, "author", 0);
	if (!rc)
		rc = string_member(b, &first, v1, "architecture", 1);
	if (!rc)
		rc = string_member(b, &first, v1, "variant", 0);
	if (!rc)
		rc = string_member(b, &first, v1, "os", 1);
	if (!rc)
		rc = string_member(b, &first, v1, "os.version", 0);
	if (!rc)
		rc = strings_member(b, &first, v1, "os.features");
	if (!rc && !(rc = member(b, &first, "config")))
		rc = image_config(b, go_field(v1, "config"));
	if (!rc && !(rc = member(b, &first, "rootfs")))
		rc = buf_rc(registry__buf_puts(b, n ? "{\"type\":\"layers\",\"diff_ids\":["
		                                    : "{\"type\":\"layers\",\"diff_ids\":null}"));
	for (size_t i = 0; !rc && i < n; i++) {
		if (i)
			rc = buf_rc(registry__buf_append(b, ",", 1));
		if (!rc)
			rc = registry__json_go_string(b, diff_ids[i]);
	}
	if (!rc && n)
		rc = buf_rc(registry__buf_puts(b, "]}"));
	if (!rc && !(rc = member(b, &first, "history")))
		rc = buf_rc(registry__buf_append(b, "[", 1));
	for (size_t i = 0; !rc && i < s->count; i++) {
		if (i)
			rc = buf_rc(registry__buf_append(b, ",", 1));
		if (!rc)
			rc = buf_rc(registry__buf_append(b, "{", 1));
		if (!rc)
			rc = history_entry(b, s->v1trees[i], s->throwaway[i]);
		if (!rc)
			rc = buf_rc(registry__buf_append(b, "}", 1));
	}
	return rc ? rc : buf_rc(registry__buf_puts(b, "]}"));
}

int registry__schema1_config(char **out, size_t *len, const registry__schema1 *s,
                             const char *const *diff_ids, size_t n_diff_ids)
{
	*out = NULL;
	*len = 0;
	if (!s || !s->count)
		return registry__fail(REGISTRY_EINVAL, "schema1 image without history");
	size_t layers = 0;
	for (size_t i = 0; i < s->count; i++)
		layers += !s->throwaway[i];
	if (layers != n_diff_ids)
		return registry__fail(REGISTRY_EINVAL, "schema1 image has %zu layers, %zu diff_ids given", layers,
		                      n_diff_ids);
	registry__buf b;
	registry__buf_init(&b, REGISTRY_MANIFEST_MAX_SIZE_DEFAULT * 8);
	int rc = write_config(&b, s, diff_ids, n_diff_ids);
	if (rc) {
		registry__buf_free(&b);
		return rc;
	}
	*len = b.len;
	*out = registry__buf_detach(&b);
	return 0;
}

int registry__schema1_build(registry_manifest **out, char **config, size_t *config_len, const registry__schema1 *s,
                            const char *const *diff_ids, const int64_t *sizes, const unsigned char *gzipped,
                            size_t n)
{
	*out = NULL;
	*config = NULL;
	*config_len = 0;
	char *config_digest = NULL;
	int rc = registry__schema1_config(config, config_len, s, diff_ids, n);
	if (!rc)
		rc = registry_digest_buffer(&config_digest, REGISTRY_DIGEST_SHA256, *config, *config_len);
	registry_manifest_builder *b = NULL;
	if (!rc)
		rc = registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_OCI_MANIFEST);
	if (!rc)
		rc = registry_manifest_builder_set_config(b, &(registry_descriptor_spec){
		        .version = REGISTRY_DESCRIPTOR_SPEC_VERSION, .media_type = REGISTRY_MEDIA_TYPE_OCI_CONFIG,
		        .digest = config_digest, .size = (int64_t)*config_len});
	for (size_t i = 0, k = 0; !rc && i < s->count; i++) {
		if (s->throwaway[i])
			continue;
		/* Docker pushes schema1 layers gzipped; an uncompressed one is typed as what it is. */
		rc = registry_manifest_builder_add_layer(b, &(registry_descriptor_spec){
		        .version = REGISTRY_DESCRIPTOR_SPEC_VERSION,
		        .media_type = gzipped[k] ? REGISTRY_MEDIA_TYPE_OCI_LAYER_GZIP : REGISTRY_MEDIA_TYPE_OCI_LAYER,
		        .digest = s->blob_sums[i], .size = sizes[k]});
		k++;
	}
	if (!rc)
		rc = registry_manifest_builder_build(out, b);
	registry_manifest_builder_free(b);
	registry_free(config_digest);
	if (rc) {
		free(*config);
		*config = NULL;
		*config_len = 0;
	}
	return rc;
}

int registry__convert_schema1(registry_manifest **out, registry_store *store, const registry_manifest *m,
                              registry__watch *w)
{
	*out = NULL;
	if (!registry__have_zlib())
		return registry__fail(REGISTRY_EUNSUPPORTED,
		                      "converting schema1 %s needs zlib, which this build lacks; pull with "
		                      "REGISTRY_PULL_PRESERVE_DIGESTS", registry_manifest_digest(m));
	registry__schema1 s;
	int rc = registry__schema1_load(&s, m);
	if (rc)
		return rc;
	size_t alloc = s.count ? s.count : 1; /* calloc(0) may return NULL */
	char(*diff_ids)[REGISTRY_DIGEST_STRING_MAX] = calloc(alloc, sizeof(*diff_ids));
	const char **diff_ptrs = calloc(alloc, sizeof(char *));
	int64_t *sizes = calloc(alloc, sizeof(int64_t));
	unsigned char *gzipped = calloc(alloc, 1);
	size_t n = 0, layers = 0;
	if (!diff_ids || !diff_ptrs || !sizes || !gzipped)
		rc = oom();
	for (size_t i = 0; i < s.count; i++)
		layers += !s.throwaway[i];
	registry__watch_plan(w, layers, -1);
	for (size_t i = 0; !rc && i < s.count; i++) {
		if (s.throwaway[i])
			continue;
		rc = registry_store_blob_size(&sizes[n], store, s.blob_sums[i]);
		int gz = 0;
		registry__watch_blob(w, s.blob_sums[i], sizes[n]);
		if (!rc)
			rc = registry__store_layer_diff_id(diff_ids[n], store, s.blob_sums[i], &gz, w);
		if (!rc)
			rc = registry__watch_blob_done(w);
		gzipped[n] = (unsigned char)gz;
		diff_ptrs[n] = diff_ids[n];
		n++;
	}
	char *config = NULL;
	size_t config_len = 0;
	if (!rc)
		rc = registry__schema1_build(out, &config, &config_len, &s, diff_ptrs, sizes, gzipped, n);
	if (!rc)
		rc = registry_store_add_blob(NULL, store, NULL, config, config_len);
	if (rc) {
		registry_manifest_free(*out);
		*out = NULL;
	}
	free(config);
	free(diff_ids);
	free(diff_ptrs);
	free(sizes);
	free(gzipped);
	registry__schema1_free(&s);
	return rc;
}

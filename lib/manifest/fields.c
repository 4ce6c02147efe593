/*
 * Typed reads of untrusted manifest JSON. Every failure names the field by
 * its path ("layers[2].size") so a user can find it in the document.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest/hash.h"
#include "manifest_impl.h"

#define PATH_MAX_LEN 160

int registry__manifest_fail_field(int code, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return registry__fail(code, "manifest: %s: %s", path, msg);
}

static void join(char *out, size_t size, const char *path, const char *key)
{
	if (path && *path)
		snprintf(out, size, "%s.%s", path, key);
	else
		snprintf(out, size, "%s", key);
}

static const char *type_name(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "invalid";
}

int registry__manifest_get_string(const cJSON *obj, const char *key, const char *path, int required,
                         const char **out)
{
	char p[PATH_MAX_LEN];
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	*out = NULL;
	/* Like Go's decoder, an optional field set to null is absent. */
	if (!v || (!required && cJSON_IsNull(v))) {
		if (!required)
			return 0;
		join(p, sizeof(p), path, key);
		return registry__manifest_fail_field(REGISTRY_EFORMAT, p, "missing");
	}
	if (!cJSON_IsString(v) || !v->valuestring) {
		join(p, sizeof(p), path, key);
		return registry__manifest_fail_field(REGISTRY_EFORMAT, p, "must be a string, not %s", type_name(v));
	}
	*out = v->valuestring;
	return 0;
}

/* A JSON number that is an integer in [0, 2^53). */
static int read_size(const cJSON *v, const char *p, int64_t *out)
{
	if (!cJSON_IsNumber(v))
		return registry__manifest_fail_field(REGISTRY_EFORMAT, p, "must be a number, not %s", type_name(v));
	double d = v->valuedouble;
	if (!isfinite(d) || d != floor(d))
		return registry__manifest_fail_field(REGISTRY_EFORMAT, p, "must be an integer");
	if (d < 0)
		return registry__manifest_fail_field(REGISTRY_EFORMAT, p, "must not be negative");
	if (d > MANIFEST_MAX_SAFE_INTEGER)
		return registry__manifest_fail_field(REGISTRY_EFORMAT, p, "is larger than 2^53 - 1");
	*out = (int64_t)d;
	return 0;
}

int registry__manifest_get_size(const cJSON *obj, const char *key, const char *path, int64_t *out)
{
	char p[PATH_MAX_LEN];
	join(p, sizeof(p), path, key);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		return registry__manifest_fail_field(REGISTRY_EFORMAT, p, "missing");
	return read_size(v, p, out);
}

int registry__manifest_get_int(const cJSON *obj, const char *key, const char *path, int *present, int64_t *out)
{
	char p[PATH_MAX_LEN];
	join(p, sizeof(p), path, key);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	*present = v != NULL;
	*out = 0;
	if (!v)
		return 0;
	return read_size(v, p, out);
}

int registry__manifest_get_digest(const cJSON *obj, const char *key, const char *path, const char **out)
{
	char p[PATH_MAX_LEN];
	int rc = registry__manifest_get_string(obj, key, path, 1, out);
	if (rc)
		return rc;
	/* Any algorithm of the OCI grammar: what we cannot hash is refused
	 * where its content is fetched, verified or stored. */
	rc = *out ? registry__digest_validate_grammar(*out, strlen(*out))
	          : registry__fail(REGISTRY_EFORMAT, "no digest");
	if (rc) {
		char why[512];
		snprintf(why, sizeof(why), "%s", registry_error_message(registry_error_last()));
		join(p, sizeof(p), path, key);
		*out = NULL;
		return registry__manifest_fail_field(rc, p, "%s", why);
	}
	return 0;
}

int registry__manifest_get_array(const cJSON *obj, const char *key, const char *path, int required,
                        size_t max, const cJSON **out, size_t *count)
{
	char p[PATH_MAX_LEN];
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	*out = NULL;
	*count = 0;
	join(p, sizeof(p), path, key);
	if (!v || (!required && cJSON_IsNull(v))) {
		if (required)
			return registry__manifest_fail_field(REGISTRY_EFORMAT, p, "missing");
		return 0;
	}
	if (!cJSON_IsArray(v))
		return registry__manifest_fail_field(REGISTRY_EFORMAT, p, "must be an array, not %s", type_name(v));
	size_t n = 0;
	for (const cJSON *c = v->child; c; c = c->next) {
		if (++n > max)
			return registry__manifest_fail_field(REGISTRY_EFORMAT, p, "too many entries (more than %zu)", max);
	}
	*out = v;
	*count = n;
	return 0;
}

/* RFC 6838 as the OCI spec restricts it: type/subtype, each 1-127 of [A-Za-z0-9!#$&^_.+-]. */
static int restricted_name(const char *s, size_t len)
{
	if (len == 0 || len > 127)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (i == 0 && !alnum)
			return 0;
		if (!alnum && !strchr("!#$&^_.+-", c))
			return 0;
	}
	return 1;
}

int registry__manifest_media_type_valid(const char *s)
{
	if (!s)
		return 0;
	const char *slash = strchr(s, '/');
	if (!slash)
		return 0;
	return restricted_name(s, (size_t)(slash - s)) && restricted_name(slash + 1, strlen(slash + 1));
}

static int get_media_type(const cJSON *obj, const char *key, const char *path, int required,
                          const char **out)
{
	int rc = registry__manifest_get_string(obj, key, path, required, out);
	if (rc || !*out)
		return rc;
	if (!registry__manifest_media_type_valid(*out)) {
		char p[PATH_MAX_LEN];
		join(p, sizeof(p), path, key);
		*out = NULL;
		return registry__manifest_fail_field(REGISTRY_EFORMAT, p, "not a valid media type (type/subtype)");
	}
	return 0;
}

int registry__manifest_get_annotations(const cJSON *obj, const char *path, manifest_kvlist *out)
{
	return registry__manifest_get_kvlist(obj, "annotations", path, out);
}

int registry__manifest_get_kvlist(const cJSON *obj, const char *key, const char *path, manifest_kvlist *out)
{
	char p[PATH_MAX_LEN];
	memset(out, 0, sizeof(*out));
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v || cJSON_IsNull(v))
		return 0;
	join(p, sizeof(p), path, key);
	if (!cJSON_IsObject(v))
		return registry__manifest_fail_field(REGISTRY_EFORMAT, p, "must be an object, not %s", type_name(v));
	size_t n = 0;
	for (const cJSON *c = v->child; c; c = c->next) {
		if (!cJSON_IsString(c) || !c->valuestring)
			return registry__manifest_fail_field(REGISTRY_EFORMAT, p, "value of \"%.64s\" must be a string, not %s",
			                            c->string, type_name(c));
		if (++n > MANIFEST_MAX_ANNOTATIONS)
			return registry__manifest_fail_field(REGISTRY_EFORMAT, p, "too many entries (more than %d)",
			                            MANIFEST_MAX_ANNOTATIONS);
	}
	if (!n)
		return 0;
	out->keys = calloc(n, sizeof(*out->keys));
	out->values = calloc(n, sizeof(*out->values));
	if (!out->keys || !out->values) {
		free(out->keys);
		free(out->values);
		out->keys = NULL;
		out->values = NULL;
		out->count = 0;
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	}
	for (const cJSON *c = v->child; c; c = c->next) {
		out->keys[out->count] = c->string;
		out->values[out->count] = c->valuestring;
		out->count++;
	}
	return 0;
}

int registry__manifest_get_strlist(const cJSON *obj, const char *key, const char *path, size_t max,
                          manifest_strlist *out)
{
	char p[PATH_MAX_LEN];
	const cJSON *arr;
	size_t n;
	memset(out, 0, sizeof(*out));
	int rc = registry__manifest_get_array(obj, key, path, 0, max, &arr, &n);
	if (rc || !n)
		return rc;
	out->items = calloc(n, sizeof(*out->items));
	if (!out->items)
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	for (const cJSON *c = arr->child; c; c = c->next) {
		if (!cJSON_IsString(c) || !c->valuestring) {
			free(out->items);
			out->items = NULL;
			join(p, sizeof(p), path, key);
			return registry__manifest_fail_field(REGISTRY_EFORMAT, p, "entry %zu must be a string, not %s",
			                            out->count, type_name(c));
		}
		out->items[out->count++] = c->valuestring;
	}
	return 0;
}

static int get_platform(const cJSON *obj, const char *path, registry_descriptor *d)
{
	char p[PATH_MAX_LEN];
	const cJSON *pl = cJSON_GetObjectItemCaseSensitive(obj, "platform");
	if (!pl || cJSON_IsNull(pl))
		return 0;
	join(p, sizeof(p), path, "platform");
	if (!cJSON_IsObject(pl))
		return registry__manifest_fail_field(REGISTRY_EFORMAT, p, "must be an object, not %s", type_name(pl));
	d->has_platform = 1;
	int rc;
	/* os and architecture are REQUIRED in a platform (image spec): without
	 * them an entry cannot be selected, and would be silently skipped. */
	if ((rc = registry__manifest_get_string(pl, "os", p, 1, &d->os)) ||
	    (rc = registry__manifest_get_string(pl, "architecture", p, 1, &d->architecture)) ||
	    (rc = registry__manifest_get_string(pl, "variant", p, 0, &d->variant)) ||
	    (rc = registry__manifest_get_string(pl, "os.version", p, 0, &d->os_version)) ||
	    (rc = registry__manifest_get_strlist(pl, "os.features", p, MANIFEST_MAX_LIST, &d->os_features)) ||
	    (rc = registry__manifest_get_strlist(pl, "features", p, MANIFEST_MAX_LIST, &d->features)))
		return rc;
	return 0;
}

void registry__manifest_descriptor_clear(registry_descriptor *d)
{
	if (!d)
		return;
	free(d->urls.items);
	free(d->annotations.keys);
	free(d->annotations.values);
	free(d->os_features.items);
	free(d->features.items);
	memset(d, 0, sizeof(*d));
}

int registry__manifest_parse_descriptor(const cJSON *obj, const char *path, int allow_platform,
                               registry_descriptor *d)
{
	memset(d, 0, sizeof(*d));
	if (!cJSON_IsObject(obj))
		return registry__manifest_fail_field(REGISTRY_EFORMAT, path, "must be an object, not %s", type_name(obj));
	int rc;
	if ((rc = get_media_type(obj, "mediaType", path, 1, &d->media_type)) ||
	    (rc = registry__manifest_get_digest(obj, "digest", path, &d->digest)) ||
	    (rc = registry__manifest_get_size(obj, "size", path, &d->size)) ||
	    (rc = get_media_type(obj, "artifactType", path, 0, &d->artifact_type)) ||
	    (rc = registry__manifest_get_strlist(obj, "urls", path, MANIFEST_MAX_LIST, &d->urls)) ||
	    (rc = registry__manifest_get_annotations(obj, path, &d->annotations)) ||
	    (allow_platform && (rc = get_platform(obj, path, d)))) {
		registry__manifest_descriptor_clear(d);
		return rc;
	}
	return 0;
}

/*
 * The image configuration model (include/registry/config.h): a config blob's
 * JSON -> typed fields. Strings point into the kept cJSON tree, as in the
 * manifest model; every field is type-checked and named in messages.
 */
#include <stdlib.h>
#include <string.h>

#include "digest/hash.h"
#include "manifest_impl.h"

#define CONFIG_MAX_LIST 4096 /* Env, Cmd, ports, volumes, diff_ids, history */
#define FIELD_COUNT 11       /* enum registry_image_config_field, 1-based */
#define LIST_BASE 100        /* enum registry_image_config_list: LIST_BASE + 1.. */
#define LIST_COUNT 8         /* lists[list - LIST_BASE], 1-based */
#define HISTORY_BASE 200     /* enum registry_image_config_history_field: HISTORY_BASE + 1.. */
#define HISTORY_FIELDS 5     /* text[field - HISTORY_BASE], 1-based */

typedef struct config_history {
	const char *text[HISTORY_FIELDS];
	int empty_layer;
} config_history;

struct registry_image_config {
	cJSON *tree;
	const char *text[FIELD_COUNT];
	manifest_strlist lists[LIST_COUNT];
	unsigned char present[LIST_COUNT];
	manifest_kvlist labels;
	config_history *history;
	size_t history_count;
};

void registry_image_config_free(registry_image_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < LIST_COUNT; i++)
		free(c->lists[i].items);
	free(c->labels.keys);
	free(c->labels.values);
	free(c->history);
	cJSON_Delete(c->tree);
	free(c);
}

/* An optional object: NULL when absent or null, EFORMAT when not an object. */
static int get_object(const cJSON *obj, const char *key, const char *path, const cJSON **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsObject(v))
		return registry__manifest_fail_field(REGISTRY_EFORMAT, path, "must be an object");
	*out = v;
	return 0;
}

/* A list the document spells as an array of strings; remembers presence. */
static int read_list(registry_image_config *c, int list, const cJSON *obj, const char *key,
                     const char *path)
{
	const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
	c->present[list - LIST_BASE] = v && !cJSON_IsNull(v);
	return obj ? registry__manifest_get_strlist(obj, key, path, CONFIG_MAX_LIST, &c->lists[list - LIST_BASE]) : 0;
}

/* A set the document spells as an object with empty values ({"80/tcp": {}}): its keys. */
static int read_keys(registry_image_config *c, int list, const cJSON *obj, const char *key,
                     const char *path)
{
	char p[160];
	const cJSON *set;
	snprintf(p, sizeof(p), "%s.%s", path, key);
	int rc = obj ? get_object(obj, key, p, &set) : 0;
	if (rc || !obj || !set)
		return rc;
	c->present[list - LIST_BASE] = 1;
	size_t n = 0;
	for (const cJSON *e = set->child; e; e = e->next) {
		if (++n > CONFIG_MAX_LIST)
			return registry__manifest_fail_field(REGISTRY_EFORMAT, p, "too many entries (more than %d)",
			                            CONFIG_MAX_LIST);
	}
	manifest_strlist *l = &c->lists[list - LIST_BASE];
	if (n && !(l->items = calloc(n, sizeof(*l->items))))
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	for (const cJSON *e = set->child; e; e = e->next)
		l->items[l->count++] = e->string;
	return 0;
}

static int read_history(registry_image_config *c, const cJSON *root)
{
	static const char *const keys[HISTORY_FIELDS] = {NULL, "created", "created_by", "author", "comment"};
	const cJSON *arr;
	size_t n;
	int rc = registry__manifest_get_array(root, "history", "", 0, CONFIG_MAX_LIST, &arr, &n);
	if (rc || !n)
		return rc;
	if (!(c->history = calloc(n, sizeof(*c->history))))
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	for (const cJSON *e = arr->child; e; e = e->next) {
		char p[64];
		config_history *h = &c->history[c->history_count];
		snprintf(p, sizeof(p), "history[%zu]", c->history_count);
		if (!cJSON_IsObject(e))
			return registry__manifest_fail_field(REGISTRY_EFORMAT, p, "must be an object");
		for (int f = 1; f < HISTORY_FIELDS; f++) {
			if ((rc = registry__manifest_get_string(e, keys[f], p, 0, &h->text[f])))
				return rc;
		}
		const cJSON *empty = cJSON_GetObjectItemCaseSensitive(e, "empty_layer");
		if (empty && !cJSON_IsNull(empty) && !cJSON_IsBool(empty))
			return registry__manifest_fail_field(REGISTRY_EFORMAT, p, "empty_layer must be a boolean");
		h->empty_layer = cJSON_IsTrue(empty);
		c->history_count++;
	}
	return 0;
}

/* diff_ids: digests in the OCI grammar; an algorithm we lack is kept as text. */
static int check_diff_ids(const manifest_strlist *l)
{
	/* The validator records EUNSUPPORTED, which is no failure here. */
	registry__error_snapshot *before = registry__error_save();
	for (size_t i = 0; i < l->count; i++) {
		int rc = registry__digest_validate_len(l->items[i], strlen(l->items[i]));
		if (rc && rc != REGISTRY_EUNSUPPORTED) {
			char p[64];
			free(before);
			snprintf(p, sizeof(p), "rootfs.diff_ids[%zu]", i);
			return registry__manifest_fail_field(rc, p, "not a digest");
		}
	}
	registry__error_restore(before);
	return 0;
}

static int read_rootfs(registry_image_config *c, const cJSON *root)
{
	const cJSON *rootfs;
	int rc = get_object(root, "rootfs", "rootfs", &rootfs);
	if (rc || !rootfs)
		return rc;
	if ((rc = registry__manifest_get_string(rootfs, "type", "rootfs", 0, &c->text[REGISTRY_IMAGE_CONFIG_ROOTFS_TYPE])) ||
	    (rc = read_list(c, REGISTRY_IMAGE_CONFIG_LIST_DIFF_IDS, rootfs, "diff_ids", "rootfs")))
		return rc;
	return check_diff_ids(&c->lists[REGISTRY_IMAGE_CONFIG_LIST_DIFF_IDS - LIST_BASE]);
}

static int read_runtime(registry_image_config *c, const cJSON *root)
{
	static const struct {
		int field;
		const char *key;
	} strings[] = {
		{REGISTRY_IMAGE_CONFIG_USER, "User"},
		{REGISTRY_IMAGE_CONFIG_WORKING_DIR, "WorkingDir"},
		{REGISTRY_IMAGE_CONFIG_STOP_SIGNAL, "StopSignal"},
	};
	const cJSON *cfg;
	int rc = get_object(root, "config", "config", &cfg);
	if (rc || !cfg)
		return rc;
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(strings); i++) {
		if ((rc = registry__manifest_get_string(cfg, strings[i].key, "config", 0, &c->text[strings[i].field])))
			return rc;
	}
	if ((rc = read_list(c, REGISTRY_IMAGE_CONFIG_LIST_ENV, cfg, "Env", "config")) ||
	    (rc = read_list(c, REGISTRY_IMAGE_CONFIG_LIST_ENTRYPOINT, cfg, "Entrypoint", "config")) ||
	    (rc = read_list(c, REGISTRY_IMAGE_CONFIG_LIST_CMD, cfg, "Cmd", "config")) ||
	    (rc = read_keys(c, REGISTRY_IMAGE_CONFIG_LIST_EXPOSED_PORTS, cfg, "ExposedPorts", "config")) ||
	    (rc = read_keys(c, REGISTRY_IMAGE_CONFIG_LIST_VOLUMES, cfg, "Volumes", "config")))
		return rc;
	return registry__manifest_get_kvlist(cfg, "Labels", "config", &c->labels);
}

static int read_top(registry_image_config *c, const cJSON *root)
{
	static const struct {
		const char *key;
		int field;
		int required;
	} strings[] = {
		{"architecture", REGISTRY_IMAGE_CONFIG_ARCHITECTURE, 1},
		{"os", REGISTRY_IMAGE_CONFIG_OS, 1},
		{"variant", REGISTRY_IMAGE_CONFIG_VARIANT, 0},
		{"os.version", REGISTRY_IMAGE_CONFIG_OS_VERSION, 0},
		{"created", REGISTRY_IMAGE_CONFIG_CREATED, 0},
		{"author", REGISTRY_IMAGE_CONFIG_AUTHOR, 0},
	};
	int rc = 0;
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(strings) && !rc; i++)
		rc = registry__manifest_get_string(root, strings[i].key, "", strings[i].required, &c->text[strings[i].field]);
	return rc ? rc : read_list(c, REGISTRY_IMAGE_CONFIG_LIST_OS_FEATURES, root, "os.features", "");
}

/* The field readers are the manifest model's: say "config:" where they say "manifest:". */
static int as_config_failure(int rc)
{
	const char *msg = registry_error_message(registry_error_last());
	static const char prefix[] = "manifest: ";
	if (strncmp(msg, prefix, sizeof(prefix) - 1) != 0)
		return rc;
	char rest[1024];
	snprintf(rest, sizeof(rest), "%s", msg + sizeof(prefix) - 1);
	return registry__fail(rc, "config: %s", rest);
}

int registry__image_config_parse(registry_image_config **out, const void *data, size_t len, size_t max)
{
	*out = NULL;
	if (len > max)
		return registry__fail(REGISTRY_ETOOLARGE, "config: %zu bytes, more than the %zu allowed", len, max);
	registry_image_config *c = calloc(1, sizeof(*c));
	if (!c)
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	int rc;
	c->tree = registry__manifest_parse_json(data, len, "config", &rc);
	if (!rc && !cJSON_IsObject(c->tree))
		rc = registry__fail(REGISTRY_EFORMAT, "config: not a JSON object");
	if (!rc && !(rc = read_top(c, c->tree)) && !(rc = read_runtime(c, c->tree)) &&
	    !(rc = read_rootfs(c, c->tree)))
		rc = read_history(c, c->tree);
	if (rc) {
		registry_image_config_free(c);
		return as_config_failure(rc);
	}
	*out = c;
	return 0;
}

int registry_image_config_parse_options_init(registry_image_config_parse_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_image_config_parse_options_init: NULL options");
	*opts = (registry_image_config_parse_options)REGISTRY_IMAGE_CONFIG_PARSE_OPTIONS_INIT;
	return 0;
}

int registry_image_config_parse(registry_image_config **out, const void *data, size_t len,
                                const registry_image_config_parse_options *opts)
{
	REGISTRY__ENTER(rc);
	if (out)
		*out = NULL;
	if (!out || (!data && len))
		return registry__fail(REGISTRY_EINVAL, "registry_image_config_parse: NULL argument");
	size_t max = REGISTRY_IMAGE_CONFIG_MAX_SIZE;
	if (opts) {
		if ((rc = registry__options_check("registry_image_config_parse", opts->version,
		                                  REGISTRY_IMAGE_CONFIG_PARSE_OPTIONS_VERSION, opts->flags, 0)))
			return rc;
		if (opts->max_size)
			max = opts->max_size;
	}
	return registry__image_config_parse(out, data ? data : "", len, max);
}

const char *registry_image_config_string(const registry_image_config *c, int field)
{
	return c && field > 0 && field < FIELD_COUNT ? c->text[field] : NULL;
}

int registry_image_config_list_present(const registry_image_config *c, int list)
{
	return c && list > LIST_BASE && list < LIST_BASE + LIST_COUNT ? c->present[list - LIST_BASE] : 0;
}

size_t registry_image_config_list_count(const registry_image_config *c, int list)
{
	return c && list > LIST_BASE && list < LIST_BASE + LIST_COUNT ? c->lists[list - LIST_BASE].count : 0;
}

const char *registry_image_config_list_item(const registry_image_config *c, int list, size_t i)
{
	return i < registry_image_config_list_count(c, list) ? c->lists[list - LIST_BASE].items[i] : NULL;
}

size_t registry_image_config_label_count(const registry_image_config *c)
{
	return c ? c->labels.count : 0;
}

const char *registry_image_config_label_key(const registry_image_config *c, size_t i)
{
	return c && i < c->labels.count ? c->labels.keys[i] : NULL;
}

const char *registry_image_config_label_value(const registry_image_config *c, size_t i)
{
	return c && i < c->labels.count ? c->labels.values[i] : NULL;
}

const char *registry_image_config_label(const registry_image_config *c, const char *key)
{
	for (size_t i = 0; key && c && i < c->labels.count; i++) {
		if (strcmp(c->labels.keys[i], key) == 0)
			return c->labels.values[i];
	}
	return NULL;
}

size_t registry_image_config_history_count(const registry_image_config *c)
{
	return c ? c->history_count : 0;
}

const char *registry_image_config_history(const registry_image_config *c, size_t i, int field)
{
	if (!c || i >= c->history_count || field <= HISTORY_BASE || field >= HISTORY_BASE + HISTORY_FIELDS)
		return NULL;
	return c->history[i].text[field - HISTORY_BASE];
}

int registry_image_config_history_empty_layer(const registry_image_config *c, size_t i)
{
	return c && i < c->history_count ? c->history[i].empty_layer : 0;
}

/* A list as a JSON array, or as an object of empty objects for the set-like ones. */
static void write_list(manifest_writer *w, const registry_image_config *c, int list, const char *key,
                       int as_set)
{
	if (!c->present[list - LIST_BASE])
		return;
	const manifest_strlist *l = &c->lists[list - LIST_BASE];
	if (as_set)
		registry__mw_begin_object(w, key);
	else
		registry__mw_begin_array(w, key);
	for (size_t i = 0; i < l->count; i++) {
		if (as_set) {
			registry__mw_begin_object(w, l->items[i]);
			registry__mw_end_object(w);
		} else {
			registry__mw_string(w, NULL, l->items[i]);
		}
	}
	if (as_set)
		registry__mw_end_object(w);
	else
		registry__mw_end_array(w);
}

static void write_field(manifest_writer *w, const registry_image_config *c, int field, const char *key)
{
	if (c->text[field])
		registry__mw_string(w, key, c->text[field]);
}

static void write_runtime(manifest_writer *w, const registry_image_config *c)
{
	registry__mw_begin_object(w, "config");
	write_field(w, c, REGISTRY_IMAGE_CONFIG_USER, "User");
	write_list(w, c, REGISTRY_IMAGE_CONFIG_LIST_EXPOSED_PORTS, "ExposedPorts", 1);
	write_list(w, c, REGISTRY_IMAGE_CONFIG_LIST_ENV, "Env", 0);
	write_list(w, c, REGISTRY_IMAGE_CONFIG_LIST_ENTRYPOINT, "Entrypoint", 0);
	write_list(w, c, REGISTRY_IMAGE_CONFIG_LIST_CMD, "Cmd", 0);
	write_list(w, c, REGISTRY_IMAGE_CONFIG_LIST_VOLUMES, "Volumes", 1);
	write_field(w, c, REGISTRY_IMAGE_CONFIG_WORKING_DIR, "WorkingDir");
	if (c->labels.count) {
		registry__mw_begin_object(w, "Labels");
		for (size_t i = 0; i < c->labels.count; i++)
			registry__mw_string(w, c->labels.keys[i], c->labels.values[i]);
		registry__mw_end_object(w);
	}
	write_field(w, c, REGISTRY_IMAGE_CONFIG_STOP_SIGNAL, "StopSignal");
	registry__mw_end_object(w);
}

static void write_history(manifest_writer *w, const registry_image_config *c)
{
	static const char *const keys[HISTORY_FIELDS] = {NULL, "created", "created_by", "author", "comment"};
	registry__mw_begin_array(w, "history");
	for (size_t i = 0; i < c->history_count; i++) {
		registry__mw_begin_object(w, NULL);
		for (int f = 1; f < HISTORY_FIELDS; f++) {
			if (c->history[i].text[f])
				registry__mw_string(w, keys[f], c->history[i].text[f]);
		}
		if (c->history[i].empty_layer)
			registry__mw_bool(w, "empty_layer", 1);
		registry__mw_end_object(w);
	}
	registry__mw_end_array(w);
}

int registry_image_config_to_json(char **out, const registry_image_config *c)
{
	REGISTRY__ENTER(rc);
	if (!out || !c)
		return registry__fail(REGISTRY_EINVAL, "registry_image_config_to_json: NULL argument");
	*out = NULL;
	manifest_writer w;
	registry__mw_init(&w, 4, 0);
	registry__mw_begin_object(&w, NULL);
	write_field(&w, c, REGISTRY_IMAGE_CONFIG_CREATED, "created");
	write_field(&w, c, REGISTRY_IMAGE_CONFIG_AUTHOR, "author");
	write_field(&w, c, REGISTRY_IMAGE_CONFIG_ARCHITECTURE, "architecture");
	write_field(&w, c, REGISTRY_IMAGE_CONFIG_VARIANT, "variant");
	write_field(&w, c, REGISTRY_IMAGE_CONFIG_OS, "os");
	write_field(&w, c, REGISTRY_IMAGE_CONFIG_OS_VERSION, "os.version");
	write_list(&w, c, REGISTRY_IMAGE_CONFIG_LIST_OS_FEATURES, "os.features", 0);
	write_runtime(&w, c);
	registry__mw_begin_object(&w, "rootfs");
	registry__mw_string(&w, "type", c->text[REGISTRY_IMAGE_CONFIG_ROOTFS_TYPE] ? c->text[REGISTRY_IMAGE_CONFIG_ROOTFS_TYPE] : "");
	registry__mw_begin_array(&w, "diff_ids");
	for (size_t i = 0; i < c->lists[REGISTRY_IMAGE_CONFIG_LIST_DIFF_IDS - LIST_BASE].count; i++)
		registry__mw_string(&w, NULL, c->lists[REGISTRY_IMAGE_CONFIG_LIST_DIFF_IDS - LIST_BASE].items[i]);
	registry__mw_end_array(&w);
	registry__mw_end_object(&w);
	if (c->history_count)
		write_history(&w, c);
	registry__mw_end_object(&w);
	if (w.rc) {
		registry__buf_free(&w.buf);
		return registry__fail(w.rc, "config as JSON: %s", registry_strerror(w.rc));
	}
	*out = registry__buf_detach(&w.buf);
	return 0;
}

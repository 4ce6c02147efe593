/*
 * Export an image of a store in the form `docker load` reads: what moby's
 * contrib/download-frozen-image-v2.sh builds, with digests checked and
 * blobs streamed.
 *
 *   manifest.json   [{"Config":"<hex>.json","RepoTags":["name:tag"],"Layers":["<id>/layer.tar",...]}]
 *   repositories    {"name":{"tag":"<top layer id>"}} (older daemons)
 *   <hex>.json      the image config
 *   <id>/VERSION    "1.0"
 *   <id>/json       v1 layer metadata
 *   <id>/layer.tar  the layer blob as the registry serves it (gzip or not:
 *                   docker load detects the compression)
 *
 * Layer ids are the script's chain: sha256 of the parent id, "\n", the
 * layer digest and "\n" (bash's echo ends the line). The top layer's json
 * is the config without history and rootfs, with id and parent in front;
 * the others get the skeleton `docker save` writes for unimportant layers.
 *
 * A schema1 image is exported the legacy way, from its v1 history: one
 * folder per v1 id (empty "throwaway" layers included) holding its
 * v1Compatibility as json; when built with zlib, a manifest.json with the
 * config containers/image synthesizes is added, so current daemons and
 * skopeo load it too.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest/hash.h"
#include "pull_impl.h"
#include "store/store_blob.h"

#define CONFIG_MAX_SIZE ((size_t)32 << 20)

static int oom(void)
{
	return registry__fail(REGISTRY_ENOMEM, "out of memory");
}

static int buf_rc(int rc)
{
	return rc == 0 ? 0 : rc == REGISTRY_ENOMEM ? oom() : registry__fail(rc, "export: text too large");
}

typedef struct export_job {
	registry_store *store;
	registry__sink *sink;
	char *name; /* repository part of the repo tag, or NULL */
	char *tag;
	registry__watch *watch; /* may be NULL */
} export_job;

/* "name[:tag]" -> name, tag ("latest" when absent); checked as a reference. */
static int split_repo_tag(export_job *e, const char *repo_tag)
{
	registry_reference *r = NULL;
	int rc = registry_reference_parse(&r, repo_tag);
	if (!rc && registry_reference_digest(r))
		rc = registry__fail(REGISTRY_EINVAL, "repo tag \"%s\" has a digest; docker load wants name:tag", repo_tag);
	registry_reference_free(r);
	if (rc)
		return rc == REGISTRY_EINVAL ? rc : registry__fail(REGISTRY_EINVAL, "bad repo tag \"%s\"", repo_tag);
	const char *colon = strrchr(repo_tag, ':'), *slash = strrchr(repo_tag, '/');
	if (colon && (!slash || colon > slash)) {
		e->name = registry__strndup(repo_tag, (size_t)(colon - repo_tag));
		e->tag = registry__strdup(colon + 1);
	} else {
		e->name = registry__strdup(repo_tag);
		e->tag = registry__strdup("latest");
	}
	return e->name && e->tag ? 0 : oom();
}

static int load_manifest(registry_store *store, const char *digest, const char *media_type,
                         registry_manifest **out)
{
	void *data = NULL;
	size_t len = 0;
	int rc = registry_store_read_blob(&data, &len, store, digest, 0);
	if (!rc)
		rc = registry_manifest_parse(out, data, len, media_type, NULL);
	registry_free(data);
	return rc;
}

/* The image an index entry names: itself, or from an index the platform asked
 * (NULL: the host's; an index of one entry: that one). */
int registry__store_resolve_image(registry_store *store, const registry_descriptor *entry,
                                  const registry_platform *platform, registry_manifest **out)
{
	registry_manifest *m = NULL;
	int rc = load_manifest(store, registry_descriptor_digest(entry), registry_descriptor_media_type(entry), &m);
	if (rc || registry_manifest_kind(m) == REGISTRY_MANIFEST_IMAGE) {
		*out = m;
		return rc;
	}
	const registry_descriptor *d = NULL;
	if (registry_manifest_entry_count(m) == 1 && !platform)
		d = registry_manifest_entry(m, 0);
	else
		rc = registry_manifest_select_platform(&d, m, platform);
	registry_manifest *child = NULL;
	if (!rc)
		rc = load_manifest(store, registry_descriptor_digest(d), registry_descriptor_media_type(d), &child);
	if (!rc && registry_manifest_kind(child) != REGISTRY_MANIFEST_IMAGE)
		rc = registry__fail(REGISTRY_EUNSUPPORTED, "%s: an index inside an index is not supported",
		                    registry_descriptor_digest(d));
	registry_manifest_free(m);
	if (rc)
		registry_manifest_free(child);
	else
		*out = child;
	return rc;
}

static int copy_blob(export_job *e, const char *name, const char *digest)
{
	return registry__sink_blob(e->sink, e->store, name, digest, e->watch);
}

static int write_layer_dir(export_job *e, const char *id, const char *json, size_t json_len, const char *digest)
{
	char name[128];
	int rc = registry__sink_dir(e->sink, id);
	snprintf(name, sizeof(name), "%s/VERSION", id);
	if (!rc)
		rc = registry__sink_file(e->sink, name, "1.0\n", 4);
	snprintf(name, sizeof(name), "%s/json", id);
	if (!rc)
		rc = registry__sink_file(e->sink, name, json, json_len);
	snprintf(name, sizeof(name), "%s/layer.tar", id);
	if (!rc)
		rc = copy_blob(e, name, digest);
	return rc;
}

/* manifest.json: one image. */
static int write_manifest_json(export_job *e, const char *config_name, const char *const *layer_ids, size_t n)
{
	registry__buf b;
	registry__buf_init(&b, 0);
	int rc = buf_rc(registry__buf_puts(&b, "[{\"Config\":"));
	if (!rc)
		rc = registry__json_go_string(&b, config_name);
	if (!rc)
		rc = buf_rc(registry__buf_puts(&b, ",\"RepoTags\":"));
	if (!rc && e->name) {
		registry__buf rt;
		registry__buf_init(&rt, 0);
		rc = buf_rc(registry__buf_printf(&rt, "%s:%s", e->name, e->tag));
		if (!rc && !(rc = buf_rc(registry__buf_puts(&b, "["))) && !(rc = registry__json_go_string(&b, rt.data)))
			rc = buf_rc(registry__buf_puts(&b, "]"));
		registry__buf_free(&rt);
	} else if (!rc) {
		rc = buf_rc(registry__buf_puts(&b, "null"));
	}
	if (!rc)
		rc = buf_rc(registry__buf_puts(&b, ",\"Layers\":["));
	for (size_t i = 0; !rc && i < n; i++)
		rc = buf_rc(registry__buf_printf(&b, "%s\"%s/layer.tar\"", i ? "," : "", layer_ids[i]));
	if (!rc)
		rc = buf_rc(registry__buf_puts(&b, "]}]\n"));
	if (!rc)
		rc = registry__sink_file(e->sink, "manifest.json", b.data, b.len);
	registry__buf_free(&b);
	return rc;
}

/* repositories: {"name":{"tag":"<top id>"}}, only for a tagged image. */
static int write_repositories(export_job *e, const char *top_id)
{
	if (!e->name || !top_id)
		return 0;
	registry__buf b;
	registry__buf_init(&b, 0);
	int rc = buf_rc(registry__buf_puts(&b, "{"));
	if (!rc)
		rc = registry__json_go_string(&b, e->name);
	if (!rc)
		rc = buf_rc(registry__buf_puts(&b, ":{"));
	if (!rc)
		rc = registry__json_go_string(&b, e->tag);
	if (!rc)
		rc = buf_rc(registry__buf_printf(&b, ":\"%s\"}}\n", top_id));
	if (!rc)
		rc = registry__sink_file(e->sink, "repositories", b.data, b.len);
	registry__buf_free(&b);
	return rc;
}

/* The skeleton `docker save` gives layers that are not the top one. */
static const char layer_skeleton[] =
	"\"created\":\"0001-01-01T00:00:00Z\",\"container_config\":{\"Hostname\":\"\",\"Domainname\":\"\","
	"\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,"
	"\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":null,\"Cmd\":null,\"Image\":\"\",\"Volumes\":null,"
	"\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":null}";

/* {"id":..,"parent":.., then the config's members without history and rootfs} */
static int top_layer_json(registry__buf *b, const char *id, const char *parent, const char *config, size_t len)
{
	void *tree = NULL;
	registry__json_member *m = NULL;
	size_t n = 0;
	int rc = registry__json_members(config, len, &tree, &m, &n);
	if (rc)
		return registry__fail(rc, "the image config is not a JSON object");
	rc = buf_rc(registry__buf_printf(b, "{\"id\":\"%s\"", id));
	if (!rc && parent)
		rc = buf_rc(registry__buf_printf(b, ",\"parent\":\"%s\"", parent));
	for (size_t i = 0; !rc && i < n; i++) {
		static const char *const skip[] = {"id", "parent", "history", "rootfs"};
		int drop = 0;
		for (size_t k = 0; k < REGISTRY_ARRAY_LEN(skip); k++)
			drop |= strcmp(m[i].key, skip[k]) == 0;
		if (drop)
			continue;
		rc = buf_rc(registry__buf_append(b, ",", 1));
		if (!rc)
			rc = buf_rc(registry__buf_append(b, m[i].raw_key, m[i].raw_key_len));
		if (!rc)
			rc = buf_rc(registry__buf_append(b, ":", 1));
		if (!rc)
			rc = buf_rc(registry__buf_append(b, m[i].raw_value, m[i].raw_value_len));
	}
	if (!rc)
		rc = buf_rc(registry__buf_puts(b, "}\n"));
	registry__json_members_free(tree, m);
	return rc;
}

static int layer_type_ok(const char *media_type)
{
	static const char *const prefixes[] = {
		"application/vnd.docker.image.rootfs.diff.tar",
		"application/vnd.docker.image.rootfs.foreign.diff.tar",
		"application/vnd.oci.image.layer.v1.tar",
		"application/vnd.oci.image.layer.nondistributable.v1.tar",
	};
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(prefixes); i++)
		if (strncmp(media_type, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	return 0;
}

/* An image with a config: Docker schema2 or OCI. */
static int export_image(export_job *e, const registry_manifest *m)
{
	const registry_descriptor *config = registry_manifest_config(m);
	const char *ctype = registry_descriptor_media_type(config);
	if (!config || (strcmp(ctype, REGISTRY_MEDIA_TYPE_DOCKER_CONFIG) != 0 &&
	                strcmp(ctype, REGISTRY_MEDIA_TYPE_OCI_CONFIG) != 0))
		return registry__fail(REGISTRY_EUNSUPPORTED, "%s is not a container image (config %s)",
		                      registry_manifest_digest(m), ctype ? ctype : "none");
	size_t n = registry_manifest_layer_count(m);
	int64_t bytes = 0;
	for (size_t i = 0; i < n; i++) {
		const char *t = registry_descriptor_media_type(registry_manifest_layer(m, i));
		if (!layer_type_ok(t))
			return registry__fail(REGISTRY_EUNSUPPORTED, "layer %zu of %s: docker load cannot read %s", i,
			                      registry_manifest_digest(m), t);
		int64_t size = registry_descriptor_size(registry_manifest_layer(m, i));
		bytes = bytes < 0 || size < 0 ? -1 : bytes + size;
	}
	registry__watch_plan(e->watch, n, bytes);
	char *config_data = NULL;
	size_t config_len = 0;
	int rc = registry_store_read_blob((void **)&config_data, &config_len, e->store,
	                                  registry_descriptor_digest(config), CONFIG_MAX_SIZE);
	if (rc)
		return rc;
	char(*ids)[65] = calloc(n ? n : 1, sizeof(*ids));
	const char **id_ptrs = calloc(n ? n : 1, sizeof(char *));
	if (!ids || !id_ptrs)
		rc = oom();
	registry__buf json;
	registry__buf_init(&json, 0);
	for (size_t i = 0; !rc && i < n; i++) {
		const char *digest = registry_descriptor_digest(registry_manifest_layer(m, i));
		/* The script's chain: echo "$parentId"$'\n'"$layerDigest" | sha256sum */
		registry__buf line;
		registry__buf_init(&line, 0);
		char chain[REGISTRY_DIGEST_STRING_MAX];
		rc = buf_rc(registry__buf_printf(&line, "%s\n%s\n", i ? ids[i - 1] : "", digest));
		if (!rc)
			rc = registry__digest_buffer(chain, REGISTRY_DIGEST_SHA256, line.data, line.len);
		registry__buf_free(&line);
		if (rc)
			break;
		memcpy(ids[i], chain + 7, 65);
		id_ptrs[i] = ids[i];
		json.len = 0;
		if (i + 1 == n) {
			rc = top_layer_json(&json, ids[i], i ? ids[i - 1] : NULL, config_data, config_len);
		} else {
			rc = buf_rc(registry__buf_printf(&json, "{\"id\":\"%s\",", ids[i]));
			if (!rc && i)
				rc = buf_rc(registry__buf_printf(&json, "\"parent\":\"%s\",", ids[i - 1]));
			if (!rc)
				rc = buf_rc(registry__buf_printf(&json, "%s}\n", layer_skeleton));
		}
		if (!rc)
			rc = write_layer_dir(e, ids[i], json.data, json.len, digest);
	}
	registry__buf_free(&json);
	char config_name[160];
	snprintf(config_name, sizeof(config_name), "%s.json", registry__digest_hex(registry_descriptor_digest(config)));
	if (!rc)
		rc = registry__sink_file(e->sink, config_name, config_data, config_len);
	if (!rc)
		rc = write_manifest_json(e, config_name, id_ptrs, n);
	if (!rc)
		rc = write_repositories(e, n ? ids[n - 1] : NULL);
	registry_free(config_data);
	free(ids);
	free(id_ptrs);
	return rc;
}

/* manifest.json for a schema1 image, over the legacy folders, with a synthesized config. */
static int schema1_manifest_json(export_job *e, const registry__schema1 *s)
{
	size_t count = s->count ? s->count : 1; /* calloc(0) may return NULL */
	const char **diff_ptrs = calloc(count, sizeof(char *)), **layer_ids = calloc(count, sizeof(char *));
	char(*diff_ids)[REGISTRY_DIGEST_STRING_MAX] = calloc(count, sizeof(*diff_ids));
	int rc = diff_ptrs && layer_ids && diff_ids ? 0 : oom();
	size_t n = 0;
	for (size_t i = 0; !rc && i < s->count; i++) {
		if (s->throwaway[i])
			continue;
		registry__watch_blob(e->watch, s->blob_sums[i], -1);
		rc = registry__store_layer_diff_id(diff_ids[n], e->store, s->blob_sums[i], NULL, e->watch);
		diff_ptrs[n] = diff_ids[n];
		layer_ids[n++] = s->ids[i];
	}
	char *config = NULL;
	size_t len = 0;
	char digest[REGISTRY_DIGEST_STRING_MAX], name[160];
	if (!rc)
		rc = registry__schema1_config(&config, &len, s, diff_ptrs, n);
	if (!rc)
		rc = registry__digest_buffer(digest, REGISTRY_DIGEST_SHA256, config, len);
	if (!rc) {
		snprintf(name, sizeof(name), "%s.json", digest + 7);
		rc = registry__sink_file(e->sink, name, config, len);
	}
	if (!rc)
		rc = write_manifest_json(e, name, layer_ids, n);
	registry_free(config);
	free(diff_ptrs);
	free(layer_ids);
	free(diff_ids);
	return rc;
}

static int export_schema1(export_job *e, const registry_manifest *m)
{
	registry__schema1 s;
	int rc = registry__schema1_load(&s, m);
	if (rc)
		return rc;
	/* schema1_load checked that the v1 ids, which name folders here, are hex,
	 * unique and chained by parent. */
	registry__watch_plan(e->watch, s.count, -1);
	for (size_t i = 0; !rc && i < s.count; i++)
		rc = write_layer_dir(e, s.ids[i], s.v1[i], strlen(s.v1[i]), s.blob_sums[i]);
	if (!rc)
		rc = write_repositories(e, s.ids[s.count - 1]);
	if (!rc && registry__have_zlib())
		rc = schema1_manifest_json(e, &s);
	registry__schema1_free(&s);
	return rc;
}

int registry__store_find_entry(registry_store *store, const char *ref_name, const registry_descriptor **out)
{
	int rc = registry_store_index_find(out, store, ref_name);
	if (rc != REGISTRY_ENOTFOUND)
		return rc;
	for (size_t i = 0; i < registry_store_index_count(store); i++) {
		const registry_descriptor *d = registry_store_index_entry(store, i);
		if (strcmp(registry_descriptor_digest(d), ref_name) == 0) {
			*out = d;
			return 0;
		}
	}
	return registry__fail(REGISTRY_ENOTFOUND, "no image named %s in the store", ref_name);
}

/* The export into e->sink (opened here; deferred: its writes queued for
 * registry__sink_run), not committed. */
static int export_to_sink(export_job *e, const char *ref_name, const char *dest, int format, const char *repo_tag,
                          int may_link, int deferred)
{
	const registry_descriptor *entry = NULL;
	registry_manifest *m = NULL;
	int rc = registry__sink_check_dest(dest, format);
	if (!rc && repo_tag)
		rc = split_repo_tag(e, repo_tag);
	if (!rc)
		rc = registry__store_find_entry(e->store, ref_name, &entry);
	if (!rc)
		rc = registry__store_resolve_image(e->store, entry, NULL, &m);
	if (!rc)
		rc = registry__sink_open(&e->sink, dest, format, may_link);
	if (!rc && deferred) {
		registry__sink_defer(e->sink, e->store, e->watch);
		e->watch = registry__sink_watch(e->sink); /* the plan's counts go to the runs' watch */
	}
	if (!rc)
		rc = registry_manifest_schema_version(m) == 1 ? export_schema1(e, m) : export_image(e, m);
	registry_manifest_free(m);
	free(e->name);
	free(e->tag);
	return rc;
}

int registry__store_export(registry_store *store, const char *ref_name, const char *dest, int format,
                           const char *repo_tag, int may_link, registry__watch *w)
{
	export_job e = {.store = store, .watch = w};
	int rc = export_to_sink(&e, ref_name, dest, format, repo_tag, may_link, 0);
	if (!rc)
		rc = registry__sink_commit(e.sink);
	registry__sink_free(e.sink);
	return rc;
}

int registry__store_export_deferred(registry__sink **out, registry_store *store, const char *ref_name,
                                    const char *dest, int format, const char *repo_tag, int may_link,
                                    const registry__watch *w)
{
	registry__watch copy = *w;
	export_job e = {.store = store, .watch = &copy};
	int rc = export_to_sink(&e, ref_name, dest, format, repo_tag, may_link, 1);
	if (rc) {
		registry__sink_free(e.sink);
		e.sink = NULL;
	}
	*out = e.sink;
	return rc;
}

int registry_store_export_options_init(registry_store_export_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_store_export_options_init: NULL options");
	*opts = (registry_store_export_options)REGISTRY_STORE_EXPORT_OPTIONS_INIT;
	return 0;
}

int registry_store_export(registry_store *store, const char *ref_name, const char *dest, int format,
                          const registry_store_export_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!store || !ref_name || !dest)
		return registry__fail(REGISTRY_EINVAL, "store_export: NULL argument");
	registry_store_export_options defaults = REGISTRY_STORE_EXPORT_OPTIONS_INIT;
	if (!opts)
		opts = &defaults;
	if ((rc = registry__options_check("registry_store_export", opts->version, REGISTRY_STORE_EXPORT_OPTIONS_VERSION,
	                                  opts->flags, 0)))
		return rc;
	char *path = NULL;
	if ((rc = registry__dest_path(dest, &path)))
		return rc;
	registry__watch w = {.prog = {.cb = opts->progress, .ud = opts->userdata}, .what = "export"};
	rc = registry__store_export(store, ref_name, path, format, opts->repo_tag, 0, &w);
	free(path);
	return rc;
}

/* The normalized view of a manifest as JSON, for bindings and tools. */
#include "manifest_impl.h"

static void write_strlist(manifest_writer *w, const char *key, const manifest_strlist *l)
{
	registry__mw_begin_array(w, key);
	for (size_t i = 0; i < l->count; i++)
		registry__mw_string(w, NULL, l->items[i]);
	registry__mw_end_array(w);
}

static void write_annotations(manifest_writer *w, const manifest_kvlist *kv)
{
	registry__mw_begin_object(w, "annotations");
	for (size_t i = 0; i < kv->count; i++)
		registry__mw_string(w, kv->keys[i], kv->values[i]);
	registry__mw_end_object(w);
}

static void write_descriptor(manifest_writer *w, const char *key, const registry_descriptor *d)
{
	if (!d) {
		registry__mw_null(w, key);
		return;
	}
	registry__mw_begin_object(w, key);
	registry__mw_string(w, "mediaType", d->media_type);
	registry__mw_string(w, "digest", d->digest);
	if (d->size >= 0)
		registry__mw_int(w, "size", d->size);
	else
		registry__mw_null(w, "size");
	if (d->artifact_type)
		registry__mw_string(w, "artifactType", d->artifact_type);
	if (d->urls.count)
		write_strlist(w, "urls", &d->urls);
	if (d->annotations.count)
		write_annotations(w, &d->annotations);
	if (d->has_platform) {
		registry__mw_begin_object(w, "platform");
		registry__mw_string(w, "os", d->os);
		registry__mw_string(w, "architecture", d->architecture);
		if (d->variant)
			registry__mw_string(w, "variant", d->variant);
		if (d->os_version)
			registry__mw_string(w, "os.version", d->os_version);
		if (d->os_features.count)
			write_strlist(w, "os.features", &d->os_features);
		if (d->features.count)
			write_strlist(w, "features", &d->features);
		registry__mw_end_object(w);
	}
	registry__mw_end_object(w);
}

static void write_descriptors(manifest_writer *w, const char *key, const registry_descriptor *d, size_t n)
{
	registry__mw_begin_array(w, key);
	for (size_t i = 0; i < n; i++)
		write_descriptor(w, NULL, &d[i]);
	registry__mw_end_array(w);
}

int registry_manifest_to_json(char **out, const registry_manifest *m)
{
	REGISTRY__ENTER(rc);
	if (!out || !m)
		return registry__fail(REGISTRY_EINVAL, "registry_manifest_to_json: NULL argument");
	*out = NULL;
	manifest_writer w;
	registry__mw_init(&w, 3, 0);
	registry__mw_begin_object(&w, NULL);
	registry__mw_string(&w, "mediaType", m->media_type);
	registry__mw_string(&w, "digest", m->digest);
	registry__mw_int(&w, "size", (int64_t)m->raw_len);
	registry__mw_int(&w, "schemaVersion", m->schema_version);
	registry__mw_string(&w, "kind", m->kind == REGISTRY_MANIFEST_INDEX ? "index" : "image");
	registry__mw_bool(&w, "signed", m->is_signed);
	registry__mw_string(&w, "artifactType", m->artifact_type);
	write_descriptor(&w, "config", m->config);
	write_descriptors(&w, "layers", m->layers, m->layer_count);
	write_descriptors(&w, "manifests", m->manifests, m->manifest_count);
	write_descriptor(&w, "subject", m->subject);
	write_annotations(&w, &m->annotations);
	registry__mw_string(&w, "name", m->name);
	registry__mw_string(&w, "tag", m->tag);
	registry__mw_string(&w, "architecture", m->architecture);
	registry__mw_begin_array(&w, "history");
	for (size_t i = 0; i < m->history_count; i++) {
		registry__mw_begin_object(&w, NULL);
		registry__mw_string(&w, "v1Compatibility", m->history[i]);
		registry__mw_bool(&w, "throwaway", m->history_throwaway[i]);
		registry__mw_end_object(&w);
	}
	registry__mw_end_array(&w);
	registry__mw_end_object(&w);
	if (w.rc) {
		registry__buf_free(&w.buf);
		return registry__fail(w.rc == REGISTRY_ENOMEM ? REGISTRY_ENOMEM : w.rc, "out of memory");
	}
	*out = registry__buf_detach(&w.buf);
	return *out ? 0 : registry__fail(REGISTRY_ENOMEM, "out of memory");
}

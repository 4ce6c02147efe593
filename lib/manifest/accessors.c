/* Read-only, NULL-safe getters of a parsed manifest and its descriptors. */
#include <string.h>

#include "manifest_impl.h"

static const char *kv_lookup(const manifest_kvlist *kv, const char *key)
{
	if (!key)
		return NULL;
	for (size_t i = 0; i < kv->count; i++)
		if (strcmp(kv->keys[i], key) == 0)
			return kv->values[i];
	return NULL;
}

static const char *list_item(const manifest_strlist *l, size_t i)
{
	return i < l->count ? l->items[i] : NULL;
}

const char *registry_manifest_media_type(const registry_manifest *m) { return m ? m->media_type : NULL; }
const char *registry_manifest_digest(const registry_manifest *m) { return m ? m->digest : NULL; }
int64_t registry_manifest_size(const registry_manifest *m) { return m ? (int64_t)m->raw_len : -1; }
int registry_manifest_kind(const registry_manifest *m) { return m ? m->kind : 0; }
int registry_manifest_schema_version(const registry_manifest *m) { return m ? m->schema_version : 0; }
int registry_manifest_signed(const registry_manifest *m) { return m ? m->is_signed : 0; }
const registry_descriptor *registry_manifest_config(const registry_manifest *m) { return m ? m->config : NULL; }
const char *registry_manifest_artifact_type(const registry_manifest *m) { return m ? m->artifact_type : NULL; }
const registry_descriptor *registry_manifest_subject(const registry_manifest *m) { return m ? m->subject : NULL; }
const char *registry_manifest_schema1_name(const registry_manifest *m) { return m ? m->name : NULL; }
const char *registry_manifest_schema1_tag(const registry_manifest *m) { return m ? m->tag : NULL; }
const char *registry_manifest_schema1_architecture(const registry_manifest *m) { return m ? m->architecture : NULL; }

const void *registry_manifest_raw(const registry_manifest *m, size_t *len)
{
	if (len)
		*len = m ? m->raw_len : 0;
	return m ? m->raw : NULL;
}

size_t registry_manifest_layer_count(const registry_manifest *m) { return m ? m->layer_count : 0; }

const registry_descriptor *registry_manifest_layer(const registry_manifest *m, size_t i)
{
	return m && i < m->layer_count ? &m->layers[i] : NULL;
}

size_t registry_manifest_entry_count(const registry_manifest *m) { return m ? m->manifest_count : 0; }

const registry_descriptor *registry_manifest_entry(const registry_manifest *m, size_t i)
{
	return m && i < m->manifest_count ? &m->manifests[i] : NULL;
}

size_t registry_manifest_annotation_count(const registry_manifest *m) { return m ? m->annotations.count : 0; }

const char *registry_manifest_annotation_key(const registry_manifest *m, size_t i)
{
	return m && i < m->annotations.count ? m->annotations.keys[i] : NULL;
}

const char *registry_manifest_annotation_value(const registry_manifest *m, size_t i)
{
	return m && i < m->annotations.count ? m->annotations.values[i] : NULL;
}

const char *registry_manifest_annotation(const registry_manifest *m, const char *key)
{
	return m ? kv_lookup(&m->annotations, key) : NULL;
}

size_t registry_manifest_history_count(const registry_manifest *m) { return m ? m->history_count : 0; }

const char *registry_manifest_history(const registry_manifest *m, size_t i)
{
	return m && i < m->history_count ? m->history[i] : NULL;
}

int registry_manifest_history_throwaway(const registry_manifest *m, size_t i)
{
	return m && i < m->history_count ? m->history_throwaway[i] : 0;
}

const char *registry_descriptor_media_type(const registry_descriptor *d) { return d ? d->media_type : NULL; }
const char *registry_descriptor_digest(const registry_descriptor *d) { return d ? d->digest : NULL; }
int64_t registry_descriptor_size(const registry_descriptor *d) { return d ? d->size : -1; }
const char *registry_descriptor_artifact_type(const registry_descriptor *d) { return d ? d->artifact_type : NULL; }
size_t registry_descriptor_url_count(const registry_descriptor *d) { return d ? d->urls.count : 0; }
const char *registry_descriptor_url(const registry_descriptor *d, size_t i) { return d ? list_item(&d->urls, i) : NULL; }
size_t registry_descriptor_annotation_count(const registry_descriptor *d) { return d ? d->annotations.count : 0; }

const char *registry_descriptor_annotation_key(const registry_descriptor *d, size_t i)
{
	return d && i < d->annotations.count ? d->annotations.keys[i] : NULL;
}

const char *registry_descriptor_annotation_value(const registry_descriptor *d, size_t i)
{
	return d && i < d->annotations.count ? d->annotations.values[i] : NULL;
}

const char *registry_descriptor_annotation(const registry_descriptor *d, const char *key)
{
	return d ? kv_lookup(&d->annotations, key) : NULL;
}

int registry_descriptor_has_platform(const registry_descriptor *d) { return d ? d->has_platform : 0; }
const char *registry_descriptor_platform_os(const registry_descriptor *d) { return d ? d->os : NULL; }
const char *registry_descriptor_platform_architecture(const registry_descriptor *d) { return d ? d->architecture : NULL; }
const char *registry_descriptor_platform_variant(const registry_descriptor *d) { return d ? d->variant : NULL; }
const char *registry_descriptor_platform_os_version(const registry_descriptor *d) { return d ? d->os_version : NULL; }

size_t registry_descriptor_platform_os_feature_count(const registry_descriptor *d)
{
	return d ? d->os_features.count : 0;
}

const char *registry_descriptor_platform_os_feature(const registry_descriptor *d, size_t i)
{
	return d ? list_item(&d->os_features, i) : NULL;
}

size_t registry_descriptor_platform_feature_count(const registry_descriptor *d)
{
	return d ? d->features.count : 0;
}

const char *registry_descriptor_platform_feature(const registry_descriptor *d, size_t i)
{
	return d ? list_item(&d->features, i) : NULL;
}

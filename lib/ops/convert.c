/*
 * Docker schema2 manifests and lists to OCI manifests and indexes, with the
 * media types skopeo (containers/image) maps them to. Blobs stay as they
 * are -- the config too: skopeo re-serializes a Docker config through the
 * OCI struct (dropping Docker-only fields, changing its digest), we keep the
 * registry's bytes so the image keeps its id. Manifests are written by the
 * manifest builder.
 */
#include <stdlib.h>
#include <string.h>

#include "manifest/manifest_impl.h"
#include "pull_impl.h"

/* ------------------------------------------------------------ media types */

static const char *const media_map[][2] = {
	{REGISTRY_MEDIA_TYPE_DOCKER_CONFIG, REGISTRY_MEDIA_TYPE_OCI_CONFIG},
	{REGISTRY_MEDIA_TYPE_DOCKER_LAYER, REGISTRY_MEDIA_TYPE_OCI_LAYER_GZIP},
	{"application/vnd.docker.image.rootfs.diff.tar", REGISTRY_MEDIA_TYPE_OCI_LAYER},
	{REGISTRY_MEDIA_TYPE_DOCKER_FOREIGN_LAYER, "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"},
	{"application/vnd.docker.image.rootfs.foreign.diff.tar", "application/vnd.oci.image.layer.nondistributable.v1.tar"},
	{REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST, REGISTRY_MEDIA_TYPE_OCI_MANIFEST},
	{REGISTRY_MEDIA_TYPE_DOCKER_LIST, REGISTRY_MEDIA_TYPE_OCI_INDEX},
};

const char *registry__oci_media_type(const char *media_type)
{
	if (!media_type)
		return NULL;
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(media_map); i++)
		if (strcmp(media_type, media_map[i][0]) == 0)
			return media_map[i][1];
	if (strncmp(media_type, "application/vnd.oci.", 20) == 0)
		return media_type;
	return NULL;
}

/* A copy of @src (borrowed strings) with another media type, digest and size. */
static registry_descriptor retyped(const registry_descriptor *src, const char *media_type,
                                   const char *digest, int64_t size)
{
	registry_descriptor d = *src;
	d.media_type = media_type;
	d.digest = digest;
	d.size = size;
	d.features.count = 0; /* a Docker-only platform field, not in OCI */
	d.features.items = NULL;
	return d;
}

/* The config of the converted manifest: @config retyped, its annotations kept. */
static int set_config(registry_manifest_builder *b, const registry_descriptor *config, const char *media_type)
{
	size_t n = config->annotations.count;
	const char **pairs = registry__calloc(2 * n + 1, sizeof(*pairs));
	if (!pairs)
		return registry__nomem();
	for (size_t i = 0; i < n; i++) {
		pairs[2 * i] = config->annotations.keys[i];
		pairs[2 * i + 1] = config->annotations.values[i];
	}
	registry_descriptor_spec spec = REGISTRY_DESCRIPTOR_SPEC_INIT;
	spec.media_type = media_type;
	spec.digest = config->digest;
	spec.size = config->size;
	spec.annotations = pairs;
	int rc = registry_manifest_builder_set_config(b, &spec);
	free(pairs);
	return rc;
}

int registry__convert_docker_manifest(registry_manifest **out, const registry_manifest *m)
{
	*out = NULL;
	const registry_descriptor *config = registry_manifest_config(m);
	if (!config)
		return registry__fail(REGISTRY_EFORMAT, "Docker manifest %s has no config", registry_manifest_digest(m));
	const char *config_type = registry__oci_media_type(config->media_type);
	if (!config_type)
		config_type = config->media_type; /* an artifact config stays what it is */
	registry_manifest_builder *b = NULL;
	int rc = registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_OCI_MANIFEST);
	if (!rc)
		rc = set_config(b, config, config_type);
	for (size_t i = 0; !rc && i < registry_manifest_layer_count(m); i++) {
		const registry_descriptor *l = registry_manifest_layer(m, i);
		const char *type = registry__oci_media_type(l->media_type);
		if (!type) {
			rc = registry__fail(REGISTRY_EUNSUPPORTED, "layer %s of %s: no OCI media type for %s",
			                    l->digest, registry_manifest_digest(m), l->media_type);
			break;
		}
		registry_descriptor d = retyped(l, type, l->digest, l->size);
		rc = registry_manifest_builder_add_descriptor(b, &d);
	}
	if (!rc)
		rc = registry_manifest_builder_build(out, b);
	registry_manifest_builder_free(b);
	return rc;
}

int registry__convert_index(registry_manifest **out, const registry_manifest *src,
                            const char *const *media_types, const char *const *digests,
                            const int64_t *sizes)
{
	*out = NULL;
	registry_manifest_builder *b = NULL;
	int rc = registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_OCI_INDEX);
	for (size_t i = 0; !rc && i < registry_manifest_entry_count(src); i++) {
		registry_descriptor d = retyped(registry_manifest_entry(src, i), media_types[i], digests[i], sizes[i]);
		rc = registry_manifest_builder_add_descriptor(b, &d);
	}
	for (size_t i = 0; !rc && i < registry_manifest_annotation_count(src); i++)
		rc = registry_manifest_builder_set_annotation(b, registry_manifest_annotation_key(src, i),
		                                              registry_manifest_annotation_value(src, i));
	if (!rc)
		rc = registry_manifest_builder_build(out, b);
	registry_manifest_builder_free(b);
	return rc;
}


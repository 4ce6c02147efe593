/*
 * Fuzz target "manifest": parse the input with every media type hint (and
 * none), then call every accessor, to_json, platform selection and a
 * builder round trip. Invariants that must hold for any accepted input
 * abort() when broken, so the fuzzer reports them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <registry/registry.h>

/* A registry_descriptor_spec of media type, digest and size only. */
#define SPEC(mt_, dg_, sz_) \
	(&(registry_descriptor_spec){.version = REGISTRY_DESCRIPTOR_SPEC_VERSION, .media_type = (mt_), \
	                             .digest = (dg_), .size = (sz_)})

static const char *const hints[] = {
	NULL,
	"application/vnd.docker.distribution.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.v1+prettyjws",
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json; charset=utf-8",
	"application/vnd.oci.image.index.v1+json",
	"application/json",
};

static void require(int cond)
{
	if (!cond)
		abort();
}

static size_t sink;

static void touch(const char *s)
{
	if (s)
		sink += strlen(s);
}

static void descriptor(const registry_descriptor *d)
{
	require(d != NULL);
	require(registry_digest_validate(registry_descriptor_digest(d)) == 0);
	touch(registry_descriptor_media_type(d));
	touch(registry_descriptor_artifact_type(d));
	sink += (size_t)registry_descriptor_size(d);
	for (size_t i = 0; i < registry_descriptor_url_count(d); i++)
		touch(registry_descriptor_url(d, i));
	for (size_t i = 0; i < registry_descriptor_annotation_count(d); i++) {
		const char *k = registry_descriptor_annotation_key(d, i);
		require(registry_descriptor_annotation(d, k) != NULL);
		touch(registry_descriptor_annotation_value(d, i));
	}
	sink += (size_t)registry_descriptor_has_platform(d);
	touch(registry_descriptor_platform_os(d));
	touch(registry_descriptor_platform_architecture(d));
	touch(registry_descriptor_platform_variant(d));
	touch(registry_descriptor_platform_os_version(d));
	for (size_t i = 0; i < registry_descriptor_platform_os_feature_count(d); i++)
		touch(registry_descriptor_platform_os_feature(d, i));
	for (size_t i = 0; i < registry_descriptor_platform_feature_count(d); i++)
		touch(registry_descriptor_platform_feature(d, i));
}

static void rebuild(const registry_manifest *m)
{
	const char *type = registry_manifest_kind(m) == REGISTRY_MANIFEST_INDEX
	                           ? "application/vnd.oci.image.index.v1+json"
	                           : "application/vnd.oci.image.manifest.v1+json";
	registry_manifest_builder *b = NULL;
	if (registry_manifest_builder_new(&b, type))
		return;
	const registry_descriptor *c = registry_manifest_config(m);
	if (c)
		registry_manifest_builder_set_config(b, SPEC(registry_descriptor_media_type(c), registry_descriptor_digest(c), registry_descriptor_size(c)));
	/* Entries the builder refuses (unknown size, half a platform) are skipped. */
	size_t added = 0;
	for (size_t i = 0; i < registry_manifest_layer_count(m); i++)
		added += registry_manifest_builder_add_descriptor(b, registry_manifest_layer(m, i)) == 0;
	for (size_t i = 0; i < registry_manifest_entry_count(m); i++)
		added += registry_manifest_builder_add_descriptor(b, registry_manifest_entry(m, i)) == 0;
	for (size_t i = 0; i < registry_manifest_annotation_count(m); i++)
		registry_manifest_builder_set_annotation(b, registry_manifest_annotation_key(m, i),
		                                         registry_manifest_annotation_value(m, i));
	if (registry_manifest_artifact_type(m))
		registry_manifest_builder_set_artifact_type(b, registry_manifest_artifact_type(m));
	const registry_descriptor *s = registry_manifest_subject(m);
	if (s)
		registry_manifest_builder_set_subject(b, SPEC(registry_descriptor_media_type(s), registry_descriptor_digest(s), registry_descriptor_size(s)));
	registry_manifest *out = NULL;
	if (registry_manifest_builder_build(&out, b) == 0) {
		/* Whatever was added survives the round trip. */
		if (registry_manifest_kind(m) == REGISTRY_MANIFEST_INDEX)
			require(registry_manifest_entry_count(out) == added);
		else
			require(registry_manifest_layer_count(out) == added);
		require(registry_manifest_annotation_count(out) <= registry_manifest_annotation_count(m));
		registry_manifest_free(out);
	}
	registry_manifest_builder_free(b);
}

static void exercise(const registry_manifest *m, size_t size)
{
	size_t len = 0;
	require(registry_manifest_raw(m, &len) != NULL && len == size);
	require(registry_manifest_size(m) == (int64_t)size);
	require(registry_digest_validate(registry_manifest_digest(m)) == 0);
	touch(registry_manifest_media_type(m));
	int kind = registry_manifest_kind(m);
	require(kind == REGISTRY_MANIFEST_IMAGE || kind == REGISTRY_MANIFEST_INDEX);
	int version = registry_manifest_schema_version(m);
	require(version == 1 || version == 2);
	sink += (size_t)registry_manifest_signed(m);
	if (registry_manifest_config(m))
		descriptor(registry_manifest_config(m));
	for (size_t i = 0; i < registry_manifest_layer_count(m); i++)
		descriptor(registry_manifest_layer(m, i));
	require(registry_manifest_layer(m, registry_manifest_layer_count(m)) == NULL);
	for (size_t i = 0; i < registry_manifest_entry_count(m); i++)
		descriptor(registry_manifest_entry(m, i));
	if (registry_manifest_subject(m))
		descriptor(registry_manifest_subject(m));
	touch(registry_manifest_artifact_type(m));
	for (size_t i = 0; i < registry_manifest_annotation_count(m); i++) {
		touch(registry_manifest_annotation_key(m, i));
		touch(registry_manifest_annotation_value(m, i));
		touch(registry_manifest_annotation(m, registry_manifest_annotation_key(m, i)));
	}
	touch(registry_manifest_schema1_name(m));
	touch(registry_manifest_schema1_tag(m));
	touch(registry_manifest_schema1_architecture(m));
	for (size_t i = 0; i < registry_manifest_history_count(m); i++) {
		touch(registry_manifest_history(m, i));
		sink += (size_t)registry_manifest_history_throwaway(m, i);
	}

	char *json = NULL;
	if (registry_manifest_to_json(&json, m) == 0) {
		cJSON *doc = cJSON_Parse(json);
		require(doc != NULL);
		cJSON_Delete(doc);
		registry_free(json);
	}

	static const char *const plats[][3] = {
		{ "linux", "amd64", NULL }, { "linux", "arm", "v7" }, { "linux", "arm64", NULL },
		{ "windows", "amd64", NULL }, { "linux", "x86_64", "v3" },
	};
	for (size_t i = 0; i < sizeof(plats) / sizeof(plats[0]); i++) {
		const registry_descriptor *d = NULL;
		int rc = registry_manifest_select_platform(&d, m, &(registry_platform){REGISTRY_PLATFORM_VERSION, plats[i][0], plats[i][1], plats[i][2], NULL, NULL});
		require(rc == 0 ? d != NULL : d == NULL);
	}
	rebuild(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (size_t h = 0; h < sizeof(hints) / sizeof(hints[0]); h++) {
		registry_manifest *m = NULL;
		if (registry_manifest_parse(&m, data, size, hints[h], NULL) == 0) {
			exercise(m, size);
			registry_manifest_free(m);
		} else {
			require(m == NULL);
		}
	}
	registry_manifest_parse_options o = REGISTRY_MANIFEST_PARSE_OPTIONS_INIT;
	o.max_size = 64;
	registry_manifest *m = NULL;
	int rc = registry_manifest_parse(&m, data, size, NULL, &o);
	require(size <= 64 || rc == REGISTRY_ETOOLARGE);
	registry_manifest_free(m);
	return 0;
}

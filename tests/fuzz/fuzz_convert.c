/*
 * Fuzz target "convert": what pull does to untrusted manifests without a
 * network or a store. Schema1 input: v1 history read back and the OCI config
 * synthesized (it must be valid JSON with one diff_id per layer); Docker
 * manifests and lists: converted to OCI (only EUNSUPPORTED may refuse a
 * parsed one); any input: split into JSON members (raw values inside the
 * input) and encoded as a Go string (which must decode back).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "internal.h"
#include "ops/pull_impl.h"

#define D0 "sha256:15c44d08bc651747c97fe29bf5e2728e3b364d3c58e1648468734384d11eef00"

static void require(int cond)
{
	if (!cond)
		abort();
}

static void schema1(const registry_manifest *m)
{
	registry__schema1 s;
	if (registry__schema1_load(&s, m) != 0)
		return;
	require(s.count > 0);
	size_t layers = 0;
	for (size_t i = 0; i < s.count; i++)
		layers += !s.throwaway[i];
	const char **diffs = calloc(layers ? layers : 1, sizeof(char *));
	for (size_t i = 0; diffs && i < layers; i++)
		diffs[i] = D0;
	char *config = NULL;
	size_t len = 0;
	if (diffs && registry__schema1_config(&config, &len, &s, diffs, layers) == 0) {
		require(strlen(config) == len);
		cJSON *c = cJSON_Parse(config);
		require(c != NULL);
		require(cJSON_GetArraySize(cJSON_GetObjectItem(c, "history")) == (int)s.count);
		cJSON_Delete(c);
	}
	free(config);
	free(diffs);
	registry__schema1_free(&s);
}

static void docker(const registry_manifest *m)
{
	registry_manifest *out = NULL;
	const char *type = registry_manifest_media_type(m);
	if (strcmp(type, REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST) == 0) {
		int rc = registry__convert_docker_manifest(&out, m);
		require(rc == 0 || rc == REGISTRY_EUNSUPPORTED || rc == REGISTRY_EINVAL);
		if (!rc)
			require(strcmp(registry_manifest_media_type(out), REGISTRY_MEDIA_TYPE_OCI_MANIFEST) == 0);
	} else if (registry_manifest_kind(m) == REGISTRY_MANIFEST_INDEX) {
		size_t n = registry_manifest_entry_count(m);
		const char **types = calloc(n + 1, sizeof(char *)), **digests = calloc(n + 1, sizeof(char *));
		int64_t *sizes = calloc(n + 1, sizeof(int64_t));
		for (size_t i = 0; types && digests && sizes && i < n; i++) {
			types[i] = REGISTRY_MEDIA_TYPE_OCI_MANIFEST;
			digests[i] = D0;
			sizes[i] = 1;
		}
		if (types && digests && sizes && registry__convert_index(&out, m, types, digests, sizes) == 0)
			require(registry_manifest_entry_count(out) == n);
		free(types);
		free(digests);
		free(sizes);
	}
	registry_manifest_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	registry_manifest *m = NULL;
	if (registry_manifest_parse(&m, data, size, NULL, NULL) == 0) {
		if (registry_manifest_schema_version(m) == 1)
			schema1(m);
		else
			docker(m);
		registry_manifest_free(m);
	}

	void *tree = NULL;
	registry__json_member *members = NULL;
	size_t n = 0;
	if (registry__json_members((const char *)data, size, &tree, &members, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			require(members[i].raw_value >= (const char *)data);
			require(members[i].raw_value + members[i].raw_value_len <= (const char *)data + size);
			require(members[i].raw_value_len > 0);
		}
		registry__json_members_free(tree, members);
	}

	char *text = malloc(size + 1);
	if (text) {
		memcpy(text, data, size);
		text[size] = '\0';
		registry__buf b;
		registry__buf_init(&b, 0);
		if (registry__json_go_string(&b, text) == 0) {
			cJSON *s = cJSON_Parse(b.data);
			require(cJSON_IsString(s));
			cJSON_Delete(s);
		}
		registry__buf_free(&b);
		free(text);
	}
	return 0;
}

/*
 * The manifest model on real documents: the two manifests of the seed notes
 * (byte for byte as registry 2.8 served them) and the fixtures captured
 * from docker-registry by tests/data/manifests/capture.sh, whose
 * Docker-Content-Digest our digest must equal.
 */
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "internal.h"

/* A registry_store_index_add() entry of media type, digest, size and annotations. */
#define INDEX_ENTRY(mt_, dg_, sz_, an_) \
	(&(registry_descriptor_spec){.version = REGISTRY_DESCRIPTOR_SPEC_VERSION, .media_type = (mt_), \
	                             .digest = (dg_), .size = (sz_), .annotations = (an_)})

#define DIR TEST_DATA_DIR "/manifests/"

#define SEED_S1_DIGEST "sha256:bc12321026b5d738dde7bd29ddf7b7330d95623b409597dc5c2ee84cf5ca1c7b"
#define L_5BED "sha256:5bed26d33875e6da1d9ff9a1054c5fef3bbeb22ee979e14b72acf72528de007b"
#define L_F11B "sha256:f11b29a9c7306674a9479158c1b4259938af11b97359d9ac02030cc1095e9ed1"
#define L_930B "sha256:930bda195c84cf132344bf38edcad255317382f910503fef234a9ce3bff0f4dd"
#define L_78BF "sha256:78bf9a5ad49e4ae42a83f4995ade4efc096f78fd38299cf05bc041e8cdda2a36"
#define EMPTY_TAR_GZ "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"

/* Real fixture blobs (capture.sh builds them deterministically). */
#define CFG_4990 "sha256:499089926705df5ac69a92d43d6b07468d1991165e52e49dfc404c09b2aa5e86"
#define L_72FE "sha256:72fef7774741f55fd457b745ad08aa154285a016f030abaa9080c7467223173f"
#define L_E046 "sha256:e046c43a7172454c79c73ec0f09ddee8f675655d33a6f626a9aad46fad04dcfd"

static char *load(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), DIR "%s", name);
	char *data = check_read_file(path, len);
	if (!data)
		fprintf(stderr, "cannot read %s\n", path);
	return data;
}

/* Value of header @name in NAME.json.headers (static buffer). */
static const char *header(const char *fixture, const char *name)
{
	static char value[256];
	char file[256];
	snprintf(file, sizeof(file), "%s.headers", fixture);
	char *text = load(file, NULL);
	value[0] = '\0';
	if (!text)
		return value;
	size_t nlen = strlen(name);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
			const char *v = line + nlen + 1;
			while (*v == ' ')
				v++;
			snprintf(value, sizeof(value), "%s", v);
		}
	}
	free(text);
	return value;
}

static registry_manifest *parse_fixture(const char *name, const char *content_type)
{
	size_t len = 0;
	char *data = load(name, &len);
	registry_manifest *m = NULL;
	CHECK(data != NULL);
	if (data) {
		int rc = registry_manifest_parse(&m, data, len, content_type, NULL);
		if (rc)
			fprintf(stderr, "%s: %s\n", name, registry_error_message(registry_error_last()));
		CHECK_INT(rc, 0);
	}
	free(data);
	return m;
}

static void check_seed_layers(const registry_manifest *m, int64_t s0, int64_t s1, int64_t s2, int64_t s3)
{
	CHECK_INT(registry_manifest_layer_count(m), 4);
	const char *want[] = { L_5BED, L_F11B, L_930B, L_78BF };
	int64_t sizes[] = { s0, s1, s2, s3 };
	for (size_t i = 0; i < 4; i++) {
		const registry_descriptor *d = registry_manifest_layer(m, i);
		CHECK_STR(registry_descriptor_digest(d), want[i]);
		CHECK_INT(registry_descriptor_size(d), sizes[i]);
		CHECK_STR(registry_descriptor_media_type(d), REGISTRY_MEDIA_TYPE_DOCKER_LAYER);
	}
	CHECK(registry_manifest_layer(m, 4) == NULL);
}

static void test_seed_schema1_signed(void)
{
	size_t len;
	char *data = load("seed-ubuntu-schema1-signed.json", &len);
	CHECK_INT(len, 5569); /* the Content-Length the notes show */
	static const char *const types[] = {
		"application/vnd.docker.distribution.manifest.v1+prettyjws", NULL, "application/json",
	};
	for (size_t t = 0; t < 3; t++) {
		registry_manifest *m = NULL;
		CHECK_INT(registry_manifest_parse(&m, data, len, types[t], NULL), 0);
		CHECK_STR(registry_manifest_media_type(m), REGISTRY_MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED);
		CHECK_STR(registry_manifest_digest(m), SEED_S1_DIGEST);
		CHECK_INT(registry_manifest_size(m), 5569);
		CHECK_INT(registry_manifest_signed(m), 1);
		CHECK_INT(registry_manifest_schema_version(m), 1);
		CHECK_INT(registry_manifest_kind(m), REGISTRY_MANIFEST_IMAGE);
		CHECK(registry_manifest_config(m) == NULL);
		/* fsLayers reversed, the throwaway a3ed95... dropped, sizes unknown */
		check_seed_layers(m, -1, -1, -1, -1);
		CHECK_STR(registry_manifest_schema1_name(m), "ubuntu");
		CHECK_STR(registry_manifest_schema1_tag(m), "Kana-1");
		CHECK_STR(registry_manifest_schema1_architecture(m), "amd64");
		CHECK_INT(registry_manifest_history_count(m), 5);
		CHECK(strstr(registry_manifest_history(m, 0), "\"id\":\"8fb0b731671252f4") != NULL);
		CHECK(strstr(registry_manifest_history(m, 4), "\"id\":\"e3b70a2503b80c10") != NULL);
		for (size_t i = 0; i < 4; i++)
			CHECK_INT(registry_manifest_history_throwaway(m, i), 0);
		CHECK_INT(registry_manifest_history_throwaway(m, 4), 1);
		CHECK(registry_manifest_history(m, 5) == NULL);
		size_t rlen = 0;
		const void *raw = registry_manifest_raw(m, &rlen);
		CHECK(rlen == len && memcmp(raw, data, len) == 0);
		CHECK_INT(registry_manifest_entry_count(m), 0);
		CHECK_INT(registry_manifest_annotation_count(m), 0);
		registry_manifest_free(m);
	}
	/* Served as plain v1+json, the signatures still define the digest. */
	registry_manifest *m = NULL;
	CHECK_INT(registry_manifest_parse(&m, data, len, REGISTRY_MEDIA_TYPE_DOCKER_SCHEMA1, NULL), 0);
	CHECK_STR(registry_manifest_media_type(m), REGISTRY_MEDIA_TYPE_DOCKER_SCHEMA1);
	CHECK_STR(registry_manifest_digest(m), SEED_S1_DIGEST);
	CHECK_INT(registry_manifest_signed(m), 1);
	registry_manifest_free(m);
	free(data);
}

/* The JWS payload of the seed is itself an unsigned schema1 with the same digest. */
static void test_seed_schema1_unsigned(void)
{
	size_t len;
	char *data = load("seed-ubuntu-schema1-signed.json", &len);
	CHECK(data && len > 4922);
	char *payload = malloc(4922 + 2);
	memcpy(payload, data, 4922); /* formatLength 4922, formatTail "Cn0" = "\n}" */
	memcpy(payload + 4922, "\n}", 2);
	registry_manifest *m = NULL;
	CHECK_INT(registry_manifest_parse(&m, payload, 4924, NULL, NULL), 0);
	CHECK_STR(registry_manifest_media_type(m), REGISTRY_MEDIA_TYPE_DOCKER_SCHEMA1);
	CHECK_STR(registry_manifest_digest(m), SEED_S1_DIGEST);
	CHECK_INT(registry_manifest_signed(m), 0);
	CHECK_INT(registry_manifest_size(m), 4924);
	check_seed_layers(m, -1, -1, -1, -1);
	CHECK_INT(registry_manifest_history_throwaway(m, 4), 1);
	registry_manifest_free(m);
	/* Declared signed but carrying no signatures. */
	m = (registry_manifest *)1;
	CHECK_INT(registry_manifest_parse(&m, payload, 4924, REGISTRY_MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED, NULL),
	          REGISTRY_EFORMAT);
	CHECK(m == NULL);
	free(payload);
	free(data);
}

static void test_seed_schema2(void)
{
	size_t len;
	char *data = load("seed-ubuntu-schema2.json", &len);
	CHECK_INT(len, 1152);
	char *want = NULL;
	CHECK_INT(registry_digest_buffer(&want, REGISTRY_DIGEST_SHA256, data, len), 0);
	CHECK_STR(want, "sha256:e5dd9dbb37df5b731a6688fa49f4003359f6f126958c9c928f937bec69836320");
	registry_manifest *m = NULL;
	CHECK_INT(registry_manifest_parse(&m, data, len, NULL, NULL), 0);
	CHECK_STR(registry_manifest_media_type(m), REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST);
	CHECK_STR(registry_manifest_digest(m), want);
	CHECK_INT(registry_manifest_size(m), 1152);
	CHECK_INT(registry_manifest_signed(m), 0);
	CHECK_INT(registry_manifest_schema_version(m), 2);
	const registry_descriptor *c = registry_manifest_config(m);
	CHECK(c != NULL);
	CHECK_STR(registry_descriptor_media_type(c), REGISTRY_MEDIA_TYPE_DOCKER_CONFIG);
	CHECK_STR(registry_descriptor_digest(c),
	          "sha256:4e5021d210f65ebe915670c7089120120bc0a303b90208592851708c1b8c04bd");
	CHECK_INT(registry_descriptor_size(c), 3408);
	check_seed_layers(m, 26690587, 35372, 848, 162);
	CHECK_INT(registry_manifest_history_count(m), 0);
	CHECK(registry_manifest_schema1_name(m) == NULL);
	registry_manifest_free(m);
	registry_free(want);
	free(data);
}

/* Every captured fixture: our digest is the registry's Docker-Content-Digest. */
static void test_real_digests(void)
{
	static const struct {
		const char *name;
		const char *media_type;
		int kind;
		size_t layers, manifests;
		int is_signed;
	} fx[] = {
		{ "docker-schema2.json", REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST, REGISTRY_MANIFEST_IMAGE, 2, 0, 0 },
		{ "oci-manifest.json", REGISTRY_MEDIA_TYPE_OCI_MANIFEST, REGISTRY_MANIFEST_IMAGE, 2, 0, 0 },
		{ "oci-index.json", REGISTRY_MEDIA_TYPE_OCI_INDEX, REGISTRY_MANIFEST_INDEX, 0, 2, 0 },
		{ "docker-list.json", REGISTRY_MEDIA_TYPE_DOCKER_LIST, REGISTRY_MANIFEST_INDEX, 0, 2, 0 },
		{ "oci-artifact.json", REGISTRY_MEDIA_TYPE_OCI_MANIFEST, REGISTRY_MANIFEST_IMAGE, 1, 0, 0 },
		{ "schema1-signed.json", REGISTRY_MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED, REGISTRY_MANIFEST_IMAGE, 2, 0, 1 },
		{ "schema1-converted.json", REGISTRY_MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED, REGISTRY_MANIFEST_IMAGE, 2, 0, 1 },
	};
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(fx); i++) {
		char ct[256], want[256];
		snprintf(ct, sizeof(ct), "%s", header(fx[i].name, "Content-Type"));
		snprintf(want, sizeof(want), "%s", header(fx[i].name, "Docker-Content-Digest"));
		long long clen = atoll(header(fx[i].name, "Content-Length"));
		CHECK_STR(ct, fx[i].media_type);
		CHECK(strncmp(want, "sha256:", 7) == 0);
		/* With the Content-Type, and without it (body mediaType or shape). */
		for (int with_ct = 0; with_ct < 2; with_ct++) {
			registry_manifest *m = parse_fixture(fx[i].name, with_ct ? ct : NULL);
			if (!m)
				continue;
			if (strcmp(registry_manifest_digest(m), want) != 0)
				fprintf(stderr, "%s: digest %s, registry says %s\n", fx[i].name,
				        registry_manifest_digest(m), want);
			CHECK_STR(registry_manifest_digest(m), want);
			CHECK_INT(registry_manifest_size(m), clen);
			CHECK_STR(registry_manifest_media_type(m), fx[i].media_type);
			CHECK_INT(registry_manifest_kind(m), fx[i].kind);
			CHECK_INT(registry_manifest_layer_count(m), fx[i].layers);
			CHECK_INT(registry_manifest_entry_count(m), fx[i].manifests);
			CHECK_INT(registry_manifest_signed(m), fx[i].is_signed);
			registry_manifest_free(m);
		}
	}
}

static void check_two_layers(const registry_manifest *m, const char *media_type, int64_t s0, int64_t s1)
{
	CHECK_INT(registry_manifest_layer_count(m), 2);
	CHECK_STR(registry_descriptor_digest(registry_manifest_layer(m, 0)), L_72FE);
	CHECK_STR(registry_descriptor_digest(registry_manifest_layer(m, 1)), L_E046);
	CHECK_INT(registry_descriptor_size(registry_manifest_layer(m, 0)), s0);
	CHECK_INT(registry_descriptor_size(registry_manifest_layer(m, 1)), s1);
	CHECK_STR(registry_descriptor_media_type(registry_manifest_layer(m, 1)), media_type);
}

static void test_real_images(void)
{
	registry_manifest *d2 = parse_fixture("docker-schema2.json", NULL);
	registry_manifest *oci = parse_fixture("oci-manifest.json", NULL);
	const registry_descriptor *c = registry_manifest_config(d2);
	CHECK_STR(registry_descriptor_media_type(c), REGISTRY_MEDIA_TYPE_DOCKER_CONFIG);
	CHECK_STR(registry_descriptor_digest(c), CFG_4990);
	CHECK_INT(registry_descriptor_size(c), 513);
	check_two_layers(d2, REGISTRY_MEDIA_TYPE_DOCKER_LAYER, 113, 111);
	c = registry_manifest_config(oci);
	CHECK_STR(registry_descriptor_media_type(c), REGISTRY_MEDIA_TYPE_OCI_CONFIG);
	CHECK_STR(registry_descriptor_digest(c), CFG_4990);
	check_two_layers(oci, REGISTRY_MEDIA_TYPE_OCI_LAYER_GZIP, 113, 111);
	CHECK(registry_manifest_subject(oci) == NULL);
	CHECK(registry_manifest_artifact_type(oci) == NULL);

	/* The index entries are the manifests above, by digest and size. */
	registry_manifest *idx = parse_fixture("oci-index.json", NULL);
	registry_manifest *list = parse_fixture("docker-list.json", NULL);
	const registry_descriptor *e = registry_manifest_entry(idx, 0);
	CHECK_STR(registry_descriptor_digest(e), registry_manifest_digest(oci));
	CHECK_INT(registry_descriptor_size(e), registry_manifest_size(oci));
	CHECK_STR(registry_descriptor_platform_os(e), "linux");
	CHECK_STR(registry_descriptor_platform_architecture(e), "amd64");
	CHECK(registry_descriptor_platform_variant(e) == NULL);
	e = registry_manifest_entry(idx, 1);
	CHECK_STR(registry_descriptor_platform_architecture(e), "arm64");
	CHECK_STR(registry_descriptor_platform_variant(e), "v8");
	CHECK_STR(registry_descriptor_media_type(e), REGISTRY_MEDIA_TYPE_OCI_MANIFEST);
	CHECK(registry_manifest_config(idx) == NULL);
	CHECK_INT(registry_manifest_layer_count(idx), 0);
	e = registry_manifest_entry(list, 0);
	CHECK_STR(registry_descriptor_digest(e), registry_manifest_digest(d2));
	CHECK_INT(registry_descriptor_size(e), registry_manifest_size(d2));
	CHECK_STR(registry_descriptor_media_type(e), REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST);
	CHECK_INT(registry_descriptor_has_platform(e), 1);
	CHECK(registry_manifest_entry(list, 2) == NULL);

	const registry_descriptor *pick = NULL;
	CHECK_INT(registry_manifest_select_platform(&pick, idx, &(registry_platform){REGISTRY_PLATFORM_VERSION, "linux", "arm64", NULL, NULL, NULL}), 0);
	CHECK(pick == registry_manifest_entry(idx, 1));
	CHECK_STR(registry_descriptor_digest(pick),
	          "sha256:7ab57080816608199821e8edbd6a87cb4a59d3b700065eeb8ea6ead682e0ee75");
	CHECK_INT(registry_manifest_select_platform(&pick, list, &(registry_platform){REGISTRY_PLATFORM_VERSION, "linux", "amd64", NULL, NULL, NULL}), 0);
	CHECK(pick == registry_manifest_entry(list, 0));

	/* The artifact: artifactType, subject (the OCI manifest), annotations. */
	registry_manifest *art = parse_fixture("oci-artifact.json", NULL);
	CHECK_STR(registry_manifest_artifact_type(art), "application/vnd.example.signature.v1");
	const registry_descriptor *s = registry_manifest_subject(art);
	CHECK_STR(registry_descriptor_digest(s), registry_manifest_digest(oci));
	CHECK_INT(registry_descriptor_size(s), registry_manifest_size(oci));
	CHECK_STR(registry_descriptor_media_type(registry_manifest_config(art)), REGISTRY_MEDIA_TYPE_OCI_EMPTY);
	CHECK_INT(registry_manifest_annotation_count(art), 2);
	CHECK_STR(registry_manifest_annotation_key(art, 0), "org.opencontainers.image.created");
	CHECK_STR(registry_manifest_annotation_value(art, 0), "2020-01-01T00:00:00Z");
	CHECK_STR(registry_manifest_annotation(art, "com.example.note"), "<b>&amp;</b>");
	CHECK(registry_manifest_annotation(art, "missing") == NULL);
	CHECK(registry_manifest_annotation_key(art, 2) == NULL);
	const registry_descriptor *l = registry_manifest_layer(art, 0);
	CHECK_INT(registry_descriptor_annotation_count(l), 1);
	CHECK_STR(registry_descriptor_annotation(l, "org.opencontainers.image.title"), "sig.txt");
	CHECK_STR(registry_descriptor_annotation_key(l, 0), "org.opencontainers.image.title");
	CHECK_STR(registry_descriptor_annotation_value(l, 0), "sig.txt");
	CHECK_INT(registry_descriptor_size(l), 18);

	registry_manifest_free(d2);
	registry_manifest_free(oci);
	registry_manifest_free(idx);
	registry_manifest_free(list);
	registry_manifest_free(art);
}

static void test_real_schema1(void)
{
	const char *names[] = { "schema1-signed.json", "schema1-converted.json" };
	const char *tags[] = { "v2s1", "v2s2" };
	for (size_t i = 0; i < 2; i++) {
		registry_manifest *m = parse_fixture(names[i], NULL);
		CHECK_INT(registry_manifest_signed(m), 1);
		/* fsLayers = [e046, a3ed95 (throwaway), 72fe]: base-first without the empty layer */
		check_two_layers(m, REGISTRY_MEDIA_TYPE_DOCKER_LAYER, -1, -1);
		CHECK_INT(registry_manifest_history_count(m), 3);
		CHECK_INT(registry_manifest_history_throwaway(m, 0), 0);
		CHECK_INT(registry_manifest_history_throwaway(m, 1), 1);
		CHECK_INT(registry_manifest_history_throwaway(m, 2), 0);
		CHECK(strstr(registry_manifest_history(m, 1), "ENV A=1") != NULL);
		CHECK_STR(registry_manifest_schema1_name(m), "test/image");
		CHECK_STR(registry_manifest_schema1_tag(m), tags[i]);
		CHECK_STR(registry_manifest_schema1_architecture(m), "amd64");
		for (size_t k = 0; k < registry_manifest_layer_count(m); k++)
			CHECK(strcmp(registry_descriptor_digest(registry_manifest_layer(m, k)), EMPTY_TAR_GZ) != 0);
		registry_manifest_free(m);
	}
}

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static void test_to_json(void)
{
	registry_manifest *m = parse_fixture("seed-ubuntu-schema1-signed.json", NULL);
	char *json = NULL;
	CHECK_INT(registry_manifest_to_json(&json, m), 0);
	cJSON *doc = cJSON_Parse(json);
	CHECK(doc != NULL);
	CHECK_STR(cJSON_GetStringValue(get(doc, "mediaType")), REGISTRY_MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED);
	CHECK_STR(cJSON_GetStringValue(get(doc, "digest")), SEED_S1_DIGEST);
	CHECK(get(doc, "size") && get(doc, "size")->valuedouble == 5569);
	CHECK(get(doc, "schemaVersion") && get(doc, "schemaVersion")->valuedouble == 1);
	CHECK_STR(cJSON_GetStringValue(get(doc, "kind")), "image");
	CHECK(cJSON_IsTrue(get(doc, "signed")));
	CHECK(cJSON_IsNull(get(doc, "config")));
	CHECK(cJSON_IsNull(get(doc, "artifactType")));
	CHECK(cJSON_IsNull(get(doc, "subject")));
	const cJSON *layers = get(doc, "layers");
	CHECK_INT(cJSON_GetArraySize(layers), 4);
	CHECK_STR(cJSON_GetStringValue(get(cJSON_GetArrayItem(layers, 0), "digest")), L_5BED);
	CHECK_STR(cJSON_GetStringValue(get(cJSON_GetArrayItem(layers, 3), "digest")), L_78BF);
	CHECK(cJSON_IsNull(get(cJSON_GetArrayItem(layers, 0), "size")));
	CHECK_INT(cJSON_GetArraySize(get(doc, "manifests")), 0);
	const cJSON *hist = get(doc, "history");
	CHECK_INT(cJSON_GetArraySize(hist), 5);
	CHECK(cJSON_IsTrue(get(cJSON_GetArrayItem(hist, 4), "throwaway")));
	CHECK(cJSON_IsFalse(get(cJSON_GetArrayItem(hist, 0), "throwaway")));
	/* The v1Compatibility text survives the round trip exactly. */
	CHECK_STR(cJSON_GetStringValue(get(cJSON_GetArrayItem(hist, 2), "v1Compatibility")),
	          registry_manifest_history(m, 2));
	CHECK_STR(cJSON_GetStringValue(get(doc, "name")), "ubuntu");
	CHECK_STR(cJSON_GetStringValue(get(doc, "tag")), "Kana-1");
	CHECK_STR(cJSON_GetStringValue(get(doc, "architecture")), "amd64");
	cJSON_Delete(doc);
	registry_free(json);
	registry_manifest_free(m);

	m = parse_fixture("oci-index.json", NULL);
	CHECK_INT(registry_manifest_to_json(&json, m), 0);
	doc = cJSON_Parse(json);
	CHECK_STR(cJSON_GetStringValue(get(doc, "kind")), "index");
	CHECK(cJSON_IsFalse(get(doc, "signed")));
	const cJSON *e = cJSON_GetArrayItem(get(doc, "manifests"), 1);
	CHECK(get(e, "size") && get(e, "size")->valuedouble == 401);
	const cJSON *p = get(e, "platform");
	CHECK_STR(cJSON_GetStringValue(get(p, "os")), "linux");
	CHECK_STR(cJSON_GetStringValue(get(p, "architecture")), "arm64");
	CHECK_STR(cJSON_GetStringValue(get(p, "variant")), "v8");
	CHECK(get(cJSON_GetArrayItem(get(doc, "manifests"), 0), "platform") != NULL);
	CHECK(get(get(cJSON_GetArrayItem(get(doc, "manifests"), 0), "platform"), "variant") == NULL);
	CHECK_INT(cJSON_GetArraySize(get(doc, "history")), 0);
	cJSON_Delete(doc);
	registry_free(json);
	registry_manifest_free(m);

	m = parse_fixture("oci-artifact.json", NULL);
	CHECK_INT(registry_manifest_to_json(&json, m), 0);
	doc = cJSON_Parse(json);
	CHECK_STR(cJSON_GetStringValue(get(doc, "artifactType")), "application/vnd.example.signature.v1");
	CHECK_STR(cJSON_GetStringValue(get(get(doc, "subject"), "digest")),
	          "sha256:a88f8fb1dde360468fb8e2840689f81d67d094b99bf2f30f2824f1934a4ae486");
	CHECK_STR(cJSON_GetStringValue(get(get(doc, "annotations"), "com.example.note")), "<b>&amp;</b>");
	CHECK_STR(cJSON_GetStringValue(get(get(cJSON_GetArrayItem(get(doc, "layers"), 0), "annotations"),
	                                   "org.opencontainers.image.title")),
	          "sig.txt");
	CHECK_STR(cJSON_GetStringValue(get(get(doc, "config"), "mediaType")), REGISTRY_MEDIA_TYPE_OCI_EMPTY);
	CHECK(get(get(doc, "config"), "size")->valuedouble == 2);
	cJSON_Delete(doc);
	registry_free(json);

	CHECK_INT(registry_manifest_to_json(NULL, m), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_to_json(&json, NULL), REGISTRY_EINVAL);
	registry_manifest_free(m);
}

static void test_null_accessors(void)
{
	CHECK(registry_manifest_media_type(NULL) == NULL);
	CHECK(registry_manifest_digest(NULL) == NULL);
	CHECK_INT(registry_manifest_size(NULL), -1);
	CHECK_INT(registry_manifest_kind(NULL), 0);
	CHECK_INT(registry_manifest_layer_count(NULL), 0);
	CHECK(registry_manifest_layer(NULL, 0) == NULL);
	CHECK(registry_manifest_raw(NULL, NULL) == NULL);
	CHECK_INT(registry_descriptor_size(NULL), -1);
	CHECK(registry_descriptor_digest(NULL) == NULL);
	CHECK(registry_descriptor_annotation(NULL, "x") == NULL);
	CHECK_INT(registry_descriptor_url_count(NULL), 0);
	CHECK(registry_descriptor_url(NULL, 0) == NULL);
	CHECK(registry_descriptor_platform_os(NULL) == NULL);
	CHECK_INT(registry_manifest_history_throwaway(NULL, 0), 0);
	registry_manifest_free(NULL);
}

/* Docker list platform extras: os.version, os.features, features, urls. */
static void test_platform_fields(void)
{
	static const char doc[] =
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.list.v2+json\","
		"\"manifests\":[{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"size\":1,"
		"\"digest\":\"sha256:0000000000000000000000000000000000000000000000000000000000000000\","
		"\"urls\":[\"https://example.com/a\",\"https://example.com/b\"],"
		"\"platform\":{\"architecture\":\"amd64\",\"os\":\"windows\",\"os.version\":\"10.0.17763.1\","
		"\"os.features\":[\"win32k\"],\"features\":[\"sse4\",\"aes\"]}}]}";
	registry_manifest *m = NULL;
	CHECK_INT(registry_manifest_parse(&m, doc, sizeof(doc) - 1, NULL, NULL), 0);
	const registry_descriptor *d = registry_manifest_entry(m, 0);
	CHECK_STR(registry_descriptor_platform_os_version(d), "10.0.17763.1");
	CHECK_INT(registry_descriptor_platform_os_feature_count(d), 1);
	CHECK_STR(registry_descriptor_platform_os_feature(d, 0), "win32k");
	CHECK(registry_descriptor_platform_os_feature(d, 1) == NULL);
	CHECK_INT(registry_descriptor_platform_feature_count(d), 2);
	CHECK_STR(registry_descriptor_platform_feature(d, 1), "aes");
	CHECK_INT(registry_descriptor_url_count(d), 2);
	CHECK_STR(registry_descriptor_url(d, 1), "https://example.com/b");
	CHECK(registry_descriptor_url(d, 2) == NULL);
	CHECK(registry_descriptor_artifact_type(d) == NULL);
	registry_manifest_free(m);
}

static int collect_reason(const char *digest, const char *reason, void *ud)
{
	(void)digest;
	snprintf(ud, 400, "%s", reason);
	return 0;
}

/* registry_store_verify() with a problem callback. */
static int verify_with(const registry_store *s, registry_store_verify_cb cb, void *ud, size_t *nbad)
{
	registry_store_verify_options o = REGISTRY_STORE_VERIFY_OPTIONS_INIT;
	o.problem = cb;
	o.userdata = ud;
	return registry_store_verify(nbad, s, &o);
}

static int message_has(const char *what)
{
	return strstr(registry_error_message(registry_error_last()), what) != NULL;
}

/* A manifest naming digests of algorithms we do not implement parses (the
 * image spec: implementations SHOULD accept them); fetching, verifying or
 * storing that content is REGISTRY_EUNSUPPORTED naming the algorithm, and
 * no file name is made of it. */
static void test_unknown_algorithm(void)
{
	static const char cfg[] = "{}";
	char *cfg_digest = NULL;
	CHECK_INT(registry_digest_buffer(&cfg_digest, REGISTRY_DIGEST_SHA256, cfg, 2), 0);
	char doc[1024];
	snprintf(doc, sizeof(doc),
	         "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	         "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"size\":2,"
	         "\"digest\":\"%s\"},\"layers\":["
	         "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"size\":1,\"digest\":"
	         "\"blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262\"},"
	         "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"size\":1,\"digest\":"
	         "\"sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564\"}]}",
	         cfg_digest);
	registry_free(cfg_digest);
	registry_manifest *m = NULL;
	CHECK_INT(registry_manifest_parse(&m, doc, strlen(doc), NULL, NULL), 0);
	if (!m)
		return;
	const char *blake = registry_descriptor_digest(registry_manifest_layer(m, 0));
	CHECK_STR(blake, "blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
	CHECK_STR(registry_descriptor_digest(registry_manifest_layer(m, 1)),
	          "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564");
	CHECK_INT(registry_digest_validate(blake), REGISTRY_EUNSUPPORTED);
	CHECK(message_has("\"blake3\""));

	char dir[] = "/tmp/unit-manifest-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	registry_store *s = NULL;
	CHECK_INT(registry_store_open(&s, dir, REGISTRY_STORE_CREATE), 0);
	char *path = NULL;
	CHECK_INT(registry_store_has(s, blake), REGISTRY_EUNSUPPORTED);
	CHECK(message_has("blake3"));
	CHECK_INT(registry_store_blob_path(&path, s, blake), REGISTRY_EUNSUPPORTED);
	CHECK(path == NULL);
	CHECK_INT(registry_store_add_blob(NULL, s, blake, "x", 1), REGISTRY_EUNSUPPORTED);
	CHECK(message_has("blake3"));

	/* Fetching: refused before any request (the client's port is closed,
	 * so a request would be ENETWORK). */
	registry_client *client = NULL;
	CHECK_INT(registry_client_new(&client, "127.0.0.1:1"), 0);
	CHECK_INT(registry_blob_fetch(client, "app", blake, 1, s, NULL), REGISTRY_EUNSUPPORTED);
	CHECK(message_has("blake3"));
	registry_manifest *fetched = NULL;
	CHECK_INT(registry_manifest_fetch(&fetched, client, "app", blake, NULL), REGISTRY_EUNSUPPORTED);
	CHECK(message_has("blake3"));
	registry_client_free(client);

	/* Verifying a store whose image names it: a problem naming the
	 * algorithm, not a lookup of blobs/blake3/... */
	size_t len = 0;
	const void *raw = registry_manifest_raw(m, &len);
	char *mdigest = NULL;
	CHECK_INT(registry_store_add_blob(NULL, s, NULL, cfg, 2), 0);
	CHECK_INT(registry_store_add_blob(&mdigest, s, NULL, raw, len), 0);
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(registry_manifest_media_type(m), mdigest, (int64_t)len, NULL), "x"), 0);
	registry_free(mdigest);
	char reason[400] = "";
	size_t nbad = 0;
	CHECK_INT(verify_with(s, collect_reason, reason, &nbad), REGISTRY_EDIGEST);
	CHECK_INT(nbad, 2);
	CHECK(strstr(reason, "unsupported digest algorithm") != NULL);
	char sub[64];
	snprintf(sub, sizeof(sub), "%s/blobs/blake3", dir);
	CHECK(access(sub, F_OK) != 0);

	registry_store_free(s);
	registry_manifest_free(m);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_INT(system(cmd), 0);
}

int main(void)
{
	RUN(test_seed_schema1_signed);
	RUN(test_seed_schema1_unsigned);
	RUN(test_seed_schema2);
	RUN(test_real_digests);
	RUN(test_real_images);
	RUN(test_real_schema1);
	RUN(test_to_json);
	RUN(test_null_accessors);
	RUN(test_platform_fields);
	RUN(test_unknown_algorithm);
	return CHECK_DONE();
}

/* Building manifests: deterministic bytes (docker/distribution's layout), parse-back, validation. */
#include "check.h"
#include "internal.h"

/* A registry_descriptor_spec of media type, digest and size only. */
#define SPEC(mt_, dg_, sz_) \
	(&(registry_descriptor_spec){.version = REGISTRY_DESCRIPTOR_SPEC_VERSION, .media_type = (mt_), \
	                             .digest = (dg_), .size = (sz_)})

#define DIR TEST_DATA_DIR "/manifests/"
#define DG(c) "sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
	c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c

/* An index entry with a platform (or none when @os and @arch are NULL). */
static const registry_descriptor_spec *entry(const char *media_type, const char *digest, int64_t size,
                                             const char *os, const char *arch, const char *variant)
{
	static registry_descriptor_spec spec;
	registry_descriptor_spec init = REGISTRY_DESCRIPTOR_SPEC_INIT;
	spec = init;
	spec.media_type = media_type;
	spec.digest = digest;
	spec.size = size;
	spec.os = os;
	spec.architecture = arch;
	spec.variant = variant;
	return &spec;
}

static registry_manifest *load_manifest(const char *name, char **bytes, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), DIR "%s", name);
	*bytes = check_read_file(path, len);
	registry_manifest *m = NULL;
	CHECK(*bytes != NULL);
	if (*bytes)
		CHECK_INT(registry_manifest_parse(&m, *bytes, *len, NULL, NULL), 0);
	return m;
}

static const char *raw_text(const registry_manifest *m, size_t *len)
{
	return registry_manifest_raw(m, len);
}

/* The seed's schema2 was written by docker/distribution; rebuilding it must give the same bytes. */
static void test_rebuild_seed_schema2(void)
{
	char *bytes;
	size_t len;
	registry_manifest *src = load_manifest("seed-ubuntu-schema2.json", &bytes, &len);
	registry_manifest_builder *b = NULL;
	CHECK_INT(registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST), 0);
	const registry_descriptor *c = registry_manifest_config(src);
	CHECK_INT(registry_manifest_builder_set_config(b, SPEC(registry_descriptor_media_type(c), registry_descriptor_digest(c), registry_descriptor_size(c))),
	          0);
	for (size_t i = 0; i < registry_manifest_layer_count(src); i++)
		CHECK_INT(registry_manifest_builder_add_descriptor(b, registry_manifest_layer(src, i)), 0);
	registry_manifest *built = NULL;
	CHECK_INT(registry_manifest_builder_build(&built, b), 0);
	size_t blen = 0;
	const char *braw = raw_text(built, &blen);
	CHECK_INT(blen, len);
	CHECK(blen == len && memcmp(braw, bytes, len) == 0);
	CHECK_STR(registry_manifest_digest(built),
	          "sha256:e5dd9dbb37df5b731a6688fa49f4003359f6f126958c9c928f937bec69836320");
	CHECK_STR(registry_manifest_media_type(built), REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST);
	CHECK_INT(registry_manifest_layer_count(built), 4);

	/* Building again gives the same bytes. */
	registry_manifest *again = NULL;
	CHECK_INT(registry_manifest_builder_build(&again, b), 0);
	CHECK_STR(registry_manifest_digest(again), registry_manifest_digest(built));
	registry_manifest_free(again);
	registry_manifest_free(built);
	registry_manifest_builder_free(b);
	registry_manifest_free(src);
	free(bytes);
}

static const char expected_oci[] =
	"{\n"
	"   \"schemaVersion\": 2,\n"
	"   \"mediaType\": \"application/vnd.oci.image.manifest.v1+json\",\n"
	"   \"artifactType\": \"application/vnd.example+type\",\n"
	"   \"config\": {\n"
	"      \"mediaType\": \"application/vnd.oci.empty.v1+json\",\n"
	"      \"size\": 2,\n"
	"      \"digest\": \"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\"\n"
	"   },\n"
	"   \"layers\": [\n"
	"      {\n"
	"         \"mediaType\": \"application/vnd.oci.image.layer.v1.tar+gzip\",\n"
	"         \"size\": 9007199254740991,\n"
	"         \"digest\": \"" DG("a") "\",\n"
	"         \"annotations\": {\n"
	"            \"a.first\": \"1\",\n"
	"            \"org.opencontainers.image.title\": \"x \\\"q\\\" \\u003c\\u003e\\u0026 \\\\ \\n\\t\\u0001 é \\u2028\"\n"
	"         }\n"
	"      }\n"
	"   ],\n"
	"   \"subject\": {\n"
	"      \"mediaType\": \"application/vnd.oci.image.manifest.v1+json\",\n"
	"      \"size\": 555,\n"
	"      \"digest\": \"" DG("b") "\"\n"
	"   },\n"
	"   \"annotations\": {\n"
	"      \"a\": \"2\",\n"
	"      \"b\": \"\"\n"
	"   }\n"
	"}";

static registry_manifest_builder *oci_builder(int reverse_annotations)
{
	registry_manifest_builder *b = NULL;
	CHECK_INT(registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_OCI_MANIFEST), 0);
	if (reverse_annotations) {
		CHECK_INT(registry_manifest_builder_set_annotation(b, "b", ""), 0);
		CHECK_INT(registry_manifest_builder_set_annotation(b, "a", "1"), 0);
		CHECK_INT(registry_manifest_builder_set_annotation(b, "a", "2"), 0); /* replaces */
	} else {
		CHECK_INT(registry_manifest_builder_set_annotation(b, "a", "2"), 0);
		CHECK_INT(registry_manifest_builder_set_annotation(b, "b", ""), 0);
	}
	CHECK_INT(registry_manifest_builder_set_subject(b, SPEC(REGISTRY_MEDIA_TYPE_OCI_MANIFEST, DG("b"), 555)), 0);
	CHECK_INT(registry_manifest_builder_set_config(b, SPEC(REGISTRY_MEDIA_TYPE_OCI_EMPTY, "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", 2)),
	          0);
	static const char *const layer_annotations[] = {
	        "org.opencontainers.image.title", "x \"q\" <>& \\ \n\t\001 é \xe2\x80\xa8", "a.first", "1", NULL};
	registry_descriptor_spec layer = REGISTRY_DESCRIPTOR_SPEC_INIT;
	layer.media_type = REGISTRY_MEDIA_TYPE_OCI_LAYER_GZIP;
	layer.digest = DG("a");
	layer.size = 9007199254740991LL;
	layer.annotations = layer_annotations;
	CHECK_INT(registry_manifest_builder_add_layer(b, &layer), 0);
	CHECK_INT(registry_manifest_builder_set_artifact_type(b, "application/vnd.example+type"), 0);
	return b;
}

static void test_oci_exact_bytes(void)
{
	for (int reverse = 0; reverse < 2; reverse++) {
		registry_manifest_builder *b = oci_builder(reverse);
		registry_manifest *m = NULL;
		CHECK_INT(registry_manifest_builder_build(&m, b), 0);
		size_t len = 0;
		const char *raw = raw_text(m, &len);
		CHECK_INT(len, sizeof(expected_oci) - 1);
		if (len != sizeof(expected_oci) - 1 || memcmp(raw, expected_oci, len) != 0)
			fprintf(stderr, "got:\n%.*s\n", (int)len, raw ? raw : "");
		CHECK(len == sizeof(expected_oci) - 1 && memcmp(raw, expected_oci, len) == 0);
		/* Parsed back. */
		char *want = NULL;
		registry_digest_buffer(&want, REGISTRY_DIGEST_SHA256, expected_oci, sizeof(expected_oci) - 1);
		CHECK_STR(registry_manifest_digest(m), want);
		registry_free(want);
		CHECK_STR(registry_manifest_artifact_type(m), "application/vnd.example+type");
		CHECK_STR(registry_descriptor_digest(registry_manifest_subject(m)), DG("b"));
		CHECK_INT(registry_descriptor_size(registry_manifest_layer(m, 0)), 9007199254740991LL);
		CHECK_STR(registry_descriptor_annotation(registry_manifest_layer(m, 0), "org.opencontainers.image.title"),
		          "x \"q\" <>& \\ \n\t\001 é \xe2\x80\xa8");
		CHECK_STR(registry_manifest_annotation(m, "a"), "2");
		CHECK_STR(registry_manifest_annotation(m, "b"), "");
		registry_manifest_free(m);
		registry_manifest_builder_free(b);
	}
}

/* A Docker list and an OCI index from the captured list's entries. */
static void test_indexes(void)
{
	char *bytes;
	size_t len;
	registry_manifest *list = load_manifest("docker-list.json", &bytes, &len);
	const char *types[] = { REGISTRY_MEDIA_TYPE_DOCKER_LIST, REGISTRY_MEDIA_TYPE_OCI_INDEX };
	for (size_t t = 0; t < 2; t++) {
		registry_manifest_builder *b = NULL;
		CHECK_INT(registry_manifest_builder_new(&b, types[t]), 0);
		for (size_t i = 0; i < registry_manifest_entry_count(list); i++)
			CHECK_INT(registry_manifest_builder_add_descriptor(b, registry_manifest_entry(list, i)), 0);
		CHECK_INT(registry_manifest_builder_add_manifest(b, entry(REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST, DG("c"), 42,
		                                                 "linux", "arm", "v7")),
		          0);
		registry_manifest *m = NULL;
		CHECK_INT(registry_manifest_builder_build(&m, b), 0);
		CHECK_STR(registry_manifest_media_type(m), types[t]);
		CHECK_INT(registry_manifest_kind(m), REGISTRY_MANIFEST_INDEX);
		CHECK_INT(registry_manifest_entry_count(m), 3);
		for (size_t i = 0; i < 2; i++) {
			const registry_descriptor *a = registry_manifest_entry(list, i);
			const registry_descriptor *c = registry_manifest_entry(m, i);
			CHECK_STR(registry_descriptor_digest(c), registry_descriptor_digest(a));
			CHECK_INT(registry_descriptor_size(c), registry_descriptor_size(a));
			CHECK_STR(registry_descriptor_platform_architecture(c), registry_descriptor_platform_architecture(a));
		}
		const registry_descriptor *pick = NULL;
		CHECK_INT(registry_manifest_select_platform(&pick, m, &(registry_platform){REGISTRY_PLATFORM_VERSION, "linux", "armhf", NULL, NULL, NULL}), 0);
		CHECK_STR(registry_descriptor_digest(pick), DG("c"));
		CHECK_INT(registry_manifest_select_platform(&pick, m, &(registry_platform){REGISTRY_PLATFORM_VERSION, "linux", "arm64", NULL, NULL, NULL}), 0);
		CHECK_STR(registry_descriptor_platform_variant(pick), "v8");
		size_t rlen;
		const char *raw = raw_text(m, &rlen);
		/* Docker list entries: platform with architecture before os, as distribution writes them. */
		CHECK(strstr(raw, "\"platform\": {\n            \"architecture\": \"arm\",\n            \"os\": \"linux\",\n"
		                  "            \"variant\": \"v7\"\n         }") != NULL);
		registry_manifest_free(m);
		registry_manifest_builder_free(b);
	}
	/* An OCI index entry may have no platform; a Docker list entry may not. */
	registry_manifest_builder *b = NULL;
	CHECK_INT(registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_OCI_INDEX), 0);
	CHECK_INT(registry_manifest_builder_add_manifest(b, entry(REGISTRY_MEDIA_TYPE_OCI_MANIFEST, DG("d"), 1, NULL, NULL,
	                                                 NULL)),
	          0);
	registry_manifest *m = NULL;
	CHECK_INT(registry_manifest_builder_build(&m, b), 0);
	CHECK_INT(registry_descriptor_has_platform(registry_manifest_entry(m, 0)), 0);
	registry_manifest_free(m);
	registry_manifest_builder_free(b);
	/* An empty index. */
	CHECK_INT(registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_OCI_INDEX), 0);
	CHECK_INT(registry_manifest_builder_build(&m, b), 0);
	size_t rlen;
	const char *raw = raw_text(m, &rlen);
	static const char empty[] = "{\n   \"schemaVersion\": 2,\n"
	                            "   \"mediaType\": \"application/vnd.oci.image.index.v1+json\",\n"
	                            "   \"manifests\": []\n}";
	CHECK(rlen == sizeof(empty) - 1 && memcmp(raw, empty, rlen) == 0);
	registry_manifest_free(m);
	registry_manifest_builder_free(b);
	registry_manifest_free(list);
	free(bytes);
}

static void test_errors(void)
{
	registry_manifest_builder *b = (registry_manifest_builder *)1;
	CHECK_INT(registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED), REGISTRY_EUNSUPPORTED);
	CHECK(b == NULL);
	CHECK_INT(registry_manifest_builder_new(&b, "application/json"), REGISTRY_EUNSUPPORTED);
	CHECK_INT(registry_manifest_builder_new(NULL, REGISTRY_MEDIA_TYPE_OCI_INDEX), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_builder_new(&b, NULL), REGISTRY_EINVAL);

	CHECK_INT(registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST), 0);
	registry_manifest *m = (registry_manifest *)1;
	CHECK_INT(registry_manifest_builder_build(&m, b), REGISTRY_EINVAL); /* no config */
	CHECK(m == NULL);
	CHECK_INT(registry_manifest_builder_set_config(b, SPEC("application/x", "sha256:abc", 1)), REGISTRY_EFORMAT);
	CHECK_INT(registry_manifest_builder_set_config(b, SPEC("application/x", "sha256:../../etc/passwd", 1)),
	          REGISTRY_EFORMAT);
	CHECK_INT(registry_manifest_builder_set_config(b, SPEC("application/x", DG("A"), 1)), REGISTRY_EFORMAT);
	CHECK_INT(registry_manifest_builder_set_config(b, SPEC("application/x", "md5:d41d8cd98f00b204e9800998ecf8427e", 1)),
	          REGISTRY_EUNSUPPORTED);
	CHECK_INT(registry_manifest_builder_set_config(b, SPEC("application/x", NULL, 1)), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_builder_set_config(b, SPEC("application/x", DG("1"), -1)), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_builder_set_config(b, SPEC("application/x", DG("1"), 9007199254740992LL)), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_builder_set_config(b, SPEC("not a media type", DG("1"), 1)), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_builder_set_config(b, SPEC("application/x\r\nX-Injected: 1", DG("1"), 1)), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_builder_set_config(b, SPEC(NULL, DG("1"), 1)), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_builder_add_manifest(b, entry(REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST, DG("1"), 1, "linux",
	                                                 "amd64", NULL)),
	          REGISTRY_EINVAL); /* not an index */
	CHECK_INT(registry_manifest_builder_set_subject(b, SPEC(REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST, DG("1"), 1)),
	          REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_builder_set_artifact_type(b, "application/x"), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_builder_set_annotation(b, "", "v"), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_builder_set_annotation(b, "k", "\xff"), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_builder_set_annotation(b, "k", NULL), REGISTRY_EINVAL);
	/* Failed calls left nothing behind: a valid config, then the bytes have one layer. */
	CHECK_INT(registry_manifest_builder_set_config(b, SPEC(REGISTRY_MEDIA_TYPE_DOCKER_CONFIG, DG("1"), 7)), 0);
	CHECK_INT(registry_manifest_builder_add_layer(b, SPEC(REGISTRY_MEDIA_TYPE_DOCKER_LAYER, "sha256:bad", 1)),
	          REGISTRY_EFORMAT);
	CHECK_INT(registry_manifest_builder_add_layer(b, SPEC(REGISTRY_MEDIA_TYPE_DOCKER_LAYER, DG("2"), 1)), 0);
	CHECK_INT(registry_manifest_builder_build(&m, b), 0);
	CHECK_INT(registry_manifest_layer_count(m), 1);
	CHECK_STR(registry_descriptor_digest(registry_manifest_config(m)), DG("1"));
	registry_manifest_free(m);
	registry_manifest_builder_free(b);

	/* Docker lists need platforms; indexes take no layers. */
	CHECK_INT(registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_DOCKER_LIST), 0);
	CHECK_INT(registry_manifest_builder_add_manifest(b, entry(REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST, DG("1"), 1, NULL,
	                                                 NULL, NULL)),
	          REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_builder_add_manifest(b, entry(REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST, DG("1"), 1, "linux",
	                                                 NULL, NULL)),
	          REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_builder_add_layer(b, SPEC(REGISTRY_MEDIA_TYPE_DOCKER_LAYER, DG("1"), 1)), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_builder_set_config(b, SPEC(REGISTRY_MEDIA_TYPE_DOCKER_CONFIG, DG("1"), 1)), REGISTRY_EINVAL);
	registry_manifest_builder_free(b);

	/* A schema1 layer has no size: it cannot be copied into a schema2 manifest. */
	char path[512];
	size_t len;
	snprintf(path, sizeof(path), DIR "seed-ubuntu-schema1-signed.json");
	char *bytes = check_read_file(path, &len);
	registry_manifest *s1 = NULL;
	CHECK_INT(registry_manifest_parse(&s1, bytes, len, NULL, NULL), 0);
	CHECK_INT(registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST), 0);
	CHECK_INT(registry_manifest_builder_add_descriptor(b, registry_manifest_layer(s1, 0)), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_builder_add_descriptor(b, NULL), REGISTRY_EINVAL);
	registry_manifest_builder_free(b);
	registry_manifest_free(s1);
	free(bytes);
	registry_manifest_builder_free(NULL);
}

/* Config, layers and subject take a whole descriptor spec; a platform is for index entries only. */
static void test_specs(void)
{
	registry_manifest_builder *b = NULL;
	CHECK_INT(registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_OCI_MANIFEST), 0);
	static const char *const urls[] = {"https://example.com/layer.tar.gz", NULL};
	static const char *const config_annotations[] = {"c.k", "c.v", NULL};
	registry_descriptor_spec config = REGISTRY_DESCRIPTOR_SPEC_INIT;
	config.media_type = REGISTRY_MEDIA_TYPE_OCI_CONFIG;
	config.digest = DG("1");
	config.size = 7;
	config.annotations = config_annotations;
	registry_descriptor_spec foreign = REGISTRY_DESCRIPTOR_SPEC_INIT;
	foreign.media_type = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
	foreign.digest = DG("2");
	foreign.size = 3;
	foreign.urls = urls;
	foreign.artifact_type = "application/vnd.example.layer";
	registry_descriptor_spec subject = REGISTRY_DESCRIPTOR_SPEC_INIT;
	subject.media_type = REGISTRY_MEDIA_TYPE_OCI_MANIFEST;
	subject.digest = DG("3");
	subject.size = 11;
	subject.annotations = config_annotations;

	/* A platform, or any platform field, is refused on each; nothing is kept. */
	registry_descriptor_spec bad = config;
	bad.os = "linux";
	bad.architecture = "amd64";
	CHECK_INT(registry_manifest_builder_set_config(b, &bad), REGISTRY_EINVAL);
	CHECK(strstr(registry_error_message(registry_error_last()), "only index entries have a platform") != NULL);
	bad = foreign;
	bad.variant = "v8";
	CHECK_INT(registry_manifest_builder_add_layer(b, &bad), REGISTRY_EINVAL);
	bad = subject;
	static const char *const features[] = {"win32k", NULL};
	bad.os_features = features;
	CHECK_INT(registry_manifest_builder_set_subject(b, &bad), REGISTRY_EINVAL);
	bad = config;
	bad.os_version = "10.0";
	CHECK_INT(registry_manifest_builder_set_config(b, &bad), REGISTRY_EINVAL);
	/* NULL and unknown spec versions. */
	CHECK_INT(registry_manifest_builder_set_config(b, NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_builder_add_layer(b, NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_builder_set_subject(b, NULL), REGISTRY_EINVAL);
	bad = foreign;
	bad.version = REGISTRY_DESCRIPTOR_SPEC_VERSION + 1;
	CHECK_INT(registry_manifest_builder_add_layer(b, &bad), REGISTRY_EINVAL);
	CHECK(strstr(registry_error_message(registry_error_last()), "registry_manifest_builder_add_layer: ") != NULL);
	bad.version = 0;
	CHECK_INT(registry_manifest_builder_set_config(b, &bad), REGISTRY_EINVAL);

	CHECK_INT(registry_manifest_builder_set_config(b, &config), 0);
	CHECK_INT(registry_manifest_builder_add_layer(b, &foreign), 0);
	CHECK_INT(registry_manifest_builder_set_subject(b, &subject), 0);
	registry_manifest *m = NULL;
	CHECK_INT(registry_manifest_builder_build(&m, b), 0);
	CHECK_INT(registry_manifest_layer_count(m), 1);
	const registry_descriptor *c = registry_manifest_config(m), *l = registry_manifest_layer(m, 0),
	                          *sub = registry_manifest_subject(m);
	CHECK_STR(registry_descriptor_annotation(c, "c.k"), "c.v");
	CHECK(!registry_descriptor_has_platform(c));
	CHECK_INT(registry_descriptor_url_count(l), 1);
	CHECK_STR(registry_descriptor_url(l, 0), urls[0]);
	CHECK_STR(registry_descriptor_artifact_type(l), "application/vnd.example.layer");
	CHECK_STR(registry_descriptor_digest(sub), DG("3"));
	CHECK_STR(registry_descriptor_annotation(sub, "c.k"), "c.v");
	registry_manifest_free(m);
	registry_manifest_builder_free(b);
}

static void test_too_large(void)
{
	registry_manifest_builder *b = NULL;
	CHECK_INT(registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_OCI_MANIFEST), 0);
	CHECK_INT(registry_manifest_builder_set_config(b, SPEC(REGISTRY_MEDIA_TYPE_OCI_CONFIG, DG("1"), 1)), 0);
	size_t big = 1 << 20;
	char *value = malloc(big + 1);
	memset(value, 'x', big);
	value[big] = '\0';
	char key[8];
	for (int i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		CHECK_INT(registry_manifest_builder_set_annotation(b, key, value), 0);
	}
	registry_manifest *m = (registry_manifest *)1;
	CHECK_INT(registry_manifest_builder_build(&m, b), REGISTRY_ETOOLARGE);
	CHECK(m == NULL);
	free(value);
	registry_manifest_builder_free(b);
}

/* Everything a descriptor may carry goes through a registry_descriptor_spec. */
static void test_full_entry(void)
{
	static const char *const urls[] = {"https://example.com/blob", NULL};
	static const char *const features[] = {"win32k", NULL};
	static const char *const notes[] = {"org.example.b", "2", "org.example.a", "1", NULL};
	registry_descriptor_spec spec;
	CHECK_INT(registry_descriptor_spec_init(&spec), 0);
	CHECK_INT(spec.version, REGISTRY_DESCRIPTOR_SPEC_VERSION);
	CHECK_INT(registry_descriptor_spec_init(NULL), REGISTRY_EINVAL);
	spec.media_type = REGISTRY_MEDIA_TYPE_OCI_MANIFEST;
	spec.digest = DG("e");
	spec.size = 99;
	spec.artifact_type = "application/vnd.example+json";
	spec.urls = urls;
	spec.annotations = notes;
	spec.os = "windows";
	spec.architecture = "amd64";
	spec.os_version = "10.0.17763.1234";
	spec.os_features = features;
	registry_manifest_builder *b = NULL;
	CHECK_INT(registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_OCI_INDEX), 0);
	CHECK_INT(registry_manifest_builder_add_manifest(b, &spec), 0);
	registry_manifest *m = NULL;
	CHECK_INT(registry_manifest_builder_build(&m, b), 0);
	const registry_descriptor *d = registry_manifest_entry(m, 0);
	CHECK_STR(registry_descriptor_artifact_type(d), "application/vnd.example+json");
	CHECK_INT(registry_descriptor_url_count(d), 1);
	CHECK_STR(registry_descriptor_url(d, 0), "https://example.com/blob");
	CHECK_STR(registry_descriptor_annotation(d, "org.example.a"), "1");
	CHECK_STR(registry_descriptor_annotation(d, "org.example.b"), "2");
	CHECK_STR(registry_descriptor_platform_os_version(d), "10.0.17763.1234");
	CHECK_INT(registry_descriptor_platform_os_feature_count(d), 1);
	CHECK_STR(registry_descriptor_platform_os_feature(d, 0), "win32k");
	size_t len;
	const char *raw = raw_text(m, &len);
	CHECK(strstr(raw, "\"architecture\": \"amd64\",\n            \"os\": \"windows\",\n"
	                  "            \"os.version\": \"10.0.17763.1234\",\n"
	                  "            \"os.features\": [\n") != NULL);
	registry_manifest_free(m);

	/* Refused, and nothing added: */
	const char *const odd[] = {"org.example.a", NULL};
	spec.annotations = odd; /* a key without a value */
	CHECK_INT(registry_manifest_builder_add_manifest(b, &spec), REGISTRY_EINVAL);
	spec.annotations = NULL;
	spec.os = NULL;
	spec.architecture = NULL; /* os.version without a platform */
	CHECK_INT(registry_manifest_builder_add_manifest(b, &spec), REGISTRY_EINVAL);
	const char *const empty_url[] = {"", NULL};
	spec.os_version = NULL;
	spec.os_features = NULL;
	spec.urls = empty_url;
	CHECK_INT(registry_manifest_builder_add_manifest(b, &spec), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_builder_add_manifest(b, NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_builder_build(&m, b), 0);
	CHECK_INT(registry_manifest_entry_count(m), 1);
	registry_manifest_free(m);
	registry_manifest_builder_free(b);
}

int main(void)
{
	RUN(test_rebuild_seed_schema2);
	RUN(test_oci_exact_bytes);
	RUN(test_indexes);
	RUN(test_errors);
	RUN(test_full_entry);
	RUN(test_specs);
	RUN(test_too_large);
	return CHECK_DONE();
}

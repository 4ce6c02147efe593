/*
 * Pull's conversions and export, without a network: Go-style JSON strings,
 * Docker -> OCI manifests and lists, the config synthesized for schema1
 * images (the seed's ubuntu manifest, and crafted images whose expected
 * config bytes are what skopeo 1.9 wrote for them: `skopeo copy dir:X
 * oci:Y`), diff_ids through zlib, and `docker load` folders and tarballs
 * exported from a store.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "internal.h"
#include "ops/pull_impl.h"

/* A registry_descriptor_spec of media type, digest and size only. */
#define SPEC(mt_, dg_, sz_) \
	(&(registry_descriptor_spec){.version = REGISTRY_DESCRIPTOR_SPEC_VERSION, .media_type = (mt_), \
	                             .digest = (dg_), .size = (sz_)})

/* A registry_store_index_add() entry of media type, digest, size and annotations. */
#define INDEX_ENTRY(mt_, dg_, sz_, an_) \
	(&(registry_descriptor_spec){.version = REGISTRY_DESCRIPTOR_SPEC_VERSION, .media_type = (mt_), \
	                             .digest = (dg_), .size = (sz_), .annotations = (an_)})

/*
 * A crafted schema1 image and the config skopeo 1.9.3 synthesized for it.
 * Its layers: layer0_gz (one gzip member), layer1_gz (a tar split into two
 * gzip members), empty_gz (the throwaway layer). Tricky on purpose: "<&>",
 * U+2028, non-ASCII, a huge integer, zero offsets, trailing zeros, fields
 * containers/image drops.
 */
static const char crafted_manifest[] =
	"{\"schemaVersion\":1,\"name\":\"test/schema1\",\"tag\":\"latest\",\"architecture\":\"amd64\",\"f"
	"sLayers\":[{\"blobSum\":\"sha256:a1b1b81d3d1afdb8fe119b002318c12c20934713b9754a40f702adb18a2540b"
	"9\"},{\"blobSum\":\"sha256:5e2ea922181c9ecf306c2e78d31b38f5cd78f0331e6801e5c578a85e011d0eee\"},{"
	"\"blobSum\":\"sha256:a1b1b81d3d1afdb8fe119b002318c12c20934713b9754a40f702adb18a2540b9\"},{\"blob"
	"Sum\":\"sha256:d3beb291552003f56d733d4957df321999f25d9b985bb44ace524b1cd250b596\"}],\"history\":"
	"[{\"v1Compatibility\":\"{\\\"architecture\\\":\\\"amd64\\\", \\\"os\\\":\\\"linux\\\",\\n \\\"co"
	"nfig\\\":{\\\"Env\\\":[\\\"A=1\\\",\\\"B=<2>\\\"],\\\"Cmd\\\":[\\\"/bin/sh\\\"],\\\"Labels\\\":{"
	"\\\"z\\\":\\\"last\\\",\\\"a\\\":\\\"first \\\\u00e9 \\u00e9\\\"},\\\"Big\\\":123456789012345678"
	"90,\\\"Float\\\":1.50e3},\\\"created\\\":\\\"2024-02-03T04:05:09.000Z\\\",\\\"docker_version\\\""
	":\\\"20.10.0\\\",\\\"id\\\":\\\"084fed08b978af4d7d196a7446a86b58009e636b611db16211b65a9aadff29c5"
	"\\\",\\\"parent\\\":\\\"dbc1b4c900ffe48d575b5da5c638040125f65db0fe3e24494b76ea986457d986\\\",\\"
	"\"container_config\\\":{\\\"Cmd\\\":[\\\"/bin/sh\\\",\\\"-c\\\",\\\"#(nop) CMD [\\\\\\\"/bin/sh"
	"\\\\\\\"]\\\"]},\\\"throwaway\\\":true,\\\"parent_id\\\":\\\"x\\\",\\\"layer_id\\\":\\\"y\\\",\\"
	"\"zeta\\\":null,\\\"Size\\\":0}\"},{\"v1Compatibility\":\"{\\\"id\\\":\\\"dbc1b4c900ffe48d575b5d"
	"a5c638040125f65db0fe3e24494b76ea986457d986\\\",\\\"parent\\\":\\\"4bf5122f344554c53bde2ebb8cd2b7"
	"e3d1600ad631c385a5d7cce23c7785459a\\\",\\\"created\\\":\\\"2024-02-03T04:05:08.5+02:00\\\",\\\"c"
	"ontainer_config\\\":{\\\"Cmd\\\":[\\\"/bin/sh -c touch /b\\\"]},\\\"Size\\\":12345}\"},{\"v1Comp"
	"atibility\":\"{\\\"id\\\":\\\"4bf5122f344554c53bde2ebb8cd2b7e3d1600ad631c385a5d7cce23c7785459a\\"
	"\",\\\"parent\\\":\\\"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d\\\",\\\"c"
	"reated\\\":\\\"2024-02-03T04:05:07+00:00\\\",\\\"container_config\\\":{\\\"Cmd\\\":[\\\"/bin/sh"
	"\\\",\\\"-c\\\",\\\"echo 'a' \\\\u0026\\\\u0026 echo b > /x\\\"]},\\\"throwaway\\\":true,\\\"com"
	"ment\\\":\\\"line\\\\u2028sep\\\"}\"},{\"v1Compatibility\":\"{\\\"id\\\":\\\"6e340b9cffb37a989ca"
	"544e6bb780a2c78901d3fb33738768511a30617afa01d\\\",\\\"created\\\":\\\"2024-02-03T04:05:06.120000"
	"000Z\\\",\\\"container_config\\\":{\\\"Cmd\\\":[\\\"/bin/sh -c #(nop) ADD file:abc in / \\\"]},"
	"\\\"author\\\":\\\"Jane <jane@example.com>\\\"}\"}]}";

static const char crafted_skopeo_config[] =
	"{\"created\":\"2024-02-03T04:05:09Z\",\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\""
	"Env\":[\"A=1\",\"B=\\u003c2\\u003e\"],\"Cmd\":[\"/bin/sh\"],\"Labels\":{\"a\":\"first \303\251 "
	"\303\251\",\"z\":\"last\"}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:15c44d08bc651"
	"747c97fe29bf5e2728e3b364d3c58e1648468734384d11eef00\",\"sha256:677251c5d7e8547836d28fa637b221597"
	"e0cedd24eedae3f93aded595c1db072\"]},\"history\":[{\"created\":\"2024-02-03T04:05:06.12Z\",\"crea"
	"ted_by\":\"/bin/sh -c #(nop) ADD file:abc in / \",\"author\":\"Jane \\u003cjane@example.com\\u00"
	"3e\"},{\"created\":\"2024-02-03T04:05:07Z\",\"created_by\":\"/bin/sh -c echo 'a' \\u0026\\u0026 "
	"echo b \\u003e /x\",\"comment\":\"line\\u2028sep\",\"empty_layer\":true},{\"created\":\"2024-02-"
	"03T04:05:08.5+02:00\",\"created_by\":\"/bin/sh -c touch /b\"},{\"created\":\"2024-02-03T04:05:09"
	"Z\",\"created_by\":\"/bin/sh -c #(nop) CMD [\\\"/bin/sh\\\"]\",\"empty_layer\":true}]}";

static const char crafted2_manifest[] =
	"{\"schemaVersion\":1,\"name\":\"test/s2\",\"tag\":\"latest\",\"architecture\":\"arm64\",\"fsLaye"
	"rs\":[{\"blobSum\":\"sha256:5e8c7d52891f8173ae7f6a79a5b04d23ccf77a93b883c3eec59e18a73ebf8f5b\"},"
	"{\"blobSum\":\"sha256:5e8c7d52891f8173ae7f6a79a5b04d23ccf77a93b883c3eec59e18a73ebf8f5b\"}],\"his"
	"tory\":[{\"v1Compatibility\":\"{\\\"id\\\":\\\"1e41fa5a397c649fafed65eff53596d2a39f114b8142acb53"
	"a5cb5a7b564496e\\\",\\\"parent\\\":\\\"a2c4aed1cf757cd9a509734a267ffc7b1166b55f4c8f9c3e3550c56e7"
	"43328fc\\\",\\\"Architecture\\\":\\\"arm64\\\",\\\"variant\\\":\\\"v8\\\",\\\"os\\\":\\\"linux\\"
	"\",\\\"os.version\\\":\\\"1.0\\\",\\\"os.features\\\":[\\\"f1\\\"],\\\"author\\\":\\\"me\\\",\\"
	"\"config\\\":{\\\"User\\\":\\\"nobody\\\",\\\"ExposedPorts\\\":{\\\"80/tcp\\\":{},\\\"443/tcp\\"
	"\":{\\\"x\\\":1}},\\\"Env\\\":[],\\\"Entrypoint\\\":[\\\"/e\\\"],\\\"Cmd\\\":null,\\\"Volumes\\"
	"\":{\\\"/v\\\":{}},\\\"WorkingDir\\\":\\\"/w\\\",\\\"Labels\\\":{},\\\"StopSignal\\\":\\\"SIGTER"
	"M\\\",\\\"ArgsEscaped\\\":true,\\\"Hostname\\\":\\\"h\\\",\\\"Healthcheck\\\":{\\\"Test\\\":[\\"
	"\"x\\\"]},\\\"OnBuild\\\":[\\\"a\\\"]},\\\"throwaway\\\":true}\"},{\"v1Compatibility\":\"{\\\"id"
	"\\\":\\\"a2c4aed1cf757cd9a509734a267ffc7b1166b55f4c8f9c3e3550c56e743328fc\\\",\\\"container_conf"
	"ig\\\":{\\\"Cmd\\\":null}}\"}]}";

static const char crafted2_skopeo_config[] =
	"{\"author\":\"me\",\"architecture\":\"arm64\",\"variant\":\"v8\",\"os\":\"linux\",\"os.version\""
	":\"1.0\",\"os.features\":[\"f1\"],\"config\":{\"User\":\"nobody\",\"ExposedPorts\":{\"443/tcp\":"
	"{},\"80/tcp\":{}},\"Entrypoint\":[\"/e\"],\"Volumes\":{\"/v\":{}},\"WorkingDir\":\"/w\",\"StopSi"
	"gnal\":\"SIGTERM\",\"ArgsEscaped\":true},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:"
	"aaf85555fba330099fe0fa1195c2104bb42c0269ce00f479cb41f284b9fcd888\"]},\"history\":[{\"created\":"
	"\"0001-01-01T00:00:00Z\"},{\"created\":\"0001-01-01T00:00:00Z\",\"author\":\"me\",\"empty_layer"
	"\":true}]}";

static const unsigned char layer0_gz[] = {
	0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xff, 0xed, 0xcd, 0x31, 0x0a, 0xc2, 0x40,
	0x14, 0x45, 0xd1, 0x5f, 0xbb, 0x8a, 0xac, 0x40, 0x26, 0x71, 0x9c, 0x59, 0xcf, 0x08, 0x01, 0x8b,
	0x80, 0x60, 0x22, 0xb8, 0x7c, 0x87, 0x94, 0xf6, 0x0a, 0xe2, 0x39, 0xcd, 0x85, 0xd7, 0xbc, 0x76,
	0xdc, 0x9e, 0x5b, 0x7c, 0x56, 0xea, 0x4a, 0xce, 0x7b, 0xbb, 0xf7, 0xa6, 0x34, 0x9e, 0x62, 0xcc,
	0xe7, 0x29, 0xd7, 0x9a, 0xf2, 0xbe, 0x97, 0x5a, 0xa6, 0x18, 0x52, 0x7c, 0xc1, 0x63, 0xdd, 0xda,
	0xbd, 0x5f, 0xc6, 0x7f, 0xba, 0xce, 0xcb, 0x72, 0x1b, 0x2e, 0x6d, 0x9d, 0x0f, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xef, 0x78, 0x01, 0x9f, 0x5f, 0x9d, 0x84, 0x00, 0x28,
	0x00, 0x00
};

static const unsigned char layer1_gz[] = {
	0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xff, 0x4b, 0xd2, 0x2b, 0xa9, 0x28, 0x61,
	0xa0, 0x2d, 0x30, 0x00, 0x02, 0x33, 0x13, 0x13, 0x30, 0x0d, 0x04, 0xe8, 0xb4, 0x81, 0x81, 0x91,
	0x21, 0x83, 0xa1, 0x89, 0xa9, 0x91, 0x89, 0xb9, 0xb9, 0x81, 0x09, 0x58, 0xdc, 0xcc, 0xdc, 0xcc,
	0x88, 0x41, 0xc1, 0x80, 0x81, 0x0e, 0xa0, 0xb4, 0xb8, 0x24, 0xb1, 0x08, 0x68, 0x25, 0xc3, 0xc8,
	0x04, 0xc5, 0xa9, 0xc9, 0xf9, 0x79, 0x29, 0x0a, 0x39, 0x89, 0x95, 0xa9, 0x45, 0x0a, 0x36, 0x6a,
	0x76, 0x5c, 0x54, 0x32, 0x17, 0x00, 0x6b, 0x05, 0xb0, 0x83, 0x58, 0x02, 0x00, 0x00, 0x1f, 0x8b,
	0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xff, 0xed, 0xc1, 0x31, 0x01, 0x00, 0x00, 0x00, 0xc2,
	0xa0, 0xf5, 0x4f, 0x6d, 0x0a, 0x3f, 0xa0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x78, 0x1a, 0x82, 0x90, 0x0b, 0x18, 0xa8, 0x25, 0x00, 0x00
};

static const unsigned char empty_gz[] = {
	0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xff, 0x63, 0x60, 0x18, 0x05, 0xa3, 0x60,
	0x14, 0x8c, 0x54, 0x00, 0x00, 0x2e, 0xaf, 0xb5, 0xef, 0x00, 0x04, 0x00, 0x00
};


#define L0 "sha256:d3beb291552003f56d733d4957df321999f25d9b985bb44ace524b1cd250b596"
#define L1 "sha256:5e2ea922181c9ecf306c2e78d31b38f5cd78f0331e6801e5c578a85e011d0eee"
#define EMPTY "sha256:a1b1b81d3d1afdb8fe119b002318c12c20934713b9754a40f702adb18a2540b9"
#define DIFF0 "sha256:15c44d08bc651747c97fe29bf5e2728e3b364d3c58e1648468734384d11eef00"
#define DIFF1 "sha256:677251c5d7e8547836d28fa637b221597e0cedd24eedae3f93aded595c1db072"
#define SKOPEO_CONFIG "sha256:7b18b228d32628bb9f0389644996ec4bfe1eff34ceb7ec3ff0277025a61dd8f0"
#define CRAFTED2_DIFF "sha256:aaf85555fba330099fe0fa1195c2104bb42c0269ce00f479cb41f284b9fcd888"
/* moby's download-frozen-image-v2.sh chain ids of [L0, L1], computed with bash + sha256sum. */
#define CHAIN0 "9709f0dafddf0d2ac546271b8f5c29800641b486c4d1362ecb37d7f2523ab3db"
#define CHAIN1 "7b50c0c68910abe256281e5ea4d65e5716b6683fcd1217ca35d998f46a91679a"
/* v1 ids of the crafted schema1 image, base first. */
#define V1_0 "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
#define V1_1 "4bf5122f344554c53bde2ebb8cd2b7e3d1600ad631c385a5d7cce23c7785459a"
#define V1_2 "dbc1b4c900ffe48d575b5da5c638040125f65db0fe3e24494b76ea986457d986"
#define V1_3 "084fed08b978af4d7d196a7446a86b58009e636b611db16211b65a9aadff29c5"

/* registry_store_export() options that only tag the image. */
#define TAGGED(tag_) \
	(&(registry_store_export_options){.version = REGISTRY_STORE_EXPORT_OPTIONS_VERSION, .repo_tag = (tag_)})

static char tmp_root[256];

static const char *tmp_path(const char *name)
{
	static char path[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(path[k], sizeof(path[k]), "%s/%s", tmp_root, name);
	return path[k];
}

static int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = fwrite(data, 1, len, f);
	return fclose(f) == 0 && w == len ? 0 : -1;
}

static int file_equals(const char *path, const void *data, size_t len)
{
	size_t n = 0;
	char *got = check_read_file(path, &n);
	int same = got && n == len && memcmp(got, data, len) == 0;
	if (!same)
		fprintf(stderr, "%s differs (%zu bytes, expected %zu)\n", path, got ? n : 0, len);
	free(got);
	return same;
}

static char *go_string(const char *s)
{
	registry__buf b;
	registry__buf_init(&b, 0);
	CHECK_INT(registry__json_go_string(&b, s), 0);
	return registry__buf_detach(&b);
}

static void test_go_string(void)
{
	char *s = go_string("a<b>&c\"d\\e\n\r\t\x01\x1f");
	CHECK_STR(s, "\"a\\u003cb\\u003e\\u0026c\\\"d\\\\e\\n\\r\\t\\u0001\\u001f\"");
	free(s);
	s = go_string("line\xe2\x80\xa8par\xe2\x80\xa9 \xc3\xa9");
	CHECK_STR(s, "\"line\\u2028par\\u2029 \xc3\xa9\"");
	free(s);
	/* Invalid UTF-8 (a lone continuation byte, an overlong form, a surrogate, a cut sequence). */
	s = go_string("x\x80y\xc0\xafz\xed\xa0\x80w\xe2\x82");
	CHECK_STR(s, "\"x\\ufffdy\\ufffd\\ufffdz\\ufffd\\ufffd\\ufffdw\\ufffd\\ufffd\"");
	free(s);
	s = go_string("");
	CHECK_STR(s, "\"\"");
	free(s);
}

static void test_json_members(void)
{
	const char text[] = " { \"b\" : 1.50e3, \"a\":{\"x\":[1, \"}\\\"]\"]} ,\"c\":null,\"b\":\"s\\\"q\" } ";
	void *tree = NULL;
	registry__json_member *m = NULL;
	size_t n = 0;
	CHECK_INT(registry__json_members(text, strlen(text), &tree, &m, &n), 0);
	CHECK_INT(n, 3);
	if (n == 3) {
		CHECK_STR(m[0].key, "b"); /* the first place, the last value */
		CHECK(m[0].raw_value_len == 6 && memcmp(m[0].raw_value, "\"s\\\"q\"", 6) == 0);
		CHECK_STR(m[1].key, "a");
		CHECK(m[1].raw_value_len == 17 && memcmp(m[1].raw_value, "{\"x\":[1, \"}\\\"]\"]}", 17) == 0);
		CHECK(m[1].raw_key_len == 3 && memcmp(m[1].raw_key, "\"a\"", 3) == 0);
		CHECK_STR(m[2].key, "c");
		CHECK(m[2].raw_value_len == 4 && memcmp(m[2].raw_value, "null", 4) == 0);
	}
	registry__json_members_free(tree, m);
	CHECK_INT(registry__json_members("[1]", 3, &tree, &m, &n), REGISTRY_EFORMAT);
	CHECK_INT(registry__json_members("{\"a\":", 5, &tree, &m, &n), REGISTRY_EFORMAT);
	CHECK(tree == NULL && m == NULL);
}

static void test_media_types(void)
{
	CHECK_STR(registry__oci_media_type(REGISTRY_MEDIA_TYPE_DOCKER_LAYER), REGISTRY_MEDIA_TYPE_OCI_LAYER_GZIP);
	CHECK_STR(registry__oci_media_type("application/vnd.docker.image.rootfs.diff.tar"), REGISTRY_MEDIA_TYPE_OCI_LAYER);
	CHECK_STR(registry__oci_media_type(REGISTRY_MEDIA_TYPE_DOCKER_FOREIGN_LAYER),
	          "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip");
	CHECK_STR(registry__oci_media_type(REGISTRY_MEDIA_TYPE_DOCKER_CONFIG), REGISTRY_MEDIA_TYPE_OCI_CONFIG);
	CHECK_STR(registry__oci_media_type(REGISTRY_MEDIA_TYPE_DOCKER_LIST), REGISTRY_MEDIA_TYPE_OCI_INDEX);
	CHECK_STR(registry__oci_media_type(REGISTRY_MEDIA_TYPE_OCI_LAYER_ZSTD), REGISTRY_MEDIA_TYPE_OCI_LAYER_ZSTD);
	CHECK(registry__oci_media_type("application/x-unknown") == NULL);
	CHECK(registry__oci_media_type(NULL) == NULL);
}

static registry_manifest *parse_file(const char *name, const char *media_type)
{
	char path[512];
	snprintf(path, sizeof(path), TEST_DATA_DIR "/manifests/%s", name);
	size_t len = 0;
	char *data = check_read_file(path, &len);
	registry_manifest *m = NULL;
	CHECK(data != NULL);
	if (data)
		CHECK_INT(registry_manifest_parse(&m, data, len, media_type, NULL), 0);
	free(data);
	return m;
}

static void test_docker_manifest_to_oci(void)
{
	registry_manifest *m = parse_file("docker-schema2.json", NULL), *oci = NULL;
	CHECK_INT(registry__convert_docker_manifest(&oci, m), 0);
	CHECK_STR(registry_manifest_media_type(oci), REGISTRY_MEDIA_TYPE_OCI_MANIFEST);
	const registry_descriptor *c = registry_manifest_config(oci);
	CHECK_STR(registry_descriptor_media_type(c), REGISTRY_MEDIA_TYPE_OCI_CONFIG);
	CHECK_STR(registry_descriptor_digest(c), "sha256:499089926705df5ac69a92d43d6b07468d1991165e52e49dfc404c09b2aa5e86");
	CHECK_INT(registry_descriptor_size(c), 513);
	CHECK_INT(registry_manifest_layer_count(oci), 2);
	for (size_t i = 0; i < 2; i++) {
		CHECK_STR(registry_descriptor_media_type(registry_manifest_layer(oci, i)), REGISTRY_MEDIA_TYPE_OCI_LAYER_GZIP);
		CHECK_STR(registry_descriptor_digest(registry_manifest_layer(oci, i)),
		          registry_descriptor_digest(registry_manifest_layer(m, i)));
		CHECK_INT(registry_descriptor_size(registry_manifest_layer(oci, i)),
		          registry_descriptor_size(registry_manifest_layer(m, i)));
	}
	CHECK(strcmp(registry_manifest_digest(oci), registry_manifest_digest(m)) != 0);
	registry_manifest_free(oci);
	registry_manifest_free(m);

	/* A layer type OCI has no name for is refused, not guessed. */
	const char odd[] = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
	                   "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"size\":1,"
	                   "\"digest\":\"" L0 "\"},\"layers\":[{\"mediaType\":\"application/x-odd\",\"size\":2,"
	                   "\"digest\":\"" L1 "\"}]}";
	CHECK_INT(registry_manifest_parse(&m, odd, strlen(odd), NULL, NULL), 0);
	CHECK_INT(registry__convert_docker_manifest(&oci, m), REGISTRY_EUNSUPPORTED);
	CHECK(oci == NULL);
	registry_manifest_free(m);
}

static void test_docker_list_to_oci_index(void)
{
	registry_manifest *m = parse_file("docker-list.json", NULL), *oci = NULL;
	const char *types[] = {REGISTRY_MEDIA_TYPE_OCI_MANIFEST, REGISTRY_MEDIA_TYPE_OCI_MANIFEST};
	const char *digests[] = {L0, L1};
	int64_t sizes[] = {114, 138};
	CHECK_INT(registry__convert_index(&oci, m, types, digests, sizes), 0);
	CHECK_STR(registry_manifest_media_type(oci), REGISTRY_MEDIA_TYPE_OCI_INDEX);
	CHECK_INT(registry_manifest_entry_count(oci), 2);
	const registry_descriptor *d0 = registry_manifest_entry(oci, 0), *d1 = registry_manifest_entry(oci, 1);
	CHECK_STR(registry_descriptor_media_type(d0), REGISTRY_MEDIA_TYPE_OCI_MANIFEST);
	CHECK_STR(registry_descriptor_digest(d0), L0);
	CHECK_INT(registry_descriptor_size(d1), 138);
	CHECK_STR(registry_descriptor_platform_os(d0), "linux");
	CHECK_STR(registry_descriptor_platform_architecture(d0), "amd64");
	CHECK_STR(registry_descriptor_platform_architecture(d1), "arm64");
	CHECK_STR(registry_descriptor_platform_variant(d1), "v8");
	size_t len = 0;
	const char *raw = registry_manifest_raw(oci, &len);
	CHECK(len > 0 && !memmem(raw, len, "vnd.docker", 10));
	registry_manifest_free(oci);
	registry_manifest_free(m);
}

static char *schema1_config_of(const char *manifest, const char *const *diff_ids, size_t n, int *rc_out)
{
	registry_manifest *m = NULL;
	registry__schema1 s;
	char *config = NULL;
	size_t len = 0;
	int rc = registry_manifest_parse(&m, manifest, strlen(manifest), NULL, NULL);
	if (!rc && !(rc = registry__schema1_load(&s, m))) {
		rc = registry__schema1_config(&config, &len, &s, diff_ids, n);
		registry__schema1_free(&s);
	}
	registry_manifest_free(m);
	*rc_out = rc;
	if (config)
		CHECK_INT(strlen(config), len);
	return config;
}

static void test_schema1_matches_skopeo(void)
{
	const char *diffs[] = {DIFF0, DIFF1};
	int rc = 0;
	char *config = schema1_config_of(crafted_manifest, diffs, 2, &rc);
	CHECK_INT(rc, 0);
	CHECK_STR(config, crafted_skopeo_config);
	char *digest = NULL;
	if (config)
		registry_digest_buffer(&digest, REGISTRY_DIGEST_SHA256, config, strlen(config));
	CHECK_STR(digest, SKOPEO_CONFIG);
	registry_free(digest);
	free(config);

	const char *diffs2[] = {CRAFTED2_DIFF};
	config = schema1_config_of(crafted2_manifest, diffs2, 1, &rc);
	CHECK_INT(rc, 0);
	CHECK_STR(config, crafted2_skopeo_config);
	free(config);

	/* The diff_ids must match the non-throwaway layers one to one. */
	config = schema1_config_of(crafted_manifest, diffs, 1, &rc);
	CHECK_INT(rc, REGISTRY_EINVAL);
	CHECK(config == NULL);
}

static void test_schema1_seed(void)
{
	registry_manifest *m = parse_file("seed-ubuntu-schema1-signed.json", REGISTRY_MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED);
	registry__schema1 s;
	CHECK_INT(registry__schema1_load(&s, m), 0);
	CHECK_INT(s.count, 5);
	if (s.count != 5) {
		registry_manifest_free(m);
		return;
	}
	CHECK_STR(s.ids[0], "8fb0b731671252f48390a80acfa8aa2a69453705b14d2ff67b3a12a0495baafd");
	CHECK_STR(s.ids[4], "e3b70a2503b80c1049c85825982e2515f1d3896c86bd9d11ace9a1bbd3e95746");
	CHECK_STR(s.blob_sums[0], "sha256:5bed26d33875e6da1d9ff9a1054c5fef3bbeb22ee979e14b72acf72528de007b");
	CHECK_STR(s.blob_sums[4], "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4");
	CHECK(!s.throwaway[0] && !s.throwaway[3] && s.throwaway[4]);
	const char *diffs[] = {DIFF0, DIFF1, CRAFTED2_DIFF, L0};
	char *config = NULL;
	size_t len = 0;
	CHECK_INT(registry__schema1_config(&config, &len, &s, diffs, 4), 0);
	cJSON *c = cJSON_Parse(config ? config : "");
	CHECK(c != NULL);
	/* The OCI struct's fields, in its order. */
	const char *order[] = {"created", "architecture", "os", "config", "rootfs", "history"};
	const cJSON *f = c ? c->child : NULL;
	for (size_t i = 0; i < 6; i++, f = f ? f->next : NULL)
		CHECK_STR(f ? f->string : NULL, order[i]);
	CHECK(f == NULL);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "created")), "2020-03-20T19:20:22.835345724Z");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "architecture")), "amd64");
	const cJSON *cfg = cJSON_GetObjectItem(c, "config");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(cfg, "Cmd"), 0)), "/bin/bash");
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cfg, "ArgsEscaped")));
	CHECK(cJSON_GetObjectItem(cfg, "Hostname") == NULL); /* Docker-only fields are gone */
	CHECK(cJSON_GetObjectItem(c, "container_config") == NULL && cJSON_GetObjectItem(c, "id") == NULL);
	const cJSON *rootfs = cJSON_GetObjectItem(c, "rootfs");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(rootfs, "type")), "layers");
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(rootfs, "diff_ids")), 4);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(rootfs, "diff_ids"), 3)), L0);
	const cJSON *h = cJSON_GetObjectItem(c, "history");
	CHECK_INT(cJSON_GetArraySize(h), 5);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(h, 0), "created_by")),
	          "/bin/sh -c #(nop) ADD file:594fa35cf803361e69d817fc867b6a4069c064ffd20ed50caf42ad9bb11ca999 in / ");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(h, 4), "created_by")),
	          "/bin/sh -c #(nop)  CMD [\"/bin/bash\"]");
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(h, 4), "empty_layer")));
	CHECK(cJSON_GetObjectItem(cJSON_GetArrayItem(h, 3), "empty_layer") == NULL);
	/* Go's HTML-safe escaping, in the bytes. */
	CHECK(config && strstr(config, "\"created_by\":\"/bin/sh -c mkdir -p /run/systemd \\u0026\\u0026 echo 'docker' "
	                                "\\u003e /run/systemd/container\""));
	cJSON_Delete(c);
	free(config);
	registry__schema1_free(&s);
	registry_manifest_free(m);
}

/* A schema1 manifest of two entries whose v1 parts are given. */
static int load_pair(const char *v1_base, const char *v1_top)
{
	registry__buf b;
	registry__buf_init(&b, 0);
	registry__buf_puts(&b, "{\"schemaVersion\":1,\"name\":\"x\",\"tag\":\"y\",\"architecture\":\"amd64\",\"fsLayers\":"
	                      "[{\"blobSum\":\"" L1 "\"},{\"blobSum\":\"" L0 "\"}],\"history\":[{\"v1Compatibility\":");
	registry__buf tb;
	registry__buf_init(&tb, 0);
	registry__json_go_string(&tb, v1_top);
	registry__buf_puts(&b, tb.data);
	registry__buf_puts(&b, "},{\"v1Compatibility\":");
	tb.len = 0;
	registry__json_go_string(&tb, v1_base);
	registry__buf_puts(&b, tb.data);
	registry__buf_puts(&b, "}]}");
	registry__buf_free(&tb);
	registry_manifest *m = NULL;
	registry__schema1 s;
	int rc = registry_manifest_parse(&m, b.data, b.len, NULL, NULL);
	if (!rc && !(rc = registry__schema1_load(&s, m))) {
		CHECK(s.count >= 1);
		registry__schema1_free(&s);
	}
	registry_manifest_free(m);
	registry__buf_free(&b);
	return rc;
}

static void test_schema1_load_checks(void)
{
	const char *base = "{\"id\":\"" V1_0 "\"}";
	CHECK_INT(load_pair(base, "{\"id\":\"" V1_1 "\",\"parent\":\"" V1_0 "\"}"), 0);
	/* A repeated id right above is folded, as Docker and containers/image do. */
	CHECK_INT(load_pair(base, base), 0);
	CHECK_INT(load_pair(base, "{\"id\":\"" V1_1 "\",\"parent\":\"" V1_2 "\"}"), REGISTRY_EFORMAT);
	CHECK_INT(load_pair(base, "{\"id\":\"" V1_1 "\"}"), REGISTRY_EFORMAT);
	CHECK_INT(load_pair("{\"id\":\"../../etc\"}", "{\"id\":\"" V1_1 "\",\"parent\":\"../../etc\"}"), REGISTRY_EFORMAT);
	CHECK_INT(load_pair(base, "[1,2]"), REGISTRY_EFORMAT);
	CHECK_INT(load_pair(base, "{\"id\":\"" V1_1 "\",\"parent\":\"" V1_0 "\",\"throwaway\":\"yes\"}"), REGISTRY_EFORMAT);
	CHECK_INT(load_pair(base, "{\"id\":5}"), REGISTRY_EFORMAT);

	/* Fields of the wrong type fail the synthesis as they fail Go's decoder. */
	const char *diffs[] = {DIFF0, DIFF1};
	int rc = 0;
	registry__buf b;
	registry__buf_init(&b, 0);
	registry__buf_puts(&b, crafted_manifest);
	char *p = strstr(b.data, "\\\"B=<2>\\\"");
	CHECK(p != NULL);
	if (p) {
		memcpy(p, "12345678", 8); /* "Env":["A=1",12345678] */
		memmove(p + 8, p + 10, strlen(p + 10) + 1);
		char *config = schema1_config_of(b.data, diffs, 2, &rc);
		CHECK_INT(rc, REGISTRY_EFORMAT);
		free(config);
	}
	registry__buf_free(&b);
}

static void test_diff_ids(void)
{
	if (!registry__have_zlib()) {
		char out[REGISTRY_DIGEST_STRING_MAX];
		CHECK_INT(registry__layer_diff_id(out, tmp_path("none"), NULL, NULL), REGISTRY_EUNSUPPORTED);
		printf("SKIP: built without zlib\n");
		return;
	}
	char out[REGISTRY_DIGEST_STRING_MAX];
	int gz = -1;
	CHECK_INT(write_file(tmp_path("l0"), layer0_gz, sizeof(layer0_gz)), 0);
	CHECK_INT(registry__layer_diff_id(out, tmp_path("l0"), &gz, NULL), 0);
	CHECK_STR(out, DIFF0);
	CHECK_INT(gz, 1);
	/* Two gzip members, one tar. */
	CHECK_INT(write_file(tmp_path("l1"), layer1_gz, sizeof(layer1_gz)), 0);
	CHECK_INT(registry__layer_diff_id(out, tmp_path("l1"), NULL, NULL), 0);
	CHECK_STR(out, DIFF1);
	/* Not gzip: the bytes are the diff. */
	CHECK_INT(write_file(tmp_path("raw"), "hello", 5), 0);
	CHECK_INT(registry__layer_diff_id(out, tmp_path("raw"), &gz, NULL), 0);
	CHECK_STR(out, "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
	CHECK_INT(gz, 0);
	CHECK_INT(write_file(tmp_path("cut"), layer0_gz, sizeof(layer0_gz) - 20), 0);
	CHECK_INT(registry__layer_diff_id(out, tmp_path("cut"), NULL, NULL), REGISTRY_EFORMAT);
	unsigned char bad[sizeof(layer0_gz)];
	memcpy(bad, layer0_gz, sizeof(bad));
	bad[20] ^= 0x55;
	CHECK_INT(write_file(tmp_path("bad"), bad, sizeof(bad)), 0);
	CHECK_INT(registry__layer_diff_id(out, tmp_path("bad"), NULL, NULL), REGISTRY_EFORMAT);
	CHECK_INT(registry__layer_diff_id(out, tmp_path("missing"), NULL, NULL), REGISTRY_ENOTFOUND);
}

/* ---- cancel and progress of local work (issue 14) ---- */

typedef struct watch_log {
	int hook_calls, cancel_at; /* the cancel hook cancels on call cancel_at (0: never) */
	int reports, running, cancel_report; /* the callback cancels on report cancel_report */
	char digest[REGISTRY_DIGEST_STRING_MAX];
} watch_log;

static int watch_hook(void *ud)
{
	watch_log *l = ud;
	return ++l->hook_calls == l->cancel_at;
}

static int watch_progress(const registry_progress *p, void *ud)
{
	watch_log *l = ud;
	l->reports++;
	l->running += registry_progress_state(p) == REGISTRY_PROGRESS_RUNNING;
	snprintf(l->digest, sizeof(l->digest), "%s", registry_progress_digest(p) ? registry_progress_digest(p) : "");
	return l->reports == l->cancel_report;
}

/* A watch over a client (never connected) whose hook and callback log into @l. */
static registry_client *watched(registry__watch *w, watch_log *l)
{
	registry_client *c = NULL;
	CHECK_INT(registry_client_new(&c, "localhost:1"), 0);
	CHECK_INT(registry_client_set_cancel(c, watch_hook, l), 0);
	*w = (registry__watch){.client = c, .prog = {.cb = watch_progress, .ud = l}, .what = "test"};
	return c;
}

static void test_diff_id_watch(void)
{
	if (!registry__have_zlib()) {
		printf("SKIP: built without zlib\n");
		return;
	}
	char out[REGISTRY_DIGEST_STRING_MAX];
	/* 4 MiB read 256 KiB at a time: the hook is asked at every buffer, and
	 * its third answer stops the hashing there. */
	size_t big = (size_t)4 << 20;
	char *raw = calloc(1, big);
	CHECK(raw != NULL);
	CHECK_INT(write_file(tmp_path("big-raw"), raw, big), 0);
	free(raw);
	watch_log l = {.cancel_at = 3};
	registry__watch w;
	registry_client *c = watched(&w, &l);
	registry__watch_blob(&w, L0, (int64_t)big);
	CHECK_INT(registry__layer_diff_id(out, tmp_path("big-raw"), NULL, &w), REGISTRY_ECANCELED);
	CHECK_INT(l.hook_calls, 3);
	CHECK_INT(registry_error_code(registry_error_last()), REGISTRY_ECANCELED);
	CHECK(strstr(registry_error_message(registry_error_last()), "canceled") != NULL);
	CHECK(l.running >= 1); /* the first step reports */
	CHECK_STR(l.digest, L0);
	registry_client_free(c);

	/* A gzip layer: the callback sees RUNNING and can cancel as well. */
	CHECK_INT(write_file(tmp_path("l0w"), layer0_gz, sizeof(layer0_gz)), 0);
	l = (watch_log){.cancel_report = 1};
	c = watched(&w, &l);
	registry__watch_blob(&w, L0, (int64_t)sizeof(layer0_gz));
	CHECK_INT(registry__layer_diff_id(out, tmp_path("l0w"), NULL, &w), REGISTRY_ECANCELED);
	CHECK_INT(l.running, 1);
	/* Nobody cancels: the same diff_id as unwatched, and progress seen. */
	l = (watch_log){0};
	w.last_report = 0;
	w.prog.canceled = 0;
	registry__watch_blob(&w, L0, (int64_t)sizeof(layer0_gz));
	CHECK_INT(registry__layer_diff_id(out, tmp_path("l0w"), NULL, &w), 0);
	CHECK_STR(out, DIFF0);
	CHECK(l.hook_calls >= 1 && l.running >= 1);
	registry_client_free(c);
}

/* A store holding the crafted layers. */
static registry_store *crafted_store(const char *name)
{
	registry_store *s = NULL;
	CHECK_INT(registry_store_open(&s, tmp_path(name), REGISTRY_STORE_CREATE), 0);
	CHECK_INT(registry_store_add_blob(NULL, s, L0, layer0_gz, sizeof(layer0_gz)), 0);
	CHECK_INT(registry_store_add_blob(NULL, s, L1, layer1_gz, sizeof(layer1_gz)), 0);
	CHECK_INT(registry_store_add_blob(NULL, s, EMPTY, empty_gz, sizeof(empty_gz)), 0);
	return s;
}

static void test_convert_schema1_in_store(void)
{
	if (!registry__have_zlib()) {
		printf("SKIP: built without zlib\n");
		return;
	}
	registry_store *s = crafted_store("s1store");
	registry_manifest *m = NULL, *oci = NULL;
	CHECK_INT(registry_manifest_parse(&m, crafted_manifest, strlen(crafted_manifest), NULL, NULL), 0);
	CHECK_INT(registry__convert_schema1(&oci, s, m, NULL), 0);
	CHECK_STR(registry_manifest_media_type(oci), REGISTRY_MEDIA_TYPE_OCI_MANIFEST);
	const registry_descriptor *c = registry_manifest_config(oci);
	CHECK_STR(registry_descriptor_digest(c), SKOPEO_CONFIG); /* the config skopeo made */
	CHECK_INT(registry_descriptor_size(c), strlen(crafted_skopeo_config));
	CHECK_STR(registry_descriptor_media_type(c), REGISTRY_MEDIA_TYPE_OCI_CONFIG);
	CHECK_INT(registry_store_has(s, SKOPEO_CONFIG), 1);
	CHECK_INT(registry_manifest_layer_count(oci), 2);
	CHECK_STR(registry_descriptor_digest(registry_manifest_layer(oci, 0)), L0);
	CHECK_INT(registry_descriptor_size(registry_manifest_layer(oci, 0)), sizeof(layer0_gz));
	CHECK_STR(registry_descriptor_digest(registry_manifest_layer(oci, 1)), L1);
	CHECK_INT(registry_descriptor_size(registry_manifest_layer(oci, 1)), sizeof(layer1_gz));
	CHECK_STR(registry_descriptor_media_type(registry_manifest_layer(oci, 1)), REGISTRY_MEDIA_TYPE_OCI_LAYER_GZIP);
	registry_manifest_free(oci);
	registry_manifest_free(m);
	registry_store_free(s);

	/* A layer missing from the store. */
	CHECK_INT(registry_store_open(&s, tmp_path("s1empty"), REGISTRY_STORE_CREATE), 0);
	CHECK_INT(registry_manifest_parse(&m, crafted_manifest, strlen(crafted_manifest), NULL, NULL), 0);
	CHECK_INT(registry__convert_schema1(&oci, s, m, NULL), REGISTRY_ENOTFOUND);
	registry_manifest_free(m);
	registry_store_free(s);
}

static const char image_config[] =
	"{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"]},"
	"\"created\":\"2024-01-01T00:00:00Z\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DIFF0 "\",\"" DIFF1 "\"]},"
	"\"history\":[{\"created_by\":\"a\"},{\"created_by\":\"b\"}]}";

/* A store with a Docker schema2 image of the crafted layers, named "v1". */
static registry_store *docker_image_store(const char *name, char config_digest[REGISTRY_DIGEST_STRING_MAX])
{
	registry_store *s = crafted_store(name);
	char *digest = NULL;
	CHECK_INT(registry_store_add_blob(&digest, s, NULL, image_config, strlen(image_config)), 0);
	snprintf(config_digest, REGISTRY_DIGEST_STRING_MAX, "%s", digest ? digest : "");
	registry_free(digest);
	registry_manifest_builder *b = NULL;
	registry_manifest *m = NULL;
	CHECK_INT(registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST), 0);
	CHECK_INT(registry_manifest_builder_set_config(b, SPEC(REGISTRY_MEDIA_TYPE_DOCKER_CONFIG, config_digest, (int64_t)strlen(image_config))), 0);
	CHECK_INT(registry_manifest_builder_add_layer(b, SPEC(REGISTRY_MEDIA_TYPE_DOCKER_LAYER, L0, sizeof(layer0_gz))), 0);
	CHECK_INT(registry_manifest_builder_add_layer(b, SPEC(REGISTRY_MEDIA_TYPE_DOCKER_LAYER, L1, sizeof(layer1_gz))), 0);
	CHECK_INT(registry_manifest_builder_build(&m, b), 0);
	size_t len = 0;
	const void *raw = registry_manifest_raw(m, &len);
	CHECK_INT(registry_store_add_blob(NULL, s, registry_manifest_digest(m), raw, len), 0);
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST, registry_manifest_digest(m), (int64_t)len, NULL), "v1"), 0);
	registry_manifest_free(m);
	registry_manifest_builder_free(b);
	return s;
}

static void check_docker_dir(const char *dir, const char *config_digest)
{
	char path[600], expect[2048];
	snprintf(expect, sizeof(expect),
	         "[{\"Config\":\"%s.json\",\"RepoTags\":[\"localhost:5000/app/x:v1\"],\"Layers\":[\"" CHAIN0
	         "/layer.tar\",\"" CHAIN1 "/layer.tar\"]}]\n", config_digest + 7);
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	CHECK(file_equals(path, expect, strlen(expect)));
	snprintf(path, sizeof(path), "%s/repositories", dir);
	const char repos[] = "{\"localhost:5000/app/x\":{\"v1\":\"" CHAIN1 "\"}}\n";
	CHECK(file_equals(path, repos, strlen(repos)));
	snprintf(path, sizeof(path), "%s/%s.json", dir, config_digest + 7);
	CHECK(file_equals(path, image_config, strlen(image_config)));
	snprintf(path, sizeof(path), "%s/" CHAIN0 "/layer.tar", dir);
	CHECK(file_equals(path, layer0_gz, sizeof(layer0_gz)));
	snprintf(path, sizeof(path), "%s/" CHAIN1 "/layer.tar", dir);
	CHECK(file_equals(path, layer1_gz, sizeof(layer1_gz)));
	snprintf(path, sizeof(path), "%s/" CHAIN1 "/VERSION", dir);
	CHECK(file_equals(path, "1.0\n", 4));
	/* The base layer: the script's skeleton. */
	snprintf(path, sizeof(path), "%s/" CHAIN0 "/json", dir);
	char *json = check_read_file(path, NULL);
	CHECK(json && strncmp(json, "{\"id\":\"" CHAIN0 "\",\"created\":\"0001-01-01T00:00:00Z\",\"container_config\":{", 102) == 0);
	free(json);
	/* The top layer: the config without history and rootfs, id and parent first. */
	snprintf(path, sizeof(path), "%s/" CHAIN1 "/json", dir);
	json = check_read_file(path, NULL);
	const char top[] = "{\"id\":\"" CHAIN1 "\",\"parent\":\"" CHAIN0 "\",\"architecture\":\"amd64\",\"os\":\"linux\","
	                   "\"config\":{\"Cmd\":[\"/bin/sh\"]},\"created\":\"2024-01-01T00:00:00Z\"}\n";
	CHECK_STR(json, top);
	free(json);
}

static void test_export_docker_dir(void)
{
	char config_digest[REGISTRY_DIGEST_STRING_MAX];
	registry_store *s = docker_image_store("dstore", config_digest);
	CHECK_INT(registry_store_export(s, "v1", tmp_path("out-dir"), REGISTRY_IMAGE_FORMAT_DOCKER_DIR, TAGGED("localhost:5000/app/x:v1")), 0);
	check_docker_dir(tmp_path("out-dir"), config_digest);
	/* The store's blobs are copied, not linked, when the store stays. */
	struct stat a, b;
	char *blob = NULL;
	CHECK_INT(registry_store_blob_path(&blob, s, L0), 0);
	CHECK(stat(blob, &a) == 0 && stat(tmp_path("out-dir/" CHAIN0 "/layer.tar"), &b) == 0 && a.st_ino != b.st_ino);
	registry_free(blob);

	/* Into an existing empty folder: fine. Into a non-empty one, or onto a file: refused. */
	CHECK(mkdir(tmp_path("empty-dir"), 0755) == 0);
	CHECK_INT(registry_store_export(s, "v1", tmp_path("empty-dir//"), REGISTRY_IMAGE_FORMAT_DOCKER_DIR, TAGGED("localhost:5000/app/x:v1")), 0);
	CHECK_INT(registry_store_export(s, "v1", tmp_path("."), REGISTRY_IMAGE_FORMAT_DOCKER_DIR, NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_store_export(s, "v1", "", REGISTRY_IMAGE_FORMAT_DOCKER_DIR, NULL), REGISTRY_EINVAL);
	check_docker_dir(tmp_path("empty-dir"), config_digest);
	CHECK_INT(registry_store_export(s, "v1", tmp_path("out-dir"), REGISTRY_IMAGE_FORMAT_DOCKER_DIR, NULL), REGISTRY_ECONFLICT);
	CHECK_INT(registry_store_export(s, "v1", tmp_path("l0"), REGISTRY_IMAGE_FORMAT_DOCKER_DIR, NULL), REGISTRY_ECONFLICT);
	/* No tag: RepoTags null and no repositories file. */
	CHECK_INT(registry_store_export(s, "v1", tmp_path("untagged"), REGISTRY_IMAGE_FORMAT_DOCKER_DIR, NULL), 0);
	char *mj = check_read_file(tmp_path("untagged/manifest.json"), NULL);
	CHECK(mj && strstr(mj, "\"RepoTags\":null,"));
	free(mj);
	CHECK(access(tmp_path("untagged/repositories"), F_OK) != 0);
	/* By manifest digest too. */
	const registry_descriptor *e = NULL;
	CHECK_INT(registry_store_index_find(&e, s, "v1"), 0);
	char digest[REGISTRY_DIGEST_STRING_MAX];
	snprintf(digest, sizeof(digest), "%s", registry_descriptor_digest(e));
	CHECK_INT(registry_store_export(s, digest, tmp_path("bydigest"), REGISTRY_IMAGE_FORMAT_DOCKER_DIR, TAGGED("a:b")), 0);
	CHECK_INT(registry_store_export(s, "nope", tmp_path("nope"), REGISTRY_IMAGE_FORMAT_DOCKER_DIR, NULL), REGISTRY_ENOTFOUND);
	CHECK(access(tmp_path("nope"), F_OK) != 0);
	CHECK_INT(registry_store_export(s, "v1", tmp_path("x1"), 7, NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_store_export(s, "v1", tmp_path("x2"), REGISTRY_IMAGE_FORMAT_DOCKER_DIR, TAGGED("a@" L0)), REGISTRY_EINVAL);
	CHECK_INT(registry_store_export(s, "v1", tmp_path("x3"), REGISTRY_IMAGE_FORMAT_DOCKER_DIR, TAGGED("UPPER:case")), REGISTRY_EINVAL);
	CHECK_INT(registry_store_export(NULL, "v1", tmp_path("x4"), REGISTRY_IMAGE_FORMAT_DOCKER_DIR, NULL), REGISTRY_EINVAL);
	/* A missing layer fails the export and leaves nothing behind. */
	char *l1 = NULL;
	CHECK_INT(registry_store_blob_path(&l1, s, L1), 0);
	CHECK(l1 && unlink(l1) == 0);
	registry_free(l1);
	CHECK_INT(registry_store_export(s, "v1", tmp_path("partial"), REGISTRY_IMAGE_FORMAT_DOCKER_DIR, NULL), REGISTRY_ENOTFOUND);
	CHECK(access(tmp_path("partial"), F_OK) != 0);
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "ls -d '%s'/partial* >/dev/null 2>&1", tmp_root);
	CHECK(system(cmd) != 0); /* no temporary folder left either */
	registry_store_free(s);
}

/* Entries of the test folder whose name starts with @prefix. */
static int entries_named(const char *prefix)
{
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "ls -a '%s' | grep -c '^%s' >/dev/null", tmp_root, prefix);
	return system(cmd) == 0;
}

static void test_export_watch(void)
{
	char config_digest[REGISTRY_DIGEST_STRING_MAX];
	registry_store *s = docker_image_store("wstore", config_digest);
	for (int format = REGISTRY_IMAGE_FORMAT_DOCKER_DIR; format <= REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE; format++) {
		/* Canceled by the hook while the first layer is copied: ECANCELED,
		 * and neither the destination nor its temporary remains. */
		watch_log l = {.cancel_at = 1};
		registry__watch w;
		registry_client *c = watched(&w, &l);
		int rc = registry__store_export(s, "v1", tmp_path("wexp"), format, "x:v1", 0, &w);
		if (rc == REGISTRY_EUNSUPPORTED && format == REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE) {
			registry_client_free(c);
			break; /* no libarchive */
		}
		CHECK_INT(rc, REGISTRY_ECANCELED);
		CHECK_INT(l.hook_calls, 1);
		CHECK(!entries_named("wexp"));
		/* The callback cancels on its second report (the first blob done). */
		l = (watch_log){.cancel_report = 2};
		w.last_report = 0;
		CHECK_INT(registry__store_export(s, "v1", tmp_path("wexp"), format, "x:v1", 0, &w), REGISTRY_ECANCELED);
		CHECK_INT(l.reports, 2);
		CHECK(!entries_named("wexp"));
		/* Watched to the end: progress for every layer. */
		l = (watch_log){0};
		w.prog.canceled = 0;
		w.last_report = 0;
		CHECK_INT(registry__store_export(s, "v1", tmp_path("wexp"), format, "x:v1", 0, &w), 0);
		CHECK_INT(w.prog.blobs_done, 2);
		CHECK_INT(w.prog.blobs_total, 2);
		CHECK(l.running >= 2 && l.hook_calls >= 2);
		char cmd[1200];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_path("wexp"));
		CHECK_INT(system(cmd), 0);
		registry_client_free(c);
	}
	/* The public call: its options carry the progress callback, which can cancel. */
	watch_log l = {.cancel_report = 2};
	registry_store_export_options o;
	CHECK_INT(registry_store_export_options_init(&o), 0);
	o.repo_tag = "localhost:5000/app/x:v1";
	o.progress = watch_progress;
	o.userdata = &l;
	CHECK_INT(registry_store_export(s, "v1", tmp_path("pexp"), REGISTRY_IMAGE_FORMAT_DOCKER_DIR, &o), REGISTRY_ECANCELED);
	CHECK_INT(l.reports, 2);
	CHECK(!entries_named("pexp"));
	l = (watch_log){0};
	CHECK_INT(registry_store_export(s, "v1", tmp_path("pexp"), REGISTRY_IMAGE_FORMAT_DOCKER_DIR, &o), 0);
	CHECK(l.running >= 2);
	check_docker_dir(tmp_path("pexp"), config_digest);
	CHECK_INT(registry_store_export_options_init(NULL), REGISTRY_EINVAL);
	registry_store_free(s);
}

static void test_export_docker_archive(void)
{
	char config_digest[REGISTRY_DIGEST_STRING_MAX];
	registry_store *s = docker_image_store("astore", config_digest);
	int rc = registry_store_export(s, "v1", tmp_path("image.tar"), REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE, TAGGED("localhost:5000/app/x:v1"));
	if (rc == REGISTRY_EUNSUPPORTED) {
		printf("SKIP: built without libarchive\n");
		registry_store_free(s);
		return;
	}
	CHECK_INT(rc, 0);
	/* tar reads it back into the same files as the folder export. */
	char cmd[1200];
	CHECK(mkdir(tmp_path("untar"), 0755) == 0);
	snprintf(cmd, sizeof(cmd), "tar -xf '%s' -C '%s'", tmp_path("image.tar"), tmp_path("untar"));
	CHECK_INT(system(cmd), 0);
	check_docker_dir(tmp_path("untar"), config_digest);
	snprintf(cmd, sizeof(cmd), "test $(tar -tf '%s' | wc -l) -eq 11", tmp_path("image.tar"));
	CHECK_INT(system(cmd), 0); /* 2 folders, 3 files each, config, manifest.json, repositories */
	/* The same image gives the same bytes. */
	CHECK_INT(registry_store_export(s, "v1", tmp_path("image2.tar"), REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE, TAGGED("localhost:5000/app/x:v1")), 0);
	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", tmp_path("image.tar"), tmp_path("image2.tar"));
	CHECK_INT(system(cmd), 0);
	/* A file is replaced; a folder is not. */
	CHECK_INT(registry_store_export(s, "v1", tmp_path("image.tar"), REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE, NULL), 0);
	CHECK_INT(registry_store_export(s, "v1", tmp_path("untar"), REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE, NULL), REGISTRY_ECONFLICT);
	registry_store_free(s);
}

static void test_export_schema1(void)
{
	registry_store *s = crafted_store("s1export");
	CHECK_INT(registry_store_add_blob(NULL, s, NULL, crafted_manifest, strlen(crafted_manifest)), 0);
	char *digest = NULL;
	registry_digest_buffer(&digest, REGISTRY_DIGEST_SHA256, crafted_manifest, strlen(crafted_manifest));
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(REGISTRY_MEDIA_TYPE_DOCKER_SCHEMA1, digest, (int64_t)strlen(crafted_manifest), NULL), "old"), 0);
	CHECK_INT(registry_store_export(s, "old", tmp_path("legacy"), REGISTRY_IMAGE_FORMAT_DOCKER_DIR, TAGGED("test/schema1:latest")), 0);
	/* One folder per v1 id, throwaway ones included, json = the v1Compatibility text. */
	const char *ids[] = {V1_0, V1_1, V1_2, V1_3};
	const unsigned char *blobs[] = {layer0_gz, empty_gz, layer1_gz, empty_gz};
	size_t sizes[] = {sizeof(layer0_gz), sizeof(empty_gz), sizeof(layer1_gz), sizeof(empty_gz)};
	for (size_t i = 0; i < 4; i++) {
		char name[200];
		snprintf(name, sizeof(name), "legacy/%s/layer.tar", ids[i]);
		CHECK(file_equals(tmp_path(name), blobs[i], sizes[i]));
		snprintf(name, sizeof(name), "legacy/%s/json", ids[i]);
		char *json = check_read_file(tmp_path(name), NULL);
		CHECK(json && strstr(json, ids[i]) && json[0] == '{');
		free(json);
	}
	const char repos[] = "{\"test/schema1\":{\"latest\":\"" V1_3 "\"}}\n";
	CHECK(file_equals(tmp_path("legacy/repositories"), repos, strlen(repos)));
	if (registry__have_zlib()) {
		/* And for today's daemons a manifest.json over the same folders, with skopeo's config. */
		char expect[600];
		snprintf(expect, sizeof(expect),
		         "[{\"Config\":\"%s.json\",\"RepoTags\":[\"test/schema1:latest\"],\"Layers\":[\"" V1_0
		         "/layer.tar\",\"" V1_2 "/layer.tar\"]}]\n", SKOPEO_CONFIG + 7);
		CHECK(file_equals(tmp_path("legacy/manifest.json"), expect, strlen(expect)));
		char name[200];
		snprintf(name, sizeof(name), "legacy/%s.json", SKOPEO_CONFIG + 7);
		CHECK(file_equals(tmp_path(name), crafted_skopeo_config, strlen(crafted_skopeo_config)));
	} else {
		CHECK(access(tmp_path("legacy/manifest.json"), F_OK) != 0);
	}
	registry_free(digest);
	registry_store_free(s);
}

int main(void)
{
	snprintf(tmp_root, sizeof(tmp_root), "%s/unit-convert-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp_root)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_go_string);
	RUN(test_json_members);
	RUN(test_media_types);
	RUN(test_docker_manifest_to_oci);
	RUN(test_docker_list_to_oci_index);
	RUN(test_schema1_matches_skopeo);
	RUN(test_schema1_seed);
	RUN(test_schema1_load_checks);
	RUN(test_diff_ids);
	RUN(test_diff_id_watch);
	RUN(test_convert_schema1_in_store);
	RUN(test_export_docker_dir);
	RUN(test_export_docker_archive);
	RUN(test_export_watch);
	RUN(test_export_schema1);
	registry__remove_tree(tmp_root, 1);
	return CHECK_DONE();
}

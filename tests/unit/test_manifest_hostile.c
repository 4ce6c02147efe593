/*
 * Hostile manifests: wrong types, missing fields, bad sizes and digests,
 * ambiguous documents, broken JSON, nesting bombs, huge counts, forged
 * schema1 signatures. Each must fail cleanly with the right code and a
 * message naming the problem; none may crash or leak (run under valgrind).
 */
#include "check.h"
#include "internal.h"

#define DG "\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\""
#define OCI_MT "application/vnd.oci.image.manifest.v1+json"
#define IDX_MT "application/vnd.oci.image.index.v1+json"
#define CFG "{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"size\":2,\"digest\":" DG "}"
#define LAYER(size) "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"size\":" size ",\"digest\":" DG "}"
#define IMG(layers) "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT "\",\"config\":" CFG ",\"layers\":[" layers "]}"
#define IMG_EXTRA(extra) "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT "\",\"config\":" CFG ",\"layers\":[]," extra "}"
#define IDX(entries) "{\"schemaVersion\":2,\"mediaType\":\"" IDX_MT "\",\"manifests\":[" entries "]}"
#define ENTRY(extra) "{\"mediaType\":\"" OCI_MT "\",\"size\":1,\"digest\":" DG extra "}"

static int parse_len(const char *doc, size_t len, const char *ct)
{
	registry_manifest *m = (registry_manifest *)1;
	int rc = registry_manifest_parse(&m, doc, len, ct, NULL);
	if (rc)
		CHECK(m == NULL);
	registry_manifest_free(rc ? NULL : m);
	return rc;
}

static int parse(const char *doc, const char *ct)
{
	return parse_len(doc, strlen(doc), ct);
}

static void expect(const char *doc, const char *ct, int code, const char *needle, int line)
{
	int rc = parse(doc, ct);
	const char *msg = registry_error_message(registry_error_last());
	if (rc != code || (needle && !strstr(msg, needle))) {
		fprintf(stderr, "line %d: rc %d (want %d), message \"%s\" (want \"%s\")\n", line, rc, code, msg,
		        needle ? needle : "");
		check_case_failed = 1;
	}
}
#define EXPECT(doc, ct, code, needle) expect(doc, ct, code, needle, __LINE__)

static void test_not_manifests(void)
{
	EXPECT("", NULL, REGISTRY_EFORMAT, "empty");
	EXPECT("null", NULL, REGISTRY_EFORMAT, "not a JSON object");
	EXPECT("[]", NULL, REGISTRY_EFORMAT, "not a JSON object");
	EXPECT("\"x\"", NULL, REGISTRY_EFORMAT, "not a JSON object");
	EXPECT("{", NULL, REGISTRY_EFORMAT, "not valid JSON");
	EXPECT("{\"schemaVersion\":2,}", NULL, REGISTRY_EFORMAT, "not valid JSON");
	EXPECT("{} x", NULL, REGISTRY_EFORMAT, "after the JSON value");
	EXPECT("{}", NULL, REGISTRY_EFORMAT, "schemaVersion: missing");
	EXPECT("{\"schemaVersion\":2}", NULL, REGISTRY_EFORMAT, "cannot tell");
	EXPECT("{\"schemaVersion\":\"2\"}", NULL, REGISTRY_EFORMAT, "schemaVersion: must be a number");
	EXPECT("{\"schemaVersion\":2.5}", NULL, REGISTRY_EFORMAT, "schemaVersion: must be an integer");
	EXPECT("{\"schemaVersion\":-1}", NULL, REGISTRY_EFORMAT, "negative");
	EXPECT("{\"schemaVersion\":3,\"layers\":[]}", NULL, REGISTRY_EUNSUPPORTED, "schemaVersion 3");
	EXPECT("{\"schemaVersion\":null}", NULL, REGISTRY_EFORMAT, "schemaVersion");
	/* Trailing whitespace is fine. */
	EXPECT(IMG("") " \n\t\r ", NULL, 0, NULL);
	EXPECT(" \n" IMG(""), NULL, 0, NULL);
}

static void test_media_types(void)
{
	EXPECT(IMG(""), OCI_MT, 0, NULL);
	EXPECT(IMG(""), OCI_MT "; charset=utf-8", 0, NULL);
	EXPECT(IMG(""), "  APPLICATION/VND.OCI.IMAGE.MANIFEST.V1+JSON ; x=y", 0, NULL);
	EXPECT(IMG(""), "application/json; charset=utf-8", 0, NULL);
	EXPECT(IMG(""), "text/plain", 0, NULL);
	EXPECT(IMG(""), "", 0, NULL);
	EXPECT(IMG(""), REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST, REGISTRY_EFORMAT, "served as");
	EXPECT(IMG(""), IDX_MT, REGISTRY_EFORMAT, "served as");
	EXPECT(IMG(""), "application/vnd.example.unknown+json", REGISTRY_EUNSUPPORTED, "unsupported manifest media type");
	EXPECT(IMG(""), "application/\x01", REGISTRY_EUNSUPPORTED, "unsupported Content-Type");
	EXPECT("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.artifact.manifest.v1+json\",\"blobs\":[]}",
	       NULL, REGISTRY_EUNSUPPORTED, "artifact.manifest");
	EXPECT("{\"schemaVersion\":2,\"mediaType\":5,\"layers\":[]}", NULL, REGISTRY_EFORMAT, "mediaType: must be a string");
	/* schemaVersion must match the type. */
	EXPECT(IMG(""), REGISTRY_MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED, REGISTRY_EFORMAT, "served as");
	EXPECT("{\"schemaVersion\":1,\"config\":" CFG ",\"layers\":[]}", OCI_MT, REGISTRY_EFORMAT, "schemaVersion 1");
	/* Shape sniffing: docker config media type -> Docker schema2, else OCI. */
	registry_manifest *m = NULL;
	static const char docker[] = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" REGISTRY_MEDIA_TYPE_DOCKER_CONFIG
	                             "\",\"size\":2,\"digest\":" DG "},\"layers\":[]}";
	CHECK_INT(registry_manifest_parse(&m, docker, sizeof(docker) - 1, NULL, NULL), 0);
	CHECK_STR(registry_manifest_media_type(m), REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST);
	registry_manifest_free(m);
	static const char oci[] = "{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[]}";
	CHECK_INT(registry_manifest_parse(&m, oci, sizeof(oci) - 1, NULL, NULL), 0);
	CHECK_STR(registry_manifest_media_type(m), OCI_MT);
	registry_manifest_free(m);
	static const char idx[] = "{\"schemaVersion\":2,\"manifests\":[]}";
	CHECK_INT(registry_manifest_parse(&m, idx, sizeof(idx) - 1, NULL, NULL), 0);
	CHECK_STR(registry_manifest_media_type(m), IDX_MT);
	CHECK_INT(registry_manifest_kind(m), REGISTRY_MANIFEST_INDEX);
	registry_manifest_free(m);
}

static void test_ambiguous(void)
{
	/* CVE-2021-41190: both a manifest and an index. */
	static const char both[] = "{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[],\"manifests\":[]}";
	EXPECT(both, NULL, REGISTRY_EFORMAT, "CVE-2021-41190");
	EXPECT(both, OCI_MT, REGISTRY_EFORMAT, "CVE-2021-41190");
	EXPECT(both, IDX_MT, REGISTRY_EFORMAT, "CVE-2021-41190");
	EXPECT("{\"schemaVersion\":2,\"mediaType\":\"" IDX_MT "\",\"manifests\":[],\"config\":" CFG "}", NULL,
	       REGISTRY_EFORMAT, "must not have \"config\"");
	EXPECT("{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT "\",\"config\":" CFG ",\"manifests\":[]}", NULL,
	       REGISTRY_EFORMAT, "must not have \"manifests\"");
	EXPECT("{\"schemaVersion\":2,\"manifests\":[]}", OCI_MT, REGISTRY_EFORMAT, "must not have \"manifests\"");
	EXPECT("{\"schemaVersion\":2,\"layers\":[]}", IDX_MT, REGISTRY_EFORMAT, "must not have \"layers\"");
	/* Duplicate keys: cJSON keeps the first, Go the last; refuse both readings. */
	EXPECT("{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT "\",\"mediaType\":\"" IDX_MT "\",\"manifests\":[]}",
	       NULL, REGISTRY_EFORMAT, "duplicate key \"mediaType\"");
	EXPECT(IMG_EXTRA("\"annotations\":{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\",\"d\":\"4\",\"e\":\"5\",\"f\":\"6\","
	                 "\"g\":\"7\",\"h\":\"8\",\"i\":\"9\",\"e\":\"10\"}"),
	       NULL, REGISTRY_EFORMAT, "duplicate key \"e\"");
	EXPECT(IMG(LAYER("1") "," "{\"mediaType\":\"a/b\",\"size\":1,\"size\":2,\"digest\":" DG "}"), NULL,
	       REGISTRY_EFORMAT, "duplicate key \"size\"");
}

static void test_fields(void)
{
	EXPECT(IMG(LAYER("-1")), NULL, REGISTRY_EFORMAT, "layers[0].size: must not be negative");
	EXPECT(IMG(LAYER("1") "," LAYER("1.5")), NULL, REGISTRY_EFORMAT, "layers[1].size: must be an integer");
	EXPECT(IMG(LAYER("9007199254740992")), NULL, REGISTRY_EFORMAT, "layers[0].size: is larger than 2^53");
	EXPECT(IMG(LAYER("1e400")), NULL, REGISTRY_EFORMAT, "layers[0].size");
	EXPECT(IMG(LAYER("\"12\"")), NULL, REGISTRY_EFORMAT, "layers[0].size: must be a number");
	EXPECT(IMG(LAYER("null")), NULL, REGISTRY_EFORMAT, "layers[0].size");
	EXPECT(IMG(LAYER("true")), NULL, REGISTRY_EFORMAT, "layers[0].size");
	EXPECT(IMG("{\"mediaType\":\"a/b\",\"digest\":" DG "}"), NULL, REGISTRY_EFORMAT, "layers[0].size: missing");
	EXPECT(IMG("{\"size\":1,\"digest\":" DG "}"), NULL, REGISTRY_EFORMAT, "layers[0].mediaType: missing");
	EXPECT(IMG("{\"mediaType\":\"a/b\",\"size\":1}"), NULL, REGISTRY_EFORMAT, "layers[0].digest: missing");
	EXPECT(IMG("5"), NULL, REGISTRY_EFORMAT, "layers[0]: must be an object");
	EXPECT(IMG(LAYER("9007199254740991")), NULL, 0, NULL);
	EXPECT(IMG(LAYER("0")), NULL, 0, NULL);
	EXPECT(IMG(LAYER("1.0")), NULL, 0, NULL);
	/* Digests, validated before they are stored. */
	static const char *const bad_digests[] = {
		"\"sha256:abc\"", "\"sha256:../../../etc/passwd\"", "\"SHA256:0123\"",
		"\"sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\"", "\"\"", "5", "null",
		"\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef \"",
	};
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(bad_digests); i++) {
		char doc[1024];
		snprintf(doc, sizeof(doc), IMG("{\"mediaType\":\"a/b\",\"size\":1,\"digest\":%s}"), bad_digests[i]);
		EXPECT(doc, NULL, REGISTRY_EFORMAT, "layers[0].digest");
	}
	/* An algorithm we do not implement, in the OCI grammar, is accepted
	 * (image spec: SHOULD); test_manifest.c checks it is refused where
	 * content is fetched or stored. Outside the grammar or too long: no. */
	EXPECT(IMG("{\"mediaType\":\"a/b\",\"size\":1,\"digest\":\"md5:d41d8cd98f00b204e9800998ecf8427e\"}"), NULL,
	       0, NULL);
	EXPECT(IMG("{\"mediaType\":\"a/b\",\"size\":1,\"digest\":\"blake3+:abc\"}"), NULL, REGISTRY_EFORMAT,
	       "layers[0].digest: digest algorithm \"blake3+\" is malformed");
	EXPECT(IMG("{\"mediaType\":\"a/b\",\"size\":1,\"digest\":\"blake3:a/b\"}"), NULL, REGISTRY_EFORMAT,
	       "layers[0].digest: digest encoded part: invalid character");
	EXPECT(IMG("{\"mediaType\":\"a/b\",\"size\":1,\"digest\":\"Blake3:abc\"}"), NULL, REGISTRY_EFORMAT,
	       "layers[0].digest");
	EXPECT(IMG("{\"mediaType\":\"a/b\",\"size\":1,\"digest\":\"blake3:"
	           "0123456789012345678901234567890123456789012345678901234567890123456789"
	           "0123456789012345678901234567890123456789012345678901234567890123456789\"}"),
	       NULL, REGISTRY_EFORMAT, "has 147 characters, at most 135");
	/* Media types must be type/subtype (they end up in HTTP headers). */
	EXPECT(IMG("{\"mediaType\":\"a/b\\r\\nX-Evil: 1\",\"size\":1,\"digest\":" DG "}"), NULL, REGISTRY_EFORMAT,
	       "layers[0].mediaType: not a valid media type");
	EXPECT(IMG("{\"mediaType\":\"nonsense\",\"size\":1,\"digest\":" DG "}"), NULL, REGISTRY_EFORMAT,
	       "layers[0].mediaType");
	EXPECT(IMG("{\"mediaType\":\"\",\"size\":1,\"digest\":" DG "}"), NULL, REGISTRY_EFORMAT, "layers[0].mediaType");
	/* Wrong types of the containers and optional fields. */
	EXPECT("{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT "\",\"layers\":[]}", NULL, REGISTRY_EFORMAT,
	       "config: missing");
	EXPECT("{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT "\",\"config\":[],\"layers\":[]}", NULL,
	       REGISTRY_EFORMAT, "config: must be an object");
	EXPECT("{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT "\",\"config\":" CFG "}", NULL, REGISTRY_EFORMAT,
	       "layers: missing");
	EXPECT("{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT "\",\"config\":" CFG ",\"layers\":{}}", NULL,
	       REGISTRY_EFORMAT, "layers: must be an array");
	EXPECT("{\"schemaVersion\":2,\"mediaType\":\"" IDX_MT "\"}", NULL, REGISTRY_EFORMAT, "manifests: missing");
	EXPECT(IMG_EXTRA("\"annotations\":[]"), NULL, REGISTRY_EFORMAT, "annotations: must be an object");
	EXPECT(IMG_EXTRA("\"annotations\":{\"a\":1}"), NULL, REGISTRY_EFORMAT, "value of \"a\" must be a string");
	EXPECT(IMG_EXTRA("\"annotations\":null"), NULL, 0, NULL);
	EXPECT(IMG_EXTRA("\"artifactType\":7"), NULL, REGISTRY_EFORMAT, "artifactType: must be a string");
	EXPECT(IMG_EXTRA("\"artifactType\":\"x\""), NULL, REGISTRY_EFORMAT, "artifactType: not a valid media type");
	EXPECT(IMG_EXTRA("\"subject\":\"x\""), NULL, REGISTRY_EFORMAT, "subject: must be an object");
	EXPECT(IMG_EXTRA("\"subject\":{\"mediaType\":\"a/b\",\"size\":1,\"digest\":\"x\"}"), NULL, REGISTRY_EFORMAT,
	       "subject.digest");
	EXPECT(IDX(ENTRY(",\"platform\":\"linux\"")), NULL, REGISTRY_EFORMAT, "manifests[0].platform: must be an object");
	EXPECT(IDX(ENTRY(",\"platform\":{\"os\":1}")), NULL, REGISTRY_EFORMAT, "manifests[0].platform.os");
	EXPECT(IDX(ENTRY(",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\",\"os.features\":\"x\"}")), NULL,
	       REGISTRY_EFORMAT, "manifests[0].platform.os.features: must be an array");
	EXPECT(IDX(ENTRY(",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\",\"features\":[1]}")), NULL,
	       REGISTRY_EFORMAT, "manifests[0].platform.features: entry 0 must be a string");
	EXPECT(IDX(ENTRY(",\"urls\":\"http://x\"")), NULL, REGISTRY_EFORMAT, "manifests[0].urls: must be an array");
	EXPECT(IDX(ENTRY(",\"urls\":[\"http://x\",null]")), NULL, REGISTRY_EFORMAT, "manifests[0].urls: entry 1");
	/* os and architecture are REQUIRED in a platform: the entry is named. */
	EXPECT(IDX(ENTRY(",\"platform\":{}")), NULL, REGISTRY_EFORMAT, "manifests[0].platform.os: missing");
	EXPECT(IDX(ENTRY(",\"platform\":{\"os\":\"linux\"}")), NULL, REGISTRY_EFORMAT,
	       "manifests[0].platform.architecture: missing");
	EXPECT(IDX(ENTRY(",\"platform\":{\"architecture\":\"amd64\"}")), NULL, REGISTRY_EFORMAT,
	       "manifests[0].platform.os: missing");
	EXPECT(IDX(ENTRY(",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}")), NULL, 0, NULL);
	EXPECT(IDX(ENTRY(",\"platform\":null,\"artifactType\":null,\"annotations\":{}")), NULL, 0, NULL);
	EXPECT(IDX(ENTRY(",\"unknownField\":{\"deep\":[1,2,{\"x\":null}]}")), NULL, 0, NULL);
}

static void test_bytes(void)
{
	EXPECT(IMG_EXTRA("\"annotations\":{\"a\":\"\xff\"}"), NULL, REGISTRY_EFORMAT, "invalid UTF-8");
	EXPECT(IMG_EXTRA("\"annotations\":{\"a\":\"\xc0\xaf\"}"), NULL, REGISTRY_EFORMAT, "invalid UTF-8");
	EXPECT(IMG_EXTRA("\"annotations\":{\"a\":\"\xed\xa0\x80\"}"), NULL, REGISTRY_EFORMAT, "invalid UTF-8");
	EXPECT(IMG_EXTRA("\"annotations\":{\"a\":\"\xe2\x82\"}"), NULL, REGISTRY_EFORMAT, "invalid UTF-8");
	EXPECT(IMG_EXTRA("\"annotations\":{\"a\":\"\x01\"}"), NULL, REGISTRY_EFORMAT, "control character");
	EXPECT(IMG_EXTRA("\"annotations\":{\"a\":\"tab\there\"}"), NULL, REGISTRY_EFORMAT, "control character");
	EXPECT(IMG_EXTRA("\"annotations\":{\"a\":\"x\\u0000y\"}"), NULL, REGISTRY_EFORMAT, "\\u0000");
	EXPECT(IMG_EXTRA("\"annotations\":{\"a\\u0000\":\"y\"}"), NULL, REGISTRY_EFORMAT, "\\u0000");
	EXPECT(IMG_EXTRA("\"annotations\":{\"a\":\"\\ud800\"}"), NULL, REGISTRY_EFORMAT, "not valid JSON");
	EXPECT("\x01{}", NULL, REGISTRY_EFORMAT, "control character");
	EXPECT("\xef\xbb\xbf" IMG(""), NULL, REGISTRY_EFORMAT, "byte order mark");
	/* An escaped backslash before "u0000" is just text. */
	registry_manifest *m = NULL;
	static const char ok[] = IMG_EXTRA("\"annotations\":{\"a\":\"x\\\\u0000 \\u00e9 \\\"\"}");
	CHECK_INT(registry_manifest_parse(&m, ok, sizeof(ok) - 1, NULL, NULL), 0);
	CHECK_STR(registry_manifest_annotation(m, "a"), "x\\u0000 é \"");
	registry_manifest_free(m);
	/* A NUL byte inside the buffer. */
	static const char nul[] = IMG("") "\0";
	CHECK_INT(parse_len(nul, sizeof(nul) - 1, NULL), REGISTRY_EFORMAT);
	static const char nul2[] = "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT "\0\",\"config\":" CFG ",\"layers\":[]}";
	CHECK_INT(parse_len(nul2, sizeof(nul2) - 1, NULL), REGISTRY_EFORMAT);
}

static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t ul = strlen(unit);
	size_t len = strlen(head) + ul * n + strlen(tail);
	char *s = malloc(len + 1);
	char *p = s;
	p += sprintf(p, "%s", head);
	for (size_t i = 0; i < n; i++, p += ul)
		memcpy(p, unit, ul);
	strcpy(p, tail);
	return s;
}

static void test_nesting_and_counts(void)
{
	char *bomb = repeat("", "[", 100000, "");
	EXPECT(bomb, NULL, REGISTRY_EFORMAT, "nesting deeper than 1000");
	free(bomb);
	bomb = repeat("", "{\"a\":", 100000, "");
	EXPECT(bomb, NULL, REGISTRY_EFORMAT, "nesting deeper than 1000");
	free(bomb);
	/* Deep but within the limit, in an unknown field: parsed and freed. */
	char *deep = repeat("{\"schemaVersion\":2,\"manifests\":[],\"x\":", "[", 900, "");
	char *full = repeat(deep, "]", 900, "}");
	EXPECT(full, NULL, 0, NULL);
	free(deep);
	free(full);
	/* Strings that look like brackets do not count. */
	char *quoted = repeat("{\"schemaVersion\":2,\"manifests\":[],\"x\":\"", "[", 5000, "\"}");
	EXPECT(quoted, NULL, 0, NULL);
	free(quoted);

	char *many = repeat("{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT "\",\"config\":" CFG ",\"layers\":[",
	                    LAYER("1") ",", 5000, LAYER("1") "]}");
	EXPECT(many, NULL, REGISTRY_EFORMAT, "layers: too many entries");
	free(many);
	many = repeat("{\"schemaVersion\":2,\"manifests\":[", ENTRY("") ",", 4095, ENTRY("") "]}");
	EXPECT(many, NULL, 0, NULL); /* exactly the limit */
	free(many);
	many = repeat("{\"schemaVersion\":2,\"manifests\":[", ENTRY("") ",", 4096, ENTRY("") "]}");
	EXPECT(many, NULL, REGISTRY_EFORMAT, "manifests: too many entries");
	free(many);
	many = repeat("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"a/b\",\"size\":1,\"digest\":" DG
	              ",\"urls\":[", "\"u\",", 300, "\"u\"]}]}");
	EXPECT(many, NULL, REGISTRY_EFORMAT, "manifests[0].urls: too many entries");
	free(many);
	/* Annotations: distinct keys, more than allowed. */
	registry__buf b;
	registry__buf_init(&b, 0);
	registry__buf_puts(&b, "{\"schemaVersion\":2,\"manifests\":[],\"annotations\":{");
	for (int i = 0; i < 5000; i++)
		registry__buf_printf(&b, "%s\"k%d\":\"v\"", i ? "," : "", i);
	registry__buf_puts(&b, "}}");
	EXPECT(b.data, NULL, REGISTRY_EFORMAT, "annotations: too many entries");
	registry__buf_free(&b);
}

static void test_size_limits(void)
{
	registry_manifest *m = (registry_manifest *)1;
	size_t big = REGISTRY_MANIFEST_MAX_SIZE_DEFAULT + 1;
	char *doc = malloc(big);
	memset(doc, ' ', big);
	CHECK_INT(registry_manifest_parse(&m, doc, big, NULL, NULL), REGISTRY_ETOOLARGE);
	CHECK(m == NULL);
	CHECK(strstr(registry_error_message(registry_error_last()), "exceed") != NULL);
	/* 4 MiB exactly is parsed (whitespace only: not JSON). */
	CHECK_INT(registry_manifest_parse(&m, doc, big - 1, NULL, NULL), REGISTRY_EFORMAT);
	free(doc);

	static const char img[] = IMG("");
	registry_manifest_parse_options o = REGISTRY_MANIFEST_PARSE_OPTIONS_INIT;
	o.max_size = 100;
	CHECK_INT(registry_manifest_parse(&m, img, sizeof(img) - 1, NULL, &o), REGISTRY_ETOOLARGE);
	o.max_size = sizeof(img) - 1;
	CHECK_INT(registry_manifest_parse(&m, img, sizeof(img) - 1, NULL, &o), 0);
	registry_manifest_free(m);
	o.max_size = 0;
	CHECK_INT(registry_manifest_parse(&m, img, sizeof(img) - 1, NULL, &o), 0);
	registry_manifest_free(m);
	CHECK_INT(registry_manifest_parse(&m, img, sizeof(img) - 1, NULL, NULL), 0);
	registry_manifest_free(m);
	o.version = 0;
	CHECK_INT(registry_manifest_parse(&m, img, sizeof(img) - 1, NULL, &o), REGISTRY_EINVAL);
	o.version = 2;
	CHECK_INT(registry_manifest_parse(&m, img, sizeof(img) - 1, NULL, &o), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_parse(NULL, img, sizeof(img) - 1, NULL, NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_parse(&m, NULL, 5, NULL, NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_parse(&m, NULL, 0, NULL, NULL), REGISTRY_EFORMAT);
}

/* ---- schema1 ---- */

static void b64url(registry__buf *b, const char *s, size_t len)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned char)s[i] << 16;
		if (i + 1 < len)
			v |= (unsigned char)s[i + 1] << 8;
		if (i + 2 < len)
			v |= (unsigned char)s[i + 2];
		char out[4] = { tbl[(v >> 18) & 63], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], tbl[v & 63] };
		registry__buf_append(b, out, len - i >= 3 ? 4 : len - i + 1);
	}
}

static void signature(registry__buf *doc, const char *protected_json)
{
	registry__buf_puts(doc, "{\"header\":{\"alg\":\"ES256\"},\"signature\":\"AAAA\",\"protected\":\"");
	b64url(doc, protected_json, strlen(protected_json));
	registry__buf_puts(doc, "\"}");
}

#define S1_BODY                                                                                               \
	"{\"schemaVersion\":1,\"name\":\"n\",\"tag\":\"t\",\"architecture\":\"amd64\",\"fsLayers\":[{\"blobSum\":" DG \
	"}],\"history\":[{\"v1Compatibility\":\"{\\\"id\\\":\\\"x\\\"}\"}]"

/* S1_BODY + extra + ,"signatures":[...]} with protected headers naming formatLength = len(S1_BODY). */
static int signed_doc(const char *extra, const char *const *protected_fmt, size_t n)
{
	registry__buf doc;
	registry__buf_init(&doc, 0);
	registry__buf_puts(&doc, S1_BODY);
	registry__buf_puts(&doc, extra);
	registry__buf_puts(&doc, ",\"signatures\":[");
	for (size_t i = 0; i < n; i++) {
		char prot[256];
		snprintf(prot, sizeof(prot), protected_fmt[i], (int)strlen(S1_BODY));
		registry__buf_puts(&doc, i ? "," : "");
		signature(&doc, prot);
	}
	registry__buf_puts(&doc, "]}");
	int rc = parse_len(doc.data, doc.len, NULL);
	registry__buf_free(&doc);
	return rc;
}

static void test_schema1(void)
{
	static const char *const good[] = { "{\"formatLength\":%d,\"formatTail\":\"fQ\"}" };
	CHECK_INT(signed_doc("", good, 1), 0);
	/* The payload is what counts: a field after formatLength is not part of the manifest. */
	registry__buf doc;
	registry__buf_init(&doc, 0);
	registry__buf_puts(&doc, S1_BODY ",\"comment\":\"unsigned\",\"signatures\":[");
	char prot[128];
	snprintf(prot, sizeof(prot), "{\"formatLength\":%d,\"formatTail\":\"fQ\"}", (int)strlen(S1_BODY));
	signature(&doc, prot);
	registry__buf_puts(&doc, "]}");
	registry_manifest *m = NULL;
	CHECK_INT(registry_manifest_parse(&m, doc.data, doc.len, NULL, NULL), 0);
	char *want = NULL;
	registry_digest_buffer(&want, REGISTRY_DIGEST_SHA256, S1_BODY "}", strlen(S1_BODY) + 1);
	CHECK_STR(registry_manifest_digest(m), want);
	registry_free(want);
	CHECK_INT(registry_manifest_size(m), doc.len);
	CHECK_INT(registry_manifest_signed(m), 1);
	CHECK_INT(registry_manifest_layer_count(m), 1);
	registry_manifest_free(m);
	registry__buf_free(&doc);

	static const char *const two_agree[] = { "{\"formatLength\":%d,\"formatTail\":\"fQ\"}",
		                                 "{\"formatTail\":\"fQ==\",\"formatLength\":%d,\"time\":\"x\"}" };
	CHECK_INT(signed_doc("", two_agree, 2), 0);
	static const char *const disagree[] = { "{\"formatLength\":%d,\"formatTail\":\"fQ\"}",
		                                "{\"formatLength\":%d,\"formatTail\":\"Cn0\"}" };
	CHECK_INT(signed_doc("", disagree, 2), REGISTRY_EFORMAT);
	CHECK(strstr(registry_error_message(registry_error_last()), "signatures[1]") != NULL);
	static const char *const beyond[] = { "{\"formatLength\":99999,\"formatTail\":\"fQ\",\"x\":%d}" };
	CHECK_INT(signed_doc("", beyond, 1), REGISTRY_EFORMAT);
	CHECK(strstr(registry_error_message(registry_error_last()), "beyond the end") != NULL);
	static const char *const negative[] = { "{\"formatLength\":-%d,\"formatTail\":\"fQ\"}" };
	CHECK_INT(signed_doc("", negative, 1), REGISTRY_EFORMAT);
	static const char *const fraction[] = { "{\"formatLength\":%d.5,\"formatTail\":\"fQ\"}" };
	CHECK_INT(signed_doc("", fraction, 1), REGISTRY_EFORMAT);
	static const char *const huge[] = { "{\"formatLength\":1e300,\"formatTail\":\"fQ\",\"x\":%d}" };
	CHECK_INT(signed_doc("", huge, 1), REGISTRY_EFORMAT);
	static const char *const no_len[] = { "{\"formatTail\":\"fQ\",\"x\":%d}" };
	CHECK_INT(signed_doc("", no_len, 1), REGISTRY_EFORMAT);
	static const char *const no_tail[] = { "{\"formatLength\":%d}" };
	CHECK_INT(signed_doc("", no_tail, 1), REGISTRY_EFORMAT);
	static const char *const bad_tail[] = { "{\"formatLength\":%d,\"formatTail\":\"f*\"}" };
	CHECK_INT(signed_doc("", bad_tail, 1), REGISTRY_EFORMAT);
	static const char *const not_obj[] = { "[%d]" };
	CHECK_INT(signed_doc("", not_obj, 1), REGISTRY_EFORMAT);
	static const char *const short_payload[] = { "{\"formatLength\":10,\"formatTail\":\"fQ\",\"x\":%d}" };
	CHECK_INT(signed_doc("", short_payload, 1), REGISTRY_EFORMAT);
	static const char *const zero[] = { "{\"formatLength\":0,\"formatTail\":\"\",\"x\":%d}" };
	CHECK_INT(signed_doc("", zero, 1), REGISTRY_EFORMAT);

	EXPECT(S1_BODY ",\"signatures\":[]}", NULL, REGISTRY_EFORMAT, "signatures: is empty");
	EXPECT(S1_BODY ",\"signatures\":{}}", NULL, REGISTRY_EFORMAT, "signatures: must be an array");
	EXPECT(S1_BODY ",\"signatures\":[5]}", NULL, REGISTRY_EFORMAT, "signatures[0]");
	EXPECT(S1_BODY ",\"signatures\":[{\"signature\":\"x\",\"protected\":\"!!\"}]}", NULL, REGISTRY_EFORMAT,
	       "not base64url");
	EXPECT(S1_BODY ",\"signatures\":[{\"signature\":\"x\",\"protected\":\"A\"}]}", NULL, REGISTRY_EFORMAT,
	       "not base64url");
	EXPECT(S1_BODY ",\"signatures\":[{\"signature\":\"x\",\"protected\":\"e30\"}]}", NULL, REGISTRY_EFORMAT,
	       "formatLength");
	EXPECT(S1_BODY ",\"signatures\":[{\"protected\":\"e30\"}]}", NULL, REGISTRY_EFORMAT, "signature: missing");
	EXPECT(S1_BODY "}", REGISTRY_MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED, REGISTRY_EFORMAT, "no signatures");
	EXPECT(S1_BODY "}", REGISTRY_MEDIA_TYPE_DOCKER_SCHEMA1, 0, NULL);
	EXPECT(S1_BODY "}", REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST, REGISTRY_EFORMAT, "schemaVersion 1");

	/* Unsigned schema1 structure. */
	EXPECT("{\"schemaVersion\":1,\"fsLayers\":[],\"history\":[]}", NULL, REGISTRY_EFORMAT, "fsLayers: is empty");
	EXPECT("{\"schemaVersion\":1,\"history\":[]}", NULL, REGISTRY_EFORMAT, "fsLayers: missing");
	EXPECT("{\"schemaVersion\":1,\"fsLayers\":[{\"blobSum\":" DG "}]}", NULL, REGISTRY_EFORMAT, "history: missing");
	EXPECT("{\"schemaVersion\":1,\"fsLayers\":[{\"blobSum\":" DG "}],\"history\":[]}", NULL, REGISTRY_EFORMAT,
	       "history: has 0 entries but fsLayers has 1");
	EXPECT("{\"schemaVersion\":1,\"fsLayers\":[{\"blobSum\":\"x\"}],\"history\":[{\"v1Compatibility\":\"{}\"}]}",
	       NULL, REGISTRY_EFORMAT, "fsLayers[0].blobSum");
	EXPECT("{\"schemaVersion\":1,\"fsLayers\":[5],\"history\":[{\"v1Compatibility\":\"{}\"}]}", NULL,
	       REGISTRY_EFORMAT, "fsLayers[0]: must be an object");
	EXPECT("{\"schemaVersion\":1,\"fsLayers\":[{\"blobSum\":" DG "}],\"history\":[{}]}", NULL, REGISTRY_EFORMAT,
	       "history[0].v1Compatibility: missing");
	EXPECT("{\"schemaVersion\":1,\"fsLayers\":[{\"blobSum\":" DG "}],\"history\":[{\"v1Compatibility\":\"{\"}]}",
	       NULL, REGISTRY_EFORMAT, "history[0].v1Compatibility: not valid JSON");
	EXPECT("{\"schemaVersion\":1,\"fsLayers\":[{\"blobSum\":" DG "}],\"history\":[{\"v1Compatibility\":\"[]\"}]}",
	       NULL, REGISTRY_EFORMAT, "is not a JSON object");
	EXPECT("{\"schemaVersion\":1,\"fsLayers\":[{\"blobSum\":" DG
	       "}],\"history\":[{\"v1Compatibility\":\"{\\\"throwaway\\\":\\\"yes\\\"}\"}]}",
	       NULL, REGISTRY_EFORMAT, "\"throwaway\" must be a boolean");
	EXPECT("{\"schemaVersion\":1,\"fsLayers\":[{\"blobSum\":" DG
	       "}],\"history\":[{\"v1Compatibility\":\"{\\\"a\\\":\\\"\\\\u0000\\\"}\"}]}",
	       NULL, REGISTRY_EFORMAT, "\\u0000");
	EXPECT("{\"schemaVersion\":1,\"fsLayers\":[{\"blobSum\":" DG "}],\"history\":[{\"v1Compatibility\":\"{}\"}],"
	       "\"layers\":[]}",
	       REGISTRY_MEDIA_TYPE_DOCKER_SCHEMA1, REGISTRY_EFORMAT, "must not have \"layers\"");
	/* Only throwaway layers: an image with no layers. */
	static const char all_throwaway[] =
		"{\"schemaVersion\":1,\"fsLayers\":[{\"blobSum\":" DG "}],"
		"\"history\":[{\"v1Compatibility\":\"{\\\"throwaway\\\":true}\"}]}";
	CHECK_INT(registry_manifest_parse(&m, all_throwaway, sizeof(all_throwaway) - 1, NULL, NULL), 0);
	CHECK_INT(registry_manifest_layer_count(m), 0);
	CHECK_INT(registry_manifest_history_count(m), 1);
	CHECK_INT(registry_manifest_history_throwaway(m, 0), 1);
	registry_manifest_free(m);
}

int main(void)
{
	RUN(test_not_manifests);
	RUN(test_media_types);
	RUN(test_ambiguous);
	RUN(test_fields);
	RUN(test_bytes);
	RUN(test_nesting_and_counts);
	RUN(test_size_limits);
	RUN(test_schema1);
	return CHECK_DONE();
}

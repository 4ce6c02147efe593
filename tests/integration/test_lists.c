/*
 * Tag lists, the catalog and referrers against the real registry, some
 * through tests/proxy/fault_proxy.py. One case per run:
 *
 *   itest-lists tags        via fault_proxy --paginate-tags (registry 2.8 does
 *                           not page tags): 250 tags pushed, n=100 pages,
 *                           fetched lazily (page 2 only after name 100)
 *   itest-lists loop-same   via fault_proxy --link-rewrite same
 *   itest-lists loop-first  via fault_proxy --link-rewrite first
 *   itest-lists foreign     htpasswd, via fault_proxy --link-rewrite localhost:
 *                           the page on another origin gets no credentials
 *   itest-lists catalog     token mode, three fixtures, n=1 pages
 *   itest-lists unknown     an unknown repository
 *   itest-lists referrers   via fault_proxy: the tag-schema fallback
 */
#include <cjson/cJSON.h>

#include "itest.h"
#include "transport/transport.h"

/* A registry_descriptor_spec of media type, digest and size only. */
#define SPEC(mt_, dg_, sz_) \
	(&(registry_descriptor_spec){.version = REGISTRY_DESCRIPTOR_SPEC_VERSION, .media_type = (mt_), \
	                             .digest = (dg_), .size = (sz_)})

#define FIXTURE "fixtures/small-v2s2"
#define NTAGS 250

static int count_log(const char *needle, const char *needle2)
{
	size_t len = 0;
	char *text = check_read_file(getenv("REGISTRY_TEST_PROXY_LOG"), &len);
	if (!text)
		return -1;
	int n = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		if (strstr(line, needle) && (!needle2 || strstr(line, needle2)))
			n++;
	free(text);
	return n;
}

/* The proxy logs after answering: wait until @expected lines are there (or
 * 5 s), then a little more, so that a line too many shows. */
static int settled_log(const char *needle, const char *needle2, int expected)
{
	for (int i = 0; i < 50 && count_log(needle, needle2) < expected; i++)
		usleep(100000);
	usleep(300000);
	return count_log(needle, needle2);
}

static registry_client *proxy_client(int with_credentials)
{
	const char *host = getenv("REGISTRY_TEST_PROXY_HOST");
	if (!host) {
		printf("SKIP: needs tests/proxy/fault_proxy.py in front of the registry\n");
		exit(77);
	}
	registry_client *c = NULL;
	if (registry_client_new(&c, host) != 0)
		exit(1);
	if (with_credentials && getenv("REGISTRY_TEST_USER"))
		registry_client_set_credentials(c, getenv("REGISTRY_TEST_USER"), getenv("REGISTRY_TEST_PASSWORD"));
	return c;
}

/* Tag the fixture image t000 .. t(n-1); returns the image's digest. */
static char *push_tags(int n)
{
	registry_client *c = itest_client(1);
	registry_manifest *m = NULL;
	CHECK_RC(registry_manifest_fetch(&m, c, FIXTURE, "latest", NULL), 0);
	for (int i = 0; i < n && m; i++) {
		char tag[16];
		snprintf(tag, sizeof(tag), "t%03d", i);
		CHECK_RC(registry_manifest_push(NULL, c, FIXTURE, tag, m), 0);
	}
	char *digest = m ? strdup(registry_manifest_digest(m)) : NULL;
	registry_manifest_free(m);
	registry_client_free(c);
	return digest;
}

/* The i-th name of the fixture's sorted tags: "latest", then t000 ... */
/* Open the tags list with a page size and a resume point (NULL: none). */
static int tags_open(registry_list **l, registry_client *c, const char *repo, unsigned int page_size,
                     const char *last)
{
	registry_list_options o = REGISTRY_LIST_OPTIONS_INIT;
	o.page_size = page_size;
	o.last = last;
	return registry_list_tags_open(l, c, repo, &o);
}

/* The referrers of @subject, filtered by @artifact_type (NULL: all). */
static int referrers_of(registry_manifest **out, registry_client *c, const char *repo, const char *subject,
                        const char *artifact_type)
{
	registry_referrers_fetch_options o = REGISTRY_REFERRERS_FETCH_OPTIONS_INIT;
	o.artifact_type = artifact_type;
	return registry_referrers_fetch(out, c, repo, subject, &o);
}

static void expected_tag(char *buf, size_t size, int i)
{
	if (i == 0)
		snprintf(buf, size, "latest");
	else
		snprintf(buf, size, "t%03d", i - 1);
}

/* Read @count names (or to the end when count < 0) and check them in
 * order, the first being name @start. */
static int read_tags_from(registry_list *l, int start, int count)
{
	int i = start;
	for (; count < 0 || i < start + count; i++) {
		const char *name = NULL;
		int rc = registry_list_next(&name, l);
		CHECK_RC(rc, 0);
		if (rc || !name)
			break;
		char want[16];
		expected_tag(want, sizeof(want), i);
		if (strcmp(name, want) != 0) {
			fprintf(stderr, "name %d is %s, expected %s\n", i, name, want);
			CHECK(0);
			break;
		}
	}
	return i - start;
}

static int read_tags(registry_list *l, int count)
{
	return read_tags_from(l, 0, count);
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Registry 2.8 sends every tag at once, in no particular order: all of
 * them, each once. */
static void check_unordered(registry_list *l)
{
	char *names[NTAGS + 2];
	size_t n = 0;
	for (;;) {
		const char *name = NULL;
		int rc = registry_list_next(&name, l);
		CHECK_RC(rc, 0);
		if (rc || !name || n == REGISTRY_ARRAY_LEN(names))
			break;
		names[n++] = strdup(name);
	}
	CHECK_INT(n, NTAGS + 1);
	qsort(names, n, sizeof(names[0]), compare_strings);
	for (size_t i = 0; i < n; i++) {
		char want[16];
		expected_tag(want, sizeof(want), (int)i);
		CHECK_STR(names[i], want);
		free(names[i]);
	}
}

static void test_tags(void)
{
	free(push_tags(NTAGS));
	registry_client *c = proxy_client(1);
	registry_list *l = NULL;
	CHECK_RC(tags_open(&l, c, FIXTURE, 100, NULL), 0);
	/* Nothing fetched before the first name is asked for. */
	CHECK_INT(settled_log("/tags/list", NULL, 0), 0);
	CHECK_INT(read_tags(l, 100), 100);
	CHECK_INT(settled_log("/tags/list?n=100", "\"status\": 200", 1), 1);
	CHECK_INT(count_log("/tags/list", "\"status\": 200"), 1);
	CHECK_INT(read_tags_from(l, 100, 1), 1); /* the 101st name needs page 2 */
	CHECK_INT(settled_log("/tags/list", "\"status\": 200", 2), 2);
	registry_list_free(l);

	/* All of it in one go: 251 names in order, three pages. */
	CHECK_RC(tags_open(&l, c, FIXTURE, 100, NULL), 0);
	CHECK_INT(read_tags(l, -1), NTAGS + 1);
	const char *name = "x";
	CHECK_RC(registry_list_next(&name, l), 0); /* stays at the end */
	CHECK(name == NULL);
	CHECK_INT(settled_log("/tags/list", "\"status\": 200", 5), 5);
	CHECK_INT(count_log("last=t098", NULL), 2);
	CHECK_INT(count_log("last=t198", NULL), 1);
	registry_list_free(l);

	/* Resumed: the first page asks for the names after "t198" (the
	 * distribution spec's last parameter), the Link header goes on. */
	CHECK_RC(tags_open(&l, c, FIXTURE, 40, "t198"), 0);
	CHECK_INT(read_tags_from(l, 200, -1), NTAGS + 1 - 200);
	CHECK_INT(settled_log("/tags/list?n=40&last=t198", "\"status\": 200", 1), 1);
	registry_list_free(l);
	registry_client_free(c);

	/* The registry itself, without the proxy's pages. */
	c = itest_client(1);
	CHECK_RC(tags_open(&l, c, FIXTURE, 100, NULL), 0);
	check_unordered(l);
	registry_list_free(l);
	CHECK_RC(registry_list_tags_open(&l, c, FIXTURE, NULL), 0);
	check_unordered(l);
	registry_list_free(l);
	registry_client_free(c);
}

static void test_loop(int first)
{
	free(push_tags(NTAGS));
	registry_client *c = proxy_client(1);
	registry_list *l = NULL;
	CHECK_RC(tags_open(&l, c, FIXTURE, 100, NULL), 0);
	/* "same": page 1 names itself as next; "first": page 2 points back to
	 * page 1. Either way the list ends at the repeated page. */
	int want = first ? 200 : 100;
	CHECK_INT(read_tags(l, -1), want);
	CHECK_INT(settled_log("/tags/list", "\"status\": 200", first ? 2 : 1), first ? 2 : 1);
	registry_list_free(l);
	registry_client_free(c);
}

static void test_loop_same(void)
{
	test_loop(0);
}

static void test_loop_first(void)
{
	test_loop(1);
}

static void test_foreign(void)
{
	free(push_tags(NTAGS));
	registry_client *c = proxy_client(1);
	registry_list *l = NULL;
	CHECK_RC(tags_open(&l, c, FIXTURE, 100, NULL), 0);
	CHECK_INT(read_tags(l, 100), 100);
	const char *name = NULL;
	/* Page 2 is on http://localhost:PORT, another origin: asked without
	 * credentials, the registry refuses. */
	CHECK_RC(registry_list_next(&name, l), REGISTRY_EAUTH);
	CHECK(name == NULL);
	CHECK_RC(registry_list_next(&name, l), REGISTRY_EAUTH); /* and stays failed */
	char host[64];
	snprintf(host, sizeof(host), "\"Host\": \"localhost:");
	CHECK_INT(settled_log("/tags/list", host, 1), 1);
	CHECK_INT(count_log(host, "Authorization"), 0);
	/* The registry's own origin did get them. */
	CHECK(count_log("\"Host\": \"127.0.0.1:", "\"Authorization\": \"Basic ") >= 1);
	registry_list_free(l);
	registry_client_free(c);
}

static void test_catalog(void)
{
	registry_client *c = itest_client(1);
	registry_list *l = NULL;
	registry_list_options one = REGISTRY_LIST_OPTIONS_INIT;
	one.page_size = 1;
	CHECK_RC(registry_list_catalog_open(&l, c, &one), 0);
	const char *want[] = {"fixtures/multi-v2s2", "fixtures/small-oci", "fixtures/small-v2s2"};
	size_t i = 0;
	for (;; i++) {
		const char *name = NULL;
		int rc = registry_list_next(&name, l);
		CHECK_RC(rc, 0);
		if (rc || !name)
			break;
		if (i < REGISTRY_ARRAY_LEN(want))
			CHECK_STR(name, want[i]);
	}
	CHECK_INT(i, REGISTRY_ARRAY_LEN(want));
	registry_list_free(l);
	registry_client_free(c);
}

static void test_unknown(void)
{
	registry_client *c = itest_client(1);
	registry_list *l = NULL;
	CHECK_RC(tags_open(&l, c, "no/such/repository", 10, NULL), 0);
	const char *name = "x";
	CHECK_RC(registry_list_next(&name, l), REGISTRY_ENOTFOUND);
	CHECK(name == NULL);
	CHECK_STR(registry_error_registry_code(registry_error_last()), "NAME_UNKNOWN");
	CHECK_INT(registry_error_http_status(registry_error_last()), 404);
	CHECK_RC(registry_list_next(&name, l), REGISTRY_ENOTFOUND);
	registry_list_free(l);
	registry_client_free(c);
}

/* ---- referrers ------------------------------------------------------------- */

#define EMPTY_DIGEST "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
#define SBOM_TYPE "application/vnd.example.sbom.v1+json"
#define SIG_TYPE "application/vnd.example.signature.v1+json"

/* Upload the 2-byte "{}" blob (POST, then PUT with the digest). */
static void upload_empty_blob(registry_client *c, const char *repo)
{
	char path[300];
	snprintf(path, sizeof(path), "/v2/%s/blobs/uploads/", repo);
	char scope[300];
	snprintf(scope, sizeof(scope), "repository:%s:pull,push", repo);
	registry__request post = {.method = "POST", .url = path, .scope = scope};
	registry__response r;
	registry__response_init(&r);
	CHECK_RC(registry__client_do(c, &post, &r), 0);
	CHECK_INT(r.status, 202);
	CHECK(r.location != NULL);
	char put_url[2048];
	snprintf(put_url, sizeof(put_url), "%s%sdigest=%s", r.location ? r.location : "",
	         r.location && strchr(r.location, '?') ? "&" : "?", EMPTY_DIGEST);
	registry__response_free(&r);
	const char *const headers[] = {"Content-Type: application/octet-stream", NULL};
	registry__request put = {.method = "PUT", .url = put_url, .scope = scope, .headers = headers,
	                         .body = "{}", .body_len = 2};
	registry__response_init(&r);
	CHECK_RC(registry__client_do(c, &put, &r), 0);
	CHECK_INT(r.status, 201);
	registry__response_free(&r);
}

/* An artifact manifest about @subject, pushed by digest. */
static registry_manifest *push_artifact(registry_client *c, const registry_manifest *subject,
                                        const char *artifact_type)
{
	registry_manifest_builder *b = NULL;
	registry_manifest *m = NULL;
	CHECK_RC(registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_OCI_MANIFEST), 0);
	CHECK_RC(registry_manifest_builder_set_artifact_type(b, artifact_type), 0);
	CHECK_RC(registry_manifest_builder_set_config(b, SPEC(REGISTRY_MEDIA_TYPE_OCI_EMPTY, EMPTY_DIGEST, 2)), 0);
	CHECK_RC(registry_manifest_builder_add_layer(b, SPEC(REGISTRY_MEDIA_TYPE_OCI_EMPTY, EMPTY_DIGEST, 2)), 0);
	CHECK_RC(registry_manifest_builder_set_subject(b, SPEC(registry_manifest_media_type(subject), registry_manifest_digest(subject), registry_manifest_size(subject))), 0);
	CHECK_RC(registry_manifest_builder_set_annotation(b, "org.example.kind", artifact_type), 0);
	CHECK_RC(registry_manifest_builder_build(&m, b), 0);
	registry_manifest_builder_free(b);
	if (m)
		CHECK_RC(registry_manifest_push(NULL, c, FIXTURE, registry_manifest_digest(m), m), 0);
	return m;
}

/* The tag schema index as ORAS and regclient write it: the builder has no
 * artifactType setter for entries, so it is copied from a parsed index. */
static void push_tag_schema(registry_client *c, const registry_manifest *subject,
                            registry_manifest *const *artifacts, const char *const *types, size_t n)
{
	cJSON *root = cJSON_CreateObject(), *list = cJSON_CreateArray();
	cJSON_AddNumberToObject(root, "schemaVersion", 2);
	cJSON_AddStringToObject(root, "mediaType", REGISTRY_MEDIA_TYPE_OCI_INDEX);
	cJSON_AddItemToObject(root, "manifests", list);
	for (size_t i = 0; i < n; i++) {
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "mediaType", REGISTRY_MEDIA_TYPE_OCI_MANIFEST);
		cJSON_AddNumberToObject(d, "size", (double)registry_manifest_size(artifacts[i]));
		cJSON_AddStringToObject(d, "digest", registry_manifest_digest(artifacts[i]));
		cJSON_AddStringToObject(d, "artifactType", types[i]);
		cJSON_AddItemToArray(list, d);
	}
	char *text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	registry_manifest *parsed = NULL, *index = NULL;
	CHECK_RC(registry_manifest_parse(&parsed, text, strlen(text), NULL, NULL), 0);
	free(text);
	/* Re-serialized through the builder, as a client would write it. */
	registry_manifest_builder *b = NULL;
	CHECK_RC(registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_OCI_INDEX), 0);
	for (size_t i = 0; i < registry_manifest_entry_count(parsed); i++)
		CHECK_RC(registry_manifest_builder_add_descriptor(b, registry_manifest_entry(parsed, i)), 0);
	CHECK_RC(registry_manifest_builder_build(&index, b), 0);
	char tag[80];
	snprintf(tag, sizeof(tag), "sha256-%s", registry_manifest_digest(subject) + 7);
	if (index)
		CHECK_RC(registry_manifest_push(NULL, c, FIXTURE, tag, index), 0);
	registry_manifest_builder_free(b);
	registry_manifest_free(parsed);
	registry_manifest_free(index);
}

static void check_entries(const registry_manifest *idx, registry_manifest *const *want, size_t n)
{
	CHECK_INT(registry_manifest_kind(idx), REGISTRY_MANIFEST_INDEX);
	CHECK_STR(registry_manifest_media_type(idx), REGISTRY_MEDIA_TYPE_OCI_INDEX);
	CHECK_INT(registry_manifest_entry_count(idx), n);
	for (size_t i = 0; i < n && i < registry_manifest_entry_count(idx); i++) {
		const registry_descriptor *d = registry_manifest_entry(idx, i);
		CHECK_STR(registry_descriptor_digest(d), registry_manifest_digest(want[i]));
		CHECK_INT(registry_descriptor_size(d), registry_manifest_size(want[i]));
		CHECK_STR(registry_descriptor_artifact_type(d), registry_manifest_artifact_type(want[i]));
	}
}

static void test_referrers(void)
{
	registry_client *direct = itest_client(1);
	registry_manifest *image = NULL;
	CHECK_RC(registry_manifest_fetch(&image, direct, FIXTURE, "latest", NULL), 0);
	if (!image)
		return;
	upload_empty_blob(direct, FIXTURE);
	registry_manifest *arts[2] = {push_artifact(direct, image, SBOM_TYPE),
	                              push_artifact(direct, image, SIG_TYPE)};
	if (!arts[0] || !arts[1])
		return;
	CHECK_STR(registry_descriptor_digest(registry_manifest_subject(arts[0])), registry_manifest_digest(image));
	const char *types[2] = {SBOM_TYPE, SIG_TYPE};
	push_tag_schema(direct, image, arts, types, 2);

	registry_client *c = proxy_client(1);
	const char *subject = registry_manifest_digest(image);
	registry_manifest *idx = NULL;
	CHECK_RC(registry_referrers_fetch(&idx, c, FIXTURE, subject, NULL), 0);
	if (idx)
		check_entries(idx, arts, 2);
	registry_manifest_free(idx);
	/* Registry 2.8 has no referrers API: 404, then the tag. */
	char needle[200];
	snprintf(needle, sizeof(needle), "/v2/" FIXTURE "/referrers/%s", subject);
	CHECK_INT(settled_log(needle, "\"status\": 404", 1), 1);
	snprintf(needle, sizeof(needle), "/v2/" FIXTURE "/manifests/sha256-%s", subject + 7);
	CHECK_INT(count_log(needle, "\"status\": 200"), 1);

	/* Filtered on the client, since the registry did not. */
	CHECK_RC(referrers_of(&idx, c, FIXTURE, subject, SBOM_TYPE), 0);
	if (idx)
		check_entries(idx, arts, 1);
	registry_manifest_free(idx);
	CHECK_INT(settled_log("?artifactType=application%2Fvnd.example.sbom.v1%2Bjson", "\"status\": 404", 1), 1);
	CHECK_RC(referrers_of(&idx, c, FIXTURE, subject, SIG_TYPE), 0);
	if (idx)
		check_entries(idx, arts + 1, 1);
	registry_manifest_free(idx);
	CHECK_RC(referrers_of(&idx, c, FIXTURE, subject, "application/vnd.example.none"), 0);
	if (idx)
		check_entries(idx, NULL, 0);
	registry_manifest_free(idx);
	/* max_size caps the fallback tag's index as well as API pages. */
	registry_referrers_fetch_options small = REGISTRY_REFERRERS_FETCH_OPTIONS_INIT;
	small.max_size = 64;
	idx = NULL;
	CHECK_RC(registry_referrers_fetch(&idx, c, FIXTURE, subject, &small), REGISTRY_ETOOLARGE);
	CHECK(idx == NULL);
	registry_manifest_free(idx);

	/* Nothing refers to the artifact itself: an empty OCI index, and no error left. */
	CHECK_RC(registry_referrers_fetch(&idx, c, FIXTURE, registry_manifest_digest(arts[0]), NULL), 0);
	CHECK_INT(registry_error_code(registry_error_last()), 0);
	if (idx) {
		check_entries(idx, NULL, 0);
		size_t len = 0;
		const char *raw = registry_manifest_raw(idx, &len);
		CHECK(raw && memmem(raw, len, "\"manifests\": []", 15) != NULL);
	}
	registry_manifest_free(idx);

	/* A tag-schema tag that names an image, not an index: refused. */
	char tag[80];
	snprintf(tag, sizeof(tag), "sha256-%s", registry_manifest_digest(arts[1]) + 7);
	CHECK_RC(registry_manifest_push(NULL, direct, FIXTURE, tag, image), 0);
	CHECK_RC(registry_referrers_fetch(&idx, c, FIXTURE, registry_manifest_digest(arts[1]), NULL), REGISTRY_EFORMAT);
	CHECK(idx == NULL);

	registry_manifest_free(arts[0]);
	registry_manifest_free(arts[1]);
	registry_manifest_free(image);
	registry_client_free(c);
	registry_client_free(direct);
}

int main(int argc, char **argv)
{
	itest_require_harness();
	const char *which = argc > 1 ? argv[1] : "";
	if (strcmp(which, "tags") == 0)
		RUN(test_tags);
	else if (strcmp(which, "loop-same") == 0)
		RUN(test_loop_same);
	else if (strcmp(which, "loop-first") == 0)
		RUN(test_loop_first);
	else if (strcmp(which, "foreign") == 0)
		RUN(test_foreign);
	else if (strcmp(which, "catalog") == 0)
		RUN(test_catalog);
	else if (strcmp(which, "unknown") == 0)
		RUN(test_unknown);
	else if (strcmp(which, "referrers") == 0)
		RUN(test_referrers);
	else {
		fprintf(stderr, "unknown case '%s'\n", which);
		return 2;
	}
	return CHECK_DONE();
}

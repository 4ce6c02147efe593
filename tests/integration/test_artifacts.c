/*
 * Artifacts and referrers against the real registry 2.8, which has no
 * referrers API: the pusher keeps the referrers tag schema (issue 18).
 * One case per run (tests/integration/meson.build):
 *
 *   itest-artifacts referrers-concurrent  two threads, each with its own
 *       client, push referrers of one image at the same time: every one is
 *       listed in the "sha256-<hex>" tag, whose index is checked field by
 *       field against distribution-spec 1.1 and image-spec 1.1
 */
#define _GNU_SOURCE /* pthread_barrier_t, mkstemp */
#include <pthread.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "itest.h"

#define FIXTURE "fixtures/small-v2s2"
#define EMPTY_DIGEST ITEST_EMPTY_DIGEST
#define THREADS 2
#define PER_THREAD 3

/* The two bytes "{}" as a blob of @repo: config and layer of the referrers. */
static void upload_empty(registry_client *c, const char *repo)
{
	char path[] = "/tmp/itest-empty-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0 && write(fd, "{}", 2) == 2);
	close(fd);
	CHECK_RC(registry_blob_upload_file(c, repo, EMPTY_DIGEST, path, NULL), 0);
	unlink(path);
}

/* A referrer of @subject, different for each (thread, i). */
static registry_manifest *referrer(const registry_manifest *subject, int thread, int i)
{
	char type[100], who[32];
	snprintf(type, sizeof(type), "application/vnd.example.t%d+json", thread);
	snprintf(who, sizeof(who), "%d-%d", thread, i);
	return itest_referrer(subject, type, who);
}

typedef struct pusher {
	const registry_manifest *subject;
	int thread;
	pthread_barrier_t *start;
	registry_manifest *pushed[PER_THREAD];
	int rc;
	char message[512];
} pusher;

static void *push_thread(void *arg)
{
	pusher *p = arg;
	registry_client *c = itest_client(1);
	pthread_barrier_wait(p->start);
	for (int i = 0; i < PER_THREAD && !p->rc; i++) {
		p->pushed[i] = referrer(p->subject, p->thread, i);
		p->rc = p->pushed[i] ? registry_manifest_push(NULL, c, FIXTURE, registry_manifest_digest(p->pushed[i]),
		                                              p->pushed[i])
		                     : -1;
	}
	if (p->rc)
		snprintf(p->message, sizeof(p->message), "%s", registry_error_message(registry_error_last()));
	registry_client_free(c);
	return NULL;
}

static const cJSON *find_entry(const cJSON *manifests, const char *digest)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, manifests) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "digest");
		if (cJSON_IsString(d) && strcmp(d->valuestring, digest) == 0)
			return e;
	}
	return NULL;
}

/* distribution-spec 1.1 "Referrers Tag Schema" / image-spec 1.1 index and
 * descriptor: each key of an entry is one the spec defines, with its value. */
static void check_entry(const cJSON *e, const registry_manifest *m)
{
	const cJSON *k;
	cJSON_ArrayForEach(k, e) {
		CHECK(strcmp(k->string, "mediaType") == 0 || strcmp(k->string, "digest") == 0 ||
		      strcmp(k->string, "size") == 0 || strcmp(k->string, "artifactType") == 0 ||
		      strcmp(k->string, "annotations") == 0);
	}
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "mediaType")),
	          REGISTRY_MEDIA_TYPE_OCI_MANIFEST);
	const cJSON *size = cJSON_GetObjectItemCaseSensitive(e, "size");
	CHECK(cJSON_IsNumber(size) && size->valuedouble == (double)registry_manifest_size(m));
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "artifactType")),
	          registry_manifest_artifact_type(m));
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(e, "annotations");
	CHECK(cJSON_IsObject(ann) && cJSON_GetArraySize(ann) == (int)registry_manifest_annotation_count(m));
	for (size_t i = 0; i < registry_manifest_annotation_count(m); i++)
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ann, registry_manifest_annotation_key(m, i))),
		          registry_manifest_annotation_value(m, i));
}

static void test_referrers_concurrent(void)
{
	registry_client *c = itest_client(1);
	registry_manifest *image = NULL;
	CHECK_RC(registry_manifest_fetch(&image, c, FIXTURE, "latest", NULL), 0);
	if (!image)
		return;
	upload_empty(c, FIXTURE);
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, THREADS);
	pusher p[THREADS];
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++) {
		p[i] = (pusher){.subject = image, .thread = i, .start = &start};
		CHECK_INT(pthread_create(&t[i], NULL, push_thread, &p[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		if (p[i].rc)
			fprintf(stderr, "thread %d: %d %s\n", i, p[i].rc, p[i].message);
		CHECK_RC(p[i].rc, 0);
	}
	pthread_barrier_destroy(&start);

	/* The tag, read raw: an OCI index listing every referrer once. */
	char tag[80];
	snprintf(tag, sizeof(tag), "sha256-%s", registry_manifest_digest(image) + 7);
	registry_manifest *idx = NULL;
	CHECK_RC(registry_manifest_fetch(&idx, c, FIXTURE, tag, NULL), 0);
	size_t len = 0;
	const char *raw = idx ? registry_manifest_raw(idx, &len) : NULL;
	cJSON *root = raw ? cJSON_ParseWithLength(raw, len) : NULL;
	CHECK(root != NULL);
	const cJSON *manifests = cJSON_GetObjectItemCaseSensitive(root, "manifests");
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(root, "schemaVersion")), 2);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "mediaType")),
	          REGISTRY_MEDIA_TYPE_OCI_INDEX);
	CHECK(cJSON_IsArray(manifests));
	CHECK_INT(cJSON_GetArraySize(manifests), THREADS * PER_THREAD);
	for (int i = 0; i < THREADS; i++)
		for (int j = 0; j < PER_THREAD && p[i].pushed[j]; j++) {
			const cJSON *e = find_entry(manifests, registry_manifest_digest(p[i].pushed[j]));
			CHECK(e != NULL);
			if (e)
				check_entry(e, p[i].pushed[j]);
		}
	cJSON_Delete(root);

	/* And through registry_referrers_fetch (API 404, then the tag). */
	registry_manifest *listed = NULL;
	CHECK_RC(registry_referrers_fetch(&listed, c, FIXTURE, registry_manifest_digest(image), NULL), 0);
	CHECK_INT(registry_manifest_entry_count(listed), THREADS * PER_THREAD);
	/* Pushing a listed referrer again adds no second entry. */
	CHECK_RC(registry_manifest_push(NULL, c, FIXTURE, "again", p[0].pushed[0]), 0);
	registry_manifest *after = NULL;
	CHECK_RC(registry_manifest_fetch(&after, c, FIXTURE, tag, NULL), 0);
	CHECK_STR(registry_manifest_digest(after), registry_manifest_digest(idx));

	registry_manifest_free(after);
	registry_manifest_free(listed);
	registry_manifest_free(idx);
	for (int i = 0; i < THREADS; i++)
		for (int j = 0; j < PER_THREAD; j++)
			registry_manifest_free(p[i].pushed[j]);
	registry_manifest_free(image);
	registry_client_free(c);
}

/* ---- round trip ------------------------------------------------------------ */

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	CHECK(f && fwrite(data, 1, len, f) == len);
	if (f)
		fclose(f);
}

/* Two files (one binary with NULs) and a directory with a subdirectory, an
 * empty directory and a relative symlink. */
static void make_sources(const char *src)
{
	char p[1200];
	unsigned char bin[70000];
	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(i * 7 + (i >> 9));
	snprintf(p, sizeof(p), "%s/readme.txt", src);
	write_file(p, "hello, artifact\n", 16);
	snprintf(p, sizeof(p), "%s/data.bin", src);
	write_file(p, bin, sizeof(bin));
	snprintf(p, sizeof(p), "%s/tree", src);
	CHECK(mkdir(p, 0755) == 0);
	snprintf(p, sizeof(p), "%s/tree/sub", src);
	CHECK(mkdir(p, 0755) == 0);
	snprintf(p, sizeof(p), "%s/tree/empty", src);
	CHECK(mkdir(p, 0755) == 0);
	snprintf(p, sizeof(p), "%s/tree/sub/deep.txt", src);
	write_file(p, "deep\n", 5);
	snprintf(p, sizeof(p), "%s/tree/link", src);
	CHECK(symlink("sub/deep.txt", p) == 0);
}

static void check_manifest(const registry_manifest *m, const registry_manifest *image)
{
	CHECK_STR(registry_manifest_media_type(m), REGISTRY_MEDIA_TYPE_OCI_MANIFEST);
	CHECK_STR(registry_manifest_artifact_type(m), "application/vnd.example.bundle.v1");
	CHECK_STR(registry_manifest_annotation(m, "org.example.note"), "round trip");
	const registry_descriptor *cfg = registry_manifest_config(m);
	CHECK_STR(registry_descriptor_media_type(cfg), REGISTRY_MEDIA_TYPE_OCI_EMPTY);
	CHECK_STR(registry_descriptor_digest(cfg), EMPTY_DIGEST);
	CHECK_INT(registry_descriptor_size(cfg), 2);
	CHECK_STR(registry_descriptor_digest(registry_manifest_subject(m)), registry_manifest_digest(image));
	CHECK_INT(registry_descriptor_size(registry_manifest_subject(m)), registry_manifest_size(image));
	CHECK_INT(registry_manifest_layer_count(m), 3);
	const registry_descriptor *l0 = registry_manifest_layer(m, 0), *l1 = registry_manifest_layer(m, 1),
	                          *l2 = registry_manifest_layer(m, 2);
	CHECK_STR(registry_descriptor_media_type(l0), "text/plain");
	CHECK_STR(registry_descriptor_annotation(l0, REGISTRY_ANNOTATION_TITLE), "readme.txt");
	CHECK_INT(registry_descriptor_size(l0), 16);
	CHECK_STR(registry_descriptor_media_type(l1), "application/octet-stream");
	CHECK_STR(registry_descriptor_annotation(l1, REGISTRY_ANNOTATION_TITLE), "data.bin");
	CHECK(registry_descriptor_annotation(l1, REGISTRY_ANNOTATION_UNPACK) == NULL);
	CHECK_STR(registry_descriptor_media_type(l2), "application/vnd.oci.image.layer.v1.tar+gzip");
	CHECK_STR(registry_descriptor_annotation(l2, REGISTRY_ANNOTATION_TITLE), "tree");
	CHECK_STR(registry_descriptor_annotation(l2, REGISTRY_ANNOTATION_UNPACK), "true");
	const char *tar = registry_descriptor_annotation(l2, REGISTRY_ANNOTATION_CONTENT_DIGEST);
	CHECK(tar && registry_digest_validate(tar) == 0);
}

static void test_roundtrip(void)
{
	registry_client *c = itest_client(1);
	registry_manifest *image = NULL;
	CHECK_RC(registry_manifest_fetch(&image, c, FIXTURE, "latest", NULL), 0);
	if (!image)
		return;
	char base[] = "/tmp/itest-artifact-XXXXXX", src[600], out[600], cmd[8192];
	CHECK(mkdtemp(base) != NULL);
	snprintf(src, sizeof(src), "%s/src", base);
	snprintf(out, sizeof(out), "%s/out", base);
	CHECK(mkdir(src, 0755) == 0);
	make_sources(src);

	char readme[700], data[700], tree[700];
	snprintf(readme, sizeof(readme), "%s/readme.txt", src);
	snprintf(data, sizeof(data), "%s/data.bin", src);
	snprintf(tree, sizeof(tree), "%s/tree/", src); /* a trailing slash: still titled "tree" */
	registry_artifact_file f0 = REGISTRY_ARTIFACT_FILE_INIT, f1 = REGISTRY_ARTIFACT_FILE_INIT,
	                       f2 = REGISTRY_ARTIFACT_FILE_INIT;
	f0.path = readme;
	f0.media_type = "text/plain";
	f1.path = data;
	f2.path = tree;
	const registry_artifact_file *files[] = {&f0, &f1, &f2, NULL};
	const char *annotations[] = {"org.example.note", "round trip", NULL};
	registry_artifact_push_options po = REGISTRY_ARTIFACT_PUSH_OPTIONS_INIT;
	po.artifact_type = "application/vnd.example.bundle.v1";
	po.annotations = annotations;
	po.subject = registry_manifest_digest(image);
	char text[300];
	snprintf(text, sizeof(text), "%s/" FIXTURE ":bundle", getenv("REGISTRY_TEST_HOST"));
	registry_reference *ref = NULL;
	CHECK_RC(registry_reference_parse(&ref, text), 0);
	char *digest = NULL;
	CHECK_RC(registry_artifact_push(&digest, c, ref, files, &po), 0);
	CHECK(digest && registry_digest_validate(digest) == 0);

	registry_manifest *m = NULL;
	CHECK_RC(registry_manifest_fetch(&m, c, FIXTURE, "bundle", NULL), 0);
	if (m) {
		CHECK_STR(registry_manifest_digest(m), digest);
		check_manifest(m, image);
	}

	char *pulled = NULL;
	CHECK_RC(registry_artifact_pull(&pulled, c, ref, out, NULL), 0);
	CHECK_STR(pulled, digest);
	snprintf(cmd, sizeof(cmd), "cmp %s/readme.txt %s/readme.txt && cmp %s/data.bin %s/data.bin && "
	         "diff -r --no-dereference %s/tree %s/tree && test \"$(readlink %s/tree/link)\" = sub/deep.txt",
	         src, out, src, out, src, out, out);
	CHECK_INT(itest_capture(cmd, NULL, NULL), 0);
	/* A second pull into the same folder replaces nothing. */
	CHECK_RC(registry_artifact_pull(NULL, c, ref, out, NULL), REGISTRY_ECONFLICT);
	CHECK(strstr(registry_error_message(registry_error_last()), "readme.txt") != NULL);

	/* A referrer of the image, listed through the tag schema. */
	registry_referrers_fetch_options ro = REGISTRY_REFERRERS_FETCH_OPTIONS_INIT;
	ro.artifact_type = "application/vnd.example.bundle.v1";
	registry_manifest *listed = NULL;
	CHECK_RC(registry_referrers_fetch(&listed, c, FIXTURE, registry_manifest_digest(image), &ro), 0);
	CHECK_INT(registry_manifest_entry_count(listed), 1);
	const registry_descriptor *e = registry_manifest_entry(listed, 0);
	CHECK_STR(registry_descriptor_digest(e), digest);
	CHECK_STR(registry_descriptor_annotation(e, "org.example.note"), "round trip");

	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	CHECK_INT(itest_capture(cmd, NULL, NULL), 0);
	registry_manifest_free(listed);
	registry_manifest_free(m);
	registry_free(pulled);
	registry_free(digest);
	registry_reference_free(ref);
	registry_manifest_free(image);
	registry_client_free(c);
}

int main(int argc, char **argv)
{
	itest_require_harness();
	const char *which = argc > 1 ? argv[1] : "";
	if (strcmp(which, "referrers-concurrent") == 0)
		RUN(test_referrers_concurrent);
	else if (strcmp(which, "roundtrip") == 0)
		RUN(test_roundtrip);
	else {
		fprintf(stderr, "unknown case '%s'\n", which);
		return 2;
	}
	return CHECK_DONE();
}

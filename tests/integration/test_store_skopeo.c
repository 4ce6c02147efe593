/*
 * The layout the store writes is one skopeo reads, and the other way round.
 *
 * Under the harness (`--fixture small:oci`): the blobs of the harness's OCI
 * fixture layouts (the pushed single-platform one, and a two-platform one
 * made with `registry_harness.py make-fixture`) are imported into a new
 * store with registry_store_add_blob_file(), walking their manifests with
 * registry_store_read_blob(), and named "latest" in index.json. Then:
 *   - `skopeo inspect --raw oci:STORE:latest` prints our manifest, byte for byte;
 *   - `skopeo copy oci:STORE:latest docker://HOST/store/...` pushes it, and
 *     the registry serves the same manifest bytes and digest (for the small
 *     fixture, also the digest the harness got when it pushed the fixture);
 *   - `skopeo copy docker://... oci:BACK:back` writes a layout that
 *     registry_store_open() reads, whose "back" entry has that digest and
 *     that registry_store_verify() finds sound.
 *
 * argv[1]: a Python interpreter for the harness's make-fixture.
 */
#define _GNU_SOURCE /* popen */
#include <sys/wait.h>

#include "itest.h"

/* A registry_store_index_add() entry of media type, digest, size and annotations. */
#define INDEX_ENTRY(mt_, dg_, sz_, an_) \
	(&(registry_descriptor_spec){.version = REGISTRY_DESCRIPTOR_SPEC_VERSION, .media_type = (mt_), \
	                             .digest = (dg_), .size = (sz_), .annotations = (an_)})

static const char *python_bin = "/usr/bin/python3";

/* Run a shell command, capturing stdout (free it); returns the exit status or -1. */
static int run(const char *cmd, char **out, size_t *out_len)
{
	return itest_capture(cmd, out, out_len);
}

/* Skopeo flags for one side ("src" or "dest") from REGISTRY_TEST_SKOPEO_ARGS ("--dest-..."). */
static void side_args(char *out, size_t size, const char *prefix)
{
	const char *args = env_or("REGISTRY_TEST_SKOPEO_ARGS", "");
	size_t n = 0;
	out[0] = '\0';
	for (const char *p = args; *p && n + 16 < size;) {
		if (strncmp(p, "--dest-", 7) == 0) {
			n += (size_t)snprintf(out + n, size - n, "--%s", prefix);
			p += 7;
		} else {
			out[n++] = *p++;
			out[n] = '\0';
		}
	}
}

static int is_manifest_type(const char *mt)
{
	return strcmp(mt, REGISTRY_MEDIA_TYPE_OCI_MANIFEST) == 0 || strcmp(mt, REGISTRY_MEDIA_TYPE_OCI_INDEX) == 0 ||
	       strcmp(mt, REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST) == 0 || strcmp(mt, REGISTRY_MEDIA_TYPE_DOCKER_LIST) == 0;
}

/* Import one blob (and, for manifests and indexes, everything below it) from @src into @dst. */
static int import_tree(registry_store *src, registry_store *dst, const registry_descriptor *d, int *count)
{
	const char *digest = registry_descriptor_digest(d);
	char *path = NULL;
	int rc = registry_store_blob_path(&path, src, digest);
	if (!rc)
		rc = registry_store_add_blob_file(NULL, dst, digest, path);
	registry_free(path);
	if (rc) {
		fprintf(stderr, "import %s: %s\n", digest, registry_error_message(registry_error_last()));
		return rc;
	}
	++*count;
	int64_t size = -1;
	CHECK_RC(registry_store_blob_size(&size, dst, digest), 0);
	CHECK_INT(size, registry_descriptor_size(d));
	if (!is_manifest_type(registry_descriptor_media_type(d)))
		return 0;
	void *data = NULL;
	size_t len = 0;
	registry_manifest *m = NULL;
	if ((rc = registry_store_read_blob(&data, &len, dst, digest, 0)) ||
	    (rc = registry_manifest_parse(&m, data, len, registry_descriptor_media_type(d), NULL))) {
		fprintf(stderr, "manifest %s: %s\n", digest, registry_error_message(registry_error_last()));
		registry_free(data);
		return rc;
	}
	registry_free(data);
	if (registry_manifest_config(m))
		rc = import_tree(src, dst, registry_manifest_config(m), count);
	for (size_t i = 0; !rc && i < registry_manifest_layer_count(m); i++)
		rc = import_tree(src, dst, registry_manifest_layer(m, i), count);
	for (size_t i = 0; !rc && i < registry_manifest_entry_count(m); i++)
		rc = import_tree(src, dst, registry_manifest_entry(m, i), count);
	registry_manifest_free(m);
	return rc;
}

/*
 * Build STORE from the fixture layout, check skopeo reads it, push it to
 * REPO, read it back into a skopeo-written layout. @expect_blobs is the
 * number of blobs the image has; @pushed_digest, when not NULL, the digest
 * the harness's own push of the fixture got.
 */
static void roundtrip(const char *fixture, const char *name, int expect_blobs, const char *pushed_digest)
{
	const char *tmp = env_or("REGISTRY_TEST_TMPDIR", "/tmp");
	const char *host = getenv("REGISTRY_TEST_HOST");
	char store_dir[512], back_dir[512], cmd[4096], dest[1024], src[1024];
	snprintf(store_dir, sizeof(store_dir), "%s/store-%s", tmp, name);
	snprintf(back_dir, sizeof(back_dir), "%s/back-%s", tmp, name);
	side_args(dest, sizeof(dest), "dest-");
	side_args(src, sizeof(src), "src-");

	registry_store *fx = NULL, *s = NULL;
	CHECK_RC(registry_store_open(&fx, fixture, 0), 0);
	CHECK_RC(registry_store_open(&s, store_dir, REGISTRY_STORE_CREATE), 0);
	if (!fx || !s)
		goto out;
	const registry_descriptor *top = NULL;
	CHECK_RC(registry_store_index_find(&top, fx, "latest"), 0);
	if (!top)
		goto out;
	int count = 0;
	CHECK_RC(import_tree(fx, s, top, &count), 0);
	CHECK_INT(count, expect_blobs);
	const char *mt = registry_descriptor_media_type(top);
	const char *digest = registry_descriptor_digest(top);
	CHECK_RC(registry_store_index_add(s, INDEX_ENTRY(mt, digest, registry_descriptor_size(top), NULL), "latest"), 0);
	CHECK_RC(registry_store_verify(NULL, s, NULL), 0);
	void *manifest = NULL;
	size_t manifest_len = 0;
	CHECK_RC(registry_store_read_blob(&manifest, &manifest_len, s, digest, 0), 0);

	/* skopeo reads our layout: the manifest exactly as stored. */
	char *out = NULL;
	size_t out_len = 0;
	snprintf(cmd, sizeof(cmd), "skopeo --insecure-policy inspect --raw oci:%s:latest", store_dir);
	CHECK_INT(run(cmd, &out, &out_len), 0);
	CHECK(out && manifest && out_len == manifest_len && memcmp(out, manifest, out_len) == 0);
	free(out);
	out = NULL;

	/* ... and copies it to the registry unchanged. */
	char digest_file[600];
	snprintf(digest_file, sizeof(digest_file), "%s/digest-%s", tmp, name);
	snprintf(cmd, sizeof(cmd),
	         "skopeo --insecure-policy --tmpdir %s copy --quiet %s --digestfile %s %s oci:%s:latest "
	         "docker://%s/store/%s:latest",
	         tmp, strcmp(mt, REGISTRY_MEDIA_TYPE_OCI_INDEX) == 0 ? "--all" : "", digest_file, dest, store_dir, host,
	         name);
	CHECK_INT(run(cmd, NULL, NULL), 0);
	char *pushed = check_read_file(digest_file, NULL);
	if (pushed)
		pushed[strcspn(pushed, "\r\n")] = '\0';
	CHECK_STR(pushed, digest);
	free(pushed);
	if (pushed_digest)
		CHECK_STR(digest, pushed_digest);

	/* The registry serves the same bytes, hence the same digest. */
	char *served_digest = NULL;
	char inspect_flags[1024];
	side_args(inspect_flags, sizeof(inspect_flags), "");
	snprintf(cmd, sizeof(cmd), "skopeo --insecure-policy inspect --raw %s docker://%s/store/%s:latest", inspect_flags,
	         host, name);
	CHECK_INT(run(cmd, &out, &out_len), 0);
	if (out)
		CHECK_RC(registry_digest_buffer(&served_digest, REGISTRY_DIGEST_SHA256, out, out_len), 0);
	CHECK_STR(served_digest, digest);
	registry_free(served_digest);
	free(out);

	/* A layout skopeo writes is one we read and verify. */
	snprintf(cmd, sizeof(cmd), "skopeo --insecure-policy --tmpdir %s copy --quiet %s %s docker://%s/store/%s:latest "
	         "oci:%s:back", tmp, strcmp(mt, REGISTRY_MEDIA_TYPE_OCI_INDEX) == 0 ? "--all" : "", src, host, name,
	         back_dir);
	CHECK_INT(run(cmd, NULL, NULL), 0);
	registry_store *back = NULL;
	CHECK_RC(registry_store_open(&back, back_dir, 0), 0);
	const registry_descriptor *entry = NULL;
	if (back)
		CHECK_RC(registry_store_index_find(&entry, back, "back"), 0);
	if (entry)
		CHECK_STR(registry_descriptor_digest(entry), digest);
	size_t nbad = 99;
	if (back)
		CHECK_RC(registry_store_verify(&nbad, back, NULL), 0);
	CHECK_INT(nbad, 0);
	registry_store_free(back);
	registry_free(manifest);
	printf("%s %s: %d blobs, %s, pushed and read back\n", check_case_failed ? "FAIL" : "ok  ", name, count, digest);
out:
	registry_store_free(fx);
	registry_store_free(s);
}

/* 10000 references to the fixture's image, added through a batch: skopeo
 * still reads the layout by any of the names, and so do we after reopening. */
static void many_refs(const char *fixture)
{
	enum { N = 10000 };
	char store_dir[512], cmd[1200], name[32];
	snprintf(store_dir, sizeof(store_dir), "%s/store-many", env_or("REGISTRY_TEST_TMPDIR", "/tmp"));
	registry_store *fx = NULL, *s = NULL;
	const registry_descriptor *top = NULL;
	int count = 0;
	CHECK_RC(registry_store_open(&fx, fixture, 0), 0);
	CHECK_RC(registry_store_open(&s, store_dir, REGISTRY_STORE_CREATE), 0);
	if (!fx || !s || registry_store_index_find(&top, fx, "latest") != 0 || import_tree(fx, s, top, &count) != 0) {
		CHECK(0);
		goto out;
	}
	CHECK_RC(registry_store_index_batch_begin(s), 0);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "r%05d", i);
		if (registry_store_index_add(s, INDEX_ENTRY(registry_descriptor_media_type(top), registry_descriptor_digest(top), registry_descriptor_size(top), NULL), name) != 0) {
			CHECK(0);
			break;
		}
	}
	CHECK_RC(registry_store_index_batch_commit(s), 0);
	registry_store_free(s);
	s = NULL;
	CHECK_RC(registry_store_open(&s, store_dir, 0), 0);
	CHECK_INT(registry_store_index_count(s), N);
	CHECK_RC(registry_store_verify(NULL, s, NULL), 0);
	void *manifest = NULL;
	size_t manifest_len = 0, out_len = 0;
	char *out = NULL;
	CHECK_RC(registry_store_read_blob(&manifest, &manifest_len, s, registry_descriptor_digest(top), 0), 0);
	snprintf(cmd, sizeof(cmd), "skopeo --insecure-policy inspect --raw oci:%s:r04321", store_dir);
	CHECK_INT(run(cmd, &out, &out_len), 0);
	CHECK(out && manifest && out_len == manifest_len && memcmp(out, manifest, out_len) == 0);
	free(out);
	registry_free(manifest);
	printf("%s many: %d references, skopeo reads r04321\n", check_case_failed ? "FAIL" : "ok  ", N);
out:
	registry_store_free(fx);
	registry_store_free(s);
}

int main(int argc, char **argv)
{
	itest_require_harness();
	if (argc > 1)
		python_bin = argv[1];
	const char *fixtures = getenv("REGISTRY_TEST_FIXTURES");
	const char *harness = getenv("REGISTRY_TEST_HARNESS");
	if (!fixtures || !harness) {
		fprintf(stderr, "REGISTRY_TEST_FIXTURES / REGISTRY_TEST_HARNESS not set\n");
		return 1;
	}
	if (run("skopeo --version >/dev/null 2>&1", NULL, NULL) != 0) {
		printf("SKIP: skopeo not found\n");
		return 77;
	}

	/* The harness's pushed fixture: manifest + config + 3 layers. */
	char small[600];
	snprintf(small, sizeof(small), "%s/small", fixtures);
	roundtrip(small, "small", 5, getenv("REGISTRY_TEST_FIXTURE_SMALL_OCI_DIGEST"));
	many_refs(small);

	/* Two platforms: index + 2 x (manifest + config + 2 layers). */
	char multi[600], cmd[1600];
	snprintf(multi, sizeof(multi), "%s/store-multi-fixture", env_or("REGISTRY_TEST_TMPDIR", "/tmp"));
	snprintf(cmd, sizeof(cmd), "%s %s make-fixture %s --layers 2 --size 40000 --platforms linux/amd64,linux/arm64/v8 "
	         "--seed store >/dev/null", python_bin, harness, multi);
	CHECK_INT(run(cmd, NULL, NULL), 0);
	roundtrip(multi, "multi", 9, NULL);
	return CHECK_DONE();
}

/*
 * Upload, push, push_archive and copy: everything decided before the first
 * request (arguments, options, the store's content, hostile docker-archive
 * tarballs). The client points at a closed loopback port, so any request
 * that slipped through would fail with REGISTRY_ENETWORK, not pass.
 */
#include <sys/stat.h>
#include <unistd.h>

#include <registry/registry.h>

#include "check.h"

/* A registry_store_index_add() entry of media type, digest, size and annotations. */
#define INDEX_ENTRY(mt_, dg_, sz_, an_) \
	(&(registry_descriptor_spec){.version = REGISTRY_DESCRIPTOR_SPEC_VERSION, .media_type = (mt_), \
	                             .digest = (dg_), .size = (sz_), .annotations = (an_)})

static registry_client *offline_client(void)
{
	registry_client *c = NULL;
	if (registry_client_new(&c, "127.0.0.1:9") != 0)
		exit(1);
	return c;
}

static int64_t no_read(void *buf, size_t len, void *ud)
{
	(void)buf;
	(void)len;
	(*(int *)ud)++;
	return 0;
}

static const char *const D1 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

static void test_upload_arguments(void)
{
	registry_client *c = offline_client();
	int reads = 0;
	CHECK_INT(registry_blob_upload(NULL, "a/b", D1, 0, no_read, NULL, &reads, NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_blob_upload(c, NULL, D1, 0, no_read, NULL, &reads, NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_blob_upload(c, "a/b", NULL, 0, no_read, NULL, &reads, NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_blob_upload(c, "a/b", D1, 0, NULL, NULL, &reads, NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_blob_upload(c, "a/b", D1, -2, no_read, NULL, &reads, NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_blob_upload(c, "A/B", D1, 0, no_read, NULL, &reads, NULL), REGISTRY_EFORMAT);
	CHECK_INT(registry_blob_upload(c, "a/b", "sha256:abc", 0, no_read, NULL, &reads, NULL),
	          REGISTRY_EFORMAT);
	CHECK_INT(registry_blob_upload(c, "a/b", "md5:d41d8cd98f00b204e9800998ecf8427e", 0, no_read, NULL, &reads,
	                               NULL), REGISTRY_EUNSUPPORTED);
	CHECK_INT(reads, 0);
	CHECK_INT(registry_blob_upload_file(c, "a/b", D1, NULL, NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_blob_upload_file(c, "a/b", D1, "/nonexistent/file", NULL), REGISTRY_ENOTFOUND);
	CHECK_INT(registry_blob_upload_file(c, "a/b", D1, "/", NULL), REGISTRY_EIO);
	CHECK_INT(registry_blob_mount(c, "a/b", D1, NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_blob_mount(c, "a/b", D1, "x//y"), REGISTRY_EFORMAT);
	CHECK_INT(registry_blob_mount(NULL, "a/b", D1, "c/d"), REGISTRY_EINVAL);
	registry_client_free(c);
}

/* ---- A tiny ustar writer ---------------------------------------------------- */

typedef struct tarw {
	FILE *f;
} tarw;

static void tar_entry(tarw *t, const char *name, char type, const char *link, const void *data, size_t len)
{
	unsigned char h[512];
	memset(h, 0, sizeof(h));
	snprintf((char *)h, 100, "%s", name);
	snprintf((char *)h + 100, 8, "%07o", 0644);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011o", (unsigned)len);
	snprintf((char *)h + 136, 12, "%011o", 0);
	h[156] = (unsigned char)type;
	if (link)
		snprintf((char *)h + 157, 100, "%s", link);
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (size_t i = 0; i < sizeof(h); i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	fwrite(h, 1, sizeof(h), t->f);
	if (len) {
		fwrite(data, 1, len, t->f);
		static const char zeros[512];
		fwrite(zeros, 1, (512 - len % 512) % 512, t->f);
	}
}

static void tar_file(tarw *t, const char *name, const char *text)
{
	tar_entry(t, name, '0', NULL, text, strlen(text));
}

static void tar_link(tarw *t, const char *name, const char *target)
{
	tar_entry(t, name, '2', target, NULL, 0);
}

static char tmp_root[256];

static const char *tar_begin(tarw *t, const char *name)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmp_root, name);
	t->f = fopen(path, "wb");
	return path;
}

static void tar_end(tarw *t)
{
	static const char zeros[1024];
	fwrite(zeros, 1, sizeof(zeros), t->f);
	fclose(t->f);
}

static registry_reference *target_ref(const char *text)
{
	registry_reference *r = NULL;
	if (registry_reference_parse(&r, text) != 0)
		exit(1);
	return r;
}

static int archive_supported(registry_client *c, registry_reference *r)
{
	int rc = registry_push_archive(NULL, c, "/nonexistent.tar", r, NULL);
	if (rc == REGISTRY_EUNSUPPORTED) {
		printf("(built without libarchive: push_archive cases skipped)\n");
		return 0;
	}
	CHECK_INT(rc, REGISTRY_ENOTFOUND);
	return 1;
}

static void test_archive_hostile(void)
{
	registry_client *c = offline_client();
	registry_reference *r = target_ref("127.0.0.1:9/x/y:v1");
	if (!archive_supported(c, r))
		goto out;
	tarw t;
	const char *p;
	char *digest = (char *)"untouched";

	p = tar_begin(&t, "empty.tar");
	tar_file(&t, "repositories", "{}");
	tar_end(&t);
	CHECK_INT(registry_push_archive(&digest, c, p, r, NULL), REGISTRY_EFORMAT);
	CHECK(digest == NULL);

	p = tar_begin(&t, "notalist.tar");
	tar_file(&t, "manifest.json", "{\"Config\": \"c.json\"}");
	tar_end(&t);
	CHECK_INT(registry_push_archive(NULL, c, p, r, NULL), REGISTRY_EFORMAT);

	p = tar_begin(&t, "garbage.tar");
	tar_file(&t, "manifest.json", "[{\"Config\": ");
	tar_end(&t);
	CHECK_INT(registry_push_archive(NULL, c, p, r, NULL), REGISTRY_EFORMAT);

	p = tar_begin(&t, "nolayer.tar");
	tar_file(&t, "c.json", "{}");
	tar_file(&t, "manifest.json", "[{\"Config\": \"c.json\", \"Layers\": [\"l/layer.tar\"]}]");
	tar_end(&t);
	CHECK_INT(registry_push_archive(NULL, c, p, r, NULL), REGISTRY_EFORMAT);

	/* Paths that leave the archive, symlink loops and escapes resolve to nothing. */
	p = tar_begin(&t, "escape.tar");
	tar_file(&t, "c.json", "{}");
	tar_link(&t, "a/layer.tar", "../b/layer.tar");
	tar_link(&t, "b/layer.tar", "../a/layer.tar");
	tar_link(&t, "out/layer.tar", "../../../etc/passwd");
	tar_file(&t, "manifest.json", "[{\"Config\": \"c.json\", \"Layers\": [\"a/layer.tar\"]}]");
	tar_end(&t);
	CHECK_INT(registry_push_archive(NULL, c, p, r, NULL), REGISTRY_EFORMAT);
	p = tar_begin(&t, "escape2.tar");
	tar_file(&t, "c.json", "{}");
	tar_link(&t, "out/layer.tar", "../../../etc/passwd");
	tar_file(&t, "manifest.json", "[{\"Config\": \"c.json\", \"Layers\": [\"out/layer.tar\"]}]");
	tar_end(&t);
	CHECK_INT(registry_push_archive(NULL, c, p, r, NULL), REGISTRY_EFORMAT);
	p = tar_begin(&t, "escape3.tar");
	tar_file(&t, "c.json", "{}");
	tar_file(&t, "manifest.json", "[{\"Config\": \"../../c.json\", \"Layers\": []}]");
	tar_end(&t);
	CHECK_INT(registry_push_archive(NULL, c, p, r, NULL), REGISTRY_EFORMAT);
	p = tar_begin(&t, "types.tar");
	tar_file(&t, "c.json", "{}");
	tar_file(&t, "manifest.json", "[{\"Config\": 7, \"Layers\": [1]}]");
	tar_end(&t);
	CHECK_INT(registry_push_archive(NULL, c, p, r, NULL), REGISTRY_EFORMAT);

	/* Two images, the target names neither. */
	p = tar_begin(&t, "two.tar");
	tar_file(&t, "c.json", "{}");
	tar_file(&t, "manifest.json", "[{\"Config\": \"c.json\", \"RepoTags\": [\"a/b:1\"], \"Layers\": []},"
	                              " {\"Config\": \"c.json\", \"RepoTags\": [\"a/c:1\", 5], \"Layers\": []}]");
	tar_end(&t);
	CHECK_INT(registry_push_archive(NULL, c, p, r, NULL), REGISTRY_EINVAL);
	/* ... and when one is picked, the first request fails: nothing listens. */
	registry_reference *r2 = target_ref("127.0.0.1:9/a/c:1");
	CHECK_INT(registry_push_archive(NULL, c, p, r2, NULL), REGISTRY_ENETWORK);
	registry_reference_free(r2);

	registry_push_archive_options bad = REGISTRY_PUSH_ARCHIVE_OPTIONS_INIT;
	bad.version = 99;
	CHECK_INT(registry_push_archive(NULL, c, p, r, &bad), REGISTRY_EINVAL);
	CHECK_INT(registry_push_archive(NULL, c, NULL, r, NULL), REGISTRY_EINVAL);
out:
	registry_reference_free(r);
	registry_client_free(c);
}

static void test_push_and_copy_arguments(void)
{
	registry_client *c = offline_client();
	registry_reference *r = target_ref("127.0.0.1:9/x/y:v1");
	char path[512];
	snprintf(path, sizeof(path), "%s/store", tmp_root);
	registry_store *s = NULL;
	CHECK_INT(registry_store_open(&s, path, REGISTRY_STORE_CREATE), 0);
	char *digest = (char *)"untouched";
	CHECK_INT(registry_push(&digest, c, s, "latest", r, NULL), REGISTRY_ENOTFOUND);
	CHECK(digest == NULL);
	CHECK_INT(registry_push(NULL, c, s, D1, r, NULL), REGISTRY_ENOTFOUND);
	/* A root that is not a manifest. */
	CHECK_INT(registry_store_add_blob(NULL, s, NULL, "{\"hello\": 1}", 12), 0);
	char *junk = NULL;
	registry_digest_buffer(&junk, REGISTRY_DIGEST_SHA256, "{\"hello\": 1}", 12);
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(REGISTRY_MEDIA_TYPE_OCI_MANIFEST, junk, 12, NULL), "junk"), 0);
	registry_free(junk);
	CHECK(registry_push(NULL, c, s, "junk", r, NULL) == REGISTRY_EFORMAT);
	CHECK_INT(registry_push(NULL, NULL, s, "latest", r, NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_push(NULL, c, NULL, "latest", r, NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_push(NULL, c, s, NULL, r, NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_push(NULL, c, s, "latest", NULL, NULL), REGISTRY_EINVAL);
	registry_push_options bad = REGISTRY_PUSH_OPTIONS_INIT;
	bad.version = 0;
	CHECK_INT(registry_push(NULL, c, s, "latest", r, &bad), REGISTRY_EINVAL);
	CHECK_INT(registry_copy(NULL, NULL, r, c, r, NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_copy(NULL, c, NULL, c, r, NULL), REGISTRY_EINVAL);
	registry_copy_options bad_copy = REGISTRY_COPY_OPTIONS_INIT;
	bad_copy.version = 0;
	CHECK_INT(registry_copy(NULL, c, r, c, r, &bad_copy), REGISTRY_EINVAL);
	/* Valid arguments: the first request fails, nothing listens. */
	CHECK_INT(registry_copy(&digest, c, r, c, r, NULL), REGISTRY_ENETWORK);
	CHECK(digest == NULL);
	registry_store_free(s);
	registry_reference_free(r);
	registry_client_free(c);
}

int main(void)
{
	snprintf(tmp_root, sizeof(tmp_root), "/tmp/unit-upload-XXXXXX");
	if (!mkdtemp(tmp_root))
		return 1;
	RUN(test_upload_arguments);
	RUN(test_archive_hostile);
	RUN(test_push_and_copy_arguments);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp_root);
	if (system(cmd) != 0)
		return 1;
	return CHECK_DONE();
}

/*
 * The local store: creating and opening layouts, blobs (verified reads,
 * adds that refuse wrong digests without leaving files), the streaming
 * writer (odd chunks, mismatch, resume after abort, restart, overrun, two
 * processes on one blob), index.json (add, replace, remove, find, exact
 * bytes, merging with another handle), verify (flipped bytes, missing
 * blobs, stray files), gc (reachability through index -> manifest ->
 * config/layers and subject, stale partials, refusal while shared), and
 * path-traversal digests rejected by every function that takes a digest.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "internal.h"
#include "store/store_impl.h"
#include "store/store_writer.h"

/* A registry_descriptor_spec of media type, digest and size only. */
#define SPEC(mt_, dg_, sz_) \
	(&(registry_descriptor_spec){.version = REGISTRY_DESCRIPTOR_SPEC_VERSION, .media_type = (mt_), \
	                             .digest = (dg_), .size = (sz_)})

/* A registry_store_index_add() entry of media type, digest, size and annotations. */
#define INDEX_ENTRY(mt_, dg_, sz_, an_) \
	(&(registry_descriptor_spec){.version = REGISTRY_DESCRIPTOR_SPEC_VERSION, .media_type = (mt_), \
	                             .digest = (dg_), .size = (sz_), .annotations = (an_)})

#define HELLO_SHA256 "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
#define HELLO_SHA512 "sha512:9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca7" \
	"2323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043"
#define EMPTY_INDEX "{\n   \"schemaVersion\": 2,\n   \"mediaType\": \"application/vnd.oci.image.index.v1+json\",\n" \
	"   \"manifests\": []\n}"

static char tmp_root[256];
static int store_counter;

/* ---- helpers ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh directory name (not created) under the test's temporary root. */
static void new_dir(char *out, size_t size)
{
	snprintf(out, size, "%s/s%d", tmp_root, ++store_counter);
}

static registry_store *new_store(char *dir, size_t size)
{
	registry_store *s = NULL;
	new_dir(dir, size);
	int rc = registry_store_open(&s, dir, REGISTRY_STORE_CREATE);
	if (rc) {
		fprintf(stderr, "store_open(%s): %s\n", dir, registry_error_message(registry_error_last()));
		exit(1);
	}
	return s;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		perror(path);
		exit(1);
	}
	close(fd);
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* Number of entries (not . and ..) in a directory; -1 when it does not exist. */
static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void blob_file(char *out, size_t size, const char *root, const char *digest)
{
	const char *colon = strchr(digest, ':');
	snprintf(out, size, "%s/blobs/%.*s/%s", root, (int)(colon - digest), digest, colon + 1);
}

static void partial_file(char *out, size_t size, const char *root, const char *digest)
{
	const char *colon = strchr(digest, ':');
	snprintf(out, size, "%s/blobs/.partial/%.*s/%s", root, (int)(colon - digest), digest, colon + 1);
}

/* Flip one byte of a file in place. */
static void flip_byte(const char *path, off_t at)
{
	int fd = open(path, O_RDWR);
	unsigned char c;
	if (fd < 0 || pread(fd, &c, 1, at) != 1) {
		perror(path);
		exit(1);
	}
	c ^= 0x5a;
	if (pwrite(fd, &c, 1, at) != 1)
		exit(1);
	close(fd);
}

static void age_file(const char *path, time_t seconds)
{
	struct timespec t[2];
	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= seconds;
	t[1] = t[0];
	if (utimensat(AT_FDCWD, path, t, 0) != 0) {
		perror(path);
		exit(1);
	}
}

/* Deterministic bytes (xorshift32). */
static unsigned char *make_data(size_t len, uint32_t seed)
{
	unsigned char *p = malloc(len ? len : 1);
	if (!p)
		exit(1);
	uint32_t st = seed ? seed : 1;
	for (size_t i = 0; i < len; i++) {
		st ^= st << 13;
		st ^= st >> 17;
		st ^= st << 5;
		p[i] = (unsigned char)st;
	}
	return p;
}

static void digest_of(char out[REGISTRY_DIGEST_STRING_MAX], const void *data, size_t len)
{
	char *d = NULL;
	if (registry_digest_buffer(&d, REGISTRY_DIGEST_SHA256, data, len))
		exit(1);
	snprintf(out, REGISTRY_DIGEST_STRING_MAX, "%s", d);
	registry_free(d);
}

/* Add @data as a blob and return its digest in @out. */
static void add(registry_store *s, const void *data, size_t len, char out[REGISTRY_DIGEST_STRING_MAX])
{
	char *digest = NULL;
	int rc = registry_store_add_blob(&digest, s, NULL, data, len);
	if (rc) {
		fprintf(stderr, "add_blob: %s\n", registry_error_message(registry_error_last()));
		exit(1);
	}
	snprintf(out, REGISTRY_DIGEST_STRING_MAX, "%s", digest);
	registry_free(digest);
}

/* Store the bytes of a built manifest; @desc_digest/@size receive its identity. */
static void add_manifest(registry_store *s, registry_manifest_builder *b, char digest[REGISTRY_DIGEST_STRING_MAX],
                         int64_t *size)
{
	registry_manifest *m = NULL;
	if (registry_manifest_builder_build(&m, b)) {
		fprintf(stderr, "build: %s\n", registry_error_message(registry_error_last()));
		exit(1);
	}
	size_t len;
	const void *raw = registry_manifest_raw(m, &len);
	add(s, raw, len, digest);
	CHECK_STR(digest, registry_manifest_digest(m));
	*size = (int64_t)len;
	registry_manifest_free(m);
	registry_manifest_builder_free(b);
}

/* ---- open and create ---- */

static void test_create_and_open(void)
{
	char dir[300], path[400];
	snprintf(dir, sizeof(dir), "%s/nested/a/b", tmp_root);
	registry_store *s = NULL;
	CHECK_INT(registry_store_open(&s, dir, 0), REGISTRY_ENOTFOUND);
	CHECK(s == NULL);
	CHECK_INT(registry_store_open(&s, dir, REGISTRY_STORE_CREATE), 0);
	CHECK_STR(registry_store_path(s), dir);
	CHECK_INT(registry_store_index_count(s), 0);
	CHECK(registry_store_index_entry(s, 0) == NULL);
	snprintf(path, sizeof(path), "%s/oci-layout", dir);
	char *text = check_read_file(path, NULL);
	CHECK_STR(text, "{\"imageLayoutVersion\":\"1.0.0\"}");
	free(text);
	snprintf(path, sizeof(path), "%s/index.json", dir);
	text = check_read_file(path, NULL);
	CHECK_STR(text, EMPTY_INDEX);
	free(text);
	snprintf(path, sizeof(path), "%s/blobs/sha256", dir);
	CHECK_INT(count_entries(path), 0);
	registry_store_free(s);

	/* Reopen, without and with CREATE (which keeps what is there). */
	CHECK_INT(registry_store_open(&s, dir, 0), 0);
	registry_store_free(s);
	CHECK_INT(registry_store_open(&s, dir, REGISTRY_STORE_CREATE), 0);
	registry_store_free(s);

	/* A relative path becomes absolute. */
	char cwd[300];
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK_INT(chdir(tmp_root), 0);
	CHECK_INT(registry_store_open(&s, "nested/a/b", 0), 0);
	CHECK_STR(registry_store_path(s), dir);
	registry_store_free(s);
	CHECK_INT(chdir(cwd), 0);

	CHECK_INT(registry_store_open(NULL, dir, 0), REGISTRY_EINVAL);
	CHECK_INT(registry_store_open(&s, NULL, 0), REGISTRY_EINVAL);
	CHECK_INT(registry_store_open(&s, dir, 4), REGISTRY_EINVAL);
	CHECK_INT(registry_store_open(&s, "", 0), REGISTRY_EINVAL);
	CHECK(registry_store_path(NULL) == NULL);
	registry_store_free(NULL);
}

static void test_open_rejects_bad_layouts(void)
{
	char dir[300], path[400];
	registry_store *s = NULL;
	new_dir(dir, sizeof(dir));
	CHECK_INT(mkdir(dir, 0755), 0);
	/* A directory that is not a layout. */
	CHECK_INT(registry_store_open(&s, dir, 0), REGISTRY_ENOTFOUND);
	CHECK(strstr(registry_error_message(registry_error_last()), "oci-layout") != NULL);
	/* A file, not a directory. */
	snprintf(path, sizeof(path), "%s/file", dir);
	write_file(path, "x", 1);
	CHECK_INT(registry_store_open(&s, path, 0), REGISTRY_EFORMAT);
	CHECK_INT(registry_store_open(&s, path, REGISTRY_STORE_CREATE), REGISTRY_EFORMAT);

	snprintf(path, sizeof(path), "%s/oci-layout", dir);
	write_file(path, "{\"imageLayoutVersion\":\"2.0.0\"}", 30);
	snprintf(path, sizeof(path), "%s/index.json", dir);
	write_file(path, EMPTY_INDEX, strlen(EMPTY_INDEX));
	CHECK_INT(registry_store_open(&s, dir, 0), REGISTRY_EUNSUPPORTED);
	snprintf(path, sizeof(path), "%s/oci-layout", dir);
	write_file(path, "[1]", 3);
	CHECK_INT(registry_store_open(&s, dir, 0), REGISTRY_EFORMAT);
	write_file(path, "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
	CHECK_INT(registry_store_open(&s, dir, 0), 0);
	registry_store_free(s);
	s = NULL;

	/* index.json: malformed, an image manifest instead of an index, too large, missing. */
	snprintf(path, sizeof(path), "%s/index.json", dir);
	write_file(path, "{\"schemaVersion\":2,\"manifests\":[", 32);
	CHECK_INT(registry_store_open(&s, dir, 0), REGISTRY_EFORMAT);
	CHECK(strstr(registry_error_message(registry_error_last()), "index.json") != NULL);
	const char *image = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	                    "\"config\":{\"mediaType\":\"a/b\",\"size\":1,\"digest\":\"" HELLO_SHA256 "\"},\"layers\":[]}";
	write_file(path, image, strlen(image));
	CHECK_INT(registry_store_open(&s, dir, 0), REGISTRY_EFORMAT);
	size_t big = REGISTRY_STORE_INDEX_MAX_SIZE + 1;
	char *huge = malloc(big);
	memset(huge, ' ', big);
	write_file(path, huge, big);
	free(huge);
	CHECK_INT(registry_store_open(&s, dir, 0), REGISTRY_ETOOLARGE);
	unlink(path);
	CHECK_INT(registry_store_open(&s, dir, 0), REGISTRY_EFORMAT);
	/* CREATE completes a layout that lost its index.json. */
	CHECK_INT(registry_store_open(&s, dir, REGISTRY_STORE_CREATE), 0);
	CHECK_INT(registry_store_index_count(s), 0);
	registry_store_free(s);
}

/* ---- blobs ---- */

static void test_add_and_read_blobs(void)
{
	char dir[300], path[600];
	char *digest = NULL;
	registry_store *s = new_store(dir, sizeof(dir));
	CHECK_INT(registry_store_has(s, HELLO_SHA256), 0);
	CHECK_INT(registry_store_add_blob(&digest, s, NULL, "hello", 5), 0);
	CHECK_STR(digest, HELLO_SHA256);
	registry_free(digest);
	CHECK_INT(registry_store_has(s, HELLO_SHA256), 1);
	int64_t size = -1;
	CHECK_INT(registry_store_blob_size(&size, s, HELLO_SHA256), 0);
	CHECK_INT(size, 5);
	char *p = NULL;
	CHECK_INT(registry_store_blob_path(&p, s, HELLO_SHA256), 0);
	blob_file(path, sizeof(path), dir, HELLO_SHA256);
	CHECK_STR(p, path);
	char *text = check_read_file(path, NULL);
	CHECK_STR(text, "hello");
	free(text);
	registry_free(p);

	void *data = NULL;
	size_t len = 0;
	CHECK_INT(registry_store_read_blob(&data, &len, s, HELLO_SHA256, 0), 0);
	CHECK_INT(len, 5);
	CHECK(data && memcmp(data, "hello", 6) == 0); /* NUL-terminated */
	registry_free(data);
	CHECK_INT(registry_store_read_blob(&data, &len, s, HELLO_SHA256, 4), REGISTRY_ETOOLARGE);
	CHECK(data == NULL);
	CHECK_INT(registry_store_read_blob(&data, &len, s, HELLO_SHA256, 5), 0);
	registry_free(data);

	/* Adding again, and with the right expected digest: no-ops. */
	CHECK_INT(registry_store_add_blob(NULL, s, HELLO_SHA256, "hello", 5), 0);
	/* sha512 blobs live in blobs/sha512. */
	CHECK_INT(registry_store_add_blob(&digest, s, HELLO_SHA512, "hello", 5), 0);
	CHECK_STR(digest, HELLO_SHA512);
	registry_free(digest);
	blob_file(path, sizeof(path), dir, HELLO_SHA512);
	CHECK(exists(path));
	CHECK_INT(registry_store_read_blob(&data, &len, s, HELLO_SHA512, 0), 0);
	registry_free(data);

	/* The empty blob. */
	CHECK_INT(registry_store_add_blob(&digest, s, NULL, NULL, 0), 0);
	CHECK_STR(digest, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	CHECK_INT(registry_store_read_blob(&data, &len, s, digest, 0), 0);
	CHECK_INT(len, 0);
	registry_free(data);
	registry_free(digest);
	/* A failure leaves no digest behind (the out-parameter is allocated). */
	digest = (char *)"untouched";
	CHECK_INT(registry_store_add_blob(&digest, s, HELLO_SHA256, "other", 5), REGISTRY_EDIGEST);
	CHECK(digest == NULL);

	/* Missing blobs. */
	const char *missing = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
	CHECK_INT(registry_store_blob_size(&size, s, missing), REGISTRY_ENOTFOUND);
	CHECK_INT(registry_store_blob_path(&p, s, missing), REGISTRY_ENOTFOUND);
	CHECK(p == NULL);
	CHECK_INT(registry_store_read_blob(&data, &len, s, missing, 0), REGISTRY_ENOTFOUND);
	CHECK_INT(registry_store_add_blob(NULL, NULL, NULL, "x", 1), REGISTRY_EINVAL);
	CHECK_INT(registry_store_add_blob(NULL, s, NULL, NULL, 1), REGISTRY_EINVAL);
	registry_store_free(s);
}

static void test_add_wrong_digest_leaves_nothing(void)
{
	char dir[300], path[600];
	registry_store *s = new_store(dir, sizeof(dir));
	const char *wrong = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
	CHECK_INT(registry_store_add_blob(NULL, s, wrong, "hello", 5), REGISTRY_EDIGEST);
	const char *msg = registry_error_message(registry_error_last());
	CHECK(strstr(msg, wrong) != NULL && strstr(msg, HELLO_SHA256) != NULL);
	CHECK_INT(registry_store_has(s, wrong), 0);
	CHECK_INT(registry_store_has(s, HELLO_SHA256), 0);
	snprintf(path, sizeof(path), "%s/blobs/sha256", dir);
	CHECK_INT(count_entries(path), 0);
	snprintf(path, sizeof(path), "%s/blobs/.partial", dir);
	CHECK(count_entries(path) <= 0);

	/* The same through a file. */
	char file[400];
	snprintf(file, sizeof(file), "%s/input-%d", tmp_root, store_counter);
	write_file(file, "hello", 5);
	CHECK_INT(registry_store_add_blob_file(NULL, s, wrong, file), REGISTRY_EDIGEST);
	snprintf(path, sizeof(path), "%s/blobs/sha256", dir);
	CHECK_INT(count_entries(path), 0);
	snprintf(path, sizeof(path), "%s/blobs/.partial", dir);
	CHECK_INT(count_entries(path), 0); /* the temporary file is gone */
	registry_store_free(s);
}

static void test_read_detects_damage(void)
{
	char dir[300], path[600], digest[REGISTRY_DIGEST_STRING_MAX];
	registry_store *s = new_store(dir, sizeof(dir));
	add(s, "{\"config\":true}", 15, digest);
	blob_file(path, sizeof(path), dir, digest);
	flip_byte(path, 3);
	void *data = (void *)1;
	size_t len = 9;
	CHECK_INT(registry_store_read_blob(&data, &len, s, digest, 0), REGISTRY_EDIGEST);
	CHECK(data == NULL);
	CHECK_INT(len, 0);
	CHECK(strstr(registry_error_message(registry_error_last()), "damaged") != NULL);
	registry_store_free(s);
}

static void test_import_file(void)
{
	char dir[300], file[400], digest[REGISTRY_DIGEST_STRING_MAX], path[600];
	registry_store *s = new_store(dir, sizeof(dir));
	size_t len = (3u << 20) + 12345; /* several copy buffers */
	unsigned char *data = make_data(len, 7);
	digest_of(digest, data, len);
	snprintf(file, sizeof(file), "%s/import-%d", tmp_root, store_counter);
	write_file(file, data, len);
	char *stored = NULL;
	CHECK_INT(registry_store_add_blob_file(&stored, s, NULL, file), 0);
	CHECK(stored && strcmp(stored, digest) == 0); /* the caller learns the digest */
	registry_free(stored);
	CHECK_INT(registry_store_has(s, digest), 1);
	int64_t size;
	CHECK_INT(registry_store_blob_size(&size, s, digest), 0);
	CHECK_INT(size, (int64_t)len);
	blob_file(path, sizeof(path), dir, digest);
	size_t got_len = 0;
	char *got = check_read_file(path, &got_len);
	CHECK(got && got_len == len && memcmp(got, data, len) == 0);
	free(got);
	/* Present already: a no-op even if the file is gone. */
	unlink(file);
	stored = NULL;
	CHECK_INT(registry_store_add_blob_file(&stored, s, digest, file), 0);
	CHECK(stored && strcmp(stored, digest) == 0);
	registry_free(stored);
	/* Otherwise a missing file is ENOTFOUND, and no digest comes back. */
	stored = (char *)"unchanged";
	CHECK_INT(registry_store_add_blob_file(&stored, s, HELLO_SHA256, file), REGISTRY_ENOTFOUND);
	CHECK(stored == NULL);
	CHECK_INT(registry_store_add_blob_file(NULL, s, NULL, tmp_root), REGISTRY_EINVAL);
	CHECK_INT(registry_store_add_blob_file(NULL, s, NULL, NULL), REGISTRY_EINVAL);
	/* With the right expected digest. */
	write_file(file, "hello", 5);
	CHECK_INT(registry_store_add_blob_file(NULL, s, HELLO_SHA256, file), 0);
	CHECK_INT(registry_store_has(s, HELLO_SHA256), 1);
	snprintf(path, sizeof(path), "%s/blobs/.partial", dir);
	CHECK_INT(count_entries(path), 0);
	free(data);
	registry_store_free(s);
}

/* ---- the streaming writer ---- */

static void test_writer_odd_chunks(void)
{
	char dir[300], digest[REGISTRY_DIGEST_STRING_MAX], path[600];
	registry_store *s = new_store(dir, sizeof(dir));
	size_t len = (1u << 20) + 4099;
	unsigned char *data = make_data(len, 11);
	digest_of(digest, data, len);
	registry__blob_writer *w = NULL;
	int64_t offset = -1;
	int already = -1;
	CHECK_INT(registry__blob_writer_open(&w, s, digest, (int64_t)len, &offset, &already), 0);
	CHECK(w != NULL);
	CHECK_INT(offset, 0);
	CHECK_INT(already, 0);
	partial_file(path, sizeof(path), dir, digest);
	CHECK(exists(path));
	static const size_t chunks[] = {1, 7, 4093, 65537, 3, 131072};
	size_t pos = 0;
	for (size_t i = 0; pos < len; i++) {
		size_t n = chunks[i % REGISTRY_ARRAY_LEN(chunks)];
		if (n > len - pos)
			n = len - pos;
		CHECK_INT(registry__blob_writer_write(w, data + pos, n), 0);
		pos += n;
		CHECK_INT(registry__blob_writer_offset(w), (int64_t)pos);
	}
	CHECK_INT(registry__blob_writer_write(w, data, 0), 0);
	CHECK_INT(registry__blob_writer_commit(w), 0);
	CHECK(!exists(path));
	void *back = NULL;
	size_t back_len = 0;
	CHECK_INT(registry_store_read_blob(&back, &back_len, s, digest, len), 0);
	CHECK(back_len == len && memcmp(back, data, len) == 0);
	registry_free(back);
	/* Committed: a second writer has nothing to do. */
	CHECK_INT(registry__blob_writer_open(&w, s, digest, (int64_t)len, &offset, &already), 0);
	CHECK(w == NULL);
	CHECK_INT(already, 1);
	CHECK_INT(registry__blob_writer_offset(NULL), -1);
	free(data);
	registry_store_free(s);
}

static void test_writer_mismatch(void)
{
	char dir[300], path[600], blobs[400];
	registry_store *s = new_store(dir, sizeof(dir));
	const char *wrong = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
	registry__blob_writer *w = NULL;
	int64_t offset;
	int already;
	CHECK_INT(registry__blob_writer_open(&w, s, wrong, -1, &offset, &already), 0);
	CHECK_INT(registry__blob_writer_write(w, "hel", 3), 0);
	CHECK_INT(registry__blob_writer_write(w, "lo", 2), 0);
	CHECK_INT(registry__blob_writer_commit(w), REGISTRY_EDIGEST);
	char want[300];
	snprintf(want, sizeof(want), "digest mismatch for %s: got %s", wrong, HELLO_SHA256);
	CHECK_STR(registry_error_message(registry_error_last()), want);
	partial_file(path, sizeof(path), dir, wrong);
	CHECK(!exists(path));
	snprintf(blobs, sizeof(blobs), "%s/blobs/sha256", dir);
	CHECK_INT(count_entries(blobs), 0);

	/* The right digest but fewer bytes than announced. */
	CHECK_INT(registry__blob_writer_open(&w, s, HELLO_SHA256, 6, &offset, &already), 0);
	CHECK_INT(registry__blob_writer_write(w, "hello", 5), 0);
	CHECK_INT(registry__blob_writer_commit(w), REGISTRY_EDIGEST);
	CHECK(strstr(registry_error_message(registry_error_last()), "size mismatch") != NULL);
	partial_file(path, sizeof(path), dir, HELLO_SHA256);
	CHECK(!exists(path));
	CHECK_INT(registry_store_has(s, HELLO_SHA256), 0);
	registry_store_free(s);
}

static void test_writer_resume(void)
{
	char dir[300], digest[REGISTRY_DIGEST_STRING_MAX], path[600];
	registry_store *s = new_store(dir, sizeof(dir));
	size_t len = 300000, first = 123457;
	unsigned char *data = make_data(len, 23);
	digest_of(digest, data, len);
	registry__blob_writer *w = NULL;
	int64_t offset;
	int already;
	CHECK_INT(registry__blob_writer_open(&w, s, digest, (int64_t)len, &offset, &already), 0);
	CHECK_INT(registry__blob_writer_write(w, data, first), 0);
	registry__blob_writer_abort(w, 1);
	partial_file(path, sizeof(path), dir, digest);
	struct stat st;
	CHECK(stat(path, &st) == 0 && st.st_size == (off_t)first);
	CHECK_INT(registry_store_has(s, digest), 0);

	/* Another handle resumes where the first stopped. */
	registry_store *s2 = NULL;
	CHECK_INT(registry_store_open(&s2, dir, 0), 0);
	CHECK_INT(registry__blob_writer_open(&w, s2, digest, (int64_t)len, &offset, &already), 0);
	CHECK_INT(offset, (int64_t)first);
	CHECK_INT(registry__blob_writer_offset(w), (int64_t)first);
	CHECK_INT(registry__blob_writer_write(w, data + first, len - first), 0);
	CHECK_INT(registry__blob_writer_commit(w), 0);
	CHECK_INT(registry_store_has(s, digest), 1);
	CHECK(!exists(path));
	void *back = NULL;
	size_t back_len;
	CHECK_INT(registry_store_read_blob(&back, &back_len, s, digest, len), 0);
	CHECK(back_len == len && memcmp(back, data, len) == 0);
	registry_free(back);

	/* A damaged kept partial resumes too, and the final check catches it. */
	char digest2[REGISTRY_DIGEST_STRING_MAX];
	digest_of(digest2, data, len - 1);
	CHECK_INT(registry__blob_writer_open(&w, s2, digest2, -1, &offset, &already), 0);
	CHECK_INT(registry__blob_writer_write(w, data, 1000), 0);
	registry__blob_writer_abort(w, 1);
	partial_file(path, sizeof(path), dir, digest2);
	flip_byte(path, 10);
	CHECK_INT(registry__blob_writer_open(&w, s2, digest2, -1, &offset, &already), 0);
	CHECK_INT(offset, 1000);
	CHECK_INT(registry__blob_writer_write(w, data + 1000, len - 1 - 1000), 0);
	CHECK_INT(registry__blob_writer_commit(w), REGISTRY_EDIGEST);
	CHECK_INT(registry_store_has(s, digest2), 0);
	CHECK(!exists(path));

	/* A partial longer than the blob can be is discarded. */
	CHECK_INT(registry__blob_writer_open(&w, s2, digest2, -1, &offset, &already), 0);
	CHECK_INT(registry__blob_writer_write(w, data, len), 0);
	registry__blob_writer_abort(w, 1);
	CHECK_INT(registry__blob_writer_open(&w, s2, digest2, (int64_t)len - 1, &offset, &already), 0);
	CHECK_INT(offset, 0);
	CHECK_INT(registry__blob_writer_write(w, data, len - 1), 0);
	CHECK_INT(registry__blob_writer_commit(w), 0);
	CHECK_INT(registry_store_has(s, digest2), 1);

	/* abort without keep deletes the partial. */
	CHECK_INT(registry__blob_writer_open(&w, s2, HELLO_SHA256, 5, &offset, &already), 0);
	CHECK_INT(registry__blob_writer_write(w, "he", 2), 0);
	registry__blob_writer_abort(w, 0);
	partial_file(path, sizeof(path), dir, HELLO_SHA256);
	CHECK(!exists(path));
	registry__blob_writer_abort(NULL, 0);
	free(data);
	registry_store_free(s2);
	registry_store_free(s);
}

/* The lazy open (the event loop's): a kept partial is hashed by _rehash in
 * pieces, writing resumes after it, a longer-than-the-blob partial is
 * emptied, and a partial that shrinks meanwhile counts as what is left. */
static void test_writer_lazy_rehash(void)
{
	char dir[300], digest[REGISTRY_DIGEST_STRING_MAX], path[600];
	registry_store *s = new_store(dir, sizeof(dir));
	size_t len = 300000, first = 200003;
	unsigned char *data = make_data(len, 29);
	digest_of(digest, data, len);
	registry__blob_writer *w = NULL;
	int64_t pending = -1, offset;
	int already;
	CHECK_INT(registry__blob_writer_open(&w, s, digest, (int64_t)len, &offset, &already), 0);
	CHECK_INT(registry__blob_writer_write(w, data, first), 0);
	registry__blob_writer_abort(w, 1);

	CHECK_INT(registry__blob_writer_open_lazy(&w, s, digest, (int64_t)len, &pending, &already), 0);
	CHECK_INT(pending, (int64_t)first);
	CHECK_INT(registry__blob_writer_offset(w), 0);
	int pieces = 0, rc;
	while ((rc = registry__blob_writer_rehash(w, 65536)) == 1)
		pieces++;
	CHECK_INT(rc, 0);
	CHECK_INT(pieces, 3); /* 200003 bytes in 65536-byte pieces: 3 with more to do, then done */
	CHECK_INT(registry__blob_writer_offset(w), (int64_t)first);
	CHECK_INT(registry__blob_writer_write(w, data + first, len - first), 0);
	CHECK_INT(registry__blob_writer_commit(w), 0);
	CHECK_INT(registry_store_has(s, digest), 1);

	/* No partial: nothing pending, nothing to hash. */
	char digest2[REGISTRY_DIGEST_STRING_MAX];
	digest_of(digest2, data, len - 7);
	CHECK_INT(registry__blob_writer_open_lazy(&w, s, digest2, (int64_t)len - 7, &pending, &already), 0);
	CHECK_INT(pending, 0);
	CHECK_INT(registry__blob_writer_rehash(w, 1), 0);
	/* A kept partial that shrinks while it is hashed: what is left counts. */
	CHECK_INT(registry__blob_writer_write(w, data, 100000), 0);
	registry__blob_writer_abort(w, 1);
	CHECK_INT(registry__blob_writer_open_lazy(&w, s, digest2, (int64_t)len - 7, &pending, &already), 0);
	CHECK_INT(pending, 100000);
	CHECK_INT(registry__blob_writer_rehash(w, 1000), 1);
	partial_file(path, sizeof(path), dir, digest2);
	CHECK(truncate(path, 50000) == 0);
	while ((rc = registry__blob_writer_rehash(w, 1 << 20)) == 1)
		;
	CHECK_INT(rc, 0);
	CHECK_INT(registry__blob_writer_offset(w), 50000);
	CHECK_INT(registry__blob_writer_write(w, data + 50000, 10000), 0);
	registry__blob_writer_abort(w, 1);
	/* ... and one cut below what was already hashed starts again at 0. */
	CHECK_INT(registry__blob_writer_open_lazy(&w, s, digest2, (int64_t)len - 7, &pending, &already), 0);
	CHECK_INT(pending, 60000);
	CHECK_INT(registry__blob_writer_rehash(w, 40000), 1);
	CHECK(truncate(path, 30000) == 0);
	while ((rc = registry__blob_writer_rehash(w, 1 << 20)) == 1)
		;
	CHECK_INT(rc, 0);
	CHECK_INT(registry__blob_writer_offset(w), 0);
	CHECK_INT(registry__blob_writer_write(w, data, len - 7), 0);
	CHECK_INT(registry__blob_writer_commit(w), 0);
	CHECK_INT(registry_store_has(s, digest2), 1);

	/* Longer than the blob can be: emptied at the open. */
	char digest3[REGISTRY_DIGEST_STRING_MAX];
	digest_of(digest3, data, 1000);
	CHECK_INT(registry__blob_writer_open(&w, s, digest3, -1, &offset, &already), 0);
	CHECK_INT(registry__blob_writer_write(w, data, 5000), 0);
	registry__blob_writer_abort(w, 1);
	CHECK_INT(registry__blob_writer_open_lazy(&w, s, digest3, 1000, &pending, &already), 0);
	CHECK_INT(pending, 0);
	CHECK_INT(registry__blob_writer_rehash(w, 1 << 20), 0);
	CHECK_INT(registry__blob_writer_write(w, data, 1000), 0);
	CHECK_INT(registry__blob_writer_commit(w), 0);
	free(data);
	registry_store_free(s);
}

static void test_writer_restart_and_overrun(void)
{
	char dir[300];
	registry_store *s = new_store(dir, sizeof(dir));
	registry__blob_writer *w = NULL;
	int64_t offset;
	int already;
	CHECK_INT(registry__blob_writer_open(&w, s, HELLO_SHA256, 5, &offset, &already), 0);
	/* A second writer of the same blob on this handle would wait for itself: refused. */
	registry__blob_writer *w2 = NULL;
	CHECK_INT(registry__blob_writer_open(&w2, s, HELLO_SHA256, 5, &offset, &already), REGISTRY_ECONFLICT);
	CHECK(w2 == NULL);
	CHECK_INT(registry__blob_writer_open(&w2, s, HELLO_SHA512, 5, &offset, &already), 0);
	registry__blob_writer_abort(w2, 0);
	CHECK_INT(registry__blob_writer_write(w, "xyz", 3), 0);
	CHECK_INT(registry__blob_writer_restart(w), 0);
	CHECK_INT(registry__blob_writer_offset(w), 0);
	/* Past the expected size: refused, nothing written. */
	CHECK_INT(registry__blob_writer_write(w, "hello!", 6), REGISTRY_ETOOLARGE);
	CHECK_INT(registry__blob_writer_offset(w), 0);
	CHECK_INT(registry__blob_writer_write(w, "hell", 4), 0);
	CHECK_INT(registry__blob_writer_write(w, "o!", 2), REGISTRY_ETOOLARGE);
	CHECK_INT(registry__blob_writer_write(w, "o", 1), 0);
	CHECK_INT(registry__blob_writer_commit(w), 0);
	CHECK_INT(registry_store_has(s, HELLO_SHA256), 1);
	void *data;
	size_t len;
	CHECK_INT(registry_store_read_blob(&data, &len, s, HELLO_SHA256, 0), 0);
	registry_free(data);
	CHECK_INT(registry__blob_writer_open(NULL, s, HELLO_SHA256, 5, &offset, &already), REGISTRY_EINVAL);
	CHECK_INT(registry__blob_writer_open(&w, s, HELLO_SHA256, -2, &offset, &already), REGISTRY_EINVAL);
	CHECK_INT(registry__blob_writer_commit(NULL), REGISTRY_EINVAL);
	CHECK_INT(registry__blob_writer_restart(NULL), REGISTRY_EINVAL);
	registry_store_free(s);
}

/* Child of the two-process tests: write @data as @digest in chunks, 0 ok, 2 already, 1 error. */
static int child_write(const char *dir, const char *digest, const unsigned char *data, size_t len, int notify_fd,
                       int pause_ms)
{
	registry_store *s = NULL;
	if (registry_store_open(&s, dir, 0))
		return 1;
	registry__blob_writer *w = NULL;
	int64_t offset;
	int already;
	if (registry__blob_writer_open(&w, s, digest, (int64_t)len, &offset, &already)) {
		registry_store_free(s);
		return 1;
	}
	if (already) {
		registry_store_free(s);
		return 2;
	}
	size_t half = len / 2;
	int rc = registry__blob_writer_write(w, data + offset, half - (size_t)offset);
	if (notify_fd >= 0 && write(notify_fd, "x", 1) != 1)
		rc = 1;
	if (pause_ms)
		usleep((useconds_t)pause_ms * 1000);
	for (size_t pos = half; !rc && pos < len; pos += 4096)
		rc = registry__blob_writer_write(w, data + pos, len - pos < 4096 ? len - pos : 4096);
	rc = rc ? (registry__blob_writer_abort(w, 0), 1) : registry__blob_writer_commit(w) ? 1 : 0;
	registry_store_free(s);
	return rc;
}

static void test_two_processes_one_blob(void)
{
	char dir[300], digest[REGISTRY_DIGEST_STRING_MAX], path[600];
	registry_store *s = new_store(dir, sizeof(dir));
	size_t len = 2u << 20;
	unsigned char *data = make_data(len, 99);
	digest_of(digest, data, len);

	/* The child takes the lock and stalls; we must wait for it, then find the blob committed. */
	int fds[2];
	CHECK_INT(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		_exit(child_write(dir, digest, data, len, fds[1], 300));
	}
	close(fds[1]);
	char c;
	CHECK_INT(read(fds[0], &c, 1), 1); /* the child holds the lock and wrote half */
	close(fds[0]);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	registry__blob_writer *w = NULL;
	int64_t offset = -1;
	int already = 0;
	CHECK_INT(registry__blob_writer_open(&w, s, digest, (int64_t)len, &offset, &already), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK_INT(already, 1);
	CHECK(w == NULL);
	CHECK(waited > 0.1); /* blocked on the child's lock */
	int status;
	CHECK_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_INT(registry_store_verify(NULL, s, NULL), 0);
	partial_file(path, sizeof(path), dir, digest);
	CHECK(!exists(path));

	/* Two children racing from the start: both succeed, one blob, verified. */
	char digest2[REGISTRY_DIGEST_STRING_MAX];
	digest_of(digest2, data, len - 7);
	pid_t pids[2];
	for (int i = 0; i < 2; i++) {
		fflush(NULL);
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(child_write(dir, digest2, data, len - 7, -1, 50));
	}
	int committed = 0, found = 0;
	for (int i = 0; i < 2; i++) {
		CHECK_INT(waitpid(pids[i], &status, 0), pids[i]);
		CHECK(WIFEXITED(status));
		if (WIFEXITED(status)) {
			committed += WEXITSTATUS(status) == 0;
			found += WEXITSTATUS(status) == 2;
		}
	}
	CHECK_INT(committed, 1);
	CHECK_INT(found, 1);
	CHECK_INT(registry_store_has(s, digest2), 1);
	snprintf(path, sizeof(path), "%s/blobs/sha256", dir);
	CHECK_INT(count_entries(path), 2);
	size_t nbad = 9;
	CHECK_INT(registry_store_verify(&nbad, s, NULL), 0);
	CHECK_INT(nbad, 0);
	free(data);
	registry_store_free(s);
}

/* ---- index.json ---- */

static void test_index(void)
{
	char dir[300], path[400], m1[REGISTRY_DIGEST_STRING_MAX], m2[REGISTRY_DIGEST_STRING_MAX];
	registry_store *s = new_store(dir, sizeof(dir));
	const char *mt = REGISTRY_MEDIA_TYPE_OCI_MANIFEST;
	add(s, "manifest one", 12, m1);
	add(s, "manifest two!", 13, m2);

	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(mt, m1, 12, NULL), "latest"), 0);
	CHECK_INT(registry_store_index_count(s), 1);
	const registry_descriptor *d = NULL;
	CHECK_INT(registry_store_index_find(&d, s, "latest"), 0);
	CHECK_STR(registry_descriptor_digest(d), m1);
	CHECK_INT(registry_descriptor_size(d), 12);
	CHECK_STR(registry_descriptor_media_type(d), mt);

	/* The exact bytes: deterministic, the builder's layout. */
	char want[1024];
	snprintf(want, sizeof(want),
	         "{\n   \"schemaVersion\": 2,\n   \"mediaType\": \"application/vnd.oci.image.index.v1+json\",\n"
	         "   \"manifests\": [\n      {\n         \"mediaType\": \"%s\",\n         \"size\": 12,\n"
	         "         \"digest\": \"%s\",\n         \"annotations\": {\n"
	         "            \"org.opencontainers.image.ref.name\": \"latest\"\n         }\n      }\n   ]\n}",
	         mt, m1);
	snprintf(path, sizeof(path), "%s/index.json", dir);
	char *text = check_read_file(path, NULL);
	CHECK_STR(text, want);
	free(text);

	const char *const ann[] = {"org.example.b", "2", "org.example.a", "1", NULL};
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(mt, m2, 13, ann), "v1.0"), 0);
	CHECK_INT(registry_store_index_count(s), 2);
	CHECK_INT(registry_store_index_find(&d, s, "v1.0"), 0);
	CHECK_STR(registry_descriptor_annotation(d, "org.example.a"), "1");
	CHECK_STR(registry_descriptor_annotation(d, "org.example.b"), "2");
	CHECK_STR(registry_descriptor_annotation_key(d, 0), "org.example.a"); /* sorted */

	/* Same name again: replaced in place. */
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(mt, m2, 13, NULL), "latest"), 0);
	CHECK_INT(registry_store_index_count(s), 2);
	CHECK_STR(registry_descriptor_digest(registry_store_index_entry(s, 0)), m2);
	CHECK_STR(registry_descriptor_annotation(registry_store_index_entry(s, 0), REGISTRY_STORE_REF_NAME_ANNOTATION),
	          "latest");
	/* Unnamed: appended once, then replaced by digest. */
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(mt, m1, 12, NULL), NULL), 0);
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(mt, m1, 12, NULL), NULL), 0);
	CHECK_INT(registry_store_index_count(s), 3);
	CHECK(registry_descriptor_annotation(registry_store_index_entry(s, 2), REGISTRY_STORE_REF_NAME_ANNOTATION) == NULL);
	/* A ref name given only in the annotations counts as the name. */
	const char *const named[] = {REGISTRY_STORE_REF_NAME_ANNOTATION, "v1.0", NULL};
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(mt, m1, 12, named), NULL), 0);
	CHECK_INT(registry_store_index_count(s), 3);
	CHECK_INT(registry_store_index_find(&d, s, "v1.0"), 0);
	CHECK_STR(registry_descriptor_digest(d), m1);
	CHECK(registry_descriptor_annotation(d, "org.example.a") == NULL);

	/* The argument wins over a ref.name key in the annotations. */
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(mt, m2, 13, named), "v2"), 0);
	CHECK_INT(registry_store_index_find(&d, s, "v2"), 0);
	CHECK_STR(registry_descriptor_digest(d), m2);
	CHECK_INT(registry_store_index_count(s), 4);
	CHECK_INT(registry_store_index_remove(s, "v2"), 0);

	/* A multi-platform layout's entry: platform, artifactType and urls are kept. */
	static const char *const urls[] = {"https://example.com/m", NULL};
	static const char *const features[] = {"sse4", NULL};
	registry_descriptor_spec entry = REGISTRY_DESCRIPTOR_SPEC_INIT;
	entry.media_type = mt;
	entry.digest = m2;
	entry.size = 13;
	entry.artifact_type = "application/vnd.example.thing";
	entry.urls = urls;
	entry.os = "linux";
	entry.architecture = "arm64";
	entry.variant = "v8";
	entry.os_version = "6.1";
	entry.os_features = features;
	CHECK_INT(registry_store_index_add(s, &entry, "arm"), 0);
	CHECK_INT(registry_store_index_find(&d, s, "arm"), 0);
	CHECK_STR(registry_descriptor_platform_os(d), "linux");
	CHECK_STR(registry_descriptor_platform_architecture(d), "arm64");
	CHECK_STR(registry_descriptor_platform_variant(d), "v8");
	CHECK_STR(registry_descriptor_platform_os_version(d), "6.1");
	CHECK_INT(registry_descriptor_platform_os_feature_count(d), 1);
	CHECK_STR(registry_descriptor_artifact_type(d), "application/vnd.example.thing");
	CHECK_INT(registry_descriptor_url_count(d), 1);
	CHECK_STR(registry_descriptor_url(d, 0), urls[0]);
	/* Re-read from the file by another handle: the same. */
	registry_store *again = NULL;
	CHECK_INT(registry_store_open(&again, dir, 0), 0);
	CHECK_INT(registry_store_index_find(&d, again, "arm"), 0);
	CHECK_STR(registry_descriptor_platform_variant(d), "v8");
	registry_store_free(again);
	CHECK_INT(registry_store_index_remove(s, "arm"), 0);
	CHECK_INT(registry_store_index_count(s), 3);

	/* Refusals leave index.json as it was. */
	text = check_read_file(path, NULL);
	registry_descriptor_spec half = entry;
	half.architecture = NULL; /* os without architecture */
	CHECK_INT(registry_store_index_add(s, &half, "x"), REGISTRY_EINVAL);
	half = entry;
	half.version = REGISTRY_DESCRIPTOR_SPEC_VERSION + 1;
	CHECK_INT(registry_store_index_add(s, &half, "x"), REGISTRY_EINVAL);
	CHECK_INT(registry_store_index_add(s, NULL, "x"), REGISTRY_EINVAL);
	/* In a batch too, a bad entry is refused at the call, not at the commit. */
	CHECK_INT(registry_store_index_batch_begin(s), 0);
	half = entry;
	half.os = NULL;
	CHECK_INT(registry_store_index_add(s, &half, "x"), REGISTRY_EINVAL);
	CHECK_INT(registry_store_index_batch_commit(s), 0);
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(mt, m1, 13, NULL), "x"), REGISTRY_EINVAL);       /* wrong size */
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(mt, HELLO_SHA256, 5, NULL), "x"), REGISTRY_ENOTFOUND);
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY("not a type", m1, 12, NULL), "x"), REGISTRY_EINVAL);
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(NULL, m1, 12, NULL), "x"), REGISTRY_EINVAL);
	static const char *const bad_names[] = {"", "-x", "x-", "a//b", "a b", "a\nb", "/a", "a/", "ü"};
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(bad_names); i++)
		CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(mt, m1, 12, NULL), bad_names[i]), REGISTRY_EINVAL);
	const char *const odd[] = {"k", NULL};
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(mt, m1, 12, odd), "x"), REGISTRY_EINVAL);
	char *after = check_read_file(path, NULL);
	CHECK_STR(after, text);
	free(after);
	free(text);
	CHECK_INT(registry_store_index_find(&d, s, "nope"), REGISTRY_ENOTFOUND);
	CHECK(d == NULL);
	CHECK_INT(registry_store_index_find(&d, s, NULL), REGISTRY_EINVAL);

	/* Another handle's additions are kept by ours (index.json is re-read under the lock). */
	registry_store *other = NULL;
	CHECK_INT(registry_store_open(&other, dir, 0), 0);
	CHECK_INT(registry_store_index_add(other, INDEX_ENTRY(mt, m1, 12, NULL), "from-other"), 0);
	CHECK_INT(registry_store_index_count(s), 3); /* not re-read yet */
	CHECK_INT(registry_store_index_remove(s, "latest"), 0);
	CHECK_INT(registry_store_index_count(s), 3);
	CHECK_INT(registry_store_index_find(&d, s, "from-other"), 0);
	CHECK_INT(registry_store_index_find(&d, s, "latest"), REGISTRY_ENOTFOUND);
	registry_store_free(other);

	/* Remove by digest takes every entry with it. */
	CHECK_INT(registry_store_index_remove(s, m1), 0);
	CHECK_INT(registry_store_index_count(s), 0);
	CHECK_INT(registry_store_index_remove(s, m1), REGISTRY_ENOTFOUND);
	CHECK_INT(registry_store_index_remove(s, NULL), REGISTRY_EINVAL);
	/* The blobs stay. */
	CHECK_INT(registry_store_has(s, m1), 1);

	/* Persisted, in order. */
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(mt, m2, 13, NULL), "b"), 0);
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(mt, m1, 12, NULL), "a"), 0);
	registry_store_free(s);
	CHECK_INT(registry_store_open(&s, dir, 0), 0);
	CHECK_INT(registry_store_index_count(s), 2);
	CHECK_STR(registry_descriptor_annotation(registry_store_index_entry(s, 0), REGISTRY_STORE_REF_NAME_ANNOTATION), "b");
	CHECK_STR(registry_descriptor_annotation(registry_store_index_entry(s, 1), REGISTRY_STORE_REF_NAME_ANNOTATION), "a");
	snprintf(path, sizeof(path), "%s/.index.json.tmp", dir);
	CHECK(!exists(path));
	CHECK_INT(registry_store_index_count(NULL), 0);
	CHECK(registry_store_index_entry(NULL, 0) == NULL);
	registry_store_free(s);
}

/* ---- a small image graph for verify and gc ---- */

typedef struct graph {
	char config[REGISTRY_DIGEST_STRING_MAX], layer1[REGISTRY_DIGEST_STRING_MAX], layer2[REGISTRY_DIGEST_STRING_MAX];
	char image[REGISTRY_DIGEST_STRING_MAX], index[REGISTRY_DIGEST_STRING_MAX];
	char other_image[REGISTRY_DIGEST_STRING_MAX], sig[REGISTRY_DIGEST_STRING_MAX], sig_layer[REGISTRY_DIGEST_STRING_MAX];
	int64_t image_size, index_size, other_size, sig_size;
} graph;

/*
 * index.json "latest" -> OCI index -> image manifest -> config, layer1, layer2;
 * index.json "sig" -> artifact manifest (layer sig_layer) -> subject other_image -> config, layer2.
 */
static void make_graph(registry_store *s, graph *g)
{
	unsigned char *l1 = make_data(70000, 1), *l2 = make_data(5000, 2);
	add(s, "{\"architecture\":\"amd64\",\"os\":\"linux\"}", 37, g->config);
	add(s, l1, 70000, g->layer1);
	add(s, l2, 5000, g->layer2);
	add(s, "signature", 9, g->sig_layer);
	free(l1);
	free(l2);
	registry_manifest_builder *b = NULL;
	registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_OCI_MANIFEST);
	registry_manifest_builder_set_config(b, SPEC(REGISTRY_MEDIA_TYPE_OCI_CONFIG, g->config, 37));
	registry_manifest_builder_add_layer(b, SPEC(REGISTRY_MEDIA_TYPE_OCI_LAYER_GZIP, g->layer1, 70000));
	registry_manifest_builder_add_layer(b, SPEC(REGISTRY_MEDIA_TYPE_OCI_LAYER_GZIP, g->layer2, 5000));
	add_manifest(s, b, g->image, &g->image_size);

	registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_OCI_INDEX);
	registry_descriptor_spec entry = REGISTRY_DESCRIPTOR_SPEC_INIT;
	entry.media_type = REGISTRY_MEDIA_TYPE_OCI_MANIFEST;
	entry.digest = g->image;
	entry.size = g->image_size;
	entry.os = "linux";
	entry.architecture = "amd64";
	registry_manifest_builder_add_manifest(b, &entry);
	add_manifest(s, b, g->index, &g->index_size);

	registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_OCI_MANIFEST);
	registry_manifest_builder_set_config(b, SPEC(REGISTRY_MEDIA_TYPE_OCI_CONFIG, g->config, 37));
	registry_manifest_builder_add_layer(b, SPEC(REGISTRY_MEDIA_TYPE_OCI_LAYER_GZIP, g->layer2, 5000));
	registry_manifest_builder_set_annotation(b, "org.example.other", "yes");
	add_manifest(s, b, g->other_image, &g->other_size);

	registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_OCI_MANIFEST);
	registry_manifest_builder_set_artifact_type(b, "application/vnd.example.sig");
	registry_manifest_builder_set_config(b, SPEC(REGISTRY_MEDIA_TYPE_OCI_EMPTY, "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", 2));
	registry_manifest_builder_add_layer(b, SPEC("application/vnd.example.sig", g->sig_layer, 9));
	registry_manifest_builder_set_subject(b, SPEC(REGISTRY_MEDIA_TYPE_OCI_MANIFEST, g->other_image, g->other_size));
	add_manifest(s, b, g->sig, &g->sig_size);
	char empty[REGISTRY_DIGEST_STRING_MAX];
	add(s, "{}", 2, empty);

	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(REGISTRY_MEDIA_TYPE_OCI_INDEX, g->index, g->index_size, NULL), "latest"), 0);
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(REGISTRY_MEDIA_TYPE_OCI_MANIFEST, g->sig, g->sig_size, NULL), "sig"), 0);
}

typedef struct bad_list {
	int count;
	char digests[8][200];
	char reasons[8][300];
	int stop_after;
} bad_list;

static int collect_bad(const char *digest, const char *reason, void *ud)
{
	bad_list *l = ud;
	if (l->count < 8) {
		snprintf(l->digests[l->count], sizeof(l->digests[0]), "%s", digest);
		snprintf(l->reasons[l->count], sizeof(l->reasons[0]), "%s", reason);
	}
	l->count++;
	return l->stop_after && l->count >= l->stop_after;
}

/* registry_store_verify() with a problem callback. */
static int verify_with(const registry_store *s, registry_store_verify_cb cb, void *ud, size_t *nbad)
{
	registry_store_verify_options o = REGISTRY_STORE_VERIFY_OPTIONS_INIT;
	o.problem = cb;
	o.userdata = ud;
	return registry_store_verify(nbad, s, &o);
}

static void test_verify(void)
{
	char dir[300], path[600];
	registry_store *s = new_store(dir, sizeof(dir));
	graph g;
	make_graph(s, &g);
	size_t nbad = 99;
	bad_list bad = {0};
	CHECK_INT(verify_with(s, collect_bad, &bad, &nbad), 0);
	CHECK_INT(nbad, 0);
	CHECK_INT(bad.count, 0);
	CHECK_INT(registry_error_code(registry_error_last()), 0);

	/* One flipped byte in a layer. */
	blob_file(path, sizeof(path), dir, g.layer1);
	flip_byte(path, 40000);
	CHECK_INT(verify_with(s, collect_bad, &bad, &nbad), REGISTRY_EDIGEST);
	CHECK_INT(nbad, 1);
	CHECK_INT(bad.count, 1);
	CHECK_STR(bad.digests[0], g.layer1);
	CHECK(strstr(bad.reasons[0], "hashes to sha256:") != NULL);
	CHECK(strstr(registry_error_message(registry_error_last()), g.layer1) != NULL);
	flip_byte(path, 40000); /* repaired */

	/* A missing config, a stray file, a damaged manifest (reported once). */
	blob_file(path, sizeof(path), dir, g.config);
	CHECK_INT(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/blobs/sha256/not-a-digest", dir);
	write_file(path, "x", 1);
	blob_file(path, sizeof(path), dir, g.index);
	flip_byte(path, 5);
	memset(&bad, 0, sizeof(bad));
	CHECK_INT(verify_with(s, collect_bad, &bad, &nbad), REGISTRY_EDIGEST);
	CHECK_INT(nbad, 3);
	int saw_missing = 0, saw_stray = 0, saw_index = 0;
	for (int i = 0; i < bad.count && i < 8; i++) {
		if (strcmp(bad.digests[i], g.config) == 0 && strstr(bad.reasons[i], "missing"))
			saw_missing = 1;
		if (strcmp(bad.digests[i], "blobs/sha256/not-a-digest") == 0)
			saw_stray = 1;
		if (strcmp(bad.digests[i], g.index) == 0 && strstr(bad.reasons[i], "hashes to"))
			saw_index = 1;
	}
	CHECK(saw_missing && saw_stray && saw_index);

	/* The callback stops the check. */
	memset(&bad, 0, sizeof(bad));
	bad.stop_after = 1;
	CHECK_INT(verify_with(s, collect_bad, &bad, &nbad), REGISTRY_ECANCELED);
	CHECK_INT(bad.count, 1);
	CHECK_INT(registry_store_verify(&nbad, NULL, NULL), REGISTRY_EINVAL);
	registry_store_free(s);
}

static void test_gc(void)
{
	char dir[300], path[600], junk1[REGISTRY_DIGEST_STRING_MAX], junk2[REGISTRY_DIGEST_STRING_MAX];
	registry_store *s = new_store(dir, sizeof(dir));
	graph g;
	make_graph(s, &g);
	add(s, "unreachable one", 15, junk1);
	CHECK_INT(registry_store_add_blob(NULL, s, NULL, "unreachable sha512", 18), 0);
	CHECK_INT(registry_store_add_blob(NULL, s, HELLO_SHA512, "hello", 5), 0);
	add(s, "unreachable two", 15, junk2);
	/* A stale partial, a fresh partial, a stale temporary file, a file that is not a blob. */
	registry__blob_writer *w = NULL;
	int64_t offset;
	int already;
	CHECK_INT(registry__blob_writer_open(&w, s, HELLO_SHA256, 5, &offset, &already), 0);
	CHECK_INT(registry__blob_writer_write(w, "hel", 3), 0);
	registry__blob_writer_abort(w, 1);
	char stale[600], fresh[600], tmp[600], other[600];
	partial_file(stale, sizeof(stale), dir, HELLO_SHA256);
	age_file(stale, 2 * 86400);
	const char *fresh_digest = "sha256:3333333333333333333333333333333333333333333333333333333333333333";
	CHECK_INT(registry__blob_writer_open(&w, s, fresh_digest, -1, &offset, &already), 0);
	CHECK_INT(registry__blob_writer_write(w, "abc", 3), 0);
	registry__blob_writer_abort(w, 1);
	partial_file(fresh, sizeof(fresh), dir, fresh_digest);
	snprintf(tmp, sizeof(tmp), "%s/blobs/.partial/tmp-1-2-deadbeef", dir);
	write_file(tmp, "t", 1);
	age_file(tmp, 3 * 86400);
	snprintf(other, sizeof(other), "%s/blobs/sha256/README", dir);
	write_file(other, "r", 1);

	/* Refused while another handle has the store open; nothing deleted. */
	registry_store *s2 = NULL;
	CHECK_INT(registry_store_open(&s2, dir, 0), 0);
	size_t removed = 99;
	CHECK_INT(registry_store_gc(&removed, s, NULL), REGISTRY_ECONFLICT);
	CHECK_INT(removed, 0);
	CHECK_INT(registry_store_has(s, junk1), 1);
	registry_store_free(s2);
	/* The failed attempt did not leave our handle without its shared lock. */
	CHECK_INT(registry_store_open(&s2, dir, 0), 0);
	CHECK_INT(registry_store_gc(&removed, s2, NULL), REGISTRY_ECONFLICT);
	registry_store_free(s2);

	/* A damaged reachable manifest stops gc before anything is deleted. */
	blob_file(path, sizeof(path), dir, g.index);
	flip_byte(path, 7);
	CHECK_INT(registry_store_gc(&removed, s, NULL), REGISTRY_EDIGEST);
	CHECK_INT(removed, 0);
	CHECK_INT(registry_store_has(s, junk1), 1);
	flip_byte(path, 7);

	/* A dry run counts the same files and deletes none of them. */
	registry_store_gc_options go;
	CHECK_INT(registry_store_gc_options_init(&go), 0);
	go.flags = REGISTRY_STORE_GC_DRY_RUN;
	CHECK_INT(registry_store_gc(&removed, s, &go), 0);
	CHECK_INT(removed, 4 + 2);
	CHECK_INT(registry_store_has(s, junk1), 1);
	CHECK_INT(registry_store_has(s, HELLO_SHA512), 1);
	CHECK(exists(stale) && exists(tmp));
	/* partial_max_age_s moves the line: 2.5 days keeps the 2-day-old partial, not the 3-day-old temporary file. */
	go.partial_max_age_s = 5 * 86400 / 2;
	CHECK_INT(registry_store_gc(&removed, s, &go), 0);
	CHECK_INT(removed, 4 + 1);
	go.partial_max_age_s = -1;
	CHECK_INT(registry_store_gc(&removed, s, &go), REGISTRY_EINVAL);
	CHECK(exists(stale) && exists(tmp));

	CHECK_INT(registry_store_gc(&removed, s, NULL), 0);
	CHECK_INT(removed, 4 + 2); /* 4 unreachable blobs (one sha512); the stale partial and temporary file */
	CHECK_INT(registry_store_has(s, junk1), 0);
	CHECK_INT(registry_store_has(s, junk2), 0);
	CHECK_INT(registry_store_has(s, HELLO_SHA512), 0);
	const char *kept[] = {g.config, g.layer1, g.layer2, g.image, g.index, g.other_image, g.sig, g.sig_layer};
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(kept); i++)
		CHECK_INT(registry_store_has(s, kept[i]), 1);
	CHECK_INT(registry_store_has(s, "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"), 1);
	CHECK(!exists(stale));
	CHECK(exists(fresh));
	CHECK(!exists(tmp));
	CHECK(exists(other));
	unlink(other);
	CHECK_INT(registry_store_verify(NULL, s, NULL), 0);

	/* The handle still works after gc (its shared lock is back). */
	registry_store *s3 = NULL;
	CHECK_INT(registry_store_open(&s3, dir, 0), 0);
	CHECK_INT(registry_store_gc(NULL, s, NULL), REGISTRY_ECONFLICT);
	registry_store_free(s3);

	/* Dropping the "sig" root frees the artifact, its empty config, its layer and its subject. */
	CHECK_INT(registry_store_index_remove(s, "sig"), 0);
	CHECK_INT(registry_store_gc(&removed, s, NULL), 0);
	CHECK_INT(removed, 4);
	CHECK_INT(registry_store_has(s, "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"), 0);
	CHECK_INT(registry_store_has(s, g.sig), 0);
	CHECK_INT(registry_store_has(s, g.other_image), 0);
	CHECK_INT(registry_store_has(s, g.sig_layer), 0);
	CHECK_INT(registry_store_has(s, g.layer2), 1); /* still used by the image */
	/* Nothing left to do. */
	CHECK_INT(registry_store_gc(&removed, s, NULL), 0);
	CHECK_INT(removed, 0);
	CHECK_INT(registry_store_gc(&removed, NULL, NULL), REGISTRY_EINVAL);
	registry_store_free(s);
}

/* ---- untrusted digests ---- */

static void test_invalid_digests(void)
{
	char dir[300], file[400];
	registry_store *s = new_store(dir, sizeof(dir));
	snprintf(file, sizeof(file), "%s/in-%d", tmp_root, store_counter);
	write_file(file, "hello", 5);
	static const char *const bad[] = {
		"sha256:../../x",
		"sha256:../../../../../../tmp/evil",
		"sha256:2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824",
		"sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b982",
		"sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824/../x",
		"sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\n",
		"../sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
		"md5:5d41402abc4b2a76b9719d911017c592",
		"sha256",
		"",
		"/etc/passwd",
	};
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(bad); i++) {
		const char *d = bad[i];
		int64_t size;
		char *p = NULL;
		void *data = NULL;
		size_t len;
		registry__blob_writer *w = NULL;
		int64_t offset;
		int already;
		CHECK(registry_store_has(s, d) < 0);
		CHECK(registry_store_blob_size(&size, s, d) < 0);
		CHECK(registry_store_blob_path(&p, s, d) < 0);
		CHECK(p == NULL);
		CHECK(registry_store_read_blob(&data, &len, s, d, 0) < 0);
		CHECK(registry_store_add_blob(NULL, s, d, "hello", 5) < 0);
		CHECK(registry_store_add_blob_file(NULL, s, d, file) < 0);
		CHECK(registry_store_index_add(s, INDEX_ENTRY(REGISTRY_MEDIA_TYPE_OCI_MANIFEST, d, 5, NULL), "x") < 0);
		CHECK(registry__blob_writer_open(&w, s, d, 5, &offset, &already) < 0);
		CHECK(w == NULL);
		int code = registry_store_has(s, d);
		CHECK(code == REGISTRY_EFORMAT || code == REGISTRY_EUNSUPPORTED);
	}
	CHECK_INT(registry_store_has(s, NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_store_has(NULL, HELLO_SHA256), REGISTRY_EINVAL);
	char path[600];
	snprintf(path, sizeof(path), "%s/blobs/sha256", dir);
	CHECK_INT(count_entries(path), 0);
	snprintf(path, sizeof(path), "%s/blobs/.partial", dir);
	CHECK(count_entries(path) <= 0);
	CHECK(!exists("/tmp/evil"));
	CHECK_INT(registry_store_index_count(s), 0);
	registry_store_free(s);
}

/* ---- links and special files (issue 14) ---- */

static void test_no_links_followed(void)
{
	char dir[512], path[1024], outside[700];
	alarm(60); /* a FIFO opened without O_NONBLOCK would hang: fail instead */
	registry_store *s = new_store(dir, sizeof(dir));
	CHECK_INT(registry_store_add_blob(NULL, s, HELLO_SHA256, "hello", 5), 0);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, HELLO_SHA256 + 7);
	snprintf(outside, sizeof(outside), "%s/outside-hello", tmp_root);
	write_file(outside, "hello", 5);
	/* The blob a symlink to a file with the same bytes outside the layout. */
	CHECK(unlink(path) == 0 && symlink(outside, path) == 0);
	CHECK_INT(registry_store_has(s, HELLO_SHA256), REGISTRY_EFORMAT);
	CHECK(strstr(registry_error_message(registry_error_last()), "symbolic link") != NULL);
	int64_t size = 0;
	CHECK_INT(registry_store_blob_size(&size, s, HELLO_SHA256), REGISTRY_EFORMAT);
	char *bp = NULL;
	CHECK_INT(registry_store_blob_path(&bp, s, HELLO_SHA256), REGISTRY_EFORMAT);
	void *data = NULL;
	size_t len = 0;
	CHECK_INT(registry_store_read_blob(&data, &len, s, HELLO_SHA256, 0), REGISTRY_EFORMAT);
	size_t nbad = 0;
	CHECK_INT(registry_store_verify(&nbad, s, NULL), REGISTRY_EDIGEST);
	CHECK_INT(nbad, 1);
	/* A FIFO in its place: refused at once. */
	CHECK(unlink(path) == 0 && mkfifo(path, 0644) == 0);
	CHECK_INT(registry_store_read_blob(&data, &len, s, HELLO_SHA256, 0), REGISTRY_EFORMAT);
	CHECK(strstr(registry_error_message(registry_error_last()), "not a regular file") != NULL);
	CHECK_INT(registry_store_has(s, HELLO_SHA256), REGISTRY_EFORMAT);
	/* blobs/sha256 a link to a folder outside, holding the real blob. */
	char sha_dir[700], moved[700];
	snprintf(sha_dir, sizeof(sha_dir), "%s/blobs/sha256", dir);
	snprintf(moved, sizeof(moved), "%s/outside-sha256", tmp_root);
	CHECK(unlink(path) == 0 && rename(sha_dir, moved) == 0 && symlink(moved, sha_dir) == 0);
	snprintf(path, sizeof(path), "%s/%s", moved, HELLO_SHA256 + 7);
	write_file(path, "hello", 5);
	CHECK_INT(registry_store_read_blob(&data, &len, s, HELLO_SHA256, 0), REGISTRY_EFORMAT);
	CHECK_INT(registry_store_has(s, HELLO_SHA256), REGISTRY_EFORMAT);
	registry_store_free(s);

	/* index.json a FIFO, oci-layout a symlink: the store does not open. */
	s = new_store(dir, sizeof(dir));
	registry_store_free(s);
	snprintf(path, sizeof(path), "%s/index.json", dir);
	CHECK(unlink(path) == 0 && mkfifo(path, 0644) == 0);
	CHECK_INT(registry_store_open(&s, dir, 0), REGISTRY_EFORMAT);
	CHECK(strstr(registry_error_message(registry_error_last()), "index.json is not a regular file") != NULL);
	s = new_store(dir, sizeof(dir));
	registry_store_free(s);
	snprintf(path, sizeof(path), "%s/oci-layout", dir);
	snprintf(outside, sizeof(outside), "%s/outside-layout", tmp_root);
	write_file(outside, "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
	CHECK(unlink(path) == 0 && symlink(outside, path) == 0);
	CHECK_INT(registry_store_open(&s, dir, 0), REGISTRY_EFORMAT);
	alarm(0);
}

/* Blob paths keep the whole algorithm name: "sha3-512" was cut to "sha3-51". */
static void test_blob_paths_keep_long_algorithm_names(void)
{
	char rel[STORE_REL_MAX];
	registry__store_blob_rel(rel, "sha3-512:abcdef");
	CHECK_STR(rel, "sha3-512/abcdef");
	registry__store_partial_rel(rel, "blake2b-512:0123");
	CHECK_STR(rel, STORE_PARTIAL_DIR "/blake2b-512/0123");
}

/* 10000 references through a batch: one rewrite of index.json (not 10000
 * of a growing file), the same result as one addition after the other,
 * and all of them found again after reopening. */
static void test_index_many(void)
{
	enum { N = 10000 };
	char dir[300], m1[REGISTRY_DIGEST_STRING_MAX], m2[REGISTRY_DIGEST_STRING_MAX], name[32];
	registry_store *s = new_store(dir, sizeof(dir));
	const char *mt = REGISTRY_MEDIA_TYPE_OCI_MANIFEST;
	add(s, "manifest one", 12, m1);
	add(s, "manifest two!", 13, m2);
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(mt, m1, 12, NULL), "r00005"), 0);
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(mt, m1, 12, NULL), "keep"), 0);
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(mt, m1, 12, NULL), NULL), 0);
	CHECK_INT(s->index_writes, 3); /* one rewrite per addition outside a batch */

	CHECK_INT(registry_store_index_batch_begin(s), 0);
	CHECK_INT(registry_store_index_batch_begin(s), REGISTRY_EINVAL);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "r%05d", i);
		CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(mt, m2, 13, NULL), name), 0);
	}
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(mt, m1, 12, NULL), "r00003"), 0); /* the last addition wins */
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(mt, m2, 12, NULL), "bad-size"), REGISTRY_EINVAL);
	CHECK_INT(registry_store_index_remove(s, "keep"), REGISTRY_EINVAL);
	CHECK_INT(registry_store_index_count(s), 3); /* nothing applied before the commit */
	CHECK_INT(s->index_writes, 3);
	CHECK_INT(registry_store_index_batch_commit(s), 0);
	CHECK_INT(s->index_writes, 4); /* one rewrite for the whole batch */
	CHECK_INT(registry_store_index_batch_commit(s), REGISTRY_EINVAL);

	/* r00005 replaced in place; the others appended in order. */
	CHECK_INT(registry_store_index_count(s), 3 + N - 1);
	const registry_descriptor *d = registry_store_index_entry(s, 0);
	CHECK_STR(registry_descriptor_annotation(d, REGISTRY_STORE_REF_NAME_ANNOTATION), "r00005");
	CHECK_STR(registry_descriptor_digest(d), m2);
	CHECK_STR(registry_descriptor_annotation(registry_store_index_entry(s, 3), REGISTRY_STORE_REF_NAME_ANNOTATION),
	          "r00000");
	d = registry_store_index_entry(s, 6);
	CHECK_STR(registry_descriptor_annotation(d, REGISTRY_STORE_REF_NAME_ANNOTATION), "r00003");
	CHECK_STR(registry_descriptor_digest(d), m1);

	registry_store_free(s);
	s = NULL;
	CHECK_INT(registry_store_open(&s, dir, 0), 0);
	CHECK_INT(registry_store_index_count(s), 3 + N - 1);
	size_t found = 0;
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "r%05d", i);
		found += registry_store_index_find(&d, s, name) == 0 &&
		         strcmp(registry_descriptor_digest(d), i == 3 ? m1 : m2) == 0;
	}
	CHECK_INT(found, N);
	CHECK_INT(registry_store_index_find(&d, s, "keep"), 0);

	/* Past REGISTRY_STORE_INDEX_MAX_ENTRIES: refused, index.json unchanged. */
	CHECK_INT(registry_store_index_batch_begin(s), 0);
	for (int i = 0; i < REGISTRY_STORE_INDEX_MAX_ENTRIES; i++) {
		snprintf(name, sizeof(name), "x%06d", i);
		if (registry_store_index_add(s, INDEX_ENTRY(mt, m2, 13, NULL), name) != 0) {
			CHECK(0);
			break;
		}
	}
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(mt, m2, 13, NULL), "one-more"), REGISTRY_ETOOLARGE);
	CHECK_INT(registry_store_index_batch_commit(s), REGISTRY_ETOOLARGE);
	CHECK(strstr(registry_error_message(registry_error_last()), "100000 entries") != NULL);
	CHECK_INT(registry_store_index_count(s), 3 + N - 1);
	/* An abandoned batch changes nothing. */
	CHECK_INT(registry_store_index_batch_begin(s), 0);
	CHECK_INT(registry_store_index_add(s, INDEX_ENTRY(mt, m2, 13, NULL), "dropped"), 0);
	registry_store_index_batch_abort(s);
	CHECK_INT(registry_store_index_find(&d, s, "dropped"), REGISTRY_ENOTFOUND);
	CHECK_INT(registry_store_index_remove(s, "keep"), 0);
	registry_store_free(s);
}

int main(void)
{
	snprintf(tmp_root, sizeof(tmp_root), "%s/registry-store-test-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp_root)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_create_and_open);
	RUN(test_open_rejects_bad_layouts);
	RUN(test_add_and_read_blobs);
	RUN(test_blob_paths_keep_long_algorithm_names);
	RUN(test_add_wrong_digest_leaves_nothing);
	RUN(test_read_detects_damage);
	RUN(test_import_file);
	RUN(test_writer_odd_chunks);
	RUN(test_writer_mismatch);
	RUN(test_writer_resume);
	RUN(test_writer_lazy_rehash);
	RUN(test_writer_restart_and_overrun);
	RUN(test_two_processes_one_blob);
	RUN(test_index);
	RUN(test_index_many);
	RUN(test_verify);
	RUN(test_gc);
	RUN(test_invalid_digests);
	RUN(test_no_links_followed);
	rm_rf(tmp_root);
	return CHECK_DONE();
}

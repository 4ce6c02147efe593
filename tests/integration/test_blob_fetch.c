/*
 * Blob downloads into a store against the real registry:
 *
 *   itest-blob fetch     every blob of the fixtures into a store; verified;
 *                        a second fetch moves nothing; fetch_to streams
 *   itest-blob corrupt   a byte flipped in the registry's storage → EDIGEST,
 *                        nothing committed, no partial kept, store verifies
 *   itest-blob resume    (through tests/proxy/fault_proxy.py) cancel half-way
 *                        through a 64 MiB layer, fetch again: one Range
 *                        request for the rest (206), the blob verifies
 *   itest-blob missing   one unknown blob among good ones: per-blob results
 */
#include "itest.h"

/* Options of one fetch_many, inline. */
#define FETCH_OPTS(cb, ud)                                                                           \
	(&(registry_blob_fetch_many_options){.version = REGISTRY_BLOB_FETCH_MANY_OPTIONS_VERSION,      \
	                                     .progress = (cb), .userdata = (ud)})

#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* The config and layers of a fixture's manifest. */
static registry_manifest *fixture_manifest(registry_client *c, const char *repo)
{
	registry_manifest *m = NULL;
	int rc = registry_manifest_fetch(&m, c, repo, "latest", NULL);
	if (rc) {
		fprintf(stderr, "manifest_fetch %s: %s\n", repo, registry_error_message(registry_error_last()));
		exit(1);
	}
	return m;
}

static size_t blob_list(const registry_manifest *m, const char **digests, int64_t *sizes, size_t max)
{
	size_t n = 0;
	const registry_descriptor *cfg = registry_manifest_config(m);
	if (cfg && n < max) {
		digests[n] = registry_descriptor_digest(cfg);
		sizes[n++] = registry_descriptor_size(cfg);
	}
	for (size_t i = 0; i < registry_manifest_layer_count(m) && n < max; i++) {
		digests[n] = registry_descriptor_digest(registry_manifest_layer(m, i));
		sizes[n++] = registry_descriptor_size(registry_manifest_layer(m, i));
	}
	return n;
}

struct tally {
	int started, done, skipped, failed, running;
	/* blobs fetched on lanes: callbacks must still come on the caller's
	 * thread, and the operation's counts never go back */
	int check_thread, wrong_thread, backwards;
	pthread_t caller;
	int64_t overall_done, overall_total;
	size_t blobs_done, blobs_total;
	int64_t cancel_after;
	int64_t last_done;
};

static int on_progress(const registry_progress *p, void *ud)
{
	struct tally *t = ud;
	if (t->check_thread && !pthread_equal(t->caller, pthread_self()))
		t->wrong_thread++;
	if (registry_progress_overall_done(p) < t->overall_done || registry_progress_blobs_done(p) < t->blobs_done)
		t->backwards++;
	t->overall_done = registry_progress_overall_done(p);
	t->overall_total = registry_progress_overall_total(p);
	t->blobs_done = registry_progress_blobs_done(p);
	t->blobs_total = registry_progress_blobs_total(p);
	switch (registry_progress_state(p)) {
	case REGISTRY_PROGRESS_STARTED: t->started++; break;
	case REGISTRY_PROGRESS_DONE: t->done++; break;
	case REGISTRY_PROGRESS_SKIPPED: t->skipped++; break;
	case REGISTRY_PROGRESS_FAILED: t->failed++; break;
	default: t->running++; break;
	}
	t->last_done = registry_progress_bytes_done(p);
	return t->cancel_after > 0 && registry_progress_bytes_done(p) >= t->cancel_after;
}

static int bad_blob(const char *digest, const char *reason, void *ud)
{
	(void)ud;
	fprintf(stderr, "store has a bad blob %s: %s\n", digest, reason);
	return 0;
}

static void check_store_verifies(registry_store *s)
{
	size_t nbad = 99;
	registry_store_verify_options vo = REGISTRY_STORE_VERIFY_OPTIONS_INIT;
	vo.problem = bad_blob;
	CHECK_RC(registry_store_verify(&nbad, s, &vo), 0);
	CHECK_INT(nbad, 0);
}

static int64_t streamed;
static int count_bytes(const void *data, size_t len, void *ud)
{
	(void)data;
	(void)ud;
	streamed += (int64_t)len;
	return 0;
}

static void test_fetch(void)
{
	const char *repos[] = {"fixtures/small-v2s2", "fixtures/small-oci"};
	registry_client *c = itest_client(1);
	registry_store *s = itest_store("fetch");
	for (size_t r = 0; r < 2; r++) {
		registry_manifest *m = fixture_manifest(c, repos[r]);
		const char *digests[16];
		int64_t sizes[16];
		size_t n = blob_list(m, digests, sizes, 16);
		CHECK_INT(n, 4); /* config + 3 layers */
		/* The same layer twice: fetched once, both get its result. */
		digests[n] = digests[1];
		sizes[n] = sizes[1];
		n++;
		int results[16];
		struct tally t = {.check_thread = 1, .caller = pthread_self()};
		CHECK_RC(registry_blob_fetch_many(results, c, repos[r], n, digests, sizes, s, FETCH_OPTS(on_progress, &t)), 0);
		CHECK_INT(t.wrong_thread, 0);
		CHECK_INT(t.backwards, 0);
		CHECK_INT(t.blobs_done, n);
		CHECK_INT(t.blobs_total, n);
		CHECK_INT(t.overall_done, t.overall_total);
		CHECK_INT(t.overall_total, sizes[0] + sizes[1] + sizes[2] + sizes[3]);
		for (size_t i = 0; i < n; i++) {
			CHECK_INT(results[i], 0);
			CHECK_INT(registry_store_has(s, digests[i]), 1);
			int64_t size = -1;
			CHECK_RC(registry_store_blob_size(&size, s, digests[i]), 0);
			CHECK_INT(size, sizes[i]);
		}
		/* The two fixtures share their blobs (same seed): the second moved nothing. */
		if (r == 0) {
			CHECK_INT(t.done, (int)n - 1);
			CHECK_INT(t.started, (int)n - 1);
		} else {
			CHECK_INT(t.skipped, (int)n - 1);
			CHECK_INT(t.done, 0);
		}
		CHECK_INT(t.failed, 0);

		streamed = 0;
		CHECK_RC(registry_blob_fetch_to(c, repos[r], digests[1], sizes[1], count_bytes, NULL, NULL), 0);
		CHECK_INT(streamed, sizes[1]);
		/* fetch_to reports progress through its options too. */
		struct tally tt = {0};
		registry_blob_fetch_to_options to = REGISTRY_BLOB_FETCH_TO_OPTIONS_INIT;
		to.progress = on_progress;
		to.userdata = &tt;
		streamed = 0;
		CHECK_RC(registry_blob_fetch_to(c, repos[r], digests[1], sizes[1], count_bytes, NULL, &to), 0);
		CHECK_INT(streamed, sizes[1]);
		CHECK_INT(tt.started, 1);
		CHECK_INT(tt.done, 1);
		CHECK_INT(tt.last_done, sizes[1]);
		int64_t head = -1;
		CHECK_RC(registry_blob_head(&head, c, repos[r], digests[1]), 0);
		CHECK_INT(head, sizes[1]);
		registry_manifest_free(m);
	}
	check_store_verifies(s);
	CHECK_RC(registry_blob_head(NULL, c,
	         repos[0], "sha256:0000000000000000000000000000000000000000000000000000000000000000"),
	         REGISTRY_ENOTFOUND);
	CHECK_RC(registry_blob_fetch(c, repos[0], "sha256:../../etc/passwd", -1, s, NULL),
	         REGISTRY_EFORMAT);
	registry_store_free(s);
	registry_client_free(c);
}

/* Flip one byte of a blob in the registry's own storage. */
static void corrupt_in_registry(const char *digest)
{
	char path[2048];
	snprintf(path, sizeof(path), "%s/docker/registry/v2/blobs/sha256/%.2s/%s/data",
	         getenv("REGISTRY_TEST_STORAGE"), digest + 7, digest + 7);
	FILE *f = fopen(path, "r+b");
	CHECK(f != NULL);
	if (!f)
		return;
	fseek(f, 100, SEEK_SET);
	int ch = fgetc(f);
	fseek(f, 100, SEEK_SET);
	fputc(ch ^ 0x55, f);
	fclose(f);
}

static void test_corrupt(void)
{
	registry_client *c = itest_client(1);
	registry_store *s = itest_store("corrupt");
	registry_manifest *m = fixture_manifest(c, "fixtures/small-v2s2");
	const char *digest = registry_descriptor_digest(registry_manifest_layer(m, 0));
	int64_t size = registry_descriptor_size(registry_manifest_layer(m, 0));
	corrupt_in_registry(digest);
	CHECK_RC(registry_blob_fetch(c, "fixtures/small-v2s2", digest, size, s, NULL), REGISTRY_EDIGEST);
	CHECK(strstr(registry_error_message(registry_error_last()), digest + 7) != NULL);
	CHECK_INT(registry_store_has(s, digest), 0);
	check_store_verifies(s);
	/* No partial is kept for bytes known to be wrong. */
	char partial[2048];
	snprintf(partial, sizeof(partial), "%s/blobs/.partial/sha256/%s", registry_store_path(s), digest + 7);
	struct stat st;
	CHECK(stat(partial, &st) != 0);
	streamed = 0;
	CHECK_RC(registry_blob_fetch_to(c, "fixtures/small-v2s2", digest, size, count_bytes, NULL, NULL), REGISTRY_EDIGEST);
	registry_manifest_free(m);
	registry_store_free(s);
	registry_client_free(c);
}

static void run_or_die(const char *cmd)
{
	if (system(cmd) != 0) {
		fprintf(stderr, "command failed: %s\n", cmd);
		exit(1);
	}
}

static int count_lines(const char *path, const char *a, const char *b)
{
	size_t len;
	char *text = check_read_file(path, &len);
	int n = 0;
	for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n"))
		if (strstr(line, a) && (!b || strstr(line, b)))
			n++;
	free(text);
	return n;
}

/* @range_ignored: the proxy drops Range (a server that ignores it): the
 * second fetch gets a 200 with the whole blob and starts over from byte 0. */
static void test_resume_case(int range_ignored)
{
	const char *proxy = getenv("REGISTRY_TEST_PROXY_HOST");
	if (!proxy) {
		printf("SKIP: resume needs tests/proxy/fault_proxy.py in front of the registry\n");
		exit(77);
	}
	char cmd[4096];
	const char *tmp = getenv("REGISTRY_TEST_TMPDIR");
	snprintf(cmd, sizeof(cmd),
	         "/usr/bin/python3 %s make-fixture %s/big64 --layers 1 --size 67108864 --gzip-level 0 --seed 64 >/dev/null && "
	         "/usr/bin/python3 %s push %s/big64 --repo big/one --tag latest >/dev/null",
	         getenv("REGISTRY_TEST_HARNESS"), tmp, getenv("REGISTRY_TEST_HARNESS"), tmp);
	run_or_die(cmd);

	registry_client *c = NULL;
	CHECK_RC(registry_client_new(&c, proxy), 0);
	registry_store *s = itest_store("resume");
	registry_manifest *m = fixture_manifest(c, "big/one");
	const char *digest = registry_descriptor_digest(registry_manifest_layer(m, 0));
	int64_t size = registry_descriptor_size(registry_manifest_layer(m, 0));
	CHECK(size > 64 * 1000 * 1000);

	struct tally t = {.cancel_after = size / 2};
	registry_blob_fetch_options fo = REGISTRY_BLOB_FETCH_OPTIONS_INIT;
	fo.progress = on_progress;
	fo.userdata = &t;
	CHECK_RC(registry_blob_fetch(c, "big/one", digest, size, s, &fo), REGISTRY_ECANCELED);
	CHECK_INT(registry_store_has(s, digest), 0);
	char partial[2048];
	snprintf(partial, sizeof(partial), "%s/blobs/.partial/sha256/%s", registry_store_path(s), digest + 7);
	struct stat st;
	CHECK_INT(stat(partial, &st), 0);
	int64_t kept = (int64_t)st.st_size;
	printf("canceled with %lld of %lld bytes kept\n", (long long)kept, (long long)size);
	CHECK(kept >= size / 2 && kept < size);

	struct tally t2 = {0};
	fo.userdata = &t2;
	CHECK_RC(registry_blob_fetch(c, "big/one", digest, size, s, &fo), 0);
	CHECK_INT(registry_store_has(s, digest), 1);
	check_store_verifies(s);

	CHECK_INT(t2.done, 1);
	CHECK_INT(t2.failed, 0);

	/* The proxy saw one ranged request for exactly the rest, answered 206
	 * (or 200 when the server ignores Range). */
	char range[64];
	snprintf(range, sizeof(range), "bytes=%lld-", (long long)kept);
	const char *log = getenv("REGISTRY_TEST_PROXY_LOG");
	const char *status = range_ignored ? "\"status\": 200" : "\"status\": 206";
	int ranged = 0;
	for (int i = 0; i < 50 && !(ranged = count_lines(log, range, status)); i++)
		usleep(100000);
	CHECK_INT(ranged, 1);
	if (range_ignored) {
		CHECK_INT(count_lines(log, "/blobs/sha256", "\"status\": 206"), 0);
		registry_manifest_free(m);
		registry_store_free(s);
		registry_client_free(c);
		return;
	}
	/* The canceled first GET may have been sent in full before the cancel
	 * (under load); a full re-fetch after it would make a second 200. */
	CHECK(count_lines(log, "/blobs/sha256", "\"status\": 200") <= 1);
	registry_manifest_free(m);
	registry_store_free(s);
	registry_client_free(c);
}

static void test_resume(void)
{
	test_resume_case(0);
}

static void test_resume_norange(void)
{
	test_resume_case(1);
}

/* Two processes fetch the same image into one store at the same time. */
static void test_concurrent(void)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/shared", getenv("REGISTRY_TEST_TMPDIR"));
	registry_store *s = itest_store("shared");
	registry_store_free(s);
	pid_t kids[2];
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			registry_client *c = itest_client(1);
			registry_store *mine = NULL;
			if (registry_store_open(&mine, path, 0) != 0)
				_exit(3);
			registry_manifest *m = fixture_manifest(c, "big/two");
			const char *digests[8];
			int64_t sizes[8];
			size_t n = blob_list(m, digests, sizes, 8);
			int rc = registry_blob_fetch_many(NULL, c, "big/two", n, digests, sizes, mine, NULL);
			if (rc)
				fprintf(stderr, "child %d: %s\n", k, registry_error_message(registry_error_last()));
			registry_manifest_free(m);
			registry_store_free(mine);
			registry_client_free(c);
			_exit(rc ? 1 : 0);
		}
	}
	for (int k = 0; k < 2; k++) {
		int status = 0;
		waitpid(kids[k], &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	CHECK_RC(registry_store_open(&s, path, 0), 0);
	registry_client *c = itest_client(1);
	registry_manifest *m = fixture_manifest(c, "big/two");
	const char *digests[8];
	int64_t sizes[8];
	size_t n = blob_list(m, digests, sizes, 8);
	for (size_t i = 0; i < n; i++)
		CHECK_INT(registry_store_has(s, digests[i]), 1);
	check_store_verifies(s);
	registry_manifest_free(m);
	registry_client_free(c);
	registry_store_free(s);
}

static void test_missing(void)
{
	registry_client *c = itest_client(1);
	registry_store *s = itest_store("missing");
	registry_manifest *m = fixture_manifest(c, "fixtures/small-v2s2");
	const char *digests[8];
	int64_t sizes[8];
	size_t n = blob_list(m, digests, sizes, 7);
	digests[n] = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
	sizes[n++] = 10;
	int results[8];
	CHECK_RC(registry_blob_fetch_many(results, c, "fixtures/small-v2s2", n, digests, sizes, s, NULL),
	         REGISTRY_ENOTFOUND);
	for (size_t i = 0; i + 1 < n; i++)
		CHECK_INT(results[i], 0);
	CHECK_INT(results[n - 1], REGISTRY_ENOTFOUND);
	CHECK_STR(registry_error_registry_code(registry_error_last()), "BLOB_UNKNOWN");
	check_store_verifies(s);
	registry_manifest_free(m);
	registry_store_free(s);
	registry_client_free(c);
}

int main(int argc, char **argv)
{
	itest_require_harness();
	const char *which = argc > 1 ? argv[1] : "";
	if (strcmp(which, "fetch") == 0)
		RUN(test_fetch);
	else if (strcmp(which, "corrupt") == 0)
		RUN(test_corrupt);
	else if (strcmp(which, "resume") == 0)
		RUN(test_resume);
	else if (strcmp(which, "norange") == 0)
		RUN(test_resume_norange);
	else if (strcmp(which, "concurrent") == 0) {
		char cmd[2048];
		snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s push big --repo big/two --tag latest >/dev/null",
		         getenv("REGISTRY_TEST_HARNESS"));
		run_or_die(cmd);
		RUN(test_concurrent);
	} else if (strcmp(which, "missing") == 0)
		RUN(test_missing);
	else {
		fprintf(stderr, "unknown case '%s'\n", which);
		return 2;
	}
	return CHECK_DONE();
}

/*
 * Uploads, mounts, push, push_archive and copy against the real registry
 * (tests/harness/registry_harness.py), with skopeo as the independent peer.
 * One program, one case per run (see tests/integration/meson.build):
 *
 *   itest-push upload         monolithic and chunked 64 MiB uploads, wrong digest or size,
 *                             cancel, skip, file, empty and unknown-size blobs
 *   itest-push mount          cross-repository mount (201) and its fallback (202)
 *   itest-push store          registry_push from OCI layouts made by the harness
 *   itest-push layout-hostile  registry_push from layouts with a blob linking out, a
 *                             blobs/sha256 link, a damaged small blob, FIFOs: refused
 *                             before anything is sent, no hang
 *   itest-push archive        registry_push_archive (skopeo's docker-archive, and a newer
 *                             Docker layout with gzip layers and symlinks)
 *   itest-push copy-two       copy between two registries (REGISTRY_SRC_* = the outer one)
 *   itest-push copy-same      copy inside one registry: mounts
 *   itest-push copy-nomount   through fault_proxy --strip-query: mounts ignored, blobs relayed
 *   itest-push fault-patch    a PATCH answered 503 (never reached the registry)
 *   itest-push fault-lost     a PATCH the registry took whose answer was lost
 *   itest-push fault-put      a monolithic PUT answered 503: retried after a rewind
 *   itest-push lanes          registry_push uploads several blobs at once (through
 *                             fault_proxy, whose log shows the overlap), and one lane
 *                             at a time with max_parallel 1; a corrupt blob and a cancel
 *                             stop every lane
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "itest.h"

/* Options of one upload, inline. */
#define UPLOAD_OPTS(chunk, cb, ud)                                                                     \
	(&(registry_blob_upload_options){.version = REGISTRY_BLOB_UPLOAD_OPTIONS_VERSION, .chunk_size = (chunk), \
	                                 .progress = (cb), .userdata = (ud)})

#define MiB ((int64_t)1 << 20)

static double now_s(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* ---- A deterministic source of pseudo-random bytes ------------------------ */

typedef struct gen {
	uint64_t seed;
	int64_t size, pos;
	int reads, rewinds;
} gen;

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void gen_fill(uint64_t seed, int64_t pos, unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++, pos++)
		buf[i] = (unsigned char)(mix(seed * 0x100000001b3ULL ^ (uint64_t)(pos >> 3)) >> ((pos & 7) * 8));
}

static int64_t gen_read(void *buf, size_t len, void *ud)
{
	gen *g = ud;
	g->reads++;
	int64_t left = g->size - g->pos;
	if ((int64_t)len > left)
		len = (size_t)left;
	gen_fill(g->seed, g->pos, buf, len);
	g->pos += (int64_t)len;
	return (int64_t)len;
}

static int gen_rewind(void *ud)
{
	gen *g = ud;
	g->rewinds++;
	g->pos = 0;
	return 0;
}

static void gen_init(gen *g, uint64_t seed, int64_t size)
{
	memset(g, 0, sizeof(*g));
	g->seed = seed;
	g->size = size;
}

static void gen_digest(uint64_t seed, int64_t size, char out[REGISTRY_DIGEST_STRING_MAX])
{
	registry_digest *d = NULL;
	registry_digest_new(&d, REGISTRY_DIGEST_SHA256);
	unsigned char buf[65536];
	for (int64_t pos = 0; pos < size;) {
		size_t n = size - pos < (int64_t)sizeof(buf) ? (size_t)(size - pos) : sizeof(buf);
		gen_fill(seed, pos, buf, n);
		registry_digest_update(d, buf, n);
		pos += (int64_t)n;
	}
	char *got = NULL;
	registry_digest_final(&got, d);
	snprintf(out, REGISTRY_DIGEST_STRING_MAX, "%s", got ? got : "");
	registry_free(got);
	registry_digest_free(d);
}

/* ---- Progress recorder ---------------------------------------------------- */

typedef struct prog_log {
	int started, running, done, skipped, failed;
	int64_t last_done, last_total, overall_done, overall_total;
	size_t blobs_done, blobs_total;
	int cancel_on_running;
	double first, last;
	/* for the lanes: who calls, how many blobs at once, order of counts */
	pthread_t caller;
	int check_thread, wrong_thread, in_flight, max_in_flight, backwards, after_cancel, canceled;
} prog_log;

static int on_progress(const registry_progress *p, void *ud)
{
	prog_log *l = ud;
	if (l->canceled)
		l->after_cancel++;
	if (l->check_thread && !pthread_equal(l->caller, pthread_self()))
		l->wrong_thread++;
	if (registry_progress_overall_done(p) < l->overall_done ||
	    registry_progress_blobs_done(p) < l->blobs_done)
		l->backwards++;
	int st = registry_progress_state(p);
	if (st == REGISTRY_PROGRESS_STARTED && ++l->in_flight > l->max_in_flight)
		l->max_in_flight = l->in_flight;
	if (st == REGISTRY_PROGRESS_DONE || st == REGISTRY_PROGRESS_FAILED)
		l->in_flight--;
	double t = now_s();
	if (!l->first)
		l->first = t;
	l->last = t;
	switch (registry_progress_state(p)) {
	case REGISTRY_PROGRESS_STARTED: l->started++; break;
	case REGISTRY_PROGRESS_RUNNING: l->running++; break;
	case REGISTRY_PROGRESS_DONE: l->done++; break;
	case REGISTRY_PROGRESS_SKIPPED: l->skipped++; break;
	case REGISTRY_PROGRESS_FAILED: l->failed++; break;
	}
	l->last_done = registry_progress_bytes_done(p);
	l->last_total = registry_progress_bytes_total(p);
	l->overall_done = registry_progress_overall_done(p);
	l->overall_total = registry_progress_overall_total(p);
	l->blobs_done = registry_progress_blobs_done(p);
	l->blobs_total = registry_progress_blobs_total(p);
	if (l->cancel_on_running && st == REGISTRY_PROGRESS_RUNNING)
		l->canceled = 1;
	return l->cancel_on_running && st == REGISTRY_PROGRESS_RUNNING;
}

/* ---- Logs and commands ---------------------------------------------------- */

/* Lines of a log containing every one of the (up to 3) substrings. */
static int count_lines(const char *path, const char *a, const char *b, const char *c)
{
	size_t len = 0;
	char *text = path ? check_read_file(path, &len) : NULL;
	if (!text)
		return -1;
	int n = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if ((!a || strstr(line, a)) && (!b || strstr(line, b)) && (!c || strstr(line, c)))
			n++;
	free(text);
	return n;
}

/* Servers log after answering: wait until @expected lines are there (or 5 s). */
static int settled_lines(const char *path, const char *a, const char *b, const char *c, int expected)
{
	int n = count_lines(path, a, b, c);
	for (int i = 0; i < 50 && n < expected; i++) {
		usleep(100000);
		n = count_lines(path, a, b, c);
	}
	return n;
}

static const char *tmpdir(void)
{
	return env_or("REGISTRY_TEST_TMPDIR", "/tmp");
}

static const char *registry_log(void)
{
	return getenv("REGISTRY_TEST_REGISTRY_LOG");
}

/* Run a shell command, capture its stdout (caller frees); *status its exit status. */
__attribute__((noinline)) static char *run_capture(const char *cmd, size_t *len, int *status)
{
	char *out = NULL;
	int st = itest_capture(cmd, &out, len);
	if (status)
		*status = st;
	return out;
}

static int run_cmd(const char *cmd)
{
	int st = system(cmd);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fprintf(stderr, "command failed (%d): %s\n", st, cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* sha256 of what `skopeo inspect --raw` prints for docker://HOST/NAME. */
static int skopeo_raw_digest(const char *host, const char *name, char out[REGISTRY_DIGEST_STRING_MAX])
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "$REGISTRY_TEST_SKOPEO inspect --raw $REGISTRY_TEST_SKOPEO_INSPECT_ARGS "
	         "docker://%s/%s", host, name);
	size_t len = 0;
	int status = -1;
	char *raw = run_capture(cmd, &len, &status);
	int rc = -1;
	char *got = NULL;
	if (raw && status == 0 && len > 0)
		rc = registry_digest_buffer(&got, REGISTRY_DIGEST_SHA256, raw, len);
	if (!rc)
		snprintf(out, REGISTRY_DIGEST_STRING_MAX, "%s", got);
	registry_free(got);
	if (rc)
		fprintf(stderr, "skopeo inspect --raw %s/%s failed (status %d)\n", host, name, status);
	free(raw);
	return rc;
}

/* skopeo copies the image out of the registry into an OCI layout (it checks every blob). */
static int skopeo_copy_out(const char *host, const char *name, const char *dir, int all)
{
	char cmd[2048], flat[200];
	snprintf(flat, sizeof(flat), "%s", dir);
	for (char *p = flat; *p; p++)
		if (*p == '/')
			*p = '-';
	dir = flat;
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/skopeo-out && $REGISTRY_TEST_SKOPEO copy -q %s "
	         "$REGISTRY_TEST_SKOPEO_SRC_ARGS docker://%s/%s oci:%s/skopeo-out/%s:x >&2", tmpdir(),
	         all ? "--all" : "", host, name, tmpdir(), dir);
	return run_cmd(cmd);
}


/* ---- Fetch-back check ------------------------------------------------------ */

typedef struct sink {
	registry_digest *d;
	int64_t n;
} sink;

static int sink_write(const void *data, size_t len, void *ud)
{
	sink *s = ud;
	s->n += (int64_t)len;
	return registry_digest_update(s->d, data, len);
}

/* GET the blob back and hash what arrives ourselves. */
static void check_fetch_back(registry_client *c, const char *repo, const char *digest, int64_t size)
{
	sink s = {0};
	registry_digest_new(&s.d, REGISTRY_DIGEST_SHA256);
	CHECK_RC(registry_blob_fetch_to(c, repo, digest, size, sink_write, &s, NULL), 0);
	char *got = NULL;
	registry_digest_final(&got, s.d);
	registry_digest_free(s.d);
	CHECK_STR(got, digest);
	registry_free(got);
	CHECK_INT(s.n, size);
	int64_t head_size = -2;
	CHECK_RC(registry_blob_head(&head_size, c, repo, digest), 0);
	CHECK_INT(head_size, size);
}

static int upload_gen(registry_client *c, const char *repo, uint64_t seed, int64_t size,
                      size_t chunk, char digest[REGISTRY_DIGEST_STRING_MAX], gen *g, prog_log *pl)
{
	gen_digest(seed, size, digest);
	gen_init(g, seed, size);
	return registry_blob_upload(c, repo, digest, size, gen_read, gen_rewind, g, UPLOAD_OPTS(chunk, pl ? on_progress : NULL, pl));
}

/* ---- upload ------------------------------------------------------------------ */

static void test_upload_monolithic(void)
{
	registry_client *c = itest_client(1);
	char d[REGISTRY_DIGEST_STRING_MAX];
	gen g;
	prog_log pl = {0};
	int64_t size = 64 * MiB;
	double t0 = now_s();
	CHECK_RC(upload_gen(c, "push/mono", 1, size, (size_t)(128 * MiB), d, &g, &pl), 0);
	double took = now_s() - t0;
	printf("monolithic 64 MiB upload: %.2f s, %d RUNNING reports\n", took, pl.running);
	CHECK_INT(pl.started, 1);
	CHECK_INT(pl.done, 1);
	CHECK_INT(pl.failed, 0);
	CHECK_INT(pl.last_done, size);
	CHECK_INT(pl.last_total, size);
	CHECK_INT(pl.overall_done, size);
	CHECK_INT(pl.blobs_done, 1);
	CHECK(pl.running >= 1);
	CHECK(pl.running <= (int)(took * 10) + 2); /* throttled to 10 per second */
	CHECK_INT(g.rewinds, 0);
	CHECK_INT(g.pos, size);
	check_fetch_back(c, "push/mono", d, size);
	/* One PUT with the digest, no PATCH. */
	CHECK_INT(settled_lines(registry_log(), "\"PUT /v2/push/mono/blobs/uploads/", "HTTP/1.1\" 201", NULL, 1), 1);
	CHECK_INT(count_lines(registry_log(), "\"PATCH /v2/push/mono/", NULL, NULL), 0);

	/* Again: the HEAD finds it, the source is not read at all. */
	prog_log again = {0};
	gen_init(&g, 1, size);
	CHECK_RC(registry_blob_upload(c, "push/mono", d, size, gen_read, gen_rewind, &g, UPLOAD_OPTS(0, on_progress, &again)), 0);
	CHECK_INT(g.reads, 0);
	CHECK_INT(again.skipped, 1);
	CHECK_INT(again.started, 0);
	CHECK_INT(again.overall_done, size);

	/* REGISTRY_BLOB_UPLOAD_SKIP_EXISTS_CHECK: no HEAD, so the blob the
	 * registry has is sent again (a small one). */
	char small[REGISTRY_DIGEST_STRING_MAX];
	int64_t small_size = 256 * 1024;
	CHECK_RC(upload_gen(c, "push/mono", 3, small_size, 0, small, &g, NULL), 0);
	prog_log forced = {0};
	gen_init(&g, 3, small_size);
	registry_blob_upload_options o = REGISTRY_BLOB_UPLOAD_OPTIONS_INIT;
	o.flags = REGISTRY_BLOB_UPLOAD_SKIP_EXISTS_CHECK;
	o.progress = on_progress;
	o.userdata = &forced;
	CHECK_RC(registry_blob_upload(c, "push/mono", small, small_size, gen_read, gen_rewind, &g, &o), 0);
	CHECK_INT(g.pos, small_size);
	CHECK_INT(forced.skipped, 0);
	CHECK_INT(forced.started, 1);
	CHECK_INT(forced.done, 1);
	registry_client_free(c);
}

static void test_upload_chunked(void)
{
	registry_client *c = itest_client(1);
	char d[REGISTRY_DIGEST_STRING_MAX];
	gen g;
	prog_log pl = {0};
	int64_t size = 64 * MiB;
	CHECK_RC(upload_gen(c, "push/chunked", 2, size, (size_t)(5 * MiB), d, &g, &pl), 0);
	CHECK_INT(pl.done, 1);
	CHECK_INT(pl.last_done, size);
	CHECK_INT(g.rewinds, 0);
	check_fetch_back(c, "push/chunked", d, size);
	/* ceil(64 / 5) = 13 chunks, each accepted, then one PUT. */
	CHECK_INT(settled_lines(registry_log(), "\"PATCH /v2/push/chunked/blobs/uploads/", "HTTP/1.1\" 202", NULL, 13), 13);
	CHECK_INT(settled_lines(registry_log(), "\"PUT /v2/push/chunked/blobs/uploads/", "HTTP/1.1\" 201", NULL, 1), 1);

	/* Unknown size: chunked, whatever the chunk size. */
	gen_init(&g, 6, 10 * MiB);
	gen_digest(6, 10 * MiB, d);
	CHECK_RC(registry_blob_upload(c, "push/unknown", d, -1, gen_read, NULL, &g, UPLOAD_OPTS((size_t)(4 * MiB), NULL, NULL)), 0);
	check_fetch_back(c, "push/unknown", d, 10 * MiB);
	CHECK_INT(settled_lines(registry_log(), "\"PATCH /v2/push/unknown/blobs/uploads/", "HTTP/1.1\" 202", NULL, 3), 3);
	registry_client_free(c);
}

static void test_upload_wrong(void)
{
	registry_client *c = itest_client(1);
	char claimed[REGISTRY_DIGEST_STRING_MAX], actual[REGISTRY_DIGEST_STRING_MAX];
	gen_digest(4, 8 * MiB, claimed);
	gen_digest(3, 8 * MiB, actual);
	size_t chunks[2] = {(size_t)(16 * MiB), (size_t)(3 * MiB)}; /* monolithic, chunked */
	for (int i = 0; i < 2; i++) {
		gen g;
		gen_init(&g, 3, 8 * MiB);
		prog_log pl = {0};
		CHECK_RC(registry_blob_upload(c, "push/bad", claimed, 8 * MiB, gen_read, gen_rewind, &g, UPLOAD_OPTS(chunks[i], on_progress, &pl)), REGISTRY_EDIGEST);
		CHECK(strstr(registry_error_message(registry_error_last()), actual) != NULL);
		CHECK_INT(pl.failed, 1);
		CHECK_INT(pl.done, 0);
	}
	CHECK_RC(registry_blob_head(NULL, c, "push/bad", claimed), REGISTRY_ENOTFOUND);
	CHECK_RC(registry_blob_head(NULL, c, "push/bad", actual), REGISTRY_ENOTFOUND);
	/* Both sessions were deleted (the one of the aborted PUT may already be
	 * gone when the DELETE arrives: registry 2.8 then answers 404). */
	CHECK_INT(settled_lines(registry_log(), "\"DELETE /v2/push/bad/blobs/uploads/", NULL, NULL, 2), 2);
	CHECK_INT(count_lines(registry_log(), "\"DELETE /v2/push/bad/blobs/uploads/", "HTTP/1.1\" 204", NULL) >= 1, 1);

	/* Sizes: a source shorter, or longer, than announced. */
	gen g;
	char d[REGISTRY_DIGEST_STRING_MAX];
	gen_digest(7, 1 * MiB, d);
	gen_init(&g, 7, 1 * MiB);
	CHECK_RC(registry_blob_upload(c, "push/bad", d, 1 * MiB + 1, gen_read, gen_rewind, &g, NULL),
	         REGISTRY_EDIGEST);
	CHECK(strstr(registry_error_message(registry_error_last()), "ended after") != NULL);
	gen_init(&g, 7, 2 * MiB);
	CHECK_RC(registry_blob_upload(c, "push/bad", d, 1 * MiB, gen_read, gen_rewind, &g, NULL),
	         REGISTRY_EDIGEST);
	CHECK(strstr(registry_error_message(registry_error_last()), "more than") != NULL);
	CHECK_RC(registry_blob_head(NULL, c, "push/bad", d), REGISTRY_ENOTFOUND);

	/* Bad arguments. */
	CHECK_RC(registry_blob_upload(c, "push/bad", "sha256:nothex", 1, gen_read, NULL, &g, NULL),
	         REGISTRY_EFORMAT);
	CHECK_RC(registry_blob_upload(c, "Push/Bad", d, 1, gen_read, NULL, &g, NULL), REGISTRY_EFORMAT);
	CHECK_RC(registry_blob_upload(c, "push/bad", d, 1, NULL, NULL, &g, NULL), REGISTRY_EINVAL);
	CHECK_RC(registry_blob_upload(c, "push/bad", d, -2, gen_read, NULL, &g, NULL), REGISTRY_EINVAL);
	registry_client_free(c);
}

static void test_upload_cancel(void)
{
	registry_client *c = itest_client(1);
	char d[REGISTRY_DIGEST_STRING_MAX];
	for (int chunked = 0; chunked < 2; chunked++) {
		gen g;
		prog_log pl = {.cancel_on_running = 1};
		CHECK_RC(upload_gen(c, "push/cancel", 8, 16 * MiB, chunked ? (size_t)(4 * MiB) : 0, d, &g, &pl),
		         REGISTRY_ECANCELED);
		CHECK(g.pos < 16 * MiB);
		CHECK_INT(pl.running, 1);
	}
	CHECK_RC(registry_blob_head(NULL, c, "push/cancel", d), REGISTRY_ENOTFOUND);
	CHECK_INT(settled_lines(registry_log(), "\"DELETE /v2/push/cancel/blobs/uploads/", NULL, NULL, 2), 2);
	CHECK_INT(count_lines(registry_log(), "\"DELETE /v2/push/cancel/blobs/uploads/", "HTTP/1.1\" 204", NULL) >= 1, 1);
	registry_client_free(c);
}

static void test_upload_file_and_empty(void)
{
	registry_client *c = itest_client(1);
	char path[1024], d[REGISTRY_DIGEST_STRING_MAX];
	snprintf(path, sizeof(path), "%s/blob.bin", tmpdir());
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	unsigned char *buf = malloc((size_t)(3 * MiB));
	gen_fill(9, 0, buf, (size_t)(3 * MiB));
	fwrite(buf, 1, (size_t)(3 * MiB), f);
	fclose(f);
	free(buf);
	gen_digest(9, 3 * MiB, d);
	prog_log pl = {0};
	CHECK_RC(registry_blob_upload_file(c, "push/file", d, path, UPLOAD_OPTS((size_t)MiB, on_progress, &pl)), 0);
	CHECK_INT(pl.done, 1);
	CHECK_INT(pl.last_done, 3 * MiB);
	check_fetch_back(c, "push/file", d, 3 * MiB);
	CHECK_INT(settled_lines(registry_log(), "\"PATCH /v2/push/file/blobs/uploads/", "HTTP/1.1\" 202", NULL, 3), 3);
	snprintf(path, sizeof(path), "%s/missing.bin", tmpdir());
	CHECK_RC(registry_blob_upload_file(c, "push/file", d, path, NULL), REGISTRY_ENOTFOUND);

	/* The empty blob. */
	char *empty = NULL;
	registry_digest_buffer(&empty, REGISTRY_DIGEST_SHA256, "", 0);
	gen g;
	gen_init(&g, 1, 0);
	CHECK_RC(registry_blob_upload(c, "push/empty", empty, 0, gen_read, NULL, &g, NULL), 0);
	int64_t size = -1;
	CHECK_RC(registry_blob_head(&size, c, "push/empty", empty), 0);
	CHECK_INT(size, 0);
	registry_free(empty);
	registry_client_free(c);
}

/* ---- mount -------------------------------------------------------------------- */

static void test_mount(void)
{
	registry_client *c = itest_client(1);
	char x[REGISTRY_DIGEST_STRING_MAX], y[REGISTRY_DIGEST_STRING_MAX], line[400];
	gen g;
	CHECK_RC(upload_gen(c, "mnt/src", 10, MiB, 0, x, &g, NULL), 0);

	/* 201: mounted, no bytes moved. */
	CHECK_RC(registry_blob_mount(c, "mnt/dst", x, "mnt/src"), 0);
	CHECK_RC(registry_blob_head(NULL, c, "mnt/dst", x), 0);
	snprintf(line, sizeof(line), "\"POST /v2/mnt/dst/blobs/uploads/?mount=%s&from=mnt/src HTTP/1.1\" 201", x);
	CHECK_INT(settled_lines(registry_log(), line, NULL, NULL, 1), 1);
	CHECK_INT(count_lines(registry_log(), "\"PATCH /v2/mnt/dst/", NULL, NULL), 0);
	CHECK_INT(count_lines(registry_log(), "\"PUT /v2/mnt/dst/", NULL, NULL), 0);

	/* 202: the source lacks the blob; the session the registry opened is deleted. */
	gen_digest(11, MiB, y);
	CHECK_RC(registry_blob_mount(c, "mnt/dst2", y, "mnt/src"), REGISTRY_ENOTFOUND);
	snprintf(line, sizeof(line), "\"POST /v2/mnt/dst2/blobs/uploads/?mount=%s&from=mnt/src HTTP/1.1\" 202", y);
	CHECK_INT(settled_lines(registry_log(), line, NULL, NULL, 1), 1);
	CHECK_INT(settled_lines(registry_log(), "\"DELETE /v2/mnt/dst2/blobs/uploads/", "HTTP/1.1\" 204", NULL, 1), 1);
	CHECK_RC(registry_blob_head(NULL, c, "mnt/dst2", y), REGISTRY_ENOTFOUND);
	/* ... and a plain upload works. */
	CHECK_RC(upload_gen(c, "mnt/dst2", 11, MiB, 0, y, &g, NULL), 0);
	check_fetch_back(c, "mnt/dst2", y, MiB);

	/* Token mode: the token asked for covers pull on the source. */
	const char *tlog = getenv("REGISTRY_TEST_TOKEN_LOG");
	if (tlog) {
		CHECK(count_lines(tlog, "repository:mnt/src:pull", "repository:mnt/dst:", NULL) >= 1);
	}
	CHECK_RC(registry_blob_mount(c, "mnt/dst", x, NULL), REGISTRY_EINVAL);
	CHECK_RC(registry_blob_mount(c, "mnt/dst", x, "BAD//name"), REGISTRY_EFORMAT);
	registry_client_free(c);
}

/* ---- push from an OCI layout ------------------------------------------------ */

/* Make a fixture layout with the harness; returns its top digest (caller frees). */
static char *make_fixture(const char *dir, const char *args)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 \"$REGISTRY_TEST_HARNESS\" make-fixture %s/%s %s",
	         tmpdir(), dir, args);
	int status = -1;
	char *out = run_capture(cmd, NULL, &status);
	if (!out || status != 0) {
		fprintf(stderr, "make-fixture failed: %s\n", cmd);
		free(out);
		return NULL;
	}
	char *nl = strpbrk(out, "\r\n");
	if (nl)
		*nl = '\0';
	/* The digest is the last word printed. */
	char *sp = strrchr(out, ' ');
	if (sp)
		memmove(out, sp + 1, strlen(sp + 1) + 1);
	return out;
}

/* make_fixture() into tmpdir()/@dir, opened as a store; *top its digest. */
static registry_store *fixture_store(const char *dir, const char *args, char **top)
{
	*top = make_fixture(dir, args);
	CHECK(*top && registry_digest_validate(*top) == 0);
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", tmpdir(), dir);
	registry_store *s = NULL;
	CHECK_RC(registry_store_open(&s, path, 0), 0);
	return s;
}

static registry_reference *ref_on(const char *host, const char *name)
{
	char text[600];
	snprintf(text, sizeof(text), "%s/%s", host, name);
	registry_reference *r = NULL;
	if (registry_reference_parse(&r, text) != 0) {
		fprintf(stderr, "bad reference %s\n", text);
		exit(1);
	}
	return r;
}

static void test_push_store(void)
{
	const char *host = getenv("REGISTRY_TEST_HOST");
	registry_client *c = itest_client(1);
	char got[REGISTRY_DIGEST_STRING_MAX];

	/* One image, 3 layers of 1 MiB, chunked at 256 KiB. */
	char *top = NULL;
	registry_store *s = fixture_store("single", "--layers 3 --size 1048576 --seed push-single --tag v1 --gzip-level 0", &top);
	registry_reference *target = ref_on(host, "pushed/single:v1");
	registry_push_options o = REGISTRY_PUSH_OPTIONS_INIT;
	prog_log pl = {0};
	o.progress = on_progress;
	o.userdata = &pl;
	o.chunk_size = 256 * 1024;
	char *digest = NULL;
	CHECK_RC(registry_push(&digest, c, s, "v1", target, &o), 0);
	CHECK_STR(digest, top);
	CHECK_INT(pl.blobs_total, 4);
	CHECK_INT(pl.done, 4);
	CHECK_INT(pl.skipped, 0);
	CHECK_INT(pl.blobs_done, 4);
	CHECK(pl.overall_total > 3 * MiB);
	CHECK_INT(pl.overall_done, pl.overall_total);
	CHECK(settled_lines(registry_log(), "\"PATCH /v2/pushed/single/blobs/uploads/", "HTTP/1.1\" 202", NULL, 12) >= 12);
	CHECK_RC(skopeo_raw_digest(host, "pushed/single:v1", got), 0);
	CHECK_STR(got, top);
	CHECK_INT(skopeo_copy_out(host, "pushed/single:v1", "single", 0), 0);
	registry_free(digest);

	/* Again, by digest, to another tag: every blob is there already. */
	prog_log again = {0};
	o.userdata = &again;
	registry_reference *t2 = ref_on(host, "pushed/single:v2");
	CHECK_RC(registry_push(&digest, c, s, top, t2, &o), 0);
	CHECK_STR(digest, top);
	CHECK_INT(again.skipped, 4);
	CHECK_INT(again.done, 0);
	registry_free(digest);
	/* Unknown names, and a target digest that is not the manifest's. */
	CHECK_RC(registry_push(NULL, c, s, "nope", target, NULL), REGISTRY_ENOTFOUND);
	registry_reference *wrong = ref_on(host, "pushed/single@sha256:0123456789012345678901234567890123456789012345678901234567890123");
	CHECK_RC(registry_push(NULL, c, s, "v1", wrong, NULL), REGISTRY_EDIGEST);
	registry_reference_free(wrong);
	registry_reference_free(t2);
	registry_reference_free(target);
	registry_store_free(s);
	free(top);

	/* A two-platform index: children first, then the index, digests unchanged. */
	s = fixture_store("multi", "--layers 2 --size 65536 --seed push-multi --platforms linux/amd64,linux/arm64/v8 --tag multi", &top);
	target = ref_on(host, "pushed/multi:latest");
	CHECK_RC(registry_push(&digest, c, s, "multi", target, NULL), 0);
	CHECK_STR(digest, top);
	CHECK_RC(skopeo_raw_digest(host, "pushed/multi:latest", got), 0);
	CHECK_STR(got, top);
	CHECK_INT(skopeo_copy_out(host, "pushed/multi:latest", "multi", 1), 0);
	registry_manifest *idx = NULL;
	CHECK_RC(registry_manifest_fetch(&idx, c, "pushed/multi", "latest", NULL), 0);
	CHECK_INT(registry_manifest_entry_count(idx), 2);
	for (size_t i = 0; i < registry_manifest_entry_count(idx); i++) {
		const char *child = registry_descriptor_digest(registry_manifest_entry(idx, i));
		char *cd = NULL;
		CHECK_RC(registry_manifest_resolve(&cd, NULL, NULL, c, "pushed/multi", child), 0);
		CHECK_STR(cd, child);
		registry_free(cd);
	}
	registry_manifest_free(idx);
	registry_free(digest);
	registry_reference_free(target);
	registry_store_free(s);
	free(top);
	registry_client_free(c);
}

/* ---- push from a hostile OCI layout (issue 14, local input) ------------------- */

/* The path of blob @digest in the layout at @dir (no store call: it may be a link). */
static void layout_blob_path(char *out, size_t n, const char *dir, const char *digest)
{
	snprintf(out, n, "%s/blobs/sha256/%s", dir, digest + strlen("sha256:"));
}

/* A fresh one-layer fixture at tmpdir()/@name; @dir its path, @layer its layer. */
static char *hostile_fixture(const char *name, char *dir, size_t n, char layer[REGISTRY_DIGEST_STRING_MAX])
{
	char args[200];
	snprintf(args, sizeof(args), "--layers 1 --size 1048576 --seed %s --tag v1 --gzip-level 0", name);
	char *top = NULL;
	registry_store *s = fixture_store(name, args, &top);
	snprintf(dir, n, "%s/%s", tmpdir(), name);
	void *data = NULL;
	size_t len = 0;
	registry_manifest *m = NULL;
	layer[0] = '\0';
	CHECK_RC(registry_store_read_blob(&data, &len, s, top, 1 << 20), 0);
	CHECK_RC(registry_manifest_parse(&m, data, len, NULL, NULL), 0);
	if (m && registry_manifest_layer_count(m) == 1)
		snprintf(layer, REGISTRY_DIGEST_STRING_MAX, "%s", registry_descriptor_digest(registry_manifest_layer(m, 0)));
	CHECK(layer[0] != '\0');
	registry_manifest_free(m);
	registry_free(data);
	registry_store_free(s);
	return top;
}

/* Push tmpdir()/@name's "v1" to @repo:v1; the call's code. */
static int push_layout(registry_client *c, const char *dir, const char *repo)
{
	registry_store *s = NULL;
	int rc = registry_store_open(&s, dir, 0);
	if (rc)
		return rc;
	char ref[300];
	snprintf(ref, sizeof(ref), "%s:v1", repo);
	registry_reference *target = ref_on(getenv("REGISTRY_TEST_HOST"), ref);
	rc = registry_push(NULL, c, s, "v1", target, NULL);
	registry_reference_free(target);
	registry_store_free(s);
	return rc;
}

static int msg_has(const char *needle)
{
	const char *msg = registry_error_message(registry_error_last());
	if (msg && strstr(msg, needle))
		return 1;
	fprintf(stderr, "message \"%s\" lacks \"%s\"\n", msg ? msg : "(null)", needle);
	return 0;
}

/* No request of an upload to @repo reached the registry. */
static int no_upload_to(registry_client *c, const char *repo, const char *digest)
{
	char post[300];
	snprintf(post, sizeof(post), "/v2/%s/blobs/uploads/", repo);
	return registry_blob_head(NULL, c, repo, digest) == REGISTRY_ENOTFOUND &&
	       count_lines(registry_log(), post, NULL, NULL) == 0;
}

static void test_push_layout_hostile(void)
{
	registry_client *c = itest_client(1);
	char dir[1024], blob[1200], moved[1200], layer[REGISTRY_DIGEST_STRING_MAX];
	/* A FIFO anywhere would hang the old code for good: fail instead. */
	alarm(60);

	/* The layer is a symlink to a file outside the layout (with the right
	 * bytes, so only the link gives it away): refused, nothing sent. */
	char *top = hostile_fixture("hostile-link", dir, sizeof(dir), layer);
	layout_blob_path(blob, sizeof(blob), dir, layer);
	snprintf(moved, sizeof(moved), "%s/outside-layer", tmpdir());
	CHECK(rename(blob, moved) == 0 && symlink(moved, blob) == 0);
	CHECK_RC(push_layout(c, dir, "hostile/link"), REGISTRY_EFORMAT);
	CHECK(msg_has("symbolic link"));
	CHECK(no_upload_to(c, "hostile/link", layer));
	free(top);

	/* blobs/sha256 itself a link out of the layout: the same. */
	top = hostile_fixture("hostile-dirlink", dir, sizeof(dir), layer);
	snprintf(blob, sizeof(blob), "%s/blobs/sha256", dir);
	snprintf(moved, sizeof(moved), "%s/outside-sha256", tmpdir());
	CHECK(rename(blob, moved) == 0 && symlink(moved, blob) == 0);
	CHECK_RC(push_layout(c, dir, "hostile/dirlink"), REGISTRY_EFORMAT);
	CHECK(msg_has("symbolic link"));
	CHECK(no_upload_to(c, "hostile/dirlink", layer));
	free(top);

	/* A small layer whose bytes do not match its digest (same size): refused
	 * before its upload starts. */
	top = hostile_fixture("hostile-bad", dir, sizeof(dir), layer);
	layout_blob_path(blob, sizeof(blob), dir, layer);
	chmod(blob, 0644);
	itest_flip_byte(blob, 4096);
	CHECK_RC(push_layout(c, dir, "hostile/bad"), REGISTRY_EDIGEST);
	CHECK(msg_has(layer));
	CHECK(no_upload_to(c, "hostile/bad", layer));
	free(top);

	/* A FIFO as the top manifest, then as index.json: errors, no hang. */
	top = hostile_fixture("hostile-fifo", dir, sizeof(dir), layer);
	layout_blob_path(blob, sizeof(blob), dir, top);
	CHECK(unlink(blob) == 0 && mkfifo(blob, 0644) == 0);
	CHECK_RC(push_layout(c, dir, "hostile/fifo"), REGISTRY_EFORMAT);
	CHECK(msg_has("not a regular file"));
	snprintf(blob, sizeof(blob), "%s/index.json", dir);
	CHECK(unlink(blob) == 0 && mkfifo(blob, 0644) == 0);
	CHECK_RC(push_layout(c, dir, "hostile/fifo"), REGISTRY_EFORMAT);
	CHECK(msg_has("index.json is not a regular file"));
	CHECK(no_upload_to(c, "hostile/fifo", layer));
	free(top);
	alarm(0);
	registry_client_free(c);
}

/* ---- push_archive --------------------------------------------------------------- */

/* A `docker save` of Docker 25+: an OCI layout inside, the old paths as symlinks,
 * and (unlike skopeo's) gzip layers. */
static const char *const newer_docker_archive_py =
	"import gzip, hashlib, io, json, os, sys, tarfile\n"
	"out = sys.argv[1]\n"
	"files = {}\n"
	"def blob(data):\n"
	"    h = hashlib.sha256(data).hexdigest()\n"
	"    files['blobs/sha256/' + h] = data\n"
	"    return h\n"
	"layers, diff_ids = [], []\n"
	"for i in range(2):\n"
	"    raw = io.BytesIO()\n"
	"    with tarfile.open(fileobj=raw, mode='w') as t:\n"
	"        data = os.urandom(200000)\n"
	"        info = tarfile.TarInfo('file%d' % i); info.size = len(data)\n"
	"        t.addfile(info, io.BytesIO(data))\n"
	"    diff_ids.append('sha256:' + hashlib.sha256(raw.getvalue()).hexdigest())\n"
	"    layers.append(blob(gzip.compress(raw.getvalue())))\n"
	"cfg = json.dumps({'architecture': 'amd64', 'os': 'linux', 'config': {},\n"
	"                  'rootfs': {'type': 'layers', 'diff_ids': diff_ids}}).encode()\n"
	"ch = blob(cfg)\n"
	"manifest = [{'Config': 'blobs/sha256/' + ch, 'RepoTags': ['example/newer:v1'],\n"
	"             'Layers': ['layer%d/layer.tar' % i for i in range(2)]},\n"
	"            {'Config': 'blobs/sha256/' + ch, 'RepoTags': ['example/other:v1'], 'Layers': []}]\n"
	"with tarfile.open(out, 'w') as t:\n"
	"    for name, data in files.items():\n"
	"        info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))\n"
	"    for i, h in enumerate(layers):\n"
	"        info = tarfile.TarInfo('layer%d/layer.tar' % i); info.type = tarfile.SYMTYPE\n"
	"        info.linkname = '../blobs/sha256/' + h; t.addfile(info)\n"
	"    m = json.dumps(manifest).encode()\n"
	"    info = tarfile.TarInfo('manifest.json'); info.size = len(m); t.addfile(info, io.BytesIO(m))\n"
	"print(json.dumps({'config': 'sha256:' + ch, 'layers': ['sha256:' + h for h in layers]}))\n";

/* Crafted archives (argv[2]): "dup" holds layer.tar twice (different
 * bytes), "escape" a member ../escaped.tar. */
static const char *const crafted_archive_py =
	"import io, json, sys, tarfile\n"
	"out, mode = sys.argv[1], sys.argv[2]\n"
	"def add(t, name, data):\n"
	"    info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))\n"
	"cfg = json.dumps({'architecture': 'amd64', 'os': 'linux', 'rootfs': {'type': 'layers', 'diff_ids': []}}).encode()\n"
	"with tarfile.open(out, 'w', format=tarfile.GNU_FORMAT) as t:\n"
	"    add(t, 'config.json', cfg)\n"
	"    add(t, 'layer.tar', b'a' * 1024)\n"
	"    add(t, 'layer.tar' if mode == 'dup' else '../escaped.tar', b'b' * 1024)\n"
	"    add(t, 'manifest.json', json.dumps([{'Config': 'config.json', 'RepoTags': ['x/y:v1'],\n"
	"                                        'Layers': ['layer.tar']}]).encode())\n";

static void push_crafted_archive(registry_client *c, const char *mode, const char *needle)
{
	char script[1024], archive[1024], cmd[4096];
	snprintf(script, sizeof(script), "%s/crafted.py", tmpdir());
	snprintf(archive, sizeof(archive), "%s/crafted-%s.tar", tmpdir(), mode);
	FILE *f = fopen(script, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs(crafted_archive_py, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s %s", script, archive, mode);
	CHECK_INT(run_cmd(cmd), 0);
	registry_reference *target = ref_on(getenv("REGISTRY_TEST_HOST"), "crafted/archive:v1");
	CHECK_RC(registry_push_archive(NULL, c, archive, target, NULL), REGISTRY_EFORMAT);
	const char *msg = registry_error_message(registry_error_last());
	CHECK(msg && strstr(msg, needle) != NULL);
	if (msg && !strstr(msg, needle))
		fprintf(stderr, "message: %s\n", msg);
	CHECK_INT(count_lines(registry_log(), "/v2/crafted/archive/", NULL, NULL), 0);
	registry_reference_free(target);
}

static void test_push_archive(void)
{
	const char *host = getenv("REGISTRY_TEST_HOST");
	registry_client *c = itest_client(1);
	char cmd[4096], path[1024];

	/* skopeo writes a docker-archive with uncompressed layers. */
	char *top = make_fixture("arch", "--layers 2 --size 300000 --seed push-archive --tag v1");
	CHECK(top != NULL);
	snprintf(path, sizeof(path), "%s/arch.tar", tmpdir());
	snprintf(cmd, sizeof(cmd), "$REGISTRY_TEST_SKOPEO copy -q oci:%s/arch:v1 docker-archive:%s:example/arch:v1 >&2",
	         tmpdir(), path);
	CHECK_INT(run_cmd(cmd), 0);
	registry_reference *target = ref_on(host, "archived/skopeo:v1");
	prog_log pl = {0};
	registry_push_archive_options o = REGISTRY_PUSH_ARCHIVE_OPTIONS_INIT;
	o.progress = on_progress;
	o.userdata = &pl;
	char *digest = NULL;
	CHECK_RC(registry_push_archive(&digest, c, path, target, &o), 0);
	CHECK(digest && registry_digest_validate(digest) == 0);
	CHECK_INT(pl.blobs_total, 3);
	CHECK_INT(pl.done, 3);
	registry_manifest *m = NULL;
	CHECK_RC(registry_manifest_fetch(&m, c, "archived/skopeo", "v1", NULL), 0);
	CHECK_STR(registry_manifest_media_type(m), REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST);
	CHECK_STR(registry_manifest_digest(m), digest);
	CHECK_INT(registry_manifest_layer_count(m), 2);
	/* Uncompressed layers: .tar, and their digests are the config's diff_ids. */
	const registry_descriptor *cfg = registry_manifest_config(m);
	char cfgpath[1024];
	snprintf(cfgpath, sizeof(cfgpath), "%s/arch/blobs/sha256/%s", tmpdir(),
	         registry_descriptor_digest(cfg) + 7);
	char *cfgjson = check_read_file(cfgpath, NULL);
	CHECK(cfgjson != NULL); /* the config is the fixture's, byte for byte */
	for (size_t i = 0; i < registry_manifest_layer_count(m); i++) {
		const registry_descriptor *l = registry_manifest_layer(m, i);
		CHECK_STR(registry_descriptor_media_type(l), "application/vnd.docker.image.rootfs.diff.tar");
		CHECK(cfgjson && strstr(cfgjson, registry_descriptor_digest(l)) != NULL);
	}
	free(cfgjson);
	CHECK_INT(skopeo_copy_out(host, "archived/skopeo:v1", "archived", 0), 0);
	registry_manifest_free(m);
	registry_free(digest);
	registry_reference_free(target);
	free(top);

	/* The newer layout, two images in the archive: the one tagged like the target. */
	char script[1024], archive2[1024];
	snprintf(script, sizeof(script), "%s/newer.py", tmpdir());
	snprintf(archive2, sizeof(archive2), "%s/newer.tar", tmpdir());
	FILE *f = fopen(script, "w");
	fputs(newer_docker_archive_py, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s", script, archive2);
	int status = -1;
	char *expect = run_capture(cmd, NULL, &status);
	CHECK_INT(status, 0);
	target = ref_on(host, "example/newer:v1");
	CHECK_RC(registry_push_archive(&digest, c, archive2, target, NULL), 0);
	CHECK_RC(registry_manifest_fetch(&m, c, "example/newer", "v1", NULL), 0);
	CHECK_INT(registry_manifest_layer_count(m), 2);
	for (size_t i = 0; i < registry_manifest_layer_count(m); i++) {
		const registry_descriptor *l = registry_manifest_layer(m, i);
		CHECK_STR(registry_descriptor_media_type(l), REGISTRY_MEDIA_TYPE_DOCKER_LAYER);
		CHECK(expect && strstr(expect, registry_descriptor_digest(l)) != NULL);
	}
	CHECK(expect && strstr(expect, registry_descriptor_digest(registry_manifest_config(m))) != NULL);
	CHECK_INT(skopeo_copy_out(host, "example/newer:v1", "newer", 0), 0);
	registry_manifest_free(m);
	registry_free(digest);
	registry_reference_free(target);
	/* Two images and the target names neither. */
	target = ref_on(host, "example/third:v1");
	CHECK_RC(registry_push_archive(NULL, c, archive2, target, NULL), REGISTRY_EINVAL);
	registry_reference_free(target);
	/* Not an archive. */
	target = ref_on(host, "example/newer:v2");
	CHECK_RC(registry_push_archive(NULL, c, script, target, NULL), REGISTRY_EFORMAT);
	registry_reference_free(target);
	free(expect);
	/* One name twice (which would be pushed?), and a name above the root:
	 * refused, saying which, before any request. */
	push_crafted_archive(c, "dup", "member layer.tar more than once");
	push_crafted_archive(c, "escape", "member name escapes the archive: ../escaped.tar");
	registry_client_free(c);
}

/* ---- copy ------------------------------------------------------------------------- */

static registry_client *src_client(void)
{
	const char *host = getenv("REGISTRY_SRC_HOST");
	if (!host) {
		printf("SKIP: needs REGISTRY_SRC_HOST (an outer harness run)\n");
		exit(77);
	}
	registry_client *c = NULL;
	if (registry_client_new(&c, host) != 0)
		exit(1);
	return c;
}

/* The source client's cancel hook during a relayed copy: it must only ever
 * be called on the caller's thread; armed once a blob has started. */
typedef struct src_hook {
	pthread_t caller;
	int calls, wrong_thread, armed;
} src_hook;

static int src_cancel(void *ud)
{
	src_hook *h = ud;
	h->calls++;
	if (!pthread_equal(h->caller, pthread_self()))
		h->wrong_thread++;
	return h->armed;
}

static int arm_on_start(const registry_progress *p, void *ud)
{
	src_hook *h = ud;
	if (registry_progress_state(p) == REGISTRY_PROGRESS_STARTED)
		h->armed = 1;
	return 0;
}

static void test_copy_two(void)
{
	const char *dhost = getenv("REGISTRY_TEST_HOST");
	const char *shost = getenv("REGISTRY_SRC_HOST");
	registry_client *src = src_client(), *dst = itest_client(1);

	/* A Docker manifest list, every platform (only with the flag since 0.2), digests kept. */
	registry_reference *sref = ref_on(shost, "fixtures/multi-v2s2:latest");
	registry_reference *dref = ref_on(dhost, "copied/multi:v1");
	char *sd = NULL, *digest = NULL;
	CHECK_RC(registry_manifest_resolve(&sd, NULL, NULL, src, "fixtures/multi-v2s2", "latest"), 0);
	prog_log pl = {0};
	registry_copy_options o = REGISTRY_COPY_OPTIONS_INIT;
	o.progress = on_progress;
	o.userdata = &pl;
	o.flags = REGISTRY_COPY_ALL_PLATFORMS;
	CHECK_RC(registry_copy(&digest, src, sref, dst, dref, &o), 0);
	CHECK_STR(digest, sd);
	CHECK_INT(pl.blobs_total, 6); /* 2 configs + 2 x 2 layers */
	CHECK_INT(pl.done, 6);
	char got[REGISTRY_DIGEST_STRING_MAX];
	CHECK_RC(skopeo_raw_digest(dhost, "copied/multi:v1", got), 0);
	CHECK_STR(got, sd);
	CHECK_INT(skopeo_copy_out(dhost, "copied/multi:v1", "multi", 1), 0);
	registry_free(digest);

	/* One platform: the target tag names that platform's manifest. */
	registry_manifest *idx = NULL;
	CHECK_RC(registry_manifest_fetch(&idx, src, "fixtures/multi-v2s2", "latest", NULL), 0);
	const registry_descriptor *arm = NULL;
	CHECK_RC(registry_manifest_select_platform(&arm, idx, &(registry_platform){REGISTRY_PLATFORM_VERSION, "linux", "arm64", NULL, NULL, NULL}), 0);
	registry_reference *dref2 = ref_on(dhost, "copied/arm:v1");
	o.flags = 0;
	o.platform = &(registry_platform){REGISTRY_PLATFORM_VERSION, "linux", "arm64", NULL, NULL, NULL};
	prog_log pl2 = {0};
	o.userdata = &pl2;
	CHECK_RC(registry_copy(&digest, src, sref, dst, dref2, &o), 0);
	CHECK_STR(digest, registry_descriptor_digest(arm));
	CHECK_INT(pl2.blobs_total, 3);
	CHECK_RC(skopeo_raw_digest(dhost, "copied/arm:v1", got), 0);
	CHECK_STR(got, registry_descriptor_digest(arm));
	registry_free(digest);
	o.platform = &(registry_platform){REGISTRY_PLATFORM_VERSION, "windows", "s390x", NULL, NULL, NULL};
	CHECK_RC(registry_copy(NULL, src, sref, dst, dref2, &o), REGISTRY_ENOTFOUND);
	o.platform = &(registry_platform){0, "linux", "amd64", NULL, NULL, NULL}; /* no version */
	CHECK_RC(registry_copy(NULL, src, sref, dst, dref2, &o), REGISTRY_EINVAL);
	/* NULL platform: the host's, as pull (0.1 copied every platform). */
	o.platform = NULL;
	const registry_descriptor *host_entry = NULL;
	registry_reference *dref3 = ref_on(dhost, "copied/host:v1");
	if (registry_manifest_select_platform(&host_entry, idx, NULL) == 0) {
		prog_log pl5 = {0};
		o.userdata = &pl5;
		CHECK_RC(registry_copy(&digest, src, sref, dst, dref3, &o), 0);
		CHECK_STR(digest, registry_descriptor_digest(host_entry));
		CHECK_INT(pl5.blobs_total, 3);
		registry_free(digest);
	} else {
		CHECK_RC(registry_copy(NULL, src, sref, dst, dref3, &o), REGISTRY_ENOTFOUND);
	}
	registry_reference_free(dref3);
	registry_manifest_free(idx);
	registry_reference_free(dref2);

	/* Big layers relayed in chunks through the ring buffer. */
	registry_reference *bref = ref_on(shost, "fixtures/big-oci:latest");
	registry_reference *bdst = ref_on(dhost, "copied/big:v1");
	registry_free(sd);
	CHECK_RC(registry_manifest_resolve(&sd, NULL, NULL, src, "fixtures/big-oci", "latest"), 0);
	o.chunk_size = 3 * MiB;
	prog_log pl3 = {0};
	o.userdata = &pl3;
	CHECK_RC(registry_copy(&digest, src, bref, dst, bdst, &o), 0);
	CHECK_STR(digest, sd);
	CHECK_INT(pl3.done, 3);
	CHECK(pl3.running >= 2);
	/* Two 8 MiB layers at 3 MiB: 3 PATCH each. */
	CHECK_INT(settled_lines(registry_log(), "\"PATCH /v2/copied/big/blobs/uploads/", "HTTP/1.1\" 202", NULL, 6), 6);
	CHECK_INT(skopeo_copy_out(dhost, "copied/big:v1", "big", 0), 0);
	registry_free(digest);
	/* Again: nothing moves. */
	prog_log pl4 = {0};
	o.userdata = &pl4;
	CHECK_RC(registry_copy(&digest, src, bref, dst, bdst, &o), 0);
	CHECK_INT(pl4.skipped, 3);
	CHECK_INT(pl4.done, 0);
	registry_free(digest);
	/* The source's cancel hook stops a relay, called on this thread only. */
	src_hook hook = {.caller = pthread_self()};
	CHECK_RC(registry_client_set_cancel(src, src_cancel, &hook), 0);
	registry_reference *cdst = ref_on(dhost, "copied/big-cancel:v1");
	o.progress = arm_on_start;
	o.userdata = &hook;
	CHECK_RC(registry_copy(&digest, src, bref, dst, cdst, &o), REGISTRY_ECANCELED);
	CHECK(hook.calls >= 1);
	CHECK_INT(hook.wrong_thread, 0);
	CHECK_RC(registry_manifest_resolve(NULL, NULL, NULL, dst, "copied/big-cancel", "v1"), REGISTRY_ENOTFOUND);
	CHECK_RC(registry_client_set_cancel(src, NULL, NULL), 0);
	registry_reference_free(cdst);
	registry_free(sd);
	registry_reference_free(bref);
	registry_reference_free(bdst);
	registry_reference_free(sref);
	registry_reference_free(dref);
	registry_client_free(src);
	registry_client_free(dst);
}

static void copy_same_case(registry_client *a, registry_client *b, const char *to, int expect_mounts)
{
	const char *host = getenv("REGISTRY_TEST_HOST");
	registry_reference *sref = ref_on(host, "fixtures/small-v2s2:latest");
	char name[200], pattern[200], got[REGISTRY_DIGEST_STRING_MAX];
	snprintf(name, sizeof(name), "%s:v1", to);
	registry_reference *dref = ref_on(host, name);
	char *sd = NULL, *digest = NULL;
	CHECK_RC(registry_manifest_resolve(&sd, NULL, NULL, a, "fixtures/small-v2s2", "latest"), 0);
	CHECK_RC(registry_copy(&digest, a, sref, b, dref, NULL), 0);
	CHECK_STR(digest, sd);
	snprintf(pattern, sizeof(pattern), "\"POST /v2/%s/blobs/uploads/?mount=", to);
	if (expect_mounts) {
		/* config + 3 layers mounted from the source repository, nothing uploaded */
		CHECK_INT(settled_lines(registry_log(), pattern, "&from=fixtures/small-v2s2 HTTP/1.1\" 201", NULL, 4), 4);
		snprintf(pattern, sizeof(pattern), "\"PATCH /v2/%s/", to);
		CHECK_INT(count_lines(registry_log(), pattern, NULL, NULL), 0);
	}
	CHECK_RC(skopeo_raw_digest(host, name, got), 0);
	CHECK_STR(got, sd);
	CHECK_INT(skopeo_copy_out(host, name, to, 0), 0);
	registry_free(sd);
	registry_free(digest);
	registry_reference_free(sref);
	registry_reference_free(dref);
}

static void test_copy_same(void)
{
	registry_client *c = itest_client(1), *c2 = itest_client(1);
	copy_same_case(c, c, "copied/same-handle", 1);
	copy_same_case(c, c2, "copied/two-handles", 1);
	registry_client_free(c);
	registry_client_free(c2);
}

static registry_client *proxy_client(void)
{
	const char *host = getenv("REGISTRY_TEST_PROXY_HOST");
	if (!host) {
		printf("SKIP: needs tests/proxy/fault_proxy.py in front of the registry\n");
		exit(77);
	}
	registry_client *c = NULL;
	registry_client_new(&c, host);
	registry_client_set_retries(c, &(registry_retry_options){REGISTRY_RETRY_OPTIONS_VERSION, 0, 3, 50, 1000});
	return c;
}

/* The proxy strips mount= and from=: the registry answers 202 and the blob is relayed. */
static void test_copy_nomount(void)
{
	const char *plog = getenv("REGISTRY_TEST_PROXY_LOG");
	const char *host = getenv("REGISTRY_TEST_PROXY_HOST");
	registry_client *c = proxy_client(), *c2 = proxy_client();
	registry_reference *sref = ref_on(host, "fixtures/small-v2s2:latest");
	char *sd = NULL, *digest = NULL;
	CHECK_RC(registry_manifest_resolve(&sd, NULL, NULL, c, "fixtures/small-v2s2", "latest"), 0);

	/* One handle: ranged GETs fill each chunk, PATCH sends it. */
	registry_reference *dref = ref_on(host, "copied/ranged:v1");
	registry_copy_options o = REGISTRY_COPY_OPTIONS_INIT;
	o.chunk_size = 40000; /* 64 KiB layers: two chunks each */
	CHECK_RC(registry_copy(&digest, c, sref, c, dref, &o), 0);
	CHECK_STR(digest, sd);
	registry_free(digest);
	CHECK(settled_lines(plog, "\"method\": \"GET\"", "/v2/fixtures/small-v2s2/blobs/", "\"Range\": \"bytes=", 6) >= 6);
	CHECK(settled_lines(plog, "\"method\": \"PATCH\"", "/v2/copied/ranged/blobs/uploads/", NULL, 6) >= 6);
	CHECK(settled_lines(plog, "\"method\": \"POST\"", "/v2/copied/ranged/blobs/uploads/?mount=", NULL, 4) >= 4);

	/* Two handles: the session the mount attempt opened takes the relayed bytes. */
	registry_reference *dref2 = ref_on(host, "copied/piped:v1");
	CHECK_RC(registry_copy(&digest, c, sref, c2, dref2, NULL), 0);
	CHECK_STR(digest, sd);
	int posts = settled_lines(plog, "\"method\": \"POST\"", "/v2/copied/piped/blobs/uploads/", NULL, 4);
	CHECK_INT(posts, 4); /* one per blob: no second session after the refused mount */
	char *cd = NULL;
	CHECK_RC(registry_manifest_resolve(&cd, NULL, NULL, c, "copied/piped", "v1"), 0);
	CHECK_STR(cd, sd);
	registry_free(cd);
	registry_free(digest);
	registry_free(sd);
	registry_reference_free(sref);
	registry_reference_free(dref);
	registry_reference_free(dref2);
	registry_client_free(c);
	registry_client_free(c2);
}

/* ---- faults --------------------------------------------------------------------------- */

static void test_fault_patch(void)
{
	const char *plog = getenv("REGISTRY_TEST_PROXY_LOG");
	registry_client *c = proxy_client();
	char d[REGISTRY_DIGEST_STRING_MAX];
	gen g;
	CHECK_RC(upload_gen(c, "fault/patch", 20, 12 * MiB, (size_t)(5 * MiB), d, &g, NULL), 0);
	CHECK_INT(g.rewinds, 0);
	/* 3 chunks accepted + the injected 503, then one status GET in between. */
	CHECK_INT(settled_lines(plog, "\"method\": \"PATCH\"", "\"fault\": \"status 503\"", NULL, 1), 1);
	CHECK_INT(settled_lines(plog, "\"method\": \"PATCH\"", "\"status\": 202", NULL, 3), 3);
	CHECK_INT(settled_lines(plog, "\"method\": \"GET\"", "/v2/fault/patch/blobs/uploads/", "\"status\": 204", 1), 1);
	CHECK_INT(settled_lines(plog, "\"method\": \"POST\"", "/v2/fault/patch/blobs/uploads/", NULL, 1), 1);
	registry_client *direct = itest_client(1);
	check_fetch_back(direct, "fault/patch", d, 12 * MiB);
	registry_client_free(direct);
	registry_client_free(c);
}

static void test_fault_lost(void)
{
	const char *plog = getenv("REGISTRY_TEST_PROXY_LOG");
	registry_client *c = proxy_client();
	char d[REGISTRY_DIGEST_STRING_MAX];
	gen g;
	CHECK_RC(upload_gen(c, "fault/lost", 21, 12 * MiB, (size_t)(5 * MiB), d, &g, NULL), 0);
	/* The registry took the first chunk but we never heard: the status GET
	 * carries stale state, registry 2.8 drops the session, we start over. */
	CHECK_INT(settled_lines(plog, "\"method\": \"PATCH\"", "after forwarding", NULL, 1), 1);
	CHECK_INT(settled_lines(plog, "\"method\": \"POST\"", "/v2/fault/lost/blobs/uploads/", NULL, 2), 2);
	registry_client *direct = itest_client(1);
	check_fetch_back(direct, "fault/lost", d, 12 * MiB);
	registry_client_free(direct);
	registry_client_free(c);
}

static void test_fault_put(void)
{
	const char *plog = getenv("REGISTRY_TEST_PROXY_LOG");
	registry_client *c = proxy_client();
	char d[REGISTRY_DIGEST_STRING_MAX];
	gen g;
	prog_log pl = {0};
	CHECK_RC(upload_gen(c, "fault/put", 22, 8 * MiB, 0, d, &g, &pl), 0);
	CHECK_INT(g.rewinds, 1); /* the PUT went again, from byte 0, hashed once */
	CHECK_INT(pl.done, 1);
	CHECK_INT(pl.last_done, 8 * MiB);
	CHECK_INT(settled_lines(plog, "\"method\": \"PUT\"", "\"fault\": \"status 503\"", NULL, 1), 1);
	CHECK_INT(settled_lines(plog, "\"method\": \"PUT\"", "\"status\": 201", NULL, 1), 1);
	registry_client *direct = itest_client(1);
	check_fetch_back(direct, "fault/put", d, 8 * MiB);
	registry_client_free(direct);
	registry_client_free(c);
}

/* ---- upload lanes --------------------------------------------------------------------- */

/* Pairs of upload sessions of @repo whose PATCH..PUT spans overlap in the
 * proxy's log (each line: "time" when answered, the path with the session). */
static int overlapping_sessions(const char *plog, const char *repo)
{
	struct span { char id[80]; double from, to; } spans[64];
	size_t n = 0, len = 0;
	char *text = check_read_file(plog, &len);
	if (!text)
		return -1;
	char prefix[300];
	snprintf(prefix, sizeof(prefix), "/v2/%s/blobs/uploads/", repo);
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *t = strstr(line, "\"time\": ");
		const char *u = strstr(line, prefix);
		if (!t || !u || (!strstr(line, "\"method\": \"PATCH\"") && !strstr(line, "\"method\": \"PUT\"")))
			continue;
		double at = strtod(t + 8, NULL);
		u += strlen(prefix);
		char id[80];
		size_t k = strcspn(u, "?\"");
		if (k == 0 || k >= sizeof(id))
			continue;
		memcpy(id, u, k);
		id[k] = '\0';
		size_t i = 0;
		while (i < n && strcmp(spans[i].id, id) != 0)
			i++;
		if (i == n) {
			if (n == sizeof(spans) / sizeof(spans[0]))
				continue;
			snprintf(spans[n].id, sizeof(spans[n].id), "%s", id);
			spans[n].from = at;
			n++;
		}
		spans[i].to = at;
	}
	free(text);
	int pairs = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (spans[i].from < spans[j].to && spans[j].from < spans[i].to)
				pairs++;
	return pairs;
}

static int push_logged(registry_client *c, registry_store *s, const char *name, prog_log *pl,
                       char **digest)
{
	registry_reference *target = ref_on(getenv("REGISTRY_TEST_PROXY_HOST"), name);
	registry_push_options o = REGISTRY_PUSH_OPTIONS_INIT;
	o.progress = on_progress;
	o.userdata = pl;
	o.chunk_size = 512 * 1024;
	pl->caller = pthread_self();
	pl->check_thread = 1;
	int rc = registry_push(digest, c, s, "v1", target, &o);
	registry_reference_free(target);
	return rc;
}

static void test_push_lanes(void)
{
	const char *plog = getenv("REGISTRY_TEST_PROXY_LOG");
	const char *host = getenv("REGISTRY_TEST_HOST"); /* skopeo straight to the registry */
	char got[REGISTRY_DIGEST_STRING_MAX];
	char *top = NULL;
	registry_store *s = fixture_store("lanes", "--layers 6 --size 2097152 --seed push-lanes --tag v1 --gzip-level 0", &top);

	/* Four lanes (the default): sessions overlap on the registry, every
	 * callback on this thread, counts never go back, one token for all. */
	registry_client *c = proxy_client();
	if (getenv("REGISTRY_TEST_USER"))
		registry_client_set_credentials(c, getenv("REGISTRY_TEST_USER"), getenv("REGISTRY_TEST_PASSWORD"));
	prog_log pl = {0};
	char *digest = NULL;
	/* Tokens are counted in the token server's log (lanes do not trace). */
	const char *tlog = getenv("REGISTRY_TEST_TOKEN_LOG");
	int tokens_before = tlog ? count_lines(tlog, "repository:lanes/par:", NULL, NULL) : 0;
	CHECK_RC(push_logged(c, s, "lanes/par:v1", &pl, &digest), 0);
	CHECK_STR(digest, top);
	registry_free(digest);
	CHECK_INT(pl.blobs_total, 7);
	CHECK_INT(pl.done, 7);
	CHECK_INT(pl.blobs_done, 7);
	CHECK_INT(pl.overall_done, pl.overall_total);
	CHECK(pl.overall_total > 12 * MiB);
	CHECK_INT(pl.wrong_thread, 0);
	CHECK_INT(pl.backwards, 0);
	CHECK(pl.max_in_flight >= 2);
	CHECK(overlapping_sessions(plog, "lanes/par") >= 1);
	if (registry_client_auth_scheme(c) == REGISTRY_AUTH_BEARER && tlog)
		CHECK_INT(count_lines(tlog, "repository:lanes/par:", NULL, NULL) - tokens_before, 1);
	CHECK_RC(skopeo_raw_digest(host, "lanes/par:v1", got), 0);
	CHECK_STR(got, top);
	CHECK_INT(skopeo_copy_out(host, "lanes/par:v1", "lanes-par", 0), 0);
	registry_client_free(c);

	/* The control: one lane, one session at a time. */
	c = proxy_client();
	if (getenv("REGISTRY_TEST_USER"))
		registry_client_set_credentials(c, getenv("REGISTRY_TEST_USER"), getenv("REGISTRY_TEST_PASSWORD"));
	CHECK_RC(registry_client_set_max_parallel(c, 1), 0);
	prog_log seq = {0};
	CHECK_RC(push_logged(c, s, "lanes/seq:v1", &seq, &digest), 0);
	CHECK_STR(digest, top);
	registry_free(digest);
	CHECK_INT(seq.done, 7);
	CHECK_INT(seq.max_in_flight, 1);
	CHECK_INT(overlapping_sessions(plog, "lanes/seq"), 0);

	/* A cancel from the progress callback stops every lane: no call after it. */
	prog_log cl = {.cancel_on_running = 1};
	CHECK_RC(registry_client_set_max_parallel(c, 4), 0);
	CHECK_RC(push_logged(c, s, "lanes/cancel:v1", &cl, &digest), REGISTRY_ECANCELED);
	CHECK(digest == NULL);
	CHECK_INT(cl.canceled, 1);
	CHECK_INT(cl.after_cancel, 0);
	CHECK(cl.done < 7);
	CHECK_RC(registry_manifest_resolve(NULL, NULL, NULL, c, "lanes/cancel", "v1"), REGISTRY_ENOTFOUND);

	/* One blob changed on disk: its lane fails before the registry gets the
	 * last byte, the others stop, the error is that blob's. */
	const registry_descriptor *d = NULL;
	registry_manifest *m = NULL;
	void *data = NULL;
	size_t len = 0;
	CHECK_RC(registry_store_read_blob(&data, &len, s, top, 1 << 20), 0);
	CHECK_RC(registry_manifest_parse(&m, data, len, NULL, NULL), 0);
	registry_free(data);
	d = m ? registry_manifest_layer(m, 2) : NULL;
	CHECK(d != NULL);
	char *bad = NULL;
	CHECK_RC(registry_store_blob_path(&bad, s, registry_descriptor_digest(d)), 0);
	if (bad) {
		chmod(bad, 0644);
		FILE *f = fopen(bad, "r+");
		CHECK(f != NULL);
		if (f) {
			fseek(f, 1000, SEEK_SET);
			int ch = fgetc(f);
			fseek(f, 1000, SEEK_SET);
			fputc(ch ^ 0x55, f);
			fclose(f);
		}
	}
	prog_log bl = {0};
	CHECK_RC(push_logged(c, s, "lanes/bad:v1", &bl, &digest), REGISTRY_EDIGEST);
	const char *msg = registry_error_message(registry_error_last());
	CHECK(msg && d && strstr(msg, registry_descriptor_digest(d)) != NULL);
	CHECK_INT(bl.wrong_thread, 0);
	CHECK_INT(bl.failed >= 1, 1);
	CHECK_RC(registry_blob_head(NULL, c, "lanes/bad", registry_descriptor_digest(d)), REGISTRY_ENOTFOUND);
	CHECK_RC(registry_manifest_resolve(NULL, NULL, NULL, c, "lanes/bad", "v1"), REGISTRY_ENOTFOUND);
	registry_free(bad);
	registry_manifest_free(m);
	registry_client_free(c);
	registry_store_free(s);
	free(top);
}

int main(int argc, char **argv)
{
	itest_require_harness();
	const char *which = argc > 1 ? argv[1] : "";
	if (strcmp(which, "upload") == 0) {
		RUN(test_upload_monolithic);
		RUN(test_upload_chunked);
		RUN(test_upload_wrong);
		RUN(test_upload_cancel);
		RUN(test_upload_file_and_empty);
	} else if (strcmp(which, "mount") == 0) {
		RUN(test_mount);
	} else if (strcmp(which, "store") == 0) {
		RUN(test_push_store);
	} else if (strcmp(which, "layout-hostile") == 0) {
		RUN(test_push_layout_hostile);
	} else if (strcmp(which, "archive") == 0) {
		RUN(test_push_archive);
	} else if (strcmp(which, "copy-two") == 0) {
		RUN(test_copy_two);
	} else if (strcmp(which, "copy-same") == 0) {
		RUN(test_copy_same);
	} else if (strcmp(which, "copy-nomount") == 0) {
		RUN(test_copy_nomount);
	} else if (strcmp(which, "fault-patch") == 0) {
		RUN(test_fault_patch);
	} else if (strcmp(which, "fault-lost") == 0) {
		RUN(test_fault_lost);
	} else if (strcmp(which, "fault-put") == 0) {
		RUN(test_fault_put);
	} else if (strcmp(which, "lanes") == 0) {
		RUN(test_push_lanes);
	} else {
		fprintf(stderr, "usage: itest-push CASE (see the source)\n");
		return 2;
	}
	return CHECK_DONE();
}

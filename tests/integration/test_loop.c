/*
 * Pulls on the caller's event loop (include/registry/loop.h), against the
 * real registry: a poll(2) loop drives registry_loop through its socket and
 * timer callbacks; the results are compared with the blocking pull's
 * (digests, index entries, error codes), the process must keep one thread
 * during 16 concurrent pulls, and a cancel mid-transfer leaves nothing half
 * committed (the pull then resumes).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/file.h>
#include <time.h>

#include "itest.h"

/* ---- a poll(2) loop: the smallest glue -------------------------------------- */

#define MAX_FDS 256

typedef struct pl {
	struct pollfd fds[MAX_FDS];
	int nfds;
	long long timer_due_ms; /* -1: none */
	int max_threads;
	long long max_gap_ms; /* longest time the loop did not come back to poll */
	long long hist[6]; /* steps under 1, 2, 5, 10, 50 ms and longer */
	int eventfds;      /* eventfds the loop was asked to watch (AIO fsyncs) */
} pl;

static long long now_us_t(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void note_step(pl *p, long long us)
{
	static const long long bounds[] = {1000, 2000, 5000, 10000, 50000};
	int i = 0;
	while (i < 5 && us >= bounds[i])
		i++;
	p->hist[i]++;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int pl_socket(int fd, unsigned int events, void *ud)
{
	pl *p = ud;
	int i = 0;
	while (i < p->nfds && p->fds[i].fd != fd)
		i++;
	if (!events) {
		if (i < p->nfds)
			p->fds[i] = p->fds[--p->nfds];
		return 0;
	}
	if (i == p->nfds) {
		if (p->nfds == MAX_FDS)
			return -1;
		p->nfds++;
		char link[64], target[64] = "";
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n > 0 && strncmp(target, "anon_inode:[eventfd]", (size_t)n) == 0)
			p->eventfds++;
	}
	p->fds[i].fd = fd;
	p->fds[i].events = (short)(((events & REGISTRY_LOOP_READ) ? POLLIN : 0) |
	                           ((events & REGISTRY_LOOP_WRITE) ? POLLOUT : 0));
	return 0;
}

static int pl_timer(long ms, void *ud)
{
	pl *p = ud;
	p->timer_due_ms = ms < 0 ? -1 : now_ms() + ms;
	return 0;
}

/* Entries of the folder @path (0 when it cannot be read). */
static int dir_entries(const char *path)
{
	DIR *d = opendir(path);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static int threads_now(void)
{
	return dir_entries("/proc/self/task");
}

static registry_loop *pl_new(pl *p)
{
	memset(p, 0, sizeof(*p));
	p->timer_due_ms = -1;
	registry_loop_options o = REGISTRY_LOOP_OPTIONS_INIT;
	o.socket_cb = pl_socket;
	o.timer_cb = pl_timer;
	o.userdata = p;
	registry_loop *L = NULL;
	CHECK_RC(registry_loop_new(&L, &o), 0);
	return L;
}

/* Run until no operation is pending (or @stop_after_ms). */
static void pl_run(pl *p, registry_loop *L, long long stop_after_ms)
{
	long long end = stop_after_ms > 0 ? now_ms() + stop_after_ms : -1;
	while (registry_loop_pending(L) > 0 && (end < 0 || now_ms() < end)) {
		int t = threads_now();
		if (t > p->max_threads)
			p->max_threads = t;
		long long wait = p->timer_due_ms < 0 ? 1000 : p->timer_due_ms - now_ms();
		if (wait < 0)
			wait = 0;
		struct pollfd fds[MAX_FDS];
		int n = p->nfds;
		memcpy(fds, p->fds, sizeof(fds[0]) * (size_t)n);
		poll(fds, (nfds_t)n, (int)wait);
		long long woke = now_ms();
		for (int i = 0; i < n; i++) {
			unsigned int ev = ((fds[i].revents & POLLIN) ? REGISTRY_LOOP_READ : 0) |
			                  ((fds[i].revents & POLLOUT) ? REGISTRY_LOOP_WRITE : 0) |
			                  ((fds[i].revents & (POLLERR | POLLHUP)) ? REGISTRY_LOOP_ERROR : 0);
			if (ev) {
				long long t0 = now_us_t();
				registry_loop_socket_action(L, fds[i].fd, ev);
				note_step(p, now_us_t() - t0);
			}
		}
		if (p->timer_due_ms >= 0 && now_ms() >= p->timer_due_ms) {
			p->timer_due_ms = -1;
			long long t0 = now_us_t();
			registry_loop_timeout(L);
			note_step(p, now_us_t() - t0);
		}
		long long gap = now_ms() - woke;
		if (gap > p->max_gap_ms)
			p->max_gap_ms = gap;
	}
}

/* ---- helpers ------------------------------------------------------------------ */

typedef struct result {
	int rc;
	int called;
	int code; /* of registry_op_error() */
	char message[512];
} result;

static void on_done(registry_op *op, int rc, void *ud)
{
	result *r = ud;
	r->rc = rc;
	r->called++;
	r->code = registry_error_code(registry_op_error(op));
	snprintf(r->message, sizeof(r->message), "%s", registry_error_message(registry_op_error(op)));
	/* The thread's record is the operation's during the callback. */
	CHECK_INT(registry_error_code(registry_error_last()), rc);
}

static registry_reference *ref_of(const char *path)
{
	char text[512];
	snprintf(text, sizeof(text), "%s/%s", getenv("REGISTRY_TEST_HOST"), path);
	registry_reference *r = NULL;
	CHECK_RC(registry_reference_parse(&r, text), 0);
	return r;
}

/* LOOP_STORE_DIR (e.g. on tmpfs) separates the loop's own step times from
 * the disk's fsync latency. */
static registry_store *store_named(const char *fmt, int i)
{
	char name[128];
	snprintf(name, sizeof(name), fmt, i);
	if (!getenv("LOOP_STORE_DIR"))
		return itest_store(name);
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", getenv("LOOP_STORE_DIR"), name);
	registry_store *s = NULL;
	CHECK_RC(registry_store_open(&s, path, REGISTRY_STORE_CREATE), 0);
	return s;
}

/* The index entry @name of @s: its digest (static buffer). */
static const char *entry_digest(registry_store *s, const char *name)
{
	const registry_descriptor *d = NULL;
	if (registry_store_index_find(&d, s, name) != 0)
		return NULL;
	static char buf[200];
	snprintf(buf, sizeof(buf), "%s", registry_descriptor_digest(d));
	return buf;
}

/* Run the loop until @n operations end; each must end once with 0 and the
 * result digest @want (@what names them in messages). */
static void run_expect(pl *p, registry_loop *L, registry_op **ops, const result *res, int n, const char *want,
                       const char *what)
{
	pl_run(p, L, 120000);
	CHECK_INT(registry_loop_pending(L), 0);
	for (int i = 0; i < n; i++) {
		CHECK_INT(res[i].called, 1);
		CHECK_INT(res[i].rc, 0);
		if (res[i].rc)
			fprintf(stderr, "%s %d: %s\n", what, i, res[i].message);
		char *got = NULL;
		CHECK_RC(registry_op_result_digest(&got, ops[i]), 0);
		CHECK_STR(got, want);
		registry_free(got);
	}
}

/* The image at @path pulled back with the blocking pull (pull @flags): @want,
 * a sound store. */
static void pull_back_as(registry_client *c, const char *path, const char *want, unsigned int flags)
{
	registry_reference *back = ref_of(path);
	registry_store *pulled = itest_store("pulled-back");
	registry_pull_options o = REGISTRY_PULL_OPTIONS_INIT;
	o.flags = flags;
	char *got = NULL;
	CHECK_RC(registry_pull(&got, c, back, pulled, path, &o), 0);
	CHECK_STR(got, want);
	itest_check_sound(pulled);
	registry_free(got);
	registry_store_free(pulled);
	registry_reference_free(back);
}

static void pull_back(registry_client *c, const char *path, const char *want)
{
	pull_back_as(c, path, want, 0);
}

/* ---- cases ---------------------------------------------------------------------- */

#define NPULL 16

/* 16 concurrent pulls of one image into 16 stores on one thread: the same
 * digest and entry as the blocking pull, one thread throughout. */
static void case_pull(void)
{
	const char *path = env_or("LOOP_IMAGE", "fixtures/small-v2s2:latest");
	registry_client *c = itest_client(1);
	registry_reference *ref = ref_of(path);
	registry_store *blocking = itest_store("blocking");
	char *want = NULL;
	CHECK_RC(registry_pull(&want, c, ref, blocking, "x", NULL), 0);
	registry_client_free(c);
	c = itest_client(1); /* a fresh client: the loop finds the scheme and the token itself */

	pl p;
	registry_loop *L = pl_new(&p);
	registry_store *stores[NPULL];
	registry_op *ops[NPULL];
	result res[NPULL];
	memset(res, 0, sizeof(res));
	int base_threads = threads_now();
	/* With token auth: the 16 pulls' first requests all meet the same 401
	 * at once; one token request for the scope serves them all. */
	const char *token_log = getenv("REGISTRY_TEST_TOKEN_LOG");
	int tokens_before = token_log ? itest_count_log_lines(token_log, NULL) : 0;
	for (int i = 0; i < NPULL; i++) {
		stores[i] = store_named("loop-%d", i);
		CHECK_RC(registry_pull_start(&ops[i], L, c, ref, stores[i], "x", NULL, on_done, &res[i]), 0);
	}
	run_expect(&p, L, ops, res, NPULL, want, "pull");
	if (token_log) {
		int fetched = itest_count_log_lines(token_log, NULL) - tokens_before;
		printf("loop: %d pulls, %d token request(s)\n", NPULL, fetched);
		CHECK_INT(fetched, 1);
	}
	for (int i = 0; i < NPULL; i++) {
		CHECK_STR(entry_digest(stores[i], "x"), want);
		itest_check_sound(stores[i]);
		registry_op_free(ops[i]);
		registry_store_free(stores[i]);
	}
	CHECK_INT(base_threads, 1);
	CHECK_INT(p.max_threads, 1);
	uint64_t steps = 0;
	int64_t max_us = 0;
	CHECK_RC(registry_loop_step_stats(&steps, &max_us, L), 0);
	printf("loop: %d pulls of %s, %llu steps, longest step %.2f ms, longest loop gap %lld ms, "
	       "max threads %d\n", NPULL, path, (unsigned long long)steps, (double)max_us / 1000.0, p.max_gap_ms,
	       p.max_threads);
	CHECK(steps > 0);
	/* The blobs' fsyncs went to the kernel (AIO), signalled on an eventfd,
	 * not run inside the steps. */
	CHECK(p.eventfds > 0);
	printf("loop: step distribution: <1ms %lld, <2ms %lld, <5ms %lld, <10ms %lld, <50ms %lld, "
	       ">=50ms %lld\n", p.hist[0], p.hist[1], p.hist[2], p.hist[3], p.hist[4], p.hist[5]);

	/* Again into the first blocking store: every blob is there, nothing fetched. */
	result again = {0};
	registry_op *op = NULL;
	CHECK_RC(registry_pull_start(&op, L, c, ref, blocking, "again", NULL, on_done, &again), 0);
	pl_run(&p, L, 60000);
	CHECK_INT(again.rc, 0);
	CHECK_STR(entry_digest(blocking, "again"), want);
	registry_op_free(op);

	registry_loop_free(L);
	registry_free(want);
	registry_store_free(blocking);
	registry_reference_free(ref);
	registry_client_free(c);
}

/* The errors of the blocking call: a missing tag, bad credentials. */
static void case_errors(void)
{
	registry_client *c = itest_client(1);
	registry_reference *ref = ref_of("fixtures/small-v2s2:no-such-tag");
	registry_store *s = itest_store("errors");
	int want = registry_pull(NULL, c, ref, s, NULL, NULL);
	CHECK(want != 0);
	char want_msg[512];
	snprintf(want_msg, sizeof(want_msg), "%s", registry_error_message(registry_error_last()));

	pl p;
	registry_loop *L = pl_new(&p);
	result r = {0};
	registry_op *op = NULL;
	CHECK_RC(registry_pull_start(&op, L, c, ref, s, NULL, NULL, on_done, &r), 0);
	pl_run(&p, L, 60000);
	CHECK_INT(r.rc, want);
	CHECK_INT(r.code, want);
	CHECK_STR(r.message, want_msg);
	char *d = NULL;
	CHECK(registry_op_result_digest(&d, op) == REGISTRY_EINVAL);
	registry_op_free(op);

	/* Options of a version this library does not know are refused. */
	registry_pull_options newer = REGISTRY_PULL_OPTIONS_INIT;
	newer.version = REGISTRY_PULL_OPTIONS_VERSION + 1;
	result rn = {0};
	op = NULL;
	CHECK(registry_pull_start(&op, L, c, ref, s, NULL, &newer, on_done, &rn) != 0);
	CHECK(op == NULL);
	CHECK_INT(rn.called, 0);

	/* A signature policy (options version 2) applies: "reject" ends the
	 * pull as registry_pull ends (case_policy has the rest); a pull to a
	 * destination, opened before any verdict, refuses one. */
	registry_policy *policy = NULL;
	CHECK_RC(registry_policy_load_from_memory(&policy, "{\"default\":[{\"type\":\"reject\"}]}", 31, NULL), 0);
	registry_pull_options gated = REGISTRY_PULL_OPTIONS_INIT;
	gated.policy = policy;
	CHECK_RC(registry_pull(NULL, c, ref, s, NULL, &gated), REGISTRY_EDENIED);
	snprintf(want_msg, sizeof(want_msg), "%s", registry_error_message(registry_error_last()));
	result rg = {0};
	CHECK_RC(registry_pull_start(&op, L, c, ref, s, NULL, &gated, on_done, &rg), 0);
	pl_run(&p, L, 60000);
	CHECK_INT(rg.rc, REGISTRY_EDENIED);
	CHECK_STR(rg.message, want_msg);
	registry_op_free(op);
	op = NULL;
	/* A pull to a destination with that policy: refused as registry_pull_to
	 * refuses, its destination never touched (opened only once accepted);
	 * with a policy that accepts, the blocking pull_to's digest. */
	char pt[1024], bt[1024];
	snprintf(pt, sizeof(pt), "%s/errors-pull-to", getenv("REGISTRY_TEST_TMPDIR"));
	for (int format = REGISTRY_IMAGE_FORMAT_OCI; format <= REGISTRY_IMAGE_FORMAT_ROOTFS; format += 3) {
		result rt = {0};
		CHECK_RC(registry_pull_to_start(&op, L, c, ref, pt, format, &gated, on_done, &rt), 0);
		pl_run(&p, L, 60000);
		CHECK_INT(rt.rc, REGISTRY_EDENIED);
		CHECK_STR(rt.message, want_msg);
		CHECK(access(pt, F_OK) != 0);
		registry_op_free(op);
		op = NULL;
	}
	registry_policy *accept = NULL;
	CHECK_RC(registry_policy_load_from_memory(&accept, "{\"default\":[{\"type\":\"insecureAcceptAnything\"}]}",
	                                          48, NULL), 0);
	registry_pull_options open_gate = REGISTRY_PULL_OPTIONS_INIT;
	open_gate.policy = accept;
	snprintf(bt, sizeof(bt), "%s/errors-pull-to-blocking", getenv("REGISTRY_TEST_TMPDIR"));
	char *want_to = NULL, *got_to = NULL;
	registry_reference *good_ref = ref_of("fixtures/small-v2s2:latest");
	CHECK_RC(registry_pull_to(&want_to, c, good_ref, bt, REGISTRY_IMAGE_FORMAT_OCI, &open_gate), 0);
	result ra = {0};
	CHECK_RC(registry_pull_to_start(&op, L, c, good_ref, pt, REGISTRY_IMAGE_FORMAT_OCI, &open_gate, on_done, &ra),
	         0);
	pl_run(&p, L, 60000);
	CHECK_INT(ra.rc, 0);
	if (!ra.rc)
		CHECK_RC(registry_op_result_digest(&got_to, op), 0);
	CHECK_STR(got_to, want_to);
	registry_free(want_to);
	registry_free(got_to);
	registry_op_free(op);
	op = NULL;
	registry_reference_free(good_ref);
	registry_policy_free(accept);
	registry_policy_free(policy);

	if (getenv("REGISTRY_TEST_USER")) {
		registry_client *bad = itest_client(0);
		registry_client_set_credentials(bad, getenv("REGISTRY_TEST_USER"), "wrong-password");
		registry_reference *good = ref_of("fixtures/small-v2s2:latest");
		int want_auth = registry_pull(NULL, bad, good, s, NULL, NULL);
		CHECK(want_auth != 0);
		registry_client_free(bad);
		bad = itest_client(0);
		registry_client_set_credentials(bad, getenv("REGISTRY_TEST_USER"), "wrong-password");
		result ra = {0};
		CHECK_RC(registry_pull_start(&op, L, bad, good, s, NULL, NULL, on_done, &ra), 0);
		pl_run(&p, L, 60000);
		CHECK_INT(ra.rc, want_auth);
		registry_op_free(op);
		registry_client_free(bad);
		registry_reference_free(good);
	}
	registry_loop_free(L);
	registry_store_free(s);
	registry_reference_free(ref);
	registry_client_free(c);
}

typedef struct cancel_ctx {
	registry_op *op;
	int64_t seen;
} cancel_ctx;

/* Cancel as soon as a blob has bytes in (the proxy then stalls it). */
static int cancel_on_bytes(const registry_progress *pr, void *ud)
{
	cancel_ctx *cc = ud;
	if (registry_progress_state(pr) == REGISTRY_PROGRESS_RUNNING && registry_progress_bytes_done(pr) > 0) {
		cc->seen = registry_progress_bytes_done(pr);
		registry_op_cancel(cc->op); /* from inside a step: completes at its end */
	}
	return 0;
}

/* Cancel mid-transfer (at the first bytes of an 8 MiB layer): REGISTRY_ECANCELED,
 * no index entry, no blob half committed; the next pull resumes and completes. */
static void case_cancel(void)
{
	registry_client *c = itest_client(1);
	registry_reference *ref = ref_of("fixtures/big-oci:latest");
	registry_store *s = itest_store("cancel");
	pl p;
	registry_loop *L = pl_new(&p);
	cancel_ctx cc = {0};
	registry_pull_options o = REGISTRY_PULL_OPTIONS_INIT;
	o.progress = cancel_on_bytes;
	o.userdata = &cc;
	result r = {0};
	CHECK_RC(registry_pull_start(&cc.op, L, c, ref, s, "x", &o, on_done, &r), 0);
	pl_run(&p, L, 60000);
	CHECK_INT(r.called, 1);
	CHECK_INT(r.rc, REGISTRY_ECANCELED);
	CHECK(cc.seen > 0);
	CHECK(entry_digest(s, "x") == NULL);
	itest_check_sound(s);
	registry_op_free(cc.op);

	/* The next pull resumes the kept partial and completes. */
	result r2 = {0};
	registry_op *op = NULL;
	CHECK_RC(registry_pull_start(&op, L, c, ref, s, "x", NULL, on_done, &r2), 0);
	pl_run(&p, L, 120000);
	CHECK_INT(r2.rc, 0);
	CHECK(entry_digest(s, "x") != NULL);
	itest_check_sound(s);
	registry_op_free(op);
	registry_loop_free(L);
	registry_client_free(c);
	registry_store_free(s);
	registry_reference_free(ref);
}

static void count_retries(const registry_trace_event *e, void *ud)
{
	if (e->what == REGISTRY_TRACE_RETRY)
		(*(int *)ud)++;
}

/* A client that retries @count times, backing off from @backoff_ms, and
 * counts its retries into *@retries. */
static registry_client *retrying_client(int count, int backoff_ms, int *retries)
{
	registry_client *c = itest_client(1);
	registry_retry_options ro = REGISTRY_RETRY_OPTIONS_INIT;
	ro.count = count;
	ro.backoff_base_ms = backoff_ms;
	CHECK_RC(registry_client_set_retries(c, &ro), 0);
	*retries = 0;
	CHECK_RC(registry_client_set_trace(c, count_retries, retries), 0);
	return c;
}

/* Backoff through the timer: the first requests fail (503), the pull
 * still completes, and no step slept. */
static void case_retry(void)
{
	int retries = 0;
	registry_client *c = retrying_client(4, 100, &retries);
	registry_reference *ref = ref_of("fixtures/small-v2s2:latest");
	registry_store *s = itest_store("retry");
	pl p;
	registry_loop *L = pl_new(&p);
	result r = {0};
	registry_op *op = NULL;
	CHECK_RC(registry_pull_start(&op, L, c, ref, s, "x", NULL, on_done, &r), 0);
	pl_run(&p, L, 60000);
	CHECK_INT(r.rc, 0);
	if (r.rc)
		fprintf(stderr, "retry: %s\n", r.message);
	int64_t max_us = 0;
	registry_loop_step_stats(NULL, &max_us, L);
	printf("retry: %d retries, longest step %.2f ms\n", retries, (double)max_us / 1000.0);
	CHECK_INT(retries, 2); /* the proxy's two 503 answers, each waited out on the timer */
	CHECK(max_us < 500000); /* a backoff is 100 ms or more: never inside a step */
	registry_op_free(op);
	registry_loop_free(L);
	registry_store_free(s);
	registry_reference_free(ref);
	registry_client_free(c);
}

typedef struct page_ctx {
	result r;
	int pages;
} page_ctx;

static void on_page(registry_op *op, int rc, void *ud)
{
	page_ctx *pc = ud;
	pc->pages++;
	on_done(op, rc, &pc->r);
}

/* A tag list fetched page by page on the loop (2 names a page, the
 * registry's Link header): the blocking iterator's names, in its order. */
static void case_tags(void)
{
	registry_client *c = itest_client(1);
	registry_manifest *m = NULL;
	CHECK_RC(registry_manifest_fetch(&m, c, "fixtures/small-v2s2", "latest", NULL), 0);
	for (int i = 0; i < 5; i++) {
		char tag[16];
		snprintf(tag, sizeof(tag), "t%d", i);
		CHECK_RC(registry_manifest_push(NULL, c, "fixtures/small-v2s2", tag, m), 0);
	}
	registry_manifest_free(m);
	registry_list_options lo = REGISTRY_LIST_OPTIONS_INIT;
	lo.page_size = 2;
	registry_list *blocking = NULL;
	CHECK_RC(registry_list_tags_open(&blocking, c, "fixtures/small-v2s2", &lo), 0);
	char want[1024] = "";
	const char *name = NULL;
	while (registry_list_next(&name, blocking) == 0 && name)
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s,", name);
	registry_list_free(blocking);

	registry_client *fresh = itest_client(1);
	pl p;
	registry_loop *L = pl_new(&p);
	registry_list *list = NULL;
	CHECK_RC(registry_list_tags_open(&list, fresh, "fixtures/small-v2s2", &lo), 0);
	char got[1024] = "";
	page_ctx pc = {0};
	while (!registry_list_at_end(list)) {
		if (!registry_list_buffered(list)) {
			registry_op *op = NULL;
			CHECK_RC(registry_list_fetch_start(&op, L, list, on_page, &pc), 0);
			pl_run(&p, L, 30000);
			CHECK_INT(pc.r.rc, 0);
			registry_op_free(op);
			if (pc.r.rc)
				break;
			continue;
		}
		size_t left = registry_list_buffered(list);
		CHECK_RC(registry_list_next(&name, list), 0);
		CHECK(name != NULL);
		CHECK_INT(registry_list_buffered(list), left - 1);
		if (name)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s,", name);
	}
	CHECK_STR(got, want);
	CHECK(strstr(want, "t4,") != NULL);
	CHECK(pc.pages >= 3); /* 6 tags, 2 a page */
	printf("tags: %s in %d pages\n", got, pc.pages);

	/* A repository that does not exist: the blocking iterator's code. */
	registry_list *missing = NULL;
	CHECK_RC(registry_list_tags_open(&missing, fresh, "no/such-repo", NULL), 0);
	registry_op *op = NULL;
	page_ctx none = {0};
	CHECK_RC(registry_list_fetch_start(&op, L, missing, on_page, &none), 0);
	pl_run(&p, L, 30000);
	CHECK_INT(none.r.rc, REGISTRY_ENOTFOUND);
	CHECK_INT(registry_list_at_end(missing), 1);
	registry_op_free(op);
	registry_list_free(missing);

	registry_loop_free(L);
	registry_list_free(list);
	registry_client_free(fresh);
	registry_client_free(c);
}

/* ---- pushes ---------------------------------------------------------------------- */

/* A layout made by the harness (make-fixture) in the test's folder, opened
 * as a store; *top receives its top digest (static buffer). */
static registry_store *layout_store(const char *dir, const char *args, const char **top)
{
	static char digest[200];
	char cmd[2048], path[1024];
	const char *tmp = env_or("REGISTRY_TEST_TMPDIR", "/tmp");
	snprintf(path, sizeof(path), "%s/%s", tmp, dir);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 \"$REGISTRY_TEST_HARNESS\" make-fixture %s %s", path, args);
	char *out = NULL;
	CHECK_INT(itest_capture(cmd, &out, NULL), 0);
	/* The digest is the last word of the first line. */
	char *nl = out ? strpbrk(out, "\r\n") : NULL;
	if (nl)
		*nl = '\0';
	const char *sp = out ? strrchr(out, ' ') : NULL;
	snprintf(digest, sizeof(digest), "%s", sp ? sp + 1 : (out ? out : ""));
	free(out);
	CHECK_RC(registry_digest_validate(digest), 0);
	*top = digest;
	registry_store *s = NULL;
	CHECK_RC(registry_store_open(&s, path, 0), 0);
	return s;
}

/* Lines of the log at @path holding both @a and @b. */
static int log_count(const char *path, const char *a, const char *b)
{
	FILE *f = path ? fopen(path, "r") : NULL;
	char line[8192];
	int n = 0;
	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, a) && (!b || strstr(line, b));
	if (f)
		fclose(f);
	return n;
}

typedef struct push_count {
	int started, done, skipped, failed;
	int64_t overall_done, overall_total;
} push_count;

static int count_progress(const registry_progress *pr, void *ud)
{
	push_count *pc = ud;
	int st = registry_progress_state(pr);
	pc->started += st == REGISTRY_PROGRESS_STARTED;
	pc->done += st == REGISTRY_PROGRESS_DONE;
	pc->skipped += st == REGISTRY_PROGRESS_SKIPPED;
	pc->failed += st == REGISTRY_PROGRESS_FAILED;
	pc->overall_done = registry_progress_overall_done(pr);
	pc->overall_total = registry_progress_overall_total(pr);
	return 0;
}

/* Run @op, started with result @r, to its end and free it: its code (and
 * result digest, when asked). */
static int run_to_end(pl *p, registry_loop *L, registry_op *op, char **digest, result *r)
{
	pl_run(p, L, 120000);
	CHECK_INT(r->called, 1);
	if (digest)
		CHECK_RC(registry_op_result_digest(digest, op), 0);
	registry_op_free(op);
	return r->rc;
}

/* One push on the loop, run to its end: its result (and digest, when asked). */
static int loop_push(pl *p, registry_loop *L, registry_client *c, registry_store *s, const char *name,
                     const char *target, const registry_push_options *o, char **digest, result *r)
{
	registry_reference *t = ref_of(target);
	registry_op *op = NULL;
	memset(r, 0, sizeof(*r));
	int rc = registry_push_start(&op, L, c, s, name, t, o, on_done, r);
	registry_reference_free(t);
	if (rc)
		return rc;
	return run_to_end(p, L, op, digest, r);
}

/* The blocking push of @name to @target fails with @code, and the loop's
 * push the same way (code and message). */
static void same_push_failure(pl *p, registry_loop *L, registry_client *c, registry_store *s, const char *name,
                              const char *target, int code)
{
	registry_reference *t = ref_of(target);
	int want = registry_push(NULL, c, s, name, t, NULL);
	char want_msg[512];
	snprintf(want_msg, sizeof(want_msg), "%s", registry_error_message(registry_error_last()));
	registry_reference_free(t);
	CHECK_INT(want, code);
	result r;
	CHECK_INT(loop_push(p, L, c, s, name, target, NULL, NULL, &r), want);
	CHECK_STR(r.message, want_msg);
}

#define NPUSH 8

/* 8 concurrent pushes of a 3-layer image in one thread, half in 256 KiB
 * chunks, half monolithic: the blocking push's digest, the image pulled
 * back; then an index (children first), skips, and the blocking errors. */
static void case_push(void)
{
	const char *top = NULL;
	registry_store *s = layout_store("loop-push", "--layers 3 --size 1048576 --seed loop-push --tag v1 "
	                                 "--gzip-level 0", &top);
	char want_top[200];
	snprintf(want_top, sizeof(want_top), "%s", top);
	registry_client *c = itest_client(1);
	registry_reference *bt = ref_of("loop/blocking:v1");
	char *want = NULL;
	CHECK_RC(registry_push(&want, c, s, "v1", bt, NULL), 0);
	CHECK_STR(want, want_top);
	registry_reference_free(bt);
	registry_client_free(c);
	c = itest_client(1); /* fresh: the loop finds the scheme and the token itself */

	pl p;
	registry_loop *L = pl_new(&p);
	registry_op *ops[NPUSH];
	result res[NPUSH];
	push_count counts[NPUSH];
	registry_push_options o[NPUSH];
	memset(res, 0, sizeof(res));
	memset(counts, 0, sizeof(counts));
	int base_threads = threads_now();
	for (int i = 0; i < NPUSH; i++) {
		char target[64];
		snprintf(target, sizeof(target), "loop/p%d:v1", i);
		registry_reference *t = ref_of(target);
		registry_push_options_init(&o[i]);
		o[i].chunk_size = i % 2 ? 0 : 256 * 1024;
		o[i].progress = count_progress;
		o[i].userdata = &counts[i];
		CHECK_RC(registry_push_start(&ops[i], L, c, s, "v1", t, &o[i], on_done, &res[i]), 0);
		registry_reference_free(t);
	}
	run_expect(&p, L, ops, res, NPUSH, want, "push");
	for (int i = 0; i < NPUSH; i++) {
		CHECK_INT(counts[i].started, 4);
		CHECK_INT(counts[i].done, 4);
		CHECK_INT(counts[i].failed, 0);
		CHECK(counts[i].overall_total > 3 * 1048576);
		CHECK(counts[i].overall_done == counts[i].overall_total);
		registry_op_free(ops[i]);
	}
	CHECK_INT(base_threads, 1);
	CHECK_INT(p.max_threads, 1);
	/* The chunked ones went in PATCHes (4 chunks of each 1 MiB layer). */
	const char *rlog = getenv("REGISTRY_TEST_REGISTRY_LOG");
	CHECK(log_count(rlog, "\"PATCH /v2/loop/p0/blobs/uploads/", NULL) >= 12);
	CHECK_INT(log_count(rlog, "\"PATCH /v2/loop/p1/blobs/uploads/", NULL), 0);
	uint64_t steps = 0;
	int64_t max_us = 0;
	CHECK_RC(registry_loop_step_stats(&steps, &max_us, L), 0);
	printf("push: %d pushes, %llu steps, longest step %.2f ms, longest loop gap %lld ms, max threads %d\n",
	       NPUSH, (unsigned long long)steps, (double)max_us / 1000.0, p.max_gap_ms, p.max_threads);
	printf("push: step distribution: <1ms %lld, <2ms %lld, <5ms %lld, <10ms %lld, <50ms %lld, >=50ms %lld\n",
	       p.hist[0], p.hist[1], p.hist[2], p.hist[3], p.hist[4], p.hist[5]);

	pull_back(c, "loop/p0:v1", want);

	/* Again, by digest, to another tag: every blob is there already. */
	result r;
	push_count again = {0};
	registry_push_options ao = REGISTRY_PUSH_OPTIONS_INIT;
	ao.progress = count_progress;
	ao.userdata = &again;
	char *d2 = NULL;
	CHECK_RC(loop_push(&p, L, c, s, want, "loop/p0:v2", &ao, &d2, &r), 0);
	CHECK_STR(d2, want);
	CHECK_INT(again.skipped, 4);
	CHECK_INT(again.done, 0);
	registry_free(d2);

	/* The blocking push's errors: an unknown name, a target digest that is
	 * not the manifest's; options of a later version are refused at once. */
	same_push_failure(&p, L, c, s, "nope", "loop/p0:v1", REGISTRY_ENOTFOUND);
	same_push_failure(&p, L, c, s, "v1",
	                  "loop/p0@sha256:0123456789012345678901234567890123456789012345678901234567890123",
	                  REGISTRY_EDIGEST);
	registry_push_options newer = REGISTRY_PUSH_OPTIONS_INIT;
	newer.version = REGISTRY_PUSH_OPTIONS_VERSION + 1;
	CHECK_RC(loop_push(&p, L, c, s, "v1", "loop/p0:v3", &newer, NULL, &r), REGISTRY_EINVAL);
	CHECK_INT(r.called, 0);
	registry_store_free(s);

	/* A two-platform index: the children first, then the index. */
	s = layout_store("loop-push-multi", "--layers 2 --size 65536 --seed loop-push-multi "
	                 "--platforms linux/amd64,linux/arm64/v8 --tag multi", &top);
	char *di = NULL;
	CHECK_RC(loop_push(&p, L, c, s, "multi", "loop/multi:latest", NULL, &di, &r), 0);
	CHECK_STR(di, top);
	registry_manifest *idx = NULL;
	CHECK_RC(registry_manifest_fetch(&idx, c, "loop/multi", "latest", NULL), 0);
	CHECK_INT(registry_manifest_entry_count(idx), 2);
	for (size_t i = 0; i < registry_manifest_entry_count(idx); i++)
		CHECK_RC(registry_manifest_resolve(NULL, NULL, NULL, c, "loop/multi",
		                                   registry_descriptor_digest(registry_manifest_entry(idx, i))), 0);
	registry_manifest_free(idx);
	registry_free(di);

	registry_loop_free(L);
	registry_free(want);
	registry_store_free(s);
	registry_client_free(c);
}

/* Cancel at the first bytes sent of an 8 MiB layer: REGISTRY_ECANCELED and no
 * manifest on the registry; the next push completes with the same digest. */
static void case_push_cancel(void)
{
	const char *top = NULL;
	registry_store *s = layout_store("loop-push-cancel", "--layers 1 --size 8388608 --seed loop-push-cancel "
	                                 "--tag v1 --gzip-level 0", &top);
	registry_client *c = itest_client(1);
	pl p;
	registry_loop *L = pl_new(&p);
	cancel_ctx pc = {0};
	registry_push_options o = REGISTRY_PUSH_OPTIONS_INIT;
	o.chunk_size = 1 << 20;
	o.progress = cancel_on_bytes;
	o.userdata = &pc;
	registry_reference *t = ref_of("loop/cancel:v1");
	result r = {0};
	CHECK_RC(registry_push_start(&pc.op, L, c, s, "v1", t, &o, on_done, &r), 0);
	pl_run(&p, L, 60000);
	CHECK_INT(r.called, 1);
	CHECK_INT(r.rc, REGISTRY_ECANCELED);
	CHECK(pc.seen > 0 && pc.seen < 8388608);
	registry_op_free(pc.op);
	CHECK_RC(registry_manifest_resolve(NULL, NULL, NULL, c, "loop/cancel", "v1"), REGISTRY_ENOTFOUND);

	char *d = NULL;
	CHECK_RC(loop_push(&p, L, c, s, "v1", "loop/cancel:v1", NULL, &d, &r), 0);
	CHECK_STR(d, top);
	registry_free(d);

	/* The damaged layer (one byte changed, same size) is refused before it is
	 * sent, with the blocking push's error. */
	char blobs[1024], victim[1400] = "";
	snprintf(blobs, sizeof(blobs), "%s/loop-push-cancel/blobs/sha256", env_or("REGISTRY_TEST_TMPDIR", "/tmp"));
	DIR *dir = opendir(blobs);
	struct dirent *e;
	struct stat st;
	off_t largest = 0;
	while (dir && (e = readdir(dir))) {
		char f[1400];
		snprintf(f, sizeof(f), "%s/%s", blobs, e->d_name);
		if (stat(f, &st) == 0 && st.st_size > largest) {
			largest = st.st_size;
			snprintf(victim, sizeof(victim), "%s", f);
		}
	}
	if (dir)
		closedir(dir);
	itest_flip_byte(victim, 4096);
	same_push_failure(&p, L, c, s, "v1", "loop/cancel:v2", REGISTRY_EDIGEST);
	CHECK_RC(registry_manifest_resolve(NULL, NULL, NULL, c, "loop/cancel", "v2"), REGISTRY_ENOTFOUND);
	registry_reference_free(t);
	registry_loop_free(L);
	registry_client_free(c);
	registry_store_free(s);
}

/* A 503 from the proxy (on the first PATCH, or the first monolithic PUT,
 * or after the registry took that PUT: its retry finds the session gone
 * and a HEAD of the blob decides): waited out on the timer, never in a
 * step, and the push completes. */
static void case_push_retry(void)
{
	const char *top = NULL;
	registry_store *s = layout_store("loop-push-retry", "--layers 2 --size 1048576 --seed loop-push-retry "
	                                 "--tag v1 --gzip-level 0", &top);
	registry_client *c = itest_client(1);
	registry_retry_options ro = REGISTRY_RETRY_OPTIONS_INIT;
	ro.count = 4;
	ro.backoff_base_ms = 400;
	CHECK_RC(registry_client_set_retries(c, &ro), 0);
	pl p;
	registry_loop *L = pl_new(&p);
	registry_push_options o = REGISTRY_PUSH_OPTIONS_INIT;
	o.chunk_size = strcmp(env_or("LOOP_CHUNK", "0"), "0") != 0 ? 256 * 1024 : 0;
	result r;
	char *d = NULL;
	CHECK_RC(loop_push(&p, L, c, s, "v1", "loop/retry:v1", &o, &d, &r), 0);
	if (r.rc)
		fprintf(stderr, "retry: %s\n", r.message);
	CHECK_STR(d, top);
	registry_free(d);
	const char *plog = getenv("REGISTRY_TEST_PROXY_LOG");
	int faults = log_count(plog, "\"fault\": \"status 503", NULL); /* also "... after forwarding" */
	int64_t max_us = 0;
	registry_loop_step_stats(NULL, &max_us, L);
	printf("push-retry: %d injected 503, longest step %.2f ms\n", faults, (double)max_us / 1000.0);
	CHECK_INT(faults, 1);
	/* The backoff is 400 ms or more: never inside a step (valgrind's steps
	 * are slow enough to prove nothing). */
	if (!getenv("REGISTRY_TEST_UNDER_VALGRIND"))
		CHECK(max_us < 300000);
	if (o.chunk_size) /* a failed PATCH asks where the session stands */
		CHECK(log_count(plog, "\"method\": \"GET\"", "/blobs/uploads/") >= 1);
	pull_back(c, "loop/retry:v1", top);
	registry_loop_free(L);
	registry_client_free(c);
	registry_store_free(s);
}

/* A file of @size pseudo-random bytes in the test's folder; *digest its digest. */
static void random_file(char *path, size_t path_size, const char *name, size_t size, char **digest)
{
	snprintf(path, path_size, "%s/%s", env_or("REGISTRY_TEST_TMPDIR", "/tmp"), name);
	unsigned char *data = malloc(size ? size : 1);
	CHECK(data != NULL);
	uint32_t x = 2463534242u;
	for (size_t i = 0; data && i < size; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		data[i] = (unsigned char)x;
	}
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	if (f && size)
		CHECK_INT(fwrite(data, 1, size, f), size);
	if (f)
		fclose(f);
	CHECK_RC(registry_digest_buffer(digest, REGISTRY_DIGEST_SHA256, data, size), 0);
	free(data);
}

/* One blob from a file on the loop (registry_blob_upload_file_start), in
 * 1 MiB chunks and monolithic: stored with its digest; present: skipped; a
 * wrong digest and a missing file fail as the blocking upload does. */
static void case_upload(void)
{
	char path[1024];
	char *digest = NULL;
	random_file(path, sizeof(path), "loop-upload.bin", 3u << 20, &digest);
	registry_client *c = itest_client(1);
	pl p;
	registry_loop *L = pl_new(&p);
	const char *repos[2] = {"loop/upload-chunked", "loop/upload-mono"};
	for (int i = 0; i < 2; i++) {
		push_count pc = {0};
		registry_blob_upload_options o = REGISTRY_BLOB_UPLOAD_OPTIONS_INIT;
		o.chunk_size = i == 0 ? 1u << 20 : 0;
		o.progress = count_progress;
		o.userdata = &pc;
		result r = {0};
		registry_op *op = NULL;
		CHECK_RC(registry_blob_upload_file_start(&op, L, c, repos[i], digest, path, &o, on_done, &r), 0);
		pl_run(&p, L, 60000);
		CHECK_INT(r.rc, 0);
		CHECK_INT(pc.started, 1);
		CHECK_INT(pc.done, 1);
		CHECK_INT(pc.overall_done, 3 << 20);
		registry_op_free(op);
		int64_t size = 0;
		CHECK_RC(registry_blob_head(&size, c, repos[i], digest), 0);
		CHECK_INT(size, 3 << 20);
		registry_store *s = itest_store(i == 0 ? "upload-back-chunked" : "upload-back-mono");
		CHECK_RC(registry_blob_fetch(c, repos[i], digest, 3 << 20, s, NULL), 0);
		registry_store_free(s);
		/* Again: the registry has it, nothing is sent. */
		memset(&pc, 0, sizeof(pc));
		CHECK_RC(registry_blob_upload_file_start(&op, L, c, repos[i], digest, path, &o, on_done, &r), 0);
		pl_run(&p, L, 60000);
		CHECK_INT(r.rc, 0);
		CHECK_INT(pc.skipped, 1);
		CHECK_INT(pc.started, 0);
		registry_op_free(op);
	}
	const char *rlog = getenv("REGISTRY_TEST_REGISTRY_LOG");
	CHECK(log_count(rlog, "\"PATCH /v2/loop/upload-chunked/blobs/uploads/", NULL) >= 3);
	CHECK_INT(log_count(rlog, "\"PATCH /v2/loop/upload-mono/blobs/uploads/", NULL), 0);

	/* The blocking upload's errors: content that does not match the digest,
	 * a missing file. */
	const char *wrong = "sha256:0123456789012345678901234567890123456789012345678901234567890123";
	const char *paths[2] = {path, "/nonexistent/loop-upload.bin"};
	for (int i = 0; i < 2; i++) {
		int want = registry_blob_upload_file(c, "loop/upload-wrong", wrong, paths[i], NULL);
		char want_msg[512];
		snprintf(want_msg, sizeof(want_msg), "%s", registry_error_message(registry_error_last()));
		CHECK(want != 0);
		result r = {0};
		registry_op *op = NULL;
		CHECK_RC(registry_blob_upload_file_start(&op, L, c, "loop/upload-wrong", wrong, paths[i], NULL, on_done,
		                                         &r), 0);
		pl_run(&p, L, 60000);
		CHECK_INT(r.rc, want);
		CHECK_STR(r.message, want_msg);
		registry_op_free(op);
	}
	CHECK_RC(registry_blob_head(NULL, c, "loop/upload-wrong", wrong), REGISTRY_ENOTFOUND);
	/* The wrong one's session was deleted, by the blocking call and the loop's. */
	CHECK_INT(log_count(rlog, "\"DELETE /v2/loop/upload-wrong/blobs/uploads/", NULL), 2);
	registry_loop_free(L);
	registry_client_free(c);
	registry_free(digest);
}

/* Run one operation started by the caller on @L to its end; its result. */
static result run_one(pl *p, registry_loop *L, registry_op *op, result *r)
{
	(void)op;
	pl_run(p, L, 120000);
	CHECK_INT(r->called, 1);
	return *r;
}

/* The index entry @name of @s: its media type and source annotation (static buffers). */
static const char *entry_field(registry_store *s, const char *name, int annotation)
{
	const registry_descriptor *d = NULL;
	if (registry_store_index_find(&d, s, name) != 0)
		return NULL;
	static char buf[2][200];
	const char *v = annotation ? registry_descriptor_annotation(d, REGISTRY_ANNOTATION_SOURCE_DIGEST)
	                           : registry_descriptor_media_type(d);
	snprintf(buf[annotation], sizeof(buf[0]), "%s", v ? v : "(none)");
	return buf[annotation];
}

/* A loop pull of @ref with @o into @s (index name "x") on a loop of its
 * own (*L, with @p), run to its end: the operation, its result in *r. */
static registry_op *loop_pull_x(pl *p, registry_loop **L, registry_client *c, registry_reference *ref,
                                registry_store *s, const registry_pull_options *o, result *r)
{
	*L = pl_new(p);
	memset(r, 0, sizeof(*r));
	registry_op *op = NULL;
	CHECK_RC(registry_pull_start(&op, *L, c, ref, s, "x", o, on_done, r), 0);
	run_one(p, *L, op, r);
	return op;
}

/* A pull of @ref with @flags on its own loop and a blocking one, each into
 * a store of its own: the same digest, entry (media type, source
 * annotation) and manifests in the store; the loop's longest step printed. */
static void compare_store_pull(registry_client *c, registry_reference *ref, unsigned int flags, const char *tag,
                               int *threads)
{
	registry_pull_options o = REGISTRY_PULL_OPTIONS_INIT;
	o.flags = flags;
	char name[64];
	snprintf(name, sizeof(name), "%s-blocking-%%d", tag);
	registry_store *blocking = store_named(name, (int)flags);
	snprintf(name, sizeof(name), "%s-loop-%%d", tag);
	registry_store *looped = store_named(name, (int)flags);
	char *want = NULL;
	CHECK_RC(registry_pull(&want, c, ref, blocking, "x", &o), 0);
	pl p;
	registry_loop *L = NULL;
	result r;
	registry_op *op = loop_pull_x(&p, &L, c, ref, looped, &o, &r);
	CHECK_INT(r.rc, 0);
	if (r.rc)
		fprintf(stderr, "%s, flags 0x%x: %s\n", tag, flags, r.message);
	char *got = NULL;
	CHECK_RC(registry_op_result_digest(&got, op), 0);
	CHECK_STR(entry_digest(looped, "x"), got);
	/* A registry in schema1 mode signs each answer anew: a signed manifest
	 * kept as served differs in its signature, and so in its digest, from
	 * one fetch to the next; the registry's digest (the annotation) holds. */
	if (!(flags & REGISTRY_PULL_PRESERVE_DIGESTS) || !strstr(tag, "schema1"))
		CHECK_STR(got, want);
	char field[200];
	snprintf(field, sizeof(field), "%s", entry_field(blocking, "x", 0));
	CHECK_STR(entry_field(looped, "x", 0), field);
	snprintf(field, sizeof(field), "%s", entry_field(blocking, "x", 1));
	CHECK_STR(entry_field(looped, "x", 1), field);
	/* What the entry names, and for an index every entry, is in both stores. */
	registry_manifest *top = NULL;
	void *raw = NULL;
	size_t len = 0;
	CHECK_INT(registry_store_has(blocking, want), 1);
	CHECK_RC(registry_store_read_blob(&raw, &len, looped, got, 0), 0);
	CHECK_RC(registry_manifest_parse(&top, raw, len, entry_field(looped, "x", 0), NULL), 0);
	size_t n = top ? registry_manifest_entry_count(top) : 0;
	for (size_t i = 0; i < n; i++) {
		const char *d = registry_descriptor_digest(registry_manifest_entry(top, i));
		CHECK_INT(registry_store_has(looped, d), 1);
		CHECK_INT(registry_store_has(blocking, d), 1);
	}
	int64_t us = 0;
	registry_loop_step_stats(NULL, &us, L);
	printf("%s (flags 0x%x): %s, %zu entries, longest step %.2f ms\n", tag, flags, got, n, (double)us / 1000.0);
	if (p.max_threads > *threads)
		*threads = p.max_threads;
	itest_check_sound(looped);
	registry_manifest_free(top);
	registry_free(raw);
	registry_free(got);
	registry_free(want);
	registry_op_free(op);
	registry_loop_free(L);
	registry_store_free(blocking);
	registry_store_free(looped);
}

/* REGISTRY_PULL_ALL_PLATFORMS of an index (LOOP_IMAGE, multi-oci or
 * multi-v2s2), converted and preserved: as the blocking pull; one thread. */
static void case_all(void)
{
	registry_client *c = itest_client(1);
	registry_reference *ref = ref_of(env_or("LOOP_IMAGE", "fixtures/multi-oci:latest"));
	int threads = 0;
	compare_store_pull(c, ref, REGISTRY_PULL_ALL_PLATFORMS, "all platforms", &threads);
	compare_store_pull(c, ref, REGISTRY_PULL_ALL_PLATFORMS | REGISTRY_PULL_PRESERVE_DIGESTS, "all platforms",
	                   &threads);
	CHECK_INT(threads, 1);
	registry_reference_free(ref);
	registry_client_free(c);
}

typedef struct hook_ctx {
	int retries; /* backoffs begun (the trace) */
	int asked;   /* calls of the cancel hook */
} hook_ctx;

static void note_retry(const registry_trace_event *e, void *ud)
{
	if (e->what == REGISTRY_TRACE_RETRY)
		((hook_ctx *)ud)->retries++;
}

static int hook_cancels(void *ud)
{
	hook_ctx *h = ud;
	h->asked++;
	return h->retries > 0;
}

/* A client whose cancel hook says stop once a backoff has begun, and
 * whose backoffs last 4 s. */
static registry_client *hooked_client(hook_ctx *h)
{
	registry_client *c = itest_client(1);
	registry_retry_options ro = REGISTRY_RETRY_OPTIONS_INIT;
	ro.count = 3;
	ro.backoff_base_ms = 4000;
	CHECK_RC(registry_client_set_retries(c, &ro), 0);
	CHECK_RC(registry_client_set_trace(c, note_retry, h), 0);
	CHECK_RC(registry_client_set_cancel(c, hook_cancels, h), 0);
	return c;
}

/* The client's cancel hook (registry_client_set_cancel) stops a loop pull
 * as it stops the blocking one, also while no transfer runs: the proxy
 * answers the first requests 503, the pull waits out a 4 s backoff, and
 * the hook, asked on the loop's timer, ends it within a second as it ends
 * the blocking call's sleep (50 ms slices): ECANCELED, nothing named. */
static void case_cancel_hook(void)
{
	registry_reference *ref = ref_of("fixtures/small-v2s2:latest");
	hook_ctx bh = {0};
	registry_client *c = hooked_client(&bh);
	registry_store *blocking = itest_store("hook-blocking");
	long long t0 = now_ms();
	int want = registry_pull(NULL, c, ref, blocking, "x", NULL);
	long long blocking_ms = now_ms() - t0;
	CHECK_INT(want, REGISTRY_ECANCELED);
	CHECK(blocking_ms < 1500);
	registry_client_free(c);

	hook_ctx h = {0};
	c = hooked_client(&h);
	registry_store *s = itest_store("hook-loop");
	pl p;
	registry_loop *L = pl_new(&p);
	result r = {0};
	registry_op *op = NULL;
	t0 = now_ms();
	CHECK_RC(registry_pull_start(&op, L, c, ref, s, "x", NULL, on_done, &r), 0);
	pl_run(&p, L, 20000);
	long long took = now_ms() - t0;
	CHECK_INT(r.called, 1);
	CHECK_INT(r.rc, want);
	CHECK_INT(h.retries, 1);
	CHECK(took < 1500); /* not after the 4 s backoff */
	CHECK(entry_digest(s, "x") == NULL);
	itest_check_sound(s);
	printf("cancel hook: blocking canceled after %lld ms; loop: asked %d times, canceled after %lld ms\n",
	       blocking_ms, h.asked, took);
	registry_op_free(op);
	registry_loop_free(L);
	registry_store_free(s);
	registry_store_free(blocking);
	registry_client_free(c);
	registry_reference_free(ref);
}

/* The shell command @fmt (its %1$s: a path) says the same of @a and of @b. */
static void same_listing(const char *fmt, const char *a, const char *b)
{
	char cmd[1400];
	char *ta = NULL, *tb = NULL;
	snprintf(cmd, sizeof(cmd), fmt, a);
	CHECK_INT(itest_capture(cmd, &ta, NULL), 0);
	snprintf(cmd, sizeof(cmd), fmt, b);
	CHECK_INT(itest_capture(cmd, &tb, NULL), 0);
	CHECK(ta && strstr(ta, "data.bin"));
	CHECK_STR(ta, tb);
	free(ta);
	free(tb);
}

/* The same types, modes, owners, sizes and mtimes under two trees. A
 * directory no layer lists (a parent made on the way) has the unpack's
 * time: not compared. */
static void same_metadata(const char *a, const char *b)
{
	same_listing("find '%1$s' -mindepth 1 \\( -type d -printf '%%P d %%m %%U %%G\\n' \\) -o "
	             "-printf '%%P %%y %%m %%U %%G %%s %%T@ %%l\\n' | sort", a, b);
}

/* The same members (types, modes, owners, sizes, mtimes, names) and the
 * same file bytes in two root filesystem tars; directories' times not
 * compared (the root's too), as above. */
static void same_tar(const char *a, const char *b)
{
	same_listing("tar -tvf '%1$s' --full-time | awk '{ if ($1 ~ /^d/) { $4 = \"\"; $5 = \"\" } print }' && "
	             "tar -xOf '%1$s' | sha256sum", a, b);
}

/* registry_pull_to_start of @ref into @dest on a new loop (returned; its
 * poll loop @p), run to its end: *op, its result *r. */
static registry_loop *pull_to_run(pl *p, registry_client *c, registry_reference *ref, const char *dest, int format,
                                  registry_op **op, result *r)
{
	registry_loop *L = pl_new(p);
	memset(r, 0, sizeof(*r));
	CHECK_RC(registry_pull_to_start(op, L, c, ref, dest, format, NULL, on_done, r), 0);
	run_one(p, L, *op, r);
	return L;
}

/* registry_pull_to and registry_pull_to_start (on a loop of its own, whose
 * step record is this pull's) of @ref into @bd and @ld in @format: the same
 * digest (unless @resigned: a schema1 registry signs every answer anew) and
 * the same files (diff -r; cmp for a tarball). */
static int64_t compare_pull_to(registry_client *c, registry_reference *ref, int format, const char *bd,
                               const char *ld, int resigned, int *threads)
{
	char *want = NULL;
	CHECK_RC(registry_pull_to(&want, c, ref, bd, format, NULL), 0);
	pl p;
	result r;
	registry_op *op = NULL;
	registry_loop *own = pull_to_run(&p, c, ref, ld, format, &op, &r);
	CHECK_INT(r.rc, 0);
	if (r.rc)
		fprintf(stderr, "pull_to %s: %s\n", ld, r.message);
	char *got = NULL;
	CHECK_RC(registry_op_result_digest(&got, op), 0);
	if (!resigned)
		CHECK_STR(got, want);
	char cmd[2700];
	snprintf(cmd, sizeof(cmd), format == REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE ? "cmp -s '%s' '%s'"
	                                                                          : "diff -r '%s' '%s'", bd, ld);
	if (format == REGISTRY_IMAGE_FORMAT_ROOTFS_TAR)
		same_tar(bd, ld);
	else
		CHECK_INT(itest_capture(cmd, NULL, NULL), 0);
	if (format == REGISTRY_IMAGE_FORMAT_ROOTFS)
		same_metadata(bd, ld);
	int64_t max_us = 0;
	registry_loop_step_stats(NULL, &max_us, own);
	printf("pull_to %s: %s, longest step %.2f ms (the export's included)\n", strrchr(ld, '/') + 1, got,
	       (double)max_us / 1000.0);
	if (p.max_threads > *threads)
		*threads = p.max_threads;
	registry_free(got);
	registry_free(want);
	registry_op_free(op);
	registry_loop_free(own);
	return max_us;
}
/* compare_pull_to into @b/@name and @l/@name; its longest step. */
static int64_t compare_in(registry_client *c, registry_reference *ref, int format, const char *name,
                          const char *b, const char *l, int *threads)
{
	char bd[1300], ld[1300];
	snprintf(bd, sizeof(bd), "%s/%s", b, name);
	snprintf(ld, sizeof(ld), "%s/%s", l, name);
	return compare_pull_to(c, ref, format, bd, ld, 0, threads);
}

/* The folders @b = @tmp/blocking and @l = @tmp/loop, made. */
static void make_both(char *b, size_t bsize, char *l, size_t lsize, const char *tmp)
{
	snprintf(b, bsize, "%s/blocking", tmp);
	snprintf(l, lsize, "%s/loop", tmp);
	CHECK(mkdir(b, 0755) == 0 && mkdir(l, 0755) == 0);
}

/* registry_pull_to_start into an OCI layout, a docker-load folder and a
 * tarball: the files of registry_pull_to (diff -r, cmp), its digests and
 * its errors; no temporary store left; the export step measured. */
static void case_pull_to(void)
{
	const char *path = env_or("LOOP_IMAGE", "fixtures/small-v2s2:latest");
	registry_client *c = itest_client(1);
	registry_reference *ref = ref_of(path);
	const char *tmp = getenv("REGISTRY_TEST_TMPDIR");
	char b[1200], l[900];
	static const struct {
		int format;
		const char *name;
	} formats[] = {{REGISTRY_IMAGE_FORMAT_OCI, "oci"},
	               {REGISTRY_IMAGE_FORMAT_DOCKER_DIR, "dir"},
	               {REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE, "image.tar"}};
	make_both(b, sizeof(b), l, sizeof(l), tmp);
	int threads = 0;
	for (int k = 0; k < 3; k++)
		compare_in(c, ref, formats[k].format, formats[k].name, b, l, &threads);
	CHECK_INT(threads, 1);
	pl p;
	registry_loop *L = pl_new(&p);
	/* Nothing but the three destinations: no temporary store left. */
	char *ls = NULL;
	snprintf(b, sizeof(b), "ls -A '%s'", l);
	CHECK_INT(itest_capture(b, &ls, NULL), 0);
	CHECK_STR(ls, "dir\nimage.tar\noci\n");
	free(ls);

	/* The errors of registry_pull_to, from the start call. */
	registry_op *op = NULL;
	result r = {0};
	snprintf(b, sizeof(b), "%s/dir", l);
	CHECK_RC(registry_pull_to(NULL, c, ref, b, REGISTRY_IMAGE_FORMAT_DOCKER_DIR, NULL), REGISTRY_ECONFLICT);
	CHECK_RC(registry_pull_to_start(&op, L, c, ref, b, REGISTRY_IMAGE_FORMAT_DOCKER_DIR, NULL, on_done, &r),
	         REGISTRY_ECONFLICT);
	registry_pull_options all = REGISTRY_PULL_OPTIONS_INIT;
	all.flags = REGISTRY_PULL_ALL_PLATFORMS;
	snprintf(b, sizeof(b), "%s/all", l);
	CHECK_RC(registry_pull_to(NULL, c, ref, b, REGISTRY_IMAGE_FORMAT_DOCKER_DIR, &all), REGISTRY_EINVAL);
	CHECK_RC(registry_pull_to_start(&op, L, c, ref, b, REGISTRY_IMAGE_FORMAT_DOCKER_DIR, &all, on_done, &r),
	         REGISTRY_EINVAL);
	CHECK_RC(registry_pull_to_start(&op, L, c, ref, b, 99, NULL, on_done, &r), REGISTRY_EINVAL);
	CHECK(op == NULL);
	CHECK_INT(r.called, 0);

	/* A missing tag: the blocking error, and no temporary store left. */
	registry_reference *missing = ref_of("fixtures/small-v2s2:no-such-tag");
	snprintf(b, sizeof(b), "%s/missing.tar", l);
	int want = registry_pull_to(NULL, c, missing, b, REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE, NULL);
	CHECK_INT(want, REGISTRY_ENOTFOUND);
	char want_msg[512];
	snprintf(want_msg, sizeof(want_msg), "%s", registry_error_message(registry_error_last()));
	CHECK_RC(registry_pull_to_start(&op, L, c, missing, b, REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE, NULL, on_done,
	                                &r), 0);
	run_one(&p, L, op, &r);
	CHECK_INT(r.rc, want);
	CHECK_STR(r.message, want_msg);
	registry_op_free(op);
	snprintf(b, sizeof(b), "ls -A '%s'", l);
	CHECK_INT(itest_capture(b, &ls, NULL), 0);
	CHECK_STR(ls, "dir\nimage.tar\noci\n");
	free(ls);
	CHECK_INT(p.max_threads, 1);
	registry_reference_free(missing);
	registry_loop_free(L);
	registry_reference_free(ref);
	registry_client_free(c);
}

/* Names in the folder @dir, one a line ("" when empty; static buffer). */
static const char *names_in(const char *dir)
{
	static char names[4096];
	char cmd[1200], *out = NULL;
	snprintf(cmd, sizeof(cmd), "ls -A '%s'", dir);
	CHECK_INT(itest_capture(cmd, &out, NULL), 0);
	snprintf(names, sizeof(names), "%s", out ? out : "");
	free(out);
	return names;
}

/* A pull_to_start of a root filesystem into @dir/rootfs, canceled as soon
 * as its temporary tree (rootfs.unpack-*) is there: the unpack is under
 * way in the loop's steps. Nothing is left in @dir. */
static void cancel_in_unpack(registry_client *c, registry_reference *ref, const char *dir)
{
	char dest[1300];
	snprintf(dest, sizeof(dest), "%s/rootfs", dir);
	CHECK(mkdir(dir, 0755) == 0);
	pl p;
	registry_loop *L = pl_new(&p);
	result r = {0};
	registry_op *op = NULL;
	CHECK_RC(registry_pull_to_start(&op, L, c, ref, dest, REGISTRY_IMAGE_FORMAT_ROOTFS, NULL, on_done, &r), 0);
	int seen = 0;
	while (!seen && registry_loop_pending(L) > 0) {
		pl_run(&p, L, 1);
		seen = strstr(names_in(dir), "rootfs.unpack-") != NULL;
	}
	CHECK(seen);
	CHECK_RC(registry_op_cancel(op), 0);
	pl_run(&p, L, 60000);
	CHECK_INT(r.called, 1);
	CHECK_INT(r.rc, REGISTRY_ECANCELED);
	CHECK_STR(names_in(dir), "");
	registry_op_free(op);
	registry_loop_free(L);
}

/* An image whose config's first two diff_ids are swapped, pushed as
 * loop/bad-diff:v1: its first layer's tar is not what the config says. */
static registry_reference *push_bad_diff_id(registry_client *c)
{
	const char *top = NULL;
	registry_store *s = layout_store("loop-bad-diff", "--layers 2 --size 65536 --seed loop-bad-diff --tag v1", &top);
	registry_store_free(s);
	char cmd[1400];
	snprintf(cmd, sizeof(cmd), "python3 - '%s/loop-bad-diff' <<'EOF'\n"
	         "import hashlib, json, os, sys\n"
	         "d = sys.argv[1]\n"
	         "def path(h): return os.path.join(d, 'blobs', 'sha256', h.split(':')[1])\n"
	         "def put(o):\n"
	         "    b = json.dumps(o).encode(); h = 'sha256:' + hashlib.sha256(b).hexdigest()\n"
	         "    open(path(h), 'wb').write(b); return h, len(b)\n"
	         "idx = json.load(open(os.path.join(d, 'index.json')))\n"
	         "m = json.load(open(path(idx['manifests'][0]['digest'])))\n"
	         "c = json.load(open(path(m['config']['digest'])))\n"
	         "ids = c['rootfs']['diff_ids']; ids[0], ids[1] = ids[1], ids[0]\n"
	         "m['config']['digest'], m['config']['size'] = put(c)\n"
	         "idx['manifests'][0]['digest'], idx['manifests'][0]['size'] = put(m)\n"
	         "json.dump(idx, open(os.path.join(d, 'index.json'), 'w'))\n"
	         "EOF\n", env_or("REGISTRY_TEST_TMPDIR", "/tmp"));
	CHECK_INT(itest_capture(cmd, NULL, NULL), 0);
	char path[1024];
	snprintf(path, sizeof(path), "%s/loop-bad-diff", env_or("REGISTRY_TEST_TMPDIR", "/tmp"));
	CHECK_RC(registry_store_open(&s, path, 0), 0);
	registry_reference *ref = ref_of("loop/bad-diff:v1");
	CHECK_RC(registry_push(NULL, c, s, "v1", ref, NULL), 0);
	registry_store_free(s);
	return ref;
}

/* registry_store_unpack_start of @ref pulled into a store: the tree and
 * stats of registry_store_unpack, in slices; a cancel after the first
 * slice leaves nothing. */
static void store_unpack(registry_client *c, registry_reference *ref, const char *tmp)
{
	registry_store *s = store_named("loop-unpack-store", 0);
	CHECK_RC(registry_pull(NULL, c, ref, s, "image", NULL), 0);
	char b[1300], l[1300], dir[1200];
	snprintf(dir, sizeof(dir), "%s/store-unpack", tmp);
	CHECK(mkdir(dir, 0755) == 0);
	snprintf(b, sizeof(b), "%s/blocking", dir);
	snprintf(l, sizeof(l), "%s/loop", dir);
	registry_unpack_stats want = REGISTRY_UNPACK_STATS_INIT, got = REGISTRY_UNPACK_STATS_INIT;
	CHECK_RC(registry_store_unpack(&want, s, "image", b, NULL), 0);
	pl p;
	registry_loop *L = pl_new(&p);
	result r = {0};
	registry_op *op = NULL;
	CHECK_RC(registry_store_unpack_start(&op, &got, L, s, "image", l, NULL, on_done, &r), 0);
	run_one(&p, L, op, &r);
	CHECK_INT(r.rc, 0);
	registry_op_free(op);
	char cmd[2700];
	snprintf(cmd, sizeof(cmd), "diff -r '%s' '%s'", b, l);
	CHECK_INT(itest_capture(cmd, NULL, NULL), 0);
	same_metadata(b, l);
	CHECK_INT(got.layers, want.layers);
	CHECK_INT(got.entries, want.entries);
	CHECK_INT(got.bytes, want.bytes);
	uint64_t steps = 0;
	int64_t max_us = 0;
	registry_loop_step_stats(&steps, &max_us, L);
	printf("store_unpack_start: %llu steps, longest %.2f ms\n", (unsigned long long)steps, (double)max_us / 1000.0);
	CHECK(steps > 4); /* 2 x 8 MiB of files: more than a step each */
	CHECK(max_us < 100000);
	/* Errors from the start call, nothing started. */
	CHECK_RC(registry_store_unpack_start(&op, NULL, L, s, "image", l, NULL, on_done, &r), REGISTRY_ECONFLICT);
	CHECK_RC(registry_store_unpack_start(&op, NULL, L, s, "no-such", b, NULL, on_done, &r), REGISTRY_ENOTFOUND);
	CHECK(op == NULL);
	/* A cancel after the first slice: no tree, no temporary folder. */
	snprintf(dir, sizeof(dir), "%s/store-cancel", tmp);
	CHECK(mkdir(dir, 0755) == 0);
	snprintf(l, sizeof(l), "%s/rootfs", dir);
	memset(&r, 0, sizeof(r));
	CHECK_RC(registry_store_unpack_start(&op, NULL, L, s, "image", l, NULL, on_done, &r), 0);
	CHECK(strstr(names_in(dir), "rootfs.unpack-") != NULL);
	registry_loop_timeout(L);
	CHECK_INT(r.called, 0);
	CHECK_RC(registry_op_cancel(op), 0);
	pl_run(&p, L, 10000);
	CHECK_INT(r.rc, REGISTRY_ECANCELED);
	CHECK_STR(names_in(dir), "");
	registry_op_free(op);
	CHECK_INT(p.max_threads, 1);
	registry_loop_free(L);
	registry_store_free(s);
}

/* registry_pull_to_start of a root filesystem (the unpack in slices on the
 * loop): the tree and the tar of registry_pull_to, in one thread, no step
 * long; a cancel in the unpack leaves nothing; a diff_id that does not
 * match fails as the blocking pull fails. */
static void case_unpack(void)
{
	const char *path = env_or("LOOP_IMAGE", "fixtures/big-oci:latest");
	registry_client *c = itest_client(1);
	registry_reference *ref = ref_of(path);
	const char *tmp = getenv("REGISTRY_TEST_TMPDIR");
	char b[1200], l[1200], bd[1300], ld[1300];
	make_both(b, sizeof(b), l, sizeof(l), tmp);
	int threads = 0;
	int64_t dir_us = compare_in(c, ref, REGISTRY_IMAGE_FORMAT_ROOTFS, "rootfs", b, l, &threads);
	int64_t tar_us = compare_in(c, ref, REGISTRY_IMAGE_FORMAT_ROOTFS_TAR, "rootfs.tar", b, l, &threads);
	CHECK_INT(threads, 1);
	/* Slices of about 2 ms; generous, for a loaded machine. The tar is
	 * written from the tree in one step (measured, not bounded here). */
	printf("longest step: %.2f ms unpacking a folder, %.2f ms for a tar\n", (double)dir_us / 1000.0,
	       (double)tar_us / 1000.0);
	CHECK(dir_us < 100000);
	CHECK_STR(names_in(l), "rootfs\nrootfs.tar\n");

	snprintf(l, sizeof(l), "%s/cancel", tmp);
	cancel_in_unpack(c, ref, l);
	store_unpack(c, ref, tmp);

	/* A layer that is not its diff_id: the blocking pull's error. */
	registry_reference *bad = push_bad_diff_id(c);
	snprintf(bd, sizeof(bd), "%s/bad", b);
	int want = registry_pull_to(NULL, c, bad, bd, REGISTRY_IMAGE_FORMAT_ROOTFS, NULL);
	CHECK_INT(want, REGISTRY_EDIGEST);
	snprintf(l, sizeof(l), "%s/bad", tmp);
	CHECK(mkdir(l, 0755) == 0);
	snprintf(ld, sizeof(ld), "%s/rootfs", l);
	pl p;
	result r;
	registry_op *op = NULL;
	registry_loop *L = pull_to_run(&p, c, bad, ld, REGISTRY_IMAGE_FORMAT_ROOTFS, &op, &r);
	CHECK_INT(r.rc, want);
	CHECK(strstr(r.message, "layer 1") != NULL);
	CHECK_STR(names_in(l), "");
	registry_op_free(op);
	registry_loop_free(L);
	registry_reference_free(bad);
	registry_reference_free(ref);
	registry_client_free(c);
}

/* index.json's lock held by someone else (here: another open file of this
 * process; a second process is the same to flock): the loop pull does not
 * wait for it in a step, retries, and completes once it is released. */
static void case_index_lock(void)
{
	registry_client *c = itest_client(1);
	registry_reference *ref = ref_of(env_or("LOOP_IMAGE", "fixtures/small-v2s2:latest"));
	registry_store *s = store_named("lock-%d", 0);
	char layout[1024];
	snprintf(layout, sizeof(layout), "%s/%s/oci-layout",
	         getenv("LOOP_STORE_DIR") ? getenv("LOOP_STORE_DIR") : getenv("REGISTRY_TEST_TMPDIR"), "lock-0");
	int held = open(layout, O_RDONLY | O_CLOEXEC);
	CHECK(held >= 0);
	CHECK_INT(flock(held, LOCK_EX), 0);

	pl p;
	registry_loop *L = pl_new(&p);
	result res = {0};
	registry_op *op = NULL;
	CHECK_RC(registry_pull_start(&op, L, c, ref, s, "x", NULL, on_done, &res), 0);
	pl_run(&p, L, 1500); /* everything but the index entry */
	CHECK_INT(registry_loop_pending(L), 1);
	CHECK_INT(res.called, 0);
	int64_t max_us = 0;
	CHECK_RC(registry_loop_step_stats(NULL, &max_us, L), 0);
	CHECK(max_us < 1000000); /* no step sat on the lock */
	printf("loop: index.json locked elsewhere: still pending after 1.5 s, longest step %.2f ms\n",
	       (double)max_us / 1000.0);
	CHECK_INT(flock(held, LOCK_UN), 0);
	close(held);
	pl_run(&p, L, 60000);
	CHECK_INT(res.called, 1);
	CHECK_INT(res.rc, 0);
	CHECK(entry_digest(s, "x") != NULL);
	itest_check_sound(s);
	registry_op_free(op);
	registry_loop_free(L);
	registry_store_free(s);
	registry_reference_free(ref);
	registry_client_free(c);
}

/* A schema1 image (the registry in schema1 mode): converted to OCI (the
 * diff_ids read from the layers, in the last step), preserved as served,
 * and into a docker-load folder and tarball (the legacy v1 folders): as the
 * blocking pull. */
static void case_schema1(void)
{
	registry_client *c = itest_client(1);
	registry_reference *ref = ref_of("fixtures/small-v2s1:latest");
	int threads = 0;
	compare_store_pull(c, ref, 0, "schema1", &threads);
	compare_store_pull(c, ref, REGISTRY_PULL_PRESERVE_DIGESTS, "schema1", &threads);
	const char *tmp = getenv("REGISTRY_TEST_TMPDIR");
	char bd[1100], ld[1100];
	snprintf(bd, sizeof(bd), "%s/blocking-legacy", tmp);
	snprintf(ld, sizeof(ld), "%s/loop-legacy", tmp);
	compare_pull_to(c, ref, REGISTRY_IMAGE_FORMAT_DOCKER_DIR, bd, ld, 1, &threads);
	snprintf(bd, sizeof(bd), "%s/blocking-legacy.tar", tmp);
	snprintf(ld, sizeof(ld), "%s/loop-legacy.tar", tmp);
	compare_pull_to(c, ref, REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE, bd, ld, 1, &threads);
	CHECK_INT(threads, 1);
	registry_reference_free(ref);
	registry_client_free(c);
}

typedef struct skip_ctx {
	int skipped, done;
} skip_ctx;

static int count_states(const registry_progress *pr, void *ud)
{
	skip_ctx *k = ud;
	k->skipped += registry_progress_state(pr) == REGISTRY_PROGRESS_SKIPPED;
	k->done += registry_progress_state(pr) == REGISTRY_PROGRESS_DONE;
	return 0;
}

/* registry_blob_fetch_start: each blob of an image into a store as
 * registry_blob_fetch puts it there (the same files), skipped when present;
 * a missing blob and a bad digest fail as the blocking call fails. */
static void case_blob(void)
{
	registry_client *c = itest_client(1);
	registry_manifest *m = NULL;
	CHECK_RC(registry_manifest_fetch(&m, c, "fixtures/small-v2s2", "latest", NULL), 0);
	registry_store *blocking = itest_store("blob-blocking"), *looped = itest_store("blob-loop");
	pl p;
	registry_loop *L = pl_new(&p);
	size_t n = registry_manifest_layer_count(m) + 1;
	for (size_t i = 0; i < n; i++) {
		const registry_descriptor *d = i ? registry_manifest_layer(m, i - 1) : registry_manifest_config(m);
		const char *digest = registry_descriptor_digest(d);
		CHECK_RC(registry_blob_fetch(c, "fixtures/small-v2s2", digest, registry_descriptor_size(d), blocking, NULL), 0);
		skip_ctx k = {0};
		registry_blob_fetch_options o = REGISTRY_BLOB_FETCH_OPTIONS_INIT;
		o.progress = count_states;
		o.userdata = &k;
		for (int again = 0; again < 2; again++) {
			result r = {0};
			registry_op *op = NULL;
			CHECK_RC(registry_blob_fetch_start(&op, L, c, "fixtures/small-v2s2", digest,
			                                   again ? -1 : registry_descriptor_size(d), looped, &o, on_done, &r), 0);
			run_one(&p, L, op, &r);
			CHECK_INT(r.rc, 0);
			registry_op_free(op);
		}
		CHECK_INT(k.done, 1);
		CHECK_INT(k.skipped, 1);
		char cmd[1200];
		snprintf(cmd, sizeof(cmd), "cmp -s '%s/blob-blocking/blobs/sha256/%s' '%s/blob-loop/blobs/sha256/%s'",
		         getenv("REGISTRY_TEST_TMPDIR"), digest + 7, getenv("REGISTRY_TEST_TMPDIR"), digest + 7);
		CHECK_INT(itest_capture(cmd, NULL, NULL), 0);
	}
	itest_check_sound(looped);

	/* A blob the repository lacks: the blocking call's code and message. */
	const char *absent = "sha256:0000000000000000000000000000000000000000000000000000000000000001";
	int want = registry_blob_fetch(c, "fixtures/small-v2s2", absent, -1, blocking, NULL);
	CHECK_INT(want, REGISTRY_ENOTFOUND);
	char want_msg[512];
	snprintf(want_msg, sizeof(want_msg), "%s", registry_error_message(registry_error_last()));
	result r = {0};
	registry_op *op = NULL;
	CHECK_RC(registry_blob_fetch_start(&op, L, c, "fixtures/small-v2s2", absent, -1, looped, NULL, on_done, &r), 0);
	run_one(&p, L, op, &r);
	CHECK_INT(r.rc, want);
	CHECK_STR(r.message, want_msg);
	registry_op_free(op);
	op = NULL;
	/* Refused before any request, as registry_blob_fetch refuses them. */
	CHECK_RC(registry_blob_fetch_start(&op, L, c, "fixtures/small-v2s2", "sha256:nothex", -1, looped, NULL,
	                                   on_done, &r),
	         registry_blob_fetch(c, "fixtures/small-v2s2", "sha256:nothex", -1, looped, NULL));
	CHECK_RC(registry_blob_fetch_start(&op, L, c, "Bad Repo", absent, -1, looped, NULL, on_done, &r),
	         registry_blob_fetch(c, "Bad Repo", absent, -1, looped, NULL));
	CHECK(op == NULL);
	CHECK_INT(p.max_threads, 1);
	registry_loop_free(L);
	registry_store_free(blocking);
	registry_store_free(looped);
	registry_manifest_free(m);
	registry_client_free(c);
}

/* ---- copies ------------------------------------------------------------------------ */

/* The copies' temporary stores go into a private TMPDIR: entries left in it. */
static int copy_tmp_entries(void)
{
	return dir_entries(getenv("TMPDIR"));
}

static void copy_tmp_setup(void)
{
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s/copy-tmp", getenv("REGISTRY_TEST_TMPDIR"));
	CHECK(mkdir(dir, 0700) == 0);
	setenv("TMPDIR", dir, 1);
}

/* One copy on the loop from @from (on @c) to @to (on @tc), run to its end:
 * its result (and digest, when asked). */
static int loop_copy(pl *p, registry_loop *L, registry_client *c, const char *from, registry_client *tc,
                     const char *to, const registry_copy_options *o, char **digest, result *r)
{
	registry_reference *src = ref_of(from), *dst = ref_of(to);
	registry_op *op = NULL;
	memset(r, 0, sizeof(*r));
	int rc = registry_copy_start(&op, L, c, src, tc, dst, o, on_done, r);
	registry_reference_free(src);
	registry_reference_free(dst);
	if (rc)
		return rc;
	return run_to_end(p, L, op, digest, r);
}

/* The blocking copy of @from to @to with @o: its digest (0 expected). */
static char *blocking_copy(registry_client *c, const char *from, const char *to, const registry_copy_options *o)
{
	registry_reference *src = ref_of(from), *dst = ref_of(to);
	char *d = NULL;
	CHECK_RC(registry_copy(&d, c, src, c, dst, o), 0);
	registry_reference_free(src);
	registry_reference_free(dst);
	return d;
}

#define NCOPY 4

/* registry_copy_start between repositories of one registry: the blocking
 * copy's digest for a single image (4 copies at once, one thread), for an
 * index with REGISTRY_COPY_ALL_PLATFORMS and for one platform of it; the
 * images pulled back; the blocking errors; no temporary store left. */
static void case_copy(void)
{
	copy_tmp_setup();
	registry_client *c = itest_client(1);
	char *want = blocking_copy(c, "fixtures/small-v2s2:latest", "copy/blocking:v1", NULL);
	registry_client_free(c);
	c = itest_client(1); /* fresh: the loop finds the scheme and the token itself */

	/* Each copy's result, progress counts and options. */
	struct {
		result r;
		push_count n;
		registry_copy_options o;
	} cs[NCOPY];
	memset(cs, 0, sizeof(cs));
	registry_op *ops[NCOPY];
	pl p;
	registry_loop *L = pl_new(&p);
	registry_reference *src = ref_of("fixtures/small-v2s2:latest");
	for (int i = 0; i < NCOPY; i++) {
		char target[64];
		snprintf(target, sizeof(target), "copy/l%d:v1", i);
		registry_reference *t = ref_of(target);
		registry_copy_options_init(&cs[i].o);
		cs[i].o.chunk_size = i % 2 ? 0 : 256 * 1024;
		cs[i].o.progress = count_progress;
		cs[i].o.userdata = &cs[i].n;
		CHECK_RC(registry_copy_start(&ops[i], L, c, src, c, t, &cs[i].o, on_done, &cs[i].r), 0);
		registry_reference_free(t);
	}
	pl_run(&p, L, 120000);
	result res[NCOPY];
	registry_manifest *m = NULL;
	CHECK_RC(registry_manifest_fetch(&m, c, "fixtures/small-v2s2", "latest", NULL), 0);
	int nblobs = (int)registry_manifest_layer_count(m) + 1;
	registry_manifest_free(m);
	for (int i = 0; i < NCOPY; i++) {
		res[i] = cs[i].r;
		/* Progress is the push's: every blob ends once, sent, mounted
		 * (started, then skipped: as registry_copy reports a mount) or
		 * already there. */
		CHECK_INT(cs[i].n.done + cs[i].n.skipped, nblobs);
		CHECK(cs[i].n.started <= nblobs);
		CHECK_INT(cs[i].n.failed, 0);
	}
	run_expect(&p, L, ops, res, NCOPY, want, "copy");
	for (int i = 0; i < NCOPY; i++)
		registry_op_free(ops[i]);
	CHECK_INT(p.max_threads, 1);
	CHECK_INT(copy_tmp_entries(), 0);
	uint64_t steps = 0;
	int64_t max_us = 0;
	CHECK_RC(registry_loop_step_stats(&steps, &max_us, L), 0);
	printf("copy: %d copies, %llu steps, longest step %.2f ms, max threads %d\n", NCOPY,
	       (unsigned long long)steps, (double)max_us / 1000.0, p.max_threads);
	/* Pulled back as it is (a Docker v2s2 image: not converted). */
	pull_back_as(c, "copy/l3:v1", want, REGISTRY_PULL_PRESERVE_DIGESTS);
	registry_free(want);

	/* An index, every platform and the index: the children are there. */
	registry_copy_options all = REGISTRY_COPY_OPTIONS_INIT;
	all.flags = REGISTRY_COPY_ALL_PLATFORMS;
	want = blocking_copy(c, "fixtures/multi-oci:latest", "copy/bmulti:latest", &all);
	result r;
	char *got = NULL;
	/* With a handle of its own for the target (its token, its connections). */
	registry_client *tc = itest_client(1);
	CHECK_RC(loop_copy(&p, L, c, "fixtures/multi-oci:latest", tc, "copy/lmulti:latest", &all, &got, &r), 0);
	registry_client_free(tc);
	CHECK_STR(got, want);
	registry_free(got);
	registry_manifest *idx = NULL;
	CHECK_RC(registry_manifest_fetch(&idx, c, "copy/lmulti", "latest", NULL), 0);
	CHECK_STR(registry_manifest_digest(idx), want);
	CHECK(registry_manifest_entry_count(idx) >= 2);
	for (size_t i = 0; i < registry_manifest_entry_count(idx); i++)
		CHECK_RC(registry_manifest_resolve(NULL, NULL, NULL, c, "copy/lmulti",
		                                   registry_descriptor_digest(registry_manifest_entry(idx, i))), 0);
	registry_manifest_free(idx);
	registry_free(want);

	/* One platform of it (the host's, as registry_copy picks). */
	want = blocking_copy(c, "fixtures/multi-oci:latest", "copy/bone:latest", NULL);
	CHECK_RC(loop_copy(&p, L, c, "fixtures/multi-oci:latest", c, "copy/lone:latest", NULL, &got, &r), 0);
	CHECK_STR(got, want);
	registry_free(got);
	pull_back(c, "copy/lone:latest", want);
	registry_free(want);
	CHECK_INT(copy_tmp_entries(), 0);

	/* A missing source tag: the blocking copy's code and message. */
	registry_reference *missing = ref_of("fixtures/small-v2s2:no-such-tag");
	registry_reference *dst = ref_of("copy/missing:v1");
	int want_rc = registry_copy(NULL, c, missing, c, dst, NULL);
	CHECK_INT(want_rc, REGISTRY_ENOTFOUND);
	char want_msg[512];
	snprintf(want_msg, sizeof(want_msg), "%s", registry_error_message(registry_error_last()));
	CHECK_RC(loop_copy(&p, L, c, "fixtures/small-v2s2:no-such-tag", c, "copy/missing:v1", NULL, NULL, &r), want_rc);
	CHECK_INT(r.code, want_rc);
	CHECK_STR(r.message, want_msg);
	CHECK_INT(copy_tmp_entries(), 0);

	/* Refused, never ignored: what the composition cannot do; options of a
	 * later version; nothing started, no callback. */
	registry_op *op = NULL;
	result rn = {0};
	registry_copy_options newer = REGISTRY_COPY_OPTIONS_INIT;
	newer.version = REGISTRY_COPY_OPTIONS_VERSION + 1;
	CHECK_RC(registry_copy_start(&op, L, c, src, c, dst, &newer, on_done, &rn), REGISTRY_EINVAL);
	CHECK_RC(registry_copy_start(&op, L, c, src, c, dst, NULL, NULL, &rn), REGISTRY_EINVAL);
	CHECK(op == NULL);
	CHECK_INT(rn.called, 0);
	CHECK_INT(copy_tmp_entries(), 0);
	registry_reference_free(missing);
	registry_reference_free(dst);
	registry_reference_free(src);
	registry_loop_free(L);
	registry_client_free(c);
}

/* Cancel a copy of an 8 MiB layer while it is sent (from the progress
 * callback), and while it is fetched (a cancel after a few ms), and free
 * the loop under a running copy: REGISTRY_ECANCELED, nothing at the
 * target tag, no temporary store left; then the copy completes. */
static void case_copy_cancel(void)
{
	copy_tmp_setup();
	const char *from = "fixtures/big-oci:latest";
	registry_client *c = itest_client(1);
	pl p;
	registry_loop *L = pl_new(&p);
	cancel_ctx cc = {0};
	registry_copy_options o = REGISTRY_COPY_OPTIONS_INIT;
	o.chunk_size = 1 << 20;
	o.progress = cancel_on_bytes;
	o.userdata = &cc;
	registry_reference *src = ref_of(from), *dst = ref_of("copy/cancel:v1");
	result r = {0};
	CHECK_RC(registry_copy_start(&cc.op, L, c, src, c, dst, &o, on_done, &r), 0);
	pl_run(&p, L, 60000);
	CHECK_INT(r.called, 1);
	CHECK_INT(r.rc, REGISTRY_ECANCELED);
	CHECK(cc.seen > 0);
	registry_op_free(cc.op);
	CHECK_RC(registry_manifest_resolve(NULL, NULL, NULL, c, "copy/cancel", "v1"), REGISTRY_ENOTFOUND);
	CHECK_INT(copy_tmp_entries(), 0);

	/* Early, while the source is fetched. */
	registry_op *op = NULL;
	memset(&r, 0, sizeof(r));
	CHECK_RC(registry_copy_start(&op, L, c, src, c, dst, NULL, on_done, &r), 0);
	pl_run(&p, L, 20);
	CHECK_INT(r.called, 0);
	CHECK_RC(registry_op_cancel(op), 0);
	CHECK_INT(r.called, 1);
	CHECK_INT(r.rc, REGISTRY_ECANCELED);
	CHECK_INT(r.code, REGISTRY_ECANCELED);
	registry_op_free(op);
	CHECK_INT(registry_loop_pending(L), 0);
	CHECK_INT(copy_tmp_entries(), 0);

	/* The loop freed under a running copy (its pull and the copy itself
	 * are freed in the loop's order): nothing left either. */
	memset(&r, 0, sizeof(r));
	CHECK_RC(registry_copy_start(&op, L, c, src, c, dst, NULL, on_done, &r), 0);
	pl_run(&p, L, 20);
	registry_loop_free(L);
	CHECK_INT(r.called, 0);
	CHECK_INT(copy_tmp_entries(), 0);
	CHECK_RC(registry_manifest_resolve(NULL, NULL, NULL, c, "copy/cancel", "v1"), REGISTRY_ENOTFOUND);

	/* Then the copy completes, with the blocking copy's digest. */
	L = pl_new(&p);
	char *got = NULL;
	CHECK_RC(loop_copy(&p, L, c, from, c, "copy/cancel:v1", NULL, &got, &r), 0);
	char *want = blocking_copy(c, from, "copy/blocking:v1", NULL);
	CHECK_STR(got, want);
	CHECK_INT(p.max_threads, 1);
	registry_free(got);
	registry_free(want);
	registry_reference_free(src);
	registry_reference_free(dst);
	registry_loop_free(L);
	registry_client_free(c);
}

/* ---- direct writes (lib/loop/dwrite.c) ------------------------------------------- */

/* The whole file at @path (NULL when unreadable); *len its size. */
static char *slurp(const char *path, size_t *len)
{
	*len = 0;
	return check_read_file(path, len);
}

/* The reference copy of big-oci (a blocking pull, through the proxy once
 * its stalls are spent) and the layers' digests and sizes. */
typedef struct direct_ref {
	registry_store *s;
	char *top;
	size_t n;
	char digest[4][100];
	int64_t size[4];
} direct_ref;

static void direct_reference(direct_ref *dr, registry_client *c)
{
	memset(dr, 0, sizeof(*dr));
	registry_manifest *m = NULL;
	CHECK_RC(registry_manifest_fetch(&m, c, "fixtures/big-oci", "latest", NULL), 0);
	dr->n = m ? registry_manifest_layer_count(m) : 0;
	if (dr->n > 4)
		dr->n = 4;
	for (size_t i = 0; i < dr->n; i++) {
		const registry_descriptor *d = registry_manifest_layer(m, i);
		snprintf(dr->digest[i], sizeof(dr->digest[i]), "%s", registry_descriptor_digest(d));
		dr->size[i] = registry_descriptor_size(d);
		CHECK(dr->size[i] >= 2 * 1024 * 1024); /* large enough for direct writes */
	}
	registry_manifest_free(m);
	dr->s = itest_store("direct-reference");
	registry_reference *ref = ref_of("fixtures/big-oci:latest");
	CHECK_RC(registry_pull(&dr->top, c, ref, dr->s, "x", NULL), 0);
	registry_reference_free(ref);
}

/* The reference bytes of layer @i (*len its size). */
static char *direct_bytes(const direct_ref *dr, size_t i, size_t *len)
{
	char *path = NULL;
	CHECK_RC(registry_store_blob_path(&path, dr->s, dr->digest[i]), 0);
	char *b = path ? slurp(path, len) : NULL;
	registry_free(path);
	CHECK(b != NULL && (int64_t)*len == dr->size[i]);
	return b;
}

/* blobs/.partial/<alg>/<hex> of @digest in @s. */
static void partial_path(char *out, size_t size, registry_store *s, const char *digest)
{
	const char *colon = strchr(digest, ':');
	snprintf(out, size, "%s/blobs/.partial/%.*s/%s", registry_store_path(s), (int)(colon - digest), digest,
	         colon + 1);
}

static void write_partial(registry_store *s, const char *digest, const char *data, size_t len)
{
	char path[2048], dir[2048];
	partial_path(path, sizeof(path), s, digest);
	snprintf(dir, sizeof(dir), "%s/blobs/.partial", registry_store_path(s));
	mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/blobs/.partial/sha256", registry_store_path(s));
	mkdir(dir, 0755);
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	if (f) {
		CHECK_INT((int)fwrite(data, 1, len, f), (int)len);
		fclose(f);
	}
}

/* One loop pull of big-oci into @s: its result. */
static result direct_pull(registry_client *c, registry_store *s, registry_pull_options *o, cancel_ctx *cc,
                          char **digest)
{
	pl p;
	registry_loop *L = pl_new(&p);
	registry_reference *ref = ref_of("fixtures/big-oci:latest");
	result r = {0};
	registry_op *op = NULL;
	CHECK_RC(registry_pull_start(&op, L, c, ref, s, "x", o, on_done, &r), 0);
	if (cc)
		cc->op = op;
	pl_run(&p, L, 120000);
	CHECK_INT(r.called, 1);
	if (digest && !r.rc)
		CHECK_RC(registry_op_result_digest(digest, op), 0);
	CHECK_INT(p.max_threads, 1);
	registry_op_free(op);
	registry_loop_free(L);
	registry_reference_free(ref);
	return r;
}

/* A loop pull of big-oci into @s that succeeds with @dr's digest, @s sound. */
static void direct_pull_ok(registry_client *c, registry_store *s, const direct_ref *dr, const char *what)
{
	char *got = NULL;
	result r = direct_pull(c, s, NULL, NULL, &got);
	CHECK_INT(r.rc, 0);
	if (r.rc)
		fprintf(stderr, "%s: %s\n", what, r.message);
	CHECK_STR(got, dr->top);
	registry_free(got);
	itest_check_sound(s);
}

/* Cancel once a layer has 2 MiB in (the proxy stalls each first GET after
 * half its body, so the cancel lands mid-blob whatever the speed). */
static int cancel_at_2mib(const registry_progress *pr, void *ud)
{
	cancel_ctx *cc = ud;
	if (registry_progress_state(pr) == REGISTRY_PROGRESS_RUNNING &&
	    registry_progress_bytes_done(pr) >= 2 * 1024 * 1024 && cc->op) {
		cc->seen = registry_progress_bytes_done(pr);
		registry_op_cancel(cc->op);
	}
	return 0;
}

/* Direct writes under the stalling proxy: a cancel mid-blob leaves each
 * partial a true prefix of its blob (trimmed to what reached the disk) and
 * the next loop pull resumes it; a partial ending off a 4 KiB boundary (the
 * blocking pull's kind) is resumed from its exact length; a partial of the
 * blob's full size but the wrong bytes (a process killed mid-blob) is
 * pulled again from byte 0; each store verifies and has the blocking
 * pull's digest. */
static void case_direct(void)
{
	registry_client *c = itest_client(1);
	registry_store *s = itest_store("direct-cancel");
	cancel_ctx cc = {0};
	registry_pull_options o = REGISTRY_PULL_OPTIONS_INIT;
	o.progress = cancel_at_2mib;
	o.userdata = &cc;
	result r = direct_pull(c, s, &o, &cc, NULL);
	CHECK_INT(r.rc, REGISTRY_ECANCELED);
	CHECK(cc.seen >= 2 * 1024 * 1024);

	direct_ref dr;
	direct_reference(&dr, c);
	int kept = 0;
	for (size_t i = 0; i < dr.n; i++) {
		char path[2048];
		partial_path(path, sizeof(path), s, dr.digest[i]);
		size_t plen = 0, blen = 0;
		char *part = slurp(path, &plen);
		if (!part)
			continue; /* not started before the cancel */
		char *blob = direct_bytes(&dr, i, &blen);
		printf("direct: layer %zu: partial of %zu of %zu bytes after the cancel\n", i, plen, blen);
		CHECK(plen <= blen);
		CHECK(blob && plen <= blen && memcmp(part, blob, plen) == 0);
		if (plen >= 256 * 1024)
			kept++;
		free(part);
		free(blob);
	}
	CHECK(kept >= 1); /* direct writes reached the disk before the cancel, and were kept */
	char *got = NULL;
	r = direct_pull(c, s, NULL, NULL, &got);
	CHECK_INT(r.rc, 0);
	CHECK_STR(got, dr.top);
	registry_free(got);
	itest_check_sound(s);
	registry_store_free(s);

	/* A partial of odd length: resumed from that byte. */
	registry_store *odd = itest_store("direct-odd");
	int64_t asked[4];
	for (size_t i = 0; i < dr.n; i++) {
		size_t blen = 0;
		char *blob = direct_bytes(&dr, i, &blen);
		asked[i] = (int64_t)(blen / 2 + 123);
		if (blob)
			write_partial(odd, dr.digest[i], blob, (size_t)asked[i]);
		free(blob);
	}
	direct_pull_ok(c, odd, &dr, "direct-odd");
	const char *log = getenv("REGISTRY_TEST_PROXY_LOG");
	for (size_t i = 0; i < dr.n && log; i++) {
		char range[64];
		snprintf(range, sizeof(range), "bytes=%lld-", (long long)asked[i]);
		CHECK_INT(itest_count_log_lines(log, range) >= 1, 1);
	}
	registry_store_free(odd);

	/* A partial of full size, of zeros: not the blob, pulled again. */
	registry_store *full = itest_store("direct-full");
	for (size_t i = 0; i < dr.n; i++) {
		char *zeros = calloc(1, (size_t)dr.size[i]);
		CHECK(zeros != NULL);
		if (zeros)
			write_partial(full, dr.digest[i], zeros, (size_t)dr.size[i]);
		free(zeros);
	}
	direct_pull_ok(c, full, &dr, "direct-full");
	registry_store_free(full);

	registry_store_free(dr.s);
	registry_free(dr.top);
	registry_client_free(c);
}

/* A server that ignores Range (the proxy drops it): a kept partial of odd
 * length is written again from byte 0 by the direct writer. */
static void case_direct_norange(void)
{
	registry_client *c = itest_client(1);
	direct_ref dr;
	direct_reference(&dr, c);
	registry_store *s = itest_store("direct-norange");
	for (size_t i = 0; i < dr.n; i++) {
		size_t blen = 0;
		char *blob = direct_bytes(&dr, i, &blen);
		if (blob)
			write_partial(s, dr.digest[i], blob, blen / 3 + 7);
		free(blob);
	}
	direct_pull_ok(c, s, &dr, "direct-norange");
	registry_store_free(s);
	registry_store_free(dr.s);
	registry_free(dr.top);
	registry_client_free(c);
}

/* Connections reset and bodies cut short mid-blob (the proxy's seeded
 * chaos): the loop pull resumes each blob with direct writes and ends
 * with the blocking pull's digest and a sound store. */
static void case_direct_chaos(void)
{
	int retries = 0;
	registry_client *c = retrying_client(10, 10, &retries);
	direct_ref dr;
	direct_reference(&dr, c);
	registry_store *s = itest_store("direct-chaos");
	direct_pull_ok(c, s, &dr, "direct-chaos");
	printf("direct-chaos: %d retries\n", retries);
	CHECK(retries >= 1); /* the schedule faulted some requests */
	registry_store_free(s);
	registry_store_free(dr.s);
	registry_free(dr.top);
	registry_client_free(c);
}

/* More transfers writing directly than the loop has staging buffers (40
 * pulls of big-oci: 80 layers of 8 MiB, 64 buffers): the pool runs short
 * and transfers wait for buffers, yet every pull ends, each store verifies,
 * one thread throughout. (Whether every buffer is held at once depends on
 * timing; case_direct_dry makes that state for certain.) */
#define NMANY 40
static void case_direct_many(void)
{
	registry_client *c = itest_client(1);
	registry_reference *ref = ref_of("fixtures/big-oci:latest");
	registry_store *blocking = itest_store("many-blocking");
	char *want = NULL;
	CHECK_RC(registry_pull(&want, c, ref, blocking, "x", NULL), 0);
	pl p;
	registry_loop *L = pl_new(&p);
	registry_store *stores[NMANY];
	registry_op *ops[NMANY];
	result res[NMANY];
	memset(res, 0, sizeof(res));
	for (int i = 0; i < NMANY; i++) {
		stores[i] = store_named("many-%d", i);
		CHECK_RC(registry_pull_start(&ops[i], L, c, ref, stores[i], "x", NULL, on_done, &res[i]), 0);
	}
	pl_run(&p, L, 60000);
	CHECK_INT(registry_loop_pending(L), 0);
	for (int i = 0; i < NMANY; i++) {
		CHECK_INT(res[i].rc, 0);
		if (res[i].called && res[i].rc)
			fprintf(stderr, "many %d: %s\n", i, res[i].message);
		CHECK_STR(entry_digest(stores[i], "x"), want);
		itest_check_sound(stores[i]);
	}
	registry_loop_free(L); /* the ops still pending (a failure above) go with it */
	for (int i = 0; i < NMANY; i++)
		registry_store_free(stores[i]);
	CHECK_INT(p.max_threads, 1);
	registry_free(want);
	registry_store_free(blocking);
	registry_reference_free(ref);
	registry_client_free(c);
}

/* A pool run dry by stalled transfers: the proxy stalls the first 64 blob
 * GETs after half their body, so 64 layer fetches each hold a partly filled
 * staging buffer (the loop's 64) with no write in flight. The two fetches
 * it serves whole must still get buffers and end at once (they may not
 * wait for a write that will never come), while the 64 stay stalled. */
#define NDRY 33
static void case_direct_dry(void)
{
	registry_client *c = itest_client(1);
	registry_manifest *m = NULL;
	CHECK_RC(registry_manifest_fetch(&m, c, "fixtures/big-oci", "latest", NULL), 0);
	CHECK(m && registry_manifest_layer_count(m) == 2);
	if (!m || registry_manifest_layer_count(m) != 2)
		return;
	pl p;
	registry_loop *L = pl_new(&p);
	registry_store *stores[NDRY];
	registry_op *ops[2 * NDRY];
	result res[2 * NDRY];
	memset(res, 0, sizeof(res));
	for (int i = 0; i < NDRY; i++) {
		stores[i] = store_named("dry-%d", i);
		for (int j = 0; j < 2; j++) {
			const registry_descriptor *d = registry_manifest_layer(m, (size_t)j);
			CHECK_RC(registry_blob_fetch_start(&ops[2 * i + j], L, c, "fixtures/big-oci", registry_descriptor_digest(d),
			                                   registry_descriptor_size(d), stores[i], NULL, on_done,
			                                   &res[2 * i + j]), 0);
		}
	}
	/* Until two have ended (or 30 s: the proxy's stalls last 60). */
	long long until = now_us_t() + 30000000LL;
	int ended = 0;
	while (now_us_t() < until) {
		pl_run(&p, L, 200);
		ended = 0;
		for (int i = 0; i < 2 * NDRY; i++)
			ended += res[i].called;
		if (ended >= 2)
			break;
	}
	printf("direct-dry: %d of %d fetches ended while 64 stall\n", ended, 2 * NDRY);
	CHECK_INT(ended, 2);
	for (int i = 0; i < 2 * NDRY; i++)
		if (res[i].called) {
			CHECK_INT(res[i].rc, 0);
			if (res[i].rc)
				fprintf(stderr, "dry %d: %s\n", i, res[i].message);
		}
	CHECK_INT(p.max_threads, 1);
	registry_loop_free(L); /* the stalled fetches go with it, their partials trimmed */
	for (int i = 0; i < NDRY; i++) {
		itest_check_sound(stores[i]);
		registry_store_free(stores[i]);
	}
	registry_manifest_free(m);
	registry_client_free(c);
}

typedef struct rehash_ctx {
	registry_loop *L;
	uint64_t at_started; /* loop steps when the transfer started */
} rehash_ctx;

static int note_started(const registry_progress *pr, void *ud)
{
	rehash_ctx *rc = ud;
	if (registry_progress_state(pr) == REGISTRY_PROGRESS_STARTED && !rc->at_started)
		registry_loop_step_stats(&rc->at_started, NULL, rc->L);
	return 0;
}

/* A kept partial of 90 MiB is re-hashed in pieces over many steps (in one
 * step it took 142 ms here), then the fetch resumes after it and the blob
 * verifies. */
static void case_rehash(void)
{
	registry_client *c = itest_client(1);
	const size_t size = (size_t)96 << 20, kept = (size_t)90 << 20;
	char path[1024];
	char *digest = NULL;
	random_file(path, sizeof(path), "rehash.bin", size, &digest);
	CHECK_RC(registry_blob_upload_file(c, "rehash/blob", digest, path, NULL), 0);
	registry_store *s = itest_store("rehash");
	size_t len = 0;
	char *bytes = slurp(path, &len);
	CHECK(bytes && len == size);
	if (bytes)
		write_partial(s, digest, bytes, kept);
	free(bytes);
	pl p;
	registry_loop *L = pl_new(&p);
	rehash_ctx rc = {.L = L};
	registry_blob_fetch_options o = REGISTRY_BLOB_FETCH_OPTIONS_INIT;
	o.progress = note_started;
	o.userdata = &rc;
	result r = {0};
	registry_op *op = NULL;
	uint64_t before = 0;
	registry_loop_step_stats(&before, NULL, L);
	CHECK_RC(registry_blob_fetch_start(&op, L, c, "rehash/blob", digest, (int64_t)size, s, &o, on_done, &r), 0);
	pl_run(&p, L, 60000);
	CHECK_INT(r.rc, 0);
	itest_check_sound(s);
	int64_t max_us = 0;
	registry_loop_step_stats(NULL, &max_us, L);
	printf("rehash: %llu steps before the transfer started, longest step %.2f ms\n",
	       (unsigned long long)(rc.at_started - before), (double)max_us / 1000.0);
	CHECK(rc.at_started >= before + 8); /* 90 MiB at ~2 GB/s in 2 ms pieces */
	const char *log = getenv("REGISTRY_TEST_PROXY_LOG");
	if (log) {
		char range[64];
		snprintf(range, sizeof(range), "bytes=%zu-", kept);
		CHECK(itest_count_log_lines(log, range) >= 1); /* resumed after the kept bytes */
	}
	registry_op_free(op);
	registry_loop_free(L);
	registry_store_free(s);
	unlink(path);
	registry_free(digest);
	registry_client_free(c);
}

/* ---- referrers (REGISTRY_PULL_REFERRERS, REGISTRY_COPY_REFERRERS, a push of a
 * referrer) on registry 2.8, which has no referrers API: the tag schema ---- */

/* An artifact about @subject: config and layer the blob "{}", the type @type. */
static registry_manifest *artifact_about(const registry_manifest *subject, const char *type, const char *who)
{
	registry_manifest *m = itest_referrer(subject, type, who);
	CHECK(m != NULL);
	return m;
}

/* A store holding @m (and the blob "{}") under the name @name. */
static registry_store *store_with(const char *dir, const registry_manifest *m, const char *name)
{
	registry_store *s = itest_store(dir);
	size_t len = 0;
	const void *raw = registry_manifest_raw(m, &len);
	CHECK_RC(registry_store_add_blob(NULL, s, ITEST_EMPTY_DIGEST, "{}", 2), 0);
	CHECK_RC(registry_store_add_blob(NULL, s, registry_manifest_digest(m), raw, len), 0);
	registry_descriptor_spec spec = REGISTRY_DESCRIPTOR_SPEC_INIT;
	spec.media_type = registry_manifest_media_type(m);
	spec.digest = registry_manifest_digest(m);
	spec.size = registry_manifest_size(m);
	CHECK_RC(registry_store_index_add(s, &spec, name), 0);
	return s;
}

/* The referrers of @digest in @repo as the blocking API lists them: the
 * index's digest (static buffer) and its entry count. */
static const char *listed(registry_client *c, const char *repo, const char *digest, size_t *n)
{
	static char buf[200];
	registry_manifest *idx = NULL;
	CHECK_RC(registry_referrers_fetch(&idx, c, repo, digest, NULL), 0);
	*n = idx ? registry_manifest_entry_count(idx) : 0;
	snprintf(buf, sizeof(buf), "%s", idx ? registry_manifest_digest(idx) : "");
	registry_manifest_free(idx);
	return buf;
}

/* The index.json of @s, whole. */
static char *index_json(registry_store *s)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/index.json", registry_store_path(s));
	size_t len = 0;
	return slurp(path, &len);
}

/* The push of a referrer: the blocking one and the loop's keep the tag
 * schema the same way (the same index, each entry once). */
static void referrers_push(pl *p, registry_loop *L, registry_client *c, const registry_manifest *image,
                           registry_manifest **sbom_out)
{
	registry_manifest *sbom = artifact_about(image, "application/vnd.example.sbom", "loop");
	registry_store *s = store_with("ref-push", sbom, "sbom");
	result r;
	char *got = NULL;
	CHECK_RC(loop_push(p, L, c, s, "sbom", "fixtures/small-oci:sbom", NULL, &got, &r), 0);
	CHECK_STR(got, registry_manifest_digest(sbom));
	registry_free(got);
	size_t n = 0;
	listed(c, "fixtures/small-oci", registry_manifest_digest(image), &n);
	CHECK_INT(n, 2); /* the signature pushed before, and this one */
	/* Again: listed already, no second entry. */
	CHECK_RC(loop_push(p, L, c, s, "sbom", "fixtures/small-oci:sbom", NULL, NULL, &r), 0);
	listed(c, "fixtures/small-oci", registry_manifest_digest(image), &n);
	CHECK_INT(n, 2);
	/* Into repositories of their own: the same tag index, byte for byte. */
	registry_reference *t = ref_of("lref/block:sbom");
	CHECK_RC(registry_push(NULL, c, s, "sbom", t, NULL), 0);
	registry_reference_free(t);
	CHECK_RC(loop_push(p, L, c, s, "sbom", "lref/loop:sbom", NULL, NULL, &r), 0);
	char want[200];
	snprintf(want, sizeof(want), "%s", listed(c, "lref/block", registry_manifest_digest(image), &n));
	CHECK_INT(n, 1);
	CHECK_STR(listed(c, "lref/loop", registry_manifest_digest(image), &n), want);
	CHECK_INT(n, 1);
	registry_store_free(s);
	*sbom_out = sbom;
}

/* registry_pull_to_start() with REGISTRY_PULL_REFERRERS: into an OCI layout
 * as registry_pull_to() (the same index.json); refused for a docker-load
 * destination with registry_pull_to()'s code and message. */
static void referrers_pull_to(pl *p, registry_loop *L, registry_client *c, const registry_reference *ref)
{
	registry_pull_options o = REGISTRY_PULL_OPTIONS_INIT;
	o.flags = REGISTRY_PULL_REFERRERS;
	char db[1024], dl[1024];
	snprintf(db, sizeof(db), "%s/ref-to-blocking", getenv("REGISTRY_TEST_TMPDIR"));
	snprintf(dl, sizeof(dl), "%s/ref-to-loop", getenv("REGISTRY_TEST_TMPDIR"));
	char *want = NULL, *got = NULL;
	CHECK_RC(registry_pull_to(&want, c, ref, db, REGISTRY_IMAGE_FORMAT_OCI, &o), 0);
	registry_op *op = NULL;
	result r = {0};
	CHECK_RC(registry_pull_to_start(&op, L, c, ref, dl, REGISTRY_IMAGE_FORMAT_OCI, &o, on_done, &r), 0);
	CHECK_RC(run_to_end(p, L, op, &got, &r), 0);
	CHECK_STR(got, want);
	registry_store *sb = NULL, *sl = NULL;
	CHECK_RC(registry_store_open(&sb, db, 0), 0);
	CHECK_RC(registry_store_open(&sl, dl, 0), 0);
	CHECK_INT(registry_store_index_count(sl), 4);
	char *jb = index_json(sb), *jl = index_json(sl);
	CHECK_STR(jl, jb);
	free(jb);
	free(jl);
	registry_store_free(sb);
	registry_store_free(sl);
	registry_free(want);
	registry_free(got);
	snprintf(dl, sizeof(dl), "%s/ref-to-docker", getenv("REGISTRY_TEST_TMPDIR"));
	int want_rc = registry_pull_to(NULL, c, ref, dl, REGISTRY_IMAGE_FORMAT_DOCKER_DIR, &o);
	CHECK_INT(want_rc, REGISTRY_EINVAL);
	char msg[512];
	snprintf(msg, sizeof(msg), "%s", registry_error_message(registry_error_last()));
	op = NULL;
	CHECK_RC(registry_pull_to_start(&op, L, c, ref, dl, REGISTRY_IMAGE_FORMAT_DOCKER_DIR, &o, on_done, &r),
	         want_rc);
	CHECK(op == NULL);
	CHECK_STR(registry_error_message(registry_error_last()), msg);
}

/* A progress callback that cancels at the first blob of a referrer (the
 * image has no "{}" blob, its referrers have nothing else). */
static int cancel_at_referrer(const registry_progress *pr, void *ud)
{
	(void)ud;
	return strcmp(registry_progress_digest(pr), ITEST_EMPTY_DIGEST) == 0;
}

/* REGISTRY_PULL_REFERRERS: the blocking pull's digest and index.json; a
 * cancel while a referrer is pulled ends both the same way, and the loop
 * pull then goes on from what the store holds. */
static void referrers_pull(pl *p, registry_loop *L, registry_client *c)
{
	registry_reference *ref = ref_of("fixtures/small-oci:latest");
	registry_pull_options o = REGISTRY_PULL_OPTIONS_INIT;
	o.flags = REGISTRY_PULL_REFERRERS;
	registry_store *sb = itest_store("ref-pull-blocking"), *sl = itest_store("ref-pull-loop");
	char *want = NULL, *got = NULL;
	registry_pull_options oc = o;
	oc.progress = cancel_at_referrer;
	CHECK_RC(registry_pull(NULL, c, ref, sb, NULL, &oc), REGISTRY_ECANCELED);
	registry_op *op = NULL;
	result r = {0};
	CHECK_RC(registry_pull_start(&op, L, c, ref, sl, NULL, &oc, on_done, &r), 0);
	CHECK_RC(run_to_end(p, L, op, NULL, &r), REGISTRY_ECANCELED);
	CHECK_INT(registry_loop_pending(L), 0);

	CHECK_RC(registry_pull(&want, c, ref, sb, NULL, &o), 0);
	CHECK_INT(registry_store_index_count(sb), 4); /* the image, its two referrers, the signature's */
	memset(&r, 0, sizeof(r));
	CHECK_RC(registry_pull_start(&op, L, c, ref, sl, NULL, &o, on_done, &r), 0);
	CHECK_RC(run_to_end(p, L, op, &got, &r), 0);
	CHECK_STR(got, want);
	char *jb = index_json(sb), *jl = index_json(sl);
	CHECK_STR(jl, jb);
	itest_check_sound(sl);
	free(jb);
	free(jl);
	registry_free(want);
	registry_free(got);
	registry_store_free(sb);
	registry_store_free(sl);
	referrers_pull_to(p, L, c, ref);
	registry_reference_free(ref);
}

/* REGISTRY_COPY_REFERRERS: the blocking copy's digest, and the same
 * referrers at the destination, at each depth. */
static void referrers_copy(pl *p, registry_loop *L, registry_client *c, const registry_manifest *image,
                           const registry_manifest *sig)
{
	registry_copy_options o = REGISTRY_COPY_OPTIONS_INIT;
	o.flags = REGISTRY_COPY_REFERRERS;
	/* Canceled while a referrer is copied: as the blocking copy, and no
	 * temporary store (the referrer's copy has its own) left. */
	registry_copy_options oc = o;
	oc.progress = cancel_at_referrer;
	registry_reference *src = ref_of("fixtures/small-oci:latest"), *dst = ref_of("lref/copy-cancel:v1");
	CHECK_RC(registry_copy(NULL, c, src, c, dst, &oc), REGISTRY_ECANCELED);
	registry_reference_free(src);
	registry_reference_free(dst);
	result r;
	CHECK_RC(loop_copy(p, L, c, "fixtures/small-oci:latest", c, "lref/copy-cancel:v1", &oc, NULL, &r),
	         REGISTRY_ECANCELED);
	CHECK_INT(copy_tmp_entries(), 0);
	char *want = blocking_copy(c, "fixtures/small-oci:latest", "lref/copy-block:v1", &o), *got = NULL;
	CHECK_RC(loop_copy(p, L, c, "fixtures/small-oci:latest", c, "lref/copy-loop:v1", &o, &got, &r), 0);
	CHECK_STR(got, want);
	const char *subjects[] = {registry_manifest_digest(image), registry_manifest_digest(sig)};
	for (int i = 0; i < 2; i++) {
		size_t nb = 0, nl = 0;
		char idx[200];
		snprintf(idx, sizeof(idx), "%s", listed(c, "lref/copy-block", subjects[i], &nb));
		CHECK_STR(listed(c, "lref/copy-loop", subjects[i], &nl), idx);
		CHECK_INT(nl, nb);
		CHECK_INT(nl, i == 0 ? 2 : 1);
	}
	CHECK_INT(copy_tmp_entries(), 0);
	registry_free(want);
	registry_free(got);
}

/* A referrers tag listing a manifest the registry no longer has (pushed,
 * then deleted): the blocking pull's and copy's failure, code and message. */
static void referrers_errors(pl *p, registry_loop *L, registry_client *c)
{
	registry_manifest *other = NULL;
	CHECK_RC(registry_manifest_fetch(&other, c, "fixtures/small-v2s2", "latest", NULL), 0);
	registry_manifest *gone = artifact_about(other, "application/vnd.example.sig", "gone");
	const char *digest = registry_manifest_digest(gone);
	CHECK_RC(registry_manifest_push(NULL, c, "fixtures/small-v2s2", digest, gone), 0);
	CHECK_RC(registry_manifest_delete(NULL, c, "fixtures/small-v2s2", digest, NULL), 0);

	registry_reference *ref = ref_of("fixtures/small-v2s2:latest");
	registry_pull_options o = REGISTRY_PULL_OPTIONS_INIT;
	o.flags = REGISTRY_PULL_REFERRERS;
	registry_store *sb = itest_store("ref-err-blocking"), *sl = itest_store("ref-err-loop");
	int want = registry_pull(NULL, c, ref, sb, NULL, &o);
	CHECK_INT(want, REGISTRY_ENOTFOUND);
	char msg[512];
	snprintf(msg, sizeof(msg), "%s", registry_error_message(registry_error_last()));
	registry_op *op = NULL;
	result r = {0};
	CHECK_RC(registry_pull_start(&op, L, c, ref, sl, NULL, &o, on_done, &r), 0);
	CHECK_RC(run_to_end(p, L, op, NULL, &r), want);
	CHECK_STR(r.message, msg);

	registry_copy_options co = REGISTRY_COPY_OPTIONS_INIT;
	co.flags = REGISTRY_COPY_REFERRERS;
	registry_reference *dst = ref_of("lref/copy-err:v1");
	want = registry_copy(NULL, c, ref, c, dst, &co);
	CHECK_INT(want, REGISTRY_ENOTFOUND);
	snprintf(msg, sizeof(msg), "%s", registry_error_message(registry_error_last()));
	CHECK_RC(loop_copy(p, L, c, "fixtures/small-v2s2:latest", c, "lref/copy-err:v1", &co, NULL, &r), want);
	CHECK_STR(r.message, msg);
	CHECK_INT(copy_tmp_entries(), 0);
	registry_reference_free(dst);
	registry_reference_free(ref);
	registry_store_free(sb);
	registry_store_free(sl);
	registry_manifest_free(gone);
	registry_manifest_free(other);
}

static void case_referrers(void)
{
	copy_tmp_setup();
	registry_client *c = itest_client(1);
	pl p;
	registry_loop *L = pl_new(&p);
	registry_manifest *image = NULL;
	CHECK_RC(registry_manifest_fetch(&image, c, "fixtures/small-oci", "latest", NULL), 0);
	char path[1024];
	snprintf(path, sizeof(path), "%s/empty-blob", env_or("REGISTRY_TEST_TMPDIR", "/tmp"));
	FILE *f = fopen(path, "w");
	CHECK(f && fputs("{}", f) >= 0);
	if (f)
		fclose(f);
	const char *repos[] = {"fixtures/small-oci", "lref/block", "lref/loop", "fixtures/small-v2s2"};
	for (int i = 0; i < 4; i++)
		CHECK_RC(registry_blob_upload_file(c, repos[i], ITEST_EMPTY_DIGEST, path, NULL), 0);
	/* A signature of the image and one of the signature (depth 2), pushed
	 * blocking; an SBOM pushed on the loop. */
	registry_manifest *sig = artifact_about(image, "application/vnd.example.sig", "one");
	registry_manifest *sig2 = artifact_about(sig, "application/vnd.example.sig", "two");
	CHECK_RC(registry_manifest_push(NULL, c, "fixtures/small-oci", registry_manifest_digest(sig), sig), 0);
	CHECK_RC(registry_manifest_push(NULL, c, "fixtures/small-oci", registry_manifest_digest(sig2), sig2), 0);
	registry_manifest *sbom = NULL;
	referrers_push(&p, L, c, image, &sbom);
	referrers_pull(&p, L, c);
	referrers_copy(&p, L, c, image, sig);
	referrers_errors(&p, L, c);
	CHECK_INT(p.max_threads, 1);
	printf("referrers: steps under 1/2/5/10/50 ms and longer: %lld %lld %lld %lld %lld %lld; longest gap %lld ms\n",
	       p.hist[0], p.hist[1], p.hist[2], p.hist[3], p.hist[4], p.hist[5], p.max_gap_ms);
	registry_manifest_free(sbom);
	registry_manifest_free(sig2);
	registry_manifest_free(sig);
	registry_manifest_free(image);
	registry_loop_free(L);
	registry_client_free(c);
}

/* ---- signature policies (lib/loop/verify.c) ------------------------------------ */

/* A P-256 key pair made by openssl in @dir (k.pem, k.pub); the private key's bytes. */
static char *policy_key(const char *dir, size_t *len)
{
	char cmd[4096], path[1100];
	snprintf(cmd, sizeof(cmd), "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s/k.pem && "
	         "openssl pkey -in %s/k.pem -pubout -out %s/k.pub", dir, dir, dir);
	CHECK_INT(itest_capture(cmd, NULL, NULL), 0);
	snprintf(path, sizeof(path), "%s/k.pem", dir);
	return slurp(path, len);
}

/* A copy of the fixture as loop-policy/NAME:v1 (blocking). */
static void policy_image(registry_client *c, const char *name)
{
	char to[256];
	snprintf(to, sizeof(to), "loop-policy/%s:v1", name);
	registry_free(blocking_copy(c, "fixtures/small-v2s2:latest", to, NULL));
}

/* The policy: loop-policy/{signed,referred,unsigned} need a cosign
 * signature by k.pub, fixtures/small-v2s2 is accepted as it is, anything
 * else rejected by default. */
static registry_policy *policy_for(const char *dir)
{
	const char *host = getenv("REGISTRY_TEST_HOST");
	char key[1200], json[8192];
	snprintf(key, sizeof(key), "[{\"type\":\"sigstoreSigned\",\"keyPath\":\"%s/k.pub\","
	         "\"signedIdentity\":{\"type\":\"matchRepository\"}}]", dir);
	snprintf(json, sizeof(json), "{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{"
	         "\"%s/loop-policy/signed\":%s,\"%s/loop-policy/referred\":%s,\"%s/loop-policy/unsigned\":%s,"
	         "\"%s/fixtures/small-v2s2\":[{\"type\":\"insecureAcceptAnything\"}]}}}",
	         host, key, host, key, host, key, host);
	registry_policy *policy = NULL;
	CHECK_RC(registry_policy_load_from_memory(&policy, json, strlen(json), NULL), 0);
	return policy;
}

/* @path pulled with @o, blocking then on the loop (each into a store of its
 * own): the same code, message, digest and index entry, one thread; a
 * refused pull wrote nothing. Returns the loop's code. */
static int policy_pull(pl *p, registry_loop *L, registry_client *c, const char *path, const registry_pull_options *o)
{
	static int n;
	char bname[64], lname[64], blobs[1200];
	snprintf(bname, sizeof(bname), "policy-b%d", n);
	snprintf(lname, sizeof(lname), "policy-l%d", n++);
	registry_reference *ref = ref_of(path);
	registry_store *bs = itest_store(bname), *ls = itest_store(lname);
	char *bd = NULL, bmsg[512];
	int brc = registry_pull(&bd, c, ref, bs, NULL, o);
	snprintf(bmsg, sizeof(bmsg), "%s", registry_error_message(registry_error_last()));
	result r = {0};
	registry_op *op = NULL;
	CHECK_RC(registry_pull_start(&op, L, c, ref, ls, NULL, o, on_done, &r), 0);
	p->max_threads = 0;
	pl_run(p, L, 120000);
	CHECK_INT(p->max_threads, 1);
	CHECK_INT(r.called, 1);
	CHECK_INT(r.rc, brc);
	if (brc) {
		CHECK_STR(r.message, bmsg);
		CHECK_INT((int)registry_store_index_count(ls), 0);
		snprintf(blobs, sizeof(blobs), "%s/%s/blobs/sha256", getenv("REGISTRY_TEST_TMPDIR"), lname);
		CHECK_INT(dir_entries(blobs), 0);
	} else {
		char *ld = NULL;
		CHECK_RC(registry_op_result_digest(&ld, op), 0);
		CHECK_STR(ld, bd);
		CHECK_STR(entry_digest(ls, strrchr(path, ':') + 1), bd);
		itest_check_sound(ls);
		registry_free(ld);
	}
	registry_op_free(op);
	registry_free(bd);
	registry_store_free(bs);
	registry_store_free(ls);
	registry_reference_free(ref);
	return brc;
}

/* registry_copy_start with a policy against registry_copy's: the same
 * digest when accepted; the same code and message when refused, and
 * nothing pushed. */
static void policy_copy(pl *p, registry_loop *L, registry_client *c, const registry_policy *policy)
{
	registry_copy_options o = REGISTRY_COPY_OPTIONS_INIT;
	o.policy = policy;
	char *bd = blocking_copy(c, "loop-policy/signed:v1", "loop-policy/copied:blocking", &o), *ld = NULL;
	result r;
	CHECK_RC(loop_copy(p, L, c, "loop-policy/signed:v1", c, "loop-policy/copied:loop", &o, &ld, &r), 0);
	CHECK_STR(ld, bd);
	registry_free(ld);
	registry_free(bd);

	registry_reference *src = ref_of("loop-policy/unsigned:v1"), *dst = ref_of("loop-policy/copied:refused");
	int brc = registry_copy(NULL, c, src, c, dst, &o);
	char bmsg[512];
	snprintf(bmsg, sizeof(bmsg), "%s", registry_error_message(registry_error_last()));
	CHECK_INT(brc, REGISTRY_EDENIED);
	p->max_threads = 0;
	CHECK_RC(loop_copy(p, L, c, "loop-policy/unsigned:v1", c, "loop-policy/copied:refused", &o, NULL, &r),
	         REGISTRY_EDENIED);
	CHECK_INT(p->max_threads, 1);
	CHECK_STR(r.message, bmsg);
	CHECK_RC(registry_manifest_resolve(NULL, NULL, NULL, c, "loop-policy/copied", "refused"), REGISTRY_ENOTFOUND);
	CHECK_INT(copy_tmp_entries(), 0);
	registry_reference_free(src);
	registry_reference_free(dst);
}

/* Pulls and copies with a signature policy in loop mode: cosign signatures
 * on the .sig tag and as a referrer (written by registry_sign_cosign to the
 * real registry, key by openssl), an unsigned image, insecureAcceptAnything
 * and reject by default; each exactly as the blocking call ends, on one
 * thread, a refused image never written. */
static void case_policy(void)
{
	registry_client *c = itest_client(1);
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s/policy-keys", getenv("REGISTRY_TEST_TMPDIR"));
	CHECK(mkdir(dir, 0700) == 0);
	size_t key_len = 0;
	char *key = policy_key(dir, &key_len);
	const char *names[] = {"signed", "referred", "unsigned", "other"};
	for (size_t i = 0; i < 4; i++)
		policy_image(c, names[i]);
	registry_sign_options so = REGISTRY_SIGN_OPTIONS_INIT;
	registry_reference *signed_ref = ref_of("loop-policy/signed:v1"), *referred = ref_of("loop-policy/referred:v1");
	CHECK_RC(registry_sign_cosign(NULL, c, signed_ref, key, key_len, &so), 0);
	so.flags = REGISTRY_SIGN_REFERRER;
	CHECK_RC(registry_sign_cosign(NULL, c, referred, key, key_len, &so), 0);
	registry_policy *policy = policy_for(dir);
	registry_pull_options o = REGISTRY_PULL_OPTIONS_INIT;
	o.policy = policy;

	pl p;
	registry_loop *L = pl_new(&p);
	CHECK_INT(policy_pull(&p, L, c, "loop-policy/signed:v1", &o), 0);
	CHECK_INT(policy_pull(&p, L, c, "loop-policy/referred:v1", &o), 0);
	CHECK_INT(policy_pull(&p, L, c, "loop-policy/unsigned:v1", &o), REGISTRY_EDENIED);
	CHECK_INT(policy_pull(&p, L, c, "loop-policy/other:v1", &o), REGISTRY_EDENIED);
	CHECK_INT(policy_pull(&p, L, c, "fixtures/small-v2s2:latest", &o), 0);
	fprintf(stderr, "policy: steps <1ms %lld, <2ms %lld, <5ms %lld, <10ms %lld, <50ms %lld, longer %lld\n",
	        p.hist[0], p.hist[1], p.hist[2], p.hist[3], p.hist[4], p.hist[5]);

	/* Canceled, or freed, while the signatures are being fetched: canceled
	 * (the callback once, nothing written), or gone without a callback. */
	registry_store *cs = itest_store("policy-cancel");
	result rc_cancel = {0}, rc_freed = {0};
	registry_op *op = NULL, *freed = NULL;
	CHECK_RC(registry_pull_start(&op, L, c, signed_ref, cs, NULL, &o, on_done, &rc_cancel), 0);
	CHECK_RC(registry_pull_start(&freed, L, c, referred, cs, NULL, &o, on_done, &rc_freed), 0);
	pl_run(&p, L, 2);
	registry_op_cancel(op);
	registry_op_free(freed);
	pl_run(&p, L, 60000);
	CHECK_INT(rc_cancel.called, 1);
	CHECK_INT(rc_cancel.rc, REGISTRY_ECANCELED);
	CHECK_INT(rc_freed.called, 0);
	CHECK_INT((int)registry_store_index_count(cs), 0);
	registry_op_free(op);
	registry_store_free(cs);

	copy_tmp_setup();
	policy_copy(&p, L, c, policy);

	registry_loop_free(L);
	registry_policy_free(policy);
	registry_reference_free(signed_ref);
	registry_reference_free(referred);
	free(key);
	registry_client_free(c);
}

/* ---- bounded steps: all-platform manifests, mounts, bundles, exports (issue 20) ---- */

/* REGISTRY_PULL_ALL_PLATFORMS into a store that has every blob already (a
 * preserving pull left them): nothing is written but the manifests (each
 * child converted, the index) and index.json, and their fsyncs go through
 * the loop's AIO (an eventfd watched), not into a step. The blocking
 * pull's digest, every child in the store. */
static void case_all_aio(void)
{
	registry_client *c = itest_client(1);
	registry_reference *ref = ref_of(env_or("LOOP_IMAGE", "fixtures/multi-v2s2:latest"));
	registry_pull_options o = REGISTRY_PULL_OPTIONS_INIT, seed = REGISTRY_PULL_OPTIONS_INIT;
	o.flags = REGISTRY_PULL_ALL_PLATFORMS;
	seed.flags = REGISTRY_PULL_ALL_PLATFORMS | REGISTRY_PULL_PRESERVE_DIGESTS;
	registry_store *blocking = store_named("all-aio-blocking-%d", 0), *looped = store_named("all-aio-loop-%d", 0);
	char *want = NULL, *got = NULL;
	CHECK_RC(registry_pull(&want, c, ref, blocking, "x", &o), 0);
	CHECK_RC(registry_pull(NULL, c, ref, looped, "seed", &seed), 0);
	pl p;
	registry_loop *L = pl_new(&p);
	result r = {0};
	registry_op *op = NULL;
	CHECK_RC(registry_pull_start(&op, L, c, ref, looped, "x", &o, on_done, &r), 0);
	run_one(&p, L, op, &r);
	CHECK_INT(r.rc, 0);
	CHECK_RC(registry_op_result_digest(&got, op), 0);
	CHECK_STR(got, want);
	CHECK_STR(entry_digest(looped, "x"), want);
	void *raw = NULL;
	size_t len = 0;
	registry_manifest *top = NULL;
	CHECK_RC(registry_store_read_blob(&raw, &len, looped, want, 0), 0);
	CHECK_RC(registry_manifest_parse(&top, raw, len, NULL, NULL), 0);
	size_t n = top ? registry_manifest_entry_count(top) : 0;
	CHECK(n >= 2);
	for (size_t i = 0; i < n; i++)
		CHECK_INT(registry_store_has(looped, registry_descriptor_digest(registry_manifest_entry(top, i))), 1);
	/* Only manifests and index.json were written: their fsyncs were AIO. */
	CHECK(p.eventfds > 0);
	int64_t us = 0;
	registry_loop_step_stats(NULL, &us, L);
	printf("all platforms, blobs present: %s, %zu entries, AIO eventfd watched %d times, longest step %.2f ms\n",
	       got, n, p.eventfds, (double)us / 1000.0);
	CHECK_INT(p.max_threads, 1);
	itest_check_sound(looped);
	registry_manifest_free(top);
	registry_free(raw);
	registry_free(got);
	registry_free(want);
	registry_op_free(op);
	registry_loop_free(L);
	registry_store_free(blocking);
	registry_store_free(looped);
	registry_reference_free(ref);
	registry_client_free(c);
}

/* Lines of @log with @a and @b, waited for (up to 2 s) until there are
 * @expected: the registry writes its log as it answers. */
static int log_settled(const char *log, const char *a, const char *b, int expected)
{
	int n = log_count(log, a, b);
	for (int i = 0; i < 40 && n < expected; i++) {
		usleep(50000);
		n = log_count(log, a, b);
	}
	return n;
}

/* registry_copy_start inside one registry mounts every blob from the source
 * repository (POST ?mount=&from=, 201) as registry_copy does: nothing
 * uploaded, the blocking copy's digest; with a client of its own for the
 * target too. Behind a proxy that strips the mount (LOOP_NOMOUNT), the
 * session the registry opened instead (202) takes the upload. */
static void case_copy_mount(void)
{
	copy_tmp_setup();
	const char *rlog = getenv("REGISTRY_TEST_REGISTRY_LOG");
	int nomount = getenv("LOOP_NOMOUNT") != NULL;
	registry_client *c = itest_client(1);
	registry_manifest *m = NULL;
	CHECK_RC(registry_manifest_fetch(&m, c, "fixtures/small-v2s2", "latest", NULL), 0);
	int nblobs = m ? (int)registry_manifest_layer_count(m) + 1 : 0;
	registry_manifest_free(m);
	char *want = blocking_copy(c, "fixtures/small-v2s2:latest", "mount/blocking:v1", NULL);
	static const char *const to[] = {"mount/same-client", "mount/two-clients"};
	pl p;
	registry_loop *L = pl_new(&p);
	for (int k = 0; k < 2; k++) {
		registry_client *tc = k ? itest_client(1) : c;
		char target[128], post[256];
		snprintf(target, sizeof(target), "%s:v1", to[k]);
		push_count n = {0};
		registry_copy_options o = REGISTRY_COPY_OPTIONS_INIT;
		o.progress = count_progress;
		o.userdata = &n;
		char *got = NULL;
		result r;
		CHECK_RC(loop_copy(&p, L, c, "fixtures/small-v2s2:latest", tc, target, &o, &got, &r), 0);
		CHECK_STR(got, want);
		snprintf(post, sizeof(post), "\"POST /v2/%s/blobs/uploads/?mount=", to[k]);
		if (nomount) {
			/* Through the proxy: the registry saw no mount and opened sessions. */
			CHECK_INT(log_settled(rlog, post, NULL, 1), 0);
			snprintf(post, sizeof(post), "\"PUT /v2/%s/blobs/uploads/", to[k]);
			CHECK_INT(log_settled(rlog, post, "HTTP/1.1\" 201", nblobs), nblobs);
			snprintf(post, sizeof(post), "\"POST /v2/%s/blobs/uploads/", to[k]);
			CHECK_INT(log_settled(rlog, post, "HTTP/1.1\" 202", nblobs), nblobs); /* one session per blob */
			CHECK_INT(n.done, nblobs);
		} else {
			CHECK_INT(log_settled(rlog, post, "&from=fixtures/small-v2s2 HTTP/1.1\" 201", nblobs), nblobs);
			snprintf(post, sizeof(post), "/v2/%s/blobs/uploads/", to[k]);
			CHECK_INT(log_count(rlog, "\"PUT ", post) + log_count(rlog, "\"PATCH ", post), 0);
			CHECK_INT(n.skipped, nblobs); /* each blob ends once, mounted */
			CHECK_INT(n.done, 0);
		}
		CHECK_INT(n.failed, 0);
		printf("copy %s: %s, %d blobs %s\n", to[k], got, nblobs, nomount ? "uploaded (no mount)" : "mounted");
		pull_back_as(c, target, want, REGISTRY_PULL_PRESERVE_DIGESTS);
		registry_free(got);
		if (k)
			registry_client_free(tc);
	}
	CHECK_INT(p.max_threads, 1);
	CHECK_INT(copy_tmp_entries(), 0);
	registry_free(want);
	registry_loop_free(L);
	registry_client_free(c);
}

/* registry_store_unpack_start with REGISTRY_UNPACK_BUNDLE: the OCI runtime
 * bundle of registry_store_unpack (rootfs/ the same tree, config.json the
 * same bytes), in slices, one thread; the stats the same. */
static void case_unpack_bundle(void)
{
	registry_client *c = itest_client(1);
	registry_reference *ref = ref_of(env_or("LOOP_IMAGE", "fixtures/big-oci:latest"));
	registry_store *s = store_named("bundle-store-%d", 0);
	CHECK_RC(registry_pull(NULL, c, ref, s, "image", NULL), 0);
	const char *tmp = getenv("REGISTRY_TEST_TMPDIR");
	char b[1200], l[1200], cmd[5000];
	snprintf(b, sizeof(b), "%s/bundle-blocking", tmp);
	snprintf(l, sizeof(l), "%s/bundle-loop", tmp);
	registry_unpack_options o = REGISTRY_UNPACK_OPTIONS_INIT;
	o.flags = REGISTRY_UNPACK_BUNDLE;
	registry_unpack_stats want = REGISTRY_UNPACK_STATS_INIT, got = REGISTRY_UNPACK_STATS_INIT;
	CHECK_RC(registry_store_unpack(&want, s, "image", b, &o), 0);
	pl p;
	registry_loop *L = pl_new(&p);
	result r = {0};
	registry_op *op = NULL;
	CHECK_RC(registry_store_unpack_start(&op, &got, L, s, "image", l, &o, on_done, &r), 0);
	run_one(&p, L, op, &r);
	CHECK_INT(r.rc, 0);
	if (r.rc)
		fprintf(stderr, "bundle: %s\n", r.message);
	CHECK_STR(names_in(l), "config.json\nrootfs\n");
	snprintf(cmd, sizeof(cmd), "cmp '%s/config.json' '%s/config.json' && diff -r '%s/rootfs' '%s/rootfs'", b, l, b,
	         l);
	CHECK_INT(itest_capture(cmd, NULL, NULL), 0);
	char br[1300], lr[1300];
	snprintf(br, sizeof(br), "%s/rootfs", b);
	snprintf(lr, sizeof(lr), "%s/rootfs", l);
	same_metadata(br, lr);
	CHECK_INT(got.layers, want.layers);
	CHECK_INT(got.entries, want.entries);
	CHECK_INT(got.bytes, want.bytes);
	uint64_t steps = 0;
	int64_t max_us = 0;
	registry_loop_step_stats(&steps, &max_us, L);
	printf("bundle unpack: %llu steps, longest %.2f ms\n", (unsigned long long)steps, (double)max_us / 1000.0);
	CHECK(steps > 2);
	CHECK_INT(p.max_threads, 1);
	registry_op_free(op);
	registry_loop_free(L);
	registry_store_free(s);
	registry_reference_free(ref);
	registry_client_free(c);
}

/* An entry of the folder @dir whose name starts with @prefix is there. */
static int has_entry(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;
	while (d && !found && (e = readdir(d)))
		found = strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	if (d)
		closedir(d);
	return found;
}

static long long thread_cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The steps that wrote a destination's temporary output (@prefix in @dir):
 * how many, the longest in wall and in the thread's CPU time, and of all
 * steps of the run. */
typedef struct out_steps {
	int steps;
	long long wall_us, cpu_us;
	long long all_wall_us, all_cpu_us;
} out_steps;

static void out_step(out_steps *o, int during, long long wall, long long cpu)
{
	o->steps += during;
	if (during && wall > o->wall_us)
		o->wall_us = wall;
	if (during && cpu > o->cpu_us)
		o->cpu_us = cpu;
	if (wall > o->all_wall_us)
		o->all_wall_us = wall;
	if (cpu > o->all_cpu_us)
		o->all_cpu_us = cpu;
}

/* pl_run, each step timed and counted in @o when @prefix was in @dir before
 * or after it; with @cancel_op, canceled as soon as it is seen. */
static void run_out_steps(pl *p, registry_loop *L, const char *dir, const char *prefix, out_steps *o,
                          registry_op *cancel_op)
{
	long long end = now_ms() + 120000;
	while (registry_loop_pending(L) > 0 && now_ms() < end) {
		long long wait = p->timer_due_ms < 0 ? 1000 : p->timer_due_ms - now_ms();
		struct pollfd fds[MAX_FDS];
		int n = p->nfds;
		memcpy(fds, p->fds, sizeof(fds[0]) * (size_t)n);
		poll(fds, (nfds_t)n, (int)(wait < 0 ? 0 : wait));
		int due = p->timer_due_ms >= 0 && now_ms() >= p->timer_due_ms;
		for (int i = 0; i <= n; i++) {
			unsigned int ev = i == n ? 0 : ((fds[i].revents & POLLIN) ? REGISTRY_LOOP_READ : 0) |
			                                   ((fds[i].revents & POLLOUT) ? REGISTRY_LOOP_WRITE : 0) |
			                                   ((fds[i].revents & (POLLERR | POLLHUP)) ? REGISTRY_LOOP_ERROR : 0);
			if (i < n && !ev)
				continue;
			if (i == n && !due)
				break;
			int before = has_entry(dir, prefix);
			long long t0 = now_us_t(), c0 = thread_cpu_us();
			if (i < n) {
				registry_loop_socket_action(L, fds[i].fd, ev);
			} else {
				p->timer_due_ms = -1;
				registry_loop_timeout(L);
			}
			long long wall = now_us_t() - t0, cpu = thread_cpu_us() - c0;
			int after = has_entry(dir, prefix);
			out_step(o, before || after, wall, cpu);
			if (cancel_op && after) {
				registry_op_cancel(cancel_op);
				cancel_op = NULL;
			}
		}
		int t = threads_now();
		if (t > p->max_threads)
			p->max_threads = t;
	}
}

/* registry_pull_to_start of big into a docker folder, a docker tarball and
 * a root filesystem tar: the destination's temporary output is written
 * over several steps of about 2 ms (the export and the tar in slices), no
 * longer in one; its fsync through AIO; the result the blocking call's. A
 * cancel while it is written leaves nothing. */
static void case_export_steps(void)
{
	registry_client *c = itest_client(1);
	registry_reference *ref = ref_of(env_or("LOOP_IMAGE", "fixtures/big-oci:latest"));
	const char *tmp = getenv("REGISTRY_TEST_TMPDIR");
	static const struct {
		int format;
		const char *name;
	} outs[] = {{REGISTRY_IMAGE_FORMAT_DOCKER_DIR, "dir"},
	            {REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE, "image.tar"},
	            {REGISTRY_IMAGE_FORMAT_ROOTFS_TAR, "rootfs.tar"}};
	for (size_t k = 0; k < sizeof(outs) / sizeof(outs[0]); k++) {
		char dir[1200], dest[1300], prefix[64], want_path[1300];
		snprintf(dir, sizeof(dir), "%s/steps-%zu", tmp, k);
		CHECK(mkdir(dir, 0755) == 0);
		snprintf(dest, sizeof(dest), "%s/%s", dir, outs[k].name);
		snprintf(want_path, sizeof(want_path), "%s/blocking-%s", tmp, outs[k].name);
		snprintf(prefix, sizeof(prefix), "%s.tmp-", outs[k].name);
		char *want = NULL;
		CHECK_RC(registry_pull_to(&want, c, ref, want_path, outs[k].format, NULL), 0);
		pl p;
		registry_loop *L = pl_new(&p);
		result r = {0};
		registry_op *op = NULL;
		out_steps o = {0};
		CHECK_RC(registry_pull_to_start(&op, L, c, ref, dest, outs[k].format, NULL, on_done, &r), 0);
		run_out_steps(&p, L, dir, prefix, &o, NULL);
		CHECK_INT(r.called, 1);
		CHECK_INT(r.rc, 0);
		char *got = NULL;
		CHECK_RC(registry_op_result_digest(&got, op), 0);
		CHECK_STR(got, want);
		CHECK_STR(names_in(dir), outs[k].format == REGISTRY_IMAGE_FORMAT_DOCKER_DIR ? "dir\n"
		                         : outs[k].format == REGISTRY_IMAGE_FORMAT_ROOTFS_TAR ? "rootfs.tar\n"
		                                                                              : "image.tar\n");
		if (outs[k].format == REGISTRY_IMAGE_FORMAT_ROOTFS_TAR) {
			same_tar(want_path, dest);
		} else {
			char cmd[3000];
			snprintf(cmd, sizeof(cmd), outs[k].format == REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE ? "cmp -s '%s' '%s'"
			                                                                                  : "diff -r '%s' '%s'",
			         want_path, dest);
			CHECK_INT(itest_capture(cmd, NULL, NULL), 0);
		}
		/* Written over several steps: before, it was one step (never seen). */
		CHECK(o.steps >= 2);
		printf("pull_to %s: written over %d steps, longest %.2f ms (CPU %.2f ms); all steps: longest %.2f ms "
		       "(CPU %.2f ms)\n", outs[k].name, o.steps, o.wall_us / 1000.0, o.cpu_us / 1000.0,
		       o.all_wall_us / 1000.0, o.all_cpu_us / 1000.0);
		CHECK_INT(p.max_threads, 1);
		registry_free(got);
		registry_free(want);
		registry_op_free(op);

		/* Canceled while the output is written: nothing left. */
		snprintf(dir, sizeof(dir), "%s/steps-cancel-%zu", tmp, k);
		CHECK(mkdir(dir, 0755) == 0);
		snprintf(dest, sizeof(dest), "%s/%s", dir, outs[k].name);
		memset(&r, 0, sizeof(r));
		memset(&o, 0, sizeof(o));
		CHECK_RC(registry_pull_to_start(&op, L, c, ref, dest, outs[k].format, NULL, on_done, &r), 0);
		run_out_steps(&p, L, dir, prefix, &o, op);
		CHECK_INT(r.called, 1);
		CHECK_INT(r.rc, REGISTRY_ECANCELED);
		CHECK_STR(names_in(dir), "");
		registry_op_free(op);
		registry_loop_free(L);
	}
	registry_reference_free(ref);
	registry_client_free(c);
}

/* The cases of this block (issue 20): 1 when @which is one of them. */
/* ---- foreign layers (issue 20) ------------------------------------------------------ */

#define FOREIGN_LAYER_MT "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
#define FOREIGN_CONFIG "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\"}}"

/* Push foreign/app:@tag, an OCI image whose one layer is @layer (@size
 * bytes as its descriptor says) at @urls (NULL-terminated). */
static void push_foreign_image(registry_client *c, const char *tag, const char *config, const char *layer,
                               int64_t size, const char *const *urls)
{
	registry_manifest_builder *b = NULL;
	CHECK_RC(registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_OCI_MANIFEST), 0);
	registry_descriptor_spec cs = {.version = REGISTRY_DESCRIPTOR_SPEC_VERSION,
	                               .media_type = REGISTRY_MEDIA_TYPE_OCI_CONFIG, .digest = config,
	                               .size = (int64_t)strlen(FOREIGN_CONFIG)};
	registry_descriptor_spec ls = {.version = REGISTRY_DESCRIPTOR_SPEC_VERSION, .media_type = FOREIGN_LAYER_MT,
	                               .digest = layer, .size = size, .urls = urls};
	CHECK_RC(registry_manifest_builder_set_config(b, &cs), 0);
	CHECK_RC(registry_manifest_builder_add_layer(b, &ls), 0);
	registry_manifest *m = NULL;
	CHECK_RC(registry_manifest_builder_build(&m, b), 0);
	CHECK_RC(registry_manifest_push(NULL, c, "foreign/app", tag, m), 0);
	registry_manifest_free(m);
	registry_manifest_builder_free(b);
}

/* foreign/app:@tag pulled blocking and on the loop (@flags), each into a
 * fresh store: the same code (and digest, message); whether @layer is in
 * each store afterwards (-1: they differ). */
static int foreign_pull_both(registry_client *c, const char *tag, unsigned int flags, const char *layer, int want_rc)
{
	static int n;
	registry_store *blocking = store_named("foreign-blocking-%d", n), *looped = store_named("foreign-loop-%d", n);
	n++;
	char name[64];
	snprintf(name, sizeof(name), "foreign/app:%s", tag);
	registry_reference *ref = ref_of(name);
	registry_pull_options o = REGISTRY_PULL_OPTIONS_INIT;
	o.flags = flags;
	char *want = NULL;
	CHECK_RC(registry_pull(&want, c, ref, blocking, "x", &o), want_rc);
	char want_msg[512];
	snprintf(want_msg, sizeof(want_msg), "%s", want_rc ? registry_error_message(registry_error_last()) : "");
	pl p;
	registry_loop *L = NULL;
	result r;
	registry_op *op = loop_pull_x(&p, &L, c, ref, looped, &o, &r);
	CHECK_INT(r.rc, want_rc);
	if (r.rc != want_rc)
		fprintf(stderr, "foreign %s: %s (blocking: %s)\n", tag, r.message, want_msg);
	if (!want_rc) {
		char *got = NULL;
		CHECK_RC(registry_op_result_digest(&got, op), 0);
		CHECK_STR(got, want);
		registry_free(got);
		itest_check_sound(looped);
	} else {
		printf("foreign %s: %s\n", tag, r.message);
	}
	CHECK_INT(p.max_threads, 1);
	int has = registry_store_has(looped, layer);
	int has_blocking = registry_store_has(blocking, layer);
	registry_free(want);
	registry_op_free(op);
	registry_loop_free(L);
	registry_reference_free(ref);
	registry_store_free(blocking);
	registry_store_free(looped);
	return has == has_blocking ? has : -1;
}

/*
 * REGISTRY_PULL_FOREIGN_LAYERS in loop mode, against the blocking pull: a
 * layer with "urls" on another origin (the registry's own blob URL of
 * another repository, through the proxy: another port, plain HTTP to
 * loopback) is fetched from there only with the flag, with no credentials
 * and none of the client's extra headers; bytes that are not the layer's
 * (EDIGEST) or more of them (ETOOLARGE) fail both pulls and nothing is
 * kept; a URL that fails gives way to the next one. The layer is 1.5 MiB:
 * it goes through the direct writes (loop/dwrite.c).
 */
static void case_foreign(void)
{
	const char *proxy = getenv("REGISTRY_TEST_PROXY_HOST"), *upstream = getenv("REGISTRY_TEST_URL");
	if (!proxy || !upstream || strncmp(upstream, "http://", 7) != 0) {
		printf("SKIP: needs tests/proxy/fault_proxy.py in front of a plain-HTTP registry\n");
		exit(77);
	}
	/* The pulls go to the registry itself; the proxy is the other origin. */
	setenv("REGISTRY_TEST_HOST", upstream + 7, 1);
	registry_client *c = itest_client(1);
	char path[1024], url_good[512], url_other[512];
	char *layer = NULL, *other = NULL, *config = NULL;
	random_file(path, sizeof(path), "foreign-layer", 1536 * 1024, &layer);
	CHECK_RC(registry_blob_upload_file(c, "foreign/src", layer, path, NULL), 0);
	int64_t size = 1536 * 1024;
	random_file(path, sizeof(path), "foreign-other", 1024 * 1024 + 7, &other);
	CHECK_RC(registry_blob_upload_file(c, "foreign/src", other, path, NULL), 0);
	CHECK_RC(registry_digest_buffer(&config, REGISTRY_DIGEST_SHA256, FOREIGN_CONFIG, strlen(FOREIGN_CONFIG)), 0);
	snprintf(path, sizeof(path), "%s/foreign-config", env_or("REGISTRY_TEST_TMPDIR", "/tmp"));
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	if (f) {
		fputs(FOREIGN_CONFIG, f);
		fclose(f);
	}
	CHECK_RC(registry_blob_upload_file(c, "foreign/app", config, path, NULL), 0);
	snprintf(url_good, sizeof(url_good), "http://%s/v2/foreign/src/blobs/%s", proxy, layer);
	snprintf(url_other, sizeof(url_other), "http://%s/v2/foreign/src/blobs/%s", proxy, other);
	const char *good[] = {url_good, NULL}, *bad[] = {url_other, NULL}, *second[] = {url_other, url_good, NULL};
	push_foreign_image(c, "good", config, layer, size, good);
	push_foreign_image(c, "bad", config, layer, size, bad);
	push_foreign_image(c, "second", config, layer, size, second);
	push_foreign_image(c, "short", config, layer, size - 1, good);
	CHECK_RC(registry_client_add_header(c, "X-Secret: s3cret-value"), 0);

	/* Without the flag the layer stays at its URL, as registry_pull leaves it. */
	CHECK_INT(foreign_pull_both(c, "good", 0, layer, 0), 0);
	const char *log = getenv("REGISTRY_TEST_PROXY_LOG");
	CHECK_INT(itest_count_log_lines(log, "/v2/foreign/src/blobs/"), 0);
	CHECK_INT(foreign_pull_both(c, "good", REGISTRY_PULL_FOREIGN_LAYERS, layer, 0), 1);
	CHECK_INT(foreign_pull_both(c, "second", REGISTRY_PULL_FOREIGN_LAYERS, layer, 0), 1);
	CHECK_INT(foreign_pull_both(c, "bad", REGISTRY_PULL_FOREIGN_LAYERS, layer, REGISTRY_EDIGEST), 0);
	CHECK_INT(foreign_pull_both(c, "short", REGISTRY_PULL_FOREIGN_LAYERS, layer, REGISTRY_ETOOLARGE), 0);

	/* The other origin saw both pulls' requests, none with credentials or
	 * the client's extra header. */
	int seen = itest_count_log_lines(log, "/v2/foreign/src/blobs/");
	printf("foreign: %d requests to the other origin\n", seen);
	CHECK(seen >= 10);
	CHECK_INT(itest_count_log_lines(log, "X-Secret"), 0);
	CHECK_INT(itest_count_log_lines(log, "Authorization"), 0);
	registry_free(layer);
	registry_free(other);
	registry_free(config);
	registry_client_free(c);
}

/* ---- docker save archives (issue 20) ----------------------------------------------- */

/* The archive at @path pushed to @to on the loop, run to its end: its
 * result (and digest, when asked). */
static int loop_push_archive(pl *p, registry_loop *L, registry_client *c, const char *path, const char *to,
                             const registry_push_archive_options *o, char **digest, result *r)
{
	registry_reference *t = ref_of(to);
	registry_op *op = NULL;
	memset(r, 0, sizeof(*r));
	int rc = registry_push_archive_start(&op, L, c, path, t, o, on_done, r);
	registry_reference_free(t);
	if (rc)
		return rc;
	return run_to_end(p, L, op, digest, r);
}

/* registry_push_archive of @path to @to fails with @code, and the loop's
 * push of it the same way (code and message). */
static void same_archive_failure(pl *p, registry_loop *L, registry_client *c, const char *path, const char *to,
                                 int code)
{
	registry_reference *t = ref_of(to);
	int want = registry_push_archive(NULL, c, path, t, NULL);
	char want_msg[512];
	snprintf(want_msg, sizeof(want_msg), "%s", registry_error_message(registry_error_last()));
	registry_reference_free(t);
	CHECK_INT(want, code);
	result r;
	CHECK_INT(loop_push_archive(p, L, c, path, to, NULL, NULL, &r), want);
	CHECK_STR(r.message, want_msg);
	printf("archive %s: %s\n", to, r.message);
}

/*
 * registry_push_archive_start: a docker-archive written by skopeo (three
 * 1 MiB uncompressed layers, so the reading takes many slices) pushed on
 * the loop gives the blocking push's digest, skopeo reads it back, one
 * thread ran it and its temporary store is gone; a truncated archive, a
 * file that is no archive and a missing one fail as the blocking call
 * does (code and message); a cancel while it reads leaves nothing.
 */
static void case_push_archive(void)
{
	const char *top = NULL;
	registry_store *s = layout_store("loop-arch", "--layers 3 --size 1048576 --seed loop-arch --tag v1 "
	                                 "--gzip-level 0", &top);
	registry_store_free(s);
	const char *tmp = env_or("REGISTRY_TEST_TMPDIR", "/tmp");
	char arch[1024], cmd[4096];
	snprintf(arch, sizeof(arch), "%s/loop-arch.tar", tmp);
	snprintf(cmd, sizeof(cmd), "$REGISTRY_TEST_SKOPEO copy -q oci:%s/loop-arch:v1 docker-archive:%s:example/arch:v1 "
	         ">&2", tmp, arch);
	CHECK_INT(itest_capture(cmd, NULL, NULL), 0);
	copy_tmp_setup(); /* the temporary stores go there */
	registry_client *c = itest_client(1);
	registry_reference *bt = ref_of("loop/arch-blocking:v1");
	char *want = NULL;
	CHECK_RC(registry_push_archive(&want, c, arch, bt, NULL), 0);
	registry_reference_free(bt);
	registry_client_free(c);
	c = itest_client(1); /* fresh: the loop finds the scheme and the token itself */

	pl p;
	registry_loop *L = pl_new(&p);
	push_count pc = {0};
	registry_push_archive_options o = REGISTRY_PUSH_ARCHIVE_OPTIONS_INIT;
	o.progress = count_progress;
	o.userdata = &pc;
	o.chunk_size = 512 * 1024;
	char *got = NULL;
	result r;
	CHECK_RC(loop_push_archive(&p, L, c, arch, "loop/arch:v1", &o, &got, &r), 0);
	if (r.rc)
		fprintf(stderr, "push_archive_start: %s\n", r.message);
	CHECK_STR(got, want);
	CHECK_INT(pc.done, 4); /* the config and three layers, none there before */
	CHECK_INT(pc.failed, 0);
	CHECK_INT(p.max_threads, 1);
	CHECK_INT(copy_tmp_entries(), 0);
	uint64_t steps = 0;
	int64_t us = 0;
	registry_loop_step_stats(&steps, &us, L);
	printf("push_archive_start: %s, %llu steps, longest %.2f ms\n", got ? got : "(none)",
	       (unsigned long long)steps, (double)us / 1000.0);
	snprintf(cmd, sizeof(cmd), "$REGISTRY_TEST_SKOPEO inspect --raw $REGISTRY_TEST_SKOPEO_INSPECT_ARGS "
	         "docker://%s/loop/arch:v1 | sha256sum", getenv("REGISTRY_TEST_HOST"));
	char *out = NULL;
	CHECK_INT(itest_capture(cmd, &out, NULL), 0);
	CHECK(out && got && strncmp(out, got + 7, 64) == 0); /* skopeo reads back the manifest pushed */
	free(out);
	/* Again: every blob is there now (skipped), the same digest. */
	memset(&pc, 0, sizeof(pc));
	registry_free(got);
	got = NULL;
	CHECK_RC(loop_push_archive(&p, L, c, arch, "loop/arch:v2", &o, &got, &r), 0);
	CHECK_STR(got, want);
	CHECK_INT(pc.done + pc.skipped, 4);

	/* Failures: as the blocking call, code and message. */
	char cut[1024], text[1024];
	snprintf(cut, sizeof(cut), "%s/loop-arch-cut.tar", tmp);
	snprintf(cmd, sizeof(cmd), "head -c 1500000 '%s' > '%s'", arch, cut);
	CHECK_INT(itest_capture(cmd, NULL, NULL), 0);
	same_archive_failure(&p, L, c, cut, "loop/arch-cut:v1", REGISTRY_EIO);
	snprintf(text, sizeof(text), "%s/loop-arch.txt", tmp);
	snprintf(cmd, sizeof(cmd), "echo 'not a tarball' > '%s'", text);
	CHECK_INT(itest_capture(cmd, NULL, NULL), 0);
	same_archive_failure(&p, L, c, text, "loop/arch-text:v1", REGISTRY_EFORMAT);
	snprintf(text, sizeof(text), "%s/no-such.tar", tmp);
	same_archive_failure(&p, L, c, text, "loop/arch-none:v1", REGISTRY_ENOTFOUND);
	CHECK_INT(copy_tmp_entries(), 0);

	/* Canceled while it reads: ECANCELED, the temporary store removed. */
	registry_reference *t = ref_of("loop/arch-cancel:v1");
	registry_op *op = NULL;
	memset(&r, 0, sizeof(r));
	CHECK_RC(registry_push_archive_start(&op, L, c, arch, t, NULL, on_done, &r), 0);
	CHECK_INT(copy_tmp_entries(), 1);
	registry_loop_timeout(L); /* one slice */
	CHECK_RC(registry_op_cancel(op), 0);
	CHECK_INT(r.rc, REGISTRY_ECANCELED);
	CHECK_INT(copy_tmp_entries(), 0);
	registry_op_free(op);
	/* Refused before anything starts, as registry_push_archive refuses. */
	registry_push_archive_options bad = REGISTRY_PUSH_ARCHIVE_OPTIONS_INIT;
	bad.flags = 0x80000000u;
	CHECK_RC(registry_push_archive_start(&op, L, c, arch, t, &bad, on_done, &r), REGISTRY_EINVAL);
	CHECK_RC(registry_push_archive_start(&op, L, c, NULL, t, NULL, on_done, &r), REGISTRY_EINVAL);
	CHECK(op == NULL);
	registry_reference_free(t);
	registry_loop_free(L);
	registry_free(got);
	registry_free(want);
	registry_client_free(c);
}

/* A schema1 image of 2 layers of 8 MiB converted to OCI on the loop: its
 * diff_ids (inflate and hash every layer) in pieces over several steps,
 * none of more than a few ms of CPU (in one step: every layer at once).
 * The blobs are in the store already (a preserving pull), so the steps are
 * the conversion's; the result is the blocking conversion's. */
static void case_schema1_steps(void)
{
	registry_client *c = itest_client(1);
	registry_reference *ref = ref_of("fixtures/big-v2s1:latest");
	registry_store *blocking = itest_store("s1steps-blocking"), *looped = itest_store("s1steps-loop");
	char *want = NULL, *got = NULL;
	CHECK_RC(registry_pull(&want, c, ref, blocking, "x", NULL), 0);
	registry_pull_options keep = REGISTRY_PULL_OPTIONS_INIT;
	keep.flags = REGISTRY_PULL_PRESERVE_DIGESTS;
	CHECK_RC(registry_pull(NULL, c, ref, looped, "served", &keep), 0);
	pl p;
	registry_loop *L = pl_new(&p);
	result r = {0};
	registry_op *op = NULL;
	CHECK_RC(registry_pull_start(&op, L, c, ref, looped, "x", NULL, on_done, &r), 0);
	out_steps o = {0};
	run_out_steps(&p, L, getenv("REGISTRY_TEST_TMPDIR"), "no-such-entry", &o, NULL);
	CHECK_INT(r.rc, 0);
	if (!r.rc)
		CHECK_RC(registry_op_result_digest(&got, op), 0);
	CHECK_STR(got, want);
	CHECK_STR(entry_digest(looped, "x"), entry_digest(blocking, "x"));
	itest_check_sound(looped);
	uint64_t steps = 0;
	registry_loop_step_stats(&steps, NULL, L);
	printf("schema1-steps: %llu steps, longest %.2f ms of CPU (%.2f ms wall)\n", (unsigned long long)steps,
	       (double)o.all_cpu_us / 1000.0, (double)o.all_wall_us / 1000.0);
	CHECK(steps >= 6);          /* 16 MiB inflated and hashed 1 MiB at a time, ~2 ms a step */
	CHECK(o.all_cpu_us < 8000); /* in one step: 20 ms and more */
	CHECK_INT(p.max_threads, 1);
	registry_free(got);
	registry_free(want);
	registry_op_free(op);
	registry_loop_free(L);
	registry_store_free(blocking);
	registry_store_free(looped);
	registry_reference_free(ref);
	registry_client_free(c);
}

int main(int argc, char **argv)
{
	itest_require_harness();
	/* Under tests/proxy/fault_proxy.py every request goes through the proxy. */
	if (getenv("REGISTRY_TEST_PROXY_HOST"))
		setenv("REGISTRY_TEST_HOST", getenv("REGISTRY_TEST_PROXY_HOST"), 1);
	const char *which = argc > 1 ? argv[1] : "pull";
	if (strcmp(which, "pull") == 0)
		RUN(case_pull);
	else if (strcmp(which, "errors") == 0)
		RUN(case_errors);
	else if (strcmp(which, "cancel") == 0)
		RUN(case_cancel);
	else if (strcmp(which, "retry") == 0)
		RUN(case_retry);
	else if (strcmp(which, "tags") == 0)
		RUN(case_tags);
	else if (strcmp(which, "push") == 0)
		RUN(case_push);
	else if (strcmp(which, "push-cancel") == 0)
		RUN(case_push_cancel);
	else if (strcmp(which, "push-retry") == 0)
		RUN(case_push_retry);
	else if (strcmp(which, "upload") == 0)
		RUN(case_upload);
	else if (strcmp(which, "all") == 0)
		RUN(case_all);
	else if (strcmp(which, "cancel-hook") == 0)
		RUN(case_cancel_hook);
	else if (strcmp(which, "pull-to") == 0)
		RUN(case_pull_to);
	else if (strcmp(which, "unpack") == 0)
		RUN(case_unpack);
	else if (strcmp(which, "schema1") == 0)
		RUN(case_schema1);
	else if (strcmp(which, "blob") == 0)
		RUN(case_blob);
	else if (strcmp(which, "index-lock") == 0)
		RUN(case_index_lock);
	else if (strcmp(which, "copy") == 0)
		RUN(case_copy);
	else if (strcmp(which, "copy-cancel") == 0)
		RUN(case_copy_cancel);
	else if (strcmp(which, "direct") == 0)
		RUN(case_direct);
	else if (strcmp(which, "direct-norange") == 0)
		RUN(case_direct_norange);
	else if (strcmp(which, "direct-chaos") == 0)
		RUN(case_direct_chaos);
	else if (strcmp(which, "direct-many") == 0)
		RUN(case_direct_many);
	else if (strcmp(which, "direct-dry") == 0)
		RUN(case_direct_dry);
	else if (strcmp(which, "rehash") == 0)
		RUN(case_rehash);
	else if (strcmp(which, "referrers") == 0)
		RUN(case_referrers);
	else if (strcmp(which, "policy") == 0)
		RUN(case_policy);
	else if (strcmp(which, "foreign") == 0)
		RUN(case_foreign);
	else if (strcmp(which, "push-archive") == 0)
		RUN(case_push_archive);
	else if (strcmp(which, "schema1-steps") == 0)
		RUN(case_schema1_steps);
	else if (strcmp(which, "all-aio") == 0)
		RUN(case_all_aio);
	else if (strcmp(which, "copy-mount") == 0)
		RUN(case_copy_mount);
	else if (strcmp(which, "unpack-bundle") == 0)
		RUN(case_unpack_bundle);
	else if (strcmp(which, "export-steps") == 0)
		RUN(case_export_steps);
	else
		return 2;
	return CHECK_DONE();
}

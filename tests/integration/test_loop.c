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

static int threads_now(void)
{
	DIR *d = opendir("/proc/self/task");
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
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
	pl_run(&p, L, 120000);
	CHECK_INT(registry_loop_pending(L), 0);
	if (token_log) {
		int fetched = itest_count_log_lines(token_log, NULL) - tokens_before;
		printf("loop: %d pulls, %d token request(s)\n", NPULL, fetched);
		CHECK_INT(fetched, 1);
	}
	for (int i = 0; i < NPULL; i++) {
		CHECK_INT(res[i].called, 1);
		CHECK_INT(res[i].rc, 0);
		if (res[i].rc)
			fprintf(stderr, "pull %d: %s\n", i, res[i].message);
		char *got = NULL;
		CHECK_RC(registry_op_result_digest(&got, ops[i]), 0);
		CHECK_STR(got, want);
		CHECK_STR(entry_digest(stores[i], "x"), want);
		itest_check_sound(stores[i]);
		registry_free(got);
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

	/* What loop mode does not apply yet is refused, never ignored: a
	 * signature policy (options version 2) and the 1.1 pull flags. */
	registry_policy *policy = NULL;
	CHECK_RC(registry_policy_load_from_memory(&policy, "{\"default\":[{\"type\":\"reject\"}]}", 31, NULL), 0);
	registry_pull_options gated = REGISTRY_PULL_OPTIONS_INIT;
	gated.policy = policy;
	CHECK_RC(registry_pull_start(&op, L, c, ref, s, NULL, &gated, on_done, &rn), REGISTRY_EUNSUPPORTED);
	CHECK(op == NULL);
	registry_pull_options flagged = REGISTRY_PULL_OPTIONS_INIT;
	flagged.flags = REGISTRY_PULL_REFERRERS;
	CHECK_RC(registry_pull_start(&op, L, c, ref, s, NULL, &flagged, on_done, &rn), REGISTRY_EUNSUPPORTED);
	flagged.flags = REGISTRY_PULL_FOREIGN_LAYERS;
	CHECK_RC(registry_pull_start(&op, L, c, ref, s, NULL, &flagged, on_done, &rn), REGISTRY_EUNSUPPORTED);
	CHECK_INT(rn.called, 0);
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

/* Backoff through the timer: the first requests fail (503), the pull
 * still completes, and no step slept. */
static void case_retry(void)
{
	registry_client *c = itest_client(1);
	registry_retry_options ro = REGISTRY_RETRY_OPTIONS_INIT;
	ro.count = 4;
	ro.backoff_base_ms = 100;
	CHECK_RC(registry_client_set_retries(c, &ro), 0);
	int retries = 0;
	CHECK_RC(registry_client_set_trace(c, count_retries, &retries), 0);
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
	else if (strcmp(which, "index-lock") == 0)
		RUN(case_index_lock);
	else
		return 2;
	return CHECK_DONE();
}

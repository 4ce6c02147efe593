/* The shared part of the event-loop examples (loop_common.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loop_common.h"

/* The one run of the program (the callbacks find it here). */
static lx *owner;

static void draw(lx *x)
{
	if (!x->tty || x->c.quiet)
		return;
	int64_t done = 0, total = 0;
	for (int i = 0; i < x->n; i++) {
		done += x->img[i].done;
		total += x->img[i].total > 0 ? x->img[i].total : 0;
	}
	fprintf(stderr, "\r%d/%d images, %.1f / %.1f MB", x->n - x->remaining, x->n, (double)done / 1e6,
	        (double)total / 1e6);
	fflush(stderr);
}

/* Runs on the loop's thread, like every callback of the loop. */
static int on_progress(const registry_progress *p, void *ud)
{
	lx_image *im = ud;
	im->done = registry_progress_overall_done(p);
	im->total = registry_progress_overall_total(p);
	draw(owner);
	return 0;
}

static void on_done(registry_op *op, int rc, void *ud)
{
	lx_image *im = ud;
	im->finished = 1;
	owner->remaining--;
	if (rc) {
		owner->failed++;
		fprintf(stderr, "%s%s: %s\n", owner->tty ? "\n" : "", im->text,
		        registry_error_message(registry_op_error(op)));
	}
	draw(owner);
	if (!owner->remaining)
		owner->all_done(owner);
}

/* Every image's operation, store, client and reference freed. */
static void release_images(lx *x)
{
	for (int i = 0; i < x->n; i++) {
		lx_image *im = &x->img[i];
		registry_op_free(im->op);
		registry_store_free(im->store);
		registry_client_free(im->client);
		registry_reference_free(im->ref);
		*im = (lx_image){0};
	}
	x->n = 0;
}

int lx_setup(lx *x, const char *name, const char *loop_name, int argc, char **argv)
{
	static char help[1024];
	snprintf(help, sizeof(help),
	         "DESCRIPTION\n"
	         "    Pulls every REFERENCE into its DEST (an OCI layout folder, created or\n"
	         "    added to) concurrently, in one thread: libregistry's event-loop driver\n"
	         "    (registry/loop.h) runs inside a %s main loop, which shows a\n"
	         "    progress line. Prints \"REFERENCE DIGEST\" for each image pulled.\n"
	         "    An example of the glue: see docs/event-loop.md.\n"
	         "\n"
	         "EXAMPLES\n"
	         "    %s localhost:5000/a:1 ./a localhost:5000/b:2 ./b\n",
	         loop_name, name);
	static const ex_flag flags[] = {{NULL, NULL, NULL, NULL}};
	x->prog = (ex_program){name, "pull several images at once in one thread", "REFERENCE DEST [REFERENCE DEST]...",
	                       help, 2, 128, flags};
	char *args[128];
	int nargs = 0;
	int rc = ex_parse(&x->prog, argc, argv, &x->c, args, &nargs);
	if (rc)
		return rc;
	if (nargs % 2)
		return ex_usage_error(&x->prog, "REFERENCE and DEST come in pairs");
	x->tty = isatty(2);
	owner = x;
	for (int i = 0; i + 1 < nargs; i += 2) {
		lx_image *im = &x->img[x->n++];
		im->text = args[i];
		im->dest = args[i + 1];
		if ((rc = ex_reference(&x->prog, im->text, &im->ref)) ||
		    (rc = ex_client(&x->prog, &x->c, im->ref, &im->client)) ||
		    (registry_store_open(&im->store, im->dest, REGISTRY_STORE_CREATE) &&
		     (rc = ex_fail(&x->prog, im->dest)))) {
			/* What was set up goes (the caller exits with rc). */
			release_images(x);
			ex_common_free(&x->c);
			return rc;
		}
	}
	x->remaining = x->n;
	return 0;
}

int lx_start(lx *x, registry_loop **loop, registry_loop_socket_cb socket_cb, registry_loop_timer_cb timer_cb,
             void *glue, void (*all_done)(lx *x))
{
	registry_loop_options lo = REGISTRY_LOOP_OPTIONS_INIT;
	lo.socket_cb = socket_cb;
	lo.timer_cb = timer_cb;
	lo.userdata = glue;
	*loop = NULL;
	if (registry_loop_new(loop, &lo))
		return ex_fail(&x->prog, "registry_loop_new");
	x->glue = glue;
	x->all_done = all_done;
	for (int i = 0; i < x->n; i++) {
		lx_image *im = &x->img[i];
		registry_pull_options o = REGISTRY_PULL_OPTIONS_INIT;
		o.platform = x->c.platform;
		o.progress = on_progress;
		o.userdata = im;
		if (registry_pull_start(&im->op, *loop, im->client, im->ref, im->store, NULL, &o, on_done, im))
			return ex_fail(&x->prog, im->text);
	}
	return x->remaining ? 0 : EX_OK;
}

/*
 * Each call into the loop, timed: wall time, and of it the thread's time on
 * a CPU and waiting for one (/proc/thread-self/schedstat), so that a long
 * step on a busy machine tells the library's work from the scheduler's
 * delay; what is left was spent blocked (a write the kernel throttled, an
 * fsync). 50 us buckets up to 100 ms (the last one: longer).
 */
#define STEP_BUCKET_US 50
#define STEP_BUCKETS 2001
enum { ST_WALL, ST_CPU, ST_RUNQ, ST_BLOCKED, ST_KINDS };
static uint64_t step_hist[ST_KINDS][STEP_BUCKETS];
static int64_t step_max[ST_KINDS];
static uint64_t step_count;
static int schedstat_fd = -2;

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* This thread's time on a CPU and waiting for one (us), or -1. */
static void sched_times(int64_t *cpu, int64_t *runq)
{
	*cpu = *runq = -1;
	if (schedstat_fd == -2)
		schedstat_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	char buf[128];
	ssize_t n = schedstat_fd >= 0 ? pread(schedstat_fd, buf, sizeof(buf) - 1, 0) : -1;
	unsigned long long on = 0, wait = 0;
	if (n > 0) {
		buf[n] = '\0';
		if (sscanf(buf, "%llu %llu", &on, &wait) == 2) {
			*cpu = (int64_t)(on / 1000);
			*runq = (int64_t)(wait / 1000);
		}
	}
}

typedef struct step_start {
	int64_t wall, cpu, runq;
} step_start;

static step_start step_begin(void)
{
	step_start s = {mono_us(), 0, 0};
	sched_times(&s.cpu, &s.runq);
	return s;
}

static void note(int kind, int64_t us)
{
	int64_t b = us / STEP_BUCKET_US;
	step_hist[kind][b < 0 ? 0 : b < STEP_BUCKETS ? b : STEP_BUCKETS - 1]++;
	if (us > step_max[kind])
		step_max[kind] = us;
}

static void note_step(step_start s)
{
	int64_t wall = mono_us() - s.wall, cpu, runq;
	sched_times(&cpu, &runq);
	note(ST_WALL, wall);
	if (cpu >= 0 && s.cpu >= 0) {
		note(ST_CPU, cpu - s.cpu);
		note(ST_RUNQ, runq - s.runq);
		note(ST_BLOCKED, wall - (cpu - s.cpu) - (runq - s.runq));
	}
	step_count++;
}

void lx_socket_action(registry_loop *loop, int fd, unsigned int events)
{
	step_start s = step_begin();
	registry_loop_socket_action(loop, fd, events);
	note_step(s);
}

void lx_timeout(registry_loop *loop)
{
	step_start s = step_begin();
	registry_loop_timeout(loop);
	note_step(s);
}

/* The time (ms, the bucket's upper end) under which @pct percent of the
 * steps' @kind fall. */
static double step_percentile(int kind, double pct)
{
	uint64_t want = (uint64_t)((double)step_count * pct / 100.0 + 0.5), seen = 0;
	for (int b = 0; b < STEP_BUCKETS; b++)
		if ((seen += step_hist[kind][b]) >= want && seen)
			return (double)(b + 1) * STEP_BUCKET_US / 1000.0;
	return 0;
}

int lx_finish(lx *x, registry_loop *loop)
{
	if (x->tty && !x->c.quiet)
		fputc('\n', stderr);
	for (int i = 0; i < x->n; i++) {
		lx_image *im = &x->img[i];
		char *digest = NULL;
		if (im->op && registry_op_result_digest(&digest, im->op) == 0)
			printf("%s %s\n", im->text, digest);
		registry_free(digest);
	}
	release_images(x);
	uint64_t steps = 0;
	int64_t max_us = 0;
	if (loop && registry_loop_step_stats(&steps, &max_us, loop) == 0 && !x->c.quiet) {
		fprintf(stderr, "%llu loop steps, longest %.2f ms; p50 %.2f ms, p99 %.2f ms\n",
		        (unsigned long long)steps, (double)max_us / 1000.0, step_percentile(ST_WALL, 50),
		        step_percentile(ST_WALL, 99));
		static const char *const what[] = {NULL, "on a CPU", "waiting for a CPU", "blocked"};
		for (int k = ST_CPU; k < ST_KINDS && schedstat_fd >= 0; k++)
			fprintf(stderr, "  of which %s: p50 %.2f ms, p99 %.2f ms, longest %.2f ms\n", what[k],
			        step_percentile(k, 50), step_percentile(k, 99), (double)step_max[k] / 1000.0);
	}
	if (schedstat_fd >= 0)
		close(schedstat_fd);
	registry_loop_free(loop);
	ex_common_free(&x->c);
	return x->failed || x->remaining ? EX_FAIL : EX_OK;
}

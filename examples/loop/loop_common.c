/* The shared part of the event-loop examples (loop_common.h). */
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
		    (rc = ex_client(&x->prog, &x->c, im->ref, &im->client)))
			return rc;
		if (registry_store_open(&im->store, im->dest, REGISTRY_STORE_CREATE))
			return ex_fail(&x->prog, im->dest);
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

/* Step times in 50 us buckets up to 100 ms (the last one: longer). */
#define STEP_BUCKET_US 50
#define STEP_BUCKETS 2001
static uint64_t step_hist[STEP_BUCKETS];
static uint64_t step_count;

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void note_step(int64_t t0)
{
	int64_t b = (mono_us() - t0) / STEP_BUCKET_US;
	step_hist[b < STEP_BUCKETS ? b : STEP_BUCKETS - 1]++;
	step_count++;
}

void lx_socket_action(registry_loop *loop, int fd, unsigned int events)
{
	int64_t t0 = mono_us();
	registry_loop_socket_action(loop, fd, events);
	note_step(t0);
}

void lx_timeout(registry_loop *loop)
{
	int64_t t0 = mono_us();
	registry_loop_timeout(loop);
	note_step(t0);
}

/* The step time (ms, the bucket's upper end) under which @pct percent fall. */
static double step_percentile(double pct)
{
	uint64_t want = (uint64_t)((double)step_count * pct / 100.0 + 0.5), seen = 0;
	for (int b = 0; b < STEP_BUCKETS; b++)
		if ((seen += step_hist[b]) >= want && seen)
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
		registry_op_free(im->op);
		registry_store_free(im->store);
		registry_client_free(im->client);
		registry_reference_free(im->ref);
	}
	uint64_t steps = 0;
	int64_t max_us = 0;
	if (loop && registry_loop_step_stats(&steps, &max_us, loop) == 0 && !x->c.quiet)
		fprintf(stderr, "%llu loop steps, longest %.2f ms; p50 %.2f ms, p99 %.2f ms\n",
		        (unsigned long long)steps, (double)max_us / 1000.0, step_percentile(50), step_percentile(99));
	registry_loop_free(loop);
	ex_common_free(&x->c);
	return x->failed || x->remaining ? EX_FAIL : EX_OK;
}

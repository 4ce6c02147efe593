/*
 * What the event-loop examples share (registry-loop-pull-glib, -sdevent,
 * -uv): the command line, one client per registry, the pulls started on a
 * registry_loop, the progress line and the results. Each example only
 * connects the loop's socket and timer callbacks to its main loop.
 */
#ifndef EXAMPLES_LOOP_COMMON_H
#define EXAMPLES_LOOP_COMMON_H

#include "../common.h"

typedef struct lx_image {
	const char *text; /* REFERENCE as given */
	const char *dest; /* DEST: an OCI layout folder */
	registry_reference *ref;
	registry_client *client;
	registry_store *store;
	registry_op *op;
	int64_t done, total;
	int finished;
} lx_image;

typedef struct lx {
	ex_program prog;
	ex_common c;
	lx_image img[64];
	int n, remaining, failed, tty;
	void (*all_done)(struct lx *x); /* the example quits its main loop here */
	void *glue;                      /* the example's own state */
} lx;

/* Parse REFERENCE DEST pairs and open clients and stores: 0 or an exit code. */
int lx_setup(lx *x, const char *name, const char *loop_name, int argc, char **argv);
/* Create the loop with the example's callbacks (@glue their userdata and
 * x->glue), then start every pull on it: 0 when the main loop is to run,
 * else the exit code (*loop may be set: lx_finish frees it). */
int lx_start(lx *x, registry_loop **loop, registry_loop_socket_cb socket_cb, registry_loop_timer_cb timer_cb,
             void *glue, void (*all_done)(lx *x));
/* registry_loop_socket_action() and registry_loop_timeout(), timed: the
 * end line reports the steps' distribution (p50, p99, longest). */
void lx_socket_action(registry_loop *loop, int fd, unsigned int events);
void lx_timeout(registry_loop *loop);
/* Print the results, free everything: the exit code. */
int lx_finish(lx *x, registry_loop *loop);

#endif

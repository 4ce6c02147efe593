/*
 * registry_store_unpack_start: registry_store_unpack() on the caller's
 * event loop. The unpack's own stepped run (unpack/unpack.c) applies the
 * layers a slice of the step's budget at a time, each slice a 0 ms wait
 * on the loop's timer; there is no transfer and no client.
 */
#include <stddef.h>

#include "loop_impl.h"
#include "unpack/unpack_impl.h"

typedef struct unpack_op {
	registry_op op;
	registry__unpack_run *run;
	registry_unpack_stats *stats; /* the caller's, filled at the end */
	lwait wait;
} unpack_op;

static void unpack_stop(registry_op *op)
{
	unpack_op *u = (unpack_op *)(void *)op;
	registry__loop_unwait(op->loop, &u->wait);
	registry__unpack_run_free(u->run); /* before its end: the half-made tree goes */
	u->run = NULL;
}

static void unpack_free(registry_op *op)
{
	unpack_stop(op);
}

static const registry__op_kind unpack_kind = {unpack_stop, unpack_free};

static void slice(lwait *w)
{
	unpack_op *u = (unpack_op *)(void *)((char *)w - offsetof(unpack_op, wait));
	int rc = registry__unpack_run_step(u->run, registry__loop_spent, u->op.loop);
	if (rc == 1) {
		registry__loop_wait(u->op.loop, &u->wait, 0, slice);
		return;
	}
	registry__unpack_run_stats(u->run, u->stats);
	registry__loop_op_complete(&u->op, rc);
}

int registry_store_unpack_start(registry_op **out, registry_unpack_stats *stats, registry_loop *loop,
                                registry_store *store, const char *ref_name, const char *dest,
                                const registry_unpack_options *options, registry_op_done_cb done, void *userdata)
{
	REGISTRY__ENTER(rc);
	if (out)
		*out = NULL;
	if (!out || !loop || !store || !ref_name || !dest || !done)
		return registry__fail(REGISTRY_EINVAL, "registry_store_unpack_start: NULL argument");
	if ((rc = registry__unpack_check("registry_store_unpack_start", options, stats)))
		return rc;
	registry__unpack_run *run = NULL;
	if ((rc = registry__unpack_run_new(&run, store, ref_name, dest, 0, options)))
		return rc;
	registry_op *op = NULL;
	if ((rc = registry__loop_op_new(&op, loop, NULL, &unpack_kind, sizeof(unpack_op), done, userdata))) {
		registry__unpack_run_free(run);
		return rc;
	}
	unpack_op *u = (unpack_op *)(void *)op;
	u->run = run;
	u->stats = stats;
	*out = op;
	int64_t t = registry__loop_step_begin(loop);
	registry__loop_wait(loop, &u->wait, 0, slice);
	registry__loop_step_end(loop, t);
	return 0;
}

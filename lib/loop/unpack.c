/*
 * An unpack in slices on the caller's event loop: the unpack's own stepped
 * run (unpack/unpack.c) applies the layers a slice of the step's budget at
 * a time, each slice a 0 ms wait on the loop's timer. Used by
 * registry_pull_to_start (a root filesystem) and, as an operation of its
 * own with no transfer and no client, by registry_store_unpack_start.
 */
#include <stddef.h>

#include "loop_impl.h"
#include "unpack/unpack_impl.h"

static void slice(lwait *w)
{
	lunpack *u = (lunpack *)(void *)((char *)w - offsetof(lunpack, wait));
	int rc = registry__unpack_run_step(u->run, registry__loop_spent, u->L);
	if (rc == 1)
		registry__loop_wait(u->L, &u->wait, 0, slice);
	else
		u->done(u, rc);
}

void registry__loop_unpack_go(lunpack *u)
{
	registry__loop_wait(u->L, &u->wait, 0, slice);
}

void registry__loop_unpack_stop(lunpack *u)
{
	if (u->L)
		registry__loop_unwait(u->L, &u->wait);
	registry__unpack_run_free(u->run);
	u->run = NULL;
}

/* ---- registry_store_unpack_start ---- */

typedef struct unpack_op {
	registry_op op;
	lunpack u;
	registry_unpack_stats *stats; /* the caller's, filled at the end */
} unpack_op;

static void unpack_stop(registry_op *op)
{
	registry__loop_unpack_stop(&((unpack_op *)(void *)op)->u);
}

static const registry__op_kind unpack_kind = {unpack_stop, unpack_stop};

static void unpacked(lunpack *u, int rc)
{
	unpack_op *o = (unpack_op *)(void *)((char *)u - offsetof(unpack_op, u));
	registry__unpack_run_stats(u->run, o->stats);
	registry__loop_op_complete(&o->op, rc);
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
	unpack_op *o = (unpack_op *)(void *)op;
	o->u = (lunpack){.L = loop, .run = run, .done = unpacked};
	o->stats = stats;
	*out = op;
	int64_t t = registry__loop_step_begin(loop);
	registry__loop_unpack_go(&o->u);
	registry__loop_step_end(loop, t);
	return 0;
}

/*
 * Tag and catalog lists on the caller's event loop: registry_list_fetch_start
 * fetches the next page of an open registry_list as an operation; the page
 * is judged by the blocking iterator's own code (registry__list_page_done),
 * so registry_list_next() then returns its names without a request.
 */
#include <stdlib.h>

#include "loop_impl.h"
#include "ops/list_impl.h"

typedef struct list_op {
	registry_op op;
	registry_list *list;
	lreq q;
} list_op;

static void page_done(lreq *q, int rc)
{
	list_op *l = q->ud;
	rc = registry__list_page_done(l->list, rc, &q->resp);
	registry__loop_lreq_end(q);
	registry__loop_op_complete(&l->op, rc);
}

static void list_base_known(registry_op *op)
{
	list_op *l = (list_op *)(void *)op;
	int rc = registry__loop_lreq_begin_at(&l->q, op, registry__list_page_url(l->list),
	                                      registry__list_scope(l->list));
	if (rc) {
		registry__loop_op_complete(op, rc);
		return;
	}
	l->q.ud = l;
	l->q.done = page_done;
	l->q.r.headers = registry__list_headers;
	l->q.body_limit = REGISTRY__JSON_LIMIT;
	registry__loop_lreq_go(&l->q);
}

static void list_stop(registry_op *op)
{
	registry__loop_lreq_stop(&((list_op *)(void *)op)->q);
}

static void list_free(registry_op *op)
{
	registry__loop_lreq_end(&((list_op *)(void *)op)->q);
}

static const registry__op_kind list_kind = {list_stop, list_free};

int registry_list_fetch_start(registry_op **out, registry_loop *loop, registry_list *list,
                              registry_op_done_cb done, void *userdata)
{
	REGISTRY__ENTER(rc);
	if (out)
		*out = NULL;
	if (!out || !loop || !list || !done)
		return registry__fail(REGISTRY_EINVAL, "registry_list_fetch_start: NULL argument");
	registry_op *op = NULL;
	if ((rc = registry__loop_op_new(&op, loop, registry__list_client(list), &list_kind, sizeof(list_op), done,
	                                userdata)))
		return rc;
	list_op *l = (list_op *)(void *)op;
	l->list = list;
	*out = op;
	int64_t t = registry__loop_step_begin(loop);
	if (!registry__list_page_url(list))
		registry__loop_op_complete(op, 0); /* the list has ended: nothing to fetch */
	else if ((rc = registry__list_page_check(list)))
		registry__loop_op_complete(op, rc);
	else
		registry__loop_with_base(op, list_base_known);
	registry__loop_step_end(loop, t);
	return 0;
}

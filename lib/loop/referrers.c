/*
 * Referrers on the caller's event loop, the blocking code's steps as state
 * machines that never block:
 *
 *   ltag (a pushed manifest with a subject, no OCI-Subject in the answer):
 *     GET the "<alg>-<hex>" tag ─► listed: done
 *                               └► PUT the index with our entry ─► pause
 *                                  (a wait on the loop's timer) ─► GET ...
 *
 *   lwalk (REGISTRY_PULL_REFERRERS, REGISTRY_COPY_REFERRERS), breadth first:
 *     for each digest: GET referrers pages (Link) ─┬─ the list
 *                      404: GET the tag schema's tag ┘
 *       ─► each referrer not seen: a child loop operation (a pull into the
 *          store, or a copy), one at a time, as the blocking walk runs them
 *
 * The bookkeeping (what is listed, what to write, how long to pause, the
 * bounds, the messages) is ops/referrers_tag.c's, referrers_walk.c's and
 * referrers.c's, so results and error records are the blocking ones.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop_referrers.h"
#include "ops/ops_impl.h"

/* A manifest GET of @tag in @repository, judged as registry_manifest_fetch(). */
static int tag_judge(registry_manifest **m, lreq *q, int rc, const char *repository, const char *tag)
{
	char what[1200];
	snprintf(what, sizeof(what), "fetching manifest %s:%s", repository, tag);
	return registry__manifest_from_response(m, rc, &q->resp, tag, 0, q->body_limit, what);
}

/* Begin a manifest GET of @tag at @op's registry: 0 or the failure (@q ended). */
static int tag_get(lreq *q, registry_op *op, const char *repository, const char *tag, const char *scope,
                   size_t max_size, void *ud, void (*done)(lreq *q, int rc))
{
	char path[1024];
	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", repository, tag);
	int rc = registry__loop_lreq_begin_at(q, op, path, scope);
	if (rc)
		return rc;
	q->r.headers = registry__manifest_accept_headers;
	q->body_limit = max_size;
	q->ud = ud;
	q->done = done;
	registry__loop_lreq_go(q);
	return 0;
}

void registry__loop_manifest_put(lreq *q, const registry_manifest *m, char *ctype, size_t ctype_size,
                                 const char *headers[2])
{
	snprintf(ctype, ctype_size, "Content-Type: %s", registry_manifest_media_type(m));
	headers[0] = ctype;
	headers[1] = NULL;
	q->r.method = "PUT";
	q->r.headers = headers;
	size_t len = 0;
	q->body = registry_manifest_raw(m, &len);
	q->body_len = len;
}

/* ---- the referrers tag upkeep ------------------------------------------------------- */

static void tag_read(ltag *t);

static void tag_end(ltag *t, int rc)
{
	registry__loop_tag_stop(t);
	t->done(t, rc);
}

static void tag_settled(lwait *w)
{
	ltag *t = (ltag *)(void *)((char *)w - offsetof(ltag, wait));
	int rc = registry__tag_upkeep_again(&t->u);
	if (rc)
		tag_end(t, rc);
	else
		tag_read(t);
}

static void tag_written(lreq *q, int rc)
{
	ltag *t = q->ud;
	char what[1200];
	snprintf(what, sizeof(what), "pushing manifest %s:%s", t->repository, t->u.tag);
	rc = registry__manifest_put_judge(t->next, rc, &q->resp, what);
	registry__loop_lreq_end(q);
	registry_manifest_free(t->next);
	t->next = NULL;
	long ms = 0;
	if ((rc = registry__tag_upkeep_wrote(&t->u, rc, &ms)))
		tag_end(t, rc);
	else
		registry__loop_wait(t->op->loop, &t->wait, ms, tag_settled);
}

static void tag_write(ltag *t)
{
	char path[1024];
	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", t->repository, t->u.tag);
	int rc = registry__loop_lreq_begin_at(&t->q, t->op, path, t->scope);
	if (rc) {
		tag_end(t, rc);
		return;
	}
	registry__loop_manifest_put(&t->q, t->next, t->ctype, sizeof(t->ctype), t->headers);
	t->q.ud = t;
	t->q.done = tag_written;
	registry__loop_lreq_go(&t->q);
}

static void tag_got(lreq *q, int rc)
{
	ltag *t = q->ud;
	/* The record as it was: a 404 (no tag yet) is not a failure. */
	registry__error_snapshot *saved = registry__error_save();
	registry_manifest *current = NULL;
	rc = tag_judge(&current, q, rc, t->repository, t->u.tag);
	registry__loop_lreq_end(q);
	if ((rc = registry__tag_upkeep_read(&t->u, &t->next, rc, current, saved)) || !t->next)
		tag_end(t, rc);
	else
		tag_write(t);
}

static void tag_read(ltag *t)
{
	int rc = tag_get(&t->q, t->op, t->repository, t->u.tag, t->scope, REGISTRY__MANIFEST_LIMIT, t, tag_got);
	if (rc)
		tag_end(t, rc);
}

void registry__loop_tag_add(ltag *t, registry_op *op, const char *repository, const char *scope,
                            const registry_manifest *m, void (*done)(ltag *t, int rc))
{
	t->op = op;
	t->repository = repository;
	t->scope = scope;
	t->done = done;
	t->active = 1;
	registry__tag_upkeep_begin(&t->u, repository, m);
	tag_read(t);
}

void registry__loop_tag_stop(ltag *t)
{
	if (!t->active)
		return;
	t->active = 0;
	registry__loop_lreq_stop(&t->q);
	registry__loop_lreq_end(&t->q);
	if (t->op->loop) /* NULL once the loop is being freed */
		registry__loop_unwait(t->op->loop, &t->wait);
	registry_manifest_free(t->next);
	t->next = NULL;
}

/* ---- the walk ---------------------------------------------------------------------- */

static void walk_subject(lwalk *lw);
static void walk_page(lwalk *lw);
static void walk_referrer(lwalk *lw);

static void walk_end(lwalk *lw, int rc)
{
	registry__loop_walk_stop(lw);
	lw->done(lw, rc);
}

/* The list of the subject at hand: its referrers, one by one. */
static void walk_listed(lwalk *lw, int rc, registry_manifest *index)
{
	registry__referrers_list_free(&lw->l);
	if (rc) {
		walk_end(lw, rc);
		return;
	}
	registry__error_clear(); /* as registry_referrers_fetch(): a 404 on the way is no failure */
	registry__walk_set_index(&lw->w, index);
	walk_referrer(lw);
}

static void walk_tag_got(lreq *q, int rc)
{
	lwalk *lw = q->ud;
	registry_manifest *m = NULL, *index = NULL;
	rc = tag_judge(&m, q, rc, lw->repository, lw->l.tag);
	registry__loop_lreq_end(q);
	rc = registry__referrers_list_from_tag(&index, &lw->l, rc, m);
	walk_listed(lw, rc, index);
}

static void walk_page_got(lreq *q, int rc)
{
	lwalk *lw = q->ud;
	rc = registry__referrers_list_page(&lw->l, rc, &q->resp);
	registry__loop_lreq_end(q);
	if (rc)
		walk_listed(lw, rc, NULL);
	else
		walk_page(lw);
}

/* The next page; after the last, the list (or the tag schema's, when the
 * registry has no referrers API). */
static void walk_page(lwalk *lw)
{
	registry__referrers_list *l = &lw->l;
	int rc = 0;
	if (l->url) {
		if (!(rc = registry__loop_lreq_begin_at(&lw->q, lw->op, l->url, l->scope))) {
			lw->q.r.headers = registry__referrers_accept;
			lw->q.body_limit = l->max_size;
			lw->q.ud = lw;
			lw->q.done = walk_page_got;
			registry__loop_lreq_go(&lw->q);
			return;
		}
	} else if (!l->found) {
		if (!(rc = tag_get(&lw->q, lw->op, lw->repository, l->tag, l->scope, l->max_size, lw, walk_tag_got)))
			return;
	} else {
		registry_manifest *index = NULL;
		rc = registry__referrers_list_end(&index, l);
		walk_listed(lw, rc, index);
		return;
	}
	walk_listed(lw, rc, NULL);
}

/* The next digest whose referrers are listed; none left: the walk is done. */
static void walk_subject(lwalk *lw)
{
	const char *digest = registry__walk_next_subject(&lw->w);
	if (!digest) {
		walk_end(lw, 0);
		return;
	}
	static const registry_referrers_fetch_options defaults = REGISTRY_REFERRERS_FETCH_OPTIONS_INIT;
	int rc = registry__referrers_list_begin(&lw->l, lw->client, lw->repository, digest, &defaults);
	if (rc)
		walk_listed(lw, rc, NULL);
	else
		walk_page(lw);
}

/* The next referrer not seen yet: its child started; none: the next subject. */
static void walk_referrer(lwalk *lw)
{
	const char *digest = NULL;
	int rc = registry__walk_next_referrer(&lw->w, &digest);
	if (rc == 0) {
		walk_subject(lw);
		return;
	}
	/* One step, so that a child failing at once completes at its end. */
	registry_loop *loop = lw->op->loop;
	int64_t t = registry__loop_step_begin(loop);
	if (rc > 0)
		rc = lw->each(lw, digest);
	if (rc)
		walk_end(lw, rc);
	else
		lw->child->owner = &lw->child;
	registry__loop_step_end(loop, t);
}

/* A referrer's pull or copy completed (the record is its own). */
static void walk_child_done(registry_op *child, int rc, void *userdata)
{
	lwalk *lw = userdata;
	lw->child = NULL;
	registry_op_free(child);
	if (rc)
		walk_end(lw, rc);
	else
		walk_referrer(lw);
}

/* One referrer into the store, byte for byte, named by its digest. */
static int pull_each(lwalk *lw, const char *digest)
{
	registry_reference *ref = NULL;
	int rc = registry_reference_new(&ref, registry_client_registry(lw->client), lw->repository, NULL, digest);
	if (!rc)
		rc = registry_pull_start(&lw->child, lw->op->loop, lw->client, ref, lw->store, NULL, &lw->pull,
		                         walk_child_done, lw);
	registry_reference_free(ref);
	return rc;
}

/* One referrer, whole, from the source repository to the target's. */
static int copy_each(lwalk *lw, const char *digest)
{
	registry_reference *from = NULL, *to = NULL;
	int rc = registry_reference_new(&from, registry_client_registry(lw->client), lw->repository, NULL, digest);
	if (!rc)
		rc = registry_reference_new(&to, registry_reference_registry(lw->target_ref),
		                            registry_reference_repository(lw->target_ref), NULL, digest);
	if (!rc)
		rc = registry_copy_start(&lw->child, lw->op->loop, lw->client, from, lw->target, to, &lw->copy,
		                         walk_child_done, lw);
	registry_reference_free(from);
	registry_reference_free(to);
	return rc;
}

static int walk_start(lwalk *lw, registry_op *op, const char *repository, const char *subject,
                      int (*each)(lwalk *lw, const char *digest), void (*done)(lwalk *lw, int rc))
{
	lw->op = op;
	lw->client = op->client;
	lw->each = each;
	lw->done = done;
	int rc = registry__walk_begin(&lw->w, subject);
	if (!rc && !(lw->repository = registry__strdup(repository)))
		rc = registry__nomem();
	if (rc) {
		registry__loop_walk_stop(lw);
		return rc;
	}
	walk_subject(lw);
	return 0;
}

int registry__loop_walk_pull(lwalk *lw, registry_op *op, const char *repository, const char *subject,
                             registry_store *store, const registry_pull_options *o, void (*done)(lwalk *lw, int rc))
{
	/* As pull_one (ops/referrers_walk.c): every platform, digests kept, no
	 * policy (the subject was verified), the caller's progress. */
	lw->store = store;
	lw->pull = (registry_pull_options)REGISTRY_PULL_OPTIONS_INIT;
	lw->pull.flags = REGISTRY_PULL_ALL_PLATFORMS | REGISTRY_PULL_PRESERVE_DIGESTS;
	lw->pull.max_manifest_size = o->max_manifest_size;
	lw->pull.progress = o->progress;
	lw->pull.userdata = o->userdata;
	return walk_start(lw, op, repository, subject, pull_each, done);
}

int registry__loop_walk_copy(lwalk *lw, registry_op *op, const char *repository, const char *subject,
                             registry_client *target, const registry_reference *target_ref,
                             const registry_copy_options *o, void (*done)(lwalk *lw, int rc))
{
	/* As copy_one (ops/referrers_walk.c): every platform, version 1's fields. */
	lw->target = target;
	lw->target_ref = target_ref;
	lw->copy = (registry_copy_options)REGISTRY_COPY_OPTIONS_INIT;
	lw->copy.flags = REGISTRY_COPY_ALL_PLATFORMS;
	lw->copy.chunk_size = o->chunk_size;
	lw->copy.progress = o->progress;
	lw->copy.userdata = o->userdata;
	return walk_start(lw, op, repository, subject, copy_each, done);
}

void registry__loop_walk_stop(lwalk *lw)
{
	registry_op *child = lw->child;
	lw->child = NULL;
	registry_op_free(child); /* a running child: canceled, no callback */
	if (lw->op) {
		registry__loop_lreq_stop(&lw->q);
		registry__loop_lreq_end(&lw->q);
	}
	registry__referrers_list_free(&lw->l);
	registry__walk_free(&lw->w);
	free(lw->repository);
	lw->repository = NULL;
}

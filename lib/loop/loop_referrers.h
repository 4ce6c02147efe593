/*
 * Referrers on the caller's event loop (loop/referrers.c): the referrers
 * tag upkeep of a push (ltag) and the walk of REGISTRY_PULL_REFERRERS and
 * REGISTRY_COPY_REFERRERS (lwalk), as state machines over lreq requests.
 * Their bookkeeping is the blocking code's (ops/referrers_tag.c,
 * referrers_walk.c, referrers.c). Not installed.
 */
#ifndef REGISTRY_LOOP_REFERRERS_H
#define REGISTRY_LOOP_REFERRERS_H

#include "loop_impl.h"
#include "ops/referrers_impl.h"

/* Make @q (begun) the PUT of @m: its bytes the body, its media type the
 * Content-Type (the line written in @ctype, the list in @headers: both the
 * caller's until @q ends). Shared with the push's manifests (loop/push.c). */
void registry__loop_manifest_put(lreq *q, const registry_manifest *m, char *ctype, size_t ctype_size,
                                 const char *headers[2]);

/* ---- the referrers tag upkeep (registry__referrers_tag_add) ---- */

typedef struct ltag ltag;
struct ltag {
	registry_op *op; /* its requests go to op->client */
	const char *repository, *scope; /* borrowed, as @m */
	registry__tag_upkeep u;
	registry_manifest *next; /* the index being written */
	lreq q;
	lwait wait; /* the pause before the check */
	char ctype[300];
	const char *headers[2];
	int active;
	void (*done)(ltag *t, int rc);
};

/* Add @m (just pushed to @repository with a subject, the registry keeping
 * no referrers list) to its subject's referrers tag, as registry_push
 * does: done(t, 0 or the failure, recorded) later, or from within when
 * it cannot begin. */
void registry__loop_tag_add(ltag *t, registry_op *op, const char *repository, const char *scope,
                            const registry_manifest *m, void (*done)(ltag *t, int rc));
/* Stop it (no done) and free what it holds; for one never begun too. */
void registry__loop_tag_stop(ltag *t);

/* ---- the walk (registry__referrers_walk) ---- */

typedef struct lwalk lwalk;
struct lwalk {
	registry_op *op; /* the parent: its requests list the referrers (op->client) */
	registry_client *client, *target;
	char *repository;
	const registry_reference *target_ref; /* a copy's */
	registry_store *store;                /* a pull's */
	registry_pull_options pull;           /* a referrer's pull (version 1 fields) */
	registry_copy_options copy;           /* a referrer's copy (version 1 fields) */
	registry__walk w;
	registry__referrers_list l;
	lreq q;
	registry_op *child; /* the referrer's pull or copy running */
	int (*each)(lwalk *lw, const char *digest);
	void (*done)(lwalk *lw, int rc);
	void *ud;
};

/* REGISTRY_PULL_REFERRERS: the referrers of @subject in @repository (at
 * @op's client), recursively, each pulled whole by digest into @store
 * with @o's progress, as registry__pull_referrers does. REGISTRY_COPY_REFERRERS:
 * each copied to @target's repository of @target_ref, as
 * registry__copy_referrers does (@o its chunk size and progress). 0 and
 * done(lw, rc) later, or a failure now (nothing started). */
int registry__loop_walk_pull(lwalk *lw, registry_op *op, const char *repository, const char *subject,
                             registry_store *store, const registry_pull_options *o, void (*done)(lwalk *lw, int rc));
int registry__loop_walk_copy(lwalk *lw, registry_op *op, const char *repository, const char *subject,
                             registry_client *target, const registry_reference *target_ref,
                             const registry_copy_options *o, void (*done)(lwalk *lw, int rc));
/* Stop it (a child running is freed, no callback) and free what it holds. */
void registry__loop_walk_stop(lwalk *lw);

#endif

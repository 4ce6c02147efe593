/*
 * Copy an image on the caller's event loop (registry_copy_start): the
 * blocking copy relays each blob through a producer thread (lib/ops/copy.c),
 * which loop mode cannot have, so the copy is two loop operations in turn:
 *
 *   loop pull (digests preserved: the manifests' bytes as the source has
 *   them; the copy's platform, or every platform and the index)
 *     into a private temporary store under $TMPDIR
 *   ─► loop push of that image to the target
 *   ─► the temporary store removed (also after a failure, a cancel, a free)
 *
 * The copy is a parent operation: it makes no request itself; it holds the
 * running child (its owner slot cleared when the child is freed first, as
 * registry_loop_free may), a cancel or free of the copy frees the child
 * without its callback, and the copy completes with the child's code and
 * error record. Manifests go byte for byte, so the result digest is the
 * blocking copy's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loop_impl.h"
#include "loop_referrers.h"
#include "manifest/manifest_impl.h"
#include "ops/ops_impl.h"
#include "ops/pull_impl.h"

/* The image's name in the temporary store. */
#define COPY_REF_NAME "copy"

enum { C_PULL, C_PUSH, C_DONE };

typedef struct copy_op {
	registry_op op;
	registry_op *child; /* the pull or push running, or NULL */
	int phase;
	registry_client *target;
	registry_reference *target_ref;
	registry_push_options push;
	char *mount_from; /* the source repository, when both are one registry */
	char *tmp; /* the temporary store's folder */
	registry_store *store;
	registry_client *source;
	registry_reference *source_ref;
	registry_copy_options referrers; /* REGISTRY_COPY_REFERRERS: version 1's fields; else flags 0 */
	lwalk *walk;                     /* the referrers' copies under way */
} copy_op;

/* The temporary store closed and its folder removed. */
static void tmp_remove(copy_op *c)
{
	registry__loop_tmp_store_remove(&c->tmp, &c->store);
}

static void copy_stop(registry_op *op)
{
	copy_op *c = (copy_op *)(void *)op;
	registry_op *child = c->child;
	c->child = NULL;
	registry_op_free(child); /* a running child: canceled, no callback */
	c->phase = C_DONE;
	tmp_remove(c);
	if (c->walk)
		registry__loop_walk_stop(c->walk);
	free(c->walk);
	c->walk = NULL;
}

static void copy_free(registry_op *op)
{
	copy_op *c = (copy_op *)(void *)op;
	registry_reference_free(c->target_ref);
	registry_reference_free(c->source_ref);
	free(c->mount_from);
	free(op->digest);
}

static const registry__op_kind copy_kind = {copy_stop, copy_free};

/* A private folder under $TMPDIR holding a new store. */
static int tmp_open(copy_op *c)
{
	return registry__loop_tmp_store(&c->tmp, &c->store, "registry_copy_start", "registry-copy");
}

static void child_done(registry_op *child, int rc, void *userdata);
static int start_referrers(copy_op *c);

/* The pull is in the temporary store: push it. On a failure to start, the
 * copy completes with it. Nothing of @c is used after a successful start
 * (the push may complete, and the caller free the copy, within it). */
static void start_push(copy_op *c)
{
	c->phase = C_PUSH;
	c->op.client = c->target; /* its cancel hook is asked from now on */
	registry__loop_push_child(&c->op, &c->child, c->store, COPY_REF_NAME, c->target_ref, &c->push, c->mount_from,
	                          child_done);
}

/* The referrers are copied (or one failed): the copy completes. */
static void referrers_copied(lwalk *lw, int rc)
{
	registry__loop_op_complete(lw->ud, rc);
}

/* REGISTRY_COPY_REFERRERS, as registry_copy() takes them after the image:
 * those of the digest pushed (the source's, byte for byte), recursively,
 * each copied whole by digest. 0 or the failure. */
static int start_referrers(copy_op *c)
{
	if (!(c->walk = calloc(1, sizeof(*c->walk))))
		return registry__nomem();
	c->walk->ud = &c->op;
	c->op.client = c->source; /* the source lists them */
	return registry__loop_walk_copy(c->walk, &c->op, registry_reference_repository(c->source_ref), c->op.digest,
	                                c->target, c->target_ref, &c->referrers, referrers_copied);
}

/* A child completed (the thread's record is its own): the next one, or the
 * copy completes with the child's code, record and digest. */
static void child_done(registry_op *child, int rc, void *userdata)
{
	copy_op *c = userdata;
	if (!rc && c->phase == C_PULL) {
		c->child = NULL;
		registry_op_free(child);
		start_push(c);
		return;
	}
	if (!rc && (rc = registry_op_result_digest(&c->op.digest, child)))
		c->op.digest = NULL;
	if (!rc && (c->referrers.flags & REGISTRY_COPY_REFERRERS)) {
		c->child = NULL;
		registry_op_free(child);
		tmp_remove(c); /* the image is at the target */
		if (!(rc = start_referrers(c)))
			return;
	}
	/* The child is freed (and the store removed) as the copy stops. */
	registry__loop_op_complete(&c->op, rc);
}

/* registry_copy()'s checks, and what the composition cannot do refused. */
static int check_start(registry_op **out, registry_loop *loop, registry_client *source,
                       const registry_reference *source_ref, registry_client *target,
                       const registry_reference *target_ref, const registry_copy_options *o,
                       registry_op_done_cb done)
{
	static const char fn[] = "registry_copy_start";
	if (!out || !loop || !source || !source_ref || !target || !target_ref || !done)
		return registry__fail(REGISTRY_EINVAL, "%s: NULL argument", fn);
	int rc;
	if ((rc = registry__options_check(fn, o->version, REGISTRY_COPY_OPTIONS_VERSION, o->flags,
	                                  REGISTRY_COPY_ALL_PLATFORMS | REGISTRY_COPY_REFERRERS)) ||
	    (rc = registry__platform_check(fn, o->platform)) ||
	    (rc = registry__ops_check_ref_registry(source, source_ref)) ||
	    (rc = registry__ops_check_ref_registry(target, target_ref)))
		return rc;
	return 0;
}

int registry_copy_start(registry_op **out, registry_loop *loop, registry_client *source,
                        const registry_reference *source_ref, registry_client *target,
                        const registry_reference *target_ref, const registry_copy_options *options,
                        registry_op_done_cb done, void *userdata)
{
	REGISTRY__ENTER(rc);
	if (out)
		*out = NULL;
	registry_copy_options defaults = REGISTRY_COPY_OPTIONS_INIT;
	if (!options)
		options = &defaults;
	if ((rc = check_start(out, loop, source, source_ref, target, target_ref, options, done)))
		return rc;
	registry_op *op = NULL;
	if ((rc = registry__loop_op_new(&op, loop, source, &copy_kind, sizeof(copy_op), done, userdata)))
		return rc;
	copy_op *c = (copy_op *)(void *)op;
	c->target = target;
	c->push = (registry_push_options)REGISTRY_PUSH_OPTIONS_INIT;
	c->push.chunk_size = options->chunk_size;
	/* Progress is the push's: each blob once, as it reaches the target. */
	c->push.progress = options->progress;
	c->push.userdata = options->userdata;
	registry_pull_options po = REGISTRY_PULL_OPTIONS_INIT;
	po.flags = REGISTRY_PULL_PRESERVE_DIGESTS;
	if (options->flags & REGISTRY_COPY_ALL_PLATFORMS)
		po.flags |= REGISTRY_PULL_ALL_PLATFORMS;
	po.platform = options->platform;
	c->source = source;
	if (options->flags & REGISTRY_COPY_REFERRERS) {
		c->referrers.flags = REGISTRY_COPY_REFERRERS;
		c->referrers.chunk_size = options->chunk_size;
		c->referrers.progress = options->progress;
		c->referrers.userdata = options->userdata;
	}
	/* The pull verifies the source as registry_copy does, before anything
	 * is fetched; a caller's version 1 struct ends before policy. */
	po.policy = options->version >= 2 ? options->policy : NULL;
	/* One registry: each blob is mounted from the source repository, as
	 * registry_copy() does, instead of uploaded again. */
	const char *src_repo = registry_reference_repository(source_ref);
	if (strcmp(registry_client_registry(source), registry_client_registry(target)) == 0 &&
	    strcmp(src_repo, registry_reference_repository(target_ref)) != 0 &&
	    !(c->mount_from = registry__strdup(src_repo)))
		rc = registry__nomem();
	if (rc || (rc = registry_reference_dup(&c->target_ref, target_ref)) ||
	    (rc = registry_reference_dup(&c->source_ref, source_ref)) || (rc = tmp_open(c))) {
		registry_op_free(op);
		return rc;
	}
	*out = op;
	/* One step: a pull that fails before any request completes the copy
	 * at its end, after *out is set, as registry_pull_start() does. */
	int64_t t = registry__loop_step_begin(loop);
	rc = registry_pull_start(&c->child, loop, source, source_ref, c->store, COPY_REF_NAME, &po, child_done, c);
	if (rc) {
		*out = NULL;
		registry__loop_step_end(loop, t);
		registry_op_free(op);
		return rc;
	}
	c->child->owner = &c->child;
	registry__loop_step_end(loop, t);
	return 0;
}

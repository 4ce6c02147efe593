/*
 * A schema1 image converted to OCI without a long step (docs/event-loop.md,
 * "Bounded steps"): what registry__convert_schema1 does (lib/ops/
 * pull_schema1.c), its parts run on the loop. Each layer's diff_id (the
 * sha256 of the tar inside the gzip) is computed about 1 MiB of work at a
 * time (registry__diffid_step), one piece after another while the step's
 * budget lasts, then a 0 ms wait on the timer; the config is built by the
 * blocking code (registry__schema1_build) and committed like a blob, its
 * fsyncs through AIO (loop/sync.c). The manifest and its index.json entry
 * are then the caller's (loop/store.c), as for any converted image.
 */
#include <stdlib.h>
#include <string.h>

#include "loop_impl.h"
#include "ops/pull_impl.h"

/* Work (bytes read and hashed) between two looks at the step's budget. */
#define DIFFID_PIECE ((size_t)1 << 20)
/* Another writer of this store handle holds the config's partial. */
#define BUSY_RETRY_MS 20

struct ls1 {
	registry_op *op;
	registry_store *store;
	registry__schema1 s;
	size_t i, n; /* the history entry at hand, the layers done */
	char (*ids)[REGISTRY_DIGEST_STRING_MAX];
	const char **ptrs;
	int64_t *sizes;
	unsigned char *gz;
	registry__diffid *job;
	registry_manifest *built;
	char *config;
	size_t config_len;
	lcommit *commit;
	lwait wait;
	void (*done)(registry_op *op, int rc, registry_manifest *built);
};

static void s1_free(ls1 *c)
{
	registry__loop_unwait(c->op->loop, &c->wait);
	registry__loop_commit_forget(c->commit);
	registry__diffid_free(c->job);
	registry_manifest_free(c->built);
	registry__schema1_free(&c->s);
	free(c->ids);
	free(c->ptrs);
	free(c->sizes);
	free(c->gz);
	free(c->config);
	free(c);
}

static void finish(ls1 *c, int rc)
{
	registry_op *op = c->op;
	void (*done)(registry_op *op, int rc, registry_manifest *built) = c->done;
	registry_manifest *built = rc ? NULL : c->built;
	c->built = rc ? c->built : NULL;
	c->commit = NULL;
	s1_free(c);
	done(op, rc, built);
}

static void config_committed(void *ud, int rc)
{
	ls1 *c = ud;
	c->commit = NULL;
	finish(c, rc);
}

/* The config as a blob of the store (already there: nothing to write). */
static void commit_config(lwait *w)
{
	ls1 *c = (ls1 *)(void *)((char *)w - offsetof(ls1, wait));
	char *digest = NULL;
	int rc = registry_digest_buffer(&digest, REGISTRY_DIGEST_SHA256, c->config, c->config_len);
	if (!rc)
		rc = registry__loop_commit_bytes(&c->commit, c->op->loop, c->store, digest, c->config, c->config_len,
		                                 config_committed, c);
	registry_free(digest);
	if (rc == REGISTRY__LOOP_BUSY)
		registry__loop_wait(c->op->loop, &c->wait, BUSY_RETRY_MS, commit_config);
	else if (rc <= 0)
		finish(c, rc);
}

/* The diff_ids are known: the manifest and config, as the blocking code builds them. */
static void build(ls1 *c)
{
	int rc = registry__schema1_build(&c->built, &c->config, &c->config_len, &c->s, c->ptrs, c->sizes, c->gz, c->n);
	if (rc) {
		finish(c, rc);
		return;
	}
	commit_config(&c->wait);
}

/* Diff_ids while the step's budget lasts; then the next step. */
static void slice(lwait *w)
{
	ls1 *c = (ls1 *)(void *)((char *)w - offsetof(ls1, wait));
	for (;;) {
		if (!c->job) {
			while (c->i < c->s.count && c->s.throwaway[c->i])
				c->i++;
			if (c->i == c->s.count) {
				build(c);
				return;
			}
			int rc = registry_store_blob_size(&c->sizes[c->n], c->store, c->s.blob_sums[c->i]);
			if (!rc)
				rc = registry__diffid_begin(&c->job, c->store, c->s.blob_sums[c->i], NULL);
			if (rc) {
				finish(c, rc);
				return;
			}
		}
		int gz = 0;
		int rc = registry__diffid_step(c->job, DIFFID_PIECE, c->ids[c->n], &gz);
		if (rc < 0) {
			finish(c, rc);
			return;
		}
		if (rc == 0) {
			registry__diffid_free(c->job);
			c->job = NULL;
			c->gz[c->n] = (unsigned char)gz;
			c->ptrs[c->n] = c->ids[c->n];
			c->n++;
			c->i++;
		}
		if (registry__loop_over_budget(c->op->loop)) {
			registry__loop_wait(c->op->loop, &c->wait, 0, slice);
			return;
		}
	}
}

int registry__loop_schema1_convert(ls1 **out, registry_op *op, registry_store *store, const registry_manifest *m,
                                   void (*done)(registry_op *op, int rc, registry_manifest *built))
{
	*out = NULL;
	if (!registry__have_zlib())
		return registry__fail(REGISTRY_EUNSUPPORTED,
		                      "converting schema1 %s needs zlib, which this build lacks; pull with "
		                      "REGISTRY_PULL_PRESERVE_DIGESTS", registry_manifest_digest(m));
	ls1 *c = calloc(1, sizeof(*c));
	if (!c)
		return registry__nomem();
	c->op = op;
	c->store = store;
	c->done = done;
	int rc = registry__schema1_load(&c->s, m);
	if (rc) {
		free(c);
		return rc;
	}
	size_t alloc = c->s.count ? c->s.count : 1; /* calloc(0) may return NULL */
	c->ids = calloc(alloc, sizeof(*c->ids));
	c->ptrs = calloc(alloc, sizeof(*c->ptrs));
	c->sizes = calloc(alloc, sizeof(*c->sizes));
	c->gz = calloc(alloc, 1);
	if (!c->ids || !c->ptrs || !c->sizes || !c->gz) {
		s1_free(c);
		return registry__nomem();
	}
	registry__loop_wait(op->loop, &c->wait, 0, slice);
	*out = c;
	return 0;
}

void registry__loop_schema1_forget(ls1 *c)
{
	if (c)
		s1_free(c);
}

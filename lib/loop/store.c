/*
 * The end of a loop pull without blocking: what registry__pull_store_manifest
 * and registry__pull_index_entry do (lib/ops/pull.c) with their four fsyncs
 * off the step. The manifest as the store keeps it (converted as
 * registry_pull converts) is committed
 * like a blob (loop/sync.c), then its index.json entry is written through
 * an index transaction (store/index.c): the layout lock taken without
 * waiting (retried when another update holds it), the new index.json
 * fsync'ed, renamed, its folder fsync'ed, each fsync through AIO. The
 * order, and so what a crash can leave, is the blocking pull's.
 */
#include <stdlib.h>
#include <string.h>

#include "loop_impl.h"
#include "ops/pull_impl.h"
#include "store/store_impl.h"

/* Another writer of this store handle holds the manifest's partial, or
 * another update holds index.json's lock: try again after this long. */
#define BUSY_RETRY_MS 20

struct lstore {
	registry_op *op;
	registry_store *store;
	const registry_manifest *image; /* as served */
	registry_manifest *built;       /* its conversion, or NULL */
	const registry_manifest *kept;  /* what the store keeps: built or image */
	char *ref_name;
	int entry;                      /* write the index.json entry */
	registry__pull_stored *record;  /* NULL, or where what is kept is recorded */
	lcommit *commit;
	lsync *sync;
	registry__index_txn *txn;
	lwait busy;
	void (*done)(registry_op *op, int rc);
};

static void manifest_start(lstore *s);
static void index_start(lstore *s);

static void store_free(lstore *s)
{
	registry__loop_commit_forget(s->commit);
	registry__loop_fsync_forget(s->sync);
	registry__store_index_add_end(s->txn, 0);
	registry__loop_unwait(s->op->loop, &s->busy);
	registry_manifest_free(s->built);
	free(s->ref_name);
	free(s);
}

static void finish(lstore *s, int rc)
{
	registry_op *op = s->op;
	void (*done)(registry_op *op, int rc) = s->done;
	size_t len = 0;
	registry_manifest_raw(s->kept, &len);
	if (!rc && s->record)
		rc = registry__pull_stored_set(s->record, registry_manifest_media_type(s->kept),
		                               registry_manifest_digest(s->kept), (int64_t)len);
	if (!rc && s->entry && !(op->digest = registry__strdup(registry_manifest_digest(s->kept))))
		rc = registry__nomem();
	s->commit = NULL;
	s->sync = NULL;
	s->txn = NULL;
	store_free(s);
	done(op, rc);
}

static void retry_fired(lwait *w)
{
	manifest_start((lstore *)(void *)((char *)w - offsetof(lstore, busy)));
}

/* ---- the manifest, as a blob ---- */

static void manifest_committed(void *ud, int rc)
{
	lstore *s = ud;
	s->commit = NULL;
	if (rc || !s->entry)
		finish(s, rc);
	else
		index_start(s);
}

static void manifest_start(lstore *s)
{
	size_t len = 0;
	const void *raw = registry_manifest_raw(s->kept, &len);
	int rc = registry__loop_commit_bytes(&s->commit, s->op->loop, s->store, registry_manifest_digest(s->kept), raw,
	                                     len, manifest_committed, s);
	if (rc == REGISTRY__LOOP_BUSY)
		registry__loop_wait(s->op->loop, &s->busy, BUSY_RETRY_MS, retry_fired);
	else if (rc == 0)
		manifest_committed(s, 0);
	else if (rc < 0)
		finish(s, rc);
}

/* ---- the index.json entry ---- */

static void index_dir_synced(void *ud, int err)
{
	lstore *s = ud;
	s->sync = NULL;
	int rc = registry__store_index_add_end(s->txn, err);
	s->txn = NULL;
	finish(s, rc);
}

static void index_synced(void *ud, int err)
{
	lstore *s = ud;
	int dir_fd = -1;
	s->sync = NULL;
	int rc = registry__store_index_add_rename(s->txn, err, &dir_fd);
	if (!rc && !(s->sync = registry__loop_fsync(s->op->loop, dir_fd, 1, index_dir_synced, s)))
		rc = REGISTRY_ENOMEM;
	if (rc) {
		registry__store_index_add_end(s->txn, 0);
		s->txn = NULL;
		finish(s, rc);
	}
}

static void index_retry_fired(lwait *w)
{
	index_start((lstore *)(void *)((char *)w - offsetof(lstore, busy)));
}

static void index_start(lstore *s)
{
	size_t len = 0;
	registry_manifest_raw(s->kept, &len);
	const char *annotations[3];
	registry_descriptor_spec spec;
	registry__pull_entry_spec(&spec, annotations, registry_manifest_media_type(s->kept),
	                          registry_manifest_digest(s->kept), (int64_t)len, s->image);
	int fd = -1;
	int rc = registry__store_index_add_begin(&s->txn, &fd, s->store, &spec, s->ref_name);
	if (rc == REGISTRY__STORE_BUSY) {
		registry__loop_wait(s->op->loop, &s->busy, BUSY_RETRY_MS, index_retry_fired);
		return;
	}
	if (rc || !s->txn) { /* a failure, or an open batch took it */
		finish(s, rc);
		return;
	}
	if (!(s->sync = registry__loop_fsync(s->op->loop, fd, 0, index_synced, s))) {
		registry__store_index_add_end(s->txn, 0);
		s->txn = NULL;
		finish(s, REGISTRY_ENOMEM);
	}
}

int registry__loop_store_manifest(lstore **out, registry_op *op, registry_store *store,
                                  const registry_manifest *source, registry_manifest *built, int entry,
                                  const char *ref_name, registry__pull_stored *record,
                                  void (*done)(registry_op *op, int rc))
{
	*out = NULL;
	lstore *s = calloc(1, sizeof(*s));
	if (!s) {
		registry_manifest_free(built);
		return registry__nomem();
	}
	*s = (lstore){.op = op, .store = store, .image = source, .built = built, .entry = entry, .record = record,
	              .done = done};
	if (ref_name && !(s->ref_name = registry__strdup(ref_name))) {
		store_free(s);
		return registry__nomem();
	}
	s->kept = s->built ? s->built : source;
	*out = s;
	manifest_start(s);
	return 0;
}

int registry__loop_store_image(lstore **out, registry_op *op, registry_store *store, unsigned int flags,
                               const registry_manifest *image, const char *ref_name,
                               void (*done)(registry_op *op, int rc))
{
	*out = NULL;
	registry_manifest *built = NULL;
	int rc = registry__pull_stored_manifest(&built, image, flags);
	return rc ? rc : registry__loop_store_manifest(out, op, store, image, built, 1, ref_name, NULL, done);
}

void registry__loop_store_forget(lstore *s)
{
	if (s)
		store_free(s);
}

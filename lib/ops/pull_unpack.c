/*
 * A pull to a root filesystem (registry_pull_to with ROOTFS / ROOTFS_TAR)
 * applies layer k as soon as layers 1..k are in the temporary store, while
 * later layers still download: an applier thread runs the unpack of
 * lib/unpack fed by this pull, and waits for each blob it needs.
 *
 * Threads: the pull stays on the caller's thread, and so do every call to
 * the caller's progress callback and cancel hook. The applier never calls
 * the caller: it leaves its latest progress report here, delivered once
 * the downloads are over, and it is stopped through a flag that its waits
 * and its progress steps read (within about 100 ms).
 *
 * Failures: an applier failure cancels the downloads (through the progress
 * callback and the cancel hook the pull asks every 100 ms) and is the one
 * reported; a failed or canceled pull stops the applier. Nothing is renamed
 * into place before the pull has succeeded (the feed's last wait), so a
 * failure leaves no DEST.
 *
 * A schema1 image falls back to pulling first and unpacking after: its
 * layers come reversed and its diff_ids are only known once the layers
 * are all there (its conversion to OCI reads them).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "pull_impl.h"
#include "transport/client_impl.h"
#include "unpack/unpack_impl.h"

#define WAIT_MS 100 /* how often a wait looks again, should a wake-up be lost */

typedef struct pipeline {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	registry_store *store;
	const char *dest;
	int tar;
	registry_unpack_options uo;   /* the applier's: progress to report_cb */
	registry_manifest *m;         /* the image the applier unpacks (a copy) */
	pthread_t thread;
	int started;                  /* the applier thread runs (or ran) */
	int sequential;               /* no applier: unpack after the pull */

	/* Under mu. */
	int pull_over, pull_ok;
	int done, rc;                 /* the applier's end and result */
	registry__error_snapshot *err; /* its error record */
	registry_progress snap;       /* its latest report, not yet delivered */
	int have_snap;

	atomic_int stop;   /* the applier must stop */
	atomic_int failed; /* the applier failed by itself: cancel the pull */

	/* The caller's, on the caller's thread only. */
	registry_client *client;
	registry_progress_cb user_cb;
	void *user_ud;
	registry_cancel_cb user_cancel;
	void *user_cancel_ud;
} pipeline;

/* ---- on the applier's thread ---- */

static int feed_wait(const char *digest, void *ud)
{
	pipeline *p = ud;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		if (atomic_load(&p->stop))
			break;
		if (!digest ? p->pull_over : p->pull_over || registry_store_has(p->store, digest) == 1)
			break;
		registry__cond_wait_ms(&p->cv, &p->mu, WAIT_MS);
	}
	int ok = !atomic_load(&p->stop) && (digest || p->pull_ok);
	pthread_mutex_unlock(&p->mu);
	return ok ? 0 : registry__fail(REGISTRY_ECANCELED, "unpack canceled: the pull did not complete");
}

/* The applier's progress, kept for the caller's thread; non-zero stops it. */
static int report_cb(const registry_progress *r, void *ud)
{
	pipeline *p = ud;
	pthread_mutex_lock(&p->mu);
	p->snap = *r;
	p->have_snap = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return atomic_load(&p->stop);
}

static void *applier_main(void *arg)
{
	pipeline *p = arg;
	registry__unpack_feed feed = {.wait = feed_wait, .ud = p};
	int rc = registry__unpack_fed(p->store, p->m, p->dest, p->tar, &p->uo, &feed);
	registry__error_snapshot *err = rc ? registry__error_save() : NULL;
	pthread_mutex_lock(&p->mu);
	/* Stopped by the pull's failure or the caller: not a failure of its own. */
	if (rc && !atomic_load(&p->stop))
		atomic_store(&p->failed, 1);
	p->done = 1;
	p->rc = rc;
	p->err = err;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	registry__error_clear();
	return NULL;
}

/* ---- on the caller's thread ---- */

static void wake(pipeline *p)
{
	pthread_mutex_lock(&p->mu);
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* The pull's progress: the caller's callback, and a blob in the store
 * wakes the applier. Non-zero (cancel the pull) when the applier failed. */
static int pull_progress(const registry_progress *r, void *ud)
{
	pipeline *p = ud;
	int cancel = p->user_cb ? p->user_cb(r, p->user_ud) : 0;
	if (r->state == REGISTRY_PROGRESS_DONE || r->state == REGISTRY_PROGRESS_SKIPPED)
		wake(p);
	return cancel || atomic_load(&p->failed);
}

/* The client's cancel hook while the pull runs: the caller's, or the
 * applier's failure (asked even while no byte moves). */
static int pull_cancel(void *ud)
{
	pipeline *p = ud;
	return atomic_load(&p->failed) || (p->user_cancel && p->user_cancel(p->user_cancel_ud));
}

static void stop_applier(pipeline *p)
{
	atomic_store(&p->stop, 1);
	wake(p);
	pthread_join(p->thread, NULL);
}

/* A copy of @image for the applier (the pull frees its own). */
static int copy_manifest(registry_manifest **out, const registry_manifest *image)
{
	size_t len = 0;
	const void *raw = registry_manifest_raw(image, &len);
	registry_manifest_parse_options po = REGISTRY_MANIFEST_PARSE_OPTIONS_INIT;
	po.max_size = len;
	return registry_manifest_parse(out, raw, len, registry_manifest_media_type(image), &po);
}

/* The pull names the image it fetches the blobs of: start the applier. */
static void on_image(const registry_manifest *image, void *ud)
{
	pipeline *p = ud;
	if (p->sequential)
		return;
	if (p->started) {
		/* Another endpoint (a mirror failed): the same image goes on; another
		 * one (a tag that moved) is unpacked after the pull. */
		if (strcmp(registry_manifest_digest(image), registry_manifest_digest(p->m)) == 0)
			return;
		stop_applier(p);
		p->sequential = 1;
		return;
	}
	if (registry_manifest_schema_version(image) == 1 || copy_manifest(&p->m, image)) {
		registry__error_clear(); /* a copy that failed: unpack after the pull */
		p->sequential = 1;
		return;
	}
	p->started = pthread_create(&p->thread, NULL, applier_main, p) == 0;
	p->sequential = !p->started;
}

/* Deliver the applier's latest report, if any; non-zero: the caller asks to stop. */
static int deliver(pipeline *p, const registry_progress *r)
{
	registry__progress_ctx ctx = {.cb = p->user_cb, .ud = p->user_ud, .overall_done = r->overall_done,
	                              .overall_total = r->overall_total, .blobs_done = r->blobs_done,
	                              .blobs_total = r->blobs_total};
	return registry__progress_report(&ctx, r->digest, r->state, r->done, r->total);
}

/* After the pull: the applier's reports and the cancel hook, until it ends. */
static int finish_applier(pipeline *p, int pull_rc)
{
	pthread_mutex_lock(&p->mu);
	p->pull_over = 1;
	p->pull_ok = pull_rc == 0;
	pthread_cond_broadcast(&p->cv);
	if (pull_rc)
		atomic_store(&p->stop, 1);
	while (!p->done) {
		registry__cond_wait_ms(&p->cv, &p->mu, WAIT_MS);
		registry_progress r = p->snap;
		int have = p->have_snap && !pull_rc;
		p->have_snap = 0;
		pthread_mutex_unlock(&p->mu);
		if ((have && deliver(p, &r)) || registry__client_canceled(p->client))
			atomic_store(&p->stop, 1);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	/* The applier's own failure wins (the pull's is then its cancel);
	 * else the pull's, else how the applier ended (a cancel by the caller). */
	int own = atomic_load(&p->failed);
	if (p->rc && (own || !pull_rc)) {
		registry__error_restore(p->err);
		p->err = NULL;
		return p->rc;
	}
	return pull_rc;
}

int registry__pull_unpack(char **digest_out, registry_client *client, const registry_reference *ref,
                          registry_store *store, const char *dest, int tar, const registry_pull_options *o)
{
	pipeline p = {.store = store, .dest = dest, .tar = tar, .client = client, .user_cb = o->progress,
	              .user_ud = o->userdata, .user_cancel = client->cancel, .user_cancel_ud = client->cancel_ud};
	registry_unpack_options uo = REGISTRY_UNPACK_OPTIONS_INIT;
	uo.flags = registry__pull_unpack_flags(o->flags);
	uo.platform = o->platform;
	uo.progress = report_cb;
	uo.userdata = &p;
	p.uo = uo;
	atomic_init(&p.stop, 0);
	atomic_init(&p.failed, 0);
	pthread_mutex_init(&p.mu, NULL);
	registry__cond_init(&p.cv);

	registry_pull_options po = *o;
	po.progress = pull_progress;
	po.userdata = &p;
	registry__pull_hook hook = {.image = on_image, .ud = &p};
	client->cancel = pull_cancel;
	client->cancel_ud = &p;
	int rc = registry__pull_hooked(digest_out, client, ref, store, "image", &po, &hook);
	client->cancel = p.user_cancel;
	client->cancel_ud = p.user_cancel_ud;

	if (p.started && !p.sequential) {
		rc = finish_applier(&p, rc);
	} else if (!rc) {
		registry_unpack_options u = REGISTRY_UNPACK_OPTIONS_INIT;
		u.flags = uo.flags;
		u.platform = o->platform;
		u.progress = o->progress;
		u.userdata = o->userdata;
		rc = registry__unpack(NULL, store, "image", dest, -1, tar, &u, client);
	}
	registry__error_discard(p.err); /* the applier's record, when not the one reported */
	registry_manifest_free(p.m);
	pthread_cond_destroy(&p.cv);
	pthread_mutex_destroy(&p.mu);
	return rc;
}

/*
 * Lanes: jobs (blob uploads, blob fetches into a store) run several at once,
 * each lane a thread with its own copy of the client (registry__client_clone)
 * that takes the next job when it is done with one.
 *
 * Uploads: registry 2.8 spends about 5 CPU seconds per GB of upload on one
 * core per upload, so one upload at a time leaves the rest of the machine
 * idle whatever the client does. Fetches: a lane receives, hashes and writes
 * its blob on one thread, with no hand-over between threads, and the kernel
 * spreads the lanes over the cores.
 *
 * The calling thread stays the only one that calls the caller back: lanes
 * post their progress events to a queue that it drains, and it polls the
 * client's cancel hook; a lane's client has a cancel hook of its own that
 * reads the shared stop flag. The first failure stops the other lanes, and
 * its error record, saved on the lane's thread, becomes the call's. The
 * lanes are joined before the call returns.
 *
 * What the lanes learnt (newer tokens, rate-limit headers) goes back to the
 * caller's client. Callers first make one request on their own client (for
 * uploads the first blob's HEAD), so that the scheme, the auth scheme and a
 * token are known and copied to every lane instead of being found out by each.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "blob/lanes.h"
#include "transport/client_impl.h"

#define LANES_MAX REGISTRY_MAX_PARALLEL /* the setter's bound: one lane per transfer */
#define LANE_STACK ((size_t)1 << 20) /* libcurl and a TLS handshake: not tiny */
#define POLL_MS 100                  /* how often the cancel hook is asked */

typedef struct lane_event {
	size_t lane;
	const char *digest; /* a job's: lives for the whole call */
	int state;
	int64_t done, total;
	int64_t lane_done; /* the lane's bytes and blobs so far */
	size_t lane_blobs;
} lane_event;

typedef struct lanes lanes;

typedef struct lane {
	lanes *L;
	size_t index;
	registry_client *client;
	registry__progress_ctx prog; /* the lane's own counters */
	pthread_t thread;
	int64_t done; /* last published, read on the caller's thread */
	size_t blobs;
} lane;

struct lanes {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const registry__lanes_params *lp;
	size_t next;
	atomic_int stop;
	lane_event *q;
	size_t qn, qcap;
	size_t running;
	int first_rc;
	registry__error_snapshot *first_err;
};

/* ---- On a lane's thread ------------------------------------------------- */

static int lane_cancel(void *ud)
{
	lanes *L = ud;
	return atomic_load(&L->stop);
}

/* The lane's progress: queued for the caller's thread. A RUNNING report
 * replaces the lane's RUNNING report still queued for the same blob. */
static int lane_progress(const registry_progress *r, void *ud)
{
	lane *ln = ud;
	lanes *L = ln->L;
	lane_event e = {.lane = ln->index, .digest = r->digest, .state = r->state, .done = r->done,
	                .total = r->total, .lane_done = r->overall_done, .lane_blobs = r->blobs_done};
	pthread_mutex_lock(&L->mu);
	lane_event *slot = NULL;
	for (size_t i = L->qn; i-- > 0;) {
		if (L->q[i].lane != ln->index)
			continue;
		if (L->q[i].state == REGISTRY_PROGRESS_RUNNING && e.state == REGISTRY_PROGRESS_RUNNING &&
		    L->q[i].digest == e.digest)
			slot = &L->q[i];
		break;
	}
	if (!slot && L->qn == L->qcap) {
		size_t cap = L->qcap ? L->qcap * 2 : 32;
		lane_event *q = realloc(L->q, cap * sizeof(*q));
		if (q) {
			L->q = q;
			L->qcap = cap;
		}
	}
	if (!slot && L->qn < L->qcap)
		slot = &L->q[L->qn++];
	if (slot) /* else out of memory: a report is lost, the counters catch up */
		*slot = e;
	pthread_cond_signal(&L->cv);
	pthread_mutex_unlock(&L->mu);
	return atomic_load(&L->stop);
}

static void *lane_main(void *arg)
{
	lane *ln = arg;
	lanes *L = ln->L;
	const registry__lanes_params *lp = L->lp;
	for (;;) {
		pthread_mutex_lock(&L->mu);
		int have = !atomic_load(&L->stop) && L->next < lp->njobs;
		size_t job = 0;
		if (have)
			job = lp->order ? lp->order[L->next++] : L->next++;
		pthread_mutex_unlock(&L->mu);
		if (!have)
			break;
		int rc = lp->run(ln->client, &ln->prog, job, lp->ud);
		if (lp->results)
			lp->results[job] = rc;
		if (rc) {
			pthread_mutex_lock(&L->mu);
			/* A lane stopped by another's failure (or a cancel) fails too:
			 * only the first real failure counts. */
			if (!L->first_rc && !(rc == REGISTRY_ECANCELED && atomic_load(&L->stop))) {
				L->first_rc = rc;
				L->first_err = registry__error_save();
			}
			if (!lp->keep_going)
				atomic_store(&L->stop, 1);
			pthread_mutex_unlock(&L->mu);
			if (!lp->keep_going)
				break;
		}
	}
	pthread_mutex_lock(&L->mu);
	L->running--;
	pthread_cond_signal(&L->cv);
	pthread_mutex_unlock(&L->mu);
	return NULL;
}

/* ---- On the caller's thread --------------------------------------------- */

/* One event to the caller, with the operation's counters brought up to date. */
static void deliver(lanes *L, lane *lv, const lane_event *e, registry__progress_ctx *prog,
                    int64_t base_done, size_t base_blobs, size_t nlanes)
{
	lv[e->lane].done = e->lane_done;
	lv[e->lane].blobs = e->lane_blobs;
	int64_t done = base_done;
	size_t blobs = base_blobs;
	for (size_t i = 0; i < nlanes; i++) {
		done += lv[i].done;
		blobs += lv[i].blobs;
	}
	prog->overall_done = done;
	prog->blobs_done = blobs;
	if (registry__progress_report(prog, e->digest, e->state, e->done, e->total))
		atomic_store(&L->stop, 1);
}

/* Drain events and watch the cancel hook until every lane has ended. */
static int watch(lanes *L, lane *lv, size_t nlanes, registry_client *c, registry__progress_ctx *prog)
{
	int64_t base_done = prog->overall_done;
	size_t base_blobs = prog->blobs_done;
	int hook_canceled = 0;
	lane_event *batch = NULL;
	size_t batch_cap = 0;
	pthread_mutex_lock(&L->mu);
	for (;;) {
		if (!L->qn && L->running)
			registry__cond_wait_ms(&L->cv, &L->mu, POLL_MS);
		/* Take the queue as it is and deliver it unlocked: the callback may
		 * take its time, the lanes go on. */
		lane_event *q = L->q;
		size_t qn = L->qn, qcap = L->qcap;
		L->q = batch;
		L->qcap = batch_cap;
		L->qn = 0;
		int ended = L->running == 0;
		pthread_mutex_unlock(&L->mu);
		for (size_t i = 0; i < qn; i++)
			deliver(L, lv, &q[i], prog, base_done, base_blobs, nlanes);
		batch = q;
		batch_cap = qcap;
		if (!hook_canceled && registry__client_canceled(c)) {
			hook_canceled = 1;
			atomic_store(&L->stop, 1);
		}
		pthread_mutex_lock(&L->mu);
		if (ended && !L->qn)
			break;
	}
	pthread_mutex_unlock(&L->mu);
	free(batch);
	return hook_canceled;
}

int registry__lanes_run(registry_client *c, const registry__lanes_params *lp,
                        registry__progress_ctx *prog)
{
	size_t nlanes = lp->max_lanes < 1 ? 1 : lp->max_lanes > LANES_MAX ? LANES_MAX : (size_t)lp->max_lanes;
	if (nlanes > lp->njobs)
		nlanes = lp->njobs;
	lanes L = {.lp = lp};
	atomic_init(&L.stop, 0);
	lane *lv = calloc(nlanes ? nlanes : 1, sizeof(*lv));
	if (!lv)
		return REGISTRY__LANES_NONE;
	pthread_mutex_init(&L.mu, NULL);
	registry__cond_init(&L.cv);
	pthread_attr_t attr;
	int have_attr = pthread_attr_init(&attr) == 0;
	if (have_attr)
		pthread_attr_setstacksize(&attr, LANE_STACK);
	size_t started = 0;
	for (size_t i = 0; i < nlanes; i++) {
		lane *ln = &lv[i];
		ln->L = &L;
		ln->index = i;
		ln->prog = (registry__progress_ctx){.cb = lane_progress, .ud = ln,
		                                    .overall_total = prog->overall_total,
		                                    .blobs_total = prog->blobs_total};
		if (registry__client_clone(&ln->client, c))
			break; /* fewer lanes */
		ln->client->cancel = lane_cancel;
		ln->client->cancel_ud = &L;
		pthread_mutex_lock(&L.mu);
		L.running++;
		pthread_mutex_unlock(&L.mu);
		if (pthread_create(&ln->thread, have_attr ? &attr : NULL, lane_main, ln) != 0) {
			pthread_mutex_lock(&L.mu);
			L.running--;
			pthread_mutex_unlock(&L.mu);
			registry_client_free(ln->client);
			ln->client = NULL;
			break;
		}
		started++;
	}
	if (have_attr)
		pthread_attr_destroy(&attr);
	registry__error_clear(); /* a lane that could not start is no failure */

	int rc = REGISTRY__LANES_NONE;
	if (started) {
		int hook_canceled = watch(&L, lv, started, c, prog);
		for (size_t i = 0; i < started; i++) {
			pthread_join(lv[i].thread, NULL);
			registry__client_absorb(c, lv[i].client);
			registry_client_free(lv[i].client);
		}
		for (size_t i = L.next; lp->results && i < lp->njobs; i++)
			lp->results[lp->order ? lp->order[i] : i] = REGISTRY_ECANCELED; /* never run */
		rc = 0;
		if (L.first_rc) {
			registry__error_restore(L.first_err);
			rc = L.first_rc;
		} else if (hook_canceled) {
			rc = registry__fail(REGISTRY_ECANCELED, "%s canceled", lp->what);
		} else if (prog->canceled) {
			rc = registry__fail(REGISTRY_ECANCELED, "%s canceled by the progress callback", lp->what);
		}
	}
	pthread_cond_destroy(&L.cv);
	pthread_mutex_destroy(&L.mu);
	free(L.q);
	free(lv);
	return rc;
}

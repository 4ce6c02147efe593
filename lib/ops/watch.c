/*
 * Cancel and progress for the local phases of a pull: a schema1 layer's
 * diff_id (gunzip) and the docker export read whole layers while no request
 * runs, so neither the client's cancel hook nor the progress callback would
 * otherwise be asked.
 */
#include "pull_impl.h"
#include "transport/client_impl.h"

/* Between two progress reports (the transfer engines use the same). */
#define REPORT_INTERVAL_S 0.1

void registry__watch_plan(registry__watch *w, size_t blobs, int64_t bytes)
{
	if (!w)
		return;
	w->prog.blobs_total = blobs;
	w->prog.blobs_done = 0;
	w->prog.overall_total = bytes;
	w->prog.overall_done = 0;
}

void registry__watch_blob(registry__watch *w, const char *digest, int64_t total)
{
	if (!w)
		return;
	w->digest = digest;
	w->done = 0;
	w->total = total;
}

static int canceled(registry__watch *w)
{
	return registry__fail(REGISTRY_ECANCELED, "%s canceled", w->what ? w->what : "operation");
}

int registry__watch_step(registry__watch *w, int64_t n)
{
	if (!w)
		return 0;
	w->done += n;
	w->prog.overall_done += n;
	if (w->client && registry__client_canceled(w->client))
		return canceled(w);
	if (!w->prog.cb)
		return 0;
	double now = registry__now_s();
	if (now - w->last_report < REPORT_INTERVAL_S)
		return 0;
	w->last_report = now;
	if (registry__progress_report(&w->prog, w->digest, REGISTRY_PROGRESS_RUNNING, w->done, w->total))
		return canceled(w);
	return 0;
}

int registry__watch_blob_done(registry__watch *w)
{
	if (!w)
		return 0;
	w->prog.blobs_done++;
	w->last_report = 0; /* the next blob's first step reports */
	return registry__watch_step(w, 0);
}

/*
 * Lanes (lib/blob/lanes.c): jobs run several at once, each lane a thread
 * with a copy of the client, while the calling thread delivers progress and
 * polls the client's cancel hook. Used by pushes (registry__upload_files)
 * and by fetches into a store (registry_blob_fetch_many).
 */
#ifndef REGISTRY_BLOB_LANES_H
#define REGISTRY_BLOB_LANES_H

#include "blob/upload_impl.h"

/*
 * One job, on a lane's thread: @c is the lane's client, @prog its progress
 * (counters of the lane, added up by the caller's thread; report through
 * registry__progress_report, which returns 1 when the lanes must stop).
 * 0 or an error code, recorded.
 */
typedef int (*registry__lane_fn)(registry_client *c, registry__progress_ctx *prog, size_t job,
                                 void *ud);

typedef struct registry__lanes_params {
	size_t njobs;
	const size_t *order;  /* the order to take jobs in, or NULL for 0..njobs-1 */
	int max_lanes;        /* at most this many threads (capped at 8 and njobs) */
	int keep_going;       /* a failed job does not stop the others */
	registry__lane_fn run;
	void *ud;
	int *results;         /* NULL, or each job's code (REGISTRY_ECANCELED: not run) */
	const char *what;     /* "push", "fetch": names the operation in messages */
} registry__lanes_params;

/* No lane could start (no thread, no memory): nothing ran, run the jobs on
 * this thread. */
#define REGISTRY__LANES_NONE 1

/*
 * Run the jobs. @prog is the operation's progress: its counters at the call
 * are the base the lanes' counters are added to, and its callback is called
 * on this thread only. Returns 0, REGISTRY__LANES_NONE, the first failure
 * (its error record restored here), or REGISTRY_ECANCELED (the progress
 * callback or the cancel hook of @c asked to stop). The lanes are joined,
 * and what their clients learnt is back in @c, before it returns.
 */
int registry__lanes_run(registry_client *c, const registry__lanes_params *lp,
                        registry__progress_ctx *prog);

#endif

/*
 * Several files uploaded at once (registry_push from a store): largest
 * first, over lanes (lib/blob/lanes.c), after the first blob's HEAD on the
 * caller's own client, which teaches it the scheme, the auth scheme and a
 * push token for the lanes to copy.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blob/lanes.h"
#include "store/store_blob.h"

typedef struct upload_many {
	const char *repository;
	size_t chunk_size;
	registry__lane_job *jobs;
} upload_many;

/* The blob's file, checked against the job before anything is sent: its
 * size, and its digest when it is small enough to read twice. */
static int open_checked(const registry__lane_job *job, int *fd)
{
	int64_t size = 0;
	int rc = registry__store_blob_open(job->store, job->digest, fd, &size);
	if (rc)
		return rc;
	if (size != job->size)
		rc = registry__fail(REGISTRY_EDIGEST, "blob %s: %lld bytes in the store, %lld expected",
		                    job->digest, (long long)size, (long long)job->size);
	else if (size <= REGISTRY__PUSH_PREHASH_MAX)
		rc = registry__store_fd_check_digest(*fd, job->digest);
	if (rc) {
		close(*fd);
		*fd = -1;
	}
	return rc;
}

static int upload_job(registry_client *c, registry__progress_ctx *prog, size_t index, void *ud)
{
	const upload_many *m = ud;
	const registry__lane_job *job = &m->jobs[index];
	int fd;
	int rc = open_checked(job, &fd);
	if (rc)
		return rc;
	registry__file_source fs; /* over the descriptor the store opened safely */
	registry__file_source_from_fd(&fs, fd);
	registry__upload_params up = {.repository = m->repository, .digest = job->digest,
	                              .size = job->size, .chunk_size = m->chunk_size, .progress = prog,
	                              .stream_chunks = 1, .skip_head = job->skip_head};
	rc = registry__blob_upload(c, &up, &fs.src, NULL);
	registry__file_source_close(&fs);
	return rc;
}

/* Job indexes, largest blob first (ties in manifest order), so that a big
 * layer found last does not run alone at the end. */
static void sort_largest_first(size_t *order, size_t n, const registry__lane_job *jobs)
{
	for (size_t i = 1; i < n; i++) {
		size_t v = order[i], j = i;
		for (; j > 0 && jobs[order[j - 1]].size < jobs[v].size; j--)
			order[j] = order[j - 1];
		order[j] = v;
	}
}

/* The first job's HEAD on the caller's client. 1: the registry had it. */
static int prime(registry_client *c, const char *repository, const registry__lane_job *job,
                 registry__progress_ctx *prog)
{
	int rc = registry__blob_exists(c, repository, job->digest, NULL);
	if (rc != 1)
		return rc;
	prog->blobs_done++;
	prog->overall_done += job->size;
	if (registry__progress_report(prog, job->digest, REGISTRY_PROGRESS_SKIPPED, job->size, job->size))
		return registry__fail(REGISTRY_ECANCELED, "push canceled by the progress callback");
	return 1;
}

int registry__upload_files(registry_client *c, const char *repository, registry__lane_job *jobs,
                           size_t n, size_t chunk_size, int max_lanes, registry__progress_ctx *prog)
{
	if (n == 0)
		return 0;
	size_t *order = malloc(n * sizeof(*order));
	if (!order)
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	sort_largest_first(order, n, jobs);
	upload_many m = {.repository = repository, .chunk_size = chunk_size, .jobs = jobs};
	size_t from = 0;
	int rc = REGISTRY__LANES_NONE;
	if (max_lanes > 1 && n > 2) {
		/* the first job runs before the lanes start: they need two more */
		rc = prime(c, repository, &jobs[order[0]], prog);
		if (rc < 0)
			goto out;
		if (rc == 0)
			jobs[order[0]].skip_head = 1; /* asked already: the registry lacks it */
		from = rc == 1 ? 1 : 0;
		registry__lanes_params lp = {.njobs = n - from, .order = order + from, .max_lanes = max_lanes,
		                             .run = upload_job, .ud = &m, .what = "push"};
		rc = registry__lanes_run(c, &lp, prog);
	}
	if (rc == REGISTRY__LANES_NONE) {
		rc = 0;
		for (size_t i = from; i < n && !rc; i++)
			rc = upload_job(c, prog, order[i], &m);
	}
out:
	free(order);
	return rc;
}

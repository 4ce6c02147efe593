/*
 * Parallel, verified, resumable blob downloads on the client's curl multi
 * handle. Into a store, each transfer hands curl's bytes to the
 * write-behind (writebehind.h): worker threads write them through the
 * store's blob writer, which hashes as it writes, and commit the blob, while
 * this thread goes on receiving. For registry_blob_fetch_to the bytes go to
 * the caller's callback through a hasher, on this thread. Each transfer is
 * driven by its own request state machine (transport/request.h: redirects,
 * 401 challenges, retries, fresh redirects), so one slow or failed blob does
 * not hold up the others; Range resumes and restarts are decided here and
 * spend the same retry budget.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "blob/lanes.h"
#include "blob/writebehind.h"
#include "digest/hash.h"
#include "store/store_writer.h"
#include "transport/request.h"


const char *registry_progress_digest(const registry_progress *p) { return p ? p->digest : NULL; }
int registry_progress_state(const registry_progress *p) { return p ? p->state : 0; }
int64_t registry_progress_bytes_done(const registry_progress *p) { return p ? p->done : 0; }
int64_t registry_progress_bytes_total(const registry_progress *p) { return p ? p->total : -1; }
int64_t registry_progress_overall_done(const registry_progress *p) { return p ? p->overall_done : 0; }
int64_t registry_progress_overall_total(const registry_progress *p) { return p ? p->overall_total : -1; }
size_t registry_progress_blobs_done(const registry_progress *p) { return p ? p->blobs_done : 0; }
size_t registry_progress_blobs_total(const registry_progress *p) { return p ? p->blobs_total : 0; }

enum { T_QUEUED, T_RUNNING, T_WAITING, T_COMMITTING, T_FINISHED };

/* Write-behind: at most this many worker threads, and this much buffer. */
#define WB_MAX_THREADS 8
#define WB_BUFFER ((size_t)768 << 10)
/* curl's receive buffer of a transfer into the store. */
#define FETCH_BUFFER (128L * 1024L)
#define LANE_FETCH_BUFFER (64L * 1024L)
/* libcurl hands the body over in pieces of at most 16 KiB: written one by
 * one they cost a write(2) each, 65 000 per GB. They are gathered into
 * writes of this size (writes straight to the writer, on this thread).
 * Not more than 32 KiB: a write of 64 KiB makes ext4 allocate 64 KiB
 * (order-4) page-cache folios, which the page allocator does not keep on
 * its per-CPU lists of recently freed pages; on the benchmark's virtual
 * machine the copy into them was at times five times slower (61% of the
 * pull's CPU in copy_folio_from_iter_atomic, 4 s of CPU per GB instead of
 * 1.7), most likely memory the host had taken back and faults in again.
 * 32 KiB (order 3) writes never showed it in the same runs. */
#define STAGE_SIZE ((size_t)32 * 1024)
/* verify_and_commit(): the commit was handed to the write-behind. */
#define COMMIT_QUEUED 1

typedef struct engine engine;

typedef struct transfer {
	engine *e;
	const char *digest;
	int64_t size;
	char *url; /* the registry's blob URL */
	int state;
	registry__req req; /* the request state machine, once begun */
	int begun;
	long dup_of; /* -1, or the index of an earlier transfer of the same digest */
	registry__blob_writer *w; /* store mode, until handed to the write-behind */
	registry__wb_stream *st; /* store mode, in the write-behind */
	char *stage;              /* pieces for t->w not written yet */
	size_t staged;
	registry__hash hash;      /* callback mode */
	int hashing;
	int64_t offset; /* bytes kept from before this request */
	int64_t done;   /* bytes held in total */
	int range_checked;
	int restart; /* the server's range did not fit: start over */
	registry__response resp;
	CURL *h;
	int write_rc;
	int rc;
	double due; /* T_WAITING: when to start again */
	double last_report;
} transfer;

struct engine {
	registry_client *c;
	char scope[600];
	char path_prefix[600];
	transfer *t;
	size_t n;
	registry_store *store;
	int inline_writes; /* store mode on a lane: write on this thread */
	registry__wb *wb; /* the write-behind, store mode */
	CURL *spare[64];  /* handles of finished transfers, for the next ones */
	size_t nspare;
	size_t committing; /* transfers in T_COMMITTING */
	int (*write)(const void *data, size_t len, void *ud);
	void *write_ud;
	registry_progress_cb cb;
	void *ud;
	int canceled;
	int64_t overall_done, overall_total;
	size_t blobs_done;
	int first_error;
	registry__error_snapshot *first_record;
};

static void report(engine *e, transfer *t, int state)
{
	if (!e->cb || e->canceled)
		return;
	registry_progress p = {
		.digest = t->digest, .state = state, .done = t->done, .total = t->size,
		.overall_done = e->overall_done, .overall_total = e->overall_total,
		.blobs_done = e->blobs_done, .blobs_total = e->n,
	};
	if (registry__call_progress(e->cb, &p, e->ud))
		e->canceled = 1;
}

/* Write the gathered pieces: the writer then holds every byte counted in
 * t->done. Called whenever a request ends and before the writer is
 * committed or aborted. */
static int stage_flush(transfer *t)
{
	size_t n = t->staged;
	t->staged = 0;
	return n && t->w ? registry__blob_writer_write(t->w, t->stage, n) : 0;
}

static int stage_write(transfer *t, const char *data, size_t len)
{
	if (!t->stage && !(t->stage = malloc(STAGE_SIZE)))
		return registry__blob_writer_write(t->w, data, len); /* unbuffered, still right */
	while (len > 0) {
		if (t->staged == 0 && len >= STAGE_SIZE)
			return registry__blob_writer_write(t->w, data, len);
		size_t n = STAGE_SIZE - t->staged;
		if (n > len)
			n = len;
		memcpy(t->stage + t->staged, data, n);
		t->staged += n;
		data += n;
		len -= n;
		if (t->staged == STAGE_SIZE) {
			int rc = stage_flush(t);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* Truncate the blob's partial file to zero (the server ignored Range). */
static int restart_writer(transfer *t)
{
	t->staged = 0;
	if (t->st)
		return registry__wb_restart(t->st);
	return t->w ? registry__blob_writer_restart(t->w) : REGISTRY_EPROTOCOL;
}

/* Bytes from curl: into the write-behind or the writer (or hasher + callback). */
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	transfer *t = ud;
	engine *e = t->e;
	size_t len = size * nmemb;
	long st = t->resp.status;
	if (st < 200 || st >= 300) {
		if (st >= 300 && st < 400)
			return len;
		if (registry__buf_append(&t->resp.body, ptr, len)) {
			t->resp.body_truncated = 1;
			return 0;
		}
		return len;
	}
	if (!t->range_checked) {
		t->range_checked = 1;
		if (t->offset > 0 && st == 200) {
			/* The server ignored Range: start over from byte 0. */
			int rc = restart_writer(t);
			if (rc) {
				t->write_rc = rc;
				return 0;
			}
			e->overall_done -= t->done;
			t->offset = t->done = 0;
		} else if (st == 206) {
			/* Whether we sent a Range or not: the bytes must start
			 * where the writer is. */
			int64_t start = -1;
			if (registry__content_range_start(t->resp.content_range, &start) != 0 ||
			    start != t->offset) {
				t->restart = 1;
				return 0;
			}
		}
	}
	int rc;
	if ((t->st || t->w) && t->size >= 0 && (uint64_t)len > (uint64_t)(t->size - t->done)) {
		/* The writer's own check runs later (on a worker, or when the
		 * gathered pieces are written): stop now. */
		rc = registry__fail(REGISTRY_ETOOLARGE, "blob %s: more than its %lld bytes", t->digest,
		                    (long long)t->size);
	} else if (t->st) {
		rc = registry__wb_write(t->st, ptr, len);
	} else if (t->w) {
		rc = stage_write(t, ptr, len);
	} else {
		rc = registry__hash_update(&t->hash, ptr, len);
		if (!rc && t->size >= 0 && t->done + (int64_t)len > t->size)
			rc = registry__fail(REGISTRY_ETOOLARGE, "blob %s is larger than its %lld bytes",
			                    t->digest, (long long)t->size);
		if (!rc && registry__call_write(e->write, ptr, len, e->write_ud))
			rc = registry__fail(REGISTRY_ECANCELED, "blob %s: the write callback stopped", t->digest);
	}
	if (rc) {
		t->write_rc = rc;
		return 0;
	}
	t->done += (int64_t)len;
	e->overall_done += (int64_t)len;
	double n = registry__now_s();
	if (n - t->last_report >= 0.1) {
		t->last_report = n;
		report(e, t, REGISTRY_PROGRESS_RUNNING);
		if (e->canceled) {
			t->write_rc = REGISTRY_ECANCELED;
			return 0;
		}
	}
	return len;
}

static size_t on_header(char *buf, size_t size, size_t nmemb, void *ud)
{
	transfer *t = ud;
	size_t len = size * nmemb;
	if ((t->write_rc = registry__header_line(t->e->c, &t->resp, buf, len)))
		return 0;
	return len;
}

/*
 * A transfer done with its handle leaves it (and its receive buffer) to the
 * next one: no more handles than transfers at once, whatever the count.
 */
static void release_handle(engine *e, transfer *t)
{
	if (!t->h)
		return;
	if (e->nspare < REGISTRY_ARRAY_LEN(e->spare))
		e->spare[e->nspare++] = t->h;
	else
		curl_easy_cleanup(t->h);
	t->h = NULL;
}

static void finish(engine *e, transfer *t, int rc)
{
	t->state = T_FINISHED;
	t->rc = rc;
	e->blobs_done++;
	if (rc && !e->first_error) {
		e->first_error = rc;
		e->first_record = registry__error_save();
	}
	release_handle(e, t);
	if (t->st) {
		registry__wb_abort(t->st, rc != REGISTRY_EDIGEST);
		t->st = NULL;
	}
	if (t->w) {
		/* Keep what we have for a later resume unless the bytes are wrong. */
		if (rc != REGISTRY_EDIGEST && stage_flush(t) != 0)
			registry__error_clear(); /* the abort keeps what reached the disk */
		t->staged = 0;
		registry__blob_writer_abort(t->w, rc != REGISTRY_EDIGEST);
		t->w = NULL;
	}
	report(e, t, rc ? REGISTRY_PROGRESS_FAILED : REGISTRY_PROGRESS_DONE);
}

static int start(engine *e, transfer *t, CURLM *multi)
{
	/* A partial that holds every byte already cannot be resumed: the range
	 * would start past the end (and registry 2.8 answers that 416 with a
	 * body shorter than its Content-Length, so the retry fails the same way
	 * forever). Start it over. */
	if (t->size > 0 && t->done >= t->size && (t->w || t->st)) {
		int rc = restart_writer(t);
		if (rc)
			return rc;
		e->overall_done -= t->done;
		t->done = 0;
	}
	if (!t->h && e->nspare)
		t->h = e->spare[--e->nspare];
	if (!t->h && !(t->h = curl_easy_init()))
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	CURL *h = t->h;
	registry_client *c = e->c;
	int rc;
	if (!t->begun) {
		t->begun = 1;
		if ((rc = registry__req_begin(&t->req, c, t->url, e->scope)))
			return rc;
	}
	t->offset = t->done;
	t->req.range_from = t->offset;
	if ((rc = registry__req_configure(&t->req, h)))
		return rc;
	/* Into a store, each piece is written (or copied into the write-behind)
	 * at once: a smaller receive buffer per transfer costs nothing in speed
	 * and keeps memory low. */
	if (t->st || t->w)
		curl_easy_setopt(h, CURLOPT_BUFFERSIZE, e->inline_writes ? LANE_FETCH_BUFFER : FETCH_BUFFER);
	registry__response_reset_headers(&t->resp);
	registry__buf_free(&t->resp.body);
	t->resp.body.limit = REGISTRY__JSON_LIMIT;
	t->resp.body_truncated = 0;
	t->range_checked = 0;
	t->restart = 0;
	t->write_rc = 0;
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(h, CURLOPT_PRIVATE, t);
	if (curl_multi_add_handle(multi, h) != CURLM_OK)
		return registry__fail(REGISTRY_EIO, "cannot start a transfer");
	t->state = T_RUNNING;
	return 0;
}

/* 0, an error, or COMMIT_QUEUED: a worker commits, the result comes later. */
static int verify_and_commit(transfer *t)
{
	if (t->resp.docker_content_digest && registry_digest_validate(t->resp.docker_content_digest) == 0 &&
	    strcmp(t->resp.docker_content_digest, t->digest) != 0)
		return registry__fail(REGISTRY_EDIGEST, "registry served %s when asked for %s",
		                      t->resp.docker_content_digest, t->digest);
	if (t->st) {
		registry__wb_commit(t->st);
		t->st = NULL; /* the write-behind's now */
		return COMMIT_QUEUED;
	}
	if (t->w) {
		int rc = registry__blob_writer_commit(t->w);
		t->w = NULL; /* commit frees it, on success and on failure */
		return rc;
	}
	char got[REGISTRY_DIGEST_STRING_MAX];
	int rc = registry__hash_final(&t->hash, got);
	if (rc)
		return rc;
	if (t->size >= 0 && t->done != t->size)
		return registry__fail(REGISTRY_EDIGEST, "blob %s: got %lld bytes, expected %lld", t->digest,
		                      (long long)t->done, (long long)t->size);
	return registry_digest_compare(t->digest, got);
}

/* Drop what the transfer holds and go back to byte 0 (the server's answer
 * to our Range was unusable). */
static int restart_from_zero(engine *e, transfer *t)
{
	int rc = restart_writer(t);
	e->overall_done -= t->done;
	t->done = 0;
	return rc;
}

/* What the request machine said, applied to the transfer. */
static void apply(engine *e, transfer *t, registry__req_next next)
{
	switch (next) {
	case REGISTRY__REQ_FOLLOW:
	case REGISTRY__REQ_REAUTH:
		return; /* queued again, at once */
	case REGISTRY__REQ_RETRY:
		t->state = T_WAITING; /* resumes from t->done */
		t->due = registry__now_s() + (double)t->req.wait_ms / 1000.0;
		return;
	case REGISTRY__REQ_FAIL:
		finish(e, t, t->req.rc);
		return;
	case REGISTRY__REQ_DONE:
		break;
	}
	long status = t->resp.status;
	if (status >= 200 && status < 300) {
		int rc = verify_and_commit(t);
		if (rc == COMMIT_QUEUED) {
			t->state = T_COMMITTING;
			e->committing++;
			release_handle(e, t);
			return;
		}
		finish(e, t, rc);
		return;
	}
	char what[700];
	snprintf(what, sizeof(what), "fetching blob %s", t->digest);
	finish(e, t, registry__response_fail(&t->resp, what));
}

/*
 * A transfer ended in curl. Range trouble is ours to judge (only we know
 * what the writer holds): a 206 that does not start where we asked, or a
 * 416, restarts the blob from byte 0 as a re-request that spends the retry
 * budget. The rest is the request machine's.
 */
static void completed(engine *e, transfer *t, CURLcode cc, CURLM *multi)
{
	curl_multi_remove_handle(multi, t->h);
	int flushed = stage_flush(t);
	if (flushed && !t->write_rc)
		t->write_rc = flushed;
	t->state = T_QUEUED;
	long status = 0;
	curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &status);
	t->resp.status = status;
	free(t->resp.url);
	t->resp.url = registry__strdup(t->req.url);

	if (e->canceled) {
		finish(e, t, registry__fail(REGISTRY_ECANCELED, "canceled"));
		return;
	}
	long long asked = (long long)t->offset;
	if (t->restart || (status == 416 && (t->w || t->st))) {
		int rc = restart_from_zero(e, t);
		if (rc) {
			char shown[512];
			registry__url_for_message(shown, sizeof(shown), t->req.url);
			finish(e, t, registry__fail(rc, "%s: unusable Content-Range", shown));
		} else if (status == 416) {
			apply(e, t, registry__req_rerequest(&t->req, "answered 416 (range not satisfiable) "
			                                    "to a request from byte %lld", asked));
		} else {
			apply(e, t, registry__req_rerequest(&t->req, "answered 206 with a Content-Range "
			                                    "that does not start at byte %lld", asked));
		}
		return;
	}
	if (t->write_rc) {
		finish(e, t, t->write_rc);
		return;
	}
	if (cc == CURLE_WRITE_ERROR && t->resp.body_truncated)
		cc = CURLE_OK; /* an oversized error body: the status is what matters */
	apply(e, t, registry__req_step(&t->req, cc, &t->resp));
}

static int ensure_base(registry_client *c)
{
	if (c->base_url)
		return 0;
	registry__response resp;
	registry__response_init(&resp);
	registry__request req = {.method = "GET", .url = "/v2/"};
	int rc = registry__client_do(c, &req, &resp);
	registry__response_free(&resp);
	return rc == REGISTRY_EAUTH ? 0 : rc; /* the scheme is what we wanted */
}

static int prepare(engine *e, transfer *t)
{
	int rc = registry_digest_validate(t->digest);
	if (rc)
		return rc;
	if (t->size < -1)
		return registry__fail(REGISTRY_EINVAL, "negative size for %s", t->digest);
	size_t n = strlen(e->c->base_url) + strlen(e->path_prefix) + strlen(t->digest) + 1;
	if (!(t->url = malloc(n)))
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	snprintf(t->url, n, "%s%s%s", e->c->base_url, e->path_prefix, t->digest);
	registry__response_init(&t->resp);
	if (e->store) {
		int already = 0;
		int64_t offset = 0;
		rc = registry__blob_writer_open(&t->w, e->store, t->digest, t->size, &offset, &already);
		if (rc)
			return rc;
		if (already)
			return 1;
		t->done = offset;
		e->overall_done += offset;
	} else {
		if ((rc = registry__hash_init(&t->hash, registry__digest_algorithm(t->digest))))
			return rc;
		t->hashing = 1;
	}
	return 0;
}

/* Commits the write-behind has finished: their transfers are done. */
static void reap(engine *e)
{
	void *owner;
	int rc;
	registry__error_snapshot *err;
	while (e->wb && registry__wb_reap(e->wb, &owner, &rc, &err)) {
		transfer *t = owner;
		e->committing--;
		if (rc && err) {
			registry__error_restore(err);
		} else {
			free(err);
			if (rc)
				registry__fail(rc, "blob %s: %s", t->digest, registry_strerror(rc));
		}
		finish(e, t, rc);
	}
}

static void wake(void *multi)
{
	curl_multi_wakeup(multi);
}

/*
 * Hand the writers of the transfers still to run to a write-behind with a
 * worker per parallel transfer (up to a few). Without it (out of memory) the
 * writers are used on this thread, as before.
 */
static void start_write_behind(engine *e, CURLM *multi, size_t pending)
{
	/* Workers write and hash, busy on a core each: more of them than cores
	 * only adds context switches. At least two, so that one blob's fsync
	 * does not hold up the others' bytes. */
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int threads = cores > 2 ? (cores < WB_MAX_THREADS ? (int)cores : WB_MAX_THREADS) : 2;
	if (threads > e->c->max_parallel)
		threads = e->c->max_parallel;
	if ((size_t)threads > pending)
		threads = (int)pending;
	if (registry__wb_new(&e->wb, threads, WB_BUFFER, wake, multi) != 0) {
		registry__error_clear();
		return;
	}
	for (size_t i = 0; i < e->n; i++) {
		transfer *t = &e->t[i];
		if (t->state != T_FINISHED && t->w && registry__wb_open(e->wb, t->w, t, &t->st) == 0)
			t->w = NULL;
	}
	registry__error_clear();
}

static int run(engine *e)
{
	registry_client *c = e->c;
	int rc = ensure_base(c);
	if (rc)
		return rc;
	if (!c->multi && !(c->multi = curl_multi_init()))
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	CURLM *multi = c->multi;
	curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)c->max_parallel);

	/* The same digest twice is fetched once (a second writer on one blob
	 * would wait on its own lock). */
	for (size_t i = 0; i < e->n; i++) {
		e->t[i].dup_of = -1;
		for (size_t j = 0; j < i && e->t[i].dup_of < 0; j++)
			if (strcmp(e->t[i].digest, e->t[j].digest) == 0)
				e->t[i].dup_of = (long)j;
		if (e->t[i].dup_of >= 0) {
			e->t[i].state = T_FINISHED;
			e->blobs_done++;
		}
	}
	int64_t total = 0;
	for (size_t i = 0; i < e->n; i++)
		if (e->t[i].dup_of < 0)
			total = (total < 0 || e->t[i].size < 0) ? -1 : total + e->t[i].size;
	e->overall_total = total;

	/* Blobs already in the store are done before any request. */
	for (size_t i = 0; i < e->n && !e->canceled; i++) {
		transfer *t = &e->t[i];
		t->e = e;
		if (t->dup_of >= 0)
			continue;
		int p = prepare(e, t);
		if (p == 1) {
			t->state = T_FINISHED;
			t->done = t->size;
			e->overall_done += t->size > 0 ? t->size : 0;
			e->blobs_done++;
			report(e, t, REGISTRY_PROGRESS_SKIPPED);
		} else if (p) {
			finish(e, t, p);
		} else if (t->size >= 0 && t->w && t->done == t->size) {
			finish(e, t, verify_and_commit(t)); /* a complete partial */
		}
	}
	size_t pending = 0;
	for (size_t i = 0; i < e->n; i++)
		pending += e->t[i].state != T_FINISHED;
	/* One token for every transfer (each machine then finds it cached), and
	 * one failure for all when there is none. */
	char *auth = NULL;
	if (pending && !e->canceled && (rc = registry__auth_header(c, e->scope, &auth))) {
		for (size_t i = 0; i < e->n; i++)
			if (e->t[i].state != T_FINISHED)
				finish(e, &e->t[i], rc);
		return rc;
	}
	registry__free_secret(auth);
	if (pending && e->store && !e->canceled && !e->inline_writes)
		start_write_behind(e, multi, pending);

	while (!e->canceled) {
		if (registry__client_canceled(c)) {
			e->canceled = 1;
			break;
		}
		size_t running = 0, waiting = 0;
		double n = registry__now_s();
		for (size_t i = 0; i < e->n; i++) {
			transfer *t = &e->t[i];
			if (t->state == T_RUNNING)
				running++;
			else if (t->state == T_WAITING && t->due > n)
				waiting++;
		}
		for (size_t i = 0; i < e->n && running < (size_t)c->max_parallel; i++) {
			transfer *t = &e->t[i];
			if (t->state == T_QUEUED || (t->state == T_WAITING && t->due <= n)) {
				if (t->done == 0 && !t->begun)
					report(e, t, REGISTRY_PROGRESS_STARTED);
				if ((rc = start(e, t, multi)))
					finish(e, t, rc);
				else
					running++;
			}
		}
		if (!running && !waiting && !e->committing)
			break;
		int still = 0;
		curl_multi_perform(multi, &still);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(multi, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			transfer *t = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
			if (t)
				completed(e, t, msg->data.result, multi);
		}
		reap(e);
		if (still || waiting || e->committing)
			curl_multi_poll(multi, NULL, 0, 100, NULL);
	}
	if (e->canceled) {
		/* Blobs already being committed get their result. */
		registry__wb_drain(e->wb);
		reap(e);
		for (size_t i = 0; i < e->n; i++) {
			transfer *t = &e->t[i];
			if (t->state == T_RUNNING)
				curl_multi_remove_handle(multi, t->h);
			if (t->state != T_FINISHED)
				finish(e, t, REGISTRY_ECANCELED);
		}
		return registry__fail(REGISTRY_ECANCELED, "canceled by the progress callback");
	}
	if (e->first_error) {
		registry__error_restore(e->first_record);
		e->first_record = NULL;
	}
	return e->first_error;
}

static void engine_free(engine *e)
{
	/* Waits for the workers: every commit and abort has run on return. */
	registry__wb_free(e->wb);
	e->wb = NULL;
	while (e->nspare)
		curl_easy_cleanup(e->spare[--e->nspare]);
	for (size_t i = 0; i < e->n; i++) {
		transfer *t = &e->t[i];
		if (t->h)
			curl_easy_cleanup(t->h);
		registry__req_end(&t->req);
		if (t->w) {
			stage_flush(t);
			registry__blob_writer_abort(t->w, 1);
		}
		free(t->stage);
		if (t->hashing)
			registry__hash_cleanup(&t->hash);
		registry__response_free(&t->resp);
		free(t->url);
	}
	free(e->first_record);
	free(e->t);
}

static int engine_init(engine *e, registry_client *c, const char *repository, size_t n)
{
	memset(e, 0, sizeof(*e));
	if (!c || !repository)
		return registry__fail(REGISTRY_EINVAL, "NULL client or repository");
	int rc = registry_reference_validate_repository(repository);
	if (rc)
		return rc;
	e->c = c;
	snprintf(e->scope, sizeof(e->scope), "repository:%s:pull", repository);
	snprintf(e->path_prefix, sizeof(e->path_prefix), "/v2/%s/blobs/", repository);
	e->n = n;
	if (!(e->t = calloc(n ? n : 1, sizeof(*e->t))))
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	return 0;
}

/* ---- Lanes: several blobs into a store, a thread each --------------------- */

/*
 * With two blobs or more to fetch into a store, each runs on a lane
 * (lib/blob/lanes.c) as a one-blob engine that receives, hashes and writes
 * on the lane's own thread: no copy into a shared pool, no hand-over between
 * threads, and the kernel spreads the lanes over the cores. On 2 cores this
 * pulled 1 GiB in 1.45 s where the engine with its write-behind took 1.75 s
 * (docs/performance.md).
 */
typedef struct fetch_many {
	const char *repository;
	registry_store *store;
	const char *const *digests;
	const int64_t *sizes;
	size_t *unique; /* lane job -> index in digests */
} fetch_many;

/* A one-blob engine's counters, made the lane's running totals. */
typedef struct lane_report {
	registry__progress_ctx *prog;
	int64_t base_done;
	size_t base_blobs;
} lane_report;

static int lane_report_cb(const registry_progress *p, void *ud)
{
	lane_report *r = ud;
	r->prog->overall_done = r->base_done + p->overall_done;
	r->prog->blobs_done = r->base_blobs + p->blobs_done;
	return registry__progress_report(r->prog, p->digest, p->state, p->done, p->total);
}

static int fetch_job(registry_client *c, registry__progress_ctx *prog, size_t job, void *ud)
{
	const fetch_many *m = ud;
	size_t i = m->unique[job];
	engine e;
	int rc = engine_init(&e, c, m->repository, 1);
	if (rc)
		return rc;
	lane_report r = {prog, prog->overall_done, prog->blobs_done};
	e.store = m->store;
	e.inline_writes = 1;
	e.cb = lane_report_cb;
	e.ud = &r;
	e.t[0].digest = m->digests[i];
	e.t[0].size = m->sizes ? m->sizes[i] : -1;
	rc = run(&e);
	engine_free(&e);
	return rc;
}

/* REGISTRY__LANES_NONE when lanes do not apply (or cannot start). */
static int fetch_lanes(registry_client *c, const char *repository, size_t count,
                       const char *const *digests, const int64_t *sizes, registry_store *store,
                       int *results, registry_progress_cb progress, void *userdata)
{
	if (count < 2 || c->max_parallel < 2 || registry_reference_validate_repository(repository))
		return REGISTRY__LANES_NONE;
	size_t *unique = malloc(count * sizeof(*unique));
	size_t *first = malloc(count * sizeof(*first)); /* digests[i] is unique[first[i]] */
	int *res = calloc(count, sizeof(*res));
	int rc = REGISTRY__LANES_NONE;
	if (!unique || !first || !res)
		goto out;
	size_t nunique = 0, pending = 0;
	int64_t total = 0;
	for (size_t i = 0; i < count; i++) {
		size_t j = 0;
		while (j < nunique && strcmp(digests[unique[j]], digests[i]) != 0)
			j++;
		first[i] = j;
		if (j < nunique)
			continue;
		unique[nunique++] = i;
		int64_t size = sizes ? sizes[i] : -1;
		total = (total < 0 || size < 0) ? -1 : total + size;
		pending += registry_store_has(store, digests[i]) != 1;
	}
	if (pending < 2)
		goto out;
	/* The scheme and a pull token, for every lane to copy. */
	char scope[600], *auth = NULL;
	snprintf(scope, sizeof(scope), "repository:%s:pull", repository);
	if ((rc = ensure_base(c)) == 0)
		rc = registry__auth_header(c, scope, &auth);
	registry__free_secret(auth);
	if (rc) {
		for (size_t i = 0; results && i < count; i++)
			results[i] = rc;
		goto out;
	}
	registry__progress_ctx prog = {.cb = progress, .ud = userdata, .overall_total = total,
	                               .blobs_total = count, .blobs_done = count - nunique};
	fetch_many m = {.repository = repository, .store = store, .digests = digests, .sizes = sizes,
	                .unique = unique};
	registry__lanes_params lp = {.njobs = nunique, .max_lanes = c->max_parallel, .keep_going = 1,
	                             .run = fetch_job, .ud = &m, .results = res, .what = "fetch"};
	rc = registry__lanes_run(c, &lp, &prog);
	for (size_t i = 0; results && rc != REGISTRY__LANES_NONE && i < count; i++)
		results[i] = res[first[i]];
out:
	free(unique);
	free(first);
	free(res);
	return rc;
}

/* registry_blob_fetch_many() and registry_blob_fetch(), options checked. */
static int fetch_blobs(registry_client *c, const char *repository, size_t count, const char *const *digests,
                      const int64_t *sizes, registry_store *store, int *results, registry_progress_cb progress,
                      void *userdata)
{
	int rc;
	if (!store || (count && !digests))
		return registry__fail(REGISTRY_EINVAL, "fetch_many: NULL store or digests");
	/* Digests from a manifest may name algorithms we cannot verify: refuse
	 * them (EUNSUPPORTED) before any request. */
	for (size_t i = 0; i < count; i++)
		if (!digests[i])
			return registry__fail(REGISTRY_EINVAL, "fetch_many: NULL digest %zu", i);
		else if ((rc = registry_digest_validate(digests[i])))
			return rc;
	if (c && repository) {
		rc = fetch_lanes(c, repository, count, digests, sizes, store, results, progress, userdata);
		if (rc != REGISTRY__LANES_NONE)
			return rc;
		registry__error_clear();
	}
	engine e;
	if ((rc = engine_init(&e, c, repository, count)))
		return rc;
	e.store = store;
	e.cb = progress;
	e.ud = userdata;
	for (size_t i = 0; i < count; i++) {
		e.t[i].digest = digests[i];
		e.t[i].size = sizes ? sizes[i] : -1;
		if (!digests[i]) {
			engine_free(&e);
			return registry__fail(REGISTRY_EINVAL, "fetch_many: NULL digest %zu", i);
		}
	}
	rc = run(&e);
	for (size_t i = 0; results && i < count; i++) {
		const transfer *t = e.t[i].dup_of >= 0 ? &e.t[e.t[i].dup_of] : &e.t[i];
		results[i] = t->state == T_FINISHED ? t->rc : (rc ? rc : REGISTRY_EIO);
	}
	engine_free(&e);
	return rc;
}

int registry_blob_fetch_many_options_init(registry_blob_fetch_many_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_blob_fetch_many_options_init: NULL options");
	registry_blob_fetch_many_options init = REGISTRY_BLOB_FETCH_MANY_OPTIONS_INIT;
	*opts = init;
	return 0;
}

int registry_blob_fetch_many(int *results, registry_client *c, const char *repository,
                             size_t count, const char *const *digests, const int64_t *sizes,
                             registry_store *store, const registry_blob_fetch_many_options *options)
{
	REGISTRY__ENTER(rc);
	static const registry_blob_fetch_many_options defaults = REGISTRY_BLOB_FETCH_MANY_OPTIONS_INIT;
	if (!options)
		options = &defaults;
	if ((rc = registry__options_check("registry_blob_fetch_many", options->version,
	                                  REGISTRY_BLOB_FETCH_MANY_OPTIONS_VERSION, options->flags, 0)))
		return rc;
	return fetch_blobs(c, repository, count, digests, sizes, store, results, options->progress,
	                  options->userdata);
}

int registry_blob_fetch_options_init(registry_blob_fetch_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_blob_fetch_options_init: NULL options");
	registry_blob_fetch_options init = REGISTRY_BLOB_FETCH_OPTIONS_INIT;
	*opts = init;
	return 0;
}

int registry_blob_fetch(registry_client *c, const char *repository, const char *digest,
                        int64_t expected_size, registry_store *store, const registry_blob_fetch_options *opts)
{
	REGISTRY__ENTER(rc);
	static const registry_blob_fetch_options defaults = REGISTRY_BLOB_FETCH_OPTIONS_INIT;
	if (!opts)
		opts = &defaults;
	if ((rc = registry__options_check("registry_blob_fetch", opts->version, REGISTRY_BLOB_FETCH_OPTIONS_VERSION,
	                                  opts->flags, 0)))
		return rc;
	return fetch_blobs(c, repository, 1, &digest, &expected_size, store, NULL, opts->progress,
	                   opts->userdata);
}

int registry_blob_fetch_to_options_init(registry_blob_fetch_to_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_blob_fetch_to_options_init: NULL options");
	registry_blob_fetch_to_options init = REGISTRY_BLOB_FETCH_TO_OPTIONS_INIT;
	*opts = init;
	return 0;
}

int registry_blob_fetch_to(registry_client *c, const char *repository, const char *digest,
                           int64_t expected_size, registry_blob_write_cb write, void *write_userdata,
                           const registry_blob_fetch_to_options *opts)
{
	REGISTRY__ENTER(rc);
	static const registry_blob_fetch_to_options defaults = REGISTRY_BLOB_FETCH_TO_OPTIONS_INIT;
	if (!opts)
		opts = &defaults;
	if ((rc = registry__options_check("registry_blob_fetch_to", opts->version,
	                                  REGISTRY_BLOB_FETCH_TO_OPTIONS_VERSION, opts->flags, 0)))
		return rc;
	if (!write || !digest)
		return registry__fail(REGISTRY_EINVAL, "fetch_to: NULL digest or callback");
	if ((rc = registry_digest_validate(digest)))
		return rc;
	engine e;
	if ((rc = engine_init(&e, c, repository, 1)))
		return rc;
	e.write = write;
	e.write_ud = write_userdata;
	e.cb = opts->progress;
	e.ud = opts->userdata;
	e.t[0].digest = digest;
	e.t[0].size = expected_size;
	rc = run(&e);
	engine_free(&e);
	return rc;
}

int registry_blob_head(int64_t *size, registry_client *c, const char *repository, const char *digest)
{
	REGISTRY__ENTER(rc);
	if (!c || !repository || !digest)
		return registry__fail(REGISTRY_EINVAL, "blob_head: NULL argument");
	if ((rc = registry_reference_validate_repository(repository)) || (rc = registry_digest_validate(digest)))
		return rc;
	char path[800], scope[600];
	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", repository, digest);
	snprintf(scope, sizeof(scope), "repository:%s:pull", repository);
	registry__request req = {.method = "HEAD", .url = path, .scope = scope};
	registry__response resp;
	registry__response_init(&resp);
	rc = registry__client_do(c, &req, &resp);
	if (!rc && resp.status == 200) {
		if (size)
			*size = resp.content_length;
	} else if (!rc) {
		char what[700];
		snprintf(what, sizeof(what), "checking blob %s in %s", digest, repository);
		rc = registry__response_fail(&resp, what);
	}
	registry__response_free(&resp);
	return rc;
}

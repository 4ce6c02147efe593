/*
 * Push from a store on the caller's event loop (registry_push_start): the
 * steps of registry_push (lib/ops/push.c, lib/blob/upload.c) as a state
 * machine that never blocks:
 *
 *   plan (the store's manifests, read and checked in the start call)
 *     ─► (scheme probe, once per client)
 *     ─► blobs, up to max_parallel at once, largest first:
 *          [hash in slices] ─► HEAD ─┬─ there: skipped
 *                                    └─ POST ─► PUT (monolithic, streamed)
 *                                            └─ PATCH chunks ─► PUT ?digest=
 *     ─► manifests one at a time: index children the store lacks (HEAD),
 *        children (PUT by digest), the root (PUT under the target)
 *
 * Bytes are read from the store's file and hashed as curl asks for them
 * (at most REGISTRY__LOOP_UPLOAD_BUFFER a call) and a transfer pauses when its step
 * has had its slice (registry__loop_slice_spent), so no step reads or
 * hashes for long. Blobs up to REGISTRY__PUSH_PREHASH_MAX are hashed before
 * anything is sent, as the blocking push does, in slices of the timer.
 * The plan, the progress counts, the judging of answers and the error
 * messages are the blocking push's own functions.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blob/upload_impl.h"
#include "digest/hash.h"
#include "loop_impl.h"
#include "loop_referrers.h"
#include "ops/ops_impl.h"
#include "ops/push_impl.h"
#include "store/store_blob.h"

enum { S_BLOBS, S_MANIFESTS, S_DONE };
enum { B_QUEUED, B_RUNNING, B_DONE };

/* What one read of the store file takes while hashing ahead of the upload. */
#define HASH_PIECE ((size_t)64 << 10)

typedef struct push_op push_op;

typedef struct pblob {
	push_op *p;
	const registry__blob_item *item;
	int local;        /* in the store: uploaded from its file */
	int state;
	int fd;
	int64_t size;     /* the file's (local), else the descriptor's */
	registry__hash hash;
	int hash_ready;
	int verified;     /* every byte hashed and the digest matched */
	int64_t hashed;   /* bytes [0, hashed) went into the hash */
	int64_t pos, end; /* the body being sent: next byte, where it stops */
	char *location;   /* the upload session */
	size_t chunk;
	int64_t offset;   /* the current PATCH's first byte */
	int failures;
	char range[96];
	const char *headers[3];
	char *put_url;
	int64_t done;
	double last_report;
	int put_rc; /* a failure kept while the blob is checked, or its session deleted */
	registry__error_snapshot *put_failure;
	char delete_scope[700];
	lreq q;
	lwait wait;       /* a hashing slice, or a PATCH's backoff */
} pblob;

struct push_op {
	registry_op op;
	registry_store *store;
	char *path;       /* a blob upload: its file, instead of the store */
	char *repository; /* a blob upload's (the plan's repo borrows it) */
	int skip_head;    /* REGISTRY_BLOB_UPLOAD_SKIP_EXISTS_CHECK */
	char *mount_from; /* a copy in one registry: blobs mounted from this repository */
	registry_reference *target; /* the plan borrows from it */
	registry__push_plan plan;
	registry__push_settings set;
	registry__progress_ctx prog;
	char scope[600];
	int state;
	int failing; /* a failed blob's session is being deleted: start nothing */
	pblob *blobs;
	size_t *order; /* blob indexes: the registry checks first, then largest first */
	size_t nblobs, running, finished;
	size_t manifest; /* the next of remote_only, children, root */
	lreq q;
	char ctype[300];
	const char *mheaders[2];
	ltag tag; /* a pushed referrer's entry in its subject's referrers tag */
};

static void next_blobs(push_op *p);
static void next_manifest(push_op *p);
static void blob_head(pblob *b);
static void blob_post(pblob *b);
static void blob_send(pblob *b);

static void fail(push_op *p, int rc)
{
	p->state = S_DONE;
	registry__loop_op_complete(&p->op, rc);
}

/* A progress report; a callback's non-zero return cancels at the step's end. */
static void report(pblob *b, int state)
{
	push_op *p = b->p;
	if (p->op.cancel_asked)
		return;
	if (registry__progress_report(&p->prog, b->item->digest, state, b->done, b->size)) {
		p->op.cancel_asked = 1;
		p->op.loop->deferred = 1;
	}
}

/* Bytes of this blob moved so far: RUNNING reported for the first bytes,
 * then at most every 100 ms (a fast upload still tells a caller, who may
 * cancel, that bytes moved). */
static void advance(pblob *b, int64_t done)
{
	int first = b->done == 0 && done > 0;
	b->p->prog.overall_done += done - b->done;
	b->done = done;
	double n = registry__now_s();
	if (first || n - b->last_report >= 0.1) {
		b->last_report = n;
		report(b, REGISTRY_PROGRESS_RUNNING);
	}
}

/* Begin @q at @url (absolute; NULL: @path on the registry) with the push
 * scope, answered through @done with @ud. 0, or the failure (recorded). */
static int begin(push_op *p, lreq *q, void *ud, const char *path, const char *url, const char *method,
                 void (*done)(lreq *q, int rc))
{
	registry_op *op = &p->op;
	int rc = url ? registry__loop_lreq_begin(q, op->loop, op, op->client, url, p->scope)
	             : registry__loop_lreq_begin_at(q, op, path, p->scope);
	if (rc) {
		if (url)
			registry__loop_lreq_end(q);
		return rc;
	}
	q->ud = ud;
	q->done = done;
	q->r.method = method;
	return 0;
}

/* ---- the store's file, read and hashed ------------------------------------------ */

/* Read @len bytes at b->pos into @buf, hashing those not hashed before; at
 * the file's end the digest must match. 0 or a failure, recorded. */
static int read_piece(pblob *b, char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(b->fd, buf + got, len - got, (off_t)(b->pos + (int64_t)got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return registry__fail(REGISTRY_EIO, "reading blob %s of the store: %s", b->item->digest,
			                      registry__errno_text(errno));
		if (n == 0)
			return registry__fail(REGISTRY_EDIGEST, "blob %s: the store's file ended after %" PRId64
			                      " of %" PRId64 " bytes", b->item->digest, b->pos + (int64_t)got, b->size);
		got += (size_t)n;
	}
	int64_t end = b->pos + (int64_t)len;
	if (!b->verified && end > b->hashed) {
		int64_t skip = b->hashed - b->pos;
		int rc = registry__hash_update(&b->hash, buf + skip, (size_t)(end - b->hashed));
		if (rc)
			return rc;
		b->hashed = end;
	}
	b->pos = end;
	if (!b->verified && b->hashed == b->size) {
		char got_digest[REGISTRY_DIGEST_STRING_MAX];
		int rc = registry__hash_final(&b->hash, got_digest);
		if (rc)
			return rc;
		if (strcmp(got_digest, b->item->digest) != 0 && !b->p->path)
			return registry__store_damaged(b->item->digest, got_digest);
		if (strcmp(got_digest, b->item->digest) != 0)
			return registry__fail(REGISTRY_EDIGEST, "blob %s: the %" PRId64 " bytes read hash to %s",
			                      b->item->digest, b->size, got_digest);
		b->verified = 1;
	}
	return 0;
}

/* curl asks for body bytes: read from the file, within the step's slice. */
static size_t on_send(char *buf, size_t size, size_t n, void *ud)
{
	lreq *q = ud;
	pblob *b = q->ud;
	if (q->op->cancel_asked)
		return CURL_READFUNC_ABORT;
	size_t len = size * n;
	if (b->pos >= b->end)
		return 0;
	if (registry__loop_slice_spent(q))
		return CURL_READFUNC_PAUSE;
	if ((uint64_t)len > (uint64_t)(b->end - b->pos))
		len = (size_t)(b->end - b->pos);
	if ((q->sink_rc = read_piece(b, buf, len)))
		return CURL_READFUNC_ABORT;
	advance(b, b->pos);
	return len;
}

/* A small blob is hashed before anything is sent, a slice per step. */
static void hash_slice(lwait *w)
{
	pblob *b = (pblob *)((char *)w - offsetof(pblob, wait));
	char buf[HASH_PIECE];
	do {
		int64_t left = b->size - b->pos;
		size_t len = left < (int64_t)sizeof(buf) ? (size_t)left : sizeof(buf);
		int rc = read_piece(b, buf, len);
		if (rc) {
			fail(b->p, rc);
			return;
		}
	} while (!b->verified && !registry__loop_over_budget(b->p->op.loop));
	if (!b->verified) {
		registry__loop_wait(b->p->op.loop, &b->wait, 0, hash_slice);
		return;
	}
	blob_head(b);
}

/* ---- one blob ------------------------------------------------------------------- */

static void session_deleted(lreq *q, int rc)
{
	pblob *b = q->ud;
	(void)rc; /* as the blocking upload: whatever the registry answers */
	registry__loop_lreq_end(q);
	registry__error_restore(b->put_failure); /* the blob's failure stands */
	b->put_failure = NULL;
	fail(b->p, b->put_rc);
}

/* As the blocking upload: the session of a blob that failed is deleted
 * (registry 2.8 wants the "delete" action), then the failure stands. 1
 * when the DELETE is under way. */
static int delete_session(pblob *b, int rc)
{
	push_op *p = b->p;
	registry_op *op = &p->op;
	if (!b->location || op->cancel_asked || op->completed)
		return 0;
	snprintf(b->delete_scope, sizeof(b->delete_scope), "repository:%s:delete", p->plan.repo);
	b->put_rc = rc;
	b->put_failure = registry__error_save();
	if (registry__loop_lreq_begin(&b->q, op->loop, op, op->client, b->location, b->delete_scope)) {
		registry__loop_lreq_end(&b->q);
		registry__error_restore(b->put_failure);
		b->put_failure = NULL;
		return 0;
	}
	b->q.ud = b;
	b->q.done = session_deleted;
	b->q.r.method = "DELETE";
	b->q.r.no_retry = 1;
	p->failing = 1;
	registry__loop_lreq_go(&b->q);
	return 1;
}

static void blob_finished(pblob *b, int rc, int state)
{
	push_op *p = b->p;
	if (b->state == B_RUNNING)
		p->running--;
	b->state = B_DONE;
	registry__loop_lreq_end(&b->q);
	p->finished++;
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	if (b->local) {
		/* As registry__blob_upload counts a blob that ends. */
		if (!rc && state == REGISTRY_PROGRESS_SKIPPED && b->size > 0)
			advance(b, b->size);
		p->prog.blobs_done++;
		registry__error_snapshot *saved = registry__error_save();
		report(b, rc ? REGISTRY_PROGRESS_FAILED : state);
		registry__error_restore(saved);
	}
	if (rc) {
		if (!delete_session(b, rc))
			fail(p, rc);
		return;
	}
	next_blobs(p);
}

static void put_check_done(lreq *q, int rc)
{
	pblob *b = q->ud;
	int present = !rc && q->resp.status == 200;
	registry__loop_lreq_end(q);
	if (present) {
		free(b->put_failure);
		b->put_failure = NULL;
		registry__error_clear();
		blob_finished(b, 0, REGISTRY_PROGRESS_DONE);
		return;
	}
	registry__error_restore(b->put_failure); /* the PUT's failure stands */
	b->put_failure = NULL;
	blob_finished(b, b->put_rc, 0);
}

/* HEAD the blob after a closing PUT whose answer may have been lost. */
static void put_check(pblob *b, int rc)
{
	char path[900];
	b->put_rc = rc;
	b->put_failure = registry__error_save();
	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", b->p->plan.repo, b->item->digest);
	int brc = begin(b->p, &b->q, b, path, NULL, "HEAD", put_check_done);
	if (brc) {
		registry__error_restore(b->put_failure);
		b->put_failure = NULL;
		blob_finished(b, rc, 0);
		return;
	}
	registry__loop_lreq_go(&b->q);
}

static void put_done(lreq *q, int rc)
{
	pblob *b = q->ud;
	char what[900];
	snprintf(what, sizeof(what), "completing the upload of %s to %s", b->item->digest, b->p->plan.repo);
	long st = q->resp.status;
	if (!rc && st != 201 && st != 200 && st != 204)
		rc = registry__response_fail(&q->resp, what);
	if (!rc && !b->verified)
		rc = registry__fail(REGISTRY_EPROTOCOL, "%s: the registry answered before the whole blob "
		                    "was sent", what);
	if (!rc && q->resp.docker_content_digest && strcmp(q->resp.docker_content_digest, b->item->digest) != 0)
		rc = registry__fail(REGISTRY_EDIGEST, "%s: the registry stored it as %.100s", what,
		                    q->resp.docker_content_digest);
	if (rc && b->verified && registry__upload_answer_lost(rc)) {
		/* The answer may have been lost after the registry committed: the
		 * retried PUT then finds the session gone. The blob decides. */
		registry__loop_lreq_end(q);
		put_check(b, rc);
		return;
	}
	blob_finished(b, rc, REGISTRY_PROGRESS_DONE);
}

/* A retried PUT sends its body again from its start (nothing hashed twice). */
static int put_rewind(lreq *q)
{
	pblob *b = q->ud;
	b->pos = b->end - q->send_len;
	advance(b, b->pos);
	return 0;
}

/* The closing PUT with the digest: the whole blob (@streamed), or no body. */
static void blob_put(pblob *b, int streamed)
{
	size_t n = strlen(b->location) + strlen(b->item->digest) + 16;
	free(b->put_url);
	if (!(b->put_url = malloc(n))) {
		blob_finished(b, registry__nomem(), 0);
		return;
	}
	snprintf(b->put_url, n, "%s%cdigest=%s", b->location, strchr(b->location, '?') ? '&' : '?',
	         b->item->digest);
	int rc = begin(b->p, &b->q, b, NULL, b->put_url, "PUT", put_done);
	if (rc) {
		blob_finished(b, rc, 0);
		return;
	}
	b->headers[0] = "Content-Type: application/octet-stream";
	b->headers[1] = NULL;
	b->q.r.headers = b->headers;
	if (streamed) {
		b->pos = 0;
		b->end = b->size;
		b->q.send = on_send;
		b->q.send_len = b->size;
		b->q.before = put_rewind;
	} else {
		b->q.body = "";
		b->q.body_len = 0;
	}
	registry__loop_lreq_go(&b->q);
}

static void patch_done(lreq *q, int rc);
static void status_done(lreq *q, int rc);

/* Where the session stands, after a failed PATCH and its backoff. */
static void patch_wait_fired(lwait *w)
{
	pblob *b = (pblob *)((char *)w - offsetof(pblob, wait));
	registry__error_clear();
	int rc = begin(b->p, &b->q, b, NULL, b->location, "GET", status_done);
	if (rc) {
		blob_finished(b, rc, 0);
		return;
	}
	registry__loop_lreq_go(&b->q);
}

static void status_done(lreq *q, int rc)
{
	pblob *b = q->ud;
	long st = q->resp.status;
	int lost = 0;
	int64_t held = b->offset;
	if (!rc && (st == 204 || st == 200)) {
		int64_t end = registry__upload_range_end(q->resp.range);
		if (end < 0)
			lost = 1; /* no usable Range: do not guess */
		else
			/* "0-0" is both "nothing" and "one byte" in registry 2.8. */
			held = end > 0 ? end + 1 : (b->offset == 1 ? 1 : 0);
		if (!lost && q->resp.location)
			rc = registry__upload_location(&b->location, &q->resp, b->item->digest);
	} else if (!rc && (st == 404 || st == 400)) {
		lost = 1;
	} else if (!rc) {
		char what[900];
		snprintf(what, sizeof(what), "checking the upload of %s", b->item->digest);
		rc = registry__response_fail(&q->resp, what);
	}
	registry__loop_lreq_end(q);
	if (rc) {
		blob_finished(b, rc, 0);
		return;
	}
	registry__error_clear();
	if (lost) {
		free(b->location);
		b->location = NULL;
		b->offset = 0;
		blob_post(b); /* a new session, from byte 0 */
		return;
	}
	b->offset = held;
	blob_send(b);
}

/* PATCH the next chunk from the file, read as it is sent. */
static void blob_patch(pblob *b)
{
	int64_t len = b->size - b->offset;
	if ((uint64_t)len > (uint64_t)b->chunk)
		len = (int64_t)b->chunk;
	int rc = begin(b->p, &b->q, b, NULL, b->location, "PATCH", patch_done);
	if (rc) {
		blob_finished(b, rc, 0);
		return;
	}
	snprintf(b->range, sizeof(b->range), "Content-Range: %" PRId64 "-%" PRId64, b->offset,
	         b->offset + len - 1);
	b->headers[0] = "Content-Type: application/octet-stream";
	b->headers[1] = b->range;
	b->headers[2] = NULL;
	b->q.r.headers = b->headers;
	b->q.r.no_retry = 1; /* a failed PATCH asks where the session stands */
	b->pos = b->offset;
	b->end = b->offset + len;
	b->q.send = on_send;
	b->q.send_len = len;
	b->q.before = put_rewind;
	registry__loop_lreq_go(&b->q);
}

static void patch_done(lreq *q, int rc)
{
	pblob *b = q->ud;
	long st = q->resp.status;
	int64_t len = q->send_len, held = b->offset;
	int retryable = 0;
	if (rc) {
		retryable = rc == REGISTRY_ENETWORK || rc == REGISTRY_ETIMEDOUT;
	} else if (st == 202 || st == 204) {
		rc = registry__upload_location(&b->location, &q->resp, b->item->digest);
		int64_t end = registry__upload_range_end(q->resp.range);
		held = end < 0 ? b->offset + len : end + 1;
		if (!rc && held > b->offset + len)
			rc = registry__fail(REGISTRY_EPROTOCOL, "upload of %s: the registry claims %" PRId64
			                    " bytes after %" PRId64 " were sent", b->item->digest, held, b->offset + len);
		if (!rc && !registry__upload_made_progress(held - b->offset, (size_t)len)) {
			retryable = 1; /* too little progress: count it as a failure */
			rc = registry__fail(REGISTRY_EPROTOCOL, "upload of %s: the registry took %" PRId64 " of the "
			                    "%" PRId64 " bytes of a chunk at %" PRId64 " (progress is at least half)",
			                    b->item->digest, held > b->offset ? held - b->offset : 0, len, b->offset);
			b->offset = held;
		}
	} else {
		/* 416: we and the registry disagree on the offset; 404: the
		 * session expired. Both are settled by asking where it stands. */
		retryable = registry__status_retryable(st) || st == 416 || st == 404;
		char what[900];
		snprintf(what, sizeof(what), "uploading a chunk of %s to %s", b->item->digest, b->p->plan.repo);
		rc = registry__response_fail(&q->resp, what);
	}
	if (!rc) {
		registry__loop_lreq_end(q);
		b->offset = held;
		b->failures = 0;
		blob_send(b);
		return;
	}
	registry_client *c = b->p->op.client;
	if (!retryable || b->failures >= c->retries) {
		blob_finished(b, rc, 0);
		return;
	}
	long ms = registry__backoff_ms(c, b->failures, st ? &q->resp : NULL);
	registry__loop_lreq_end(q);
	b->failures++;
	registry__loop_wait(b->p->op.loop, &b->wait, ms, patch_wait_fired);
}

/* The session is open at b->offset: the next chunk, or the closing PUT. */
static void blob_send(pblob *b)
{
	if (b->offset < b->size) {
		blob_patch(b);
		return;
	}
	if (!b->verified) {
		blob_finished(b, registry__fail(REGISTRY_EPROTOCOL, "upload of %s: the source was not read to "
		                                "its end", b->item->digest), 0);
		return;
	}
	blob_put(b, 0);
}

static void post_done(lreq *q, int rc)
{
	pblob *b = q->ud;
	char what[900];
	snprintf(what, sizeof(what), "starting the upload of %s to %s", b->item->digest, b->p->plan.repo);
	if (!rc && q->resp.status == 201 && b->p->mount_from) {
		/* Mounted, as registry__blob_upload judges it: no byte sent. */
		const char *said = q->resp.docker_content_digest;
		if (said && strcmp(said, b->item->digest) != 0)
			rc = registry__fail(REGISTRY_EDIGEST, "mounting %s: the registry answered for %.100s",
			                    b->item->digest, said);
		registry__loop_lreq_end(q);
		blob_finished(b, rc, REGISTRY_PROGRESS_SKIPPED);
		return;
	}
	if (!rc && q->resp.status == 202) {
		/* Also a mount the registry did not make: the session it opened
		 * takes the upload, as in registry__blob_upload. */
		rc = registry__upload_location(&b->location, &q->resp, b->item->digest);
		b->chunk = registry__upload_chunk_min(&q->resp, b->chunk);
	} else if (!rc) {
		rc = registry__response_fail(&q->resp, what);
	}
	registry__loop_lreq_end(q);
	if (rc) {
		blob_finished(b, rc, 0);
		return;
	}
	if (b->size == 0) {
		b->pos = b->end = 0;
		int r0 = b->verified ? 0 : read_piece(b, NULL, 0);
		if (r0)
			blob_finished(b, r0, 0);
		else
			blob_put(b, 0);
	} else if ((uint64_t)b->size <= (uint64_t)b->chunk) {
		blob_put(b, 1);
	} else {
		b->offset = 0;
		blob_send(b);
	}
}

static void blob_post(pblob *b)
{
	char path[1500];
	if (b->p->mount_from)
		snprintf(path, sizeof(path), "/v2/%s/blobs/uploads/?mount=%s&from=%s", b->p->plan.repo, b->item->digest,
		         b->p->mount_from);
	else
		snprintf(path, sizeof(path), "/v2/%s/blobs/uploads/", b->p->plan.repo);
	int rc = begin(b->p, &b->q, b, path, NULL, "POST", post_done);
	if (rc) {
		blob_finished(b, rc, 0);
		return;
	}
	b->q.body = "";
	b->q.body_len = 0;
	registry__loop_lreq_go(&b->q);
}

static void head_done(lreq *q, int rc)
{
	pblob *b = q->ud;
	long st = q->resp.status;
	int exists = -1;
	if (!rc && st == 200) {
		exists = 1;
	} else if (!rc && st == 404) {
		exists = 0;
	} else if (!rc) {
		char what[900];
		snprintf(what, sizeof(what), "checking blob %s in %s", b->item->digest, b->p->plan.repo);
		rc = registry__response_fail(&q->resp, what);
	}
	registry__loop_lreq_end(q);
	if (rc) {
		blob_finished(b, rc, 0);
		return;
	}
	if (!b->local) {
		blob_finished(b, registry__push_remote_blob_judge(&b->p->prog, b->item, b->p->plan.repo, exists), 0);
		return;
	}
	if (exists) {
		blob_finished(b, 0, REGISTRY_PROGRESS_SKIPPED);
		return;
	}
	report(b, REGISTRY_PROGRESS_STARTED);
	blob_post(b);
}

static void blob_head(pblob *b)
{
	char path[900];
	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", b->p->plan.repo, b->item->digest);
	int rc = begin(b->p, &b->q, b, path, NULL, "HEAD", head_done);
	if (rc) {
		blob_finished(b, rc, 0);
		return;
	}
	registry__loop_lreq_go(&b->q);
}

static void blob_start(pblob *b)
{
	push_op *p = b->p;
	b->state = B_RUNNING;
	p->running++;
	if (!b->local) {
		blob_head(b);
		return;
	}
	int64_t size = 0;
	int rc;
	if (p->path) {
		registry__file_source fs;
		if (!(rc = registry__file_source_open(&fs, p->path, &size)))
			b->fd = fs.fd;
	} else {
		rc = registry__push_open_local(&b->fd, &size, p->store, b->item);
	}
	if (!rc && size != b->size)
		rc = registry__fail(REGISTRY_EDIGEST, "blob %s: %lld bytes in the store, %lld expected",
		                    b->item->digest, (long long)size, (long long)b->size);
	if (!rc && (rc = registry__hash_init(&b->hash, registry__digest_algorithm(b->item->digest))) == 0)
		b->hash_ready = 1;
	if (rc) {
		blob_finished(b, rc, 0);
		return;
	}
	if (p->skip_head) {
		report(b, REGISTRY_PROGRESS_STARTED);
		blob_post(b);
	} else if (b->size <= REGISTRY__PUSH_PREHASH_MAX && !p->path) {
		/* A store's blob, as the blocking push checks it (a file given to
		 * a blob upload is checked when its last byte is read). */
		registry__loop_wait(p->op.loop, &b->wait, 0, hash_slice);
	} else {
		blob_head(b);
	}
}

/* Start queued blobs up to the client's parallelism; then the manifests. */
static void next_blobs(push_op *p)
{
	if (p->state != S_BLOBS || p->op.completed || p->failing)
		return;
	int max = p->op.client->max_parallel > 0 ? p->op.client->max_parallel : 1;
	for (size_t i = 0; i < p->nblobs && p->running < (size_t)max && !p->op.completed; i++)
		if (p->blobs[p->order[i]].state == B_QUEUED)
			blob_start(&p->blobs[p->order[i]]);
	if (p->op.completed || p->finished < p->nblobs)
		return;
	if (!p->plan.root) { /* a blob upload */
		p->state = S_DONE;
		registry__loop_op_complete(&p->op, 0);
		return;
	}
	p->state = S_MANIFESTS;
	next_manifest(p);
}

/* ---- manifests -------------------------------------------------------------------- */

static const registry_manifest *manifest_at(const push_op *p, size_t i, const char **reference)
{
	const registry__push_plan *pl = &p->plan;
	i -= pl->remote_only.n;
	if (i < pl->nchildren) {
		*reference = registry_manifest_digest(pl->children[i]);
		return pl->children[i];
	}
	*reference = pl->reference;
	return pl->root;
}

static void tag_kept(ltag *t, int rc);
static void manifest_next(push_op *p, int rc);

static void manifest_done(lreq *q, int rc)
{
	push_op *p = (push_op *)(void *)q->op;
	const registry__push_plan *pl = &p->plan;
	size_t i = p->manifest;
	char what[1200];
	if (i < pl->remote_only.n) {
		const char *d = pl->remote_only.items[i].digest;
		snprintf(what, sizeof(what), "resolving %s:%s", pl->repo, d);
		if (!rc && q->resp.status != 200)
			rc = registry__response_fail(&q->resp, what);
		if (rc == REGISTRY_ENOTFOUND)
			rc = registry__push_remote_manifest_missing(pl, d);
		const char *got = q->resp.docker_content_digest;
		if (!rc && got && registry_digest_validate(got) == 0 && strcmp(got, d) != 0)
			rc = registry__fail(REGISTRY_EDIGEST, "%s: the registry answered for %s", what, got);
	} else {
		const char *reference = NULL;
		const registry_manifest *m = manifest_at(p, i, &reference);
		snprintf(what, sizeof(what), "pushing manifest %s:%s", pl->repo, reference);
		rc = registry__manifest_put_judge(m, rc, &q->resp, what);
		if (!rc && m == pl->root) {
			const char *d = q->resp.docker_content_digest ? q->resp.docker_content_digest
			                                               : registry_manifest_digest(m);
			if (!(p->op.digest = registry__strdup(d)))
				rc = registry__nomem();
		}
		/* No OCI-Subject in the answer: the registry keeps no referrers
		 * list (registry 2.8), the referrers tag is ours to keep, as
		 * registry_manifest_push() keeps it. */
		if (!rc && registry_manifest_subject(m) && !q->resp.oci_subject) {
			registry__loop_lreq_end(q);
			registry__loop_tag_add(&p->tag, &p->op, pl->repo, p->scope, m, tag_kept);
			return;
		}
	}
	registry__loop_lreq_end(q);
	manifest_next(p, rc);
}

/* A referrer's entry is in its subject's referrers tag. */
static void tag_kept(ltag *t, int rc)
{
	manifest_next((push_op *)(void *)((char *)t - offsetof(push_op, tag)), rc);
}

/* The manifest at hand is in (@rc 0): the next one, or the push is done. */
static void manifest_next(push_op *p, int rc)
{
	const registry__push_plan *pl = &p->plan;
	if (rc) {
		fail(p, rc);
		return;
	}
	if (++p->manifest > pl->remote_only.n + pl->nchildren) {
		p->state = S_DONE;
		registry__loop_op_complete(&p->op, 0);
		return;
	}
	next_manifest(p);
}

/* HEAD a child the store lacks, or PUT the next manifest (children first). */
static void next_manifest(push_op *p)
{
	const registry__push_plan *pl = &p->plan;
	size_t i = p->manifest;
	char path[1200];
	int rc;
	if (i < pl->remote_only.n) {
		snprintf(path, sizeof(path), "/v2/%s/manifests/%s", pl->repo, pl->remote_only.items[i].digest);
		if ((rc = begin(p, &p->q, p, path, NULL, "HEAD", manifest_done))) {
			fail(p, rc);
			return;
		}
		p->q.r.headers = registry__manifest_accept_headers;
	} else {
		const char *reference = NULL;
		const registry_manifest *m = manifest_at(p, i, &reference);
		snprintf(path, sizeof(path), "/v2/%s/manifests/%s", pl->repo, reference);
		if ((rc = begin(p, &p->q, p, path, NULL, "PUT", manifest_done))) {
			fail(p, rc);
			return;
		}
		registry__loop_manifest_put(&p->q, m, p->ctype, sizeof(p->ctype), p->mheaders);
	}
	registry__loop_lreq_go(&p->q);
}

/* ---- the operation ---------------------------------------------------------------- */

static void push_base_known(registry_op *op)
{
	push_op *p = (push_op *)(void *)op;
	p->state = S_BLOBS;
	next_blobs(p);
}

static void push_stop(registry_op *op)
{
	push_op *p = (push_op *)(void *)op;
	registry__loop_lreq_stop(&p->q);
	registry__loop_tag_stop(&p->tag);
	for (size_t i = 0; i < p->nblobs; i++) {
		pblob *b = &p->blobs[i];
		registry__loop_lreq_stop(&b->q);
		if (op->loop)
			registry__loop_unwait(op->loop, &b->wait);
		if (b->fd >= 0)
			close(b->fd);
		b->fd = -1;
	}
}

static void blob_free(pblob *b)
{
	registry__loop_lreq_end(&b->q);
	if (b->hash_ready)
		registry__hash_cleanup(&b->hash);
	free(b->location);
	free(b->put_url);
	free(b->put_failure);
}

static void push_free(registry_op *op)
{
	push_op *p = (push_op *)(void *)op;
	registry__loop_lreq_end(&p->q);
	for (size_t i = 0; i < p->nblobs; i++)
		blob_free(&p->blobs[i]);
	free(p->blobs);
	free(p->order);
	registry__push_plan_free(&p->plan);
	registry_reference_free(p->target);
	free(p->path);
	free(p->repository);
	free(p->mount_from);
	free(op->digest);
}

static const registry__op_kind push_kind = {push_stop, push_free};

/* Blob order: those the store lacks (a check each) first, then the files
 * largest first (ties in manifest order), as the blocking push runs them. */
static void sort_blobs(push_op *p)
{
	for (size_t i = 0; i < p->nblobs; i++)
		p->order[i] = i;
	for (size_t i = 1; i < p->nblobs; i++) {
		size_t v = p->order[i], j = i;
		const pblob *bv = &p->blobs[v];
		for (; j > 0; j--) {
			const pblob *bj = &p->blobs[p->order[j - 1]];
			if (!(bj->local && (!bv->local || bj->size < bv->size)))
				break;
			p->order[j] = p->order[j - 1];
		}
		p->order[j] = v;
	}
}

/* Everything the blocking push checks before it sends: the plan, every blob
 * in the store or not, the files' sizes against their descriptors. */
static int make_blobs(push_op *p);

static int plan(push_op *p, const char *ref_name, const registry_reference *target)
{
	int rc = registry_reference_dup(&p->target, target);
	if (!rc)
		rc = registry__push_plan_make(&p->plan, p->store, ref_name, p->target);
	return rc ? rc : make_blobs(p);
}

/* One pblob per blob of the plan, and the progress over them. */
static int make_blobs(push_op *p)
{
	int rc;
	registry__push_progress_init(&p->prog, &p->plan, &p->set);
	size_t n = p->plan.blobs.n;
	if (!(p->blobs = calloc(n ? n : 1, sizeof(*p->blobs))) || !(p->order = calloc(n ? n : 1, sizeof(size_t))))
		return registry__nomem();
	p->nblobs = n;
	for (size_t i = 0; i < n; i++) {
		const registry__blob_item *it = &p->plan.blobs.items[i];
		pblob *b = &p->blobs[i];
		*b = (pblob){.p = p, .item = it, .fd = -1, .size = it->size,
		             .chunk = p->set.chunk_size ? p->set.chunk_size : REGISTRY_BLOB_CHUNK_SIZE_DEFAULT};
		if (p->path) {
			b->local = 1; /* the blob upload's file; its size is known */
			continue;
		}
		if ((rc = registry_store_has(p->store, it->digest)) < 0)
			return rc;
		if (!(b->local = rc))
			continue;
		int fd = -1;
		if ((rc = registry__push_open_local(&fd, &b->size, p->store, it)))
			return rc;
		close(fd);
		if (it->size < 0 && p->prog.overall_total >= 0)
			p->prog.overall_total += b->size;
	}
	sort_blobs(p);
	return 0;
}

/* A start call's plan is made (@rc 0: on once the client's scheme is
 * known) or failed (the failure completes the operation). */
static void go(push_op *p, int rc)
{
	if (rc) {
		fail(p, rc);
		return;
	}
	if (p->mount_from) /* the token also lets the registry read the source */
		snprintf(p->scope, sizeof(p->scope), "repository:%s:pull,push repository:%s:pull", p->plan.repo,
		         p->mount_from);
	else
		snprintf(p->scope, sizeof(p->scope), "repository:%s:pull,push", p->plan.repo);
	registry__loop_with_base(&p->op, push_base_known);
}

int registry__loop_push_start(registry_op **out, registry_loop *loop, registry_client *client,
                              registry_store *store, const char *ref_name, const registry_reference *target,
                              const registry_push_options *options, const char *mount_from,
                              registry_op_done_cb done, void *userdata)
{
	int rc;
	if (out)
		*out = NULL;
	if (!out || !loop || !client || !store || !ref_name || !target || !done)
		return registry__fail(REGISTRY_EINVAL, "registry_push_start: NULL argument");
	registry_push_options defaults = REGISTRY_PUSH_OPTIONS_INIT;
	if (!options)
		options = &defaults;
	/* Version 1 is the only one; all its fields (chunk_size, progress) are
	 * applied, and a later version or an unknown flag is EINVAL here. */
	if ((rc = registry__push_check_options("registry_push_start", options)) ||
	    (rc = registry__ops_check_ref_registry(client, target)) ||
	    (mount_from && (rc = registry_reference_validate_repository(mount_from))))
		return rc;
	registry_op *op = NULL;
	if ((rc = registry__loop_op_new(&op, loop, client, &push_kind, sizeof(push_op), done, userdata)))
		return rc;
	push_op *p = (push_op *)(void *)op;
	p->store = store;
	p->set = REGISTRY__PUSH_SETTINGS(options);
	if (mount_from && !(p->mount_from = registry__strdup(mount_from))) {
		registry_op_free(op);
		return registry__nomem();
	}
	*out = op;
	int64_t t = registry__loop_step_begin(loop);
	go(p, plan(p, ref_name, target));
	registry__loop_step_end(loop, t);
	return 0;
}

int registry_push_start(registry_op **out, registry_loop *loop, registry_client *client, registry_store *store,
                        const char *ref_name, const registry_reference *target,
                        const registry_push_options *options, registry_op_done_cb done, void *userdata)
{
	REGISTRY__ENTER(rc);
	return registry__loop_push_start(out, loop, client, store, ref_name, target, options, NULL, done, userdata);
}

/* ---- one blob from a file ----------------------------------------------------------- */

/* The blob upload's plan: one blob, the file's, no manifest. */
static int plan_file(push_op *p, const char *repository, const char *digest, const char *path,
                     const registry__upload_params *up)
{
	registry__file_source fs;
	int64_t size = 0;
	int rc = registry__upload_params_check(up);
	if (!rc)
		rc = registry__file_source_open(&fs, path, &size);
	if (rc)
		return rc;
	registry__file_source_close(&fs);
	if (!(p->path = registry__strdup(path)) || !(p->repository = registry__strdup(repository)))
		return registry__nomem();
	p->plan.repo = p->repository;
	if ((rc = registry__blob_list_add(&p->plan.blobs, digest, size, 0)) < 0)
		return rc;
	return make_blobs(p);
}

int registry_blob_upload_file_start(registry_op **out, registry_loop *loop, registry_client *client,
                                    const char *repository, const char *digest, const char *path,
                                    const registry_blob_upload_options *options, registry_op_done_cb done,
                                    void *userdata)
{
	REGISTRY__ENTER(rc);
	if (out)
		*out = NULL;
	registry__progress_ctx prog;
	registry__upload_params up;
	if ((rc = registry__blob_upload_params("registry_blob_upload_file_start", options, repository, digest, -1,
	                                       &prog, &up)))
		return rc;
	if (!out || !loop || !client || !repository || !digest || !path || !done)
		return registry__fail(REGISTRY_EINVAL, "registry_blob_upload_file_start: NULL argument");
	registry_op *op = NULL;
	if ((rc = registry__loop_op_new(&op, loop, client, &push_kind, sizeof(push_op), done, userdata)))
		return rc;
	push_op *p = (push_op *)(void *)op;
	/* Every field of version 1 is applied: chunk size, progress, the flag. */
	p->set = (registry__push_settings){.chunk_size = up.chunk_size, .progress = prog.cb, .userdata = prog.ud};
	p->skip_head = up.skip_head;
	*out = op;
	int64_t t = registry__loop_step_begin(loop);
	go(p, plan_file(p, repository, digest, path, &up));
	registry__loop_step_end(loop, t);
	return 0;
}

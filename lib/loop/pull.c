/*
 * Pull into a store on the caller's event loop (registry_pull_start): the
 * same steps as registry_pull (lib/ops/pull.c), as a state machine that
 * never blocks:
 *
 *   for each endpoint (registries.conf mirrors in order, then the primary):
 *   (scheme probe, once per client) ─► manifest ─► (index: platform's child,
 *       or with REGISTRY_PULL_ALL_PLATFORMS each distinct child in turn)
 *       ─► blobs, up to max_parallel at once, each received, hashed and
 *          written as the bytes arrive, resumed from a kept partial
 *       ─► manifests (and the index) and the index.json entry
 *   ─► registry_pull_to_start: the destination written (export)
 *
 * Judging the manifest answer, the endpoints, storing the images, the index
 * and its entry, and the destinations are the blocking pull's own
 * functions (lib/ops/pull.c, mirrors.c), so results, digests and error
 * records are the same.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "blob/upload_impl.h"
#include "ops/fanout.h"
#include "loop_impl.h"
#include "loop_referrers.h"
#include "manifest/manifest_impl.h"
#include "ops/ops_impl.h"
#include "ops/pull_impl.h"
#include "store/store_writer.h"
#include "unpack/unpack_impl.h"

enum { P_BASE, P_MANIFEST, P_CHILD, P_BLOBS, P_UNPACK, P_EXPORT, P_DONE };
enum { B_QUEUED, B_RUNNING, B_BUSY, B_COMMITTING, B_DONE };

/* A blob whose partial another writer of this store handle holds (a
 * concurrent pull of a shared layer): try again after this long. */
#define BUSY_RETRY_MS 20

typedef struct pull_op pull_op;

typedef struct pblob {
	pull_op *p;
	const char *digest; /* the manifest's */
	int64_t size;
	int state;
	registry__blob_writer *w;
	int64_t offset, done;
	int range_checked, restart;
	double last_report;
	lreq q;
	lwait busy;
	lcommit *commit; /* its fsyncs, off the step */
	ldw *dw;         /* direct writes (loop/dwrite.c), or NULL: the writer's */
	ldw *flushing;   /* its last writes, before the commit */
	const registry_descriptor *foreign; /* a foreign layer: fetched from its URLs */
	size_t url;      /* the foreign layer's URL at hand */
} pblob;

struct pull_op {
	registry_op op;
	registry_reference *ref;
	char *ref_name;
	registry_store *store;
	registry_pull_options o;
	registry__endpoints eps; /* mirrors, then the primary */
	size_t ep;               /* the one at hand */
	char tried[REGISTRY__MSG_MAX]; /* what the mirrors said */
	registry__pull_job j;    /* the pull at the endpoint at hand */
	const char *repository;  /* j.repository */
	char scope[600];
	int state;
	lreq q;           /* the manifests */
	registry__fanout f; /* REGISTRY_PULL_ALL_PLATFORMS: the entries */
	size_t entry;       /* the entry whose child is pulled */
	int all;
	pblob *blobs;
	size_t nblobs, running, finished;
	registry__schema1 s1; /* a schema1 image's history: its blobs' digests */
	ls1 *s1conv;          /* its conversion to OCI, slice by slice (loop/schema1.c) */
	lstore *storing; /* the manifest and index entry, at the end */
	registry__progress_ctx prog;
	int has_dest;             /* registry_pull_to_start */
	registry__pull_dest dest;
	lunpack unpack;           /* a root filesystem made from the store, slice by slice */
	char *unpack_digest;      /* the pull's, delivered once the unpack or export is done */
	struct registry__sink *xsink; /* a docker export, its writes run slice by slice */
	lwait xwait;
	lsync *xsync;             /* its fsync, before the rename into place */
	int blob_only;            /* registry_blob_fetch_start: one blob, no manifest */
	/* A signature policy (options version 2): the image verified first on
	 * the caller's client (loop/verify.c), then pulled by the digest
	 * verified, as registry_pull does. */
	registry_client *primary;
	lverify *verify;
	int verifying;
	/* registry_pull_to_start with a policy: the destination, opened once
	 * the policy accepted the image (registry_pull_to touches nothing before). */
	char *dest_path;
	int dest_format;
	char *blob_repository, *blob_digest;
	lwalk *referrers;         /* REGISTRY_PULL_REFERRERS: the walk under way */
	char *referrers_digest;   /* the pull's, delivered once they are in */
	int referrers_done;
};

static void next_blobs(pull_op *p);
static void start_manifest(pull_op *p, const char *reference);
static void next_entry(pull_op *p);
static int add_foreign(void *ud, const registry_descriptor *d);

static void fail(pull_op *p, int rc)
{
	p->state = P_DONE;
	registry__loop_op_complete(&p->op, rc);
}

static int oom(void)
{
	return registry__fail(REGISTRY_ENOMEM, "out of memory");
}

/* Begin @q at @path on the registry (its base URL) for @scope, answered
 * through @done: 0, or the failure (recorded; @q ended). */
static int begin_at(pull_op *p, lreq *q, const char *path, const char *scope, void *ud,
                    void (*done)(lreq *q, int rc))
{
	int rc = registry__loop_lreq_begin_at(q, &p->op, path, scope);
	if (rc)
		return rc;
	q->ud = ud;
	q->done = done;
	return 0;
}

/* Drop what an earlier endpoint left (its transfers are stopped; its
 * partial blobs stay in the store for a resume). */
static void blobs_clear(pull_op *p)
{
	for (size_t i = 0; i < p->nblobs; i++)
		registry__loop_lreq_end(&p->blobs[i].q);
	free(p->blobs);
	p->blobs = NULL;
	p->nblobs = p->running = p->finished = 0;
	registry__schema1_free(&p->s1); /* the blobs' digests were its */
}

static void job_reset(pull_op *p)
{
	registry__loop_lreq_end(&p->q);
	blobs_clear(p);
	registry__fanout_free(&p->f);
	registry__pull_job_free(&p->j);
	p->entry = 0;
	p->all = 0;
	p->referrers_done = 0; /* an endpoint after a failed one walks them again */
}

/* The client's scheme is known: the pull at endpoint p->ep, from its manifest. */
static void endpoint_begin(registry_op *op)
{
	pull_op *p = (pull_op *)(void *)op;
	job_reset(p);
	const registry__endpoint *ep = &p->eps.items[p->ep];
	/* REGISTRY_PULL_REFERRERS is the loop's walk (deliver()), never the
	 * blocking one of registry__pull_index_entry. */
	p->j = (registry__pull_job){.client = ep->client, .repository = ep->repository, .store = p->store,
	                            .flags = p->o.flags & ~(unsigned int)REGISTRY_PULL_REFERRERS, .o = &p->o,
	                            .add_foreign = add_foreign};
	p->repository = ep->repository;
	snprintf(p->scope, sizeof(p->scope), "repository:%s:pull", p->repository);
	start_manifest(p, NULL);
}

/* ---- manifests ---------------------------------------------------------------- */

static void manifest_done(lreq *q, int rc);

/* GET the manifest @reference (NULL: the one the reference names). */
static void start_manifest(pull_op *p, const char *reference)
{
	if (!reference) {
		p->state = P_MANIFEST;
		reference = registry_reference_digest(p->ref) ? registry_reference_digest(p->ref)
		                                              : registry_reference_tag(p->ref);
	} else {
		p->state = P_CHILD;
	}
	char path[1024];
	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", p->repository, reference);
	int rc = begin_at(p, &p->q, path, p->scope, p, manifest_done);
	if (rc) {
		fail(p, rc);
		return;
	}
	p->q.r.headers = registry__manifest_accept_headers;
	p->q.body_limit = p->o.max_manifest_size ? p->o.max_manifest_size : REGISTRY__MANIFEST_LIMIT;
	registry__loop_lreq_go(&p->q);
}

static int add_blob(void *ud, const char *digest, int64_t size)
{
	pull_op *p = ud;
	if (!digest)
		return registry__fail(REGISTRY_EFORMAT, "a descriptor without a digest");
	int rc = registry_digest_validate(digest);
	if (rc)
		return rc;
	for (size_t i = 0; i < p->nblobs; i++)
		if (p->blobs[i].digest && strcmp(p->blobs[i].digest, digest) == 0)
			return 0; /* one writer per blob */
	p->blobs[p->nblobs++] = (pblob){.p = p, .digest = digest, .size = size};
	return 0;
}

/* REGISTRY_PULL_FOREIGN_LAYERS: a layer with URLs is fetched with the
 * blobs, from its URLs instead of the registry (foreign_begin). */
static int add_foreign(void *ud, const registry_descriptor *d)
{
	pull_op *p = ud;
	size_t n = p->nblobs;
	int rc = add_blob(p, registry_descriptor_digest(d), registry_descriptor_size(d));
	if (!rc && p->nblobs > n)
		p->blobs[n].foreign = d;
	return rc;
}

/* The blobs listed: fetch them, with the progress counts of them all. */
static void blobs_go(pull_op *p)
{
	int64_t total = 0;
	for (size_t i = 0; i < p->nblobs; i++)
		total = (total < 0 || p->blobs[i].size < 0) ? -1 : total + p->blobs[i].size;
	p->prog = (registry__progress_ctx){.cb = p->o.progress, .ud = p->o.userdata, .overall_total = total,
	                                   .blobs_total = p->nblobs};
	p->state = P_BLOBS;
	next_blobs(p);
}

/* The image is known: the blobs the blocking pull would fetch for it
 * (and with REGISTRY_PULL_FOREIGN_LAYERS the layers at their URLs). */
static void start_blobs(pull_op *p, const registry_manifest *m)
{
	blobs_clear(p); /* an earlier child's */
	int rc = 0;
	size_t n = registry_manifest_layer_count(m) + 1;
	if (registry_manifest_schema_version(m) == 1) {
		if ((rc = registry__schema1_load(&p->s1, m))) {
			fail(p, rc);
			return;
		}
		n = p->s1.count;
	}
	if (!(p->blobs = calloc(n ? n : 1, sizeof(*p->blobs)))) {
		fail(p, oom());
		return;
	}
	if ((rc = registry__pull_image_blobs(&p->j, m, &p->s1, add_blob, p))) {
		fail(p, rc);
		return;
	}
	blobs_go(p);
}

static void manifest_done(lreq *q, int rc)
{
	pull_op *p = q->ud;
	const char *reference = p->state == P_CHILD ? NULL : registry_reference_digest(p->ref);
	int by_digest = p->state == P_CHILD || reference != NULL;
	char what[1200];
	registry_manifest *m = NULL;
	if (p->state == P_CHILD) {
		/* The child's digest is the URL's last segment. */
		reference = strrchr(q->r.start, '/') + 1;
	} else if (!reference) {
		reference = registry_reference_tag(p->ref);
	}
	snprintf(what, sizeof(what), "fetching manifest %s:%s", p->repository, reference);
	rc = registry__manifest_from_response(&m, rc, &q->resp, reference, by_digest,
	                                      q->body_limit, what);
	registry__loop_lreq_end(q);
	if (rc) {
		fail(p, rc);
		return;
	}
	if (p->state == P_CHILD) {
		p->j.child = m;
		if (registry_manifest_kind(m) != REGISTRY_MANIFEST_IMAGE) {
			/* The blocking pull's words (fanout.c for every platform). */
			if (p->all)
				rc = registry__fail(REGISTRY_EUNSUPPORTED, "index %s: entry %zu (%s) is an index; an "
				                    "index inside an index is not supported",
				                    registry_manifest_digest(p->j.top), p->entry, registry_manifest_digest(m));
			else
				rc = registry__fail(REGISTRY_EUNSUPPORTED, "%s: an index inside an index is not supported",
				                    registry_manifest_digest(m));
			fail(p, rc);
			return;
		}
		start_blobs(p, m);
		return;
	}
	p->j.top = m;
	if (registry_manifest_kind(m) == REGISTRY_MANIFEST_IMAGE) {
		start_blobs(p, m);
		return;
	}
	if (p->o.flags & REGISTRY_PULL_ALL_PLATFORMS) {
		p->all = 1;
		if ((rc = registry__pull_entries_begin(&p->j, &p->f))) {
			fail(p, rc);
			return;
		}
		next_entry(p);
		return;
	}
	const registry_descriptor *d = NULL;
	if ((rc = registry_manifest_select_platform(&d, m, p->o.platform))) {
		fail(p, rc);
		return;
	}
	start_manifest(p, registry_descriptor_digest(d));
}

/* ---- every platform ---------------------------------------------------------- */

static void finish_pull(pull_op *p, int rc, const registry__pull_stored *entry, const registry_manifest *source);
static const char *pull_ref_name(const pull_op *p);
static void stored(registry_op *op, int rc);

/* The next entry whose child was not pulled for an earlier one; after the
 * last, the index (as the blocking pull builds it) and its entry. Entered
 * from a kick (settle()), never from inside a transfer's callback: the
 * blobs of the child before are freed on the way. */
static void next_entry(pull_op *p)
{
	while (p->entry < p->j.n_entries && p->f.first[p->entry] != p->entry)
		p->entry++;
	if (p->entry < p->j.n_entries) {
		start_manifest(p, registry_descriptor_digest(registry_manifest_entry(p->j.top, p->entry)));
		return;
	}
	/* The index as the blocking pull builds it, and its entry: their
	 * fsyncs off the step (loop/store.c). */
	registry_manifest *built = NULL;
	int rc = registry__pull_fill_repeats(&p->j, p->f.first);
	if (!rc)
		rc = registry__pull_built_index(&p->j, &built);
	if (!rc)
		rc = registry__loop_store_manifest(&p->storing, &p->op, p->store, p->j.top, built, 1, pull_ref_name(p),
		                                   &p->j.top_stored, stored);
	if (rc)
		fail(p, rc);
}

static void next_entry_kicked(registry_op *op)
{
	next_entry((pull_op *)(void *)op);
}

/* ---- blobs ---------------------------------------------------------------------- */

static void report(pblob *b, int state)
{
	pull_op *p = b->p;
	if (p->op.cancel_asked)
		return;
	if (registry__progress_report(&p->prog, b->digest, state, b->done, b->size)) {
		/* The callback asked to stop: the step's end completes us. */
		p->op.cancel_asked = 1;
		p->op.loop->deferred = 1;
	}
}

/* Start the blob again from byte 0. */
static int blob_restart(pblob *b)
{
	return b->dw ? registry__loop_dw_restart(b->dw) : registry__blob_writer_restart(b->w);
}

/* Bytes of a 2xx answer: checked against the Range we asked, then hashed
 * and written at once (curl hands over at most 16 KiB at a time). */
static int blob_sink(lreq *q, const char *data, size_t len)
{
	pblob *b = q->ud;
	if (!b->range_checked) {
		b->range_checked = 1;
		long st = q->resp.status;
		if (b->offset > 0 && st == 200) {
			/* The server ignored Range: start over from byte 0. */
			int rc = blob_restart(b);
			if (rc)
				return rc;
			b->p->prog.overall_done -= b->done;
			b->offset = b->done = 0;
		} else if (st == 206) {
			int64_t start = -1;
			if (registry__content_range_start(q->resp.content_range, &start) != 0 || start != b->offset) {
				b->restart = 1;
				q->aborted = 1;
				return 0;
			}
		}
	}
	if (b->size >= 0 && (uint64_t)len > (uint64_t)(b->size - b->done))
		return registry__fail(REGISTRY_ETOOLARGE, b->foreign ? "fetching foreign layer %s: more than its %lld bytes"
		                                                     : "blob %s: more than its %lld bytes",
		                      b->digest, (long long)b->size);
	int rc = b->dw ? registry__loop_dw_write(b->dw, q, data, len) : registry__blob_writer_write(b->w, data, len);
	if (rc)
		return rc; /* or REGISTRY__SINK_PAUSE: nothing taken */
	b->done += (int64_t)len;
	b->p->prog.overall_done += (int64_t)len;
	double n = registry__now_s();
	if (n - b->last_report >= 0.1) {
		b->last_report = n;
		report(b, REGISTRY_PROGRESS_RUNNING);
	}
	return 0;
}

/* Before each attempt: ask for what the writer does not hold yet. */
static int blob_before(lreq *q)
{
	pblob *b = q->ud;
	if (b->size > 0 && b->done >= b->size) {
		/* A partial holding every byte cannot be resumed (see fetch.c). */
		int rc = blob_restart(b);
		if (rc)
			return rc;
		b->p->prog.overall_done -= b->done;
		b->done = 0;
	}
	b->offset = b->done;
	q->r.range_from = b->offset;
	b->range_checked = 0;
	b->restart = 0;
	q->aborted = 0;
	return 0;
}

/* Range trouble is ours to judge (only we know what the writer holds). */
static int blob_pre_step(lreq *q, CURLcode cc)
{
	pblob *b = q->ud;
	(void)cc;
	long status = q->resp.status;
	if (!b->restart && status != 416) {
		if (q->sink_rc) {
			q->r.rc = q->sink_rc;
			return REGISTRY__REQ_FAIL;
		}
		return -1;
	}
	long long asked = (long long)b->offset;
	registry__error_clear();
	int rc = blob_restart(b);
	b->p->prog.overall_done -= b->done;
	b->done = 0;
	if (rc) {
		q->r.rc = rc;
		return REGISTRY__REQ_FAIL;
	}
	if (status == 416)
		return registry__req_rerequest(&q->r, "answered 416 (range not satisfiable) to a request "
		                               "from byte %lld", asked);
	return registry__req_rerequest(&q->r, "answered 206 with a Content-Range that does not start "
	                               "at byte %lld", asked);
}

static void busy_fired(lwait *w);

/* A foreign layer's URL failed (its answer, or bytes that are not the
 * layer's): as the blocking pull, its next URL from byte 0, at the next
 * step (this blob's request is ending). 1 when there is one. */
static int foreign_retry(pblob *b, int rc)
{
	pull_op *p = b->p;
	if (!b->foreign || rc == REGISTRY_ECANCELED || p->op.cancel_asked ||
	    b->url + 1 >= registry_descriptor_url_count(b->foreign))
		return 0;
	if (b->state == B_RUNNING)
		p->running--;
	registry__loop_lreq_end(&b->q);
	registry__loop_dw_abort(b->dw);
	b->dw = NULL;
	if (b->w) {
		registry__blob_writer_abort(b->w, 0); /* another URL's bytes: not resumed */
		b->w = NULL;
	}
	p->prog.overall_done -= b->done;
	b->done = 0;
	b->url++;
	registry__error_clear();
	b->state = B_BUSY;
	registry__loop_wait(p->op.loop, &b->busy, 0, busy_fired);
	return 1;
}

static void blob_finished(pblob *b, int rc)
{
	pull_op *p = b->p;
	if (rc && foreign_retry(b, rc))
		return;
	if (b->state == B_RUNNING)
		p->running--;
	b->state = B_DONE;
	registry__loop_lreq_end(&b->q);
	p->finished++;
	p->prog.blobs_done++;
	registry__loop_dw_abort(b->dw);
	b->dw = NULL;
	if (b->w) {
		registry__blob_writer_abort(b->w, rc != REGISTRY_EDIGEST);
		b->w = NULL;
	}
	if (rc) {
		/* As the blocking pull: the first failure is the pull's. */
		registry__error_snapshot *saved = registry__error_save();
		report(b, REGISTRY_PROGRESS_FAILED);
		registry__error_restore(saved);
		fail(p, rc);
		return;
	}
	next_blobs(p);
}

static void blob_committed(void *ud, int rc);

/* The data written (direct writes): the commit. */
static void blob_flushed(void *ud, int rc)
{
	pblob *b = ud;
	b->flushing = NULL;
	if (!rc) {
		rc = registry__loop_commit(&b->commit, b->p->op.loop, b->w, blob_committed, b);
		b->w = NULL; /* the commit's now, or freed */
		if (!rc)
			return;
	}
	blob_finished(b, rc);
}

static void blob_done(lreq *q, int rc)
{
	pblob *b = q->ud;
	long status = q->resp.status;
	if (!rc && status >= 200 && status < 300) {
		const char *served = q->resp.docker_content_digest;
		/* (A foreign layer's URL is no registry: its bytes are checked at the commit.) */
		if (!b->foreign && served && registry_digest_validate(served) == 0 && strcmp(served, b->digest) != 0) {
			rc = registry__fail(REGISTRY_EDIGEST, "registry served %s when asked for %s", served, b->digest);
		} else if (b->dw) {
			/* Its last writes first, then the commit (blob_flushed). */
			b->flushing = b->dw;
			b->dw = NULL;
			b->state = B_COMMITTING;
			b->p->running--;
			registry__loop_dw_finish(b->flushing, blob_flushed, b);
			next_blobs(b->p);
			return;
		} else {
			rc = registry__loop_commit(&b->commit, b->p->op.loop, b->w, blob_committed, b);
			b->w = NULL; /* the commit's now, or freed */
			if (!rc) {
				/* Durable in a later step; its lane takes the next blob. */
				b->state = B_COMMITTING;
				b->p->running--;
				next_blobs(b->p);
				return;
			}
		}
	} else if (!rc) {
		char what[700];
		snprintf(what, sizeof(what), b->foreign ? "fetching foreign layer %s" : "fetching blob %s", b->digest);
		rc = registry__response_fail(&q->resp, what);
	}
	blob_finished(b, rc);
}

static void blob_committed(void *ud, int rc)
{
	pblob *b = ud;
	b->commit = NULL;
	if (!rc)
		report(b, REGISTRY_PROGRESS_DONE);
	blob_finished(b, rc);
}

static void busy_fired(lwait *w);
static void rehash_fired(lwait *w);

/* Bytes of a kept partial re-hashed between two looks at the step's budget. */
#define REHASH_PIECE ((size_t)1 << 20)

/* A foreign layer's URL from b->url on that is http or https (the blocking
 * pull's check) begun as an external request: no credentials, none of the
 * client's extra headers, no link-local or metadata host. 0, or the last
 * URL's failure (recorded). */
static int foreign_begin(pblob *b)
{
	int rc = 0;
	for (; b->url < registry_descriptor_url_count(b->foreign); b->url++) {
		const char *url = registry_descriptor_url(b->foreign, b->url);
		if ((rc = registry__foreign_url_check(b->digest, url)))
			continue;
		if ((rc = registry__loop_lreq_begin_external(&b->q, b->p->op.loop, &b->p->op, url, NULL))) {
			registry__loop_lreq_end(&b->q);
			return rc;
		}
		b->q.ud = b;
		b->q.done = blob_done;
		b->q.refuse_link_local = 1;
		return 0;
	}
	return rc ? rc : registry__fail(REGISTRY_ENOTFOUND, "foreign layer %s: no URL to fetch it from", b->digest);
}

/* The writer is open (and a kept partial hashed): the request. */
static void blob_go(pblob *b)
{
	pull_op *p = b->p;
	int64_t offset = registry__blob_writer_offset(b->w);
	/* The commit's AIO fsync writes it back, off the step. */
	registry__blob_writer_no_writeback(b->w);
	b->dw = registry__loop_dw_open(p->op.loop, b->w, b->size);
	char path[800];
	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", p->repository, b->digest);
	int rc = b->foreign ? foreign_begin(b) : begin_at(p, &b->q, path, p->scope, b, blob_done);
	if (rc) {
		blob_finished(b, rc);
		return;
	}
	b->done = offset;
	p->prog.overall_done += offset;
	b->q.sink = blob_sink;
	b->q.before = blob_before;
	b->q.pre_step = blob_pre_step;
	report(b, REGISTRY_PROGRESS_STARTED);
	registry__loop_lreq_go(&b->q);
}

static void blob_start(pblob *b)
{
	pull_op *p = b->p;
	int already = 0;
	int64_t pending = 0;
	int rc = registry__blob_writer_open_lazy(&b->w, p->store, b->digest, b->size, &pending, &already);
	if (rc == REGISTRY_ECONFLICT) {
		/* Another pull on this store handle is writing it: wait for it. */
		registry__error_clear();
		b->state = B_BUSY;
		registry__loop_wait(p->op.loop, &b->busy, BUSY_RETRY_MS, busy_fired);
		return;
	}
	if (!rc && already) {
		b->state = B_DONE;
		b->done = b->size;
		p->finished++;
		p->prog.blobs_done++;
		p->prog.overall_done += b->size > 0 ? b->size : 0;
		report(b, REGISTRY_PROGRESS_SKIPPED);
		return;
	}
	b->state = B_RUNNING;
	p->running++;
	if (rc) {
		blob_finished(b, rc);
		return;
	}
	if (pending > 0) {
		/* A kept partial: hashed in pieces, from the next step on (a
		 * partial of a gigabyte would take half a second in one). */
		registry__loop_wait(p->op.loop, &b->busy, 0, rehash_fired);
		return;
	}
	blob_go(b);
}

static void rehash_fired(lwait *w)
{
	pblob *b = (pblob *)((char *)w - offsetof(pblob, busy));
	int rc;
	while ((rc = registry__blob_writer_rehash(b->w, REHASH_PIECE)) == 1)
		if (registry__loop_over_budget(b->p->op.loop)) {
			registry__loop_wait(b->p->op.loop, &b->busy, 0, rehash_fired);
			return;
		}
	if (rc)
		blob_finished(b, rc);
	else
		blob_go(b);
}

static void busy_fired(lwait *w)
{
	pblob *b = (pblob *)((char *)w - offsetof(pblob, busy));
	b->state = B_QUEUED;
	next_blobs(b->p);
}

static void deliver(pull_op *p, int rc, char *digest);

/* The index.json name: the caller's, or the reference's digest or tag. */
static const char *pull_ref_name(const pull_op *p)
{
	if (p->ref_name)
		return p->ref_name;
	return registry_reference_digest(p->ref) ? registry_reference_digest(p->ref) : registry_reference_tag(p->ref);
}

/* The manifest and index entry are stored (loop/store.c): op->digest set. */
static void stored(registry_op *op, int rc)
{
	pull_op *p = (pull_op *)(void *)op;
	p->storing = NULL;
	char *digest = op->digest;
	op->digest = NULL;
	deliver(p, rc, digest);
}

static void child_stored(registry_op *op, int rc);

/* A schema1 image (or child) is converted (loop/schema1.c): stored as any
 * converted manifest, its fsyncs off the step (loop/store.c). */
static void s1_converted(registry_op *op, int rc, registry_manifest *built)
{
	pull_op *p = (pull_op *)(void *)op;
	p->s1conv = NULL;
	if (!rc && p->all)
		rc = registry__loop_store_manifest(&p->storing, &p->op, p->store, p->j.child, built, 0, NULL,
		                                   &p->j.entry_stored[p->entry], child_stored);
	else if (!rc)
		rc = registry__loop_store_manifest(&p->storing, &p->op, p->store, p->j.child ? p->j.child : p->j.top,
		                                   built, 1, pull_ref_name(p), NULL, stored);
	else
		registry_manifest_free(built);
	if (rc)
		fail(p, rc);
}

/* A child of an index is stored (loop/store.c): the next entry's, at the
 * step's end (out of any transfer's callback). */
static void child_stored(registry_op *op, int rc)
{
	pull_op *p = (pull_op *)(void *)op;
	p->storing = NULL;
	registry_manifest_free(p->j.child);
	p->j.child = NULL;
	if (rc) {
		fail(p, rc);
		return;
	}
	p->entry++;
	p->state = P_MANIFEST;
	p->op.base_known = next_entry_kicked;
	p->op.kick = 1;
	p->op.loop->deferred = 1;
}

/* Start queued blobs up to the client's parallelism; at the end, the
 * manifest and the index entry. */
static void next_blobs(pull_op *p)
{
	if (p->state != P_BLOBS || p->op.completed)
		return;
	int max = p->op.client->max_parallel > 0 ? p->op.client->max_parallel : 1;
	for (size_t i = 0; i < p->nblobs && p->running < (size_t)max && !p->op.completed; i++)
		if (p->blobs[i].state == B_QUEUED)
			blob_start(&p->blobs[i]);
	if (p->op.completed || p->finished < p->nblobs)
		return;
	if (p->blob_only) { /* registry_blob_fetch_start */
		p->state = P_DONE;
		registry__loop_op_complete(&p->op, 0);
		return;
	}
	if (p->storing)
		return;
	if (p->s1conv)
		return;
	if (p->all) {
		/* This child's blobs are in: its manifest, its fsyncs off the
		 * step (loop/store.c), then the next entry's. */
		registry_manifest *built = NULL;
		int rc;
		if (registry_manifest_schema_version(p->j.child) == 1 && !(p->o.flags & REGISTRY_PULL_PRESERVE_DIGESTS)) {
			/* Converted from its layers in slices (loop/schema1.c), then stored. */
			if ((rc = registry__loop_schema1_convert(&p->s1conv, &p->op, p->store, p->j.child, s1_converted)))
				fail(p, rc);
			return;
		}
		if (registry_manifest_schema_version(p->j.child) == 1) {
			/* Kept as served (a signed one under the digest of its bytes), in the step. */
			child_stored(&p->op, registry__pull_store_manifest(&p->j, p->j.child, &p->j.entry_stored[p->entry]));
			return;
		}
		rc = registry__pull_stored_manifest(&built, p->j.child, p->o.flags);
		if (!rc)
			rc = registry__loop_store_manifest(&p->storing, &p->op, p->store, p->j.child, built, 0, NULL,
			                                   &p->j.entry_stored[p->entry], child_stored);
		if (rc)
			fail(p, rc);
		return;
	}
	const registry_manifest *image = p->j.child ? p->j.child : p->j.top;
	if (registry_manifest_schema_version(image) == 1 && !(p->o.flags & REGISTRY_PULL_PRESERVE_DIGESTS)) {
		/* Converted from its layers in slices (loop/schema1.c), then stored
		 * with its entry as any converted image (loop/store.c). */
		int rc = registry__loop_schema1_convert(&p->s1conv, &p->op, p->store, image, s1_converted);
		if (rc)
			fail(p, rc);
		return;
	}
	if (registry_manifest_schema_version(image) == 1) {
		/* Kept as served (a signed one under the digest of its bytes), in
		 * the step, as the blocking pull stores it. */
		int rc = registry__pull_store_manifest(&p->j, image, &p->j.image_stored);
		finish_pull(p, rc, &p->j.image_stored, image);
		return;
	}
	/* The manifest and its index.json entry, their fsyncs off the step (loop/store.c). */
	int rc = registry__loop_store_image(&p->storing, &p->op, p->store, p->o.flags, image, pull_ref_name(p), stored);
	if (rc)
		fail(p, rc);
}

/* The index.json entry naming what @source became (@entry), then the
 * destination of registry_pull_to_start. */
static void finish_pull(pull_op *p, int rc, const registry__pull_stored *entry, const registry_manifest *source)
{
	char *digest = NULL;
	if (!rc)
		rc = registry__pull_index_entry(&p->j, entry, source, pull_ref_name(p), &digest);
	deliver(p, rc, digest);
}

/* The unpack's last slice ran (loop/unpack.c): the pull is delivered. */
static void unpacked(lunpack *u, int rc)
{
	pull_op *p = (pull_op *)(void *)((char *)u - offsetof(pull_op, unpack));
	registry__loop_unpack_stop(u);
	p->dest.written = 1; /* placed by the run: only the temporary store is left */
	char *digest = p->unpack_digest;
	p->unpack_digest = NULL;
	deliver(p, rc, digest);
}

/* A root filesystem from the temporary store: its manifest and config read
 * and the temporary tree made now, the layers in later steps. 0, or the
 * failure (@digest then still the caller's). */
static int unpack_begin(pull_op *p, char *digest)
{
	registry_unpack_options u;
	registry__pull_dest_unpack_options(&p->dest, &u);
	registry__unpack_run *run = NULL;
	int rc = registry__unpack_run_new(&run, p->dest.store, "image", p->dest.path,
	                                  p->dest.format == REGISTRY_IMAGE_FORMAT_ROOTFS_TAR, &u);
	if (rc)
		return rc;
	p->state = P_UNPACK;
	p->unpack_digest = digest;
	p->unpack = (lunpack){.L = p->op.loop, .run = run, .done = unpacked};
	registry__loop_unpack_go(&p->unpack);
	return 0;
}

static void referrers_stop(pull_op *p)
{
	if (p->referrers)
		registry__loop_walk_stop(p->referrers);
	free(p->referrers);
	p->referrers = NULL;
	free(p->referrers_digest);
	p->referrers_digest = NULL;
}

/* The referrers are in the store (or the walk failed): the pull is delivered. */
static void referrers_in(lwalk *lw, int rc)
{
	pull_op *p = lw->ud;
	char *digest = p->referrers_digest;
	p->referrers_digest = NULL;
	referrers_stop(p);
	p->referrers_done = 1;
	deliver(p, rc, digest);
}

/* REGISTRY_PULL_REFERRERS, as registry__pull_index_entry takes them after
 * the entry: those of what the registry served (the image, or the index
 * of every platform), recursively, by digest, into the store. 0, or the
 * failure (@digest then still the caller's). */
static int referrers_begin(pull_op *p, char *digest)
{
	const registry_manifest *source = p->j.child ? p->j.child : p->j.top;
	if (!(p->referrers = calloc(1, sizeof(*p->referrers))))
		return oom();
	p->referrers->ud = p;
	p->referrers_digest = digest; /* delivered by referrers_in */
	p->op.client = p->j.client; /* the endpoint that served it lists them */
	int rc = registry__loop_walk_pull(p->referrers, &p->op, p->repository, registry_manifest_digest(source),
	                                  p->store, &p->o, referrers_in);
	if (rc) {
		p->referrers_digest = NULL; /* not started: still the caller's */
		referrers_stop(p);
	}
	return rc;
}

/* ---- a docker export in slices (export_sink.c's deferred sink) ---- */

/* The export ended with @rc: the pull is delivered (the temporary store
 * goes there). */
static void export_end(pull_op *p, int rc)
{
	registry__sink_free(p->xsink); /* unless placed, what it wrote goes */
	p->xsink = NULL;
	p->dest.written = 1;
	char *digest = p->unpack_digest;
	p->unpack_digest = NULL;
	deliver(p, rc, digest);
}

static void export_synced(void *ud, int err)
{
	pull_op *p = ud;
	p->xsync = NULL;
	export_end(p, registry__sink_place(p->xsink, err));
}

/* One slice of the export's writes (a step of the timer); after the last,
 * its fsync through AIO, then the rename into place. */
static void export_slice(lwait *w)
{
	pull_op *p = (pull_op *)(void *)((char *)w - offsetof(pull_op, xwait));
	int rc = registry__sink_run(p->xsink, registry__loop_spent, p->op.loop);
	if (rc == 1) {
		registry__loop_wait(p->op.loop, &p->xwait, 0, export_slice);
		return;
	}
	int fd = -1;
	if (!rc && !(rc = registry__sink_finish(p->xsink, &fd)) &&
	    (p->xsync = registry__loop_fsync(p->op.loop, fd, 0, export_synced, p)))
		return;
	export_end(p, rc ? rc : REGISTRY_ENOMEM);
}

/* A docker destination from the temporary store: what to write is planned
 * now (small files kept, blobs named), written in later steps. 0, or the
 * failure (@digest then still the caller's). */
static int export_begin(pull_op *p, char *digest)
{
	int rc = registry__pull_dest_export_deferred(&p->dest, p->j.client, &p->xsink);
	if (rc)
		return rc;
	p->state = P_EXPORT;
	p->unpack_digest = digest;
	registry__loop_wait(p->op.loop, &p->xwait, 0, export_slice);
	return 0;
}

/* The pull into the store ended with @rc and the entry's @digest (taken):
 * the destination of registry_pull_to_start written, the op completed. */
static void deliver(pull_op *p, int rc, char *digest)
{
	if (!rc && (p->o.flags & REGISTRY_PULL_REFERRERS) && !p->referrers_done && !(rc = referrers_begin(p, digest)))
		return;
	if (p->has_dest && !rc && !p->dest.written && registry__pull_dest_unpacks(&p->dest) &&
	    !(rc = unpack_begin(p, digest)))
		return;
	if (p->has_dest && !rc && !p->dest.written && p->dest.tmp && !(rc = export_begin(p, digest)))
		return;
	if (p->has_dest && !rc) {
		/* One step: the temporary store removed (docs/event-loop.md). */
		p->state = P_EXPORT;
		p->has_dest = 0;
		p->store = NULL;
		rc = registry__pull_dest_finish(&p->dest, p->j.client, rc, &digest);
	}
	p->op.digest = rc ? NULL : digest;
	if (rc)
		registry_free(digest);
	if (p->state != P_EXPORT)
		p->state = P_DONE;
	registry__loop_op_complete(&p->op, rc);
}

/* ---- the operation ---------------------------------------------------------------- */

/* Every transfer and wait stopped, no callback; partial blobs kept for a resume. */
static void transfers_stop(pull_op *p)
{
	registry__loop_lreq_stop(&p->q);
	registry__loop_store_forget(p->storing);
	p->storing = NULL;
	registry__loop_schema1_forget(p->s1conv);
	p->s1conv = NULL;
	/* An unpack under way: its half-made tree goes (the store stays until pull_stop). */
	registry__loop_unpack_stop(&p->unpack);
	/* An export under way: what it wrote goes. */
	registry__loop_unwait(p->op.loop, &p->xwait);
	registry__loop_fsync_forget(p->xsync);
	p->xsync = NULL;
	registry__sink_free(p->xsink);
	p->xsink = NULL;
	free(p->unpack_digest);
	p->unpack_digest = NULL;
	referrers_stop(p);
	for (size_t i = 0; i < p->nblobs; i++) {
		pblob *b = &p->blobs[i];
		registry__loop_lreq_stop(&b->q);
		registry__loop_unwait(p->op.loop, &b->busy);
		registry__loop_commit_forget(b->commit);
		b->commit = NULL;
		registry__loop_dw_abort(b->dw);
		registry__loop_dw_abort(b->flushing);
		b->dw = b->flushing = NULL;
		if (b->w) {
			/* Keep what we have for a resume; nothing half-written is committed. */
			registry__blob_writer_abort(b->w, 1);
			b->w = NULL;
		}
	}
}

static void pull_stop(registry_op *op)
{
	pull_op *p = (pull_op *)(void *)op;
	transfers_stop(p);
	registry__loop_verify_free(p->verify);
	p->verify = NULL;
	if (p->has_dest) {
		/* A failed or canceled pull_to: its temporary store goes, as the blocking call's. */
		p->has_dest = 0;
		p->store = NULL;
		registry__pull_dest_free(&p->dest);
	}
}

static void pull_free(registry_op *op)
{
	pull_op *p = (pull_op *)(void *)op;
	job_reset(p);
	registry__loop_verify_free(p->verify);
	registry__endpoints_free(&p->eps);
	registry_reference_free(p->ref);
	free(p->ref_name);
	free(p->dest_path);
	free(p->blob_repository);
	free(p->blob_digest);
	free(op->digest);
}

/*
 * As registry_pull() walks its endpoints: a mirror's failure that is worth
 * it moves on to the next endpoint (at the step's end, from its scheme
 * probe on); the primary's failure after mirrors failed names theirs too.
 * Never once the destination is being written.
 */
static int pull_fallback(registry_op *op, int rc)
{
	pull_op *p = (pull_op *)(void *)op;
	/* A policy's verdict is on the image, not on a mirror: it stands. */
	if (p->verifying || p->state == P_UNPACK || p->state == P_EXPORT || p->ep >= p->eps.n)
		return 0;
	const registry__endpoint *ep = &p->eps.items[p->ep];
	if (!ep->mirror || p->ep + 1 >= p->eps.n || !registry__endpoint_fallback(rc)) {
		if (!ep->mirror && *p->tried)
			registry__endpoints_report(rc, p->tried);
		return 0;
	}
	registry__endpoint_failed(p->tried, sizeof(p->tried), ep);
	registry__error_clear();
	transfers_stop(p);
	p->ep++;
	p->state = P_BASE;
	op->client = p->eps.items[p->ep].client;
	op->base_known = endpoint_begin;
	op->kick = 1;
	op->loop->deferred = 1;
	return 1;
}

static const registry__op_kind pull_kind = {pull_stop, pull_free};

/* The checks of registry_pull_start() and registry_pull_to_start(), and a
 * copy of the caller's version's fields of @options in *@o. */
static int check_start(const char *fn, registry_op **out, registry_loop *loop, registry_client *client,
                       const registry_reference *ref, const void *dest, const registry_pull_options *options,
                       registry_op_done_cb done, registry_pull_options *o)
{
	if (out)
		*out = NULL;
	if (!out || !loop || !client || !ref || !dest || !done)
		return registry__fail(REGISTRY_EINVAL, "%s: NULL argument", fn);
	int rc = registry__ops_check_ref_registry(client, ref);
	if (rc)
		return rc;
	if ((rc = registry__pull_options_full(fn, options, o)))
		return rc;
	if (!registry_reference_digest(ref) && !registry_reference_tag(ref))
		return registry__fail(REGISTRY_EINVAL, "pull: reference without tag or digest");
	return 0;
}

static int pull_new(pull_op **out, registry_loop *loop, registry_client *client, const registry_reference *ref,
                    const registry_pull_options *o, registry_op_done_cb done, void *userdata)
{
	registry_op *op = NULL;
	int rc = registry__loop_op_new(&op, loop, client, &pull_kind, sizeof(pull_op), done, userdata);
	if (rc)
		return rc;
	pull_op *p = (pull_op *)(void *)op;
	op->fallback = pull_fallback;
	p->o = *o;
	p->primary = client;
	p->state = P_BASE;
	if ((rc = registry_reference_dup(&p->ref, ref)) ||
	    (rc = registry__pull_endpoints(&p->eps, client, ref))) {
		registry_op_free(op);
		return rc;
	}
	*out = p;
	return 0;
}

/* registry_pull_to_start's destination for @ref (the pinned one once a
 * policy accepted it), the image named p->ref_name (as the caller wrote
 * it): the store the pull writes, the options the format asks. */
static int dest_open(pull_op *p, const registry_reference *ref, const char *dest, int format)
{
	int rc = registry__pull_dest_open(&p->dest, ref, p->ref_name, dest, format, &p->o);
	if (rc) {
		registry__pull_dest_free(&p->dest);
		return rc;
	}
	const registry_policy *policy = p->o.policy;
	p->has_dest = 1;
	p->store = p->dest.store;
	p->o = p->dest.o;
	p->o.policy = policy;
	if (p->dest.name != p->ref_name) {
		/* A Docker format's temporary store names it its own way. */
		char *name = registry__strdup(p->dest.name);
		if (!name)
			return oom();
		free(p->ref_name);
		p->ref_name = name;
		p->dest.name = name;
	}
	return 0;
}

/* The policy's verdict (loop/verify.c): a failure is the pull's, as the
 * blocking gate's is; else the pull of the digest verified, from its
 * endpoints (a mirror too), the index entry named as the caller wrote it. */
static void verified(registry_op *op, int rc, registry_reference *pinned)
{
	pull_op *p = (pull_op *)(void *)op;
	const char *as_written = registry_reference_digest(p->ref) ? registry_reference_digest(p->ref)
	                                                           : registry_reference_tag(p->ref);
	if (!rc && !p->ref_name && !(p->ref_name = registry__strdup(as_written)))
		rc = oom();
	if (!rc) {
		registry__endpoints_free(&p->eps);
		rc = registry__pull_endpoints(&p->eps, p->primary, pinned);
	}
	if (rc) {
		registry_reference_free(pinned);
		fail(p, rc);
		return;
	}
	p->verifying = 0;
	registry_reference_free(p->ref);
	p->ref = pinned;
	if (p->dest_path && (rc = dest_open(p, pinned, p->dest_path, p->dest_format))) {
		fail(p, rc);
		return;
	}
	p->op.client = p->eps.items[0].client;
	registry__loop_with_base(&p->op, endpoint_begin);
}

/* The caller's client knows its scheme: verify the image. */
static void verify_begin(registry_op *op)
{
	pull_op *p = (pull_op *)(void *)op;
	int rc = registry__loop_verify_start(&p->verify, op, p->ref, p->o.policy, verified);
	if (rc)
		fail(p, rc);
}

/* From the first endpoint's scheme probe on (with a policy, from the
 * verification on the caller's client). */
static void pull_go(pull_op *p)
{
	registry_loop *loop = p->op.loop;
	p->verifying = p->o.policy != NULL;
	p->op.client = p->verifying ? p->primary : p->eps.items[0].client;
	int64_t t = registry__loop_step_begin(loop);
	registry__loop_with_base(&p->op, p->verifying ? verify_begin : endpoint_begin);
	registry__loop_step_end(loop, t);
}

int registry_pull_start(registry_op **out, registry_loop *loop, registry_client *client,
                        const registry_reference *ref, registry_store *store, const char *ref_name,
                        const registry_pull_options *options, registry_op_done_cb done, void *userdata)
{
	REGISTRY__ENTER(rc);
	registry_pull_options o;
	if ((rc = check_start("registry_pull_start", out, loop, client, ref, store, options, done, &o)) ||
	    (rc = registry__pull_devices_check("registry_pull_start", o.flags, -1)))
		return rc;
	pull_op *p = NULL;
	if ((rc = pull_new(&p, loop, client, ref, &o, done, userdata)))
		return rc;
	p->store = store;
	if (ref_name && !(p->ref_name = registry__strdup(ref_name))) {
		registry_op_free(&p->op);
		return oom();
	}
	*out = &p->op;
	pull_go(p);
	return 0;
}

int registry_pull_to_start(registry_op **out, registry_loop *loop, registry_client *client,
                           const registry_reference *ref, const char *dest, int format,
                           const registry_pull_options *options, registry_op_done_cb done, void *userdata)
{
	REGISTRY__ENTER(rc);
	registry_pull_options o;
	if ((rc = check_start("registry_pull_to_start", out, loop, client, ref, dest, options, done, &o)))
		return rc;
	if (!*dest)
		return registry__fail(REGISTRY_EINVAL, "registry_pull_to_start: empty destination");
	if (format != REGISTRY_IMAGE_FORMAT_OCI && format != REGISTRY_IMAGE_FORMAT_DOCKER_DIR &&
	    format != REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE && format != REGISTRY_IMAGE_FORMAT_ROOTFS &&
	    format != REGISTRY_IMAGE_FORMAT_ROOTFS_TAR)
		return registry__fail(REGISTRY_EINVAL, "registry_pull_to_start: unknown format %d", format);
	if ((rc = registry__pull_devices_check("registry_pull_to_start", o.flags, format)))
		return rc;
	pull_op *p = NULL;
	if ((rc = pull_new(&p, loop, client, ref, &o, done, userdata)))
		return rc;
	/* As registry_pull_to(): the layout names the image as the caller wrote it. */
	const char *name = registry_reference_digest(ref) ? registry_reference_digest(ref) : registry_reference_tag(ref);
	if (!(p->ref_name = registry__strdup(name))) {
		registry_op_free(&p->op);
		return oom();
	}
	if (o.policy) {
		/* As registry_pull_to(): nothing is touched before the policy
		 * accepts the image; the destination is opened then (verified()). */
		if (!(p->dest_path = registry__strdup(dest))) {
			registry_op_free(&p->op);
			return oom();
		}
		p->dest_format = format;
	} else if ((rc = dest_open(p, ref, dest, format))) {
		registry_op_free(&p->op);
		return rc;
	}
	*out = &p->op;
	pull_go(p);
	return 0;
}

static void blob_base_known(registry_op *op)
{
	blobs_go((pull_op *)(void *)op);
}

int registry_blob_fetch_start(registry_op **out, registry_loop *loop, registry_client *client,
                              const char *repository, const char *digest, int64_t expected_size,
                              registry_store *store, const registry_blob_fetch_options *opts,
                              registry_op_done_cb done, void *userdata)
{
	REGISTRY__ENTER(rc);
	if (out)
		*out = NULL;
	static const registry_blob_fetch_options defaults = REGISTRY_BLOB_FETCH_OPTIONS_INIT;
	if (!opts)
		opts = &defaults;
	if (!out || !loop || !client || !repository || !digest || !store || !done)
		return registry__fail(REGISTRY_EINVAL, "registry_blob_fetch_start: NULL argument");
	/* registry_blob_fetch's checks, before anything starts. */
	if ((rc = registry__options_check("registry_blob_fetch_start", opts->version,
	                                  REGISTRY_BLOB_FETCH_OPTIONS_VERSION, opts->flags, 0)) ||
	    (rc = registry_digest_validate(digest)) || (rc = registry_reference_validate_repository(repository)))
		return rc;
	registry_op *op = NULL;
	if ((rc = registry__loop_op_new(&op, loop, client, &pull_kind, sizeof(pull_op), done, userdata)))
		return rc;
	pull_op *p = (pull_op *)(void *)op;
	p->blob_only = 1;
	p->store = store;
	p->o.progress = opts->progress;
	p->o.userdata = opts->userdata;
	if (!(p->blob_repository = registry__strdup(repository)) || !(p->blob_digest = registry__strdup(digest)) ||
	    !(p->blobs = calloc(1, sizeof(*p->blobs)))) {
		registry_op_free(op);
		return oom();
	}
	p->repository = p->blob_repository;
	snprintf(p->scope, sizeof(p->scope), "repository:%s:pull", p->repository);
	add_blob(p, p->blob_digest, expected_size < 0 ? -1 : expected_size);
	*out = op;
	int64_t t = registry__loop_step_begin(loop);
	registry__loop_with_base(op, blob_base_known);
	registry__loop_step_end(loop, t);
	return 0;
}

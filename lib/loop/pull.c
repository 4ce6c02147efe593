/*
 * Pull into a store on the caller's event loop (registry_pull_start): the
 * same steps as registry_pull (lib/ops/pull.c), as a state machine that
 * never blocks:
 *
 *   (scheme probe, once per client) ─► manifest ─► (index: platform's child)
 *       ─► blobs, up to max_parallel at once, each received, hashed and
 *          written as the bytes arrive, resumed from a kept partial
 *       ─► manifest and index.json entry (registry__pull_store_image)
 *
 * Judging the manifest answer, storing the image and its index entry are
 * the blocking pull's own functions, so results, digests and error records
 * are the same.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "blob/upload_impl.h"
#include "loop_impl.h"
#include "manifest/manifest_impl.h"
#include "ops/ops_impl.h"
#include "ops/pull_impl.h"
#include "store/store_writer.h"

enum { P_BASE, P_MANIFEST, P_CHILD, P_BLOBS, P_DONE };
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
} pblob;

struct pull_op {
	registry_op op;
	registry_reference *ref;
	char *ref_name;
	registry_store *store;
	registry_pull_options o;
	const char *repository;
	char scope[600];
	int state;
	lreq q;           /* the manifests */
	registry_manifest *top, *child;
	pblob *blobs;
	size_t nblobs, running, finished;
	lstore *storing; /* the manifest and index entry, at the end */
	registry__progress_ctx prog;
};

static void next_blobs(pull_op *p);
static void start_manifest(pull_op *p, const char *reference);

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

static void pull_base_known(registry_op *op)
{
	start_manifest((pull_op *)(void *)op, NULL);
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

static int add_blob(pull_op *p, const char *digest, int64_t size)
{
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

/* The image is known: its config and layers (foreign ones stay at their URLs). */
static void start_blobs(pull_op *p, const registry_manifest *m)
{
	if (registry_manifest_schema_version(m) == 1) {
		fail(p, registry__fail(REGISTRY_EUNSUPPORTED, "%s: schema1 images are not pulled in loop mode "
		                       "yet (use registry_pull)", registry_manifest_digest(m)));
		return;
	}
	size_t n = registry_manifest_layer_count(m) + 1;
	if (!(p->blobs = calloc(n, sizeof(*p->blobs)))) {
		fail(p, oom());
		return;
	}
	int rc = 0;
	const registry_descriptor *config = registry_manifest_config(m);
	if (config)
		rc = add_blob(p, registry_descriptor_digest(config), registry_descriptor_size(config));
	for (size_t i = 0; !rc && i < registry_manifest_layer_count(m); i++) {
		const registry_descriptor *d = registry_manifest_layer(m, i);
		if (registry_descriptor_url_count(d) == 0)
			rc = add_blob(p, registry_descriptor_digest(d), registry_descriptor_size(d));
	}
	if (rc) {
		fail(p, rc);
		return;
	}
	int64_t total = 0;
	for (size_t i = 0; i < p->nblobs; i++)
		total = (total < 0 || p->blobs[i].size < 0) ? -1 : total + p->blobs[i].size;
	p->prog = (registry__progress_ctx){.cb = p->o.progress, .ud = p->o.userdata, .overall_total = total,
	                                   .blobs_total = p->nblobs};
	p->state = P_BLOBS;
	next_blobs(p);
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
		p->child = m;
		if (registry_manifest_kind(m) != REGISTRY_MANIFEST_IMAGE) {
			fail(p, registry__fail(REGISTRY_EUNSUPPORTED, "%s: an index inside an index is not supported",
			                       registry_manifest_digest(m)));
			return;
		}
		start_blobs(p, m);
		return;
	}
	p->top = m;
	if (registry_manifest_kind(m) == REGISTRY_MANIFEST_IMAGE) {
		start_blobs(p, m);
		return;
	}
	const registry_descriptor *d = NULL;
	if ((rc = registry_manifest_select_platform(&d, m, p->o.platform))) {
		fail(p, rc);
		return;
	}
	start_manifest(p, registry_descriptor_digest(d));
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
			int rc = registry__blob_writer_restart(b->w);
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
		return registry__fail(REGISTRY_ETOOLARGE, "blob %s: more than its %lld bytes", b->digest,
		                      (long long)b->size);
	int rc = registry__blob_writer_write(b->w, data, len);
	if (rc)
		return rc;
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
		int rc = registry__blob_writer_restart(b->w);
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
	int rc = registry__blob_writer_restart(b->w);
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

static void blob_finished(pblob *b, int rc)
{
	pull_op *p = b->p;
	if (b->state == B_RUNNING)
		p->running--;
	b->state = B_DONE;
	registry__loop_lreq_end(&b->q);
	p->finished++;
	p->prog.blobs_done++;
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

static void blob_done(lreq *q, int rc)
{
	pblob *b = q->ud;
	long status = q->resp.status;
	if (!rc && status >= 200 && status < 300) {
		const char *served = q->resp.docker_content_digest;
		if (served && registry_digest_validate(served) == 0 && strcmp(served, b->digest) != 0) {
			rc = registry__fail(REGISTRY_EDIGEST, "registry served %s when asked for %s", served, b->digest);
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
		snprintf(what, sizeof(what), "fetching blob %s", b->digest);
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

static void blob_start(pblob *b)
{
	pull_op *p = b->p;
	int already = 0;
	int64_t offset = 0;
	int rc = registry__blob_writer_open(&b->w, p->store, b->digest, b->size, &offset, &already);
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
	if (b->w) /* the commit's AIO fsync writes it back, off the step */
		registry__blob_writer_no_writeback(b->w);
	char path[800];
	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", p->repository, b->digest);
	b->state = B_RUNNING;
	p->running++;
	if (!rc)
		rc = begin_at(p, &b->q, path, p->scope, b, blob_done);
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

static void busy_fired(lwait *w)
{
	pblob *b = (pblob *)((char *)w - offsetof(pblob, busy));
	b->state = B_QUEUED;
	next_blobs(b->p);
}

static void stored(registry_op *op, int rc)
{
	pull_op *p = (pull_op *)(void *)op;
	p->storing = NULL;
	p->state = P_DONE;
	registry__loop_op_complete(op, rc);
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
	if (p->storing)
		return;
	const registry_manifest *image = p->child ? p->child : p->top;
	const char *ref_name = p->ref_name;
	if (!ref_name)
		ref_name = registry_reference_digest(p->ref) ? registry_reference_digest(p->ref)
		                                             : registry_reference_tag(p->ref);
	int rc = registry__loop_store_image(&p->storing, &p->op, p->store, p->o.flags, image, ref_name, stored);
	if (rc)
		fail(p, rc);
}

/* ---- the operation ---------------------------------------------------------------- */

static void pull_stop(registry_op *op)
{
	pull_op *p = (pull_op *)(void *)op;
	registry__loop_lreq_stop(&p->q);
	registry__loop_store_forget(p->storing);
	p->storing = NULL;
	for (size_t i = 0; i < p->nblobs; i++) {
		pblob *b = &p->blobs[i];
		registry__loop_lreq_stop(&b->q);
		registry__loop_unwait(op->loop ? op->loop : NULL, &b->busy);
		registry__loop_commit_forget(b->commit);
		b->commit = NULL;
		if (b->w) {
			/* Keep what we have for a resume; nothing half-written is committed. */
			registry__blob_writer_abort(b->w, 1);
			b->w = NULL;
		}
	}
}

static void pull_free(registry_op *op)
{
	pull_op *p = (pull_op *)(void *)op;
	registry__loop_lreq_end(&p->q);
	for (size_t i = 0; i < p->nblobs; i++)
		registry__loop_lreq_end(&p->blobs[i].q);
	free(p->blobs);
	registry_manifest_free(p->top);
	registry_manifest_free(p->child);
	registry_reference_free(p->ref);
	free(p->ref_name);
	free(op->digest);
}

static const registry__op_kind pull_kind = {pull_stop, pull_free};

/*
 * Fail closed: a field a later version of the options adds must not be
 * accepted and ignored, so it must be unset here until this code applies
 * it. Version 2 added the signature policy; an older caller's struct ends
 * before it and is not read past its end.
 */
static int later_fields_unset(const registry_pull_options *o)
{
	return o->version < 2 || o->policy == NULL;
}

int registry_pull_start(registry_op **out, registry_loop *loop, registry_client *client,
                        const registry_reference *ref, registry_store *store, const char *ref_name,
                        const registry_pull_options *options, registry_op_done_cb done, void *userdata)
{
	REGISTRY__ENTER(rc);
	if (out)
		*out = NULL;
	if (!out || !loop || !client || !ref || !store || !done)
		return registry__fail(REGISTRY_EINVAL, "registry_pull_start: NULL argument");
	if ((rc = registry__ops_check_ref_registry(client, ref)))
		return rc;
	registry_pull_options defaults = REGISTRY_PULL_OPTIONS_INIT;
	if (!options)
		options = &defaults;
	if ((rc = registry__options_check("registry_pull_start", options->version, REGISTRY_PULL_OPTIONS_VERSION,
	                                  options->flags,
	                                  REGISTRY_PULL_PRESERVE_DIGESTS | REGISTRY_PULL_ALL_PLATFORMS |
	                                          REGISTRY_PULL_REFERRERS | REGISTRY_PULL_FOREIGN_LAYERS)) ||
	    (rc = registry__platform_check("registry_pull_start", options->platform)))
		return rc;
	if (!later_fields_unset(options))
		return registry__fail(REGISTRY_EUNSUPPORTED, "registry_pull_start: a field of "
		                      "registry_pull_options version %u that loop mode does not apply yet "
		                      "is set (only version 1's fields are)", options->version);
	/* Flags this library knows but loop mode does not apply yet: refused,
	 * never ignored (an unknown flag is EINVAL above). */
	if (options->flags & (REGISTRY_PULL_ALL_PLATFORMS | REGISTRY_PULL_REFERRERS | REGISTRY_PULL_FOREIGN_LAYERS))
		return registry__fail(REGISTRY_EUNSUPPORTED, "registry_pull_start: flags 0x%x (all platforms, "
		                      "referrers, foreign layers) are not in loop mode yet",
		                      options->flags & (REGISTRY_PULL_ALL_PLATFORMS | REGISTRY_PULL_REFERRERS |
		                                        REGISTRY_PULL_FOREIGN_LAYERS));
	if (!registry_reference_digest(ref) && !registry_reference_tag(ref))
		return registry__fail(REGISTRY_EINVAL, "pull: reference without tag or digest");
	registry_op *op = NULL;
	if ((rc = registry__loop_op_new(&op, loop, client, &pull_kind, sizeof(pull_op), done, userdata)))
		return rc;
	pull_op *p = (pull_op *)(void *)op;
	p->store = store;
	p->o.version = REGISTRY_PULL_OPTIONS_VERSION;
	/* Version 1's fields only: an older caller's struct ends there, and
	 * later fields were refused above. */
	p->o.flags = options->flags;
	p->o.platform = options->platform;
	p->o.max_manifest_size = options->max_manifest_size;
	p->o.progress = options->progress;
	p->o.userdata = options->userdata;
	if ((rc = registry_reference_dup(&p->ref, ref)) ||
	    (ref_name && !(p->ref_name = registry__strdup(ref_name)))) {
		rc = rc ? rc : oom();
		registry_op_free(op);
		return rc;
	}
	p->repository = registry_reference_repository(p->ref);
	snprintf(p->scope, sizeof(p->scope), "repository:%s:pull", p->repository);
	p->state = P_BASE;
	*out = op;
	int64_t t = registry__loop_step_begin(loop);
	registry__loop_with_base(op, pull_base_known);
	registry__loop_step_end(loop, t);
	return 0;
}

/*
 * Copy an image from one registry (or repository) to another without
 * touching the disk: manifests are fetched, verified and pushed byte for
 * byte (so every digest stays the same); blobs the target has are skipped,
 * blobs of the same registry are mounted, and the rest are relayed.
 *
 * Relaying a blob: with two client handles, a producer thread runs
 * registry_blob_fetch_to() on the source handle and writes into a bounded
 * ring buffer (RING_SIZE); the upload reads from the ring on the caller's
 * thread, streaming a monolithic PUT or filling one chunk buffer at a
 * time. Memory per blob is the ring plus at most one chunk. The fetch
 * verifies the source's digest before the last byte leaves the ring, and
 * the upload hashes what it sends as well. When the upload must go back
 * (a retried PUT, a lost session) the producer is stopped and started again
 * from byte 0, and the bytes already sent are skipped.
 *
 * The producer uses a private copy of the source handle (made once per
 * copy, registry__client_clone, and taken back into the handle at the end),
 * so that no handle of the caller's is used on another thread. The copy's
 * cancel hook reads a flag; the caller's thread asks the source handle's
 * own hook (about ten times a second, in pipe_read) and sets the flag.
 *
 * With one handle for both sides (two threads must not share a handle) the
 * blob is relayed chunk by chunk instead: a ranged GET fills the chunk
 * buffer, then a PATCH sends it; never both at once.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/fanout.h"
#include "ops/ops_impl.h"
#include "ops/push_impl.h"
#include "manifest/manifest_impl.h"
#include "transport/client_impl.h"

#define RING_SIZE ((size_t)1 << 20)

/* ---- Relay through a thread ---------------------------------------------- */

typedef struct pipe_src {
	registry_client *c;
	const char *repo, *digest;
	int64_t size;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *ring;
	size_t head, len;
	int running; /* a producer thread exists (joinable) */
	int done, stop, rc;
	char message[1024];
	int http_status;
	pthread_t th;
	registry_client *user; /* the caller's source handle: its hook is asked */
	double last_poll;
	atomic_int canceled;
} pipe_src;

/* The relay copy's cancel hook. */
static int relay_cancel(void *ud)
{
	pipe_src *p = ud;
	return atomic_load(&p->canceled);
}

/* On the caller's thread, unlocked: the real hook, at most every 100 ms. */
static void pipe_poll_cancel(pipe_src *p)
{
	if (!p->user->cancel || atomic_load(&p->canceled))
		return;
	double n = registry__now_s();
	if (n - p->last_poll < 0.1)
		return;
	p->last_poll = n;
	if (registry__client_canceled(p->user))
		atomic_store(&p->canceled, 1);
}

static int pipe_write(const void *data, size_t len, void *ud)
{
	pipe_src *p = ud;
	const char *d = data;
	pthread_mutex_lock(&p->mu);
	while (len > 0) {
		while (p->len == RING_SIZE && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop) {
			pthread_mutex_unlock(&p->mu);
			return 1;
		}
		size_t tail = (p->head + p->len) % RING_SIZE;
		size_t n = RING_SIZE - p->len;
		if (n > RING_SIZE - tail)
			n = RING_SIZE - tail;
		if (n > len)
			n = len;
		memcpy(p->ring + tail, d, n);
		p->len += n;
		d += n;
		len -= n;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return 0;
}

static void *producer(void *arg)
{
	pipe_src *p = arg;
	int rc = registry_blob_fetch_to(p->c, p->repo, p->digest, p->size, pipe_write, p, NULL);
	const registry_error *e = registry_error_last();
	pthread_mutex_lock(&p->mu);
	p->done = 1;
	p->rc = rc;
	if (rc) {
		snprintf(p->message, sizeof(p->message), "%s", registry_error_message(e));
		p->http_status = registry_error_http_status(e);
	}
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void pipe_stop(pipe_src *p)
{
	if (!p->running)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->th, NULL);
	p->running = 0;
	p->head = p->len = 0;
	p->done = p->stop = p->rc = 0;
}

static int pipe_start(pipe_src *p)
{
	if (!p->ring && !(p->ring = malloc(RING_SIZE)))
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	p->head = p->len = 0;
	p->done = p->stop = p->rc = 0;
	if (pthread_create(&p->th, NULL, producer, p) != 0)
		return registry__fail(REGISTRY_EIO, "cannot start a thread to fetch %s", p->digest);
	p->running = 1;
	return 0;
}

static int64_t pipe_read(void *buf, size_t len, void *ud)
{
	pipe_src *p = ud;
	if (!p->running) {
		int rc = pipe_start(p);
		if (rc)
			return rc;
	}
	pipe_poll_cancel(p);
	pthread_mutex_lock(&p->mu);
	while (p->len == 0 && !p->done) {
		registry__cond_wait_ms(&p->cv, &p->mu, 100);
		if (p->len == 0 && !p->done) {
			pthread_mutex_unlock(&p->mu);
			pipe_poll_cancel(p);
			pthread_mutex_lock(&p->mu);
		}
	}
	if (p->len > 0) {
		size_t n = p->len;
		if (n > RING_SIZE - p->head)
			n = RING_SIZE - p->head;
		if (n > len)
			n = len;
		memcpy(buf, p->ring + p->head, n);
		p->head = (p->head + n) % RING_SIZE;
		p->len -= n;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		return (int64_t)n;
	}
	int rc = p->rc;
	pthread_mutex_unlock(&p->mu);
	if (!rc)
		return 0;
	registry__fail(rc, "copying blob %s: %s", p->digest, p->message);
	if (p->http_status)
		registry__error_set_http(p->http_status, NULL);
	return rc;
}

/* Start again from byte 0 and skip @offset bytes. */
static int pipe_seek(int64_t offset, void *ud)
{
	pipe_src *p = ud;
	pipe_stop(p);
	char tmp[65536];
	while (offset > 0) {
		int64_t n = pipe_read(tmp, offset < (int64_t)sizeof(tmp) ? (size_t)offset : sizeof(tmp), p);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return registry__fail(REGISTRY_EIO, "copying blob %s: the source ended early", p->digest);
		offset -= n;
	}
	return 0;
}

/* ---- Relay by ranged GETs (one handle) ----------------------------------- */

typedef struct ranged_src {
	registry_client *c;
	const char *repo, *digest;
	int64_t size, pos;
	/* the request in flight */
	char *buf;
	size_t want, got;
	int64_t skip; /* a server that ignored Range: bytes to drop first */
	int enough;
} ranged_src;

static int ranged_sink(const char *data, size_t len, void *ud)
{
	ranged_src *r = ud;
	if (r->skip > 0) {
		size_t drop = (int64_t)len < r->skip ? len : (size_t)r->skip;
		r->skip -= (int64_t)drop;
		data += drop;
		len -= drop;
	}
	size_t n = r->want - r->got;
	if (n > len)
		n = len;
	memcpy(r->buf + r->got, data, n);
	r->got += n;
	if (r->got == r->want && n < len) {
		r->enough = 1; /* more than asked: stop reading this response */
		return REGISTRY_ECANCELED;
	}
	return 0;
}

static int64_t ranged_read(void *buf, size_t len, void *ud)
{
	ranged_src *r = ud;
	if (r->size >= 0 && r->pos >= r->size)
		return 0;
	if (r->size >= 0 && (int64_t)len > r->size - r->pos)
		len = (size_t)(r->size - r->pos);
	if (len == 0)
		return 0;
	char path[1000], scope[600], range[96];
	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", r->repo, r->digest);
	snprintf(scope, sizeof(scope), "repository:%s:pull", r->repo);
	snprintf(range, sizeof(range), "Range: bytes=%lld-%lld", (long long)r->pos,
	         (long long)(r->pos + (int64_t)len - 1));
	const char *const headers[] = {range, NULL};
	r->buf = buf;
	r->want = len;
	r->got = 0;
	r->skip = 0;
	r->enough = 0;
	registry__request req = {.url = path, .scope = scope, .headers = headers, .sink = ranged_sink,
	                         .sink_ud = r};
	registry__response resp;
	registry__response_init(&resp);
	int rc = registry__client_do(r->c, &req, &resp);
	if (rc == REGISTRY_ECANCELED && r->enough) {
		registry__error_clear();
		rc = 0;
	}
	if (!rc && resp.status == 416) {
		registry__response_free(&resp);
		return 0; /* past the end (size unknown) */
	}
	char what[800];
	snprintf(what, sizeof(what), "fetching a range of blob %s", r->digest);
	if (!rc && resp.status == 206) {
		int64_t start = -1;
		if (!resp.content_range || registry__content_range_start(resp.content_range, &start) != 0 ||
		    start != r->pos)
			rc = registry__fail(REGISTRY_EPROTOCOL, "%s: unexpected Content-Range", what);
	} else if (!rc && resp.status == 200 && r->pos > 0) {
		/* Range ignored: the whole blob came; take our part of it. */
		registry__response_free(&resp);
		registry__response_init(&resp);
		r->got = 0;
		r->skip = r->pos;
		r->enough = 0;
		const char *const none[] = {NULL};
		req.headers = none;
		rc = registry__client_do(r->c, &req, &resp);
		if (rc == REGISTRY_ECANCELED && r->enough) {
			registry__error_clear();
			rc = 0;
		}
		if (!rc && resp.status != 200)
			rc = registry__response_fail(&resp, what);
	} else if (!rc && resp.status != 200) {
		rc = registry__response_fail(&resp, what);
	}
	registry__response_free(&resp);
	if (rc)
		return rc;
	r->pos += (int64_t)r->got;
	return (int64_t)r->got;
}

static int ranged_seek(int64_t offset, void *ud)
{
	ranged_src *r = ud;
	r->pos = offset;
	return 0;
}

/* ---- The copy ------------------------------------------------------------ */

typedef struct copy_ctx {
	registry_client *src, *dst;
	registry_client *relay; /* the producer's copy of src, made at the first relay */
	const char *src_repo, *dst_repo;
	int same_registry;
	registry__push_settings set;
	registry__progress_ctx prog;
	registry__blob_list blobs; /* every blob met so far, each once */
	size_t copied;             /* blobs[0 .. copied) are on the target */
	size_t mounted; /* blobs mounted (for tests and diagnostics) */
} copy_ctx;

static int copy_blob(copy_ctx *cx, const registry__blob_item *b)
{
	if (b->foreign) {
		/* Foreign layers live elsewhere; registries accept them absent. */
		cx->prog.blobs_done++;
		registry__progress_report(&cx->prog, b->digest, REGISTRY_PROGRESS_SKIPPED, 0, b->size);
		return cx->prog.canceled ? registry__fail(REGISTRY_ECANCELED, "copy canceled") : 0;
	}
	registry__upload_params up = {.repository = cx->dst_repo, .digest = b->digest, .size = b->size,
	                              .chunk_size = cx->set.chunk_size, .progress = &cx->prog};
	if (cx->same_registry && strcmp(cx->src_repo, cx->dst_repo) != 0)
		up.mount_from = cx->src_repo;
	int rc, outcome = 0;
	if (cx->src != cx->dst) {
		if (!cx->relay && (rc = registry__client_clone(&cx->relay, cx->src)))
			return rc;
		pipe_src p = {.c = cx->relay, .user = cx->src, .repo = cx->src_repo, .digest = b->digest,
		              .size = b->size};
		atomic_init(&p.canceled, 0);
		cx->relay->cancel = relay_cancel; /* no producer runs: safe to set */
		cx->relay->cancel_ud = &p;
		pthread_mutex_init(&p.mu, NULL);
		registry__cond_init(&p.cv);
		registry__upload_source s = {pipe_read, pipe_seek, &p};
		rc = registry__blob_upload(cx->dst, &up, &s, &outcome);
		pipe_stop(&p);
		cx->relay->cancel = NULL; /* p is gone after this call */
		cx->relay->cancel_ud = NULL;
		pthread_cond_destroy(&p.cv);
		pthread_mutex_destroy(&p.mu);
		free(p.ring);
	} else {
		ranged_src r = {.c = cx->src, .repo = cx->src_repo, .digest = b->digest, .size = b->size};
		registry__upload_source s = {ranged_read, ranged_seek, &r};
		up.force_chunked = 1;
		rc = registry__blob_upload(cx->dst, &up, &s, &outcome);
	}
	if (!rc && outcome == REGISTRY__UPLOAD_MOUNTED)
		cx->mounted++;
	return rc;
}

/* The blobs of the list not copied yet. Progress totals cover what is known
 * so far: an index larger than one batch adds to them batch by batch. */
static int copy_blobs(copy_ctx *cx)
{
	cx->prog.blobs_total = cx->blobs.n;
	cx->prog.overall_total = registry__blob_list_total(&cx->blobs);
	int rc = 0;
	for (; cx->copied < cx->blobs.n && !rc; cx->copied++)
		rc = copy_blob(cx, &cx->blobs.items[cx->copied]);
	return rc;
}

/* Every child of @index, each once, batch by batch (lib/ops/fanout.h):
 * its blobs, then the child itself, so that the memory held is the fanout's
 * budget and not every child at once. */
static int copy_children(copy_ctx *cx, const registry_manifest *index)
{
	registry__fanout f;
	int rc = registry__fanout_init(&f, cx->src, cx->src_repo, index, 0);
	while (!rc && !(rc = registry__fanout_next(&f)) && f.n) {
		for (size_t k = 0; k < f.n && !rc; k++)
			rc = registry__blob_list_add_image(&cx->blobs, f.batch[k]);
		if (!rc)
			rc = copy_blobs(cx);
		for (size_t k = 0; k < f.n && !rc; k++)
			rc = registry_manifest_push(NULL, cx->dst, cx->dst_repo,
			                            registry_manifest_digest(f.batch[k]), f.batch[k]);
	}
	registry__fanout_free(&f);
	return rc;
}

/* The root to copy: the source's manifest, one platform's of its index
 * (options->platform, NULL: the host's, as pull does), or the index itself
 * with REGISTRY_COPY_ALL_PLATFORMS. */
static int fetch_root(copy_ctx *cx, const registry_reference *ref, registry_manifest **out)
{
	const char *reference = registry_reference_digest(ref);
	if (!reference)
		reference = registry_reference_tag(ref);
	registry_manifest *m = NULL;
	int rc = registry_manifest_fetch(&m, cx->src, cx->src_repo, reference, NULL);
	if (rc)
		return rc;
	if (registry_manifest_kind(m) == REGISTRY_MANIFEST_INDEX && !(cx->set.flags & REGISTRY_COPY_ALL_PLATFORMS)) {
		const registry_descriptor *d = NULL;
		rc = registry_manifest_select_platform(&d, m, cx->set.platform);
		registry_manifest *child = NULL;
		if (!rc)
			rc = registry_manifest_fetch(&child, cx->src, cx->src_repo, registry_descriptor_digest(d), NULL);
		registry_manifest_free(m);
		if (rc)
			return rc;
		m = child;
	}
	*out = m;
	return 0;
}

int registry_copy_options_init(registry_copy_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_copy_options_init: NULL options");
	registry_copy_options init = REGISTRY_COPY_OPTIONS_INIT;
	*opts = init;
	return 0;
}

int registry_copy(char **digest_out, registry_client *source,
                  const registry_reference *source_ref, registry_client *target,
                  const registry_reference *target_ref, const registry_copy_options *options)
{
	REGISTRY__ENTER(rc);
	if (digest_out)
		*digest_out = NULL;
	if (!source || !source_ref || !target || !target_ref)
		return registry__fail(REGISTRY_EINVAL, "copy: NULL argument");
	registry_copy_options defaults = REGISTRY_COPY_OPTIONS_INIT;
	if (!options)
		options = &defaults;
	if ((rc = registry__options_check("registry_copy", options->version, REGISTRY_COPY_OPTIONS_VERSION,
	                                  options->flags, REGISTRY_COPY_ALL_PLATFORMS)) ||
	    (rc = registry__platform_check("registry_copy", options->platform)))
		return rc;
	if ((rc = registry__ops_check_ref_registry(source, source_ref)) ||
	    (rc = registry__ops_check_ref_registry(target, target_ref)))
		return rc;
	copy_ctx cx;
	memset(&cx, 0, sizeof(cx));
	cx.set = REGISTRY__PUSH_SETTINGS(options);
	cx.set.platform = options->platform;
	cx.src = source;
	cx.dst = target;
	cx.src_repo = registry_reference_repository(source_ref);
	cx.same_registry = strcmp(registry_client_registry(source), registry_client_registry(target)) == 0;
	registry_manifest *root = NULL;
	const char *reference = NULL;
	if ((rc = fetch_root(&cx, source_ref, &root)))
		goto out;
	if ((rc = registry__push_reference(target_ref, root, &cx.dst_repo, &reference)))
		goto out;
	cx.prog.cb = cx.set.progress;
	cx.prog.ud = cx.set.userdata;
	if (registry_manifest_kind(root) == REGISTRY_MANIFEST_INDEX) {
		rc = copy_children(&cx, root);
	} else {
		rc = registry__blob_list_add_image(&cx.blobs, root);
		if (!rc)
			rc = copy_blobs(&cx);
	}
	if (!rc)
		rc = registry_manifest_push(digest_out, target, cx.dst_repo, reference, root);
out:
	if (cx.relay) {
		registry__client_absorb(source, cx.relay);
		registry_client_free(cx.relay);
	}
	registry__blob_list_free(&cx.blobs);
	registry_manifest_free(root);
	return rc;
}

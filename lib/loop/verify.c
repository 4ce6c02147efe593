/*
 * A signature policy on the caller's event loop: the gate of registry_pull
 * (registry__policy_gate, lib/ops/verify_signatures.c) run without a
 * blocking request.
 *
 * The blocking verification is kept as it is and replayed: each replay runs
 * registry__policy_gate with this thread's request hook set
 * (registry__do_hook, transport/transport.h), which answers the requests
 * it makes from the answers fetched so far. The first request without an
 * answer ends the replay (its outcome is thrown away); that request is then
 * made as a loop request (lreq: the registry's own with its auth, or an
 * external one for a lookaside server, which never gets the registry's
 * credentials), its answer kept, and the next step replays again. The
 * verification is deterministic over the same answers, so each replay asks
 * the same requests in the same order, one more answered each time; the
 * last replay, with every answer at hand, is the blocking call's verdict,
 * code and message, because it is the blocking code.
 *
 *   replay ─► a request not answered yet ─► lreq ─► answer kept ─► replay
 *          └► verdict: done(op, rc, pinned)
 *
 * Bounded: one replay per step; at most VERIFY_REQUESTS_MAX requests (the
 * blocking code examines at most REGISTRY_VERIFY_SIGNATURES_MAX signatures
 * per source). A replay re-checks the signatures fetched before: cosign
 * checks are OpenSSL calls of microseconds; GPG checks (gpgme runs gpg)
 * take milliseconds each and run inside the step (docs/event-loop.md,
 * "Signature policies", says how long).
 */
#include <stdlib.h>
#include <string.h>

#include "digest/hash.h"
#include "loop_impl.h"
#include "ops/ops_impl.h"
#include "transport/transport.h"

/* Requests one verification may make: the digest, the signature storage
 * probe, a tag, referrers, and a bounded number of signatures. */
#define VERIFY_REQUESTS_MAX (4 * REGISTRY_VERIFY_SIGNATURES_MAX + 16)
/* What the replays keep (GPG contexts: one per signedBy requirement met). */
#define VERIFY_KEPT_MAX 16

typedef struct kept {
	const void *key;
	void *value;
	void (*free_fn)(void *);
} kept;

typedef struct answer {
	char *url; /* what was asked: a replay must ask the same */
	int rc;
	struct registry_error err; /* rc's record */
	registry__response resp;
	registry__buf blob; /* registry__blob_fetch_mem's bytes */
} answer;

/* The request a replay asked for and did not get: copied, as the replay's
 * own strings are gone when it is made. */
typedef struct wanted {
	int external, blob;
	char *url, *method, *scope, *authorization, **headers;
	size_t body_limit;
	int no_redirects, no_retry, refuse_link_local;
	char *digest; /* a blob */
} wanted;

struct lverify {
	registry_op *op;
	registry_client *client;
	registry_reference *ref;
	const registry_policy *policy;
	answer *answers;
	size_t n, served;
	int missed;
	wanted w;
	lreq q;
	lwait wait;
	void (*done)(registry_op *op, int rc, registry_reference *pinned);
	kept keep[VERIFY_KEPT_MAX];
	size_t n_keep;
};

static void wanted_free(wanted *w)
{
	free(w->url);
	free(w->method);
	free(w->scope);
	registry__free_secret(w->authorization);
	free(w->digest);
	for (size_t i = 0; w->headers && w->headers[i]; i++)
		free(w->headers[i]);
	free(w->headers);
	memset(w, 0, sizeof(*w));
}

/* A copy of @s (NULL for NULL): 0, or 1 when out of memory (not recorded). */
static int dup_or_null(char **out, const char *s)
{
	*out = s ? registry__strdup(s) : NULL;
	return s && !*out;
}

/* A copy of the NULL-terminated @headers: 0, or 1 when out of memory. */
static int wanted_headers(wanted *w, const char *const *headers)
{
	size_t n = 0;
	while (headers && headers[n])
		n++;
	if (!n)
		return 0;
	if (!(w->headers = calloc(n + 1, sizeof(*w->headers))))
		return 1;
	for (size_t i = 0; i < n; i++)
		if (!(w->headers[i] = registry__strdup(headers[i])))
			return 1;
	return 0;
}

/* The copy of a kept answer a replay's caller owns (and frees). */
static int response_copy(registry__response *to, const registry__response *from)
{
	registry__response_init(to);
	to->status = from->status;
	to->content_length = from->content_length;
	to->body_truncated = from->body_truncated;
	char **to_s[] = {&to->content_type, &to->docker_content_digest, &to->location, &to->link, &to->range,
	                 &to->www_authenticate, &to->retry_after, &to->oci_chunk_min_length, &to->content_range,
	                 &to->oci_subject, &to->supports_signatures, &to->url};
	const char *from_s[] = {from->content_type, from->docker_content_digest, from->location, from->link,
	                        from->range, from->www_authenticate, from->retry_after, from->oci_chunk_min_length,
	                        from->content_range, from->oci_subject, from->supports_signatures, from->url};
	for (size_t i = 0; i < sizeof(from_s) / sizeof(from_s[0]); i++)
		if (dup_or_null(to_s[i], from_s[i]))
			return registry__nomem();
	to->body.limit = from->body.limit;
	if (from->body.len && registry__buf_append(&to->body, from->body.data, from->body.len))
		return registry__nomem();
	return 0;
}

/* The answer the replay is at, when it is kept: 1 (its rc in *rc, its
 * record set); 0 when it is not, the replay's miss noted. */
static int served(struct lverify *v, const char *url, int *rc)
{
	if (v->missed) {
		/* Past the miss: nothing the replay does from here counts. */
		*rc = registry__fail(REGISTRY_ECANCELED, "verification replay: waiting for an answer");
		return 1;
	}
	if (v->served >= v->n)
		return 0;
	answer *a = &v->answers[v->served++];
	if (strcmp(a->url, url) != 0) {
		*rc = registry__fail(REGISTRY_EPROTOCOL, "verification replay asked %.200s where %.200s was answered",
		                     url, a->url);
		return 1;
	}
	*rc = a->rc;
	if (a->rc)
		*(struct registry_error *)registry_error_last() = a->err;
	return 1;
}

static int miss(struct lverify *v)
{
	v->missed = 1;
	return registry__fail(REGISTRY_ECANCELED, "verification replay: waiting for an answer");
}

/* registry__do_hook perform: a kept answer, or the request noted. */
static int hook_perform(void *ud, registry_client *c, const registry__request *req, const char *authorization,
                        int external, registry__response *resp)
{
	struct lverify *v = ud;
	int rc;
	(void)c;
	registry__response_init(resp);
	if (served(v, req->url, &rc))
		return rc ? rc : response_copy(resp, &v->answers[v->served - 1].resp);
	wanted *w = &v->w;
	wanted_free(w);
	w->external = external;
	w->body_limit = req->body_limit;
	w->no_redirects = req->no_redirects;
	w->no_retry = req->no_retry;
	w->refuse_link_local = req->refuse_link_local;
	if (req->body || req->source)
		return registry__fail(REGISTRY_EUNSUPPORTED, "a request with a body in a verification");
	if (dup_or_null(&w->url, req->url) || dup_or_null(&w->method, req->method) ||
	    dup_or_null(&w->scope, req->scope) || dup_or_null(&w->authorization, authorization) ||
	    wanted_headers(w, req->headers))
		return registry__nomem();
	return miss(v);
}

/* registry__do_hook blob_mem: the blob's kept bytes, or the fetch noted. */
static int hook_blob(void *ud, registry__buf *out, registry_client *c, const char *repository, const char *digest,
                     int64_t size, size_t limit, const char *what)
{
	struct lverify *v = ud;
	char path[1200];
	int rc;
	(void)c;
	(void)size;
	(void)what;
	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", repository, digest);
	if (served(v, path, &rc)) {
		const registry__buf *b = &v->answers[v->served - 1].blob;
		if (!rc && b->len && registry__buf_append(out, b->data, b->len))
			rc = registry__nomem();
		return rc;
	}
	wanted *w = &v->w;
	char scope[600];
	snprintf(scope, sizeof(scope), "repository:%s:pull", repository);
	wanted_free(w);
	w->blob = 1;
	w->body_limit = limit;
	if (dup_or_null(&w->url, path) || dup_or_null(&w->scope, scope) || dup_or_null(&w->digest, digest))
		return registry__nomem();
	return miss(v);
}

/* registry__do_hook slot: made once, kept until the verification is freed
 * (a GPG context's key import runs gpg: ~20 ms here, not once per replay). */
static void **hook_slot(void *ud, const void *key, void (*free_fn)(void *))
{
	struct lverify *v = ud;
	for (size_t i = 0; i < v->n_keep; i++)
		if (v->keep[i].key == key)
			return &v->keep[i].value;
	if (v->n_keep == VERIFY_KEPT_MAX)
		return NULL; /* made and freed in the replay, as without a hook */
	v->keep[v->n_keep] = (kept){key, NULL, free_fn};
	return &v->keep[v->n_keep++].value;
}

static void replay(struct lverify *v);

static void replay_due(lwait *wt)
{
	struct lverify *v = (struct lverify *)(void *)((char *)wt - offsetof(struct lverify, wait));
	replay(v);
}

/* A fetched blob's bytes are what its digest says (as the blob fetch checks). */
static int blob_check(answer *a, const wanted *w)
{
	char got[REGISTRY_DIGEST_STRING_MAX];
	int rc = registry__digest_buffer(got, registry__digest_algorithm(w->digest), a->resp.body.data,
	                                 a->resp.body.len);
	if (!rc && strcmp(got, w->digest) != 0)
		rc = registry__fail(REGISTRY_EDIGEST, "blob %s: the bytes received have the digest %s", w->digest, got);
	if (!rc) {
		a->blob = a->resp.body;
		registry__buf_init(&a->resp.body, 0);
	}
	return rc;
}

/* The loop request for the miss ended: its answer kept (a failure too: it
 * is the answer the blocking call would have had), then a replay. */
static void answered(lreq *q, int rc)
{
	struct lverify *v = q->ud;
	answer *a = &v->answers[v->n];
	memset(a, 0, sizeof(*a));
	a->resp = q->resp;
	registry__response_init(&q->resp);
	registry__loop_lreq_end(q);
	int ok2xx = a->resp.status >= 200 && a->resp.status < 300;
	if (!rc && ok2xx && a->resp.body_truncated)
		rc = registry__fail(REGISTRY_ETOOLARGE, "%.200s: a response larger than the %zu bytes allowed",
		                    v->w.url, v->w.body_limit);
	else if (!rc && v->w.blob && !ok2xx)
		rc = registry__response_fail(&a->resp, "fetching a signature payload");
	else if (!rc && v->w.blob)
		rc = blob_check(a, &v->w);
	a->rc = rc;
	if (rc)
		a->err = *registry_error_last();
	a->url = v->w.url;
	v->w.url = NULL;
	v->n++;
	registry__error_clear();
	registry__loop_wait(v->op->loop, &v->wait, 0, replay_due);
}

/* Make the request the replay missed. */
static int ask(struct lverify *v)
{
	wanted *w = &v->w;
	if (v->n >= VERIFY_REQUESTS_MAX)
		return registry__fail(REGISTRY_EDENIED, "the verification asked more than %d requests: refused",
		                      VERIFY_REQUESTS_MAX);
	int rc;
	if (w->external)
		rc = registry__loop_lreq_begin_external(&v->q, v->op->loop, v->op, w->url, w->authorization);
	else if (w->url[0] == '/')
		rc = registry__loop_lreq_begin_at(&v->q, v->op, w->url, w->scope);
	else
		rc = registry__loop_lreq_begin(&v->q, v->op->loop, v->op, v->op->client, w->url, w->scope);
	if (rc) {
		registry__loop_lreq_end(&v->q);
		return rc;
	}
	v->q.r.method = w->method;
	v->q.r.headers = (const char *const *)w->headers;
	v->q.r.no_redirects = w->no_redirects;
	v->q.r.no_retry = w->no_retry;
	v->q.body_limit = w->body_limit;
	v->q.refuse_link_local = w->refuse_link_local;
	v->q.ud = v;
	v->q.done = answered;
	registry__loop_lreq_go(&v->q);
	return 0;
}

static void finish(struct lverify *v, int rc, registry_reference *pinned)
{
	v->done(v->op, rc, pinned);
}

/* One replay of the blocking gate over the answers kept. */
static void replay(struct lverify *v)
{
	registry_reference *pinned = NULL;
	registry__do_hook hook = {hook_perform, hook_blob, hook_slot, v};
	v->served = 0;
	v->missed = 0;
	const registry__do_hook *before = registry__do_hook_set(&hook);
	int rc = registry__policy_gate(&pinned, v->client, v->ref, v->policy);
	registry__do_hook_set(before);
	if (!v->missed) {
		finish(v, rc, pinned);
		return;
	}
	registry_reference_free(pinned);
	registry__error_clear();
	if (!(v->answers) && !(v->answers = calloc(VERIFY_REQUESTS_MAX, sizeof(*v->answers))))
		rc = registry__nomem();
	else
		rc = ask(v);
	if (rc)
		finish(v, rc, NULL);
}

int registry__loop_verify_start(lverify **out, registry_op *op, const registry_reference *ref,
                                const registry_policy *policy,
                                void (*done)(registry_op *op, int rc, registry_reference *pinned))
{
	struct lverify *v = calloc(1, sizeof(*v));
	*out = NULL;
	if (!v)
		return registry__nomem();
	v->op = op;
	v->client = op->client;
	v->policy = policy;
	v->done = done;
	int rc = registry_reference_dup(&v->ref, ref);
	if (rc) {
		free(v);
		return rc;
	}
	*out = v;
	registry__loop_wait(op->loop, &v->wait, 0, replay_due);
	return 0;
}

void registry__loop_verify_free(lverify *v)
{
	if (!v)
		return;
	registry__loop_unwait(v->op->loop, &v->wait);
	if (v->q.L)
		registry__loop_lreq_end(&v->q);
	for (size_t i = 0; i < v->n; i++) {
		free(v->answers[i].url);
		registry__response_free(&v->answers[i].resp);
		registry__buf_free(&v->answers[i].blob);
	}
	free(v->answers);
	for (size_t i = 0; i < v->n_keep; i++)
		if (v->keep[i].value)
			v->keep[i].free_fn(v->keep[i].value);
	wanted_free(&v->w);
	registry_reference_free(v->ref);
	free(v);
}

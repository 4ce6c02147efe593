/*
 * The event-loop driver (include/registry/loop.h, docs/event-loop.md): one
 * curl multi handle driven by the caller's loop through curl's socket and
 * timer callbacks, and requests (lreq) that run the request state machine
 * (transport/request.h) without ever blocking:
 *
 *   lreq_go ─┬─ need a token? ─► token lreq (external origin) ─► judge ─┐
 *            └─ attempt: configure + curl_multi_add_handle ◄────────────┘
 *   curl done ─► (pre_step: Range trouble) ─► registry__req_step ─┬─ DONE / FAIL ─► done()
 *                                                                 ├─ FOLLOW / REAUTH ─► lreq_go
 *                                                                 └─ RETRY ─► wait list (the timer)
 *
 * Nothing here sleeps, creates a thread or performs: backoff waits are
 * entries of a wait list folded into the one timer the caller runs, a token
 * fetch is a request of its own, and bytes are hashed and written as curl
 * hands them over (at most CURL_MAX_WRITE_SIZE, 16 KiB, at a time).
 *
 * libcurl must not see its own API from inside its callbacks, so work that
 * a callback of ours decides on (a cancel from a progress callback) is
 * marked and done when curl has returned (settle()).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "loop_impl.h"

/* ---- time ------------------------------------------------------------------ */

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- the caller's timer -------------------------------------------------------- */

/* The earliest thing due: curl's timeout, a backoff wait, or deferred work (now). */
static void update_timer(registry_loop *L)
{
	int64_t due = L->curl_due;
	for (lwait *w = L->waits; w; w = w->next)
		if (due < 0 || w->due < due)
			due = w->due;
	if (L->deferred || L->paused)
		due = now_us();
	for (registry_op *op = L->ops; op; op = op->next)
		if (!op->completed && op->client && op->client->cancel) {
			int64_t poll = now_us() + (int64_t)REGISTRY__LOOP_CANCEL_POLL_MS * 1000;
			if (due < 0 || poll < due)
				due = poll;
			break;
		}
	if (due == L->asked_due)
		return;
	L->asked_due = due;
	long ms = -1;
	if (due >= 0) {
		int64_t left = due - now_us();
		ms = left <= 0 ? 0 : (long)((left + 999) / 1000);
	}
	L->o.timer_cb(ms, L->o.userdata);
}

void registry__loop_wait(registry_loop *L, lwait *w, long ms, void (*fire)(lwait *w))
{
	registry__loop_unwait(L, w);
	w->due = now_us() + (int64_t)ms * 1000;
	w->fire = fire;
	w->next = L->waits;
	L->waits = w;
	w->queued = 1;
}

void registry__loop_unwait(registry_loop *L, lwait *w)
{
	if (!w->queued)
		return;
	for (lwait **p = &L->waits; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	w->queued = 0;
}

/* ---- curl's callbacks ------------------------------------------------------------ */

static int curl_socket_cb(CURL *h, curl_socket_t fd, int what, void *ud, void *sockp)
{
	registry_loop *L = ud;
	(void)h, (void)sockp;
	unsigned int ev = 0;
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev |= REGISTRY_LOOP_READ;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev |= REGISTRY_LOOP_WRITE;
	return L->o.socket_cb((int)fd, ev, L->o.userdata) ? -1 : 0;
}

static int curl_timer_cb(CURLM *multi, long ms, void *ud)
{
	registry_loop *L = ud;
	(void)multi;
	L->curl_due = ms < 0 ? -1 : now_us() + (int64_t)ms * 1000;
	return 0;
}

/* ---- requests ---------------------------------------------------------------- */

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
	lreq *q = ud;
	size_t len = size * n;
	if (q->aborted || q->op->cancel_asked)
		return 0;
	if ((q->sink_rc = registry__header_line(q->r.c, &q->resp, buf, len)))
		return 0;
	return len;
}

static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
	lreq *q = ud;
	size_t len = size * n;
	if (q->aborted || q->op->cancel_asked)
		return 0;
	long st = 0;
	curl_easy_getinfo(q->h, CURLINFO_RESPONSE_CODE, &st);
	q->resp.status = st;
	if (st >= 300 && st < 400)
		return len;
	if (st >= 200 && st < 300 && q->sink) {
		/* This step has had its share: curl keeps the bytes and
		 * hands them over again when the next step unpauses us. */
		if (registry__loop_slice_spent(q))
			return CURL_WRITEFUNC_PAUSE;
		if ((q->sink_rc = q->sink(q, ptr, len))) {
			if (q->sink_rc == REGISTRY__SINK_PAUSE) {
				/* No buffer free: it was put on the loop's list. */
				q->sink_rc = 0;
				return CURL_WRITEFUNC_PAUSE;
			}
			return 0;
		}
		return q->aborted ? 0 : len;
	}
	if (registry__buf_append(&q->resp.body, ptr, len)) {
		q->resp.body_truncated = 1;
		return 0;
	}
	return len;
}

int registry__loop_over_budget(const registry_loop *L)
{
	return now_us() - L->step_start > REGISTRY__LOOP_SLICE_US;
}

int registry__loop_spent(void *loop)
{
	return registry__loop_over_budget(loop);
}

int registry__loop_slice_spent(lreq *q)
{
	registry_loop *L = q->L;
	if (!registry__loop_over_budget(L))
		return 0;
	q->paused = 1;
	q->next_paused = L->paused;
	L->paused = q;
	L->deferred = 1;
	return 1;
}

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
	lreq *q = ud;
	size_t len = size * n, left = q->body_len - q->body_sent;
	if (len > left)
		len = left;
	memcpy(buf, q->body + q->body_sent, len);
	q->body_sent += len;
	return len;
}

static curl_socket_t open_socket_checked(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
	lreq *q = ud;
	(void)purpose;
	return registry__open_socket_checked(a, &q->refused);
}

static void lreq_finish(lreq *q, int rc)
{
	q->state = LREQ_IDLE;
	q->done(q, rc);
}

static void attempt(lreq *q)
{
	registry_loop *L = q->L;
	if (!q->h && !(q->h = curl_easy_init())) {
		lreq_finish(q, registry__nomem());
		return;
	}
	if (q->before && (q->before(q))) {
		lreq_finish(q, registry_error_code(registry_error_last()) ? registry_error_code(registry_error_last())
		                                                          : REGISTRY_EIO);
		return;
	}
	registry__response_reset_headers(&q->resp);
	registry__buf_free(&q->resp.body);
	q->resp.body.limit = q->body_limit ? q->body_limit : REGISTRY__JSON_LIMIT;
	q->resp.body_truncated = 0;
	q->resp.status = 0;
	q->sink_rc = 0;
	q->refused = 0;
	q->body_sent = 0;
	int rc = registry__req_configure(&q->r, q->h);
	if (rc) {
		lreq_finish(q, rc);
		return;
	}
	CURL *h = q->h;
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, q);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(h, CURLOPT_PRIVATE, q);
	if (q->r.method && strcmp(q->r.method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, q);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
	} else if (q->r.method && strcmp(q->r.method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (q->r.method && (strcmp(q->r.method, "PUT") == 0 || strcmp(q->r.method, "PATCH") == 0)) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, q->send ? q->send : on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, q);
		curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, REGISTRY__LOOP_UPLOAD_BUFFER);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(q->send ? q->send_len : (int64_t)q->body_len));
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->r.method);
	} else if (q->r.method && strcmp(q->r.method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->r.method);
	}
	if (q->tls_probe) {
		/* A bare handshake: no certificate check, so no CA bundle to load
		 * (tens of milliseconds in one step), and no request. */
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
		curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	}
	if (q->refuse_link_local) {
		curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket_checked);
		curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, q);
		curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
	}
	if (curl_multi_add_handle(L->multi, h) != CURLM_OK) {
		lreq_finish(q, registry__fail(REGISTRY_EIO, "cannot start a transfer"));
		return;
	}
	q->state = LREQ_RUNNING;
}

static void token_done(lreq *t, int rc);

static int same_scope(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* A token fetch under way for @q's client and scope: @q waits for it rather
 * than ask the token server again (16 pulls of one repository started at
 * once meet the same 401 together). */
static int join_token(lreq *q)
{
	for (lreq *l = q->L->token_leaders; l; l = l->next_leader)
		if (l != q && l->r.c == q->r.c && same_scope(l->r.scope, q->r.scope)) {
			q->leader = l;
			q->next_waiter = l->waiters;
			l->waiters = q;
			q->state = LREQ_TOKEN;
			return 1;
		}
	return 0;
}

static void leader_unlink(lreq *q)
{
	if (!q->L)
		return; /* never begun */
	for (lreq **p = &q->L->token_leaders; *p; p = &(*p)->next_leader)
		if (*p == q) {
			*p = q->next_leader;
			break;
		}
	q->next_leader = NULL;
}

/* @q no longer waits for its leader's token. */
static void waiter_unlink(lreq *q)
{
	if (!q->leader)
		return;
	for (lreq **p = &q->leader->waiters; *p; p = &(*p)->next_waiter)
		if (*p == q) {
			*p = q->next_waiter;
			break;
		}
	q->leader = NULL;
	q->next_waiter = NULL;
}

/* The token of the request's scope, as a request of its own. */
static void start_token(lreq *q, int as_get)
{
	registry_client *c = q->r.c;
	if (!as_get && join_token(q))
		return;
	lreq *t = calloc(1, sizeof(*t));
	if (!t) {
		lreq_finish(q, registry__nomem());
		return;
	}
	q->token = t;
	registry__token_fetch tf;
	int rc = registry__token_fetch_prepare(&tf, c, q->r.scope, as_get);
	if (!rc && strncasecmp(tf.url, "http:", 5) == 0 && !registry__plain_http_allowed(c, tf.url)) {
		char shown[512];
		registry__url_for_message(shown, sizeof(shown), tf.url);
		rc = registry__fail(REGISTRY_EPROTOCOL, "%s: plain HTTP to another origin than the "
		                    "registry's; refused (insecure applies to the registry only)", shown);
	}
	if (!rc)
		rc = registry__loop_lreq_begin_external(t, q->L, q->op, tf.url, tf.authorization);
	t->tf = tf; /* after begin, which clears the request */
	t->parent = q;
	if (rc) {
		q->token = NULL;
		registry__loop_lreq_end(t);
		free(t);
		lreq_finish(q, rc);
		return;
	}
	static const char *const form_headers[] = {
		"Content-Type: application/x-www-form-urlencoded", "Accept: application/json", NULL};
	static const char *const get_headers[] = {"Accept: application/json", NULL};
	t->r.method = t->tf.oauth_post ? "POST" : "GET";
	t->r.headers = t->tf.oauth_post ? form_headers : get_headers;
	t->body = t->tf.form;
	t->body_len = t->tf.oauth_post ? t->tf.form_len : 0;
	t->refuse_link_local = 1;
	t->done = token_done;
	q->state = LREQ_TOKEN;
	if (!as_get) {
		q->next_leader = q->L->token_leaders;
		q->L->token_leaders = q;
	}
	registry__loop_lreq_go(t);
}

/* The token is cached (@rc 0) or its fetch failed: the request goes on or
 * fails, as the blocking path would after its own fetch. */
static void token_known(lreq *q, int rc)
{
	if (!rc)
		rc = registry__req_token_ready(&q->r);
	if (rc)
		lreq_finish(q, rc);
	else
		attempt(q);
}

/* The leader's answer, for the requests that waited for it (taken off the
 * leader first: ending one operation may stop others' requests, which then
 * are no longer waiting). */
static void wake_waiters(lreq *ws, int rc, const struct registry_error *saved)
{
	while (ws) {
		lreq *w = ws;
		ws = w->next_waiter;
		w->next_waiter = NULL;
		if (w->state != LREQ_TOKEN || w->token)
			continue;
		if (rc) /* each fails with the fetch's own record */
			*(struct registry_error *)registry_error_last() = *saved;
		token_known(w, rc);
	}
}

static void token_done(lreq *t, int rc)
{
	lreq *q = t->parent;
	int again = 0;
	if (!rc) {
		rc = registry__token_fetch_judge(&t->tf, q->r.c, q->r.scope, &t->resp);
		again = rc == REGISTRY__TOKEN_AGAIN_AS_GET;
	}
	if (t->resp.body.data)
		sodium_memzero(t->resp.body.data, t->resp.body.len);
	registry__loop_lreq_end(t);
	free(t);
	q->token = NULL;
	if (again) {
		start_token(q, 1);
		return;
	}
	leader_unlink(q);
	lreq *ws = q->waiters;
	q->waiters = NULL;
	for (lreq *w = ws; w; w = w->next_waiter)
		w->leader = NULL;
	struct registry_error saved = *registry_error_last();
	token_known(q, rc);
	wake_waiters(ws, rc, &saved);
}

void registry__loop_lreq_go(lreq *q)
{
	if (q->r.need_token)
		start_token(q, 0);
	else
		attempt(q);
}

static void wait_fired(lwait *w)
{
	lreq *q = (lreq *)((char *)w - offsetof(lreq, wait));
	q->state = LREQ_IDLE;
	registry__error_clear();
	registry__loop_lreq_go(q);
}

/* What the request machine said, applied. */
void registry__loop_lreq_apply(lreq *q, registry__req_next next)
{
	switch (next) {
	case REGISTRY__REQ_DONE:
		lreq_finish(q, 0);
		return;
	case REGISTRY__REQ_FAIL:
		lreq_finish(q, q->r.rc);
		return;
	case REGISTRY__REQ_RETRY:
		q->state = LREQ_WAITING;
		registry__loop_wait(q->L, &q->wait, q->r.wait_ms, wait_fired);
		return;
	case REGISTRY__REQ_FOLLOW:
	case REGISTRY__REQ_REAUTH:
		registry__loop_lreq_go(q);
		return;
	}
}

/* curl finished an attempt of @q. */
static void completed(lreq *q, CURLcode cc)
{
	curl_multi_remove_handle(q->L->multi, q->h);
	q->state = LREQ_IDLE;
	if (q->op->cancel_asked)
		return; /* the step's end completes the operation */
	long status = 0;
	curl_easy_getinfo(q->h, CURLINFO_RESPONSE_CODE, &status);
	q->resp.status = status;
	free(q->resp.url);
	q->resp.url = registry__strdup(q->r.url);
	char shown[512];
	registry__url_for_message(shown, sizeof(shown), q->r.url);
	const char *method = q->r.method ? q->r.method : "GET";
	if (q->sink_rc) {
		if (registry_error_code(registry_error_last()) != q->sink_rc) {
			registry__fail(q->sink_rc, "%s %s: %s", method, shown,
			               q->sink_rc == REGISTRY_ETOOLARGE ? "response larger than allowed"
			                                                : registry_strerror(q->sink_rc));
			registry__error_set_http((int)status, shown);
		}
		if (!q->pre_step) {
			lreq_finish(q, q->sink_rc);
			return;
		}
	}
	if (q->refused) {
		registry__fail(REGISTRY_EPROTOCOL, "%s %s: the host resolves to a link-local, unspecified or "
		               "metadata address; refused", method, shown);
		registry__error_set_http(0, shown);
		lreq_finish(q, REGISTRY_EPROTOCOL);
		return;
	}
	if (cc == CURLE_WRITE_ERROR && q->resp.body_truncated)
		cc = CURLE_OK; /* an oversized error body: the status is what matters */
	if (q->pre_step) {
		int next = q->pre_step(q, cc);
		if (next >= 0) {
			registry__loop_lreq_apply(q, (registry__req_next)next);
			return;
		}
	}
	registry__loop_lreq_apply(q, registry__req_step(&q->r, cc, &q->resp));
}

static int lreq_init(lreq *q, registry_loop *L, registry_op *op)
{
	memset(q, 0, sizeof(*q));
	q->L = L;
	q->op = op;
	registry__response_init(&q->resp);
	return 0;
}

int registry__loop_lreq_begin(lreq *q, registry_loop *L, registry_op *op, registry_client *c,
                              const char *url, const char *scope)
{
	lreq_init(q, L, op);
	q->begun = 1;
	return registry__req_begin_deferred(&q->r, c, url, scope);
}

int registry__loop_lreq_begin_external(lreq *q, registry_loop *L, registry_op *op, const char *url,
                                       const char *authorization)
{
	registry_client *c = op->client;
	lreq_init(q, L, op);
	q->begun = 1;
	return registry__req_begin_external(&q->r, c, url, authorization);
}

/* Stop whatever @q is doing (a transfer, a wait, a token fetch); no callback. */
void registry__loop_lreq_stop(lreq *q)
{
	waiter_unlink(q);
	if (q->token) {
		registry__loop_lreq_stop(q->token);
		registry__loop_lreq_end(q->token);
		free(q->token);
		q->token = NULL;
	}
	leader_unlink(q);
	while (q->waiters) {
		/* Their leader stopped (its operation ended): each asks again,
		 * the first to go leading the others, from the loop's next step. */
		lreq *w = q->waiters;
		waiter_unlink(w);
		w->state = LREQ_WAITING;
		registry__loop_wait(q->L, &w->wait, 0, wait_fired);
	}
	if (q->paused) {
		for (lreq **p = q->paused == 2 ? &q->L->buf_waiters : &q->L->paused; *p; p = &(*p)->next_paused)
			if (*p == q) {
				*p = q->next_paused;
				break;
			}
		q->paused = 0;
		q->next_paused = NULL;
	}
	if (q->state == LREQ_RUNNING && q->h)
		curl_multi_remove_handle(q->L->multi, q->h);
	registry__loop_unwait(q->L, &q->wait);
	q->state = LREQ_IDLE;
}

void registry__loop_lreq_end(lreq *q)
{
	registry__loop_lreq_stop(q);
	if (q->h)
		curl_easy_cleanup(q->h);
	q->h = NULL;
	if (q->begun)
		registry__req_end(&q->r);
	q->begun = 0;
	registry__token_fetch_free(&q->tf);
	registry__response_free(&q->resp);
}

/* ---- operations ------------------------------------------------------------- */

static void op_unlink(registry_op *op)
{
	registry_loop *L = op->loop;
	if (!L)
		return;
	for (registry_op **p = &L->ops; *p; p = &(*p)->next)
		if (*p == op) {
			*p = op->next;
			break;
		}
	op->loop = NULL;
}

void registry__loop_op_complete(registry_op *op, int rc)
{
	if (op->completed)
		return;
	if (rc && !op->cancel_asked && op->fallback && op->fallback(op, rc))
		return; /* the kind goes on another way (a pull's next mirror) */
	op->completed = 1;
	op->rc = rc;
	registry__loop_lreq_stop(&op->probe);
	op->kind_ops->stop(op);
	if (rc) {
		op->err = *registry_error_last();
		if (op->err.code != rc) { /* a code without its record: say at least which */
			registry__fail(rc, "%s", registry_strerror(rc));
			op->err = *registry_error_last();
		}
	} else {
		memset(&op->err, 0, sizeof(op->err));
	}
	registry_loop *L = op->loop;
	if (L) {
		L->pending--;
		/* The callback runs at the end of the step, with no frame of
		 * ours on the stack that still uses the operation (it may free it). */
		op->notify = 1;
		L->deferred = 1;
	}
}

static void notify(registry_op *op)
{
	op->notify = 0;
	registry__callback_scope cs;
	registry__callback_begin(&cs);
	/* The thread's record is the operation's during its callback. */
	*(struct registry_error *)registry_error_last() = op->err;
	op->done_cb(op, op->rc, op->userdata);
	registry__callback_end(&cs, 0);
}

int registry__loop_op_new(registry_op **out, registry_loop *L, registry_client *client,
                          const registry__op_kind *kind, size_t size, registry_op_done_cb done,
                          void *userdata)
{
	registry_op *op = calloc(1, size);
	if (!op)
		return registry__nomem();
	op->loop = L;
	op->client = client;
	op->kind_ops = kind;
	op->done_cb = done;
	op->userdata = userdata;
	op->next = L->ops;
	L->ops = op;
	L->pending++;
	*out = op;
	return 0;
}

/* Work decided on inside a step, done at its end with curl not running:
 * cancels (asked from a progress callback), completion callbacks, kicks. */
static void settle(registry_loop *L)
{
	/* The clients' cancel hooks, as the blocking calls ask them: at every
	 * step (update_timer() makes one at least every
	 * REGISTRY__LOOP_CANCEL_POLL_MS while a hook is set). */
	for (registry_op *op = L->ops; op; op = op->next)
		if (!op->completed && !op->cancel_asked && op->client && registry__client_canceled(op->client))
			op->cancel_asked = 1;
	for (;;) {
		registry_op *op = L->ops;
		while (op && !(op->cancel_asked && !op->completed))
			op = op->next;
		if (op) {
			registry__fail(REGISTRY_ECANCELED, "canceled");
			registry__loop_op_complete(op, REGISTRY_ECANCELED);
			continue;
		}
		for (op = L->ops; op && !op->notify; op = op->next)
			;
		if (op) {
			notify(op);
			continue;
		}
		for (op = L->ops; op && !(op->kick && !op->completed); op = op->next)
			;
		if (op) {
			op->kick = 0;
			registry__loop_with_base(op, op->base_known);
			continue;
		}
		break;
	}
	L->deferred = 0;
}

static void read_messages(registry_loop *L)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(L->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		lreq *q = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&q);
		CURLcode cc = msg->data.result;
		if (q && q->state == LREQ_RUNNING)
			completed(q, cc);
	}
}

/* ---- the step record ---------------------------------------------------------- */

int64_t registry__loop_step_begin(registry_loop *L)
{
	int64_t t = now_us();
	if (L->depth++ == 0)
		L->step_start = t;
	return t;
}

/* Transfers a step paused (their slice was spent) go on, oldest first,
 * while this step's budget lasts: each unpause hands curl's kept bytes
 * over at once, and with a hundred transfers paused, unpausing them all
 * took longer than the budget. The rest stay paused, before those paused
 * during this step, for the next step. */
static void unpause(registry_loop *L)
{
	lreq *old = NULL; /* the list (newest first) reversed: oldest first */
	for (lreq *q = L->paused, *next; q; q = next) {
		next = q->next_paused;
		q->next_paused = old;
		old = q;
	}
	L->paused = NULL;
	while (old && now_us() - L->step_start <= REGISTRY__LOOP_SLICE_US) {
		lreq *q = old;
		old = q->next_paused;
		q->next_paused = NULL;
		q->paused = 0;
		curl_easy_pause(q->h, CURLPAUSE_CONT);
	}
	/* The ones left, oldest first: behind the newly paused (newest first). */
	lreq **tail = &L->paused;
	while (*tail)
		tail = &(*tail)->next_paused;
	lreq *rev = NULL;
	for (lreq *q = old, *next; q; q = next) {
		next = q->next_paused;
		q->next_paused = rev;
		rev = q;
	}
	*tail = rev;
}

void registry__loop_step_end(registry_loop *L, int64_t start)
{
	if (--L->depth > 0)
		return;
	settle(L);
	update_timer(L);
	int64_t d = now_us() - start;
	L->steps++;
	if (d > L->max_us)
		L->max_us = d;
}

/* ---- the client's scheme ------------------------------------------------------ */

int registry__loop_lreq_begin_at(lreq *q, registry_op *op, const char *path, const char *scope)
{
	registry_client *c = op->client;
	char *url = NULL;
	int rc = registry__url_resolve(&url, c->base_url, path);
	if (!rc)
		rc = registry__loop_lreq_begin(q, op->loop, op, c, url, scope);
	free(url);
	if (rc)
		registry__loop_lreq_end(q);
	return rc;
}

/* Another operation of the loop is finding out the scheme of @self's client. */
static int probing(const registry_op *self)
{
	for (const registry_op *o = self->loop->ops; o; o = o->next)
		if (o != self && o->client == self->client && !o->completed && o->probe.state != LREQ_IDLE)
			return 1;
	return 0;
}

static void kick_waiters(registry_op *op)
{
	for (registry_op *o = op->loop->ops; o; o = o->next)
		if (o != op && o->client == op->client && !o->completed && o->base_known && !o->probe.begun) {
			o->kick = 1;
			op->loop->deferred = 1;
		}
}

static void probe_start(registry_op *op);

/* As registry__client_do chooses: HTTPS, then plain HTTP for a loopback or
 * insecure registry whose port speaks no TLS. */
static void probe_done(lreq *q, int rc)
{
	registry_op *op = q->ud;
	registry_client *c = op->client;
	long status = q->resp.status;
	CURLcode cc = q->r.last_cc;
	int tls_probe = q->tls_probe;
	registry__loop_lreq_end(q);
	void (*then)(registry_op *op) = op->base_known;
	op->base_known = NULL;
	if (tls_probe) {
		/* As registry__client_do's loopback_without_tls(): a port that
		 * fails a TLS handshake speaks plain HTTP; otherwise HTTPS, whose
		 * verified requests then report what they find. */
		registry__error_clear();
		if (cc == CURLE_SSL_CONNECT_ERROR) {
			char base[300];
			snprintf(base, sizeof(base), "http://%s", c->api_host);
			free(c->base_url);
			if (!(c->base_url = registry__strdup(base))) {
				kick_waiters(op);
				registry__loop_op_complete(op, registry__nomem());
				return;
			}
		}
		kick_waiters(op);
		then(op);
		return;
	}
	if (rc == 0 || status != 0) {
		registry__error_clear(); /* the scheme is what we wanted (a 401 too) */
		kick_waiters(op);
		then(op);
		return;
	}
	free(c->base_url);
	c->base_url = NULL;
	int allow_http = (c->insecure & REGISTRY_INSECURE_ALLOW_HTTP) != 0;
	int no_verify = (c->insecure & REGISTRY_INSECURE_NO_VERIFY) != 0;
	int allowed = (c->loopback || allow_http) ? 2 : 1;
	if (op->probe_scheme == 0 && allowed == 2 &&
	    (cc == CURLE_SSL_CONNECT_ERROR || (no_verify && rc == REGISTRY_ETLS))) {
		registry__error_clear();
		op->probe_scheme = 1;
		op->base_known = then;
		probe_start(op);
		return;
	}
	kick_waiters(op);
	registry__loop_op_complete(op, rc);
}

static void probe_start(registry_op *op)
{
	registry_client *c = op->client;
	char base[300];
	snprintf(base, sizeof(base), "%s://%s", op->probe_scheme ? "http" : "https", c->api_host);
	/* Tentatively: the auth code judges the token realm by it; the other
	 * operations wait (probing()) rather than use it. */
	int rc = (c->base_url = registry__strdup(base)) ? registry__loop_lreq_begin_at(&op->probe, op, "/v2/", NULL)
	                                               : registry__nomem();
	if (rc) {
		free(c->base_url);
		c->base_url = NULL;
		kick_waiters(op);
		registry__loop_op_complete(op, rc);
		return;
	}
	op->probe.ud = op;
	op->probe.done = probe_done;
	op->probe.tls_probe = op->probe_scheme == 0 && c->loopback &&
	                      !(c->insecure & (REGISTRY_INSECURE_ALLOW_HTTP | REGISTRY_INSECURE_NO_VERIFY));
	registry__loop_lreq_go(&op->probe);
}

void registry__loop_with_base(registry_op *op, void (*then)(registry_op *op))
{
	op->base_known = then;
	if (probing(op))
		return; /* kicked when the scheme is known (base_url is tentative meanwhile) */
	/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): only an operation without transfers (registry_store_unpack_start) has no client, and it never waits for a base URL. */
	if (op->client->base_url) {
		op->base_known = NULL;
		then(op);
		return;
	}
	probe_start(op);
}

/* ---- public --------------------------------------------------------------------- */

int registry_loop_options_init(registry_loop_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_loop_options_init: NULL options");
	registry_loop_options init = REGISTRY_LOOP_OPTIONS_INIT;
	*opts = init;
	return 0;
}

int registry_loop_new(registry_loop **out, const registry_loop_options *options)
{
	REGISTRY__ENTER(rc);
	if (out)
		*out = NULL;
	if (!out || !options)
		return registry__fail(REGISTRY_EINVAL, "registry_loop_new: NULL argument");
	if ((rc = registry__options_check("registry_loop_new", options->version, REGISTRY_LOOP_OPTIONS_VERSION,
	                                  options->flags, 0)))
		return rc;
	if (!options->socket_cb || !options->timer_cb)
		return registry__fail(REGISTRY_EINVAL, "registry_loop_new: socket_cb and timer_cb are required");
	registry_loop *L = calloc(1, sizeof(*L));
	if (!L || !(L->multi = curl_multi_init())) {
		free(L);
		return registry__nomem();
	}
	L->o = *options;
	L->curl_due = -1;
	L->asked_due = -1;
	L->aio_efd = -1;
	curl_multi_setopt(L->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
	curl_multi_setopt(L->multi, CURLMOPT_SOCKETDATA, L);
	curl_multi_setopt(L->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	curl_multi_setopt(L->multi, CURLMOPT_TIMERDATA, L);
	*out = L;
	return 0;
}

void registry_loop_free(registry_loop *L)
{
	if (!L)
		return;
	while (L->ops) {
		registry_op *op = L->ops;
		L->ops = op->next; /* unlinked here: registry_op_free finds it gone */
		op->next = NULL;
		registry_op_free(op);
	}
	registry__loop_aio_free(L);
	registry__loop_bufs_free(L);
	curl_multi_cleanup(L->multi);
	free(L);
}

int registry_loop_socket_action(registry_loop *L, int fd, unsigned int events)
{
	REGISTRY__ENTER(rc);
	if (!L)
		return registry__fail(REGISTRY_EINVAL, "registry_loop_socket_action: NULL loop");
	if (events & ~(REGISTRY_LOOP_READ | REGISTRY_LOOP_WRITE | REGISTRY_LOOP_ERROR))
		return registry__fail(REGISTRY_EINVAL, "registry_loop_socket_action: unknown events 0x%x", events);
	int64_t t = registry__loop_step_begin(L);
	if (registry__loop_aio_event(L, fd)) {
		registry__loop_step_end(L, t);
		return 0;
	}
	int mask = 0, running = 0;
	if (events & REGISTRY_LOOP_READ)
		mask |= CURL_CSELECT_IN;
	if (events & REGISTRY_LOOP_WRITE)
		mask |= CURL_CSELECT_OUT;
	if (events & REGISTRY_LOOP_ERROR)
		mask |= CURL_CSELECT_ERR;
	curl_multi_socket_action(L->multi, (curl_socket_t)fd, mask, &running);
	read_messages(L);
	registry__loop_step_end(L, t);
	return 0;
}

int registry_loop_timeout(registry_loop *L)
{
	REGISTRY__ENTER(rc);
	if (!L)
		return registry__fail(REGISTRY_EINVAL, "registry_loop_timeout: NULL loop");
	int64_t t = registry__loop_step_begin(L);
	L->asked_due = -2; /* the caller's timer is spent: ask again whatever is due */
	int running = 0;
	unpause(L);
	read_messages(L);
	if (L->curl_due >= 0 && L->curl_due <= now_us() + 500) {
		L->curl_due = -1;
		curl_multi_socket_action(L->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		read_messages(L);
	}
	int64_t n = now_us();
	for (;;) {
		/* What is left when the step's budget is spent is due at once:
		 * the timer asks for 0 ms. */
		if (now_us() - L->step_start > REGISTRY__LOOP_SLICE_US)
			break;
		lwait *w = L->waits;
		while (w && w->due > n + 500)
			w = w->next;
		if (!w)
			break;
		registry__loop_unwait(L, w);
		w->fire(w);
	}
	registry__loop_step_end(L, t);
	return 0;
}

size_t registry_loop_pending(const registry_loop *L)
{
	return L ? L->pending : 0;
}

int registry_loop_step_stats(uint64_t *steps, int64_t *max_us, const registry_loop *L)
{
	REGISTRY__ENTER(rc);
	if (!L)
		return registry__fail(REGISTRY_EINVAL, "registry_loop_step_stats: NULL loop");
	if (steps)
		*steps = L->steps;
	if (max_us)
		*max_us = L->max_us;
	return 0;
}

int registry_op_cancel(registry_op *op)
{
	REGISTRY__ENTER(rc);
	if (!op)
		return registry__fail(REGISTRY_EINVAL, "registry_op_cancel: NULL operation");
	registry_loop *L = op->loop;
	if (op->completed || !L)
		return 0;
	if (L->depth > 0) {
		/* Inside a step (a progress callback): curl may be running; the
		 * transfers stop on their next byte and the op completes when
		 * the step ends. */
		op->cancel_asked = 1;
		L->deferred = 1;
		return 0;
	}
	int64_t t = registry__loop_step_begin(L);
	op->cancel_asked = 1;
	registry__loop_step_end(L, t);
	return 0;
}

void registry_op_free(registry_op *op)
{
	if (!op)
		return;
	registry_loop *L = op->loop;
	if (!op->completed && L)
		L->pending--;
	op->completed = 1;
	if (op->owner)
		*op->owner = NULL;
	registry__loop_lreq_stop(&op->probe);
	op->kind_ops->stop(op);
	op_unlink(op);
	registry__loop_lreq_end(&op->probe);
	op->kind_ops->free(op);
	free(op);
}

int registry_op_done(const registry_op *op)
{
	return op ? op->completed : 0;
}

const registry_error *registry_op_error(const registry_op *op)
{
	return op ? &op->err : NULL;
}

int registry_op_result_digest(char **digest, const registry_op *op)
{
	REGISTRY__ENTER(rc);
	if (digest)
		*digest = NULL;
	if (!digest || !op || !op->completed || op->rc || !op->digest)
		return registry__fail(REGISTRY_EINVAL, "registry_op_result_digest: no digest (NULL, not a "
		                      "completed pull, or a failed one)");
	if (!(*digest = registry__strdup(op->digest)))
		return registry__nomem();
	return 0;
}

/*
 * The request state machine: the one place that decides what happens after
 * an HTTP attempt (follow a redirect, answer a 401 challenge, retry after a
 * backoff, go back to the registry for a fresh redirect, give up), used by
 * every driver: the blocking path (registry__client_do, curl_easy_perform)
 * and the parallel transfer engine (lib/blob/fetch.c, a curl multi handle).
 *
 * The machine never sleeps and never performs: a driver asks it to
 * configure an easy handle for the current attempt, performs it however it
 * likes, and hands the outcome to registry__req_step(), which says what to
 * do next. A RETRY carries the wait in wait_ms; the driver waits (the
 * blocking driver in slices, hearing the cancel hook; the engine with its
 * timers), so a caller-driven event loop can drive it the same way.
 *
 *   begin ─► configure ─► (driver performs) ─► step ─┬─ DONE    the answer stands
 *               ▲                                    ├─ FAIL    rc recorded
 *               └──────── FOLLOW / REAUTH / RETRY ◄──┘
 *
 * A token fetch (at begin, after a 401, or on a retry when the cached token
 * expired) is a nested blocking request for the blocking drivers; the
 * event-loop driver (lib/loop) begins with registry__req_begin_deferred and
 * runs the fetch as a request of its own, never blocking.
 *
 * Every re-request that is not a redirect hop or an auth round (a retry, a
 * fresh redirect, a restart after a bad Range answer) spends one unit of the
 * client's retry budget, with backoff: none loops.
 */
#ifndef REGISTRY_TRANSPORT_REQUEST_H
#define REGISTRY_TRANSPORT_REQUEST_H

#include "client_impl.h"

typedef enum registry__req_next {
	REGISTRY__REQ_DONE,   /* the response is final: the caller judges its status */
	REGISTRY__REQ_FOLLOW, /* a redirect: perform again at the new URL */
	REGISTRY__REQ_REAUTH, /* a 401 answered with new credentials: perform again */
	REGISTRY__REQ_RETRY,  /* perform again after wait_ms (maybe at the start URL) */
	REGISTRY__REQ_FAIL,   /* give up: rc, recorded */
} registry__req_next;

typedef struct registry__req {
	registry_client *c;
	const char *method; /* "GET" when NULL */
	const char *scope;  /* token scope of the registry's auth; NULL: none */
	const char *const *headers; /* extra "Name: value" lines, NULL-terminated */
	char *start;        /* the absolute URL the request began at */
	char *url;          /* the URL of the current attempt */
	registry__origin origin; /* the only origin that gets the Authorization */
	char *auth;         /* its Authorization value, or NULL */
	int registry_auth;  /* auth is the registry's (401 challenges answered here) */
	int64_t range_from; /* > 0: ask for the bytes from there on (Range) */
	int can_repeat;     /* the request may be sent again (body rewindable) */
	int no_retry, no_redirects;
	int hops, attempts, auth_rounds, rejections;
	long wait_ms;       /* after REGISTRY__REQ_RETRY */
	int rc;             /* after REGISTRY__REQ_FAIL */
	CURLcode last_cc;   /* of the last attempt */
	struct curl_slist *hdrs; /* owned: the current attempt's header lines */
	CURL *h;            /* the handle of the current attempt (for the trace) */
	int defer_token;    /* never fetch a token here: say so in need_token */
	int need_token;     /* the driver must fetch the scope's token, then call
	                       registry__req_token_ready(), before configuring */
} registry__req;

/*
 * Start a request to @url (absolute) with the registry's own auth: its
 * origin (c->base_url) alone gets a header for @scope from the token cache,
 * and its 401 challenges are answered. The caller may then set method,
 * headers, range_from, can_repeat, no_retry, no_redirects. 0 or an error
 * code, recorded; call registry__req_end() in both cases.
 */
int registry__req_begin(registry__req *r, registry_client *c, const char *url, const char *scope);
/* The same for a driver that never blocks (lib/loop): a bearer token that
 * is not cached is not fetched here; r->need_token says so (after begin, a
 * REAUTH or a RETRY), and the driver fetches it as a request of its own
 * (registry__token_fetch_*) and calls registry__req_token_ready(). */
int registry__req_begin_deferred(registry__req *r, registry_client *c, const char *url, const char *scope);
/* The token of r->scope was fetched: take it. 0 or an error code, recorded. */
int registry__req_token_ready(registry__req *r);
/* The same on another origin (a token realm): @authorization (copied, may
 * be NULL) goes to @url's origin only, and a 401 is final. */
int registry__req_begin_external(registry__req *r, registry_client *c, const char *url,
                                 const char *authorization);
void registry__req_end(registry__req *r);

/*
 * Reset @h and set it up for the current attempt: the client's settings,
 * TLS verification (relaxed by `insecure` on the registry's origin only),
 * the URL, and every request header built here, in one place (Expect,
 * Authorization on its origin only, Range, the extra lines). The driver
 * sets its callbacks and method after. 0 or REGISTRY_ENOMEM (recorded).
 */
int registry__req_configure(registry__req *r, CURL *h);

/*
 * The outcome of an attempt: @cc from curl (pass CURLE_OK when the driver
 * accepted a short error body) and @resp with its status and headers.
 */
registry__req_next registry__req_step(registry__req *r, CURLcode cc, const registry__response *resp);

/*
 * A re-request the driver decided on (the server sent a 416, or a 206 that
 * does not start where we asked, so the transfer restarts at byte 0):
 * spends one unit of the retry budget and goes back to the start URL.
 * RETRY, or FAIL with REGISTRY_EPROTOCOL naming @what the server did
 * (a printf format) once the budget is spent.
 */
registry__req_next registry__req_rerequest(registry__req *r, const char *what, ...)
	REGISTRY_PRINTF(2, 3);

/* @url without its query (signed URLs carry secrets there), for messages. */
void registry__url_for_message(char *dst, size_t size, const char *url);

/* 1 when the insecure @flag (REGISTRY_INSECURE_*) applies to @url: the
 * client has it and @url is on the registry's own origin. Other origins
 * keep full TLS verification and HTTPS. */
int registry__insecure_for(const registry_client *c, const char *url, unsigned int flag);

/* 1 when a plain-HTTP request to @url (a token realm) is allowed:
 * REGISTRY_INSECURE_ALLOW_HTTP applies to @url, or the registry is plain HTTP and itself or @url is on
 * loopback. */
int registry__plain_http_allowed(const registry_client *c, const char *url);

#endif

/*
 * The request state machine (request.h): redirects followed by hand with
 * credentials kept on their origin, 401 challenges, retries with backoff,
 * fresh redirects from the registry when a redirect target fails, and one
 * retry budget for every kind of re-request.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "request.h"

void registry__url_for_message(char *dst, size_t size, const char *url)
{
	size_t n = strcspn(url, "?");
	if (n >= size)
		n = size - 1;
	memcpy(dst, url, n);
	dst[n] = '\0';
}

int registry__insecure_for(const registry_client *c, const char *url, unsigned int flag)
{
	if (!(c->insecure & flag))
		return 0;
	registry__origin o, reg;
	if (registry__origin_of(&o, url) != 0)
		return 0;
	/* The registry on either scheme: insecure covers HTTPS without
	 * verification and plain HTTP (as @flag says), on its host and port only. */
	char base[300];
	snprintf(base, sizeof(base), "%s://%s", o.scheme, c->api_host);
	return registry__origin_of(&reg, base) == 0 && registry__origin_equal(&o, &reg);
}

int registry__plain_http_allowed(const registry_client *c, const char *url)
{
	if (registry__insecure_for(c, url, REGISTRY_INSECURE_ALLOW_HTTP))
		return 1;
	/* A registry served over plain HTTP on loopback (as before), or a
	 * realm on loopback beside a plain-HTTP registry: nothing crosses the
	 * network there. */
	int base_plain = c->base_url && strncmp(c->base_url, "http:", 5) == 0;
	registry__origin o;
	return base_plain && (c->loopback || (registry__origin_of(&o, url) == 0 &&
	                                      registry__host_is_loopback(o.host)));
}

/* The registry's Authorization value for the request's scope (from the
 * token cache, or fetched). */
static int refresh_auth(registry__req *r)
{
	if (!r->registry_auth)
		return 0;
	registry__free_secret(r->auth);
	r->auth = NULL;
	if (!r->defer_token)
		return registry__auth_header(r->c, r->scope, &r->auth);
	int rc = registry__auth_header_cached(r->c, r->scope, &r->auth);
	r->need_token = rc == REGISTRY__AUTH_NEED_TOKEN;
	return r->need_token ? 0 : rc;
}

int registry__req_token_ready(registry__req *r)
{
	r->need_token = 0;
	int rc = refresh_auth(r);
	if (!rc && r->need_token) /* the fetch stored no token for the scope */
		rc = registry__fail(REGISTRY_EIO, "token cache lost its entry");
	return rc;
}

static int begin(registry__req *r, registry_client *c, const char *url, const char *origin_url)
{
	memset(r, 0, sizeof(*r));
	r->c = c;
	r->can_repeat = 1;
	if (!(r->start = registry__strdup(url)) || !(r->url = registry__strdup(url)))
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	if (registry__origin_of(&r->origin, origin_url) != 0)
		return registry__fail(REGISTRY_EFORMAT, "bad URL %.200s", origin_url);
	return 0;
}

int registry__req_begin(registry__req *r, registry_client *c, const char *url, const char *scope)
{
	int rc = begin(r, c, url, c->base_url ? c->base_url : url);
	r->scope = scope;
	r->registry_auth = 1;
	return rc ? rc : refresh_auth(r);
}

int registry__req_begin_deferred(registry__req *r, registry_client *c, const char *url, const char *scope)
{
	int rc = begin(r, c, url, c->base_url ? c->base_url : url);
	r->scope = scope;
	r->registry_auth = 1;
	r->defer_token = 1;
	return rc ? rc : refresh_auth(r);
}

int registry__req_begin_external(registry__req *r, registry_client *c, const char *url,
                                 const char *authorization)
{
	int rc = begin(r, c, url, url);
	if (!rc && authorization && !(r->auth = registry__strdup(authorization)))
		rc = registry__fail(REGISTRY_ENOMEM, "out of memory");
	return rc;
}

void registry__req_end(registry__req *r)
{
	free(r->start);
	free(r->url);
	registry__free_secret(r->auth);
	curl_slist_free_all(r->hdrs);
	memset(r, 0, sizeof(*r));
}

static const char *method_of(const registry__req *r);

/* @url for a trace: no query string (signed URLs carry credentials there)
 * and no user info. */
static void trace_url(char *dst, size_t size, const char *url)
{
	const char *p = strstr(url, "://");
	const char *host = p ? p + 3 : url;
	size_t hlen = strcspn(host, "/?#");
	const char *at = memchr(host, '@', hlen);
	char joined[1024];
	if (at && p)
		snprintf(joined, sizeof(joined), "%.*s%s", (int)(host - url), url, at + 1);
	else
		snprintf(joined, sizeof(joined), "%s", url);
	registry__url_for_message(dst, size, joined);
	dst[strcspn(dst, "#")] = '\0';
}

/* One event of attempt @attempt (1 for the first) at @url (shown as
 * trace_url) for the client's trace callback. */
static void trace_at(registry__req *r, int what, long status, const char *url, int attempt)
{
	registry_trace_event e = {.version = REGISTRY_TRACE_EVENT_VERSION, .what = what,
	                          .method = method_of(r), .url = url, .status = (int)status,
	                          .attempt = attempt};
	if (what != REGISTRY_TRACE_SENT && r->h) {
		curl_off_t us = 0, up = 0, down = 0;
		long conns = 0;
		curl_easy_getinfo(r->h, CURLINFO_TOTAL_TIME_T, &us);
		curl_easy_getinfo(r->h, CURLINFO_SIZE_UPLOAD_T, &up);
		curl_easy_getinfo(r->h, CURLINFO_SIZE_DOWNLOAD_T, &down);
		curl_easy_getinfo(r->h, CURLINFO_NUM_CONNECTS, &conns);
		e.elapsed_us = us;
		e.bytes_sent = up;
		e.bytes_received = down;
		e.new_connections = (int)conns;
	}
	registry__client_trace(r->c, &e);
}

static void trace(registry__req *r, int what, long status)
{
	if (!r->c->trace)
		return;
	char url[1024];
	trace_url(url, sizeof(url), r->url);
	trace_at(r, what, status, url, r->attempts + 1);
}

static int on_origin(const registry__req *r, const char *url)
{
	registry__origin o;
	return registry__origin_of(&o, url) == 0 && registry__origin_equal(&o, &r->origin);
}

static int add_line(struct curl_slist **l, const char *line)
{
	struct curl_slist *n = curl_slist_append(*l, line);
	if (!n)
		return registry__nomem();
	*l = n;
	return 0;
}

/* Every header line of an attempt, from here only: no fixed-size buffer,
 * so a token of any length goes out whole on every path. */
static int build_headers(registry__req *r, struct curl_slist **out)
{
	struct curl_slist *l = NULL;
	int rc = add_line(&l, "Expect:");
	if (!rc && r->auth && on_origin(r, r->url)) {
		registry__buf line;
		registry__buf_init(&line, 0);
		rc = registry__buf_printf(&line, "Authorization: %s", r->auth);
		if (!rc)
			rc = add_line(&l, line.data);
		if (line.data)
			sodium_memzero(line.data, line.len);
		registry__buf_free(&line);
	}
	if (!rc && r->range_from > 0) {
		char range[64];
		snprintf(range, sizeof(range), "Range: bytes=%lld-", (long long)r->range_from);
		rc = add_line(&l, range);
	}
	for (size_t i = 0; !rc && r->headers && r->headers[i]; i++)
		rc = add_line(&l, r->headers[i]);
	/* The caller's own lines: for the registry alone, as its credentials
	 * are (they may well be credentials of a gateway in front of it). */
	if (r->registry_auth && on_origin(r, r->url))
		for (const struct curl_slist *e = r->c->extra_headers; !rc && e; e = e->next)
			rc = add_line(&l, e->data);
	if (rc) {
		curl_slist_free_all(l);
		return registry__fail(rc, "out of memory");
	}
	*out = l;
	return 0;
}

int registry__req_configure(registry__req *r, CURL *h)
{
	registry_client *c = r->c;
	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;
	int rc = build_headers(r, &r->hdrs);
	if (rc)
		return rc;
	curl_easy_reset(h);
	int https = strncasecmp(r->url, "https:", 6) == 0;
	registry__client_apply_settings(c, h, https && !registry__insecure_for(c, r->url, REGISTRY_INSECURE_NO_VERIFY));
	curl_easy_setopt(h, CURLOPT_URL, r->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->hdrs);
	r->h = h;
	trace(r, REGISTRY_TRACE_SENT, 0);
	return 0;
}

static const char *method_of(const registry__req *r)
{
	return r->method ? r->method : "GET";
}

/* Spend one unit of the retry budget: 1 when there was one left. */
static int spend(registry__req *r, const registry__response *resp)
{
	if (r->no_retry || !r->can_repeat || r->attempts >= r->c->retries)
		return 0;
	r->wait_ms = registry__backoff_ms(r->c, r->attempts, resp);
	r->attempts++;
	return 1;
}

/* Start over at the URL the request began at. After a redirect that means
 * asking the registry again: a CDN's signed URL expires (Docker Hub's do
 * within minutes), so a retry there fails where a fresh one works. */
static int back_to_start(registry__req *r)
{
	if (strcmp(r->url, r->start) != 0) {
		char *s = registry__strdup(r->start);
		if (!s)
			return registry__fail(REGISTRY_ENOMEM, "out of memory");
		free(r->url);
		r->url = s;
	}
	r->hops = 0;
	return 0;
}

static registry__req_next fail(registry__req *r, int rc)
{
	r->rc = rc;
	return REGISTRY__REQ_FAIL;
}

static registry__req_next retry(registry__req *r)
{
	int rc = back_to_start(r);
	if (!rc)
		rc = refresh_auth(r); /* a token may have expired meanwhile */
	return rc ? fail(r, rc) : REGISTRY__REQ_RETRY;
}

static registry__req_next follow(registry__req *r, const registry__response *resp)
{
	char shown[512];
	registry__url_for_message(shown, sizeof(shown), r->url);
	if (!resp->location)
		return fail(r, registry__fail(REGISTRY_EPROTOCOL, "%s: redirect without Location", shown));
	if (r->hops + 1 > REGISTRY__MAX_REDIRECTS)
		return fail(r, registry__fail(REGISTRY_EPROTOCOL, "%s: more than %d redirects", shown,
		                              REGISTRY__MAX_REDIRECTS));
	char *next = NULL;
	registry__origin no;
	if (registry__url_resolve(&next, r->url, resp->location) != 0 ||
	    registry__origin_of(&no, next) != 0 ||
	    (strcmp(no.scheme, "https") != 0 && strcmp(no.scheme, "http") != 0)) {
		free(next);
		return fail(r, registry__fail(REGISTRY_EPROTOCOL, "%s: unusable redirect target", shown));
	}
	if (strncasecmp(r->url, "https:", 6) == 0 && strcmp(no.scheme, "http") == 0) {
		free(next);
		return fail(r, registry__fail(REGISTRY_EPROTOCOL,
		                              "%s: refusing a redirect from https to plain http", shown));
	}
	free(r->url);
	r->url = next;
	r->hops++;
	return REGISTRY__REQ_FOLLOW;
}

/* A 401 from the registry's origin: learn from its challenge. Round 0
 * learns it; a rejected token is fetched anew once (round 1); round 2 is
 * final. */
static registry__req_next reauth(registry__req *r, const registry__response *resp)
{
	int round = r->auth ? ++r->rejections : 0;
	int rc = registry__auth_on_401(r->c, r->scope, resp, round);
	r->auth_rounds++;
	if (!rc)
		rc = refresh_auth(r);
	return rc ? fail(r, rc) : REGISTRY__REQ_REAUTH;
}

/* What a redirect target (a CDN) says when its signed URL is no good any
 * more: the registry hands out a fresh one. */
static int stale_target_status(long status)
{
	return status == 401 || status == 403 || status == 404 || status == 410;
}

static registry__req_next step(registry__req *r, CURLcode cc, const registry__response *resp);

registry__req_next registry__req_step(registry__req *r, CURLcode cc, const registry__response *resp)
{
	int attempts = r->attempts;
	char url[1024] = "";
	if (r->c->trace)
		trace_url(url, sizeof(url), r->url);
	registry__req_next next = step(r, cc, resp);
	if (r->c->trace) {
		static const int what[] = {[REGISTRY__REQ_DONE] = REGISTRY_TRACE_DONE,
		                           [REGISTRY__REQ_FOLLOW] = REGISTRY_TRACE_REDIRECT,
		                           [REGISTRY__REQ_REAUTH] = REGISTRY_TRACE_REAUTH,
		                           [REGISTRY__REQ_RETRY] = REGISTRY_TRACE_RETRY,
		                           [REGISTRY__REQ_FAIL] = REGISTRY_TRACE_FAILED};
		/* The attempt that was judged, not the next one. */
		trace_at(r, what[next], cc == CURLE_OK ? resp->status : 0, url, attempts + 1);
	}
	return next;
}

static registry__req_next step(registry__req *r, CURLcode cc, const registry__response *resp)
{
	r->last_cc = cc;
	r->wait_ms = 0;
	if (cc != CURLE_OK) {
		if (registry__curl_retryable(cc) && spend(r, NULL))
			return retry(r);
		char shown[512];
		registry__url_for_message(shown, sizeof(shown), r->url);
		int rc = registry__curl_error(cc);
		registry__fail(rc, "%s %s: %s", method_of(r), shown, curl_easy_strerror(cc));
		registry__error_set_http(0, shown);
		return fail(r, rc);
	}
	long status = resp->status;
	if (registry__is_redirect(status) && !r->no_redirects)
		return follow(r, resp);
	int at_origin = on_origin(r, r->url);
	if (status == 401 && at_origin && r->registry_auth && r->auth_rounds < 3)
		return reauth(r, resp);
	if (r->hops > 0 && !at_origin && stale_target_status(status))
		return spend(r, resp) ? retry(r) : REGISTRY__REQ_DONE;
	if (registry__status_retryable(status) && spend(r, resp))
		return retry(r);
	return REGISTRY__REQ_DONE;
}

registry__req_next registry__req_rerequest(registry__req *r, const char *what, ...)
{
	r->wait_ms = 0;
	if (spend(r, NULL))
		return retry(r);
	char shown[512], did[300];
	registry__url_for_message(shown, sizeof(shown), r->start);
	va_list ap;
	va_start(ap, what);
	vsnprintf(did, sizeof(did), what, ap);
	va_end(ap);
	registry__fail(REGISTRY_EPROTOCOL, "%s %s: the server %s; gave up after %d requests",
	               method_of(r), shown, did, r->attempts + 1);
	registry__error_set_http(0, shown);
	return fail(r, REGISTRY_EPROTOCOL);
}

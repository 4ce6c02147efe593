/*
 * The request engine: one libcurl easy handle per client, reused so that
 * connections stay alive; redirects followed by hand so that credentials
 * never reach another origin; retries with backoff and Retry-After; the
 * choice between HTTPS and plain HTTP for loopback and insecure registries.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <sodium.h>

#include "request.h"

typedef struct xfer {
	registry_client *c;
	const registry__request *req;
	registry__response *resp;
	int sink_rc;
	size_t upload_off;
	int header_bytes;
	int refused_addr; /* refuse_link_local stopped a connection */
} xfer;

/* Sockets for a request that must not reach a link-local address: the
 * check sees the address the name resolved to, before anything is sent. */
curl_socket_t registry__open_socket_checked(struct curl_sockaddr *a, int *refused)
{
	if (registry__addr_forbidden(&a->addr)) {
		*refused = 1;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static curl_socket_t open_socket_checked(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
	xfer *x = ud;
	(void)purpose;
	return registry__open_socket_checked(a, &x->refused_addr);
}

void registry__response_init(registry__response *r)
{
	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	registry__buf_init(&r->body, REGISTRY__JSON_LIMIT);
}

void registry__response_reset_headers(registry__response *r)
{
	char **fields[] = {&r->content_type, &r->docker_content_digest, &r->location, &r->link,
	                   &r->range, &r->www_authenticate, &r->retry_after,
	                   &r->oci_chunk_min_length, &r->content_range, &r->oci_subject,
	                   &r->supports_signatures};
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(fields); i++) {
		free(*fields[i]);
		*fields[i] = NULL;
	}
	r->content_length = -1;
	r->status = 0;
}

void registry__response_free(registry__response *r)
{
	registry__response_reset_headers(r);
	free(r->url);
	r->url = NULL;
	registry__buf_free(&r->body);
	r->body_truncated = 0;
}

static void rate_header(long *slot, const char *value)
{
	char *end;
	long v = strtol(value, &end, 10);
	if (end != value && v >= 0)
		*slot = v;
}

static size_t header_cb(char *buf, size_t size, size_t n, void *ud)
{
	xfer *x = ud;
	size_t len = size * n;
	x->header_bytes += (int)len;
	if (x->header_bytes > 256 * 1024) {
		/* An endless header section: abort, and say so. */
		x->sink_rc = registry__fail(REGISTRY_EPROTOCOL, "response header section larger than 256 KiB");
		return 0;
	}
	if ((x->sink_rc = registry__header_line(x->c, x->resp, buf, len)))
		return 0;
	return len;
}

int registry__parse_count(const char *s, size_t len, int64_t *out)
{
	uint64_t v = 0;
	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > ((uint64_t)INT64_MAX - d) / 10)
			return -1; /* would pass INT64_MAX */
		v = v * 10 + d;
	}
	*out = (int64_t)v;
	return 0;
}

int registry__content_range_start(const char *cr, int64_t *start)
{
	if (!cr || strncmp(cr, "bytes ", 6) != 0)
		return -1;
	size_t n = strcspn(cr + 6, "-");
	if (cr[6 + n] != '-')
		return -1;
	return registry__parse_count(cr + 6, n, start);
}

/* A header we read that we cannot take whole: an error, never a silently
 * shorter answer (a cut Link header would end a tag list early). */
static int header_too_large(const char *name, size_t len)
{
	return registry__fail(REGISTRY_EPROTOCOL, "response header '%s' is %zu bytes, over the limit of %d",
	                      name, len, REGISTRY__HEADER_LIMIT);
}

static int parse_content_length(registry__response *r, const char *v, size_t vlen)
{
	int64_t cl;
	if (registry__parse_count(v, vlen, &cl) != 0) {
		char shown[40];
		registry__excerpt(shown, sizeof(shown), v, vlen);
		return registry__fail(REGISTRY_EPROTOCOL, "response header Content-Length '%s' is not a "
		                      "number of bytes", shown);
	}
	r->content_length = cl;
	return 0;
}

/* Several WWW-Authenticate headers are one list of challenges. */
static int join_challenges(registry__response *r, const char *v, size_t vlen)
{
	char *old = r->www_authenticate;
	size_t olen = old ? strlen(old) : 0;
	if (olen + vlen + 3 > REGISTRY__HEADER_LIMIT)
		return header_too_large("WWW-Authenticate", olen + vlen);
	char *joined = malloc(olen + vlen + 3);
	if (!joined)
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	if (old)
		memcpy(joined, old, olen);
	size_t at = olen;
	if (old) {
		joined[at++] = ',';
		joined[at++] = ' ';
	}
	memcpy(joined + at, v, vlen);
	joined[at + vlen] = '\0';
	free(old);
	r->www_authenticate = joined;
	return 0;
}

int registry__header_line(registry_client *c, registry__response *r, const char *buf, size_t len)
{
	if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
		/* A new response (after 1xx): forget the previous one's headers. */
		registry__response_reset_headers(r);
		/* curl's line is not NUL-terminated: read the code within it. */
		const char *sp = memchr(buf, ' ', len);
		long status = 0;
		for (const char *d = sp ? sp + 1 : buf + len; d < buf + len && *d >= '0' && *d <= '9' &&
		                                               status < 1000; d++)
			status = status * 10 + (*d - '0');
		r->status = status;
		return 0;
	}
	const char *colon = memchr(buf, ':', len);
	if (!colon)
		return 0;
	size_t nlen = (size_t)(colon - buf);
	char name[64];
	if (nlen >= sizeof(name))
		return 0; /* no header we read has so long a name */
	for (size_t i = 0; i < nlen; i++)
		name[i] = (char)((buf[i] >= 'A' && buf[i] <= 'Z') ? buf[i] | 0x20 : buf[i]);
	name[nlen] = '\0';
	static const struct {
		const char *name;
		size_t offset;
	} known[] = {
		{"content-type", offsetof(registry__response, content_type)},
		{"docker-content-digest", offsetof(registry__response, docker_content_digest)},
		{"location", offsetof(registry__response, location)},
		{"link", offsetof(registry__response, link)},
		{"range", offsetof(registry__response, range)},
		{"retry-after", offsetof(registry__response, retry_after)},
		{"oci-chunk-min-length", offsetof(registry__response, oci_chunk_min_length)},
		{"content-range", offsetof(registry__response, content_range)},
		{"oci-subject", offsetof(registry__response, oci_subject)},
		{"x-registry-supports-signatures", offsetof(registry__response, supports_signatures)},
	};
	size_t k = 0;
	while (k < REGISTRY_ARRAY_LEN(known) && strcmp(name, known[k].name) != 0)
		k++;
	long *rate = strcmp(name, "ratelimit-limit") == 0       ? &c->rate_limit
	             : strcmp(name, "ratelimit-remaining") == 0 ? &c->rate_remaining
	                                                        : NULL;
	int is_auth = strcmp(name, "www-authenticate") == 0;
	int is_length = strcmp(name, "content-length") == 0;
	if (k == REGISTRY_ARRAY_LEN(known) && !rate && !is_auth && !is_length)
		return 0; /* not one we read: its size does not matter */
	if (len > REGISTRY__HEADER_LIMIT) {
		char shown[64];
		registry__excerpt(shown, sizeof(shown), buf, nlen);
		return header_too_large(shown, len);
	}
	const char *v = colon + 1, *end = buf + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t vlen = (size_t)(end - v);
	/* A value with CR, LF or NUL inside is not a field value (RFC 9110
	 * 5.5): ignore the field rather than keep a cut or smuggled value. */
	for (size_t i = 0; i < vlen; i++)
		if (v[i] == '\r' || v[i] == '\n' || v[i] == '\0')
			return 0;
	if (is_auth)
		return join_challenges(r, v, vlen);
	if (is_length)
		return parse_content_length(r, v, vlen);
	if (rate) {
		char tmp[64];
		if (vlen < sizeof(tmp)) {
			memcpy(tmp, v, vlen);
			tmp[vlen] = '\0';
			rate_header(rate, tmp);
		}
		return 0;
	}
	char **slot = (char **)((char *)r + known[k].offset);
	free(*slot);
	*slot = registry__strndup(v, vlen);
	return *slot ? 0 : registry__fail(REGISTRY_ENOMEM, "out of memory");
}

static size_t write_cb(char *ptr, size_t size, size_t n, void *ud)
{
	xfer *x = ud;
	size_t len = size * n;
	long st = x->resp->status;
	if (st >= 200 && st < 300 && x->req->sink) {
		int rc = x->req->sink(ptr, len, x->req->sink_ud);
		if (rc) {
			x->sink_rc = rc;
			return 0;
		}
		return len;
	}
	if (st >= 300 && st < 400)
		return len; /* redirect bodies are dropped */
	int rc = registry__buf_append(&x->resp->body, ptr, len);
	if (rc == REGISTRY_ETOOLARGE && !(st >= 200 && st < 300)) {
		/* An oversized error body: keep what fits, stop reading. */
		x->resp->body_truncated = 1;
		return 0;
	}
	if (rc) {
		x->sink_rc = rc;
		return 0;
	}
	return len;
}

static size_t read_cb(char *buf, size_t size, size_t n, void *ud)
{
	xfer *x = ud;
	size_t len = size * n;
	const registry__request *req = x->req;
	if (req->source) {
		long got = req->source(buf, len, req->source_ud);
		if (got < 0) {
			x->sink_rc = (int)got;
			return CURL_READFUNC_ABORT;
		}
		return (size_t)got;
	}
	size_t left = req->body_len - x->upload_off;
	if (len > left)
		len = left;
	memcpy(buf, (const char *)req->body + x->upload_off, len);
	x->upload_off += len;
	return len;
}

/* curl rewinds the body to send it again on a fresh connection when a
 * reused one turned out dead: the start of the body only. */
static int seek_cb(void *ud, curl_off_t offset, int origin)
{
	xfer *x = ud;
	const registry__request *req = x->req;
	if (origin != SEEK_SET || offset != 0)
		return CURL_SEEKFUNC_CANTSEEK;
	if (req->source) {
		if (!req->rewind || req->rewind(req->source_ud) != 0)
			return CURL_SEEKFUNC_CANTSEEK;
	} else {
		x->upload_off = 0;
	}
	return CURL_SEEKFUNC_OK;
}

int registry__curl_error(CURLcode cc)
{
	switch (cc) {
	case CURLE_OK:
		return 0;
	case CURLE_OUT_OF_MEMORY:
		return REGISTRY_ENOMEM;
	case CURLE_URL_MALFORMAT:
		return REGISTRY_EFORMAT;
	case CURLE_UNSUPPORTED_PROTOCOL:
		return REGISTRY_EPROTOCOL;
	case CURLE_ABORTED_BY_CALLBACK:
		return REGISTRY_ECANCELED;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
		return REGISTRY_ETLS;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
	case CURLE_HTTP3:
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_BAD_CONTENT_ENCODING:
		return REGISTRY_EPROTOCOL;
	case CURLE_READ_ERROR:
	case CURLE_WRITE_ERROR:
		return REGISTRY_EIO;
	case CURLE_OPERATION_TIMEDOUT: /* connect, total and low-speed limits alike */
		return REGISTRY_ETIMEDOUT;
	default:
		return REGISTRY_ENETWORK;
	}
}

/* Connection trouble worth another attempt (not refused or unresolvable). */
int registry__curl_retryable(CURLcode cc)
{
	switch (cc) {
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_WEIRD_SERVER_REPLY:
		return 1;
	default:
		return 0;
	}
}

static int xferinfo_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return registry__client_canceled(ud);
}

/* A PEM text of the client's for libcurl, which keeps a copy of its own. */
static void set_blob(CURL *h, CURLoption opt, const char *pem)
{
	struct curl_blob b = {.data = (void *)pem, .len = strlen(pem), .flags = CURL_BLOB_COPY};
	curl_easy_setopt(h, opt, &b);
}

static void apply_tls(registry_client *c, CURL *h)
{
	if (c->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	if (c->ca_path)
		curl_easy_setopt(h, CURLOPT_CAPATH, c->ca_path);
	if (c->ca_pem)
		set_blob(h, CURLOPT_CAINFO_BLOB, c->ca_pem);
	if (c->cert_file)
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file);
	if (c->cert_pem)
		set_blob(h, CURLOPT_SSLCERT_BLOB, c->cert_pem);
	if (c->cert_file || c->cert_pem)
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
	if (c->key_file)
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file);
	if (c->key_pem)
		set_blob(h, CURLOPT_SSLKEY_BLOB, c->key_pem);
	if (c->key_password)
		curl_easy_setopt(h, CURLOPT_KEYPASSWD, c->key_password);
	if (c->tls_min == REGISTRY_TLS_1_2)
		curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	else if (c->tls_min == REGISTRY_TLS_1_3)
		curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
}

void registry__client_apply_settings(registry_client *c, CURL *h, int https_verify)
{
	if (c->cancel) {
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
	}
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, https_verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, https_verify ? 2L : 0L);
	apply_tls(c, h);
	if (c->proxy_set)
		curl_easy_setopt(h, CURLOPT_PROXY, c->proxy ? c->proxy : "");
	if (c->no_proxy)
		curl_easy_setopt(h, CURLOPT_NOPROXY, c->no_proxy);
	if (registry__client_curl_share(c))
		curl_easy_setopt(h, CURLOPT_SHARE, registry__client_curl_share(c));
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms);
	if (c->total_ms)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->total_ms);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->low_speed_seconds);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, c->low_speed_bytes);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	if (c->resolve)
		curl_easy_setopt(h, CURLOPT_RESOLVE, c->resolve);
	curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
}

/* One HTTP exchange at the machine's current URL: no redirects, no
 * retries. Returns 0 with *ccode for the machine to judge, or the code of a
 * failure of our own side (the sink, the source, a refused address). */
static int perform_once(registry_client *c, registry__req *r, const registry__request *req,
                        registry__response *resp, CURLcode *ccode)
{
	CURL *h = c->easy;
	xfer x = {.c = c, .req = req, .resp = resp};
	registry__response_reset_headers(resp);
	registry__buf_free(&resp->body);
	resp->body.limit = req->body_limit ? req->body_limit : REGISTRY__JSON_LIMIT;
	resp->body_truncated = 0;
	int rc = registry__req_configure(r, h);
	if (rc)
		return rc;

	const char *method = req->method ? req->method : "GET";
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
	int has_body = req->body || req->source;
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (has_body || strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0 ||
	           strcmp(method, "PATCH") == 0) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(h, CURLOPT_READDATA, &x);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_cb);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, &x);
		curl_off_t len = req->source ? (curl_off_t)req->source_len : (curl_off_t)req->body_len;
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, len);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}

	if (req->refuse_link_local) {
		curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket_checked);
		curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &x);
		/* A connection opened before the check does not count. */
		curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
	}
	CURLcode cc = curl_easy_perform(h);
	*ccode = cc;
	free(resp->url);
	resp->url = registry__strdup(r->url);

	if (cc == CURLE_OK) {
		long status = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		resp->status = status;
		return 0;
	}
	char shown[512];
	registry__url_for_message(shown, sizeof(shown), r->url);
	if (x.sink_rc) {
		/* The sink or source said why; name the request if it did not. */
		if (registry_error_code(registry_error_last()) != x.sink_rc) {
			registry__fail(x.sink_rc, "%s %s: %s", method, shown,
			               x.sink_rc == REGISTRY_ETOOLARGE ? "response larger than allowed"
			                                               : registry_strerror(x.sink_rc));
			registry__error_set_http((int)resp->status, shown);
		}
		return x.sink_rc;
	}
	if (cc == CURLE_WRITE_ERROR && resp->body_truncated) {
		*ccode = CURLE_OK; /* an oversized error body: the status is what matters */
		return 0;
	}
	if (x.refused_addr) {
		registry__fail(REGISTRY_EPROTOCOL, "%s %s: the host resolves to a link-local, unspecified or "
		               "metadata address; refused", method, shown);
		registry__error_set_http(0, shown);
		return REGISTRY_EPROTOCOL;
	}
	return 0;
}

int registry__is_redirect(long status)
{
	return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* The cancel hook as a stop function for registry__sleep_ms_unless. */
static int canceled(void *client)
{
	return registry__client_canceled(client);
}

long registry__backoff_ms(const registry_client *c, int attempt, const registry__response *resp)
{
	if (resp && resp->retry_after) {
		long ms = registry__retry_after_ms(resp->retry_after, time(NULL));
		if (ms >= 0)
			return ms > c->max_wait_ms ? c->max_wait_ms : ms;
	}
	long base = c->backoff_ms;
	long ms = base;
	for (int i = 0; i < attempt && ms < c->max_wait_ms; i++)
		ms *= 2;
	ms += base > 1 ? (long)randombytes_uniform((uint32_t)(base / 2 + 1)) : 0;
	return ms > c->max_wait_ms ? c->max_wait_ms : ms;
}

int registry__status_retryable(long status)
{
	return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
	       status == 504;
}

/* The blocking driver of the request machine: curl_easy_perform on the
 * client's handle, sleeping (and hearing the cancel hook) between tries. */
static int drive(registry_client *c, registry__req *r, const registry__request *req,
                 registry__response *resp)
{
	r->method = req->method;
	r->headers = req->headers;
	r->can_repeat = !req->source || req->rewind;
	r->no_retry = req->no_retry;
	r->no_redirects = req->no_redirects;
	for (;;) {
		CURLcode cc = CURLE_OK;
		int rc = perform_once(c, r, req, resp, &cc);
		if (rc)
			return rc;
		switch (registry__req_step(r, cc, resp)) {
		case REGISTRY__REQ_DONE:
			return 0;
		case REGISTRY__REQ_FAIL:
			return r->rc;
		case REGISTRY__REQ_RETRY:
			if (registry__sleep_ms_unless(r->wait_ms, canceled, c) || registry__client_canceled(c))
				return registry__fail(REGISTRY_ECANCELED, "canceled while waiting to retry");
			registry__error_clear();
			break;
		case REGISTRY__REQ_FOLLOW:
		case REGISTRY__REQ_REAUTH:
			break;
		}
		/* A streamed body was (partly) consumed: start it over for the
		 * next attempt, or refuse when it cannot be. */
		if (req->source && (!req->rewind || req->rewind(req->source_ud) != 0)) {
			char shown[512];
			registry__url_for_message(shown, sizeof(shown), r->url);
			return registry__fail(REGISTRY_EPROTOCOL,
			                      "%s: the request body cannot be sent again", shown);
		}
	}
}

/* The request on one base URL, with auth rounds and retries. */
static int do_on_base(registry_client *c, const registry__request *req, registry__response *resp,
                      const char *base, CURLcode *last_cc)
{
	char *url = NULL;
	int rc;
	if ((rc = registry__url_resolve(&url, base, req->url)))
		return registry__fail(rc, "bad request URL %.200s", req->url);
	registry__req r;
	rc = registry__req_begin(&r, c, url, req->scope);
	free(url);
	if (!rc)
		rc = drive(c, &r, req, resp);
	*last_cc = r.last_cc;
	registry__req_end(&r);
	return rc;
}

/*
 * Whether a loopback registry's port speaks no TLS at all, found with a bare
 * handshake: no certificate check, no request. Asking with the verified
 * request itself loads the CA bundle first, which costs tens of milliseconds
 * and a few MB of memory for nothing when the answer is plain HTTP. 1: a TLS
 * handshake failed there; 0: it succeeded, or the question stays open (then
 * the verified request finds out, and reports, as it would have anyway).
 */
static int loopback_without_tls(registry_client *c)
{
	CURL *h = curl_easy_init();
	if (!h)
		return 0;
	char url[320];
	snprintf(url, sizeof(url), "https://%s/", c->api_host);
	registry__client_apply_settings(c, h, 0);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	CURLcode cc = curl_easy_perform(h);
	curl_easy_cleanup(h);
	return cc == CURLE_SSL_CONNECT_ERROR;
}

static _Thread_local const registry__do_hook *do_hook;

const registry__do_hook *registry__do_hook_set(const registry__do_hook *h)
{
	const registry__do_hook *before = do_hook;
	do_hook = h;
	return before;
}

const registry__do_hook *registry__do_hook_get(void)
{
	return do_hook;
}

int registry__client_do(registry_client *c, const registry__request *req, registry__response *resp)
{
	CURLcode cc = CURLE_OK;
	if (do_hook)
		return do_hook->perform(do_hook->ud, c, req, NULL, 0, resp);
	if (c->base_url)
		return do_on_base(c, req, resp, c->base_url, &cc);

	/* No scheme chosen yet: HTTPS, then plain HTTP for loopback or insecure
	 * registries, but only when the server does not speak TLS (or the
	 * registry is marked insecure); a certificate that fails verification
	 * proves it does, and is an error. */
	const char *schemes[2] = {"https", "http"};
	int allow_http = (c->insecure & REGISTRY_INSECURE_ALLOW_HTTP) != 0;
	int no_verify = (c->insecure & REGISTRY_INSECURE_NO_VERIFY) != 0;
	int allowed = (c->loopback || allow_http) ? 2 : 1;
	int first = 0;
	if (c->loopback && !allow_http && !no_verify && loopback_without_tls(c))
		first = 1; /* what the verified HTTPS attempt would conclude, without its cost */
	int rc = 0;
	for (int i = first; i < allowed; i++) {
		char base[300];
		snprintf(base, sizeof(base), "%s://%s", schemes[i], c->api_host);
		/* Tentatively: the auth code judges the token realm by it. */
		if (!(c->base_url = registry__strdup(base)))
			return registry__fail(REGISTRY_ENOMEM, "out of memory");
		rc = do_on_base(c, req, resp, c->base_url, &cc);
		if (rc == 0 || resp->status != 0)
			return rc; /* the registry answered on this scheme: keep it */
		free(c->base_url);
		c->base_url = NULL;
		if (i == 0 && !(cc == CURLE_SSL_CONNECT_ERROR || (no_verify && rc == REGISTRY_ETLS)))
			break;
		if (i + 1 < allowed) /* the last attempt's failure is the one to report */
			registry__error_clear();
	}
	if (rc == REGISTRY_ETLS && allowed == 1) {
		char msg[600];
		snprintf(msg, sizeof(msg), "%s", registry_error_message(registry_error_last()));
		registry__fail(rc, "%s (if the registry serves plain HTTP, mark it insecure)", msg);
		char shown[300];
		snprintf(shown, sizeof(shown), "https://%s/", c->api_host);
		registry__error_set_http(0, shown);
	}
	return rc;
}

/* Perform a request on another origin (the token realm) with @authorization
 * attached only there. Used by the auth code; no auth rounds. */
int registry__client_do_external(registry_client *c, const registry__request *req,
                                 const char *authorization, registry__response *resp);

int registry__client_do_external(registry_client *c, const registry__request *req,
                                 const char *authorization, registry__response *resp)
{
	/* The realm check lets an insecure client's realm be plain HTTP
	 * anywhere; `insecure` is about the registry's own origin only. */
	if (strncasecmp(req->url, "http:", 5) == 0 && !registry__plain_http_allowed(c, req->url)) {
		char shown[512];
		registry__url_for_message(shown, sizeof(shown), req->url);
		return registry__fail(REGISTRY_EPROTOCOL, "%s: plain HTTP to another origin than the "
		                      "registry's; refused (insecure applies to the registry only)", shown);
	}
	if (do_hook)
		return do_hook->perform(do_hook->ud, c, req, authorization, 1, resp);
	registry__req r;
	int rc = registry__req_begin_external(&r, c, req->url, authorization);
	if (!rc)
		rc = drive(c, &r, req, resp);
	registry__req_end(&r);
	return rc;
}

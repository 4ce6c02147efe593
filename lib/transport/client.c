/* The client handle: creation, settings, ping. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client_impl.h"

#define DEFAULT_USER_AGENT "libregistry/" REGISTRY_VERSION_STRING

/* "host", "host:port", "[v6]:port": nothing else (no scheme, path, user). */
static int check_registry_name(const char *registry)
{
	size_t n = strlen(registry);
	if (n == 0 || n > 255)
		return registry__fail(REGISTRY_EFORMAT, "registry '%.80s': empty or longer than 255", registry);
	if (strstr(registry, "://"))
		return registry__fail(REGISTRY_EFORMAT,
		                      "registry '%.80s': give host[:port] without a scheme", registry);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)registry[i];
		if (!(ch == '.' || ch == '-' || ch == ':' || ch == '[' || ch == ']' || ch == '_' ||
		      (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')))
			return registry__fail(REGISTRY_EFORMAT,
			                      "registry '%.80s': character '%c' is not allowed in host[:port]",
			                      registry, ch >= 32 && ch < 127 ? ch : '?');
	}
	char url[300];
	snprintf(url, sizeof(url), "https://%s/", registry);
	registry__origin o;
	if (registry__origin_of(&o, url) != 0 || !o.host[0])
		return registry__fail(REGISTRY_EFORMAT, "registry '%.80s' is not a valid host[:port]", registry);
	const char *colon = registry[0] == '[' ? strstr(registry, "]:") : strrchr(registry, ':');
	if (colon) {
		const char *p = colon + (registry[0] == '[' ? 2 : 1);
		char *end;
		long port = strtol(p, &end, 10);
		if (!*p || *end || port < 1 || port > 65535)
			return registry__fail(REGISTRY_EFORMAT, "registry '%.80s': bad port", registry);
	}
	return 0;
}

int registry_client_new(registry_client **out, const char *registry)
{
	REGISTRY__ENTER(rc);
	if (!out || !registry)
		return registry__fail(REGISTRY_EINVAL, "registry_client_new: NULL argument");
	*out = NULL;
	if ((rc = check_registry_name(registry)))
		return rc;
	registry_client *c = calloc(1, sizeof(*c));
	if (!c)
		return registry__nomem();
	const char *api = registry;
	if (strcasecmp(registry, "docker.io") == 0 || strcasecmp(registry, "index.docker.io") == 0)
		api = "registry-1.docker.io";
	c->registry = registry__strdup(registry);
	c->api_host = registry__strdup(api);
	c->user_agent = registry__strdup(DEFAULT_USER_AGENT);
	c->easy = curl_easy_init();
	c->share_owned = 1;
	if (!c->registry || !c->api_host || !c->user_agent || !c->easy ||
	    registry__share_new(&c->share) != 0) {
		registry_client_free(c);
		return registry__fail(REGISTRY_ENOMEM, "out of memory creating a client");
	}
	char host[260];
	snprintf(host, sizeof(host), "%s", api);
	char *colon = host[0] == '[' ? strstr(host, "]:") : strrchr(host, ':');
	if (colon)
		colon[host[0] == '[' ? 1 : 0] = '\0';
	c->loopback = registry__host_is_loopback(host);
	c->connect_ms = REGISTRY__CONNECT_MS;
	c->low_speed_seconds = REGISTRY__LOW_SPEED_SECONDS;
	c->low_speed_bytes = REGISTRY__LOW_SPEED_BYTES;
	c->retries = REGISTRY__RETRIES;
	c->backoff_ms = REGISTRY__BACKOFF_MS;
	c->max_wait_ms = REGISTRY__MAX_WAIT_MS;
	c->max_parallel = 4;
	c->rate_limit = c->rate_remaining = -1;
	*out = c;
	return 0;
}

void registry_client_free(registry_client *c)
{
	if (!c)
		return;
	if (c->easy)
		curl_easy_cleanup(c->easy);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	if (c->share_owned) /* after every handle that uses it (its clones' too) */
		registry__share_free(c->share);
	curl_slist_free_all(c->resolve);
	curl_slist_free_all(c->extra_headers);
	registry__tokens_clear(c);
#define FREE_SECRET(f) registry__free_secret(c->f);
#define FREE_STRING(f) free(c->f);
	REGISTRY__CLIENT_SECRETS(FREE_SECRET)
	REGISTRY__CLIENT_STRINGS(FREE_STRING)
#undef FREE_SECRET
#undef FREE_STRING
	free(c);
}

/* At the top of a function body (the scope guard lives until it returns). */
#define CLIENT_ENTER(c)                                                                  \
	REGISTRY__ENTER(enter_rc_);                                                      \
	if (!(c))                                                                        \
	return registry__fail(REGISTRY_EINVAL, "%s: NULL client", __func__)

static int nomem(int rc)
{
	return rc ? registry__fail(rc, "out of memory") : 0;
}

int registry_tls_options_init(registry_tls_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_tls_options_init: NULL options");
	*opts = (registry_tls_options)REGISTRY_TLS_OPTIONS_INIT;
	return 0;
}

/* The rules registry_client_set_tls() checks before it changes anything. */
static int tls_check(const registry_tls_options *o)
{
	int rc = registry__options_check("registry_client_set_tls", o->version,
	                                 REGISTRY_TLS_OPTIONS_VERSION, o->flags, 0);
	if (rc)
		return rc;
	if ((o->cert_file && o->cert_pem) || (o->key_file && o->key_pem))
		return registry__fail(REGISTRY_EINVAL, "registry_client_set_tls: a certificate or key is "
		                      "given both as a file and in memory");
	if ((o->key_file || o->key_pem) && !o->cert_file && !o->cert_pem)
		return registry__fail(REGISTRY_EINVAL, "registry_client_set_tls: a key without a certificate");
	if (o->min_version != REGISTRY_TLS_DEFAULT && o->min_version != REGISTRY_TLS_1_2 &&
	    o->min_version != REGISTRY_TLS_1_3)
		return registry__fail(REGISTRY_EINVAL, "registry_client_set_tls: unknown min_version %d",
		                      o->min_version);
	return 0;
}

/* Replace a string field (a secret: wiped) with a copy of @v: 0 or
 * REGISTRY_ENOMEM (recorded). */
static int take(char **slot, const char *v, int secret)
{
	char *copy = NULL;
	if (v && !(copy = registry__strdup(v)))
		return registry__nomem();
	if (secret)
		registry__free_secret(*slot);
	else
		free(*slot);
	*slot = copy;
	return 0;
}

int registry_client_set_tls(registry_client *c, const registry_tls_options *opts)
{
	CLIENT_ENTER(c);
	registry_tls_options defaults = REGISTRY_TLS_OPTIONS_INIT;
	const registry_tls_options *o = opts ? opts : &defaults;
	int rc = tls_check(o);
	if (rc)
		return rc;
	/* Copies first, so that out of memory leaves the settings as they were. */
	registry_client n = {0};
	if (take(&n.ca_file, o->ca_file, 0) || take(&n.ca_path, o->ca_path, 0) ||
	    take(&n.ca_pem, o->ca_pem, 0) || take(&n.cert_file, o->cert_file, 0) ||
	    take(&n.cert_pem, o->cert_pem, 0) || take(&n.key_file, o->key_file, 0) ||
	    take(&n.key_pem, o->key_pem, 1) || take(&n.key_password, o->key_password, 1))
		rc = REGISTRY_ENOMEM; /* recorded by take() */
#define SWAP(f) { char *t = c->f; c->f = n.f; n.f = t; }
#define TLS_STRINGS(X) X(ca_file) X(ca_path) X(ca_pem) X(cert_file) X(cert_pem) X(key_file)
	if (!rc) {
		TLS_STRINGS(SWAP)
		SWAP(key_pem)
		SWAP(key_password)
		c->tls_min = o->min_version;
	}
#define FREE(f) free(n.f);
	TLS_STRINGS(FREE)
#undef FREE
#undef TLS_STRINGS
#undef SWAP
	registry__free_secret(n.key_pem);
	registry__free_secret(n.key_password);
	return rc;
}

int registry_client_set_insecure(registry_client *c, unsigned int flags)
{
	CLIENT_ENTER(c);
	/* No options struct here, but the same unknown-bit rule as one. */
	const unsigned int known = REGISTRY_INSECURE_ALLOW_HTTP | REGISTRY_INSECURE_NO_VERIFY;
	if (flags & ~known)
		return registry__fail(REGISTRY_EINVAL, "registry_client_set_insecure: unknown flags 0x%x",
		                      flags & ~known);
	c->insecure = flags;
	return 0;
}

int registry_client_set_user_agent(registry_client *c, const char *ua)
{
	CLIENT_ENTER(c);
	if (ua && (strchr(ua, '\r') || strchr(ua, '\n')))
		return registry__fail(REGISTRY_EINVAL, "user agent must be one line");
	return nomem(registry__set_string(&c->user_agent, ua ? ua : DEFAULT_USER_AGENT));
}

int registry_timeout_options_init(registry_timeout_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_timeout_options_init: NULL options");
	*opts = (registry_timeout_options)REGISTRY_TIMEOUT_OPTIONS_INIT;
	return 0;
}

/* 1 when @v is a usable duration or rate: not negative, and small enough
 * for the long libcurl takes on every platform. */
static int in_long_range(int64_t v)
{
	return v >= 0 && v <= REGISTRY__SETTING_MAX;
}

int registry_client_set_timeouts(registry_client *c, const registry_timeout_options *opts)
{
	CLIENT_ENTER(c);
	registry_timeout_options defaults = REGISTRY_TIMEOUT_OPTIONS_INIT;
	const registry_timeout_options *t = opts ? opts : &defaults;
	int rc = registry__options_check("registry_client_set_timeouts", t->version,
	                                 REGISTRY_TIMEOUT_OPTIONS_VERSION, t->flags, 0);
	if (rc)
		return rc;
	if (!in_long_range(t->connect_ms) || !in_long_range(t->total_ms) ||
	    !in_long_range(t->low_speed_bytes) || !in_long_range(t->low_speed_seconds))
		return registry__fail(REGISTRY_EINVAL, "registry_client_set_timeouts: a value is negative or "
		                      "above %ld (connect %lld ms, total %lld ms, low speed %lld bytes/s for %lld s)",
		                      REGISTRY__SETTING_MAX, (long long)t->connect_ms, (long long)t->total_ms,
		                      (long long)t->low_speed_bytes, (long long)t->low_speed_seconds);
	c->connect_ms = t->connect_ms ? (long)t->connect_ms : REGISTRY__CONNECT_MS;
	c->total_ms = (long)t->total_ms;
	c->low_speed_bytes = t->low_speed_bytes ? (long)t->low_speed_bytes : REGISTRY__LOW_SPEED_BYTES;
	c->low_speed_seconds = t->low_speed_seconds ? (long)t->low_speed_seconds : REGISTRY__LOW_SPEED_SECONDS;
	return 0;
}

int registry_retry_options_init(registry_retry_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_retry_options_init: NULL options");
	*opts = (registry_retry_options)REGISTRY_RETRY_OPTIONS_INIT;
	return 0;
}

int registry_client_set_retries(registry_client *c, const registry_retry_options *opts)
{
	CLIENT_ENTER(c);
	registry_retry_options defaults = REGISTRY_RETRY_OPTIONS_INIT;
	const registry_retry_options *o = opts ? opts : &defaults;
	int rc = registry__options_check("registry_client_set_retries", o->version,
	                                 REGISTRY_RETRY_OPTIONS_VERSION, o->flags, REGISTRY_RETRY_NONE);
	if (rc)
		return rc;
	/* Bounded so that the backoff (doubling up to the maximum, plus half
	 * the base as jitter) stays far below LONG_MAX even where long has 32
	 * bits, and a retry never waits longer than a day. */
	if (o->count < 0 || o->count > REGISTRY__RETRIES_MAX)
		return registry__fail(REGISTRY_EINVAL, "registry_client_set_retries: count %d, not 0..%d",
		                      o->count, REGISTRY__RETRIES_MAX);
	if (o->backoff_base_ms < 0 || o->backoff_base_ms > REGISTRY__BACKOFF_BASE_MAX_MS)
		return registry__fail(REGISTRY_EINVAL, "registry_client_set_retries: the backoff base is "
		                      "0..%ld ms (1 hour), not %lld", REGISTRY__BACKOFF_BASE_MAX_MS,
		                      (long long)o->backoff_base_ms);
	if (o->max_wait_ms < 0 || o->max_wait_ms > REGISTRY__MAX_WAIT_MAX_MS)
		return registry__fail(REGISTRY_EINVAL, "registry_client_set_retries: the longest wait is "
		                      "0..%ld ms (1 day), not %lld", REGISTRY__MAX_WAIT_MAX_MS,
		                      (long long)o->max_wait_ms);
	c->retries = (o->flags & REGISTRY_RETRY_NONE) ? 0 : o->count ? o->count : REGISTRY__RETRIES;
	c->backoff_ms = o->backoff_base_ms ? (long)o->backoff_base_ms : REGISTRY__BACKOFF_MS;
	c->max_wait_ms = o->max_wait_ms ? (long)o->max_wait_ms : REGISTRY__MAX_WAIT_MS;
	return 0;
}

int registry_client_set_max_parallel(registry_client *c, int max_parallel)
{
	CLIENT_ENTER(c);
	if (max_parallel < 1 || max_parallel > REGISTRY_MAX_PARALLEL)
		return registry__fail(REGISTRY_EINVAL, "max_parallel must be 1..%d, not %d",
		                      REGISTRY_MAX_PARALLEL, max_parallel);
	c->max_parallel = max_parallel;
	return 0;
}

int registry_client_set_proxy(registry_client *c, const char *proxy, const char *no_proxy)
{
	CLIENT_ENTER(c);
	char *p = NULL, *np = NULL;
	if ((proxy && !(p = registry__strdup(proxy))) || (no_proxy && !(np = registry__strdup(no_proxy)))) {
		free(p);
		return nomem(REGISTRY_ENOMEM);
	}
	free(c->proxy);
	free(c->no_proxy);
	c->proxy = p;
	c->no_proxy = np;
	c->proxy_set = proxy != NULL;
	return 0;
}

/* Headers the library writes itself: a second one would contradict it. */
static int header_owned(const char *name, size_t len)
{
	static const char *const owned[] = {"Authorization", "Host", "Content-Length",
	                                    "Transfer-Encoding", "Expect", "Range"};
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(owned); i++)
		if (strlen(owned[i]) == len && strncasecmp(owned[i], name, len) == 0)
			return 1;
	return 0;
}

/* RFC 9110 5.6.2: a field name is a token. */
static int is_tchar(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static int header_check(const char *line)
{
	size_t len = strlen(line);
	if (len > REGISTRY__EXTRA_HEADER_MAX_LEN)
		return registry__fail(REGISTRY_EINVAL, "registry_client_add_header: longer than %d bytes",
		                      REGISTRY__EXTRA_HEADER_MAX_LEN);
	if (strpbrk(line, "\r\n"))
		return registry__fail(REGISTRY_EINVAL, "registry_client_add_header: CR or LF in the line");
	size_t n = strcspn(line, ":");
	if (n == 0 || line[n] != ':')
		return registry__fail(REGISTRY_EINVAL, "registry_client_add_header: not 'Name: value'");
	for (size_t i = 0; i < n; i++)
		if (!is_tchar((unsigned char)line[i]))
			return registry__fail(REGISTRY_EINVAL, "registry_client_add_header: the name '%.*s' is "
			                      "not an HTTP token", (int)(n < 64 ? n : 64), line);
	if (header_owned(line, n))
		return registry__fail(REGISTRY_EINVAL, "registry_client_add_header: the library sets "
		                      "'%.*s' itself", (int)n, line);
	return 0;
}

int registry_client_add_header(registry_client *c, const char *line)
{
	CLIENT_ENTER(c);
	if (!line) {
		curl_slist_free_all(c->extra_headers);
		c->extra_headers = NULL;
		c->nextra_headers = 0;
		return 0;
	}
	int rc = header_check(line);
	if (rc)
		return rc;
	if (c->nextra_headers >= REGISTRY__EXTRA_HEADERS_MAX)
		return registry__fail(REGISTRY_EINVAL, "registry_client_add_header: at most %d headers",
		                      REGISTRY__EXTRA_HEADERS_MAX);
	struct curl_slist *l = curl_slist_append(c->extra_headers, line);
	if (!l)
		return nomem(REGISTRY_ENOMEM);
	c->extra_headers = l;
	c->nextra_headers++;
	return 0;
}

int registry_client_set_trace(registry_client *c, registry_trace_cb trace, void *userdata)
{
	CLIENT_ENTER(c);
	c->trace = trace;
	c->trace_ud = userdata;
	return 0;
}

void registry__client_trace(registry_client *c, const registry_trace_event *e)
{
	if (!c->trace)
		return;
	registry__callback_scope s;
	registry__callback_begin(&s);
	c->trace(e, c->trace_ud);
	registry__callback_end(&s, 0);
}

int registry_client_add_resolve(registry_client *c, const char *host, int port, const char *address)
{
	CLIENT_ENTER(c);
	if (!host || !address || port < 1 || port > 65535 || strchr(host, ':') || strchr(address, ','))
		return registry__fail(REGISTRY_EINVAL, "add_resolve: bad host, port or address");
	char entry[600];
	snprintf(entry, sizeof(entry), "%s:%d:%s", host, port, address);
	struct curl_slist *l = curl_slist_append(c->resolve, entry);
	if (!l)
		return nomem(REGISTRY_ENOMEM);
	c->resolve = l;
	return 0;
}

int registry_client_set_credentials(registry_client *c, const char *username, const char *password)
{
	CLIENT_ENTER(c);
	registry__free_secret(c->username);
	registry__free_secret(c->password);
	c->username = c->password = NULL;
	registry__tokens_clear(c);
	if (!username)
		return 0;
	c->username = registry__strdup(username);
	c->password = registry__strdup(password ? password : "");
	return nomem(c->username && c->password ? 0 : REGISTRY_ENOMEM);
}

int registry_client_set_identity_token(registry_client *c, const char *token)
{
	CLIENT_ENTER(c);
	registry__free_secret(c->identity_token);
	c->identity_token = NULL;
	registry__tokens_clear(c);
	if (token && !(c->identity_token = registry__strdup(token)))
		return nomem(REGISTRY_ENOMEM);
	return 0;
}

int registry_client_set_cancel(registry_client *c, registry_cancel_cb cancel, void *userdata)
{
	CLIENT_ENTER(c);
	c->cancel = cancel;
	c->cancel_ud = userdata;
	return 0;
}

int registry__client_canceled(registry_client *c)
{
	return c->cancel && registry__call_void(c->cancel, c->cancel_ud) != 0;
}

int registry_client_ping(registry_client *c)
{
	CLIENT_ENTER(c);
	registry__response resp;
	registry__response_init(&resp);
	registry__request req = {.method = "GET", .url = "/v2/"};
	int rc = registry__client_do(c, &req, &resp);
	if (!rc) {
		if (resp.status == 200) {
			if (c->auth_scheme == REGISTRY_AUTH_UNKNOWN)
				c->auth_scheme = REGISTRY_AUTH_NONE;
		} else if (resp.status == 404) {
			rc = registry__fail(REGISTRY_EPROTOCOL, "%s is not a V2 registry (GET /v2/ answered 404)",
			                    c->base_url);
			registry__error_set_http(404, resp.url);
		} else {
			rc = registry__response_fail(&resp, "checking the registry");
		}
	}
	registry__response_free(&resp);
	return rc;
}

const char *registry_client_registry(const registry_client *c)
{
	return c ? c->registry : NULL;
}

const char *registry_client_base_url(const registry_client *c)
{
	return c ? c->base_url : NULL;
}

int registry_client_auth_scheme(const registry_client *c)
{
	return c ? c->auth_scheme : REGISTRY_AUTH_UNKNOWN;
}

int registry_client_rate_limit(int64_t *limit, int64_t *remaining, const registry_client *c)
{
	REGISTRY__ENTER(rc);
	if (!c)
		return registry__fail(REGISTRY_EINVAL, "registry_client_rate_limit: NULL client");
	if (limit)
		*limit = (int64_t)c->rate_limit;
	if (remaining)
		*remaining = (int64_t)c->rate_remaining;
	return 0;
}


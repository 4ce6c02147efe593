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
	if (!c->registry || !c->api_host || !c->user_agent || !c->easy) {
		registry_client_free(c);
		return registry__fail(REGISTRY_ENOMEM, "out of memory creating a client");
	}
	char host[260];
	snprintf(host, sizeof(host), "%s", api);
	char *colon = host[0] == '[' ? strstr(host, "]:") : strrchr(host, ':');
	if (colon)
		colon[host[0] == '[' ? 1 : 0] = '\0';
	c->loopback = registry__host_is_loopback(host);
	c->tls_verify = 1;
	c->connect_ms = 30000;
	c->low_speed_seconds = 30;
	c->low_speed_bytes = 1024;
	c->retries = 3;
	c->backoff_ms = 500;
	c->max_wait_ms = 60000;
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
	curl_slist_free_all(c->resolve);
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

int registry_client_set_tls_verify(registry_client *c, int verify)
{
	CLIENT_ENTER(c);
	c->tls_verify = verify != 0;
	return 0;
}

int registry_client_set_ca(registry_client *c, const char *ca_file, const char *ca_path)
{
	CLIENT_ENTER(c);
	int rc = registry__set_string(&c->ca_file, ca_file);
	if (!rc)
		rc = registry__set_string(&c->ca_path, ca_path);
	return nomem(rc);
}

int registry_client_set_client_cert(registry_client *c, const char *cert_file, const char *key_file)
{
	CLIENT_ENTER(c);
	int rc = registry__set_string(&c->cert_file, cert_file);
	if (!rc)
		rc = registry__set_string(&c->key_file, key_file);
	return nomem(rc);
}

int registry_client_set_insecure(registry_client *c, int insecure)
{
	CLIENT_ENTER(c);
	c->insecure = insecure != 0;
	return 0;
}

int registry_client_set_user_agent(registry_client *c, const char *ua)
{
	CLIENT_ENTER(c);
	if (ua && (strchr(ua, '\r') || strchr(ua, '\n')))
		return registry__fail(REGISTRY_EINVAL, "user agent must be one line");
	return nomem(registry__set_string(&c->user_agent, ua ? ua : DEFAULT_USER_AGENT));
}

int registry_client_set_timeouts(registry_client *c, long connect_ms, long low_speed_seconds,
                                 long low_speed_bytes)
{
	CLIENT_ENTER(c);
	if (connect_ms < 0 || low_speed_seconds < 0 || low_speed_bytes < 0)
		return registry__fail(REGISTRY_EINVAL, "timeouts must not be negative");
	if (connect_ms)
		c->connect_ms = connect_ms;
	if (low_speed_seconds)
		c->low_speed_seconds = low_speed_seconds;
	if (low_speed_bytes)
		c->low_speed_bytes = low_speed_bytes;
	return 0;
}

int registry_client_set_retries(registry_client *c, int count, long backoff_base_ms, long max_wait_ms)
{
	CLIENT_ENTER(c);
	/* Bounded so that the backoff (doubling up to the maximum, plus half
	 * the base as jitter) stays far below LONG_MAX even where long has 32
	 * bits, and a retry never waits longer than a day. */
	if (count > REGISTRY__RETRIES_MAX)
		return registry__fail(REGISTRY_EINVAL, "retries: at most %d retries", REGISTRY__RETRIES_MAX);
	if (backoff_base_ms > REGISTRY__BACKOFF_BASE_MAX_MS)
		return registry__fail(REGISTRY_EINVAL, "retries: the backoff base is at most %ld ms (1 hour)",
		                      REGISTRY__BACKOFF_BASE_MAX_MS);
	if (max_wait_ms > REGISTRY__MAX_WAIT_MAX_MS)
		return registry__fail(REGISTRY_EINVAL, "retries: the longest wait is at most %ld ms (1 day)",
		                      REGISTRY__MAX_WAIT_MAX_MS);
	if (count >= 0)
		c->retries = count;
	if (backoff_base_ms >= 0)
		c->backoff_ms = backoff_base_ms;
	if (max_wait_ms >= 0)
		c->max_wait_ms = max_wait_ms;
	return 0;
}

int registry_client_set_max_parallel(registry_client *c, int max_parallel)
{
	CLIENT_ENTER(c);
	if (max_parallel < 1 || max_parallel > 64)
		return registry__fail(REGISTRY_EINVAL, "max_parallel must be 1..64");
	c->max_parallel = max_parallel;
	return 0;
}

int registry_client_set_proxy(registry_client *c, const char *proxy)
{
	CLIENT_ENTER(c);
	c->proxy_set = proxy != NULL;
	return nomem(registry__set_string(&c->proxy, proxy));
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

int registry_client_set_cancel(registry_client *c, int (*cancel)(void *userdata), void *userdata)
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

int registry_client_rate_limit(const registry_client *c, long *limit, long *remaining)
{
	if (!c)
		return registry__fail(REGISTRY_EINVAL, "registry_client_rate_limit: NULL client");
	if (limit)
		*limit = c->rate_limit;
	if (remaining)
		*remaining = c->rate_remaining;
	return 0;
}

long registry_client_token_fetches(const registry_client *c)
{
	return c ? c->token_fetches : 0;
}

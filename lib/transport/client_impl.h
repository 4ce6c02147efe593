/* The client handle's fields, shared by the transport's source files. */
#ifndef REGISTRY_CLIENT_IMPL_H
#define REGISTRY_CLIENT_IMPL_H

#include "transport.h"

/* Bounds of registry_client_set_retries(): with them the backoff (the base
 * doubled up to the longest wait, plus jitter) cannot overflow a long. */
#define REGISTRY__RETRIES_MAX 100
#define REGISTRY__BACKOFF_BASE_MAX_MS 3600000L /* 1 hour */
#define REGISTRY__MAX_WAIT_MAX_MS 86400000L    /* 1 day */
/* The retry defaults (registry_retry_options' zero fields). */
#define REGISTRY__RETRIES 3
#define REGISTRY__BACKOFF_MS 500L
#define REGISTRY__MAX_WAIT_MS 60000L
/* The largest time limit or rate of registry_timeout_options: what a long
 * (libcurl's type) holds where it has 32 bits. */
#define REGISTRY__SETTING_MAX 2147483647L

typedef struct registry__token {
	char *scope; /* "" for a scope-less token */
	char *token;
	struct timespec expires; /* CLOCK_MONOTONIC */
} registry__token;

/* The client's owned strings, for the code that frees or copies them all
 * (registry_client_free, registry__client_clone): a string field added to
 * the struct goes here too. Secrets are wiped when freed. */
#define REGISTRY__CLIENT_STRINGS(X)                                                   \
	X(registry) X(api_host) X(base_url) X(ca_file) X(ca_path) X(ca_pem) X(cert_file) X(cert_pem) \
	X(key_file) X(user_agent) X(proxy) X(no_proxy) X(realm) X(service)
#define REGISTRY__CLIENT_SECRETS(X) \
	X(username) X(password) X(identity_token) X(key_pem) X(key_password)

/* Defaults of registry_client_set_timeouts() (total: no limit). */
#define REGISTRY__CONNECT_MS 30000L
#define REGISTRY__LOW_SPEED_BYTES 1024L
#define REGISTRY__LOW_SPEED_SECONDS 30L

/* Bounds of registry_client_add_header(). */
#define REGISTRY__EXTRA_HEADERS_MAX 64
#define REGISTRY__EXTRA_HEADER_MAX_LEN 8192

/* The libcurl share handle of a client and its clones (connections, DNS,
 * TLS sessions), with the locks libcurl asks for. */
typedef struct registry__share registry__share;

/* What registry_client_load_host_config() read (lib/transport/hostconfig.c):
 * immutable once loaded, shared by a client, its clones and the clients it
 * makes for mirrors. */
typedef struct registry__hostcfg registry__hostcfg;
struct registry__creds;
struct registry__cred;

struct registry_client {
	char *registry;  /* as given: host[:port] */
	char *api_host;  /* host[:port] used in URLs */
	char *base_url;  /* scheme://api_host once chosen */
	int loopback;
	unsigned int insecure; /* REGISTRY_INSECURE_* flags, for the registry's origin only */
	int tls_min; /* enum registry_tls_version */
	char *ca_file, *ca_path, *ca_pem, *cert_file, *cert_pem, *key_file;
	char *key_pem, *key_password; /* secrets */
	char *user_agent;
	char *proxy; /* NULL: environment */
	int proxy_set;
	char *no_proxy; /* NULL: environment */
	struct curl_slist *extra_headers; /* registry_client_add_header(), origin only */
	size_t nextra_headers;
	long connect_ms, total_ms, low_speed_seconds, low_speed_bytes;
	int retries;
	long backoff_ms, max_wait_ms;
	int max_parallel;
	struct curl_slist *resolve;

	char *username, *password, *identity_token;

	/* What the registry told us. */
	int auth_scheme;
	char *realm, *service;
	registry__token *tokens;
	size_t ntokens;
	long token_fetches; /* internal diagnostics and tests (no public accessor since 0.2) */
	long rate_limit, rate_remaining;

	registry_cancel_cb cancel;
	void *cancel_ud;
	registry_trace_cb trace; /* caller's thread only: NULL in clones */
	void *trace_ud;
	registry_credential_cb cred_cb; /* caller's thread only: NULL in clones */
	void *cred_ud;
	int cred_asked; /* the provider answered; its answer is in username/password */

	registry__share *share; /* owned by the client, borrowed by its clones */
	int share_owned;

	CURL *easy;
	CURLM *multi; /* parallel transfers; created on first use */

	registry__hostcfg *hostcfg;        /* NULL until registry_client_load_host_config() */
	struct registry__creds *creds;      /* the auth files' entries for this host, or NULL */
	const struct registry__cred *cred_picked; /* the entry username/password came from */
};

/* Authorization header value for @scope on the registry's origin, fetching a
 * token when needed; *out is NULL when no auth applies. */
int registry__auth_header(registry_client *c, const char *scope, char **out);
/* The same without a token fetch: REGISTRY__AUTH_NEED_TOKEN (not an error,
 * nothing recorded) when a bearer token must be fetched first; an event-loop
 * driver then runs the fetch below as a request of its own. */
#define REGISTRY__AUTH_NEED_TOKEN 1
int registry__auth_header_cached(registry_client *c, const char *scope, char **out);

/* A token request for a driver to perform (lib/loop): prepare builds it
 * (realm checks, service and scopes, the realm's credentials when it may
 * have them; POST to an OAuth2 endpoint with an identity token unless
 * @retry_as_get), the driver sends it to tf->url (an external origin:
 * tf->authorization there only, link-local addresses refused), judge reads
 * the answer: 0 (the token is cached), REGISTRY__TOKEN_AGAIN_AS_GET (no
 * OAuth2 endpoint: prepare again with @retry_as_get), or an error code,
 * recorded. The blocking fetch runs the same three steps. */
typedef struct registry__token_fetch {
	char *url;
	char *form; /* the POST body, or NULL */
	size_t form_len;
	char *authorization;
	int oauth_post, creds;
} registry__token_fetch;
#define REGISTRY__TOKEN_AGAIN_AS_GET 1
int registry__token_fetch_prepare(registry__token_fetch *tf, registry_client *c, const char *scope,
                                  int retry_as_get);
int registry__token_fetch_judge(registry__token_fetch *tf, registry_client *c, const char *scope,
                                const registry__response *resp);
void registry__token_fetch_free(registry__token_fetch *tf);
/* A 401 arrived: learn from its challenge. Returns 0 when a retry with new
 * auth makes sense, or an error code (recorded). */
int registry__auth_on_401(registry_client *c, const char *scope, const registry__response *resp,
                          int attempt);
void registry__tokens_clear(registry_client *c);
/* The safety rules for a token realm named by the server (https only, or
 * http for a plain-HTTP loopback or insecure registry; no userinfo; no
 * link-local or metadata host): 0 or REGISTRY_EPROTOCOL, recorded. */
int registry__realm_check(registry_client *c, const char *realm);
/* Cache the token of a token server's JSON answer @body for @scope ("" for
 * none): 0, REGISTRY_EPROTOCOL (no usable token), REGISTRY_ENOMEM. */
int registry__token_store(registry_client *c, const char *scope, const char *body, size_t len);
/* The token cache holds at most this many scopes (a copy or push across many
 * repositories asks for one scope each): expired tokens are dropped first,
 * then the least recently used. */
#define REGISTRY__TOKENS_MAX 32
/* The cached token of @scope, or NULL (expired ones included). */
registry__token *registry__token_find(registry_client *c, const char *scope);
/* Keep a copy of @token for @scope until @expires (CLOCK_MONOTONIC), as the
 * most recently used, evicting as above. 0 or REGISTRY_ENOMEM (recorded;
 * the cache is then as it was). */
int registry__token_put(registry_client *c, const char *scope, const char *token,
                        struct timespec expires);
/* Runs credential helper @name for @server and sets the client's credentials. */
typedef int (*registry__helper_fn)(registry_client *c, const char *name, const char *server);
/* Apply the docker config.json text @text (@path names it in messages):
 * credHelpers, credsStore, auths, as registry_client_load_docker_config().
 * @helper NULL runs docker-credential-NAME; tests and fuzzing pass a stub. */
int registry__docker_config_apply(registry_client *c, const char *text, size_t len,
                                  const char *path, registry__helper_fn helper);
/* docker-credential-NAME store (@username set: {ServerURL, Username,
 * Secret} on stdin) or erase (@username NULL: @server on stdin). 0,
 * EFORMAT (bad name), EAUTH (missing or failed helper), ENOMEM. */
int registry__helper_change(const char *name, const char *server, const char *username, const char *secret);
/* Apply TLS, proxy, timeout and resolve settings to the easy handle. */
void registry__client_apply_settings(registry_client *c, CURL *h, int https_verify);
/* A private copy of @c for another thread: settings, credentials, what the
 * registry told us and its tokens, a libcurl handle of its own, no cancel
 * hook. 0 or REGISTRY_ENOMEM (recorded). Free with registry_client_free(). */
int registry__client_clone(registry_client **out, const registry_client *c);
/* Take back into @c what its clone @lane learnt: newer tokens (same realm
 * only), rate-limit headers, the count of token fetches. */
void registry__client_absorb(registry_client *c, const registry_client *lane);
/* Ask the credential provider, once, when a 401 needs credentials and none
 * are set. 0 (credentials set or none given) or REGISTRY_ECANCELED. */
int registry__client_ask_credentials(registry_client *c);
/* Hand @e to the client's trace callback, if any (the record kept). */
void registry__client_trace(registry_client *c, const registry_trace_event *e);
/* The libcurl share handle for @c's easy handles (NULL when it could not be
 * made: each handle then has its own caches). */
CURLSH *registry__client_curl_share(const registry_client *c);
/* Create the share handle of a new client: 0 or REGISTRY_ENOMEM. */
int registry__share_new(registry__share **out);
void registry__share_free(registry__share *s);
/* Host configuration (lib/transport/hostconfig.c). */
/* Drop @c's share of the host configuration and loaded credentials. */
void registry__client_hostcfg_release(registry_client *c);
/* Take a share of @from's host configuration and credentials into @to
 * (a clone: the same host). */
void registry__client_hostcfg_share(registry_client *to, const registry_client *from);
/* Switch to the auth files' credentials for the repository of @scope
 * ("repository:NAME:ACTIONS ...", NULL for the host's), when they came
 * from the host configuration. 0 or REGISTRY_ENOMEM. */
int registry__client_pick_credentials(registry_client *c, const char *scope);
/* 1 when the host configuration lets @realm_host receive credentials. */
int registry__client_realm_allowed(const registry_client *c, const char *realm_host);
/* The [[registry]] rule for @name ("host/repository"), or NULL. */
const struct registry__rule *registry__client_rule(const registry_client *c, const char *name);
/* A client for @host (a mirror, or a primary at another location) with
 * @c's settings (user agent, proxy, time limits, retries, parallelism,
 * cancel and trace hooks) and @c's host configuration applied for @host:
 * its own certs.d material and credentials, never @c's. */
int registry__client_for_host(registry_client **out, registry_client *c, const char *host, int insecure);

/* 1 when the caller's cancellation hook asks to stop. */
int registry__client_canceled(registry_client *c);

#endif

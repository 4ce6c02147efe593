/* The client handle's fields, shared by the transport's source files. */
#ifndef REGISTRY_CLIENT_IMPL_H
#define REGISTRY_CLIENT_IMPL_H

#include "transport.h"

/* Bounds of registry_client_set_retries(): with them the backoff (the base
 * doubled up to the longest wait, plus jitter) cannot overflow a long. */
#define REGISTRY__RETRIES_MAX 100
#define REGISTRY__BACKOFF_BASE_MAX_MS 3600000L /* 1 hour */
#define REGISTRY__MAX_WAIT_MAX_MS 86400000L    /* 1 day */

typedef struct registry__token {
	char *scope; /* "" for a scope-less token */
	char *token;
	struct timespec expires; /* CLOCK_MONOTONIC */
} registry__token;

/* The client's owned strings, for the code that frees or copies them all
 * (registry_client_free, registry__client_clone): a string field added to
 * the struct goes here too. Secrets are wiped when freed. */
#define REGISTRY__CLIENT_STRINGS(X)                                                   \
	X(registry) X(api_host) X(base_url) X(ca_file) X(ca_path) X(cert_file) X(key_file) \
	X(user_agent) X(proxy) X(realm) X(service)
#define REGISTRY__CLIENT_SECRETS(X) X(username) X(password) X(identity_token)

struct registry_client {
	char *registry;  /* as given: host[:port] */
	char *api_host;  /* host[:port] used in URLs */
	char *base_url;  /* scheme://api_host once chosen */
	int loopback;
	int insecure;
	int tls_verify;
	char *ca_file, *ca_path, *cert_file, *key_file;
	char *user_agent;
	char *proxy; /* NULL: environment */
	int proxy_set;
	long connect_ms, low_speed_seconds, low_speed_bytes;
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
	long token_fetches;
	long rate_limit, rate_remaining;

	int (*cancel)(void *userdata);
	void *cancel_ud;

	CURL *easy;
	CURLM *multi; /* parallel transfers; created on first use */
};

/* Authorization header value for @scope on the registry's origin, fetching a
 * token when needed; *out is NULL when no auth applies. */
int registry__auth_header(registry_client *c, const char *scope, char **out);
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
/* Apply TLS, proxy, timeout and resolve settings to the easy handle. */
void registry__client_apply_settings(registry_client *c, CURL *h, int https_verify);
/* A private copy of @c for another thread: settings, credentials, what the
 * registry told us and its tokens, a libcurl handle of its own, no cancel
 * hook. 0 or REGISTRY_ENOMEM (recorded). Free with registry_client_free(). */
int registry__client_clone(registry_client **out, const registry_client *c);
/* Take back into @c what its clone @lane learnt: newer tokens (same realm
 * only), rate-limit headers, the count of token fetches. */
void registry__client_absorb(registry_client *c, const registry_client *lane);
/* 1 when the caller's cancellation hook asks to stop. */
int registry__client_canceled(registry_client *c);

#endif

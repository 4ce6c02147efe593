/** @file
 * libregistry: the client handle for one registry endpoint (transport).
 *
 * A registry_client owns the connections to one registry ("host[:port]"):
 * libcurl handles reused across requests (keep-alive), TLS settings,
 * credentials, the auth state learned from the registry's challenges and a
 * cache of bearer tokens per scope. It is not thread-safe: use one client
 * per thread, or lock around it.
 *
 * Scheme: HTTPS by default. Registries on localhost, 127.0.0.0/8 or ::1 are
 * tried over HTTPS first and over plain HTTP when the server does not speak
 * TLS, as Docker does. Any other host uses plain HTTP only when marked
 * insecure with registry_client_set_insecure(). A certificate that fails
 * verification is never a reason to fall back to HTTP.
 *
 * Credentials are sent only to the registry's own origin (scheme, host and
 * port) and to a token realm on the registry's host or, for a registry
 * named by a DNS name of three labels or more, in its parent domain
 * (registry-1.docker.io -> auth.docker.io); a realm anywhere else gets an
 * anonymous token request. Never along a redirect to another origin.
 * Secrets are wiped from memory when replaced or freed and never appear in
 * error messages.
 */
#ifndef REGISTRY_CLIENT_H
#define REGISTRY_CLIENT_H

#include <registry/common.h>

REGISTRY_BEGIN_DECLS

/** Opaque client handle. @since 0.1 */
typedef struct registry_client registry_client;

/** Auth schemes a registry may ask for (registry_client_auth_scheme()). @since 0.1 */
enum registry_auth_scheme {
	REGISTRY_AUTH_UNKNOWN = 0, /**< not contacted yet */
	REGISTRY_AUTH_NONE = 1,    /**< the registry answered without a challenge */
	REGISTRY_AUTH_BASIC = 2,   /**< HTTP Basic with the client's credentials */
	REGISTRY_AUTH_BEARER = 3   /**< Bearer tokens from the realm the registry names */
};

/**
 * Create a client for one registry.
 * @param out receives the client; free with registry_client_free().
 * @param registry "host", "host:port", "[ipv6]:port" (no scheme, no path).
 *        "docker.io" and "index.docker.io" mean Docker Hub's API host
 *        registry-1.docker.io.
 * @return 0, REGISTRY_EINVAL (NULL arguments), REGISTRY_EFORMAT (not a
 *         host[:port]: the message says why), REGISTRY_ENOMEM, REGISTRY_EIO.
 * @since 0.1
 */
REGISTRY_API int registry_client_new(registry_client **out, const char *registry);

/** Free a client, wiping its secrets; NULL is accepted. @since 0.1 */
REGISTRY_API void registry_client_free(registry_client *client);

/**
 * Verify the server's TLS certificate and host name (default 1). Turning it
 * off is for testing; it does not allow plain HTTP.
 * @return 0, REGISTRY_EINVAL (NULL client). The same for every setter
 *         below, which may also return REGISTRY_ENOMEM when it copies a
 *         string, or REGISTRY_EINVAL for a value out of range.
 * @since 0.1
 */
REGISTRY_API int registry_client_set_tls_verify(registry_client *client, int verify);

/**
 * Trust the CA certificates in @p ca_file (PEM) and/or the hashed folder
 * @p ca_path, instead of the system's. NULL keeps the default.
 * @since 0.1
 */
REGISTRY_API int registry_client_set_ca(registry_client *client, const char *ca_file,
                                        const char *ca_path);

/** Present a client certificate (PEM files); NULL clears. @since 0.1 */
REGISTRY_API int registry_client_set_client_cert(registry_client *client, const char *cert_file,
                                                 const char *key_file);

/**
 * Mark the registry insecure, as Docker's "insecure-registries": HTTPS is
 * tried without certificate verification, then plain HTTP. Default 0.
 * @since 0.1
 */
REGISTRY_API int registry_client_set_insecure(registry_client *client, int insecure);

/** User-Agent header; NULL restores the default "libregistry/VERSION". @since 0.1 */
REGISTRY_API int registry_client_set_user_agent(registry_client *client, const char *user_agent);

/**
 * Timeouts. @p connect_ms: connection setup (default 30000). A transfer
 * slower than @p low_speed_bytes per second for @p low_speed_seconds is
 * aborted and retried (defaults 1024 bytes/s for 30 s). 0 keeps a default.
 * @since 0.1
 */
REGISTRY_API int registry_client_set_timeouts(registry_client *client, long connect_ms,
                                              long low_speed_seconds, long low_speed_bytes);

/**
 * Retries of idempotent requests on connection errors, 408, 429 and 5xx:
 * up to @p count more attempts (default 3, 0 disables) with exponential
 * backoff from @p backoff_base_ms (default 500) plus jitter, honouring
 * Retry-After up to @p max_wait_ms per wait (default 60000). Negative values
 * keep the current setting. Bounds: @p count at most 100, @p backoff_base_ms
 * at most 3600000 (1 hour), @p max_wait_ms at most 86400000 (1 day); larger
 * values are REGISTRY_EINVAL (since 0.2) and change nothing.
 * @since 0.1
 */
REGISTRY_API int registry_client_set_retries(registry_client *client, int count,
                                             long backoff_base_ms, long max_wait_ms);

/** Transfers run at once by batch operations (default 4, 1..64). @since 0.1 */
REGISTRY_API int registry_client_set_max_parallel(registry_client *client, int max_parallel);

/**
 * Proxy URL ("http://proxy:3128"); NULL (default) honours the environment
 * (http_proxy, https_proxy, no_proxy) as curl does; "" disables proxies.
 * @since 0.1
 */
REGISTRY_API int registry_client_set_proxy(registry_client *client, const char *proxy);

/**
 * Resolve @p host:@p port to @p address instead of asking DNS (as curl's
 * --resolve). May be called several times. For tests and split-horizon
 * setups; the TLS host name check still uses @p host.
 * @since 0.1
 */
REGISTRY_API int registry_client_add_resolve(registry_client *client, const char *host, int port,
                                             const char *address);

/**
 * Username and password for Basic auth and for token requests. NULL
 * username clears them. Copied; wiped when replaced or freed.
 * @since 0.1
 */
REGISTRY_API int registry_client_set_credentials(registry_client *client, const char *username,
                                                 const char *password);

/**
 * An identity (refresh) token, used with OAuth2 grant_type=refresh_token at
 * the token realm. NULL clears.
 * @since 0.1
 */
REGISTRY_API int registry_client_set_identity_token(registry_client *client, const char *token);

/**
 * Load credentials for this client's registry from Docker's config file:
 * @p path, or when NULL $DOCKER_CONFIG/config.json, else
 * ~/.docker/config.json. Looks, in Docker's order, at "credHelpers" for the
 * registry, then "credsStore", then "auths" (keys as Docker writes them:
 * "host", "https://host", "https://index.docker.io/v1/" for Docker Hub;
 * "auth" base64 user:password, "username"/"password", "identitytoken").
 * Helpers run as "docker-credential-NAME get" from PATH.
 * @return 0 when credentials were found and set; REGISTRY_ENOTFOUND when
 *         the file or an entry for this registry is missing;
 *         REGISTRY_EAUTH when a helper is missing (the message names it) or
 *         fails; REGISTRY_EFORMAT for a malformed file; REGISTRY_EIO.
 * @since 0.1
 */
REGISTRY_API int registry_client_load_docker_config(registry_client *client, const char *path);

/**
 * A cancellation hook checked while any request of this client runs (about
 * every second during a transfer, and at least every 100 ms while waiting
 * to retry or in a batch of blob transfers). Return non-zero to cancel: the
 * running call then returns REGISTRY_ECANCELED, keeping resumable partial
 * downloads. Runs on the caller's thread; NULL removes it. Operations with
 * a progress callback can cancel through it as well.
 * @since 0.1
 */
REGISTRY_API int registry_client_set_cancel(registry_client *client,
                                            int (*cancel)(void *userdata), void *userdata);

/**
 * GET /v2/: check that the endpoint is a registry, pick the scheme and learn
 * the auth scheme. With credentials set, they are checked too (a Bearer
 * registry is asked for a token without scope).
 * @return 0, REGISTRY_ENETWORK (cannot resolve or connect), REGISTRY_ETLS
 *         (handshake or certificate failure, or a plain-HTTP server where
 *         HTTPS is required), REGISTRY_EAUTH (credentials refused or
 *         needed), REGISTRY_EPROTOCOL (not a V2 registry), others from
 *         errors.h. registry_error_last() names the URL.
 * @since 0.1
 */
REGISTRY_API int registry_client_ping(registry_client *client);

/** The registry as given ("host:port"). Borrowed. @since 0.1 */
REGISTRY_API const char *registry_client_registry(const registry_client *client);

/**
 * The base URL in use ("https://host:port"), or NULL before the first
 * request chose a scheme. Borrowed.
 * @since 0.1
 */
REGISTRY_API const char *registry_client_base_url(const registry_client *client);

/** The auth scheme the registry asked for (enum registry_auth_scheme). @since 0.1 */
REGISTRY_API int registry_client_auth_scheme(const registry_client *client);

/**
 * Docker Hub's rate limit headers from the last response that carried them
 * (RateLimit-Limit, RateLimit-Remaining). -1 when never seen. Either
 * pointer may be NULL.
 * @return 0, or REGISTRY_EINVAL for a NULL client.
 * @since 0.1
 */
REGISTRY_API int registry_client_rate_limit(const registry_client *client, long *limit,
                                            long *remaining);

/** Number of bearer tokens fetched from the realm so far (for tests and diagnostics). @since 0.1 */
REGISTRY_API long registry_client_token_fetches(const registry_client *client);

REGISTRY_END_DECLS

#endif

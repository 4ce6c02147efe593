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

/** Minimum TLS versions (registry_tls_options.min_version). @since 1.0 */
enum registry_tls_version {
	REGISTRY_TLS_DEFAULT = 0, /**< libcurl's and the TLS library's default */
	REGISTRY_TLS_1_2 = 12,    /**< TLS 1.2 or newer */
	REGISTRY_TLS_1_3 = 13     /**< TLS 1.3 only */
};

/**
 * TLS material and rules of a client (registry_client_set_tls()). Zero
 * fields keep the defaults: the system's CA store, no client certificate,
 * the TLS library's minimum version. Verification is always on, except on
 * the registry's own origin with REGISTRY_INSECURE_NO_VERIFY
 * (registry_client_set_insecure()): that is the one knob. Every string and PEM
 * text is copied; the key and its passphrase are secrets, wiped from memory
 * when replaced or freed and never named in messages. A PEM given in memory
 * is NUL-terminated text (one or more "-----BEGIN" blocks).
 * @since 1.0
 */
typedef struct registry_tls_options {
	unsigned int version;     /**< REGISTRY_TLS_OPTIONS_VERSION */
	unsigned int flags;       /**< none defined yet: 0 (since 0.2 REGISTRY_TLS_NO_VERIFY is REGISTRY_INSECURE_NO_VERIFY) */
	const char *ca_file;      /**< trust these CA certificates (PEM file) instead of the system's */
	const char *ca_path;      /**< trust the CA certificates of this hashed folder */
	const char *ca_pem;       /**< trust these CA certificates, PEM text in memory */
	const char *cert_file;    /**< client certificate, PEM file */
	const char *cert_pem;     /**< client certificate, PEM text in memory (not with cert_file) */
	const char *key_file;     /**< its private key, PEM file */
	const char *key_pem;      /**< its private key, PEM text in memory (not with key_file) */
	const char *key_password; /**< passphrase of an encrypted private key */
	int min_version;          /**< enum registry_tls_version */
} registry_tls_options;

/** The current version of registry_tls_options. @since 1.0 */
#define REGISTRY_TLS_OPTIONS_VERSION 1
/** Initializer of a registry_tls_options with every default. @since 1.0 */
#define REGISTRY_TLS_OPTIONS_INIT { REGISTRY_TLS_OPTIONS_VERSION, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0 }

/**
 * Fill @p opts with the defaults (REGISTRY_TLS_OPTIONS_INIT).
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.0
 */
REGISTRY_API int registry_tls_options_init(registry_tls_options *opts);

/**
 * Replace the client's TLS settings with @p opts (NULL: every default).
 * Nothing changes when the call fails.
 * @return 0; REGISTRY_EINVAL for a NULL client, a version of 0 or newer
 *         than this library's, unknown flag bits, a certificate or key
 *         given both as a file and in memory, a key without a certificate
 *         or an unknown min_version (the message says which);
 *         REGISTRY_ENOMEM.
 * @since 1.0
 */
REGISTRY_API int registry_client_set_tls(registry_client *client, const registry_tls_options *opts);

/** registry_client_set_insecure(): the registry may be reached over plain HTTP. @since 1.0 */
#define REGISTRY_INSECURE_ALLOW_HTTP 0x1u
/** registry_client_set_insecure(): HTTPS to the registry without certificate verification. @since 1.0 */
#define REGISTRY_INSECURE_NO_VERIFY 0x2u

/**
 * Relax transport security for the registry's own origin (scheme, host
 * and port) only; token realms and redirect targets on other origins keep
 * full verification. Both flags are Docker's "insecure-registries": HTTPS
 * without certificate verification is tried first, then plain HTTP.
 * REGISTRY_INSECURE_NO_VERIFY alone never falls back to plain HTTP;
 * REGISTRY_INSECURE_ALLOW_HTTP alone falls back only when the server does
 * not speak TLS (a certificate that fails verification is an error).
 * 0 (default) restores full security (loopback may still use plain HTTP).
 * Changed in 0.2: it took an int (1 is now both flags).
 * @return 0; REGISTRY_EINVAL for a NULL client or unknown flag bits.
 * @since 1.0
 */
REGISTRY_API int registry_client_set_insecure(registry_client *client, unsigned int flags);

/**
 * User-Agent header; NULL restores the default "libregistry/VERSION".
 * @return 0; REGISTRY_EINVAL for a NULL client or a value with CR or LF;
 *         REGISTRY_ENOMEM.
 * @since 0.1
 */
REGISTRY_API int registry_client_set_user_agent(registry_client *client, const char *user_agent);

/**
 * Time limits of every request of a client (registry_client_set_timeouts()).
 * Zero fields keep the defaults; negative values are REGISTRY_EINVAL.
 * @since 1.0
 */
typedef struct registry_timeout_options {
	unsigned int version;      /**< REGISTRY_TIMEOUT_OPTIONS_VERSION */
	unsigned int flags;        /**< none defined yet: 0 */
	int64_t connect_ms;        /**< connection setup, TLS included (default 30000) */
	int64_t total_ms;          /**< a whole request, body included (default 0: no limit) */
	int64_t low_speed_bytes;   /**< abort (and retry) a transfer slower than this many bytes/s... (default 1024) */
	int64_t low_speed_seconds; /**< ...for this many seconds (default 30) */
} registry_timeout_options;

/** The current version of registry_timeout_options. @since 1.0 */
#define REGISTRY_TIMEOUT_OPTIONS_VERSION 1
/** Initializer of a registry_timeout_options with every default. @since 1.0 */
#define REGISTRY_TIMEOUT_OPTIONS_INIT { REGISTRY_TIMEOUT_OPTIONS_VERSION, 0, 0, 0, 0, 0 }

/**
 * Fill @p opts with the defaults (REGISTRY_TIMEOUT_OPTIONS_INIT).
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.0
 */
REGISTRY_API int registry_timeout_options_init(registry_timeout_options *opts);

/**
 * Replace the client's time limits with @p opts (NULL: every default). A
 * request that runs out of a limit (connect, total or low speed) fails
 * with REGISTRY_ETIMEDOUT after the retries (each attempt has the whole
 * limit): set total_ms for metadata clients, not for clients that fetch
 * large blobs. The largest value of each field is 2^31-1 (about 24 days
 * in milliseconds).
 * @return 0; REGISTRY_EINVAL for a NULL client, a bad version, unknown
 *         flag bits, a negative or too large value (nothing changes then).
 * @since 1.0
 */
REGISTRY_API int registry_client_set_timeouts(registry_client *client, const registry_timeout_options *opts);

/**
 * Retries of idempotent requests (registry_client_set_retries()). Zero
 * fields keep the defaults, except that REGISTRY_RETRY_NONE makes count 0.
 * @since 1.0
 */
typedef struct registry_retry_options {
	unsigned int version;    /**< REGISTRY_RETRY_OPTIONS_VERSION */
	unsigned int flags;      /**< REGISTRY_RETRY_NONE */
	int count;               /**< more attempts after the first (default 3, at most 100) */
	int64_t backoff_base_ms; /**< first backoff, doubled each time, plus jitter (default 500, at most 3600000) */
	int64_t max_wait_ms;     /**< longest wait, Retry-After included (default 60000, at most 86400000) */
} registry_retry_options;

/** registry_retry_options.flags: no retries at all (count is ignored). @since 1.0 */
#define REGISTRY_RETRY_NONE 0x1u
/** The current version of registry_retry_options. @since 1.0 */
#define REGISTRY_RETRY_OPTIONS_VERSION 1
/** Initializer of a registry_retry_options with every default. @since 1.0 */
#define REGISTRY_RETRY_OPTIONS_INIT { REGISTRY_RETRY_OPTIONS_VERSION, 0, 0, 0, 0 }

/**
 * Fill @p opts with the defaults (REGISTRY_RETRY_OPTIONS_INIT).
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.0
 */
REGISTRY_API int registry_retry_options_init(registry_retry_options *opts);

/**
 * Retries of idempotent requests on connection errors, timeouts, 408, 429
 * and 5xx, with exponential backoff plus jitter, honouring Retry-After up
 * to max_wait_ms per wait. Replaces every retry setting with @p opts
 * (NULL: every default).
 * Changed in 0.2: it took (count, backoff_base_ms, max_wait_ms) with
 * negative values keeping the current setting.
 * @return 0; REGISTRY_EINVAL for a NULL client, a bad version, unknown
 *         flag bits, a negative or too large value (nothing changes then).
 * @since 1.0
 */
REGISTRY_API int registry_client_set_retries(registry_client *client, const registry_retry_options *opts);

/** The largest registry_client_set_max_parallel(). @since 1.0 */
#define REGISTRY_MAX_PARALLEL 8

/**
 * Transfers run at once by batch operations (default 4, 1..8). Each is a
 * thread of the call with a connection of its own (sharing the client's
 * connection cache, DNS cache and TLS sessions): registries spend a core per
 * upload, HTTP/2 multiplexes downloads, and Docker itself uses 3 downloads
 * and 5 uploads, so more than 8 would only add threads and connections.
 * Before 0.2 the setter accepted up to 64 and used at most 8.
 * @return 0; REGISTRY_EINVAL for a NULL client or a value outside 1..8.
 * @since 0.1
 */
REGISTRY_API int registry_client_set_max_parallel(registry_client *client, int max_parallel);

/**
 * Proxy URL ("http://proxy:3128") and the hosts that bypass it (@p no_proxy,
 * as curl's: "host,.domain,10.0.0.0/8", "*" for all). A NULL @p proxy
 * (default) honours the environment (http_proxy, https_proxy, no_proxy) as
 * curl does; "" disables proxies. A NULL @p no_proxy keeps the environment's.
 * Changed in 0.2: it took no @p no_proxy.
 * @return 0; REGISTRY_EINVAL for a NULL client; REGISTRY_ENOMEM.
 * @since 1.0
 */
REGISTRY_API int registry_client_set_proxy(registry_client *client, const char *proxy,
                                           const char *no_proxy);

/**
 * Send the header line @p line ("Name: value") with every request to the
 * registry's own origin (scheme, host and port), never to a token realm or
 * a redirect target on another origin. May be called several times (at
 * most 64 lines of at most 8 KiB); NULL removes them all. Copied.
 * @return 0; REGISTRY_EINVAL for a NULL client, a line with CR, LF or NUL,
 *         without "Name:", with a name that is not an HTTP token, or naming
 *         a header the library owns (Authorization, Host, Content-Length,
 *         Transfer-Encoding, Expect, Range); REGISTRY_ENOMEM.
 * @since 1.0
 */
REGISTRY_API int registry_client_add_header(registry_client *client, const char *line);

/** What a trace event reports (registry_trace_event.what). @since 1.0 */
enum registry_trace_what {
	REGISTRY_TRACE_SENT = 1,     /**< an attempt is about to be sent */
	REGISTRY_TRACE_REDIRECT = 2, /**< it was answered with a redirect that is followed */
	REGISTRY_TRACE_REAUTH = 3,   /**< it was answered 401 and is sent again with new auth */
	REGISTRY_TRACE_RETRY = 4,    /**< it failed in a way worth another attempt */
	REGISTRY_TRACE_DONE = 5,     /**< it has its final answer (any HTTP status) */
	REGISTRY_TRACE_FAILED = 6    /**< it failed without an answer, or the answer is refused */
};

/** The version of registry_trace_event this library fills in. @since 1.0 */
#define REGISTRY_TRACE_EVENT_VERSION 1

/**
 * One event of a request (registry_trace_cb). It never holds a header value,
 * a query string (signed URLs carry credentials there) or a secret. Valid
 * during the call only. The library allocates it: fields may be added at
 * the end in a later version, so a reader checks @c version (at least the
 * version that added a field) before it reads a newer field.
 * @since 1.0
 */
typedef struct registry_trace_event {
	unsigned int version;     /**< REGISTRY_TRACE_EVENT_VERSION of the library that filled it */
	int what;                 /**< enum registry_trace_what */
	const char *method;       /**< "GET", "HEAD", "PUT", ... */
	const char *url;          /**< without query string or user info */
	int status;               /**< HTTP status; 0 for SENT or without an answer */
	int64_t elapsed_us;       /**< of this attempt, in microseconds; 0 for SENT */
	int64_t bytes_sent;       /**< body bytes of this attempt */
	int64_t bytes_received;   /**< body bytes of this attempt */
	int attempt;              /**< 1 for the first; counts retries and re-requests */
	int new_connections;      /**< connections this attempt opened (0: one was reused) */
} registry_trace_event;

/**
 * Receives trace events; see registry_client_set_trace(). It observes
 * only and cannot stop a request: registry_client_set_cancel() does that.
 * @since 1.0
 */
typedef void (*registry_trace_cb)(const registry_trace_event *event, void *userdata);

/**
 * Call @p trace for every attempt of every request of this client, on the
 * caller's thread. Batch transfers that run on threads of their own
 * (registry_client_set_max_parallel()) report nothing for their attempts:
 * their events are dropped, not queued, so that tracing never holds up a
 * transfer. NULL removes it.
 * @return 0, REGISTRY_EINVAL for a NULL client.
 * @since 1.0
 */
REGISTRY_API int registry_client_set_trace(registry_client *client, registry_trace_cb trace,
                                           void *userdata);

/** Credentials handed back by a registry_credential_cb. Opaque. @since 1.0 */
typedef struct registry_credential registry_credential;

/**
 * Set the username and secret (password or token) of @p cred, copied.
 * @return 0; REGISTRY_EINVAL for a NULL @p cred or @p username, or a call
 *         outside the credential callback; REGISTRY_ENOMEM.
 * @since 1.0
 */
REGISTRY_API int registry_credential_set(registry_credential *cred, const char *username,
                                         const char *secret);

/**
 * Asked for the credentials of @p registry ("host:port" as given to
 * registry_client_new()). Set them with registry_credential_set() and
 * return 0; return 0 without setting any to go on anonymously; return
 * non-zero to cancel the request (REGISTRY_ECANCELED).
 * @since 1.0
 */
typedef int (*registry_credential_cb)(registry_credential *cred, const char *registry,
                                      void *userdata);

/**
 * A credential provider (a keychain): called on the caller's thread the
 * first time the registry asks for authentication (HTTP 401) while the
 * client has no credentials, once per client; its answer (credentials or
 * none) is kept for the client's lifetime, as registry_client_set_credentials()
 * would. Setting a provider again asks again. NULL removes it.
 * @return 0, REGISTRY_EINVAL for a NULL client.
 * @since 1.0
 */
REGISTRY_API int registry_client_set_credential_provider(registry_client *client,
                                                         registry_credential_cb provider,
                                                         void *userdata);

/**
 * Resolve @p host:@p port to @p address instead of asking DNS (as curl's
 * --resolve). May be called several times. For tests and split-horizon
 * setups; the TLS host name check still uses @p host.
 * @return 0; REGISTRY_EINVAL for a NULL client, host or address, a port
 *         outside 1..65535, a host with ':' or an address with ',';
 *         REGISTRY_ENOMEM.
 * @since 0.1
 */
REGISTRY_API int registry_client_add_resolve(registry_client *client, const char *host, int port,
                                             const char *address);

/**
 * Username and password for Basic auth and for token requests. NULL
 * username clears them. Copied; wiped when replaced or freed.
 * @return 0; REGISTRY_EINVAL for a NULL client; REGISTRY_ENOMEM.
 * @since 0.1
 */
REGISTRY_API int registry_client_set_credentials(registry_client *client, const char *username,
                                                 const char *password);

/**
 * An identity (refresh) token, used with OAuth2 grant_type=refresh_token at
 * the token realm. NULL clears.
 * @return 0; REGISTRY_EINVAL for a NULL client; REGISTRY_ENOMEM.
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

/** A cancellation hook (registry_client_set_cancel()): non-zero cancels. @since 1.0 */
typedef int (*registry_cancel_cb)(void *userdata);

/**
 * A cancellation hook checked while any request of this client runs (about
 * every second during a transfer, and at least every 100 ms while waiting
 * to retry or in a batch of blob transfers). Return non-zero to cancel: the
 * running call then returns REGISTRY_ECANCELED, keeping resumable partial
 * downloads. Runs on the caller's thread; NULL removes it. Operations with
 * a progress callback can cancel through it as well.
 * @return 0; REGISTRY_EINVAL for a NULL client.
 * @since 0.1
 */
REGISTRY_API int registry_client_set_cancel(registry_client *client, registry_cancel_cb cancel,
                                            void *userdata);

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
 * @since 0.1 (out-parameters first and int64_t since 0.2)
 */
REGISTRY_API int registry_client_rate_limit(int64_t *limit, int64_t *remaining,
                                            const registry_client *client);

REGISTRY_END_DECLS

#endif

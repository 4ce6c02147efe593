/*
 * Private interface of the transport layer, used by the store and the
 * operations: one request through registry__client_do(), with the client's
 * auth, redirect and retry rules applied.
 */
#ifndef REGISTRY_TRANSPORT_H
#define REGISTRY_TRANSPORT_H

#include <curl/curl.h>
#include <time.h>

#include "internal.h"

#define REGISTRY__JSON_LIMIT ((size_t)1 << 20)     /* tokens, errors, tag lists */
#define REGISTRY__MANIFEST_LIMIT ((size_t)4 << 20) /* default manifest cap */
#define REGISTRY__MAX_REDIRECTS 10
#define REGISTRY__HEADER_LIMIT 8192 /* one header line */

/* ---- WWW-Authenticate ---------------------------------------------------- */

typedef struct registry__auth_param {
	char *name; /* lowercased */
	char *value;
} registry__auth_param;

typedef struct registry__challenge {
	char *scheme; /* lowercased: "basic", "bearer", ... */
	registry__auth_param *params;
	size_t nparams;
} registry__challenge;

typedef struct registry__challenges {
	registry__challenge *items;
	size_t count;
} registry__challenges;

/* Parse one or more comma-separated challenges (RFC 7235, quoted strings with
 * escapes). 0 or REGISTRY_EFORMAT / REGISTRY_ENOMEM. */
int registry__challenges_parse(registry__challenges *out, const char *header);
void registry__challenges_free(registry__challenges *c);
const registry__challenge *registry__challenges_find(const registry__challenges *c,
                                                     const char *scheme);
/* Value of a parameter (case-insensitive name) or NULL. */
const char *registry__challenge_param(const registry__challenge *ch, const char *name);

/* ---- URLs and origins ----------------------------------------------------- */

typedef struct registry__origin {
	char scheme[8];
	char host[256];
	long port;
} registry__origin;

/* Parse an absolute http(s) URL into its origin; 0 or REGISTRY_EFORMAT. */
int registry__origin_of(registry__origin *o, const char *url);
int registry__origin_equal(const registry__origin *a, const registry__origin *b);
/* Resolve @ref (absolute or relative) against @base; caller frees. */
int registry__url_resolve(char **out, const char *base, const char *ref);
/* 1 when host is localhost, 127.0.0.0/8 or ::1 (brackets allowed). */
int registry__host_is_loopback(const char *host);
/* 1 for a link-local (169.254/16, fe80::/10), unspecified or IPv4-mapped
 * such address: where cloud metadata services answer. */
struct sockaddr;
int registry__addr_forbidden(const struct sockaddr *sa);
/* A socket for curl's CURLOPT_OPENSOCKETFUNCTION that refuses those
 * addresses (sets *refused, CURL_SOCKET_BAD); close-on-exec. */
curl_socket_t registry__open_socket_checked(struct curl_sockaddr *a, int *refused);

/* ---- Requests ------------------------------------------------------------- */

/* Body sink for 2xx responses: return 0 to continue, an error code to abort. */
typedef int (*registry__sink_fn)(const char *data, size_t len, void *ud);
/* Upload source: fill @buf, return bytes (0 = end) or a negative error code. */
typedef long (*registry__source_fn)(char *buf, size_t len, void *ud);

typedef struct registry__request {
	const char *method; /* "GET" (default), "HEAD", "PUT", "POST", "PATCH", "DELETE" */
	const char *url;    /* "/v2/..." on the registry, or an absolute URL */
	const char *scope;  /* token scopes separated by spaces, NULL for none */
	const char *const *headers; /* extra "Name: value" lines, NULL-terminated */
	const void *body;           /* request body in memory ... */
	size_t body_len;
	registry__source_fn source; /* ... or streamed (set rewind to allow retries) */
	void *source_ud;
	long long source_len; /* -1: unknown length */
	int (*rewind)(void *ud);
	registry__sink_fn sink; /* 2xx body goes here; otherwise into response.body */
	void *sink_ud;
	size_t body_limit;    /* cap for a buffered body; 0: REGISTRY__JSON_LIMIT */
	int no_redirects;     /* return 3xx to the caller */
	int no_retry;
	int refuse_link_local; /* never connect to a link-local, unspecified or
	                          metadata address, whatever name resolved to it
	                          (token realms: REGISTRY_EPROTOCOL) */
} registry__request;

typedef struct registry__response {
	long status;
	long long content_length; /* -1 when absent */
	char *content_type;
	char *docker_content_digest;
	char *location;
	char *link;
	char *range;
	char *www_authenticate;
	char *retry_after;
	char *oci_chunk_min_length;
	char *content_range;
	char *oci_subject; /* a manifest PUT with a subject, on a registry with the referrers API */
	char *supports_signatures; /* X-Registry-Supports-Signatures: the registry stores simple signatures */
	char *url; /* the URL of the final request */
	registry__buf body;
	int body_truncated;
} registry__response;

void registry__response_init(registry__response *r);
void registry__response_free(registry__response *r);

/*
 * Perform a request. Returns 0 when the registry answered (any HTTP status:
 * the caller judges it, see registry__response_fail), or a negative code
 * when no usable answer came (network, TLS, auth token fetch, too large,
 * canceled), with the last error set.
 */
int registry__client_do(registry_client *c, const registry__request *req, registry__response *resp);

/* The same for an absolute URL of another party (a token realm, a foreign
 * layer): the request carries @authorization (NULL: none) and nothing of
 * the registry's (credentials, extra headers). Plain HTTP only where
 * registry__plain_http_allowed() says so. */
int registry__client_do_external(registry_client *c, const registry__request *req, const char *authorization,
                                 registry__response *resp);

/*
 * Another driver of this thread's requests, while one is set: every
 * registry__client_do, registry__client_do_external (after its plain-HTTP
 * check) and registry__blob_fetch_mem goes to it instead of the network.
 * The event loop (lib/loop/verify.c) replays the blocking signature
 * verification over answers it fetched without blocking: the blocking
 * code's judgement and messages, no second copy of them. perform: as
 * registry__client_do (@authorization and @external for the external
 * kind); blob_mem: as registry__blob_fetch_mem.
 */
typedef struct registry__do_hook {
	int (*perform)(void *ud, registry_client *c, const registry__request *req, const char *authorization,
	               int external, registry__response *resp);
	int (*blob_mem)(void *ud, registry__buf *out, registry_client *c, const char *repository, const char *digest,
	                int64_t size, size_t limit, const char *what);
	/* Where to keep what is costly to make again in each replay (a GPG
	 * context with its keys imported) under @key, freed with @free_fn when
	 * the replays end: the slot (NULL *slot: not made yet), or NULL to
	 * make and free it as without a hook. May be NULL. */
	void **(*slot)(void *ud, const void *key, void (*free_fn)(void *));
	void *ud;
} registry__do_hook;
/* Set (NULL: none) the hook of this thread; the one set before is returned. */
const registry__do_hook *registry__do_hook_set(const registry__do_hook *h);
const registry__do_hook *registry__do_hook_get(void);

/*
 * Record a failure for a non-success response: the status and the
 * registry's error JSON mapped to a code. @what names the action, e.g.
 * "fetching manifest ubuntu:latest". Returns the code.
 */
int registry__response_fail(const registry__response *resp, const char *what);

/* Parse one header line (or status line) into @r. 0, or an error code
 * (recorded): REGISTRY_EPROTOCOL for a header we read that is over
 * REGISTRY__HEADER_LIMIT (never cut short) or a Content-Length that is not
 * a number of bytes, REGISTRY_ENOMEM. Headers we do not read are ignored. */
int registry__header_line(registry_client *c, registry__response *r, const char *buf, size_t len);
/* @len decimal digits into *out, refusing overflow past INT64_MAX (a
 * 30-digit length must not wrap): 0, or -1 for anything else (not an
 * error code: the caller records what the value was). */
int registry__parse_count(const char *s, size_t len, int64_t *out);
/* The first byte position of a Content-Range "bytes FIRST-LAST/TOTAL":
 * 0, or -1 when it is not one (the caller records). */
int registry__content_range_start(const char *cr, int64_t *start);
void registry__response_reset_headers(registry__response *r);
int registry__curl_error(CURLcode cc);
int registry__curl_retryable(CURLcode cc);
int registry__status_retryable(long status);
int registry__is_redirect(long status);
long registry__backoff_ms(const registry_client *c, int attempt, const registry__response *resp);

/* Map a registry error code string ("MANIFEST_UNKNOWN") to a REGISTRY_E code, 0 if unknown. */
int registry__registry_code_to_error(const char *code);
/* Map an HTTP status to a REGISTRY_E code. */
int registry__status_to_error(long status);
/* Parse Retry-After (delta seconds or HTTP date) into milliseconds; -1 if invalid. */
long registry__retry_after_ms(const char *value, time_t now);

#endif

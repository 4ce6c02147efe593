/*
 * The client's settings against the real registry (issue 15):
 *
 *   itest-settings observe   (token + redirect, through fault_proxy.py) an
 *                            extra header reaches every registry request and
 *                            neither the token realm nor the redirect
 *                            target; the trace sees the pull's attempts
 *                            (redirects, 401 rounds, done) without a query
 *                            string or a header value
 *   itest-settings timeout   (fault_proxy.py --stall) a total per-request
 *                            limit ends a stalled blob in time
 *   itest-settings provider  (htpasswd) the credential provider is asked
 *                            once and its credentials are used; no answer
 *                            means anonymous (refused), non-zero cancels
 *   itest-settings tls-memory (TLS) the harness CA given from memory, and a
 *                            minimum TLS version
 *   itest-settings share     (through fault_proxy.py) two pulls over four
 *                            lanes open no more connections than lanes:
 *                            the lanes reuse the client's connections
 */
#include "itest.h"

#include <time.h>

#define HEADER_NAME "X-Libregistry-Test"
#define HEADER_LINE HEADER_NAME ": h1"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static registry_client *client_on(const char *host)
{
	registry_client *c = NULL;
	if (registry_client_new(&c, host) != 0) {
		fprintf(stderr, "client_new %s: %s\n", host, registry_error_message(registry_error_last()));
		exit(1);
	}
	if (getenv("REGISTRY_TEST_USER"))
		registry_client_set_credentials(c, getenv("REGISTRY_TEST_USER"), getenv("REGISTRY_TEST_PASSWORD"));
	return c;
}

static int pull(registry_client *c, const char *host, const char *repo, const char *store_name)
{
	char text[512];
	snprintf(text, sizeof(text), "%s/%s:latest", host, repo);
	registry_reference *ref = NULL;
	if (registry_reference_parse(&ref, text) != 0) {
		fprintf(stderr, "reference %s: %s\n", text, registry_error_message(registry_error_last()));
		exit(1);
	}
	registry_store *s = itest_store(store_name);
	int rc = registry_pull(NULL, c, ref, s, NULL, NULL);
	registry_store_free(s);
	registry_reference_free(ref);
	return rc;
}

/* Lines of @path (from line @from on) containing @needle, and all lines. */
static size_t count_lines(const char *path, size_t from, const char *needle, size_t *total)
{
	FILE *f = fopen(path, "r");
	size_t hits = 0, n = 0;
	char line[65536];
	while (f && fgets(line, sizeof(line), f))
		if (n++ >= from && strstr(line, needle))
			hits++;
	if (f)
		fclose(f);
	if (total)
		*total = n;
	return hits;
}

typedef struct events {
	int sent, done, redirects, reauths, failed;
	int with_query, bad_method;
} events;

static void on_trace(const registry_trace_event *e, void *ud)
{
	events *ev = ud;
	ev->sent += e->what == REGISTRY_TRACE_SENT;
	ev->done += e->what == REGISTRY_TRACE_DONE;
	ev->redirects += e->what == REGISTRY_TRACE_REDIRECT;
	ev->reauths += e->what == REGISTRY_TRACE_REAUTH;
	ev->failed += e->what == REGISTRY_TRACE_FAILED;
	ev->with_query += strchr(e->url, '?') != NULL;
	ev->bad_method += !e->method || !*e->method;
	if (e->what == REGISTRY_TRACE_DONE && (e->status < 100 || e->attempt < 1))
		ev->bad_method++;
}

static void test_observe(void)
{
	const char *host = getenv("REGISTRY_TEST_PROXY_HOST");
	const char *proxy_log = getenv("REGISTRY_TEST_PROXY_LOG");
	const char *token_log = getenv("REGISTRY_TEST_TOKEN_LOG");
	const char *redirect_log = getenv("REGISTRY_TEST_REDIRECT_LOG");
	CHECK(host && proxy_log && token_log && redirect_log);
	if (!host || !proxy_log || !token_log || !redirect_log)
		return;
	registry_client *c = client_on(host);
	events ev = {0};
	CHECK_RC(registry_client_add_header(c, HEADER_LINE), 0);
	CHECK_RC(registry_client_set_trace(c, on_trace, &ev), 0);
	/* One at a time: the trace sees the attempts of the caller's thread. */
	CHECK_RC(registry_client_set_max_parallel(c, 1), 0);
	CHECK_RC(pull(c, host, "fixtures/small-v2s2", "observe"), 0);
	registry_client_free(c);

	size_t proxied = 0, realm = 0, redirected = 0;
	size_t with_header = count_lines(proxy_log, 0, "\"" HEADER_NAME "\": \"h1\"", &proxied);
	CHECK(proxied >= 5);
	CHECK_INT(with_header, proxied); /* every registry request */
	CHECK_INT(count_lines(token_log, 0, HEADER_NAME, &realm), 0);
	CHECK(realm >= 1);
	CHECK_INT(count_lines(redirect_log, 0, HEADER_NAME, &redirected), 0);
	CHECK(redirected >= 4); /* config and three layers */

	CHECK(ev.sent >= (int)proxied);
	CHECK(ev.done >= 5);
	CHECK(ev.redirects >= 4);
	CHECK(ev.reauths >= 1);
	CHECK_INT(ev.failed, 0);
	CHECK_INT(ev.with_query, 0); /* the redirects' targets carry signed queries elsewhere */
	CHECK_INT(ev.bad_method, 0);
}

static void test_timeout(void)
{
	const char *host = getenv("REGISTRY_TEST_PROXY_HOST");
	CHECK(host != NULL);
	if (!host)
		return;
	registry_client *c = client_on(host);
	registry_timeout_options t = REGISTRY_TIMEOUT_OPTIONS_INIT;
	t.total_ms = 1500;
	CHECK_RC(registry_client_set_timeouts(c, &t), 0);
	CHECK_RC(registry_client_set_retries(c, &(registry_retry_options){REGISTRY_RETRY_OPTIONS_VERSION, REGISTRY_RETRY_NONE, 0, 0, 0}), 0);
	double t0 = now_s();
	/* The stalled blob sends 1 byte/s: above nothing, below the default
	 * low-speed limit only after 30 s. The total limit ends it first, and
	 * says so: REGISTRY_ETIMEDOUT, not a network error (since 0.2). */
	CHECK_RC(pull(c, host, "fixtures/small-v2s2", "timeout"), REGISTRY_ETIMEDOUT);
	double took = now_s() - t0;
	if (took > 10)
		fprintf(stderr, "the stalled pull took %.1f s\n", took);
	CHECK(took < 10);
	registry_client_free(c);
}

typedef struct asked {
	int calls;
	int mode; /* 0: the harness's credentials, 1: none, 2: cancel */
} asked;

static int provider(registry_credential *cred, const char *registry, void *ud)
{
	asked *a = ud;
	a->calls++;
	CHECK_STR(registry, getenv("REGISTRY_TEST_HOST"));
	if (a->mode == 0)
		CHECK_RC(registry_credential_set(cred, getenv("REGISTRY_TEST_USER"),
		                                 getenv("REGISTRY_TEST_PASSWORD")), 0);
	return a->mode == 2;
}

static void test_provider(void)
{
	const char *host = getenv("REGISTRY_TEST_HOST");
	for (int mode = 0; mode < 3; mode++) {
		registry_client *c = NULL;
		CHECK_RC(registry_client_new(&c, host), 0);
		asked a = {.mode = mode};
		CHECK_RC(registry_client_set_credential_provider(c, provider, &a), 0);
		int expect = mode == 0 ? 0 : mode == 1 ? REGISTRY_EAUTH : REGISTRY_ECANCELED;
		CHECK_RC(registry_client_ping(c), expect);
		if (mode == 0) {
			CHECK_RC(pull(c, host, "fixtures/small-v2s2", "provider"), 0);
			CHECK_RC(registry_client_ping(c), 0);
		}
		CHECK_INT(a.calls, 1);
		registry_client_free(c);
	}
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = calloc(1, 1 << 20);
	size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	(void)n;
	fclose(f);
	return buf;
}

static void test_tls_memory(void)
{
	const char *host = getenv("REGISTRY_TEST_HOST");
	char *pem = read_all(getenv("REGISTRY_TEST_CA"));
	CHECK(pem != NULL);
	if (!pem)
		return;
	registry_client *c = client_on(host);
	registry_tls_options tls = REGISTRY_TLS_OPTIONS_INIT;
	tls.ca_pem = pem;
	tls.min_version = REGISTRY_TLS_1_2;
	CHECK_RC(registry_client_set_tls(c, &tls), 0);
	free(pem); /* copied */
	CHECK_RC(registry_client_ping(c), 0);
	CHECK(strncmp(registry_client_base_url(c), "https://", 8) == 0);
	CHECK_RC(pull(c, host, "fixtures/small-v2s2", "tls"), 0);
	/* Without it, the harness CA is unknown: no fallback to HTTP. */
	CHECK_RC(registry_client_set_tls(c, NULL), 0);
	registry_client *fresh = client_on(host);
	CHECK_RC(registry_client_ping(fresh), REGISTRY_ETLS);
	registry_client_free(fresh);
	registry_client_free(c);
}

/* Distinct client ports (connections) in the proxy log from line @from. */
static int connections_since(const char *log, size_t from)
{
	FILE *f = fopen(log, "r");
	long ports[4096];
	int n = 0;
	size_t line_no = 0;
	char line[65536];
	while (f && fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "\"client_port\": ");
		if (line_no++ < from || !p)
			continue;
		long port = strtol(p + 16, NULL, 10);
		int seen = 0;
		for (int i = 0; i < n && !seen; i++)
			seen = ports[i] == port;
		if (!seen && n < 4096)
			ports[n++] = port;
	}
	if (f)
		fclose(f);
	return n;
}

static void test_share(void)
{
	const char *host = getenv("REGISTRY_TEST_PROXY_HOST");
	const char *log = getenv("REGISTRY_TEST_PROXY_LOG");
	CHECK(host && log);
	if (!host || !log)
		return;
	registry_client *c = client_on(host);
	CHECK_RC(registry_client_set_max_parallel(c, 4), 0);
	CHECK_RC(pull(c, host, "fixtures/small-v2s2", "share1"), 0);
	CHECK_RC(pull(c, host, "fixtures/small-oci", "share2"), 0);
	registry_client_free(c);
	/* Two pulls of four blobs each: the lanes take the client's idle
	 * connections from the shared cache, and the second pull's lanes
	 * those the first one's left. Each lane on a cache of its own opens
	 * its own: one per lane per pull, plus the client's. */
	int conns = connections_since(log, 0);
	printf("connections for two pulls over 4 lanes: %d\n", conns);
	CHECK(conns >= 1);
	CHECK(conns <= 4);
}

int main(int argc, char **argv)
{
	itest_require_harness();
	const char *which = argc > 1 ? argv[1] : "";
	if (strcmp(which, "observe") == 0)
		RUN(test_observe);
	else if (strcmp(which, "timeout") == 0)
		RUN(test_timeout);
	else if (strcmp(which, "provider") == 0)
		RUN(test_provider);
	else if (strcmp(which, "tls-memory") == 0)
		RUN(test_tls_memory);
	else if (strcmp(which, "share") == 0)
		RUN(test_share);
	else {
		fprintf(stderr, "unknown case '%s'\n", which);
		return 2;
	}
	return CHECK_DONE();
}

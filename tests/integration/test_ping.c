/*
 * GET /v2/ through registry_client_ping() against the real registry in the
 * mode the harness started (open, htpasswd, token, TLS), plus the failures
 * that must be told apart: wrong credentials (EAUTH), bad TLS (ETLS), a
 * closed port (ENETWORK), a plain-HTTP registry where HTTPS is required
 * (ETLS), each naming the URL.
 */
#include "itest.h"

static const char *auth_mode;
static int tls;

static void test_ping_ok(void)
{
	registry_client *c = itest_client(1);
	long fetches = 0;
	CHECK_RC(registry_client_set_trace(c, itest_count_tokens, &fetches), 0);
	CHECK_RC(registry_client_ping(c), 0);
	const char *base = registry_client_base_url(c);
	CHECK(base != NULL);
	if (base)
		CHECK(strncmp(base, tls ? "https://" : "http://", tls ? 8 : 7) == 0);
	int want = strcmp(auth_mode, "htpasswd") == 0 ? REGISTRY_AUTH_BASIC
	         : strcmp(auth_mode, "token") == 0   ? REGISTRY_AUTH_BEARER
	                                             : REGISTRY_AUTH_NONE;
	CHECK_INT(registry_client_auth_scheme(c), want);
	if (want == REGISTRY_AUTH_BEARER)
		CHECK(fetches >= 1);
	/* The connection is reused and a second ping needs no new token. */
	long before = fetches;
	CHECK_RC(registry_client_ping(c), 0);
	CHECK_INT(fetches, before);
	registry_client_free(c);
}

static void test_wrong_password(void)
{
	if (strcmp(auth_mode, "none") == 0)
		return;
	registry_client *c = itest_client(0);
	registry_client_set_credentials(c, getenv("REGISTRY_TEST_USER"), "definitely-wrong");
	CHECK_RC(registry_client_ping(c), REGISTRY_EAUTH);
	const registry_error *e = registry_error_last();
	CHECK_INT(registry_error_http_status(e), 401);
	CHECK(strlen(registry_error_url(e)) > 0);
	/* The secret never appears in the message. */
	CHECK(strstr(registry_error_message(e), "definitely-wrong") == NULL);
	registry_client_free(c);
}

static void test_no_credentials(void)
{
	registry_client *c = itest_client(0);
	int rc = registry_client_ping(c);
	if (strcmp(auth_mode, "htpasswd") == 0)
		CHECK_RC(rc, REGISTRY_EAUTH);
	else
		CHECK_RC(rc, 0); /* open, or token with anonymous access to /v2/ */
	registry_client_free(c);
}

static void test_tls_without_ca(void)
{
	if (!tls)
		return;
	registry_client *c = NULL;
	CHECK_RC(registry_client_new(&c, getenv("REGISTRY_TEST_HOST")), 0);
	/* Loopback, but the certificate fails verification: no fallback to HTTP. */
	CHECK_RC(registry_client_ping(c), REGISTRY_ETLS);
	CHECK(strstr(registry_error_message(registry_error_last()), "https://") != NULL);
	/* Verification off (for the registry's origin): the TLS registry
	 * answers, and never over plain HTTP. */
	CHECK_RC(registry_client_set_insecure(c, REGISTRY_INSECURE_NO_VERIFY), 0);
	if (getenv("REGISTRY_TEST_USER"))
		registry_client_set_credentials(c, getenv("REGISTRY_TEST_USER"), getenv("REGISTRY_TEST_PASSWORD"));
	if (strcmp(auth_mode, "token") == 0) {
		/* The token realm is another origin: it keeps full verification,
		 * so without its CA the token fetch fails, naming the realm ... */
		CHECK_RC(registry_client_ping(c), REGISTRY_ETLS);
		const char *realm = getenv("REGISTRY_TEST_TOKEN_URL");
		const char *url = registry_error_url(registry_error_last());
		CHECK(realm && url && strncmp(url, realm, strlen(realm)) == 0);
		/* ... and with it (the registry itself still unverified) all is well. */
		registry_tls_options o = REGISTRY_TLS_OPTIONS_INIT;
		o.ca_file = getenv("REGISTRY_TEST_CA");
		CHECK_RC(registry_client_set_tls(c, &o), 0);
	}
	CHECK_RC(registry_client_ping(c), 0);
	registry_client_free(c);
}

static void test_closed_port(void)
{
	char host[64];
	snprintf(host, sizeof(host), "127.0.0.1:%d", itest_closed_port());
	registry_client *c = NULL;
	CHECK_RC(registry_client_new(&c, host), 0);
	CHECK_RC(registry_client_ping(c), REGISTRY_ENETWORK);
	CHECK(strstr(registry_error_message(registry_error_last()), host) != NULL);
	registry_client_free(c);
}

/* A name that is not loopback, pinned to 127.0.0.1: HTTPS is required. */
static void test_http_where_https_required(void)
{
	if (tls)
		return;
	const char *hostport = getenv("REGISTRY_TEST_HOST");
	int port = atoi(strrchr(hostport, ':') + 1);
	char host[64];
	snprintf(host, sizeof(host), "registry.test:%d", port);
	registry_client *c = NULL;
	CHECK_RC(registry_client_new(&c, host), 0);
	CHECK_RC(registry_client_add_resolve(c, "registry.test", port, "127.0.0.1"), 0);
	if (getenv("REGISTRY_TEST_USER"))
		registry_client_set_credentials(c, getenv("REGISTRY_TEST_USER"), getenv("REGISTRY_TEST_PASSWORD"));
	CHECK_RC(registry_client_ping(c), REGISTRY_ETLS);
	CHECK(strstr(registry_error_message(registry_error_last()), "insecure") != NULL);
	CHECK(strstr(registry_error_url(registry_error_last()), "registry.test") != NULL);
	/* Marked insecure, plain HTTP is allowed. */
	CHECK_RC(registry_client_set_insecure(c, REGISTRY_INSECURE_ALLOW_HTTP), 0);
	CHECK_RC(registry_client_ping(c), 0);
	CHECK(strncmp(registry_client_base_url(c), "http://", 7) == 0);
	registry_client_free(c);
}

int main(void)
{
	itest_require_harness();
	auth_mode = env_or("REGISTRY_TEST_AUTH", "none");
	tls = getenv("REGISTRY_TEST_CA") != NULL;
	printf("registry %s auth=%s tls=%d\n", getenv("REGISTRY_TEST_HOST"), auth_mode, tls);
	RUN(test_ping_ok);
	RUN(test_wrong_password);
	RUN(test_no_credentials);
	RUN(test_tls_without_ca);
	RUN(test_closed_port);
	RUN(test_http_where_https_required);
	return CHECK_DONE();
}

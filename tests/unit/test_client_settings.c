/*
 * The client's settings (issue 15): versioned structs and typed setters
 * reject what they do not know and change nothing then; extra headers go
 * to the registry's origin only; trace events carry no query string, user
 * info or header; the credential provider is asked once.
 */
#include <string.h>

#include "check.h"
#include "transport/request.h"

static registry_client *new_client(void)
{
	registry_client *c = NULL;
	CHECK_INT(registry_client_new(&c, "registry.example:5000"), 0);
	return c;
}

static void test_tls_validation(void)
{
	registry_client *c = new_client();
	registry_tls_options o = REGISTRY_TLS_OPTIONS_INIT;
	o.ca_file = "/good/ca.pem";
	CHECK_INT(registry_client_set_tls(c, &o), 0);
	CHECK_STR(c->ca_file, "/good/ca.pem");

	registry_tls_options bad[7];
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(bad); i++) {
		CHECK_INT(registry_tls_options_init(&bad[i]), 0);
		bad[i].ca_file = "/bad/ca.pem";
	}
	bad[0].version = 0;
	bad[1].version = REGISTRY_TLS_OPTIONS_VERSION + 1;
	bad[2].flags = 0x80;
	bad[3].cert_file = "c.pem", bad[3].cert_pem = "-----BEGIN CERTIFICATE-----";
	bad[4].key_file = "k.pem";
	bad[5].min_version = 11;
	bad[6].cert_pem = "c", bad[6].key_file = "k", bad[6].key_pem = "k";
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(bad); i++) {
		CHECK_INT(registry_client_set_tls(c, &bad[i]), REGISTRY_EINVAL);
		CHECK(strstr(registry_error_message(registry_error_last()), "registry_client_set_tls") != NULL);
	}
	CHECK(strstr(registry_error_message(registry_error_last()), "both") != NULL);
	CHECK_STR(c->ca_file, "/good/ca.pem"); /* nothing changed */

	/* The passphrase is a secret: never in a message. */
	o.key_password = "hunter2-passphrase";
	o.key_file = "k.pem";
	CHECK_INT(registry_client_set_tls(c, &o), REGISTRY_EINVAL);
	CHECK(strstr(registry_error_message(registry_error_last()), "hunter2") == NULL);
	o.cert_pem = "-----BEGIN CERTIFICATE-----\n";
	o.min_version = REGISTRY_TLS_1_3;
	CHECK_INT(registry_client_set_tls(c, &o), 0);
	CHECK_INT(c->tls_min, REGISTRY_TLS_1_3);
	CHECK_STR(c->key_password, "hunter2-passphrase");
	/* NULL: every default again. */
	CHECK_INT(registry_client_set_tls(c, NULL), 0);
	CHECK(c->ca_file == NULL && c->key_password == NULL && c->cert_pem == NULL);
	/* No flags are defined since REGISTRY_TLS_NO_VERIFY became
	 * REGISTRY_INSECURE_NO_VERIFY: the old bit is refused, not ignored. */
	o = (registry_tls_options)REGISTRY_TLS_OPTIONS_INIT;
	o.flags = 0x1u;
	CHECK_INT(registry_client_set_tls(c, &o), REGISTRY_EINVAL);
	CHECK_INT(registry_client_set_tls(NULL, &o), REGISTRY_EINVAL);
	CHECK_INT(registry_tls_options_init(NULL), REGISTRY_EINVAL);
	registry_client_free(c);
}

/* One knob (issue 15 item 23): the two REGISTRY_INSECURE_* flags, for the
 * registry's own origin only; unknown bits are refused. */
static void test_insecure_flags(void)
{
	registry_client *c = new_client();
	CHECK_INT(registry_client_set_insecure(c, REGISTRY_INSECURE_NO_VERIFY), 0);
	CHECK_INT(registry__insecure_for(c, "https://registry.example:5000/v2/", REGISTRY_INSECURE_NO_VERIFY), 1);
	CHECK_INT(registry__insecure_for(c, "http://registry.example:5000/v2/", REGISTRY_INSECURE_ALLOW_HTTP), 0);
	CHECK_INT(registry__insecure_for(c, "https://auth.example/token", REGISTRY_INSECURE_NO_VERIFY), 0);
	CHECK_INT(registry_client_set_insecure(c, REGISTRY_INSECURE_ALLOW_HTTP), 0);
	CHECK_INT(registry__insecure_for(c, "http://registry.example:5000/v2/", REGISTRY_INSECURE_ALLOW_HTTP), 1);
	CHECK_INT(registry__insecure_for(c, "https://registry.example:5000/v2/", REGISTRY_INSECURE_NO_VERIFY), 0);
	CHECK_INT(registry_client_set_insecure(c, 0x4u), REGISTRY_EINVAL);
	CHECK(strstr(registry_error_message(registry_error_last()), "unknown flags 0x4") != NULL);
	CHECK_INT(c->insecure, REGISTRY_INSECURE_ALLOW_HTTP); /* unchanged */
	CHECK_INT(registry_client_set_insecure(c, 0), 0);
	CHECK_INT(c->insecure, 0);
	CHECK_INT(registry_client_set_insecure(NULL, 0), REGISTRY_EINVAL);
	registry_client_free(c);
}

static void test_timeouts(void)
{
	registry_client *c = new_client();
	registry_timeout_options t;
	CHECK_INT(registry_timeout_options_init(&t), 0);
	t.total_ms = 1500;
	t.connect_ms = 700;
	CHECK_INT(registry_client_set_timeouts(c, &t), 0);
	CHECK_INT(c->total_ms, 1500);
	CHECK_INT(c->connect_ms, 700);
	CHECK_INT(c->low_speed_bytes, 1024); /* zero: the default */
	CHECK_INT(c->low_speed_seconds, 30);
	registry_timeout_options neg = t;
	neg.total_ms = -1;
	CHECK_INT(registry_client_set_timeouts(c, &neg), REGISTRY_EINVAL);
	neg = t;
	neg.low_speed_seconds = -5;
	CHECK_INT(registry_client_set_timeouts(c, &neg), REGISTRY_EINVAL);
	neg = t;
	neg.version = 2;
	CHECK_INT(registry_client_set_timeouts(c, &neg), REGISTRY_EINVAL);
	CHECK(strstr(registry_error_message(registry_error_last()), "version 2") != NULL);
	neg = t;
	neg.flags = 0x1u; /* none defined yet */
	CHECK_INT(registry_client_set_timeouts(c, &neg), REGISTRY_EINVAL);
	CHECK(strstr(registry_error_message(registry_error_last()), "unknown flags") != NULL);
	neg = t;
	neg.total_ms = (int64_t)1 << 40; /* more than a 32-bit long holds */
	CHECK_INT(registry_client_set_timeouts(c, &neg), REGISTRY_EINVAL);
	CHECK_INT(c->total_ms, 1500); /* nothing changed */
	CHECK_INT(registry_client_set_timeouts(c, NULL), 0);
	CHECK_INT(c->total_ms, 0);
	CHECK_INT(c->connect_ms, 30000);
	CHECK_INT(registry_timeout_options_init(NULL), REGISTRY_EINVAL);
	registry_client_free(c);
}

static void test_header_validation(void)
{
	registry_client *c = new_client();
	const char *bad[] = {"X-A: 1\r\nX-Evil: 2", "X-A: 1\n", "X-A\r: 1", "no colon", ": empty name",
	                     "Authorization: Bearer x", "authorization: x", "HOST: h",
	                     "Content-Length: 1", "Transfer-Encoding: chunked", "Range: bytes=0-",
	                     "Bad Name: x", "X(y): z"};
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(bad); i++) {
		int rc = registry_client_add_header(c, bad[i]);
		if (rc != REGISTRY_EINVAL)
			fprintf(stderr, "header '%s' gave %d\n", bad[i], rc);
		CHECK_INT(rc, REGISTRY_EINVAL);
	}
	CHECK(c->extra_headers == NULL);
	for (int i = 0; i < REGISTRY__EXTRA_HEADERS_MAX; i++)
		CHECK_INT(registry_client_add_header(c, "X-Many: 1"), 0);
	CHECK_INT(registry_client_add_header(c, "X-Many: 1"), REGISTRY_EINVAL);
	CHECK_INT(registry_client_add_header(c, NULL), 0);
	CHECK(c->extra_headers == NULL);
	CHECK_INT(registry_client_add_header(c, "X-Ok_1.~: a value: with colon"), 0);
	CHECK_INT(registry_client_add_header(NULL, "X: y"), REGISTRY_EINVAL);
	registry_client_free(c);
}

static void test_max_parallel(void)
{
	registry_client *c = new_client();
	CHECK_INT(registry_client_set_max_parallel(c, REGISTRY_MAX_PARALLEL), 0);
	CHECK_INT(registry_client_set_max_parallel(c, REGISTRY_MAX_PARALLEL + 1), REGISTRY_EINVAL);
	CHECK_INT(registry_client_set_max_parallel(c, 64), REGISTRY_EINVAL);
	CHECK_INT(c->max_parallel, REGISTRY_MAX_PARALLEL);
	registry_client_free(c);
}

static int has_line(const struct curl_slist *l, const char *line)
{
	for (; l; l = l->next)
		if (strcmp(l->data, line) == 0)
			return 1;
	return 0;
}

/* The extra lines go with registry requests on the registry's origin;
 * not to a redirect target elsewhere, not to a token realm. */
static void test_header_origin_only(void)
{
	registry_client *c = new_client();
	CHECK_INT(registry_client_add_header(c, "X-Gateway: g1"), 0);
	c->base_url = strdup("https://registry.example:5000");
	CURL *h = curl_easy_init();
	registry__req r;
	CHECK_INT(registry__req_begin(&r, c, "https://registry.example:5000/v2/", NULL), 0);
	CHECK_INT(registry__req_configure(&r, h), 0);
	CHECK(has_line(r.hdrs, "X-Gateway: g1"));
	/* A redirect to a CDN. */
	free(r.url);
	r.url = strdup("https://cdn.example/blob?sig=1");
	CHECK_INT(registry__req_configure(&r, h), 0);
	CHECK(!has_line(r.hdrs, "X-Gateway: g1"));
	registry__req_end(&r);
	/* A token realm on the registry's own host and port is still not the
	 * registry's request. */
	CHECK_INT(registry__req_begin_external(&r, c, "https://registry.example:5000/token", NULL), 0);
	CHECK_INT(registry__req_configure(&r, h), 0);
	CHECK(!has_line(r.hdrs, "X-Gateway: g1"));
	registry__req_end(&r);
	curl_easy_cleanup(h);
	registry_client_free(c);
}

typedef struct seen {
	int n;
	char url[256];
	int what;
	const char *method;
} seen;

static void on_trace(const registry_trace_event *e, void *ud)
{
	seen *s = ud;
	s->n++;
	snprintf(s->url, sizeof(s->url), "%s", e->url);
	s->what = e->what;
	s->method = e->method;
}

static void test_trace_hides_secrets(void)
{
	registry_client *c = new_client();
	seen s = {0};
	CHECK_INT(registry_client_set_trace(c, on_trace, &s), 0);
	CURL *h = curl_easy_init();
	registry__req r;
	CHECK_INT(registry__req_begin_external(&r, c, "https://user:pw@cdn.example/b/x?X-Amz-Signature=s3cr3t#f",
	                                       "Bearer tok"), 0);
	CHECK_INT(registry__req_configure(&r, h), 0);
	CHECK_INT(s.n, 1);
	CHECK_INT(s.what, REGISTRY_TRACE_SENT);
	CHECK_STR(s.method, "GET");
	CHECK_STR(s.url, "https://cdn.example/b/x");
	registry__req_end(&r);
	curl_easy_cleanup(h);
	registry_client_free(c);
}

typedef struct asked {
	int calls;
	int result;
	const char *user;
	char registry[64];
} asked;

static int provider(registry_credential *cred, const char *registry, void *ud)
{
	asked *a = ud;
	a->calls++;
	snprintf(a->registry, sizeof(a->registry), "%s", registry);
	if (a->user)
		CHECK_INT(registry_credential_set(cred, a->user, "pw"), 0);
	CHECK_INT(registry_credential_set(cred, NULL, "pw"), REGISTRY_EINVAL);
	return a->result;
}

static void test_credential_provider(void)
{
	registry_client *c = new_client();
	asked a = {.user = "alice"};
	CHECK_INT(registry_client_set_credential_provider(c, provider, &a), 0);
	CHECK_INT(registry__client_ask_credentials(c), 0);
	CHECK_INT(registry__client_ask_credentials(c), 0); /* once */
	CHECK_INT(a.calls, 1);
	CHECK_STR(a.registry, "registry.example:5000");
	CHECK_STR(c->username, "alice");
	CHECK_STR(c->password, "pw");
	registry_client_free(c);

	/* None given: anonymous, and not asked again. */
	c = new_client();
	a = (asked){0};
	registry_client_set_credential_provider(c, provider, &a);
	CHECK_INT(registry__client_ask_credentials(c), 0);
	CHECK_INT(registry__client_ask_credentials(c), 0);
	CHECK_INT(a.calls, 1);
	CHECK(c->username == NULL);
	registry_client_free(c);

	/* Non-zero cancels. */
	c = new_client();
	a = (asked){.result = 1, .user = "bob"};
	registry_client_set_credential_provider(c, provider, &a);
	CHECK_INT(registry__client_ask_credentials(c), REGISTRY_ECANCELED);
	CHECK(c->username == NULL);
	registry_client_free(c);

	/* Credentials set by the program: the provider is not asked. */
	c = new_client();
	a = (asked){.user = "carol"};
	registry_client_set_credentials(c, "dave", "x");
	registry_client_set_credential_provider(c, provider, &a);
	CHECK_INT(registry__client_ask_credentials(c), 0);
	CHECK_INT(a.calls, 0);
	registry_client_free(c);

	registry_credential *outside = NULL;
	CHECK_INT(registry_credential_set(outside, "u", "p"), REGISTRY_EINVAL);
}

int main(void)
{
	RUN(test_tls_validation);
	RUN(test_timeouts);
	RUN(test_insecure_flags);
	RUN(test_header_validation);
	RUN(test_max_parallel);
	RUN(test_header_origin_only);
	RUN(test_trace_hides_secrets);
	RUN(test_credential_provider);
	return CHECK_DONE();
}

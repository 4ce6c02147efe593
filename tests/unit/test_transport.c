/* Transport parsers and mappings without a network: WWW-Authenticate,
 * Retry-After, origins, loopback detection, registry error JSON. */
#include "check.h"
#include "transport/client_impl.h"

static void test_challenge_docker(void)
{
	registry__challenges ch;
	CHECK_INT(registry__challenges_parse(&ch,
		"Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
		"scope=\"repository:library/ubuntu:pull,push\",error=\"insufficient_scope\""), 0);
	CHECK_INT(ch.count, 1);
	const registry__challenge *b = registry__challenges_find(&ch, "BEARER");
	CHECK(b != NULL);
	CHECK_STR(registry__challenge_param(b, "realm"), "https://auth.docker.io/token");
	CHECK_STR(registry__challenge_param(b, "Service"), "registry.docker.io");
	/* The comma inside the quoted scope is not a separator. */
	CHECK_STR(registry__challenge_param(b, "scope"), "repository:library/ubuntu:pull,push");
	CHECK_STR(registry__challenge_param(b, "error"), "insufficient_scope");
	registry__challenges_free(&ch);
}

static void test_challenge_several(void)
{
	registry__challenges ch;
	CHECK_INT(registry__challenges_parse(&ch,
		"Basic realm=\"Registry Realm\", bearer realm=\"https://a/t\" , service=svc, "
		"Negotiate abc123=="), 0);
	CHECK_INT(ch.count, 3);
	CHECK_STR(ch.items[0].scheme, "basic");
	CHECK_STR(registry__challenge_param(&ch.items[0], "realm"), "Registry Realm");
	CHECK_STR(ch.items[1].scheme, "bearer");
	CHECK_STR(registry__challenge_param(&ch.items[1], "service"), "svc");
	CHECK_STR(registry__challenge_param(&ch.items[1], "realm"), "https://a/t");
	CHECK_STR(ch.items[2].scheme, "negotiate");
	CHECK_STR(registry__challenge_param(&ch.items[2], "token68"), "abc123==");
	registry__challenges_free(&ch);
}

static void test_challenge_escapes(void)
{
	registry__challenges ch;
	CHECK_INT(registry__challenges_parse(&ch, "Bearer realm=\"a\\\"b\\\\c, d\",x = y"), 0);
	CHECK_STR(registry__challenge_param(&ch.items[0], "realm"), "a\"b\\c, d");
	CHECK_STR(registry__challenge_param(&ch.items[0], "x"), "y");
	registry__challenges_free(&ch);
}

static void test_challenge_bad(void)
{
	const char *bad[] = {"", "   ", "Bearer realm=\"unterminated", "Bearer realm=\"x\\",
	                     "=x", "Bearer realm=\"a\" junk junk"};
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(bad); i++) {
		registry__challenges ch;
		int rc = registry__challenges_parse(&ch, bad[i]);
		if (rc == 0)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK(rc != 0);
		CHECK(ch.items == NULL);
	}
	registry__challenges ch;
	CHECK(registry__challenges_parse(&ch, NULL) != 0);
	/* Too many parameters is an error, not an overflow. */
	registry_buf b;
	registry_buf_init(&b, 0);
	registry_buf_puts(&b, "Bearer ");
	for (int i = 0; i < 100; i++)
		registry_buf_printf(&b, "%sp%d=v", i ? "," : "", i);
	CHECK(registry__challenges_parse(&ch, b.data) != 0);
	registry_buf_free(&b);
}

static void test_retry_after(void)
{
	CHECK_INT(registry__retry_after_ms("2", 0), 2000);
	CHECK_INT(registry__retry_after_ms("0", 0), 0);
	CHECK_INT(registry__retry_after_ms("-1", 0), -1);
	CHECK_INT(registry__retry_after_ms("soon", 0), -1);
	CHECK_INT(registry__retry_after_ms("", 0), -1);
	CHECK_INT(registry__retry_after_ms("999999999", 0), 86400L * 1000);
	/* HTTP date: 1994-11-06 08:49:37 GMT is 784111777. */
	CHECK_INT(registry__retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 5), 5000);
	CHECK_INT(registry__retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 5), 0);
}

static void test_origins(void)
{
	registry__origin a, b;
	CHECK_INT(registry__origin_of(&a, "https://Registry.Example:443/v2/"), 0);
	CHECK_INT(registry__origin_of(&b, "https://registry.example/v2/x/blobs/y"), 0);
	CHECK(registry__origin_equal(&a, &b));
	CHECK_INT(registry__origin_of(&b, "https://registry.example:444/v2/"), 0);
	CHECK(!registry__origin_equal(&a, &b)); /* only the port differs: another origin */
	CHECK_INT(registry__origin_of(&b, "http://registry.example:443/"), 0);
	CHECK(!registry__origin_equal(&a, &b));
	CHECK(registry__origin_of(&b, "not a url") != 0);

	char *u = NULL;
	CHECK_INT(registry__url_resolve(&u, "http://127.0.0.1:5000/v2/a/blobs/uploads/", "/v2/a/blobs/uploads/x?_state=1"), 0);
	CHECK_STR(u, "http://127.0.0.1:5000/v2/a/blobs/uploads/x?_state=1");
	free(u);
	CHECK_INT(registry__url_resolve(&u, "http://127.0.0.1:5000/v2/", "https://cdn.example/b?sig=1"), 0);
	CHECK_STR(u, "https://cdn.example/b?sig=1");
	free(u);
}

static void test_loopback(void)
{
	CHECK(registry__host_is_loopback("localhost"));
	CHECK(registry__host_is_loopback("127.0.0.1"));
	CHECK(registry__host_is_loopback("127.255.0.9"));
	CHECK(registry__host_is_loopback("[::1]"));
	CHECK(registry__host_is_loopback("::1"));
	CHECK(!registry__host_is_loopback("128.0.0.1"));
	CHECK(!registry__host_is_loopback("localhost.example.com"));
	CHECK(!registry__host_is_loopback("10.0.0.1"));
}

static void test_error_mapping(void)
{
	CHECK_INT(registry__registry_code_to_error("MANIFEST_UNKNOWN"), REGISTRY_ENOTFOUND);
	CHECK_INT(registry__registry_code_to_error("BLOB_UNKNOWN"), REGISTRY_ENOTFOUND);
	CHECK_INT(registry__registry_code_to_error("NAME_UNKNOWN"), REGISTRY_ENOTFOUND);
	CHECK_INT(registry__registry_code_to_error("UNAUTHORIZED"), REGISTRY_EAUTH);
	CHECK_INT(registry__registry_code_to_error("DENIED"), REGISTRY_EDENIED);
	CHECK_INT(registry__registry_code_to_error("TOOMANYREQUESTS"), REGISTRY_ERATELIMIT);
	CHECK_INT(registry__registry_code_to_error("DIGEST_INVALID"), REGISTRY_EDIGEST);
	CHECK_INT(registry__registry_code_to_error("UNSUPPORTED"), REGISTRY_EUNSUPPORTED);
	CHECK_INT(registry__registry_code_to_error("SOMETHING_NEW"), 0);
	CHECK_INT(registry__status_to_error(404), REGISTRY_ENOTFOUND);
	CHECK_INT(registry__status_to_error(503), REGISTRY_ESERVER);
	CHECK_INT(registry__status_to_error(429), REGISTRY_ERATELIMIT);

	registry__response r;
	registry__response_init(&r);
	r.status = 404;
	r.url = strdup("http://127.0.0.1:5000/v2/ubuntu/manifests/nope?x=secret");
	const char *body = "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\","
	                   "\"detail\":{\"Tag\":\"nope\"}}]}";
	registry_buf_puts(&r.body, body);
	CHECK_INT(registry__response_fail(&r, "fetching ubuntu:nope"), REGISTRY_ENOTFOUND);
	const registry_error *e = registry_error_last();
	CHECK_INT(registry_error_http_status(e), 404);
	CHECK_STR(registry_error_registry_code(e), "MANIFEST_UNKNOWN");
	CHECK_STR(registry_error_detail(e), "{\"Tag\":\"nope\"}");
	CHECK_STR(registry_error_url(e), "http://127.0.0.1:5000/v2/ubuntu/manifests/nope");
	CHECK(strstr(registry_error_message(e), "manifest unknown") != NULL);
	registry__response_free(&r);

	/* Garbage body: status decides. */
	registry__response_init(&r);
	r.status = 403;
	registry_buf_puts(&r.body, "<html>nope");
	CHECK_INT(registry__response_fail(&r, "x"), REGISTRY_EDENIED);
	registry__response_free(&r);
}

static void test_client_new(void)
{
	registry_client *c = NULL;
	CHECK_INT(registry_client_new(&c, "localhost:5000"), 0);
	CHECK_STR(registry_client_registry(c), "localhost:5000");
	CHECK(registry_client_base_url(c) == NULL);
	CHECK_INT(registry_client_auth_scheme(c), REGISTRY_AUTH_UNKNOWN);
	CHECK_INT(registry_client_set_credentials(c, "u", "p"), 0);
	CHECK_INT(registry_client_set_max_parallel(c, 0), REGISTRY_EINVAL);
	CHECK_INT(registry_client_set_user_agent(c, "a\r\nX-Evil: 1"), REGISTRY_EINVAL);
	registry_client_free(c);

	const char *bad[] = {"", "http://localhost:5000", "host/path", "host:0", "host:99999",
	                     "user@host", "host:port", "a b", "[::1]:x"};
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(bad); i++) {
		c = (registry_client *)1;
		int rc = registry_client_new(&c, bad[i]);
		if (rc != REGISTRY_EFORMAT)
			fprintf(stderr, "registry '%s' gave %d\n", bad[i], rc);
		CHECK_INT(rc, REGISTRY_EFORMAT);
		CHECK(c == NULL);
	}
	CHECK_INT(registry_client_new(NULL, "x"), REGISTRY_EINVAL);
	CHECK_INT(registry_client_new(&c, "[::1]:5000"), 0);
	registry_client_free(c);
	CHECK_INT(registry_client_new(&c, "docker.io"), 0);
	registry_client_free(c);
	registry_client_free(NULL);
	CHECK_INT(registry_client_ping(NULL), REGISTRY_EINVAL);
}

/* The token realm comes from the server: what the client refuses to contact. */
static int realm_result(const char *registry, const char *base, const char *realm)
{
	registry_client *c = NULL;
	if (registry_client_new(&c, registry) != 0)
		return 1;
	c->base_url = strdup(base);
	registry_client_set_retries(c, 0, -1, -1);
	registry_client_set_credentials(c, "user", "secret");
	registry__response r;
	registry__response_init(&r);
	char hdr[512];
	snprintf(hdr, sizeof(hdr), "Bearer realm=\"%s\",service=\"svc\"", realm);
	r.www_authenticate = strdup(hdr);
	r.url = strdup(base);
	r.status = 401;
	int rc = registry__auth_on_401(c, "repository:x:pull", &r, 0);
	char *auth = NULL;
	if (!rc)
		rc = registry__auth_header(c, "repository:x:pull", &auth);
	free(auth);
	registry__response_free(&r);
	registry_client_free(c);
	return rc;
}

/* Docker Hub's rate-limit headers reach the accessor; other headers land in
 * the response, several WWW-Authenticate headers join into one list. */
static void test_header_lines(void)
{
	registry_client *c = NULL;
	CHECK_INT(registry_client_new(&c, "docker.io"), 0);
	long limit = 0, remaining = 0;
	registry_client_rate_limit(c, &limit, &remaining);
	CHECK_INT(limit, -1);
	CHECK_INT(remaining, -1);
	registry__response r;
	registry__response_init(&r);
	const char *lines[] = {
		"HTTP/1.1 200 OK\r\n",
		"RateLimit-Limit: 100;w=21600\r\n",
		"ratelimit-remaining: 76;w=21600\r\n",
		"Docker-Content-Digest: sha256:abc\r\n",
		"Content-Length: 5569\r\n",
		"WWW-Authenticate: Basic realm=\"r\"\r\n",
		"Www-Authenticate: Bearer realm=\"https://a/t\"\r\n",
		"\r\n",
	};
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(lines); i++)
		CHECK_INT(registry__header_line(c, &r, lines[i], strlen(lines[i])), 1);
	registry_client_rate_limit(c, &limit, &remaining);
	CHECK_INT(limit, 100);
	CHECK_INT(remaining, 76);
	CHECK_INT(r.status, 200);
	CHECK_INT(r.content_length, 5569);
	CHECK_STR(r.docker_content_digest, "sha256:abc");
	CHECK_STR(r.www_authenticate, "Basic realm=\"r\", Bearer realm=\"https://a/t\"");
	/* A new status line (after a 1xx) forgets the previous headers. */
	const char *next = "HTTP/1.1 404 Not Found\r\n";
	registry__header_line(c, &r, next, strlen(next));
	CHECK_INT(r.status, 404);
	CHECK(r.docker_content_digest == NULL);
	registry__response_free(&r);
	registry_client_free(c);
}

static void test_realm_safety(void)
{
	const char *refused[] = {
		"http://auth.example/token",          /* plain http for an https registry */
		"https://user:pw@auth.example/token",  /* userinfo */
		"file:///etc/passwd",
		"ftp://auth.example/token",
		"https://169.254.169.254/latest/meta-data",
		"https://[fe80::1]/token",
		"https://metadata.google.internal/token",
		"https://0.0.0.0/token",
		"not a url",
	};
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(refused); i++) {
		int rc = realm_result("registry.example", "https://registry.example", refused[i]);
		if (rc != REGISTRY_EPROTOCOL)
			fprintf(stderr, "realm %s gave %d\n", refused[i], rc);
		CHECK_INT(rc, REGISTRY_EPROTOCOL);
		/* The message names the realm problem, never the secret. */
		CHECK(strstr(registry_error_message(registry_error_last()), "secret") == NULL);
	}
	/* Allowed realms get as far as connecting (a closed loopback port). */
	char closed[64];
	int port = 1;
	snprintf(closed, sizeof(closed), "https://127.0.0.1:%d/token", port);
	CHECK_INT(realm_result("registry.example", "https://registry.example", closed), REGISTRY_ENETWORK);
	/* Plain http is allowed only for a plain-HTTP loopback or insecure registry. */
	snprintf(closed, sizeof(closed), "http://127.0.0.1:%d/token", port);
	CHECK_INT(realm_result("127.0.0.1:5000", "http://127.0.0.1:5000", closed), REGISTRY_ENETWORK);
	CHECK_INT(realm_result("127.0.0.1:5000", "https://127.0.0.1:5000", closed), REGISTRY_EPROTOCOL);
}

int main(void)
{
	RUN(test_challenge_docker);
	RUN(test_challenge_several);
	RUN(test_challenge_escapes);
	RUN(test_challenge_bad);
	RUN(test_retry_after);
	RUN(test_origins);
	RUN(test_loopback);
	RUN(test_error_mapping);
	RUN(test_client_new);
	RUN(test_realm_safety);
	RUN(test_header_lines);
	return CHECK_DONE();
}

/* Transport parsers and mappings without a network: WWW-Authenticate,
 * Retry-After, origins, loopback detection, registry error JSON. */
#include <limits.h>

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
	registry__buf b;
	registry__buf_init(&b, 0);
	registry__buf_puts(&b, "Bearer ");
	for (int i = 0; i < 100; i++)
		registry__buf_printf(&b, "%sp%d=v", i ? "," : "", i);
	CHECK(registry__challenges_parse(&ch, b.data) != 0);
	registry__buf_free(&b);
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
	registry__buf_puts(&r.body, body);
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
	registry__buf_puts(&r.body, "<html>nope");
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

/* set_retries bounds what it takes (issue 14): out of range is EINVAL with a
 * message and changes nothing, and the backoff at the bounds stays within
 * the longest wait, however many attempts (no overflow in the doubling).
 * Since 0.2 it takes a registry_retry_options: zero fields are the
 * defaults, REGISTRY_RETRY_NONE disables retries, unknown flags are refused. */
static void test_retry_bounds(void)
{
	registry_client *c = NULL;
	CHECK_INT(registry_client_new(&c, "localhost:5000"), 0);
	registry_retry_options o;
	CHECK_INT(registry_retry_options_init(&o), 0);
	CHECK_INT(o.version, REGISTRY_RETRY_OPTIONS_VERSION);
	o.count = 5, o.backoff_base_ms = 200, o.max_wait_ms = 1000;
	CHECK_INT(registry_client_set_retries(c, &o), 0);
	registry_retry_options bad[6] = {o, o, o, o, o, o};
	bad[0].count = 101;
	bad[1].backoff_base_ms = 3600001;
	bad[2].max_wait_ms = 86400001;
	bad[3].count = -1;
	bad[4].flags = 0x80u;
	bad[5].version = REGISTRY_RETRY_OPTIONS_VERSION + 1;
	const char *why[6] = {"count", "backoff base", "longest wait", "count", "unknown flags", "version"};
	for (int i = 0; i < 6; i++) {
		CHECK_INT(registry_client_set_retries(c, &bad[i]), REGISTRY_EINVAL);
		CHECK(strstr(registry_error_message(registry_error_last()), why[i]) != NULL);
		CHECK(strstr(registry_error_message(registry_error_last()), "registry_client_set_retries") != NULL);
	}
	CHECK_INT(c->retries, 5); /* a refused call changes nothing */
	CHECK_INT(c->backoff_ms, 200);
	CHECK_INT(c->max_wait_ms, 1000);
	o.count = 100, o.backoff_base_ms = 3600000, o.max_wait_ms = 86400000;
	CHECK_INT(registry_client_set_retries(c, &o), 0);
	for (int attempt = 0; attempt <= 100; attempt += 10) {
		long ms = registry__backoff_ms(c, attempt, NULL);
		CHECK(ms >= 3600000L && ms <= 86400000L);
	}
	o.count = 3, o.backoff_base_ms = 1, o.max_wait_ms = 1;
	CHECK_INT(registry_client_set_retries(c, &o), 0);
	CHECK(registry__backoff_ms(c, 100, NULL) <= 1);
	/* NULL and zero fields: the defaults; the flag: no retries. */
	CHECK_INT(registry_client_set_retries(c, NULL), 0);
	CHECK_INT(c->retries, 3);
	CHECK_INT(c->backoff_ms, 500);
	CHECK_INT(c->max_wait_ms, 60000);
	o = (registry_retry_options)REGISTRY_RETRY_OPTIONS_INIT;
	o.flags = REGISTRY_RETRY_NONE;
	o.count = 7;
	CHECK_INT(registry_client_set_retries(c, &o), 0);
	CHECK_INT(c->retries, 0);
	CHECK_INT(registry_client_set_retries(NULL, &o), REGISTRY_EINVAL);
	CHECK_INT(registry_retry_options_init(NULL), REGISTRY_EINVAL);
	registry_client_free(c);
}

static void put_token(registry_client *c, const char *scope)
{
	char body[200];
	snprintf(body, sizeof(body), "{\"token\":\"t-%s\",\"expires_in\":300}", scope);
	CHECK_INT(registry__token_store(c, scope, body, strlen(body)), 0);
}

static int has_token(registry_client *c, const char *scope)
{
	const registry__token *t = registry__token_find(c, scope);
	return t && t->token && strncmp(t->token, "t-", 2) == 0;
}

/* The token cache is bounded (issue 14): a full cache drops expired tokens
 * first, then the least recently used one; every slot holds a token. */
static void test_token_cache_bounded(void)
{
	registry_client *c = NULL;
	CHECK_INT(registry_client_new(&c, "localhost:5000"), 0);
	c->auth_scheme = REGISTRY_AUTH_BEARER;
	char scope[64];
	for (int i = 0; i < 1000; i++) {
		snprintf(scope, sizeof(scope), "repository:r%d:pull", i);
		put_token(c, scope);
	}
	CHECK_INT(c->ntokens, REGISTRY__TOKENS_MAX);
	CHECK(has_token(c, "repository:r999:pull"));
	CHECK(!has_token(c, "repository:r0:pull"));
	for (size_t i = 0; i < c->ntokens; i++)
		CHECK(c->tokens[i].scope && c->tokens[i].token);

	/* Least recently used: r968 is the oldest; using it keeps it. */
	char *auth = NULL;
	CHECK_INT(registry__auth_header(c, "repository:r968:pull", &auth), 0);
	CHECK_STR(auth, "Bearer t-repository:r968:pull");
	free(auth);
	put_token(c, "repository:new1:pull");
	CHECK(has_token(c, "repository:r968:pull"));
	CHECK(!has_token(c, "repository:r969:pull"));

	/* Expired first: r980 has expired, so it goes before the oldest (r970). */
	registry__token *t = registry__token_find(c, "repository:r980:pull");
	CHECK(t != NULL);
	if (t)
		t->expires.tv_sec = 0;
	put_token(c, "repository:new2:pull");
	CHECK(!has_token(c, "repository:r980:pull"));
	CHECK(has_token(c, "repository:r970:pull"));
	CHECK(has_token(c, "repository:new2:pull"));
	CHECK_INT(c->ntokens, REGISTRY__TOKENS_MAX);

	/* A new token for a cached scope replaces it in place. */
	put_token(c, "repository:new1:pull");
	CHECK_INT(c->ntokens, REGISTRY__TOKENS_MAX);
	registry_client_free(c);
}

/* The token realm comes from the server: what the client refuses to contact. */
static int realm_result(const char *registry, const char *base, const char *realm)
{
	registry_client *c = NULL;
	if (registry_client_new(&c, registry) != 0)
		return 1;
	c->base_url = strdup(base);
	registry_client_set_retries(c, &(registry_retry_options){REGISTRY_RETRY_OPTIONS_VERSION, REGISTRY_RETRY_NONE, 0, 0, 0});
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
	int64_t limit = 0, remaining = 0;
	registry_client_rate_limit(&limit, &remaining, c);
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
		CHECK_INT(registry__header_line(c, &r, lines[i], strlen(lines[i])), 0);
	registry_client_rate_limit(&limit, &remaining, c);
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

static int one_line(registry_client *c, registry__response *r, const char *line)
{
	return registry__header_line(c, r, line, strlen(line));
}

/* A header we read is taken whole or refused, never cut: a Link header
 * over the limit used to vanish and end a tag list after one page. */
static void test_header_limits(void)
{
	registry_client *c = NULL;
	CHECK_INT(registry_client_new(&c, "docker.io"), 0);
	registry__response r;
	registry__response_init(&r);
	size_t n = REGISTRY__HEADER_LIMIT + 100;
	char *line = malloc(n + 1);
	memcpy(line, "Link: <", 7);
	memset(line + 7, 'a', n - 7);
	memcpy(line + n - 15, ">; rel=\"next\"\r\n", 15);
	line[n] = '\0';
	CHECK_INT(one_line(c, &r, line), REGISTRY_EPROTOCOL);
	CHECK(strstr(registry_error_message(registry_error_last()), "'Link'") != NULL);
	CHECK(r.link == NULL);
	/* One we do not read is ignored, whatever its size. */
	memcpy(line, "X-Big: <", 7);
	CHECK_INT(one_line(c, &r, line), 0);
	free(line);
	/* WWW-Authenticate lines that join past the limit. */
	char *auth = malloc(REGISTRY__HEADER_LIMIT);
	snprintf(auth, REGISTRY__HEADER_LIMIT, "WWW-Authenticate: Bearer realm=\"%0*d\"\r\n",
	         REGISTRY__HEADER_LIMIT / 2, 0);
	CHECK_INT(one_line(c, &r, auth), 0);
	CHECK_INT(one_line(c, &r, auth), REGISTRY_EPROTOCOL);
	free(auth);
	registry__response_free(&r);
	registry_client_free(c);
}

/* Content-Length and Content-Range numbers: digits only, no overflow. */
static void test_length_numbers(void)
{
	registry_client *c = NULL;
	CHECK_INT(registry_client_new(&c, "docker.io"), 0);
	registry__response r;
	registry__response_init(&r);
	CHECK_INT(one_line(c, &r, "Content-Length: 9223372036854775807\r\n"), 0);
	CHECK(r.content_length == INT64_MAX);
	const char *bad[] = {
		"Content-Length: 9223372036854775808\r\n",
		"Content-Length: 999999999999999999999999999999\r\n", /* 30 digits */
		"Content-Length: -5\r\n",
		"Content-Length: 12abc\r\n",
		"Content-Length: \r\n",
	};
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(bad); i++) {
		CHECK_INT(one_line(c, &r, bad[i]), REGISTRY_EPROTOCOL);
		CHECK(strstr(registry_error_message(registry_error_last()), "Content-Length") != NULL);
	}
	int64_t start = -1;
	CHECK_INT(registry__content_range_start("bytes 100-199/200", &start), 0);
	CHECK(start == 100);
	CHECK_INT(registry__content_range_start("bytes 999999999999999999999999999999-1/2", &start),
	          -1);
	CHECK_INT(registry__content_range_start("bytes -5-1/2", &start), -1);
	CHECK_INT(registry__content_range_start("bytes */200", &start), -1);
	CHECK_INT(registry__content_range_start(NULL, &start), -1);
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
	RUN(test_retry_bounds);
	RUN(test_token_cache_bounded);
	RUN(test_realm_safety);
	RUN(test_header_lines);
	RUN(test_header_limits);
	RUN(test_length_numbers);
	return CHECK_DONE();
}

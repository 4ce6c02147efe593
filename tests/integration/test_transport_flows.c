/*
 * Transport behaviour against the real registry (and, for faults, the
 * fault proxy in front of it). One program, one case per run:
 *
 *   itest-transport retry            via fault_proxy --fail 2:503:1 --fail 1:429
 *   itest-transport retry-exhausted  via fault_proxy --fail 9:503:0
 *   itest-transport ratelimited      via fault_proxy --fail 9:429:0
 *   itest-transport expiry           token mode, --token-expiry 2
 *   itest-transport scope            token mode
 *   itest-transport redirect         --redirect with a fixture pushed
 */
#include <sys/time.h>

#include <cjson/cJSON.h>

#include "itest.h"
#include "transport/client_impl.h"

static double now_s(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Servers log after answering: wait until @expected lines are there (or 5 s). */
static int settled_log_lines(const char *path, const char *needle, int expected)
{
	int n = itest_count_log_lines(path, needle);
	for (int i = 0; i < 50 && n < expected; i++) {
		usleep(100000);
		n = itest_count_log_lines(path, needle);
	}
	usleep(200000); /* and no more than that */
	return itest_count_log_lines(path, needle);
}

static registry_client *proxy_client(void)
{
	const char *host = getenv("REGISTRY_TEST_PROXY_HOST");
	if (!host) {
		printf("SKIP: needs tests/proxy/fault_proxy.py in front of the registry\n");
		exit(77);
	}
	registry_client *c = NULL;
	registry_client_new(&c, host);
	return c;
}

static void test_retry(void)
{
	registry_client *c = proxy_client();
	registry_client_set_retries(c, &(registry_retry_options){REGISTRY_RETRY_OPTIONS_VERSION, 0, 3, 100, 5000});
	double t0 = now_s();
	CHECK_RC(registry_client_ping(c), 0);
	double waited = now_s() - t0;
	/* Two 503s with Retry-After: 1, then a 429 without: at least 2 s. */
	printf("ping succeeded after %.2f s\n", waited);
	CHECK(waited >= 1.9);
	CHECK(waited < 10);
	const char *log = getenv("REGISTRY_TEST_PROXY_LOG");
	CHECK_INT(settled_log_lines(log, "\"path\": \"/v2/\"", 4), 4);
	CHECK_INT(itest_count_log_lines(log, "\"status\": 503"), 2);
	CHECK_INT(itest_count_log_lines(log, "\"status\": 429"), 1);
	registry_client_free(c);
}

static void test_retry_exhausted(int status, int code)
{
	registry_client *c = proxy_client();
	registry_client_set_retries(c, &(registry_retry_options){REGISTRY_RETRY_OPTIONS_VERSION, 0, 2, 10, 1000});
	CHECK_RC(registry_client_ping(c), code);
	const registry_error *e = registry_error_last();
	CHECK_INT(registry_error_http_status(e), status);
	CHECK_STR(registry_error_registry_code(e), status == 429 ? "TOOMANYREQUESTS" : "UNAVAILABLE");
	/* One try and two retries, no more. */
	CHECK_INT(settled_log_lines(getenv("REGISTRY_TEST_PROXY_LOG"), "\"path\": \"/v2/\"", 3), 3);
	registry_client_free(c);
}

static double cancel_at;
static int cancel_after_deadline(void *ud)
{
	int *calls = ud;
	(*calls)++;
	return now_s() >= cancel_at;
}

/* A registry that answers 503 with Retry-After: 30: the cancellation hook
 * ends the wait within a fraction of a second. */
static void test_cancel(void)
{
	registry_client *c = proxy_client();
	int calls = 0;
	CHECK_RC(registry_client_set_cancel(c, cancel_after_deadline, &calls), 0);
	double t0 = now_s();
	cancel_at = t0 + 0.5;
	CHECK_RC(registry_client_ping(c), REGISTRY_ECANCELED);
	double took = now_s() - t0;
	printf("canceled after %.2f s, hook called %d times\n", took, calls);
	CHECK(took < 2.0);
	CHECK(calls >= 2);
	/* Without the hook the same client would have waited: removing it works. */
	CHECK_RC(registry_client_set_cancel(c, NULL, NULL), 0);
	registry_client_free(c);
}

static void test_exhausted_503(void) { test_retry_exhausted(503, REGISTRY_ESERVER); }
static void test_exhausted_429(void) { test_retry_exhausted(429, REGISTRY_ERATELIMIT); }

static void test_expiry(void)
{
	registry_client *c = itest_client(1);
	CHECK_RC(registry_client_ping(c), 0);
	CHECK_INT(c->token_fetches, 1);
	/* expires_in is 2 s; the registry would still take the token (it allows
	 * 60 s of leeway), so only the client's own clock makes it renew. */
	sleep(3);
	CHECK_RC(registry_client_ping(c), 0);
	CHECK_INT(c->token_fetches, 2);
	CHECK_INT(settled_log_lines(getenv("REGISTRY_TEST_TOKEN_LOG"), NULL, 2), 2);
	registry_client_free(c);
}

/* The first token is already expired: the registry answers 401
 * invalid_token, the client fetches one new token and goes on. */
static void test_invalid_token(void)
{
	registry_client *c = itest_client(1);
	CHECK_RC(registry_client_ping(c), 0);
	CHECK_INT(c->token_fetches, 2);
	CHECK_INT(settled_log_lines(getenv("REGISTRY_TEST_TOKEN_LOG"), NULL, 2), 2);
	registry_client_free(c);
}

/* Every token is expired: one refetch, then EAUTH, not a loop. */
static void test_always_expired(void)
{
	registry_client *c = itest_client(1);
	CHECK_RC(registry_client_ping(c), REGISTRY_EAUTH);
	CHECK(strstr(registry_error_message(registry_error_last()), "rejected the token") != NULL);
	CHECK_INT(c->token_fetches, 2);
	registry_client_free(c);
}

static int start_upload(registry_client *c, const char *repo, long *status)
{
	char path[256], scope[256];
	snprintf(path, sizeof(path), "/v2/%s/blobs/uploads/", repo);
	snprintf(scope, sizeof(scope), "repository:%s:pull,push", repo);
	registry__request req = {.method = "POST", .url = path, .scope = scope};
	registry__response resp;
	registry__response_init(&resp);
	int rc = registry__client_do(c, &req, &resp);
	*status = resp.status;
	if (!rc && resp.status != 202)
		rc = registry__response_fail(&resp, "starting an upload");
	registry__response_free(&resp);
	return rc;
}

static void test_scope(void)
{
	long status = 0;
	/* Anonymous: the token server grants pull only, the registry refuses push. */
	registry_client *c = itest_client(0);
	/* Anonymous pull works where the token server allows it. */
	registry_manifest *m = NULL;
	CHECK_RC(registry_manifest_fetch(&m, c, "fixtures/small-v2s2", "latest", NULL), 0);
	CHECK_STR(m ? registry_manifest_digest(m) : "", getenv("REGISTRY_TEST_FIXTURE_SMALL_V2S2_DIGEST"));
	registry_manifest_free(m);
	CHECK_RC(start_upload(c, "scope/test", &status), REGISTRY_EAUTH);
	CHECK(strstr(registry_error_message(registry_error_last()), "repository:scope/test:pull,push") != NULL);
	registry_client_free(c);

	/* With push rights: 202 and an upload Location. */
	c = itest_client(1);
	CHECK_RC(start_upload(c, "scope/test", &status), 0);
	CHECK_INT(status, 202);
	long fetches = c->token_fetches;
	/* The cached token for this scope is reused. */
	CHECK_RC(start_upload(c, "scope/test", &status), 0);
	CHECK_INT(c->token_fetches, fetches);
	registry_client_free(c);

	const char *ro = getenv("REGISTRY_TEST_RO_USER");
	if (ro) {
		c = itest_client(0);
		registry_client_set_credentials(c, ro, getenv("REGISTRY_TEST_RO_PASSWORD"));
		CHECK_RC(start_upload(c, "scope/test", &status), REGISTRY_EDENIED);
		registry_client_free(c);
	} else {
		printf("note: no REGISTRY_TEST_RO_USER from the harness; read-only case not run\n");
	}
}

static size_t collect(char *ptr, size_t size, size_t n, void *ud)
{
	registry__buf_append(ud, ptr, size * n);
	return size * n;
}

/* A refresh token from the token server's OAuth2 password grant. */
static char *refresh_token(void)
{
	CURL *h = curl_easy_init();
	registry__buf body;
	registry__buf_init(&body, 1 << 20);
	char form[1024];
	char *user = curl_easy_escape(h, getenv("REGISTRY_TEST_USER"), 0);
	char *pass = curl_easy_escape(h, getenv("REGISTRY_TEST_PASSWORD"), 0);
	snprintf(form, sizeof(form), "grant_type=password&username=%s&password=%s&access_type=offline"
	         "&client_id=itest&service=%s", user, pass, getenv("REGISTRY_TEST_TOKEN_SERVICE"));
	curl_free(user);
	curl_free(pass);
	curl_easy_setopt(h, CURLOPT_URL, getenv("REGISTRY_TEST_TOKEN_URL"));
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	if (getenv("REGISTRY_TEST_CA"))
		curl_easy_setopt(h, CURLOPT_CAINFO, getenv("REGISTRY_TEST_CA"));
	CURLcode cc = curl_easy_perform(h);
	curl_easy_cleanup(h);
	cJSON *j = cc == CURLE_OK ? cJSON_Parse(body.data) : NULL;
	const cJSON *rt = cJSON_GetObjectItem(j, "refresh_token");
	char *out = cJSON_IsString(rt) ? strdup(rt->valuestring) : NULL;
	cJSON_Delete(j);
	registry__buf_free(&body);
	return out;
}

/* Identity token: OAuth2 refresh grant by POST, or GET when POST is 404. */
static void test_oauth(void)
{
	int oauth = strcmp(env_or("REGISTRY_TEST_OAUTH", "yes"), "yes") == 0;
	char *rt = refresh_token();
	if (!oauth) {
		/* The server has no OAuth2: credentials by GET, from the same config. */
		CHECK(rt == NULL);
	} else {
		CHECK(rt != NULL);
	}
	registry_client *c = itest_client(0);
	if (rt)
		CHECK_RC(registry_client_set_identity_token(c, rt), 0);
	else
		CHECK_RC(registry_client_set_identity_token(c, "not-a-real-refresh-token"), 0);
	registry_client_set_credentials(c, getenv("REGISTRY_TEST_USER"), getenv("REGISTRY_TEST_PASSWORD"));
	long status = 0;
	CHECK_RC(start_upload(c, "oauth/test", &status), 0);
	CHECK_INT(status, 202);
	const char *log = getenv("REGISTRY_TEST_TOKEN_LOG");
	if (oauth) {
		CHECK(settled_log_lines(log, "refresh_token", 2) >= 2); /* the grant we asked, and ours */
		CHECK(itest_count_log_lines(log, "\"method\": \"POST\"") >= 2);
	} else {
		/* POST answered 404, the GET with Basic credentials worked. */
		CHECK(settled_log_lines(log, "\"method\": \"GET\"", 1) >= 1);
	}
	free(rt);
	registry_client_free(c);
}

static int count_sink(const char *data, size_t len, void *ud)
{
	(void)data;
	*(long long *)ud += (long long)len;
	return 0;
}

static void test_redirect(void)
{
	const char *repo = env_or("REGISTRY_TEST_REPO", "fixtures/small-v2s2");
	char path[512], scope[512];
	snprintf(scope, sizeof(scope), "repository:%s:pull", repo);
	registry_client *c = itest_client(1);

	/* The manifest names a layer; its blob is served through a redirect. */
	snprintf(path, sizeof(path), "/v2/%s/manifests/latest", repo);
	static const char *const accept[] = {
		"Accept: application/vnd.docker.distribution.manifest.v2+json, "
		"application/vnd.oci.image.manifest.v1+json", NULL};
	registry__request mreq = {.url = path, .scope = scope, .headers = accept};
	registry__response resp;
	registry__response_init(&resp);
	CHECK_RC(registry__client_do(c, &mreq, &resp), 0);
	CHECK_INT(resp.status, 200);
	cJSON *m = cJSON_ParseWithLength(resp.body.data ? resp.body.data : "", resp.body.len);
	const cJSON *layer = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "layers"), 0);
	const cJSON *digest = cJSON_GetObjectItem(layer, "digest");
	const cJSON *size = cJSON_GetObjectItem(layer, "size");
	CHECK(cJSON_IsString(digest) && cJSON_IsNumber(size));
	registry__response_free(&resp);
	if (!cJSON_IsString(digest) || !cJSON_IsNumber(size)) {
		cJSON_Delete(m);
		registry_client_free(c);
		return;
	}

	long long got = 0;
	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", repo, digest->valuestring);
	registry__request breq = {.url = path, .scope = scope, .sink = count_sink, .sink_ud = &got};
	registry__response_init(&resp);
	CHECK_RC(registry__client_do(c, &breq, &resp), 0);
	CHECK_INT(resp.status, 200);
	CHECK_INT(got, (long long)size->valuedouble);
	/* The blob came from the other origin ... */
	CHECK(resp.url && strstr(resp.url, getenv("REGISTRY_TEST_HOST")) == NULL);
	registry__response_free(&resp);

	/* ... which saw requests, none with credentials. */
	const char *log = getenv("REGISTRY_TEST_REDIRECT_LOG");
	CHECK(log != NULL);
	int seen = settled_log_lines(log, NULL, 1);
	printf("redirect server saw %d request(s)\n", seen);
	CHECK(seen >= 1);
	CHECK_INT(itest_count_log_lines(log, "\"authorization\": false"), seen);
	CHECK_INT(itest_count_log_lines(log, "\"Authorization\":"), 0);
	CHECK_INT(itest_count_log_lines(log, "Basic "), 0);
	CHECK_INT(itest_count_log_lines(log, "Bearer "), 0);
	cJSON_Delete(m);
	registry_client_free(c);
}

int main(int argc, char **argv)
{
	itest_require_harness();
	const char *which = argc > 1 ? argv[1] : "";
	if (strcmp(which, "retry") == 0)
		RUN(test_retry);
	else if (strcmp(which, "cancel") == 0)
		RUN(test_cancel);
	else if (strcmp(which, "retry-exhausted") == 0)
		RUN(test_exhausted_503);
	else if (strcmp(which, "ratelimited") == 0)
		RUN(test_exhausted_429);
	else if (strcmp(which, "expiry") == 0)
		RUN(test_expiry);
	else if (strcmp(which, "scope") == 0)
		RUN(test_scope);
	else if (strcmp(which, "invalid-token") == 0)
		RUN(test_invalid_token);
	else if (strcmp(which, "always-expired") == 0)
		RUN(test_always_expired);
	else if (strcmp(which, "oauth") == 0)
		RUN(test_oauth);
	else if (strcmp(which, "redirect") == 0)
		RUN(test_redirect);
	else {
		fprintf(stderr, "unknown case '%s'\n", which);
		return 2;
	}
	return CHECK_DONE();
}

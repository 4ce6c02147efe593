/*
 * Client copies for the lanes (lib/transport/clone.c): everything a lane
 * needs is copied (and owned by the copy), the caller's cancel hook is not,
 * and absorbing a lane takes back newer tokens of the same realm only.
 */
#include <string.h>

#include "check.h"
#include "transport/client_impl.h"

static int never(void *ud)
{
	(void)ud;
	return 0;
}

static void token(registry_client *c, const char *scope, const char *value, int expires_in)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"token\":\"%s\",\"expires_in\":%d}", value, expires_in);
	CHECK_INT(registry__token_store(c, scope, body, strlen(body)), 0);
}

static const char *token_of(const registry_client *c, const char *scope)
{
	for (size_t i = 0; i < c->ntokens; i++)
		if (strcmp(c->tokens[i].scope, scope) == 0)
			return c->tokens[i].token;
	return NULL;
}

static registry_client *configured(void)
{
	registry_client *c = NULL;
	CHECK_INT(registry_client_new(&c, "registry.example:5000"), 0);
	CHECK_INT(registry_client_set_credentials(c, "user", "secret"), 0);
	registry_tls_options tls = REGISTRY_TLS_OPTIONS_INIT;
	tls.ca_file = "/etc/ssl/ca.pem";
	tls.ca_path = "/etc/ssl/certs";
	tls.cert_pem = "-----BEGIN CERTIFICATE-----\n";
	tls.key_pem = "-----BEGIN PRIVATE KEY-----\n";
	tls.key_password = "pass";
	CHECK_INT(registry_client_set_tls(c, &tls), 0);
	CHECK_INT(registry_client_add_header(c, "X-Gateway: g1"), 0);
	CHECK_INT(registry_client_set_user_agent(c, "test-agent/1"), 0);
	CHECK_INT(registry_client_set_proxy(c, "http://proxy.example:3128", "localhost"), 0);
	CHECK_INT(registry_client_add_resolve(c, "registry.example", 5000, "127.0.0.1"), 0);
	CHECK_INT(registry_client_set_retries(c, &(registry_retry_options){REGISTRY_RETRY_OPTIONS_VERSION, 0, 7, 10, 100}), 0);
	CHECK_INT(registry_client_set_max_parallel(c, 3), 0);
	CHECK_INT(registry_client_set_cancel(c, never, NULL), 0);
	c->base_url = strdup("https://registry.example:5000");
	c->auth_scheme = REGISTRY_AUTH_BEARER;
	c->realm = strdup("https://auth.example/token");
	c->service = strdup("registry.example");
	token(c, "repository:a:pull", "t-a", 300);
	c->token_fetches = 1;
	return c;
}

static void test_copy(void)
{
	registry_client *c = configured(), *d = NULL;
	CHECK_INT(registry__client_clone(&d, c), 0);
	if (!d)
		return;
	const char *const *pairs[][2] = {
		{(const char *const *)&c->registry, (const char *const *)&d->registry},
		{(const char *const *)&c->base_url, (const char *const *)&d->base_url},
		{(const char *const *)&c->username, (const char *const *)&d->username},
		{(const char *const *)&c->password, (const char *const *)&d->password},
		{(const char *const *)&c->ca_file, (const char *const *)&d->ca_file},
		{(const char *const *)&c->ca_path, (const char *const *)&d->ca_path},
		{(const char *const *)&c->user_agent, (const char *const *)&d->user_agent},
		{(const char *const *)&c->proxy, (const char *const *)&d->proxy},
		{(const char *const *)&c->no_proxy, (const char *const *)&d->no_proxy},
		{(const char *const *)&c->cert_pem, (const char *const *)&d->cert_pem},
		{(const char *const *)&c->key_pem, (const char *const *)&d->key_pem},
		{(const char *const *)&c->key_password, (const char *const *)&d->key_password},
		{(const char *const *)&c->realm, (const char *const *)&d->realm},
		{(const char *const *)&c->service, (const char *const *)&d->service},
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		CHECK_STR(*pairs[i][1], *pairs[i][0]);
		CHECK(*pairs[i][1] != *pairs[i][0]); /* the copy owns its own */
	}
	CHECK(d->resolve && d->resolve != c->resolve && strcmp(d->resolve->data, c->resolve->data) == 0);
	CHECK(d->extra_headers && d->extra_headers != c->extra_headers &&
	      strcmp(d->extra_headers->data, "X-Gateway: g1") == 0);
	/* One connection cache for the client and its lanes. */
	CHECK(registry__client_curl_share(d) && registry__client_curl_share(d) == registry__client_curl_share(c));
	CHECK_INT(d->share_owned, 0);
	CHECK_INT(d->retries, 7);
	CHECK_INT(d->max_parallel, 3);
	CHECK_INT(d->auth_scheme, REGISTRY_AUTH_BEARER);
	CHECK_STR(token_of(d, "repository:a:pull"), "t-a");
	CHECK(token_of(d, "repository:a:pull") != token_of(c, "repository:a:pull"));
	CHECK(d->cancel == NULL); /* the caller's hook is called on the caller's thread only */
	CHECK(d->easy && d->easy != c->easy);
	CHECK(d->multi == NULL);
	CHECK_INT(d->token_fetches, 0);
	registry_client_free(c); /* the copy outlives the original */
	CHECK_STR(d->password, "secret");
	registry_client_free(d);
}

static void test_absorb(void)
{
	registry_client *c = configured(), *d = NULL;
	CHECK_INT(registry__client_clone(&d, c), 0);
	if (!d)
		return;
	token(d, "repository:a:pull", "t-a2", 900);    /* renewed by the lane: lives longer */
	token(d, "repository:b:pull,push", "t-b", 300); /* new scope */
	d->token_fetches = 2;
	d->rate_limit = 100;
	d->rate_remaining = 42;
	registry__client_absorb(c, d);
	CHECK_STR(token_of(c, "repository:a:pull"), "t-a2");
	CHECK_STR(token_of(c, "repository:b:pull,push"), "t-b");
	CHECK_INT(c->token_fetches, 3);
	CHECK_INT(c->rate_limit, 100);
	CHECK_INT(c->rate_remaining, 42);

	/* A token the caller renewed meanwhile is not replaced by an older one. */
	token(c, "repository:a:pull", "t-a3", 3000);
	registry__client_absorb(c, d);
	CHECK_STR(token_of(c, "repository:a:pull"), "t-a3");

	/* A lane that followed a challenge to another realm keeps its tokens. */
	free(d->realm);
	d->realm = strdup("https://elsewhere.example/token");
	token(d, "repository:c:pull", "t-c", 300);
	registry__client_absorb(c, d);
	CHECK(token_of(c, "repository:c:pull") == NULL);
	registry_client_free(d);
	registry_client_free(c);
}

int main(void)
{
	RUN(test_copy);
	RUN(test_absorb);
	return CHECK_DONE();
}

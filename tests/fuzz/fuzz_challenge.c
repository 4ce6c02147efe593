/*
 * Fuzz target "challenge": a WWW-Authenticate header value from a registry.
 * Parsed challenges must hold lowercase token schemes and parameter names
 * that the lookups find again; the client learning from the 401 must either
 * keep a realm or refuse with an auth/protocol code; and any realm the
 * safety check accepts must be https (http only for a plain-HTTP loopback
 * registry, as curl reads the URL) and must not be a numeric link-local or unspecified address in
 * any spelling the resolver would accept.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <strings.h>
#include <sys/socket.h>

#include "fuzz_common.h"
#include "transport/client_impl.h"

/* Two https clients alike but for their passwords: whatever the parser and
 * the realm check say must not depend on the password (a differential check
 * that the fuzzer cannot satisfy by spelling the secret in the input). */
static registry_client *tls_client, *tls_twin, *plain_client;

static void setup(void)
{
	require(registry_client_new(&tls_client, "registry.example") == 0);
	require(registry__set_string(&tls_client->base_url, "https://registry.example") == 0);
	require(registry_client_new(&plain_client, "127.0.0.1:5000") == 0);
	require(registry__set_string(&plain_client->base_url, "http://127.0.0.1:5000") == 0);
	require(registry_client_new(&tls_twin, "registry.example") == 0);
	require(registry__set_string(&tls_twin->base_url, "https://registry.example") == 0);
	require(registry_client_set_credentials(tls_client, "user", "s3cret-pass") == 0);
	require(registry_client_set_credentials(tls_twin, "user", "other-words") == 0);
}

/* The outcome of one call: code and message, to compare the twins. */
typedef struct outcome {
	int rc;
	char msg[1024];
} outcome;

static void record(outcome *o, int rc)
{
	o->rc = rc;
	snprintf(o->msg, sizeof(o->msg), "%s", rc ? registry_error_message(registry_error_last()) : "");
}

static void same_outcome(const outcome *a, const outcome *b)
{
	require(a->rc == b->rc && strcmp(a->msg, b->msg) == 0);
}

static int is_tchar(int ch)
{
	return isalnum(ch) || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* The host of an accepted realm, parsed as the resolver would parse a
 * numeric address: never link-local (v4, v6, v4-mapped) or unspecified. */
static void check_host(const char *realm)
{
	CURLU *u = curl_url();
	char *host = NULL;
	require(u != NULL);
	if (curl_url_set(u, CURLUPART_URL, realm, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		char h[300];
		snprintf(h, sizeof(h), "%s", host[0] == '[' ? host + 1 : host);
		h[strcspn(h, "]")] = '\0';
		struct addrinfo hints, *res = NULL;
		memset(&hints, 0, sizeof(hints));
		hints.ai_flags = AI_NUMERICHOST;
		if (getaddrinfo(h, NULL, &hints, &res) == 0) {
			for (struct addrinfo *a = res; a; a = a->ai_next) {
				if (a->ai_family == AF_INET) {
					uint32_t v = ntohl(((struct sockaddr_in *)a->ai_addr)->sin_addr.s_addr);
					require((v >> 16) != 0xA9FE && v != 0);
				} else if (a->ai_family == AF_INET6) {
					const struct in6_addr *v6 = &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr;
					require(!IN6_IS_ADDR_LINKLOCAL(v6) && !IN6_IS_ADDR_UNSPECIFIED(v6));
					if (IN6_IS_ADDR_V4MAPPED(v6))
						require(!(v6->s6_addr[12] == 169 && v6->s6_addr[13] == 254));
				}
			}
			freeaddrinfo(res);
		}
		require(strcasecmp(h, "metadata.google.internal") != 0 &&
		        strcasecmp(h, "metadata.google.internal.") != 0);
	}
	curl_free(host);
	curl_url_cleanup(u);
}

static int check_realm(registry_client *c, const char *realm)
{
	int rc = registry__realm_check(c, realm);
	if (rc) {
		require(rc == REGISTRY_EPROTOCOL || rc == REGISTRY_ENOMEM);
		fuzz_check_error(rc);
		return rc;
	}
	/* What curl will contact, whatever the spelling of the realm. */
	int plain = c == plain_client;
	CURLU *u = curl_url();
	char *url = NULL;
	require(u != NULL);
	require(curl_url_set(u, CURLUPART_URL, realm, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK);
	require(curl_url_get(u, CURLUPART_URL, &url, 0) == CURLUE_OK);
	require(strncmp(url, "https://", 8) == 0 || (plain && strncmp(url, "http://", 7) == 0));
	curl_free(url);
	curl_url_cleanup(u);
	check_host(realm);
	return 0;
}

static void check_realm_twins(const char *realm)
{
	outcome a, b;
	record(&a, check_realm(tls_client, realm));
	record(&b, check_realm(tls_twin, realm));
	same_outcome(&a, &b);
	check_realm(plain_client, realm);
}

static void learn(registry_client *c, const char *header, outcome *out)
{
	registry__response resp;
	registry__response_init(&resp);
	resp.status = 401;
	resp.www_authenticate = registry__strdup(header);
	resp.url = registry__strdup("https://registry.example/v2/a/manifests/latest");
	for (int round = 0; round < 3; round++) {
		int rc = registry__auth_on_401(c, "repository:a:pull", &resp, round);
		if (out)
			record(&out[round], rc);
		if (rc) {
			require(rc == REGISTRY_EAUTH || rc == REGISTRY_EDENIED || rc == REGISTRY_EPROTOCOL ||
			        rc == REGISTRY_EUNSUPPORTED || rc == REGISTRY_ENOMEM);
			fuzz_check_error(rc);
			require(registry_error_http_status(registry_error_last()) == 401);
		} else {
			require(c->auth_scheme == REGISTRY_AUTH_BEARER || c->auth_scheme == REGISTRY_AUTH_BASIC);
			if (c->auth_scheme == REGISTRY_AUTH_BEARER)
				require(c->realm != NULL);
		}
	}
	registry__response_free(&resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!tls_client)
		setup();
	char *text = fuzz_cstr(data, size);
	if (!text)
		return 0;
	registry__challenges ch;
	int rc = registry__challenges_parse(&ch, text);
	if (rc) {
		require(rc == REGISTRY_EFORMAT || rc == REGISTRY_ETOOLARGE || rc == REGISTRY_ENOMEM);
		require(ch.items == NULL && ch.count == 0);
	} else {
		require(ch.count >= 1 && ch.count <= 16);
		for (size_t i = 0; i < ch.count; i++) {
			const registry__challenge *c = &ch.items[i];
			require(c->scheme && *c->scheme);
			for (const char *p = c->scheme; *p; p++)
				require(is_tchar((unsigned char)*p) && !isupper((unsigned char)*p));
			require(registry__challenges_find(&ch, c->scheme) != NULL);
			require(c->nparams <= 32);
			for (size_t j = 0; j < c->nparams; j++) {
				require(c->params[j].name && *c->params[j].name && c->params[j].value);
				require(registry__challenge_param(c, c->params[j].name) != NULL);
				require(strlen(c->params[j].value) <= strlen(text));
			}
			const char *realm = registry__challenge_param(c, "realm");
			if (realm && strcmp(c->scheme, "bearer") == 0) {
				check_realm_twins(realm);
			}
		}
		registry__challenges_free(&ch);
	}
	outcome a[3], b[3];
	learn(tls_client, text, a);
	learn(tls_twin, text, b);
	for (int i = 0; i < 3; i++)
		same_outcome(&a[i], &b[i]);
	learn(plain_client, text, NULL);
	/* The raw bytes as a realm too: URL forms the header grammar would not reach. */
	check_realm_twins(text);
	free(text);
	return 0;
}

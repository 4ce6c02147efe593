/*
 * Authentication: Basic to the registry's own origin, Bearer tokens from the
 * realm the registry names (Docker token spec, OAuth2 refresh tokens), a
 * token cache per scope with expiry, and the safety rules for realms.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "client_impl.h"
#include "request.h"

static struct timespec now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

void registry__tokens_clear(registry_client *c)
{
	for (size_t i = 0; i < c->ntokens; i++) {
		free(c->tokens[i].scope);
		registry__free_secret(c->tokens[i].token);
	}
	free(c->tokens);
	c->tokens = NULL;
	c->ntokens = 0;
}

static int token_valid(const registry__token *t)
{
	struct timespec n = now_mono();
	return n.tv_sec < t->expires.tv_sec ||
	       (n.tv_sec == t->expires.tv_sec && n.tv_nsec < t->expires.tv_nsec);
}

/*
 * The token cache: one token per scope, in an array that runs from the least
 * to the most recently used, at most REGISTRY__TOKENS_MAX long. A full cache
 * drops expired tokens first, then the least recently used; a slot only
 * exists with its strings allocated, so no allocation failure leaves a slot
 * without a token.
 */
registry__token *registry__token_find(registry_client *c, const char *scope)
{
	for (size_t i = 0; i < c->ntokens; i++)
		if (strcmp(c->tokens[i].scope, scope) == 0)
			return &c->tokens[i];
	return NULL;
}

static void token_remove_at(registry_client *c, size_t i)
{
	free(c->tokens[i].scope);
	registry__free_secret(c->tokens[i].token);
	memmove(&c->tokens[i], &c->tokens[i + 1], (c->ntokens - i - 1) * sizeof(*c->tokens));
	c->ntokens--;
}

/* Make @t the most recently used (the last slot); returns where it is now. */
static registry__token *token_touch(registry_client *c, registry__token *t)
{
	registry__token keep = *t;
	size_t i = (size_t)(t - c->tokens);
	memmove(t, t + 1, (c->ntokens - i - 1) * sizeof(*t));
	c->tokens[c->ntokens - 1] = keep;
	return &c->tokens[c->ntokens - 1];
}

static void token_drop(registry_client *c, const char *scope)
{
	registry__token *t = registry__token_find(c, scope ? scope : "");
	if (t)
		token_remove_at(c, (size_t)(t - c->tokens));
}

/* Room for one more token: expired ones go first, then the least recently used. */
static void token_make_room(registry_client *c)
{
	if (c->ntokens < REGISTRY__TOKENS_MAX)
		return;
	for (size_t i = c->ntokens; i-- > 0;)
		if (!token_valid(&c->tokens[i]))
			token_remove_at(c, i);
	if (c->ntokens >= REGISTRY__TOKENS_MAX)
		token_remove_at(c, 0);
}

int registry__token_put(registry_client *c, const char *scope, const char *token,
                        struct timespec expires)
{
	char *value = registry__strdup(token);
	registry__token *t = registry__token_find(c, scope);
	char *key = t ? NULL : registry__strdup(scope);
	if (!value || (!t && !key)) {
		registry__free_secret(value);
		free(key);
		return registry__fail(REGISTRY_ENOMEM, "out of memory keeping a token");
	}
	if (!c->tokens && !(c->tokens = calloc(REGISTRY__TOKENS_MAX, sizeof(*c->tokens)))) {
		registry__free_secret(value);
		free(key);
		return registry__fail(REGISTRY_ENOMEM, "out of memory keeping a token");
	}
	if (t) {
		registry__free_secret(t->token);
	} else {
		token_make_room(c);
		t = &c->tokens[c->ntokens++];
		t->scope = key;
	}
	t->token = value;
	t->expires = expires;
	token_touch(c, t);
	return 0;
}

static int basic_value(const char *user, const char *pass, char **out)
{
	size_t ul = strlen(user), pl = strlen(pass ? pass : "");
	size_t raw_len = ul + 1 + pl;
	char *raw = malloc(raw_len + 1);
	size_t b64_len = sodium_base64_ENCODED_LEN(raw_len, sodium_base64_VARIANT_ORIGINAL);
	char *val = malloc(b64_len + sizeof("Basic "));
	if (!raw || !val) {
		free(raw);
		free(val);
		return registry__nomem();
	}
	/* raw is counted bytes for base64, not a C string */
	memcpy(raw, user, ul); // NOLINT(bugprone-not-null-terminated-result)
	raw[ul] = ':';
	memcpy(raw + ul + 1, pass ? pass : "", pl);
	memcpy(val, "Basic ", 6); // NOLINT(bugprone-not-null-terminated-result): base64 follows
	sodium_bin2base64(val + 6, b64_len, (unsigned char *)raw, raw_len,
	                  sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(raw, raw_len);
	free(raw);
	*out = val;
	return 0;
}

/* 1 for a link-local, unspecified or cloud metadata host, in any spelling
 * the resolver accepts as a number (dotted, decimal, hex, octal, IPv4-mapped
 * IPv6) and with or without the trailing dot of a name. Names that merely
 * resolve to such an address are caught when the token request connects
 * (registry__request.refuse_link_local). */
static int forbidden_realm_host(const char *host)
{
	char h[256];
	snprintf(h, sizeof(h), "%s", host[0] == '[' ? host + 1 : host);
	h[strcspn(h, "]")] = '\0';
	size_t n = strlen(h);
	if (n > 1 && h[n - 1] == '.')
		h[n - 1] = '\0';
	if (strcasecmp(h, "metadata.google.internal") == 0 || strcasecmp(h, "metadata") == 0)
		return 1;
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(h, NULL, &hints, &res) != 0)
		return 0;
	int bad = 0;
	for (const struct addrinfo *a = res; a; a = a->ai_next)
		bad |= registry__addr_forbidden(a->ai_addr);
	freeaddrinfo(res);
	return bad;
}

int registry__addr_forbidden(const struct sockaddr *sa)
{
	int bad = 0;
	uint32_t v4 = 1;
	if (sa->sa_family == AF_INET) {
		v4 = ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *v6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		bad |= IN6_IS_ADDR_LINKLOCAL(v6) || IN6_IS_ADDR_UNSPECIFIED(v6);
		if (IN6_IS_ADDR_V4MAPPED(v6) || IN6_IS_ADDR_V4COMPAT(v6))
			v4 = (uint32_t)v6->s6_addr[12] << 24 | (uint32_t)v6->s6_addr[13] << 16 |
			     (uint32_t)v6->s6_addr[14] << 8 | v6->s6_addr[15];
	} else {
		return 0;
	}
	return bad || (v4 >> 16) == 0xA9FE || v4 == 0; /* 169.254.0.0/16, 0.0.0.0 */
}

/* The realm comes from the server: only https (http only where
 * registry__plain_http_allowed says so: the registry's own insecure origin,
 * or loopback beside a plain-HTTP registry), no userinfo, no link-local or
 * cloud metadata host. */
int registry__realm_check(registry_client *c, const char *realm)
{
	CURLU *u = curl_url();
	if (!u)
		return registry__nomem();
	char *scheme = NULL, *user = NULL, *host = NULL;
	int rc = 0;
	if (curl_url_set(u, CURLUPART_URL, realm, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		rc = registry__fail(REGISTRY_EPROTOCOL, "token realm '%.200s' is not a URL", realm);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		rc = registry__fail(REGISTRY_EPROTOCOL, "token realm carries user info; refused");
		goto out;
	}
	if (strcasecmp(scheme, "https") != 0 &&
	    !(strcasecmp(scheme, "http") == 0 && registry__plain_http_allowed(c, realm))) {
		rc = registry__fail(REGISTRY_EPROTOCOL,
		                    "token realm '%.200s' must use https; refused", realm);
		goto out;
	}
	int bad = forbidden_realm_host(host);
	if (bad)
		rc = registry__fail(REGISTRY_EPROTOCOL,
		                    "token realm host '%.100s' is link-local or a metadata service; refused",
		                    host);
out:
	curl_free(scheme);
	curl_free(user);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

/* The host of @c's registry, without port or brackets. */
static void registry_host(const registry_client *c, char *out, size_t size)
{
	const char *h = c->api_host;
	if (h[0] == '[') {
		snprintf(out, size, "%s", h + 1);
		out[strcspn(out, "]")] = '\0';
		return;
	}
	snprintf(out, size, "%s", h);
	char *colon = strchr(out, ':');
	if (colon)
		*colon = '\0';
}

/*
 * Whether the realm may receive the client's credentials (Basic for the
 * token GET, or the identity token). The registry's own host (any port)
 * may; so may, for a registry named by a DNS name of three labels or more,
 * its parent domain and the hosts below it, which is how Docker Hub
 * (registry-1.docker.io -> auth.docker.io) and GitLab (registry.gitlab.X ->
 * gitlab.X) are set up. So may the hosts the caller lists in
 * registry_host_config_options.credential_realms (nvcr.io ->
 * authn.nvidia.com). Any other host gets an anonymous token request: a
 * registry must not be able to send our password to a third party.
 */
static int realm_gets_credentials(const registry_client *c, const char *realm)
{
	char reg[300], rh[300];
	registry_host(c, reg, sizeof(reg));
	CURLU *u = curl_url();
	char *host = NULL;
	int ok = 0;
	if (u && curl_url_set(u, CURLUPART_URL, realm, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		snprintf(rh, sizeof(rh), "%s", host[0] == '[' ? host + 1 : host);
		rh[strcspn(rh, "]")] = '\0';
		ok = strcasecmp(rh, reg) == 0 || registry__client_realm_allowed(c, rh);
		const char *parent = strchr(reg, '.');
		struct in6_addr a6;
		struct in_addr a4;
		int literal = inet_pton(AF_INET, reg, &a4) == 1 || inet_pton(AF_INET6, reg, &a6) == 1;
		if (!ok && parent && strchr(parent + 1, '.') && !literal) {
			parent++;
			size_t pl = strlen(parent), hl = strlen(rh);
			ok = strcasecmp(rh, parent) == 0 ||
			     (hl > pl + 1 && rh[hl - pl - 1] == '.' && strcasecmp(rh + hl - pl, parent) == 0);
		}
	}
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

static int append_param(registry__buf *b, const char *name, const char *value, char *sep)
{
	char *esc = curl_easy_escape(NULL, value, 0);
	if (!esc)
		return registry__nomem();
	int rc = registry__buf_printf(b, "%c%s=%s", *sep, name, esc);
	curl_free(esc);
	*sep = '&';
	return rc;
}

/* Seconds since the epoch of an RFC 3339 time, or -1. */
static long long parse_rfc3339(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return -1;
	while (*end == '.' || (*end >= '0' && *end <= '9'))
		end++;
	long off = 0;
	if (*end == '+' || *end == '-') {
		int hh = 0, mm = 0;
		if (sscanf(end + 1, "%2d:%2d", &hh, &mm) != 2) // NOLINT(cert-err34-c): 2 digits cannot overflow
			return -1;
		off = (hh * 3600L + mm * 60L) * (*end == '+' ? 1 : -1);
	} else if (*end != 'Z' && *end != 'z') {
		return -1;
	}
	return (long long)timegm(&tm) - off;
}

int registry__token_store(registry_client *c, const char *scope, const char *body, size_t len)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(root, "token");
	if (!cJSON_IsString(tok) || !*tok->valuestring)
		tok = cJSON_GetObjectItemCaseSensitive(root, "access_token");
	if (!cJSON_IsString(tok) || !*tok->valuestring) {
		cJSON_Delete(root);
		return registry__fail(REGISTRY_EPROTOCOL, "token response has no token");
	}
	/* The token goes into an Authorization header line: a CR, LF or other
	 * control byte would let the token server inject headers. */
	for (const char *p = tok->valuestring; *p; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			sodium_memzero(tok->valuestring, strlen(tok->valuestring));
			cJSON_Delete(root);
			return registry__fail(REGISTRY_EPROTOCOL,
			                      "token response holds a token with a byte not allowed in a header");
		}
	}
	long long expires_in = 60;
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(root, "expires_in");
	if (cJSON_IsNumber(exp) && exp->valuedouble >= 1 && exp->valuedouble < 1e9)
		expires_in = (long long)exp->valuedouble;
	const cJSON *iss = cJSON_GetObjectItemCaseSensitive(root, "issued_at");
	if (cJSON_IsString(iss)) {
		long long at = parse_rfc3339(iss->valuestring);
		long long age = at >= 0 ? (long long)time(NULL) - at : 0;
		if (age > 0 && age < expires_in)
			expires_in -= age; /* part of its life is gone already */
	}
	/* Renew a little before the end: 10% of the lifetime, at most 30 s. */
	long long margin = expires_in / 10 > 30 ? 30 : expires_in / 10;
	struct timespec exp_at = now_mono();
	exp_at.tv_sec += (time_t)(expires_in - margin);

	int rc = registry__token_put(c, scope, tok->valuestring, exp_at);
	sodium_memzero(tok->valuestring, strlen(tok->valuestring));
	cJSON_Delete(root);
	return rc;
}

void registry__token_fetch_free(registry__token_fetch *tf)
{
	registry__free_secret(tf->authorization);
	if (tf->form)
		sodium_memzero(tf->form, tf->form_len);
	free(tf->form);
	free(tf->url);
	memset(tf, 0, sizeof(*tf));
}

/* The token request for @scope, built and not sent: the realm URL with
 * service and scopes (GET) or the OAuth2 refresh-token form (POST), and the
 * realm's Basic credentials when it may have them. */
static int token_request_build(registry__token_fetch *tf, registry_client *c, const char *scope,
                               int oauth_post, int with_creds)
{
	registry__buf url, form;
	registry__buf_init(&url, 16384);
	registry__buf_init(&form, 16384);
	char sep = strchr(c->realm, '?') ? '&' : '?';
	int rc = registry__buf_puts(&url, c->realm);
	char *scopes = registry__strdup(scope ? scope : "");
	if (!scopes)
		rc = REGISTRY_ENOMEM;
	if (oauth_post) {
		char fsep = '\0';
		if (!rc)
			rc = append_param(&form, "grant_type", "refresh_token", &fsep);
		if (!rc && c->service)
			rc = append_param(&form, "service", c->service, &fsep);
		if (!rc)
			rc = append_param(&form, "client_id", "libregistry", &fsep);
		if (!rc)
			rc = append_param(&form, "refresh_token", c->identity_token, &fsep);
		if (!rc && *scopes)
			rc = append_param(&form, "scope", scopes, &fsep);
		/* the first separator written was '\0': drop it */
		if (!rc && form.len)
			memmove(form.data, form.data + 1, form.len--);
	} else {
		if (!rc && c->service)
			rc = append_param(&url, "service", c->service, &sep);
		char *save = NULL;
		for (char *s = strtok_r(scopes, " ", &save); !rc && s; s = strtok_r(NULL, " ", &save))
			rc = append_param(&url, "scope", s, &sep);
		if (!rc && c->username && with_creds)
			rc = basic_value(c->username, c->password, &tf->authorization);
	}
	free(scopes);
	tf->oauth_post = oauth_post;
	tf->creds = with_creds;
	tf->url = url.data;
	tf->form = form.data;
	tf->form_len = form.len;
	if (rc)
		registry__token_fetch_free(tf);
	return rc ? registry__fail(rc, "out of memory") : 0;
}

static int token_request(registry_client *c, registry__token_fetch *tf, registry__response *resp)
{
	static const char *const form_headers[] = {
		"Content-Type: application/x-www-form-urlencoded", "Accept: application/json", NULL};
	static const char *const get_headers[] = {"Accept: application/json", NULL};
	registry__request req = {
		.method = tf->oauth_post ? "POST" : "GET",
		.url = tf->url,
		.headers = tf->oauth_post ? form_headers : get_headers,
		.body = tf->oauth_post ? tf->form : NULL,
		.body_len = tf->oauth_post ? tf->form_len : 0,
		.body_limit = REGISTRY__JSON_LIMIT,
		.refuse_link_local = 1,
	};
	return registry__client_do_external(c, &req, tf->authorization, resp);
}

int registry__token_fetch_prepare(registry__token_fetch *tf, registry_client *c, const char *scope,
                                  int retry_as_get)
{
	memset(tf, 0, sizeof(*tf));
	if (!c->realm)
		return registry__fail(REGISTRY_EPROTOCOL, "bearer challenge without a realm");
	int rc = registry__realm_check(c, c->realm);
	if (rc)
		return rc;
	int creds = realm_gets_credentials(c, c->realm);
	c->token_fetches++;
	return token_request_build(tf, c, scope, c->identity_token && creds && !retry_as_get, creds);
}

int registry__token_fetch_judge(registry__token_fetch *tf, registry_client *c, const char *scope,
                                const registry__response *resp)
{
	int rc;
	int creds = tf->creds;
	if (tf->oauth_post && (resp->status == 404 || resp->status == 405))
		return REGISTRY__TOKEN_AGAIN_AS_GET; /* no OAuth2 endpoint: the GET form */
	if (resp->status == 200) {
		rc = registry__token_store(c, scope ? scope : "", resp->body.data, resp->body.len);
	} else if (resp->status == 401 || resp->status == 403) {
		if ((c->username || c->identity_token) && !creds)
			rc = registry__fail(REGISTRY_EAUTH,
			                    "token server refused anonymous access (HTTP %ld); the "
			                    "credentials were not sent: the realm is not on the "
			                    "registry's host or domain", resp->status);
		else if (c->username || c->identity_token)
			rc = registry__fail(REGISTRY_EAUTH,
			                    "token server refused the credentials of '%s' (HTTP %ld)",
			                    c->username ? c->username : "<identity token>", resp->status);
		else
			rc = registry__fail(REGISTRY_EAUTH,
			                    "token server refused anonymous access (HTTP %ld); "
			                    "credentials are needed", resp->status);
		registry__error_set_http((int)resp->status, c->realm);
	} else {
		rc = registry__response_fail(resp, "fetching a bearer token");
	}
	return rc;
}

/* The blocking token fetch: the same prepare and judge as a loop driver's,
 * performed here. */
static int fetch_token(registry_client *c, const char *scope)
{
	registry__token_fetch tf;
	int rc = registry__token_fetch_prepare(&tf, c, scope, 0);
	for (int round = 0; !rc && round < 2; round++) {
		registry__response resp;
		registry__response_init(&resp);
		rc = token_request(c, &tf, &resp);
		if (!rc)
			rc = registry__token_fetch_judge(&tf, c, scope, &resp);
		if (resp.body.data)
			sodium_memzero(resp.body.data, resp.body.len);
		registry__response_free(&resp);
		if (rc != REGISTRY__TOKEN_AGAIN_AS_GET)
			break;
		registry__token_fetch_free(&tf);
		rc = registry__token_fetch_prepare(&tf, c, scope, 1);
	}
	registry__token_fetch_free(&tf);
	return rc;
}

/* The header from what the client knows; REGISTRY__AUTH_NEED_TOKEN when a
 * bearer token must be fetched first (and @fetch is 0). */
static int auth_header(registry_client *c, const char *scope, char **out, int fetch)
{
	*out = NULL;
	int prc = registry__client_pick_credentials(c, scope);
	if (prc)
		return prc;
	if (c->auth_scheme == REGISTRY_AUTH_BASIC && c->username)
		return basic_value(c->username, c->password, out);
	if (c->auth_scheme != REGISTRY_AUTH_BEARER)
		return 0;
	const char *key = scope ? scope : "";
	registry__token *t = registry__token_find(c, key);
	if (t && !token_valid(t)) {
		token_drop(c, key);
		t = NULL;
	}
	if (!t && !fetch)
		return REGISTRY__AUTH_NEED_TOKEN;
	if (!t) {
		int rc = fetch_token(c, scope);
		if (rc)
			return rc;
		t = registry__token_find(c, key);
		if (!t)
			return registry__fail(REGISTRY_EIO, "token cache lost its entry");
	}
	t = token_touch(c, t);
	size_t n = strlen(t->token) + sizeof("Bearer ");
	if (!(*out = malloc(n)))
		return registry__nomem();
	snprintf(*out, n, "Bearer %s", t->token);
	return 0;
}

int registry__auth_header(registry_client *c, const char *scope, char **out)
{
	return auth_header(c, scope, out, 1);
}

int registry__auth_header_cached(registry_client *c, const char *scope, char **out)
{
	return auth_header(c, scope, out, 0);
}

int registry__auth_on_401(registry_client *c, const char *scope, const registry__response *resp,
                          int round)
{
	registry__challenges ch;
	const char *url = resp->url ? resp->url : c->registry;
	if (!resp->www_authenticate || registry__challenges_parse(&ch, resp->www_authenticate) != 0) {
		int rc = registry__fail(REGISTRY_EAUTH, "%s: HTTP 401 without a usable challenge", url);
		registry__error_set_http(401, url);
		return rc;
	}
	/* The auth files' entry for this repository, else the program's
	 * keychain, before the challenge decides on credentials. */
	int rc = registry__client_pick_credentials(c, scope);
	if (!rc)
		rc = registry__client_ask_credentials(c);
	if (rc) {
		registry__challenges_free(&ch);
		return rc;
	}
	const registry__challenge *bearer = registry__challenges_find(&ch, "bearer");
	const registry__challenge *basic = registry__challenges_find(&ch, "basic");
	if (bearer) {
		const char *realm = registry__challenge_param(bearer, "realm");
		const char *service = registry__challenge_param(bearer, "service");
		const char *error = registry__challenge_param(bearer, "error");
		c->auth_scheme = REGISTRY_AUTH_BEARER;
		if (!realm) {
			rc = registry__fail(REGISTRY_EPROTOCOL, "%s: bearer challenge without realm", url);
		} else if ((rc = registry__set_string(&c->realm, realm)) == 0 &&
		           (rc = registry__set_string(&c->service, service)) == 0) {
			/* Only a token this request sent was rejected: a 401 to a
			 * request sent without one (round 0) only teaches the
			 * challenge, and the token a concurrent request fetched
			 * meanwhile stays good. */
			if (round > 0)
				token_drop(c, scope);
			if (round >= 2) {
				int denied = error && strcmp(error, "insufficient_scope") == 0;
				if (denied && (c->username || c->identity_token))
					rc = registry__fail(REGISTRY_EDENIED, "%s: the token does not grant '%s'",
					                    url, scope ? scope : "");
				else if (denied)
					rc = registry__fail(REGISTRY_EAUTH,
					                    "%s: anonymous access does not grant '%s'; credentials are needed",
					                    url, scope ? scope : "");
				else
					rc = registry__fail(REGISTRY_EAUTH, "%s: the registry rejected the token (%s)",
					                    url, error ? error : "no reason given");
			}
		}
	} else if (basic) {
		c->auth_scheme = REGISTRY_AUTH_BASIC;
		if (!c->username)
			rc = registry__fail(REGISTRY_EAUTH,
			                    "%s: the registry requires authentication and no credentials are set", url);
		else if (round >= 1)
			rc = registry__fail(REGISTRY_EAUTH, "%s: the registry refused the credentials of '%s'",
			                    url, c->username);
	} else {
		rc = registry__fail(REGISTRY_EUNSUPPORTED, "%s: unsupported auth scheme '%s'", url,
		                    ch.items[0].scheme);
	}
	if (rc)
		registry__error_set_http(401, url);
	registry__challenges_free(&ch);
	return rc;
}

/*
 * Auth files (containers-auth.json(5) and Docker's config.json "auths"):
 * the entries that name one host, with their namespace. Keys are
 * "host[:port]", "host[:port]/org[/repo...]" (namespaced, podman and
 * skopeo 1.x), or a URL ("https://host/v1/", as Docker writes), which
 * names the host alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "authfile.h"
#include "hostconfig.h"

int registry__is_docker_hub(const char *host)
{
	return strcasecmp(host, "docker.io") == 0 || strcasecmp(host, "index.docker.io") == 0 ||
	       strcasecmp(host, "registry-1.docker.io") == 0;
}

const char *registry__auth_key_split(const char *key, char *host, size_t size)
{
	const char *scheme = strstr(key, "://");
	const char *p = scheme ? scheme + 3 : key;
	size_t n = strcspn(p, "/");
	if (n >= size)
		n = size - 1;
	memcpy(host, p, n);
	host[n] = '\0';
	if (scheme || !p[n])
		return "";
	return p + n + 1;
}

int registry__auth_key_names(const char *key, const char *registry)
{
	char h[300];
	registry__auth_key_split(key, h, sizeof(h));
	if (registry__is_docker_hub(registry))
		return registry__is_docker_hub(h);
	return strcasecmp(h, registry) == 0;
}

/* "user:password" base64 into its two halves. */
static int decode_auth(const char *b64, const char *path, char **user, char **secret)
{
	size_t n = strlen(b64);
	unsigned char *raw = malloc(n + 1);
	size_t raw_len = 0;
	if (!raw)
		return registry__nomem();
	int rc = 0;
	if (sodium_base642bin(raw, n, b64, n, "\n\r ", &raw_len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
		rc = registry__fail(REGISTRY_EFORMAT, "%s: an \"auth\" value is not base64", path);
	} else {
		raw[raw_len] = '\0';
		char *colon = memchr(raw, ':', raw_len);
		if (!colon || memchr(raw, '\0', raw_len)) {
			rc = registry__fail(REGISTRY_EFORMAT, "%s: an \"auth\" value is not user:password", path);
		} else {
			*colon = '\0';
			*user = registry__strdup((char *)raw);
			*secret = registry__strdup(colon + 1);
			if (!*user || !*secret)
				rc = registry__nomem();
		}
	}
	sodium_memzero(raw, n + 1);
	free(raw);
	return rc;
}

int registry__auth_entry_decode(const cJSON *entry, const char *path, char **user, char **secret,
                                char **identity_token)
{
	*user = *secret = *identity_token = NULL;
	const cJSON *auth = cJSON_GetObjectItemCaseSensitive(entry, "auth");
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(entry, "username");
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(entry, "password");
	const cJSON *idt = cJSON_GetObjectItemCaseSensitive(entry, "identitytoken");
	int rc = 0;
	if (cJSON_IsString(auth) && *auth->valuestring) {
		rc = decode_auth(auth->valuestring, path, user, secret);
	} else if (cJSON_IsString(u) && cJSON_IsString(p)) {
		*user = registry__strdup(u->valuestring);
		*secret = registry__strdup(p->valuestring);
		if (!*user || !*secret)
			rc = registry__nomem();
	}
	if (!rc && cJSON_IsString(idt) && *idt->valuestring && !(*identity_token = registry__strdup(idt->valuestring)))
		rc = registry__nomem();
	if (!rc && !*user && !*identity_token)
		rc = REGISTRY_ENOTFOUND;
	if (rc) {
		registry__free_secret(*user);
		registry__free_secret(*secret);
		registry__free_secret(*identity_token);
		*user = *secret = *identity_token = NULL;
	}
	return rc;
}

static void cred_free(registry__cred *c)
{
	free(c->ns);
	registry__free_secret(c->username);
	registry__free_secret(c->secret);
	registry__free_secret(c->identity_token);
}

void registry__creds_unref(registry__creds *c)
{
	if (!c || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (size_t i = 0; i < c->n; i++)
		cred_free(&c->items[i]);
	free(c->items);
	free(c);
}

#define CREDS_MAX 1024

static int add_entry(registry__creds *c, const cJSON *entry, const char *ns, const char *name, int file)
{
	if (c->n == CREDS_MAX)
		return registry__fail(REGISTRY_ETOOLARGE, "%s: more than %d entries for one host", name, CREDS_MAX);
	registry__cred cr = {.file = file};
	int rc = registry__auth_entry_decode(entry, name, &cr.username, &cr.secret, &cr.identity_token);
	if (rc == REGISTRY_ENOTFOUND)
		return 0; /* an empty entry (podman writes {} for a helper's host) */
	if (!rc && !(cr.ns = registry__strdup(ns)))
		rc = registry__nomem();
	registry__cred *grown = rc ? NULL : realloc(c->items, (c->n + 1) * sizeof(*grown));
	if (!rc && !grown)
		rc = registry__nomem();
	if (rc) {
		cred_free(&cr);
		return rc;
	}
	c->items = grown;
	c->items[c->n++] = cr;
	return 0;
}

int registry__creds_add_file(registry__creds *c, const char *text, size_t len, const char *name,
                             const char *host, int file)
{
	cJSON *root = cJSON_ParseWithLength(text ? text : "", len);
	int rc = 0;
	if (!cJSON_IsObject(root))
		rc = registry__fail(REGISTRY_EFORMAT, "%s is not a JSON object", name);
	const cJSON *auths = cJSON_GetObjectItemCaseSensitive(root, "auths");
	const cJSON *it;
	if (!rc && auths && !cJSON_IsObject(auths))
		rc = registry__fail(REGISTRY_EFORMAT, "%s: \"auths\" is not an object", name);
	for (it = auths && !rc ? auths->child : NULL; it && !rc; it = it->next) {
		if (!it->string || !cJSON_IsObject(it) || !registry__auth_key_names(it->string, host))
			continue;
		char h[300];
		const char *ns = registry__auth_key_split(it->string, h, sizeof(h));
		rc = add_entry(c, it, ns, name, file);
	}
	cJSON_Delete(root);
	return rc;
}

/* @ns names @repository or a parent of it ("" names every one). */
static int ns_covers(const char *ns, const char *repository)
{
	size_t n = strlen(ns);
	if (!n)
		return 1;
	return repository && strncmp(repository, ns, n) == 0 && (repository[n] == '\0' || repository[n] == '/');
}

const registry__cred *registry__creds_pick(const registry__creds *c, const char *repository)
{
	const registry__cred *best = NULL;
	for (size_t i = 0; c && i < c->n; i++) {
		const registry__cred *x = &c->items[i];
		if (!ns_covers(x->ns, repository))
			continue;
		if (!best || x->file < best->file || (x->file == best->file && strlen(x->ns) > strlen(best->ns)))
			best = x;
	}
	return best;
}

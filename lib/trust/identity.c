/*
 * Which requirements apply to an image (the policy's scopes), and whether
 * the identity a signature claims is one the policy accepts for it: the
 * rules of containers-policy.json(5), over parsed references so that
 * "busybox" and "docker.io/library/busybox" are the same name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include <cjson/cJSON.h>

#include "trust_impl.h"

static const registry__req_list *find_scope(const registry_policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_docker; i++)
		if (strcmp(p->docker[i].name, name) == 0)
			return &p->docker[i].list;
	return NULL;
}

/* "*.b.c" then "*.c" for the host "a.b.c" (the port does not take part). */
static const registry__req_list *find_wildcard(const registry_policy *p, const char *registry, const char **scope)
{
	char host[REGISTRY_REFERENCE_NAME_MAX + 3];
	snprintf(host, sizeof(host), "%s", registry);
	host[strcspn(host, ":")] = '\0';
	for (const char *dot = strchr(host, '.'); dot; dot = strchr(dot + 1, '.')) {
		char pattern[sizeof(host) + 1];
		snprintf(pattern, sizeof(pattern), "*%s", dot);
		for (size_t i = 0; i < p->n_docker; i++)
			if (strcmp(p->docker[i].name, pattern) == 0) {
				*scope = p->docker[i].name;
				return &p->docker[i].list;
			}
	}
	return NULL;
}

const registry__req_list *registry__policy_for(const registry_policy *p, const registry_reference *ref,
                                               const char **scope_name)
{
	char name[REGISTRY_REFERENCE_NAME_MAX + REGISTRY_REFERENCE_TAG_MAX + 160];
	const registry__req_list *l;
	const char *digest = registry_reference_digest(ref), *tag = registry_reference_tag(ref);
	int n = snprintf(name, sizeof(name), "%s/%s", registry_reference_registry(ref), registry_reference_repository(ref));
	/* Most specific first: the exact image, then the name and its prefixes. */
	const char *suffixes[2] = {digest, tag};
	for (int i = 0; i < 2; i++) {
		if (!suffixes[i])
			continue;
		snprintf(name + n, sizeof(name) - (size_t)n, "%c%s", i == 0 ? '@' : ':', suffixes[i]);
		if ((l = find_scope(p, name)))
			goto found;
		name[n] = '\0';
	}
	for (char *slash;; *slash = '\0') {
		if ((l = find_scope(p, name)))
			goto found;
		if (!(slash = strrchr(name, '/')))
			break;
	}
	if ((l = find_wildcard(p, registry_reference_registry(ref), scope_name)))
		return l;
	if ((l = find_scope(p, ""))) {
		*scope_name = "";
		return l;
	}
	*scope_name = "default";
	return &p->def;
found:
	for (size_t i = 0; i < p->n_docker; i++)
		if (&p->docker[i].list == l)
			*scope_name = p->docker[i].name;
	return l;
}

/* What a reference as written carries: a tag (after the last '/'), a digest. */
static void written_parts(const char *text, int *has_tag, int *has_digest)
{
	const char *at = strchr(text, '@');
	const char *slash = strrchr(text, '/');
	const char *last = slash ? slash + 1 : text;
	size_t n = at ? (size_t)(at - last) : strlen(last);
	*has_digest = at != NULL;
	*has_tag = at && at < last ? 0 : memchr(last, ':', n) != NULL;
}

typedef struct parsed {
	registry_reference *ref;
	int has_tag, has_digest;
} parsed;

static int parse_written(parsed *p, const char *text)
{
	written_parts(text, &p->has_tag, &p->has_digest);
	return registry_reference_parse(&p->ref, text);
}

static int same_name(const registry_reference *a, const registry_reference *b)
{
	return strcmp(registry_reference_registry(a), registry_reference_registry(b)) == 0 &&
	       strcmp(registry_reference_repository(a), registry_reference_repository(b)) == 0;
}

static int same_opt(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* The image @ref and the signed identity @s name the same thing exactly. */
static int exact(const registry_reference *ref, const parsed *s, const char **why)
{
	if (!same_name(ref, s->ref)) {
		*why = "the signature is for another repository";
		return 0;
	}
	const char *digest = registry_reference_digest(ref);
	int ok = digest ? s->has_digest && same_opt(digest, registry_reference_digest(s->ref))
	                : s->has_tag && !s->has_digest && same_opt(registry_reference_tag(ref), registry_reference_tag(s->ref));
	if (!ok)
		*why = digest ? "the signed identity does not name this digest" : "the signed identity does not name this tag";
	return ok;
}

static int repo_digest_or_exact(const registry_reference *ref, const parsed *s, const char **why)
{
	if (registry_reference_digest(ref)) {
		if (same_name(ref, s->ref))
			return 1;
		*why = "the signature is for another repository";
		return 0;
	}
	return exact(ref, s, why);
}

/* remapIdentity: @ref with the policy's prefix replaced by signedPrefix, or NULL when it does not start so. */
static registry_reference *remap(const registry__identity *id, const registry_reference *ref)
{
	const char *full = registry_reference_string(ref);
	size_t n = strlen(id->value);
	/* The prefix must end at a component boundary: "a/b" is a prefix of "a/b/c", not of "a/bc". */
	if (strncmp(full, id->value, n) != 0 || (full[n] && full[n] != '/' && full[n] != ':' && full[n] != '@'))
		return NULL;
	size_t len = strlen(id->signed_prefix) + strlen(full + n) + 1;
	char *text = malloc(len);
	registry_reference *out = NULL;
	if (text) {
		snprintf(text, len, "%s%s", id->signed_prefix, full + n);
		if (registry_reference_parse(&out, text))
			out = NULL;
	}
	free(text);
	return out;
}

static int match_parsed(const registry__identity *id, const registry_reference *ref, const parsed *s, const char **why)
{
	parsed want = {0};
	int ok = 0;
	switch (id->type) {
	case REGISTRY__ID_MATCH_EXACT:
		return exact(ref, s, why);
	case REGISTRY__ID_MATCH_REPO_DIGEST_OR_EXACT:
		return repo_digest_or_exact(ref, s, why);
	case REGISTRY__ID_MATCH_REPOSITORY:
		if (!(ok = same_name(ref, s->ref)))
			*why = "the signature is for another repository";
		return ok;
	case REGISTRY__ID_EXACT_REFERENCE:
		if (parse_written(&want, id->value) || (!want.has_tag && !want.has_digest))
			*why = "the policy's exactReference is not a reference with a tag or digest";
		else if (!(ok = same_name(want.ref, s->ref) && want.has_tag == s->has_tag &&
		                want.has_digest == s->has_digest &&
		                (!want.has_tag || same_opt(registry_reference_tag(want.ref), registry_reference_tag(s->ref))) &&
		                (!want.has_digest ||
		                 same_opt(registry_reference_digest(want.ref), registry_reference_digest(s->ref)))))
			*why = "the signed identity is not the policy's exactReference";
		break;
	case REGISTRY__ID_EXACT_REPOSITORY:
		if (parse_written(&want, id->value))
			*why = "the policy's exactRepository is not a repository name";
		else if (!(ok = same_name(want.ref, s->ref)))
			*why = "the signed identity is not the policy's exactRepository";
		break;
	case REGISTRY__ID_REMAP: {
		registry_reference *mapped = remap(id, ref);
		ok = repo_digest_or_exact(mapped ? mapped : ref, s, why);
		registry_reference_free(mapped);
		break;
	}
	}
	registry_reference_free(want.ref);
	return ok;
}

int registry__identity_match(const registry__identity *id, const registry_reference *ref, const char *signed_ref,
                             const char **why)
{
	parsed s = {0};
	int ok = 0;
	*why = "the signed identity is not a valid reference";
	if (parse_written(&s, signed_ref) == 0)
		ok = match_parsed(id, ref, &s, why);
	registry_reference_free(s.ref);
	/* Parsing failures above are part of the verdict, not the caller's error. */
	registry__error_clear();
	return ok;
}

static const char *member_string(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
	v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, b) : v;
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The checks of containers-signature(5) on "critical", kept as strict as
 * containers/image: exactly type, image and identity. */
static int check_critical(const cJSON *crit, const char *type_expected, const char *digest,
                          const registry_reference *ref, const registry__identity *id)
{
	const char *type = member_string(crit, "type", NULL);
	const char *signed_digest = member_string(crit, "image", "docker-manifest-digest");
	const char *signed_ref = member_string(crit, "identity", "docker-reference");
	const char *why;
	if (!cJSON_IsObject(crit) || cJSON_GetArraySize(crit) != 3 || !type || !signed_digest || !signed_ref)
		return registry__fail(REGISTRY_EFORMAT, "signature payload: \"critical\" must hold exactly type, image "
		                                        "and identity");
	if (strcmp(type, type_expected) != 0)
		return registry__fail(REGISTRY_EFORMAT, "signature payload: type is not \"%s\"", type_expected);
	if (strcmp(signed_digest, digest) != 0)
		return registry__fail(REGISTRY_EDENIED, "the signature is for manifest %.80s, not %s", signed_digest, digest);
	if (!registry__identity_match(id, ref, signed_ref, &why))
		return registry__fail(REGISTRY_EDENIED, "signed identity %.300s: %s", signed_ref, why);
	return 0;
}

int registry__payload_check(const char *payload, size_t len, const char *type_expected, const char *digest,
                            const registry_reference *ref, const registry__identity *id)
{
	cJSON *root = cJSON_ParseWithLength(payload, len);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return registry__fail(REGISTRY_EFORMAT, "signature payload: not a JSON object");
	}
	int rc = check_critical(cJSON_GetObjectItemCaseSensitive(root, "critical"), type_expected, digest, ref, id);
	cJSON_Delete(root);
	return rc;
}

char *registry__payload_make(const char *type, const char *identity, const char *digest)
{
	cJSON *root = cJSON_CreateObject(), *crit = cJSON_AddObjectToObject(root, "critical");
	cJSON *id = cJSON_AddObjectToObject(crit, "identity"), *img = cJSON_AddObjectToObject(crit, "image");
	int ok = id && img && cJSON_AddStringToObject(id, "docker-reference", identity) &&
	         cJSON_AddStringToObject(img, "docker-manifest-digest", digest) && cJSON_AddStringToObject(crit, "type", type);
	if (ok && strcmp(type, REGISTRY__PAYLOAD_TYPE_ATOMIC) == 0) {
		/* containers/image wants "optional" to be an object for simple signing. */
		cJSON *opt = cJSON_AddObjectToObject(root, "optional");
		ok = opt && cJSON_AddStringToObject(opt, "creator", "libregistry " REGISTRY_VERSION_STRING) &&
		     cJSON_AddNumberToObject(opt, "timestamp", (double)time(NULL));
	} else if (ok) {
		ok = cJSON_AddNullToObject(root, "optional") != NULL;
	}
	char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
	char *out = text ? registry__strdup(text) : NULL;
	cJSON_free(text);
	cJSON_Delete(root);
	return out;
}

int registry__key_bytes(const registry__key *k, registry__buf *buf, const unsigned char **data, size_t *len)
{
	if (!k->path) {
		*data = k->data;
		*len = k->len;
		return 0;
	}
	registry__buf_init(buf, REGISTRY__KEY_FILE_MAX);
	int rc = registry__read_file_capped(k->path, buf);
	if (rc == REGISTRY_ENOTFOUND)
		rc = registry__fail(rc, "key file %s does not exist", k->path);
	*data = (const unsigned char *)buf->data;
	*len = buf->len;
	return rc;
}

/*
 * containers-policy.json(5) → registry_policy. Strict as containers/image
 * is: an unknown field, a missing required one or a wrong JSON type makes
 * the whole file invalid (a policy half understood would be a policy
 * silently weakened). An unknown requirement TYPE still loads, and always
 * rejects: a newer policy keeps working with an older library, closed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "trust_impl.h"

static const char *const NO_FIELDS[] = {"type", NULL};
static const char *const SIGNED_BY_FIELDS[] = {"type", "keyType", "keyPath", "keyPaths", "keyData",
                                               "signedIdentity", NULL};
static const char *const SIGSTORE_FIELDS[] = {"type", "keyPath", "keyPaths", "keyData", "keyDatas", "fulcio", "pki",
                                              "rekorPublicKeyPath", "rekorPublicKeyPaths", "rekorPublicKeyData",
                                              "rekorPublicKeyDatas", "signedIdentity", NULL};

int registry_policy_load_options_init(registry_policy_load_options *o)
{
	REGISTRY__ENTER(rc);
	if (!o)
		return registry__fail(REGISTRY_EINVAL, "registry_policy_load_options_init: NULL options");
	registry_policy_load_options init = REGISTRY_POLICY_LOAD_OPTIONS_INIT;
	*o = init;
	return 0;
}

static int bad(const char *where, const char *what)
{
	return registry__fail(REGISTRY_EFORMAT, "policy: %s: %s", where, what);
}

/* Every member of @o is one of @allowed (NULL-terminated). */
static int check_fields(const cJSON *o, const char *const *allowed, const char *where)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, o)
	{
		size_t i = 0;
		while (allowed[i] && strcmp(allowed[i], it->string) != 0)
			i++;
		if (!allowed[i]) {
			char name[64];
			registry__excerpt(name, sizeof(name), it->string, strlen(it->string));
			return registry__fail(REGISTRY_EFORMAT, "policy: %s: unknown field \"%s\"", where, name);
		}
	}
	return 0;
}

/* The string member @key of @o: NULL when absent; a non-string is an error. */
static int get_string(const cJSON *o, const char *key, const char *where, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	*out = NULL;
	if (!v)
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring)
		return registry__fail(REGISTRY_EFORMAT, "policy: %s: \"%s\" must be a string", where, key);
	*out = v->valuestring;
	return 0;
}

static int need_string(const cJSON *o, const char *key, const char *where, const char **out)
{
	int rc = get_string(o, key, where, out);
	if (!rc && (!*out || !**out))
		rc = registry__fail(REGISTRY_EFORMAT, "policy: %s: \"%s\" is required", where, key);
	return rc;
}

static int parse_identity(registry__identity *id, const cJSON *o, const char *where)
{
	static const struct {
		const char *name;
		enum registry__identity_type type;
		const char *field, *field2;
	} kinds[] = {
	        {"matchRepoDigestOrExact", REGISTRY__ID_MATCH_REPO_DIGEST_OR_EXACT, NULL, NULL},
	        {"matchExact", REGISTRY__ID_MATCH_EXACT, NULL, NULL},
	        {"matchRepository", REGISTRY__ID_MATCH_REPOSITORY, NULL, NULL},
	        {"exactReference", REGISTRY__ID_EXACT_REFERENCE, "dockerReference", NULL},
	        {"exactRepository", REGISTRY__ID_EXACT_REPOSITORY, "dockerRepository", NULL},
	        {"remapIdentity", REGISTRY__ID_REMAP, "prefix", "signedPrefix"},
	};
	const char *type, *v1 = NULL, *v2 = NULL;
	int rc;
	if (!cJSON_IsObject(o))
		return bad(where, "signedIdentity must be an object");
	if ((rc = need_string(o, "type", where, &type)))
		return rc;
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(kinds); i++) {
		if (strcmp(kinds[i].name, type) != 0)
			continue;
		const char *const allowed[] = {"type", kinds[i].field, kinds[i].field2, NULL};
		if ((rc = check_fields(o, allowed, where)) ||
		    (kinds[i].field && (rc = need_string(o, kinds[i].field, where, &v1))) ||
		    (kinds[i].field2 && (rc = need_string(o, kinds[i].field2, where, &v2))))
			return rc;
		id->type = kinds[i].type;
		if ((v1 && !(id->value = registry__strdup(v1))) || (v2 && !(id->signed_prefix = registry__strdup(v2))))
			return registry__nomem();
		return 0;
	}
	char name[64];
	registry__excerpt(name, sizeof(name), type, strlen(type));
	return registry__fail(REGISTRY_EFORMAT, "policy: %s: unknown signedIdentity type \"%s\"", where, name);
}

static int add_key(registry__requirement *r, const char *path, const char *b64, const char *where)
{
	if (r->n_keys >= REGISTRY__POLICY_KEYS_MAX)
		return bad(where, "too many keys");
	registry__key *k = &r->keys[r->n_keys++]; /* counted now: freed with the list on any failure */
	if (path) {
		if (!*path)
			return bad(where, "an empty key path");
		if (!(k->path = registry__strdup(path)))
			return registry__nomem();
	} else {
		size_t n = strlen(b64);
		if (!(k->data = malloc(n / 4 * 3 + 3)))
			return registry__nomem();
		if (sodium_base642bin(k->data, n / 4 * 3 + 3, b64, n, "\n\r ", &k->len, NULL,
		                      sodium_base64_VARIANT_ORIGINAL) != 0 || k->len == 0)
			return bad(where, "keyData is not base64");
	}
	return 0;
}

/* keyPath, keyPaths, keyData, keyDatas: exactly one of them is given. */
static int parse_keys(registry__requirement *r, const cJSON *o, const char *where)
{
	static const char *const fields[] = {"keyPath", "keyPaths", "keyData", "keyDatas"};
	int given = 0, rc;
	if (!(r->keys = registry__calloc(REGISTRY__POLICY_KEYS_MAX, sizeof(*r->keys))))
		return registry__nomem();
	for (size_t f = 0; f < REGISTRY_ARRAY_LEN(fields); f++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, fields[f]);
		int is_path = f < 2, is_list = f % 2 == 1;
		if (!v)
			continue;
		given++;
		if (!is_list) {
			if (!cJSON_IsString(v) || !v->valuestring)
				return registry__fail(REGISTRY_EFORMAT, "policy: %s: \"%s\" must be a string", where, fields[f]);
			if ((rc = add_key(r, is_path ? v->valuestring : NULL, v->valuestring, where)))
				return rc;
			continue;
		}
		if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
			return registry__fail(REGISTRY_EFORMAT, "policy: %s: \"%s\" must be a non-empty array", where,
			                      fields[f]);
		const cJSON *it;
		cJSON_ArrayForEach(it, v)
		{
			if (!cJSON_IsString(it) || !it->valuestring)
				return registry__fail(REGISTRY_EFORMAT, "policy: %s: \"%s\" holds a non-string", where,
				                      fields[f]);
			if ((rc = add_key(r, is_path ? it->valuestring : NULL, it->valuestring, where)))
				return rc;
		}
	}
	if (given > 1)
		return bad(where, "give only one of keyPath, keyPaths, keyData, keyDatas");
	return 0;
}

static int parse_no_fields(registry__requirement *r, const cJSON *o, const char *where)
{
	(void)r;
	return check_fields(o, NO_FIELDS, where);
}

/* signedIdentity, when given (the default rule is matchRepoDigestOrExact). */
static int parse_identity_of(registry__requirement *r, const cJSON *o, const char *where)
{
	const cJSON *ident = cJSON_GetObjectItemCaseSensitive(o, "signedIdentity");
	return ident ? parse_identity(&r->identity, ident, where) : 0;
}

static int parse_signed_by(registry__requirement *r, const cJSON *o, const char *where)
{
	const char *key_type;
	int rc;
	if ((rc = check_fields(o, SIGNED_BY_FIELDS, where)) || (rc = parse_identity_of(r, o, where)) ||
	    (rc = need_string(o, "keyType", where, &key_type)))
		return rc;
	if (strcmp(key_type, "GPGKeys") != 0) {
		/* X509Certificates, signedByGPGKeys, ...: not implemented by anyone; closed. */
		r->type = REGISTRY__REQ_UNKNOWN;
		return 0;
	}
	if ((rc = parse_keys(r, o, where)))
		return rc;
	if (r->n_keys == 0)
		return bad(where, "signedBy needs keyPath, keyPaths or keyData");
	return 0;
}

static int parse_sigstore(registry__requirement *r, const cJSON *o, const char *where)
{
	int rc;
	if ((rc = check_fields(o, SIGSTORE_FIELDS, where)) || (rc = parse_identity_of(r, o, where)) ||
	    (rc = parse_keys(r, o, where)))
		return rc;
	for (const char *const *f = SIGSTORE_FIELDS + 5; *f && strcmp(*f, "signedIdentity") != 0; f++)
		if (cJSON_GetObjectItemCaseSensitive(o, *f))
			r->keyless = 1; /* fulcio, pki or rekor: needs a transparency log / CA we do not check */
	if (r->n_keys == 0 && !r->keyless)
		return bad(where, "sigstoreSigned needs keyPath, keyPaths, keyData, keyDatas, fulcio or pki");
	if (r->n_keys && (cJSON_GetObjectItemCaseSensitive(o, "fulcio") || cJSON_GetObjectItemCaseSensitive(o, "pki")))
		return bad(where, "sigstoreSigned takes keys or fulcio/pki, not both");
	return 0;
}

static int parse_requirement(registry__requirement *r, const cJSON *o, const char *where)
{
	const char *type;
	int rc;
	if (!cJSON_IsObject(o))
		return bad(where, "a requirement must be an object");
	if ((rc = need_string(o, "type", where, &type)))
		return rc;
	if (!(r->type_name = registry__strdup(type)))
		return registry__nomem();
	static const struct {
		const char *name;
		enum registry__req_type type;
		int (*parse)(registry__requirement *r, const cJSON *o, const char *where);
	} kinds[] = {
	        {"insecureAcceptAnything", REGISTRY__REQ_ACCEPT, parse_no_fields},
	        {"reject", REGISTRY__REQ_REJECT, parse_no_fields},
	        {"signedBy", REGISTRY__REQ_SIGNED_BY, parse_signed_by},
	        {"sigstoreSigned", REGISTRY__REQ_SIGSTORE, parse_sigstore},
	};
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(kinds); i++) {
		if (strcmp(type, kinds[i].name) != 0)
			continue;
		r->type = kinds[i].type;
		return kinds[i].parse(r, o, where);
	}
	r->type = REGISTRY__REQ_UNKNOWN;
	return 0;
}

static void free_list(registry__req_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		registry__requirement *r = &l->reqs[i];
		for (size_t k = 0; k < r->n_keys; k++) {
			free(r->keys[k].path);
			free(r->keys[k].data);
		}
		free(r->keys);
		free(r->type_name);
		free(r->identity.value);
		free(r->identity.signed_prefix);
	}
	free(l->reqs);
	l->reqs = NULL;
	l->n = 0;
}

/* A non-empty array of requirements (an empty one would accept anything). */
static int parse_list(registry__req_list *l, const cJSON *a, const char *where)
{
	if (!cJSON_IsArray(a))
		return bad(where, "requirements must be an array");
	int n = cJSON_GetArraySize(a);
	if (n == 0)
		return bad(where, "an empty list of requirements (write [{\"type\": \"insecureAcceptAnything\"}] to accept)");
	if (n > REGISTRY__POLICY_REQS_MAX)
		return bad(where, "too many requirements");
	if (!(l->reqs = registry__calloc((size_t)n, sizeof(*l->reqs))))
		return registry__nomem();
	const cJSON *it;
	int rc;
	cJSON_ArrayForEach(it, a)
	{
		if ((rc = parse_requirement(&l->reqs[l->n++], it, where)))
			return rc;
	}
	return 0;
}

static int parse_transport(registry_policy *p, const cJSON *t, int docker)
{
	char where[160];
	int rc;
	if (!cJSON_IsObject(t))
		return bad(t->string, "a transport must be an object of scopes");
	int n = cJSON_GetArraySize(t);
	if (n > REGISTRY__POLICY_SCOPES_MAX)
		return bad(t->string, "too many scopes");
	if (docker && n && !(p->docker = registry__calloc((size_t)n, sizeof(*p->docker))))
		return registry__nomem();
	const cJSON *it;
	cJSON_ArrayForEach(it, t)
	{
		registry__req_list tmp = {0};
		char name[100];
		registry__excerpt(name, sizeof(name), it->string, strlen(it->string));
		snprintf(where, sizeof(where), "transports.%.20s[\"%s\"]", t->string, name);
		registry__req_list *l = docker ? &p->docker[p->n_docker].list : &tmp;
		if (docker && !(p->docker[p->n_docker++].name = registry__strdup(it->string)))
			return registry__nomem();
		rc = parse_list(l, it, where);
		free_list(&tmp); /* other transports: checked, not kept */
		if (rc)
			return rc;
	}
	return 0;
}

static int parse_policy(registry_policy *p, const cJSON *root)
{
	static const char *const top[] = {"default", "transports", NULL};
	int rc;
	if (!cJSON_IsObject(root))
		return bad("top level", "not a JSON object");
	if ((rc = check_fields(root, top, "top level")))
		return rc;
	const cJSON *def = cJSON_GetObjectItemCaseSensitive(root, "default");
	if (!def)
		return bad("top level", "\"default\" is required");
	if ((rc = parse_list(&p->def, def, "default")))
		return rc;
	const cJSON *transports = cJSON_GetObjectItemCaseSensitive(root, "transports");
	if (!transports)
		return 0;
	if (!cJSON_IsObject(transports))
		return bad("transports", "must be an object");
	const cJSON *t;
	cJSON_ArrayForEach(t, transports)
	{
		if ((rc = parse_transport(p, t, strcmp(t->string, "docker") == 0)))
			return rc;
	}
	return 0;
}

void registry_policy_free(registry_policy *p)
{
	if (!p)
		return;
	free_list(&p->def);
	for (size_t i = 0; i < p->n_docker; i++) {
		free(p->docker[i].name);
		free_list(&p->docker[i].list);
	}
	free(p->docker);
	free(p);
}

static int load_memory(registry_policy **out, const void *data, size_t len)
{
	if (len > REGISTRY_POLICY_MAX_SIZE)
		return registry__fail(REGISTRY_ETOOLARGE, "policy: %zu bytes, more than the %zu allowed", len,
		                      REGISTRY_POLICY_MAX_SIZE);
	cJSON *root = cJSON_ParseWithLength(data, len);
	if (!root)
		return registry__fail(REGISTRY_EFORMAT, "policy: not valid JSON");
	registry_policy *p = registry__calloc(1, sizeof(*p));
	int rc = p ? parse_policy(p, root) : registry__nomem();
	cJSON_Delete(root);
	if (rc) {
		registry_policy_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

static int check_load_options(const char *fn, const registry_policy_load_options *opts)
{
	return opts ? registry__options_check(fn, opts->version, REGISTRY_POLICY_LOAD_OPTIONS_VERSION, opts->flags, 0)
	            : 0;
}

int registry_policy_load_from_memory(registry_policy **out, const void *data, size_t len,
                                     const registry_policy_load_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!out || (!data && len))
		return registry__fail(REGISTRY_EINVAL, "registry_policy_load_from_memory: NULL argument");
	*out = NULL;
	if ((rc = check_load_options("registry_policy_load_from_memory", opts)))
		return rc;
	return load_memory(out, data ? data : "", len);
}

int registry_policy_load(registry_policy **out, const char *path, const registry_policy_load_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!out || !path)
		return registry__fail(REGISTRY_EINVAL, "registry_policy_load: NULL argument");
	*out = NULL;
	if ((rc = check_load_options("registry_policy_load", opts)))
		return rc;
	registry__buf text;
	registry__buf_init(&text, REGISTRY_POLICY_MAX_SIZE);
	rc = registry__read_file_capped(path, &text);
	if (rc == REGISTRY_ENOTFOUND)
		rc = registry__fail(rc, "policy: %s does not exist", path);
	if (!rc && (rc = load_memory(out, text.data ? text.data : "", text.len))) {
		char why[REGISTRY__MSG_MAX];
		snprintf(why, sizeof(why), "%s", registry_error_message(registry_error_last()));
		rc = registry__fail(rc, "%s: %s", path, why);
	}
	registry__buf_free(&text);
	return rc;
}

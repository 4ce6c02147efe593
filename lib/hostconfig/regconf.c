/*
 * registries.conf (containers-registries.conf(5), version 2, plus the v1
 * [registries.insecure] / [registries.block] lists) and Docker's
 * daemon.json, read into prefix rules. Semantics as containers/image:
 * a drop-in's [[registry]] with an earlier prefix replaces that rule, the
 * longest matching prefix wins, an empty prefix is the location.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "hostconfig.h"
#include "toml.h"

#define VALUE_MAX 1024

static void mirror_free(registry__mirror *m)
{
	free(m->location);
}

static void rule_free(registry__rule *r)
{
	free(r->prefix);
	free(r->location);
	free(r->origin);
	for (size_t i = 0; i < r->nmirrors; i++)
		mirror_free(&r->mirrors[i]);
	free(r->mirrors);
	memset(r, 0, sizeof(*r));
}

void registry__regconf_free(registry__regconf *conf)
{
	for (size_t i = 0; i < conf->nrules; i++)
		rule_free(&conf->rules[i]);
	free(conf->rules);
	conf->rules = NULL;
	conf->nrules = 0;
}

/* host[:port][/path] or *.domain: printable, no blanks, no scheme. */
static int check_location(const char *name, int line, const char *what, const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n > VALUE_MAX)
		return registry__fail(REGISTRY_EFORMAT, "%s:%d: %s is empty or longer than %d", name, line, what,
		                      VALUE_MAX);
	if (strstr(v, "://"))
		return registry__fail(REGISTRY_EFORMAT, "%s:%d: %s '%s' must not have a scheme", name, line, what, v);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '\\')
			return registry__fail(REGISTRY_EFORMAT, "%s:%d: %s '%s' has a blank or control character",
			                      name, line, what, v);
	if (v[n - 1] == '/')
		return registry__fail(REGISTRY_EFORMAT, "%s:%d: %s '%s' ends with '/'", name, line, what, v);
	/* A wildcard only as a prefix's leading "*." and with a host after it. */
	const char *star = strchr(v, '*');
	int wildcard_ok = strcmp(what, "prefix") == 0 && v[0] == '*' && v[1] == '.' && v[2] && v[2] != '.' &&
	                  !strchr(v, '/');
	if (star && (star != v || !wildcard_ok || strchr(v + 1, '*')))
		return registry__fail(REGISTRY_EFORMAT, "%s:%d: %s '%s': a wildcard is allowed only as \"*.domain\" "
		                      "at the start of a prefix", name, line, what, v);
	return 0;
}

/* Take @r into @conf: replaces the rule with the same prefix, else appended. */
static int commit_rule(registry__regconf *conf, registry__rule *r, const char *name)
{
	if (!r->prefix && !r->location) {
		int rc = registry__fail(REGISTRY_EFORMAT, "%s: a [[registry]] (%s) has neither prefix nor location",
		                        name, r->origin);
		rule_free(r);
		return rc;
	}
	for (size_t m = 0; m < r->nmirrors; m++) {
		if (!r->mirrors[m].location) {
			int rc = registry__fail(REGISTRY_EFORMAT, "%s: a [[registry.mirror]] of the [[registry]] of %s has "
			                        "no location", name, r->origin);
			rule_free(r);
			return rc;
		}
	}
	if (r->prefix && r->prefix[0] == '*' && (r->location || r->nmirrors)) {
		int rc = registry__fail(REGISTRY_EFORMAT, "%s: the [[registry]] of %s has a wildcard prefix: it takes "
		                        "no location and no mirrors", name, r->origin);
		rule_free(r);
		return rc;
	}
	if (!r->prefix && !(r->prefix = registry__strdup(r->location))) {
		rule_free(r);
		return registry__nomem();
	}
	for (size_t i = 0; i < conf->nrules; i++) {
		if (strcasecmp(conf->rules[i].prefix, r->prefix) == 0) {
			rule_free(&conf->rules[i]);
			conf->rules[i] = *r;
			memset(r, 0, sizeof(*r));
			return 0;
		}
	}
	if (conf->nrules == REGISTRY__HOSTCONF_RULES_MAX) {
		rule_free(r);
		return registry__fail(REGISTRY_ETOOLARGE, "%s: more than %d registry rules", name,
		                      REGISTRY__HOSTCONF_RULES_MAX);
	}
	registry__rule *grown = realloc(conf->rules, (conf->nrules + 1) * sizeof(*grown));
	if (!grown) {
		rule_free(r);
		return registry__nomem();
	}
	conf->rules = grown;
	conf->rules[conf->nrules++] = *r;
	memset(r, 0, sizeof(*r));
	return 0;
}

enum section { TOP, REGISTRY, MIRROR, V1_INSECURE, V1_BLOCK, OTHER };

typedef struct reader {
	registry__regconf *conf;
	const char *name;
	int section;
	int have_rule;
	registry__rule rule; /* the [[registry]] being read */
} reader;

static int flush(reader *rd)
{
	if (!rd->have_rule)
		return 0;
	rd->have_rule = 0;
	return commit_rule(rd->conf, &rd->rule, rd->name);
}

static int want_type(const reader *rd, const registry__toml_event *e, int type, const char *what)
{
	if (e->value->type == type)
		return 0;
	return registry__fail(REGISTRY_EFORMAT, "%s:%d: %s must be %s", rd->name, e->line, e->key, what);
}

static int set_location(reader *rd, const registry__toml_event *e, char **slot)
{
	int rc = want_type(rd, e, REGISTRY__TOML_STRING, "a string");
	if (!rc)
		rc = check_location(rd->name, e->line, e->key, e->value->str);
	if (!rc && registry__set_string(slot, e->value->str))
		rc = registry__nomem();
	return rc;
}

static int set_bool(reader *rd, const registry__toml_event *e, int *slot)
{
	int rc = want_type(rd, e, REGISTRY__TOML_BOOL, "true or false");
	if (!rc)
		*slot = e->value->boolean;
	return rc;
}

static int registry_key(reader *rd, const registry__toml_event *e)
{
	registry__rule *r = &rd->rule;
	if (strcmp(e->key, "prefix") == 0)
		return set_location(rd, e, &r->prefix);
	if (strcmp(e->key, "location") == 0)
		return set_location(rd, e, &r->location);
	if (strcmp(e->key, "insecure") == 0)
		return set_bool(rd, e, &r->insecure);
	if (strcmp(e->key, "blocked") == 0)
		return set_bool(rd, e, &r->blocked);
	if (strcmp(e->key, "mirror-by-digest-only") == 0)
		return set_bool(rd, e, &r->mirror_by_digest_only);
	return 0; /* keys of later versions: ignored, as containers/image does */
}

static int mirror_key(reader *rd, const registry__toml_event *e)
{
	registry__mirror *m = &rd->rule.mirrors[rd->rule.nmirrors - 1];
	if (strcmp(e->key, "location") == 0)
		return set_location(rd, e, &m->location);
	if (strcmp(e->key, "insecure") == 0)
		return set_bool(rd, e, &m->insecure);
	if (strcmp(e->key, "pull-from-mirror") == 0) {
		int rc = want_type(rd, e, REGISTRY__TOML_STRING, "a string");
		if (rc)
			return rc;
		static const char *const names[] = {"all", "digest-only", "tag-only"};
		for (int i = 0; i < 3; i++)
			if (strcmp(e->value->str, names[i]) == 0) {
				m->pull_from = i;
				return 0;
			}
		if (!*e->value->str)
			return 0;
		return registry__fail(REGISTRY_EFORMAT, "%s:%d: pull-from-mirror '%s': use all, digest-only or tag-only",
		                      rd->name, e->line, e->value->str);
	}
	return 0;
}

/* v1: [registries.insecure] / [registries.block] registries = ["host", ...]. */
static int v1_list(reader *rd, const registry__toml_event *e)
{
	if (strcmp(e->key, "registries") != 0)
		return 0;
	int rc = want_type(rd, e, REGISTRY__TOML_ARRAY, "an array of strings");
	for (size_t i = 0; !rc && i < e->value->nitems; i++) {
		const char *host = e->value->items[i];
		if (e->value->item_types[i] != REGISTRY__TOML_STRING)
			return registry__fail(REGISTRY_EFORMAT, "%s:%d: registries must be strings", rd->name, e->line);
		if ((rc = check_location(rd->name, e->line, "a registry", host)))
			return rc;
		registry__rule r = {0};
		char origin[300];
		snprintf(origin, sizeof(origin), "%s:%d", rd->name, e->line);
		r.prefix = registry__strdup(host);
		r.origin = registry__strdup(origin);
		if (!r.prefix || !r.origin) {
			rule_free(&r);
			return registry__nomem();
		}
		if (rd->section == V1_INSECURE)
			r.insecure = 1;
		else
			r.blocked = 1;
		rc = commit_rule(rd->conf, &r, rd->name);
	}
	return rc;
}

static int on_header(reader *rd, const registry__toml_event *e)
{
	int rc = 0;
	if (e->kind == REGISTRY__TOML_ARRAY_TABLE && strcmp(e->path, "registry.mirror") == 0) {
		if (!rd->have_rule)
			return registry__fail(REGISTRY_EFORMAT, "%s:%d: [[registry.mirror]] outside a [[registry]]",
			                      rd->name, e->line);
		registry__rule *r = &rd->rule;
		if (r->nmirrors == REGISTRY__HOSTCONF_MIRRORS_MAX)
			return registry__fail(REGISTRY_ETOOLARGE, "%s:%d: more than %d mirrors", rd->name, e->line,
			                      REGISTRY__HOSTCONF_MIRRORS_MAX);
		registry__mirror *grown = realloc(r->mirrors, (r->nmirrors + 1) * sizeof(*grown));
		if (!grown)
			return registry__nomem();
		r->mirrors = grown;
		memset(&r->mirrors[r->nmirrors++], 0, sizeof(*grown));
		rd->section = MIRROR;
		return 0;
	}
	if ((rc = flush(rd)))
		return rc;
	if (e->kind == REGISTRY__TOML_ARRAY_TABLE && strcmp(e->path, "registry") == 0) {
		char origin[300];
		snprintf(origin, sizeof(origin), "%s:%d", rd->name, e->line);
		if (!(rd->rule.origin = registry__strdup(origin)))
			return registry__nomem();
		rd->have_rule = 1;
		rd->section = REGISTRY;
	} else if (strcmp(e->path, "registry") == 0 || strcmp(e->path, "registry.mirror") == 0) {
		return registry__fail(REGISTRY_EFORMAT, "%s:%d: [%s] must be an array of tables: [[%s]]", rd->name,
		                      e->line, e->path, e->path);
	} else if (e->kind == REGISTRY__TOML_TABLE && strcmp(e->path, "registries.insecure") == 0) {
		rd->section = V1_INSECURE;
	} else if (e->kind == REGISTRY__TOML_TABLE && strcmp(e->path, "registries.block") == 0) {
		rd->section = V1_BLOCK;
	} else {
		rd->section = OTHER; /* [aliases], [registries.search], ...: not ours */
	}
	return 0;
}

static int on_event(const registry__toml_event *e, void *userdata)
{
	reader *rd = userdata;
	if (e->kind != REGISTRY__TOML_KEY)
		return on_header(rd, e);
	switch (rd->section) {
	case REGISTRY:
		return registry_key(rd, e);
	case MIRROR:
		return mirror_key(rd, e);
	case V1_INSECURE:
	case V1_BLOCK:
		return v1_list(rd, e);
	default:
		return 0; /* unqualified-search-registries, short-name-mode, aliases, ... */
	}
}

int registry__regconf_add_text(registry__regconf *conf, const char *text, size_t len, const char *name)
{
	reader rd = {.conf = conf, .name = name, .section = TOP};
	int rc = registry__toml_parse(text, len, name, on_event, &rd);
	if (!rc)
		rc = flush(&rd);
	rule_free(&rd.rule);
	return rc;
}

/* "https://mirror.example:5000/" -> "mirror.example:5000"; http:// marks it insecure. */
static int daemon_mirror(registry__rule *hub, const char *url, const char *name)
{
	int insecure = strncasecmp(url, "http://", 7) == 0;
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	size_t n = strlen(p);
	while (n && p[n - 1] == '/')
		n--;
	char loc[VALUE_MAX + 1];
	if (n == 0 || n > VALUE_MAX)
		return registry__fail(REGISTRY_EFORMAT, "%s: registry-mirrors entry '%.80s' is not a URL", name, url);
	memcpy(loc, p, n);
	loc[n] = '\0';
	int rc = check_location(name, 0, "a registry-mirrors entry", loc);
	if (rc)
		return rc;
	if (hub->nmirrors == REGISTRY__HOSTCONF_MIRRORS_MAX)
		return registry__fail(REGISTRY_ETOOLARGE, "%s: more than %d registry-mirrors", name,
		                      REGISTRY__HOSTCONF_MIRRORS_MAX);
	registry__mirror *grown = realloc(hub->mirrors, (hub->nmirrors + 1) * sizeof(*grown));
	if (!grown)
		return registry__nomem();
	hub->mirrors = grown;
	registry__mirror *m = &hub->mirrors[hub->nmirrors];
	memset(m, 0, sizeof(*m));
	if (!(m->location = registry__strdup(loc)))
		return registry__nomem();
	m->insecure = insecure;
	hub->nmirrors++;
	return 0;
}

static int daemon_insecure(registry__regconf *conf, const char *host, const char *name)
{
	if (strchr(host, '/'))
		return 0; /* a CIDR range: applies to addresses, not names; not supported */
	int rc = check_location(name, 0, "an insecure-registries entry", host);
	if (rc)
		return rc;
	const registry__rule *have = NULL;
	for (size_t i = 0; i < conf->nrules; i++)
		if (strcasecmp(conf->rules[i].prefix, host) == 0)
			have = &conf->rules[i];
	if (have) {
		conf->rules[have - conf->rules].insecure = 1;
		return 0;
	}
	registry__rule r = {.insecure = 1};
	r.prefix = registry__strdup(host);
	r.origin = registry__strdup(name);
	if (!r.prefix || !r.origin) {
		rule_free(&r);
		return registry__nomem();
	}
	return commit_rule(conf, &r, name);
}

int registry__regconf_add_daemon_json(registry__regconf *conf, const char *text, size_t len, const char *name)
{
	cJSON *root = cJSON_ParseWithLength(text ? text : "", len);
	int rc = 0;
	if (!cJSON_IsObject(root))
		rc = registry__fail(REGISTRY_EFORMAT, "%s is not a JSON object", name);
	const cJSON *mirrors = cJSON_GetObjectItemCaseSensitive(root, "registry-mirrors");
	const cJSON *insecure = cJSON_GetObjectItemCaseSensitive(root, "insecure-registries");
	const cJSON *it;
	if (!rc && cJSON_IsArray(mirrors) && cJSON_GetArraySize(mirrors) > 0) {
		/* Docker's mirrors serve Docker Hub only; registries.conf's own
		 * docker.io rule (read before) keeps precedence. */
		const registry__rule *have = registry__regconf_match(conf, "docker.io");
		if (!have || strcmp(have->prefix, "docker.io") != 0) {
			registry__rule hub = {0};
			hub.prefix = registry__strdup("docker.io");
			hub.origin = registry__strdup(name);
			if (!hub.prefix || !hub.origin)
				rc = registry__nomem();
			cJSON_ArrayForEach(it, mirrors)
				if (!rc)
					rc = cJSON_IsString(it) ? daemon_mirror(&hub, it->valuestring, name)
					                        : registry__fail(REGISTRY_EFORMAT, "%s: registry-mirrors holds a non-string", name);
			if (!rc)
				rc = commit_rule(conf, &hub, name);
			else
				rule_free(&hub);
		}
	}
	if (!rc && cJSON_IsArray(insecure))
		cJSON_ArrayForEach(it, insecure)
			if (!rc)
				rc = cJSON_IsString(it) ? daemon_insecure(conf, it->valuestring, name)
				                        : registry__fail(REGISTRY_EFORMAT, "%s: insecure-registries holds a non-string", name);
	cJSON_Delete(root);
	return rc;
}

static int prefix_matches(const char *prefix, const char *name)
{
	if (prefix[0] == '*' && prefix[1] == '.') {
		size_t host_len = strcspn(name, "/");
		size_t dl = strlen(prefix + 1); /* ".domain" */
		return host_len > dl && strncasecmp(name + host_len - dl, prefix + 1, dl) == 0;
	}
	size_t n = strlen(prefix);
	size_t host_len = strcspn(prefix, "/");
	/* Host names compare without case, paths with. */
	if (strncasecmp(name, prefix, host_len) != 0 || strncmp(name + host_len, prefix + host_len, n - host_len) != 0)
		return 0;
	return name[n] == '\0' || name[n] == '/';
}

const registry__rule *registry__regconf_match(const registry__regconf *conf, const char *name)
{
	const registry__rule *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; conf && i < conf->nrules; i++) {
		const registry__rule *r = &conf->rules[i];
		size_t n = strlen(r->prefix);
		if (prefix_matches(r->prefix, name) && (!best || n > best_len)) {
			best = r;
			best_len = n;
		}
	}
	return best;
}

char *registry__regconf_rewrite(const registry__rule *r, const char *location, const char *name)
{
	if (r->prefix[0] == '*')
		return registry__strdup(name);
	const char *rest = name + strlen(r->prefix);
	size_t n = strlen(location) + strlen(rest) + 1;
	char *out = malloc(n);
	if (out)
		snprintf(out, n, "%s%s", location, rest);
	return out;
}

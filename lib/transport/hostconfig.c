/*
 * registry_client_load_host_config(): the host's certs.d folders, auth
 * files, registries.conf and daemon.json (read by lib/hostconfig/) applied
 * to a client, and to the clients a pull makes for mirrors. The rules are
 * read once per call and shared (read-only) by the client, its clones and
 * its mirror clients; credentials are read per host, so a mirror never
 * sees the primary's and the other way round.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "client_impl.h"
#include "hostconfig/hostconfig.h"

#define LIST_MAX 64
#define PATH_MAX_LEN 4096

struct registry__hostcfg {
	int refs;
	unsigned int flags;
	registry__regconf conf;
	char *certs_dirs[LIST_MAX + 1]; /* NULL-terminated */
	char *auth_files[LIST_MAX + 1];
	char *realms[LIST_MAX + 1];
};

static void list_free(char **l)
{
	for (size_t i = 0; l[i]; i++)
		free(l[i]);
}

static void hostcfg_unref(registry__hostcfg *h)
{
	if (!h || __atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	registry__regconf_free(&h->conf);
	list_free(h->certs_dirs);
	list_free(h->auth_files);
	list_free(h->realms);
	free(h);
}

void registry__client_hostcfg_release(registry_client *c)
{
	hostcfg_unref(c->hostcfg);
	registry__creds_unref(c->creds);
	c->hostcfg = NULL;
	c->creds = NULL;
	c->cred_picked = NULL;
}

void registry__client_hostcfg_share(registry_client *to, const registry_client *from)
{
	to->hostcfg = from->hostcfg;
	to->creds = from->creds;
	to->cred_picked = from->cred_picked;
	if (to->hostcfg)
		__atomic_add_fetch(&to->hostcfg->refs, 1, __ATOMIC_ACQ_REL);
	if (to->creds)
		__atomic_add_fetch(&to->creds->refs, 1, __ATOMIC_ACQ_REL);
}

/* ---- default paths ---------------------------------------------------- */

static int add_path(char **list, size_t *n, const char *fmt, const char *a, const char *b)
{
	if (!a || !*a || *n == LIST_MAX)
		return 0;
	char path[PATH_MAX_LEN];
	if ((size_t)snprintf(path, sizeof(path), fmt, a, b ? b : "") >= sizeof(path))
		return 0; /* a variable too long to name a file: ignored as unset */
	return (list[(*n)++] = registry__strdup(path)) ? 0 : registry__nomem();
}

/* The user's config folder: $XDG_CONFIG_HOME, else ~/.config. */
static int add_config_home(char **list, size_t *n, const char *rest)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	if (xdg && *xdg)
		return add_path(list, n, "%s/%s", xdg, rest);
	return add_path(list, n, "%s/.config/%s", getenv("HOME"), rest);
}

static int default_certs_dirs(char **list)
{
	size_t n = 0;
	int rc = 0;
	if (geteuid() != 0)
		rc = add_config_home(list, &n, "containers/certs.d");
	if (!rc)
		rc = add_path(list, &n, "%s%s", "/etc/containers/certs.d", NULL);
	if (!rc)
		rc = add_path(list, &n, "%s%s", "/etc/docker/certs.d", NULL);
	return rc;
}

/* containers-auth.json(5), then Docker's config. */
static int default_auth_files(char **list)
{
	size_t n = 0;
	int rc = add_path(list, &n, "%s%s", getenv("REGISTRY_AUTH_FILE"), NULL);
	if (!rc)
		rc = add_path(list, &n, "%s/%s", getenv("XDG_RUNTIME_DIR"), "containers/auth.json");
	if (!rc)
		rc = add_config_home(list, &n, "containers/auth.json");
	const char *docker = getenv("DOCKER_CONFIG");
	if (!rc && docker && *docker)
		rc = add_path(list, &n, "%s/%s", docker, "config.json");
	else if (!rc)
		rc = add_path(list, &n, "%s/%s", getenv("HOME"), ".docker/config.json");
	return rc;
}

static int copy_list(char **list, const char *const *from, const char *what)
{
	size_t n = 0;
	for (; from[n]; n++) {
		if (n == LIST_MAX)
			return registry__fail(REGISTRY_EINVAL, "registry_client_load_host_config: more than %d %s",
			                      LIST_MAX, what);
		if (!(list[n] = registry__strdup(from[n])))
			return registry__nomem();
	}
	return 0;
}

/* ---- registries.conf -------------------------------------------------- */

static int add_conf_file(registry__regconf *conf, const char *path, int daemon)
{
	registry__buf text;
	int rc = registry__read_config_file(path, REGISTRY__HOSTCONF_FILE_MAX, &text);
	if (rc == REGISTRY_ENOTFOUND)
		rc = 0;
	else if (!rc && daemon)
		rc = registry__regconf_add_daemon_json(conf, text.data, text.len, path);
	else if (!rc)
		rc = registry__regconf_add_text(conf, text.data, text.len, path);
	registry__buf_free(&text);
	return rc;
}

/* registries.conf.d: the *.conf files in name order, after the main file. */
static int add_conf_dir(registry__regconf *conf, const char *dir)
{
	char **names = NULL;
	size_t n = 0;
	static const char *const suffix[] = {".conf", NULL};
	int rc = registry__dir_names(dir, suffix, REGISTRY__HOSTCONF_DROPINS_MAX, &names, &n);
	if (rc == REGISTRY_ENOTFOUND)
		return 0;
	for (size_t i = 0; !rc && i < n; i++) {
		char path[PATH_MAX_LEN];
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= sizeof(path))
			rc = registry__fail(REGISTRY_EIO, "path too long in %s", dir);
		else
			rc = add_conf_file(conf, path, 0);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int load_rules(registry__regconf *conf, const registry_host_config_options *o)
{
	int rc = 0;
	if (!(o->flags & REGISTRY_HOST_CONFIG_NO_REGISTRIES_CONF)) {
		const char *env = getenv("CONTAINERS_REGISTRIES_CONF");
		const char *main_file = o->registries_conf ? o->registries_conf
		                        : (env && *env) ? env : "/etc/containers/registries.conf";
		/* A file named by the caller or the variable stands alone, as in
		 * containers/image; drop-ins only with it when asked for. */
		const char *dir = o->registries_conf_dir ? o->registries_conf_dir
		                  : (o->registries_conf || (env && *env)) ? NULL : "/etc/containers/registries.conf.d";
		rc = add_conf_file(conf, main_file, 0);
		if (!rc && dir)
			rc = add_conf_dir(conf, dir);
	}
	if (!rc && !(o->flags & REGISTRY_HOST_CONFIG_NO_DOCKER_DAEMON))
		rc = add_conf_file(conf, o->docker_daemon_json ? o->docker_daemon_json : "/etc/docker/daemon.json", 1);
	return rc;
}

static int hostcfg_new(registry__hostcfg **out, const registry_host_config_options *o)
{
	registry__hostcfg *h = calloc(1, sizeof(*h));
	if (!h)
		return registry__nomem();
	h->refs = 1;
	h->flags = o->flags;
	int rc = o->certs_dirs ? copy_list(h->certs_dirs, o->certs_dirs, "certs.d roots") : default_certs_dirs(h->certs_dirs);
	if (!rc)
		rc = o->auth_files ? copy_list(h->auth_files, o->auth_files, "auth files") : default_auth_files(h->auth_files);
	if (!rc && o->credential_realms)
		rc = copy_list(h->realms, o->credential_realms, "credential realms");
	if (!rc)
		rc = load_rules(&h->conf, o);
	if (rc) {
		hostcfg_unref(h);
		return rc;
	}
	*out = h;
	return 0;
}

/* ---- applying it to one client ---------------------------------------- */

/* The host as certs.d and auth files name it: the registry as given. */
static const char *config_host(const registry_client *c)
{
	return c->registry;
}

/* certs.d material for the client's host into @certs (certs->dir NULL: none
 * or not wanted). */
static int find_certs(const registry_client *c, const registry__hostcfg *h, registry__certs *certs)
{
	memset(certs, 0, sizeof(*certs));
	if ((h->flags & REGISTRY_HOST_CONFIG_NO_CERTS) || c->ca_file || c->ca_path || c->ca_pem || c->cert_file ||
	    c->cert_pem)
		return 0; /* the caller's own TLS material wins */
	return registry__certs_load(certs, (const char *const *)h->certs_dirs, LIST_MAX, config_host(c));
}

static int collect_creds(registry__creds **out, const registry__hostcfg *h, const char *host)
{
	registry__creds *cr = calloc(1, sizeof(*cr));
	if (!cr)
		return registry__nomem();
	cr->refs = 1;
	int rc = 0;
	for (int i = 0; !rc && h->auth_files[i]; i++) {
		registry__buf text;
		rc = registry__read_config_file(h->auth_files[i], REGISTRY__HOSTCONF_FILE_MAX, &text);
		if (!rc)
			rc = registry__creds_add_file(cr, text.data, text.len, h->auth_files[i], host, i);
		else if (rc == REGISTRY_ENOTFOUND)
			rc = 0;
		if (text.data)
			sodium_memzero(text.data, text.len);
		registry__buf_free(&text);
	}
	if (rc || cr->n == 0) {
		registry__creds_unref(cr);
		cr = NULL;
	}
	*out = cr;
	return rc;
}

/* No auth file entry names the host: the credential helpers (credHelpers,
 * credsStore) of the files, in order; the first with an answer wins. */
static int apply_helpers(registry_client *c, const registry__hostcfg *h)
{
	for (int i = 0; h->auth_files[i]; i++) {
		registry__buf text;
		int rc = registry__read_config_file(h->auth_files[i], REGISTRY__HOSTCONF_FILE_MAX, &text);
		if (!rc) {
			registry__error_snapshot *saved = registry__error_save();
			rc = registry__docker_config_apply(c, text.data, text.len, h->auth_files[i], NULL);
			if (rc == REGISTRY_ENOTFOUND)
				registry__error_restore(saved);
			else
				free(saved);
		}
		if (text.data)
			sodium_memzero(text.data, text.len);
		registry__buf_free(&text);
		if (rc != REGISTRY_ENOTFOUND)
			return rc;
	}
	return 0;
}

static int auth_wanted(const registry_client *c, const registry__hostcfg *h)
{
	/* Credentials the caller gave win. */
	return !(h->flags & REGISTRY_HOST_CONFIG_NO_AUTH) && !(c->username && !c->cred_picked) &&
	       !c->identity_token && !c->cred_cb;
}

/* Everything is read first; the client changes only when all of it could
 * be read (a credential helper, run last, sets what it answers itself). */
static int apply(registry_client *c, registry__hostcfg *h)
{
	registry__certs certs;
	registry__creds *cr = NULL;
	int want_auth = auth_wanted(c, h);
	int rc = find_certs(c, h, &certs);
	if (!rc && want_auth)
		rc = collect_creds(&cr, h, config_host(c));
	if (!rc && want_auth && !cr)
		rc = apply_helpers(c, h);
	if (rc) {
		registry__certs_free(&certs);
		registry__creds_unref(cr);
		return rc;
	}
	if (certs.dir) {
		/* Moved, not copied: the key stays in one place to be wiped. */
		c->ca_pem = certs.ca_pem;
		c->cert_pem = certs.cert_pem;
		c->key_pem = certs.key_pem;
		certs.ca_pem = certs.cert_pem = certs.key_pem = NULL;
	}
	registry__certs_free(&certs);
	if (cr) {
		registry__creds_unref(c->creds);
		c->creds = cr;
		c->cred_picked = NULL;
	}
	/* insecure = true for the registry's host: plain HTTP and no verification. */
	const registry__rule *r = registry__regconf_match(&h->conf, config_host(c));
	if (r && r->insecure)
		c->insecure |= REGISTRY_INSECURE_ALLOW_HTTP | REGISTRY_INSECURE_NO_VERIFY;
	hostcfg_unref(c->hostcfg);
	c->hostcfg = h;
	__atomic_add_fetch(&h->refs, 1, __ATOMIC_ACQ_REL);
	/* Out of memory here leaves the credentials to be picked at the first
	 * request (registry__auth_header picks them again). */
	return cr ? registry__client_pick_credentials(c, NULL) : 0;
}

int registry_host_config_options_init(registry_host_config_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_host_config_options_init: NULL options");
	*opts = (registry_host_config_options)REGISTRY_HOST_CONFIG_OPTIONS_INIT;
	return 0;
}

int registry_client_load_host_config(registry_client *c, const registry_host_config_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!c)
		return registry__fail(REGISTRY_EINVAL, "registry_client_load_host_config: NULL client");
	registry_host_config_options defaults = REGISTRY_HOST_CONFIG_OPTIONS_INIT;
	const registry_host_config_options *o = opts ? opts : &defaults;
	const unsigned int known = REGISTRY_HOST_CONFIG_NO_CERTS | REGISTRY_HOST_CONFIG_NO_AUTH |
	                           REGISTRY_HOST_CONFIG_NO_REGISTRIES_CONF | REGISTRY_HOST_CONFIG_NO_DOCKER_DAEMON;
	if ((rc = registry__options_check("registry_client_load_host_config", o->version,
	                                  REGISTRY_HOST_CONFIG_OPTIONS_VERSION, o->flags, known)))
		return rc;
	registry__hostcfg *h = NULL;
	if ((rc = hostcfg_new(&h, o)))
		return rc;
	rc = apply(c, h);
	hostcfg_unref(h);
	return rc;
}

/* ---- used by requests and operations ------------------------------------ */

/* The repository of the first "repository:NAME:ACTIONS" of @scope into @out. */
static int scope_repository(const char *scope, char *out, size_t size)
{
	const char *p = scope ? strstr(scope, "repository:") : NULL;
	if (!p)
		return 0;
	p += strlen("repository:");
	const char *end = strchr(p, ':');
	size_t n = end ? (size_t)(end - p) : strlen(p);
	if (n >= size)
		return 0;
	memcpy(out, p, n);
	out[n] = '\0';
	return 1;
}

int registry__client_pick_credentials(registry_client *c, const char *scope)
{
	if (!c->creds || (!c->cred_picked && (c->username || c->identity_token)))
		return 0;
	char repo[512];
	const registry__cred *want = registry__creds_pick(c->creds, scope_repository(scope, repo, sizeof(repo)) ? repo : NULL);
	if (want == c->cred_picked)
		return 0;
	if (!want) {
		/* Another repository's entry must not stand in for this one's:
		 * anonymous (or the credential provider) instead. */
		registry__free_secret(c->username);
		registry__free_secret(c->password);
		registry__free_secret(c->identity_token);
		c->username = c->password = c->identity_token = NULL;
		c->cred_picked = NULL;
		return 0;
	}
	char *u = want->username ? registry__strdup(want->username) : NULL;
	char *p = want->username ? registry__strdup(want->secret ? want->secret : "") : NULL;
	char *t = want->identity_token ? registry__strdup(want->identity_token) : NULL;
	if ((want->username && (!u || !p)) || (want->identity_token && !t)) {
		registry__free_secret(u);
		registry__free_secret(p);
		registry__free_secret(t);
		return registry__nomem();
	}
	/* Tokens are cached per scope and were fetched with the credentials of
	 * their own repository: they stay valid. */
	registry__free_secret(c->username);
	registry__free_secret(c->password);
	registry__free_secret(c->identity_token);
	c->username = u;
	c->password = p;
	c->identity_token = t;
	c->cred_picked = want;
	return 0;
}

int registry__client_realm_allowed(const registry_client *c, const char *realm_host)
{
	for (size_t i = 0; c->hostcfg && c->hostcfg->realms[i]; i++)
		if (strcasecmp(c->hostcfg->realms[i], realm_host) == 0)
			return 1;
	return 0;
}

const registry__rule *registry__client_rule(const registry_client *c, const char *name)
{
	return c->hostcfg ? registry__regconf_match(&c->hostcfg->conf, name) : NULL;
}

int registry__client_for_host(registry_client **out, registry_client *c, const char *host, int insecure)
{
	*out = NULL;
	registry_client *m = NULL;
	int rc = registry_client_new(&m, host);
	if (rc)
		return rc;
	m->insecure = insecure ? REGISTRY_INSECURE_ALLOW_HTTP | REGISTRY_INSECURE_NO_VERIFY : 0;
	m->tls_min = c->tls_min;
	m->connect_ms = c->connect_ms;
	m->total_ms = c->total_ms;
	m->low_speed_seconds = c->low_speed_seconds;
	m->low_speed_bytes = c->low_speed_bytes;
	m->retries = c->retries;
	m->backoff_ms = c->backoff_ms;
	m->max_wait_ms = c->max_wait_ms;
	m->max_parallel = c->max_parallel;
	m->proxy_set = c->proxy_set;
	m->cancel = c->cancel;
	m->cancel_ud = c->cancel_ud;
	m->trace = c->trace;
	m->trace_ud = c->trace_ud;
	if (registry__set_string(&m->user_agent, c->user_agent) || registry__set_string(&m->proxy, c->proxy) ||
	    registry__set_string(&m->no_proxy, c->no_proxy))
		rc = registry__nomem();
	if (!rc && c->hostcfg)
		rc = apply(m, c->hostcfg);
	if (rc) {
		registry_client_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

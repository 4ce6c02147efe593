/* Host configuration: the TOML subset reader, registries.conf rules and
 * their matching and rewriting, daemon.json, namespaced auth file
 * entries, certs.d folders, and registry_client_load_host_config() on a
 * client (options, explicit settings winning, per-repository credentials). */
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "hostconfig/hostconfig.h"
#include "hostconfig/toml.h"
#include "transport/client_impl.h"

static char dir[256];

static void write_file(const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static void path_of(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", dir, name);
}

/* ---- TOML -------------------------------------------------------------- */

typedef struct seen {
	char log[2048];
} seen;

static int record(const registry__toml_event *e, void *ud)
{
	seen *s = ud;
	size_t n = strlen(s->log);
	char *o = s->log + n;
	size_t room = sizeof(s->log) - n;
	if (e->kind == REGISTRY__TOML_TABLE)
		snprintf(o, room, "[%s]", e->path);
	else if (e->kind == REGISTRY__TOML_ARRAY_TABLE)
		snprintf(o, room, "[[%s]]", e->path);
	else if (e->value->type == REGISTRY__TOML_ARRAY) {
		int w = snprintf(o, room, "%s=(", e->key);
		for (size_t i = 0; i < e->value->nitems; i++)
			w += snprintf(o + w, room - (size_t)w, "%s;", e->value->items[i]);
		snprintf(o + w, room - (size_t)w, ")");
	} else if (e->value->type == REGISTRY__TOML_BOOL)
		snprintf(o, room, "%s=%s", e->key, e->value->boolean ? "T" : "F");
	else if (e->value->type == REGISTRY__TOML_INT)
		snprintf(o, room, "%s=#%lld", e->key, e->value->integer);
	else
		snprintf(o, room, "%s='%s'", e->key, e->value->str);
	return 0;
}

static int parse(const char *text, seen *s)
{
	s->log[0] = '\0';
	return registry__toml_parse(text, strlen(text), "t.conf", record, s);
}

static void test_toml_subset(void)
{
	seen s;
	CHECK_INT(parse("# c\n a = \"x\\ty\\u00e9\" # trailing\nb='C:\\\\p'\r\n"
	                "c = true\nd=-1_000\n[t . \"q.k\"]\n[[r]]\ne = [ \"1\", # one\n  '2',\n]\n"
	                "\"quoted key\" = false\n", &s), 0);
	CHECK_STR(s.log, "a='x\ty\xc3\xa9'b='C:\\\\p'c=Td=#-1000[t.q.k][[r]]e=(1;2;)quoted key=F");
	CHECK_INT(parse("", &s), 0);
	CHECK_STR(s.log, "");
}

static void test_toml_refuses(void)
{
	seen s;
	static const char *const bad[] = {
		"a = \"unterminated\n", "a = \"\"\"multi\"\"\"\n", "a = {x = 1}\n", "a = [[1]]\n", "a = 1.5\n",
		"a = \"x\" b\n", "[t\n", "[[t]\n", "a\n", "= 1\n", "a = \n", "a = \"\\q\"\n", "a = \"\\ud800\"\n",
		"a = [1 2]\n", "a = [\"x\"", "a = 12345678901234567890\n", "a = \"\x01\"\n", "# \x01\n",
		"a = 1__0\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse(bad[i], &s);
		if (rc != REGISTRY_EFORMAT)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK_INT(rc, REGISTRY_EFORMAT);
		CHECK(strstr(registry_error_message(registry_error_last()), "t.conf:") != NULL);
	}
	CHECK_INT(registry__toml_parse("a = 1\0", 6, "t.conf", record, &s), REGISTRY_EFORMAT);
}

/* ---- registries.conf ------------------------------------------------------ */

static const char conf_text[] =
	"unqualified-search-registries = [\"docker.io\", \"quay.io\"]\n"
	"short-name-mode = \"enforcing\"\n"
	"[aliases]\n  \"fedora\" = \"registry.fedoraproject.org/fedora\"\n"
	"[[registry]]\nprefix = \"example.com/foo\"\nlocation = \"internal.example.com:5000/bar\"\n"
	"[[registry.mirror]]\nlocation = \"mirror.example.com/m\"\n"
	"[[registry.mirror]]\nlocation = \"digests.example.com\"\ninsecure = true\npull-from-mirror = \"digest-only\"\n"
	"[[registry]]\nlocation = \"example.com\"\nmirror-by-digest-only = true\n"
	"[[registry]]\nprefix = \"*.blocked.test\"\nblocked = true\n";

static void test_regconf_rules(void)
{
	registry__regconf conf = {0};
	CHECK_INT(registry__regconf_add_text(&conf, conf_text, strlen(conf_text), "r.conf"), 0);
	CHECK_INT(conf.nrules, 3);
	const registry__rule *r = registry__regconf_match(&conf, "example.com/foo/app");
	CHECK(r != NULL);
	if (r) {
		CHECK_STR(r->prefix, "example.com/foo");
		CHECK_INT(r->nmirrors, 2);
		CHECK_INT(r->mirrors[1].pull_from, REGISTRY__PULL_FROM_DIGEST_ONLY);
		CHECK_INT(r->mirrors[1].insecure, 1);
		CHECK_STR(r->origin, "r.conf:5");
		char *to = registry__regconf_rewrite(r, r->location, "example.com/foo/app");
		CHECK_STR(to, "internal.example.com:5000/bar/app");
		free(to);
	}
	/* Whole path components only; the host-level rule otherwise. */
	r = registry__regconf_match(&conf, "example.com/foobar/app");
	CHECK(r && strcmp(r->prefix, "example.com") == 0 && r->mirror_by_digest_only);
	r = registry__regconf_match(&conf, "Example.COM/x");
	CHECK(r && strcmp(r->prefix, "example.com") == 0);
	CHECK(registry__regconf_match(&conf, "example.community/x") == NULL);
	r = registry__regconf_match(&conf, "a.b.blocked.test/x");
	CHECK(r && r->blocked);
	CHECK(registry__regconf_match(&conf, "blocked.test/x") == NULL);

	/* A drop-in replaces the rule with the same prefix. */
	const char *dropin = "[[registry]]\nprefix = \"example.com\"\nblocked = true\n";
	CHECK_INT(registry__regconf_add_text(&conf, dropin, strlen(dropin), "d.conf"), 0);
	CHECK_INT(conf.nrules, 3);
	r = registry__regconf_match(&conf, "example.com/x");
	CHECK(r && r->blocked && !r->mirror_by_digest_only);
	registry__regconf_free(&conf);
}

static void test_regconf_refuses(void)
{
	static const char *const bad[] = {
		"[registry]\nprefix = \"a\"\n",                      /* not an array of tables */
		"[[registry.mirror]]\nlocation = \"m\"\n",          /* mirror outside a registry */
		"[[registry]]\ninsecure = true\n",                   /* neither prefix nor location */
		"[[registry]]\nprefix = 1\n",                        /* wrong type */
		"[[registry]]\nprefix = \"https://a\"\n",            /* a scheme */
		"[[registry]]\nprefix = \"a b\"\n",                  /* a blank */
		"[[registry]]\nprefix = \"a\"\nblocked = \"yes\"\n", /* not a boolean */
		"[[registry]]\nprefix = \"a\"\n[[registry.mirror]]\ninsecure = true\n", /* mirror without location */
		"[[registry]]\nprefix = \"a\"\n[[registry.mirror]]\nlocation = \"m\"\npull-from-mirror = \"some\"\n",
		"[[registry]]\nprefix = \"*~.example.com\"\n",            /* found by fuzzing */
		"[[registry]]\nprefix = \"a.*.test\"\n",                  /* a wildcard inside */
		"[[registry]]\nlocation = \"*.test\"\n",                  /* a wildcard location */
		"[[registry]]\nprefix = \"*.test\"\nlocation = \"b\"\n", /* a wildcard rewritten */
		"[[registry]]\nprefix = \"*.test/ns\"\n",                 /* a wildcard with a path */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		registry__regconf conf = {0};
		int rc = registry__regconf_add_text(&conf, bad[i], strlen(bad[i]), "bad.conf");
		if (rc != REGISTRY_EFORMAT)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK_INT(rc, REGISTRY_EFORMAT);
		CHECK(strstr(registry_error_message(registry_error_last()), "bad.conf") != NULL);
		registry__regconf_free(&conf);
	}
}

static void test_regconf_v1_and_daemon(void)
{
	registry__regconf conf = {0};
	const char *v1 = "[registries.search]\nregistries = ['docker.io']\n"
	                 "[registries.insecure]\nregistries = ['old.test:5000']\n"
	                 "[registries.block]\nregistries = ['evil.test']\n";
	CHECK_INT(registry__regconf_add_text(&conf, v1, strlen(v1), "v1.conf"), 0);
	const registry__rule *r = registry__regconf_match(&conf, "old.test:5000/a");
	CHECK(r && r->insecure && !r->blocked);
	r = registry__regconf_match(&conf, "evil.test/a/b");
	CHECK(r && r->blocked);
	const char *daemon = "{\"registry-mirrors\": [\"https://hub-mirror.test/\", \"http://plain.test:5000\"],"
	                     " \"insecure-registries\": [\"10.0.0.0/8\", \"dev.test:5000\"]}";
	CHECK_INT(registry__regconf_add_daemon_json(&conf, daemon, strlen(daemon), "daemon.json"), 0);
	r = registry__regconf_match(&conf, "docker.io/library/debian");
	CHECK(r && r->nmirrors == 2);
	if (r && r->nmirrors == 2) {
		CHECK_STR(r->mirrors[0].location, "hub-mirror.test");
		CHECK_INT(r->mirrors[0].insecure, 0);
		CHECK_STR(r->mirrors[1].location, "plain.test:5000");
		CHECK_INT(r->mirrors[1].insecure, 1);
	}
	r = registry__regconf_match(&conf, "dev.test:5000/x");
	CHECK(r && r->insecure);
	CHECK_INT(registry__regconf_add_daemon_json(&conf, "[1]", 3, "daemon.json"), REGISTRY_EFORMAT);
	registry__regconf_free(&conf);
}

/* ---- auth files ----------------------------------------------------------- */

static void test_creds_namespaced(void)
{
	registry__creds *c = calloc(1, sizeof(*c));
	c->refs = 1;
	/* "auth" is base64 of user:password. */
	const char *first = "{\"auths\": {"
	                    "\"reg.test:5000/org/app\": {\"auth\": \"YXBwOmFwcHB3\"},"
	                    "\"reg.test:5000/org\": {\"username\": \"org\", \"password\": \"orgpw\"},"
	                    "\"other.test\": {\"auth\": \"eDp5\"},"
	                    "\"reg.test:5000/empty\": {}}}";
	const char *second = "{\"auths\": {\"https://reg.test:5000/v1/\": {\"auth\": \"aG9zdDpob3N0cHc=\"},"
	                     "\"reg.test:5000/org/app/deeper\": {\"auth\": \"ZGVlcDpk\"}}}";
	CHECK_INT(registry__creds_add_file(c, first, strlen(first), "a.json", "reg.test:5000", 0), 0);
	CHECK_INT(registry__creds_add_file(c, second, strlen(second), "b.json", "reg.test:5000", 1), 0);
	CHECK_INT(c->n, 4);
	const registry__cred *x = registry__creds_pick(c, "org/app");
	CHECK(x && strcmp(x->username, "app") == 0 && strcmp(x->secret, "apppw") == 0);
	x = registry__creds_pick(c, "org/app2");
	CHECK(x && strcmp(x->username, "org") == 0);
	x = registry__creds_pick(c, "org/app/deeper");
	CHECK(x && strcmp(x->username, "app") == 0); /* an earlier file wins */
	x = registry__creds_pick(c, "elsewhere/img");
	CHECK(x && strcmp(x->username, "host") == 0);
	x = registry__creds_pick(c, NULL);
	CHECK(x && strcmp(x->username, "host") == 0);
	CHECK_INT(registry__creds_add_file(c, "{\"auths\": []}", 13, "bad.json", "reg.test:5000", 2),
	          REGISTRY_EFORMAT);
	CHECK_INT(registry__creds_add_file(c, "{\"auths\": {\"reg.test:5000\": {\"auth\": \"!!\"}}}", 44,
	                                   "bad.json", "reg.test:5000", 2), REGISTRY_EFORMAT);
	registry__creds_unref(c);
}

/* ---- certs.d -------------------------------------------------------------- */

static const char pem_cert[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
static const char pem_key[] = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";

static void test_certs_d(void)
{
	char root1[512], root2[512], p[600];
	path_of(root1, sizeof(root1), "certs1");
	path_of(root2, sizeof(root2), "certs2");
	mkdir(root1, 0700);
	mkdir(root2, 0700);
	snprintf(p, sizeof(p), "%s/reg.test:5000", root2);
	mkdir(p, 0700);
	write_file("certs2/reg.test:5000/b.crt", pem_cert);
	write_file("certs2/reg.test:5000/a.crt", pem_cert);
	write_file("certs2/reg.test:5000/client.cert", pem_cert);
	write_file("certs2/reg.test:5000/client.key", pem_key);
	write_file("certs2/reg.test:5000/README", "not a certificate");
	const char *roots[] = {root1, root2};
	registry__certs c;
	CHECK_INT(registry__certs_load(&c, roots, 2, "reg.test:5000"), 0);
	CHECK(c.dir && strstr(c.dir, "certs2/reg.test:5000"));
	CHECK(c.ca_pem && strlen(c.ca_pem) == 2 * (strlen(pem_cert) + 1));
	CHECK_STR(c.cert_pem, pem_cert);
	CHECK_STR(c.key_pem, pem_key);
	registry__certs_free(&c);
	/* Not there: nothing, no error. */
	CHECK_INT(registry__certs_load(&c, roots, 2, "none.test"), 0);
	CHECK(c.dir == NULL);
	/* The first root with the folder is used alone, even when it is empty. */
	snprintf(p, sizeof(p), "%s/reg.test:5000", root1);
	mkdir(p, 0700);
	CHECK_INT(registry__certs_load(&c, roots, 2, "reg.test:5000"), 0);
	CHECK(c.dir && strstr(c.dir, "certs1") && !c.ca_pem && !c.cert_pem);
	registry__certs_free(&c);
	/* A key without its certificate; a file that is not PEM. */
	write_file("certs1/reg.test:5000/lone.key", pem_key);
	CHECK_INT(registry__certs_load(&c, roots, 2, "reg.test:5000"), REGISTRY_EFORMAT);
	CHECK(strstr(registry_error_message(registry_error_last()), "lone.key") != NULL);
	snprintf(p, sizeof(p), "%s/reg.test:5000/lone.key", root1);
	unlink(p);
	write_file("certs1/reg.test:5000/junk.crt", "junk");
	CHECK_INT(registry__certs_load(&c, roots, 2, "reg.test:5000"), REGISTRY_EFORMAT);
	/* A FIFO is not read (it would block). */
	snprintf(p, sizeof(p), "%s/reg.test:5000/junk.crt", root1);
	unlink(p);
	mkfifo(p, 0600);
	CHECK_INT(registry__certs_load(&c, roots, 2, "reg.test:5000"), REGISTRY_EIO);
	unlink(p);
	CHECK_INT(registry__certs_load(&c, roots, 2, "../etc"), REGISTRY_EINVAL);
}

/* ---- the public call ---------------------------------------------------------- */

static void test_load_host_config(void)
{
	char auth[512], conf[512], certs[512], none[512], p[600];
	path_of(auth, sizeof(auth), "auth.json");
	path_of(conf, sizeof(conf), "registries.conf");
	path_of(certs, sizeof(certs), "certs3");
	path_of(none, sizeof(none), "missing");
	write_file("auth.json", "{\"auths\": {\"reg.test:5000/team\": {\"auth\": \"dGVhbTp0cHc=\"},"
	                        "\"reg.test:5000\": {\"auth\": \"aG9zdDpocHc=\"}}}");
	write_file("registries.conf", "[[registry]]\nlocation = \"reg.test:5000\"\ninsecure = true\n");
	mkdir(certs, 0700);
	snprintf(p, sizeof(p), "%s/reg.test:5000", certs);
	mkdir(p, 0700);
	write_file("certs3/reg.test:5000/ca.crt", pem_cert);
	const char *auth_files[] = {auth, NULL};
	const char *certs_dirs[] = {certs, NULL};
	registry_host_config_options o;
	CHECK_INT(registry_host_config_options_init(&o), 0);
	o.auth_files = auth_files;
	o.certs_dirs = certs_dirs;
	o.registries_conf = conf;
	o.docker_daemon_json = none;

	registry_client *c = NULL;
	CHECK_INT(registry_client_new(&c, "reg.test:5000"), 0);
	CHECK_INT(registry_client_load_host_config(c, &o), 0);
	CHECK_STR(c->username, "host");
	CHECK(c->ca_pem && strncmp(c->ca_pem, pem_cert, strlen(pem_cert)) == 0);
	CHECK_INT(c->insecure, REGISTRY_INSECURE_ALLOW_HTTP | REGISTRY_INSECURE_NO_VERIFY);
	CHECK_INT(registry__client_pick_credentials(c, "repository:team/app:pull"), 0);
	CHECK_STR(c->username, "team");
	CHECK_STR(c->password, "tpw");
	CHECK_INT(registry__client_pick_credentials(c, "repository:solo:pull"), 0);
	CHECK_STR(c->username, "host");
	/* No entry at all for a repository: anonymous, not the last one's. */
	registry__creds *only_team = calloc(1, sizeof(*only_team));
	only_team->refs = 1;
	const char *team = "{\"auths\": {\"reg.test:5000/team\": {\"auth\": \"dGVhbTp0cHc=\"}}}";
	CHECK_INT(registry__creds_add_file(only_team, team, strlen(team), "t.json", "reg.test:5000", 0), 0);
	registry__creds_unref(c->creds);
	c->creds = only_team;
	c->cred_picked = NULL;
	registry__free_secret(c->username);
	registry__free_secret(c->password);
	c->username = c->password = NULL;
	CHECK_INT(registry__client_pick_credentials(c, "repository:team/app:pull"), 0);
	CHECK_STR(c->username, "team");
	CHECK_INT(registry__client_pick_credentials(c, "repository:solo:pull"), 0);
	CHECK(c->username == NULL && c->password == NULL && c->cred_picked == NULL);
	CHECK_INT(registry__client_pick_credentials(c, "repository:team/x:pull"), 0);
	CHECK_STR(c->username, "team");
	/* A clone shares them. */
	registry_client *d = NULL;
	CHECK_INT(registry__client_clone(&d, c), 0);
	CHECK_INT(registry__client_pick_credentials(d, "repository:team/x:pull,push"), 0);
	CHECK_STR(d->username, "team");
	registry_client_free(d);
	/* The caller's credentials win for good. */
	CHECK_INT(registry_client_set_credentials(c, "me", "pw"), 0);
	CHECK_INT(registry__client_pick_credentials(c, "repository:team/app:pull"), 0);
	CHECK_STR(c->username, "me");
	registry_client_free(c);

	/* Flags turn sources off; explicit TLS material wins over certs.d. */
	CHECK_INT(registry_client_new(&c, "reg.test:5000"), 0);
	registry_tls_options tls = REGISTRY_TLS_OPTIONS_INIT;
	tls.ca_pem = "-----BEGIN CERTIFICATE-----\nMINE\n-----END CERTIFICATE-----\n";
	CHECK_INT(registry_client_set_tls(c, &tls), 0);
	o.flags = REGISTRY_HOST_CONFIG_NO_AUTH | REGISTRY_HOST_CONFIG_NO_REGISTRIES_CONF;
	CHECK_INT(registry_client_load_host_config(c, &o), 0);
	CHECK(c->username == NULL && c->insecure == 0 && strstr(c->ca_pem, "MINE"));
	registry_client_free(c);

	/* Bad options and a malformed file: nothing applied. */
	CHECK_INT(registry_client_new(&c, "reg.test:5000"), 0);
	o.flags = 0x100;
	CHECK_INT(registry_client_load_host_config(c, &o), REGISTRY_EINVAL);
	o.flags = 0;
	o.version = 2;
	CHECK_INT(registry_client_load_host_config(c, &o), REGISTRY_EINVAL);
	o.version = REGISTRY_HOST_CONFIG_OPTIONS_VERSION;
	write_file("registries.conf", "[[registry]\n");
	CHECK_INT(registry_client_load_host_config(c, &o), REGISTRY_EFORMAT);
	CHECK(strstr(registry_error_message(registry_error_last()), "registries.conf:1") != NULL);
	CHECK(c->hostcfg == NULL && c->username == NULL && c->ca_pem == NULL);
	CHECK_INT(registry_client_load_host_config(NULL, &o), REGISTRY_EINVAL);
	CHECK_INT(registry_host_config_options_init(NULL), REGISTRY_EINVAL);
	registry_client_free(c);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/unit-hostconfig-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	RUN(test_toml_subset);
	RUN(test_toml_refuses);
	RUN(test_regconf_rules);
	RUN(test_regconf_refuses);
	RUN(test_regconf_v1_and_daemon);
	RUN(test_creds_namespaced);
	RUN(test_certs_d);
	RUN(test_load_host_config);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return CHECK_DONE();
}

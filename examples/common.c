/* Option parsing, client setup and a progress display for the examples. */
#include "common.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char common_help[] =
	"COMMON OPTIONS\n"
	"    --username USER     log in as USER (needs --password-stdin)\n"
	"    --password-stdin    read the password (or token) from standard input\n"
	"    --insecure          the registry may use plain HTTP or an unverified\n"
	"                        certificate (as Docker's insecure-registries)\n"
	"    --ca FILE           trust the CA certificates in FILE (PEM)\n"
	"    --cert FILE         present this client certificate (PEM; with --key)\n"
	"    --key FILE          the client certificate's private key (PEM)\n"
	"    --no-host-config    read none of the host's registry configuration\n"
	"                        (certs.d, auth files, registries.conf, daemon.json)\n"
	"    --certs-dir DIR     per-registry certs.d folders are under DIR\n"
	"    --authfile FILE     the auth file (instead of the containers-auth.json\n"
	"                        and Docker config search order)\n"
	"    --registries-conf FILE\n"
	"                        this registries.conf alone (mirrors, blocked,\n"
	"                        insecure, location)\n"
	"    --header LINE       send LINE ('Name: value') to the registry (not to\n"
	"                        its token server or redirects); repeatable\n"
	"    --platform OS[(OS.VERSION)]/ARCH[/VARIANT]\n"
	"                        the platform to pick from a multi-platform image\n"
	"                        (default: this machine's)\n"
	"    --jobs N            transfers at once, 1-8 (default 4)\n"
	"    --quiet             print only results, no progress\n"
	"    --json              print the result as one JSON object (with digests)\n"
	"                        on standard output, instead of text\n"
	"    --help              show this text\n"
	"\n"
	"HOST CONFIGURATION\n"
	"    As skopeo and podman: TLS material from certs.d\n"
	"    ($XDG_CONFIG_HOME/containers/certs.d, /etc/containers/certs.d,\n"
	"    /etc/docker/certs.d: HOST:PORT/*.crt CAs, NAME.cert + NAME.key);\n"
	"    registries.conf ($CONTAINERS_REGISTRIES_CONF, else\n"
	"    /etc/containers/registries.conf and registries.conf.d/*.conf):\n"
	"    a blocked registry fails, pulls try the mirrors first; Docker's\n"
	"    /etc/docker/daemon.json registry-mirrors and insecure-registries.\n"
	"    See docs/host-config.md.\n"
	"\n"
	"CREDENTIALS\n"
	"    Without --username, credentials come from the auth files in order:\n"
	"    $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,\n"
	"    $XDG_CONFIG_HOME/containers/auth.json, then Docker's config file\n"
	"    ($DOCKER_CONFIG/config.json or ~/.docker/config.json: auths,\n"
	"    credsStore, credHelpers); the longest key (host/org/repo, host/org,\n"
	"    host) for the repository wins; no entry means anonymous access.\n"
	"\n"
	"EXIT STATUS\n"
	"    0 success; 1 failure (the library's message is printed on stderr);\n"
	"    2 usage error. On SIGINT, SIGTERM, SIGHUP or SIGPIPE the running\n"
	"    transfer is canceled, what it half-wrote removed, and the program\n"
	"    dies of that signal.\n";

static void print_help(const ex_program *p)
{
	printf("NAME\n    %s - %s\n\nSYNOPSIS\n", p->name, p->summary);
	for (const char *s = p->synopsis; *s;) {
		size_t n = strcspn(s, "\n");
		printf("    %s [OPTIONS] %.*s\n", p->name, (int)n, s);
		s += n + (s[n] == '\n');
	}
	printf("\n%s\n%s", p->help, common_help);
}

int ex_usage_error(const ex_program *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", p->name);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", p->name);
	return EX_USAGE;
}

/* ---- signals ------------------------------------------------------------------ */

static volatile sig_atomic_t caught_signal;

static void note_signal(int sig)
{
	if (!caught_signal)
		caught_signal = sig;
}

static void install_signal_handlers(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
	static int installed;
	if (installed)
		return;
	installed = 1;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = note_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART; /* the operation ends by its cancel hook, not by EINTR */
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* The client's cancel hook: a caught signal stops the running call. */
static int signal_cancel(void *userdata)
{
	(void)userdata;
	return caught_signal != 0;
}

int ex_exit(int rc)
{
	int sig = caught_signal;
	if (!sig)
		return rc;
	fflush(stdout);
	signal(sig, SIG_DFL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	return 128 + sig; /* not reached */
}

/* The code point of the UTF-8 sequence at @s when a terminal acts on it
 * (DEL, C1, U+2028/2029, bidi overrides and isolates), with its length in *n;
 * else 0. */
static unsigned terminal_control(const unsigned char *s, size_t *n)
{
	if (s[0] == 0x7f) {
		*n = 1;
		return 0x7f;
	}
	if (s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f) {
		*n = 2;
		return s[1];
	}
	if (s[0] == 0xe2 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80) {
		unsigned cp = 0x2000u | (unsigned)(s[1] & 0x3f) << 6 | (unsigned)(s[2] & 0x3f);
		if ((cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) {
			*n = 3;
			return cp;
		}
	}
	return 0;
}

/* JSON text as is, but for what terminal_control() finds. */
static void put_json_text(const char *json)
{
	const unsigned char *s = (const unsigned char *)json;
	while (*s) {
		size_t n = 0;
		unsigned cp = terminal_control(s, &n);
		if (cp) {
			printf("\\u%04x", cp);
			s += n;
		} else {
			putchar(*s++);
		}
	}
}

void ex_put_json(const char *json)
{
	put_json_text(json);
	putchar('\n');
}

/* ---- --json output -------------------------------------------------------------- */

/* A comma is due before the next member or element. */
static int json_comma;

/* @s as a JSON string: quotes, backslashes and C0 controls escaped as JSON
 * wants, and what a terminal would act on (see ex_put_json) as \uNNNN, since
 * tags, names and messages come from the registry. */
static void json_string(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	putchar('"');
	while (*u) {
		size_t n = 0;
		unsigned cp = terminal_control(u, &n);
		if (cp) {
			printf("\\u%04x", cp);
			u += n;
		} else if (*u == '"' || *u == '\\') {
			printf("\\%c", *u++);
		} else if (*u < 0x20) {
			printf("\\u%04x", *u++);
		} else {
			putchar(*u++);
		}
	}
	putchar('"');
}

static void json_key(const char *key)
{
	if (json_comma)
		putchar(',');
	json_comma = 1;
	if (key) {
		json_string(key);
		putchar(':');
	}
}

void ex_json_open(void)
{
	putchar('{');
	json_comma = 0;
}

void ex_json_str(const char *key, const char *value)
{
	json_key(key);
	if (value)
		json_string(value);
	else
		fputs("null", stdout);
}

void ex_json_int(const char *key, long long value)
{
	json_key(key);
	printf("%lld", value);
}

void ex_json_raw(const char *key, const char *json)
{
	json_key(key);
	put_json_text(json);
}

void ex_json_array_open(const char *key)
{
	json_key(key);
	putchar('[');
	json_comma = 0;
}

void ex_json_array_close(void)
{
	putchar(']');
	json_comma = 1;
}

void ex_json_close(void)
{
	puts("}");
	fflush(stdout);
}

int ex_fail(const ex_program *p, const char *what)
{
	if (caught_signal) {
		fprintf(stderr, "%s: %s: interrupted by signal %d (%s)\n", p->name, what, (int)caught_signal,
		        strsignal(caught_signal));
		return 128 + caught_signal;
	}
	const registry_error *e = registry_error_last();
	const char *msg = registry_error_message(e);
	fprintf(stderr, "%s: %s: %s\n", p->name, what,
	        *msg ? msg : registry_strerror(registry_error_code(e)));
	return EX_FAIL;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

static char *read_password(void)
{
	char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf) - 1, stdin);
	if (ferror(stdin) || (n == sizeof(buf) - 1 && !feof(stdin)))
		return NULL;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	char *pw = strdup(buf);
	memset(buf, 0, sizeof(buf));
	return pw;
}

/* The value of option @name: "--name=value" or "--name value". */
static int option_value(const ex_program *p, int argc, char **argv, int *i, const char *name,
                        const char **value)
{
	const char *eq = strchr(argv[*i], '=');
	if (eq) {
		*value = eq + 1;
		return 0;
	}
	if (*i + 1 >= argc)
		return ex_usage_error(p, "option %s needs a value", name);
	*value = argv[++*i];
	return 0;
}

static int option_is(const char *arg, const char *name)
{
	size_t n = strlen(name);
	return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

static int own_option(const ex_program *p, int argc, char **argv, int *i, int *handled)
{
	*handled = 0;
	for (const ex_flag *f = p->flags; f && f->name; f++) {
		if (!option_is(argv[*i], f->name))
			continue;
		*handled = 1;
		if (!f->arg) {
			if (strchr(argv[*i], '='))
				return ex_usage_error(p, "option %s takes no value", f->name);
			*f->set = 1;
			return 0;
		}
		if (!f->set)
			return option_value(p, argc, argv, i, f->name, f->value);
		if (*f->set >= EX_REPEAT_MAX)
			return ex_usage_error(p, "at most %d %s options", EX_REPEAT_MAX, f->name);
		return option_value(p, argc, argv, i, f->name, &f->value[(*f->set)++]);
	}
	return 0;
}

static int parse_args(const ex_program *p, int argc, char **argv, ex_common *c, char **args, int *nargs)
{
	memset(c, 0, sizeof(*c));
	*nargs = 0;
	int only_args = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		int handled = 0, rc = 0;
		if (only_args || a[0] != '-' || strcmp(a, "-") == 0) {
			if (*nargs >= p->max_args)
				return ex_usage_error(p, "unexpected argument '%s'", a);
			args[(*nargs)++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_args = 1;
		} else if ((rc = own_option(p, argc, argv, &i, &handled)) != 0 || handled) {
			/* The program's own options come first: registry-sign's --key is
			 * its signing key, not the common client-certificate key. */
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			print_help(p);
			exit(EX_OK);
		} else if (option_is(a, "--username")) {
			rc = option_value(p, argc, argv, &i, "--username", &c->username);
		} else if (strcmp(a, "--password-stdin") == 0) {
			c->password_stdin = 1;
		} else if (strcmp(a, "--insecure") == 0) {
			c->insecure = 1;
		} else if (option_is(a, "--ca")) {
			rc = option_value(p, argc, argv, &i, "--ca", &c->ca);
		} else if (option_is(a, "--cert")) {
			rc = option_value(p, argc, argv, &i, "--cert", &c->cert);
		} else if (option_is(a, "--key")) {
			rc = option_value(p, argc, argv, &i, "--key", &c->key);
		} else if (strcmp(a, "--no-host-config") == 0) {
			c->no_host_config = 1;
		} else if (option_is(a, "--certs-dir")) {
			rc = option_value(p, argc, argv, &i, "--certs-dir", &c->certs_dir);
		} else if (option_is(a, "--authfile")) {
			rc = option_value(p, argc, argv, &i, "--authfile", &c->authfile);
		} else if (option_is(a, "--registries-conf")) {
			rc = option_value(p, argc, argv, &i, "--registries-conf", &c->registries_conf);
		} else if (option_is(a, "--header")) {
			rc = option_value(p, argc, argv, &i, "--header", &v);
			if (!rc && c->nheaders == (int)(sizeof(c->headers) / sizeof(c->headers[0])))
				rc = ex_usage_error(p, "at most %d --header options", c->nheaders);
			else if (!rc)
				c->headers[c->nheaders++] = v;
		} else if (option_is(a, "--platform")) {
			rc = option_value(p, argc, argv, &i, "--platform", &v);
			registry_platform_free(c->platform);
			c->platform = NULL;
			if (!rc && registry_platform_parse(&c->platform, v) != 0)
				rc = ex_usage_error(p, "--platform wants OS[(OS.VERSION)]/ARCH[/VARIANT]: %s",
				                    registry_error_message(registry_error_last()));
		} else if (option_is(a, "--jobs")) {
			rc = option_value(p, argc, argv, &i, "--jobs", &v);
			if (!rc && parse_int(v, 1, REGISTRY_MAX_PARALLEL, &c->jobs) != 0)
				rc = ex_usage_error(p, "--jobs wants a number from 1 to %d, not '%s'",
				                    REGISTRY_MAX_PARALLEL, v);
		} else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
			c->quiet = 1;
		} else if (strcmp(a, "--json") == 0) {
			c->json = 1;
		} else {
			rc = ex_usage_error(p, "unknown option '%s'", a);
		}
		if (rc)
			return rc;
	}
	if (*nargs < p->min_args)
		return ex_usage_error(p, "missing argument: %s", p->synopsis);
	if (!c->cert != !c->key)
		return ex_usage_error(p, "--cert and --key go together");
	if (c->no_host_config && (c->certs_dir || c->authfile || c->registries_conf))
		return ex_usage_error(p, "--no-host-config with --certs-dir, --authfile or --registries-conf");
	if (c->password_stdin && !c->username)
		return ex_usage_error(p, "--password-stdin needs --username");
	if (c->username && !c->password_stdin)
		return ex_usage_error(p, "--username needs --password-stdin");
	if (c->password_stdin && !(c->password = read_password())) {
		fprintf(stderr, "%s: cannot read the password from standard input\n", p->name);
		return EX_FAIL;
	}
	return EX_OK;
}

/* The parsed --platform is allocated: a usage error frees it here. */
int ex_parse(const ex_program *p, int argc, char **argv, ex_common *c, char **args, int *nargs)
{
	int rc = parse_args(p, argc, argv, c, args, nargs);
	if (rc)
		ex_common_free(c);
	return rc;
}

void ex_common_free(ex_common *c)
{
	registry_platform_free(c->platform);
	c->platform = NULL;
	if (c->password) {
		memset(c->password, 0, strlen(c->password));
		free(c->password);
		c->password = NULL;
	}
}

int ex_reference(const ex_program *p, const char *text, registry_reference **out)
{
	if (registry_reference_parse(out, text) != 0)
		return ex_usage_error(p, "'%s' is not an image reference: %s", text,
		                      registry_error_message(registry_error_last()));
	return EX_OK;
}

int ex_load_host_config(const ex_common *c, registry_client *client)
{
	registry_host_config_options o = REGISTRY_HOST_CONFIG_OPTIONS_INIT;
	const char *certs[] = {c->certs_dir, NULL};
	const char *auth[] = {c->authfile, NULL};
	if (c->certs_dir)
		o.certs_dirs = certs;
	if (c->authfile)
		o.auth_files = auth;
	o.registries_conf = c->registries_conf;
	return registry_client_load_host_config(client, &o);
}

int ex_client(const ex_program *p, const ex_common *c, const registry_reference *ref,
              registry_client **out)
{
	return ex_client_host(p, c, registry_reference_api_host(ref), out);
}

int ex_client_host(const ex_program *p, const ex_common *c, const char *host, registry_client **out)
{
	registry_client *client = NULL;
	install_signal_handlers();
	int rc = registry_client_new(&client, host);
	if (!rc)
		rc = registry_client_set_cancel(client, signal_cancel, NULL);
	if (!rc && c->insecure)
		rc = registry_client_set_insecure(client, REGISTRY_INSECURE_ALLOW_HTTP | REGISTRY_INSECURE_NO_VERIFY);
	if (!rc && (c->ca || c->cert)) {
		registry_tls_options tls = REGISTRY_TLS_OPTIONS_INIT;
		tls.ca_file = c->ca;
		tls.cert_file = c->cert;
		tls.key_file = c->key;
		rc = registry_client_set_tls(client, &tls);
	}
	for (int i = 0; !rc && i < c->nheaders; i++)
		rc = registry_client_add_header(client, c->headers[i]);
	if (!rc && c->jobs)
		rc = registry_client_set_max_parallel(client, c->jobs);
	if (!rc && c->username) {
		rc = registry_client_set_credentials(client, c->username, c->password);
	} else if (!rc && c->no_host_config) {
		rc = registry_client_load_docker_config(client, NULL);
		if (rc == REGISTRY_ENOTFOUND)
			rc = 0;
	}
	/* After the explicit settings: they win over what the files say. */
	if (!rc && !c->no_host_config)
		rc = ex_load_host_config(c, client);
	if (rc) {
		registry_client_free(client);
		return ex_fail(p, host);
	}
	*out = client;
	return EX_OK;
}

/* ---- progress ---------------------------------------------------------------- */

static void human(char *buf, size_t size, int64_t bytes)
{
	if (bytes < 0)
		snprintf(buf, size, "?");
	else if (bytes < 1024)
		snprintf(buf, size, "%lld B", (long long)bytes);
	else if (bytes < 1024 * 1024)
		snprintf(buf, size, "%.1f KiB", (double)bytes / 1024);
	else if (bytes < 1024LL * 1024 * 1024)
		snprintf(buf, size, "%.1f MiB", (double)bytes / (1024 * 1024));
	else
		snprintf(buf, size, "%.2f GiB", (double)bytes / (1024.0 * 1024 * 1024));
}

void ex_progress_init(ex_progress *pr, const char *verb)
{
	pr->tty = isatty(STDERR_FILENO);
	pr->drawn = 0;
	pr->verb = verb;
}

static void draw_bar(ex_progress *pr, const registry_progress *p)
{
	int64_t done = registry_progress_overall_done(p), total = registry_progress_overall_total(p);
	char d[32], t[32], bar[33];
	human(d, sizeof(d), done);
	human(t, sizeof(t), total);
	int fill = total > 0 ? (int)(done * 32 / total) : 0;
	if (fill > 32)
		fill = 32;
	for (int i = 0; i < 32; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[32] = '\0';
	fprintf(stderr, "\r\033[K[%s] %zu/%zu blobs  %s / %s", bar, registry_progress_blobs_done(p),
	        registry_progress_blobs_total(p), d, t);
	fflush(stderr);
	pr->drawn = 1;
}

int ex_progress_cb(const registry_progress *p, void *userdata)
{
	ex_progress *pr = userdata;
	if (caught_signal)
		return 1; /* cancel: the call cleans up and returns */
	int state = registry_progress_state(p);
	if (state == REGISTRY_PROGRESS_DONE || state == REGISTRY_PROGRESS_SKIPPED ||
	    state == REGISTRY_PROGRESS_FAILED) {
		const char *what = state == REGISTRY_PROGRESS_DONE      ? pr->verb
		                   : state == REGISTRY_PROGRESS_SKIPPED ? "present"
		                                                        : "FAILED";
		char size[32];
		human(size, sizeof(size), registry_progress_bytes_total(p));
		if (pr->tty && pr->drawn)
			fprintf(stderr, "\r\033[K");
		fprintf(stderr, "%-8s %.19s  %s\n", what, registry_progress_digest(p), size);
		pr->drawn = 0;
	}
	if (pr->tty)
		draw_bar(pr, p);
	return 0;
}

void ex_progress_end(ex_progress *pr)
{
	if (pr->tty && pr->drawn)
		fputc('\n', stderr);
	pr->drawn = 0;
}

int ex_manifest_digest(const ex_program *p, registry_client *client, const registry_reference *ref, char *buf,
                       size_t size)
{
	const char *digest = registry_reference_digest(ref);
	if (digest) {
		snprintf(buf, size, "%s", digest);
		return EX_OK;
	}
	registry_manifest *m = NULL;
	const char *tag = registry_reference_tag(ref);
	if (registry_manifest_fetch(&m, client, registry_reference_repository(ref), tag ? tag : "latest", NULL) != 0)
		return ex_fail(p, registry_reference_string(ref));
	snprintf(buf, size, "%s", registry_manifest_digest(m));
	registry_manifest_free(m);
	return EX_OK;
}
int ex_policy(const ex_program *p, const char *path, registry_policy **out)
{
	*out = NULL;
	if (path && registry_policy_load(out, path, NULL) != 0)
		return ex_fail(p, path);
	return EX_OK;
}

void ex_report(const ex_common *c, const char *verb, const char *ref, const char *digest)
{
	if (!c->json) {
		printf("%s %s %s\n", verb, ref, digest);
		return;
	}
	ex_json_open();
	ex_json_str(verb, ref);
	ex_json_str("digest", digest);
	ex_json_close();
}

int ex_pick_image(const ex_program *p, registry_store *store, const char *name, char **ref_name)
{
	if (name) {
		*ref_name = strdup(name);
		return *ref_name ? EX_OK : EX_FAIL;
	}
	size_t n = registry_store_index_count(store);
	if (n != 1) {
		fprintf(stderr, "%s: %s holds %zu images; name one as DIR:NAME\n", p->name,
		        registry_store_path(store), n);
		return EX_FAIL;
	}
	const registry_descriptor *d = registry_store_index_entry(store, 0);
	const char *rn = registry_descriptor_annotation(d, REGISTRY_STORE_REF_NAME_ANNOTATION);
	*ref_name = strdup(rn ? rn : registry_descriptor_digest(d));
	return *ref_name ? EX_OK : EX_FAIL;
}

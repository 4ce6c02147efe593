/*
 * Shared by the example programs: option parsing, client setup from the
 * common options, error reporting and a progress display. Nothing here
 * belongs in the library; it only uses the public API.
 */
#ifndef EXAMPLES_COMMON_H
#define EXAMPLES_COMMON_H

#include <registry/registry.h>

/* Exit statuses of every program. */
enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE = 2 };

/* A program's own option: a switch (arg NULL, sets *set) or one with a value.
 * A value option with @set too may repeat: @value is then an array of
 * EX_REPEAT_MAX values and *set counts them. */
typedef struct ex_flag {
	const char *name;    /* "--raw" */
	const char *arg;     /* metavar ("TYPE") or NULL for a switch */
	const char **value;  /* receives the value */
	int *set;            /* receives 1 (switch), or counts a repeated value */
} ex_flag;

/* At most this many values of a repeated option. */
#define EX_REPEAT_MAX 64

typedef struct ex_program {
	const char *name;     /* "registry-tags" */
	const char *summary;  /* "list the tags of a repository" */
	const char *synopsis; /* "REFERENCE", may hold several lines */
	const char *help;     /* the rest of the --help text: DESCRIPTION, OPTIONS, EXAMPLES */
	int min_args, max_args;
	const ex_flag *flags; /* terminated by {NULL} */
} ex_program;

/* The options every program takes. */
typedef struct ex_common {
	const char *username;
	int password_stdin;
	char *password; /* read from stdin */
	int insecure;
	const char *ca;
	const char *cert, *key;      /* --cert, --key: a client certificate pair */
	int no_host_config;          /* --no-host-config */
	const char *certs_dir;       /* --certs-dir: the certs.d root */
	const char *authfile;        /* --authfile */
	const char *registries_conf; /* --registries-conf */
	const char *headers[16]; /* --header lines */
	int nheaders;
	registry_platform *platform; /* --platform, parsed; freed by ex_common_free */
	int jobs;
	int quiet;
	int json; /* --json: the result as one JSON object on stdout */
} ex_common;

/*
 * Parse the command line into @c and the positional arguments (at most
 * max_args; @args must hold that many). Returns EX_OK; prints the help and
 * exits 0 for --help; prints a usage error and returns EX_USAGE.
 */
int ex_parse(const ex_program *p, int argc, char **argv, ex_common *c, char **args, int *nargs);
void ex_common_free(ex_common *c);

/* Print "NAME: message" plus a hint to stderr; returns EX_USAGE. */
int ex_usage_error(const ex_program *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Print "NAME: WHAT: <library's last error message>" to stderr; returns
 * EX_FAIL. After a signal (see ex_client) it says so and returns 128 + the
 * signal's number.
 */
int ex_fail(const ex_program *p, const char *what);

/*
 * The end of main: after SIGINT, SIGTERM, SIGHUP or SIGPIPE, die of the
 * same signal (with its default action restored), as a shell expects of an
 * interrupted command; else return @rc.
 */
int ex_exit(int rc);

/*
 * Print JSON text from the library (a manifest's normalized JSON) and a
 * newline to stdout, with what a terminal would act on escaped as \uNNNN:
 * cJSON escapes C0 controls, but DEL, C1 controls (CSI is U+009B), line
 * separators and bidi overrides in an image author's strings (annotations,
 * history) would reach the terminal raw. The JSON means the same.
 */
void ex_put_json(const char *json);

/*
 * --json output: one object on one line of stdout, members added in order.
 * Strings are escaped for JSON and for terminals (as ex_put_json); a NULL
 * value is null. ex_json_raw adds JSON text the library made (a manifest),
 * escaped for terminals as ex_put_json does. Keys inside an array are NULL.
 */
void ex_json_open(void);
void ex_json_str(const char *key, const char *value);
void ex_json_int(const char *key, long long value);
void ex_json_raw(const char *key, const char *json);
void ex_json_array_open(const char *key);
void ex_json_array_close(void);
void ex_json_close(void);

/* Parse a reference; on failure print why and return EX_USAGE. */
int ex_reference(const ex_program *p, const char *text, registry_reference **out);

/* The result of an operation on one image: "VERB REFERENCE DIGEST", or with
 * --json {"VERB": REFERENCE, "digest": DIGEST}. */
void ex_report(const ex_common *c, const char *verb, const char *ref, const char *digest);

/* Load the policy FILE of --policy into *out (NULL when @path is NULL);
 * EX_OK, or EX_FAIL with the library's message. */
int ex_policy(const ex_program *p, const char *path, registry_policy **out);

/*
 * A client for @ref's registry (registry_reference_api_host()) set up from
 * the common options: --insecure, --ca, --cert/--key, --jobs, credentials
 * from --username/--password-stdin, then the host configuration
 * (certs.d, auth files, registries.conf, daemon.json; --certs-dir,
 * --authfile, --registries-conf override sources) unless
 * --no-host-config, which reads Docker's config file alone as before.
 * Explicit options win over the host configuration. Returns EX_OK or
 * EX_FAIL (message printed).
 *
 * The library installs no signal handlers. The first call installs the
 * programs' own for SIGINT, SIGTERM, SIGHUP and SIGPIPE: they only note the
 * signal, which the client's cancel hook (and ex_progress_cb) then report,
 * so the running call returns REGISTRY_ECANCELED after removing what it
 * had half-written (a pull's temporary folder, a partial tarball); main
 * ends with ex_exit().
 */
int ex_client(const ex_program *p, const ex_common *c, const registry_reference *ref,
              registry_client **out);

/*
 * The digest of the manifest @ref names: its own digest, else its tag's
 * manifest's (fetched, verified). Into @buf; EX_OK or EX_FAIL (printed).
 */
int ex_manifest_digest(const ex_program *p, registry_client *client, const registry_reference *ref, char *buf,
                       size_t size);
/* ex_client() for a registry named by @host ("host[:port]"). */
int ex_client_host(const ex_program *p, const ex_common *c, const char *host, registry_client **out);

/* registry_client_load_host_config() with the sources the common options
 * name (--certs-dir, --authfile, --registries-conf). */
int ex_load_host_config(const ex_common *c, registry_client *client);

/*
 * The image of an OCI layout a program works on: @name (copied) when
 * given, else the only image of @store (its ref name, or its digest);
 * several images print a hint and return EX_FAIL. *ref_name: free().
 */
int ex_pick_image(const ex_program *p, registry_store *store, const char *name, char **ref_name);

/* Progress on stderr: bars on a terminal, else one line per finished blob. */
typedef struct ex_progress {
	int tty;
	int drawn; /* a bar line is on screen */
	const char *verb; /* "pulled", "pushed", "copied" */
} ex_progress;

void ex_progress_init(ex_progress *pr, const char *verb);
/* The registry_progress_cb; userdata is an ex_progress. */
int ex_progress_cb(const registry_progress *p, void *userdata);
/* Leave the terminal tidy after the operation. */
void ex_progress_end(ex_progress *pr);

#endif

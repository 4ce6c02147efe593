/*
 * The host's registry configuration as plain settings (the "config" layer
 * of DESIGN.md, below transport): registries.conf rules and Docker's
 * daemon.json, certs.d folders, auth files. Reading only: nothing here
 * knows about HTTP or clients; lib/transport/hostconfig.c applies it.
 * Every file is hostile input: bounded in size, refused when malformed.
 */
#ifndef REGISTRY_HOSTCONFIG_INTERNAL_H
#define REGISTRY_HOSTCONFIG_INTERNAL_H

#include <stddef.h>

#include "internal.h"

/* Bounds: one config file, the rules and mirrors of all files together. */
#define REGISTRY__HOSTCONF_FILE_MAX ((size_t)1 << 20)
#define REGISTRY__HOSTCONF_RULES_MAX 1024
#define REGISTRY__HOSTCONF_MIRRORS_MAX 64
#define REGISTRY__HOSTCONF_DROPINS_MAX 256

/* registry.mirror pull-from-mirror values. */
enum registry__pull_from {
	REGISTRY__PULL_FROM_ALL = 0,
	REGISTRY__PULL_FROM_DIGEST_ONLY = 1,
	REGISTRY__PULL_FROM_TAG_ONLY = 2
};

typedef struct registry__mirror {
	char *location; /* host[:port][/path] */
	int insecure;
	int pull_from; /* enum registry__pull_from */
} registry__mirror;

/* One [[registry]] table (or what daemon.json and the v1 format say). */
typedef struct registry__rule {
	char *prefix;   /* host[:port][/path], or *.domain */
	char *location; /* host[:port][/path]; the prefix when not given */
	int insecure;
	int blocked;
	int mirror_by_digest_only;
	registry__mirror *mirrors;
	size_t nmirrors;
	char *origin; /* "FILE:LINE" of the rule, for messages */
} registry__rule;

typedef struct registry__regconf {
	registry__rule *rules;
	size_t nrules;
} registry__regconf;

void registry__regconf_free(registry__regconf *rc);
/* Apply one registries.conf text (v2, or v1's [registries.insecure] and
 * [registries.block]): a [[registry]] with the prefix of an earlier one
 * replaces it, as drop-in files do. @name for messages. 0, EFORMAT,
 * ETOOLARGE, ENOMEM, recorded. */
int registry__regconf_add_text(registry__regconf *conf, const char *text, size_t len, const char *name);
/* Apply Docker's daemon.json: registry-mirrors (for docker.io) and
 * insecure-registries (host[:port] entries; CIDR ranges are skipped). */
int registry__regconf_add_daemon_json(registry__regconf *conf, const char *text, size_t len, const char *name);
/* The rule whose prefix matches @name ("host[:port]/repo/path") longest, or
 * NULL. A prefix matches the whole name or ends at a '/' of it; "*.domain"
 * matches the hosts below domain. */
const registry__rule *registry__regconf_match(const registry__regconf *conf, const char *name);
/* @name with the rule's prefix replaced by @location (a wildcard prefix
 * is not rewritten): allocated, or NULL when out of memory. */
char *registry__regconf_rewrite(const registry__rule *r, const char *location, const char *name);

/* A certs.d folder's TLS material for one host. */
typedef struct registry__certs {
	char *ca_pem;   /* every *.crt, concatenated; NULL when none */
	char *cert_pem; /* the first NAME.cert (by name) with its NAME.key */
	char *key_pem;  /* secret */
	char *dir;      /* the folder used */
} registry__certs;

void registry__certs_free(registry__certs *c);
/* Look for HOST[:PORT] in each of the @ndirs roots in order; the first
 * root that has the folder is used alone (as containers/image does).
 * 0 (found or not: c->dir NULL when none), EFORMAT (a NAME.key without
 * NAME.cert or the other way round), ETOOLARGE, EIO, ENOMEM. */
int registry__certs_load(registry__certs *c, const char *const *roots, size_t nroots, const char *host);

/* Credentials for one host, from auth files in order. */
typedef struct registry__cred {
	char *ns;       /* "" for the host, else "org" or "org/repo" */
	char *username; /* NULL with an identity token only */
	char *secret;
	char *identity_token;
	int file;       /* index of the file it came from: earlier files win */
} registry__cred;

typedef struct registry__creds {
	registry__cred *items;
	size_t n;
	int refs; /* shared by a client and its clones (immutable once built) */
} registry__creds;

void registry__creds_unref(registry__creds *c);
/* Add the "auths" entries of one auth file's JSON @text that name @host
 * ("host[:port]"; Docker Hub's forms for docker.io). 0, EFORMAT,
 * ETOOLARGE, ENOMEM. */
int registry__creds_add_file(registry__creds *c, const char *text, size_t len, const char *name,
                             const char *host, int file);
/* The credentials for @repository (NULL: the host's): the earliest file
 * that has any match, the longest namespace in it; NULL when none. */
const registry__cred *registry__creds_pick(const registry__creds *c, const char *repository);

/* Read a regular file of at most @limit bytes into @out (NUL-terminated).
 * REGISTRY_ENOTFOUND (not recorded) when it does not exist; EIO, ETOOLARGE
 * recorded. */
int registry__read_config_file(const char *path, size_t limit, registry__buf *out);

/* Set (@auth_b64, base64 of "user:password") or remove (NULL) the "auths"
 * entry of the host @key ("host[:port]") in the auth file @path, written
 * atomically with mode 0600 (the folder is made, 0700, when missing);
 * entries naming the host alone in another form (a URL key) are replaced
 * too. When the file names a credential helper for @key (credHelpers, or
 * credsStore) nothing is changed and *helper_out receives its name
 * (allocated). 0, REGISTRY_ENOTFOUND (remove: no entry), EFORMAT, EIO,
 * ETOOLARGE, ENOMEM, recorded. */
int registry__authfile_update(const char *path, const char *key, const char *auth_b64, char **helper_out);

/* The names in folder @dir that end with one of @suffixes (NULL-terminated),
 * sorted, at most @max (more is ETOOLARGE). Free each and the array.
 * REGISTRY_ENOTFOUND (not recorded) when @dir does not exist; EIO, ENOMEM. */
int registry__dir_names(const char *dir, const char *const *suffixes, size_t max, char ***names, size_t *n);

#endif

/** @file
 * libregistry: the host's registry configuration, as skopeo, podman and
 * Docker read it.
 *
 * A client reads no system file until registry_client_load_host_config()
 * is called: an embedder decides. That call reads, for the client's
 * registry and for every mirror a pull reaches:
 *
 * - certs.d folders (containers-certs.d(5), Docker's certs.d):
 *   ROOT/HOST[:PORT]/ with `*.crt` extra CA certificates and a
 *   `NAME.cert` + `NAME.key` client certificate pair; the first root that
 *   has the host's folder is used alone;
 * - auth files in containers-auth.json(5) order ($REGISTRY_AUTH_FILE,
 *   $XDG_RUNTIME_DIR/containers/auth.json,
 *   $XDG_CONFIG_HOME/containers/auth.json, $DOCKER_CONFIG/config.json or
 *   ~/.docker/config.json): an earlier file wins, and in it the longest
 *   namespace ("host/org/repo" beats "host/org" beats "host") for each
 *   repository; credential helpers of Docker's config when no file has an
 *   entry;
 * - registries.conf (containers-registries.conf(5), version 2, and the v1
 *   insecure and block lists): $CONTAINERS_REGISTRIES_CONF alone, else
 *   /etc/containers/registries.conf then registries.conf.d/ *.conf in
 *   name order: `[[registry]]` prefix, location, insecure, blocked,
 *   mirror-by-digest-only and `[[registry.mirror]]` location, insecure,
 *   pull-from-mirror;
 * - Docker's /etc/docker/daemon.json: registry-mirrors (for Docker Hub)
 *   and insecure-registries (host[:port] entries).
 *
 * What it changes: TLS material from certs.d (unless the client was given
 * its own with registry_client_set_tls()), credentials per repository
 * (unless set with registry_client_set_credentials() or a credential
 * provider), insecure registries (registry_client_set_insecure() flags),
 * and, for registry_pull() and registry_pull_to(): a blocked registry is
 * refused with REGISTRY_EPOLICY; a pull tries the mirrors in order, then
 * the primary (at its `location`), verifying every byte from a mirror as
 * from the primary. Pushes, deletes and lists never go to a mirror.
 * docs/host-config.md has the details.
 */
#ifndef REGISTRY_HOSTCONFIG_H
#define REGISTRY_HOSTCONFIG_H

#include <registry/common.h>
#include <registry/client.h>

REGISTRY_BEGIN_DECLS

/** registry_host_config_options.flags: read no certs.d folder. @since 1.1 */
#define REGISTRY_HOST_CONFIG_NO_CERTS 0x1u
/** registry_host_config_options.flags: read no auth file and run no credential helper. @since 1.1 */
#define REGISTRY_HOST_CONFIG_NO_AUTH 0x2u
/** registry_host_config_options.flags: read no registries.conf (no mirrors, blocks, rewrites). @since 1.1 */
#define REGISTRY_HOST_CONFIG_NO_REGISTRIES_CONF 0x4u
/** registry_host_config_options.flags: read no Docker daemon.json. @since 1.1 */
#define REGISTRY_HOST_CONFIG_NO_DOCKER_DAEMON 0x8u

/**
 * Options of registry_client_load_host_config(). A NULL field means the
 * default source (above); a list is NULL-terminated and replaces the
 * default list (an empty list, `{NULL}`, reads none). Strings are copied.
 * @since 1.1
 */
typedef struct registry_host_config_options {
	unsigned int version;               /**< REGISTRY_HOST_CONFIG_OPTIONS_VERSION */
	unsigned int flags;                 /**< REGISTRY_HOST_CONFIG_NO_... */
	const char *const *certs_dirs;      /**< certs.d roots, in order; NULL: $XDG_CONFIG_HOME/containers/certs.d (not for root), /etc/containers/certs.d, /etc/docker/certs.d */
	const char *const *auth_files;      /**< auth files, in order; NULL: the containers-auth.json(5) order */
	const char *registries_conf;        /**< one registries.conf; NULL: $CONTAINERS_REGISTRIES_CONF, else /etc/containers/registries.conf */
	const char *registries_conf_dir;    /**< drop-ins (*.conf); NULL: /etc/containers/registries.conf.d, none when registries_conf or the variable names a file */
	const char *docker_daemon_json;     /**< NULL: /etc/docker/daemon.json */
	const char *const *credential_realms; /**< extra token realm hosts that may receive the credentials (e.g. "authn.nvidia.com"); NULL: none */
} registry_host_config_options;

/** The current version of registry_host_config_options. @since 1.1 */
#define REGISTRY_HOST_CONFIG_OPTIONS_VERSION 1
/** Initializer of registry_host_config_options: every default. @since 1.1 */
#define REGISTRY_HOST_CONFIG_OPTIONS_INIT { REGISTRY_HOST_CONFIG_OPTIONS_VERSION, 0, NULL, NULL, NULL, NULL, NULL, NULL }

/**
 * Fill @p opts with the defaults (REGISTRY_HOST_CONFIG_OPTIONS_INIT).
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.1
 */
REGISTRY_API int registry_host_config_options_init(registry_host_config_options *opts);

/**
 * Load the host's registry configuration into @p client (see above): its
 * registry's certs.d material, insecure flag and credentials, and the
 * registries.conf rules its pulls follow. Missing files are no error; a
 * file that cannot be read or parsed is (a half-read configuration must
 * not be applied), and nothing changes then. Call it once, after
 * registry_client_new(): TLS material, credentials or a credential
 * provider the client already has win over what the files say, and so
 * does TLS material loaded by an earlier call.
 * @param client the client.
 * @param opts NULL for the defaults.
 * @return 0; REGISTRY_EINVAL (NULL client, bad version, unknown flags);
 *         REGISTRY_EFORMAT (a malformed file: the message names it and the
 *         line); REGISTRY_ETOOLARGE (a file over 1 MiB); REGISTRY_EIO;
 *         REGISTRY_EAUTH (a credential helper failed or is missing);
 *         REGISTRY_ENOMEM.
 * @since 1.1
 */
REGISTRY_API int registry_client_load_host_config(registry_client *client,
                                                  const registry_host_config_options *opts);

/** registry_login_options.flags: store the credentials without checking them at the registry. @since 1.1 */
#define REGISTRY_LOGIN_NO_VERIFY 0x1u

/**
 * Options of registry_login() and registry_logout().
 * @since 1.1
 */
typedef struct registry_login_options {
	unsigned int version;  /**< REGISTRY_LOGIN_OPTIONS_VERSION */
	unsigned int flags;    /**< REGISTRY_LOGIN_NO_VERIFY (login only) */
	const char *auth_file; /**< NULL: $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json, else $XDG_CONFIG_HOME/containers/auth.json (~/.config when unset), as podman and skopeo */
} registry_login_options;

/** The current version of registry_login_options. @since 1.1 */
#define REGISTRY_LOGIN_OPTIONS_VERSION 1
/** Initializer of registry_login_options: every default. @since 1.1 */
#define REGISTRY_LOGIN_OPTIONS_INIT { REGISTRY_LOGIN_OPTIONS_VERSION, 0, NULL }

/**
 * Fill @p opts with the defaults (REGISTRY_LOGIN_OPTIONS_INIT).
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.1
 */
REGISTRY_API int registry_login_options_init(registry_login_options *opts);

/**
 * Log in to @p client's registry: set @p username and @p password on the
 * client, check them (registry_client_ping(): a token without scope where
 * the registry uses tokens) unless REGISTRY_LOGIN_NO_VERIFY, then store
 * them for the registry's host ("host:port"; "docker.io" for Docker Hub):
 * with the credential helper the auth file names for it (credHelpers, or
 * credsStore: `docker-credential-NAME store`), else as an "auths" entry
 * of the auth file, written atomically with mode 0600 (its folder made,
 * mode 0700, when missing). podman, skopeo and Docker read what it
 * writes. On failure the file is not changed.
 * @param client the registry's client (its TLS settings are used).
 * @param username the user.
 * @param password the password or token. Copied; wiped after use.
 * @param opts NULL for the defaults.
 * @return 0; REGISTRY_EINVAL (NULL argument, bad version, unknown flags);
 *         REGISTRY_EAUTH (credentials refused, or the helper failed);
 *         what registry_client_ping() returns; REGISTRY_EFORMAT (the
 *         auth file is not a JSON object); REGISTRY_EIO; REGISTRY_ENOMEM.
 * @since 1.1
 */
REGISTRY_API int registry_login(registry_client *client, const char *username, const char *password,
                                const registry_login_options *opts);

/**
 * Log out of @p client's registry: remove the entry of its host from the
 * auth file (or `docker-credential-NAME erase` when the file names a
 * helper for it). The client's own credentials are not changed.
 * @param client the registry's client.
 * @param opts NULL for the defaults.
 * @return 0; REGISTRY_ENOTFOUND (no entry for the host); REGISTRY_EINVAL;
 *         REGISTRY_EAUTH (the helper failed); REGISTRY_EFORMAT;
 *         REGISTRY_EIO; REGISTRY_ENOMEM.
 * @since 1.1
 */
REGISTRY_API int registry_logout(registry_client *client, const registry_login_options *opts);

REGISTRY_END_DECLS

#endif

/*
 * registry_login(), registry_logout(): credentials checked at the registry
 * and kept where podman, skopeo and Docker look for them (an auth file or
 * the credential helper it names).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client_impl.h"
#include "hostconfig/authfile.h"
#include "hostconfig/hostconfig.h"

int registry_login_options_init(registry_login_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_login_options_init: NULL options");
	*opts = (registry_login_options)REGISTRY_LOGIN_OPTIONS_INIT;
	return 0;
}

/* The auth file podman and skopeo write (containers-auth.json(5)). */
static int auth_file(char *out, size_t size, const registry_login_options *o)
{
	const char *env = getenv("REGISTRY_AUTH_FILE");
	const char *run = getenv("XDG_RUNTIME_DIR");
	const char *cfg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int n;
	if (o->auth_file)
		n = snprintf(out, size, "%s", o->auth_file);
	else if (env && *env)
		n = snprintf(out, size, "%s", env);
	else if (run && *run)
		n = snprintf(out, size, "%s/containers/auth.json", run);
	else if (cfg && *cfg)
		n = snprintf(out, size, "%s/containers/auth.json", cfg);
	else if (home && *home)
		n = snprintf(out, size, "%s/.config/containers/auth.json", home);
	else
		return registry__fail(REGISTRY_EINVAL, "no auth file: set REGISTRY_AUTH_FILE or HOME, or name one");
	if (n < 0 || (size_t)n >= size)
		return registry__fail(REGISTRY_EINVAL, "auth file path too long");
	return 0;
}

static int check_options(const char *fn, const registry_login_options *o, unsigned int known)
{
	return registry__options_check(fn, o->version, REGISTRY_LOGIN_OPTIONS_VERSION, o->flags, known);
}

/* The key of the registry in auth files, and the server a helper is told. */
static const char *auth_key(const registry_client *c)
{
	return registry__is_docker_hub(c->registry) ? "docker.io" : c->registry;
}

static const char *helper_server(const registry_client *c)
{
	return registry__is_docker_hub(c->registry) ? "https://index.docker.io/v1/" : c->registry;
}

static int store(registry_client *c, const char *path, const char *username, const char *password)
{
	size_t plain_len = strlen(username) + 1 + strlen(password);
	char *plain = malloc(plain_len + 1);
	size_t b64_size = sodium_base64_ENCODED_LEN(plain_len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(b64_size);
	int rc = 0;
	if (!plain || !b64) {
		rc = registry__nomem();
	} else {
		snprintf(plain, plain_len + 1, "%s:%s", username, password);
		sodium_bin2base64(b64, b64_size, (const unsigned char *)plain, plain_len, sodium_base64_VARIANT_ORIGINAL);
	}
	char *helper = NULL;
	if (!rc)
		rc = registry__authfile_update(path, auth_key(c), b64, &helper);
	if (!rc && helper)
		rc = registry__helper_change(helper, helper_server(c), username, password);
	free(helper);
	if (plain)
		sodium_memzero(plain, plain_len);
	if (b64)
		sodium_memzero(b64, b64_size);
	free(plain);
	free(b64);
	return rc;
}

int registry_login(registry_client *c, const char *username, const char *password,
                   const registry_login_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!c || !username || !password)
		return registry__fail(REGISTRY_EINVAL, "registry_login: NULL argument");
	registry_login_options defaults = REGISTRY_LOGIN_OPTIONS_INIT;
	const registry_login_options *o = opts ? opts : &defaults;
	char path[4096];
	if ((rc = check_options("registry_login", o, REGISTRY_LOGIN_NO_VERIFY)) ||
	    (rc = auth_file(path, sizeof(path), o)) ||
	    (rc = registry_client_set_credentials(c, username, password)))
		return rc;
	if (!(o->flags & REGISTRY_LOGIN_NO_VERIFY) && (rc = registry_client_ping(c)))
		return rc;
	return store(c, path, username, password);
}

int registry_logout(registry_client *c, const registry_login_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!c)
		return registry__fail(REGISTRY_EINVAL, "registry_logout: NULL client");
	registry_login_options defaults = REGISTRY_LOGIN_OPTIONS_INIT;
	const registry_login_options *o = opts ? opts : &defaults;
	char path[4096];
	if ((rc = check_options("registry_logout", o, 0)) || (rc = auth_file(path, sizeof(path), o)))
		return rc;
	char *helper = NULL;
	rc = registry__authfile_update(path, auth_key(c), NULL, &helper);
	if (!rc && helper)
		rc = registry__helper_change(helper, helper_server(c), NULL, NULL);
	free(helper);
	return rc;
}

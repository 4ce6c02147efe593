/*
 * certs.d folders (containers-certs.d(5), Docker's "Verify repository
 * client with certificates"): ROOT/HOST[:PORT]/ holds *.crt, extra CA
 * certificates for that registry, and NAME.cert + NAME.key, a client
 * certificate pair. The first root that has the host's folder is used
 * alone. Files are read whole and bounded; what is not a regular file is
 * skipped, as are names that are none of the three kinds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "hostconfig.h"

#define CERTS_FILE_MAX ((size_t)1 << 20)
#define CERTS_FILES_MAX 256

void registry__certs_free(registry__certs *c)
{
	free(c->ca_pem);
	free(c->cert_pem);
	registry__free_secret(c->key_pem);
	free(c->dir);
	memset(c, 0, sizeof(*c));
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n > m && strcmp(s + n - m, suffix) == 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_pem(const char *dir, const char *file, registry__buf *out)
{
	char path[4096];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return registry__fail(REGISTRY_EIO, "certs.d path too long: %s", dir);
	int rc = registry__read_config_file(path, CERTS_FILE_MAX, out);
	if (rc == REGISTRY_ENOTFOUND)
		rc = registry__fail(rc, "%s vanished while reading certs.d", path);
	if (!rc && !strstr(out->data, "-----BEGIN"))
		rc = registry__fail(REGISTRY_EFORMAT, "%s is not PEM", path);
	return rc;
}

/* The pair NAME.cert + NAME.key: both or neither, as Docker requires. */
static int load_pair(registry__certs *c, const char *dir, char **names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int is_cert = ends_with(names[i], ".cert"), is_key = ends_with(names[i], ".key");
		if (!is_cert && !is_key)
			continue;
		char other[512];
		size_t stem = strlen(names[i]) - (is_cert ? 5 : 4);
		snprintf(other, sizeof(other), "%.*s%s", (int)stem, names[i], is_cert ? ".key" : ".cert");
		if (!bsearch(&(const char *){other}, names, n, sizeof(*names), by_name))
			return registry__fail(REGISTRY_EFORMAT, "%s/%s has no matching %s", dir, names[i], other);
		if (!is_cert || c->cert_pem)
			continue;
		registry__buf cert, key;
		int rc = read_pem(dir, names[i], &cert);
		if (!rc)
			rc = read_pem(dir, other, &key);
		else
			registry__buf_init(&key, 0);
		if (!rc) {
			c->cert_pem = registry__buf_detach(&cert);
			c->key_pem = registry__buf_detach(&key);
		}
		registry__buf_free(&cert);
		if (key.data)
			sodium_memzero(key.data, key.len);
		registry__buf_free(&key);
		if (rc)
			return rc;
	}
	return 0;
}

static int load_cas(registry__certs *c, const char *dir, char **names, size_t n)
{
	registry__buf all;
	registry__buf_init(&all, 4 * CERTS_FILE_MAX);
	int rc = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		if (!ends_with(names[i], ".crt"))
			continue;
		registry__buf one;
		if (!(rc = read_pem(dir, names[i], &one)) && (rc = registry__buf_printf(&all, "%s\n", one.data)))
			rc = rc == REGISTRY_ETOOLARGE ? registry__fail(rc, "the CA files of %s are larger than 4 MiB", dir)
			                              : registry__nomem();
		registry__buf_free(&one);
	}
	if (!rc && all.data)
		c->ca_pem = registry__buf_detach(&all);
	registry__buf_free(&all);
	return rc;
}

int registry__certs_load(registry__certs *c, const char *const *roots, size_t nroots, const char *host)
{
	memset(c, 0, sizeof(*c));
	if (!*host || strchr(host, '/') || strcmp(host, "..") == 0 || strcmp(host, ".") == 0)
		return registry__fail(REGISTRY_EINVAL, "certs.d: '%s' is not a host name", host);
	for (size_t i = 0; i < nroots; i++) {
		char dir[4096];
		struct stat st;
		if (!roots[i] || !*roots[i] ||
		    (size_t)snprintf(dir, sizeof(dir), "%s/%s", roots[i], host) >= sizeof(dir))
			continue;
		if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		char **names = NULL;
		size_t n = 0;
		static const char *const kinds[] = {".crt", ".cert", ".key", NULL};
		int rc = registry__dir_names(dir, kinds, CERTS_FILES_MAX, &names, &n);
		if (rc == REGISTRY_ENOTFOUND)
			rc = registry__fail(REGISTRY_EIO, "cannot read %s", dir);
		if (!rc)
			rc = load_cas(c, dir, names, n);
		if (!rc)
			rc = load_pair(c, dir, names, n);
		for (size_t k = 0; k < n; k++)
			free(names[k]);
		free(names);
		if (!rc && !(c->dir = registry__strdup(dir)))
			rc = registry__nomem();
		if (rc)
			registry__certs_free(c);
		return rc;
	}
	return 0;
}

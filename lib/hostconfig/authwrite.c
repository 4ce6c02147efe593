/*
 * Writing an auth file (registry_login(), registry_logout()): the file is
 * read (bounded), changed in memory and replaced atomically by a new file
 * of mode 0600 renamed over it, so that a reader (podman, skopeo, another
 * libregistry) never sees half of it and the secret is never readable by
 * others, not even for a moment.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "authfile.h"
#include "hostconfig.h"

/* mkdir -p for the file's folder, 0700 for what is made. */
static int make_parent(const char *path)
{
	char dir[4096];
	if ((size_t)snprintf(dir, sizeof(dir), "%s", path) >= sizeof(dir))
		return registry__fail(REGISTRY_EIO, "auth file path too long");
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return registry__fail(REGISTRY_EIO, "cannot create %s: %s", dir, registry__errno_text(errno));
		*p = '/';
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return registry__fail(REGISTRY_EIO, "cannot create %s: %s", dir, registry__errno_text(errno));
	return 0;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int replace_file(const char *path, const char *text)
{
	int rc = make_parent(path);
	if (rc)
		return rc;
	char tmp[4200];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= sizeof(tmp))
		return registry__fail(REGISTRY_EIO, "auth file path too long");
	int fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0)
		return registry__fail(REGISTRY_EIO, "cannot create a file next to %s: %s", path, registry__errno_text(errno));
	if (fchmod(fd, 0600) != 0 || write_all(fd, text, strlen(text)) != 0 || fsync(fd) != 0)
		rc = registry__fail(REGISTRY_EIO, "cannot write %s: %s", tmp, registry__errno_text(errno));
	if (close(fd) != 0 && !rc)
		rc = registry__fail(REGISTRY_EIO, "cannot write %s: %s", tmp, registry__errno_text(errno));
	if (!rc && rename(tmp, path) != 0)
		rc = registry__fail(REGISTRY_EIO, "cannot replace %s: %s", path, registry__errno_text(errno));
	if (rc)
		unlink(tmp);
	return rc;
}

/* The helper the file names for @key: credHelpers' entry, else credsStore. */
static int helper_of(const cJSON *root, const char *key, char **helper_out)
{
	const cJSON *helpers = cJSON_GetObjectItemCaseSensitive(root, "credHelpers");
	const cJSON *store = cJSON_GetObjectItemCaseSensitive(root, "credsStore");
	const cJSON *it;
	const char *name = NULL;
	if (cJSON_IsObject(helpers))
		cJSON_ArrayForEach(it, helpers)
			if (it->string && cJSON_IsString(it) && registry__auth_key_names(it->string, key) &&
			    !*registry__auth_key_split(it->string, (char[300]){0}, 300))
				name = it->valuestring;
	if (!name && cJSON_IsString(store) && *store->valuestring)
		name = store->valuestring;
	if (name && !(*helper_out = registry__strdup(name)))
		return registry__nomem();
	return 0;
}

/* Remove the entries of @auths that name the host @key alone. */
static int remove_host_entries(cJSON *auths, const char *key)
{
	int removed = 0;
	for (cJSON *it = auths->child, *next; it; it = next) {
		next = it->next;
		char h[300];
		if (it->string && registry__auth_key_names(it->string, key) &&
		    !*registry__auth_key_split(it->string, h, sizeof(h))) {
			cJSON_Delete(cJSON_DetachItemViaPointer(auths, it));
			removed = 1;
		}
	}
	return removed;
}

int registry__authfile_update(const char *path, const char *key, const char *auth_b64, char **helper_out)
{
	*helper_out = NULL;
	registry__buf text;
	int rc = registry__read_config_file(path, REGISTRY__HOSTCONF_FILE_MAX, &text);
	int missing = rc == REGISTRY_ENOTFOUND;
	if (missing)
		rc = 0;
	cJSON *root = NULL;
	if (!rc) {
		root = missing || text.len == 0 ? cJSON_CreateObject() : cJSON_ParseWithLength(text.data, text.len);
		if (!cJSON_IsObject(root))
			rc = registry__fail(REGISTRY_EFORMAT, "%s is not a JSON object: not changed", path);
	}
	if (text.data)
		sodium_memzero(text.data, text.len);
	registry__buf_free(&text);
	if (!rc)
		rc = helper_of(root, key, helper_out);
	cJSON *auths = rc || *helper_out ? NULL : cJSON_GetObjectItemCaseSensitive(root, "auths");
	if (!rc && !*helper_out && auths && !cJSON_IsObject(auths))
		rc = registry__fail(REGISTRY_EFORMAT, "%s: \"auths\" is not an object: not changed", path);
	if (!rc && !*helper_out) {
		if (!auths && !(auths = cJSON_AddObjectToObject(root, "auths")))
			rc = registry__nomem();
		int removed = rc ? 0 : remove_host_entries(auths, key);
		if (!rc && auth_b64) {
			cJSON *entry = cJSON_CreateObject();
			if (!entry || !cJSON_AddStringToObject(entry, "auth", auth_b64) ||
			    !cJSON_AddItemToObject(auths, key, entry)) {
				cJSON_Delete(entry);
				rc = registry__nomem();
			}
		} else if (!rc && !removed) {
			rc = registry__fail(REGISTRY_ENOTFOUND, "%s has no credentials for %s", path, key);
		}
		char *out = rc ? NULL : cJSON_Print(root);
		if (!rc && !out)
			rc = registry__nomem();
		if (!rc)
			rc = replace_file(path, out);
		if (out) {
			sodium_memzero(out, strlen(out));
			cJSON_free(out);
		}
	}
	cJSON_Delete(root);
	return rc;
}

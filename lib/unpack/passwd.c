/*
 * config.User against the image's own /etc/passwd and /etc/group, as the
 * image spec's conversion document asks: "user", "uid", "user:group",
 * "uid:gid", "uid:group", "user:gid". The files belong to the image, so
 * they are hostile: opened beneath the rootfs (root.c), never through a
 * link, and read up to a bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unpack_impl.h"

#define DB_MAX_SIZE ((size_t)4 << 20)

/* /etc/@name of the image, NUL-terminated, or NULL when it has none. */
static int read_db(int rootfd, const char *name, char **out)
{
	*out = NULL;
	int etc = -1;
	int rc = registry__root_open_dir(rootfd, "etc", 0, "/etc", &etc);
	if (rc == REGISTRY_ENOTFOUND || rc == REGISTRY_EFORMAT)
		return 0; /* no /etc: nothing to look up */
	if (rc)
		return rc;
	int fd = openat(etc, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	close(etc);
	if (fd < 0)
		return 0;
	registry__buf b;
	registry__buf_init(&b, DB_MAX_SIZE);
	char chunk[8192];
	ssize_t n;
	while (!rc && (n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = registry__fail(REGISTRY_EIO, "reading the image's /etc/%s: %s", name, registry__errno_text(errno));
		else if (registry__buf_append(&b, chunk, (size_t)n))
			rc = registry__fail(REGISTRY_ETOOLARGE, "the image's /etc/%s is larger than %zu bytes", name,
			                    DB_MAX_SIZE);
	}
	close(fd);
	if (rc) {
		registry__buf_free(&b);
		return rc;
	}
	*out = registry__buf_detach(&b);
	return 0;
}

/* Field @k (0-based) of the ':'-separated @line, into @out; 0 when absent. */
static int field(const char *line, size_t len, int k, char *out, size_t size)
{
	const char *p = line, *end = line + len;
	for (int i = 0; i < k; i++) {
		p = memchr(p, ':', (size_t)(end - p));
		if (!p)
			return 0;
		p++;
	}
	const char *q = memchr(p, ':', (size_t)(end - p));
	size_t n = (size_t)((q ? q : end) - p);
	if (n >= size)
		return 0;
	memcpy(out, p, n);
	out[n] = '\0';
	return 1;
}

static int parse_id(const char *s, unsigned long *id)
{
	char *end = NULL;
	errno = 0;
	*id = strtoul(s, &end, 10);
	return *s && !errno && !*end && *id <= 0xfffffffful && s[0] != '-';
}

/* The line of @db whose field @key_field is @key: its fields @a and @b. */
static int find_line(const char *db, const char *key, int key_field, int a, char *fa, int b, char *fb, size_t size)
{
	for (const char *line = db; db && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char k[256];
		if (field(line, len, key_field, k, sizeof(k)) && strcmp(k, key) == 0 && field(line, len, a, fa, size) &&
		    (b < 0 || field(line, len, b, fb, size)))
			return 1;
		line += len + (nl ? 1 : 0);
	}
	return 0;
}

int registry__resolve_user(int rootfd, const char *spec, unsigned long *uid, unsigned long *gid, char **home)
{
	*uid = *gid = 0;
	*home = NULL;
	char user[256] = "", group[256] = "", f1[4096], f2[4096];
	const char *colon = spec ? strchr(spec, ':') : NULL;
	if (spec && strlen(spec) >= sizeof(user))
		return registry__fail(REGISTRY_EFORMAT, "config.User \"%s\" is too long", spec);
	if (spec) {
		snprintf(user, sizeof(user), "%.*s", colon ? (int)(colon - spec) : (int)strlen(spec), spec);
		if (colon)
			snprintf(group, sizeof(group), "%s", colon + 1);
	}
	char *passwd = NULL, *groups = NULL;
	int rc = read_db(rootfd, "passwd", &passwd);
	if (!rc && *group && !parse_id(group, gid))
		rc = read_db(rootfd, "group", &groups);
	int user_numeric = !*user || parse_id(user, uid);
	if (!rc && !user_numeric) {
		if (!find_line(passwd, user, 0, 2, f1, 3, f2, sizeof(f1)) || !parse_id(f1, uid) || !parse_id(f2, gid))
			rc = registry__fail(REGISTRY_ENOTFOUND, "config.User \"%s\": no user %s in the image's /etc/passwd",
			                    spec, user);
	}
	/* A numeric user without a group: the primary group of its passwd entry, if any. */
	if (!rc && user_numeric && !*group && find_line(passwd, *user ? user : "0", 2, 3, f1, -1, NULL, sizeof(f1)))
		parse_id(f1, gid);
	if (!rc && *group && !parse_id(group, gid) &&
	    (!find_line(groups, group, 0, 2, f1, -1, NULL, sizeof(f1)) || !parse_id(f1, gid)))
		rc = registry__fail(REGISTRY_ENOTFOUND, "config.User \"%s\": no group %s in the image's /etc/group",
		                    spec, group);
	char key[32];
	snprintf(key, sizeof(key), "%lu", *uid);
	if (!rc && find_line(passwd, key, 2, 5, f1, -1, NULL, sizeof(f1)) && *f1 && !(*home = registry__strdup(f1)))
		rc = registry__nomem();
	registry_free(passwd);
	registry_free(groups);
	return rc;
}

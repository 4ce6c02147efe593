/*
 * Reading the host's configuration files: regular files only (a FIFO or a
 * device named by a hostile config must not block or stream forever),
 * bounded in size, read whole.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostconfig.h"

int registry__read_config_file(const char *path, size_t limit, registry__buf *out)
{
	registry__buf_init(out, limit);
	int rc = registry__read_file_capped(path, out);
	if (!rc && !out->data && registry__buf_append(out, "", 0))
		rc = registry__nomem();
	return rc;
}

static int ends_with_any(const char *s, const char *const *suffixes)
{
	size_t n = strlen(s);
	for (; *suffixes; suffixes++) {
		size_t m = strlen(*suffixes);
		if (n > m && strcmp(s + n - m, *suffixes) == 0)
			return 1;
	}
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int registry__dir_names(const char *dir, const char *const *suffixes, size_t max, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT || errno == ENOTDIR
		               ? REGISTRY_ENOTFOUND
		               : registry__fail(REGISTRY_EIO, "cannot read %s: %s", dir, registry__errno_text(errno));
	char **v = calloc(max ? max : 1, sizeof(*v));
	int rc = v ? 0 : registry__nomem();
	struct dirent *e;
	while (!rc && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || !ends_with_any(e->d_name, suffixes))
			continue;
		if (*n == max)
			rc = registry__fail(REGISTRY_ETOOLARGE, "%s holds more than %zu such files", dir, max);
		else if (!(v[(*n)++] = registry__strdup(e->d_name)))
			rc = registry__nomem();
	}
	closedir(d);
	if (rc) {
		for (size_t i = 0; i < *n; i++)
			free(v[i]);
		free(v);
		*n = 0;
		return rc;
	}
	qsort(v, *n, sizeof(*v), by_name);
	*names = v;
	return 0;
}

/*
 * registry_store_gc(): delete what index.json does not reach, and stale
 * partial and temporary files. Runs only with the store to itself.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_impl.h"

typedef struct gc_ctx {
	registry_store *s;
	store_digest_set reachable;
	size_t removed;
	time_t stale_before;
	int dry_run; /* count, delete nothing */
} gc_ctx;

static int mark(const store_walk_visit *v, void *ud)
{
	gc_ctx *c = ud;
	int rc = registry__store_set_add(&c->reachable, v->digest);
	return rc < 0 ? rc : 0;
}

/* A reachable manifest we cannot read might hide more reachable blobs: stop. */
static int stop_on_error(const store_walk_visit *v, int rc, void *ud)
{
	(void)ud;
	char msg[300];
	snprintf(msg, sizeof(msg), "%s", registry_error_message(registry_error_last()));
	return registry__fail(rc, "store: gc stopped, nothing deleted: manifest %s cannot be read: %s", v->digest, msg);
}

typedef int (*entry_fn)(gc_ctx *c, int dirfd, const char *dir, const char *name);

/* Call @fn for each entry of @dir under @parent_fd (a missing directory has none). */
static int each_entry(gc_ctx *c, int parent_fd, const char *dir, entry_fn fn)
{
	int dirfd = openat(parent_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return errno == ENOENT ? 0 : registry__store_io_fail(errno, "store: cannot open %s", dir);
	DIR *d = fdopendir(dirfd);
	if (!d) {
		int err = errno;
		close(dirfd);
		return registry__store_io_fail(err, "store: cannot read %s", dir);
	}
	size_t before = c->removed;
	int rc = 0;
	struct dirent *e;
	while (!rc && (errno = 0, e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			rc = fn(c, dirfd, dir, e->d_name);
	if (!rc && errno)
		rc = registry__store_io_fail(errno, "store: cannot read %s", dir);
	if (!rc && !c->dry_run && c->removed != before && fsync(dirfd) != 0 && errno != EINVAL)
		rc = registry__store_io_fail(errno, "store: cannot fsync %s", dir);
	closedir(d);
	return rc;
}

static int remove_file(gc_ctx *c, int dirfd, const char *dir, const char *name)
{
	if (c->dry_run) {
		c->removed++;
		return 0;
	}
	if (unlinkat(dirfd, name, 0) != 0) {
		if (errno == ENOENT)
			return 0;
		return registry__store_io_fail(errno, "store: cannot delete %s/%.150s", dir, name);
	}
	c->removed++;
	return 0;
}

static int sweep_blob(gc_ctx *c, int dirfd, const char *alg, const char *name)
{
	char digest[REGISTRY_DIGEST_STRING_MAX];
	/* Files that are not named like blobs are not ours to delete. */
	if (!registry__store_hex_name_valid(alg, name))
		return 0;
	snprintf(digest, sizeof(digest), "%s:%.128s", alg, name);
	return registry__store_set_has(&c->reachable, digest) ? 0 : remove_file(c, dirfd, alg, name);
}

static int is_stale(gc_ctx *c, int dirfd, const char *name)
{
	struct stat st;
	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	       st.st_mtime < c->stale_before;
}

/* A stale partial, unless a writer holds its lock (a slow download). */
static int sweep_partial(gc_ctx *c, int dirfd, const char *dir, const char *name)
{
	if (!is_stale(c, dirfd, name))
		return 0;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return 0;
	int rc = 0;
	if (registry__store_flock(fd, LOCK_EX | LOCK_NB) == 0)
		rc = remove_file(c, dirfd, dir, name);
	close(fd);
	return rc;
}

static int sweep_partial_top(gc_ctx *c, int dirfd, const char *dir, const char *name)
{
	for (size_t a = 0; a < REGISTRY_ARRAY_LEN(registry__store_algorithms); a++)
		if (strcmp(name, registry__store_algorithms[a]) == 0) {
			char sub[STORE_REL_MAX];
			snprintf(sub, sizeof(sub), "%s/%s", dir, name);
			return each_entry(c, c->s->blobs_fd, sub, sweep_partial);
		}
	if (strncmp(name, "tmp-", 4) == 0 && is_stale(c, dirfd, name))
		return remove_file(c, dirfd, dir, name);
	return 0;
}

/* Leftovers of interrupted index.json and layout writes in the store's root. */
static int sweep_root_temp(gc_ctx *c, int dirfd, const char *dir, const char *name)
{
	if ((strncmp(name, STORE_INDEX_TEMP, strlen(STORE_INDEX_TEMP)) == 0 ||
	     strncmp(name, ".oci-layout.tmp-", 16) == 0 || strncmp(name, ".index.json.tmp-", 16) == 0) &&
	    is_stale(c, dirfd, name))
		return remove_file(c, dirfd, dir, name);
	return 0;
}

static int sweep(gc_ctx *c)
{
	int rc = 0;
	for (size_t a = 0; !rc && a < REGISTRY_ARRAY_LEN(registry__store_algorithms); a++)
		rc = each_entry(c, c->s->blobs_fd, registry__store_algorithms[a], sweep_blob);
	if (!rc)
		rc = each_entry(c, c->s->blobs_fd, STORE_PARTIAL_DIR, sweep_partial_top);
	if (!rc)
		rc = each_entry(c, c->s->root_fd, ".", sweep_root_temp);
	return rc;
}

int registry_store_gc_options_init(registry_store_gc_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_store_gc_options_init: NULL options");
	*opts = (registry_store_gc_options)REGISTRY_STORE_GC_OPTIONS_INIT;
	return 0;
}

/* Files last modified before the returned time are stale (0: none is). */
static time_t stale_before(int64_t max_age_s)
{
	time_t now = time(NULL);
	if (!max_age_s)
		max_age_s = STORE_STALE_SECONDS;
	return max_age_s >= (int64_t)now ? 0 : now - (time_t)max_age_s;
}

int registry_store_gc(size_t *removed, registry_store *s, const registry_store_gc_options *opts)
{
	REGISTRY__ENTER(rc);
	if (removed)
		*removed = 0;
	if (!s)
		return registry__fail(REGISTRY_EINVAL, "registry_store_gc: NULL store");
	registry_store_gc_options defaults = REGISTRY_STORE_GC_OPTIONS_INIT;
	if (!opts)
		opts = &defaults;
	if ((rc = registry__options_check("registry_store_gc", opts->version, REGISTRY_STORE_GC_OPTIONS_VERSION,
	                                  opts->flags, REGISTRY_STORE_GC_DRY_RUN)))
		return rc;
	if (opts->partial_max_age_s < 0)
		return registry__fail(REGISTRY_EINVAL, "registry_store_gc: partial_max_age_s %lld is negative",
		                      (long long)opts->partial_max_age_s);
	/* Our shared lock becomes exclusive only if no other handle holds one. */
	int err = registry__store_flock(s->blobs_fd, LOCK_EX | LOCK_NB);
	if (err) {
		/* The conversion may have dropped our shared lock: take it back. */
		registry__store_flock(s->blobs_fd, LOCK_SH);
		if (err == EWOULDBLOCK)
			return registry__fail(REGISTRY_ECONFLICT,
			                      "store: gc needs %s to itself, and another handle has it open", s->path);
		return registry__store_io_fail(err, "store: cannot lock %s/blobs", s->path);
	}
	gc_ctx c = {.s = s,
	            .stale_before = stale_before(opts->partial_max_age_s),
	            .dry_run = (opts->flags & REGISTRY_STORE_GC_DRY_RUN) != 0};
	registry__store_set_init(&c.reachable);
	registry_manifest *root = NULL;
	if (!(rc = registry__store_index_load(s, &root)) && !(rc = registry__store_walk(s, root, mark, stop_on_error, &c)))
		rc = sweep(&c);
	registry_manifest_free(root);
	registry__store_set_free(&c.reachable);
	registry__store_flock(s->blobs_fd, LOCK_SH);
	if (removed)
		*removed = c.removed;
	return rc;
}

/*
 * Paths beneath the root of an unpack. Every layer is hostile: a member
 * may name "../x" or "/etc/x", an earlier member or layer may have planted
 * a symbolic link where a later one writes, a directory may have become a
 * link between layers (CVE-2018-15664, CVE-2021-29136, CVE-2021-32760).
 * So no path is ever handed to the kernel whole from a process-wide
 * root: directories are opened beneath the unpack root with openat2's
 * RESOLVE_IN_ROOT (links resolved as if the root were "/"), or, where the
 * kernel lacks it, by a walk that opens one component at a time with
 * O_NOFOLLOW and resolves each link it meets itself, with the same
 * meaning. The last component of an entry is never followed: callers
 * create, replace or remove it relative to its parent's descriptor.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef __has_include
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define HAVE_OPENAT2_H 1
#endif
#endif

#include "unpack_impl.h"

#define WALK_MAX_DEPTH 256 /* directories deep: deeper than any real tree, and fds bounded */
#define WALK_MAX_LINKS 40  /* links followed in one resolution, as the kernel's MAXSYMLINKS */

static int root_mode = REGISTRY__ROOT_AUTO;
static int openat2_missing; /* the kernel said ENOSYS once: walk from then on */

int registry__root_set_mode(int mode)
{
	int old = __atomic_exchange_n(&root_mode, mode, __ATOMIC_RELAXED);
	return old;
}

static int io_fail(int err, const char *doing, const char *what)
{
	return registry__fail(REGISTRY_EIO, "%s %s: %s", doing, what, registry__errno_text(err));
}

int registry__root_clean_path(char *out, size_t size, const char *name)
{
	size_t n = 0;
	const char *p = name;
	while (*p) {
		while (*p == '/')
			p++;
		const char *end = strchrnul(p, '/');
		size_t len = (size_t)(end - p);
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return registry__fail(REGISTRY_EFORMAT, "layer member \"%s\" has a \"..\" component", name);
		if (len && !(len == 1 && p[0] == '.')) {
			if (n + len + 2 > size)
				return registry__fail(REGISTRY_EFORMAT, "layer member name too long (%zu bytes)", strlen(name));
			if (n)
				out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		p = end;
	}
	if (size == 0)
		return registry__fail(REGISTRY_EFORMAT, "layer member name too long");
	out[n] = '\0';
	return 0;
}

/* ---- the portable walk ---- */

typedef struct walk {
	int root;
	int fds[WALK_MAX_DEPTH]; /* fds[0..depth) opened directories below root */
	int depth;
	const char *what;
} walk;

static int walk_top(const walk *w)
{
	return w->depth ? w->fds[w->depth - 1] : w->root;
}

static void walk_pop(walk *w, int to)
{
	while (w->depth > to)
		close(w->fds[--w->depth]);
}

/* Open one component below the top, making it a directory when asked. */
static int walk_open(walk *w, const char *comp, int create, int *fd)
{
	int dir = walk_top(w);
	*fd = openat(dir, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0 && errno == ENOENT && create) {
		if (mkdirat(dir, comp, 0755) != 0 && errno != EEXIST)
			return io_fail(errno, "creating a directory for", w->what);
		*fd = openat(dir, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	}
	if (*fd >= 0)
		return 0;
	if (errno == ENOENT)
		return registry__fail(REGISTRY_ENOTFOUND, "%s: a directory of its path does not exist", w->what);
	return io_fail(errno, "resolving", w->what);
}

/* @fd is a symbolic link: put its target in front of @rest (in @buf). */
static int walk_link(walk *w, int fd, char *buf, size_t size, const char *rest)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);
	if (n < 0)
		return io_fail(errno, "reading a link in the path of", w->what);
	target[n] = '\0';
	size_t rest_len = strlen(rest);
	if ((size_t)n + 1 + rest_len + 1 > size)
		return registry__fail(REGISTRY_EFORMAT, "%s: path too long through links", w->what);
	memmove(buf + n + 1, rest, rest_len + 1);
	memcpy(buf, target, (size_t)n);
	buf[n] = '/';
	if (target[0] == '/')
		walk_pop(w, 0); /* absolute: from the unpack root, never the host's */
	return 0;
}

static int walk_resolve(int root, const char *rel, int flags, const char *what, int *out)
{
	int create = flags & REGISTRY__ROOT_CREATE;
	walk w = {.root = root, .depth = 0, .what = what};
	char buf[2 * PATH_MAX];
	size_t rel_len = strlen(rel);
	if (rel_len >= sizeof(buf))
		return registry__fail(REGISTRY_EFORMAT, "%s: path too long", what);
	memcpy(buf, rel, rel_len + 1);
	int rc = 0, links = 0;
	char *p = buf;
	while (!rc && *p) {
		char *end = strchrnul(p, '/');
		char *next = *end ? end + 1 : end;
		*end = '\0';
		if (!*p || strcmp(p, ".") == 0) {
			p = next;
			continue;
		}
		if (strcmp(p, "..") == 0) { /* only from link targets: never above the root */
			walk_pop(&w, w.depth ? w.depth - 1 : 0);
			p = next;
			continue;
		}
		int fd = -1;
		struct stat st;
		if ((rc = walk_open(&w, p, create, &fd)))
			break;
		if (fstat(fd, &st) != 0) {
			rc = io_fail(errno, "resolving", what);
		} else if (S_ISLNK(st.st_mode)) {
			if (flags & REGISTRY__ROOT_NO_LINKS)
				rc = registry__fail(REGISTRY_EFORMAT, "%s: a component of its path is a symbolic link", what);
			else if (++links > WALK_MAX_LINKS)
				rc = registry__fail(REGISTRY_EFORMAT, "%s: too many symbolic links in its path", what);
			else if (!(rc = walk_link(&w, fd, buf, sizeof(buf), next)))
				next = buf;
		} else if (!S_ISDIR(st.st_mode)) {
			rc = registry__fail(REGISTRY_EFORMAT, "%s: a component of its path is not a directory", what);
		} else if (w.depth == WALK_MAX_DEPTH) {
			rc = registry__fail(REGISTRY_EFORMAT, "%s: more than %d directories deep", what, WALK_MAX_DEPTH);
		} else {
			w.fds[w.depth++] = fd;
			fd = -1;
		}
		if (fd >= 0)
			close(fd);
		p = next;
	}
	if (!rc) {
		*out = w.depth ? w.fds[--w.depth] : openat(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (*out < 0)
			rc = io_fail(errno, "opening the root for", what);
	}
	walk_pop(&w, 0);
	return rc;
}

/* ---- openat2 ---- */

/* 1: opened; 0: use the walk (no openat2, or a missing directory to create); else an error. */
static int try_openat2(int root, const char *rel, int flags, const char *what, int *out)
{
#if defined(HAVE_OPENAT2_H) && defined(SYS_openat2)
	int create = flags & REGISTRY__ROOT_CREATE;
	if (__atomic_load_n(&openat2_missing, __ATOMIC_RELAXED))
		return 0;
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
	                       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV};
	if (flags & REGISTRY__ROOT_NO_LINKS)
		how.resolve |= RESOLVE_NO_SYMLINKS;
	long fd;
	do
		fd = syscall(SYS_openat2, root, *rel ? rel : ".", &how, sizeof(how));
	while (fd < 0 && (errno == EAGAIN || errno == EINTR));
	if (fd >= 0) {
		*out = (int)fd;
		return 1;
	}
	if (errno == ENOSYS || errno == EPERM) { /* old kernel, or a seccomp filter that refuses it */
		__atomic_store_n(&openat2_missing, 1, __ATOMIC_RELAXED);
		return 0;
	}
	if (errno == ENOENT)
		return create ? 0 : registry__fail(REGISTRY_ENOTFOUND, "%s: a directory of its path does not exist", what);
	if (errno == ELOOP && (flags & REGISTRY__ROOT_NO_LINKS))
		return registry__fail(REGISTRY_EFORMAT, "%s: a component of its path is a symbolic link", what);
	if (errno == ENOTDIR || errno == ELOOP)
		return registry__fail(REGISTRY_EFORMAT, "%s: a component of its path is not a directory", what);
	return io_fail(errno, "resolving", what);
#else
	(void)root, (void)rel, (void)flags, (void)what, (void)out;
	return 0;
#endif
}

int registry__root_open_dir(int root, const char *rel, int flags, const char *what, int *fd)
{
	int mode = __atomic_load_n(&root_mode, __ATOMIC_RELAXED);
	if (mode != REGISTRY__ROOT_WALK) {
		int r = try_openat2(root, rel, flags, what, fd);
		if (r)
			return r < 0 ? r : 0;
		if (mode == REGISTRY__ROOT_OPENAT2 && !(flags & REGISTRY__ROOT_CREATE))
			return registry__fail(REGISTRY_EUNSUPPORTED, "%s: openat2 is not available", what);
	}
	/* Also where openat2 found a directory missing: the walk makes it, with the same meaning. */
	return walk_resolve(root, rel, flags, what, fd);
}

/* ---- removal ---- */

static int remove_children(int dirfd, int depth);

static int remove_entry(int dirfd, const char *name, int depth)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return io_fail(errno, "removing", name);
	if (depth > 4096)
		return registry__fail(REGISTRY_EIO, "removing %s: tree too deep", name);
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return io_fail(errno, "opening to remove", name);
	int rc = remove_children(fd, depth + 1); /* takes fd */
	if (!rc && unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		rc = io_fail(errno, "removing", name);
	return rc;
}

/* Remove everything in the directory @fd (closed here). */
static int remove_children(int fd, int depth)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		int err = errno;
		close(fd);
		return io_fail(err, "listing", "a directory to remove");
	}
	int rc = 0;
	struct dirent *e;
	while (!rc && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		rc = remove_entry(dirfd(d), e->d_name, depth);
	}
	closedir(d);
	return rc;
}

int registry__root_remove_at(int dirfd, const char *name)
{
	return remove_entry(dirfd, name, 0);
}

/*
 * The layer applier: each tar member written beneath the root. Every
 * member's parent directory is opened beneath the root (root.c); its last
 * component is created, replaced or removed relative to that descriptor
 * and never followed. Whiteouts remove only what lower layers made.
 * Directories get their mode and times when the layer ends, after what
 * was written into them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "archive_lazy.h"

#include "applier.h"
#include "store/store_impl.h"

#define WHITEOUT ".wh."
#define OPAQUE ".wh..wh..opq"
#define WHITEOUT_META ".wh..wh." /* aufs bookkeeping (.wh..wh.plnk...): not content */

static int io_fail(int err, const char *doing, const char *path)
{
	return registry__fail(REGISTRY_EIO, "layer: %s %s: %s", doing, *path ? path : "/", registry__errno_text(err));
}

/* The member's parent, opened beneath the root; *base points into @path. */
static int open_parent(registry__applier *a, char *path, int create, int *fd, const char **base)
{
	int flags = (create ? REGISTRY__ROOT_CREATE : 0) | (a->plain ? REGISTRY__ROOT_NO_LINKS : 0);
	char *slash = strrchr(path, '/');
	if (!slash) {
		*base = path;
		return registry__root_open_dir(a->root, "", flags, path, fd);
	}
	*slash = '\0';
	int rc = registry__root_open_dir(a->root, path, flags, path, fd);
	*slash = '/';
	*base = slash + 1;
	return rc;
}

/* What make_room() found. */
enum { ROOM_MADE = 0, ROOM_DIR_KEPT = 1, ROOM_SKIP = 2 };

/* Make room for a new entry @base: ROOM_DIR_KEPT when a directory is there
 * and one is wanted, else ROOM_MADE. PLAIN replaces nothing, as libarchive's
 * no-overwrite extraction: ROOM_SKIP, the first entry of a name wins (a
 * directory keeps its settings), but a symbolic link there is removed. */
static int make_room(registry__applier *a, int dirfd, const char *base, int want_dir)
{
	struct stat st;
	if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? ROOM_MADE : io_fail(errno, "looking at", a->path);
	if (a->plain && !S_ISLNK(st.st_mode))
		return ROOM_SKIP;
	if (want_dir && S_ISDIR(st.st_mode))
		return ROOM_DIR_KEPT;
	int rc = registry__root_remove_at(dirfd, base);
	return rc < 0 ? rc : 0;
}

/* ---- metadata ---- */

static void set_owner(registry__applier *a, int fd, int dirfd, const char *base, struct archive_entry *e,
                      int *failed)
{
	uid_t uid = (uid_t)archive_entry_uid(e);
	gid_t gid = (gid_t)archive_entry_gid(e);
	if (a->plain)
		return; /* the caller's files */
	if (!a->as_root) {
		if (uid != geteuid() || gid != getegid())
			a->counts.skipped_owners++;
		return;
	}
	int r = fd >= 0 ? fchown(fd, uid, gid) : fchownat(dirfd, base, uid, gid, AT_SYMLINK_NOFOLLOW);
	if (r != 0)
		*failed = errno;
}

static int xattr_allowed(const registry__applier *a, const char *name)
{
	if (strncmp(name, "trusted.overlay.", 16) == 0)
		return 0; /* would turn the tree into overlayfs metadata */
	return a->as_root || strncmp(name, "user.", 5) == 0;
}

static void set_xattrs(registry__applier *a, int fd, struct archive_entry *e)
{
	const char *name = NULL;
	const void *value = NULL;
	size_t size = 0;
	if (a->plain)
		return;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		if (!name || !xattr_allowed(a, name) || fd < 0 || fsetxattr(fd, name, value, size, 0) != 0)
			a->counts.skipped_xattrs++;
	}
}

/* The mode an entry gets: all of its bits, or for PLAIN its permissions less the umask. */
static unsigned int entry_mode(const registry__applier *a, struct archive_entry *e)
{
	return a->plain ? (archive_entry_perm(e) & 0777 & ~a->umask) : (archive_entry_perm(e) & 07777);
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[1].tv_sec = archive_entry_mtime(e);
	ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	if (archive_entry_atime_is_set(e)) {
		ts[0].tv_sec = archive_entry_atime(e);
		ts[0].tv_nsec = archive_entry_atime_nsec(e);
	} else {
		ts[0] = ts[1];
	}
}

/* Owner, mode, xattrs and times of a file through its descriptor. */
static int finish_fd(registry__applier *a, int fd, struct archive_entry *e)
{
	int failed = 0;
	struct timespec ts[2];
	set_owner(a, fd, -1, NULL, e, &failed);
	if (!failed && fchmod(fd, entry_mode(a, e)) != 0) /* after chown, which clears setuid */
		failed = errno;
	set_xattrs(a, fd, e); /* after chown, which clears security.capability */
	entry_times(e, ts);
	if (!failed && futimens(fd, ts) != 0)
		failed = errno;
	return failed ? io_fail(failed, "setting the metadata of", a->path) : 0;
}

/* The same for what cannot be opened (links, fifos, devices). */
static int finish_at(registry__applier *a, int dirfd, const char *base, struct archive_entry *e, int chmod_too)
{
	int failed = 0;
	struct timespec ts[2];
	set_owner(a, -1, dirfd, base, e, &failed);
	if (!failed && chmod_too && fchmodat(dirfd, base, entry_mode(a, e), 0) != 0)
		failed = errno;
	if (archive_entry_xattr_count(e) && !a->plain)
		a->counts.skipped_xattrs += (uint64_t)archive_entry_xattr_count(e);
	entry_times(e, ts);
	if (!failed && utimensat(dirfd, base, ts, AT_SYMLINK_NOFOLLOW) != 0)
		failed = errno;
	return failed ? io_fail(failed, "setting the metadata of", a->path) : 0;
}

/* ---- entry types ---- */

static int write_data(registry__applier *a, int fd, struct archive_entry *e)
{
	const void *buf = NULL;
	size_t size = 0;
	la_int64_t offset = 0;
	int r;
	/* Blocks come with their offsets: the gaps of a sparse member stay holes. */
	while ((r = archive_read_data_block(a->inner, &buf, &size, &offset)) == ARCHIVE_OK) {
		if (size && (lseek(fd, offset, SEEK_SET) < 0 || registry__store_write_all(fd, buf, size)))
			return io_fail(errno, "writing", a->path);
		if (a->spent && a->spent(a->spent_ud))
			return 1; /* the rest in the next slice: libarchive keeps its place */
	}
	if (r != ARCHIVE_EOF)
		return registry__stream_fail(a, a->inner, "reading a file's data");
	if (archive_entry_size_is_set(e) && ftruncate(fd, archive_entry_size(e)) != 0)
		return io_fail(errno, "writing", a->path);
	return 0;
}

static int apply_file(registry__applier *a, int dirfd, const char *base, struct archive_entry *e)
{
	int rc = make_room(a, dirfd, base, 0);
	if (rc < 0 || rc == ROOM_SKIP)
		return rc < 0 ? rc : 0;
	int fd = openat(dirfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return io_fail(errno, "creating", a->path);
	a->pending = e;
	a->pending_fd = fd;
	return registry__apply_pending(a);
}

int registry__apply_pending(registry__applier *a)
{
	int rc = write_data(a, a->pending_fd, a->pending);
	if (rc == 1)
		return 1;
	if (!rc)
		rc = finish_fd(a, a->pending_fd, a->pending);
	registry__apply_pending_drop(a);
	return rc;
}

void registry__apply_pending_drop(registry__applier *a)
{
	if (!a->pending)
		return;
	close(a->pending_fd);
	a->pending = NULL;
	a->pending_fd = -1;
}

/* The directory's mode and times for the end of the layer: one record per
 * path, the last member's metadata winning, so that a layer repeating a
 * directory cannot grow the list without bound. */
static int defer_dir(registry__applier *a, struct archive_entry *e)
{
	int rc = registry__pathset_add(&a->seen, a->path);
	size_t *index = rc ? NULL : registry__pathset_value(&a->seen, a->path);
	if (rc)
		return rc;
	struct timespec ts[2];
	entry_times(e, ts);
	registry__dir_meta meta = {.mode = entry_mode(a, e),
	                           .mtime = ts[1].tv_sec, .mtime_ns = ts[1].tv_nsec,
	                           .atime = ts[0].tv_sec, .atime_ns = ts[0].tv_nsec};
	if (index && *index < a->ndirs) {
		meta.path = a->dirs[*index].path;
		a->dirs[*index] = meta;
		return 0;
	}
	if (a->ndirs == a->capdirs) {
		size_t cap = a->capdirs ? a->capdirs * 2 : 64;
		registry__dir_meta *d = realloc(a->dirs, cap * sizeof(*d));
		if (!d)
			return registry__nomem();
		a->dirs = d;
		a->capdirs = cap;
	}
	if (!(meta.path = registry__strdup(a->path)))
		return registry__nomem();
	if (index)
		*index = a->ndirs;
	a->dirs[a->ndirs++] = meta;
	return 0;
}

static int apply_dir(registry__applier *a, int dirfd, const char *base, struct archive_entry *e)
{
	int fd;
	if (!*a->path) {
		fd = openat(a->root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else {
		int rc = make_room(a, dirfd, base, 1);
		if (rc < 0 || rc == ROOM_SKIP)
			return rc < 0 ? rc : 0;
		if (rc == ROOM_MADE && mkdirat(dirfd, base, 0700) != 0)
			return io_fail(errno, "creating", a->path);
		fd = openat(dirfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return io_fail(errno, "opening", a->path);
	int failed = 0;
	set_owner(a, fd, -1, NULL, e, &failed);
	set_xattrs(a, fd, e);
	close(fd);
	if (failed)
		return io_fail(failed, "setting the owner of", a->path);
	return defer_dir(a, e);
}

static int apply_symlink(registry__applier *a, int dirfd, const char *base, struct archive_entry *e)
{
	const char *target = archive_entry_symlink(e);
	if (!target)
		return registry__fail(REGISTRY_EFORMAT, "layer: symbolic link %s without a target", a->path);
	int rc = make_room(a, dirfd, base, 0);
	if (rc < 0 || rc == ROOM_SKIP)
		return rc < 0 ? rc : 0;
	/* Written as it is, whatever it points at: nothing here ever follows it. */
	if (symlinkat(target, dirfd, base) != 0)
		return io_fail(errno, "creating", a->path);
	return finish_at(a, dirfd, base, e, 0);
}

static int apply_hardlink(registry__applier *a, int dirfd, const char *base, const char *target)
{
	int rc = registry__root_clean_path(a->link, sizeof(a->link), target);
	if (rc)
		return rc;
	if (!*a->link)
		return registry__fail(REGISTRY_EFORMAT, "layer: %s is a hard link to the root", a->path);
	int tfd = -1;
	const char *tbase = NULL;
	struct stat tst, st;
	if ((rc = open_parent(a, a->link, 0, &tfd, &tbase)))
		return rc == REGISTRY_ENOTFOUND ? registry__fail(REGISTRY_EFORMAT, "layer: hard link %s to %s, "
		                                                 "which is not in the tree", a->path, a->link) : rc;
	if (fstatat(tfd, tbase, &tst, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(tst.st_mode)) {
		close(tfd);
		return registry__fail(REGISTRY_EFORMAT, "layer: hard link %s to %s, which is not a file of the tree",
		                      a->path, a->link);
	}
	if (!a->plain && fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == tst.st_dev &&
	    st.st_ino == tst.st_ino) {
		close(tfd);
		return 0; /* already that file */
	}
	rc = make_room(a, dirfd, base, 0);
	/* flags 0: a link to a symbolic link links the link, never what it points at. */
	if (rc == ROOM_SKIP)
		rc = 0;
	else if (rc >= 0 && (rc = linkat(tfd, tbase, dirfd, base, 0)) != 0)
		rc = io_fail(errno, "creating the hard link", a->path);
	close(tfd);
	return rc;
}

static int apply_node(registry__applier *a, int dirfd, const char *base, struct archive_entry *e)
{
	mode_t type = archive_entry_filetype(e);
	if (type != AE_IFIFO && (!a->as_root || !(a->cfg.flags & REGISTRY_UNPACK_DEVICES))) {
		a->counts.skipped_devices++;
		return 0;
	}
	int rc = make_room(a, dirfd, base, 0);
	if (rc < 0 || rc == ROOM_SKIP)
		return rc < 0 ? rc : 0;
	dev_t dev = type == AE_IFIFO ? 0 : archive_entry_rdev(e);
	if (mknodat(dirfd, base, type | 0600, dev) != 0)
		return io_fail(errno, "creating", a->path);
	return finish_at(a, dirfd, base, e, 1);
}

/* ---- whiteouts ---- */

/* Remove the children of @dirfd that lower layers made (@dir: its path). */
static int apply_opaque(registry__applier *a, int dirfd, const char *dir)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return io_fail(errno, "listing", dir);
	}
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char child[sizeof(a->path)];
		if ((size_t)snprintf(child, sizeof(child), "%s%s%s", dir, *dir ? "/" : "", de->d_name) >= sizeof(child))
			continue; /* longer than any member name: not of this layer */
		if (!registry__pathset_has(&a->seen, child))
			rc = registry__root_remove_at(dirfd, de->d_name);
	}
	closedir(d);
	return rc;
}

static int apply_whiteout(registry__applier *a, int dirfd, const char *base)
{
	a->counts.whiteouts++;
	char *slash = strrchr(a->path, '/');
	size_t dir_len = slash ? (size_t)(slash - a->path) : 0;
	if (strcmp(base, OPAQUE) == 0) {
		char dir[sizeof(a->path)];
		memcpy(dir, a->path, dir_len);
		dir[dir_len] = '\0';
		return apply_opaque(a, dirfd, dir);
	}
	if (strncmp(base, WHITEOUT_META, strlen(WHITEOUT_META)) == 0)
		return 0;
	const char *name = base + strlen(WHITEOUT);
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return registry__fail(REGISTRY_EFORMAT, "layer: whiteout %s names no entry", a->path);
	/* The path it hides: what a member of this same layer wrote stays. */
	char hidden[sizeof(a->path)];
	snprintf(hidden, sizeof(hidden), "%.*s%s%s", (int)dir_len, a->path, dir_len ? "/" : "", name);
	if (registry__pathset_has(&a->seen, hidden))
		return 0;
	return registry__root_remove_at(dirfd, name);
}

/* ---- one member ---- */

static int apply_at(registry__applier *a, int dirfd, const char *base, struct archive_entry *e)
{
	if (!a->plain && strncmp(base, WHITEOUT, strlen(WHITEOUT)) == 0)
		return apply_whiteout(a, dirfd, base);
	const char *hardlink = archive_entry_hardlink(e);
	if (hardlink)
		return apply_hardlink(a, dirfd, base, hardlink);
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		return apply_file(a, dirfd, base, e);
	case AE_IFDIR:
		return apply_dir(a, dirfd, base, e);
	case AE_IFLNK:
		return apply_symlink(a, dirfd, base, e);
	case AE_IFIFO:
	case AE_IFCHR:
	case AE_IFBLK:
		return apply_node(a, dirfd, base, e);
	default:
		return registry__fail(REGISTRY_EFORMAT, "layer: %s has an unknown type 0%o", a->path,
		                      (unsigned)archive_entry_filetype(e));
	}
}

int registry__apply_entry(registry__applier *a, struct archive_entry *e)
{
	int rc = a->cfg.check ? a->cfg.check(e, a->cfg.check_ud) : 0;
	if (rc)
		return rc;
	const char *name = archive_entry_pathname(e);
	if (!name)
		return registry__fail(REGISTRY_EFORMAT, "layer: a member without a name");
	rc = registry__root_clean_path(a->path, sizeof(a->path), name);
	if (rc)
		return rc;
	a->counts.entries++;
	if (!*a->path && (archive_entry_filetype(e) != AE_IFDIR || archive_entry_hardlink(e)))
		return registry__fail(REGISTRY_EFORMAT, "layer: member \"%s\" would replace the root", name);
	const char *slash = strrchr(a->path, '/');
	int whiteout = !a->plain && strncmp(slash ? slash + 1 : a->path, WHITEOUT, strlen(WHITEOUT)) == 0;
	int dirfd = -1;
	const char *base = NULL;
	/* A whiteout makes no directories: where its parent is missing there is nothing to hide. */
	if ((rc = open_parent(a, a->path, !whiteout, &dirfd, &base)))
		return whiteout && rc == REGISTRY_ENOTFOUND ? (a->counts.whiteouts++, 0) : rc;
	rc = apply_at(a, dirfd, base, e);
	close(dirfd);
	/* A file whose data goes on later (rc 1) is this layer's already. */
	if (rc >= 0 && !whiteout) {
		int added = registry__pathset_add(&a->seen, a->path);
		if (added) {
			registry__apply_pending_drop(a);
			rc = added;
		}
	}
	return rc;
}

/* Mode and times of the directories of the layer, now that their contents are written. */
int registry__apply_dir_meta(registry__applier *a)
{
	int rc = 0;
	for (size_t i = a->ndirs; !rc && i-- > 0;) {
		registry__dir_meta *m = &a->dirs[i];
		int dirfd = -1, fd;
		const char *base = ".";
		if (*m->path)
			rc = open_parent(a, m->path, 0, &dirfd, &base);
		if (rc == REGISTRY_ENOTFOUND) {
			rc = 0; /* removed later in the layer */
			continue;
		}
		if (rc)
			break;
		fd = openat(*m->path ? dirfd : a->root, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dirfd >= 0)
			close(dirfd);
		if (fd < 0)
			continue; /* replaced later in the layer by something else */
		/* Without root, a directory stays writable and searchable for its owner,
		 * or later layers (and removing the tree) could not write into it. */
		unsigned int mode = a->as_root || a->plain ? m->mode : m->mode | 0700;
		struct timespec ts[2] = {{.tv_sec = m->atime, .tv_nsec = m->atime_ns},
		                         {.tv_sec = m->mtime, .tv_nsec = m->mtime_ns}};
		if (fchmod(fd, mode) != 0 || futimens(fd, ts) != 0)
			rc = io_fail(errno, "setting the metadata of", m->path);
		close(fd);
	}
	for (size_t i = 0; i < a->ndirs; i++)
		free(a->dirs[i].path);
	a->ndirs = 0;
	return rc;
}

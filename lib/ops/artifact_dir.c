/*
 * Directories in artifacts, as oras packs them: a gzip-compressed tar whose
 * entries all live under the directory's name (its title). Packed here with
 * libarchive's disk reader; unpacked by the unpack layer's applier in its
 * PLAIN profile (lib/unpack/apply.c), with the rules of an artifact checked
 * on each member first.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(REGISTRY_HAVE_LIBARCHIVE) && defined(REGISTRY_HAVE_ZLIB)
#include "archive_lazy.h"
#include <zlib.h>
#define HAVE_DIRS 1
#endif

#include "artifact_impl.h"
#include "digest/hash.h"
#include "unpack/unpack_impl.h"

/* A tar from a registry with more entries than this is refused. */
#define UNPACK_ENTRIES_MAX 100000

#ifdef HAVE_DIRS

typedef struct pack_out {
	gzFile gz;
	registry__hash h;
	int failed;
} pack_out;

/* The tar's bytes: hashed as they are (content.digest), then gzipped. */
static la_ssize_t pack_write(struct archive *a, void *ud, const void *buf, size_t len)
{
	pack_out *o = ud;
	if (registry__hash_update(&o->h, buf, len) != 0 || gzwrite(o->gz, buf, (unsigned)len) != (int)len) {
		o->failed = 1;
		archive_set_error(a, EIO, "cannot write the packed directory");
		return -1;
	}
	return (la_ssize_t)len;
}

static int archive_fail(struct archive *a, const char *what, const char *name)
{
	return registry__fail(REGISTRY_EIO, "%s: %.300s: %.300s", what, name ? name : "",
	                      a && archive_error_string(a) ? archive_error_string(a) : "libarchive failed");
}

/* One entry of the walk, renamed under @title, with its bytes. */
static int pack_entry(struct archive *disk, struct archive *w, struct archive_entry *e, const char *root,
                      const char *title)
{
	const char *name = archive_entry_pathname(e);
	unsigned int type = archive_entry_filetype(e);
	if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
		return registry__fail(REGISTRY_EINVAL, "packing %.300s: only files, directories and symlinks", name);
	registry__buf renamed;
	registry__buf_init(&renamed, 0);
	if (registry__buf_printf(&renamed, "%s%s", title, name + strlen(root)) != 0) {
		registry__buf_free(&renamed);
		return registry__nomem();
	}
	archive_entry_set_pathname(e, renamed.data);
	registry__buf_free(&renamed);
	archive_entry_set_uname(e, NULL); /* no local user names in a published artifact */
	archive_entry_set_gname(e, NULL);
	if (archive_write_header(w, e) != ARCHIVE_OK)
		return archive_fail(w, "packing", name);
	if (type != AE_IFREG)
		return 0;
	char buf[65536];
	la_ssize_t n;
	while ((n = archive_read_data(disk, buf, sizeof(buf))) > 0)
		if (archive_write_data(w, buf, (size_t)n) != n)
			return archive_fail(w, "packing", name);
	return n < 0 ? archive_fail(disk, "reading", name) : 0;
}

static int pack_walk(struct archive *w, const char *root, const char *title)
{
	struct archive *disk = archive_read_disk_new();
	struct archive_entry *e = archive_entry_new();
	int rc = disk && e ? 0 : registry__nomem();
	if (!rc && (archive_read_disk_set_symlink_physical(disk) != ARCHIVE_OK ||
	            archive_read_disk_open(disk, root) != ARCHIVE_OK))
		rc = archive_fail(disk, "opening", root);
	int r;
	while (!rc && (r = archive_read_next_header2(disk, e)) != ARCHIVE_EOF) {
		if (r != ARCHIVE_OK)
			rc = archive_fail(disk, "walking", root);
		else if (!(rc = pack_entry(disk, w, e, root, title)) && archive_read_disk_can_descend(disk))
			archive_read_disk_descend(disk);
	}
	archive_entry_free(e);
	if (disk)
		archive_read_free(disk);
	return rc;
}

int registry__artifact_pack_dir(const char *path, const char *title, const char *out_path,
                                char tar_digest[REGISTRY_DIGEST_STRING_MAX])
{
	int loaded = registry__archive_load("packing a directory");
	if (loaded)
		return loaded;
	char *root = registry__strdup(path);
	if (!root)
		return registry__nomem();
	for (size_t n = strlen(root); n > 1 && root[n - 1] == '/'; n--)
		root[n - 1] = '\0'; /* "dir/" packs as "dir": entry names are root + rest */
	pack_out o = {0};
	int fd = open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	int rc = fd < 0 ? registry__fail(REGISTRY_EIO, "cannot create %.300s: %s", out_path, registry__errno_text(errno)) : 0;
	if (!rc && !(o.gz = gzdopen(fd, "wb"))) {
		close(fd);
		rc = registry__nomem();
	}
	int hashing = !rc && !(rc = registry__hash_init(&o.h, REGISTRY_DIGEST_SHA256));
	struct archive *w = rc ? NULL : archive_write_new();
	if (!rc && (!w || archive_write_set_format_pax_restricted(w) != ARCHIVE_OK ||
	            archive_write_open(w, &o, NULL, pack_write, NULL) != ARCHIVE_OK))
		rc = w ? archive_fail(w, "packing", path) : registry__nomem();
	if (!rc)
		rc = pack_walk(w, root, title);
	if (w && archive_write_close(w) != ARCHIVE_OK && !rc)
		rc = archive_fail(w, "packing", path);
	if (w)
		archive_write_free(w);
	if (o.gz && gzclose(o.gz) != Z_OK && !rc)
		rc = registry__fail(REGISTRY_EIO, "cannot write %.300s", out_path);
	if (!rc && o.failed)
		rc = registry__fail(REGISTRY_EIO, "cannot write %.300s", out_path);
	if (hashing) {
		if (!rc)
			registry__hash_final(&o.h, tar_digest);
		registry__hash_cleanup(&o.h);
	}
	free(root);
	return rc;
}

/* @name is @title or under "@title/", every component a plain one. */
static int entry_name_ok(const char *name, const char *title)
{
	size_t tl = strlen(title);
	if (strncmp(name, title, tl) != 0 || (name[tl] != '\0' && name[tl] != '/'))
		return 0;
	for (const char *p = name; *p;) {
		size_t n = strcspn(p, "/");
		if (p[n] == '/' && p[n + 1] == '\0')
			return n > 0; /* a directory's trailing slash */
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
				return 0;
		p += n + (p[n] == '/');
	}
	return 1;
}

/* A symlink's target: relative, no ".." component, so it stays beneath. */
static int link_target_ok(const char *target)
{
	if (!target || !*target || target[0] == '/')
		return 0;
	for (const char *p = target; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return 0;
		p += n + (p[n] == '/');
	}
	return 1;
}

/* The applier's hook: every member checked by the rules above before it is
 * written (the applier then resolves it beneath the root, PLAIN). */
typedef struct dir_check {
	const char *title, *what;
	long entries;
	int rc; /* a refusal of ours, already named */
} dir_check;

static int check_rules(dir_check *c, struct archive_entry *e)
{
	const char *name = archive_entry_pathname(e), *what = c->what, *title = c->title;
	const char *hardlink = archive_entry_hardlink(e);
	unsigned int type = archive_entry_filetype(e);
	if (++c->entries > UNPACK_ENTRIES_MAX)
		return registry__fail(REGISTRY_ETOOLARGE, "%s: more than %d entries", what, UNPACK_ENTRIES_MAX);
	if (!name || !entry_name_ok(name, title))
		return registry__fail(REGISTRY_EINVAL, "%s: the entry \"%.300s\" is not beneath \"%.300s\"", what,
		                      name ? name : "", title);
	if (hardlink && !entry_name_ok(hardlink, title))
		return registry__fail(REGISTRY_EINVAL, "%s: the hardlink %.300s leads out to \"%.300s\"", what, name,
		                      hardlink);
	if (!hardlink && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
		return registry__fail(REGISTRY_EINVAL, "%s: %.300s is a device, FIFO or socket", what, name);
	if (!hardlink && type == AE_IFLNK && !link_target_ok(archive_entry_symlink(e)))
		return registry__fail(REGISTRY_EINVAL, "%s: the symlink %.300s leads out to \"%.300s\"", what, name,
		                      archive_entry_symlink(e) ? archive_entry_symlink(e) : "");
	archive_entry_set_perm(e, archive_entry_perm(e) & 0777); /* no setuid, setgid, sticky */
	return 0;
}

static int check_entry(struct archive_entry *e, void *ud)
{
	dir_check *c = ud;
	return c->rc = check_rules(c, e);
}

/* oras packs gzip; a plain tar passes too, as it always did; zstd does not. */
static int check_compression(int fd, const char *what, const char *title)
{
	unsigned char magic[4] = {0};
	off_t at = lseek(fd, 0, SEEK_CUR);
	if (at >= 0 && pread(fd, magic, sizeof(magic), at) == (ssize_t)sizeof(magic) && magic[0] == 0x28 &&
	    magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
		return registry__fail(REGISTRY_EIO, "%s: %.300s is zstd, not a tar or a gzip-compressed tar", what,
		                      title);
	return 0;
}

int registry__artifact_unpack_dir(int fd, const char *root, const char *title, const char *what)
{
	int rc = check_compression(fd, what, title);
	if (rc)
		return rc;
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return registry__fail(REGISTRY_EIO, "cannot open %.300s: %s", root, registry__errno_text(errno));
	dir_check check = {.title = title, .what = what};
	registry__applier_config cfg = {.profile = REGISTRY__APPLY_PLAIN, .check = check_entry, .check_ud = &check};
	registry__fd_source src = {.fd = fd, .what = title};
	registry__applier *a = NULL;
	if (!(rc = registry__applier_new(&a, rootfd, &cfg)))
		rc = registry__applier_run(a, registry__fd_read, &src, NULL);
	registry__applier_free(a);
	close(rootfd);
	if (rc && rc != check.rc) {
		/* The applier's own refusals, named as before: EIO, as libarchive's were. */
		char why[REGISTRY__MSG_MAX];
		snprintf(why, sizeof(why), "%s", registry_error_message(registry_error_last()));
		rc = registry__fail(rc == REGISTRY_EFORMAT ? REGISTRY_EIO : rc, "%s: %.300s: %s", what, title, why);
	}
	return rc;
}

#else

int registry__artifact_pack_dir(const char *path, const char *title, const char *out_path,
                                char tar_digest[REGISTRY_DIGEST_STRING_MAX])
{
	(void)title, (void)out_path, (void)tar_digest;
	return registry__fail(REGISTRY_EUNSUPPORTED, "built without libarchive and zlib: cannot pack %.300s", path);
}

int registry__artifact_unpack_dir(int fd, const char *root, const char *title, const char *what)
{
	(void)fd, (void)root;
	return registry__fail(REGISTRY_EUNSUPPORTED, "%s: built without libarchive and zlib: cannot unpack %.300s",
	                      what, title);
}

#endif

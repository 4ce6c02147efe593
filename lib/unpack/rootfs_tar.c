/*
 * An unpacked tree as one tar (pax), what `crane export` gives and
 * `machinectl import-tar` or `docker import` take: libarchive reads the
 * tree without following links (hard links found by its link resolver)
 * and writes the members with names relative to the tree.
 */
#include <stdlib.h>
#include <string.h>

#include "archive_lazy.h"

#include "unpack_impl.h"

#define COPY_BUFFER (256u << 10)

static int tar_fail(struct archive *ar, const char *doing)
{
	const char *why = archive_error_string(ar);
	return registry__fail(REGISTRY_EIO, "rootfs tar: %s: %s", doing, why ? why : "failed");
}

static int copy_data(struct archive *in, struct archive *out, char *buf)
{
	la_ssize_t n;
	while ((n = archive_read_data(in, buf, COPY_BUFFER)) > 0)
		if (archive_write_data(out, buf, (size_t)n) != n)
			return tar_fail(out, "writing");
	return n < 0 ? tar_fail(in, "reading the tree") : 0;
}

/* Name relative to the tree: "./" for its top, "./x/y" below. */
static int rename_entry(struct archive_entry *e, size_t root_len)
{
	const char *name = archive_entry_pathname(e);
	if (!name || strlen(name) < root_len)
		return registry__fail(REGISTRY_EIO, "rootfs tar: unexpected name in the tree");
	registry__buf b;
	registry__buf_init(&b, 0);
	int rc = registry__buf_printf(&b, ".%s", name[root_len] ? name + root_len : "/") ? registry__nomem() : 0;
	if (!rc)
		archive_entry_copy_pathname(e, b.data);
	registry__buf_free(&b);
	return rc;
}

static int write_tree(struct archive *in, struct archive *out, struct archive_entry_linkresolver *lr,
                      size_t root_len, char *buf)
{
	int rc = 0;
	for (;;) {
		struct archive_entry *e = archive_entry_new(), *sparse = NULL;
		if (!e)
			return registry__nomem();
		int r = archive_read_next_header2(in, e);
		if (r == ARCHIVE_EOF) {
			archive_entry_free(e);
			break;
		}
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			archive_entry_free(e);
			return tar_fail(in, "reading the tree");
		}
		archive_read_disk_descend(in);
		rc = rename_entry(e, root_len);
		struct archive_entry *w = e;
		if (!rc)
			archive_entry_linkify(lr, &w, &sparse);
		if (!rc && w && archive_write_header(out, w) != ARCHIVE_OK)
			rc = tar_fail(out, archive_entry_pathname(w));
		/* Data goes with the first name of a file; later names are hard links. */
		if (!rc && w == e && !archive_entry_hardlink(e) && archive_entry_size(e) > 0)
			rc = copy_data(in, out, buf);
		if (w != e)
			archive_entry_free(w);
		archive_entry_free(e);
		if (rc)
			return rc;
	}
	return 0;
}

int registry__tree_to_tar(const char *root_path, int fd)
{
	int loaded = registry__archive_load("writing a root filesystem tar");
	if (loaded)
		return loaded;
	struct archive *in = archive_read_disk_new(), *out = archive_write_new();
	struct archive_entry_linkresolver *lr = archive_entry_linkresolver_new();
	char *buf = malloc(COPY_BUFFER);
	int rc = in && out && lr && buf ? 0 : registry__nomem();
	if (!rc) {
		archive_read_disk_set_symlink_physical(in);
		archive_read_disk_set_behavior(in, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
		archive_write_set_format_pax_restricted(out);
		archive_entry_linkresolver_set_strategy(lr, archive_format(out));
		if (archive_write_set_bytes_in_last_block(out, 1) != ARCHIVE_OK || archive_write_open_fd(out, fd) != ARCHIVE_OK)
			rc = tar_fail(out, "starting");
		else if (archive_read_disk_open(in, root_path) != ARCHIVE_OK)
			rc = tar_fail(in, "opening the tree");
	}
	if (!rc)
		rc = write_tree(in, out, lr, strlen(root_path), buf);
	if (!rc && archive_write_close(out) != ARCHIVE_OK)
		rc = tar_fail(out, "finishing");
	free(buf);
	if (lr)
		archive_entry_linkresolver_free(lr);
	if (in)
		archive_read_free(in);
	if (out)
		archive_write_free(out);
	return rc;
}

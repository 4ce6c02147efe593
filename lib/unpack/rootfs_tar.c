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

struct registry__tree_tar {
	struct archive *in, *out;
	struct archive_entry_linkresolver *lr;
	char *buf;
	size_t root_len;
	int data; /* a member's data is being copied (the next read goes on with it) */
};

void registry__tree_tar_free(registry__tree_tar *t)
{
	if (!t)
		return;
	free(t->buf);
	if (t->lr)
		archive_entry_linkresolver_free(t->lr);
	if (t->in)
		archive_read_free(t->in);
	if (t->out)
		archive_write_free(t->out);
	free(t);
}

int registry__tree_tar_open(registry__tree_tar **out, const char *root_path, int fd)
{
	*out = NULL;
	int loaded = registry__archive_load("writing a root filesystem tar");
	if (loaded)
		return loaded;
	registry__tree_tar *t = calloc(1, sizeof(*t));
	if (!t)
		return registry__nomem();
	t->in = archive_read_disk_new();
	t->out = archive_write_new();
	t->lr = archive_entry_linkresolver_new();
	t->buf = malloc(COPY_BUFFER);
	t->root_len = strlen(root_path);
	int rc = t->in && t->out && t->lr && t->buf ? 0 : registry__nomem();
	if (!rc) {
		archive_read_disk_set_symlink_physical(t->in);
		archive_read_disk_set_behavior(t->in, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
		archive_write_set_format_pax_restricted(t->out);
		archive_entry_linkresolver_set_strategy(t->lr, archive_format(t->out));
		if (archive_write_set_bytes_in_last_block(t->out, 1) != ARCHIVE_OK ||
		    archive_write_open_fd(t->out, fd) != ARCHIVE_OK)
			rc = tar_fail(t->out, "starting");
		else if (archive_read_disk_open(t->in, root_path) != ARCHIVE_OK)
			rc = tar_fail(t->in, "opening the tree");
	}
	if (rc) {
		registry__tree_tar_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

/* The next piece of the member's data (up to COPY_BUFFER): 1 while more
 * follows, 0 at its end, or a failure. */
static int copy_piece(registry__tree_tar *t)
{
	la_ssize_t n = archive_read_data(t->in, t->buf, COPY_BUFFER);
	if (n < 0)
		return tar_fail(t->in, "reading the tree");
	if (n > 0 && archive_write_data(t->out, t->buf, (size_t)n) != n)
		return tar_fail(t->out, "writing");
	return n > 0;
}

/* The next member's header (and its hard link's, from the resolver): 1
 * when its data follows, 0 when not, 2 at the tree's end, or a failure. */
static int next_member(registry__tree_tar *t)
{
	struct archive_entry *e = archive_entry_new(), *sparse = NULL;
	if (!e)
		return registry__nomem();
	int r = archive_read_next_header2(t->in, e);
	if (r == ARCHIVE_EOF) {
		archive_entry_free(e);
		return 2;
	}
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
		archive_entry_free(e);
		return tar_fail(t->in, "reading the tree");
	}
	archive_read_disk_descend(t->in);
	int rc = rename_entry(e, t->root_len);
	struct archive_entry *w = e;
	if (!rc)
		archive_entry_linkify(t->lr, &w, &sparse);
	if (!rc && w && archive_write_header(t->out, w) != ARCHIVE_OK)
		rc = tar_fail(t->out, archive_entry_pathname(w));
	/* Data goes with the first name of a file; later names are hard links. */
	if (!rc && w == e && !archive_entry_hardlink(e) && archive_entry_size(e) > 0)
		rc = 1;
	if (w != e)
		archive_entry_free(w);
	archive_entry_free(e);
	return rc;
}

int registry__tree_tar_step(registry__tree_tar *t, int (*spent)(void *ud), void *ud)
{
	do {
		int rc = t->data ? copy_piece(t) : next_member(t);
		if (rc < 0)
			return rc;
		if (rc == 2) {
			if (archive_write_close(t->out) != ARCHIVE_OK)
				return tar_fail(t->out, "finishing");
			return 0;
		}
		t->data = rc == 1;
	} while (!spent || !spent(ud));
	return 1;
}

int registry__tree_to_tar(const char *root_path, int fd)
{
	registry__tree_tar *t = NULL;
	int rc = registry__tree_tar_open(&t, root_path, fd);
	if (!rc)
		rc = registry__tree_tar_step(t, NULL, NULL);
	registry__tree_tar_free(t);
	return rc;
}

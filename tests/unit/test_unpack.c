/*
 * The unpack module's pieces without a registry: member names cleaned
 * (".." refused), the bounded path set, the applier driven step by step
 * as an event loop would, sparse members kept sparse, the stats version
 * checked, and a whiteout that only hides lower layers.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "check.h"
#include "ops/pull_impl.h"
#include "unpack/applier.h"
#include "unpack/pathset.h"
#include "unpack/unpack_impl.h"

static void test_clean_path(void)
{
	char out[64];
	CHECK_INT(registry__root_clean_path(out, sizeof(out), "./a//b/./c/"), 0);
	CHECK_STR(out, "a/b/c");
	CHECK_INT(registry__root_clean_path(out, sizeof(out), "/etc/passwd"), 0);
	CHECK_STR(out, "etc/passwd");
	CHECK_INT(registry__root_clean_path(out, sizeof(out), "./"), 0);
	CHECK_STR(out, "");
	CHECK_INT(registry__root_clean_path(out, sizeof(out), "a/../../x"), REGISTRY_EFORMAT);
	CHECK_INT(registry__root_clean_path(out, sizeof(out), ".."), REGISTRY_EFORMAT);
	CHECK_INT(registry__root_clean_path(out, sizeof(out), "a/..b/c..d"), 0); /* names, not ".." */
	CHECK_STR(out, "a/..b/c..d");
	char longname[200];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_INT(registry__root_clean_path(out, sizeof(out), longname), REGISTRY_EFORMAT);
}

static void test_pathset(void)
{
	registry__pathset s = {0};
	char name[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "dir/%d", i);
		CHECK_INT(registry__pathset_add(&s, name), 0);
	}
	CHECK_INT(registry__pathset_add(&s, "dir/7"), 0);
	CHECK_INT(s.count, 5000);
	CHECK(registry__pathset_has(&s, "dir/4999"));
	CHECK(!registry__pathset_has(&s, "dir/5000"));
	registry__pathset_clear(&s);
	CHECK(!registry__pathset_has(&s, "dir/1"));
}

/* A tar in memory made with libarchive's writer (it can write sparse members). */
typedef struct membuf {
	char data[1 << 16];
	size_t len, off;
} membuf;

static membuf tarbuf;

static void tar_member(struct archive *w, const char *name, int type, const char *data, int64_t size,
                       int sparse)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, (unsigned)type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_size(e, type == AE_IFREG ? size : 0);
	archive_entry_set_mtime(e, 1500000000, 0);
	if (sparse)
		archive_entry_sparse_add_entry(e, size - 4096, 4096);
	CHECK_INT(archive_write_header(w, e), ARCHIVE_OK);
	if (data)
		CHECK(archive_write_data(w, data, strlen(data)) == (la_ssize_t)strlen(data));
	archive_entry_free(e);
}

static void make_tar(int with_whiteout)
{
	struct archive *w = archive_write_new();
	size_t used = 0;
	archive_write_set_format_pax(w);
	archive_write_set_bytes_in_last_block(w, 1);
	CHECK_INT(archive_write_open_memory(w, tarbuf.data, sizeof(tarbuf.data), &used), ARCHIVE_OK);
	tar_member(w, "d", AE_IFDIR, NULL, 0, 0);
	if (with_whiteout)
		tar_member(w, "d/.wh.lower", AE_IFREG, NULL, 0, 0);
	tar_member(w, "d/f", AE_IFREG, "hello", 5, 0);
	if (with_whiteout)
		tar_member(w, "d/.wh.f", AE_IFREG, NULL, 0, 0); /* same layer: f stays */
	char block[4096];
	memset(block, 'z', sizeof(block) - 1);
	block[sizeof(block) - 1] = '\0';
	tar_member(w, "sparse", AE_IFREG, block, 8 << 20, 1);
	archive_write_close(w);
	archive_write_free(w);
	tarbuf.len = used;
	tarbuf.off = 0;
}

static int64_t read_buf(void *buf, size_t len, void *ud)
{
	membuf *m = ud;
	size_t n = m->len - m->off < len ? m->len - m->off : len;
	memcpy(buf, m->data + m->off, n);
	m->off += n;
	return (int64_t)n;
}

static int make_root(char *path, size_t size)
{
	snprintf(path, size, "/tmp/unit-unpack-XXXXXX");
	if (!mkdtemp(path))
		return -1;
	return open(path, O_RDONLY | O_DIRECTORY);
}

static void test_applier_steps(void)
{
	char root_path[64];
	int root = make_root(root_path, sizeof(root_path));
	CHECK(root >= 0);
	/* A lower layer's file the next layer whites out. */
	CHECK_INT(mkdirat(root, "d", 0755), 0);
	int fd = openat(root, "d/lower", O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0);
	close(fd);
	make_tar(1);
	registry__applier_config cfg = {0};
	registry__applier *a = NULL;
	CHECK_INT(registry__applier_new(&a, root, &cfg), 0);
	CHECK_INT(registry__applier_begin(a, read_buf, &tarbuf, NULL), 0);
	int steps = 0, rc;
	while ((rc = registry__applier_step(a)) == 1)
		steps++; /* an event loop would do other work between steps */
	CHECK_INT(rc, 0);
	CHECK_INT(steps, 5);
	CHECK_INT(registry__applier_counts(a)->layers, 1);
	CHECK_INT(registry__applier_counts(a)->whiteouts, 2);
	struct stat st;
	CHECK(fstatat(root, "d/lower", &st, AT_SYMLINK_NOFOLLOW) != 0);
	CHECK(fstatat(root, "d/f", &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_size == 5);
	CHECK(fstatat(root, "d", &st, 0) == 0 && st.st_mtime == 1500000000);
	CHECK(fstatat(root, "sparse", &st, 0) == 0 && st.st_size == (8 << 20));
	CHECK(st.st_blocks * 512 < (1 << 20)); /* the hole stayed a hole */
	CHECK_INT(registry__applier_step(a), REGISTRY_EINVAL); /* no layer begun */
	registry__applier_free(a);
	close(root);
	CHECK_INT(registry__remove_tree(root_path, 0), 0);
}

/* A directory repeated in a layer keeps one pending record; the last member's metadata wins. */
static void test_repeated_dir(void)
{
	struct archive *w = archive_write_new();
	size_t used = 0;
	archive_write_set_format_pax(w);
	CHECK_INT(archive_write_open_memory(w, tarbuf.data, sizeof(tarbuf.data), &used), ARCHIVE_OK);
	for (int i = 0; i < 3; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, "d");
		archive_entry_set_filetype(e, AE_IFDIR);
		archive_entry_set_perm(e, 0700 + (unsigned)i * 010);
		archive_entry_set_mtime(e, 1000 + i, 0);
		CHECK_INT(archive_write_header(w, e), ARCHIVE_OK);
		archive_entry_free(e);
	}
	archive_write_close(w);
	archive_write_free(w);
	tarbuf.len = used;
	tarbuf.off = 0;
	char root_path[64];
	int root = make_root(root_path, sizeof(root_path));
	registry__applier_config cfg = {0};
	registry__applier *a = NULL;
	CHECK_INT(registry__applier_new(&a, root, &cfg), 0);
	CHECK_INT(registry__applier_begin(a, read_buf, &tarbuf, NULL), 0);
	for (int i = 0; i < 3; i++)
		CHECK_INT(registry__applier_step(a), 1);
	CHECK_INT(a->ndirs, 1);
	CHECK_INT(registry__applier_step(a), 0);
	struct stat st;
	CHECK(fstatat(root, "d", &st, 0) == 0 && st.st_mtime == 1002 && (st.st_mode & 07777) == 0720);
	registry__applier_free(a);
	close(root);
	CHECK_INT(registry__remove_tree(root_path, 0), 0);
}

static void test_stats_version(void)
{
	registry_unpack_stats st = {0};
	CHECK_INT(registry_layer_apply(&st, "/", 0, NULL, NULL), REGISTRY_EINVAL);
	CHECK(strstr(registry_error_message(registry_error_last()), "stats version") != NULL);
}

int main(void)
{
	RUN(test_clean_path);
	RUN(test_pathset);
	RUN(test_applier_steps);
	RUN(test_repeated_dir);
	RUN(test_stats_version);
	return CHECK_DONE();
}

/*
 * The two gzip inflaters of the layer applier, ISA-L's (when built in) and
 * libarchive's zlib filter, on crafted streams: each case is applied with
 * each inflater forced and must end the same way (the same code, the same
 * tar bytes counted), and the way it should: concatenated members are one
 * tar, a truncated or damaged stream is REGISTRY_EFORMAT (a bad trailer
 * only for ISA-L: see test_bad_trailer), bytes after the
 * last member are ignored (as libarchive and gzip -d do), and a bomb stops
 * at max_size. Reads of one byte at a time cross every boundary.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <archive.h>
#include <archive_entry.h>

#include "check.h"
#include "ops/pull_impl.h"
#include "unpack/applier.h"
#include "unpack/inflate.h"
#include "unpack/unpack_impl.h"

#define CAP (1u << 20)

typedef struct stream {
	unsigned char *data;
	size_t len, off, chunk; /* chunk: the most one read returns */
} stream;

static unsigned char tar[64 << 10];
static size_t tar_len;
static char tar_digest[REGISTRY_DIGEST_STRING_MAX];

static void make_tar(void)
{
	struct archive *w = archive_write_new();
	archive_write_set_format_pax_restricted(w);
	CHECK_INT(archive_write_open_memory(w, tar, sizeof(tar), &tar_len), ARCHIVE_OK);
	static char text[20000];
	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (char)('a' + (i * 7 + i / 13) % 26); /* compressible, not trivially */
	const char *names[] = {"d", "d/f", "d/g"};
	for (int i = 0; i < 3; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, names[i]);
		archive_entry_set_filetype(e, i ? AE_IFREG : AE_IFDIR);
		archive_entry_set_perm(e, 0755);
		archive_entry_set_size(e, i ? (la_int64_t)sizeof(text) : 0);
		CHECK_INT(archive_write_header(w, e), ARCHIVE_OK);
		if (i)
			CHECK(archive_write_data(w, text, sizeof(text)) == (la_ssize_t)sizeof(text));
		archive_entry_free(e);
	}
	archive_write_close(w);
	archive_write_free(w);
	CHECK_INT(registry__digest_buffer(tar_digest, REGISTRY_DIGEST_SHA256, tar, tar_len), 0);
}

/* One gzip member of @len bytes at @p appended to @s. */
static void gzip_member(stream *s, const void *p, size_t len)
{
	z_stream z = {0};
	CHECK_INT(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (unsigned char *)p;
	z.avail_in = (uInt)len;
	z.next_out = s->data + s->len;
	z.avail_out = (uInt)(CAP - s->len);
	CHECK_INT(deflate(&z, Z_FINISH), Z_STREAM_END);
	s->len += z.total_out;
	deflateEnd(&z);
}

static void new_stream(stream *s)
{
	*s = (stream){.data = calloc(1, CAP), .chunk = 1u << 20};
	CHECK(s->data != NULL);
}

static int64_t read_stream(void *buf, size_t len, void *ud)
{
	stream *s = ud;
	size_t n = s->len - s->off;
	if (n > len)
		n = len;
	if (n > s->chunk)
		n = s->chunk;
	memcpy(buf, s->data + s->off, n);
	s->off += n;
	return (int64_t)n;
}

typedef struct outcome {
	int rc;
	uint64_t bytes;
	char message[512];
} outcome;

static outcome apply(stream *s, int mode, uint64_t max_size)
{
	char root_path[64];
	snprintf(root_path, sizeof(root_path), "/tmp/unit-inflate-XXXXXX");
	CHECK(mkdtemp(root_path) != NULL);
	int root = open(root_path, O_RDONLY | O_DIRECTORY);
	registry__applier_config cfg = {.max_size = max_size};
	registry__applier *a = NULL;
	CHECK_INT(registry__applier_new(&a, root, &cfg), 0);
	int old = registry__inflate_set_mode(mode);
	s->off = 0;
	outcome o = {.rc = registry__applier_run(a, read_stream, s, max_size ? NULL : tar_digest)};
	registry__inflate_set_mode(old);
	o.bytes = registry__applier_counts(a)->bytes;
	snprintf(o.message, sizeof(o.message), "%s", o.rc ? registry_error_message(registry_error_last()) : "");
	registry__applier_free(a);
	close(root);
	CHECK_INT(registry__remove_tree(root_path, 0), 0);
	return o;
}

/* Both inflaters, whole reads and one-byte reads: @want_isal from ISA-L's
 * (when built in), @want_zlib from libarchive's; the same tar bytes. */
static void each(stream *s, int want_isal, int want_zlib, uint64_t max_size, const char *case_name)
{
	int old = registry__inflate_set_mode(REGISTRY__INFLATE_ISAL);
	int isal_built = registry__inflate_use_isal();
	registry__inflate_set_mode(old);
	outcome first = {0};
	for (int i = 0; i < 4; i++) {
		s->chunk = i & 1 ? 1 : 1u << 20;
		if (i & 1 && s->len > (64u << 10))
			continue; /* a bomb byte by byte would only be slow */
		int want = i & 2 || !isal_built ? want_zlib : want_isal;
		outcome o = apply(s, i & 2 ? REGISTRY__INFLATE_ZLIB : REGISTRY__INFLATE_ISAL, max_size);
		if (o.rc != want)
			fprintf(stderr, "%s (%s, %s reads): %s\n", case_name, i & 2 ? "zlib" : "isal",
			        i & 1 ? "1-byte" : "whole", o.message);
		CHECK_INT(o.rc, want);
		/* The ISA-L path was the one taken (when built in): its messages say "gzip:". */
		if (!(i & 2) && o.rc == REGISTRY_EFORMAT && isal_built)
			CHECK(strstr(o.message, "decompressing: gzip: ") != NULL);
		if (i == 0)
			first = o;
		else if (!want && !first.rc)
			CHECK_INT(o.bytes, first.bytes); /* the same tar bytes counted */
	}
	free(s->data);
}

/* Both inflaters: the same outcome, @want. */
static void both(stream *s, int want, uint64_t max_size, const char *case_name)
{
	each(s, want, want, max_size, case_name);
}

static void test_one_member(void)
{
	stream s;
	new_stream(&s);
	gzip_member(&s, tar, tar_len);
	both(&s, 0, 0, "one member");
}

/* As `cat a.gz b.gz`: the members' contents, in order, are the tar. An
 * empty member in the middle too. */
static void test_members(void)
{
	stream s;
	new_stream(&s);
	gzip_member(&s, tar, 1000);
	gzip_member(&s, tar, 0);
	gzip_member(&s, tar + 1000, 20000);
	gzip_member(&s, tar + 21000, tar_len - 21000);
	both(&s, 0, 0, "members");
}

static void test_truncated(void)
{
	stream s;
	new_stream(&s);
	gzip_member(&s, tar, tar_len);
	s.len /= 2;
	both(&s, REGISTRY_EFORMAT, 0, "cut in the middle");
	new_stream(&s);
	gzip_member(&s, tar, 1000);
	gzip_member(&s, tar + 1000, tar_len - 1000);
	s.len -= 20; /* inside the last member's deflate data */
	both(&s, REGISTRY_EFORMAT, 0, "cut in the last member");
}

/* A damaged deflate stream: a code is refused, or the data changes and the
 * diff_id does not match; either way not a success, and the same way. */
static void test_corrupt_data(void)
{
	stream s;
	new_stream(&s);
	gzip_member(&s, tar, tar_len);
	s.data[s.len / 2] ^= 0xff;
	s.data[s.len / 2 + 1] ^= 0x55;
	int rc = apply(&s, REGISTRY__INFLATE_ZLIB, 0).rc;
	CHECK(rc == REGISTRY_EFORMAT || rc == REGISTRY_EDIGEST);
	both(&s, rc, 0, "corrupt data");
}

/* A trailer whose CRC-32 or length does not match the data (the data
 * intact): the one difference. ISA-L checks the trailer, as gzip -d and
 * Go's compress/gzip (containerd, Docker) do; libarchive's gzip filter does
 * not ("TODO: Verify the length and CRC" in its source), so the zlib path
 * accepts it, and only the diff_id guards the data there. */
static void test_bad_trailer(void)
{
	for (int at = 8; at >= 1; at -= 7) { /* the CRC's first byte, the length's last */
		stream s;
		new_stream(&s);
		gzip_member(&s, tar, 1000);
		gzip_member(&s, tar + 1000, tar_len - 1000);
		s.data[s.len - (size_t)at] ^= 1;
		each(&s, REGISTRY_EFORMAT, 0, 0, at == 8 ? "bad CRC" : "bad length");
	}
}

/* A bad gzip header: the magic, then a method that is not deflate. */
static void test_bad_header(void)
{
	stream s;
	new_stream(&s);
	gzip_member(&s, tar, tar_len);
	s.data[2] = 7;
	both(&s, REGISTRY_EFORMAT, 0, "bad method");
}

/* Bytes after the last member that do not begin a member are ignored, as
 * libarchive's gzip filter and gzip -d ignore them. */
static void test_trailing_garbage(void)
{
	stream s;
	new_stream(&s);
	gzip_member(&s, tar, tar_len);
	memcpy(s.data + s.len, "garbage after the end\n", 22);
	s.len += 22;
	both(&s, 0, 0, "trailing garbage");
	new_stream(&s);
	gzip_member(&s, tar, tar_len);
	s.data[s.len++] = 0x1f; /* half a magic */
	both(&s, 0, 0, "trailing half magic");
}

/* Many MiB of zeros in a few KiB: stopped at max_size by both, bounded. */
static void test_bomb(void)
{
	size_t big = 16u << 20;
	unsigned char *zeros = calloc(1, big);
	CHECK(zeros != NULL);
	memcpy(zeros, tar, 512); /* a tar header first, so the tar reader reads on */
	stream s;
	new_stream(&s);
	gzip_member(&s, zeros, big);
	free(zeros);
	CHECK(s.len < (64u << 10));
	both(&s, REGISTRY_ETOOLARGE, 4u << 20, "bomb");
}

int main(void)
{
	make_tar();
	RUN(test_one_member);
	RUN(test_members);
	RUN(test_truncated);
	RUN(test_corrupt_data);
	RUN(test_bad_header);
	RUN(test_bad_trailer);
	RUN(test_trailing_garbage);
	RUN(test_bomb);
	return CHECK_DONE();
}

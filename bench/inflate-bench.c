/*
 * inflate-bench: decompression alone, in MB/s of output, the way an unpack
 * reads a layer: from memory, through a 256 KiB output buffer, nothing
 * written. It answers the two questions of issue 16's "decompression is
 * the bottleneck":
 *
 *   gzip  libarchive raw reader (its gzip filter: zlib)   the zlib path
 *         zlib inflate() directly, members in a loop        zlib without libarchive
 *         ISA-L isal_inflate(), members in a loop           the ISA-L path
 *   zstd  libarchive raw reader (its zstd filter)           today's zstd path
 *         libzstd ZSTD_decompressStream() directly          a path of our own?
 *
 * Each file is decompressed whole by each decoder in turn, in ROUNDS
 * interleaved rounds, best round kept; the output sizes must agree. Prints
 * one Markdown table row per decoder. bench/run builds it with cc; it is
 * not part of any test.
 *
 * usage: inflate-bench ROUNDS GZIP_FILE ZSTD_FILE
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <archive.h>
#include <archive_entry.h>
#include <isa-l/igzip_lib.h>
#include <zlib.h>
#include <zstd.h>

enum { OUT = 256 << 10 };
static unsigned char out[OUT];

typedef struct input {
	unsigned char *data;
	size_t len;
} input;

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static input load(const char *path)
{
	input in = {0};
	FILE *f = fopen(path, "rb");
	if (!f || fseek(f, 0, SEEK_END) != 0) {
		perror(path);
		exit(1);
	}
	in.len = (size_t)ftell(f);
	rewind(f);
	in.data = malloc(in.len);
	if (!in.data || fread(in.data, 1, in.len, f) != in.len) {
		perror(path);
		exit(1);
	}
	fclose(f);
	return in;
}

static size_t by_libarchive(const input *in)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_memory(a, in->data, in->len) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK) {
		fprintf(stderr, "libarchive: %s\n", archive_error_string(a));
		exit(1);
	}
	size_t total = 0;
	la_ssize_t n;
	while ((n = archive_read_data(a, out, OUT)) > 0)
		total += (size_t)n;
	archive_read_free(a);
	return total;
}

static size_t by_zlib(const input *in)
{
	z_stream z = {0};
	size_t total = 0;
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		exit(1);
	z.next_in = in->data;
	z.avail_in = (uInt)in->len;
	for (;;) {
		z.next_out = out;
		z.avail_out = OUT;
		int r = inflate(&z, Z_NO_FLUSH);
		total += OUT - z.avail_out;
		if (r == Z_STREAM_END) {
			if (!z.avail_in)
				break;
			inflateReset(&z); /* the next member */
		} else if (r != Z_OK) {
			fprintf(stderr, "zlib: %d\n", r);
			exit(1);
		}
	}
	inflateEnd(&z);
	return total;
}

static size_t by_isal(const input *in)
{
	static struct inflate_state st;
	size_t total = 0;
	isal_inflate_init(&st);
	st.crc_flag = ISAL_GZIP;
	st.next_in = in->data;
	st.avail_in = (uint32_t)in->len;
	for (;;) {
		st.next_out = out;
		st.avail_out = OUT;
		int r = isal_inflate(&st);
		total += OUT - st.avail_out;
		if (r < 0) {
			fprintf(stderr, "isal: %d\n", r);
			exit(1);
		}
		if (st.block_state == ISAL_BLOCK_FINISH) {
			if (!st.avail_in)
				break;
			const uint8_t *next = st.next_in;
			uint32_t left = st.avail_in;
			isal_inflate_reset(&st); /* the next member */
			st.crc_flag = ISAL_GZIP;
			st.next_in = (uint8_t *)next;
			st.avail_in = left;
		}
	}
	return total;
}

static size_t by_zstd(const input *in)
{
	ZSTD_DStream *d = ZSTD_createDStream();
	ZSTD_inBuffer ib = {in->data, in->len, 0};
	size_t total = 0;
	while (ib.pos < ib.size) {
		ZSTD_outBuffer ob = {out, OUT, 0};
		size_t r = ZSTD_decompressStream(d, &ob, &ib);
		if (ZSTD_isError(r)) {
			fprintf(stderr, "zstd: %s\n", ZSTD_getErrorName(r));
			exit(1);
		}
		total += ob.pos;
	}
	ZSTD_freeDStream(d);
	return total;
}

typedef struct decoder {
	const char *name;
	size_t (*run)(const input *in);
	int zstd;
	double best;
	size_t bytes;
} decoder;

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: inflate-bench ROUNDS GZIP_FILE ZSTD_FILE\n");
		return 2;
	}
	int rounds = atoi(argv[1]);
	input files[2] = {load(argv[2]), load(argv[3])};
	decoder ds[] = {
		{"gzip: libarchive raw reader (zlib; the REGISTRY_INFLATE=zlib path)", by_libarchive, 0, 0, 0},
		{"gzip: zlib inflate() directly", by_zlib, 0, 0, 0},
		{"gzip: ISA-L isal_inflate() (the default path with -Disal)", by_isal, 0, 0, 0},
		{"zstd: libarchive raw reader (libzstd; the zstd path)", by_libarchive, 1, 0, 0},
		{"zstd: libzstd ZSTD_decompressStream() directly", by_zstd, 1, 0, 0},
	};
	size_t nd = sizeof(ds) / sizeof(ds[0]);
	for (int r = 0; r < rounds; r++)
		for (size_t i = 0; i < nd; i++) {
			double t0 = now_s();
			size_t n = ds[i].run(&files[ds[i].zstd]);
			double mbs = (double)n / 1e6 / (now_s() - t0);
			if (ds[i].bytes && ds[i].bytes != n) {
				fprintf(stderr, "%s: %zu bytes, before %zu\n", ds[i].name, n, ds[i].bytes);
				return 1;
			}
			ds[i].bytes = n;
			if (mbs > ds[i].best)
				ds[i].best = mbs;
		}
	if (ds[0].bytes != ds[1].bytes || ds[0].bytes != ds[2].bytes || ds[3].bytes != ds[4].bytes) {
		fprintf(stderr, "the decoders disagree on the output size\n");
		return 1;
	}
	printf("| decoder | MB/s of output (best of %d) | vs libarchive |\n| --- | ---: | ---: |\n", rounds);
	for (size_t i = 0; i < nd; i++)
		printf("| %s | %.0f | %.2f× |\n", ds[i].name, ds[i].best, ds[i].best / ds[ds[i].zstd ? 3 : 0].best);
	free(files[0].data);
	free(files[1].data);
	return 0;
}

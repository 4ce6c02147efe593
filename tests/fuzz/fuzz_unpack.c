/*
 * Fuzz target "unpack": the layer applier on crafted streams (gzip, zstd
 * or plain tar) into a scratch directory. The first byte picks the path
 * resolution (openat2 or the O_NOFOLLOW walk), whether the stream is
 * applied twice (a second layer over the first: symlinks planted by one,
 * written through by the other), and which inflater reads gzip (ISA-L's,
 * when built in, or libarchive's zlib filter with the bit 4). Whatever the stream, nothing outside the
 * scratch root may change: a sentinel file beside it keeps its content
 * and its directory holds nothing new; a failure leaves a valid record.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "ops/pull_impl.h"
#include "unpack/inflate.h"
#include "unpack/unpack_impl.h"

static const char sentinel_text[] = "sentinel\n";
static char base[64];

typedef struct mem_source {
	const uint8_t *data;
	size_t size, off;
} mem_source;

static int64_t read_mem(void *buf, size_t len, void *ud)
{
	mem_source *m = ud;
	size_t n = m->size - m->off < len ? m->size - m->off : len;
	if (n > 4096)
		n = 4096; /* small reads: libarchive's refills are exercised too */
	memcpy(buf, m->data + m->off, n);
	m->off += n;
	return (int64_t)n;
}

static void setup(void)
{
	if (base[0])
		return;
	snprintf(base, sizeof(base), "/tmp/fuzz-unpack-XXXXXX");
	require(mkdtemp(base) != NULL);
	char path[128];
	snprintf(path, sizeof(path), "%s/sentinel", base);
	FILE *f = fopen(path, "w");
	require(f && fputs(sentinel_text, f) >= 0 && fclose(f) == 0);
}

static void check_outside(void)
{
	char path[128], buf[64] = {0};
	snprintf(path, sizeof(path), "%s/sentinel", base);
	FILE *f = fopen(path, "r");
	require(f != NULL);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	require(n == strlen(sentinel_text) && memcmp(buf, sentinel_text, n) == 0);
	DIR *d = opendir(base);
	require(d != NULL);
	struct dirent *e;
	while ((e = readdir(d)))
		require(strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		        strcmp(e->d_name, "sentinel") == 0 || strcmp(e->d_name, "root") == 0);
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	setup();
	registry__root_set_mode(data[0] & 1 ? REGISTRY__ROOT_WALK : REGISTRY__ROOT_OPENAT2);
	int twice = (data[0] & 2) != 0;
	registry__inflate_set_mode(data[0] & 4 ? REGISTRY__INFLATE_ZLIB : REGISTRY__INFLATE_ISAL);
	char root_path[128];
	snprintf(root_path, sizeof(root_path), "%s/root", base);
	require(mkdir(root_path, 0755) == 0);
	int root = open(root_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	require(root >= 0);
	registry__applier_config cfg = {.max_size = 64u << 20};
	registry__applier *a = NULL;
	require(registry__applier_new(&a, root, &cfg) == 0);
	for (int pass = 0; pass < 1 + twice; pass++) {
		mem_source m = {.data = data + 1, .size = size - 1};
		int rc = registry__applier_run(a, read_mem, &m, NULL);
		if (rc)
			fuzz_check_error(rc);
		check_outside();
	}
	registry__applier_free(a);
	close(root);
	require(registry__remove_tree(root_path, 1) == 0);
	return 0;
}

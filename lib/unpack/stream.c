/*
 * The applier's byte path: a layer's bytes -> decompression -> tar
 * members, with the uncompressed bytes hashed for the diff_id and counted
 * against max_size as they pass. libarchive reads the compression and the
 * tar format (no parser of ours): one reader in "raw" format with the gzip
 * and zstd filters turns the layer into the tar stream, which we hash and
 * count, and feed to a second reader that knows only tar. The compression
 * is decided from the first bytes, so a media type that lies does not
 * matter. Memory is bounded: one input buffer, libarchive's own windows.
 */
#include <stdlib.h>
#include <string.h>

#include "archive_lazy.h"

#include "applier.h"

#define INPUT_BUFFER (256u << 10)

int registry__stream_fail(registry__applier *a, struct archive *ar, const char *doing)
{
	if (a->source_rc)
		return a->source_rc;
	const char *why = ar ? archive_error_string(ar) : NULL;
	return registry__fail(REGISTRY_EFORMAT, "layer: %s: %s", doing, why ? why : "damaged stream");
}

static la_ssize_t outer_read(struct archive *ar, void *ud, const void **buf)
{
	(void)ar;
	registry__applier *a = ud;
	int64_t n = a->read(a->inbuf, INPUT_BUFFER, a->read_ud);
	if (n < 0) {
		a->source_rc = (int)n;
		return -1;
	}
	if (n > 0 && a->cfg.step && (a->source_rc = a->cfg.step(n, a->cfg.step_ud)))
		return -1;
	*buf = a->inbuf;
	return (la_ssize_t)n;
}

/* Count and hash what the tar reader is given. */
static int take(registry__applier *a, const void *data, size_t n)
{
	a->total += n;
	a->counts.bytes += n;
	if (a->cfg.max_size && a->total > a->cfg.max_size)
		return a->source_rc = registry__fail(REGISTRY_ETOOLARGE,
		                                     "layer: the image unpacks to more than the limit of %llu bytes",
		                                     (unsigned long long)a->cfg.max_size);
	if (a->hashing && (a->source_rc = registry__hash_update(&a->hash, data, n)))
		return a->source_rc;
	return 0;
}

static la_ssize_t inner_read(struct archive *ar, void *ud, const void **buf)
{
	(void)ar;
	registry__applier *a = ud;
	size_t size = 0;
	la_int64_t offset = 0;
	int r = archive_read_data_block(a->outer, buf, &size, &offset);
	if (r == ARCHIVE_EOF)
		return 0;
	if (r != ARCHIVE_OK) {
		registry__stream_fail(a, a->outer, "decompressing");
		a->source_rc = a->source_rc ? a->source_rc : REGISTRY_EFORMAT;
		return -1;
	}
	return take(a, *buf, size) ? -1 : (la_ssize_t)size;
}

static int open_outer(registry__applier *a)
{
	struct archive_entry *e = NULL;
	if (!(a->outer = archive_read_new()))
		return registry__nomem();
	/* gzip (with concatenated members) and zstd by their magic; anything else passes as it is. */
	archive_read_support_filter_gzip(a->outer);
	archive_read_support_filter_zstd(a->outer);
	archive_read_support_format_raw(a->outer);
	if (archive_read_open(a->outer, a, NULL, outer_read, NULL) != ARCHIVE_OK)
		return registry__stream_fail(a, a->outer, "reading");
	int r = archive_read_next_header(a->outer, &e);
	if (r == ARCHIVE_EOF)
		return registry__fail(REGISTRY_EFORMAT, "layer: empty stream, not a tar");
	return r == ARCHIVE_OK ? 0 : registry__stream_fail(a, a->outer, "reading");
}

int registry__stream_open(registry__applier *a)
{
	int rc = registry__archive_load("unpacking a layer");
	if (rc)
		return rc;
	if (!a->inbuf && !(a->inbuf = malloc(INPUT_BUFFER)))
		return registry__nomem();
	if ((rc = open_outer(a)))
		return rc;
	if (!(a->inner = archive_read_new()))
		return registry__nomem();
	archive_read_support_format_tar(a->inner);
	if (archive_read_open(a->inner, a, NULL, inner_read, NULL) != ARCHIVE_OK)
		return registry__stream_fail(a, a->inner, "reading the tar");
	return 0;
}

int registry__stream_finish(registry__applier *a)
{
	/* The tar reader stops at the end marker: hash what follows it too, as
	 * the diff_id covers the whole stream. */
	const void *buf = NULL;
	size_t size = 0;
	la_int64_t offset = 0;
	int r;
	while ((r = archive_read_data_block(a->outer, &buf, &size, &offset)) == ARCHIVE_OK)
		if (take(a, buf, size))
			return a->source_rc;
	if (r != ARCHIVE_EOF)
		return registry__stream_fail(a, a->outer, "decompressing");
	if (!a->hashing)
		return 0;
	char got[REGISTRY_DIGEST_STRING_MAX];
	int rc = registry__hash_final(&a->hash, got);
	if (!rc && strcmp(got, a->diff_id) != 0)
		rc = registry__fail(REGISTRY_EDIGEST, "layer: its tar hashes to %s, the image config says %s", got,
		                    a->diff_id);
	return rc;
}

void registry__stream_close(registry__applier *a)
{
	if (a->inner)
		archive_read_free(a->inner);
	if (a->outer)
		archive_read_free(a->outer);
	a->inner = a->outer = NULL;
	if (a->hashing)
		registry__hash_cleanup(&a->hash);
	a->hashing = 0;
}

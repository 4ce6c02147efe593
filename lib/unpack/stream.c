/*
 * The applier's byte path: a layer's bytes -> decompression -> tar
 * members, with the uncompressed bytes hashed for the diff_id and counted
 * against max_size as they pass. libarchive reads the compression and the
 * tar format (no parser of ours): one reader in "raw" format with the gzip
 * and zstd filters turns the layer into the tar stream, which we hash and
 * count, and feed to a second reader that knows only tar. The compression
 * is decided from the first bytes, so a media type that lies does not
 * matter. Memory is bounded: one input buffer, libarchive's own windows.
 *
 * Built with ISA-L (-Disal), gzip layers take a faster path: igzip inflates
 * them (gunzip_isal.c) and the tar reader is fed from it directly, with the
 * same counting and hashing on the way (inflate.h; REGISTRY_INFLATE=zlib
 * forces libarchive's zlib filter again).
 */
#include <stdlib.h>
#include <string.h>

#include "archive_lazy.h"

#include "applier.h"
#include "inflate.h"

#define INPUT_BUFFER (256u << 10)

int registry__stream_fail(registry__applier *a, struct archive *ar, const char *doing)
{
	if (a->source_rc)
		return a->source_rc;
	const char *why = ar ? archive_error_string(ar) : NULL;
	return registry__fail(REGISTRY_EFORMAT, "layer: %s: %s", doing, why ? why : "damaged stream");
}

/* Compressed bytes from the source into inbuf at @off: their count, 0 at
 * its end, or a code (recorded, and kept in source_rc). */
static int64_t pull_at(registry__applier *a, size_t off)
{
	int64_t n = a->read(a->inbuf + off, INPUT_BUFFER - off, a->read_ud);
	if (n < 0)
		return a->source_rc = (int)n;
	if (n > 0 && a->cfg.step && (a->source_rc = a->cfg.step(n, a->cfg.step_ud)))
		return a->source_rc;
	return n;
}

static int64_t pull(const unsigned char **buf, void *ud)
{
	registry__applier *a = ud;
	*buf = a->inbuf;
	return pull_at(a, 0);
}

static la_ssize_t outer_read(struct archive *ar, void *ud, const void **buf)
{
	(void)ar;
	registry__applier *a = ud;
	int64_t n = (int64_t)a->sniffed;
	a->sniffed = 0; /* the bytes read to decide the inflater come first */
	if (!n && (n = pull_at(a, 0)) < 0)
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

/* The next tar bytes, from whichever inflater the layer has: their count,
 * 0 at the end, -1 on a failure (recorded, and kept in source_rc). */
static la_ssize_t next_block(registry__applier *a, const void **buf)
{
	if (a->gz) {
		int64_t n = registry__gunzip_read(a->gz, buf);
		if (n < 0) {
			a->source_rc = (int)n;
			return -1;
		}
		return (la_ssize_t)n;
	}
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
	return (la_ssize_t)size;
}

static la_ssize_t inner_read(struct archive *ar, void *ud, const void **buf)
{
	(void)ar;
	registry__applier *a = ud;
	la_ssize_t n = next_block(a, buf);
	return n > 0 && take(a, *buf, (size_t)n) ? -1 : n;
}

/* The first bytes, enough to tell gzip by its magic (fewer only when the
 * stream is that short): kept in inbuf for whichever inflater reads them. */
static int sniff(registry__applier *a)
{
	a->sniffed = 0;
	while (a->sniffed < 2) {
		int64_t n = pull_at(a, a->sniffed);
		if (n < 0)
			return (int)n;
		if (!n)
			break;
		a->sniffed += (size_t)n;
	}
	return 0;
}

/* gzip goes to ISA-L when it is built in and not switched off. */
static int open_isal(registry__applier *a, int *taken)
{
	*taken = a->sniffed >= 2 && a->inbuf[0] == 0x1f && a->inbuf[1] == 0x8b && registry__inflate_use_isal();
	if (!*taken)
		return 0;
	size_t n = a->sniffed;
	a->sniffed = 0;
	return registry__gunzip_new(&a->gz, a->inbuf, n, pull, a);
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
	int isal = 0;
	if ((rc = sniff(a)) || (rc = open_isal(a, &isal)) || (!isal && (rc = open_outer(a))))
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
	la_ssize_t n;
	while ((n = next_block(a, &buf)) > 0)
		if (take(a, buf, (size_t)n))
			return a->source_rc;
	if (n < 0)
		return a->source_rc;
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
	registry__gunzip_free(a->gz);
	a->gz = NULL;
	if (a->hashing)
		registry__hash_cleanup(&a->hash);
	a->hashing = 0;
}

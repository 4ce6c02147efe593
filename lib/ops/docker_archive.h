/*
 * Reading a `docker save` tarball (docker-archive), shared by push_archive
 * (lib/ops/push_archive.c) and the archive unpack (lib/ops/unpack_archive.c):
 * one pass indexes every member (digest, size, gzip or not) and keeps
 * manifest.json; the chosen image becomes a Docker schema2 manifest over
 * those digests; a member is streamed again from the archive on demand.
 * Needs libarchive (REGISTRY_HAVE_LIBARCHIVE).
 */
#ifndef REGISTRY_OPS_DOCKER_ARCHIVE_H
#define REGISTRY_OPS_DOCKER_ARCHIVE_H

#include <stdint.h>

#include "internal.h"
#include "ops/push_impl.h"

struct archive;
struct cJSON;

typedef struct registry__darchive_member {
	char *name;
	char *link; /* symlink target, normalized, or NULL */
	char digest[REGISTRY_DIGEST_STRING_MAX];
	int64_t size;
	int gzip;
} registry__darchive_member;

typedef struct registry__darchive {
	const char *path;
	registry__darchive_member *m;
	size_t n, cap;
	struct cJSON *list; /* manifest.json: a non-empty array */
} registry__darchive;

/* Index the archive at @path (kept borrowed) and parse its manifest.json:
 * REGISTRY_EFORMAT (not a docker save archive, names out of the archive,
 * a member twice), REGISTRY_ETOOLARGE (manifest.json over 1 MiB, too many
 * members), REGISTRY_ENOTFOUND, REGISTRY_EIO. Free with _free() even after a failure. */
int registry__darchive_open(registry__darchive *ar, const char *path);
void registry__darchive_free(registry__darchive *ar);

/*
 * The same index made in steps (the loop's push of an archive,
 * lib/loop/push_archive.c): begin (the archive opened; @ar reset), then
 * steps, each reading until @spent(ud) says so (NULL: to the end): 1 when
 * there is more, 0 when @ar is complete as registry__darchive_open leaves
 * it, or its failures. Each regular member's bytes also go to @sink (when
 * given) as they are read: begin, data, then end with the member's digest
 * known; a non-zero return of theirs stops the scan with it.
 */
typedef struct registry__darchive_sink {
	int (*begin)(void *ud);
	int (*data)(void *ud, const void *buf, size_t len);
	int (*end)(void *ud, const registry__darchive_member *e);
	void *ud;
} registry__darchive_sink;
typedef struct registry__darchive_scan registry__darchive_scan;
int registry__darchive_scan_begin(registry__darchive_scan **out, registry__darchive *ar, const char *path,
                                  const registry__darchive_sink *sink);
int registry__darchive_scan_step(registry__darchive_scan *s, int (*spent)(void *ud), void *ud);
void registry__darchive_scan_free(registry__darchive_scan *s);

/*
 * The manifest.json entry of @target (by its RepoTags); with @target NULL
 * the only one. Unless @strict, an archive of one image gives it whatever
 * @target says (a push names its destination, not the archive's tag).
 * REGISTRY_ENOTFOUND when none matches, REGISTRY_EINVAL when NULL is ambiguous.
 */
int registry__darchive_pick(const struct cJSON **img, const registry__darchive *ar,
                            const registry_reference *target, int strict);

/* A Docker schema2 manifest of @img (config and layers: their members'
 * digests, sizes, gzip or tar), its blobs added to @blobs. REGISTRY_EFORMAT
 * when manifest.json names what the archive lacks (or what is outside it). */
int registry__darchive_manifest(registry_manifest **out, registry__blob_list *blobs, const registry__darchive *ar,
                                const struct cJSON *img);

/* The regular member holding @digest, or NULL. */
const registry__darchive_member *registry__darchive_by_digest(const registry__darchive *ar, const char *digest);

/* One member's bytes, read from the archive again (opened lazily). */
typedef struct registry__darchive_src {
	const char *path;
	const char *name; /* normalized name of the regular member */
	struct archive *a;
} registry__darchive_src;

/* The count, 0 at the end, or a negative code (recorded). */
int64_t registry__darchive_read(void *buf, size_t len, void *ud);
/* Start again at @offset of the member. */
int registry__darchive_seek(int64_t offset, void *ud);
void registry__darchive_src_close(registry__darchive_src *s);

#endif

/* Private helpers of the artifact operations (lib/ops/artifact_*.c). */
#ifndef REGISTRY_ARTIFACT_IMPL_H
#define REGISTRY_ARTIFACT_IMPL_H

#include <registry/artifact.h>

#include "internal.h"

/* The media type of a packed directory, as oras writes it. */
#define REGISTRY__ARTIFACT_DIR_TYPE "application/vnd.oci.image.layer.v1.tar+gzip"

/* 0 when @title is one path component we will create: not empty, not "."
 * or "..", no "/", no control character, at most NAME_MAX bytes; else
 * REGISTRY_EINVAL recorded, naming it (escaped) after @what. */
int registry__artifact_title_check(const char *title, const char *what);

/*
 * Pack the directory @path as a gzip-compressed tar whose entries are
 * "@title/..." into the new file @out_path (created O_EXCL). @tar_digest
 * receives the digest of the uncompressed tar (io.deis.oras.content.digest).
 * Symlinks are stored as links, never followed; only regular files,
 * directories and symlinks are packed. REGISTRY_EUNSUPPORTED without
 * libarchive and zlib. lib/ops/artifact_dir.c.
 */
int registry__artifact_pack_dir(const char *path, const char *title, const char *out_path,
                                char tar_digest[REGISTRY_DIGEST_STRING_MAX]);

/*
 * Unpack the tar (plain or gzip) read from @fd beneath the directory @root
 * (a real path, no symlink in it), conservatively: every entry must be
 * @title or under "@title/"; no absolute name, no ".." component; a
 * hardlink must name an entry by the same rules; a symlink target must be
 * relative without ".."; only files, directories and links; nothing
 * existing is overwritten, no symbolic link in a path is followed, owners
 * and xattrs are not restored, `.wh.` names are plain names. Written by the
 * unpack layer's applier (lib/unpack/) in its PLAIN profile.
 */
int registry__artifact_unpack_dir(int fd, const char *root, const char *title, const char *what);

#endif

/*
 * Private reading of a store's blobs by file descriptor, for code outside
 * the store that streams them elsewhere (push uploads them from lanes).
 * Not installed.
 */
#ifndef REGISTRY_STORE_BLOB_H
#define REGISTRY_STORE_BLOB_H

#include <stdint.h>

#include <registry/store.h>

/*
 * Open the blob @digest (validated here) for reading: no symbolic link is
 * followed at any component below the layout's directory and only a
 * regular file is accepted (a layout is untrusted input: a blob linking out
 * of it must not send the target's bytes anywhere). *size receives its
 * size. REGISTRY_ENOTFOUND, REGISTRY_EFORMAT (a link, a FIFO...),
 * REGISTRY_EIO. Records errors; does not call registry__enter().
 */
int registry__store_blob_open(registry_store *s, const char *digest, int *fd, int64_t *size);

/* The EDIGEST of a store blob whose content hashes to @actual, recorded. */
int registry__store_damaged(const char *digest, const char *actual);
/*
 * Hash @fd from offset 0 to its end and compare with @digest; the offset is
 * back at 0 afterwards. REGISTRY_EDIGEST "blob X in the store hashes to Y"
 * on a mismatch, REGISTRY_EIO.
 */
int registry__store_fd_check_digest(int fd, const char *digest);

#endif

/* The applier's state, shared by its stream half (stream.c) and its entry
 * half (apply.c). Not installed. */
#ifndef REGISTRY_UNPACK_APPLIER_H
#define REGISTRY_UNPACK_APPLIER_H

#include <sys/types.h>

#include "digest/hash.h"
#include "pathset.h"
#include "unpack_impl.h"

struct archive;
struct archive_entry;

/* A directory whose mode and times are set when its layer ends, after
 * its contents (writing into it would change its mtime). */
typedef struct registry__dir_meta {
	char *path;
	unsigned int mode;
	int64_t mtime, mtime_ns, atime, atime_ns;
} registry__dir_meta;

struct registry__applier {
	int root;
	registry__applier_config cfg;
	int as_root;          /* euid 0: owners, devices and every xattr are applied */
	int plain;            /* REGISTRY__APPLY_PLAIN */
	unsigned int umask;   /* the process's, for PLAIN modes */
	registry__unpack_counts counts;
	uint64_t total;       /* tar bytes over all layers, for max_size */

	/* The layer at hand. */
	int active;
	registry__layer_read_cb read;
	void *read_ud;
	int source_rc;        /* a failure of the read callback or of the limit, recorded */
	struct archive *outer; /* gzip / zstd / none -> raw bytes */
	struct archive *inner; /* raw bytes -> tar members */
	struct registry__gunzip *gz; /* gzip inflated by ISA-L instead of outer (inflate.h) */
	unsigned char *inbuf;
	size_t sniffed;       /* bytes in inbuf read to choose the inflater, not yet given to it */
	registry__hash hash;
	int hashing;
	char diff_id[REGISTRY_DIGEST_STRING_MAX];
	registry__pathset seen;
	registry__dir_meta *dirs;
	size_t ndirs, capdirs;
	char path[4096], link[4096]; /* the member at hand, cleaned */

	/* A sliced step (registry__applier_slice): the slice is spent when
	 * spent(spent_ud) says so; a regular file whose data is being copied
	 * then waits in pending (its descriptor pending_fd) for the next slice.
	 * NULL outside a slice: a member is applied whole. */
	int (*spent)(void *ud);
	void *spent_ud;
	struct archive_entry *pending; /* libarchive's, valid until the next header */
	int pending_fd;
};

/* stream.c */
int registry__stream_open(registry__applier *a);
/* After the tar's end: the rest of the stream hashed, the diff_id compared. */
int registry__stream_finish(registry__applier *a);
void registry__stream_close(registry__applier *a);
/* A libarchive failure as a recorded error (the source's own when it failed). */
int registry__stream_fail(registry__applier *a, struct archive *ar, const char *doing);

/* apply.c */
/* 0, 1 when a regular file's data goes on in the next slice (a->pending), or a code. */
int registry__apply_entry(registry__applier *a, struct archive_entry *e);
/* Go on with a->pending: 0 once written, 1 when the slice is spent again, or a code. */
int registry__apply_pending(registry__applier *a);
/* a->pending closed unfinished (a failed or abandoned layer). */
void registry__apply_pending_drop(registry__applier *a);
int registry__apply_dir_meta(registry__applier *a);

#endif

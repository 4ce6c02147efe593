/*
 * Which inflater gunzips a gzip layer (inflate.c), and the ISA-L one
 * (gunzip_isal.c, built with -Disal). Not installed.
 *
 * libarchive's gzip filter inflates with zlib; ISA-L's igzip does the same
 * work in about half the time, and decompression is what an unpack spends
 * most of its CPU on. Both stay selectable at run time: the environment
 * variable REGISTRY_INFLATE=zlib (read once, a debugging and benchmarking
 * knob) or registry__inflate_set_mode() (tests) force the zlib path.
 */
#ifndef REGISTRY_UNPACK_INFLATE_H
#define REGISTRY_UNPACK_INFLATE_H

#include <stddef.h>
#include <stdint.h>

enum {
	REGISTRY__INFLATE_AUTO = 0, /* ISA-L when built with it, unless REGISTRY_INFLATE=zlib */
	REGISTRY__INFLATE_ISAL = 1,
	REGISTRY__INFLATE_ZLIB = 2, /* libarchive's gzip filter */
};

/* Force an inflater for the process (tests, the fuzz target); returns the old mode. */
int registry__inflate_set_mode(int mode);
/* 1 when gzip layers are to be inflated with ISA-L. */
int registry__inflate_use_isal(void);

typedef struct registry__gunzip registry__gunzip;

/* More compressed bytes: their count in *buf, 0 at the end of the source,
 * or a negative REGISTRY_E code (recorded). */
typedef int64_t (*registry__gunzip_pull)(const unsigned char **buf, void *ud);

/*
 * A gzip decoder for one layer: @first (@n bytes, already read to sniff
 * the magic) then what @pull gives. Concatenated members are one stream,
 * as for libarchive and gzip -d; bytes after a member that do not start
 * another are ignored, as libarchive does.
 */
int registry__gunzip_new(registry__gunzip **out, const unsigned char *first, size_t n, registry__gunzip_pull pull,
                         void *ud);
/* The next inflated bytes: their count with *out pointing at them (valid
 * until the next call), 0 at the end, or a negative REGISTRY_E code
 * (recorded: REGISTRY_EFORMAT for a damaged or truncated stream). */
int64_t registry__gunzip_read(registry__gunzip *g, const void **out);
void registry__gunzip_free(registry__gunzip *g);

#endif

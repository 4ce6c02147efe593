/*
 * gzip layers inflated with ISA-L's igzip (see inflate.h for why). igzip
 * parses each member's header and checks its trailer (CRC-32 and length)
 * itself (crc_flag ISAL_GZIP); what is ours is the members' sequence:
 * after one ends, another follows only when the next bytes are a gzip
 * header's first four (magic, deflate, no reserved flag), the test
 * libarchive's gzip filter applies, so both inflaters read the same
 * stream. Memory is bounded: igzip's state and one output buffer; the
 * input is the applier's buffer, pulled on demand.
 */
#include <isa-l/igzip_lib.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#include "inflate.h"

#define OUTPUT_BUFFER (256u << 10)

struct registry__gunzip {
	struct inflate_state st;
	registry__gunzip_pull pull;
	void *ud;
	uint64_t pulled;           /* compressed bytes pulled, for messages */
	int in_member, done;
	unsigned char head[4];     /* the next member's first bytes, gathered across pulls */
	const unsigned char *pend; /* the rest of the last pull, fed after head */
	size_t pend_len;
	unsigned char out[OUTPUT_BUFFER];
};

static int fail(registry__gunzip *g, const char *why)
{
	return registry__fail(REGISTRY_EFORMAT, "layer: decompressing: gzip: %s (near compressed byte %llu)", why,
	                      (unsigned long long)(g->pulled - g->st.avail_in));
}

static const char *isal_error(int r)
{
	switch (r) {
	case ISAL_INVALID_BLOCK: return "invalid deflate block";
	case ISAL_INVALID_SYMBOL: return "invalid deflate symbol";
	case ISAL_INVALID_LOOKBACK: return "a back-reference before the start of the data";
	case ISAL_INVALID_WRAPPER: return "invalid gzip header";
	case ISAL_UNSUPPORTED_METHOD: return "unsupported compression method";
	case ISAL_INCORRECT_CHECKSUM: return "the trailer's CRC-32 or length does not match the data";
	default: return "damaged stream";
	}
}

/* More input into st: its count, 0 at the source's end, or a recorded code. */
static int64_t refill(registry__gunzip *g)
{
	if (g->pend_len) {
		g->st.next_in = (uint8_t *)g->pend;
		g->st.avail_in = (uint32_t)g->pend_len;
		g->pend_len = 0;
		return g->st.avail_in;
	}
	const unsigned char *buf = NULL;
	int64_t n = g->pull(&buf, g->ud);
	if (n <= 0)
		return n;
	if (n > UINT32_MAX)
		return registry__fail(REGISTRY_EINVAL, "layer: a read larger than 4 GiB");
	g->pulled += (uint64_t)n;
	g->st.next_in = (uint8_t *)buf;
	g->st.avail_in = (uint32_t)n;
	return n;
}

/* After a member: 1 when another begins (igzip reset to read it), 0 when
 * the stream ends here (what follows, if anything, is ignored), or a code. */
static int next_member(registry__gunzip *g)
{
	size_t have = 0;
	while (have < sizeof(g->head)) {
		if (!g->st.avail_in) {
			int64_t n = refill(g);
			if (n < 0)
				return (int)n;
			if (!n)
				return 0;
		}
		size_t take = sizeof(g->head) - have;
		if (take > g->st.avail_in)
			take = g->st.avail_in;
		memcpy(g->head + have, g->st.next_in, take);
		have += take;
		g->st.next_in += take;
		g->st.avail_in -= (uint32_t)take;
	}
	const unsigned char *h = g->head;
	if (h[0] != 0x1f || h[1] != 0x8b || h[2] != 8 || (h[3] & 0xe0))
		return 0;
	g->pend = g->st.next_in;
	g->pend_len = g->st.avail_in;
	isal_inflate_reset(&g->st);
	g->st.crc_flag = ISAL_GZIP;
	g->st.next_in = g->head;
	g->st.avail_in = sizeof(g->head);
	return 1;
}

int registry__gunzip_new(registry__gunzip **out, const unsigned char *first, size_t n, registry__gunzip_pull pull,
                         void *ud)
{
	if (n > UINT32_MAX)
		return registry__fail(REGISTRY_EINVAL, "layer: a read larger than 4 GiB");
	registry__gunzip *g = malloc(sizeof(*g));
	if (!g)
		return registry__nomem();
	memset(g, 0, offsetof(registry__gunzip, out));
	isal_inflate_init(&g->st);
	g->st.crc_flag = ISAL_GZIP;
	g->st.next_in = (uint8_t *)first;
	g->st.avail_in = (uint32_t)n;
	g->pulled = n;
	g->pull = pull;
	g->ud = ud;
	g->in_member = 1;
	*out = g;
	return 0;
}

/* Inflate into out until some output, the end of a member, or a failure. */
static int inflate_some(registry__gunzip *g)
{
	while (g->st.avail_out == OUTPUT_BUFFER) {
		if (!g->st.avail_in) {
			int64_t n = refill(g);
			if (n < 0)
				return (int)n;
			if (!n)
				return fail(g, "truncated: the stream ends inside a member");
		}
		uint32_t in = g->st.avail_in, room = g->st.avail_out;
		int r = isal_inflate(&g->st);
		if (r < 0 || r == ISAL_NEED_DICT)
			return fail(g, isal_error(r));
		if (g->st.block_state == ISAL_BLOCK_FINISH) {
			g->in_member = 0;
			return 0;
		}
		/* igzip consumes or produces on every call with room on both
		 * sides; a call that does neither would loop for ever. */
		if (g->st.avail_in == in && g->st.avail_out == room && in)
			return fail(g, "the inflater made no progress");
	}
	return 0;
}

int64_t registry__gunzip_read(registry__gunzip *g, const void **out)
{
	g->st.next_out = g->out;
	g->st.avail_out = OUTPUT_BUFFER;
	while (!g->done && g->st.avail_out == OUTPUT_BUFFER) {
		int rc;
		if (!g->in_member) {
			if ((rc = next_member(g)) < 0)
				return rc;
			g->done = !rc;
			g->in_member = rc;
			continue;
		}
		if ((rc = inflate_some(g)))
			return rc;
	}
	*out = g->out;
	return OUTPUT_BUFFER - g->st.avail_out;
}

void registry__gunzip_free(registry__gunzip *g)
{
	free(g);
}

/* Bounded, printable renderings of untrusted bytes for error messages. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

void registry__excerpt(char *out, size_t size, const char *s, size_t len)
{
	size_t n = len < size - 4 ? len : size - 4;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = (char)(c >= 0x20 && c < 0x7f ? c : '?');
	}
	memcpy(out + n, len > n ? "..." : "", len > n ? 4 : 1);
}

void registry__describe_char(char out[8], unsigned char c)
{
	if (c > 0x20 && c < 0x7f && c != '\'')
		snprintf(out, 8, "'%c'", c);
	else
		snprintf(out, 8, "\\x%02x", c);
}

/* Length of the valid UTF-8 sequence at @s (its code point in *cp), 0 if
 * the bytes there are not one (overlong, surrogate, cut short...). */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp)
{
	size_t n;
	uint32_t c, min;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, c = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, c = s[0] & 0x0f, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, c = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0; /* also stops at the NUL */
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Code points a terminal acts on rather than shows: C0, DEL, C1, and the
 * line separators and bidirectional overrides that make text lie about
 * its order or its lines. */
static int is_control(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
	       (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

void registry__escape_text(char *out, size_t size, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t used = 0;
	while (*p) {
		char esc[12];
		uint32_t cp = 0;
		size_t n = utf8_seq(p, &cp);
		const char *piece = (const char *)p;
		size_t len = n;
		if (n == 0) { /* not UTF-8: show the byte */
			len = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", *p);
			piece = esc;
			n = 1;
		} else if (is_control(cp)) {
			len = (size_t)snprintf(esc, sizeof(esc), cp < 0x80 ? "\\x%02x" : "\\u%04x", (unsigned)cp);
			piece = esc;
		}
		if (used + len >= size)
			break; /* never half a character or half an escape */
		memcpy(out + used, piece, len);
		used += len;
		p += n;
	}
	out[used] = '\0';
}

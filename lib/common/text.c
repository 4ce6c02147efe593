/* Bounded, printable renderings of untrusted bytes for error messages. */
#include <stdio.h>
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

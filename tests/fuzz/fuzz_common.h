/* Small helpers shared by the transport fuzz targets (header-only). */
#ifndef REGISTRY_FUZZ_COMMON_H
#define REGISTRY_FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static inline void require(int cond)
{
	if (!cond)
		abort();
}

/* The input as a C string, cut at its first NUL (as a header would be). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

/* The last error record is set to @rc, with a message that fits. (Secrets
 * are checked differentially by the targets: see fuzz_challenge.c.) */
static inline void fuzz_check_error(int rc)
{
	const registry_error *e = registry_error_last();
	const char *msg = registry_error_message(e);
	require(registry_error_code(e) == rc);
	require(strlen(msg) > 0 && strlen(msg) < 1024);
	/* Printable: no C0, DEL or C1 (U+0080..U+009F in UTF-8) reaches a terminal. */
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
		require(*p >= 0x20 && *p != 0x7f && !(p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f));
}

#endif

/*
 * Private validators for the parts of a reference. Each takes a span that
 * need not be NUL-terminated, returns 0 or records REGISTRY_EFORMAT with a
 * message naming the part, and never calls REGISTRY__ENTER().
 */
#ifndef REGISTRY_REFERENCE_GRAMMAR_H
#define REGISTRY_REFERENCE_GRAMMAR_H

#include <stddef.h>

/* host[:port]: DNS labels, dotted-quad IPv4 or [IPv6]; port 1-65535. */
int registry__reference_check_host(const char *s, size_t len);

/* component ("/" component)*, lowercase, at most REGISTRY_REFERENCE_NAME_MAX. */
int registry__reference_check_repository(const char *s, size_t len);

/* [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} */
int registry__reference_check_tag(const char *s, size_t len);

/* Docker's rule: a first path component names a registry host when it has '.' or ':' or is "localhost". */
int registry__reference_looks_like_host(const char *s, size_t len);


#endif

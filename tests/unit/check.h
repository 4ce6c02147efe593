/*
 * A minimal test helper: each unit test is a program whose main() calls
 * RUN(fn) for every case; a failed CHECK prints where and marks the case
 * failed; the program exits non-zero if any case failed.
 */
#ifndef REGISTRY_TEST_CHECK_H
#define REGISTRY_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;
static int check_case_failed;

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
		check_case_failed = 1; \
	} } while (0)

#define CHECK_INT(a, b) do { \
	long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
	if (check_a_ != check_b_) { \
		fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, \
		        #a, check_a_, #b, check_b_); \
		check_case_failed = 1; \
	} } while (0)

#define CHECK_STR(a, b) do { \
	const char *check_a_ = (a), *check_b_ = (b); \
	if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) { \
		fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, \
		        #a, check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)"); \
		check_case_failed = 1; \
	} } while (0)

#define RUN(fn) do { \
	check_case_failed = 0; \
	fn(); \
	printf("%s %s\n", check_case_failed ? "FAIL" : "ok  ", #fn); \
	check_failures += check_case_failed; \
	} while (0)

#define CHECK_DONE() (check_failures ? EXIT_FAILURE : EXIT_SUCCESS)

/* Read a whole (small, test fixture) file; caller frees. */
static inline char *check_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	size_t r;
	while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			char *p = realloc(buf, cap * 2 + 1);
			if (!p) { free(buf); buf = NULL; break; }
			buf = p;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf) { buf[n] = '\0'; if (len) *len = n; }
	return buf;
}

#endif

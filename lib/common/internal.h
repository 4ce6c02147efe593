/*
 * Private helpers shared by every module of the library. Not installed.
 */
#ifndef REGISTRY_INTERNAL_H
#define REGISTRY_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <registry/registry.h>

#define REGISTRY_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define REGISTRY_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Entry of every public function that can fail: lazy global init, then the
 * thread's last-error record cleared. Returns 0 or an error code.
 */
int registry__enter(void);

/* Record a failure and return @code, so callers write `return registry__fail(...)`. */
int registry__fail(int code, const char *fmt, ...) REGISTRY_PRINTF(2, 3);
#ifdef __clang_analyzer__
/* The static analyzer does not look into other files: show it that a
 * failure returns its code, or it follows impossible "rc == 0" paths. */
#define registry__fail(code, ...) (registry__fail((code), __VA_ARGS__), (code))
#endif
int registry__vfail(int code, const char *fmt, va_list ap);
/* Attach HTTP details to the current record (after registry__fail). */
void registry__error_set_http(int status, const char *url);
void registry__error_set_registry(const char *registry_code, const char *detail);
void registry__error_clear(void);
/* Keep the current record aside (NULL if out of memory) and put it back
 * later, freeing the snapshot; restore returns the record's code. */
typedef struct registry__error_snapshot registry__error_snapshot;
registry__error_snapshot *registry__error_save(void);
int registry__error_restore(registry__error_snapshot *snap);

/* Seconds on a monotonic clock, for intervals. */
double registry__now_s(void);
/* Sleep for @ms milliseconds (restarting after signals). */
void registry__sleep_ms(long ms);
/* Sleep for @ms milliseconds, asking @stop(@ud) (may be NULL) before each
 * slice of at most REGISTRY__SLEEP_SLICE_MS, so that a cancel hook is heard
 * within 100 ms: 1 as soon as it says stop, else 0 when the time is up. */
#define REGISTRY__SLEEP_SLICE_MS 50L
int registry__sleep_ms_unless(long ms, int (*stop)(void *ud), void *ud);
/* pthread_cond_timedwait for at most @ms milliseconds from now. */
int registry__cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, long ms);

/* Allocation: NULL-safe strdup; calloc with overflow check. */
char *registry__strdup(const char *s);
char *registry__strndup(const char *s, size_t n);
void *registry__calloc(size_t n, size_t size);
/* Wipe then free a secret string (sodium_memzero). */
void registry__free_secret(char *s);
/* Replace *slot with a copy of s (NULL allowed); 0 or REGISTRY_ENOMEM. */
int registry__set_string(char **slot, const char *s);

/* A printable copy of untrusted bytes for messages: at most @size - 4
 * characters, others as '?', "..." when cut; @size > 4. */
void registry__excerpt(char *out, size_t size, const char *s, size_t len);
/* One character for a message: 'c' when printable, else \xNN. */
void registry__describe_char(char out[8], unsigned char c);

/* A growable byte buffer, always NUL-terminated, with an optional size cap. */
typedef struct registry_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t limit; /* 0: no limit */
} registry_buf;

void registry_buf_init(registry_buf *b, size_t limit);
void registry_buf_free(registry_buf *b);
/* 0, REGISTRY_ENOMEM, or REGISTRY_ETOOLARGE when the limit would be passed. */
int registry_buf_append(registry_buf *b, const void *data, size_t len);
int registry_buf_puts(registry_buf *b, const char *s);
int registry_buf_printf(registry_buf *b, const char *fmt, ...) REGISTRY_PRINTF(2, 3);
/* Hand the data over to the caller (free with registry_free) and reset. */
char *registry_buf_detach(registry_buf *b);

#endif

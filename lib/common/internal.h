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
 * The thread's error record (registry_error_last()). Every non-zero return
 * leaves its code and message here; the text is escaped (control
 * characters shown as \xNN or \uNNNN), so nothing a server sent reaches a
 * terminal raw.
 */
#define REGISTRY__MSG_MAX 1024
#define REGISTRY__FIELD_MAX 512
struct registry_error {
	int code;
	int http_status;
	char message[REGISTRY__MSG_MAX];
	char registry_code[128];
	char detail[REGISTRY__FIELD_MAX];
	char url[REGISTRY__FIELD_MAX];
};

/*
 * Entry of every public function that can fail, declared at the top of its
 * body: `REGISTRY__ENTER(rc);` declares `int rc`, runs the lazy global init
 * and returns its failure. The record is cleared only when the OUTERMOST
 * public call on this thread starts: the library calls its own public
 * functions (digest validation inside a manifest fetch...), and those must
 * not wipe a failure recorded earlier in the same operation. The nesting
 * depth is thread-local and kept by a scope guard (cleanup attribute), so
 * every return path leaves the scope. docs/errors.md.
 */
int registry__scope_enter(void);
void registry__scope_leave(int *guard);
/* NOLINTBEGIN(bugprone-macro-parentheses): @rc names the variable declared */
#define REGISTRY__ENTER(rc)                                                                    \
	int registry__scope_guard_ __attribute__((cleanup(registry__scope_leave), unused)) =    \
	        registry__scope_enter();                                                       \
	int rc = registry_global_init();                                                       \
	if (rc)                                                                                \
	return rc
/* NOLINTEND(bugprone-macro-parentheses) */

/* Record a failure and return @code, so callers write `return registry__fail(...)`.
 * Each failure writes a fresh record (no HTTP status, URL or registry code
 * left from an earlier one); control characters in the text are escaped. */
int registry__fail(int code, const char *fmt, ...) REGISTRY_PRINTF(2, 3);
/* registry__fail(REGISTRY_ENOMEM, "out of memory"): for allocation failures. */
int registry__nomem(void);
#ifdef __clang_analyzer__
/* The static analyzer does not look into other files: show it that a
 * failure returns its code, or it follows impossible "rc == 0" paths. */
#define registry__fail(code, ...) (registry__fail((code), __VA_ARGS__), (code))
#define registry__nomem() (registry__nomem(), REGISTRY_ENOMEM)
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
/* Free a snapshot that is not to be restored (NULL ok). */
void registry__error_discard(registry__error_snapshot *snap);

/*
 * Calls into user code. A callback may call the library itself: that call
 * is an outermost one (it clears and fills the record as the user expects),
 * and afterwards the operation's record and nesting depth are put back as
 * they were. A callback that fails may leave its own record when it set
 * one (an internal callback says why), else the record is restored too.
 * Every user callback is invoked through one of these.
 */
typedef struct registry__callback_scope {
	struct registry_error record;
	int depth;
} registry__callback_scope;
void registry__callback_begin(registry__callback_scope *s);
void registry__callback_end(registry__callback_scope *s, int failed);
int registry__call_progress(registry_progress_cb cb, const registry_progress *p, void *ud);
int registry__call_void(int (*cb)(void *ud), void *ud); /* cancel, rewind */
int64_t registry__call_read(registry_blob_read_cb cb, void *buf, size_t len, void *ud);
int registry__call_write(int (*cb)(const void *data, size_t len, void *ud), const void *data, size_t len,
                         void *ud);
int registry__call_bad(int (*cb)(const char *digest, const char *reason, void *ud), const char *digest,
                       const char *reason, void *ud);

/*
 * Check an operation's options struct: version 0 or above @current, and
 * flag bits outside @known_flags, are REGISTRY_EINVAL with a message that
 * names @fn (the public function) and what is wrong. Every operation that
 * takes options validates them here first.
 */
int registry__options_check(const char *fn, unsigned int version, unsigned int current, unsigned int flags,
                            unsigned int known_flags);

/* registry__errno_text(), thread-safe: the text for @err in @buf (returned). */
const char *registry__strerror_r(int err, char *buf, size_t size);
/* The same in a thread-local buffer, valid until the next call on this thread:
 * for message arguments, `registry__fail(..., "%s", registry__errno_text(errno))`. */
const char *registry__errno_text(int err);

/*
 * A process-wide mutex (file scope), safe across fork(): every one is held
 * by the forking thread during fork() and released in parent and child, so
 * a child never starts with a lock owned by a thread it does not have.
 * Declare each static mutex of the library this way (lint checks it).
 */
void registry__fork_protect(pthread_mutex_t *mu);
/* NOLINTBEGIN(bugprone-macro-parentheses): @name names the mutex declared */
#define REGISTRY__GLOBAL_MUTEX(name)                                                      \
	static pthread_mutex_t name = PTHREAD_MUTEX_INITIALIZER;                          \
	__attribute__((constructor)) static void registry__fork_protect_##name(void)      \
	{                                                                                 \
		registry__fork_protect(&name);                                            \
	}
/* NOLINTEND(bugprone-macro-parentheses) */

/* Seconds on a monotonic clock, for intervals. */
double registry__now_s(void);
/* Sleep for @ms milliseconds (restarting after signals). */
void registry__sleep_ms(long ms);
/* Sleep for @ms milliseconds, asking @stop(@ud) (may be NULL) before each
 * slice of at most REGISTRY__SLEEP_SLICE_MS, so that a cancel hook is heard
 * within 100 ms: 1 as soon as it says stop, else 0 when the time is up. */
#define REGISTRY__SLEEP_SLICE_MS 50L
int registry__sleep_ms_unless(long ms, int (*stop)(void *ud), void *ud);
/* pthread_cond_init() on CLOCK_MONOTONIC: every condition variable of the
 * library is made this way (lint), since registry__cond_wait_ms counts in
 * that clock. Returns pthread_cond_init's result. */
int registry__cond_init(pthread_cond_t *cv);
/* pthread_cond_timedwait for at most @ms milliseconds from now (monotonic). */
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
/* @s as printable text for a message, into @out (always terminated, cut
 * at a character boundary): valid UTF-8 stays as it is; control characters
 * (C0, DEL, C1, line separators, bidi overrides) become \xNN / \uNNNN,
 * bytes that are not UTF-8 \xNN. */
void registry__escape_text(char *out, size_t size, const char *s);
/* One character for a message: 'c' when printable, else \xNN. */
void registry__describe_char(char out[8], unsigned char c);

/* A growable byte buffer, always NUL-terminated, with an optional size cap. */
typedef struct registry__buf {
	char *data;
	size_t len;
	size_t cap;
	size_t limit; /* 0: no limit */
} registry__buf;

void registry__buf_init(registry__buf *b, size_t limit);
void registry__buf_free(registry__buf *b);
/* 0, REGISTRY_ENOMEM, or REGISTRY_ETOOLARGE when the limit would be passed. */
int registry__buf_append(registry__buf *b, const void *data, size_t len);
int registry__buf_puts(registry__buf *b, const char *s);
int registry__buf_printf(registry__buf *b, const char *fmt, ...) REGISTRY_PRINTF(2, 3);
/* Read the whole file @path into @out, stopping at its limit (REGISTRY_ETOOLARGE,
 * recorded); REGISTRY_ENOTFOUND, NOT recorded, when it does not exist (callers
 * say what was missing); REGISTRY_EIO recorded. */
int registry__read_file_capped(const char *path, registry__buf *out);
/* Hand the data over to the caller (free with registry_free) and reset. */
char *registry__buf_detach(registry__buf *b);

#endif

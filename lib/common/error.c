#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#undef registry__fail /* the analyzer's macros (internal.h) */
#undef registry__nomem

static _Thread_local struct registry_error last_error;
/* How many public calls are running on this thread (REGISTRY__ENTER). */
static _Thread_local int call_depth;

static const char *const names[] = {
	"success",
	"invalid argument",
	"out of memory",
	"I/O error",
	"network error",
	"TLS error",
	"authentication failed",
	"access denied",
	"not found",
	"digest mismatch",
	"malformed input",
	"unsupported",
	"too large",
	"rate limited",
	"canceled",
	"protocol error",
	"conflict",
	"server error",
	"timed out",
	"refused by local policy",
};

const char *registry_strerror(int code)
{
	if (code > 0 || (size_t)-code >= REGISTRY_ARRAY_LEN(names))
		return "unknown error";
	return names[-code];
}

const registry_error *registry_error_last(void)
{
	return &last_error;
}

int registry_error_code(const registry_error *e) { return e ? e->code : 0; }
int registry_error_http_status(const registry_error *e) { return e ? e->http_status : 0; }
const char *registry_error_message(const registry_error *e) { return e ? e->message : ""; }
const char *registry_error_registry_code(const registry_error *e) { return e ? e->registry_code : ""; }
const char *registry_error_detail(const registry_error *e) { return e ? e->detail : ""; }
const char *registry_error_url(const registry_error *e) { return e ? e->url : ""; }

void registry__error_clear(void)
{
	memset(&last_error, 0, sizeof(last_error));
}

int registry__scope_enter(void)
{
	if (call_depth++ == 0)
		registry__error_clear();
	return 0;
}

void registry__scope_leave(int *guard)
{
	(void)guard;
	call_depth--;
}

int registry__vfail(int code, const char *fmt, va_list ap)
{
	/* Format first: the arguments may point into the record itself
	 * ("prefix: <the previous message>"). */
	char text[REGISTRY__MSG_MAX];
	if (fmt)
		vsnprintf(text, sizeof(text), fmt, ap);
	else
		snprintf(text, sizeof(text), "%s", registry_strerror(code));
	registry__error_clear();
	last_error.code = code;
	registry__escape_text(last_error.message, sizeof(last_error.message), text);
	return code;
}

int registry__fail(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	registry__vfail(code, fmt, ap);
	va_end(ap);
	return code;
}

int registry__nomem(void)
{
	return registry__fail(REGISTRY_ENOMEM, "out of memory");
}

void registry__error_set_http(int status, const char *url)
{
	last_error.http_status = status;
	if (url)
		registry__escape_text(last_error.url, sizeof(last_error.url), url);
}

void registry__error_set_registry(const char *registry_code, const char *detail)
{
	if (registry_code)
		registry__escape_text(last_error.registry_code, sizeof(last_error.registry_code), registry_code);
	if (detail)
		registry__escape_text(last_error.detail, sizeof(last_error.detail), detail);
}

registry__error_snapshot *registry__error_save(void)
{
	registry__error_snapshot *snap = malloc(sizeof(last_error)); // NOLINT(clang-analyzer-unix.MallocSizeof): the snapshot is a copy of the record
	if (snap)
		memcpy(snap, &last_error, sizeof(last_error));
	return snap;
}

int registry__error_restore(registry__error_snapshot *snap)
{
	if (!snap)
		return last_error.code;
	memcpy(&last_error, snap, sizeof(last_error));
	free(snap);
	return last_error.code;
}

void registry__error_discard(registry__error_snapshot *snap)
{
	free(snap);
}

/* ---- Calls into user code ---------------------------------------------- */

void registry__callback_begin(registry__callback_scope *s)
{
	memcpy(&s->record, &last_error, sizeof(last_error));
	s->depth = call_depth;
	call_depth = 0; /* a library call from the callback is an outermost one */
}

void registry__callback_end(registry__callback_scope *s, int failed)
{
	call_depth = s->depth;
	if (!failed || last_error.code == 0)
		memcpy(&last_error, &s->record, sizeof(last_error));
}

int registry__call_progress(registry_progress_cb cb, const registry_progress *p, void *ud)
{
	registry__callback_scope s;
	registry__callback_begin(&s);
	int r = cb(p, ud);
	registry__callback_end(&s, r != 0);
	return r;
}

int registry__call_void(int (*cb)(void *ud), void *ud)
{
	registry__callback_scope s;
	registry__callback_begin(&s);
	int r = cb(ud);
	registry__callback_end(&s, r != 0);
	return r;
}

int64_t registry__call_read(registry_blob_read_cb cb, void *buf, size_t len, void *ud)
{
	registry__callback_scope s;
	registry__callback_begin(&s);
	int64_t r = cb(buf, len, ud);
	registry__callback_end(&s, r < 0);
	return r;
}

int registry__call_write(int (*cb)(const void *data, size_t len, void *ud), const void *data, size_t len,
                         void *ud)
{
	registry__callback_scope s;
	registry__callback_begin(&s);
	int r = cb(data, len, ud);
	registry__callback_end(&s, r != 0);
	return r;
}

int registry__call_bad(int (*cb)(const char *digest, const char *reason, void *ud), const char *digest,
                       const char *reason, void *ud)
{
	registry__callback_scope s;
	registry__callback_begin(&s);
	int r = cb(digest, reason, ud);
	registry__callback_end(&s, r != 0);
	return r;
}

/* ---- errno text --------------------------------------------------------- */

const char *registry__strerror_r(int err, char *buf, size_t size)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
	return strerror_r(err, buf, size); /* GNU: may return a static string instead */
#else
	if (strerror_r(err, buf, size) != 0)
		snprintf(buf, size, "error %d", err);
	return buf;
#endif
}

const char *registry__errno_text(int err)
{
	static _Thread_local char buf[128];
	return registry__strerror_r(err, buf, sizeof(buf));
}

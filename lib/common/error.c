#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#undef registry__fail /* the analyzer's macro (internal.h) */

#define MSG_MAX 1024
#define FIELD_MAX 512

struct registry_error {
	int code;
	int http_status;
	char message[MSG_MAX];
	char registry_code[128];
	char detail[FIELD_MAX];
	char url[FIELD_MAX];
};

static _Thread_local struct registry_error last_error;

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

int registry__vfail(int code, const char *fmt, va_list ap)
{
	last_error.code = code;
	if (fmt)
		vsnprintf(last_error.message, sizeof(last_error.message), fmt, ap);
	else
		snprintf(last_error.message, sizeof(last_error.message), "%s", registry_strerror(code));
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

static void copy_field(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

void registry__error_set_http(int status, const char *url)
{
	last_error.http_status = status;
	if (url)
		copy_field(last_error.url, sizeof(last_error.url), url);
}

void registry__error_set_registry(const char *registry_code, const char *detail)
{
	if (registry_code)
		copy_field(last_error.registry_code, sizeof(last_error.registry_code), registry_code);
	if (detail)
		copy_field(last_error.detail, sizeof(last_error.detail), detail);
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

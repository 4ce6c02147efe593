/*
 * A small JSON emitter producing what Go's encoding/json MarshalIndent
 * produces (docker/distribution serializes manifests that way): ": " after
 * keys, one indentation unit per level, "[]" and "{}" for empty containers,
 * and Go's string escaping (<, >, & and U+2028/U+2029 as \u escapes).
 * Errors are sticky in w->rc, so callers check once at the end.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "manifest_impl.h"

void registry__mw_init(manifest_writer *w, int indent, size_t limit)
{
	memset(w, 0, sizeof(*w));
	registry__buf_init(&w->buf, limit);
	w->indent = indent;
}

static void put(manifest_writer *w, const char *s, size_t len)
{
	if (!w->rc)
		w->rc = registry__buf_append(&w->buf, s, len);
}

static void puts_(manifest_writer *w, const char *s)
{
	put(w, s, strlen(s));
}

static void newline(manifest_writer *w, int depth)
{
	static const char spaces[] = "                                ";
	if (!w->indent)
		return;
	put(w, "\n", 1);
	for (int i = 0; i < depth * w->indent; i += 32) {
		int n = depth * w->indent - i;
		put(w, spaces, (size_t)(n < 32 ? n : 32));
	}
}

static void escaped(manifest_writer *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t start = 0, i = 0;
	put(w, "\"", 1);
	while (p[i]) {
		unsigned char c = p[i];
		const char *rep = NULL;
		char u[7];
		size_t skip = 1;
		if (c == '"')
			rep = "\\\"";
		else if (c == '\\')
			rep = "\\\\";
		else if (c == '\n')
			rep = "\\n";
		else if (c == '\r')
			rep = "\\r";
		else if (c == '\t')
			rep = "\\t";
		else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			memcpy(u, "\\u00", 4);
			u[4] = hex[c >> 4];
			u[5] = hex[c & 0xf];
			u[6] = '\0';
			rep = u;
		} else if (c == 0xe2 && p[i + 1] == 0x80 && (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
			rep = p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
			skip = 3;
		}
		if (rep) {
			put(w, s + start, i - start);
			puts_(w, rep);
			i += skip;
			start = i;
		} else {
			i++;
		}
	}
	put(w, s + start, i - start);
	put(w, "\"", 1);
}

static void prefix(manifest_writer *w, const char *key)
{
	if (w->need_comma)
		put(w, ",", 1);
	if (w->depth > 0)
		newline(w, w->depth);
	if (key) {
		escaped(w, key);
		puts_(w, w->indent ? ": " : ":");
	}
}

static void open_(manifest_writer *w, const char *key, const char *bracket)
{
	prefix(w, key);
	puts_(w, bracket);
	w->depth++;
	w->need_comma = 0;
}

static void close_(manifest_writer *w, const char *bracket)
{
	w->depth--;
	if (w->need_comma) /* non-empty: the bracket goes on its own line */
		newline(w, w->depth);
	puts_(w, bracket);
	w->need_comma = 1;
}

void registry__mw_begin_object(manifest_writer *w, const char *key) { open_(w, key, "{"); }
void registry__mw_end_object(manifest_writer *w) { close_(w, "}"); }
void registry__mw_begin_array(manifest_writer *w, const char *key) { open_(w, key, "["); }
void registry__mw_end_array(manifest_writer *w) { close_(w, "]"); }

void registry__mw_string(manifest_writer *w, const char *key, const char *value)
{
	prefix(w, key);
	if (value)
		escaped(w, value);
	else
		puts_(w, "null");
	w->need_comma = 1;
}

void registry__mw_int(manifest_writer *w, const char *key, int64_t value)
{
	char num[24];
	snprintf(num, sizeof(num), "%" PRId64, value);
	prefix(w, key);
	puts_(w, num);
	w->need_comma = 1;
}

void registry__mw_bool(manifest_writer *w, const char *key, int value)
{
	prefix(w, key);
	puts_(w, value ? "true" : "false");
	w->need_comma = 1;
}

void registry__mw_null(manifest_writer *w, const char *key)
{
	registry__mw_string(w, key, NULL);
}

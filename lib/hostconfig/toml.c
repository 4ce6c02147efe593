/*
 * The TOML subset of registries.conf (see toml.h). A hand-written
 * recursive-descent reader over one buffer: no recursion deeper than an
 * array (arrays do not nest here), every string and count bounded, every
 * error a message with the file and line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toml.h"

typedef struct parser {
	const char *p, *end;
	const char *name;
	int line;
	registry__toml_cb cb;
	void *ud;
} parser;

static int syntax(const parser *ps, const char *what)
{
	return registry__fail(REGISTRY_EFORMAT, "%s:%d: %s", ps->name, ps->line, what);
}

static int at_end(const parser *ps)
{
	return ps->p >= ps->end;
}

static void skip_blank(parser *ps)
{
	while (!at_end(ps) && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
}

/* A comment runs to the end of the line; control characters other than tab
 * are not allowed in it (as TOML says). */
static int skip_comment(parser *ps)
{
	if (at_end(ps) || *ps->p != '#')
		return 0;
	for (; !at_end(ps) && *ps->p != '\n'; ps->p++) {
		unsigned char ch = (unsigned char)*ps->p;
		if ((ch < 0x20 && ch != '\t' && ch != '\r') || ch == 0x7f)
			return syntax(ps, "control character in a comment");
	}
	return 0;
}

/* Take a newline ("\n" or "\r\n"): 1, or 0 when there is none here. */
static int newline(parser *ps)
{
	const char *p = ps->p;
	if (p < ps->end && *p == '\r' && p + 1 < ps->end && p[1] == '\n')
		p++;
	if (p >= ps->end || *p != '\n')
		return 0;
	ps->p = p + 1;
	ps->line++;
	return 1;
}

/* The end of a line: blanks, an optional comment, then a newline or EOF. */
static int end_of_line(parser *ps)
{
	skip_blank(ps);
	int rc = skip_comment(ps);
	if (rc || at_end(ps) || newline(ps))
		return rc;
	return syntax(ps, "unexpected text after a value or header");
}

/* Blanks, comments and newlines (between lines, inside arrays). */
static int skip_space(parser *ps)
{
	int rc;
	do {
		skip_blank(ps);
		if ((rc = skip_comment(ps)))
			return rc;
	} while (newline(ps));
	return 0;
}

static int put(parser *ps, registry__buf *b, const char *s, size_t n)
{
	int rc = registry__buf_append(b, s, n);
	if (rc == REGISTRY_ETOOLARGE)
		return syntax(ps, "string or key too long");
	return rc ? registry__nomem() : 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* \uXXXX or \UXXXXXXXX as UTF-8 (surrogates and values past U+10FFFF refused). */
static int unicode_escape(parser *ps, int digits, registry__buf *out)
{
	unsigned long cp = 0;
	for (int i = 0; i < digits; i++) {
		if (at_end(ps) || hexval(*ps->p) < 0)
			return syntax(ps, "bad \\u escape");
		cp = cp * 16 + (unsigned long)hexval(*ps->p++);
	}
	if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || cp == 0)
		return syntax(ps, "\\u escape is not a Unicode scalar value");
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return put(ps, out, u, n);
}

static int escape(parser *ps, registry__buf *out)
{
	if (at_end(ps))
		return syntax(ps, "unterminated string");
	char c = *ps->p++;
	static const char from[] = "\"\\bfnrt", to[] = "\"\\\b\f\n\r\t";
	const char *hit = strchr(from, c);
	if (hit && c)
		return put(ps, out, &to[hit - from], 1);
	if (c == 'u')
		return unicode_escape(ps, 4, out);
	if (c == 'U')
		return unicode_escape(ps, 8, out);
	return syntax(ps, "unknown escape in a string");
}

/* A basic ("...") or literal ('...') string on one line into @out. */
static int string(parser *ps, registry__buf *out)
{
	char quote = *ps->p++;
	if (ps->end - ps->p >= 2 && ps->p[0] == quote && ps->p[1] == quote)
		return syntax(ps, "multi-line strings are not supported here");
	for (;;) {
		if (at_end(ps) || *ps->p == '\n')
			return syntax(ps, "unterminated string");
		char c = *ps->p;
		unsigned char uc = (unsigned char)c;
		if ((uc < 0x20 && c != '\t') || uc == 0x7f)
			return syntax(ps, "control character in a string");
		ps->p++;
		if (c == quote)
			return 0;
		int rc = (c == '\\' && quote == '"') ? escape(ps, out) : put(ps, out, &c, 1);
		if (rc)
			return rc;
	}
}

static int is_bare(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '-';
}

/* A key, dotted parts joined with '.', into @out (NUL-terminated). */
static int key(parser *ps, registry__buf *out)
{
	for (;;) {
		skip_blank(ps);
		if (at_end(ps))
			return syntax(ps, "a key is missing");
		int rc;
		if (*ps->p == '"' || *ps->p == '\'') {
			rc = string(ps, out);
		} else {
			const char *start = ps->p;
			while (!at_end(ps) && is_bare(*ps->p))
				ps->p++;
			rc = ps->p == start ? syntax(ps, "a key is missing") : put(ps, out, start, (size_t)(ps->p - start));
		}
		if (rc)
			return rc;
		skip_blank(ps);
		if (at_end(ps) || *ps->p != '.')
			return 0;
		ps->p++;
		if ((rc = put(ps, out, ".", 1)))
			return rc;
	}
}

/* true, false or a decimal integer (sign, '_' between digits). */
static int scalar(parser *ps, registry__buf *text, int *type, int *boolean, long long *integer)
{
	const char *start = ps->p;
	while (!at_end(ps) && (is_bare(*ps->p) || *ps->p == '+'))
		ps->p++;
	size_t n = (size_t)(ps->p - start);
	if (n == 4 && memcmp(start, "true", 4) == 0) {
		*type = REGISTRY__TOML_BOOL;
		*boolean = 1;
	} else if (n == 5 && memcmp(start, "false", 5) == 0) {
		*type = REGISTRY__TOML_BOOL;
		*boolean = 0;
	} else {
		size_t i = (n && (start[0] == '+' || start[0] == '-')) ? 1 : 0;
		long long v = 0;
		int digits = 0;
		for (; i < n; i++) {
			if (start[i] == '_' && digits && i + 1 < n && start[i + 1] != '_')
				continue;
			if (start[i] < '0' || start[i] > '9' || digits >= 18)
				return syntax(ps, n ? "unsupported value (only strings, booleans, integers and arrays)"
				                    : "a value is missing");
			v = v * 10 + (start[i] - '0');
			digits++;
		}
		if (!digits)
			return syntax(ps, "a value is missing");
		*type = REGISTRY__TOML_INT;
		*integer = start[0] == '-' ? -v : v;
	}
	return put(ps, text, start, n);
}

typedef struct items {
	char *v[REGISTRY__TOML_MAX_ITEMS];
	int types[REGISTRY__TOML_MAX_ITEMS];
	size_t n;
} items;

static void items_free(items *it)
{
	for (size_t i = 0; i < it->n; i++)
		free(it->v[i]);
	it->n = 0;
}

/* One value that is not an array, its text (unescaped string) into @b. */
static int single(parser *ps, registry__buf *b, int *type, int *boolean, long long *integer)
{
	if (at_end(ps))
		return syntax(ps, "a value is missing");
	if (*ps->p == '"' || *ps->p == '\'') {
		*type = REGISTRY__TOML_STRING;
		return string(ps, b);
	}
	if (*ps->p == '[' || *ps->p == '{')
		return syntax(ps, *ps->p == '{' ? "inline tables are not supported here"
		                                 : "nested arrays are not supported here");
	return scalar(ps, b, type, boolean, integer);
}

static int array(parser *ps, items *it)
{
	ps->p++; /* '[' */
	for (;;) {
		int rc = skip_space(ps);
		if (rc)
			return rc;
		if (!at_end(ps) && *ps->p == ']') {
			ps->p++;
			return 0;
		}
		if (it->n == REGISTRY__TOML_MAX_ITEMS)
			return syntax(ps, "array with too many items");
		registry__buf b;
		registry__buf_init(&b, REGISTRY__TOML_MAX_STRING);
		int type = 0, boolean = 0;
		long long integer = 0;
		rc = single(ps, &b, &type, &boolean, &integer);
		if (!rc && !b.data && !(b.data = registry__strdup("")))
			rc = registry__nomem();
		if (rc) {
			registry__buf_free(&b);
			return rc;
		}
		it->types[it->n] = type;
		it->v[it->n++] = registry__buf_detach(&b);
		if ((rc = skip_space(ps)))
			return rc;
		if (!at_end(ps) && *ps->p == ',')
			ps->p++;
		else if (at_end(ps) || *ps->p != ']')
			return syntax(ps, "expected ',' or ']' in an array");
	}
}

static int key_value(parser *ps)
{
	registry__buf k, text;
	registry__buf_init(&k, REGISTRY__TOML_MAX_KEY);
	registry__buf_init(&text, REGISTRY__TOML_MAX_STRING);
	items *it = calloc(1, sizeof(*it));
	registry__toml_value v = {0};
	int line = ps->line;
	int rc = it ? key(ps, &k) : registry__nomem();
	if (!rc) {
		skip_blank(ps);
		if (at_end(ps) || *ps->p != '=')
			rc = syntax(ps, "expected '=' after a key");
		else
			ps->p++;
	}
	if (!rc) {
		skip_blank(ps);
		if (!at_end(ps) && *ps->p == '[') {
			v.type = REGISTRY__TOML_ARRAY;
			rc = array(ps, it);
			v.items = (const char *const *)it->v;
			v.item_types = it->types;
			v.nitems = it->n;
		} else {
			rc = single(ps, &text, &v.type, &v.boolean, &v.integer);
			v.str = text.data ? text.data : "";
		}
	}
	if (!rc)
		rc = end_of_line(ps);
	if (!rc) {
		registry__toml_event e = {.kind = REGISTRY__TOML_KEY, .key = k.data, .value = &v, .line = line};
		rc = ps->cb(&e, ps->ud);
	}
	if (it)
		items_free(it);
	free(it);
	registry__buf_free(&k);
	registry__buf_free(&text);
	return rc;
}

static int header(parser *ps)
{
	int array_table = ps->end - ps->p >= 2 && ps->p[1] == '[';
	ps->p += array_table ? 2 : 1;
	registry__buf k;
	registry__buf_init(&k, REGISTRY__TOML_MAX_KEY);
	int line = ps->line;
	int rc = key(ps, &k);
	if (!rc && (at_end(ps) || *ps->p != ']' ||
	            (array_table && (ps->end - ps->p < 2 || ps->p[1] != ']'))))
		rc = syntax(ps, array_table ? "expected ']]' after a table name" : "expected ']' after a table name");
	if (!rc) {
		ps->p += array_table ? 2 : 1;
		rc = end_of_line(ps);
	}
	if (!rc) {
		registry__toml_event e = {.kind = array_table ? REGISTRY__TOML_ARRAY_TABLE : REGISTRY__TOML_TABLE,
		                          .path = k.data, .line = line};
		rc = ps->cb(&e, ps->ud);
	}
	registry__buf_free(&k);
	return rc;
}

int registry__toml_parse(const char *text, size_t len, const char *name, registry__toml_cb cb,
                         void *userdata)
{
	if (!text)
		text = "", len = 0;
	if (len > REGISTRY__TOML_MAX_TEXT)
		return registry__fail(REGISTRY_ETOOLARGE, "%s is larger than 1 MiB", name);
	if (len && memchr(text, '\0', len))
		return registry__fail(REGISTRY_EFORMAT, "%s: NUL byte in a TOML file", name);
	parser ps = {.p = text, .end = text + len, .name = name, .line = 1,
	             .cb = cb, .ud = userdata};
	/* A UTF-8 byte order mark is allowed at the start. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		ps.p += 3;
	int rc = 0;
	while (!rc) {
		if ((rc = skip_space(&ps)) || at_end(&ps))
			break;
		rc = *ps.p == '[' ? header(&ps) : key_value(&ps);
	}
	return rc;
}

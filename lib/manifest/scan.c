/*
 * JSON input checks that cJSON does not make. cJSON accepts raw control
 * bytes, decodes "\u0000" into a string-ending NUL, passes invalid UTF-8
 * through and keeps duplicate keys (returning the first where Go returns the
 * last). Each of those lets two parsers read one document differently, so
 * they are refused before anything is read from the document.
 */
#include <stdlib.h>
#include <string.h>

#include "manifest_impl.h"

#define NESTING_LIMIT CJSON_NESTING_LIMIT

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned int cp;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0; /* overlong or out of range */
	if (cp >= 0xd800 && cp <= 0xdfff)
		return 0; /* surrogates are not characters */
	return len;
}

int registry__manifest_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		size_t n = utf8_seq(p + i, len - i);
		if (!n)
			return 0;
		i += n;
	}
	return 1;
}

static int is_json_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int registry__manifest_check_bytes(const char *data, size_t len, const char *what)
{
	const unsigned char *p = (const unsigned char *)data;
	int in_string = 0;
	size_t depth = 0;
	size_t i = 0;
	/* cJSON skips a byte order mark; Go and RFC 8259 do not allow one. */
	if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		return registry__fail(REGISTRY_EFORMAT, "%s: starts with a byte order mark", what);
	while (i < len) {
		unsigned char c = p[i];
		if (c >= 0x80) {
			size_t n = utf8_seq(p + i, len - i);
			if (!n)
				return registry__fail(REGISTRY_EFORMAT, "%s: invalid UTF-8 at byte %zu", what, i);
			i += n;
			continue;
		}
		if (in_string) {
			if (c < 0x20)
				return registry__fail(REGISTRY_EFORMAT,
				                      "%s: control character 0x%02x inside a string at byte %zu",
				                      what, c, i);
			if (c == '"') {
				in_string = 0;
			} else if (c == '\\') {
				if (i + 1 < len && p[i + 1] == 'u' && i + 6 <= len &&
				    memcmp(p + i + 2, "0000", 4) == 0)
					return registry__fail(REGISTRY_EFORMAT,
					                      "%s: \\u0000 inside a string at byte %zu", what, i);
				i++; /* skip the escaped character; cJSON checks the rest */
			}
			i++;
			continue;
		}
		if (c == '"') {
			in_string = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > NESTING_LIMIT)
				return registry__fail(REGISTRY_EFORMAT,
				                      "%s: nesting deeper than %d levels at byte %zu", what,
				                      NESTING_LIMIT, i);
		} else if (c == ']' || c == '}') {
			if (depth)
				depth--;
		} else if (c < 0x20 && !is_json_space(c)) {
			return registry__fail(REGISTRY_EFORMAT, "%s: control character 0x%02x at byte %zu",
			                      what, c, i);
		}
		i++;
	}
	return 0;
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int dup_fail(const char *what, const char *key)
{
	return registry__fail(REGISTRY_EFORMAT, "%s: duplicate key \"%.64s\"", what, key);
}

/* Duplicate keys anywhere in the tree. Depth is bounded by NESTING_LIMIT. */
static int check_duplicates(const cJSON *node, const char *what)
{
	if (cJSON_IsObject(node)) {
		size_t n = 0;
		for (const cJSON *c = node->child; c; c = c->next)
			n++;
		if (n > 1 && n <= 8) {
			for (const cJSON *a = node->child; a; a = a->next)
				for (const cJSON *b = a->next; b; b = b->next)
					if (strcmp(a->string, b->string) == 0)
						return dup_fail(what, a->string);
		} else if (n > 8) {
			const char **keys = malloc(n * sizeof(*keys));
			if (!keys)
				return registry__fail(REGISTRY_ENOMEM, "out of memory");
			size_t k = 0;
			for (const cJSON *c = node->child; c; c = c->next)
				keys[k++] = c->string;
			qsort(keys, n, sizeof(*keys), cmp_keys);
			for (k = 1; k < n; k++) {
				if (strcmp(keys[k - 1], keys[k]) == 0) {
					int rc = dup_fail(what, keys[k]);
					free(keys);
					return rc;
				}
			}
			free(keys);
		}
	}
	if (cJSON_IsObject(node) || cJSON_IsArray(node)) {
		for (const cJSON *c = node->child; c; c = c->next) {
			int rc = check_duplicates(c, what);
			if (rc)
				return rc;
		}
	}
	return 0;
}

cJSON *registry__manifest_parse_json(const char *data, size_t len, const char *what, int *rc)
{
	*rc = registry__manifest_check_bytes(data, len, what);
	if (*rc)
		return NULL;
	const char *end = NULL;
	cJSON *tree = cJSON_ParseWithLengthOpts(data, len, &end, 0);
	if (!tree) {
		size_t off = end && end >= data && end <= data + len ? (size_t)(end - data) : 0;
		*rc = registry__fail(REGISTRY_EFORMAT, "%s: not valid JSON (error near byte %zu)", what, off);
		return NULL;
	}
	size_t off = (size_t)(end - data);
	while (off < len && is_json_space((unsigned char)data[off]))
		off++;
	if (off < len) {
		cJSON_Delete(tree);
		*rc = registry__fail(REGISTRY_EFORMAT, "%s: unexpected data after the JSON value at byte %zu",
		                     what, off);
		return NULL;
	}
	if ((*rc = check_duplicates(tree, what))) {
		cJSON_Delete(tree);
		return NULL;
	}
	return tree;
}

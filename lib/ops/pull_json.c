/*
 * JSON text helpers of pull and export: splitting an object into its
 * members as written (so values keep their exact text), and strings encoded
 * the way Go's encoding/json encodes them (HTML-safe), which is what makes
 * the configs we synthesize byte-identical to skopeo's.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pull_impl.h"

static int oom(void)
{
	return registry__fail(REGISTRY_ENOMEM, "out of memory");
}

static int buf_rc(int rc)
{
	return rc == 0 ? 0 : rc == REGISTRY_ENOMEM ? oom() : registry__fail(rc, "JSON text too large");
}

static size_t skip_ws(const char *p, size_t i, size_t n)
{
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
		i++;
	return i;
}

/* End of the string starting at p[i] == '"' (index after the closing quote). */
static size_t skip_string(const char *p, size_t i, size_t n)
{
	for (i++; i < n; i++) {
		if (p[i] == '\\')
			i++;
		else if (p[i] == '"')
			return i + 1;
	}
	return n;
}

/* End of the value starting at p[i] (text already validated as JSON). */
static size_t skip_value(const char *p, size_t i, size_t n)
{
	if (i >= n)
		return n;
	if (p[i] == '"')
		return skip_string(p, i, n);
	if (p[i] == '{' || p[i] == '[') {
		size_t depth = 0;
		while (i < n) {
			char c = p[i];
			if (c == '"') {
				i = skip_string(p, i, n);
				continue;
			}
			if (c == '{' || c == '[')
				depth++;
			else if ((c == '}' || c == ']') && --depth == 0)
				return i + 1;
			i++;
		}
		return n;
	}
	while (i < n && p[i] != ',' && p[i] != '}' && p[i] != ']' && p[i] != ' ' && p[i] != '\t' &&
	       p[i] != '\n' && p[i] != '\r')
		i++;
	return i;
}

int registry__json_members(const char *text, size_t len, void **tree_out,
                           registry__json_member **members_out, size_t *count_out)
{
	*tree_out = NULL;
	*members_out = NULL;
	*count_out = 0;
	cJSON *tree = cJSON_ParseWithLength(text, len);
	if (!tree || !cJSON_IsObject(tree)) {
		cJSON_Delete(tree);
		return registry__fail(REGISTRY_EFORMAT, "not a JSON object");
	}
	size_t n = (size_t)cJSON_GetArraySize(tree);
	registry__json_member *m = calloc(n ? n : 1, sizeof(*m));
	if (!m) {
		cJSON_Delete(tree);
		return oom();
	}
	/* The raw scan meets the members in the order cJSON lists them. */
	size_t count = 0, i = skip_ws(text, 0, len) + 1;
	const cJSON *child = tree->child;
	while (child) {
		i = skip_ws(text, i, len);
		if (i >= len || text[i] != '"')
			break;
		size_t key_start = i;
		i = skip_string(text, i, len);
		size_t key_end = i;
		i = skip_ws(text, i, len);
		if (i >= len || text[i] != ':')
			break;
		i = skip_ws(text, i + 1, len);
		size_t value_start = i;
		i = skip_value(text, i, len);
		registry__json_member cur = {child->string, text + key_start, key_end - key_start,
		                             text + value_start, i - value_start};
		size_t k = 0;
		while (k < count && strcmp(m[k].key, cur.key) != 0)
			k++;
		m[k] = cur; /* a repeated key keeps its first place and takes the last value */
		if (k == count)
			count++;
		i = skip_ws(text, i, len);
		if (i < len && text[i] == ',')
			i++;
		child = child->next;
	}
	if (child) {
		free(m);
		cJSON_Delete(tree);
		return registry__fail(REGISTRY_EFORMAT, "JSON object could not be split into members");
	}
	*tree_out = tree;
	*members_out = m;
	*count_out = count;
	return 0;
}

void registry__json_members_free(void *tree, registry__json_member *members)
{
	free(members);
	cJSON_Delete(tree);
}

/* Length of the valid UTF-8 sequence at s (0 when invalid), as Go's utf8 decoder accepts. */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n;
	unsigned lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else
		return 0;
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t k = 2; k < n; k++)
		if (s[k] < 0x80 || s[k] > 0xBF)
			return 0;
	return n;
}

int registry__json_go_string(registry__buf *b, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str);
	int rc = registry__buf_append(b, "\"", 1);
	for (size_t i = 0; !rc && i < n;) {
		unsigned char c = s[i];
		if (c >= 0x80) {
			size_t k = utf8_seq(s + i, n - i);
			if (!k) {
				rc = registry__buf_puts(b, "\\ufffd");
				i++;
			} else if (k == 3 && c == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
				rc = registry__buf_puts(b, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
				i += 3;
			} else {
				rc = registry__buf_append(b, s + i, k);
				i += k;
			}
			continue;
		}
		char esc[7];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			rc = registry__buf_append(b, esc, 2);
		} else if (c == '\n') {
			rc = registry__buf_puts(b, "\\n");
		} else if (c == '\r') {
			rc = registry__buf_puts(b, "\\r");
		} else if (c == '\t') {
			rc = registry__buf_puts(b, "\\t");
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			memcpy(esc, "\\u00", 4); // NOLINT(bugprone-not-null-terminated-result): 6 counted bytes
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			rc = registry__buf_append(b, esc, 6);
		} else {
			rc = registry__buf_append(b, s + i, 1);
		}
		i++;
	}
	if (!rc)
		rc = registry__buf_append(b, "\"", 1);
	return buf_rc(rc);
}

/*
 * WWW-Authenticate parsing (RFC 7235): several challenges in one header,
 * auth-params with token or quoted-string values (escapes and commas inside
 * quotes), case-insensitive scheme and parameter names.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "transport.h"

#define MAX_CHALLENGES 16
#define MAX_PARAMS 32

static int is_tchar(int ch)
{
	return isalnum(ch) || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static void skip_ws(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

static size_t token_len(const char *p)
{
	size_t n = 0;
	while (is_tchar((unsigned char)p[n]))
		n++;
	return n;
}

static char *lower_dup(const char *s, size_t n)
{
	char *d = registry__strndup(s, n);
	for (size_t i = 0; d && i < n; i++)
		d[i] = (char)tolower((unsigned char)d[i]);
	return d;
}

/* Quoted string at *p (on the opening quote); returns the unescaped copy. */
static int parse_quoted(const char **p, char **out)
{
	registry__buf b;
	registry__buf_init(&b, REGISTRY__HEADER_LIMIT);
	const char *s = *p + 1;
	int rc = 0;
	for (; *s && *s != '"' && !rc; s++) {
		if (*s == '\\') {
			if (!s[1]) {
				rc = REGISTRY_EFORMAT;
				break;
			}
			s++;
		}
		rc = registry__buf_append(&b, s, 1);
	}
	if (!rc && *s != '"')
		rc = REGISTRY_EFORMAT;
	if (rc) {
		registry__buf_free(&b);
		return rc == REGISTRY_ENOMEM ? rc : REGISTRY_EFORMAT;
	}
	*p = s + 1;
	*out = registry__buf_detach(&b);
	return *out ? 0 : REGISTRY_ENOMEM;
}

static int add_param(registry__challenge *ch, char *name, char *value)
{
	if (ch->nparams >= MAX_PARAMS) {
		free(name);
		free(value);
		return REGISTRY_EFORMAT;
	}
	if (!ch->params && !(ch->params = calloc(MAX_PARAMS, sizeof(*ch->params)))) {
		free(name);
		free(value);
		return registry__nomem();
	}
	ch->params[ch->nparams].name = name;
	ch->params[ch->nparams].value = value;
	ch->nparams++;
	return 0;
}

/* At *p: "name = value". Returns 1 when one was consumed, 0 if *p is not a
 * param (the caller then starts a new challenge), negative on error. */
static int parse_param(registry__challenge *ch, const char **p)
{
	const char *s = *p;
	size_t n = token_len(s);
	if (!n)
		return 0;
	const char *after = s + n;
	skip_ws(&after);
	if (*after != '=')
		return 0;
	after++;
	skip_ws(&after);
	char *value = NULL;
	if (*after == '"') {
		int rc = parse_quoted(&after, &value);
		if (rc)
			return rc;
	} else {
		size_t vn = token_len(after);
		value = registry__strndup(after, vn);
		after += vn;
	}
	char *name = lower_dup(s, n);
	if (!name || !value) {
		free(name);
		free(value);
		return registry__nomem();
	}
	int rc = add_param(ch, name, value);
	if (rc)
		return rc;
	*p = after;
	return 1;
}

int registry__challenges_parse(registry__challenges *out, const char *header)
{
	memset(out, 0, sizeof(*out));
	if (!header)
		return REGISTRY_EFORMAT;
	if (strlen(header) > REGISTRY__HEADER_LIMIT)
		return REGISTRY_ETOOLARGE;
	out->items = calloc(MAX_CHALLENGES, sizeof(*out->items));
	if (!out->items)
		return registry__nomem();
	const char *p = header;
	int rc = 0;
	while (!rc) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		size_t n = token_len(p);
		if (!n || out->count >= MAX_CHALLENGES) {
			rc = REGISTRY_EFORMAT;
			break;
		}
		registry__challenge *ch = &out->items[out->count++];
		if (!(ch->scheme = lower_dup(p, n))) {
			rc = REGISTRY_ENOMEM;
			break;
		}
		p += n;
		skip_ws(&p);
		/* token68 form ("Negotiate abc=="): kept as a "token68" param. */
		size_t t = 0;
		while (p[t] && (isalnum((unsigned char)p[t]) || strchr("-._~+/", p[t])))
			t++;
		size_t eq = t;
		while (p[eq] == '=')
			eq++;
		const char *end = p + eq;
		skip_ws(&end);
		if (t && eq > t && (*end == ',' || !*end)) {
			char *name = registry__strdup("token68"), *value = registry__strndup(p, eq);
			if ((rc = add_param(ch, name, value)))
				break;
			p = end;
			continue;
		}
		for (;;) {
			int got = parse_param(ch, &p);
			if (got < 0) {
				rc = got;
				break;
			}
			if (got == 0)
				break;
			skip_ws(&p);
			if (*p != ',')
				break;
			const char *save = p;
			while (*p == ' ' || *p == '\t' || *p == ',')
				p++;
			/* Is the next item a param of this challenge or a new scheme? */
			const char *probe = p + token_len(p);
			skip_ws(&probe);
			if (*probe != '=') {
				p = save;
				break;
			}
		}
		skip_ws(&p);
		if (!rc && *p && *p != ',')
			rc = REGISTRY_EFORMAT;
	}
	if (!rc && out->count == 0)
		rc = REGISTRY_EFORMAT;
	if (rc)
		registry__challenges_free(out);
	return rc;
}

void registry__challenges_free(registry__challenges *c)
{
	for (size_t i = 0; c->items && i < c->count; i++) {
		for (size_t j = 0; j < c->items[i].nparams; j++) {
			free(c->items[i].params[j].name);
			free(c->items[i].params[j].value);
		}
		free(c->items[i].params);
		free(c->items[i].scheme);
	}
	free(c->items);
	memset(c, 0, sizeof(*c));
}

const registry__challenge *registry__challenges_find(const registry__challenges *c,
                                                     const char *scheme)
{
	for (size_t i = 0; i < c->count; i++)
		if (strcasecmp(c->items[i].scheme, scheme) == 0)
			return &c->items[i];
	return NULL;
}

const char *registry__challenge_param(const registry__challenge *ch, const char *name)
{
	for (size_t i = 0; ch && i < ch->nparams; i++)
		if (strcasecmp(ch->params[i].name, name) == 0)
			return ch->params[i].value;
	return NULL;
}

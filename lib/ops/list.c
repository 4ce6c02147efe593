/* Paged lists: the tags of a repository and the registry's catalog, fetched
 * page by page as the caller consumes them, following the Link header. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "digest/hash.h"
#include "list_impl.h"
#include "manifest/manifest_impl.h"
#include "transport/transport.h"

struct registry_list {
	registry_client *client;
	char *scope;
	char *what;     /* "listing tags of NAME", for messages */
	const char *key; /* "tags" or "repositories" */
	int tags;
	char *next;     /* the next page to fetch; NULL at the end */
	registry__url_set seen;
	char **names;   /* the current page */
	size_t count, pos;
	unsigned long pages;
	int error; /* sticky: a failed list stays failed */
};

/* ---- Link header ----------------------------------------------------------- */

static const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static int is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Read a token or quoted string at *pp into @buf (truncated to fit). */
static int read_value(const char **pp, char *buf, size_t size)
{
	const char *p = *pp;
	size_t n = 0;
	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if (!*p)
				return -1; /* the caller says what is wrong */
			if (*p == '\\' && p[1])
				p++;
			if (n + 1 < size)
				buf[n++] = *p;
		}
		p++;
	} else {
		for (; is_tchar(*p); p++)
			if (n + 1 < size)
				buf[n++] = *p;
	}
	buf[n] = '\0';
	*pp = p;
	return 0;
}

/* 1 when the space-separated relation types in @rel include "next". */
static int rel_has_next(const char *rel)
{
	for (const char *p = rel; *p;) {
		p += strspn(p, " \t");
		size_t n = strcspn(p, " \t");
		if (n == 4 && strncasecmp(p, "next", 4) == 0)
			return 1;
		p += n;
	}
	return 0;
}

int registry__link_next(const char *header, char **target)
{
	*target = NULL;
	const char *p = header;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			return 0;
		if (*p != '<')
			return registry__fail(REGISTRY_EPROTOCOL, "malformed Link header: expected '<'");
		const char *start = p + 1, *end = strchr(start, '>');
		if (!end)
			return registry__fail(REGISTRY_EPROTOCOL, "malformed Link header: no '>'");
		p = end + 1;
		int next = 0;
		for (;;) {
			p = skip_ows(p);
			if (!*p || *p == ',')
				break;
			if (*p != ';')
				return registry__fail(REGISTRY_EPROTOCOL, "malformed Link header after the URL");
			p = skip_ows(p + 1);
			char name[32], value[256];
			size_t n = 0;
			for (; is_tchar(*p); p++)
				if (n + 1 < sizeof(name))
					name[n++] = *p;
			name[n] = '\0';
			if (n == 0)
				return registry__fail(REGISTRY_EPROTOCOL, "malformed Link header parameter");
			p = skip_ows(p);
			value[0] = '\0';
			if (*p == '=') {
				p = skip_ows(p + 1);
				if (read_value(&p, value, sizeof(value)))
					return registry__fail(REGISTRY_EPROTOCOL, "malformed Link header: open quote");
			}
			if (strcasecmp(name, "rel") == 0 && rel_has_next(value))
				next = 1;
		}
		if (next) {
			if (!(*target = registry__strndup(start, (size_t)(end - start))))
				return registry__fail(REGISTRY_ENOMEM, "out of memory");
			return 0;
		}
	}
}

int registry__list_next_url(const char *base, const char *link, char **out)
{
	*out = NULL;
	char *target = NULL;
	int rc = registry__link_next(link, &target);
	if (rc || !target)
		return rc;
	char *abs = NULL;
	registry__origin from, to;
	/* An empty reference is the base itself (RFC 3986 5.2.2), which
	 * libcurl resolves to the base's folder instead. */
	rc = *target ? registry__url_resolve(&abs, base, target) : registry__url_resolve(&abs, base, base);
	if (rc == REGISTRY_ENOMEM) {
		rc = registry__fail(rc, "out of memory");
	} else if (rc || registry__origin_of(&to, abs) != 0 ||
	           (strcmp(to.scheme, "https") != 0 && strcmp(to.scheme, "http") != 0)) {
		rc = registry__fail(REGISTRY_EPROTOCOL, "Link header names an unusable next page");
	} else if (registry__origin_of(&from, base) == 0 && strcmp(from.scheme, "https") == 0 &&
	           strcmp(to.scheme, "http") == 0) {
		rc = registry__fail(REGISTRY_EPROTOCOL, "Link header steps down from https to http");
	}
	free(target);
	if (rc)
		free(abs);
	else
		*out = abs;
	return rc;
}

/* ---- pages ----------------------------------------------------------------- */

void registry__list_names_free(char **names)
{
	if (!names)
		return;
	for (size_t i = 0; names[i]; i++)
		free(names[i]);
	free(names);
}

int registry__list_parse_page(const char *data, size_t len, const char *key, int tags,
                              const char *what, char ***names, size_t *count)
{
	*names = NULL;
	*count = 0;
	int rc = 0;
	cJSON *root = registry__manifest_parse_json(data ? data : "", len, what, &rc);
	if (!root)
		return rc;
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, key);
	size_t n = 0;
	if (!cJSON_IsObject(root)) {
		rc = registry__fail(REGISTRY_EFORMAT, "%s: the page is not a JSON object", what);
	} else if (arr && !cJSON_IsNull(arr) && !cJSON_IsArray(arr)) {
		rc = registry__fail(REGISTRY_EFORMAT, "%s: \"%s\" is not an array", what, key);
	} else if (arr && cJSON_IsArray(arr)) {
		n = (size_t)cJSON_GetArraySize(arr);
	}
	char **out = rc ? NULL : registry__calloc(n + 1, sizeof(char *));
	if (!rc && !out)
		rc = registry__fail(REGISTRY_ENOMEM, "out of memory");
	size_t i = 0;
	for (const cJSON *it = (rc || !arr) ? NULL : arr->child; it && !rc; it = it->next, i++) {
		if (!cJSON_IsString(it)) {
			rc = registry__fail(REGISTRY_EFORMAT, "%s: %s[%zu] is not a string", what, key, i);
			break;
		}
		int bad = tags ? registry_reference_validate_tag(it->valuestring)
		               : registry_reference_validate_repository(it->valuestring);
		if (bad) {
			/* Name the entry without echoing arbitrary bytes. */
			rc = registry__fail(REGISTRY_EFORMAT, "%s: %s[%zu] is not a valid %s", what, key, i,
			                    tags ? "tag" : "repository name");
			break;
		}
		if (!(out[i] = registry__strdup(it->valuestring)))
			rc = registry__fail(REGISTRY_ENOMEM, "out of memory");
	}
	cJSON_Delete(root);
	if (rc) {
		registry__list_names_free(out);
		return rc;
	}
	*names = out;
	*count = i;
	return 0;
}

/* ---- URL set ---------------------------------------------------------------- */

void registry__url_set_init(registry__url_set *s)
{
	memset(s, 0, sizeof(*s));
}

void registry__url_set_free(registry__url_set *s)
{
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

/* The raw sha256 of @url (the digest module gives "sha256:<hex>"). */
static int url_key(const char *url, unsigned char key[REGISTRY__URL_KEY_BYTES])
{
	char text[REGISTRY_DIGEST_STRING_MAX];
	registry__hash h;
	int rc = registry__hash_init(&h, REGISTRY_DIGEST_SHA256);
	if (rc)
		return rc;
	rc = registry__hash_update(&h, url, strlen(url));
	if (!rc)
		rc = registry__hash_final(&h, text);
	registry__hash_cleanup(&h);
	if (rc)
		return rc;
	const char *hex = registry__digest_hex(text);
	for (size_t i = 0; i < REGISTRY__URL_KEY_BYTES; i++) {
		unsigned hi = (unsigned)(hex[2 * i] <= '9' ? hex[2 * i] - '0' : hex[2 * i] - 'a' + 10);
		unsigned lo = (unsigned)(hex[2 * i + 1] <= '9' ? hex[2 * i + 1] - '0' : hex[2 * i + 1] - 'a' + 10);
		key[i] = (unsigned char)(hi << 4 | lo);
	}
	static const unsigned char zero[REGISTRY__URL_KEY_BYTES];
	if (memcmp(key, zero, sizeof(zero)) == 0)
		key[0] = 1; /* all zero marks an empty slot */
	return 0;
}

static unsigned char *set_slot(unsigned char (*slots)[REGISTRY__URL_KEY_BYTES], size_t cap,
                               const unsigned char *key)
{
	static const unsigned char zero[REGISTRY__URL_KEY_BYTES];
	uint64_t h;
	memcpy(&h, key, sizeof(h)); /* a sha256 is spread evenly already */
	size_t i = (size_t)(h & (cap - 1));
	while (memcmp(slots[i], zero, sizeof(zero)) != 0 && memcmp(slots[i], key, sizeof(zero)) != 0)
		i = (i + 1) & (cap - 1);
	return slots[i];
}

int registry__url_set_add(registry__url_set *s, const char *url)
{
	unsigned char key[REGISTRY__URL_KEY_BYTES];
	int rc = url_key(url, key);
	if (rc)
		return rc;
	if ((s->count + 1) * 4 > s->cap * 3) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		unsigned char (*slots)[REGISTRY__URL_KEY_BYTES] = registry__calloc(cap, sizeof(*slots));
		if (!slots)
			return registry__nomem();
		static const unsigned char zero[REGISTRY__URL_KEY_BYTES];
		for (size_t i = 0; i < s->cap; i++)
			if (memcmp(s->slots[i], zero, sizeof(zero)) != 0)
				memcpy(set_slot(slots, cap, s->slots[i]), s->slots[i], sizeof(zero));
		free(s->slots);
		s->slots = slots;
		s->cap = cap;
	}
	unsigned char *slot = set_slot(s->slots, s->cap, key);
	if (memcmp(slot, key, sizeof(key)) == 0)
		return 1;
	memcpy(slot, key, sizeof(key));
	s->count++;
	return 0;
}
/* Percent-encode everything but RFC 3986 unreserved characters. */
int registry__query_escape(registry__buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~", *p)) {
			rc = registry__buf_append(b, p, 1);
		} else {
			char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			rc = registry__buf_append(b, enc, 3);
		}
	}
	return rc;
}

/* ---- the iterator ------------------------------------------------------------ */

static int list_new(registry_list **out, registry_client *c, const char *path,
                    const registry_list_options *o, const char *scope, const char *what, int tags)
{
	registry_list *l = registry__calloc(1, sizeof(*l));
	if (!l)
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	l->client = c;
	l->tags = tags;
	l->key = tags ? "tags" : "repositories";
	registry__url_set_init(&l->seen);
	registry__buf url;
	registry__buf_init(&url, 0);
	int rc = registry__buf_puts(&url, path);
	const char *sep = "?";
	if (!rc && o->page_size > 0) {
		rc = registry__buf_printf(&url, "?n=%u", o->page_size);
		sep = "&";
	}
	/* Only the first page: the registry's Link header carries it on. */
	if (!rc && o->last && !(rc = registry__buf_printf(&url, "%slast=", sep)))
		rc = registry__query_escape(&url, o->last);
	l->next = rc ? NULL : registry__buf_detach(&url);
	registry__buf_free(&url);
	l->scope = registry__strdup(scope);
	l->what = registry__strdup(what);
	if (!l->next || !l->scope || !l->what) {
		registry_list_free(l);
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	}
	*out = l;
	return 0;
}

int registry_list_options_init(registry_list_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_list_options_init: NULL options");
	registry_list_options init = REGISTRY_LIST_OPTIONS_INIT;
	*opts = init;
	return 0;
}

/* The checks both list openers share; *o is the defaults for NULL. */
static int list_options(const registry_list_options **o, const char *fn)
{
	static const registry_list_options defaults = REGISTRY_LIST_OPTIONS_INIT;
	if (!*o)
		*o = &defaults;
	int rc = registry__options_check(fn, (*o)->version, REGISTRY_LIST_OPTIONS_VERSION, (*o)->flags, 0);
	if (rc)
		return rc;
	if ((*o)->page_size > INT_MAX)
		return registry__fail(REGISTRY_EINVAL, "%s: page_size %u is above %d", fn, (*o)->page_size, INT_MAX);
	if ((*o)->last && (!(*o)->last[0] || strlen((*o)->last) > REGISTRY__LIST_LAST_MAX))
		return registry__fail(REGISTRY_EINVAL, "%s: last is empty or longer than %d bytes", fn,
		                      REGISTRY__LIST_LAST_MAX);
	return 0;
}

int registry_list_tags_open(registry_list **out, registry_client *c, const char *repository,
                            const registry_list_options *opts)
{
	REGISTRY__ENTER(rc);
	if (out)
		*out = NULL;
	if ((rc = list_options(&opts, "registry_list_tags_open")))
		return rc;
	if (!out || !c || !repository)
		return registry__fail(REGISTRY_EINVAL, "registry_list_tags_open: NULL argument");
	if ((rc = registry_reference_validate_repository(repository)))
		return rc;
	char path[600], scope[600], what[600];
	snprintf(path, sizeof(path), "/v2/%s/tags/list", repository);
	snprintf(scope, sizeof(scope), "repository:%s:pull", repository);
	snprintf(what, sizeof(what), "listing tags of %s", repository);
	return list_new(out, c, path, opts, scope, what, 1);
}

int registry_list_catalog_open(registry_list **out, registry_client *c, const registry_list_options *opts)
{
	REGISTRY__ENTER(rc);
	if (out)
		*out = NULL;
	if ((rc = list_options(&opts, "registry_list_catalog_open")))
		return rc;
	if (!out || !c)
		return registry__fail(REGISTRY_EINVAL, "registry_list_catalog_open: NULL argument");
	return list_new(out, c, "/v2/_catalog", opts, "registry:catalog:*", "listing the catalog", 0);
}

/* Where the page came from, normalized, for the Link base and the seen set. */
static int page_url(char **out, const registry__response *resp, const char *requested,
                    registry_client *c)
{
	const char *base = resp->url ? resp->url : registry_client_base_url(c);
	if (!base)
		return registry__fail(REGISTRY_EPROTOCOL, "no URL for the page");
	int rc = registry__url_resolve(out, base, resp->url ? resp->url : requested);
	return rc ? registry__fail(rc, "bad page URL") : 0;
}

/* registry__url_set_add with its failure recorded: 1 seen, 0 new, or a code. */
static int seen_add(registry_list *l, const char *url)
{
	int rc = registry__url_set_add(&l->seen, url);
	return rc < 0 ? registry__fail(rc, "%s: cannot keep track of the pages (%s)", l->what,
	                               registry_strerror(rc))
	              : rc;
}

int registry__list_page_check(const registry_list *l)
{
	if (l->error)
		return registry__fail(l->error, "%s failed before: %s", l->what, registry_strerror(l->error));
	if (l->pages >= REGISTRY__LIST_MAX_PAGES)
		return registry__fail(REGISTRY_EPROTOCOL, "%s: more than %lu pages", l->what,
		                      REGISTRY__LIST_MAX_PAGES);
	return 0;
}

const char *registry__list_page_url(const registry_list *l) { return l->next; }
const char *registry__list_scope(const registry_list *l) { return l->scope; }
registry_client *registry__list_client(const registry_list *l) { return l->client; }
const char *const registry__list_headers[] = {"Accept: application/json", NULL};

int registry__list_page_done(registry_list *l, int rc, const registry__response *resp)
{
	if (rc == REGISTRY_ETOOLARGE)
		rc = registry__fail(rc, "%s: a page larger than %zu bytes", l->what, REGISTRY__JSON_LIMIT);
	else if (!rc && resp->status != 200)
		rc = registry__response_fail(resp, l->what);
	char *here = NULL, *next = NULL;
	if (!rc)
		rc = page_url(&here, resp, l->next, l->client);
	if (!rc && (rc = seen_add(l, here)) > 0)
		rc = 0;
	char **names = NULL;
	size_t count = 0;
	if (!rc)
		rc = registry__list_parse_page(resp->body.data, resp->body.len, l->key, l->tags, l->what,
		                               &names, &count);
	if (!rc && resp->link && (rc = registry__list_next_url(here, resp->link, &next))) {
		char msg[300];
		snprintf(msg, sizeof(msg), "%s", registry_error_message(registry_error_last()));
		registry__fail(rc, "%s: %s", l->what, msg);
	}
	if (!rc && next) {
		int seen = seen_add(l, next);
		if (seen < 0) {
			rc = seen;
		} else if (seen) {
			/* A page we fetched already: the list has come round. */
			free(next);
			next = NULL;
		}
	}
	free(here);
	if (rc) {
		free(next);
		registry__list_names_free(names);
		l->error = rc;
		return rc;
	}
	l->pages++;
	registry__list_names_free(l->names);
	l->names = names;
	l->count = count;
	l->pos = 0;
	free(l->next);
	l->next = next;
	return 0;
}

static int fetch_page(registry_list *l)
{
	int rc = registry__list_page_check(l);
	if (rc) {
		l->error = rc;
		return rc;
	}
	registry__request req = {.url = l->next, .scope = l->scope, .headers = registry__list_headers,
	                         .body_limit = REGISTRY__JSON_LIMIT};
	registry__response resp;
	registry__response_init(&resp);
	rc = registry__client_do(l->client, &req, &resp);
	rc = registry__list_page_done(l, rc, &resp);
	registry__response_free(&resp);
	return rc;
}

size_t registry_list_buffered(const registry_list *l)
{
	return l && !l->error ? l->count - l->pos : 0;
}

int registry_list_at_end(const registry_list *l)
{
	return !l || l->error || (!l->next && l->pos >= l->count);
}

int registry_list_next(const char **name, registry_list *l)
{
	REGISTRY__ENTER(rc);
	if (!l || !name)
		return registry__fail(REGISTRY_EINVAL, "list_next: NULL argument");
	*name = NULL;
	if (l->error)
		return registry__fail(l->error, "%s failed before: %s", l->what, registry_strerror(l->error));
	while (l->pos >= l->count) {
		if (!l->next)
			return 0;
		if ((rc = fetch_page(l)))
			return rc;
	}
	*name = l->names[l->pos++];
	return 0;
}

void registry_list_free(registry_list *l)
{
	if (!l)
		return;
	registry__list_names_free(l->names);
	registry__url_set_free(&l->seen);
	free(l->next);
	free(l->scope);
	free(l->what);
	free(l);
}

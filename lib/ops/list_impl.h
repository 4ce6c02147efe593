/* Private pieces of paged lists (tags, catalog, referrers), reachable from
 * the unit tests: Link header parsing, next-page URLs, page bodies, and a
 * set of the page URLs already fetched. */
#ifndef REGISTRY_LIST_IMPL_H
#define REGISTRY_LIST_IMPL_H

#include "internal.h"

/* Hard cap on pages of one list: a server inventing new page URLs forever
 * ends in REGISTRY_EPROTOCOL instead of a hang. */
#define REGISTRY__LIST_MAX_PAGES 100000UL

/* Cap on registry_list_options.last: a name (repository or tag) is far
 * shorter; the cap keeps the first page's URL bounded. */
#define REGISTRY__LIST_LAST_MAX 1024

/* Append @s to @b percent-encoded, all but RFC 3986 unreserved characters.
 * 0 or REGISTRY_ENOMEM (not recorded: the caller records it). */
int registry__query_escape(registry__buf *b, const char *s);

/*
 * The target of the rel="next" link in a Link header value (RFC 8288:
 * several comma-separated links, parameters with tokens or quoted strings,
 * rel holding space-separated types, case-insensitive).
 * @return 0 with *target set (caller frees) or NULL when there is no next
 *         link; REGISTRY_EPROTOCOL for a malformed header; REGISTRY_ENOMEM.
 */
int registry__link_next(const char *header, char **target);

/*
 * The absolute URL of the next page: the Link header's next target resolved
 * against @base (the URL the page came from). Only http and https targets,
 * and no step down from https to http.
 * @return 0 with *out set, or NULL when the header names no next page;
 *         REGISTRY_EPROTOCOL; REGISTRY_ENOMEM.
 */
int registry__list_next_url(const char *base, const char *link, char **out);

/*
 * The names of one page: the array under @key ("tags" or "repositories";
 * absent or null means none), each a valid tag (@tags != 0) or repository
 * name. *names is a NULL-terminated array of copies; free it with
 * registry__list_names_free(). @what names the list in messages.
 * @return 0, REGISTRY_EFORMAT, REGISTRY_ENOMEM.
 */
int registry__list_parse_page(const char *data, size_t len, const char *key, int tags,
                              const char *what, char ***names, size_t *count);
void registry__list_names_free(char **names);

/* A set of URLs (the pages fetched), compared after normalization. It keeps
 * the sha256 of each URL, not the URL: 32 bytes a page whatever the length
 * of the URLs a server invents, so at most a few MiB at the page cap. */
#define REGISTRY__URL_KEY_BYTES 32
typedef struct registry__url_set {
	unsigned char (*slots)[REGISTRY__URL_KEY_BYTES]; /* all zero: empty */
	size_t cap, count;
} registry__url_set;

void registry__url_set_init(registry__url_set *s);
void registry__url_set_free(registry__url_set *s);
/* 1 if @url (already normalized) was added before, 0 if it is new and was
 * added now, REGISTRY_ENOMEM or REGISTRY_EIO (hashing failed), not recorded. */
int registry__url_set_add(registry__url_set *s, const char *url);

/* One page of a list, driven from outside (the event loop, lib/loop):
 * check (a failed list, the page cap), request registry__list_page_url()
 * (relative to the registry, or absolute) for registry__list_scope() with
 * registry__list_headers, then hand the outcome to _page_done, which judges
 * it as the blocking iterator does: 0 (the page's names are buffered, the
 * next page known), or the failure, recorded and kept in the list. */
struct registry__response;
int registry__list_page_check(const registry_list *l);
const char *registry__list_page_url(const registry_list *l);
const char *registry__list_scope(const registry_list *l);
registry_client *registry__list_client(const registry_list *l);
extern const char *const registry__list_headers[];
int registry__list_page_done(registry_list *l, int rc, const struct registry__response *resp);

#endif

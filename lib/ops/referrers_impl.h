/*
 * Listing the referrers of a manifest (registry_referrers_fetch) without
 * the requests: the blocking fetch and the event-loop walk
 * (lib/loop/referrers.c) make them and hand the answers here. Not
 * installed.
 *
 *   begin ─► while url: GET url (registry__referrers_accept, scope,
 *            body_limit max_size) ─► _page
 *         ─► found: _end;  not found (no referrers API): a manifest fetch
 *            of the tag ─► _from_tag
 */
#ifndef REGISTRY_REFERRERS_IMPL_H
#define REGISTRY_REFERRERS_IMPL_H

#include "list_impl.h"
#include "ops_impl.h"
#include "transport/transport.h"

typedef struct registry__referrers_list {
	registry_client *c;
	char *url;        /* the page to ask for next; NULL: no more */
	int found;        /* 0: the registry has no referrers API */
	unsigned long n;  /* pages taken */
	size_t max_size;  /* of one page, resolved */
	const char *artifact_type;
	char scope[600], what[800];
	char tag[REGISTRY_REFERENCE_TAG_MAX + 8]; /* of the tag schema */
	registry__url_set seen;
	registry_manifest **items;
	size_t count, cap, bytes;
} registry__referrers_list;

/* The Accept line of a referrers page. */
extern const char *const registry__referrers_accept[];

/* The checks of registry_referrers_fetch on its arguments, and the first
 * page's URL (a path on the registry). @opts: checked already. 0 or a
 * failure (recorded); free @l either way. */
int registry__referrers_list_begin(registry__referrers_list *l, registry_client *c, const char *repository,
                                   const char *digest, const registry_referrers_fetch_options *opts);
/* The answer to the GET of l->url (@rc of the request, @resp): taken, l->url
 * the next page or NULL. 0 or a failure (recorded). */
int registry__referrers_list_page(registry__referrers_list *l, int rc, const registry__response *resp);
/* The pages as one index, filtered. */
int registry__referrers_list_end(registry_manifest **out, registry__referrers_list *l);
/* l->found 0: the manifest fetch of l->tag (@rc, @m taken) as the list. */
int registry__referrers_list_from_tag(registry_manifest **out, registry__referrers_list *l, int rc,
                                      registry_manifest *m);
void registry__referrers_list_free(registry__referrers_list *l);

#endif

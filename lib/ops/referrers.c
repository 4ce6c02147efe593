/* Referrers of a manifest: the OCI referrers API, with the "sha256-<hex>"
 * tag schema as the fallback for registries without it (registry 2.8). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "list_impl.h"
#include "ops_impl.h"
#include "referrers_impl.h"
#include "manifest/manifest_impl.h"
#include "transport/transport.h"

/* Cap on all referrers pages together: the result must fit a 4 MiB index
 * anyway, pages holding entries that the filter drops get some room. */
#define REFERRERS_TOTAL_LIMIT (4 * REGISTRY_MANIFEST_MAX_SIZE_DEFAULT)

const char *const registry__referrers_accept[] = {"Accept: " REGISTRY_MEDIA_TYPE_OCI_INDEX, NULL};

static int keep(const registry_descriptor *d, const char *artifact_type)
{
	const char *at = registry_descriptor_artifact_type(d);
	return !artifact_type || (at && strcmp(at, artifact_type) == 0);
}

/* 1 when the filter would drop an entry of @m. */
static int filter_drops(const registry_manifest *m, const char *artifact_type)
{
	for (size_t i = 0; i < registry_manifest_entry_count(m); i++)
		if (!keep(registry_manifest_entry(m, i), artifact_type))
			return 1;
	return 0;
}

static int add_entries(registry_manifest_builder *b, const registry_manifest *m, const char *artifact_type)
{
	int rc = 0;
	for (size_t i = 0; i < registry_manifest_entry_count(m) && !rc; i++) {
		const registry_descriptor *d = registry_manifest_entry(m, i);
		if (keep(d, artifact_type))
			rc = registry_manifest_builder_add_descriptor(b, d);
	}
	return rc;
}

/* An OCI index of the entries of @pages (NULL-free array) that pass the filter. */
static int build_index(registry_manifest **out, registry_manifest *const *pages, size_t npages,
                       const char *artifact_type)
{
	registry_manifest_builder *b = NULL;
	int rc = registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_OCI_INDEX);
	for (size_t i = 0; i < npages && !rc; i++)
		rc = add_entries(b, pages[i], artifact_type);
	if (!rc)
		rc = registry_manifest_builder_build(out, b);
	registry_manifest_builder_free(b);
	return rc;
}

static int require_index(const registry_manifest *m, const char *what)
{
	if (registry_manifest_kind(m) != REGISTRY_MANIFEST_INDEX)
		return registry__fail(REGISTRY_EFORMAT, "%s: the registry answered with %s, not an index", what,
		                      registry_manifest_media_type(m));
	return 0;
}

/* The tag schema's answer (@rc, @m: a manifest fetch of the tag, taken):
 * the referrers in it that pass the filter; none when the tag is absent. */
int registry__referrers_list_from_tag(registry_manifest **out, registry__referrers_list *l, int rc,
                                      registry_manifest *m)
{
	if (rc == REGISTRY_ENOTFOUND) /* no referrers at all */
		return build_index(out, NULL, 0, NULL);
	if (rc)
		return rc;
	if ((rc = require_index(m, l->what)) == 0) {
		if (!filter_drops(m, l->artifact_type)) {
			*out = m;
			return 0;
		}
		rc = build_index(out, &m, 1, l->artifact_type);
	}
	registry_manifest_free(m);
	return rc;
}

static int pages_add(registry__referrers_list *l, registry_manifest *m)
{
	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		registry_manifest **items = realloc(l->items, cap * sizeof(registry_manifest *));
		if (!items) {
			registry_manifest_free(m);
			return registry__fail(REGISTRY_ENOMEM, "out of memory");
		}
		l->items = items;
		l->cap = cap;
	}
	l->items[l->count++] = m;
	l->bytes += (size_t)registry_manifest_size(m);
	return 0;
}

/* The page after the one at l->url (its @resp), from its Link: in l->url,
 * or NULL when there is none or it was fetched already. */
static int page_next(registry__referrers_list *l, const registry__response *resp)
{
	char *here = NULL, *next = NULL;
	int rc = 0;
	if (resp->link) {
		const char *base = resp->url ? resp->url : registry_client_base_url(l->c);
		if (!base || registry__url_resolve(&here, base, resp->url ? resp->url : l->url) != 0)
			rc = registry__fail(REGISTRY_EPROTOCOL, "%s: no URL for the page", l->what);
		if (!rc && registry__url_set_add(&l->seen, here) < 0)
			rc = registry__fail(REGISTRY_ENOMEM, "out of memory");
		if (!rc)
			rc = registry__list_next_url(here, resp->link, &next);
		int again = (!rc && next) ? registry__url_set_add(&l->seen, next) : 0;
		if (again < 0)
			rc = registry__fail(REGISTRY_ENOMEM, "out of memory");
		if (again) { /* a page we fetched already: done */
			free(next);
			next = NULL;
		}
	}
	free(here);
	free(l->url);
	l->url = rc ? NULL : next;
	if (rc)
		free(next);
	return rc;
}

int registry__referrers_list_page(registry__referrers_list *l, int rc, const registry__response *resp)
{
	if (rc == REGISTRY_ETOOLARGE)
		rc = registry__fail(rc, "%s: a page larger than %zu bytes", l->what, l->max_size);
	if (!rc && resp->status == 404 && l->n == 0) {
		l->found = 0; /* no referrers API: the tag schema */
		free(l->url);
		l->url = NULL;
		return 0;
	}
	l->n++;
	if (!rc && resp->status != 200)
		rc = registry__response_fail(resp, l->what);
	registry_manifest *m = NULL;
	if (!rc)
		rc = registry_manifest_parse(&m, resp->body.data ? resp->body.data : "", resp->body.len,
		                             resp->content_type, NULL);
	if (!rc && (rc = require_index(m, l->what)))
		registry_manifest_free(m);
	else if (!rc)
		rc = pages_add(l, m);
	if (!rc && l->bytes > REFERRERS_TOTAL_LIMIT)
		rc = registry__fail(REGISTRY_ETOOLARGE, "%s: more than %zu bytes of pages", l->what,
		                    (size_t)REFERRERS_TOTAL_LIMIT);
	if (!rc)
		rc = page_next(l, resp);
	if (!rc && l->url && l->n >= REGISTRY__LIST_MAX_PAGES)
		rc = registry__fail(REGISTRY_EPROTOCOL, "%s: more than %lu pages", l->what, REGISTRY__LIST_MAX_PAGES);
	return rc;
}

int registry__referrers_list_begin(registry__referrers_list *l, registry_client *c, const char *repository,
                                   const char *digest, const registry_referrers_fetch_options *opts)
{
	memset(l, 0, sizeof(*l));
	registry__url_set_init(&l->seen);
	l->c = c;
	l->found = 1;
	l->artifact_type = opts->artifact_type;
	l->max_size = opts->max_size ? opts->max_size : REGISTRY_MANIFEST_MAX_SIZE_DEFAULT;
	int rc;
	if ((rc = registry_reference_validate_repository(repository)) || (rc = registry_digest_validate(digest)))
		return rc;
	const char *artifact_type = l->artifact_type;
	if (artifact_type && (!registry__manifest_media_type_valid(artifact_type) || strlen(artifact_type) > 255))
		return registry__fail(REGISTRY_EINVAL, "registry_referrers_fetch: artifact type is not a media type");
	snprintf(l->scope, sizeof(l->scope), "repository:%s:pull", repository);
	snprintf(l->what, sizeof(l->what), "listing referrers of %s@%s", repository, digest);
	registry__referrers_tag(l->tag, sizeof(l->tag), digest);
	registry__buf url;
	registry__buf_init(&url, 0);
	rc = registry__buf_printf(&url, "/v2/%s/referrers/%s", repository, digest);
	if (!rc && artifact_type && !(rc = registry__buf_puts(&url, "?artifactType=")))
		rc = registry__query_escape(&url, artifact_type);
	if (rc) {
		registry__buf_free(&url);
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	}
	l->url = registry__buf_detach(&url);
	return 0;
}

int registry__referrers_list_end(registry_manifest **out, registry__referrers_list *l)
{
	if (l->count == 1 && !filter_drops(l->items[0], l->artifact_type)) {
		/* One page, nothing to filter out: the index as served. The
		 * registry's OCI-Filters-Applied is not needed to decide this:
		 * filtering an already filtered list changes nothing. */
		*out = l->items[0];
		l->count = 0;
		return 0;
	}
	return build_index(out, l->items, l->count, l->artifact_type);
}

void registry__referrers_list_free(registry__referrers_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		registry_manifest_free(l->items[i]);
	free(l->items);
	free(l->url);
	registry__url_set_free(&l->seen);
	memset(l, 0, sizeof(*l));
}

int registry_referrers_fetch_options_init(registry_referrers_fetch_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_referrers_fetch_options_init: NULL options");
	registry_referrers_fetch_options init = REGISTRY_REFERRERS_FETCH_OPTIONS_INIT;
	*opts = init;
	return 0;
}

int registry_referrers_fetch(registry_manifest **out, registry_client *c, const char *repository,
                             const char *digest, const registry_referrers_fetch_options *opts)
{
	REGISTRY__ENTER(rc);
	static const registry_referrers_fetch_options defaults = REGISTRY_REFERRERS_FETCH_OPTIONS_INIT;
	if (!opts)
		opts = &defaults;
	if (out)
		*out = NULL;
	if ((rc = registry__options_check("registry_referrers_fetch", opts->version,
	                                  REGISTRY_REFERRERS_FETCH_OPTIONS_VERSION, opts->flags, 0)))
		return rc;
	if (!out || !c || !repository || !digest)
		return registry__fail(REGISTRY_EINVAL, "registry_referrers_fetch: NULL argument");
	registry__referrers_list l;
	if ((rc = registry__referrers_list_begin(&l, c, repository, digest, opts))) {
		registry__referrers_list_free(&l);
		return rc;
	}
	while (!rc && l.url) {
		registry__request req = {.url = l.url, .scope = l.scope, .headers = registry__referrers_accept,
		                         .body_limit = l.max_size};
		registry__response resp;
		registry__response_init(&resp);
		rc = registry__client_do(c, &req, &resp);
		rc = registry__referrers_list_page(&l, rc, &resp);
		registry__response_free(&resp);
	}
	if (!rc && !l.found) {
		registry_manifest_fetch_options fo = REGISTRY_MANIFEST_FETCH_OPTIONS_INIT;
		fo.max_size = l.max_size;
		registry_manifest *m = NULL;
		rc = registry_manifest_fetch(&m, c, repository, l.tag, &fo);
		rc = registry__referrers_list_from_tag(out, &l, rc, m);
	} else if (!rc) {
		rc = registry__referrers_list_end(out, &l);
	}
	registry__referrers_list_free(&l);
	if (!rc)
		registry__error_clear();
	return rc;
}

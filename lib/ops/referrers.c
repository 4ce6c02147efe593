/* Referrers of a manifest: the OCI referrers API, with the "sha256-<hex>"
 * tag schema as the fallback for registries without it (registry 2.8). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "list_impl.h"
#include "manifest/manifest_impl.h"
#include "transport/transport.h"

/* Cap on all referrers pages together: the result must fit a 4 MiB index
 * anyway, pages holding entries that the filter drops get some room. */
#define REFERRERS_TOTAL_LIMIT (4 * REGISTRY_MANIFEST_MAX_SIZE_DEFAULT)

static const char *const index_accept[] = {"Accept: " REGISTRY_MEDIA_TYPE_OCI_INDEX, NULL};

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

/* The tag schema: "<alg>-<hex, at most 64 characters>". */
static void fallback_tag(char *tag, size_t size, const char *digest)
{
	size_t alg = strcspn(digest, ":");
	snprintf(tag, size, "%.*s-%.64s", (int)(alg > 32 ? 32 : alg), digest,
	         digest[alg] ? digest + alg + 1 : "");
}

static int from_tag_schema(registry_manifest **out, registry_client *c, const char *repository,
                           const char *digest, const registry_referrers_fetch_options *o, const char *what)
{
	const char *artifact_type = o->artifact_type;
	registry_manifest_fetch_options fo = REGISTRY_MANIFEST_FETCH_OPTIONS_INIT;
	fo.max_size = o->max_size;
	char tag[REGISTRY_REFERENCE_TAG_MAX + 8];
	fallback_tag(tag, sizeof(tag), digest);
	registry_manifest *m = NULL;
	int rc = registry_manifest_fetch(&m, c, repository, tag, &fo);
	if (rc == REGISTRY_ENOTFOUND) /* no referrers at all */
		return build_index(out, NULL, 0, NULL);
	if (rc)
		return rc;
	if ((rc = require_index(m, what)) == 0) {
		if (!filter_drops(m, artifact_type)) {
			*out = m;
			return 0;
		}
		rc = build_index(out, &m, 1, artifact_type);
	}
	registry_manifest_free(m);
	return rc;
}

typedef struct pages {
	registry_manifest **items;
	size_t count, cap;
	size_t bytes;
} pages;

static void pages_free(pages *p)
{
	for (size_t i = 0; i < p->count; i++)
		registry_manifest_free(p->items[i]);
	free(p->items);
}

static int pages_add(pages *p, registry_manifest *m)
{
	if (p->count == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 4;
		registry_manifest **items = realloc(p->items, cap * sizeof(registry_manifest *));
		if (!items) {
			registry_manifest_free(m);
			return registry__fail(REGISTRY_ENOMEM, "out of memory");
		}
		p->items = items;
		p->cap = cap;
	}
	p->items[p->count++] = m;
	p->bytes += (size_t)registry_manifest_size(m);
	return 0;
}

/*
 * Fetch the referrers API pages from @url on. *found is 0 when the registry
 * has no referrers API (404 on the first page).
 */
static int fetch_pages(pages *p, int *found, registry_client *c, const char *first_url,
                       size_t max_size, const char *scope, const char *what)
{
	registry__url_set seen;
	registry__url_set_init(&seen);
	char *url = registry__strdup(first_url);
	int rc = url ? 0 : registry__fail(REGISTRY_ENOMEM, "out of memory");
	*found = 1;
	for (unsigned long n = 0; url && !rc; n++) {
		if (n >= REGISTRY__LIST_MAX_PAGES) {
			rc = registry__fail(REGISTRY_EPROTOCOL, "%s: more than %lu pages", what,
			                    REGISTRY__LIST_MAX_PAGES);
			break;
		}
		registry__request req = {.url = url, .scope = scope, .headers = index_accept,
		                         .body_limit = max_size};
		registry__response resp;
		registry__response_init(&resp);
		rc = registry__client_do(c, &req, &resp);
		if (rc == REGISTRY_ETOOLARGE)
			rc = registry__fail(rc, "%s: a page larger than %zu bytes", what, max_size);
		if (!rc && resp.status == 404 && n == 0) {
			*found = 0;
			registry__response_free(&resp);
			break;
		}
		if (!rc && resp.status != 200)
			rc = registry__response_fail(&resp, what);
		registry_manifest *m = NULL;
		if (!rc)
			rc = registry_manifest_parse(&m, resp.body.data ? resp.body.data : "", resp.body.len,
			                             resp.content_type, NULL);
		if (!rc && (rc = require_index(m, what)))
			registry_manifest_free(m);
		else if (!rc)
			rc = pages_add(p, m);
		if (!rc && p->bytes > REFERRERS_TOTAL_LIMIT)
			rc = registry__fail(REGISTRY_ETOOLARGE, "%s: more than %zu bytes of pages", what,
			                    (size_t)REFERRERS_TOTAL_LIMIT);
		char *here = NULL, *next = NULL;
		if (!rc && resp.link) {
			const char *base = resp.url ? resp.url : registry_client_base_url(c);
			if (!base || registry__url_resolve(&here, base, resp.url ? resp.url : url) != 0)
				rc = registry__fail(REGISTRY_EPROTOCOL, "%s: no URL for the page", what);
			if (!rc && registry__url_set_add(&seen, here) < 0)
				rc = registry__fail(REGISTRY_ENOMEM, "out of memory");
			if (!rc)
				rc = registry__list_next_url(here, resp.link, &next);
			int again = (!rc && next) ? registry__url_set_add(&seen, next) : 0;
			if (again < 0)
				rc = registry__fail(REGISTRY_ENOMEM, "out of memory");
			if (again) { /* a page we fetched already: done */
				free(next);
				next = NULL;
			}
		}
		free(here);
		registry__response_free(&resp);
		free(url);
		url = next;
	}
	free(url);
	registry__url_set_free(&seen);
	return rc;
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
	const char *artifact_type = opts->artifact_type;
	registry_referrers_fetch_options o = *opts; /* max_size resolved: 0 is the default */
	if (!o.max_size)
		o.max_size = REGISTRY_MANIFEST_MAX_SIZE_DEFAULT;
	if ((rc = registry_reference_validate_repository(repository)) || (rc = registry_digest_validate(digest)))
		return rc;
	if (artifact_type && (!registry__manifest_media_type_valid(artifact_type) || strlen(artifact_type) > 255))
		return registry__fail(REGISTRY_EINVAL, "registry_referrers_fetch: artifact type is not a media type");

	char scope[600], what[800];
	snprintf(scope, sizeof(scope), "repository:%s:pull", repository);
	snprintf(what, sizeof(what), "listing referrers of %s@%s", repository, digest);
	registry__buf url;
	registry__buf_init(&url, 0);
	rc = registry__buf_printf(&url, "/v2/%s/referrers/%s", repository, digest);
	if (!rc && artifact_type && !(rc = registry__buf_puts(&url, "?artifactType=")))
		rc = registry__query_escape(&url, artifact_type);
	if (rc) {
		registry__buf_free(&url);
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	}

	pages p = {0};
	int found = 0;
	rc = fetch_pages(&p, &found, c, url.data, o.max_size, scope, what);
	registry__buf_free(&url);
	if (!rc && !found) {
		rc = from_tag_schema(out, c, repository, digest, &o, what);
	} else if (!rc && p.count == 1 && !filter_drops(p.items[0], artifact_type)) {
		/* One page, nothing to filter out: the index as served. The
		 * registry's OCI-Filters-Applied is not needed to decide this:
		 * filtering an already filtered list changes nothing. */
		*out = p.items[0];
		p.count = 0;
	} else if (!rc) {
		rc = build_index(out, p.items, p.count, artifact_type);
	}
	pages_free(&p);
	if (!rc)
		registry__error_clear();
	return rc;
}

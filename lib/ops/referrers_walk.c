/*
 * Referrers, recursively: copy (REGISTRY_COPY_REFERRERS) and pull
 * (REGISTRY_PULL_REFERRERS) take an image's referrers (signatures,
 * SBOMs...) and theirs, breadth first, each whole by digest, bounded in
 * depth and count. Their manifests carry the subject, so each push at a
 * copy's destination keeps its referrers list (API, or the tag schema).
 */
#include <stdlib.h>
#include <string.h>

#include "ops_impl.h"

typedef struct pending {
	char **digests;
	int *depths;
	size_t count, next;
} pending;

static int seen(const pending *p, const char *digest)
{
	for (size_t i = 0; i < p->count; i++)
		if (strcmp(p->digests[i], digest) == 0)
			return 1;
	return 0;
}

static int add(pending *p, const char *digest, int depth)
{
	if (p->count >= REGISTRY_COPY_REFERRERS_MAX + 1) /* the subject is the first */
		return registry__fail(REGISTRY_ETOOLARGE, "referrers: more than %d", REGISTRY_COPY_REFERRERS_MAX);
	if (!p->digests) {
		p->digests = calloc(REGISTRY_COPY_REFERRERS_MAX + 1, sizeof(*p->digests));
		p->depths = calloc(REGISTRY_COPY_REFERRERS_MAX + 1, sizeof(*p->depths));
		if (!p->digests || !p->depths)
			return registry__nomem();
	}
	if (!(p->digests[p->count] = registry__strdup(digest)))
		return registry__nomem();
	p->depths[p->count++] = depth;
	return 0;
}

static void pending_free(pending *p)
{
	for (size_t i = 0; i < p->count; i++)
		free(p->digests[i]);
	free(p->digests);
	free(p->depths);
}

/* The referrers of the next pending digest: handed to @each, queued for theirs. */
static int step(pending *p, registry_client *c, const char *repository, registry__referrer_cb each, void *ud)
{
	const char *digest = p->digests[p->next];
	int depth = p->depths[p->next++];
	if (depth >= REGISTRY_COPY_REFERRERS_DEPTH)
		return 0; /* taken; what refers to it is too deep */
	registry_manifest *index = NULL;
	int rc = registry_referrers_fetch(&index, c, repository, digest, NULL);
	for (size_t i = 0; !rc && i < registry_manifest_entry_count(index); i++) {
		const char *d = registry_descriptor_digest(registry_manifest_entry(index, i));
		if (seen(p, d))
			continue;
		if (!(rc = add(p, d, depth + 1))) /* counted (and bounded) before it is taken */
			rc = each(d, ud);
	}
	registry_manifest_free(index);
	return rc;
}

int registry__referrers_walk(registry_client *c, const char *repository, const char *subject,
                             registry__referrer_cb each, void *ud)
{
	pending p = {0};
	int rc = add(&p, subject, 0);
	while (!rc && p.next < p.count)
		rc = step(&p, c, repository, each, ud);
	pending_free(&p);
	return rc;
}

/* ---- copy ------------------------------------------------------------------ */

typedef struct copy_walk {
	registry_client *source, *target;
	const registry_reference *source_ref, *target_ref;
	const registry_copy_options *options;
} copy_walk;

/* One referrer, whole, from the source repository to the destination's. */
static int copy_one(const char *digest, void *ud)
{
	const copy_walk *w = ud;
	registry_reference *from = NULL, *to = NULL;
	int rc = registry_reference_new(&from, registry_reference_registry(w->source_ref),
	                                registry_reference_repository(w->source_ref), NULL, digest);
	if (!rc)
		rc = registry_reference_new(&to, registry_reference_registry(w->target_ref),
		                            registry_reference_repository(w->target_ref), NULL, digest);
	/* Only the fields of version 1: the caller's struct may end there. A
	 * referrer is copied as it is (recursion is the walk's), and is not
	 * itself checked against the policy: the subject was. */
	registry_copy_options o = REGISTRY_COPY_OPTIONS_INIT;
	o.flags = REGISTRY_COPY_ALL_PLATFORMS;
	o.chunk_size = w->options->chunk_size;
	o.progress = w->options->progress;
	o.userdata = w->options->userdata;
	if (!rc)
		rc = registry_copy(NULL, w->source, from, w->target, to, &o);
	registry_reference_free(from);
	registry_reference_free(to);
	return rc;
}

int registry__copy_referrers(registry_client *source, const registry_reference *source_ref,
                             registry_client *target, const registry_reference *target_ref,
                             const char *subject, const registry_copy_options *options)
{
	copy_walk w = {source, target, source_ref, target_ref, options};
	return registry__referrers_walk(source, registry_reference_repository(source_ref), subject, copy_one, &w);
}

/* ---- pull ------------------------------------------------------------------ */

typedef struct pull_walk {
	registry_client *client;
	const char *repository;
	registry_store *store;
	const registry_pull_options *options;
} pull_walk;

/* One referrer into the layout, byte for byte (its subject names the
 * registry's digest), named by its digest in index.json. */
static int pull_one(const char *digest, void *ud)
{
	const pull_walk *w = ud;
	registry_reference *ref = NULL;
	int rc = registry_reference_new(&ref, registry_client_registry(w->client), w->repository, NULL, digest);
	registry_pull_options o = *w->options; /* the library's own full copy (check_options) */
	o.flags = REGISTRY_PULL_ALL_PLATFORMS | REGISTRY_PULL_PRESERVE_DIGESTS;
	o.platform = NULL;
	o.policy = NULL; /* the subject was verified; its signatures are not themselves signed */
	if (!rc)
		rc = registry_pull(NULL, w->client, ref, w->store, NULL, &o);
	registry_reference_free(ref);
	return rc;
}

int registry__pull_referrers(registry_client *client, const char *repository, registry_store *store,
                             const char *subject, const registry_pull_options *options)
{
	pull_walk w = {client, repository, store, options};
	return registry__referrers_walk(client, repository, subject, pull_one, &w);
}

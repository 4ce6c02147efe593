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

static int seen(const registry__walk *p, const char *digest)
{
	for (size_t i = 0; i < p->count; i++)
		if (strcmp(p->digests[i], digest) == 0)
			return 1;
	return 0;
}

static int add(registry__walk *p, const char *digest, int depth)
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

int registry__walk_begin(registry__walk *w, const char *subject)
{
	memset(w, 0, sizeof(*w));
	return add(w, subject, 0);
}

void registry__walk_free(registry__walk *w)
{
	for (size_t i = 0; i < w->count; i++)
		free(w->digests[i]);
	free(w->digests);
	free(w->depths);
	registry_manifest_free(w->index);
	memset(w, 0, sizeof(*w));
}

const char *registry__walk_next_subject(registry__walk *w)
{
	while (w->next < w->count) {
		w->depth = w->depths[w->next];
		const char *digest = w->digests[w->next++];
		if (w->depth < REGISTRY_COPY_REFERRERS_DEPTH)
			return digest;
		/* taken; what refers to it is too deep */
	}
	return NULL;
}

void registry__walk_set_index(registry__walk *w, registry_manifest *index)
{
	registry_manifest_free(w->index);
	w->index = index;
	w->entry = 0;
}

int registry__walk_next_referrer(registry__walk *w, const char **digest)
{
	*digest = NULL;
	while (w->index && w->entry < registry_manifest_entry_count(w->index)) {
		const char *d = registry_descriptor_digest(registry_manifest_entry(w->index, w->entry++));
		if (seen(w, d))
			continue;
		int rc = add(w, d, w->depth + 1); /* counted (and bounded) before it is taken */
		*digest = rc ? NULL : w->digests[w->count - 1]; /* the walk's copy: lasts while it does */
		return rc ? rc : 1;
	}
	return 0;
}

int registry__referrers_walk(registry_client *c, const char *repository, const char *subject,
                             registry__referrer_cb each, void *ud)
{
	registry__walk w;
	int rc = registry__walk_begin(&w, subject);
	const char *digest = NULL;
	while (!rc && (digest = registry__walk_next_subject(&w))) {
		registry_manifest *index = NULL;
		if ((rc = registry_referrers_fetch(&index, c, repository, digest, NULL)))
			break;
		registry__walk_set_index(&w, index);
		const char *d = NULL;
		while ((rc = registry__walk_next_referrer(&w, &d)) > 0 && !(rc = each(d, ud)))
			;
	}
	registry__walk_free(&w);
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

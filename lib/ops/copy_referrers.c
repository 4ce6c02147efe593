/*
 * registry_copy() with REGISTRY_COPY_REFERRERS: the image's referrers
 * (signatures, SBOMs...) and theirs, breadth first, each copied whole by
 * digest. Their manifests carry the subject, so each push at the
 * destination keeps its referrers list (API, or the tag schema).
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
		return registry__fail(REGISTRY_ETOOLARGE, "copying referrers: more than %d", REGISTRY_COPY_REFERRERS_MAX);
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

/* One referrer, whole, from the source repository to the destination's. */
static int copy_one(registry_client *source, const registry_reference *source_ref, registry_client *target,
                    const registry_reference *target_ref, const char *digest, const registry_copy_options *options)
{
	registry_reference *from = NULL, *to = NULL;
	int rc = registry_reference_new(&from, registry_reference_registry(source_ref),
	                                registry_reference_repository(source_ref), NULL, digest);
	if (!rc)
		rc = registry_reference_new(&to, registry_reference_registry(target_ref),
		                            registry_reference_repository(target_ref), NULL, digest);
	registry_copy_options o = *options;
	o.flags = REGISTRY_COPY_ALL_PLATFORMS; /* a referrer is copied as it is; recursion is ours */
	o.platform = NULL;
	if (!rc)
		rc = registry_copy(source, from, target, to, &o, NULL);
	registry_reference_free(from);
	registry_reference_free(to);
	return rc;
}

/* The referrers of the next pending digest: copied, and queued for theirs. */
static int step(pending *p, registry_client *source, const registry_reference *source_ref, registry_client *target,
                const registry_reference *target_ref, const registry_copy_options *options)
{
	const char *digest = p->digests[p->next];
	int depth = p->depths[p->next++];
	if (depth >= REGISTRY_COPY_REFERRERS_DEPTH)
		return 0; /* copied; what refers to it is too deep */
	registry_manifest *index = NULL;
	int rc = registry_referrers_fetch(&index, source, registry_reference_repository(source_ref), digest, NULL);
	for (size_t i = 0; !rc && i < registry_manifest_manifest_count(index); i++) {
		const char *d = registry_descriptor_digest(registry_manifest_manifest(index, i));
		if (seen(p, d))
			continue;
		if (!(rc = add(p, d, depth + 1))) /* counted (and bounded) before it is copied */
			rc = copy_one(source, source_ref, target, target_ref, d, options);
	}
	registry_manifest_free(index);
	return rc;
}

int registry__copy_referrers(registry_client *source, const registry_reference *source_ref,
                             registry_client *target, const registry_reference *target_ref,
                             const char *subject, const registry_copy_options *options)
{
	pending p = {0};
	int rc = add(&p, subject, 0);
	while (!rc && p.next < p.count)
		rc = step(&p, source, source_ref, target, target_ref, options);
	pending_free(&p);
	return rc;
}

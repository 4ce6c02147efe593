/* Private helpers shared by the operations. */
#ifndef REGISTRY_OPS_IMPL_H
#define REGISTRY_OPS_IMPL_H

#include "internal.h"

/* Validate a repository and a tag-or-digest; *is_digest tells which. */
int registry__ops_check_target(const char *repository, const char *reference, int *is_digest);

/* REGISTRY_EINVAL, recorded, when @ref names another registry than @client's. */
int registry__ops_check_ref_registry(const registry_client *client, const registry_reference *ref);

/* The referrers tag schema's tag of @digest: "<alg>-<hex, at most 64 characters>". */
void registry__referrers_tag(char *tag, size_t size, const char *digest);

/* Add @m (pushed, with a subject) to its subject's referrers tag in
 * @repository, keeping the entries there, and check after a pause that no
 * concurrent writer dropped it (retried a bounded number of times: then
 * REGISTRY_ECONFLICT). lib/ops/referrers_tag.c. */
int registry__referrers_tag_add(registry_client *c, const char *repository, const registry_manifest *m);

/* REGISTRY_COPY_REFERRERS: the referrers of @subject (copied already), recursively,
 * bounded. lib/ops/copy_referrers.c. */
int registry__copy_referrers(registry_client *source, const registry_reference *source_ref,
                             registry_client *target, const registry_reference *target_ref,
                             const char *subject, const registry_copy_options *options);

#endif

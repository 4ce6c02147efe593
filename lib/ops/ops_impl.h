/* Private helpers shared by the operations. */
#ifndef REGISTRY_OPS_IMPL_H
#define REGISTRY_OPS_IMPL_H

#include "internal.h"

/* Validate a repository and a tag-or-digest; *is_digest tells which. */
int registry__ops_check_target(const char *repository, const char *reference, int *is_digest);

/* REGISTRY_EINVAL, recorded, when @ref names another registry than @client's. */
int registry__ops_check_ref_registry(const registry_client *client, const registry_reference *ref);

/* Fetch a small blob into @out (initialised here with @limit; free it even on
 * failure), verified; larger than @limit is REGISTRY_ETOOLARGE. @what names it. */
int registry__blob_fetch_mem(registry__buf *out, registry_client *client, const char *repository, const char *digest,
                             int64_t size, size_t limit, const char *what);

/*
 * The policy gate of pull and copy: with a @policy, verify @ref
 * (registry_verify) and set *pinned to @ref pinned to the verified digest
 * (its tag kept), so that what is fetched is what was verified; without
 * one, *pinned is NULL. Fails with the verdict's code before anything else.
 */
int registry__policy_gate(registry_reference **pinned, registry_client *client, const registry_reference *ref,
                          const registry_policy *policy);

#endif

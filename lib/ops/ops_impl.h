/* Private helpers shared by the operations. */
#ifndef REGISTRY_OPS_IMPL_H
#define REGISTRY_OPS_IMPL_H

#include "internal.h"

/* Validate a repository and a tag-or-digest; *is_digest tells which. */
int registry__ops_check_target(const char *repository, const char *reference, int *is_digest);

/* REGISTRY_EINVAL, recorded, when @ref names another registry than @client's. */
int registry__ops_check_ref_registry(const registry_client *client, const registry_reference *ref);

/* The Accept line of a manifest request (every type we parse). */
extern const char *const registry__manifest_accept_headers[];

/*
 * A manifest request's outcome (@rc from the driver, @resp its answer)
 * judged as registry_manifest_fetch() does: status, size cap, parse, digest
 * checks (@reference, a digest when @by_digest). *out on success; @what
 * names the request in messages. Shared by the blocking fetch and the
 * event-loop pull.
 */
struct registry__response;
int registry__manifest_from_response(registry_manifest **out, int rc, const struct registry__response *resp,
                                     const char *reference, int by_digest, size_t max_size,
                                     const char *what);

#endif

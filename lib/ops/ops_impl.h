/* Private helpers shared by the operations. */
#ifndef REGISTRY_OPS_IMPL_H
#define REGISTRY_OPS_IMPL_H

#include "internal.h"

/* Validate a repository and a tag-or-digest; *is_digest tells which. */
int registry__ops_check_target(const char *repository, const char *reference, int *is_digest);

/* REGISTRY_EINVAL, recorded, when @ref names another registry than @client's;
 * REGISTRY_EPOLICY when the host configuration blocks it. */
int registry__ops_check_ref_registry(const registry_client *client, const registry_reference *ref);

/* Where a pull of @ref goes (lib/ops/mirrors.c): the mirrors that may
 * serve it, in order, then the primary at its location. */
typedef struct registry__endpoint {
	registry_client *client; /* @client itself or one made for the host (owned) */
	int owned;
	char *repository;        /* rewritten by the rule's location */
	int mirror;
} registry__endpoint;

typedef struct registry__endpoints {
	registry__endpoint *items;
	size_t n;
} registry__endpoints;

/* The endpoints of a pull of @ref through @client; without host
 * configuration just @client and @ref's repository. 0, ENOMEM, EFORMAT
 * (a location that is no host[:port]/path), or what creating a mirror's
 * client returns (its certs.d or auth file unreadable). */
int registry__pull_endpoints(registry__endpoints *out, registry_client *client, const registry_reference *ref);
void registry__endpoints_free(registry__endpoints *e);
/* Note in @tried (a message buffer) that the mirror @ep failed, with the
 * thread's error message. */
void registry__endpoint_failed(char *tried, size_t size, const registry__endpoint *ep);
/* The primary failed with @rc after mirrors did: add what they said to the
 * record's message, keeping its HTTP status, URL and registry code. */
int registry__endpoints_report(int rc, const char *tried);
/* Whether a failure at a mirror is worth trying the next endpoint: not a
 * cancellation, a bad argument, or a local store failure. */
int registry__endpoint_fallback(int rc);

#endif

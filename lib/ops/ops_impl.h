/* Private helpers shared by the operations. */
#ifndef REGISTRY_OPS_IMPL_H
#define REGISTRY_OPS_IMPL_H

#include "internal.h"

/* Validate a repository and a tag-or-digest; *is_digest tells which. */
int registry__ops_check_target(const char *repository, const char *reference, int *is_digest);

/* REGISTRY_EINVAL, recorded, when @ref names another registry than @client's;
 * REGISTRY_EPOLICY when the host configuration blocks it. */
int registry__ops_check_ref_registry(const registry_client *client, const registry_reference *ref);

/* The referrers tag schema's tag of @digest: "<alg>-<hex, at most 64 characters>". */
void registry__referrers_tag(char *tag, size_t size, const char *digest);

/* Add @m (pushed, with a subject) to its subject's referrers tag in
 * @repository, keeping the entries there, and check after a pause that no
 * concurrent writer dropped it (retried a bounded number of times: then
 * REGISTRY_ECONFLICT). lib/ops/referrers_tag.c. */
int registry__referrers_tag_add(registry_client *c, const char *repository, const registry_manifest *m);

/*
 * That upkeep's steps, without the requests (shared with the event-loop
 * push, lib/loop/push.c): begin; then rounds of a manifest fetch of u->tag
 * handed to _read (which takes @current and @saved, the record saved before
 * the fetch): a failure, or *next NULL when the entry is listed (done), or
 * the index to push under u->tag; the push's rc to _wrote: the pause
 * before checking; then _again (REGISTRY_ECONFLICT once the rounds are
 * spent) and the next round.
 */
typedef struct registry__tag_upkeep {
	const registry_manifest *m;
	char tag[REGISTRY_REFERENCE_TAG_MAX + 8];
	char what[800];
	int attempt;
	double t0;
} registry__tag_upkeep;
void registry__tag_upkeep_begin(registry__tag_upkeep *u, const char *repository, const registry_manifest *m);
int registry__tag_upkeep_read(registry__tag_upkeep *u, registry_manifest **next, int rc,
                              registry_manifest *current, registry__error_snapshot *saved);
int registry__tag_upkeep_wrote(registry__tag_upkeep *u, int rc, long *wait_ms);
int registry__tag_upkeep_again(registry__tag_upkeep *u);

/* Called by registry__referrers_walk() with each referrer's digest; non-zero stops. */
typedef int (*registry__referrer_cb)(const char *digest, void *ud);

/* The referrers of @subject in @repository (API, or the tag schema), theirs,
 * and so on, breadth first, each digest once: at most
 * REGISTRY_COPY_REFERRERS_DEPTH levels and REGISTRY_COPY_REFERRERS_MAX
 * referrers (then REGISTRY_ETOOLARGE). lib/ops/referrers_walk.c. */
int registry__referrers_walk(registry_client *c, const char *repository, const char *subject,
                             registry__referrer_cb each, void *ud);

/*
 * That walk's bookkeeping, without the requests (shared with the event
 * loop, lib/loop/referrers.c): begin with the subject; next_subject gives
 * the next digest whose referrers are to be listed (NULL: the walk is
 * over); set_index hands over (takes) that listing; next_referrer gives
 * each referrer in it not seen before: 1 and *digest (borrowed from @w),
 * 0 when the listing is done, or a failure (REGISTRY_ETOOLARGE past the
 * count bound).
 */
typedef struct registry__walk {
	char **digests;
	int *depths;
	size_t count, next;
	int depth; /* of the subject being listed */
	registry_manifest *index;
	size_t entry;
} registry__walk;
int registry__walk_begin(registry__walk *w, const char *subject);
const char *registry__walk_next_subject(registry__walk *w);
void registry__walk_set_index(registry__walk *w, registry_manifest *index);
int registry__walk_next_referrer(registry__walk *w, const char **digest);
void registry__walk_free(registry__walk *w);

/* REGISTRY_PULL_FOREIGN_LAYERS: the layer @d (with urls) from its URLs into
 * @st, verified, no credentials sent. lib/ops/pull_foreign.c. */
int registry__pull_foreign(registry_client *c, registry_store *st, const registry_descriptor *d);
/* A foreign layer's URL is one to fetch (http or https; where plain HTTP
 * may go is the request's rule): 0, or REGISTRY_EUNSUPPORTED (recorded).
 * The same refusal in loop mode (lib/loop/pull.c). */
int registry__foreign_url_check(const char *digest, const char *url);

/* Signature @index (1-based) of @digest for @ref in the lookaside storage
 * @url (file://, https://, http://) into @out, initialised here and
 * bounded: REGISTRY_ENOTFOUND, not recorded, past the last one. *where
 * names the file or URL. lib/ops/lookaside.c. */
int registry__lookaside_fetch(registry__buf *out, char *where, size_t where_size, registry_client *c,
                              const char *url, const registry_reference *ref, const char *digest, int index);

/* Does the registry store simple signing signatures itself (its /v2/
 * answer carries "X-Registry-Supports-Signatures: 1")? lib/ops/signature_storage.c. */
int registry__signature_storage_supported(int *yes, registry_client *c);

/* Called with each signature of the registry's storage: @sig NULL and
 * @bad the (recorded) reason when the entry is malformed. Return 1 for
 * the next one; anything else stops and is returned. */
typedef int (*registry__signature_cb)(const void *sig, size_t len, const char *source, int bad, void *ud);

/* The signatures the registry stores for @digest of @repository, each
 * passed to @each: what @each returned last; REGISTRY_ENOTFOUND (not
 * recorded) when there are none; EDENIED (more than
 * REGISTRY_VERIFY_SIGNATURES_MAX), ETOOLARGE, EFORMAT, transport errors. */
int registry__signature_storage_each(registry_client *c, const char *repository, const char *digest,
                                     registry__signature_cb each, void *ud);

/* Add @sig as a new signature of @digest to the registry's storage (PUT,
 * a fresh name). 0 or a transport / registry error, recorded. */
int registry__signature_storage_put(registry_client *c, const char *repository, const char *digest, const void *sig,
                                    size_t len);

/* REGISTRY_PULL_REFERRERS: the referrers of @subject into @store, byte for byte. */
int registry__pull_referrers(registry_client *client, const char *repository, registry_store *store,
                             const char *subject, const registry_pull_options *options);

/* REGISTRY_COPY_REFERRERS: the referrers of @subject (copied already), recursively,
 * bounded. */
int registry__copy_referrers(registry_client *source, const registry_reference *source_ref,
                             registry_client *target, const registry_reference *target_ref,
                             const char *subject, const registry_copy_options *options);
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

/*
 * The answer to a manifest PUT: @rc of the request (non-zero: returned as
 * is), then the status and the registry's Docker-Content-Digest against
 * @m's. 0 or the failure, recorded; @what names the request. The referrers
 * tag upkeep of registry_manifest_push() is not part of it. Shared by the
 * blocking push and the event-loop push.
 */
int registry__manifest_put_judge(const registry_manifest *m, int rc, const struct registry__response *resp,
                                 const char *what);

#endif

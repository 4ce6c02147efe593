/*
 * registry_verify(): the policy's requirements for an image, checked
 * against the signatures the registry holds. Trust decisions are made by
 * lib/trust over bytes; this file fetches them (bounded, verified against
 * their digests) and keeps the account of what was examined and why.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ops_impl.h"
#include "transport/transport.h"
#include "trust/trust_impl.h"

/* A .sig manifest of 64 signatures is ~30 KiB: 1 MiB is plenty and bounded. */
#define SIG_MANIFEST_MAX ((size_t)1 << 20)

typedef struct sig_entry {
	char *kind, *source, *reason;
	int accepted;
} sig_entry;

struct registry_verify_result {
	int accepted;
	char *reason;
	char *digest;
	char *scope;
	sig_entry *sigs;
	size_t n, cap;
};

int registry_verify_options_init(registry_verify_options *o)
{
	REGISTRY__ENTER(rc);
	if (!o)
		return registry__fail(REGISTRY_EINVAL, "registry_verify_options_init: NULL options");
	registry_verify_options init = REGISTRY_VERIFY_OPTIONS_INIT;
	*o = init;
	return 0;
}

void registry_verify_result_free(registry_verify_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->sigs[i].kind);
		free(r->sigs[i].source);
		free(r->sigs[i].reason);
	}
	free(r->sigs);
	free(r->reason);
	free(r->digest);
	free(r->scope);
	free(r);
}

/* Keep the account of one signature; @reason is the thread's last message when NULL. */
static int note_sig(registry_verify_result *r, const char *kind, const char *source, int accepted, const char *reason)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4;
		sig_entry *s = realloc(r->sigs, cap * sizeof(*s));
		if (!s)
			return registry__nomem();
		r->sigs = s;
		r->cap = cap;
	}
	sig_entry *e = &r->sigs[r->n];
	e->kind = registry__strdup(kind);
	e->source = registry__strdup(source);
	e->reason = registry__strdup(reason ? reason : registry_error_message(registry_error_last()));
	e->accepted = accepted;
	r->n++;
	return e->kind && e->source && e->reason ? 0 : registry__nomem();
}

typedef struct verify_ctx {
	registry_client *client;
	const registry_reference *ref;
	const char *repository;
	registry_verify_result *result;
	const char *registries_d;
} verify_ctx;

/* Does one cosign signature (payload + base64 signature) satisfy @req? 0 or why not (recorded). */
static int check_cosign_sig(const verify_ctx *v, const registry__requirement *req, const char *payload,
                            size_t payload_len, const char *sig_b64)
{
	unsigned char sig[1024];
	size_t sig_len = 0;
	if (sodium_base642bin(sig, sizeof(sig), sig_b64, strlen(sig_b64), NULL, &sig_len, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 || sig_len == 0)
		return registry__fail(REGISTRY_EFORMAT, "the %s annotation is not base64 of at most 1 KiB",
		                      COSIGN_SIG_ANNOTATION);
	int rc = REGISTRY_EDENIED;
	for (size_t k = 0; k < req->n_keys && rc; k++) {
		registry__buf buf = {0};
		const unsigned char *key;
		size_t key_len;
		if (!(rc = registry__key_bytes(&req->keys[k], &buf, &key, &key_len)))
			rc = registry__sig_verify_pem((const char *)key, key_len, sig, sig_len, payload, payload_len);
		registry__buf_free(&buf);
	}
	if (rc)
		return rc;
	return registry__payload_check(payload, payload_len, REGISTRY__PAYLOAD_TYPE_COSIGN, v->result->digest, v->ref,
	                               &req->identity);
}

/* One layer of the .sig manifest: fetched (bounded, digest-verified) and checked. */
static int check_cosign_layer(const verify_ctx *v, const registry__requirement *req, const registry_descriptor *d)
{
	const char *sig_b64 = registry_descriptor_annotation(d, COSIGN_SIG_ANNOTATION);
	if (strcmp(registry_descriptor_media_type(d), COSIGN_SIG_MEDIA_TYPE) != 0)
		return registry__fail(REGISTRY_EFORMAT, "a layer of type %.100s, not a cosign simple signing payload",
		                      registry_descriptor_media_type(d));
	if (!sig_b64)
		return registry__fail(REGISTRY_EFORMAT, "no %s annotation", COSIGN_SIG_ANNOTATION);
	registry__buf payload;
	int rc = registry__blob_fetch_mem(&payload, v->client, v->repository, registry_descriptor_digest(d),
	                                  registry_descriptor_size(d), REGISTRY_VERIFY_PAYLOAD_MAX, "signature payload");
	if (!rc)
		rc = check_cosign_sig(v, req, payload.data, payload.len, sig_b64);
	registry__buf_free(&payload);
	return rc;
}

/* The layers of one signature manifest (the .sig tag, or a referrer),
 * each one signature; @budget counts down the signatures still examined.
 * 0 when one is accepted, else why not (recorded), ENOMEM. */
static int check_sig_layers(const verify_ctx *v, const registry__requirement *req, const registry_manifest *m,
                            const char *label, int *budget)
{
	char source[REGISTRY_DIGEST_STRING_MAX * 3 + 32];
	size_t n = registry_manifest_layer_count(m);
	if (n > (size_t)*budget)
		return registry__fail(REGISTRY_EDENIED, "%s holds %zu signatures, more than the %d examined", label, n,
		                      REGISTRY_VERIFY_SIGNATURES_MAX);
	*budget -= (int)n;
	int rc = registry__fail(REGISTRY_EDENIED, "%s holds no signature", label);
	for (size_t i = 0; i < n; i++) {
		const registry_descriptor *d = registry_manifest_layer(m, i);
		snprintf(source, sizeof(source), "%s layer %s", label, registry_descriptor_digest(d));
		int one = check_cosign_layer(v, req, d);
		int nomem = one == REGISTRY_ENOMEM ? one
		                                   : note_sig(v->result, "sigstore", source, !one, one ? NULL : "verified");
		if (nomem)
			return nomem; /* recorded */
		if (!one)
			return 0;
		rc = registry__fail(REGISTRY_EDENIED, "no signature in %s is accepted: %s", label,
		                    v->result->sigs[v->result->n - 1].reason);
	}
	return rc;
}

/* Cosign's signatures under the tag "<alg>-<hex>.sig". *found 0 when there is no such tag. */
static int check_sig_tag(const verify_ctx *v, const registry__requirement *req, int *found)
{
	char tag[REGISTRY_DIGEST_STRING_MAX + 8], label[REGISTRY_DIGEST_STRING_MAX + 16];
	registry_manifest *m = NULL;
	registry_manifest_fetch_options mo = REGISTRY_MANIFEST_FETCH_OPTIONS_INIT;
	mo.max_size = SIG_MANIFEST_MAX;
	snprintf(tag, sizeof(tag), "%s.sig", v->result->digest);
	tag[strcspn(tag, ":")] = '-';
	snprintf(label, sizeof(label), "tag %s", tag);
	int budget = REGISTRY_VERIFY_SIGNATURES_MAX;
	int rc = registry_manifest_fetch(&m, v->client, v->repository, tag, &mo);
	*found = rc != REGISTRY_ENOTFOUND;
	if (rc == REGISTRY_ENOTFOUND)
		return registry__fail(REGISTRY_EDENIED, "the registry has no tag %s", tag);
	if (rc)
		return registry__fail(REGISTRY_EDENIED, "sigstore signatures (tag %s): %s", tag,
		                      registry_error_message(registry_error_last()));
	rc = check_sig_layers(v, req, m, label, &budget);
	registry_manifest_free(m);
	return rc;
}

/* One cosign referrer: its own manifest (fetched by digest, so verified)
 * must be a cosign signature of this very image, whatever the listing
 * said about it. */
static int check_referrer(const verify_ctx *v, const registry__requirement *req, const char *digest, int *budget)
{
	char label[REGISTRY_DIGEST_STRING_MAX + 16];
	registry_manifest *m = NULL;
	registry_manifest_fetch_options mo = REGISTRY_MANIFEST_FETCH_OPTIONS_INIT;
	mo.max_size = SIG_MANIFEST_MAX;
	snprintf(label, sizeof(label), "referrer %s", digest);
	int rc = registry_manifest_fetch(&m, v->client, v->repository, digest, &mo);
	const char *at = rc ? NULL : registry_manifest_artifact_type(m);
	const registry_descriptor *subject = rc ? NULL : registry_manifest_subject(m);
	if (rc)
		rc = registry__fail(REGISTRY_EDENIED, "%s: %s", label, registry_error_message(registry_error_last()));
	else if (registry_manifest_kind(m) != REGISTRY_MANIFEST_IMAGE || !at || strcmp(at, COSIGN_ARTIFACT_TYPE) != 0)
		rc = registry__fail(REGISTRY_EDENIED, "%s is not a cosign signature manifest (artifactType %.100s)", label,
		                    at ? at : "none");
	else if (!subject || strcmp(registry_descriptor_digest(subject), v->result->digest) != 0)
		rc = registry__fail(REGISTRY_EDENIED, "%s has the subject %s, not this image", label,
		                    subject ? registry_descriptor_digest(subject) : "none");
	else {
		rc = check_sig_layers(v, req, m, label, budget);
		registry_manifest_free(m);
		return rc; /* each layer is in the account already */
	}
	if (note_sig(v->result, "sigstore", label, 0, NULL))
		rc = REGISTRY_ENOMEM;
	registry_manifest_free(m);
	return rc;
}

/* Cosign's signatures as OCI 1.1 referrers of the image (the referrers
 * API, or its tag schema on registries without it). *found 0 when there are none. */
static int check_sig_referrers(const verify_ctx *v, const registry__requirement *req, int *found)
{
	registry_manifest *list = NULL;
	registry_referrers_fetch_options ro = REGISTRY_REFERRERS_FETCH_OPTIONS_INIT;
	ro.artifact_type = COSIGN_ARTIFACT_TYPE;
	ro.max_size = SIG_MANIFEST_MAX;
	*found = 0;
	int rc = registry_referrers_fetch(&list, v->client, v->repository, v->result->digest, &ro);
	if (rc)
		return rc == REGISTRY_ENOMEM ? rc : registry__fail(REGISTRY_EDENIED, "sigstore referrers: %s",
		                                                   registry_error_message(registry_error_last()));
	size_t n = registry_manifest_entry_count(list);
	int budget = REGISTRY_VERIFY_SIGNATURES_MAX;
	*found = n > 0;
	if (n > REGISTRY_VERIFY_SIGNATURES_MAX)
		rc = registry__fail(REGISTRY_EDENIED, "%zu cosign referrers, more than the %d examined", n,
		                    REGISTRY_VERIFY_SIGNATURES_MAX);
	else
		rc = registry__fail(REGISTRY_EDENIED, "no cosign referrer");
	for (size_t i = 0; i < n && n <= REGISTRY_VERIFY_SIGNATURES_MAX && budget > 0; i++) {
		rc = check_referrer(v, req, registry_descriptor_digest(registry_manifest_entry(list, i)), &budget);
		if (rc == 0 || rc == REGISTRY_ENOMEM)
			break;
	}
	registry_manifest_free(list);
	return rc;
}

/* The cosign signatures of the image: the layers of the "<alg>-<hex>.sig"
 * tag, then the image's cosign referrers. */
static int check_sigstore(const verify_ctx *v, const registry__requirement *req)
{
	int tag_found = 0, ref_found = 0;
	int rc = check_sig_tag(v, req, &tag_found);
	if (rc != REGISTRY_EDENIED)
		return rc;
	char tag_why[512];
	snprintf(tag_why, sizeof(tag_why), "%s", registry_error_message(registry_error_last()));
	rc = check_sig_referrers(v, req, &ref_found);
	if (rc != REGISTRY_EDENIED)
		return rc;
	if (!tag_found && !ref_found)
		return registry__fail(REGISTRY_EDENIED, "no sigstore signature: %s and no cosign referrer", tag_why);
	if (!ref_found) /* the tag's verdict is the one to report */
		return registry__fail(REGISTRY_EDENIED, "%s", tag_why);
	return tag_found ? registry__fail(REGISTRY_EDENIED, "%s; %s", tag_why,
	                                  registry_error_message(registry_error_last()))
	                 : rc;
}

/* One simple signing signature from lookaside: GPG-verified, then its payload checked. */
static int check_gpg_sig(const verify_ctx *v, const registry__requirement *req, registry__gpg *g, const void *sig,
                         size_t sig_len)
{
	char *payload = NULL;
	size_t len = 0;
	int rc = registry__gpg_verify(g, sig, sig_len, &payload, &len);
	if (!rc)
		rc = registry__payload_check(payload, len, REGISTRY__PAYLOAD_TYPE_ATOMIC, v->result->digest, v->ref,
		                             &req->identity);
	free(payload);
	return rc;
}

/* Signature @i of the lookaside storage: fetched and checked, noted in the
 * result. 0 accepted; 1 rejected (look at the next one); REGISTRY_ENOTFOUND
 * past the last; else stop: the storage could not be read (recorded,
 * REGISTRY_EDENIED: nothing unread can be trusted), ENOMEM, EUNSUPPORTED. */
static int check_lookaside_sig(const verify_ctx *v, const registry__requirement *req, registry__gpg *g,
                               const char *url, int i)
{
	char where[4096];
	registry__buf sig;
	int one = registry__lookaside_fetch(&sig, where, sizeof(where), v->client, url, v->ref, v->result->digest,
	                                    i);
	int fetched = one == 0;
	if (one == REGISTRY_ENOTFOUND || one == REGISTRY_ENOMEM || one == REGISTRY_EUNSUPPORTED) {
		registry__buf_free(&sig);
		return one;
	}
	if (!one)
		one = check_gpg_sig(v, req, g, sig.data, sig.len);
	registry__buf_free(&sig);
	int nomem = one == REGISTRY_ENOMEM ? one
	                                   : note_sig(v->result, "simple-signing", where, !one, one ? NULL : "verified");
	if (nomem)
		return nomem; /* recorded */
	if (!one || fetched)
		return one ? 1 : 0;
	return registry__fail(REGISTRY_EDENIED, "cannot read the simple signing signature %s: %s", where,
	                      v->result->sigs[v->result->n - 1].reason);
}

/* The simple signing signatures of the image in the lookaside storage registries.d names. */
static int check_lookaside(const verify_ctx *v, const registry__requirement *req, registry__gpg *g)
{
	char *url = NULL;
	int rc = registry__lookaside_url(&url, v->registries_d, v->ref, 0);
	if (!rc && !url)
		rc = registry__fail(REGISTRY_EDENIED, "no simple signing signature: registries.d names no lookaside "
		                                      "storage for %s", registry_reference_string(v->ref));
	for (int i = 1; !rc; i++) {
		if (i > REGISTRY_VERIFY_SIGNATURES_MAX) {
			/* One more than examined there: refused, not truncated. */
			char where[4096];
			registry__buf sig;
			int more = registry__lookaside_fetch(&sig, where, sizeof(where), v->client, url, v->ref,
			                                     v->result->digest, i);
			registry__buf_free(&sig);
			rc = more == REGISTRY_ENOTFOUND
			             ? registry__fail(REGISTRY_EDENIED, "no simple signing signature is accepted: %s",
			                              v->result->sigs[v->result->n - 1].reason)
			             : registry__fail(REGISTRY_EDENIED, "lookaside holds more than the %d signatures examined",
			                              REGISTRY_VERIFY_SIGNATURES_MAX);
			break;
		}
		int one = check_lookaside_sig(v, req, g, url, i);
		if (one == REGISTRY_ENOTFOUND)
			rc = registry__fail(REGISTRY_EDENIED, i > 1 ? "no simple signing signature is accepted: %s"
			                                            : "no simple signing signature in %s",
			                    i > 1 ? v->result->sigs[v->result->n - 1].reason : url);
		else if (one != 1)
			rc = one;
		if (one == 0)
			break;
	}
	free(url);
	return rc;
}

typedef struct stored_ctx {
	const verify_ctx *v;
	const registry__requirement *req;
	registry__gpg *g;
} stored_ctx;

/* One signature of the registry's storage (registry__signature_cb). */
static int check_stored_sig(const void *sig, size_t len, const char *source, int bad, void *ud)
{
	const stored_ctx *s = ud;
	int one = bad ? bad : check_gpg_sig(s->v, s->req, s->g, sig, len);
	int nomem = one == REGISTRY_ENOMEM ? one
	                                   : note_sig(s->v->result, "simple-signing", source, !one, one ? NULL : "verified");
	if (nomem)
		return nomem; /* recorded */
	return one ? 1 : 0;
}

/* The simple signing signatures the registry stores itself (the
 * X-Registry-Supports-Signatures extension). */
static int check_stored(const verify_ctx *v, const registry__requirement *req, registry__gpg *g)
{
	stored_ctx s = {v, req, g};
	int rc = registry__signature_storage_each(v->client, v->repository, v->result->digest, check_stored_sig, &s);
	if (rc == REGISTRY_ENOTFOUND)
		return registry__fail(REGISTRY_EDENIED, "no simple signing signature in the registry's signature storage");
	if (rc == 1)
		return registry__fail(REGISTRY_EDENIED, "no simple signing signature is accepted: %s",
		                      v->result->sigs[v->result->n - 1].reason);
	if (rc && rc != REGISTRY_ENOMEM && rc != REGISTRY_EDENIED)
		rc = registry__fail(REGISTRY_EDENIED, "%s", registry_error_message(registry_error_last()));
	return rc;
}

static void gpg_free_any(void *g)
{
	registry__gpg_free(g);
}

/* The GPG context of @req (its keys imported: gpg runs for that). Replayed
 * on the event loop (registry__do_hook), it is made once and kept across
 * the replays: *kept 1, not to be freed here. */
static int gpg_for(registry__gpg **g, const registry__requirement *req, int *kept)
{
	const registry__do_hook *h = registry__do_hook_get();
	void **slot = h && h->slot ? h->slot(h->ud, req, gpg_free_any) : NULL;
	*kept = slot != NULL;
	if (slot && *slot) {
		*g = *slot;
		return 0;
	}
	int rc = registry__gpg_new(g, req);
	if (!rc && slot)
		*slot = *g;
	return rc;
}

/* Simple signing: from the registry's own storage where it advertises one
 * (as containers/image does, in place of lookaside), else from lookaside. */
static int check_signed_by(const verify_ctx *v, const registry__requirement *req)
{
	registry__gpg *g = NULL;
	int stored = 0, kept = 0;
	int rc = gpg_for(&g, req, &kept);
	if (!rc && (rc = registry__signature_storage_supported(&stored, v->client)) && rc != REGISTRY_ENOMEM)
		rc = registry__fail(REGISTRY_EDENIED, "cannot ask the registry about its signature storage: %s",
		                    registry_error_message(registry_error_last()));
	if (!rc)
		rc = stored ? check_stored(v, req, g) : check_lookaside(v, req, g);
	if (!kept)
		registry__gpg_free(g);
	return rc;
}

static int check_requirement(const verify_ctx *v, const registry__requirement *req)
{
	switch (req->type) {
	case REGISTRY__REQ_ACCEPT:
		return 0;
	case REGISTRY__REQ_REJECT:
		return registry__fail(REGISTRY_EDENIED, "the policy rejects this image (requirement \"reject\")");
	case REGISTRY__REQ_SIGSTORE:
		if (req->keyless)
			return registry__fail(REGISTRY_EUNSUPPORTED, "keyless sigstore verification (fulcio, pki, rekor) "
			                                             "is not supported: the image is not accepted");
		return check_sigstore(v, req);
	case REGISTRY__REQ_SIGNED_BY:
		return check_signed_by(v, req);
	case REGISTRY__REQ_UNKNOWN:
		break;
	}
	return registry__fail(REGISTRY_EDENIED, "the policy requires \"%.80s\", which this library does not know: "
	                                        "rejected", req->type_name);
}

/* Requirements that need no network go first: a "reject" costs nothing. */
static int needs_digest(const registry__req_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->reqs[i].type == REGISTRY__REQ_REJECT || l->reqs[i].type == REGISTRY__REQ_UNKNOWN)
			return 0;
	return 1;
}

static int evaluate(verify_ctx *v, const registry_policy *policy)
{
	registry_verify_result *r = v->result;
	const char *scope = "default";
	const registry__req_list *l = registry__policy_for(policy, v->ref, &scope);
	if (!(r->scope = registry__strdup(scope)))
		return registry__nomem();
	int rc = 0;
	if (needs_digest(l)) {
		const char *digest = registry_reference_digest(v->ref), *tag = registry_reference_tag(v->ref);
		if (digest)
			rc = (r->digest = registry__strdup(digest)) ? 0 : registry__nomem();
		else
			rc = registry_manifest_resolve(&r->digest, NULL, NULL, v->client, v->repository, tag ? tag : "latest");
	}
	for (size_t i = 0; i < l->n && !rc; i++)
		if (l->reqs[i].type == REGISTRY__REQ_REJECT || l->reqs[i].type == REGISTRY__REQ_UNKNOWN || r->digest)
			rc = check_requirement(v, &l->reqs[i]);
	return rc;
}

int registry_verify(registry_verify_result **out, registry_client *client, const registry_reference *ref,
                    const registry_policy *policy, const registry_verify_options *opts)
{
	REGISTRY__ENTER(rc);
	if (out)
		*out = NULL;
	if (!client || !ref || !policy)
		return registry__fail(REGISTRY_EINVAL, "registry_verify: NULL argument");
	if ((opts && (rc = registry__options_check("registry_verify", opts->version, REGISTRY_VERIFY_OPTIONS_VERSION,
	                                           opts->flags, 0))) ||
	    (rc = registry__ops_check_ref_registry(client, ref)))
		return rc;
	registry_verify_result *r = registry__calloc(1, sizeof(*r));
	if (!r)
		return registry__nomem();
	verify_ctx v = {client, ref, registry_reference_repository(ref), r, opts ? opts->registries_d : NULL};
	rc = evaluate(&v, policy);
	r->accepted = rc == 0;
	r->reason = registry__strdup(rc ? registry_error_message(registry_error_last()) : "accepted by the policy");
	if (!r->reason) {
		registry_verify_result_free(r);
		return registry__nomem();
	}
	if (out)
		*out = r;
	else
		registry_verify_result_free(r);
	return rc;
}

int registry_verify_result_accepted(const registry_verify_result *r)
{
	return r ? r->accepted : 0;
}

const char *registry_verify_result_reason(const registry_verify_result *r)
{
	return r ? r->reason : NULL;
}

const char *registry_verify_result_digest(const registry_verify_result *r)
{
	return r ? r->digest : NULL;
}

const char *registry_verify_result_scope(const registry_verify_result *r)
{
	return r ? r->scope : NULL;
}

size_t registry_verify_result_signature_count(const registry_verify_result *r)
{
	return r ? r->n : 0;
}

static const sig_entry *sig_at(const registry_verify_result *r, size_t i)
{
	return r && i < r->n ? &r->sigs[i] : NULL;
}

const char *registry_verify_result_signature_kind(const registry_verify_result *r, size_t i)
{
	return sig_at(r, i) ? sig_at(r, i)->kind : NULL;
}

const char *registry_verify_result_signature_source(const registry_verify_result *r, size_t i)
{
	return sig_at(r, i) ? sig_at(r, i)->source : NULL;
}

int registry_verify_result_signature_accepted(const registry_verify_result *r, size_t i)
{
	return sig_at(r, i) ? sig_at(r, i)->accepted : 0;
}

const char *registry_verify_result_signature_reason(const registry_verify_result *r, size_t i)
{
	return sig_at(r, i) ? sig_at(r, i)->reason : NULL;
}

int registry__policy_gate(registry_reference **pinned, registry_client *client, const registry_reference *ref,
                          const registry_policy *policy)
{
	*pinned = NULL;
	if (!policy)
		return 0;
	registry_verify_result *r = NULL;
	int rc = registry_verify(&r, client, ref, policy, NULL);
	if (!rc)
		rc = registry_reference_new(pinned, registry_reference_registry(ref), registry_reference_repository(ref),
		                            registry_reference_tag(ref), registry_verify_result_digest(r));
	else if (rc == REGISTRY_EDENIED || rc == REGISTRY_EUNSUPPORTED)
		rc = registry__fail(rc, "%s: not accepted by the policy: %s", registry_reference_string(ref),
		                    registry_verify_result_reason(r));
	registry_verify_result_free(r);
	return rc;
}

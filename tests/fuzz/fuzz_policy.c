/*
 * Fuzz target "policy": the text of a containers-policy.json(5), parsed
 * strictly; when it loads, every image reference below gets a requirement
 * list (its scope, or the default) whose identity rules are applied to a
 * few signed identities. The same bytes are also checked as a simple
 * signing payload. Failures are EFORMAT / ETOOLARGE / ENOMEM with a
 * message; nothing may crash, leak or read out of bounds.
 */
#include "fuzz_common.h"
#include "trust/trust_impl.h"

static const char *const IMAGES[] = {
        "docker.io/library/busybox:1",
        "localhost:5000/a/b@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "a.b.example.org:443/x/y:z",
};
static const char *const SIGNED[] = {"busybox", "localhost:5000/a/b:t", "quay.io/x/y", "not a ref", ""};

static void apply(const registry_policy *p, const registry_reference *ref)
{
	const char *scope = NULL, *why = NULL;
	const registry__req_list *l = registry__policy_for(p, ref, &scope);
	require(l != NULL && scope != NULL && l->n > 0);
	for (size_t i = 0; i < l->n; i++) {
		const registry__requirement *r = &l->reqs[i];
		if (r->type != REGISTRY__REQ_SIGNED_BY && r->type != REGISTRY__REQ_SIGSTORE)
			continue;
		for (size_t s = 0; s < sizeof(SIGNED) / sizeof(SIGNED[0]); s++) {
			int ok = registry__identity_match(&r->identity, ref, SIGNED[s], &why);
			require(ok == 0 || ok == 1);
			require(ok || why != NULL);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static registry_reference *refs[sizeof(IMAGES) / sizeof(IMAGES[0])];
	if (!refs[0])
		for (size_t i = 0; i < sizeof(IMAGES) / sizeof(IMAGES[0]); i++)
			require(registry_reference_parse(&refs[i], IMAGES[i]) == 0);
	registry_policy *p = NULL;
	int rc = registry_policy_load_from_memory(&p, data, size, NULL);
	if (rc == 0) {
		for (size_t i = 0; i < sizeof(IMAGES) / sizeof(IMAGES[0]); i++)
			apply(p, refs[i]);
		registry_policy_free(p);
	} else {
		require(p == NULL);
		require(rc == REGISTRY_EFORMAT || rc == REGISTRY_ETOOLARGE || rc == REGISTRY_ENOMEM);
		fuzz_check_error(rc);
	}
	registry__identity id = {REGISTRY__ID_MATCH_REPO_DIGEST_OR_EXACT, NULL, NULL};
	rc = registry__payload_check((const char *)data, size, REGISTRY__PAYLOAD_TYPE_COSIGN,
	                             "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", refs[1],
	                             &id);
	require(rc == 0 || rc == REGISTRY_EFORMAT || rc == REGISTRY_EDENIED);
	if (rc)
		fuzz_check_error(rc);
	return 0;
}

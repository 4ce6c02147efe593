/*
 * The trust layer without a network: containers-policy.json(5) parsing
 * (strict, bounded), scope selection, signedIdentity rules, simple signing
 * payload checks and public-key signature checks.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "trust/trust_impl.h"

#ifdef REGISTRY_HAVE_OPENSSL
#include <openssl/evp.h>
#include <openssl/pem.h>
#endif

#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define OTHER "sha256:1111111111111111111111111111111111111111111111111111111111111111"

static registry_policy *load(const char *json)
{
	registry_policy *p = NULL;
	int rc = registry_policy_load_from_memory(&p, json, strlen(json), NULL);
	if (rc)
		fprintf(stderr, "load: %s\n", registry_error_message(registry_error_last()));
	return p;
}

static int load_rc(const char *json)
{
	registry_policy *p = NULL;
	int rc = registry_policy_load_from_memory(&p, json, strlen(json), NULL);
	registry_policy_free(p);
	return rc;
}

static const char *scope_for(const registry_policy *p, const char *text)
{
	registry_reference *ref = NULL;
	const char *scope = NULL;
	if (registry_reference_parse(&ref, text) == 0)
		registry__policy_for(p, ref, &scope);
	registry_reference_free(ref);
	return scope;
}

static void test_parse_valid(void)
{
	registry_policy *p = load("{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker\": {"
	                          "\"r.example:5000/a/b\": [{\"type\": \"sigstoreSigned\", \"keyData\": \"QUJD\","
	                          " \"signedIdentity\": {\"type\": \"matchRepository\"}}],"
	                          "\"r.example:5000/a\": [{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\","
	                          " \"keyPaths\": [\"/k1\", \"/k2\"]}],"
	                          "\"\": [{\"type\": \"insecureAcceptAnything\"}]},"
	                          "\"atomic\": {\"\": [{\"type\": \"reject\"}]}}}");
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_INT(p->def.n, 1);
	CHECK_INT(p->def.reqs[0].type, REGISTRY__REQ_REJECT);
	CHECK_INT(p->n_docker, 3); /* atomic is checked, not kept */
	CHECK_INT(p->docker[0].list.reqs[0].type, REGISTRY__REQ_SIGSTORE);
	CHECK_INT(p->docker[0].list.reqs[0].n_keys, 1);
	CHECK_INT(p->docker[0].list.reqs[0].keys[0].len, 3);
	CHECK(memcmp(p->docker[0].list.reqs[0].keys[0].data, "ABC", 3) == 0);
	CHECK_INT(p->docker[0].list.reqs[0].identity.type, REGISTRY__ID_MATCH_REPOSITORY);
	CHECK_INT(p->docker[1].list.reqs[0].n_keys, 2);
	CHECK_STR(p->docker[1].list.reqs[0].keys[1].path, "/k2");
	CHECK_INT(p->docker[1].list.reqs[0].identity.type, REGISTRY__ID_MATCH_REPO_DIGEST_OR_EXACT);
	registry_policy_free(p);
}

static void test_parse_invalid(void)
{
	/* Each of these would weaken or confuse the policy if half understood. */
	static const char *const bad[] = {
	        "",
	        "[]",
	        "{}",
	        "{\"default\": []}",
	        "{\"default\": [{\"type\": \"reject\"}], \"extra\": 1}",
	        "{\"default\": [{\"type\": \"reject\", \"keyPath\": \"/x\"}]}",
	        "{\"default\": [{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\"}]}",
	        "{\"default\": [{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\", \"keyPath\": \"/a\", \"keyData\": \"QQ==\"}]}",
	        "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyData\": \"!!not base64!!\"}]}",
	        "{\"default\": [{\"type\": \"sigstoreSigned\"}]}",
	        "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyPath\": \"/k\", \"signedIdentity\": {\"type\": \"nope\"}}]}",
	        "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyPath\": \"/k\", \"signedIdentity\": {\"type\": \"exactReference\"}}]}",
	        "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyPath\": \"/k\", \"signedIdentity\": {\"type\": \"remapIdentity\", \"prefix\": \"a\"}}]}",
	        "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker\": {\"x\": []}}}",
	        "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker\": []}}",
	        "{\"default\": [{\"type\": 7}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = load_rc(bad[i]);
		if (rc != REGISTRY_EFORMAT)
			fprintf(stderr, "policy %zu: %d\n", i, rc);
		CHECK_INT(rc, REGISTRY_EFORMAT);
	}
	CHECK(strstr(registry_error_message(registry_error_last()), "policy:") != NULL);
	registry_policy *p = NULL;
	CHECK_INT(registry_policy_load_from_memory(&p, "{}", REGISTRY_POLICY_MAX_SIZE + 1, NULL), REGISTRY_ETOOLARGE);
	registry_policy_load_options o = {0, 0};
	CHECK_INT(registry_policy_load_from_memory(&p, "{}", 2, &o), REGISTRY_EINVAL);
	CHECK_INT(registry_policy_load(&p, "/nonexistent/policy.json", NULL), REGISTRY_ENOTFOUND);
}

static void test_unknown_type_loads_and_rejects(void)
{
	registry_policy *p = load("{\"default\": [{\"type\": \"signedByQuantum\", \"whatever\": 1},"
	                          " {\"type\": \"signedBy\", \"keyType\": \"X509Certificates\"}]}");
	CHECK(p != NULL);
	if (p) {
		CHECK_INT(p->def.reqs[0].type, REGISTRY__REQ_UNKNOWN);
		CHECK_INT(p->def.reqs[1].type, REGISTRY__REQ_UNKNOWN);
	}
	registry_policy_free(p);
	p = load("{\"default\": [{\"type\": \"sigstoreSigned\", \"fulcio\": {\"caPath\": \"/x\"}, "
	         "\"rekorPublicKeyPath\": \"/r\"}]}");
	CHECK(p && p->def.reqs[0].keyless);
	registry_policy_free(p);
}

static void test_scopes(void)
{
	registry_policy *p = load("{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker\": {"
	                          "\"docker.io/library/busybox:1\": [{\"type\": \"reject\"}],"
	                          "\"docker.io/library/busybox\": [{\"type\": \"reject\"}],"
	                          "\"docker.io/library\": [{\"type\": \"reject\"}],"
	                          "\"r.example:5000\": [{\"type\": \"reject\"}],"
	                          "\"*.example.org\": [{\"type\": \"reject\"}],"
	                          "\"localhost:5000/a/b@" DIGEST "\": [{\"type\": \"reject\"}]}}}");
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_STR(scope_for(p, "busybox:1"), "docker.io/library/busybox:1");
	CHECK_STR(scope_for(p, "busybox:2"), "docker.io/library/busybox");
	CHECK_STR(scope_for(p, "alpine"), "docker.io/library");
	CHECK_STR(scope_for(p, "r.example:5000/x/y:z"), "r.example:5000");
	CHECK_STR(scope_for(p, "r.example/x/y:z"), "default"); /* another host:port */
	CHECK_STR(scope_for(p, "a.b.example.org/x"), "*.example.org");
	CHECK_STR(scope_for(p, "localhost:5000/a/b@" DIGEST), "localhost:5000/a/b@" DIGEST);
	CHECK_STR(scope_for(p, "localhost:5000/a/b:t"), "default");
	registry_policy_free(p);
	p = load("{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker\": {"
	         "\"\": [{\"type\": \"insecureAcceptAnything\"}]}}}");
	CHECK_STR(scope_for(p, "quay.io/a/b"), "");
	registry_policy_free(p);
}

static int matches(enum registry__identity_type type, const char *value, const char *signed_prefix,
                   const char *image, const char *signed_ref)
{
	registry__identity id = {type, (char *)value, (char *)signed_prefix};
	registry_reference *ref = NULL;
	const char *why = NULL;
	if (registry_reference_parse(&ref, image))
		return -1;
	int ok = registry__identity_match(&id, ref, signed_ref, &why);
	registry_reference_free(ref);
	CHECK(ok || why != NULL);
	return ok;
}

static void test_identity(void)
{
	/* matchRepoDigestOrExact: a tag must be signed exactly; a digest needs only the repository. */
	CHECK_INT(matches(REGISTRY__ID_MATCH_REPO_DIGEST_OR_EXACT, NULL, NULL, "busybox:1", "docker.io/library/busybox:1"), 1);
	CHECK_INT(matches(REGISTRY__ID_MATCH_REPO_DIGEST_OR_EXACT, NULL, NULL, "busybox:1", "busybox:2"), 0);
	CHECK_INT(matches(REGISTRY__ID_MATCH_REPO_DIGEST_OR_EXACT, NULL, NULL, "busybox:1", "busybox"), 0);
	CHECK_INT(matches(REGISTRY__ID_MATCH_REPO_DIGEST_OR_EXACT, NULL, NULL, "busybox@" DIGEST, "busybox:9"), 1);
	CHECK_INT(matches(REGISTRY__ID_MATCH_REPO_DIGEST_OR_EXACT, NULL, NULL, "busybox@" DIGEST, "alpine"), 0);
	/* matchExact: a digest reference needs the same digest signed. */
	CHECK_INT(matches(REGISTRY__ID_MATCH_EXACT, NULL, NULL, "busybox@" DIGEST, "busybox:9"), 0);
	CHECK_INT(matches(REGISTRY__ID_MATCH_EXACT, NULL, NULL, "busybox@" DIGEST, "busybox@" DIGEST), 1);
	CHECK_INT(matches(REGISTRY__ID_MATCH_EXACT, NULL, NULL, "busybox@" DIGEST, "busybox@" OTHER), 0);
	/* matchRepository: cosign's identity, a repository without tag. */
	CHECK_INT(matches(REGISTRY__ID_MATCH_REPOSITORY, NULL, NULL, "localhost:5000/a/b:t", "localhost:5000/a/b"), 1);
	CHECK_INT(matches(REGISTRY__ID_MATCH_REPOSITORY, NULL, NULL, "localhost:5000/a/b:t", "localhost:5000/a/c"), 0);
	CHECK_INT(matches(REGISTRY__ID_MATCH_REPOSITORY, NULL, NULL, "localhost:5000/a/b:t", "not a reference"), 0);
	CHECK_INT(matches(REGISTRY__ID_EXACT_REFERENCE, "quay.io/x/y:1", NULL, "localhost:5000/a/b:t", "quay.io/x/y:1"), 1);
	CHECK_INT(matches(REGISTRY__ID_EXACT_REFERENCE, "quay.io/x/y:1", NULL, "localhost:5000/a/b:t", "quay.io/x/y:2"), 0);
	CHECK_INT(matches(REGISTRY__ID_EXACT_REFERENCE, "quay.io/x/y:1", NULL, "localhost:5000/a/b:t", "quay.io/x/y"), 0);
	CHECK_INT(matches(REGISTRY__ID_EXACT_REPOSITORY, "quay.io/x/y", NULL, "localhost:5000/a/b:t", "quay.io/x/y:7"), 1);
	CHECK_INT(matches(REGISTRY__ID_EXACT_REPOSITORY, "quay.io/x/y", NULL, "localhost:5000/a/b:t", "quay.io/x/z"), 0);
	/* remapIdentity: a mirror's name mapped back to the name that was signed. */
	CHECK_INT(matches(REGISTRY__ID_REMAP, "mirror.example/proj", "quay.io/proj", "mirror.example/proj/app:1",
	                  "quay.io/proj/app:1"), 1);
	CHECK_INT(matches(REGISTRY__ID_REMAP, "mirror.example/proj", "quay.io/proj", "mirror.example/projx/app:1",
	                  "quay.io/projx/app:1"), 0);
	CHECK_INT(matches(REGISTRY__ID_REMAP, "mirror.example/proj", "quay.io/proj", "mirror.example/proj/app:1",
	                  "mirror.example/proj/app:1"), 0);
}

static int payload_rc(const char *payload, const char *image)
{
	registry__identity id = {REGISTRY__ID_MATCH_REPOSITORY, NULL, NULL};
	registry_reference *ref = NULL;
	if (registry_reference_parse(&ref, image))
		return -100;
	int rc = registry__payload_check(payload, strlen(payload), REGISTRY__PAYLOAD_TYPE_COSIGN, DIGEST, ref, &id);
	registry_reference_free(ref);
	return rc;
}

#define PAYLOAD(ref, digest, type)                                                                              \
	"{\"critical\":{\"identity\":{\"docker-reference\":\"" ref "\"},\"image\":{\"docker-manifest-digest\":\"" \
	digest "\"},\"type\":\"" type "\"},\"optional\":null}"

static void test_payload(void)
{
	CHECK_INT(payload_rc(PAYLOAD("localhost:5000/a", DIGEST, REGISTRY__PAYLOAD_TYPE_COSIGN), "localhost:5000/a:t"), 0);
	CHECK_INT(payload_rc(PAYLOAD("localhost:5000/a", OTHER, REGISTRY__PAYLOAD_TYPE_COSIGN), "localhost:5000/a:t"),
	          REGISTRY_EDENIED);
	CHECK(strstr(registry_error_message(registry_error_last()), "is for manifest") != NULL);
	CHECK_INT(payload_rc(PAYLOAD("localhost:5000/b", DIGEST, REGISTRY__PAYLOAD_TYPE_COSIGN), "localhost:5000/a:t"),
	          REGISTRY_EDENIED);
	CHECK_INT(payload_rc(PAYLOAD("localhost:5000/a", DIGEST, REGISTRY__PAYLOAD_TYPE_ATOMIC), "localhost:5000/a:t"),
	          REGISTRY_EFORMAT);
	CHECK_INT(payload_rc("{\"critical\":{\"identity\":{},\"image\":{},\"type\":1}}", "localhost:5000/a"), REGISTRY_EFORMAT);
	CHECK_INT(payload_rc("[1,2", "localhost:5000/a"), REGISTRY_EFORMAT);
	CHECK_INT(payload_rc("{\"critical\":{\"identity\":{\"docker-reference\":\"localhost:5000/a\"},\"image\":"
	                     "{\"docker-manifest-digest\":\"" DIGEST "\"},\"type\":\"" REGISTRY__PAYLOAD_TYPE_COSIGN
	                     "\",\"extra\":1}}", "localhost:5000/a"),
	          REGISTRY_EFORMAT);
}

#ifdef REGISTRY_HAVE_OPENSSL
/* A fresh key of @type (EVP_PKEY_ED25519, or EC with @curve), its public PEM in @pem. */
static EVP_PKEY *make_key(const char *alg, const char *curve, char *pem, size_t pem_size)
{
	EVP_PKEY *key = curve ? EVP_PKEY_Q_keygen(NULL, NULL, alg, curve) : EVP_PKEY_Q_keygen(NULL, NULL, alg, (size_t)2048);
	BIO *bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(bio, key);
	int n = BIO_read(bio, pem, (int)pem_size - 1);
	pem[n > 0 ? n : 0] = '\0';
	BIO_free(bio);
	return key;
}

static size_t sign(EVP_PKEY *key, const EVP_MD *md, const char *data, unsigned char *sig, size_t size)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t n = size;
	if (EVP_DigestSignInit(ctx, NULL, md, NULL, key) != 1 ||
	    EVP_DigestSign(ctx, sig, &n, (const unsigned char *)data, strlen(data)) != 1)
		n = 0;
	EVP_MD_CTX_free(ctx);
	return n;
}

static void check_alg(const char *alg, const char *curve, const EVP_MD *md)
{
	char pem[4096], other_pem[4096];
	unsigned char sig[1024];
	const char *data = PAYLOAD("localhost:5000/a", DIGEST, REGISTRY__PAYLOAD_TYPE_COSIGN);
	EVP_PKEY *key = make_key(alg, curve, pem, sizeof(pem));
	EVP_PKEY *other = make_key(alg, curve, other_pem, sizeof(other_pem));
	size_t n = sign(key, md, data, sig, sizeof(sig));
	CHECK(n > 0);
	CHECK_INT(registry__sig_verify_pem(pem, strlen(pem), sig, n, data, strlen(data)), 0);
	CHECK_INT(registry__sig_verify_pem(other_pem, strlen(other_pem), sig, n, data, strlen(data)), REGISTRY_EDENIED);
	CHECK_INT(registry__sig_verify_pem(pem, strlen(pem), sig, n, data, strlen(data) - 1), REGISTRY_EDENIED);
	sig[n / 2] ^= 1;
	CHECK_INT(registry__sig_verify_pem(pem, strlen(pem), sig, n, data, strlen(data)), REGISTRY_EDENIED);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

static void test_pubkey(void)
{
	check_alg("EC", "P-256", EVP_sha256());
	check_alg("EC", "P-384", EVP_sha256());
	check_alg("EC", "P-384", EVP_sha384());
	check_alg("ED25519", NULL, NULL);
	check_alg("RSA", NULL, EVP_sha256());
	unsigned char sig[8] = {0};
	CHECK_INT(registry__sig_verify_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", 56, sig, 8, "x", 1),
	          REGISTRY_EFORMAT);
}
#endif

int main(void)
{
	RUN(test_parse_valid);
	RUN(test_parse_invalid);
	RUN(test_unknown_type_loads_and_rejects);
	RUN(test_scopes);
	RUN(test_identity);
	RUN(test_payload);
#ifdef REGISTRY_HAVE_OPENSSL
	RUN(test_pubkey);
#endif
	return CHECK_DONE();
}

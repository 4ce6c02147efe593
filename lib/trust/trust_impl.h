/*
 * Private model of a containers-policy.json(5) policy and the pure checks
 * of the trust layer (no network: operations hand it bytes).
 */
#ifndef REGISTRY_TRUST_IMPL_H
#define REGISTRY_TRUST_IMPL_H

#include "internal.h"

/* Caps on what a hostile policy file can make us hold. */
#define REGISTRY__POLICY_SCOPES_MAX 1024
#define REGISTRY__POLICY_REQS_MAX 64
#define REGISTRY__POLICY_KEYS_MAX 64
#define REGISTRY__KEY_FILE_MAX ((size_t)256 << 10)

enum registry__req_type {
	REGISTRY__REQ_ACCEPT,
	REGISTRY__REQ_REJECT,
	REGISTRY__REQ_SIGNED_BY,
	REGISTRY__REQ_SIGSTORE,
	REGISTRY__REQ_UNKNOWN /* a type this library does not know: always rejects */
};

enum registry__identity_type {
	REGISTRY__ID_MATCH_REPO_DIGEST_OR_EXACT, /* the default */
	REGISTRY__ID_MATCH_EXACT,
	REGISTRY__ID_MATCH_REPOSITORY,
	REGISTRY__ID_EXACT_REFERENCE,
	REGISTRY__ID_EXACT_REPOSITORY,
	REGISTRY__ID_REMAP
};

typedef struct registry__identity {
	enum registry__identity_type type;
	char *value;         /* exactReference's dockerReference, exactRepository's dockerRepository, remap prefix */
	char *signed_prefix; /* remapIdentity */
} registry__identity;

/* One trusted key: a file read at verification time, or inline data. */
typedef struct registry__key {
	char *path;
	unsigned char *data; /* keyData / keyDatas, decoded from base64 */
	size_t len;
} registry__key;

typedef struct registry__requirement {
	enum registry__req_type type;
	char *type_name; /* as written, for messages */
	registry__key *keys;
	size_t n_keys;
	int keyless; /* sigstoreSigned with fulcio, pki or a rekor key: not verifiable here */
	registry__identity identity;
} registry__requirement;

typedef struct registry__req_list {
	registry__requirement *reqs;
	size_t n;
} registry__req_list;

typedef struct registry__scope {
	char *name;
	registry__req_list list;
} registry__scope;

struct registry_policy {
	registry__req_list def;
	registry__scope *docker;
	size_t n_docker;
};

/* The requirements for @ref: its most specific docker scope, else the
 * default; *scope_name says which ("default" for the global one). */
const registry__req_list *registry__policy_for(const registry_policy *p, const registry_reference *ref,
                                               const char **scope_name);

/*
 * Does a signature claiming @signed_ref (the payload's
 * critical.identity.docker-reference, as written) satisfy @id for the
 * image @ref? 1 yes, 0 no with *why set to a static reason.
 */
int registry__identity_match(const registry__identity *id, const registry_reference *ref, const char *signed_ref,
                             const char **why);

/*
 * Check a simple signing payload (JSON, cosign or containers-signature(5)):
 * critical.type as @type_expected, critical.image.docker-manifest-digest
 * equal to @digest, and the identity under @id for @ref. 0 or
 * REGISTRY_EDENIED/EFORMAT, recorded, with the reason.
 */
/* Cosign's layout: a signature is a layer of this media type (the
 * payload) with the base64 signature in this annotation; as an OCI 1.1
 * referrer, the manifest holding it has this artifactType. */
#define COSIGN_SIG_MEDIA_TYPE "application/vnd.dev.cosign.simplesigning.v1+json"
#define COSIGN_SIG_ANNOTATION "dev.cosignproject.cosign/signature"
#define COSIGN_ARTIFACT_TYPE "application/vnd.dev.cosign.artifact.sig.v1+json"

#define REGISTRY__PAYLOAD_TYPE_COSIGN "cosign container image signature"
#define REGISTRY__PAYLOAD_TYPE_ATOMIC "atomic container signature"
int registry__payload_check(const char *payload, size_t len, const char *type_expected, const char *digest,
                            const registry_reference *ref, const registry__identity *id);

/* A simple signing payload of @type (cosign's: "optional" null; atomic:
 * creator and timestamp), compact JSON; free with registry_free(). NULL
 * when out of memory. */
char *registry__payload_make(const char *type, const char *identity, const char *digest);

/* The bytes of @k: its data, or its file read into @buf (bounded). */
int registry__key_bytes(const registry__key *k, registry__buf *buf, const unsigned char **data, size_t *len);

/* Verify @sig over @data with a PEM public key (ECDSA, Ed25519, RSA).
 * 0, REGISTRY_EDENIED (bad signature), REGISTRY_EFORMAT (bad key),
 * REGISTRY_EUNSUPPORTED (built without OpenSSL), recorded. */
int registry__sig_verify_pem(const char *pem, size_t pem_len, const unsigned char *sig, size_t sig_len,
                             const void *data, size_t len);

/*
 * Sign @data with a private key file's bytes (cosign's encrypted format
 * opened with @password, or a plain PEM key) as cosign signs: *sig is
 * malloc'ed. REGISTRY_EAUTH for a wrong password, EFORMAT, EUNSUPPORTED.
 */
int registry__cosign_sign(unsigned char **sig, size_t *sig_len, const void *key, size_t key_len,
                          const char *password, const void *data, size_t len);

/* ---- Simple signing (GPG, gpgme; REGISTRY_EUNSUPPORTED without it) ---- */

/* The lookaside URL for @ref in the registries.d folder @dir (NULL: the
 * system's): *url NULL when none is configured. EFORMAT for conflicting or
 * malformed files. Without gpgme, *url is NULL. */
int registry__lookaside_url(char **url, const char *dir, const registry_reference *ref, int staging);

/* Where signature @index (1-based) of @digest for @ref is in lookaside
 * @url: "BASE/REPO@ALG=HEX/signature-N", a path for file://, a URL for
 * https:// and http://; EUNSUPPORTED (recorded) for another scheme. */
int registry__lookaside_location(char *where, size_t where_size, const char *url, const registry_reference *ref,
                                 const char *digest, int index);

/* Signature @index of @digest for @ref from the file:// lookaside @url into
 * @out (initialised here, bounded to REGISTRY__SIGNATURE_MAX):
 * REGISTRY_ENOTFOUND past the last one; EUNSUPPORTED for a scheme other
 * than file:// (the network ones are fetched by the operations layer:
 * registry__lookaside_fetch). *where names the file. */
#define REGISTRY__SIGNATURE_MAX ((size_t)4 << 20)
int registry__lookaside_read(registry__buf *out, char *where, size_t where_size, const char *url,
                             const registry_reference *ref, const char *digest, int index);

/* A temporary GNUPGHOME holding the keys of @req only. */
typedef struct registry__gpg registry__gpg;
int registry__gpg_new(registry__gpg **out, const registry__requirement *req);
void registry__gpg_free(registry__gpg *g);
/* Verify one signature: *payload (malloc'ed, NUL-terminated) is the signed
 * content when a key of the policy made it; else EDENIED, recorded. */
int registry__gpg_verify(registry__gpg *g, const void *sig, size_t sig_len, char **payload, size_t *payload_len);
/* Sign @data with the secret key @fingerprint of the user's keyring (GNUPGHOME):
 * an OpenPGP signed message in *sig (malloc'ed). */
int registry__gpg_sign(char **sig, size_t *sig_len, const char *fingerprint, const void *data, size_t len);
/* Write @sig as the next free signature-N of @digest for @ref under the
 * file:// lookaside @url (directories made as needed); *where names it. */
int registry__lookaside_write(char *where, size_t where_size, const char *url, const registry_reference *ref,
                              const char *digest, const void *sig, size_t len);

#endif

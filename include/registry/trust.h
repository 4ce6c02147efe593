/** @file
 * libregistry: signatures and trust policy — verify before you trust.
 *
 * A registry_policy is a containers-policy.json(5) file: a `default` list
 * of requirements and, per transport, scopes of their own. Only the
 * `docker` transport is evaluated; the most specific scope that matches
 * an image wins ("host/ns/repo:tag" or "host/ns/repo@digest", then
 * "host/ns/repo", "host/ns", "host", "*.domain" wildcards, then the
 * transport's "" scope, then `default`). Every requirement of the chosen
 * list must be satisfied:
 *
 * - `insecureAcceptAnything`: accepted without looking at signatures;
 * - `reject`: refused;
 * - `sigstoreSigned` with keyPath or keyData: a cosign signature (the
 *   `sha256-<hex>.sig` tag of the repository) made by that public key
 *   (ECDSA P-256/P-384, Ed25519 or RSA, PEM), whose payload names the
 *   image's manifest digest and an identity the `signedIdentity` rule
 *   accepts. Keyless signatures (`fulcio`, `rekorPublicKey...`) are not
 *   verified: such a requirement is REGISTRY_EUNSUPPORTED (fail closed);
 * - `signedBy` with keyType GPGKeys: a simple signing signature found
 *   through registries.d `file://` lookaside storage, verified with GPG in
 *   a temporary GNUPGHOME holding only the policy's keys (needs a library
 *   built with gpgme, else REGISTRY_EUNSUPPORTED);
 * - any other type: refused (fail closed).
 *
 * The default identity rule is matchRepoDigestOrExact; matchExact,
 * matchRepository, exactReference, exactRepository and remapIdentity are
 * understood as containers-policy.json(5) describes them.
 *
 * See docs/signatures.md.
 */
#ifndef REGISTRY_TRUST_H
#define REGISTRY_TRUST_H

#include <registry/common.h>
#include <registry/client.h>
#include <registry/reference.h>

REGISTRY_BEGIN_DECLS

/** Opaque parsed policy; immutable once loaded, so threads may share it. @since 1.1 */
typedef struct registry_policy registry_policy;
/** Opaque result of registry_verify(): the verdict and the signatures checked. @since 1.1 */
typedef struct registry_verify_result registry_verify_result;

/** The system policy file of containers tools. @since 1.1 */
#define REGISTRY_POLICY_SYSTEM_PATH "/etc/containers/policy.json"
/** Largest policy file read (a policy is a few KiB; more is refused). @since 1.1 */
#define REGISTRY_POLICY_MAX_SIZE ((size_t)1 << 20)
/** Most cosign signatures (layers of the .sig manifest) examined per image. @since 1.1 */
#define REGISTRY_VERIFY_SIGNATURES_MAX 64
/** Largest signed payload fetched for one signature. @since 1.1 */
#define REGISTRY_VERIFY_PAYLOAD_MAX ((size_t)64 << 10)

/**
 * Options of registry_policy_load() and registry_policy_load_from_memory().
 * @since 1.1
 */
typedef struct registry_policy_load_options {
	unsigned int version; /**< REGISTRY_POLICY_LOAD_OPTIONS_VERSION */
	unsigned int flags;   /**< none defined yet: must be 0 */
} registry_policy_load_options;

/** Current version of registry_policy_load_options. @since 1.1 */
#define REGISTRY_POLICY_LOAD_OPTIONS_VERSION 1
/** Initialiser of registry_policy_load_options: every field the default. @since 1.1 */
#define REGISTRY_POLICY_LOAD_OPTIONS_INIT {REGISTRY_POLICY_LOAD_OPTIONS_VERSION, 0}

/**
 * Set @p opts to REGISTRY_POLICY_LOAD_OPTIONS_INIT.
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.1
 */
REGISTRY_API int registry_policy_load_options_init(registry_policy_load_options *opts);

/**
 * Parse a policy from memory. Key files named by keyPath/keyPaths are
 * read when an image is verified, not now.
 * @param out receives the policy (NULL on failure); free with registry_policy_free().
 * @param data the JSON text; @p len its length (at most REGISTRY_POLICY_MAX_SIZE).
 * @param opts NULL for the defaults.
 * @return 0; REGISTRY_EINVAL (NULL argument, bad options); REGISTRY_ETOOLARGE;
 *         REGISTRY_EFORMAT (not JSON, no `default`, an unknown field, a
 *         requirement or identity rule without its required fields; the
 *         message names the place); REGISTRY_ENOMEM.
 * @since 1.1
 */
REGISTRY_API int registry_policy_load_from_memory(registry_policy **out, const void *data, size_t len,
                                                  const registry_policy_load_options *opts);

/**
 * Read and parse a policy file (see registry_policy_load_from_memory()).
 * @param out receives the policy (NULL on failure).
 * @param path the file, e.g. REGISTRY_POLICY_SYSTEM_PATH.
 * @param opts NULL for the defaults.
 * @return as registry_policy_load_from_memory(), and REGISTRY_EIO (cannot read)
 *         or REGISTRY_ENOTFOUND (no such file).
 * @since 1.1
 */
REGISTRY_API int registry_policy_load(registry_policy **out, const char *path,
                                      const registry_policy_load_options *opts);

/** Free a policy; NULL is accepted. @since 1.1 */
REGISTRY_API void registry_policy_free(registry_policy *policy);

/**
 * Options of registry_verify().
 * @since 1.1
 */
typedef struct registry_verify_options {
	unsigned int version;     /**< REGISTRY_VERIFY_OPTIONS_VERSION */
	unsigned int flags;       /**< none defined yet: must be 0 */
	const char *registries_d; /**< registries.d folder for simple signing lookaside; NULL: /etc/containers/registries.d */
} registry_verify_options;

/** Current version of registry_verify_options. @since 1.1 */
#define REGISTRY_VERIFY_OPTIONS_VERSION 1
/** Initialiser of registry_verify_options: every field the default. @since 1.1 */
#define REGISTRY_VERIFY_OPTIONS_INIT {REGISTRY_VERIFY_OPTIONS_VERSION, 0, NULL}

/**
 * Set @p opts to REGISTRY_VERIFY_OPTIONS_INIT.
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.1
 */
REGISTRY_API int registry_verify_options_init(registry_verify_options *opts);

/**
 * Decide whether @p policy accepts the image @p ref names: resolve it to
 * its manifest digest, pick the policy's requirements for it, and check
 * each (fetching and verifying signatures as they ask).
 * @param out receives the result (verdict, digest, signatures checked and
 *        why), also when the image is rejected; NULL when the arguments
 *        are bad or memory ran out. Free with registry_verify_result_free().
 *        May be NULL.
 * @param client the registry of @p ref.
 * @param ref the image, by tag or digest.
 * @param policy the policy.
 * @param opts NULL for the defaults.
 * @return 0 when accepted; REGISTRY_EDENIED when the policy rejects the
 *         image (the message says why); REGISTRY_EUNSUPPORTED when a
 *         requirement cannot be checked by this library (keyless sigstore,
 *         GPG without gpgme, an https:// lookaside): the image is not
 *         accepted either; REGISTRY_EFORMAT (a registries.d file that is
 *         not valid, or configures a scope twice); REGISTRY_EINVAL (NULL
 *         argument, bad options, @p ref of another registry); transport
 *         errors while resolving the image.
 * @since 1.1
 */
REGISTRY_API int registry_verify(registry_verify_result **out, registry_client *client,
                                 const registry_reference *ref, const registry_policy *policy,
                                 const registry_verify_options *opts);

/** 1 when the image was accepted, else 0. @since 1.1 */
REGISTRY_API int registry_verify_result_accepted(const registry_verify_result *r);
/** Why the verdict, one line. Borrowed from @p r. @since 1.1 */
REGISTRY_API const char *registry_verify_result_reason(const registry_verify_result *r);
/** The manifest digest that was verified (pull it by this digest), or NULL. Borrowed. @since 1.1 */
REGISTRY_API const char *registry_verify_result_digest(const registry_verify_result *r);
/** The policy scope that applied ("" for the transport's default, "default" for the global one). @since 1.1 */
REGISTRY_API const char *registry_verify_result_scope(const registry_verify_result *r);
/** How many signatures were examined. @since 1.1 */
REGISTRY_API size_t registry_verify_result_signature_count(const registry_verify_result *r);
/** Signature @p i: "sigstore" or "simple-signing"; NULL out of range. @since 1.1 */
REGISTRY_API const char *registry_verify_result_signature_kind(const registry_verify_result *r, size_t i);
/** Signature @p i: where it was found (a tag and layer digest, a URL). NULL out of range. @since 1.1 */
REGISTRY_API const char *registry_verify_result_signature_source(const registry_verify_result *r, size_t i);
/** Signature @p i: 1 when it satisfied its requirement, else 0. @since 1.1 */
REGISTRY_API int registry_verify_result_signature_accepted(const registry_verify_result *r, size_t i);
/** Signature @p i: why accepted or not, one line. NULL out of range. @since 1.1 */
REGISTRY_API const char *registry_verify_result_signature_reason(const registry_verify_result *r, size_t i);
/** Free a result; NULL is accepted. @since 1.1 */
REGISTRY_API void registry_verify_result_free(registry_verify_result *r);

/** registry_sign_options.flags: replace the signatures already on the `.sig` tag instead of adding to them. @since 1.1 */
#define REGISTRY_SIGN_REPLACE 0x1u
/**
 * registry_sign_options.flags: write the signature as an OCI 1.1 referrer
 * of the image (cosign's `--registry-referrers-mode=oci-1-1` layout)
 * instead of on the `.sig` tag; not with REGISTRY_SIGN_REPLACE.
 * @since 1.1
 */
#define REGISTRY_SIGN_REFERRER 0x2u

/**
 * Options of registry_sign_cosign().
 * @since 1.1
 */
typedef struct registry_sign_options {
	unsigned int version;  /**< REGISTRY_SIGN_OPTIONS_VERSION */
	unsigned int flags;    /**< REGISTRY_SIGN_REPLACE or REGISTRY_SIGN_REFERRER, or 0 */
	const char *password;  /**< the password of an encrypted cosign key; NULL for an unencrypted PEM key */
	const char *identity;  /**< the docker-reference signed; NULL: "registry/repository" of the image */
} registry_sign_options;

/** Current version of registry_sign_options. @since 1.1 */
#define REGISTRY_SIGN_OPTIONS_VERSION 1
/** Initialiser of registry_sign_options: every field the default. @since 1.1 */
#define REGISTRY_SIGN_OPTIONS_INIT {REGISTRY_SIGN_OPTIONS_VERSION, 0, NULL, NULL}

/**
 * Set @p opts to REGISTRY_SIGN_OPTIONS_INIT.
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.1
 */
REGISTRY_API int registry_sign_options_init(registry_sign_options *opts);

/**
 * Sign the image @p ref names as cosign does: a simple signing payload for
 * its manifest digest, signed with @p key (SHA-256 for ECDSA and RSA
 * PKCS#1 v1.5; Ed25519 as is), pushed as a layer of the
 * `sha256-<hex>.sig` tag of its repository with the signature in the
 * `dev.cosignproject.cosign/signature` annotation, after the signatures
 * already there (up to REGISTRY_VERIFY_SIGNATURES_MAX in all).
 *
 * With REGISTRY_SIGN_REFERRER the signature is instead a manifest of its
 * own, as cosign's OCI 1.1 mode writes it: artifactType
 * `application/vnd.dev.cosign.artifact.sig.v1+json`, the empty config, the
 * one payload layer with its annotation, and the image as its subject,
 * pushed by digest. A registry with the referrers API lists it there;
 * on one without it, the referrers tag schema (`sha256-<hex>` index) is
 * kept as registry_manifest_push() describes.
 * @param digest_out receives the digest of the image signed (free with
 *        registry_free()); may be NULL.
 * @param client the registry of @p ref (push access needed).
 * @param ref the image, by tag or digest.
 * @param key the private key file's bytes: cosign's encrypted key (PEM
 *        "ENCRYPTED SIGSTORE PRIVATE KEY" or "ENCRYPTED COSIGN PRIVATE
 *        KEY": scrypt and NaCl secretbox, opened with opts->password), or
 *        an unencrypted PEM private key.
 * @param key_len the length of @p key (at most 256 KiB).
 * @param opts password, identity, flags; NULL for the defaults.
 * @return 0; REGISTRY_EINVAL (NULL argument, bad options, @p ref of another
 *         registry); REGISTRY_EAUTH (wrong password); REGISTRY_EFORMAT (not
 *         a key this library reads); REGISTRY_EUNSUPPORTED (a key type other
 *         than ECDSA, Ed25519, RSA, or a library built without OpenSSL);
 *         REGISTRY_ETOOLARGE (too many signatures on the tag already);
 *         REGISTRY_ECONFLICT (the referrers tag, see registry_manifest_push());
 *         transport errors (REGISTRY_EDENIED: no push access).
 * @since 1.1
 */
REGISTRY_API int registry_sign_cosign(char **digest_out, registry_client *client, const registry_reference *ref,
                                      const void *key, size_t key_len, const registry_sign_options *opts);

/**
 * Sign the image @p ref names with GPG as `skopeo copy --sign-by` does
 * (containers-signature(5)): a simple signing payload naming its manifest
 * digest and @p ref (or opts->identity), signed with the secret key
 * @p fingerprint of the user's keyring (GNUPGHOME, through gpgme), written
 * as skopeo writes it: to the registry's own signature storage when the
 * registry advertises one (`X-Registry-Supports-Signatures: 1`, the
 * `/extensions/v2/` API), else as the next free `signature-N` under the
 * `lookaside-staging` (else `lookaside`) storage registries.d names for
 * the image. Only file:// lookaside storage is written.
 * @param digest_out receives the digest of the image signed (free with
 *        registry_free()); may be NULL.
 * @param client the registry of @p ref.
 * @param ref the image, by tag or digest.
 * @param fingerprint the signing key.
 * @param registries_d the registries.d folder; NULL: /etc/containers/registries.d.
 * @param opts identity, flags (must be 0); opts->password is not used
 *        (gpg-agent asks); NULL for the defaults.
 * @return 0; REGISTRY_EINVAL; REGISTRY_ENOTFOUND (no such secret key, no
 *         lookaside configured for the image); REGISTRY_EUNSUPPORTED
 *         (built without gpgme, a lookaside that is not file://);
 *         REGISTRY_EIO; transport errors resolving the image or writing to
 *         the registry's signature storage.
 * @since 1.1
 */
REGISTRY_API int registry_sign_gpg(char **digest_out, registry_client *client, const registry_reference *ref,
                                   const char *fingerprint, const char *registries_d,
                                   const registry_sign_options *opts);

REGISTRY_END_DECLS

#endif

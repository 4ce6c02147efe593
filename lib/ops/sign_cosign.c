/*
 * registry_sign_cosign(): write a signature in cosign's layout, so that
 * `cosign verify --key` (and registry_verify) accept it: the simple
 * signing payload as a blob, referenced as a layer of the OCI manifest
 * tagged "sha256-<hex>.sig" beside the image, the base64 signature in the
 * layer's dev.cosignproject.cosign/signature annotation. Signatures
 * already on the tag are kept (cosign appends too). Or, as cosign's OCI
 * 1.1 mode does, a manifest of its own whose subject is the image.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "digest/hash.h"
#include "ops_impl.h"
#include "trust/trust_impl.h"


int registry_sign_options_init(registry_sign_options *o)
{
	REGISTRY__ENTER(rc);
	if (!o)
		return registry__fail(REGISTRY_EINVAL, "registry_sign_options_init: NULL options");
	registry_sign_options init = REGISTRY_SIGN_OPTIONS_INIT;
	*o = init;
	return 0;
}

typedef struct mem_source {
	const char *data;
	size_t len, off;
} mem_source;

static int64_t mem_read(void *buf, size_t len, void *ud)
{
	mem_source *m = ud;
	size_t n = m->len - m->off < len ? m->len - m->off : len;
	memcpy(buf, m->data + m->off, n);
	m->off += n;
	return (int64_t)n;
}

static int mem_rewind(void *ud)
{
	((mem_source *)ud)->off = 0;
	return 0;
}

/* Upload @data as a blob; its digest in @digest. */
static int upload_bytes(registry_client *c, const char *repo, const char *data, size_t len,
                        char digest[REGISTRY_DIGEST_STRING_MAX])
{
	registry__hash h;
	int rc;
	if ((rc = registry__hash_init(&h, REGISTRY_DIGEST_SHA256)) || (rc = registry__hash_update(&h, data, len)) ||
	    (rc = registry__hash_final(&h, digest))) {
		registry__hash_cleanup(&h);
		return rc;
	}
	registry__hash_cleanup(&h);
	mem_source m = {data, len, 0};
	return registry_blob_upload(c, repo, digest, (int64_t)len, mem_read, mem_rewind, &m, NULL);
}

/* The image config cosign writes for a signature manifest: empty, the
 * payloads as diff_ids (digests are validated strings: nothing to escape). */
static char *make_config(const char *const *digests, size_t n)
{
	registry__buf b;
	registry__buf_init(&b, 0);
	int rc = registry__buf_puts(&b, "{\"architecture\":\"\",\"config\":{},\"created\":\"0001-01-01T00:00:00Z\","
	                                "\"history\":[{\"created\":\"0001-01-01T00:00:00Z\"}],\"os\":\"\","
	                                "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[");
	for (size_t i = 0; !rc && i < n; i++)
		rc = registry__buf_printf(&b, "%s\"%s\"", i ? "," : "", digests[i]);
	if (!rc)
		rc = registry__buf_puts(&b, "]}}");
	if (rc) {
		registry__buf_free(&b);
		return NULL;
	}
	return registry__buf_detach(&b);
}

typedef struct sig_layers {
	registry_manifest_builder *b;
	const char *digests[REGISTRY_VERIFY_SIGNATURES_MAX + 1];
	size_t n;
} sig_layers;

static int add_layer(sig_layers *l, const char *digest, int64_t size, const char *const *annotations)
{
	if (l->n >= REGISTRY_VERIFY_SIGNATURES_MAX)
		return registry__fail(REGISTRY_ETOOLARGE, "the .sig tag holds %d signatures already",
		                      REGISTRY_VERIFY_SIGNATURES_MAX);
	registry_descriptor_spec spec = REGISTRY_DESCRIPTOR_SPEC_INIT;
	spec.media_type = COSIGN_SIG_MEDIA_TYPE;
	spec.digest = digest;
	spec.size = size;
	spec.annotations = annotations;
	l->digests[l->n++] = digest;
	return registry_manifest_builder_add_layer(l->b, &spec);
}

/* Keep the signatures already on @tag (their descriptors as they are). */
static int keep_existing(sig_layers *l, registry_client *c, const char *repo, const char *tag, registry_manifest **old)
{
	registry_manifest_fetch_options mo = REGISTRY_MANIFEST_FETCH_OPTIONS_INIT;
	mo.max_size = (size_t)1 << 20;
	int rc = registry_manifest_fetch(old, c, repo, tag, &mo);
	if (rc == REGISTRY_ENOTFOUND)
		return 0;
	for (size_t i = 0; !rc && i < registry_manifest_layer_count(*old); i++) {
		const registry_descriptor *d = registry_manifest_layer(*old, i);
		const char *sig = registry_descriptor_annotation(d, COSIGN_SIG_ANNOTATION);
		const char *ann[] = {COSIGN_SIG_ANNOTATION, sig, NULL};
		if (sig && strcmp(registry_descriptor_media_type(d), COSIGN_SIG_MEDIA_TYPE) == 0)
			rc = add_layer(l, registry_descriptor_digest(d), registry_descriptor_size(d), ann);
	}
	return rc;
}

/* Upload the payload and add it to @l as a signature layer annotated with @b64. */
static int add_payload(sig_layers *l, registry_client *c, const char *repo, const char *payload, const char *b64,
                       char payload_digest[REGISTRY_DIGEST_STRING_MAX])
{
	const char *ann[] = {COSIGN_SIG_ANNOTATION, b64, NULL};
	int rc = upload_bytes(c, repo, payload, strlen(payload), payload_digest);
	return rc ? rc : add_layer(l, payload_digest, (int64_t)strlen(payload), ann);
}

/* Upload @config and make it the manifest's config, of @media_type. */
static int set_config(sig_layers *l, registry_client *c, const char *repo, const char *config, const char *media_type,
                      char config_digest[REGISTRY_DIGEST_STRING_MAX])
{
	int rc = upload_bytes(c, repo, config, strlen(config), config_digest);
	registry_descriptor_spec spec = REGISTRY_DESCRIPTOR_SPEC_INIT;
	spec.media_type = media_type;
	spec.digest = config_digest;
	spec.size = (int64_t)strlen(config);
	return rc ? rc : registry_manifest_builder_set_config(l->b, &spec);
}

/* The "<alg>-<hex>.sig" tag with the signatures already there (unless
 * REGISTRY_SIGN_REPLACE) and this one after them. */
static int push_sig_tag(registry_client *c, const char *repo, const char *digest, const char *payload, const char *b64,
                        const registry_sign_options *o)
{
	char tag[REGISTRY_DIGEST_STRING_MAX + 8];
	char payload_digest[REGISTRY_DIGEST_STRING_MAX], config_digest[REGISTRY_DIGEST_STRING_MAX];
	snprintf(tag, sizeof(tag), "%s.sig", digest);
	tag[strcspn(tag, ":")] = '-';
	char *config = NULL;
	sig_layers l = {0};
	registry_manifest *old = NULL, *m = NULL;
	int rc = registry_manifest_builder_new(&l.b, REGISTRY_MEDIA_TYPE_OCI_MANIFEST);
	if (!rc && !(o->flags & REGISTRY_SIGN_REPLACE))
		rc = keep_existing(&l, c, repo, tag, &old);
	if (!rc)
		rc = add_payload(&l, c, repo, payload, b64, payload_digest);
	if (!rc && !(config = make_config(l.digests, l.n)))
		rc = registry__nomem();
	if (!rc && !(rc = set_config(&l, c, repo, config, REGISTRY_MEDIA_TYPE_OCI_CONFIG, config_digest)) &&
	    !(rc = registry_manifest_builder_build(&m, l.b)))
		rc = registry_manifest_push(NULL, c, repo, tag, m);
	registry_manifest_free(m);
	registry_manifest_free(old);
	registry_manifest_builder_free(l.b);
	registry_free(config);
	return rc;
}

/* A referrer of the image, as cosign's OCI 1.1 mode writes it: the empty
 * config, one payload layer, the image as subject, pushed by digest
 * (registry_manifest_push keeps the referrers tag where there is no API). */
static int push_sig_referrer(registry_client *c, const char *repo, const char *digest, const char *payload,
                             const char *b64)
{
	char payload_digest[REGISTRY_DIGEST_STRING_MAX], config_digest[REGISTRY_DIGEST_STRING_MAX];
	char *media_type = NULL;
	int64_t size = 0;
	sig_layers l = {0};
	registry_manifest *m = NULL;
	int rc = registry_manifest_resolve(NULL, &media_type, &size, c, repo, digest);
	if (!rc)
		rc = registry_manifest_builder_new(&l.b, REGISTRY_MEDIA_TYPE_OCI_MANIFEST);
	if (!rc) {
		registry_descriptor_spec subject = REGISTRY_DESCRIPTOR_SPEC_INIT;
		subject.media_type = media_type;
		subject.digest = digest;
		subject.size = size;
		if (!(rc = registry_manifest_builder_set_artifact_type(l.b, COSIGN_ARTIFACT_TYPE)))
			rc = registry_manifest_builder_set_subject(l.b, &subject);
	}
	if (!rc && !(rc = set_config(&l, c, repo, "{}", REGISTRY_MEDIA_TYPE_OCI_EMPTY, config_digest)))
		rc = add_payload(&l, c, repo, payload, b64, payload_digest);
	if (!rc && !(rc = registry_manifest_builder_build(&m, l.b)))
		rc = registry_manifest_push(NULL, c, repo, registry_manifest_digest(m), m);
	registry_manifest_free(m);
	registry_manifest_builder_free(l.b);
	registry_free(media_type);
	return rc;
}

static int sign_and_push(registry_client *c, const registry_reference *ref, const char *digest, const void *key,
                         size_t key_len, const registry_sign_options *o)
{
	const char *repo = registry_reference_repository(ref);
	char identity[REGISTRY_REFERENCE_NAME_MAX + 2];
	snprintf(identity, sizeof(identity), "%s/%s", registry_reference_registry(ref), repo);
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	char *payload = registry__payload_make(REGISTRY__PAYLOAD_TYPE_COSIGN, o->identity ? o->identity : identity, digest),
	     *b64 = NULL;
	int rc = payload ? 0 : registry__nomem();
	if (!rc)
		rc = registry__cosign_sign(&sig, &sig_len, key, key_len, o->password, payload, strlen(payload));
	if (!rc && !(b64 = malloc(sodium_base64_ENCODED_LEN(sig_len, sodium_base64_VARIANT_ORIGINAL))))
		rc = registry__nomem();
	if (!rc) {
		sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(sig_len, sodium_base64_VARIANT_ORIGINAL), sig, sig_len,
		                  sodium_base64_VARIANT_ORIGINAL);
		rc = (o->flags & REGISTRY_SIGN_REFERRER) ? push_sig_referrer(c, repo, digest, payload, b64)
		                                         : push_sig_tag(c, repo, digest, payload, b64, o);
	}
	free(b64);
	free(sig);
	registry_free(payload);
	return rc;
}

/* The checks and the digest both signers start with; *digest freed by the caller. */
static int sign_prepare(const char *fn, char **digest, registry_client *client, const registry_reference *ref,
                        const void *key, const registry_sign_options *opts, unsigned int known_flags)
{
	*digest = NULL;
	if (!client || !ref || !key)
		return registry__fail(REGISTRY_EINVAL, "%s: NULL argument", fn);
	int rc;
	if ((opts && (rc = registry__options_check(fn, opts->version, REGISTRY_SIGN_OPTIONS_VERSION, opts->flags,
	                                           known_flags))) ||
	    (rc = registry__ops_check_ref_registry(client, ref)))
		return rc;
	const char *tag = registry_reference_tag(ref);
	if (registry_reference_digest(ref))
		return (*digest = registry__strdup(registry_reference_digest(ref))) ? 0 : registry__nomem();
	return registry_manifest_resolve(digest, NULL, NULL, client, registry_reference_repository(ref),
	                                 tag ? tag : "latest");
}

static int sign_done(int rc, char *digest, char **digest_out)
{
	if (!rc && digest_out)
		*digest_out = digest;
	else
		registry_free(digest);
	return rc;
}

int registry_sign_cosign(char **digest_out, registry_client *client, const registry_reference *ref, const void *key,
                         size_t key_len, const registry_sign_options *opts)
{
	REGISTRY__ENTER(rc);
	registry_sign_options defaults = REGISTRY_SIGN_OPTIONS_INIT;
	char *digest = NULL;
	if (digest_out)
		*digest_out = NULL;
	if (opts && (opts->flags & REGISTRY_SIGN_REPLACE) && (opts->flags & REGISTRY_SIGN_REFERRER))
		return registry__fail(REGISTRY_EINVAL, "registry_sign_cosign: REGISTRY_SIGN_REPLACE is for the .sig tag, "
		                                       "not with REGISTRY_SIGN_REFERRER");
	if (!(rc = sign_prepare("registry_sign_cosign", &digest, client, ref, key, opts,
	                        REGISTRY_SIGN_REPLACE | REGISTRY_SIGN_REFERRER)))
		rc = sign_and_push(client, ref, digest, key, key_len, opts ? opts : &defaults);
	return sign_done(rc, digest, digest_out);
}

int registry_sign_gpg(char **digest_out, registry_client *client, const registry_reference *ref,
                      const char *fingerprint, const char *registries_d, const registry_sign_options *opts)
{
	REGISTRY__ENTER(rc);
	char *digest = NULL, *url = NULL, *payload = NULL, *sig = NULL, where[4096];
	size_t sig_len = 0;
	if (digest_out)
		*digest_out = NULL;
	if ((rc = sign_prepare("registry_sign_gpg", &digest, client, ref, fingerprint, opts, 0)))
		return sign_done(rc, digest, digest_out);
	const char *identity = opts && opts->identity ? opts->identity : registry_reference_string(ref);
	int stored = 0;
	/* Where skopeo writes too: the registry's own storage when it has one. */
	if (!(rc = registry__signature_storage_supported(&stored, client)) && !stored &&
	    !(rc = registry__lookaside_url(&url, registries_d, ref, 1)) && !url)
		rc = registry__fail(REGISTRY_ENOTFOUND, "registries.d names no lookaside storage for %s",
		                    registry_reference_string(ref));
	if (!rc && !(payload = registry__payload_make(REGISTRY__PAYLOAD_TYPE_ATOMIC, identity, digest)))
		rc = registry__nomem();
	if (!rc)
		rc = registry__gpg_sign(&sig, &sig_len, fingerprint, payload, strlen(payload));
	if (!rc)
		rc = stored ? registry__signature_storage_put(client, registry_reference_repository(ref), digest, sig, sig_len)
		            : registry__lookaside_write(where, sizeof(where), url, ref, digest, sig, sig_len);
	free(sig);
	registry_free(payload);
	free(url);
	return sign_done(rc, digest, digest_out);
}

/*
 * Simple signing (containers-signature(5)) with GPG through gpgme. The
 * signature is an OpenPGP signed message whose content is the JSON
 * payload. The policy's keys are imported into a fresh temporary
 * GNUPGHOME for each check (never the user's keyring, so only those keys
 * can vouch), and the signing key must be one of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/pull_impl.h"
#include "trust_impl.h"

#ifdef REGISTRY_HAVE_GPGME
#include <gpgme.h>

#define GPG_FPRS_MAX 64

struct registry__gpg {
	gpgme_ctx_t ctx;
	char home[256];
	char *fprs[GPG_FPRS_MAX]; /* primary fingerprints of the imported keys */
	size_t n;
};

static int gpg_fail(gpgme_error_t err, const char *what)
{
	return registry__fail(REGISTRY_EIO, "gpg: %s: %s", what, gpgme_strerror(err));
}

void registry__gpg_free(registry__gpg *g)
{
	if (!g)
		return;
	if (g->ctx)
		gpgme_release(g->ctx);
	for (size_t i = 0; i < g->n; i++)
		free(g->fprs[i]);
	if (g->home[0])
		registry__remove_tree(g->home, 1);
	free(g);
}

static int import_key(registry__gpg *g, const unsigned char *data, size_t len)
{
	gpgme_data_t d = NULL;
	gpgme_error_t err = gpgme_data_new_from_mem(&d, (const char *)data, len, 0);
	if (!err)
		err = gpgme_op_import(g->ctx, d);
	gpgme_data_release(d);
	if (err)
		return gpg_fail(err, "importing a policy key");
	gpgme_import_result_t r = gpgme_op_import_result(g->ctx);
	int added = 0;
	for (gpgme_import_status_t s = r ? r->imports : NULL; s; s = s->next) {
		if (s->result != GPG_ERR_NO_ERROR || !s->fpr || g->n >= GPG_FPRS_MAX)
			continue;
		if (!(g->fprs[g->n] = registry__strdup(s->fpr)))
			return registry__nomem();
		g->n++;
		added++;
	}
	return added ? 0 : registry__fail(REGISTRY_EFORMAT, "gpg: a policy key holds no OpenPGP public key");
}

/* Importing public keys and verifying need no gpg-agent: tell gpg not to
 * start one in the temporary home (it would outlive the check). */
static int no_agent(const char *home)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/gpg.conf", home);
	FILE *f = fopen(path, "we");
	int ok = f && fputs("no-autostart\n", f) >= 0;
	if (f && fclose(f) != 0)
		ok = 0;
	return ok ? 0 : registry__fail(REGISTRY_EIO, "gpg: cannot write %s", path);
}

int registry__gpg_new(registry__gpg **out, const registry__requirement *req)
{
	*out = NULL;
	registry__gpg *g = registry__calloc(1, sizeof(*g));
	if (!g)
		return registry__nomem();
	const char *tmp = getenv("TMPDIR");
	snprintf(g->home, sizeof(g->home), "%s/libregistry-gpg-XXXXXX", tmp && *tmp && strlen(tmp) < 200 ? tmp : "/tmp");
	gpgme_check_version(NULL);
	gpgme_error_t err;
	int rc = 0;
	if (!mkdtemp(g->home)) {
		g->home[0] = '\0';
		rc = registry__fail(REGISTRY_EIO, "gpg: cannot create a temporary GNUPGHOME");
	} else if ((rc = no_agent(g->home))) {
		/* recorded */
	} else if ((err = gpgme_new(&g->ctx)) ||
	           (err = gpgme_ctx_set_engine_info(g->ctx, GPGME_PROTOCOL_OpenPGP, NULL, g->home))) {
		rc = gpg_fail(err, "starting gpgme");
	}
	for (size_t k = 0; !rc && k < req->n_keys; k++) {
		registry__buf buf = {0};
		const unsigned char *key;
		size_t key_len;
		if (!(rc = registry__key_bytes(&req->keys[k], &buf, &key, &key_len)))
			rc = import_key(g, key, key_len);
		registry__buf_free(&buf);
	}
	if (rc) {
		registry__gpg_free(g);
		return rc;
	}
	*out = g;
	return 0;
}

/* The primary fingerprint of the key that made @fpr's signature is one imported. */
static int trusted_signer(registry__gpg *g, const char *fpr)
{
	gpgme_key_t key = NULL;
	int ok = 0;
	if (!fpr || gpgme_get_key(g->ctx, fpr, &key, 0) != GPG_ERR_NO_ERROR)
		return 0;
	for (size_t i = 0; key && key->subkeys && i < g->n && !ok; i++)
		ok = strcmp(key->subkeys->fpr, g->fprs[i]) == 0;
	gpgme_key_unref(key);
	return ok;
}

int registry__gpg_verify(registry__gpg *g, const void *sig, size_t sig_len, char **payload, size_t *payload_len)
{
	gpgme_data_t in = NULL, plain = NULL;
	*payload = NULL;
	gpgme_error_t err = gpgme_data_new_from_mem(&in, sig, sig_len, 0);
	if (!err)
		err = gpgme_data_new(&plain);
	if (!err)
		err = gpgme_op_verify(g->ctx, in, NULL, plain);
	gpgme_data_release(in);
	int rc = 0;
	gpgme_verify_result_t r = err ? NULL : gpgme_op_verify_result(g->ctx);
	gpgme_signature_t s = r ? r->signatures : NULL;
	if (err)
		rc = registry__fail(REGISTRY_EDENIED, "gpg: not a valid signature: %s", gpgme_strerror(err));
	else if (!s || s->next)
		rc = registry__fail(REGISTRY_EDENIED, "gpg: the signature must hold exactly one signature");
	/* No public key: made by a key that is not the policy's (same verdict as an untrusted signer). */
	else if (gpgme_err_code(s->status) != GPG_ERR_NO_ERROR && gpgme_err_code(s->status) != GPG_ERR_NO_PUBKEY)
		rc = registry__fail(REGISTRY_EDENIED, "gpg: the signature does not verify: %s", gpgme_strerror(s->status));
	else if (s->summary & (GPGME_SIGSUM_KEY_REVOKED | GPGME_SIGSUM_KEY_EXPIRED | GPGME_SIGSUM_SIG_EXPIRED))
		rc = registry__fail(REGISTRY_EDENIED, "gpg: the key is revoked or expired, or the signature expired");
	else if (gpgme_err_code(s->status) == GPG_ERR_NO_PUBKEY || !trusted_signer(g, s->fpr))
		rc = registry__fail(REGISTRY_EDENIED, "gpg: signed by %.64s, not by a key of the policy",
		                    s->fpr ? s->fpr : "an unknown key");
	size_t n = 0;
	char *text = plain ? gpgme_data_release_and_get_mem(plain, &n) : NULL;
	if (!rc && !(*payload = registry__strndup(text ? text : "", n)))
		rc = registry__nomem();
	*payload_len = n;
	gpgme_free(text);
	return rc;
}

int registry__gpg_sign(char **sig, size_t *sig_len, const char *fingerprint, const void *data, size_t len)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_key_t key = NULL;
	gpgme_data_t in = NULL, out = NULL;
	*sig = NULL;
	*sig_len = 0;
	gpgme_check_version(NULL);
	gpgme_error_t err = gpgme_new(&ctx);
	int rc = 0;
	if (err)
		rc = gpg_fail(err, "starting gpgme");
	else if ((err = gpgme_get_key(ctx, fingerprint, &key, 1)) != GPG_ERR_NO_ERROR)
		rc = registry__fail(REGISTRY_ENOTFOUND, "gpg: no secret key %.64s in the keyring: %s", fingerprint,
		                    gpgme_strerror(err));
	else if ((err = gpgme_signers_add(ctx, key)) || (err = gpgme_data_new_from_mem(&in, data, len, 0)) ||
	         (err = gpgme_data_new(&out)) || (err = gpgme_op_sign(ctx, in, out, GPGME_SIG_MODE_NORMAL)))
		rc = gpg_fail(err, "signing");
	size_t n = 0;
	char *bytes = out ? gpgme_data_release_and_get_mem(out, &n) : NULL;
	if (!rc && !(*sig = malloc(n ? n : 1)))
		rc = registry__nomem();
	if (!rc && bytes) {
		memcpy(*sig, bytes, n);
		*sig_len = n;
	}
	gpgme_free(bytes);
	gpgme_data_release(in);
	gpgme_key_unref(key);
	if (ctx)
		gpgme_release(ctx);
	return rc;
}

#else

int registry__gpg_sign(char **sig, size_t *sig_len, const char *fingerprint, const void *data, size_t len)
{
	(void)fingerprint, (void)data, (void)len;
	*sig = NULL;
	*sig_len = 0;
	return registry__fail(REGISTRY_EUNSUPPORTED, "GPG signing needs libregistry built with gpgme");
}

void registry__gpg_free(registry__gpg *g)
{
	(void)g;
}

int registry__gpg_new(registry__gpg **out, const registry__requirement *req)
{
	(void)req;
	*out = NULL;
	return registry__fail(REGISTRY_EUNSUPPORTED, "GPG signatures (signedBy) need libregistry built with gpgme");
}

int registry__gpg_verify(registry__gpg *g, const void *sig, size_t sig_len, char **payload, size_t *payload_len)
{
	(void)g, (void)sig, (void)sig_len, (void)payload_len;
	*payload = NULL;
	return registry__fail(REGISTRY_EUNSUPPORTED, "GPG signatures (signedBy) need libregistry built with gpgme");
}

#endif

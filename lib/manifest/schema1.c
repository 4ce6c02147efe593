/*
 * Docker image manifest v2, schema 1.
 *
 * A signed schema1 document is "pretty JWS": the manifest, with a
 * "signatures" array spliced in before its closing brace. Each signature's
 * protected header (base64url JSON) says how to recover the signed payload:
 * the first formatLength bytes of the document followed by the base64url
 * formatTail (usually "\n}"). The payload is what the registry digests and
 * what the fields are read from, so the digest always names the content we
 * report. Signatures are not verified.
 *
 * fsLayers and history run top layer first; the model turns them base
 * first, and drops the layers whose history entry says "throwaway" (the
 * a3ed95caeb02... gzip of an empty tar that builders add for metadata-only
 * steps).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest/hash.h"
#include "manifest_impl.h"

#define MAX_SIGNATURES 64

static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* base64url, padding optional (libtrust adds it back before decoding). Caller frees *out. */
static int b64url_decode(const char *s, unsigned char **out, size_t *out_len)
{
	size_t len = strlen(s);
	while (len && s[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return -1;
	unsigned char *buf = malloc(len / 4 * 3 + 3);
	if (!buf)
		return registry__nomem();
	size_t n = 0;
	unsigned int acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_value((unsigned char)s[i]);
		if (v < 0) {
			free(buf);
			return -1;
		}
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	*out = buf;
	*out_len = n;
	return 0;
}

typedef struct jws_format {
	int64_t length;
	unsigned char *tail;
	size_t tail_len;
} jws_format;

static int read_protected(const cJSON *sig, const char *path, size_t doc_len, jws_format *f)
{
	const char *protected_b64, *signature;
	int rc;
	if (!cJSON_IsObject(sig))
		return registry__manifest_fail_field(REGISTRY_EFORMAT, path, "must be an object");
	if ((rc = registry__manifest_get_string(sig, "protected", path, 1, &protected_b64)) ||
	    (rc = registry__manifest_get_string(sig, "signature", path, 1, &signature)))
		return rc;
	const cJSON *header = cJSON_GetObjectItemCaseSensitive(sig, "header");
	if (header && !cJSON_IsObject(header))
		return registry__manifest_fail_field(REGISTRY_EFORMAT, path, "\"header\" must be an object");

	unsigned char *json;
	size_t json_len;
	if ((rc = b64url_decode(protected_b64, &json, &json_len)))
		return rc == REGISTRY_ENOMEM ? registry__fail(rc, "out of memory")
		                             : registry__manifest_fail_field(REGISTRY_EFORMAT, path,
		                                                    "\"protected\" is not base64url");
	cJSON *hdr = registry__manifest_parse_json((const char *)json, json_len, "manifest: protected header", &rc);
	free(json);
	if (!hdr)
		return rc;
	const char *tail_b64;
	int present;
	if (!cJSON_IsObject(hdr)) {
		rc = registry__manifest_fail_field(REGISTRY_EFORMAT, path, "protected header is not a JSON object");
	} else if ((rc = registry__manifest_get_int(hdr, "formatLength", path, &present, &f->length))) { // NOLINT(bugprone-branch-clone): each branch sets rc its way
		/* message set */
	} else if (!present) {
		rc = registry__manifest_fail_field(REGISTRY_EFORMAT, path, "protected header has no formatLength");
	} else if ((uint64_t)f->length > doc_len) {
		rc = registry__manifest_fail_field(REGISTRY_EFORMAT, path,
		                          "formatLength %lld is beyond the end of the %zu-byte document",
		                          (long long)f->length, doc_len);
	} else if ((rc = registry__manifest_get_string(hdr, "formatTail", path, 1, &tail_b64))) {
		/* message set */
	} else if ((rc = b64url_decode(tail_b64, &f->tail, &f->tail_len))) {
		rc = rc == REGISTRY_ENOMEM ? registry__fail(rc, "out of memory")
		                           : registry__manifest_fail_field(REGISTRY_EFORMAT, path, "formatTail is not base64url");
	}
	cJSON_Delete(hdr);
	return rc;
}

/* The JWS payload all signatures agree on; *payload is malloc'ed. */
static int jws_payload(const registry_manifest *m, const cJSON *sigs, size_t count, char **payload,
                       size_t *payload_len)
{
	jws_format first = { 0, NULL, 0 };
	size_t i = 0;
	int rc = 0;
	for (const cJSON *sig = sigs->child; sig && !rc; sig = sig->next, i++) {
		char path[40];
		snprintf(path, sizeof(path), "signatures[%zu]", i);
		jws_format f = { 0, NULL, 0 };
		if ((rc = read_protected(sig, path, m->raw_len, &f)))
			break;
		if (i == 0) {
			first = f;
			continue;
		}
		if (f.length != first.length || f.tail_len != first.tail_len ||
		    (f.tail_len && memcmp(f.tail, first.tail, f.tail_len) != 0))
			rc = registry__manifest_fail_field(REGISTRY_EFORMAT, path,
			                          "its formatLength/formatTail disagree with signatures[0]");
		free(f.tail);
	}
	(void)count;
	if (!rc) {
		size_t len = (size_t)first.length + first.tail_len;
		char *p = malloc(len + 1);
		if (!p) {
			rc = registry__fail(REGISTRY_ENOMEM, "out of memory");
		} else {
			memcpy(p, m->raw, (size_t)first.length);
			if (first.tail_len)
				memcpy(p + first.length, first.tail, first.tail_len);
			p[len] = '\0';
			*payload = p;
			*payload_len = len;
		}
	}
	free(first.tail);
	return rc;
}

/* For a signed document: digest the payload and swap the tree for the payload's. */
static int use_payload(registry_manifest *m, const cJSON *sigs, size_t count)
{
	char *payload = NULL;
	size_t len = 0;
	int rc = jws_payload(m, sigs, count, &payload, &len);
	if (rc)
		return rc;
	rc = registry__digest_buffer(m->digest, REGISTRY_DIGEST_SHA256, payload, len);
	cJSON *tree = NULL;
	if (!rc)
		tree = registry__manifest_parse_json(payload, len, "manifest: JWS payload", &rc);
	free(payload);
	if (!tree)
		return rc;
	if (!cJSON_IsObject(tree)) {
		cJSON_Delete(tree);
		return registry__fail(REGISTRY_EFORMAT, "manifest: the JWS payload is not a JSON object");
	}
	cJSON_Delete(m->tree);
	m->tree = tree;
	m->is_signed = 1;
	return 0;
}

static int read_throwaway(const char *v1, const char *path, int *throwaway)
{
	int rc;
	cJSON *doc = registry__manifest_parse_json(v1, strlen(v1), path, &rc);
	if (!doc)
		return rc;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, "throwaway");
	*throwaway = 0;
	if (!cJSON_IsObject(doc))
		rc = registry__manifest_fail_field(REGISTRY_EFORMAT, path, "is not a JSON object");
	else if (t && !cJSON_IsBool(t) && !cJSON_IsNull(t))
		rc = registry__manifest_fail_field(REGISTRY_EFORMAT, path, "\"throwaway\" must be a boolean");
	else
		*throwaway = cJSON_IsTrue(t);
	cJSON_Delete(doc);
	return rc;
}

static int read_layers(registry_manifest *m, const cJSON *fs, const cJSON *hist, size_t n)
{
	const char **blob = calloc(n, sizeof(*blob));
	m->history = calloc(n, sizeof(*m->history));
	m->history_throwaway = calloc(n, 1);
	m->layers = calloc(n, sizeof(*m->layers));
	if (!blob || !m->history || !m->history_throwaway || !m->layers) {
		free(blob);
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	}
	int rc = 0;
	const cJSON *f = fs->child, *h = hist->child;
	for (size_t i = 0; i < n && !rc; i++, f = f->next, h = h->next) {
		char path[48];
		int throwaway = 0;
		const char *v1;
		size_t base_first = n - 1 - i;
		snprintf(path, sizeof(path), "fsLayers[%zu]", i);
		if (!cJSON_IsObject(f)) {
			rc = registry__manifest_fail_field(REGISTRY_EFORMAT, path, "must be an object");
			break;
		}
		if ((rc = registry__manifest_get_digest(f, "blobSum", path, &blob[base_first])))
			break;
		snprintf(path, sizeof(path), "history[%zu]", i);
		if (!cJSON_IsObject(h)) {
			rc = registry__manifest_fail_field(REGISTRY_EFORMAT, path, "must be an object");
			break;
		}
		if ((rc = registry__manifest_get_string(h, "v1Compatibility", path, 1, &v1)))
			break;
		snprintf(path, sizeof(path), "history[%zu].v1Compatibility", i);
		if ((rc = read_throwaway(v1, path, &throwaway)))
			break;
		m->history[base_first] = v1;
		m->history_throwaway[base_first] = (unsigned char)throwaway;
	}
	m->history_count = rc ? 0 : n;
	for (size_t i = 0; i < n && !rc; i++) {
		if (m->history_throwaway[i])
			continue;
		registry_descriptor *d = &m->layers[m->layer_count++];
		d->media_type = REGISTRY_MEDIA_TYPE_DOCKER_LAYER;
		d->digest = blob[i];
		d->size = -1;
	}
	free(blob);
	return rc;
}

int registry__manifest_parse_schema1(registry_manifest *m, int declared_signed)
{
	const cJSON *sigs;
	size_t nsigs;
	int rc = registry__manifest_get_array(m->tree, "signatures", "", 0, MAX_SIGNATURES, &sigs, &nsigs);
	if (rc)
		return rc;
	if (sigs && nsigs == 0)
		return registry__manifest_fail_field(REGISTRY_EFORMAT, "signatures", "is empty");
	if (sigs) {
		if ((rc = use_payload(m, sigs, nsigs)))
			return rc;
	} else if (declared_signed) {
		return registry__fail(REGISTRY_EFORMAT, "manifest: served as %s but has no signatures",
		                      REGISTRY_MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED);
	} else if ((rc = registry__digest_buffer(m->digest, REGISTRY_DIGEST_SHA256, m->raw,
	                                         m->raw_len))) {
		return rc;
	}

	/* From here on m->tree is what the digest covers. */
	const cJSON *doc = m->tree;
	int present;
	int64_t version;
	if ((rc = registry__manifest_get_int(doc, "schemaVersion", "", &present, &version)))
		return rc;
	if (!present || version != 1)
		return registry__manifest_fail_field(REGISTRY_EFORMAT, "schemaVersion", "the signed payload is not schemaVersion 1");
	if ((rc = registry__manifest_get_string(doc, "name", "", 0, &m->name)) ||
	    (rc = registry__manifest_get_string(doc, "tag", "", 0, &m->tag)) ||
	    (rc = registry__manifest_get_string(doc, "architecture", "", 0, &m->architecture)))
		return rc;
	const cJSON *fs, *hist;
	size_t nfs, nhist;
	if ((rc = registry__manifest_get_array(doc, "fsLayers", "", 1, MANIFEST_MAX_ENTRIES, &fs, &nfs)) ||
	    (rc = registry__manifest_get_array(doc, "history", "", 1, MANIFEST_MAX_ENTRIES, &hist, &nhist)))
		return rc;
	if (nfs == 0)
		return registry__manifest_fail_field(REGISTRY_EFORMAT, "fsLayers", "is empty");
	if (nfs != nhist)
		return registry__manifest_fail_field(REGISTRY_EFORMAT, "history", "has %zu entries but fsLayers has %zu",
		                            nhist, nfs);
	m->kind = REGISTRY_MANIFEST_IMAGE;
	return read_layers(m, fs, hist, nfs);
}

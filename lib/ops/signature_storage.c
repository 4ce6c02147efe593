/*
 * The registry's own storage of simple signing signatures: the
 * "X-Registry-Supports-Signatures" API extension (OpenShift's registry).
 * containers/image uses it instead of lookaside storage when the
 * registry's /v2/ answer carries `X-Registry-Supports-Signatures: 1`;
 * signatures are then read from, and added to,
 * /extensions/v2/REPO/signatures/DIGEST:
 *
 *   {"signatures":[{"schemaVersion":2,"type":"atomic","name":"DIGEST@ID","content":"<base64>"}]}
 *
 * (the field is "schemaVersion", as containers/image and OpenShift's
 * registry write it). Only schemaVersion 2 "atomic" entries are
 * signatures; others are skipped, as containers/image skips them. The list is the registry's word: bounded
 * (4 MiB, REGISTRY_VERIFY_SIGNATURES_MAX signatures, each at most
 * REGISTRY__SIGNATURE_MAX), and every signature is still verified.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "ops_impl.h"
#include "transport/transport.h"
#include "trust/trust_impl.h"

/* containers/image's bound on the list (iolimits.MaxSignatureListBodySize). */
#define SIG_LIST_MAX ((size_t)4 << 20)

int registry__signature_storage_supported(int *yes, registry_client *c)
{
	registry__request req = {.url = "/v2/"};
	registry__response resp;
	registry__response_init(&resp);
	int rc = registry__client_do(c, &req, &resp);
	if (!rc && resp.status != 200)
		rc = registry__response_fail(&resp, "asking the registry for its API extensions");
	*yes = !rc && resp.supports_signatures && strcmp(resp.supports_signatures, "1") == 0;
	registry__response_free(&resp);
	return rc;
}

/* The schemaVersion 2 "atomic" entries of the list; NULL-safe. */
static int is_signature(const cJSON *e)
{
	const cJSON *version = cJSON_GetObjectItemCaseSensitive(e, "schemaVersion");
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "type");
	return cJSON_IsNumber(version) && version->valuedouble == 2 && cJSON_IsString(type) &&
	       strcmp(type->valuestring, "atomic") == 0;
}

/* Entry @e's content, decoded from base64 into *out (malloc'ed, bounded). */
static int decode_content(unsigned char **out, size_t *len, const cJSON *e)
{
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(e, "content");
	size_t n = cJSON_IsString(content) ? strlen(content->valuestring) : 0;
	*out = NULL;
	*len = 0;
	if (!n)
		return registry__fail(REGISTRY_EFORMAT, "an entry without \"content\"");
	if (n / 4 * 3 > REGISTRY__SIGNATURE_MAX)
		return registry__fail(REGISTRY_ETOOLARGE, "a signature larger than %zu bytes", REGISTRY__SIGNATURE_MAX);
	if (!(*out = malloc(n / 4 * 3 + 3)))
		return registry__nomem();
	if (sodium_base642bin(*out, n / 4 * 3 + 3, content->valuestring, n, NULL, len, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 || *len == 0)
		return registry__fail(REGISTRY_EFORMAT, "\"content\" is not base64");
	return 0;
}

static int each_signature(const cJSON *list, const char *where, registry__signature_cb each, void *ud)
{
	char source[REGISTRY_DIGEST_STRING_MAX + 1024];
	size_t n = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, list)
		n += (size_t)is_signature(e);
	if (n > REGISTRY_VERIFY_SIGNATURES_MAX)
		return registry__fail(REGISTRY_EDENIED, "%s holds %zu signatures, more than the %d examined", where, n,
		                      REGISTRY_VERIFY_SIGNATURES_MAX);
	int rc = REGISTRY_ENOTFOUND, i = 0;
	cJSON_ArrayForEach(e, list) {
		if (!is_signature(e))
			continue;
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
		snprintf(source, sizeof(source), "%s #%d %.200s", where, ++i, cJSON_IsString(name) ? name->valuestring : "");
		unsigned char *sig = NULL;
		size_t len = 0;
		int bad = decode_content(&sig, &len, e);
		rc = each(bad ? NULL : sig, len, source, bad, ud);
		free(sig);
		if (rc != 1)
			break;
	}
	return rc;
}

int registry__signature_storage_each(registry_client *c, const char *repository, const char *digest,
                                     registry__signature_cb each, void *ud)
{
	char path[REGISTRY_DIGEST_STRING_MAX + 600], scope[600], where[REGISTRY_DIGEST_STRING_MAX + 700];
	snprintf(path, sizeof(path), "/extensions/v2/%s/signatures/%s", repository, digest);
	snprintf(scope, sizeof(scope), "repository:%s:pull", repository);
	snprintf(where, sizeof(where), "the registry's signature storage %s", path);
	registry__request req = {.url = path, .scope = scope, .body_limit = SIG_LIST_MAX};
	registry__response resp;
	registry__response_init(&resp);
	int rc = registry__client_do(c, &req, &resp);
	if (rc == REGISTRY_ETOOLARGE)
		rc = registry__fail(rc, "%s: a list larger than %zu bytes", where, SIG_LIST_MAX);
	else if (!rc && resp.status == 404)
		rc = REGISTRY_ENOTFOUND; /* no signature stored for the image */
	else if (!rc && resp.status != 200)
		rc = registry__response_fail(&resp, where);
	cJSON *doc = rc ? NULL : cJSON_ParseWithLength(resp.body.data ? resp.body.data : "", resp.body.len);
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "signatures");
	if (!rc && !cJSON_IsArray(list))
		rc = registry__fail(REGISTRY_EFORMAT, "%s: not a JSON object with a \"signatures\" array", where);
	if (!rc)
		rc = each_signature(list, where, each, ud);
	cJSON_Delete(doc);
	registry__response_free(&resp);
	return rc;
}

int registry__signature_storage_put(registry_client *c, const char *repository, const char *digest, const void *sig,
                                    size_t len)
{
	char path[REGISTRY_DIGEST_STRING_MAX + 600], scope[600], id[33];
	unsigned char random[16];
	snprintf(path, sizeof(path), "/extensions/v2/%s/signatures/%s", repository, digest);
	snprintf(scope, sizeof(scope), "repository:%s:pull,push", repository);
	randombytes_buf(random, sizeof(random));
	sodium_bin2hex(id, sizeof(id), random, sizeof(random));
	/* A fresh name: the storage only ever adds (containers/image names them so too). */
	size_t b64_len = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(b64_len);
	registry__buf body;
	registry__buf_init(&body, 0);
	int rc = b64 ? 0 : registry__nomem();
	if (!rc) {
		sodium_bin2base64(b64, b64_len, sig, len, sodium_base64_VARIANT_ORIGINAL);
		rc = registry__buf_printf(&body, "{\"schemaVersion\":2,\"type\":\"atomic\",\"name\":\"%s@%s\","
		                                 "\"content\":\"%s\"}", digest, id, b64) ? registry__nomem() : 0;
	}
	static const char *const json[] = {"Content-Type: application/json", NULL};
	registry__request req = {.method = "PUT", .url = path, .scope = scope, .headers = json, .body = body.data,
	                         .body_len = body.len};
	registry__response resp;
	registry__response_init(&resp);
	if (!rc)
		rc = registry__client_do(c, &req, &resp);
	if (!rc && resp.status != 201)
		rc = registry__response_fail(&resp, "adding a signature to the registry's signature storage");
	registry__response_free(&resp);
	registry__buf_free(&body);
	free(b64);
	return rc;
}

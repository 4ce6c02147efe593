/* Registry answers → error codes: HTTP status, the registry's error JSON
 * ({"errors":[{"code","message","detail"}]}), Retry-After. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "transport.h"

int registry__status_to_error(long status)
{
	switch (status) {
	case 401: return REGISTRY_EAUTH;
	case 403: return REGISTRY_EDENIED;
	case 404: return REGISTRY_ENOTFOUND;
	case 405: return REGISTRY_EUNSUPPORTED;
	case 409: return REGISTRY_ECONFLICT;
	case 413: return REGISTRY_ETOOLARGE;
	case 416: return REGISTRY_EPROTOCOL;
	case 429: return REGISTRY_ERATELIMIT;
	default:
		if (status >= 500)
			return REGISTRY_ESERVER; /* not EIO: that is our own disk */
		return REGISTRY_EPROTOCOL;
	}
}

int registry__registry_code_to_error(const char *code)
{
	static const struct {
		const char *code;
		int error;
	} table[] = {
		{"UNAUTHORIZED", REGISTRY_EAUTH},
		{"DENIED", REGISTRY_EDENIED},
		{"NAME_UNKNOWN", REGISTRY_ENOTFOUND},
		{"TOOMANYREQUESTS", REGISTRY_ERATELIMIT},
		{"DIGEST_INVALID", REGISTRY_EDIGEST},
		{"UNSUPPORTED", REGISTRY_EUNSUPPORTED},
		{"SIZE_INVALID", REGISTRY_EFORMAT},
		{"NAME_INVALID", REGISTRY_EFORMAT},
		{"TAG_INVALID", REGISTRY_EFORMAT},
		{"MANIFEST_INVALID", REGISTRY_EFORMAT},
		{"MANIFEST_UNVERIFIED", REGISTRY_EFORMAT},
		{"MANIFEST_BLOB_UNKNOWN", REGISTRY_ENOTFOUND},
		{"BLOB_UPLOAD_INVALID", REGISTRY_EPROTOCOL},
		{"PAGINATION_NUMBER_INVALID", REGISTRY_EINVAL},
		{"RANGE_INVALID", REGISTRY_EPROTOCOL},
	};
	if (!code || !*code)
		return 0;
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(table); i++)
		if (strcmp(code, table[i].code) == 0)
			return table[i].error;
	size_t n = strlen(code);
	if (n > 8 && strcmp(code + n - 8, "_UNKNOWN") == 0)
		return REGISTRY_ENOTFOUND;
	return 0;
}

int registry__response_fail(const registry__response *resp, const char *what)
{
	int code = registry__status_to_error(resp->status);
	const char *rcode = NULL, *rmsg = NULL;
	char *detail = NULL;
	cJSON *root = NULL;
	if (resp->body.len && !resp->body_truncated)
		root = cJSON_ParseWithLength(resp->body.data, resp->body.len);
	const cJSON *errs = cJSON_GetObjectItemCaseSensitive(root, "errors");
	const cJSON *first = cJSON_IsArray(errs) ? cJSON_GetArrayItem(errs, 0) : NULL;
	if (cJSON_IsObject(first)) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(first, "code");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(first, "message");
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(first, "detail");
		rcode = cJSON_IsString(c) ? c->valuestring : NULL;
		rmsg = cJSON_IsString(m) ? m->valuestring : NULL;
		if (d && !cJSON_IsNull(d))
			detail = cJSON_PrintUnformatted(d);
		int mapped = registry__registry_code_to_error(rcode);
		if (mapped)
			code = mapped;
	}
	char url[512];
	snprintf(url, sizeof(url), "%s", resp->url ? resp->url : "");
	url[strcspn(url, "?")] = '\0';
	if (rcode)
		registry__fail(code, "%s: HTTP %ld %s: %.300s", what, resp->status, rcode,
		               rmsg ? rmsg : "");
	else
		registry__fail(code, "%s: HTTP %ld from %s", what, resp->status, url);
	registry__error_set_http((int)resp->status, url);
	registry__error_set_registry(rcode, detail);
	free(detail);
	cJSON_Delete(root);
	return code;
}

long registry__retry_after_ms(const char *value, time_t now)
{
	if (!value || !*value)
		return -1;
	char *end;
	long long secs = strtoll(value, &end, 10);
	if (end != value && *end == '\0') {
		if (secs < 0)
			return -1;
		return secs > 86400 ? 86400L * 1000 : (long)secs * 1000;
	}
	time_t when = curl_getdate(value, NULL);
	if (when == (time_t)-1)
		return -1;
	if (when <= now)
		return 0;
	long long d = (long long)(when - now);
	return d > 86400 ? 86400L * 1000 : (long)d * 1000;
}

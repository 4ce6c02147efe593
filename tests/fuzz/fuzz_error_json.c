/*
 * Fuzz target "error_json": a registry's failure response. The first two
 * bytes pick the HTTP status (100..599) and whether the body was cut at the
 * cap; the rest is the body ({"errors":[{"code","message","detail"}]} or
 * anything). The failure recorded must carry a REGISTRY_E code, the status,
 * the URL without its query, a message that fits, and the status's own code
 * whenever the body names no known registry code. Two URLs that differ only
 * in their query (where upload state and signatures sit) must give the same
 * record: the query never reaches a message.
 */
#include "fuzz_common.h"
#include "transport/transport.h"

typedef struct record {
	int rc, status;
	char msg[1024], code[128], detail[512], url[512];
} record;

static void fail_once(record *r, const uint8_t *data, size_t size, const char *url)
{
	long status = 100 + (long)(((unsigned)data[0] << 8 | data[1]) % 500);
	registry__response resp;
	registry__response_init(&resp);
	resp.status = status;
	resp.url = registry__strdup(url);
	require(resp.url != NULL);
	int rc = registry__buf_append(&resp.body, data + 2, size - 2);
	if (rc == REGISTRY_ETOOLARGE)
		resp.body_truncated = 1;
	else
		require(rc == 0);
	resp.body_truncated |= (data[1] & 0x80) && size > 2 && (data[0] & 1);

	registry__error_clear();
	rc = registry__response_fail(&resp, "fuzzing a failure");
	require(rc < 0 && rc >= REGISTRY_ESERVER);
	fuzz_check_error(rc);
	const registry_error *e = registry_error_last();
	require(registry_error_http_status(e) == (int)status);
	require(strcmp(registry_error_url(e), "https://127.0.0.1:5000/v2/a/blobs/uploads/x") == 0);
	const char *code = registry_error_registry_code(e);
	require(strlen(code) < 128 && strlen(registry_error_detail(e)) < 512);
	/* (a code cut to fit the record may have lost the suffix that mapped it) */
	if (!*code || (strlen(code) < 127 && !registry__registry_code_to_error(code)))
		require(rc == registry__status_to_error(status));
	r->rc = rc;
	r->status = registry_error_http_status(e);
	snprintf(r->msg, sizeof(r->msg), "%s", registry_error_message(e));
	snprintf(r->code, sizeof(r->code), "%s", code);
	snprintf(r->detail, sizeof(r->detail), "%s", registry_error_detail(e));
	snprintf(r->url, sizeof(r->url), "%s", registry_error_url(e));
	registry__response_free(&resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	record a, b;
	fail_once(&a, data, size, "https://127.0.0.1:5000/v2/a/blobs/uploads/x?_state=first-state");
	fail_once(&b, data, size, "https://127.0.0.1:5000/v2/a/blobs/uploads/x?_state=other&sig=zz");
	require(a.rc == b.rc && a.status == b.status && strcmp(a.msg, b.msg) == 0 &&
	        strcmp(a.code, b.code) == 0 && strcmp(a.detail, b.detail) == 0 && strcmp(a.url, b.url) == 0);
	return 0;
}

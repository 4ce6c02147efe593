/*
 * Fuzz target "headers": a response's header section, one line per input
 * line, through the parser the transfer engines use. A line is taken or
 * refused with REGISTRY_EPROTOCOL (a header we read over the limit, a
 * Content-Length that is not a number of bytes); known headers must
 * come out as NUL-terminated values without CR or LF, Content-Length
 * non-negative or absent, the joined WWW-Authenticate within its cap, and
 * the values then survive the parsers that read them (challenges, Link,
 * Retry-After, Content-Range as a string).
 */
#include "fuzz_common.h"
#include "ops/list_impl.h"
#include "transport/client_impl.h"

static registry_client *client;

static void clean(const char *v)
{
	if (v)
		require(strpbrk(v, "\r\n") == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!client)
		require(registry_client_new(&client, "127.0.0.1:5000") == 0);
	registry__response resp;
	registry__response_init(&resp);
	const char *p = (const char *)data, *end = p + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		/* An exact-size copy, as curl hands each line. */
		char *line = malloc(len ? len : 1);
		require(line != NULL);
		memcpy(line, p, len);
		int rc = registry__header_line(client, &resp, line, len);
		free(line);
		/* Refused (too large, a length that is no number): the response
		 * is dropped, as the transfer is aborted. */
		require(rc == 0 || rc == REGISTRY_EPROTOCOL);
		if (rc)
			break;
		p += len;
	}
	const char *fields[] = {resp.content_type, resp.docker_content_digest, resp.location, resp.link,
	                        resp.range, resp.www_authenticate, resp.retry_after,
	                        resp.oci_chunk_min_length, resp.content_range};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		clean(fields[i]);
	require(resp.content_length >= -1);
	require(client->rate_limit >= -1 && client->rate_remaining >= -1);
	if (resp.www_authenticate) {
		require(strlen(resp.www_authenticate) < 8192);
		registry__challenges ch;
		if (registry__challenges_parse(&ch, resp.www_authenticate) == 0)
			registry__challenges_free(&ch);
	}
	if (resp.link) {
		char *next = NULL;
		if (registry__list_next_url("https://127.0.0.1:5000/v2/a/tags/list", resp.link, &next) == 0 && next)
			require(strncmp(next, "https://", 8) == 0);
		free(next);
	}
	if (resp.retry_after) {
		long ms = registry__retry_after_ms(resp.retry_after, 1700000000);
		require(ms >= -1 && ms <= 86400L * 1000);
	}
	registry__response_free(&resp);
	return 0;
}

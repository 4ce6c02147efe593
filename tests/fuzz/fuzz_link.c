/*
 * Fuzz target "link": a Link header value (RFC 8288) naming the next page of
 * a list. A target found must be the text between one '<' and '>' of the
 * header; a next-page URL must be http(s), never a step down from https;
 * following the same header from the page it names must not loop without
 * the seen set noticing.
 */
#include <strings.h>

#include "fuzz_common.h"
#include "ops/list_impl.h"

static void follow(const char *base, const char *link, int https)
{
	registry__url_set seen;
	registry__url_set_init(&seen);
	require(registry__url_set_add(&seen, base) == 0);
	require(registry__url_set_add(&seen, base) == 1);
	char *url = registry__strdup(base);
	require(url != NULL);
	for (int hop = 0; hop < 4; hop++) {
		char *next = NULL;
		int rc = registry__list_next_url(url, link, &next);
		if (rc) {
			require(next == NULL && (rc == REGISTRY_EPROTOCOL || rc == REGISTRY_ENOMEM));
			fuzz_check_error(rc);
			break;
		}
		if (!next)
			break;
		if (https)
			require(strncmp(next, "https://", 8) == 0);
		else
			require(strncmp(next, "http://", 7) == 0 || strncmp(next, "https://", 8) == 0);
		int again = registry__url_set_add(&seen, next);
		require(again == 0 || again == 1);
		free(url);
		url = next;
		if (again)
			break;
	}
	free(url);
	registry__url_set_free(&seen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	if (!text)
		return 0;
	char *target = NULL;
	int rc = registry__link_next(text, &target);
	if (rc) {
		require(target == NULL && (rc == REGISTRY_EPROTOCOL || rc == REGISTRY_ENOMEM));
		fuzz_check_error(rc);
	} else if (target) {
		require(strchr(target, '>') == NULL);
		size_t n = strlen(target);
		char *quoted = malloc(n + 3);
		require(quoted != NULL);
		quoted[0] = '<';
		memcpy(quoted + 1, target, n);
		quoted[n + 1] = '>';
		quoted[n + 2] = '\0';
		require(strstr(text, quoted) != NULL);
		free(quoted);
		free(target);
	}
	follow("https://127.0.0.1:5000/v2/a/tags/list?n=10", text, 1);
	follow("http://127.0.0.1:5000/v2/_catalog?n=2&last=b", text, 0);
	free(text);
	return 0;
}

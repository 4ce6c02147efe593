/*
 * Fuzz target: what a registry sends for one page of a paged list. The
 * input is split at the first newline: the Link header value, then the
 * body. The body is read as a tags page and as a catalog page; the header
 * as a next-page link against a fixed base URL. Accepted names must be
 * valid tags or repository names; refused input must leave a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "ops/list_impl.h"

static void check_message(void)
{
	const char *msg = registry_error_message(registry_error_last());
	size_t n = strlen(msg);
	if (n == 0 || n > 600)
		abort();
}

static void check_page(const char *body, size_t len, int tags)
{
	char **names = NULL;
	size_t count = 0;
	int rc = registry__list_parse_page(body, len, tags ? "tags" : "repositories", tags, "fuzz", &names,
	                                   &count);
	if (rc) {
		if (names || count || (rc != REGISTRY_EFORMAT && rc != REGISTRY_ENOMEM))
			abort();
		check_message();
		return;
	}
	if (!names || names[count])
		abort();
	for (size_t i = 0; i < count; i++)
		if ((tags ? registry_reference_validate_tag(names[i])
		          : registry_reference_validate_repository(names[i])) != 0)
			abort();
	registry__list_names_free(names);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hlen = nl ? (size_t)(nl - data) : size;
	char *header = malloc(hlen + 1);
	if (!header)
		return 0;
	memcpy(header, data, hlen);
	header[hlen] = '\0';
	char *next = NULL;
	int rc = registry__list_next_url("https://127.0.0.1:5000/v2/a/tags/list?n=10", header, &next);
	if (rc) {
		if (next || (rc != REGISTRY_EPROTOCOL && rc != REGISTRY_ENOMEM))
			abort();
		check_message();
	} else if (next && strncmp(next, "https://", 8) != 0) {
		abort(); /* never a step down from https, never another scheme */
	}
	free(next);
	free(header);

	const char *body = nl ? (const char *)nl + 1 : "";
	size_t blen = nl ? size - hlen - 1 : 0;
	check_page(body, blen, 1);
	check_page(body, blen, 0);
	return 0;
}

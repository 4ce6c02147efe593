/*
 * Fuzz target: reference parsing. For every accepted input, calls each
 * accessor and checks that the canonical and familiar forms and the parts
 * (through registry_reference_new) all give back the same reference; for
 * every refused one, that the message is short and printable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "digest/hash.h"
#include "internal.h"

static void check_message(void)
{
	const char *msg = registry_error_message(registry_error_last());
	size_t n = strlen(msg);
	if (n == 0 || n > 400)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] == 0x7f)
			abort();
}

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_equal(const registry_reference *a, const registry_reference *b)
{
	if (!same(registry_reference_registry(a), registry_reference_registry(b)) ||
	    !same(registry_reference_api_host(a), registry_reference_api_host(b)) ||
	    !same(registry_reference_repository(a), registry_reference_repository(b)) ||
	    !same(registry_reference_tag(a), registry_reference_tag(b)) ||
	    !same(registry_reference_digest(a), registry_reference_digest(b)) ||
	    !same(registry_reference_string(a), registry_reference_string(b)) ||
	    !same(registry_reference_familiar(a), registry_reference_familiar(b)))
		abort();
}

static void check_reference(const registry_reference *ref)
{
	const char *reg = registry_reference_registry(ref);
	const char *repo = registry_reference_repository(ref);
	const char *tag = registry_reference_tag(ref);
	const char *digest = registry_reference_digest(ref);
	const char *str = registry_reference_string(ref);
	if (!reg || !repo || !str || !registry_reference_familiar(ref) || !registry_reference_api_host(ref))
		abort();
	if (!tag && !digest)
		abort();
	if (strlen(reg) + 1 + strlen(repo) > REGISTRY_REFERENCE_NAME_MAX)
		abort();
	if (registry_reference_validate_repository(repo) != 0)
		abort();
	if (tag && registry_reference_validate_tag(tag) != 0)
		abort();
	if (digest && registry_digest_validate(digest) != 0)
		abort();
	if (strncmp(str, reg, strlen(reg)) != 0 || str[strlen(reg)] != '/')
		abort();

	const char *forms[] = { str, registry_reference_familiar(ref) };
	for (size_t i = 0; i < 2; i++) {
		registry_reference *again = NULL;
		if (registry_reference_parse(&again, forms[i]) != 0)
			abort();
		check_equal(ref, again);
		registry_reference_free(again);
	}
	registry_reference *built = NULL;
	if (registry_reference_new(&built, reg, repo, tag, digest) != 0)
		abort();
	check_equal(ref, built);
	registry_reference *copy = NULL;
	if (registry_reference_dup(&copy, ref) != 0 || registry_reference_equal(copy, ref) != 1 ||
	    registry_reference_equal(built, ref) != 1)
		abort();
	check_equal(ref, copy);
	registry_reference_free(copy);
	registry_reference_free(built);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	registry_reference *ref = NULL;
	int rc = registry_reference_parse(&ref, text);
	if (rc == 0) {
		if (!ref)
			abort();
		check_reference(ref);
	} else {
		if (ref || (rc != REGISTRY_EFORMAT && rc != REGISTRY_EUNSUPPORTED))
			abort();
		check_message();
	}
	registry_reference_free(ref);

	/* The standalone validators on the same bytes: no crash, a message on failure. */
	if (registry_reference_validate_repository(text) != 0)
		check_message();
	if (registry_reference_validate_tag(text) != 0)
		check_message();
	free(text);
	return 0;
}

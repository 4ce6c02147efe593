/*
 * Fuzz target: digest validation on untrusted bytes. Checks that the
 * length-based and string validators agree, that an accepted digest is safe
 * as a file name and compares equal to itself only, that messages stay
 * short and printable, and that both hash backends agree on the input.
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
	if (n > 400)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] == 0x7f)
			abort();
}

static void hash_both(int algorithm, const uint8_t *data, size_t size)
{
	char a[REGISTRY_DIGEST_STRING_MAX], b[REGISTRY_DIGEST_STRING_MAX];
	registry__hash h;
	if (registry__hash_init_backend(&h, algorithm, REGISTRY__BACKEND_SODIUM))
		abort();
	/* Two updates, split in the middle, against one for the other backend. */
	registry__hash_update(&h, data, size / 2);
	registry__hash_update(&h, data + size / 2, size - size / 2);
	if (registry__hash_final(&h, a))
		abort();
	registry__hash_cleanup(&h);
	if (!registry__hash_backend_available(REGISTRY__BACKEND_OPENSSL))
		return;
	if (registry__hash_init_backend(&h, algorithm, REGISTRY__BACKEND_OPENSSL))
		abort();
	registry__hash_update(&h, data, size);
	if (registry__hash_final(&h, b))
		abort();
	registry__hash_cleanup(&h);
	if (strcmp(a, b) != 0 || registry_digest_validate(a) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (registry_global_init())
		abort();
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	int rc_len = registry__digest_validate_len((const char *)data, size);
	check_message();
	int rc = registry_digest_validate(s);
	check_message();
	if (rc != 0 && rc != REGISTRY_EFORMAT && rc != REGISTRY_EUNSUPPORTED)
		abort();
	if (!memchr(data, '\0', size) && rc != rc_len)
		abort();
	if (memchr(data, '\0', size) && rc_len != REGISTRY_EFORMAT)
		abort();

	if (rc == 0) {
		int alg = registry__digest_algorithm(s);
		const char *hex = registry__digest_hex(s);
		if (!alg || !hex || strlen(s) != registry__digest_string_length(alg))
			abort();
		for (const char *p = hex; *p; p++)
			if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
				abort();
		if (registry_digest_compare(s, s) != 0)
			abort();
		/* Any change to one character is a mismatch. */
		char *t = strdup(s);
		size_t last = strlen(t) - 1; /* the input may go on after a NUL */
		t[last] = t[last] == '0' ? '1' : '0';
		if (registry_digest_compare(s, t) != REGISTRY_EDIGEST)
			abort();
		check_message();
		free(t);
	} else if (registry_digest_compare(s, "sha256:x") != rc) {
		abort(); /* an invalid expected digest fails as validation did */
	}

	hash_both(REGISTRY_DIGEST_SHA256, data, size);
	hash_both(REGISTRY_DIGEST_SHA512, data, size);
	free(s);
	return 0;
}

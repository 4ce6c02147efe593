/*
 * Digest strings from untrusted sources: validation (the only gate before a
 * digest becomes part of a file name) and constant-time comparison.
 */
#include <stdio.h>
#include <string.h>

#include "hash.h"
#include "internal.h"

#define EXCERPT_MAX 80


static int is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* OCI: algorithm-component ([+._-] algorithm-component)*, components [a-z0-9]+. */
static int algorithm_well_formed(const char *s, size_t len)
{
	int need_alnum = 1;
	for (size_t i = 0; i < len; i++) {
		if (is_lower_alnum(s[i]))
			need_alnum = 0;
		else if (!need_alnum && strchr("+._-", s[i]))
			need_alnum = 1;
		else
			return 0;
	}
	return !need_alnum;
}

/* OCI: encoded := [a-zA-Z0-9=_-]+ ; returns the offset of the first bad byte or len. */
static size_t encoded_bad_offset(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '=' || c == '_' || c == '-'))
			return i;
	}
	return len;
}

static int check_hex(const char *alg, const char *hex, size_t len, size_t want)
{
	for (size_t i = 0; i < len; i++) {
		char c = hex[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			char d[8];
			registry__describe_char(d, (unsigned char)c);
			return registry__fail(REGISTRY_EFORMAT,
			                      "%s digest: invalid character %s at offset %zu of the hex part "
			                      "(only lowercase 0-9a-f)", alg, d, i);
		}
	}
	if (len != want)
		return registry__fail(REGISTRY_EFORMAT,
		                      "%s digest: hex part has %zu characters, must have %zu",
		                      alg, len, want);
	return 0;
}

/* The OCI grammar, with sha256 and sha512 held to their exact form; *known
 * tells whether the algorithm is one we implement. */
static int check_grammar(const char *s, size_t len, int *known)
{
	char ex[EXCERPT_MAX + 4];
	*known = 0;
	if (!s)
		return registry__fail(REGISTRY_EINVAL, "NULL digest");
	if (len == 0)
		return registry__fail(REGISTRY_EFORMAT, "digest is empty");
	const char *nul = memchr(s, '\0', len);
	if (nul)
		return registry__fail(REGISTRY_EFORMAT, "digest contains a NUL byte at offset %zu",
		                      (size_t)(nul - s));
	const char *colon = memchr(s, ':', len);
	if (!colon) {
		registry__excerpt(ex, sizeof(ex), s, len);
		return registry__fail(REGISTRY_EFORMAT,
		                      "digest \"%s\" has no ':' between algorithm and hex", ex);
	}
	size_t alg_len = (size_t)(colon - s);
	const char *enc = colon + 1;
	size_t enc_len = len - alg_len - 1;
	if (alg_len == 0)
		return registry__fail(REGISTRY_EFORMAT, "digest algorithm (before ':') is empty");
	*known = 1;
	if (alg_len == 6 && memcmp(s, "sha256", 6) == 0)
		return check_hex("sha256", enc, enc_len, (size_t)2 * REGISTRY__SHA256_BYTES);
	if (alg_len == 6 && memcmp(s, "sha512", 6) == 0)
		return check_hex("sha512", enc, enc_len, (size_t)2 * REGISTRY__SHA512_BYTES);
	*known = 0;

	registry__excerpt(ex, sizeof(ex), s, alg_len);
	if (!algorithm_well_formed(s, alg_len))
		return registry__fail(REGISTRY_EFORMAT,
		                      "digest algorithm \"%s\" is malformed (lowercase letters and digits, "
		                      "joined by one of + . _ -)", ex);
	if (enc_len == 0)
		return registry__fail(REGISTRY_EFORMAT, "digest encoded part (after ':') is empty");
	size_t bad = encoded_bad_offset(enc, enc_len);
	if (bad < enc_len) {
		char d[8];
		registry__describe_char(d, (unsigned char)enc[bad]);
		return registry__fail(REGISTRY_EFORMAT,
		                      "digest encoded part: invalid character %s at offset %zu", d, bad);
	}
	return 0;
}

int registry__digest_validate_len(const char *s, size_t len)
{
	int known = 0;
	int rc = check_grammar(s, len, &known);
	if (rc || known)
		return rc;
	char ex[EXCERPT_MAX + 4];
	registry__excerpt(ex, sizeof(ex), s, (size_t)((const char *)memchr(s, ':', len) - s));
	return registry__fail(REGISTRY_EUNSUPPORTED,
	                      "unsupported digest algorithm \"%s\" (sha256 and sha512 are supported)", ex);
}

int registry__digest_validate_grammar(const char *s, size_t len)
{
	int known = 0;
	int rc = check_grammar(s, len, &known);
	/* Our buffers for a digest string hold sha512's; a longer one is no
	 * algorithm anybody uses, and we could not carry it. */
	if (!rc && len >= REGISTRY_DIGEST_STRING_MAX) {
		char ex[EXCERPT_MAX + 4];
		registry__excerpt(ex, sizeof(ex), s, len);
		rc = registry__fail(REGISTRY_EFORMAT, "digest \"%s\" has %zu characters, at most %d", ex, len,
		                    REGISTRY_DIGEST_STRING_MAX - 1);
	}
	return rc;
}

int registry_digest_validate(const char *digest)
{
	REGISTRY__ENTER(rc);
	if (!digest)
		return registry__fail(REGISTRY_EINVAL, "NULL digest");
	return registry__digest_validate_len(digest, strlen(digest));
}

int registry_digest_compare(const char *expected, const char *actual)
{
	REGISTRY__ENTER(rc);
	if (!expected || !actual)
		return registry__fail(REGISTRY_EINVAL, "NULL digest");
	size_t len = strlen(expected);
	if ((rc = registry__digest_validate_len(expected, len)))
		return rc;
	/* Lengths are public (they follow from the algorithm); the bytes are compared in constant time. */
	if (strnlen(actual, len + 1) != len || sodium_memcmp(expected, actual, len) != 0) {
		char ex[REGISTRY_DIGEST_STRING_MAX + 4];
		registry__excerpt(ex, sizeof(ex), actual, strnlen(actual, sizeof(ex)));
		/* expected is validated, so at most 135 safe characters. */
		return registry__fail(REGISTRY_EDIGEST, "digest mismatch: expected %s, got %s",
		                      expected, ex);
	}
	return 0;
}

int registry__digest_algorithm(const char *validated_digest)
{
	if (!validated_digest)
		return 0;
	if (strncmp(validated_digest, "sha256:", 7) == 0)
		return REGISTRY_DIGEST_SHA256;
	if (strncmp(validated_digest, "sha512:", 7) == 0)
		return REGISTRY_DIGEST_SHA512;
	return 0;
}

const char *registry__digest_hex(const char *validated_digest)
{
	const char *colon = validated_digest ? strchr(validated_digest, ':') : NULL;
	return colon ? colon + 1 : NULL;
}

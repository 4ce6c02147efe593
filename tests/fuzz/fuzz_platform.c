/*
 * Fuzz target: registry_platform_parse(), the text form of --platform and of
 * Python's platform=. Every accepted input must print back to itself (the
 * grammar is strict: one spelling per platform), its parts must be in the
 * grammar's bounds, and selecting it from a small index must not fail
 * with anything but a match or ENOTFOUND; every refused one must leave
 * NULL and a short printable message.
 */
#include <stdio.h>

#include "fuzz_common.h"

static int part_ok(const char *s, int plus)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 63)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '.' || *s == '_' || *s == '-' || (plus && *s == '+')))
			return 0;
	return 1;
}

static const char index_json[] =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":1,\"digest\":"
	"\"sha256:1111111111111111111111111111111111111111111111111111111111111111\","
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":2,\"digest\":"
	"\"sha256:2222222222222222222222222222222222222222222222222222222222222222\","
	"\"platform\":{\"os\":\"windows\",\"architecture\":\"amd64\",\"os.version\":\"10.0.1\"}}]}";

static void check_accepted(const registry_platform *p, const char *text)
{
	require(p->version == REGISTRY_PLATFORM_VERSION && !p->os_features);
	require(part_ok(p->os, 0) && part_ok(p->architecture, 0));
	require(!p->os_version || part_ok(p->os_version, 1));
	require(!p->variant || part_ok(p->variant, 0));
	char back[REGISTRY_PLATFORM_TEXT_MAX + 1];
	snprintf(back, sizeof(back), "%s%s%s%s/%s%s%s", p->os, p->os_version ? "(" : "",
	         p->os_version ? p->os_version : "", p->os_version ? ")" : "", p->architecture,
	         p->variant ? "/" : "", p->variant ? p->variant : "");
	require(strcmp(back, text) == 0);

	registry_manifest *m = NULL;
	require(registry_manifest_parse(&m, index_json, sizeof(index_json) - 1, NULL, NULL) == 0);
	const registry_descriptor *d = NULL;
	int rc = registry_manifest_select_platform(&d, m, p);
	require(rc == 0 ? d != NULL : d == NULL);
	if (rc)
		fuzz_check_error(rc);
	require(rc == 0 || rc == REGISTRY_ENOTFOUND || rc == REGISTRY_EINVAL);
	registry_manifest_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	if (!text)
		return 0;
	registry_platform *p = NULL;
	int rc = registry_platform_parse(&p, text);
	if (rc == 0) {
		require(p != NULL);
		check_accepted(p, text);
	} else {
		require(p == NULL && rc == REGISTRY_EINVAL);
		fuzz_check_error(rc);
	}
	registry_platform_free(p);
	free(text);
	return 0;
}

/* Platform selection in lists and indexes, containerd's rules, and the host platform. */
#include <sys/utsname.h>

#include "check.h"
#include "internal.h"

#define DIGEST1 "\"sha256:1111111111111111111111111111111111111111111111111111111111111111\""

/* Build an OCI index whose entry i has digest "sha256:<i repeated>" and the given platform JSON. */
static registry_manifest *make_index(const char *const *platforms, size_t n)
{
	registry__buf b;
	registry__buf_init(&b, 0);
	registry__buf_puts(&b, "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
	                      "\"manifests\":[");
	for (size_t i = 0; i < n; i++) {
		registry__buf_printf(&b, "%s{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		                        "\"size\":%zu,\"digest\":\"sha256:",
		                    i ? "," : "", i);
		for (int k = 0; k < 64; k++)
			registry__buf_printf(&b, "%x", (unsigned)(i % 16));
		registry__buf_puts(&b, "\"");
		if (platforms[i])
			registry__buf_printf(&b, ",\"platform\":%s", platforms[i]);
		registry__buf_puts(&b, "}");
	}
	registry__buf_puts(&b, "]}");
	registry_manifest *m = NULL;
	int rc = registry_manifest_parse(&m, b.data, b.len, NULL, NULL);
	if (rc)
		fprintf(stderr, "%s\n%s\n", registry_error_message(registry_error_last()), b.data);
	CHECK_INT(rc, 0);
	registry__buf_free(&b);
	return m;
}

/* Index of the selected entry (its size field), or the error code. */
static long long pick(const registry_manifest *m, const char *os, const char *arch, const char *variant)
{
	const registry_descriptor *d = NULL;
	int rc = registry_manifest_select_platform(&d, m, &(registry_platform){REGISTRY_PLATFORM_VERSION, os, arch, variant, NULL, NULL});
	if (rc)
		return rc;
	return (long long)registry_descriptor_size(d);
}

static void test_table(void)
{
	static const char *const platforms[] = {
		/* 0 */ "{\"os\":\"linux\",\"architecture\":\"amd64\"}",
		/* 1 */ "{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v5\"}",
		/* 2 */ "{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}",
		/* 3 */ "{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}",
		/* 4 */ "{\"os\":\"linux\",\"architecture\":\"arm64\"}",
		/* 5 */ "{\"os\":\"windows\",\"architecture\":\"amd64\",\"os.version\":\"10.0.17763.5329\"}",
		/* 6 */ "{\"os\":\"linux\",\"architecture\":\"386\"}",
		/* 7 */ "{\"os\":\"linux\",\"architecture\":\"ppc64le\"}",
		/* 8 */ NULL,
		/* 9 */ "{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}",
		/* 10 */ "{\"os\":\"unknown\",\"architecture\":\"unknown\"}",
	};
	registry_manifest *m = make_index(platforms, REGISTRY_ARRAY_LEN(platforms));
	static const struct {
		const char *os, *arch, *variant;
		long long want;
	} cases[] = {
		{ "linux", "amd64", NULL, 0 },
		{ "linux", "x86_64", NULL, 0 },
		{ "Linux", "X86-64", NULL, 0 },
		{ "linux", "amd64", "v1", 0 },
		{ "linux", "arm64", NULL, 4 }, /* "" and "v8" are the same; the first wins */
		{ "linux", "arm64", "v8", 4 },
		{ "linux", "aarch64", NULL, 4 },
		{ "linux", "arm64", "8", 4 },
		{ "linux", "arm", NULL, 3 }, /* arm defaults to v7 */
		{ "linux", "arm", "v7", 3 },
		{ "linux", "arm", "7", 3 },
		{ "linux", "armhf", NULL, 3 },
		{ "linux", "armel", NULL, 2 },
		{ "linux", "arm", "v6", 2 },
		{ "linux", "arm", "6", 2 },
		{ "linux", "arm", "v5", 1 },
		{ "linux", "arm", "v8", 3 }, /* exact v8 absent: best fallback v7 */
		{ "linux", "386", NULL, 6 },
		{ "linux", "i386", NULL, 6 },
		{ "windows", "amd64", NULL, 5 },
		{ "linux", "ppc64le", NULL, 7 },
		{ "darwin", "amd64", NULL, REGISTRY_ENOTFOUND },
		{ "macos", "arm64", NULL, REGISTRY_ENOTFOUND },
		{ "linux", "s390x", NULL, REGISTRY_ENOTFOUND },
		{ "linux", "riscv64", NULL, REGISTRY_ENOTFOUND },
		{ "linux", "arm", "v4", REGISTRY_ENOTFOUND },
	};
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(cases); i++) {
		long long got = pick(m, cases[i].os, cases[i].arch, cases[i].variant);
		if (got != cases[i].want)
			fprintf(stderr, "case %zu: %s/%s/%s -> %lld, want %lld\n", i, cases[i].os, cases[i].arch,
			        cases[i].variant ? cases[i].variant : "", got, cases[i].want);
		CHECK_INT(got, cases[i].want);
	}
	/* The message lists what the index offers. */
	CHECK_INT(pick(m, "linux", "s390x", NULL), REGISTRY_ENOTFOUND);
	const char *msg = registry_error_message(registry_error_last());
	CHECK(strstr(msg, "linux/s390x") != NULL);
	CHECK(strstr(msg, "linux/amd64") != NULL);
	CHECK(strstr(msg, "linux/arm/v7") != NULL);
	CHECK(strstr(msg, "windows/amd64") != NULL);
	CHECK(strstr(msg, "1 entry without a platform") != NULL);
	registry_manifest_free(m);
}

/* containerd prefers the best fallback, whatever the document order. */
static void test_fallbacks(void)
{
	static const char *const arm_old[] = {
		"{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v5\"}",
		"{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}",
	};
	registry_manifest *m = make_index(arm_old, 2);
	CHECK_INT(pick(m, "linux", "arm", "v7"), 1);
	CHECK_INT(pick(m, "linux", "arm", NULL), 1);
	CHECK_INT(pick(m, "linux", "arm", "v8"), 1);
	CHECK_INT(pick(m, "linux", "arm64", NULL), 1); /* arm64 runs arm v8..v5 */
	CHECK_INT(pick(m, "linux", "arm", "v6"), 1);
	CHECK_INT(pick(m, "linux", "arm", "v5"), 0);
	CHECK_INT(pick(m, "linux", "amd64", NULL), REGISTRY_ENOTFOUND);
	registry_manifest_free(m);

	static const char *const x86[] = {
		"{\"os\":\"linux\",\"architecture\":\"386\"}",
		"{\"os\":\"linux\",\"architecture\":\"amd64\"}",
		"{\"os\":\"linux\",\"architecture\":\"amd64\",\"variant\":\"v2\"}",
	};
	m = make_index(x86, 3);
	CHECK_INT(pick(m, "linux", "amd64", NULL), 1); /* exact beats the earlier 386 */
	CHECK_INT(pick(m, "linux", "amd64", "v3"), 2); /* v3 runs v2 before v1 */
	CHECK_INT(pick(m, "linux", "amd64", "v2"), 2);
	CHECK_INT(pick(m, "linux", "386", NULL), 0);
	registry_manifest_free(m);

	m = make_index(x86, 1);
	CHECK_INT(pick(m, "linux", "amd64", NULL), 0); /* amd64 runs 386 when nothing better */
	registry_manifest_free(m);

	static const char *const no_variant[] = {
		"{\"os\":\"linux\",\"architecture\":\"arm\"}",
		"{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}",
	};
	m = make_index(no_variant, 2);
	CHECK_INT(pick(m, "linux", "arm", "v7"), 0);  /* an entry without variant is arm v7 */
	CHECK_INT(pick(m, "linux", "arm64", NULL), 1); /* and arm64 without variant is v8 */
	CHECK_INT(pick(m, "linux", "arm", "v6"), REGISTRY_ENOTFOUND);
	registry_manifest_free(m);

	static const char *const only_unplatformed[] = { NULL };
	m = make_index(only_unplatformed, 1);
	CHECK_INT(pick(m, "linux", "amd64", NULL), REGISTRY_ENOTFOUND);
	CHECK(strstr(registry_error_message(registry_error_last()), "no platform") != NULL);
	registry_manifest_free(m);
}

static void test_errors(void)
{
	static const char img[] =
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"size\":2,\"digest\":" DIGEST1
		"},\"layers\":[]}";
	registry_manifest *m = NULL;
	CHECK_INT(registry_manifest_parse(&m, img, sizeof(img) - 1, NULL, NULL), 0);
	const registry_descriptor *d = (const registry_descriptor *)1;
	CHECK_INT(registry_manifest_select_platform(&d, m, &(registry_platform){REGISTRY_PLATFORM_VERSION, "linux", "amd64", NULL, NULL, NULL}), REGISTRY_EINVAL);
	CHECK(d == NULL);
	CHECK_INT(registry_manifest_select_platform(NULL, m, &(registry_platform){REGISTRY_PLATFORM_VERSION, "linux", "amd64", NULL, NULL, NULL}), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_select_platform(&d, NULL, &(registry_platform){REGISTRY_PLATFORM_VERSION, "linux", "amd64", NULL, NULL, NULL}), REGISTRY_EINVAL);
	registry_manifest_free(m);
	static const char *const one[] = { "{\"os\":\"linux\",\"architecture\":\"amd64\"}" };
	m = make_index(one, 1);
	char longname[200];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_INT(registry_manifest_select_platform(&d, m, &(registry_platform){REGISTRY_PLATFORM_VERSION, "linux", longname, NULL, NULL, NULL}), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_select_platform(&d, m, &(registry_platform){REGISTRY_PLATFORM_VERSION, "", "amd64", NULL, NULL, NULL}), REGISTRY_EINVAL);
	registry_manifest_free(m);
}

static void test_host(void)
{
	const char *os = NULL, *arch = NULL, *variant = (const char *)1;
	struct utsname u;
	CHECK_INT(uname(&u), 0);
	int rc = registry_manifest_host_platform(&os, &arch, &variant);
	CHECK_INT(rc, 0);
	CHECK_STR(os, "linux");
	if (strcmp(u.machine, "x86_64") == 0 && sizeof(void *) == 8) {
		CHECK_STR(arch, "amd64");
		CHECK(variant == NULL);
	} else if (strcmp(u.machine, "aarch64") == 0 && sizeof(void *) == 8) {
		CHECK_STR(arch, "arm64");
		CHECK_STR(variant, "v8");
	}
	CHECK_INT(registry_manifest_host_platform(NULL, NULL, NULL), 0);

	/* NULL os/architecture select the host's platform. */
	static const char *const plats[] = {
		"{\"os\":\"linux\",\"architecture\":\"s390x\"}",
		"{\"os\":\"linux\",\"architecture\":\"amd64\"}",
		"{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}",
	};
	registry_manifest *m = make_index(plats, 3);
	long long want = strcmp(arch, "amd64") == 0 ? 1 : strcmp(arch, "arm64") == 0 ? 2 : REGISTRY_ENOTFOUND;
	CHECK_INT(pick(m, NULL, NULL, NULL), want);
	CHECK_INT(pick(m, "linux", NULL, NULL), want);
	const registry_descriptor *d = NULL;
	CHECK_INT(registry_manifest_select_platform(&d, m, NULL), want > 0 ? 0 : want); /* NULL: the host's */
	if (want > 0)
		CHECK_INT(registry_descriptor_size(d), want);
	registry_manifest_free(m);
}

/* Windows images: os.version must be equal, every os.feature asked for present (image spec). */
static void test_os_version_features(void)
{
	static const char *const win[] = {
		/* 0 */ "{\"os\":\"windows\",\"architecture\":\"amd64\",\"os.version\":\"10.0.17763.5329\"}",
		/* 1 */ "{\"os\":\"windows\",\"architecture\":\"amd64\",\"os.version\":\"10.0.20348.2227\","
		        "\"os.features\":[\"win32k\"]}",
		/* 2 */ "{\"os\":\"windows\",\"architecture\":\"amd64\",\"os.version\":\"10.0.20348.2227\","
		        "\"os.features\":[\"gpu\",\"win32k\"]}",
	};
	registry_manifest *m = make_index(win, REGISTRY_ARRAY_LEN(win));
	const registry_descriptor *d = NULL;
	registry_platform p = REGISTRY_PLATFORM_INIT;
	p.os = "windows";
	p.architecture = "amd64";
	CHECK_INT(registry_manifest_select_platform(&d, m, &p), 0);
	CHECK_INT(registry_descriptor_size(d), 0); /* nothing more asked: the first */
	p.os_version = "10.0.20348.2227";
	CHECK_INT(registry_manifest_select_platform(&d, m, &p), 0);
	CHECK_INT(registry_descriptor_size(d), 1);
	const char *const gpu[] = { "win32k", "gpu", NULL };
	p.os_features = gpu;
	CHECK_INT(registry_manifest_select_platform(&d, m, &p), 0);
	CHECK_INT(registry_descriptor_size(d), 2);
	p.os_version = NULL;
	CHECK_INT(registry_manifest_select_platform(&d, m, &p), 0);
	CHECK_INT(registry_descriptor_size(d), 2);
	const char *const none[] = { "hyperv", NULL };
	p.os_features = none;
	CHECK_INT(registry_manifest_select_platform(&d, m, &p), REGISTRY_ENOTFOUND);
	CHECK(strstr(registry_error_message(registry_error_last()), "os.features hyperv") != NULL);
	p.os_features = NULL;
	p.os_version = "10.0.14393.0";
	CHECK_INT(registry_manifest_select_platform(&d, m, &p), REGISTRY_ENOTFOUND);
	CHECK(strstr(registry_error_message(registry_error_last()), "windows(10.0.14393.0)/amd64") != NULL);
	p.os_version = NULL;
	p.version = 0; /* never initialised */
	CHECK_INT(registry_manifest_select_platform(&d, m, &p), REGISTRY_EINVAL);
	p.version = REGISTRY_PLATFORM_VERSION + 1;
	CHECK_INT(registry_manifest_select_platform(&d, m, &p), REGISTRY_EINVAL);
	CHECK(d == NULL);
	registry_manifest_free(m);

	registry_platform q;
	memset(&q, 0xff, sizeof(q));
	CHECK_INT(registry_platform_init(&q), 0);
	CHECK_INT(q.version, REGISTRY_PLATFORM_VERSION);
	CHECK(!q.os && !q.architecture && !q.variant && !q.os_version && !q.os_features);
	CHECK_INT(registry_platform_init(NULL), REGISTRY_EINVAL);
}

static void check_parse(const char *text, const char *os, const char *os_version, const char *arch,
                        const char *variant)
{
	registry_platform *p = NULL;
	CHECK_INT(registry_platform_parse(&p, text), 0);
	if (!p)
		return;
	CHECK_INT(p->version, REGISTRY_PLATFORM_VERSION);
	CHECK_STR(p->os, os);
	CHECK_STR(p->architecture, arch);
	CHECK(os_version ? p->os_version && strcmp(p->os_version, os_version) == 0 : !p->os_version);
	CHECK(variant ? p->variant && strcmp(p->variant, variant) == 0 : !p->variant);
	CHECK(p->os_features == NULL);
	registry_platform_free(p);
}

static void test_parse(void)
{
	check_parse("linux/amd64", "linux", NULL, "amd64", NULL);
	check_parse("linux/arm64/v8", "linux", NULL, "arm64", "v8");
	check_parse("windows(10.0.17763.5329)/amd64", "windows", "10.0.17763.5329", "amd64", NULL);
	check_parse("linux(5.15+rt)/arm/v7", "linux", "5.15+rt", "arm", "v7");
	check_parse("Linux/X86_64", "Linux", NULL, "X86_64", NULL); /* normalised when matching */
	static const char *const bad[] = {
		"", "linux", "/amd64", "linux/", "linux/amd64/", "linux/arm/v7/x", "linux//amd64",
		"windows(/amd64", "windows()/amd64", "windows(1.0/amd64", "windows(1)x/amd64",
		"win(1)(2)/amd64", "linux/amd 64", "linux/amd64\n", "linux/a(1)", "lin+ux/amd64",
		"linux/amd64/v8\x01", "..\x7f/amd64",
	};
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(bad); i++) {
		registry_platform *p = (registry_platform *)1;
		int rc = registry_platform_parse(&p, bad[i]);
		if (rc != REGISTRY_EINVAL)
			fprintf(stderr, "accepted \"%s\"\n", bad[i]);
		CHECK_INT(rc, REGISTRY_EINVAL);
		CHECK(p == NULL);
		CHECK(strstr(registry_error_message(registry_error_last()), "platform") != NULL);
	}
	/* Bounded: a part of 64 characters, and a text over REGISTRY_PLATFORM_TEXT_MAX. */
	char big[REGISTRY_PLATFORM_TEXT_MAX + 2];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	registry_platform *p = NULL;
	CHECK_INT(registry_platform_parse(&p, big), REGISTRY_EINVAL);
	snprintf(big, sizeof(big), "linux/%064d", 0);
	CHECK_INT(registry_platform_parse(&p, big), REGISTRY_EINVAL);
	snprintf(big, sizeof(big), "linux/%063d", 0);
	CHECK_INT(registry_platform_parse(&p, big), 0);
	registry_platform_free(p);
	CHECK_INT(registry_platform_parse(NULL, "linux/amd64"), REGISTRY_EINVAL);
	CHECK_INT(registry_platform_parse(&p, NULL), REGISTRY_EINVAL);
	registry_platform_free(NULL);

	/* The parsed form selects as the struct does. */
	static const char *const plats[] = {
		"{\"os\":\"linux\",\"architecture\":\"amd64\"}",
		"{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}",
	};
	registry_manifest *m = make_index(plats, 2);
	const registry_descriptor *d = NULL;
	CHECK_INT(registry_platform_parse(&p, "linux/armel"), 0);
	CHECK_INT(registry_manifest_select_platform(&d, m, p), 0);
	CHECK_INT(registry_descriptor_size(d), 1);
	registry_platform_free(p);
	registry_manifest_free(m);
}

int main(void)
{
	RUN(test_table);
	RUN(test_fallbacks);
	RUN(test_errors);
	RUN(test_host);
	RUN(test_os_version_features);
	RUN(test_parse);
	return CHECK_DONE();
}

/*
 * Platform matching as containerd does it (platforms.Only): normalize both
 * sides, then try the requested platform and, in order, the platforms it can
 * also run: arm vN -> vN-1 ... v5; arm64 -> arm v8 ... v5; amd64 vN -> ...
 * v1 -> 386. The best-ranked entry wins, the first one on a tie.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "manifest_impl.h"

#define FIELD_MAX 64
#define VECTOR_MAX 16

typedef struct platform {
	char os[FIELD_MAX];
	char arch[FIELD_MAX];
	char variant[FIELD_MAX];
} platform;

/* Lowercase copy; 0 when it does not fit (such a value matches nothing we know). */
static int lower_copy(char *dst, const char *src)
{
	size_t n = src ? strlen(src) : 0;
	if (n >= FIELD_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[n] = '\0';
	return 1;
}

static void set(char *dst, const char *src)
{
	snprintf(dst, FIELD_MAX, "%s", src);
}

static int normalize(platform *p, const char *os, const char *arch, const char *variant)
{
	if (!lower_copy(p->os, os) || !lower_copy(p->arch, arch) || !lower_copy(p->variant, variant))
		return 0;
	if (strcmp(p->os, "macos") == 0)
		set(p->os, "darwin");
	char *a = p->arch, *v = p->variant;
	if (strcmp(a, "i386") == 0) {
		set(a, "386");
		v[0] = '\0';
	} else if (strcmp(a, "x86_64") == 0 || strcmp(a, "x86-64") == 0 || strcmp(a, "amd64") == 0) {
		set(a, "amd64");
		if (strcmp(v, "v1") == 0)
			v[0] = '\0';
	} else if (strcmp(a, "aarch64") == 0 || strcmp(a, "arm64") == 0) {
		set(a, "arm64");
		if (strcmp(v, "8") == 0 || strcmp(v, "v8") == 0)
			v[0] = '\0'; /* v8 is arm64's baseline: "" and "v8" are the same */
	} else if (strcmp(a, "armhf") == 0) {
		set(a, "arm");
		set(v, "v7");
	} else if (strcmp(a, "armel") == 0) {
		set(a, "arm");
		set(v, "v6");
	} else if (strcmp(a, "arm") == 0) {
		if (v[0] == '\0' || strcmp(v, "7") == 0)
			set(v, "v7");
		else if (strcmp(v, "5") == 0 || strcmp(v, "6") == 0 || strcmp(v, "8") == 0)
			snprintf(v, FIELD_MAX, "v%c", p->variant[0]);
	}
	return 1;
}

/* "vN" -> N, else -1. */
static int variant_number(const char *v)
{
	if (v[0] != 'v' || !isdigit((unsigned char)v[1]))
		return -1;
	int n = 0;
	for (const char *c = v + 1; *c; c++) {
		if (!isdigit((unsigned char)*c) || n > 1000)
			return -1;
		n = n * 10 + (*c - '0');
	}
	return n;
}

static void push(platform *vec, size_t *n, const char *os, const char *arch, const char *variant)
{
	if (*n >= VECTOR_MAX)
		return;
	set(vec[*n].os, os);
	set(vec[*n].arch, arch);
	set(vec[*n].variant, variant);
	(*n)++;
}

static void push_arm_down(platform *vec, size_t *n, const char *os, int from)
{
	char v[8];
	for (int k = from; k >= 5; k--) {
		snprintf(v, sizeof(v), "v%d", k);
		push(vec, n, os, "arm", v);
	}
}

/* The ordered list of platforms acceptable for request @p r, best first. */
static size_t platform_vector(const platform *r, platform *vec)
{
	size_t n = 0;
	int num = variant_number(r->variant);
	push(vec, &n, r->os, r->arch, r->variant);
	if (strcmp(r->arch, "amd64") == 0) {
		for (int k = num - 1; num > 1 && k >= 2 && k > num - VECTOR_MAX; k--) {
			char v[8];
			snprintf(v, sizeof(v), "v%d", k);
			push(vec, &n, r->os, "amd64", v);
		}
		if (num > 1)
			push(vec, &n, r->os, "amd64", "");
		push(vec, &n, r->os, "386", "");
	} else if (strcmp(r->arch, "arm") == 0) {
		if (num > 5 && num < 5 + VECTOR_MAX)
			push_arm_down(vec, &n, r->os, num - 1);
	} else if (strcmp(r->arch, "arm64") == 0) {
		if (r->variant[0])
			push(vec, &n, r->os, "arm64", ""); /* v9 and later run v8 */
		push_arm_down(vec, &n, r->os, 8);
	}
	return n;
}

static int same(const platform *a, const platform *b)
{
	return strcmp(a->os, b->os) == 0 && strcmp(a->arch, b->arch) == 0 &&
	       strcmp(a->variant, b->variant) == 0;
}

static void describe(registry__buf *b, const char *os, const char *arch, const char *variant)
{
	registry__buf_printf(b, "%.40s/%.40s%s%.40s", os && *os ? os : "?", arch && *arch ? arch : "?",
	                    variant && *variant ? "/" : "", variant ? variant : "");
}

/* The request as the message shows it: os[(os.version)]/arch[/variant][ with os.features ...]. */
static void describe_request(registry__buf *b, const platform *want, const registry_platform *p)
{
	char os[FIELD_MAX + 48];
	snprintf(os, sizeof(os), "%s", want->os);
	if (p && p->os_version)
		snprintf(os, sizeof(os), "%s(%.40s)", want->os, p->os_version);
	describe(b, os, want->arch, want->variant);
	for (size_t i = 0; p && p->os_features && p->os_features[i] && i < 8; i++)
		registry__buf_printf(b, "%s%.40s", i ? "," : " with os.features ", p->os_features[i]);
}

static int not_found(const registry_manifest *m, const platform *want, const registry_platform *p)
{
	registry__buf b;
	registry__buf_init(&b, 900);
	size_t without = 0, listed = 0;
	for (size_t i = 0; i < m->manifest_count; i++) {
		const registry_descriptor *d = &m->manifests[i];
		if (!d->has_platform) {
			without++;
			continue;
		}
		registry__buf_puts(&b, listed++ ? ", " : "");
		describe(&b, d->os, d->architecture, d->variant);
	}
	registry__buf req;
	registry__buf_init(&req, 400);
	describe_request(&req, want, p);
	char extra[64] = "";
	if (without)
		snprintf(extra, sizeof(extra), " (and %zu entr%s without a platform)", without,
		         without == 1 ? "y" : "ies");
	int rc = registry__fail(REGISTRY_ENOTFOUND, "no manifest for %s in the index; it offers %s%s",
	                        req.data ? req.data : "?", listed && b.data ? b.data : "no platform", extra);
	registry__buf_free(&b);
	registry__buf_free(&req);
	return rc;
}

/* Most os.features a request may list: they are compared with every entry's. */
#define OS_FEATURES_MAX 64

int registry__platform_check(const char *fn, const registry_platform *p)
{
	if (!p)
		return 0;
	int rc = registry__options_check(fn, p->version, REGISTRY_PLATFORM_VERSION, 0, 0);
	for (size_t i = 0; !rc && p->os_features && p->os_features[i]; i++)
		if (i == OS_FEATURES_MAX)
			rc = registry__fail(REGISTRY_EINVAL, "%s: more than %d platform os_features", fn,
			                    OS_FEATURES_MAX);
	return rc;
}

/* The image spec's rule for the optional fields: os.version, when asked for,
 * must be equal; every os.feature asked for must be present. */
static int extras_match(const registry_descriptor *d, const registry_platform *p)
{
	if (!p)
		return 1;
	if (p->os_version && (!d->os_version || strcmp(p->os_version, d->os_version) != 0))
		return 0;
	for (const char *const *f = p->os_features; f && *f; f++) {
		size_t i = 0;
		while (i < d->os_features.count && strcmp(d->os_features.items[i], *f) != 0)
			i++;
		if (i == d->os_features.count)
			return 0;
	}
	return 1;
}

int registry_platform_init(registry_platform *p)
{
	REGISTRY__ENTER(rc);
	if (!p)
		return registry__fail(REGISTRY_EINVAL, "registry_platform_init: NULL argument");
	*p = (registry_platform)REGISTRY_PLATFORM_INIT;
	return 0;
}

int registry_manifest_select_platform(const registry_descriptor **out, const registry_manifest *m,
                                      const registry_platform *p)
{
	REGISTRY__ENTER(rc);
	if (!out || !m)
		return registry__fail(REGISTRY_EINVAL, "registry_manifest_select_platform: NULL argument");
	*out = NULL;
	if ((rc = registry__platform_check("registry_manifest_select_platform", p)))
		return rc;
	if (m->kind != REGISTRY_MANIFEST_INDEX)
		return registry__fail(REGISTRY_EINVAL, "registry_manifest_select_platform: %s is not an index",
		                      m->media_type);
	const char *os = p ? p->os : NULL, *architecture = p ? p->architecture : NULL;
	const char *variant = p ? p->variant : NULL;
	const char *host_os, *host_arch, *host_variant;
	if (!os || !architecture) {
		if ((rc = registry_manifest_host_platform(&host_os, &host_arch, &host_variant)))
			return rc;
		if (!os)
			os = host_os;
		if (!architecture) {
			architecture = host_arch;
			if (!variant)
				variant = host_variant;
		}
	}
	platform want;
	if (!normalize(&want, os, architecture, variant) || !want.os[0] || !want.arch[0])
		return registry__fail(REGISTRY_EINVAL, "registry_manifest_select_platform: invalid platform");
	platform vec[VECTOR_MAX];
	size_t nvec = platform_vector(&want, vec);

	size_t best_rank = nvec;
	for (size_t i = 0; i < m->manifest_count; i++) {
		const registry_descriptor *d = &m->manifests[i];
		platform have;
		if (!d->has_platform || !normalize(&have, d->os, d->architecture, d->variant) || !extras_match(d, p))
			continue;
		for (size_t r = 0; r < best_rank; r++) {
			if (same(&have, &vec[r])) {
				best_rank = r;
				*out = d;
				break;
			}
		}
	}
	if (!*out)
		return not_found(m, &want, p);
	return 0;
}

static const struct {
	const char *machine;
	const char *arch;
	const char *variant;
} machines[] = {
	{ "x86_64", "amd64", NULL }, { "amd64", "amd64", NULL }, { "i386", "386", NULL },
	{ "i486", "386", NULL }, { "i586", "386", NULL }, { "i686", "386", NULL },
	{ "aarch64", "arm64", "v8" }, { "arm64", "arm64", "v8" }, { "armv8l", "arm", "v8" },
	{ "armv7l", "arm", "v7" }, { "armv7", "arm", "v7" }, { "armv6l", "arm", "v6" },
	{ "armv5tel", "arm", "v5" }, { "armv5tejl", "arm", "v5" }, { "ppc64le", "ppc64le", NULL },
	{ "ppc64", "ppc64", NULL }, { "s390x", "s390x", NULL }, { "riscv64", "riscv64", NULL },
	{ "mips64", "mips64", NULL }, { "loongarch64", "loong64", NULL },
};

static const struct {
	const char *sysname;
	const char *os;
} systems[] = {
	{ "Linux", "linux" }, { "Darwin", "darwin" }, { "FreeBSD", "freebsd" },
	{ "NetBSD", "netbsd" }, { "OpenBSD", "openbsd" },
};

int registry_manifest_host_platform(const char **os, const char **architecture, const char **variant)
{
	REGISTRY__ENTER(rc);
	struct utsname u;
	if (uname(&u) != 0)
		return registry__fail(REGISTRY_EIO, "uname failed");
	const char *o = NULL, *a = NULL, *v = NULL;
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(systems); i++)
		if (strcmp(u.sysname, systems[i].sysname) == 0)
			o = systems[i].os;
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(machines); i++) {
		if (strcmp(u.machine, machines[i].machine) == 0) {
			a = machines[i].arch;
			v = machines[i].variant;
		}
	}
	if (!o || !a)
		return registry__fail(REGISTRY_EUNSUPPORTED, "unknown host platform %.64s/%.64s", u.sysname,
		                      u.machine);
	/* A 32-bit build on a 64-bit kernel runs 32-bit images. */
#if defined(__i386__)
	if (strcmp(a, "amd64") == 0)
		a = "386";
#elif defined(__arm__)
	if (strcmp(a, "arm64") == 0) {
		a = "arm";
#if defined(__ARM_ARCH) && __ARM_ARCH >= 8
		v = "v8";
#elif defined(__ARM_ARCH) && __ARM_ARCH == 6
		v = "v6";
#else
		v = "v7";
#endif
	}
#endif
	if (os)
		*os = o;
	if (architecture)
		*architecture = a;
	if (variant)
		*variant = v;
	return 0;
}

/* Text form: one part of 1 to FIELD_MAX - 1 characters of [A-Za-z0-9._-] (and '+' in os.version). */
static int part_ok(const char *text, const char *what, const char *s, size_t n, int plus)
{
	if (n == 0 || n >= FIELD_MAX)
		return registry__fail(REGISTRY_EINVAL, "platform \"%.100s\": the %s must be 1 to %d characters",
		                      text, what, FIELD_MAX - 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '.' && c != '_' && c != '-' && !(plus && c == '+'))
			return registry__fail(REGISTRY_EINVAL, "platform \"%.100s\": character 0x%02x in the %s",
			                      text, c, what);
	}
	return 0;
}

/* Splits @buf (a copy of @text) in place into @p's os, os_version, architecture, variant. */
static int split_text(registry_platform *p, const char *text, char *buf)
{
	char *arch = strchr(buf, '/');
	if (!arch)
		return registry__fail(REGISTRY_EINVAL, "platform \"%.100s\" is not os[(os.version)]/arch[/variant]",
		                      text);
	*arch++ = '\0';
	char *variant = strchr(arch, '/');
	if (variant)
		*variant++ = '\0';
	char *version = strchr(buf, '(');
	if (version) {
		*version++ = '\0';
		size_t n = strlen(version);
		if (n == 0 || version[n - 1] != ')')
			return registry__fail(REGISTRY_EINVAL, "platform \"%.100s\": os(os.version) lacks its ')'", text);
		version[n - 1] = '\0';
	}
	int rc = part_ok(text, "os", buf, strlen(buf), 0);
	if (!rc && version)
		rc = part_ok(text, "os.version", version, strlen(version), 1);
	if (!rc)
		rc = part_ok(text, "architecture", arch, strlen(arch), 0);
	if (!rc && variant)
		rc = part_ok(text, "variant", variant, strlen(variant), 0);
	p->os = buf;
	p->os_version = version;
	p->architecture = arch;
	p->variant = variant;
	return rc;
}

int registry_platform_parse(registry_platform **out, const char *text)
{
	REGISTRY__ENTER(rc);
	if (!out || !text)
		return registry__fail(REGISTRY_EINVAL, "registry_platform_parse: NULL argument");
	*out = NULL;
	size_t len = strnlen(text, REGISTRY_PLATFORM_TEXT_MAX + 1);
	if (len > REGISTRY_PLATFORM_TEXT_MAX)
		return registry__fail(REGISTRY_EINVAL, "platform \"%.64s...\" is longer than %d bytes", text,
		                      REGISTRY_PLATFORM_TEXT_MAX);
	/* One block: the struct, then the text split in place, so one free() frees all. */
	registry_platform *p = malloc(sizeof(*p) + len + 1);
	if (!p)
		return registry__nomem();
	*p = (registry_platform)REGISTRY_PLATFORM_INIT;
	char *buf = (char *)(p + 1);
	memcpy(buf, text, len + 1);
	if ((rc = split_text(p, text, buf))) {
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void registry_platform_free(registry_platform *p)
{
	free(p);
}

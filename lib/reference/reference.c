/* Image references: parsing, Docker's normalization, accessors. */
#include <stdlib.h>
#include <string.h>

#include "digest/hash.h"
#include "grammar.h"
#include "internal.h"

#define DOCKER_HUB "docker.io"
#define DOCKER_HUB_LEGACY "index.docker.io"
#define DOCKER_HUB_API "registry-1.docker.io"
#define OFFICIAL_PREFIX "library/"
#define DEFAULT_TAG "latest"
/* Longer than any valid reference (255 name + ':' 128 tag + '@' 135 digest). */
#define TEXT_MAX 1024

struct registry_reference {
	char *registry;
	char *repository;
	char *tag;    /* NULL when none */
	char *digest; /* NULL when none */
	char *string;
	char *familiar;
};

/* A part of the input; p == NULL means absent. */
struct span {
	const char *p;
	size_t n;
};

static struct span span_of(const char *s)
{
	struct span sp = { s, s ? strlen(s) : 0 };
	return sp;
}

static int span_is(struct span s, const char *lit)
{
	return s.p && s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

void registry_reference_free(registry_reference *ref)
{
	if (!ref)
		return;
	free(ref->registry);
	free(ref->repository);
	free(ref->tag);
	free(ref->digest);
	free(ref->string);
	free(ref->familiar);
	free(ref);
}

static int compose(registry_reference *ref)
{
	registry__buf b;
	registry__buf_init(&b, 0);
	int rc = registry__buf_printf(&b, "%s/%s", ref->registry, ref->repository);
	if (!rc && ref->tag)
		rc = registry__buf_printf(&b, ":%s", ref->tag);
	if (!rc && ref->digest)
		rc = registry__buf_printf(&b, "@%s", ref->digest);
	if (rc) {
		registry__buf_free(&b);
		return rc;
	}
	ref->string = registry__buf_detach(&b);

	/* Familiar: drop "docker.io/" and then "library/" as Docker does. */
	const char *repo = ref->repository;
	int hub = strcmp(ref->registry, DOCKER_HUB) == 0;
	if (hub && strncmp(repo, OFFICIAL_PREFIX, strlen(OFFICIAL_PREFIX)) == 0 &&
	    !strchr(repo + strlen(OFFICIAL_PREFIX), '/'))
		repo += strlen(OFFICIAL_PREFIX);
	const char *slash = strchr(repo, '/');
	/* ...unless the short form would read as another registry. */
	if (hub && slash && registry__reference_looks_like_host(repo, (size_t)(slash - repo)))
		hub = 0;
	if (hub)
		rc = registry__buf_puts(&b, repo);
	else
		rc = registry__buf_printf(&b, "%s/%s", ref->registry, ref->repository);
	if (!rc && ref->tag)
		rc = registry__buf_printf(&b, ":%s", ref->tag);
	if (!rc && ref->digest)
		rc = registry__buf_printf(&b, "@%s", ref->digest);
	if (rc) {
		registry__buf_free(&b);
		return rc;
	}
	ref->familiar = registry__buf_detach(&b);
	return ref->string && ref->familiar ? 0 : REGISTRY_ENOMEM;
}

/*
 * Validate the parts in order (host, repository, tag, digest, length),
 * normalize, and build the reference. @registry absent means docker.io.
 */
static int build(registry_reference **out, struct span registry, struct span repository,
                 struct span tag, struct span digest)
{
	int rc;
	if (!registry.p || span_is(registry, DOCKER_HUB_LEGACY))
		registry = span_of(DOCKER_HUB);
	else if ((rc = registry__reference_check_host(registry.p, registry.n)))
		return rc;
	if ((rc = registry__reference_check_repository(repository.p, repository.n)))
		return rc;
	if (tag.p && (rc = registry__reference_check_tag(tag.p, tag.n)))
		return rc;
	if (digest.p && (rc = registry__digest_validate_len(digest.p, digest.n)))
		return rc;

	int official = span_is(registry, DOCKER_HUB) && !memchr(repository.p, '/', repository.n);
	size_t name_len = registry.n + 1 + (official ? strlen(OFFICIAL_PREFIX) : 0) + repository.n;
	if (name_len > REGISTRY_REFERENCE_NAME_MAX) {
		char ex[64];
		registry__excerpt(ex, sizeof(ex), repository.p, repository.n);
		return registry__fail(REGISTRY_EFORMAT,
		                      "reference name is too long: registry/repository (\"%s\") has %zu "
		                      "characters, at most %d", ex, name_len, REGISTRY_REFERENCE_NAME_MAX);
	}
	if (!tag.p && !digest.p)
		tag = span_of(DEFAULT_TAG);

	registry_reference *ref = calloc(1, sizeof(*ref));
	if (!ref)
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	ref->registry = registry__strndup(registry.p, registry.n);
	size_t repo_size = (official ? strlen(OFFICIAL_PREFIX) : 0) + repository.n + 1;
	ref->repository = malloc(repo_size);
	if (ref->repository)
		snprintf(ref->repository, repo_size, "%s%.*s", official ? OFFICIAL_PREFIX : "",
		         (int)repository.n, repository.p);
	ref->tag = tag.p ? registry__strndup(tag.p, tag.n) : NULL;
	ref->digest = digest.p ? registry__strndup(digest.p, digest.n) : NULL;
	if (!ref->registry || !ref->repository || (tag.p && !ref->tag) || (digest.p && !ref->digest) ||
	    compose(ref)) {
		registry_reference_free(ref);
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	}
	*out = ref;
	return 0;
}

static int all_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static const char *last_char(const char *s, size_t n, char c)
{
	while (n-- > 0)
		if (s[n] == c)
			return s + n;
	return NULL;
}

int registry_reference_parse(registry_reference **out, const char *text)
{
	REGISTRY__ENTER(rc);
	if (!out || !text)
		return registry__fail(REGISTRY_EINVAL, "NULL argument");
	*out = NULL;
	size_t len = strnlen(text, TEXT_MAX + 1);
	if (len == 0)
		return registry__fail(REGISTRY_EFORMAT, "reference is empty");
	if (len > TEXT_MAX)
		return registry__fail(REGISTRY_EFORMAT, "reference is too long: more than %d characters",
		                      TEXT_MAX);
	/* Docker refuses these: they read as image IDs, not names. */
	if (len == 64 && all_lower_hex(text, len))
		return registry__fail(REGISTRY_EFORMAT,
		                      "reference is 64 hex characters (an image ID), not a repository name");

	struct span name = { text, len }, tag = { NULL, 0 }, digest = { NULL, 0 };
	const char *at = memchr(text, '@', len);
	if (at) {
		digest.p = at + 1;
		digest.n = len - (size_t)(digest.p - text);
		name.n = (size_t)(at - text);
	}
	/* The tag is after the last ':' that follows the last '/' (a port's ':' comes before a '/'). */
	const char *slash = last_char(name.p, name.n, '/');
	const char *after_slash = slash ? slash + 1 : name.p;
	const char *colon = last_char(after_slash, name.n - (size_t)(after_slash - name.p), ':');
	if (colon) {
		tag.p = colon + 1;
		tag.n = name.n - (size_t)(tag.p - name.p);
		name.n = (size_t)(colon - name.p);
	}
	if (name.n == 0)
		return registry__fail(REGISTRY_EFORMAT, "repository name is empty");

	struct span registry = { NULL, 0 }, repository = name;
	const char *first_slash = memchr(name.p, '/', name.n);
	if (first_slash && registry__reference_looks_like_host(name.p, (size_t)(first_slash - name.p))) {
		registry.p = name.p;
		registry.n = (size_t)(first_slash - name.p);
		repository.p = first_slash + 1;
		repository.n = name.n - registry.n - 1;
	}
	return build(out, registry, repository, tag, digest);
}

int registry_reference_new(registry_reference **out, const char *registry, const char *repository,
                           const char *tag, const char *digest)
{
	REGISTRY__ENTER(rc);
	if (!out || !repository)
		return registry__fail(REGISTRY_EINVAL, "NULL out or repository");
	*out = NULL;
	struct span reg = span_of(registry);
	if (registry && !registry__reference_looks_like_host(reg.p, reg.n)) {
		char ex[64];
		registry__excerpt(ex, sizeof(ex), reg.p, reg.n);
		return registry__fail(REGISTRY_EFORMAT,
		                      "registry host \"%s\" would read as a repository component: it must "
		                      "contain '.' or ':' or be localhost", ex);
	}
	return build(out, reg, span_of(repository), span_of(tag), span_of(digest));
}

int registry_reference_dup(registry_reference **out, const registry_reference *ref)
{
	REGISTRY__ENTER(rc);
	if (out)
		*out = NULL;
	if (!out || !ref)
		return registry__fail(REGISTRY_EINVAL, "registry_reference_dup: NULL argument");
	/* From the normalized parts: build() is what made @ref, so the copy is equal. */
	return build(out, span_of(ref->registry), span_of(ref->repository), span_of(ref->tag),
	             span_of(ref->digest));
}

int registry_reference_equal(const registry_reference *a, const registry_reference *b)
{
	/* The canonical string holds every part, normalized. */
	return a && b && strcmp(a->string, b->string) == 0;
}

int registry_reference_validate_repository(const char *name)
{
	REGISTRY__ENTER(rc);
	if (!name)
		return registry__fail(REGISTRY_EINVAL, "NULL repository name");
	return registry__reference_check_repository(name, strlen(name));
}

int registry_reference_validate_tag(const char *tag)
{
	REGISTRY__ENTER(rc);
	if (!tag)
		return registry__fail(REGISTRY_EINVAL, "NULL tag");
	return registry__reference_check_tag(tag, strlen(tag));
}

const char *registry_reference_registry(const registry_reference *ref)
{
	return ref ? ref->registry : NULL;
}

const char *registry_reference_api_host(const registry_reference *ref)
{
	if (!ref)
		return NULL;
	return strcmp(ref->registry, DOCKER_HUB) == 0 ? DOCKER_HUB_API : ref->registry;
}

const char *registry_reference_repository(const registry_reference *ref)
{
	return ref ? ref->repository : NULL;
}

const char *registry_reference_tag(const registry_reference *ref)
{
	return ref ? ref->tag : NULL;
}

const char *registry_reference_digest(const registry_reference *ref)
{
	return ref ? ref->digest : NULL;
}

const char *registry_reference_string(const registry_reference *ref)
{
	return ref ? ref->string : NULL;
}

const char *registry_reference_familiar(const registry_reference *ref)
{
	return ref ? ref->familiar : NULL;
}

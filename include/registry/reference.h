/** @file
 * libregistry: image references ("ubuntu", "localhost:5000/ubuntu:Kana-1",
 * "host:5000/a/b:tag@sha256:<hex>").
 *
 * A reference names a repository on a registry, and optionally a tag and a
 * digest. Parsing normalizes as Docker does:
 * ~~~
 *   ubuntu                         -> docker.io/library/ubuntu:latest
 *   index.docker.io/library/ubuntu -> docker.io/library/ubuntu:latest
 *   localhost:5000/ubuntu:Kana-1   -> localhost:5000/ubuntu:Kana-1
 *   ubuntu@sha256:<hex>            -> docker.io/library/ubuntu@sha256:<hex>
 * ~~~
 * The first path component is a registry host only when it contains '.' or
 * ':', or is "localhost" (a bracketed IPv6 literal such as "[::1]:5000"
 * contains ':'); otherwise the registry is docker.io. On docker.io a
 * one-component repository gets "library/". A reference with neither tag
 * nor digest gets the tag "latest"; one with a digest only keeps no tag.
 *
 * Grammar (OCI distribution / Docker):
 * ~~~
 *   registry   host [":" port]   host: DNS labels, an IPv4 address or
 *                                "[" IPv6 "]"; port 1-65535
 *   repository component ("/" component)*, lowercase only,
 *              component [a-z0-9]+ ((. | _ | __ | -+) [a-z0-9]+)*
 *   tag        [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest     accepted by registry_digest_validate()
 * ~~~
 * "registry/repository" is at most 255 characters.
 *
 * A parsed reference is immutable: any number of threads may read it.
 */
#ifndef REGISTRY_REFERENCE_H
#define REGISTRY_REFERENCE_H

#include <registry/common.h>

REGISTRY_BEGIN_DECLS

/** Opaque parsed and normalized image reference; immutable. @since 0.1 */
typedef struct registry_reference registry_reference;

/** Longest "registry/repository" name accepted. @since 0.1 */
#define REGISTRY_REFERENCE_NAME_MAX 255
/** Longest tag accepted. @since 0.1 */
#define REGISTRY_REFERENCE_TAG_MAX 128

/**
 * Parse and normalize a reference, as `docker pull` would read it.
 * @param out receives the reference (NULL on failure); free with
 *        registry_reference_free().
 * @param text the reference; copied.
 * @return 0; REGISTRY_EINVAL for NULL arguments; REGISTRY_EFORMAT when the
 *         text is malformed (the message of registry_error_last() names the
 *         wrong part: registry host, repository component, tag, digest or
 *         length; an uppercase repository gives "repository name must be
 *         lowercase"); REGISTRY_EUNSUPPORTED for a well-formed digest of an
 *         algorithm other than sha256/sha512; REGISTRY_ENOMEM.
 * @since 0.1
 */
REGISTRY_API int registry_reference_parse(registry_reference **out, const char *text);

/**
 * Build a reference from its parts, validated and normalized as
 * registry_reference_parse() would ("index.docker.io" becomes "docker.io",
 * a one-component docker.io repository gets "library/").
 * @param out receives the reference (NULL on failure); free with
 *        registry_reference_free().
 * @param registry the registry host with optional port, or NULL for
 *        "docker.io". It must read as a host in a reference: contain '.' or
 *        ':', or be "localhost".
 * @param repository the repository path, e.g. "library/ubuntu"; required.
 * @param tag the tag or NULL.
 * @param digest the digest or NULL. When both @p tag and @p digest are NULL
 *        the tag is "latest".
 * @return 0, REGISTRY_EINVAL (NULL out or repository), REGISTRY_EFORMAT,
 *         REGISTRY_EUNSUPPORTED (digest algorithm), REGISTRY_ENOMEM.
 * @since 0.1
 */
REGISTRY_API int registry_reference_new(registry_reference **out, const char *registry,
                                        const char *repository, const char *tag,
                                        const char *digest);

/** Free a reference; NULL is accepted. @since 0.1 */
REGISTRY_API void registry_reference_free(registry_reference *ref);

/**
 * A copy of @p ref, independent of it (references are immutable, so a copy
 * is what a second owner, such as another thread, needs).
 * @param out receives the copy (NULL on failure); free with
 *        registry_reference_free().
 * @param ref the reference to copy.
 * @return 0, REGISTRY_EINVAL (NULL argument), REGISTRY_ENOMEM.
 * @since 1.0
 */
REGISTRY_API int registry_reference_dup(registry_reference **out, const registry_reference *ref);

/**
 * Whether two references name the same thing: the same registry,
 * repository, tag and digest after normalization ("ubuntu" and
 * "docker.io/library/ubuntu:latest" are equal; "ubuntu:22.04" and
 * "ubuntu@sha256:..." are not, even when the tag points at that digest).
 * @return 1 or 0 (0 when either is NULL), never an error.
 * @since 1.0
 */
REGISTRY_API int registry_reference_equal(const registry_reference *a, const registry_reference *b);

/**
 * The registry as written in references: "docker.io", "localhost:5000",
 * "[::1]:5000". Borrowed from @p ref; NULL if @p ref is NULL.
 * @since 0.1
 */
REGISTRY_API const char *registry_reference_registry(const registry_reference *ref);

/**
 * The host[:port] to send API requests to: "registry-1.docker.io" for
 * docker.io, otherwise the same as registry_reference_registry(). Borrowed
 * from @p ref; NULL if @p ref is NULL.
 * @since 0.1
 */
REGISTRY_API const char *registry_reference_api_host(const registry_reference *ref);

/** The repository path, e.g. "library/ubuntu". Borrowed; NULL if @p ref is NULL. @since 0.1 */
REGISTRY_API const char *registry_reference_repository(const registry_reference *ref);

/** The tag, or NULL when the reference has none (digest only). Borrowed. @since 0.1 */
REGISTRY_API const char *registry_reference_tag(const registry_reference *ref);

/** The digest ("sha256:<hex>"), or NULL when the reference has none. Borrowed. @since 0.1 */
REGISTRY_API const char *registry_reference_digest(const registry_reference *ref);

/**
 * The canonical full form, "registry/repository[:tag][@digest]", e.g.
 * "docker.io/library/ubuntu:latest". Parsing it gives back an equal
 * reference. Borrowed from @p ref; NULL if @p ref is NULL.
 * @since 0.1
 */
REGISTRY_API const char *registry_reference_string(const registry_reference *ref);

/**
 * Docker's short form: "docker.io/" and "library/" dropped where Docker
 * drops them ("ubuntu:latest", "user/app:1", "localhost:5000/ubuntu:Kana-1").
 * A docker.io repository whose first component would read as a host (such
 * as "docker.io/foo.bar/x") keeps "docker.io/", so that the short form
 * still parses back to the same reference. Borrowed; NULL if @p ref is NULL.
 * @since 0.1
 */
REGISTRY_API const char *registry_reference_familiar(const registry_reference *ref);

/**
 * Validate a repository path ("library/ubuntu", "a/b/c"), without registry,
 * tag or digest.
 * @return 0, REGISTRY_EINVAL for NULL, REGISTRY_EFORMAT (message names the
 *         wrong component, or says it must be lowercase, or too long).
 * @since 0.1
 */
REGISTRY_API int registry_reference_validate_repository(const char *name);

/**
 * Validate a tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
 * @return 0, REGISTRY_EINVAL for NULL, REGISTRY_EFORMAT.
 * @since 0.1
 */
REGISTRY_API int registry_reference_validate_tag(const char *tag);

REGISTRY_END_DECLS

#endif

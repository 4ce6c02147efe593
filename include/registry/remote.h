/** @file
 * libregistry: manifests on a registry — resolve, fetch, put, delete.
 *
 * Every manifest request offers, in this order of preference, the OCI
 * index, the OCI manifest, the Docker manifest list, Docker schema2 and
 * Docker schema1 (signed and unsigned): registry 2.8 answers 404 for an OCI
 * manifest when the OCI types are not offered, and converts a schema2 image
 * to a freshly signed schema1 when schema2 is not.
 *
 * A manifest fetched by digest is verified against that digest; one
 * fetched by tag against the registry's Docker-Content-Digest, when sent.
 *
 * Threads: these calls use their registry_client for their whole run (see
 * client.h: one thread at a time per client); a registry_list keeps using
 * its client and is used by one thread at a time too.
 */
#ifndef REGISTRY_REMOTE_H
#define REGISTRY_REMOTE_H

#include <registry/common.h>
#include <registry/client.h>
#include <registry/manifest.h>

REGISTRY_BEGIN_DECLS

/** The Accept header value sent with every manifest request. @since 0.1 */
#define REGISTRY_MANIFEST_ACCEPT                                                          \
	"application/vnd.oci.image.index.v1+json, "                                       \
	"application/vnd.oci.image.manifest.v1+json, "                                    \
	"application/vnd.docker.distribution.manifest.list.v2+json, "                     \
	"application/vnd.docker.distribution.manifest.v2+json, "                          \
	"application/vnd.docker.distribution.manifest.v1+prettyjws, "                     \
	"application/vnd.docker.distribution.manifest.v1+json"

/**
 * Resolve a tag or digest to the manifest's digest, media type and size
 * with HEAD (Docker Hub does not count HEADs against its pull limit),
 * falling back to GET when the registry sends no Docker-Content-Digest.
 * @param repository e.g. "library/ubuntu".
 * @param reference a tag or a digest.
 * @param digest, media_type receive strings the caller frees with
 *        registry_free(); either may be NULL. @param size may be NULL.
 * @return 0, REGISTRY_ENOTFOUND, REGISTRY_EFORMAT (bad repository,
 *         reference, or a digest header that is not a digest),
 *         REGISTRY_EDIGEST (a GET fallback whose bytes do not match the
 *         requested digest), transport errors.
 * @since 0.1 (out-parameters first since 0.2)
 */
REGISTRY_API int registry_manifest_resolve(char **digest, char **media_type,
                                           int64_t *size, registry_client *client,
                                           const char *repository, const char *reference);

/**
 * Options of registry_manifest_fetch(). Initialise with
 * REGISTRY_MANIFEST_FETCH_OPTIONS_INIT or
 * registry_manifest_fetch_options_init(); zero fields mean the default.
 * @since 1.0
 */
typedef struct registry_manifest_fetch_options {
	unsigned int version; /**< REGISTRY_MANIFEST_FETCH_OPTIONS_VERSION */
	unsigned int flags;   /**< none defined yet: must be 0 */
	size_t max_size;      /**< cap on the body; 0 means REGISTRY_MANIFEST_MAX_SIZE_DEFAULT (4 MiB) */
} registry_manifest_fetch_options;

/** Current version of registry_manifest_fetch_options. @since 1.0 */
#define REGISTRY_MANIFEST_FETCH_OPTIONS_VERSION 1
/** Initialiser of registry_manifest_fetch_options: every field the default. @since 1.0 */
#define REGISTRY_MANIFEST_FETCH_OPTIONS_INIT {REGISTRY_MANIFEST_FETCH_OPTIONS_VERSION, 0, 0}

/**
 * Set @p opts to REGISTRY_MANIFEST_FETCH_OPTIONS_INIT.
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.0
 */
REGISTRY_API int registry_manifest_fetch_options_init(registry_manifest_fetch_options *opts);

/**
 * GET and parse a manifest, verified as described above.
 * @param opts NULL for the defaults. A body larger than its max_size is
 *        REGISTRY_ETOOLARGE.
 * @return 0, REGISTRY_ENOTFOUND, REGISTRY_EDIGEST, REGISTRY_ETOOLARGE,
 *         REGISTRY_EFORMAT, REGISTRY_EINVAL (NULL argument, options version
 *         0 or newer than this library's, unknown flags), transport errors.
 * @since 1.0 (0.1 took max_size as an argument)
 */
REGISTRY_API int registry_manifest_fetch(registry_manifest **out, registry_client *client,
                                         const char *repository, const char *reference,
                                         const registry_manifest_fetch_options *opts);

/**
 * PUT a manifest under a tag or its digest (the bytes as in
 * registry_manifest_raw(), with its media type as Content-Type), and check
 * the Docker-Content-Digest the registry returns against the manifest's
 * digest.
 * @param digest_out receives the registry's digest (free with
 *        registry_free()); may be NULL.
 * @return 0, REGISTRY_EDIGEST, REGISTRY_EFORMAT (e.g. MANIFEST_INVALID),
 *         REGISTRY_ENOTFOUND (MANIFEST_BLOB_UNKNOWN: push the blobs first),
 *         REGISTRY_EDENIED, transport errors.
 * @since 0.1 (out-parameters first since 0.2)
 */
REGISTRY_API int registry_manifest_push(char **digest_out, registry_client *client,
                                        const char *repository, const char *reference,
                                        const registry_manifest *manifest);

/** registry_manifest_delete_options flag: delete the manifest even when other
 *  tags still point at it (they go with it). @since 1.0 */
#define REGISTRY_DELETE_FORCE 0x1u

/** At most this many tags of the repository are resolved to find the other
 *  tags of a manifest; a repository with more is refused (REGISTRY_ECONFLICT)
 *  unless REGISTRY_DELETE_FORCE is given. @since 1.0 */
#define REGISTRY_DELETE_TAGS_MAX 1000

/** Options of registry_manifest_delete(). @since 1.0 */
typedef struct registry_manifest_delete_options {
	unsigned int version; /**< REGISTRY_MANIFEST_DELETE_OPTIONS_VERSION */
	unsigned int flags;   /**< REGISTRY_DELETE_FORCE, or 0 */
} registry_manifest_delete_options;

/** The current version of registry_manifest_delete_options. @since 1.0 */
#define REGISTRY_MANIFEST_DELETE_OPTIONS_VERSION 1
/** Defaults for registry_manifest_delete_options. @since 1.0 */
#define REGISTRY_MANIFEST_DELETE_OPTIONS_INIT { REGISTRY_MANIFEST_DELETE_OPTIONS_VERSION, 0 }

/**
 * Set @p opts to the defaults (REGISTRY_MANIFEST_DELETE_OPTIONS_INIT).
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.0
 */
REGISTRY_API int registry_manifest_delete_options_init(registry_manifest_delete_options *opts);

/**
 * DELETE a manifest, or a tag.
 *
 * A tag is first deleted as a tag (OCI distribution 1.1: DELETE
 * /v2/NAME/manifests/TAG removes the tag only). Registries without that
 * (registry 2.8 answers 400 DIGEST_INVALID; the spec allows 400 or 405)
 * delete by digest only, which removes every tag pointing at the
 * manifest: the tag is then resolved (HEAD) and, unless
 * REGISTRY_DELETE_FORCE is set, the repository's tags are listed and
 * resolved (at most REGISTRY_DELETE_TAGS_MAX of them) and the delete is
 * refused when any other tag points at the same manifest. A digest is
 * deleted directly, with the same check: refused while a tag points at it.
 * @param digest_out receives the digest of the manifest deleted (or the one
 *        the deleted tag pointed at); free with registry_free(). May be NULL.
 * @param reference a tag or a digest.
 * @param opts NULL for the defaults.
 * @return 0, REGISTRY_EINVAL (bad options), REGISTRY_EFORMAT (bad repository
 *         or reference), REGISTRY_ENOTFOUND, REGISTRY_ECONFLICT (other tags
 *         point at the manifest: the message names them; or the repository
 *         has more than REGISTRY_DELETE_TAGS_MAX tags), REGISTRY_EUNSUPPORTED
 *         (deletion disabled on the registry), REGISTRY_EDENIED, transport
 *         errors.
 * @since 1.0 (0.1 took no digest_out and no options, and deleted every tag)
 */
REGISTRY_API int registry_manifest_delete(char **digest_out, registry_client *client,
                                          const char *repository, const char *reference,
                                          const registry_manifest_delete_options *opts);

/** Iterator over a paged list (tags of a repository, or the catalog). @since 0.1 */
typedef struct registry_list registry_list;

/**
 * Options of registry_list_tags_open() and registry_list_catalog_open().
 * Initialise with REGISTRY_LIST_OPTIONS_INIT or registry_list_options_init();
 * zero fields mean the default.
 * @since 1.0
 */
typedef struct registry_list_options {
	unsigned int version;   /**< REGISTRY_LIST_OPTIONS_VERSION */
	unsigned int flags;     /**< none defined yet: must be 0 */
	unsigned int page_size; /**< the n parameter; 0 for the registry's default */
	const char *last;       /**< NULL, or the last parameter of the first page: the listing
	                             resumes after this name (copied; at most 1024 bytes) */
} registry_list_options;

/** Current version of registry_list_options. @since 1.0 */
#define REGISTRY_LIST_OPTIONS_VERSION 1
/** Initialiser of registry_list_options: every field the default. @since 1.0 */
#define REGISTRY_LIST_OPTIONS_INIT {REGISTRY_LIST_OPTIONS_VERSION, 0, 0, NULL}

/**
 * Set @p opts to REGISTRY_LIST_OPTIONS_INIT.
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.0
 */
REGISTRY_API int registry_list_options_init(registry_list_options *opts);

/**
 * List the tags of @p repository, page by page, lazily: each page is
 * fetched when registry_list_next() runs out (GET
 * /v2/NAME/tags/list?n=&last=, then the registry's Link header; a repeated
 * page ends the list).
 * @param opts NULL for the defaults.
 * @return 0, REGISTRY_EFORMAT (bad repository), REGISTRY_EINVAL (NULL
 *         argument, options version 0 or newer than this library's, unknown
 *         flags, page_size above INT_MAX, empty or overlong last),
 *         REGISTRY_ENOMEM. Network errors surface from registry_list_next().
 * @since 1.0 (0.1 was registry_tags_open() with an int page_size)
 */
REGISTRY_API int registry_list_tags_open(registry_list **out, registry_client *client,
                                         const char *repository, const registry_list_options *opts);

/**
 * The same over the registry's catalog of repositories (GET /v2/_catalog,
 * token scope registry:catalog:*).
 * @param opts NULL for the defaults.
 * @return as registry_list_tags_open().
 * @since 1.0 (0.1 was registry_catalog_open() with an int page_size)
 */
REGISTRY_API int registry_list_catalog_open(registry_list **out, registry_client *client,
                                            const registry_list_options *opts);

/**
 * Next name: 0 with *name set (borrowed, valid until the next call), or 0
 * with *name NULL at the end; negative codes on failure (ENOTFOUND for an
 * unknown repository, transport errors, EFORMAT for a malformed page,
 * ETOOLARGE past the 1 MiB page cap).
 * @since 0.1 (out-parameters first since 0.2)
 */
REGISTRY_API int registry_list_next(const char **name, registry_list *list);

/** Free an iterator; NULL is accepted. @since 0.1 */
REGISTRY_API void registry_list_free(registry_list *list);

/**
 * Options of registry_referrers_fetch(). Initialise with
 * REGISTRY_REFERRERS_FETCH_OPTIONS_INIT or
 * registry_referrers_fetch_options_init(); zero fields mean the default.
 * @since 1.0
 */
typedef struct registry_referrers_fetch_options {
	unsigned int version;      /**< REGISTRY_REFERRERS_FETCH_OPTIONS_VERSION */
	unsigned int flags;        /**< none defined yet: must be 0 */
	const char *artifact_type; /**< filter, or NULL for all (applied client-side too) */
	size_t max_size;           /**< cap on each page (and on the fallback tag's index); 0 means
	                                REGISTRY_MANIFEST_MAX_SIZE_DEFAULT (4 MiB) */
} registry_referrers_fetch_options;

/** Current version of registry_referrers_fetch_options. @since 1.0 */
#define REGISTRY_REFERRERS_FETCH_OPTIONS_VERSION 1
/** Initialiser of registry_referrers_fetch_options: every field the default. @since 1.0 */
#define REGISTRY_REFERRERS_FETCH_OPTIONS_INIT {REGISTRY_REFERRERS_FETCH_OPTIONS_VERSION, 0, NULL, 0}

/**
 * Set @p opts to REGISTRY_REFERRERS_FETCH_OPTIONS_INIT.
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.0
 */
REGISTRY_API int registry_referrers_fetch_options_init(registry_referrers_fetch_options *opts);

/**
 * The referrers of @p digest (manifests whose subject is it) as an OCI
 * index: GET /v2/NAME/referrers/DIGEST[?artifactType=], falling back to the
 * "sha256-<hex>" tag schema when the registry answers 404 (an empty index
 * when neither exists).
 * @param out receives the index; free with registry_manifest_free().
 * @param opts NULL for the defaults.
 * @return 0, REGISTRY_EINVAL (NULL argument, an artifact type that is not a
 *         media type, options version 0 or newer than this library's,
 *         unknown flags), REGISTRY_EFORMAT (bad digest or repository, or
 *         a "sha256-<hex>" tag that is not an index), REGISTRY_ETOOLARGE,
 *         REGISTRY_EPROTOCOL, transport errors.
 * @since 1.0 (0.1 was registry_referrers() with a positional artifact_type)
 */
REGISTRY_API int registry_referrers_fetch(registry_manifest **out, registry_client *client,
                                          const char *repository, const char *digest,
                                          const registry_referrers_fetch_options *opts);

REGISTRY_END_DECLS

#endif

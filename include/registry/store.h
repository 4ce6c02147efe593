/** @file
 * libregistry: the local content store, an OCI image layout on disk.
 *
 *   STORE/oci-layout        {"imageLayoutVersion":"1.0.0"}
 *   STORE/index.json        an OCI image index: the named roots
 *   STORE/blobs/sha256/HEX  content, named by its digest (sha512 too)
 *   STORE/blobs/.partial/   downloads in progress and temporary files
 *
 * A store is what skopeo and umoci call an "oci:" layout, so other tools can
 * read what the library writes. Content is identified by digest only: a file
 * appears under blobs/ALG/ by an atomic rename, and only after its bytes were
 * hashed and found to match its name. Digests are validated with
 * registry_digest_validate() before any path is built from them.
 *
 * A layout is untrusted input: its files are opened without following a
 * symbolic link at any component below its directory (blobs/, blobs/ALG/,
 * each blob, index.json, oci-layout), and only regular files are accepted
 * (REGISTRY_EFORMAT otherwise; a FIFO is refused, never waited on).
 *
 * Several processes may use one store at once: writes of the same blob are
 * serialized by a lock on its partial file (the second writer waits and then
 * finds the blob committed), index.json updates are serialized by a lock on
 * oci-layout and re-read what other processes wrote, and registry_store_gc()
 * runs only while no other handle has the store open. Tools that do not know
 * these locks (skopeo) must not write into a store that is in use.
 *
 * A handle is not thread-safe: use one per thread, or lock around it.
 * See docs/store.md for the layout, partial files, locking, verify and gc.
 */
#ifndef REGISTRY_STORE_H
#define REGISTRY_STORE_H

#include <registry/common.h>
#include <registry/manifest.h>

REGISTRY_BEGIN_DECLS

/** An open store (opaque). @since 0.1 */
typedef struct registry_store registry_store;

/** registry_store_open(): create the directory (and its parents) and an empty layout when there is none. @since 0.1 (a macro since 0.2) */
#define REGISTRY_STORE_CREATE 0x1u

/** The annotation that names an index.json entry ("latest"). @since 0.1 */
#define REGISTRY_STORE_REF_NAME_ANNOTATION "org.opencontainers.image.ref.name"

/** Largest index.json read or written: 64 MiB (0.1: the manifest cap, 4
 *  MiB). An index.json is the store's own, not a registry's manifest, and
 *  holds one entry per stored reference. @since 0.1 */
#define REGISTRY_STORE_INDEX_MAX_SIZE ((size_t)64 << 20)

/** Most entries index.json may hold: 100000 (0.1: 4096). @since 1.0 */
#define REGISTRY_STORE_INDEX_MAX_ENTRIES 100000

/**
 * Open an OCI image layout, or create one.
 *
 * An existing layout must have an `oci-layout` file with
 * imageLayoutVersion "1.0.0" and an `index.json` that parses as an OCI image
 * index (at most REGISTRY_STORE_INDEX_MAX_SIZE bytes, at most
 * REGISTRY_STORE_INDEX_MAX_ENTRIES entries).
 * With REGISTRY_STORE_CREATE a missing directory is created with its
 * parents, and a missing `oci-layout` and `index.json` are written
 * (index.json empty: {"schemaVersion":2, "mediaType": OCI index,
 * "manifests":[]}); files already there are kept. Creating is safe against
 * another process creating the same store.
 *
 * The handle keeps a shared lock on the store's blobs/ directory until
 * registry_store_free() (see registry_store_gc()); opening waits while a
 * gc runs elsewhere.
 *
 * @param out receives the store; free with registry_store_free().
 * @param path the layout's directory (copied; made absolute).
 * @param flags 0 or REGISTRY_STORE_CREATE.
 * @return 0; REGISTRY_EINVAL (NULL argument, unknown flag);
 *         REGISTRY_ENOTFOUND (no such directory, or no oci-layout and no
 *         CREATE); REGISTRY_EFORMAT (oci-layout or index.json malformed,
 *         a symbolic link or not a regular file, or not a directory); REGISTRY_EUNSUPPORTED (another imageLayoutVersion);
 *         REGISTRY_ETOOLARGE (index.json over the cap); REGISTRY_EIO;
 *         REGISTRY_ENOMEM.
 * @since 0.1
 */
REGISTRY_API int registry_store_open(registry_store **out, const char *path, unsigned int flags);

/** Close a store and release its locks; NULL is accepted. @since 0.1 */
REGISTRY_API void registry_store_free(registry_store *s);

/** The store's absolute directory, borrowed from @p s; NULL for NULL. @since 0.1 */
REGISTRY_API const char *registry_store_path(const registry_store *s);

/**
 * Whether the store holds a blob. The content is not read (see
 * registry_store_verify()).
 * @param digest "sha256:<hex>" or "sha512:<hex>".
 * @return 1 when present, 0 when not, or a NEGATIVE error code: test
 *         `rc == 1`, never just `if (registry_store_has(...))`, which takes
 *         an error for "present". The errors: REGISTRY_EINVAL (NULL);
 *         REGISTRY_EFORMAT or REGISTRY_EUNSUPPORTED (digest rejected by
 *         registry_digest_validate()); REGISTRY_EFORMAT (the blob, or
 *         blobs/ALG, is a symbolic link or not a regular file); REGISTRY_EIO.
 * @since 0.1
 */
REGISTRY_API int registry_store_has(const registry_store *s, const char *digest);

/**
 * Size in bytes of a stored blob.
 * @param size receives the size.
 * @return 0; REGISTRY_ENOTFOUND; errors of registry_store_has().
 * @since 0.1 (out-parameters first since 0.2)
 */
REGISTRY_API int registry_store_blob_size(int64_t *size, const registry_store *s, const char *digest);

/**
 * Absolute path of a stored blob, to read it with other tools. Do not write
 * to it.
 * @param path receives a NUL-terminated string; free with registry_free().
 * @return 0; REGISTRY_ENOTFOUND (not in the store); errors of
 *         registry_store_has(); REGISTRY_ENOMEM.
 * @since 0.1 (out-parameters first since 0.2)
 */
REGISTRY_API int registry_store_blob_path(char **path, const registry_store *s, const char *digest);

/**
 * Read a small blob (a manifest, a config) into memory and check that its
 * bytes hash to @p digest.
 * @param max_size the largest blob accepted; 0 means
 *        REGISTRY_MANIFEST_MAX_SIZE_DEFAULT (4 MiB).
 * @param data receives the bytes, followed by a NUL that @p len does not
 *        count; free with registry_free().
 * @param len receives the length.
 * @return 0; REGISTRY_ENOTFOUND; REGISTRY_ETOOLARGE (bigger than
 *         @p max_size; nothing is read); REGISTRY_EDIGEST (the stored bytes
 *         do not match: the store is damaged); errors of
 *         registry_store_has(); REGISTRY_EIO; REGISTRY_ENOMEM.
 * @since 0.1 (out-parameters first since 0.2)
 */
REGISTRY_API int registry_store_read_blob(void **data, size_t *len, const registry_store *s,
                                          const char *digest, size_t max_size);

/**
 * Add a blob from memory. The bytes are hashed first: when they do not match
 * @p expected_digest nothing is written. A blob already present is not
 * written again.
 * @param expected_digest the digest the bytes must have, or NULL to store
 *        them under their sha256 digest.
 * @param data the bytes (NULL only when @p len is 0).
 * @param digest_out NULL, or receives the blob's digest (free with
 *        registry_free()); NULL on failure.
 * @return 0; REGISTRY_EINVAL (NULL @p s, NULL @p data with a length);
 *         REGISTRY_EDIGEST ("digest mismatch: expected X, got Y");
 *         REGISTRY_EFORMAT or REGISTRY_EUNSUPPORTED (bad expected digest);
 *         REGISTRY_EIO; REGISTRY_ENOMEM.
 * @since 0.1 (an allocated @p digest_out since 0.2; out-parameters first since 0.2)
 */
REGISTRY_API int registry_store_add_blob(char **digest_out, registry_store *s,
                                         const char *expected_digest, const void *data, size_t len);

/**
 * Add a blob from a file, streamed (any size): copied into a temporary file
 * inside the store while it is hashed, then renamed into place when it
 * matches. When the store already has @p expected_digest the file is not
 * read.
 * @param digest_out receives the digest the blob is stored under (free with
 *        registry_free()), or NULL; NULL after a failure.
 * @param expected_digest the digest the file must have, or NULL to store it
 *        under its sha256 digest.
 * @param file the path of the file to copy.
 * @return 0; REGISTRY_EINVAL (NULL @p s or @p file); REGISTRY_ENOTFOUND (no
 *         such file); REGISTRY_EDIGEST (mismatch; nothing is kept);
 *         REGISTRY_EFORMAT or REGISTRY_EUNSUPPORTED (bad expected digest);
 *         REGISTRY_EIO; REGISTRY_ENOMEM.
 * @since 0.1 (@p digest_out since 0.2; registry_store_import_file before 0.2)
 */
REGISTRY_API int registry_store_add_blob_file(char **digest_out, registry_store *s, const char *expected_digest,
                                              const char *file);

/**
 * Number of entries in index.json, as this handle last read or wrote it
 * (at open, and at each registry_store_index_add() or _remove(), which
 * re-read the file first).
 * @return the number of entries; 0 for a NULL store (never an error).
 * @since 0.1
 */
REGISTRY_API size_t registry_store_index_count(const registry_store *s);

/**
 * Entry @p i of index.json, in file order; NULL when out of range. Read it
 * with the registry_descriptor_* accessors of manifest.h. Borrowed: valid
 * until the next registry_store_index_add(), _remove() or
 * registry_store_free() on this handle.
 * @since 0.1
 */
REGISTRY_API const registry_descriptor *registry_store_index_entry(const registry_store *s, size_t i);

/**
 * Find the index.json entry whose org.opencontainers.image.ref.name
 * annotation is @p ref_name (the first one, if several).
 * @param out receives the entry, borrowed as registry_store_index_entry().
 * @return 0; REGISTRY_EINVAL (NULL argument); REGISTRY_ENOTFOUND.
 * @since 0.1 (out-parameters first since 0.2)
 */
REGISTRY_API int registry_store_index_find(const registry_descriptor **out, const registry_store *s,
                                           const char *ref_name);

/**
 * Add a root to index.json, or replace the entry that has the same ref name
 * (in place). An entry without a ref name replaces one with the same digest
 * and no ref name, else it is appended. The blob must be in the store with
 * exactly `entry->size` bytes.
 *
 * Under an exclusive lock on oci-layout, index.json is re-read (so entries
 * other processes added are kept), changed, and written atomically: a
 * temporary file in the store, fsync, rename, fsync of the directory. The
 * file is written deterministically by registry_manifest_builder_build():
 * entries in order, 3-space indentation, annotation keys sorted.
 *
 * @param entry the descriptor: media type (usually an OCI manifest or
 *        index), digest, size, and optionally artifactType, urls,
 *        annotations and platform (os, architecture, variant, os.version,
 *        os.features: what a multi-platform layout's entries carry), as in
 *        registry_manifest_builder_add_manifest(). Copied.
 * @param ref_name the name ("latest", "v1.0"; the OCI ref.name grammar:
 *        [A-Za-z0-9]+ components joined by "-", ".", "_", ":", "@", "+",
 *        "--" or "/"), or NULL for the ref.name key of
 *        `entry->annotations`, if any, else an unnamed root; @p ref_name
 *        wins over a ref.name key.
 * @return 0; REGISTRY_EINVAL (NULL @p s, @p entry or media type, a spec
 *         version 0 or newer than this library's, malformed media type or
 *         ref name, size outside [0, 2^53), size differs from the stored
 *         blob's, odd annotation list, more than 4096 annotations, a
 *         platform with os but no architecture or the reverse, invalid
 *         UTF-8); REGISTRY_ENOTFOUND (the blob is not in the store); errors
 *         of registry_store_has();
 *         REGISTRY_EFORMAT (index.json was damaged by someone else);
 *         REGISTRY_ETOOLARGE (index.json would exceed REGISTRY_STORE_INDEX_MAX_ENTRIES
 *         entries or REGISTRY_STORE_INDEX_MAX_SIZE bytes); REGISTRY_EIO;
 *         REGISTRY_ENOMEM. On failure index.json is unchanged.
 * @since 0.1 (a registry_descriptor_spec since 0.2)
 */
REGISTRY_API int registry_store_index_add(registry_store *s, const registry_descriptor_spec *entry,
                                          const char *ref_name);

/**
 * Start a batch of additions to index.json on this handle: until
 * registry_store_index_batch_commit(), registry_store_index_add() checks
 * its arguments and the blob as usual but only records the addition, and
 * the commit applies all of them in one rewrite of index.json (each
 * addition alone rewrites the whole file: n additions to a large index
 * would cost n rewrites). The result is the same as the additions made one
 * after the other. Until the commit, index_find, _count and _entry show
 * index.json as it was, and registry_store_index_remove() is refused.
 * @return 0; REGISTRY_EINVAL (NULL, or a batch is already open);
 *         REGISTRY_ENOMEM.
 * @since 1.0
 */
REGISTRY_API int registry_store_index_batch_begin(registry_store *s);

/**
 * Apply the batch's additions to index.json in one rewrite, with the
 * locking and atomic replacement of registry_store_index_add() (index.json
 * is re-read under the lock, so other processes' changes are kept), and
 * close the batch, whatever the result.
 * @return 0; REGISTRY_EINVAL (no batch open); REGISTRY_ETOOLARGE (more than
 *         REGISTRY_STORE_INDEX_MAX_ENTRIES entries or
 *         REGISTRY_STORE_INDEX_MAX_SIZE bytes); the errors of
 *         registry_store_index_add(). On failure index.json is unchanged.
 * @since 1.0
 */
REGISTRY_API int registry_store_index_batch_commit(registry_store *s);

/**
 * Drop the open batch's additions (index.json is unchanged); nothing when
 * no batch is open. registry_store_free() drops an uncommitted batch too.
 * @since 1.0
 */
REGISTRY_API void registry_store_index_batch_abort(registry_store *s);

/**
 * Remove index.json entries: those whose ref name is @p ref_name_or_digest,
 * and those whose digest is it. The blobs stay (see registry_store_gc()).
 * Locking and writing as registry_store_index_add().
 * @return 0; REGISTRY_EINVAL (NULL); REGISTRY_ENOTFOUND (no entry matched);
 *         REGISTRY_EFORMAT; REGISTRY_EIO; REGISTRY_ENOMEM.
 * @since 0.1
 */
REGISTRY_API int registry_store_index_remove(registry_store *s, const char *ref_name_or_digest);

/**
 * Called by registry_store_verify() once per problem: @p digest is the
 * blob's digest (or, for a file whose name is not a digest, its path
 * relative to the store), @p reason a one-line description. Return 0 to go
 * on, non-zero to stop the check.
 * @since 1.0
 */
typedef int (*registry_store_verify_cb)(const char *digest, const char *reason, void *userdata);

/** Current version of registry_store_verify_options. @since 1.0 */
#define REGISTRY_STORE_VERIFY_OPTIONS_VERSION 1

/**
 * Options of registry_store_verify(). Initialise with
 * REGISTRY_STORE_VERIFY_OPTIONS_INIT or registry_store_verify_options_init();
 * zero fields mean the default.
 * @since 1.0
 */
typedef struct registry_store_verify_options {
	unsigned int version;            /**< REGISTRY_STORE_VERIFY_OPTIONS_VERSION */
	unsigned int flags;              /**< none defined yet: 0 */
	registry_store_verify_cb problem; /**< NULL, or called once per problem */
	void *userdata;                  /**< passed to @p problem */
} registry_store_verify_options;

/** Initialiser of registry_store_verify_options. @since 1.0 */
#define REGISTRY_STORE_VERIFY_OPTIONS_INIT { REGISTRY_STORE_VERIFY_OPTIONS_VERSION, 0, NULL, NULL }

/**
 * Set @p opts to REGISTRY_STORE_VERIFY_OPTIONS_INIT.
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.0
 */
REGISTRY_API int registry_store_verify_options_init(registry_store_verify_options *opts);

/**
 * Check the whole store. Every file in blobs/ALG/ is read and hashed: a
 * name that is not a digest, a file that is not a regular file, or content
 * that does not hash to the name is a problem. Then everything reachable
 * from index.json (indexes, manifests, configs, layers, walked through the
 * manifests in the store) must be present with the size its descriptor
 * says; foreign layers (descriptors with "urls") and "subject" manifests
 * may be absent. Nothing is changed or deleted.
 *
 * @param opts NULL for the defaults. Its `problem` callback, when set, is
 *        called once per problem with the blob's digest (or, for a file
 *        whose name is not a digest, its path relative to the store) and a
 *        one-line reason; a non-zero return stops the check.
 * @param nbad NULL, or receives the number of problems found.
 * @return 0 when the store is sound; REGISTRY_EDIGEST when problems were
 *         found (the message describes the first); REGISTRY_ECANCELED
 *         (the callback returned non-zero); REGISTRY_EINVAL (NULL store,
 *         options version 0 or newer than this library's, unknown flags);
 *         REGISTRY_EIO; REGISTRY_ENOMEM.
 * @since 0.1 (options and a const store since 0.2; out-parameters first since 0.2)
 */
REGISTRY_API int registry_store_verify(size_t *nbad, const registry_store *s,
                                       const registry_store_verify_options *opts);

/** Current version of registry_store_gc_options. @since 1.0 */
#define REGISTRY_STORE_GC_OPTIONS_VERSION 1

/**
 * Flag of registry_store_gc_options: delete nothing, only count what would
 * be deleted. @since 1.0
 */
#define REGISTRY_STORE_GC_DRY_RUN 0x1u

/**
 * Options of registry_store_gc(). Initialise with
 * REGISTRY_STORE_GC_OPTIONS_INIT or registry_store_gc_options_init(); zero
 * fields mean the default.
 * @since 1.0
 */
typedef struct registry_store_gc_options {
	unsigned int version;      /**< REGISTRY_STORE_GC_OPTIONS_VERSION */
	unsigned int flags;        /**< REGISTRY_STORE_GC_DRY_RUN */
	/** partial downloads and temporary files untouched for longer than this
	 * many seconds are deleted; 0: a day (86400); negative: REGISTRY_EINVAL */
	int64_t partial_max_age_s;
} registry_store_gc_options;

/** Initialiser of registry_store_gc_options. @since 1.0 */
#define REGISTRY_STORE_GC_OPTIONS_INIT { REGISTRY_STORE_GC_OPTIONS_VERSION, 0, 0 }

/**
 * Set @p opts to REGISTRY_STORE_GC_OPTIONS_INIT.
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.0
 */
REGISTRY_API int registry_store_gc_options_init(registry_store_gc_options *opts);

/**
 * Delete the blobs that nothing in index.json reaches (through indexes,
 * manifests, configs, layers and subjects read from the store), and partial
 * downloads and temporary files untouched for longer than
 * `opts->partial_max_age_s` (by default a day).
 *
 * The walk is conservative: when a reachable manifest cannot be read or
 * parsed, nothing is deleted and its error is returned. gc needs the store
 * to itself, even for a dry run: it takes an exclusive lock on blobs/ and
 * fails with REGISTRY_ECONFLICT while another handle (in this process or
 * another) has the store open, so blobs a running pull committed but has
 * not yet added to index.json are never lost (nor counted).
 *
 * @param opts NULL for the defaults.
 * @param removed NULL, or receives the number of files deleted (blobs and
 *        stale partial files), or with REGISTRY_STORE_GC_DRY_RUN the number
 *        that would be.
 * @return 0; REGISTRY_EINVAL (NULL store, options version 0 or newer than
 *         this library's, unknown flags, a negative partial_max_age_s);
 *         REGISTRY_ECONFLICT; REGISTRY_EDIGEST,
 *         REGISTRY_EFORMAT or REGISTRY_EUNSUPPORTED (a reachable manifest is
 *         damaged or unreadable); REGISTRY_EIO; REGISTRY_ENOMEM.
 * @since 0.1 (options since 0.2; out-parameters first since 0.2)
 */
REGISTRY_API int registry_store_gc(size_t *removed, registry_store *s, const registry_store_gc_options *opts);

REGISTRY_END_DECLS

#endif

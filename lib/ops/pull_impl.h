/*
 * Private helpers of pull, conversion and export (lib/ops/pull.c,
 * convert.c, export.c, export_sink.c). Not installed.
 */
#ifndef REGISTRY_PULL_IMPL_H
#define REGISTRY_PULL_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "blob/upload_impl.h"
#include "internal.h"

/* The annotation that keeps the digest a converted manifest had on the registry. */
#define REGISTRY__SOURCE_DIGEST_ANNOTATION REGISTRY_ANNOTATION_SOURCE_DIGEST

/* ---- JSON text, Go style (pull_json.c) ---- */

/* One top-level member of a JSON object, as raw text of the document. */
typedef struct registry__json_member {
	const char *key;       /* decoded key (borrowed from a cJSON tree) */
	const char *raw_key;   /* the key as written, quotes included */
	size_t raw_key_len;
	const char *raw_value; /* the value as written */
	size_t raw_value_len;
} registry__json_member;

/*
 * Split a JSON object into its top-level members, in document order, with a
 * later duplicate key replacing an earlier one (as Go's map decoding does).
 * *members is malloc'ed (free it, and then *tree with cJSON_Delete via
 * registry__json_members_free). REGISTRY_EFORMAT when @text is not an object.
 */
int registry__json_members(const char *text, size_t len, void **tree,
                           registry__json_member **members, size_t *count);
void registry__json_members_free(void *tree, registry__json_member *members);

/*
 * Append @s as a JSON string the way Go's encoding/json writes it: "<", ">",
 * "&", U+2028, U+2029 and control bytes as \u escapes (\n, \r, \t short),
 * invalid UTF-8 as \ufffd.
 */
int registry__json_go_string(registry__buf *b, const char *s);

/* ---- conversion to OCI (convert.c) ---- */

/* The OCI media type for a Docker layer or config media type; OCI types map to themselves; NULL if unknown. */
const char *registry__oci_media_type(const char *media_type);

/*
 * A Docker schema2 manifest as an OCI image manifest (config and layer media
 * types mapped, descriptors otherwise unchanged), built with the manifest
 * builder. REGISTRY_EUNSUPPORTED for a layer type with no OCI equivalent.
 */
int registry__convert_docker_manifest(registry_manifest **out, const registry_manifest *m);

/*
 * An OCI index from a Docker list or an OCI index whose entries were
 * replaced: entry i becomes (media_types[i], digests[i], sizes[i]), with its
 * platform and annotations kept.
 */
int registry__convert_index(registry_manifest **out, const registry_manifest *src,
                            const char *const *media_types, const char *const *digests,
                            const int64_t *sizes);

/* A schema1 manifest read again from its bytes: entries base first. */
typedef struct registry__schema1 {
	size_t count;
	const char **blob_sums; /* digest of each fsLayers entry */
	const char **v1;        /* v1Compatibility text */
	const char **ids;       /* its "id", or NULL */
	const char **parents;   /* its "parent", or NULL */
	unsigned char *throwaway;
	void *tree;    /* cJSON of the manifest */
	void **v1trees; /* cJSON of each v1Compatibility */
} registry__schema1;

/*
 * Read fsLayers and history of a schema1 manifest (signed or not), base
 * first, with consecutive entries of the same v1 id folded into one as
 * Docker and containers/image do. REGISTRY_EFORMAT for malformed history.
 */
int registry__schema1_load(registry__schema1 *s, const registry_manifest *m);
void registry__schema1_free(registry__schema1 *s);

/*
 * The image config containers/image synthesizes for a schema1 image: the
 * newest v1Compatibility without id, parent, parent_id, layer_id, throwaway
 * and Size, plus "history" (one entry per v1 entry, base first, empty_layer
 * for throwaway ones) and "rootfs" {"type":"layers","diff_ids":...}; keys
 * sorted and text compacted as Go's encoding/json writes them. @diff_ids
 * has one entry per non-throwaway entry, base first. *out is NUL-terminated;
 * free with registry_free().
 */
int registry__schema1_config(char **out, size_t *len, const registry__schema1 *s,
                             const char *const *diff_ids, size_t n_diff_ids);

/* 1 when built with zlib (schema1 diff_ids can be computed), else 0. */
int registry__have_zlib(void);

/* ---- cancel and progress of local work (watch.c) ---- */

/*
 * The schema1 diff_ids and the docker export read whole layers with no
 * request running. A watch, stepped at every buffer (far less than 100 ms
 * of work), asks the client's cancel hook each time and reports RUNNING for
 * the blob at hand to the progress callback at most every 100 ms. A NULL
 * watch (registry_store_export: no client, no callback) asks nothing.
 */
typedef struct registry__watch {
	registry_client *client;   /* its cancel hook; may be NULL */
	registry__progress_ctx prog; /* cb/ud: the caller's callback, may be NULL */
	const char *what;          /* "export": names the operation in messages */
	const char *digest;        /* the blob at hand */
	int64_t done, total;
	double last_report;
} registry__watch;

/* The counts of a phase: @blobs blobs, @bytes in all (-1 unknown). */
void registry__watch_plan(registry__watch *w, size_t blobs, int64_t bytes);
/* A blob of @total bytes (-1 unknown) starts. */
void registry__watch_blob(registry__watch *w, const char *digest, int64_t total);
/* @n more bytes of it: 0, or REGISTRY_ECANCELED (recorded). */
int registry__watch_step(registry__watch *w, int64_t n);
/* The blob at hand is finished (counted, reported): 0 or REGISTRY_ECANCELED. */
int registry__watch_blob_done(registry__watch *w);

/*
 * The diff_id of a layer file: sha256 of its bytes after gunzip (streamed;
 * concatenated gzip members are followed), or of the bytes themselves when
 * they are not gzip. @gzipped (may be NULL) receives whether it was gzip.
 * REGISTRY_EUNSUPPORTED without zlib; REGISTRY_EFORMAT for a damaged gzip
 * stream; REGISTRY_ENOTFOUND; REGISTRY_EIO.
 */
int registry__layer_diff_id(char out[REGISTRY_DIGEST_STRING_MAX], const char *path, int *gzipped,
                            registry__watch *w);
/* The same for the open file @fd (read from its offset; the caller closes
 * it), @what naming it in messages. */
int registry__layer_diff_id_fd(char out[REGISTRY_DIGEST_STRING_MAX], int fd, const char *what, int *gzipped,
                               registry__watch *w);
/* The same for blob @digest of @store, opened as the store opens its files. */
int registry__store_layer_diff_id(char out[REGISTRY_DIGEST_STRING_MAX], registry_store *store,
                                  const char *digest, int *gzipped, registry__watch *w);

/*
 * Convert a schema1 image whose layers are in @store: diff_ids from the
 * layers, the synthesized config written into the store, and an OCI
 * manifest over the non-throwaway layers (sizes from the store). @w (may be
 * NULL) watches the diff_id pass.
 */
int registry__convert_schema1(registry_manifest **out, registry_store *store,
                              const registry_manifest *m, registry__watch *w);

/* ---- the end of a pull (pull.c), shared with the event-loop pull ---- */

/*
 * @image's blobs are in @store: store its manifest (converted to OCI unless
 * o->flags has REGISTRY_PULL_PRESERVE_DIGESTS; not schema1, whose
 * conversion reads the layers) and add the index.json entry @ref_name, as
 * registry_pull() does; *digest_out (may be NULL) the entry's digest.
 */
int registry__pull_store_image(char **digest_out, registry_client *client, const char *repository,
                               registry_store *store, const registry_pull_options *o,
                               const registry_manifest *image, const char *ref_name);

/* What the store keeps of @m (not schema1): *built NULL for @m as served
 * (an OCI manifest, or REGISTRY_PULL_PRESERVE_DIGESTS in @flags), else its
 * OCI conversion. 0, REGISTRY_EUNSUPPORTED, or a conversion's failure. */
int registry__pull_stored_manifest(registry_manifest **built, const registry_manifest *m, unsigned int flags);
/* The index.json entry for what @source became (@media_type, @digest,
 * @size): annotated with @source's digest when converted; @annotations is
 * the caller's room for that list. */
void registry__pull_entry_spec(registry_descriptor_spec *spec, const char *annotations[3], const char *media_type,
                               const char *digest, int64_t size, const registry_manifest *source);

/* ---- export (export.c) ---- */

/* registry_store_export() with the option to hard-link blobs into a folder,
 * watched by @w (may be NULL). */
int registry__store_export(registry_store *store, const char *ref_name, const char *dest, int format,
                           const char *repo_tag, int may_link, registry__watch *w);

/* The index.json entry named @ref_name (a ref name or a manifest digest). */
int registry__store_find_entry(registry_store *store, const char *ref_name, const registry_descriptor **out);
/* The image manifest an entry names: itself, or of an index the entry for
 * @platform (NULL: the only entry, or the host's). */
int registry__store_resolve_image(registry_store *store, const registry_descriptor *entry,
                                  const registry_platform *platform, registry_manifest **out);

/* ---- export sinks (export_sink.c): where the files of a docker-load image go ---- */

/*
 * Remove a directory tree we created (no symlinks followed). 0 or
 * REGISTRY_EIO, recorded unless @quiet (to keep an earlier error's message).
 */
int registry__remove_tree(const char *path, int quiet);

typedef struct registry__sink registry__sink;

/*
 * A folder (built under a temporary name next to @dest, renamed into place
 * by _commit; @dest must not exist or be an empty folder) or a tarball
 * (written to a temporary file, renamed by _commit). @may_link lets the
 * folder hard-link blobs instead of copying them.
 */
int registry__sink_open(registry__sink **out, const char *dest, int format, int may_link);
int registry__sink_dir(registry__sink *s, const char *name);
int registry__sink_file(registry__sink *s, const char *name, const void *data, size_t len);
/* A file whose content is the open file @in (@size bytes, from offset 0;
 * the caller closes it), hard-linked when allowed, else streamed and
 * watched by @w (may be NULL). */
int registry__sink_copy(registry__sink *s, const char *name, int in, int64_t size, registry__watch *w);
int registry__sink_commit(registry__sink *s);
/* Free; without a commit everything written is removed. NULL ok. */
void registry__sink_free(registry__sink *s);

/*
 * @dest without trailing slashes, in *out (free it). REGISTRY_EINVAL for a
 * path that names no new entry ("", "/", ".", "..", "x/..").
 */
int registry__dest_path(const char *dest, char **out);

/* Whether @dest can receive an export of @format (checked before pulling). */
int registry__sink_check_dest(const char *dest, int format);

#endif

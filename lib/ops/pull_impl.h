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
/*
 * The OCI image a schema1 image @s becomes, as containers/image makes it:
 * *out the manifest, *config (*config_len bytes, malloc'd) its config, to be
 * stored by the caller; @diff_ids, @sizes and @gzipped for its n layers that
 * are not throwaway, in order. registry__convert_schema1 computes those and
 * stores the config.
 */
int registry__schema1_build(registry_manifest **out, char **config, size_t *config_len, const registry__schema1 *s,
                            const char *const *diff_ids, const int64_t *sizes, const unsigned char *gzipped,
                            size_t n);

/* registry_pull_options checked (version, flags, platform) and copied
 * into *@full field by field, only those the caller's version has (an older
 * caller's struct is shorter); NULL: the defaults. 0, or EINVAL recorded
 * naming @fn. */
int registry__pull_options_full(const char *fn, const registry_pull_options *o, registry_pull_options *full);

/* 1 when built with zlib (schema1 diff_ids can be computed), else 0. */
int registry__have_zlib(void);

/*
 * A layer's diff_id computed a piece at a time (the event loop's schema1
 * conversion): _begin opens @store's blob @digest; _step goes on for about
 * @max_work bytes read and hashed, and returns 1 (more to do), 0 (done:
 * @out and *@gzipped set) or a failure (recorded); _free at any time.
 * registry__store_layer_diff_id is the same in one go.
 */
typedef struct registry__diffid registry__diffid;
struct registry__watch;
int registry__diffid_begin(registry__diffid **out, registry_store *store, const char *digest,
                           struct registry__watch *w);
int registry__diffid_step(registry__diffid *d, size_t max_work, char out[REGISTRY_DIGEST_STRING_MAX], int *gzipped);
void registry__diffid_free(registry__diffid *d);

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

/* ---- the steps of a pull (pull.c), shared with the event-loop pull ---- */

/* What a manifest became in the store. */
typedef struct registry__pull_stored {
	char *media_type;
	char *digest;
	int64_t size;
} registry__pull_stored;

/* Told which image manifest a pull is about to fetch the blobs of (after
 * the platform choice), on the pull's thread; once per endpoint tried. */
typedef struct registry__pull_hook {
	void (*image)(const registry_manifest *image, void *ud);
	void *ud;
} registry__pull_hook;

/* One pull at one endpoint (a mirror or the primary). */
typedef struct registry__pull_job {
	registry_client *client;
	const char *repository;
	registry_store *store;
	unsigned int flags;
	const registry_pull_options *o;
	const registry__pull_hook *hook; /* may be NULL */
	/* NULL: a foreign layer is fetched at once, blocking; else it is
	 * handed here with the add's ud (loop mode fetches it with the blobs). */
	int (*add_foreign)(void *ud, const registry_descriptor *d);
	registry_manifest *top;      /* as served */
	registry_manifest *child;    /* one platform of an index: its image */
	registry__pull_stored image_stored;  /* one image: what it became in the store */
	registry__pull_stored *entry_stored; /* every platform: what each entry of top became */
	size_t n_entries;
	registry__pull_stored top_stored;
} registry__pull_job;

void registry__pull_job_free(registry__pull_job *j);
/* The blobs image @m needs in the store, through @add (0 or a failure,
 * which stops): config and layers (foreign ones only with
 * REGISTRY_PULL_FOREIGN_LAYERS, fetched here from their URLs or handed to
 * j->add_foreign), or for a
 * schema1 image (@s1 loaded) its fsLayers, size unknown (-1), the empty
 * throwaway ones only when digests are preserved. Repeats are possible. */
int registry__pull_image_blobs(registry__pull_job *j, const registry_manifest *m, const registry__schema1 *s1,
                               int (*add)(void *ud, const char *digest, int64_t size), void *ud);
/* Store @m's manifest, its blobs being in the store: converted to OCI
 * unless j->flags has REGISTRY_PULL_PRESERVE_DIGESTS (a schema1 image is
 * converted from its layers, a pass over all of them), recorded in *out. */
int registry__pull_store_manifest(registry__pull_job *j, const registry_manifest *m, registry__pull_stored *out);
struct registry__fanout;
/* Every platform of the index j->top: j->entry_stored allocated, one per
 * entry, and *f started on it (f->first says which entries repeat a
 * child). ENOTFOUND for an index without entries. */
int registry__pull_entries_begin(registry__pull_job *j, struct registry__fanout *f);
/* Each entry that names the child of an earlier one (@first, per entry)
 * gets that entry's record. */
int registry__pull_fill_repeats(registry__pull_job *j, const size_t *first);
/* The index j->top with what each entry became (j->entry_stored), into
 * j->top_stored (as served when nothing changed). */
int registry__pull_store_index(registry__pull_job *j);
/* What registry__pull_store_index stores, not stored: *built the converted
 * index, or NULL for j->top as served. */
int registry__pull_built_index(registry__pull_job *j, registry_manifest **built);
/* *s set to copies of @media_type and @digest, and @size (an earlier
 * record freed): 0 or REGISTRY_ENOMEM. */
int registry__pull_stored_set(registry__pull_stored *s, const char *media_type, const char *digest, int64_t size);
/* The index.json entry @ref_name naming what @source became (@entry); the
 * referrers when asked; *digest_out (may be NULL) the entry's digest. */
int registry__pull_index_entry(registry__pull_job *j, const registry__pull_stored *entry,
                               const registry_manifest *source, const char *ref_name, char **digest_out);

/* ---- registry_pull_to()'s destinations (pull.c), shared with the event-loop pull ---- */

/* Where a pull into a folder or file goes: an OCI layout is the store
 * itself; the Docker and root filesystem formats pull into a temporary
 * store next to the destination, written out at the end. */
/* REGISTRY_PULL_UNPACK_DEVICES refused (EINVAL, recorded for @fn) unless
 * @format is a root filesystem one (-1: a pull into a store). */
int registry__pull_devices_check(const char *fn, unsigned int flags, int format);
/* The registry_unpack_options.flags that pull @pull_flags ask for. */
unsigned int registry__pull_unpack_flags(unsigned int pull_flags);

typedef struct registry__pull_dest {
	int format;
	char *path;       /* the destination without trailing slashes (not OCI) */
	char *tmp;        /* the temporary store's folder (not OCI) */
	char *repo_tag;   /* "name:tag" for docker load, or NULL */
	registry_store *store; /* what to pull into */
	const char *name; /* the index.json name to pull as */
	registry_pull_options o; /* the options to pull with */
	int written;      /* the pull wrote the destination itself (a pipelined unpack) */
} registry__pull_dest;

/* Check @dest for @format (as registry_pull_to() does) and open the store
 * to pull into, with @name (borrowed) for an OCI layout. @options are
 * checked already. On failure, free with registry__pull_dest_free(). */
int registry__pull_dest_open(registry__pull_dest *d, const registry_reference *ref, const char *name,
                             const char *dest, int format, const registry_pull_options *options);
/* After the pull into d->store ended with @rc: when it succeeded, the
 * image written out in d->format (the export or the unpack: a pass over
 * every layer); the temporary store removed; *digest_out freed when the
 * result is a failure. Frees @d. Returns the call's result. */
int registry__pull_dest_finish(registry__pull_dest *d, registry_client *client, int rc, char **digest_out);
/* A docker destination's export (d->tmp set) deferred, for an event loop
 * (registry__store_export_deferred): *out to run; then d->written = 1 and
 * registry__pull_dest_finish removes the temporary store. */
struct registry__sink;
int registry__pull_dest_export_deferred(registry__pull_dest *d, registry_client *client, struct registry__sink **out);
/* d->format is a root filesystem (a folder or a tar): the store is unpacked. */
int registry__pull_dest_unpacks(const registry__pull_dest *d);
/* The unpack options of such a destination (platform, progress). */
void registry__pull_dest_unpack_options(const registry__pull_dest *d, registry_unpack_options *u);
/* Free without finishing (removes the temporary store). NULL fields ok. */
void registry__pull_dest_free(registry__pull_dest *d);

/* registry_pull() with @hook (may be NULL), for callers inside the library. */
int registry__pull_hooked(char **digest_out, registry_client *client, const registry_reference *ref,
                          registry_store *store, const char *ref_name, const registry_pull_options *options,
                          const registry__pull_hook *hook);

/* ---- a pull to a root filesystem, layers applied as they arrive (pull_unpack.c) ---- */

/*
 * registry_pull() of @ref into @store (a fresh temporary one) with its
 * layers applied in order to the directory @dest (@tar 0) or the tar file
 * @dest (@tar 1) while later layers still download; @o as checked by
 * registry_pull_to(). Falls back to pulling first and unpacking after for
 * a schema1 image.
 */
int registry__pull_unpack(char **digest_out, registry_client *client, const registry_reference *ref,
                          registry_store *store, const char *dest, int tar, const registry_pull_options *o);

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
/* The same, deferred (registry__sink_defer): every write queued in *out,
 * watched by a copy of @w, to be run by registry__sink_run, then
 * registry__sink_finish and _place; freed with registry__sink_free. */
struct registry__sink;
int registry__store_export_deferred(struct registry__sink **out, registry_store *store, const char *ref_name,
                                    const char *dest, int format, const char *repo_tag, int may_link,
                                    const registry__watch *w);

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
/* The blob @digest of @store as the file @name: opened, copied (or
 * hard-linked) and watched as a blob of its own by @w (may be NULL). */
int registry__sink_blob(registry__sink *s, registry_store *store, const char *name, const char *digest,
                        registry__watch *w);
/* _finish (the tarball closed) gives the descriptor to fsync; _place
 * (@sync_err: that fsync's errno, or 0) renames into place. _commit is
 * both, with a blocking fsync in between. */
int registry__sink_commit(registry__sink *s);
int registry__sink_finish(registry__sink *s, int *sync_fd);
int registry__sink_place(registry__sink *s, int sync_err);
/*
 * Deferred (an event loop's export): from now on _dir, _file and _blob
 * queue their writes (in order: a tarball's members stay in the blocking
 * export's order; a file's bytes are copied, a blob is named by its
 * digest in @store), and each _run writes them until @spent(@ud) says the
 * slice is over (NULL: to the end), a blob in 256 KiB pieces, watched by
 * a copy of @w (may be NULL): 1 while more is queued, 0 when all is
 * written, or a failure (recorded). Then _finish and _place.
 */
void registry__sink_defer(registry__sink *s, registry_store *store, const registry__watch *w);
int registry__sink_run(registry__sink *s, int (*spent)(void *ud), void *ud);
/* A deferred sink's watch (its copy of @w). */
registry__watch *registry__sink_watch(registry__sink *s);
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

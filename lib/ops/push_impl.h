/* Private helpers shared by push, push_archive and copy (lib/ops/push*.c, copy.c). */
#ifndef REGISTRY_OPS_PUSH_IMPL_H
#define REGISTRY_OPS_PUSH_IMPL_H

#include "blob/upload_impl.h"
#include "internal.h"

/* The gzip of an empty tar that schema1 "throwaway" history entries name. */
#define REGISTRY__EMPTY_LAYER_DIGEST \
	"sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"
#define REGISTRY__EMPTY_LAYER_SIZE 32

/* The blobs of an operation, each once, in first-seen order. */
typedef struct registry__blob_item {
	char *digest;
	int64_t size; /* -1: unknown */
	int foreign;  /* the descriptor has "urls": registries accept it absent */
} registry__blob_item;

typedef struct registry__blob_list {
	registry__blob_item *items;
	size_t n, cap;
} registry__blob_list;

/* 1 added, 0 already there, or a negative code. */
int registry__blob_list_add(registry__blob_list *l, const char *digest, int64_t size, int foreign);
int registry__blob_list_has(const registry__blob_list *l, const char *digest);
void registry__blob_list_free(registry__blob_list *l);
/* Config, layers (and the empty layer of schema1 throwaway entries) of an
 * image manifest. */
int registry__blob_list_add_image(registry__blob_list *l, const registry_manifest *m);
/* Sum of the sizes, -1 if one is unknown. */
int64_t registry__blob_list_total(const registry__blob_list *l);

/*
 * The reference to PUT the top manifest under: the target's tag, else its
 * digest (which must be the manifest's), else the manifest's digest. Also
 * checks the repository. Borrowed from @target or @m.
 */
int registry__push_reference(const registry_reference *target, const registry_manifest *m,
                             const char **repository, const char **reference);

/* What push, push_archive and copy share of their options, once checked. */
typedef struct registry__push_settings {
	size_t chunk_size;
	registry_progress_cb progress;
	void *userdata;
	const registry_platform *platform;
	unsigned int flags;
} registry__push_settings;

/* The shared fields of any of the three options structs (same names in each). */
#define REGISTRY__PUSH_SETTINGS(o)                                                           \
	((registry__push_settings){.chunk_size = (o)->chunk_size, .progress = (o)->progress, \
	                           .userdata = (o)->userdata, .flags = (o)->flags})

/* What registry_push sends, read from the store before anything is sent:
 * the root manifest, the index children the store holds (deepest first),
 * the children it lacks (they must be on the registry), every blob. */
typedef struct registry__push_plan {
	registry_store *store;
	char *root_digest, *media_type;
	registry_manifest *root;
	const char *repo, *reference; /* borrowed from the target or the root */
	registry__blob_list blobs;
	registry__blob_list seen;        /* manifests already collected */
	registry_manifest **children;    /* manifests to push by digest, in order */
	size_t nchildren, capchildren;
	registry__blob_list remote_only; /* children the store lacks */
} registry__push_plan;

/* The plan of pushing @ref_name of @store to @target. Free it in any case. */
int registry__push_plan_make(registry__push_plan *p, registry_store *store, const char *ref_name,
                             const registry_reference *target);
void registry__push_plan_free(registry__push_plan *p);
/* Progress over the plan's blobs, as registry_push counts it. */
void registry__push_progress_init(registry__progress_ctx *prog, const registry__push_plan *p,
                                  const registry__push_settings *set);
/* registry_push_options checked as registry_push checks them (@fn names the caller). */
int registry__push_check_options(const char *fn, const registry_push_options *options);
/* A blob the store lacks, after asking the registry (@exists 1 or 0):
 * skipped (counted) when there, else ENOTFOUND unless foreign. */
int registry__push_remote_blob_judge(registry__progress_ctx *prog, const registry__blob_item *b,
                                     const char *repo, int exists);
/* A store blob opened as the upload reads it, its size checked against
 * @b's descriptor. */
int registry__push_open_local(int *fd, int64_t *size, registry_store *store, const registry__blob_item *b);
/* The error of an index child neither in the store nor on the registry. */
int registry__push_remote_manifest_missing(const registry__push_plan *p, const char *digest);

#endif

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

#endif

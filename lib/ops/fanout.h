/*
 * The children of an index, for operations that take every platform (pull
 * with REGISTRY_PULL_ALL_PLATFORMS, copy with REGISTRY_COPY_ALL_PLATFORMS): each distinct child fetched once, in
 * batches, so that memory is bounded by a budget and not by the number of
 * entries (up to 4096, each up to the manifest size cap).
 *
 * Budget: a batch holds children (as served) of at most
 * REGISTRY__FANOUT_BUDGET bytes together, judged by each entry's declared
 * size before it is fetched; a batch always holds at least one child, so
 * the bytes held are at most the budget plus one manifest (the size cap,
 * 4 MiB by default), and the parsed trees of those. Entries naming a child
 * that was fetched already (the same digest) are not fetched again. An
 * ordinary index (a few platforms of a few KB) is one batch.
 */
#ifndef REGISTRY_OPS_FANOUT_H
#define REGISTRY_OPS_FANOUT_H

#include "internal.h"

#define REGISTRY__FANOUT_BUDGET ((size_t)8 << 20)

typedef struct registry__fanout {
	registry_client *client;
	const char *repository;
	size_t max_manifest_size; /* 0: the default cap */
	const registry_manifest *index;
	size_t count;  /* entries of the index */
	size_t *first; /* per entry: the first entry that names the same child */
	size_t pos;    /* the next entry to look at */
	/* the current batch: distinct children and the entry each came from */
	registry_manifest **batch;
	size_t *batch_entry;
	size_t n;
} registry__fanout;

/* Start on @index (borrowed, like @c and @repository, for the fanout's life).
 * 0 or REGISTRY_ENOMEM (recorded). */
int registry__fanout_init(registry__fanout *f, registry_client *c, const char *repository,
                          const registry_manifest *index, size_t max_manifest_size);

/*
 * Free the current batch and fetch the next: f->batch[0 .. f->n) are image
 * manifests (an index inside the index is REGISTRY_EUNSUPPORTED), f->n == 0
 * when every child was handed out. Errors are recorded.
 */
int registry__fanout_next(registry__fanout *f);

/* Free everything; safe on a zeroed or failed fanout. */
void registry__fanout_free(registry__fanout *f);

#endif

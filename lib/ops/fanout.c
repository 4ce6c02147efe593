/* The children of an index, each fetched once, in batches bounded by a byte
 * budget (see fanout.h). */
#include <stdlib.h>
#include <string.h>

#include "fanout.h"

static int oom(void)
{
	return registry__fail(REGISTRY_ENOMEM, "out of memory");
}

static const char *entry_digest(const registry__fanout *f, size_t i)
{
	return registry_descriptor_digest(registry_manifest_entry(f->index, i));
}

typedef struct entry_key {
	const char *digest;
	size_t index;
} entry_key;

/* By digest, then by position: the first of equal digests comes first. */
static int cmp_entry(const void *a, const void *b)
{
	const entry_key *x = a, *y = b;
	int c = strcmp(x->digest, y->digest);
	return c ? c : (x->index > y->index) - (x->index < y->index);
}

int registry__fanout_init(registry__fanout *f, registry_client *c, const char *repository,
                          const registry_manifest *index, size_t max_manifest_size)
{
	memset(f, 0, sizeof(*f));
	f->client = c;
	f->repository = repository;
	f->index = index;
	f->max_manifest_size = max_manifest_size;
	f->count = registry_manifest_entry_count(index);
	size_t alloc = f->count ? f->count : 1;
	entry_key *keys = calloc(alloc, sizeof(*keys));
	f->first = calloc(alloc, sizeof(*f->first));
	f->batch = calloc(alloc, sizeof(registry_manifest *));
	f->batch_entry = calloc(alloc, sizeof(*f->batch_entry));
	if (!keys || !f->first || !f->batch || !f->batch_entry) {
		free(keys);
		registry__fanout_free(f);
		return oom();
	}
	for (size_t i = 0; i < f->count; i++)
		keys[i] = (entry_key){entry_digest(f, i), i};
	qsort(keys, f->count, sizeof(*keys), cmp_entry);
	for (size_t k = 0; k < f->count; k++) {
		int same = k > 0 && strcmp(keys[k].digest, keys[k - 1].digest) == 0;
		f->first[keys[k].index] = same ? f->first[keys[k - 1].index] : keys[k].index;
	}
	free(keys);
	return 0;
}

static void batch_clear(registry__fanout *f)
{
	for (size_t i = 0; i < f->n; i++) {
		registry_manifest_free(f->batch[i]);
		f->batch[i] = NULL;
	}
	f->n = 0;
}

int registry__fanout_next(registry__fanout *f)
{
	batch_clear(f);
	size_t held = 0;
	for (; f->pos < f->count; f->pos++) {
		size_t i = f->pos;
		if (f->first[i] != i)
			continue; /* the same child as an earlier entry: fetched then */
		int64_t declared = registry_descriptor_size(registry_manifest_entry(f->index, i));
		if (f->n > 0 && held + (declared > 0 ? (uint64_t)declared : 0) > REGISTRY__FANOUT_BUDGET)
			break;
		registry_manifest *m = NULL;
		registry_manifest_fetch_options fo = REGISTRY_MANIFEST_FETCH_OPTIONS_INIT;
		fo.max_size = f->max_manifest_size;
		int rc = registry_manifest_fetch(&m, f->client, f->repository, entry_digest(f, i), &fo);
		if (rc)
			return rc;
		if (registry_manifest_kind(m) != REGISTRY_MANIFEST_IMAGE) {
			registry_manifest_free(m);
			return registry__fail(REGISTRY_EUNSUPPORTED, "index %s: entry %zu (%s) is an index; an "
			                      "index inside an index is not supported",
			                      registry_manifest_digest(f->index), i, entry_digest(f, i));
		}
		size_t len = 0;
		registry_manifest_raw(m, &len);
		held += len;
		f->batch[f->n] = m;
		f->batch_entry[f->n++] = i;
	}
	return 0;
}

void registry__fanout_free(registry__fanout *f)
{
	if (f->batch)
		batch_clear(f);
	free(f->batch);
	free(f->batch_entry);
	free(f->first);
	memset(f, 0, sizeof(*f));
}

/*
 * The set of paths a layer wrote, so that its whiteouts remove only what
 * lower layers made (the image spec: "whiteout files MUST only apply to
 * resources in lower/parent layers"). Open addressing over copies of the
 * names; bounded, since a layer is hostile: past the limit the layer is
 * refused rather than memory spent without end.
 */
#include <stdlib.h>
#include <string.h>

#include "pathset.h"

#define PATHSET_MAX_BYTES ((size_t)64 << 20)

static uint64_t hash_of(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

void registry__pathset_clear(registry__pathset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slots[i].key);
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

static int grow(registry__pathset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 1024;
	registry__pathset_slot *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return registry__nomem();
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->slots[i].key)
			continue;
		size_t j = hash_of(s->slots[i].key) & (cap - 1);
		while (slots[j].key)
			j = (j + 1) & (cap - 1);
		slots[j] = s->slots[i];
	}
	free(s->slots);
	s->slots = slots;
	s->cap = cap;
	return 0;
}

static registry__pathset_slot *find(const registry__pathset *s, const char *path)
{
	if (!s->cap)
		return NULL;
	for (size_t j = hash_of(path) & (s->cap - 1); s->slots[j].key; j = (j + 1) & (s->cap - 1))
		if (strcmp(s->slots[j].key, path) == 0)
			return &s->slots[j];
	return NULL;
}

int registry__pathset_has(const registry__pathset *s, const char *path)
{
	return find(s, path) != NULL;
}

size_t *registry__pathset_value(registry__pathset *s, const char *path)
{
	registry__pathset_slot *slot = find(s, path);
	return slot ? &slot->value : NULL;
}

int registry__pathset_add(registry__pathset *s, const char *path)
{
	if (registry__pathset_has(s, path))
		return 0;
	size_t len = strlen(path) + 1;
	if (s->bytes + len + sizeof(registry__pathset_slot) * 2 > PATHSET_MAX_BYTES)
		return registry__fail(REGISTRY_ETOOLARGE, "layer has too many entries (more than %zu MiB of names)",
		                      PATHSET_MAX_BYTES >> 20);
	int rc = 0;
	if ((s->count + 1) * 2 > s->cap && (rc = grow(s)))
		return rc;
	char *copy = registry__strdup(path);
	if (!copy)
		return registry__nomem();
	size_t j = hash_of(path) & (s->cap - 1);
	while (s->slots[j].key)
		j = (j + 1) & (s->cap - 1);
	s->slots[j] = (registry__pathset_slot){.key = copy, .value = REGISTRY__PATHSET_NONE};
	s->count++;
	s->bytes += len + sizeof(registry__pathset_slot) * 2;
	return 0;
}

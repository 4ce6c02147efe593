/* A bounded set of path strings (pathset.c). Not installed. */
#ifndef REGISTRY_UNPACK_PATHSET_H
#define REGISTRY_UNPACK_PATHSET_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

typedef struct registry__pathset_slot {
	char *key;
	size_t value; /* REGISTRY__PATHSET_NONE unless set */
} registry__pathset_slot;

#define REGISTRY__PATHSET_NONE ((size_t)-1)

typedef struct registry__pathset {
	registry__pathset_slot *slots;
	size_t cap, count, bytes;
} registry__pathset;

/* Add @path (a no-op when present). 0, REGISTRY_ENOMEM, or
 * REGISTRY_ETOOLARGE past the bound (recorded). */
int registry__pathset_add(registry__pathset *s, const char *path);
int registry__pathset_has(const registry__pathset *s, const char *path);
/* The value kept with @path, NULL when @path is not in the set. */
size_t *registry__pathset_value(registry__pathset *s, const char *path);
/* Free every name; the set is empty and reusable. */
void registry__pathset_clear(registry__pathset *s);

#endif

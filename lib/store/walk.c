/*
 * Reachability: everything index.json leads to, through the indexes and
 * manifests stored in the store. Shared by verify and gc.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store_impl.h"

/* ---- a set of digest strings ---- */

void registry__store_set_init(store_digest_set *set)
{
	memset(set, 0, sizeof(*set));
}

void registry__store_set_free(store_digest_set *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->slots[i]);
	free(set->slots);
	memset(set, 0, sizeof(*set));
}

static size_t hash_str(const char *s)
{
	size_t h = 1469598103934665603ull & (size_t)-1; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * (size_t)1099511628211ull;
	return h;
}

static char **find_slot(char **slots, size_t cap, const char *digest)
{
	size_t i = hash_str(digest) & (cap - 1);
	while (slots[i] && strcmp(slots[i], digest) != 0)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static int grow(store_digest_set *set)
{
	size_t cap = set->cap ? set->cap * 2 : 64;
	char **slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	for (size_t i = 0; i < set->cap; i++)
		if (set->slots[i])
			*find_slot(slots, cap, set->slots[i]) = set->slots[i];
	free(set->slots);
	set->slots = slots;
	set->cap = cap;
	return 0;
}

int registry__store_set_add(store_digest_set *set, const char *digest)
{
	if ((set->count + 1) * 2 > set->cap) {
		int rc = grow(set);
		if (rc)
			return rc;
	}
	char **slot = find_slot(set->slots, set->cap, digest);
	if (*slot)
		return 0;
	if (!(*slot = strdup(digest)))
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	set->count++;
	return 1;
}

int registry__store_set_has(const store_digest_set *set, const char *digest)
{
	return set->cap && *find_slot(set->slots, set->cap, digest) != NULL;
}

/* ---- the walk ---- */

typedef struct work_item {
	char *digest;
	char *media_type;
	char *parent;
	int64_t size;
	int optional;
} work_item;

typedef struct work_stack {
	work_item *items;
	size_t count;
	size_t cap;
} work_stack;

static void item_free(work_item *it)
{
	free(it->digest);
	free(it->media_type);
	free(it->parent);
}

static int push(work_stack *st, const registry_descriptor *d, const char *parent, int optional)
{
	if (!d)
		return 0;
	if (st->count == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 32;
		work_item *p = realloc(st->items, cap * sizeof(*p));
		if (!p)
			return registry__fail(REGISTRY_ENOMEM, "out of memory");
		st->items = p;
		st->cap = cap;
	}
	work_item *it = &st->items[st->count];
	it->digest = strdup(registry_descriptor_digest(d));
	it->media_type = strdup(registry_descriptor_media_type(d));
	it->parent = parent ? strdup(parent) : NULL;
	it->size = registry_descriptor_size(d);
	it->optional = optional || registry_descriptor_url_count(d) > 0;
	if (!it->digest || !it->media_type || (parent && !it->parent)) {
		item_free(it);
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	}
	st->count++;
	return 0;
}

static int is_manifest_type(const char *mt)
{
	static const char *const types[] = {
		REGISTRY_MEDIA_TYPE_OCI_MANIFEST, REGISTRY_MEDIA_TYPE_OCI_INDEX,
		REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST, REGISTRY_MEDIA_TYPE_DOCKER_LIST,
		REGISTRY_MEDIA_TYPE_DOCKER_SCHEMA1, REGISTRY_MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED,
	};
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(types); i++)
		if (strcasecmp(mt, types[i]) == 0)
			return 1;
	return 0;
}

/* Push what manifest @it refers to. */
static int expand(const registry_store *s, const work_item *it, registry_manifest **parsed)
{
	char *data;
	size_t len;
	int rc = registry__store_read_blob(s, it->digest, REGISTRY_MANIFEST_MAX_SIZE_DEFAULT, &data, &len);
	if (rc)
		return rc;
	rc = registry_manifest_parse(parsed, data, len, it->media_type, NULL);
	free(data);
	return rc;
}

static int push_children(work_stack *st, const registry_manifest *m, const char *parent)
{
	int rc = push(st, registry_manifest_config(m), parent, 0);
	for (size_t i = 0; !rc && i < registry_manifest_layer_count(m); i++)
		rc = push(st, registry_manifest_layer(m, i), parent, 0);
	for (size_t i = 0; !rc && i < registry_manifest_entry_count(m); i++)
		rc = push(st, registry_manifest_entry(m, i), parent, 0);
	if (!rc)
		rc = push(st, registry_manifest_subject(m), parent, 1);
	return rc;
}

/* Visit one item the first time it is reached, and queue what it refers to. */
static int step(const registry_store *s, work_stack *st, const work_item *it, store_walk_visit_fn visit,
                store_walk_error_fn on_manifest_error, void *ud)
{
	store_walk_visit v = {it->digest, it->media_type, it->size, it->parent, it->optional};
	int rc = visit(&v, ud);
	if (rc || !is_manifest_type(it->media_type))
		return rc;
	registry_manifest *m = NULL;
	rc = expand(s, it, &m);
	if (!rc)
		rc = push_children(st, m, it->digest);
	else if (rc == REGISTRY_ENOTFOUND)
		rc = 0; /* absent: nothing below it to walk (visit saw it missing) */
	else
		rc = on_manifest_error(&v, rc, ud);
	registry_manifest_free(m);
	return rc;
}

int registry__store_walk(const registry_store *s, const registry_manifest *root, store_walk_visit_fn visit,
                store_walk_error_fn on_manifest_error, void *ud)
{
	work_stack st = {0};
	store_digest_set seen;
	registry__store_set_init(&seen);
	int rc = push_children(&st, root, NULL);
	while (!rc && st.count) {
		work_item it = st.items[--st.count];
		int added = registry__store_set_add(&seen, it.digest);
		rc = added < 0 ? added : added ? step(s, &st, &it, visit, on_manifest_error, ud) : 0;
		item_free(&it);
	}
	while (st.count)
		item_free(&st.items[--st.count]);
	free(st.items);
	registry__store_set_free(&seen);
	return rc;
}

const char *const registry__store_algorithms[2] = {"sha256", "sha512"};

int registry__store_hex_name_valid(const char *alg, const char *name)
{
	size_t want = strcmp(alg, "sha512") == 0 ? 128 : 64;
	if (strlen(name) != want)
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

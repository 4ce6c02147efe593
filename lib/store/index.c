/*
 * index.json: the store's named roots. Read with the manifest parser,
 * written with the manifest builder (deterministic bytes), both with the
 * index's own limits, always under the layout lock and by atomic rename.
 * A batch keeps additions in memory and applies them in one rewrite.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest/manifest_impl.h"
#include "store_impl.h"

#define REF_NAME_MAX 1024

/* Re-fail with the current message prefixed by where it came from. */
static int refail(int rc, const char *prefix)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "%s", registry_error_message(registry_error_last()));
	return registry__fail(rc, "%s: %s", prefix, msg);
}

int registry__store_index_load(const registry_store *s, registry_manifest **out)
{
	char *data;
	size_t len;
	*out = NULL;
	int rc = registry__store_read_file_at(s->root_fd, "index.json", REGISTRY_STORE_INDEX_MAX_SIZE, "index.json", &data, &len);
	if (rc == REGISTRY_ENOTFOUND)
		return registry__fail(REGISTRY_EFORMAT, "store: %s has an oci-layout but no index.json", s->path);
	if (rc)
		return rc;
	/* index.json has limits of its own (store.h), not a registry manifest's. */
	rc = registry__manifest_parse_limited(out, data, len, REGISTRY_MEDIA_TYPE_OCI_INDEX, REGISTRY_STORE_INDEX_MAX_SIZE,
	                             REGISTRY_STORE_INDEX_MAX_ENTRIES);
	free(data);
	if (rc) {
		char prefix[300];
		snprintf(prefix, sizeof(prefix), "store: %.256s/index.json", s->path);
		return refail(rc, prefix);
	}
	return 0;
}

struct registry__index_txn {
	registry_store *s;
	int lock_fd, temp_fd;
	registry_manifest *next;
	int renamed;
	dev_t dev; /* of the oci-layout it locks */
	ino_t ino;
	struct registry__index_txn *next_txn; /* this thread's */
};

/* Index updates of event-loop operations (registry__store_index_add_begin)
 * holding a layout lock on this thread: a blocking update of the same
 * layout here must not wait, since only this thread's loop can release it. */
static _Thread_local registry__index_txn *loop_txns;

static int held_by_this_thread(int fd)
{
	struct stat st;
	if (!loop_txns || fstat(fd, &st) != 0)
		return 0;
	for (const registry__index_txn *t = loop_txns; t; t = t->next_txn)
		if (t->dev == st.st_dev && t->ino == st.st_ino)
			return 1;
	return 0;
}

/* Exclusive lock on oci-layout: serializes index.json updates between
 * processes. @nowait: REGISTRY__STORE_BUSY (nothing recorded) when another
 * holder has it. */
static int lock_layout(registry_store *s, int *fd, int nowait)
{
	*fd = openat(s->root_fd, "oci-layout", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (*fd < 0)
		return registry__store_io_fail(errno, "store: cannot open %s/oci-layout", s->path);
	int err = 0;
	if (nowait || held_by_this_thread(*fd)) {
		if ((err = registry__store_flock(*fd, LOCK_EX | LOCK_NB)) == EWOULDBLOCK) {
			close(*fd);
			*fd = -1;
			if (nowait)
				return REGISTRY__STORE_BUSY;
			return registry__fail(REGISTRY_ECONFLICT, "store: %s/index.json is being updated by an "
			                      "event-loop operation of this thread; a blocking update would wait "
			                      "for it forever", s->path);
		}
	} else {
		err = registry__store_flock(*fd, LOCK_EX);
	}
	if (err) {
		close(*fd);
		*fd = -1;
		return registry__store_io_fail(err, "store: cannot lock %s/oci-layout", s->path);
	}
	return 0;
}

/* @m's bytes into the temporary file, open in *@fd: 0 or errno (the file removed). */
static int write_temp(registry_store *s, const registry_manifest *m, int *fd)
{
	s->index_writes++;
	size_t len;
	const void *raw = registry_manifest_raw(m, &len);
	*fd = openat(s->root_fd, STORE_INDEX_TEMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (*fd < 0)
		return errno;
	int err = registry__store_write_all(*fd, raw, len);
	if (err) {
		close(*fd);
		*fd = -1;
		unlinkat(s->root_fd, STORE_INDEX_TEMP, 0);
	}
	return err;
}

/* The temporary file (its fsync done, @err its errno) becomes index.json. */
static int rename_temp(registry_store *s, int err)
{
	if (!err && renameat(s->root_fd, STORE_INDEX_TEMP, s->root_fd, "index.json") != 0)
		err = errno;
	if (err) {
		unlinkat(s->root_fd, STORE_INDEX_TEMP, 0);
		return registry__store_io_fail(err, "store: cannot write %s/index.json", s->path);
	}
	return 0;
}

/* Replace index.json with @m's bytes: temporary file, fsync, rename, fsync the directory. */
static int write_index(registry_store *s, const registry_manifest *m)
{
	int fd;
	int err = write_temp(s, m, &fd);
	if (fd >= 0) {
		if (fsync(fd) != 0)
			err = errno;
		close(fd);
	}
	int rc = rename_temp(s, err);
	return rc ? rc : registry__store_fsync_dir_at(s->root_fd, ".");
}

/* One addition, as registry_store_index_add() was given it, copied: a batch
 * keeps them until its commit. */
typedef struct index_add {
	registry_descriptor_spec spec; /* its strings and lists owned by this addition */
	char *ref_name;     /* effective: the argument, else from the annotations */
	size_t order;       /* position in the batch */
} index_add;

struct store_index_batch {
	index_add *adds;
	size_t count, cap;
};

static const char *entry_ref_name(const registry_descriptor *d)
{
	return registry_descriptor_annotation(d, REGISTRY_STORE_REF_NAME_ANNOTATION);
}

/* An entry's identity for replacement: its ref name, else (no name) its digest. */
typedef struct index_key {
	int named;
	const char *text;
} index_key;

static int key_cmp(index_key a, index_key b)
{
	return a.named != b.named ? a.named - b.named : strcmp(a.text, b.text);
}

static index_key add_key(const index_add *a)
{
	index_key k = {a->ref_name != NULL, a->ref_name ? a->ref_name : a->spec.digest};
	return k;
}

static index_key entry_key(const registry_descriptor *d)
{
	const char *name = entry_ref_name(d);
	index_key k = {name != NULL, name ? name : registry_descriptor_digest(d)};
	return k;
}

static int removed_by(const registry_descriptor *d, const char *remove)
{
	const char *name = entry_ref_name(d);
	return (name && strcmp(name, remove) == 0) || strcmp(registry_descriptor_digest(d), remove) == 0;
}

/* The ref name is the last annotation pair of the copy (add_copy), so it
 * wins over a ref.name key of the caller's: a later pair wins in a spec. */
static int add_new_entry(registry_manifest_builder *b, const index_add *c)
{
	return registry_manifest_builder_add_manifest(b, &c->spec);
}

/* An entry or field of the existing file the builder refuses: report it, change nothing. */
static int not_rewritable(const char *what)
{
	return refail(REGISTRY_EFORMAT, what);
}

/* Copy what index.json has besides its entries: annotations, artifactType, subject. */
static int copy_top_level(registry_manifest_builder *b, const registry_manifest *cur)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < registry_manifest_annotation_count(cur); i++)
		rc = registry_manifest_builder_set_annotation(b, registry_manifest_annotation_key(cur, i),
		                                              registry_manifest_annotation_value(cur, i));
	if (!rc && registry_manifest_artifact_type(cur))
		rc = registry_manifest_builder_set_artifact_type(b, registry_manifest_artifact_type(cur));
	const registry_descriptor *subject = registry_manifest_subject(cur);
	if (!rc && subject) {
		registry_descriptor_spec spec = REGISTRY_DESCRIPTOR_SPEC_INIT;
		spec.media_type = registry_descriptor_media_type(subject);
		spec.digest = registry_descriptor_digest(subject);
		spec.size = registry_descriptor_size(subject);
		rc = registry_manifest_builder_set_subject(b, &spec);
	}
	return rc && rc != REGISTRY_ENOMEM ? not_rewritable("store: index.json cannot be written back") : rc;
}

/* A builder for index.json, with the store's limits, holding @cur's top level. */
static int index_builder(registry_manifest_builder **b, const registry_manifest *cur)
{
	int rc = registry_manifest_builder_new(b, REGISTRY_MEDIA_TYPE_OCI_INDEX);
	if (rc)
		return rc;
	registry__manifest_builder_set_limits(*b, REGISTRY_STORE_INDEX_MAX_SIZE, REGISTRY_STORE_INDEX_MAX_ENTRIES);
	if ((rc = copy_top_level(*b, cur))) {
		registry_manifest_builder_free(*b);
		*b = NULL;
	}
	return rc;
}

/* Keep existing entry @i of index.json as it is (entries written by others
 * too), or write nothing. */
static int keep_entry(registry_manifest_builder *b, const registry_descriptor *d, size_t i)
{
	int rc = registry_manifest_builder_add_descriptor(b, d);
	if (rc && rc != REGISTRY_ENOMEM) {
		char what[96];
		snprintf(what, sizeof(what), "store: index.json manifests[%zu] cannot be written back", i);
		rc = not_rewritable(what);
	}
	return rc;
}

static int too_many(size_t n)
{
	return n > REGISTRY_STORE_INDEX_MAX_ENTRIES
	               ? registry__fail(REGISTRY_ETOOLARGE, "store: index.json would have more than %d entries",
	                                REGISTRY_STORE_INDEX_MAX_ENTRIES)
	               : 0;
}

/* @cur without the entries named or with the digest @remove; *matched counts them. */
static int build_removed(const registry_manifest *cur, const char *remove, registry_manifest **out,
                         size_t *matched)
{
	registry_manifest_builder *b = NULL;
	int rc = index_builder(&b, cur);
	*matched = 0;
	for (size_t i = 0; !rc && i < registry_manifest_entry_count(cur); i++) {
		const registry_descriptor *d = registry_manifest_entry(cur, i);
		if (removed_by(d, remove))
			++*matched;
		else
			rc = keep_entry(b, d, i);
	}
	if (!rc)
		rc = registry_manifest_builder_build(out, b);
	registry_manifest_builder_free(b);
	return rc;
}

/*
 * The additions of a batch, as if made one after the other: an addition
 * replaces the first entry with its key in place (and later duplicates go),
 * else it is appended; the last addition of a key wins, in the place of the
 * first. Sorted by key, so that n entries and k additions cost
 * O((n + k) log k), not n times k.
 */
typedef struct add_group {
	index_key key;
	const index_add *value; /* the last addition of the key */
	size_t first;           /* batch position of the first */
	int placed;
} add_group;

/* Wrappers, so that the arrays sorted below hold structures, not bare pointers. */
typedef struct add_ref {
	const index_add *a;
} add_ref;

typedef struct group_ref {
	add_group *g;
} group_ref;

static int cmp_adds(const void *x, const void *y)
{
	const index_add *a = ((const add_ref *)x)->a, *b = ((const add_ref *)y)->a;
	int c = key_cmp(add_key(a), add_key(b));
	return c ? c : (a->order > b->order) - (a->order < b->order);
}

static int cmp_group_key(const void *key, const void *g)
{
	return key_cmp(*(const index_key *)key, ((const add_group *)g)->key);
}

static int cmp_group_first(const void *x, const void *y)
{
	const add_group *a = ((const group_ref *)x)->g, *b = ((const group_ref *)y)->g;
	return (a->first > b->first) - (a->first < b->first);
}

/* Group @adds by key into *groups (sorted by key); *count of them. */
static int group_adds(const index_add *adds, size_t k, add_group **groups, size_t *count)
{
	add_ref *sorted = registry__calloc(k ? k : 1, sizeof(*sorted));
	*groups = registry__calloc(k ? k : 1, sizeof(**groups));
	if (!sorted || !*groups) {
		free(sorted);
		free(*groups);
		*groups = NULL;
		return registry__nomem();
	}
	for (size_t i = 0; i < k; i++)
		sorted[i].a = &adds[i];
	qsort(sorted, k, sizeof(*sorted), cmp_adds);
	*count = 0;
	for (size_t i = 0; i < k; i++) {
		const index_add *a = sorted[i].a;
		add_group *last = *count ? &(*groups)[*count - 1] : NULL;
		if (last && key_cmp(last->key, add_key(a)) == 0) {
			last->value = a;
			continue;
		}
		add_group g = {add_key(a), a, a->order, 0};
		(*groups)[(*count)++] = g;
	}
	free(sorted);
	return 0;
}

/* Append the groups no existing entry took, in the order of their first addition. */
static int append_unplaced(registry_manifest_builder *b, add_group *groups, size_t n, size_t *total)
{
	group_ref *rest = registry__calloc(n ? n : 1, sizeof(*rest));
	if (!rest)
		return registry__nomem();
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (!groups[i].placed)
			rest[m++].g = &groups[i];
	qsort(rest, m, sizeof(*rest), cmp_group_first);
	int rc = too_many(*total + m);
	for (size_t i = 0; !rc && i < m; i++)
		rc = add_new_entry(b, rest[i].g->value);
	*total += m;
	free(rest);
	return rc;
}

static int build_added(const registry_manifest *cur, const index_add *adds, size_t k, registry_manifest **out)
{
	add_group *groups = NULL;
	size_t ngroups = 0, total = 0;
	registry_manifest_builder *b = NULL;
	int rc = group_adds(adds, k, &groups, &ngroups);
	if (!rc)
		rc = index_builder(&b, cur);
	for (size_t i = 0; !rc && i < registry_manifest_entry_count(cur); i++) {
		const registry_descriptor *d = registry_manifest_entry(cur, i);
		index_key key = entry_key(d);
		add_group *g = bsearch(&key, groups, ngroups, sizeof(*groups), cmp_group_key);
		if (g && g->placed)
			continue;
		if ((rc = too_many(++total)))
			break;
		if (g) {
			rc = add_new_entry(b, g->value);
			g->placed = 1;
		} else {
			rc = keep_entry(b, d, i);
		}
	}
	if (!rc)
		rc = append_unplaced(b, groups, ngroups, &total);
	if (!rc)
		rc = registry_manifest_builder_build(out, b);
	registry_manifest_builder_free(b);
	free(groups);
	return rc;
}

/* Under the layout lock: re-read index.json (another process may have
 * changed it), apply the additions or the removal, write, keep the result. */
static int update_index(registry_store *s, const index_add *adds, size_t k, const char *remove)
{
	int lock_fd;
	int rc = lock_layout(s, &lock_fd, 0);
	if (rc)
		return rc;
	registry_manifest *cur = NULL, *next = NULL;
	size_t matched = 0;
	if (!(rc = registry__store_index_load(s, &cur))) {
		rc = remove ? build_removed(cur, remove, &next, &matched) : build_added(cur, adds, k, &next);
		if (!rc && remove && !matched)
			rc = registry__fail(REGISTRY_ENOTFOUND, "store: no index.json entry named or with digest \"%.200s\"",
			                    remove);
		else if (!rc)
			rc = write_index(s, next);
	}
	close(lock_fd);
	registry_manifest_free(cur);
	if (rc) {
		registry_manifest_free(next);
		return rc;
	}
	registry_manifest_free(s->index);
	s->index = next;
	return 0;
}

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/*
 * The OCI ref.name grammar, loosened on repeated separators: starts and ends
 * with [A-Za-z0-9], otherwise [A-Za-z0-9._:@+/-], no empty path component.
 */
static int check_ref_name(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > REF_NAME_MAX)
		return registry__fail(REGISTRY_EINVAL, "store: a ref name must have 1 to %d characters", REF_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		int edge = i == 0 || i == n - 1;
		int ok = is_alnum(c) || (!edge && strchr("-._:@+/", c) && !(c == '/' && name[i + 1] == '/'));
		if (!ok)
			return registry__fail(REGISTRY_EINVAL,
			                      "store: invalid ref name: bad character at offset %zu (letters and digits, "
			                      "joined by - . _ : @ + or /)", i);
	}
	return 0;
}

static const char *annotation_ref_name(const char *const *annotations)
{
	for (const char *const *a = annotations; a && a[0] && a[1]; a += 2)
		if (strcmp(a[0], REGISTRY_STORE_REF_NAME_ANNOTATION) == 0)
			return a[1];
	return NULL;
}

static int check_annotations(const char *const *annotations)
{
	size_t n = 0;
	for (const char *const *a = annotations; a && a[0]; a += 2, n++) {
		if (!a[1])
			return registry__fail(REGISTRY_EINVAL, "store: annotation \"%.100s\" has no value (the list "
			                      "is key, value, ..., NULL)", a[0]);
		if (n >= 4096)
			return registry__fail(REGISTRY_EINVAL, "store: too many annotations");
	}
	return 0;
}

/* A NULL-terminated copy of @src (NULL for NULL) with room for @extra more
 * entries before the terminator. */
static char **strv_dup(const char *const *src, size_t extra)
{
	size_t n = 0;
	while (src && src[n])
		n++;
	if (!src && !extra)
		return NULL;
	char **v = registry__calloc(n + extra + 1, sizeof(*v));
	for (size_t i = 0; v && i < n; i++)
		if (!(v[i] = registry__strdup(src[i]))) {
			for (size_t k = 0; k < i; k++)
				free(v[k]);
			free(v);
			return NULL;
		}
	return v;
}

static void strv_free(const char *const *v)
{
	for (const char *const *p = v; p && *p; p++)
		free((char *)*p);
	free((void *)v);
}

static void add_clear(index_add *a)
{
	registry_descriptor_spec *d = &a->spec;
	free((char *)d->media_type);
	free((char *)d->digest);
	free((char *)d->artifact_type);
	strv_free(d->urls);
	strv_free(d->annotations);
	free((char *)d->os);
	free((char *)d->architecture);
	free((char *)d->variant);
	free((char *)d->os_version);
	strv_free(d->os_features);
	free(a->ref_name);
	memset(a, 0, sizeof(*a));
}

/* Copy @s (and the effective @ref_name) into @a: a batch keeps it until its
 * commit. The ref name goes last into the annotations, where it wins. */
static int add_copy(index_add *a, const registry_descriptor_spec *s, const char *ref_name)
{
	memset(a, 0, sizeof(*a));
	registry_descriptor_spec *d = &a->spec;
	d->version = REGISTRY_DESCRIPTOR_SPEC_VERSION;
	d->size = s->size;
	char **annotations = strv_dup(s->annotations, ref_name ? 2 : 0);
	d->annotations = (const char *const *)annotations;
	int bad = ((s->annotations || ref_name) && !annotations);
	if (!bad && ref_name) {
		size_t n = 0;
		while (annotations[n])
			n++;
		bad = !(annotations[n] = registry__strdup(REGISTRY_STORE_REF_NAME_ANNOTATION)) ||
		      !(annotations[n + 1] = registry__strdup(ref_name)) || !(a->ref_name = registry__strdup(ref_name));
	}
	const char *const strs[] = {s->media_type, s->digest, s->artifact_type, s->os, s->architecture, s->variant,
	                            s->os_version};
	const char **slots[] = {&d->media_type, &d->digest, &d->artifact_type, &d->os, &d->architecture, &d->variant,
	                        &d->os_version};
	for (size_t i = 0; !bad && i < REGISTRY_ARRAY_LEN(strs); i++)
		bad = strs[i] && !(*slots[i] = registry__strdup(strs[i]));
	if (!bad && s->urls)
		bad = !(d->urls = (const char *const *)strv_dup(s->urls, 0));
	if (!bad && s->os_features)
		bad = !(d->os_features = (const char *const *)strv_dup(s->os_features, 0));
	if (bad) {
		add_clear(a);
		return registry__nomem();
	}
	return 0;
}

static int batch_append(struct store_index_batch *batch, index_add *a)
{
	if (batch->count == batch->cap) {
		size_t cap = batch->cap ? batch->cap * 2 : 64;
		index_add *p = realloc(batch->adds, cap * sizeof(*p));
		if (!p)
			return registry__nomem();
		batch->adds = p;
		batch->cap = cap;
	}
	a->order = batch->count;
	batch->adds[batch->count++] = *a;
	return 0;
}

void registry__store_index_batch_free(registry_store *s)
{
	if (!s->batch)
		return;
	for (size_t i = 0; i < s->batch->count; i++)
		add_clear(&s->batch->adds[i]);
	free(s->batch->adds);
	free(s->batch);
	s->batch = NULL;
}

/* Check @entry as index.json will hold it, without writing anything: a
 * batch must refuse a bad entry at the call, not at its commit. */
static int check_entry(const registry_descriptor_spec *entry, const char *ref_name)
{
	registry_manifest_builder *b = NULL;
	int rc = registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_OCI_INDEX);
	index_add a;
	if (!rc && !(rc = add_copy(&a, entry, ref_name))) {
		rc = registry_manifest_builder_add_manifest(b, &a.spec);
		add_clear(&a);
	}
	registry_manifest_builder_free(b);
	return rc;
}

/* registry_store_index_add's checks, then @entry copied into @a. */
static int add_checked(registry_store *s, const registry_descriptor_spec *entry, const char *ref_name, index_add *a)
{
	int rc;
	memset(a, 0, sizeof(*a)); /* add_clear() is safe on it whatever happens */
	if (!s || !entry || !entry->media_type)
		return registry__fail(REGISTRY_EINVAL, "registry_store_index_add: NULL argument");
	if ((rc = registry__options_check("registry_store_index_add", entry->version, REGISTRY_DESCRIPTOR_SPEC_VERSION, 0,
	                                  0)))
		return rc;
	if ((rc = registry__store_check_digest(entry->digest)) || (rc = check_annotations(entry->annotations)))
		return rc;
	if (!ref_name)
		ref_name = annotation_ref_name(entry->annotations);
	if (ref_name && (rc = check_ref_name(ref_name)))
		return rc;
	if ((rc = check_entry(entry, ref_name)))
		return rc;
	int64_t stored;
	if ((rc = registry_store_blob_size(&stored, s, entry->digest)))
		return rc;
	if (stored != entry->size)
		return registry__fail(REGISTRY_EINVAL, "store: %s has %lld bytes in the store, not %lld", entry->digest,
		                      (long long)stored, (long long)entry->size);
	if (s->batch && s->batch->count >= REGISTRY_STORE_INDEX_MAX_ENTRIES)
		return too_many(s->batch->count + 1);
	return add_copy(a, entry, ref_name);
}

int registry_store_index_add(registry_store *s, const registry_descriptor_spec *entry, const char *ref_name)
{
	REGISTRY__ENTER(rc);
	index_add a;
	if ((rc = add_checked(s, entry, ref_name, &a)))
		return rc;
	if (s->batch) {
		if ((rc = batch_append(s->batch, &a)))
			add_clear(&a);
		return rc;
	}
	rc = update_index(s, &a, 1, NULL);
	add_clear(&a);
	return rc;
}

/* ---- the same in steps, for the event loop (store_impl.h) ---- */

int registry__store_index_add_begin(registry__index_txn **out, int *fd, registry_store *s,
                                    const registry_descriptor_spec *entry, const char *ref_name)
{
	*out = NULL;
	*fd = -1;
	index_add a;
	int rc = add_checked(s, entry, ref_name, &a);
	if (rc)
		return rc;
	if (s->batch) { /* an open batch: only remembered, nothing written */
		if ((rc = batch_append(s->batch, &a)))
			add_clear(&a);
		return rc;
	}
	registry__index_txn *t = registry__calloc(1, sizeof(*t));
	if (!t) {
		add_clear(&a);
		return registry__nomem();
	}
	*t = (registry__index_txn){.s = s, .lock_fd = -1, .temp_fd = -1};
	registry_manifest *cur = NULL;
	if (!(rc = lock_layout(s, &t->lock_fd, 1)) && !(rc = registry__store_index_load(s, &cur)) &&
	    !(rc = build_added(cur, &a, 1, &t->next))) {
		int err = write_temp(s, t->next, &t->temp_fd);
		if (err)
			rc = registry__store_io_fail(err, "store: cannot write %s/" STORE_INDEX_TEMP, s->path);
	}
	registry_manifest_free(cur);
	add_clear(&a);
	if (rc) {
		if (t->lock_fd >= 0)
			close(t->lock_fd);
		registry_manifest_free(t->next);
		free(t);
		return rc;
	}
	struct stat st;
	if (fstat(t->lock_fd, &st) == 0) {
		t->dev = st.st_dev;
		t->ino = st.st_ino;
	}
	t->next_txn = loop_txns;
	loop_txns = t;
	*fd = t->temp_fd;
	*out = t;
	return 0;
}

int registry__store_index_add_rename(registry__index_txn *t, int sync_err, int *dir_fd)
{
	*dir_fd = -1;
	close(t->temp_fd);
	t->temp_fd = -1;
	int rc = rename_temp(t->s, sync_err);
	if (rc)
		return rc;
	t->renamed = 1;
	if ((*dir_fd = openat(t->s->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return registry__store_io_fail(errno, "store: cannot open directory %s", t->s->path);
	return 0;
}

int registry__store_index_add_end(registry__index_txn *t, int sync_err)
{
	if (!t)
		return 0;
	int rc = 0;
	if (t->temp_fd >= 0) { /* given up before the rename */
		close(t->temp_fd);
		unlinkat(t->s->root_fd, STORE_INDEX_TEMP, 0);
	} else if (t->renamed && sync_err) {
		rc = registry__store_io_fail(sync_err, "store: cannot fsync directory %s", t->s->path);
	}
	if (t->renamed) { /* index.json holds it now, durable or not */
		registry_manifest_free(t->s->index);
		t->s->index = t->next;
		t->next = NULL;
	}
	close(t->lock_fd);
	for (registry__index_txn **p = &loop_txns; *p; p = &(*p)->next_txn)
		if (*p == t) {
			*p = t->next_txn;
			break;
		}
	registry_manifest_free(t->next);
	free(t);
	return rc;
}

int registry_store_index_remove(registry_store *s, const char *ref_name_or_digest)
{
	REGISTRY__ENTER(rc);
	if (!s || !ref_name_or_digest)
		return registry__fail(REGISTRY_EINVAL, "registry_store_index_remove: NULL argument");
	if (s->batch)
		return registry__fail(REGISTRY_EINVAL,
		                      "registry_store_index_remove: a batch of additions is open; commit it first");
	return update_index(s, NULL, 0, ref_name_or_digest);
}

int registry_store_index_batch_begin(registry_store *s)
{
	REGISTRY__ENTER(rc);
	if (!s)
		return registry__fail(REGISTRY_EINVAL, "registry_store_index_batch_begin: NULL store");
	if (s->batch)
		return registry__fail(REGISTRY_EINVAL, "registry_store_index_batch_begin: a batch is already open");
	if (!(s->batch = registry__calloc(1, sizeof(*s->batch))))
		return registry__nomem();
	return 0;
}

int registry_store_index_batch_commit(registry_store *s)
{
	REGISTRY__ENTER(rc);
	if (!s || !s->batch)
		return registry__fail(REGISTRY_EINVAL, "registry_store_index_batch_commit: no batch is open");
	if (s->batch->count)
		rc = update_index(s, s->batch->adds, s->batch->count, NULL);
	registry__store_index_batch_free(s);
	return rc;
}

void registry_store_index_batch_abort(registry_store *s)
{
	if (s)
		registry__store_index_batch_free(s);
}

size_t registry_store_index_count(const registry_store *s)
{
	return s ? registry_manifest_entry_count(s->index) : 0;
}

const registry_descriptor *registry_store_index_entry(const registry_store *s, size_t i)
{
	return s ? registry_manifest_entry(s->index, i) : NULL;
}

int registry_store_index_find(const registry_descriptor **out, const registry_store *s, const char *ref_name)
{
	REGISTRY__ENTER(rc);
	if (!s || !ref_name || !out)
		return registry__fail(REGISTRY_EINVAL, "registry_store_index_find: NULL argument");
	*out = NULL;
	for (size_t i = 0; i < registry_manifest_entry_count(s->index); i++) {
		const registry_descriptor *d = registry_manifest_entry(s->index, i);
		const char *name = entry_ref_name(d);
		if (name && strcmp(name, ref_name) == 0) {
			*out = d;
			return 0;
		}
	}
	return registry__fail(REGISTRY_ENOTFOUND, "store: no index.json entry named \"%.200s\"", ref_name);
}

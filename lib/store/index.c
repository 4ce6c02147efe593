/*
 * index.json: the store's named roots. Read with the manifest parser,
 * written with the manifest builder (deterministic bytes), always under the
 * layout lock and by atomic rename.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_impl.h"

#define REF_NAME_MAX 1024

/* Re-fail with the current message prefixed by where it came from. */
static int refail(int rc, const char *prefix)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "%s", registry_error_message(registry_error_last()));
	return registry__fail(rc, "%s: %s", prefix, msg);
}

int store__index_load(registry_store *s, registry_manifest **out)
{
	char *data;
	size_t len;
	*out = NULL;
	int rc = store__read_file_at(s->root_fd, "index.json", REGISTRY_STORE_INDEX_MAX_SIZE, "index.json", &data, &len);
	if (rc == REGISTRY_ENOTFOUND)
		return registry__fail(REGISTRY_EFORMAT, "store: %s has an oci-layout but no index.json", s->path);
	if (rc)
		return rc;
	rc = registry_manifest_parse(out, data, len, REGISTRY_MEDIA_TYPE_OCI_INDEX);
	free(data);
	if (rc) {
		char prefix[300];
		snprintf(prefix, sizeof(prefix), "store: %.256s/index.json", s->path);
		return refail(rc, prefix);
	}
	return 0;
}

/* Exclusive lock on oci-layout: serializes index.json updates between processes. */
static int lock_layout(registry_store *s, int *fd)
{
	*fd = openat(s->root_fd, "oci-layout", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (*fd < 0)
		return store__io_fail(errno, "store: cannot open %s/oci-layout", s->path);
	int err = store__flock(*fd, LOCK_EX);
	if (err) {
		close(*fd);
		*fd = -1;
		return store__io_fail(err, "store: cannot lock %s/oci-layout", s->path);
	}
	return 0;
}

/* Replace index.json with @m's bytes: temporary file, fsync, rename, fsync the directory. */
static int write_index(registry_store *s, const registry_manifest *m)
{
	size_t len;
	const void *raw = registry_manifest_raw(m, &len);
	int fd = openat(s->root_fd, STORE_INDEX_TEMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return store__io_fail(errno, "store: cannot create %s/" STORE_INDEX_TEMP, s->path);
	int err = store__write_all(fd, raw, len);
	if (!err && fsync(fd) != 0)
		err = errno;
	close(fd);
	if (!err && renameat(s->root_fd, STORE_INDEX_TEMP, s->root_fd, "index.json") != 0)
		err = errno;
	if (err) {
		unlinkat(s->root_fd, STORE_INDEX_TEMP, 0);
		return store__io_fail(err, "store: cannot write %s/index.json", s->path);
	}
	return store__fsync_dir_at(s->root_fd, ".");
}

/* What a change does to the entries of the freshly read index. */
typedef struct index_change {
	/* add */
	const char *media_type;
	const char *digest;
	int64_t size;
	const char *ref_name; /* effective: the argument, else from the annotations */
	const char *const *annotations;
	/* remove */
	const char *remove;
} index_change;

static const char *entry_ref_name(const registry_descriptor *d)
{
	return registry_descriptor_annotation(d, REGISTRY_STORE_REF_NAME_ANNOTATION);
}

/* Whether an add replaces existing entry @d. */
static int replaced_by(const registry_descriptor *d, const index_change *c)
{
	const char *name = entry_ref_name(d);
	if (c->ref_name)
		return name && strcmp(name, c->ref_name) == 0;
	return !name && strcmp(registry_descriptor_digest(d), c->digest) == 0;
}

static int removed_by(const registry_descriptor *d, const index_change *c)
{
	const char *name = entry_ref_name(d);
	return (name && strcmp(name, c->remove) == 0) || strcmp(registry_descriptor_digest(d), c->remove) == 0;
}

static int add_new_entry(registry_manifest_builder *b, const index_change *c)
{
	registry_descriptor_spec spec = REGISTRY_DESCRIPTOR_SPEC_INIT;
	spec.media_type = c->media_type;
	spec.digest = c->digest;
	spec.size = c->size;
	int rc = registry_manifest_builder_add_manifest(b, &spec);
	for (const char *const *a = c->annotations; !rc && a && a[0]; a += 2)
		if (!c->ref_name || strcmp(a[0], REGISTRY_STORE_REF_NAME_ANNOTATION) != 0)
			rc = registry_manifest_builder_add_descriptor_annotation(b, a[0], a[1]);
	if (!rc && c->ref_name)
		rc = registry_manifest_builder_add_descriptor_annotation(b, REGISTRY_STORE_REF_NAME_ANNOTATION, c->ref_name);
	return rc;
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
		rc = registry_manifest_builder_add_annotation(b, registry_manifest_annotation_key(cur, i),
		                                              registry_manifest_annotation_value(cur, i));
	if (!rc && registry_manifest_artifact_type(cur))
		rc = registry_manifest_builder_set_artifact_type(b, registry_manifest_artifact_type(cur));
	const registry_descriptor *subject = registry_manifest_subject(cur);
	if (!rc && subject)
		rc = registry_manifest_builder_set_subject(b, registry_descriptor_media_type(subject),
		                                           registry_descriptor_digest(subject),
		                                           registry_descriptor_size(subject));
	return rc && rc != REGISTRY_ENOMEM ? not_rewritable("store: index.json cannot be written back") : rc;
}

/* The new index: @cur with the change applied. *matched counts replaced or removed entries. */
static int build_changed(const registry_manifest *cur, const index_change *c, registry_manifest **out,
                         size_t *matched)
{
	registry_manifest_builder *b = NULL;
	int rc = registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_OCI_INDEX);
	if (rc)
		return rc;
	int added = 0;
	*matched = 0;
	rc = copy_top_level(b, cur);
	for (size_t i = 0; !rc && i < registry_manifest_manifest_count(cur); i++) {
		const registry_descriptor *d = registry_manifest_manifest(cur, i);
		if (c->remove ? removed_by(d, c) : replaced_by(d, c)) {
			++*matched;
			/* The first replaced entry's place takes the new one; later duplicates go. */
			if (!c->remove && !added) {
				rc = add_new_entry(b, c);
				added = 1;
			}
			continue;
		}
		/* Entries written by others are kept as they are, or nothing is written. */
		if ((rc = registry_manifest_builder_add_descriptor(b, d)) && rc != REGISTRY_ENOMEM) {
			char what[96];
			snprintf(what, sizeof(what), "store: index.json manifests[%zu] cannot be written back", i);
			rc = not_rewritable(what);
		}
	}
	if (!rc && !c->remove && !added)
		rc = add_new_entry(b, c);
	if (!rc)
		rc = registry_manifest_builder_build(out, b);
	registry_manifest_builder_free(b);
	return rc;
}

/* Under the layout lock: re-read index.json, apply @c, write, keep the result. */
static int update_index(registry_store *s, const index_change *c)
{
	int lock_fd;
	int rc = lock_layout(s, &lock_fd);
	if (rc)
		return rc;
	registry_manifest *cur = NULL, *next = NULL;
	size_t matched = 0;
	if (!(rc = store__index_load(s, &cur)) && !(rc = build_changed(cur, c, &next, &matched))) {
		if (c->remove && !matched)
			rc = registry__fail(REGISTRY_ENOTFOUND, "store: no index.json entry named or with digest \"%.200s\"",
			                    c->remove);
		else
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

int registry_store_index_add(registry_store *s, const char *media_type, const char *digest, int64_t size,
                             const char *ref_name, const char *const *annotations)
{
	REGISTRY__ENTER(rc);
	if (!s || !media_type)
		return registry__fail(REGISTRY_EINVAL, "registry_store_index_add: NULL argument");
	if ((rc = store__check_digest(digest)) || (rc = check_annotations(annotations)))
		return rc;
	index_change c = {.media_type = media_type, .digest = digest, .size = size, .annotations = annotations};
	c.ref_name = ref_name ? ref_name : annotation_ref_name(annotations);
	if (c.ref_name && (rc = check_ref_name(c.ref_name)))
		return rc;
	int64_t stored;
	if ((rc = registry_store_blob_size(s, digest, &stored)))
		return rc;
	if (stored != size)
		return registry__fail(REGISTRY_EINVAL, "store: %s has %lld bytes in the store, not %lld", digest,
		                      (long long)stored, (long long)size);
	return update_index(s, &c);
}

int registry_store_index_remove(registry_store *s, const char *ref_name_or_digest)
{
	REGISTRY__ENTER(rc);
	if (!s || !ref_name_or_digest)
		return registry__fail(REGISTRY_EINVAL, "registry_store_index_remove: NULL argument");
	index_change c = {.remove = ref_name_or_digest};
	return update_index(s, &c);
}

size_t registry_store_index_count(const registry_store *s)
{
	return s ? registry_manifest_manifest_count(s->index) : 0;
}

const registry_descriptor *registry_store_index_entry(const registry_store *s, size_t i)
{
	return s ? registry_manifest_manifest(s->index, i) : NULL;
}

int registry_store_index_find(const registry_store *s, const char *ref_name, const registry_descriptor **out)
{
	REGISTRY__ENTER(rc);
	if (!s || !ref_name || !out)
		return registry__fail(REGISTRY_EINVAL, "registry_store_index_find: NULL argument");
	*out = NULL;
	for (size_t i = 0; i < registry_manifest_manifest_count(s->index); i++) {
		const registry_descriptor *d = registry_manifest_manifest(s->index, i);
		const char *name = entry_ref_name(d);
		if (name && strcmp(name, ref_name) == 0) {
			*out = d;
			return 0;
		}
	}
	return registry__fail(REGISTRY_ENOTFOUND, "store: no index.json entry named \"%.200s\"", ref_name);
}

/*
 * Pull: manifest, platform choice, every blob of the chosen images in one
 * parallel fetch, then the manifests (converted to OCI unless digests are to
 * be preserved) and finally the index.json entry. Blobs go in before the
 * manifests that name them and the index entry comes last, so a store never
 * names something it does not hold.
 *
 * Every platform of an index: its distinct children are pulled batch by
 * batch (lib/ops/fanout.h: each fetched once, a batch bounded by a byte
 * budget), each batch's blobs in one parallel fetch; only what each entry
 * became in the store is kept until the index is written.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fanout.h"
#include "manifest/manifest_impl.h"
#include "ops_impl.h"
#include "pull_impl.h"
#include "unpack/unpack_impl.h"

/* The job and its records are shared with the event-loop pull (pull_impl.h). */
typedef registry__pull_stored stored;
typedef registry__pull_job pull_job;

static int oom(void)
{
	return registry__fail(REGISTRY_ENOMEM, "out of memory");
}

static void stored_free(stored *s)
{
	free(s->media_type);
	free(s->digest);
	memset(s, 0, sizeof(*s));
}

int registry__pull_stored_set(stored *s, const char *media_type, const char *digest, int64_t size)
{
	stored_free(s);
	s->media_type = registry__strdup(media_type);
	s->digest = registry__strdup(digest);
	s->size = size;
	return s->media_type && s->digest ? 0 : oom();
}

void registry__pull_job_free(pull_job *j)
{
	for (size_t i = 0; i < j->n_entries; i++)
		stored_free(&j->entry_stored[i]);
	free(j->entry_stored);
	stored_free(&j->image_stored);
	stored_free(&j->top_stored);
	registry_manifest_free(j->child);
	registry_manifest_free(j->top);
}

static int fetch_child(pull_job *j, const registry_descriptor *d, registry_manifest **out)
{
	registry_manifest_fetch_options fo = REGISTRY_MANIFEST_FETCH_OPTIONS_INIT;
	fo.max_size = j->o->max_manifest_size;
	int rc = registry_manifest_fetch(out, j->client, j->repository, registry_descriptor_digest(d), &fo);
	if (!rc && registry_manifest_kind(*out) != REGISTRY_MANIFEST_IMAGE) {
		registry_manifest_free(*out);
		*out = NULL;
		rc = registry__fail(REGISTRY_EUNSUPPORTED, "%s: an index inside an index is not supported",
		                    registry_descriptor_digest(d));
	}
	return rc;
}

typedef struct blob_ref {
	const char *digest;
	int64_t size;
	size_t pos; /* in the order the images name them */
} blob_ref;

typedef struct blob_list {
	blob_ref *items;
	size_t count, cap;
} blob_list;

static int blob_add(blob_list *l, const char *digest, int64_t size)
{
	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		blob_ref *p = realloc(l->items, cap * sizeof(*p));
		if (!p)
			return oom();
		l->items = p;
		l->cap = cap;
	}
	l->items[l->count] = (blob_ref){digest, size, l->count};
	l->count++;
	return 0;
}

int registry__pull_image_blobs(pull_job *j, const registry_manifest *m, const registry__schema1 *s1,
                               int (*add)(void *ud, const char *digest, int64_t size), void *ud)
{
	int rc = 0;
	if (registry_manifest_schema_version(m) == 1) {
		/* Keeping the schema1 manifest (for a docker-load export) needs its empty layers too. */
		for (size_t i = 0; !rc && i < s1->count; i++)
			if (!s1->throwaway[i] || (j->flags & REGISTRY_PULL_PRESERVE_DIGESTS))
				rc = add(ud, s1->blob_sums[i], -1);
		return rc;
	}
	const registry_descriptor *config = registry_manifest_config(m);
	if (config)
		rc = add(ud, registry_descriptor_digest(config), registry_descriptor_size(config));
	for (size_t i = 0; !rc && i < registry_manifest_layer_count(m); i++) {
		const registry_descriptor *d = registry_manifest_layer(m, i);
		/* Foreign layers live at their URLs, not in the registry (skopeo leaves
		 * them too), unless the caller asks for them. */
		if (registry_descriptor_url_count(d) == 0)
			rc = add(ud, registry_descriptor_digest(d), registry_descriptor_size(d));
		else if ((j->flags & REGISTRY_PULL_FOREIGN_LAYERS) && j->add_foreign)
			rc = j->add_foreign(ud, d);
		else if (j->flags & REGISTRY_PULL_FOREIGN_LAYERS)
			rc = registry__pull_foreign(j->client, j->store, d);
	}
	return rc;
}

static int blob_list_add(void *ud, const char *digest, int64_t size)
{
	return blob_add(ud, digest, size);
}

static int cmp_blob(const void *a, const void *b)
{
	const blob_ref *x = a, *y = b;
	int c = strcmp(x->digest, y->digest);
	return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

static int cmp_pos(const void *a, const void *b)
{
	const blob_ref *x = a, *y = b;
	return (x->pos > y->pos) - (x->pos < y->pos);
}

/* Each digest once (the first size known kept), in the order the images
 * name them: config, then layers base first, so that an unpack fed by
 * this pull finds its first layers first. */
static size_t dedupe_blobs(blob_list *l)
{
	if (!l->count)
		return 0;
	qsort(l->items, l->count, sizeof(*l->items), cmp_blob);
	size_t n = 0;
	for (size_t i = 0; i < l->count; i++) {
		if (n && strcmp(l->items[n - 1].digest, l->items[i].digest) == 0) {
			if (l->items[n - 1].size < 0)
				l->items[n - 1].size = l->items[i].size;
			continue;
		}
		l->items[n++] = l->items[i];
	}
	qsort(l->items, n, sizeof(*l->items), cmp_pos);
	return n;
}

/* Every blob of @n images, each once, in one parallel fetch. */
static int fetch_blobs(pull_job *j, registry_manifest *const *images, size_t n_images,
                       registry__schema1 *s1s)
{
	blob_list l = {0};
	int rc = 0;
	for (size_t i = 0; !rc && i < n_images; i++)
		rc = registry__pull_image_blobs(j, images[i], &s1s[i], blob_list_add, &l);
	const char **digests = rc ? NULL : calloc(l.count ? l.count : 1, sizeof(char *));
	int64_t *sizes = rc ? NULL : calloc(l.count ? l.count : 1, sizeof(int64_t));
	if (!rc && (!digests || !sizes))
		rc = oom();
	if (!rc) {
		/* One writer per blob: repeats (shared layers, a layer used twice) are dropped. */
		size_t n = dedupe_blobs(&l);
		for (size_t i = 0; i < n; i++) {
			digests[i] = l.items[i].digest;
			sizes[i] = l.items[i].size;
		}
		registry_blob_fetch_many_options fo = REGISTRY_BLOB_FETCH_MANY_OPTIONS_INIT;
		fo.progress = j->o->progress;
		fo.userdata = j->o->userdata;
		if (n)
			rc = registry_blob_fetch_many(NULL, j->client, j->repository, n, digests, sizes, j->store, &fo);
	}
	free(digests);
	free(sizes);
	free(l.items);
	return rc;
}

/* Store @m as served. A signed schema1 is kept under the digest of its bytes. */
static int keep_as_served(pull_job *j, const registry_manifest *m, stored *out)
{
	size_t len = 0;
	const void *raw = registry_manifest_raw(m, &len);
	char *digest = NULL;
	int rc = registry_store_add_blob(&digest, j->store,
	                                 registry_manifest_signed(m) ? NULL : registry_manifest_digest(m), raw, len);
	if (!rc)
		rc = registry__pull_stored_set(out, registry_manifest_media_type(m), digest, (int64_t)len);
	free(digest);
	return rc;
}

static int keep_built(pull_job *j, const registry_manifest *built, stored *out)
{
	size_t len = 0;
	const void *raw = registry_manifest_raw(built, &len);
	int rc = registry_store_add_blob(NULL, j->store, registry_manifest_digest(built), raw, len);
	return rc ? rc
	          : registry__pull_stored_set(out, registry_manifest_media_type(built), registry_manifest_digest(built),
	                       registry_manifest_size(built));
}

int registry__pull_stored_manifest(registry_manifest **built, const registry_manifest *m, unsigned int flags)
{
	*built = NULL;
	const char *type = registry_manifest_media_type(m);
	if ((flags & REGISTRY_PULL_PRESERVE_DIGESTS) || strcmp(type, REGISTRY_MEDIA_TYPE_OCI_MANIFEST) == 0)
		return 0;
	if (strcmp(type, REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST) == 0)
		return registry__convert_docker_manifest(built, m);
	return registry__fail(REGISTRY_EUNSUPPORTED, "cannot convert %s (%s) to OCI", registry_manifest_digest(m), type);
}

int registry__pull_store_manifest(pull_job *j, const registry_manifest *m, stored *out)
{
	registry_manifest *built = NULL;
	int rc;
	if (!(j->flags & REGISTRY_PULL_PRESERVE_DIGESTS) && registry_manifest_schema_version(m) == 1)
		rc = registry__convert_schema1(&built, j->store, m, &(registry__watch){
			.client = j->client, .prog = {.cb = j->o->progress, .ud = j->o->userdata},
			.what = "pull (schema1 diff_ids)"});
	else
		rc = registry__pull_stored_manifest(&built, m, j->flags);
	if (!rc)
		rc = built ? keep_built(j, built, out) : keep_as_served(j, m, out);
	registry_manifest_free(built);
	return rc;
}

/* @n images: their blobs in one parallel fetch, then each manifest into
 * the store, recorded in *out[i]. */
static int pull_images(pull_job *j, registry_manifest *const *images, size_t n, stored *const *out)
{
	registry__schema1 *s1s = calloc(n ? n : 1, sizeof(*s1s));
	if (!s1s)
		return oom();
	int rc = 0;
	for (size_t i = 0; !rc && i < n; i++)
		if (registry_manifest_schema_version(images[i]) == 1)
			rc = registry__schema1_load(&s1s[i], images[i]);
	if (!rc)
		rc = fetch_blobs(j, images, n, s1s);
	for (size_t i = 0; i < n; i++)
		registry__schema1_free(&s1s[i]);
	free(s1s);
	for (size_t i = 0; !rc && i < n; i++)
		rc = registry__pull_store_manifest(j, images[i], out[i]);
	return rc;
}

static int pull_one(pull_job *j, registry_manifest *image)
{
	if (j->hook)
		j->hook->image(image, j->hook->ud);
	stored *out = &j->image_stored;
	return pull_images(j, &image, 1, &out);
}

int registry__pull_entries_begin(pull_job *j, registry__fanout *f)
{
	size_t n = registry_manifest_entry_count(j->top);
	if (n == 0)
		return registry__fail(REGISTRY_ENOTFOUND, "index %s has no entries", registry_manifest_digest(j->top));
	if (!(j->entry_stored = calloc(n, sizeof(*j->entry_stored))))
		return oom();
	j->n_entries = n;
	return registry__fanout_init(f, j->client, j->repository, j->top, j->o->max_manifest_size);
}

int registry__pull_fill_repeats(pull_job *j, const size_t *first)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < j->n_entries; i++) {
		const stored *s = &j->entry_stored[first[i]];
		if (first[i] != i)
			rc = registry__pull_stored_set(&j->entry_stored[i], s->media_type, s->digest, s->size);
	}
	return rc;
}

/* Every entry of j->top: each distinct child once, batch by batch. */
static int pull_all_platforms(pull_job *j)
{
	registry__fanout f;
	int rc = registry__pull_entries_begin(j, &f);
	if (rc)
		return rc;
	size_t n = j->n_entries;
	stored **out = rc ? NULL : calloc(n, sizeof(stored *));
	if (!rc && !out)
		rc = oom();
	while (!rc && !(rc = registry__fanout_next(&f)) && f.n) {
		for (size_t k = 0; k < f.n; k++)
			out[k] = &j->entry_stored[f.batch_entry[k]];
		rc = pull_images(j, f.batch, f.n, out);
	}
	if (!rc)
		rc = registry__pull_fill_repeats(j, f.first);
	free(out);
	registry__fanout_free(&f);
	return rc;
}

int registry__pull_built_index(pull_job *j, registry_manifest **built)
{
	*built = NULL;
	size_t n = j->n_entries;
	int changed = strcmp(registry_manifest_media_type(j->top), REGISTRY_MEDIA_TYPE_OCI_INDEX) != 0;
	for (size_t i = 0; i < n; i++) {
		const char *d = j->entry_stored[i].digest; /* set for every entry after a pull */
		changed |= !d || strcmp(d, registry_descriptor_digest(registry_manifest_entry(j->top, i))) != 0;
	}
	if (!changed || (j->flags & REGISTRY_PULL_PRESERVE_DIGESTS))
		return 0;
	size_t alloc = n ? n : 1; /* calloc(0) may return NULL */
	const char **types = calloc(alloc, sizeof(char *)), **digests = calloc(alloc, sizeof(char *));
	int64_t *sizes = calloc(alloc, sizeof(int64_t));
	int rc = types && digests && sizes ? 0 : oom();
	for (size_t i = 0; !rc && i < n; i++) {
		types[i] = j->entry_stored[i].media_type;
		digests[i] = j->entry_stored[i].digest;
		sizes[i] = j->entry_stored[i].size;
	}
	if (!rc)
		rc = registry__convert_index(built, j->top, types, digests, sizes);
	free(types);
	free(digests);
	free(sizes);
	return rc;
}

int registry__pull_store_index(pull_job *j)
{
	registry_manifest *built = NULL;
	int rc = registry__pull_built_index(j, &built);
	if (!rc)
		rc = built ? keep_built(j, built, &j->top_stored) : keep_as_served(j, j->top, &j->top_stored);
	registry_manifest_free(built);
	return rc;
}

/* The top manifest, then what it names; *entry is what index.json will name. */
static int pull_content(pull_job *j, const char *reference, const stored **entry,
                        const registry_manifest **source)
{
	registry_manifest_fetch_options fo = REGISTRY_MANIFEST_FETCH_OPTIONS_INIT;
	fo.max_size = j->o->max_manifest_size;
	int rc = registry_manifest_fetch(&j->top, j->client, j->repository, reference, &fo);
	if (rc)
		return rc;
	*source = j->top;
	if (registry_manifest_kind(j->top) == REGISTRY_MANIFEST_IMAGE) {
		*entry = &j->image_stored;
		return pull_one(j, j->top);
	}
	if (j->flags & REGISTRY_PULL_ALL_PLATFORMS) {
		*entry = &j->top_stored;
		rc = pull_all_platforms(j);
		return rc ? rc : registry__pull_store_index(j);
	}
	const registry_descriptor *d = NULL;
	if ((rc = registry_manifest_select_platform(&d, j->top, j->o->platform)) ||
	    (rc = fetch_child(j, d, &j->child)))
		return rc;
	*entry = &j->image_stored;
	*source = j->child;
	return pull_one(j, j->child);
}

static int run_pull(pull_job *j, const char *reference, const char *ref_name, char **digest_out)
{
	const stored *entry = NULL;
	const registry_manifest *source = NULL;
	int rc = pull_content(j, reference, &entry, &source);
	if (rc)
		return rc;
	return registry__pull_index_entry(j, entry, source, ref_name, digest_out);
}

void registry__pull_entry_spec(registry_descriptor_spec *spec, const char *annotations[3], const char *media_type,
                               const char *digest, int64_t size, const registry_manifest *source)
{
	annotations[0] = REGISTRY__SOURCE_DIGEST_ANNOTATION;
	annotations[1] = registry_manifest_digest(source);
	annotations[2] = NULL;
	registry_descriptor_spec init = REGISTRY_DESCRIPTOR_SPEC_INIT;
	*spec = init;
	spec->media_type = media_type;
	spec->digest = digest;
	spec->size = size;
	/* Converted: say what the registry served. */
	spec->annotations = strcmp(digest, registry_manifest_digest(source)) != 0 ? annotations : NULL;
}

/* The index.json entry naming what @source became in the store (@entry). */
int registry__pull_index_entry(pull_job *j, const stored *entry, const registry_manifest *source,
                               const char *ref_name, char **digest_out)
{
	int rc;
	const char *annotations[3];
	registry_descriptor_spec spec;
	registry__pull_entry_spec(&spec, annotations, entry->media_type, entry->digest, entry->size, source);
	rc = registry_store_index_add(j->store, &spec, ref_name);
	if (!rc && (j->flags & REGISTRY_PULL_REFERRERS)) /* of what the registry serves */
		rc = registry__pull_referrers(j->client, j->repository, j->store, registry_manifest_digest(source), j->o);
	if (!rc && digest_out && !(*digest_out = registry__strdup(entry->digest)))
		rc = oom();
	return rc;
}

int registry_pull_options_init(registry_pull_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_pull_options_init: NULL options");
	registry_pull_options init = REGISTRY_PULL_OPTIONS_INIT;
	*opts = init;
	return 0;
}

/* Check @o (NULL: the defaults) and copy it into *@full, the fields its
 * version has, so that a caller's older, shorter struct is never read past. */
int registry__pull_options_full(const char *fn, const registry_pull_options *o, registry_pull_options *full)
{
	registry_pull_options defaults = REGISTRY_PULL_OPTIONS_INIT;
	*full = defaults;
	if (!o)
		return 0;
	int rc = registry__options_check(fn, o->version, REGISTRY_PULL_OPTIONS_VERSION, o->flags,
	                                 REGISTRY_PULL_PRESERVE_DIGESTS | REGISTRY_PULL_ALL_PLATFORMS |
	                                         REGISTRY_PULL_REFERRERS | REGISTRY_PULL_FOREIGN_LAYERS |
	                                         REGISTRY_PULL_UNPACK_DEVICES);
	if (!rc)
		rc = registry__platform_check(fn, o->platform);
	if (rc)
		return rc;
	full->flags = o->flags;
	full->platform = o->platform;
	full->max_manifest_size = o->max_manifest_size;
	full->progress = o->progress;
	full->userdata = o->userdata;
	full->policy = o->version >= 2 ? o->policy : NULL;
	return 0;
}

int registry_pull(char **digest_out, registry_client *client, const registry_reference *ref,
                  registry_store *store, const char *ref_name, const registry_pull_options *options)
{
	REGISTRY__ENTER(rc);
	if (digest_out)
		*digest_out = NULL;
	if (options && (rc = registry__pull_devices_check("registry_pull", options->flags, -1)))
		return rc;
	return registry__pull_hooked(digest_out, client, ref, store, ref_name, options, NULL);
}

int registry__pull_devices_check(const char *fn, unsigned int flags, int format)
{
	if (!(flags & REGISTRY_PULL_UNPACK_DEVICES) || format == REGISTRY_IMAGE_FORMAT_ROOTFS ||
	    format == REGISTRY_IMAGE_FORMAT_ROOTFS_TAR)
		return 0;
	return registry__fail(REGISTRY_EINVAL, "%s: REGISTRY_PULL_UNPACK_DEVICES needs a root filesystem "
	                      "destination (registry_pull_to with a ROOTFS format)", fn);
}

unsigned int registry__pull_unpack_flags(unsigned int pull_flags)
{
	return pull_flags & REGISTRY_PULL_UNPACK_DEVICES ? REGISTRY_UNPACK_DEVICES : 0;
}

int registry__pull_hooked(char **digest_out, registry_client *client, const registry_reference *ref,
                          registry_store *store, const char *ref_name, const registry_pull_options *options,
                          const registry__pull_hook *hook)
{
	int rc;
	if (digest_out)
		*digest_out = NULL;
	if (!client || !ref || !store)
		return registry__fail(REGISTRY_EINVAL, "pull: NULL argument");
	if ((rc = registry__ops_check_ref_registry(client, ref)))
		return rc;
	registry_pull_options full;
	if ((rc = registry__pull_options_full("registry_pull", options, &full)))
		return rc;
	options = &full;
	const char *reference = registry_reference_digest(ref) ? registry_reference_digest(ref)
	                                                       : registry_reference_tag(ref);
	if (!reference)
		return registry__fail(REGISTRY_EINVAL, "pull: reference without tag or digest");
	registry_reference *pinned = NULL;
	if ((rc = registry__policy_gate(&pinned, client, ref, options->policy)))
		return rc;
	/* With a policy, what is fetched is the digest verified, from wherever. */
	const char *what = pinned ? registry_reference_digest(pinned) : reference;
	registry__endpoints eps;
	if ((rc = registry__pull_endpoints(&eps, client, pinned ? pinned : ref))) {
		registry_reference_free(pinned);
		return rc;
	}
	/* Mirrors first, in order, then the primary; a failure at a mirror
	 * moves on to the next (the primary's failure is the one reported). */
	rc = REGISTRY_ENOTFOUND;
	char tried[REGISTRY__MSG_MAX] = "";
	for (size_t i = 0; i < eps.n; i++) {
		pull_job j = {.client = eps.items[i].client, .repository = eps.items[i].repository, .store = store,
		              .flags = options->flags, .o = options, .hook = hook};
		rc = run_pull(&j, what, ref_name ? ref_name : reference, digest_out);
		registry__pull_job_free(&j);
		if (!rc || !eps.items[i].mirror || !registry__endpoint_fallback(rc)) {
			if (rc && !eps.items[i].mirror && *tried)
				registry__endpoints_report(rc, tried);
			break;
		}
		registry__endpoint_failed(tried, sizeof(tried), &eps.items[i]);
		registry__error_clear();
	}
	registry__endpoints_free(&eps);
	registry_reference_free(pinned);
	return rc;
}

/* "name:tag" for docker load, in Docker's short form; NULL when pulled by digest only. */
static int repo_tag_of(const registry_reference *ref, char **out)
{
	*out = NULL;
	if (!registry_reference_tag(ref))
		return 0;
	registry_reference *tagged = NULL;
	int rc = registry_reference_new(&tagged, registry_reference_registry(ref), registry_reference_repository(ref),
	                                registry_reference_tag(ref), NULL);
	if (!rc && !(*out = registry__strdup(registry_reference_familiar(tagged))))
		rc = oom();
	registry_reference_free(tagged);
	return rc;
}

static int is_docker_format(int format)
{
	return format == REGISTRY_IMAGE_FORMAT_DOCKER_DIR || format == REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE ||
	       format == REGISTRY_IMAGE_FORMAT_ROOTFS || format == REGISTRY_IMAGE_FORMAT_ROOTFS_TAR;
}

/* A Docker or root filesystem destination: checked, and a temporary store next to it. */
static int dest_open_docker(registry__pull_dest *d, const registry_reference *ref, const char *dest,
                            const registry_pull_options *options)
{
	int rc = registry__dest_path(dest, &d->path);
	if (rc)
		return rc;
	if (options->flags & REGISTRY_PULL_ALL_PLATFORMS)
		return registry__fail(REGISTRY_EINVAL, "a docker-load image holds one platform, not all");
	if (options->flags & REGISTRY_PULL_REFERRERS)
		return registry__fail(REGISTRY_EINVAL, "a docker-load image holds no referrers: pull into an OCI layout");
	int format = d->format;
	int rootfs = format == REGISTRY_IMAGE_FORMAT_ROOTFS || format == REGISTRY_IMAGE_FORMAT_ROOTFS_TAR;
	/* A root filesystem is checked as a folder, its tar as a tarball. */
	rc = registry__sink_check_dest(d->path, format == REGISTRY_IMAGE_FORMAT_ROOTFS ? REGISTRY_IMAGE_FORMAT_DOCKER_DIR
	                                        : format == REGISTRY_IMAGE_FORMAT_ROOTFS_TAR ? REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE
	                                        : format);
	if (rc || (rc = repo_tag_of(ref, &d->repo_tag)))
		return rc;
	/* The temporary store sits next to dest, so blobs can be hard-linked into a folder. */
	static unsigned counter;
	registry__buf tmp;
	registry__buf_init(&tmp, 0);
	unsigned n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
	if (registry__buf_printf(&tmp, "%s.pull-%ld-%u", d->path, (long)getpid(), n)) {
		registry__buf_free(&tmp);
		return oom();
	}
	d->tmp = tmp.data;
	if (!rootfs)
		d->o.flags |= REGISTRY_PULL_PRESERVE_DIGESTS; /* nothing to convert: the export reads either */
	/* An unpack reads OCI: a schema1 image is converted (diff_ids computed, throwaway layers dropped). */
	d->name = "image";
	return registry_store_open(&d->store, d->tmp, REGISTRY_STORE_CREATE);
}

int registry__pull_dest_open(registry__pull_dest *d, const registry_reference *ref, const char *name,
                             const char *dest, int format, const registry_pull_options *options)
{
	*d = (registry__pull_dest){.format = format, .o = *options, .name = name};
	if (is_docker_format(format))
		return dest_open_docker(d, ref, dest, options);
	return registry_store_open(&d->store, dest, REGISTRY_STORE_CREATE);
}

/* The image pulled into the temporary store, as @d's format wants it. */
int registry__pull_dest_unpacks(const registry__pull_dest *d)
{
	return d->format == REGISTRY_IMAGE_FORMAT_ROOTFS || d->format == REGISTRY_IMAGE_FORMAT_ROOTFS_TAR;
}

void registry__pull_dest_unpack_options(const registry__pull_dest *d, registry_unpack_options *u)
{
	*u = (registry_unpack_options)REGISTRY_UNPACK_OPTIONS_INIT;
	u->flags = registry__pull_unpack_flags(d->o.flags);
	u->platform = d->o.platform;
	u->progress = d->o.progress;
	u->userdata = d->o.userdata;
}

/* How an export of @d reports: the pull's progress, @client's cancel hook. */
static registry__watch export_watch(const registry__pull_dest *d, registry_client *client)
{
	return (registry__watch){.client = client, .prog = {.cb = d->o.progress, .ud = d->o.userdata},
	                         .what = "pull (docker export)"};
}

static int dest_write(registry__pull_dest *d, registry_client *client)
{
	int format = d->format;
	if (registry__pull_dest_unpacks(d)) {
		registry_unpack_options u;
		registry__pull_dest_unpack_options(d, &u);
		return registry__unpack(NULL, d->store, "image", d->path, -1, format == REGISTRY_IMAGE_FORMAT_ROOTFS_TAR,
		                        &u, client);
	}
	registry__watch w = export_watch(d, client);
	return registry__store_export(d->store, "image", d->path, format, d->repo_tag, 1, &w);
}

int registry__pull_dest_export_deferred(registry__pull_dest *d, registry_client *client, registry__sink **out)
{
	registry__watch w = export_watch(d, client);
	return registry__store_export_deferred(out, d->store, "image", d->path, d->format, d->repo_tag, 1, &w);
}

int registry__pull_dest_finish(registry__pull_dest *d, registry_client *client, int rc, char **digest_out)
{
	if (!rc && d->tmp && !d->written)
		rc = dest_write(d, client);
	registry_store_free(d->store);
	d->store = NULL;
	if (d->tmp) {
		/* Keep the first error's message; a cleanup failure only matters when all went well. */
		int rm = registry__remove_tree(d->tmp, rc != 0);
		if (!rc)
			rc = rm;
		free(d->tmp);
		d->tmp = NULL;
	}
	if (rc && digest_out) {
		/* The pull may have succeeded before the export failed: no digest for a failed call. */
		registry_free(*digest_out);
		*digest_out = NULL;
	}
	registry__pull_dest_free(d);
	return rc;
}

void registry__pull_dest_free(registry__pull_dest *d)
{
	registry_store_free(d->store);
	if (d->tmp) /* not finished: what was made of the temporary store goes */
		registry__remove_tree(d->tmp, 1);
	free(d->tmp);
	free(d->path);
	free(d->repo_tag);
	memset(d, 0, sizeof(*d));
}

static int pull_to_format(char **digest_out, registry_client *client, const registry_reference *ref,
                          const char *name, const char *dest, int format, const registry_pull_options *options);

int registry_pull_to(char **digest_out, registry_client *client, const registry_reference *ref, const char *dest,
                     int format, const registry_pull_options *options)
{
	REGISTRY__ENTER(rc);
	if (digest_out)
		*digest_out = NULL;
	if (!client || !ref || !dest || !*dest)
		return registry__fail(REGISTRY_EINVAL, "pull_to: NULL argument");
	if ((rc = registry__ops_check_ref_registry(client, ref)))
		return rc;
	registry_pull_options full;
	if ((rc = registry__pull_options_full("registry_pull_to", options, &full)))
		return rc;
	options = &full;
	if (format != REGISTRY_IMAGE_FORMAT_OCI && format != REGISTRY_IMAGE_FORMAT_DOCKER_DIR &&
	    format != REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE && format != REGISTRY_IMAGE_FORMAT_ROOTFS &&
	    format != REGISTRY_IMAGE_FORMAT_ROOTFS_TAR)
		return registry__fail(REGISTRY_EINVAL, "pull_to: unknown format %d", format);
	if ((rc = registry__pull_devices_check("registry_pull_to", options->flags, format)))
		return rc;
	/* Verified before dest is touched; the inner pull takes the pinned digest. */
	registry_reference *pinned = NULL;
	if ((rc = registry__policy_gate(&pinned, client, ref, options->policy)))
		return rc;
	full.policy = NULL;
	/* The layout names the image as the caller wrote it, not by the pinned digest. */
	const char *name = registry_reference_digest(ref) ? registry_reference_digest(ref) : registry_reference_tag(ref);
	rc = pull_to_format(digest_out, client, pinned ? pinned : ref, name, dest, format, options);
	registry_reference_free(pinned);
	return rc;
}

static int pull_to_format(char **digest_out, registry_client *client, const registry_reference *ref,
                          const char *name, const char *dest, int format, const registry_pull_options *options)
{
	registry__pull_dest d;
	int rc = registry__pull_dest_open(&d, ref, name, dest, format, options);
	if (!rc && (format == REGISTRY_IMAGE_FORMAT_ROOTFS || format == REGISTRY_IMAGE_FORMAT_ROOTFS_TAR)) {
		/* Layers applied as they arrive, the result renamed into place at the end. */
		rc = registry__pull_unpack(digest_out, client, ref, d.store, d.path,
		                           format == REGISTRY_IMAGE_FORMAT_ROOTFS_TAR, &d.o);
		d.written = 1;
	} else if (!rc) {
		rc = registry_pull(digest_out, client, ref, d.store, d.name, &d.o);
	}
	return registry__pull_dest_finish(&d, client, rc, digest_out);
}

/*
 * Push an image from a store (an OCI image layout) to a registry: the
 * manifests are read from the store and parsed, every blob they name is
 * uploaded unless the registry has it, then the manifests go up children
 * first, so that the registry knows every blob and manifest an upper level
 * names by the time that level arrives.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/ops_impl.h"
#include "ops/push_impl.h"
#include "store/store_blob.h"
#include "transport/client_impl.h"

/* ---- Shared helpers ------------------------------------------------------ */

int registry__blob_list_has(const registry__blob_list *l, const char *digest)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i].digest, digest) == 0)
			return 1;
	return 0;
}

int registry__blob_list_add(registry__blob_list *l, const char *digest, int64_t size, int foreign)
{
	if (!digest)
		return registry__fail(REGISTRY_EFORMAT, "a descriptor without digest");
	if (registry__blob_list_has(l, digest))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		registry__blob_item *items = realloc(l->items, cap * sizeof(*items));
		if (!items)
			return registry__fail(REGISTRY_ENOMEM, "out of memory");
		l->items = items;
		l->cap = cap;
	}
	registry__blob_item *it = &l->items[l->n];
	if (!(it->digest = registry__strdup(digest)))
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	it->size = size;
	it->foreign = foreign;
	l->n++;
	return 1;
}

void registry__blob_list_free(registry__blob_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i].digest);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

static int add_descriptor(registry__blob_list *l, const registry_descriptor *d)
{
	int rc = registry__blob_list_add(l, registry_descriptor_digest(d), registry_descriptor_size(d),
	                                 registry_descriptor_url_count(d) > 0);
	return rc < 0 ? rc : 0;
}

int registry__blob_list_add_image(registry__blob_list *l, const registry_manifest *m)
{
	int rc = 0;
	const registry_descriptor *cfg = registry_manifest_config(m);
	if (cfg && (rc = add_descriptor(l, cfg)))
		return rc;
	for (size_t i = 0; i < registry_manifest_layer_count(m); i++)
		if ((rc = add_descriptor(l, registry_manifest_layer(m, i))))
			return rc;
	/* Schema1 names the empty layer for metadata-only steps; the layer list
	 * leaves it out, the registry still wants it. */
	for (size_t i = 0; i < registry_manifest_history_count(m); i++) {
		if (registry_manifest_history_throwaway(m, i)) {
			rc = registry__blob_list_add(l, REGISTRY__EMPTY_LAYER_DIGEST, REGISTRY__EMPTY_LAYER_SIZE, 0);
			return rc < 0 ? rc : 0;
		}
	}
	return 0;
}

int64_t registry__blob_list_total(const registry__blob_list *l)
{
	int64_t total = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (l->items[i].size < 0)
			return -1;
		total += l->items[i].size;
	}
	return total;
}

int registry__push_reference(const registry_reference *target, const registry_manifest *m,
                             const char **repository, const char **reference)
{
	if (!target)
		return registry__fail(REGISTRY_EINVAL, "NULL target reference");
	*repository = registry_reference_repository(target);
	const char *tag = registry_reference_tag(target);
	const char *digest = registry_reference_digest(target);
	if (digest && m && strcmp(digest, registry_manifest_digest(m)) != 0)
		return registry__fail(REGISTRY_EDIGEST, "the target names digest %s, the manifest is %s", digest,
		                      registry_manifest_digest(m));
	*reference = tag ? tag : digest ? digest : m ? registry_manifest_digest(m) : NULL;
	return 0;
}

int registry_push_options_init(registry_push_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_push_options_init: NULL options");
	registry_push_options init = REGISTRY_PUSH_OPTIONS_INIT;
	*opts = init;
	return 0;
}

/* ---- Push from a store --------------------------------------------------- */

#define MAX_DEPTH 4

typedef struct push_ctx {
	registry_client *c;
	registry__push_plan plan;
	registry__push_settings set;
	registry__progress_ctx prog;
} push_ctx;

static int read_manifest(registry__push_plan *p, const char *digest, const char *media_type,
                         registry_manifest **out)
{
	void *data = NULL;
	size_t len = 0;
	int rc = registry_store_read_blob(&data, &len, p->store, digest, REGISTRY_MANIFEST_MAX_SIZE_DEFAULT);
	if (rc)
		return rc;
	rc = registry_manifest_parse(out, data, len, media_type, NULL);
	registry_free(data);
	return rc;
}

static int add_child(registry__push_plan *p, registry_manifest *m)
{
	if (p->nchildren == p->capchildren) {
		size_t cap = p->capchildren ? p->capchildren * 2 : 8;
		registry_manifest **v = realloc(p->children, cap * sizeof(registry_manifest *));
		if (!v)
			return registry__fail(REGISTRY_ENOMEM, "out of memory");
		p->children = v;
		p->capchildren = cap;
	}
	p->children[p->nchildren++] = m;
	return 0;
}

/* Walk @m (owned by the caller): blobs into p->blobs, child manifests
 * (deepest first) into p->children. */
static int collect(registry__push_plan *p, const registry_manifest *m, int depth)
{
	if (registry_manifest_kind(m) != REGISTRY_MANIFEST_INDEX)
		return registry__blob_list_add_image(&p->blobs, m);
	if (depth >= MAX_DEPTH)
		return registry__fail(REGISTRY_EUNSUPPORTED, "indexes nested deeper than %d levels", MAX_DEPTH);
	for (size_t i = 0; i < registry_manifest_entry_count(m); i++) {
		const registry_descriptor *d = registry_manifest_entry(m, i);
		const char *digest = registry_descriptor_digest(d);
		int rc = registry__blob_list_add(&p->seen, digest, registry_descriptor_size(d), 0);
		if (rc <= 0) {
			if (rc < 0)
				return rc;
			continue;
		}
		rc = registry_store_has(p->store, digest);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			if ((rc = registry__blob_list_add(&p->remote_only, digest, -1, 0)) < 0)
				return rc;
			continue;
		}
		registry_manifest *child = NULL;
		if ((rc = read_manifest(p, digest, registry_descriptor_media_type(d), &child)))
			return rc;
		rc = collect(p, child, depth + 1);
		if (!rc)
			rc = add_child(p, child);
		if (rc) {
			registry_manifest_free(child);
			return rc;
		}
	}
	return 0;
}

/* A blob the store lacks (a partial pull, or a foreign layer): fine when
 * the registry has it already. */
static int check_remote_blob(push_ctx *p, const registry__blob_item *b)
{
	int64_t size = b->size;
	int rc = registry__blob_exists(p->c, p->plan.repo, b->digest, &size);
	if (rc < 0)
		return rc;
	return registry__push_remote_blob_judge(&p->prog, b, p->plan.repo, rc);
}

int registry__push_remote_blob_judge(registry__progress_ctx *prog, const registry__blob_item *b,
                                     const char *repo, int exists)
{
	if (exists == 0 && !b->foreign)
		return registry__fail(REGISTRY_ENOTFOUND, "blob %s is neither in the store nor in %s", b->digest,
		                      repo);
	prog->blobs_done++;
	if (b->size > 0)
		prog->overall_done += b->size;
	if (registry__progress_report(prog, b->digest, REGISTRY_PROGRESS_SKIPPED, b->size, b->size))
		return registry__fail(REGISTRY_ECANCELED, "push canceled by the progress callback");
	return 0;
}

/* The size of a blob in the store, opened as the upload will open it (no
 * link followed, a regular file), checked against its descriptor. */
static int local_blob_size(push_ctx *p, const registry__blob_item *b, int64_t *size)
{
	int fd;
	int rc = registry__push_open_local(&fd, size, p->plan.store, b);
	if (!rc)
		close(fd);
	return rc;
}

int registry__push_open_local(int *fd, int64_t *size, registry_store *store, const registry__blob_item *b)
{
	int rc = registry__store_blob_open(store, b->digest, fd, size);
	if (rc)
		return rc;
	if (b->size >= 0 && *size != b->size) {
		close(*fd);
		*fd = -1;
		return registry__fail(REGISTRY_EDIGEST, "blob %s: %lld bytes in the store, the manifest says %lld",
		                      b->digest, (long long)*size, (long long)b->size);
	}
	return 0;
}

/* Every blob: those the store lacks are checked on the registry, the rest
 * uploaded from their files, several at once (lib/blob/lanes.c). */
static int push_blobs(push_ctx *p)
{
	registry__blob_list *blobs = &p->plan.blobs;
	registry__lane_job *jobs = calloc(blobs->n ? blobs->n : 1, sizeof(*jobs));
	size_t njobs = 0;
	int rc = jobs ? 0 : registry__fail(REGISTRY_ENOMEM, "out of memory");
	for (size_t i = 0; i < blobs->n && !rc; i++) {
		const registry__blob_item *b = &blobs->items[i];
		if ((rc = registry_store_has(p->plan.store, b->digest)) < 0)
			break;
		if (rc == 0) {
			rc = check_remote_blob(p, b);
			continue;
		}
		int64_t size = 0;
		if ((rc = local_blob_size(p, b, &size)))
			break;
		if (b->size < 0 && p->prog.overall_total >= 0)
			p->prog.overall_total += size;
		jobs[njobs++] = (registry__lane_job){.digest = b->digest, .store = p->plan.store, .size = size};
	}
	if (!rc)
		rc = registry__upload_files(p->c, p->plan.repo, jobs, njobs, p->set.chunk_size,
		                            p->c->max_parallel, &p->prog);
	free(jobs);
	return rc;
}

/* The index.json entry named @ref_name, or the manifest whose digest it is. */
static int find_root(registry_store *s, const char *ref_name, char **digest, char **media_type)
{
	const registry_descriptor *d = NULL;
	int rc = registry_store_index_find(&d, s, ref_name);
	if (rc == REGISTRY_ENOTFOUND && strchr(ref_name, ':') && registry_digest_validate(ref_name) == 0) {
		for (size_t i = 0; i < registry_store_index_count(s); i++) {
			const registry_descriptor *e = registry_store_index_entry(s, i);
			if (strcmp(registry_descriptor_digest(e), ref_name) == 0) {
				d = e;
				break;
			}
		}
		if (!d) {
			/* Any manifest in the store, e.g. one child of an index. */
			rc = registry_store_has(s, ref_name);
			if (rc < 0)
				return rc;
			if (rc == 0)
				return registry__fail(REGISTRY_ENOTFOUND, "%s is not in the store", ref_name);
			*digest = registry__strdup(ref_name);
			*media_type = NULL;
			return *digest ? 0 : registry__fail(REGISTRY_ENOMEM, "out of memory");
		}
		rc = 0;
	} else if (rc == REGISTRY_ENOTFOUND) {
		return registry__fail(rc, "no image named %s in the store", ref_name);
	}
	if (rc)
		return rc;
	*digest = registry__strdup(registry_descriptor_digest(d));
	*media_type = registry__strdup(registry_descriptor_media_type(d));
	if (!*digest || !*media_type) {
		free(*digest);
		free(*media_type);
		*digest = *media_type = NULL;
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	}
	return 0;
}

static int push_manifests(push_ctx *p, char **digest_out)
{
	const registry__push_plan *pl = &p->plan;
	int rc = 0;
	for (size_t i = 0; i < pl->remote_only.n; i++) {
		const char *d = pl->remote_only.items[i].digest;
		if ((rc = registry_manifest_resolve(NULL, NULL, NULL, p->c, pl->repo, d))) {
			if (rc == REGISTRY_ENOTFOUND)
				rc = registry__push_remote_manifest_missing(pl, d);
			return rc;
		}
	}
	for (size_t i = 0; i < pl->nchildren; i++) {
		const registry_manifest *m = pl->children[i];
		if ((rc = registry_manifest_push(NULL, p->c, pl->repo, registry_manifest_digest(m), m)))
			return rc;
	}
	return registry_manifest_push(digest_out, p->c, pl->repo, pl->reference, pl->root);
}

int registry__push_remote_manifest_missing(const registry__push_plan *pl, const char *digest)
{
	return registry__fail(REGISTRY_ENOTFOUND, "manifest %s of the index is neither in the store nor in %s",
	                      digest, pl->repo);
}

void registry__push_plan_free(registry__push_plan *p)
{
	for (size_t i = 0; i < p->nchildren; i++)
		registry_manifest_free(p->children[i]);
	free(p->children);
	registry__blob_list_free(&p->blobs);
	registry__blob_list_free(&p->seen);
	registry__blob_list_free(&p->remote_only);
	registry_manifest_free(p->root);
	free(p->root_digest);
	free(p->media_type);
	memset(p, 0, sizeof(*p));
}

int registry__push_plan_make(registry__push_plan *p, registry_store *store, const char *ref_name,
                             const registry_reference *target)
{
	memset(p, 0, sizeof(*p));
	p->store = store;
	int rc = find_root(store, ref_name, &p->root_digest, &p->media_type);
	if (!rc)
		rc = read_manifest(p, p->root_digest, p->media_type, &p->root);
	if (!rc)
		rc = registry__push_reference(target, p->root, &p->repo, &p->reference);
	if (!rc && (rc = registry__blob_list_add(&p->seen, p->root_digest, -1, 0)) >= 0)
		rc = collect(p, p->root, 0);
	return rc;
}

void registry__push_progress_init(registry__progress_ctx *prog, const registry__push_plan *p,
                                  const registry__push_settings *set)
{
	memset(prog, 0, sizeof(*prog));
	prog->cb = set->progress;
	prog->ud = set->userdata;
	prog->blobs_total = p->blobs.n;
	prog->overall_total = 0; /* completed per blob when sizes are unknown */
	for (size_t i = 0; i < p->blobs.n; i++)
		if (p->blobs.items[i].size > 0)
			prog->overall_total += p->blobs.items[i].size;
}

int registry__push_check_options(const char *fn, const registry_push_options *options)
{
	return registry__options_check(fn, options->version, REGISTRY_PUSH_OPTIONS_VERSION, options->flags, 0);
}

int registry_push(char **digest_out, registry_client *client, registry_store *store,
                  const char *ref_name, const registry_reference *target,
                  const registry_push_options *options)
{
	REGISTRY__ENTER(rc);
	if (digest_out)
		*digest_out = NULL;
	if (!client || !store || !ref_name || !target)
		return registry__fail(REGISTRY_EINVAL, "push: NULL argument");
	registry_push_options defaults = REGISTRY_PUSH_OPTIONS_INIT;
	if (!options)
		options = &defaults;
	if ((rc = registry__push_check_options("registry_push", options)))
		return rc;
	if ((rc = registry__ops_check_ref_registry(client, target)))
		return rc;
	push_ctx p;
	memset(&p, 0, sizeof(p));
	p.set = REGISTRY__PUSH_SETTINGS(options);
	p.c = client;
	if (!(rc = registry__push_plan_make(&p.plan, store, ref_name, target))) {
		registry__push_progress_init(&p.prog, &p.plan, &p.set);
		rc = push_blobs(&p);
	}
	if (!rc)
		rc = push_manifests(&p, digest_out);
	registry__push_plan_free(&p.plan);
	return rc;
}

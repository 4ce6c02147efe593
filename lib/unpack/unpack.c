/*
 * Unpack an image of a store: its layers applied in order into a
 * temporary directory beside the destination, renamed into place at the
 * end (a failure or a cancel leaves nothing named like the destination);
 * or the same tree as one tar; or one layer onto a caller's directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest/manifest_impl.h"
#include "ops/pull_impl.h"
#include "store/store_blob.h"
#include "store/store_impl.h"
#include "unpack_impl.h"

#define CONFIG_MAX_SIZE ((size_t)32 << 20)
#define KNOWN_FLAGS (REGISTRY_UNPACK_DEVICES | REGISTRY_UNPACK_BUNDLE)

static int watch_step(int64_t n, void *ud)
{
	return registry__watch_step(ud, n);
}

static int check_opts(const char *fn, const registry_unpack_options *o, const registry_unpack_stats *stats)
{
	int rc = registry__options_check(fn, o->version, REGISTRY_UNPACK_OPTIONS_VERSION, o->flags, KNOWN_FLAGS);
	if (!rc)
		rc = registry__platform_check(fn, o->platform);
	if (!rc && stats && (stats->version == 0 || stats->version > REGISTRY_UNPACK_STATS_VERSION))
		rc = registry__fail(REGISTRY_EINVAL, "%s: stats version %u, this library knows 1 to %d", fn,
		                    stats->version, REGISTRY_UNPACK_STATS_VERSION);
	return rc;
}

static registry__applier_config applier_config(const registry_unpack_options *o, registry__watch *w)
{
	return (registry__applier_config){.flags = o->flags, .max_size = o->max_size, .step = watch_step,
	                                  .step_ud = w};
}

int registry_unpack_options_init(registry_unpack_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_unpack_options_init: NULL options");
	*opts = (registry_unpack_options)REGISTRY_UNPACK_OPTIONS_INIT;
	return 0;
}

/* ---- one layer ---- */

int registry_layer_apply(registry_unpack_stats *stats, const char *root, int layer_fd, const char *diff_id,
                         const registry_unpack_options *opts)
{
	REGISTRY__ENTER(rc);
	registry_unpack_options defaults = REGISTRY_UNPACK_OPTIONS_INIT;
	if (!opts)
		opts = &defaults;
	if (!root || layer_fd < 0)
		return registry__fail(REGISTRY_EINVAL, "registry_layer_apply: NULL root or no layer descriptor");
	if ((rc = check_opts("registry_layer_apply", opts, stats)))
		return rc;
	if (opts->flags & REGISTRY_UNPACK_BUNDLE)
		return registry__fail(REGISTRY_EINVAL, "registry_layer_apply: REGISTRY_UNPACK_BUNDLE is for a whole image");
	int dirfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return registry__fail(errno == ENOENT ? REGISTRY_ENOTFOUND : REGISTRY_EIO, "opening %s: %s", root,
		                      registry__errno_text(errno));
	registry__watch w = {.prog = {.cb = opts->progress, .ud = opts->userdata}, .what = "layer apply"};
	registry__applier_config cfg = applier_config(opts, &w);
	registry__applier *a = NULL;
	registry__fd_source src = {.fd = layer_fd, .what = "the layer"};
	registry__watch_plan(&w, 1, -1);
	registry__watch_blob(&w, diff_id ? diff_id : "layer", -1);
	if (!(rc = registry__applier_new(&a, dirfd, &cfg)))
		rc = registry__applier_run(a, registry__fd_read, &src, diff_id);
	if (!rc)
		rc = registry__watch_blob_done(&w);
	if (a)
		registry__unpack_stats_fill(stats, registry__applier_counts(a));
	registry__applier_free(a);
	close(dirfd);
	return rc;
}

/* ---- an image ---- */

typedef struct unpack_job {
	registry_store *store;               /* the layers' home, or: */
	const registry__layer_source *source; /* where they come from otherwise */
	const registry_unpack_options *opts;
	const registry__unpack_feed *feed; /* a pull still running, or NULL */
	const registry_manifest *m;
	registry_manifest *m_owned;        /* m when found in the store */
	char *config;
	size_t config_len;
	registry_image_config *ic;
	registry__watch w;
	registry__unpack_counts counts;
} unpack_job;

/* Blob @digest of the store, once a pull that is still running has it (or
 * is over): 0 or REGISTRY_ECANCELED. Nothing to wait for without a pull. */
static int await(const unpack_job *j, const char *digest)
{
	return j->feed ? j->feed->wait(digest, j->feed->ud) : 0;
}

static int check_config(unpack_job *j);

/* j->m's config (read and checked against the layers). */
static int load_config(unpack_job *j)
{
	int rc = 0;
	if (registry_manifest_schema_version(j->m) == 1)
		return registry__fail(REGISTRY_EUNSUPPORTED, "%s is a schema1 image kept as served: pull it without "
		                      "preserving digests to unpack it", registry_manifest_digest(j->m));
	const registry_descriptor *config = registry_manifest_config(j->m);
	const char *ctype = config ? registry_descriptor_media_type(config) : NULL;
	if (!ctype || (strcmp(ctype, REGISTRY_MEDIA_TYPE_DOCKER_CONFIG) != 0 &&
	               strcmp(ctype, REGISTRY_MEDIA_TYPE_OCI_CONFIG) != 0))
		return registry__fail(REGISTRY_EUNSUPPORTED, "%s is not a container image (config %s)",
		                      registry_manifest_digest(j->m), ctype ? ctype : "none");
	if ((rc = await(j, registry_descriptor_digest(config))) ||
	    (rc = registry_store_read_blob((void **)&j->config, &j->config_len, j->store,
	                                   registry_descriptor_digest(config), CONFIG_MAX_SIZE)))
		return rc;
	return check_config(j);
}

/* The image config of j->m, read: parsed, one diff_id per layer. */
static int check_config(unpack_job *j)
{
	int rc = registry__image_config_parse(&j->ic, j->config, j->config_len, CONFIG_MAX_SIZE);
	if (rc)
		return rc;
	size_t n = registry_manifest_layer_count(j->m);
	size_t ndiff = registry_image_config_list_count(j->ic, REGISTRY_IMAGE_CONFIG_LIST_DIFF_IDS);
	if (n != ndiff)
		return registry__fail(REGISTRY_EFORMAT, "%s has %zu layers, its config %zu diff_ids",
		                      registry_manifest_digest(j->m), n, ndiff);
	return 0;
}

static int load_image(unpack_job *j, const char *ref_name)
{
	const registry_descriptor *entry = NULL;
	int rc = 0;
	if ((rc = registry__store_find_entry(j->store, ref_name, &entry)) ||
	    (rc = registry__store_resolve_image(j->store, entry, j->opts->platform, &j->m_owned)))
		return rc;
	j->m = j->m_owned;
	return load_config(j);
}

/* The progress plan of j's layers and the applier writing them into @root. */
static int layers_begin(unpack_job *j, int root, registry__applier **a)
{
	size_t n = registry_manifest_layer_count(j->m);
	int64_t bytes = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t size = registry_descriptor_size(registry_manifest_layer(j->m, i));
		bytes = bytes < 0 || size < 0 ? -1 : bytes + size;
	}
	registry__watch_plan(&j->w, n, bytes);
	registry__applier_config cfg = applier_config(j->opts, &j->w);
	return registry__applier_new(a, root, &cfg);
}

static const char *layer_diff_id(const unpack_job *j, size_t i)
{
	return registry_image_config_list_item(j->ic, REGISTRY_IMAGE_CONFIG_LIST_DIFF_IDS, i);
}

/* Layer @i's bytes: *read with *ud (@src for a store's blob). */
static int layer_open(unpack_job *j, size_t i, registry__fd_source *src, registry__layer_read_cb *read, void **ud)
{
	const char *digest = registry_descriptor_digest(registry_manifest_layer(j->m, i));
	int64_t size = registry_descriptor_size(registry_manifest_layer(j->m, i));
	*src = (registry__fd_source){.fd = -1, .what = digest};
	*ud = src;
	*read = registry__fd_read;
	int rc = 0;
	if (j->source)
		rc = j->source->open(j->source->ctx, i, read, ud);
	else if (!(rc = await(j, digest)) &&
	         (rc = registry__store_blob_open(j->store, digest, &src->fd, &size)) == REGISTRY_ENOTFOUND)
		rc = registry__fail(rc, "layer %s is not in the store (a foreign layer?)", digest);
	if (!rc)
		registry__watch_blob(&j->w, digest, size);
	return rc;
}

/* Layer @i applied with @rc: its source closed, a failure named after it. */
static int layer_close(unpack_job *j, size_t i, registry__fd_source *src, void *ud, int rc)
{
	if (j->source)
		j->source->close(j->source->ctx, ud);
	else
		close(src->fd);
	if (rc) {
		char why[REGISTRY__MSG_MAX];
		snprintf(why, sizeof(why), "%s", registry_error_message(registry_error_last()));
		registry__fail(rc, "layer %zu (%s): %s", i + 1,
		               registry_descriptor_digest(registry_manifest_layer(j->m, i)), why);
		return rc;
	}
	return registry__watch_blob_done(&j->w);
}

static int apply_layers(unpack_job *j, int root)
{
	size_t n = registry_manifest_layer_count(j->m);
	registry__applier *a = NULL;
	int rc = layers_begin(j, root, &a);
	for (size_t i = 0; !rc && i < n; i++) {
		registry__fd_source src;
		registry__layer_read_cb read = NULL;
		void *ud = NULL;
		if ((rc = layer_open(j, i, &src, &read, &ud)))
			break;
		rc = registry__applier_run(a, read, ud, layer_diff_id(j, i));
		rc = layer_close(j, i, &src, ud, rc);
	}
	if (a)
		j->counts = *registry__applier_counts(a);
	registry__applier_free(a);
	return rc;
}

static void job_free(unpack_job *j)
{
	registry_manifest_free(j->m_owned);
	registry_image_config_free(j->ic);
	registry_free(j->config);
}

/* A fresh temporary directory beside @dest (or in TMPDIR when @dest is NULL). */
static int make_temp(const char *dest, char **out)
{
	static unsigned counter;
	registry__buf b;
	registry__buf_init(&b, 0);
	const char *tmpdir = getenv("TMPDIR");
	int r = dest ? registry__buf_printf(&b, "%s.unpack-%ld-%u", dest, (long)getpid(),
	                                    __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED))
	             : registry__buf_printf(&b, "%s/registry-unpack-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (r) {
		registry__buf_free(&b);
		return registry__nomem();
	}
	if (dest ? mkdir(b.data, 0755) != 0 : !mkdtemp(b.data)) {
		int err = errno;
		registry__buf_free(&b);
		return registry__fail(REGISTRY_EIO, "creating a directory beside %s: %s", dest ? dest : "TMPDIR",
		                      registry__errno_text(err));
	}
	*out = registry__buf_detach(&b);
	return 0;
}

/* config.json of a bundle in @dir, from the image config and the tree @root. */
static int write_bundle_config(unpack_job *j, const char *dir, int root)
{
	char *json = NULL;
	size_t len = 0;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = dfd < 0 ? registry__fail(REGISTRY_EIO, "opening %s: %s", dir, registry__errno_text(errno))
	                 : registry__bundle_config(&json, &len, j->config, j->config_len, root);
	int fd = rc ? -1 : openat(dfd, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (!rc && (fd < 0 || registry__store_write_all(fd, json, len)))
		rc = registry__fail(REGISTRY_EIO, "writing %s/config.json: %s", dir, registry__errno_text(errno));
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	registry_free(json);
	return rc;
}

/* The tree's root in @dir (its rootfs/ for a bundle), opened as *root. */
static int tree_open(unpack_job *j, const char *dir, int *root)
{
	int rc = 0;
	int bundle = (j->opts->flags & REGISTRY_UNPACK_BUNDLE) != 0;
	registry__buf b;
	registry__buf_init(&b, 0);
	*root = -1;
	if (registry__buf_printf(&b, "%s%s", dir, bundle ? "/rootfs" : ""))
		return registry__nomem();
	if (bundle && mkdir(b.data, 0755) != 0)
		rc = registry__fail(REGISTRY_EIO, "creating %s: %s", b.data, registry__errno_text(errno));
	if (!rc && (*root = open(b.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		rc = registry__fail(REGISTRY_EIO, "opening %s: %s", b.data, registry__errno_text(errno));
	registry__buf_free(&b);
	return rc;
}

/* The layers are in @root (when @rc is 0): a bundle's config.json, then
 * the feeding pull's end; @root closed. */
static int tree_close(unpack_job *j, const char *dir, int root, int rc)
{
	if (!rc && (j->opts->flags & REGISTRY_UNPACK_BUNDLE))
		rc = write_bundle_config(j, dir, root);
	/* Nothing is renamed into place or written out before the pull that
	 * feeds us is complete: a pull that fails later leaves no result. */
	if (!rc)
		rc = await(j, NULL);
	if (root >= 0)
		close(root);
	return rc;
}

/* The tree into @dir (its rootfs/ and config.json for a bundle). */
static int unpack_into(unpack_job *j, const char *dir)
{
	int root = -1;
	int rc = tree_open(j, dir, &root);
	if (!rc)
		rc = apply_layers(j, root);
	return tree_close(j, dir, root, rc);
}

static void job_init(unpack_job *j, registry_store *store, const registry_unpack_options *opts)
{
	memset(j, 0, sizeof(*j));
	j->store = store;
	j->opts = opts;
	j->w = (registry__watch){.prog = {.cb = opts->progress, .ud = opts->userdata}, .what = "unpack"};
}

static int start(unpack_job *j, const char *fn, registry_store *store, const char *ref_name,
                 const registry_unpack_options *opts, const registry_unpack_stats *stats)
{
	job_init(j, store, opts);
	int rc = check_opts(fn, opts, stats);
	return rc ? rc : load_image(j, ref_name);
}

/* The temporary file a tar to @path is written in (*tmp, renamed by
 * tar_file_close): *fd open on it. 0 or the failure. */
static int tar_file_open(const char *path, char **tmp, int *fd)
{
	*fd = -1;
	registry__buf b;
	registry__buf_init(&b, 0);
	if (registry__buf_printf(&b, "%s.tmp-%ld", path, (long)getpid()))
		return registry__nomem();
	*fd = open(b.data, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (*fd < 0) {
		int rc = registry__fail(REGISTRY_EIO, "creating %s: %s", b.data, registry__errno_text(errno));
		registry__buf_free(&b);
		return rc;
	}
	*tmp = registry__buf_detach(&b);
	return 0;
}

/* The tar written (@rc 0): @fd closed and @tmp renamed to @path; else @tmp
 * removed. @tmp freed. */
static int tar_file_close(char *tmp, const char *path, int fd, int rc)
{
	if (close(fd) != 0 && !rc)
		rc = registry__fail(REGISTRY_EIO, "writing %s: %s", tmp, registry__errno_text(errno));
	if (!rc && rename(tmp, path) != 0)
		rc = registry__fail(REGISTRY_EIO, "renaming %s to %s: %s", tmp, path, registry__errno_text(errno));
	if (rc)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* Write the tree to @path through a temporary file renamed into place, or to @fd. */
static int tree_out(const char *tree, const char *path, int fd)
{
	if (!path)
		return registry__tree_to_tar(tree, fd);
	char *tmp = NULL;
	int out = -1;
	int rc = tar_file_open(path, &tmp, &out);
	return rc ? rc : tar_file_close(tmp, path, out, registry__tree_to_tar(tree, out));
}

/* Where the result goes: *path (none for a tar to a descriptor) and the
 * temporary directory *tmp the tree is made in. */
static int dest_prepare(const char *dest, int tar, char **path, char **tmp)
{
	*path = *tmp = NULL;
	int rc = dest ? registry__dest_path(dest, path) : 0;
	if (!rc && !tar)
		rc = registry__sink_check_dest(*path, REGISTRY_IMAGE_FORMAT_DOCKER_DIR);
	if (!rc)
		rc = make_temp(*path, tmp);
	return rc;
}

/* The tree in @tmp is complete (when @rc is 0): renamed into place, or
 * written out as a tar; @tmp removed unless it became the result. */
static int dest_place(const char *tmp, const char *path, int tar, int fd, int rc)
{
	if (tar) {
		if (!rc)
			rc = tree_out(tmp, path, fd);
		registry__remove_tree(tmp, 1);
		return rc;
	}
	/* rename(2) replaces an empty directory: the tree appears at once, whole. */
	if (!rc && rename(tmp, path) != 0)
		rc = registry__fail(REGISTRY_EIO, "renaming %s to %s: %s", tmp, path, registry__errno_text(errno));
	if (rc)
		registry__remove_tree(tmp, 1);
	return rc;
}

static int unpack_to(unpack_job *j, const char *dest, int fd, int tar)
{
	char *path = NULL, *tmp = NULL;
	int rc = dest_prepare(dest, tar, &path, &tmp);
	if (!rc)
		rc = dest_place(tmp, path, tar, fd, unpack_into(j, tmp));
	free(tmp);
	free(path);
	return rc;
}

int registry__unpack(registry_unpack_stats *stats, registry_store *store, const char *ref_name, const char *dest,
                     int fd, int tar, const registry_unpack_options *opts, registry_client *client)
{
	const char *fn = tar ? "registry_store_unpack_tar" : "registry_store_unpack";
	registry_unpack_options defaults = REGISTRY_UNPACK_OPTIONS_INIT;
	if (!opts)
		opts = &defaults;
	if (!store || !ref_name || (!dest && (!tar || fd < 0)))
		return registry__fail(REGISTRY_EINVAL, "%s: NULL argument", fn);
	if (tar && (opts->flags & REGISTRY_UNPACK_BUNDLE))
		return registry__fail(REGISTRY_EINVAL, "%s: a tar holds no bundle", fn);
	unpack_job j;
	int rc = start(&j, fn, store, ref_name, opts, stats);
	j.w.client = client;
	if (!rc)
		rc = unpack_to(&j, dest, fd, tar);
	registry__unpack_stats_fill(stats, &j.counts);
	job_free(&j);
	return rc;
}

int registry__unpack_fed(registry_store *store, const registry_manifest *m, const char *dest, int tar,
                         const registry_unpack_options *opts, const registry__unpack_feed *feed)
{
	unpack_job j;
	job_init(&j, store, opts);
	j.feed = feed;
	j.m = m;
	int rc = load_config(&j);
	if (!rc)
		rc = unpack_to(&j, dest, -1, tar);
	job_free(&j);
	return rc;
}

int registry__unpack_check(const char *fn, const registry_unpack_options *opts, const registry_unpack_stats *stats)
{
	registry_unpack_options defaults = REGISTRY_UNPACK_OPTIONS_INIT;
	return check_opts(fn, opts ? opts : &defaults, stats);
}

int registry__unpack_image(registry_unpack_stats *stats, const char *fn, registry_manifest *m, char *config,
                           size_t config_len, const registry__layer_source *source, const char *dest,
                           const registry_unpack_options *opts)
{
	registry_unpack_options defaults = REGISTRY_UNPACK_OPTIONS_INIT;
	if (!opts)
		opts = &defaults;
	unpack_job j;
	job_init(&j, NULL, opts);
	j.source = source;
	j.m = j.m_owned = m;
	j.config = config;
	j.config_len = config_len;
	int rc = check_opts(fn, opts, stats);
	if (!rc)
		rc = check_config(&j);
	if (!rc)
		rc = unpack_to(&j, dest, -1, 0);
	registry__unpack_stats_fill(stats, &j.counts);
	job_free(&j);
	return rc;
}

int registry_store_unpack(registry_unpack_stats *stats, registry_store *store, const char *ref_name,
                          const char *dest, const registry_unpack_options *opts)
{
	REGISTRY__ENTER(rc);
	return registry__unpack(stats, store, ref_name, dest, -1, 0, opts, NULL);
}

int registry_store_unpack_tar(registry_unpack_stats *stats, registry_store *store, const char *ref_name,
                              const char *dest, int fd, const registry_unpack_options *opts)
{
	REGISTRY__ENTER(rc);
	return registry__unpack(stats, store, ref_name, dest, fd, 1, opts, NULL);
}

/* ---- the same in slices, for an event loop ---- */

struct registry__unpack_run {
	unpack_job j;
	registry_unpack_options opts;
	int tar, root;
	char *path, *tmp;
	registry__applier *a;
	size_t layer;       /* the layer at hand */
	int open;           /* it is begun */
	registry__fd_source src;
	registry__layer_read_cb read;
	void *ud;
	int ended;          /* placed, or failed and removed */
	registry__tree_tar *tt; /* the tar of the tree, being written in slices */
	char *tar_tmp;          /* its temporary file (renamed to path at the end) */
	int tar_fd;
};

int registry__unpack_run_new(registry__unpack_run **out, registry_store *store, const char *ref_name,
                             const char *dest, int tar, const registry_unpack_options *opts)
{
	registry_unpack_options defaults = REGISTRY_UNPACK_OPTIONS_INIT;
	const char *fn = tar ? "registry_store_unpack_tar" : "registry_store_unpack";
	registry__unpack_run *r = registry__calloc(1, sizeof(*r));
	if (!r)
		return registry__nomem();
	r->opts = opts ? *opts : defaults;
	r->tar = tar;
	r->root = -1;
	r->tar_fd = -1;
	int rc = start(&r->j, fn, store, ref_name, &r->opts, NULL);
	if (!rc)
		rc = dest_prepare(dest, tar, &r->path, &r->tmp);
	if (!rc)
		rc = tree_open(&r->j, r->tmp, &r->root);
	if (!rc)
		rc = layers_begin(&r->j, r->root, &r->a);
	if (rc) {
		registry__unpack_run_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

/* The tar is written (@rc 0) or failed: renamed into place, or removed;
 * the tree removed either way. */
static int tar_end(registry__unpack_run *r, int rc)
{
	registry__tree_tar_free(r->tt);
	r->tt = NULL;
	if (r->tar_tmp)
		rc = tar_file_close(r->tar_tmp, r->path, r->tar_fd, rc);
	r->tar_tmp = NULL;
	r->tar_fd = -1;
	registry__remove_tree(r->tmp, 1);
	r->ended = 1;
	return rc;
}

/* The tree is complete: its tar begun, written by the next steps (1), or
 * the failure (the tree removed). */
static int tar_begin(registry__unpack_run *r)
{
	int rc = tar_file_open(r->path, &r->tar_tmp, &r->tar_fd);
	if (!rc)
		rc = registry__tree_tar_open(&r->tt, r->tmp, r->tar_fd);
	return rc ? tar_end(r, rc) : 1;
}

/* The layers are applied (when @rc is 0) or one failed: the result placed
 * (a tar: begun, 1), or the temporary tree removed. */
static int run_end(registry__unpack_run *r, int rc)
{
	rc = tree_close(&r->j, r->tmp, r->root, rc);
	r->root = -1;
	if (!rc && r->tar)
		return tar_begin(r);
	r->ended = 1;
	return dest_place(r->tmp, r->path, r->tar, -1, rc);
}

int registry__unpack_run_step(registry__unpack_run *r, int (*spent)(void *ud), void *ud)
{
	if (r->tt) { /* the tar of the tree, a slice of it */
		int trc = registry__tree_tar_step(r->tt, spent, ud);
		return trc == 1 ? 1 : tar_end(r, trc);
	}
	size_t n = registry_manifest_layer_count(r->j.m);
	int rc = 0;
	do {
		if (!r->open) {
			if (r->layer == n)
				return run_end(r, 0);
			if ((rc = layer_open(&r->j, r->layer, &r->src, &r->read, &r->ud)))
				return run_end(r, rc);
			r->open = 1;
			rc = registry__applier_begin(r->a, r->read, r->ud, layer_diff_id(&r->j, r->layer));
		}
		if (!rc && (rc = registry__applier_slice(r->a, spent, ud)) == 1)
			return 1;
		r->open = 0;
		if ((rc = layer_close(&r->j, r->layer++, &r->src, r->ud, rc)))
			return run_end(r, rc);
	} while (!spent(ud));
	return 1;
}

void registry__unpack_run_stats(const registry__unpack_run *r, registry_unpack_stats *stats)
{
	if (r->a)
		registry__unpack_stats_fill(stats, registry__applier_counts(r->a));
}

void registry__unpack_run_free(registry__unpack_run *r)
{
	if (!r)
		return;
	registry__applier_free(r->a); /* a layer begun is ended, its file closed */
	if (r->open && r->j.source)
		r->j.source->close(r->j.source->ctx, r->ud);
	else if (r->open)
		close(r->src.fd);
	if (r->root >= 0)
		close(r->root);
	registry__tree_tar_free(r->tt);
	if (r->tar_tmp) /* a cancel while the tar was written: the partial file goes */
		tar_file_close(r->tar_tmp, r->path, r->tar_fd, REGISTRY_ECANCELED);
	if (r->tmp && !r->ended)
		registry__remove_tree(r->tmp, 1); /* a cancel: nothing of the tree stays */
	free(r->tmp);
	free(r->path);
	job_free(&r->j);
	free(r);
}

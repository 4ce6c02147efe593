/*
 * Push a `docker save` tarball on the caller's event loop
 * (registry_push_archive_start). registry_push_archive (lib/ops/
 * push_archive.c) reads the tarball once to index it and then again for
 * each member it uploads; a tar is read in order, which loop mode cannot
 * do in one step, so here one reading does both:
 *
 *   the tarball read in slices of the timer (each step reads until its
 *   budget, REGISTRY__LOOP_SLICE_US, is spent), every member hashed and
 *   indexed by the blocking call's own reader (ops/docker_archive.c) and
 *   written, as it is read, into a private temporary store under $TMPDIR
 *   (named by its digest, no fsync: the store lives as long as the push)
 *   ─► the image's manifest built as registry_push_archive builds it, kept
 *      in that store with an index entry (loop/store.c)
 *   ─► a loop push of that image (registry_push_start) to the target
 *   ─► the temporary store removed (also after a failure, a cancel, a free)
 *
 * The operation is a parent while the push runs, as a copy is
 * (loop/copy.c): the push is its child, and it completes with the child's
 * code, error record and digest. The manifest is the blocking call's, byte
 * for byte, so the digest is too.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop_impl.h"
#include "ops/ops_impl.h"

/* Checked as registry_push_archive checks them, with or without libarchive. */
static int check_start(registry_op **out, registry_loop *loop, registry_client *client, const char *archive_path,
                       const registry_reference *target, const registry_push_archive_options **options,
                       registry_op_done_cb done)
{
	static const char fn[] = "registry_push_archive_start";
	static const registry_push_archive_options defaults = REGISTRY_PUSH_ARCHIVE_OPTIONS_INIT;
	if (out)
		*out = NULL;
	if (!out || !loop || !client || !archive_path || !target || !done)
		return registry__fail(REGISTRY_EINVAL, "%s: NULL argument", fn);
	if (!*options)
		*options = &defaults;
	int rc = registry__options_check(fn, (*options)->version, REGISTRY_PUSH_ARCHIVE_OPTIONS_VERSION,
	                                 (*options)->flags, 0);
	return rc ? rc : registry__ops_check_ref_registry(client, target);
}

#ifdef REGISTRY_HAVE_LIBARCHIVE

#include "ops/docker_archive.h"
#include "store/store_impl.h"

/* The image's name in the temporary store. */
#define ARCHIVE_REF_NAME "archive"

typedef struct archive_op {
	registry_op op;
	registry_op *child; /* the push, once the image is in the store */
	char *path;
	registry_reference *target;
	registry_push_options push;
	char *tmp; /* the temporary store's folder */
	registry_store *store;
	registry__darchive ar;
	registry__darchive_scan *scan; /* NULL before the first slice and after the last */
	lwait wait;
	int fd; /* the member being written, or -1 */
	char rel[STORE_REL_MAX];
	registry_manifest *m;
	lstore *storing;
} archive_op;

/* ---- the members, written into the store as they are read ---- */

static int member_begin(void *ud)
{
	archive_op *a = ud;
	return registry__store_temp_open(a->store, a->rel, &a->fd);
}

static int member_data(void *ud, const void *buf, size_t len)
{
	archive_op *a = ud;
	int err = registry__store_write_all(a->fd, buf, len);
	return err ? registry__store_io_fail(err, "store: cannot write an archive member to blobs/%s", a->rel) : 0;
}

/* Its digest known: the file renamed to it. No fsync: the store is this
 * operation's alone, and removed at its end. */
static int member_end(void *ud, const registry__darchive_member *e)
{
	archive_op *a = ud;
	int dir = -1;
	int rc = registry__store_install_renamed(a->store, a->rel, e->digest, &dir);
	if (dir >= 0)
		close(dir);
	close(a->fd);
	a->fd = -1;
	return rc;
}

/* ---- the steps ---- */

static void child_done(registry_op *child, int rc, void *userdata)
{
	archive_op *a = userdata;
	if (!rc && (rc = registry_op_result_digest(&a->op.digest, child)))
		a->op.digest = NULL;
	/* The child is freed (and the store removed) as the operation stops. */
	registry__loop_op_complete(&a->op, rc);
}

/* The manifest and its index entry are stored (op->digest is the manifest's). */
static void stored(registry_op *op, int rc)
{
	archive_op *a = (archive_op *)(void *)op;
	a->storing = NULL;
	free(op->digest);
	op->digest = NULL;
	if (rc)
		registry__loop_op_complete(op, rc);
	else /* the image is in the store: its push */
		registry__loop_push_child(op, &a->child, a->store, ARCHIVE_REF_NAME, a->target, &a->push, NULL,
		                          child_done);
}

/* The tarball is read: the image picked and its manifest built as
 * registry_push_archive does, then kept in the store. */
static int store_image(archive_op *a)
{
	const struct cJSON *img = NULL;
	registry__blob_list blobs;
	memset(&blobs, 0, sizeof(blobs));
	int rc = registry__darchive_pick(&img, &a->ar, a->target, 0);
	if (!rc)
		rc = registry__darchive_manifest(&a->m, &blobs, &a->ar, img);
	registry__blob_list_free(&blobs); /* the push finds them from the manifest */
	if (!rc)
		rc = registry__loop_store_image(&a->storing, &a->op, a->store, REGISTRY_PULL_PRESERVE_DIGESTS, a->m,
		                                ARCHIVE_REF_NAME, stored);
	return rc;
}

/* One slice of the tarball; the next one at the next step, until its end. */
static void read_slice(lwait *w)
{
	archive_op *a = (archive_op *)(void *)((char *)w - offsetof(archive_op, wait));
	registry__darchive_sink sink = {member_begin, member_data, member_end, a};
	int rc = 0;
	if (!a->scan)
		rc = registry__darchive_scan_begin(&a->scan, &a->ar, a->path, &sink);
	if (!rc)
		rc = registry__darchive_scan_step(a->scan, registry__loop_spent, a->op.loop);
	if (rc == 1) {
		registry__loop_wait(a->op.loop, &a->wait, 0, read_slice);
		return;
	}
	registry__darchive_scan_free(a->scan);
	a->scan = NULL;
	if (!rc)
		rc = store_image(a);
	if (rc)
		registry__loop_op_complete(&a->op, rc);
}

/* ---- the operation ---- */

static void archive_stop(registry_op *op)
{
	archive_op *a = (archive_op *)(void *)op;
	registry_op *child = a->child;
	a->child = NULL;
	registry_op_free(child); /* a running push: canceled, no callback */
	if (op->loop)
		registry__loop_unwait(op->loop, &a->wait);
	registry__loop_store_forget(a->storing);
	a->storing = NULL;
	registry__darchive_scan_free(a->scan);
	a->scan = NULL;
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	registry__loop_tmp_store_remove(&a->tmp, &a->store);
}

static void archive_free(registry_op *op)
{
	archive_op *a = (archive_op *)(void *)op;
	registry__darchive_free(&a->ar);
	registry_manifest_free(a->m);
	registry_reference_free(a->target);
	free(a->path);
	free(op->digest);
}

static const registry__op_kind archive_kind = {archive_stop, archive_free};

int registry_push_archive_start(registry_op **out, registry_loop *loop, registry_client *client,
                                const char *archive_path, const registry_reference *target,
                                const registry_push_archive_options *options, registry_op_done_cb done,
                                void *userdata)
{
	REGISTRY__ENTER(rc);
	if ((rc = check_start(out, loop, client, archive_path, target, &options, done)))
		return rc;
	registry_op *op = NULL;
	if ((rc = registry__loop_op_new(&op, loop, client, &archive_kind, sizeof(archive_op), done, userdata)))
		return rc;
	archive_op *a = (archive_op *)(void *)op;
	a->fd = -1;
	a->push = (registry_push_options)REGISTRY_PUSH_OPTIONS_INIT;
	a->push.chunk_size = options->chunk_size;
	a->push.progress = options->progress;
	a->push.userdata = options->userdata;
	if (!(a->path = registry__strdup(archive_path)))
		rc = registry__nomem();
	if (!rc)
		rc = registry_reference_dup(&a->target, target);
	if (!rc)
		rc = registry__loop_tmp_store(&a->tmp, &a->store, "registry_push_archive_start", "registry-archive");
	if (rc) {
		registry_op_free(op);
		return rc;
	}
	*out = op;
	/* The tarball is opened and read from the next step on: a failure to
	 * read it comes through @done, as the push's own failures do. */
	int64_t t = registry__loop_step_begin(loop);
	registry__loop_wait(loop, &a->wait, 0, read_slice);
	registry__loop_step_end(loop, t);
	return 0;
}

#else /* !REGISTRY_HAVE_LIBARCHIVE */

int registry_push_archive_start(registry_op **out, registry_loop *loop, registry_client *client,
                                const char *archive_path, const registry_reference *target,
                                const registry_push_archive_options *options, registry_op_done_cb done,
                                void *userdata)
{
	(void)userdata;
	REGISTRY__ENTER(rc);
	if ((rc = check_start(out, loop, client, archive_path, target, &options, done)))
		return rc;
	return registry__fail(REGISTRY_EUNSUPPORTED, "push_archive: libregistry was built without libarchive");
}

#endif

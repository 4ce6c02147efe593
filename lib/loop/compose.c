/*
 * What loop operations built on others share (a copy's pull then push,
 * loop/copy.c; an archive read then pushed, loop/push_archive.c): a
 * private temporary store, a new folder under $TMPDIR removed with the
 * store when the operation stops, whatever happened; and the push of the
 * image in it as the operation's child.
 */
#include <errno.h>
#include <stdlib.h>

#include "loop_impl.h"
#include "ops/pull_impl.h"

int registry__loop_tmp_store(char **dir, registry_store **store, const char *fn, const char *prefix)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	registry__buf b;
	registry__buf_init(&b, 0);
	if (registry__buf_printf(&b, "%s/%s-XXXXXX", tmp, prefix)) {
		registry__buf_free(&b);
		return registry__nomem();
	}
	if (!mkdtemp(b.data)) {
		int rc = registry__fail(REGISTRY_EIO, "%s: cannot create a temporary store in %.300s: %s", fn, tmp,
		                        registry__errno_text(errno));
		registry__buf_free(&b);
		return rc;
	}
	*dir = registry__buf_detach(&b);
	return registry_store_open(store, *dir, REGISTRY_STORE_CREATE);
}

void registry__loop_tmp_store_remove(char **dir, registry_store **store)
{
	registry_store_free(*store);
	*store = NULL;
	if (*dir)
		registry__remove_tree(*dir, 1); /* quietly: an earlier failure's message stays the record */
	free(*dir);
	*dir = NULL;
}

void registry__loop_push_child(registry_op *parent, registry_op **child, registry_store *store, const char *ref_name,
                               const registry_reference *target, const registry_push_options *o,
                               const char *mount_from, registry_op_done_cb done)
{
	registry_loop *loop = parent->loop;
	int64_t t = registry__loop_step_begin(loop);
	int rc = registry__loop_push_start(child, loop, parent->client, store, ref_name, target, o, mount_from, done,
	                                   parent);
	if (rc)
		registry__loop_op_complete(parent, rc);
	else
		(*child)->owner = child;
	registry__loop_step_end(loop, t);
}

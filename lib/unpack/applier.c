/*
 * The applier's life: layers begun with a byte source and stepped one tar
 * member at a time. It owns no thread and waits on nothing but its
 * source, so an event loop can drive it between other work.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive_lazy.h"

#include "applier.h"

/* The umask, unchanged: /proc says it (Linux 4.7); else the umask(2) round
 * trip libarchive's disk writer makes. */
static unsigned int current_umask(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	unsigned int mask = 0;
	int found = 0;
	while (f && !found && fgets(line, sizeof(line), f)) {
		char *end = NULL;
		if (strncmp(line, "Umask:", 6) != 0)
			continue;
		unsigned long v = strtoul(line + 6, &end, 8);
		found = end != line + 6 && v <= 0777;
		mask = (unsigned int)v;
	}
	if (f)
		fclose(f);
	if (!found) {
		mask = (unsigned int)umask(022);
		umask((mode_t)mask);
	}
	return mask & 0777;
}

int registry__applier_new(registry__applier **out, int root, const registry__applier_config *cfg)
{
	registry__applier *a = registry__calloc(1, sizeof(*a));
	if (!a)
		return registry__nomem();
	a->root = root;
	a->cfg = *cfg;
	a->as_root = geteuid() == 0;
	a->plain = cfg->profile == REGISTRY__APPLY_PLAIN;
	a->pending_fd = -1;
	if (a->plain)
		a->umask = current_umask();
	*out = a;
	return 0;
}

static void end_layer(registry__applier *a)
{
	registry__apply_pending_drop(a);
	registry__stream_close(a);
	registry__pathset_clear(&a->seen);
	for (size_t i = 0; i < a->ndirs; i++)
		free(a->dirs[i].path);
	a->ndirs = 0;
	a->active = 0;
}

int registry__applier_begin(registry__applier *a, registry__layer_read_cb read, void *ud, const char *diff_id)
{
	if (a->active)
		return registry__fail(REGISTRY_EINVAL, "layer applier: a layer is still being applied");
	int rc = 0;
	if (diff_id) {
		if ((rc = registry__digest_validate_len(diff_id, strlen(diff_id))))
			return rc;
		if ((rc = registry__hash_init(&a->hash, registry__digest_algorithm(diff_id))))
			return rc;
		a->hashing = 1;
		snprintf(a->diff_id, sizeof(a->diff_id), "%s", diff_id);
	}
	a->read = read;
	a->read_ud = ud;
	a->source_rc = 0;
	a->active = 1;
	if ((rc = registry__stream_open(a)))
		end_layer(a);
	return rc;
}

int registry__applier_step(registry__applier *a)
{
	if (!a->active)
		return registry__fail(REGISTRY_EINVAL, "layer applier: no layer begun");
	struct archive_entry *e = NULL;
	int rc;
	if (a->pending) { /* a file's data, begun in an earlier slice */
		if ((rc = registry__apply_pending(a)) < 0)
			end_layer(a);
		return rc < 0 ? rc : 1;
	}
	int r = archive_read_next_header(a->inner, &e);
	if (r == ARCHIVE_EOF) {
		rc = registry__apply_dir_meta(a);
		if (!rc)
			rc = registry__stream_finish(a);
		if (!rc)
			a->counts.layers++;
		end_layer(a);
		return rc;
	}
	if (r == ARCHIVE_OK || r == ARCHIVE_WARN)
		rc = registry__apply_entry(a, e);
	else
		rc = registry__stream_fail(a, a->inner, "reading the tar");
	if (rc < 0) {
		end_layer(a);
		return rc;
	}
	return 1;
}

int registry__applier_slice(registry__applier *a, int (*spent)(void *ud), void *ud)
{
	a->spent = spent;
	a->spent_ud = ud;
	int rc;
	while ((rc = registry__applier_step(a)) == 1 && !spent(ud))
		;
	a->spent = NULL;
	return rc;
}

int registry__applier_run(registry__applier *a, registry__layer_read_cb read, void *ud, const char *diff_id)
{
	int rc = registry__applier_begin(a, read, ud, diff_id);
	if (rc)
		return rc;
	while ((rc = registry__applier_step(a)) == 1)
		;
	return rc;
}

const registry__unpack_counts *registry__applier_counts(const registry__applier *a)
{
	return &a->counts;
}

void registry__applier_free(registry__applier *a)
{
	if (!a)
		return;
	if (a->active)
		end_layer(a);
	free(a->dirs);
	free(a->inbuf);
	free(a);
}

int64_t registry__fd_read(void *buf, size_t len, void *ud)
{
	registry__fd_source *s = ud;
	ssize_t r;
	do
		r = read(s->fd, buf, len);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return registry__fail(REGISTRY_EIO, "reading %s: %s", s->what, registry__errno_text(errno));
	return r;
}

void registry__unpack_stats_fill(registry_unpack_stats *stats, const registry__unpack_counts *c)
{
	if (!stats || stats->version < 1)
		return;
	stats->layers = c->layers;
	stats->entries = c->entries;
	stats->bytes = c->bytes;
	stats->whiteouts = c->whiteouts;
	stats->skipped_owners = c->skipped_owners;
	stats->skipped_devices = c->skipped_devices;
	stats->skipped_xattrs = c->skipped_xattrs;
}

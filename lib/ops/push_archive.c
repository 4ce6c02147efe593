/*
 * Push a `docker save` tarball (docker-archive): manifest.json names the
 * config and the layer tars of each image by their paths in the archive.
 *
 * The archive is indexed and read by lib/ops/docker_archive.c; each blob
 * the registry lacks is streamed from it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops_impl.h"
#include "ops/push_impl.h"

int registry_push_archive_options_init(registry_push_archive_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_push_archive_options_init: NULL options");
	registry_push_archive_options init = REGISTRY_PUSH_ARCHIVE_OPTIONS_INIT;
	*opts = init;
	return 0;
}

/* NULL becomes the defaults; checked with or without libarchive, so a
 * caller's mistake is reported the same on every build. */
static int check_options(const registry_push_archive_options **options)
{
	static const registry_push_archive_options defaults = REGISTRY_PUSH_ARCHIVE_OPTIONS_INIT;
	if (!*options)
		*options = &defaults;
	return registry__options_check("registry_push_archive", (*options)->version,
	                               REGISTRY_PUSH_ARCHIVE_OPTIONS_VERSION, (*options)->flags, 0);
}

#ifdef REGISTRY_HAVE_LIBARCHIVE

#include "ops/docker_archive.h"

int registry_push_archive(char **digest_out, registry_client *client,
                          const char *archive_path, const registry_reference *target,
                          const registry_push_archive_options *options)
{
	REGISTRY__ENTER(rc);
	if (digest_out)
		*digest_out = NULL;
	if (!client || !archive_path || !target)
		return registry__fail(REGISTRY_EINVAL, "push_archive: NULL argument");
	if ((rc = check_options(&options)))
		return rc;
	if ((rc = registry__ops_check_ref_registry(client, target)))
		return rc;
	registry__push_settings set = REGISTRY__PUSH_SETTINGS(options);
	registry__darchive ar;
	registry__blob_list blobs;
	memset(&blobs, 0, sizeof(blobs));
	registry_manifest *m = NULL;
	const struct cJSON *img = NULL;
	if ((rc = registry__darchive_open(&ar, archive_path)) || (rc = registry__darchive_pick(&img, &ar, target, 0)) ||
	    (rc = registry__darchive_manifest(&m, &blobs, &ar, img)))
		goto out;
	const char *repo = NULL, *reference = NULL;
	if ((rc = registry__push_reference(target, m, &repo, &reference)))
		goto out;
	registry__progress_ctx prog = {.cb = set.progress, .ud = set.userdata,
	                               .overall_total = registry__blob_list_total(&blobs),
	                               .blobs_total = blobs.n};
	for (size_t i = 0; i < blobs.n && !rc; i++) {
		const registry__darchive_member *e = registry__darchive_by_digest(&ar, blobs.items[i].digest);
		registry__darchive_src s = {.path = archive_path, .name = e->name};
		registry__upload_source src = {registry__darchive_read, registry__darchive_seek, &s};
		registry__upload_params up = {.repository = repo, .digest = blobs.items[i].digest,
		                              .size = blobs.items[i].size, .chunk_size = set.chunk_size,
		                              .progress = &prog};
		rc = registry__blob_upload(client, &up, &src, NULL);
		registry__darchive_src_close(&s);
	}
	if (!rc)
		rc = registry_manifest_push(digest_out, client, repo, reference, m);
out:
	registry_manifest_free(m);
	registry__blob_list_free(&blobs);
	registry__darchive_free(&ar);
	return rc;
}

#else /* !REGISTRY_HAVE_LIBARCHIVE */

int registry_push_archive(char **digest_out, registry_client *client,
                          const char *archive_path, const registry_reference *target,
                          const registry_push_archive_options *options)
{
	(void)client;
	(void)archive_path;
	(void)target;
	REGISTRY__ENTER(rc);
	if (digest_out)
		*digest_out = NULL;
	if ((rc = check_options(&options)))
		return rc;
	return registry__fail(REGISTRY_EUNSUPPORTED, "push_archive: libregistry was built without libarchive");
}

#endif

/*
 * Unpack an image of a `docker save` tarball (docker-archive) without a
 * store in between: the archive is indexed once (lib/ops/docker_archive.c,
 * shared with push_archive), its config read and checked against the
 * digest the index gave it, then each layer is streamed from the archive
 * straight into the unpack applier, which checks it against the config's
 * diff_id as it goes, exactly as the layers of a store are. No copy of the
 * layers is written anywhere but the tree.
 */
#include <string.h>

#include "ops/docker_archive.h"
#include "unpack/unpack_impl.h"

#define FN "registry_archive_unpack"

#ifdef REGISTRY_HAVE_LIBARCHIVE

#include "digest/hash.h"

/* Image configs are small; docker's own limit on one is far below this. */
#define CONFIG_MAX ((int64_t)32 << 20)

typedef struct archive_layers {
	const registry__darchive *ar;
	const registry_manifest *m;
	registry__darchive_src src;
} archive_layers;

static int layer_open(void *ctx, size_t i, registry__layer_read_cb *read, void **ud)
{
	archive_layers *l = ctx;
	const char *digest = registry_descriptor_digest(registry_manifest_layer(l->m, i));
	const registry__darchive_member *e = registry__darchive_by_digest(l->ar, digest);
	if (!e)
		return registry__fail(REGISTRY_EFORMAT, "%s: layer %s vanished from the archive", l->ar->path, digest);
	l->src = (registry__darchive_src){.path = l->ar->path, .name = e->name};
	*read = registry__darchive_read;
	*ud = &l->src;
	return 0;
}

static void layer_close(void *ctx, void *ud)
{
	(void)ctx;
	registry__darchive_src_close(ud);
}

/* The config member, whole, with the digest the index found for it. */
static int read_config(char **out, size_t *len, const registry__darchive *ar, const registry_manifest *m)
{
	const registry_descriptor *d = registry_manifest_config(m);
	const registry__darchive_member *e = registry__darchive_by_digest(ar, registry_descriptor_digest(d));
	if (!e)
		return registry__fail(REGISTRY_EFORMAT, "%s: the config vanished from the archive", ar->path);
	if (e->size > CONFIG_MAX)
		return registry__fail(REGISTRY_ETOOLARGE, "%s: the config %s is %lld bytes, more than %lld", ar->path,
		                      e->name, (long long)e->size, (long long)CONFIG_MAX);
	registry__darchive_src src = {.path = ar->path, .name = e->name};
	registry__buf b;
	registry__buf_init(&b, (size_t)CONFIG_MAX);
	char chunk[1 << 16];
	int64_t n;
	int rc = 0;
	while (!rc && (n = registry__darchive_read(chunk, sizeof(chunk), &src)) != 0)
		rc = n < 0 ? (int)n : registry__buf_append(&b, chunk, (size_t)n);
	registry__darchive_src_close(&src);
	char got[REGISTRY_DIGEST_STRING_MAX];
	if (!rc && !(rc = registry__digest_buffer(got, REGISTRY_DIGEST_SHA256, b.data ? b.data : "", b.len)) &&
	    strcmp(got, e->digest) != 0)
		rc = registry__fail(REGISTRY_EDIGEST, "%s: the config %s changed while it was read", ar->path, e->name);
	if (!rc) {
		*len = b.len;
		*out = registry__buf_detach(&b);
	}
	registry__buf_free(&b);
	return rc;
}

static int unpack_archive(registry_unpack_stats *stats, const char *archive, const registry_reference *target,
                          const char *dest, const registry_unpack_options *opts)
{
	registry__darchive ar;
	registry__blob_list blobs;
	memset(&blobs, 0, sizeof(blobs));
	registry_manifest *m = NULL;
	const struct cJSON *img = NULL;
	char *config = NULL;
	size_t config_len = 0;
	int rc = registry__darchive_open(&ar, archive);
	if (!rc)
		rc = registry__darchive_pick(&img, &ar, target, 1);
	if (!rc)
		rc = registry__darchive_manifest(&m, &blobs, &ar, img);
	if (!rc)
		rc = read_config(&config, &config_len, &ar, m);
	if (!rc) {
		archive_layers layers = {.ar = &ar, .m = m};
		registry__layer_source source = {.open = layer_open, .close = layer_close, .ctx = &layers};
		rc = registry__unpack_image(stats, FN, m, config, config_len, &source, dest, opts);
		m = NULL;      /* taken over */
		config = NULL;
	}
	registry_free(config);
	registry_manifest_free(m);
	registry__blob_list_free(&blobs);
	registry__darchive_free(&ar);
	return rc;
}

#else

static int unpack_archive(registry_unpack_stats *stats, const char *archive, const registry_reference *target,
                          const char *dest, const registry_unpack_options *opts)
{
	(void)stats, (void)target, (void)dest, (void)opts;
	return registry__fail(REGISTRY_EUNSUPPORTED, FN ": libregistry was built without libarchive: cannot read %s",
	                      archive);
}

#endif

int registry_archive_unpack(registry_unpack_stats *stats, const char *archive, const char *ref, const char *dest,
                            const registry_unpack_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!archive || !dest)
		return registry__fail(REGISTRY_EINVAL, FN ": NULL archive or destination");
	if ((rc = registry__unpack_check(FN, opts, stats)))
		return rc;
	registry_reference *target = NULL;
	if (ref && (rc = registry_reference_parse(&target, ref)))
		return registry__fail(rc, FN ": %s", registry_error_message(registry_error_last()));
	rc = unpack_archive(stats, archive, target, dest, opts);
	registry_reference_free(target);
	return rc;
}

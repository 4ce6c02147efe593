/*
 * Built without unpack (no libarchive, or -Dunpack=disabled): the public
 * functions exist, so the ABI is the same, and say why they cannot work.
 */
#include "unpack_impl.h"

static int unsupported(const char *fn)
{
	return registry__fail(REGISTRY_EUNSUPPORTED, "%s: libregistry was built without unpack (needs libarchive)", fn);
}

int registry_unpack_options_init(registry_unpack_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_unpack_options_init: NULL options");
	*opts = (registry_unpack_options)REGISTRY_UNPACK_OPTIONS_INIT;
	return 0;
}

int registry_store_unpack(registry_unpack_stats *stats, registry_store *store, const char *ref_name,
                          const char *dest, const registry_unpack_options *opts)
{
	REGISTRY__ENTER(rc);
	(void)stats, (void)store, (void)ref_name, (void)dest, (void)opts;
	return unsupported("registry_store_unpack");
}

int registry_store_unpack_tar(registry_unpack_stats *stats, registry_store *store, const char *ref_name,
                              const char *dest, int fd, const registry_unpack_options *opts)
{
	REGISTRY__ENTER(rc);
	(void)stats, (void)store, (void)ref_name, (void)dest, (void)fd, (void)opts;
	return unsupported("registry_store_unpack_tar");
}

int registry_layer_apply(registry_unpack_stats *stats, const char *root, int layer_fd, const char *diff_id,
                         const registry_unpack_options *opts)
{
	REGISTRY__ENTER(rc);
	(void)stats, (void)root, (void)layer_fd, (void)diff_id, (void)opts;
	return unsupported("registry_layer_apply");
}

int registry__unpack(registry_unpack_stats *stats, registry_store *store, const char *ref_name, const char *dest,
                     int fd, int tar, const registry_unpack_options *opts, registry_client *client)
{
	(void)stats, (void)store, (void)ref_name, (void)dest, (void)fd, (void)opts, (void)client;
	return unsupported(tar ? "registry_store_unpack_tar" : "registry_store_unpack");
}

int registry__unpack_fed(registry_store *store, const registry_manifest *m, const char *dest, int tar,
                         const registry_unpack_options *opts, const registry__unpack_feed *feed)
{
	(void)store, (void)m, (void)dest, (void)opts, (void)feed;
	return unsupported(tar ? "registry_store_unpack_tar" : "registry_store_unpack");
}

int registry__unpack_check(const char *fn, const registry_unpack_options *opts, const registry_unpack_stats *stats)
{
	(void)opts, (void)stats;
	return unsupported(fn);
}

int registry__unpack_image(registry_unpack_stats *stats, const char *fn, registry_manifest *m, char *config,
                           size_t config_len, const registry__layer_source *source, const char *dest,
                           const registry_unpack_options *opts)
{
	(void)stats, (void)config_len, (void)source, (void)dest, (void)opts;
	registry_manifest_free(m);
	registry_free(config);
	return unsupported(fn);
}

int registry__unpack_run_new(registry__unpack_run **out, registry_store *store, const char *ref_name,
                             const char *dest, int tar, const registry_unpack_options *opts)
{
	(void)out, (void)store, (void)ref_name, (void)dest, (void)opts;
	return unsupported(tar ? "registry_store_unpack_tar" : "registry_store_unpack");
}

int registry__unpack_run_step(registry__unpack_run *r, int (*spent)(void *ud), void *ud)
{
	(void)r, (void)spent, (void)ud;
	return unsupported("registry_store_unpack");
}

void registry__unpack_run_stats(const registry__unpack_run *r, registry_unpack_stats *stats)
{
	(void)r, (void)stats;
}

void registry__unpack_run_free(registry__unpack_run *r)
{
	(void)r;
}

/*
 * registry_image_config_fetch(): reference -> manifest (the platform's entry
 * of an index) -> config blob, verified, in memory (capped), -> model.
 */
#include <string.h>
#include <strings.h>

#include "manifest/manifest_impl.h"
#include "ops_impl.h"
#include "hostconfig/hostconfig.h"
#include "transport/client_impl.h"
#include "transport/transport.h"

int registry_image_config_fetch_options_init(registry_image_config_fetch_options *o)
{
	REGISTRY__ENTER(rc);
	if (!o)
		return registry__fail(REGISTRY_EINVAL, "registry_image_config_fetch_options_init: NULL options");
	registry_image_config_fetch_options init = REGISTRY_IMAGE_CONFIG_FETCH_OPTIONS_INIT;
	*o = init;
	return 0;
}

int registry__ops_check_ref_registry(const registry_client *client, const registry_reference *ref)
{
	const char *want = registry_reference_api_host(ref);
	const char *have = client->api_host;
	if (want && have && strcasecmp(want, have) != 0)
		return registry__fail(REGISTRY_EINVAL, "the reference names registry %s, the client is for %s",
		                      registry_reference_registry(ref), registry_client_registry(client));
	char name[1024];
	snprintf(name, sizeof(name), "%s/%s", registry_reference_registry(ref), registry_reference_repository(ref));
	const registry__rule *r = registry__client_rule(client, name);
	if (r && r->blocked)
		return registry__fail(REGISTRY_EPOLICY, "%s is blocked by the host configuration: [[registry]] "
		                      "prefix \"%s\" has blocked = true (%s)", name, r->prefix, r->origin);
	return 0;
}

typedef struct collector {
	registry__buf *buf;
	int rc; /* why collecting stopped */
} collector;

static int collect(const void *data, size_t len, void *userdata)
{
	collector *k = userdata;
	return (k->rc = registry__buf_append(k->buf, data, len)) != 0;
}

int registry__blob_fetch_mem(registry__buf *out, registry_client *client, const char *repository, const char *digest,
                             int64_t size, size_t limit, const char *what)
{
	registry__buf_init(out, limit);
	if (size > (int64_t)limit)
		return registry__fail(REGISTRY_ETOOLARGE, "%s %s: %lld bytes, more than the %zu allowed", what, digest,
		                      (long long)size, limit);
	const registry__do_hook *hook = registry__do_hook_get();
	if (hook)
		return hook->blob_mem(hook->ud, out, client, repository, digest, size, limit, what);
	collector k = {.buf = out, .rc = 0};
	int rc = registry_blob_fetch_to(client, repository, digest, size, collect, &k, NULL);
	if (rc == REGISTRY_ECANCELED && k.rc)
		rc = registry__fail(k.rc, "%s %s: %s", what, digest,
		                    k.rc == REGISTRY_ETOOLARGE ? "more bytes than the size limit" : "out of memory");
	return rc;
}

/* The image manifest for the platform: @top itself, or its chosen entry. */
static int image_manifest(registry_manifest **out, registry_client *client, const char *repository,
                          registry_manifest *top, const registry_platform *platform)
{
	const registry_descriptor *d;
	int rc;
	if (registry_manifest_kind(top) != REGISTRY_MANIFEST_INDEX) {
		*out = top;
		return 0;
	}
	if ((rc = registry_manifest_select_platform(&d, top, platform)) ||
	    (rc = registry_manifest_fetch(out, client, repository, registry_descriptor_digest(d), NULL)))
		return rc;
	if (registry_manifest_kind(*out) != REGISTRY_MANIFEST_IMAGE) {
		registry_manifest_free(*out);
		*out = NULL;
		return registry__fail(REGISTRY_EFORMAT, "%s: the index entry for the platform is itself an index",
		                      registry_descriptor_digest(d));
	}
	return 0;
}

static int fetch_config_blob(registry_image_config **out, registry_client *client, const char *repository,
                             const registry_descriptor *d)
{
	int64_t size = registry_descriptor_size(d);
	const char *mt = registry_descriptor_media_type(d);
	if (strcmp(mt, REGISTRY_MEDIA_TYPE_OCI_CONFIG) != 0 && strcmp(mt, REGISTRY_MEDIA_TYPE_DOCKER_CONFIG) != 0)
		return registry__fail(REGISTRY_EUNSUPPORTED, "the config is %s, not an image config (an artifact?)", mt);
	registry__buf buf;
	int rc = registry__blob_fetch_mem(&buf, client, repository, registry_descriptor_digest(d), size,
	                                  REGISTRY_IMAGE_CONFIG_MAX_SIZE, "config");
	if (!rc)
		rc = registry__image_config_parse(out, buf.data, buf.len, REGISTRY_IMAGE_CONFIG_MAX_SIZE);
	registry__buf_free(&buf);
	return rc;
}

int registry_image_config_fetch(registry_image_config **out, registry_client *client, const registry_reference *ref,
                                const registry_image_config_fetch_options *opts)
{
	REGISTRY__ENTER(rc);
	registry_image_config_fetch_options defaults = REGISTRY_IMAGE_CONFIG_FETCH_OPTIONS_INIT;
	if (!out || !client || !ref)
		return registry__fail(REGISTRY_EINVAL, "registry_image_config_fetch: NULL argument");
	*out = NULL;
	if (!opts)
		opts = &defaults;
	if ((rc = registry__options_check("registry_image_config_fetch", opts->version,
	                                  REGISTRY_IMAGE_CONFIG_FETCH_OPTIONS_VERSION, opts->flags, 0)) ||
	    (rc = registry__platform_check("registry_image_config_fetch", opts->platform)))
		return rc;
	if ((rc = registry__ops_check_ref_registry(client, ref)))
		return rc;
	const char *repository = registry_reference_repository(ref);
	const char *target = registry_reference_digest(ref) ? registry_reference_digest(ref) : registry_reference_tag(ref);
	registry_manifest *top = NULL, *image = NULL;
	if ((rc = registry_manifest_fetch(&top, client, repository, target ? target : "latest", NULL)) ||
	    (rc = image_manifest(&image, client, repository, top, opts->platform)))
		goto done;
	if (registry_manifest_schema_version(image) == 1) {
		/* No config blob: the newest history entry holds the image's config. */
		const char *v1 = registry_manifest_history(image, 0);
		rc = v1 ? registry__image_config_parse(out, v1, strlen(v1), REGISTRY_IMAGE_CONFIG_MAX_SIZE)
		        : registry__fail(REGISTRY_EFORMAT, "schema1 manifest without history");
	} else if (!registry_manifest_config(image)) {
		rc = registry__fail(REGISTRY_EUNSUPPORTED, "the manifest has no config");
	} else {
		rc = fetch_config_blob(out, client, repository, registry_manifest_config(image));
	}
done:
	if (image != top)
		registry_manifest_free(image);
	registry_manifest_free(top);
	return rc;
}

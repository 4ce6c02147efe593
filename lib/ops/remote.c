/* Manifests on a registry: resolve (HEAD), fetch (GET, verified), push
 * (PUT, digest checked). Delete is in delete.c. */
#include <stdlib.h>
#include <string.h>

#include "digest/hash.h"
#include "ops_impl.h"
#include "transport/client_impl.h"

const char *const registry__manifest_accept_headers[] = {"Accept: " REGISTRY_MANIFEST_ACCEPT, NULL};
#define accept_headers registry__manifest_accept_headers

int registry__ops_check_target(const char *repository, const char *reference, int *is_digest)
{
	if (!repository || !reference)
		return registry__fail(REGISTRY_EINVAL, "NULL repository or reference");
	int rc = registry_reference_validate_repository(repository);
	if (rc)
		return rc;
	*is_digest = strchr(reference, ':') != NULL;
	return *is_digest ? registry_digest_validate(reference) : registry_reference_validate_tag(reference);
}

static void scope_for(char *buf, size_t size, const char *repository, const char *actions)
{
	snprintf(buf, size, "repository:%s:%s", repository, actions);
}

/* Verify @data against @digest of any supported algorithm. */
static int verify_bytes(const char *digest, const void *data, size_t len)
{
	char got[REGISTRY_DIGEST_STRING_MAX];
	int rc = registry__digest_buffer(got, registry__digest_algorithm(digest), data, len);
	return rc ? rc : registry_digest_compare(digest, got);
}

int registry_manifest_fetch_options_init(registry_manifest_fetch_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_manifest_fetch_options_init: NULL options");
	registry_manifest_fetch_options init = REGISTRY_MANIFEST_FETCH_OPTIONS_INIT;
	*opts = init;
	return 0;
}

int registry__manifest_from_response(registry_manifest **out, int rc, const registry__response *resp,
                                     const char *reference, int by_digest, size_t max_size,
                                     const char *what)
{
	if (rc == REGISTRY_ETOOLARGE)
		rc = registry__fail(rc, "%s: larger than %zu bytes", what, max_size);
	if (!rc && resp->status != 200)
		rc = registry__response_fail(resp, what);
	registry_manifest *m = NULL;
	if (!rc) {
		/* By digest: the bytes must hash to it, whatever the registry says. */
		if (by_digest && registry__digest_algorithm(reference) != REGISTRY_DIGEST_SHA256)
			rc = verify_bytes(reference, resp->body.data, resp->body.len);
		if (!rc) {
			registry_manifest_parse_options opts = REGISTRY_MANIFEST_PARSE_OPTIONS_INIT;
			opts.max_size = max_size;
			rc = registry_manifest_parse(&m, resp->body.data ? resp->body.data : "", resp->body.len,
			                             resp->content_type, &opts);
		}
		const char *expected = by_digest ? reference : resp->docker_content_digest;
		if (rc == REGISTRY_EFORMAT && expected && registry_digest_validate(expected) == 0 &&
		    !(resp->content_type && strstr(resp->content_type, "prettyjws"))) {
			/* Bytes damaged on the way rarely parse: when they do not hash to
			 * the digest the registry named, say that (a signed schema1's
			 * digest is not its body's, so it keeps EFORMAT). */
			registry__error_snapshot *saved = registry__error_save();
			if (verify_bytes(expected, resp->body.data ? resp->body.data : "", resp->body.len) == 0) {
				registry__error_restore(saved);
			} else {
				free(saved);
				rc = registry__fail(REGISTRY_EDIGEST, "%s: the bytes do not match %s (and do not parse)",
				                    what, expected);
			}
		}
		if (!rc && expected && registry__digest_algorithm(expected) == REGISTRY_DIGEST_SHA256 &&
		    strcmp(expected, registry_manifest_digest(m)) != 0) {
			rc = registry__fail(REGISTRY_EDIGEST, "%s: expected digest %s, the bytes give %s", what,
			                    expected, registry_manifest_digest(m));
		} else if (!rc && !by_digest && expected && registry_digest_validate(expected) != 0) {
			rc = registry__fail(REGISTRY_EFORMAT, "%s: Docker-Content-Digest is not a digest", what);
		}
	}
	if (rc)
		registry_manifest_free(m);
	else
		*out = m;
	return rc;
}

int registry_manifest_fetch(registry_manifest **out, registry_client *c, const char *repository,
                            const char *reference, const registry_manifest_fetch_options *opts)
{
	REGISTRY__ENTER(rc);
	static const registry_manifest_fetch_options defaults = REGISTRY_MANIFEST_FETCH_OPTIONS_INIT;
	if (!opts)
		opts = &defaults;
	if (out)
		*out = NULL;
	if ((rc = registry__options_check("registry_manifest_fetch", opts->version,
	                                  REGISTRY_MANIFEST_FETCH_OPTIONS_VERSION, opts->flags, 0)))
		return rc;
	if (!out || !c)
		return registry__fail(REGISTRY_EINVAL, "manifest_fetch: NULL argument");
	size_t max_size = opts->max_size;
	int by_digest = 0;
	if ((rc = registry__ops_check_target(repository, reference, &by_digest)))
		return rc;
	if (!max_size)
		max_size = REGISTRY__MANIFEST_LIMIT;
	char path[1024], scope[600], what[1200];
	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", repository, reference);
	scope_for(scope, sizeof(scope), repository, "pull");
	snprintf(what, sizeof(what), "fetching manifest %s:%s", repository, reference);
	registry__request req = {.url = path, .scope = scope, .headers = accept_headers,
	                         .body_limit = max_size};
	registry__response resp;
	registry__response_init(&resp);
	rc = registry__client_do(c, &req, &resp);
	rc = registry__manifest_from_response(out, rc, &resp, reference, by_digest, max_size, what);
	registry__response_free(&resp);
	return rc;
}

int registry_manifest_resolve(char **digest, char **media_type, int64_t *size,
                              registry_client *c, const char *repository, const char *reference)
{
	REGISTRY__ENTER(rc);
	if (!c)
		return registry__fail(REGISTRY_EINVAL, "manifest_resolve: NULL client");
	if (digest)
		*digest = NULL;
	if (media_type)
		*media_type = NULL;
	int by_digest = 0;
	if ((rc = registry__ops_check_target(repository, reference, &by_digest)))
		return rc;
	char path[1024], scope[600], what[1200];
	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", repository, reference);
	scope_for(scope, sizeof(scope), repository, "pull");
	snprintf(what, sizeof(what), "resolving %s:%s", repository, reference);
	registry__request req = {.method = "HEAD", .url = path, .scope = scope, .headers = accept_headers};
	registry__response resp;
	registry__response_init(&resp);
	rc = registry__client_do(c, &req, &resp);
	if (!rc && resp.status != 200)
		rc = registry__response_fail(&resp, what);
	const char *d = NULL, *mt = NULL;
	int64_t sz = -1;
	registry_manifest *m = NULL;
	if (!rc && resp.docker_content_digest && registry_digest_validate(resp.docker_content_digest) == 0) {
		d = resp.docker_content_digest;
		mt = resp.content_type;
		sz = resp.content_length;
		if (by_digest && strcmp(d, reference) != 0)
			rc = registry__fail(REGISTRY_EDIGEST, "%s: the registry answered for %s", what, d);
	} else if (!rc) {
		/* No usable digest header: GET and compute it. */
		rc = registry_manifest_fetch(&m, c, repository, reference, NULL);
		if (!rc) {
			d = registry_manifest_digest(m);
			mt = registry_manifest_media_type(m);
			sz = registry_manifest_size(m);
		}
	}
	if (!rc) {
		if (digest && !(*digest = registry__strdup(d)))
			rc = registry__nomem();
		if (!rc && media_type && mt) {
			size_t n = strcspn(mt, "; \t");
			if (!(*media_type = registry__strndup(mt, n)))
				rc = registry__nomem();
		}
		if (size)
			*size = sz;
		if (rc && digest) {
			free(*digest);
			*digest = NULL;
		}
	}
	registry_manifest_free(m);
	registry__response_free(&resp);
	return rc;
}

int registry__manifest_put_judge(const registry_manifest *m, int rc, const registry__response *resp,
                                 const char *what)
{
	if (!rc && resp->status != 201 && resp->status != 200)
		rc = registry__response_fail(resp, what);
	if (!rc && resp->docker_content_digest &&
	    strcmp(resp->docker_content_digest, registry_manifest_digest(m)) != 0)
		rc = registry__fail(REGISTRY_EDIGEST, "%s: the registry stored %.100s, expected %s", what,
		                    resp->docker_content_digest, registry_manifest_digest(m));
	return rc;
}

int registry_manifest_push(char **digest_out, registry_client *c, const char *repository,
                           const char *reference, const registry_manifest *m)
{
	REGISTRY__ENTER(rc);
	if (!c || !m)
		return registry__fail(REGISTRY_EINVAL, "manifest_push: NULL argument");
	if (digest_out)
		*digest_out = NULL;
	int by_digest = 0;
	if ((rc = registry__ops_check_target(repository, reference, &by_digest)))
		return rc;
	if (by_digest && strcmp(reference, registry_manifest_digest(m)) != 0)
		return registry__fail(REGISTRY_EDIGEST, "pushing manifest %s under another digest %s",
		                      registry_manifest_digest(m), reference);
	size_t len = 0;
	const void *raw = registry_manifest_raw(m, &len);
	char path[1024], scope[600], what[1200], ctype[300];
	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", repository, reference);
	scope_for(scope, sizeof(scope), repository, "pull,push");
	snprintf(what, sizeof(what), "pushing manifest %s:%s", repository, reference);
	snprintf(ctype, sizeof(ctype), "Content-Type: %s", registry_manifest_media_type(m));
	const char *const headers[] = {ctype, NULL};
	registry__request req = {.method = "PUT", .url = path, .scope = scope, .headers = headers,
	                         .body = raw, .body_len = len};
	registry__response resp;
	registry__response_init(&resp);
	rc = registry__manifest_put_judge(m, registry__client_do(c, &req, &resp), &resp, what);
	/* No OCI-Subject in the answer: the registry keeps no referrers list
	 * (registry 2.8), the referrers tag schema is ours to maintain. */
	if (!rc && registry_manifest_subject(m) && !resp.oci_subject)
		rc = registry__referrers_tag_add(c, repository, m);
	if (!rc && digest_out &&
	    !(*digest_out = registry__strdup(resp.docker_content_digest ? resp.docker_content_digest
	                                                                : registry_manifest_digest(m))))
		rc = registry__nomem();
	registry__response_free(&resp);
	return rc;
}

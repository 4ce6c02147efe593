/*
 * registry_manifest_delete(): a tag by tag where the registry can (OCI
 * distribution 1.1), else the manifest by digest — which takes every tag
 * on it with it, so by default only when no other tag points at it.
 */
#include <stdlib.h>
#include <string.h>

#include "ops_impl.h"
#include "transport/client_impl.h"

/* How many other tags a refusal names before "and N more". */
#define DELETE_NAMES_SHOWN 10

int registry_manifest_delete_options_init(registry_manifest_delete_options *o)
{
	REGISTRY__ENTER(rc);
	if (!o)
		return registry__fail(REGISTRY_EINVAL, "registry_manifest_delete_options_init: NULL options");
	registry_manifest_delete_options init = REGISTRY_MANIFEST_DELETE_OPTIONS_INIT;
	*o = init;
	return 0;
}

/* DELETE /v2/REPO/manifests/TARGET. With @unsupported non-NULL, the answers
 * a registry gives when it cannot delete by tag (400, 405: OCI distribution
 * 1.1; registry 2.8 says 400 DIGEST_INVALID) set it instead of failing. */
static int send_delete(registry_client *c, const char *repository, const char *target,
                       const char *what, int *unsupported)
{
	char path[1024], scope[600];
	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", repository, target);
	snprintf(scope, sizeof(scope), "repository:%s:delete", repository);
	registry__request req = {.method = "DELETE", .url = path, .scope = scope};
	registry__response resp;
	registry__response_init(&resp);
	int rc = registry__client_do(c, &req, &resp);
	if (!rc && unsupported && (resp.status == 400 || resp.status == 405))
		*unsupported = 1;
	else if (!rc && resp.status != 202 && resp.status != 200)
		rc = registry__response_fail(&resp, what);
	registry__response_free(&resp);
	return rc;
}

/* Append @tag to the list of others, naming the first few. */
static int note_other(registry__buf *names, size_t *count, const char *tag)
{
	if ((*count)++ >= DELETE_NAMES_SHOWN)
		return 0;
	return registry__buf_printf(names, "%s%s", *count > 1 ? ", " : "", tag);
}

/* Does any tag of @repository but @skip point at @digest? ECONFLICT naming
 * them if so, or when there are more tags than we resolve. */
static int check_other_tags(registry_client *c, const char *repository, const char *digest,
                            const char *skip, const char *what)
{
	registry_list *l = NULL;
	int rc = registry_list_tags_open(&l, c, repository, NULL);
	registry__buf names;
	registry__buf_init(&names, 0);
	size_t seen = 0, others = 0;
	const char *tag;
	while (!rc && !(rc = registry_list_next(&tag, l)) && tag) {
		if (skip && strcmp(tag, skip) == 0)
			continue;
		if (++seen > REGISTRY_DELETE_TAGS_MAX) {
			rc = registry__fail(REGISTRY_ECONFLICT,
			                    "%s: the repository has more than %d other tags, too many to check "
			                    "which point at %s (REGISTRY_DELETE_FORCE deletes without checking)",
			                    what, REGISTRY_DELETE_TAGS_MAX, digest);
			break;
		}
		char *d = NULL;
		rc = registry_manifest_resolve(&d, NULL, NULL, c, repository, tag);
		if (rc == REGISTRY_ENOTFOUND) /* deleted since the listing */
			rc = 0;
		else if (!rc && strcmp(d, digest) == 0 && note_other(&names, &others, tag))
			rc = registry__nomem();
		free(d);
	}
	if (!rc && others > DELETE_NAMES_SHOWN &&
	    registry__buf_printf(&names, " and %zu more", others - DELETE_NAMES_SHOWN))
		rc = registry__nomem();
	if (!rc && others)
		rc = registry__fail(REGISTRY_ECONFLICT,
		                    "%s: %s is also tagged %s (REGISTRY_DELETE_FORCE deletes it and every "
		                    "tag on it)",
		                    what, digest, names.data);
	registry__buf_free(&names);
	registry_list_free(l);
	return rc;
}

/* Resolve @reference to its digest into *digest (copied either way). */
static int target_digest(char **digest, registry_client *c, const char *repository,
                         const char *reference, int by_digest)
{
	if (!by_digest)
		return registry_manifest_resolve(digest, NULL, NULL, c, repository, reference);
	return (*digest = registry__strdup(reference)) ? 0 : registry__nomem();
}

int registry_manifest_delete(char **digest_out, registry_client *c, const char *repository,
                             const char *reference, const registry_manifest_delete_options *opts)
{
	REGISTRY__ENTER(rc);
	if (digest_out)
		*digest_out = NULL;
	if (!c)
		return registry__fail(REGISTRY_EINVAL, "registry_manifest_delete: NULL client");
	registry_manifest_delete_options defaults = REGISTRY_MANIFEST_DELETE_OPTIONS_INIT;
	if (!opts)
		opts = &defaults;
	if ((rc = registry__options_check("registry_manifest_delete", opts->version,
	                                  REGISTRY_MANIFEST_DELETE_OPTIONS_VERSION, opts->flags,
	                                  REGISTRY_DELETE_FORCE)))
		return rc;
	int by_digest = 0;
	if ((rc = registry__ops_check_target(repository, reference, &by_digest)))
		return rc;
	char what[1200];
	snprintf(what, sizeof(what), "deleting manifest %s%s%s", repository, by_digest ? "@" : ":",
	         reference);
	char *digest = NULL;
	int by_tag_unsupported = by_digest;
	if (!(rc = target_digest(&digest, c, repository, reference, by_digest)) && !by_digest)
		rc = send_delete(c, repository, reference, what, &by_tag_unsupported);
	if (!rc && by_tag_unsupported && !(opts->flags & REGISTRY_DELETE_FORCE))
		rc = check_other_tags(c, repository, digest, by_digest ? NULL : reference, what);
	if (!rc && by_tag_unsupported)
		rc = send_delete(c, repository, digest, what, NULL);
	if (!rc && digest_out) {
		*digest_out = digest;
		digest = NULL;
	}
	free(digest);
	return rc;
}

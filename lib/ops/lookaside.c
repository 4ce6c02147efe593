/*
 * Simple signing signatures in lookaside storage (containers-registries.d(5)):
 * signature N of an image is BASE/REPO@ALG=HEX/signature-N, N from 1 until
 * the first one missing. file:// is read by the trust layer; https:// (and
 * http:// where the transport allows plain HTTP) is fetched here.
 *
 * The lookaside host is another party than the registry: the request goes
 * out as an external one (none of the registry's credentials or extra
 * headers; TLS verified with the client's CA settings; no link-local or
 * metadata addresses), a redirect is followed only on the lookaside's own
 * origin and only a few times (a redirect elsewhere is refused: where
 * signatures come from is the configuration's choice, not the server's),
 * and a signature is at most REGISTRY__SIGNATURE_MAX bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops_impl.h"
#include "transport/request.h"
#include "transport/transport.h"
#include "trust/trust_impl.h"

/* Same-origin redirects followed for one signature (a moved folder, a
 * trailing slash); more is a loop. */
#define LOOKASIDE_REDIRECTS_MAX 4

/* Where the redirect of @resp (to @url) goes, when it stays on @origin:
 * *next (malloc'ed); else a recorded refusal. */
static int redirect_target(char **next, const registry__response *resp, const char *url,
                           const registry__origin *origin, const char *shown)
{
	registry__origin o;
	char target[512];
	*next = NULL;
	if (!resp->location || registry__url_resolve(next, url, resp->location) != 0)
		return registry__fail(REGISTRY_EPROTOCOL, "lookaside %s: a redirect without a usable Location", shown);
	registry__url_for_message(target, sizeof(target), *next);
	if (registry__origin_of(&o, *next) != 0 || !registry__origin_equal(&o, origin)) {
		free(*next);
		*next = NULL;
		return registry__fail(REGISTRY_EPROTOCOL, "lookaside %s redirects to another host (%s): refused", shown,
		                      target);
	}
	return 0;
}

/* One GET of @url: 1 with *next set for a same-origin redirect, 0 with
 * the signature in @out, REGISTRY_ENOTFOUND for a 404, or an error. */
static int fetch_once(registry__buf *out, char **next, registry_client *c, const char *url,
                      const registry__origin *origin, const char *shown)
{
	registry__request req = {.url = url, .body_limit = REGISTRY__SIGNATURE_MAX, .no_redirects = 1,
	                         .refuse_link_local = 1};
	registry__response resp;
	registry__response_init(&resp);
	char what[600];
	snprintf(what, sizeof(what), "fetching signature %s", shown);
	int rc = registry__client_do_external(c, &req, NULL, &resp);
	if (rc == REGISTRY_ETOOLARGE)
		rc = registry__fail(rc, "lookaside %s: a signature larger than %zu bytes", shown, REGISTRY__SIGNATURE_MAX);
	else if (!rc && resp.status == 404)
		rc = REGISTRY_ENOTFOUND; /* past the last signature: not a failure */
	else if (!rc && registry__is_redirect(resp.status) && !(rc = redirect_target(next, &resp, url, origin, shown)))
		rc = 1;
	else if (!rc && resp.status != 200)
		rc = registry__response_fail(&resp, what);
	if (rc == 0) {
		*out = resp.body;
		registry__buf_init(&resp.body, 0);
	}
	registry__response_free(&resp);
	return rc;
}

static int fetch_http(registry__buf *out, registry_client *c, const char *first)
{
	char shown[512];
	registry__origin origin;
	registry__url_for_message(shown, sizeof(shown), first);
	if (registry__origin_of(&origin, first) != 0)
		return registry__fail(REGISTRY_EFORMAT, "lookaside %s: not an http(s) URL", shown);
	char *url = registry__strdup(first);
	int rc = url ? 1 : registry__nomem();
	for (int hop = 0; rc == 1; hop++) {
		char *next = NULL;
		if (hop > LOOKASIDE_REDIRECTS_MAX)
			rc = registry__fail(REGISTRY_EPROTOCOL, "lookaside %s: more than %d redirects", shown,
			                    LOOKASIDE_REDIRECTS_MAX);
		else
			rc = fetch_once(out, &next, c, url, &origin, shown);
		free(url);
		url = next;
	}
	free(url);
	return rc;
}

int registry__lookaside_fetch(registry__buf *out, char *where, size_t where_size, registry_client *c,
                              const char *url, const registry_reference *ref, const char *digest, int index)
{
	if (strncmp(url, "file://", 7) == 0)
		return registry__lookaside_read(out, where, where_size, url, ref, digest, index);
	registry__buf_init(out, REGISTRY__SIGNATURE_MAX);
	int rc = registry__lookaside_location(where, where_size, url, ref, digest, index);
	return rc ? rc : fetch_http(out, c, where);
}

/*
 * The endpoints of a pull under the host configuration (registries.conf):
 * as containers/image does, the mirrors of the matching [[registry]] in
 * order (a by-digest-only mirror only for a digest reference, a tag-only
 * one only for a tag), then the primary at the rule's location. A mirror
 * gets a client of its own, with its own host's certs.d material and
 * credentials: nothing of the primary's is sent to it. What a mirror
 * serves is verified exactly as the primary's is (the same pull code runs
 * against it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hostconfig/authfile.h"
#include "hostconfig/hostconfig.h"
#include "ops_impl.h"
#include "transport/client_impl.h"

void registry__endpoints_free(registry__endpoints *e)
{
	for (size_t i = 0; i < e->n; i++) {
		if (e->items[i].owned)
			registry_client_free(e->items[i].client);
		free(e->items[i].repository);
	}
	free(e->items);
	e->items = NULL;
	e->n = 0;
}

int registry__endpoint_fallback(int rc)
{
	return rc != REGISTRY_ECANCELED && rc != REGISTRY_EINVAL && rc != REGISTRY_ENOMEM && rc != REGISTRY_EIO;
}

/* "host[:port]/path/repo" into a client for host and the repository. */
static int add(registry__endpoints *e, registry_client *c, const char *name, int insecure, int mirror)
{
	const char *slash = strchr(name, '/');
	if (!slash || !slash[1])
		return registry__fail(REGISTRY_EFORMAT, "registries.conf rewrites the image to '%s': no repository", name);
	char host[300];
	size_t hl = (size_t)(slash - name);
	if (hl >= sizeof(host))
		return registry__fail(REGISTRY_EFORMAT, "registries.conf location host too long in '%.80s'", name);
	memcpy(host, name, hl);
	host[hl] = '\0';
	registry__endpoint ep = {.mirror = mirror};
	if (!(ep.repository = registry__strdup(slash + 1)))
		return registry__nomem();
	int rc = 0;
	int same = strcasecmp(host, c->registry) == 0 || (registry__is_docker_hub(host) && registry__is_docker_hub(c->registry));
	if (same && !mirror) {
		ep.client = c;
	} else {
		rc = registry__client_for_host(&ep.client, c, host, insecure);
		ep.owned = 1;
	}
	registry__endpoint *grown = rc ? NULL : realloc(e->items, (e->n + 1) * sizeof(*grown));
	if (!rc && !grown)
		rc = registry__nomem();
	if (rc) {
		if (ep.owned)
			registry_client_free(ep.client);
		free(ep.repository);
		return rc;
	}
	e->items = grown;
	e->items[e->n++] = ep;
	return 0;
}

static int mirror_applies(const registry__rule *r, const registry__mirror *m, int by_digest)
{
	if (r->mirror_by_digest_only && !by_digest)
		return 0;
	if (m->pull_from == REGISTRY__PULL_FROM_DIGEST_ONLY)
		return by_digest;
	if (m->pull_from == REGISTRY__PULL_FROM_TAG_ONLY)
		return !by_digest;
	return 1;
}

int registry__pull_endpoints(registry__endpoints *out, registry_client *c, const registry_reference *ref)
{
	out->items = NULL;
	out->n = 0;
	char name[1024];
	snprintf(name, sizeof(name), "%s/%s", registry_reference_registry(ref), registry_reference_repository(ref));
	const registry__rule *r = registry__client_rule(c, name);
	int rc = 0;
	int by_digest = registry_reference_digest(ref) != NULL;
	for (size_t i = 0; r && !rc && i < r->nmirrors; i++) {
		const registry__mirror *m = &r->mirrors[i];
		if (!mirror_applies(r, m, by_digest))
			continue;
		char *to = registry__regconf_rewrite(r, m->location, name);
		rc = to ? add(out, c, to, m->insecure, 1) : registry__nomem();
		free(to);
	}
	if (!rc) {
		char *to = r && r->location ? registry__regconf_rewrite(r, r->location, name) : registry__strdup(name);
		rc = to ? add(out, c, to, r && r->insecure, 0) : registry__nomem();
		free(to);
	}
	if (rc)
		registry__endpoints_free(out);
	return rc;
}

void registry__endpoint_failed(char *tried, size_t size, const registry__endpoint *ep)
{
	size_t n = strlen(tried);
	if (n + 1 < size)
		snprintf(tried + n, size - n, "%s%s: %s", n ? "; " : "", registry_client_registry(ep->client),
		         registry_error_message(registry_error_last()));
}

int registry__endpoints_report(int rc, const char *tried)
{
	const registry_error *e = registry_error_last();
	char message[REGISTRY__MSG_MAX], url[REGISTRY__MSG_MAX], code[REGISTRY__FIELD_MAX], detail[REGISTRY__MSG_MAX];
	int status = registry_error_http_status(e);
	snprintf(message, sizeof(message), "%s", registry_error_message(e));
	snprintf(url, sizeof(url), "%s", registry_error_url(e));
	snprintf(code, sizeof(code), "%s", registry_error_registry_code(e));
	snprintf(detail, sizeof(detail), "%s", registry_error_detail(e));
	registry__fail(rc, "%s (the mirrors failed first: %s)", message, tried);
	if (status || *url)
		registry__error_set_http(status, url);
	if (*code || *detail)
		registry__error_set_registry(code, detail);
	return rc;
}

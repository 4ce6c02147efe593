/*
 * Private copies of a client for work that runs on other threads (the
 * upload lanes of a push). A handle belongs to one thread at a time, so a
 * lane gets its own client: the same settings, credentials and what the
 * registry has told us so far (scheme, auth scheme, realm, tokens), with a
 * libcurl handle of its own. When the lanes are done, the caller takes back
 * what they learnt (newer tokens, the rate-limit headers, the count of token
 * fetches), so the operation looks from outside as if one client did it all.
 */
#include <stdlib.h>
#include <string.h>

#include "transport/client_impl.h"

static int copy_slist(struct curl_slist **dst, const struct curl_slist *src)
{
	for (; src; src = src->next) {
		struct curl_slist *l = curl_slist_append(*dst, src->data);
		if (!l)
			return registry__nomem();
		*dst = l;
	}
	return 0;
}

int registry__client_clone(registry_client **out, const registry_client *c)
{
	*out = NULL;
	registry_client *d = calloc(1, sizeof(*d));
	if (!d)
		return registry__fail(REGISTRY_ENOMEM, "out of memory copying a client");
	/* Scalars first, then every owned pointer replaced by a copy. */
	*d = *c;
	d->resolve = NULL;
	d->extra_headers = NULL;
	/* The caller's callbacks run on the caller's thread only: a lane's
	 * trace events are dropped, and the provider was asked (or not
	 * needed) by the request the caller made before starting lanes. */
	d->trace = NULL;
	d->trace_ud = NULL;
	d->cred_cb = NULL;
	d->cred_ud = NULL;
	/* The client's connections, DNS answers and TLS sessions: borrowed,
	 * the lanes end before the client does. */
	d->share_owned = 0;
	d->tokens = NULL;
	d->ntokens = 0;
	d->token_fetches = 0;
	d->cancel = NULL;
	d->cancel_ud = NULL;
	d->easy = NULL;
	d->multi = NULL;
	registry__client_hostcfg_share(d, c);
	int rc = 0;
#define COPY(f) d->f = NULL; if (!rc) rc = registry__set_string(&d->f, c->f);
	REGISTRY__CLIENT_STRINGS(COPY)
	REGISTRY__CLIENT_SECRETS(COPY)
#undef COPY
	if (!rc)
		rc = copy_slist(&d->resolve, c->resolve);
	if (!rc)
		rc = copy_slist(&d->extra_headers, c->extra_headers);
	/* In the cache's order, least recently used first. */
	for (size_t i = 0; !rc && i < c->ntokens; i++)
		rc = registry__token_put(d, c->tokens[i].scope, c->tokens[i].token, c->tokens[i].expires);
	if (!rc && !(d->easy = curl_easy_init()))
		rc = REGISTRY_ENOMEM;
	if (rc) {
		registry_client_free(d);
		return registry__fail(REGISTRY_ENOMEM, "out of memory copying a client");
	}
	*out = d;
	return 0;
}

/* Take @t into @c unless @c holds a token for the scope that lives at least
 * as long. 0 or REGISTRY_ENOMEM. */
static int absorb_token(registry_client *c, const registry__token *t)
{
	const registry__token *mine = registry__token_find(c, t->scope);
	if (mine && (mine->expires.tv_sec > t->expires.tv_sec ||
	             (mine->expires.tv_sec == t->expires.tv_sec && mine->expires.tv_nsec >= t->expires.tv_nsec)))
		return 0;
	return registry__token_put(c, t->scope, t->token, t->expires);
}

void registry__client_absorb(registry_client *c, const registry_client *lane)
{
	c->token_fetches += lane->token_fetches;
	if (lane->rate_limit >= 0 || lane->rate_remaining >= 0) {
		c->rate_limit = lane->rate_limit;
		c->rate_remaining = lane->rate_remaining;
	}
	if (c->auth_scheme == REGISTRY_AUTH_UNKNOWN)
		c->auth_scheme = lane->auth_scheme;
	if (!c->base_url && lane->base_url)
		c->base_url = registry__strdup(lane->base_url); /* NULL on ENOMEM: probed again */
	/* Only tokens from the realm this client knows (a lane may have followed
	 * a new challenge to another realm: then its tokens are not ours). */
	int same_realm = (!c->realm && !lane->realm) ||
	                 (c->realm && lane->realm && strcmp(c->realm, lane->realm) == 0);
	if (!same_realm)
		return;
	/* Out of memory here is no failure of the operation (the client fetches
	 * the token again when it needs it): keep the caller's error record. */
	registry__error_snapshot *saved = registry__error_save();
	for (size_t i = 0; i < lane->ntokens; i++)
		if (absorb_token(c, &lane->tokens[i]))
			break;
	registry__error_restore(saved);
}

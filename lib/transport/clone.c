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

static int copy_token(registry__token *dst, const registry__token *src)
{
	dst->expires = src->expires;
	dst->scope = registry__strdup(src->scope);
	dst->token = registry__strdup(src->token);
	return dst->scope && dst->token ? 0 : REGISTRY_ENOMEM;
}

static void free_token(registry__token *t)
{
	free(t->scope);
	registry__free_secret(t->token);
	t->scope = t->token = NULL;
}

static int copy_resolve(registry_client *dst, const struct curl_slist *src)
{
	for (; src; src = src->next) {
		struct curl_slist *l = curl_slist_append(dst->resolve, src->data);
		if (!l)
			return registry__nomem();
		dst->resolve = l;
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
	d->tokens = NULL;
	d->ntokens = 0;
	d->token_fetches = 0;
	d->cancel = NULL;
	d->cancel_ud = NULL;
	d->easy = NULL;
	d->multi = NULL;
	int rc = 0;
#define COPY(f) d->f = NULL; if (!rc) rc = registry__set_string(&d->f, c->f);
	REGISTRY__CLIENT_STRINGS(COPY)
	REGISTRY__CLIENT_SECRETS(COPY)
#undef COPY
	if (!rc)
		rc = copy_resolve(d, c->resolve);
	if (!rc && c->ntokens) {
		if (!(d->tokens = calloc(c->ntokens, sizeof(*d->tokens))))
			rc = REGISTRY_ENOMEM;
		/* counted even when half copied: registry_client_free() frees it */
		for (size_t i = 0; !rc && i < c->ntokens; i++, d->ntokens++)
			rc = copy_token(&d->tokens[i], &c->tokens[i]);
	}
	if (!rc && !(d->easy = curl_easy_init()))
		rc = REGISTRY_ENOMEM;
	if (rc) {
		registry_client_free(d);
		return registry__fail(REGISTRY_ENOMEM, "out of memory copying a client");
	}
	*out = d;
	return 0;
}

/* Take @t (a copy) into @c unless @c holds a token for the scope that lives
 * at least as long. 0 or REGISTRY_ENOMEM. */
static int absorb_token(registry_client *c, const registry__token *t)
{
	for (size_t i = 0; i < c->ntokens; i++) {
		registry__token *mine = &c->tokens[i];
		if (strcmp(mine->scope, t->scope) != 0)
			continue;
		if (mine->expires.tv_sec > t->expires.tv_sec ||
		    (mine->expires.tv_sec == t->expires.tv_sec && mine->expires.tv_nsec >= t->expires.tv_nsec))
			return 0;
		registry__token fresh;
		if (copy_token(&fresh, t)) {
			free_token(&fresh);
			return registry__nomem();
		}
		free_token(mine);
		*mine = fresh;
		return 0;
	}
	registry__token *grown = realloc(c->tokens, (c->ntokens + 1) * sizeof(*grown));
	if (!grown)
		return registry__nomem();
	c->tokens = grown;
	if (copy_token(&c->tokens[c->ntokens], t)) {
		free_token(&c->tokens[c->ntokens]);
		return registry__nomem();
	}
	c->ntokens++;
	return 0;
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
	for (size_t i = 0; same_realm && i < lane->ntokens; i++)
		if (absorb_token(c, &lane->tokens[i]))
			break; /* out of memory: the client fetches the token again when it needs it */
}

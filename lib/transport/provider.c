/*
 * The credential provider: a program's keychain, asked for the credentials
 * of the client's registry the first time the registry wants them and the
 * client has none. Asked once per client: the answer, credentials or none,
 * is kept (a provider that prompts a person must not prompt per request).
 */
#include <stdlib.h>

#include "client_impl.h"

struct registry_credential {
	int open; /* registry_credential_set() is allowed: inside the callback */
	char *username, *secret;
};

int registry_credential_set(registry_credential *cred, const char *username, const char *secret)
{
	REGISTRY__ENTER(rc);
	if (!cred || !username)
		return registry__fail(REGISTRY_EINVAL, "registry_credential_set: NULL argument");
	if (!cred->open)
		return registry__fail(REGISTRY_EINVAL, "registry_credential_set: called outside the "
		                      "credential callback");
	char *u = registry__strdup(username), *s = registry__strdup(secret ? secret : "");
	if (!u || !s) {
		registry__free_secret(u);
		registry__free_secret(s);
		return registry__nomem();
	}
	registry__free_secret(cred->username);
	registry__free_secret(cred->secret);
	cred->username = u;
	cred->secret = s;
	return 0;
}

int registry_client_set_credential_provider(registry_client *c, registry_credential_cb provider,
                                            void *userdata)
{
	REGISTRY__ENTER(rc);
	if (!c)
		return registry__fail(REGISTRY_EINVAL, "registry_client_set_credential_provider: NULL client");
	c->cred_cb = provider;
	c->cred_ud = userdata;
	c->cred_asked = 0;
	return 0;
}

int registry__client_ask_credentials(registry_client *c)
{
	if (!c->cred_cb || c->cred_asked || c->username || c->identity_token)
		return 0;
	c->cred_asked = 1;
	registry_credential cred = {.open = 1};
	registry__callback_scope s;
	registry__callback_begin(&s);
	int r = c->cred_cb(&cred, c->registry, c->cred_ud);
	registry__callback_end(&s, r != 0);
	cred.open = 0;
	int rc = 0;
	if (r != 0)
		rc = registry__fail(REGISTRY_ECANCELED, "%s: the credential provider canceled", c->registry);
	else if (cred.username)
		/* Not registry_client_set_credentials(): it clears the tokens
		 * and would forget that the provider was asked. */
		c->username = cred.username, c->password = cred.secret, cred.username = cred.secret = NULL;
	registry__free_secret(cred.username);
	registry__free_secret(cred.secret);
	return rc;
}

/*
 * Fuzz target "auth_file": an auth file (containers-auth.json(5) or
 * Docker's config.json) read for two hosts, then the credentials picked
 * for a few repositories. The result is entries that each hold a username
 * or an identity token, a pick that covers the repository, or EFORMAT /
 * ETOOLARGE with a message.
 */
#include <stdio.h>

#include "fuzz_common.h"
#include "hostconfig/hostconfig.h"

static const char *const hosts[] = {"127.0.0.1:5000", "docker.io"};
static const char *const repos[] = {"org/app", "org/app/deeper", "other", "library/debian", NULL};

static void one(const uint8_t *data, size_t size, const char *host)
{
	registry__creds *c = calloc(1, sizeof(*c));
	require(c != NULL);
	c->refs = 1;
	registry__error_clear();
	int rc = registry__creds_add_file(c, (const char *)data, size, "fuzz/auth.json", host, 0);
	if (rc) {
		require(rc == REGISTRY_EFORMAT || rc == REGISTRY_ETOOLARGE || rc == REGISTRY_ENOMEM);
		fuzz_check_error(rc);
	}
	for (size_t i = 0; i < c->n; i++)
		require(c->items[i].ns && (c->items[i].username || c->items[i].identity_token));
	for (size_t r = 0; r < sizeof(repos) / sizeof(repos[0]); r++) {
		const registry__cred *x = registry__creds_pick(c, repos[r]);
		if (!x)
			continue;
		size_t n = strlen(x->ns);
		require(n == 0 || (repos[r] && strncmp(repos[r], x->ns, n) == 0 &&
		                   (repos[r][n] == '\0' || repos[r][n] == '/')));
	}
	registry__creds_unref(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
		one(data, size, hosts[i]);
	return 0;
}

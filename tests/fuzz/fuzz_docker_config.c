/*
 * Fuzz target "docker_config": the text of ~/.docker/config.json, applied
 * for a loopback registry and for Docker Hub. Credential helpers are a stub
 * (no process is spawned): it checks it was handed a name and the server
 * URL. The result is credentials set (username or identity token), or
 * ENOTFOUND / EFORMAT / EAUTH with a message; afterwards the credentials
 * clear completely.
 */
#include "fuzz_common.h"
#include "transport/client_impl.h"

static registry_client *clients[2];

static int stub_helper(registry_client *c, const char *name, const char *server)
{
	require(name != NULL && server != NULL);
	require(strcmp(server, "https://index.docker.io/v1/") == 0 || strcmp(server, c->registry) == 0);
	if (strlen(name) % 2)
		return registry__fail(REGISTRY_ENOTFOUND, "stub helper has no credentials");
	return registry_client_set_credentials(c, "helper-user", "helper-secret");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!clients[0]) {
		require(registry_client_new(&clients[0], "127.0.0.1:5000") == 0);
		require(registry_client_new(&clients[1], "docker.io") == 0);
	}
	for (int i = 0; i < 2; i++) {
		registry_client *c = clients[i];
		registry__error_clear();
		int rc = registry__docker_config_apply(c, (const char *)data, size, "fuzz/config.json",
		                                       stub_helper);
		if (rc == 0) {
			require(c->username != NULL || c->identity_token != NULL);
			if (c->username)
				require(c->password != NULL);
		} else {
			require(rc == REGISTRY_ENOTFOUND || rc == REGISTRY_EFORMAT || rc == REGISTRY_EAUTH ||
			        rc == REGISTRY_ENOMEM);
			fuzz_check_error(rc);
		}
		require(registry_client_set_credentials(c, NULL, NULL) == 0);
		require(registry_client_set_identity_token(c, NULL) == 0);
		require(c->username == NULL && c->identity_token == NULL);
	}
	return 0;
}

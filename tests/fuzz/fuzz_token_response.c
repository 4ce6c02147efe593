/*
 * Fuzz target "token_response": the JSON a token server answers
 * ({"token"|"access_token", "expires_in", "issued_at", ...}). A token the
 * client keeps must come back from the cache as a valid header value
 * ("Bearer " and visible ASCII only: no CR/LF smuggled into the request)
 * for the scope it was stored under, and for no other.
 */
#include "fuzz_common.h"
#include "transport/client_impl.h"

static registry_client *client;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!client) {
		require(registry_client_new(&client, "127.0.0.1:5000") == 0);
		require(registry__set_string(&client->base_url, "http://127.0.0.1:5000") == 0);
	}
	client->auth_scheme = REGISTRY_AUTH_BEARER;
	static const char *const scopes[] = {"", "repository:a:pull", "repository:a:pull,push registry:catalog:*"};
	const char *scope = scopes[size ? data[0] % 3 : 0];
	registry__error_clear();
	int rc = registry__token_store(client, scope, (const char *)data, size);
	if (rc) {
		require(rc == REGISTRY_EPROTOCOL || rc == REGISTRY_ENOMEM);
		require(client->ntokens == 0);
		fuzz_check_error(rc);
		return 0;
	}
	require(client->ntokens == 1);
	require(strcmp(client->tokens[0].scope, scope) == 0);
	/* Cached: the header comes without a fetch (no realm is set, so a fetch
	 * would fail). */
	char *header = NULL;
	require(registry__auth_header(client, *scope ? scope : NULL, &header) == 0);
	require(header && strncmp(header, "Bearer ", 7) == 0 && header[7]);
	for (const char *p = header + 7; *p; p++)
		require((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f);
	registry__free_secret(header);
	require(client->token_fetches == 0);
	registry__tokens_clear(client);
	return 0;
}

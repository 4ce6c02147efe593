/*
 * Fuzz target "retry_after": a Retry-After value (delta seconds or an HTTP
 * date) against a clock taken from the first 8 bytes. The wait is -1
 * (unusable) or within [0, 1 day]; plain digits mean that many seconds; the
 * backoff the client then applies never exceeds its maximum wait.
 */
#include <ctype.h>
#include <time.h>

#include "fuzz_common.h"
#include "transport/client_impl.h"

static registry_client *client;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!client) {
		require(registry_client_new(&client, "127.0.0.1:5000") == 0);
		require(registry_client_set_retries(client, &(registry_retry_options){REGISTRY_RETRY_OPTIONS_VERSION, 0, 3, 100, 5000}) == 0);
	}
	if (size < 8)
		return 0;
	int64_t now = 0;
	memcpy(&now, data, 8);
	now %= (int64_t)1 << 40; /* years 0..~36800: what time_t arithmetic meets */
	if (now < 0)
		now = -now;
	char *value = fuzz_cstr(data + 8, size - 8);
	if (!value)
		return 0;
	long ms = registry__retry_after_ms(value, (time_t)now);
	require(ms == -1 || (ms >= 0 && ms <= 86400L * 1000));
	size_t n = strlen(value);
	int digits = n > 0 && n < 10;
	for (size_t i = 0; digits && i < n; i++)
		digits = isdigit((unsigned char)value[i]);
	if (digits) {
		long secs = strtol(value, NULL, 10);
		require(ms == (secs > 86400 ? 86400L : secs) * 1000);
	}
	registry__response resp;
	registry__response_init(&resp);
	resp.retry_after = value;
	for (int attempt = 0; attempt < 40; attempt += 13) {
		long wait = registry__backoff_ms(client, attempt, &resp);
		require(wait >= 0 && wait <= 5000);
	}
	resp.retry_after = NULL;
	registry__response_free(&resp);
	free(value);
	return 0;
}

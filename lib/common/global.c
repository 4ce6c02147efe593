#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "internal.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result;

static void global_init_once(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		init_result = REGISTRY_EIO;
		return;
	}
	if (sodium_init() < 0)
		init_result = REGISTRY_EIO;
}

int registry_global_init(void)
{
	pthread_once(&init_once, global_init_once);
	if (init_result)
		return registry__fail(init_result, "global initialisation of libcurl or libsodium failed");
	return 0;
}

int registry__enter(void)
{
	registry__error_clear();
	return registry_global_init();
}

const char *registry_version(void)
{
	return REGISTRY_VERSION_STRING;
}

void registry_free(void *ptr)
{
	free(ptr);
}

char *registry__strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *registry__strndup(const char *s, size_t n)
{
	return s ? strndup(s, n) : NULL;
}

void *registry__calloc(size_t n, size_t size)
{
	return calloc(n ? n : 1, size ? size : 1);
}

void registry__free_secret(char *s)
{
	if (!s)
		return;
	sodium_memzero(s, strlen(s));
	free(s);
}

int registry__set_string(char **slot, const char *s)
{
	char *copy = NULL;
	if (s && !(copy = strdup(s)))
		return REGISTRY_ENOMEM;
	free(*slot);
	*slot = copy;
	return 0;
}

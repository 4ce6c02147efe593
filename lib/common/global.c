#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "internal.h"

/* ---- Process-wide locks and fork() -------------------------------------- */

/* Every process-wide mutex of the library (REGISTRY__GLOBAL_MUTEX), taken
 * by the forking thread around fork() so that the child never inherits one
 * held by a thread that does not exist there (docs/threading.md). */
#define FORK_MUTEX_MAX 16
static pthread_mutex_t *fork_mutexes[FORK_MUTEX_MAX];
static size_t fork_mutex_count;

static void fork_prepare(void)
{
	for (size_t i = 0; i < fork_mutex_count; i++)
		pthread_mutex_lock(fork_mutexes[i]);
}

static void fork_release(void)
{
	for (size_t i = fork_mutex_count; i-- > 0;)
		pthread_mutex_unlock(fork_mutexes[i]);
}

/* Called by constructors, before main() and before any thread of ours. */
void registry__fork_protect(pthread_mutex_t *mu)
{
	if (fork_mutex_count == 0)
		pthread_atfork(fork_prepare, fork_release, fork_release);
	if (fork_mutex_count < FORK_MUTEX_MAX)
		fork_mutexes[fork_mutex_count++] = mu;
	else
		abort(); /* a build-time mistake: raise FORK_MUTEX_MAX */
}

/* ---- Global init ---------------------------------------------------------- */

/* A mutex rather than pthread_once: a once-control caught mid-init by
 * fork() stays "running" in the child forever. */
REGISTRY__GLOBAL_MUTEX(init_lock)
static atomic_int init_done;
static int init_result;

static void global_init_locked(void)
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
	if (!atomic_load_explicit(&init_done, memory_order_acquire)) {
		pthread_mutex_lock(&init_lock);
		if (!atomic_load_explicit(&init_done, memory_order_relaxed)) {
			global_init_locked();
			atomic_store_explicit(&init_done, 1, memory_order_release);
		}
		pthread_mutex_unlock(&init_lock);
	}
	if (init_result)
		return registry__fail(init_result, "global initialisation of libcurl or libsodium failed");
	return 0;
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
		return registry__nomem();
	free(*slot);
	*slot = copy;
	return 0;
}

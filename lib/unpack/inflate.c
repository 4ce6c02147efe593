/*
 * The choice of inflater for gzip layers (see inflate.h). The environment
 * is read once, at the first layer, never again: a process does not
 * change inflater half-way through an image.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#include "inflate.h"

static int inflate_mode = REGISTRY__INFLATE_AUTO;

int registry__inflate_set_mode(int mode)
{
	return __atomic_exchange_n(&inflate_mode, mode, __ATOMIC_RELAXED);
}

#ifdef REGISTRY_HAVE_ISAL
static int env_mode = REGISTRY__INFLATE_AUTO;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static void read_env(void)
{
	const char *v = getenv("REGISTRY_INFLATE");
	if (v && strcmp(v, "zlib") == 0)
		env_mode = REGISTRY__INFLATE_ZLIB;
}

int registry__inflate_use_isal(void)
{
	int mode = __atomic_load_n(&inflate_mode, __ATOMIC_RELAXED);
	if (mode == REGISTRY__INFLATE_AUTO) {
		pthread_once(&env_once, read_env);
		mode = env_mode;
	}
	return mode != REGISTRY__INFLATE_ZLIB;
}
#else
/* Without ISA-L the applier never takes the gzip path of its own. */
int registry__inflate_use_isal(void)
{
	return 0;
}

int registry__gunzip_new(registry__gunzip **out, const unsigned char *first, size_t n, registry__gunzip_pull pull,
                         void *ud)
{
	(void)out, (void)first, (void)n, (void)pull, (void)ud;
	return registry__fail(REGISTRY_EUNSUPPORTED, "layer: built without ISA-L");
}

int64_t registry__gunzip_read(registry__gunzip *g, const void **out)
{
	(void)g, (void)out;
	return registry__fail(REGISTRY_EUNSUPPORTED, "layer: built without ISA-L");
}

void registry__gunzip_free(registry__gunzip *g)
{
	(void)g;
}
#endif

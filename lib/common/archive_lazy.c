/*
 * libarchive loaded on first use: see archive_lazy.h for why.
 */
#define REGISTRY__ARCHIVE_NO_REDIRECT 1
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "archive_lazy.h"
#include "internal.h"

/* The soname Debian 12's libarchive-dev links against (libarchive 3.x). */
#ifndef REGISTRY_ARCHIVE_SONAME
#define REGISTRY_ARCHIVE_SONAME "libarchive.so.13"
#endif

registry__archive_api registry__archive;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char why[256]; /* empty once loaded */

static void load(void)
{
	void *h = dlopen(REGISTRY_ARCHIVE_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		snprintf(why, sizeof(why), "%s", e ? e : REGISTRY_ARCHIVE_SONAME ": cannot be loaded");
		return;
	}
	registry__archive_api api = {0};
#define REGISTRY__ARCHIVE_SYM(name)                                                          \
	if (!why[0] && !(*(void **)(&api.name) = dlsym(h, #name)))                           \
		snprintf(why, sizeof(why), "%s lacks %s", REGISTRY_ARCHIVE_SONAME, #name);
	REGISTRY__ARCHIVE_FUNCTIONS(REGISTRY__ARCHIVE_SYM)
#undef REGISTRY__ARCHIVE_SYM
	if (why[0]) {
		dlclose(h);
		return;
	}
	registry__archive = api; /* the handle stays open for the process's life */
}

int registry__archive_load(const char *what)
{
	pthread_once(&once, load);
	if (why[0])
		return registry__fail(REGISTRY_EUNSUPPORTED, "%s needs libarchive, which cannot be loaded: %s", what,
		                      why);
	return 0;
}

/* Helpers shared by the reliability programs (rel_hostile.c, rel_soak.c). */
#ifndef REGISTRY_REL_COMMON_H
#define REGISTRY_REL_COMMON_H

#include <dirent.h>

/* Open file descriptors of this process, for leak checks. */
static inline int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n - 1; /* the DIR's own descriptor */
}

#endif

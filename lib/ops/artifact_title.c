/* Artifact titles: file names that come from a registry, hostile input. */
#include <limits.h>
#include <string.h>

#include "artifact_impl.h"

int registry__artifact_title_check(const char *title, const char *what)
{
	if (!title || !*title)
		return registry__fail(REGISTRY_EINVAL, "%s: an empty title", what);
	size_t len = strlen(title);
	int bad = len > NAME_MAX || strcmp(title, ".") == 0 || strcmp(title, "..") == 0;
	for (size_t i = 0; i < len && !bad; i++) {
		unsigned char ch = (unsigned char)title[i];
		bad = ch == '/' || ch < 0x20 || ch == 0x7f;
	}
	if (bad) /* registry__fail escapes control characters */
		return registry__fail(REGISTRY_EINVAL, "%s: the title \"%.300s\" is not a plain file name", what,
		                      title);
	return 0;
}

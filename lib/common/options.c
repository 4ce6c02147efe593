/*
 * The one check of every operation's options struct (DESIGN.md, "API
 * conventions"): a version this library does not know, or flag bits it
 * does not know, are refused, so that an old library never silently
 * ignores what a newer caller asked for.
 */
#include "internal.h"

int registry__options_check(const char *fn, unsigned int version, unsigned int current, unsigned int flags,
                            unsigned int known_flags)
{
	if (version == 0 || version > current)
		return registry__fail(REGISTRY_EINVAL, "%s: options version %u, this library knows 1 to %u "
		                      "(initialise the options with their _INIT macro or _init())",
		                      fn, version, current);
	if (flags & ~known_flags)
		return registry__fail(REGISTRY_EINVAL, "%s: unknown flags 0x%x", fn, flags & ~known_flags);
	return 0;
}

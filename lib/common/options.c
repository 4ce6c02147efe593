/* The one check of every versioned options struct (DESIGN.md, API conventions). */
#include "internal.h"

int registry__options_check(const char *fn, unsigned int version, unsigned int current,
                            unsigned int flags, unsigned int known_flags)
{
	if (version == 0 || version > current)
		return registry__fail(REGISTRY_EINVAL, "%s: options version %u is not one this library "
		                      "knows (1..%u)", fn, version, current);
	if (flags & ~known_flags)
		return registry__fail(REGISTRY_EINVAL, "%s: unknown flag bits 0x%x", fn, flags & ~known_flags);
	return 0;
}

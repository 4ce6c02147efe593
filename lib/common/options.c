/* The one check every versioned options struct goes through, so that an
 * unknown version or flag is refused the same way everywhere: an old
 * library must never silently ignore what a newer caller asked for. */
#include "internal.h"

int registry__options_check(const char *fn, unsigned int version, unsigned int current,
                            unsigned int flags, unsigned int known_flags)
{
	if (version == 0 || version > current)
		return registry__fail(REGISTRY_EINVAL, "%s: unknown options version %u (this library knows 1..%u)",
		                      fn, version, current);
	if (flags & ~known_flags)
		return registry__fail(REGISTRY_EINVAL, "%s: unknown flags 0x%x", fn, flags & ~known_flags);
	return 0;
}

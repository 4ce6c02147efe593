/* libregistry: reference (filled in by its module). */
#ifndef REGISTRY_REFERENCE_H
#define REGISTRY_REFERENCE_H

#include <registry/common.h>

REGISTRY_BEGIN_DECLS

REGISTRY_END_DECLS

#endif

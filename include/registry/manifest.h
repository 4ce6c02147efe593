/* libregistry: manifest (filled in by its module). */
#ifndef REGISTRY_MANIFEST_H
#define REGISTRY_MANIFEST_H

#include <registry/common.h>

REGISTRY_BEGIN_DECLS

REGISTRY_END_DECLS

#endif

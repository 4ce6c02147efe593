/* libregistry: client (filled in by its module). */
#ifndef REGISTRY_CLIENT_H
#define REGISTRY_CLIENT_H

#include <registry/common.h>

REGISTRY_BEGIN_DECLS

REGISTRY_END_DECLS

#endif

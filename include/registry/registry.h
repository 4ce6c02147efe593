/** @file
 * libregistry: the umbrella header. Include this one.
 *
 * A C client for registries speaking the Docker Registry HTTP API V2 / OCI
 * Distribution Spec. See docs/ for the guides; each header documents its
 * functions.
 */
#ifndef REGISTRY_REGISTRY_H
#define REGISTRY_REGISTRY_H

#include <registry/common.h>
#include <registry/version.h>
#include <registry/errors.h>
#include <registry/digest.h>
#include <registry/reference.h>
#include <registry/manifest.h>
#include <registry/config.h>
#include <registry/client.h>
#include <registry/store.h>
#include <registry/blob.h>
#include <registry/remote.h>
#include <registry/image.h>
#include <registry/artifact.h>
#include <registry/trust.h>
#include <registry/hostconfig.h>
#include <registry/unpack.h>
#include <registry/loop.h>

#endif

/** @file
 * libregistry: macros shared by every public header.
 *
 * REGISTRY_API marks each exported declaration. The library is built with
 * -fvisibility=hidden and a linker version script, so a function without it
 * is private to the library.
 */
#ifndef REGISTRY_COMMON_H
#define REGISTRY_COMMON_H

#include <stddef.h>
#include <stdint.h>

/**
 * @def REGISTRY_API
 * Marks a declaration exported by libregistry.so.1 (default visibility when
 * the library itself is built; nothing for its users).
 * @since 0.1
 */
#if defined(REGISTRY_BUILDING) && defined(__GNUC__)
#define REGISTRY_API __attribute__((visibility("default")))
#else
#define REGISTRY_API
#endif

/**
 * @def REGISTRY_BEGIN_DECLS
 * Wrap the declarations of each header in extern "C" for C++ callers.
 * @since 0.1
 */
/** @def REGISTRY_END_DECLS
 * Ends what REGISTRY_BEGIN_DECLS began. @since 0.1 */
#ifdef __cplusplus
#define REGISTRY_BEGIN_DECLS extern "C" {
#define REGISTRY_END_DECLS }
#else
#define REGISTRY_BEGIN_DECLS
#define REGISTRY_END_DECLS
#endif

REGISTRY_BEGIN_DECLS

/**
 * Free a buffer that the library handed to the caller (a string or byte
 * buffer documented as "free with registry_free()"). NULL is accepted.
 * Any thread may free a buffer another thread received.
 * @since 0.1
 */
REGISTRY_API void registry_free(void *ptr);

/**
 * Initialise the library's global state (libcurl, libsodium). Idempotent and
 * thread-safe; every public entry point calls it lazily, so callers may skip
 * it. Call it once from the main thread before starting other threads if the
 * program also uses libcurl directly.
 * @return 0, or REGISTRY_EIO when a dependency failed to initialise.
 * @since 0.1
 */
REGISTRY_API int registry_global_init(void);

REGISTRY_END_DECLS

#endif

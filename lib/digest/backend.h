/* The backends behind hash.c: each fills the union of a registry__hash. */
#ifndef REGISTRY_DIGEST_BACKEND_H
#define REGISTRY_DIGEST_BACKEND_H

#include "hash.h"

/* Each returns 0, REGISTRY_ENOMEM or REGISTRY_EIO; final writes the raw digest. */
int registry__sodium_init(registry__hash *h);
int registry__sodium_update(registry__hash *h, const void *data, size_t len);
int registry__sodium_final(registry__hash *h, unsigned char *md);

#ifdef REGISTRY_HAVE_OPENSSL
int registry__openssl_init(registry__hash *h);
int registry__openssl_update(registry__hash *h, const void *data, size_t len);
/* Writes the digest and re-initialises the context for the next stream. */
int registry__openssl_final(registry__hash *h, unsigned char *md);
void registry__openssl_cleanup(registry__hash *h);
#endif

#endif

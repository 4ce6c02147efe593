/* Auth file keys and entries, shared by the docker config loader
 * (lib/transport/credentials.c) and the host configuration. */
#ifndef REGISTRY_HOSTCONFIG_AUTHFILE_H
#define REGISTRY_HOSTCONFIG_AUTHFILE_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* docker.io, index.docker.io or registry-1.docker.io. */
int registry__is_docker_hub(const char *host);
/* The host of an auths key into @host; returns its namespace ("" for the
 * host alone, and for URL keys: "https://host/v1/" names the host). */
const char *registry__auth_key_split(const char *key, char *host, size_t size);
/* 1 when the auths key names registry @registry (Docker Hub's aliases alike). */
int registry__auth_key_names(const char *key, const char *registry);
/* An auths entry: base64 "auth" or "username"/"password", and
 * "identitytoken". Allocated secrets (free with registry__free_secret);
 * 0, REGISTRY_ENOTFOUND (no credentials in it, not recorded), EFORMAT,
 * ENOMEM. */
int registry__auth_entry_decode(const cJSON *entry, const char *path, char **user, char **secret,
                                char **identity_token);

#endif

/*
 * Fuzz target "store_index": the input is a store's index.json. Whatever
 * opens must be readable through every index accessor, and
 * registry_store_index_add() must then either rewrite it with one more
 * named entry, keeping the others in order, or refuse with EFORMAT (an entry
 * the builder cannot write back) or EINVAL (the 4096-entry cap), leaving the
 * file as it was. Invariants abort() when broken.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <registry/registry.h>

/* A registry_store_index_add() entry of media type, digest, size and annotations. */
#define INDEX_ENTRY(mt_, dg_, sz_, an_) \
	(&(registry_descriptor_spec){.version = REGISTRY_DESCRIPTOR_SPEC_VERSION, .media_type = (mt_), \
	                             .digest = (dg_), .size = (sz_), .annotations = (an_)})

static char dir[256];
static char index_path[300];
static char *blob; /* the digest of the one blob, from registry_store_add_blob() */

static void require(int cond)
{
	if (!cond)
		abort();
}

static void cleanup(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return;
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "%s/fuzz-store-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	require(mkdtemp(dir) != NULL);
	atexit(cleanup);
	registry_store *s = NULL;
	require(registry_store_open(&s, dir, REGISTRY_STORE_CREATE) == 0);
	require(registry_store_add_blob(&blob, s, NULL, "{}", 2) == 0);
	registry_store_free(s);
	snprintf(index_path, sizeof(index_path), "%s/index.json", dir);
}

static void write_index(const uint8_t *data, size_t size)
{
	int fd = open(index_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	require(fd >= 0);
	require(write(fd, data, size) == (ssize_t)size);
	close(fd);
}

static int same_file(const uint8_t *data, size_t size)
{
	char buf[1 << 16];
	int fd = open(index_path, O_RDONLY);
	require(fd >= 0);
	size_t off = 0;
	ssize_t n;
	int same = 1;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (off + (size_t)n > size || memcmp(buf, data + off, (size_t)n) != 0)
			same = 0;
		off += (size_t)n;
	}
	close(fd);
	return same && off == size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0])
		setup();
	write_index(data, size);
	registry_store *s = NULL;
	if (registry_store_open(&s, dir, 0) != 0)
		return 0;
	size_t n = registry_store_index_count(s);
	char **digests = calloc(n ? n : 1, sizeof(*digests));
	require(digests != NULL);
	for (size_t i = 0; i < n; i++) {
		const registry_descriptor *d = registry_store_index_entry(s, i);
		require(d != NULL);
		require(registry_digest_validate(registry_descriptor_digest(d)) == 0);
		require(registry_descriptor_media_type(d) != NULL);
		digests[i] = strdup(registry_descriptor_digest(d));
		const char *name = registry_descriptor_annotation(d, REGISTRY_STORE_REF_NAME_ANNOTATION);
		const registry_descriptor *found = NULL;
		if (name)
			require(registry_store_index_find(&found, s, name) == 0 && found != NULL);
	}
	require(registry_store_index_entry(s, n) == NULL);
	int had_name = 0;
	for (size_t i = 0; i < n; i++) {
		const char *name = registry_descriptor_annotation(registry_store_index_entry(s, i),
		                                                  REGISTRY_STORE_REF_NAME_ANNOTATION);
		had_name |= name && strcmp(name, "fuzz-entry") == 0;
	}

	int rc = registry_store_index_add(s, INDEX_ENTRY("application/vnd.oci.image.manifest.v1+json", blob, 2, NULL), "fuzz-entry");
	if (rc == 0) {
		size_t m = registry_store_index_count(s);
		require(had_name ? m <= n : m == n + 1);
		const registry_descriptor *d = NULL;
		require(registry_store_index_find(&d, s, "fuzz-entry") == 0);
		require(strcmp(registry_descriptor_digest(d), blob) == 0);
		/* Unnamed and differently named entries survive, in order. */
		if (!had_name)
			for (size_t i = 0; i < n; i++)
				require(strcmp(registry_descriptor_digest(registry_store_index_entry(s, i)), digests[i]) == 0);
	} else {
		require(rc == REGISTRY_EFORMAT || (rc == REGISTRY_EINVAL && n >= 4096));
		require(same_file(data, size));
	}
	for (size_t i = 0; i < n; i++)
		free(digests[i]);
	free(digests);
	registry_store_free(s);
	return 0;
}

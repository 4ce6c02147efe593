/*
 * The unpack tests' driver program: one registry_store_unpack() (or
 * registry_layer_apply()) with the path resolution forced to one of its
 * two implementations, so that the openat2 path and the O_NOFOLLOW walk
 * are each proven against the same hostile layers. Prints one JSON line:
 * {"rc": code, "message": ..., "entries": ..., ...}.
 *
 *   unpack-helper openat2|walk LAYOUT NAME DEST [MAX_SIZE [devices]]
 *   unpack-helper openat2|walk --layer ROOT LAYER_FILE [DIFF_ID]
 *   unpack-helper auto --pull REFERENCE DEST rootfs|rootfs-tar
 *
 * --pull: registry_pull_to() from a plain-HTTP registry (the hostile one),
 * for the pipelined unpack's tests, which want the code, not just a message;
 * with UNPACK_HELPER_CANCEL=FILE, the client's cancel hook stops the pull
 * once FILE exists.
 *   unpack-helper openat2|walk --archive DOCKER_ARCHIVE REF|- DEST [MAX_SIZE]
 *   unpack-helper openat2|walk --artifact-dir ROOT TITLE TAR_FILE   (lib/ops/artifact_dir.c)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/artifact_impl.h"
#include "unpack/unpack_impl.h"

static void report(int rc, const registry_unpack_stats *st)
{
	const char *msg = rc ? registry_error_message(registry_error_last()) : "";
	printf("{\"rc\": %d, \"entries\": %llu, \"layers\": %llu, \"whiteouts\": %llu, \"skipped_owners\": %llu, "
	       "\"skipped_devices\": %llu, \"skipped_xattrs\": %llu, \"message\": \"",
	       rc, (unsigned long long)st->entries, (unsigned long long)st->layers, (unsigned long long)st->whiteouts,
	       (unsigned long long)st->skipped_owners, (unsigned long long)st->skipped_devices,
	       (unsigned long long)st->skipped_xattrs);
	for (const char *p = msg; *p; p++)
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if ((unsigned char)*p >= 0x20)
			putchar(*p);
	printf("\"}\n");
}

/* The client's cancel hook: stop once the file named by UNPACK_HELPER_CANCEL exists. */
static int cancel_file(void *ud)
{
	return access(ud, F_OK) == 0;
}

static int pull_to(const char *reference, const char *dest, const char *format)
{
	char *cancel = getenv("UNPACK_HELPER_CANCEL");
	registry_reference *ref = NULL;
	registry_client *c = NULL;
	int rc = registry_reference_parse(&ref, reference);
	if (!rc)
		rc = registry_client_new(&c, registry_reference_registry(ref));
	if (!rc)
		rc = registry_client_set_insecure(c, REGISTRY_INSECURE_ALLOW_HTTP);
	if (!rc && cancel)
		rc = registry_client_set_cancel(c, cancel_file, cancel);
	if (!rc)
		rc = registry_pull_to(NULL, c, ref, dest,
		                      strcmp(format, "rootfs-tar") == 0 ? REGISTRY_IMAGE_FORMAT_ROOTFS_TAR
		                                                        : REGISTRY_IMAGE_FORMAT_ROOTFS, NULL);
	registry_unpack_stats st = REGISTRY_UNPACK_STATS_INIT;
	report(rc, &st);
	registry_client_free(c);
	registry_reference_free(ref);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: unpack-helper openat2|walk|auto LAYOUT NAME DEST [MAX_SIZE [devices]]\n");
		return 2;
	}
	registry__root_set_mode(strcmp(argv[1], "walk") == 0      ? REGISTRY__ROOT_WALK
	                        : strcmp(argv[1], "openat2") == 0 ? REGISTRY__ROOT_OPENAT2
	                                                          : REGISTRY__ROOT_AUTO);
	registry_unpack_stats st = REGISTRY_UNPACK_STATS_INIT;
	registry_unpack_options opts = REGISTRY_UNPACK_OPTIONS_INIT;
	int rc;
	if (strcmp(argv[2], "--pull") == 0)
		return argc < 6 ? 2 : pull_to(argv[3], argv[4], argv[5]);
	if (strcmp(argv[2], "--layer") == 0) {
		int fd = open(argv[4], O_RDONLY | O_CLOEXEC);
		rc = registry_layer_apply(&st, argv[3], fd, argc > 5 ? argv[5] : NULL, &opts);
		if (fd >= 0)
			close(fd);
		report(rc, &st);
		return 0;
	}
	if (strcmp(argv[2], "--artifact-dir") == 0 && argc == 6) {
		int fd = open(argv[5], O_RDONLY | O_CLOEXEC);
		rc = fd < 0 ? REGISTRY_EIO : registry__artifact_unpack_dir(fd, argv[3], argv[4], "artifact");
		if (fd >= 0)
			close(fd);
		report(rc, &st);
		return 0;
	}
	if (strcmp(argv[2], "--archive") == 0 && argc >= 6) {
		if (argc > 6)
			opts.max_size = strtoull(argv[6], NULL, 10);
		rc = registry_archive_unpack(&st, argv[3], strcmp(argv[4], "-") ? argv[4] : NULL, argv[5], &opts);
		report(rc, &st);
		return 0;
	}
	if (argc < 5)
		return 2;
	if (argc > 5)
		opts.max_size = strtoull(argv[5], NULL, 10);
	if (argc > 6 && strcmp(argv[6], "devices") == 0)
		opts.flags |= REGISTRY_UNPACK_DEVICES;
	registry_store *store = NULL;
	rc = registry_store_open(&store, argv[2], 0);
	if (!rc)
		rc = registry_store_unpack(&st, store, argv[3], argv[4], &opts);
	registry_store_free(store);
	report(rc, &st);
	return 0;
}

/*
 * The artifact-directory tests' driver: one registry__artifact_unpack_dir()
 * (lib/ops/artifact_dir.c) of a tar file beneath ROOT, with the path
 * resolution forced to openat2 or to the O_NOFOLLOW walk. Prints one JSON
 * line: {"rc": code, "message": ...}.
 *
 *   artifact-dir-helper openat2|walk ROOT TITLE TAR_FILE
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ops/artifact_impl.h"
#include "unpack/unpack_impl.h"

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: artifact-dir-helper openat2|walk ROOT TITLE TAR_FILE\n");
		return 2;
	}
	registry__root_set_mode(strcmp(argv[1], "walk") == 0 ? REGISTRY__ROOT_WALK : REGISTRY__ROOT_OPENAT2);
	int fd = open(argv[4], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(argv[4]);
		return 2;
	}
	int rc = registry__artifact_unpack_dir(fd, argv[2], argv[3], "artifact");
	close(fd);
	const char *msg = rc ? registry_error_message(registry_error_last()) : "";
	printf("{\"rc\": %d, \"message\": \"", rc);
	for (const char *p = msg; *p; p++)
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if ((unsigned char)*p >= 0x20)
			putchar(*p);
	printf("\"}\n");
	return 0;
}

/* A program built against the installed libregistry-dev alone:
 *   cc consumer.c $(pkg-config --cflags --libs libregistry)
 * It parses a reference and a manifest file and prints what the library
 * makes of them; tests/packaging/check-debs compares the output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <registry/registry.h>

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(REGISTRY_MANIFEST_MAX_SIZE_DEFAULT);
	*len = f && buf ? fread(buf, 1, REGISTRY_MANIFEST_MAX_SIZE_DEFAULT, f) : 0;
	if (f)
		fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: consumer REFERENCE MANIFEST\n");
		return 2;
	}
	registry_reference *ref = NULL;
	registry_manifest *m = NULL;
	size_t len = 0;
	char *data = read_all(argv[2], &len);
	if (registry_reference_parse(&ref, argv[1]) != 0 ||
	    registry_manifest_parse(&m, data, len, NULL, NULL) != 0) {
		fprintf(stderr, "consumer: %s\n", registry_error_message(registry_error_last()));
		free(data);
		registry_reference_free(ref);
		return 1;
	}
	printf("version %s (headers %s)\n", registry_version(), REGISTRY_VERSION_STRING);
	printf("reference %s api-host %s familiar %s\n", registry_reference_string(ref),
	       registry_reference_api_host(ref), registry_reference_familiar(ref));
	printf("manifest %s signed %d layers %zu digest %s\n", registry_manifest_media_type(m),
	       registry_manifest_signed(m), registry_manifest_layer_count(m), registry_manifest_digest(m));
	printf("error %d %s\n", REGISTRY_ENOTFOUND, registry_strerror(REGISTRY_ENOTFOUND));
	registry_manifest_free(m);
	registry_reference_free(ref);
	free(data);
	return strcmp(registry_version(), REGISTRY_VERSION_STRING) != 0;
}

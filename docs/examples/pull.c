/* Pull an image into an OCI layout: docs/getting-started.md.
 *   cc pull.c $(pkg-config --cflags --libs libregistry) -o pull
 *   ./pull localhost:5000/ubuntu:Kana-1 ./ubuntu-oci */
#include <stdio.h>
#include <registry/registry.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s IMAGE DIR\n", argv[0]);
		return 2;
	}
	registry_reference *ref = NULL;
	registry_client *client = NULL;
	registry_store *store = NULL;
	char *digest = NULL;

	int rc = registry_reference_parse(&ref, argv[1]);
	if (rc == 0)
		rc = registry_client_new(&client, registry_reference_api_host(ref));
	if (rc == 0 && (rc = registry_client_load_docker_config(client, NULL)) == REGISTRY_ENOTFOUND)
		rc = 0; /* no credentials for this registry in ~/.docker/config.json */
	if (rc == 0)
		rc = registry_store_open(&store, argv[2], REGISTRY_STORE_CREATE);
	if (rc == 0)
		rc = registry_pull(&digest, client, ref, store, NULL, NULL);

	if (rc == 0)
		printf("%s %s\n", registry_reference_string(ref), digest);
	else
		fprintf(stderr, "%s: %s\n", registry_strerror(rc), registry_error_message(registry_error_last()));
	registry_free(digest);
	registry_store_free(store);
	registry_client_free(client);
	registry_reference_free(ref);
	return rc == 0 ? 0 : 1;
}

/* The checks operations make before any request: a reference naming
 * another registry than the client's, and the delete options. All run
 * against a client for 127.0.0.1:1, so any request would fail with a
 * network error instead of the REGISTRY_EINVAL checked here. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include <registry/registry.h>

static int message_has(const char *what)
{
	return strstr(registry_error_message(registry_error_last()), what) != NULL;
}

/* The message names both registries. */
static int names_both(void)
{
	return message_has("quay.io") && message_has("127.0.0.1:1");
}

static void test_other_registry(void)
{
	registry_client *client = NULL;
	registry_reference *other = NULL, *ours = NULL;
	registry_store *store = NULL;
	char dir[] = "/tmp/unit-ops-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	CHECK_INT(registry_client_new(&client, "127.0.0.1:1"), 0);
	CHECK_INT(registry_reference_parse(&other, "quay.io/app/x:1"), 0);
	CHECK_INT(registry_reference_parse(&ours, "127.0.0.1:1/app/x:1"), 0);
	CHECK_INT(registry_store_open(&store, dir, REGISTRY_STORE_CREATE), 0);

	CHECK_INT(registry_pull(NULL, client, other, store, NULL, NULL), REGISTRY_EINVAL);
	CHECK(names_both());
	CHECK_INT(registry_pull_to(NULL, client, other, dir, REGISTRY_IMAGE_FORMAT_OCI, NULL), REGISTRY_EINVAL);
	CHECK(names_both());
	CHECK_INT(registry_push(NULL, client, store, "x", other, NULL), REGISTRY_EINVAL);
	CHECK(names_both());
	CHECK_INT(registry_push_archive(NULL, client, "/nonexistent.tar", other, NULL), REGISTRY_EINVAL);
	CHECK(names_both());
	/* copy checks both ends. */
	CHECK_INT(registry_copy(NULL, client, other, client, ours, NULL), REGISTRY_EINVAL);
	CHECK(names_both());
	CHECK_INT(registry_copy(NULL, client, ours, client, other, NULL), REGISTRY_EINVAL);
	CHECK(names_both());
	/* The client's own registry gets past the check (and fails on the network). */
	CHECK(registry_pull(NULL, client, ours, store, NULL, NULL) != REGISTRY_EINVAL);

	registry_store_free(store);
	registry_reference_free(other);
	registry_reference_free(ours);
	registry_client_free(client);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_INT(system(cmd), 0);
}

static void test_delete_options(void)
{
	registry_client *client = NULL;
	CHECK_INT(registry_client_new(&client, "127.0.0.1:1"), 0);
	registry_manifest_delete_options o;
	CHECK_INT(registry_manifest_delete_options_init(NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_delete_options_init(&o), 0);
	CHECK_INT(o.version, REGISTRY_MANIFEST_DELETE_OPTIONS_VERSION);
	CHECK_INT(o.flags, 0);
	char *digest = (char *)"untouched";
	o.flags = 0x80;
	CHECK_INT(registry_manifest_delete(&digest, client, "app", "v1", &o), REGISTRY_EINVAL);
	CHECK(message_has("registry_manifest_delete") && message_has("flags 0x80"));
	CHECK(digest == NULL);
	o.flags = REGISTRY_DELETE_FORCE;
	o.version = 0;
	CHECK_INT(registry_manifest_delete(NULL, client, "app", "v1", &o), REGISTRY_EINVAL);
	CHECK(message_has("version 0"));
	o.version = REGISTRY_MANIFEST_DELETE_OPTIONS_VERSION + 1;
	CHECK_INT(registry_manifest_delete(NULL, client, "app", "v1", &o), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_delete(NULL, NULL, "app", "v1", NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_delete(NULL, client, "app", "BAD TAG", NULL), REGISTRY_EFORMAT);
	/* Valid: it gets as far as the network. */
	CHECK_INT(registry_manifest_delete(NULL, client, "app", "v1", NULL), REGISTRY_ENETWORK);
	registry_client_free(client);
}

int main(void)
{
	RUN(test_other_registry);
	RUN(test_delete_options);
	return CHECK_DONE();
}

/* The image configuration model: fields, lists, labels, history, JSON out, and
 * the documents it must refuse. */
#include <registry/registry.h>

#include "check.h"

/* A Docker config as a registry serves it (shape of ubuntu's, trimmed). */
static const char DOCKER_CONFIG[] =
	"{\"architecture\":\"amd64\",\"config\":{\"Hostname\":\"\",\"User\":\"app\",\"ExposedPorts\":"
	"{\"80/tcp\":{},\"443/tcp\":{}},\"Env\":[\"PATH=/usr/local/sbin:/usr/bin\",\"LANG=C.UTF-8\"],"
	"\"Cmd\":[\"/bin/bash\"],\"Entrypoint\":null,\"Volumes\":{\"/data\":{}},\"WorkingDir\":\"/srv\","
	"\"Labels\":{\"org.opencontainers.image.version\":\"18.04\",\"maintainer\":\"x\"},"
	"\"StopSignal\":\"SIGTERM\"},\"container\":\"abc\",\"created\":\"2018-06-05T21:20:54.310450149Z\","
	"\"docker_version\":\"17.06.2-ce\",\"history\":[{\"created\":\"2018-06-05T21:20:51Z\","
	"\"created_by\":\"/bin/sh -c #(nop) ADD file:28c0771e44ff530dba3f237024acc38e8ec9293d60f0e44c8c78536c12f13a0b in / \"},"
	"{\"created\":\"2018-06-05T21:20:54Z\",\"created_by\":\"/bin/sh -c #(nop)  CMD [\\\"/bin/bash\\\"]\","
	"\"empty_layer\":true}],\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":"
	"[\"sha256:db9476e6d963ed2b6042abef1c354223148cdcdbd6c7416c71a019ebcaea0edb\","
	"\"blake3:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"]}}";

static registry_image_config *parse(const char *text)
{
	registry_image_config *c = NULL;
	int rc = registry_image_config_parse(&c, text, strlen(text), NULL);
	if (rc)
		fprintf(stderr, "parse: %s\n", registry_error_message(registry_error_last()));
	return c;
}

static void test_fields(void)
{
	registry_image_config *c = parse(DOCKER_CONFIG);
	CHECK(c != NULL);
	CHECK_INT(registry_error_code(registry_error_last()), 0); /* blake3 is no failure */
	CHECK_STR(registry_image_config_string(c, REGISTRY_IMAGE_CONFIG_ARCHITECTURE), "amd64");
	CHECK_STR(registry_image_config_string(c, REGISTRY_IMAGE_CONFIG_OS), "linux");
	CHECK(registry_image_config_string(c, REGISTRY_IMAGE_CONFIG_VARIANT) == NULL);
	CHECK_STR(registry_image_config_string(c, REGISTRY_IMAGE_CONFIG_USER), "app");
	CHECK_STR(registry_image_config_string(c, REGISTRY_IMAGE_CONFIG_WORKING_DIR), "/srv");
	CHECK_STR(registry_image_config_string(c, REGISTRY_IMAGE_CONFIG_STOP_SIGNAL), "SIGTERM");
	CHECK_STR(registry_image_config_string(c, REGISTRY_IMAGE_CONFIG_CREATED), "2018-06-05T21:20:54.310450149Z");
	CHECK_STR(registry_image_config_string(c, REGISTRY_IMAGE_CONFIG_ROOTFS_TYPE), "layers");
	CHECK(registry_image_config_string(c, 0) == NULL);
	CHECK(registry_image_config_string(c, 99) == NULL);

	CHECK_INT(registry_image_config_list_count(c, REGISTRY_IMAGE_CONFIG_LIST_ENV), 2);
	CHECK_STR(registry_image_config_list_item(c, REGISTRY_IMAGE_CONFIG_LIST_ENV, 1), "LANG=C.UTF-8");
	CHECK(registry_image_config_list_item(c, REGISTRY_IMAGE_CONFIG_LIST_ENV, 2) == NULL);
	CHECK_INT(registry_image_config_list_present(c, REGISTRY_IMAGE_CONFIG_LIST_CMD), 1);
	CHECK_STR(registry_image_config_list_item(c, REGISTRY_IMAGE_CONFIG_LIST_CMD, 0), "/bin/bash");
	/* "Entrypoint": null is absent, not an empty list. */
	CHECK_INT(registry_image_config_list_present(c, REGISTRY_IMAGE_CONFIG_LIST_ENTRYPOINT), 0);
	CHECK_INT(registry_image_config_list_count(c, REGISTRY_IMAGE_CONFIG_LIST_EXPOSED_PORTS), 2);
	CHECK_STR(registry_image_config_list_item(c, REGISTRY_IMAGE_CONFIG_LIST_EXPOSED_PORTS, 1), "443/tcp");
	CHECK_STR(registry_image_config_list_item(c, REGISTRY_IMAGE_CONFIG_LIST_VOLUMES, 0), "/data");
	CHECK_INT(registry_image_config_list_count(c, REGISTRY_IMAGE_CONFIG_LIST_DIFF_IDS), 2);
	CHECK_STR(registry_image_config_list_item(c, REGISTRY_IMAGE_CONFIG_LIST_DIFF_IDS, 1),
	          "blake3:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	CHECK_INT(registry_image_config_list_count(c, 42), 0);
	/* The enums are disjoint: one passed for another gives nothing, not another field. */
	CHECK(registry_image_config_string(c, REGISTRY_IMAGE_CONFIG_LIST_ENV) == NULL);
	CHECK_INT(registry_image_config_list_count(c, REGISTRY_IMAGE_CONFIG_ARCHITECTURE), 0);
	CHECK(registry_image_config_history(c, 1, REGISTRY_IMAGE_CONFIG_CREATED) == NULL);

	CHECK_INT(registry_image_config_label_count(c), 2);
	CHECK_STR(registry_image_config_label_key(c, 0), "org.opencontainers.image.version");
	CHECK_STR(registry_image_config_label_value(c, 1), "x");
	CHECK_STR(registry_image_config_label(c, "maintainer"), "x");
	CHECK(registry_image_config_label(c, "nope") == NULL);

	CHECK_INT(registry_image_config_history_count(c), 2);
	CHECK_INT(registry_image_config_history_empty_layer(c, 0), 0);
	CHECK_INT(registry_image_config_history_empty_layer(c, 1), 1);
	CHECK_STR(registry_image_config_history(c, 1, REGISTRY_IMAGE_CONFIG_HISTORY_CREATED), "2018-06-05T21:20:54Z");
	CHECK(registry_image_config_history(c, 0, REGISTRY_IMAGE_CONFIG_HISTORY_COMMENT) == NULL);
	CHECK(registry_image_config_history(c, 2, REGISTRY_IMAGE_CONFIG_HISTORY_CREATED) == NULL);
	registry_image_config_free(c);

	/* NULL-safe accessors. */
	CHECK(registry_image_config_string(NULL, REGISTRY_IMAGE_CONFIG_OS) == NULL);
	CHECK_INT(registry_image_config_list_count(NULL, REGISTRY_IMAGE_CONFIG_LIST_ENV), 0);
	CHECK_INT(registry_image_config_label_count(NULL), 0);
	registry_image_config_free(NULL);
}

static void test_json(void)
{
	registry_image_config *c = parse(DOCKER_CONFIG);
	char *json = NULL;
	CHECK_INT(registry_image_config_to_json(&json, c), 0);
	CHECK(json != NULL);
	/* Reparsed, the output is the same config (the OCI shape keeps every field). */
	registry_image_config *again = json ? parse(json) : NULL;
	CHECK(again != NULL);
	CHECK_STR(registry_image_config_string(again, REGISTRY_IMAGE_CONFIG_USER), "app");
	CHECK_INT(registry_image_config_list_count(again, REGISTRY_IMAGE_CONFIG_LIST_EXPOSED_PORTS), 2);
	CHECK_INT(registry_image_config_list_present(again, REGISTRY_IMAGE_CONFIG_LIST_ENTRYPOINT), 0);
	CHECK_INT(registry_image_config_history_empty_layer(again, 1), 1);
	CHECK(json && strstr(json, "\"ExposedPorts\": {\n") != NULL);
	CHECK(json && strstr(json, "\"container\"") == NULL); /* Docker-only fields are not OCI */
	registry_image_config_free(again);
	registry_free(json);
	registry_image_config_free(c);
	CHECK_INT(registry_image_config_to_json(NULL, NULL), REGISTRY_EINVAL);
}

static void expect_refused(const char *text, int code, const char *in_message)
{
	registry_image_config *c = (registry_image_config *)1;
	int rc = registry_image_config_parse(&c, text, strlen(text), NULL);
	CHECK_INT(rc, code);
	CHECK(c == NULL);
	const char *msg = registry_error_message(registry_error_last());
	CHECK_INT(registry_error_code(registry_error_last()), code);
	if (!strstr(msg, in_message)) {
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", msg, in_message);
		check_case_failed = 1;
	}
}

static void test_refused(void)
{
	expect_refused("{\"os\":\"linux\"}", REGISTRY_EFORMAT, "config: architecture: missing");
	expect_refused("{\"os\":\"linux\",\"architecture\":7}", REGISTRY_EFORMAT, "architecture: must be a string");
	expect_refused("{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{\"Env\":[\"A=1\",2]}}",
	               REGISTRY_EFORMAT, "config.Env");
	expect_refused("{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":[]}", REGISTRY_EFORMAT,
	               "config: must be an object");
	expect_refused("{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{\"Labels\":{\"a\":1}}}",
	               REGISTRY_EFORMAT, "config.Labels");
	expect_refused("{\"os\":\"linux\",\"architecture\":\"amd64\",\"rootfs\":{\"type\":\"layers\","
	               "\"diff_ids\":[\"sha256:../../etc/passwd\"]}}",
	               REGISTRY_EFORMAT, "rootfs.diff_ids[0]");
	expect_refused("{\"os\":\"linux\",\"architecture\":\"amd64\",\"history\":[{\"empty_layer\":\"yes\"}]}",
	               REGISTRY_EFORMAT, "history[0]");
	expect_refused("{\"os\":\"linux\",\"os\":\"linux\",\"architecture\":\"amd64\"}", REGISTRY_EFORMAT,
	               "duplicate");
	expect_refused("[1]", REGISTRY_EFORMAT, "not a JSON object");
	expect_refused("{", REGISTRY_EFORMAT, "not valid JSON");
	/* Deep nesting is refused before cJSON recurses. */
	static char deep[20000];
	for (size_t i = 0; i < 9000; i++)
		deep[i] = '[';
	expect_refused(deep, REGISTRY_EFORMAT, "nesting");
	/* Sizes: the cap is checked before parsing. */
	registry_image_config *c = NULL;
	CHECK_INT(registry_image_config_parse(&c, "{}", REGISTRY_IMAGE_CONFIG_MAX_SIZE + 1, NULL), REGISTRY_ETOOLARGE);
	CHECK_INT(registry_image_config_parse(NULL, "{}", 2, NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_image_config_parse(&c, NULL, 2, NULL), REGISTRY_EINVAL);
	/* max_size moves the cap either way; 0 is the default. */
	static const char doc[] = "{\"os\":\"linux\",\"architecture\":\"amd64\"}";
	registry_image_config_parse_options o;
	CHECK_INT(registry_image_config_parse_options_init(&o), 0);
	o.max_size = sizeof(doc) - 2;
	CHECK_INT(registry_image_config_parse(&c, doc, sizeof(doc) - 1, &o), REGISTRY_ETOOLARGE);
	CHECK(c == NULL);
	o.max_size = sizeof(doc) - 1;
	CHECK_INT(registry_image_config_parse(&c, doc, sizeof(doc) - 1, &o), 0);
	registry_image_config_free(c);
	c = NULL;
	o.max_size = 0;
	CHECK_INT(registry_image_config_parse(&c, doc, sizeof(doc) - 1, &o), 0);
	registry_image_config_free(c);
	c = NULL;
	o.version = 2;
	CHECK_INT(registry_image_config_parse(&c, doc, sizeof(doc) - 1, &o), REGISTRY_EINVAL);
	CHECK_INT(registry_image_config_parse_options_init(NULL), REGISTRY_EINVAL);
}

static void test_fetch_arguments(void)
{
	registry_image_config *c = NULL;
	registry_client *client = NULL;
	registry_reference *ref = NULL;
	CHECK_INT(registry_client_new(&client, "127.0.0.1:1"), 0);
	CHECK_INT(registry_reference_parse(&ref, "quay.io/app/x:1"), 0);
	CHECK_INT(registry_image_config_fetch(&c, client, NULL, NULL), REGISTRY_EINVAL);
	/* Another registry than the client's is an error, not silently this one. */
	CHECK_INT(registry_image_config_fetch(&c, client, ref, NULL), REGISTRY_EINVAL);
	CHECK(strstr(registry_error_message(registry_error_last()), "quay.io") != NULL);
	registry_image_config_fetch_options o;
	CHECK_INT(registry_image_config_fetch_options_init(&o), 0);
	CHECK_INT(o.version, REGISTRY_IMAGE_CONFIG_FETCH_OPTIONS_VERSION);
	o.flags = 1;
	CHECK_INT(registry_image_config_fetch(&c, client, ref, &o), REGISTRY_EINVAL);
	CHECK(strstr(registry_error_message(registry_error_last()), "flags") != NULL);
	o.flags = 0;
	o.version = 99;
	CHECK_INT(registry_image_config_fetch(&c, client, ref, &o), REGISTRY_EINVAL);
	CHECK(c == NULL);
	registry_reference_free(ref);
	registry_client_free(client);
}

int main(void)
{
	RUN(test_fields);
	RUN(test_json);
	RUN(test_refused);
	RUN(test_fetch_arguments);
	return CHECK_DONE();
}

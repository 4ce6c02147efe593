/*
 * config.json of a runtime bundle, converted from the image config as the
 * image spec's conversion document says (conversion.md): process.args is
 * Entrypoint then Cmd, process.env is Env, process.cwd is WorkingDir ("/"
 * when empty), process.user from User resolved against the image's own
 * /etc/passwd and /etc/group (and HOME from it, as umoci), annotations
 * from the labels plus the org.opencontainers.image.* keys the document
 * lists; the rest is the default configuration `runc spec` writes, so
 * `runc run` and `crun run` start it as it is.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "manifest/manifest_impl.h"
#include "unpack_impl.h"

#define CONFIG_MAX_SIZE ((size_t)32 << 20)

/* The parts of the default that do not come from the image. */
static const char base_config[] =
	"{\"ociVersion\":\"1.0.2\","
	"\"process\":{\"terminal\":false,\"user\":{\"uid\":0,\"gid\":0},\"args\":[],\"env\":[],\"cwd\":\"/\","
	"\"capabilities\":{"
	"\"bounding\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
	"\"effective\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
	"\"permitted\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"]},"
	"\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],\"noNewPrivileges\":true},"
	"\"root\":{\"path\":\"rootfs\",\"readonly\":false},"
	"\"hostname\":\"container\","
	"\"mounts\":["
	"{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
	"{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
	"\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},"
	"{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\","
	"\"options\":[\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode=0620\",\"gid=5\"]},"
	"{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\","
	"\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"mode=1777\",\"size=65536k\"]},"
	"{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\","
	"\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},"
	"{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\","
	"\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]}],"
	"\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},"
	"{\"type\":\"mount\"}],"
	"\"maskedPaths\":[\"/proc/acpi\",\"/proc/kcore\",\"/proc/keys\",\"/proc/latency_stats\","
	"\"/proc/timer_list\",\"/proc/timer_stats\",\"/proc/sched_debug\",\"/sys/firmware\",\"/proc/scsi\"],"
	"\"readonlyPaths\":[\"/proc/asound\",\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\","
	"\"/proc/sysrq-trigger\"]}}";

static int add_list(cJSON *to, const registry_image_config *ic, int list)
{
	for (size_t i = 0; i < registry_image_config_list_count(ic, list); i++) {
		cJSON *s = cJSON_CreateString(registry_image_config_list_item(ic, list, i));
		if (!s || !cJSON_AddItemToArray(to, s))
			return registry__nomem();
	}
	return 0;
}

/* process.user from config.User resolved in the image; HOME from its
 * passwd entry ("/" without one) unless the config's Env sets it. */
static int set_user(cJSON *process, const registry_image_config *ic, int rootfd)
{
	unsigned long uid = 0, gid = 0;
	char *home = NULL;
	int rc = registry__resolve_user(rootfd, registry_image_config_string(ic, REGISTRY_IMAGE_CONFIG_USER), &uid,
	                                &gid, &home);
	if (rc)
		return rc;
	cJSON *user = cJSON_GetObjectItemCaseSensitive(process, "user");
	cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(user, "uid"), (double)uid);
	cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(user, "gid"), (double)gid);
	int has_home = 0;
	for (size_t i = 0; i < registry_image_config_list_count(ic, REGISTRY_IMAGE_CONFIG_LIST_ENV); i++)
		has_home |= strncmp(registry_image_config_list_item(ic, REGISTRY_IMAGE_CONFIG_LIST_ENV, i), "HOME=", 5) == 0;
	registry__buf b;
	registry__buf_init(&b, 0);
	if (!has_home) {
		cJSON *s = registry__buf_printf(&b, "HOME=%s", home ? home : "/") ? NULL : cJSON_CreateString(b.data);
		if (!s || !cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(process, "env"), s))
			rc = registry__nomem();
	}
	registry__buf_free(&b);
	free(home);
	return rc;
}

static int add_annotation(cJSON *ann, const char *key, const char *value)
{
	if (!value)
		return 0;
	cJSON_DeleteItemFromObjectCaseSensitive(ann, key);
	return cJSON_AddStringToObject(ann, key, value) ? 0 : registry__nomem();
}

static int annotations(cJSON *root, const registry_image_config *ic)
{
	cJSON *ann = cJSON_AddObjectToObject(root, "annotations");
	if (!ann)
		return registry__nomem();
	int rc = 0;
	for (size_t i = 0; !rc && i < registry_image_config_label_count(ic); i++)
		rc = add_annotation(ann, registry_image_config_label_key(ic, i), registry_image_config_label_value(ic, i));
	static const struct {
		const char *key;
		int field;
	} fields[] = {
		{"org.opencontainers.image.os", REGISTRY_IMAGE_CONFIG_OS},
		{"org.opencontainers.image.architecture", REGISTRY_IMAGE_CONFIG_ARCHITECTURE},
		{"org.opencontainers.image.variant", REGISTRY_IMAGE_CONFIG_VARIANT},
		{"org.opencontainers.image.os.version", REGISTRY_IMAGE_CONFIG_OS_VERSION},
		{"org.opencontainers.image.author", REGISTRY_IMAGE_CONFIG_AUTHOR},
		{"org.opencontainers.image.created", REGISTRY_IMAGE_CONFIG_CREATED},
		{"org.opencontainers.image.stopSignal", REGISTRY_IMAGE_CONFIG_STOP_SIGNAL},
	};
	for (size_t i = 0; !rc && i < REGISTRY_ARRAY_LEN(fields); i++)
		rc = add_annotation(ann, fields[i].key, registry_image_config_string(ic, fields[i].field));
	/* exposedPorts: the keys joined by commas, as the document says. */
	registry__buf b;
	registry__buf_init(&b, 0);
	size_t n = registry_image_config_list_count(ic, REGISTRY_IMAGE_CONFIG_LIST_EXPOSED_PORTS);
	for (size_t i = 0; !rc && i < n; i++)
		if (registry__buf_printf(&b, "%s%s", i ? "," : "",
		                         registry_image_config_list_item(ic, REGISTRY_IMAGE_CONFIG_LIST_EXPOSED_PORTS, i)))
			rc = registry__nomem();
	if (!rc && n)
		rc = add_annotation(ann, "org.opencontainers.image.exposedPorts", b.data);
	registry__buf_free(&b);
	return rc;
}

static int fill(cJSON *root, const registry_image_config *ic, int rootfd)
{
	cJSON *process = cJSON_GetObjectItemCaseSensitive(root, "process");
	int rc = add_list(cJSON_GetObjectItemCaseSensitive(process, "args"), ic, REGISTRY_IMAGE_CONFIG_LIST_ENTRYPOINT);
	if (!rc)
		rc = add_list(cJSON_GetObjectItemCaseSensitive(process, "args"), ic, REGISTRY_IMAGE_CONFIG_LIST_CMD);
	if (!rc)
		rc = add_list(cJSON_GetObjectItemCaseSensitive(process, "env"), ic, REGISTRY_IMAGE_CONFIG_LIST_ENV);
	const char *cwd = registry_image_config_string(ic, REGISTRY_IMAGE_CONFIG_WORKING_DIR);
	if (!rc && cwd && *cwd && !cJSON_ReplaceItemInObjectCaseSensitive(process, "cwd", cJSON_CreateString(cwd)))
		rc = registry__nomem();
	if (!rc)
		rc = set_user(process, ic, rootfd);
	return rc ? rc : annotations(root, ic);
}

int registry__bundle_config(char **out, size_t *len, const char *image_config, size_t config_len, int rootfd)
{
	registry_image_config *ic = NULL;
	int rc = registry__image_config_parse(&ic, image_config, config_len, CONFIG_MAX_SIZE);
	if (rc)
		return rc;
	cJSON *root = cJSON_Parse(base_config);
	if (!root)
		rc = registry__nomem();
	if (!rc)
		rc = fill(root, ic, rootfd);
	char *text = rc ? NULL : cJSON_Print(root);
	if (!rc && !text)
		rc = registry__nomem();
	if (!rc) {
		*len = strlen(text);
		if (!(*out = registry__strndup(text, *len)))
			rc = registry__nomem();
	}
	cJSON_free(text);
	cJSON_Delete(root);
	registry_image_config_free(ic);
	return rc;
}

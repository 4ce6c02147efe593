/* Docker config.json credentials: every key form Docker writes, base64
 * "auth", username/password, identity tokens, credHelpers and credsStore
 * through a docker-credential-* script on PATH, and the failures. */
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "transport/client_impl.h"

static char dir[256];

static void write_file(const char *name, const char *text, int mode)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	chmod(path, (mode_t)mode);
}

static registry_client *load(const char *registry, const char *config, int *rc)
{
	registry_client *c = NULL;
	registry_client_new(&c, registry);
	write_file("config.json", config, 0600);
	char path[512];
	snprintf(path, sizeof(path), "%s/config.json", dir);
	*rc = registry_client_load_docker_config(c, path);
	return c;
}

static void test_auth_forms(void)
{
	/* "user:pa:ss" base64 = dXNlcjpwYTpzcw== ; keys in each form Docker writes. */
	const char *keys[] = {"localhost:5000", "https://localhost:5000", "http://localhost:5000/v2/",
	                      "https://localhost:5000/v1/"};
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(keys); i++) {
		char cfg[512];
		snprintf(cfg, sizeof(cfg), "{\"auths\":{\"other:1\":{\"auth\":\"eDp5\"},\"%s\":{\"auth\":\"dXNlcjpwYTpzcw==\"}}}", keys[i]);
		int rc;
		registry_client *c = load("localhost:5000", cfg, &rc);
		CHECK_INT(rc, 0);
		CHECK_STR(c->username, "user");
		CHECK_STR(c->password, "pa:ss"); /* split at the first colon only */
		registry_client_free(c);
	}
}

static void test_docker_hub_key(void)
{
	int rc;
	registry_client *c = load("docker.io",
		"{\"auths\":{\"https://index.docker.io/v1/\":{\"username\":\"hubuser\",\"password\":\"pw\"}}}", &rc);
	CHECK_INT(rc, 0);
	CHECK_STR(c->username, "hubuser");
	CHECK_STR(c->password, "pw");
	registry_client_free(c);
}

static void test_identity_token(void)
{
	int rc;
	registry_client *c = load("r.example",
		"{\"auths\":{\"r.example\":{\"auth\":\"dTpw\",\"identitytoken\":\"refresh-me\"}}}", &rc);
	CHECK_INT(rc, 0);
	CHECK_STR(c->identity_token, "refresh-me");
	CHECK_STR(c->username, "u");
	registry_client_free(c);
}

static void test_not_found_and_bad(void)
{
	int rc;
	registry_client *c = load("r.example", "{\"auths\":{\"other.example\":{\"auth\":\"dTpw\"}}}", &rc);
	CHECK_INT(rc, REGISTRY_ENOTFOUND);
	CHECK(c->username == NULL);
	registry_client_free(c);
	c = load("r.example", "[1,2]", &rc);
	CHECK_INT(rc, REGISTRY_EFORMAT);
	registry_client_free(c);
	c = load("r.example", "{\"auths\":{\"r.example\":{\"auth\":\"!!!notbase64\"}}}", &rc);
	CHECK_INT(rc, REGISTRY_EFORMAT);
	registry_client_free(c);
	c = load("r.example", "{\"auths\":{\"r.example\":{\"auth\":\"bm9jb2xvbg==\"}}}", &rc); /* "nocolon" */
	CHECK_INT(rc, REGISTRY_EFORMAT);
	registry_client_free(c);
	registry_client_new(&c, "r.example");
	CHECK_INT(registry_client_load_docker_config(c, "/nonexistent/config.json"), REGISTRY_ENOTFOUND);
	registry_client_free(c);
}

static void test_helpers(void)
{
	/* The helper echoes the server URL it was asked for into Username. */
	write_file("docker-credential-test",
		"#!/bin/sh\n[ \"$1\" = get ] || exit 3\nread -r server\n"
		"case \"$server\" in\n"
		"  tok.example) printf '{\"ServerURL\":\"%s\",\"Username\":\"<token>\",\"Secret\":\"idtok\"}' \"$server\";;\n"
		"  none.example) echo 'credentials not found in native keychain'; exit 1;;\n"
		"  *) printf '{\"ServerURL\":\"%s\",\"Username\":\"%s\",\"Secret\":\"s3cret\"}' \"$server\" \"$server\";;\n"
		"esac\n", 0755);
	char path[1024];
	snprintf(path, sizeof(path), "%s:%s", dir, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", path, 1);

	int rc;
	registry_client *c = load("localhost:5000", "{\"credHelpers\":{\"localhost:5000\":\"test\"},"
	                          "\"auths\":{\"localhost:5000\":{\"auth\":\"dTpw\"}}}", &rc);
	CHECK_INT(rc, 0);
	CHECK_STR(c->username, "localhost:5000"); /* the helper, not auths, won */
	CHECK_STR(c->password, "s3cret");
	registry_client_free(c);

	c = load("docker.io", "{\"credsStore\":\"test\"}", &rc);
	CHECK_INT(rc, 0);
	CHECK_STR(c->username, "https://index.docker.io/v1/");
	registry_client_free(c);

	c = load("tok.example", "{\"credsStore\":\"test\"}", &rc);
	CHECK_INT(rc, 0);
	CHECK_STR(c->identity_token, "idtok");
	CHECK(c->username == NULL);
	registry_client_free(c);

	c = load("none.example", "{\"credsStore\":\"test\"}", &rc);
	CHECK_INT(rc, REGISTRY_ENOTFOUND);
	registry_client_free(c);

	c = load("x.example", "{\"credsStore\":\"desktop-missing\"}", &rc);
	CHECK_INT(rc, REGISTRY_EAUTH);
	CHECK(strstr(registry_error_message(registry_error_last()), "docker-credential-desktop-missing") != NULL);
	registry_client_free(c);

	c = load("x.example", "{\"credsStore\":\"../../bin/sh\"}", &rc);
	CHECK_INT(rc, REGISTRY_EFORMAT);
	registry_client_free(c);
}

static void test_env_default(void)
{
	write_file("config.json", "{\"auths\":{\"e.example\":{\"auth\":\"dTpw\"}}}", 0600);
	setenv("DOCKER_CONFIG", dir, 1);
	registry_client *c = NULL;
	registry_client_new(&c, "e.example");
	CHECK_INT(registry_client_load_docker_config(c, NULL), 0);
	CHECK_STR(c->username, "u");
	registry_client_free(c);
	unsetenv("DOCKER_CONFIG");
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/registry-cred-test-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	RUN(test_auth_forms);
	RUN(test_docker_hub_key);
	RUN(test_identity_token);
	RUN(test_not_found_and_bad);
	RUN(test_helpers);
	RUN(test_env_default);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return CHECK_DONE();
}

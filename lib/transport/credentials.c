/*
 * Credentials from Docker's config.json: "auths" entries (base64 "auth",
 * "username"/"password", "identitytoken"), and "credHelpers"/"credsStore"
 * through docker-credential-NAME helpers (server URL on stdin, JSON
 * {ServerURL, Username, Secret} on stdout; Username "<token>" means the
 * Secret is an identity token).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "client_impl.h"
#include "hostconfig/authfile.h"
#include "hostconfig/hostconfig.h"

#define CONFIG_LIMIT ((size_t)1 << 20)
#define HELPER_TIMEOUT_MS 30000

/*
 * write(2) that cannot raise SIGPIPE in the process: a helper that exits
 * before reading must not kill its caller, and the process's own SIGPIPE
 * handling (and other threads') must not change meanwhile. SIGPIPE is
 * blocked for this thread only, and one that the write raised is taken off
 * before the mask is put back, unless one was pending already.
 */
static ssize_t write_nosigpipe(int fd, const void *buf, size_t len)
{
	sigset_t pipe_only, old, pending;
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	if (pthread_sigmask(SIG_BLOCK, &pipe_only, &old) != 0)
		return write(fd, buf, len);
	int was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
	ssize_t w = write(fd, buf, len);
	int err = errno;
	if (w < 0 && err == EPIPE && !was_pending) {
		const struct timespec zero = {0, 0};
		while (sigtimedwait(&pipe_only, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = err;
	return w;
}

extern char **environ;

/* The member of @obj whose key names @registry, exact key forms first. */
static const cJSON *find_entry(const cJSON *obj, const char *registry)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, obj)
		if (it->string && strcasecmp(it->string, registry) == 0)
			return it;
	cJSON_ArrayForEach(it, obj)
		if (it->string && registry__auth_key_names(it->string, registry))
			return it;
	return NULL;
}

static int valid_helper_name(const char *name)
{
	if (!*name || strlen(name) > 64)
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_' || *p == '.'))
			return 0;
	return 1;
}

/* Run "docker-credential-NAME ACTION" with @input on stdin; output into @out. */
static int run_helper(const char *name, const char *action, const char *input, registry__buf *out,
                      int *exit_status)
{
	char prog[100];
	snprintf(prog, sizeof(prog), "docker-credential-%s", name);
	int in[2], outp[2];
	if (pipe2(in, O_CLOEXEC) != 0)
		return registry__fail(REGISTRY_EIO, "pipe: %s", registry__errno_text(errno));
	if (pipe2(outp, O_CLOEXEC) != 0) {
		close(in[0]);
		close(in[1]);
		return registry__fail(REGISTRY_EIO, "pipe: %s", registry__errno_text(errno));
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	char *argv[] = {prog, (char *)action, NULL};
	pid_t pid;
	int err = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(outp[1]);
	if (err) {
		close(in[1]);
		close(outp[0]);
		if (err == ENOENT)
			return registry__fail(REGISTRY_EAUTH,
			                      "credential helper %s not found in PATH (named by docker config.json)",
			                      prog);
		return registry__fail(REGISTRY_EAUTH, "cannot run credential helper %s: %s", prog,
		                      registry__errno_text(err));
	}
	(void)write_nosigpipe(in[1], input, strlen(input));
	close(in[1]);

	int rc = 0;
	char buf[4096];
	for (;;) {
		struct pollfd pfd = {.fd = outp[0], .events = POLLIN};
		int pr = poll(&pfd, 1, HELPER_TIMEOUT_MS);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			kill(pid, SIGKILL);
			rc = registry__fail(REGISTRY_EAUTH, "credential helper %s did not answer in time", prog);
			break;
		}
		ssize_t n = read(outp[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (registry__buf_append(out, buf, (size_t)n)) {
			kill(pid, SIGKILL);
			rc = registry__fail(REGISTRY_EAUTH, "credential helper %s wrote too much", prog);
			break;
		}
	}
	close(outp[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	return rc;
}

static int from_helper(registry_client *c, const char *name, const char *server)
{
	if (!valid_helper_name(name))
		return registry__fail(REGISTRY_EFORMAT, "credential helper name '%.64s' is not valid", name);
	registry__buf out;
	registry__buf_init(&out, CONFIG_LIMIT);
	int status = 0;
	int rc = run_helper(name, "get", server, &out, &status);
	if (!rc && status != 0) {
		if (out.data && strstr(out.data, "credentials not found"))
			rc = registry__fail(REGISTRY_ENOTFOUND, "docker-credential-%s has no credentials for %s",
			                    name, server);
		else
			rc = registry__fail(REGISTRY_EAUTH, "docker-credential-%s failed (exit %d) for %s",
			                    name, status, server);
	}
	cJSON *root = NULL;
	if (!rc) {
		root = cJSON_ParseWithLength(out.data ? out.data : "", out.len);
		const cJSON *user = cJSON_GetObjectItemCaseSensitive(root, "Username");
		const cJSON *secret = cJSON_GetObjectItemCaseSensitive(root, "Secret");
		if (!cJSON_IsString(secret)) {
			rc = registry__fail(REGISTRY_EAUTH, "docker-credential-%s gave no Secret", name);
		} else if (cJSON_IsString(user) && strcmp(user->valuestring, "<token>") == 0) {
			rc = registry_client_set_identity_token(c, secret->valuestring);
		} else {
			rc = registry_client_set_credentials(c, cJSON_IsString(user) ? user->valuestring : "",
			                                     secret->valuestring);
		}
		if (cJSON_IsString(secret))
			sodium_memzero(secret->valuestring, strlen(secret->valuestring));
	}
	cJSON_Delete(root);
	if (out.data)
		sodium_memzero(out.data, out.len);
	registry__buf_free(&out);
	return rc;
}

static int from_auths_entry(registry_client *c, const cJSON *entry, const char *path)
{
	char *user = NULL, *secret = NULL, *idt = NULL;
	int rc = registry__auth_entry_decode(entry, path, &user, &secret, &idt);
	if (!rc && user)
		rc = registry_client_set_credentials(c, user, secret);
	/* An identity token goes with the username (or alone); the client keeps both. */
	if (!rc && idt)
		rc = registry_client_set_identity_token(c, idt);
	registry__free_secret(user);
	registry__free_secret(secret);
	registry__free_secret(idt);
	return rc;
}

int registry__docker_config_apply(registry_client *c, const char *text, size_t len,
                                  const char *path, registry__helper_fn helper)
{
	if (!helper)
		helper = from_helper;
	int rc = 0;
	cJSON *root = cJSON_ParseWithLength(text ? text : "", len);
	if (!cJSON_IsObject(root))
		rc = registry__fail(REGISTRY_EFORMAT, "%s is not a JSON object", path);
	const char *reg = c->registry;
	char server[300];
	if (registry__is_docker_hub(reg))
		snprintf(server, sizeof(server), "https://index.docker.io/v1/");
	else
		snprintf(server, sizeof(server), "%s", reg);
	if (!rc) {
		const cJSON *helpers = cJSON_GetObjectItemCaseSensitive(root, "credHelpers");
		const cJSON *store = cJSON_GetObjectItemCaseSensitive(root, "credsStore");
		const cJSON *auths = cJSON_GetObjectItemCaseSensitive(root, "auths");
		const cJSON *h = cJSON_IsObject(helpers) ? find_entry(helpers, reg) : NULL;
		const cJSON *a = cJSON_IsObject(auths) ? find_entry(auths, reg) : NULL;
		if (h && cJSON_IsString(h))
			rc = helper(c, h->valuestring, server);
		else if (cJSON_IsString(store) && *store->valuestring)
			rc = helper(c, store->valuestring, server);
		else if (a && cJSON_IsObject(a))
			rc = from_auths_entry(c, a, path);
		else
			rc = REGISTRY_ENOTFOUND;
		if (rc == REGISTRY_ENOTFOUND && registry_error_code(registry_error_last()) == 0)
			registry__fail(rc, "%s has no credentials for %s", path, reg);
	}
	cJSON_Delete(root);
	return rc;
}

int registry_client_load_docker_config(registry_client *c, const char *path)
{
	REGISTRY__ENTER(rc);
	if (!c)
		return registry__fail(REGISTRY_EINVAL, "load_docker_config: NULL client");
	char def[4096];
	if (!path) {
		const char *dir = getenv("DOCKER_CONFIG");
		const char *home = getenv("HOME");
		if (dir && *dir)
			snprintf(def, sizeof(def), "%s/config.json", dir);
		else if (home && *home)
			snprintf(def, sizeof(def), "%s/.docker/config.json", home);
		else
			return registry__fail(REGISTRY_ENOTFOUND, "no DOCKER_CONFIG and no HOME: no docker config");
		path = def;
	}
	registry__buf text;
	registry__buf_init(&text, CONFIG_LIMIT);
	rc = registry__read_file_capped(path, &text);
	if (rc == REGISTRY_ENOTFOUND) {
		registry__buf_free(&text);
		return registry__fail(rc, "no docker config at %s", path);
	}
	if (!rc)
		rc = registry__docker_config_apply(c, text.data, text.len, path, NULL);
	if (text.data)
		sodium_memzero(text.data, text.len);
	registry__buf_free(&text);
	return rc;
}

int registry__helper_change(const char *name, const char *server, const char *username, const char *secret)
{
	if (!valid_helper_name(name))
		return registry__fail(REGISTRY_EFORMAT, "credential helper name '%.64s' is not valid", name);
	char *input = NULL;
	if (username) {
		cJSON *o = cJSON_CreateObject();
		if (o && cJSON_AddStringToObject(o, "ServerURL", server) && cJSON_AddStringToObject(o, "Username", username) &&
		    cJSON_AddStringToObject(o, "Secret", secret ? secret : ""))
			input = cJSON_PrintUnformatted(o);
		cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "Secret");
		if (cJSON_IsString(s))
			sodium_memzero(s->valuestring, strlen(s->valuestring));
		cJSON_Delete(o);
		if (!input)
			return registry__nomem();
	}
	registry__buf out;
	registry__buf_init(&out, CONFIG_LIMIT);
	int status = 0;
	int rc = run_helper(name, username ? "store" : "erase", username ? input : server, &out, &status);
	if (!rc && status != 0)
		rc = registry__fail(REGISTRY_EAUTH, "docker-credential-%s %s failed (exit %d) for %s", name,
		                    username ? "store" : "erase", status, server);
	if (input) {
		sodium_memzero(input, strlen(input));
		cJSON_free(input);
	}
	registry__buf_free(&out);
	return rc;
}

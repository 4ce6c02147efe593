/* Helpers for integration tests run under tests/harness/registry_harness.py. */
#ifndef REGISTRY_ITEST_H
#define REGISTRY_ITEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* usleep, mkdtemp, setenv */
#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <registry/registry.h>

#include "check.h"

static inline const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	return v && *v ? v : fallback;
}

/* Exit 77 (meson's skip) with a reason when not run under the harness. */
static inline void itest_require_harness(void)
{
	if (!getenv("REGISTRY_TEST_HOST")) {
		printf("SKIP: REGISTRY_TEST_HOST not set; run through tests/harness/registry_harness.py\n");
		exit(77);
	}
}

/* A client for the harness registry, with its CA and credentials when given. */
/* Token fetches seen by a client's trace (registry_client_token_fetches()
 * is gone since 0.2): every finished request to the harness's token realm,
 * REGISTRY_TEST_TOKEN_URL. Install with
 * registry_client_set_trace(c, itest_count_tokens, &count). */
static inline void itest_count_tokens(const registry_trace_event *e, void *userdata)
{
	const char *realm = getenv("REGISTRY_TEST_TOKEN_URL");
	if (e->what == REGISTRY_TRACE_DONE && realm && *realm && e->url &&
	    strncmp(e->url, realm, strlen(realm)) == 0)
		(*(long *)userdata)++;
}

static inline registry_client *itest_client(int with_credentials)
{
	registry_client *c = NULL;
	if (registry_client_new(&c, getenv("REGISTRY_TEST_HOST")) != 0) {
		fprintf(stderr, "client_new: %s\n", registry_error_message(registry_error_last()));
		exit(1);
	}
	if (getenv("REGISTRY_TEST_CA")) {
		registry_tls_options tls = REGISTRY_TLS_OPTIONS_INIT;
		tls.ca_file = getenv("REGISTRY_TEST_CA");
		registry_client_set_tls(c, &tls);
	}
	if (with_credentials && getenv("REGISTRY_TEST_USER"))
		registry_client_set_credentials(c, getenv("REGISTRY_TEST_USER"),
		                                getenv("REGISTRY_TEST_PASSWORD"));
	return c;
}

/*
 * Run @cmd through the shell. Its standard output goes into *out (free it;
 * NUL-terminated, *out_len bytes when out_len is given) when @out is given,
 * else it is dropped. Returns the exit status, or -1 when the command could
 * not run or was killed; a failed command is printed on stderr.
 */
static inline int itest_capture(const char *cmd, char **out, size_t *out_len)
{
	if (out)
		*out = NULL;
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	size_t cap = 1 << 16, n = 0, r;
	char *buf = malloc(cap + 1);
	while (buf && (r = fread(buf + n, 1, cap - n, p)) > 0) {
		n += r;
		if (n == cap) {
			char *q = realloc(buf, cap * 2 + 1);
			if (!q) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = q;
			cap *= 2;
		}
	}
	int status = pclose(p);
	if (buf)
		buf[n] = '\0';
	if (out) {
		*out = buf;
		if (out_len)
			*out_len = buf ? n : 0;
	} else {
		free(buf);
	}
	int code = status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (code != 0)
		fprintf(stderr, "command failed (%d): %s\n", code, cmd);
	return code;
}

/* A store (created) named @name in the harness's temporary folder; exits on failure. */
static inline registry_store *itest_store(const char *name)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", getenv("REGISTRY_TEST_TMPDIR"), name);
	registry_store *s = NULL;
	if (registry_store_open(&s, path, REGISTRY_STORE_CREATE) != 0) {
		fprintf(stderr, "store_open %s: %s\n", path, registry_error_message(registry_error_last()));
		exit(1);
	}
	return s;
}

/* A loopback port with nothing listening (bound, then closed). */
static inline int itest_closed_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) != 0)
		return -1;
	close(s);
	return ntohs(a.sin_port);
}

#define CHECK_RC(expr, expected) do { \
	int check_rc_ = (expr); \
	if (check_rc_ != (expected)) \
		fprintf(stderr, "%s:%d: %s -> %d (%s: %s), expected %d\n", __FILE__, __LINE__, #expr, \
		        check_rc_, registry_strerror(check_rc_), \
		        registry_error_message(registry_error_last()), (expected)); \
	CHECK_INT(check_rc_, expected); } while (0)

/* @s verifies clean: every blob matches its digest, the index names what it holds. */
static inline void itest_check_sound(registry_store *s)
{
	size_t bad = 99;
	CHECK_RC(registry_store_verify(&bad, s, NULL), 0);
	CHECK_INT(bad, 0);
}

/* Change one byte of the file at @path (at @offset), keeping its size: a
 * damaged blob. */
static inline void itest_flip_byte(const char *path, long offset)
{
	FILE *f = fopen(path, "r+b");
	CHECK(f != NULL);
	if (!f)
		return;
	fseek(f, offset, SEEK_SET);
	int ch = fgetc(f);
	fseek(f, offset, SEEK_SET);
	fputc(ch ^ 0x55, f);
	fclose(f);
}

/* Lines of a JSON-lines log file (the harness's token, proxy and redirect
 * logs) matching a substring (NULL: all); -1 when it cannot be read. */
static inline int itest_count_log_lines(const char *path, const char *needle)
{
	size_t len = 0;
	char *text = check_read_file(path, &len);
	if (!text)
		return -1;
	int n = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		if (!needle || strstr(line, needle))
			n++;
	free(text);
	return n;
}

/* The blob "{}": config and layer of the referrers itest_referrer() makes. */
#define ITEST_EMPTY_DIGEST "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

/* A referrer of @subject: an OCI artifact of type @type whose config and
 * layer are the blob "{}", annotated org.example.who=@who (and a fixed
 * creation time). NULL on failure (no CHECK: callable from threads). */
static inline registry_manifest *itest_referrer(const registry_manifest *subject, const char *type, const char *who)
{
	registry_descriptor_spec empty = REGISTRY_DESCRIPTOR_SPEC_INIT, subj = REGISTRY_DESCRIPTOR_SPEC_INIT;
	empty.media_type = REGISTRY_MEDIA_TYPE_OCI_EMPTY;
	empty.digest = ITEST_EMPTY_DIGEST;
	empty.size = 2;
	subj.media_type = registry_manifest_media_type(subject);
	subj.digest = registry_manifest_digest(subject);
	subj.size = registry_manifest_size(subject);
	registry_manifest_builder *b = NULL;
	registry_manifest *m = NULL;
	int rc = registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_OCI_MANIFEST);
	if (!rc)
		rc = registry_manifest_builder_set_artifact_type(b, type);
	if (!rc)
		rc = registry_manifest_builder_set_config(b, &empty);
	if (!rc)
		rc = registry_manifest_builder_add_layer(b, &empty);
	if (!rc)
		rc = registry_manifest_builder_set_subject(b, &subj);
	if (!rc)
		rc = registry_manifest_builder_set_annotation(b, "org.example.who", who);
	if (!rc)
		rc = registry_manifest_builder_set_annotation(b, "org.opencontainers.image.created",
		                                              "2026-12-06T00:00:00Z");
	if (!rc)
		rc = registry_manifest_builder_build(&m, b);
	registry_manifest_builder_free(b);
	return m;
}

#endif

/*
 * One operation of the public API against the hostile registry
 * (tests/proxy/hostile_registry.py), reported as one JSON line for
 * hostile_test.py to judge:
 *
 *   rel-hostile OP [ARG]
 *     ping | pull | tags | upload | blob-fetch DIGEST SIZE | manifest-fetch REF
 *     upload-chunked (16 KiB chunks) | upload-cancel (the same, cancel hook
 *     set to fire 1.5 s after the start) | pull-all (every platform) |
 *     copy (hostile/app:latest to hostile/copy:latest, a second handle)
 *
 * Environment: HOSTILE_HOST (host:port), HOSTILE_PASSWORD (user "hostile";
 * empty: no credentials), HOSTILE_CA (trust this CA; unset: the system's),
 * HOSTILE_STORE (a store folder, created), HOSTILE_INSECURE (non-empty: an
 * insecure client).
 *
 * Output: {"op", "rc", "error" (registry_strerror), "message", "code" (the
 * record's), "http", "names" (tags), "elapsed_ms", "maxrss_kb" (this
 * process's peak RSS), "fds_before", "fds_after",
 * "verify_rc", "verify_bad"} — the store is verified after every operation,
 * whatever its outcome: a failure must leave nothing half-written in it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <registry/registry.h>

#include "rel_common.h"

/* Options of one upload, inline. */
#define UPLOAD_OPTS(chunk, cb, ud)                                                                     \
	(&(registry_blob_upload_options){.version = REGISTRY_BLOB_UPLOAD_OPTIONS_VERSION, .chunk_size = (chunk), \
	                                 .progress = (cb), .userdata = (ud)})

static int set_ca(registry_client *c, const char *ca)
{
	registry_tls_options tls = REGISTRY_TLS_OPTIONS_INIT;
	tls.ca_file = ca;
	return registry_client_set_tls(c, &tls);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A JSON string for the output (messages may hold any byte). */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* This process's own peak RSS: VmHWM belongs to the process image, while
 * ru_maxrss keeps the parent's peak across fork and exec (a test driver
 * that has read a large log would show its own size). */
static long peak_rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	if (kb < 0) {
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		kb = ru.ru_maxrss;
	}
	return kb;
}

static const unsigned char *upload_data;
static size_t upload_len, upload_pos;

static int64_t upload_read(void *buf, size_t len, void *ud)
{
	(void)ud;
	size_t n = upload_len - upload_pos < len ? upload_len - upload_pos : len;
	memcpy(buf, upload_data + upload_pos, n);
	upload_pos += n;
	return (int64_t)n;
}

static int upload_rewind(void *ud)
{
	(void)ud;
	upload_pos = 0;
	return 0;
}

/* upload-cancel: the cancel hook asks to stop 1.5 s after the operation began. */
static double cancel_at_ms;

static int cancel_later(void *ud)
{
	(void)ud;
	return now_ms() >= cancel_at_ms;
}

static int op_upload(registry_client *c, size_t chunk_size)
{
	static unsigned char data[100 * 1024];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 2654435761u >> 13);
	char *digest = NULL;
	int rc = registry_digest_buffer(&digest, REGISTRY_DIGEST_SHA256, data, sizeof(data));
	if (rc)
		return rc;
	upload_data = data;
	upload_len = sizeof(data);
	rc = registry_blob_upload(c, "hostile/app", digest, (int64_t)sizeof(data), upload_read,
	                          upload_rewind, NULL, UPLOAD_OPTS(chunk_size, NULL, NULL));
	registry_free(digest);
	return rc;
}

static int op_tags(registry_client *c, char *names, size_t size)
{
	registry_list *l = NULL;
	int rc = registry_list_tags_open(&l, c, "hostile/app", NULL);
	const char *name;
	size_t used = 0;
	names[0] = '\0';
	while (!rc && (rc = registry_list_next(&name, l)) == 0 && name) {
		int n = snprintf(names + used, size - used, "%s\"%s\"", used ? "," : "", name);
		if (n > 0 && (size_t)n < size - used)
			used += (size_t)n;
	}
	registry_list_free(l);
	return rc;
}

static int op_pull_all(registry_client *c, const char *host, registry_store *store)
{
	char text[300];
	snprintf(text, sizeof(text), "%s/hostile/app:latest", host);
	registry_reference *ref = NULL;
	int rc = registry_reference_parse(&ref, text);
	registry_pull_options o = REGISTRY_PULL_OPTIONS_INIT;
	o.flags = REGISTRY_PULL_ALL_PLATFORMS;
	if (!rc)
		rc = registry_pull(NULL, c, ref, store, NULL, &o);
	registry_reference_free(ref);
	return rc;
}

/* Copy hostile/app:latest to hostile/copy:latest on the same registry,
 * through a second handle (as registry-copy does). */
static int op_copy(registry_client *c, const char *host, const char *password, const char *ca)
{
	char from[300], to[300];
	snprintf(from, sizeof(from), "%s/hostile/app:latest", host);
	snprintf(to, sizeof(to), "%s/hostile/copy:latest", host);
	registry_reference *src = NULL, *dst = NULL;
	registry_client *target = NULL;
	int rc = registry_reference_parse(&src, from);
	if (!rc)
		rc = registry_reference_parse(&dst, to);
	if (!rc)
		rc = registry_client_new(&target, host);
	if (!rc && ca && *ca)
		rc = set_ca(target, ca);
	if (!rc && password && *password)
		rc = registry_client_set_credentials(target, "hostile", password);
	registry_copy_options co = REGISTRY_COPY_OPTIONS_INIT;
	co.flags = REGISTRY_COPY_ALL_PLATFORMS; /* every manifest of the hostile image */
	if (!rc)
		rc = registry_copy(NULL, c, src, target, dst, &co);
	registry_client_free(target);
	registry_reference_free(src);
	registry_reference_free(dst);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: rel-hostile OP [ARG...]\n");
		return 2;
	}
	const char *op = argv[1];
	const char *host = getenv("HOSTILE_HOST");
	const char *password = getenv("HOSTILE_PASSWORD");
	const char *ca = getenv("HOSTILE_CA");
	const char *store_dir = getenv("HOSTILE_STORE");
	if (!host || !store_dir) {
		fprintf(stderr, "rel-hostile: HOSTILE_HOST and HOSTILE_STORE are needed\n");
		return 2;
	}
	if (registry_global_init() != 0)
		return 2;
	int fds_before = count_fds();
	double t0 = now_ms();

	registry_client *c = NULL;
	registry_store *store = NULL;
	char names[4096] = "";
	int rc = registry_client_new(&c, host);
	if (!rc && ca && *ca)
		rc = set_ca(c, ca);
	if (!rc && password && *password)
		rc = registry_client_set_credentials(c, "hostile", password);
	const char *insecure = getenv("HOSTILE_INSECURE"); /* request path cases (issue 14) */
	if (!rc && insecure && *insecure)
		rc = registry_client_set_insecure(c, REGISTRY_INSECURE_ALLOW_HTTP | REGISTRY_INSECURE_NO_VERIFY);
	const char *resolve = getenv("HOSTILE_RESOLVE"); /* "host:port:address" */
	if (!rc && resolve && *resolve) {
		char name[256], addr[64];
		int port = 0;
		if (sscanf(resolve, "%255[^:]:%d:%63s", name, &port, addr) == 3)
			rc = registry_client_add_resolve(c, name, port, addr);
		else
			rc = REGISTRY_EINVAL;
	}
	if (!rc)
		rc = registry_store_open(&store, store_dir, REGISTRY_STORE_CREATE);
	if (rc) {
		fprintf(stderr, "rel-hostile: setup: %s\n", registry_error_message(registry_error_last()));
		return 2;
	}

	if (strcmp(op, "ping") == 0) {
		rc = registry_client_ping(c);
	} else if (strcmp(op, "pull") == 0) {
		char text[300];
		snprintf(text, sizeof(text), "%s/hostile/app:latest", host);
		registry_reference *ref = NULL;
		rc = registry_reference_parse(&ref, text);
		registry_pull_options o = REGISTRY_PULL_OPTIONS_INIT;
		o.platform = &(registry_platform){REGISTRY_PLATFORM_VERSION, "linux", "amd64", NULL, NULL, NULL};
		if (!rc)
			rc = registry_pull(NULL, c, ref, store, NULL, &o);
		registry_reference_free(ref);
	} else if (strcmp(op, "pull-all") == 0) { /* issue 14: every platform of an index */
		rc = op_pull_all(c, host, store);
	} else if (strcmp(op, "copy") == 0) { /* issue 14: to hostile/copy, a second handle */
		rc = op_copy(c, host, password, ca);
	} else if (strcmp(op, "tags") == 0) {
		rc = op_tags(c, names, sizeof(names));
	} else if (strcmp(op, "upload") == 0) {
		rc = op_upload(c, 0);
	} else if (strcmp(op, "upload-chunked") == 0) { /* issue 14: 16 KiB chunks */
		rc = op_upload(c, 16384);
	} else if (strcmp(op, "upload-cancel") == 0) { /* issue 14: cancel hook after 1.5 s */
		cancel_at_ms = now_ms() + 1500;
		rc = registry_client_set_cancel(c, cancel_later, NULL);
		if (!rc)
			rc = op_upload(c, 16384);
	} else if (strcmp(op, "blob-fetch") == 0 && argc == 4) {
		rc = registry_blob_fetch(c, "hostile/app", argv[2], strtoll(argv[3], NULL, 10), store, NULL);
	} else if (strcmp(op, "delete") == 0 && (argc == 3 || argc == 4)) { /* issue 15: REF [force] */
		registry_manifest_delete_options o = REGISTRY_MANIFEST_DELETE_OPTIONS_INIT;
		o.flags = argc == 4 && strcmp(argv[3], "force") == 0 ? REGISTRY_DELETE_FORCE : 0;
		char *digest = NULL;
		rc = registry_manifest_delete(&digest, c, "hostile/app", argv[2], &o);
		if (digest)
			snprintf(names, sizeof(names), "\"%s\"", digest);
		registry_free(digest);
	} else if (strcmp(op, "manifest-fetch") == 0 && argc == 3) {
		registry_manifest *m = NULL;
		rc = registry_manifest_fetch(&m, c, "hostile/app", argv[2], NULL);
		registry_manifest_free(m);
	} else {
		fprintf(stderr, "rel-hostile: unknown operation %s\n", op);
		return 2;
	}
	/* Keep the failure's record before verify replaces it. */
	const registry_error *e = registry_error_last();
	char message[1024];
	snprintf(message, sizeof(message), "%s", registry_error_message(e));
	int http = registry_error_http_status(e);
	int code = registry_error_code(e);
	double elapsed = now_ms() - t0;

	size_t bad = 0;
	int vrc = registry_store_verify(&bad, store, NULL);
	registry_store_free(store);
	registry_client_free(c);
	int fds_after = count_fds();

	printf("{\"op\": ");
	json_str(op);
	printf(", \"rc\": %d, \"error\": ", rc);
	json_str(rc ? registry_strerror(rc) : "");
	printf(", \"message\": ");
	json_str(rc ? message : "");
	printf(", \"code\": %d", code);
	printf(", \"http\": %d, \"names\": [%s], \"elapsed_ms\": %.0f, \"maxrss_kb\": %ld, "
	       "\"fds_before\": %d, \"fds_after\": %d, \"verify_rc\": %d, \"verify_bad\": %zu}\n",
	       http, names, elapsed, peak_rss_kb(), fds_before, fds_after, vrc, bad);
	return 0;
}

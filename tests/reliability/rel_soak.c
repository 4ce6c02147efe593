/*
 * The fault soak: many operations of the public API through
 * tests/proxy/fault_proxy.py --chaos (a seeded random schedule of resets,
 * truncations, stalls, 5xx/429, flipped bytes, duplicated headers and wrong
 * lengths) in front of a real registry (tests/harness, token auth).
 *
 *   rel-soak [--ops N] [--seed S] [--skopeo-every K]
 *
 * Operations, in a fixed rotation: pulls of a multi-layer image and of one
 * platform of an index into fresh stores and into one long-lived store
 * (where failed pulls leave partial files that later pulls resume), pushes
 * of a layout to a new repository (monolithic or in small chunks), and
 * paged tag lists. After each one:
 *   - success: the output verifies (registry_store_verify; pushes re-read
 *     from the registry without the proxy: manifest digest and every blob;
 *     tag lists equal the registry's); every K operations skopeo copies
 *     what the long-lived store holds (skopeo checks every digest);
 *   - failure: its code is one a fault can cause (network, I/O after the
 *     retries, rate limit, digest, protocol, and for a tag page a cut JSON
 *     body), and the store still verifies (nothing half-written visible);
 *   - no descriptor, thread or child process is left over.
 * Prints the seed, a line per failure and a summary with the faults the
 * proxy injected (read from its log). Exit 1 on any violation.
 *
 * Environment (from the harness and the proxy): REGISTRY_TEST_PROXY_HOST,
 * REGISTRY_TEST_PROXY_LOG, REGISTRY_TEST_HOST, REGISTRY_TEST_USER,
 * REGISTRY_TEST_PASSWORD, REGISTRY_TEST_FIXTURES, REGISTRY_TEST_TMPDIR,
 * REGISTRY_TEST_SKOPEO.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <registry/registry.h>

#include "rel_common.h"

extern char **environ;

static const char *proxy_host, *direct_host, *user, *password, *fixtures, *tmpdir;
static int violations;

#define VIOLATION(...) do { violations++; printf("VIOLATION: " __VA_ARGS__); putchar('\n'); fflush(stdout); } while (0)

static int count_threads(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int n = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static registry_client *client(const char *host, int faulted)
{
	registry_client *c = NULL;
	if (registry_client_new(&c, host) != 0) {
		fprintf(stderr, "client_new(%s): %s\n", host, registry_error_message(registry_error_last()));
		exit(2);
	}
	if (user)
		registry_client_set_credentials(c, user, password);
	if (faulted) {
		/* Short waits: a stall (1 byte/s) ends after 2 s below 1 KiB/s; Retry-After is capped. */
		registry_timeout_options t = REGISTRY_TIMEOUT_OPTIONS_INIT;
		t.connect_ms = 3000;
		t.low_speed_seconds = 2;
		t.low_speed_bytes = 1024;
		registry_client_set_timeouts(c, &t);
		registry_client_set_retries(c, &(registry_retry_options){REGISTRY_RETRY_OPTIONS_VERSION, 0, 4, 10, 100});
	}
	return c;
}

static void rm_rf(const char *path)
{
	char cmd[4300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		VIOLATION("cannot remove %s", path);
}

static int kept_code; /* the record's code when the message was kept */

static void keep_message(char *buf, size_t size)
{
	snprintf(buf, size, "%s", registry_error_message(registry_error_last()));
	kept_code = registry_error_code(registry_error_last());
}

static int verify_store(registry_store *s, const char *what)
{
	size_t bad = 0;
	int rc = registry_store_verify(&bad, s, NULL);
	if (rc || bad)
		VIOLATION("%s: store verify rc %d, %zu problems: %s", what, rc, bad,
		          registry_error_message(registry_error_last()));
	return rc;
}

/* ---- operations ---------------------------------------------------------- */

static int op_pull(registry_client *c, registry_store *s, const char *repo, const char *platform,
                   const char *ref_name)
{
	char text[400];
	snprintf(text, sizeof(text), "%s/%s:latest", proxy_host, repo);
	registry_reference *ref = NULL;
	int rc = registry_reference_parse(&ref, text);
	registry_pull_options o = REGISTRY_PULL_OPTIONS_INIT;
	registry_platform *p = NULL;
	if (!rc && platform)
		rc = registry_platform_parse(&p, platform);
	o.platform = p;
	char *digest = NULL;
	if (!rc)
		rc = registry_pull(&digest, c, ref, s, ref_name, &o);
	if (!rc) {
		const registry_descriptor *d = NULL;
		if (registry_store_index_find(&d, s, ref_name) != 0 ||
		    strcmp(registry_descriptor_digest(d), digest) != 0)
			VIOLATION("pull %s: index entry %s missing or not %s", repo, ref_name, digest);
	}
	registry_free(digest);
	registry_platform_free(p);
	registry_reference_free(ref);
	return rc;
}

/* A push, checked without the proxy: the tag resolves to the digest pushed
 * and every blob of the manifest is there with its size. */
static int op_push(registry_client *c, registry_store *src, int i, int chunked)
{
	char repo[64], text[400];
	snprintf(repo, sizeof(repo), "soak/p%d", i);
	snprintf(text, sizeof(text), "%s/%s:v%d", proxy_host, repo, i);
	registry_reference *target = NULL;
	int rc = registry_reference_parse(&target, text);
	registry_push_options o = REGISTRY_PUSH_OPTIONS_INIT;
	o.chunk_size = chunked ? 16 * 1024 : 0;
	char *digest = NULL;
	if (!rc)
		rc = registry_push(&digest, c, src, "latest", target, &o);
	registry_reference_free(target);
	if (rc)
		return rc;
	registry_client *d = client(direct_host, 0);
	char tag[32];
	snprintf(tag, sizeof(tag), "v%d", i);
	registry_manifest *m = NULL;
	int vrc = registry_manifest_fetch(&m, d, repo, tag, NULL);
	if (vrc || strcmp(registry_manifest_digest(m), digest) != 0) {
		VIOLATION("push %s:%s: registry has %s (rc %d), push said %s", repo, tag,
		          vrc ? "nothing" : registry_manifest_digest(m), vrc, digest);
	} else {
		const registry_descriptor *cfg = registry_manifest_config(m);
		for (size_t k = 0; k <= registry_manifest_layer_count(m); k++) {
			const registry_descriptor *b = k < registry_manifest_layer_count(m) ? registry_manifest_layer(m, k) : cfg;
			int64_t size = -1;
			if (!b)
				continue;
			if (registry_blob_head(&size, d, repo, registry_descriptor_digest(b)) != 0 ||
			    size != registry_descriptor_size(b))
				VIOLATION("push %s: blob %s missing or wrong size", repo, registry_descriptor_digest(b));
		}
	}
	registry_manifest_free(m);
	registry_client_free(d);
	registry_free(digest);
	return 0;
}

static int list_tags(registry_client *c, const char *repo, int page, char *out, size_t size)
{
	registry_list *l = NULL;
	registry_list_options lo = REGISTRY_LIST_OPTIONS_INIT;
	lo.page_size = (unsigned int)page;
	int rc = registry_list_tags_open(&l, c, repo, &lo);
	const char *name;
	size_t used = 0;
	out[0] = '\0';
	while (!rc && (rc = registry_list_next(&name, l)) == 0 && name) {
		int n = snprintf(out + used, size - used, "%s,", name);
		if (n > 0 && (size_t)n < size - used)
			used += (size_t)n;
	}
	registry_list_free(l);
	return rc;
}

static char expected_tags[4096];

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "b,a,c," -> "a,b,c," (the registry lists in storage order; pages sort). */
static void sort_list(char *list)
{
	char copy[4096], *names[512];
	size_t n = 0;
	snprintf(copy, sizeof(copy), "%s", list);
	for (char *save = NULL, *t = strtok_r(copy, ",", &save); t && n < 512; t = strtok_r(NULL, ",", &save))
		names[n++] = t;
	qsort(names, n, sizeof(names[0]), cmp_str);
	size_t used = 0;
	list[0] = '\0';
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(list + used, 4096 - used, "%s,", names[i]);
}

static int op_tags(registry_client *c)
{
	char got[4096];
	int rc = list_tags(c, "soak/tags", 3, got, sizeof(got));
	if (!rc) {
		/* Each tag once: a page repeated or skipped under faults shows here. */
		sort_list(got);
		if (strcmp(got, expected_tags) != 0)
			VIOLATION("tags: got [%s], the registry has [%s]", got, expected_tags);
	}
	return rc;
}

/* skopeo reads a layout and checks every digest on the way. */
static int skopeo_reads(const char *store, const char *ref_name)
{
	const char *cmd = getenv("REGISTRY_TEST_SKOPEO");
	if (!cmd)
		return 0;
	char buf[2048], src[4200], dst[4200];
	snprintf(buf, sizeof(buf), "%s", cmd);
	snprintf(src, sizeof(src), "oci:%s:%s", store, ref_name);
	snprintf(dst, sizeof(dst), "dir:%s/skopeo-out", tmpdir);
	rm_rf(dst + 4);
	char *argv[64];
	int argc = 0;
	for (char *save = NULL, *t = strtok_r(buf, " ", &save); t && argc < 58; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc++] = "copy";
	argv[argc++] = "--quiet";
	argv[argc++] = src;
	argv[argc++] = dst;
	argv[argc] = NULL;
	pid_t pid;
	if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		return -1;
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	rm_rf(dst + 4);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* ---- the run --------------------------------------------------------------- */

static int expected_failure(int rc, int kind)
{
	switch (rc) {
	case REGISTRY_ENETWORK: /* resets past the retries */
	case REGISTRY_ETIMEDOUT: /* stalls past the retries */
	case REGISTRY_ESERVER:  /* 5xx past the retries */
	case REGISTRY_ERATELIMIT:
	case REGISTRY_EDIGEST:  /* flipped bytes, short bodies */
	case REGISTRY_EPROTOCOL:
		return 1;
	case REGISTRY_EFORMAT: /* a tag page cut short is not JSON */
		return kind == 'T';
	default:
		return 0;
	}
}

static void count_faults(void)
{
	const char *path = getenv("REGISTRY_TEST_PROXY_LOG");
	FILE *f = path ? fopen(path, "r") : NULL;
	if (!f)
		return;
	static const char *const names[] = {"reset", "truncate", "stall", "500", "502", "503 ", "503-retry-after",
	                                    "429 ", "429-retry-after", "flip", "dup-headers", "length-long",
	                                    "length-short"};
	long counts[sizeof(names) / sizeof(names[0])] = {0}, requests = 0, faults = 0;
	char line[65536];
	while (fgets(line, sizeof(line), f)) {
		requests++;
		char *p = strstr(line, "\"fault\": \"");
		if (!p)
			continue;
		faults++;
		p += 10;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			size_t n = strlen(names[i]);
			const char *want = names[i];
			if (want[n - 1] == ' ')
				n--; /* "503 " means exactly 503 (maybe " before"), not 503-retry-after */
			if (strncmp(p, want, n) == 0 && (p[n] == '"' || p[n] == ' ')) {
				counts[i]++;
				break;
			}
		}
	}
	fclose(f);
	printf("soak: %ld requests through the proxy, %ld faults injected:", requests, faults);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		printf(" %.*s=%ld", (int)strcspn(names[i], " "), names[i], counts[i]);
	printf("\n");
}

/*
 * --stall-test: the proxy (--stall 1 --match blobs) stalls the first blob
 * GET after half its body. The low-speed timeout must end that transfer and
 * the retry must resume it with a Range request: the pull succeeds, soon.
 */
static int stall(registry_store *src)
{
	(void)src;
	char store_path[1200];
	snprintf(store_path, sizeof(store_path), "%s/stall-store", tmpdir);
	registry_store *s = NULL;
	if (registry_store_open(&s, store_path, REGISTRY_STORE_CREATE) != 0)
		return 2;
	registry_client *c = client(proxy_host, 1);
	double t0 = now_s();
	int rc = op_pull(c, s, "fixtures/small-v2s2", NULL, "img");
	double took = now_s() - t0;
	registry_client_free(c);
	printf("stall: pull rc %d (%s) in %.1f s\n", rc, rc ? registry_error_message(registry_error_last()) : "ok", took);
	if (rc)
		VIOLATION("the stalled pull failed: %s", registry_strerror(rc));
	if (took > 20)
		VIOLATION("the stalled pull took %.1f s", took);
	verify_store(s, "stall store");
	registry_store_free(s);
	/* The proxy's log: a stall, then the same blob asked for again with Range. */
	const char *log = getenv("REGISTRY_TEST_PROXY_LOG");
	FILE *f = log ? fopen(log, "r") : NULL;
	char line[65536], stalled[300] = "";
	int resumed = 0;
	/* Two passes: the stalled answer is logged when it ends, maybe after the retry. */
	for (int pass = 0; f && pass < 2; pass++) {
		rewind(f);
		while (fgets(line, sizeof(line), f)) {
			char *p = strstr(line, "\"path\": \"");
			if (!p)
				continue;
			p += 9;
			size_t n = strcspn(p, "\"");
			if (pass == 0 && strstr(line, "\"fault\": \"stall") && n < sizeof(stalled)) {
				memcpy(stalled, p, n);
				stalled[n] = '\0';
			} else if (pass == 1 && *stalled && strncmp(p, stalled, strlen(stalled)) == 0 &&
			           strstr(line, "\"Range\": \"bytes=") && !strstr(line, "bytes=0-")) {
				resumed = 1;
			}
		}
	}
	if (f)
		fclose(f);
	printf("stall: stalled %s, resumed with Range: %s\n", *stalled ? stalled : "(nothing)", resumed ? "yes" : "no");
	if (!*stalled || !resumed)
		VIOLATION("no stall, or no resume with a Range request after it");
	return violations ? 1 : 0;
}

int main(int argc, char **argv)
{
	long ops = 500, seed = 0, skopeo_every = 25;
	int stall_test = argc > 1 && strcmp(argv[1], "--stall-test") == 0;
	for (int i = 1 + stall_test; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--ops") == 0)
			ops = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--seed") == 0)
			seed = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--skopeo-every") == 0)
			skopeo_every = strtol(argv[i + 1], NULL, 10);
	}
	proxy_host = getenv("REGISTRY_TEST_PROXY_HOST");
	direct_host = getenv("REGISTRY_TEST_HOST");
	user = getenv("REGISTRY_TEST_USER");
	password = getenv("REGISTRY_TEST_PASSWORD");
	fixtures = getenv("REGISTRY_TEST_FIXTURES");
	tmpdir = getenv("REGISTRY_TEST_TMPDIR");
	if (!proxy_host || !direct_host || !fixtures || !tmpdir) {
		printf("SKIP: run through tests/reliability/soak.py (harness + fault_proxy --chaos)\n");
		return 77;
	}
	printf("soak: seed %ld, %ld operations through %s (registry %s)\n", seed, ops, proxy_host, direct_host);
	fflush(stdout);

	char path[1200];
	snprintf(path, sizeof(path), "%s/small", fixtures);
	registry_store *src = NULL;
	if (registry_store_open(&src, path, 0) != 0) {
		fprintf(stderr, "setup: %s: %s\n", path, registry_error_message(registry_error_last()));
		return 2;
	}
	if (stall_test)
		return stall(src);

	/* Ten tags to page through, pushed and then listed without the proxy. */
	registry_client *d = client(direct_host, 0);
	for (int t = 0; t < 10; t++) {
		char text[400];
		snprintf(text, sizeof(text), "%s/soak/tags:t%d", direct_host, t);
		registry_reference *ref = NULL;
		if (registry_reference_parse(&ref, text) != 0 || registry_push(NULL, d, src, "latest", ref, NULL) != 0) {
			fprintf(stderr, "setup: push %s: %s\n", text, registry_error_message(registry_error_last()));
			return 2;
		}
		registry_reference_free(ref);
	}
	if (list_tags(d, "soak/tags", 0, expected_tags, sizeof(expected_tags)) != 0 || !*expected_tags) {
		fprintf(stderr, "setup: listing soak/tags: %s\n", registry_error_message(registry_error_last()));
		return 2;
	}
	sort_list(expected_tags);
	registry_client_free(d);
	char shared_path[1200];
	snprintf(shared_path, sizeof(shared_path), "%s/shared-store", tmpdir);
	registry_store *shared = NULL;
	if (registry_store_open(&shared, shared_path, REGISTRY_STORE_CREATE) != 0)
		return 2;

	long faulted_ops = 0;
	FILE *plog = getenv("REGISTRY_TEST_PROXY_LOG") ? fopen(getenv("REGISTRY_TEST_PROXY_LOG"), "r") : NULL;
	int fds = count_fds(), threads = count_threads();
	long ok = 0, failed = 0, by_code[20] = {0}, skopeo_runs = 0, shared_pulled = 0;
	double t0 = now_s();
	for (long i = 0; i < ops; i++) {
		static const char kinds[] = "PSpMTSPuTmS"; /* P pull fresh, S pull shared, M/m multi, p/u push, T tags */
		char kind = kinds[i % (sizeof(kinds) - 1)];
		registry_client *c = client(proxy_host, 1);
		double op_t0 = now_s();
		registry_store *fresh = NULL;
		char fresh_path[1300], msg[1024] = "";
		int rc = 0;
		switch (kind) {
		case 'P':
		case 'M':
			snprintf(fresh_path, sizeof(fresh_path), "%s/store-%ld", tmpdir, i);
			if (registry_store_open(&fresh, fresh_path, REGISTRY_STORE_CREATE) != 0)
				return 2;
			rc = kind == 'P' ? op_pull(c, fresh, "fixtures/small-v2s2", NULL, "img")
			                 : op_pull(c, fresh, "fixtures/multi-oci", "linux/arm64/v8", "img");
			keep_message(msg, sizeof(msg));
			verify_store(fresh, "fresh store");
			registry_store_free(fresh);
			rm_rf(fresh_path);
			break;
		case 'S':
		case 'm':
			rc = kind == 'S' ? op_pull(c, shared, "fixtures/small-v2s2", NULL, "small")
			                 : op_pull(c, shared, "fixtures/multi-oci", "linux/amd64", "multi");
			shared_pulled |= !rc && kind == 'S';
			keep_message(msg, sizeof(msg));
			verify_store(shared, "shared store");
			break;
		case 'p':
		case 'u':
			rc = op_push(c, src, (int)i, kind == 'u');
			break;
		case 'T':
			rc = op_tags(c);
			break;
		}
		if (!*msg)
			keep_message(msg, sizeof(msg));
		registry_client_free(c);
		double op_took = now_s() - op_t0;
		/* The proxy's log lines since the last operation: did this one meet a fault? */
		int met = 0;
		char pline[65536];
		while (plog && fgets(pline, sizeof(pline), plog))
			met |= strstr(pline, "\"fault\": \"") != NULL;
		if (plog)
			clearerr(plog);
		faulted_ops += met;
		if (op_took > 2.5)
			printf("op %ld %c: slow, %.1f s (%s)\n", i, kind, op_took, rc ? registry_strerror(rc) : "ok");
		if (rc == 0) {
			ok++;
		} else {
			failed++;
			by_code[-rc < 20 ? -rc : 0]++;
			printf("op %ld %c: %s (%s)\n", i, kind, registry_strerror(rc), msg);
			if (!expected_failure(rc, kind))
				VIOLATION("op %ld %c: unexpected code %d %s: %s", i, kind, rc, registry_strerror(rc), msg);
			/* Errors (issue 14): the record says what failed. */
			if (kept_code != rc || !*msg)
				VIOLATION("op %ld %c: returned %d, the error record holds %d '%s'", i, kind, rc,
				          kept_code, msg);
		}
		int f = count_fds(), t = count_threads();
		if (f != fds || t != threads)
			VIOLATION("op %ld %c: %d descriptors (was %d), %d threads (was %d)", i, kind, f, fds, t, threads);
		fds = f;
		threads = t;
		if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD)
			VIOLATION("op %ld: a child process is left", i);
		if (skopeo_every > 0 && i % skopeo_every == skopeo_every - 1 && shared_pulled) {
			skopeo_runs++;
			int s = skopeo_reads(shared_path, "small");
			if (s != 0)
				VIOLATION("op %ld: skopeo cannot read the shared store (exit %d)", i, s);
		}
		if (i % 50 == 49) {
			printf("soak: %ld operations, %ld ok, %ld failed, %.0f s\n", i + 1, ok, failed, now_s() - t0);
			fflush(stdout);
		}
	}
	if (plog)
		fclose(plog);
	registry_store_free(shared);
	registry_store_free(src);
	if (count_fds() >= fds)
		VIOLATION("descriptors: the stores' did not close");
	count_faults();
	printf("soak: seed %ld: %ld operations in %.0f s: %ld succeeded, %ld failed (", seed, ops, now_s() - t0, ok,
	       failed);
	for (int k = 1; k < 20; k++)
		if (by_code[k])
			printf(" %s=%ld", registry_strerror(-k), by_code[k]);
	printf(" ); %ld operations met at least one fault; %ld skopeo reads; %d violations\n", faulted_ops,
	       skopeo_runs, violations);
	return violations ? 1 : 0;
}

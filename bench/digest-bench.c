/*
 * digest-bench: sha256 throughput of the digest backends, in MB/s.
 *
 *   libsodium      crypto_hash_sha256 (the reference backend's code)
 *   openssl        EVP sha256 of libcrypto (the accelerated backend's code)
 *   libregistry    registry_digest_update(), the library's active backend
 *
 * Each is fed the same 4 MiB buffer in pieces of CHUNK bytes (the size a
 * transfer callback sees) for about SECONDS seconds in all, in three
 * interleaved rounds; the best round is printed as one Markdown table row
 * per backend, after checking that all three computed the same digest. bench/run
 * builds it with cc against the build tree; it is not part of any test.
 *
 * usage: digest-bench [SECONDS [CHUNK]]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <sodium.h>

#include <registry/registry.h>

/* Cache-sized, as the bytes of a transfer callback are: just received. */
enum { BUF_SIZE = 4 << 20 };

typedef struct ctx {
	crypto_hash_sha256_state sodium;
	EVP_MD_CTX *evp;
	registry_digest *lib;
	char hex[160];
} ctx;

typedef int (*hash_fn)(ctx *c, const unsigned char *buf, size_t len, size_t chunk);

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_sodium(ctx *c, const unsigned char *buf, size_t len, size_t chunk)
{
	unsigned char md[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_init(&c->sodium);
	for (size_t off = 0; off < len; off += chunk)
		crypto_hash_sha256_update(&c->sodium, buf + off, len - off < chunk ? len - off : chunk);
	crypto_hash_sha256_final(&c->sodium, md);
	sodium_bin2hex(c->hex, sizeof(c->hex), md, sizeof(md));
	return 0;
}

static int run_openssl(ctx *c, const unsigned char *buf, size_t len, size_t chunk)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (EVP_DigestInit_ex(c->evp, EVP_sha256(), NULL) != 1)
		return -1;
	for (size_t off = 0; off < len; off += chunk)
		if (EVP_DigestUpdate(c->evp, buf + off, len - off < chunk ? len - off : chunk) != 1)
			return -1;
	if (EVP_DigestFinal_ex(c->evp, md, &n) != 1)
		return -1;
	sodium_bin2hex(c->hex, sizeof(c->hex), md, n);
	return 0;
}

static int run_libregistry(ctx *c, const unsigned char *buf, size_t len, size_t chunk)
{
	char *out = NULL;
	if (registry_digest_new(&c->lib, REGISTRY_DIGEST_SHA256) != 0)
		return -1;
	int rc = 0;
	for (size_t off = 0; !rc && off < len; off += chunk)
		rc = registry_digest_update(c->lib, buf + off, len - off < chunk ? len - off : chunk);
	if (!rc)
		rc = registry_digest_final(&out, c->lib);
	registry_digest_free(c->lib);
	c->lib = NULL;
	if (!rc)
		snprintf(c->hex, sizeof(c->hex), "%s", out + strlen("sha256:"));
	registry_free(out);
	return rc;
}

/* MB/s (10^6 bytes) of one round of about @seconds. */
static double measure(hash_fn fn, ctx *c, const unsigned char *buf, size_t chunk, double seconds)
{
	double start = now_s(), t;
	size_t bytes = 0;
	do {
		if (fn(c, buf, BUF_SIZE, chunk) != 0)
			return -1;
		bytes += BUF_SIZE;
		t = now_s() - start;
	} while (t < seconds);
	return (double)bytes / t / 1e6;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 1.0;
	size_t chunk = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 256 * 1024;
	if (seconds <= 0 || chunk == 0) {
		fprintf(stderr, "usage: digest-bench [SECONDS [CHUNK]]\n");
		return 2;
	}
	if (sodium_init() < 0 || registry_global_init() != 0) {
		fprintf(stderr, "digest-bench: library initialisation failed\n");
		return 1;
	}
	unsigned char *buf = malloc(BUF_SIZE);
	ctx c = {.evp = EVP_MD_CTX_new()};
	if (!buf || !c.evp) {
		fprintf(stderr, "digest-bench: out of memory\n");
		return 1;
	}
	randombytes_buf(buf, BUF_SIZE);

	const struct {
		const char *name;
		hash_fn fn;
	} backends[] = {{"libsodium", run_sodium}, {"openssl", run_openssl}, {"libregistry", run_libregistry}};
	enum { NB = sizeof(backends) / sizeof(backends[0]), ROUNDS = 3 };
	double best[NB] = {0};
	char first[160] = "";
	int rc = 0;
	/* Rounds interleave the backends, so that a change in the machine's
	 * load hits them alike; the best round of each counts. */
	for (int round = 0; round < ROUNDS && !rc; round++) {
		for (size_t i = 0; i < NB; i++) {
			double mbs = measure(backends[i].fn, &c, buf, chunk, seconds / ROUNDS);
			if (mbs < 0) {
				fprintf(stderr, "digest-bench: %s failed\n", backends[i].name);
				rc = 1;
				break;
			}
			/* Every backend must agree on the digest of the buffer. */
			if (!first[0]) {
				memcpy(first, c.hex, sizeof(first));
			} else if (strcmp(first, c.hex) != 0) {
				fprintf(stderr, "digest-bench: %s gives another digest\n", backends[i].name);
				rc = 1;
			}
			if (mbs > best[i])
				best[i] = mbs;
		}
	}
	printf("| backend | sha256 MB/s | chunk bytes |\n| --- | ---: | ---: |\n");
	for (size_t i = 0; i < NB && !rc; i++) {
		if (strcmp(backends[i].name, "libregistry") == 0)
			printf("| libregistry (%s) | %.0f | %zu |\n", registry_digest_backend(), best[i], chunk);
		else
			printf("| %s | %.0f | %zu |\n", backends[i].name, best[i], chunk);
	}
	EVP_MD_CTX_free(c.evp);
	free(buf);
	return rc;
}

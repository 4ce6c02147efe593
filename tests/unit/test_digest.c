/*
 * Digests: known vectors, both backends agreeing (up to 1 GiB streamed in
 * odd chunk sizes), validation and comparison tables, buffer sizes, reuse.
 * Expected values of the generated stream were computed independently with
 * Python's hashlib.
 */
#include <pthread.h>
#include <time.h>

#include "check.h"
#include "digest/hash.h"
#include "internal.h"

#define SHA256_EMPTY "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA256_ABC "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA512_EMPTY "sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce" \
	"47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
#define SHA512_ABC "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" \
	"2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* The test stream: byte i is pattern[i % PATTERN_LEN], pattern from xorshift32. */
#define PATTERN_LEN 1048573u /* a prime, so chunks never line up with it */
#define MAX_CHUNK 65537u
static unsigned char *pattern; /* PATTERN_LEN + MAX_CHUNK bytes, wrapped */

static const size_t chunk_sizes[] = { 7, 4093, 65537 };

struct expected {
	size_t len;
	const char *sha256, *sha512;
};

static const struct expected stream_vectors[] = {
	{ 0, SHA256_EMPTY, SHA512_EMPTY },
	{ 1, "sha256:4ae81572f06e1b88fd5ced7a1a000945432e83e1551e6f721ee9c00b8cc33260",
	  "sha512:2ddcd5fd66f62c38135603defc728493bc9012c9ea6abc8a9823165792136513"
	  "b2c53722d2a79c0d6ea31467308bbb49eb217d151d79baf4b2085f487d0abfae" },
	{ 64, "sha256:b4e2f16eaed164610f6e30a6e2b33fcffa971ba0e00dbeb8641607157b3ba9c2",
	  "sha512:25445a4f5cf404ebe3166bc050e4d065f582b78e6d47b56e1551ea964905bd95"
	  "6765e85f9911f354cf35c76cd183f9a6e878fe1d86737d7a65038224c2a38fc4" },
	{ 1u << 20, "sha256:7d4c024b9fa7f9bb69b7359ba8b82573120ae8274fd93a708184d7ccba3ac8fc",
	  "sha512:382bdb97375440d160787297c32c97371f5148935a830a8b3574b942b82954ef"
	  "430fcb8fade8cab3bb2d6208ba1559a3a33a80d403a550916331e39442e34440" },
};

static const struct expected one_gib = {
	(size_t)1 << 30, "sha256:fadafdf6cd781fc847d2928a07c06aba66c1a9acf100a01755890d77f949ea67",
	"sha512:b2c6779227a420e0045646f3757d35dc614a3bd6c20075bfd13031d91a42d3c0"
	"9357a24032f9079ddda646e8d1c825ef072a8047487ad3b1f924d13da40e5cf1",
};

static void make_pattern(void)
{
	pattern = malloc(PATTERN_LEN + MAX_CHUNK);
	if (!pattern)
		abort();
	uint32_t st = 0x9E3779B9u;
	for (size_t i = 0; i < PATTERN_LEN; i++) {
		st ^= st << 13;
		st ^= st >> 17;
		st ^= st << 5;
		pattern[i] = (unsigned char)(st >> 24);
	}
	memcpy(pattern + PATTERN_LEN, pattern, MAX_CHUNK);
}

static int backends[2];
static size_t n_backends;

static void list_backends(void)
{
	backends[n_backends++] = REGISTRY__BACKEND_SODIUM;
	if (registry__hash_backend_available(REGISTRY__BACKEND_OPENSSL))
		backends[n_backends++] = REGISTRY__BACKEND_OPENSSL;
}

/* Stream @len bytes of the pattern into sha256 and sha512 hashers of @backend. */
static int hash_stream(int backend, size_t len, char out256[REGISTRY_DIGEST_STRING_MAX],
                       char out512[REGISTRY_DIGEST_STRING_MAX])
{
	registry__hash h256, h512;
	int rc = registry__hash_init_backend(&h256, REGISTRY_DIGEST_SHA256, backend);
	if (rc)
		return rc;
	if ((rc = registry__hash_init_backend(&h512, REGISTRY_DIGEST_SHA512, backend))) {
		registry__hash_cleanup(&h256);
		return rc;
	}
	size_t pos = 0, k = 0;
	while (!rc && pos < len) {
		size_t n = chunk_sizes[k++ % REGISTRY_ARRAY_LEN(chunk_sizes)];
		if (n > len - pos)
			n = len - pos;
		const unsigned char *p = pattern + pos % PATTERN_LEN;
		rc = registry__hash_update(&h256, p, n);
		if (!rc)
			rc = registry__hash_update(&h512, p, n);
		pos += n;
	}
	if (!rc)
		rc = registry__hash_final(&h256, out256);
	if (!rc)
		rc = registry__hash_final(&h512, out512);
	registry__hash_cleanup(&h256);
	registry__hash_cleanup(&h512);
	return rc;
}

/* The one-shot public call: an allocated string, freed with registry_free(). */
static void check_buffer(int algorithm, const void *data, size_t len, const char *want)
{
	char *got = NULL;
	CHECK_INT(registry_digest_buffer(&got, algorithm, data, len), 0);
	CHECK_STR(got, want);
	registry_free(got);
}

static void test_known_vectors(void)
{
	char out[REGISTRY_DIGEST_STRING_MAX];
	check_buffer(REGISTRY_DIGEST_DEFAULT, "", 0, SHA256_EMPTY);
	check_buffer(REGISTRY_DIGEST_SHA256, "abc", 3, SHA256_ABC);
	check_buffer(REGISTRY_DIGEST_SHA512, "", 0, SHA512_EMPTY);
	check_buffer(REGISTRY_DIGEST_SHA512, "abc", 3, SHA512_ABC);
	/* NULL data is fine when empty. */
	check_buffer(REGISTRY_DIGEST_SHA256, NULL, 0, SHA256_EMPTY);

	for (size_t b = 0; b < n_backends; b++) {
		registry__hash h;
		CHECK_INT(registry__hash_init_backend(&h, REGISTRY_DIGEST_SHA256, backends[b]), 0);
		CHECK_INT(h.backend, backends[b]);
		CHECK_INT(registry__hash_update(&h, "a", 1), 0);
		CHECK_INT(registry__hash_update(&h, "bc", 2), 0);
		CHECK_INT(registry__hash_final(&h, out), 0);
		CHECK_STR(out, SHA256_ABC);
		registry__hash_cleanup(&h);
		CHECK_INT(registry__hash_init_backend(&h, REGISTRY_DIGEST_SHA512, backends[b]), 0);
		CHECK_INT(registry__hash_update(&h, "abc", 3), 0);
		CHECK_INT(registry__hash_final(&h, out), 0);
		CHECK_STR(out, SHA512_ABC);
		registry__hash_cleanup(&h);
		registry__hash_cleanup(&h); /* twice is safe */
	}
}

static void test_backends_agree(void)
{
	for (size_t v = 0; v < REGISTRY_ARRAY_LEN(stream_vectors); v++) {
		const struct expected *e = &stream_vectors[v];
		for (size_t b = 0; b < n_backends; b++) {
			char d256[REGISTRY_DIGEST_STRING_MAX] = "", d512[REGISTRY_DIGEST_STRING_MAX] = "";
			CHECK_INT(hash_stream(backends[b], e->len, d256, d512), 0);
			CHECK_STR(d256, e->sha256);
			CHECK_STR(d512, e->sha512);
		}
		/* The public one-shot call on the default backend, for the same bytes. */
		check_buffer(REGISTRY_DIGEST_SHA256, pattern, e->len, e->sha256);
		check_buffer(REGISTRY_DIGEST_SHA512, pattern, e->len, e->sha512);
	}
}

struct gib_job {
	int backend;
	int rc;
	double seconds;
	char d256[REGISTRY_DIGEST_STRING_MAX], d512[REGISTRY_DIGEST_STRING_MAX];
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *gib_thread(void *arg)
{
	struct gib_job *job = arg;
	double t = now();
	job->rc = hash_stream(job->backend, one_gib.len, job->d256, job->d512);
	job->seconds = now() - t;
	return NULL;
}

/* 1 GiB through each backend, both algorithms, the backends in parallel threads. */
static void test_one_gib(void)
{
	if (getenv("REGISTRY_TEST_UNDER_VALGRIND")) {
		printf("skipped: 1 GiB streaming case (REGISTRY_TEST_UNDER_VALGRIND is set)\n");
		return;
	}
	struct gib_job jobs[2];
	pthread_t threads[2];
	for (size_t b = 0; b < n_backends; b++) {
		memset(&jobs[b], 0, sizeof(jobs[b]));
		jobs[b].backend = backends[b];
		CHECK_INT(pthread_create(&threads[b], NULL, gib_thread, &jobs[b]), 0);
	}
	for (size_t b = 0; b < n_backends; b++) {
		pthread_join(threads[b], NULL);
		CHECK_INT(jobs[b].rc, 0);
		CHECK_STR(jobs[b].d256, one_gib.sha256);
		CHECK_STR(jobs[b].d512, one_gib.sha512);
		printf("     1 GiB sha256+sha512 on %s: %.1f s\n",
		       jobs[b].backend == REGISTRY__BACKEND_SODIUM ? "libsodium" : "openssl", jobs[b].seconds);
	}
	if (n_backends < 2)
		printf("     (OpenSSL backend not built: libsodium only)\n");
}

static void test_streaming_public(void)
{
	registry_digest *d = NULL;
	char *out = NULL;
	CHECK_INT(registry_digest_new(&d, REGISTRY_DIGEST_DEFAULT), 0);
	CHECK(d != NULL);
	for (size_t pos = 0, k = 0; pos < stream_vectors[3].len;) {
		size_t n = chunk_sizes[k++ % REGISTRY_ARRAY_LEN(chunk_sizes)];
		if (n > stream_vectors[3].len - pos)
			n = stream_vectors[3].len - pos;
		CHECK_INT(registry_digest_update(d, pattern + pos, n), 0);
		pos += n;
	}
	CHECK_INT(registry_digest_final(&out, d), 0);
	CHECK_STR(out, stream_vectors[3].sha256);
	registry_free(out);
	registry_digest_free(d);
}

/* 0.2: final and buffer return allocated strings, long enough for any
 * algorithm; the hasher still resets after final. */
static void test_final_allocates(void)
{
	registry_digest *d = NULL;
	char *out = NULL;
	CHECK_INT(REGISTRY_DIGEST_STRING_MAX, strlen(SHA512_ABC) + 1);

	CHECK_INT(registry_digest_new(&d, REGISTRY_DIGEST_SHA512), 0);
	CHECK_INT(registry_digest_update(d, "abc", 3), 0);
	CHECK_INT(registry_digest_final(&out, d), 0);
	CHECK_STR(out, SHA512_ABC);
	CHECK_INT(strlen(out), REGISTRY_DIGEST_STRING_MAX - 1);
	registry_free(out);
	registry_digest_free(d);

	out = (char *)&out;
	CHECK_INT(registry_digest_buffer(&out, 7, "abc", 3), REGISTRY_EINVAL);
	CHECK(out == NULL); /* reset on failure */
	CHECK_INT(registry_digest_buffer(NULL, REGISTRY_DIGEST_SHA256, "abc", 3), REGISTRY_EINVAL);
	CHECK_INT(registry_digest_buffer(&out, REGISTRY_DIGEST_SHA256, NULL, 3), REGISTRY_EINVAL);
	CHECK(out == NULL);
}

static void test_reuse_after_final(void)
{
	registry_digest *d = NULL;
	char out[REGISTRY_DIGEST_STRING_MAX];
	CHECK_INT(registry_digest_new(&d, REGISTRY_DIGEST_SHA256), 0);
	CHECK_INT(registry_digest_update(d, "abc", 3), 0);
	static const char *const want[] = {SHA256_ABC, SHA256_EMPTY, SHA256_ABC};
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(want); i++) {
		if (i == 2) {
			CHECK_INT(registry_digest_update(d, "ab", 2), 0);
			CHECK_INT(registry_digest_update(d, "c", 1), 0);
		}
		char *got = NULL;
		CHECK_INT(registry_digest_final(&got, d), 0);
		CHECK_STR(got, want[i]);
		registry_free(got);
	}
	registry_digest_free(d);

	for (size_t b = 0; b < n_backends; b++) {
		registry__hash h;
		CHECK_INT(registry__hash_init_backend(&h, REGISTRY_DIGEST_SHA512, backends[b]), 0);
		for (int round = 0; round < 3; round++) {
			CHECK_INT(registry__hash_update(&h, "abc", 3), 0);
			CHECK_INT(registry__hash_final(&h, out), 0);
			CHECK_STR(out, SHA512_ABC);
		}
		CHECK_INT(registry__hash_final(&h, out), 0);
		CHECK_STR(out, SHA512_EMPTY);
		registry__hash_cleanup(&h);
	}
}

static void test_bad_arguments(void)
{
	registry_digest *d = (registry_digest *)&d;
	char *out = NULL;
	CHECK_INT(registry_digest_new(NULL, 0), REGISTRY_EINVAL);
	CHECK_INT(registry_digest_new(&d, 3), REGISTRY_EINVAL);
	CHECK(d == NULL);
	CHECK_INT(registry_digest_new(&d, -1), REGISTRY_EINVAL);
	CHECK_INT(registry_digest_update(NULL, "a", 1), REGISTRY_EINVAL);
	CHECK_INT(registry_digest_final(&out, NULL), REGISTRY_EINVAL);
	CHECK(out == NULL);
	CHECK_INT(registry_digest_new(&d, REGISTRY_DIGEST_SHA256), 0);
	CHECK_INT(registry_digest_update(d, NULL, 1), REGISTRY_EINVAL);
	CHECK_INT(registry_digest_update(d, NULL, 0), 0);
	CHECK_INT(registry_digest_final(NULL, d), REGISTRY_EINVAL);
	registry_digest_free(d);
	registry_digest_free(NULL);

	registry__hash h;
	CHECK_INT(registry__hash_init_backend(&h, 9, REGISTRY__BACKEND_SODIUM), REGISTRY_EINVAL);
	CHECK_INT(registry__hash_init_backend(&h, REGISTRY_DIGEST_SHA256, 9), REGISTRY_EINVAL);
	CHECK_INT(registry__hash_init_backend(NULL, REGISTRY_DIGEST_SHA256, 0), REGISTRY_EINVAL);
}

static void test_backend_selection(void)
{
	registry__hash h;
	CHECK_INT(registry__hash_init(&h, REGISTRY_DIGEST_DEFAULT), 0);
	CHECK_INT(h.algorithm, REGISTRY_DIGEST_SHA256);
#ifdef REGISTRY_HAVE_OPENSSL
	CHECK_STR(registry_digest_backend(), "openssl");
	CHECK_INT(h.backend, REGISTRY__BACKEND_OPENSSL);
	CHECK_INT(registry__hash_backend_available(REGISTRY__BACKEND_OPENSSL), 1);
#else
	CHECK_STR(registry_digest_backend(), "libsodium");
	CHECK_INT(h.backend, REGISTRY__BACKEND_SODIUM);
	registry__hash h2;
	CHECK_INT(registry__hash_init_backend(&h2, REGISTRY_DIGEST_SHA256, REGISTRY__BACKEND_OPENSSL),
	          REGISTRY_EUNSUPPORTED);
#endif
	registry__hash_cleanup(&h);
	CHECK_INT(registry__hash_backend_available(REGISTRY__BACKEND_SODIUM), 1);
}

struct validate_case {
	const char *digest;
	int rc;
	const char *message_part; /* a substring the message must contain, or NULL */
};

static const struct validate_case validate_cases[] = {
	{ SHA256_EMPTY, 0, NULL },
	{ SHA256_ABC, 0, NULL },
	{ SHA512_EMPTY, 0, NULL },
	{ "sha256:" HEX64, 0, NULL },
	/* wrong hex part of a known algorithm */
	{ "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", REGISTRY_EFORMAT,
	  "invalid character 'E' at offset 0 of the hex part" },
	{ "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85", REGISTRY_EFORMAT,
	  "63 characters, must have 64" },
	{ "sha256:" HEX64 "0", REGISTRY_EFORMAT, "65 characters, must have 64" },
	{ "sha256:../../etc", REGISTRY_EFORMAT, "invalid character '.'" },
	{ "sha256:../../../../etc/passwd" HEX64, REGISTRY_EFORMAT, "invalid character '.'" },
	{ "sha256:", REGISTRY_EFORMAT, "0 characters, must have 64" },
	{ "sha256:" HEX64 " ", REGISTRY_EFORMAT, "\\x20" },
	{ " sha256:" HEX64, REGISTRY_EFORMAT, "algorithm" },
	{ "sha256: " HEX64, REGISTRY_EFORMAT, "\\x20" },
	{ "sha256:" HEX64 "\n", REGISTRY_EFORMAT, "\\x0a" },
	{ "sha256:g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", REGISTRY_EFORMAT,
	  "'g'" },
	{ "sha512:" HEX64, REGISTRY_EFORMAT, "64 characters, must have 128" },
	{ "sha256:" HEX64 ":" HEX64, REGISTRY_EFORMAT, "':'" },
	/* wrong overall shape */
	{ "", REGISTRY_EFORMAT, "empty" },
	{ HEX64, REGISTRY_EFORMAT, "no ':'" },
	{ ":" HEX64, REGISTRY_EFORMAT, "algorithm (before ':') is empty" },
	{ "SHA256:" HEX64, REGISTRY_EFORMAT, "algorithm \"SHA256\" is malformed" },
	{ "sha-:" HEX64, REGISTRY_EFORMAT, "malformed" },
	{ "-sha:" HEX64, REGISTRY_EFORMAT, "malformed" },
	{ "sha..256:" HEX64, REGISTRY_EFORMAT, "malformed" },
	{ "foo:", REGISTRY_EFORMAT, "encoded part (after ':') is empty" },
	{ "foo:abc/def", REGISTRY_EFORMAT, "'/'" },
	{ "foo:abc.def", REGISTRY_EFORMAT, "'.'" },
	/* well-formed, other algorithms */
	{ "sha384:" HEX64 HEX64, REGISTRY_EUNSUPPORTED, "unsupported digest algorithm \"sha384\"" },
	{ "blake3:" HEX64, REGISTRY_EUNSUPPORTED, "blake3" },
	{ "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8", REGISTRY_EUNSUPPORTED, NULL },
	{ "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564", REGISTRY_EUNSUPPORTED, NULL },
	{ "a.b_c-d:x=Y_z-0", REGISTRY_EUNSUPPORTED, NULL },
};

static void test_validate_table(void)
{
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(validate_cases); i++) {
		const struct validate_case *c = &validate_cases[i];
		int rc = registry_digest_validate(c->digest);
		const char *msg = registry_error_message(registry_error_last());
		if (rc != c->rc || (c->message_part && !strstr(msg, c->message_part))) {
			fprintf(stderr, "case %zu \"%s\": rc %d (want %d), message \"%s\" (want \"%s\")\n", i,
			        c->digest, rc, c->rc, msg, c->message_part ? c->message_part : "");
			check_case_failed = 1;
		}
		/* The length-based variant agrees. */
		CHECK_INT(registry__digest_validate_len(c->digest, strlen(c->digest)), c->rc);
	}
	CHECK_INT(registry_digest_validate(NULL), REGISTRY_EINVAL);
}

static void test_validate_hostile(void)
{
	/* An embedded NUL, seen through the length-based variant. */
	char buf[] = "sha256:" HEX64;
	buf[20] = '\0';
	CHECK_INT(registry__digest_validate_len(buf, sizeof(buf) - 1), REGISTRY_EFORMAT);
	CHECK(strstr(registry_error_message(registry_error_last()), "NUL byte at offset 20") != NULL);
	CHECK_INT(registry_digest_validate(buf), REGISTRY_EFORMAT); /* strlen stops: 13 hex */
	CHECK_INT(registry__digest_validate_len(NULL, 0), REGISTRY_EINVAL);

	/* Huge untrusted input: the message stays short and printable. */
	size_t n = 100000;
	char *big = malloc(n + 1);
	memset(big, 'A', n);
	big[n] = '\0';
	big[50] = '\x1b';
	CHECK_INT(registry_digest_validate(big), REGISTRY_EFORMAT);
	const char *msg = registry_error_message(registry_error_last());
	CHECK(strlen(msg) < 200);
	CHECK(strchr(msg, '\x1b') == NULL);
	big[100] = ':';
	CHECK_INT(registry_digest_validate(big), REGISTRY_EFORMAT);
	CHECK(strlen(registry_error_message(registry_error_last())) < 200);
	for (size_t i = 0; i < 100; i++)
		big[i] = 'a';
	memset(big + 101, 'b', n - 101);
	CHECK_INT(registry_digest_validate(big), REGISTRY_EUNSUPPORTED);
	msg = registry_error_message(registry_error_last());
	CHECK(strlen(msg) < 200);
	CHECK(strstr(msg, "...") != NULL);
	free(big);
}

static void test_compare(void)
{
	CHECK_INT(registry_digest_compare(SHA256_ABC, SHA256_ABC), 0);
	CHECK_INT(registry_error_code(registry_error_last()), 0);
	CHECK_INT(registry_digest_compare(SHA512_ABC, SHA512_ABC), 0);

	CHECK_INT(registry_digest_compare(SHA256_ABC, SHA256_EMPTY), REGISTRY_EDIGEST);
	CHECK_STR(registry_error_message(registry_error_last()),
	          "digest mismatch: expected " SHA256_ABC ", got " SHA256_EMPTY);
	/* One bit off in the last hex digit. */
	char near[] = SHA256_ABC;
	near[sizeof(near) - 2] = 'c';
	CHECK_INT(registry_digest_compare(SHA256_ABC, near), REGISTRY_EDIGEST);
	/* Other lengths and algorithms, prefixes, garbage. */
	CHECK_INT(registry_digest_compare(SHA256_ABC, SHA512_ABC), REGISTRY_EDIGEST);
	CHECK_INT(registry_digest_compare(SHA512_ABC, SHA256_ABC), REGISTRY_EDIGEST);
	CHECK_INT(registry_digest_compare(SHA256_ABC, ""), REGISTRY_EDIGEST);
	CHECK_INT(registry_digest_compare(SHA256_ABC, SHA256_ABC "0"), REGISTRY_EDIGEST);
	CHECK_INT(registry_digest_compare(SHA256_ABC, "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"),
	          REGISTRY_EDIGEST);
	CHECK_INT(registry_digest_compare(SHA256_ABC, "\x1b[31m"), REGISTRY_EDIGEST);
	CHECK(strchr(registry_error_message(registry_error_last()), '\x1b') == NULL);

	/* The expected digest is validated first. */
	CHECK_INT(registry_digest_compare("sha256:abc", "sha256:abc"), REGISTRY_EFORMAT);
	CHECK_INT(registry_digest_compare("sha256:../x", SHA256_ABC), REGISTRY_EFORMAT);
	CHECK_INT(registry_digest_compare("sha384:" HEX64 HEX64, "sha384:" HEX64 HEX64), REGISTRY_EUNSUPPORTED);
	CHECK_INT(registry_digest_compare(NULL, SHA256_ABC), REGISTRY_EINVAL);
	CHECK_INT(registry_digest_compare(SHA256_ABC, NULL), REGISTRY_EINVAL);
}

static void test_helpers(void)
{
	CHECK_INT(registry__digest_algorithm(SHA256_ABC), REGISTRY_DIGEST_SHA256);
	CHECK_INT(registry__digest_algorithm(SHA512_ABC), REGISTRY_DIGEST_SHA512);
	CHECK_INT(registry__digest_algorithm("sha384:x"), 0);
	CHECK_INT(registry__digest_algorithm(NULL), 0);
	CHECK_STR(registry__digest_hex(SHA256_ABC), &SHA256_ABC[7]);
	CHECK(registry__digest_hex("nocolon") == NULL);
	CHECK(registry__digest_hex(NULL) == NULL);
	CHECK_INT(registry__digest_string_length(REGISTRY_DIGEST_SHA256), 71);
	CHECK_INT(registry__digest_string_length(REGISTRY_DIGEST_DEFAULT), 71);
	CHECK_INT(registry__digest_string_length(REGISTRY_DIGEST_SHA512), 135);
	CHECK_INT(registry__digest_string_length(5), 0);
}

int main(void)
{
	CHECK_INT(registry_global_init(), 0);
	make_pattern();
	list_backends();
	printf("backends: libsodium%s; default %s\n", n_backends > 1 ? ", openssl" : "",
	       registry_digest_backend());
	RUN(test_known_vectors);
	RUN(test_backends_agree);
	RUN(test_streaming_public);
	RUN(test_final_allocates);
	RUN(test_reuse_after_final);
	RUN(test_bad_arguments);
	RUN(test_backend_selection);
	RUN(test_validate_table);
	RUN(test_validate_hostile);
	RUN(test_compare);
	RUN(test_helpers);
	RUN(test_one_gib);
	free(pattern);
	return CHECK_DONE();
}

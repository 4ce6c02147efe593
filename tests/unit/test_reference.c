/*
 * References: a table of parse cases (parts, canonical and familiar forms,
 * error codes and the part named in the message), building from parts,
 * round trips, and the standalone validators.
 */
#include "check.h"
#include "internal.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define D256 "sha256:" HEX64
#define D512 "sha512:" HEX64 HEX64

struct parse_case {
	const char *text;
	int rc;
	/* on success */
	const char *registry, *repository, *tag, *digest, *string, *familiar;
	/* on failure: a substring of the message */
	const char *message_part;
};

#define OK(text, reg, repo, tag, dig, str, fam) { text, 0, reg, repo, tag, dig, str, fam, NULL }
#define BAD(text, rc, part) { text, rc, NULL, NULL, NULL, NULL, NULL, NULL, part }

static const struct parse_case cases[] = {
	/* Docker Hub normalization */
	OK("ubuntu", "docker.io", "library/ubuntu", "latest", NULL,
	   "docker.io/library/ubuntu:latest", "ubuntu:latest"),
	OK("ubuntu:18.04", "docker.io", "library/ubuntu", "18.04", NULL,
	   "docker.io/library/ubuntu:18.04", "ubuntu:18.04"),
	OK("docker.io/ubuntu", "docker.io", "library/ubuntu", "latest", NULL,
	   "docker.io/library/ubuntu:latest", "ubuntu:latest"),
	OK("index.docker.io/library/ubuntu", "docker.io", "library/ubuntu", "latest", NULL,
	   "docker.io/library/ubuntu:latest", "ubuntu:latest"),
	OK("index.docker.io/ubuntu:x", "docker.io", "library/ubuntu", "x", NULL,
	   "docker.io/library/ubuntu:x", "ubuntu:x"),
	OK("docker.io/library/ubuntu:latest", "docker.io", "library/ubuntu", "latest", NULL,
	   "docker.io/library/ubuntu:latest", "ubuntu:latest"),
	OK("user/app:1.0", "docker.io", "user/app", "1.0", NULL,
	   "docker.io/user/app:1.0", "user/app:1.0"),
	OK("library/ubuntu/sub", "docker.io", "library/ubuntu/sub", "latest", NULL,
	   "docker.io/library/ubuntu/sub:latest", "library/ubuntu/sub:latest"),
	OK("localhost", "docker.io", "library/localhost", "latest", NULL,
	   "docker.io/library/localhost:latest", "localhost:latest"),
	OK("localhost:5000", "docker.io", "library/localhost", "5000", NULL,
	   "docker.io/library/localhost:5000", "localhost:5000"),
	OK("docker.io/foo.bar/x", "docker.io", "foo.bar/x", "latest", NULL,
	   "docker.io/foo.bar/x:latest", "docker.io/foo.bar/x:latest"),
	OK("registry-1.docker.io/library/ubuntu", "registry-1.docker.io", "library/ubuntu", "latest", NULL,
	   "registry-1.docker.io/library/ubuntu:latest", "registry-1.docker.io/library/ubuntu:latest"),
	/* other registries */
	OK("localhost:5000/ubuntu:Kana-1", "localhost:5000", "ubuntu", "Kana-1", NULL,
	   "localhost:5000/ubuntu:Kana-1", "localhost:5000/ubuntu:Kana-1"),
	OK("localhost/ubuntu", "localhost", "ubuntu", "latest", NULL,
	   "localhost/ubuntu:latest", "localhost/ubuntu:latest"),
	OK("host:5000/a/b/c:tag@" D256, "host:5000", "a/b/c", "tag", D256,
	   "host:5000/a/b/c:tag@" D256, "host:5000/a/b/c:tag@" D256),
	OK("[::1]:5000/x", "[::1]:5000", "x", "latest", NULL,
	   "[::1]:5000/x:latest", "[::1]:5000/x:latest"),
	OK("[2001:db8::1]/ns/img:v2", "[2001:db8::1]", "ns/img", "v2", NULL,
	   "[2001:db8::1]/ns/img:v2", "[2001:db8::1]/ns/img:v2"),
	OK("127.0.0.1:65535/a", "127.0.0.1:65535", "a", "latest", NULL,
	   "127.0.0.1:65535/a:latest", "127.0.0.1:65535/a:latest"),
	OK("ghcr.io/owner/repo_name/sub-img:v1.2.3_rc-1", "ghcr.io", "owner/repo_name/sub-img",
	   "v1.2.3_rc-1", NULL, "ghcr.io/owner/repo_name/sub-img:v1.2.3_rc-1",
	   "ghcr.io/owner/repo_name/sub-img:v1.2.3_rc-1"),
	OK("Quay.IO/a__b/c---d/e.f:_", "Quay.IO", "a__b/c---d/e.f", "_", NULL,
	   "Quay.IO/a__b/c---d/e.f:_", "Quay.IO/a__b/c---d/e.f:_"),
	OK("my-registry.example.com:443/x", "my-registry.example.com:443", "x", "latest", NULL,
	   "my-registry.example.com:443/x:latest", "my-registry.example.com:443/x:latest"),
	/* digests */
	OK("ubuntu@" D256, "docker.io", "library/ubuntu", NULL, D256,
	   "docker.io/library/ubuntu@" D256, "ubuntu@" D256),
	OK("ubuntu:18.04@" D256, "docker.io", "library/ubuntu", "18.04", D256,
	   "docker.io/library/ubuntu:18.04@" D256, "ubuntu:18.04@" D256),
	OK("localhost:5000/x@" D512, "localhost:5000", "x", NULL, D512,
	   "localhost:5000/x@" D512, "localhost:5000/x@" D512),
	/* bad repository */
	BAD("Ubuntu", REGISTRY_EFORMAT, "repository name must be lowercase"),
	BAD("localhost:5000/Ubuntu:tag", REGISTRY_EFORMAT, "repository name must be lowercase"),
	BAD("Foo/bar", REGISTRY_EFORMAT, "repository name must be lowercase"),
	BAD("a//b", REGISTRY_EFORMAT, "empty component"),
	BAD("a/", REGISTRY_EFORMAT, "empty component"),
	BAD("localhost:5000/", REGISTRY_EFORMAT, "repository name is empty"),
	BAD("a/-b", REGISTRY_EFORMAT, "repository component \"-b\""),
	BAD("a/b_", REGISTRY_EFORMAT, "repository component \"b_\""),
	BAD("a___b", REGISTRY_EFORMAT, "repository component \"a___b\""),
	BAD("a..b", REGISTRY_EFORMAT, "repository component"),
	BAD("a b", REGISTRY_EFORMAT, "repository component \"a b\""),
	BAD("", REGISTRY_EFORMAT, "reference is empty"),
	BAD(":tag", REGISTRY_EFORMAT, "repository name is empty"),
	BAD("@" D256, REGISTRY_EFORMAT, "repository name is empty"),
	BAD(HEX64, REGISTRY_EFORMAT, "image ID"),
	/* bad tag */
	BAD("ubuntu:", REGISTRY_EFORMAT, "tag is empty"),
	BAD("ubuntu:.x", REGISTRY_EFORMAT, "tag: invalid character '.' at offset 0"),
	BAD("ubuntu:-x", REGISTRY_EFORMAT, "tag: invalid character '-'"),
	BAD("ubuntu:a+b", REGISTRY_EFORMAT, "tag: invalid character '+'"),
	BAD("ubuntu:a:b", REGISTRY_EFORMAT, "repository component \"ubuntu:a\""),
	/* bad digest */
	BAD("ubuntu@sha256:abc", REGISTRY_EFORMAT, "sha256 digest: hex part has 3 characters"),
	BAD("ubuntu@", REGISTRY_EFORMAT, "digest is empty"),
	BAD("ubuntu@sha256:" HEX64 "@" D256, REGISTRY_EFORMAT, "digest"),
	BAD("ubuntu@SHA256:" HEX64, REGISTRY_EFORMAT, "digest algorithm"),
	BAD("ubuntu@sha384:" HEX64 HEX64, REGISTRY_EUNSUPPORTED, "unsupported digest algorithm"),
	BAD("ubuntu:tag@sha256:" HEX64 "A", REGISTRY_EFORMAT, "digest"),
	/* bad registry host */
	BAD("localhost:0/x", REGISTRY_EFORMAT, "registry port 0 is out of range"),
	BAD("localhost:65536/x", REGISTRY_EFORMAT, "registry port 65536 is out of range"),
	BAD("localhost:99999999999999999999/x", REGISTRY_EFORMAT, "out of range"),
	BAD("localhost:/x", REGISTRY_EFORMAT, "registry port after ':' is empty"),
	BAD("localhost:50a0/x", REGISTRY_EFORMAT, "registry port: invalid character 'a'"),
	BAD("-bad.com/x", REGISTRY_EFORMAT, "registry host \"-bad.com\": a label starts or ends with '-'"),
	BAD("bad..com/x", REGISTRY_EFORMAT, "empty label"),
	BAD(".com/x", REGISTRY_EFORMAT, "empty label"),
	BAD("a_b.com/x", REGISTRY_EFORMAT, "registry host \"a_b.com\": invalid character '_'"),
	BAD("[::1/x", REGISTRY_EFORMAT, "'[' without ']'"),
	BAD("[::g]:5000/x", REGISTRY_EFORMAT, "not an IPv6 address"),
	BAD("[]:5000/x", REGISTRY_EFORMAT, "not an IPv6 address"),
	BAD("[::1]x:5000/x", REGISTRY_EFORMAT, "only ':port' may follow ']'"),
	BAD("[::1]:0/x", REGISTRY_EFORMAT, "out of range"),
	BAD("256.1.1.1/x", REGISTRY_EFORMAT, "not an IPv4 address"),
	BAD("1.2.3/x", REGISTRY_EFORMAT, "not an IPv4 address"),
	BAD(":5000/x", REGISTRY_EFORMAT, "registry host before ':' is empty"),
};

static void check_case(size_t i, const struct parse_case *c)
{
	registry_reference *ref = (registry_reference *)&ref;
	int rc = registry_reference_parse(&ref, c->text);
	const char *msg = registry_error_message(registry_error_last());
	if (rc != c->rc) {
		fprintf(stderr, "case %zu \"%s\": rc %d, want %d (%s)\n", i, c->text, rc, c->rc, msg);
		check_case_failed = 1;
	}
	if (c->rc) {
		CHECK(ref == NULL);
		if (c->message_part && !strstr(msg, c->message_part)) {
			fprintf(stderr, "case %zu \"%s\": message \"%s\" lacks \"%s\"\n", i, c->text, msg,
			        c->message_part);
			check_case_failed = 1;
		}
		return;
	}
	if (rc)
		return;
	CHECK_STR(registry_reference_registry(ref), c->registry);
	CHECK_STR(registry_reference_repository(ref), c->repository);
	if (c->tag)
		CHECK_STR(registry_reference_tag(ref), c->tag);
	else
		CHECK(registry_reference_tag(ref) == NULL);
	if (c->digest)
		CHECK_STR(registry_reference_digest(ref), c->digest);
	else
		CHECK(registry_reference_digest(ref) == NULL);
	CHECK_STR(registry_reference_string(ref), c->string);
	CHECK_STR(registry_reference_familiar(ref), c->familiar);

	/* Round trips: the canonical and the familiar forms parse back to the same reference. */
	const char *forms[] = { c->string, c->familiar };
	for (size_t f = 0; f < 2; f++) {
		registry_reference *again = NULL;
		CHECK_INT(registry_reference_parse(&again, forms[f]), 0);
		CHECK_STR(registry_reference_string(again), c->string);
		registry_reference_free(again);
	}
	/* So does building it from its parts. */
	registry_reference *built = NULL;
	CHECK_INT(registry_reference_new(&built, c->registry, c->repository, c->tag, c->digest), 0);
	CHECK_STR(registry_reference_string(built), c->string);
	registry_reference_free(built);
	registry_reference_free(ref);
}

static void test_parse_table(void)
{
	CHECK(REGISTRY_ARRAY_LEN(cases) >= 40);
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(cases); i++) {
		int before = check_case_failed;
		check_case_failed = 0;
		check_case(i, &cases[i]);
		if (check_case_failed)
			fprintf(stderr, "  ^ in case %zu: \"%.100s\"\n", i, cases[i].text);
		check_case_failed |= before;
	}
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_lengths(void)
{
	char text[600];
	registry_reference *ref = NULL;

	/* registry/repository of exactly 255 characters: "localhost/" + 245. */
	char *name = repeat('a', 245);
	snprintf(text, sizeof(text), "localhost/%s", name);
	CHECK_INT(registry_reference_parse(&ref, text), 0);
	CHECK_INT(strlen(registry_reference_repository(ref)) + strlen("localhost/"), 255);
	registry_reference_free(ref);
	free(name);

	/* 256 characters. */
	name = repeat('a', 246);
	snprintf(text, sizeof(text), "localhost/%s:tag", name);
	CHECK_INT(registry_reference_parse(&ref, text), REGISTRY_EFORMAT);
	CHECK(strstr(registry_error_message(registry_error_last()), "too long: registry/repository") != NULL);
	CHECK(strstr(registry_error_message(registry_error_last()), "256 characters, at most 255") != NULL);
	CHECK(strlen(registry_error_message(registry_error_last())) < 200);
	free(name);

	/* A 256-character single name; docker.io/library/ makes it longer still. */
	name = repeat('b', 256);
	CHECK_INT(registry_reference_parse(&ref, name), REGISTRY_EFORMAT);
	CHECK(strstr(registry_error_message(registry_error_last()), "too long") != NULL);
	free(name);
	/* The docker.io/library/ prefix counts: 237 + 18 = 255 fits, 238 does not. */
	name = repeat('c', 237);
	CHECK_INT(registry_reference_parse(&ref, name), 0);
	CHECK_INT(strlen(registry_reference_string(ref)), 255 + strlen(":latest"));
	registry_reference_free(ref);
	free(name);
	name = repeat('c', 238);
	CHECK_INT(registry_reference_parse(&ref, name), REGISTRY_EFORMAT);
	free(name);

	/* Tags: 128 characters fit, 129 do not. */
	char *tag = repeat('t', 128);
	snprintf(text, sizeof(text), "x:%s", tag);
	CHECK_INT(registry_reference_parse(&ref, text), 0);
	CHECK_STR(registry_reference_tag(ref), tag);
	registry_reference_free(ref);
	free(tag);
	tag = repeat('t', 129);
	snprintf(text, sizeof(text), "x:%s", tag);
	CHECK_INT(registry_reference_parse(&ref, text), REGISTRY_EFORMAT);
	CHECK(strstr(registry_error_message(registry_error_last()), "tag \"") != NULL);
	CHECK(strstr(registry_error_message(registry_error_last()), "129 characters, at most 128") != NULL);
	free(tag);

	/* Longest valid reference: 255 name + 128 tag + sha512 digest. */
	name = repeat('d', 245);
	tag = repeat('T', 128);
	char longest[600];
	snprintf(longest, sizeof(longest), "localhost/%s:%s@" D512, name, tag);
	CHECK_INT(registry_reference_parse(&ref, longest), 0);
	CHECK_STR(registry_reference_string(ref), longest);
	registry_reference_free(ref);
	free(name);
	free(tag);

	/* Megabytes of input are refused quickly, with a short message. */
	char *huge = repeat('a', 1 << 20);
	CHECK_INT(registry_reference_parse(&ref, huge), REGISTRY_EFORMAT);
	CHECK(strstr(registry_error_message(registry_error_last()), "reference is too long") != NULL);
	free(huge);
}

static void test_api_host(void)
{
	registry_reference *ref = NULL;
	CHECK_INT(registry_reference_parse(&ref, "ubuntu"), 0);
	CHECK_STR(registry_reference_api_host(ref), "registry-1.docker.io");
	registry_reference_free(ref);
	CHECK_INT(registry_reference_parse(&ref, "index.docker.io/x/y"), 0);
	CHECK_STR(registry_reference_api_host(ref), "registry-1.docker.io");
	registry_reference_free(ref);
	CHECK_INT(registry_reference_parse(&ref, "[::1]:5000/x"), 0);
	CHECK_STR(registry_reference_api_host(ref), "[::1]:5000");
	registry_reference_free(ref);
	CHECK_INT(registry_reference_parse(&ref, "localhost:5000/ubuntu:Kana-1"), 0);
	CHECK_STR(registry_reference_api_host(ref), "localhost:5000");
	registry_reference_free(ref);
}

static void test_new(void)
{
	registry_reference *ref = NULL;
	CHECK_INT(registry_reference_new(&ref, NULL, "ubuntu", NULL, NULL), 0);
	CHECK_STR(registry_reference_string(ref), "docker.io/library/ubuntu:latest");
	registry_reference_free(ref);

	CHECK_INT(registry_reference_new(&ref, "index.docker.io", "library/ubuntu", "20.04", D256), 0);
	CHECK_STR(registry_reference_registry(ref), "docker.io");
	CHECK_STR(registry_reference_string(ref), "docker.io/library/ubuntu:20.04@" D256);
	CHECK_STR(registry_reference_familiar(ref), "ubuntu:20.04@" D256);
	registry_reference_free(ref);

	CHECK_INT(registry_reference_new(&ref, "localhost:5000", "ubuntu", "Kana-1", NULL), 0);
	CHECK_STR(registry_reference_string(ref), "localhost:5000/ubuntu:Kana-1");
	registry_reference_free(ref);

	CHECK_INT(registry_reference_new(&ref, "127.0.0.1:5000", "a/b", NULL, D256), 0);
	CHECK(registry_reference_tag(ref) == NULL);
	CHECK_STR(registry_reference_string(ref), "127.0.0.1:5000/a/b@" D256);
	registry_reference_free(ref);

	/* Parts are validated like parsed ones. */
	ref = (registry_reference *)&ref;
	CHECK_INT(registry_reference_new(&ref, "myhost", "x", NULL, NULL), REGISTRY_EFORMAT);
	CHECK(ref == NULL);
	CHECK(strstr(registry_error_message(registry_error_last()), "registry host \"myhost\"") != NULL);
	CHECK_INT(registry_reference_new(&ref, "", "x", NULL, NULL), REGISTRY_EFORMAT);
	CHECK_INT(registry_reference_new(&ref, "localhost:70000", "x", NULL, NULL), REGISTRY_EFORMAT);
	CHECK_INT(registry_reference_new(&ref, "localhost/x", "y", NULL, NULL), REGISTRY_EFORMAT);
	CHECK_INT(registry_reference_new(&ref, NULL, "Ubuntu", NULL, NULL), REGISTRY_EFORMAT);
	CHECK(strstr(registry_error_message(registry_error_last()), "must be lowercase") != NULL);
	CHECK_INT(registry_reference_new(&ref, NULL, "ubuntu", "", NULL), REGISTRY_EFORMAT);
	CHECK(strstr(registry_error_message(registry_error_last()), "tag is empty") != NULL);
	CHECK_INT(registry_reference_new(&ref, NULL, "ubuntu", "a/b", NULL), REGISTRY_EFORMAT);
	CHECK_INT(registry_reference_new(&ref, NULL, "ubuntu", NULL, "sha256:abc"), REGISTRY_EFORMAT);
	CHECK_INT(registry_reference_new(&ref, NULL, "ubuntu", NULL, "md5:abc"), REGISTRY_EUNSUPPORTED);
	CHECK_INT(registry_reference_new(&ref, NULL, "ubuntu:tag", NULL, NULL), REGISTRY_EFORMAT);
	CHECK_INT(registry_reference_new(&ref, NULL, "", NULL, NULL), REGISTRY_EFORMAT);
	CHECK_INT(registry_reference_new(&ref, NULL, NULL, NULL, NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_reference_new(NULL, NULL, "x", NULL, NULL), REGISTRY_EINVAL);
	CHECK(ref == NULL);
}

static void test_validators(void)
{
	static const char *good_repos[] = { "a", "library/ubuntu", "a/b/c/d", "a.b", "a_b", "a__b",
	                                    "a-b", "a---b", "0", "9a/b9", "a.b-c_d__e" };
	static const char *bad_repos[] = { "", "A", "a/", "/a", "a//b", "-a", "a-", "a.", ".a", "_a",
	                                   "a___b", "a..b", "a._b", "a:b", "a@b", "a b", "é" };
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(good_repos); i++)
		if (registry_reference_validate_repository(good_repos[i]) != 0) {
			fprintf(stderr, "repository \"%s\" refused: %s\n", good_repos[i],
			        registry_error_message(registry_error_last()));
			check_case_failed = 1;
		}
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(bad_repos); i++)
		if (registry_reference_validate_repository(bad_repos[i]) != REGISTRY_EFORMAT) {
			fprintf(stderr, "repository \"%s\" accepted\n", bad_repos[i]);
			check_case_failed = 1;
		}
	char *long_repo = repeat('r', 256);
	CHECK_INT(registry_reference_validate_repository(long_repo), REGISTRY_EFORMAT);
	long_repo[255] = '\0';
	CHECK_INT(registry_reference_validate_repository(long_repo), 0);
	free(long_repo);

	static const char *good_tags[] = { "latest", "Kana-1", "_", "a.b-c_D", "1", "v1.0.0-rc.1" };
	static const char *bad_tags[] = { "", ".a", "-a", "a/b", "a:b", "a@b", "a b", "a+b", "\xc3\xa9" };
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(good_tags); i++)
		CHECK_INT(registry_reference_validate_tag(good_tags[i]), 0);
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(bad_tags); i++)
		CHECK_INT(registry_reference_validate_tag(bad_tags[i]), REGISTRY_EFORMAT);
	CHECK_INT(registry_reference_validate_tag(NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_reference_validate_repository(NULL), REGISTRY_EINVAL);
}

static void test_null_safety(void)
{
	registry_reference *ref = NULL;
	CHECK_INT(registry_reference_parse(NULL, "x"), REGISTRY_EINVAL);
	CHECK_INT(registry_reference_parse(&ref, NULL), REGISTRY_EINVAL);
	CHECK(registry_reference_registry(NULL) == NULL);
	CHECK(registry_reference_api_host(NULL) == NULL);
	CHECK(registry_reference_repository(NULL) == NULL);
	CHECK(registry_reference_tag(NULL) == NULL);
	CHECK(registry_reference_digest(NULL) == NULL);
	CHECK(registry_reference_string(NULL) == NULL);
	CHECK(registry_reference_familiar(NULL) == NULL);
	registry_reference_free(NULL);
	/* A success clears an earlier failure. */
	CHECK_INT(registry_reference_parse(&ref, "Bad"), REGISTRY_EFORMAT);
	CHECK_INT(registry_reference_parse(&ref, "good"), 0);
	CHECK_INT(registry_error_code(registry_error_last()), 0);
	registry_reference_free(ref);
}

static void test_hostile_messages(void)
{
	registry_reference *ref = NULL;
	char text[300];
	/* Control characters and long junk never reach the message raw. */
	snprintf(text, sizeof(text), "localhost/a\x1b[2Jb%0200d", 0);
	CHECK_INT(registry_reference_parse(&ref, text), REGISTRY_EFORMAT);
	const char *msg = registry_error_message(registry_error_last());
	CHECK(strchr(msg, '\x1b') == NULL);
	CHECK(strlen(msg) < 250);
	CHECK_INT(registry_reference_parse(&ref, "ubuntu:a\x01"), REGISTRY_EFORMAT);
	CHECK(strstr(registry_error_message(registry_error_last()), "\\x01") != NULL);
}

/* dup gives an equal, independent copy; equal compares the normalized parts. */
static void test_dup_equal(void)
{
	static const char *const texts[] = {
		"ubuntu", "docker.io/library/ubuntu:latest", "localhost:5000/a/b:v1",
		"[::1]:5000/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"ghcr.io/o/r:t@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	};
	registry_reference *refs[REGISTRY_ARRAY_LEN(texts)];
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(texts); i++)
		CHECK_INT(registry_reference_parse(&refs[i], texts[i]), 0);
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(texts); i++) {
		registry_reference *copy = NULL;
		CHECK_INT(registry_reference_dup(&copy, refs[i]), 0);
		CHECK(copy != NULL && copy != refs[i]);
		CHECK_INT(registry_reference_equal(copy, refs[i]), 1);
		CHECK_STR(registry_reference_familiar(copy), registry_reference_familiar(refs[i]));
		CHECK(registry_reference_repository(copy) != registry_reference_repository(refs[i]));
		for (size_t j = 0; j < REGISTRY_ARRAY_LEN(texts); j++) /* "ubuntu" == its long form */
			CHECK_INT(registry_reference_equal(copy, refs[j]), (i < 2 && j < 2) || i == j);
		registry_reference_free(copy);
	}
	registry_reference *tagged = NULL;
	CHECK_INT(registry_reference_parse(&tagged, "ubuntu:22.04"), 0);
	CHECK_INT(registry_reference_equal(tagged, refs[0]), 0);
	CHECK_INT(registry_reference_equal(NULL, refs[0]), 0);
	CHECK_INT(registry_reference_equal(refs[0], NULL), 0);
	registry_reference *copy = (registry_reference *)1;
	CHECK_INT(registry_reference_dup(&copy, NULL), REGISTRY_EINVAL);
	CHECK(copy == NULL);
	CHECK_INT(registry_reference_dup(NULL, tagged), REGISTRY_EINVAL);
	registry_reference_free(tagged);
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(texts); i++)
		registry_reference_free(refs[i]);
}

int main(void)
{
	RUN(test_parse_table);
	RUN(test_lengths);
	RUN(test_api_host);
	RUN(test_new);
	RUN(test_validators);
	RUN(test_null_safety);
	RUN(test_hostile_messages);
	RUN(test_dup_equal);
	return CHECK_DONE();
}

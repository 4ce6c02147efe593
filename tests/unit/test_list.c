/* Paged lists without a network: Link headers, next-page URLs, page bodies,
 * the seen-page set, and argument checks of the list and referrers API. */
#include <limits.h>
#include "check.h"
#include "internal.h"
#include "ops/list_impl.h"

static char *next_of(const char *header, int *rc)
{
	char *t = NULL;
	*rc = registry__link_next(header, &t);
	return t;
}

static void test_link_simple(void)
{
	int rc;
	char *t = next_of("</v2/_catalog?last=b&n=2>; rel=\"next\"", &rc);
	CHECK_INT(rc, 0);
	CHECK_STR(t, "/v2/_catalog?last=b&n=2");
	free(t);
	t = next_of("<https://r.example/v2/x/tags/list?n=1&last=a>;rel=next", &rc);
	CHECK_INT(rc, 0);
	CHECK_STR(t, "https://r.example/v2/x/tags/list?n=1&last=a");
	free(t);
	/* Case-insensitive names and types, several types in one rel. */
	t = next_of("</p2>; REL=\"prefetch NEXT\"", &rc);
	CHECK_INT(rc, 0);
	CHECK_STR(t, "/p2");
	free(t);
}

static void test_link_several(void)
{
	int rc;
	/* A comma inside the URL and inside a quoted parameter; next comes last. */
	char *t = next_of("</a,b>; rel=\"prev\"; title=\"x, y; z\", </c?d=1,2>; rel=\"next\"", &rc);
	CHECK_INT(rc, 0);
	CHECK_STR(t, "/c?d=1,2");
	free(t);
	t = next_of("</only-prev>; rel=prev", &rc);
	CHECK_INT(rc, 0);
	CHECK(t == NULL);
	/* "nextpage" or "next-ish" is not "next". */
	t = next_of("</x>; rel=\"nextpage next-ish\"", &rc);
	CHECK_INT(rc, 0);
	CHECK(t == NULL);
	t = next_of("", &rc);
	CHECK_INT(rc, 0);
	CHECK(t == NULL);
	t = next_of("</x>; rel=\"next\\\"\"", &rc); /* escaped quote: the type is next" */
	CHECK_INT(rc, 0);
	CHECK(t == NULL);
}

static void test_link_malformed(void)
{
	const char *bad[] = {
		"/v2/_catalog; rel=next",     /* no angle brackets */
		"</v2/_catalog; rel=next",    /* no closing bracket */
		"</x>; rel=\"next",          /* open quote */
		"</x> rel=next",              /* no semicolon */
		"</x>; =next",                /* empty parameter name */
	};
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(bad); i++) {
		int rc;
		char *t = next_of(bad[i], &rc);
		if (rc != REGISTRY_EPROTOCOL)
			fprintf(stderr, "header %s\n", bad[i]);
		CHECK_INT(rc, REGISTRY_EPROTOCOL);
		CHECK(t == NULL);
		CHECK(strlen(registry_error_message(registry_error_last())) > 0);
	}
}

static void test_next_url(void)
{
	char *u = NULL;
	const char *base = "http://127.0.0.1:5000/v2/a/b/tags/list?n=100";
	CHECK_INT(registry__list_next_url(base, "</v2/a/b/tags/list?last=t99&n=100>; rel=\"next\"", &u), 0);
	CHECK_STR(u, "http://127.0.0.1:5000/v2/a/b/tags/list?last=t99&n=100");
	free(u);
	/* Relative without a leading slash: against the page's folder. */
	CHECK_INT(registry__list_next_url(base, "<list?last=x>; rel=next", &u), 0);
	CHECK_STR(u, "http://127.0.0.1:5000/v2/a/b/tags/list?last=x");
	free(u);
	/* Another origin is kept as is (the transport sends no credentials there). */
	CHECK_INT(registry__list_next_url(base, "<https://127.0.0.2:9/p?x=1>; rel=next", &u), 0);
	CHECK_STR(u, "https://127.0.0.2:9/p?x=1");
	free(u);
	CHECK_INT(registry__list_next_url(base, "</p>; rel=prev", &u), 0);
	CHECK(u == NULL);
	/* Other schemes and a step down from https are refused. */
	CHECK_INT(registry__list_next_url(base, "<file:///etc/passwd>; rel=next", &u), REGISTRY_EPROTOCOL);
	CHECK(u == NULL);
	CHECK_INT(registry__list_next_url(base, "<ftp://127.0.0.1/x>; rel=next", &u), REGISTRY_EPROTOCOL);
	CHECK_INT(registry__list_next_url("https://127.0.0.1:5000/v2/_catalog", "<http://127.0.0.1:5000/v2/_catalog?last=a>; rel=next",
	                                  &u), REGISTRY_EPROTOCOL);
	CHECK(u == NULL);
	CHECK_INT(registry__list_next_url(base, "<>; rel=next", &u), 0); /* empty: the same page */
	CHECK_STR(u, base);
	free(u);
}

static void check_page(const char *json, const char *key, int tags, int want_rc, size_t want_count,
                       const char *first)
{
	char **names = NULL;
	size_t count = 99;
	int rc = registry__list_parse_page(json, strlen(json), key, tags, "test page", &names, &count);
	if (rc != want_rc)
		fprintf(stderr, "page %s: %s\n", json, registry_error_message(registry_error_last()));
	CHECK_INT(rc, want_rc);
	if (rc == 0) {
		CHECK_INT(count, want_count);
		CHECK(names != NULL && names[count] == NULL);
		if (first && names)
			CHECK_STR(names[0], first);
	} else {
		CHECK(names == NULL);
		CHECK_INT(count, 0);
	}
	registry__list_names_free(names);
}

static void test_pages(void)
{
	check_page("{\"name\":\"a/b\",\"tags\":[\"v1\",\"latest\",\"Kana-1\"]}", "tags", 1, 0, 3, "v1");
	check_page("{\"name\":\"a/b\",\"tags\":null}", "tags", 1, 0, 0, NULL);
	check_page("{\"name\":\"a/b\"}", "tags", 1, 0, 0, NULL);
	check_page("{\"name\":\"a/b\",\"tags\":[]}", "tags", 1, 0, 0, NULL);
	check_page("{\"repositories\":[\"library/ubuntu\",\"x\"]}", "repositories", 0, 0, 2, "library/ubuntu");
	check_page("  {\"repositories\":[]}\n", "repositories", 0, 0, 0, NULL);
}

static void test_pages_hostile(void)
{
	const char *bad_tags[] = {
		"",
		"[]",
		"\"tags\"",
		"{\"tags\":\"v1\"}",
		"{\"tags\":{\"a\":1}}",
		"{\"tags\":[1]}",
		"{\"tags\":[\"ok\",null]}",
		"{\"tags\":[\"has space\"]}",
		"{\"tags\":[\"-leading-dash\"]}",
		"{\"tags\":[\"\\u001b[31mred\"]}",
		"{\"tags\":[\"\"]}",
		"{\"tags\":[\"v1\"],\"tags\":[\"v2\"]}", /* duplicate key */
		"{\"tags\":[\"v1\"]} trailing",
		"{\"tags\":[\"v\\u0000x\"]}",
		"{\"tags\":[\"\xff\"]}",
	};
	for (size_t i = 0; i < REGISTRY_ARRAY_LEN(bad_tags); i++)
		check_page(bad_tags[i], "tags", 1, REGISTRY_EFORMAT, 0, NULL);
	check_page("{\"repositories\":[\"UPPER/case\"]}", "repositories", 0, REGISTRY_EFORMAT, 0, NULL);
	check_page("{\"repositories\":[\"a//b\"]}", "repositories", 0, REGISTRY_EFORMAT, 0, NULL);
	/* A 129-character tag. */
	char long_tag[200];
	memset(long_tag, 'a', sizeof(long_tag));
	snprintf(long_tag, sizeof(long_tag), "{\"tags\":[\"%0129d\"]}", 0);
	check_page(long_tag, "tags", 1, REGISTRY_EFORMAT, 0, NULL);
	/* Deep nesting under another key. */
	char deep[5000] = "{\"x\":";
	size_t n = strlen(deep);
	for (int i = 0; i < 2000; i++)
		deep[n++] = '[';
	for (int i = 0; i < 2000; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	deep[n] = '\0';
	check_page(deep, "tags", 1, REGISTRY_EFORMAT, 0, NULL);
}

static void test_many_names(void)
{
	/* 20000 tags on one page: all of them, in order. */
	registry__buf b;
	registry__buf_init(&b, 0);
	registry__buf_puts(&b, "{\"name\":\"x\",\"tags\":[");
	for (int i = 0; i < 20000; i++)
		registry__buf_printf(&b, "%s\"t%05d\"", i ? "," : "", i);
	registry__buf_puts(&b, "]}");
	char **names = NULL;
	size_t count = 0;
	CHECK_INT(registry__list_parse_page(b.data, b.len, "tags", 1, "big", &names, &count), 0);
	CHECK_INT(count, 20000);
	if (count == 20000) {
		CHECK_STR(names[0], "t00000");
		CHECK_STR(names[19999], "t19999");
	}
	registry__list_names_free(names);
	registry__buf_free(&b);
}

static void test_url_set(void)
{
	registry__url_set s;
	registry__url_set_init(&s);
	char url[64];
	for (int i = 0; i < 5000; i++) {
		snprintf(url, sizeof(url), "http://h/v2/x/tags/list?last=%d", i);
		CHECK_INT(registry__url_set_add(&s, url), 0);
	}
	CHECK_INT(s.count, 5000);
	for (int i = 0; i < 5000; i += 7) {
		snprintf(url, sizeof(url), "http://h/v2/x/tags/list?last=%d", i);
		CHECK_INT(registry__url_set_add(&s, url), 1);
	}
	CHECK_INT(registry__url_set_add(&s, "http://h/v2/x/tags/list?last=5000"), 0);
	CHECK_INT(s.count, 5001);
	/* Long URLs differing only in their last byte are told apart (the set
	 * keeps their hashes, not the URLs). */
	size_t n = 64 * 1024;
	char *big = malloc(n + 1);
	CHECK(big != NULL);
	if (big) {
		memset(big, 'x', n);
		big[n] = '\0';
		CHECK_INT(registry__url_set_add(&s, big), 0);
		big[n - 1] = 'y';
		CHECK_INT(registry__url_set_add(&s, big), 0);
		CHECK_INT(registry__url_set_add(&s, big), 1);
		free(big);
	}
	CHECK_INT(s.count, 5003);
	registry__url_set_free(&s);
	registry__url_set_free(&s); /* twice is harmless */
}

static void test_api_arguments(void)
{
	registry_client *c = NULL;
	CHECK_INT(registry_client_new(&c, "127.0.0.1:1"), 0);
	registry_list *l = (registry_list *)1;
	CHECK_INT(registry_list_tags_open(NULL, c, "a", NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_list_tags_open(&l, NULL, "a", NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_list_tags_open(&l, c, NULL, NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_list_tags_open(&l, c, "Upper", NULL), REGISTRY_EFORMAT);
	CHECK(l == NULL);
	CHECK_INT(registry_list_tags_open(&l, c, "../etc", NULL), REGISTRY_EFORMAT);
	CHECK_INT(registry_list_catalog_open(NULL, c, NULL), REGISTRY_EINVAL);
	/* Options: through the shared check, for both openers. */
	registry_list_options o = REGISTRY_LIST_OPTIONS_INIT;
	o.page_size = (unsigned int)INT_MAX + 1u;
	CHECK_INT(registry_list_tags_open(&l, c, "a", &o), REGISTRY_EINVAL);
	CHECK(strstr(registry_error_message(registry_error_last()), "registry_list_tags_open: page_size") != NULL);
	CHECK_INT(registry_list_catalog_open(&l, c, &o), REGISTRY_EINVAL);
	o.page_size = 10;
	o.last = "";
	CHECK_INT(registry_list_tags_open(&l, c, "a", &o), REGISTRY_EINVAL);
	char long_last[1100];
	memset(long_last, 'x', sizeof(long_last) - 1);
	long_last[sizeof(long_last) - 1] = '\0';
	o.last = long_last;
	CHECK_INT(registry_list_catalog_open(&l, c, &o), REGISTRY_EINVAL);
	o.last = "t0";
	o.flags = 0x1u;
	CHECK_INT(registry_list_tags_open(&l, c, "a", &o), REGISTRY_EINVAL);
	CHECK(strstr(registry_error_message(registry_error_last()), "unknown flags") != NULL);
	o.flags = 0;
	o.version = REGISTRY_LIST_OPTIONS_VERSION + 1;
	CHECK_INT(registry_list_catalog_open(&l, c, &o), REGISTRY_EINVAL);
	o.version = 0;
	CHECK_INT(registry_list_tags_open(&l, c, "a", &o), REGISTRY_EINVAL);
	CHECK(l == NULL);
	const char *name = "x";
	CHECK_INT(registry_list_next(&name, NULL), REGISTRY_EINVAL);
	/* Opening does not touch the network; a list is freed unused. */
	o.version = REGISTRY_LIST_OPTIONS_VERSION;
	o.page_size = 100;
	o.last = "v1.0&n=1 x"; /* escaped into the query, not cut at the & */
	CHECK_INT(registry_list_tags_open(&l, c, "library/ubuntu", &o), 0);
	CHECK_INT(registry_list_next(NULL, l), REGISTRY_EINVAL);
	registry_list_free(l);
	CHECK_INT(registry_list_catalog_open(&l, c, NULL), 0);
	registry_list_free(l);
	registry_list_free(NULL);

	registry_manifest *m = (registry_manifest *)1;
	const char *d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	registry_referrers_fetch_options ro = REGISTRY_REFERRERS_FETCH_OPTIONS_INIT;
	CHECK_INT(registry_referrers_fetch(NULL, c, "a", d, NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_referrers_fetch(&m, c, "a", NULL, NULL), REGISTRY_EINVAL);
	CHECK(m == NULL);
	CHECK_INT(registry_referrers_fetch(&m, c, "a", "sha256:1234", NULL), REGISTRY_EFORMAT);
	CHECK_INT(registry_referrers_fetch(&m, c, "a", "../../x", &ro), REGISTRY_EFORMAT);
	CHECK_INT(registry_referrers_fetch(&m, c, "A", d, NULL), REGISTRY_EFORMAT);
	ro.artifact_type = "not a media type";
	CHECK_INT(registry_referrers_fetch(&m, c, "a", d, &ro), REGISTRY_EINVAL);
	ro.artifact_type = "a/b&x=1";
	CHECK_INT(registry_referrers_fetch(&m, c, "a", d, &ro), REGISTRY_EINVAL);
	ro.artifact_type = NULL;
	ro.flags = 0x80000000u;
	CHECK_INT(registry_referrers_fetch(&m, c, "a", d, &ro), REGISTRY_EINVAL);
	CHECK(strstr(registry_error_message(registry_error_last()), "registry_referrers_fetch: unknown flags") != NULL);
	ro.flags = 0;
	ro.version = 0;
	CHECK_INT(registry_referrers_fetch(&m, c, "a", d, &ro), REGISTRY_EINVAL);
	CHECK(m == NULL);
	registry_client_free(c);
}

int main(void)
{
	RUN(test_link_simple);
	RUN(test_link_several);
	RUN(test_link_malformed);
	RUN(test_next_url);
	RUN(test_pages);
	RUN(test_pages_hostile);
	RUN(test_many_names);
	RUN(test_url_set);
	RUN(test_api_arguments);
	return CHECK_DONE();
}

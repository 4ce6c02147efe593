/* The error model: codes, names, the thread-local record and its clearing. */
#include <errno.h>
#include <pthread.h>

#include "check.h"
#include "internal.h"

static void test_strerror(void)
{
	CHECK_STR(registry_strerror(0), "success");
	CHECK_STR(registry_strerror(REGISTRY_ENOTFOUND), "not found");
	CHECK_STR(registry_strerror(REGISTRY_ECONFLICT), "conflict");
	CHECK_STR(registry_strerror(-1000), "unknown error");
	CHECK_STR(registry_strerror(5), "unknown error");
}

static void test_codes_are_fixed(void)
{
	/* The ABI promise: these values never change. */
	CHECK_INT(REGISTRY_EINVAL, -1);
	CHECK_INT(REGISTRY_ENOMEM, -2);
	CHECK_INT(REGISTRY_EIO, -3);
	CHECK_INT(REGISTRY_ENETWORK, -4);
	CHECK_INT(REGISTRY_ETLS, -5);
	CHECK_INT(REGISTRY_EAUTH, -6);
	CHECK_INT(REGISTRY_EDENIED, -7);
	CHECK_INT(REGISTRY_ENOTFOUND, -8);
	CHECK_INT(REGISTRY_EDIGEST, -9);
	CHECK_INT(REGISTRY_EFORMAT, -10);
	CHECK_INT(REGISTRY_EUNSUPPORTED, -11);
	CHECK_INT(REGISTRY_ETOOLARGE, -12);
	CHECK_INT(REGISTRY_ERATELIMIT, -13);
	CHECK_INT(REGISTRY_ECANCELED, -14);
	CHECK_INT(REGISTRY_EPROTOCOL, -15);
	CHECK_INT(REGISTRY_ECONFLICT, -16);
	CHECK_INT(REGISTRY_ESERVER, -17);
	CHECK_STR(registry_strerror(REGISTRY_ESERVER), "server error");
	CHECK_INT(REGISTRY_ETIMEDOUT, -18);
	CHECK_STR(registry_strerror(REGISTRY_ETIMEDOUT), "timed out");
	CHECK_INT(REGISTRY_EPOLICY, -19);
	CHECK_STR(registry_strerror(REGISTRY_EPOLICY), "refused by local policy");
}

/* The entry of a public function, as the library's own do it. */
static int public_call(void)
{
	REGISTRY__ENTER(rc);
	return 0;
}

static void test_record(void)
{
	CHECK_INT(public_call(), 0);
	const registry_error *e = registry_error_last();
	CHECK(e != NULL);
	CHECK_INT(registry_error_code(e), 0);
	CHECK_STR(registry_error_message(e), "");

	CHECK_INT(registry__fail(REGISTRY_ENOTFOUND, "manifest %s not found", "x"), REGISTRY_ENOTFOUND);
	registry__error_set_http(404, "http://127.0.0.1:1/v2/x/manifests/y");
	registry__error_set_registry("MANIFEST_UNKNOWN", "{\"Tag\":\"y\"}");
	CHECK_INT(registry_error_code(e), REGISTRY_ENOTFOUND);
	CHECK_STR(registry_error_message(e), "manifest x not found");
	CHECK_INT(registry_error_http_status(e), 404);
	CHECK_STR(registry_error_registry_code(e), "MANIFEST_UNKNOWN");
	CHECK_STR(registry_error_detail(e), "{\"Tag\":\"y\"}");
	CHECK_STR(registry_error_url(e), "http://127.0.0.1:1/v2/x/manifests/y");

	/* A new public call starts clean. */
	CHECK_INT(public_call(), 0);
	CHECK_INT(registry_error_code(e), 0);
	CHECK_STR(registry_error_url(e), "");

	/* NULL-safe accessors. */
	CHECK_INT(registry_error_code(NULL), 0);
	CHECK_STR(registry_error_message(NULL), "");
}

/* A public function that fails, then calls another public function (as a
 * manifest fetch validates a digest after the body failed to parse): the
 * inner call must not wipe the failure. */
static int failing_public_call(void)
{
	REGISTRY__ENTER(rc);
	rc = registry__fail(REGISTRY_EFORMAT, "manifest: not JSON");
	registry__error_set_http(200, "http://r/v2/a/manifests/b");
	if (registry_digest_validate("sha256:0000000000000000000000000000000000000000000000000000000000000000") != 0)
		return REGISTRY_EINVAL;
	return public_call() ? REGISTRY_EINVAL : rc;
}

static void test_nested_calls_keep_the_record(void)
{
	const registry_error *e = registry_error_last();
	CHECK_INT(failing_public_call(), REGISTRY_EFORMAT);
	CHECK_INT(registry_error_code(e), REGISTRY_EFORMAT);
	CHECK_STR(registry_error_message(e), "manifest: not JSON");
	CHECK_INT(registry_error_http_status(e), 200);
	/* ...and the next outermost call starts clean again. */
	CHECK_INT(public_call(), 0);
	CHECK_INT(registry_error_code(e), 0);
}

static void test_fail_writes_a_fresh_record(void)
{
	const registry_error *e = registry_error_last();
	registry__fail(REGISTRY_ENOTFOUND, "first");
	registry__error_set_http(404, "http://r/x");
	registry__error_set_registry("MANIFEST_UNKNOWN", "d");
	registry__fail(REGISTRY_EIO, "second: %s", registry_error_message(e));
	CHECK_INT(registry_error_code(e), REGISTRY_EIO);
	CHECK_STR(registry_error_message(e), "second: first");
	CHECK_INT(registry_error_http_status(e), 0);
	CHECK_STR(registry_error_url(e), "");
	CHECK_STR(registry_error_registry_code(e), "");
	CHECK_STR(registry_error_detail(e), "");
}

static void test_control_characters_escaped(void)
{
	const registry_error *e = registry_error_last();
	registry__fail(REGISTRY_EAUTH, "realm %s", "\x1b[2J\nfake: success\r\x7f\xc2\x9b" "1m\xe2\x80\xae\xff caf\xc3\xa9 \xe6\x97\xa5");
	CHECK_STR(registry_error_message(e),
	          "realm \\x1b[2J\\x0afake: success\\x0d\\x7f\\u009b1m\\u202e\\xff caf\xc3\xa9 \xe6\x97\xa5");
	registry__error_set_registry("X\x1b]0;t\x07", "{\"m\":\"\x1b[31m\"}");
	registry__error_set_http(500, "http://r/\x1b[2J");
	CHECK_STR(registry_error_registry_code(e), "X\\x1b]0;t\\x07");
	CHECK_STR(registry_error_detail(e), "{\"m\":\"\\x1b[31m\"}");
	CHECK_STR(registry_error_url(e), "http://r/\\x1b[2J");
	/* Cut at a character boundary, never inside an escape or a UTF-8 sequence. */
	char out[8];
	registry__escape_text(out, sizeof(out), "ab\x1b\x1b");
	CHECK_STR(out, "ab\\x1b");
	registry__escape_text(out, sizeof(out), "abcde\xc3\xa9");
	CHECK_STR(out, "abcde\xc3\xa9");
	registry__escape_text(out, sizeof(out), "abcdef\xc3\xa9");
	CHECK_STR(out, "abcdef");
}

/* A user callback that calls the library (which clears and refills the
 * record) and succeeds. */
static int nosy_progress(const registry_progress *p, void *ud)
{
	(void)p;
	(void)ud;
	CHECK(registry_digest_validate("nonsense") != 0);
	CHECK_INT(registry_error_code(registry_error_last()), REGISTRY_EFORMAT);
	return 0;
}

static int operation_with_callback(void)
{
	REGISTRY__ENTER(rc);
	rc = registry__fail(REGISTRY_ENETWORK, "connection reset");
	registry__call_progress(nosy_progress, NULL, NULL);
	public_call(); /* still nested: must not clear */
	return rc;
}

static void test_record_kept_around_callbacks(void)
{
	const registry_error *e = registry_error_last();
	CHECK_INT(operation_with_callback(), REGISTRY_ENETWORK);
	CHECK_INT(registry_error_code(e), REGISTRY_ENETWORK);
	CHECK_STR(registry_error_message(e), "connection reset");
}

static void test_strerror_r(void)
{
	char buf[64];
	CHECK_STR(registry__strerror_r(ENOENT, buf, sizeof(buf)), strerror(ENOENT));
	CHECK_STR(registry__errno_text(EACCES), strerror(EACCES));
}

static void test_long_message_truncated(void)
{
	char big[4096];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	registry__fail(REGISTRY_EIO, "%s", big);
	CHECK(strlen(registry_error_message(registry_error_last())) < sizeof(big));
}

static void *thread_fn(void *arg)
{
	(void)arg;
	/* Another thread sees its own, empty record. */
	return (void *)(long)registry_error_code(registry_error_last());
}

static void test_thread_local(void)
{
	registry__fail(REGISTRY_EAUTH, "x");
	pthread_t t;
	void *res = (void *)1;
	CHECK_INT(pthread_create(&t, NULL, thread_fn, NULL), 0);
	pthread_join(t, &res);
	CHECK(res == NULL);
	CHECK_INT(registry_error_code(registry_error_last()), REGISTRY_EAUTH);
}

static void test_buf(void)
{
	registry__buf b;
	registry__buf_init(&b, 8);
	CHECK_INT(registry__buf_puts(&b, "1234"), 0);
	CHECK_INT(registry__buf_printf(&b, "%d", 5678), 0);
	CHECK_STR(b.data, "12345678");
	CHECK_INT(registry__buf_puts(&b, "9"), REGISTRY_ETOOLARGE);
	CHECK_INT(b.len, 8);
	char *s = registry__buf_detach(&b);
	CHECK_STR(s, "12345678");
	registry_free(s);
	CHECK(b.data == NULL);
	registry__buf_free(&b);
}

static void test_version(void)
{
	CHECK_STR(registry_version(), REGISTRY_VERSION_STRING);
	CHECK_INT(registry_global_init(), 0);
	CHECK_INT(registry_global_init(), 0);
}

int main(void)
{
	RUN(test_strerror);
	RUN(test_codes_are_fixed);
	RUN(test_record);
	RUN(test_nested_calls_keep_the_record);
	RUN(test_fail_writes_a_fresh_record);
	RUN(test_control_characters_escaped);
	RUN(test_record_kept_around_callbacks);
	RUN(test_strerror_r);
	RUN(test_long_message_truncated);
	RUN(test_thread_local);
	RUN(test_buf);
	RUN(test_version);
	return CHECK_DONE();
}

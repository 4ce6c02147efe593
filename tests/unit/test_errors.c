/* The error model: codes, names, the thread-local record and its clearing. */
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
}

static void test_record(void)
{
	CHECK_INT(registry__enter(), 0);
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
	CHECK_INT(registry__enter(), 0);
	CHECK_INT(registry_error_code(e), 0);
	CHECK_STR(registry_error_url(e), "");

	/* NULL-safe accessors. */
	CHECK_INT(registry_error_code(NULL), 0);
	CHECK_STR(registry_error_message(NULL), "");
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
	registry_buf b;
	registry_buf_init(&b, 8);
	CHECK_INT(registry_buf_puts(&b, "1234"), 0);
	CHECK_INT(registry_buf_printf(&b, "%d", 5678), 0);
	CHECK_STR(b.data, "12345678");
	CHECK_INT(registry_buf_puts(&b, "9"), REGISTRY_ETOOLARGE);
	CHECK_INT(b.len, 8);
	char *s = registry_buf_detach(&b);
	CHECK_STR(s, "12345678");
	registry_free(s);
	CHECK(b.data == NULL);
	registry_buf_free(&b);
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
	RUN(test_long_message_truncated);
	RUN(test_thread_local);
	RUN(test_buf);
	RUN(test_version);
	return CHECK_DONE();
}

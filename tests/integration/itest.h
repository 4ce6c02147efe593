/* Helpers for integration tests run under tests/harness/registry_harness.py. */
#ifndef REGISTRY_ITEST_H
#define REGISTRY_ITEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* usleep, mkdtemp, setenv */
#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
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
static inline registry_client *itest_client(int with_credentials)
{
	registry_client *c = NULL;
	if (registry_client_new(&c, getenv("REGISTRY_TEST_HOST")) != 0) {
		fprintf(stderr, "client_new: %s\n", registry_error_message(registry_error_last()));
		exit(1);
	}
	if (getenv("REGISTRY_TEST_CA"))
		registry_client_set_ca(c, getenv("REGISTRY_TEST_CA"), NULL);
	if (with_credentials && getenv("REGISTRY_TEST_USER"))
		registry_client_set_credentials(c, getenv("REGISTRY_TEST_USER"),
		                                getenv("REGISTRY_TEST_PASSWORD"));
	return c;
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

#endif

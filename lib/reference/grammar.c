/* The reference grammar, hand-written: hosts, repository paths, tags. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "grammar.h"
#include "internal.h"

#define HOST_MAX 253 /* DNS name, without port */
#define LABEL_MAX 63

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || is_digit(c); }
static int is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
static int is_word(char c) { return is_alnum(c) || c == '_'; }

int registry__reference_looks_like_host(const char *s, size_t len)
{
	return memchr(s, '.', len) || memchr(s, ':', len) || (len > 0 && s[0] == '[') ||
	       (len == 9 && memcmp(s, "localhost", 9) == 0);
}

static int check_port(const char *s, size_t len)
{
	if (len == 0)
		return registry__fail(REGISTRY_EFORMAT, "registry port after ':' is empty");
	unsigned long port = 0;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i])) {
			char d[8];
			registry__describe_char(d, (unsigned char)s[i]);
			return registry__fail(REGISTRY_EFORMAT, "registry port: invalid character %s", d);
		}
		if (port <= 65535)
			port = port * 10 + (unsigned long)(s[i] - '0');
	}
	if (port < 1 || port > 65535) {
		char ex[16];
		registry__excerpt(ex, sizeof(ex), s, len);
		return registry__fail(REGISTRY_EFORMAT, "registry port %s is out of range 1-65535", ex);
	}
	return 0;
}

static int check_ipv6(const char *s, size_t len)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct in6_addr addr;
	int ok = len > 0 && len < sizeof(buf);
	for (size_t i = 0; ok && i < len; i++)
		ok = is_digit(s[i]) || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F') ||
		     s[i] == ':' || s[i] == '.';
	if (ok) {
		memcpy(buf, s, len);
		buf[len] = '\0';
		ok = inet_pton(AF_INET6, buf, &addr) == 1;
	}
	if (!ok) {
		char ex[64];
		registry__excerpt(ex, sizeof(ex), s, len);
		return registry__fail(REGISTRY_EFORMAT, "registry host: \"[%s]\" is not an IPv6 address", ex);
	}
	return 0;
}

/* All digits and dots: then it must be a dotted-quad IPv4 address. */
static int check_ipv4(const char *s, size_t len)
{
	char buf[INET_ADDRSTRLEN + 1];
	struct in_addr addr;
	if (len < sizeof(buf)) {
		memcpy(buf, s, len);
		buf[len] = '\0';
		if (inet_pton(AF_INET, buf, &addr) == 1)
			return 0;
	}
	char ex[64];
	registry__excerpt(ex, sizeof(ex), s, len);
	return registry__fail(REGISTRY_EFORMAT, "registry host \"%s\" is not an IPv4 address", ex);
}

static int check_hostname(const char *s, size_t len)
{
	char ex[96];
	registry__excerpt(ex, sizeof(ex), s, len);
	if (len > HOST_MAX)
		return registry__fail(REGISTRY_EFORMAT, "registry host \"%s\" is longer than %d characters",
		                      ex, HOST_MAX);
	int numeric = 1;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			if (!is_alnum(s[i]) && s[i] != '-') {
				char d[8];
				registry__describe_char(d, (unsigned char)s[i]);
				return registry__fail(REGISTRY_EFORMAT,
				                      "registry host \"%s\": invalid character %s", ex, d);
			}
			if (!is_digit(s[i]))
				numeric = 0;
			continue;
		}
		size_t n = i - start;
		if (n == 0)
			return registry__fail(REGISTRY_EFORMAT, "registry host \"%s\" has an empty label", ex);
		if (n > LABEL_MAX)
			return registry__fail(REGISTRY_EFORMAT,
			                      "registry host \"%s\" has a label longer than %d characters",
			                      ex, LABEL_MAX);
		if (s[start] == '-' || s[i - 1] == '-')
			return registry__fail(REGISTRY_EFORMAT,
			                      "registry host \"%s\": a label starts or ends with '-'", ex);
		start = i + 1;
	}
	return numeric ? check_ipv4(s, len) : 0;
}

int registry__reference_check_host(const char *s, size_t len)
{
	if (len == 0)
		return registry__fail(REGISTRY_EFORMAT, "registry host is empty");
	const char *port = NULL;
	size_t host_len = len;
	int rc;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (!close)
			return registry__fail(REGISTRY_EFORMAT, "registry host: '[' without ']'");
		if ((rc = check_ipv6(s + 1, (size_t)(close - s) - 1)))
			return rc;
		host_len = (size_t)(close - s) + 1;
		if (host_len < len && s[host_len] != ':')
			return registry__fail(REGISTRY_EFORMAT, "registry host: only ':port' may follow ']'");
	} else {
		const char *colon = memchr(s, ':', len);
		if (colon)
			host_len = (size_t)(colon - s);
		if (host_len == 0)
			return registry__fail(REGISTRY_EFORMAT, "registry host before ':' is empty");
		if ((rc = check_hostname(s, host_len)))
			return rc;
	}
	if (host_len < len) {
		port = s + host_len + 1;
		return check_port(port, len - host_len - 1);
	}
	return 0;
}

/* [a-z0-9]+ ((. | _ | __ | -+) [a-z0-9]+)* */
static int component_ok(const char *s, size_t len)
{
	size_t i = 0;
	for (;;) {
		if (i >= len || !is_lower_alnum(s[i]))
			return 0;
		while (i < len && is_lower_alnum(s[i]))
			i++;
		if (i == len)
			return 1;
		if (s[i] == '.')
			i++;
		else if (s[i] == '_')
			i += (i + 1 < len && s[i + 1] == '_') ? 2 : 1;
		else if (s[i] == '-')
			while (i < len && s[i] == '-')
				i++;
		else
			return 0;
	}
}

int registry__reference_check_repository(const char *s, size_t len)
{
	if (len == 0)
		return registry__fail(REGISTRY_EFORMAT, "repository name is empty");
	char ex[96];
	if (len > REGISTRY_REFERENCE_NAME_MAX) {
		registry__excerpt(ex, sizeof(ex), s, len);
		return registry__fail(REGISTRY_EFORMAT,
		                      "repository name \"%s\" is too long: %zu characters, at most %d",
		                      ex, len, REGISTRY_REFERENCE_NAME_MAX);
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] >= 'A' && s[i] <= 'Z') {
			registry__excerpt(ex, sizeof(ex), s, len);
			return registry__fail(REGISTRY_EFORMAT, "repository name must be lowercase: \"%s\"", ex);
		}
	}
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '/')
			continue;
		size_t n = i - start;
		if (n == 0)
			return registry__fail(REGISTRY_EFORMAT,
			                      "repository name has an empty component (leading, trailing "
			                      "or doubled '/')");
		if (!component_ok(s + start, n)) {
			registry__excerpt(ex, sizeof(ex), s + start, n);
			return registry__fail(REGISTRY_EFORMAT,
			                      "repository component \"%s\" is invalid (lowercase letters and "
			                      "digits, joined by '.', '_', '__' or '-')", ex);
		}
		start = i + 1;
	}
	return 0;
}

int registry__reference_check_tag(const char *s, size_t len)
{
	if (len == 0)
		return registry__fail(REGISTRY_EFORMAT, "tag is empty");
	if (len > REGISTRY_REFERENCE_TAG_MAX) {
		char ex[48];
		registry__excerpt(ex, sizeof(ex), s, len);
		return registry__fail(REGISTRY_EFORMAT, "tag \"%s\" is too long: %zu characters, at most %d",
		                      ex, len, REGISTRY_REFERENCE_TAG_MAX);
	}
	for (size_t i = 0; i < len; i++) {
		if (is_word(s[i]) || (i > 0 && (s[i] == '.' || s[i] == '-')))
			continue;
		char d[8];
		registry__describe_char(d, (unsigned char)s[i]);
		return registry__fail(REGISTRY_EFORMAT,
		                      "tag: invalid character %s at offset %zu (letters, digits, '_', "
		                      "and after the first character '.' and '-')", d, i);
	}
	return 0;
}

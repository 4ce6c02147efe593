/* URL helpers on libcurl's URL API: origins, resolution, loopback hosts. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "transport.h"

int registry__origin_of(registry__origin *o, const char *url)
{
	memset(o, 0, sizeof(*o));
	CURLU *u = curl_url();
	if (!u)
		return registry__nomem();
	char *scheme = NULL, *host = NULL, *port = NULL;
	int rc = REGISTRY_EFORMAT;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
	    strlen(scheme) < sizeof(o->scheme) && strlen(host) < sizeof(o->host)) {
		for (size_t i = 0; scheme[i]; i++)
			o->scheme[i] = (char)(scheme[i] | 0x20);
		for (size_t i = 0; host[i]; i++)
			o->host[i] = (char)((host[i] >= 'A' && host[i] <= 'Z') ? host[i] | 0x20 : host[i]);
		o->port = strtol(port, NULL, 10);
		rc = 0;
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

int registry__origin_equal(const registry__origin *a, const registry__origin *b)
{
	return strcmp(a->scheme, b->scheme) == 0 && strcmp(a->host, b->host) == 0 &&
	       a->port == b->port;
}

int registry__url_resolve(char **out, const char *base, const char *ref)
{
	*out = NULL;
	CURLU *u = curl_url();
	if (!u)
		return registry__nomem();
	char *full = NULL;
	int rc = REGISTRY_EFORMAT;
	if (curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, ref, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK) {
		*out = registry__strdup(full);
		rc = *out ? 0 : REGISTRY_ENOMEM;
	}
	curl_free(full);
	curl_url_cleanup(u);
	return rc;
}

int registry__host_is_loopback(const char *host)
{
	char buf[64];
	size_t n = strlen(host);
	if (n >= sizeof(buf))
		return 0;
	if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
	} else {
		memcpy(buf, host, n + 1);
	}
	if (strcasecmp(buf, "localhost") == 0)
		return 1;
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, buf, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, buf, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

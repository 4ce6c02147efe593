/*
 * Foreign layers (descriptors with "urls", e.g. Windows base layers marked
 * non-distributable): fetched from their URLs only when the caller opts in
 * (REGISTRY_PULL_FOREIGN_LAYERS). The URL is another party's: no
 * credentials and none of the caller's extra headers go there (the request
 * is external, as a token realm's), only http and https are followed, and
 * the bytes are kept only when they hash to the descriptor's digest and
 * size.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "digest/hash.h"
#include "ops_impl.h"
#include "store/store_impl.h"
#include "transport/transport.h"

typedef struct foreign_sink {
	int fd;
	registry__hash h;
	int64_t written, limit;
	int err;
} foreign_sink;

static int sink(const char *data, size_t len, void *ud)
{
	foreign_sink *s = ud;
	/* The code itself stops the transfer: the request returns it (a
	 * positive "stop" would come back as the request's result). */
	if (s->written + (int64_t)len > s->limit)
		return s->err = REGISTRY_ETOOLARGE;
	int err = registry__store_write_all(s->fd, data, len);
	if (err)
		return s->err = registry__store_io_fail(err, "store: cannot write a foreign layer");
	s->written += (int64_t)len;
	return registry__hash_update(&s->h, data, len);
}

int registry__foreign_url_check(const char *digest, const char *url)
{
	if (strncasecmp(url, "https://", 8) != 0 && strncasecmp(url, "http://", 7) != 0)
		return registry__fail(REGISTRY_EUNSUPPORTED, "foreign layer %s: %.200s is not an http(s) URL", digest,
		                      url);
	return 0;
}

/* One URL into the temporary file @fd: 0 when its bytes are the layer's. */
static int fetch_url(registry_client *c, const registry_descriptor *d, const char *url, int fd)
{
	const char *digest = registry_descriptor_digest(d);
	int rc = registry__foreign_url_check(digest, url);
	if (rc)
		return rc;
	if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
		return registry__store_io_fail(errno, "store: cannot reset a foreign layer's file");
	foreign_sink s = {.fd = fd, .limit = registry_descriptor_size(d)};
	rc = registry__hash_init(&s.h, strncmp(digest, "sha512:", 7) == 0 ? REGISTRY_DIGEST_SHA512
	                                                                      : REGISTRY_DIGEST_SHA256);
	if (rc)
		return rc;
	registry__request req = {.url = url, .sink = sink, .sink_ud = &s, .refuse_link_local = 1};
	registry__response resp;
	registry__response_init(&resp);
	char what[600];
	snprintf(what, sizeof(what), "fetching foreign layer %s", digest);
	rc = registry__client_do_external(c, &req, NULL, &resp);
	if (s.err && (!rc || rc == REGISTRY_ECANCELED || rc == s.err))
		rc = s.err == REGISTRY_ETOOLARGE ? registry__fail(REGISTRY_ETOOLARGE, "%s: more than its %lld bytes",
		                                                     what, (long long)s.limit)
		                                 : s.err;
	if (!rc && resp.status != 200)
		rc = registry__response_fail(&resp, what);
	char actual[REGISTRY_DIGEST_STRING_MAX];
	if (!rc) {
		registry__hash_final(&s.h, actual);
		if (s.written != s.limit || strcmp(actual, digest) != 0)
			rc = registry__fail(REGISTRY_EDIGEST, "%s: the URL served %lld bytes hashing to %s", what,
			                    (long long)s.written, actual);
	}
	registry__hash_cleanup(&s.h);
	registry__response_free(&resp);
	return rc;
}

int registry__pull_foreign(registry_client *c, registry_store *st, const registry_descriptor *d)
{
	const char *digest = registry_descriptor_digest(d);
	int rc = registry_store_has(st, digest);
	if (rc != 0)
		return rc < 0 ? rc : 0; /* there already */
	char rel[STORE_REL_MAX];
	int fd = -1;
	if ((rc = registry__store_temp_open(st, rel, &fd)))
		return rc;
	rc = REGISTRY_ENOTFOUND;
	for (size_t i = 0; rc && i < registry_descriptor_url_count(d); i++)
		rc = fetch_url(c, d, registry_descriptor_url(d, i), fd); /* the next URL after a failure */
	if (!rc)
		rc = registry__store_install(st, fd, rel, digest);
	close(fd);
	if (rc)
		unlinkat(st->blobs_fd, rel, 0);
	return rc;
}

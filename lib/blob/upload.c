/*
 * Blob uploads (OCI distribution spec, "pushing blobs"): HEAD to skip what
 * the registry has, an optional cross-repository mount, then a session
 * (POST) that takes the blob in one streamed PUT, or in PATCH chunks and a
 * closing PUT with the digest. A chunk is read into a buffer first (a failed
 * PATCH goes on from there), or, for a file the caller marks so, from the
 * source while it is sent (a failed PATCH goes back with the seek).
 *
 * The source is read once, front to back, and hashed as it is read; going
 * back (a retried PUT, a resumed or restarted session) re-reads without
 * hashing again, and skipping forward hashes what it skips, so the digest
 * always covers every byte exactly once. The digest is checked the moment
 * the last byte is read, before it is handed to the registry, so a wrong
 * claimed digest never gets committed.
 *
 * A PATCH is not retried blindly: after a failure we ask the registry where
 * the session stands (GET: "Range: 0-N") and go on from N+1, from the chunk
 * buffer when possible. Registry 2.8 cancels a session whose URL state is
 * stale, so a session that is gone is started again from byte 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob/upload_impl.h"
#include "digest/hash.h"
#include "transport/client_impl.h"

#define OCTET_STREAM "Content-Type: application/octet-stream"
/* The largest chunk buffer we allocate, whatever is asked (or demanded by
 * OCI-Chunk-Min-Length). */
#define CHUNK_MAX ((size_t)1 << 30)
#define SKIP_BUF 65536

typedef struct up {
	registry_client *c;
	const registry__upload_params *p;
	const registry__upload_source *src;
	registry__progress_ctx *prog;
	char scope[1200];
	char *location; /* absolute URL of the session */
	size_t chunk;
	/* the source */
	int64_t pos;    /* next byte the source gives */
	int64_t hashed; /* bytes [0, hashed) went into the hash */
	registry__hash hash;
	int hash_ready;
	int finished; /* the whole source was read and matched the digest */
	/* progress of this blob */
	int64_t done;
	double last_report;
	/* the chunk a PATCH is sending */
	const char *body;
	size_t body_len, body_off;
	int64_t body_base;
} up;

int registry__progress_report(registry__progress_ctx *p, const char *digest, int state,
                              int64_t done, int64_t total)
{
	if (!p)
		return 0;
	if (!p->cb || p->canceled)
		return p->canceled;
	registry_progress r = {
		.digest = digest, .state = state, .done = done, .total = total,
		.overall_done = p->overall_done, .overall_total = p->overall_total,
		.blobs_done = p->blobs_done, .blobs_total = p->blobs_total,
	};
	if (registry__call_progress(p->cb, &r, p->ud))
		p->canceled = 1;
	return p->canceled;
}

static int canceled_error(void)
{
	return registry__fail(REGISTRY_ECANCELED, "upload canceled by the progress callback");
}

/* Whether the progress callback or the client's cancel hook asked to stop. */
static int upload_canceled(void *ud)
{
	const up *u = ud;
	return u->prog->canceled || registry__client_canceled(u->c);
}

/* Bytes of this blob moved so far: keeps the overall count in step. */
static void advance(up *u, int64_t done, int force)
{
	u->prog->overall_done += done - u->done;
	u->done = done;
	double n = registry__now_s();
	if (force || n - u->last_report >= 0.1) {
		u->last_report = n;
		registry__progress_report(u->prog, u->p->digest, REGISTRY_PROGRESS_RUNNING, done, u->p->size);
	}
}

/* ---- The source --------------------------------------------------------- */

static int source_error(up *u, int64_t code)
{
	int rc = (code < 0 && code >= -1000) ? (int)code : REGISTRY_EIO;
	if (registry_error_code(registry_error_last()) != rc)
		registry__fail(rc, "blob %s: the source failed (%s)", u->p->digest, registry_strerror(rc));
	return rc;
}

/* The last byte was read: nothing may follow, and the digest must match. */
static int source_finish(up *u)
{
	if (u->finished)
		return 0;
	if (u->p->size >= 0) {
		char probe[1];
		int64_t n = u->src->read(probe, sizeof(probe), u->src->ud);
		if (n < 0)
			return source_error(u, n);
		if (n > 0)
			return registry__fail(REGISTRY_EDIGEST, "blob %s: the source holds more than the %" PRId64
			                      " bytes announced", u->p->digest, u->p->size);
	}
	char got[REGISTRY_DIGEST_STRING_MAX];
	int rc = registry__hash_final(&u->hash, got);
	if (rc)
		return rc;
	if (strcmp(got, u->p->digest) != 0)
		return registry__fail(REGISTRY_EDIGEST, "blob %s: the %" PRId64 " bytes read hash to %s",
		                      u->p->digest, u->pos, got);
	u->finished = 1;
	return 0;
}

/* Read from the source, hashing bytes not hashed before. 0 at the end. */
static int64_t source_read(up *u, char *buf, size_t len)
{
	if (u->p->size >= 0) {
		int64_t left = u->p->size - u->pos;
		if (left <= 0) {
			int rc = source_finish(u);
			return rc ? rc : 0;
		}
		if ((uint64_t)len > (uint64_t)left)
			len = (size_t)left;
	}
	if (len == 0)
		return 0;
	int64_t n = u->src->read(buf, len, u->src->ud);
	if (n < 0)
		return source_error(u, n);
	if ((uint64_t)n > (uint64_t)len)
		return registry__fail(REGISTRY_EINVAL, "blob %s: the read callback returned more than asked",
		                      u->p->digest);
	if (n == 0) {
		if (u->p->size >= 0)
			return registry__fail(REGISTRY_EDIGEST, "blob %s: the source ended after %" PRId64
			                      " of %" PRId64 " bytes", u->p->digest, u->pos, u->p->size);
		int rc = source_finish(u);
		return rc ? rc : 0;
	}
	if (u->pos + n > u->hashed) {
		int64_t skip = u->hashed - u->pos;
		int rc = registry__hash_update(&u->hash, buf + skip, (size_t)(n - skip));
		if (rc)
			return rc;
		u->hashed = u->pos + n;
	}
	u->pos += n;
	if (u->p->size >= 0 && u->pos == u->p->size) {
		int rc = source_finish(u);
		if (rc)
			return rc;
	}
	return n;
}

/* Put the source at @off: back through its seek, forward by reading. */
static int source_seek(up *u, int64_t off)
{
	if (off == u->pos)
		return 0;
	if (off < u->pos || (u->src->seek && u->pos < u->hashed)) {
		if (!u->src->seek)
			return registry__fail(REGISTRY_EUNSUPPORTED, "blob %s: the source cannot go back to byte %"
			                      PRId64 " (no rewind callback)", u->p->digest, off);
		int64_t to = off < u->hashed ? off : u->hashed;
		int rc = u->src->seek(to, u->src->ud);
		if (rc)
			return source_error(u, rc);
		u->pos = to;
	}
	char tmp[SKIP_BUF];
	while (u->pos < off) {
		int64_t want = off - u->pos;
		int64_t n = source_read(u, tmp, want < (int64_t)sizeof(tmp) ? (size_t)want : sizeof(tmp));
		if (n < 0)
			return (int)n;
		if (n == 0)
			return registry__fail(REGISTRY_EDIGEST, "blob %s: the source ended before byte %" PRId64,
			                      u->p->digest, off);
	}
	return 0;
}

/* ---- Requests ----------------------------------------------------------- */

int registry__upload_location(char **out, const registry__response *resp, const char *digest)
{
	if (!resp->location || !*resp->location)
		return registry__fail(REGISTRY_EPROTOCOL, "upload of %s: the registry sent no Location", digest);
	if (!resp->url)
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	char *abs = NULL;
	int rc = registry__url_resolve(&abs, resp->url, resp->location);
	if (rc)
		return registry__fail(rc, "upload of %s: unusable Location %.200s", digest, resp->location);
	registry__origin o;
	if (registry__origin_of(&o, abs) != 0 ||
	    (strcmp(o.scheme, "https") != 0 && strcmp(o.scheme, "http") != 0)) {
		free(abs);
		return registry__fail(REGISTRY_EPROTOCOL, "upload of %s: Location is not http(s)", digest);
	}
	if (strncmp(resp->url, "https:", 6) == 0 && strcmp(o.scheme, "http") == 0) {
		free(abs);
		return registry__fail(REGISTRY_EPROTOCOL, "upload of %s: refusing a Location from https to "
		                      "plain http", digest);
	}
	free(*out);
	*out = abs;
	return 0;
}

static int set_location(up *u, const registry__response *resp)
{
	return registry__upload_location(&u->location, resp, u->p->digest);
}

/* "0-N" or "bytes=0-N": the registry holds N+1 bytes; -1 if unreadable. */
int64_t registry__upload_range_end(const char *range)
{
	if (!range)
		return -1;
	if (strncmp(range, "bytes=", 6) == 0)
		range += 6;
	/* "0-N" exactly: strtoll reports where the number stopped. */
	char *p = NULL;
	long long start = strtoll(range, &p, 10);
	if (p == range || *p != '-' || start != 0)
		return -1;
	const char *digits = p + 1;
	long long end = strtoll(digits, &p, 10);
	if (p == digits || *p || end < 0 || *digits == '-' || *digits == '+' || *digits == ' ')
		return -1;
	return (int64_t)end;
}

static void session_cancel(up *u)
{
	if (!u->location)
		return;
	registry__error_snapshot *saved = registry__error_save();
	/* Registry 2.8 wants the "delete" action to cancel an upload. */
	char scope[700];
	snprintf(scope, sizeof(scope), "repository:%s:delete", u->p->repository);
	registry__request req = {.method = "DELETE", .url = u->location, .scope = scope, .no_retry = 1};
	registry__response resp;
	registry__response_init(&resp);
	registry__client_do(u->c, &req, &resp);
	registry__response_free(&resp);
	free(u->location);
	u->location = NULL;
	registry__error_restore(saved);
}

size_t registry__upload_chunk_min(const registry__response *resp, size_t chunk)
{
	if (!resp->oci_chunk_min_length)
		return chunk;
	char *end = NULL;
	unsigned long long min = strtoull(resp->oci_chunk_min_length, &end, 10);
	if (end && !*end && min > chunk)
		return min > SIZE_MAX ? SIZE_MAX : (size_t)min;
	return chunk;
}

/* POST a session (or a mount). *mounted = 1 when the registry mounted. */
static int session_start(up *u, const char *mount_from, int *mounted)
{
	*mounted = 0;
	char path[1400];
	if (mount_from)
		snprintf(path, sizeof(path), "/v2/%s/blobs/uploads/?mount=%s&from=%s", u->p->repository,
		         u->p->digest, mount_from);
	else
		snprintf(path, sizeof(path), "/v2/%s/blobs/uploads/", u->p->repository);
	registry__request req = {.method = "POST", .url = path, .scope = u->scope, .body = "",
	                         .body_len = 0};
	registry__response resp;
	registry__response_init(&resp);
	int rc = registry__client_do(u->c, &req, &resp);
	char what[900];
	snprintf(what, sizeof(what), "starting the upload of %s to %s", u->p->digest, u->p->repository);
	if (!rc && resp.status == 201 && mount_from) {
		if (resp.docker_content_digest && strcmp(resp.docker_content_digest, u->p->digest) != 0)
			rc = registry__fail(REGISTRY_EDIGEST, "mounting %s: the registry answered for %.100s",
			                    u->p->digest, resp.docker_content_digest);
		else
			*mounted = 1;
	} else if (!rc && resp.status == 202) {
		rc = set_location(u, &resp);
		u->chunk = registry__upload_chunk_min(&resp, u->chunk);
	} else if (!rc) {
		rc = registry__response_fail(&resp, what);
	}
	registry__response_free(&resp);
	return rc;
}

static int head_blob(up *u, int64_t *size)
{
	char path[1000];
	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", u->p->repository, u->p->digest);
	registry__request req = {.method = "HEAD", .url = path, .scope = u->scope};
	registry__response resp;
	registry__response_init(&resp);
	int rc = registry__client_do(u->c, &req, &resp);
	if (!rc && resp.status == 200) {
		rc = 1;
		if (size)
			*size = resp.content_length;
	} else if (!rc && resp.status == 404) {
		rc = 0;
	} else if (!rc) {
		char what[900];
		snprintf(what, sizeof(what), "checking blob %s in %s", u->p->digest, u->p->repository);
		rc = registry__response_fail(&resp, what);
	}
	registry__response_free(&resp);
	return rc;
}

static long mono_read(char *buf, size_t len, void *ud)
{
	up *u = ud;
	if (u->prog->canceled)
		return canceled_error();
	int64_t n = source_read(u, buf, len);
	if (n < 0)
		return (long)n;
	advance(u, u->pos, 0);
	if (u->prog->canceled)
		return canceled_error();
	return (long)n;
}

static int mono_rewind(void *ud)
{
	up *u = ud;
	int rc = source_seek(u, 0);
	if (!rc)
		advance(u, 0, 1);
	return rc;
}

int registry__upload_answer_lost(int rc)
{
	return rc == REGISTRY_ENETWORK || rc == REGISTRY_ETIMEDOUT || rc == REGISTRY_EIO || rc == REGISTRY_EPROTOCOL ||
	       rc == REGISTRY_ENOTFOUND;
}

/* The closing PUT: the whole blob streamed (monolithic), or no body. */
static int put_final(up *u, int streamed)
{
	size_t n = strlen(u->location) + strlen(u->p->digest) + 16;
	char *url = malloc(n);
	if (!url)
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	snprintf(url, n, "%s%cdigest=%s", u->location, strchr(u->location, '?') ? '&' : '?', u->p->digest);
	const char *const headers[] = {OCTET_STREAM, NULL};
	registry__request req = {.method = "PUT", .url = url, .scope = u->scope, .headers = headers};
	if (streamed) {
		req.source = mono_read;
		req.source_ud = u;
		req.source_len = u->p->size;
		req.rewind = u->src->seek ? mono_rewind : NULL;
	} else {
		req.body = "";
	}
	registry__response resp;
	registry__response_init(&resp);
	int rc = registry__client_do(u->c, &req, &resp);
	free(url);
	char what[900];
	snprintf(what, sizeof(what), "completing the upload of %s to %s", u->p->digest, u->p->repository);
	if (!rc && resp.status != 201 && resp.status != 200 && resp.status != 204)
		rc = registry__response_fail(&resp, what);
	if (!rc && !u->finished)
		rc = registry__fail(REGISTRY_EPROTOCOL, "%s: the registry answered before the whole blob "
		                    "was sent", what);
	if (!rc && resp.docker_content_digest && strcmp(resp.docker_content_digest, u->p->digest) != 0)
		rc = registry__fail(REGISTRY_EDIGEST, "%s: the registry stored it as %.100s", what,
		                    resp.docker_content_digest);
	registry__response_free(&resp);
	if (u->finished && registry__upload_answer_lost(rc)) {
		/* The answer may have been lost after the registry committed: then
		 * the transport's retry of this PUT finds the session gone (404
		 * BLOB_UPLOAD_UNKNOWN), or the retries ran out. The blob decides. */
		registry__error_snapshot *saved = registry__error_save();
		if (head_blob(u, NULL) == 1) {
			registry__error_restore(saved);
			registry__error_clear();
			return 0;
		}
		registry__error_restore(saved);
	}
	return rc;
}

/* A PATCH body: from the chunk buffer, or (body NULL) from the source. */
static long chunk_read(char *buf, size_t len, void *ud)
{
	up *u = ud;
	if (u->prog->canceled)
		return canceled_error();
	size_t left = u->body_len - u->body_off;
	if (len > left)
		len = left;
	if (u->body) {
		memcpy(buf, u->body + u->body_off, len);
	} else if (len) {
		int64_t n = source_read(u, buf, len);
		if (n <= 0)
			return n < 0 ? (long)n : (long)registry__fail(REGISTRY_EDIGEST, "blob %s: the source "
			                                            "ended early", u->p->digest);
		len = (size_t)n;
	}
	u->body_off += len;
	advance(u, u->body_base + (int64_t)u->body_off, 0);
	if (u->prog->canceled)
		return canceled_error();
	return (long)len;
}

static int chunk_rewind(void *ud)
{
	up *u = ud;
	u->body_off = 0;
	return u->body ? 0 : source_seek(u, u->body_base);
}

/*
 * PATCH @len bytes at @offset, from @data or (NULL) read from the source as
 * they are sent (the source is at @offset). On success *held is what the registry now
 * holds (its Range). On failure *retryable says whether asking the
 * registry where it stands and going on makes sense.
 */
static int patch(up *u, const char *data, size_t len, int64_t offset, int64_t *held,
                 registry__response *resp, int *retryable)
{
	char range[96];
	snprintf(range, sizeof(range), "Content-Range: %" PRId64 "-%" PRId64, offset,
	         offset + (int64_t)len - 1);
	const char *const headers[] = {OCTET_STREAM, range, NULL};
	u->body = data;
	u->body_len = len;
	u->body_off = 0;
	u->body_base = offset;
	registry__request req = {.method = "PATCH", .url = u->location, .scope = u->scope,
	                         .headers = headers, .source = chunk_read, .source_ud = u,
	                         .source_len = (long long)len, .rewind = chunk_rewind, .no_retry = 1};
	*retryable = 0;
	int rc = registry__client_do(u->c, &req, resp);
	if (rc) {
		*retryable = rc == REGISTRY_ENETWORK || rc == REGISTRY_ETIMEDOUT;
		return rc;
	}
	if (resp->status == 202 || resp->status == 204) {
		if ((rc = set_location(u, resp)))
			return rc;
		int64_t end = registry__upload_range_end(resp->range);
		*held = end < 0 ? offset + (int64_t)len : end + 1;
		if (*held > offset + (int64_t)len)
			return registry__fail(REGISTRY_EPROTOCOL, "upload of %s: the registry claims %" PRId64
			                      " bytes after %" PRId64 " were sent", u->p->digest, *held,
			                      offset + (int64_t)len);
		return 0;
	}
	/* 416: we and the registry disagree on the offset; 404: the session
	 * expired. Both are settled by asking where the session stands. */
	*retryable = registry__status_retryable(resp->status) || resp->status == 416 ||
	             resp->status == 404;
	char what[900];
	snprintf(what, sizeof(what), "uploading a chunk of %s to %s", u->p->digest, u->p->repository);
	return registry__response_fail(resp, what);
}

/*
 * Where does the session stand? *held = bytes the registry has; *lost = 1
 * when the session is gone (and must be started again).
 */
static int session_status(up *u, int64_t confirmed, int64_t *held, int *lost)
{
	*lost = 0;
	registry__request req = {.method = "GET", .url = u->location, .scope = u->scope};
	registry__response resp;
	registry__response_init(&resp);
	int rc = registry__client_do(u->c, &req, &resp);
	if (!rc && (resp.status == 204 || resp.status == 200)) {
		int64_t end = registry__upload_range_end(resp.range);
		if (end < 0) {
			*lost = 1; /* no usable Range: do not guess */
		} else {
			/* "0-0" is both "nothing" and "one byte" in registry 2.8. */
			*held = end > 0 ? end + 1 : (confirmed == 1 ? 1 : 0);
			if (resp.location)
				rc = set_location(u, &resp);
		}
	} else if (!rc && (resp.status == 404 || resp.status == 400)) {
		*lost = 1;
	} else if (!rc) {
		char what[900];
		snprintf(what, sizeof(what), "checking the upload of %s", u->p->digest);
		rc = registry__response_fail(&resp, what);
	}
	registry__response_free(&resp);
	return rc;
}

/*
 * Whether a PATCH that sent @sent bytes moved the upload on: the registry
 * took at least half of them. Less (down to one byte a request, from a
 * registry that crawls) counts as a failure against the retry budget, with
 * its backoff, so such an upload ends in REGISTRY_EPROTOCOL after the
 * client's retries instead of one request per byte. A PATCH that is
 * progress at least halves what is left of its chunk, so a chunk takes at
 * most about log2(chunk size) of them.
 */
int registry__upload_made_progress(int64_t took, size_t sent)
{
	return took > 0 && (uint64_t)took >= ((uint64_t)sent + 1) / 2;
}

static int send_chunked(up *u)
{
	size_t cap = u->chunk;
	if (u->p->size >= 0 && (uint64_t)cap > (uint64_t)u->p->size)
		cap = (size_t)u->p->size;
	if (cap > CHUNK_MAX) {
		if (u->p->chunk_size < u->chunk) /* raised by OCI-Chunk-Min-Length */
			return registry__fail(REGISTRY_EUNSUPPORTED, "upload of %s: the registry wants chunks of "
			                      "at least %zu bytes", u->p->digest, u->chunk);
		cap = CHUNK_MAX;
	}
	/* A file is read as each PATCH is sent: no buffer, and reading (and
	 * hashing) overlaps with the registry's work. */
	int streamed = u->p->stream_chunks && u->src->seek && u->p->size >= 0;
	char *buf = streamed ? NULL : malloc(cap ? cap : 1);
	if (!streamed && !buf)
		return registry__fail(REGISTRY_ENOMEM, "out of memory for a %zu-byte chunk", cap);
	int64_t offset = 0, buf_start = 0;
	size_t fill = 0;
	int failures = 0, rc = 0;
	registry__response resp;
	registry__response_init(&resp);
	for (;;) {
		if (upload_canceled(u)) {
			rc = registry__fail(REGISTRY_ECANCELED, "upload of %s canceled", u->p->digest);
			break;
		}
		const char *data = NULL;
		size_t len;
		if (streamed) {
			if (offset >= u->p->size)
				break; /* everything is sent */
			if ((rc = source_seek(u, offset)))
				break;
			len = (uint64_t)(u->p->size - offset) < (uint64_t)cap ? (size_t)(u->p->size - offset) : cap;
		} else if (offset < buf_start || offset >= buf_start + (int64_t)fill) {
			if ((rc = source_seek(u, offset)))
				break;
			buf_start = offset;
			fill = 0;
			while (fill < cap) {
				int64_t n = source_read(u, buf + fill, cap - fill);
				if (n < 0) {
					rc = (int)n;
					break;
				}
				if (n == 0)
					break;
				fill += (size_t)n;
			}
			if (rc || fill == 0)
				break; /* an error, or everything is sent */
		}
		if (!streamed) {
			size_t from = (size_t)(offset - buf_start);
			data = buf + from;
			len = fill - from;
		}
		int64_t held = offset;
		int retryable = 0;
		rc = patch(u, data, len, offset, &held, &resp, &retryable);
		if (!rc && registry__upload_made_progress(held - offset, len)) {
			offset = held;
			failures = 0;
			continue;
		}
		if (!rc) {
			retryable = 1; /* too little progress: count it as a failure */
			rc = registry__fail(REGISTRY_EPROTOCOL, "upload of %s: the registry took %" PRId64 " of the "
			                    "%zu bytes of a chunk at %" PRId64 " (progress is at least half)",
			                    u->p->digest, held > offset ? held - offset : 0, len, offset);
			offset = held;
		}
		if (!retryable || rc == REGISTRY_ECANCELED || failures >= u->c->retries)
			break;
		/* The wait may be long (Retry-After, up to the client's longest
		 * wait): the cancel hook is asked all along. */
		if (registry__sleep_ms_unless(registry__backoff_ms(u->c, failures, resp.status ? &resp : NULL),
		                              upload_canceled, u)) {
			rc = registry__fail(REGISTRY_ECANCELED, "upload of %s canceled while waiting to retry",
			                    u->p->digest);
			break;
		}
		failures++;
		int lost = 0;
		if ((rc = session_status(u, offset, &held, &lost)))
			break;
		if (lost) {
			free(u->location);
			u->location = NULL;
			int mounted = 0;
			if ((rc = session_start(u, NULL, &mounted)))
				break;
			held = 0;
		}
		offset = held;
		registry__error_clear();
	}
	registry__response_free(&resp);
	free(buf);
	if (!rc && !u->finished)
		rc = registry__fail(REGISTRY_EPROTOCOL, "upload of %s: the source was not read to its end",
		                    u->p->digest);
	return rc ? rc : put_final(u, 0);
}

static int check_params(registry_client *c, const registry__upload_params *p,
                        const registry__upload_source *src)
{
	if (!c || !p || !src || !src->read)
		return registry__fail(REGISTRY_EINVAL, "blob upload: NULL argument");
	return registry__upload_params_check(p);
}

int registry__upload_params_check(const registry__upload_params *p)
{
	if (!p->repository || !p->digest)
		return registry__fail(REGISTRY_EINVAL, "blob upload: NULL argument");
	if (p->size < -1)
		return registry__fail(REGISTRY_EINVAL, "blob upload: negative size");
	int rc = registry_reference_validate_repository(p->repository);
	if (!rc)
		rc = registry_digest_validate(p->digest);
	if (!rc && p->mount_from)
		rc = registry_reference_validate_repository(p->mount_from);
	if (!rc && !registry__digest_algorithm(p->digest))
		rc = registry__fail(REGISTRY_EUNSUPPORTED, "blob upload: unsupported digest %s", p->digest);
	return rc;
}

int registry__blob_exists(registry_client *c, const char *repository, const char *digest,
                          int64_t *size)
{
	registry__upload_params p = {.repository = repository, .digest = digest, .size = -1};
	up u = {.c = c, .p = &p};
	snprintf(u.scope, sizeof(u.scope), "repository:%s:pull,push", repository);
	return head_blob(&u, size);
}

int registry__blob_upload(registry_client *c, const registry__upload_params *p,
                          const registry__upload_source *src, int *outcome)
{
	int rc = check_params(c, p, src);
	if (rc)
		return rc;
	registry__progress_ctx quiet = {0};
	up u = {.c = c, .p = p, .src = src, .prog = p->progress ? p->progress : &quiet};
	u.chunk = p->chunk_size ? p->chunk_size : REGISTRY_BLOB_CHUNK_SIZE_DEFAULT;
	if (p->mount_from)
		snprintf(u.scope, sizeof(u.scope), "repository:%s:pull,push repository:%s:pull",
		         p->repository, p->mount_from);
	else
		snprintf(u.scope, sizeof(u.scope), "repository:%s:pull,push", p->repository);
	int how = 0;
	if (!p->skip_head) {
		rc = head_blob(&u, NULL);
		if (rc == 1)
			how = REGISTRY__UPLOAD_PRESENT;
		else if (rc < 0)
			goto out;
	}
	rc = 0;
	if (!how) {
		if (registry__progress_report(u.prog, p->digest, REGISTRY_PROGRESS_STARTED, 0, p->size)) {
			rc = canceled_error();
			goto out;
		}
		int mounted = 0;
		if ((rc = session_start(&u, p->mount_from, &mounted)))
			goto out;
		if (mounted) {
			how = REGISTRY__UPLOAD_MOUNTED;
			goto out;
		}
		if ((rc = registry__hash_init(&u.hash, registry__digest_algorithm(p->digest))))
			goto out;
		u.hash_ready = 1;
		if (p->size == 0) {
			rc = source_finish(&u); /* nothing to stream: check the source is empty */
			if (!rc)
				rc = put_final(&u, 0);
		} else if (p->size > 0 && (uint64_t)p->size <= (uint64_t)u.chunk && !p->force_chunked) {
			rc = put_final(&u, 1);
		} else {
			rc = send_chunked(&u);
		}
		if (!rc)
			how = REGISTRY__UPLOAD_SENT;
	}
out:
	if (rc && u.location)
		session_cancel(&u);
	free(u.location);
	if (u.hash_ready)
		registry__hash_cleanup(&u.hash);
	if (!rc && how != REGISTRY__UPLOAD_SENT && p->size > 0) {
		u.prog->overall_done += p->size - u.done;
		u.done = p->size;
	}
	u.prog->blobs_done++;
	if (rc)
		registry__progress_report(u.prog, p->digest, REGISTRY_PROGRESS_FAILED, u.done, p->size);
	else
		registry__progress_report(u.prog, p->digest, how == REGISTRY__UPLOAD_SENT ?
		                          REGISTRY_PROGRESS_DONE : REGISTRY_PROGRESS_SKIPPED, u.done, p->size);
	if (outcome)
		*outcome = rc ? 0 : how;
	return rc;
}

/* ---- File source -------------------------------------------------------- */

static int64_t file_read(void *buf, size_t len, void *ud)
{
	registry__file_source *fs = ud;
	for (;;) {
		ssize_t n = read(fs->fd, buf, len);
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return registry__fail(REGISTRY_EIO, "reading the blob file: %s", registry__errno_text(errno));
	}
}

static int file_seek(int64_t offset, void *ud)
{
	registry__file_source *fs = ud;
	if (lseek(fs->fd, (off_t)offset, SEEK_SET) == (off_t)-1)
		return registry__fail(REGISTRY_EIO, "seeking in the blob file: %s", registry__errno_text(errno));
	return 0;
}

void registry__file_source_from_fd(registry__file_source *fs, int fd)
{
	fs->fd = fd;
	fs->src.read = file_read;
	fs->src.seek = file_seek;
	fs->src.ud = fs;
}

int registry__file_source_open(registry__file_source *fs, const char *path, int64_t *size)
{
	fs->fd = -1;
	if (!path)
		return registry__fail(REGISTRY_EINVAL, "NULL path");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return registry__fail(errno == ENOENT ? REGISTRY_ENOTFOUND : REGISTRY_EIO, "%s: %s", path,
		                      registry__errno_text(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return registry__fail(REGISTRY_EIO, "%s: not a regular file", path);
	}
	registry__file_source_from_fd(fs, fd);
	*size = (int64_t)st.st_size;
	return 0;
}

void registry__file_source_close(registry__file_source *fs)
{
	if (fs && fs->fd >= 0)
		close(fs->fd);
	if (fs)
		fs->fd = -1;
}

/* ---- Public API --------------------------------------------------------- */

typedef struct cb_source {
	registry_blob_read_cb read;
	registry_blob_rewind_cb rewind;
	void *ud;
} cb_source;

static int64_t cb_read(void *buf, size_t len, void *ud)
{
	cb_source *s = ud;
	return registry__call_read(s->read, buf, len, s->ud);
}

/* Rewind, then skip @offset bytes by reading them. */
static int cb_seek(int64_t offset, void *ud)
{
	cb_source *s = ud;
	int rc = registry__call_void(s->rewind, s->ud);
	if (rc)
		return rc < 0 ? rc : REGISTRY_EIO;
	char tmp[SKIP_BUF];
	while (offset > 0) {
		int64_t n = registry__call_read(s->read, tmp, offset < (int64_t)sizeof(tmp) ? (size_t)offset : sizeof(tmp), s->ud);
		if (n < 0)
			return (int)n;
		if (n == 0 || n > offset)
			return registry__fail(REGISTRY_EIO, "the upload source changed after a rewind");
		offset -= n;
	}
	return 0;
}

int registry_blob_upload_options_init(registry_blob_upload_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_blob_upload_options_init: NULL options");
	registry_blob_upload_options init = REGISTRY_BLOB_UPLOAD_OPTIONS_INIT;
	*opts = init;
	return 0;
}

/* Check @o (NULL: the defaults) and turn it into the engine's parameters;
 * @prog must outlive @p. */
int registry__blob_upload_params(const char *fn, const registry_blob_upload_options *o, const char *repository,
                                 const char *digest, int64_t size, registry__progress_ctx *prog,
                                 registry__upload_params *p)
{
	static const registry_blob_upload_options defaults = REGISTRY_BLOB_UPLOAD_OPTIONS_INIT;
	if (!o)
		o = &defaults;
	int rc = registry__options_check(fn, o->version, REGISTRY_BLOB_UPLOAD_OPTIONS_VERSION, o->flags,
	                                 REGISTRY_BLOB_UPLOAD_SKIP_EXISTS_CHECK);
	if (rc)
		return rc;
	*prog = (registry__progress_ctx){.cb = o->progress, .ud = o->userdata, .overall_total = size,
	                                 .blobs_total = 1};
	*p = (registry__upload_params){.repository = repository, .digest = digest, .size = size,
	                               .chunk_size = o->chunk_size,
	                               .skip_head = (o->flags & REGISTRY_BLOB_UPLOAD_SKIP_EXISTS_CHECK) != 0,
	                               .progress = prog};
	return 0;
}

int registry_blob_upload(registry_client *client, const char *repository, const char *digest,
                         int64_t size, registry_blob_read_cb read, registry_blob_rewind_cb rewind,
                         void *source_userdata, const registry_blob_upload_options *options)
{
	REGISTRY__ENTER(rc);
	registry__progress_ctx prog;
	registry__upload_params p;
	if ((rc = registry__blob_upload_params("registry_blob_upload", options, repository, digest, size, &prog, &p)))
		return rc;
	if (!read)
		return registry__fail(REGISTRY_EINVAL, "blob upload: NULL read callback");
	cb_source s = {read, rewind, source_userdata};
	registry__upload_source src = {cb_read, rewind ? cb_seek : NULL, &s};
	return registry__blob_upload(client, &p, &src, NULL);
}

int registry_blob_upload_file(registry_client *client, const char *repository, const char *digest,
                              const char *path, const registry_blob_upload_options *options)
{
	REGISTRY__ENTER(rc);
	registry__progress_ctx prog;
	registry__upload_params p;
	if ((rc = registry__blob_upload_params("registry_blob_upload_file", options, repository, digest, -1, &prog, &p)))
		return rc;
	if (!client || !repository || !digest || !path)
		return registry__fail(REGISTRY_EINVAL, "blob upload: NULL argument");
	registry__file_source fs;
	int64_t size = 0;
	if ((rc = registry__file_source_open(&fs, path, &size)))
		return rc;
	prog.overall_total = size;
	p.size = size;
	rc = registry__blob_upload(client, &p, &fs.src, NULL);
	registry__file_source_close(&fs);
	return rc;
}

int registry_blob_mount(registry_client *client, const char *repository, const char *digest,
                        const char *from_repository)
{
	REGISTRY__ENTER(rc);
	if (!from_repository)
		return registry__fail(REGISTRY_EINVAL, "blob mount: NULL source repository");
	registry__upload_params p = {.repository = repository, .digest = digest, .size = -1,
	                             .mount_from = from_repository};
	registry__upload_source none = {cb_read, NULL, NULL};
	if ((rc = check_params(client, &p, &none)))
		return rc;
	up u = {.c = client, .p = &p, .src = &none, .chunk = REGISTRY_BLOB_CHUNK_SIZE_DEFAULT};
	snprintf(u.scope, sizeof(u.scope), "repository:%s:pull,push repository:%s:pull", repository,
	         from_repository);
	int mounted = 0;
	rc = session_start(&u, from_repository, &mounted);
	if (!rc && !mounted) {
		session_cancel(&u);
		rc = registry__fail(REGISTRY_ENOTFOUND, "the registry did not mount %s from %s into %s "
		                    "(it offered an upload instead)", digest, from_repository, repository);
	}
	free(u.location);
	return rc;
}

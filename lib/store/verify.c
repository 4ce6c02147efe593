/*
 * registry_store_verify(): hash every blob, then check that everything
 * index.json reaches is present with the right size. Read-only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdarg.h>

#include "store_impl.h"

typedef struct verify_ctx {
	const registry_store *s;
	int (*cb)(const char *digest, const char *reason, void *ud);
	void *ud;
	size_t nbad;
	char first[600];
} verify_ctx;

/* One problem: counted, the first kept for the message, passed to the callback. */
static int report(verify_ctx *c, const char *what, const char *fmt, ...) REGISTRY_PRINTF(3, 4);
static int report(verify_ctx *c, const char *what, const char *fmt, ...)
{
	char reason[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (c->nbad++ == 0)
		snprintf(c->first, sizeof(c->first), "%s: %s", what, reason);
	if (c->cb && registry__call_bad(c->cb, what, reason, c->ud))
		return registry__fail(REGISTRY_ECANCELED, "store: verify stopped by its callback");
	return 0;
}

/* Hash one file of blobs/<alg>/ and compare with its name. */
static int check_blob_file(verify_ctx *c, int dirfd, const char *alg, const char *name)
{
	char digest[REGISTRY_DIGEST_STRING_MAX], rel[STORE_REL_MAX];
	snprintf(rel, sizeof(rel), "blobs/%s/%.150s", alg, name);
	if (!registry__store_hex_name_valid(alg, name))
		return report(c, rel, "file name is not a %s digest", alg);
	snprintf(digest, sizeof(digest), "%s:%.128s", alg, name);
	int fd;
	struct stat st;
	int rc = registry__store_open_regular_at(dirfd, name, rel, &fd, &st);
	if (rc == REGISTRY_EFORMAT)
		return report(c, digest, "a symbolic link or not a regular file");
	if (rc)
		return report(c, digest, "cannot open: %s", registry_error_message(registry_error_last()));
	registry__hash h;
	if ((rc = registry__hash_init(&h, registry__digest_algorithm(digest)))) {
		close(fd);
		return rc;
	}
	char actual[REGISTRY_DIGEST_STRING_MAX];
	rc = registry__store_hash_fd(fd, &h, NULL);
	if (!rc)
		rc = registry__hash_final(&h, actual);
	registry__hash_cleanup(&h);
	close(fd);
	if (rc == REGISTRY_EIO)
		return report(c, digest, "cannot read: %s", registry_error_message(registry_error_last()));
	if (rc)
		return rc;
	if (strcmp(actual, digest) != 0)
		return report(c, digest, "content hashes to %s", actual);
	return 0;
}

static int scan_blobs(verify_ctx *c)
{
	for (size_t a = 0; a < REGISTRY_ARRAY_LEN(registry__store_algorithms); a++) {
		const char *alg = registry__store_algorithms[a];
		int dirfd = openat(c->s->blobs_fd, alg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0) {
			if (errno == ENOENT)
				continue;
			return registry__store_io_fail(errno, "store: cannot open blobs/%s", alg);
		}
		DIR *dir = fdopendir(dirfd);
		if (!dir) {
			int err = errno;
			close(dirfd);
			return registry__store_io_fail(err, "store: cannot read blobs/%s", alg);
		}
		int rc = 0;
		struct dirent *e;
		while (!rc && (errno = 0, e = readdir(dir)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			rc = check_blob_file(c, dirfd, alg, e->d_name);
		}
		if (!rc && errno)
			rc = registry__store_io_fail(errno, "store: cannot read blobs/%s", alg);
		closedir(dir);
		if (rc)
			return rc;
	}
	return 0;
}

static void describe_parent(char *out, size_t size, const store_walk_visit *v)
{
	snprintf(out, size, "referenced by %s", v->parent ? v->parent : "index.json");
}

static int visit(const store_walk_visit *v, void *ud)
{
	verify_ctx *c = ud;
	char rel[STORE_REL_MAX], from[200];
	struct stat st;
	describe_parent(from, sizeof(from), v);
	/* Manifests may name algorithms we cannot hash (and so cannot store):
	 * that content cannot be verified, and is no file name. */
	if (registry__store_check_digest(v->digest))
		return report(c, v->digest, "%s (%s)", registry_error_message(registry_error_last()), from);
	registry__store_blob_rel(rel, v->digest);
	if (fstatat(c->s->blobs_fd, rel, &st, 0) != 0) {
		if (errno != ENOENT)
			return report(c, v->digest, "cannot stat: %s", registry__errno_text(errno));
		return v->optional ? 0 : report(c, v->digest, "missing (%s)", from);
	}
	if (v->size >= 0 && st.st_size != v->size)
		return report(c, v->digest, "has %lld bytes, its descriptor says %lld (%s)", (long long)st.st_size,
		              (long long)v->size, from);
	return 0;
}

static int manifest_error(const store_walk_visit *v, int rc, void *ud)
{
	verify_ctx *c = ud;
	if (rc == REGISTRY_EDIGEST)
		return 0; /* its content is damaged: the scan reported it */
	if (rc == REGISTRY_ENOMEM)
		return rc;
	char msg[300];
	snprintf(msg, sizeof(msg), "%s", registry_error_message(registry_error_last()));
	return report(c, v->digest, "cannot be read as %.100s: %s", v->media_type, msg);
}

int registry_store_verify_options_init(registry_store_verify_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_store_verify_options_init: NULL options");
	*opts = (registry_store_verify_options)REGISTRY_STORE_VERIFY_OPTIONS_INIT;
	return 0;
}

int registry_store_verify(size_t *nbad, const registry_store *s, const registry_store_verify_options *opts)
{
	REGISTRY__ENTER(rc);
	if (nbad)
		*nbad = 0;
	if (!s)
		return registry__fail(REGISTRY_EINVAL, "registry_store_verify: NULL store");
	registry_store_verify_options defaults = REGISTRY_STORE_VERIFY_OPTIONS_INIT;
	if (!opts)
		opts = &defaults;
	if ((rc = registry__options_check("registry_store_verify", opts->version, REGISTRY_STORE_VERIFY_OPTIONS_VERSION,
	                                  opts->flags, 0)))
		return rc;
	verify_ctx c = {.s = s, .cb = opts->problem, .ud = opts->userdata};
	registry_manifest *root = NULL;
	rc = scan_blobs(&c);
	if (!rc && (rc = registry__store_index_load(s, &root)) != 0 && rc != REGISTRY_ENOMEM && rc != REGISTRY_EIO) {
		char msg[300];
		snprintf(msg, sizeof(msg), "%s", registry_error_message(registry_error_last()));
		rc = report(&c, "index.json", "%s", msg);
	} else if (!rc) {
		rc = registry__store_walk(s, root, visit, manifest_error, &c);
	}
	registry_manifest_free(root);
	if (nbad)
		*nbad = c.nbad;
	if (rc)
		return rc;
	if (c.nbad)
		return registry__fail(REGISTRY_EDIGEST, "store: %zu problem%s found; the first: %s", c.nbad,
		                      c.nbad == 1 ? "" : "s", c.first);
	return 0;
}

/*
 * Pull an artifact into a directory. Titles come from the registry and are
 * hostile: all are checked before anything is written, and each file is
 * created new beneath the directory's descriptor (O_EXCL, O_NOFOLLOW), so
 * neither a hostile name nor a link planted in the directory leads out.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifact_impl.h"
#include "ops_impl.h"
#include "push_impl.h"

static const char *title_of(const registry_descriptor *d)
{
	return registry_descriptor_annotation(d, REGISTRY_ANNOTATION_TITLE);
}

static int is_unpack(const registry_descriptor *d)
{
	const char *v = registry_descriptor_annotation(d, REGISTRY_ANNOTATION_UNPACK);
	return v && strcmp(v, "true") == 0;
}

/* Every title plain and different, before anything is written. */
static int check_titles(const registry_manifest *m, const char *what)
{
	size_t n = registry_manifest_layer_count(m);
	if (n > REGISTRY_ARTIFACT_FILES_MAX)
		return registry__fail(REGISTRY_EINVAL, "%s: %zu layers, more than %d", what, n, REGISTRY_ARTIFACT_FILES_MAX);
	for (size_t i = 0; i < n; i++) {
		const char *t = title_of(registry_manifest_layer(m, i));
		int rc;
		if (!t)
			continue; /* not a file: skipped, as oras does */
		if ((rc = registry__artifact_title_check(t, what)))
			return rc;
		for (size_t j = 0; j < i; j++) {
			const char *u = title_of(registry_manifest_layer(m, j));
			if (u && strcmp(t, u) == 0)
				return registry__fail(REGISTRY_EINVAL, "%s: two layers titled \"%.300s\"", what, t);
		}
	}
	return 0;
}

typedef struct fd_sink {
	int fd;
	int err;
} fd_sink;

static int write_fd(const void *data, size_t len, void *ud)
{
	fd_sink *s = ud;
	const char *p = data;
	while (len) {
		ssize_t n = write(s->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			s->err = n < 0 ? errno : EIO;
			return 1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The blob of @d into @fd, verified; a failed write is REGISTRY_EIO. */
static int fetch_into(registry_client *c, const char *repository, const registry_descriptor *d, int fd,
                      const char *name)
{
	fd_sink s = {.fd = fd};
	int rc = registry_blob_fetch_to(c, repository, registry_descriptor_digest(d), registry_descriptor_size(d),
	                                write_fd, &s, NULL);
	if (rc == REGISTRY_ECANCELED && s.err)
		rc = registry__fail(REGISTRY_EIO, "writing %.300s: %s", name, registry__errno_text(s.err));
	return rc;
}

static int create_fail(const char *dir, const char *name, int err)
{
	return registry__fail(err == EEXIST ? REGISTRY_ECONFLICT : REGISTRY_EIO, "cannot create %.300s/%.300s: %s%s", dir,
	                      name, registry__errno_text(err), err == EEXIST ? " (an artifact pull never replaces a file)" : "");
}

static int pull_file(registry_client *c, const char *repository, const registry_descriptor *d, int dirfd,
                     const char *dir)
{
	const char *title = title_of(d);
	int fd = openat(dirfd, title, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return create_fail(dir, title, errno);
	int rc = fetch_into(c, repository, d, fd, title);
	if (close(fd) != 0 && !rc)
		rc = registry__fail(REGISTRY_EIO, "writing %.300s/%.300s: %s", dir, title, registry__errno_text(errno));
	if (rc)
		unlinkat(dirfd, title, 0); /* nothing unverified is left behind */
	return rc;
}

/* A packed directory: fetched (verified) into an unnamed file, then unpacked. */
static int pull_dir(registry_client *c, const char *repository, const registry_descriptor *d, int dirfd,
                    const char *root, const char *what)
{
	const char *title = title_of(d);
	struct stat st;
	if (fstatat(dirfd, title, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return create_fail(root, title, EEXIST);
	int fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return registry__fail(REGISTRY_EIO, "cannot create a temporary file in %.300s: %s", root,
		                      registry__errno_text(errno));
	int rc = fetch_into(c, repository, d, fd, title);
	if (!rc && lseek(fd, 0, SEEK_SET) != 0)
		rc = registry__fail(REGISTRY_EIO, "reading back %.300s: %s", title, registry__errno_text(errno));
	if (!rc)
		rc = registry__artifact_unpack_dir(fd, root, title, what);
	close(fd);
	return rc;
}

/* @dir opened (created when absent), and its real path for the unpacker. */
static int open_dir(int *dirfd, char **real, const char *dir)
{
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return registry__fail(REGISTRY_EIO, "cannot create %.300s: %s", dir, registry__errno_text(errno));
	*dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0)
		return registry__fail(REGISTRY_EIO, "cannot open %.300s: %s", dir, registry__errno_text(errno));
	if (!(*real = realpath(dir, NULL))) {
		int rc = registry__fail(REGISTRY_EIO, "cannot resolve %.300s: %s", dir, registry__errno_text(errno));
		close(*dirfd);
		return rc;
	}
	return 0;
}

static int pull_layers(registry_client *c, const char *repository, const registry_manifest *m, const char *dir,
                       const char *what)
{
	int dirfd = -1;
	char *root = NULL;
	int rc = open_dir(&dirfd, &root, dir);
	for (size_t i = 0; !rc && i < registry_manifest_layer_count(m); i++) {
		const registry_descriptor *d = registry_manifest_layer(m, i);
		if (title_of(d))
			rc = is_unpack(d) ? pull_dir(c, repository, d, dirfd, root, what)
			                  : pull_file(c, repository, d, dirfd, dir);
	}
	if (dirfd >= 0)
		close(dirfd);
	free(root);
	return rc;
}

int registry_artifact_pull_options_init(registry_artifact_pull_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_artifact_pull_options_init: NULL options");
	registry_artifact_pull_options init = REGISTRY_ARTIFACT_PULL_OPTIONS_INIT;
	*opts = init;
	return 0;
}

int registry_artifact_pull(char **digest_out, registry_client *client, const registry_reference *source,
                           const char *dir, const registry_artifact_pull_options *opts)
{
	REGISTRY__ENTER(rc);
	static const registry_artifact_pull_options defaults = REGISTRY_ARTIFACT_PULL_OPTIONS_INIT;
	if (digest_out)
		*digest_out = NULL;
	if (!opts)
		opts = &defaults;
	if ((rc = registry__options_check("registry_artifact_pull", opts->version,
	                                  REGISTRY_ARTIFACT_PULL_OPTIONS_VERSION, opts->flags, 0)))
		return rc;
	if (!client || !source || !dir)
		return registry__fail(REGISTRY_EINVAL, "registry_artifact_pull: NULL argument");
	const char *repository = NULL, *reference = NULL;
	if ((rc = registry__ops_check_ref_registry(client, source)) ||
	    (rc = registry__push_reference(source, NULL, &repository, &reference)))
		return rc;
	if (!reference)
		return registry__fail(REGISTRY_EINVAL, "registry_artifact_pull: the reference names no tag or digest");
	char what[1200];
	snprintf(what, sizeof(what), "pulling the artifact %s:%s", repository, reference);
	registry_manifest *m = NULL;
	if ((rc = registry_manifest_fetch(&m, client, repository, reference, NULL)))
		return rc;
	if (registry_manifest_kind(m) != REGISTRY_MANIFEST_IMAGE ||
	    strcmp(registry_manifest_media_type(m), REGISTRY_MEDIA_TYPE_OCI_MANIFEST) != 0)
		rc = registry__fail(REGISTRY_EUNSUPPORTED, "%s: %s is not an OCI image manifest", what,
		                    registry_manifest_media_type(m));
	if (!rc && !(rc = check_titles(m, what)))
		rc = pull_layers(client, repository, m, dir, what);
	if (!rc && digest_out && !(*digest_out = registry__strdup(registry_manifest_digest(m))))
		rc = registry__nomem();
	registry_manifest_free(m);
	return rc;
}

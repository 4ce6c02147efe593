/*
 * Push files as an artifact (image-spec 1.1 "guidelines for artifact
 * usage"): blobs first, the manifest last, so that a registry never holds a
 * manifest whose blobs are missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifact_impl.h"
#include "digest/hash.h"
#include "ops_impl.h"
#include "push_impl.h"
#include "store/store_impl.h"

#define EMPTY_DIGEST "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
#define OCTET_STREAM "application/octet-stream"
#define UNKNOWN_CONFIG "application/vnd.unknown.config.v1+json"

/* One blob of the artifact, ready for its descriptor. */
typedef struct blob {
	char digest[REGISTRY_DIGEST_STRING_MAX];
	char tar_digest[REGISTRY_DIGEST_STRING_MAX]; /* a packed directory's, else "" */
	int64_t size;
	char *upload_path; /* what to upload: the file, or the packed directory */
	char *tmpdir;      /* the packed directory's temporary folder, else NULL */
} blob;

static void blob_free(blob *b)
{
	if (b->tmpdir) {
		if (b->upload_path)
			unlink(b->upload_path);
		rmdir(b->tmpdir);
	}
	free(b->upload_path);
	free(b->tmpdir);
}

static int hash_path(blob *b, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return registry__fail(errno == ENOENT ? REGISTRY_ENOTFOUND : REGISTRY_EIO, "cannot open %.300s: %s",
		                      path, registry__errno_text(errno));
	registry__hash h;
	int rc = registry__hash_init(&h, REGISTRY_DIGEST_SHA256);
	if (!rc) {
		if (!(rc = registry__store_hash_fd(fd, &h, &b->size)))
			registry__hash_final(&h, b->digest);
		registry__hash_cleanup(&h);
	}
	close(fd);
	return rc;
}

/* A directory packed into a private temporary folder. */
static int pack(blob *b, const char *path, const char *title)
{
	const char *tmp = getenv("TMPDIR");
	registry__buf dir;
	registry__buf_init(&dir, 0);
	if (registry__buf_printf(&dir, "%s/registry-artifact-XXXXXX", tmp && *tmp ? tmp : "/tmp") != 0) {
		registry__buf_free(&dir);
		return registry__nomem();
	}
	if (!mkdtemp(dir.data)) {
		int rc = registry__fail(REGISTRY_EIO, "cannot create %.300s: %s", dir.data, registry__errno_text(errno));
		registry__buf_free(&dir);
		return rc;
	}
	b->tmpdir = registry__buf_detach(&dir);
	registry__buf_init(&dir, 0);
	if (registry__buf_printf(&dir, "%s/layer.tar.gz", b->tmpdir) != 0) {
		registry__buf_free(&dir);
		return registry__nomem();
	}
	b->upload_path = registry__buf_detach(&dir);
	int rc = registry__artifact_pack_dir(path, title, b->upload_path, b->tar_digest);
	return rc ? rc : hash_path(b, b->upload_path);
}

static int prepare(blob *b, const char *path, const char *title, int *is_dir)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return registry__fail(errno == ENOENT ? REGISTRY_ENOTFOUND : REGISTRY_EIO, "cannot read %.300s: %s",
		                      path, registry__errno_text(errno));
	*is_dir = S_ISDIR(st.st_mode);
	if (*is_dir)
		return pack(b, path, title);
	if (!S_ISREG(st.st_mode))
		return registry__fail(REGISTRY_EINVAL, "%.300s is neither a regular file nor a directory", path);
	if (!(b->upload_path = registry__strdup(path)))
		return registry__nomem();
	return hash_path(b, path);
}

static int upload(registry_client *c, const char *repository, const blob *b)
{
	return registry_blob_upload_file(c, repository, b->digest, b->upload_path, NULL);
}

static const char *default_title(const char *path, char *buf, size_t size)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	size_t start = n;
	while (start > 0 && path[start - 1] != '/')
		start--;
	snprintf(buf, size, "%.*s", (int)(n - start), path + start);
	return buf;
}

/* One layer: upload the file (or packed directory), then describe it. */
static int add_file(registry_manifest_builder *mb, registry_client *c, const char *repository,
                    const registry_artifact_file *f)
{
	if (f->version == 0 || f->version > REGISTRY_ARTIFACT_FILE_VERSION)
		return registry__fail(REGISTRY_EINVAL, "registry_artifact_push: file version %u (this library knows %d)",
		                      f->version, REGISTRY_ARTIFACT_FILE_VERSION);
	if (!f->path)
		return registry__fail(REGISTRY_EINVAL, "registry_artifact_push: a file without a path");
	char name[4096];
	const char *title = f->title ? f->title : default_title(f->path, name, sizeof(name));
	int rc, is_dir = 0;
	if ((rc = registry__artifact_title_check(title, "registry_artifact_push")))
		return rc;
	blob b = {.size = 0};
	if (!(rc = prepare(&b, f->path, title, &is_dir)))
		rc = upload(c, repository, &b);
	const char *pairs[] = {REGISTRY_ANNOTATION_TITLE, title, REGISTRY_ANNOTATION_CONTENT_DIGEST, b.tar_digest,
	                       REGISTRY_ANNOTATION_UNPACK, "true", NULL};
	if (!is_dir)
		pairs[2] = NULL;
	registry_descriptor_spec spec = REGISTRY_DESCRIPTOR_SPEC_INIT;
	spec.media_type = f->media_type ? f->media_type : is_dir ? REGISTRY__ARTIFACT_DIR_TYPE : OCTET_STREAM;
	spec.digest = b.digest;
	spec.size = b.size;
	spec.annotations = pairs;
	if (!rc)
		rc = registry_manifest_builder_add_layer(mb, &spec);
	blob_free(&b);
	return rc;
}

static int64_t empty_read(void *buf, size_t len, void *ud)
{
	int *done = ud;
	if (*done || len < 2)
		return 0;
	memcpy(buf, "{}", 2);
	*done = 1;
	return 2;
}

static int empty_rewind(void *ud)
{
	*(int *)ud = 0;
	return 0;
}

static int set_config(registry_manifest_builder *mb, registry_client *c, const char *repository,
                      const registry_artifact_push_options *o)
{
	registry_descriptor_spec spec = REGISTRY_DESCRIPTOR_SPEC_INIT;
	if (!o->config_path) {
		int done = 0;
		int rc = registry_blob_upload(c, repository, EMPTY_DIGEST, 2, empty_read, empty_rewind, &done, NULL);
		spec.media_type = REGISTRY_MEDIA_TYPE_OCI_EMPTY;
		spec.digest = EMPTY_DIGEST;
		spec.size = 2;
		return rc ? rc : registry_manifest_builder_set_config(mb, &spec);
	}
	blob b = {.size = 0};
	int rc = hash_path(&b, o->config_path);
	if (!rc && !(b.upload_path = registry__strdup(o->config_path)))
		rc = registry__nomem();
	if (!rc)
		rc = upload(c, repository, &b);
	spec.media_type = o->config_media_type ? o->config_media_type : UNKNOWN_CONFIG;
	spec.digest = b.digest;
	spec.size = b.size;
	if (!rc)
		rc = registry_manifest_builder_set_config(mb, &spec);
	blob_free(&b);
	return rc;
}

/* The subject's descriptor: its media type and size from the registry. */
static int set_subject(registry_manifest_builder *mb, registry_client *c, const char *repository,
                       const char *digest)
{
	int rc = registry_digest_validate(digest);
	if (rc)
		return registry__fail(REGISTRY_EINVAL, "registry_artifact_push: the subject \"%.200s\" is not a digest",
		                      digest);
	registry_manifest *m = NULL;
	if ((rc = registry_manifest_fetch(&m, c, repository, digest, NULL)))
		return rc;
	registry_descriptor_spec spec = REGISTRY_DESCRIPTOR_SPEC_INIT;
	spec.media_type = registry_manifest_media_type(m);
	spec.digest = registry_manifest_digest(m);
	spec.size = registry_manifest_size(m);
	rc = registry_manifest_builder_set_subject(mb, &spec);
	registry_manifest_free(m);
	return rc;
}

/* Two files with one title would overwrite each other on pull. */
static int check_files(const registry_artifact_file *const *files, size_t *count)
{
	size_t n = 0;
	while (files[n]) {
		if (++n > REGISTRY_ARTIFACT_FILES_MAX)
			return registry__fail(REGISTRY_EINVAL, "registry_artifact_push: more than %d files",
			                      REGISTRY_ARTIFACT_FILES_MAX);
	}
	char a[4096], b[4096];
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n && files[i]->path && files[j]->path; j++) {
			const char *ti = files[i]->title ? files[i]->title : default_title(files[i]->path, a, sizeof(a));
			const char *tj = files[j]->title ? files[j]->title : default_title(files[j]->path, b, sizeof(b));
			if (strcmp(ti, tj) == 0)
				return registry__fail(REGISTRY_EINVAL, "registry_artifact_push: two files titled \"%.300s\"", ti);
		}
	*count = n;
	return 0;
}

static int build(registry_manifest **out, registry_client *c, const char *repository,
                 const registry_artifact_file *const *files, size_t n, const registry_artifact_push_options *o)
{
	registry_manifest_builder *mb = NULL;
	int rc = registry_manifest_builder_new(&mb, REGISTRY_MEDIA_TYPE_OCI_MANIFEST);
	const char *type = o->artifact_type ? o->artifact_type : o->config_path ? NULL : REGISTRY_ARTIFACT_TYPE_UNKNOWN;
	if (!rc && type)
		rc = registry_manifest_builder_set_artifact_type(mb, type);
	for (size_t i = 0; !rc && o->annotations && o->annotations[i]; i += 2)
		rc = o->annotations[i + 1] ? registry_manifest_builder_set_annotation(mb, o->annotations[i], o->annotations[i + 1])
		                           : registry__fail(REGISTRY_EINVAL, "registry_artifact_push: an odd annotation list");
	if (!rc)
		rc = set_config(mb, c, repository, o);
	for (size_t i = 0; !rc && i < n; i++)
		rc = add_file(mb, c, repository, files[i]);
	if (!rc && n == 0) { /* image-spec: no layers, then the empty descriptor */
		registry_descriptor_spec spec = REGISTRY_DESCRIPTOR_SPEC_INIT;
		spec.media_type = REGISTRY_MEDIA_TYPE_OCI_EMPTY;
		spec.digest = EMPTY_DIGEST;
		spec.size = 2;
		rc = registry_manifest_builder_add_layer(mb, &spec);
	}
	if (!rc && o->subject)
		rc = set_subject(mb, c, repository, o->subject);
	if (!rc)
		rc = registry_manifest_builder_build(out, mb);
	registry_manifest_builder_free(mb);
	return rc;
}

int registry_artifact_push_options_init(registry_artifact_push_options *opts)
{
	REGISTRY__ENTER(rc);
	if (!opts)
		return registry__fail(REGISTRY_EINVAL, "registry_artifact_push_options_init: NULL options");
	registry_artifact_push_options init = REGISTRY_ARTIFACT_PUSH_OPTIONS_INIT;
	*opts = init;
	return 0;
}

int registry_artifact_push(char **digest_out, registry_client *client, const registry_reference *target,
                           const registry_artifact_file *const *files, const registry_artifact_push_options *opts)
{
	REGISTRY__ENTER(rc);
	static const registry_artifact_push_options defaults = REGISTRY_ARTIFACT_PUSH_OPTIONS_INIT;
	if (digest_out)
		*digest_out = NULL;
	if (!opts)
		opts = &defaults;
	if ((rc = registry__options_check("registry_artifact_push", opts->version,
	                                  REGISTRY_ARTIFACT_PUSH_OPTIONS_VERSION, opts->flags, 0)))
		return rc;
	if (!client || !target || !files)
		return registry__fail(REGISTRY_EINVAL, "registry_artifact_push: NULL argument");
	size_t n = 0;
	if ((rc = registry__ops_check_ref_registry(client, target)) || (rc = check_files(files, &n)))
		return rc;
	const char *repository = NULL, *reference = NULL;
	registry_manifest *m = NULL;
	if ((rc = registry__push_reference(target, NULL, &repository, &reference)))
		return rc;
	if ((rc = build(&m, client, repository, files, n, opts)))
		return rc;
	if ((rc = registry__push_reference(target, m, &repository, &reference)) == 0)
		rc = registry_manifest_push(NULL, client, repository, reference, m);
	if (!rc && digest_out && !(*digest_out = registry__strdup(registry_manifest_digest(m))))
		rc = registry__nomem();
	registry_manifest_free(m);
	return rc;
}

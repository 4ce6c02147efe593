/*
 * registry_pull(), registry_pull_to() and registry_store_export() against a
 * real registry, with skopeo as the peer that must read what we write.
 *
 *   itest-pull v2s2        (--fixture small:v2s2)  Docker schema2 -> OCI, preserve, docker dir/archive, cancel
 *   itest-pull oci         (--fixture small:oci)   OCI kept byte for byte, pull_to OCI
 *   itest-pull multi-oci   (--fixture multi:oci)   one platform (linux/arm64) and all of them
 *   itest-pull multi-v2s2  (--fixture multi:v2s2)  a Docker list -> an OCI index of converted children
 *   itest-pull schema1     (--schema1 --fixture small:v2s1) config synthesized as skopeo does,
 *                          diff_ids equal the fixture's, legacy docker-load export
 *   itest-pull export-cancel  a cancel from the progress callback while pull_to exports
 *                          a 16 MiB layer (folder and tarball): ECANCELED, nothing left
 */
#define _GNU_SOURCE /* popen */
#include <dirent.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "itest.h"

#define SOURCE_ANNOTATION "io.libregistry.source.digest"

/* registry_store_export() options that only tag the image. */
#define TAGGED(repo_tag) \
	(&(registry_store_export_options){REGISTRY_STORE_EXPORT_OPTIONS_VERSION, 0, (repo_tag), NULL, NULL})

static char scratch[512];

static const char *path_of(const char *name)
{
	static char buf[8][700];
	static int k;
	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", scratch, name);
	return buf[k];
}

/* Run a shell command; stdout captured into *out when given (free it). Exit status, -1 if killed. */
static int sh(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sh(char **out, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return itest_capture(cmd, out, NULL);
}

static const char *skopeo(void)
{
	return env_or("REGISTRY_TEST_SKOPEO", "skopeo --insecure-policy");
}

static registry_reference *ref_of(const char *repo_tag)
{
	char text[600];
	snprintf(text, sizeof(text), "%s/%s", getenv("REGISTRY_TEST_HOST"), repo_tag);
	registry_reference *r = NULL;
	CHECK_RC(registry_reference_parse(&r, text), 0);
	return r;
}

static registry_store *new_store(const char *name)
{
	registry_store *s = NULL;
	CHECK_RC(registry_store_open(&s, path_of(name), REGISTRY_STORE_CREATE), 0);
	return s;
}

/* A manifest the store holds, parsed with the media type of its index entry. */
static registry_manifest *stored_manifest(registry_store *s, const char *digest, const char *media_type)
{
	void *data = NULL;
	size_t len = 0;
	registry_manifest *m = NULL;
	CHECK_RC(registry_store_read_blob(&data, &len, s, digest, 0), 0);
	if (data)
		CHECK_RC(registry_manifest_parse(&m, data, len, media_type, NULL), 0);
	registry_free(data);
	return m;
}

static const registry_descriptor *entry_of(registry_store *s, const char *name)
{
	const registry_descriptor *d = NULL;
	CHECK_RC(registry_store_index_find(&d, s, name), 0);
	return d;
}

/* skopeo reads the layout and copies the image out of it. */
static void skopeo_reads(const char *store_dir, const char *name, int all)
{
	char *out = NULL;
	CHECK_INT(sh(&out, "%s inspect oci:%s:%s", skopeo(), store_dir, name), 0);
	CHECK(out && strstr(out, "\"Layers\""));
	free(out);
	static int n;
	char other[64];
	snprintf(other, sizeof(other), "skopeo-copy-%d", ++n);
	CHECK_INT(sh(NULL, "%s copy -q %s oci:%s:%s oci:%s:copied", skopeo(), all ? "--all" : "", store_dir, name,
	             path_of(other)), 0);
}

/* Blob-level equality of a converted image and its source: config and layers unchanged. */
static void check_same_blobs(const registry_manifest *converted, const registry_manifest *source)
{
	const registry_descriptor *a = registry_manifest_config(converted), *b = registry_manifest_config(source);
	CHECK_STR(registry_descriptor_digest(a), registry_descriptor_digest(b));
	CHECK_INT(registry_descriptor_size(a), registry_descriptor_size(b));
	CHECK_STR(registry_descriptor_media_type(a), REGISTRY_MEDIA_TYPE_OCI_CONFIG);
	CHECK_INT(registry_manifest_layer_count(converted), registry_manifest_layer_count(source));
	for (size_t i = 0; i < registry_manifest_layer_count(source); i++) {
		a = registry_manifest_layer(converted, i);
		b = registry_manifest_layer(source, i);
		CHECK_STR(registry_descriptor_digest(a), registry_descriptor_digest(b));
		CHECK_INT(registry_descriptor_size(a), registry_descriptor_size(b));
		CHECK_STR(registry_descriptor_media_type(a), REGISTRY_MEDIA_TYPE_OCI_LAYER_GZIP);
	}
}

typedef struct progress_count {
	int done, skipped, started, cancel_after;
} progress_count;

static int count_progress(const registry_progress *p, void *ud)
{
	progress_count *c = ud;
	int state = registry_progress_state(p);
	c->done += state == REGISTRY_PROGRESS_DONE;
	c->skipped += state == REGISTRY_PROGRESS_SKIPPED;
	c->started += state == REGISTRY_PROGRESS_STARTED;
	return c->cancel_after && c->started >= c->cancel_after;
}

/* Number of entries in a folder, ".*" excluded. */
static int count_entries(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.' && strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	if (d)
		closedir(d);
	return n;
}

/* The docker-load folder of a 3-layer image: files, and layer.tar = the blobs. */
static void check_docker_dir(const char *dir, registry_store *blobs_from, const registry_manifest *m,
                             const char *repo_tag)
{
	char p[900];
	snprintf(p, sizeof(p), "%s/manifest.json", dir);
	char *text = check_read_file(p, NULL);
	cJSON *mj = cJSON_Parse(text ? text : "");
	free(text);
	CHECK(cJSON_IsArray(mj) && cJSON_GetArraySize(mj) == 1);
	const cJSON *img = cJSON_GetArrayItem(mj, 0);
	char config_name[200];
	snprintf(config_name, sizeof(config_name), "%s.json",
	         registry_descriptor_digest(registry_manifest_config(m)) + 7);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(img, "Config")), config_name);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(img, "RepoTags"), 0)), repo_tag);
	const cJSON *layers = cJSON_GetObjectItem(img, "Layers");
	CHECK_INT(cJSON_GetArraySize(layers), registry_manifest_layer_count(m));
	for (size_t i = 0; i < registry_manifest_layer_count(m); i++) {
		const char *lt = cJSON_GetStringValue(cJSON_GetArrayItem(layers, (int)i));
		char *blob = NULL;
		const char *ld = registry_descriptor_digest(registry_manifest_layer(m, i));
		CHECK_RC(registry_store_blob_path(&blob, blobs_from, ld), 0);
		snprintf(p, sizeof(p), "%s/%s", dir, lt ? lt : "?");
		CHECK_INT(sh(NULL, "cmp -s '%s' '%s'", p, blob ? blob : "/nonexistent"), 0);
		registry_free(blob);
		snprintf(p, sizeof(p), "%s/%.64s/VERSION", dir, lt ? lt : "?");
		char *v = check_read_file(p, NULL);
		CHECK_STR(v, "1.0\n");
		free(v);
	}
	snprintf(p, sizeof(p), "%s/repositories", dir);
	text = check_read_file(p, NULL);
	CHECK(text && strstr(text, "\"latest\""));
	free(text);
	cJSON_Delete(mj);
	/* 3 layer folders + config + manifest.json + repositories */
	CHECK_INT(count_entries(dir, ""), (int)registry_manifest_layer_count(m) + 3);
}

/* skopeo reads the tarball, finds the image by its RepoTags, and copies it out. */
static void skopeo_reads_archive(const char *file, const char *repo_tag)
{
	char *out = NULL;
	CHECK_INT(sh(&out, "%s inspect docker-archive:%s:%s", skopeo(), file, repo_tag), 0);
	CHECK(out && strstr(out, "\"org.libregistry.test.seed\": \"small\""));
	free(out);
	static int n;
	char other[64];
	snprintf(other, sizeof(other), "from-archive-%d", ++n);
	CHECK_INT(sh(NULL, "%s copy -q docker-archive:%s oci:%s:x", skopeo(), file, path_of(other)), 0);
}

static void case_v2s2(void)
{
	registry_client *c = itest_client(1);
	const char *fixture = getenv("REGISTRY_TEST_FIXTURE_SMALL_V2S2_DIGEST");
	registry_reference *ref = ref_of("fixtures/small-v2s2:latest");
	registry_manifest *source = NULL;
	CHECK_RC(registry_manifest_fetch(&source, c, "fixtures/small-v2s2", "latest", NULL), 0);
	CHECK_STR(registry_manifest_digest(source), fixture);

	/* Default: converted to OCI, blobs unchanged, the source digest kept as an annotation. */
	registry_store *s = new_store("store");
	progress_count pc = {0};
	registry_pull_options o = REGISTRY_PULL_OPTIONS_INIT;
	o.progress = count_progress;
	o.userdata = &pc;
	char *digest = NULL;
	CHECK_RC(registry_pull(&digest, c, ref, s, NULL, &o), 0);
	CHECK_INT(pc.done, 4); /* config + 3 layers */
	const registry_descriptor *e = entry_of(s, "latest");
	CHECK_STR(registry_descriptor_media_type(e), REGISTRY_MEDIA_TYPE_OCI_MANIFEST);
	CHECK_STR(registry_descriptor_digest(e), digest);
	CHECK_STR(registry_descriptor_annotation(e, SOURCE_ANNOTATION), fixture);
	registry_manifest *m = stored_manifest(s, digest, REGISTRY_MEDIA_TYPE_OCI_MANIFEST);
	check_same_blobs(m, source);
	itest_check_sound(s);
	skopeo_reads(path_of("store"), "latest", 0);

	/* Again: nothing is fetched twice. */
	memset(&pc, 0, sizeof(pc));
	char *digest2 = NULL;
	CHECK_RC(registry_pull(&digest2, c, ref, s, "again", &o), 0);
	CHECK_INT(pc.done, 0);
	CHECK_INT(pc.skipped, 4);
	CHECK_STR(digest2, digest);
	registry_free(digest2);

	/* Preserved: the registry's bytes and digest; pushing them back gives that digest. */
	o.flags = REGISTRY_PULL_PRESERVE_DIGESTS;
	CHECK_RC(registry_pull(&digest2, c, ref, s, "preserved", &o), 0);
	CHECK_STR(digest2, fixture);
	e = entry_of(s, "preserved");
	CHECK_STR(registry_descriptor_media_type(e), REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST);
	CHECK(registry_descriptor_annotation(e, SOURCE_ANNOTATION) == NULL);
	registry_manifest *kept = stored_manifest(s, fixture, REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST);
	size_t a_len = 0, b_len = 0;
	const void *a = registry_manifest_raw(kept, &a_len), *b = registry_manifest_raw(source, &b_len);
	CHECK(a && b && a_len == b_len && memcmp(a, b, a_len) == 0);
	char *pushed = NULL;
	CHECK_RC(registry_manifest_push(&pushed, c, "fixtures/small-v2s2", "pushed-back", kept), 0);
	CHECK_STR(pushed, fixture);
	registry_free(pushed);
	registry_free(digest2);
	registry_manifest_free(kept);

	/* registry_pull_to: a docker-load folder and a tarball; no temporary store left. */
	const char *repo_tag = NULL;
	char rt[300];
	snprintf(rt, sizeof(rt), "%s/fixtures/small-v2s2:latest", getenv("REGISTRY_TEST_HOST"));
	repo_tag = rt;
	CHECK(mkdir(path_of("out"), 0755) == 0);
	char *pulled = NULL;
	CHECK_RC(registry_pull_to(&pulled, c, ref, path_of("out/dir"), REGISTRY_IMAGE_FORMAT_DOCKER_DIR, NULL), 0);
	CHECK_STR(pulled, fixture); /* the registry's digest: docker load keeps the manifest as served */
	registry_free(pulled);
	check_docker_dir(path_of("out/dir"), s, source, repo_tag);
	CHECK_RC(registry_pull_to(NULL, c, ref, path_of("out/image.tar"), REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE, NULL), 0);
	skopeo_reads_archive(path_of("out/image.tar"), repo_tag);
	CHECK_INT(count_entries(path_of("out"), ""), 2);
	/* The store's own export of the converted image: the same files. */
	CHECK_RC(registry_store_export(s, "latest", path_of("exported"), REGISTRY_IMAGE_FORMAT_DOCKER_DIR, TAGGED(repo_tag)), 0);
	check_docker_dir(path_of("exported"), s, source, repo_tag);
	CHECK_INT(sh(NULL, "diff -r '%s' '%s'", path_of("exported"), path_of("out/dir")), 0);
	CHECK_RC(registry_store_export(s, "latest", path_of("exported.tar"), REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE, TAGGED(repo_tag)), 0);
	CHECK_INT(sh(NULL, "cmp -s '%s' '%s'", path_of("exported.tar"), path_of("out/image.tar")), 0);
	/* A non-empty destination folder is refused before anything is fetched. */
	pulled = (char *)"unchanged";
	CHECK_RC(registry_pull_to(&pulled, c, ref, path_of("out/dir"), REGISTRY_IMAGE_FORMAT_DOCKER_DIR, NULL), REGISTRY_ECONFLICT);
	CHECK(pulled == NULL);
	o.flags = REGISTRY_PULL_ALL_PLATFORMS;
	CHECK_RC(registry_pull_to(NULL, c, ref, path_of("out/all"), REGISTRY_IMAGE_FORMAT_DOCKER_DIR, &o), REGISTRY_EINVAL);

	/* Canceled by the callback: nothing named in index.json. */
	registry_store *s2 = new_store("canceled");
	progress_count stop = {.cancel_after = 1};
	o.flags = 0;
	o.userdata = &stop;
	CHECK_RC(registry_pull(NULL, c, ref, s2, NULL, &o), REGISTRY_ECANCELED);
	CHECK_INT(registry_store_index_count(s2), 0);
	registry_store_free(s2);

	/* Errors. */
	registry_reference *missing = ref_of("fixtures/small-v2s2:nope");
	CHECK_RC(registry_pull(NULL, c, missing, s, NULL, NULL), REGISTRY_ENOTFOUND);
	registry_reference_free(missing);
	CHECK_RC(registry_pull(NULL, NULL, ref, s, NULL, NULL), REGISTRY_EINVAL);
	registry_pull_options bad = REGISTRY_PULL_OPTIONS_INIT;
	bad.version = 99;
	CHECK_RC(registry_pull(NULL, c, ref, s, NULL, &bad), REGISTRY_EINVAL);
	CHECK_RC(registry_pull_to(NULL, c, ref, path_of("fmt"), 9, NULL), REGISTRY_EINVAL);

	registry_manifest_free(m);
	registry_manifest_free(source);
	registry_free(digest);
	registry_store_free(s);
	registry_reference_free(ref);
	registry_client_free(c);
}

static void case_oci(void)
{
	registry_client *c = itest_client(1);
	const char *fixture = getenv("REGISTRY_TEST_FIXTURE_SMALL_OCI_DIGEST");
	registry_reference *ref = ref_of("fixtures/small-oci:latest");
	registry_store *s = new_store("store");
	char *digest = NULL;
	CHECK_RC(registry_pull(&digest, c, ref, s, "v1", NULL), 0);
	CHECK_STR(digest, fixture);
	const registry_descriptor *e = entry_of(s, "v1");
	CHECK_STR(registry_descriptor_media_type(e), REGISTRY_MEDIA_TYPE_OCI_MANIFEST);
	CHECK(registry_descriptor_annotation(e, SOURCE_ANNOTATION) == NULL);
	itest_check_sound(s);
	skopeo_reads(path_of("store"), "v1", 0);

	/* By digest: named by the digest. */
	registry_reference *by_digest = NULL;
	char text[400];
	snprintf(text, sizeof(text), "%s/fixtures/small-oci@%s", getenv("REGISTRY_TEST_HOST"), fixture);
	CHECK_RC(registry_reference_parse(&by_digest, text), 0);
	CHECK_RC(registry_pull(NULL, c, by_digest, s, NULL, NULL), 0);
	e = entry_of(s, fixture);
	CHECK_STR(registry_descriptor_digest(e), fixture);
	registry_reference_free(by_digest);

	/* pull_to an OCI folder: created, then added to. */
	char *written = NULL;
	CHECK_RC(registry_pull_to(&written, c, ref, path_of("layout/deep"), REGISTRY_IMAGE_FORMAT_OCI, NULL), 0);
	CHECK_STR(written, fixture);
	registry_free(written);
	registry_store *l = NULL;
	CHECK_RC(registry_store_open(&l, path_of("layout/deep"), 0), 0);
	CHECK_STR(registry_descriptor_digest(entry_of(l, "latest")), fixture);
	registry_store_free(l);
	skopeo_reads(path_of("layout/deep"), "latest", 0);

	registry_free(digest);
	registry_store_free(s);
	registry_reference_free(ref);
	registry_client_free(c);
}

/* The entry of @index for architecture @arch. */
static const registry_descriptor *child_for(const registry_manifest *index, const char *arch)
{
	for (size_t i = 0; i < registry_manifest_entry_count(index); i++) {
		const registry_descriptor *d = registry_manifest_entry(index, i);
		if (strcmp(registry_descriptor_platform_architecture(d), arch) == 0)
			return d;
	}
	CHECK(!"no such platform");
	return NULL;
}

static void check_arch(const char *store_dir, const char *name, const char *arch)
{
	char *out = NULL;
	char want[64];
	snprintf(want, sizeof(want), "\"Architecture\": \"%s\"", arch);
	CHECK_INT(sh(&out, "%s inspect oci:%s:%s", skopeo(), store_dir, name), 0);
	CHECK(out && strstr(out, want));
	free(out);
}

static void case_multi_oci(void)
{
	registry_client *c = itest_client(1);
	const char *fixture = getenv("REGISTRY_TEST_FIXTURE_MULTI_OCI_DIGEST");
	registry_reference *ref = ref_of("fixtures/multi-oci:latest");
	registry_manifest *index = NULL;
	CHECK_RC(registry_manifest_fetch(&index, c, "fixtures/multi-oci", "latest", NULL), 0);
	const registry_descriptor *arm = child_for(index, "arm64");

	registry_store *s = new_store("store");
	registry_pull_options o = REGISTRY_PULL_OPTIONS_INIT;
	o.platform = &(registry_platform){REGISTRY_PLATFORM_VERSION, "linux", "arm64", NULL, NULL, NULL};
	char *digest = NULL;
	CHECK_RC(registry_pull(&digest, c, ref, s, "arm", &o), 0);
	CHECK_STR(digest, registry_descriptor_digest(arm)); /* the registry's digest of the arm64 manifest */
	CHECK_STR(registry_descriptor_media_type(entry_of(s, "arm")), REGISTRY_MEDIA_TYPE_OCI_MANIFEST);
	check_arch(path_of("store"), "arm", "arm64");
	skopeo_reads(path_of("store"), "arm", 0);
	registry_free(digest);

	o.platform = NULL;
	o.flags = REGISTRY_PULL_ALL_PLATFORMS;
	CHECK_RC(registry_pull(&digest, c, ref, s, "all", &o), 0);
	CHECK_STR(digest, fixture);
	CHECK_STR(registry_descriptor_media_type(entry_of(s, "all")), REGISTRY_MEDIA_TYPE_OCI_INDEX);
	for (size_t i = 0; i < registry_manifest_entry_count(index); i++)
		CHECK_INT(registry_store_has(s, registry_descriptor_digest(registry_manifest_entry(index, i))), 1);
	itest_check_sound(s);
	skopeo_reads(path_of("store"), "all", 1);
	registry_free(digest);

	/* A platform the index lacks. */
	o.flags = 0;
	o.platform = &(registry_platform){REGISTRY_PLATFORM_VERSION, "linux", "s390x", NULL, NULL, NULL};
	CHECK_RC(registry_pull(NULL, c, ref, s, "none", &o), REGISTRY_ENOTFOUND);
	CHECK(strstr(registry_error_message(registry_error_last()), "arm64") != NULL);
	o.platform = &(registry_platform){0, "linux", "amd64", NULL, NULL, NULL}; /* no version */
	CHECK_RC(registry_pull(NULL, c, ref, s, "none", &o), REGISTRY_EINVAL);

	registry_manifest_free(index);
	registry_store_free(s);
	registry_reference_free(ref);
	registry_client_free(c);
}

static void case_multi_v2s2(void)
{
	registry_client *c = itest_client(1);
	const char *fixture = getenv("REGISTRY_TEST_FIXTURE_MULTI_V2S2_DIGEST");
	registry_reference *ref = ref_of("fixtures/multi-v2s2:latest");
	registry_manifest *list = NULL;
	CHECK_RC(registry_manifest_fetch(&list, c, "fixtures/multi-v2s2", "latest", NULL), 0);
	CHECK_STR(registry_manifest_media_type(list), REGISTRY_MEDIA_TYPE_DOCKER_LIST);

	registry_store *s = new_store("store");
	registry_pull_options o = REGISTRY_PULL_OPTIONS_INIT;
	o.flags = REGISTRY_PULL_ALL_PLATFORMS;
	char *digest = NULL;
	CHECK_RC(registry_pull(&digest, c, ref, s, NULL, &o), 0);
	const registry_descriptor *e = entry_of(s, "latest");
	CHECK_STR(registry_descriptor_media_type(e), REGISTRY_MEDIA_TYPE_OCI_INDEX);
	CHECK_STR(registry_descriptor_annotation(e, SOURCE_ANNOTATION), fixture);
	registry_manifest *index = stored_manifest(s, digest, REGISTRY_MEDIA_TYPE_OCI_INDEX);
	CHECK_INT(registry_manifest_entry_count(index), registry_manifest_entry_count(list));
	for (size_t i = 0; i < registry_manifest_entry_count(list); i++) {
		const registry_descriptor *was = registry_manifest_entry(list, i);
		const registry_descriptor *now = registry_manifest_entry(index, i);
		CHECK_STR(registry_descriptor_media_type(now), REGISTRY_MEDIA_TYPE_OCI_MANIFEST);
		CHECK_STR(registry_descriptor_platform_architecture(now), registry_descriptor_platform_architecture(was));
		registry_manifest *src = NULL, *conv = stored_manifest(s, registry_descriptor_digest(now), NULL);
		CHECK_RC(registry_manifest_fetch(&src, c, "fixtures/multi-v2s2", registry_descriptor_digest(was), NULL), 0);
		if (src && conv)
			check_same_blobs(conv, src);
		registry_manifest_free(src);
		registry_manifest_free(conv);
	}
	itest_check_sound(s);
	skopeo_reads(path_of("store"), "latest", 1);
	registry_free(digest);

	/* Exporting an index exports the host's platform. */
	const registry_descriptor *host = NULL;
	CHECK_RC(registry_manifest_select_platform(&host, index, NULL), 0);
	registry_manifest *host_image = stored_manifest(s, registry_descriptor_digest(host), NULL);
	CHECK_RC(registry_store_export(s, "latest", path_of("host"), REGISTRY_IMAGE_FORMAT_DOCKER_DIR, TAGGED("multi:latest")), 0);
	if (host_image)
		check_docker_dir(path_of("host"), s, host_image, "multi:latest");
	registry_manifest_free(host_image);

	/* One platform of a Docker list: the converted child alone. */
	o.flags = 0;
	o.platform = &(registry_platform){REGISTRY_PLATFORM_VERSION, "linux", "arm64", "v8", NULL, NULL};
	CHECK_RC(registry_pull(&digest, c, ref, s, "arm", &o), 0);
	e = entry_of(s, "arm");
	CHECK_STR(registry_descriptor_annotation(e, SOURCE_ANNOTATION),
	          registry_descriptor_digest(child_for(list, "arm64")));
	CHECK_STR(registry_descriptor_media_type(e), REGISTRY_MEDIA_TYPE_OCI_MANIFEST);
	check_arch(path_of("store"), "arm", "arm64");
	registry_free(digest);

	/* Preserved, all platforms: the list as served. */
	o.platform = NULL;
	o.flags = REGISTRY_PULL_ALL_PLATFORMS | REGISTRY_PULL_PRESERVE_DIGESTS;
	CHECK_RC(registry_pull(&digest, c, ref, s, "list", &o), 0);
	CHECK_STR(digest, fixture);
	CHECK_STR(registry_descriptor_media_type(entry_of(s, "list")), REGISTRY_MEDIA_TYPE_DOCKER_LIST);
	registry_free(digest);

	registry_manifest_free(index);
	registry_manifest_free(list);
	registry_store_free(s);
	registry_reference_free(ref);
	registry_client_free(c);
}

/* The config of an OCI layout's first image (fixture layouts, skopeo's output). */
static cJSON *layout_config(const char *dir, char *config_digest)
{
	char p[900];
	snprintf(p, sizeof(p), "%s/index.json", dir);
	char *text = check_read_file(p, NULL);
	cJSON *index = cJSON_Parse(text ? text : "");
	free(text);
	const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(index, "manifests"), 0);
	const char *md = cJSON_GetStringValue(cJSON_GetObjectItem(first, "digest"));
	snprintf(p, sizeof(p), "%s/blobs/sha256/%s", dir, md ? md + 7 : "?");
	cJSON_Delete(index);
	text = check_read_file(p, NULL);
	cJSON *m = cJSON_Parse(text ? text : "");
	free(text);
	const char *cd = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "config"), "digest"));
	snprintf(config_digest, REGISTRY_DIGEST_STRING_MAX, "%s", cd ? cd : "");
	snprintf(p, sizeof(p), "%s/blobs/sha256/%s", dir, cd ? cd + 7 : "?");
	cJSON_Delete(m);
	text = check_read_file(p, NULL);
	cJSON *config = cJSON_Parse(text ? text : "");
	free(text);
	CHECK(config != NULL);
	return config;
}

static void case_schema1(void)
{
	registry_client *c = itest_client(1);
	const char *fixture = getenv("REGISTRY_TEST_FIXTURE_SMALL_V2S1_DIGEST");
	registry_reference *ref = ref_of("fixtures/small-v2s1:latest");
	registry_store *s = new_store("store");
	char *digest = NULL;
	CHECK_RC(registry_pull(&digest, c, ref, s, NULL, NULL), 0);
	const registry_descriptor *e = entry_of(s, "latest");
	CHECK_STR(registry_descriptor_media_type(e), REGISTRY_MEDIA_TYPE_OCI_MANIFEST);
	CHECK_STR(registry_descriptor_annotation(e, SOURCE_ANNOTATION), fixture);
	itest_check_sound(s);
	skopeo_reads(path_of("store"), "latest", 0);

	/* diff_ids computed from the layers equal the ones of the image the fixture was made from. */
	char ours[REGISTRY_DIGEST_STRING_MAX], theirs[REGISTRY_DIGEST_STRING_MAX], original[REGISTRY_DIGEST_STRING_MAX];
	char fixture_dir[600];
	snprintf(fixture_dir, sizeof(fixture_dir), "%s/small", getenv("REGISTRY_TEST_FIXTURES"));
	cJSON *orig = layout_config(fixture_dir, original);
	cJSON *mine = layout_config(path_of("store"), ours);
	char *a = cJSON_PrintUnformatted(cJSON_GetObjectItem(cJSON_GetObjectItem(orig, "rootfs"), "diff_ids"));
	char *b = cJSON_PrintUnformatted(cJSON_GetObjectItem(cJSON_GetObjectItem(mine, "rootfs"), "diff_ids"));
	CHECK(a && strlen(a) > 10);
	CHECK_STR(b, a);
	free(a);
	free(b);
	/* And the whole config is what skopeo synthesizes for the same schema1 image. */
	CHECK_INT(sh(NULL, "%s copy -q %s docker://%s/fixtures/small-v2s1:latest oci:%s:latest", skopeo(),
	             env_or("REGISTRY_TEST_SKOPEO_SRC_ARGS", ""), getenv("REGISTRY_TEST_HOST"), path_of("by-skopeo")), 0);
	cJSON *sk = layout_config(path_of("by-skopeo"), theirs);
	CHECK_STR(ours, theirs);
	cJSON_Delete(sk);
	cJSON_Delete(orig);
	cJSON_Delete(mine);
	registry_free(digest);

	/* Preserved: the signed manifest kept as served, named by its bytes, the registry digest noted. */
	registry_pull_options o = REGISTRY_PULL_OPTIONS_INIT;
	o.flags = REGISTRY_PULL_PRESERVE_DIGESTS;
	CHECK_RC(registry_pull(&digest, c, ref, s, "signed", &o), 0);
	e = entry_of(s, "signed");
	CHECK_STR(registry_descriptor_media_type(e), REGISTRY_MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED);
	CHECK_STR(registry_descriptor_annotation(e, SOURCE_ANNOTATION), fixture);
	registry_manifest *kept = stored_manifest(s, digest, REGISTRY_MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED);
	CHECK_STR(registry_manifest_digest(kept), fixture);
	registry_manifest_free(kept);
	registry_free(digest);

	/* docker-load: the legacy folders of the v1 history, plus manifest.json that skopeo loads. */
	CHECK_RC(registry_pull_to(NULL, c, ref, path_of("legacy"), REGISTRY_IMAGE_FORMAT_DOCKER_DIR, NULL), 0);
	char *repos = check_read_file(path_of("legacy/repositories"), NULL);
	CHECK(repos && strstr(repos, "fixtures/small-v2s1") && strstr(repos, "\"latest\""));
	free(repos);
	CHECK_INT(count_entries(path_of("legacy"), ""), 3 + 3); /* 3 v1 folders, repositories, manifest.json, config */
	CHECK_RC(registry_pull_to(NULL, c, ref, path_of("legacy.tar"), REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE, NULL), 0);
	char rt[300];
	snprintf(rt, sizeof(rt), "%s/fixtures/small-v2s1:latest", getenv("REGISTRY_TEST_HOST"));
	skopeo_reads_archive(path_of("legacy.tar"), rt);
	char via_archive[REGISTRY_DIGEST_STRING_MAX];
	cJSON *va = layout_config(path_of("from-archive-1"), via_archive);
	char *diffs = cJSON_PrintUnformatted(cJSON_GetObjectItem(cJSON_GetObjectItem(va, "rootfs"), "diff_ids"));
	orig = layout_config(fixture_dir, original);
	char *want = cJSON_PrintUnformatted(cJSON_GetObjectItem(cJSON_GetObjectItem(orig, "rootfs"), "diff_ids"));
	CHECK_STR(diffs, want);
	free(diffs);
	free(want);
	cJSON_Delete(va);
	cJSON_Delete(orig);

	registry_store_free(s);
	registry_reference_free(ref);
	registry_client_free(c);
}

/* ---- cancel during the docker export (issue 14) ---- */

typedef struct export_log {
	int done;        /* blobs the pull finished */
	int in_export;   /* RUNNING reports after that: the export's */
} export_log;

static int cancel_in_export(const registry_progress *p, void *ud)
{
	export_log *l = ud;
	int state = registry_progress_state(p);
	if (state == REGISTRY_PROGRESS_DONE || state == REGISTRY_PROGRESS_SKIPPED)
		l->done++;
	else if (state == REGISTRY_PROGRESS_RUNNING && l->done >= 2) /* config and layer are in */
		l->in_export++;
	return l->in_export > 0;
}

/* Entries of the scratch folder whose name starts with @prefix. */
static int scratch_entries(const char *prefix)
{
	DIR *d = opendir(scratch);
	int n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	if (d)
		closedir(d);
	return n;
}

static void case_export_cancel(void)
{
	/* One 16 MiB layer (stored uncompressed): the export copies it into the
	 * tarball in many steps after the pull is over. */
	const char *harness = getenv("REGISTRY_TEST_HARNESS");
	CHECK_INT(sh(NULL, "/usr/bin/python3 '%s' make-fixture '%s' --layers 1 --size 16777216 --seed export-cancel "
	             "--gzip-level 0 >/dev/null && /usr/bin/python3 '%s' push '%s' --repo exp/big >/dev/null",
	             harness, path_of("fixture"), harness, path_of("fixture")), 0);
	registry_client *c = itest_client(1);
	registry_reference *ref = ref_of("exp/big:latest");
	for (int format = REGISTRY_IMAGE_FORMAT_DOCKER_DIR; format <= REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE; format++) {
		const char *dest = format == REGISTRY_IMAGE_FORMAT_DOCKER_DIR ? "out-dir" : "out.tar";
		export_log l = {0};
		registry_pull_options o = REGISTRY_PULL_OPTIONS_INIT;
		o.progress = cancel_in_export;
		o.userdata = &l;
		int rc = registry_pull_to(NULL, c, ref, path_of(dest), format, &o);
		if (rc == REGISTRY_EUNSUPPORTED && format == REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE)
			break; /* built without libarchive */
		CHECK_RC(rc, REGISTRY_ECANCELED);
		CHECK_INT(l.in_export, 1);
		/* Nothing left: no destination, no temporary store, no half tarball. */
		CHECK_INT(scratch_entries(dest), 0);
	}
	registry_reference_free(ref);
	registry_client_free(c);
}

int main(int argc, char **argv)
{
	itest_require_harness();
	if (argc < 2) {
		fprintf(stderr, "usage: %s v2s2|oci|multi-oci|multi-v2s2|schema1\n", argv[0]);
		return 2;
	}
	snprintf(scratch, sizeof(scratch), "%s/pull-%s", env_or("REGISTRY_TEST_TMPDIR", "/tmp"), argv[1]);
	if (mkdir(scratch, 0755) != 0) {
		perror(scratch);
		return 1;
	}
	if (strcmp(argv[1], "v2s2") == 0)
		RUN(case_v2s2);
	else if (strcmp(argv[1], "oci") == 0)
		RUN(case_oci);
	else if (strcmp(argv[1], "multi-oci") == 0)
		RUN(case_multi_oci);
	else if (strcmp(argv[1], "multi-v2s2") == 0)
		RUN(case_multi_v2s2);
	else if (strcmp(argv[1], "schema1") == 0)
		RUN(case_schema1);
	else if (strcmp(argv[1], "export-cancel") == 0)
		RUN(case_export_cancel);
	else {
		fprintf(stderr, "unknown case %s\n", argv[1]);
		return 2;
	}
	return CHECK_DONE();
}

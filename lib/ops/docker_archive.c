/*
 * Reading a `docker save` tarball (docker-archive): manifest.json names the
 * config and the layer tars of each image by their paths in the archive.
 *
 * The archive is read once to hash every member (sizes, digests, whether
 * it is gzip) and to read manifest.json; a Docker schema2 manifest is
 * built from that (layers .tar or .tar.gzip as their first bytes say);
 * then a member is streamed from the archive again when wanted: tar is
 * sequential, so a member is reached by skipping the headers and data
 * before it (seeks on an uncompressed file). Newer Docker writes an OCI
 * layout inside the tarball, with the old paths as symlinks to
 * blobs/sha256/...: symlinks are followed inside the archive, never on disk.
 * Used by push_archive.c and unpack_archive.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef REGISTRY_HAVE_LIBARCHIVE

#include "archive_lazy.h"
#include <cjson/cJSON.h>

#include "digest/hash.h"
#include "ops/docker_archive.h"

#define MAX_MEMBERS 100000
#define MANIFEST_JSON_MAX ((size_t)1 << 20)
#define MEDIA_TYPE_DOCKER_LAYER_TAR "application/vnd.docker.image.rootfs.diff.tar"

typedef registry__darchive_member member;
typedef registry__darchive archive_index;

void registry__darchive_free(archive_index *ix)
{
	for (size_t i = 0; i < ix->n; i++) {
		free(ix->m[i].name);
		free(ix->m[i].link);
	}
	free(ix->m);
	cJSON_Delete(ix->list);
	memset(ix, 0, sizeof(*ix));
}

/* "./a/../b//c" -> "b/c"; relative to @dir when given. NULL when it leaves the root. */
static char *normalize(const char *dir, const char *path)
{
	size_t n = (dir ? strlen(dir) + 1 : 0) + strlen(path) + 1;
	char *joined = malloc(n), *out = malloc(n);
	if (!joined || !out) {
		free(joined);
		free(out);
		return NULL;
	}
	snprintf(joined, n, "%s%s%s", dir && path[0] != '/' ? dir : "", dir && path[0] != '/' ? "/" : "",
	         path);
	size_t len = 0;
	char *save = NULL;
	for (char *c = strtok_r(joined, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			if (len == 0) {
				free(joined);
				free(out);
				return NULL;
			}
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--; /* the slash */
			continue;
		}
		if (len)
			out[len++] = '/';
		size_t cl = strlen(c);
		memcpy(out + len, c, cl);
		len += cl;
	}
	out[len] = '\0';
	free(joined);
	return out;
}

static int open_archive(struct archive **out, const char *path)
{
	int loaded = registry__archive_load("reading a docker-archive tarball");
	if (loaded)
		return loaded;
	struct archive *a = archive_read_new();
	if (!a)
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		/* libarchive reports "not an archive" as EILSEQ (its private
		 * ARCHIVE_ERRNO_FILE_FORMAT where EFTYPE does not exist). */
		int e = archive_errno(a);
		int code = e == ENOENT ? REGISTRY_ENOTFOUND : e == EILSEQ ? REGISTRY_EFORMAT : REGISTRY_EIO;
		int rc = registry__fail(code, "%s: %s", path, archive_error_string(a));
		archive_read_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

/* A new member named @name (normalized) into *out. */
static int index_add(archive_index *ix, const char *path, const char *name, member **out)
{
	if (ix->n == MAX_MEMBERS)
		return registry__fail(REGISTRY_ETOOLARGE, "%s: more than %d members", path, MAX_MEMBERS);
	if (ix->n == ix->cap) {
		size_t cap = ix->cap ? ix->cap * 2 : 64;
		member *m = realloc(ix->m, cap * sizeof(*m));
		if (!m)
			return registry__fail(REGISTRY_ENOMEM, "out of memory");
		ix->m = m;
		ix->cap = cap;
	}
	member *e = &ix->m[ix->n];
	memset(e, 0, sizeof(*e));
	if (!(e->name = normalize(NULL, name))) {
		/* normalize() fails on ".." above the root, or on malloc. */
		if (!strstr(name, ".."))
			return registry__fail(REGISTRY_ENOMEM, "out of memory");
		char esc[256];
		registry__excerpt(esc, sizeof(esc), name, strlen(name));
		return registry__fail(REGISTRY_EFORMAT, "%s: member name escapes the archive: %s", path, esc);
	}
	ix->n++;
	*out = e;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Two members with one name would let the manifest be built from one and
 * the upload stream the other: refuse the archive. */
static int check_duplicates(const archive_index *ix, const char *path)
{
	if (ix->n < 2)
		return 0;
	const char **names = malloc(ix->n * sizeof(*names));
	if (!names)
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	for (size_t i = 0; i < ix->n; i++)
		names[i] = ix->m[i].name;
	qsort(names, ix->n, sizeof(*names), by_name);
	int rc = 0;
	for (size_t i = 1; i < ix->n && !rc; i++) {
		if (strcmp(names[i - 1], names[i]) == 0) {
			char esc[256];
			registry__excerpt(esc, sizeof(esc), names[i], strlen(names[i]));
			rc = registry__fail(REGISTRY_EFORMAT, "%s: the archive holds member %s more than once", path,
			                    esc);
		}
	}
	free(names);
	return rc;
}

/* The archive read in steps (registry__darchive_scan_*): the member being
 * read, if any, hashed (and manifest.json kept) as its data comes. */
struct registry__darchive_scan {
	archive_index *ix;
	const char *path;
	struct archive *a;
	registry__darchive_sink sink;
	size_t cur;  /* ix->m index of the member being read */
	int in_member, keep, first;
	registry__hash h;
	registry__buf json;
	char buf[1 << 16];
};

/* A symbolic link member: its target, normalized beside it (an unusable
 * link simply resolves to nothing). */
static void add_link(member *e, struct archive_entry *ent)
{
	const char *target = archive_entry_symlink(ent);
	char *dir = registry__strdup(e->name);
	if (dir) {
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		else
			dir[0] = '\0';
		e->link = target ? normalize(dir[0] ? dir : NULL, target) : NULL;
	}
	free(dir);
}

/* The next header: a regular member begun (its hash, manifest.json's
 * buffer), a link indexed, others skipped; 1 at the archive's end. */
static int next_member(registry__darchive_scan *s)
{
	struct archive_entry *ent;
	int r = archive_read_next_header(s->a, &ent);
	if (r == ARCHIVE_EOF)
		return 1;
	if (r != ARCHIVE_OK)
		return registry__fail(REGISTRY_EFORMAT, "%s: %s", s->path, archive_error_string(s->a));
	const char *name = archive_entry_pathname(ent);
	mode_t type = archive_entry_filetype(ent);
	if (!name || (type != AE_IFREG && type != AE_IFLNK))
		return 0;
	member *e = NULL;
	int rc = index_add(s->ix, s->path, name, &e);
	if (rc)
		return rc;
	if (type == AE_IFLNK) {
		add_link(e, ent);
		return 0;
	}
	if ((rc = registry__hash_init(&s->h, REGISTRY_DIGEST_SHA256)))
		return rc;
	s->cur = s->ix->n - 1;
	s->in_member = 1;
	s->first = 1;
	s->keep = strcmp(e->name, "manifest.json") == 0;
	registry__buf_init(&s->json, MANIFEST_JSON_MAX);
	return s->sink.begin ? s->sink.begin(s->sink.ud) : 0;
}

/* The member's data ended: its digest, manifest.json parsed. */
static int member_end(registry__darchive_scan *s)
{
	member *e = &s->ix->m[s->cur];
	int rc = registry__hash_final(&s->h, e->digest);
	registry__hash_cleanup(&s->h);
	s->in_member = 0;
	if (!rc && s->keep) {
		cJSON_Delete(s->ix->list);
		s->ix->list = cJSON_ParseWithLength(s->json.data ? s->json.data : "", s->json.len);
		if (!cJSON_IsArray(s->ix->list) || cJSON_GetArraySize(s->ix->list) == 0)
			rc = registry__fail(REGISTRY_EFORMAT, "%s: manifest.json is not a list of images", s->path);
	}
	registry__buf_free(&s->json);
	if (!rc && s->sink.end)
		rc = s->sink.end(s->sink.ud, e);
	return rc;
}

/* One read of the member's data: hashed (kept when manifest.json, given
 * to the sink); at its end, member_end. */
static int member_read(registry__darchive_scan *s)
{
	member *e = &s->ix->m[s->cur];
	la_ssize_t n = archive_read_data(s->a, s->buf, sizeof(s->buf));
	if (n < 0)
		return registry__fail(REGISTRY_EIO, "%s: %s: %s", s->path, e->name, archive_error_string(s->a));
	if (n == 0)
		return member_end(s);
	if (s->first && n >= 2)
		e->gzip = (unsigned char)s->buf[0] == 0x1f && (unsigned char)s->buf[1] == 0x8b;
	s->first = 0;
	e->size += n;
	int rc = registry__hash_update(&s->h, s->buf, (size_t)n);
	if (!rc && s->keep && (rc = registry__buf_append(&s->json, s->buf, (size_t)n)))
		rc = registry__fail(rc, "%s: manifest.json is too large", s->path);
	if (!rc && s->sink.data)
		rc = s->sink.data(s->sink.ud, s->buf, (size_t)n);
	return rc;
}

int registry__darchive_scan_begin(registry__darchive_scan **out, archive_index *ar, const char *path,
                                  const registry__darchive_sink *sink)
{
	*out = NULL;
	memset(ar, 0, sizeof(*ar));
	ar->path = path;
	registry__darchive_scan *s = calloc(1, sizeof(*s));
	if (!s)
		return registry__fail(REGISTRY_ENOMEM, "out of memory");
	s->ix = ar;
	s->path = path;
	if (sink)
		s->sink = *sink;
	int rc = open_archive(&s->a, path);
	if (rc) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int registry__darchive_scan_step(registry__darchive_scan *s, int (*spent)(void *ud), void *ud)
{
	for (;;) {
		int rc = s->in_member ? member_read(s) : next_member(s);
		if (rc == 1) { /* the archive's end */
			if ((rc = check_duplicates(s->ix, s->path)))
				return rc;
			if (!s->ix->list)
				return registry__fail(REGISTRY_EFORMAT, "%s: no manifest.json (not a docker save archive)",
				                      s->path);
			return 0;
		}
		if (rc)
			return rc;
		if (spent && spent(ud))
			return 1;
	}
}

void registry__darchive_scan_free(registry__darchive_scan *s)
{
	if (!s)
		return;
	if (s->in_member) {
		registry__hash_cleanup(&s->h);
		registry__buf_free(&s->json);
	}
	archive_read_free(s->a);
	free(s);
}

/* The regular member that @name is (following symlinks in the archive). */
static const member *lookup(const archive_index *ix, const char *name)
{
	char *want = normalize(NULL, name);
	const member *found = NULL;
	for (int hops = 0; want && hops < 8 && !found; hops++) {
		const member *e = NULL;
		for (size_t i = ix->n; i-- > 0;) { /* a later member replaces an earlier one */
			if (strcmp(ix->m[i].name, want) == 0) {
				e = &ix->m[i];
				break;
			}
		}
		free(want);
		want = NULL;
		if (!e)
			break;
		if (!e->link && e->name && e->digest[0]) {
			found = e;
			break;
		}
		if (e->link)
			want = registry__strdup(e->link);
	}
	free(want);
	return found;
}

/* ---- Streaming one member ------------------------------------------------ */

static int member_open(registry__darchive_src *s)
{
	int rc = open_archive(&s->a, s->path);
	if (rc)
		return rc;
	struct archive_entry *ent;
	while (archive_read_next_header(s->a, &ent) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(ent);
		if (!name || archive_entry_filetype(ent) != AE_IFREG)
			continue;
		char *n = normalize(NULL, name);
		int match = n && strcmp(n, s->name) == 0;
		free(n);
		if (match)
			return 0;
	}
	rc = registry__fail(REGISTRY_EIO, "%s: member %s vanished", s->path, s->name);
	archive_read_free(s->a);
	s->a = NULL;
	return rc;
}

int64_t registry__darchive_read(void *buf, size_t len, void *ud)
{
	registry__darchive_src *s = ud;
	int rc;
	if (!s->a && (rc = member_open(s)))
		return rc;
	la_ssize_t n = archive_read_data(s->a, buf, len);
	if (n < 0)
		return registry__fail(REGISTRY_EIO, "%s: %s: %s", s->path, s->name, archive_error_string(s->a));
	return (int64_t)n;
}

int registry__darchive_seek(int64_t offset, void *ud)
{
	registry__darchive_src *s = ud;
	if (s->a)
		archive_read_free(s->a);
	s->a = NULL;
	int rc = member_open(s);
	if (rc)
		return rc;
	char tmp[1 << 16];
	while (offset > 0) {
		la_ssize_t n = archive_read_data(s->a, tmp, offset < (int64_t)sizeof(tmp) ? (size_t)offset
		                                                                          : sizeof(tmp));
		if (n <= 0)
			return registry__fail(REGISTRY_EIO, "%s: %s: cannot skip", s->path, s->name);
		offset -= n;
	}
	return 0;
}

void registry__darchive_src_close(registry__darchive_src *s)
{
	if (s->a)
		archive_read_free(s->a);
	s->a = NULL;
}

/* ---- manifest.json -------------------------------------------------------- */

static int tag_matches(const char *repo_tag, const registry_reference *target)
{
	registry_reference *r = NULL;
	if (registry_reference_parse(&r, repo_tag) != 0) {
		registry__error_clear();
		return 0;
	}
	const char *tag = registry_reference_tag(target);
	int ok = strcmp(registry_reference_repository(r), registry_reference_repository(target)) == 0 &&
	         (!tag || (registry_reference_tag(r) && strcmp(tag, registry_reference_tag(r)) == 0));
	registry_reference_free(r);
	return ok;
}

static int tagged(const cJSON *img, const registry_reference *target)
{
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(img, "RepoTags"), *t;
	cJSON_ArrayForEach(t, tags) {
		if (cJSON_IsString(t) && tag_matches(t->valuestring, target))
			return 1;
	}
	return 0;
}

int registry__darchive_pick(const cJSON **out, const archive_index *ix, const registry_reference *target,
                            int strict)
{
	int n = cJSON_GetArraySize(ix->list);
	if (n == 1 && (!strict || !target)) {
		*out = cJSON_GetArrayItem(ix->list, 0);
		return 0;
	}
	if (!target)
		return registry__fail(REGISTRY_EINVAL, "%s holds %d images: name one of its tags", ix->path, n);
	const cJSON *img;
	cJSON_ArrayForEach(img, ix->list) {
		if (tagged(img, target)) {
			*out = img;
			return 0;
		}
	}
	if (strict)
		return registry__fail(REGISTRY_ENOTFOUND, "%s holds no image tagged %s", ix->path,
		                      registry_reference_familiar(target));
	return registry__fail(REGISTRY_EINVAL, "the archive holds %d images and none is tagged %s", n,
	                      registry_reference_familiar(target));
}

/* The member manifest.json names by @name, or a recorded EFORMAT. */
static int named_member(const archive_index *ix, const cJSON *name, const char *what, const member **out)
{
	const char *text = cJSON_IsString(name) ? name->valuestring : NULL;
	char esc[256];
	registry__excerpt(esc, sizeof(esc), text ? text : "(not a string)", strlen(text ? text : "(not a string)"));
	char *norm = text ? normalize(NULL, text) : NULL;
	if (text && !norm && strstr(text, ".."))
		return registry__fail(REGISTRY_EFORMAT, "%s: manifest.json names %s %s, outside the archive", ix->path,
		                      what, esc);
	if ((*out = text ? lookup(ix, text) : NULL)) {
		free(norm);
		return 0;
	}
	/* A symbolic link whose target leaves the archive was kept without one. */
	int link_out = 0;
	for (size_t i = 0; norm && i < ix->n && !link_out; i++)
		link_out = strcmp(ix->m[i].name, norm) == 0 && !ix->m[i].link && !ix->m[i].digest[0];
	free(norm);
	if (link_out)
		return registry__fail(REGISTRY_EFORMAT, "%s: manifest.json names %s %s, a symbolic link out of the "
		                      "archive", ix->path, what, esc);
	return registry__fail(REGISTRY_EFORMAT, "%s: manifest.json names %s %s, which the archive lacks", ix->path,
	                      what, esc);
}

int registry__darchive_manifest(registry_manifest **out, registry__blob_list *blobs, const archive_index *ix,
                                const cJSON *img)
{
	const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(img, "Config");
	const cJSON *layers = cJSON_GetObjectItemCaseSensitive(img, "Layers");
	if (!cJSON_IsString(cfg) || !cJSON_IsArray(layers))
		return registry__fail(REGISTRY_EFORMAT, "%s: manifest.json: an image without Config or Layers", ix->path);
	const member *c = NULL;
	registry_manifest_builder *b = NULL;
	int rc = named_member(ix, cfg, "the config", &c);
	if (!rc)
		rc = registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_DOCKER_MANIFEST);
	if (!rc)
		rc = registry_manifest_builder_set_config(b, &(registry_descriptor_spec){
		        .version = REGISTRY_DESCRIPTOR_SPEC_VERSION, .media_type = REGISTRY_MEDIA_TYPE_DOCKER_CONFIG,
		        .digest = c->digest, .size = c->size});
	if (!rc && (rc = registry__blob_list_add(blobs, c->digest, c->size, 0)) > 0)
		rc = 0;
	const cJSON *l;
	cJSON_ArrayForEach(l, layers) {
		if (rc)
			break;
		const member *m = NULL;
		if ((rc = named_member(ix, l, "layer", &m)))
			break;
		rc = registry_manifest_builder_add_layer(b, &(registry_descriptor_spec){
		        .version = REGISTRY_DESCRIPTOR_SPEC_VERSION,
		        .media_type = m->gzip ? REGISTRY_MEDIA_TYPE_DOCKER_LAYER : MEDIA_TYPE_DOCKER_LAYER_TAR,
		        .digest = m->digest, .size = m->size});
		if (!rc && (rc = registry__blob_list_add(blobs, m->digest, m->size, 0)) > 0)
			rc = 0;
	}
	if (!rc)
		rc = registry_manifest_builder_build(out, b);
	registry_manifest_builder_free(b);
	return rc;
}

int registry__darchive_open(archive_index *ar, const char *path)
{
	registry__darchive_scan *s = NULL;
	int rc = registry__darchive_scan_begin(&s, ar, path, NULL);
	if (!rc)
		rc = registry__darchive_scan_step(s, NULL, NULL); /* the whole archive at once */
	registry__darchive_scan_free(s);
	return rc;
}

/* The member holding @digest (for streaming it). */
const member *registry__darchive_by_digest(const archive_index *ix, const char *digest)
{
	for (size_t i = 0; i < ix->n; i++)
		if (!ix->m[i].link && strcmp(ix->m[i].digest, digest) == 0)
			return &ix->m[i];
	return NULL;
}

#endif

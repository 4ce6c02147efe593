/*
 * containers-registries.d(5): which lookaside storage holds the simple
 * signing signatures of an image. Every *.yaml file of the folder is read
 * (bounded: 256 files of at most 1 MiB) with libyaml; `default-docker` and
 * `docker: {SCOPE: ...}` sections give `lookaside` (old name `sigstore`).
 * As containers/image does, a scope defined twice, or default-docker in
 * two files, is an error rather than a silent choice.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trust_impl.h"

#ifdef REGISTRY_HAVE_GPGME
#include <yaml.h>

#define RD_FILES_MAX 256
#define RD_FILE_MAX ((size_t)1 << 20)
#define RD_SCOPES_MAX 4096

typedef struct rd_scope {
	char *name; /* NULL: default-docker */
	char *lookaside;
	char *staging; /* lookaside-staging: where signatures are written */
} rd_scope;

typedef struct rd_config {
	rd_scope *scopes;
	size_t n;
	int have_default;
} rd_config;

static void rd_free(rd_config *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->scopes[i].name);
		free(c->scopes[i].lookaside);
		free(c->scopes[i].staging);
	}
	free(c->scopes);
}

static const char *scalar(yaml_document_t *doc, int id)
{
	yaml_node_t *n = yaml_document_get_node(doc, id);
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A URL of a scope's mapping: @key, else its old name @old, or NULL. */
static const char *lookaside_of(yaml_document_t *doc, yaml_node_t *map, const char *key, const char *old)
{
	const char *found = NULL;
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const char *k = scalar(doc, p->key), *v = scalar(doc, p->value);
		if (k && v && (strcmp(k, key) == 0 || (!found && strcmp(k, old) == 0)))
			found = v;
	}
	return found;
}

static int add_scope(rd_config *c, const char *name, yaml_document_t *doc, yaml_node_t *map, const char *file)
{
	const char *lookaside = lookaside_of(doc, map, "lookaside", "sigstore");
	const char *staging = lookaside_of(doc, map, "lookaside-staging", "sigstore-staging");
	for (size_t i = 0; i < c->n; i++)
		if (name && c->scopes[i].name && strcmp(c->scopes[i].name, name) == 0)
			return registry__fail(REGISTRY_EFORMAT, "registries.d: scope %.200s is configured twice (again in %s)",
			                      name, file);
	if (c->n >= RD_SCOPES_MAX)
		return registry__fail(REGISTRY_ETOOLARGE, "registries.d: more than %d scopes", RD_SCOPES_MAX);
	rd_scope *s = realloc(c->scopes, (c->n + 1) * sizeof(*s));
	if (!s)
		return registry__nomem();
	c->scopes = s;
	s[c->n].name = name ? registry__strdup(name) : NULL;
	s[c->n].lookaside = lookaside ? registry__strdup(lookaside) : NULL;
	s[c->n].staging = staging ? registry__strdup(staging) : NULL;
	c->n++;
	if ((name && !s[c->n - 1].name) || (lookaside && !s[c->n - 1].lookaside) || (staging && !s[c->n - 1].staging))
		return registry__nomem();
	return 0;
}

static int read_document(rd_config *c, yaml_document_t *doc, const char *file)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);
	int rc = 0;
	if (!root)
		return 0; /* an empty file */
	if (root->type != YAML_MAPPING_NODE)
		return registry__fail(REGISTRY_EFORMAT, "registries.d: %s is not a YAML mapping", file);
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; !rc && p < root->data.mapping.pairs.top; p++) {
		const char *k = scalar(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		if (k && strcmp(k, "default-docker") == 0) {
			if (c->have_default++)
				return registry__fail(REGISTRY_EFORMAT, "registries.d: default-docker is configured twice "
				                                        "(again in %s)", file);
			rc = add_scope(c, NULL, doc, v, file);
		} else if (k && strcmp(k, "docker") == 0 && v && v->type == YAML_MAPPING_NODE) {
			for (yaml_node_pair_t *s = v->data.mapping.pairs.start; !rc && s < v->data.mapping.pairs.top; s++) {
				const char *name = scalar(doc, s->key);
				if (!name)
					return registry__fail(REGISTRY_EFORMAT, "registries.d: %s: a docker scope that is not text", file);
				rc = add_scope(c, name, doc, yaml_document_get_node(doc, s->value), file);
			}
		}
	}
	return rc;
}

static int read_file(rd_config *c, const char *path)
{
	registry__buf text;
	registry__buf_init(&text, RD_FILE_MAX);
	int rc = registry__read_file_capped(path, &text);
	yaml_parser_t parser;
	yaml_document_t doc;
	if (rc == REGISTRY_ENOTFOUND)
		rc = 0; /* removed meanwhile */
	else if (!rc && !yaml_parser_initialize(&parser))
		rc = registry__nomem();
	else if (!rc) {
		yaml_parser_set_input_string(&parser, (const unsigned char *)(text.data ? text.data : ""), text.len);
		if (!yaml_parser_load(&parser, &doc)) {
			rc = registry__fail(REGISTRY_EFORMAT, "registries.d: %s: %s at line %zu", path,
			                    parser.problem ? parser.problem : "not YAML", parser.problem_mark.line + 1);
		} else {
			rc = read_document(c, &doc, path);
			yaml_document_delete(&doc);
		}
		yaml_parser_delete(&parser);
	}
	registry__buf_free(&text);
	return rc;
}

static int is_yaml(const char *name)
{
	size_t n = strlen(name);
	return n > 5 && strcmp(name + n - 5, ".yaml") == 0 && name[0] != '.';
}

static int read_dir(rd_config *c, const char *dir)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort), rc = 0;
	if (n < 0)
		return 0; /* no folder: no lookaside configured */
	int files = 0;
	for (int i = 0; i < n; i++) {
		if (!rc && is_yaml(names[i]->d_name)) {
			char path[4096];
			if (++files > RD_FILES_MAX)
				rc = registry__fail(REGISTRY_ETOOLARGE, "registries.d: more than %d files in %s", RD_FILES_MAX,
				                    dir);
			else if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) >= (int)sizeof(path))
				rc = registry__fail(REGISTRY_EINVAL, "registries.d: a path too long in %s", dir);
			else
				rc = read_file(c, path);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

static const rd_scope *find(const rd_config *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->scopes[i].name ? name && strcmp(c->scopes[i].name, name) == 0 : !name)
			return &c->scopes[i];
	return NULL;
}

/* The most specific scope: host/repo, its parents, host, then default-docker. */
static const rd_scope *best_scope(const rd_config *c, const registry_reference *ref)
{
	char name[REGISTRY_REFERENCE_NAME_MAX + 2];
	const rd_scope *s;
	snprintf(name, sizeof(name), "%s/%s", registry_reference_registry(ref), registry_reference_repository(ref));
	for (char *slash;; *slash = '\0') {
		if ((s = find(c, name)))
			return s;
		if (!(slash = strrchr(name, '/')))
			break;
	}
	return find(c, NULL);
}

int registry__lookaside_url(char **url, const char *dir, const registry_reference *ref, int staging)
{
	rd_config c = {0};
	*url = NULL;
	int rc = read_dir(&c, dir ? dir : "/etc/containers/registries.d");
	const rd_scope *s = rc ? NULL : best_scope(&c, ref);
	const char *chosen = s ? (staging && s->staging ? s->staging : s->lookaside) : NULL;
	if (chosen && !(*url = registry__strdup(chosen)))
		rc = registry__nomem();
	rd_free(&c);
	return rc;
}

#else

int registry__lookaside_url(char **url, const char *dir, const registry_reference *ref, int staging)
{
	(void)dir, (void)ref, (void)staging;
	*url = NULL;
	return 0;
}

#endif

int registry__lookaside_location(char *where, size_t where_size, const char *url, const registry_reference *ref,
                                 const char *digest, int index)
{
	int file = strncmp(url, "file://", 7) == 0;
	if (!file && strncasecmp(url, "https://", 8) != 0 && strncasecmp(url, "http://", 7) != 0)
		return registry__fail(REGISTRY_EUNSUPPORTED, "lookaside %.200s: only file://, https:// and http:// "
		                                             "lookaside storage is used", url);
	const char *base = file ? url + 7 : url, *colon = strchr(digest, ':');
	size_t len = strlen(base);
	while (len > 1 && base[len - 1] == '/') /* "sigs/" and "sigs" name the same place */
		len--;
	if (!colon || len > INT_MAX ||
	    snprintf(where, where_size, "%.*s/%s@%.*s=%s/signature-%d", (int)len, base, registry_reference_repository(ref),
	             (int)(colon - digest), digest, colon + 1, index) >= (int)where_size)
		return registry__fail(REGISTRY_EINVAL, "lookaside %.200s: path too long", url);
	return 0;
}

/* The file of signature @index under a file:// lookaside. */
static int signature_path(char *where, size_t where_size, const char *url, const registry_reference *ref,
                          const char *digest, int index)
{
	if (strncmp(url, "file://", 7) != 0)
		return registry__fail(REGISTRY_EUNSUPPORTED, "lookaside %.200s: not file:// storage (signatures "
		                                             "are written to file:// storage only)", url);
	return registry__lookaside_location(where, where_size, url, ref, digest, index);
}

int registry__lookaside_read(registry__buf *out, char *where, size_t where_size, const char *url,
                             const registry_reference *ref, const char *digest, int index)
{
	registry__buf_init(out, REGISTRY__SIGNATURE_MAX);
	int rc = signature_path(where, where_size, url, ref, digest, index);
	return rc ? rc : registry__read_file_capped(where, out);
}

/* mkdir -p of the folders above @path. */
static int make_parents(const char *path)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			return registry__fail(REGISTRY_EIO, "lookaside: cannot create %s: %s", dir, registry__errno_text(errno));
		*p = '/';
	}
	return 0;
}

int registry__lookaside_write(char *where, size_t where_size, const char *url, const registry_reference *ref,
                              const char *digest, const void *sig, size_t len)
{
	for (int i = 1; i <= REGISTRY_VERIFY_SIGNATURES_MAX; i++) {
		int rc = signature_path(where, where_size, url, ref, digest, i);
		if (!rc && i == 1)
			rc = make_parents(where);
		if (rc)
			return rc;
		/* O_EXCL: the first free number, never overwriting another signer's file. */
		int fd = open(where, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0)
			return registry__fail(REGISTRY_EIO, "lookaside: cannot create %s: %s", where, registry__errno_text(errno));
		ssize_t n = write(fd, sig, len);
		int err = n < 0 ? errno : 0;
		if (close(fd) != 0 && !err)
			err = errno;
		if (err || (size_t)n != len) {
			unlink(where);
			return registry__fail(REGISTRY_EIO, "lookaside: cannot write %s: %s", where,
			                      registry__errno_text(err ? err : EIO));
		}
		return 0;
	}
	return registry__fail(REGISTRY_ETOOLARGE, "lookaside: %d signatures already", REGISTRY_VERIFY_SIGNATURES_MAX);
}

/* registry-inspect: a manifest from a registry or a file, as normalized JSON,
 * as raw bytes, or just its digest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define FILE_LIMIT (REGISTRY_MANIFEST_MAX_SIZE_DEFAULT + 1)

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(FILE_LIMIT);
	*len = buf ? fread(buf, 1, FILE_LIMIT, f) : 0;
	int bad = !buf || ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* --json: what was inspected (@source: a reference or a file), its
 * digest, media type and size, and unless @digest_only the normalized view. */
static int show_json(const ex_program *p, const char *source, const registry_manifest *m,
                     int digest_only)
{
	char *json = NULL;
	if (!digest_only && registry_manifest_to_json(&json, m) != 0)
		return ex_fail(p, "formatting the manifest");
	ex_json_open();
	ex_json_str("inspected", source);
	ex_json_str("digest", registry_manifest_digest(m));
	ex_json_str("media_type", registry_manifest_media_type(m));
	ex_json_int("size", (long long)registry_manifest_size(m));
	if (json)
		ex_json_raw("manifest", json);
	ex_json_close();
	registry_free(json);
	return EX_OK;
}

/* Print @m as asked: raw bytes, the digest, the normalized JSON, or
 * (--json) all that in one object. */
static int show(const ex_program *p, const char *source, const registry_manifest *m, int raw,
                int digest_only, int json_out)
{
	int rc = EX_OK;
	if (json_out) {
		rc = show_json(p, source, m, digest_only);
	} else if (raw) {
		size_t len = 0;
		const void *data = registry_manifest_raw(m, &len);
		fwrite(data, 1, len, stdout);
	} else if (digest_only) {
		puts(registry_manifest_digest(m));
	} else {
		char *json = NULL;
		if (registry_manifest_to_json(&json, m) != 0)
			return ex_fail(p, "formatting the manifest");
		ex_put_json(json);
		registry_free(json);
	}
	if (fflush(stdout) != 0) {
		perror(p->name);
		return EX_FAIL;
	}
	return rc;
}

static int inspect_file(const ex_program *p, const ex_common *c, const char *path,
                        const char *media_type, int raw, int digest_only)
{
	size_t len = 0;
	char *data = read_file(path, &len);
	if (!data) {
		fprintf(stderr, "%s: cannot read %s\n", p->name, path);
		return EX_FAIL;
	}
	registry_manifest *m = NULL;
	int rc = registry_manifest_parse(&m, data, len, media_type, NULL) ? ex_fail(p, path)
	                                                             : show(p, path, m, raw, digest_only, c->json);
	registry_manifest_free(m);
	free(data);
	return rc;
}

/* The image's config, as `skopeo inspect --config` shows it. */
static int inspect_config(const ex_program *p, const ex_common *c, const char *text)
{
	registry_reference *ref = NULL;
	registry_client *client = NULL;
	registry_image_config *config = NULL;
	registry_image_config_fetch_options o = REGISTRY_IMAGE_CONFIG_FETCH_OPTIONS_INIT;
	char *json = NULL;
	o.platform = c->platform;
	int rc = ex_reference(p, text, &ref);
	if (rc || (rc = ex_client(p, c, ref, &client)))
		goto out;
	if (registry_image_config_fetch(&config, client, ref, &o) != 0 ||
	    registry_image_config_to_json(&json, config) != 0) {
		rc = ex_fail(p, text);
		goto out;
	}
	if (c->json) {
		ex_json_open();
		ex_json_str("inspected", text);
		ex_json_raw("config", json);
		ex_json_close();
	} else {
		puts(json);
	}
	if (fflush(stdout) != 0) {
		perror(p->name);
		rc = EX_FAIL;
	}
out:
	registry_free(json);
	registry_image_config_free(config);
	registry_client_free(client);
	registry_reference_free(ref);
	return rc;
}

static int inspect_remote(const ex_program *p, const ex_common *c, const char *text, int raw,
                          int digest_only)
{
	registry_reference *ref = NULL;
	registry_client *client = NULL;
	registry_manifest *m = NULL;
	int rc = ex_reference(p, text, &ref);
	if (rc || (rc = ex_client(p, c, ref, &client)))
		goto out;
	const char *repo = registry_reference_repository(ref);
	const char *target = registry_reference_digest(ref) ? registry_reference_digest(ref)
	                                                    : registry_reference_tag(ref);
	if (digest_only && !c->platform) {
		/* HEAD is enough, and does not count against pull limits. */
		char *digest = NULL;
		if (registry_manifest_resolve(&digest, NULL, NULL, client, repo, target) != 0) {
			rc = ex_fail(p, text);
		} else if (c->json) {
			ex_json_open();
			ex_json_str("inspected", text);
			ex_json_str("digest", digest);
			ex_json_close();
		} else {
			puts(digest);
		}
		registry_free(digest);
		goto out;
	}
	if (registry_manifest_fetch(&m, client, repo, target, NULL) != 0) {
		rc = ex_fail(p, text);
		goto out;
	}
	if (c->platform && registry_manifest_kind(m) == REGISTRY_MANIFEST_INDEX) {
		const registry_descriptor *d = NULL;
		if (registry_manifest_select_platform(&d, m, c->platform) != 0) {
			rc = ex_fail(p, text);
			goto out;
		}
		registry_manifest *child = NULL;
		if (registry_manifest_fetch(&child, client, repo, registry_descriptor_digest(d), NULL) != 0) {
			rc = ex_fail(p, registry_descriptor_digest(d));
			goto out;
		}
		registry_manifest_free(m);
		m = child;
	}
	rc = show(p, text, m, raw, digest_only, c->json);
out:
	registry_manifest_free(m);
	registry_client_free(client);
	registry_reference_free(ref);
	return rc;
}

int main(int argc, char **argv)
{
	const char *file = NULL, *media_type = NULL;
	int raw = 0, digest_only = 0, config = 0;
	const ex_flag flags[] = {
		{"--config", NULL, NULL, &config},
		{"--file", "MANIFEST", &file, NULL},
		{"--media-type", "TYPE", &media_type, NULL},
		{"--raw", NULL, NULL, &raw},
		{"--digest", NULL, NULL, &digest_only},
		{NULL, NULL, NULL, NULL},
	};
	const ex_program prog = {
		"registry-inspect", "show an image manifest or config",
		"REFERENCE\n--config REFERENCE\n--file MANIFEST [--media-type TYPE]",
		"DESCRIPTION\n"
		"    Fetches the manifest REFERENCE names (by tag or digest; every format:\n"
		"    Docker schema1, schema2, manifest list, OCI manifest and index) and\n"
		"    prints the library's normalized view as JSON: media type, digest,\n"
		"    size, config, layers base first, entries of a list with their\n"
		"    platforms, subject, annotations, schema1 history. With --platform,\n"
		"    a list or index is resolved to that platform's manifest first.\n"
		"    With --file, a manifest stored in a file is read instead: no\n"
		"    network. With --config, the image's configuration is printed\n"
		"    instead (platform, Env, Cmd, Entrypoint, WorkingDir, User, labels,\n"
		"    rootfs diff_ids, history) in the OCI shape and with the field names\n"
		"    of `skopeo inspect --config`.\n"
		"    With --json: one object, {\"inspected\": REFERENCE or FILE,\n"
		"    \"digest\", \"media_type\", \"size\", \"manifest\": the normalized\n"
		"    view} (with --digest only the first two; with --config\n"
		"    {\"inspected\", \"config\"}).\n"
		"\n"
		"OPTIONS\n"
		"    --file MANIFEST     read the manifest from a file (offline)\n"
		"    --media-type TYPE   its media type, when the document does not say\n"
		"    --raw               print the bytes exactly as served\n"
		"    --digest            print only the digest (resolved with HEAD when\n"
		"                        no --platform is given)\n"
		"    --config            print the image's configuration (for a list or\n"
		"                        index, the --platform entry, by default this\n"
		"                        machine's)\n"
		"\n"
		"EXAMPLES\n"
		"    registry-inspect localhost:5000/fixtures/small-v2s2\n"
		"    registry-inspect --platform linux/arm64/v8 docker.io/library/ubuntu:22.04\n"
		"    registry-inspect --digest localhost:5000/app:1.0\n"
		"    registry-inspect --config localhost:5000/fixtures/small-v2s2\n"
		"    registry-inspect --file manifest.json\n",
		0, 1, flags};
	ex_common c;
	char *args[1];
	int nargs = 0;
	int rc = ex_parse(&prog, argc, argv, &c, args, &nargs);
	if (rc)
		return rc;
	if (raw && digest_only)
		rc = ex_usage_error(&prog, "--raw and --digest exclude each other");
	else if (raw && c.json)
		rc = ex_usage_error(&prog, "--raw and --json exclude each other");
	else if (file && nargs)
		rc = ex_usage_error(&prog, "give a REFERENCE or --file, not both");
	else if (!file && !nargs)
		rc = ex_usage_error(&prog, "missing argument: REFERENCE or --file MANIFEST");
	else if (media_type && !file)
		rc = ex_usage_error(&prog, "--media-type goes with --file");
	else if (config && (raw || digest_only || file))
		rc = ex_usage_error(&prog, "--config goes with a REFERENCE alone");
	else if (file && c.platform)
		rc = ex_usage_error(&prog, "--platform needs a REFERENCE (the registry holds the entries)");
	else if (config)
		rc = inspect_config(&prog, &c, args[0]);
	else if (file)
		rc = inspect_file(&prog, &c, file, media_type, raw, digest_only);
	else
		rc = inspect_remote(&prog, &c, args[0], raw, digest_only);
	ex_common_free(&c);
	return ex_exit(rc);
}

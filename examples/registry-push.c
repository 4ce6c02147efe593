/* registry-push: an image from an OCI layout or a docker tarball to a registry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int main(int argc, char **argv)
{
	const char *chunk = NULL;
	const ex_flag flags[] = {{"--chunk-size", "BYTES", &chunk, NULL}, {NULL, NULL, NULL, NULL}};
	const ex_program prog = {
		"registry-push", "push an image to a registry", "DIR[:NAME] REFERENCE\nFILE.tar REFERENCE",
		"DESCRIPTION\n"
		"    Pushes an image to the registry REFERENCE names, under its tag (or\n"
		"    by digest): blobs the registry already has are skipped, the others\n"
		"    uploaded, then the config and the manifests (an index's entries\n"
		"    first). The source is either\n"
		"      DIR[:NAME]   an OCI image layout; NAME is the image's\n"
		"                   org.opencontainers.image.ref.name or its manifest\n"
		"                   digest, and may be left out when DIR holds one image\n"
		"      FILE.tar     a `docker save` tarball\n"
		"    Prints the digest of the pushed manifest; with --json,\n"
		"    {\"pushed\": SOURCE, \"image\": the layout's NAME (null for a\n"
		"    tarball), \"to\": DESTINATION, \"digest\"}.\n"
		"\n"
		"OPTIONS\n"
		"    --chunk-size BYTES  upload blobs larger than BYTES in chunks of that\n"
		"                        size (default 16 MiB)\n"
		"\n"
		"EXAMPLES\n"
		"    registry-push ./small-oci:latest localhost:5000/copies/small:1\n"
		"    registry-push app.tar localhost:5000/app:1.0\n",
		2, 2, flags};
	ex_common c;
	char *args[2];
	int nargs = 0;
	int rc = ex_parse(&prog, argc, argv, &c, args, &nargs);
	if (rc)
		return rc;
	if (c.platform) {
		ex_common_free(&c);
		return ex_usage_error(&prog, "--platform: an image is pushed as it is stored");
	}
	registry_push_options opts = REGISTRY_PUSH_OPTIONS_INIT;
	if (chunk) {
		char *end;
		long long v = strtoll(chunk, &end, 10);
		if (end == chunk || *end || v < 1) {
			ex_common_free(&c);
			return ex_usage_error(&prog, "--chunk-size wants a positive number of bytes");
		}
		opts.chunk_size = (size_t)v;
	}
	registry_reference *ref = NULL;
	registry_client *client = NULL;
	registry_store *store = NULL;
	char *source = strdup(args[0]), *name = NULL, *ref_name = NULL, *digest = NULL;
	if (!source) {
		perror(prog.name);
		rc = EX_FAIL;
		goto out;
	}
	if ((rc = ex_reference(&prog, args[1], &ref)) || (rc = ex_client(&prog, &c, ref, &client)))
		goto out;

	ex_progress pr;
	ex_progress_init(&pr, "pushed");
	if (!c.quiet) {
		opts.progress = ex_progress_cb;
		opts.userdata = &pr;
	}
	struct stat st;
	int failed;
	if (ends_with(source, ".tar") && stat(source, &st) == 0 && S_ISREG(st.st_mode)) {
		registry_push_archive_options aopts = REGISTRY_PUSH_ARCHIVE_OPTIONS_INIT;
		aopts.chunk_size = opts.chunk_size;
		aopts.progress = opts.progress;
		aopts.userdata = opts.userdata;
		failed = registry_push_archive(&digest, client, source, ref, &aopts);
	} else {
		/* DIR:NAME, unless the whole argument is a directory. */
		char *colon = strrchr(source, ':');
		if (colon && !strchr(colon, '/') && !(stat(source, &st) == 0 && S_ISDIR(st.st_mode))) {
			*colon = '\0';
			name = colon + 1;
		}
		if (registry_store_open(&store, source, 0) != 0) {
			rc = ex_fail(&prog, source);
			goto out;
		}
		if ((rc = ex_pick_image(&prog, store, name && *name ? name : NULL, &ref_name)))
			goto out;
		failed = registry_push(&digest, client, store, ref_name, ref, &opts);
	}
	ex_progress_end(&pr);
	if (failed) {
		rc = ex_fail(&prog, args[0]);
	} else if (c.json) {
		ex_json_open();
		ex_json_str("pushed", args[0]);
		ex_json_str("image", ref_name); /* NULL for a docker tarball */
		ex_json_str("to", registry_reference_string(ref));
		ex_json_str("digest", digest);
		ex_json_close();
	} else {
		printf("%s\n", digest);
	}
out:
	registry_free(digest);
	free(ref_name);
	free(source);
	registry_store_free(store);
	registry_client_free(client);
	registry_reference_free(ref);
	ex_common_free(&c);
	return ex_exit(rc);
}

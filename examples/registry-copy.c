/* registry-copy: an image from one registry (or repository) to another,
 * streamed without touching the disk. */
#include <stdio.h>
#include <string.h>

#include "common.h"

int main(int argc, char **argv)
{
	int all = 0;
	const ex_flag flags[] = {{"--all-platforms", NULL, NULL, &all}, {NULL, NULL, NULL, NULL}};
	const ex_program prog = {
		"registry-copy", "copy an image between registries", "SOURCE DESTINATION",
		"DESCRIPTION\n"
		"    Copies the image SOURCE names to DESTINATION (both references),\n"
		"    streaming each blob from the source into the upload without\n"
		"    touching the disk. Within one registry, blobs are mounted across\n"
		"    repositories instead of copied. Of a multi-platform image, the\n"
		"    --platform entry (default: this machine's) is copied, or with\n"
		"    --all-platforms every platform and the index (the digest stays the\n"
		"    same). The common credential options apply to both registries;\n"
		"    Docker's config file is read for each.\n"
		"    Prints the digest of the manifest at DESTINATION; with --json,\n"
		"    {\"copied\": SOURCE, \"to\": DESTINATION, \"digest\"}.\n"
		"\n"
		"OPTIONS\n"
		"    --all-platforms     copy every platform and the index itself\n"
		"\n"
		"EXAMPLES\n"
		"    registry-copy docker.io/library/alpine:3.19 localhost:5000/alpine:3.19\n"
		"    registry-copy --platform linux/amd64 localhost:5000/multi localhost:5000/amd64-only\n",
		2, 2, flags};
	ex_common c;
	char *args[2];
	int nargs = 0;
	int rc = ex_parse(&prog, argc, argv, &c, args, &nargs);
	if (rc)
		return rc;
	if (all && c.platform) {
		ex_common_free(&c);
		return ex_usage_error(&prog, "--all-platforms and --platform exclude each other");
	}
	registry_reference *src = NULL, *dst = NULL;
	registry_client *from = NULL, *to = NULL;
	char *digest = NULL;
	if ((rc = ex_reference(&prog, args[0], &src)) || (rc = ex_reference(&prog, args[1], &dst)) ||
	    (rc = ex_client(&prog, &c, src, &from)) || (rc = ex_client(&prog, &c, dst, &to)))
		goto out;

	ex_progress pr;
	ex_progress_init(&pr, "copied");
	registry_copy_options opts = REGISTRY_COPY_OPTIONS_INIT;
	opts.platform = c.platform;
	if (all)
		opts.flags |= REGISTRY_COPY_ALL_PLATFORMS;
	if (!c.quiet) {
		opts.progress = ex_progress_cb;
		opts.userdata = &pr;
	}
	int failed = registry_copy(&digest, from, src, to, dst, &opts);
	ex_progress_end(&pr);
	if (failed) {
		rc = ex_fail(&prog, args[0]);
	} else if (c.json) {
		ex_json_open();
		ex_json_str("copied", registry_reference_string(src));
		ex_json_str("to", registry_reference_string(dst));
		ex_json_str("digest", digest);
		ex_json_close();
	} else {
		printf("%s\n", digest);
	}
out:
	registry_free(digest);
	registry_client_free(from);
	registry_client_free(to);
	registry_reference_free(src);
	registry_reference_free(dst);
	ex_common_free(&c);
	return ex_exit(rc);
}

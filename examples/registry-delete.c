/* registry-delete: delete a tag, or a manifest and so every tag on it. */
#include <stdio.h>

#include "common.h"

int main(int argc, char **argv)
{
	int force = 0;
	const ex_flag flags[] = {{"--force", NULL, NULL, &force}, {NULL, NULL, NULL, NULL}};
	const ex_program prog = {
		"registry-delete", "delete an image manifest from a registry", "REFERENCE",
		"DESCRIPTION\n"
		"    Deletes what REFERENCE names and prints the digest of the\n"
		"    manifest deleted. A tag is deleted as a tag where the registry\n"
		"    can (OCI distribution 1.1). Elsewhere (registry 2.8) a tag is\n"
		"    resolved to its digest and the manifest is deleted, which takes\n"
		"    every tag on it: that is refused while another tag points at the\n"
		"    same manifest (the message names them; up to 1000 tags are\n"
		"    checked) unless --force is given. A digest is deleted the same\n"
		"    way. Blobs stay until the registry's garbage collection. The\n"
		"    registry must allow deletes (registry 2.8: storage: delete:\n"
		"    enabled: true).\n"
		"\n"
		"OPTIONS\n"
		"    --force             delete the manifest even when other tags point\n"
		"                        at it (they are deleted with it)\n"
		"\n"
		"EXAMPLES\n"
		"    registry-delete localhost:5000/app:old\n"
		"    registry-delete --force localhost:5000/app@sha256:<hex>\n",
		1, 1, flags};
	ex_common c;
	char *args[1];
	int nargs = 0;
	int rc = ex_parse(&prog, argc, argv, &c, args, &nargs);
	if (rc)
		return rc;
	registry_reference *ref = NULL;
	registry_client *client = NULL;
	char *digest = NULL;
	if ((rc = ex_reference(&prog, args[0], &ref)) || (rc = ex_client(&prog, &c, ref, &client)))
		goto out;
	const char *target = registry_reference_digest(ref) ? registry_reference_digest(ref)
	                                                    : registry_reference_tag(ref);
	registry_manifest_delete_options opts = REGISTRY_MANIFEST_DELETE_OPTIONS_INIT;
	opts.flags = force ? REGISTRY_DELETE_FORCE : 0;
	if (registry_manifest_delete(&digest, client, registry_reference_repository(ref), target, &opts) != 0) {
		rc = ex_fail(&prog, args[0]);
	} else {
		ex_report(&c, "deleted", registry_reference_string(ref), digest);
	}
out:
	registry_free(digest);
	registry_client_free(client);
	registry_reference_free(ref);
	ex_common_free(&c);
	return ex_exit(rc);
}

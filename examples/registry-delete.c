/* registry-delete: delete a manifest (and so every tag pointing at it). */
#include <stdio.h>

#include "common.h"

int main(int argc, char **argv)
{
	const ex_program prog = {
		"registry-delete", "delete an image manifest from a registry", "REFERENCE",
		"DESCRIPTION\n"
		"    Deletes the manifest REFERENCE names. A tag is resolved to its\n"
		"    digest first, since registries delete by digest: every tag that\n"
		"    points at the same manifest goes too. Blobs stay until the\n"
		"    registry's garbage collection. The registry must allow deletes\n"
		"    (registry 2.8: storage: delete: enabled: true).\n"
		"\n"
		"EXAMPLES\n"
		"    registry-delete localhost:5000/app:old\n"
		"    registry-delete localhost:5000/app@sha256:<hex>\n",
		1, 1, NULL};
	ex_common c;
	char *args[1];
	int nargs = 0;
	int rc = ex_parse(&prog, argc, argv, &c, args, &nargs);
	if (rc)
		return rc;
	registry_reference *ref = NULL;
	registry_client *client = NULL;
	if ((rc = ex_reference(&prog, args[0], &ref)) || (rc = ex_client(&prog, &c, ref, &client)))
		goto out;
	const char *target = registry_reference_digest(ref) ? registry_reference_digest(ref)
	                                                    : registry_reference_tag(ref);
	if (registry_manifest_delete(client, registry_reference_repository(ref), target) != 0)
		rc = ex_fail(&prog, args[0]);
	else if (!c.quiet)
		printf("deleted %s\n", registry_reference_string(ref));
out:
	registry_client_free(client);
	registry_reference_free(ref);
	ex_common_free(&c);
	return ex_exit(rc);
}

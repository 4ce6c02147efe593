/* registry-referrers: the manifests that refer to one (signatures, SBOMs...). */
#include <stdio.h>

#include "common.h"

int main(int argc, char **argv)
{
	const char *artifact_type = NULL;
	const ex_flag flags[] = {{"--artifact-type", "TYPE", &artifact_type, NULL}, {NULL, NULL, NULL, NULL}};
	const ex_program prog = {
		"registry-referrers", "list the manifests that refer to one", "REFERENCE",
		"DESCRIPTION\n"
		"    Lists the referrers of the manifest REFERENCE names (its tag is\n"
		"    resolved to the digest first): the artifacts whose subject it is,\n"
		"    such as signatures and SBOMs. The registry's referrers API is\n"
		"    asked first (distribution-spec 1.1); a registry without it (404)\n"
		"    is read through the referrers tag schema, the sha256-HEX tag.\n"
		"    Prints one line per referrer: DIGEST, ARTIFACT-TYPE and SIZE.\n"
		"    With --json: {\"reference\", \"subject\", \"index\": the OCI index\n"
		"    of the referrers, normalized as registry-inspect prints it}.\n"
		"\n"
		"OPTIONS\n"
		"    --artifact-type TYPE  only the referrers of this artifactType\n"
		"\n"
		"EXAMPLES\n"
		"    registry-referrers localhost:5000/app:v1\n"
		"    registry-referrers --artifact-type application/spdx+json localhost:5000/app@sha256:0123...\n",
		1, 1, flags};
	ex_common c;
	char *args[1];
	int nargs = 0;
	int rc = ex_parse(&prog, argc, argv, &c, args, &nargs);
	if (rc)
		return rc;
	registry_reference *ref = NULL;
	registry_client *client = NULL;
	registry_manifest *index = NULL;
	char subject[REGISTRY_DIGEST_STRING_MAX], *json = NULL;
	if ((rc = ex_reference(&prog, args[0], &ref)) || (rc = ex_client(&prog, &c, ref, &client)) ||
	    (rc = ex_manifest_digest(&prog, client, ref, subject, sizeof(subject))))
		goto out;
	registry_referrers_fetch_options o = REGISTRY_REFERRERS_FETCH_OPTIONS_INIT;
	o.artifact_type = artifact_type;
	if (registry_referrers_fetch(&index, client, registry_reference_repository(ref), subject, &o) != 0) {
		rc = ex_fail(&prog, args[0]);
		goto out;
	}
	if (c.json) {
		if (registry_manifest_to_json(&json, index) != 0) {
			rc = ex_fail(&prog, args[0]);
			goto out;
		}
		ex_json_open();
		ex_json_str("reference", registry_reference_string(ref));
		ex_json_str("subject", subject);
		ex_json_raw("index", json);
		ex_json_close();
	} else {
		for (size_t i = 0; i < registry_manifest_entry_count(index); i++) {
			const registry_descriptor *d = registry_manifest_entry(index, i);
			const char *type = registry_descriptor_artifact_type(d);
			printf("%s\t%s\t%lld\n", registry_descriptor_digest(d), type ? type : "-",
			       (long long)registry_descriptor_size(d));
		}
	}
	if (fflush(stdout) != 0 && !rc) {
		perror(prog.name);
		rc = EX_FAIL;
	}
out:
	registry_free(json);
	registry_manifest_free(index);
	registry_client_free(client);
	registry_reference_free(ref);
	ex_common_free(&c);
	return ex_exit(rc);
}

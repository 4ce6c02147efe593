/* registry-verify: does a containers-policy.json accept an image? */
#include <stdio.h>

#include "common.h"

/* One line per signature examined: "KIND SOURCE: accepted|rejected: REASON". */
static void signature_line(char *out, size_t size, const registry_verify_result *r, size_t i)
{
	snprintf(out, size, "%s %s: %s: %s", registry_verify_result_signature_kind(r, i),
	         registry_verify_result_signature_source(r, i),
	         registry_verify_result_signature_accepted(r, i) ? "accepted" : "rejected",
	         registry_verify_result_signature_reason(r, i));
}

static void print_result(const ex_common *c, const registry_verify_result *r, const char *ref)
{
	char line[2048];
	size_t n = registry_verify_result_signature_count(r);
	const char *digest = registry_verify_result_digest(r);
	if (c->json) {
		ex_json_open();
		ex_json_str("reference", ref);
		ex_json_raw("accepted", registry_verify_result_accepted(r) ? "true" : "false");
		ex_json_str("reason", registry_verify_result_reason(r));
		ex_json_str("scope", registry_verify_result_scope(r));
		ex_json_str("digest", digest);
		ex_json_array_open("signatures");
		for (size_t i = 0; i < n; i++) {
			signature_line(line, sizeof(line), r, i);
			ex_json_str(NULL, line);
		}
		ex_json_array_close();
		ex_json_close();
		return;
	}
	for (size_t i = 0; i < n && !c->quiet; i++) {
		signature_line(line, sizeof(line), r, i);
		fprintf(stderr, "signature %s\n", line);
	}
	if (registry_verify_result_accepted(r))
		printf("accepted %s %s\n", ref, digest ? digest : "");
}

int main(int argc, char **argv)
{
	const char *policy_path = NULL, *registries_d = NULL;
	const ex_flag flags[] = {{"--policy", "FILE", &policy_path, NULL},
	                         {"--registries-d", "DIR", &registries_d, NULL},
	                         {NULL, NULL, NULL, NULL}};
	const ex_program prog = {
		"registry-verify", "check an image against a signature policy", "REFERENCE",
		"DESCRIPTION\n"
		"    Decides whether the policy FILE (containers-policy.json(5), as\n"
		"    /etc/containers/policy.json) accepts the image REFERENCE: the most\n"
		"    specific scope of its \"docker\" transport applies, else \"default\".\n"
		"    Requirements: insecureAcceptAnything, reject, sigstoreSigned with\n"
		"    keyPath/keyData (cosign signatures under the sha256-<hex>.sig tag,\n"
		"    ECDSA, Ed25519 or RSA keys) and signedBy (GPG simple signing,\n"
		"    when built with gpgme). Keyless sigstore (fulcio, rekor) is not\n"
		"    verified: such an image is not accepted. Unknown requirement\n"
		"    types reject. On acceptance prints \"accepted REFERENCE DIGEST\":\n"
		"    pull by that digest to get what was verified. Each signature\n"
		"    examined is reported on stderr (unless --quiet).\n"
		"\n"
		"OPTIONS\n"
		"    --policy FILE       the policy (required)\n"
		"    --registries-d DIR  registries.d folder for simple signing\n"
		"                        lookaside (default /etc/containers/registries.d)\n"
		"\n"
		"EXIT STATUS\n"
		"    0 accepted, 1 rejected (the reason on stderr) or failed, 2 usage.\n"
		"\n"
		"EXAMPLES\n"
		"    registry-verify --policy /etc/containers/policy.json quay.io/app:1\n"
		"    registry-verify --json --policy policy.json localhost:5000/app@sha256:<hex>\n",
		1, 1, flags};
	ex_common c;
	char *args[1];
	int nargs = 0;
	int rc = ex_parse(&prog, argc, argv, &c, args, &nargs);
	if (rc)
		return rc;
	if (!policy_path) {
		ex_common_free(&c);
		return ex_usage_error(&prog, "--policy FILE is required");
	}
	registry_reference *ref = NULL;
	registry_client *client = NULL;
	registry_policy *policy = NULL;
	registry_verify_result *result = NULL;
	registry_verify_options opts = REGISTRY_VERIFY_OPTIONS_INIT;
	opts.registries_d = registries_d;
	if ((rc = ex_policy(&prog, policy_path, &policy)) || (rc = ex_reference(&prog, args[0], &ref)) || (rc = ex_client(&prog, &c, ref, &client)))
		goto out;
	int vrc = registry_verify(&result, client, ref, policy, &opts);
	if (result)
		print_result(&c, result, registry_reference_string(ref));
	if (vrc)
		rc = ex_fail(&prog, args[0]);
out:
	registry_verify_result_free(result);
	registry_policy_free(policy);
	registry_client_free(client);
	registry_reference_free(ref);
	ex_common_free(&c);
	return ex_exit(rc);
}

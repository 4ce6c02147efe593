/* registry-artifact: any files in a registry as an OCI artifact (oras style). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define MAX_ARGS (2 + REGISTRY_ARTIFACT_FILES_MAX)

static const char help[] =
	"DESCRIPTION\n"
	"    push: uploads each FILE as a layer of an OCI artifact (image-spec\n"
	"    1.1) and the manifest under REFERENCE, and prints its digest. A\n"
	"    layer's media type is TYPE (default application/octet-stream) and\n"
	"    its title annotation the file's name; a directory is packed as one\n"
	"    tar+gzip layer that pulls unpack (as oras does). FILE:TYPE splits\n"
	"    at the last colon; end a name holding a colon with one (a:b:).\n"
	"    The config is the empty descriptor. With --subject, the artifact\n"
	"    refers to that manifest (a signature, an SBOM): on a registry\n"
	"    without the referrers API the push keeps the sha256-HEX tag that\n"
	"    lists the referrers (see registry-referrers).\n"
	"    pull: writes every titled layer of the artifact REFERENCE into DIR\n"
	"    (created when absent), verified; a title that is not a plain file\n"
	"    name is refused, nothing is overwritten, directories are unpacked\n"
	"    beneath their title only. Prints the manifest's digest.\n"
	"    With --json: {\"reference\", \"digest\"} (pull adds \"dir\").\n"
	"\n"
	"OPTIONS\n"
	"    --artifact-type TYPE  the artifactType (push; default\n"
	"                        application/vnd.unknown.artifact.v1)\n"
	"    --annotation KEY=VALUE  a manifest annotation (push; repeatable)\n"
	"    --subject REF       the manifest this artifact refers to (push): a\n"
	"                        digest, or a reference in the same repository\n"
	"\n"
	"EXAMPLES\n"
	"    registry-artifact push localhost:5000/docs:v1 README.md:text/markdown site/\n"
	"    registry-artifact push --artifact-type application/spdx+json \\\n"
	"        --subject sha256:0123... localhost:5000/app sbom.json\n"
	"    registry-artifact pull localhost:5000/docs:v1 ./docs\n";

/* "FILE[:TYPE]": the type after the last colon, none when it is empty. */
static void split_file(char *arg, registry_artifact_file *f)
{
	char *colon = strrchr(arg, ':');
	f->path = arg;
	if (colon) {
		*colon = '\0';
		f->media_type = colon[1] ? colon + 1 : NULL;
	}
}

/* KEY=VALUE pairs into a NULL-terminated list: keys copied into @keys (free
 * them), values pointing into the arguments. */
static int split_annotations(const ex_program *p, const char **in, int n, const char **out, char **keys)
{
	out[0] = NULL;
	for (int i = 0; i < n; i++) {
		const char *eq = strchr(in[i], '=');
		if (!eq || eq == in[i])
			return ex_usage_error(p, "--annotation wants KEY=VALUE, not '%s'", in[i]);
		if (!(keys[i] = strndup(in[i], (size_t)(eq - in[i]))))
			return ex_usage_error(p, "out of memory");
		out[2 * i] = keys[i];
		out[2 * i + 1] = eq + 1;
		out[2 * i + 2] = NULL;
	}
	return EX_OK;
}

static int push(const ex_program *p, registry_client *client, const registry_reference *ref,
                char **files, int nfiles, const registry_artifact_push_options *o, char **digest)
{
	registry_artifact_file *specs = calloc((size_t)nfiles, sizeof(*specs));
	const registry_artifact_file **list = calloc((size_t)nfiles + 1, sizeof(*list));
	int rc = specs && list ? EX_OK : ex_usage_error(p, "out of memory");
	for (int i = 0; !rc && i < nfiles; i++) {
		registry_artifact_file init = REGISTRY_ARTIFACT_FILE_INIT;
		specs[i] = init;
		split_file(files[i], &specs[i]);
		list[i] = &specs[i];
	}
	if (!rc && registry_artifact_push(digest, client, ref, list, o) != 0)
		rc = ex_fail(p, registry_reference_string(ref));
	free(specs);
	free(list);
	return rc;
}

int main(int argc, char **argv)
{
	const char *artifact_type = NULL, *subject = NULL, *annotations[EX_REPEAT_MAX];
	int nannotations = 0;
	const ex_flag flags[] = {{"--artifact-type", "TYPE", &artifact_type, NULL},
	                         {"--annotation", "KEY=VALUE", annotations, &nannotations},
	                         {"--subject", "REF", &subject, NULL},
	                         {NULL, NULL, NULL, NULL}};
	const ex_program prog = {"registry-artifact", "push and pull files as an OCI artifact",
	                         "push REFERENCE FILE[:TYPE]...\npull REFERENCE DIR", help, 2, MAX_ARGS, flags};
	ex_common c;
	char *args[MAX_ARGS];
	int nargs = 0;
	int rc = ex_parse(&prog, argc, argv, &c, args, &nargs);
	if (rc)
		return rc;
	int is_push = strcmp(args[0], "push") == 0, is_pull = strcmp(args[0], "pull") == 0;
	if (!is_push && !is_pull)
		rc = ex_usage_error(&prog, "the first argument is push or pull, not '%s'", args[0]);
	else if (is_pull && (nargs != 3 || artifact_type || subject || nannotations))
		rc = ex_usage_error(&prog, "pull takes REFERENCE DIR and no push options");
	const char *pairs[2 * EX_REPEAT_MAX + 1];
	char *keys[EX_REPEAT_MAX] = {NULL};
	registry_reference *ref = NULL, *subject_ref = NULL;
	registry_client *client = NULL;
	char *digest = NULL, subject_digest[REGISTRY_DIGEST_STRING_MAX] = "";
	if (rc || (rc = split_annotations(&prog, annotations, nannotations, pairs, keys)) ||
	    (rc = ex_reference(&prog, args[1], &ref)) || (rc = ex_client(&prog, &c, ref, &client)))
		goto out;
	if (subject && registry_digest_validate(subject) == 0) {
		snprintf(subject_digest, sizeof(subject_digest), "%s", subject);
	} else if (subject && ((rc = ex_reference(&prog, subject, &subject_ref)) ||
	                       (rc = ex_manifest_digest(&prog, client, subject_ref, subject_digest,
	                                                sizeof(subject_digest))))) {
		goto out;
	}
	if (is_push) {
		registry_artifact_push_options o = REGISTRY_ARTIFACT_PUSH_OPTIONS_INIT;
		o.artifact_type = artifact_type;
		o.annotations = pairs;
		o.subject = subject ? subject_digest : NULL;
		rc = push(&prog, client, ref, args + 2, nargs - 2, &o, &digest);
	} else if (registry_artifact_pull(&digest, client, ref, args[2], NULL) != 0) {
		rc = ex_fail(&prog, args[1]);
	}
	if (!rc && c.json) {
		ex_json_open();
		ex_json_str("reference", registry_reference_string(ref));
		ex_json_str("digest", digest);
		if (is_pull)
			ex_json_str("dir", args[2]);
		ex_json_close();
	} else if (!rc) {
		printf("%s\n", digest);
	}
	if (fflush(stdout) != 0 && !rc) {
		perror(prog.name);
		rc = EX_FAIL;
	}
out:
	for (int i = 0; i < nannotations; i++)
		free(keys[i]);
	registry_free(digest);
	registry_client_free(client);
	registry_reference_free(subject_ref);
	registry_reference_free(ref);
	ex_common_free(&c);
	return ex_exit(rc);
}

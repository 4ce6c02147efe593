/* registry-tags: every tag of a repository, one per line. */
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

int main(int argc, char **argv)
{
	const char *page_size = NULL;
	const ex_flag flags[] = {{"--page-size", "N", &page_size, NULL}, {NULL, NULL, NULL, NULL}};
	const ex_program prog = {
		"registry-tags", "list the tags of a repository", "REFERENCE",
		"DESCRIPTION\n"
		"    Prints every tag of the repository that REFERENCE names, one per\n"
		"    line, in the registry's order. The tag or digest of REFERENCE is\n"
		"    ignored. Pages are fetched as needed, following the registry's\n"
		"    Link headers. With --json: one object, {\"registry\",\n"
		"    \"repository\", \"tags\": [...]}.\n"
		"\n"
		"OPTIONS\n"
		"    --page-size N       ask for N tags per page (default: the\n"
		"                        registry's choice)\n"
		"\n"
		"EXAMPLES\n"
		"    registry-tags localhost:5000/fixtures/small-v2s2\n"
		"    registry-tags --page-size 100 ubuntu\n",
		1, 1, flags};
	ex_common c;
	char *args[1];
	int nargs = 0, n = 0;
	int rc = ex_parse(&prog, argc, argv, &c, args, &nargs);
	if (rc)
		return rc;
	if (page_size) {
		char *end;
		long v = strtol(page_size, &end, 10);
		if (end == page_size || *end || v < 1 || v > 100000)
			return ex_usage_error(&prog, "--page-size wants a number from 1 to 100000");
		n = (int)v;
	}
	registry_reference *ref = NULL;
	registry_client *client = NULL;
	registry_list *list = NULL;
	if ((rc = ex_reference(&prog, args[0], &ref)) || (rc = ex_client(&prog, &c, ref, &client)))
		goto out;
	const char *repo = registry_reference_repository(ref);
	registry_list_options lo = REGISTRY_LIST_OPTIONS_INIT;
	lo.page_size = (unsigned int)n;
	if (registry_list_tags_open(&list, client, repo, &lo) != 0) {
		rc = ex_fail(&prog, repo);
		goto out;
	}
	if (c.json) {
		ex_json_open();
		ex_json_str("registry", registry_reference_registry(ref));
		ex_json_str("repository", repo);
		ex_json_array_open("tags");
	}
	for (;;) {
		const char *tag = NULL;
		if (registry_list_next(&tag, list) != 0) {
			rc = ex_fail(&prog, repo);
			break;
		}
		if (!tag)
			break;
		if (c.json)
			ex_json_str(NULL, tag);
		else
			puts(tag);
	}
	if (c.json && !rc) {
		ex_json_array_close();
		ex_json_close();
	}
	if (fflush(stdout) != 0 && !rc) {
		perror(prog.name);
		rc = EX_FAIL;
	}
out:
	registry_list_free(list);
	registry_client_free(client);
	registry_reference_free(ref);
	ex_common_free(&c);
	return ex_exit(rc);
}

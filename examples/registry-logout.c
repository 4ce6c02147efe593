/* registry-logout: forget the stored credentials of a registry. */
#include <stdio.h>

#include "common.h"

int main(int argc, char **argv)
{
	const ex_flag flags[] = {{NULL, NULL, NULL, NULL}};
	const ex_program prog = {
		"registry-logout", "remove the stored credentials of a registry", "HOST[:PORT]",
		"DESCRIPTION\n"
		"    Removes the entry of HOST[:PORT] from the auth file (or erases it\n"
		"    from the credential helper the file names for it), as\n"
		"    registry-login stored it or podman, skopeo or Docker did. The auth\n"
		"    file is found as registry-login finds it (--authfile first). No\n"
		"    entry is a failure (exit 1). The registry is not contacted.\n"
		"\n"
		"EXAMPLES\n"
		"    registry-logout localhost:5000\n"
		"    registry-logout --authfile auth.json ghcr.io\n",
		1, 1, flags};
	ex_common c;
	char *args[1];
	int nargs = 0;
	int rc = ex_parse(&prog, argc, argv, &c, args, &nargs);
	if (rc)
		return rc;
	registry_client *client = NULL;
	if (registry_client_new(&client, args[0]) != 0) {
		rc = ex_fail(&prog, args[0]);
	} else {
		registry_login_options o = REGISTRY_LOGIN_OPTIONS_INIT;
		o.auth_file = c.authfile;
		if (registry_logout(client, &o) != 0)
			rc = ex_fail(&prog, args[0]);
		else if (c.json) {
			ex_json_open();
			ex_json_str("logged_out", args[0]);
			ex_json_close();
		} else if (!c.quiet) {
			printf("logged out of %s\n", args[0]);
		}
	}
	registry_client_free(client);
	ex_common_free(&c);
	return ex_exit(rc);
}

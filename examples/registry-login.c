/* registry-login: check credentials at a registry and store them where
 * podman, skopeo and Docker read them. */
#include <stdio.h>

#include "common.h"

int main(int argc, char **argv)
{
	const ex_flag flags[] = {{NULL, NULL, NULL, NULL}};
	const ex_program prog = {
		"registry-login", "log in to a registry and store the credentials", "HOST[:PORT]",
		"DESCRIPTION\n"
		"    Checks USER's password (read from standard input) at the registry\n"
		"    HOST[:PORT] (a token without scope where the registry uses\n"
		"    tokens), then stores it for the registry: with the credential\n"
		"    helper the auth file names for it (credHelpers, credsStore),\n"
		"    else in the auth file, replaced atomically, mode 0600. The auth\n"
		"    file is --authfile, else $REGISTRY_AUTH_FILE, else\n"
		"    $XDG_RUNTIME_DIR/containers/auth.json, else\n"
		"    $XDG_CONFIG_HOME/containers/auth.json (~/.config): the file\n"
		"    podman and skopeo use. Use docker.io for Docker Hub. Nothing is\n"
		"    stored when the registry refuses the credentials.\n"
		"\n"
		"EXAMPLES\n"
		"    printf '%s' \"$TOKEN\" | registry-login --username me --password-stdin ghcr.io\n"
		"    registry-login --authfile auth.json --username me --password-stdin localhost:5000\n",
		1, 1, flags};
	ex_common c;
	char *args[1];
	int nargs = 0;
	int rc = ex_parse(&prog, argc, argv, &c, args, &nargs);
	if (rc)
		return rc;
	if (!c.username) {
		ex_common_free(&c);
		return ex_usage_error(&prog, "--username and --password-stdin are needed");
	}
	registry_client *client = NULL;
	if ((rc = ex_client_host(&prog, &c, args[0], &client)) == 0) {
		registry_login_options o = REGISTRY_LOGIN_OPTIONS_INIT;
		o.auth_file = c.authfile;
		if (registry_login(client, c.username, c.password, &o) != 0)
			rc = ex_fail(&prog, args[0]);
		else if (c.json) {
			ex_json_open();
			ex_json_str("logged_in", args[0]);
			ex_json_str("username", c.username);
			ex_json_close();
		} else if (!c.quiet) {
			printf("logged in to %s as %s\n", args[0], c.username);
		}
	}
	registry_client_free(client);
	ex_common_free(&c);
	return ex_exit(rc);
}

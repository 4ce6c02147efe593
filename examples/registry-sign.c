/* registry-sign: sign an image with a cosign key, in cosign's layout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define KEY_MAX (256 * 1024)

/* The key file, whole (at most KEY_MAX bytes); NULL with a message on failure. */
static char *read_key(const ex_program *p, const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = f ? malloc(KEY_MAX + 1) : NULL;
	*len = buf ? fread(buf, 1, KEY_MAX + 1, f) : 0;
	if (!buf || ferror(f) || *len > KEY_MAX) {
		fprintf(stderr, "%s: %s: cannot read the key (missing, unreadable or over 256 KiB)\n", p->name, path);
		free(buf);
		buf = NULL;
	}
	if (f)
		fclose(f);
	return buf;
}

/* One line from standard input, without its newline; NULL at EOF. */
static char *read_line(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, stdin);
	if (n < 0) {
		free(line);
		return NULL;
	}
	line[strcspn(line, "\r\n")] = '\0';
	return line;
}

int main(int argc, char **argv)
{
	const char *key_path = NULL, *identity = NULL, *gpg_fpr = NULL, *registries_d = NULL;
	int key_password_stdin = 0, replace = 0, referrer = 0;
	const ex_flag flags[] = {{"--key", "FILE", &key_path, NULL},
	                         {"--key-password-stdin", NULL, NULL, &key_password_stdin},
	                         {"--identity", "NAME", &identity, NULL},
	                         {"--replace", NULL, NULL, &replace},
	                         {"--referrer", NULL, NULL, &referrer},
	                         {"--gpg", "FINGERPRINT", &gpg_fpr, NULL},
	                         {"--registries-d", "DIR", &registries_d, NULL},
	                         {NULL, NULL, NULL, NULL}};
	const ex_program prog = {
		"registry-sign", "sign an image with a cosign key", "REFERENCE",
		"DESCRIPTION\n"
		"    Signs the image REFERENCE names as `cosign sign --key` does: a\n"
		"    simple signing payload for its manifest digest, signed with the\n"
		"    private key FILE, pushed as a layer of the sha256-<hex>.sig tag of\n"
		"    its repository (after the signatures already there, unless\n"
		"    --replace). The key is cosign's encrypted key (cosign.key, from\n"
		"    `cosign generate-key-pair`; its password from COSIGN_PASSWORD or\n"
		"    with --key-password-stdin) or an unencrypted PEM private key;\n"
		"    ECDSA, Ed25519 and RSA. Prints \"signed REFERENCE DIGEST\".\n"
		"    With --referrer, the signature is an OCI 1.1 referrer of the image\n"
		"    instead (cosign's oci-1-1 referrers mode): listed by the referrers\n"
		"    API, or on registries without it in the sha256-<hex> tag index.\n"
		"    Check the result with registry-verify and a sigstoreSigned policy.\n"
		"    With --gpg FINGERPRINT instead of --key: a GPG simple signature, as\n"
		"    skopeo copy writes it when asked to sign, made with that secret key of the\n"
		"    keyring (GNUPGHOME) and written to the registry's own signature\n"
		"    storage where it advertises one, else to the lookaside-staging\n"
		"    storage (file:// only) that registries.d names for the image;\n"
		"    checked by a signedBy policy.\n"
		"\n"
		"OPTIONS\n"
		"    --key FILE             the private key (required)\n"
		"    --key-password-stdin   read the key's password from standard input\n"
		"                           (--password-stdin is the registry's)\n"
		"    --identity NAME        the docker-reference signed (default: the\n"
		"                           image's registry/repository)\n"
		"    --replace              drop the signatures already on the tag\n"
		"    --referrer             write a referrer of the image, not the .sig tag\n"
		"    --gpg FINGERPRINT      sign with GPG (simple signing) instead\n"
		"    --registries-d DIR     the registries.d folder naming the lookaside\n"
		"                           storage (default /etc/containers/registries.d)\n"
		"    Here --key is the signing key, not the client certificate's key of\n"
		"    the common options: a certificate for mutual TLS comes from certs.d.\n"
		"\n"
		"EXAMPLES\n"
		"    COSIGN_PASSWORD=secret registry-sign --key cosign.key localhost:5000/app:1\n",
		1, 1, flags};
	ex_common c;
	char *args[1];
	int nargs = 0;
	int rc = ex_parse(&prog, argc, argv, &c, args, &nargs);
	if (rc)
		return rc;
	if (!key_path == !gpg_fpr)
		rc = ex_usage_error(&prog, "give one of --key FILE and --gpg FINGERPRINT");
	else if (key_password_stdin && c.password_stdin)
		rc = ex_usage_error(&prog, "--key-password-stdin and --password-stdin both read standard input");
	registry_reference *ref = NULL;
	registry_client *client = NULL;
	char *key = NULL, *password = NULL, *digest = NULL;
	size_t key_len = 0;
	if (rc || (rc = ex_reference(&prog, args[0], &ref)))
		goto out;
	if (gpg_fpr) {
		registry_sign_options gopts = REGISTRY_SIGN_OPTIONS_INIT;
		gopts.identity = identity;
		if (!(rc = ex_client(&prog, &c, ref, &client)) &&
		    registry_sign_gpg(&digest, client, ref, gpg_fpr, registries_d, &gopts) != 0)
			rc = ex_fail(&prog, args[0]);
		else if (!rc)
			ex_report(&c, "signed", registry_reference_string(ref), digest);
		goto out;
	}
	if (!(key = read_key(&prog, key_path, &key_len))) {
		rc = EX_FAIL;
		goto out;
	}
	if (key_password_stdin && !(password = read_line())) {
		fprintf(stderr, "%s: no password on standard input\n", prog.name);
		rc = EX_FAIL;
		goto out;
	}
	if ((rc = ex_client(&prog, &c, ref, &client)))
		goto out;
	registry_sign_options opts = REGISTRY_SIGN_OPTIONS_INIT;
	opts.password = password ? password : getenv("COSIGN_PASSWORD");
	opts.identity = identity;
	opts.flags = (replace ? REGISTRY_SIGN_REPLACE : 0) | (referrer ? REGISTRY_SIGN_REFERRER : 0);
	if (registry_sign_cosign(&digest, client, ref, key, key_len, &opts) != 0) {
		rc = ex_fail(&prog, args[0]);
	} else {
		ex_report(&c, "signed", registry_reference_string(ref), digest);
	}
out:
	if (password) {
		memset(password, 0, strlen(password));
		free(password);
	}
	free(key);
	registry_free(digest);
	registry_client_free(client);
	registry_reference_free(ref);
	ex_common_free(&c);
	return ex_exit(rc);
}

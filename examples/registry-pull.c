/* registry-pull: an image from a registry into an OCI layout, a `docker load`
 * folder or a docker tarball. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The digest the OCI layout's index now names for @ref_name, or NULL;
 * free with registry_free(). */
static char *oci_digest(const char *dest, const char *ref_name)
{
	registry_store *store = NULL;
	const registry_descriptor *d = NULL;
	char *digest = NULL;
	if (registry_store_open(&store, dest, 0) == 0 && registry_store_index_find(&d, store, ref_name) == 0)
		digest = strdup(registry_descriptor_digest(d));
	registry_store_free(store);
	return digest;
}

/* --json: what was pulled where, the digest the registry names for
 * REFERENCE (a digest reference names it; a tag is resolved with HEAD at
 * the registry: a pull by digest may have come from a mirror while the
 * registry is down) and, for an OCI layout, the digest the layout's index
 * holds (different when converted to OCI types). */
static int print_json(const ex_program *p, registry_client *client, const registry_reference *ref,
                      const char *dest, const char *format, const char *layout_digest)
{
	const char *target = registry_reference_digest(ref) ? registry_reference_digest(ref)
	                                                    : registry_reference_tag(ref);
	char *resolved = NULL;
	if (!registry_reference_digest(ref) &&
	    registry_manifest_resolve(&resolved, NULL, NULL, client, registry_reference_repository(ref),
	                              target) != 0)
		return ex_fail(p, registry_reference_string(ref));
	const char *digest = resolved ? resolved : target;
	ex_json_open();
	ex_json_str("pulled", registry_reference_string(ref));
	ex_json_str("to", dest);
	ex_json_str("format", format);
	ex_json_str("digest", digest);
	ex_json_str("layout_digest", layout_digest);
	ex_json_close();
	registry_free(resolved);
	return EX_OK;
}

/* rootfs-tar to stdout: into a temporary file, then copied out (the library writes files atomically). */
static int pull_to_stdout(registry_client *client, const registry_reference *ref, const registry_pull_options *opts)
{
	const char *tmpdir = getenv("TMPDIR");
	char dir[4096], file[4200];
	snprintf(dir, sizeof(dir), "%s/registry-pull-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(dir)) {
		perror("registry-pull: temporary folder");
		return -1;
	}
	snprintf(file, sizeof(file), "%s/rootfs.tar", dir);
	int rc = registry_pull_to(NULL, client, ref, file, REGISTRY_IMAGE_FORMAT_ROOTFS_TAR, opts);
	FILE *in = rc ? NULL : fopen(file, "rb");
	if (!rc && !in)
		rc = -1;
	char buf[65536];
	size_t n;
	while (in && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, stdout) != n) {
			rc = -1;
			break;
		}
	if (in)
		fclose(in);
	if (fflush(stdout) != 0)
		rc = -1;
	unlink(file);
	rmdir(dir);
	return rc;
}

int main(int argc, char **argv)
{
	const char *format = NULL, *policy_path = NULL;
	int preserve = 0, all = 0, referrers = 0, foreign = 0, devices = 0;
	const ex_flag flags[] = {
		{"--format", "oci|docker|rootfs|rootfs-tar", &format, NULL},
		{"--preserve-digests", NULL, NULL, &preserve},
		{"--all-platforms", NULL, NULL, &all},
		{"--referrers", NULL, NULL, &referrers},
		{"--foreign-layers", NULL, NULL, &foreign},
		{"--devices", NULL, NULL, &devices},
		{"--policy", "FILE", &policy_path, NULL},
		{NULL, NULL, NULL, NULL},
	};
	const ex_program prog = {
		"registry-pull", "pull an image into a folder or a tarball", "REFERENCE DEST",
		"DESCRIPTION\n"
		"    Pulls the image REFERENCE names: the manifest (for a multi-platform\n"
		"    image, the --platform entry, by default this machine's), the config\n"
		"    and the layers, fetched in parallel and verified against their\n"
		"    digests, into DEST:\n"
		"      --format oci      an OCI image layout folder (the default; created,\n"
		"                        or added to), readable by skopeo and umoci\n"
		"      --format docker   a folder for `docker load` (manifest.json,\n"
		"                        repositories, config and layer files)\n"
		"      DEST ending in .tar  a tarball for `docker load -i`\n"
		"      --format rootfs   the image's root filesystem: its layers unpacked\n"
		"                        in order into the folder DEST (which must not\n"
		"                        exist or be empty), as registry-unpack does, each\n"
		"                        layer applied while later ones still download;\n"
		"                        DEST appears whole at the end, or not at all\n"
		"      --format rootfs-tar  that root filesystem as one tar file DEST, or\n"
		"                        on stdout for '-' (for machinectl import-tar,\n"
		"                        docker import)\n"
		"    Blobs already in an OCI layout are not fetched again; an interrupted\n"
		"    pull resumes. With --json: one object, {\"pulled\": REFERENCE,\n"
		"    \"to\": DEST, \"format\", \"digest\": the registry's digest for\n"
		"    REFERENCE, \"layout_digest\": the OCI layout's (null otherwise)}.\n"
		"\n"
		"OPTIONS\n"
		"    --format oci|docker|rootfs|rootfs-tar  the destination format (see above)\n"
		"    --preserve-digests   keep manifests byte for byte in an OCI layout\n"
		"                         (Docker media types stay, digests unchanged)\n"
		"    --all-platforms      every platform of a multi-platform image (OCI\n"
		"                         layout only)\n"
		"    --referrers          also what refers to the image (signatures,\n"
		"                         SBOMs), recursively, kept byte for byte and\n"
		"                         named by digest in index.json (OCI layout only;\n"
		"                         with --preserve-digests for a Docker image)\n"
		"    --foreign-layers     fetch non-distributable layers (with \"urls\")\n"
		"                         from their URLs, verified by digest; no\n"
		"                         credentials or --header lines are sent there\n"
		"    --devices            create the image's character and block devices\n"
		"                         (--format rootfs or rootfs-tar; as root only,\n"
		"                         as registry-unpack --devices; otherwise they are\n"
		"                         skipped)\n"
		"    --policy FILE        pull only an image this containers-policy.json\n"
		"                         accepts (see registry-verify): checked before\n"
		"                         anything is written, and the digest verified is\n"
		"                         the one pulled\n"
		"\n"
		"EXAMPLES\n"
		"    registry-pull localhost:5000/fixtures/small-v2s2 ./small-oci\n"
		"    registry-pull --format docker localhost:5000/app:1.0 ./app-docker\n"
		"    registry-pull localhost:5000/app:1.0 app.tar && docker load -i app.tar\n"
		"    registry-pull --format rootfs localhost:5000/app:1.0 ./rootfs\n"
		"    registry-pull --format rootfs-tar localhost:5000/app:1.0 - | machinectl import-tar - app\n",
		2, 2, flags};
	ex_common c;
	char *args[2];
	int nargs = 0;
	int rc = ex_parse(&prog, argc, argv, &c, args, &nargs);
	if (rc)
		return rc;
	const char *dest = args[1];
	int fmt = REGISTRY_IMAGE_FORMAT_OCI;
	if (format && strcmp(format, "docker") == 0)
		fmt = REGISTRY_IMAGE_FORMAT_DOCKER_DIR;
	else if (format && strcmp(format, "rootfs") == 0)
		fmt = REGISTRY_IMAGE_FORMAT_ROOTFS;
	else if (format && strcmp(format, "rootfs-tar") == 0)
		fmt = REGISTRY_IMAGE_FORMAT_ROOTFS_TAR;
	else if (format && strcmp(format, "oci") != 0)
		rc = ex_usage_error(&prog, "--format wants oci, docker, rootfs or rootfs-tar, not '%s'", format);
	if (!rc && strcmp(dest, "-") == 0 && fmt != REGISTRY_IMAGE_FORMAT_ROOTFS_TAR)
		rc = ex_usage_error(&prog, "only --format rootfs-tar writes to stdout ('-')");
	if (!rc && strcmp(dest, "-") == 0 && c.json)
		rc = ex_usage_error(&prog, "--json and a tar on stdout ('-') exclude each other");
	if (!rc && ends_with(dest, ".tar") && fmt != REGISTRY_IMAGE_FORMAT_ROOTFS && fmt != REGISTRY_IMAGE_FORMAT_ROOTFS_TAR) {
		if (format && fmt == REGISTRY_IMAGE_FORMAT_OCI)
			rc = ex_usage_error(&prog, "a .tar destination is a docker tarball, not --format oci");
		fmt = REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE;
	}
	if (!rc && all && fmt != REGISTRY_IMAGE_FORMAT_OCI)
		rc = ex_usage_error(&prog, "--all-platforms needs an OCI layout destination");
	if (!rc && referrers && fmt != REGISTRY_IMAGE_FORMAT_OCI)
		rc = ex_usage_error(&prog, "--referrers needs an OCI layout destination");
	if (!rc && devices && fmt != REGISTRY_IMAGE_FORMAT_ROOTFS && fmt != REGISTRY_IMAGE_FORMAT_ROOTFS_TAR)
		rc = ex_usage_error(&prog, "--devices needs --format rootfs or rootfs-tar");
	if (!rc && all && c.platform)
		rc = ex_usage_error(&prog, "--all-platforms and --platform exclude each other");
	registry_reference *ref = NULL;
	registry_client *client = NULL;
	registry_policy *policy = NULL;
	if (rc || (rc = ex_policy(&prog, policy_path, &policy)) || (rc = ex_reference(&prog, args[0], &ref)) ||
	    (rc = ex_client(&prog, &c, ref, &client)))
		goto out;

	ex_progress pr;
	ex_progress_init(&pr, "pulled");
	registry_pull_options opts = REGISTRY_PULL_OPTIONS_INIT;
	opts.platform = c.platform;
	opts.flags = (preserve ? REGISTRY_PULL_PRESERVE_DIGESTS : 0) | (all ? REGISTRY_PULL_ALL_PLATFORMS : 0) |
	             (referrers ? REGISTRY_PULL_REFERRERS : 0) | (foreign ? REGISTRY_PULL_FOREIGN_LAYERS : 0) |
	             (devices ? REGISTRY_PULL_UNPACK_DEVICES : 0);
	opts.policy = policy;
	if (!c.quiet) {
		opts.progress = ex_progress_cb;
		opts.userdata = &pr;
	}
	int failed = strcmp(dest, "-") == 0 ? pull_to_stdout(client, ref, &opts)
	                                    : registry_pull_to(NULL, client, ref, dest, fmt, &opts);
	ex_progress_end(&pr);
	if (failed) {
		rc = ex_fail(&prog, args[0]);
		goto out;
	}
	char *layout_digest = NULL;
	if (fmt == REGISTRY_IMAGE_FORMAT_OCI)
		layout_digest = oci_digest(dest, registry_reference_tag(ref) ? registry_reference_tag(ref)
		                                                             : registry_reference_digest(ref));
	if (c.json) {
		rc = print_json(&prog, client, ref, dest,
		                fmt == REGISTRY_IMAGE_FORMAT_OCI ? "oci"
		                : fmt == REGISTRY_IMAGE_FORMAT_DOCKER_DIR ? "docker"
		                : fmt == REGISTRY_IMAGE_FORMAT_ROOTFS ? "rootfs"
		                : fmt == REGISTRY_IMAGE_FORMAT_ROOTFS_TAR ? "rootfs-tar" : "docker-archive",
		                layout_digest);
	} else if (strcmp(dest, "-") != 0) {
		printf("pulled %s to %s\n", registry_reference_string(ref), dest);
		if (layout_digest)
			printf("digest: %s\n", layout_digest);
	}
	free(layout_digest);
out:
	registry_policy_free(policy);
	registry_client_free(client);
	registry_reference_free(ref);
	ex_common_free(&c);
	return ex_exit(rc);
}

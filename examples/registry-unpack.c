/* registry-unpack: an image of an OCI layout, or of a docker save tarball,
 * as a root filesystem or a runtime bundle (umoci unpack's counterpart). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* skopeo's transport name for a docker save tarball. */
#define DOCKER_ARCHIVE "docker-archive:"

static int parse_size(const char *text, uint64_t *out)
{
	char *end = NULL;
	unsigned long long v = strtoull(text, &end, 10);
	if (end == text || *end || text[0] == '-')
		return -1;
	*out = v;
	return 0;
}

static void print_stats(const ex_common *c, const char *image, const char *dest, int bundle,
                        const registry_unpack_stats *st)
{
	if (!c->json) {
		printf("unpacked %s to %s: %llu layers, %llu entries, %llu bytes", image, dest,
		       (unsigned long long)st->layers, (unsigned long long)st->entries, (unsigned long long)st->bytes);
		if (st->skipped_owners || st->skipped_devices || st->skipped_xattrs)
			printf(" (not root: skipped %llu owners, %llu devices, %llu xattrs)",
			       (unsigned long long)st->skipped_owners, (unsigned long long)st->skipped_devices,
			       (unsigned long long)st->skipped_xattrs);
		printf("\n");
		return;
	}
	ex_json_open();
	ex_json_str("unpacked", image);
	ex_json_str("to", dest);
	ex_json_str("format", bundle ? "bundle" : "rootfs");
	ex_json_int("layers", (long long)st->layers);
	ex_json_int("entries", (long long)st->entries);
	ex_json_int("bytes", (long long)st->bytes);
	ex_json_int("whiteouts", (long long)st->whiteouts);
	ex_json_int("skipped_owners", (long long)st->skipped_owners);
	ex_json_int("skipped_devices", (long long)st->skipped_devices);
	ex_json_int("skipped_xattrs", (long long)st->skipped_xattrs);
	ex_json_close();
}

int main(int argc, char **argv)
{
	int bundle = 0, devices = 0;
	const char *max_size = NULL;
	const ex_flag flags[] = {
		{"--bundle", NULL, NULL, &bundle},
		{"--devices", NULL, NULL, &devices},
		{"--max-size", "BYTES", &max_size, NULL},
		{NULL, NULL, NULL, NULL},
	};
	const ex_program prog = {
		"registry-unpack", "unpack an image into a root filesystem", "LAYOUT[:NAME] DIR | docker-archive:FILE[:REF] DIR",
		"DESCRIPTION\n"
		"    Applies the layers of an image of the OCI layout LAYOUT in order into\n"
		"    DIR, which must not exist or be empty: NAME is the image's\n"
		"    org.opencontainers.image.ref.name or its manifest digest, and may be\n"
		"    left out when LAYOUT holds one image; of a multi-platform image, the\n"
		"    --platform entry (by default this machine's).\n"
		"    docker-archive:FILE (skopeo's spelling) reads a docker save tarball\n"
		"    instead (docker save, podman save, skopeo copy ... docker-archive:):\n"
		"    REF, one of its RepoTags, may be left out when FILE holds one image;\n"
		"    FILE is everything up to the first ':'. Its layers are streamed from\n"
		"    FILE, no copy is kept. Each layer is checked\n"
		"    against its diff_id; whiteouts remove what lower layers made. No\n"
		"    path of a layer can reach outside DIR. DIR appears whole at the end:\n"
		"    after a failure or an interrupt there is no DIR.\n"
		"    As root, owners, extended attributes and (with --devices) device\n"
		"    nodes are applied; otherwise they are skipped and counted.\n"
		"    With --json: one object, {\"unpacked\": NAME, \"to\": DIR, \"format\":\n"
		"    \"rootfs\" or \"bundle\", \"layers\", \"entries\", \"bytes\", \"whiteouts\",\n"
		"    \"skipped_owners\", \"skipped_devices\", \"skipped_xattrs\"}.\n"
		"\n"
		"OPTIONS\n"
		"    --bundle          write an OCI runtime bundle: DIR/rootfs and\n"
		"                      DIR/config.json (from the image config: args, env,\n"
		"                      working directory, user, annotations), for runc run\n"
		"    --devices         create character and block devices (root only)\n"
		"    --max-size BYTES  refuse an image whose layers unpack to more than\n"
		"                      BYTES of tar (decompression bombs); default no limit\n"
		"\n"
		"EXAMPLES\n"
		"    registry-unpack ./debian-oci:latest ./rootfs\n"
		"    registry-unpack --bundle ./app-oci ./app && runc run -b ./app app1\n"
		"    registry-unpack docker-archive:./app.tar:example.com/app:1.0 ./rootfs\n",
		2, 2, flags};
	ex_common c;
	char *args[2];
	int nargs = 0;
	int rc = ex_parse(&prog, argc, argv, &c, args, &nargs);
	if (rc)
		return rc;
	registry_unpack_options opts = REGISTRY_UNPACK_OPTIONS_INIT;
	opts.platform = c.platform;
	opts.flags = (bundle ? REGISTRY_UNPACK_BUNDLE : 0) | (devices ? REGISTRY_UNPACK_DEVICES : 0);
	if (max_size && parse_size(max_size, &opts.max_size) != 0)
		rc = ex_usage_error(&prog, "--max-size wants a number of bytes, not '%s'", max_size);
	int archive = strncmp(args[0], DOCKER_ARCHIVE, strlen(DOCKER_ARCHIVE)) == 0;
	char *layout = strdup(archive ? args[0] + strlen(DOCKER_ARCHIVE) : args[0]), *name = NULL, *ref_name = NULL;
	registry_store *store = NULL;
	if (rc || !layout)
		goto out;
	/* LAYOUT:NAME, where NAME may be a digest (sha256:...) with its own colon;
	 * FILE:REF, where REF may be host:port/name:tag. */
	char *colon = strchr(layout, ':');
	if (colon) {
		*colon = '\0';
		name = colon + 1;
	}
	if (archive && !*layout) {
		rc = ex_usage_error(&prog, "docker-archive: wants a FILE");
		goto out;
	}
	if (!archive && registry_store_open(&store, layout, 0) != 0) {
		rc = ex_fail(&prog, layout);
		goto out;
	}
	if (!archive && (rc = ex_pick_image(&prog, store, name, &ref_name)))
		goto out;
	if (archive && !(ref_name = strdup(name ? name : layout))) {
		perror(prog.name);
		rc = EX_FAIL;
		goto out;
	}
	ex_progress pr;
	ex_progress_init(&pr, "unpacked");
	if (!c.quiet) {
		opts.progress = ex_progress_cb;
		opts.userdata = &pr;
	}
	registry_unpack_stats st = REGISTRY_UNPACK_STATS_INIT;
	int failed = archive ? registry_archive_unpack(&st, layout, name, args[1], &opts)
	                     : registry_store_unpack(&st, store, ref_name, args[1], &opts);
	ex_progress_end(&pr);
	if (failed)
		rc = ex_fail(&prog, ref_name);
	else
		print_stats(&c, ref_name, args[1], bundle, &st);
out:
	registry_store_free(store);
	free(ref_name);
	free(layout);
	ex_common_free(&c);
	return ex_exit(rc);
}

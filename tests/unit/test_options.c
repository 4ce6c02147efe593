/*
 * Every operation's options struct is checked the same way (DESIGN.md, "API
 * conventions"): version 0, a version newer than the library's, and a flag
 * bit the operation does not know are REGISTRY_EINVAL with a message that
 * names the function; valid options get past the check. One table over
 * every operation, so a new one is a new row.
 *
 * The client points at a closed loopback port: an operation whose options
 * pass fails later (network, missing file or image), never with the
 * options message.
 */
#include <sys/stat.h>
#include <unistd.h>

#include <registry/registry.h>

#include "check.h"

static const char *const D1 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

static struct {
	registry_client *client;
	registry_store *store;
	registry_reference *ref;
	char dir[256];
	char dest[300];
} fx;

static int64_t no_read(void *buf, size_t len, void *ud)
{
	(void)buf;
	(void)len;
	(void)ud;
	return 0;
}

/* Each call fills its operation's options with @version and @flags, then
 * makes the call @expr (which names the options `&o`). */
#define OPTIONS_CALL(name, type, expr)              \
	static int name(unsigned version, unsigned flags) \
	{                                               \
		type o;                                     \
		type##_init(&o);                            \
		o.version = version;                        \
		o.flags = flags;                            \
		return expr;                                \
	}

/* The same for a call that makes an object, freed with @free_fn: @expr
 * names it `&out`. */
#define OPTIONS_CALL_OUT(name, type, out_type, free_fn, expr) \
	static int name(unsigned version, unsigned flags)           \
	{                                                          \
		type o;                                                \
		type##_init(&o);                                       \
		o.version = version;                                   \
		o.flags = flags;                                       \
		out_type *out = NULL;                                  \
		int rc = expr;                                         \
		free_fn(out);                                          \
		return rc;                                             \
	}

OPTIONS_CALL(call_pull, registry_pull_options, registry_pull(NULL, fx.client, fx.ref, fx.store, NULL, &o))

OPTIONS_CALL(call_pull_to, registry_pull_options, registry_pull_to(NULL, fx.client, fx.ref, fx.dest, REGISTRY_IMAGE_FORMAT_OCI, &o))

OPTIONS_CALL(call_push, registry_push_options, registry_push(NULL, fx.client, fx.store, "latest", fx.ref, &o))

OPTIONS_CALL(call_push_archive, registry_push_archive_options, registry_push_archive(NULL, fx.client, "/nonexistent.tar", fx.ref, &o))

OPTIONS_CALL(call_copy, registry_copy_options, registry_copy(NULL, fx.client, fx.ref, fx.client, fx.ref, &o))

static const registry_artifact_file *const no_files[] = {NULL};
OPTIONS_CALL(call_artifact_push, registry_artifact_push_options, registry_artifact_push(NULL, fx.client, fx.ref, no_files, &o))

OPTIONS_CALL(call_artifact_pull, registry_artifact_pull_options, registry_artifact_pull(NULL, fx.client, fx.ref, fx.dest, &o))

OPTIONS_CALL(call_blob_upload, registry_blob_upload_options, registry_blob_upload(fx.client, "x/y", D1, 0, no_read, NULL, NULL, &o))

OPTIONS_CALL(call_blob_upload_file, registry_blob_upload_options, registry_blob_upload_file(fx.client, "x/y", D1, "/nonexistent/file", &o))

static int call_fetch_many(unsigned version, unsigned flags)
{
	registry_blob_fetch_many_options o;
	registry_blob_fetch_many_options_init(&o);
	o.version = version;
	o.flags = flags;
	const char *digests[] = {D1};
	return registry_blob_fetch_many(NULL, fx.client, "x/y", 1, digests, NULL, fx.store, &o);
}

OPTIONS_CALL(call_blob_fetch, registry_blob_fetch_options, registry_blob_fetch(fx.client, "x/y", D1, -1, fx.store, &o))

static int discard(const void *data, size_t len, void *ud)
{
	(void)data;
	(void)len;
	(void)ud;
	return 0;
}

OPTIONS_CALL(call_blob_fetch_to, registry_blob_fetch_to_options, registry_blob_fetch_to(fx.client, "x/y", D1, -1, discard, NULL, &o))

OPTIONS_CALL_OUT(call_manifest_fetch, registry_manifest_fetch_options, registry_manifest, registry_manifest_free, registry_manifest_fetch(&out, fx.client, "x/y", "v1", &o))

/* Opening a list does not touch the network: valid options give 0. */
OPTIONS_CALL_OUT(call_list_tags_open, registry_list_options, registry_list, registry_list_free, registry_list_tags_open(&out, fx.client, "x/y", &o))

OPTIONS_CALL_OUT(call_list_catalog_open, registry_list_options, registry_list, registry_list_free, registry_list_catalog_open(&out, fx.client, &o))

OPTIONS_CALL_OUT(call_referrers_fetch, registry_referrers_fetch_options, registry_manifest, registry_manifest_free, registry_referrers_fetch(&out, fx.client, "x/y", D1, &o))

OPTIONS_CALL_OUT(call_image_config_fetch, registry_image_config_fetch_options, registry_image_config, registry_image_config_free, registry_image_config_fetch(&out, fx.client, fx.ref, &o))

/* A descriptor spec has no flags: @flags is unused. */
static int call_builder_add_manifest(unsigned version, unsigned flags)
{
	(void)flags;
	registry_manifest_builder *b = NULL;
	if (registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_OCI_INDEX))
		return -1000;
	registry_descriptor_spec spec;
	registry_descriptor_spec_init(&spec);
	spec.version = version;
	spec.media_type = REGISTRY_MEDIA_TYPE_OCI_MANIFEST;
	spec.digest = D1;
	spec.size = 0;
	int rc = registry_manifest_builder_add_manifest(b, &spec);
	registry_manifest_builder_free(b);
	return rc;
}

/* Client settings groups (convention 2) take the same checks. */
OPTIONS_CALL(call_set_timeouts, registry_timeout_options, registry_client_set_timeouts(fx.client, &o))

OPTIONS_CALL(call_set_retries, registry_retry_options, registry_client_set_retries(fx.client, &o))

OPTIONS_CALL(call_store_gc, registry_store_gc_options, registry_store_gc(NULL, fx.store, &o))

OPTIONS_CALL(call_store_verify, registry_store_verify_options, registry_store_verify(NULL, fx.store, &o))

static const char IMG[] = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                          "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":"
                          "\"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\",\"size\":0},"
                          "\"layers\":[]}";

OPTIONS_CALL_OUT(call_manifest_parse, registry_manifest_parse_options, registry_manifest, registry_manifest_free, registry_manifest_parse(&out, IMG, sizeof(IMG) - 1, NULL, &o))

OPTIONS_CALL_OUT(call_image_config_parse, registry_image_config_parse_options, registry_image_config, registry_image_config_free, registry_image_config_parse(&out, "{}", 2, &o))

OPTIONS_CALL(call_store_export, registry_store_export_options, registry_store_export(fx.store, "latest", fx.dest, REGISTRY_IMAGE_FORMAT_DOCKER_DIR, &o))

OPTIONS_CALL(call_store_unpack, registry_unpack_options, registry_store_unpack(NULL, fx.store, "latest", fx.dest, &o))

OPTIONS_CALL(call_store_unpack_tar, registry_unpack_options, registry_store_unpack_tar(NULL, fx.store, "latest", fx.dest, -1, &o))

OPTIONS_CALL(call_layer_apply, registry_unpack_options, registry_layer_apply(NULL, "/nonexistent", 0, NULL, &o))

OPTIONS_CALL(call_archive_unpack, registry_unpack_options, registry_archive_unpack(NULL, "/nonexistent.tar", NULL, fx.dest, &o))

static const struct op {
	const char *fn;         /* the name the message must carry */
	int (*call)(unsigned version, unsigned flags);
	unsigned current;       /* the options version this library knows */
	unsigned known_flags;   /* every flag the operation takes */
	int has_flags;
	unsigned valid_flags;   /* a valid non-zero flag set to try, or 0 */
} ops[] = {
	{"registry_pull", call_pull, REGISTRY_PULL_OPTIONS_VERSION,
	 REGISTRY_PULL_PRESERVE_DIGESTS | REGISTRY_PULL_ALL_PLATFORMS | REGISTRY_PULL_REFERRERS |
	 REGISTRY_PULL_FOREIGN_LAYERS | REGISTRY_PULL_UNPACK_DEVICES, 1,
	 REGISTRY_PULL_PRESERVE_DIGESTS},
	{"registry_pull_to", call_pull_to, REGISTRY_PULL_OPTIONS_VERSION,
	 REGISTRY_PULL_PRESERVE_DIGESTS | REGISTRY_PULL_ALL_PLATFORMS | REGISTRY_PULL_REFERRERS |
	 REGISTRY_PULL_FOREIGN_LAYERS | REGISTRY_PULL_UNPACK_DEVICES, 1,
	 REGISTRY_PULL_PRESERVE_DIGESTS},
	{"registry_push", call_push, REGISTRY_PUSH_OPTIONS_VERSION, 0, 1, 0},
	{"registry_push_archive", call_push_archive, REGISTRY_PUSH_ARCHIVE_OPTIONS_VERSION, 0, 1, 0},
	{"registry_copy", call_copy, REGISTRY_COPY_OPTIONS_VERSION, REGISTRY_COPY_ALL_PLATFORMS | REGISTRY_COPY_REFERRERS,
	 1, REGISTRY_COPY_ALL_PLATFORMS},
	{"registry_artifact_push", call_artifact_push, REGISTRY_ARTIFACT_PUSH_OPTIONS_VERSION, 0, 1, 0},
	{"registry_artifact_pull", call_artifact_pull, REGISTRY_ARTIFACT_PULL_OPTIONS_VERSION, 0, 1, 0},
	{"registry_blob_upload", call_blob_upload, REGISTRY_BLOB_UPLOAD_OPTIONS_VERSION,
	 REGISTRY_BLOB_UPLOAD_SKIP_EXISTS_CHECK, 1, REGISTRY_BLOB_UPLOAD_SKIP_EXISTS_CHECK},
	{"registry_blob_upload_file", call_blob_upload_file, REGISTRY_BLOB_UPLOAD_OPTIONS_VERSION,
	 REGISTRY_BLOB_UPLOAD_SKIP_EXISTS_CHECK, 1, REGISTRY_BLOB_UPLOAD_SKIP_EXISTS_CHECK},
	{"registry_blob_fetch_many", call_fetch_many, REGISTRY_BLOB_FETCH_MANY_OPTIONS_VERSION, 0, 1, 0},
	{"registry_blob_fetch", call_blob_fetch, REGISTRY_BLOB_FETCH_OPTIONS_VERSION, 0, 1, 0},
	{"registry_blob_fetch_to", call_blob_fetch_to, REGISTRY_BLOB_FETCH_TO_OPTIONS_VERSION, 0, 1, 0},
	{"registry_manifest_fetch", call_manifest_fetch, REGISTRY_MANIFEST_FETCH_OPTIONS_VERSION, 0, 1, 0},
	{"registry_list_tags_open", call_list_tags_open, REGISTRY_LIST_OPTIONS_VERSION, 0, 1, 0},
	{"registry_list_catalog_open", call_list_catalog_open, REGISTRY_LIST_OPTIONS_VERSION, 0, 1, 0},
	{"registry_referrers_fetch", call_referrers_fetch, REGISTRY_REFERRERS_FETCH_OPTIONS_VERSION, 0, 1, 0},
	{"registry_image_config_fetch", call_image_config_fetch, REGISTRY_IMAGE_CONFIG_FETCH_OPTIONS_VERSION, 0, 1, 0},
	{"registry_manifest_parse", call_manifest_parse, REGISTRY_MANIFEST_PARSE_OPTIONS_VERSION, 0, 1, 0},
	{"registry_image_config_parse", call_image_config_parse, REGISTRY_IMAGE_CONFIG_PARSE_OPTIONS_VERSION, 0, 1,
	 0},
	{"registry_store_export", call_store_export, REGISTRY_STORE_EXPORT_OPTIONS_VERSION, 0, 1, 0},
	{"registry_store_unpack", call_store_unpack, REGISTRY_UNPACK_OPTIONS_VERSION,
	 REGISTRY_UNPACK_DEVICES | REGISTRY_UNPACK_BUNDLE, 1, REGISTRY_UNPACK_BUNDLE},
	{"registry_store_unpack_tar", call_store_unpack_tar, REGISTRY_UNPACK_OPTIONS_VERSION,
	 REGISTRY_UNPACK_DEVICES | REGISTRY_UNPACK_BUNDLE, 1, REGISTRY_UNPACK_DEVICES},
	{"registry_layer_apply", call_layer_apply, REGISTRY_UNPACK_OPTIONS_VERSION,
	 REGISTRY_UNPACK_DEVICES | REGISTRY_UNPACK_BUNDLE, 1, REGISTRY_UNPACK_DEVICES},
	{"registry_archive_unpack", call_archive_unpack, REGISTRY_UNPACK_OPTIONS_VERSION,
	 REGISTRY_UNPACK_DEVICES | REGISTRY_UNPACK_BUNDLE, 1, REGISTRY_UNPACK_BUNDLE},
	{"registry_store_gc", call_store_gc, REGISTRY_STORE_GC_OPTIONS_VERSION, REGISTRY_STORE_GC_DRY_RUN, 1,
	 REGISTRY_STORE_GC_DRY_RUN},
	{"registry_store_verify", call_store_verify, REGISTRY_STORE_VERIFY_OPTIONS_VERSION, 0, 1, 0},
	{"registry_manifest_builder_add_manifest", call_builder_add_manifest, REGISTRY_DESCRIPTOR_SPEC_VERSION,
	 0, 0, 0},
	{"registry_client_set_timeouts", call_set_timeouts, REGISTRY_TIMEOUT_OPTIONS_VERSION, 0, 1, 0},
	{"registry_client_set_retries", call_set_retries, REGISTRY_RETRY_OPTIONS_VERSION, REGISTRY_RETRY_NONE, 1,
	 REGISTRY_RETRY_NONE},
};

/* The call failed with EINVAL, and its message names the function. */
static int refused_by(const struct op *op, int rc)
{
	char want[128];
	snprintf(want, sizeof(want), "%s: ", op->fn);
	const char *msg = registry_error_message(registry_error_last());
	if (rc == REGISTRY_EINVAL && msg && strncmp(msg, want, strlen(want)) == 0)
		return 1;
	fprintf(stderr, "  %s: rc %d, message \"%s\"\n", op->fn, rc, msg ? msg : "(null)");
	return 0;
}

/* The lowest flag bit the operation does not know. */
static unsigned unknown_flag(unsigned known)
{
	unsigned bit = 1;
	while (known & bit)
		bit <<= 1;
	return bit;
}

static void test_versions_refused(void)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		CHECK(refused_by(&ops[i], ops[i].call(0, 0)));
		CHECK(refused_by(&ops[i], ops[i].call(ops[i].current + 1, 0)));
	}
}

static void test_unknown_flags_refused(void)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (!ops[i].has_flags)
			continue;
		CHECK(refused_by(&ops[i], ops[i].call(ops[i].current, unknown_flag(ops[i].known_flags))));
		const char *msg = registry_error_message(registry_error_last());
		CHECK(msg && strstr(msg, "unknown flags") != NULL);
		/* A high bit too: an old library never ignores a flag from the future. */
		CHECK(refused_by(&ops[i], ops[i].call(ops[i].current, 0x80000000u)));
	}
}

/* Valid options pass the check: whatever fails afterwards is not about them. */
static void test_valid_options_pass(void)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		unsigned flag_sets[] = {0, ops[i].valid_flags};
		for (size_t k = 0; k < 2; k++) {
			int rc = ops[i].call(ops[i].current, flag_sets[k]);
			const char *msg = registry_error_message(registry_error_last());
			if (rc == REGISTRY_EINVAL && msg && strstr(msg, "options version"))
				fprintf(stderr, "  %s refused valid options: %s\n", ops[i].fn, msg);
			CHECK(!(rc == REGISTRY_EINVAL && msg && (strstr(msg, "options version") ||
			                                         strstr(msg, "unknown flags"))));
		}
	}
}

/* NULL options are the defaults, and every _init() refuses NULL. */
static void test_init_functions(void)
{
	CHECK_INT(registry_pull_options_init(NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_push_options_init(NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_push_archive_options_init(NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_copy_options_init(NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_blob_upload_options_init(NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_blob_fetch_many_options_init(NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_blob_fetch_options_init(NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_blob_fetch_to_options_init(NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_manifest_fetch_options_init(NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_list_options_init(NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_referrers_fetch_options_init(NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_artifact_push_options_init(NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_artifact_pull_options_init(NULL), REGISTRY_EINVAL);
	registry_list_options lo;
	memset(&lo, 0xff, sizeof(lo));
	CHECK_INT(registry_list_options_init(&lo), 0);
	CHECK(lo.version == REGISTRY_LIST_OPTIONS_VERSION && lo.flags == 0 && lo.page_size == 0 && lo.last == NULL);
	registry_referrers_fetch_options ro;
	memset(&ro, 0xff, sizeof(ro));
	CHECK_INT(registry_referrers_fetch_options_init(&ro), 0);
	CHECK(ro.version == REGISTRY_REFERRERS_FETCH_OPTIONS_VERSION && ro.flags == 0 && ro.artifact_type == NULL &&
	      ro.max_size == 0);
	registry_manifest_fetch_options mo;
	memset(&mo, 0xff, sizeof(mo));
	CHECK_INT(registry_manifest_fetch_options_init(&mo), 0);
	CHECK(mo.version == REGISTRY_MANIFEST_FETCH_OPTIONS_VERSION && mo.flags == 0 && mo.max_size == 0);
	registry_blob_fetch_options bo;
	memset(&bo, 0xff, sizeof(bo));
	CHECK_INT(registry_blob_fetch_options_init(&bo), 0);
	CHECK(bo.version == REGISTRY_BLOB_FETCH_OPTIONS_VERSION && bo.flags == 0 && bo.progress == NULL &&
	      bo.userdata == NULL);
	registry_blob_fetch_to_options to;
	memset(&to, 0xff, sizeof(to));
	CHECK_INT(registry_blob_fetch_to_options_init(&to), 0);
	CHECK(to.version == REGISTRY_BLOB_FETCH_TO_OPTIONS_VERSION && to.flags == 0 && to.progress == NULL &&
	      to.userdata == NULL);
	CHECK_INT(registry_timeout_options_init(NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_retry_options_init(NULL), REGISTRY_EINVAL);
	registry_timeout_options t;
	memset(&t, 0xff, sizeof(t));
	CHECK_INT(registry_timeout_options_init(&t), 0);
	CHECK_INT(t.version, REGISTRY_TIMEOUT_OPTIONS_VERSION);
	CHECK(t.flags == 0 && t.connect_ms == 0 && t.total_ms == 0 && t.low_speed_bytes == 0 &&
	      t.low_speed_seconds == 0);
	registry_retry_options r;
	memset(&r, 0xff, sizeof(r));
	CHECK_INT(registry_retry_options_init(&r), 0);
	CHECK_INT(r.version, REGISTRY_RETRY_OPTIONS_VERSION);
	CHECK(r.flags == 0 && r.count == 0 && r.backoff_base_ms == 0 && r.max_wait_ms == 0);
	CHECK_INT(registry_manifest_parse_options_init(NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_image_config_parse_options_init(NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_store_export_options_init(NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_unpack_options_init(NULL), REGISTRY_EINVAL);
	registry_unpack_options un;
	memset(&un, 0xff, sizeof(un));
	CHECK_INT(registry_unpack_options_init(&un), 0);
	CHECK(un.version == REGISTRY_UNPACK_OPTIONS_VERSION && un.flags == 0 && un.platform == NULL &&
	      un.max_size == 0 && un.progress == NULL && un.userdata == NULL);
	CHECK_INT(registry_store_gc_options_init(NULL), REGISTRY_EINVAL);
	CHECK_INT(registry_store_verify_options_init(NULL), REGISTRY_EINVAL);
	registry_store_gc_options g;
	memset(&g, 0xff, sizeof(g));
	CHECK_INT(registry_store_gc_options_init(&g), 0);
	CHECK(g.version == REGISTRY_STORE_GC_OPTIONS_VERSION && g.flags == 0 && g.partial_max_age_s == 0);
	registry_store_verify_options v;
	memset(&v, 0xff, sizeof(v));
	CHECK_INT(registry_store_verify_options_init(&v), 0);
	CHECK(v.version == REGISTRY_STORE_VERIFY_OPTIONS_VERSION && v.flags == 0 && v.problem == NULL &&
	      v.userdata == NULL);
	registry_copy_options c;
	memset(&c, 0xff, sizeof(c));
	CHECK_INT(registry_copy_options_init(&c), 0);
	CHECK_INT(c.version, REGISTRY_COPY_OPTIONS_VERSION);
	CHECK_INT(c.flags, 0);
	CHECK(c.platform == NULL && c.chunk_size == 0 && c.progress == NULL && c.userdata == NULL);
	registry_blob_upload_options u;
	memset(&u, 0xff, sizeof(u));
	CHECK_INT(registry_blob_upload_options_init(&u), 0);
	CHECK_INT(u.version, REGISTRY_BLOB_UPLOAD_OPTIONS_VERSION);
	CHECK(u.flags == 0 && u.chunk_size == 0 && u.progress == NULL && u.userdata == NULL);
	/* Push refuses the copy-only flag: options are no longer shared. */
	CHECK_INT(call_push(REGISTRY_PUSH_OPTIONS_VERSION, REGISTRY_COPY_ALL_PLATFORMS), REGISTRY_EINVAL);
	/* Each operation has its own bits: pull's preserve-digests bit is not
	 * push's (copy's 0x2 is REFERRERS since 1.1, pull's ALL_PLATFORMS). */
	CHECK_INT(call_push(REGISTRY_PUSH_OPTIONS_VERSION, REGISTRY_PULL_PRESERVE_DIGESTS), REGISTRY_EINVAL);
	CHECK_INT(call_copy(REGISTRY_COPY_OPTIONS_VERSION, 0x4u), REGISTRY_EINVAL);
}

static void op_done(registry_op *op, int rc, void *ud)
{
	(void)op;
	(void)rc;
	(void)ud;
}

static int no_socket(int fd, unsigned int events, void *ud)
{
	(void)fd;
	(void)events;
	(void)ud;
	return 0;
}

static int no_timer(long timeout_ms, void *ud)
{
	(void)timeout_ms;
	(void)ud;
	return 0;
}

/* The call failed with EINVAL, its message naming @fn and the flag. */
static int devices_refused(const char *fn, int rc)
{
	const char *msg = registry_error_message(registry_error_last());
	if (rc == REGISTRY_EINVAL && msg && strncmp(msg, fn, strlen(fn)) == 0 &&
	    strstr(msg, "REGISTRY_PULL_UNPACK_DEVICES"))
		return 1;
	fprintf(stderr, "  %s: rc %d, message \"%s\"\n", fn, rc, msg ? msg : "(null)");
	return 0;
}

/* REGISTRY_PULL_UNPACK_DEVICES is known, but only a pull to a root
 * filesystem applies it: a pull into a store and the other formats refuse
 * it rather than ignore it, blocking and loop alike. */
static void test_pull_devices_only_rootfs(void)
{
	registry_pull_options o;
	registry_pull_options_init(&o);
	o.flags = REGISTRY_PULL_UNPACK_DEVICES;
	CHECK(devices_refused("registry_pull", registry_pull(NULL, fx.client, fx.ref, fx.store, NULL, &o)));
	static const int other[] = {REGISTRY_IMAGE_FORMAT_OCI, REGISTRY_IMAGE_FORMAT_DOCKER_DIR,
	                            REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		CHECK(devices_refused("registry_pull_to", registry_pull_to(NULL, fx.client, fx.ref, fx.dest, other[i], &o)));
	/* A root filesystem takes it: the pull then fails on the closed port. */
	int rc = registry_pull_to(NULL, fx.client, fx.ref, fx.dest, REGISTRY_IMAGE_FORMAT_ROOTFS, &o);
	CHECK(rc != 0 && rc != REGISTRY_EINVAL);

	registry_loop *loop = NULL;
	registry_loop_options lo = REGISTRY_LOOP_OPTIONS_INIT;
	lo.socket_cb = no_socket;
	lo.timer_cb = no_timer;
	CHECK_INT(registry_loop_new(&loop, &lo), 0);
	registry_op *op = NULL;
	CHECK(devices_refused("registry_pull_start", registry_pull_start(&op, loop, fx.client, fx.ref, fx.store, NULL, &o,
	                                                                 op_done, NULL)));
	CHECK(devices_refused("registry_pull_to_start",
	                      registry_pull_to_start(&op, loop, fx.client, fx.ref, fx.dest, REGISTRY_IMAGE_FORMAT_OCI, &o,
	                                             op_done, NULL)));
	CHECK(op == NULL);
	registry_loop_free(loop);
}

int main(void)
{
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/unit-options-XXXXXX");
	if (!mkdtemp(fx.dir))
		return 1;
	char store[300];
	snprintf(store, sizeof(store), "%s/store", fx.dir);
	snprintf(fx.dest, sizeof(fx.dest), "%s/dest", fx.dir);
	if (registry_client_new(&fx.client, "127.0.0.1:9") || registry_store_open(&fx.store, store, REGISTRY_STORE_CREATE) ||
	    registry_reference_parse(&fx.ref, "127.0.0.1:9/x/y:v1"))
		return 1;
	RUN(test_versions_refused);
	RUN(test_unknown_flags_refused);
	RUN(test_valid_options_pass);
	RUN(test_init_functions);
	RUN(test_pull_devices_only_rootfs);
	registry_reference_free(fx.ref);
	registry_store_free(fx.store);
	registry_client_free(fx.client);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
	if (system(cmd) != 0)
		return 1;
	return CHECK_DONE();
}

/*
 * The referrers tag schema written by the client (distribution-spec 1.1,
 * "Pushing Manifests with Subject"): a registry without the referrers API
 * (registry 2.8) answers a manifest PUT with a subject without the
 * OCI-Subject header, and then the pusher keeps the "<alg>-<hex>" tag, an
 * OCI index of the referrers' descriptors, up to date itself.
 *
 * The registry has no conditional PUT (If-Match) to make the
 * read-add-write atomic, so two concurrent pushers may each write an index
 * that misses the other's entry. The one whose entry was dropped is the
 * only one who can notice: after writing, we wait longer than another
 * writer's read-add-write takes, read again, and write again when our
 * entry is gone (with everything the other writer added).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ops_impl.h"

/* Rounds of read, add, write, settle, check before giving up. */
#define TAG_ATTEMPTS 8
/* Bounds of the wait after a write, in milliseconds. */
#define SETTLE_MIN_MS 50
#define SETTLE_MAX_MS 2000

void registry__referrers_tag(char *tag, size_t size, const char *digest)
{
	size_t alg = strcspn(digest, ":");
	snprintf(tag, size, "%.*s-%.64s", (int)(alg > 32 ? 32 : alg), digest, digest[alg] ? digest + alg + 1 : "");
}

static int index_lists(const registry_manifest *idx, const char *digest)
{
	for (size_t i = 0; idx && i < registry_manifest_entry_count(idx); i++)
		if (strcmp(registry_descriptor_digest(registry_manifest_entry(idx, i)), digest) == 0)
			return 1;
	return 0;
}

/* The referrer's entry: its artifactType (the config's media type for an
 * image manifest without one) and all its annotations, as the spec asks. */
static int add_entry(registry_manifest_builder *b, const registry_manifest *m)
{
	size_t n = registry_manifest_annotation_count(m);
	const char **pairs = calloc(2 * n + 1, sizeof(*pairs));
	if (!pairs)
		return registry__nomem();
	for (size_t i = 0; i < n; i++) {
		pairs[2 * i] = registry_manifest_annotation_key(m, i);
		pairs[2 * i + 1] = registry_manifest_annotation_value(m, i);
	}
	registry_descriptor_spec spec = REGISTRY_DESCRIPTOR_SPEC_INIT;
	spec.media_type = registry_manifest_media_type(m);
	spec.digest = registry_manifest_digest(m);
	spec.size = registry_manifest_size(m);
	spec.artifact_type = registry_manifest_artifact_type(m);
	if (!spec.artifact_type && registry_manifest_kind(m) == REGISTRY_MANIFEST_IMAGE)
		spec.artifact_type = registry_descriptor_media_type(registry_manifest_config(m));
	spec.annotations = n ? pairs : NULL;
	int rc = registry_manifest_builder_add_manifest(b, &spec);
	free(pairs);
	return rc;
}

/* @current's entries (NULL: none yet) followed by @m's. */
static int build_with(registry_manifest **out, const registry_manifest *current, const registry_manifest *m)
{
	registry_manifest_builder *b = NULL;
	int rc = registry_manifest_builder_new(&b, REGISTRY_MEDIA_TYPE_OCI_INDEX);
	for (size_t i = 0; !rc && current && i < registry_manifest_entry_count(current); i++)
		rc = registry_manifest_builder_add_descriptor(b, registry_manifest_entry(current, i));
	if (!rc)
		rc = add_entry(b, m);
	if (!rc)
		rc = registry_manifest_builder_build(out, b);
	registry_manifest_builder_free(b);
	return rc;
}

/* The tag's index (@rc and *@current: a manifest fetch of the tag, the
 * record before it saved in @saved), or *@current NULL when the tag does
 * not exist yet. */
static int read_end(registry_manifest **current, int rc, registry__error_snapshot *saved, const char *what)
{
	if (rc == 0 || rc == REGISTRY_ENOTFOUND) {
		registry__error_restore(saved); /* absent is the empty list, not a failure */
		rc = 0;
	} else {
		free(saved); /* the fetch's failure is the one to report */
	}
	if (*current && registry_manifest_kind(*current) != REGISTRY_MANIFEST_INDEX) {
		rc = registry__fail(REGISTRY_EFORMAT, "%s: the tag holds %s, not an index", what,
		                    registry_manifest_media_type(*current));
		registry_manifest_free(*current);
		*current = NULL;
	}
	return rc;
}

/* Longer than a concurrent writer's read-add-write, which took about as
 * long as ours (@elapsed_s), with jitter so that two writers who lost
 * each other's entries do not keep colliding. */
static long settle_ms(double elapsed_s)
{
	long ms = (long)(elapsed_s * 2000.0);
	ms += (long)randombytes_uniform((uint32_t)(ms / 2 + SETTLE_MIN_MS));
	if (ms < SETTLE_MIN_MS)
		ms = SETTLE_MIN_MS;
	return ms > SETTLE_MAX_MS ? SETTLE_MAX_MS : ms;
}

void registry__tag_upkeep_begin(registry__tag_upkeep *u, const char *repository, const registry_manifest *m)
{
	memset(u, 0, sizeof(*u));
	u->m = m;
	registry__referrers_tag(u->tag, sizeof(u->tag), registry_descriptor_digest(registry_manifest_subject(m)));
	snprintf(u->what, sizeof(u->what), "adding %s to the referrers tag %s:%s", registry_manifest_digest(m),
	         repository, u->tag);
	u->t0 = registry__now_s();
}

int registry__tag_upkeep_read(registry__tag_upkeep *u, registry_manifest **next, int rc,
                              registry_manifest *current, registry__error_snapshot *saved)
{
	*next = NULL;
	rc = read_end(&current, rc, saved, u->what);
	/* Listed already, or our write held. (Written and not listed: a
	 * concurrent writer's index dropped our entry: written again.) */
	if (!rc && !index_lists(current, registry_manifest_digest(u->m)))
		rc = build_with(next, current, u->m);
	registry_manifest_free(current);
	return rc;
}

int registry__tag_upkeep_wrote(registry__tag_upkeep *u, int rc, long *wait_ms)
{
	*wait_ms = 0;
	if (rc)
		return rc;
	*wait_ms = settle_ms(registry__now_s() - u->t0);
	return 0;
}

int registry__tag_upkeep_again(registry__tag_upkeep *u)
{
	if (++u->attempt >= TAG_ATTEMPTS)
		return registry__fail(REGISTRY_ECONFLICT, "%s: concurrent writers removed the entry %d times",
		                      u->what, TAG_ATTEMPTS);
	u->t0 = registry__now_s();
	return 0;
}

int registry__referrers_tag_add(registry_client *c, const char *repository, const registry_manifest *m)
{
	registry__tag_upkeep u;
	registry__tag_upkeep_begin(&u, repository, m);
	for (;;) {
		registry_manifest *current = NULL, *next = NULL;
		registry__error_snapshot *saved = registry__error_save();
		int rc = registry_manifest_fetch(&current, c, repository, u.tag, NULL);
		if ((rc = registry__tag_upkeep_read(&u, &next, rc, current, saved)) || !next)
			return rc;
		rc = registry_manifest_push(NULL, c, repository, u.tag, next);
		registry_manifest_free(next);
		long ms = 0;
		if ((rc = registry__tag_upkeep_wrote(&u, rc, &ms)))
			return rc;
		registry__sleep_ms(ms);
		if ((rc = registry__tag_upkeep_again(&u)))
			return rc;
	}
}

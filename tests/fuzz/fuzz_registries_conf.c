/*
 * Fuzz target "registries_conf": the text of a registries.conf (the TOML
 * subset reader and the rules built from it), then of a daemon.json. The
 * result is rules every lookup can use (prefixes and mirror locations set,
 * bounded counts) or EFORMAT / ETOOLARGE with a message; a second text
 * applied on top, as a drop-in, keeps the same promises.
 */
#include <stdio.h>

#include "fuzz_common.h"
#include "hostconfig/hostconfig.h"

static void check_rules(const registry__regconf *conf)
{
	require(conf->nrules <= REGISTRY__HOSTCONF_RULES_MAX);
	for (size_t i = 0; i < conf->nrules; i++) {
		const registry__rule *r = &conf->rules[i];
		require(r->prefix && *r->prefix && r->origin);
		require(r->nmirrors <= REGISTRY__HOSTCONF_MIRRORS_MAX);
		for (size_t m = 0; m < r->nmirrors; m++)
			require(r->mirrors[m].location && *r->mirrors[m].location);
		/* A rule matches its own prefix (wildcards: a host below them). */
		char name[1100];
		snprintf(name, sizeof(name), "%s%s/x", r->prefix[0] == '*' ? "a" : "", r->prefix[0] == '*' ? r->prefix + 1 : r->prefix);
		require(registry__regconf_match(conf, name) != NULL);
		char *to = registry__regconf_rewrite(r, r->location ? r->location : r->prefix, name);
		require(to != NULL);
		free(to);
	}
}

static void one(int (*add)(registry__regconf *, const char *, size_t, const char *), const uint8_t *data,
                size_t size)
{
	registry__regconf conf = {0};
	registry__error_clear();
	int rc = add(&conf, (const char *)data, size, "fuzz.conf");
	if (rc) {
		require(rc == REGISTRY_EFORMAT || rc == REGISTRY_ETOOLARGE || rc == REGISTRY_ENOMEM);
		fuzz_check_error(rc);
	}
	check_rules(&conf);
	/* The same text again, as a drop-in over what it gave. */
	registry__error_clear();
	rc = add(&conf, (const char *)data, size, "fuzz.d/1.conf");
	if (rc)
		fuzz_check_error(rc);
	check_rules(&conf);
	registry__regconf_free(&conf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(registry__regconf_add_text, data, size);
	one(registry__regconf_add_daemon_json, data, size);
	return 0;
}

/*
 * A strict reader for the subset of TOML that registries.conf(5) files use:
 * comments, [tables], [[arrays of tables]], bare and quoted (dotted) keys,
 * basic and literal strings, booleans, integers and single- or multi-line
 * arrays of those. Anything else (inline tables, multi-line strings, floats,
 * dates) is REGISTRY_EFORMAT naming the file and line: a config we cannot
 * read completely must not be half applied. Debian 12 packages no C TOML
 * library; this one is bounded in every size and count and fuzzed.
 */
#ifndef REGISTRY_HOSTCONFIG_TOML_H
#define REGISTRY_HOSTCONFIG_TOML_H

#include <stddef.h>

#include "internal.h"

/* Bounds: a file, a string value, a key path, the items of one array. */
#define REGISTRY__TOML_MAX_TEXT ((size_t)1 << 20)
#define REGISTRY__TOML_MAX_STRING 4096
#define REGISTRY__TOML_MAX_KEY 512
#define REGISTRY__TOML_MAX_ITEMS 1024

enum registry__toml_kind {
	REGISTRY__TOML_TABLE = 1,       /* [path] */
	REGISTRY__TOML_ARRAY_TABLE = 2, /* [[path]] */
	REGISTRY__TOML_KEY = 3          /* key = value, in the current table */
};

enum registry__toml_type {
	REGISTRY__TOML_STRING = 1,
	REGISTRY__TOML_BOOL = 2,
	REGISTRY__TOML_INT = 3,
	REGISTRY__TOML_ARRAY = 4 /* of strings, booleans or integers */
};

typedef struct registry__toml_value {
	int type;
	const char *str;          /* STRING; for BOOL/INT the text as written */
	int boolean;              /* BOOL */
	long long integer;        /* INT */
	const char *const *items; /* ARRAY: the items' text (strings unescaped) */
	const int *item_types;    /* ARRAY: each item's type */
	size_t nitems;
} registry__toml_value;

typedef struct registry__toml_event {
	int kind;          /* enum registry__toml_kind */
	const char *path;  /* TABLE, ARRAY_TABLE: the header's keys joined by '.' */
	const char *key;   /* KEY: its keys joined by '.' */
	const registry__toml_value *value; /* KEY */
	int line;          /* 1-based, for messages */
} registry__toml_event;

/* Receives each header and key in file order; a non-zero return (an error
 * code the callback recorded) stops the parse and is returned. Keys that
 * contain '.' inside quotes are given with the '.' as is: consumers compare
 * whole paths, so such keys simply match nothing. */
typedef int (*registry__toml_cb)(const registry__toml_event *e, void *userdata);

/* Parse @text (@len bytes, at most REGISTRY__TOML_MAX_TEXT; NUL bytes are
 * an error), calling @cb. @name names the file in messages. 0, the
 * callback's code, REGISTRY_EFORMAT, REGISTRY_ETOOLARGE or REGISTRY_ENOMEM,
 * recorded. */
int registry__toml_parse(const char *text, size_t len, const char *name, registry__toml_cb cb,
                         void *userdata);

#endif

/* Test support: the shared known-answer vectors (read at run time) and a deterministic env. */
#ifndef CABLE_TEST_TV_H
#define CABLE_TEST_TV_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>

#include <cmocka.h>
#include <jansson.h>

#include "cable/env.h"

/* Loads $CABLE_VECTORS once; a missing or unreadable file fails the calling test. */
json_t *tv_all(void);
/* The vector with this exact name; fails the test when absent. Marks it as run. */
json_t *tv_get(const char *name);
/* Calls fn for every vector whose name starts with prefix, marks each as run, returns the count. */
size_t tv_each(const char *prefix, void (*fn)(json_t *vector, void *ctx), void *ctx);
/* Fails the test unless every vector whose name starts with prefix was run. */
void tv_assert_all_run(const char *prefix);

/* Field access by dotted path ("inputs.secret"); each fails the test when the field is missing. */
json_t *tv_field(json_t *vector, const char *path);
bool tv_has(json_t *vector, const char *path);
const char *tv_str(json_t *vector, const char *path);
long long tv_int(json_t *vector, const char *path);
bool tv_bool(json_t *vector, const char *path);
/* Hex field decoded into a new buffer (caller frees); an empty string gives len 0, non-NULL. */
uint8_t *tv_hex(json_t *vector, const char *path, size_t *len);

/*
 * A deterministic random/time table: bytes from SHA-256(seed || counter), time fixed at
 * 1700000000 + calls. Each test gets reproducible keys.
 */
struct tv_env {
	struct cable_env env;
	uint8_t seed[32];
	uint64_t counter;
	int64_t now;
	int fail_random; /* when non-zero, random() fails */
};
void tv_env_init(struct tv_env *e, uint32_t seed);

/* Hex helpers for assertions. */
void tv_assert_bytes(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len);

#endif

/*
 * Shared by the caBLE fuzz harnesses: a deterministic random table, fixed keys, and a way to
 * write the seed corpus (run a harness with CABLE_FUZZ_WRITE_SEEDS=<dir> to regenerate it).
 */
#ifndef CABLE_FUZZ_COMMON_H
#define CABLE_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cable/crypto.h"
#include "cable/env.h"
#include "cable/p256.h"

struct fuzz_env {
	struct cable_env env;
	uint8_t seed;
	uint64_t counter;
};

static inline int
fuzz_random(void *ctx, uint8_t *buf, size_t len)
{
	struct fuzz_env *e = ctx;

	while (len > 0) {
		uint8_t block[9], out[32];
		size_t n = len < sizeof(out) ? len : sizeof(out);
		block[0] = e->seed;
		for (int i = 0; i < 8; i++)
			block[1 + i] = (uint8_t)(e->counter >> (8 * i));
		e->counter++;
		if (cable_sha256(block, sizeof(block), NULL, 0, out) != 0)
			return -1;
		memcpy(buf, out, n);
		buf += n;
		len -= n;
	}
	return 0;
}

static inline int64_t
fuzz_now(void *ctx)
{
	(void)ctx;
	return 1700000000;
}

static inline void
fuzz_env_init(struct fuzz_env *e, uint8_t seed)
{
	e->env.random = fuzz_random;
	e->env.now = fuzz_now;
	e->env.ctx = e;
	e->seed = seed;
	e->counter = 0;
}

/* Keys derived once from fixed labels. */
static struct cable_p256_key fuzz_desktop_key, fuzz_phone_key;
static const uint8_t fuzz_psk[32] = {0x70, 0x73, 0x6b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29};

static inline void
fuzz_keys_init(void)
{
	if (cable_p256_derive_from_secret((const uint8_t *)"fuzz desktop", 12, &fuzz_desktop_key) != 0 ||
	    cable_p256_derive_from_secret((const uint8_t *)"fuzz phone", 10, &fuzz_phone_key) != 0)
		abort();
}

/* Writes one seed file <dir>/<name>: a selector byte followed by the payload. */
static inline void
fuzz_write_seed(const char *dir, const char *name, uint8_t selector, const uint8_t *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(&selector, 1, 1, f) != 1 ||
	    (n > 0 && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

#endif

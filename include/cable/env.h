/* The caller-supplied sources of randomness and time: the core never takes either on its own. */
#ifndef CABLE_ENV_H
#define CABLE_ENV_H

#include <stddef.h>
#include <stdint.h>

struct cable_env {
	/* Fill buf with len random bytes; 0 on success, negative on failure. */
	int (*random)(void *ctx, uint8_t *buf, size_t len);
	/* Seconds since the Unix epoch. */
	int64_t (*now)(void *ctx);
	void *ctx;
};

/* OpenSSL's RAND_bytes and the system clock, for programs (never used implicitly by the core). */
const struct cable_env *cable_env_system(void);

/* Convenience wrappers that check for a missing table. */
int cable_env_random(const struct cable_env *env, uint8_t *buf, size_t len);
int64_t cable_env_now(const struct cable_env *env);

#endif

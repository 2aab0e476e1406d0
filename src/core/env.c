/* The system random/time table and the checked wrappers around a caller's table. */
#include <time.h>

#include <openssl/rand.h>

#include "cable/env.h"
#include "cable/error.h"

static int
system_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	if (len > (size_t)INT32_MAX || RAND_bytes(buf, (int)len) != 1)
		return CABLE_ERR_RANDOM;
	return 0;
}

static int64_t
system_now(void *ctx)
{
	(void)ctx;
	return (int64_t)time(NULL);
}

static const struct cable_env system_env = {system_random, system_now, NULL};

const struct cable_env *
cable_env_system(void)
{
	return &system_env;
}

int
cable_env_random(const struct cable_env *env, uint8_t *buf, size_t len)
{
	if (env == NULL || env->random == NULL)
		return CABLE_ERR_ARG;
	if (len == 0)
		return 0;
	return env->random(env->ctx, buf, len) == 0 ? 0 : CABLE_ERR_RANDOM;
}

int64_t
cable_env_now(const struct cable_env *env)
{
	if (env == NULL || env->now == NULL)
		return 0;
	return env->now(env->ctx);
}

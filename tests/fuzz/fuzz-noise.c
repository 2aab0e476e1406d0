/*
 * Fuzzes cable_noise_read_message for KNpsk0 and NKpsk0, initiator and responder, with fixed keys.
 * Input: one selector byte (bit 0: pattern, bit 1: role), then the message.
 */
#include <stdint.h>
#include <stdlib.h>

#include "cable/crypter.h"
#include "cable/error.h"
#include "cable/noise.h"
#include "fuzz-common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cable_noise *
start(enum cable_noise_pattern pattern, enum cable_noise_role role)
{
	struct cable_noise *n = cable_noise_new();
	int r;

	if (n == NULL)
		abort();
	if ((pattern == CABLE_NOISE_KNPSK0) == (role == CABLE_NOISE_INITIATOR))
		r = cable_noise_start(n, pattern, role, fuzz_psk,
		    pattern == CABLE_NOISE_KNPSK0 ? &fuzz_desktop_key : &fuzz_phone_key, NULL);
	else
		r = cable_noise_start(n, pattern, role, fuzz_psk, NULL,
		    pattern == CABLE_NOISE_KNPSK0 ? fuzz_desktop_key.pub : fuzz_phone_key.pub);
	if (r != 0)
		abort();
	return n;
}

/* After a successful read the handshake must be able to finish. */
static void
finish(struct cable_noise *n, struct fuzz_env *env)
{
	struct cable_crypter *c = NULL;
	uint8_t out[CABLE_NOISE_MSG_LEN], h[CABLE_NOISE_HASH_LEN];

	if (!cable_noise_is_complete(n) && cable_noise_write_message(n, &env->env, out) != 0)
		abort();
	if (cable_noise_split(n, &c) != 0 || cable_noise_handshake_hash(n, h) != 0)
		abort();
	cable_crypter_free(&c);
}

static void
write_seeds(const char *dir)
{
	for (int p = 1; p <= 2; p++) {
		struct fuzz_env ei, er;
		struct cable_noise *i = start((enum cable_noise_pattern)p, CABLE_NOISE_INITIATOR);
		struct cable_noise *r = start((enum cable_noise_pattern)p, CABLE_NOISE_RESPONDER);
		uint8_t m1[CABLE_NOISE_MSG_LEN], m2[CABLE_NOISE_MSG_LEN];
		char name[64];

		fuzz_env_init(&ei, 1);
		fuzz_env_init(&er, 2);
		if (cable_noise_write_message(i, &ei.env, m1) != 0 || cable_noise_read_message(r, m1, 81) != 0 ||
		    cable_noise_write_message(r, &er.env, m2) != 0 || cable_noise_read_message(i, m2, 81) != 0)
			abort();
		/* Selector: bit 0 = NK, bit 1 = we are the initiator reading message 2. */
		snprintf(name, sizeof(name), "%s-message1", p == 1 ? "kn" : "nk");
		fuzz_write_seed(dir, name, (uint8_t)(p - 1), m1, sizeof(m1));
		snprintf(name, sizeof(name), "%s-message2", p == 1 ? "kn" : "nk");
		fuzz_write_seed(dir, name, (uint8_t)((p - 1) | 2), m2, sizeof(m2));
		snprintf(name, sizeof(name), "%s-short", p == 1 ? "kn" : "nk");
		fuzz_write_seed(dir, name, (uint8_t)(p - 1), m1, 65);
		cable_noise_free(&i);
		cable_noise_free(&r);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("CABLE_FUZZ_WRITE_SEEDS");

	(void)argc;
	(void)argv;
	fuzz_keys_init();
	if (dir != NULL) {
		write_seeds(dir);
		exit(0);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum cable_noise_pattern pattern;
	struct fuzz_env env;
	struct cable_noise *n;
	uint8_t m1[CABLE_NOISE_MSG_LEN];
	int r;

	if (size < 1)
		return 0;
	pattern = (data[0] & 1) ? CABLE_NOISE_NKPSK0 : CABLE_NOISE_KNPSK0;
	fuzz_env_init(&env, 1);
	if (data[0] & 2) {
		/* Initiator: send the (deterministic) first message, then read the input as the reply. */
		n = start(pattern, CABLE_NOISE_INITIATOR);
		if (cable_noise_write_message(n, &env.env, m1) != 0)
			abort();
	} else {
		n = start(pattern, CABLE_NOISE_RESPONDER);
		fuzz_env_init(&env, 2);
	}
	r = cable_noise_read_message(n, data + 1, size - 1);
	if (r == 0) {
		finish(n, &env);
	} else if (r != CABLE_ERR_HANDSHAKE_LENGTH && r != CABLE_ERR_POINT && r != CABLE_ERR_AUTH) {
		abort(); /* only these three describe a bad message */
	} else if (cable_noise_read_message(n, data + 1, size - 1) != CABLE_ERR_STATE) {
		abort(); /* a failed handshake must stay failed */
	}
	cable_noise_free(&n);
	return 0;
}

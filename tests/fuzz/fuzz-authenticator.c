/* libFuzzer harness: the software authenticator on arbitrary CTAP requests (ephemeral store). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cable/authenticator.h"
#include "cable/cbor.h"
#include "cable/cred-store.h"

/*
 * Input: one flags byte, then requests, each as a big-endian 16-bit length and that many bytes
 * (command byte || CBOR). Flags: bit 0 list_accounts, bit 1 packed attestation, bit 2 the user
 * declines, bits 3-4 the account picked. Before the requests, two passkeys for "example.com"
 * are made, so discoverable paths and getNextAssertion have something to find.
 */

struct fz_env {
	uint64_t counter;
	int64_t now;
};

static int
fz_random(void *ctx, uint8_t *buf, size_t len)
{
	struct fz_env *e = ctx;

	for (size_t i = 0; i < len; i++) {
		e->counter = e->counter * 6364136223846793005ULL + 1442695040888963407ULL;
		buf[i] = (uint8_t)(e->counter >> 56);
	}
	return 0;
}

static int64_t
fz_now(void *ctx)
{
	struct fz_env *e = ctx;
	return e->now++;
}

static int
fz_confirm(void *ctx, const struct cable_authenticator_prompt *p, size_t *selected)
{
	uint8_t flags = *(const uint8_t *)ctx;

	(void)p;
	*selected = (flags >> 3) & 3;
	return (flags & 4) ? 0x27 : 0;
}

/* makeCredential, rp "example.com", user id "u1" (then "u2"), rk, prf {}. */
static const uint8_t setup_mc[] = {
    0x01, 0xa6, 0x01, 0x58, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0x02, 0xa1, 0x62, 'i', 'd', 0x6b, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm',
    0x03, 0xa2, 0x62, 'i', 'd', 0x42, 'u', '1', 0x64, 'n', 'a', 'm', 'e', 0x61, 'n',
    0x04, 0x81, 0xa2, 0x63, 'a', 'l', 'g', 0x26, 0x64, 't', 'y', 'p', 'e', 0x6a, 'p', 'u', 'b',
    'l', 'i', 'c', '-', 'k', 'e', 'y',
    0x06, 0xa1, 0x63, 'p', 'r', 'f', 0xa0,
    0x07, 0xa1, 0x62, 'r', 'k', 0xf5,
};

static void
run(struct cable_authenticator *a, const uint8_t *req, size_t len)
{
	uint8_t *resp = NULL;
	size_t resp_len = 0;

	if (cable_authenticator_handle(a, req, len, &resp, &resp_len) == 0) {
		/* An error is a bare status byte; a success body is one canonical CBOR map. */
		if (resp_len < 1 || (resp[0] != 0 && resp_len != 1))
			abort();
		if (resp_len > 1) {
			cbor_item_t *it = NULL;
			if (cable_cbor_load(resp + 1, resp_len - 1, CABLE_CBOR_CANONICAL, &it) != 0 ||
			    !cbor_isa_map(it))
				abort();
			cbor_decref(&it);
		}
		free(resp);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_env fe = {1, 1700000000};
	struct cable_env env = {fz_random, fz_now, &fe};
	struct cable_cred_store *store = NULL;
	struct cable_authenticator_config cfg;
	struct cable_authenticator *a = NULL;
	uint8_t flags, setup[sizeof(setup_mc)];

	if (size < 1)
		return 0;
	flags = data[0];
	data++;
	size--;
	if (cable_cred_store_new(&env, &store) != 0)
		return 0;
	memset(&cfg, 0, sizeof(cfg));
	cfg.store = store;
	cfg.list_accounts = flags & 1;
	cfg.attestation = (flags & 2) ? CABLE_ATTESTATION_PACKED_SELF : CABLE_ATTESTATION_NONE;
	cfg.confirm = fz_confirm;
	cfg.confirm_ctx = &flags;
	if ((a = cable_authenticator_new(&env, &cfg)) == NULL)
		goto out;
	{
		uint8_t saved = flags;
		flags = 0; /* setup is always confirmed */
		memcpy(setup, setup_mc, sizeof(setup));
		run(a, setup, sizeof(setup));
		for (size_t i = 0; i + 1 < sizeof(setup); i++)
			if (setup[i] == 'u' && setup[i + 1] == '1')
				setup[i + 1] = '2'; /* user id "u2" */
		run(a, setup, sizeof(setup));
		flags = saved;
	}
	while (size >= 2) {
		size_t n = (size_t)data[0] << 8 | data[1];
		data += 2;
		size -= 2;
		if (n > size)
			n = size;
		if (n > 0)
			run(a, data, n);
		data += n;
		size -= n;
	}
out:
	cable_authenticator_free(&a);
	cable_cred_store_free(&store);
	return 0;
}

/* Unit tests: Derive() and its helpers (vectors derive_*, tunnel_id_*, ec_key_derive_from_secret_*). */
#include <stdlib.h>
#include <string.h>

#include "cable/crypto.h"
#include "cable/error.h"
#include "cable/kdf.h"
#include "cable/p256.h"
#include "tv.h"

static void
run_derive(json_t *v, void *ctx)
{
	size_t slen, saltlen, infolen, wantlen;
	uint8_t *secret = tv_hex(v, "inputs.secret", &slen);
	uint8_t *salt = tv_hex(v, "inputs.salt", &saltlen);
	uint8_t *info = tv_hex(v, "inputs.info_bytes", &infolen);
	uint8_t *want = tv_hex(v, "expected.output", &wantlen);
	long long type = tv_int(v, "inputs.info_type");
	size_t len = (size_t)tv_int(v, "inputs.length");
	uint8_t out[256];

	(void)ctx;
	assert_true(len <= sizeof(out));
	/* info_bytes is what uint32_LE(type) must be. */
	assert_int_equal(infolen, 4);
	assert_int_equal(info[0] | info[1] << 8 | info[2] << 16 | (uint32_t)info[3] << 24, type);
	assert_int_equal(cable_derive(secret, slen, saltlen ? salt : NULL, saltlen,
	    (enum cable_kdf_type)type, out, len), 0);
	tv_assert_bytes(out, len, want, wantlen);
	/* The same through plain HKDF with that info, and through the typed helper. */
	memset(out, 0, sizeof(out));
	assert_int_equal(cable_hkdf_sha256(salt, saltlen, secret, slen, info, infolen, out, len), 0);
	tv_assert_bytes(out, len, want, wantlen);
	if (type == CABLE_KDF_EID_KEY) {
		assert_int_equal(len, CABLE_EID_KEY_LEN);
		memset(out, 0, sizeof(out));
		assert_int_equal(cable_derive_eid_key(secret, slen, salt, saltlen, out), 0);
		tv_assert_bytes(out, len, want, wantlen);
	}
	free(secret);
	free(salt);
	free(info);
	free(want);
}

static void
test_derive_vectors(void **state)
{
	(void)state;
	tv_each("derive_", run_derive, NULL);
	tv_assert_all_run("derive_");
}

static void
run_tunnel_id(json_t *v, void *ctx)
{
	size_t slen, wantlen;
	uint8_t *secret = tv_hex(v, "inputs.qr_secret", &slen);
	uint8_t *want = tv_hex(v, "expected.tunnel_id", &wantlen);
	uint8_t out[16];

	(void)ctx;
	assert_int_equal(tv_int(v, "inputs.info_type"), CABLE_KDF_TUNNEL_ID);
	assert_int_equal(tv_int(v, "inputs.length"), 16);
	assert_int_equal(slen, CABLE_QR_SECRET_LEN);
	assert_int_equal(cable_derive_tunnel_id(secret, out), 0);
	tv_assert_bytes(out, sizeof(out), want, wantlen);
	free(secret);
	free(want);
}

static void
test_tunnel_id_vectors(void **state)
{
	(void)state;
	tv_each("tunnel_id_", run_tunnel_id, NULL);
	tv_assert_all_run("tunnel_id_");
}

static void
run_ec_derive(json_t *v, void *ctx)
{
	struct cable_p256_key key;
	size_t slen, plen, qlen;
	uint8_t *secret = tv_hex(v, "inputs.secret", &slen);
	uint8_t *priv = tv_hex(v, "expected.private_key", &plen);
	uint8_t *pub = tv_hex(v, "expected.public_key_uncompressed", &qlen);
	uint8_t comp[CABLE_P256_COMP_LEN], full[CABLE_P256_PUB_LEN];

	(void)ctx;
	assert_string_equal(tv_str(v, "inputs.curve"), "P-256");
	assert_int_equal(cable_p256_derive_from_secret(secret, slen, &key), 0);
	tv_assert_bytes(key.priv, sizeof(key.priv), priv, plen);
	tv_assert_bytes(key.pub, sizeof(key.pub), pub, qlen);
	/* What the QR carries: the compressed key, which must come back to the same point. */
	assert_int_equal(cable_p256_compress(key.pub, comp), 0);
	assert_int_equal(comp[0], 0x02 | (pub[64] & 1));
	assert_int_equal(cable_p256_decompress(comp, full), 0);
	tv_assert_bytes(full, sizeof(full), pub, qlen);
	cable_p256_key_wipe(&key);
	free(secret);
	free(priv);
	free(pub);
}

static void
test_ec_derive_vectors(void **state)
{
	(void)state;
	tv_each("ec_key_derive_from_secret_", run_ec_derive, NULL);
	tv_assert_all_run("ec_key_derive_from_secret_");
}

static void
test_types_and_psk(void **state)
{
	uint8_t secret[16] = {1, 2, 3}, plain[16] = {0, 9}, a[32], b[32];

	(void)state;
	/* Types outside 1..6 are refused, not silently derived. */
	assert_int_equal(cable_derive(secret, 16, NULL, 0, (enum cable_kdf_type)0, a, 32), CABLE_ERR_ARG);
	assert_int_equal(cable_derive(secret, 16, NULL, 0, (enum cable_kdf_type)7, a, 32), CABLE_ERR_ARG);
	/* PSK = Derive(secret, plaintext, 3, 32): the helper and the general form agree... */
	assert_int_equal(cable_derive_psk(secret, 16, plain, a), 0);
	assert_int_equal(cable_derive(secret, 16, plain, 16, CABLE_KDF_PSK, b, 32), 0);
	assert_memory_equal(a, b, 32);
	/* ...and the type, the salt and the secret each change the output. */
	assert_int_equal(cable_derive(secret, 16, plain, 16, CABLE_KDF_PAIRED_SECRET, b, 32), 0);
	assert_memory_not_equal(a, b, 32);
	plain[15] ^= 1;
	assert_int_equal(cable_derive_psk(secret, 16, plain, b), 0);
	assert_memory_not_equal(a, b, 32);
	plain[15] ^= 1;
	secret[0] ^= 1;
	assert_int_equal(cable_derive_psk(secret, 16, plain, b), 0);
	assert_memory_not_equal(a, b, 32);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_derive_vectors),
		cmocka_unit_test(test_tunnel_id_vectors),
		cmocka_unit_test(test_ec_derive_vectors),
		cmocka_unit_test(test_types_and_psk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

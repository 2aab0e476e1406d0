/* Unit tests: HKDF/HMAC/SHA-256 wrappers and the P-256 helpers (BoringSSL derive vectors). */
#include <stdlib.h>
#include <string.h>

#include "cable/bytes.h"
#include "cable/crypto.h"
#include "cable/error.h"
#include "cable/p256.h"
#include "tv.h"

static void
test_hkdf_rfc5869_case1(void **state)
{
	/* RFC 5869 A.1: a published answer, independent of our vectors file. */
	uint8_t ikm[22], salt[13], info[10], okm[42], want[42];
	const char *want_hex = "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
			       "34007208d5b887185865";

	(void)state;
	memset(ikm, 0x0b, sizeof(ikm));
	for (size_t i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(info); i++)
		info[i] = (uint8_t)(0xf0 + i);
	assert_int_equal(cable_hkdf_sha256(salt, sizeof(salt), ikm, sizeof(ikm), info, sizeof(info), okm,
			     sizeof(okm)),
	    0);
	assert_int_equal(cable_hex_decode(want_hex, strlen(want_hex), want, sizeof(want)), 0);
	assert_memory_equal(okm, want, sizeof(want));
	/* An empty IKM is allowed (HKDF of "") and differs from a one-byte zero IKM. */
	assert_int_equal(cable_hkdf_sha256(NULL, 0, NULL, 0, NULL, 0, okm, 32), 0);
	assert_int_equal(cable_hkdf_sha256(NULL, 0, (const uint8_t *)"", 1, NULL, 0, want, 32), 0);
	assert_memory_not_equal(okm, want, 32);
	assert_int_equal(cable_hkdf_sha256(NULL, 0, ikm, 1, NULL, 0, okm, 255 * 32 + 1), CABLE_ERR_ARG);
}

static void
run_derive_vector(json_t *v, void *ctx)
{
	struct cable_p256_key key;
	size_t slen, plen, qlen;
	uint8_t *secret = tv_hex(v, "inputs.secret", &slen);
	uint8_t *priv = tv_hex(v, "expected.private_key", &plen);
	uint8_t *pub = tv_hex(v, "expected.public_key_uncompressed", &qlen);

	(void)ctx;
	assert_string_equal(tv_str(v, "inputs.curve"), "P-256");
	assert_int_equal(cable_p256_derive_from_secret(secret, slen, &key), 0);
	tv_assert_bytes(key.priv, sizeof(key.priv), priv, plen);
	tv_assert_bytes(key.pub, sizeof(key.pub), pub, qlen);
	free(secret);
	free(priv);
	free(pub);
}

static void
test_derive_from_secret_vectors(void **state)
{
	(void)state;
	assert_true(tv_each("ec_key_derive_from_secret_p256_", run_derive_vector, NULL) >= 4);
	tv_assert_all_run("ec_key_derive_from_secret_");
}

static void
test_ecdh_and_encodings(void **state)
{
	struct tv_env e;
	struct cable_p256_key a, b;
	uint8_t ab[32], ba[32], comp[33], back[65], bad[65];

	(void)state;
	tv_env_init(&e, 1);
	assert_int_equal(cable_p256_generate(&e.env, &a), 0);
	assert_int_equal(cable_p256_generate(&e.env, &b), 0);
	assert_memory_not_equal(a.priv, b.priv, 32);
	assert_int_equal(cable_p256_ecdh(&a, b.pub, ab), 0);
	assert_int_equal(cable_p256_ecdh(&b, a.pub, ba), 0);
	assert_memory_equal(ab, ba, 32);

	assert_int_equal(cable_p256_compress(a.pub, comp), 0);
	assert_true(comp[0] == 0x02 || comp[0] == 0x03);
	assert_memory_equal(comp + 1, a.pub + 1, 32);
	assert_int_equal(cable_p256_decompress(comp, back), 0);
	assert_memory_equal(back, a.pub, 65);

	/* Off-curve points are refused everywhere. */
	memcpy(bad, a.pub, 65);
	bad[64] ^= 1;
	assert_int_equal(cable_p256_check_public(bad), CABLE_ERR_POINT);
	assert_int_equal(cable_p256_ecdh(&b, bad, ab), CABLE_ERR_POINT);
	assert_int_equal(cable_p256_compress(bad, comp), CABLE_ERR_POINT);
	comp[0] = 0x04;
	assert_int_equal(cable_p256_decompress(comp, back), CABLE_ERR_POINT);
	/* An x coordinate above the field prime is not a point. */
	memset(comp + 1, 0xff, 32);
	comp[0] = 0x02;
	assert_int_equal(cable_p256_decompress(comp, back), CABLE_ERR_POINT);

	e.fail_random = 1;
	assert_int_equal(cable_p256_generate(&e.env, &a), CABLE_ERR_RANDOM);
	cable_p256_key_wipe(&a);
	cable_p256_key_wipe(&b);
}

static void
test_private_range(void **state)
{
	struct cable_p256_key k;
	uint8_t zero[32] = {0}, n[32];
	const char *order = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

	(void)state;
	assert_int_equal(cable_hex_decode(order, 64, n, 32), 0);
	assert_int_equal(cable_p256_from_private(zero, &k), CABLE_ERR_ARG);
	assert_int_equal(cable_p256_from_private(n, &k), CABLE_ERR_ARG);
	n[31] -= 1; /* n - 1 is the largest valid scalar */
	assert_int_equal(cable_p256_from_private(n, &k), 0);
}

static void
test_sign_verify(void **state)
{
	struct tv_env e;
	struct cable_p256_key k;
	uint8_t sig[72], msg[] = "authData||clientDataHash";
	size_t sig_len = sizeof(sig);

	(void)state;
	tv_env_init(&e, 2);
	assert_int_equal(cable_p256_generate(&e.env, &k), 0);
	assert_int_equal(cable_p256_sign(&k, msg, sizeof(msg), sig, &sig_len), 0);
	assert_true(sig_len >= 8 && sig_len <= 72);
	assert_int_equal(sig[0], 0x30); /* DER SEQUENCE */
	assert_int_equal(cable_p256_verify(k.pub, msg, sizeof(msg), sig, sig_len), 0);
	msg[0] ^= 1;
	assert_int_equal(cable_p256_verify(k.pub, msg, sizeof(msg), sig, sig_len), CABLE_ERR_AUTH);
	msg[0] ^= 1;
	sig[sig_len - 1] ^= 1;
	assert_int_equal(cable_p256_verify(k.pub, msg, sizeof(msg), sig, sig_len), CABLE_ERR_AUTH);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hkdf_rfc5869_case1),
		cmocka_unit_test(test_derive_from_secret_vectors),
		cmocka_unit_test(test_ecdh_and_encodings),
		cmocka_unit_test(test_private_range),
		cmocka_unit_test(test_sign_verify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests: the transport crypter (nonce, AAD, padding, counters) and its failure modes. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "aes-gcm.h"
#include "cable/crypter.h"
#include "cable/error.h"
#include "crypter-private.h"
#include "tv.h"

static const uint8_t key_a[32] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
    0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
    0x1c, 0x1d, 0x1e, 0x1f, 0x20};
static const uint8_t key_b[32] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa,
    0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba,
    0xbb, 0xbc, 0xbd, 0xbe, 0xbf};

/* AES-256-GCM straight from OpenSSL with the §6 nonce and no AAD: the reference for our output. */
static void
reference_seal(const uint8_t key[32], uint32_t counter, const uint8_t *pt, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t nonce[12] = {0};
	int n = 0;

	nonce[8] = (uint8_t)(counter >> 24);
	nonce[9] = (uint8_t)(counter >> 16);
	nonce[10] = (uint8_t)(counter >> 8);
	nonce[11] = (uint8_t)counter;
	assert_non_null(ctx);
	assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce), 1);
	assert_int_equal(EVP_EncryptUpdate(ctx, out, &n, pt, (int)len), 1);
	assert_int_equal(EVP_EncryptFinal_ex(ctx, out + len, &n), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out + len), 1);
	EVP_CIPHER_CTX_free(ctx);
}

static void
run_strip_vector(json_t *v, void *ctx)
{
	size_t len, want_len, got;
	uint8_t *in = tv_hex(v, "inputs.decrypted", &len);

	(void)ctx;
	if (tv_has(v, "expected.unpadded")) {
		uint8_t *want = tv_hex(v, "expected.unpadded", &want_len);
		assert_int_equal(cable_crypter_unpad(in, len, &got), 0);
		tv_assert_bytes(in, got, want, want_len);
		free(want);
	} else {
		assert_false(tv_bool(v, "expected.valid"));
		assert_int_equal(cable_crypter_unpad(in, len, &got), CABLE_ERR_PADDING);
	}
	free(in);
}

static void
test_strip_padding_vectors(void **state)
{
	(void)state;
	assert_int_equal(tv_each("strip_frame_padding", run_strip_vector, NULL), 3);
	tv_assert_all_run("strip_frame_padding");
}

static void
test_padded_len(void **state)
{
	(void)state;
	assert_int_equal(cable_crypter_padded_len(0), 32);
	assert_int_equal(cable_crypter_padded_len(30), 32);
	assert_int_equal(cable_crypter_padded_len(31), 32);
	assert_int_equal(cable_crypter_padded_len(32), 64);
	assert_int_equal(cable_crypter_padded_len(497), 512);
}

/* Every length 0..100: the ciphertext equals the reference built from the §6 rules. */
static void
test_matches_reference(void **state)
{
	struct cable_crypter *w = cable_crypter_new(key_b, key_a);
	struct cable_crypter *r = cable_crypter_new(key_a, key_b);
	uint8_t pt[100], padded[128], want[144], *ct, *back;
	size_t ct_len, back_len;

	(void)state;
	assert_non_null(w);
	assert_non_null(r);
	for (size_t i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)(i * 7 + 1);
	for (uint32_t len = 0; len <= sizeof(pt); len++) {
		size_t plen = cable_crypter_padded_len(len);
		memset(padded, 0, sizeof(padded));
		memcpy(padded, pt, len);
		padded[plen - 1] = (uint8_t)(plen - len - 1);
		reference_seal(key_a, len, padded, plen, want);
		assert_int_equal(cable_crypter_write_counter(w), len);
		assert_int_equal(cable_crypter_encrypt(w, pt, len, &ct, &ct_len), 0);
		tv_assert_bytes(ct, ct_len, want, plen + 16);
		assert_int_equal(ct_len % 32, 16);
		assert_int_equal(cable_crypter_decrypt(r, ct, ct_len, &back, &back_len), 0);
		assert_non_null(back);
		tv_assert_bytes(back, back_len, pt, len);
		free(ct);
		free(back);
	}
	cable_crypter_free(&w);
	cable_crypter_free(&r);
	assert_null(w);
	cable_crypter_free(&w); /* NULL is accepted */
}

/* Flips, truncation, replay, reordering, oversize: specific errors; the read counter holds. */
static void
test_negative(void **state)
{
	struct cable_crypter *w = cable_crypter_new(key_b, key_a);
	struct cable_crypter *r = cable_crypter_new(key_a, key_b);
	struct cable_crypter *wrong = cable_crypter_new(key_b, key_a);
	uint8_t msg[] = "\x01\x01\xa1\x01\x02", *c1, *c2, *out, *big;
	size_t c1_len, c2_len, out_len;

	(void)state;
	assert_int_equal(cable_crypter_encrypt(w, msg, sizeof(msg), &c1, &c1_len), 0);
	assert_int_equal(cable_crypter_encrypt(w, msg, 3, &c2, &c2_len), 0);
	for (size_t i = 0; i < c1_len; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			c1[i] ^= (uint8_t)(1u << bit);
			assert_int_equal(cable_crypter_decrypt(r, c1, c1_len, &out, &out_len), CABLE_ERR_AUTH);
			c1[i] ^= (uint8_t)(1u << bit);
		}
	}
	for (size_t n = 0; n < c1_len; n++)
		assert_int_equal(cable_crypter_decrypt(r, c1, n, &out, &out_len), CABLE_ERR_AUTH);
	/* Reordered: the second message first. */
	assert_int_equal(cable_crypter_decrypt(r, c2, c2_len, &out, &out_len), CABLE_ERR_AUTH);
	assert_int_equal(cable_crypter_read_counter(r), 0);
	/* Wrong key (the decryptor's own write key). */
	cable_crypter_set_counters_for_testing(wrong, 0, 0);
	assert_int_equal(cable_crypter_decrypt(wrong, c1, c1_len, &out, &out_len), CABLE_ERR_AUTH);
	/* After all that, the genuine message still opens, in order. */
	assert_int_equal(cable_crypter_decrypt(r, c1, c1_len, &out, &out_len), 0);
	tv_assert_bytes(out, out_len, msg, sizeof(msg));
	free(out);
	assert_int_equal(cable_crypter_read_counter(r), 1);
	/* Replayed. */
	assert_int_equal(cable_crypter_decrypt(r, c1, c1_len, &out, &out_len), CABLE_ERR_AUTH);
	assert_int_equal(cable_crypter_decrypt(r, c2, c2_len, &out, &out_len), 0);
	tv_assert_bytes(out, out_len, msg, 3);
	free(out);
	/* Oversized, both directions. */
	big = calloc(1, CABLE_CRYPTER_MAX_MESSAGE + 1);
	assert_non_null(big);
	assert_int_equal(cable_crypter_decrypt(r, big, CABLE_CRYPTER_MAX_MESSAGE + 1, &out, &out_len),
	    CABLE_ERR_TOO_BIG);
	/* The largest padded length with its tag within 1 MiB is 2^20 - 32. */
	assert_int_equal(cable_crypter_encrypt(w, big, CABLE_CRYPTER_MAX_MESSAGE - 32, &out, &out_len),
	    CABLE_ERR_TOO_BIG);
	assert_int_equal(cable_crypter_encrypt(w, big, CABLE_CRYPTER_MAX_MESSAGE - 33, &out, &out_len), 0);
	assert_int_equal(out_len, CABLE_CRYPTER_MAX_MESSAGE - 16);
	free(out);
	free(big);
	assert_int_equal(cable_crypter_read_counter(r), 2);
	assert_int_equal(cable_crypter_write_counter(w), 3);
	free(c1);
	free(c2);
	cable_crypter_free(&w);
	cable_crypter_free(&r);
	cable_crypter_free(&wrong);
}

/* Authentic plaintexts with bad padding: CABLE_ERR_PADDING, and the counter has advanced. */
static void
test_bad_padding(void **state)
{
	struct cable_crypter *r = cable_crypter_new(key_a, key_b);
	uint8_t pt[32] = {0}, ct[48], *out;
	size_t out_len;

	(void)state;
	/* Empty plaintext: only a tag. */
	reference_seal(key_a, 0, pt, 0, ct);
	assert_int_equal(cable_crypter_decrypt(r, ct, 16, &out, &out_len), CABLE_ERR_PADDING);
	assert_int_equal(cable_crypter_read_counter(r), 1);
	/* 16 bytes whose last byte claims 16 zeros: z + 1 = 17 > 16. */
	pt[15] = 16;
	reference_seal(key_a, 1, pt, 16, ct);
	assert_int_equal(cable_crypter_decrypt(r, ct, 32, &out, &out_len), CABLE_ERR_PADDING);
	/* z + 1 == len is valid: an empty message. Non-zero pad bytes are accepted, as in Chrome. */
	pt[15] = 15;
	pt[3] = 0xee;
	reference_seal(key_a, 2, pt, 16, ct);
	assert_int_equal(cable_crypter_decrypt(r, ct, 32, &out, &out_len), 0);
	assert_int_equal(out_len, 0);
	free(out);
	assert_int_equal(cable_crypter_read_counter(r), 3);
	cable_crypter_free(&r);
}

/* Counters stop at 2^24 - 1 in both directions. */
static void
test_counter_cap(void **state)
{
	struct cable_crypter *w = cable_crypter_new(key_b, key_a);
	struct cable_crypter *r = cable_crypter_new(key_a, key_b);
	uint8_t padded[32] = {0}, want[48], *ct, *out;
	size_t ct_len, out_len;

	(void)state;
	cable_crypter_set_counters_for_testing(w, 0, CABLE_CRYPTER_MAX_COUNTER);
	cable_crypter_set_counters_for_testing(r, CABLE_CRYPTER_MAX_COUNTER, 0);
	assert_int_equal(cable_crypter_encrypt(w, (const uint8_t *)"x", 1, &ct, &ct_len), 0);
	padded[0] = 'x';
	padded[31] = 30;
	reference_seal(key_a, CABLE_CRYPTER_MAX_COUNTER, padded, 32, want);
	tv_assert_bytes(ct, ct_len, want, 48);
	assert_int_equal(cable_crypter_decrypt(r, ct, ct_len, &out, &out_len), 0);
	free(out);
	free(ct);
	assert_int_equal(cable_crypter_encrypt(w, (const uint8_t *)"x", 1, &ct, &ct_len), CABLE_ERR_COUNTER);
	assert_int_equal(cable_crypter_decrypt(r, want, 48, &out, &out_len), CABLE_ERR_COUNTER);
	cable_crypter_free(&w);
	cable_crypter_free(&r);
}

static void
test_args(void **state)
{
	uint8_t *out;
	size_t len;

	(void)state;
	assert_null(cable_crypter_new(NULL, key_a));
	assert_int_equal(cable_crypter_encrypt(NULL, key_a, 1, &out, &len), CABLE_ERR_ARG);
	assert_int_equal(cable_crypter_decrypt(NULL, key_a, 1, &out, &len), CABLE_ERR_ARG);
	assert_int_equal(cable_crypter_unpad(NULL, 0, &len), CABLE_ERR_PADDING);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strip_padding_vectors),
		cmocka_unit_test(test_padded_len),
		cmocka_unit_test(test_matches_reference),
		cmocka_unit_test(test_negative),
		cmocka_unit_test(test_bad_padding),
		cmocka_unit_test(test_counter_cap),
		cmocka_unit_test(test_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

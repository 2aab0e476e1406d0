/* Unit tests: EID plaintext, advert encryption and trial decryption, suffix, L2CAP framing
 * (vectors eid_*, advert_suffix_*, l2cap_*). */
#include <stdlib.h>
#include <string.h>

#include "cable/advert.h"
#include "cable/bytes.h"
#include "cable/error.h"
#include "cable/l2cap.h"
#include "cable/qr.h"
#include "tv-cbor.h"
#include "tv.h"

static void
run_eid_plaintext(json_t *v, void *ctx)
{
	size_t len;
	uint8_t *plain = tv_hex(v, "inputs.eid_plaintext", &len);
	struct cable_eid eid;
	int r;

	(void)ctx;
	assert_int_equal(len, CABLE_EID_PLAIN_LEN);
	r = cable_eid_parse(plain, &eid);
	if (tv_bool(v, "expected.valid")) {
		size_t rl, nl;
		uint8_t *rid = tv_hex(v, "expected.routing_id", &rl);
		uint8_t *nonce = tv_hex(v, "expected.nonce", &nl);
		uint8_t again[CABLE_EID_PLAIN_LEN];

		assert_int_equal(r, 0);
		assert_int_equal(eid.domain_id, tv_int(v, "expected.tunnel_server_domain_id"));
		tv_assert_bytes(eid.routing_id, sizeof(eid.routing_id), rid, rl);
		tv_assert_bytes(eid.nonce, sizeof(eid.nonce), nonce, nl);
		cable_eid_serialize(&eid, again);
		tv_assert_bytes(again, sizeof(again), plain, len);
		free(rid);
		free(nonce);
	} else {
		/* Each reason has its own code: the reserved byte first, then the domain rule. */
		if (plain[0] != 0)
			assert_int_equal(r, CABLE_ERR_ADVERT_RESERVED);
		else
			assert_int_equal(r, CABLE_ERR_ADVERT_DOMAIN);
	}
	free(plain);
}

static void
run_eid_decrypt_property(json_t *v, void *ctx)
{
	struct tv_env *e = ctx;
	size_t rl;
	uint8_t *rid = tv_hex(v, "inputs.routing_id", &rl);
	uint8_t key[CABLE_EID_KEY_LEN], advert[CABLE_ADVERT_LEN];
	struct cable_advert a;

	assert_true(tv_bool(v, "inputs.property_test"));
	assert_false(tv_bool(v, "expected.decrypt_accepts"));
	for (int i = 0; i < 20; i++) {
		assert_int_equal(cable_env_random(&e->env, key, sizeof(key)), 0);
		assert_int_equal(cable_advert_build(key, &e->env, rid,
		    (uint16_t)tv_int(v, "inputs.tunnel_server_domain_id"), advert, NULL, NULL), 0);
		assert_int_equal(cable_advert_open(key, advert, sizeof(advert), 0, &a),
		    CABLE_ERR_ADVERT_DOMAIN);
	}
	free(rid);
}

static void
test_eid_vectors(void **state)
{
	struct tv_env e;

	(void)state;
	tv_env_init(&e, 11);
	tv_each("eid_plaintext_parse", run_eid_plaintext, NULL);
	tv_each("eid_decrypt_", run_eid_decrypt_property, &e);
	tv_assert_all_run("eid_");
}

static void
test_domain_rule_all_values(void **state)
{
	struct cable_eid eid, out;
	uint8_t plain[CABLE_EID_PLAIN_LEN];

	(void)state;
	memset(&eid, 0x5c, sizeof(eid));
	for (unsigned d = 0; d <= 65535; d++) {
		eid.domain_id = (uint16_t)d;
		cable_eid_serialize(&eid, plain);
		assert_int_equal(plain[14], d & 0xff);
		assert_int_equal(plain[15], d >> 8);
		assert_int_equal(cable_eid_parse(plain, &out), d >= 2 && d <= 255 ? CABLE_ERR_ADVERT_DOMAIN : 0);
	}
}

static void
test_build_open_and_distinct_errors(void **state)
{
	uint8_t key[CABLE_EID_KEY_LEN], other[CABLE_EID_KEY_LEN], advert[CABLE_ADVERT_MAX + 1];
	uint8_t plain[CABLE_EID_PLAIN_LEN], buf[CABLE_EID_PLAIN_LEN], psk1[32], psk2[32];
	static const uint8_t rid[3] = {0x09, 0x0a, 0x0b};
	struct cable_eid eid;
	struct cable_advert a;
	struct tv_env e;

	(void)state;
	tv_env_init(&e, 12);
	assert_int_equal(cable_env_random(&e.env, key, sizeof(key)), 0);
	memcpy(other, key, sizeof(key));
	other[0] ^= 1; /* same HMAC half, different AES key */
	assert_int_equal(cable_advert_build(key, &e.env, rid, 511, advert, &eid, plain), 0);
	assert_int_equal(cable_advert_open(key, advert, CABLE_ADVERT_LEN, 0, &a), 0);
	assert_memory_equal(a.plaintext, plain, sizeof(plain));
	assert_memory_equal(a.eid.nonce, eid.nonce, sizeof(eid.nonce));
	assert_memory_equal(a.eid.routing_id, rid, 3);
	assert_int_equal(a.eid.domain_id, 511);
	assert_false(a.suffix.has_ble_psm);
	/* Both sides derive the same PSK from the plaintext. */
	assert_int_equal(cable_derive_psk(key, 16, plain, psk1), 0);
	assert_int_equal(cable_derive_psk(key, 16, a.plaintext, psk2), 0);
	assert_memory_equal(psk1, psk2, 32);
	/* Two builds use two nonces. */
	{
		uint8_t advert2[CABLE_ADVERT_LEN];
		assert_int_equal(cable_advert_build(key, &e.env, rid, 511, advert2, NULL, NULL), 0);
		assert_memory_not_equal(advert, advert2, CABLE_ADVERT_LEN);
	}

	/* Length. */
	assert_int_equal(cable_advert_open(key, advert, 19, 0, &a), CABLE_ERR_ADVERT_LENGTH);
	assert_int_equal(cable_advert_open(key, advert, 21, 0, &a), CABLE_ERR_ADVERT_LENGTH);
	assert_int_equal(cable_advert_open(key, advert, 0, 0, &a), CABLE_ERR_ADVERT_LENGTH);
	assert_int_equal(cable_advert_open(key, advert, CABLE_ADVERT_MAX + 1, CABLE_ADVERT_ALLOW_SUFFIX, &a),
	    CABLE_ERR_ADVERT_LENGTH);
	/* Tag: any flipped bit in ciphertext or tag; a key with another HMAC half. */
	for (size_t i = 0; i < CABLE_ADVERT_LEN * 8; i++) {
		advert[i / 8] ^= (uint8_t)(1 << (i % 8));
		assert_int_equal(cable_advert_open(key, advert, CABLE_ADVERT_LEN, 0, &a), CABLE_ERR_ADVERT_TAG);
		advert[i / 8] ^= (uint8_t)(1 << (i % 8));
	}
	other[40] ^= 1;
	assert_int_equal(cable_advert_open(other, advert, CABLE_ADVERT_LEN, 0, &a), CABLE_ERR_ADVERT_TAG);
	other[40] ^= 1;
	/* Reserved byte: encrypt a plaintext with byte 0 set, under the right key. */
	memcpy(buf, plain, sizeof(buf));
	buf[0] = 1;
	assert_int_equal(cable_advert_encrypt(key, buf, advert), 0);
	assert_int_equal(cable_advert_open(key, advert, CABLE_ADVERT_LEN, 0, &a), CABLE_ERR_ADVERT_RESERVED);
	/* Domain 2..255. */
	buf[0] = 0;
	buf[14] = 2;
	buf[15] = 0;
	assert_int_equal(cable_advert_encrypt(key, buf, advert), 0);
	assert_int_equal(cable_advert_open(key, advert, CABLE_ADVERT_LEN, 0, &a), CABLE_ERR_ADVERT_DOMAIN);
	/* Domain 1 passes. */
	buf[14] = 1;
	assert_int_equal(cable_advert_encrypt(key, buf, advert), 0);
	assert_int_equal(cable_advert_open(key, advert, CABLE_ADVERT_LEN, 0, &a), 0);
	assert_int_equal(a.eid.domain_id, 1);
	/* The same bytes under a different AES key decrypt to garbage: reserved or domain. */
	{
		int r = cable_advert_open(other, advert, CABLE_ADVERT_LEN, 0, &a);
		assert_true(r == CABLE_ERR_ADVERT_RESERVED || r == CABLE_ERR_ADVERT_DOMAIN || r == 0);
		if (r == 0)
			assert_memory_not_equal(a.plaintext, buf, sizeof(buf));
	}
	/* A random failure from env is reported. */
	e.fail_random = 1;
	assert_int_equal(cable_advert_build(key, &e.env, rid, 0, advert, NULL, NULL), CABLE_ERR_RANDOM);
}

static void
run_suffix(json_t *v, void *ctx)
{
	struct cable_advert_suffix s;
	uint8_t key[CABLE_EID_KEY_LEN], advert[CABLE_ADVERT_MAX];
	static const uint8_t rid[3] = {1, 2, 3};
	struct tv_env *e = ctx;
	json_t *psk;
	struct cable_advert a;

	if (tv_has(v, "inputs.suffix_cbor_candidates")) {
		json_t *c = tv_field(v, "inputs.suffix_cbor_candidates");

		assert_true(tv_bool(v, "expected.parse_error"));
		assert_true(json_array_size(c) > 0);
		for (size_t i = 0; i < json_array_size(c); i++) {
			uint8_t *b = NULL;
			size_t n = 0;
			const char *hex = json_string_value(json_array_get(c, i));
			int r;

			assert_non_null(hex);
			if (*hex != '\0')
				assert_int_equal(cable_hex_decode_alloc(hex, &b, &n), 0);
			r = cable_advert_suffix_parse(b, n, &s);
			assert_true(r == CABLE_ERR_CBOR || r == CABLE_ERR_CBOR_TYPE);
			/* The same suffix after a valid 20-byte advert fails the whole advert. */
			if (n > 0) {
				assert_int_equal(cable_env_random(&e->env, key, sizeof(key)), 0);
				assert_int_equal(cable_advert_build(key, &e->env, rid, 0, advert, NULL, NULL), 0);
				memcpy(advert + CABLE_ADVERT_LEN, b, n);
				assert_int_equal(cable_advert_open(key, advert, CABLE_ADVERT_LEN + n,
				    CABLE_ADVERT_ALLOW_SUFFIX, &a), r);
			}
			free(b);
		}
		return;
	}
	{
		uint8_t *b;
		size_t n;

		if (tv_has(v, "inputs.suffix_cbor"))
			b = tv_hex(v, "inputs.suffix_cbor", &n);
		else
			b = tv_cbor_map(tv_field(v, "inputs.suffix_map"), &n);
		psk = tv_field(v, "expected.ble_psm");
		assert_int_equal(cable_advert_suffix_parse(b, n, &s), 0);
		if (json_is_null(psk)) {
			assert_false(s.has_ble_psm);
		} else {
			assert_true(s.has_ble_psm);
			assert_int_equal(s.ble_psm, json_integer_value(psk));
		}
		/* Behind a real advert: accepted only when suffixes are allowed, same result. */
		assert_int_equal(cable_env_random(&e->env, key, sizeof(key)), 0);
		assert_int_equal(cable_advert_build(key, &e->env, rid, 0, advert, NULL, NULL), 0);
		memcpy(advert + CABLE_ADVERT_LEN, b, n);
		assert_int_equal(cable_advert_open(key, advert, CABLE_ADVERT_LEN + n, 0, &a),
		    CABLE_ERR_ADVERT_LENGTH);
		assert_int_equal(cable_advert_open(key, advert, CABLE_ADVERT_LEN + n,
		    CABLE_ADVERT_ALLOW_SUFFIX, &a), 0);
		assert_int_equal(a.suffix.has_ble_psm, s.has_ble_psm);
		assert_int_equal(a.suffix.ble_psm, s.ble_psm);
		/* The suffix is not covered by the tag: only the first 20 bytes are checked. */
		free(b);
	}
}

static void
test_suffix_vectors(void **state)
{
	struct tv_env e;

	(void)state;
	tv_env_init(&e, 13);
	tv_each("advert_suffix_", run_suffix, &e);
	tv_assert_all_run("advert_suffix_");
}

static void
run_l2cap(json_t *v, void *ctx)
{
	size_t len, off = 0, rl;
	uint8_t *stream = tv_hex(v, "inputs.stream", &len);
	uint8_t *rest = tv_hex(v, "expected.remaining", &rl);
	json_t *msgs = tv_field(v, "expected.messages");
	size_t i = 0;

	(void)ctx;
	for (;;) {
		size_t mlen, used;
		assert_int_equal(cable_l2cap_next(stream + off, len - off, &mlen, &used), 0);
		if (used == 0)
			break;
		assert_true(i < json_array_size(msgs));
		{
			uint8_t *want = NULL, framed[64];
			size_t wl = 0, written;
			const char *hex = json_string_value(json_array_get(msgs, i));
			assert_non_null(hex);
			if (*hex != '\0')
				assert_int_equal(cable_hex_decode_alloc(hex, &want, &wl), 0);
			tv_assert_bytes(stream + off, mlen, want, wl);
			/* Framing the message again gives back exactly the bytes consumed. */
			assert_int_equal(cable_l2cap_frame(want, wl, framed, sizeof(framed), &written), 0);
			tv_assert_bytes(framed, written, stream + off, used);
			free(want);
		}
		off += used;
		i++;
	}
	assert_int_equal(i, json_array_size(msgs));
	tv_assert_bytes(stream + off, len - off, rest, rl);
	free(stream);
	free(rest);
}

static void
test_l2cap_vectors(void **state)
{
	uint8_t *big;
	size_t mlen, used;

	(void)state;
	tv_each("l2cap_", run_l2cap, NULL);
	tv_assert_all_run("l2cap_");
	/* A lone CR at the end is not a terminator yet. */
	assert_int_equal(cable_l2cap_next((const uint8_t *)"ab\r", 3, &mlen, &used), 0);
	assert_int_equal(used, 0);
	/* No terminator within the cap: an error, not an endless wait. */
	big = calloc(1, CABLE_L2CAP_MSG_MAX + 2);
	assert_non_null(big);
	assert_int_equal(cable_l2cap_next(big, CABLE_L2CAP_MSG_MAX + 2, &mlen, &used), CABLE_ERR_TOO_BIG);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eid_vectors),
		cmocka_unit_test(test_domain_rule_all_values),
		cmocka_unit_test(test_build_open_and_distinct_errors),
		cmocka_unit_test(test_suffix_vectors),
		cmocka_unit_test(test_l2cap_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

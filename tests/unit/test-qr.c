/*
 * Unit tests: the QR payload and FIDO:/ URL (vectors qr_url_*, chromium_known_qr_*,
 * request_type_*, cable_request_type_strings, libwebauthn_qr_key6_*) and the desktop's QR key.
 */
#include <stdlib.h>
#include <string.h>

#include "cable/bytes.h"
#include "cable/cbor.h"
#include "cable/error.h"
#include "cable/qr.h"
#include "tv-cbor.h"
#include "tv.h"

/* "FIDO:/" + digits of the given CBOR. */
static char *
url_of(const uint8_t *cbor, size_t len)
{
	char *digits = NULL, *url;

	assert_int_equal(cable_digits_encode(cbor, len, &digits), 0);
	url = malloc(strlen(digits) + 7);
	assert_non_null(url);
	strcpy(url, "FIDO:/");
	strcat(url, digits);
	free(digits);
	return url;
}

static void
run_known_qr(json_t *v, void *ctx)
{
	json_t *map = tv_field(v, "inputs.cbor_map_canonical");
	struct cable_qr qr;
	size_t cbor_len;
	uint8_t *cbor = tv_cbor_map(map, &cbor_len);
	char *url = url_of(cbor, cbor_len);
	int r = cable_qr_from_url(url, strlen(url), &qr, NULL);

	(void)ctx;
	/* The same bytes straight through the CBOR entry point give the same verdict. */
	{
		struct cable_qr qr2;
		assert_int_equal(cable_qr_decode(cbor, cbor_len, &qr2), r);
	}
	if (!tv_bool(v, "expected.valid")) {
		assert_true(r < 0);
		assert_true(r == CABLE_ERR_CBOR_TYPE || r == CABLE_ERR_LENGTH || r == CABLE_ERR_POINT);
	} else {
		json_t *link = tv_field(v, "expected.supports_linking");
		size_t pk_len, sec_len;
		uint8_t *pk = tv_hex(v, "inputs.cbor_map_canonical.0.bytes", &pk_len);
		uint8_t *sec = tv_hex(v, "inputs.cbor_map_canonical.1.bytes", &sec_len);

		assert_int_equal(r, 0);
		tv_assert_bytes(qr.public_key, sizeof(qr.public_key), pk, pk_len);
		tv_assert_bytes(qr.secret, sizeof(qr.secret), sec, sec_len);
		assert_int_equal(qr.public_key_full[0], 0x04);
		assert_memory_equal(qr.public_key_full + 1, pk + 1, 32);
		assert_int_equal(qr.num_known_domains, tv_int(v, "expected.num_known_domains"));
		if (json_is_null(link)) {
			assert_false(qr.has_supports_linking);
		} else {
			assert_true(qr.has_supports_linking);
			assert_int_equal(qr.supports_linking, json_is_true(link));
		}
		assert_string_equal(cable_request_type_str(qr.request_type),
		    tv_str(v, "expected.request_type"));
		free(pk);
		free(sec);
	}
	free(url);
	free(cbor);
}

static void
test_chromium_known_qrs(void **state)
{
	(void)state;
	assert_true(tv_each("chromium_known_qr_", run_known_qr, NULL) >= 12);
	tv_assert_all_run("chromium_known_qr_");
}

/* Maps the vectors' error words to the codes we return. */
static void
assert_error_matches(const char *word, int r, enum cable_digits_fault fault)
{
	if (strcmp(word, "invalid_cable_url") == 0)
		assert_int_equal(r, CABLE_ERR_QR_PREFIX);
	else if (strcmp(word, "base10_non_digit") == 0)
		assert_true(r == CABLE_ERR_DIGITS && fault == CABLE_DIGITS_NON_DIGIT);
	else if (strcmp(word, "base10_invalid_length") == 0)
		assert_true(r == CABLE_ERR_DIGITS && fault == CABLE_DIGITS_BAD_LENGTH);
	else if (strcmp(word, "base10_out_of_range") == 0)
		assert_true(r == CABLE_ERR_DIGITS && fault == CABLE_DIGITS_OUT_OF_RANGE);
	else if (strcmp(word, "cbor_error") == 0)
		assert_true(r == CABLE_ERR_CBOR || r == CABLE_ERR_CBOR_NONCANONICAL ||
		    r == CABLE_ERR_CBOR_TYPE);
	else
		fail_msg("unknown error word %s in the vectors", word);
}

static void
run_qr_url(json_t *v, void *ctx)
{
	const char *url = tv_str(v, "inputs.url");
	enum cable_digits_fault fault;
	struct cable_qr qr;
	int r = cable_qr_from_url(url, strlen(url), &qr, &fault);

	(void)ctx;
	if (tv_has(v, "expected.parses")) {
		char *again = NULL;

		assert_true(tv_bool(v, "expected.parses"));
		assert_int_equal(r, 0);
		assert_true(tv_bool(v, "expected.reencoded_url_equals_input"));
		assert_int_equal(cable_qr_to_url(&qr, &again), 0);
		assert_string_equal(again, url);
		free(again);
		cable_qr_wipe(&qr);
	} else {
		assert_false(tv_bool(v, "expected.valid"));
		assert_error_matches(tv_str(v, "expected.error"), r, fault);
	}
}

static void
test_qr_url_vectors(void **state)
{
	(void)state;
	tv_each("qr_url_", run_qr_url, NULL);
	tv_assert_all_run("qr_url_");
}

static void
test_chrome_url_fields(void **state)
{
	/* The fields of the Chrome URL as hybrid-protocol.md §1.5 decodes them independently. */
	json_t *v = tv_get("qr_url_generated_by_chrome_roundtrip");
	const char *url = tv_str(v, "inputs.url");
	struct cable_qr qr;

	(void)state;
	assert_int_equal(cable_qr_from_url(url, strlen(url), &qr, NULL), 0);
	assert_true(qr.has_num_known_domains);
	assert_int_equal(qr.num_known_domains, 2);
	assert_true(qr.has_time);
	assert_int_equal(qr.time, 1666589051);
	assert_true(qr.has_supports_linking && qr.supports_linking);
	assert_int_equal(qr.request_type, CABLE_REQUEST_MC);
	assert_int_equal(qr.public_key[0], 0x03);
}

static void
run_request_type_defaults(json_t *v, void *ctx)
{
	json_t *strings = tv_field(v, "inputs.strings");

	(void)ctx;
	assert_true(json_array_size(strings) > 0);
	for (size_t i = 0; i < json_array_size(strings); i++) {
		const char *s = json_string_value(json_array_get(strings, i));
		assert_non_null(s);
		assert_string_equal(cable_request_type_str(cable_request_type_from_str(s, strlen(s))),
		    tv_str(v, "expected.request_type"));
	}
}

static void
test_request_types(void **state)
{
	json_t *v;
	const char *k;
	json_t *s;

	(void)state;
	tv_each("request_type_", run_request_type_defaults, NULL);
	tv_assert_all_run("request_type_");
	/* webauthn-rs's names map to the same wire strings, and both directions agree. */
	v = tv_get("cable_request_type_strings");
	json_object_foreach(tv_field(v, "inputs"), k, s) {
		const char *wire = json_string_value(s);
		enum cable_request_type t = cable_request_type_from_str(wire, strlen(wire));
		assert_string_equal(cable_request_type_str(t), wire);
		assert_int_equal(t, strstr(k, "MakeCredential") ? CABLE_REQUEST_MC : CABLE_REQUEST_GA);
	}
	/* webauthn-rs returns None for nonsense; Chrome (which we follow) falls back to "ga". */
	assert_true(json_is_null(tv_field(v, "expected.from_string_nonsense")));
	assert_int_equal(cable_request_type_from_str("nonsense", 8), CABLE_REQUEST_GA);
	assert_int_equal(cable_request_type_from_str("dcp", 3), CABLE_REQUEST_DCP);
	assert_int_equal(cable_request_type_from_str("mcx", 3), CABLE_REQUEST_GA);
	assert_int_equal(cable_request_type_from_str("m", 1), CABLE_REQUEST_GA);
	assert_int_equal(cable_request_type_from_str(NULL, 0), CABLE_REQUEST_GA);
}

static bool
has_key6(const uint8_t *cbor, size_t len)
{
	cbor_item_t *map = NULL;
	bool present;

	assert_int_equal(cable_cbor_load(cbor, len, CABLE_CBOR_CANONICAL, &map), 0);
	present = cable_cbor_map_get_int(map, 6) != NULL;
	cbor_decref(&map);
	return present;
}

static void
test_key6_never_written(void **state)
{
	json_t *only = tv_get("libwebauthn_qr_key6_cloud_assisted_only");
	json_t *local = tv_get("libwebauthn_qr_key6_cloud_assisted_or_local");
	uint8_t key[CABLE_QR_KEY_LEN], *cbor = NULL, *with6;
	struct tv_env e;
	struct cable_qr qr, parsed;
	size_t len, len6;
	json_t *map;

	(void)state;
	/* We offer only the cloud-assisted channel, so key 6 must be absent, as libwebauthn does. */
	assert_string_equal(tv_str(only, "inputs.transports"), "CloudAssistedOnly");
	assert_false(tv_bool(only, "expected.key6_present"));
	tv_env_init(&e, 6);
	for (int type = CABLE_REQUEST_GA; type <= CABLE_REQUEST_DCP; type++) {
		assert_int_equal(cable_qr_key_generate(&e.env, key), 0);
		assert_int_equal(cable_qr_init(&qr, key, &e.env, (enum cable_request_type)type,
		    type == CABLE_REQUEST_GA), 0);
		assert_int_equal(cable_qr_encode(&qr, &cbor, &len), 0);
		assert_false(has_key6(cbor, len));
		free(cbor);
	}
	/*
	 * A QR code from a client that offers both channels (key 6 = [0, 1], the libwebauthn
	 * vector) still parses: like Chrome, we ignore key 6.
	 */
	assert_string_equal(tv_str(local, "inputs.transports"), "CloudAssistedOrLocal");
	map = json_object();
	json_object_set_new(map, "0", json_pack("{s:s}", "bytes", ""));
	{
		char hex[2 * CABLE_P256_COMP_LEN + 1], shex[2 * CABLE_QR_SECRET_LEN + 1];
		cable_hex_encode(qr.public_key, sizeof(qr.public_key), hex, false);
		cable_hex_encode(qr.secret, sizeof(qr.secret), shex, false);
		json_object_set_new(map, "0", json_pack("{s:s}", "bytes", hex));
		json_object_set_new(map, "1", json_pack("{s:s}", "bytes", shex));
	}
	json_object_set(map, "6", tv_field(local, "expected.key6"));
	with6 = tv_cbor_map(map, &len6);
	assert_true(has_key6(with6, len6));
	assert_int_equal(cable_qr_decode(with6, len6, &parsed), 0);
	assert_memory_equal(parsed.secret, qr.secret, sizeof(qr.secret));
	/* ... and re-encoding drops it. */
	assert_int_equal(cable_qr_encode(&parsed, &cbor, &len), 0);
	assert_false(has_key6(cbor, len));
	free(cbor);
	free(with6);
	json_decref(map);
}

static void
test_init_round_trip(void **state)
{
	uint8_t key[CABLE_QR_KEY_LEN], tid[16], tid2[16], eid[CABLE_EID_KEY_LEN];
	struct cable_p256_key id;
	struct cable_qr qr, back;
	struct tv_env e;
	char *url = NULL;
	size_t cbor_len, scanned;
	uint8_t *cbor = NULL;

	(void)state;
	tv_env_init(&e, 1);
	assert_int_equal(cable_qr_key_generate(&e.env, key), 0);
	assert_int_equal(cable_qr_init(&qr, key, &e.env, CABLE_REQUEST_MC, true), 0);
	assert_int_equal(cable_qr_key_identity(key, &id), 0);
	assert_memory_equal(qr.public_key_full, id.pub, CABLE_P256_PUB_LEN);
	assert_memory_equal(qr.secret, key + CABLE_QR_SEED_LEN, CABLE_QR_SECRET_LEN);
	assert_true(qr.has_time);
	assert_int_equal(qr.time, 1700000000);
	assert_int_equal(qr.num_known_domains, 2);
	/* The encoding is canonical CBOR, keys 0..5 in order. */
	assert_int_equal(cable_qr_encode(&qr, &cbor, &cbor_len), 0);
	assert_int_equal(cable_cbor_scan(cbor, cbor_len, CABLE_CBOR_CANONICAL, &scanned), 0);
	assert_int_equal(scanned, cbor_len);
	assert_int_equal(cbor[0], 0xa6);
	free(cbor);
	assert_int_equal(cable_qr_to_url(&qr, &url), 0);
	assert_memory_equal(url, "FIDO:/", 6);
	/* A typical Chrome-sized URL: 6 + 168 characters, as in hybrid §1.4. */
	assert_int_equal(strlen(url), 6 + 168);
	assert_int_equal(cable_qr_from_url(url, strlen(url), &back, NULL), 0);
	assert_memory_equal(&back, &qr, sizeof(qr));
	/* Prefix case does not matter; lower-case URLs parse to the same payload. */
	url[0] = 'f';
	url[2] = 'd';
	assert_int_equal(cable_qr_from_url(url, strlen(url), &back, NULL), 0);
	assert_memory_equal(back.secret, qr.secret, sizeof(qr.secret));
	url[4] = ';';
	assert_int_equal(cable_qr_from_url(url, strlen(url), &back, NULL), CABLE_ERR_QR_PREFIX);
	free(url);
	/* Tunnel ID and EID key come from the secret alone. */
	assert_int_equal(cable_qr_tunnel_id(&qr, tid), 0);
	assert_int_equal(cable_derive_tunnel_id(key + CABLE_QR_SEED_LEN, tid2), 0);
	assert_memory_equal(tid, tid2, 16);
	assert_int_equal(cable_qr_eid_key(&qr, eid), 0);
	/* A failing random source is reported, not ignored. */
	e.fail_random = 1;
	assert_int_equal(cable_qr_key_generate(&e.env, key), CABLE_ERR_RANDOM);
	cable_p256_key_wipe(&id);
	cable_qr_wipe(&qr);
}

static void
run_identity_vector(json_t *v, void *ctx)
{
	size_t slen, plen;
	uint8_t *seed = tv_hex(v, "inputs.secret", &slen);
	uint8_t *pub = tv_hex(v, "expected.public_key_uncompressed", &plen);
	int *count = ctx;

	if (slen == CABLE_QR_SEED_LEN) {
		uint8_t key[CABLE_QR_KEY_LEN];
		struct cable_qr qr;

		memcpy(key, seed, CABLE_QR_SEED_LEN);
		memset(key + CABLE_QR_SEED_LEN, 0x5a, CABLE_QR_SECRET_LEN);
		assert_int_equal(cable_qr_init(&qr, key, NULL, CABLE_REQUEST_GA, false), 0);
		tv_assert_bytes(qr.public_key_full, sizeof(qr.public_key_full), pub, plen);
		assert_false(qr.has_time);
		(*count)++;
	}
	free(seed);
	free(pub);
}

static void
test_identity_from_seed(void **state)
{
	int count = 0;

	(void)state;
	tv_each("ec_key_derive_from_secret_p256_", run_identity_vector, &count);
	assert_true(count >= 1);
}

static void
test_decode_rejections(void **state)
{
	/* {0: 33 bytes, 1: 16 bytes} with each field broken in turn. */
	uint8_t good[2 + 2 + 33 + 2 + 16], buf[sizeof(good) + 16];
	struct cable_qr qr;
	struct tv_env e;
	uint8_t key[CABLE_QR_KEY_LEN], *cbor;
	size_t len;

	(void)state;
	tv_env_init(&e, 3);
	assert_int_equal(cable_qr_key_generate(&e.env, key), 0);
	assert_int_equal(cable_qr_init(&qr, key, NULL, CABLE_REQUEST_GA, false), 0);
	qr.has_num_known_domains = qr.has_supports_linking = false;
	assert_int_equal(cable_qr_encode(&qr, &cbor, &len), 0);
	/* With only keys 0, 1 and 5: a3 00 58 21 <33> 01 50 <16> 05 62 'g' 'a'. */
	assert_int_equal(len, sizeof(good) + 4);
	memcpy(good, cbor, sizeof(good));
	free(cbor);
	good[0] = 0xa2;
	assert_int_equal(cable_qr_decode(good, sizeof(good), &qr), 0);

	/* Point not on the curve: for x = 1, x^3 - 3x + b is not a square mod p, so no y exists. */
	memcpy(buf, good, sizeof(good));
	memset(buf + 5, 0, 32);
	buf[4] = 0x02;
	buf[5 + 31] = 1;
	assert_int_equal(cable_qr_decode(buf, sizeof(good), &qr), CABLE_ERR_POINT);
	/* Uncompressed prefix byte in a 33-byte string is not a compressed point. */
	memcpy(buf, good, sizeof(good));
	buf[4] = 0x04;
	assert_int_equal(cable_qr_decode(buf, sizeof(good), &qr), CABLE_ERR_POINT);
	/* Key 0 of 32 bytes. */
	memcpy(buf, good, 3);
	buf[3] = 0x20;
	memcpy(buf + 4, good + 5, sizeof(good) - 5);
	assert_int_equal(cable_qr_decode(buf, sizeof(good) - 1, &qr), CABLE_ERR_LENGTH);
	/* Secret of 15 bytes. */
	memcpy(buf, good, sizeof(good) - 16);
	buf[sizeof(good) - 17] = 0x4f;
	memcpy(buf + sizeof(good) - 16, good + sizeof(good) - 15, 15);
	assert_int_equal(cable_qr_decode(buf, sizeof(good) - 1, &qr), CABLE_ERR_LENGTH);
	/* Missing key 1. */
	memcpy(buf, good, 2 + 2 + 33);
	buf[0] = 0xa1;
	assert_int_equal(cable_qr_decode(buf, 2 + 2 + 33, &qr), CABLE_ERR_MISSING);
	/* Keys out of order are not canonical (Chrome's CBOR reader refuses them too). */
	memcpy(buf, good, 1);
	memcpy(buf + 1, good + 1 + 2 + 33 + 2 - 1, 2 + 16);
	memcpy(buf + 1 + 2 + 16, good + 1, 2 + 33 + 1);
	buf[1] = 0x01;
	buf[1 + 2 + 16] = 0x00;
	assert_int_equal(cable_qr_decode(buf, sizeof(good), &qr), CABLE_ERR_CBOR_NONCANONICAL);
	/* Trailing bytes after the map. */
	memcpy(buf, good, sizeof(good));
	buf[sizeof(good)] = 0x00;
	assert_int_equal(cable_qr_decode(buf, sizeof(good) + 1, &qr), CABLE_ERR_CBOR);
	/* Key 4 as a float (f16/f32/f64) is a type error, not a libcbor assertion (found by fuzz-qr). */
	{
		static const uint8_t floats[][9] = {{0xf9, 0x3c, 0x00}, {0xfa, 0x3f, 0x80, 0, 0},
		    {0xfb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}};
		static const size_t flen[] = {3, 5, 9};
		for (size_t i = 0; i < 3; i++) {
			memcpy(buf, good, sizeof(good));
			buf[0] = 0xa3;
			buf[sizeof(good)] = 0x04;
			memcpy(buf + sizeof(good) + 1, floats[i], flen[i]);
			assert_int_equal(cable_qr_decode(buf, sizeof(good) + 1 + flen[i], &qr), CABLE_ERR_CBOR_TYPE);
		}
		/* null and undefined are simple values but not bools. */
		buf[sizeof(good) + 1] = 0xf6;
		assert_int_equal(cable_qr_decode(buf, sizeof(good) + 2, &qr), CABLE_ERR_CBOR_TYPE);
		buf[sizeof(good) + 1] = 0xf5;
		assert_int_equal(cable_qr_decode(buf, sizeof(good) + 2, &qr), 0);
		assert_true(qr.has_supports_linking && qr.supports_linking);
	}
	/* A non-map top-level item. */
	assert_int_equal(cable_qr_decode((const uint8_t *)"\x80", 1, &qr), CABLE_ERR_CBOR_TYPE);
	/* Nothing after the prefix. */
	assert_int_equal(cable_qr_from_url("FIDO:/", 6, &qr, NULL), CABLE_ERR_QR_PREFIX);
	assert_int_equal(cable_qr_from_url("FIDO:", 5, &qr, NULL), CABLE_ERR_QR_PREFIX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chromium_known_qrs),
		cmocka_unit_test(test_qr_url_vectors),
		cmocka_unit_test(test_chrome_url_fields),
		cmocka_unit_test(test_request_types),
		cmocka_unit_test(test_key6_never_written),
		cmocka_unit_test(test_init_round_trip),
		cmocka_unit_test(test_identity_from_seed),
		cmocka_unit_test(test_decode_rejections),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

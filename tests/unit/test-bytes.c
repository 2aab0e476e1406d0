/* Unit tests: hex, base64url, constant-time compare and the bounded CBOR intake. */
#include <stdlib.h>
#include <string.h>

#include "cable/bytes.h"
#include "cable/cbor.h"
#include "cable/error.h"
#include "tv.h"

static void
test_hex(void **state)
{
	uint8_t in[] = {0x00, 0x01, 0xab, 0xff}, out[4];
	char s[9];

	(void)state;
	cable_hex_encode(in, sizeof(in), s, false);
	assert_string_equal(s, "0001abff");
	cable_hex_encode(in, sizeof(in), s, true);
	assert_string_equal(s, "0001ABFF");
	assert_int_equal(cable_hex_decode("0001AbfF", 8, out, 4), 0);
	assert_memory_equal(in, out, 4);
	assert_int_equal(cable_hex_decode("0001abf", 7, out, 4), CABLE_ERR_PARSE);
	assert_int_equal(cable_hex_decode("0001abfg", 8, out, 4), CABLE_ERR_PARSE);
	assert_int_equal(cable_hex_decode("0001abff00", 10, out, 4), CABLE_ERR_PARSE);
}

static void
test_base64url(void **state)
{
	/* RFC 4648 test strings, URL alphabet, no padding. */
	static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *enc[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
	uint8_t fb[] = {0xfb, 0xff};
	char *s;
	uint8_t *d;
	size_t n;

	(void)state;
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(cable_base64url_encode((const uint8_t *)plain[i], strlen(plain[i]), &s), 0);
		assert_string_equal(s, enc[i]);
		free(s);
		assert_int_equal(cable_base64url_decode(enc[i], strlen(enc[i]), &d, &n), 0);
		assert_int_equal(n, strlen(plain[i]));
		assert_memory_equal(d, plain[i], n);
		free(d);
	}
	assert_int_equal(cable_base64url_encode(fb, 2, &s), 0);
	assert_string_equal(s, "-_8");
	free(s);
	assert_int_equal(cable_base64url_decode("Zg==", 4, &d, &n), CABLE_ERR_PARSE);
	assert_int_equal(cable_base64url_decode("Zm+v", 4, &d, &n), CABLE_ERR_PARSE);
	assert_int_equal(cable_base64url_decode("Zh", 2, &d, &n), CABLE_ERR_PARSE); /* stray bits */
	assert_int_equal(cable_base64url_decode("Z", 1, &d, &n), CABLE_ERR_PARSE);
}

static void
test_ct_equal(void **state)
{
	(void)state;
	assert_true(cable_ct_equal("abcd", "abcd", 4));
	assert_false(cable_ct_equal("abcd", "abce", 4));
}

static void
test_cbor_bombs_rejected_before_libcbor(void **state)
{
	/* The libcbor 0.8 allocation bombs from testing.md: huge declared counts, few bytes. */
	static const uint8_t bomb1[] = {0xba, 0x3a, 0x27, 0x50, 0x50, 0x50};
	static const uint8_t bomb2[] = {0x9a, 0x10, 0x00, 0x00, 0x00};
	static const uint8_t bstr[] = {0x5a, 0xff, 0xff, 0xff, 0xff, 0x00};
	cbor_item_t *it = NULL;
	size_t n;

	(void)state;
	assert_int_equal(cable_cbor_load(bomb1, sizeof(bomb1), 0, &it), CABLE_ERR_CBOR);
	assert_int_equal(cable_cbor_load(bomb2, sizeof(bomb2), 0, &it), CABLE_ERR_CBOR);
	assert_int_equal(cable_cbor_load(bstr, sizeof(bstr), 0, &it), CABLE_ERR_CBOR);
	assert_null(it);
	assert_int_equal(cable_cbor_scan(bomb1, sizeof(bomb1), 0, &n), CABLE_ERR_CBOR);
}

static void
test_cbor_canonical(void **state)
{
	/* {1: 2, 3: 4} canonical; {3: 4, 1: 2} out of order; {1: 2, 1: 3} duplicate key. */
	static const uint8_t ok[] = {0xa2, 0x01, 0x02, 0x03, 0x04};
	static const uint8_t order[] = {0xa2, 0x03, 0x04, 0x01, 0x02};
	static const uint8_t dup[] = {0xa2, 0x01, 0x02, 0x01, 0x03};
	/* 1 encoded in two bytes is not shortest form. */
	static const uint8_t longint[] = {0xa1, 0x18, 0x01, 0x02};
	/* {1: 0, "a": 0}: integer keys sort before text keys. */
	static const uint8_t mixed[] = {0xa2, 0x01, 0x00, 0x61, 0x61, 0x00};
	static const uint8_t mixed_bad[] = {0xa2, 0x61, 0x61, 0x00, 0x01, 0x00};
	static const uint8_t indefinite[] = {0x9f, 0x01, 0xff};
	static const uint8_t tagged[] = {0xc1, 0x01};
	static const uint8_t trailing[] = {0x01, 0x02};
	cbor_item_t *it = NULL;

	(void)state;
	assert_int_equal(cable_cbor_load(ok, sizeof(ok), CABLE_CBOR_CANONICAL, &it), 0);
	assert_non_null(cable_cbor_map_get_int(it, 3));
	assert_null(cable_cbor_map_get_int(it, 2));
	cbor_decref(&it);
	assert_int_equal(cable_cbor_load(order, sizeof(order), CABLE_CBOR_CANONICAL, &it),
	    CABLE_ERR_CBOR_NONCANONICAL);
	assert_int_equal(cable_cbor_load(order, sizeof(order), 0, &it), 0);
	cbor_decref(&it);
	assert_int_equal(cable_cbor_load(dup, sizeof(dup), CABLE_CBOR_CANONICAL, &it),
	    CABLE_ERR_CBOR_NONCANONICAL);
	assert_int_equal(cable_cbor_load(longint, sizeof(longint), CABLE_CBOR_CANONICAL, &it),
	    CABLE_ERR_CBOR_NONCANONICAL);
	assert_int_equal(cable_cbor_load(mixed, sizeof(mixed), CABLE_CBOR_CANONICAL, &it), 0);
	assert_non_null(cable_cbor_map_get_str(it, "a"));
	cbor_decref(&it);
	assert_int_equal(cable_cbor_load(mixed_bad, sizeof(mixed_bad), CABLE_CBOR_CANONICAL, &it),
	    CABLE_ERR_CBOR_NONCANONICAL);
	assert_int_equal(cable_cbor_load(indefinite, sizeof(indefinite), 0, &it), CABLE_ERR_CBOR);
	assert_int_equal(cable_cbor_load(tagged, sizeof(tagged), 0, &it), CABLE_ERR_CBOR);
	assert_int_equal(cable_cbor_load(trailing, sizeof(trailing), 0, &it), CABLE_ERR_CBOR);
}

static void
test_cbor_depth(void **state)
{
	uint8_t deep[CABLE_CBOR_MAX_DEPTH + 3];
	cbor_item_t *it = NULL;

	(void)state;
	memset(deep, 0x81, sizeof(deep)); /* nested one-element arrays */
	deep[sizeof(deep) - 1] = 0x00;
	assert_int_equal(cable_cbor_load(deep, sizeof(deep), 0, &it), CABLE_ERR_CBOR);
	assert_int_equal(cable_cbor_load(deep + 4, sizeof(deep) - 4, 0, &it), 0);
	cbor_decref(&it);
}

static void
test_strerror(void **state)
{
	(void)state;
	assert_string_equal(cable_errname(CABLE_ERR_AUTH), "CABLE_ERR_AUTH");
	assert_string_equal(cable_errname(0x2e), "CTAP2_ERR_NO_CREDENTIALS");
	assert_string_equal(cable_strerror(0), "success");
	assert_string_equal(cable_strerror(-9999), "unknown error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_base64url),
		cmocka_unit_test(test_ct_equal),
		cmocka_unit_test(test_cbor_bombs_rejected_before_libcbor),
		cmocka_unit_test(test_cbor_canonical),
		cmocka_unit_test(test_cbor_depth),
		cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

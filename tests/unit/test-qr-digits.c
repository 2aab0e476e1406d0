/* Unit tests: FIDO:/ base-10 digit encoding and strict decoding (vectors base10_*, digits_to_bytes_*). */
#include <stdlib.h>
#include <string.h>

#include "cable/error.h"
#include "cable/qr.h"
#include "tv.h"

/* The vectors name faults by the words webauthn-rs uses. */
static enum cable_digits_fault
fault_from_name(const char *name)
{
	if (strcmp(name, "non_digit") == 0)
		return CABLE_DIGITS_NON_DIGIT;
	if (strcmp(name, "invalid_length") == 0)
		return CABLE_DIGITS_BAD_LENGTH;
	if (strcmp(name, "out_of_range") == 0)
		return CABLE_DIGITS_OUT_OF_RANGE;
	fail_msg("unknown fault name %s in the vectors", name);
	return CABLE_DIGITS_OK;
}

static void
run_base10(json_t *v, void *ctx)
{
	enum cable_digits_fault fault = CABLE_DIGITS_OK;
	uint8_t *out = NULL;
	size_t out_len = 0;

	(void)ctx;
	if (tv_has(v, "inputs.bytes")) {
		size_t len;
		uint8_t *in = tv_hex(v, "inputs.bytes", &len);
		const char *want = tv_str(v, "expected.digits");
		char *digits = NULL;

		assert_int_equal(cable_digits_encode(in, len, &digits), 0);
		assert_string_equal(digits, want);
		assert_int_equal(cable_digits_len(len), strlen(want));
		/* Every encoded vector must decode back (the decode_roundtrip flag or not). */
		assert_int_equal(cable_digits_decode(digits, strlen(digits), &out, &out_len, &fault), 0);
		assert_int_equal(fault, CABLE_DIGITS_OK);
		tv_assert_bytes(out, out_len, in, len);
		if (tv_has(v, "expected.decode_roundtrip"))
			assert_true(tv_bool(v, "expected.decode_roundtrip"));
		free(out);
		free(digits);
		free(in);
		return;
	}
	{
		const char *digits = tv_str(v, "inputs.digits");

		assert_false(tv_bool(v, "expected.valid"));
		assert_int_equal(cable_digits_decode(digits, strlen(digits), &out, &out_len, &fault),
		    CABLE_ERR_DIGITS);
		assert_null(out);
		if (tv_has(v, "expected.error"))
			assert_int_equal(fault, fault_from_name(tv_str(v, "expected.error")));
		else
			assert_int_not_equal(fault, CABLE_DIGITS_OK);
	}
}

static void
test_base10_vectors(void **state)
{
	(void)state;
	tv_each("base10_", run_base10, NULL);
	tv_each("digits_to_bytes_", run_base10, NULL);
	tv_assert_all_run("base10_");
	tv_assert_all_run("digits_to_bytes_");
}

static void
test_partial_table_and_boundaries(void **state)
{
	/* The maximum value of every tail length decodes; one more is out of range. */
	static const char *max_ok[] = {"255", "65535", "16777215", "4294967295", "1099511627775",
	    "281474976710655", "72057594037927935"};
	static const char *too_big[] = {"256", "65536", "16777216", "4294967296", "1099511627776",
	    "281474976710656", "72057594037927936"};
	enum cable_digits_fault fault;
	uint8_t *out = NULL;
	size_t out_len;

	(void)state;
	for (size_t n = 1; n <= 7; n++) {
		size_t bytes = n;
		assert_int_equal(cable_digits_decode(max_ok[n - 1], strlen(max_ok[n - 1]), &out,
		    &out_len, &fault), 0);
		assert_int_equal(out_len, bytes);
		for (size_t i = 0; i < out_len; i++)
			assert_int_equal(out[i], 0xff);
		free(out);
		out = NULL;
		assert_int_equal(cable_digits_decode(too_big[n - 1], strlen(too_big[n - 1]), &out,
		    &out_len, &fault), CABLE_ERR_DIGITS);
		assert_int_equal(fault, CABLE_DIGITS_OUT_OF_RANGE);
	}
	/* Every remainder length that is not in the table is rejected. */
	for (size_t rem = 1; rem < 17; rem++) {
		char buf[40];
		bool valid = rem == 3 || rem == 5 || rem == 8 || rem == 10 || rem == 13 || rem == 15;

		memset(buf, '0', sizeof(buf));
		assert_int_equal(cable_digits_decode(buf, 17 + rem, &out, &out_len, &fault),
		    valid ? 0 : CABLE_ERR_DIGITS);
		if (valid) {
			assert_int_equal(cable_digits_len(out_len), 17 + rem);
			free(out);
			out = NULL;
		} else {
			assert_int_equal(fault, CABLE_DIGITS_BAD_LENGTH);
		}
	}
	/* Signs, spaces and NULs are not digits, even where a number parser would skip them. */
	assert_int_equal(cable_digits_decode("+12", 3, &out, &out_len, &fault), CABLE_ERR_DIGITS);
	assert_int_equal(fault, CABLE_DIGITS_NON_DIGIT);
	assert_int_equal(cable_digits_decode(" 12", 3, &out, &out_len, &fault), CABLE_ERR_DIGITS);
	assert_int_equal(cable_digits_decode("1\0" "2", 3, &out, &out_len, &fault), CABLE_ERR_DIGITS);
	assert_int_equal(fault, CABLE_DIGITS_NON_DIGIT);
}

static void
test_round_trip_random_lengths(void **state)
{
	struct tv_env e;
	uint8_t in[200];

	(void)state;
	tv_env_init(&e, 7);
	for (size_t len = 0; len <= sizeof(in); len++) {
		char *digits = NULL;
		uint8_t *out = NULL;
		size_t out_len;

		assert_int_equal(cable_env_random(&e.env, in, len), 0);
		assert_int_equal(cable_digits_encode(in, len, &digits), 0);
		assert_int_equal(strlen(digits), cable_digits_len(len));
		assert_int_equal(cable_digits_decode(digits, strlen(digits), &out, &out_len, NULL), 0);
		tv_assert_bytes(out, out_len, in, len);
		free(out);
		free(digits);
	}
}

static void
test_length_cap(void **state)
{
	char *big = malloc(CABLE_DIGITS_MAX + 17);
	enum cable_digits_fault fault;
	uint8_t *out = NULL;
	size_t out_len;

	(void)state;
	assert_non_null(big);
	memset(big, '0', CABLE_DIGITS_MAX + 17);
	assert_int_equal(cable_digits_decode(big, CABLE_DIGITS_MAX + 17, &out, &out_len, &fault),
	    CABLE_ERR_DIGITS);
	assert_int_equal(fault, CABLE_DIGITS_TOO_LONG);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base10_vectors),
		cmocka_unit_test(test_partial_table_and_boundaries),
		cmocka_unit_test(test_round_trip_random_lengths),
		cmocka_unit_test(test_length_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

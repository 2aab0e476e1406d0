/* FIDO:/ base-10 digits: 7-byte little-endian chunks as 17 decimal digits (hybrid §1.3). */
#include <stdlib.h>
#include <string.h>

#include "cable/error.h"
#include "cable/qr.h"

#define CHUNK_BYTES 7
#define CHUNK_DIGITS 17

/* Digits for a partial chunk of n bytes (Chrome packs this as the nibbles of 0x0fda8530). */
static const uint8_t partial_digits[CHUNK_BYTES] = {0, 3, 5, 8, 10, 13, 15};

size_t
cable_digits_len(size_t len)
{
	return CHUNK_DIGITS * (len / CHUNK_BYTES) + partial_digits[len % CHUNK_BYTES];
}

/* Writes v as exactly ndigits decimal digits, zero-padded on the left. */
static void
put_decimal(uint64_t v, char *out, size_t ndigits)
{
	for (size_t i = ndigits; i > 0; i--) {
		out[i - 1] = (char)('0' + v % 10);
		v /= 10;
	}
}

int
cable_digits_encode(const uint8_t *in, size_t len, char **out)
{
	size_t olen, pos = 0;
	char *s;

	if (out == NULL || (in == NULL && len > 0))
		return CABLE_ERR_ARG;
	if (len > (SIZE_MAX - 1) / CHUNK_DIGITS)
		return CABLE_ERR_TOO_BIG;
	olen = cable_digits_len(len);
	if ((s = malloc(olen + 1)) == NULL)
		return CABLE_ERR_NOMEM;
	for (size_t i = 0; i < len; i += CHUNK_BYTES) {
		size_t n = len - i < CHUNK_BYTES ? len - i : CHUNK_BYTES;
		size_t nd = n == CHUNK_BYTES ? CHUNK_DIGITS : partial_digits[n];
		uint64_t v = 0;

		for (size_t j = n; j > 0; j--)
			v = v << 8 | in[i + j - 1];
		put_decimal(v, s + pos, nd);
		pos += nd;
	}
	s[pos] = '\0';
	*out = s;
	return 0;
}

/* The byte count for a trailing group of ndigits, or 0 when no byte count has that length. */
static size_t
partial_bytes(size_t ndigits)
{
	for (size_t n = 1; n < CHUNK_BYTES; n++)
		if (partial_digits[n] == ndigits)
			return n;
	return 0;
}

int
cable_digits_decode(const char *in, size_t len, uint8_t **out, size_t *out_len,
    enum cable_digits_fault *fault)
{
	enum cable_digits_fault f = CABLE_DIGITS_OK;
	size_t full, rem, tail_bytes = 0, olen, pos = 0;
	uint8_t *buf = NULL;
	int r = CABLE_ERR_DIGITS;

	if ((in == NULL && len > 0) || out == NULL || out_len == NULL)
		return CABLE_ERR_ARG;
	if (len > CABLE_DIGITS_MAX) {
		f = CABLE_DIGITS_TOO_LONG;
		goto out;
	}
	for (size_t i = 0; i < len; i++)
		if (in[i] < '0' || in[i] > '9') {
			f = CABLE_DIGITS_NON_DIGIT;
			goto out;
		}
	full = len / CHUNK_DIGITS;
	rem = len % CHUNK_DIGITS;
	if (rem != 0 && (tail_bytes = partial_bytes(rem)) == 0) {
		f = CABLE_DIGITS_BAD_LENGTH;
		goto out;
	}
	olen = full * CHUNK_BYTES + tail_bytes;
	/* One spare byte so that an empty result is still a real allocation. */
	if ((buf = malloc(olen + 1)) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < len;) {
		size_t nd = len - i >= CHUNK_DIGITS ? CHUNK_DIGITS : rem;
		size_t nb = nd == CHUNK_DIGITS ? CHUNK_BYTES : tail_bytes;
		uint64_t v = 0;

		/* 17 digits are below 10^17 < 2^64, so this cannot overflow. */
		for (size_t j = 0; j < nd; j++)
			v = v * 10 + (uint64_t)(in[i + j] - '0');
		if (v >> (8 * nb) != 0) {
			f = CABLE_DIGITS_OUT_OF_RANGE;
			goto out;
		}
		for (size_t j = 0; j < nb; j++) {
			buf[pos++] = (uint8_t)v;
			v >>= 8;
		}
		i += nd;
	}
	*out = buf;
	*out_len = olen;
	buf = NULL;
	r = 0;
out:
	free(buf);
	if (fault != NULL)
		*fault = f;
	return r;
}

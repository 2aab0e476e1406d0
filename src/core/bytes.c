/* Hex and base64url codecs, wiping and constant-time comparison. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cable/bytes.h"
#include "cable/error.h"

void
cable_hex_encode(const uint8_t *in, size_t len, char *out, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
cable_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_len)
{
	if (in == NULL || in_len != 2 * out_len)
		return CABLE_ERR_PARSE;
	for (size_t i = 0; i < out_len; i++) {
		int hi = hex_value(in[2 * i]), lo = hex_value(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return CABLE_ERR_PARSE;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int
cable_hex_decode_alloc(const char *in, uint8_t **out, size_t *out_len)
{
	size_t n;
	uint8_t *buf;
	int r;

	if (in == NULL || out == NULL || out_len == NULL)
		return CABLE_ERR_ARG;
	n = strlen(in);
	if (n % 2 != 0)
		return CABLE_ERR_PARSE;
	if ((buf = malloc(n / 2 + 1)) == NULL)
		return CABLE_ERR_NOMEM;
	if ((r = cable_hex_decode(in, n, buf, n / 2)) != 0) {
		free(buf);
		return r;
	}
	*out = buf;
	*out_len = n / 2;
	return 0;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
cable_base64url_encode(const uint8_t *in, size_t len, char **out)
{
	size_t olen, j = 0;
	char *s;

	if (out == NULL || (in == NULL && len > 0))
		return CABLE_ERR_ARG;
	if (len > (SIZE_MAX - 4) / 4 * 3)
		return CABLE_ERR_TOO_BIG;
	olen = len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1);
	if ((s = malloc(olen + 1)) == NULL)
		return CABLE_ERR_NOMEM;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t rem = len - i;
		if (rem > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (rem > 2)
			v |= in[i + 2];
		s[j++] = b64url[(v >> 18) & 63];
		s[j++] = b64url[(v >> 12) & 63];
		if (rem > 1)
			s[j++] = b64url[(v >> 6) & 63];
		if (rem > 2)
			s[j++] = b64url[v & 63];
	}
	s[j] = '\0';
	*out = s;
	return 0;
}

static int
b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int
cable_base64url_decode(const char *in, size_t in_len, uint8_t **out, size_t *out_len)
{
	uint8_t *buf;
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (in == NULL || out == NULL || out_len == NULL)
		return CABLE_ERR_ARG;
	if (in_len % 4 == 1)
		return CABLE_ERR_PARSE;
	if ((buf = malloc(in_len / 4 * 3 + 3)) == NULL)
		return CABLE_ERR_NOMEM;
	for (size_t i = 0; i < in_len; i++) {
		int v = b64url_value(in[i]);
		if (v < 0)
			goto fail;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* Leftover bits must be zero, so that each byte string has exactly one encoding. */
	if ((acc & ((1u << bits) - 1)) != 0)
		goto fail;
	*out = buf;
	*out_len = n;
	return 0;
fail:
	free(buf);
	return CABLE_ERR_PARSE;
}

void
cable_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0)
		OPENSSL_cleanse(p, len);
}

bool
cable_ct_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

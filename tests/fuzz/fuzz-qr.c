/*
 * libFuzzer harness: FIDO:/ digit decoding and QR URL parsing. Properties checked: decoded digits
 * re-encode to the same string; a parsed QR re-encodes to a URL that parses to the same payload.
 */
#include <stdlib.h>
#include <string.h>

#include "cable/error.h"
#include "cable/qr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	enum cable_digits_fault fault;
	struct cable_qr qr, back;
	uint8_t *bytes = NULL;
	size_t n = 0;
	char *again = NULL;

	if (size > CABLE_QR_URL_MAX + 16)
		return 0;
	/* 1. Digits: the strict decoder's output re-encodes to exactly the input. */
	if (cable_digits_decode(s, size, &bytes, &n, &fault) == 0) {
		if (fault != CABLE_DIGITS_OK || cable_digits_len(n) != size)
			abort();
		if (cable_digits_encode(bytes, n, &again) != 0 || strlen(again) != size ||
		    memcmp(again, s, size) != 0)
			abort();
		free(again);
		again = NULL;
		/* 2. The decoded bytes as a QR payload. */
		if (cable_qr_decode(bytes, n, &qr) == 0) {
			uint8_t *cbor = NULL;
			size_t clen;
			if (cable_qr_encode(&qr, &cbor, &clen) != 0 || cable_qr_decode(cbor, clen, &back) != 0 ||
			    memcmp(&qr, &back, sizeof(qr)) != 0)
				abort();
			free(cbor);
		}
		free(bytes);
	} else if (fault == CABLE_DIGITS_OK) {
		abort();
	}
	/* 3. The whole input as a URL: a parsed QR round-trips through its URL. */
	if (cable_qr_from_url(s, size, &qr, NULL) == 0) {
		if (cable_qr_to_url(&qr, &again) != 0 ||
		    cable_qr_from_url(again, strlen(again), &back, NULL) != 0 ||
		    memcmp(&qr, &back, sizeof(qr)) != 0)
			abort();
		free(again);
	}
	return 0;
}

/*
 * libFuzzer harness: advert trial decryption with a fixed EID key (with and without suffixes),
 * the suffix parser on its own, and the EID plaintext parser. A matched advert must re-encrypt
 * to the same 20 bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "cable/advert.h"
#include "cable/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The EID key of the all-zero QR secret: Derive(0^16, "", 1, 64). Seeds use the same key. */
static uint8_t eid_key[CABLE_EID_KEY_LEN];
static int have_key;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t zero_secret[CABLE_QR_SECRET_LEN];
	struct cable_advert a;
	struct cable_advert_suffix s;
	struct cable_eid eid;
	uint8_t again[CABLE_ADVERT_LEN];
	int r;

	if (!have_key) {
		if (cable_derive_eid_key(zero_secret, sizeof(zero_secret), NULL, 0, eid_key) != 0)
			abort();
		have_key = 1;
	}
	r = cable_advert_open(eid_key, data, size, CABLE_ADVERT_ALLOW_SUFFIX, &a);
	if (r == 0) {
		if (cable_advert_encrypt(eid_key, a.plaintext, again) != 0 ||
		    memcmp(again, data, CABLE_ADVERT_LEN) != 0)
			abort();
		if (a.plaintext[0] != 0 || (a.eid.domain_id >= 2 && a.eid.domain_id <= 255))
			abort();
	}
	/* Strict (Chrome) mode accepts only exactly 20 bytes. */
	r = cable_advert_open(eid_key, data, size, 0, &a);
	if (r == 0 && size != CABLE_ADVERT_LEN)
		abort();
	(void)cable_advert_suffix_parse(data, size, &s);
	if (size >= CABLE_EID_PLAIN_LEN && cable_eid_parse(data, &eid) == 0) {
		uint8_t plain[CABLE_EID_PLAIN_LEN];
		cable_eid_serialize(&eid, plain);
		if (memcmp(plain, data, sizeof(plain)) != 0)
			abort();
	}
	return 0;
}

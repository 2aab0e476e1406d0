/*
 * The caBLE v2 BLE advert (hybrid §3): the 16-byte EID plaintext, its AES-256 + HMAC tag
 * encryption into 20 bytes of service data, the desktop's trial decryption, and the CTAP 2.3
 * CBOR suffix that may follow the 20 bytes.
 */
#ifndef CABLE_ADVERT_H
#define CABLE_ADVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cable/env.h"
#include "cable/kdf.h"
#include "cable/tunnel-url.h"

#define CABLE_ADVERT_LEN 20      /* ciphertext(16) || tag(4) */
#define CABLE_ADVERT_TAG_LEN 4
#define CABLE_ADVERT_MAX 251     /* longest service data we look at (extended-advert AD limit) */
#define CABLE_EID_NONCE_LEN 10
/* 16-bit service UUIDs the advert appears under (hybrid §3.1). Desktops accept both. */
#define CABLE_ADVERT_UUID_FIDO 0xfff9
#define CABLE_ADVERT_UUID_GOOGLE 0xfde2

/* The fields of a decrypted EID plaintext: 00 || nonce(10) || routing_id(3) || domain_id(LE16). */
struct cable_eid {
	uint8_t nonce[CABLE_EID_NONCE_LEN];
	uint8_t routing_id[CABLE_ROUTING_ID_LEN];
	uint16_t domain_id;
};

/* Writes the 16-byte plaintext (reserved byte 0). Any domain ID is written as given. */
void cable_eid_serialize(const struct cable_eid *eid, uint8_t plain[CABLE_EID_PLAIN_LEN]);
/*
 * Checks and splits a plaintext as Chrome's desktop does: byte 0 must be 0
 * (CABLE_ERR_ADVERT_RESERVED) and the domain ID must not be an assigned-but-unknown one, 2..255
 * (CABLE_ERR_ADVERT_DOMAIN).
 */
int cable_eid_parse(const uint8_t plain[CABLE_EID_PLAIN_LEN], struct cable_eid *out);

/* advert = AES-256-ECB(eid_key[0..32), plain) || HMAC-SHA256(eid_key[32..64), ciphertext)[0..4). */
int cable_advert_encrypt(const uint8_t eid_key[CABLE_EID_KEY_LEN],
    const uint8_t plain[CABLE_EID_PLAIN_LEN], uint8_t advert[CABLE_ADVERT_LEN]);
/*
 * Phone side: a fresh nonce from env, then serialise and encrypt. The EID (with the nonce) is
 * returned in *eid_out and the plaintext in plain_out when they are not NULL (the plaintext is
 * the salt of the PSK).
 */
int cable_advert_build(const uint8_t eid_key[CABLE_EID_KEY_LEN], const struct cable_env *env,
    const uint8_t routing_id[CABLE_ROUTING_ID_LEN], uint16_t domain_id,
    uint8_t advert[CABLE_ADVERT_LEN], struct cable_eid *eid_out,
    uint8_t plain_out[CABLE_EID_PLAIN_LEN]);

/* What a CTAP 2.3 advert suffix says: a CBOR map of channel ID -> channel extra. */
struct cable_advert_suffix {
	bool has_ble_psm; /* channel 1 (BLE/L2CAP) with a uint16 PSM */
	uint16_t ble_psm;
};
/*
 * Parses a suffix. It must be one definite CBOR map (CABLE_ERR_CBOR*, CABLE_ERR_CBOR_TYPE
 * otherwise; an empty suffix is CABLE_ERR_CBOR). Unknown channels are ignored; a channel-1 value
 * that is not a uint up to 65535 is ignored too (no PSM), as libwebauthn does.
 */
int cable_advert_suffix_parse(const uint8_t *buf, size_t len, struct cable_advert_suffix *out);

enum cable_advert_flags {
	/* Accept service data longer than 20 bytes (CTAP 2.3); Chrome requires exactly 20. */
	CABLE_ADVERT_ALLOW_SUFFIX = 1 << 0,
};

/* A matched advert. plaintext is the PSK salt. */
struct cable_advert {
	uint8_t plaintext[CABLE_EID_PLAIN_LEN];
	struct cable_eid eid;
	struct cable_advert_suffix suffix; /* all zero when there was none */
};

/*
 * Desktop side: trial-decrypts service data with one EID key. Each reason is a distinct error:
 * CABLE_ERR_ADVERT_LENGTH (not 20 bytes, or with CABLE_ADVERT_ALLOW_SUFFIX shorter than 20 or
 * longer than CABLE_ADVERT_MAX), CABLE_ERR_ADVERT_TAG (the 4-byte tag does not match: not our
 * key, compared in constant time), CABLE_ERR_ADVERT_RESERVED, CABLE_ERR_ADVERT_DOMAIN, or a
 * suffix parse error. *out is set only on success.
 */
int cable_advert_open(const uint8_t eid_key[CABLE_EID_KEY_LEN], const uint8_t *data, size_t len,
    unsigned flags, struct cable_advert *out);

#endif

/* caBLE v2 key derivation: HKDF-SHA256 with a 4-byte little-endian type as info (hybrid §2.1). */
#ifndef CABLE_KDF_H
#define CABLE_KDF_H

#include <stddef.h>
#include <stdint.h>

#define CABLE_QR_SECRET_LEN 16
#define CABLE_EID_KEY_LEN 64 /* [0..32) AES-256 key, [32..64) HMAC-SHA256 key */
#define CABLE_EID_PLAIN_LEN 16
#define CABLE_PSK_LEN 32
#define CABLE_KDF_OUT_MAX (255 * 32) /* the RFC 5869 limit for SHA-256 */

/* The "type" of a derivation, written as uint32_LE into the HKDF info. */
enum cable_kdf_type {
	CABLE_KDF_EID_KEY = 1,
	CABLE_KDF_TUNNEL_ID = 2,
	CABLE_KDF_PSK = 3,
	CABLE_KDF_PAIRED_SECRET = 4,
	CABLE_KDF_IDENTITY_KEY_SEED = 5,
	CABLE_KDF_PER_CONTACT_ID_SECRET = 6,
};

/*
 * Derive(secret, salt, type, L) = HKDF-SHA256(IKM = secret, salt, info = uint32_LE(type), L).
 * type must be one of enum cable_kdf_type (others give CABLE_ERR_ARG).
 */
int cable_derive(const uint8_t *secret, size_t secret_len, const uint8_t *salt, size_t salt_len,
    enum cable_kdf_type type, uint8_t *out, size_t out_len);

/* EID key: Derive(secret, salt, 1, 64). QR mode: the 16-byte QR secret and no salt; linked mode:
 * the 32-byte link secret and the 16-byte client nonce. */
int cable_derive_eid_key(const uint8_t *secret, size_t secret_len, const uint8_t *salt,
    size_t salt_len, uint8_t out[CABLE_EID_KEY_LEN]);
/* Tunnel ID: Derive(qr_secret, "", 2, 16). */
int cable_derive_tunnel_id(const uint8_t qr_secret[CABLE_QR_SECRET_LEN], uint8_t out[16]);
/* Noise PSK: Derive(secret, eid_plaintext, 3, 32); secret is the QR secret or the link secret. */
int cable_derive_psk(const uint8_t *secret, size_t secret_len,
    const uint8_t eid_plaintext[CABLE_EID_PLAIN_LEN], uint8_t out[CABLE_PSK_LEN]);

#endif

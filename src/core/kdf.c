/* The caBLE v2 Derive() function (HKDF-SHA256, info = uint32_LE(type)) and its typed helpers. */
#include <string.h>

#include "cable/crypto.h"
#include "cable/error.h"
#include "cable/kdf.h"

int
cable_derive(const uint8_t *secret, size_t secret_len, const uint8_t *salt, size_t salt_len,
    enum cable_kdf_type type, uint8_t *out, size_t out_len)
{
	uint8_t info[4];

	if (type < CABLE_KDF_EID_KEY || type > CABLE_KDF_PER_CONTACT_ID_SECRET)
		return CABLE_ERR_ARG;
	info[0] = (uint8_t)type;
	info[1] = info[2] = info[3] = 0;
	return cable_hkdf_sha256(salt, salt_len, secret, secret_len, info, sizeof(info), out, out_len);
}

int
cable_derive_eid_key(const uint8_t *secret, size_t secret_len, const uint8_t *salt,
    size_t salt_len, uint8_t out[CABLE_EID_KEY_LEN])
{
	return cable_derive(secret, secret_len, salt, salt_len, CABLE_KDF_EID_KEY, out,
	    CABLE_EID_KEY_LEN);
}

int
cable_derive_tunnel_id(const uint8_t qr_secret[CABLE_QR_SECRET_LEN], uint8_t out[16])
{
	return cable_derive(qr_secret, CABLE_QR_SECRET_LEN, NULL, 0, CABLE_KDF_TUNNEL_ID, out, 16);
}

int
cable_derive_psk(const uint8_t *secret, size_t secret_len,
    const uint8_t eid_plaintext[CABLE_EID_PLAIN_LEN], uint8_t out[CABLE_PSK_LEN])
{
	if (eid_plaintext == NULL)
		return CABLE_ERR_ARG;
	return cable_derive(secret, secret_len, eid_plaintext, CABLE_EID_PLAIN_LEN, CABLE_KDF_PSK,
	    out, CABLE_PSK_LEN);
}

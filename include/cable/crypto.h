/* Small wrappers over OpenSSL 3 for the hashes and KDFs every part of the protocol uses. */
#ifndef CABLE_CRYPTO_H
#define CABLE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CABLE_SHA256_LEN 32

/* RFC 5869 HKDF-SHA256; an empty (NULL, 0) salt means HashLen zero bytes. out_len <= 255*32. */
int cable_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
    const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);
int cable_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
    uint8_t out[CABLE_SHA256_LEN]);
/* SHA-256 of the concatenation a || b (b may be NULL with b_len 0). */
int cable_sha256(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
    uint8_t out[CABLE_SHA256_LEN]);

#endif

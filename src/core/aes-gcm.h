/* AES-256-GCM seal/open with a 12-byte nonce and a 16-byte tag, for the Noise and transport layers. */
#ifndef CABLE_CORE_AES_GCM_H
#define CABLE_CORE_AES_GCM_H

#include <stddef.h>
#include <stdint.h>

#define CABLE_AESGCM_KEY_LEN 32
#define CABLE_AESGCM_NONCE_LEN 12
#define CABLE_AESGCM_TAG_LEN 16

/* out receives pt_len + 16 bytes (ciphertext || tag); out may equal pt. */
int cable_aesgcm_seal(const uint8_t key[CABLE_AESGCM_KEY_LEN],
    const uint8_t nonce[CABLE_AESGCM_NONCE_LEN], const uint8_t *ad, size_t ad_len,
    const uint8_t *pt, size_t pt_len, uint8_t *out);
/*
 * ct_len includes the tag and must be >= 16; out receives ct_len - 16 bytes (out may equal ct).
 * CABLE_ERR_AUTH when the tag does not verify; out is then wiped.
 */
int cable_aesgcm_open(const uint8_t key[CABLE_AESGCM_KEY_LEN],
    const uint8_t nonce[CABLE_AESGCM_NONCE_LEN], const uint8_t *ad, size_t ad_len,
    const uint8_t *ct, size_t ct_len, uint8_t *out);

#endif

/*
 * The transport "Crypter" after the handshake (hybrid-protocol.md §6): AES-256-GCM per direction,
 * nonce = 8 zero bytes || uint32_BE(counter), empty AAD, 32-byte padding granularity.
 */
#ifndef CABLE_CRYPTER_H
#define CABLE_CRYPTER_H

#include <stddef.h>
#include <stdint.h>

#define CABLE_CRYPTER_KEY_LEN 32
#define CABLE_CRYPTER_TAG_LEN 16
#define CABLE_CRYPTER_PADDING 32
/* Chrome refuses counters above 2^24 - 1; so do we, in both directions. */
#define CABLE_CRYPTER_MAX_COUNTER ((UINT32_C(1) << 24) - 1)
/* Largest ciphertext accepted or produced: Chrome's 1 MiB limit for one tunnel message. */
#define CABLE_CRYPTER_MAX_MESSAGE ((size_t)1 << 20)

struct cable_crypter;

/* Copies both keys; NULL on OOM or a NULL key. */
struct cable_crypter *cable_crypter_new(const uint8_t read_key[CABLE_CRYPTER_KEY_LEN],
    const uint8_t write_key[CABLE_CRYPTER_KEY_LEN]);
/* Wipes the keys and frees; accepts NULL, sets *c to NULL. */
void cable_crypter_free(struct cable_crypter **c);

/*
 * Pads pt (zeros, last byte = pad count, total a multiple of 32) and encrypts it under the write
 * key and counter; *out (caller frees) receives padded_len + 16 bytes. The write counter advances
 * on success. CABLE_ERR_COUNTER when the counter is exhausted, CABLE_ERR_TOO_BIG when the result
 * would exceed CABLE_CRYPTER_MAX_MESSAGE.
 */
int cable_crypter_encrypt(struct cable_crypter *c, const uint8_t *pt, size_t pt_len, uint8_t **out,
    size_t *out_len);

/*
 * Decrypts one message under the read key and counter and strips the padding; *out (caller frees,
 * may be zero-length but non-NULL) receives the plaintext. The read counter advances only when the
 * AEAD tag verifies. Errors: CABLE_ERR_TOO_BIG (longer than CABLE_CRYPTER_MAX_MESSAGE),
 * CABLE_ERR_AUTH (shorter than a tag, altered, replayed, reordered, wrong key; counter unchanged),
 * CABLE_ERR_COUNTER (exhausted), CABLE_ERR_PADDING (authentic, but the padding is invalid; the
 * counter has advanced, as in Chrome, and the caller must close the session).
 */
int cable_crypter_decrypt(struct cable_crypter *c, const uint8_t *ct, size_t ct_len, uint8_t **out,
    size_t *out_len);

/* The padded length for a plaintext of len bytes: round_up(len + 1, 32). */
size_t cable_crypter_padded_len(size_t len);
/*
 * Strips transport padding in place: reads the last byte z, requires z + 1 <= len, and sets
 * *unpadded_len = len - z - 1. CABLE_ERR_PADDING for empty input or an overlong z. Pad bytes are
 * not required to be zero (Chrome does not check them).
 */
int cable_crypter_unpad(const uint8_t *buf, size_t len, size_t *unpadded_len);

/* The next counters (for diagnostics and tests). */
uint32_t cable_crypter_read_counter(const struct cable_crypter *c);
uint32_t cable_crypter_write_counter(const struct cable_crypter *c);

#endif

/*
 * The caBLE v2 Noise handshakes (hybrid-protocol.md §5): KNpsk0 for QR sessions (prologue 01) and
 * NKpsk0 for linked sessions (prologue 00), P-256 / AES-256-GCM / SHA-256, both roles.
 */
#ifndef CABLE_NOISE_H
#define CABLE_NOISE_H

#include <stddef.h>
#include <stdint.h>

#include "cable/crypter.h"
#include "cable/env.h"
#include "cable/p256.h"

#define CABLE_NOISE_PSK_LEN 32
#define CABLE_NOISE_HASH_LEN 32
/* Both handshake messages: an uncompressed ephemeral point (65) and an empty payload's tag (16). */
#define CABLE_NOISE_MSG_LEN 81

enum cable_noise_pattern {
	CABLE_NOISE_KNPSK0 = 1, /* QR: the initiator's static key is known to the responder */
	CABLE_NOISE_NKPSK0 = 2, /* linked: the responder's static key is known to the initiator */
};

enum cable_noise_role {
	CABLE_NOISE_INITIATOR = 1, /* the desktop: writes the first message */
	CABLE_NOISE_RESPONDER = 2, /* the phone: reads the first message, writes the response */
};

struct cable_noise;

struct cable_noise *cable_noise_new(void);
/* Wipes every secret the object still holds and frees it; accepts NULL, sets *n to NULL. */
void cable_noise_free(struct cable_noise **n);

/*
 * Starts a handshake on a fresh object. Which static key is needed depends on pattern and role:
 *   KNpsk0 initiator: s  = the desktop's QR identity key pair (rs must be NULL)
 *   KNpsk0 responder: rs = the desktop's QR identity public key, uncompressed (s must be NULL)
 *   NKpsk0 initiator: rs = the phone's identity public key from linking info (s must be NULL)
 *   NKpsk0 responder: s  = the phone's identity key pair (rs must be NULL)
 * The PSK and key material are copied. CABLE_ERR_ARG on a wrong combination, CABLE_ERR_POINT when
 * rs is not a valid point, CABLE_ERR_STATE when the object was already started.
 */
int cable_noise_start(struct cable_noise *n, enum cable_noise_pattern pattern,
    enum cable_noise_role role, const uint8_t psk[CABLE_NOISE_PSK_LEN],
    const struct cable_p256_key *s, const uint8_t rs[CABLE_P256_PUB_LEN]);

/*
 * Writes this side's handshake message (initiator: first; responder: after reading the first).
 * The ephemeral key comes from env. Any failure other than CABLE_ERR_STATE/CABLE_ERR_ARG ends the
 * handshake: the object wipes its secrets and refuses everything afterwards (CABLE_ERR_STATE).
 */
int cable_noise_write_message(struct cable_noise *n, const struct cable_env *env,
    uint8_t out[CABLE_NOISE_MSG_LEN]);

/*
 * Reads the peer's handshake message (responder: the first; initiator: the response). Errors:
 * CABLE_ERR_HANDSHAKE_LENGTH (not exactly 81 bytes), CABLE_ERR_POINT (the ephemeral key is not a
 * valid uncompressed point), CABLE_ERR_AUTH (the tag does not verify: wrong PSK, wrong keys or
 * altered bytes). Every such failure ends the handshake as for write.
 */
int cable_noise_read_message(struct cable_noise *n, const uint8_t *msg, size_t len);

/* True once both messages have been processed (until split). */
int cable_noise_is_complete(const struct cable_noise *n);

/*
 * Split (§5.2): (k1, k2) = HKDF(ck, empty). The initiator writes with k1 and reads with k2, the
 * responder the reverse. Returns a new crypter holding this side's keys and wipes the chaining
 * key; afterwards only cable_noise_handshake_hash still works.
 */
int cable_noise_split(struct cable_noise *n, struct cable_crypter **crypter);

/* The final handshake hash h (signed by linking info), available after the handshake completes. */
int cable_noise_handshake_hash(const struct cable_noise *n, uint8_t out[CABLE_NOISE_HASH_LEN]);

#endif

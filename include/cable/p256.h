/* P-256 helpers on OpenSSL 3: key generation and derivation, point encodings, ECDH. */
#ifndef CABLE_P256_H
#define CABLE_P256_H

#include <stddef.h>
#include <stdint.h>

#include "cable/env.h"

#define CABLE_P256_PRIV_LEN 32
#define CABLE_P256_PUB_LEN 65  /* uncompressed: 04 || X || Y */
#define CABLE_P256_COMP_LEN 33 /* compressed: 02/03 || X */
#define CABLE_P256_ECDH_LEN 32 /* shared secret: the X coordinate */

/* A key pair held as raw bytes; wipe with cable_p256_key_wipe. */
struct cable_p256_key {
	uint8_t priv[CABLE_P256_PRIV_LEN];
	uint8_t pub[CABLE_P256_PUB_LEN];
};

/* A fresh key from the caller's random source (rejection-sampled scalar in [1, n-1]). */
int cable_p256_generate(const struct cable_env *env, struct cable_p256_key *key);
/* BoringSSL's EC_KEY_derive_from_secret for P-256 (HKDF "derive EC key P-256", 48 bytes mod n). */
int cable_p256_derive_from_secret(const uint8_t *secret, size_t secret_len, struct cable_p256_key *key);
/* Rebuilds the public key from a private scalar (rejects 0 and values >= n). */
int cable_p256_from_private(const uint8_t priv[CABLE_P256_PRIV_LEN], struct cable_p256_key *key);
void cable_p256_key_wipe(struct cable_p256_key *key);

/* Point encodings; both reject points not on the curve (CABLE_ERR_POINT). */
int cable_p256_compress(const uint8_t pub[CABLE_P256_PUB_LEN], uint8_t out[CABLE_P256_COMP_LEN]);
int cable_p256_decompress(const uint8_t comp[CABLE_P256_COMP_LEN], uint8_t out[CABLE_P256_PUB_LEN]);
/* Checks an uncompressed point. */
int cable_p256_check_public(const uint8_t pub[CABLE_P256_PUB_LEN]);

/* ECDH: the X coordinate of priv * peer. Rejects invalid peer points. */
int cable_p256_ecdh(const struct cable_p256_key *key, const uint8_t peer[CABLE_P256_PUB_LEN],
    uint8_t out[CABLE_P256_ECDH_LEN]);

/* ECDSA-SHA256 over msg, DER signature into sig (up to 72 bytes), for authenticators. */
int cable_p256_sign(const struct cable_p256_key *key, const uint8_t *msg, size_t msg_len,
    uint8_t *sig, size_t *sig_len);
/* Verifies a DER ECDSA-SHA256 signature; 0 when valid, CABLE_ERR_AUTH when not. */
int cable_p256_verify(const uint8_t pub[CABLE_P256_PUB_LEN], const uint8_t *msg, size_t msg_len,
    const uint8_t *sig, size_t sig_len);

#endif

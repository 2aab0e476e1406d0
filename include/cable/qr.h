/*
 * The FIDO:/ QR code (hybrid §1): base-10 digit encoding, the CBOR payload (keys 0..5), the URL,
 * and the desktop's 48-byte QR key (32-byte identity seed || 16-byte QR secret).
 */
#ifndef CABLE_QR_H
#define CABLE_QR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cable/env.h"
#include "cable/kdf.h"
#include "cable/p256.h"

#define CABLE_QR_SEED_LEN 32
#define CABLE_QR_KEY_LEN 48 /* seed || secret */
#define CABLE_QR_PREFIX "FIDO:/"
#define CABLE_QR_PREFIX_LEN 6
/* Caps on untrusted input: QR version 40 holds at most 7089 numeric characters. */
#define CABLE_DIGITS_MAX 7089
#define CABLE_QR_URL_MAX (CABLE_QR_PREFIX_LEN + CABLE_DIGITS_MAX)
/* The number of assigned tunnel domains we know (cable.ua5v.com, cable.auth.com). */
#define CABLE_QR_KNOWN_DOMAINS 2

/* Why a digit string was rejected, for messages (the return value is always CABLE_ERR_DIGITS). */
enum cable_digits_fault {
	CABLE_DIGITS_OK = 0,
	CABLE_DIGITS_NON_DIGIT,    /* a character other than 0-9 */
	CABLE_DIGITS_BAD_LENGTH,   /* remainder after 17-digit groups is not 0,3,5,8,10,13,15 */
	CABLE_DIGITS_OUT_OF_RANGE, /* a group's value does not fit in its byte count */
	CABLE_DIGITS_TOO_LONG,     /* more than CABLE_DIGITS_MAX digits */
};

/* Number of digits for len bytes: 17 per 7-byte chunk, then 3/5/8/10/13/15 for 1..6 bytes. */
size_t cable_digits_len(size_t len);
/* Encodes bytes as decimal digits (Chrome's BytesToDigits); *out is NUL-terminated, caller frees. */
int cable_digits_encode(const uint8_t *in, size_t len, char **out);
/*
 * Strict decode (Chrome's DigitsToBytes). Checks, in this order: length cap, every character a
 * digit, remainder length, each group's range. Fails with CABLE_ERR_DIGITS (and *fault, which
 * may be NULL, says why). On success *out (caller frees; non-NULL even for 0 bytes) and *out_len.
 */
int cable_digits_decode(const char *in, size_t len, uint8_t **out, size_t *out_len,
    enum cable_digits_fault *fault);

/* The request-type hint in QR key 5. */
enum cable_request_type {
	CABLE_REQUEST_GA = 0, /* "ga": getAssertion, also the default for anything unknown */
	CABLE_REQUEST_MC,     /* "mc": makeCredential */
	CABLE_REQUEST_DCP,    /* "dcp": digital-credential presentation */
};
/* "ga", "mc" or "dcp". */
const char *cable_request_type_str(enum cable_request_type t);
/* Maps a hint string to a type; unknown, empty or NULL strings give CABLE_REQUEST_GA. */
enum cable_request_type cable_request_type_from_str(const char *s, size_t len);

/* The decoded QR payload. Secret material: release with cable_qr_wipe. */
struct cable_qr {
	uint8_t public_key[CABLE_P256_COMP_LEN]; /* key 0: compressed identity key */
	uint8_t public_key_full[CABLE_P256_PUB_LEN]; /* key 0, decompressed (set by parse and init) */
	uint8_t secret[CABLE_QR_SECRET_LEN];     /* key 1 */
	/* key 2: assigned domains the desktop knows; Chrome's default 0 when absent. */
	bool has_num_known_domains;
	int64_t num_known_domains;
	/* key 3: seconds since the epoch. Chrome ignores this key; we report it only when a uint. */
	bool has_time;
	uint64_t time;
	/* key 4: the desktop can store linking info. */
	bool has_supports_linking;
	bool supports_linking;
	/* key 5: hint; GA when absent or unknown. */
	enum cable_request_type request_type;
};

/*
 * Makes a desktop's 48-byte QR key (seed || secret) from the caller's random source.
 * The result is secret: wipe it.
 */
int cable_qr_key_generate(const struct cable_env *env, uint8_t key[CABLE_QR_KEY_LEN]);
/* The QR identity key pair from the seed half (BoringSSL EC_KEY_derive_from_secret). */
int cable_qr_key_identity(const uint8_t key[CABLE_QR_KEY_LEN], struct cable_p256_key *identity);
/*
 * Fills a payload as a desktop shows it: identity public key, secret, 2 known domains, the time
 * from env, supports_linking as given (key 4 always written, as Chrome does), the request type.
 */
int cable_qr_init(struct cable_qr *qr, const uint8_t key[CABLE_QR_KEY_LEN],
    const struct cable_env *env, enum cable_request_type type, bool supports_linking);

/*
 * The payload as CTAP2 canonical CBOR: keys 0 and 1 always, 2, 3 and 4 when their has_ flag is
 * set, and 5 always. Key 6 is never written (older Play services reject it, hybrid §1.2).
 * *out: caller frees (it holds the secret: wipe it first).
 */
int cable_qr_encode(const struct cable_qr *qr, uint8_t **out, size_t *out_len);
/*
 * Parses untrusted payload CBOR as Chrome's phone does: a canonical map; key 0 a 33-byte byte
 * string that decompresses to a valid point; key 1 exactly 16 bytes; key 2 an integer if
 * present; key 3 ignored unless a uint; key 4 a bool if present; key 5 a text string if present
 * (unknown text gives "ga"); all other keys ignored. Errors: CABLE_ERR_CBOR*, CABLE_ERR_MISSING,
 * CABLE_ERR_CBOR_TYPE, CABLE_ERR_LENGTH, CABLE_ERR_POINT.
 */
int cable_qr_decode(const uint8_t *cbor, size_t len, struct cable_qr *out);

/* "FIDO:/" + digits of cable_qr_encode(qr). Caller frees (and wipes) *url. */
int cable_qr_to_url(const struct cable_qr *qr, char **url);
/*
 * Parses a FIDO:/ URL (prefix matched without regard to case; the rest must be digits). Errors:
 * CABLE_ERR_QR_PREFIX, CABLE_ERR_DIGITS (with *fault, may be NULL), then those of cable_qr_decode.
 */
int cable_qr_from_url(const char *url, size_t len, struct cable_qr *out,
    enum cable_digits_fault *fault);

/* Tunnel ID and EID key of a payload (Derive types 2 and 1 over the secret). */
int cable_qr_tunnel_id(const struct cable_qr *qr, uint8_t out[16]);
int cable_qr_eid_key(const struct cable_qr *qr, uint8_t out[CABLE_EID_KEY_LEN]);

/* Wipes the whole struct. */
void cable_qr_wipe(struct cable_qr *qr);

#endif

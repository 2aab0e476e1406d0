/*
 * Messages after the handshake (hybrid-protocol.md §7, §9.1): the phone's post-handshake message
 * (revision 1 and the padded revision 0), revision-1 framing, update messages and linking info
 * with its handshake signature.
 */
#ifndef CABLE_MESSAGES_H
#define CABLE_MESSAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cable/noise.h"
#include "cable/p256.h"

/* ---- Framing (revision 1, §7.2): the first plaintext byte is the message type. ---- */

enum cable_frame_type {
	CABLE_FRAME_SHUTDOWN = 0, /* desktop -> phone, empty */
	CABLE_FRAME_CTAP = 1,     /* command || CBOR, or status || CBOR */
	CABLE_FRAME_UPDATE = 2,   /* CBOR map {0: padding, 1: linking info} */
	CABLE_FRAME_JSON = 3,     /* digital-credential JSON */
};
#define CABLE_FRAME_TYPE_MAX CABLE_FRAME_JSON

/* type || data, in a new buffer (caller frees). Shutdown frames must be empty. */
int cable_frame_encode(uint8_t type, const uint8_t *data, size_t len, uint8_t **out, size_t *out_len);
/* 01 || command_or_status || cbor. */
int cable_frame_encode_ctap(uint8_t command, const uint8_t *cbor, size_t cbor_len, uint8_t **out,
    size_t *out_len);
/*
 * Splits one decrypted, unpadded plaintext into its type and payload (pointing into pt).
 * CABLE_ERR_FRAME_EMPTY for an empty plaintext, CABLE_ERR_FRAME_TYPE for a type above 3.
 */
int cable_frame_parse(const uint8_t *pt, size_t len, uint8_t *type, const uint8_t **data,
    size_t *data_len);

enum cable_side {
	CABLE_SIDE_DESKTOP = 1,
	CABLE_SIDE_PHONE = 2,
};

/*
 * The §7.2 rules for one incoming frame of a known type. pending is the type of the request this
 * receiver is waiting on an answer to (desktop: CABLE_FRAME_CTAP or _JSON it sent; phone: the
 * request it has not answered yet), or -1 for none. Desktop: a shutdown from the phone gives
 * CABLE_ERR_PEER_SHUTDOWN; a CTAP or JSON reply with no request outstanding or of the other type
 * gives CABLE_ERR_UNEXPECTED. Phone: a request while one is outstanding gives
 * CABLE_ERR_UNEXPECTED. Updates are always allowed (their content is checked separately).
 */
int cable_frame_check_incoming(enum cable_side receiver, int pending, uint8_t type);

/* ---- Linking info (§9.1) ---- */

#define CABLE_LINKING_CONTACT_ID_MAX 1024
#define CABLE_LINKING_ID_MAX 64
#define CABLE_LINKING_SECRET_MIN 16
#define CABLE_LINKING_SECRET_MAX 64
#define CABLE_LINKING_NAME_MAX 512 /* bytes of UTF-8, without the NUL */
#define CABLE_LINKING_SIGNATURE_LEN 32

struct cable_linking_info {
	uint8_t contact_id[CABLE_LINKING_CONTACT_ID_MAX]; /* key 1 */
	size_t contact_id_len;
	uint8_t link_id[CABLE_LINKING_ID_MAX]; /* key 2: pairing ID, 8 bytes (10 in older Chrome) */
	size_t link_id_len;
	uint8_t secret[CABLE_LINKING_SECRET_MAX]; /* key 3: link secret (32 from Chrome) */
	size_t secret_len;
	uint8_t peer_public[CABLE_P256_PUB_LEN];               /* key 4: phone identity key */
	char name[CABLE_LINKING_NAME_MAX + 1];                 /* key 5, NUL-terminated */
	uint8_t signature[CABLE_LINKING_SIGNATURE_LEN];        /* key 6 */
	bool play_services;                                    /* key 999 = true */
};

/*
 * Parses a linking-info map from CBOR bytes (canonical form required). Keys 1-4 and 6 must be
 * byte strings, key 5 a text string, key 4 a valid 65-byte uncompressed point, key 6 32 bytes,
 * lengths within the caps above; anything else gives CABLE_ERR_LINKING. The signature is not
 * checked here (cable_linking_verify).
 */
int cable_linking_parse(const uint8_t *cbor, size_t len, struct cable_linking_info *out);
/* Canonical CBOR of the map (keys 1-6, and 999 when play_services), caller frees. */
int cable_linking_encode(const struct cable_linking_info *info, uint8_t **out, size_t *out_len);
/* Wipes the secret and everything else. */
void cable_linking_clear(struct cable_linking_info *info);

/*
 * The handshake signature: HMAC-SHA256(key = ECDH-X(phone identity private key, desktop QR
 * identity public key), msg = handshake hash). The phone computes it with sign; the desktop checks
 * it with verify, using its QR identity key and the phone key from key 4 (constant-time compare;
 * CABLE_ERR_LINKING_SIGNATURE on mismatch or an invalid point).
 */
int cable_linking_sign(const struct cable_p256_key *phone_identity,
    const uint8_t desktop_public[CABLE_P256_PUB_LEN], const uint8_t hash[CABLE_NOISE_HASH_LEN],
    uint8_t signature[CABLE_LINKING_SIGNATURE_LEN]);
int cable_linking_verify(const struct cable_p256_key *qr_identity,
    const uint8_t phone_public[CABLE_P256_PUB_LEN], const uint8_t hash[CABLE_NOISE_HASH_LEN],
    const uint8_t signature[CABLE_LINKING_SIGNATURE_LEN]);

/* ---- Post-handshake message (§7.1) ---- */

#define CABLE_FEATURE_CTAP 0x1u /* "ctap" */
#define CABLE_FEATURE_DC 0x2u   /* "dc": digital credentials */

struct cable_post_handshake {
	int revision;        /* 1: bare CBOR map; 0: padded map (no framing afterwards) */
	uint8_t *getinfo;    /* key 1: getInfo response CBOR (no status byte); NULL when absent */
	size_t getinfo_len;
	unsigned features;   /* CABLE_FEATURE_*; key 3 absent means CTAP only */
	bool has_linking;    /* key 2, only reported in QR sessions */
	struct cable_linking_info linking;
};

/*
 * Parses the decrypted (transport-unpadded) post-handshake plaintext. Revision detection: exactly
 * one canonical CBOR item is revision 1; otherwise the revision-0 padded map (16-bit LE trailer,
 * then 8-bit trailer). Errors: CABLE_ERR_POST_HANDSHAKE (neither form, not a map, wrong types,
 * getInfo not a CBOR map, getInfo present without "ctap"), CABLE_ERR_NO_GETINFO (CTAP offered but
 * key 1 missing), CABLE_ERR_LINKING (QR session and key 2 is a map that is not valid linking info;
 * in linked sessions key 2 is only type-checked and then ignored). Release with
 * cable_post_handshake_clear.
 */
int cable_post_handshake_parse(const uint8_t *pt, size_t len, bool qr_session,
    struct cable_post_handshake *out);
void cable_post_handshake_clear(struct cable_post_handshake *ph);
/*
 * Revision-1 message as Chrome's phone sends it: {1: getinfo, 3: [features]} (key 1 only with
 * CABLE_FEATURE_CTAP, features sorted). Caller frees.
 */
int cable_post_handshake_build(const uint8_t *getinfo, size_t getinfo_len, unsigned features,
    uint8_t **out, size_t *out_len);

/* Revision-0 padded map: cbor || zeros || uint16_LE(zeros), total a multiple of 512. */
#define CABLE_PADDED_MAP_GRANULARITY 512
int cable_padded_map_encode(const uint8_t *cbor, size_t len, uint8_t **out, size_t *out_len);
/*
 * Finds the CBOR map inside a revision-0 padded message: the 16-bit trailer first, then the 8-bit
 * one (before M99, granularity 256). *cbor_len is the length of the map at the start of in.
 * CABLE_ERR_POST_HANDSHAKE when neither gives exactly one canonical CBOR map.
 */
int cable_padded_map_decode(const uint8_t *in, size_t len, size_t *cbor_len);

/* ---- Update message (§7.3, frame type 2) ---- */

struct cable_update {
	bool has_linking;
	struct cable_linking_info linking;
};

/*
 * Parses the payload of an update frame (after the type byte): a canonical CBOR map whose key 0
 * is ignored and whose key 1, when present, must be linking info. CABLE_ERR_UPDATE for bad CBOR,
 * a non-map or a non-map key 1; CABLE_ERR_LINKING for invalid linking info.
 */
int cable_update_parse(const uint8_t *data, size_t len, struct cable_update *out);
/*
 * The whole update frame plaintext (02 || CBOR {0: zeros, 1: linking}) padded as Chrome's phone
 * pads it, so that its ciphertext is exactly 528 bytes. linking may be NULL. CABLE_ERR_TOO_BIG when
 * the linking info does not fit.
 */
int cable_update_build(const struct cable_linking_info *linking, uint8_t **out, size_t *out_len);
#define CABLE_UPDATE_CIPHERTEXT_LEN 528

#endif

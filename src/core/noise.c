/* Noise KNpsk0 / NKpsk0 over P-256, AES-256-GCM and SHA-256, as Chrome's caBLE v2 runs them. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "aes-gcm.h"
#include "cable/bytes.h"
#include "cable/crypto.h"
#include "cable/error.h"
#include "cable/noise.h"

#define HASH_LEN CABLE_SHA256_LEN
#define TAG_LEN CABLE_AESGCM_TAG_LEN

enum noise_state {
	ST_NEW = 0,
	ST_WRITE_FIRST,     /* initiator, started */
	ST_READ_FIRST,      /* responder, started */
	ST_READ_RESPONSE,   /* initiator, first message sent */
	ST_WRITE_RESPONSE,  /* responder, first message read */
	ST_COMPLETE,        /* both messages done, keys not yet split */
	ST_SPLIT,           /* keys handed out; only the hash remains */
	ST_FAILED,          /* a failed handshake cannot be continued */
};

struct cable_noise {
	enum noise_state state;
	enum cable_noise_pattern pattern;
	enum cable_noise_role role;
	uint8_t ck[HASH_LEN];
	uint8_t h[HASH_LEN];
	uint8_t k[CABLE_AESGCM_KEY_LEN];
	uint64_t nonce; /* Noise's n: reset by every MixKey */
	bool has_s;
	struct cable_p256_key s; /* local static */
	bool has_rs;
	uint8_t rs[CABLE_P256_PUB_LEN]; /* remote static */
	bool has_e;
	struct cable_p256_key e; /* local ephemeral */
	uint8_t re[CABLE_P256_PUB_LEN];
};

/* Both names are 31 characters; Noise pads names shorter than HASHLEN with zeros. */
static const char kn_name[] = "Noise_KNpsk0_P256_AESGCM_SHA256";
static const char nk_name[] = "Noise_NKpsk0_P256_AESGCM_SHA256";

struct cable_noise *
cable_noise_new(void)
{
	return calloc(1, sizeof(struct cable_noise));
}

static void
wipe_secrets(struct cable_noise *n)
{
	cable_wipe(n->ck, sizeof(n->ck));
	cable_wipe(n->k, sizeof(n->k));
	cable_p256_key_wipe(&n->s);
	cable_p256_key_wipe(&n->e);
	n->has_s = false;
	n->has_e = false;
}

void
cable_noise_free(struct cable_noise **n)
{
	if (n == NULL || *n == NULL)
		return;
	wipe_secrets(*n);
	cable_wipe(*n, sizeof(**n));
	free(*n);
	*n = NULL;
}

/* Ends the handshake for good: every secret and the transcript go. */
static void
fail(struct cable_noise *n)
{
	wipe_secrets(n);
	cable_wipe(n->h, sizeof(n->h));
	cable_wipe(n->re, sizeof(n->re));
	n->state = ST_FAILED;
}

static int
mix_hash(struct cable_noise *n, const uint8_t *data, size_t len)
{
	return cable_sha256(n->h, sizeof(n->h), data, len, n->h);
}

/* (ck, k) = HKDF(ck, ikm); n = 0. */
static int
mix_key(struct cable_noise *n, const uint8_t *ikm, size_t ikm_len)
{
	uint8_t okm[2 * HASH_LEN];
	int r;

	if ((r = cable_hkdf_sha256(n->ck, sizeof(n->ck), ikm, ikm_len, NULL, 0, okm, sizeof(okm))) != 0)
		goto out;
	memcpy(n->ck, okm, HASH_LEN);
	memcpy(n->k, okm + HASH_LEN, sizeof(n->k));
	n->nonce = 0;
out:
	cable_wipe(okm, sizeof(okm));
	return r;
}

/* (ck, temp_h, k) = HKDF(ck, ikm) with 96 bytes; MixHash(temp_h); n = 0. */
static int
mix_key_and_hash(struct cable_noise *n, const uint8_t *ikm, size_t ikm_len)
{
	uint8_t okm[3 * HASH_LEN];
	int r;

	if ((r = cable_hkdf_sha256(n->ck, sizeof(n->ck), ikm, ikm_len, NULL, 0, okm, sizeof(okm))) != 0)
		goto out;
	memcpy(n->ck, okm, HASH_LEN);
	if ((r = mix_hash(n, okm + HASH_LEN, HASH_LEN)) != 0)
		goto out;
	memcpy(n->k, okm + 2 * HASH_LEN, sizeof(n->k));
	n->nonce = 0;
out:
	cable_wipe(okm, sizeof(okm));
	return r;
}

/* Standard Noise nonce: 4 zero bytes || uint64_BE(n). Always zero here: each use follows a MixKey. */
static void
noise_nonce(uint64_t counter, uint8_t nonce[CABLE_AESGCM_NONCE_LEN])
{
	memset(nonce, 0, CABLE_AESGCM_NONCE_LEN);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (56 - 8 * i));
}

/* EncryptAndHash of the empty payload: the 16-byte tag, with ad = h. */
static int
encrypt_and_hash_empty(struct cable_noise *n, uint8_t tag[TAG_LEN])
{
	uint8_t nonce[CABLE_AESGCM_NONCE_LEN];
	int r;

	noise_nonce(n->nonce, nonce);
	if ((r = cable_aesgcm_seal(n->k, nonce, n->h, sizeof(n->h), NULL, 0, tag)) != 0)
		return r;
	n->nonce++;
	return mix_hash(n, tag, TAG_LEN);
}

/* DecryptAndHash that must yield the empty payload; h changes only on success. */
static int
decrypt_and_hash_empty(struct cable_noise *n, const uint8_t tag[TAG_LEN])
{
	uint8_t nonce[CABLE_AESGCM_NONCE_LEN];
	int r;

	noise_nonce(n->nonce, nonce);
	if ((r = cable_aesgcm_open(n->k, nonce, n->h, sizeof(n->h), tag, TAG_LEN, NULL)) != 0)
		return r;
	n->nonce++;
	return mix_hash(n, tag, TAG_LEN);
}

/* MixKey(DH(key, peer)), wiping the shared secret. */
static int
mix_dh(struct cable_noise *n, const struct cable_p256_key *key, const uint8_t peer[CABLE_P256_PUB_LEN])
{
	uint8_t dh[CABLE_P256_ECDH_LEN];
	int r;

	if ((r = cable_p256_ecdh(key, peer, dh)) == 0)
		r = mix_key(n, dh, sizeof(dh));
	cable_wipe(dh, sizeof(dh));
	return r;
}

int
cable_noise_start(struct cable_noise *n, enum cable_noise_pattern pattern,
    enum cable_noise_role role, const uint8_t psk[CABLE_NOISE_PSK_LEN],
    const struct cable_p256_key *s, const uint8_t rs[CABLE_P256_PUB_LEN])
{
	struct cable_p256_key check;
	const char *name;
	uint8_t prologue;
	bool want_s;
	int r = CABLE_ERR_ARG;

	memset(&check, 0, sizeof(check));
	if (n == NULL || psk == NULL)
		return CABLE_ERR_ARG;
	if (n->state != ST_NEW)
		return CABLE_ERR_STATE;
	if (pattern != CABLE_NOISE_KNPSK0 && pattern != CABLE_NOISE_NKPSK0)
		return CABLE_ERR_ARG;
	if (role != CABLE_NOISE_INITIATOR && role != CABLE_NOISE_RESPONDER)
		return CABLE_ERR_ARG;
	/* KN: the initiator has a static key; NK: the responder has one. The other side knows it. */
	want_s = (pattern == CABLE_NOISE_KNPSK0) == (role == CABLE_NOISE_INITIATOR);
	if (want_s ? (s == NULL || rs != NULL) : (s != NULL || rs == NULL))
		return CABLE_ERR_ARG;
	if (want_s) {
		/* A key pair whose halves disagree would give a transcript the peer cannot match. */
		if (cable_p256_from_private(s->priv, &check) != 0 ||
		    !cable_ct_equal(check.pub, s->pub, CABLE_P256_PUB_LEN))
			goto out;
	} else if ((r = cable_p256_check_public(rs)) != 0) {
		goto out;
	}

	n->pattern = pattern;
	n->role = role;
	name = pattern == CABLE_NOISE_KNPSK0 ? kn_name : nk_name;
	prologue = pattern == CABLE_NOISE_KNPSK0 ? 0x01 : 0x00;
	memset(n->h, 0, sizeof(n->h));
	memcpy(n->h, name, strlen(name));
	memcpy(n->ck, n->h, sizeof(n->ck));
	if (want_s) {
		n->s = *s;
		n->has_s = true;
	} else {
		memcpy(n->rs, rs, sizeof(n->rs));
		n->has_rs = true;
	}
	if ((r = mix_hash(n, &prologue, 1)) != 0 ||
	    (r = mix_hash(n, want_s ? n->s.pub : n->rs, CABLE_P256_PUB_LEN)) != 0 ||
	    (r = mix_key_and_hash(n, psk, CABLE_NOISE_PSK_LEN)) != 0) {
		fail(n);
		goto out;
	}
	n->state = role == CABLE_NOISE_INITIATOR ? ST_WRITE_FIRST : ST_READ_FIRST;
	r = 0;
out:
	cable_p256_key_wipe(&check);
	return r;
}

int
cable_noise_write_message(struct cable_noise *n, const struct cable_env *env,
    uint8_t out[CABLE_NOISE_MSG_LEN])
{
	uint8_t msg[CABLE_NOISE_MSG_LEN];
	int r;

	if (n == NULL || out == NULL || env == NULL || env->random == NULL)
		return CABLE_ERR_ARG;
	if (n->state != ST_WRITE_FIRST && n->state != ST_WRITE_RESPONSE)
		return CABLE_ERR_STATE;
	if ((r = cable_p256_generate(env, &n->e)) != 0)
		goto out;
	n->has_e = true;
	/* The e token in a PSK handshake: MixHash(e.pub), then MixKey(e.pub). */
	if ((r = mix_hash(n, n->e.pub, CABLE_P256_PUB_LEN)) != 0 ||
	    (r = mix_key(n, n->e.pub, CABLE_P256_PUB_LEN)) != 0)
		goto out;
	if (n->state == ST_WRITE_FIRST) {
		/* NKpsk0 "es": the initiator's ephemeral with the responder's static. */
		if (n->pattern == CABLE_NOISE_NKPSK0 && (r = mix_dh(n, &n->e, n->rs)) != 0)
			goto out;
	} else {
		/* "ee", then for KNpsk0 "se": the responder's ephemeral with the initiator's static. */
		if ((r = mix_dh(n, &n->e, n->re)) != 0)
			goto out;
		if (n->pattern == CABLE_NOISE_KNPSK0 && (r = mix_dh(n, &n->e, n->rs)) != 0)
			goto out;
	}
	memcpy(msg, n->e.pub, CABLE_P256_PUB_LEN);
	if ((r = encrypt_and_hash_empty(n, msg + CABLE_P256_PUB_LEN)) != 0)
		goto out;
	if (n->state == ST_WRITE_FIRST) {
		n->state = ST_READ_RESPONSE;
	} else {
		/* The responder is done: its ephemeral and static keys are no longer needed. */
		cable_p256_key_wipe(&n->e);
		cable_p256_key_wipe(&n->s);
		n->has_e = n->has_s = false;
		n->state = ST_COMPLETE;
	}
	memcpy(out, msg, sizeof(msg));
	r = 0;
out:
	if (r != 0)
		fail(n);
	return r;
}

int
cable_noise_read_message(struct cable_noise *n, const uint8_t *msg, size_t len)
{
	const uint8_t *tag;
	uint8_t ee[CABLE_P256_ECDH_LEN];
	int r;

	memset(ee, 0, sizeof(ee));
	if (n == NULL || (msg == NULL && len > 0))
		return CABLE_ERR_ARG;
	if (n->state != ST_READ_FIRST && n->state != ST_READ_RESPONSE)
		return CABLE_ERR_STATE;
	r = CABLE_ERR_HANDSHAKE_LENGTH;
	if (len != CABLE_NOISE_MSG_LEN)
		goto out;
	/* Check the point before it enters the transcript, so that any bad point is reported as such. */
	if ((r = cable_p256_check_public(msg)) != 0)
		goto out;
	memcpy(n->re, msg, CABLE_P256_PUB_LEN);
	tag = msg + CABLE_P256_PUB_LEN;
	if (n->state == ST_READ_FIRST) {
		if ((r = mix_hash(n, n->re, sizeof(n->re))) != 0 ||
		    (r = mix_key(n, n->re, sizeof(n->re))) != 0)
			goto out;
		/* NKpsk0 "es" seen from the responder: its static with the initiator's ephemeral. */
		if (n->pattern == CABLE_NOISE_NKPSK0 && (r = mix_dh(n, &n->s, n->re)) != 0)
			goto out;
		if ((r = decrypt_and_hash_empty(n, tag)) != 0)
			goto out;
		n->state = ST_WRITE_RESPONSE;
	} else {
		/* Chrome computes ee before touching the transcript; the mixing order is what counts. */
		if ((r = cable_p256_ecdh(&n->e, n->re, ee)) != 0)
			goto out;
		if ((r = mix_hash(n, n->re, sizeof(n->re))) != 0 ||
		    (r = mix_key(n, n->re, sizeof(n->re))) != 0 || (r = mix_key(n, ee, sizeof(ee))) != 0)
			goto out;
		/* KNpsk0 "se": the initiator's static with the responder's ephemeral. */
		if (n->pattern == CABLE_NOISE_KNPSK0 && (r = mix_dh(n, &n->s, n->re)) != 0)
			goto out;
		if ((r = decrypt_and_hash_empty(n, tag)) != 0)
			goto out;
		cable_p256_key_wipe(&n->e);
		cable_p256_key_wipe(&n->s);
		n->has_e = n->has_s = false;
		n->state = ST_COMPLETE;
	}
	r = 0;
out:
	cable_wipe(ee, sizeof(ee));
	if (r != 0)
		fail(n);
	return r;
}

int
cable_noise_is_complete(const struct cable_noise *n)
{
	return n != NULL && n->state == ST_COMPLETE;
}

int
cable_noise_split(struct cable_noise *n, struct cable_crypter **crypter)
{
	uint8_t okm[2 * HASH_LEN];
	struct cable_crypter *c = NULL;
	const uint8_t *k1 = okm, *k2 = okm + HASH_LEN;
	int r;

	if (n == NULL || crypter == NULL)
		return CABLE_ERR_ARG;
	if (n->state != ST_COMPLETE)
		return CABLE_ERR_STATE;
	if ((r = cable_hkdf_sha256(n->ck, sizeof(n->ck), NULL, 0, NULL, 0, okm, sizeof(okm))) != 0)
		goto out;
	/* The initiator (desktop) writes with k1 and reads with k2; the responder the reverse. */
	if (n->role == CABLE_NOISE_INITIATOR)
		c = cable_crypter_new(k2, k1);
	else
		c = cable_crypter_new(k1, k2);
	if (c == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	wipe_secrets(n);
	n->state = ST_SPLIT;
	*crypter = c;
	r = 0;
out:
	cable_wipe(okm, sizeof(okm));
	return r;
}

int
cable_noise_handshake_hash(const struct cable_noise *n, uint8_t out[CABLE_NOISE_HASH_LEN])
{
	if (n == NULL || out == NULL)
		return CABLE_ERR_ARG;
	if (n->state != ST_COMPLETE && n->state != ST_SPLIT)
		return CABLE_ERR_STATE;
	memcpy(out, n->h, CABLE_NOISE_HASH_LEN);
	return 0;
}

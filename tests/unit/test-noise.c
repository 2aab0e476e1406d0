/*
 * Unit tests: the Noise handshakes against a reference transcript written straight from
 * hybrid-protocol.md §5 (OpenSSL HMAC/SHA-256/AES-GCM, not the library's own helpers), and every
 * way a handshake message can be wrong.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "cable/crypter.h"
#include "cable/error.h"
#include "cable/noise.h"
#include "cable/p256.h"
#include "tv.h"

#define SEED_I 100 /* the initiator's random table */
#define SEED_R 200 /* the responder's */

static struct cable_p256_key desktop; /* QR identity key */
static struct cable_p256_key phone;   /* phone identity key (linked sessions) */
static struct cable_p256_key other;   /* an unrelated key */
static uint8_t psk[32], psk2[32];

static int
setup(void **state)
{
	(void)state;
	assert_int_equal(cable_p256_derive_from_secret((const uint8_t *)"desktop", 7, &desktop), 0);
	assert_int_equal(cable_p256_derive_from_secret((const uint8_t *)"phone", 5, &phone), 0);
	assert_int_equal(cable_p256_derive_from_secret((const uint8_t *)"other", 5, &other), 0);
	for (int i = 0; i < 32; i++) {
		psk[i] = (uint8_t)(0x40 + i);
		psk2[i] = psk[i];
	}
	psk2[31] ^= 1;
	return 0;
}

/* ---- The reference transcript ---- */

struct ref {
	uint8_t ck[32], h[32], k[32];
};

static void
ref_mix_hash(struct ref *r, const uint8_t *d, size_t n)
{
	uint8_t buf[32 + 96];
	assert_true(n <= 96);
	memcpy(buf, r->h, 32);
	memcpy(buf + 32, d, n);
	SHA256(buf, 32 + n, r->h);
}

/* Noise's HKDF(ck, ikm) with 2 or 3 outputs, from HMAC as the Noise spec defines it. */
static void
ref_hkdf(const uint8_t ck[32], const uint8_t *ikm, size_t n, uint8_t *out, int outputs)
{
	uint8_t prk[32], t[33];
	unsigned int len;

	assert_non_null(HMAC(EVP_sha256(), ck, 32, n ? ikm : (const uint8_t *)"", n, prk, &len));
	t[0] = 1;
	assert_non_null(HMAC(EVP_sha256(), prk, 32, t, 1, out, &len));
	for (int i = 1; i < outputs; i++) {
		memcpy(t, out + 32 * (i - 1), 32);
		t[32] = (uint8_t)(i + 1);
		assert_non_null(HMAC(EVP_sha256(), prk, 32, t, 33, out + 32 * i, &len));
	}
}

static void
ref_mix_key(struct ref *r, const uint8_t *ikm, size_t n)
{
	uint8_t out[64];
	ref_hkdf(r->ck, ikm, n, out, 2);
	memcpy(r->ck, out, 32);
	memcpy(r->k, out + 32, 32);
}

static void
ref_mix_dh(struct ref *r, const struct cable_p256_key *k, const uint8_t *peer)
{
	uint8_t dh[32];
	assert_int_equal(cable_p256_ecdh(k, peer, dh), 0);
	ref_mix_key(r, dh, 32);
}

/* EncryptAndHash(empty): AES-256-GCM, nonce all zero (n = 0 after MixKey), ad = h. */
static void
ref_encrypt_empty(struct ref *r, uint8_t tag[16])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t nonce[12] = {0}, dummy[16];
	int n;

	assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, r->k, nonce), 1);
	assert_int_equal(EVP_EncryptUpdate(ctx, NULL, &n, r->h, 32), 1);
	assert_int_equal(EVP_EncryptFinal_ex(ctx, dummy, &n), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag), 1);
	EVP_CIPHER_CTX_free(ctx);
	ref_mix_hash(r, tag, 16);
}

struct transcript {
	uint8_t m1[81], m2[81], h[32], k1[32], k2[32];
};

/* §5.2 (KNpsk0) and §5.3 (NKpsk0), one step after the other. */
static void
reference(enum cable_noise_pattern pattern, const uint8_t key[32], struct transcript *t)
{
	struct tv_env ei, er;
	struct cable_p256_key e_i, e_r;
	struct ref r;
	const char *name = pattern == CABLE_NOISE_KNPSK0 ? "Noise_KNpsk0_P256_AESGCM_SHA256"
							 : "Noise_NKpsk0_P256_AESGCM_SHA256";
	uint8_t prologue = pattern == CABLE_NOISE_KNPSK0 ? 1 : 0, okm[96];

	tv_env_init(&ei, SEED_I);
	tv_env_init(&er, SEED_R);
	assert_int_equal(cable_p256_generate(&ei.env, &e_i), 0);
	assert_int_equal(cable_p256_generate(&er.env, &e_r), 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(strlen(name), 31);
	memcpy(r.h, name, 31); /* zero-padded to 32 */
	memcpy(r.ck, r.h, 32);
	ref_mix_hash(&r, &prologue, 1);
	ref_mix_hash(&r, pattern == CABLE_NOISE_KNPSK0 ? desktop.pub : phone.pub, 65);
	/* MixKeyAndHash(psk) */
	ref_hkdf(r.ck, key, 32, okm, 3);
	memcpy(r.ck, okm, 32);
	ref_mix_hash(&r, okm + 32, 32);
	memcpy(r.k, okm + 64, 32);
	/* -> e (psk mode: MixKey(e.pub) too), [es], payload */
	ref_mix_hash(&r, e_i.pub, 65);
	ref_mix_key(&r, e_i.pub, 65);
	if (pattern == CABLE_NOISE_NKPSK0)
		ref_mix_dh(&r, &e_i, phone.pub);
	memcpy(t->m1, e_i.pub, 65);
	ref_encrypt_empty(&r, t->m1 + 65);
	/* <- e, ee, [se], payload */
	ref_mix_hash(&r, e_r.pub, 65);
	ref_mix_key(&r, e_r.pub, 65);
	ref_mix_dh(&r, &e_r, e_i.pub);
	if (pattern == CABLE_NOISE_KNPSK0)
		ref_mix_dh(&r, &e_r, desktop.pub);
	memcpy(t->m2, e_r.pub, 65);
	ref_encrypt_empty(&r, t->m2 + 65);
	memcpy(t->h, r.h, 32);
	ref_hkdf(r.ck, NULL, 0, okm, 2);
	memcpy(t->k1, okm, 32);
	memcpy(t->k2, okm + 32, 32);
}

/* ---- Helpers around the library ---- */

static struct cable_noise *
start(enum cable_noise_pattern pattern, enum cable_noise_role role, const uint8_t key[32])
{
	struct cable_noise *n = cable_noise_new();
	int r;

	assert_non_null(n);
	if (pattern == CABLE_NOISE_KNPSK0)
		r = role == CABLE_NOISE_INITIATOR ? cable_noise_start(n, pattern, role, key, &desktop, NULL)
						  : cable_noise_start(n, pattern, role, key, NULL, desktop.pub);
	else
		r = role == CABLE_NOISE_INITIATOR ? cable_noise_start(n, pattern, role, key, NULL, phone.pub)
						  : cable_noise_start(n, pattern, role, key, &phone, NULL);
	assert_int_equal(r, 0);
	return n;
}

/* An initiator that has written its first message (always the same bytes: fixed seed). */
static struct cable_noise *
initiator_after_m1(enum cable_noise_pattern pattern, uint8_t m1[81])
{
	struct tv_env ei;
	struct cable_noise *n = start(pattern, CABLE_NOISE_INITIATOR, psk);

	tv_env_init(&ei, SEED_I);
	assert_int_equal(cable_noise_write_message(n, &ei.env, m1), 0);
	return n;
}

/* A failed handshake refuses to go on, whichever step is tried. */
static void
assert_dead(struct cable_noise *n, const uint8_t msg[81])
{
	struct tv_env e;
	struct cable_crypter *c = NULL;
	uint8_t out[81], h[32];

	tv_env_init(&e, 1);
	assert_int_equal(cable_noise_read_message(n, msg, 81), CABLE_ERR_STATE);
	assert_int_equal(cable_noise_write_message(n, &e.env, out), CABLE_ERR_STATE);
	assert_int_equal(cable_noise_split(n, &c), CABLE_ERR_STATE);
	assert_null(c);
	assert_int_equal(cable_noise_handshake_hash(n, h), CABLE_ERR_STATE);
	assert_false(cable_noise_is_complete(n));
}

static void
check_against_reference(enum cable_noise_pattern pattern)
{
	struct transcript t;
	struct tv_env er;
	struct cable_noise *i, *r;
	struct cable_crypter *ci = NULL, *cr = NULL, *ref_i, *ref_r;
	uint8_t m1[81], m2[81], hi[32], hr[32], *a, *b, *p;
	size_t alen, blen, plen;

	reference(pattern, psk, &t);
	i = initiator_after_m1(pattern, m1);
	tv_assert_bytes(m1, 81, t.m1, 81);
	r = start(pattern, CABLE_NOISE_RESPONDER, psk);
	assert_int_equal(cable_noise_read_message(r, m1, 81), 0);
	assert_false(cable_noise_is_complete(r));
	tv_env_init(&er, SEED_R);
	assert_int_equal(cable_noise_write_message(r, &er.env, m2), 0);
	tv_assert_bytes(m2, 81, t.m2, 81);
	assert_true(cable_noise_is_complete(r));
	assert_int_equal(cable_noise_read_message(i, m2, 81), 0);
	assert_true(cable_noise_is_complete(i));
	assert_int_equal(cable_noise_handshake_hash(i, hi), 0);
	assert_int_equal(cable_noise_handshake_hash(r, hr), 0);
	tv_assert_bytes(hi, 32, t.h, 32);
	tv_assert_bytes(hr, 32, t.h, 32);

	assert_int_equal(cable_noise_split(i, &ci), 0);
	assert_int_equal(cable_noise_split(r, &cr), 0);
	/* Split wipes ck: a second split is refused, the hash stays available. */
	assert_int_equal(cable_noise_split(i, &ref_i), CABLE_ERR_STATE);
	assert_int_equal(cable_noise_handshake_hash(i, hi), 0);
	tv_assert_bytes(hi, 32, t.h, 32);

	/* Initiator writes with k1, reads with k2; the responder the reverse: same ciphertexts. */
	ref_i = cable_crypter_new(t.k2, t.k1);
	ref_r = cable_crypter_new(t.k1, t.k2);
	assert_int_equal(cable_crypter_encrypt(ci, (const uint8_t *)"\x01\x02", 2, &a, &alen), 0);
	assert_int_equal(cable_crypter_encrypt(ref_i, (const uint8_t *)"\x01\x02", 2, &b, &blen), 0);
	tv_assert_bytes(a, alen, b, blen);
	assert_int_equal(cable_crypter_decrypt(cr, a, alen, &p, &plen), 0);
	tv_assert_bytes(p, plen, (const uint8_t *)"\x01\x02", 2);
	free(a);
	free(b);
	free(p);
	assert_int_equal(cable_crypter_encrypt(cr, (const uint8_t *)"\x01\x00", 2, &a, &alen), 0);
	assert_int_equal(cable_crypter_encrypt(ref_r, (const uint8_t *)"\x01\x00", 2, &b, &blen), 0);
	tv_assert_bytes(a, alen, b, blen);
	assert_int_equal(cable_crypter_decrypt(ci, a, alen, &p, &plen), 0);
	tv_assert_bytes(p, plen, (const uint8_t *)"\x01\x00", 2);
	free(a);
	free(b);
	free(p);
	cable_crypter_free(&ci);
	cable_crypter_free(&cr);
	cable_crypter_free(&ref_i);
	cable_crypter_free(&ref_r);
	cable_noise_free(&i);
	cable_noise_free(&r);
	assert_null(i);
}

static void
test_kn_reference(void **state)
{
	(void)state;
	check_against_reference(CABLE_NOISE_KNPSK0);
}

static void
test_nk_reference(void **state)
{
	struct transcript kn, nk;

	(void)state;
	check_against_reference(CABLE_NOISE_NKPSK0);
	/* Same ephemerals, different pattern: nothing may coincide after the first point. */
	reference(CABLE_NOISE_KNPSK0, psk, &kn);
	reference(CABLE_NOISE_NKPSK0, psk, &nk);
	assert_memory_equal(kn.m1, nk.m1, 65);
	assert_memory_not_equal(kn.m1 + 65, nk.m1 + 65, 16);
	assert_memory_not_equal(kn.h, nk.h, 32);
}

/* Wrong PSK or wrong static key: the responder rejects the first message with CABLE_ERR_AUTH. */
static void
test_wrong_keys(void **state)
{
	static const enum cable_noise_pattern pats[] = {CABLE_NOISE_KNPSK0, CABLE_NOISE_NKPSK0};
	uint8_t m1[81];

	(void)state;
	for (size_t p = 0; p < 2; p++) {
		struct cable_noise *i = initiator_after_m1(pats[p], m1);
		struct cable_noise *r = start(pats[p], CABLE_NOISE_RESPONDER, psk2);

		assert_int_equal(cable_noise_read_message(r, m1, 81), CABLE_ERR_AUTH);
		assert_dead(r, m1);
		cable_noise_free(&r);
		r = cable_noise_new();
		if (pats[p] == CABLE_NOISE_KNPSK0)
			/* The phone scanned a QR code with another desktop key. */
			assert_int_equal(cable_noise_start(r, pats[p], CABLE_NOISE_RESPONDER, psk, NULL,
					     other.pub),
			    0);
		else
			/* The desktop holds a stale identity key for this phone. */
			assert_int_equal(cable_noise_start(r, pats[p], CABLE_NOISE_RESPONDER, psk, &other,
					     NULL),
			    0);
		assert_int_equal(cable_noise_read_message(r, m1, 81), CABLE_ERR_AUTH);
		assert_dead(r, m1);
		cable_noise_free(&r);
		cable_noise_free(&i);
	}
}

/* Every byte of message 1 flipped (two different bits): POINT in the key, AUTH in the tag. */
static void
test_flip_message1(void **state)
{
	static const enum cable_noise_pattern pats[] = {CABLE_NOISE_KNPSK0, CABLE_NOISE_NKPSK0};
	static const uint8_t masks[] = {0x01, 0x80};
	uint8_t m1[81], bad[81];

	(void)state;
	for (size_t p = 0; p < 2; p++) {
		struct cable_noise *i = initiator_after_m1(pats[p], m1);
		for (size_t pos = 0; pos < 81; pos++) {
			for (size_t m = 0; m < 2; m++) {
				struct cable_noise *r = start(pats[p], CABLE_NOISE_RESPONDER, psk);
				memcpy(bad, m1, 81);
				bad[pos] ^= masks[m];
				assert_int_equal(cable_noise_read_message(r, bad, 81),
				    pos < 65 ? CABLE_ERR_POINT : CABLE_ERR_AUTH);
				/* Even the genuine message is refused afterwards. */
				assert_dead(r, m1);
				cable_noise_free(&r);
			}
		}
		cable_noise_free(&i);
	}
}

/* Every byte of message 2 flipped: the initiator fails and cannot be retried. */
static void
test_flip_message2(void **state)
{
	static const enum cable_noise_pattern pats[] = {CABLE_NOISE_KNPSK0, CABLE_NOISE_NKPSK0};
	uint8_t m1[81], m2[81], bad[81];

	(void)state;
	for (size_t p = 0; p < 2; p++) {
		struct tv_env er;
		struct cable_noise *i = initiator_after_m1(pats[p], m1);
		struct cable_noise *r = start(pats[p], CABLE_NOISE_RESPONDER, psk);

		assert_int_equal(cable_noise_read_message(r, m1, 81), 0);
		tv_env_init(&er, SEED_R);
		assert_int_equal(cable_noise_write_message(r, &er.env, m2), 0);
		cable_noise_free(&i);
		for (size_t pos = 0; pos < 81; pos++) {
			i = initiator_after_m1(pats[p], m1);
			memcpy(bad, m2, 81);
			bad[pos] ^= (uint8_t)(1u << (pos % 8));
			assert_int_equal(cable_noise_read_message(i, bad, 81),
			    pos < 65 ? CABLE_ERR_POINT : CABLE_ERR_AUTH);
			assert_dead(i, m2);
			cable_noise_free(&i);
		}
		/* Control: the genuine response completes a fresh initiator. */
		i = initiator_after_m1(pats[p], m1);
		assert_int_equal(cable_noise_read_message(i, m2, 81), 0);
		assert_true(cable_noise_is_complete(i));
		cable_noise_free(&i);
		cable_noise_free(&r);
	}
}

/* Truncated and oversized messages, on both roles. */
static void
test_lengths(void **state)
{
	static const size_t lens[] = {0, 1, 16, 64, 65, 80, 82, 97, 162, 4096};
	uint8_t m1[81], *buf = calloc(1, 4096);

	(void)state;
	assert_non_null(buf);
	for (size_t p = 1; p <= 2; p++) {
		struct cable_noise *i = initiator_after_m1((enum cable_noise_pattern)p, m1);
		memcpy(buf, m1, 81);
		cable_noise_free(&i);
		for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
			struct cable_noise *r = start((enum cable_noise_pattern)p, CABLE_NOISE_RESPONDER, psk);
			assert_int_equal(cable_noise_read_message(r, buf, lens[l]), CABLE_ERR_HANDSHAKE_LENGTH);
			assert_dead(r, m1);
			cable_noise_free(&r);
			i = initiator_after_m1((enum cable_noise_pattern)p, m1);
			assert_int_equal(cable_noise_read_message(i, buf, lens[l]), CABLE_ERR_HANDSHAKE_LENGTH);
			assert_dead(i, m1);
			cable_noise_free(&i);
		}
	}
	free(buf);
}

/* Messages out of order, replayed, or from another session. */
static void
test_reorder_replay(void **state)
{
	struct tv_env er, er2;
	struct cable_noise *i, *r, *r2, *i2;
	uint8_t m1[81], m2[81], m2b[81];

	(void)state;
	for (int p = 1; p <= 2; p++) {
		i = initiator_after_m1((enum cable_noise_pattern)p, m1);
		r = start((enum cable_noise_pattern)p, CABLE_NOISE_RESPONDER, psk);
		/* The responder cannot speak first; the initiator cannot read before writing. */
		tv_env_init(&er, SEED_R);
		assert_int_equal(cable_noise_write_message(r, &er.env, m2), CABLE_ERR_STATE);
		i2 = start((enum cable_noise_pattern)p, CABLE_NOISE_INITIATOR, psk);
		assert_int_equal(cable_noise_read_message(i2, m1, 81), CABLE_ERR_STATE);
		cable_noise_free(&i2);
		/* Message 1 twice: the second copy is refused without harming the handshake. */
		assert_int_equal(cable_noise_read_message(r, m1, 81), 0);
		assert_int_equal(cable_noise_read_message(r, m1, 81), CABLE_ERR_STATE);
		assert_int_equal(cable_noise_write_message(r, &er.env, m2), 0);
		/* The initiator's own message reflected back as the response. */
		i2 = initiator_after_m1((enum cable_noise_pattern)p, m1);
		assert_int_equal(cable_noise_read_message(i2, m1, 81), CABLE_ERR_AUTH);
		assert_dead(i2, m2);
		cable_noise_free(&i2);
		/* A response from a different responder run (other ephemeral) for the same m1. */
		r2 = start((enum cable_noise_pattern)p, CABLE_NOISE_RESPONDER, psk);
		assert_int_equal(cable_noise_read_message(r2, m1, 81), 0);
		tv_env_init(&er2, SEED_R + 1);
		assert_int_equal(cable_noise_write_message(r2, &er2.env, m2b), 0);
		assert_memory_not_equal(m2, m2b, 81);
		/* ...is valid for that run, so splice message 2's key with message 2b's tag. */
		memcpy(m2b, m2, 65);
		assert_int_equal(cable_noise_read_message(i, m2b, 81), CABLE_ERR_AUTH);
		assert_dead(i, m2);
		cable_noise_free(&i);
		/* A response replayed to a new initiator run with a new ephemeral. */
		i2 = start((enum cable_noise_pattern)p, CABLE_NOISE_INITIATOR, psk);
		tv_env_init(&er2, SEED_I + 1);
		assert_int_equal(cable_noise_write_message(i2, &er2.env, m1), 0);
		assert_int_equal(cable_noise_read_message(i2, m2, 81), CABLE_ERR_AUTH);
		cable_noise_free(&i2);
		/* The complete responder refuses further messages. */
		assert_int_equal(cable_noise_read_message(r, m2, 81), CABLE_ERR_STATE);
		assert_int_equal(cable_noise_write_message(r, &er.env, m2), CABLE_ERR_STATE);
		cable_noise_free(&r);
		cable_noise_free(&r2);
	}
}

static void
test_invalid_points(void **state)
{
	uint8_t m1[81], bad[81];
	struct cable_noise *i, *r;

	(void)state;
	i = initiator_after_m1(CABLE_NOISE_KNPSK0, m1);
	memcpy(bad, m1, 81);
	memset(bad + 1, 0, 64); /* (0, 0) is not on the curve */
	r = start(CABLE_NOISE_KNPSK0, CABLE_NOISE_RESPONDER, psk);
	assert_int_equal(cable_noise_read_message(r, bad, 81), CABLE_ERR_POINT);
	cable_noise_free(&r);
	/* A compressed point padded out to 65 bytes is not an uncompressed point. */
	assert_int_equal(cable_p256_compress(m1, bad), 0);
	memset(bad + 33, 0, 32);
	r = start(CABLE_NOISE_KNPSK0, CABLE_NOISE_RESPONDER, psk);
	assert_int_equal(cable_noise_read_message(r, bad, 81), CABLE_ERR_POINT);
	cable_noise_free(&r);
	assert_int_equal(cable_noise_read_message(i, bad, 81), CABLE_ERR_POINT);
	cable_noise_free(&i);
}

static void
test_random_failure(void **state)
{
	struct tv_env e;
	struct cable_noise *n = start(CABLE_NOISE_KNPSK0, CABLE_NOISE_INITIATOR, psk);
	uint8_t out[81];

	(void)state;
	tv_env_init(&e, 1);
	e.fail_random = 1;
	assert_int_equal(cable_noise_write_message(n, &e.env, out), CABLE_ERR_RANDOM);
	assert_dead(n, out);
	cable_noise_free(&n);
	/* Argument errors are the caller's bug, not the peer's: the handshake can still go on. */
	n = start(CABLE_NOISE_KNPSK0, CABLE_NOISE_INITIATOR, psk);
	assert_int_equal(cable_noise_write_message(n, NULL, out), CABLE_ERR_ARG);
	assert_int_equal(cable_noise_write_message(n, &e.env, NULL), CABLE_ERR_ARG);
	assert_int_equal(cable_noise_read_message(n, NULL, 81), CABLE_ERR_ARG);
	e.fail_random = 0;
	assert_int_equal(cable_noise_write_message(n, &e.env, out), 0);
	cable_noise_free(&n);
}

static void
test_start_args(void **state)
{
	struct cable_noise *n = cable_noise_new();
	struct cable_p256_key mixed = desktop;
	uint8_t bad_point[65] = {0x04};
	uint8_t h[32];

	(void)state;
	assert_non_null(n);
	assert_int_equal(cable_noise_handshake_hash(n, h), CABLE_ERR_STATE);
	/* Each pattern/role takes exactly one of s and rs. */
	assert_int_equal(cable_noise_start(n, CABLE_NOISE_KNPSK0, CABLE_NOISE_INITIATOR, psk, NULL,
			     desktop.pub),
	    CABLE_ERR_ARG);
	assert_int_equal(cable_noise_start(n, CABLE_NOISE_KNPSK0, CABLE_NOISE_RESPONDER, psk, &desktop,
			     NULL),
	    CABLE_ERR_ARG);
	assert_int_equal(cable_noise_start(n, CABLE_NOISE_NKPSK0, CABLE_NOISE_INITIATOR, psk, &phone,
			     NULL),
	    CABLE_ERR_ARG);
	assert_int_equal(cable_noise_start(n, CABLE_NOISE_NKPSK0, CABLE_NOISE_RESPONDER, psk, NULL,
			     phone.pub),
	    CABLE_ERR_ARG);
	assert_int_equal(cable_noise_start(n, CABLE_NOISE_KNPSK0, CABLE_NOISE_INITIATOR, psk, &desktop,
			     desktop.pub),
	    CABLE_ERR_ARG);
	assert_int_equal(cable_noise_start(n, (enum cable_noise_pattern)3, CABLE_NOISE_INITIATOR, psk,
			     &desktop, NULL),
	    CABLE_ERR_ARG);
	assert_int_equal(cable_noise_start(n, CABLE_NOISE_KNPSK0, CABLE_NOISE_INITIATOR, NULL, &desktop,
			     NULL),
	    CABLE_ERR_ARG);
	/* A key pair whose public half belongs to another key. */
	memcpy(mixed.pub, phone.pub, 65);
	assert_int_equal(cable_noise_start(n, CABLE_NOISE_KNPSK0, CABLE_NOISE_INITIATOR, psk, &mixed,
			     NULL),
	    CABLE_ERR_ARG);
	assert_int_equal(cable_noise_start(n, CABLE_NOISE_KNPSK0, CABLE_NOISE_RESPONDER, psk, NULL,
			     bad_point),
	    CABLE_ERR_POINT);
	/* None of the refusals started it; now it starts once and only once. */
	assert_int_equal(cable_noise_start(n, CABLE_NOISE_KNPSK0, CABLE_NOISE_INITIATOR, psk, &desktop,
			     NULL),
	    0);
	assert_int_equal(cable_noise_start(n, CABLE_NOISE_KNPSK0, CABLE_NOISE_INITIATOR, psk, &desktop,
			     NULL),
	    CABLE_ERR_STATE);
	assert_int_equal(cable_noise_handshake_hash(n, h), CABLE_ERR_STATE);
	cable_noise_free(&n);
	cable_noise_free(&n);
	cable_noise_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kn_reference),
		cmocka_unit_test(test_nk_reference),
		cmocka_unit_test(test_wrong_keys),
		cmocka_unit_test(test_flip_message1),
		cmocka_unit_test(test_flip_message2),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_reorder_replay),
		cmocka_unit_test(test_invalid_points),
		cmocka_unit_test(test_random_failure),
		cmocka_unit_test(test_start_args),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}

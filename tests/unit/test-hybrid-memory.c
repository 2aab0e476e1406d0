/*
 * In-memory desktop <-> phone sessions through the whole core: QR secret, advert and PSK
 * derivation, QR handshake (KNpsk0), the
 * post-handshake message, an update carrying signed linking info, framed CTAP both ways and
 * shutdown; then a linked session (NKpsk0) with what the QR session stored. Every message goes
 * through the real byte encodings; tampering anywhere gives a specific error.
 */
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "cable/advert.h"
#include "cable/cbor.h"
#include "cable/crypter.h"
#include "cable/error.h"
#include "cable/kdf.h"
#include "cable/messages.h"
#include "cable/noise.h"
#include "cable/p256.h"
#include "tv.h"

struct side {
	struct tv_env env;
	struct cable_noise *noise;
	struct cable_crypter *crypter;
	uint8_t hash[32];
};

static struct cable_p256_key qr_key;    /* desktop: from the QR seed */
static struct cable_p256_key phone_key; /* phone: long-term identity */
static uint8_t phone_root[32];          /* phone: root secret */

static void
handshake(enum cable_noise_pattern pattern, const uint8_t d_psk[32], const uint8_t p_psk[32],
    const uint8_t *phone_pub, struct side *d, struct side *p)
{
	uint8_t m1[CABLE_NOISE_MSG_LEN], m2[CABLE_NOISE_MSG_LEN];

	d->noise = cable_noise_new();
	p->noise = cable_noise_new();
	assert_non_null(d->noise);
	assert_non_null(p->noise);
	if (pattern == CABLE_NOISE_KNPSK0) {
		assert_int_equal(cable_noise_start(d->noise, pattern, CABLE_NOISE_INITIATOR, d_psk, &qr_key, NULL), 0);
		/* The phone knows the desktop key from the QR code (compressed there, decompressed here). */
		uint8_t comp[33], pub[65];
		assert_int_equal(cable_p256_compress(qr_key.pub, comp), 0);
		assert_int_equal(cable_p256_decompress(comp, pub), 0);
		assert_int_equal(cable_noise_start(p->noise, pattern, CABLE_NOISE_RESPONDER, p_psk, NULL, pub), 0);
	} else {
		assert_int_equal(cable_noise_start(d->noise, pattern, CABLE_NOISE_INITIATOR, d_psk, NULL, phone_pub), 0);
		assert_int_equal(cable_noise_start(p->noise, pattern, CABLE_NOISE_RESPONDER, p_psk, &phone_key, NULL), 0);
	}
	assert_int_equal(cable_noise_write_message(d->noise, &d->env.env, m1), 0);
	assert_int_equal(cable_noise_read_message(p->noise, m1, sizeof(m1)), 0);
	assert_int_equal(cable_noise_write_message(p->noise, &p->env.env, m2), 0);
	assert_int_equal(cable_noise_read_message(d->noise, m2, sizeof(m2)), 0);
	assert_int_equal(cable_noise_split(d->noise, &d->crypter), 0);
	assert_int_equal(cable_noise_split(p->noise, &p->crypter), 0);
	assert_int_equal(cable_noise_handshake_hash(d->noise, d->hash), 0);
	assert_int_equal(cable_noise_handshake_hash(p->noise, p->hash), 0);
	assert_memory_equal(d->hash, p->hash, 32);
}

static void
side_free(struct side *s)
{
	cable_noise_free(&s->noise);
	cable_crypter_free(&s->crypter);
}

/*
 * The phone advertises under eid_key; the desktop trial-decrypts the advert. Each side derives
 * the PSK from secret and its own copy of the EID plaintext.
 */
static void
advert_and_psks(const uint8_t *secret, size_t secret_len, const uint8_t eid_key[CABLE_EID_KEY_LEN],
    struct side *d, struct side *p, uint8_t d_psk[32], uint8_t p_psk[32])
{
	static const uint8_t routing[3] = {0xab, 0xcd, 0xef};
	uint8_t adv[CABLE_ADVERT_LEN], plain[CABLE_EID_PLAIN_LEN], wrong_key[CABLE_EID_KEY_LEN];
	struct cable_advert seen;

	assert_int_equal(cable_advert_build(eid_key, &p->env.env, routing, 0, adv, NULL, plain), 0);
	memcpy(wrong_key, eid_key, sizeof(wrong_key));
	wrong_key[40] ^= 1;
	assert_int_equal(cable_advert_open(wrong_key, adv, sizeof(adv), 0, &seen), CABLE_ERR_ADVERT_TAG);
	assert_int_equal(cable_advert_open(eid_key, adv, sizeof(adv), 0, &seen), 0);
	assert_memory_equal(seen.eid.routing_id, routing, 3);
	assert_int_equal(cable_derive_psk(secret, secret_len, seen.plaintext, d_psk), 0);
	assert_int_equal(cable_derive_psk(secret, secret_len, plain, p_psk), 0);
	(void)d;
}

/* Encrypts one plaintext; the caller frees. */
static uint8_t *
seal(struct side *s, const uint8_t *pt, size_t len, size_t *ct_len)
{
	uint8_t *ct;
	assert_int_equal(cable_crypter_encrypt(s->crypter, pt, len, &ct, ct_len), 0);
	return ct;
}

/* Receives one framed message the way a session would; returns 0 or the first error. */
static int
receive(struct side *s, enum cable_side who, int pending, const uint8_t *ct, size_t ct_len,
    uint8_t *type, uint8_t **pt, size_t *pt_len, size_t *off)
{
	const uint8_t *data;
	size_t data_len;
	int r;

	*pt = NULL;
	if ((r = cable_crypter_decrypt(s->crypter, ct, ct_len, pt, pt_len)) != 0)
		return r;
	if ((r = cable_frame_parse(*pt, *pt_len, type, &data, &data_len)) != 0 ||
	    (r = cable_frame_check_incoming(who, pending, *type)) != 0) {
		free(*pt);
		*pt = NULL;
		return r;
	}
	*off = (size_t)(data - *pt);
	return 0;
}

static uint8_t *
sample_getinfo(size_t *len)
{
	cbor_item_t *m = cbor_new_definite_map(1), *v = cbor_new_definite_array(2);
	uint8_t *out;

	assert_true(cbor_array_push(v, cbor_move(cbor_build_string("FIDO_2_0"))));
	assert_true(cbor_array_push(v, cbor_move(cbor_build_string("FIDO_2_1"))));
	assert_true(cbor_map_add(m, (struct cbor_pair){.key = cbor_move(cbor_build_uint8(1)), .value = cbor_move(v)}));
	assert_int_equal(cable_cbor_encode(m, &out, len), 0);
	cbor_decref(&m);
	return out;
}

/* What the QR session leaves for the linked one. */
struct stored_link {
	uint8_t secret[32];
	uint8_t phone_pub[65];
};

static void
qr_session(struct stored_link *stored)
{
	struct side d, p;
	struct cable_post_handshake ph;
	struct cable_linking_info li;
	struct cable_update upd;
	uint8_t psk[32], p_psk[32], qr_bytes[48], eid_key[CABLE_EID_KEY_LEN], *gi, *msg, *ct, *pt, type,
	    *frame;
	size_t gi_len, msg_len, ct_len, pt_len, off, frame_len;
	static const uint8_t mc_cbor[] = {0xa1, 0x01, 0x58, 0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	    13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

	tv_env_init(&d.env, 1);
	tv_env_init(&p.env, 2);
	/* The desktop's 48 QR bytes: identity seed and QR secret; the phone reads both from the QR. */
	assert_int_equal(cable_env_random(&d.env.env, qr_bytes, sizeof(qr_bytes)), 0);
	assert_int_equal(cable_p256_derive_from_secret(qr_bytes, 32, &qr_key), 0);
	assert_int_equal(cable_derive_eid_key(qr_bytes + 32, 16, NULL, 0, eid_key), 0);
	advert_and_psks(qr_bytes + 32, 16, eid_key, &d, &p, psk, p_psk);
	assert_memory_equal(psk, p_psk, 32);
	handshake(CABLE_NOISE_KNPSK0, psk, p_psk, NULL, &d, &p);

	/* Phone -> desktop: post-handshake message (revision 1), counter 0. */
	gi = sample_getinfo(&gi_len);
	assert_int_equal(cable_post_handshake_build(gi, gi_len, CABLE_FEATURE_CTAP, &msg, &msg_len), 0);
	ct = seal(&p, msg, msg_len, &ct_len);
	free(msg);
	/* A flipped bit anywhere is an AEAD failure that leaves the counter alone... */
	for (size_t i = 0; i < ct_len; i++) {
		ct[i] ^= 0x20;
		assert_int_equal(cable_crypter_decrypt(d.crypter, ct, ct_len, &pt, &pt_len), CABLE_ERR_AUTH);
		ct[i] ^= 0x20;
	}
	assert_int_equal(cable_crypter_decrypt(d.crypter, ct, ct_len - 1, &pt, &pt_len), CABLE_ERR_AUTH);
	/* ...so the genuine message still opens. */
	assert_int_equal(cable_crypter_decrypt(d.crypter, ct, ct_len, &pt, &pt_len), 0);
	assert_int_equal(cable_post_handshake_parse(pt, pt_len, true, &ph), 0);
	assert_int_equal(ph.revision, 1);
	assert_int_equal(ph.features, CABLE_FEATURE_CTAP);
	assert_memory_equal(ph.getinfo, gi, gi_len);
	assert_false(ph.has_linking);
	cable_post_handshake_clear(&ph);
	free(pt);
	/* Replayed post-handshake message. */
	assert_int_equal(cable_crypter_decrypt(d.crypter, ct, ct_len, &pt, &pt_len), CABLE_ERR_AUTH);
	free(ct);
	free(gi);

	/* Phone -> desktop: update with linking info signed over the handshake hash. */
	memset(&li, 0, sizeof(li));
	li.contact_id_len = 163;
	memset(li.contact_id, 'f', li.contact_id_len);
	li.link_id_len = 8;
	assert_int_equal(cable_env_random(&p.env.env, li.link_id, 8), 0);
	/* §2.1 on the phone: paired secret = Derive(Derive(root, contact ID, 6), pairing ID, 4). */
	{
		uint8_t per_contact[32];
		assert_int_equal(cable_derive(phone_root, 32, li.contact_id, li.contact_id_len,
				     CABLE_KDF_PER_CONTACT_ID_SECRET, per_contact, 32),
		    0);
		assert_int_equal(cable_derive(per_contact, 32, li.link_id, 8, CABLE_KDF_PAIRED_SECRET, li.secret, 32),
		    0);
		li.secret_len = 32;
	}
	memcpy(li.peer_public, phone_key.pub, 65);
	strcpy(li.name, "Test phone");
	assert_int_equal(cable_linking_sign(&phone_key, qr_key.pub, p.hash, li.signature), 0);
	assert_int_equal(cable_update_build(&li, &frame, &frame_len), 0);
	ct = seal(&p, frame, frame_len, &ct_len);
	free(frame);
	assert_int_equal(ct_len, CABLE_UPDATE_CIPHERTEXT_LEN);
	assert_int_equal(receive(&d, CABLE_SIDE_DESKTOP, -1, ct, ct_len, &type, &pt, &pt_len, &off), 0);
	assert_int_equal(type, CABLE_FRAME_UPDATE);
	assert_int_equal(cable_update_parse(pt + off, pt_len - off, &upd), 0);
	assert_true(upd.has_linking);
	assert_int_equal(cable_linking_verify(&qr_key, upd.linking.peer_public, d.hash, upd.linking.signature), 0);
	assert_string_equal(upd.linking.name, "Test phone");
	memcpy(stored->secret, upd.linking.secret, 32);
	memcpy(stored->phone_pub, upd.linking.peer_public, 65);
	cable_linking_clear(&upd.linking);
	free(pt);
	free(ct);

	/* An update whose signature covers another handshake is refused by the check. */
	{
		uint8_t other_hash[32];
		memcpy(other_hash, p.hash, 32);
		other_hash[31] ^= 0x80;
		assert_int_equal(cable_linking_sign(&phone_key, qr_key.pub, other_hash, li.signature), 0);
		assert_int_equal(cable_update_build(&li, &frame, &frame_len), 0);
		ct = seal(&p, frame, frame_len, &ct_len);
		free(frame);
		assert_int_equal(receive(&d, CABLE_SIDE_DESKTOP, -1, ct, ct_len, &type, &pt, &pt_len, &off), 0);
		assert_int_equal(cable_update_parse(pt + off, pt_len - off, &upd), 0);
		assert_int_equal(cable_linking_verify(&qr_key, upd.linking.peer_public, d.hash,
				     upd.linking.signature),
		    CABLE_ERR_LINKING_SIGNATURE);
		free(pt);
		free(ct);
	}

	/* Desktop -> phone: makeCredential; the phone accepts it as its one outstanding request. */
	assert_int_equal(cable_frame_encode_ctap(0x01, mc_cbor, sizeof(mc_cbor), &frame, &frame_len), 0);
	ct = seal(&d, frame, frame_len, &ct_len);
	free(frame);
	assert_int_equal(receive(&p, CABLE_SIDE_PHONE, -1, ct, ct_len, &type, &pt, &pt_len, &off), 0);
	assert_int_equal(type, CABLE_FRAME_CTAP);
	assert_int_equal(pt[off], 0x01);
	assert_memory_equal(pt + off + 1, mc_cbor, sizeof(mc_cbor));
	free(pt);
	/* The same request replayed to the phone. */
	assert_int_equal(receive(&p, CABLE_SIDE_PHONE, -1, ct, ct_len, &type, &pt, &pt_len, &off), CABLE_ERR_AUTH);
	free(ct);
	/* A second request while the first is unanswered. */
	assert_int_equal(cable_frame_encode_ctap(0x02, mc_cbor, 3, &frame, &frame_len), 0);
	ct = seal(&d, frame, frame_len, &ct_len);
	free(frame);
	assert_int_equal(receive(&p, CABLE_SIDE_PHONE, CABLE_FRAME_CTAP, ct, ct_len, &type, &pt, &pt_len, &off),
	    CABLE_ERR_UNEXPECTED);
	free(ct);

	/* Phone -> desktop: the reply (status 0 || CBOR). Reordered delivery fails. */
	{
		uint8_t *r1, *r2;
		size_t r1_len, r2_len;

		assert_int_equal(cable_frame_encode_ctap(0x00, mc_cbor, 4, &frame, &frame_len), 0);
		r1 = seal(&p, frame, frame_len, &r1_len);
		free(frame);
		assert_int_equal(cable_frame_encode_ctap(0x00, mc_cbor, 5, &frame, &frame_len), 0);
		r2 = seal(&p, frame, frame_len, &r2_len);
		free(frame);
		assert_int_equal(receive(&d, CABLE_SIDE_DESKTOP, CABLE_FRAME_CTAP, r2, r2_len, &type, &pt, &pt_len, &off),
		    CABLE_ERR_AUTH);
		assert_int_equal(receive(&d, CABLE_SIDE_DESKTOP, CABLE_FRAME_CTAP, r1, r1_len, &type, &pt, &pt_len, &off), 0);
		assert_int_equal(type, CABLE_FRAME_CTAP);
		assert_int_equal(pt_len - off, 1 + 4);
		free(pt);
		/* The second reply arrives with no request outstanding. */
		assert_int_equal(receive(&d, CABLE_SIDE_DESKTOP, -1, r2, r2_len, &type, &pt, &pt_len, &off),
		    CABLE_ERR_UNEXPECTED);
		free(r1);
		free(r2);
	}
	/* Phone -> desktop: a JSON message, an empty plaintext, an unknown type, a shutdown. */
	ct = seal(&p, (const uint8_t *)"\x03{}", 3, &ct_len);
	assert_int_equal(receive(&d, CABLE_SIDE_DESKTOP, CABLE_FRAME_CTAP, ct, ct_len, &type, &pt, &pt_len, &off),
	    CABLE_ERR_UNEXPECTED);
	free(ct);
	ct = seal(&p, NULL, 0, &ct_len);
	assert_int_equal(receive(&d, CABLE_SIDE_DESKTOP, -1, ct, ct_len, &type, &pt, &pt_len, &off),
	    CABLE_ERR_FRAME_EMPTY);
	free(ct);
	ct = seal(&p, (const uint8_t *)"\x04", 1, &ct_len);
	assert_int_equal(receive(&d, CABLE_SIDE_DESKTOP, -1, ct, ct_len, &type, &pt, &pt_len, &off),
	    CABLE_ERR_FRAME_TYPE);
	free(ct);
	ct = seal(&p, (const uint8_t *)"\x00", 1, &ct_len);
	assert_int_equal(receive(&d, CABLE_SIDE_DESKTOP, -1, ct, ct_len, &type, &pt, &pt_len, &off),
	    CABLE_ERR_PEER_SHUTDOWN);
	free(ct);
	/* A message over the 1 MiB limit never reaches the AEAD. */
	{
		uint8_t *big = calloc(1, CABLE_CRYPTER_MAX_MESSAGE + 16);
		assert_non_null(big);
		assert_int_equal(receive(&d, CABLE_SIDE_DESKTOP, -1, big, CABLE_CRYPTER_MAX_MESSAGE + 16, &type, &pt,
				     &pt_len, &off),
		    CABLE_ERR_TOO_BIG);
		free(big);
	}

	/* Desktop -> phone: shutdown. */
	assert_int_equal(cable_frame_encode(CABLE_FRAME_SHUTDOWN, NULL, 0, &frame, &frame_len), 0);
	ct = seal(&d, frame, frame_len, &ct_len);
	free(frame);
	assert_int_equal(ct_len, 48);
	assert_int_equal(receive(&p, CABLE_SIDE_PHONE, -1, ct, ct_len, &type, &pt, &pt_len, &off), 0);
	assert_int_equal(type, CABLE_FRAME_SHUTDOWN);
	assert_int_equal(pt_len, 1);
	free(pt);
	free(ct);
	side_free(&d);
	side_free(&p);
}

static void
linked_session(const struct stored_link *stored)
{
	struct side d, p, p2;
	uint8_t psk[32], p_psk[32], nonce[16], eid_key[CABLE_EID_KEY_LEN], *frame, *ct, *pt, type, m1[81];
	size_t frame_len, ct_len, pt_len, off;

	/* §9.2: a client nonce; the EID key and then the PSK come from the stored link secret. */
	tv_env_init(&d.env, 3);
	tv_env_init(&p.env, 4);
	assert_int_equal(cable_env_random(&d.env.env, nonce, sizeof(nonce)), 0);
	assert_int_equal(cable_derive_eid_key(stored->secret, 32, nonce, sizeof(nonce), eid_key), 0);
	advert_and_psks(stored->secret, 32, eid_key, &d, &p, psk, p_psk);
	handshake(CABLE_NOISE_NKPSK0, psk, p_psk, stored->phone_pub, &d, &p);
	assert_int_equal(cable_frame_encode_ctap(0x02, (const uint8_t *)"\xa0", 1, &frame, &frame_len), 0);
	ct = seal(&d, frame, frame_len, &ct_len);
	free(frame);
	assert_int_equal(receive(&p, CABLE_SIDE_PHONE, -1, ct, ct_len, &type, &pt, &pt_len, &off), 0);
	assert_int_equal(pt[off], 0x02);
	free(pt);
	free(ct);
	ct = seal(&p, (const uint8_t *)"\x01\x2e", 2, &ct_len); /* CTAP2_ERR_NO_CREDENTIALS */
	assert_int_equal(receive(&d, CABLE_SIDE_DESKTOP, CABLE_FRAME_CTAP, ct, ct_len, &type, &pt, &pt_len, &off), 0);
	assert_int_equal(pt[off], 0x2e);
	free(pt);
	free(ct);
	side_free(&d);
	side_free(&p);

	/* A phone holding another identity key cannot answer the linked desktop. */
	tv_env_init(&d.env, 5);
	tv_env_init(&p2.env, 6);
	d.noise = cable_noise_new();
	p2.noise = cable_noise_new();
	assert_int_equal(cable_noise_start(d.noise, CABLE_NOISE_NKPSK0, CABLE_NOISE_INITIATOR, psk, NULL,
			     stored->phone_pub),
	    0);
	assert_int_equal(cable_noise_start(p2.noise, CABLE_NOISE_NKPSK0, CABLE_NOISE_RESPONDER, psk, &qr_key, NULL),
	    0);
	assert_int_equal(cable_noise_write_message(d.noise, &d.env.env, m1), 0);
	assert_int_equal(cable_noise_read_message(p2.noise, m1, 81), CABLE_ERR_AUTH);
	cable_noise_free(&d.noise);
	cable_noise_free(&p2.noise);
}

static void
test_qr_then_linked(void **state)
{
	struct stored_link stored;
	struct tv_env e;
	uint8_t seed[32];

	(void)state;
	/* §2.1: the phone's identity key comes from its root secret (type 5). */
	tv_env_init(&e, 9);
	assert_int_equal(cable_env_random(&e.env, phone_root, sizeof(phone_root)), 0);
	assert_int_equal(cable_derive(phone_root, 32, NULL, 0, CABLE_KDF_IDENTITY_KEY_SEED, seed, 32), 0);
	assert_int_equal(cable_p256_derive_from_secret(seed, 32, &phone_key), 0);
	qr_session(&stored);
	assert_memory_equal(stored.phone_pub, phone_key.pub, 65);
	linked_session(&stored);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qr_then_linked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

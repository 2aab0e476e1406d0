/*
 * Fuzzes the transport crypter and the framing behind it. Input: a selector byte, then bytes.
 *   0: the bytes are a ciphertext for a crypter with fixed keys (raw AEAD input);
 *   1: the bytes are a padded plaintext, sealed here with the right key and nonce, so that the
 *      padding and framing checks behind the AEAD are reached;
 *   2: the bytes are a message, run through encrypt and decrypt, which must round-trip.
 * Whatever decrypts is then parsed as a frame, checked against the §7.2 rules and, for updates,
 * parsed as an update.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aes-gcm.h"
#include "cable/crypter.h"
#include "cable/error.h"
#include "cable/messages.h"
#include "fuzz-common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key_d2p[32] = {0xd2, 0x70, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30};
static const uint8_t key_p2d[32] = {0x70, 0xd2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30};

static void
after_decrypt(const uint8_t *pt, size_t len)
{
	const uint8_t *data;
	size_t data_len;
	uint8_t type;
	struct cable_update u;

	if (cable_frame_parse(pt, len, &type, &data, &data_len) != 0)
		return;
	for (int pending = -1; pending <= CABLE_FRAME_JSON; pending++) {
		(void)cable_frame_check_incoming(CABLE_SIDE_DESKTOP, pending, type);
		(void)cable_frame_check_incoming(CABLE_SIDE_PHONE, pending, type);
	}
	if (type == CABLE_FRAME_UPDATE && cable_update_parse(data, data_len, &u) == 0)
		cable_linking_clear(&u.linking);
}

static void
write_seeds(const char *dir)
{
	static const struct {
		const char *name;
		const char *msg;
		size_t len;
	} msgs[] = {
		{"shutdown", "\x00", 1},
		{"ctap-get-assertion", "\x01\x02\xa1\x01\x6b\x65\x78\x61\x6d\x70\x6c\x65\x2e\x63\x6f\x6d", 16},
		{"ctap-status", "\x01\x00\xa0", 3},
		{"json", "\x03{\"a\":1}", 8},
		{"unknown-type", "\x07\x01", 2},
	};
	uint8_t *frame, *ct, padded[64];
	size_t frame_len, ct_len;
	char name[64];

	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		struct cable_crypter *fresh = cable_crypter_new(key_p2d, key_d2p);
		if (cable_crypter_encrypt(fresh, (const uint8_t *)msgs[i].msg, msgs[i].len, &ct, &ct_len) != 0)
			abort();
		snprintf(name, sizeof(name), "raw-%s", msgs[i].name);
		fuzz_write_seed(dir, name, 0, ct, ct_len);
		free(ct);
		cable_crypter_free(&fresh);
		memset(padded, 0, sizeof(padded));
		memcpy(padded, msgs[i].msg, msgs[i].len);
		padded[31] = (uint8_t)(31 - msgs[i].len);
		snprintf(name, sizeof(name), "padded-%s", msgs[i].name);
		fuzz_write_seed(dir, name, 1, padded, 32);
		snprintf(name, sizeof(name), "plain-%s", msgs[i].name);
		fuzz_write_seed(dir, name, 2, (const uint8_t *)msgs[i].msg, msgs[i].len);
	}
	/* A Chrome-sized update, with no linking info. */
	if (cable_update_build(NULL, &frame, &frame_len) != 0)
		abort();
	fuzz_write_seed(dir, "plain-update", 2, frame, frame_len);
	free(frame);
	/* Bad padding behind a valid tag. */
	memset(padded, 0, sizeof(padded));
	padded[0] = 1;
	padded[31] = 32;
	fuzz_write_seed(dir, "padded-overlong", 1, padded, 32);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("CABLE_FUZZ_WRITE_SEEDS");

	(void)argc;
	(void)argv;
	if (dir != NULL) {
		write_seeds(dir);
		exit(0);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cable_crypter *reader, *writer;
	uint8_t *ct = NULL, *pt = NULL;
	size_t ct_len = 0, pt_len = 0, unpadded;
	int r;

	if (size < 1 || size > 65536)
		return 0;
	reader = cable_crypter_new(key_d2p, key_p2d); /* the phone: reads desktop -> phone */
	writer = cable_crypter_new(key_p2d, key_d2p);
	if (reader == NULL || writer == NULL)
		abort();
	(void)cable_crypter_unpad(data + 1, size - 1, &unpadded);
	switch (data[0] % 3) {
	case 0:
		r = cable_crypter_decrypt(reader, data + 1, size - 1, &pt, &pt_len);
		if (r == 0)
			after_decrypt(pt, pt_len);
		else if (r != CABLE_ERR_AUTH && r != CABLE_ERR_PADDING)
			abort();
		if (r == CABLE_ERR_AUTH && cable_crypter_read_counter(reader) != 0)
			abort();
		break;
	case 1: {
		uint8_t nonce[12] = {0};
		if ((ct = malloc(size - 1 + 16)) == NULL)
			abort();
		if (cable_aesgcm_seal(key_d2p, nonce, NULL, 0, data + 1, size - 1, ct) != 0)
			abort();
		r = cable_crypter_decrypt(reader, ct, size - 1 + 16, &pt, &pt_len);
		/* Authentic: only padding can be wrong, and the counter has moved either way. */
		if ((r != 0 && r != CABLE_ERR_PADDING) || cable_crypter_read_counter(reader) != 1)
			abort();
		if (r == 0)
			after_decrypt(pt, pt_len);
		break;
	}
	default:
		if (cable_crypter_encrypt(writer, data + 1, size - 1, &ct, &ct_len) != 0)
			abort();
		if (ct_len != cable_crypter_padded_len(size - 1) + 16)
			abort();
		if (cable_crypter_decrypt(reader, ct, ct_len, &pt, &pt_len) != 0 || pt_len != size - 1 ||
		    memcmp(pt, data + 1, pt_len) != 0)
			abort();
		after_decrypt(pt, pt_len);
		break;
	}
	free(ct);
	free(pt);
	cable_crypter_free(&reader);
	cable_crypter_free(&writer);
	return 0;
}

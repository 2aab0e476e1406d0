/*
 * Fuzzes the message parsers behind the transport. Input: a selector byte (mod 6), then bytes:
 *   0/1: post-handshake message (QR session / linked session), 2: update payload,
 *   3: linking info (must re-encode to the same parse), 4: revision-0 padded map, 5: frame.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cable/cbor.h"
#include "cable/error.h"
#include "cable/messages.h"
#include "fuzz-common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
sample_linking(struct cable_linking_info *li)
{
	memset(li, 0, sizeof(*li));
	li->contact_id_len = 163;
	memset(li->contact_id, 'f', li->contact_id_len);
	li->link_id_len = 8;
	memset(li->link_id, 0x11, 8);
	li->secret_len = 32;
	memset(li->secret, 0x22, 32);
	memcpy(li->peer_public, fuzz_phone_key.pub, 65);
	strcpy(li->name, "Fuzz phone");
	memset(li->signature, 0x33, 32);
}

static void
write_seeds(const char *dir)
{
	static const uint8_t getinfo[] = {0xa1, 0x01, 0x81, 0x68, 'F', 'I', 'D', 'O', '_', '2', '_', '0'};
	struct cable_linking_info li;
	uint8_t *msg, *padded, *frame;
	size_t len, padded_len, frame_len;

	if (cable_post_handshake_build(getinfo, sizeof(getinfo), CABLE_FEATURE_CTAP | CABLE_FEATURE_DC,
		&msg, &len) != 0)
		abort();
	fuzz_write_seed(dir, "post-handshake-rev1", 0, msg, len);
	if (cable_padded_map_encode(msg, len, &padded, &padded_len) != 0)
		abort();
	fuzz_write_seed(dir, "post-handshake-rev0", 1, padded, padded_len);
	fuzz_write_seed(dir, "padded-map", 4, padded, padded_len);
	free(padded);
	free(msg);
	sample_linking(&li);
	if (cable_linking_encode(&li, &msg, &len) != 0)
		abort();
	fuzz_write_seed(dir, "linking", 3, msg, len);
	free(msg);
	if (cable_update_build(&li, &frame, &frame_len) != 0)
		abort();
	fuzz_write_seed(dir, "update-linking", 2, frame + 1, frame_len - 1);
	free(frame);
	if (cable_update_build(NULL, &frame, &frame_len) != 0)
		abort();
	fuzz_write_seed(dir, "update-empty", 2, frame + 1, frame_len - 1);
	free(frame);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("CABLE_FUZZ_WRITE_SEEDS");

	(void)argc;
	(void)argv;
	fuzz_keys_init();
	if (dir != NULL) {
		write_seeds(dir);
		exit(0);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cable_post_handshake ph;
	struct cable_update u;
	struct cable_linking_info *li, *li2;
	const uint8_t *payload;
	uint8_t *enc, type;
	size_t n, enc_len;

	if (size < 1 || size > 65536)
		return 0;
	data++;
	size--;
	switch (data[-1] % 6) {
	case 0:
	case 1:
		if (cable_post_handshake_parse(data, size, data[-1] % 6 == 0, &ph) == 0) {
			if ((ph.features & CABLE_FEATURE_CTAP) && ph.getinfo == NULL)
				abort();
			if (ph.getinfo != NULL && cable_cbor_scan(ph.getinfo, ph.getinfo_len, 0, &n) != 0)
				abort();
			cable_post_handshake_clear(&ph);
		}
		break;
	case 2:
		if (cable_update_parse(data, size, &u) == 0)
			cable_linking_clear(&u.linking);
		break;
	case 3:
		li = malloc(sizeof(*li));
		li2 = malloc(sizeof(*li2));
		if (li == NULL || li2 == NULL)
			abort();
		if (cable_linking_parse(data, size, li) == 0) {
			/* Whatever parses re-encodes canonically and parses to the same thing. */
			if (cable_linking_encode(li, &enc, &enc_len) != 0 ||
			    cable_linking_parse(enc, enc_len, li2) != 0 ||
			    memcmp(li->contact_id, li2->contact_id, li->contact_id_len) != 0 ||
			    li->contact_id_len != li2->contact_id_len || li->secret_len != li2->secret_len ||
			    strcmp(li->name, li2->name) != 0 || li->play_services != li2->play_services ||
			    memcmp(li->signature, li2->signature, sizeof(li->signature)) != 0)
				abort();
			free(enc);
		}
		free(li);
		free(li2);
		break;
	case 4:
		if (cable_padded_map_decode(data, size, &n) == 0 && n > size)
			abort();
		break;
	default:
		if (cable_frame_parse(data, size, &type, &payload, &n) == 0 &&
		    (type > CABLE_FRAME_TYPE_MAX || n != size - 1))
			abort();
		break;
	}
	return 0;
}

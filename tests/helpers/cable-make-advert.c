/*
 * Test helper: prints (hex) the BLE advert a phone would send for a QR code, with chosen routing
 * ID, domain ID, nonce and optional reserved byte and suffix, so tests can feed cablectl inspect.
 * Usage: cable-make-advert --qr URL --routing-id HEX6 --domain-id N [--nonce HEX20]
 *                          [--reserved N] [--suffix HEX]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cable/advert.h"
#include "cable/bytes.h"
#include "cable/qr.h"

static int
usage(void)
{
	fprintf(stderr, "usage: cable-make-advert --qr URL --routing-id HEX6 --domain-id N "
			"[--nonce HEX20] [--reserved N] [--suffix HEX]\n");
	return 2;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"qr", required_argument, NULL, 'q'},
		{"routing-id", required_argument, NULL, 'r'},
		{"domain-id", required_argument, NULL, 'd'},
		{"nonce", required_argument, NULL, 'n'},
		{"reserved", required_argument, NULL, 'R'},
		{"suffix", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	const char *url = NULL, *rid = NULL, *nonce = NULL, *suffix = NULL;
	long domain = -1, reserved = 0;
	struct cable_qr qr;
	struct cable_eid eid;
	uint8_t key[CABLE_EID_KEY_LEN], plain[CABLE_EID_PLAIN_LEN], advert[CABLE_ADVERT_LEN];
	uint8_t *sfx = NULL;
	size_t sfx_len = 0;
	char hex[2 * CABLE_ADVERT_MAX + 1];
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'q': url = optarg; break;
		case 'r': rid = optarg; break;
		case 'd': domain = strtol(optarg, NULL, 0); break;
		case 'n': nonce = optarg; break;
		case 'R': reserved = strtol(optarg, NULL, 0); break;
		case 's': suffix = optarg; break;
		default: return usage();
		}
	}
	if (url == NULL || rid == NULL || domain < 0 || domain > 65535 || reserved < 0 || reserved > 255)
		return usage();
	memset(&eid, 0, sizeof(eid));
	if (cable_qr_from_url(url, strlen(url), &qr, NULL) != 0) {
		fprintf(stderr, "cable-make-advert: bad QR URL\n");
		return 1;
	}
	if (cable_hex_decode(rid, strlen(rid), eid.routing_id, sizeof(eid.routing_id)) != 0 ||
	    (nonce != NULL && cable_hex_decode(nonce, strlen(nonce), eid.nonce, sizeof(eid.nonce)) != 0) ||
	    (suffix != NULL && cable_hex_decode_alloc(suffix, &sfx, &sfx_len) != 0) ||
	    sfx_len > CABLE_ADVERT_MAX - CABLE_ADVERT_LEN)
		return usage();
	if (nonce == NULL && cable_env_random(cable_env_system(), eid.nonce, sizeof(eid.nonce)) != 0)
		return 1;
	eid.domain_id = (uint16_t)domain;
	cable_eid_serialize(&eid, plain);
	plain[0] = (uint8_t)reserved;
	if (cable_qr_eid_key(&qr, key) != 0 || cable_advert_encrypt(key, plain, advert) != 0)
		return 1;
	cable_hex_encode(advert, sizeof(advert), hex, false);
	if (sfx_len > 0)
		cable_hex_encode(sfx, sfx_len, hex + 2 * CABLE_ADVERT_LEN, false);
	printf("%s\n", hex);
	free(sfx);
	cable_qr_wipe(&qr);
	return 0;
}

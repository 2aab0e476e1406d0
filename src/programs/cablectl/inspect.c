/* cablectl inspect: decode and check a FIDO:/ QR code, a BLE advert, or a tunnel domain ID. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cable/advert.h"
#include "cable/bytes.h"
#include "cable/error.h"
#include "cable/qr.h"
#include "cable/tunnel-url.h"
#include "cablectl.h"

static const char *
digits_fault_text(enum cable_digits_fault f)
{
	switch (f) {
	case CABLE_DIGITS_NON_DIGIT:
		return "a character other than 0-9 after the prefix";
	case CABLE_DIGITS_BAD_LENGTH:
		return "the number of digits is not a possible encoding";
	case CABLE_DIGITS_OUT_OF_RANGE:
		return "a digit group is too large for its byte count";
	case CABLE_DIGITS_TOO_LONG:
		return "too many digits";
	default:
		return "bad digits";
	}
}

/* Parses url into *qr or prints why not; returns an exit code. */
static int
load_qr(const char *url, struct cable_qr *qr)
{
	enum cable_digits_fault fault = CABLE_DIGITS_OK;
	size_t len = strlen(url);
	int r;

	if (len > CABLE_QR_URL_MAX)
		return cablectl_fail(CABLECTL_EXIT_INVALID, "QR code: URL too long (%zu characters)", len);
	r = cable_qr_from_url(url, len, qr, &fault);
	switch (r) {
	case 0:
		return CABLECTL_EXIT_OK;
	case CABLE_ERR_QR_PREFIX:
		return cablectl_fail(CABLECTL_EXIT_INVALID,
		    "QR code: not a FIDO:/ URL (expected 'FIDO:/' followed by digits)");
	case CABLE_ERR_DIGITS:
		return cablectl_fail(CABLECTL_EXIT_INVALID, "QR code: invalid digits: %s",
		    digits_fault_text(fault));
	case CABLE_ERR_NOMEM:
		return cablectl_fail(CABLECTL_EXIT_FAILURE, "out of memory");
	default:
		return cablectl_fail(CABLECTL_EXIT_INVALID, "QR code: invalid payload: %s (%s)",
		    cable_strerror(r), cable_errname(r));
	}
}

static void
inspect_qr_usage(FILE *f)
{
	fprintf(f, "Usage: cablectl inspect qr [--json] [--show-secrets] 'FIDO:/DIGITS'\n\n"
		   "Decodes a FIDO:/ QR code URL and checks it as a phone would.\n\n"
		   "  --json          machine-readable output\n"
		   "  --show-secrets  also print the QR secret and the EID key\n"
		   "  -h, --help      this text\n");
}

static int
inspect_qr(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"show-secrets", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool json = false, secrets = false;
	struct cable_qr qr;
	uint8_t tid[CABLE_TUNNEL_ID_LEN], eid_key[CABLE_EID_KEY_LEN];
	char when[32] = "", hex[2 * CABLE_EID_KEY_LEN + 1];
	int c, r;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 's': secrets = true; break;
		case 'h': inspect_qr_usage(stdout); return CABLECTL_EXIT_OK;
		default: return cablectl_option_error("inspect qr", c, argv);
		}
	}
	if (argc - optind != 1)
		return cablectl_usage_error("inspect qr", "expected one FIDO:/ URL");
	if ((r = load_qr(argv[optind], &qr)) != 0)
		return r;
	if (cable_qr_tunnel_id(&qr, tid) != 0 || cable_qr_eid_key(&qr, eid_key) != 0) {
		cable_qr_wipe(&qr);
		return cablectl_fail(CABLECTL_EXIT_FAILURE, "key derivation failed");
	}
	if (qr.has_time && !cablectl_iso8601(qr.time, when))
		snprintf(when, sizeof(when), "out of range");
	if (json) {
		json_t *o = json_object();
		json_object_set_new(o, "valid", json_true());
		json_object_set_new(o, "public_key", cablectl_json_hex(qr.public_key, sizeof(qr.public_key)));
		json_object_set_new(o, "public_key_uncompressed",
		    cablectl_json_hex(qr.public_key_full, sizeof(qr.public_key_full)));
		json_object_set_new(o, "num_known_domains",
		    qr.has_num_known_domains ? json_integer(qr.num_known_domains) : json_null());
		json_object_set_new(o, "time", qr.has_time ? json_string(when) : json_null());
		json_object_set_new(o, "time_unix",
		    qr.has_time && qr.time <= INT64_MAX ? json_integer((json_int_t)qr.time) : json_null());
		json_object_set_new(o, "supports_linking",
		    qr.has_supports_linking ? json_boolean(qr.supports_linking) : json_null());
		json_object_set_new(o, "request_type", json_string(cable_request_type_str(qr.request_type)));
		json_object_set_new(o, "tunnel_id", cablectl_json_hex(tid, sizeof(tid)));
		if (secrets) {
			json_object_set_new(o, "secret", cablectl_json_hex(qr.secret, sizeof(qr.secret)));
			json_object_set_new(o, "eid_key", cablectl_json_hex(eid_key, sizeof(eid_key)));
		}
		r = cablectl_json_print(o) ? CABLECTL_EXIT_OK : CABLECTL_EXIT_FAILURE;
	} else {
		cable_hex_encode(qr.public_key, sizeof(qr.public_key), hex, false);
		printf("public key:     %s\n", hex);
		if (qr.has_num_known_domains)
			printf("known domains:  %lld\n", (long long)qr.num_known_domains);
		else
			printf("known domains:  absent (0)\n");
		if (qr.has_time)
			printf("time:           %s (%llu)\n", when, (unsigned long long)qr.time);
		else
			printf("time:           absent\n");
		printf("linking:        %s\n",
		    !qr.has_supports_linking ? "absent" : qr.supports_linking ? "yes" : "no");
		printf("request type:   %s\n", cable_request_type_str(qr.request_type));
		cable_hex_encode(tid, sizeof(tid), hex, true);
		printf("tunnel ID:      %s\n", hex);
		if (secrets) {
			cable_hex_encode(qr.secret, sizeof(qr.secret), hex, false);
			printf("secret:         %s\n", hex);
			cable_hex_encode(eid_key, sizeof(eid_key), hex, false);
			printf("EID key:        %s\n", hex);
		} else {
			printf("secret:         (hidden; --show-secrets prints it)\n");
		}
		r = fflush(stdout) == 0 ? CABLECTL_EXIT_OK : CABLECTL_EXIT_FAILURE;
	}
	cable_wipe(hex, sizeof(hex));
	cable_wipe(eid_key, sizeof(eid_key));
	cable_qr_wipe(&qr);
	return r;
}

static const char *
advert_reason(int r)
{
	switch (r) {
	case CABLE_ERR_ADVERT_LENGTH:
		return "wrong length (20 bytes expected; --allow-suffix accepts a CTAP 2.3 suffix)";
	case CABLE_ERR_ADVERT_TAG:
		return "the tag does not match: not made with this QR code's key";
	case CABLE_ERR_ADVERT_RESERVED:
		return "the reserved first byte of the plaintext is not zero";
	case CABLE_ERR_ADVERT_DOMAIN:
		return "it names an assigned tunnel domain ID that is not known (2..255)";
	case CABLE_ERR_CBOR:
	case CABLE_ERR_CBOR_TYPE:
	case CABLE_ERR_TOO_BIG:
		return "the bytes after the first 20 are not a CBOR map";
	default:
		return cable_strerror(r);
	}
}

static void
inspect_advert_usage(FILE *f)
{
	fprintf(f, "Usage: cablectl inspect advert --qr 'FIDO:/DIGITS' [--allow-suffix] [--json] HEX\n\n"
		   "Trial-decrypts BLE service data (hex) with the EID key of a QR code, as a desktop\n"
		   "does, and prints why it fails or what it carries.\n\n"
		   "  --qr URL        the QR code the advert answers (required)\n"
		   "  --allow-suffix  accept more than 20 bytes (CTAP 2.3 CBOR suffix)\n"
		   "  --json          machine-readable output\n"
		   "  -h, --help      this text\n");
}

static int
inspect_advert(int argc, char **argv)
{
	static const struct option opts[] = {
		{"qr", required_argument, NULL, 'q'},
		{"allow-suffix", no_argument, NULL, 'a'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *url = NULL;
	bool json = false;
	unsigned flags = 0;
	struct cable_qr qr;
	struct cable_advert adv;
	uint8_t eid_key[CABLE_EID_KEY_LEN], tid[CABLE_TUNNEL_ID_LEN], *data = NULL;
	size_t len = 0;
	char host[CABLE_HOST_MAX], *connect = NULL, nonce[2 * CABLE_EID_NONCE_LEN + 1];
	char rid[2 * CABLE_ROUTING_ID_LEN + 1];
	int c, r;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'q': url = optarg; break;
		case 'a': flags |= CABLE_ADVERT_ALLOW_SUFFIX; break;
		case 'j': json = true; break;
		case 'h': inspect_advert_usage(stdout); return CABLECTL_EXIT_OK;
		default: return cablectl_option_error("inspect advert", c, argv);
		}
	}
	if (url == NULL)
		return cablectl_usage_error("inspect advert", "--qr is required");
	if (argc - optind != 1)
		return cablectl_usage_error("inspect advert", "expected one advert in hex");
	if (strlen(argv[optind]) > 2 * CABLE_ADVERT_MAX)
		return cablectl_fail(CABLECTL_EXIT_INVALID, "advert: longer than %d bytes", CABLE_ADVERT_MAX);
	if (!cablectl_parse_hex(argv[optind], &data, &len))
		return cablectl_fail(CABLECTL_EXIT_INVALID, "advert: not an even number of hex digits");
	if ((r = load_qr(url, &qr)) != 0)
		goto out_free;
	if (cable_qr_eid_key(&qr, eid_key) != 0 || cable_qr_tunnel_id(&qr, tid) != 0) {
		r = cablectl_fail(CABLECTL_EXIT_FAILURE, "key derivation failed");
		goto out;
	}
	r = cable_advert_open(eid_key, data, len, flags, &adv);
	if (r != 0) {
		if (json) {
			json_t *o = json_object();
			json_object_set_new(o, "valid", json_false());
			json_object_set_new(o, "error", json_string(cable_errname(r)));
			json_object_set_new(o, "reason", json_string(advert_reason(r)));
			json_object_set_new(o, "length", json_integer((json_int_t)len));
			cablectl_json_print(o);
		}
		r = cablectl_fail(CABLECTL_EXIT_INVALID, "advert is not valid: %s (%s)", advert_reason(r),
		    cable_errname(r));
		goto out;
	}
	/* The domain rule already passed, so every ID left has a host name. */
	if (cable_tunnel_domain(adv.eid.domain_id, host, sizeof(host)) != 0 ||
	    cable_tunnel_connect_url(host, adv.eid.routing_id, tid, &connect) != 0) {
		r = cablectl_fail(CABLECTL_EXIT_FAILURE, "cannot build the connect URL");
		goto out;
	}
	cable_hex_encode(adv.eid.nonce, sizeof(adv.eid.nonce), nonce, false);
	cable_hex_encode(adv.eid.routing_id, sizeof(adv.eid.routing_id), rid, false);
	if (json) {
		json_t *o = json_object();
		json_object_set_new(o, "valid", json_true());
		json_object_set_new(o, "nonce", json_string(nonce));
		json_object_set_new(o, "routing_id", json_string(rid));
		json_object_set_new(o, "domain_id", json_integer(adv.eid.domain_id));
		json_object_set_new(o, "tunnel_host", json_string(host));
		json_object_set_new(o, "connect_url", json_string(connect));
		json_object_set_new(o, "ble_psm",
		    adv.suffix.has_ble_psm ? json_integer(adv.suffix.ble_psm) : json_null());
		r = cablectl_json_print(o) ? CABLECTL_EXIT_OK : CABLECTL_EXIT_FAILURE;
	} else {
		printf("advert:         valid\n");
		printf("nonce:          %s\n", nonce);
		printf("routing ID:     %s\n", rid);
		printf("domain ID:      %u\n", adv.eid.domain_id);
		printf("tunnel host:    %s\n", host);
		printf("connect URL:    %s\n", connect);
		if (adv.suffix.has_ble_psm)
			printf("BLE PSM:        %u\n", adv.suffix.ble_psm);
		r = fflush(stdout) == 0 ? CABLECTL_EXIT_OK : CABLECTL_EXIT_FAILURE;
	}
	cable_wipe(&adv, sizeof(adv));
out:
	free(connect);
	cable_wipe(eid_key, sizeof(eid_key));
	cable_qr_wipe(&qr);
out_free:
	free(data);
	return r;
}

static void
inspect_domain_usage(FILE *f)
{
	fprintf(f, "Usage: cablectl inspect domain [--json] ID\n\n"
		   "Prints the tunnel server host for a domain ID (0..65535, decimal or 0x hex):\n"
		   "0 and 1 are assigned, 2..255 are reserved and unknown, 256 and up are hashed names.\n\n"
		   "  --json      machine-readable output\n"
		   "  -h, --help  this text\n");
}

static int
inspect_domain(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char host[CABLE_HOST_MAX];
	bool json = false;
	uint64_t id;
	int c;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h': inspect_domain_usage(stdout); return CABLECTL_EXIT_OK;
		default: return cablectl_option_error("inspect domain", c, argv);
		}
	}
	if (argc - optind != 1)
		return cablectl_usage_error("inspect domain", "expected one domain ID");
	if (!cablectl_parse_uint(argv[optind], 65535, &id))
		return cablectl_usage_error("inspect domain", "domain ID '%s' is not a number from 0 to 65535",
		    argv[optind]);
	if (cable_tunnel_domain((uint16_t)id, host, sizeof(host)) != 0)
		return cablectl_fail(CABLECTL_EXIT_INVALID,
		    "domain ID %u is assigned but unknown (only 0 and 1 are known; hashed IDs start at 256)",
		    (unsigned)id);
	if (json) {
		json_t *o = json_object();
		json_object_set_new(o, "domain_id", json_integer((json_int_t)id));
		json_object_set_new(o, "kind", json_string(id < 256 ? "assigned" : "hashed"));
		json_object_set_new(o, "host", json_string(host));
		return cablectl_json_print(o) ? CABLECTL_EXIT_OK : CABLECTL_EXIT_FAILURE;
	}
	printf("%s\n", host);
	return fflush(stdout) == 0 ? CABLECTL_EXIT_OK : CABLECTL_EXIT_FAILURE;
}

static const struct cablectl_command subcommands[] = {
	{"qr", "decode and check a FIDO:/ QR code URL", inspect_qr},
	{"advert", "trial-decrypt a BLE advert with a QR code's key", inspect_advert},
	{"domain", "the tunnel server host of a domain ID", inspect_domain},
};

static void
inspect_usage(FILE *f)
{
	fprintf(f, "Usage: cablectl inspect WHAT [OPTIONS] ARGS\n\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(f, "\nRun 'cablectl inspect WHAT --help' for details.\n");
}

int
cablectl_inspect(int argc, char **argv)
{
	if (argc < 2) {
		inspect_usage(stderr);
		return CABLECTL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		inspect_usage(stdout);
		return CABLECTL_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0) {
			cablectl_getopt_reset();
			return subcommands[i].run(argc - 1, argv + 1);
		}
	return cablectl_usage_error("inspect", "unknown thing to inspect '%s'", argv[1]);
}

/* Test helper: runs cablectl's WebAuthn translation against a minimal software phone (ES256). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "cable/bytes.h"
#include "cable/cbor.h"
#include "cable/crypto.h"
#include "cable/error.h"
#include "cable/p256.h"
#include "cable/webauthn.h"

/*
 * usage: webauthn-roundtrip create|get ORIGIN SECRET_HEX [options] < options.json
 *   --user-id B64URL   user handle to return from get (required for discoverable requests)
 *   --ctap-out FILE    also write the phone's raw CTAP response (status || CBOR) to FILE
 *   --request-out FILE also write the CTAP request (command || CBOR) to FILE
 *   --no-uv            answer without the UV flag
 *
 * The phone reads the request as a real one would: clientDataHash, RP ID, options, allowList and
 * the prf extension come from the CBOR the translation produced. Its credential key and ID and
 * its PRF secret are derived from SECRET so that a later "get" finds the credential "create" made:
 *   key = cable_p256_derive_from_secret(secret), id = SHA-256(secret || "id")[0..16),
 *   prf = HMAC-SHA-256(SHA-256(secret || "prf"), salt).
 * Prints the translation's JSON on stdout; exit 2 with the message on stderr when begin or finish
 * fails.
 */

#define MAX_OPTIONS (256 * 1024)

struct phone {
	struct cable_p256_key key;
	uint8_t id[16];
	uint8_t prf_secret[32];
	uint8_t *user_id;
	size_t user_id_len;
	bool no_uv;
};

static void
die(const char *what)
{
	fprintf(stderr, "webauthn-roundtrip: %s\n", what);
	exit(1);
}

static void
write_file(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f;

	if (path == NULL)
		return;
	if ((f = fopen(path, "wb")) == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		die("cannot write output file");
}

static bool
put(cbor_item_t *map, cbor_item_t *k, cbor_item_t *v)
{
	bool ok = k != NULL && v != NULL && cbor_map_add(map, (struct cbor_pair){k, v});
	if (k != NULL)
		cbor_decref(&k);
	if (v != NULL)
		cbor_decref(&v);
	return ok;
}

static cbor_item_t *
text(const char *s)
{
	return cbor_build_stringn(s, strlen(s));
}

/* The prf results map for the salts in values ({"first", "second"?}), or NULL. */
static cbor_item_t *
prf_results(const struct phone *ph, cbor_item_t *values)
{
	static const char *const names[2] = {"first", "second"};
	cbor_item_t *res = cbor_new_definite_map(2);

	for (int i = 0; i < 2; i++) {
		cbor_item_t *salt = cable_cbor_map_get_str(values, names[i]);
		uint8_t out[32];
		if (salt == NULL)
			continue;
		if (!cbor_isa_bytestring(salt) || cbor_bytestring_length(salt) != 32)
			die("prf salt is not 32 bytes");
		if (cable_hmac_sha256(ph->prf_secret, 32, cbor_bytestring_handle(salt), 32, out) != 0)
			die("hmac");
		if (!put(res, text(names[i]), cbor_build_bytestring(out, 32)))
			die("oom");
	}
	return res;
}

static size_t
authdata(const struct phone *ph, const char *rp_id, bool uv, bool attested, uint8_t *out)
{
	uint8_t flags = 0x01 | (uv && !ph->no_uv ? 0x04 : 0) | (attested ? 0x40 : 0);
	size_t n = 37;

	if (cable_sha256((const uint8_t *)rp_id, strlen(rp_id), NULL, 0, out) != 0)
		die("sha256");
	out[32] = flags;
	memcpy(out + 33, attested ? "\0\0\0\0" : "\0\0\0\1", 4);
	if (attested) {
		static const uint8_t cose_head[] = {0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58,
		    0x20};
		memset(out + n, 0x42, 16); /* AAGUID */
		n += 16;
		out[n++] = 0;
		out[n++] = sizeof(ph->id);
		memcpy(out + n, ph->id, sizeof(ph->id));
		n += sizeof(ph->id);
		memcpy(out + n, cose_head, sizeof(cose_head));
		n += sizeof(cose_head);
		memcpy(out + n, ph->key.pub + 1, 32);
		n += 32;
		out[n++] = 0x22;
		out[n++] = 0x58;
		out[n++] = 0x20;
		memcpy(out + n, ph->key.pub + 33, 32);
		n += 32;
	}
	return n;
}

static void
sign(const struct phone *ph, const uint8_t *ad, size_t ad_len, cbor_item_t *cdh, uint8_t *sig,
    size_t *sig_len)
{
	uint8_t msg[512];

	memcpy(msg, ad, ad_len);
	memcpy(msg + ad_len, cbor_bytestring_handle(cdh), 32);
	if (cable_p256_sign(&ph->key, msg, ad_len + 32, sig, sig_len) != 0)
		die("sign");
}

static bool
option_true(cbor_item_t *opts, const char *name)
{
	cbor_item_t *v = cable_cbor_map_get_str(opts, name);
	/* libcbor 0.8's cbor_is_bool asserts on floats. */
	return v != NULL && cbor_isa_float_ctrl(v) && cbor_float_ctrl_is_ctrl(v) && cbor_is_bool(v) &&
	    cbor_get_bool(v);
}

/* authenticatorMakeCredential -> status || CBOR (packed self attestation). */
static cbor_item_t *
make_credential(const struct phone *ph, cbor_item_t *req)
{
	cbor_item_t *cdh = cable_cbor_map_get_int(req, 1);
	cbor_item_t *rp_id = cable_cbor_map_get_str(cable_cbor_map_get_int(req, 2), "id");
	cbor_item_t *params = cable_cbor_map_get_int(req, 4);
	cbor_item_t *prf = cable_cbor_map_get_str(cable_cbor_map_get_int(req, 6), "prf");
	cbor_item_t *resp = cbor_new_definite_map(4), *att = cbor_new_definite_map(2);
	char rp[256];
	uint8_t ad[512], sig[80];
	size_t ad_len, sig_len = sizeof(sig);
	bool es256 = false;

	if (cdh == NULL || rp_id == NULL || params == NULL || !cbor_isa_string(rp_id) ||
	    cbor_string_length(rp_id) >= sizeof(rp))
		die("makeCredential request lacks clientDataHash, rp.id or pubKeyCredParams");
	for (size_t i = 0; i < cbor_array_size(params); i++) {
		int64_t alg;
		if (cable_cbor_get_int(cable_cbor_map_get_str(cbor_array_handle(params)[i], "alg"),
			&alg) == 0 && alg == -7)
			es256 = true;
	}
	if (!es256)
		return NULL; /* CTAP2_ERR_UNSUPPORTED_ALGORITHM */
	memcpy(rp, cbor_string_handle(rp_id), cbor_string_length(rp_id));
	rp[cbor_string_length(rp_id)] = '\0';
	ad_len = authdata(ph, rp, option_true(cable_cbor_map_get_int(req, 7), "uv"), true, ad);
	sign(ph, ad, ad_len, cdh, sig, &sig_len);
	if (!put(att, text("alg"), cbor_build_negint8(6)) ||
	    !put(att, text("sig"), cbor_build_bytestring(sig, sig_len)) ||
	    !put(resp, cbor_build_uint8(1), text("packed")) ||
	    !put(resp, cbor_build_uint8(2), cbor_build_bytestring(ad, ad_len)) ||
	    !put(resp, cbor_build_uint8(3), att))
		die("oom");
	if (prf != NULL) {
		cbor_item_t *u = cbor_new_definite_map(1), *p = cbor_new_definite_map(2);
		cbor_item_t *eval = cable_cbor_map_get_str(prf, "eval");
		if (!put(p, text("enabled"), cbor_build_bool(true)) ||
		    (eval != NULL && !put(p, text("results"), prf_results(ph, eval))) ||
		    !put(u, text("prf"), p) || !put(resp, cbor_build_uint8(6), u))
			die("oom");
	}
	return resp;
}

/* authenticatorGetAssertion; NULL when the allowList does not name our credential. */
static cbor_item_t *
get_assertion(const struct phone *ph, cbor_item_t *req)
{
	cbor_item_t *rp_id = cable_cbor_map_get_int(req, 1), *cdh = cable_cbor_map_get_int(req, 2);
	cbor_item_t *allow = cable_cbor_map_get_int(req, 3);
	cbor_item_t *prf = cable_cbor_map_get_str(cable_cbor_map_get_int(req, 4), "prf");
	cbor_item_t *resp = cbor_new_definite_map(5), *cred = cbor_new_definite_map(2);
	char rp[256];
	uint8_t ad[64], sig[80];
	size_t ad_len, sig_len = sizeof(sig);
	bool found = allow == NULL;

	if (cdh == NULL || rp_id == NULL || !cbor_isa_string(rp_id) ||
	    cbor_string_length(rp_id) >= sizeof(rp))
		die("getAssertion request lacks rpId or clientDataHash");
	for (size_t i = 0; allow != NULL && i < cbor_array_size(allow); i++) {
		cbor_item_t *id = cable_cbor_map_get_str(cbor_array_handle(allow)[i], "id");
		found |= cbor_bytestring_length(id) == sizeof(ph->id) &&
		    memcmp(cbor_bytestring_handle(id), ph->id, sizeof(ph->id)) == 0;
	}
	if (!found) {
		cbor_decref(&resp);
		cbor_decref(&cred);
		return NULL;
	}
	memcpy(rp, cbor_string_handle(rp_id), cbor_string_length(rp_id));
	rp[cbor_string_length(rp_id)] = '\0';
	ad_len = authdata(ph, rp, option_true(cable_cbor_map_get_int(req, 5), "uv"), false, ad);
	sign(ph, ad, ad_len, cdh, sig, &sig_len);
	if (!put(cred, text("id"), cbor_build_bytestring(ph->id, sizeof(ph->id))) ||
	    !put(cred, text("type"), text("public-key")) || !put(resp, cbor_build_uint8(1), cred) ||
	    !put(resp, cbor_build_uint8(2), cbor_build_bytestring(ad, ad_len)) ||
	    !put(resp, cbor_build_uint8(3), cbor_build_bytestring(sig, sig_len)))
		die("oom");
	if (ph->user_id != NULL) {
		cbor_item_t *user = cbor_new_definite_map(1);
		if (!put(user, text("id"), cbor_build_bytestring(ph->user_id, ph->user_id_len)) ||
		    !put(resp, cbor_build_uint8(4), user))
			die("oom");
	}
	if (prf != NULL) {
		cbor_item_t *values = cable_cbor_map_get_str(prf, "eval");
		cbor_item_t *by = cable_cbor_map_get_str(prf, "evalByCredential");
		for (size_t i = 0; by != NULL && i < cbor_map_size(by); i++) {
			cbor_item_t *k = cbor_map_handle(by)[i].key;
			if (cbor_bytestring_length(k) == sizeof(ph->id) &&
			    memcmp(cbor_bytestring_handle(k), ph->id, sizeof(ph->id)) == 0)
				values = cbor_map_handle(by)[i].value;
		}
		if (values != NULL) {
			cbor_item_t *u = cbor_new_definite_map(1), *p = cbor_new_definite_map(1);
			if (!put(p, text("results"), prf_results(ph, values)) || !put(u, text("prf"), p) ||
			    !put(resp, cbor_build_uint8(8), u))
				die("oom");
		}
	}
	return resp;
}

int
main(int argc, char **argv)
{
	struct phone ph;
	struct cable_webauthn_request *req = NULL;
	const char *ctap_out = NULL, *request_out = NULL;
	char *options, *json = NULL, *msg = NULL;
	uint8_t *secret = NULL, buf[64], *resp_bytes = NULL, *out = NULL;
	size_t secret_len, n, resp_len, out_len;
	const uint8_t *ctap;
	size_t ctap_len;
	cbor_item_t *creq = NULL, *resp;
	bool create;
	int r;

	memset(&ph, 0, sizeof(ph));
	if (argc < 4 || (strcmp(argv[1], "create") != 0 && strcmp(argv[1], "get") != 0)) {
		fprintf(stderr, "usage: %s create|get ORIGIN SECRET_HEX [--user-id B64URL] "
				"[--ctap-out FILE] [--request-out FILE] [--no-uv] < options.json\n",
		    argv[0]);
		return 1;
	}
	create = strcmp(argv[1], "create") == 0;
	for (int i = 4; i < argc; i++) {
		if (strcmp(argv[i], "--no-uv") == 0) {
			ph.no_uv = true;
		} else if (i + 1 < argc && strcmp(argv[i], "--user-id") == 0) {
			if (cable_base64url_decode(argv[i + 1], strlen(argv[i + 1]), &ph.user_id,
				&ph.user_id_len) != 0)
				die("bad --user-id");
			i++;
		} else if (i + 1 < argc && strcmp(argv[i], "--ctap-out") == 0) {
			ctap_out = argv[++i];
		} else if (i + 1 < argc && strcmp(argv[i], "--request-out") == 0) {
			request_out = argv[++i];
		} else {
			die("unknown option");
		}
	}
	if (cable_hex_decode_alloc(argv[3], &secret, &secret_len) != 0 || secret_len == 0)
		die("bad SECRET_HEX");
	if (cable_p256_derive_from_secret(secret, secret_len, &ph.key) != 0 ||
	    cable_sha256(secret, secret_len, (const uint8_t *)"id", 2, buf) != 0 ||
	    cable_sha256(secret, secret_len, (const uint8_t *)"prf", 3, ph.prf_secret) != 0)
		die("key derivation");
	memcpy(ph.id, buf, sizeof(ph.id));

	if ((options = calloc(1, MAX_OPTIONS + 1)) == NULL)
		die("oom");
	n = fread(options, 1, MAX_OPTIONS, stdin);
	options[n] = '\0';
	r = create ? cable_webauthn_create_begin(argv[2], options, &req, &msg) :
		     cable_webauthn_get_begin(argv[2], options, &req, &msg);
	free(options);
	if (r != 0) {
		fprintf(stderr, "%s\n", msg);
		free(msg);
		r = 2;
		goto out;
	}
	cable_webauthn_request_ctap(req, &ctap, &ctap_len);
	write_file(request_out, ctap, ctap_len);
	if (cable_cbor_load(ctap + 1, ctap_len - 1, CABLE_CBOR_CANONICAL, &creq) != 0)
		die("request is not canonical CBOR");
	resp = create ? make_credential(&ph, creq) : get_assertion(&ph, creq);
	if (resp == NULL) {
		resp_len = 1;
		if ((resp_bytes = malloc(1)) == NULL)
			die("oom");
		resp_bytes[0] = create ? 0x26 : 0x2e;
	} else {
		if (cable_cbor_encode(resp, &out, &out_len) != 0 || (resp_bytes = malloc(out_len + 1)) == NULL)
			die("encode");
		resp_bytes[0] = 0;
		memcpy(resp_bytes + 1, out, out_len);
		resp_len = out_len + 1;
		free(out);
		cbor_decref(&resp);
	}
	write_file(ctap_out, resp_bytes, resp_len);
	r = cable_webauthn_finish(req, resp_bytes, resp_len, &json, &msg);
	if (r != 0) {
		fprintf(stderr, "%s\n", msg);
		free(msg);
		r = 2;
	} else {
		printf("%s\n", json);
		free(json);
	}
	free(resp_bytes);
	cbor_decref(&creq);
out:
	cable_webauthn_request_free(&req);
	cable_p256_key_wipe(&ph.key);
	cable_wipe(ph.prf_secret, sizeof(ph.prf_secret));
	free(ph.user_id);
	free(secret);
	return r;
}

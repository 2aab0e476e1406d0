/* Unit tests: WebAuthn JSON -> CTAP2 request mapping, RP ID rules, errors, response translation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "cable/authenticator.h"
#include "cable/bytes.h"
#include "cable/cbor.h"
#include "cable/cred-store.h"
#include "cable/error.h"
#include "cable/p256.h"
#include "cable/webauthn.h"
#include "tv.h"

/* ---- a tiny CBOR writer of our own, so expected bytes do not come from the code under test ---- */

struct w {
	uint8_t b[8192];
	size_t n;
};

static void
w_raw(struct w *w, const void *p, size_t n)
{
	assert_true(w->n + n <= sizeof(w->b));
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void
w_head(struct w *w, uint8_t major, uint64_t v)
{
	uint8_t h[9];
	size_t n;

	if (v < 24) {
		h[0] = (uint8_t)(major << 5 | v);
		n = 1;
	} else if (v <= 0xff) {
		h[0] = (uint8_t)(major << 5 | 24);
		h[1] = (uint8_t)v;
		n = 2;
	} else if (v <= 0xffff) {
		h[0] = (uint8_t)(major << 5 | 25);
		h[1] = (uint8_t)(v >> 8);
		h[2] = (uint8_t)v;
		n = 3;
	} else {
		h[0] = (uint8_t)(major << 5 | 26);
		for (int i = 0; i < 4; i++)
			h[1 + i] = (uint8_t)(v >> (24 - 8 * i));
		n = 5;
	}
	w_raw(w, h, n);
}

static void
w_int(struct w *w, int64_t v)
{
	if (v >= 0)
		w_head(w, 0, (uint64_t)v);
	else
		w_head(w, 1, (uint64_t)(-1 - v));
}

static void
w_bytes(struct w *w, const uint8_t *p, size_t n)
{
	w_head(w, 2, n);
	w_raw(w, p, n);
}

static void
w_text(struct w *w, const char *s)
{
	w_head(w, 3, strlen(s));
	w_raw(w, s, strlen(s));
}

static void
w_bool(struct w *w, bool b)
{
	uint8_t v = b ? 0xf5 : 0xf4;
	w_raw(w, &v, 1);
}

/* ---- helpers ---- */

static char unset_msg[] = "unset";

static void
sha256(const void *p, size_t n, uint8_t out[32])
{
	SHA256(p, n, out);
}

static struct cable_webauthn_request *
begin_ok(bool create, const char *origin, const char *json)
{
	struct cable_webauthn_request *req = NULL;
	char *msg = unset_msg;
	int r = create ? cable_webauthn_create_begin(origin, json, &req, &msg) :
			 cable_webauthn_get_begin(origin, json, &req, &msg);

	if (r != 0)
		fail_msg("begin failed: %d %s (json %s)", r, msg ? msg : "(null)", json);
	assert_null(msg);
	assert_non_null(req);
	return req;
}

static void
expect_err(bool create, const char *origin, const char *json, int code, const char *substr)
{
	struct cable_webauthn_request *req = NULL;
	char *msg = NULL;
	int r = create ? cable_webauthn_create_begin(origin, json, &req, &msg) :
			 cable_webauthn_get_begin(origin, json, &req, &msg);

	if (r != code || msg == NULL || strstr(msg, substr) == NULL)
		fail_msg("want %d \"%s\", got %d \"%s\" for %s", code, substr, r,
		    msg ? msg : "(null)", json);
	assert_null(req);
	free(msg);
}

/* Loads the request's CBOR with the canonical check and returns its command byte. */
static cbor_item_t *
load_request(const struct cable_webauthn_request *req, uint8_t *cmd)
{
	const uint8_t *buf;
	size_t len;
	cbor_item_t *item = NULL;

	cable_webauthn_request_ctap(req, &buf, &len);
	assert_true(len > 1);
	*cmd = buf[0];
	assert_int_equal(cable_cbor_load(buf + 1, len - 1, CABLE_CBOR_CANONICAL, &item), 0);
	assert_true(cbor_isa_map(item));
	return item;
}

static void
assert_text(cbor_item_t *item, const char *want)
{
	assert_non_null(item);
	assert_true(cbor_isa_string(item));
	assert_int_equal(cbor_string_length(item), strlen(want));
	assert_memory_equal(cbor_string_handle(item), want, strlen(want));
}

static void
assert_bstr(cbor_item_t *item, const uint8_t *want, size_t n)
{
	assert_non_null(item);
	assert_true(cbor_isa_bytestring(item));
	assert_int_equal(cbor_bytestring_length(item), n);
	assert_memory_equal(cbor_bytestring_handle(item), want, n);
}

static void
assert_true_item(cbor_item_t *item)
{
	assert_non_null(item);
	assert_true(cbor_isa_float_ctrl(item) && cbor_float_ctrl_is_ctrl(item) && cbor_is_bool(item) &&
	    cbor_get_bool(item));
}

static int64_t
int_of(cbor_item_t *item)
{
	int64_t v;
	assert_int_equal(cable_cbor_get_int(item, &v), 0);
	return v;
}

static uint8_t *
b64dec(const char *s, size_t *n)
{
	uint8_t *out = NULL;
	assert_int_equal(cable_base64url_decode(s, strlen(s), &out, n), 0);
	return out;
}

static char *
b64enc(const void *p, size_t n)
{
	char *s = NULL;
	assert_int_equal(cable_base64url_encode(p, n, &s), 0);
	return s;
}

/* ---- fixtures ---- */

/* "AAECAwQFBgcICQoLDA0ODw" is bytes 0..15; "dXNlcg" is "user". */
#define CHALLENGE_B64 "AAECAwQFBgcICQoLDA0ODw"
#define CREATE_BASE                                                                            \
	"\"rp\":{\"id\":\"example.com\",\"name\":\"Example\"},"                                    \
	"\"user\":{\"id\":\"dXNlcg\",\"name\":\"alice@example.com\",\"displayName\":\"Alice\"},"   \
	"\"challenge\":\"" CHALLENGE_B64 "\","                                                     \
	"\"pubKeyCredParams\":[{\"type\":\"public-key\",\"alg\":-7},{\"type\":\"public-key\","     \
	"\"alg\":-257}]"

static const char *const create_json = "{" CREATE_BASE "}";

/* ---- request mapping ---- */

static void
test_create_basic(void **state)
{
	struct cable_webauthn_request *req;
	cbor_item_t *m, *rp, *user, *params, *opt;
	uint8_t cmd, cdh[32];
	const char *cdj;
	const char *want_cdj = "{\"type\":\"webauthn.create\",\"challenge\":\"" CHALLENGE_B64
			       "\",\"origin\":\"https://login.example.com\",\"crossOrigin\":false}";

	(void)state;
	req = begin_ok(true, "https://login.example.com", create_json);
	assert_string_equal(cable_webauthn_request_type(req), "mc");
	assert_string_equal(cable_webauthn_request_rp_id(req), "example.com");
	assert_string_equal(cable_webauthn_request_origin(req), "https://login.example.com");
	assert_int_equal(cable_webauthn_request_timeout_ms(req), 120000);
	cdj = cable_webauthn_request_client_data_json(req);
	assert_string_equal(cdj, want_cdj);

	m = load_request(req, &cmd);
	assert_int_equal(cmd, 0x01);
	assert_int_equal(cbor_map_size(m), 5); /* 1, 2, 3, 4, 7 */
	sha256(want_cdj, strlen(want_cdj), cdh);
	assert_bstr(cable_cbor_map_get_int(m, 1), cdh, 32);
	rp = cable_cbor_map_get_int(m, 2);
	assert_int_equal(cbor_map_size(rp), 2);
	assert_text(cable_cbor_map_get_str(rp, "id"), "example.com");
	assert_text(cable_cbor_map_get_str(rp, "name"), "Example");
	user = cable_cbor_map_get_int(m, 3);
	assert_int_equal(cbor_map_size(user), 3);
	assert_bstr(cable_cbor_map_get_str(user, "id"), (const uint8_t *)"user", 4);
	assert_text(cable_cbor_map_get_str(user, "name"), "alice@example.com");
	assert_text(cable_cbor_map_get_str(user, "displayName"), "Alice");
	params = cable_cbor_map_get_int(m, 4);
	assert_int_equal(cbor_array_size(params), 2);
	assert_int_equal(int_of(cable_cbor_map_get_str(cbor_array_handle(params)[0], "alg")), -7);
	assert_text(cable_cbor_map_get_str(cbor_array_handle(params)[0], "type"), "public-key");
	assert_int_equal(int_of(cable_cbor_map_get_str(cbor_array_handle(params)[1], "alg")), -257);
	assert_null(cable_cbor_map_get_int(m, 5));
	assert_null(cable_cbor_map_get_int(m, 6));
	opt = cable_cbor_map_get_int(m, 7);
	assert_int_equal(cbor_map_size(opt), 1); /* preferred UV by default, no rk */
	assert_true_item(cable_cbor_map_get_str(opt, "uv"));
	cbor_decref(&m);
	cable_webauthn_request_free(&req);
	assert_null(req);
	cable_webauthn_request_free(&req);
	cable_webauthn_request_free(NULL);
}

/* The exact bytes of a getAssertion request, written out by hand. */
static void
test_get_exact_bytes(void **state)
{
	struct cable_webauthn_request *req;
	const uint8_t *buf;
	size_t len;
	struct w w = {.n = 0};
	uint8_t cdh[32];
	const char *cdj = "{\"type\":\"webauthn.get\",\"challenge\":\"" CHALLENGE_B64
			  "\",\"origin\":\"https://example.com\",\"crossOrigin\":false}";

	(void)state;
	req = begin_ok(false, "https://example.com", "{\"challenge\":\"" CHALLENGE_B64 "\"}");
	assert_string_equal(cable_webauthn_request_type(req), "ga");
	assert_string_equal(cable_webauthn_request_rp_id(req), "example.com");
	assert_string_equal(cable_webauthn_request_client_data_json(req), cdj);
	sha256(cdj, strlen(cdj), cdh);
	w_raw(&w, "\x02", 1);
	w_head(&w, 5, 3);
	w_int(&w, 1);
	w_text(&w, "example.com");
	w_int(&w, 2);
	w_bytes(&w, cdh, 32);
	w_int(&w, 5);
	w_head(&w, 5, 1);
	w_text(&w, "uv");
	w_bool(&w, true);
	cable_webauthn_request_ctap(req, &buf, &len);
	tv_assert_bytes(buf, len, w.b, w.n);
	cable_webauthn_request_free(&req);
}

struct sel_case {
	const char *sel;  /* authenticatorSelection JSON */
	int rk;           /* expect rk:true */
	int uv;           /* expect uv:true */
};

static void
test_create_selection_mapping(void **state)
{
	static const struct sel_case cases[] = {
		{"{}", 0, 1},
		{"{\"userVerification\":\"required\"}", 0, 1},
		{"{\"userVerification\":\"preferred\"}", 0, 1},
		{"{\"userVerification\":\"discouraged\"}", 0, 0},
		{"{\"userVerification\":\"sometimes\"}", 0, 1}, /* unknown enum = absent */
		{"{\"residentKey\":\"required\"}", 1, 1},
		{"{\"residentKey\":\"preferred\"}", 1, 1},
		{"{\"residentKey\":\"discouraged\"}", 0, 1},
		{"{\"residentKey\":\"discouraged\",\"requireResidentKey\":true}", 0, 1},
		{"{\"residentKey\":\"bogus\",\"requireResidentKey\":true}", 1, 1},
		{"{\"requireResidentKey\":true}", 1, 1},
		{"{\"requireResidentKey\":false}", 0, 1},
		{"{\"residentKey\":\"required\",\"userVerification\":\"discouraged\"}", 1, 0},
		{"{\"authenticatorAttachment\":\"cross-platform\"}", 0, 1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char json[1024];
		struct cable_webauthn_request *req;
		cbor_item_t *m, *opt;
		uint8_t cmd;

		snprintf(json, sizeof(json),
		    "{" CREATE_BASE ",\"authenticatorSelection\":%s,\"extensions\":{\"credProps\":true}}",
		    cases[i].sel);
		req = begin_ok(true, "https://example.com", json);
		m = load_request(req, &cmd);
		opt = cable_cbor_map_get_int(m, 7);
		if (!cases[i].rk && !cases[i].uv) {
			assert_null(opt);
		} else {
			assert_non_null(opt);
			assert_int_equal(cbor_map_size(opt), cases[i].rk + cases[i].uv);
			if (cases[i].rk)
				assert_true_item(cable_cbor_map_get_str(opt, "rk"));
			if (cases[i].uv)
				assert_true_item(cable_cbor_map_get_str(opt, "uv"));
		}
		assert_null(cable_cbor_map_get_str(opt, "up"));
		/* credProps is answered by the client and never forwarded. */
		assert_null(cable_cbor_map_get_int(m, 6));
		cbor_decref(&m);
		cable_webauthn_request_free(&req);
	}
}

static void
test_create_params_and_exclude(void **state)
{
	struct cable_webauthn_request *req;
	cbor_item_t *m, *params, *ex;
	uint8_t cmd;

	(void)state;
	/* An empty list means ES256 and RS256; unknown types are skipped. */
	req = begin_ok(true, "https://example.com",
	    "{\"rp\":{\"name\":\"E\"},\"user\":{\"id\":\"dXNlcg\",\"name\":\"a\",\"displayName\":\"A\"},"
	    "\"challenge\":\"" CHALLENGE_B64 "\",\"pubKeyCredParams\":[],\"timeout\":30000,"
	    "\"excludeCredentials\":[{\"type\":\"public-key\",\"id\":\"AQID\",\"transports\":[\"usb\"]},"
	    "{\"type\":\"future-type\",\"id\":\"BAUG\"},{\"type\":\"public-key\",\"id\":\"BwgJCg\"}],"
	    "\"attestation\":\"direct\",\"hints\":[\"hybrid\"]}");
	assert_string_equal(cable_webauthn_request_rp_id(req), "example.com"); /* default: host */
	assert_int_equal(cable_webauthn_request_timeout_ms(req), 30000);
	m = load_request(req, &cmd);
	params = cable_cbor_map_get_int(m, 4);
	assert_int_equal(cbor_array_size(params), 2);
	assert_int_equal(int_of(cable_cbor_map_get_str(cbor_array_handle(params)[0], "alg")), -7);
	assert_int_equal(int_of(cable_cbor_map_get_str(cbor_array_handle(params)[1], "alg")), -257);
	ex = cable_cbor_map_get_int(m, 5);
	assert_non_null(ex);
	assert_int_equal(cbor_array_size(ex), 2);
	assert_bstr(cable_cbor_map_get_str(cbor_array_handle(ex)[0], "id"), (const uint8_t *)"\1\2\3", 3);
	assert_text(cable_cbor_map_get_str(cbor_array_handle(ex)[0], "type"), "public-key");
	assert_int_equal(cbor_map_size(cbor_array_handle(ex)[0]), 2); /* transports not forwarded */
	assert_bstr(cable_cbor_map_get_str(cbor_array_handle(ex)[1], "id"),
	    (const uint8_t *)"\7\10\11\12", 4);
	cbor_decref(&m);
	cable_webauthn_request_free(&req);

	/* Only unknown types: nothing usable. Order kept; timeout clamped both ways. */
	expect_err(true, "https://example.com",
	    "{" CREATE_BASE ",\"pubKeyCredParams\":[{\"type\":\"x\",\"alg\":-7}]}",
	    CABLE_ERR_WEBAUTHN_OPTIONS, "options: invalid JSON"); /* duplicate member */
	expect_err(true, "https://example.com",
	    "{\"rp\":{\"name\":\"E\"},\"user\":{\"id\":\"dXNlcg\",\"name\":\"a\",\"displayName\":\"A\"},"
	    "\"challenge\":\"" CHALLENGE_B64 "\",\"pubKeyCredParams\":[{\"type\":\"x\",\"alg\":-7}]}",
	    CABLE_ERR_WEBAUTHN_OPTIONS, "options.pubKeyCredParams: no entry of type \"public-key\"");
	req = begin_ok(true, "https://example.com",
	    "{\"rp\":{\"name\":\"E\"},\"user\":{\"id\":\"dXNlcg\",\"name\":\"a\",\"displayName\":\"A\"},"
	    "\"challenge\":\"" CHALLENGE_B64 "\",\"pubKeyCredParams\":[{\"type\":\"public-key\","
	    "\"alg\":-8},{\"type\":\"x\",\"alg\":1},{\"type\":\"public-key\",\"alg\":-7}],"
	    "\"timeout\":99999999}");
	assert_int_equal(cable_webauthn_request_timeout_ms(req), 600000);
	m = load_request(req, &cmd);
	params = cable_cbor_map_get_int(m, 4);
	assert_int_equal(cbor_array_size(params), 2);
	assert_int_equal(int_of(cable_cbor_map_get_str(cbor_array_handle(params)[0], "alg")), -8);
	assert_int_equal(int_of(cable_cbor_map_get_str(cbor_array_handle(params)[1], "alg")), -7);
	cbor_decref(&m);
	cable_webauthn_request_free(&req);
	req = begin_ok(false, "https://example.com",
	    "{\"challenge\":\"" CHALLENGE_B64 "\",\"timeout\":0.5,\"userVerification\":null}");
	assert_int_equal(cable_webauthn_request_timeout_ms(req), 1000);
	cable_webauthn_request_free(&req);
}

static void
prf_expected(const char *input, uint8_t out[32])
{
	uint8_t buf[256];
	size_t n = strlen(input);

	memcpy(buf, "WebAuthn PRF\0", 13);
	memcpy(buf + 13, input, n);
	sha256(buf, 13 + n, out);
}

static void
test_create_prf(void **state)
{
	struct cable_webauthn_request *req;
	cbor_item_t *m, *ext, *prf, *eval;
	uint8_t cmd, want1[32], want2[32];
	char json[2048];
	char *in1 = b64enc("salt one", 8), *in2 = b64enc("salt two", 8);

	(void)state;
	snprintf(json, sizeof(json),
	    "{" CREATE_BASE ",\"extensions\":{\"prf\":{\"eval\":{\"second\":\"%s\",\"first\":\"%s\"}},"
	    "\"unknownExtension\":42}}", in2, in1);
	req = begin_ok(true, "https://example.com", json);
	m = load_request(req, &cmd);
	ext = cable_cbor_map_get_int(m, 6);
	assert_non_null(ext);
	assert_int_equal(cbor_map_size(ext), 1); /* the unknown extension is not forwarded */
	prf = cable_cbor_map_get_str(ext, "prf");
	assert_int_equal(cbor_map_size(prf), 1);
	eval = cable_cbor_map_get_str(prf, "eval");
	prf_expected("salt one", want1);
	prf_expected("salt two", want2);
	assert_bstr(cable_cbor_map_get_str(eval, "first"), want1, 32);
	assert_bstr(cable_cbor_map_get_str(eval, "second"), want2, 32);
	cbor_decref(&m);
	cable_webauthn_request_free(&req);

	/* "prf": {} asks only whether PRF is enabled; it raises UV over "discouraged". */
	req = begin_ok(true, "https://example.com", "{" CREATE_BASE ",\"extensions\":{\"prf\":{}},"
	    "\"authenticatorSelection\":{\"userVerification\":\"discouraged\"}}");
	m = load_request(req, &cmd);
	assert_true_item(cable_cbor_map_get_str(cable_cbor_map_get_int(m, 7), "uv"));
	prf = cable_cbor_map_get_str(cable_cbor_map_get_int(m, 6), "prf");
	assert_non_null(prf);
	assert_true(cbor_isa_map(prf));
	assert_int_equal(cbor_map_size(prf), 0);
	cbor_decref(&m);
	cable_webauthn_request_free(&req);

	expect_err(true, "https://example.com",
	    "{" CREATE_BASE ",\"extensions\":{\"prf\":{\"evalByCredential\":{\"AQID\":{\"first\":\"\"}}}}}",
	    CABLE_ERR_WEBAUTHN_OPTIONS, "options.extensions.prf.evalByCredential: not allowed");
	free(in1);
	free(in2);
}

static void
test_get_allow_and_prf(void **state)
{
	struct cable_webauthn_request *req;
	cbor_item_t *m, *allow, *prf, *by, *opt;
	struct cbor_pair *pairs;
	uint8_t cmd, want[32];
	char json[2048];

	(void)state;
	/* Credential IDs 0x0a0b (Cgs) and 0x01 (AQ): the byte-string keys must come out ordered by
	 * length first (AQ before Cgs) whatever the JSON order. */
	snprintf(json, sizeof(json),
	    "{\"challenge\":\"" CHALLENGE_B64 "\",\"rpId\":\"example.com\",\"timeout\":5000,"
	    "\"userVerification\":\"discouraged\",\"allowCredentials\":["
	    "{\"type\":\"public-key\",\"id\":\"Cgs\",\"transports\":[\"hybrid\",\"internal\"]},"
	    "{\"type\":\"public-key\",\"id\":\"AQ\"}],"
	    "\"extensions\":{\"prf\":{\"eval\":{\"first\":\"%s\"},\"evalByCredential\":{"
	    "\"Cgs\":{\"first\":\"%s\"},\"AQ\":{\"first\":\"%s\",\"second\":\"%s\"}}}}}",
	    "ZGVmYXVsdA", "Y3JlZC1h", "Y3JlZC1i", "c2Vjb25k");
	req = begin_ok(false, "https://a.b.example.com", json);
	assert_string_equal(cable_webauthn_request_rp_id(req), "example.com");
	assert_int_equal(cable_webauthn_request_timeout_ms(req), 5000);
	m = load_request(req, &cmd);
	assert_int_equal(cmd, 0x02);
	assert_text(cable_cbor_map_get_int(m, 1), "example.com");
	allow = cable_cbor_map_get_int(m, 3);
	assert_int_equal(cbor_array_size(allow), 2);
	assert_bstr(cable_cbor_map_get_str(cbor_array_handle(allow)[0], "id"),
	    (const uint8_t *)"\x0a\x0b", 2);
	assert_int_equal(cbor_map_size(cbor_array_handle(allow)[0]), 2);
	prf = cable_cbor_map_get_str(cable_cbor_map_get_int(m, 4), "prf");
	prf_expected("default", want);
	assert_bstr(cable_cbor_map_get_str(cable_cbor_map_get_str(prf, "eval"), "first"), want, 32);
	by = cable_cbor_map_get_str(prf, "evalByCredential");
	assert_int_equal(cbor_map_size(by), 2);
	pairs = cbor_map_handle(by);
	assert_bstr(pairs[0].key, (const uint8_t *)"\x01", 1);
	assert_bstr(pairs[1].key, (const uint8_t *)"\x0a\x0b", 2);
	prf_expected("cred-b", want);
	assert_bstr(cable_cbor_map_get_str(pairs[0].value, "first"), want, 32);
	prf_expected("second", want);
	assert_bstr(cable_cbor_map_get_str(pairs[0].value, "second"), want, 32);
	prf_expected("cred-a", want);
	assert_bstr(cable_cbor_map_get_str(pairs[1].value, "first"), want, 32);
	assert_null(cable_cbor_map_get_str(pairs[1].value, "second"));
	opt = cable_cbor_map_get_int(m, 5);
	assert_non_null(opt); /* discouraged, but prf raises UV as Chrome does */
	assert_true_item(cable_cbor_map_get_str(opt, "uv"));
	cbor_decref(&m);
	cable_webauthn_request_free(&req);
	/* Without prf, discouraged means no uv. */
	req = begin_ok(false, "https://example.com",
	    "{\"challenge\":\"" CHALLENGE_B64 "\",\"userVerification\":\"discouraged\"}");
	m = load_request(req, &cmd);
	assert_null(cable_cbor_map_get_int(m, 5));
	cbor_decref(&m);
	cable_webauthn_request_free(&req);

	expect_err(false, "https://example.com",
	    "{\"challenge\":\"" CHALLENGE_B64 "\",\"allowCredentials\":[{\"type\":\"public-key\","
	    "\"id\":\"AQ\"}],\"extensions\":{\"prf\":{\"evalByCredential\":{\"Ag\":{\"first\":\"\"}}}}}",
	    CABLE_ERR_WEBAUTHN_OPTIONS,
	    "options.extensions.prf.evalByCredential[\"Ag\"]: names a credential that is not in "
	    "allowCredentials");
	expect_err(false, "https://example.com",
	    "{\"challenge\":\"" CHALLENGE_B64 "\","
	    "\"extensions\":{\"prf\":{\"evalByCredential\":{\"AQ\":{\"first\":\"\"}}}}}",
	    CABLE_ERR_WEBAUTHN_OPTIONS, "options.extensions.prf.evalByCredential: needs a non-empty");
	expect_err(false, "https://example.com",
	    "{\"challenge\":\"" CHALLENGE_B64 "\",\"allowCredentials\":[{\"type\":\"public-key\","
	    "\"id\":\"AQ\"}],\"extensions\":{\"prf\":{\"evalByCredential\":{\"A=\":{\"first\":\"\"}}}}}",
	    CABLE_ERR_WEBAUTHN_OPTIONS,
	    "options.extensions.prf.evalByCredential[\"A=\"]: not valid base64url");
	expect_err(false, "https://example.com",
	    "{\"challenge\":\"" CHALLENGE_B64 "\",\"extensions\":{\"prf\":{\"eval\":{}}}}",
	    CABLE_ERR_WEBAUTHN_OPTIONS, "options.extensions.prf.eval.first: missing");
}

/* ---- errors name their field ---- */

struct err_case {
	bool create;
	const char *json;
	const char *msg;
};

#define USER_OK "\"user\":{\"id\":\"dXNlcg\",\"name\":\"a\",\"displayName\":\"A\"}"
#define RP_OK "\"rp\":{\"name\":\"E\"}"
#define CH_OK "\"challenge\":\"" CHALLENGE_B64 "\""
#define PK_OK "\"pubKeyCredParams\":[{\"type\":\"public-key\",\"alg\":-7}]"

static void
test_option_errors(void **state)
{
	static const struct err_case cases[] = {
		{true, "not json", "options: invalid JSON at line 1"},
		{true, "[1,2]", "options: must be a JSON object"},
		{true, "{\"rp\":{},\"rp\":{}}", "duplicate"},
		{true, "{" USER_OK "," CH_OK "," PK_OK "}", "options.rp: missing"},
		{true, "{\"rp\":[]," USER_OK "," CH_OK "," PK_OK "}", "options.rp: must be an object"},
		{true, "{\"rp\":{}," USER_OK "," CH_OK "," PK_OK "}", "options.rp.name: missing"},
		{true, "{\"rp\":{\"name\":\"E\",\"id\":7}," USER_OK "," CH_OK "," PK_OK "}",
		    "options.rp.id: must be a string"},
		{true, "{" RP_OK "," CH_OK "," PK_OK "}", "options.user: missing"},
		{true, "{" RP_OK ",\"user\":{\"name\":\"a\",\"displayName\":\"A\"}," CH_OK "," PK_OK "}",
		    "options.user.id: missing"},
		{true, "{" RP_OK ",\"user\":{\"id\":\"dX+lcg\",\"name\":\"a\",\"displayName\":\"A\"},"
		       CH_OK "," PK_OK "}", "options.user.id: not valid base64url"},
		{true, "{" RP_OK ",\"user\":{\"id\":\"dXNlcg==\",\"name\":\"a\",\"displayName\":\"A\"},"
		       CH_OK "," PK_OK "}", "options.user.id: not valid base64url"},
		{true, "{" RP_OK ",\"user\":{\"id\":\"\",\"name\":\"a\",\"displayName\":\"A\"},"
		       CH_OK "," PK_OK "}", "options.user.id: must be at least 1 bytes"},
		{true, "{" RP_OK ",\"user\":{\"id\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"name\":\"a\",\"displayName\":\"A\"},"
		       CH_OK "," PK_OK "}", "options.user.id: longer than 64 bytes"},
		{true, "{" RP_OK ",\"user\":{\"id\":\"dXNlcg\",\"name\":1,\"displayName\":\"A\"},"
		       CH_OK "," PK_OK "}", "options.user.name: must be a string"},
		{true, "{" RP_OK ",\"user\":{\"id\":\"dXNlcg\",\"name\":\"a\"}," CH_OK "," PK_OK "}",
		    "options.user.displayName: missing"},
		{true, "{" RP_OK "," USER_OK "," PK_OK "}", "options.challenge: missing"},
		{true, "{" RP_OK "," USER_OK ",\"challenge\":12," PK_OK "}",
		    "options.challenge: must be a base64url string"},
		{true, "{" RP_OK "," USER_OK ",\"challenge\":\"a.b\"," PK_OK "}",
		    "options.challenge: not valid base64url"},
		{true, "{" RP_OK "," USER_OK ",\"challenge\":\"\"," PK_OK "}",
		    "options.challenge: must be at least 1 bytes"},
		{true, "{" RP_OK "," USER_OK "," CH_OK "}", "options.pubKeyCredParams: missing"},
		{true, "{" RP_OK "," USER_OK "," CH_OK ",\"pubKeyCredParams\":{}}",
		    "options.pubKeyCredParams: must be an array"},
		{true, "{" RP_OK "," USER_OK "," CH_OK ",\"pubKeyCredParams\":[7]}",
		    "options.pubKeyCredParams[0]: must be an object"},
		{true, "{" RP_OK "," USER_OK "," CH_OK ",\"pubKeyCredParams\":[{\"type\":\"public-key\","
		       "\"alg\":-7},{\"type\":\"public-key\",\"alg\":\"ES256\"}]}",
		    "options.pubKeyCredParams[1].alg: must be a COSE algorithm number"},
		{true, "{" RP_OK "," USER_OK "," CH_OK ",\"pubKeyCredParams\":[{\"alg\":-7}]}",
		    "options.pubKeyCredParams[0].type: missing"},
		{true, "{" RP_OK "," USER_OK "," CH_OK ",\"pubKeyCredParams\":[{\"type\":\"public-key\"}]}",
		    "options.pubKeyCredParams[0].alg: missing"},
		{true, "{" RP_OK "," USER_OK "," CH_OK "," PK_OK ",\"timeout\":\"60s\"}",
		    "options.timeout: must be a number"},
		{true, "{" RP_OK "," USER_OK "," CH_OK "," PK_OK ",\"timeout\":-1}",
		    "options.timeout: must not be negative"},
		{true, "{" RP_OK "," USER_OK "," CH_OK "," PK_OK ",\"excludeCredentials\":{}}",
		    "options.excludeCredentials: must be an array"},
		{true, "{" RP_OK "," USER_OK "," CH_OK "," PK_OK ",\"excludeCredentials\":[{\"type\":"
		       "\"public-key\",\"id\":\"AQ\"},{\"type\":\"public-key\",\"id\":\"A\"}]}",
		    "options.excludeCredentials[1].id: not valid base64url"},
		{true, "{" RP_OK "," USER_OK "," CH_OK "," PK_OK ",\"excludeCredentials\":[{\"type\":"
		       "\"public-key\",\"id\":\"AQ\",\"transports\":[1]}]}",
		    "options.excludeCredentials[0].transports[0]: must be a string"},
		{true, "{" RP_OK "," USER_OK "," CH_OK "," PK_OK ",\"authenticatorSelection\":true}",
		    "options.authenticatorSelection: must be an object"},
		{true, "{" RP_OK "," USER_OK "," CH_OK "," PK_OK ",\"authenticatorSelection\":"
		       "{\"requireResidentKey\":\"yes\"}}",
		    "options.authenticatorSelection.requireResidentKey: must be true or false"},
		{true, "{" RP_OK "," USER_OK "," CH_OK "," PK_OK ",\"authenticatorSelection\":"
		       "{\"userVerification\":1}}",
		    "options.authenticatorSelection.userVerification: must be a string"},
		{true, "{" RP_OK "," USER_OK "," CH_OK "," PK_OK ",\"authenticatorSelection\":"
		       "{\"residentKey\":false}}",
		    "options.authenticatorSelection.residentKey: must be a string"},
		{true, "{" RP_OK "," USER_OK "," CH_OK "," PK_OK ",\"attestation\":1}",
		    "options.attestation: must be a string"},
		{true, "{" RP_OK "," USER_OK "," CH_OK "," PK_OK ",\"hints\":\"hybrid\"}",
		    "options.hints: must be an array"},
		{true, "{" RP_OK "," USER_OK "," CH_OK "," PK_OK ",\"extensions\":[]}",
		    "options.extensions: must be an object"},
		{true, "{" RP_OK "," USER_OK "," CH_OK "," PK_OK ",\"extensions\":{\"credProps\":1}}",
		    "options.extensions.credProps: must be true or false"},
		{true, "{" RP_OK "," USER_OK "," CH_OK "," PK_OK ",\"extensions\":{\"prf\":true}}",
		    "options.extensions.prf: must be an object"},
		{true, "{" RP_OK "," USER_OK "," CH_OK "," PK_OK ",\"extensions\":{\"prf\":{\"eval\":"
		       "{\"first\":\"!!\"}}}}",
		    "options.extensions.prf.eval.first: not valid base64url"},
		{true, "{" RP_OK "," USER_OK "," CH_OK "," PK_OK ",\"extensions\":{\"prf\":{\"eval\":"
		       "{\"first\":\"\",\"second\":5}}}}",
		    "options.extensions.prf.eval.second: must be a base64url string"},
		{true, "{\"publicKey\":{" RP_OK "," USER_OK "," PK_OK "}}",
		    "options.publicKey.challenge: missing"},
		{true, "{\"publicKey\":7}", "options.publicKey: must be an object"},
		{false, "{}", "options.challenge: missing"},
		{false, "{" CH_OK ",\"rpId\":5}", "options.rpId: must be a string"},
		{false, "{" CH_OK ",\"allowCredentials\":[{\"id\":\"AQ\"}]}",
		    "options.allowCredentials[0].type: missing"},
		{false, "{" CH_OK ",\"allowCredentials\":[{\"type\":\"public-key\"}]}",
		    "options.allowCredentials[0].id: missing"},
		{false, "{" CH_OK ",\"allowCredentials\":[{\"type\":\"public-key\",\"id\":\"\"}]}",
		    "options.allowCredentials[0].id: must be at least 1 bytes"},
		{false, "{" CH_OK ",\"userVerification\":true}", "options.userVerification: must be a string"},
		{false, "{" CH_OK ",\"extensions\":{\"prf\":{\"eval\":[]}}}",
		    "options.extensions.prf.eval: must be an object"},
		{false, "{" CH_OK ",\"extensions\":{\"prf\":{\"evalByCredential\":[]}}}",
		    "options.extensions.prf.evalByCredential: must be an object"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_err(cases[i].create, "https://example.com", cases[i].json,
		    CABLE_ERR_WEBAUTHN_OPTIONS, cases[i].msg);
	/* Caps and arguments. */
	{
		size_t big = CABLE_WEBAUTHN_MAX_OPTIONS_LEN + 10;
		char *s = malloc(big + 1);
		struct cable_webauthn_request *req = NULL;
		char *msg = NULL;
		memset(s, ' ', big);
		s[0] = '{';
		s[big - 1] = '}';
		s[big] = '\0';
		expect_err(true, "https://example.com", s, CABLE_ERR_TOO_BIG, "options: larger than");
		free(s);
		expect_err(true, "https://example.com", NULL, CABLE_ERR_ARG, "options: missing");
		/* Per-member caps. */
		s = malloc(64 * 1024);
		{
			size_t n = (size_t)sprintf(s, "{" CH_OK ",\"allowCredentials\":[");
			for (unsigned i = 0; i <= CABLE_WEBAUTHN_MAX_CREDENTIALS; i++)
				n += (size_t)sprintf(s + n, "%s{\"type\":\"public-key\",\"id\":\"AQ\"}",
				    i ? "," : "");
			sprintf(s + n, "]}");
		}
		expect_err(false, "https://example.com", s, CABLE_ERR_WEBAUTHN_OPTIONS,
		    "options.allowCredentials: more than 256 entries");
		{
			size_t n = (size_t)sprintf(s, "{\"challenge\":\"");
			memset(s + n, 'A', 1400);
			sprintf(s + n + 1400, "\"}");
		}
		expect_err(false, "https://example.com", s, CABLE_ERR_WEBAUTHN_OPTIONS,
		    "options.challenge: longer than 1024 bytes");
		{
			size_t n = (size_t)sprintf(s, "{\"rp\":{\"name\":\"");
			memset(s + n, 'x', 1025);
			sprintf(s + n + 1025, "\"}," USER_OK "," CH_OK "," PK_OK "}");
		}
		expect_err(true, "https://example.com", s, CABLE_ERR_WEBAUTHN_OPTIONS,
		    "options.rp.name: longer than 1024 bytes");
		free(s);
		assert_int_equal(cable_webauthn_get_begin("https://example.com", "{}", NULL, &msg),
		    CABLE_ERR_ARG);
		free(msg);
		assert_int_equal(cable_webauthn_get_begin("https://example.com", "{}", &req, NULL),
		    CABLE_ERR_WEBAUTHN_OPTIONS);
		assert_null(req);
	}
}

/* ---- origins and RP IDs ---- */

struct rp_case {
	const char *origin;
	const char *rp_id; /* NULL: not given */
	int want;          /* 0, CABLE_ERR_WEBAUTHN_ORIGIN or CABLE_ERR_WEBAUTHN_RP_ID */
	const char *norm_or_msg;
};

static void
test_rp_id_rules(void **state)
{
	static const struct rp_case cases[] = {
		{"https://login.example.com", "example.com", 0, "https://login.example.com"},
		{"https://login.example.com", "login.example.com", 0, "https://login.example.com"},
		{"https://login.example.com", NULL, 0, "https://login.example.com"},
		{"https://a.b.example.co.uk", "b.example.co.uk", 0, "https://a.b.example.co.uk"},
		{"https://a.b.example.co.uk", "example.co.uk", 0, "https://a.b.example.co.uk"},
		{"https://login.example.com", "com", CABLE_ERR_WEBAUTHN_RP_ID, "\"com\" is a public suffix"},
		{"https://example.co.uk", "co.uk", CABLE_ERR_WEBAUTHN_RP_ID, "\"co.uk\" is a public suffix"},
		{"https://example.co.uk", "uk", CABLE_ERR_WEBAUTHN_RP_ID, "public suffix"},
		{"https://foo.github.io", "github.io", CABLE_ERR_WEBAUTHN_RP_ID, "public suffix"},
		{"https://login.example.com", "other-site.com", CABLE_ERR_WEBAUTHN_RP_ID,
		    "neither the origin's host \"login.example.com\" nor a suffix of it"},
		{"https://example.com", "ample.com", CABLE_ERR_WEBAUTHN_RP_ID, "nor a suffix"},
		{"https://example.com", "login.example.com", CABLE_ERR_WEBAUTHN_RP_ID, "nor a suffix"},
		{"https://login.example.com", "Example.com", CABLE_ERR_WEBAUTHN_RP_ID, "must be lower case"},
		{"https://login.example.com", "example..com", CABLE_ERR_WEBAUTHN_RP_ID, "not a valid domain"},
		{"https://login.example.com", "", CABLE_ERR_WEBAUTHN_RP_ID, "not a valid domain"},
		{"http://localhost", NULL, 0, "http://localhost"},
		{"http://localhost:8080", "localhost", 0, "http://localhost:8080"},
		{"http://LOCALHOST:80/", NULL, 0, "http://localhost"},
		{"https://EXAMPLE.com:443/", "example.com", 0, "https://example.com"},
		{"https://example.com:8443", "example.com", 0, "https://example.com:8443"},
		{"http://example.com", "example.com", CABLE_ERR_WEBAUTHN_ORIGIN, "needs https"},
		{"http://app.localhost:3000", NULL, 0, "http://app.localhost:3000"},
		{"http://app.localhost", "localhost", CABLE_ERR_WEBAUTHN_RP_ID, "public suffix"},
		{"http://localhost.example.com", NULL, CABLE_ERR_WEBAUTHN_ORIGIN, "needs https"},
		{"http://xlocalhost", NULL, CABLE_ERR_WEBAUTHN_ORIGIN, "needs https"},
		{"ftp://example.com", NULL, CABLE_ERR_WEBAUTHN_ORIGIN, "is not an https:// origin"},
		{"example.com", NULL, CABLE_ERR_WEBAUTHN_ORIGIN, "is not an https:// origin"},
		{"https://127.0.0.1", NULL, CABLE_ERR_WEBAUTHN_ORIGIN, "IP address"},
		{"https://[::1]", NULL, CABLE_ERR_WEBAUTHN_ORIGIN, "IP address"},
		{"https://example.com/login", NULL, CABLE_ERR_WEBAUTHN_ORIGIN, "has a path"},
		{"https://user@example.com", NULL, CABLE_ERR_WEBAUTHN_ORIGIN, "has a path"},
		{"https://example.com:0", NULL, CABLE_ERR_WEBAUTHN_ORIGIN, "invalid port"},
		{"https://example.com:65536", NULL, CABLE_ERR_WEBAUTHN_ORIGIN, "invalid port"},
		{"https://example.com:", NULL, CABLE_ERR_WEBAUTHN_ORIGIN, "invalid port"},
		{"https://exa_mple.com", NULL, CABLE_ERR_WEBAUTHN_ORIGIN, "valid host"},
		{"https://b\xc3\xbc" "cher.de", NULL, CABLE_ERR_WEBAUTHN_ORIGIN, "xn--"},
		{"https://", NULL, CABLE_ERR_WEBAUTHN_ORIGIN, "valid host"},
		/* Untrusted text in messages is printable ASCII only. */
		{"https://x\x1b[2Jy.com", NULL, CABLE_ERR_WEBAUTHN_ORIGIN, "\"https://x?[2Jy.com\""},
		{"https://example.com", "a\\u001b[31m.example.com", CABLE_ERR_WEBAUTHN_RP_ID,
		    "\"a?[31m.example.com\" is not a valid domain"},
		{"https://example.com", "\\u00e9.example.com", CABLE_ERR_WEBAUTHN_RP_ID, "\"??.example.com\""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int create = 0; create < 2; create++) {
			char json[1024], rp[256] = "";
			struct cable_webauthn_request *req = NULL;
			char *msg = NULL;
			int r;

			if (cases[i].rp_id != NULL)
				snprintf(rp, sizeof(rp), create ? "\"id\":\"%s\"," : "\"rpId\":\"%s\",",
				    cases[i].rp_id);
			if (create)
				snprintf(json, sizeof(json), "{\"rp\":{%s\"name\":\"E\"}," USER_OK "," CH_OK
							    "," PK_OK "}", rp);
			else
				snprintf(json, sizeof(json), "{%s" CH_OK "}", rp);
			r = create ? cable_webauthn_create_begin(cases[i].origin, json, &req, &msg) :
				     cable_webauthn_get_begin(cases[i].origin, json, &req, &msg);
			if (r != cases[i].want)
				fail_msg("%s / %s: want %d, got %d (%s)", cases[i].origin,
				    cases[i].rp_id ? cases[i].rp_id : "-", cases[i].want, r,
				    msg ? msg : "");
			if (r == 0) {
				const char *cdj = cable_webauthn_request_client_data_json(req);
				char want[512];
				assert_string_equal(cable_webauthn_request_origin(req), cases[i].norm_or_msg);
				snprintf(want, sizeof(want), "\"origin\":\"%s\"", cases[i].norm_or_msg);
				assert_non_null(strstr(cdj, want));
				cable_webauthn_request_free(&req);
			} else {
				assert_non_null(msg);
				if (strstr(msg, cases[i].norm_or_msg) == NULL)
					fail_msg("message \"%s\" lacks \"%s\"", msg, cases[i].norm_or_msg);
				if (r == CABLE_ERR_WEBAUTHN_RP_ID)
					assert_non_null(strstr(msg, create ? "options.rp.id:" :
									     "options.rpId:"));
				else
					assert_non_null(strstr(msg, "origin:"));
				assert_null(req);
				free(msg);
			}
		}
	}
}

/* ---- responses ---- */

struct authenticator {
	struct tv_env env;
	struct cable_p256_key key;
	uint8_t cred_id[20];
};

static void
authenticator_init(struct authenticator *a, uint32_t seed)
{
	tv_env_init(&a->env, seed);
	assert_int_equal(cable_p256_generate(&a->env.env, &a->key), 0);
	for (size_t i = 0; i < sizeof(a->cred_id); i++)
		a->cred_id[i] = (uint8_t)(0xc0 + i);
}

static void
w_cose_es256(struct w *w, const uint8_t pub[65], int64_t alg)
{
	w_head(w, 5, 5);
	w_int(w, 1);
	w_int(w, 2);
	w_int(w, 3);
	w_int(w, alg);
	w_int(w, -1);
	w_int(w, 1);
	w_int(w, -2);
	w_bytes(w, pub + 1, 32);
	w_int(w, -3);
	w_bytes(w, pub + 33, 32);
}

/* authData; cose may be NULL (no AT). ext: raw CBOR map bytes or NULL. */
static void
w_authdata(struct w *ad, const char *rp_id, uint8_t flags, const uint8_t *cred_id, size_t id_len,
    const struct w *cose, const struct w *ext)
{
	uint8_t h[32];

	ad->n = 0;
	sha256(rp_id, strlen(rp_id), h);
	w_raw(ad, h, 32);
	if (cose != NULL)
		flags |= 0x40;
	if (ext != NULL)
		flags |= 0x80;
	w_raw(ad, &flags, 1);
	w_raw(ad, "\0\0\0\5", 4);
	if (cose != NULL) {
		uint8_t aaguid[16] = {0xea, 0x9b, 0x8d, 0x66};
		uint8_t l[2] = {(uint8_t)(id_len >> 8), (uint8_t)id_len};
		w_raw(ad, aaguid, 16);
		w_raw(ad, l, 2);
		w_raw(ad, cred_id, id_len);
		w_raw(ad, cose->b, cose->n);
	}
	if (ext != NULL)
		w_raw(ad, ext->b, ext->n);
}

static void
sign_over(const struct authenticator *a, const struct w *ad, const struct cable_webauthn_request *req,
    uint8_t *sig, size_t *sig_len)
{
	uint8_t msg[8192 + 32];
	const char *cdj = cable_webauthn_request_client_data_json(req);

	memcpy(msg, ad->b, ad->n);
	sha256(cdj, strlen(cdj), msg + ad->n);
	assert_int_equal(cable_p256_sign(&a->key, msg, ad->n + 32, sig, sig_len), 0);
}

/* A packed self-attestation makeCredential response, attStmt written sig-before-alg. */
static void
w_mc_response(struct w *resp, const struct authenticator *a, const struct w *ad,
    const struct cable_webauthn_request *req, const struct w *unsigned_out)
{
	uint8_t sig[80];
	size_t sig_len = sizeof(sig);

	sign_over(a, ad, req, sig, &sig_len);
	resp->n = 0;
	w_raw(resp, "\0", 1);
	w_head(resp, 5, unsigned_out ? 4 : 3);
	w_int(resp, 1);
	w_text(resp, "packed");
	w_int(resp, 2);
	w_bytes(resp, ad->b, ad->n);
	w_int(resp, 3);
	w_head(resp, 5, 2);
	w_text(resp, "sig");
	w_bytes(resp, sig, sig_len);
	w_text(resp, "alg");
	w_int(resp, -7);
	if (unsigned_out != NULL) {
		w_int(resp, 6);
		w_raw(resp, unsigned_out->b, unsigned_out->n);
	}
}

static json_t *
finish_ok(const struct cable_webauthn_request *req, const struct w *resp)
{
	char *out = NULL, *msg = unset_msg;
	json_t *j;
	int r = cable_webauthn_finish(req, resp->b, resp->n, &out, &msg);

	if (r != 0)
		fail_msg("finish: %d %s", r, msg ? msg : "(null)");
	assert_null(msg);
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	free(out);
	return j;
}

static void
finish_err(const struct cable_webauthn_request *req, const struct w *resp, int code,
    const char *substr)
{
	char *out = NULL, *msg = NULL;
	int r = cable_webauthn_finish(req, resp->b, resp->n, &out, &msg);

	if (r != code || msg == NULL || strstr(msg, substr) == NULL)
		fail_msg("finish: want %d \"%s\", got %d \"%s\"", code, substr, r, msg ? msg : "(null)");
	assert_null(out);
	free(msg);
}

static const char *
jstr(json_t *j, const char *path)
{
	char buf[256], *save = NULL, *tok;
	json_t *cur = j;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok != NULL; tok = strtok_r(NULL, ".", &save))
		cur = json_object_get(cur, tok);
	if (!json_is_string(cur))
		fail_msg("%s is not a string", path);
	return json_string_value(cur);
}

static void
verify_with_spki(const uint8_t *spki, size_t spki_len, const uint8_t *msg, size_t msg_len,
    const uint8_t *sig, size_t sig_len)
{
	const unsigned char *p = spki;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)spki_len);
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	assert_non_null(pk);
	assert_ptr_equal(p, spki + spki_len);
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk), 1);
	assert_int_equal(EVP_DigestVerify(md, sig, sig_len, msg, msg_len), 1);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
}

static void
test_registration_response(void **state)
{
	struct authenticator a;
	struct cable_webauthn_request *req;
	struct w cose = {.n = 0}, ad, resp, uo = {.n = 0};
	json_t *j, *tr, *ext;
	uint8_t *ao, *spki, *cdj, *adb, prf1[32];
	size_t ao_len, spki_len, cdj_len, adb_len;
	cbor_item_t *aoi, *att;
	struct cbor_pair *pairs;
	char *want_id;
	uint8_t msg[4096];

	(void)state;
	authenticator_init(&a, 1);
	req = begin_ok(true, "https://login.example.com",
	    "{" CREATE_BASE ",\"authenticatorSelection\":{\"residentKey\":\"required\","
	    "\"userVerification\":\"required\"},\"extensions\":{\"credProps\":true,\"prf\":{}}}");
	w_cose_es256(&cose, a.key.pub, -7);
	w_authdata(&ad, "example.com", 0x05, a.cred_id, sizeof(a.cred_id), &cose, NULL);
	memset(prf1, 0x11, sizeof(prf1));
	w_head(&uo, 5, 1);
	w_text(&uo, "prf");
	w_head(&uo, 5, 2);
	w_text(&uo, "enabled");
	w_bool(&uo, true);
	w_text(&uo, "results");
	w_head(&uo, 5, 1);
	w_text(&uo, "first");
	w_bytes(&uo, prf1, 32);
	w_mc_response(&resp, &a, &ad, req, &uo);
	j = finish_ok(req, &resp);

	want_id = b64enc(a.cred_id, sizeof(a.cred_id));
	assert_string_equal(jstr(j, "id"), want_id);
	assert_string_equal(jstr(j, "rawId"), want_id);
	assert_string_equal(jstr(j, "type"), "public-key");
	assert_string_equal(jstr(j, "authenticatorAttachment"), "cross-platform");
	cdj = b64dec(jstr(j, "response.clientDataJSON"), &cdj_len);
	assert_int_equal(cdj_len, strlen(cable_webauthn_request_client_data_json(req)));
	assert_memory_equal(cdj, cable_webauthn_request_client_data_json(req), cdj_len);
	adb = b64dec(jstr(j, "response.authenticatorData"), &adb_len);
	tv_assert_bytes(adb, adb_len, ad.b, ad.n);
	tr = json_object_get(json_object_get(j, "response"), "transports");
	assert_int_equal(json_array_size(tr), 1);
	assert_string_equal(json_string_value(json_array_get(tr, 0)), "hybrid");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "response"),
			     "publicKeyAlgorithm")), -7);

	/* attestationObject: canonical, {"fmt","attStmt","authData"}, attStmt reordered alg, sig. */
	ao = b64dec(jstr(j, "response.attestationObject"), &ao_len);
	assert_int_equal(cable_cbor_load(ao, ao_len, CABLE_CBOR_CANONICAL, &aoi), 0);
	assert_int_equal(cbor_map_size(aoi), 3);
	pairs = cbor_map_handle(aoi);
	assert_text(pairs[0].key, "fmt");
	assert_text(pairs[0].value, "packed");
	assert_text(pairs[1].key, "attStmt");
	assert_text(pairs[2].key, "authData");
	assert_bstr(pairs[2].value, ad.b, ad.n);
	att = pairs[1].value;
	assert_text(cbor_map_handle(att)[0].key, "alg");
	assert_text(cbor_map_handle(att)[1].key, "sig");

	/* publicKey is SPKI DER that OpenSSL reads, and it verifies the self-attestation. */
	spki = b64dec(jstr(j, "response.publicKey"), &spki_len);
	memcpy(msg, ad.b, ad.n);
	sha256(cdj, cdj_len, msg + ad.n);
	verify_with_spki(spki, spki_len, msg, ad.n + 32,
	    cbor_bytestring_handle(cbor_map_handle(att)[1].value),
	    cbor_bytestring_length(cbor_map_handle(att)[1].value));

	ext = json_object_get(j, "clientExtensionResults");
	assert_true(json_is_true(json_object_get(json_object_get(ext, "credProps"), "rk")));
	assert_true(json_is_true(json_object_get(json_object_get(ext, "prf"), "enabled")));
	{
		char *want = b64enc(prf1, 32);
		assert_string_equal(jstr(j, "clientExtensionResults.prf.results.first"), want);
		free(want);
	}
	assert_null(json_object_get(json_object_get(json_object_get(ext, "prf"), "results"), "second"));

	cbor_decref(&aoi);
	free(ao);
	free(spki);
	free(cdj);
	free(adb);
	free(want_id);
	json_decref(j);
	cable_webauthn_request_free(&req);
	cable_p256_key_wipe(&a.key);
}

static void
test_registration_failures(void **state)
{
	struct authenticator a;
	struct cable_webauthn_request *req, *req_pref;
	struct w cose = {.n = 0}, bad_cose = {.n = 0}, ad, resp, ext = {.n = 0};
	json_t *j;
	uint8_t off_curve[65];

	(void)state;
	authenticator_init(&a, 2);
	req = begin_ok(true, "https://example.com",
	    "{" CREATE_BASE ",\"authenticatorSelection\":{\"userVerification\":\"required\"},"
	    "\"extensions\":{\"prf\":{},\"credProps\":true}}");
	req_pref = begin_ok(true, "https://example.com", "{" CREATE_BASE "}");
	w_cose_es256(&cose, a.key.pub, -7);

	/* Status bytes pass through as positive values, with their name. */
	resp.n = 0;
	w_raw(&resp, "\x27", 1);
	finish_err(req, &resp, 0x27, "CTAP2_ERR_OPERATION_DENIED");
	resp.n = 0;
	finish_err(req, &resp, CABLE_ERR_WEBAUTHN_RESPONSE, "empty");
	w_raw(&resp, "\0", 1);
	finish_err(req, &resp, CABLE_ERR_WEBAUTHN_RESPONSE, "no CBOR");
	w_raw(&resp, "\xa1\x01", 2);
	finish_err(req, &resp, CABLE_ERR_CBOR, "authenticator response");
	resp.n = 1;
	w_raw(&resp, "\x80", 1);
	finish_err(req, &resp, CABLE_ERR_WEBAUTHN_RESPONSE, "not a CBOR map");

	/* Wrong rpIdHash. */
	w_authdata(&ad, "evil.com", 0x05, a.cred_id, sizeof(a.cred_id), &cose, NULL);
	w_mc_response(&resp, &a, &ad, req, NULL);
	finish_err(req, &resp, CABLE_ERR_WEBAUTHN_RESPONSE, "rpIdHash is not SHA-256(\"example.com\")");
	/* No UP. */
	w_authdata(&ad, "example.com", 0x04, a.cred_id, sizeof(a.cred_id), &cose, NULL);
	w_mc_response(&resp, &a, &ad, req, NULL);
	finish_err(req, &resp, CABLE_ERR_WEBAUTHN_RESPONSE, "(UP) flag not set");
	/* No UV: refused when required, accepted when preferred. */
	w_authdata(&ad, "example.com", 0x01, a.cred_id, sizeof(a.cred_id), &cose, NULL);
	w_mc_response(&resp, &a, &ad, req, NULL);
	finish_err(req, &resp, CABLE_ERR_WEBAUTHN_RESPONSE, "UV flag is not set");
	w_mc_response(&resp, &a, &ad, req_pref, NULL);
	j = finish_ok(req_pref, &resp);
	/* Nothing requested: no extension results at all. */
	assert_int_equal(json_object_size(json_object_get(j, "clientExtensionResults")), 0);
	json_decref(j);
	/* No attested credential data. */
	w_authdata(&ad, "example.com", 0x05, NULL, 0, NULL, NULL);
	w_mc_response(&resp, &a, &ad, req, NULL);
	finish_err(req, &resp, CABLE_ERR_WEBAUTHN_RESPONSE, "attested credential data (AT flag) missing");
	/* Trailing bytes after the COSE key. */
	w_authdata(&ad, "example.com", 0x05, a.cred_id, sizeof(a.cred_id), &cose, NULL);
	w_raw(&ad, "\0", 1);
	w_mc_response(&resp, &a, &ad, req, NULL);
	finish_err(req, &resp, CABLE_ERR_WEBAUTHN_RESPONSE, "1 trailing bytes");
	/* Truncated credential ID. */
	w_authdata(&ad, "example.com", 0x05, a.cred_id, sizeof(a.cred_id), &cose, NULL);
	ad.n = 37 + 16 + 2 + 5;
	w_mc_response(&resp, &a, &ad, req, NULL);
	finish_err(req, &resp, CABLE_ERR_WEBAUTHN_RESPONSE, "bad credential ID length");
	/* An algorithm that was not requested. */
	bad_cose.n = 0;
	w_cose_es256(&bad_cose, a.key.pub, -8);
	w_authdata(&ad, "example.com", 0x05, a.cred_id, sizeof(a.cred_id), &bad_cose, NULL);
	w_mc_response(&resp, &a, &ad, req, NULL);
	finish_err(req, &resp, CABLE_ERR_WEBAUTHN_RESPONSE, "algorithm -8 was not in pubKeyCredParams");
	/* A point off the curve. */
	memcpy(off_curve, a.key.pub, 65);
	off_curve[64] ^= 1;
	bad_cose.n = 0;
	w_cose_es256(&bad_cose, off_curve, -7);
	w_authdata(&ad, "example.com", 0x05, a.cred_id, sizeof(a.cred_id), &bad_cose, NULL);
	w_mc_response(&resp, &a, &ad, req, NULL);
	finish_err(req, &resp, CABLE_ERR_WEBAUTHN_RESPONSE, "point not on P-256");
	/* attStmt that is not a map, fmt that is not text. */
	w_authdata(&ad, "example.com", 0x05, a.cred_id, sizeof(a.cred_id), &cose, NULL);
	resp.n = 0;
	w_raw(&resp, "\0", 1);
	w_head(&resp, 5, 3);
	w_int(&resp, 1);
	w_text(&resp, "none");
	w_int(&resp, 2);
	w_bytes(&resp, ad.b, ad.n);
	w_int(&resp, 3);
	w_head(&resp, 4, 0);
	finish_err(req, &resp, CABLE_ERR_WEBAUTHN_RESPONSE, "attStmt (3) missing or not a map");
	resp.n = 0;
	w_raw(&resp, "\0", 1);
	w_head(&resp, 5, 3);
	w_int(&resp, 1);
	w_int(&resp, 7);
	w_int(&resp, 2);
	w_bytes(&resp, ad.b, ad.n);
	w_int(&resp, 3);
	w_head(&resp, 5, 0);
	finish_err(req, &resp, CABLE_ERR_WEBAUTHN_RESPONSE, "fmt (1)");
	/* attStmt with a duplicate key. */
	resp.n = 0;
	w_raw(&resp, "\0", 1);
	w_head(&resp, 5, 3);
	w_int(&resp, 1);
	w_text(&resp, "packed");
	w_int(&resp, 2);
	w_bytes(&resp, ad.b, ad.n);
	w_int(&resp, 3);
	w_head(&resp, 5, 2);
	w_text(&resp, "alg");
	w_int(&resp, -7);
	w_text(&resp, "alg");
	w_int(&resp, -7);
	finish_err(req, &resp, CABLE_ERR_WEBAUTHN_RESPONSE, "duplicate keys");
	/* fmt "none" with {} is fine; PRF enabled comes from hmac-secret in authData when key 6 is
	 * absent; prf results of the wrong size are refused. */
	w_head(&ext, 5, 1);
	w_text(&ext, "hmac-secret");
	w_bool(&ext, true);
	w_authdata(&ad, "example.com", 0x05, a.cred_id, sizeof(a.cred_id), &cose, &ext);
	resp.n = 0;
	w_raw(&resp, "\0", 1);
	w_head(&resp, 5, 3);
	w_int(&resp, 1);
	w_text(&resp, "none");
	w_int(&resp, 2);
	w_bytes(&resp, ad.b, ad.n);
	w_int(&resp, 3);
	w_head(&resp, 5, 0);
	j = finish_ok(req, &resp);
	assert_true(json_is_true(json_object_get(
	    json_object_get(json_object_get(j, "clientExtensionResults"), "prf"), "enabled")));
	assert_true(json_is_false(json_object_get(
	    json_object_get(json_object_get(j, "clientExtensionResults"), "credProps"), "rk")));
	json_decref(j);
	{
		struct w uo = {.n = 0};
		w_head(&uo, 5, 1);
		w_text(&uo, "prf");
		w_head(&uo, 5, 1);
		w_text(&uo, "results");
		w_head(&uo, 5, 1);
		w_text(&uo, "first");
		w_bytes(&uo, (const uint8_t *)"short", 5);
		w_authdata(&ad, "example.com", 0x05, a.cred_id, sizeof(a.cred_id), &cose, NULL);
		w_mc_response(&resp, &a, &ad, req, &uo);
		finish_err(req, &resp, CABLE_ERR_WEBAUTHN_RESPONSE, "prf.results.first is not 32 bytes");
	}
	/* Floats where a bool belongs (libcbor 0.8 asserts if asked cbor_is_bool on them). */
	{
		struct w uo = {.n = 0}, fext = {.n = 0};
		w_head(&uo, 5, 1);
		w_text(&uo, "prf");
		w_head(&uo, 5, 1);
		w_text(&uo, "enabled");
		w_raw(&uo, "\xf9\x3c\x00", 3); /* half-precision 1.0 */
		w_authdata(&ad, "example.com", 0x05, a.cred_id, sizeof(a.cred_id), &cose, NULL);
		w_mc_response(&resp, &a, &ad, req, &uo);
		finish_err(req, &resp, CABLE_ERR_WEBAUTHN_RESPONSE, "prf.enabled is not a bool");
		w_head(&fext, 5, 1);
		w_text(&fext, "hmac-secret");
		w_raw(&fext, "\xf9\x3c\x00", 3);
		w_authdata(&ad, "example.com", 0x05, a.cred_id, sizeof(a.cred_id), &cose, &fext);
		w_mc_response(&resp, &a, &ad, req, NULL);
		j = finish_ok(req, &resp);
		assert_true(json_is_false(json_object_get(
		    json_object_get(json_object_get(j, "clientExtensionResults"), "prf"), "enabled")));
		json_decref(j);
	}
	cable_webauthn_request_free(&req);
	cable_webauthn_request_free(&req_pref);
	cable_p256_key_wipe(&a.key);
}

/* SPKI for EdDSA and RS256 keys: compared with what OpenSSL writes for the same key. */
static void
check_spki(const char *origin, const char *json, const struct w *cose, EVP_PKEY *pk, int64_t alg)
{
	struct cable_webauthn_request *req = begin_ok(true, origin, json);
	struct authenticator a;
	struct w ad, resp;
	uint8_t *der = NULL, *spki;
	int der_len;
	size_t spki_len;
	json_t *j;

	authenticator_init(&a, 3);
	w_authdata(&ad, "example.com", 0x05, a.cred_id, sizeof(a.cred_id), cose, NULL);
	resp.n = 0;
	w_raw(&resp, "\0", 1);
	w_head(&resp, 5, 3);
	w_int(&resp, 1);
	w_text(&resp, "none");
	w_int(&resp, 2);
	w_bytes(&resp, ad.b, ad.n);
	w_int(&resp, 3);
	w_head(&resp, 5, 0);
	j = finish_ok(req, &resp);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "response"),
			     "publicKeyAlgorithm")), alg);
	spki = b64dec(jstr(j, "response.publicKey"), &spki_len);
	der_len = i2d_PUBKEY(pk, &der);
	assert_true(der_len > 0);
	tv_assert_bytes(spki, spki_len, der, (size_t)der_len);
	OPENSSL_free(der);
	free(spki);
	json_decref(j);
	cable_webauthn_request_free(&req);
	cable_p256_key_wipe(&a.key);
}

static void
test_other_key_types(void **state)
{
	const char *json = "{" RP_OK "," USER_OK "," CH_OK ",\"pubKeyCredParams\":[{\"type\":"
			   "\"public-key\",\"alg\":-8},{\"type\":\"public-key\",\"alg\":-257},"
			   "{\"type\":\"public-key\",\"alg\":-36}]}";
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *rsa = EVP_RSA_gen(2048);
	uint8_t raw[32], nbuf[512], ebuf[8];
	size_t raw_len = sizeof(raw);
	BIGNUM *n = NULL, *e = NULL;
	struct w cose = {.n = 0};
	int nl, el;

	(void)state;
	assert_non_null(ed);
	assert_non_null(rsa);
	assert_int_equal(EVP_PKEY_get_raw_public_key(ed, raw, &raw_len), 1);
	w_head(&cose, 5, 4);
	w_int(&cose, 1);
	w_int(&cose, 1);
	w_int(&cose, 3);
	w_int(&cose, -8);
	w_int(&cose, -1);
	w_int(&cose, 6);
	w_int(&cose, -2);
	w_bytes(&cose, raw, 32);
	check_spki("https://example.com", json, &cose, ed, -8);

	assert_int_equal(EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_E, &e), 1);
	nl = BN_bn2bin(n, nbuf);
	el = BN_bn2bin(e, ebuf);
	cose.n = 0;
	w_head(&cose, 5, 4);
	w_int(&cose, 1);
	w_int(&cose, 3);
	w_int(&cose, 3);
	w_int(&cose, -257);
	w_int(&cose, -1);
	w_bytes(&cose, nbuf, (size_t)nl);
	w_int(&cose, -2);
	w_bytes(&cose, ebuf, (size_t)el);
	check_spki("https://example.com", json, &cose, rsa, -257);

	/* An algorithm browsers do not export: publicKeyAlgorithm but no publicKey. */
	{
		struct cable_webauthn_request *req = begin_ok(true, "https://example.com", json);
		struct authenticator a;
		struct w ad, resp;
		json_t *j;

		authenticator_init(&a, 4);
		cose.n = 0;
		w_head(&cose, 5, 2);
		w_int(&cose, 1);
		w_int(&cose, 2);
		w_int(&cose, 3);
		w_int(&cose, -36);
		w_authdata(&ad, "example.com", 0x05, a.cred_id, sizeof(a.cred_id), &cose, NULL);
		resp.n = 0;
		w_raw(&resp, "\0\xa3\x01\x64none\x02", 9);
		w_bytes(&resp, ad.b, ad.n);
		w_raw(&resp, "\x03\xa0", 2);
		j = finish_ok(req, &resp);
		assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "response"),
				     "publicKeyAlgorithm")), -36);
		assert_null(json_object_get(json_object_get(j, "response"), "publicKey"));
		json_decref(j);
		cable_webauthn_request_free(&req);
		cable_p256_key_wipe(&a.key);
	}
	BN_free(n);
	BN_free(e);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(rsa);
}

/* A getAssertion response: {1: credential?, 2: authData, 3: sig, 4: user?, 8: unsigned?}. */
static void
w_ga_response(struct w *resp, const struct authenticator *a, const struct w *ad,
    const struct cable_webauthn_request *req, const uint8_t *cred_id, size_t id_len,
    const char *user_id, const struct w *unsigned_out)
{
	uint8_t sig[80];
	size_t sig_len = sizeof(sig);

	sign_over(a, ad, req, sig, &sig_len);
	resp->n = 0;
	w_raw(resp, "\0", 1);
	w_head(resp, 5, 2 + (cred_id != NULL) + (user_id != NULL) + (unsigned_out != NULL));
	if (cred_id != NULL) {
		w_int(resp, 1);
		w_head(resp, 5, 2);
		w_text(resp, "id");
		w_bytes(resp, cred_id, id_len);
		w_text(resp, "type");
		w_text(resp, "public-key");
	}
	w_int(resp, 2);
	w_bytes(resp, ad->b, ad->n);
	w_int(resp, 3);
	w_bytes(resp, sig, sig_len);
	if (user_id != NULL) {
		w_int(resp, 4);
		w_head(resp, 5, 1);
		w_text(resp, "id");
		w_bytes(resp, (const uint8_t *)user_id, strlen(user_id));
	}
	if (unsigned_out != NULL) {
		w_int(resp, 8);
		w_raw(resp, unsigned_out->b, unsigned_out->n);
	}
}

static void
test_authentication_response(void **state)
{
	struct authenticator a;
	struct cable_webauthn_request *req, *req_disc, *req_one;
	struct w ad, resp, uo = {.n = 0}, cose = {.n = 0};
	uint8_t *sig, *adb, msg[512], r1[32], r2[32];
	size_t sig_len, adb_len;
	char json[1024], *id_b64, *want;
	json_t *j;

	(void)state;
	authenticator_init(&a, 5);
	id_b64 = b64enc(a.cred_id, sizeof(a.cred_id));
	snprintf(json, sizeof(json),
	    "{" CH_OK ",\"rpId\":\"example.com\",\"userVerification\":\"required\","
	    "\"allowCredentials\":[{\"type\":\"public-key\",\"id\":\"AQID\"},{\"type\":\"public-key\","
	    "\"id\":\"%s\"}],\"extensions\":{\"prf\":{\"eval\":{\"first\":\"\",\"second\":\"AA\"}}}}",
	    id_b64);
	req = begin_ok(false, "https://login.example.com", json);
	w_authdata(&ad, "example.com", 0x05, NULL, 0, NULL, NULL);
	memset(r1, 0xaa, 32);
	memset(r2, 0xbb, 32);
	w_head(&uo, 5, 1);
	w_text(&uo, "prf");
	w_head(&uo, 5, 1);
	w_text(&uo, "results");
	w_head(&uo, 5, 2);
	w_text(&uo, "first");
	w_bytes(&uo, r1, 32);
	w_text(&uo, "second");
	w_bytes(&uo, r2, 32);
	w_ga_response(&resp, &a, &ad, req, a.cred_id, sizeof(a.cred_id), "user", &uo);
	j = finish_ok(req, &resp);
	assert_string_equal(jstr(j, "id"), id_b64);
	assert_string_equal(jstr(j, "rawId"), id_b64);
	assert_string_equal(jstr(j, "type"), "public-key");
	assert_string_equal(jstr(j, "authenticatorAttachment"), "cross-platform");
	assert_string_equal(jstr(j, "response.userHandle"), "dXNlcg");
	adb = b64dec(jstr(j, "response.authenticatorData"), &adb_len);
	tv_assert_bytes(adb, adb_len, ad.b, ad.n);
	sig = b64dec(jstr(j, "response.signature"), &sig_len);
	memcpy(msg, ad.b, ad.n);
	{
		size_t cl;
		uint8_t *cdj = b64dec(jstr(j, "response.clientDataJSON"), &cl);
		assert_memory_equal(cdj, "{\"type\":\"webauthn.get\",", 23);
		sha256(cdj, cl, msg + ad.n);
		free(cdj);
	}
	assert_int_equal(cable_p256_verify(a.key.pub, msg, ad.n + 32, sig, sig_len), 0);
	want = b64enc(r1, 32);
	assert_string_equal(jstr(j, "clientExtensionResults.prf.results.first"), want);
	free(want);
	want = b64enc(r2, 32);
	assert_string_equal(jstr(j, "clientExtensionResults.prf.results.second"), want);
	free(want);
	assert_null(json_object_get(json_object_get(j, "response"), "attestationObject"));
	json_decref(j);
	free(sig);
	free(adb);

	/* A credential that was not allowed, UV missing, AT in an assertion, bad signature field. */
	w_ga_response(&resp, &a, &ad, req, (const uint8_t *)"\4\5\6", 3, NULL, NULL);
	finish_err(req, &resp, CABLE_ERR_WEBAUTHN_RESPONSE, "credential is not in allowCredentials");
	w_ga_response(&resp, &a, &ad, req, NULL, 0, NULL, NULL);
	finish_err(req, &resp, CABLE_ERR_WEBAUTHN_RESPONSE, "credential (1) missing");
	w_authdata(&ad, "example.com", 0x01, NULL, 0, NULL, NULL);
	w_ga_response(&resp, &a, &ad, req, a.cred_id, sizeof(a.cred_id), NULL, NULL);
	finish_err(req, &resp, CABLE_ERR_WEBAUTHN_RESPONSE, "UV flag is not set");
	w_cose_es256(&cose, a.key.pub, -7);
	w_authdata(&ad, "example.com", 0x05, a.cred_id, sizeof(a.cred_id), &cose, NULL);
	w_ga_response(&resp, &a, &ad, req, a.cred_id, sizeof(a.cred_id), NULL, NULL);
	finish_err(req, &resp, CABLE_ERR_WEBAUTHN_RESPONSE, "must not carry attested credential data");
	w_authdata(&ad, "login.example.com", 0x05, NULL, 0, NULL, NULL);
	w_ga_response(&resp, &a, &ad, req, a.cred_id, sizeof(a.cred_id), NULL, NULL);
	finish_err(req, &resp, CABLE_ERR_WEBAUTHN_RESPONSE, "rpIdHash");
	resp.n = 0;
	w_authdata(&ad, "example.com", 0x05, NULL, 0, NULL, NULL);
	w_raw(&resp, "\0\xa2\x02", 3);
	w_bytes(&resp, ad.b, ad.n);
	w_raw(&resp, "\x03\x01", 2);
	finish_err(req, &resp, CABLE_ERR_WEBAUTHN_RESPONSE, "signature (3) missing");
	resp.n = 0;
	w_raw(&resp, "\x2e", 1);
	finish_err(req, &resp, 0x2e, "CTAP2_ERR_NO_CREDENTIALS");

	/* Discoverable: user required; no prf asked, so no prf results even if the phone sends some. */
	req_disc = begin_ok(false, "https://example.com", "{" CH_OK "}");
	w_ga_response(&resp, &a, &ad, req_disc, a.cred_id, sizeof(a.cred_id), NULL, NULL);
	finish_err(req_disc, &resp, CABLE_ERR_WEBAUTHN_RESPONSE, "user (4) missing");
	w_ga_response(&resp, &a, &ad, req_disc, a.cred_id, sizeof(a.cred_id), "u", &uo);
	j = finish_ok(req_disc, &resp);
	assert_string_equal(jstr(j, "response.userHandle"), "dQ");
	assert_int_equal(json_object_size(json_object_get(j, "clientExtensionResults")), 0);
	json_decref(j);

	/* One allowed credential: the authenticator may omit key 1. */
	snprintf(json, sizeof(json),
	    "{" CH_OK ",\"allowCredentials\":[{\"type\":\"public-key\",\"id\":\"%s\"}],"
	    "\"extensions\":{\"prf\":{}}}", id_b64);
	req_one = begin_ok(false, "https://example.com", json);
	w_ga_response(&resp, &a, &ad, req_one, NULL, 0, NULL, NULL);
	j = finish_ok(req_one, &resp);
	assert_string_equal(jstr(j, "id"), id_b64);
	assert_null(json_object_get(json_object_get(j, "response"), "userHandle"));
	/* prf asked, nothing came back: an empty prf result, as browsers report. */
	assert_int_equal(json_object_size(json_object_get(json_object_get(j, "clientExtensionResults"),
			     "prf")), 0);
	json_decref(j);

	free(id_b64);
	cable_webauthn_request_free(&req);
	cable_webauthn_request_free(&req_disc);
	cable_webauthn_request_free(&req_one);
	cable_p256_key_wipe(&a.key);
}

/* Runs a request through the project's software authenticator (what cable-phone answers with). */
static json_t *
through_authenticator(struct cable_authenticator *auth, const struct cable_webauthn_request *req)
{
	const uint8_t *ctap;
	size_t ctap_len, resp_len = 0;
	uint8_t *resp = NULL;
	struct w w = {.n = 0};
	json_t *j;

	cable_webauthn_request_ctap(req, &ctap, &ctap_len);
	assert_int_equal(cable_authenticator_handle(auth, ctap, ctap_len, &resp, &resp_len), 0);
	w_raw(&w, resp, resp_len);
	free(resp);
	j = finish_ok(req, &w);
	return j;
}

static void
test_round_trip_software_authenticator(void **state)
{
	struct tv_env env;
	struct cable_cred_store *store = NULL;
	struct cable_authenticator_config cfg;
	struct cable_authenticator *auth;
	struct cable_webauthn_request *req;
	json_t *reg, *asr;
	char json[2048];
	const char *id;
	uint8_t *spki, *adb, *cdj, *sig, msg[1024];
	size_t spki_len, adb_len, cdj_len, sig_len;

	(void)state;
	tv_env_init(&env, 7);
	assert_int_equal(cable_cred_store_new(&env.env, &store), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.store = store;
	cfg.attestation = CABLE_ATTESTATION_PACKED_SELF;
	assert_non_null(auth = cable_authenticator_new(&env.env, &cfg));

	req = begin_ok(true, "https://login.example.com",
	    "{" CREATE_BASE ",\"authenticatorSelection\":{\"residentKey\":\"required\","
	    "\"userVerification\":\"required\"},\"extensions\":{\"credProps\":true,"
	    "\"prf\":{\"eval\":{\"first\":\"c2FsdA\"}}}}");
	reg = through_authenticator(auth, req);
	cable_webauthn_request_free(&req);
	assert_true(json_is_true(json_object_get(
	    json_object_get(json_object_get(reg, "clientExtensionResults"), "credProps"), "rk")));
	assert_true(json_is_true(json_object_get(
	    json_object_get(json_object_get(reg, "clientExtensionResults"), "prf"), "enabled")));
	assert_int_equal(strlen(jstr(reg, "clientExtensionResults.prf.results.first")), 43);
	id = jstr(reg, "id");

	/* An assertion with the same PRF input gives the same output, and verifies under the
	 * registration's publicKey. */
	snprintf(json, sizeof(json),
	    "{" CH_OK ",\"rpId\":\"example.com\",\"userVerification\":\"required\","
	    "\"allowCredentials\":[{\"type\":\"public-key\",\"id\":\"%s\"}],"
	    "\"extensions\":{\"prf\":{\"evalByCredential\":{\"%s\":{\"first\":\"c2FsdA\"}}}}}",
	    id, id);
	req = begin_ok(false, "https://login.example.com", json);
	asr = through_authenticator(auth, req);
	cable_webauthn_request_free(&req);
	assert_string_equal(jstr(asr, "id"), id);
	assert_string_equal(jstr(asr, "clientExtensionResults.prf.results.first"),
	    jstr(reg, "clientExtensionResults.prf.results.first"));
	spki = b64dec(jstr(reg, "response.publicKey"), &spki_len);
	adb = b64dec(jstr(asr, "response.authenticatorData"), &adb_len);
	cdj = b64dec(jstr(asr, "response.clientDataJSON"), &cdj_len);
	sig = b64dec(jstr(asr, "response.signature"), &sig_len);
	assert_true(adb_len + 32 <= sizeof(msg));
	memcpy(msg, adb, adb_len);
	sha256(cdj, cdj_len, msg + adb_len);
	verify_with_spki(spki, spki_len, msg, adb_len + 32, sig, sig_len);
	free(spki);
	free(adb);
	free(cdj);
	free(sig);
	json_decref(asr);

	/* Discoverable: the passkey's user handle comes back. */
	req = begin_ok(false, "https://example.com", "{" CH_OK "}");
	asr = through_authenticator(auth, req);
	cable_webauthn_request_free(&req);
	assert_string_equal(jstr(asr, "id"), id);
	assert_string_equal(jstr(asr, "response.userHandle"), "dXNlcg");
	json_decref(asr);

	/* The excludeList names it now: the authenticator refuses, the status comes through. */
	snprintf(json, sizeof(json),
	    "{" CREATE_BASE ",\"excludeCredentials\":[{\"type\":\"public-key\",\"id\":\"%s\"}]}", id);
	req = begin_ok(true, "https://example.com", json);
	{
		const uint8_t *ctap;
		size_t ctap_len, resp_len = 0;
		uint8_t *resp = NULL;
		struct w w = {.n = 0};
		cable_webauthn_request_ctap(req, &ctap, &ctap_len);
		assert_int_equal(cable_authenticator_handle(auth, ctap, ctap_len, &resp, &resp_len), 0);
		w_raw(&w, resp, resp_len);
		free(resp);
		finish_err(req, &w, 0x19, "CTAP2_ERR_CREDENTIAL_EXCLUDED");
	}
	cable_webauthn_request_free(&req);
	json_decref(reg);
	cable_authenticator_free(&auth);
	cable_cred_store_free(&store);
}

static void
test_cred_props_from_authenticator(void **state)
{
	struct authenticator a;
	struct cable_webauthn_request *req;
	struct w cose = {.n = 0}, ad, resp, uo = {.n = 0};
	json_t *j;

	(void)state;
	authenticator_init(&a, 9);
	/* rk not asked for, but the authenticator reports a discoverable credential. */
	req = begin_ok(true, "https://example.com", "{" CREATE_BASE ",\"extensions\":{\"credProps\":true}}");
	w_cose_es256(&cose, a.key.pub, -7);
	w_authdata(&ad, "example.com", 0x05, a.cred_id, sizeof(a.cred_id), &cose, NULL);
	w_head(&uo, 5, 1);
	w_text(&uo, "credProps");
	w_head(&uo, 5, 1);
	w_text(&uo, "rk");
	w_bool(&uo, true);
	w_mc_response(&resp, &a, &ad, req, &uo);
	j = finish_ok(req, &resp);
	assert_true(json_is_true(json_object_get(
	    json_object_get(json_object_get(j, "clientExtensionResults"), "credProps"), "rk")));
	json_decref(j);
	uo.n = 0;
	w_head(&uo, 5, 1);
	w_text(&uo, "credProps");
	w_head(&uo, 5, 1);
	w_text(&uo, "rk");
	w_int(&uo, 1);
	w_mc_response(&resp, &a, &ad, req, &uo);
	finish_err(req, &resp, CABLE_ERR_WEBAUTHN_RESPONSE, "credProps.rk is not a bool");
	cable_webauthn_request_free(&req);
	cable_p256_key_wipe(&a.key);
}

static void
test_finish_args(void **state)
{
	struct cable_webauthn_request *req = begin_ok(false, "https://example.com", "{" CH_OK "}");
	char *out = NULL, *msg = NULL;
	size_t big_len = CABLE_WEBAUTHN_MAX_RESPONSE_LEN + 1;
	uint8_t *big = calloc(1, big_len);

	(void)state;
	assert_int_equal(cable_webauthn_finish(NULL, (const uint8_t *)"", 1, &out, &msg), CABLE_ERR_ARG);
	free(msg);
	assert_int_equal(cable_webauthn_finish(req, NULL, 3, &out, NULL), CABLE_ERR_ARG);
	assert_non_null(big);
	assert_int_equal(cable_webauthn_finish(req, big, big_len, &out, &msg), CABLE_ERR_TOO_BIG);
	free(big);
	assert_non_null(msg);
	free(msg);
	assert_null(out);
	cable_webauthn_request_free(&req);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_basic),
		cmocka_unit_test(test_get_exact_bytes),
		cmocka_unit_test(test_create_selection_mapping),
		cmocka_unit_test(test_create_params_and_exclude),
		cmocka_unit_test(test_create_prf),
		cmocka_unit_test(test_get_allow_and_prf),
		cmocka_unit_test(test_option_errors),
		cmocka_unit_test(test_rp_id_rules),
		cmocka_unit_test(test_registration_response),
		cmocka_unit_test(test_registration_failures),
		cmocka_unit_test(test_other_key_types),
		cmocka_unit_test(test_authentication_response),
		cmocka_unit_test(test_round_trip_software_authenticator),
		cmocka_unit_test(test_cred_props_from_authenticator),
		cmocka_unit_test(test_finish_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

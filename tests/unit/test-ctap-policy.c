/* Unit tests: the virtual key's local CTAP policy (local answers, probes, forwarding, cleaning). */
#include <stdlib.h>
#include <string.h>

#include "cable/cbor.h"
#include "cable/crypto.h"
#include "cable/ctap-policy.h"
#include "cable/error.h"
#include "cbor-writer.h"
#include "tv.h"

#define SEC 1000000ull

static struct cable_ctap_policy *
new_policy(void)
{
	struct cable_ctap_policy_config cfg;
	struct cable_ctap_policy *p;

	cable_ctap_policy_config_default(&cfg);
	p = cable_ctap_policy_new(&cfg);
	assert_non_null(p);
	return p;
}

/* Loads status || CBOR, checks the status and canonical form, returns the map. */
static cbor_item_t *
load_answer(const uint8_t *buf, size_t len, uint8_t status)
{
	cbor_item_t *m = NULL;

	assert_true(len >= 1);
	assert_int_equal(buf[0], status);
	assert_int_equal(cable_cbor_load(buf + 1, len - 1, CABLE_CBOR_CANONICAL, &m), 0);
	assert_true(cbor_isa_map(m));
	return m;
}

static bool
str_is(const cbor_item_t *s, const char *t)
{
	return s != NULL && cbor_isa_string(s) && cbor_string_length(s) == strlen(t) &&
	    memcmp(cbor_string_handle(s), t, strlen(t)) == 0;
}

static bool
array_has(const cbor_item_t *a, const char *t)
{
	for (size_t i = 0; i < cbor_array_size(a); i++)
		if (str_is(cbor_array_handle(a)[i], t))
			return true;
	return false;
}

static void
decide(struct cable_ctap_policy *p, uint64_t now, struct cable_cbw *w, struct cable_ctap_decision *d)
{
	uint8_t *req;
	size_t len;

	assert_int_equal(cable_cbw_finish(w, &req, &len), 0);
	assert_int_equal(cable_ctap_policy_decide(p, now, req, len, d), 0);
	free(req);
}

static void
desc(struct cable_cbw *w, uint8_t id, bool transports)
{
	uint8_t cid[20];

	memset(cid, id, sizeof(cid));
	cable_cbw_map(w, transports ? 3 : 2);
	cable_cbw_text(w, "id");
	cable_cbw_bytes(w, cid, sizeof(cid));
	cable_cbw_text(w, "type");
	cable_cbw_text(w, "public-key");
	if (transports) {
		cable_cbw_text(w, "transports");
		cable_cbw_array(w, 2);
		cable_cbw_text(w, "usb");
		cable_cbw_text(w, "hybrid");
	}
}

/* getAssertion for rp with n allowed credentials, up as given (-1 = no options). */
static void
ga_request(struct cable_cbw *w, const char *rp, size_t n, int up, bool prf)
{
	uint8_t cdh[32];
	uint8_t cmd = CABLE_CTAP_GET_ASSERTION;

	memset(cdh, 0xcd, sizeof(cdh));
	cable_cbw_init(w, 0);
	cable_cbw_raw(w, &cmd, 1);
	cable_cbw_map(w, 2 + (n > 0) + prf + (up >= 0));
	cable_cbw_uint(w, 1);
	cable_cbw_text(w, rp);
	cable_cbw_uint(w, 2);
	cable_cbw_bytes(w, cdh, sizeof(cdh));
	if (n > 0) {
		cable_cbw_uint(w, 3);
		cable_cbw_array(w, n);
		for (size_t i = 0; i < n; i++)
			desc(w, (uint8_t)(0xa0 + i), true);
	}
	if (prf) {
		cable_cbw_uint(w, 4);
		cable_cbw_map(w, 1);
		cable_cbw_text(w, "prf");
		cable_cbw_map(w, 0);
	}
	if (up >= 0) {
		cable_cbw_uint(w, 5);
		cable_cbw_map(w, 1);
		cable_cbw_text(w, "up");
		cable_cbw_bool(w, up == 1);
	}
}

static void
mc_request(struct cable_cbw *w, const char *rp, int up, bool empty_pin, size_t n_exclude)
{
	uint8_t cdh[32], uid[1] = {1};
	uint8_t cmd = CABLE_CTAP_MAKE_CREDENTIAL;

	memset(cdh, 0xcd, sizeof(cdh));
	cable_cbw_init(w, 0);
	cable_cbw_raw(w, &cmd, 1);
	cable_cbw_map(w, 4 + (n_exclude > 0) + (up >= 0) + 2 * empty_pin);
	cable_cbw_uint(w, 1);
	cable_cbw_bytes(w, cdh, sizeof(cdh));
	cable_cbw_uint(w, 2);
	cable_cbw_map(w, 1);
	cable_cbw_text(w, "id");
	cable_cbw_text(w, rp);
	cable_cbw_uint(w, 3);
	cable_cbw_map(w, 2);
	cable_cbw_text(w, "id");
	cable_cbw_bytes(w, uid, 1);
	cable_cbw_text(w, "name");
	cable_cbw_text(w, "dummy");
	cable_cbw_uint(w, 4);
	cable_cbw_array(w, 1);
	cable_cbw_map(w, 2);
	cable_cbw_text(w, "alg");
	cable_cbw_int(w, -7);
	cable_cbw_text(w, "type");
	cable_cbw_text(w, "public-key");
	if (n_exclude > 0) {
		cable_cbw_uint(w, 5);
		cable_cbw_array(w, n_exclude);
		for (size_t i = 0; i < n_exclude; i++)
			desc(w, (uint8_t)(0xe0 + i), true);
	}
	if (up >= 0) {
		cable_cbw_uint(w, 7);
		cable_cbw_map(w, 1);
		cable_cbw_text(w, "up");
		cable_cbw_bool(w, up == 1);
	}
	if (empty_pin) {
		cable_cbw_uint(w, 8);
		cable_cbw_bytes(w, NULL, 0);
		cable_cbw_uint(w, 9);
		cable_cbw_uint(w, 1);
	}
}

static void
test_get_info(void **state)
{
	struct cable_ctap_policy *p = new_policy();
	struct cable_ctap_decision d;
	static const uint8_t aaguid[16] = CABLE_BRIDGE_AAGUID;
	uint8_t req = CABLE_CTAP_GET_INFO;
	cbor_item_t *m, *v, *opts;

	(void)state;
	assert_int_equal(cable_ctap_policy_decide(p, 0, &req, 1, &d), 0);
	assert_int_equal(d.action, CABLE_CTAP_ACTION_LOCAL);
	assert_int_equal(d.kind, CABLE_CTAP_KIND_GET_INFO);
	m = load_answer(d.out, d.out_len, 0);
	v = cable_cbor_map_get_int(m, 1);
	assert_true(array_has(v, "FIDO_2_0") && array_has(v, "FIDO_2_1") && !array_has(v, "U2F_V2"));
	assert_null(cable_cbor_map_get_int(m, 2)); /* no extension before a phone said so */
	v = cable_cbor_map_get_int(m, 3);
	assert_int_equal(cbor_bytestring_length(v), 16);
	assert_memory_equal(cbor_bytestring_handle(v), aaguid, 16);
	opts = cable_cbor_map_get_int(m, 4);
	assert_true(cbor_get_bool(cable_cbor_map_get_str(opts, "rk")));
	assert_true(cbor_get_bool(cable_cbor_map_get_str(opts, "up")));
	assert_true(cbor_get_bool(cable_cbor_map_get_str(opts, "uv")));
	assert_false(cbor_get_bool(cable_cbor_map_get_str(opts, "plat")));
	assert_null(cable_cbor_map_get_str(opts, "clientPin"));
	assert_null(cable_cbor_map_get_str(opts, "pinUvAuthToken"));
	assert_null(cable_cbor_map_get_int(m, 6)); /* no PIN protocols */
	assert_int_equal(cbor_get_int(cable_cbor_map_get_int(m, 5)), 7609);
	assert_int_equal(cbor_get_int(cable_cbor_map_get_int(m, 7)), 32);
	assert_int_equal(cbor_get_int(cable_cbor_map_get_int(m, 8)), 1023);
	assert_int_equal(cbor_array_size(cable_cbor_map_get_int(m, 10)), 2);
	cbor_decref(&m);
	cable_ctap_decision_clear(&d);
	cable_ctap_policy_free(&p);
	assert_null(p);
}

static void
test_refine(void **state)
{
	struct cable_ctap_policy *p = new_policy();
	struct cable_cbw w;
	uint8_t *gi, *out;
	size_t gi_len, out_len;
	cbor_item_t *m, *v;
	static const uint8_t aaguid[16] = CABLE_BRIDGE_AAGUID;

	(void)state;
	cable_cbw_init(&w, 0);
	cable_cbw_map(&w, 4);
	cable_cbw_uint(&w, 1);
	cable_cbw_array(&w, 1);
	cable_cbw_text(&w, "FIDO_2_0");
	cable_cbw_uint(&w, 2);
	cable_cbw_array(&w, 3);
	cable_cbw_text(&w, "prf");
	cable_cbw_text(&w, "largeBlob");
	cable_cbw_text(&w, "hmac-secret");
	cable_cbw_uint(&w, 8);
	cable_cbw_uint(&w, 128);
	cable_cbw_uint(&w, 10);
	cable_cbw_array(&w, 1);
	cable_cbw_map(&w, 2);
	cable_cbw_text(&w, "alg");
	cable_cbw_int(&w, -7);
	cable_cbw_text(&w, "type");
	cable_cbw_text(&w, "public-key");
	assert_int_equal(cable_cbw_finish(&w, &gi, &gi_len), 0);
	assert_int_equal(cable_ctap_policy_refine(p, gi, gi_len), 0);
	assert_int_equal(cable_ctap_policy_refine(p, gi, 3), CABLE_ERR_CBOR);
	free(gi);
	assert_int_equal(cable_ctap_policy_get_info(p, &out, &out_len), 0);
	m = load_answer(out, out_len, 0);
	v = cable_cbor_map_get_int(m, 1);
	assert_true(array_has(v, "FIDO_2_0") && array_has(v, "FIDO_2_1"));
	v = cable_cbor_map_get_int(m, 2);
	assert_int_equal(cbor_array_size(v), 1);
	assert_true(array_has(v, "prf"));
	assert_memory_equal(cbor_bytestring_handle(cable_cbor_map_get_int(m, 3)), aaguid, 16);
	assert_int_equal(cbor_get_int(cable_cbor_map_get_int(m, 8)), 128);
	assert_int_equal(cbor_array_size(cable_cbor_map_get_int(m, 10)), 1);
	cbor_decref(&m);
	free(out);
	cable_ctap_policy_free(&p);
}

static void
test_touch(void **state)
{
	struct cable_ctap_policy *p = new_policy();
	struct cable_ctap_decision d;
	struct cable_cbw w;
	uint8_t sel = CABLE_CTAP_SELECTION;

	(void)state;
	assert_int_equal(cable_ctap_policy_decide(p, 0, &sel, 1, &d), 0);
	assert_int_equal(d.action, CABLE_CTAP_ACTION_TOUCH);
	assert_int_equal(d.kind, CABLE_CTAP_KIND_SELECTION);
	mc_request(&w, ".dummy", -1, true, 0);
	decide(p, 0, &w, &d);
	assert_int_equal(d.action, CABLE_CTAP_ACTION_TOUCH);
	assert_int_equal(d.kind, CABLE_CTAP_KIND_DUMMY);
	assert_string_equal(d.rp_id, ".dummy");
	mc_request(&w, "make.me.blink", -1, false, 0);
	decide(p, 0, &w, &d);
	assert_int_equal(d.kind, CABLE_CTAP_KIND_DUMMY);
	mc_request(&w, "example.com", -1, true, 0);
	decide(p, 0, &w, &d);
	assert_int_equal(d.kind, CABLE_CTAP_KIND_DUMMY); /* zero-length pinUvAuthParam */
	assert_int_equal(cable_ctap_policy_touch_answer(CABLE_CTAP_KIND_SELECTION, true, false), 0x00);
	assert_int_equal(cable_ctap_policy_touch_answer(CABLE_CTAP_KIND_DUMMY, true, false), 0x35);
	assert_int_equal(cable_ctap_policy_touch_answer(CABLE_CTAP_KIND_SELECTION, false, false), 0x27);
	assert_int_equal(cable_ctap_policy_touch_answer(CABLE_CTAP_KIND_DUMMY, false, true), 0x2f);
	cable_ctap_policy_free(&p);
}

static void
check_probe_answer(const uint8_t *buf, size_t len, uint8_t id, uint64_t total)
{
	cbor_item_t *m = load_answer(buf, len, 0), *c, *ad;
	uint8_t h[32], cid[20];

	memset(cid, id, sizeof(cid));
	c = cable_cbor_map_get_int(m, 1);
	assert_int_equal(cbor_bytestring_length(cable_cbor_map_get_str(c, "id")), 20);
	assert_memory_equal(cbor_bytestring_handle(cable_cbor_map_get_str(c, "id")), cid, 20);
	assert_null(cable_cbor_map_get_str(c, "transports"));
	ad = cable_cbor_map_get_int(m, 2);
	assert_int_equal(cbor_bytestring_length(ad), 37);
	assert_int_equal(cable_sha256((const uint8_t *)"example.com", 11, NULL, 0, h), 0);
	assert_memory_equal(cbor_bytestring_handle(ad), h, 32);
	assert_int_equal(cbor_bytestring_handle(ad)[32], 0); /* neither UP nor UV */
	/* Never a signature. */
	assert_int_equal(cbor_bytestring_length(cable_cbor_map_get_int(m, 3)), 0);
	if (total > 1)
		assert_int_equal(cbor_get_int(cable_cbor_map_get_int(m, 5)), total);
	else
		assert_null(cable_cbor_map_get_int(m, 5));
	cbor_decref(&m);
}

static void
test_probe(void **state)
{
	struct cable_ctap_policy *p = new_policy();
	struct cable_ctap_decision d;
	struct cable_cbw w;
	uint8_t next = CABLE_CTAP_GET_NEXT_ASSERTION, info = CABLE_CTAP_GET_INFO;

	(void)state;
	/* Firefox's pre-flight: every probed credential comes back, first + getNextAssertion. */
	ga_request(&w, "example.com", 3, 0, false);
	decide(p, 0, &w, &d);
	assert_int_equal(d.action, CABLE_CTAP_ACTION_LOCAL);
	assert_int_equal(d.kind, CABLE_CTAP_KIND_PROBE);
	assert_int_equal(d.list_len, 3);
	check_probe_answer(d.out, d.out_len, 0xa0, 3);
	cable_ctap_decision_clear(&d);
	assert_int_equal(cable_ctap_policy_pending_next(p), 2);
	for (uint8_t i = 1; i < 3; i++) {
		assert_int_equal(cable_ctap_policy_decide(p, i * SEC, &next, 1, &d), 0);
		assert_int_equal(d.kind, CABLE_CTAP_KIND_NEXT);
		check_probe_answer(d.out, d.out_len, (uint8_t)(0xa0 + i), 1);
		cable_ctap_decision_clear(&d);
	}
	assert_int_equal(cable_ctap_policy_decide(p, 3 * SEC, &next, 1, &d), 0);
	assert_int_equal(d.out_len, 1);
	assert_int_equal(d.out[0], CABLE_CTAP_NOT_ALLOWED);
	cable_ctap_decision_clear(&d);

	/* One credential: no numberOfCredentials, nothing queued. */
	ga_request(&w, "example.com", 1, 0, false);
	decide(p, 0, &w, &d);
	check_probe_answer(d.out, d.out_len, 0xa0, 1);
	assert_int_equal(cable_ctap_policy_pending_next(p), 0);
	cable_ctap_decision_clear(&d);

	/* Pending answers expire, and any other command drops them. */
	ga_request(&w, "example.com", 2, 0, false);
	decide(p, 0, &w, &d);
	cable_ctap_decision_clear(&d);
	assert_int_equal(cable_ctap_policy_decide(p, 31 * SEC, &next, 1, &d), 0);
	assert_int_equal(d.out[0], CABLE_CTAP_NOT_ALLOWED);
	cable_ctap_decision_clear(&d);
	ga_request(&w, "example.com", 2, 0, false);
	decide(p, 0, &w, &d);
	cable_ctap_decision_clear(&d);
	assert_int_equal(cable_ctap_policy_decide(p, 0, &info, 1, &d), 0);
	cable_ctap_decision_clear(&d);
	assert_int_equal(cable_ctap_policy_pending_next(p), 0);

	/* No allow list: the phone's discoverable credentials are unknown here. */
	ga_request(&w, "example.com", 0, 0, false);
	decide(p, 0, &w, &d);
	assert_int_equal(d.kind, CABLE_CTAP_KIND_PROBE);
	assert_int_equal(d.out_len, 1);
	assert_int_equal(d.out[0], CABLE_CTAP_NO_CREDENTIALS);
	cable_ctap_decision_clear(&d);
	cable_ctap_policy_free(&p);
}

static void
test_forward(void **state)
{
	struct cable_ctap_policy *p = new_policy();
	struct cable_ctap_decision d;
	struct cable_cbw w;
	cbor_item_t *m, *list;

	(void)state;
	ga_request(&w, "example.com", 2, 1, true);
	decide(p, 0, &w, &d);
	assert_int_equal(d.action, CABLE_CTAP_ACTION_FORWARD);
	assert_int_equal(d.kind, CABLE_CTAP_KIND_REAL);
	assert_string_equal(d.rp_id, "example.com");
	assert_int_equal(d.out[0], CABLE_CTAP_GET_ASSERTION);
	assert_int_equal(cable_cbor_load(d.out + 1, d.out_len - 1, CABLE_CBOR_CANONICAL, &m), 0);
	assert_int_equal(cbor_map_size(m), 5);
	list = cable_cbor_map_get_int(m, 3);
	assert_int_equal(cbor_array_size(list), 2); /* the whole list reaches the phone */
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(cbor_map_size(cbor_array_handle(list)[i]), 2);
		assert_null(cable_cbor_map_get_str(cbor_array_handle(list)[i], "transports"));
	}
	assert_non_null(cable_cbor_map_get_str(cable_cbor_map_get_int(m, 4), "prf"));
	cbor_decref(&m);
	cable_ctap_decision_clear(&d);

	/* No options: up defaults to true. */
	ga_request(&w, "example.com", 0, -1, false);
	decide(p, 0, &w, &d);
	assert_int_equal(d.action, CABLE_CTAP_ACTION_FORWARD);
	cable_ctap_decision_clear(&d);

	mc_request(&w, "example.com", -1, false, 3);
	decide(p, 0, &w, &d);
	assert_int_equal(d.action, CABLE_CTAP_ACTION_FORWARD);
	assert_int_equal(d.list_len, 3);
	assert_int_equal(cable_cbor_load(d.out + 1, d.out_len - 1, CABLE_CBOR_CANONICAL, &m), 0);
	list = cable_cbor_map_get_int(m, 5);
	assert_int_equal(cbor_array_size(list), 3);
	assert_null(cable_cbor_map_get_str(cbor_array_handle(list)[0], "transports"));
	cbor_decref(&m);
	cable_ctap_decision_clear(&d);
	cable_ctap_policy_free(&p);
}

/* Clients do not always send canonical CBOR; the phone always gets it. */
static void
test_forward_canonical(void **state)
{
	struct cable_ctap_policy *p = new_policy();
	struct cable_ctap_decision d;
	/* {5: {"up": true}, 2: h'00', 1: "a.b", 3: [{"type": "public-key", "id": h'01'}]}, no order */
	static const uint8_t req[] = { 0x02, 0xa4, 0x05, 0xa1, 0x62, 'u', 'p', 0xf5, 0x02, 0x41, 0x00,
		0x01, 0x63, 'a', '.', 'b', 0x03, 0x81, 0xa2, 0x64, 't', 'y', 'p', 'e', 0x6a, 'p', 'u', 'b',
		'l', 'i', 'c', '-', 'k', 'e', 'y', 0x62, 'i', 'd', 0x41, 0x01 };
	static const uint8_t want[] = { 0x02, 0xa4, 0x01, 0x63, 'a', '.', 'b', 0x02, 0x41, 0x00, 0x03,
		0x81, 0xa2, 0x62, 'i', 'd', 0x41, 0x01, 0x64, 't', 'y', 'p', 'e', 0x6a, 'p', 'u', 'b', 'l',
		'i', 'c', '-', 'k', 'e', 'y', 0x05, 0xa1, 0x62, 'u', 'p', 0xf5 };
	/* {1: "a.b", 2: h'00', 1: "a.b"}: a duplicate key */
	static const uint8_t dup[] = { 0x02, 0xa3, 0x01, 0x63, 'a', '.', 'b', 0x02, 0x41, 0x00, 0x01,
		0x63, 'a', '.', 'b' };

	/* Key 5 written in three bytes (19 00 05): forwarded in one. */
	static const uint8_t wide[] = { 0x02, 0xa3, 0x01, 0x63, 'a', '.', 'b', 0x02, 0x41, 0x00, 0x19,
		0x00, 0x05, 0xa1, 0x62, 'u', 'p', 0xf5 };
	static const uint8_t narrow[] = { 0x02, 0xa3, 0x01, 0x63, 'a', '.', 'b', 0x02, 0x41, 0x00,
		0x05, 0xa1, 0x62, 'u', 'p', 0xf5 };
	/* An array as a map key: not a CTAP request. */
	static const uint8_t arraykey[] = { 0x02, 0xa3, 0x01, 0x63, 'a', '.', 'b', 0x02, 0x41, 0x00,
		0x81, 0x00, 0x00 };

	(void)state;
	assert_int_equal(cable_ctap_policy_decide(p, 0, req, sizeof(req), &d), 0);
	assert_int_equal(d.action, CABLE_CTAP_ACTION_FORWARD);
	assert_int_equal(d.out_len, sizeof(want));
	assert_memory_equal(d.out, want, sizeof(want));
	cable_ctap_decision_clear(&d);
	assert_int_equal(cable_ctap_policy_decide(p, 0, wide, sizeof(wide), &d), 0);
	assert_int_equal(d.action, CABLE_CTAP_ACTION_FORWARD);
	assert_int_equal(d.out_len, sizeof(narrow));
	assert_memory_equal(d.out, narrow, sizeof(narrow));
	cable_ctap_decision_clear(&d);
	assert_int_equal(cable_ctap_policy_decide(p, 0, arraykey, sizeof(arraykey), &d), 0);
	assert_int_equal(d.out_len, 1);
	assert_int_equal(d.out[0], CABLE_CTAP_INVALID_CBOR);
	cable_ctap_decision_clear(&d);
	assert_int_equal(cable_ctap_policy_decide(p, 0, dup, sizeof(dup), &d), 0);
	assert_int_equal(d.action, CABLE_CTAP_ACTION_LOCAL);
	assert_int_equal(d.out_len, 1);
	assert_int_equal(d.out[0], CABLE_CTAP_INVALID_CBOR);
	cable_ctap_decision_clear(&d);
	cable_ctap_policy_free(&p);
}

static void
test_errors(void **state)
{
	struct cable_ctap_policy *p = new_policy();
	struct cable_ctap_decision d;
	struct cable_cbw w;
	uint8_t pin[] = { CABLE_CTAP_CLIENT_PIN, 0xa2, 0x01, 0x02, 0x02, 0x02 };
	uint8_t bad[] = { CABLE_CTAP_GET_ASSERTION, 0xa1, 0x01 };
	uint8_t notmap[] = { CABLE_CTAP_GET_ASSERTION, 0x01 };
	uint8_t missing[] = { CABLE_CTAP_GET_ASSERTION, 0xa0 };
	struct { const uint8_t *req; size_t len; uint8_t st; } cases[] = {
		{ pin, sizeof(pin), CABLE_CTAP_INVALID_COMMAND },
		{ bad, sizeof(bad), CABLE_CTAP_INVALID_CBOR },
		{ notmap, sizeof(notmap), CABLE_CTAP_CBOR_UNEXPECTED_TYPE },
		{ missing, sizeof(missing), CABLE_CTAP_MISSING_PARAMETER },
		{ bad, 1, CABLE_CTAP_INVALID_CBOR },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(cable_ctap_policy_decide(p, 0, cases[i].req, cases[i].len, &d), 0);
		assert_int_equal(d.action, CABLE_CTAP_ACTION_LOCAL);
		assert_int_equal(d.out_len, 1);
		assert_int_equal(d.out[0], cases[i].st);
		cable_ctap_decision_clear(&d);
	}
	/* makeCredential never runs without user presence. */
	mc_request(&w, "example.com", 0, false, 0);
	decide(p, 0, &w, &d);
	assert_int_equal(d.out[0], CABLE_CTAP_INVALID_OPTION);
	cable_ctap_decision_clear(&d);
	cable_ctap_policy_free(&p);
}

/* An assertion answer as a phone might send it. */
static void
ga_answer(struct cable_cbw *w, const char *rp, uint8_t flags, bool transports, bool extra)
{
	uint8_t ad[37], sig[8], cid[20], ok = 0;

	assert_int_equal(cable_sha256((const uint8_t *)rp, strlen(rp), NULL, 0, ad), 0);
	ad[32] = flags;
	memset(ad + 33, 0, 4);
	memset(sig, 0x30, sizeof(sig));
	memset(cid, 0xa1, sizeof(cid));
	cable_cbw_init(w, 0);
	cable_cbw_raw(w, &ok, 1);
	cable_cbw_map(w, 3 + (extra ? 3 : 0));
	cable_cbw_uint(w, 1);
	cable_cbw_map(w, transports ? 3 : 2);
	cable_cbw_text(w, "id");
	cable_cbw_bytes(w, cid, sizeof(cid));
	cable_cbw_text(w, "type");
	cable_cbw_text(w, "public-key");
	if (transports) {
		cable_cbw_text(w, "transports");
		cable_cbw_array(w, 2);
		cable_cbw_text(w, "cable");
		cable_cbw_text(w, "internal");
	}
	cable_cbw_uint(w, 2);
	cable_cbw_bytes(w, ad, sizeof(ad));
	cable_cbw_uint(w, 3);
	cable_cbw_bytes(w, sig, sizeof(sig));
	if (extra) {
		cable_cbw_uint(w, 5);
		cable_cbw_uint(w, 2);
		cable_cbw_uint(w, 8);
		cable_cbw_map(w, 2);
		cable_cbw_text(w, "foo");
		cable_cbw_uint(w, 1);
		cable_cbw_text(w, "prf");
		cable_cbw_map(w, 0);
		cable_cbw_uint(w, 9);
		cable_cbw_uint(w, 1);
	}
}

static uint8_t
clean(struct cable_ctap_policy *p, struct cable_cbw *rq, struct cable_cbw *rs, uint8_t **out,
    size_t *out_len, const char **problem)
{
	uint8_t *req, *resp;
	size_t req_len, resp_len;

	assert_int_equal(cable_cbw_finish(rq, &req, &req_len), 0);
	assert_int_equal(cable_cbw_finish(rs, &resp, &resp_len), 0);
	assert_int_equal(cable_ctap_policy_clean_response(p, req, req_len, resp, resp_len, out,
	    out_len, problem), 0);
	free(req);
	free(resp);
	return (*out)[0];
}

static void
test_clean(void **state)
{
	struct cable_ctap_policy *p = new_policy();
	struct cable_cbw rq, rs;
	uint8_t *out;
	size_t len;
	const char *problem;
	cbor_item_t *m, *c, *u;
	uint8_t err = CABLE_CTAP_OPERATION_DENIED;

	(void)state;
	/* Firefox refuses "cable" transports; unknown keys and outputs are dropped; prf stays. */
	ga_request(&rq, "example.com", 2, 1, true);
	ga_answer(&rs, "example.com", 0x05, true, true);
	assert_int_equal(clean(p, &rq, &rs, &out, &len, &problem), 0);
	assert_non_null(problem);
	m = load_answer(out, len, 0);
	assert_int_equal(cbor_map_size(m), 4);
	c = cable_cbor_map_get_int(m, 1);
	assert_int_equal(cbor_map_size(c), 2);
	assert_null(cable_cbor_map_get_str(c, "transports"));
	assert_null(cable_cbor_map_get_int(m, 5)); /* numberOfCredentials with an allow list */
	assert_null(cable_cbor_map_get_int(m, 9));
	u = cable_cbor_map_get_int(m, 8);
	assert_int_equal(cbor_map_size(u), 1);
	assert_non_null(cable_cbor_map_get_str(u, "prf"));
	cbor_decref(&m);
	free(out);

	/* Without prf requested, unsigned outputs go entirely. */
	ga_request(&rq, "example.com", 2, 1, false);
	ga_answer(&rs, "example.com", 0x05, false, true);
	assert_int_equal(clean(p, &rq, &rs, &out, &len, &problem), 0);
	m = load_answer(out, len, 0);
	assert_int_equal(cbor_map_size(m), 3);
	assert_null(cable_cbor_map_get_int(m, 8));
	cbor_decref(&m);
	free(out);

	/* A clean answer passes byte for byte. */
	ga_request(&rq, "example.com", 2, 1, false);
	ga_answer(&rs, "example.com", 0x05, false, false);
	{
		uint8_t *want;
		size_t want_len;
		struct cable_cbw copy;

		ga_answer(&copy, "example.com", 0x05, false, false);
		assert_int_equal(cable_cbw_finish(&copy, &want, &want_len), 0);
		assert_int_equal(clean(p, &rq, &rs, &out, &len, &problem), 0);
		assert_null(problem);
		assert_int_equal(len, want_len);
		assert_memory_equal(out, want, len);
		free(want);
		free(out);
	}

	/* Wrong RP ID hash, attested data in an assertion: refused with CTAP1_ERR_OTHER. */
	ga_request(&rq, "example.com", 2, 1, false);
	ga_answer(&rs, "evil.example", 0x05, false, false);
	assert_int_equal(clean(p, &rq, &rs, &out, &len, &problem), CABLE_CTAP_OTHER);
	assert_int_equal(len, 1);
	assert_string_equal(problem, "rpIdHash does not match the RP ID");
	free(out);
	ga_request(&rq, "example.com", 2, 1, false);
	ga_answer(&rs, "example.com", 0x45, false, false);
	assert_int_equal(clean(p, &rq, &rs, &out, &len, &problem), CABLE_CTAP_OTHER);
	free(out);

	/* Errors pass through; garbage becomes CTAP1_ERR_OTHER. */
	ga_request(&rq, "example.com", 2, 1, false);
	cable_cbw_init(&rs, 0);
	cable_cbw_raw(&rs, &err, 1);
	assert_int_equal(clean(p, &rq, &rs, &out, &len, &problem), CABLE_CTAP_OPERATION_DENIED);
	assert_int_equal(len, 1);
	free(out);
	ga_request(&rq, "example.com", 2, 1, false);
	cable_cbw_init(&rs, 0);
	cable_cbw_raw(&rs, "\x00\xff", 2);
	assert_int_equal(clean(p, &rq, &rs, &out, &len, &problem), CABLE_CTAP_OTHER);
	free(out);

	/* makeCredential: attested data required, rp hash checked, epAtt dropped. */
	{
		uint8_t ad[37 + 16 + 2 + 4], ok = 0;

		assert_int_equal(cable_sha256((const uint8_t *)"example.com", 11, NULL, 0, ad), 0);
		ad[32] = 0x45;
		memset(ad + 33, 0, sizeof(ad) - 33);
		ad[54] = 4;
		mc_request(&rq, "example.com", -1, false, 0);
		cable_cbw_init(&rs, 0);
		cable_cbw_raw(&rs, &ok, 1);
		cable_cbw_map(&rs, 4);
		cable_cbw_uint(&rs, 1);
		cable_cbw_text(&rs, "none");
		cable_cbw_uint(&rs, 2);
		cable_cbw_bytes(&rs, ad, sizeof(ad));
		cable_cbw_uint(&rs, 3);
		cable_cbw_map(&rs, 0);
		cable_cbw_uint(&rs, 4);
		cable_cbw_bool(&rs, true);
		assert_int_equal(clean(p, &rq, &rs, &out, &len, &problem), 0);
		m = load_answer(out, len, 0);
		assert_int_equal(cbor_map_size(m), 3);
		assert_null(cable_cbor_map_get_int(m, 4));
		cbor_decref(&m);
		free(out);
		ad[0] ^= 1;
		mc_request(&rq, "example.com", -1, false, 0);
		cable_cbw_init(&rs, 0);
		cable_cbw_raw(&rs, &ok, 1);
		cable_cbw_map(&rs, 3);
		cable_cbw_uint(&rs, 1);
		cable_cbw_text(&rs, "none");
		cable_cbw_uint(&rs, 2);
		cable_cbw_bytes(&rs, ad, sizeof(ad));
		cable_cbw_uint(&rs, 3);
		cable_cbw_map(&rs, 0);
		assert_int_equal(clean(p, &rq, &rs, &out, &len, &problem), CABLE_CTAP_OTHER);
		free(out);
	}
	cable_ctap_policy_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_info),
		cmocka_unit_test(test_refine),
		cmocka_unit_test(test_touch),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_forward),
		cmocka_unit_test(test_forward_canonical),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

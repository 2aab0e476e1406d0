/* Unit tests: framing, post-handshake (revisions 0 and 1), update and linking messages. */
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "cable/bytes.h"
#include "cable/cbor.h"
#include "cable/crypter.h"
#include "cable/error.h"
#include "cable/messages.h"
#include "cable/p256.h"
#include "tv.h"

/* ---- CBOR helpers for building test inputs ---- */

static cbor_item_t *
uint_item(uint64_t v)
{
	if (v <= 0xff)
		return cbor_build_uint8((uint8_t)v);
	if (v <= 0xffff)
		return cbor_build_uint16((uint16_t)v);
	return cbor_build_uint32((uint32_t)v);
}

static void
put(cbor_item_t *map, uint64_t key, cbor_item_t *value)
{
	assert_true(cbor_map_add(map, (struct cbor_pair){.key = cbor_move(uint_item(key)),
					  .value = cbor_move(value)}));
}

static uint8_t *
encode(cbor_item_t *item, size_t *len)
{
	uint8_t *out;
	assert_int_equal(cable_cbor_encode(item, &out, len), 0);
	cbor_decref(&item);
	return out;
}

static cbor_item_t *
bytes_item(const uint8_t *p, size_t n)
{
	static const uint8_t z[1];
	return cbor_build_bytestring(n ? p : z, n);
}

/* ---- Vectors: frames ---- */

static void
run_frame_vector(json_t *v, void *ctx)
{
	const char *name = tv_str(v, "name");
	uint8_t *out, *want, *data, type;
	const uint8_t *payload;
	size_t out_len, want_len, data_len, payload_len;

	(void)ctx;
	if (strcmp(name, "frame_unknown_type") == 0) {
		uint8_t *in = tv_hex(v, "inputs.bytes", &data_len);
		assert_string_equal(tv_str(v, "expected.message_type"), "unknown");
		assert_true(in[0] > CABLE_FRAME_TYPE_MAX);
		assert_int_equal(cable_frame_parse(in, data_len, &type, &payload, &payload_len),
		    CABLE_ERR_FRAME_TYPE);
		free(in);
		return;
	}
	want = tv_hex(v, "expected.bytes", &want_len);
	if (tv_has(v, "inputs.ctap_command")) {
		data = tv_hex(v, "inputs.cbor", &data_len);
		assert_int_equal(cable_frame_encode_ctap((uint8_t)tv_int(v, "inputs.ctap_command"), data,
				     data_len, &out, &out_len),
		    0);
	} else {
		data = tv_hex(v, "inputs.data", &data_len);
		assert_int_equal(cable_frame_encode((uint8_t)tv_int(v, "inputs.message_type"), data, data_len,
				     &out, &out_len),
		    0);
	}
	tv_assert_bytes(out, out_len, want, want_len);
	/* And back: the type and everything after it. */
	assert_int_equal(cable_frame_parse(out, out_len, &type, &payload, &payload_len), 0);
	assert_int_equal(type, tv_int(v, "inputs.message_type"));
	tv_assert_bytes(payload, payload_len, want + 1, want_len - 1);
	free(out);
	free(want);
	free(data);
}

static void
test_frame_vectors(void **state)
{
	uint8_t type, *out;
	const uint8_t *p;
	size_t n, out_len;

	(void)state;
	assert_int_equal(tv_each("frame_", run_frame_vector, NULL), 4);
	tv_assert_all_run("frame_");
	assert_int_equal(cable_frame_parse((const uint8_t *)"", 0, &type, &p, &n), CABLE_ERR_FRAME_EMPTY);
	for (unsigned t = 4; t < 256; t++) {
		uint8_t b = (uint8_t)t;
		assert_int_equal(cable_frame_parse(&b, 1, &type, &p, &n), CABLE_ERR_FRAME_TYPE);
	}
	assert_int_equal(cable_frame_encode(4, NULL, 0, &out, &out_len), CABLE_ERR_ARG);
	assert_int_equal(cable_frame_encode(CABLE_FRAME_SHUTDOWN, (const uint8_t *)"x", 1, &out, &out_len),
	    CABLE_ERR_ARG);
}

/* §7.2: who may send what, and when. */
static void
test_frame_rules(void **state)
{
	(void)state;
	/* Desktop receiving. */
	assert_int_equal(cable_frame_check_incoming(CABLE_SIDE_DESKTOP, -1, CABLE_FRAME_SHUTDOWN),
	    CABLE_ERR_PEER_SHUTDOWN);
	assert_int_equal(cable_frame_check_incoming(CABLE_SIDE_DESKTOP, CABLE_FRAME_CTAP, CABLE_FRAME_SHUTDOWN),
	    CABLE_ERR_PEER_SHUTDOWN);
	assert_int_equal(cable_frame_check_incoming(CABLE_SIDE_DESKTOP, -1, CABLE_FRAME_UPDATE), 0);
	assert_int_equal(cable_frame_check_incoming(CABLE_SIDE_DESKTOP, -1, CABLE_FRAME_CTAP),
	    CABLE_ERR_UNEXPECTED);
	assert_int_equal(cable_frame_check_incoming(CABLE_SIDE_DESKTOP, CABLE_FRAME_CTAP, CABLE_FRAME_CTAP), 0);
	assert_int_equal(cable_frame_check_incoming(CABLE_SIDE_DESKTOP, CABLE_FRAME_CTAP, CABLE_FRAME_JSON),
	    CABLE_ERR_UNEXPECTED);
	assert_int_equal(cable_frame_check_incoming(CABLE_SIDE_DESKTOP, CABLE_FRAME_JSON, CABLE_FRAME_JSON), 0);
	assert_int_equal(cable_frame_check_incoming(CABLE_SIDE_DESKTOP, CABLE_FRAME_JSON, CABLE_FRAME_CTAP),
	    CABLE_ERR_UNEXPECTED);
	assert_int_equal(cable_frame_check_incoming(CABLE_SIDE_DESKTOP, -1, 4), CABLE_ERR_FRAME_TYPE);
	/* Phone receiving. */
	assert_int_equal(cable_frame_check_incoming(CABLE_SIDE_PHONE, -1, CABLE_FRAME_SHUTDOWN), 0);
	assert_int_equal(cable_frame_check_incoming(CABLE_SIDE_PHONE, -1, CABLE_FRAME_UPDATE), 0);
	assert_int_equal(cable_frame_check_incoming(CABLE_SIDE_PHONE, -1, CABLE_FRAME_CTAP), 0);
	assert_int_equal(cable_frame_check_incoming(CABLE_SIDE_PHONE, CABLE_FRAME_CTAP, CABLE_FRAME_CTAP),
	    CABLE_ERR_UNEXPECTED);
	assert_int_equal(cable_frame_check_incoming(CABLE_SIDE_PHONE, CABLE_FRAME_CTAP, CABLE_FRAME_JSON),
	    CABLE_ERR_UNEXPECTED);
	assert_int_equal(cable_frame_check_incoming(CABLE_SIDE_PHONE, -1, 0xff), CABLE_ERR_FRAME_TYPE);
	assert_int_equal(cable_frame_check_incoming((enum cable_side)0, -1, 1), CABLE_ERR_ARG);
}

/* ---- Vectors: revision-0 padded maps ---- */

static void
run_padded_vector(json_t *v, void *ctx)
{
	json_t *map = tv_field(v, "inputs.map");
	cbor_item_t *item = cbor_new_definite_map(json_object_size(map));
	const char *key;
	json_t *val;
	uint8_t *cbor, *padded;
	size_t cbor_len, padded_len, found;
	cbor_item_t *back;

	(void)ctx;
	json_object_foreach(map, key, val) {
		const char *hex = json_string_value(json_object_get(val, "bytes"));
		uint8_t *b = NULL;
		size_t n = 0;
		assert_non_null(hex); /* these vectors hold byte strings only */
		if (*hex != '\0')
			assert_int_equal(cable_hex_decode_alloc(hex, &b, &n), 0);
		put(item, strtoull(key, NULL, 10), bytes_item(b, n));
		free(b);
	}
	cbor = encode(item, &cbor_len);
	assert_int_equal(cable_padded_map_encode(cbor, cbor_len, &padded, &padded_len), 0);
	assert_int_equal(padded_len, tv_int(v, "expected.encoded_length"));
	assert_int_equal(padded_len % CABLE_PADDED_MAP_GRANULARITY, 0);
	assert_int_equal(cable_padded_map_decode(padded, padded_len, &found), 0);
	assert_int_equal(found, cbor_len);
	assert_int_equal(cable_cbor_load(padded, found, CABLE_CBOR_CANONICAL, &back), 0);
	assert_int_equal(cbor_map_size(back), tv_int(v, "expected.decodes_to_entries"));
	cbor_decref(&back);
	free(cbor);
	free(padded);
}

static void
test_padded_map_vectors(void **state)
{
	uint8_t buf[600];
	size_t n;

	(void)state;
	assert_int_equal(tv_each("padded_cbor_map_", run_padded_vector, NULL), 2);
	tv_assert_all_run("padded_cbor_map_");
	/* The pre-M99 8-bit trailer: a0, 254 zeros, then 254. */
	memset(buf, 0, sizeof(buf));
	buf[0] = 0xa0;
	buf[255] = 254;
	assert_int_equal(cable_padded_map_decode(buf, 256, &n), 0);
	assert_int_equal(n, 1);
	/* Trailers that point past the start, or leave something that is not one map. */
	buf[255] = 255;
	assert_int_equal(cable_padded_map_decode(buf, 256, &n), CABLE_ERR_POST_HANDSHAKE);
	buf[0] = 0x80; /* an array */
	buf[255] = 254;
	assert_int_equal(cable_padded_map_decode(buf, 256, &n), CABLE_ERR_POST_HANDSHAKE);
	assert_int_equal(cable_padded_map_decode(buf, 0, &n), CABLE_ERR_POST_HANDSHAKE);
}

/* ---- Vector: a real post-handshake message ---- */

static void
assert_strings(const cbor_item_t *arr, json_t *want)
{
	assert_non_null(arr);
	assert_true(cbor_isa_array(arr));
	assert_int_equal(cbor_array_size(arr), json_array_size(want));
	for (size_t i = 0; i < json_array_size(want); i++) {
		cbor_item_t *s = cbor_array_handle(arr)[i];
		const char *w = json_string_value(json_array_get(want, i));
		assert_true(cbor_isa_string(s));
		assert_int_equal(cbor_string_length(s), strlen(w));
		assert_memory_equal(cbor_string_handle(s), w, strlen(w));
	}
}

static void
check_chrome_getinfo(json_t *v, const struct cable_post_handshake *ph)
{
	cbor_item_t *gi, *aaguid, *opts;
	uint8_t *want;
	size_t want_len;
	const char *k;
	json_t *val;

	assert_int_equal(cable_cbor_load(ph->getinfo, ph->getinfo_len, CABLE_CBOR_CANONICAL, &gi), 0);
	assert_strings(cable_cbor_map_get_int(gi, 1), tv_field(v, "expected.getinfo.versions"));
	assert_strings(cable_cbor_map_get_int(gi, 2), tv_field(v, "expected.getinfo.extensions"));
	assert_strings(cable_cbor_map_get_int(gi, 9), tv_field(v, "expected.getinfo.transports"));
	aaguid = cable_cbor_map_get_int(gi, 3);
	want = tv_hex(v, "expected.getinfo.aaguid", &want_len);
	assert_non_null(aaguid);
	tv_assert_bytes(cbor_bytestring_handle(aaguid), cbor_bytestring_length(aaguid), want, want_len);
	free(want);
	opts = cable_cbor_map_get_int(gi, 4);
	assert_non_null(opts);
	assert_int_equal(cbor_map_size(opts), json_object_size(tv_field(v, "expected.getinfo.options")));
	json_object_foreach(tv_field(v, "expected.getinfo.options"), k, val) {
		cbor_item_t *o = cable_cbor_map_get_str(opts, k);
		assert_non_null(o);
		assert_true(cbor_is_bool(o));
		assert_int_equal(cbor_get_bool(o), json_is_true(val));
	}
	cbor_decref(&gi);
}

static void
test_post_handshake_android_vector(void **state)
{
	json_t *v = tv_get("post_handshake_android_chrome");
	struct cable_post_handshake ph;
	uint8_t *pt = NULL, *padded, buf[512];
	size_t len, padded_len;

	(void)state;
	pt = tv_hex(v, "inputs.plaintext_cbor", &len);
	assert_true(json_is_null(tv_field(v, "expected.linking_info")));
	for (int session = 0; session < 2; session++) {
		assert_int_equal(cable_post_handshake_parse(pt, len, session == 0, &ph), 0);
		assert_int_equal(ph.revision, 1);
		assert_int_equal(ph.features, CABLE_FEATURE_CTAP); /* key 3 absent */
		assert_false(ph.has_linking);
		check_chrome_getinfo(v, &ph);
		cable_post_handshake_clear(&ph);
		assert_null(ph.getinfo);
	}
	/* The same map as revision 0, with the 16-bit and with the 8-bit trailer. */
	assert_int_equal(cable_padded_map_encode(pt, len, &padded, &padded_len), 0);
	assert_int_equal(padded_len, 512);
	assert_int_equal(cable_post_handshake_parse(padded, padded_len, true, &ph), 0);
	assert_int_equal(ph.revision, 0);
	check_chrome_getinfo(v, &ph);
	cable_post_handshake_clear(&ph);
	free(padded);
	memset(buf, 0, sizeof(buf));
	memcpy(buf, pt, len);
	buf[255] = (uint8_t)(255 - len);
	assert_int_equal(cable_post_handshake_parse(buf, 256, true, &ph), 0);
	assert_int_equal(ph.revision, 0);
	check_chrome_getinfo(v, &ph);
	cable_post_handshake_clear(&ph);
	/* Revision 1 with trailing bytes that make up no valid trailer. */
	buf[255] = 0xff;
	assert_int_equal(cable_post_handshake_parse(buf, 256, true, &ph), CABLE_ERR_POST_HANDSHAKE);
	free(pt);
}

/* ---- Linking info ---- */

static struct cable_p256_key phone_key, desktop_key;

static void
sample_linking(struct cable_linking_info *li)
{
	memset(li, 0, sizeof(*li));
	li->contact_id_len = 152;
	memset(li->contact_id, 'c', li->contact_id_len);
	li->link_id_len = 8;
	memset(li->link_id, 0x11, 8);
	li->secret_len = 32;
	memset(li->secret, 0x22, 32);
	memcpy(li->peer_public, phone_key.pub, 65);
	strcpy(li->name, "Pixel 7");
	memset(li->signature, 0x33, 32);
}

/* The linking map with one key left out (omit) or replaced by value (replace). */
static uint8_t *
linking_variant(int omit, int replace, cbor_item_t *value, size_t *len)
{
	struct cable_linking_info li;
	cbor_item_t *map = cbor_new_definite_map(6);

	sample_linking(&li);
	for (int k = 1; k <= 6; k++) {
		cbor_item_t *item;
		if (k == omit)
			continue;
		if (k == replace) {
			put(map, (uint64_t)k, value);
			continue;
		}
		switch (k) {
		case 1: item = bytes_item(li.contact_id, li.contact_id_len); break;
		case 2: item = bytes_item(li.link_id, li.link_id_len); break;
		case 3: item = bytes_item(li.secret, li.secret_len); break;
		case 4: item = bytes_item(li.peer_public, 65); break;
		case 5: item = cbor_build_string(li.name); break;
		default: item = bytes_item(li.signature, 32); break;
		}
		put(map, (uint64_t)k, item);
	}
	return encode(map, len);
}

static void
test_linking_parse(void **state)
{
	struct cable_linking_info li, back;
	uint8_t *cbor, buf[1100], bad_point[65];
	size_t len;

	(void)state;
	sample_linking(&li);
	assert_int_equal(cable_linking_encode(&li, &cbor, &len), 0);
	assert_int_equal(cable_linking_parse(cbor, len, &back), 0);
	assert_memory_equal(&li, &back, sizeof(li));
	free(cbor);
	li.play_services = true;
	assert_int_equal(cable_linking_encode(&li, &cbor, &len), 0);
	assert_int_equal(cable_linking_parse(cbor, len, &back), 0);
	assert_true(back.play_services);
	free(cbor);
	/* The variant builder itself produces valid info when nothing is changed. */
	cbor = linking_variant(0, 0, NULL, &len);
	assert_int_equal(cable_linking_parse(cbor, len, &back), 0);
	free(cbor);

	/* Each key missing. */
	for (int k = 1; k <= 6; k++) {
		cbor = linking_variant(k, 0, NULL, &len);
		assert_int_equal(cable_linking_parse(cbor, len, &back), CABLE_ERR_LINKING);
		free(cbor);
	}
	/* Each key of the wrong type. */
	for (int k = 1; k <= 6; k++) {
		cbor = linking_variant(0, k, k == 5 ? bytes_item((const uint8_t *)"x", 1) : cbor_build_string("x"),
		    &len);
		assert_int_equal(cable_linking_parse(cbor, len, &back), CABLE_ERR_LINKING);
		free(cbor);
	}
	memset(buf, 0, sizeof(buf));
	/* Lengths: key 4 must be exactly 65 bytes and a point; key 6 exactly 32; caps elsewhere. */
	struct {
		int key;
		size_t n;
	} bad[] = {{4, 64}, {4, 66}, {4, 33}, {6, 31}, {6, 33}, {3, 15}, {3, 65}, {1, 0}, {1, 1025},
	    {2, 0}, {2, 65}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cbor = linking_variant(0, bad[i].key, bytes_item(buf, bad[i].n), &len);
		assert_int_equal(cable_linking_parse(cbor, len, &back), CABLE_ERR_LINKING);
		free(cbor);
	}
	memcpy(bad_point, phone_key.pub, 65);
	bad_point[64] ^= 1;
	cbor = linking_variant(0, 4, bytes_item(bad_point, 65), &len);
	assert_int_equal(cable_linking_parse(cbor, len, &back), CABLE_ERR_LINKING);
	free(cbor);
	/* A name with a NUL inside could be truncated when displayed: refused. */
	cbor = linking_variant(0, 5, cbor_build_stringn("a\0b", 3), &len);
	assert_int_equal(cable_linking_parse(cbor, len, &back), CABLE_ERR_LINKING);
	free(cbor);
	/* Not a map; not CBOR; trailing bytes. */
	assert_int_equal(cable_linking_parse((const uint8_t *)"\x80", 1, &back), CABLE_ERR_LINKING);
	assert_int_equal(cable_linking_parse((const uint8_t *)"\xff", 1, &back), CABLE_ERR_LINKING);
	assert_int_equal(cable_linking_parse((const uint8_t *)"\xa0\x00", 2, &back), CABLE_ERR_LINKING);
	assert_int_equal(cable_linking_parse(NULL, 0, &back), CABLE_ERR_LINKING);
}

static void
run_pairing_vector(json_t *v, void *ctx)
{
	struct cable_p256_key auth, client;
	uint8_t *as, *cs, *hash, sig[32];
	size_t as_len, cs_len, hash_len;

	(void)ctx;
	assert_true(tv_bool(v, "inputs.property_test"));
	as = tv_hex(v, "inputs.authenticator_seed", &as_len);
	cs = tv_hex(v, "inputs.client_seed", &cs_len);
	hash = tv_hex(v, "inputs.handshake_hash", &hash_len);
	assert_int_equal(hash_len, 32);
	assert_int_equal(cable_p256_derive_from_secret(as, as_len, &auth), 0);
	assert_int_equal(cable_p256_derive_from_secret(cs, cs_len, &client), 0);
	assert_int_equal(cable_linking_sign(&auth, client.pub, hash, sig), 0);
	assert_true(tv_bool(v, "expected.verify_with_client_seed"));
	assert_int_equal(cable_linking_verify(&client, auth.pub, hash, sig), 0);
	assert_false(tv_bool(v, "expected.verify_after_flipping_hash_bit0"));
	hash[0] ^= 1;
	assert_int_equal(cable_linking_verify(&client, auth.pub, hash, sig), CABLE_ERR_LINKING_SIGNATURE);
	hash[0] ^= 1;
	assert_false(tv_bool(v, "expected.verify_after_flipping_signature_bit0"));
	sig[0] ^= 1;
	assert_int_equal(cable_linking_verify(&client, auth.pub, hash, sig), CABLE_ERR_LINKING_SIGNATURE);
	sig[0] ^= 1;
	/* The wrong desktop key, or the phone's key given where the peer's is expected. */
	assert_int_equal(cable_linking_verify(&auth, auth.pub, hash, sig), CABLE_ERR_LINKING_SIGNATURE);
	assert_int_equal(cable_linking_verify(&client, client.pub, hash, sig), CABLE_ERR_LINKING_SIGNATURE);
	/* Every bit of the signature matters. */
	for (int i = 0; i < 256; i++) {
		sig[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(cable_linking_verify(&client, auth.pub, hash, sig),
		    CABLE_ERR_LINKING_SIGNATURE);
		sig[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	free(as);
	free(cs);
	free(hash);
}

static void
test_pairing_signature_vector(void **state)
{
	(void)state;
	assert_int_equal(tv_each("pairing_signature_roundtrip", run_pairing_vector, NULL), 1);
}

/* ---- Post-handshake build and parse ---- */

static uint8_t *
sample_getinfo(size_t *len)
{
	cbor_item_t *m = cbor_new_definite_map(1);
	cbor_item_t *versions = cbor_new_definite_array(1);
	assert_true(cbor_array_push(versions, cbor_move(cbor_build_string("FIDO_2_0"))));
	put(m, 1, versions);
	return encode(m, len);
}

static void
test_post_handshake_build_parse(void **state)
{
	struct cable_post_handshake ph;
	struct cable_linking_info li;
	uint8_t *gi, *msg, *lcbor;
	size_t gi_len, len, lcbor_len;
	cbor_item_t *m, *arr, *lmap;
	struct cbor_load_result res;

	(void)state;
	gi = sample_getinfo(&gi_len);
	/* What Chrome's phone sends: {1: getInfo, 3: ["ctap"]}. */
	assert_int_equal(cable_post_handshake_build(gi, gi_len, CABLE_FEATURE_CTAP, &msg, &len), 0);
	assert_int_equal(msg[0], 0xa2);
	assert_int_equal(msg[1], 0x01);
	assert_int_equal(cable_post_handshake_parse(msg, len, true, &ph), 0);
	assert_int_equal(ph.revision, 1);
	assert_int_equal(ph.features, CABLE_FEATURE_CTAP);
	tv_assert_bytes(ph.getinfo, ph.getinfo_len, gi, gi_len);
	cable_post_handshake_clear(&ph);
	free(msg);
	/* Both features, sorted. */
	assert_int_equal(cable_post_handshake_build(gi, gi_len, CABLE_FEATURE_CTAP | CABLE_FEATURE_DC, &msg,
			     &len),
	    0);
	assert_int_equal(cable_post_handshake_parse(msg, len, false, &ph), 0);
	assert_int_equal(ph.features, CABLE_FEATURE_CTAP | CABLE_FEATURE_DC);
	cable_post_handshake_clear(&ph);
	free(msg);
	/* Digital credentials only: no getInfo. */
	assert_int_equal(cable_post_handshake_build(NULL, 0, CABLE_FEATURE_DC, &msg, &len), 0);
	assert_int_equal(cable_post_handshake_parse(msg, len, true, &ph), 0);
	assert_int_equal(ph.features, CABLE_FEATURE_DC);
	assert_null(ph.getinfo);
	cable_post_handshake_clear(&ph);
	free(msg);
	assert_int_equal(cable_post_handshake_build(gi, gi_len, 0, &msg, &len), CABLE_ERR_ARG);
	assert_int_equal(cable_post_handshake_build((const uint8_t *)"\x80", 1, CABLE_FEATURE_CTAP, &msg, &len),
	    CABLE_ERR_ARG);

	/* CTAP without getInfo. */
	m = cbor_new_definite_map(1);
	arr = cbor_new_definite_array(1);
	assert_true(cbor_array_push(arr, cbor_move(cbor_build_string("ctap"))));
	put(m, 3, arr);
	msg = encode(m, &len);
	assert_int_equal(cable_post_handshake_parse(msg, len, true, &ph), CABLE_ERR_NO_GETINFO);
	free(msg);
	m = cbor_new_definite_map(0);
	msg = encode(m, &len);
	assert_int_equal(cable_post_handshake_parse(msg, len, true, &ph), CABLE_ERR_NO_GETINFO);
	free(msg);
	/* getInfo although "ctap" is not offered. */
	m = cbor_new_definite_map(2);
	put(m, 1, bytes_item(gi, gi_len));
	arr = cbor_new_definite_array(1);
	assert_true(cbor_array_push(arr, cbor_move(cbor_build_string("dc"))));
	put(m, 3, arr);
	msg = encode(m, &len);
	assert_int_equal(cable_post_handshake_parse(msg, len, true, &ph), CABLE_ERR_POST_HANDSHAKE);
	free(msg);
	/* Wrong types: key 1 a string, getInfo bytes that are no map, key 3 not an array of strings. */
	m = cbor_new_definite_map(1);
	put(m, 1, cbor_build_string("x"));
	msg = encode(m, &len);
	assert_int_equal(cable_post_handshake_parse(msg, len, true, &ph), CABLE_ERR_POST_HANDSHAKE);
	free(msg);
	m = cbor_new_definite_map(1);
	put(m, 1, bytes_item((const uint8_t *)"\x80", 1));
	msg = encode(m, &len);
	assert_int_equal(cable_post_handshake_parse(msg, len, true, &ph), CABLE_ERR_POST_HANDSHAKE);
	free(msg);
	m = cbor_new_definite_map(2);
	put(m, 1, bytes_item(gi, gi_len));
	put(m, 3, cbor_build_string("ctap"));
	msg = encode(m, &len);
	assert_int_equal(cable_post_handshake_parse(msg, len, true, &ph), CABLE_ERR_POST_HANDSHAKE);
	free(msg);
	m = cbor_new_definite_map(2);
	put(m, 1, bytes_item(gi, gi_len));
	arr = cbor_new_definite_array(1);
	assert_true(cbor_array_push(arr, cbor_move(uint_item(1))));
	put(m, 3, arr);
	msg = encode(m, &len);
	assert_int_equal(cable_post_handshake_parse(msg, len, true, &ph), CABLE_ERR_POST_HANDSHAKE);
	free(msg);
	/* Not a map, not CBOR, empty, non-canonical key order. */
	assert_int_equal(cable_post_handshake_parse((const uint8_t *)"\x80", 1, true, &ph),
	    CABLE_ERR_POST_HANDSHAKE);
	assert_int_equal(cable_post_handshake_parse((const uint8_t *)"\xff\xfe", 2, true, &ph),
	    CABLE_ERR_POST_HANDSHAKE);
	assert_int_equal(cable_post_handshake_parse((const uint8_t *)"", 0, true, &ph),
	    CABLE_ERR_POST_HANDSHAKE);
	assert_int_equal(cable_post_handshake_parse((const uint8_t *)"\xa2\x03\x80\x01\x40", 5, true, &ph),
	    CABLE_ERR_POST_HANDSHAKE);

	/* Linking info in key 2: parsed in QR sessions, only type-checked in linked ones. */
	sample_linking(&li);
	assert_int_equal(cable_linking_encode(&li, &lcbor, &lcbor_len), 0);
	lmap = cbor_load(lcbor, lcbor_len, &res);
	assert_non_null(lmap);
	m = cbor_new_definite_map(2);
	put(m, 1, bytes_item(gi, gi_len));
	put(m, 2, lmap);
	msg = encode(m, &len);
	assert_int_equal(cable_post_handshake_parse(msg, len, true, &ph), 0);
	assert_true(ph.has_linking);
	assert_memory_equal(&ph.linking, &li, sizeof(li));
	cable_post_handshake_clear(&ph);
	assert_int_equal(cable_post_handshake_parse(msg, len, false, &ph), 0);
	assert_false(ph.has_linking);
	cable_post_handshake_clear(&ph);
	free(msg);
	free(lcbor);
	/* Invalid linking map: an error in QR sessions, ignored in linked ones. */
	m = cbor_new_definite_map(2);
	put(m, 1, bytes_item(gi, gi_len));
	put(m, 2, cbor_new_definite_map(0));
	msg = encode(m, &len);
	assert_int_equal(cable_post_handshake_parse(msg, len, true, &ph), CABLE_ERR_LINKING);
	assert_int_equal(cable_post_handshake_parse(msg, len, false, &ph), 0);
	cable_post_handshake_clear(&ph);
	free(msg);
	/* Key 2 not a map: an error in every session. */
	m = cbor_new_definite_map(2);
	put(m, 1, bytes_item(gi, gi_len));
	put(m, 2, bytes_item(gi, gi_len));
	msg = encode(m, &len);
	assert_int_equal(cable_post_handshake_parse(msg, len, true, &ph), CABLE_ERR_POST_HANDSHAKE);
	assert_int_equal(cable_post_handshake_parse(msg, len, false, &ph), CABLE_ERR_POST_HANDSHAKE);
	free(msg);
	free(gi);
}

/* ---- Update messages ---- */

static void
test_update(void **state)
{
	static const uint8_t rk[32] = {1}, wk[32] = {2};
	struct cable_crypter *c = cable_crypter_new(rk, wk);
	struct cable_linking_info li;
	struct cable_update u;
	uint8_t *frame, *ct, *lcbor, *msg;
	size_t frame_len, ct_len, lcbor_len, len;
	cbor_item_t *m;
	struct cbor_load_result res;

	(void)state;
	/* Without linking info: 528 bytes of ciphertext, like Chrome's phone. */
	assert_int_equal(cable_update_build(NULL, &frame, &frame_len), 0);
	assert_int_equal(frame[0], CABLE_FRAME_UPDATE);
	assert_int_equal(cable_crypter_encrypt(c, frame, frame_len, &ct, &ct_len), 0);
	assert_int_equal(ct_len, CABLE_UPDATE_CIPHERTEXT_LEN);
	assert_int_equal(cable_update_parse(frame + 1, frame_len - 1, &u), 0);
	assert_false(u.has_linking);
	free(frame);
	free(ct);
	/* With linking info of several sizes: still 528. */
	sample_linking(&li);
	for (size_t contact = 1; contact <= 300; contact += 47) {
		li.contact_id_len = contact;
		/* Bytes past the length stay zero, as a parse leaves them. */
		memset(li.contact_id + contact, 0, sizeof(li.contact_id) - contact);
		assert_int_equal(cable_update_build(&li, &frame, &frame_len), 0);
		assert_int_equal(cable_crypter_encrypt(c, frame, frame_len, &ct, &ct_len), 0);
		assert_int_equal(ct_len, CABLE_UPDATE_CIPHERTEXT_LEN);
		assert_int_equal(cable_update_parse(frame + 1, frame_len - 1, &u), 0);
		assert_true(u.has_linking);
		assert_memory_equal(&u.linking, &li, sizeof(li));
		cable_linking_clear(&u.linking);
		free(frame);
		free(ct);
	}
	/* Too big to fit in 512 bytes. */
	li.contact_id_len = 400;
	assert_int_equal(cable_update_build(&li, &frame, &frame_len), CABLE_ERR_TOO_BIG);
	/* Linking info the phone must not send: refused before anything is encoded. */
	li.contact_id_len = 0;
	assert_int_equal(cable_update_build(&li, &frame, &frame_len), CABLE_ERR_ARG);
	assert_int_equal(cable_linking_encode(&li, &lcbor, &lcbor_len), CABLE_ERR_ARG);
	li.contact_id_len = 10;
	li.secret_len = 8;
	assert_int_equal(cable_linking_encode(&li, &lcbor, &lcbor_len), CABLE_ERR_ARG);
	cable_crypter_free(&c);

	/* Parse errors. */
	assert_int_equal(cable_update_parse((const uint8_t *)"\x01\x02\x03\x04", 4, &u), CABLE_ERR_UPDATE);
	assert_int_equal(cable_update_parse((const uint8_t *)"\x80", 1, &u), CABLE_ERR_UPDATE);
	assert_int_equal(cable_update_parse((const uint8_t *)"", 0, &u), CABLE_ERR_UPDATE);
	assert_int_equal(cable_update_parse((const uint8_t *)"\xa1\x01\x40", 3, &u), CABLE_ERR_UPDATE);
	assert_int_equal(cable_update_parse((const uint8_t *)"\xa1\x01\xa0", 3, &u), CABLE_ERR_LINKING);
	/* Key 0 is padding whatever its type; other keys are ignored. */
	assert_int_equal(cable_update_parse((const uint8_t *)"\xa2\x00\x05\x07\x61\x78", 6, &u), 0);
	assert_false(u.has_linking);
	sample_linking(&li);
	assert_int_equal(cable_linking_encode(&li, &lcbor, &lcbor_len), 0);
	m = cbor_new_definite_map(1);
	put(m, 1, cbor_load(lcbor, lcbor_len, &res));
	msg = encode(m, &len);
	assert_int_equal(cable_update_parse(msg, len, &u), 0);
	assert_true(u.has_linking);
	assert_memory_equal(u.linking.peer_public, phone_key.pub, 65);
	free(msg);
	free(lcbor);
}

static int
setup(void **state)
{
	(void)state;
	assert_int_equal(cable_p256_derive_from_secret((const uint8_t *)"phone", 5, &phone_key), 0);
	assert_int_equal(cable_p256_derive_from_secret((const uint8_t *)"desktop", 7, &desktop_key), 0);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_vectors),
		cmocka_unit_test(test_frame_rules),
		cmocka_unit_test(test_padded_map_vectors),
		cmocka_unit_test(test_post_handshake_android_vector),
		cmocka_unit_test(test_linking_parse),
		cmocka_unit_test(test_pairing_signature_vector),
		cmocka_unit_test(test_post_handshake_build_parse),
		cmocka_unit_test(test_update),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}

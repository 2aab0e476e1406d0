/* Post-handshake, framing, update and linking-info messages of caBLE v2 (revisions 0 and 1). */
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "cable/bytes.h"
#include "cable/cbor.h"
#include "cable/crypter.h"
#include "cable/crypto.h"
#include "cable/error.h"
#include "cable/messages.h"

/* ---- Framing ---- */

int
cable_frame_encode(uint8_t type, const uint8_t *data, size_t len, uint8_t **out, size_t *out_len)
{
	uint8_t *buf;

	if (out == NULL || out_len == NULL || (data == NULL && len > 0) || type > CABLE_FRAME_TYPE_MAX ||
	    (type == CABLE_FRAME_SHUTDOWN && len > 0))
		return CABLE_ERR_ARG;
	if (len > CABLE_CRYPTER_MAX_MESSAGE)
		return CABLE_ERR_TOO_BIG;
	if ((buf = malloc(len + 1)) == NULL)
		return CABLE_ERR_NOMEM;
	buf[0] = type;
	if (len > 0)
		memcpy(buf + 1, data, len);
	*out = buf;
	*out_len = len + 1;
	return 0;
}

int
cable_frame_encode_ctap(uint8_t command, const uint8_t *cbor, size_t cbor_len, uint8_t **out,
    size_t *out_len)
{
	uint8_t *buf;

	if (out == NULL || out_len == NULL || (cbor == NULL && cbor_len > 0))
		return CABLE_ERR_ARG;
	if (cbor_len > CABLE_CRYPTER_MAX_MESSAGE)
		return CABLE_ERR_TOO_BIG;
	if ((buf = malloc(cbor_len + 2)) == NULL)
		return CABLE_ERR_NOMEM;
	buf[0] = CABLE_FRAME_CTAP;
	buf[1] = command;
	if (cbor_len > 0)
		memcpy(buf + 2, cbor, cbor_len);
	*out = buf;
	*out_len = cbor_len + 2;
	return 0;
}

int
cable_frame_parse(const uint8_t *pt, size_t len, uint8_t *type, const uint8_t **data,
    size_t *data_len)
{
	if (type == NULL || data == NULL || data_len == NULL || (pt == NULL && len > 0))
		return CABLE_ERR_ARG;
	if (len == 0)
		return CABLE_ERR_FRAME_EMPTY;
	if (pt[0] > CABLE_FRAME_TYPE_MAX)
		return CABLE_ERR_FRAME_TYPE;
	*type = pt[0];
	*data = pt + 1;
	*data_len = len - 1;
	return 0;
}

int
cable_frame_check_incoming(enum cable_side receiver, int pending, uint8_t type)
{
	if (type > CABLE_FRAME_TYPE_MAX)
		return CABLE_ERR_FRAME_TYPE;
	if (receiver == CABLE_SIDE_DESKTOP) {
		switch (type) {
		case CABLE_FRAME_SHUTDOWN:
			return CABLE_ERR_PEER_SHUTDOWN;
		case CABLE_FRAME_UPDATE:
			return 0;
		default: /* CTAP or JSON: only as the reply to our outstanding request of that type */
			return pending == (int)type ? 0 : CABLE_ERR_UNEXPECTED;
		}
	}
	if (receiver == CABLE_SIDE_PHONE) {
		switch (type) {
		case CABLE_FRAME_SHUTDOWN:
		case CABLE_FRAME_UPDATE:
			return 0;
		default: /* one request at a time */
			return pending < 0 ? 0 : CABLE_ERR_UNEXPECTED;
		}
	}
	return CABLE_ERR_ARG;
}

/* ---- CBOR building helpers (libcbor keeps an item's width, so pick the shortest by hand) ---- */

static cbor_item_t *
build_uint(uint64_t v)
{
	if (v <= 0xff)
		return cbor_build_uint8((uint8_t)v);
	if (v <= 0xffff)
		return cbor_build_uint16((uint16_t)v);
	if (v <= 0xffffffffu)
		return cbor_build_uint32((uint32_t)v);
	return cbor_build_uint64(v);
}

/* Adds key -> value and releases both references; value may be NULL (then fails). */
static int
map_add(cbor_item_t *map, uint64_t key, cbor_item_t *value)
{
	cbor_item_t *k = build_uint(key);
	bool ok = false;

	if (k != NULL && value != NULL)
		ok = cbor_map_add(map, (struct cbor_pair){.key = k, .value = value});
	if (k != NULL)
		cbor_decref(&k);
	if (value != NULL)
		cbor_decref(&value);
	return ok ? 0 : CABLE_ERR_NOMEM;
}

static cbor_item_t *
build_bytes(const uint8_t *p, size_t len)
{
	static const uint8_t empty[1];
	return cbor_build_bytestring(len > 0 ? p : empty, len);
}

/* ---- Linking info ---- */

/* libcbor frees without wiping: clear the link secret (key 3) before an item is released. */
static void
wipe_link_secret(cbor_item_t *linking)
{
	cbor_item_t *secret;

	if (linking == NULL || !cbor_isa_map(linking))
		return;
	secret = cable_cbor_map_get_int(linking, 3);
	if (secret != NULL && cbor_isa_bytestring(secret) && cbor_bytestring_is_definite(secret) &&
	    cbor_bytestring_length(secret) > 0)
		cable_wipe(cbor_bytestring_handle(secret), cbor_bytestring_length(secret));
}

/* Copies a definite byte string of min..max bytes. */
static int
get_bytes(const cbor_item_t *item, size_t min, size_t max, uint8_t *out, size_t *out_len)
{
	size_t n;

	if (item == NULL || !cbor_isa_bytestring(item) || !cbor_bytestring_is_definite(item))
		return CABLE_ERR_LINKING;
	n = cbor_bytestring_length(item);
	if (n < min || n > max)
		return CABLE_ERR_LINKING;
	if (n > 0)
		memcpy(out, cbor_bytestring_handle(item), n);
	if (out_len != NULL)
		*out_len = n;
	return 0;
}

static int
linking_from_item(const cbor_item_t *map, struct cable_linking_info *out)
{
	struct cable_linking_info *li = NULL;
	const cbor_item_t *name, *marker;
	size_t n;
	int r = CABLE_ERR_LINKING;

	if (!cbor_isa_map(map))
		return CABLE_ERR_LINKING;
	if ((li = calloc(1, sizeof(*li))) == NULL)
		return CABLE_ERR_NOMEM;
	if ((r = get_bytes(cable_cbor_map_get_int(map, 1), 1, CABLE_LINKING_CONTACT_ID_MAX,
		 li->contact_id, &li->contact_id_len)) != 0 ||
	    (r = get_bytes(cable_cbor_map_get_int(map, 2), 1, CABLE_LINKING_ID_MAX, li->link_id,
		 &li->link_id_len)) != 0 ||
	    (r = get_bytes(cable_cbor_map_get_int(map, 3), CABLE_LINKING_SECRET_MIN,
		 CABLE_LINKING_SECRET_MAX, li->secret, &li->secret_len)) != 0 ||
	    (r = get_bytes(cable_cbor_map_get_int(map, 4), CABLE_P256_PUB_LEN, CABLE_P256_PUB_LEN,
		 li->peer_public, NULL)) != 0 ||
	    (r = get_bytes(cable_cbor_map_get_int(map, 6), CABLE_LINKING_SIGNATURE_LEN,
		 CABLE_LINKING_SIGNATURE_LEN, li->signature, NULL)) != 0)
		goto out;
	r = CABLE_ERR_LINKING;
	if (cable_p256_check_public(li->peer_public) != 0)
		goto out;
	name = cable_cbor_map_get_int(map, 5);
	if (name == NULL || !cbor_isa_string(name) || !cbor_string_is_definite(name))
		goto out;
	n = cbor_string_length(name);
	if (n > CABLE_LINKING_NAME_MAX || (n > 0 && memchr(cbor_string_handle(name), 0, n) != NULL))
		goto out;
	if (n > 0)
		memcpy(li->name, cbor_string_handle(name), n);
	li->name[n] = '\0';
	marker = cable_cbor_map_get_int(map, 999);
	li->play_services = marker != NULL && cbor_isa_float_ctrl(marker) && cbor_is_bool(marker) &&
	    cbor_get_bool(marker);
	*out = *li;
	r = 0;
out:
	cable_wipe(li, sizeof(*li));
	free(li);
	return r;
}

int
cable_linking_parse(const uint8_t *cbor, size_t len, struct cable_linking_info *out)
{
	cbor_item_t *item = NULL;
	int r;

	if (out == NULL || (cbor == NULL && len > 0))
		return CABLE_ERR_ARG;
	if (len == 0 || cable_cbor_load(cbor, len, CABLE_CBOR_CANONICAL, &item) != 0)
		return CABLE_ERR_LINKING;
	r = linking_from_item(item, out);
	wipe_link_secret(item);
	cbor_decref(&item);
	return r;
}

static int
linking_to_item(const struct cable_linking_info *li, cbor_item_t **out)
{
	cbor_item_t *map;
	size_t name_len;
	int r = CABLE_ERR_ARG;

	name_len = strnlen(li->name, sizeof(li->name));
	if (li->contact_id_len == 0 || li->contact_id_len > CABLE_LINKING_CONTACT_ID_MAX ||
	    li->link_id_len == 0 || li->link_id_len > CABLE_LINKING_ID_MAX ||
	    li->secret_len < CABLE_LINKING_SECRET_MIN || li->secret_len > CABLE_LINKING_SECRET_MAX ||
	    name_len > CABLE_LINKING_NAME_MAX)
		return CABLE_ERR_ARG;
	if ((map = cbor_new_definite_map(li->play_services ? 7 : 6)) == NULL)
		return CABLE_ERR_NOMEM;
	if ((r = map_add(map, 1, build_bytes(li->contact_id, li->contact_id_len))) != 0 ||
	    (r = map_add(map, 2, build_bytes(li->link_id, li->link_id_len))) != 0 ||
	    (r = map_add(map, 3, build_bytes(li->secret, li->secret_len))) != 0 ||
	    (r = map_add(map, 4, build_bytes(li->peer_public, CABLE_P256_PUB_LEN))) != 0 ||
	    (r = map_add(map, 5, cbor_build_stringn(li->name, name_len))) != 0 ||
	    (r = map_add(map, 6, build_bytes(li->signature, CABLE_LINKING_SIGNATURE_LEN))) != 0 ||
	    (li->play_services && (r = map_add(map, 999, cbor_build_bool(true))) != 0)) {
		cbor_decref(&map);
		return r;
	}
	*out = map;
	return 0;
}

int
cable_linking_encode(const struct cable_linking_info *info, uint8_t **out, size_t *out_len)
{
	cbor_item_t *item = NULL;
	int r;

	if (info == NULL || out == NULL || out_len == NULL)
		return CABLE_ERR_ARG;
	if ((r = linking_to_item(info, &item)) != 0)
		return r;
	r = cable_cbor_encode(item, out, out_len);
	wipe_link_secret(item);
	cbor_decref(&item);
	return r;
}

void
cable_linking_clear(struct cable_linking_info *info)
{
	if (info != NULL)
		cable_wipe(info, sizeof(*info));
}

/* HMAC-SHA256(ECDH-X(key, peer), hash); both sides compute the same value. */
static int
linking_mac(const struct cable_p256_key *key, const uint8_t peer[CABLE_P256_PUB_LEN],
    const uint8_t hash[CABLE_NOISE_HASH_LEN], uint8_t mac[CABLE_LINKING_SIGNATURE_LEN])
{
	uint8_t shared[CABLE_P256_ECDH_LEN];
	int r;

	if ((r = cable_p256_ecdh(key, peer, shared)) == 0)
		r = cable_hmac_sha256(shared, sizeof(shared), hash, CABLE_NOISE_HASH_LEN, mac);
	cable_wipe(shared, sizeof(shared));
	return r;
}

int
cable_linking_sign(const struct cable_p256_key *phone_identity,
    const uint8_t desktop_public[CABLE_P256_PUB_LEN], const uint8_t hash[CABLE_NOISE_HASH_LEN],
    uint8_t signature[CABLE_LINKING_SIGNATURE_LEN])
{
	uint8_t mac[CABLE_LINKING_SIGNATURE_LEN];
	int r;

	if (phone_identity == NULL || desktop_public == NULL || hash == NULL || signature == NULL)
		return CABLE_ERR_ARG;
	if ((r = linking_mac(phone_identity, desktop_public, hash, mac)) == 0)
		memcpy(signature, mac, sizeof(mac));
	cable_wipe(mac, sizeof(mac));
	return r;
}

int
cable_linking_verify(const struct cable_p256_key *qr_identity,
    const uint8_t phone_public[CABLE_P256_PUB_LEN], const uint8_t hash[CABLE_NOISE_HASH_LEN],
    const uint8_t signature[CABLE_LINKING_SIGNATURE_LEN])
{
	uint8_t mac[CABLE_LINKING_SIGNATURE_LEN];
	int r;

	if (qr_identity == NULL || phone_public == NULL || hash == NULL || signature == NULL)
		return CABLE_ERR_ARG;
	r = linking_mac(qr_identity, phone_public, hash, mac);
	if (r == CABLE_ERR_POINT || (r == 0 && !cable_ct_equal(mac, signature, sizeof(mac))))
		r = CABLE_ERR_LINKING_SIGNATURE;
	cable_wipe(mac, sizeof(mac));
	return r;
}

/* ---- Revision-0 padded map ---- */

int
cable_padded_map_encode(const uint8_t *cbor, size_t len, uint8_t **out, size_t *out_len)
{
	const size_t g = CABLE_PADDED_MAP_GRANULARITY;
	uint8_t *buf;
	size_t padded, pad;

	if (cbor == NULL || out == NULL || out_len == NULL || len == 0)
		return CABLE_ERR_ARG;
	if (len > CABLE_CRYPTER_MAX_MESSAGE)
		return CABLE_ERR_TOO_BIG;
	padded = (len + 2 + g - 1) & ~(g - 1);
	pad = padded - len - 2;
	if ((buf = calloc(1, padded)) == NULL)
		return CABLE_ERR_NOMEM;
	memcpy(buf, cbor, len);
	buf[padded - 2] = (uint8_t)pad;
	buf[padded - 1] = (uint8_t)(pad >> 8);
	*out = buf;
	*out_len = padded;
	return 0;
}

/* Exactly one canonical CBOR map fills buf. */
static bool
is_cbor_map(const uint8_t *buf, size_t len)
{
	size_t item_len;

	return len > 0 && (buf[0] >> 5) == 5 &&
	    cable_cbor_scan(buf, len, CABLE_CBOR_CANONICAL, &item_len) == 0 && item_len == len;
}

int
cable_padded_map_decode(const uint8_t *in, size_t len, size_t *cbor_len)
{
	size_t p;

	if (cbor_len == NULL || (in == NULL && len > 0))
		return CABLE_ERR_ARG;
	/* The two trailers are unambiguous in practice; Chrome tries the newer one first. */
	if (len >= 2) {
		p = (size_t)in[len - 2] | (size_t)in[len - 1] << 8;
		if (p + 2 <= len && is_cbor_map(in, len - p - 2)) {
			*cbor_len = len - p - 2;
			return 0;
		}
	}
	if (len >= 1) {
		p = in[len - 1];
		if (p + 1 <= len && is_cbor_map(in, len - p - 1)) {
			*cbor_len = len - p - 1;
			return 0;
		}
	}
	return CABLE_ERR_POST_HANDSHAKE;
}

/* ---- Post-handshake message ---- */

static int
parse_features(const cbor_item_t *arr, unsigned *features)
{
	cbor_item_t **items;
	unsigned f = 0;

	if (!cbor_isa_array(arr) || !cbor_array_is_definite(arr))
		return CABLE_ERR_POST_HANDSHAKE;
	items = cbor_array_handle(arr);
	for (size_t i = 0; i < cbor_array_size(arr); i++) {
		const cbor_item_t *s = items[i];
		size_t n;

		if (!cbor_isa_string(s) || !cbor_string_is_definite(s))
			return CABLE_ERR_POST_HANDSHAKE;
		n = cbor_string_length(s);
		if (n == 4 && memcmp(cbor_string_handle(s), "ctap", 4) == 0)
			f |= CABLE_FEATURE_CTAP;
		else if (n == 2 && memcmp(cbor_string_handle(s), "dc", 2) == 0)
			f |= CABLE_FEATURE_DC;
		/* Unknown features are for newer peers; ignore them. */
	}
	*features = f;
	return 0;
}

int
cable_post_handshake_parse(const uint8_t *pt, size_t len, bool qr_session,
    struct cable_post_handshake *out)
{
	struct cable_post_handshake ph;
	cbor_item_t *map = NULL, *getinfo, *linking, *features;
	size_t map_len, item_len;
	int r = CABLE_ERR_POST_HANDSHAKE;

	memset(&ph, 0, sizeof(ph));
	if (out == NULL || (pt == NULL && len > 0))
		return CABLE_ERR_ARG;
	if (len == 0 || len > CABLE_CRYPTER_MAX_MESSAGE)
		return CABLE_ERR_POST_HANDSHAKE;
	/* Revision 1 is exactly one CBOR item; anything else may be a revision-0 padded map. */
	if (cable_cbor_scan(pt, len, CABLE_CBOR_CANONICAL, &item_len) == 0 && item_len == len) {
		ph.revision = 1;
		map_len = len;
	} else if (cable_padded_map_decode(pt, len, &map_len) == 0) {
		ph.revision = 0;
	} else {
		goto out;
	}
	if ((r = cable_cbor_load(pt, map_len, CABLE_CBOR_CANONICAL, &map)) != 0) {
		r = r == CABLE_ERR_NOMEM ? r : CABLE_ERR_POST_HANDSHAKE;
		goto out;
	}
	r = CABLE_ERR_POST_HANDSHAKE;
	if (!cbor_isa_map(map))
		goto out;

	ph.features = CABLE_FEATURE_CTAP;
	if (ph.revision == 1 && (features = cable_cbor_map_get_int(map, 3)) != NULL &&
	    (r = parse_features(features, &ph.features)) != 0)
		goto out;

	r = CABLE_ERR_POST_HANDSHAKE;
	getinfo = cable_cbor_map_get_int(map, 1);
	if (getinfo != NULL) {
		size_t n;

		if (!(ph.features & CABLE_FEATURE_CTAP) || !cbor_isa_bytestring(getinfo) ||
		    !cbor_bytestring_is_definite(getinfo))
			goto out;
		n = cbor_bytestring_length(getinfo);
		/* The desktop answers getInfo from this copy, so it must be a well-formed CBOR map. */
		if (!is_cbor_map(cbor_bytestring_handle(getinfo), n))
			goto out;
		if ((ph.getinfo = malloc(n)) == NULL) {
			r = CABLE_ERR_NOMEM;
			goto out;
		}
		memcpy(ph.getinfo, cbor_bytestring_handle(getinfo), n);
		ph.getinfo_len = n;
	} else if (ph.features & CABLE_FEATURE_CTAP) {
		r = CABLE_ERR_NO_GETINFO;
		goto out;
	}

	linking = cable_cbor_map_get_int(map, 2);
	if (linking != NULL) {
		if (!cbor_isa_map(linking))
			goto out;
		/* Linking info only means something when we hold the QR identity key to check it. */
		if (qr_session) {
			if ((r = linking_from_item(linking, &ph.linking)) != 0)
				goto out;
			ph.has_linking = true;
		}
	}
	*out = ph;
	memset(&ph, 0, sizeof(ph));
	r = 0;
out:
	if (map != NULL) {
		wipe_link_secret(cable_cbor_map_get_int(map, 2));
		cbor_decref(&map);
	}
	cable_post_handshake_clear(&ph);
	return r;
}

void
cable_post_handshake_clear(struct cable_post_handshake *ph)
{
	if (ph == NULL)
		return;
	free(ph->getinfo);
	cable_linking_clear(&ph->linking);
	memset(ph, 0, sizeof(*ph));
}

int
cable_post_handshake_build(const uint8_t *getinfo, size_t getinfo_len, unsigned features,
    uint8_t **out, size_t *out_len)
{
	cbor_item_t *map = NULL, *arr = NULL;
	bool ctap = (features & CABLE_FEATURE_CTAP) != 0;
	size_t nfeat = (ctap ? 1 : 0) + ((features & CABLE_FEATURE_DC) ? 1 : 0);
	int r = CABLE_ERR_NOMEM;

	if (out == NULL || out_len == NULL || (features & ~(CABLE_FEATURE_CTAP | CABLE_FEATURE_DC)) ||
	    nfeat == 0 || (ctap && !is_cbor_map(getinfo, getinfo_len)) || (!ctap && getinfo != NULL))
		return CABLE_ERR_ARG;
	if ((map = cbor_new_definite_map(ctap ? 2 : 1)) == NULL ||
	    (arr = cbor_new_definite_array(nfeat)) == NULL)
		goto out;
	/* Sorted as Chrome sorts them: "ctap" < "dc". */
	if ((ctap && !cbor_array_push(arr, cbor_move(cbor_build_string("ctap")))) ||
	    ((features & CABLE_FEATURE_DC) && !cbor_array_push(arr, cbor_move(cbor_build_string("dc")))))
		goto out;
	if (ctap && (r = map_add(map, 1, build_bytes(getinfo, getinfo_len))) != 0)
		goto out;
	r = map_add(map, 3, arr);
	arr = NULL;
	if (r != 0)
		goto out;
	r = cable_cbor_encode(map, out, out_len);
out:
	if (arr != NULL)
		cbor_decref(&arr);
	if (map != NULL)
		cbor_decref(&map);
	return r;
}

/* ---- Update message ---- */

int
cable_update_parse(const uint8_t *data, size_t len, struct cable_update *out)
{
	cbor_item_t *map = NULL, *linking;
	struct cable_update *u = NULL;
	int r = CABLE_ERR_UPDATE;

	if (out == NULL || (data == NULL && len > 0))
		return CABLE_ERR_ARG;
	if (len == 0 || len > CABLE_CRYPTER_MAX_MESSAGE)
		return CABLE_ERR_UPDATE;
	if ((r = cable_cbor_load(data, len, CABLE_CBOR_CANONICAL, &map)) != 0) {
		r = r == CABLE_ERR_NOMEM ? r : CABLE_ERR_UPDATE;
		goto out;
	}
	r = CABLE_ERR_UPDATE;
	if (!cbor_isa_map(map))
		goto out;
	if ((u = calloc(1, sizeof(*u))) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	/* Key 0 is padding whatever it holds. */
	if ((linking = cable_cbor_map_get_int(map, 1)) != NULL) {
		if (!cbor_isa_map(linking))
			goto out;
		if ((r = linking_from_item(linking, &u->linking)) != 0)
			goto out;
		u->has_linking = true;
	}
	*out = *u;
	r = 0;
out:
	if (u != NULL) {
		cable_wipe(u, sizeof(*u));
		free(u);
	}
	if (map != NULL) {
		wipe_link_secret(cable_cbor_map_get_int(map, 1));
		cbor_decref(&map);
	}
	return r;
}

int
cable_update_build(const struct cable_linking_info *linking, uint8_t **out, size_t *out_len)
{
	/*
	 * Chrome's phone: 512 - 16 - 1 (key 0) - 3 (a two-byte bstr header) zero bytes, less the
	 * size of {1: linking}. The crypter then pads the plaintext to 512 bytes.
	 */
	size_t pad = CABLE_UPDATE_CIPHERTEXT_LEN - CABLE_CRYPTER_TAG_LEN - 16 - 1 - 3;
	cbor_item_t *map = NULL, *li = NULL, *li_hold = NULL, *measure = NULL;
	uint8_t *cbor = NULL, *frame = NULL, *zeros;
	size_t cbor_len = 0;
	int r;

	if (out == NULL || out_len == NULL)
		return CABLE_ERR_ARG;
	if (linking != NULL) {
		if ((r = linking_to_item(linking, &li)) != 0)
			goto out;
		li_hold = cbor_incref(li);
		r = CABLE_ERR_NOMEM;
		if ((measure = cbor_new_definite_map(1)) == NULL ||
		    (r = map_add(measure, 1, cbor_incref(li))) != 0 ||
		    (r = cable_cbor_encode(measure, &cbor, &cbor_len)) != 0)
			goto out;
		r = CABLE_ERR_TOO_BIG;
		if (cbor_len >= pad)
			goto out;
		pad -= cbor_len;
		cable_wipe(cbor, cbor_len);
		free(cbor);
		cbor = NULL;
	}
	r = CABLE_ERR_NOMEM;
	if ((map = cbor_new_definite_map(linking != NULL ? 2 : 1)) == NULL)
		goto out;
	r = CABLE_ERR_NOMEM;
	if ((zeros = calloc(1, pad + 1)) == NULL)
		goto out;
	r = map_add(map, 0, build_bytes(zeros, pad));
	free(zeros);
	if (r != 0)
		goto out;
	if (li != NULL) {
		r = map_add(map, 1, li);
		li = NULL;
		if (r != 0)
			goto out;
	}
	if ((r = cable_cbor_encode(map, &cbor, &cbor_len)) != 0)
		goto out;
	r = CABLE_ERR_TOO_BIG;
	if (cable_crypter_padded_len(cbor_len + 1) + CABLE_CRYPTER_TAG_LEN != CABLE_UPDATE_CIPHERTEXT_LEN)
		goto out;
	if ((r = cable_frame_encode(CABLE_FRAME_UPDATE, cbor, cbor_len, &frame, out_len)) != 0)
		goto out;
	*out = frame;
	r = 0;
out:
	if (cbor != NULL) {
		cable_wipe(cbor, cbor_len);
		free(cbor);
	}
	if (li != NULL)
		cbor_decref(&li);
	if (li_hold != NULL) {
		wipe_link_secret(li_hold);
		cbor_decref(&li_hold);
	}
	if (measure != NULL)
		cbor_decref(&measure);
	if (map != NULL)
		cbor_decref(&map);
	return r;
}

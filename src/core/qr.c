/* The FIDO:/ QR payload: CBOR map build and strict parse, URL form, and the desktop's QR key. */
#include <stdlib.h>
#include <string.h>

#include "cable/bytes.h"
#include "cable/cbor.h"
#include "cable/error.h"
#include "cable/qr.h"

enum {
	QR_KEY_PUBLIC_KEY = 0,
	QR_KEY_SECRET = 1,
	QR_KEY_NUM_DOMAINS = 2,
	QR_KEY_TIME = 3,
	QR_KEY_LINKING = 4,
	QR_KEY_REQUEST_TYPE = 5,
};

/* Largest payload we ever write: map head, 6 keys, 33 + 16 bytes, 3 uints of up to 9 bytes. */
#define QR_CBOR_MAX 128

static const char *const request_type_names[] = {"ga", "mc", "dcp"};

const char *
cable_request_type_str(enum cable_request_type t)
{
	if ((unsigned)t >= sizeof(request_type_names) / sizeof(request_type_names[0]))
		return "ga";
	return request_type_names[t];
}

enum cable_request_type
cable_request_type_from_str(const char *s, size_t len)
{
	if (s == NULL)
		return CABLE_REQUEST_GA;
	for (size_t i = 0; i < sizeof(request_type_names) / sizeof(request_type_names[0]); i++)
		if (strlen(request_type_names[i]) == len && memcmp(request_type_names[i], s, len) == 0)
			return (enum cable_request_type)i;
	return CABLE_REQUEST_GA;
}

/* A tiny canonical CBOR writer: the payload is small and fixed, and this guarantees shortest form. */
struct writer {
	uint8_t buf[QR_CBOR_MAX];
	size_t len;
	bool overflow;
};

static void
put_bytes(struct writer *w, const void *p, size_t n)
{
	if (w->overflow || n > sizeof(w->buf) - w->len) {
		w->overflow = true;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void
put_head(struct writer *w, uint8_t major, uint64_t arg)
{
	uint8_t h[9];
	size_t n;

	if (arg < 24) {
		h[0] = (uint8_t)(major << 5 | arg);
		n = 1;
	} else {
		size_t width = arg <= 0xff ? 1 : arg <= 0xffff ? 2 : arg <= 0xffffffffULL ? 4 : 8;
		h[0] = (uint8_t)(major << 5 | (width == 1 ? 24 : width == 2 ? 25 : width == 4 ? 26 : 27));
		for (size_t i = 0; i < width; i++)
			h[1 + i] = (uint8_t)(arg >> (8 * (width - 1 - i)));
		n = 1 + width;
	}
	put_bytes(w, h, n);
}

static void
put_int(struct writer *w, int64_t v)
{
	if (v >= 0)
		put_head(w, 0, (uint64_t)v);
	else
		put_head(w, 1, (uint64_t)(-1 - v));
}

int
cable_qr_encode(const struct cable_qr *qr, uint8_t **out, size_t *out_len)
{
	struct writer w;
	const char *type;
	uint64_t entries = 3;
	uint8_t *buf;
	int r = CABLE_ERR_INTERNAL;

	memset(&w, 0, sizeof(w));
	if (qr == NULL || out == NULL || out_len == NULL)
		return CABLE_ERR_ARG;
	if ((unsigned)qr->request_type > CABLE_REQUEST_DCP)
		return CABLE_ERR_ARG;
	entries += qr->has_num_known_domains + qr->has_time + qr->has_supports_linking;
	put_head(&w, 5, entries);
	put_head(&w, 0, QR_KEY_PUBLIC_KEY);
	put_head(&w, 2, CABLE_P256_COMP_LEN);
	put_bytes(&w, qr->public_key, CABLE_P256_COMP_LEN);
	put_head(&w, 0, QR_KEY_SECRET);
	put_head(&w, 2, CABLE_QR_SECRET_LEN);
	put_bytes(&w, qr->secret, CABLE_QR_SECRET_LEN);
	if (qr->has_num_known_domains) {
		put_head(&w, 0, QR_KEY_NUM_DOMAINS);
		put_int(&w, qr->num_known_domains);
	}
	if (qr->has_time) {
		put_head(&w, 0, QR_KEY_TIME);
		put_head(&w, 0, qr->time);
	}
	if (qr->has_supports_linking) {
		put_head(&w, 0, QR_KEY_LINKING);
		put_head(&w, 7, qr->supports_linking ? 21 : 20);
	}
	type = cable_request_type_str(qr->request_type);
	put_head(&w, 0, QR_KEY_REQUEST_TYPE);
	put_head(&w, 3, strlen(type));
	put_bytes(&w, type, strlen(type));
	if (w.overflow)
		goto out;
	if ((buf = malloc(w.len)) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	memcpy(buf, w.buf, w.len);
	*out = buf;
	*out_len = w.len;
	r = 0;
out:
	cable_wipe(&w, sizeof(w));
	return r;
}

/* A definite byte string of exactly len bytes, or the error Chrome's checks amount to. */
static int
get_bytes(const cbor_item_t *v, size_t len, const uint8_t **p)
{
	if (!cbor_isa_bytestring(v) || !cbor_bytestring_is_definite(v))
		return CABLE_ERR_CBOR_TYPE;
	if (cbor_bytestring_length(v) != len)
		return CABLE_ERR_LENGTH;
	*p = cbor_bytestring_handle(v);
	return 0;
}

int
cable_qr_decode(const uint8_t *cbor, size_t len, struct cable_qr *out)
{
	cbor_item_t *map = NULL, *v;
	struct cable_qr qr;
	const uint8_t *p;
	int r = CABLE_ERR_INTERNAL;

	memset(&qr, 0, sizeof(qr));
	if (cbor == NULL || out == NULL)
		return CABLE_ERR_ARG;
	if ((r = cable_cbor_load(cbor, len, CABLE_CBOR_CANONICAL, &map)) != 0)
		goto out;
	if (!cbor_isa_map(map) || !cbor_map_is_definite(map)) {
		r = CABLE_ERR_CBOR_TYPE;
		goto out;
	}
	if ((v = cable_cbor_map_get_int(map, QR_KEY_PUBLIC_KEY)) == NULL ||
	    cable_cbor_map_get_int(map, QR_KEY_SECRET) == NULL) {
		r = CABLE_ERR_MISSING;
		goto out;
	}
	if ((r = get_bytes(v, CABLE_P256_COMP_LEN, &p)) != 0)
		goto out;
	memcpy(qr.public_key, p, CABLE_P256_COMP_LEN);
	if ((r = cable_p256_decompress(qr.public_key, qr.public_key_full)) != 0) {
		r = CABLE_ERR_POINT;
		goto out;
	}
	v = cable_cbor_map_get_int(map, QR_KEY_SECRET);
	if ((r = get_bytes(v, CABLE_QR_SECRET_LEN, &p)) != 0)
		goto out;
	memcpy(qr.secret, p, CABLE_QR_SECRET_LEN);
	if ((v = cable_cbor_map_get_int(map, QR_KEY_NUM_DOMAINS)) != NULL) {
		if ((r = cable_cbor_get_int(v, &qr.num_known_domains)) != 0) {
			r = CABLE_ERR_CBOR_TYPE;
			goto out;
		}
		qr.has_num_known_domains = true;
	}
	/* Chrome's parser ignores key 3 entirely, so a value of another type is not an error. */
	if ((v = cable_cbor_map_get_int(map, QR_KEY_TIME)) != NULL && cbor_isa_uint(v)) {
		qr.time = cbor_get_int(v);
		qr.has_time = true;
	}
	if ((v = cable_cbor_map_get_int(map, QR_KEY_LINKING)) != NULL) {
		/* libcbor 0.8's cbor_is_bool asserts on floats: rule them out first. */
		if (!cbor_isa_float_ctrl(v) || !cbor_float_ctrl_is_ctrl(v) || !cbor_is_bool(v)) {
			r = CABLE_ERR_CBOR_TYPE;
			goto out;
		}
		qr.supports_linking = cbor_get_bool(v);
		qr.has_supports_linking = true;
	}
	qr.request_type = CABLE_REQUEST_GA;
	if ((v = cable_cbor_map_get_int(map, QR_KEY_REQUEST_TYPE)) != NULL) {
		if (!cbor_isa_string(v) || !cbor_string_is_definite(v)) {
			r = CABLE_ERR_CBOR_TYPE;
			goto out;
		}
		qr.request_type = cable_request_type_from_str(
		    (const char *)cbor_string_handle(v), cbor_string_length(v));
	}
	memcpy(out, &qr, sizeof(qr));
	r = 0;
out:
	if (map != NULL) {
		/* libcbor copied the secret into the item: wipe it before it goes back to the heap. */
		v = cable_cbor_map_get_int(map, QR_KEY_SECRET);
		if (v != NULL && cbor_isa_bytestring(v) && cbor_bytestring_is_definite(v) &&
		    cbor_bytestring_handle(v) != NULL)
			cable_wipe(cbor_bytestring_handle(v), cbor_bytestring_length(v));
		cbor_decref(&map);
	}
	cable_wipe(&qr, sizeof(qr));
	return r;
}

int
cable_qr_to_url(const struct cable_qr *qr, char **url)
{
	uint8_t *cbor = NULL;
	size_t cbor_len = 0, dlen;
	char *digits = NULL, *s;
	int r = CABLE_ERR_INTERNAL;

	if (qr == NULL || url == NULL)
		return CABLE_ERR_ARG;
	if ((r = cable_qr_encode(qr, &cbor, &cbor_len)) != 0)
		goto out;
	if ((r = cable_digits_encode(cbor, cbor_len, &digits)) != 0)
		goto out;
	dlen = strlen(digits);
	if ((s = malloc(CABLE_QR_PREFIX_LEN + dlen + 1)) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	memcpy(s, CABLE_QR_PREFIX, CABLE_QR_PREFIX_LEN);
	memcpy(s + CABLE_QR_PREFIX_LEN, digits, dlen + 1);
	*url = s;
	r = 0;
out:
	if (cbor != NULL) {
		cable_wipe(cbor, cbor_len);
		free(cbor);
	}
	if (digits != NULL) {
		cable_wipe(digits, strlen(digits));
		free(digits);
	}
	return r;
}

/* ASCII-only case folding: strncasecmp follows the locale, and in a Turkish one 'i' != 'I'. */
static bool
prefix_matches(const char *url)
{
	for (size_t i = 0; i < CABLE_QR_PREFIX_LEN; i++) {
		char c = url[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c != CABLE_QR_PREFIX[i])
			return false;
	}
	return true;
}

int
cable_qr_from_url(const char *url, size_t len, struct cable_qr *out,
    enum cable_digits_fault *fault)
{
	uint8_t *cbor = NULL;
	size_t cbor_len = 0;
	int r = CABLE_ERR_INTERNAL;

	if (fault != NULL)
		*fault = CABLE_DIGITS_OK;
	if (url == NULL || out == NULL)
		return CABLE_ERR_ARG;
	/* Nothing after the prefix is not a QR code either. */
	if (len <= CABLE_QR_PREFIX_LEN || !prefix_matches(url))
		return CABLE_ERR_QR_PREFIX;
	if ((r = cable_digits_decode(url + CABLE_QR_PREFIX_LEN, len - CABLE_QR_PREFIX_LEN, &cbor,
	    &cbor_len, fault)) != 0)
		goto out;
	r = cable_qr_decode(cbor, cbor_len, out);
out:
	if (cbor != NULL) {
		cable_wipe(cbor, cbor_len);
		free(cbor);
	}
	return r;
}

int
cable_qr_key_generate(const struct cable_env *env, uint8_t key[CABLE_QR_KEY_LEN])
{
	uint8_t k[CABLE_QR_KEY_LEN];
	int r;

	if (key == NULL)
		return CABLE_ERR_ARG;
	if ((r = cable_env_random(env, k, sizeof(k))) != 0)
		goto out;
	memcpy(key, k, sizeof(k));
out:
	cable_wipe(k, sizeof(k));
	return r;
}

int
cable_qr_key_identity(const uint8_t key[CABLE_QR_KEY_LEN], struct cable_p256_key *identity)
{
	if (key == NULL || identity == NULL)
		return CABLE_ERR_ARG;
	return cable_p256_derive_from_secret(key, CABLE_QR_SEED_LEN, identity);
}

int
cable_qr_init(struct cable_qr *qr, const uint8_t key[CABLE_QR_KEY_LEN],
    const struct cable_env *env, enum cable_request_type type, bool supports_linking)
{
	struct cable_p256_key id;
	struct cable_qr q;
	int64_t now;
	int r = CABLE_ERR_INTERNAL;

	memset(&id, 0, sizeof(id));
	memset(&q, 0, sizeof(q));
	if (qr == NULL || key == NULL || (unsigned)type > CABLE_REQUEST_DCP)
		return CABLE_ERR_ARG;
	if ((r = cable_qr_key_identity(key, &id)) != 0)
		goto out;
	if ((r = cable_p256_compress(id.pub, q.public_key)) != 0)
		goto out;
	memcpy(q.public_key_full, id.pub, CABLE_P256_PUB_LEN);
	memcpy(q.secret, key + CABLE_QR_SEED_LEN, CABLE_QR_SECRET_LEN);
	q.has_num_known_domains = true;
	q.num_known_domains = CABLE_QR_KNOWN_DOMAINS;
	if (env != NULL && env->now != NULL && (now = cable_env_now(env)) >= 0) {
		q.has_time = true;
		q.time = (uint64_t)now;
	}
	q.has_supports_linking = true;
	q.supports_linking = supports_linking;
	q.request_type = type;
	memcpy(qr, &q, sizeof(q));
	r = 0;
out:
	cable_p256_key_wipe(&id);
	cable_wipe(&q, sizeof(q));
	return r;
}

int
cable_qr_tunnel_id(const struct cable_qr *qr, uint8_t out[16])
{
	if (qr == NULL)
		return CABLE_ERR_ARG;
	return cable_derive_tunnel_id(qr->secret, out);
}

int
cable_qr_eid_key(const struct cable_qr *qr, uint8_t out[CABLE_EID_KEY_LEN])
{
	if (qr == NULL)
		return CABLE_ERR_ARG;
	return cable_derive_eid_key(qr->secret, CABLE_QR_SECRET_LEN, NULL, 0, out);
}

void
cable_qr_wipe(struct cable_qr *qr)
{
	if (qr != NULL)
		cable_wipe(qr, sizeof(*qr));
}

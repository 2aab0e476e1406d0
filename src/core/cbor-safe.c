/* Bounded CBOR pre-scan (guards libcbor 0.8's allocation bomb), canonical checks and helpers. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cable/cbor.h"
#include "cable/error.h"

struct scanner {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	unsigned flags;
};

/* Reads an item head: major type and argument. Checks shortest form when canonical. */
static int
read_head(struct scanner *s, uint8_t *major, uint64_t *arg, uint8_t *ai_out)
{
	uint8_t ib, ai;
	size_t n;
	uint64_t v = 0;

	if (s->pos >= s->len)
		return CABLE_ERR_CBOR;
	ib = s->buf[s->pos++];
	*major = ib >> 5;
	ai = ib & 0x1f;
	*ai_out = ai;
	if (ai < 24) {
		*arg = ai;
		return 0;
	}
	if (ai > 27) /* 28-30 reserved, 31 indefinite: neither is accepted from outside */
		return CABLE_ERR_CBOR;
	n = (size_t)1 << (ai - 24);
	if (s->len - s->pos < n)
		return CABLE_ERR_CBOR;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | s->buf[s->pos + i];
	s->pos += n;
	if ((s->flags & CABLE_CBOR_CANONICAL) && *major != 7) {
		bool shortest = (n == 1 && v >= 24) || (n == 2 && v > 0xff) ||
		    (n == 4 && v > 0xffff) || (n == 8 && v > 0xffffffffULL);
		if (!shortest)
			return CABLE_ERR_CBOR_NONCANONICAL;
	}
	*arg = v;
	return 0;
}

static int scan_item(struct scanner *s, unsigned depth);

static int
key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	/* CTAP2 canonical order: shorter encoding first, then bytewise. */
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return memcmp(a, b, alen);
}

static int
scan_item(struct scanner *s, unsigned depth)
{
	uint8_t major, ai;
	uint64_t arg;
	int r;

	if (depth > CABLE_CBOR_MAX_DEPTH)
		return CABLE_ERR_CBOR;
	if ((r = read_head(s, &major, &arg, &ai)) != 0)
		return r;
	switch (major) {
	case 0: /* unsigned */
	case 1: /* negative */
		return 0;
	case 2: /* byte string */
	case 3: /* text string */
		if (arg > s->len - s->pos)
			return CABLE_ERR_CBOR;
		s->pos += (size_t)arg;
		return 0;
	case 4: /* array: every element needs at least one byte */
		if (arg > s->len - s->pos)
			return CABLE_ERR_CBOR;
		for (uint64_t i = 0; i < arg; i++)
			if ((r = scan_item(s, depth + 1)) != 0)
				return r;
		return 0;
	case 5: { /* map: every entry needs at least two bytes */
		const uint8_t *prev = NULL;
		size_t prev_len = 0;

		if (arg > (s->len - s->pos) / 2)
			return CABLE_ERR_CBOR;
		for (uint64_t i = 0; i < arg; i++) {
			size_t kstart = s->pos;
			if ((r = scan_item(s, depth + 1)) != 0)
				return r;
			if (s->flags & CABLE_CBOR_CANONICAL) {
				const uint8_t *k = s->buf + kstart;
				size_t klen = s->pos - kstart;
				if (prev != NULL && key_cmp(prev, prev_len, k, klen) >= 0)
					return CABLE_ERR_CBOR_NONCANONICAL;
				prev = k;
				prev_len = klen;
			}
			if ((r = scan_item(s, depth + 1)) != 0)
				return r;
		}
		return 0;
	}
	case 6: /* tags never appear in the messages we accept */
		return CABLE_ERR_CBOR;
	default: /* 7: simple values and floats */
		if (ai == 24 && arg < 32)
			return CABLE_ERR_CBOR; /* two-byte form of a simple value below 32 is invalid */
		return 0;
	}
}

int
cable_cbor_scan(const uint8_t *buf, size_t len, unsigned flags, size_t *item_len)
{
	struct scanner s = {buf, len, 0, flags};
	int r;

	if (buf == NULL || item_len == NULL)
		return CABLE_ERR_ARG;
	if ((r = scan_item(&s, 0)) != 0)
		return r;
	*item_len = s.pos;
	return 0;
}

int
cable_cbor_load(const uint8_t *buf, size_t len, unsigned flags, cbor_item_t **item)
{
	struct cbor_load_result res;
	cbor_item_t *it;
	size_t item_len;
	int r;

	if (item == NULL)
		return CABLE_ERR_ARG;
	if ((r = cable_cbor_scan(buf, len, flags, &item_len)) != 0)
		return r;
	if (item_len != len)
		return CABLE_ERR_CBOR;
	if ((it = cbor_load(buf, len, &res)) == NULL)
		return res.error.code == CBOR_ERR_MEMERROR ? CABLE_ERR_NOMEM : CABLE_ERR_CBOR;
	if (res.read != len) {
		cbor_decref(&it);
		return CABLE_ERR_CBOR;
	}
	*item = it;
	return 0;
}

int
cable_cbor_encode(const cbor_item_t *item, uint8_t **out, size_t *out_len)
{
	unsigned char *buf = NULL;
	size_t buf_size = 0, n;

	if (item == NULL || out == NULL || out_len == NULL)
		return CABLE_ERR_ARG;
	/* cbor_serialize_alloc takes a non-const pointer but does not modify the item. */
	n = cbor_serialize_alloc((cbor_item_t *)(uintptr_t)item, &buf, &buf_size);
	if (n == 0) {
		free(buf);
		return CABLE_ERR_NOMEM;
	}
	*out = buf;
	*out_len = n;
	return 0;
}

int
cable_cbor_get_int(const cbor_item_t *item, int64_t *out)
{
	uint64_t v;

	if (item == NULL || out == NULL)
		return CABLE_ERR_ARG;
	if (!cbor_isa_uint(item) && !cbor_isa_negint(item))
		return CABLE_ERR_CBOR_TYPE;
	v = cbor_get_int(item);
	if (v > INT64_MAX)
		return CABLE_ERR_CBOR_TYPE;
	*out = cbor_isa_uint(item) ? (int64_t)v : -1 - (int64_t)v;
	return 0;
}

cbor_item_t *
cable_cbor_map_get_int(const cbor_item_t *map, int64_t key)
{
	struct cbor_pair *pairs;
	size_t n;

	if (map == NULL || !cbor_isa_map(map))
		return NULL;
	pairs = cbor_map_handle(map);
	n = cbor_map_size(map);
	for (size_t i = 0; i < n; i++) {
		int64_t k;
		if (cable_cbor_get_int(pairs[i].key, &k) == 0 && k == key)
			return pairs[i].value;
	}
	return NULL;
}

cbor_item_t *
cable_cbor_map_get_str(const cbor_item_t *map, const char *key)
{
	struct cbor_pair *pairs;
	size_t n, klen;

	if (map == NULL || key == NULL || !cbor_isa_map(map))
		return NULL;
	klen = strlen(key);
	pairs = cbor_map_handle(map);
	n = cbor_map_size(map);
	for (size_t i = 0; i < n; i++) {
		const cbor_item_t *k = pairs[i].key;
		if (cbor_isa_string(k) && cbor_string_is_definite(k) &&
		    cbor_string_length(k) == klen && memcmp(cbor_string_handle(k), key, klen) == 0)
			return pairs[i].value;
	}
	return NULL;
}

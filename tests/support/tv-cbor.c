/* Test support: a small canonical CBOR writer driven by the vectors' JSON map descriptions. */
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>

#include <cmocka.h>

#include "cable/bytes.h"
#include "tv-cbor.h"

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void
put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 16;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
head(struct buf *b, uint8_t major, uint64_t arg)
{
	uint8_t h[9];
	size_t w;

	if (arg < 24) {
		h[0] = (uint8_t)(major << 5 | arg);
		put(b, h, 1);
		return;
	}
	w = arg <= 0xff ? 1 : arg <= 0xffff ? 2 : arg <= 0xffffffffULL ? 4 : 8;
	h[0] = (uint8_t)(major << 5 | (w == 1 ? 24 : w == 2 ? 25 : w == 4 ? 26 : 27));
	for (size_t i = 0; i < w; i++)
		h[1 + i] = (uint8_t)(arg >> (8 * (w - 1 - i)));
	put(b, h, 1 + w);
}

static void
integer(struct buf *b, json_int_t v)
{
	if (v >= 0)
		head(b, 0, (uint64_t)v);
	else
		head(b, 1, (uint64_t)(-1 - v));
}

static void value(struct buf *b, json_t *v);

static void
typed(struct buf *b, const char *type, json_t *v)
{
	if (strcmp(type, "bytes") == 0) {
		uint8_t *d = NULL;
		size_t n = 0;
		const char *s = json_string_value(v);
		assert_non_null(s);
		if (*s != '\0')
			assert_int_equal(cable_hex_decode_alloc(s, &d, &n), 0);
		head(b, 2, n);
		put(b, d, n);
		free(d);
	} else if (strcmp(type, "int") == 0) {
		assert_true(json_is_integer(v));
		integer(b, json_integer_value(v));
	} else if (strcmp(type, "text") == 0) {
		const char *s = json_string_value(v);
		assert_non_null(s);
		head(b, 3, strlen(s));
		put(b, s, strlen(s));
	} else if (strcmp(type, "bool") == 0) {
		assert_true(json_is_boolean(v));
		head(b, 7, json_is_true(v) ? 21 : 20);
	} else {
		fail_msg("unknown CBOR value type %s in the vectors", type);
	}
}

static void
value(struct buf *b, json_t *v)
{
	if (json_is_object(v)) {
		const char *k;
		json_t *inner;
		assert_int_equal(json_object_size(v), 1);
		json_object_foreach(v, k, inner)
			typed(b, k, inner);
	} else if (json_is_integer(v)) {
		integer(b, json_integer_value(v));
	} else if (json_is_string(v)) {
		typed(b, "text", v);
	} else if (json_is_boolean(v)) {
		typed(b, "bool", v);
	} else if (json_is_array(v)) {
		head(b, 4, json_array_size(v));
		for (size_t i = 0; i < json_array_size(v); i++)
			value(b, json_array_get(v, i));
	} else {
		fail_msg("unsupported JSON value in a CBOR map description");
	}
}

struct entry {
	struct buf key, val;
};

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	if (x->key.len != y->key.len)
		return x->key.len < y->key.len ? -1 : 1;
	return memcmp(x->key.p, y->key.p, x->key.len);
}

uint8_t *
tv_cbor_map(json_t *map, size_t *len)
{
	struct entry *e;
	struct buf out = {0};
	size_t n = 0, count;
	const char *k;
	json_t *v;

	assert_true(json_is_object(map));
	count = json_object_size(map);
	e = calloc(count + 1, sizeof(*e));
	assert_non_null(e);
	json_object_foreach(map, k, v) {
		char *end;
		long long key = strtoll(k, &end, 10);
		assert_true(*k != '\0' && *end == '\0');
		integer(&e[n].key, key);
		value(&e[n].val, v);
		n++;
	}
	qsort(e, n, sizeof(*e), entry_cmp);
	head(&out, 5, n);
	for (size_t i = 0; i < n; i++) {
		put(&out, e[i].key.p, e[i].key.len);
		put(&out, e[i].val.p, e[i].val.len);
		free(e[i].key.p);
		free(e[i].val.p);
	}
	free(e);
	*len = out.len;
	return out.p;
}

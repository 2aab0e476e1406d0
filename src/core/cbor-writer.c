/* Canonical CBOR writer used for CTAP2 responses and the credential store file. */
#include <stdlib.h>
#include <string.h>

#include "cable/bytes.h"
#include "cable/error.h"
#include "cbor-writer.h"

void
cable_cbw_init(struct cable_cbw *w, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->max = max;
}

static int
reserve(struct cable_cbw *w, size_t n)
{
	size_t want, ncap;
	uint8_t *nb;

	if (w->err != 0)
		return w->err;
	if (n > SIZE_MAX - w->len || (w->max != 0 && w->len + n > w->max))
		return w->err = CABLE_ERR_TOO_BIG;
	want = w->len + n;
	if (want <= w->cap)
		return 0;
	ncap = w->cap ? w->cap : 256;
	while (ncap < want)
		ncap = ncap > SIZE_MAX / 2 ? want : ncap * 2;
	/* Not realloc: the old buffer may hold secrets and must be wiped, not left in the heap. */
	if ((nb = malloc(ncap)) == NULL)
		return w->err = CABLE_ERR_NOMEM;
	if (w->buf != NULL) {
		memcpy(nb, w->buf, w->len);
		cable_wipe(w->buf, w->cap);
		free(w->buf);
	}
	w->buf = nb;
	w->cap = ncap;
	return 0;
}

void
cable_cbw_raw(struct cable_cbw *w, const void *p, size_t n)
{
	if (n == 0 || reserve(w, n) != 0)
		return;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void
head(struct cable_cbw *w, uint8_t major, uint64_t v)
{
	uint8_t b[9];
	size_t n;

	major = (uint8_t)(major << 5);
	if (v < 24) {
		b[0] = (uint8_t)(major | v);
		n = 1;
	} else if (v <= 0xff) {
		b[0] = major | 24;
		b[1] = (uint8_t)v;
		n = 2;
	} else if (v <= 0xffff) {
		b[0] = major | 25;
		b[1] = (uint8_t)(v >> 8);
		b[2] = (uint8_t)v;
		n = 3;
	} else if (v <= 0xffffffffULL) {
		b[0] = major | 26;
		for (int i = 0; i < 4; i++)
			b[1 + i] = (uint8_t)(v >> (24 - 8 * i));
		n = 5;
	} else {
		b[0] = major | 27;
		for (int i = 0; i < 8; i++)
			b[1 + i] = (uint8_t)(v >> (56 - 8 * i));
		n = 9;
	}
	cable_cbw_raw(w, b, n);
}

void
cable_cbw_uint(struct cable_cbw *w, uint64_t v)
{
	head(w, 0, v);
}

void
cable_cbw_int(struct cable_cbw *w, int64_t v)
{
	if (v >= 0)
		head(w, 0, (uint64_t)v);
	else
		head(w, 1, (uint64_t)(-1 - v));
}

void
cable_cbw_bytes(struct cable_cbw *w, const void *p, size_t n)
{
	head(w, 2, n);
	cable_cbw_raw(w, p, n);
}

void
cable_cbw_textn(struct cable_cbw *w, const char *s, size_t n)
{
	head(w, 3, n);
	cable_cbw_raw(w, s, n);
}

void
cable_cbw_text(struct cable_cbw *w, const char *s)
{
	cable_cbw_textn(w, s, strlen(s));
}

void
cable_cbw_bool(struct cable_cbw *w, bool b)
{
	uint8_t v = b ? 0xf5 : 0xf4;
	cable_cbw_raw(w, &v, 1);
}

void
cable_cbw_array(struct cable_cbw *w, size_t n)
{
	head(w, 4, n);
}

void
cable_cbw_map(struct cable_cbw *w, size_t n)
{
	head(w, 5, n);
}

void
cable_cbw_discard(struct cable_cbw *w)
{
	if (w->buf != NULL) {
		cable_wipe(w->buf, w->cap);
		free(w->buf);
	}
	w->buf = NULL;
	w->len = w->cap = 0;
}

int
cable_cbw_finish(struct cable_cbw *w, uint8_t **out, size_t *out_len)
{
	int r = w->err;

	if (r == 0 && w->len == 0)
		r = CABLE_ERR_INTERNAL;
	if (r != 0) {
		cable_cbw_discard(w);
		return r;
	}
	*out = w->buf;
	*out_len = w->len;
	w->buf = NULL;
	w->len = w->cap = 0;
	return 0;
}

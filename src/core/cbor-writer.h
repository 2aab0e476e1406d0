/* A small append-only writer for CTAP2 canonical CBOR (shortest heads, caller orders map keys). */
#ifndef CABLE_CBOR_WRITER_H
#define CABLE_CBOR_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The writer grows one heap buffer. The first failure (OOM, size cap) sticks: later calls do
 * nothing and cable_cbw_finish reports it, so callers can write a whole structure and check once.
 */
struct cable_cbw {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t max; /* 0 = no limit */
	int err;
};

void cable_cbw_init(struct cable_cbw *w, size_t max);
void cable_cbw_raw(struct cable_cbw *w, const void *p, size_t n);
void cable_cbw_uint(struct cable_cbw *w, uint64_t v);
/* Any int64: negative values use major type 1. */
void cable_cbw_int(struct cable_cbw *w, int64_t v);
void cable_cbw_bytes(struct cable_cbw *w, const void *p, size_t n);
void cable_cbw_text(struct cable_cbw *w, const char *s);
void cable_cbw_textn(struct cable_cbw *w, const char *s, size_t n);
void cable_cbw_bool(struct cable_cbw *w, bool b);
void cable_cbw_array(struct cable_cbw *w, size_t n);
void cable_cbw_map(struct cable_cbw *w, size_t n);
/* Hands the buffer over (caller frees) or returns the sticky error after releasing it. */
int cable_cbw_finish(struct cable_cbw *w, uint8_t **out, size_t *out_len);
/* Releases the buffer without handing it over (wipes it: it may hold secrets). */
void cable_cbw_discard(struct cable_cbw *w);

#endif

/* Safe CBOR intake for untrusted bytes: a bounded pre-scan before libcbor, and canonical checks. */
#ifndef CABLE_CBOR_H
#define CABLE_CBOR_H

#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

/* Deepest nesting accepted from outside. CTAP2 messages need at most 4 or 5 levels. */
#define CABLE_CBOR_MAX_DEPTH 16

enum cable_cbor_flags {
	/* Require CTAP2 canonical form: shortest integers and lengths, map keys sorted, no dupes. */
	CABLE_CBOR_CANONICAL = 1 << 0,
};

/*
 * Walks exactly one CBOR item at the start of buf without allocating. Fails with CABLE_ERR_CBOR
 * unless every declared length and element count fits in the bytes that remain (so libcbor 0.8's
 * allocation bomb cannot happen), nesting stays within CABLE_CBOR_MAX_DEPTH, and no indefinite
 * lengths or tags appear. With CABLE_CBOR_CANONICAL, non-canonical input gives
 * CABLE_ERR_CBOR_NONCANONICAL. On success *item_len is the size of the item.
 */
int cable_cbor_scan(const uint8_t *buf, size_t len, unsigned flags, size_t *item_len);

/*
 * Scans, then loads exactly one item that must fill the whole buffer (trailing bytes are an
 * error). *item is set only on success; release it with cbor_decref.
 */
int cable_cbor_load(const uint8_t *buf, size_t len, unsigned flags, cbor_item_t **item);

/*
 * Serialises item into a new buffer (caller frees). The encoder writes shortest forms; map
 * entries are written in the order they were added, so build maps in canonical order.
 */
int cable_cbor_encode(const cbor_item_t *item, uint8_t **out, size_t *out_len);

/* Lookup of an unsigned or negative integer key in a definite map; NULL when absent. */
cbor_item_t *cable_cbor_map_get_int(const cbor_item_t *map, int64_t key);
/* Lookup of a text-string key in a definite map; NULL when absent. */
cbor_item_t *cable_cbor_map_get_str(const cbor_item_t *map, const char *key);
/* Reads an integer item (unsigned or negative) into *out. */
int cable_cbor_get_int(const cbor_item_t *item, int64_t *out);

#endif

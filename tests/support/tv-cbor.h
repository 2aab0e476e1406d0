/* Test support: CTAP2 canonical CBOR built from the vectors' JSON descriptions of maps. */
#ifndef CABLE_TEST_TV_CBOR_H
#define CABLE_TEST_TV_CBOR_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * Encodes a JSON object whose keys are decimal integers as a canonical CBOR map (keys sorted by
 * their encoding). A value is either typed, {"bytes": hex} / {"int": n} / {"text": s} /
 * {"bool": b} (the cbor_map_canonical convention), or a plain JSON integer, string, boolean or
 * array of those. Fails the calling test on anything else. Caller frees the result.
 */
uint8_t *tv_cbor_map(json_t *map, size_t *len);

#endif

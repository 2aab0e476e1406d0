/* Byte helpers shared by every layer: hex, base64url, wiping and constant-time comparison. */
#ifndef CABLE_BYTES_H
#define CABLE_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writes 2*len hex digits and a NUL to out (size >= 2*len+1). upper selects A-F. */
void cable_hex_encode(const uint8_t *in, size_t len, char *out, bool upper);
/*
 * Decodes exactly 2*out_len hex digits (either case) from a string of in_len characters.
 * Returns 0, or CABLE_ERR_PARSE on a non-hex character or a length other than 2*out_len.
 */
int cable_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_len);
/* Decodes any even-length hex string into a new buffer; caller frees. */
int cable_hex_decode_alloc(const char *in, uint8_t **out, size_t *out_len);

/* base64url without padding. encode: out gets a NUL-terminated string, caller frees. */
int cable_base64url_encode(const uint8_t *in, size_t len, char **out);
/* Strict decode: rejects padding, non-alphabet characters and non-zero trailing bits. */
int cable_base64url_decode(const char *in, size_t in_len, uint8_t **out, size_t *out_len);

/* Wipes memory in a way the compiler cannot remove. */
void cable_wipe(void *p, size_t len);
/* Constant-time equality of two buffers of the same length. */
bool cable_ct_equal(const void *a, const void *b, size_t len);

#endif

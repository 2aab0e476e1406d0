/* UTF-8 validation and truncation at a character boundary (private helper). */
#ifndef CABLE_UTF8_H
#define CABLE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF) without NUL bytes. */
bool cable_utf8_valid(const uint8_t *s, size_t len);
/* The longest prefix of valid UTF-8 s that is at most max bytes and ends on a character boundary. */
size_t cable_utf8_truncate(const uint8_t *s, size_t len, size_t max);

#endif

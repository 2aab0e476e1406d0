/* UTF-8 checks for strings that go from requests into the store and back out in responses. */
#include "utf8.h"

/* Length of the character starting at s[0], or 0 when it is not valid UTF-8. */
static size_t
char_len(const uint8_t *s, size_t len)
{
	uint8_t c = s[0];
	uint32_t cp;
	size_t n;

	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		n = 2;
		cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3;
		cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool
cable_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		if ((n = char_len(s + i, len - i)) == 0)
			return false;
		i += n;
	}
	return true;
}

size_t
cable_utf8_truncate(const uint8_t *s, size_t len, size_t max)
{
	size_t i = 0, n;

	while (i < len) {
		if ((n = char_len(s + i, len - i)) == 0 || i + n > max)
			break;
		i += n;
	}
	return i;
}

/*
 * libFuzzer harness: header values a tunnel peer controls. The first byte selects the parser:
 * even = Sec-WebSocket-Protocol offer list (server side, cable_tunnel_token_listed), odd =
 * X-caBLE-Routing-ID answer (client side). Each result is checked against a simple reference
 * written differently (fuzz-tunnel-target checks only a weaker property of the list parser).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cable/error.h"
#include "cable/tunnel-headers.h"
#include "../../tunnel/tunnel-target.c"

#define VALUE_MAX 1024
#define SUBPROTOCOL "fido.cable"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reference: copy, split on commas, trim spaces and tabs, compare C strings. */
static bool
offered_ref(const char *v, size_t len)
{
	char buf[VALUE_MAX + 1];
	size_t start = 0;

	if (len > VALUE_MAX)
		return false;
	memcpy(buf, v, len);
	buf[len] = '\0';
	for (size_t i = 0; i <= len; i++) {
		if (i == len || buf[i] == ',') {
			char tok[VALUE_MAX + 1];
			size_t a = start, b = i;
			while (a < b && (buf[a] == ' ' || buf[a] == '\t'))
				a++;
			while (b > a && (buf[b - 1] == ' ' || buf[b - 1] == '\t'))
				b--;
			memcpy(tok, buf + a, b - a);
			tok[b - a] = '\0';
			/* An embedded NUL ends the C string early: the token must be exactly its length. */
			if (strlen(tok) == b - a && strcmp(tok, SUBPROTOCOL) == 0)
				return true;
			start = i + 1;
		}
	}
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *v;
	size_t len;

	if (size < 1)
		return 0;
	v = (const char *)data + 1;
	len = size - 1;
	if (data[0] % 2 == 0) {
		/* As the server has it: a NUL-terminated copy of at most 255 bytes (lws_hdr_copy). */
		char buf[256];
		size_t n = strnlen(v, len < sizeof(buf) - 1 ? len : sizeof(buf) - 1);
		memcpy(buf, v, n);
		buf[n] = '\0';
		if (cable_tunnel_token_listed(buf, SUBPROTOCOL) != offered_ref(buf, n))
			abort();
	} else {
		uint8_t rid[CABLE_ROUTING_ID_LEN] = {0xee, 0xee, 0xee}, before[CABLE_ROUTING_ID_LEN];
		bool want = len == 6;
		int r;

		for (size_t i = 0; want && i < len; i++)
			want = isxdigit((unsigned char)v[i]) != 0;
		memcpy(before, rid, sizeof(rid));
		r = cable_tunnel_routing_header_parse(v, len, rid);
		if ((r == 0) != want || (r != 0 && r != CABLE_ERR_PARSE))
			abort();
		if (r != 0 && memcmp(rid, before, sizeof(rid)) != 0)
			abort(); /* output written on failure */
		if (r == 0) {
			for (size_t i = 0; i < CABLE_ROUTING_ID_LEN; i++) {
				char hex[3];
				unsigned x;
				memcpy(hex, v + 2 * i, 2);
				hex[2] = '\0';
				x = (unsigned)strtoul(hex, NULL, 16);
				if (x != rid[i])
					abort();
			}
		}
	}
	return 0;
}

/* Tunnel header values from the network (subprotocol offers, routing ID answers), bounded parsers. */
#include <string.h>

#include "cable/bytes.h"
#include "cable/error.h"
#include "cable/tunnel-headers.h"

static bool
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

bool
cable_tunnel_subprotocol_offered(const char *value, size_t len)
{
	static const size_t want_len = sizeof(CABLE_TUNNEL_SUBPROTOCOL) - 1;
	size_t i = 0;

	if (value == NULL || len > CABLE_TUNNEL_HEADER_VALUE_MAX)
		return false;
	while (i <= len) {
		size_t start = i, end;

		while (i < len && value[i] != ',')
			i++;
		end = i;
		while (start < end && is_ows(value[start]))
			start++;
		while (end > start && is_ows(value[end - 1]))
			end--;
		if (end - start == want_len && memcmp(value + start, CABLE_TUNNEL_SUBPROTOCOL, want_len) == 0)
			return true;
		i++; /* past the comma (or past the end) */
	}
	return false;
}

int
cable_tunnel_routing_header_parse(const char *value, size_t len, uint8_t out[CABLE_ROUTING_ID_LEN])
{
	uint8_t rid[CABLE_ROUTING_ID_LEN];

	if (value == NULL || out == NULL || len != 2 * CABLE_ROUTING_ID_LEN ||
	    cable_hex_decode(value, len, rid, sizeof(rid)) != 0)
		return CABLE_ERR_PARSE;
	memcpy(out, rid, sizeof(rid));
	return 0;
}

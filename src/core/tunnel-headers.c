/* Tunnel header values from the network (routing ID answers), bounded parsers. */
#include <string.h>

#include "cable/bytes.h"
#include "cable/error.h"
#include "cable/tunnel-headers.h"

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

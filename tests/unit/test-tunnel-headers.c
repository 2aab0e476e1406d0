/* Unit tests: tunnel header values from the network (subprotocol offers, X-caBLE-Routing-ID). */
#include <string.h>

#include "cable/error.h"
#include "cable/tunnel-headers.h"
#include "tv.h"

static bool
offered(const char *s)
{
	return cable_tunnel_subprotocol_offered(s, strlen(s));
}

static void
test_subprotocol_offers(void **state)
{
	char big[CABLE_TUNNEL_HEADER_VALUE_MAX + 2];

	(void)state;
	assert_true(offered("fido.cable"));
	assert_true(offered("chat, fido.cable"));
	assert_true(offered(" \tfido.cable\t ,chat"));
	assert_true(offered(",,fido.cable,"));
	assert_false(offered(""));
	assert_false(offered("fido.cabl"));
	assert_false(offered("fido.cablex"));
	assert_false(offered("FIDO.CABLE")); /* subprotocol tokens are case-sensitive */
	assert_false(offered("fido. cable"));
	assert_false(offered("fido.cable;q=1"));
	/* An embedded NUL is not a separator: the token around it does not match. */
	assert_false(cable_tunnel_subprotocol_offered("fido.cable\0", 11));
	assert_true(cable_tunnel_subprotocol_offered("fido.cable,x", 10));
	/* Over the cap: refused without looking, even when the offer is there. */
	memset(big, ' ', sizeof(big));
	memcpy(big, "fido.cable", 10);
	assert_true(cable_tunnel_subprotocol_offered(big, CABLE_TUNNEL_HEADER_VALUE_MAX));
	assert_false(cable_tunnel_subprotocol_offered(big, CABLE_TUNNEL_HEADER_VALUE_MAX + 1));
	assert_false(cable_tunnel_subprotocol_offered(NULL, 0));
}

static void
test_routing_header(void **state)
{
	uint8_t rid[3] = {9, 9, 9};

	(void)state;
	assert_int_equal(cable_tunnel_routing_header_parse("0a0B0c", 6, rid), 0);
	assert_memory_equal(rid, "\x0a\x0b\x0c", 3);
	memset(rid, 9, sizeof(rid));
	assert_int_equal(cable_tunnel_routing_header_parse("0a0b0", 5, rid), CABLE_ERR_PARSE);
	assert_int_equal(cable_tunnel_routing_header_parse("0a0b0c0d", 8, rid), CABLE_ERR_PARSE);
	assert_int_equal(cable_tunnel_routing_header_parse(" 0a0b0c", 7, rid), CABLE_ERR_PARSE);
	assert_int_equal(cable_tunnel_routing_header_parse("0a0b0g", 6, rid), CABLE_ERR_PARSE);
	/* A failed parse leaves the output alone, even when the first bytes were good hex. */
	assert_int_equal(cable_tunnel_routing_header_parse("0a0bzz", 6, rid), CABLE_ERR_PARSE);
	assert_memory_equal(rid, "\x09\x09\x09", 3);
	assert_int_equal(cable_tunnel_routing_header_parse(NULL, 6, rid), CABLE_ERR_PARSE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subprotocol_offers),
		cmocka_unit_test(test_routing_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

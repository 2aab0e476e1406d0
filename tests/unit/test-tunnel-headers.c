/* Unit tests: tunnel header values from the network (X-caBLE-Routing-ID). */
#include <string.h>

#include "cable/error.h"
#include "cable/tunnel-headers.h"
#include "tv.h"

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
		cmocka_unit_test(test_routing_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

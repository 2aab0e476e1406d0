/* Unit tests for the tunnel adapter: queue bounds, per-source limits, paths and server URLs. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "cable/error.h"
#include "cable/loop-lws.h"
#include "cable/tunnel-server.h"
#include "cable/tunnel-url.h"
#include "cable/tunnel.h"
#include "tunnel/relay-queue.h"
#include "tunnel/source-table.h"
#include "tv.h"

static struct cable_relay_msg *
msg(size_t len, uint8_t fill)
{
	struct cable_relay_msg *m = cable_relay_msg_new(len);

	assert_non_null(m);
	memset(cable_relay_msg_payload(m), fill, len);
	m->len = len;
	return m;
}

static void
test_queue_bounds(void **state)
{
	struct cable_relay_queue q = {0};
	struct cable_relay_msg *m, *extra;

	(void)state;
	assert_null(cable_relay_queue_pop(&q));
	for (uint8_t i = 0; i < 4; i++)
		assert_int_equal(cable_relay_queue_push(&q, msg(10, i), 4, 1000), 0);
	assert_int_equal(q.count, 4);
	assert_int_equal(q.bytes, 40);
	/* Count bound: refused, and the message stays the caller's. */
	extra = msg(1, 0xee);
	assert_int_equal(cable_relay_queue_push(&q, extra, 4, 1000), CABLE_ERR_TOO_BIG);
	assert_int_equal(q.count, 4);
	/* Byte bound. */
	assert_int_equal(cable_relay_queue_push(&q, extra, 10, 40), CABLE_ERR_TOO_BIG);
	assert_int_equal(cable_relay_queue_push(&q, extra, 10, 41), 0);
	/* FIFO. */
	for (uint8_t i = 0; i < 4; i++) {
		m = cable_relay_queue_pop(&q);
		assert_non_null(m);
		assert_int_equal(m->len, 10);
		assert_int_equal(cable_relay_msg_payload(m)[0], i);
		assert_null(m->next);
		cable_relay_msg_free(&m);
		assert_null(m);
	}
	assert_int_equal(q.count, 1);
	assert_int_equal(q.bytes, 1);
	/* A single message larger than the byte bound never fits. */
	m = msg(50, 1);
	assert_int_equal(cable_relay_queue_push(&q, m, 10, 49), CABLE_ERR_TOO_BIG);
	cable_relay_msg_free(&m);
	/* clear frees the rest (LeakSanitizer checks). */
	assert_int_equal(cable_relay_queue_push(&q, msg(5, 2), 10, 100), 0);
	cable_relay_queue_clear(&q);
	assert_int_equal(q.count, 0);
	assert_int_equal(q.bytes, 0);
	assert_null(q.head);
	assert_null(q.tail);
	cable_relay_msg_free(NULL);
}

static void
test_message_join(void **state)
{
	struct cable_relay_msg *m = cable_relay_msg_new(2);
	uint8_t part[300];

	(void)state;
	assert_non_null(m);
	for (size_t i = 0; i < sizeof(part); i++)
		part[i] = (uint8_t)i;
	/* Grows past its first capacity, up to the cap and not beyond. */
	assert_int_equal(cable_relay_msg_append(&m, part, 100, 1000), 0);
	assert_int_equal(cable_relay_msg_append(&m, part, 300, 1000), 0);
	assert_int_equal(cable_relay_msg_append(&m, part, 300, 1000), 0);
	assert_int_equal(m->len, 700);
	assert_int_equal(cable_relay_msg_append(&m, part, 300, 1000), 0);
	assert_int_equal(m->len, 1000);
	assert_true(m->cap <= 1000);
	assert_int_equal(cable_relay_msg_append(&m, part, 1, 1000), CABLE_ERR_TOO_BIG);
	assert_int_equal(m->len, 1000);
	assert_memory_equal(cable_relay_msg_payload(m), part, 100);
	assert_memory_equal(cable_relay_msg_payload(m) + 100, part, 300);
	assert_memory_equal(cable_relay_msg_payload(m) + 700, part, 300);
	/* Headroom for lws: the payload starts LWS_PRE bytes in. */
	assert_ptr_equal(cable_relay_msg_payload(m), m->buf + LWS_PRE);
	cable_relay_msg_free(&m);
}

static socklen_t
v4(struct sockaddr_storage *ss, const char *a)
{
	struct sockaddr_in *s = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	s->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, a, &s->sin_addr), 1);
	return sizeof(*s);
}

static socklen_t
v6(struct sockaddr_storage *ss, const char *a)
{
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	s->sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, a, &s->sin6_addr), 1);
	return sizeof(*s);
}

static void
test_source_limit(void **state)
{
	struct cable_source_table *tbl = cable_source_table_new();
	struct cable_source *s[4] = {NULL}, *o = NULL, *m6 = NULL, *x;
	struct sockaddr_storage ss;
	socklen_t l;

	(void)state;
	assert_non_null(tbl);
	l = v4(&ss, "192.0.2.7");
	for (int i = 0; i < 3; i++)
		assert_int_equal(cable_source_acquire(tbl, (struct sockaddr *)&ss, l, 3, &s[i]), 0);
	assert_ptr_equal(s[0], s[2]);
	assert_int_equal(cable_source_count(s[0]), 3);
	assert_int_equal(cable_source_acquire(tbl, (struct sockaddr *)&ss, l, 3, &s[3]),
	    CABLE_ERR_TOO_BIG);
	/* The same address seen as IPv4-mapped IPv6 is the same source. */
	l = v6(&ss, "::ffff:192.0.2.7");
	assert_int_equal(cable_source_acquire(tbl, (struct sockaddr *)&ss, l, 3, &m6),
	    CABLE_ERR_TOO_BIG);
	/* Another address is not affected. */
	l = v6(&ss, "2001:db8::7");
	assert_int_equal(cable_source_acquire(tbl, (struct sockaddr *)&ss, l, 3, &o), 0);
	assert_int_equal(cable_source_table_size(tbl), 2);
	/* Releasing one makes room again; the entry goes away at zero. */
	cable_source_release(tbl, &s[2]);
	assert_null(s[2]);
	l = v4(&ss, "192.0.2.7");
	assert_int_equal(cable_source_acquire(tbl, (struct sockaddr *)&ss, l, 3, &s[2]), 0);
	for (int i = 0; i < 3; i++)
		cable_source_release(tbl, &s[i]);
	cable_source_release(tbl, &o);
	assert_int_equal(cable_source_table_size(tbl), 0);
	/* Limit 0 refuses everything; an unknown family is an argument error. */
	assert_int_equal(cable_source_acquire(tbl, (struct sockaddr *)&ss, l, 0, &x), CABLE_ERR_TOO_BIG);
	ss.ss_family = AF_UNIX;
	assert_int_equal(cable_source_acquire(tbl, (struct sockaddr *)&ss, l, 3, &x), CABLE_ERR_ARG);
	cable_source_table_free(&tbl);
	assert_null(tbl);
	cable_source_table_free(NULL);
}

static void
test_source_many(void **state)
{
	struct cable_source_table *tbl = cable_source_table_new();
	struct cable_source **s = calloc(5000, sizeof(*s));
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	(void)state;
	assert_non_null(tbl);
	assert_non_null(s);
	v4(&ss, "10.0.0.0");
	/* Past the initial bucket count: the table grows and keeps every entry findable. */
	for (uint32_t i = 0; i < 5000; i++) {
		sin->sin_addr.s_addr = htonl(0x0a000000u + i);
		assert_int_equal(cable_source_acquire(tbl, (struct sockaddr *)&ss, sizeof(*sin), 1, &s[i]), 0);
	}
	assert_int_equal(cable_source_table_size(tbl), 5000);
	for (uint32_t i = 0; i < 5000; i += 7) {
		struct cable_source *again;

		sin->sin_addr.s_addr = htonl(0x0a000000u + i);
		assert_int_equal(cable_source_acquire(tbl, (struct sockaddr *)&ss, sizeof(*sin), 1, &again),
		    CABLE_ERR_TOO_BIG);
	}
	for (uint32_t i = 0; i < 5000; i++)
		cable_source_release(tbl, &s[i]);
	assert_int_equal(cable_source_table_size(tbl), 0);
	free(s);
	cable_source_table_free(&tbl);
}

/* What the server accepts and refuses comes from the core's parser; these are the server's cases. */
static void
test_server_paths(void **state)
{
	static const char *const good[] = {
		"/cable/new/00112233445566778899AABBCCDDEEFF",
		"/cable/new/00112233445566778899aabbccddeeff",
		"/cable/connect/0a0B0c/00112233445566778899AABBCCDDEEFF",
		"/cable/contact/AQIDBA",
	};
	static const char *const bad[] = {
		"/cable/new/00112233445566778899AABBCCDDEEF",
		"/cable/new/00112233445566778899AABBCCDDEEFF/",
		"/cable/new/00112233445566778899AABBCCDDEEFF?x",
		"/cable/new/00112233445566778899AABBCCDDEEF%46",
		"/cable/new//00112233445566778899AABBCCDDEEFF",
		"/cable/connect/0a0b0/00112233445566778899AABBCCDDEEFF",
		"/cable/connect/0a0b0c",
		"/cable/contact/",
		"/cable/contact/AQID+A",
		"/cable/other/00",
		"/",
		"",
	};
	struct cable_tunnel_path *p = malloc(sizeof(*p));

	(void)state;
	assert_non_null(p);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(cable_tunnel_path_parse(good[i], strlen(good[i]), p), 0);
	assert_int_equal(cable_tunnel_path_parse(good[2], strlen(good[2]), p), 0);
	assert_int_equal(p->kind, CABLE_TUNNEL_PATH_CONNECT);
	assert_int_equal(p->routing_id[0], 0x0a);
	assert_int_equal(p->routing_id[1], 0x0b);
	assert_int_equal(p->routing_id[2], 0x0c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(cable_tunnel_path_parse(bad[i], strlen(bad[i]), p), 0);
	free(p);
}

static void
test_url_check(void **state)
{
	(void)state;
	assert_int_equal(cable_tunnel_url_check("wss://cable.example.org"), 0);
	assert_int_equal(cable_tunnel_url_check("wss://cable.example.org:8443/prefix"), 0);
	assert_int_equal(cable_tunnel_url_check("ws://127.0.0.1:8080"), 0);
	assert_int_equal(cable_tunnel_url_check("ws://127.200.0.1:8080"), 0);
	assert_int_equal(cable_tunnel_url_check("ws://[::1]:8080"), 0);
	assert_int_equal(cable_tunnel_url_check("ws://localhost:8080/"), 0);
	assert_int_equal(cable_tunnel_url_check("ws://10.0.0.1:8080"), CABLE_ERR_TUNNEL_INSECURE);
	assert_int_equal(cable_tunnel_url_check("ws://cable.example.org"), CABLE_ERR_TUNNEL_INSECURE);
	assert_int_equal(cable_tunnel_url_check("ws://[2001:db8::1]:80"), CABLE_ERR_TUNNEL_INSECURE);
	assert_int_equal(cable_tunnel_url_check("ws://127.0.0.1.evil.example"), CABLE_ERR_TUNNEL_INSECURE);
	assert_int_equal(cable_tunnel_url_check("https://cable.example.org"), CABLE_ERR_TUNNEL_URL);
	assert_int_equal(cable_tunnel_url_check("wss://user@cable.example.org"), CABLE_ERR_TUNNEL_URL);
	assert_int_equal(cable_tunnel_url_check("wss://cable.example.org:0"), CABLE_ERR_TUNNEL_URL);
	assert_int_equal(cable_tunnel_url_check("wss://cable.example.org:65536"), CABLE_ERR_TUNNEL_URL);
	assert_int_equal(cable_tunnel_url_check("wss://cable.example.org:"), CABLE_ERR_TUNNEL_URL);
	assert_int_equal(cable_tunnel_url_check("wss://cable.example.org/a?b"), CABLE_ERR_TUNNEL_URL);
	assert_int_equal(cable_tunnel_url_check("wss://"), CABLE_ERR_TUNNEL_URL);
	assert_int_equal(cable_tunnel_url_check("wss://a b"), CABLE_ERR_TUNNEL_URL);
	assert_int_equal(cable_tunnel_url_check(NULL), CABLE_ERR_TUNNEL_URL);
}

static void
test_server_choice(void **state)
{
	struct cable_loop *loop = cable_loop_lws_new(NULL);
	struct cable_tunnel_client *c = NULL;
	struct cable_tunnel_client_config cfg = {0};
	char *u;

	(void)state;
	assert_non_null(loop);
	assert_int_equal(cable_tunnel_client_new(loop, NULL, &c), 0);
	/* Domain IDs through the core: assigned and hashed names. */
	assert_int_equal(cable_tunnel_client_server_url(c, 0, &u), 0);
	assert_string_equal(u, "wss://cable.ua5v.com");
	free(u);
	assert_int_equal(cable_tunnel_client_server_url(c, 1, &u), 0);
	assert_string_equal(u, "wss://cable.auth.com");
	free(u);
	assert_int_equal(cable_tunnel_client_server_url(c, 266, &u), 0);
	assert_string_equal(u, "wss://cable.wufkweyy3uaxb.com");
	free(u);
	assert_int_equal(cable_tunnel_client_server_url(c, 7, &u), CABLE_ERR_DOMAIN);
	/* One domain overridden; the others unchanged; then every domain. */
	assert_int_equal(cable_tunnel_client_add_server_option(c, "266=ws://127.0.0.1:9"), 0);
	assert_int_equal(cable_tunnel_client_server_url(c, 266, &u), 0);
	assert_string_equal(u, "ws://127.0.0.1:9");
	free(u);
	assert_int_equal(cable_tunnel_client_add_server_option(c, "wss://self.example:4443"), 0);
	assert_int_equal(cable_tunnel_client_server_url(c, 0, &u), 0);
	assert_string_equal(u, "wss://self.example:4443");
	free(u);
	assert_int_equal(cable_tunnel_client_server_url(c, 7, &u), 0);
	free(u);
	assert_int_equal(cable_tunnel_client_server_url(c, 266, &u), 0);
	assert_string_equal(u, "ws://127.0.0.1:9");
	free(u);
	assert_int_equal(cable_tunnel_client_set_server(c, 266, NULL), 0);
	assert_int_equal(cable_tunnel_client_server_url(c, 266, &u), 0);
	assert_string_equal(u, "wss://self.example:4443");
	free(u);
	assert_int_equal(cable_tunnel_client_add_server_option(c, "70000=wss://x"), CABLE_ERR_TUNNEL_URL);
	assert_int_equal(cable_tunnel_client_add_server_option(c, "1=ws://192.0.2.1"),
	    CABLE_ERR_TUNNEL_INSECURE);
	assert_int_equal(cable_tunnel_client_add_server_option(c, "ws://192.0.2.1"),
	    CABLE_ERR_TUNNEL_INSECURE);
	cable_tunnel_client_free(&c);
	assert_null(c);
	cfg.server_url = "ws://198.51.100.1";
	assert_int_equal(cable_tunnel_client_new(loop, &cfg, &c), CABLE_ERR_TUNNEL_INSECURE);
	assert_null(c);
	assert_int_equal(cable_tunnel_reject_name(CABLE_TUNNEL_REJECT_ROUTING_ID) != NULL, 1);
	assert_string_equal(cable_tunnel_reject_name(CABLE_TUNNEL_REJECT_COUNT), "unknown");
	cable_loop_lws_free(&loop);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_bounds),
		cmocka_unit_test(test_message_join),
		cmocka_unit_test(test_source_limit),
		cmocka_unit_test(test_source_many),
		cmocka_unit_test(test_server_paths),
		cmocka_unit_test(test_url_check),
		cmocka_unit_test(test_server_choice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

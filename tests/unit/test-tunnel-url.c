/* Unit tests: tunnel domains, URL builders and the path parser (tunnel_domain_*, tunnel_new_url_*, connect_url_*). */
#include <stdlib.h>
#include <string.h>

#include "cable/bytes.h"
#include "cable/error.h"
#include "cable/kdf.h"
#include "cable/tunnel-url.h"
#include "tv.h"

static void
run_domain(json_t *v, void *ctx)
{
	json_t *want = tv_field(v, "expected.domain");
	char host[CABLE_HOST_MAX];
	int r = cable_tunnel_domain((uint16_t)tv_int(v, "inputs.domain_id"), host, sizeof(host));

	(void)ctx;
	if (json_is_null(want)) {
		assert_int_equal(r, CABLE_ERR_DOMAIN);
	} else {
		assert_int_equal(r, 0);
		assert_string_equal(host, json_string_value(want));
	}
}

static void
test_domain_vectors(void **state)
{
	char host[CABLE_HOST_MAX];

	(void)state;
	tv_each("tunnel_domain_", run_domain, NULL);
	tv_assert_all_run("tunnel_domain_");
	/* The second example of hybrid §4.1 (Chromium's test, not in the vectors file). */
	assert_int_equal(cable_tunnel_domain(0xf980, host, sizeof(host)), 0);
	assert_string_equal(host, "cable.my4kstlhndi4c.net");
	for (unsigned id = 2; id < 256; id++)
		assert_int_equal(cable_tunnel_domain((uint16_t)id, host, sizeof(host)), CABLE_ERR_DOMAIN);
	/* Every hashed name fits CABLE_HOST_MAX and has the documented shape. */
	for (unsigned id = 256; id <= 65535; id++) {
		size_t n;
		assert_int_equal(cable_tunnel_domain((uint16_t)id, host, sizeof(host)), 0);
		n = strlen(host);
		assert_true(n < CABLE_HOST_MAX);
		assert_memory_equal(host, "cable.", 6);
		assert_non_null(strchr(host + 6, '.'));
	}
	/* A buffer too small is an error, never a truncated name. */
	assert_int_equal(cable_tunnel_domain(266, host, 10), CABLE_ERR_ARG);
	assert_int_equal(cable_tunnel_domain(0, host, 14), CABLE_ERR_ARG);
}

static void
run_new_url(json_t *v, void *ctx)
{
	char host[CABLE_HOST_MAX], *url = NULL, want_tail[64];
	size_t tlen;
	uint8_t *tid = tv_hex(v, "inputs.tunnel_id", &tlen);
	struct cable_tunnel_path p;
	const char *path;

	(void)ctx;
	assert_int_equal(tlen, CABLE_TUNNEL_ID_LEN);
	assert_int_equal(cable_tunnel_domain((uint16_t)tv_int(v, "inputs.domain_id"), host, sizeof(host)), 0);
	assert_int_equal(cable_tunnel_new_url(host, tid, &url), 0);
	assert_non_null(strstr(url, tv_str(v, "expected.url_contains")));
	assert_memory_equal(url, "wss://", 6);
	strcpy(want_tail, "/cable/new/");
	cable_hex_encode(tid, tlen, want_tail + strlen(want_tail), true);
	path = strstr(url + 6, "/");
	assert_string_equal(path, want_tail);
	/* The path we build is one the strict parser accepts, with the same ID. */
	assert_int_equal(cable_tunnel_path_parse(path, strlen(path), &p), 0);
	assert_int_equal(p.kind, CABLE_TUNNEL_PATH_NEW);
	assert_memory_equal(p.tunnel_id, tid, CABLE_TUNNEL_ID_LEN);
	free(url);
	free(tid);
}

static void
run_connect_url(json_t *v, void *ctx)
{
	char host[CABLE_HOST_MAX], *url = NULL;
	size_t slen, rlen;
	uint8_t *secret = tv_hex(v, "inputs.qr_secret", &slen);
	uint8_t *rid = tv_hex(v, "inputs.routing_id", &rlen);
	uint8_t tid[CABLE_TUNNEL_ID_LEN];
	struct cable_tunnel_path p;
	const char *path;

	(void)ctx;
	assert_int_equal(rlen, CABLE_ROUTING_ID_LEN);
	assert_int_equal(cable_derive_tunnel_id(secret, tid), 0);
	assert_int_equal(cable_tunnel_domain((uint16_t)tv_int(v, "inputs.domain_id"), host, sizeof(host)), 0);
	assert_int_equal(cable_tunnel_connect_url(host, rid, tid, &url), 0);
	assert_string_equal(url, tv_str(v, "expected.url"));
	path = strstr(url + 6, "/");
	assert_int_equal(cable_tunnel_path_parse(path, strlen(path), &p), 0);
	assert_int_equal(p.kind, CABLE_TUNNEL_PATH_CONNECT);
	assert_memory_equal(p.routing_id, rid, CABLE_ROUTING_ID_LEN);
	assert_memory_equal(p.tunnel_id, tid, CABLE_TUNNEL_ID_LEN);
	free(url);
	free(secret);
	free(rid);
}

static void
test_url_vectors(void **state)
{
	(void)state;
	tv_each("tunnel_new_url_", run_new_url, NULL);
	tv_each("connect_url_", run_connect_url, NULL);
	tv_assert_all_run("tunnel_new_url_");
	tv_assert_all_run("connect_url_");
}

static void
test_contact_url(void **state)
{
	uint8_t id[CABLE_CONTACT_ID_MAX + 1];
	struct cable_tunnel_path p;
	char *url = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(id); i++)
		id[i] = (uint8_t)(i * 7 + 0xfb);
	assert_int_equal(cable_tunnel_contact_url("cable.ua5v.com", id, 3, &url), 0);
	/* fb 02 09 in base64url, no padding. */
	assert_string_equal(url, "wss://cable.ua5v.com/cable/contact/-wIJ");
	free(url);
	assert_int_equal(cable_tunnel_contact_url("h", id, CABLE_CONTACT_ID_MAX, &url), 0);
	assert_int_equal(cable_tunnel_path_parse(url + 7, strlen(url + 7), &p), 0);
	assert_int_equal(p.kind, CABLE_TUNNEL_PATH_CONTACT);
	assert_int_equal(p.contact_id_len, CABLE_CONTACT_ID_MAX);
	assert_memory_equal(p.contact_id, id, CABLE_CONTACT_ID_MAX);
	free(url);
	assert_int_equal(cable_tunnel_contact_url("h", id, CABLE_CONTACT_ID_MAX + 1, &url), CABLE_ERR_ARG);
	assert_int_equal(cable_tunnel_contact_url("h", id, 0, &url), CABLE_ERR_ARG);
	/* Hosts that would change the URL's structure are refused; a port or [v6] is fine. */
	assert_int_equal(cable_tunnel_contact_url("evil.com/x", id, 3, &url), CABLE_ERR_ARG);
	assert_int_equal(cable_tunnel_contact_url("a@b", id, 3, &url), CABLE_ERR_ARG);
	assert_int_equal(cable_tunnel_contact_url("", id, 3, &url), CABLE_ERR_ARG);
	assert_int_equal(cable_tunnel_contact_url("a b", id, 3, &url), CABLE_ERR_ARG);
	assert_int_equal(cable_tunnel_new_url("[::1]:8443", id, &url), 0);
	assert_memory_equal(url, "wss://[::1]:8443/cable/new/", 27);
	free(url);
}

static void
test_path_parser(void **state)
{
	static const char *bad[] = {
		"",
		"/",
		"/cable/new/",
		"/cable/new/0123456789abcdef0123456789abcde",   /* 31 hex */
		"/cable/new/0123456789abcdef0123456789abcdef0", /* 33 hex */
		"/cable/new/0123456789abcdef0123456789abcdef/", /* trailing slash */
		"/cable/new/0123456789abcdef0123456789abcdeg",
		"/cable/new/0123456789abcdef0123456789abcdef?x=1",
		"/cable/new/0123456789abcdef0123456789abcdef#f",
		"/cable/new/%30123456789abcdef0123456789abcde",
		"/cable/new//0123456789abcdef0123456789abcdef",
		"/CABLE/new/0123456789abcdef0123456789abcdef",
		"cable/new/0123456789abcdef0123456789abcdef",
		"//cable/new/0123456789abcdef0123456789abcdef",
		"/cable/connect/0a0b0c0123456789abcdef0123456789abcdef",
		"/cable/connect/0a0b0c//0123456789abcdef0123456789abcdef",
		"/cable/connect/0a0b0/0123456789abcdef0123456789abcdef",
		"/cable/connect/0a0b0c/0123456789abcdef0123456789abcdef/",
		"/cable/connect/0a0b0c/0123456789abcdef0123456789abcdef0",
		"/cable/connect/0a0b0x/0123456789abcdef0123456789abcdef",
		"/cable/contact/",
		"/cable/contact/AA==",
		"/cable/contact/A+/B",
		"/cable/contact/A",
		"/cable/contact/AAAA/",
		"/cable/other/0123456789abcdef0123456789abcdef",
	};
	struct cable_tunnel_path p;
	char path[2000];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = cable_tunnel_path_parse(bad[i], strlen(bad[i]), &p);
		if (r != CABLE_ERR_PATH)
			fail_msg("accepted or mis-rejected (%d): %s", r, bad[i]);
	}
	/* A NUL inside the given length is not a terminator. */
	memcpy(path, "/cable/new/0123456789abcdef0123456789abcdef", 44);
	path[20] = '\0';
	assert_int_equal(cable_tunnel_path_parse(path, 43, &p), CABLE_ERR_PATH);
	/* Hex is accepted in either case. */
	strcpy(path, "/cable/connect/0A0b0C/0123456789ABCDEF0123456789abcdef");
	assert_int_equal(cable_tunnel_path_parse(path, strlen(path), &p), 0);
	assert_int_equal(p.kind, CABLE_TUNNEL_PATH_CONNECT);
	assert_int_equal(p.routing_id[0], 0x0a);
	assert_int_equal(p.routing_id[2], 0x0c);
	assert_int_equal(p.tunnel_id[15], 0xef);
	/* A contact ID over the cap is refused before decoding. */
	strcpy(path, "/cable/contact/");
	memset(path + 15, 'A', 1368);
	assert_int_equal(cable_tunnel_path_parse(path, 15 + 1368, &p), CABLE_ERR_PATH);
	assert_int_equal(cable_tunnel_path_parse(path, 15 + 1366, &p), 0);
	assert_int_equal(p.contact_id_len, 1024);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domain_vectors),
		cmocka_unit_test(test_url_vectors),
		cmocka_unit_test(test_contact_url),
		cmocka_unit_test(test_path_parser),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * No secret lingers (docs/SECURITY.md): a whole hybrid session (initiator and phone, in memory),
 * then a scan of this process's heap and anonymous memory for any 8-byte piece of the QR secret,
 * the EID key or the PSK. A negative control proves the scan finds a secret left in freed memory.
 * The scan reads /proc/self/mem, so it runs in the plain build only (ASan and valgrind keep their
 * own copies and quarantines of freed memory).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cable/advert.h"
#include "cable/bytes.h"
#include "cable/cred-store.h"
#include "cable/error.h"
#include "cable/initiator.h"
#include "cable/kdf.h"
#include "cable/phone-session.h"
#include "cable/qr.h"
#include "desk.h"
#include "loop-poll.h"
#include "mem-io.h"
#include "tv.h"

#if defined(__SANITIZE_ADDRESS__)
#define SCAN_POSSIBLE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SCAN_POSSIBLE 0
#endif
#endif
#ifndef SCAN_POSSIBLE
#define SCAN_POSSIBLE 1
#endif
#include <valgrind/valgrind.h>

#define MASK 0xa5
#define SCAN_BUF (1u << 20)

/* Secrets kept XOR-masked, so that the test's own copies are never what the scan finds. */
static uint8_t m_secret[CABLE_QR_SECRET_LEN], m_eid_key[CABLE_EID_KEY_LEN], m_psk[CABLE_PSK_LEN];
static uint8_t *scan_buf;

/* Any 8-byte aligned piece of the masked needle, unmasked on the stack only, in [lo, hi). */
static size_t
scan_for(const uint8_t *masked, size_t len, const char *what)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	int mem = open("/proc/self/mem", O_RDONLY);
	char line[512];
	size_t hits = 0;

	assert_non_null(maps);
	assert_true(mem >= 0);
	while (fgets(line, sizeof(line), maps) != NULL) {
		unsigned long lo, hi;
		char perms[8], path[256] = "";
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %255s", &lo, &hi, perms, path) < 3)
			continue;
		/* Heap and anonymous writable memory; not the binary's data, not the stack. */
		if (perms[0] != 'r' || perms[1] != 'w' || (path[0] != '\0' && strcmp(path, "[heap]") != 0))
			continue;
		if (hi - lo > (256ul << 20) || lo == (unsigned long)scan_buf)
			continue;
		for (unsigned long at = lo; at < hi; at += SCAN_BUF) {
			size_t want = hi - at < SCAN_BUF ? hi - at : SCAN_BUF;
			ssize_t n = pread(mem, scan_buf, want, (off_t)at);
			if (n <= 0)
				break;
			for (size_t piece = 0; piece + 8 <= len; piece += 8) {
				uint8_t needle[8];
				for (int i = 0; i < 8; i++)
					needle[i] = masked[piece + i] ^ MASK;
				for (uint8_t *p = scan_buf; (p = memmem(p, (size_t)n - (size_t)(p - scan_buf),
						needle, 8)) != NULL; p++) {
					fprintf(stderr, "%s bytes %zu..%zu found at %#lx (%s)\n", what, piece,
					    piece + 7, at + (unsigned long)(p - scan_buf), path[0] ? path : "anon");
					hits++;
				}
				cable_wipe(needle, sizeof(needle));
			}
		}
	}
	fclose(maps);
	close(mem);
	return hits;
}

static void
mask_into(uint8_t *dst, const uint8_t *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = src[i] ^ MASK;
}

struct run {
	struct cable_loop_poll *lp;
	struct cable_mem_io *mio;
	const struct cable_session_io *io;
	struct tv_env penv, denv;
	struct cable_cred_store *store;
	struct cable_phone_session *ps;
	struct cable_initiator *in;
	struct cable_phone_config pcfg;
	struct cable_initiator_config icfg;
	uint8_t *req;
	size_t req_len;
	bool done, phone_done, ok;
	char url[4096];
};

static struct run R;

static void
on_ievent(void *arg, const struct cable_initiator_event *ev)
{
	(void)arg;
	if (ev->type == CABLE_INITIATOR_EV_QR) {
		struct cable_qr qr;
		enum cable_digits_fault f;
		uint8_t eid_key[CABLE_EID_KEY_LEN];
		assert_true(strlen(ev->url) < sizeof(R.url));
		memcpy(R.url, ev->url, strlen(ev->url) + 1);
		assert_int_equal(cable_qr_from_url(ev->url, strlen(ev->url), &qr, &f), 0);
		assert_int_equal(cable_qr_eid_key(&qr, eid_key), 0);
		mask_into(m_secret, qr.secret, sizeof(m_secret));
		mask_into(m_eid_key, eid_key, sizeof(m_eid_key));
		cable_qr_wipe(&qr);
		cable_wipe(eid_key, sizeof(eid_key));
	}
	if (ev->type == CABLE_INITIATOR_EV_DONE || ev->type == CABLE_INITIATOR_EV_FAILED) {
		R.done = true;
		R.ok = ev->type == CABLE_INITIATOR_EV_DONE;
	}
}

static void
on_pevent(void *arg, const struct cable_phone_event *ev)
{
	(void)arg;
	if (ev->type == CABLE_PHONE_EV_CLOSED)
		R.phone_done = true;
}

/* The PSK, from the advert the phone sent and the QR secret (as the desktop derives it). */
static void
derive_psk(void)
{
	const uint8_t *d;
	size_t len;
	uint16_t uuid;
	uint8_t secret[CABLE_QR_SECRET_LEN], key[CABLE_EID_KEY_LEN], psk[CABLE_PSK_LEN];
	struct cable_advert ad;

	assert_int_equal(cable_mem_io_advert(R.mio, 0, &uuid, &d, &len), 0);
	mask_into(secret, m_secret, sizeof(secret));
	mask_into(key, m_eid_key, sizeof(key));
	assert_int_equal(cable_advert_open(key, d, len, 0, &ad), 0);
	assert_int_equal(cable_derive_psk(secret, sizeof(secret), ad.plaintext, psk), 0);
	mask_into(m_psk, psk, sizeof(psk));
	cable_wipe(secret, sizeof(secret));
	cable_wipe(key, sizeof(key));
	cable_wipe(psk, sizeof(psk));
	cable_wipe(&ad, sizeof(ad));
}

static void
one_session(uint32_t seed)
{
	static const uint8_t cdh[32] = {9};
	static const uint8_t uid[] = {1, 2, 3};
	const struct cable_loop *loop;
	uint64_t end;

	memset(&R, 0, sizeof(R));
	assert_non_null(R.lp = cable_loop_poll_new());
	assert_non_null(R.mio = cable_mem_io_new(cable_loop_poll_loop(R.lp)));
	R.io = cable_mem_io_get(R.mio);
	loop = R.io->loop;
	tv_env_init(&R.penv, seed);
	tv_env_init(&R.denv, seed + 1000);
	assert_int_equal(cable_cred_store_new(&R.penv.env, &R.store), 0);
	R.pcfg.env = &R.penv.env;
	R.pcfg.store = R.store;
	R.pcfg.event = on_pevent;
	R.pcfg.linger_ms = 100;
	R.icfg.env = &R.denv.env;
	R.icfg.timeout_ms = 5000;
	R.icfg.event = on_ievent;
	assert_int_equal(desk_build_mc("example.com", cdh, uid, sizeof(uid), "bob", true, &R.req, &R.req_len), 0);
	R.icfg.request = R.req;
	R.icfg.request_len = R.req_len;
	assert_int_equal(cable_initiator_new(R.io, &R.icfg, &R.in), 0);
	assert_int_equal(cable_initiator_start(R.in), 0);
	assert_int_equal(cable_phone_session_new(R.io, &R.pcfg, &R.ps), 0);
	assert_int_equal(cable_phone_session_start(R.ps, R.url), 0);
	cable_wipe(R.url, sizeof(R.url)); /* the test's own copy of the QR URL */
	end = loop->ops->now_usec(R.io->loop) + 15 * 1000000u;
	while (!(R.done && R.phone_done) && loop->ops->now_usec(R.io->loop) < end)
		assert_int_equal(cable_loop_poll_once(R.lp, 100000), 0);
	assert_true(R.ok);
	assert_true(R.phone_done);
	for (int i = 0; i < 50 && cable_mem_io_pending(R.mio) != 0; i++)
		assert_int_equal(cable_loop_poll_once(R.lp, 10000), 0);
	derive_psk();
	cable_phone_session_free(&R.ps);
	cable_initiator_free(&R.in);
	cable_mem_io_free(&R.mio);
	cable_loop_poll_free(&R.lp);
	free(R.req);
	cable_cred_store_free(&R.store);
}

static void
test_no_secret_left_after_session(void **state)
{
	size_t hits;

	(void)state;
	if (!SCAN_POSSIBLE || RUNNING_ON_VALGRIND) {
		one_session(500); /* the session still runs; only the scan is skipped */
		skip();
	}
	one_session(500);
	hits = scan_for(m_secret, sizeof(m_secret), "QR secret") +
	       scan_for(m_eid_key, sizeof(m_eid_key), "EID key") +
	       scan_for(m_psk, sizeof(m_psk), "PSK");
	assert_int_equal(hits, 0);
}

/* The scan is able to fail: a secret freed without a wipe is found, a wiped one is not. */
static void
test_scan_finds_unwiped_secret(void **state)
{
	uint8_t *p;

	(void)state;
	if (!SCAN_POSSIBLE || RUNNING_ON_VALGRIND)
		skip();
	assert_non_null(p = malloc(256));
	memset(p, 0, 256);
	mask_into(p + 64, m_psk, sizeof(m_psk));
	assert_true(scan_for(m_psk, sizeof(m_psk), "planted PSK") >= 1);
	cable_wipe(p, 256);
	free(p);
	assert_int_equal(scan_for(m_psk, sizeof(m_psk), "wiped PSK"), 0);
}

static int
setup(void **state)
{
	(void)state;
	scan_buf = mmap(NULL, SCAN_BUF, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return scan_buf == MAP_FAILED ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	munmap(scan_buf, SCAN_BUF);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_secret_left_after_session),
		cmocka_unit_test(test_scan_finds_unwiped_secret),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

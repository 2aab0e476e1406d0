/*
 * Protocol abuse (docs/SECURITY.md): a hostile tunnel server, a hostile phone and a replaying
 * radio against the real initiator and phone sessions over the in-memory I/O. Every case must
 * fail closed with its own error (never DONE with an answer), leave nothing behind, and the next
 * session in the same process must work.
 */
#include <stdlib.h>
#include <string.h>

#include "cable/cred-store.h"
#include "cable/error.h"
#include "cable/initiator.h"
#include "cable/phone-session.h"
#include "desk.h"
#include "loop-poll.h"
#include "mem-io.h"
#include "tv.h"

#define RP "example.com"

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
	struct cable_initiator_event final;
	bool done, phone_done, no_phone;
	char url[4096];
	uint64_t t_done;
};

static struct run R;

static void
on_ievent(void *arg, const struct cable_initiator_event *ev)
{
	(void)arg;
	if (ev->type == CABLE_INITIATOR_EV_QR) {
		assert_true(strlen(ev->url) < sizeof(R.url));
		memcpy(R.url, ev->url, strlen(ev->url) + 1);
	}
	if (ev->type == CABLE_INITIATOR_EV_DONE || ev->type == CABLE_INITIATOR_EV_FAILED ||
	    ev->type == CABLE_INITIATOR_EV_CANCELLED) {
		R.final = *ev;
		R.done = true;
	}
}

static void
on_pevent(void *arg, const struct cable_phone_event *ev)
{
	(void)arg;
	if (ev->type == CABLE_PHONE_EV_CLOSED)
		R.phone_done = true;
}

static void
run_init(uint32_t seed)
{
	static const uint8_t cdh[32] = {7};
	static const uint8_t uid[] = {0x75, 0x69, 0x64};

	memset(&R, 0, sizeof(R));
	assert_non_null(R.lp = cable_loop_poll_new());
	assert_non_null(R.mio = cable_mem_io_new(cable_loop_poll_loop(R.lp)));
	R.io = cable_mem_io_get(R.mio);
	tv_env_init(&R.penv, seed);
	tv_env_init(&R.denv, seed + 1000);
	assert_int_equal(cable_cred_store_new(&R.penv.env, &R.store), 0);
	R.pcfg.env = &R.penv.env;
	R.pcfg.store = R.store;
	R.pcfg.event = on_pevent;
	R.pcfg.linger_ms = 300;
	R.icfg.env = &R.denv.env;
	R.icfg.timeout_ms = 3000;
	R.icfg.scan_timeout_ms = 800;
	R.icfg.event = on_ievent;
	assert_int_equal(desk_build_mc(RP, cdh, uid, sizeof(uid), "alice", true, &R.req, &R.req_len), 0);
	R.icfg.request = R.req;
	R.icfg.request_len = R.req_len;
}

static void
run(void)
{
	uint64_t end;
	const struct cable_loop *loop = R.io->loop;

	assert_int_equal(cable_initiator_new(R.io, &R.icfg, &R.in), 0);
	assert_int_equal(cable_initiator_start(R.in), 0);
	if (!R.no_phone) {
		assert_int_equal(cable_phone_session_new(R.io, &R.pcfg, &R.ps), 0);
		assert_int_equal(cable_phone_session_start(R.ps, R.url), 0);
	}
	end = loop->ops->now_usec(R.io->loop) + 15 * 1000000u;
	while (!(R.done && (R.no_phone || R.phone_done)) && loop->ops->now_usec(R.io->loop) < end) {
		assert_int_equal(cable_loop_poll_once(R.lp, 100000), 0);
		/* A phone the desktop gave up on would advertise for its own 120 s: stop it. */
		if (R.done && !R.phone_done && R.ps != NULL) {
			if (R.t_done == 0)
				R.t_done = loop->ops->now_usec(R.io->loop);
			else if (loop->ops->now_usec(R.io->loop) - R.t_done > 1000000u)
				cable_phone_session_cancel(R.ps);
		}
	}
	assert_true(R.done);
	assert_true(R.no_phone || R.phone_done);
	/* The QR secret is gone with the session, whatever the outcome. */
	assert_null(cable_initiator_url(R.in));
	for (int i = 0; i < 50 && cable_mem_io_pending(R.mio) != 0; i++)
		assert_int_equal(cable_loop_poll_once(R.lp, 10000), 0);
}

static void
run_end(void)
{
	cable_phone_session_free(&R.ps);
	cable_initiator_free(&R.in);
	assert_int_equal(cable_mem_io_tunnels_alive(R.mio), 0);
	assert_int_equal(cable_mem_io_adverts_active(R.mio), 0);
	assert_int_equal(cable_mem_io_scanners_active(R.mio), 0);
	cable_mem_io_free(&R.mio);
	cable_loop_poll_free(&R.lp);
	free(R.req);
	cable_cred_store_free(&R.store);
}

/* Fails closed: FAILED with err (and stage, unless stage < 0), no response handed out. */
static void
expect_failed(int err, int stage)
{
	const uint8_t *resp;
	size_t len;

	if (R.final.type != CABLE_INITIATOR_EV_FAILED || R.final.error != err ||
	    (stage >= 0 && (int)R.final.stage != stage))
		fail_msg("wanted FAILED %s in %s, got event %d %s in %s", cable_errname(err),
		    stage >= 0 ? cable_initiator_stage_name((enum cable_initiator_stage)stage) : "any",
		    R.final.type, cable_errname(R.final.error), cable_initiator_stage_name(R.final.stage));
	assert_int_not_equal(cable_initiator_response(R.in, &resp, &len), 0);
}

/* The next session, in the same process, works. */
static void
next_session_works(uint32_t seed)
{
	const uint8_t *resp;
	size_t len;
	struct desk_cred cred;

	run_init(seed);
	run();
	assert_int_equal(R.final.type, CABLE_INITIATOR_EV_DONE);
	assert_int_equal(cable_initiator_response(R.in, &resp, &len), 0);
	assert_int_equal(desk_check_mc(resp, len, RP, &cred), 0);
	run_end();
}

/* A tunnel server fault on the index-th message towards dir. */
static void
server_fault(uint32_t seed, enum cable_mem_dir dir, unsigned index, enum cable_mem_fault_kind kind,
    uint64_t param)
{
	run_init(seed);
	assert_int_equal(cable_mem_io_fault(R.mio, dir, index, kind, param), 0);
	run();
}

static void
test_server_tampers(void **state)
{
	(void)state;
	/* Handshake response, post-handshake message, CTAP response: flipped bits anywhere fail the
	 * AEAD or the handshake MAC. */
	for (unsigned idx = 0; idx < 3; idx++) {
		for (uint64_t off = 0; off < 96; off += 37) {
			server_fault(100 + idx * 10 + (uint32_t)off, CABLE_MEM_TO_DESKTOP, idx, CABLE_MEM_CORRUPT, off);
			/* The handshake response starts with the phone's 65-byte ephemeral point. */
			expect_failed(idx == 0 && off < 65 ? CABLE_ERR_POINT : CABLE_ERR_AUTH, -1);
			run_end();
		}
	}
	/* The desktop's request tampered on its way: the phone refuses it and never answers. */
	server_fault(140, CABLE_MEM_TO_PHONE, 1, CABLE_MEM_CORRUPT, 20);
	assert_int_equal(R.final.type, CABLE_INITIATOR_EV_FAILED);
	run_end();
	next_session_works(141);
}

static void
test_server_truncates_and_injects(void **state)
{
	(void)state;
	/* A shortened CTAP response fails authentication (the tag is cut or moved). */
	server_fault(150, CABLE_MEM_TO_DESKTOP, 2, CABLE_MEM_TRUNCATE, 20);
	expect_failed(CABLE_ERR_AUTH, CABLE_INITIATOR_STAGE_RESPONSE);
	run_end();
	/* A replayed (re-injected) post-handshake frame: wrong counter, fails the AEAD. */
	server_fault(151, CABLE_MEM_TO_DESKTOP, 1, CABLE_MEM_DUPLICATE, 0);
	expect_failed(CABLE_ERR_AUTH, -1);
	run_end();
	/* A replayed handshake response after the handshake. */
	server_fault(152, CABLE_MEM_TO_DESKTOP, 0, CABLE_MEM_DUPLICATE, 0);
	expect_failed(CABLE_ERR_AUTH, -1);
	run_end();
	next_session_works(153);
}

static void
test_server_drops_and_delays(void **state)
{
	(void)state;
	/* A frame goes missing: the next one has the wrong counter and fails the AEAD. */
	server_fault(160, CABLE_MEM_TO_DESKTOP, 2, CABLE_MEM_DROP, 0);
	expect_failed(CABLE_ERR_AUTH, CABLE_INITIATOR_STAGE_RESPONSE);
	run_end();
	/* The handshake response goes missing: the next frame is taken for it and has the wrong size. */
	server_fault(161, CABLE_MEM_TO_DESKTOP, 0, CABLE_MEM_DROP, 0);
	expect_failed(CABLE_ERR_HANDSHAKE_LENGTH, CABLE_INITIATOR_STAGE_CONNECT);
	run_end();
	/* Everything from the phone goes missing: the desktop's timeout ends it, no hang. */
	run_init(165);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(cable_mem_io_fault(R.mio, CABLE_MEM_TO_DESKTOP, i, CABLE_MEM_DROP, 0), 0);
	run();
	expect_failed(CABLE_ERR_TIMEOUT, CABLE_INITIATOR_STAGE_CONNECT);
	run_end();
	/* The server cuts the tunnel mid-session. */
	server_fault(162, CABLE_MEM_TO_DESKTOP, 2, CABLE_MEM_CLOSE, 0);
	expect_failed(CABLE_ERR_TUNNEL_CLOSED, CABLE_INITIATOR_STAGE_RESPONSE);
	run_end();
	/* A slow but honest server (each message held 300 ms): the session still works. */
	server_fault(163, CABLE_MEM_TO_DESKTOP, 2, CABLE_MEM_DELAY, 300000);
	assert_int_equal(R.final.type, CABLE_INITIATOR_EV_DONE);
	run_end();
	next_session_works(164);
}

static void
test_hostile_phone(void **state)
{
	(void)state;
	run_init(170);
	R.pcfg.misbehave = CABLE_PHONE_WRONG_PSK;
	run();
	expect_failed(CABLE_ERR_AUTH, CABLE_INITIATOR_STAGE_CONNECT);
	run_end();
	run_init(171);
	R.pcfg.misbehave = CABLE_PHONE_BAD_ADVERT_TAG;
	run();
	/* An advert whose tag does not verify is not ours: ignored until the scan times out. */
	expect_failed(CABLE_ERR_TIMEOUT, CABLE_INITIATOR_STAGE_SCAN);
	run_end();
	run_init(172);
	R.pcfg.misbehave = CABLE_PHONE_GARBAGE;
	run();
	expect_failed(CABLE_ERR_AUTH, CABLE_INITIATOR_STAGE_POST_HANDSHAKE);
	run_end();
	next_session_works(173);
}

static void
adv_error(void *arg, int code)
{
	(void)arg;
	fail_msg("advertising failed: %s", cable_errname(code));
}

/* A nearby radio replays the advert of an earlier session: the new QR's key does not open it. */
static void
test_replayed_advert(void **state)
{
	static const struct cable_ble_adv_cbs acbs = {NULL, adv_error};
	uint8_t old[32];
	size_t old_len;
	uint16_t uuid;
	const uint8_t *d;
	void *h = NULL;

	(void)state;
	run_init(180);
	run();
	assert_int_equal(R.final.type, CABLE_INITIATOR_EV_DONE);
	assert_true(cable_mem_io_advert_count(R.mio) >= 1);
	assert_int_equal(cable_mem_io_advert(R.mio, 0, &uuid, &d, &old_len), 0);
	assert_true(old_len <= sizeof(old));
	memcpy(old, d, old_len);
	run_end();

	run_init(181);
	R.no_phone = true;
	R.icfg.scan_timeout_ms = 500;
	assert_int_equal(R.io->ble->advertise_start(R.io->ble->ctx, uuid, old, old_len, &acbs, NULL, &h), 0);
	run();
	expect_failed(CABLE_ERR_TIMEOUT, CABLE_INITIATOR_STAGE_SCAN);
	R.io->ble->advertise_stop(R.io->ble->ctx, &h);
	run_end();
	next_session_works(182);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_tampers),
		cmocka_unit_test(test_server_truncates_and_injects),
		cmocka_unit_test(test_server_drops_and_delays),
		cmocka_unit_test(test_hostile_phone),
		cmocka_unit_test(test_replayed_advert),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The initiator session (src/session/initiator.c) against the phone's authenticator session over
 * the in-memory tunnel server and radio: whole makeCredential and getAssertion sessions (answers
 * checked, signature verified), every phone misbehaviour, tunnel, radio and transport faults with
 * the error and stage each must give, every stage timeout, cancel, and nothing left behind.
 */
#include <stdlib.h>
#include <string.h>

#include "cable/advert.h"
#include "cable/cred-store.h"
#include "cable/crypter.h"
#include "cable/noise.h"
#include "cable/p256.h"
#include "cable/qr.h"
#include "cable/error.h"
#include "cable/initiator.h"
#include "cable/messages.h"
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
	/* What the initiator reported. */
	enum cable_initiator_event_type evs[16];
	unsigned nev;
	struct cable_initiator_event final;
	bool done;
	bool response_event;
	uint16_t found_uuid, found_domain;
	int waiting_revision;
	char url[4096];
	/* What the phone reported. */
	bool phone_done, phone_saw_shutdown;
	struct cable_phone_event phone_closed;
	/* Actions. */
	enum cable_initiator_event_type cancel_on;
	bool no_phone;
	bool cancel_via_phone_request;
	bool phone_must_finish; /* the phone must end on its own (the desktop reached it) */
	uint64_t t_done;
};

static struct run R;

static uint64_t
now_usec(void)
{
	return R.io->loop->ops->now_usec(R.io->loop);
}

static void
on_ievent(void *arg, const struct cable_initiator_event *ev)
{
	(void)arg;
	assert_false(R.done); /* the final event is the last one */
	if (R.nev < 16)
		R.evs[R.nev++] = ev->type;
	switch (ev->type) {
	case CABLE_INITIATOR_EV_QR:
		assert_non_null(ev->url);
		assert_true(strlen(ev->url) < sizeof(R.url));
		strcpy(R.url, ev->url);
		break;
	case CABLE_INITIATOR_EV_PHONE_FOUND:
		R.found_uuid = ev->uuid16;
		R.found_domain = ev->domain_id;
		break;
	case CABLE_INITIATOR_EV_WAITING:
		R.waiting_revision = ev->revision;
		break;
	case CABLE_INITIATOR_EV_RESPONSE:
		R.response_event = true;
		assert_non_null(ev->response);
		break;
	case CABLE_INITIATOR_EV_DONE:
	case CABLE_INITIATOR_EV_FAILED:
	case CABLE_INITIATOR_EV_CANCELLED:
		R.final = *ev;
		R.done = true;
		break;
	default:
		break;
	}
	if (R.cancel_on != 0 && ev->type == R.cancel_on)
		cable_initiator_cancel(R.in);
}

static void
on_pevent(void *arg, const struct cable_phone_event *ev)
{
	(void)arg;
	if (ev->type == CABLE_PHONE_EV_SHUTDOWN)
		R.phone_saw_shutdown = true;
	if (ev->type == CABLE_PHONE_EV_REQUEST && R.cancel_via_phone_request)
		cable_initiator_cancel(R.in);
	if (ev->type == CABLE_PHONE_EV_CLOSED) {
		R.phone_closed = *ev;
		R.phone_done = true;
	}
}

static void
run_init(uint32_t seed)
{
	memset(&R, 0, sizeof(R));
	R.lp = cable_loop_poll_new();
	assert_non_null(R.lp);
	R.mio = cable_mem_io_new(cable_loop_poll_loop(R.lp));
	assert_non_null(R.mio);
	R.io = cable_mem_io_get(R.mio);
	tv_env_init(&R.penv, seed);
	tv_env_init(&R.denv, seed + 1000);
	assert_int_equal(cable_cred_store_new(&R.penv.env, &R.store), 0);
	R.pcfg.env = &R.penv.env;
	R.pcfg.store = R.store;
	R.pcfg.event = on_pevent;
	R.pcfg.linger_ms = 300;
	R.icfg.env = &R.denv.env;
	R.icfg.timeout_ms = 5000;
	R.icfg.event = on_ievent;
	R.waiting_revision = -2;
}

static void
set_request(uint8_t *req, size_t len)
{
	free(R.req);
	R.req = req;
	R.req_len = len;
	R.icfg.request = req;
	R.icfg.request_len = len;
}

static void
use_mc(void)
{
	static const uint8_t cdh[32] = {1, 2, 3};
	static const uint8_t uid[] = {0x75, 0x69, 0x64};
	uint8_t *req;
	size_t len;

	assert_int_equal(desk_build_mc(RP, cdh, uid, sizeof(uid), "alice", true, &req, &len), 0);
	set_request(req, len);
}

static void
use_ga(const uint8_t cdh[32], const struct desk_cred *cred)
{
	uint8_t *req;
	size_t len;

	assert_int_equal(desk_build_ga(RP, cdh, cred ? cred->id : NULL, cred ? cred->id_len : 0, &req, &len), 0);
	set_request(req, len);
}

/* Frees both sessions and checks that nothing was left behind. */
static void
run_end(bool keep_store)
{
	cable_phone_session_free(&R.ps);
	cable_initiator_free(&R.in);
	assert_null(R.in);
	assert_int_equal(cable_mem_io_tunnels_alive(R.mio), 0);
	assert_int_equal(cable_mem_io_adverts_active(R.mio), 0);
	assert_int_equal(cable_mem_io_scanners_active(R.mio), 0);
	cable_mem_io_free(&R.mio);
	cable_loop_poll_free(&R.lp);
	free(R.req);
	if (!keep_store)
		cable_cred_store_free(&R.store);
}

/* Starts the initiator, then the phone with its URL, and runs until both are done. */
static void
run(void)
{
	uint64_t end;

	assert_int_equal(cable_initiator_new(R.io, &R.icfg, &R.in), 0);
	assert_int_equal(cable_initiator_stage(R.in), CABLE_INITIATOR_STAGE_IDLE);
	assert_int_equal(cable_initiator_start(R.in), 0);
	assert_int_equal(R.nev, 1);
	assert_int_equal(R.evs[0], CABLE_INITIATOR_EV_QR);
	if (R.cancel_on != CABLE_INITIATOR_EV_QR) {
		assert_string_equal(cable_initiator_url(R.in), R.url);
		assert_int_equal(cable_mem_io_scanners_active(R.mio), 1);
	} else {
		/* Cancelled from inside the QR event: already stopped and wiped. */
		assert_null(cable_initiator_url(R.in));
		assert_int_equal(cable_mem_io_scanners_active(R.mio), 0);
	}
	if (!R.no_phone) {
		assert_int_equal(cable_phone_session_new(R.io, &R.pcfg, &R.ps), 0);
		assert_int_equal(cable_phone_session_start(R.ps, R.url), 0);
	}
	end = now_usec() + 15 * 1000000u;
	while (!(R.done && (R.no_phone || R.phone_done)) && now_usec() < end) {
		assert_int_equal(cable_loop_poll_once(R.lp, 100000), 0);
		/*
		 * A phone the desktop never reached (failures before the connect) keeps advertising
		 * for its own 120 s: once the desktop is done, give it a moment, then stop it.
		 */
		if (R.done && !R.phone_done && R.ps != NULL && !R.phone_must_finish) {
			if (R.t_done == 0)
				R.t_done = now_usec();
			else if (now_usec() - R.t_done > 1000000u)
				cable_phone_session_cancel(R.ps);
		}
	}
	if (!R.done || (!R.no_phone && !R.phone_done))
		fail_msg("not finished: initiator %s (done %d), phone %s (done %d)",
		    cable_initiator_stage_name(cable_initiator_stage(R.in)), R.done,
		    R.ps ? cable_phone_stage_name(cable_phone_session_stage(R.ps)) : "-", R.phone_done);
	assert_int_equal(cable_initiator_stage(R.in), CABLE_INITIATOR_STAGE_DONE);
	/* The QR secret is gone once the session ended. */
	assert_null(cable_initiator_url(R.in));
	/* Settle whatever the I/O still holds (closes in flight) before the leak checks. */
	for (int i = 0; i < 50 && cable_mem_io_pending(R.mio) != 0; i++)
		assert_int_equal(cable_loop_poll_once(R.lp, 10000), 0);
}

static bool
saw(enum cable_initiator_event_type t)
{
	for (unsigned i = 0; i < R.nev; i++)
		if (R.evs[i] == t)
			return true;
	return false;
}

static void
expect_failed(int err, enum cable_initiator_stage stage)
{
	if (R.final.type != CABLE_INITIATOR_EV_FAILED || R.final.error != err || R.final.stage != stage)
		fail_msg("wanted FAILED %s in %s, got event %d %s in %s", cable_errname(err),
		    cable_initiator_stage_name(stage), R.final.type, cable_errname(R.final.error),
		    cable_initiator_stage_name(R.final.stage));
}

static void
test_make_credential_then_get_assertion(void **state)
{
	static const uint8_t cdh[32] = {1, 2, 3};
	struct cable_cred_store *store;
	struct desk_cred cred;
	const uint8_t *resp, *gi, *m;
	size_t resp_len, gi_len, mlen;

	(void)state;
	run_init(1);
	R.pcfg.domain_id = 266; /* a hashed domain: the initiator must connect to the advert's domain */
	use_mc();
	R.phone_must_finish = true;
	run();
	assert_int_equal(R.final.type, CABLE_INITIATOR_EV_DONE);
	assert_int_equal(R.final.error, 0);
	assert_int_equal(R.nev, 6);
	assert_int_equal(R.evs[1], CABLE_INITIATOR_EV_PHONE_FOUND);
	assert_int_equal(R.evs[2], CABLE_INITIATOR_EV_CONNECTED);
	assert_int_equal(R.evs[3], CABLE_INITIATOR_EV_WAITING);
	assert_int_equal(R.evs[4], CABLE_INITIATOR_EV_RESPONSE);
	assert_int_equal(R.evs[5], CABLE_INITIATOR_EV_DONE);
	assert_int_equal(R.found_uuid, 0xfff9);
	assert_int_equal(R.found_domain, 266);
	assert_int_equal(cable_mem_io_last_domain(R.mio, true), 266);
	assert_int_equal(R.waiting_revision, 1);
	assert_int_equal(cable_initiator_revision(R.in), 1);
	assert_int_equal(cable_initiator_updates(R.in), 1);
	assert_null(cable_initiator_linking(R.in)); /* the phone sends none */
	assert_int_equal(cable_initiator_after_error(R.in), 0);
	assert_int_equal(cable_initiator_getinfo(R.in, &gi, &gi_len), 0);
	assert_true(gi_len > 10 && (gi[0] & 0xe0) == 0xa0); /* a CBOR map */
	assert_int_equal(cable_initiator_response(R.in, &resp, &resp_len), 0);
	assert_int_equal(desk_check_mc(resp, resp_len, RP, &cred), 0);
	/* The phone answered, got our shutdown and closed cleanly. */
	assert_int_equal(R.phone_closed.error, 0);
	assert_true(R.phone_closed.answered);
	assert_true(R.phone_saw_shutdown);
	/* The request went out framed and encrypted; the shutdown is one padded block. */
	assert_int_equal(cable_mem_io_count(R.mio, CABLE_MEM_TO_PHONE), 3);
	assert_int_equal(cable_mem_io_message(R.mio, CABLE_MEM_TO_PHONE, 0, &m, &mlen), 0);
	assert_int_equal(mlen, 81);
	assert_int_equal(cable_mem_io_message(R.mio, CABLE_MEM_TO_PHONE, 1, &m, &mlen), 0);
	assert_int_equal(mlen, cable_crypter_padded_len(R.req_len + 1) + 16);
	assert_int_equal(cable_mem_io_message(R.mio, CABLE_MEM_TO_PHONE, 2, &m, &mlen), 0);
	assert_int_equal(mlen, 48);
	assert_int_equal(cable_mem_io_drops(R.mio), 0);
	store = R.store;
	run_end(true);

	/* getAssertion with that passkey in the next session; the signature verifies. */
	run_init(2);
	cable_cred_store_free(&R.store);
	R.store = R.pcfg.store = store;
	use_ga(cdh, &cred);
	run();
	assert_int_equal(R.final.type, CABLE_INITIATOR_EV_DONE);
	assert_int_equal(cable_initiator_response(R.in, &resp, &resp_len), 0);
	assert_int_equal(desk_check_ga(resp, resp_len, RP, cdh, &cred), 0);
	run_end(false);
}

static void
adv_error(void *arg, int code)
{
	(void)arg;
	fail_msg("advertising failed: %s", cable_errname(code));
}

/* Other phones' adverts and malformed service data are ignored; ours under fde2 matches too. */
static void
test_foreign_adverts(void **state)
{
	static const struct cable_ble_adv_cbs acbs = {NULL, adv_error};
	uint8_t junk[20], shortv[19];
	void *a1 = NULL, *a2 = NULL;

	(void)state;
	run_init(3);
	use_mc();
	memset(junk, 0x5a, sizeof(junk));
	memset(shortv, 0x11, sizeof(shortv));
	assert_int_equal(R.io->ble->advertise_start(R.io->ble->ctx, 0xfff9, junk, sizeof(junk), &acbs, NULL, &a1), 0);
	assert_int_equal(R.io->ble->advertise_start(R.io->ble->ctx, 0xfde2, shortv, sizeof(shortv), &acbs, NULL, &a2), 0);
	run();
	assert_int_equal(R.final.type, CABLE_INITIATOR_EV_DONE);
	R.io->ble->advertise_stop(R.io->ble->ctx, &a1);
	R.io->ble->advertise_stop(R.io->ble->ctx, &a2);
	run_end(false);

	/* Only foreign adverts: nothing matches, the scan times out (and stops). */
	run_init(4);
	use_mc();
	R.no_phone = true;
	R.icfg.scan_timeout_ms = 300;
	assert_int_equal(R.io->ble->advertise_start(R.io->ble->ctx, 0xfff9, junk, sizeof(junk), &acbs, NULL, &a1), 0);
	run();
	expect_failed(CABLE_ERR_TIMEOUT, CABLE_INITIATOR_STAGE_SCAN);
	assert_int_equal(R.nev, 2);
	R.io->ble->advertise_stop(R.io->ble->ctx, &a1);
	run_end(false);
}

static void
misbehave(enum cable_phone_misbehave m, uint32_t seed)
{
	run_init(seed);
	use_mc();
	R.pcfg.misbehave = m;
	R.icfg.scan_timeout_ms = 500;
	run();
}

static void
test_misbehaviour(void **state)
{
	const uint8_t *resp;
	size_t resp_len;
	struct desk_cred cred;

	(void)state;
	misbehave(CABLE_PHONE_WRONG_PSK, 10);
	expect_failed(CABLE_ERR_AUTH, CABLE_INITIATOR_STAGE_CONNECT);
	assert_false(saw(CABLE_INITIATOR_EV_CONNECTED));
	run_end(false);

	misbehave(CABLE_PHONE_BAD_ADVERT_TAG, 11);
	expect_failed(CABLE_ERR_TIMEOUT, CABLE_INITIATOR_STAGE_SCAN);
	assert_false(saw(CABLE_INITIATOR_EV_PHONE_FOUND));
	run_end(false);

	misbehave(CABLE_PHONE_TRUNCATED_HANDSHAKE, 12);
	expect_failed(CABLE_ERR_HANDSHAKE_LENGTH, CABLE_INITIATOR_STAGE_CONNECT);
	run_end(false);

	/* Revision 0: detected, raw CTAP, a valid answer, and we close instead of sending shutdown. */
	misbehave(CABLE_PHONE_REVISION_0, 13);
	assert_int_equal(R.final.type, CABLE_INITIATOR_EV_DONE);
	assert_int_equal(R.waiting_revision, 0);
	assert_int_equal(cable_initiator_response(R.in, &resp, &resp_len), 0);
	assert_int_equal(desk_check_mc(resp, resp_len, RP, &cred), 0);
	assert_false(R.phone_saw_shutdown);
	assert_int_equal(cable_mem_io_count(R.mio, CABLE_MEM_TO_PHONE), 2); /* handshake, raw request */
	run_end(false);

	misbehave(CABLE_PHONE_GARBAGE, 14);
	expect_failed(CABLE_ERR_AUTH, CABLE_INITIATOR_STAGE_POST_HANDSHAKE);
	assert_true(saw(CABLE_INITIATOR_EV_CONNECTED));
	run_end(false);

	misbehave(CABLE_PHONE_SHUTDOWN, 15);
	expect_failed(CABLE_ERR_PEER_SHUTDOWN, CABLE_INITIATOR_STAGE_RESPONSE);
	assert_false(R.response_event);
	run_end(false);

	/* The answer arrives intact; the phone's shutdown afterwards is noted, not an error. */
	misbehave(CABLE_PHONE_SHUTDOWN_AFTER, 16);
	assert_int_equal(R.final.type, CABLE_INITIATOR_EV_DONE);
	assert_int_equal(cable_initiator_after_error(R.in), CABLE_ERR_PEER_SHUTDOWN);
	assert_int_equal(cable_initiator_response(R.in, &resp, &resp_len), 0);
	assert_int_equal(desk_check_mc(resp, resp_len, RP, &cred), 0);
	run_end(false);

	misbehave(CABLE_PHONE_OUT_OF_ORDER, 17);
	expect_failed(CABLE_ERR_AUTH, CABLE_INITIATOR_STAGE_POST_HANDSHAKE);
	run_end(false);

	misbehave(CABLE_PHONE_DROP_TUNNEL, 18);
	expect_failed(CABLE_ERR_TUNNEL_CLOSED, CABLE_INITIATOR_STAGE_RESPONSE);
	run_end(false);

	misbehave(CABLE_PHONE_NO_UPDATE, 19);
	assert_int_equal(R.final.type, CABLE_INITIATOR_EV_DONE);
	assert_int_equal(cable_initiator_updates(R.in), 0);
	run_end(false);

	misbehave(CABLE_PHONE_BAD_UPDATE, 20);
	expect_failed(CABLE_ERR_UPDATE, CABLE_INITIATOR_STAGE_RESPONSE);
	run_end(false);
}

/* Faults made by the in-memory server and radio. */
static void
test_io_faults(void **state)
{
	(void)state;
	/* The radio refuses to scan: start fails, no event, nothing running. */
	run_init(30);
	use_mc();
	cable_mem_io_fail_scan(R.mio, CABLE_ERR_BT_NOT_POWERED);
	assert_int_equal(cable_initiator_new(R.io, &R.icfg, &R.in), 0);
	assert_int_equal(cable_initiator_start(R.in), CABLE_ERR_BT_NOT_POWERED);
	assert_int_equal(R.nev, 0);
	assert_null(cable_initiator_url(R.in));
	run_end(false);

	/* The server refuses our connect. */
	run_init(31);
	use_mc();
	cable_mem_io_fail_open_connect(R.mio, CABLE_ERR_TUNNEL_HTTP);
	run();
	expect_failed(CABLE_ERR_TUNNEL_HTTP, CABLE_INITIATOR_STAGE_CONNECT);
	run_end(false);

	/* The handshake response altered in transit. */
	run_init(32);
	use_mc();
	assert_int_equal(cable_mem_io_fault(R.mio, CABLE_MEM_TO_DESKTOP, 0, CABLE_MEM_CORRUPT, 70), 0);
	run();
	expect_failed(CABLE_ERR_AUTH, CABLE_INITIATOR_STAGE_CONNECT);
	run_end(false);

	/* The post-handshake message altered: the AEAD catches it. */
	run_init(33);
	use_mc();
	assert_int_equal(cable_mem_io_fault(R.mio, CABLE_MEM_TO_DESKTOP, 1, CABLE_MEM_CORRUPT, 5), 0);
	run();
	expect_failed(CABLE_ERR_AUTH, CABLE_INITIATOR_STAGE_POST_HANDSHAKE);
	run_end(false);

	/* The answer duplicated (a replay): the second copy fails the AEAD after the answer, harmlessly. */
	run_init(34);
	use_mc();
	assert_int_equal(cable_mem_io_fault(R.mio, CABLE_MEM_TO_DESKTOP, 3, CABLE_MEM_DUPLICATE, 0), 0);
	run();
	assert_int_equal(R.final.type, CABLE_INITIATOR_EV_DONE);
	assert_int_equal(cable_initiator_after_error(R.in), CABLE_ERR_AUTH);
	run_end(false);

	/* The server closes both sides instead of relaying our request. */
	run_init(35);
	use_mc();
	assert_int_equal(cable_mem_io_fault(R.mio, CABLE_MEM_TO_PHONE, 1, CABLE_MEM_CLOSE, 0), 0);
	run();
	expect_failed(CABLE_ERR_TUNNEL_CLOSED, CABLE_INITIATOR_STAGE_RESPONSE);
	run_end(false);
}

/* Every stage's timer, and the whole-session bound over them. */
static void
test_timeouts(void **state)
{
	uint64_t t0;

	(void)state;
	/* The handshake response is held past the connect timeout. */
	run_init(40);
	use_mc();
	R.icfg.connect_timeout_ms = 200;
	assert_int_equal(cable_mem_io_fault(R.mio, CABLE_MEM_TO_DESKTOP, 0, CABLE_MEM_DELAY, 2000000), 0);
	run();
	expect_failed(CABLE_ERR_TIMEOUT, CABLE_INITIATOR_STAGE_CONNECT);
	run_end(false);

	/* The post-handshake message never comes. */
	run_init(41);
	use_mc();
	R.icfg.post_handshake_timeout_ms = 200;
	assert_int_equal(cable_mem_io_fault(R.mio, CABLE_MEM_TO_DESKTOP, 1, CABLE_MEM_DELAY, 3000000), 0);
	run();
	expect_failed(CABLE_ERR_TIMEOUT, CABLE_INITIATOR_STAGE_POST_HANDSHAKE);
	run_end(false);

	/* The person does not confirm within the response timeout. */
	run_init(42);
	use_mc();
	R.pcfg.ask_user = true; /* nobody ever confirms */
	R.icfg.response_timeout_ms = 300;
	t0 = 0;
	run();
	expect_failed(CABLE_ERR_TIMEOUT, CABLE_INITIATOR_STAGE_RESPONSE);
	assert_true(saw(CABLE_INITIATOR_EV_WAITING));
	run_end(false);

	/* The whole-session bound wins over a longer stage timeout. */
	run_init(43);
	use_mc();
	R.pcfg.ask_user = true;
	R.icfg.timeout_ms = 400;
	R.icfg.response_timeout_ms = 60000;
	run();
	expect_failed(CABLE_ERR_TIMEOUT, CABLE_INITIATOR_STAGE_RESPONSE);
	run_end(false);

	/* No phone at all: the scan stage ends at the session timeout. */
	run_init(44);
	use_mc();
	R.no_phone = true;
	R.icfg.timeout_ms = 250;
	t0 = now_usec();
	run();
	expect_failed(CABLE_ERR_TIMEOUT, CABLE_INITIATOR_STAGE_SCAN);
	assert_true(now_usec() - t0 >= 250000 && now_usec() - t0 < 2000000);
	run_end(false);
}

static void
test_cancel(void **state)
{
	(void)state;
	/* While scanning: the scan stops, CANCELLED follows. */
	run_init(50);
	use_mc();
	R.no_phone = true;
	R.cancel_on = CABLE_INITIATOR_EV_QR;
	run();
	assert_int_equal(R.final.type, CABLE_INITIATOR_EV_CANCELLED);
	assert_int_equal(R.final.error, CABLE_ERR_CANCELLED);
	assert_int_equal(R.final.stage, CABLE_INITIATOR_STAGE_SCAN);
	assert_int_equal(R.nev, 2);
	run_end(false);

	/* While the person decides: a shutdown frame goes to the phone, which stops and closes. */
	run_init(51);
	use_mc();
	R.pcfg.ask_user = true;
	R.cancel_via_phone_request = true;
	run();
	assert_int_equal(R.final.type, CABLE_INITIATOR_EV_CANCELLED);
	assert_int_equal(R.final.stage, CABLE_INITIATOR_STAGE_RESPONSE);
	assert_true(R.phone_saw_shutdown);
	assert_false(R.phone_closed.answered);
	assert_int_equal(cable_mem_io_count(R.mio, CABLE_MEM_TO_PHONE), 3); /* hs, request, shutdown */
	run_end(false);

	/* Right after the phone was found: the tunnel is closed, nothing more is sent. */
	run_init(52);
	use_mc();
	R.cancel_on = CABLE_INITIATOR_EV_PHONE_FOUND;
	run();
	assert_int_equal(R.final.type, CABLE_INITIATOR_EV_CANCELLED);
	assert_int_equal(R.final.stage, CABLE_INITIATOR_STAGE_CONNECT);
	assert_int_equal(cable_mem_io_count(R.mio, CABLE_MEM_TO_PHONE), 0);
	run_end(false);

	/* Cancel after the answer keeps the answer: DONE. */
	run_init(53);
	use_mc();
	R.cancel_on = CABLE_INITIATOR_EV_RESPONSE;
	run();
	assert_int_equal(R.final.type, CABLE_INITIATOR_EV_DONE);
	run_end(false);

	/* Freeing in the middle (no final event) leaves nothing behind either. */
	run_init(54);
	use_mc();
	assert_int_equal(cable_initiator_new(R.io, &R.icfg, &R.in), 0);
	assert_int_equal(cable_initiator_start(R.in), 0);
	cable_initiator_cancel(NULL);
	cable_initiator_free(&R.in);
	cable_initiator_free(&R.in);
	run_end(false);
}

/* ---- A responder driven directly by the core, for what the phone session never sends ---- */

enum resp_mode {
	RESP_LINKING = 1,      /* an update with valid linking info */
	RESP_LINKING_BAD_SIG,  /* linking info whose signature is wrong */
	RESP_NO_CTAP,          /* post-handshake offering only "dc" */
	RESP_SUFFIX,           /* a 22-byte advert: 20 bytes and a CTAP 2.3 suffix */
	RESP_FDE2,             /* the advert under fde2 */
};

struct resp {
	enum resp_mode mode;
	struct cable_qr qr;
	uint8_t eid_key[CABLE_EID_KEY_LEN], tunnel_id[16], plain[CABLE_EID_PLAIN_LEN];
	struct cable_p256_key phone_key;
	uint8_t phone_pub[65];
	void *tunnel, *adv;
	struct cable_noise *noise;
	struct cable_crypter *crypter;
	bool closed;
	bool got_request, got_shutdown;
};

static struct resp P;

static void
resp_seal(const uint8_t *pt, size_t len)
{
	uint8_t *ct;
	size_t ct_len;

	assert_int_equal(cable_crypter_encrypt(P.crypter, pt, len, &ct, &ct_len), 0);
	assert_int_equal(R.io->tunnel->send(P.tunnel, ct, ct_len), 0);
	free(ct);
}

static void
resp_adv_error(void *arg, int code)
{
	(void)arg;
	fail_msg("advert: %s", cable_errname(code));
}

static void
resp_opened(void *arg, const uint8_t *rid)
{
	static const struct cable_ble_adv_cbs acbs = {NULL, resp_adv_error};
	uint8_t adv[CABLE_ADVERT_LEN + 2];
	size_t len = CABLE_ADVERT_LEN;

	(void)arg;
	assert_non_null(rid);
	assert_int_equal(cable_advert_build(P.eid_key, &R.penv.env, rid, 0, adv, NULL, P.plain), 0);
	if (P.mode == RESP_SUFFIX) {
		adv[20] = 0xa0; /* an empty CBOR map: no channels */
		len = 21;
	}
	assert_int_equal(R.io->ble->advertise_start(R.io->ble->ctx, P.mode == RESP_FDE2 ? 0xfde2 : 0xfff9,
			     adv, len, &acbs, NULL, &P.adv), 0);
}

static void
resp_message(void *arg, const uint8_t *data, size_t len)
{
	uint8_t psk[32], msg[CABLE_NOISE_MSG_LEN], hash[32], *pt, *buf;
	size_t pt_len, buf_len;

	(void)arg;
	if (P.crypter == NULL) {
		R.io->ble->advertise_stop(R.io->ble->ctx, &P.adv);
		assert_int_equal(cable_derive_psk(P.qr.secret, 16, P.plain, psk), 0);
		assert_non_null(P.noise = cable_noise_new());
		assert_int_equal(cable_noise_start(P.noise, CABLE_NOISE_KNPSK0, CABLE_NOISE_RESPONDER, psk, NULL,
				     P.qr.public_key_full), 0);
		assert_int_equal(cable_noise_read_message(P.noise, data, len), 0);
		assert_int_equal(cable_noise_write_message(P.noise, &R.penv.env, msg), 0);
		assert_int_equal(R.io->tunnel->send(P.tunnel, msg, sizeof(msg)), 0);
		assert_int_equal(cable_noise_split(P.noise, &P.crypter), 0);
		assert_int_equal(cable_noise_handshake_hash(P.noise, hash), 0);
		/* The post-handshake message, with an empty getInfo map. */
		if (P.mode == RESP_NO_CTAP)
			assert_int_equal(cable_post_handshake_build(NULL, 0, CABLE_FEATURE_DC, &buf, &buf_len), 0);
		else
			assert_int_equal(cable_post_handshake_build((const uint8_t *)"\xa0", 1, CABLE_FEATURE_CTAP,
					     &buf, &buf_len), 0);
		resp_seal(buf, buf_len);
		free(buf);
		if (P.mode == RESP_LINKING || P.mode == RESP_LINKING_BAD_SIG) {
			struct cable_linking_info li;

			memset(&li, 0, sizeof(li));
			memcpy(li.contact_id, "contact", 7);
			li.contact_id_len = 7;
			memcpy(li.link_id, "linkid08", 8);
			li.link_id_len = 8;
			memset(li.secret, 0x33, 32);
			li.secret_len = 32;
			memcpy(li.peer_public, P.phone_key.pub, 65);
			strcpy(li.name, "Test phone");
			assert_int_equal(cable_linking_sign(&P.phone_key, P.qr.public_key_full, hash, li.signature), 0);
			if (P.mode == RESP_LINKING_BAD_SIG)
				li.signature[0] ^= 1;
			assert_int_equal(cable_update_build(&li, &buf, &buf_len), 0);
			resp_seal(buf, buf_len);
			free(buf);
		}
		return;
	}
	assert_int_equal(cable_crypter_decrypt(P.crypter, data, len, &pt, &pt_len), 0);
	assert_true(pt_len >= 1);
	if (pt[0] == CABLE_FRAME_CTAP) {
		static const uint8_t answer[] = {CABLE_FRAME_CTAP, 0x00, 0xa0};
		P.got_request = true;
		resp_seal(answer, sizeof(answer));
	} else if (pt[0] == CABLE_FRAME_SHUTDOWN) {
		P.got_shutdown = true;
		R.io->tunnel->close(P.tunnel);
	}
	free(pt);
}

static void
resp_closed(void *arg, int err)
{
	(void)arg;
	(void)err;
	R.io->tunnel->free(&P.tunnel);
	P.closed = true;
}

/* Runs the initiator against the core-driven responder in mode. */
static void
resp_run(enum resp_mode mode, uint32_t seed)
{
	static const struct cable_tunnel_io_cbs tcbs = {resp_opened, resp_message, resp_closed};
	uint64_t end;

	run_init(seed);
	use_mc();
	memset(&P, 0, sizeof(P));
	P.mode = mode;
	if (mode == RESP_SUFFIX)
		R.icfg.advert_flags = CABLE_ADVERT_ALLOW_SUFFIX;
	assert_int_equal(cable_p256_generate(&R.penv.env, &P.phone_key), 0);
	assert_int_equal(cable_initiator_new(R.io, &R.icfg, &R.in), 0);
	assert_int_equal(cable_initiator_start(R.in), 0);
	assert_int_equal(cable_qr_from_url(R.url, strlen(R.url), &P.qr, NULL), 0);
	assert_int_equal(cable_qr_eid_key(&P.qr, P.eid_key), 0);
	assert_int_equal(cable_qr_tunnel_id(&P.qr, P.tunnel_id), 0);
	assert_int_equal(R.io->tunnel->open_new(R.io->tunnel->ctx, 0, P.tunnel_id, &tcbs, NULL, &P.tunnel), 0);
	end = now_usec() + 5000000u;
	while (!(R.done && P.closed) && now_usec() < end)
		assert_int_equal(cable_loop_poll_once(R.lp, 100000), 0);
	assert_true(R.done);
	assert_true(P.closed);
	R.io->ble->advertise_stop(R.io->ble->ctx, &P.adv);
	cable_noise_free(&P.noise);
	cable_crypter_free(&P.crypter);
	cable_qr_wipe(&P.qr);
	memcpy(P.phone_pub, P.phone_key.pub, 65);
	cable_p256_key_wipe(&P.phone_key);
}

static void
test_core_responder(void **state)
{
	const struct cable_linking_info *li;
	const uint8_t *resp;
	size_t resp_len;

	(void)state;
	/* Valid linking info in an update: verified against our QR key and the handshake hash, kept. */
	resp_run(RESP_LINKING, 70);
	assert_int_equal(R.final.type, CABLE_INITIATOR_EV_DONE);
	assert_int_equal(cable_initiator_updates(R.in), 1);
	assert_non_null(li = cable_initiator_linking(R.in));
	assert_string_equal(li->name, "Test phone");
	assert_memory_equal(li->peer_public, P.phone_pub, 65);
	assert_int_equal(li->secret_len, 32);
	assert_int_equal(cable_initiator_response(R.in, &resp, &resp_len), 0);
	assert_int_equal(resp_len, 2);
	assert_memory_equal(resp, "\x00\xa0", 2);
	assert_true(P.got_request && P.got_shutdown);
	run_end(false);

	/* A forged signature ends the session before the answer. */
	resp_run(RESP_LINKING_BAD_SIG, 71);
	expect_failed(CABLE_ERR_LINKING_SIGNATURE, CABLE_INITIATOR_STAGE_RESPONSE);
	assert_null(cable_initiator_linking(R.in));
	run_end(false);

	/* A phone that does not offer CTAP: nothing is sent to it. */
	resp_run(RESP_NO_CTAP, 72);
	expect_failed(CABLE_ERR_UNSUPPORTED, CABLE_INITIATOR_STAGE_POST_HANDSHAKE);
	assert_false(P.got_request);
	run_end(false);

	/* The advert under fde2 (older phones) is accepted. */
	resp_run(RESP_FDE2, 73);
	assert_int_equal(R.final.type, CABLE_INITIATOR_EV_DONE);
	assert_int_equal(R.found_uuid, 0xfde2);
	run_end(false);

	/* A CTAP 2.3 advert suffix only with CABLE_ADVERT_ALLOW_SUFFIX ... */
	resp_run(RESP_SUFFIX, 74);
	assert_int_equal(R.final.type, CABLE_INITIATOR_EV_DONE);
	run_end(false);
}

static void
test_suffix_refused_by_default(void **state)
{
	static const struct cable_tunnel_io_cbs tcbs = {resp_opened, resp_message, resp_closed};
	uint64_t end;

	(void)state;
	/* ... and not by default, as Chrome: no match, the scan times out. */
	run_init(75);
	use_mc();
	memset(&P, 0, sizeof(P));
	P.mode = RESP_SUFFIX;
	R.icfg.scan_timeout_ms = 300;
	assert_int_equal(cable_initiator_new(R.io, &R.icfg, &R.in), 0);
	assert_int_equal(cable_initiator_start(R.in), 0);
	assert_int_equal(cable_qr_from_url(R.url, strlen(R.url), &P.qr, NULL), 0);
	assert_int_equal(cable_qr_eid_key(&P.qr, P.eid_key), 0);
	assert_int_equal(cable_qr_tunnel_id(&P.qr, P.tunnel_id), 0);
	assert_int_equal(R.io->tunnel->open_new(R.io->tunnel->ctx, 0, P.tunnel_id, &tcbs, NULL, &P.tunnel), 0);
	end = now_usec() + 5000000u;
	while (!R.done && now_usec() < end)
		assert_int_equal(cable_loop_poll_once(R.lp, 100000), 0);
	expect_failed(CABLE_ERR_TIMEOUT, CABLE_INITIATOR_STAGE_SCAN);
	R.io->ble->advertise_stop(R.io->ble->ctx, &P.adv);
	R.io->tunnel->free(&P.tunnel);
	cable_qr_wipe(&P.qr);
	run_end(false);
}

static void
test_arguments(void **state)
{
	struct cable_initiator *s = NULL;
	struct cable_initiator_config c;
	static const uint8_t req[] = {0x04};
	const uint8_t *p;
	size_t n;

	(void)state;
	run_init(60);
	memset(&c, 0, sizeof(c));
	assert_int_equal(cable_initiator_new(R.io, &c, &s), CABLE_ERR_ARG); /* no env, no request */
	c.env = &R.denv.env;
	assert_int_equal(cable_initiator_new(R.io, &c, &s), CABLE_ERR_ARG);
	c.request = req;
	c.request_len = sizeof(req);
	assert_int_equal(cable_initiator_new(NULL, &c, &s), CABLE_ERR_ARG);
	assert_int_equal(cable_initiator_new(R.io, &c, &s), 0);
	assert_int_equal(cable_initiator_getinfo(s, &p, &n), CABLE_ERR_STATE);
	assert_int_equal(cable_initiator_response(s, &p, &n), CABLE_ERR_STATE);
	assert_int_equal(cable_initiator_revision(s), -1);
	assert_int_equal(cable_initiator_start(s), 0);
	assert_int_equal(cable_initiator_start(s), CABLE_ERR_STATE);
	cable_initiator_free(&s);
	/* A failing random source: start fails cleanly. */
	R.denv.fail_random = 1;
	assert_int_equal(cable_initiator_new(R.io, &c, &s), 0);
	assert_true(cable_initiator_start(s) < 0);
	assert_int_equal(cable_mem_io_scanners_active(R.mio), 0);
	cable_initiator_free(&s);
	assert_string_equal(cable_initiator_stage_name(CABLE_INITIATOR_STAGE_POST_HANDSHAKE), "post-handshake");
	run_end(false);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_make_credential_then_get_assertion),
		cmocka_unit_test(test_foreign_adverts),
		cmocka_unit_test(test_misbehaviour),
		cmocka_unit_test(test_io_faults),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_core_responder),
		cmocka_unit_test(test_suffix_refused_by_default),
		cmocka_unit_test(test_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

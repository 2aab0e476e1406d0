/*
 * The phone session (src/session/phone-session.c) against a desktop driven by the core (desk.c),
 * over the in-memory tunnel server and radio: whole makeCredential and getAssertion sessions,
 * every failure path of the phone session, and every misbehaviour with what the desktop's core
 * reports.
 */
#include <stdlib.h>
#include <string.h>

#include "cable/cred-store.h"
#include "cable/error.h"
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
	struct desk *d;
	struct cable_phone_config pcfg;
	struct desk_config dcfg;
	/* What the phone reported. */
	enum cable_phone_event_type evs[32];
	unsigned nev;
	bool phone_done;
	struct cable_phone_event closed;
	uint8_t rid[3];
	uint8_t advert[20];
	size_t advert_len;
	uint16_t advert_uuid;
	char rp_id[64];
	uint8_t req_cmd, status;
	unsigned adverts_at_handshake;
	uint64_t t_request, t_answered;
	/* ask_user: answer (1 yes, 0 no, -1 never) after confirm_ms. */
	int confirm_answer;
	uint32_t confirm_ms;
	struct cable_loop_timer *confirm_timer;
	int confirm_rc;
	bool cancel_on_request;
};

static struct run R;

static uint64_t
now_usec(void)
{
	struct cable_loop *l = cable_loop_poll_loop(R.lp);
	return l->ops->now_usec(l);
}

static void
confirm_later(void *arg)
{
	(void)arg;
	R.io->loop->ops->timer_del(&R.confirm_timer);
	R.confirm_rc = cable_phone_session_confirm(R.ps, R.confirm_answer == 1);
}

static void
on_event(void *arg, const struct cable_phone_event *ev)
{
	(void)arg;
	assert_false(R.phone_done); /* CLOSED is the last event */
	if (R.nev < 32)
		R.evs[R.nev++] = ev->type;
	switch (ev->type) {
	case CABLE_PHONE_EV_TUNNEL_OPEN:
		memcpy(R.rid, ev->routing_id, 3);
		break;
	case CABLE_PHONE_EV_ADVERTISING:
		assert_true(ev->advert_len <= sizeof(R.advert));
		memcpy(R.advert, ev->advert, ev->advert_len);
		R.advert_len = ev->advert_len;
		R.advert_uuid = ev->uuid16;
		break;
	case CABLE_PHONE_EV_HANDSHAKE:
		R.adverts_at_handshake = cable_mem_io_adverts_active(R.mio);
		break;
	case CABLE_PHONE_EV_REQUEST:
		R.req_cmd = ev->command;
		R.t_request = now_usec();
		if (ev->rp_id != NULL)
			snprintf(R.rp_id, sizeof(R.rp_id), "%s", ev->rp_id);
		if (R.cancel_on_request)
			cable_phone_session_cancel(R.ps);
		else if (R.pcfg.ask_user && R.confirm_answer >= 0)
			/* As cable-phone does: the person answers later, with the loop running. */
			assert_int_equal(cable_loop_poll_loop(R.lp)->ops->timer_add(cable_loop_poll_loop(R.lp),
					     (uint64_t)R.confirm_ms * 1000, confirm_later, NULL, &R.confirm_timer),
			    0);
		break;
	case CABLE_PHONE_EV_ANSWERED:
		R.status = ev->status;
		R.t_answered = now_usec();
		break;
	case CABLE_PHONE_EV_CLOSED:
		R.closed = *ev;
		R.phone_done = true;
		break;
	default:
		break;
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
	R.pcfg.event = on_event;
	R.pcfg.linger_ms = 300;
	R.dcfg.env = &R.denv.env;
	R.dcfg.timeout_ms = 5000;
	R.confirm_answer = 1;
}

/* Frees the session and the desktop, and checks that nothing was left behind. */
static void
run_end(void)
{
	cable_phone_session_free(&R.ps);
	desk_free(&R.d);
	R.io->loop->ops->timer_del(&R.confirm_timer);
	assert_int_equal(cable_mem_io_tunnels_alive(R.mio), 0);
	assert_int_equal(cable_mem_io_adverts_active(R.mio), 0);
	assert_int_equal(cable_mem_io_scanners_active(R.mio), 0);
	cable_mem_io_free(&R.mio);
	cable_loop_poll_free(&R.lp);
}

/* Starts both sides (the desktop unless no_desk) and runs until both are done. */
static void
run(bool with_desk)
{
	char *url = NULL;
	uint64_t end;

	assert_int_equal(cable_phone_session_new(R.io, &R.pcfg, &R.ps), 0);
	assert_int_equal(desk_new(R.io, &R.dcfg, &R.d), 0);
	if (with_desk) {
		assert_int_equal(desk_start(R.d, &url), 0);
	} else {
		/* A QR code from a desktop that never scans. */
		struct desk *other;
		assert_int_equal(desk_new(R.io, &R.dcfg, &other), 0);
		assert_int_equal(desk_start(other, &url), 0);
		desk_free(&other);
	}
	assert_int_equal(cable_phone_session_start(R.ps, url), 0);
	free(url);
	assert_int_equal(R.evs[0], CABLE_PHONE_EV_QR);
	end = now_usec() + 10 * 1000000u;
	while (!(R.phone_done && (!with_desk || desk_done(R.d))) && now_usec() < end)
		assert_int_equal(cable_loop_poll_once(R.lp, 100000), 0);
	assert_true(R.phone_done);
	if (with_desk)
		assert_true(desk_done(R.d));
	assert_int_equal(cable_phone_session_stage(R.ps), CABLE_PHONE_STAGE_DONE);
	assert_int_equal(cable_phone_session_result(R.ps), R.closed.error);
}

static bool
saw(enum cable_phone_event_type t)
{
	for (unsigned i = 0; i < R.nev; i++)
		if (R.evs[i] == t)
			return true;
	return false;
}

/* The whole session: makeCredential in one session, getAssertion with that passkey in the next. */
static void
test_make_credential_then_get_assertion(void **state)
{
	static const uint8_t cdh[32] = {1, 2, 3};
	static const uint8_t uid[] = {0x75, 0x69, 0x64};
	struct cable_cred_store *store;
	struct desk_cred cred;
	const struct desk_result *res;
	uint8_t *req;
	size_t req_len;
	const uint8_t *m;
	size_t mlen;

	(void)state;
	run_init(1);
	R.pcfg.domain_id = 266; /* a hashed domain: written into the advert and used for both opens */
	assert_int_equal(desk_build_mc(RP, cdh, uid, sizeof(uid), "alice", true, &req, &req_len), 0);
	R.dcfg.request = req;
	R.dcfg.request_len = req_len;
	R.dcfg.hint = CABLE_REQUEST_MC;
	run(true);
	res = desk_result(R.d);
	assert_int_equal(res->error, 0);
	assert_int_equal(R.closed.error, 0);
	assert_true(R.closed.answered);
	/* Phone's view. */
	assert_int_equal(R.evs[1], CABLE_PHONE_EV_TUNNEL_OPEN);
	assert_int_equal(R.evs[2], CABLE_PHONE_EV_ADVERTISING);
	assert_int_equal(R.evs[3], CABLE_PHONE_EV_HANDSHAKE);
	assert_int_equal(R.evs[4], CABLE_PHONE_EV_REQUEST);
	assert_int_equal(R.evs[5], CABLE_PHONE_EV_ANSWERED);
	assert_int_equal(R.evs[6], CABLE_PHONE_EV_SHUTDOWN);
	assert_int_equal(R.evs[7], CABLE_PHONE_EV_CLOSED);
	assert_memory_equal(R.rid, "\xa1\xb2\xc3", 3);
	assert_int_equal(R.advert_len, 20);
	assert_int_equal(R.advert_uuid, 0xfff9);
	assert_int_equal(R.adverts_at_handshake, 0); /* stopped as soon as the handshake came */
	assert_int_equal(R.req_cmd, 0x01);
	assert_string_equal(R.rp_id, RP);
	assert_int_equal(R.status, 0);
	/* Desktop's view: the advert decrypted with the QR's EID key and named our tunnel. */
	assert_int_equal(res->adverts_matched, 1);
	assert_int_equal(res->advert_uuid, 0xfff9);
	assert_int_equal(res->advert_len, 20);
	assert_memory_equal(res->advert.eid.routing_id, R.rid, 3);
	assert_int_equal(res->advert.eid.domain_id, 266);
	assert_int_equal(cable_mem_io_last_domain(R.mio, false), 266);
	assert_int_equal(cable_mem_io_last_domain(R.mio, true), 266);
	assert_true(res->handshake_done);
	assert_int_equal(res->revision, 1);
	assert_non_null(res->getinfo);
	assert_int_equal(res->updates, 1);
	assert_int_equal(res->first_update_ct_len, CABLE_UPDATE_CIPHERTEXT_LEN);
	assert_false(res->update_had_linking);
	assert_int_equal(desk_check_mc(res->response, res->response_len, RP, &cred), 0);
	assert_int_equal(cred.flags & 0x45, 0x45);
	assert_int_equal(res->after_error, 0);
	/* On the wire: 81-byte handshake both ways, the phone never sends shutdown, closes once. */
	assert_int_equal(cable_mem_io_message(R.mio, CABLE_MEM_TO_PHONE, 0, &m, &mlen), 0);
	assert_int_equal(mlen, 81);
	assert_int_equal(cable_mem_io_message(R.mio, CABLE_MEM_TO_DESKTOP, 0, &m, &mlen), 0);
	assert_int_equal(mlen, 81);
	assert_int_equal(cable_mem_io_count(R.mio, CABLE_MEM_TO_DESKTOP), 4); /* hs, hello, update, answer */
	assert_int_equal(cable_mem_io_message(R.mio, CABLE_MEM_TO_DESKTOP, 2, &m, &mlen), 0);
	assert_int_equal(mlen, 528);
	assert_int_equal(cable_mem_io_count(R.mio, CABLE_MEM_TO_PHONE), 3); /* hs, request, shutdown */
	assert_int_equal(cable_mem_io_message(R.mio, CABLE_MEM_TO_PHONE, 2, &m, &mlen), 0);
	assert_int_equal(mlen, 48); /* encrypted [00] */
	assert_int_equal(cable_mem_io_drops(R.mio), 0);
	assert_int_equal(cable_cred_store_count(R.store), 1);
	free(req);
	/* Keep the store for the next session. */
	store = R.store;
	R.store = NULL;
	run_end();

	run_init(2);
	cable_cred_store_free(&R.store);
	R.store = store;
	R.pcfg.store = store;
	assert_int_equal(desk_build_ga(RP, cdh, NULL, 0, &req, &req_len), 0); /* discoverable */
	R.dcfg.request = req;
	R.dcfg.request_len = req_len;
	run(true);
	res = desk_result(R.d);
	assert_int_equal(res->error, 0);
	assert_int_equal(R.closed.error, 0);
	assert_int_equal(R.req_cmd, 0x02);
	assert_string_equal(R.rp_id, RP);
	assert_int_equal(desk_check_ga(res->response, res->response_len, RP, cdh, &cred), 0);
	free(req);
	/* With the credential in the allow list, and a tampered clientDataHash failing the check. */
	run_end();
	run_init(3);
	cable_cred_store_free(&R.store);
	R.store = store;
	R.pcfg.store = store;
	assert_int_equal(desk_build_ga(RP, cdh, cred.id, cred.id_len, &req, &req_len), 0);
	R.dcfg.request = req;
	R.dcfg.request_len = req_len;
	run(true);
	res = desk_result(R.d);
	assert_int_equal(res->error, 0);
	assert_int_equal(desk_check_ga(res->response, res->response_len, RP, cdh, &cred), 0);
	{
		static const uint8_t other[32] = {9};
		assert_int_equal(desk_check_ga(res->response, res->response_len, RP, other, &cred), CABLE_ERR_AUTH);
	}
	free(req);
	run_end();
	cable_cred_store_free(&store);
}

static uint8_t *
ga_request(size_t *len)
{
	static const uint8_t cdh[32] = {7};
	uint8_t *req;

	assert_int_equal(desk_build_ga(RP, cdh, NULL, 0, &req, len), 0);
	return req;
}

static void
end_with_store(void)
{
	struct cable_cred_store *store = R.store;

	run_end();
	cable_cred_store_free(&store);
}

/* No shutdown from the desktop: the phone closes after its linger, successfully. */
static void
test_linger_then_close(void **state)
{
	uint8_t *req;
	uint64_t t0;

	(void)state;
	run_init(4);
	R.dcfg.request = req = ga_request(&R.dcfg.request_len);
	R.dcfg.no_shutdown = true;
	t0 = now_usec();
	run(true);
	assert_int_equal(R.closed.error, 0);
	assert_true(R.closed.answered);
	assert_false(saw(CABLE_PHONE_EV_SHUTDOWN));
	assert_int_equal(R.status, CABLE_CTAP2_ERR_NO_CREDENTIALS);
	assert_int_equal(desk_result(R.d)->error, 0);
	assert_int_equal(desk_result(R.d)->response[0], CABLE_CTAP2_ERR_NO_CREDENTIALS);
	assert_true(now_usec() - t0 >= 300000);
	free(req);
	end_with_store();

	/* The desktop closes the tunnel itself after the answer (revision-0 style): also success. */
	run_init(5);
	R.dcfg.request = req = ga_request(&R.dcfg.request_len);
	R.dcfg.close_after_answer = true;
	run(true);
	assert_int_equal(R.closed.error, 0);
	assert_int_equal(desk_result(R.d)->error, 0);
	free(req);
	end_with_store();
}

/* The person is asked (ask_user): yes, no, and no answer at all. */
static void
test_user_presence(void **state)
{
	static const uint8_t cdh[32] = {5};
	uint8_t *req;
	size_t req_len;

	(void)state;
	run_init(6);
	R.pcfg.ask_user = true;
	R.confirm_ms = 50;
	R.confirm_answer = 1;
	assert_int_equal(desk_build_mc(RP, cdh, (const uint8_t *)"u", 1, "bob", true, &req, &req_len), 0);
	R.dcfg.request = req;
	R.dcfg.request_len = req_len;
	run(true);
	assert_int_equal(R.confirm_rc, 0);
	assert_int_equal(R.status, 0);
	assert_true(R.t_answered - R.t_request >= 50000);
	assert_int_equal(cable_cred_store_count(R.store), 1);
	/* A second answer has nothing to answer. */
	assert_int_equal(cable_phone_session_confirm(R.ps, true), CABLE_ERR_STATE);
	end_with_store();

	run_init(7);
	R.pcfg.ask_user = true;
	R.confirm_ms = 10;
	R.confirm_answer = 0;
	R.dcfg.request = req;
	R.dcfg.request_len = req_len;
	run(true);
	assert_int_equal(R.status, CABLE_CTAP2_ERR_OPERATION_DENIED);
	assert_int_equal(desk_result(R.d)->response[0], CABLE_CTAP2_ERR_OPERATION_DENIED);
	assert_int_equal(R.closed.error, 0);
	assert_int_equal(cable_cred_store_count(R.store), 0);
	end_with_store();

	run_init(8);
	R.pcfg.ask_user = true;
	R.pcfg.confirm_timeout_ms = 100;
	R.confirm_answer = -1;
	R.dcfg.request = req;
	R.dcfg.request_len = req_len;
	run(true);
	assert_int_equal(R.status, CABLE_CTAP2_ERR_USER_ACTION_TIMEOUT);
	assert_int_equal(desk_result(R.d)->response[0], CABLE_CTAP2_ERR_USER_ACTION_TIMEOUT);
	free(req);
	end_with_store();
}

static void
test_delay(void **state)
{
	uint8_t *req;

	(void)state;
	run_init(9);
	R.pcfg.delay_ms = 200;
	R.dcfg.request = req = ga_request(&R.dcfg.request_len);
	run(true);
	assert_int_equal(R.closed.error, 0);
	assert_true(R.t_answered - R.t_request >= 200000);
	free(req);
	/* A desktop that gives up sooner sees a timeout while waiting for the answer. */
	end_with_store();
	run_init(10);
	R.pcfg.delay_ms = 1500;
	R.dcfg.request = req = ga_request(&R.dcfg.request_len);
	R.dcfg.timeout_ms = 500;
	run(true);
	assert_int_equal(desk_result(R.d)->error, CABLE_ERR_TIMEOUT);
	assert_int_equal(desk_result(R.d)->error_stage, DESK_RESPONSE);
	/* The phone sees the desktop hang up before its answer went out. */
	assert_int_equal(R.closed.error, CABLE_ERR_TUNNEL_CLOSED);
	assert_int_equal(R.closed.stage, CABLE_PHONE_STAGE_CONFIRM);
	free(req);
	end_with_store();
}

/* ---- Failure paths of the phone session ---- */

static void
test_bad_url(void **state)
{
	static const char *const urls[] = {"http://x", "FIDO:/12a", "FIDO:/1234", "FIDO:/000"};
	static const int errs[] = {CABLE_ERR_QR_PREFIX, CABLE_ERR_DIGITS, CABLE_ERR_DIGITS, CABLE_ERR_CBOR_TYPE};

	(void)state;
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		run_init(11);
		assert_int_equal(cable_phone_session_new(R.io, &R.pcfg, &R.ps), 0);
		assert_int_equal(cable_phone_session_start(R.ps, urls[i]), errs[i]);
		assert_int_equal(R.nev, 0);
		assert_int_equal(cable_mem_io_tunnels_alive(R.mio), 0);
		assert_int_equal(cable_phone_session_start(R.ps, urls[i]), CABLE_ERR_STATE);
		end_with_store();
	}
	/* Missing config. */
	run_init(12);
	R.pcfg.store = NULL;
	assert_int_equal(cable_phone_session_new(R.io, &R.pcfg, &R.ps), CABLE_ERR_ARG);
	R.pcfg.store = R.store;
	R.pcfg.misbehave = (enum cable_phone_misbehave)99;
	assert_int_equal(cable_phone_session_new(R.io, &R.pcfg, &R.ps), CABLE_ERR_ARG);
	end_with_store();
}

/* One failure set-up, the phone's error and stage. */
static void
expect_phone(int err, enum cable_phone_stage stage)
{
	assert_int_equal(R.closed.error, err);
	assert_int_equal(R.closed.stage, stage);
	assert_false(R.closed.answered);
}

static void
test_tunnel_failures(void **state)
{
	(void)state;
	run_init(13);
	cable_mem_io_fail_open_new(R.mio, CABLE_ERR_TUNNEL_HTTP);
	run(false);
	expect_phone(CABLE_ERR_TUNNEL_HTTP, CABLE_PHONE_STAGE_TUNNEL);
	assert_false(saw(CABLE_PHONE_EV_TUNNEL_OPEN));
	end_with_store();

	run_init(14);
	cable_mem_io_no_routing_id(R.mio, true);
	run(false);
	expect_phone(CABLE_ERR_TUNNEL_ROUTING_ID, CABLE_PHONE_STAGE_TUNNEL);
	assert_int_equal(cable_mem_io_closes(R.mio), 1);
	end_with_store();

	run_init(15);
	cable_mem_io_set_latency(R.mio, 300000);
	R.pcfg.tunnel_timeout_ms = 50;
	R.pcfg.close_timeout_ms = 50;
	run(false);
	expect_phone(CABLE_ERR_TIMEOUT, CABLE_PHONE_STAGE_TUNNEL);
	end_with_store();
}

static void
test_advert_failures(void **state)
{
	(void)state;
	run_init(16);
	cable_mem_io_fail_advertise(R.mio, CABLE_ERR_BT_ADVERTISE, false);
	run(false);
	expect_phone(CABLE_ERR_BT_ADVERTISE, CABLE_PHONE_STAGE_ADVERTISING);
	assert_false(saw(CABLE_PHONE_EV_ADVERTISING));
	end_with_store();

	run_init(17);
	cable_mem_io_fail_advertise(R.mio, CABLE_ERR_BT_NOT_POWERED, true);
	run(false);
	expect_phone(CABLE_ERR_BT_NOT_POWERED, CABLE_PHONE_STAGE_ADVERTISING);
	end_with_store();

	/* Nobody answers the advert. */
	run_init(18);
	R.pcfg.handshake_timeout_ms = 100;
	run(false);
	expect_phone(CABLE_ERR_TIMEOUT, CABLE_PHONE_STAGE_ADVERTISING);
	assert_int_equal(cable_mem_io_advert_count(R.mio), 1);
	end_with_store();
}

/* The desktop's handshake message altered on the way: each defect is its own error. */
static void
test_handshake_failures(void **state)
{
	static const struct {
		enum cable_mem_fault_kind kind;
		uint64_t param;
		int err;
	} cases[] = {
		{CABLE_MEM_CORRUPT, 70, CABLE_ERR_AUTH},             /* tag */
		{CABLE_MEM_CORRUPT, 5, CABLE_ERR_POINT},             /* X coordinate: off the curve */
		{CABLE_MEM_TRUNCATE, 80, CABLE_ERR_HANDSHAKE_LENGTH},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_init(19);
		assert_int_equal(cable_mem_io_fault(R.mio, CABLE_MEM_TO_PHONE, 0, cases[i].kind, cases[i].param), 0);
		R.dcfg.request = (const uint8_t *)"\x04";
		R.dcfg.request_len = 1;
		run(true);
		expect_phone(cases[i].err, CABLE_PHONE_STAGE_ADVERTISING);
		/* The desktop sees the phone hang up while waiting for the response. */
		assert_int_equal(desk_result(R.d)->error, CABLE_ERR_TUNNEL_CLOSED);
		assert_int_equal(desk_result(R.d)->error_stage, DESK_HANDSHAKE);
		assert_int_equal(cable_mem_io_count(R.mio, CABLE_MEM_TO_DESKTOP), 0);
		assert_int_equal(cable_mem_io_adverts_active(R.mio), 0);
		end_with_store();
	}
}

/* Frames the desktop may send after the handshake, and how the phone ends. */
static void
test_transport_failures(void **state)
{
	static const uint8_t shutdown[] = {0x00}, type4[] = {0x04, 0x01}, json[] = {0x03, '{', '}'},
			     bad_update[] = {0x02, 0x81, 0x00}, empty[] = {0}, good_update[] = {0x02, 0xa0},
			     getinfo[] = {0x01, 0x04}, ga_bad[] = {0x01, 0x02, 0xa0};
	static const struct {
		const uint8_t *frame;
		size_t len;
		int err;
	} cases[] = {
		{shutdown, 1, CABLE_ERR_PEER_SHUTDOWN},
		{type4, 2, CABLE_ERR_FRAME_TYPE},
		{json, 3, CABLE_ERR_UNSUPPORTED},
		{bad_update, 3, CABLE_ERR_UPDATE},
		{empty, 0, CABLE_ERR_FRAME_EMPTY},
	};
	uint8_t *req;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const uint8_t *extra[1] = {cases[i].frame};
		size_t extra_len[1] = {cases[i].len};

		run_init(20);
		R.dcfg.extra = extra;
		R.dcfg.extra_len = extra_len;
		R.dcfg.n_extra = 1;
		R.dcfg.request = req = ga_request(&R.dcfg.request_len);
		run(true);
		expect_phone(cases[i].err, CABLE_PHONE_STAGE_REQUEST);
		assert_int_equal(desk_result(R.d)->error, CABLE_ERR_TUNNEL_CLOSED);
		assert_int_equal(desk_result(R.d)->error_stage, DESK_RESPONSE);
		free(req);
		end_with_store();
	}

	/* A desktop update (ignored) and a getInfo over the tunnel (answered) keep the session going. */
	{
		const uint8_t *extra[2] = {good_update, getinfo};
		size_t extra_len[2] = {sizeof(good_update), sizeof(getinfo)};

		run_init(21);
		R.dcfg.extra = extra;
		R.dcfg.extra_len = extra_len;
		R.dcfg.n_extra = 2;
		R.dcfg.request = req = ga_request(&R.dcfg.request_len);
		R.pcfg.delay_ms = 0;
		run(true);
		/* The getInfo answer arrives first: to this desktop it is the answer. */
		assert_int_equal(desk_result(R.d)->response[0], 0);
		assert_true(saw(CABLE_PHONE_EV_ANSWERED));
		free(req);
		end_with_store();
	}

	/* A second request while the first waits (slow phone): unexpected. */
	{
		const uint8_t *extra[1] = {ga_bad};
		size_t extra_len[1] = {sizeof(ga_bad)};

		run_init(22);
		R.pcfg.delay_ms = 200;
		R.dcfg.extra = extra;
		R.dcfg.extra_len = extra_len;
		R.dcfg.n_extra = 1;
		R.dcfg.request = req = ga_request(&R.dcfg.request_len);
		run(true);
		expect_phone(CABLE_ERR_UNEXPECTED, CABLE_PHONE_STAGE_CONFIRM);
		free(req);
		end_with_store();
	}

	/* A corrupted request: the AEAD says so. */
	run_init(23);
	assert_int_equal(cable_mem_io_fault(R.mio, CABLE_MEM_TO_PHONE, 1, CABLE_MEM_CORRUPT, 3), 0);
	R.dcfg.request = req = ga_request(&R.dcfg.request_len);
	run(true);
	expect_phone(CABLE_ERR_AUTH, CABLE_PHONE_STAGE_REQUEST);
	free(req);
	end_with_store();

	/* A replayed (duplicated) request after the answer: unexpected in the answered stage. */
	run_init(24);
	assert_int_equal(cable_mem_io_fault(R.mio, CABLE_MEM_TO_PHONE, 1, CABLE_MEM_DUPLICATE, 0), 0);
	R.dcfg.request = req = ga_request(&R.dcfg.request_len);
	run(true);
	/* The copy fails the AEAD (counter moved on): the phone has answered and ends on it. */
	assert_int_equal(R.closed.error, CABLE_ERR_AUTH);
	assert_true(R.closed.answered);
	free(req);
	end_with_store();

	/* The desktop never asks: request timeout. Or it hangs up: tunnel closed. */
	run_init(25);
	R.pcfg.request_timeout_ms = 100;
	run(true);
	expect_phone(CABLE_ERR_TIMEOUT, CABLE_PHONE_STAGE_REQUEST);
	end_with_store();

	run_init(26);
	R.dcfg.close_after_hello = true;
	run(true);
	expect_phone(CABLE_ERR_TUNNEL_CLOSED, CABLE_PHONE_STAGE_REQUEST);
	end_with_store();

	/* The server closes the tunnel instead of relaying the request. */
	run_init(27);
	assert_int_equal(cable_mem_io_fault(R.mio, CABLE_MEM_TO_PHONE, 1, CABLE_MEM_CLOSE, 0), 0);
	R.dcfg.request = req = ga_request(&R.dcfg.request_len);
	run(true);
	expect_phone(CABLE_ERR_TUNNEL_CLOSED, CABLE_PHONE_STAGE_REQUEST);
	free(req);
	end_with_store();

	/* Cancelled by its owner. */
	run_init(28);
	R.cancel_on_request = true;
	R.dcfg.request = req = ga_request(&R.dcfg.request_len);
	run(true);
	expect_phone(CABLE_ERR_CANCELLED, CABLE_PHONE_STAGE_CONFIRM);
	assert_int_equal(desk_result(R.d)->error, CABLE_ERR_TUNNEL_CLOSED);
	free(req);
	end_with_store();
}

/* ---- Misbehaviour: what the desktop's core reports ---- */

static void
misbehave(enum cable_phone_misbehave m)
{
	uint8_t *req;

	run_init(30 + (uint32_t)m);
	R.pcfg.misbehave = m;
	R.pcfg.handshake_timeout_ms = 300;
	R.dcfg.request = req = ga_request(&R.dcfg.request_len);
	R.dcfg.timeout_ms = 2000;
	run(true);
	free(req);
	R.dcfg.request = NULL;
}

static void
test_misbehaviour(void **state)
{
	const struct desk_result *res;

	(void)state;
	misbehave(CABLE_PHONE_WRONG_PSK);
	res = desk_result(R.d);
	assert_int_equal(res->error, CABLE_ERR_AUTH);
	assert_int_equal(res->error_stage, DESK_HANDSHAKE);
	assert_int_equal(R.closed.error, CABLE_ERR_AUTH);
	end_with_store();

	misbehave(CABLE_PHONE_BAD_ADVERT_TAG);
	res = desk_result(R.d);
	assert_int_equal(res->advert_error, CABLE_ERR_ADVERT_TAG);
	assert_int_equal(res->adverts_matched, 0);
	assert_int_equal(res->error, CABLE_ERR_TIMEOUT);
	assert_int_equal(res->error_stage, DESK_SCAN);
	expect_phone(CABLE_ERR_TIMEOUT, CABLE_PHONE_STAGE_ADVERTISING);
	end_with_store();

	misbehave(CABLE_PHONE_TRUNCATED_HANDSHAKE);
	res = desk_result(R.d);
	assert_int_equal(res->error, CABLE_ERR_HANDSHAKE_LENGTH);
	assert_int_equal(res->error_stage, DESK_HANDSHAKE);
	assert_int_equal(R.closed.error, CABLE_ERR_TUNNEL_CLOSED);
	end_with_store();

	misbehave(CABLE_PHONE_REVISION_0);
	res = desk_result(R.d);
	assert_int_equal(res->error, 0);
	assert_int_equal(res->revision, 0);
	assert_int_equal(res->updates, 0);
	/* The 512-byte padded map gets the transport's own padding on top (at least one byte). */
	assert_int_equal(res->first_ct_len, 544 + 16);
	assert_int_equal(res->response[0], CABLE_CTAP2_ERR_NO_CREDENTIALS);
	assert_int_equal(R.closed.error, 0);
	assert_true(R.closed.answered);
	end_with_store();

	misbehave(CABLE_PHONE_GARBAGE);
	res = desk_result(R.d);
	assert_int_equal(res->error, CABLE_ERR_AUTH);
	assert_int_equal(res->error_stage, DESK_POST_HANDSHAKE);
	assert_int_equal(res->first_ct_len, 48);
	end_with_store();

	misbehave(CABLE_PHONE_SHUTDOWN);
	res = desk_result(R.d);
	assert_int_equal(res->error, CABLE_ERR_PEER_SHUTDOWN);
	assert_int_equal(res->error_stage, DESK_RESPONSE);
	assert_null(res->response);
	end_with_store();

	misbehave(CABLE_PHONE_SHUTDOWN_AFTER);
	res = desk_result(R.d);
	assert_int_equal(res->error, 0);
	assert_non_null(res->response);
	assert_int_equal(res->after_error, CABLE_ERR_PEER_SHUTDOWN);
	assert_int_equal(R.closed.error, 0);
	end_with_store();

	misbehave(CABLE_PHONE_OUT_OF_ORDER);
	res = desk_result(R.d);
	assert_int_equal(res->error, CABLE_ERR_AUTH);
	assert_int_equal(res->error_stage, DESK_POST_HANDSHAKE);
	assert_int_equal(res->first_ct_len, CABLE_UPDATE_CIPHERTEXT_LEN);
	end_with_store();

	misbehave(CABLE_PHONE_DROP_TUNNEL);
	res = desk_result(R.d);
	assert_int_equal(res->error, CABLE_ERR_TUNNEL_CLOSED);
	assert_int_equal(res->error_stage, DESK_RESPONSE);
	assert_int_equal(cable_mem_io_drops(R.mio), 1);
	expect_phone(CABLE_ERR_TUNNEL_CLOSED, CABLE_PHONE_STAGE_REQUEST);
	end_with_store();

	misbehave(CABLE_PHONE_NO_UPDATE);
	res = desk_result(R.d);
	assert_int_equal(res->error, 0);
	assert_int_equal(res->updates, 0);
	assert_non_null(res->response);
	end_with_store();

	misbehave(CABLE_PHONE_BAD_UPDATE);
	res = desk_result(R.d);
	assert_int_equal(res->error, CABLE_ERR_UPDATE);
	end_with_store();
}

static void
test_names(void **state)
{
	enum cable_phone_misbehave m;

	(void)state;
	for (unsigned i = 0; i <= CABLE_PHONE_MISBEHAVE_MAX; i++) {
		const char *n = cable_phone_misbehave_name((enum cable_phone_misbehave)i);
		assert_non_null(n);
		assert_int_equal(cable_phone_misbehave_from_name(n, &m), 0);
		assert_int_equal(m, i);
	}
	assert_null(cable_phone_misbehave_name((enum cable_phone_misbehave)(CABLE_PHONE_MISBEHAVE_MAX + 1)));
	assert_int_equal(cable_phone_misbehave_from_name("nope", &m), CABLE_ERR_ARG);
	assert_string_equal(cable_phone_stage_name(CABLE_PHONE_STAGE_ADVERTISING), "advertising");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_make_credential_then_get_assertion),
		cmocka_unit_test(test_linger_then_close),
		cmocka_unit_test(test_user_presence),
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_bad_url),
		cmocka_unit_test(test_tunnel_failures),
		cmocka_unit_test(test_advert_failures),
		cmocka_unit_test(test_handshake_failures),
		cmocka_unit_test(test_transport_failures),
		cmocka_unit_test(test_misbehaviour),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

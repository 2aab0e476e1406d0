/* The phone's side of a QR-initiated hybrid session, driven by tunnel, BLE and timer events. */
#include "cable/phone-session.h"

#include <stdlib.h>
#include <string.h>

#include "cable/advert.h"
#include "cable/bytes.h"
#include "cable/cbor.h"
#include "cable/crypter.h"
#include "cable/error.h"
#include "cable/kdf.h"
#include "cable/messages.h"
#include "cable/noise.h"

#define RP_ID_MAX 256

struct cable_phone_session {
	const struct cable_session_io *io;
	struct cable_phone_config cfg;
	struct cable_authenticator *auth;
	enum cable_phone_stage stage;
	int result;
	bool answered;
	int confirm_status; /* for the held request: -1 waiting, 0 approved, or a CTAP status */
	enum cable_phone_stage ended_in; /* where finish() was called, for the CLOSED event */
	bool rev0;         /* revision 0 spoken: no framing */

	struct cable_qr qr;
	uint8_t tunnel_id[CABLE_TUNNEL_ID_LEN];
	uint8_t eid_key[CABLE_EID_KEY_LEN];
	uint8_t plain[CABLE_EID_PLAIN_LEN];
	uint8_t psk[CABLE_PSK_LEN];
	uint8_t advert[CABLE_ADVERT_LEN];
	struct cable_noise *noise;
	struct cable_crypter *crypter;

	void *tunnel;
	void *adv;
	struct cable_loop_timer *timer;       /* the current stage's timeout */
	struct cable_loop_timer *work_timer;  /* delayed answer */
	bool tunnel_closed;                   /* closed() came: the handle only needs freeing */

	uint8_t *request;                     /* request being handled (command || CBOR) */
	size_t request_len;
};

static const char *const stage_names[] = {
	[CABLE_PHONE_STAGE_IDLE] = "idle",
	[CABLE_PHONE_STAGE_TUNNEL] = "tunnel",
	[CABLE_PHONE_STAGE_ADVERTISING] = "advertising",
	[CABLE_PHONE_STAGE_REQUEST] = "request",
	[CABLE_PHONE_STAGE_CONFIRM] = "confirm",
	[CABLE_PHONE_STAGE_ANSWERED] = "answered",
	[CABLE_PHONE_STAGE_CLOSING] = "closing",
	[CABLE_PHONE_STAGE_DONE] = "done",
};

const char *
cable_phone_stage_name(enum cable_phone_stage stage)
{
	if ((unsigned)stage >= sizeof(stage_names) / sizeof(stage_names[0]))
		return "?";
	return stage_names[stage];
}

static const char *const misbehave_names[] = {
	[CABLE_PHONE_OK] = "none",
	[CABLE_PHONE_WRONG_PSK] = "wrong-psk",
	[CABLE_PHONE_BAD_ADVERT_TAG] = "bad-advert-tag",
	[CABLE_PHONE_TRUNCATED_HANDSHAKE] = "truncated-handshake",
	[CABLE_PHONE_REVISION_0] = "revision-0",
	[CABLE_PHONE_GARBAGE] = "garbage",
	[CABLE_PHONE_SHUTDOWN] = "shutdown",
	[CABLE_PHONE_SHUTDOWN_AFTER] = "shutdown-after",
	[CABLE_PHONE_OUT_OF_ORDER] = "out-of-order",
	[CABLE_PHONE_DROP_TUNNEL] = "drop-tunnel",
	[CABLE_PHONE_NO_UPDATE] = "no-update",
	[CABLE_PHONE_BAD_UPDATE] = "bad-update",
};

const char *
cable_phone_misbehave_name(enum cable_phone_misbehave m)
{
	if ((unsigned)m > CABLE_PHONE_MISBEHAVE_MAX)
		return NULL;
	return misbehave_names[m];
}

int
cable_phone_misbehave_from_name(const char *name, enum cable_phone_misbehave *out)
{
	if (name == NULL || out == NULL)
		return CABLE_ERR_ARG;
	for (unsigned i = 0; i <= CABLE_PHONE_MISBEHAVE_MAX; i++)
		if (strcmp(name, misbehave_names[i]) == 0) {
			*out = (enum cable_phone_misbehave)i;
			return 0;
		}
	return CABLE_ERR_ARG;
}

/* ---- Helpers ---- */

static void
emit(struct cable_phone_session *s, struct cable_phone_event *ev)
{
	ev->stage = s->stage;
	if (s->cfg.event != NULL)
		s->cfg.event(s->cfg.event_arg, ev);
}

static struct cable_loop *
loop_of(const struct cable_phone_session *s)
{
	return s->io->loop;
}

static void
timer_stop(struct cable_phone_session *s, struct cable_loop_timer **t)
{
	loop_of(s)->ops->timer_del(t);
}

static void stage_timeout(void *arg);
static void answer(struct cable_phone_session *s);
static void answer_when_due(struct cable_phone_session *s);

/* Enters a stage and (re)starts its timeout; ms == 0 means no timeout. */
static int
enter(struct cable_phone_session *s, enum cable_phone_stage stage, uint32_t ms)
{
	timer_stop(s, &s->timer);
	s->stage = stage;
	if (ms == 0)
		return 0;
	return loop_of(s)->ops->timer_add(loop_of(s), (uint64_t)ms * 1000u, stage_timeout, s,
	    &s->timer);
}

static void
wipe_secrets(struct cable_phone_session *s)
{
	cable_qr_wipe(&s->qr);
	cable_wipe(s->eid_key, sizeof(s->eid_key));
	cable_wipe(s->psk, sizeof(s->psk));
	cable_wipe(s->plain, sizeof(s->plain));
	cable_wipe(s->tunnel_id, sizeof(s->tunnel_id));
	cable_noise_free(&s->noise);
	cable_crypter_free(&s->crypter);
	if (s->request != NULL) {
		cable_wipe(s->request, s->request_len);
		free(s->request);
		s->request = NULL;
		s->request_len = 0;
	}
}

static void
advert_stop(struct cable_phone_session *s)
{
	if (s->adv != NULL)
		s->io->ble->advertise_stop(s->io->ble->ctx, &s->adv);
}

/* The session is over: the tunnel is gone, tell the owner once. */
static void
complete(struct cable_phone_session *s)
{
	struct cable_phone_event ev = {.type = CABLE_PHONE_EV_CLOSED};

	if (s->stage == CABLE_PHONE_STAGE_DONE)
		return;
	timer_stop(s, &s->timer);
	timer_stop(s, &s->work_timer);
	advert_stop(s);
	s->io->tunnel->free(&s->tunnel);
	wipe_secrets(s);
	ev.error = s->result;
	ev.answered = s->answered;
	s->stage = CABLE_PHONE_STAGE_DONE;
	/* Report the stage the session ended in, not "closing". */
	ev.stage = s->ended_in;
	if (s->cfg.event != NULL)
		s->cfg.event(s->cfg.event_arg, &ev);
}

/*
 * Ends the session with err. The tunnel is closed normally (queued messages still go out) and the
 * CLOSED event follows its closed() callback, or drop is used when close does not complete.
 */
static void
finish(struct cable_phone_session *s, int err, bool drop)
{
	if (s->stage == CABLE_PHONE_STAGE_CLOSING || s->stage == CABLE_PHONE_STAGE_DONE)
		return;
	s->result = err;
	s->ended_in = s->stage;
	timer_stop(s, &s->work_timer);
	advert_stop(s);
	wipe_secrets(s);
	if (s->tunnel == NULL || s->tunnel_closed || drop) {
		complete(s);
		return;
	}
	s->io->tunnel->close(s->tunnel);
	if (enter(s, CABLE_PHONE_STAGE_CLOSING, s->cfg.close_timeout_ms) != 0)
		complete(s);
}

static void
stage_timeout(void *arg)
{
	struct cable_phone_session *s = arg;

	/* Fired: the lws loop leaves the object to its owner, the poll loop tolerates the del. */
	timer_stop(s, &s->timer);
	switch (s->stage) {
	case CABLE_PHONE_STAGE_CONFIRM:
		/* The person did not answer: a phone's sheet times out and says so to the desktop. */
		s->confirm_status = CABLE_CTAP2_ERR_USER_ACTION_TIMEOUT;
		answer(s);
		return;
	case CABLE_PHONE_STAGE_ANSWERED:
		/* No shutdown came within the linger: we close, which is all §7.4 asks of a phone. */
		finish(s, 0, false);
		return;
	case CABLE_PHONE_STAGE_CLOSING:
		complete(s);
		return;
	default:
		finish(s, CABLE_ERR_TIMEOUT, false);
		return;
	}
}

/* Encrypts pt and sends it; frees nothing of the caller's. */
static int
seal_send(struct cable_phone_session *s, const uint8_t *pt, size_t len)
{
	uint8_t *ct = NULL;
	size_t ct_len;
	int r;

	if ((r = cable_crypter_encrypt(s->crypter, pt, len, &ct, &ct_len)) != 0)
		return r;
	r = s->io->tunnel->send(s->tunnel, ct, ct_len);
	free(ct);
	return r;
}

/* ---- Tunnel callbacks ---- */

static void on_advert_error(void *arg, int code);

static void
on_opened(void *arg, const uint8_t *routing_id)
{
	static const struct cable_ble_adv_cbs adv_cbs = {NULL, on_advert_error};
	struct cable_phone_session *s = arg;
	struct cable_phone_event ev = {.type = CABLE_PHONE_EV_TUNNEL_OPEN};
	struct cable_eid eid;
	int r;

	if (s->stage != CABLE_PHONE_STAGE_TUNNEL)
		return;
	if (routing_id == NULL) {
		finish(s, CABLE_ERR_TUNNEL_ROUTING_ID, false);
		return;
	}
	ev.routing_id = routing_id;
	emit(s, &ev);
	if ((r = cable_advert_build(s->eid_key, s->cfg.env, routing_id, s->cfg.domain_id, s->advert,
		 &eid, s->plain)) != 0)
		goto fail;
	if (s->cfg.misbehave == CABLE_PHONE_WRONG_PSK) {
		/* A phone that salts its PSK with something other than the plaintext it advertised. */
		uint8_t wrong[CABLE_EID_PLAIN_LEN];

		memcpy(wrong, s->plain, sizeof(wrong));
		wrong[CABLE_EID_PLAIN_LEN - 1] ^= 0x5a;
		r = cable_derive_psk(s->qr.secret, sizeof(s->qr.secret), wrong, s->psk);
		cable_wipe(wrong, sizeof(wrong));
	} else
		r = cable_derive_psk(s->qr.secret, sizeof(s->qr.secret), s->plain, s->psk);
	cable_wipe(&eid, sizeof(eid));
	if (r != 0)
		goto fail;
	if (s->cfg.misbehave == CABLE_PHONE_BAD_ADVERT_TAG)
		s->advert[CABLE_ADVERT_LEN - 1] ^= 0x80;
	if ((r = enter(s, CABLE_PHONE_STAGE_ADVERTISING, s->cfg.handshake_timeout_ms)) != 0)
		goto fail;
	if ((r = s->io->ble->advertise_start(s->io->ble->ctx, CABLE_ADVERT_UUID_FIDO, s->advert,
		 CABLE_ADVERT_LEN, &adv_cbs, s, &s->adv)) != 0)
		goto fail;
	memset(&ev, 0, sizeof(ev));
	ev.type = CABLE_PHONE_EV_ADVERTISING;
	ev.advert = s->advert;
	ev.advert_len = CABLE_ADVERT_LEN;
	ev.uuid16 = CABLE_ADVERT_UUID_FIDO;
	ev.domain_id = s->cfg.domain_id;
	emit(s, &ev);
	return;
fail:
	finish(s, r, false);
}

static void
on_advert_error(void *arg, int code)
{
	struct cable_phone_session *s = arg;

	/* After the handshake the advert is stopped: an error then cannot come (stop frees it). */
	advert_stop(s);
	finish(s, code != 0 ? code : CABLE_ERR_BT_ADVERTISE, false);
}

/* The post-handshake message and the update, as the configured phone sends them. */
static int
send_hello(struct cable_phone_session *s)
{
	const uint8_t *gi;
	size_t gi_len, msg_len, pad_len, upd_len;
	uint8_t *msg = NULL, *pad = NULL, *upd = NULL, *ct1 = NULL, *ct2 = NULL;
	size_t ct1_len, ct2_len;
	int r;

	if ((r = cable_authenticator_get_info(s->auth, &gi, &gi_len)) != 0)
		goto out;
	if ((r = cable_post_handshake_build(gi, gi_len, CABLE_FEATURE_CTAP, &msg, &msg_len)) != 0)
		goto out;
	if (s->cfg.misbehave == CABLE_PHONE_REVISION_0) {
		/* Revision 0: the map padded to 512 with a 16-bit trailer; no update, no framing. */
		if ((r = cable_padded_map_encode(msg, msg_len, &pad, &pad_len)) != 0)
			goto out;
		s->rev0 = true;
		r = seal_send(s, pad, pad_len);
		goto out;
	}
	if (s->cfg.misbehave == CABLE_PHONE_GARBAGE) {
		uint8_t junk[48];

		if ((r = cable_env_random(s->cfg.env, junk, sizeof(junk))) != 0 ||
		    (r = s->io->tunnel->send(s->tunnel, junk, sizeof(junk))) != 0)
			goto out;
	}
	if ((r = cable_crypter_encrypt(s->crypter, msg, msg_len, &ct1, &ct1_len)) != 0)
		goto out;
	if (s->cfg.misbehave == CABLE_PHONE_NO_UPDATE) {
		r = s->io->tunnel->send(s->tunnel, ct1, ct1_len);
		goto out;
	}
	if (s->cfg.misbehave == CABLE_PHONE_BAD_UPDATE) {
		/* Type 2 with a CBOR array where the map should be. */
		static const uint8_t bad[] = {CABLE_FRAME_UPDATE, 0x81, 0x00};

		if ((upd = malloc(sizeof(bad))) == NULL) {
			r = CABLE_ERR_NOMEM;
			goto out;
		}
		memcpy(upd, bad, sizeof(bad));
		upd_len = sizeof(bad);
	} else if ((r = cable_update_build(NULL, &upd, &upd_len)) != 0)
		goto out;
	if ((r = cable_crypter_encrypt(s->crypter, upd, upd_len, &ct2, &ct2_len)) != 0)
		goto out;
	if (s->cfg.misbehave == CABLE_PHONE_OUT_OF_ORDER) {
		if ((r = s->io->tunnel->send(s->tunnel, ct2, ct2_len)) != 0)
			goto out;
		r = s->io->tunnel->send(s->tunnel, ct1, ct1_len);
	} else {
		if ((r = s->io->tunnel->send(s->tunnel, ct1, ct1_len)) != 0)
			goto out;
		r = s->io->tunnel->send(s->tunnel, ct2, ct2_len);
	}
out:
	free(msg);
	free(pad);
	free(upd);
	free(ct1);
	free(ct2);
	return r;
}

static void
handle_handshake(struct cable_phone_session *s, const uint8_t *data, size_t len)
{
	struct cable_phone_event ev = {.type = CABLE_PHONE_EV_HANDSHAKE};
	uint8_t resp[CABLE_NOISE_MSG_LEN];
	int r;

	/* The desktop found us: stop advertising at once (§11). */
	advert_stop(s);
	if ((s->noise = cable_noise_new()) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto fail;
	}
	if ((r = cable_noise_start(s->noise, CABLE_NOISE_KNPSK0, CABLE_NOISE_RESPONDER, s->psk, NULL,
		 s->qr.public_key_full)) != 0)
		goto fail;
	cable_wipe(s->psk, sizeof(s->psk));
	if ((r = cable_noise_read_message(s->noise, data, len)) != 0) {
		if (s->cfg.misbehave == CABLE_PHONE_WRONG_PSK && r == CABLE_ERR_AUTH) {
			/*
			 * A phone that does not notice answers with keys the desktop cannot share: a
			 * valid ephemeral point and a tag under another key (indistinguishable from
			 * random bytes), so the desktop's check of the response fails.
			 */
			struct cable_p256_key e;
			int r2;

			if ((r2 = cable_p256_generate(s->cfg.env, &e)) == 0) {
				memcpy(resp, e.pub, CABLE_P256_PUB_LEN);
				r2 = cable_env_random(s->cfg.env, resp + CABLE_P256_PUB_LEN,
				    CABLE_NOISE_MSG_LEN - CABLE_P256_PUB_LEN);
			}
			cable_p256_key_wipe(&e);
			if (r2 == 0)
				(void)s->io->tunnel->send(s->tunnel, resp, sizeof(resp));
		}
		goto fail;
	}
	if ((r = cable_noise_write_message(s->noise, s->cfg.env, resp)) != 0 ||
	    (r = cable_noise_split(s->noise, &s->crypter)) != 0)
		goto fail;
	cable_noise_free(&s->noise);
	if ((r = s->io->tunnel->send(s->tunnel, resp,
		 s->cfg.misbehave == CABLE_PHONE_TRUNCATED_HANDSHAKE ? sizeof(resp) - 1 : sizeof(resp))) != 0)
		goto fail;
	if ((r = send_hello(s)) != 0)
		goto fail;
	if ((r = enter(s, CABLE_PHONE_STAGE_REQUEST, s->cfg.request_timeout_ms)) != 0)
		goto fail;
	emit(s, &ev);
	return;
fail:
	finish(s, r, false);
}

/* The RP ID of a makeCredential (key 2 "id") or getAssertion (key 1) request, if readable. */
static void
request_rp_id(const uint8_t *req, size_t len, char *out, size_t out_len)
{
	cbor_item_t *map = NULL, *v = NULL;

	out[0] = '\0';
	if (len < 2 || cable_cbor_load(req + 1, len - 1, 0, &map) != 0)
		return;
	if (!cbor_isa_map(map) || !cbor_map_is_definite(map))
		goto out;
	if (req[0] == CABLE_CTAP_MAKE_CREDENTIAL) {
		cbor_item_t *rp = cable_cbor_map_get_int(map, 2);
		if (rp != NULL && cbor_isa_map(rp))
			v = cable_cbor_map_get_str(rp, "id");
	} else if (req[0] == CABLE_CTAP_GET_ASSERTION)
		v = cable_cbor_map_get_int(map, 1);
	if (v != NULL && cbor_isa_string(v) && cbor_string_is_definite(v) &&
	    cbor_string_length(v) < out_len && cbor_string_length(v) < RP_ID_MAX) {
		memcpy(out, cbor_string_handle(v), cbor_string_length(v));
		out[cbor_string_length(v)] = '\0';
		/* Printable ASCII only: the name goes to terminals and logs. */
		for (char *p = out; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
	}
out:
	cbor_decref(&map);
}

/* Runs the authenticator on the held request and sends the answer. */
static void
answer(struct cable_phone_session *s)
{
	struct cable_phone_event ev = {.type = CABLE_PHONE_EV_ANSWERED};
	uint8_t *resp = NULL, *frame = NULL;
	size_t resp_len = 0, frame_len;
	uint8_t command;
	int r;

	if (s->request == NULL)
		return;
	command = s->request[0];
	if (s->cfg.misbehave == CABLE_PHONE_SHUTDOWN) {
		if ((r = seal_send(s, (const uint8_t[]){CABLE_FRAME_SHUTDOWN}, 1)) != 0)
			goto fail;
		finish(s, 0, false);
		return;
	}
	if ((r = cable_authenticator_handle(s->auth, s->request, s->request_len, &resp, &resp_len)) != 0)
		goto fail;
	cable_wipe(s->request, s->request_len);
	free(s->request);
	s->request = NULL;
	if (s->rev0)
		r = seal_send(s, resp, resp_len);
	else if ((r = cable_frame_encode(CABLE_FRAME_CTAP, resp, resp_len, &frame, &frame_len)) == 0)
		r = seal_send(s, frame, frame_len);
	if (r != 0)
		goto fail;
	ev.command = command;
	ev.status = resp[0];
	ev.response_len = resp_len;
	if (command == CABLE_CTAP_GET_INFO) {
		/* getInfo does not end the transaction (Chrome's phone answers it and waits). */
		if ((r = enter(s, CABLE_PHONE_STAGE_REQUEST, s->cfg.request_timeout_ms)) != 0)
			goto fail;
		emit(s, &ev);
		goto out;
	}
	s->answered = true;
	if ((r = enter(s, CABLE_PHONE_STAGE_ANSWERED, s->cfg.linger_ms)) != 0)
		goto fail;
	emit(s, &ev);
	if (s->cfg.misbehave == CABLE_PHONE_SHUTDOWN_AFTER) {
		r = seal_send(s, (const uint8_t[]){CABLE_FRAME_SHUTDOWN}, 1);
		finish(s, r, false);
	}
	goto out;
fail:
	finish(s, r, false);
out:
	free(resp);
	free(frame);
}

static void
on_work_timer(void *arg)
{
	struct cable_phone_session *s = arg;

	timer_stop(s, &s->work_timer);
	if (s->stage == CABLE_PHONE_STAGE_CONFIRM)
		answer(s);
}

/* After the user's answer (or at once): answer now, or after delay_ms. */
static void
answer_when_due(struct cable_phone_session *s)
{
	if (s->cfg.delay_ms > 0) {
		if (loop_of(s)->ops->timer_add(loop_of(s), (uint64_t)s->cfg.delay_ms * 1000u, on_work_timer,
			s, &s->work_timer) != 0)
			finish(s, CABLE_ERR_NOMEM, false);
		return;
	}
	answer(s);
}

static int
confirm_cb(void *ctx, const struct cable_authenticator_prompt *prompt, size_t *selected)
{
	struct cable_phone_session *s = ctx;

	(void)prompt;
	*selected = 0;
	return s->confirm_status >= 0 ? s->confirm_status : CABLE_CTAP2_ERR_OPERATION_DENIED;
}

static void
handle_request(struct cable_phone_session *s, const uint8_t *req, size_t len)
{
	struct cable_phone_event ev = {.type = CABLE_PHONE_EV_REQUEST};
	char rp_id[RP_ID_MAX];
	int r;

	if (len < 1) {
		finish(s, CABLE_ERR_FRAME_EMPTY, false);
		return;
	}
	if (s->cfg.misbehave == CABLE_PHONE_DROP_TUNNEL) {
		ev.command = req[0];
		emit(s, &ev);
		finish(s, CABLE_ERR_TUNNEL_CLOSED, true);
		return;
	}
	if ((s->request = malloc(len)) == NULL) {
		finish(s, CABLE_ERR_NOMEM, false);
		return;
	}
	memcpy(s->request, req, len);
	s->request_len = len;
	request_rp_id(req, len, rp_id, sizeof(rp_id));
	/* getInfo needs no person. */
	s->confirm_status = s->cfg.ask_user && req[0] != CABLE_CTAP_GET_INFO ? -1 : 0;
	if ((r = enter(s, CABLE_PHONE_STAGE_CONFIRM,
		 s->confirm_status < 0 ? s->cfg.confirm_timeout_ms : 0)) != 0) {
		finish(s, r, false);
		return;
	}
	ev.command = req[0];
	ev.rp_id = rp_id[0] != '\0' ? rp_id : NULL;
	emit(s, &ev);
	if (s->stage == CABLE_PHONE_STAGE_CONFIRM && s->confirm_status >= 0)
		answer_when_due(s);
}

static void
handle_transport(struct cable_phone_session *s, const uint8_t *data, size_t len)
{
	struct cable_phone_event ev = {.type = CABLE_PHONE_EV_SHUTDOWN};
	uint8_t *pt = NULL, type;
	const uint8_t *payload;
	size_t pt_len, payload_len;
	int pending = s->stage == CABLE_PHONE_STAGE_CONFIRM ? CABLE_FRAME_CTAP : -1;
	int r;

	if ((r = cable_crypter_decrypt(s->crypter, data, len, &pt, &pt_len)) != 0)
		goto fail;
	if (s->rev0) {
		/* Revision 0: every message is a raw CTAP request. */
		if (pending != -1 || s->stage == CABLE_PHONE_STAGE_ANSWERED) {
			r = CABLE_ERR_UNEXPECTED;
			goto fail;
		}
		handle_request(s, pt, pt_len);
		goto out;
	}
	if ((r = cable_frame_parse(pt, pt_len, &type, &payload, &payload_len)) != 0 ||
	    (r = cable_frame_check_incoming(CABLE_SIDE_PHONE, pending, type)) != 0)
		goto fail;
	switch (type) {
	case CABLE_FRAME_SHUTDOWN:
		emit(s, &ev);
		/* A desktop that gives up before asking anything ends the session without success. */
		finish(s, s->answered ? 0 : CABLE_ERR_PEER_SHUTDOWN, false);
		break;
	case CABLE_FRAME_UPDATE: {
		/* Chrome's phone checks that it is CBOR and ignores it. */
		cbor_item_t *item = NULL;

		if (cable_cbor_load(payload, payload_len, 0, &item) != 0 || !cbor_isa_map(item)) {
			if (item != NULL)
				cbor_decref(&item);
			r = CABLE_ERR_UPDATE;
			goto fail;
		}
		cbor_decref(&item);
		break;
	}
	case CABLE_FRAME_CTAP:
		if (s->stage == CABLE_PHONE_STAGE_ANSWERED) {
			/* One transaction per session, like Chrome's phone. */
			r = CABLE_ERR_UNEXPECTED;
			goto fail;
		}
		handle_request(s, payload, payload_len);
		break;
	default:
		/* JSON (digital credentials) was not offered in the post-handshake message. */
		r = CABLE_ERR_UNSUPPORTED;
		goto fail;
	}
	goto out;
fail:
	finish(s, r, false);
out:
	if (pt != NULL) {
		cable_wipe(pt, pt_len);
		free(pt);
	}
}

static void
on_message(void *arg, const uint8_t *data, size_t len)
{
	struct cable_phone_session *s = arg;

	switch (s->stage) {
	case CABLE_PHONE_STAGE_ADVERTISING:
		handle_handshake(s, data, len);
		break;
	case CABLE_PHONE_STAGE_REQUEST:
	case CABLE_PHONE_STAGE_CONFIRM:
	case CABLE_PHONE_STAGE_ANSWERED:
		handle_transport(s, data, len);
		break;
	case CABLE_PHONE_STAGE_TUNNEL:
		/* Nothing may come before the desktop has seen our advert. */
		finish(s, CABLE_ERR_UNEXPECTED, false);
		break;
	default:
		break; /* closing: whatever still arrives is of no use */
	}
}

static void
on_closed(void *arg, int err)
{
	struct cable_phone_session *s = arg;

	s->tunnel_closed = true;
	if (s->stage == CABLE_PHONE_STAGE_CLOSING) {
		complete(s);
		return;
	}
	if (s->stage == CABLE_PHONE_STAGE_DONE)
		return;
	/*
	 * The desktop (or the server) closed. After our answer that is the normal end, and revision
	 * 0 desktops end that way. Before it, the tunnel's own error or "closed" says what happened.
	 */
	if (s->answered)
		finish(s, 0, false);
	else
		finish(s, err != 0 ? err : CABLE_ERR_TUNNEL_CLOSED, false);
}

/* ---- Public ---- */

int
cable_phone_session_new(const struct cable_session_io *io, const struct cable_phone_config *cfg,
    struct cable_phone_session **out)
{
	struct cable_authenticator_config acfg;
	struct cable_phone_session *s;

	if (io == NULL || io->loop == NULL || io->ble == NULL || io->tunnel == NULL || cfg == NULL ||
	    cfg->env == NULL || cfg->store == NULL || out == NULL ||
	    (unsigned)cfg->misbehave > CABLE_PHONE_MISBEHAVE_MAX)
		return CABLE_ERR_ARG;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return CABLE_ERR_NOMEM;
	s->io = io;
	s->cfg = *cfg;
	if (s->cfg.tunnel_timeout_ms == 0)
		s->cfg.tunnel_timeout_ms = 20000;
	if (s->cfg.handshake_timeout_ms == 0)
		s->cfg.handshake_timeout_ms = 120000;
	if (s->cfg.request_timeout_ms == 0)
		s->cfg.request_timeout_ms = 60000;
	if (s->cfg.confirm_timeout_ms == 0)
		s->cfg.confirm_timeout_ms = 60000;
	if (s->cfg.linger_ms == 0)
		s->cfg.linger_ms = 2000;
	if (s->cfg.close_timeout_ms == 0)
		s->cfg.close_timeout_ms = 3000;
	memset(&acfg, 0, sizeof(acfg));
	acfg.store = cfg->store;
	acfg.confirm = confirm_cb;
	acfg.confirm_ctx = s;
	acfg.persist = cfg->persist;
	acfg.persist_ctx = cfg->persist_ctx;
	acfg.attestation = cfg->attestation;
	if ((s->auth = cable_authenticator_new(cfg->env, &acfg)) == NULL) {
		free(s);
		return CABLE_ERR_NOMEM;
	}
	*out = s;
	return 0;
}

void
cable_phone_session_free(struct cable_phone_session **sp)
{
	struct cable_phone_session *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	timer_stop(s, &s->timer);
	timer_stop(s, &s->work_timer);
	advert_stop(s);
	s->io->tunnel->free(&s->tunnel);
	wipe_secrets(s);
	cable_authenticator_free(&s->auth);
	cable_wipe(s, sizeof(*s));
	free(s);
	*sp = NULL;
}

int
cable_phone_session_start(struct cable_phone_session *s, const char *url)
{
	static const struct cable_tunnel_io_cbs tcbs = {on_opened, on_message, on_closed};
	struct cable_phone_event ev = {.type = CABLE_PHONE_EV_QR};
	int r = CABLE_ERR_INTERNAL;

	if (s == NULL || url == NULL)
		return CABLE_ERR_ARG;
	if (s->stage != CABLE_PHONE_STAGE_IDLE)
		return CABLE_ERR_STATE;
	if ((r = cable_qr_from_url(url, strlen(url), &s->qr, NULL)) != 0 ||
	    (r = cable_qr_tunnel_id(&s->qr, s->tunnel_id)) != 0 ||
	    (r = cable_qr_eid_key(&s->qr, s->eid_key)) != 0)
		goto fail;
	ev.request_type = s->qr.request_type;
	emit(s, &ev);
	if ((r = s->io->tunnel->open_new(s->io->tunnel->ctx, s->cfg.domain_id, s->tunnel_id, &tcbs, s,
		 &s->tunnel)) != 0)
		goto fail;
	if ((r = enter(s, CABLE_PHONE_STAGE_TUNNEL, s->cfg.tunnel_timeout_ms)) != 0)
		goto fail;
	return 0;
fail:
	s->io->tunnel->free(&s->tunnel);
	wipe_secrets(s);
	s->stage = CABLE_PHONE_STAGE_DONE;
	s->result = r;
	return r;
}

int
cable_phone_session_confirm(struct cable_phone_session *s, bool approve)
{
	if (s == NULL)
		return CABLE_ERR_ARG;
	if (s->stage != CABLE_PHONE_STAGE_CONFIRM || s->confirm_status >= 0 || s->request == NULL)
		return CABLE_ERR_STATE;
	s->confirm_status = approve ? 0 : CABLE_CTAP2_ERR_OPERATION_DENIED;
	timer_stop(s, &s->timer);
	answer_when_due(s);
	return 0;
}

void
cable_phone_session_cancel(struct cable_phone_session *s)
{
	if (s != NULL && s->stage != CABLE_PHONE_STAGE_IDLE)
		finish(s, CABLE_ERR_CANCELLED, false);
}

enum cable_phone_stage
cable_phone_session_stage(const struct cable_phone_session *s)
{
	return s != NULL ? s->stage : CABLE_PHONE_STAGE_IDLE;
}

int
cable_phone_session_result(const struct cable_phone_session *s)
{
	return s != NULL ? s->result : CABLE_ERR_ARG;
}

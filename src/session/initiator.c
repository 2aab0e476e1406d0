/* The desktop (initiator) side of one QR-initiated hybrid session, over the session I/O tables. */
#include "cable/initiator.h"

#include <stdlib.h>
#include <string.h>

#include "cable/advert.h"
#include "cable/bytes.h"
#include "cable/crypter.h"
#include "cable/error.h"
#include "cable/kdf.h"
#include "cable/noise.h"
#include "cable/p256.h"
#include "cable/qr.h"
#include "cable/tunnel-url.h"

#define DEFAULT_TIMEOUT_MS 120000u
#define DEFAULT_CONNECT_MS 20000u
#define DEFAULT_POST_HANDSHAKE_MS 10000u
#define DEFAULT_LINGER_MS 2000u
#define DEFAULT_CLOSE_MS 2000u
/* A CTAP request larger than this cannot be a sensible makeCredential/getAssertion. */
#define REQUEST_MAX (64u * 1024u)

struct cable_initiator {
	const struct cable_session_io *io;
	struct cable_initiator_config cfg;
	uint8_t *request;
	size_t request_len;
	enum cable_initiator_stage stage;

	/* Secrets: wiped as soon as the session ends. */
	uint8_t key[CABLE_QR_KEY_LEN];
	struct cable_p256_key identity;
	struct cable_qr qr;
	uint8_t eid_key[CABLE_EID_KEY_LEN];
	uint8_t tunnel_id[CABLE_TUNNEL_ID_LEN];
	char *url;
	struct cable_noise *noise;
	struct cable_crypter *crypter;
	uint8_t hash[CABLE_NOISE_HASH_LEN];

	void *scan;
	void *tunnel;
	struct cable_loop_timer *timer;       /* the current stage's timeout */
	struct cable_loop_timer *final_timer; /* delivers the final event */
	uint64_t deadline;                    /* loop time when timeout_ms runs out */

	int revision;
	int pending; /* frame type of the outstanding request, -1 for none */
	uint8_t *getinfo;
	size_t getinfo_len;
	uint8_t *response;
	size_t response_len;
	bool has_linking;
	struct cable_linking_info linking;
	unsigned updates;
	int after_error;

	int result;
	bool cancelled;
	enum cable_initiator_stage end_stage;
};

const char *
cable_initiator_stage_name(enum cable_initiator_stage stage)
{
	switch (stage) {
	case CABLE_INITIATOR_STAGE_IDLE: return "idle";
	case CABLE_INITIATOR_STAGE_SCAN: return "scan";
	case CABLE_INITIATOR_STAGE_CONNECT: return "connect";
	case CABLE_INITIATOR_STAGE_POST_HANDSHAKE: return "post-handshake";
	case CABLE_INITIATOR_STAGE_RESPONSE: return "response";
	case CABLE_INITIATOR_STAGE_AFTER: return "after";
	case CABLE_INITIATOR_STAGE_CLOSING: return "closing";
	case CABLE_INITIATOR_STAGE_DONE: return "done";
	}
	return "?";
}

static uint32_t
ms_or(uint32_t v, uint32_t def)
{
	return v != 0 ? v : def;
}

static void
emit(struct cable_initiator *s, struct cable_initiator_event *ev)
{
	if (s->cfg.event != NULL)
		s->cfg.event(s->cfg.event_arg, ev);
}

static void
wipe_secrets(struct cable_initiator *s)
{
	cable_wipe(s->key, sizeof(s->key));
	cable_p256_key_wipe(&s->identity);
	cable_qr_wipe(&s->qr);
	cable_wipe(s->eid_key, sizeof(s->eid_key));
	cable_wipe(s->tunnel_id, sizeof(s->tunnel_id));
	cable_wipe(s->hash, sizeof(s->hash));
	if (s->url != NULL) {
		cable_wipe(s->url, strlen(s->url));
		free(s->url);
		s->url = NULL;
	}
	cable_noise_free(&s->noise);
	cable_crypter_free(&s->crypter);
	if (s->request != NULL)
		cable_wipe(s->request, s->request_len);
}

static void on_stage_timeout(void *arg);

/*
 * (Re)arms the stage timer. Stages up to the answer are also bounded by what is left of the
 * whole session's time; the closing stages are not (the answer is already in hand).
 */
static int
arm(struct cable_initiator *s, uint32_t ms, bool bounded)
{
	struct cable_loop *loop = s->io->loop;
	uint64_t delay = (uint64_t)ms * 1000u, now;

	loop->ops->timer_del(&s->timer);
	if (bounded) {
		now = loop->ops->now_usec(loop);
		if (now >= s->deadline)
			delay = 0;
		else if (s->deadline - now < delay)
			delay = s->deadline - now;
	}
	return loop->ops->timer_add(loop, delay, on_stage_timeout, s, &s->timer);
}

static void
on_final(void *arg)
{
	struct cable_initiator *s = arg;
	struct cable_initiator_event ev;

	s->io->loop->ops->timer_del(&s->final_timer);
	memset(&ev, 0, sizeof(ev));
	ev.stage = s->end_stage;
	ev.error = s->result;
	if (s->cancelled && s->response == NULL) {
		ev.type = CABLE_INITIATOR_EV_CANCELLED;
		ev.error = CABLE_ERR_CANCELLED;
	} else if (s->result != 0)
		ev.type = CABLE_INITIATOR_EV_FAILED;
	else
		ev.type = CABLE_INITIATOR_EV_DONE;
	/* The caller may free the session in here: touch nothing afterwards. */
	emit(s, &ev);
}

/* Everything is stopped and wiped; the final event goes out from the loop. */
static void
finish(struct cable_initiator *s)
{
	struct cable_loop *loop = s->io->loop;

	if (s->stage == CABLE_INITIATOR_STAGE_DONE)
		return;
	if (s->end_stage == CABLE_INITIATOR_STAGE_IDLE)
		s->end_stage = s->stage;
	s->stage = CABLE_INITIATOR_STAGE_DONE;
	loop->ops->timer_del(&s->timer);
	s->io->ble->scan_stop(s->io->ble->ctx, &s->scan);
	s->io->tunnel->free(&s->tunnel);
	wipe_secrets(s);
	if (loop->ops->timer_add(loop, 0, on_final, s, &s->final_timer) != 0)
		on_final(s); /* cannot defer it: deliver it now rather than never */
}

/* Closes the tunnel (completing in on_closed or on the close timer) or finishes at once. */
static void
close_tunnel(struct cable_initiator *s)
{
	s->io->ble->scan_stop(s->io->ble->ctx, &s->scan);
	if (s->tunnel == NULL) {
		finish(s);
		return;
	}
	s->stage = CABLE_INITIATOR_STAGE_CLOSING;
	s->io->tunnel->close(s->tunnel);
	if (s->stage == CABLE_INITIATOR_STAGE_CLOSING &&
	    arm(s, ms_or(s->cfg.close_timeout_ms, DEFAULT_CLOSE_MS), false) != 0)
		finish(s);
}

/* Ends the session with err, remembering the stage it happened in. */
static void
fail(struct cable_initiator *s, int err)
{
	if (s->stage == CABLE_INITIATOR_STAGE_DONE || s->stage == CABLE_INITIATOR_STAGE_CLOSING)
		return;
	if (s->result == 0 && s->response == NULL) {
		s->result = err;
		s->end_stage = s->stage;
	}
	close_tunnel(s);
}

static int
seal_send(struct cable_initiator *s, const uint8_t *pt, size_t len)
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

static int
send_shutdown(struct cable_initiator *s)
{
	static const uint8_t shutdown[1] = {CABLE_FRAME_SHUTDOWN};
	return seal_send(s, shutdown, sizeof(shutdown));
}

/* Linking info is kept only when its handshake signature verifies against our QR identity. */
static int
take_linking(struct cable_initiator *s, struct cable_linking_info *li)
{
	int r;

	if ((r = cable_linking_verify(&s->identity, li->peer_public, s->hash, li->signature)) != 0)
		return r;
	cable_linking_clear(&s->linking);
	s->linking = *li;
	s->has_linking = true;
	cable_wipe(li, sizeof(*li));
	return 0;
}

static void
got_answer(struct cable_initiator *s, const uint8_t *data, size_t len)
{
	struct cable_initiator_event ev;
	int r;

	if (len == 0) {
		fail(s, CABLE_ERR_FRAME_EMPTY);
		return;
	}
	if ((s->response = malloc(len)) == NULL) {
		fail(s, CABLE_ERR_NOMEM);
		return;
	}
	memcpy(s->response, data, len);
	s->response_len = len;
	s->pending = -1;
	s->stage = CABLE_INITIATOR_STAGE_AFTER;
	memset(&ev, 0, sizeof(ev));
	ev.type = CABLE_INITIATOR_EV_RESPONSE;
	ev.response = s->response;
	ev.response_len = s->response_len;
	ev.stage = s->stage;
	emit(s, &ev);
	if (s->stage != CABLE_INITIATOR_STAGE_AFTER)
		return; /* cancelled from the event */
	/* Revision 0 has no frames: closing the socket is the only way to say goodbye. */
	if (s->revision == 0) {
		close_tunnel(s);
		return;
	}
	if ((r = send_shutdown(s)) != 0) {
		s->after_error = r;
		close_tunnel(s);
		return;
	}
	if (arm(s, ms_or(s->cfg.linger_ms, DEFAULT_LINGER_MS), false) != 0)
		close_tunnel(s);
}

static void
send_request(struct cable_initiator *s)
{
	struct cable_initiator_event ev;
	uint8_t *frame = NULL;
	size_t frame_len;
	int r;

	if (s->revision == 0)
		r = seal_send(s, s->request, s->request_len);
	else if ((r = cable_frame_encode(CABLE_FRAME_CTAP, s->request, s->request_len, &frame,
		      &frame_len)) == 0)
		r = seal_send(s, frame, frame_len);
	if (frame != NULL) {
		cable_wipe(frame, frame_len);
		free(frame);
	}
	if (r != 0) {
		fail(s, r);
		return;
	}
	s->pending = CABLE_FRAME_CTAP;
	s->stage = CABLE_INITIATOR_STAGE_RESPONSE;
	if (arm(s, ms_or(s->cfg.response_timeout_ms, ms_or(s->cfg.timeout_ms, DEFAULT_TIMEOUT_MS)),
		true) != 0) {
		fail(s, CABLE_ERR_NOMEM);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = CABLE_INITIATOR_EV_WAITING;
	ev.revision = s->revision;
	ev.stage = s->stage;
	emit(s, &ev);
}

static void
handle_post_handshake(struct cable_initiator *s, const uint8_t *pt, size_t len)
{
	struct cable_post_handshake ph;
	int r;

	if ((r = cable_post_handshake_parse(pt, len, true, &ph)) != 0) {
		fail(s, r);
		return;
	}
	s->revision = ph.revision;
	if (!(ph.features & CABLE_FEATURE_CTAP)) {
		r = CABLE_ERR_UNSUPPORTED;
		goto out;
	}
	if (ph.getinfo == NULL) {
		r = CABLE_ERR_NO_GETINFO;
		goto out;
	}
	s->getinfo = ph.getinfo;
	s->getinfo_len = ph.getinfo_len;
	ph.getinfo = NULL;
	if (ph.has_linking && (r = take_linking(s, &ph.linking)) != 0)
		goto out;
	r = 0;
out:
	cable_post_handshake_clear(&ph);
	if (r != 0)
		fail(s, r);
	else
		send_request(s);
}

/* A message after the answer: updates are still honoured; nothing here can spoil the answer. */
static void
handle_after(struct cable_initiator *s, int err)
{
	if (err != 0 && s->after_error == 0)
		s->after_error = err;
	/* A phone that says shutdown (webauthn-rs) is about to close; anything else we close. */
	if (err != 0 && err != CABLE_ERR_PEER_SHUTDOWN)
		close_tunnel(s);
}

static void
handle_transport(struct cable_initiator *s, const uint8_t *ct, size_t ct_len)
{
	const bool after = s->stage == CABLE_INITIATOR_STAGE_AFTER;
	const uint8_t *payload;
	uint8_t *pt = NULL, type;
	size_t pt_len = 0, payload_len;
	int r;

	if ((r = cable_crypter_decrypt(s->crypter, ct, ct_len, &pt, &pt_len)) != 0)
		goto bad;
	if (s->stage == CABLE_INITIATOR_STAGE_POST_HANDSHAKE) {
		handle_post_handshake(s, pt, pt_len);
		goto out;
	}
	if (s->revision == 0) {
		if (after) {
			r = CABLE_ERR_UNEXPECTED;
			goto bad;
		}
		got_answer(s, pt, pt_len);
		goto out;
	}
	if ((r = cable_frame_parse(pt, pt_len, &type, &payload, &payload_len)) != 0 ||
	    (r = cable_frame_check_incoming(CABLE_SIDE_DESKTOP, s->pending, type)) != 0)
		goto bad;
	if (type == CABLE_FRAME_UPDATE) {
		struct cable_update u;

		if ((r = cable_update_parse(payload, payload_len, &u)) != 0)
			goto bad;
		s->updates++;
		if (u.has_linking)
			r = take_linking(s, &u.linking);
		cable_linking_clear(&u.linking);
		if (r != 0)
			goto bad;
	} else if (type == CABLE_FRAME_CTAP) {
		got_answer(s, payload, payload_len);
	} else {
		r = CABLE_ERR_UNEXPECTED;
		goto bad;
	}
	goto out;
bad:
	if (after)
		handle_after(s, r);
	else
		fail(s, r);
out:
	if (pt != NULL) {
		cable_wipe(pt, pt_len);
		free(pt);
	}
}

static void
handle_handshake(struct cable_initiator *s, const uint8_t *msg, size_t len)
{
	struct cable_initiator_event ev;
	int r;

	if ((r = cable_noise_read_message(s->noise, msg, len)) != 0 ||
	    (r = cable_noise_split(s->noise, &s->crypter)) != 0 ||
	    (r = cable_noise_handshake_hash(s->noise, s->hash)) != 0) {
		fail(s, r);
		return;
	}
	cable_noise_free(&s->noise);
	s->stage = CABLE_INITIATOR_STAGE_POST_HANDSHAKE;
	if (arm(s, ms_or(s->cfg.post_handshake_timeout_ms, DEFAULT_POST_HANDSHAKE_MS), true) != 0) {
		fail(s, CABLE_ERR_NOMEM);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = CABLE_INITIATOR_EV_CONNECTED;
	ev.stage = s->stage;
	emit(s, &ev);
}

static void
on_opened(void *arg, const uint8_t *routing_id)
{
	(void)arg;
	(void)routing_id;
}

static void
on_message(void *arg, const uint8_t *data, size_t len)
{
	struct cable_initiator *s = arg;

	switch (s->stage) {
	case CABLE_INITIATOR_STAGE_CONNECT:
		handle_handshake(s, data, len);
		break;
	case CABLE_INITIATOR_STAGE_POST_HANDSHAKE:
	case CABLE_INITIATOR_STAGE_RESPONSE:
	case CABLE_INITIATOR_STAGE_AFTER:
		handle_transport(s, data, len);
		break;
	default:
		break; /* closing: whatever still arrives does not matter */
	}
}

static void
on_closed(void *arg, int err)
{
	struct cable_initiator *s = arg;

	s->io->tunnel->free(&s->tunnel);
	/* The phone (or the server) hung up before answering: that is the session's error. */
	if (s->stage != CABLE_INITIATOR_STAGE_AFTER && s->stage != CABLE_INITIATOR_STAGE_CLOSING &&
	    s->result == 0 && s->response == NULL && !s->cancelled) {
		s->result = err != 0 ? err : CABLE_ERR_TUNNEL_CLOSED;
		s->end_stage = s->stage;
	}
	finish(s);
}

static void
on_payload(void *arg, uint16_t uuid16, const uint8_t *data, size_t len, const char *address, int rssi)
{
	static const struct cable_tunnel_io_cbs tcbs = {on_opened, on_message, on_closed};
	struct cable_initiator *s = arg;
	struct cable_initiator_event ev;
	struct cable_advert adv;
	uint8_t psk[CABLE_PSK_LEN], msg[CABLE_NOISE_MSG_LEN];
	int r;

	if (s->stage != CABLE_INITIATOR_STAGE_SCAN ||
	    (uuid16 != CABLE_ADVERT_UUID_FIDO && uuid16 != CABLE_ADVERT_UUID_GOOGLE))
		return;
	/* Not ours, or not valid: someone else's phone, keep looking. */
	if (cable_advert_open(s->eid_key, data, len, s->cfg.advert_flags, &adv) != 0)
		return;
	s->io->ble->scan_stop(s->io->ble->ctx, &s->scan);
	s->stage = CABLE_INITIATOR_STAGE_CONNECT;
	memset(&ev, 0, sizeof(ev));
	ev.type = CABLE_INITIATOR_EV_PHONE_FOUND;
	ev.uuid16 = uuid16;
	ev.domain_id = adv.eid.domain_id;
	ev.address = address;
	ev.rssi = rssi;
	ev.stage = s->stage;
	emit(s, &ev);
	if (s->stage != CABLE_INITIATOR_STAGE_CONNECT)
		goto wipe; /* cancelled from the event */
	if ((r = arm(s, ms_or(s->cfg.connect_timeout_ms, DEFAULT_CONNECT_MS), true)) != 0 ||
	    (r = cable_derive_psk(s->qr.secret, sizeof(s->qr.secret), adv.plaintext, psk)) != 0)
		goto fail;
	if ((s->noise = cable_noise_new()) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto fail;
	}
	if ((r = cable_noise_start(s->noise, CABLE_NOISE_KNPSK0, CABLE_NOISE_INITIATOR, psk,
		 &s->identity, NULL)) != 0 ||
	    (r = cable_noise_write_message(s->noise, s->cfg.env, msg)) != 0)
		goto fail;
	if ((r = s->io->tunnel->open_connect(s->io->tunnel->ctx, adv.eid.domain_id, adv.eid.routing_id,
		 s->tunnel_id, &tcbs, s, &s->tunnel)) != 0)
		goto fail;
	/* As Chrome does: the handshake goes out right away; the tunnel queues it until open. */
	if ((r = s->io->tunnel->send(s->tunnel, msg, sizeof(msg))) != 0)
		goto fail;
	goto wipe;
fail:
	fail(s, r);
wipe:
	cable_wipe(psk, sizeof(psk));
	cable_wipe(&adv, sizeof(adv));
}

static void
on_scan_error(void *arg, int code)
{
	struct cable_initiator *s = arg;

	s->io->ble->scan_stop(s->io->ble->ctx, &s->scan);
	if (s->stage == CABLE_INITIATOR_STAGE_SCAN)
		fail(s, code != 0 ? code : CABLE_ERR_BT_ADAPTER_GONE);
}

static void
on_stage_timeout(void *arg)
{
	struct cable_initiator *s = arg;

	s->io->loop->ops->timer_del(&s->timer);
	switch (s->stage) {
	case CABLE_INITIATOR_STAGE_AFTER:
		/* The phone did not close after our shutdown: close ourselves. */
		close_tunnel(s);
		break;
	case CABLE_INITIATOR_STAGE_CLOSING:
		/* Our close never completed: drop the connection. */
		finish(s);
		break;
	case CABLE_INITIATOR_STAGE_SCAN:
	case CABLE_INITIATOR_STAGE_CONNECT:
	case CABLE_INITIATOR_STAGE_POST_HANDSHAKE:
	case CABLE_INITIATOR_STAGE_RESPONSE:
		fail(s, CABLE_ERR_TIMEOUT);
		break;
	default:
		break;
	}
}

int
cable_initiator_new(const struct cable_session_io *io, const struct cable_initiator_config *cfg,
    struct cable_initiator **out)
{
	struct cable_initiator *s;

	if (io == NULL || io->loop == NULL || io->ble == NULL || io->tunnel == NULL || cfg == NULL ||
	    cfg->env == NULL || cfg->request == NULL || cfg->request_len < 1 ||
	    cfg->request_len > REQUEST_MAX || out == NULL)
		return CABLE_ERR_ARG;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return CABLE_ERR_NOMEM;
	if ((s->request = malloc(cfg->request_len)) == NULL) {
		free(s);
		return CABLE_ERR_NOMEM;
	}
	memcpy(s->request, cfg->request, cfg->request_len);
	s->request_len = cfg->request_len;
	s->io = io;
	s->cfg = *cfg;
	s->cfg.request = NULL;
	s->revision = -1;
	s->pending = -1;
	*out = s;
	return 0;
}

void
cable_initiator_free(struct cable_initiator **sp)
{
	struct cable_initiator *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	s->io->loop->ops->timer_del(&s->timer);
	s->io->loop->ops->timer_del(&s->final_timer);
	s->io->ble->scan_stop(s->io->ble->ctx, &s->scan);
	s->io->tunnel->free(&s->tunnel);
	wipe_secrets(s);
	free(s->request);
	free(s->getinfo);
	if (s->response != NULL) {
		cable_wipe(s->response, s->response_len);
		free(s->response);
	}
	cable_linking_clear(&s->linking);
	cable_wipe(s, sizeof(*s));
	free(s);
	*sp = NULL;
}

int
cable_initiator_start(struct cable_initiator *s)
{
	static const struct cable_ble_scan_cbs scbs = {on_payload, on_scan_error};
	struct cable_loop *loop;
	struct cable_initiator_event ev;
	enum cable_request_type hint;
	int r;

	if (s == NULL)
		return CABLE_ERR_ARG;
	if (s->stage != CABLE_INITIATOR_STAGE_IDLE)
		return CABLE_ERR_STATE;
	loop = s->io->loop;
	hint = s->request[0] == 0x01 ? CABLE_REQUEST_MC : CABLE_REQUEST_GA;
	if ((r = cable_qr_key_generate(s->cfg.env, s->key)) != 0 ||
	    (r = cable_qr_key_identity(s->key, &s->identity)) != 0 ||
	    (r = cable_qr_init(&s->qr, s->key, s->cfg.env, hint, s->cfg.supports_linking)) != 0 ||
	    (r = cable_qr_tunnel_id(&s->qr, s->tunnel_id)) != 0 ||
	    (r = cable_qr_eid_key(&s->qr, s->eid_key)) != 0 || (r = cable_qr_to_url(&s->qr, &s->url)) != 0)
		goto fail;
	s->deadline = loop->ops->now_usec(loop) +
	    (uint64_t)ms_or(s->cfg.timeout_ms, DEFAULT_TIMEOUT_MS) * 1000u;
	if ((r = s->io->ble->scan_start(s->io->ble->ctx, &scbs, s, &s->scan)) != 0)
		goto fail;
	s->stage = CABLE_INITIATOR_STAGE_SCAN;
	if ((r = arm(s, ms_or(s->cfg.scan_timeout_ms, ms_or(s->cfg.timeout_ms, DEFAULT_TIMEOUT_MS)),
		 true)) != 0) {
		s->io->ble->scan_stop(s->io->ble->ctx, &s->scan);
		s->stage = CABLE_INITIATOR_STAGE_IDLE;
		goto fail;
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = CABLE_INITIATOR_EV_QR;
	ev.url = s->url;
	ev.stage = s->stage;
	emit(s, &ev);
	return 0;
fail:
	wipe_secrets(s);
	return r;
}

void
cable_initiator_cancel(struct cable_initiator *s)
{
	if (s == NULL)
		return;
	switch (s->stage) {
	case CABLE_INITIATOR_STAGE_IDLE:
	case CABLE_INITIATOR_STAGE_CLOSING:
	case CABLE_INITIATOR_STAGE_DONE:
		return;
	case CABLE_INITIATOR_STAGE_AFTER:
		/* The answer is in: stop waiting for the phone's close. */
		close_tunnel(s);
		return;
	default:
		break;
	}
	s->cancelled = true;
	s->end_stage = s->stage;
	/* Tell the phone we are gone, so it stops waiting for the person (revision 1 only). */
	if (s->crypter != NULL && s->revision == 1 && s->tunnel != NULL)
		(void)send_shutdown(s);
	close_tunnel(s);
}

enum cable_initiator_stage
cable_initiator_stage(const struct cable_initiator *s)
{
	return s != NULL ? s->stage : CABLE_INITIATOR_STAGE_IDLE;
}

const char *
cable_initiator_url(const struct cable_initiator *s)
{
	return s != NULL ? s->url : NULL;
}

int
cable_initiator_getinfo(const struct cable_initiator *s, const uint8_t **cbor, size_t *len)
{
	if (s == NULL || cbor == NULL || len == NULL)
		return CABLE_ERR_ARG;
	if (s->getinfo == NULL)
		return CABLE_ERR_STATE;
	*cbor = s->getinfo;
	*len = s->getinfo_len;
	return 0;
}

int
cable_initiator_response(const struct cable_initiator *s, const uint8_t **buf, size_t *len)
{
	if (s == NULL || buf == NULL || len == NULL)
		return CABLE_ERR_ARG;
	if (s->response == NULL)
		return CABLE_ERR_STATE;
	*buf = s->response;
	*len = s->response_len;
	return 0;
}

int
cable_initiator_revision(const struct cable_initiator *s)
{
	return s != NULL ? s->revision : -1;
}

const struct cable_linking_info *
cable_initiator_linking(const struct cable_initiator *s)
{
	return s != NULL && s->has_linking ? &s->linking : NULL;
}

unsigned
cable_initiator_updates(const struct cable_initiator *s)
{
	return s != NULL ? s->updates : 0;
}

int
cable_initiator_after_error(const struct cable_initiator *s)
{
	return s != NULL ? s->after_error : 0;
}

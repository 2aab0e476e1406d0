/* Test-only desktop initiator over session I/O, and CTAP request builders/checkers (desk.h). */
#include "desk.h"

#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "cable/bytes.h"
#include "cable/cbor.h"
#include "cable/crypter.h"
#include "cable/crypto.h"
#include "cable/error.h"
#include "cable/kdf.h"
#include "cable/messages.h"
#include "cable/noise.h"
#include "cable/p256.h"

struct desk {
	const struct cable_session_io *io;
	struct desk_config cfg;
	struct desk_result res;
	enum desk_stage stage;
	uint8_t key[CABLE_QR_KEY_LEN];
	struct cable_p256_key identity;
	struct cable_qr qr;
	uint8_t eid_key[CABLE_EID_KEY_LEN];
	uint8_t tunnel_id[16];
	void *scan;
	void *tunnel;
	struct cable_noise *noise;
	struct cable_crypter *crypter;
	struct cable_loop_timer *timer;
	int pending; /* frame type of the outstanding request, -1 none */
	bool closing;
	bool done_called;
};

const char *
desk_stage_name(enum desk_stage s)
{
	switch (s) {
	case DESK_SCAN: return "scan";
	case DESK_HANDSHAKE: return "handshake";
	case DESK_POST_HANDSHAKE: return "post-handshake";
	case DESK_RESPONSE: return "response";
	case DESK_AFTER: return "after";
	case DESK_DONE: return "done";
	}
	return "?";
}

static void
desk_finished(struct desk *d)
{
	d->stage = DESK_DONE;
	d->io->loop->ops->timer_del(&d->timer);
	d->io->ble->scan_stop(d->io->ble->ctx, &d->scan);
	cable_noise_free(&d->noise);
	cable_crypter_free(&d->crypter);
	if (!d->done_called) {
		d->done_called = true;
		if (d->cfg.done != NULL)
			d->cfg.done(d->cfg.done_arg);
	}
}

/* Closes the tunnel (the close completes in on_closed) or finishes at once without one. */
static void
desk_close(struct desk *d)
{
	d->io->ble->scan_stop(d->io->ble->ctx, &d->scan);
	if (d->tunnel == NULL) {
		desk_finished(d);
		return;
	}
	if (!d->closing) {
		d->closing = true;
		d->io->tunnel->close(d->tunnel);
	}
}

static void
desk_fail(struct desk *d, int err)
{
	if (d->res.error == 0) {
		d->res.error = err;
		d->res.error_stage = d->stage;
	}
	desk_close(d);
}

static int
seal_send(struct desk *d, const uint8_t *pt, size_t len)
{
	uint8_t *ct;
	size_t ct_len;
	int r;

	if ((r = cable_crypter_encrypt(d->crypter, pt, len, &ct, &ct_len)) != 0)
		return r;
	r = d->io->tunnel->send(d->tunnel, ct, ct_len);
	free(ct);
	return r;
}

static void
send_request(struct desk *d)
{
	uint8_t *frame = NULL;
	size_t frame_len;
	int r;

	for (size_t i = 0; i < d->cfg.n_extra; i++)
		if ((r = seal_send(d, d->cfg.extra[i], d->cfg.extra_len[i])) != 0) {
			desk_fail(d, r);
			return;
		}
	d->stage = DESK_RESPONSE;
	if (d->cfg.request == NULL)
		return;
	if (d->res.revision == 0)
		r = seal_send(d, d->cfg.request, d->cfg.request_len);
	else if ((r = cable_frame_encode(CABLE_FRAME_CTAP, d->cfg.request, d->cfg.request_len, &frame,
		      &frame_len)) == 0)
		r = seal_send(d, frame, frame_len);
	free(frame);
	if (r != 0) {
		desk_fail(d, r);
		return;
	}
	d->pending = CABLE_FRAME_CTAP;
}

static void
got_answer(struct desk *d, const uint8_t *data, size_t len)
{
	int r;

	if (len == 0 || (d->res.response = malloc(len)) == NULL) {
		desk_fail(d, len == 0 ? CABLE_ERR_FRAME_EMPTY : CABLE_ERR_NOMEM);
		return;
	}
	memcpy(d->res.response, data, len);
	d->res.response_len = len;
	d->pending = -1;
	d->stage = DESK_AFTER;
	if (d->res.revision == 0 || d->cfg.close_after_answer) {
		desk_close(d);
		return;
	}
	if (!d->cfg.no_shutdown && (r = seal_send(d, (const uint8_t[]){CABLE_FRAME_SHUTDOWN}, 1)) != 0)
		desk_fail(d, r);
}

static void
handle_transport(struct desk *d, const uint8_t *ct, size_t ct_len)
{
	uint8_t *pt = NULL, type;
	const uint8_t *payload;
	size_t pt_len, payload_len;
	int r;

	if (d->res.first_ct_len == 0)
		d->res.first_ct_len = ct_len;
	if ((r = cable_crypter_decrypt(d->crypter, ct, ct_len, &pt, &pt_len)) != 0)
		goto fail;
	if (d->stage == DESK_POST_HANDSHAKE) {
		struct cable_post_handshake ph;

		if ((r = cable_post_handshake_parse(pt, pt_len, true, &ph)) != 0)
			goto fail;
		d->res.revision = ph.revision;
		d->res.getinfo = ph.getinfo;
		d->res.getinfo_len = ph.getinfo_len;
		ph.getinfo = NULL;
		cable_post_handshake_clear(&ph);
		if (d->cfg.close_after_hello) {
			desk_close(d);
			goto out;
		}
		send_request(d);
		goto out;
	}
	if (d->res.revision == 0) {
		if (d->stage == DESK_RESPONSE && d->pending == CABLE_FRAME_CTAP)
			got_answer(d, pt, pt_len);
		else {
			r = CABLE_ERR_UNEXPECTED;
			goto fail;
		}
		goto out;
	}
	if ((r = cable_frame_parse(pt, pt_len, &type, &payload, &payload_len)) != 0 ||
	    (r = cable_frame_check_incoming(CABLE_SIDE_DESKTOP, d->pending, type)) != 0)
		goto fail;
	if (type == CABLE_FRAME_UPDATE) {
		struct cable_update u;

		if ((r = cable_update_parse(payload, payload_len, &u)) != 0)
			goto fail;
		if (d->res.updates++ == 0)
			d->res.first_update_ct_len = ct_len;
		d->res.update_had_linking |= u.has_linking;
		cable_linking_clear(&u.linking);
	} else if (type == CABLE_FRAME_CTAP) {
		got_answer(d, payload, payload_len);
	} else {
		r = CABLE_ERR_UNEXPECTED;
		goto fail;
	}
	goto out;
fail:
	if (d->stage == DESK_AFTER && d->res.after_error == 0) {
		d->res.after_error = r;
		desk_close(d);
	} else
		desk_fail(d, r);
out:
	free(pt);
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
	struct desk *d = arg;
	int r;

	d->res.msgs_received++;
	if (d->closing || d->stage == DESK_DONE)
		return;
	if (d->stage == DESK_HANDSHAKE) {
		if ((r = cable_noise_read_message(d->noise, data, len)) != 0 ||
		    (r = cable_noise_split(d->noise, &d->crypter)) != 0) {
			desk_fail(d, r);
			return;
		}
		cable_noise_free(&d->noise);
		d->res.handshake_done = true;
		d->stage = DESK_POST_HANDSHAKE;
		return;
	}
	handle_transport(d, data, len);
}

static void
on_closed(void *arg, int err)
{
	struct desk *d = arg;

	d->res.closed = true;
	d->res.close_err = err;
	/* The phone (or the server) hung up before we were done: that is what the desktop reports. */
	if (!d->closing && d->stage != DESK_AFTER && d->res.error == 0) {
		d->res.error = err != 0 ? err : CABLE_ERR_TUNNEL_CLOSED;
		d->res.error_stage = d->stage;
	}
	d->io->tunnel->free(&d->tunnel);
	desk_finished(d);
}

static void
on_payload(void *arg, uint16_t uuid16, const uint8_t *data, size_t len, const char *address, int rssi)
{
	static const struct cable_tunnel_io_cbs tcbs = {on_opened, on_message, on_closed};
	struct desk *d = arg;
	struct cable_advert adv;
	uint8_t psk[CABLE_PSK_LEN], msg[CABLE_NOISE_MSG_LEN];
	int r;

	(void)address;
	(void)rssi;
	if (d->stage != DESK_SCAN)
		return;
	d->res.adverts_seen++;
	if ((r = cable_advert_open(d->eid_key, data, len, 0, &adv)) != 0) {
		d->res.advert_error = r;
		return;
	}
	d->res.adverts_matched++;
	d->res.advert = adv;
	d->res.advert_uuid = uuid16;
	d->res.advert_len = len;
	d->io->ble->scan_stop(d->io->ble->ctx, &d->scan);
	d->stage = DESK_HANDSHAKE;
	if ((r = cable_derive_psk(d->qr.secret, sizeof(d->qr.secret), adv.plaintext, psk)) != 0)
		goto fail;
	if ((d->noise = cable_noise_new()) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto fail;
	}
	if ((r = cable_noise_start(d->noise, CABLE_NOISE_KNPSK0, CABLE_NOISE_INITIATOR, psk, &d->identity,
		 NULL)) != 0 ||
	    (r = cable_noise_write_message(d->noise, d->cfg.env, msg)) != 0)
		goto fail;
	if ((r = d->io->tunnel->open_connect(d->io->tunnel->ctx, adv.eid.domain_id, adv.eid.routing_id,
		 d->tunnel_id, &tcbs, d, &d->tunnel)) != 0)
		goto fail;
	/* Chrome writes its handshake right after connecting; the tunnel queues it until open. */
	if ((r = d->io->tunnel->send(d->tunnel, msg, sizeof(msg))) != 0)
		goto fail;
	cable_wipe(psk, sizeof(psk));
	return;
fail:
	cable_wipe(psk, sizeof(psk));
	desk_fail(d, r);
}

static void
on_scan_error(void *arg, int code)
{
	struct desk *d = arg;

	d->scan = NULL;
	desk_fail(d, code);
}

static void
on_timeout(void *arg)
{
	struct desk *d = arg;

	d->io->loop->ops->timer_del(&d->timer);
	if (d->stage == DESK_DONE)
		return;
	if (d->closing) {
		/* The close never completed. */
		d->io->tunnel->free(&d->tunnel);
		desk_finished(d);
		return;
	}
	desk_fail(d, CABLE_ERR_TIMEOUT);
	/* Give the close a moment, then give up on it. */
	(void)d->io->loop->ops->timer_add(d->io->loop, 2000000, on_timeout, d, &d->timer);
}

int
desk_new(const struct cable_session_io *io, const struct desk_config *cfg, struct desk **out)
{
	struct desk *d;

	if (io == NULL || cfg == NULL || cfg->env == NULL || out == NULL)
		return CABLE_ERR_ARG;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return CABLE_ERR_NOMEM;
	d->io = io;
	d->cfg = *cfg;
	d->res.revision = -1;
	d->pending = -1;
	*out = d;
	return 0;
}

void
desk_free(struct desk **dp)
{
	struct desk *d;

	if (dp == NULL || (d = *dp) == NULL)
		return;
	d->io->loop->ops->timer_del(&d->timer);
	d->io->ble->scan_stop(d->io->ble->ctx, &d->scan);
	d->io->tunnel->free(&d->tunnel);
	cable_noise_free(&d->noise);
	cable_crypter_free(&d->crypter);
	cable_qr_wipe(&d->qr);
	cable_wipe(d->key, sizeof(d->key));
	cable_p256_key_wipe(&d->identity);
	free(d->res.getinfo);
	free(d->res.response);
	free(d);
	*dp = NULL;
}

int
desk_start(struct desk *d, char **url)
{
	static const struct cable_ble_scan_cbs scbs = {on_payload, on_scan_error};
	int r;

	if ((r = cable_qr_key_generate(d->cfg.env, d->key)) != 0 ||
	    (r = cable_qr_key_identity(d->key, &d->identity)) != 0 ||
	    (r = cable_qr_init(&d->qr, d->key, d->cfg.env, d->cfg.hint, true)) != 0 ||
	    (r = cable_qr_tunnel_id(&d->qr, d->tunnel_id)) != 0 ||
	    (r = cable_qr_eid_key(&d->qr, d->eid_key)) != 0 || (r = cable_qr_to_url(&d->qr, url)) != 0)
		return r;
	d->stage = DESK_SCAN;
	if ((r = d->io->ble->scan_start(d->io->ble->ctx, &scbs, d, &d->scan)) != 0) {
		free(*url);
		*url = NULL;
		return r;
	}
	return d->io->loop->ops->timer_add(d->io->loop,
	    (uint64_t)(d->cfg.timeout_ms ? d->cfg.timeout_ms : 30000) * 1000u, on_timeout, d, &d->timer);
}

const struct desk_result *
desk_result(const struct desk *d)
{
	return &d->res;
}

bool
desk_done(const struct desk *d)
{
	return d->stage == DESK_DONE;
}

const struct cable_qr *
desk_qr(const struct desk *d)
{
	return &d->qr;
}

/* ---- CTAP ---- */

static bool
map_add(cbor_item_t *m, cbor_item_t *k, cbor_item_t *v)
{
	return cbor_map_add(m, (struct cbor_pair){.key = cbor_move(k), .value = cbor_move(v)});
}

static int
encode_cmd(uint8_t cmd, cbor_item_t *m, uint8_t **out, size_t *out_len)
{
	uint8_t *cbor = NULL, *buf;
	size_t len;
	int r;

	if ((r = cable_cbor_encode(m, &cbor, &len)) != 0)
		return r;
	if ((buf = malloc(len + 1)) == NULL) {
		free(cbor);
		return CABLE_ERR_NOMEM;
	}
	buf[0] = cmd;
	memcpy(buf + 1, cbor, len);
	free(cbor);
	*out = buf;
	*out_len = len + 1;
	return 0;
}

int
desk_build_mc(const char *rp_id, const uint8_t cdh[32], const uint8_t *user_id, size_t user_id_len,
    const char *user_name, bool rk, uint8_t **out, size_t *out_len)
{
	cbor_item_t *m = cbor_new_definite_map(5), *rp = cbor_new_definite_map(2),
		    *user = cbor_new_definite_map(3), *params = cbor_new_definite_array(1),
		    *p = cbor_new_definite_map(2), *opts = cbor_new_definite_map(1);
	int r;

	/* Canonical order: shorter text keys first. */
	map_add(rp, cbor_build_string("id"), cbor_build_string(rp_id));
	map_add(rp, cbor_build_string("name"), cbor_build_string(rp_id));
	map_add(user, cbor_build_string("id"), cbor_build_bytestring(user_id, user_id_len));
	map_add(user, cbor_build_string("name"), cbor_build_string(user_name));
	map_add(user, cbor_build_string("displayName"), cbor_build_string(user_name));
	map_add(p, cbor_build_string("alg"), cbor_build_negint8(6));
	map_add(p, cbor_build_string("type"), cbor_build_string("public-key"));
	cbor_array_push(params, cbor_move(p));
	map_add(opts, cbor_build_string("rk"), cbor_build_bool(rk));
	map_add(m, cbor_build_uint8(1), cbor_build_bytestring(cdh, 32));
	map_add(m, cbor_build_uint8(2), rp);
	map_add(m, cbor_build_uint8(3), user);
	map_add(m, cbor_build_uint8(4), params);
	map_add(m, cbor_build_uint8(7), opts);
	r = encode_cmd(0x01, m, out, out_len);
	cbor_decref(&m);
	return r;
}

int
desk_build_ga(const char *rp_id, const uint8_t cdh[32], const uint8_t *cred_id, size_t cred_id_len,
    uint8_t **out, size_t *out_len)
{
	cbor_item_t *m = cbor_new_definite_map(cred_id != NULL ? 3 : 2);
	int r;

	map_add(m, cbor_build_uint8(1), cbor_build_string(rp_id));
	map_add(m, cbor_build_uint8(2), cbor_build_bytestring(cdh, 32));
	if (cred_id != NULL) {
		cbor_item_t *list = cbor_new_definite_array(1), *desc = cbor_new_definite_map(2);

		map_add(desc, cbor_build_string("id"), cbor_build_bytestring(cred_id, cred_id_len));
		map_add(desc, cbor_build_string("type"), cbor_build_string("public-key"));
		cbor_array_push(list, cbor_move(desc));
		map_add(m, cbor_build_uint8(3), list);
	}
	r = encode_cmd(0x02, m, out, out_len);
	cbor_decref(&m);
	return r;
}

static cbor_item_t *
load_response(const uint8_t *resp, size_t len, int *err)
{
	cbor_item_t *m = NULL;

	*err = CABLE_ERR_PARSE;
	if (len < 1)
		return NULL;
	if (resp[0] != 0) {
		*err = resp[0];
		return NULL;
	}
	if (cable_cbor_load(resp + 1, len - 1, CABLE_CBOR_CANONICAL, &m) != 0)
		return NULL;
	if (!cbor_isa_map(m)) {
		cbor_decref(&m);
		return NULL;
	}
	*err = 0;
	return m;
}

static const cbor_item_t *
get_bytes(const cbor_item_t *m, int64_t key)
{
	cbor_item_t *v = cable_cbor_map_get_int(m, key);
	return v != NULL && cbor_isa_bytestring(v) && cbor_bytestring_is_definite(v) ? v : NULL;
}

/* rpIdHash(32) flags(1) counter(4); checks the hash and UP|UV. */
static int
check_auth_data(const uint8_t *ad, size_t len, const char *rp_id, uint8_t *flags, uint32_t *counter)
{
	uint8_t h[32];

	if (len < 37 || cable_sha256((const uint8_t *)rp_id, strlen(rp_id), NULL, 0, h) != 0 ||
	    memcmp(ad, h, 32) != 0)
		return CABLE_ERR_PARSE;
	*flags = ad[32];
	if ((*flags & 0x05) != 0x05)
		return CABLE_ERR_PARSE;
	*counter = (uint32_t)ad[33] << 24 | (uint32_t)ad[34] << 16 | (uint32_t)ad[35] << 8 | ad[36];
	return 0;
}

int
desk_check_mc(const uint8_t *resp, size_t len, const char *rp_id, struct desk_cred *cred)
{
	cbor_item_t *m, *key = NULL, *fmt;
	const cbor_item_t *adi, *x, *y;
	const uint8_t *ad;
	size_t ad_len, off, key_len;
	int r;

	if ((m = load_response(resp, len, &r)) == NULL)
		return r;
	r = CABLE_ERR_PARSE;
	fmt = cable_cbor_map_get_int(m, 1);
	if (fmt == NULL || !cbor_isa_string(fmt) || (adi = get_bytes(m, 2)) == NULL)
		goto out;
	ad = cbor_bytestring_handle(adi);
	ad_len = cbor_bytestring_length(adi);
	if (check_auth_data(ad, ad_len, rp_id, &cred->flags, &cred->counter) != 0 ||
	    !(cred->flags & 0x40) || ad_len < 37 + 16 + 2)
		goto out;
	off = 37 + 16;
	cred->id_len = (size_t)ad[off] << 8 | ad[off + 1];
	off += 2;
	if (cred->id_len == 0 || cred->id_len > DESK_CRED_ID_MAX || ad_len - off < cred->id_len)
		goto out;
	memcpy(cred->id, ad + off, cred->id_len);
	off += cred->id_len;
	if (cable_cbor_scan(ad + off, ad_len - off, 0, &key_len) != 0 || off + key_len != ad_len ||
	    cable_cbor_load(ad + off, key_len, 0, &key) != 0 || !cbor_isa_map(key))
		goto out;
	if ((x = get_bytes(key, -2)) == NULL || (y = get_bytes(key, -3)) == NULL ||
	    cbor_bytestring_length(x) != 32 || cbor_bytestring_length(y) != 32)
		goto out;
	cred->pub[0] = 0x04;
	memcpy(cred->pub + 1, cbor_bytestring_handle(x), 32);
	memcpy(cred->pub + 33, cbor_bytestring_handle(y), 32);
	if (cable_p256_check_public(cred->pub) != 0)
		goto out;
	r = 0;
out:
	if (key != NULL)
		cbor_decref(&key);
	cbor_decref(&m);
	return r;
}

int
desk_check_ga(const uint8_t *resp, size_t len, const char *rp_id, const uint8_t cdh[32],
    const struct desk_cred *cred)
{
	cbor_item_t *m, *c, *id;
	const cbor_item_t *adi, *sig;
	uint8_t *msg = NULL, flags;
	uint32_t counter;
	size_t ad_len;
	int r;

	if ((m = load_response(resp, len, &r)) == NULL)
		return r;
	r = CABLE_ERR_PARSE;
	if ((c = cable_cbor_map_get_int(m, 1)) == NULL || !cbor_isa_map(c) ||
	    (id = cable_cbor_map_get_str(c, "id")) == NULL || !cbor_isa_bytestring(id) ||
	    cbor_bytestring_length(id) != cred->id_len ||
	    memcmp(cbor_bytestring_handle(id), cred->id, cred->id_len) != 0)
		goto out;
	if ((adi = get_bytes(m, 2)) == NULL || (sig = get_bytes(m, 3)) == NULL)
		goto out;
	ad_len = cbor_bytestring_length(adi);
	if (check_auth_data(cbor_bytestring_handle(adi), ad_len, rp_id, &flags, &counter) != 0 ||
	    counter <= cred->counter)
		goto out;
	if ((msg = malloc(ad_len + 32)) == NULL)
		goto out;
	memcpy(msg, cbor_bytestring_handle(adi), ad_len);
	memcpy(msg + ad_len, cdh, 32);
	r = cable_p256_verify(cred->pub, msg, ad_len + 32, cbor_bytestring_handle(sig),
	    cbor_bytestring_length(sig));
out:
	free(msg);
	cbor_decref(&m);
	return r;
}

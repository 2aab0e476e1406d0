/* Glue: the real BLE (BlueZ) and tunnel (libwebsockets) adapters behind the session tables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cable/bluetooth.h"
#include "cable/error.h"
#include "cable/session-io.h"
#include "cable/tunnel.h"

struct cable_session_io_real {
	struct cable_loop *loop;
	struct cable_bt_opts bt_opts;
	char *adapter;
	struct cable_tunnel_client *client;
	struct cable_ble_ops ble;
	struct cable_tunnel_ops tunnel;
	struct cable_session_io io;
	char detail[384]; /* the last adapter failure in the adapter's words, or "" */
};

static void
set_detail(struct cable_session_io_real *r, const char *d)
{
	snprintf(r->detail, sizeof(r->detail), "%s", d != NULL ? d : "");
}

/* ---- BLE ---- */

struct scan_handle {
	struct cable_session_io_real *r;
	struct cable_bt_scanner *scanner;
	struct cable_ble_scan_cbs cbs;
	void *arg;
};

static void
scan_payload(void *arg, uint16_t uuid16, const uint8_t *data, size_t len, const char *address, int rssi)
{
	struct scan_handle *h = arg;
	h->cbs.payload(h->arg, uuid16, data, len, address, rssi);
}

static void
scan_error(void *arg, int code)
{
	struct scan_handle *h = arg;

	set_detail(h->r, cable_bt_scanner_detail(h->scanner));
	h->cbs.error(h->arg, code);
}

static int
real_scan_start(void *ctx, const struct cable_ble_scan_cbs *cbs, void *arg, void **handle)
{
	static const struct cable_bt_scanner_cbs bt_cbs = {scan_payload, NULL, scan_error};
	struct cable_session_io_real *r = ctx;
	struct scan_handle *h;
	int err;

	if (cbs == NULL || cbs->payload == NULL || cbs->error == NULL || handle == NULL)
		return CABLE_ERR_ARG;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return CABLE_ERR_NOMEM;
	h->r = r;
	h->cbs = *cbs;
	h->arg = arg;
	if ((h->scanner = cable_bt_scanner_new(r->loop, &r->bt_opts, &bt_cbs, h)) == NULL) {
		free(h);
		return CABLE_ERR_NOMEM;
	}
	set_detail(r, NULL);
	if ((err = cable_bt_scanner_start(h->scanner)) != 0) {
		set_detail(r, cable_bt_scanner_detail(h->scanner));
		cable_bt_scanner_free(&h->scanner);
		free(h);
		return err;
	}
	*handle = h;
	return 0;
}

static void
real_scan_stop(void *ctx, void **handle)
{
	struct scan_handle *h;

	(void)ctx;
	if (handle == NULL || (h = *handle) == NULL)
		return;
	cable_bt_scanner_free(&h->scanner);
	free(h);
	*handle = NULL;
}

struct adv_handle {
	struct cable_session_io_real *r;
	struct cable_bt_advertiser *adv;
	struct cable_ble_adv_cbs cbs;
	void *arg;
};

static void
adv_registered(void *arg, const char *adapter)
{
	struct adv_handle *h = arg;

	(void)adapter;
	if (h->cbs.registered != NULL)
		h->cbs.registered(h->arg);
}

static void
adv_error(void *arg, int code)
{
	struct adv_handle *h = arg;

	set_detail(h->r, cable_bt_advertiser_detail(h->adv));
	h->cbs.error(h->arg, code);
}

static int
real_advertise_start(void *ctx, uint16_t uuid16, const uint8_t *data, size_t len,
    const struct cable_ble_adv_cbs *cbs, void *arg, void **handle)
{
	static const struct cable_bt_advertiser_cbs bt_cbs = {adv_registered, adv_error};
	struct cable_session_io_real *r = ctx;
	struct adv_handle *h;
	int err;

	if (cbs == NULL || cbs->error == NULL || handle == NULL)
		return CABLE_ERR_ARG;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return CABLE_ERR_NOMEM;
	h->r = r;
	h->cbs = *cbs;
	h->arg = arg;
	if ((h->adv = cable_bt_advertiser_new(r->loop, &r->bt_opts, uuid16, data, len, &bt_cbs, h)) ==
	    NULL) {
		free(h);
		return CABLE_ERR_NOMEM;
	}
	set_detail(r, NULL);
	if ((err = cable_bt_advertiser_start(h->adv)) != 0) {
		set_detail(r, cable_bt_advertiser_detail(h->adv));
		cable_bt_advertiser_free(&h->adv);
		free(h);
		return err;
	}
	*handle = h;
	return 0;
}

static void
real_advertise_stop(void *ctx, void **handle)
{
	struct adv_handle *h;

	(void)ctx;
	if (handle == NULL || (h = *handle) == NULL)
		return;
	cable_bt_advertiser_free(&h->adv);
	free(h);
	*handle = NULL;
}

/* ---- Tunnel ---- */

struct tunnel_handle {
	struct cable_session_io_real *r;
	struct cable_tunnel *t;
	struct cable_tunnel_io_cbs cbs;
	void *arg;
};

static void
tun_opened(void *arg, struct cable_tunnel *t, const struct cable_tunnel_info *info)
{
	struct tunnel_handle *h = arg;

	(void)t;
	if (h->cbs.opened != NULL)
		h->cbs.opened(h->arg, info != NULL && info->has_routing_id ? info->routing_id : NULL);
}

static void
tun_message(void *arg, struct cable_tunnel *t, const uint8_t *data, size_t len)
{
	struct tunnel_handle *h = arg;

	(void)t;
	h->cbs.message(h->arg, data, len);
}

static void
tun_closed(void *arg, struct cable_tunnel *t, int err)
{
	struct tunnel_handle *h = arg;

	if (err != 0)
		set_detail(h->r, cable_tunnel_error_detail(t));
	h->cbs.closed(h->arg, err);
}

static const struct cable_tunnel_cbs tunnel_cbs = {tun_opened, tun_message, tun_closed};

static int
tunnel_handle_new(struct cable_session_io_real *r, const struct cable_tunnel_io_cbs *cbs, void *arg,
    struct tunnel_handle **out)
{
	struct tunnel_handle *h;

	if (cbs == NULL || cbs->message == NULL || cbs->closed == NULL)
		return CABLE_ERR_ARG;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return CABLE_ERR_NOMEM;
	h->r = r;
	h->cbs = *cbs;
	h->arg = arg;
	*out = h;
	return 0;
}

static int
real_open_new(void *ctx, uint16_t domain_id, const uint8_t tunnel_id[16],
    const struct cable_tunnel_io_cbs *cbs, void *arg, void **handle)
{
	struct cable_session_io_real *r = ctx;
	struct tunnel_handle *h;
	int err;

	if ((err = tunnel_handle_new(r, cbs, arg, &h)) != 0)
		return err;
	set_detail(r, NULL);
	if ((err = cable_tunnel_open_new(r->client, domain_id, tunnel_id, &tunnel_cbs, h, &h->t)) != 0) {
		free(h);
		return err;
	}
	*handle = h;
	return 0;
}

static int
real_open_connect(void *ctx, uint16_t domain_id, const uint8_t routing_id[3],
    const uint8_t tunnel_id[16], const struct cable_tunnel_io_cbs *cbs, void *arg, void **handle)
{
	struct cable_session_io_real *r = ctx;
	struct tunnel_handle *h;
	int err;

	if ((err = tunnel_handle_new(r, cbs, arg, &h)) != 0)
		return err;
	set_detail(r, NULL);
	if ((err = cable_tunnel_open_connect(r->client, domain_id, routing_id, tunnel_id, &tunnel_cbs,
		 h, &h->t)) != 0) {
		free(h);
		return err;
	}
	*handle = h;
	return 0;
}

static int
real_send(void *handle, const uint8_t *data, size_t len)
{
	struct tunnel_handle *h = handle;
	return h != NULL ? cable_tunnel_send(h->t, data, len) : CABLE_ERR_ARG;
}

static void
real_close(void *handle)
{
	struct tunnel_handle *h = handle;
	if (h != NULL)
		cable_tunnel_close(h->t);
}

static void
real_free(void **handle)
{
	struct tunnel_handle *h;

	if (handle == NULL || (h = *handle) == NULL)
		return;
	cable_tunnel_free(&h->t);
	free(h);
	*handle = NULL;
}

int
cable_session_io_real_new(struct cable_loop *loop, const struct cable_session_io_real_config *cfg,
    struct cable_session_io_real **out)
{
	struct cable_tunnel_client_config tcfg;
	struct cable_session_io_real *r;
	int err = CABLE_ERR_NOMEM;

	if (loop == NULL || out == NULL)
		return CABLE_ERR_ARG;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return CABLE_ERR_NOMEM;
	r->loop = loop;
	if (cfg != NULL && cfg->adapter != NULL && (r->adapter = strdup(cfg->adapter)) == NULL)
		goto fail;
	r->bt_opts.adapter = r->adapter;
	memset(&tcfg, 0, sizeof(tcfg));
	tcfg.ca_file = cfg != NULL ? cfg->tunnel_ca : NULL;
	if ((err = cable_tunnel_client_new(loop, &tcfg, &r->client)) != 0)
		goto fail;
	if (cfg != NULL && cfg->tunnel_server != NULL &&
	    (err = cable_tunnel_client_add_server_option(r->client, cfg->tunnel_server)) != 0)
		goto fail;
	r->ble = (struct cable_ble_ops){r, real_scan_start, real_scan_stop, real_advertise_start,
	    real_advertise_stop};
	r->tunnel = (struct cable_tunnel_ops){r, real_open_new, real_open_connect, real_send, real_close,
	    real_free};
	r->io = (struct cable_session_io){loop, &r->ble, &r->tunnel};
	*out = r;
	return 0;
fail:
	cable_session_io_real_free(&r);
	return err;
}

void
cable_session_io_real_free(struct cable_session_io_real **rp)
{
	struct cable_session_io_real *r;

	if (rp == NULL || (r = *rp) == NULL)
		return;
	cable_tunnel_client_free(&r->client);
	free(r->adapter);
	free(r);
	*rp = NULL;
}

const struct cable_session_io *
cable_session_io_real_get(const struct cable_session_io_real *r)
{
	return r != NULL ? &r->io : NULL;
}

const char *
cable_session_io_real_detail(const struct cable_session_io_real *r, int err)
{
	/* Only an adapter's own error (tunnel -100..-199, Bluetooth -200..-299) is explained. */
	if (r == NULL || err > -100 || err <= -300)
		return "";
	return r->detail;
}

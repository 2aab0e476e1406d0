/*
 * What the sessions (layer 3) need from the outside world, as small function tables. Production
 * programs fill them from the real adapters (cable_session_io_real); tests may fill them with
 * in-memory implementations. A session never includes an adapter's header.
 */
#ifndef CABLE_SESSION_IO_H
#define CABLE_SESSION_IO_H

#include <stddef.h>
#include <stdint.h>

#include "cable/loop.h"

/* ---- BLE ---- */

struct cable_ble_scan_cbs {
	/* Service data seen under fff9/fde2 (any length; the core decides what is valid). */
	void (*payload)(void *arg, uint16_t uuid16, const uint8_t *data, size_t len, const char *address,
	    int rssi);
	/* Scanning stopped for good with a CABLE_ERR_BT_* code. */
	void (*error)(void *arg, int code);
};

struct cable_ble_adv_cbs {
	void (*registered)(void *arg);        /* optional */
	void (*error)(void *arg, int code);   /* advertising ended for good */
};

struct cable_ble_ops {
	void *ctx;
	int (*scan_start)(void *ctx, const struct cable_ble_scan_cbs *cbs, void *arg, void **handle);
	/* Stops and frees; accepts NULL *handle; safe inside callbacks. */
	void (*scan_stop)(void *ctx, void **handle);
	int (*advertise_start)(void *ctx, uint16_t uuid16, const uint8_t *data, size_t len,
	    const struct cable_ble_adv_cbs *cbs, void *arg, void **handle);
	void (*advertise_stop)(void *ctx, void **handle);
};

/* ---- Tunnel ---- */

struct cable_tunnel_io_cbs {
	/* routing_id is set for "new" tunnels (the server's X-caBLE-Routing-ID), NULL otherwise. */
	void (*opened)(void *arg, const uint8_t *routing_id);
	void (*message)(void *arg, const uint8_t *data, size_t len);
	/* 0 = closed normally; otherwise a CABLE_ERR_TUNNEL_* / CABLE_ERR_TIMEOUT code. */
	void (*closed)(void *arg, int err);
};

struct cable_tunnel_ops {
	void *ctx;
	int (*open_new)(void *ctx, uint16_t domain_id, const uint8_t tunnel_id[16],
	    const struct cable_tunnel_io_cbs *cbs, void *arg, void **handle);
	int (*open_connect)(void *ctx, uint16_t domain_id, const uint8_t routing_id[3],
	    const uint8_t tunnel_id[16], const struct cable_tunnel_io_cbs *cbs, void *arg,
	    void **handle);
	int (*send)(void *handle, const uint8_t *data, size_t len);
	/* Flushes what is queued, then closes; closed(0) follows. */
	void (*close)(void *handle);
	/* Drops at once, no more callbacks; accepts NULL *handle. */
	void (*free)(void **handle);
};

/* Everything a session is given: the loop, the adapters, the random/time table. */
struct cable_session_io {
	struct cable_loop *loop;
	const struct cable_ble_ops *ble;
	const struct cable_tunnel_ops *tunnel;
};

/* ---- The real adapters (BlueZ over sd-bus, libwebsockets) behind the tables ---- */

struct cable_session_io_real;

struct cable_session_io_real_config {
	const char *adapter;        /* "hciN" or NULL for the first powered adapter */
	const char *tunnel_ca;      /* PEM CA file for test servers, or NULL */
	const char *tunnel_server;  /* "URL" or "DOMAIN=URL" override, or NULL */
};

/* Creates the tunnel client and the BLE table on loop. NULL-safe free. */
int cable_session_io_real_new(struct cable_loop *loop, const struct cable_session_io_real_config *cfg,
    struct cable_session_io_real **out);
void cable_session_io_real_free(struct cable_session_io_real **r);
/* The tables to hand to a session; valid while r lives. */
const struct cable_session_io *cable_session_io_real_get(const struct cable_session_io_real *r);
/*
 * For a session's error err: when it is a Bluetooth or tunnel error, the adapter's own words for
 * the last such failure (BlueZ's D-Bus error, libwebsockets' reason, "cannot resolve HOST: ...");
 * "" for any other error or when the adapter gave none. Cleared when a scan, an advert or a
 * tunnel starts. For the message a program prints next to the error; never holds secrets.
 */
const char *cable_session_io_real_detail(const struct cable_session_io_real *r, int err);

#endif

/* cable-bridged's D-Bus face on the session bus: org.cablebridge.Bridge1 (requests, states, Cancel). */
#ifndef CABLE_BRIDGED_BRIDGE_DBUS_H
#define CABLE_BRIDGED_BRIDGE_DBUS_H

#include <stdint.h>

#include "cable/initiator.h"
#include "cable/loop.h"

#define BRIDGE_DBUS_NAME "org.cablebridge.Bridge1"
#define BRIDGE_DBUS_PATH "/org/cablebridge/Bridge"
#define BRIDGE_DBUS_IFACE "org.cablebridge.Bridge1"
#define BRIDGE_DBUS_UI_NAME "org.cablebridge.BridgeUI"

/* Cancel(id) from a D-Bus client: 0 when the request was found and is being cancelled. */
typedef int (*bridge_dbus_cancel_fn)(void *arg, uint64_t id);

struct bridge_dbus_config {
	struct cable_loop *loop;
	const char *version;
	/* Bus name started (StartServiceByName) when a request begins; NULL = none. */
	const char *ui_name;
	bridge_dbus_cancel_fn cancel;
	void *arg;
};

struct bridge_dbus;

/*
 * Connects to the session bus, exports the object and takes the name. On failure returns a
 * CABLE_ERR_* and a one-line reason in why (the caller logs it once and carries on without).
 */
int bridge_dbus_open(const struct bridge_dbus_config *cfg, struct bridge_dbus **out, char *why,
    size_t why_len);

/*
 * Feeds one initiator event of a request (rp_id, CTAP command byte). *id is the request's bus ID:
 * 0 before its QR event, set then, and 0 again once the request has ended (later events of the
 * lingering session are ignored). cancel_reason: why a CANCELLED event happened (NULL = generic).
 * detail: for FAILED, the adapter's words for the failure (BlueZ's error, why the tunnel did not
 * connect; NULL or "" = none). d may be NULL (no session bus): then nothing happens.
 */
void bridge_dbus_session_event(struct bridge_dbus *d, uint64_t *id, const char *rp_id, uint8_t cmd,
    const struct cable_initiator_event *ev, const char *cancel_reason, const char *detail);
/* Ends a request that stops without a final event (the daemon is shutting down). */
void bridge_dbus_request_abandon(struct bridge_dbus *d, uint64_t *id, const char *reason);

/* Emits RequestEnded for what is left, flushes, leaves the bus; accepts NULL, sets NULL. */
void bridge_dbus_free(struct bridge_dbus **d);

#endif

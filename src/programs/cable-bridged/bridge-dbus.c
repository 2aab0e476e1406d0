/* cable-bridged on the session bus: org.cablebridge.Bridge1 at /org/cablebridge/Bridge. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "bridge-dbus.h"
#include "cable/bus-loop.h"
#include "cable/bytes.h"
#include "cable/ctap-policy.h"
#include "cable/error.h"

#define ERR_NO_SUCH_REQUEST "org.cablebridge.Error.NoSuchRequest"

/* A request from its QR code until it ends; the URL is the QR secret's carrier (wiped). */
struct breq {
	struct breq *next;
	uint64_t id;
	char rp_id[256];
	const char *type;
	char *url;
	const char *state;
};

struct bridge_dbus {
	struct bridge_dbus_config cfg;
	sd_bus *bus;
	sd_bus_slot *vtable_slot;
	sd_bus_slot *start_slot;
	struct cable_bus_loop *watch;
	struct breq *reqs;
	uint64_t next_id;
	bool ui_failed_logged;
};

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
logmsg(const char *fmt, ...)
{
	va_list ap;

	fputs("cable-bridged: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
breq_free(struct breq *q)
{
	if (q == NULL)
		return;
	if (q->url != NULL) {
		cable_wipe(q->url, strlen(q->url));
		free(q->url);
	}
	free(q);
}

static struct breq *
find(struct bridge_dbus *d, uint64_t id)
{
	for (struct breq *q = d->reqs; q != NULL; q = q->next)
		if (q->id == id)
			return q;
	return NULL;
}

/* ---- the object ------------------------------------------------------------------------------ */

static int
prop_version(sd_bus *bus, const char *path, const char *iface, const char *prop,
    sd_bus_message *reply, void *ud, sd_bus_error *err)
{
	struct bridge_dbus *d = ud;

	return sd_bus_message_append(reply, "s", d->cfg.version);
}

static int
prop_requests(sd_bus *bus, const char *path, const char *iface, const char *prop,
    sd_bus_message *reply, void *ud, sd_bus_error *err)
{
	struct bridge_dbus *d = ud;
	int r;

	if ((r = sd_bus_message_open_container(reply, 'a', "(tssss)")) < 0)
		return r;
	for (struct breq *q = d->reqs; q != NULL; q = q->next)
		if ((r = sd_bus_message_append(reply, "(tssss)", q->id, q->rp_id, q->type, q->url,
		    q->state)) < 0)
			return r;
	return sd_bus_message_close_container(reply);
}

static int
method_cancel(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct bridge_dbus *d = ud;
	uint64_t id;
	int r;

	if ((r = sd_bus_message_read(m, "t", &id)) < 0)
		return r;
	if (find(d, id) == NULL || d->cfg.cancel == NULL || d->cfg.cancel(d->cfg.arg, id) != 0)
		return sd_bus_reply_method_errorf(m, ERR_NO_SUCH_REQUEST, "no request %" PRIu64
		    " is pending", id);
	logmsg("request %" PRIu64 " cancelled over D-Bus (%s)", id,
	    sd_bus_message_get_sender(m) != NULL ? sd_bus_message_get_sender(m) : "?");
	return sd_bus_reply_method_return(m, "");
}

static const sd_bus_vtable bridge_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Version", "s", prop_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Requests", "a(tssss)", prop_requests, 0,
	    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_METHOD_WITH_NAMES("Cancel", "t", SD_BUS_PARAM(id), "", , method_cancel,
	    SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL_WITH_NAMES("RequestStarted", "tsss",
	    SD_BUS_PARAM(id) SD_BUS_PARAM(rp_id) SD_BUS_PARAM(type) SD_BUS_PARAM(url), 0),
	SD_BUS_SIGNAL_WITH_NAMES("RequestStateChanged", "tss",
	    SD_BUS_PARAM(id) SD_BUS_PARAM(state) SD_BUS_PARAM(reason), 0),
	SD_BUS_SIGNAL_WITH_NAMES("RequestEnded", "tss",
	    SD_BUS_PARAM(id) SD_BUS_PARAM(state) SD_BUS_PARAM(reason), 0),
	SD_BUS_VTABLE_END,
};

/* ---- the connection -------------------------------------------------------------------------- */

static void
drop_bus(struct bridge_dbus *d)
{
	d->start_slot = sd_bus_slot_unref(d->start_slot);
	d->vtable_slot = sd_bus_slot_unref(d->vtable_slot);
	cable_bus_loop_free(&d->watch);
	if (d->bus != NULL)
		d->bus = sd_bus_flush_close_unref(d->bus);
}

static void
on_lost(void *arg, int err)
{
	struct bridge_dbus *d = arg;

	logmsg("session bus connection lost (%s): the D-Bus interface is off; the QR files and hook "
	    "keep working", strerror(-err));
	drop_bus(d);
}

int
bridge_dbus_open(const struct bridge_dbus_config *cfg, struct bridge_dbus **out, char *why,
    size_t why_len)
{
	struct bridge_dbus *d;
	int r, e;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(why, why_len, "out of memory");
		return CABLE_ERR_NOMEM;
	}
	d->cfg = *cfg;
	d->next_id = 1;
	r = CABLE_ERR_IO;
	if ((e = sd_bus_open_user_with_description(&d->bus, "cable-bridged")) < 0) {
		d->bus = NULL;
		snprintf(why, why_len, "no session bus (%s)", strerror(-e));
		goto fail;
	}
	if ((e = sd_bus_add_object_vtable(d->bus, &d->vtable_slot, BRIDGE_DBUS_PATH, BRIDGE_DBUS_IFACE,
	    bridge_vtable, d)) < 0) {
		snprintf(why, why_len, "cannot export %s (%s)", BRIDGE_DBUS_PATH, strerror(-e));
		goto fail;
	}
	/* Synchronous once at start: a second daemon should learn now that the name is taken. */
	if ((e = sd_bus_request_name(d->bus, BRIDGE_DBUS_NAME, 0)) < 0) {
		snprintf(why, why_len, "cannot own %s on the session bus (%s)", BRIDGE_DBUS_NAME,
		    e == -EEXIST ? "another cable-bridged has it" : strerror(-e));
		goto fail;
	}
	if ((r = cable_bus_loop_attach(d->cfg.loop, d->bus, on_lost, d, &d->watch)) != 0) {
		snprintf(why, why_len, "cannot watch the session bus (%s)", cable_strerror(r));
		goto fail;
	}
	*out = d;
	return 0;
fail:
	drop_bus(d);
	free(d);
	return r;
}

static void
flush(struct bridge_dbus *d)
{
	cable_bus_loop_rearm(d->watch);
}

static void
requests_changed(struct bridge_dbus *d)
{
	if (d->bus != NULL)
		(void)sd_bus_emit_properties_changed(d->bus, BRIDGE_DBUS_PATH, BRIDGE_DBUS_IFACE,
		    "Requests", NULL);
}

static int
on_ui_started(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct bridge_dbus *d = ud;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	uint32_t res = 0;

	d->start_slot = sd_bus_slot_unref(d->start_slot);
	if (e != NULL) {
		if (!d->ui_failed_logged)
			logmsg("the QR window (%s) cannot be started: %s; QR codes are shown by the "
			    "QR files and the hook only", d->cfg.ui_name, e->message != NULL ? e->message : e->name);
		d->ui_failed_logged = true;
		return 0;
	}
	if (sd_bus_message_read(m, "u", &res) >= 0 && res == 1)
		logmsg("QR window started (%s)", d->cfg.ui_name);
	return 0;
}

/* The UI may not be running: ask the bus to start it (D-Bus activation). It reads Requests. */
static void
start_ui(struct bridge_dbus *d)
{
	if (d->cfg.ui_name == NULL || d->bus == NULL || d->start_slot != NULL)
		return;
	(void)sd_bus_call_method_async(d->bus, &d->start_slot, "org.freedesktop.DBus",
	    "/org/freedesktop/DBus", "org.freedesktop.DBus", "StartServiceByName", on_ui_started, d,
	    "su", d->cfg.ui_name, (uint32_t)0);
}

static void
set_state(struct bridge_dbus *d, struct breq *q, const char *state, const char *reason)
{
	q->state = state;
	if (d->bus == NULL)
		return;
	(void)sd_bus_emit_signal(d->bus, BRIDGE_DBUS_PATH, BRIDGE_DBUS_IFACE, "RequestStateChanged",
	    "tss", q->id, state, reason != NULL ? reason : "");
	requests_changed(d);
	flush(d);
}

static void
end_request(struct bridge_dbus *d, uint64_t *id, const char *state, const char *reason)
{
	struct breq **pp, *q;

	for (pp = &d->reqs; *pp != NULL && (*pp)->id != *id; pp = &(*pp)->next)
		;
	if ((q = *pp) == NULL) {
		*id = 0;
		return;
	}
	set_state(d, q, state, reason);
	*pp = q->next;
	if (d->bus != NULL) {
		(void)sd_bus_emit_signal(d->bus, BRIDGE_DBUS_PATH, BRIDGE_DBUS_IFACE, "RequestEnded",
		    "tss", q->id, state, reason != NULL ? reason : "");
		requests_changed(d);
		flush(d);
	}
	breq_free(q);
	*id = 0;
}

static void
start_request(struct bridge_dbus *d, uint64_t *id, const char *rp_id, uint8_t cmd, const char *url)
{
	struct breq *q, **pp;

	if (url == NULL || (q = calloc(1, sizeof(*q))) == NULL)
		return;
	if ((q->url = strdup(url)) == NULL) {
		free(q);
		return;
	}
	q->id = d->next_id++;
	snprintf(q->rp_id, sizeof(q->rp_id), "%s", rp_id);
	q->type = cmd == CABLE_CTAP_MAKE_CREDENTIAL ? "makeCredential" : "getAssertion";
	q->state = "waiting-for-phone";
	for (pp = &d->reqs; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = q;
	*id = q->id;
	if (d->bus == NULL)
		return;
	(void)sd_bus_emit_signal(d->bus, BRIDGE_DBUS_PATH, BRIDGE_DBUS_IFACE, "RequestStarted", "tsss",
	    q->id, q->rp_id, q->type, q->url);
	set_state(d, q, "waiting-for-phone", "");
	start_ui(d);
	flush(d);
}

void
bridge_dbus_session_event(struct bridge_dbus *d, uint64_t *id, const char *rp_id, uint8_t cmd,
    const struct cable_initiator_event *ev, const char *cancel_reason, const char *detail)
{
	struct breq *q;
	char why[512];

	if (d == NULL)
		return;
	if (ev->type == CABLE_INITIATOR_EV_QR) {
		if (*id != 0)
			end_request(d, id, "failed", "a new QR code replaced this one");
		start_request(d, id, rp_id, cmd, ev->url);
		return;
	}
	if (*id == 0 || (q = find(d, *id)) == NULL)
		return;
	switch (ev->type) {
	case CABLE_INITIATOR_EV_QR:
		break;
	case CABLE_INITIATOR_EV_PHONE_FOUND:
		set_state(d, q, "phone-found", "");
		break;
	case CABLE_INITIATOR_EV_CONNECTED:
		set_state(d, q, "connected", "");
		break;
	case CABLE_INITIATOR_EV_WAITING:
		set_state(d, q, "waiting-for-user", "");
		break;
	case CABLE_INITIATOR_EV_RESPONSE:
		/* The answer goes back to the client now: the request is over for the person. */
		if (ev->response_len > 0 && ev->response[0] != 0)
			snprintf(why, sizeof(why), "the phone answered with status 0x%02x", ev->response[0]);
		else
			snprintf(why, sizeof(why), "the phone answered");
		end_request(d, id, "done", why);
		break;
	case CABLE_INITIATOR_EV_DONE:
		end_request(d, id, "failed", "the phone closed the session without an answer");
		break;
	case CABLE_INITIATOR_EV_FAILED:
		snprintf(why, sizeof(why), "%s (while %s)%s%s", cable_strerror(ev->error),
		    cable_initiator_stage_name(ev->stage), detail != NULL && *detail != '\0' ? ": " : "",
		    detail != NULL ? detail : "");
		end_request(d, id, "failed", why);
		break;
	case CABLE_INITIATOR_EV_CANCELLED:
		end_request(d, id, "cancelled", cancel_reason != NULL ? cancel_reason : "cancelled");
		break;
	}
}

void
bridge_dbus_request_abandon(struct bridge_dbus *d, uint64_t *id, const char *reason)
{
	if (d == NULL || *id == 0)
		return;
	end_request(d, id, "cancelled", reason);
}

void
bridge_dbus_free(struct bridge_dbus **dp)
{
	struct bridge_dbus *d;

	if (dp == NULL || (d = *dp) == NULL)
		return;
	while (d->reqs != NULL) {
		uint64_t id = d->reqs->id;

		end_request(d, &id, "cancelled", "the bridge stopped");
	}
	drop_bus(d);
	free(d);
	*dp = NULL;
}

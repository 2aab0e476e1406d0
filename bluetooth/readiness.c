/* One-shot Bluetooth readiness check for diagnostics (cablectl doctor): blocking, bounded calls. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bt-common.h"
#include "cable/bluetooth.h"
#include "cable/error.h"

static int
call(sd_bus *bus, struct bt_base *b, const char *path, const char *iface, const char *member,
    sd_bus_message **reply, int fallback, const char *types, ...)
{
	sd_bus_message *m = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	va_list ap;
	int r;

	r = sd_bus_message_new_method_call(bus, &m, BT_SERVICE, path, iface, member);
	if (r >= 0 && types != NULL) {
		va_start(ap, types);
		r = sd_bus_message_appendv(m, types, ap);
		va_end(ap);
	}
	if (r < 0) {
		sd_bus_message_unref(m);
		bt_set_detail(b, "%s.%s: cannot build call", iface, member);
		return CABLE_ERR_BT_BUS;
	}
	r = sd_bus_call(bus, m, b->timeout_usec, &e, reply);
	sd_bus_message_unref(m);
	if (r < 0) {
		if (!sd_bus_error_is_set(&e))
			sd_bus_error_set_errno(&e, r);
		r = bt_map_error(b, &e, fallback);
		sd_bus_error_free(&e);
		return r;
	}
	return 0;
}

int
cable_bt_check(const struct cable_bt_opts *opts, struct cable_bt_readiness *out)
{
	struct bt_base b;
	struct bt_adapter_info ai;
	sd_bus *bus = NULL;
	sd_bus_message *objs = NULL;
	int r = CABLE_ERR_INTERNAL;

	if (out == NULL)
		return CABLE_ERR_ARG;
	memset(out, 0, sizeof(*out));
	out->bluez = out->adapter = out->discovery = out->advertising = CABLE_ERR_STATE;
	bt_base_init(&b, NULL, NULL, opts);
	if ((r = sd_bus_open_system(&bus)) < 0) {
		bus = NULL;
		bt_set_detail(&b, "cannot connect to the system bus: %s", strerror(-r));
		r = out->bus = CABLE_ERR_BT_BUS;
		goto out;
	}
	if ((r = call(bus, &b, "/", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
	    &objs, CABLE_ERR_BT_NO_BLUEZ, NULL)) != 0) {
		/* A bus we cannot talk to at all shows up here, not at connect time. */
		if (r == CABLE_ERR_BT_BUS)
			out->bus = r;
		else
			out->bluez = r;
		goto out;
	}
	out->bluez = 0;
	r = out->adapter = bt_choose_adapter(&b, objs, false, &ai, &out->adapters);
	if (r != 0)
		goto out;
	snprintf(out->adapter_name, sizeof(out->adapter_name), "%s", ai.name);
	snprintf(out->adapter_address, sizeof(out->adapter_address), "%s", ai.address);
	out->advertising = ai.adv_manager ? 0 : CABLE_ERR_UNSUPPORTED;
	r = call(bus, &b, ai.path, BT_ADAPTER_IFACE, "SetDiscoveryFilter", NULL,
	    CABLE_ERR_BT_DISCOVERY, "a{sv}", 2, "Transport", "s", "le", "DuplicateData", "b", 1);
	if (r == 0)
		r = call(bus, &b, ai.path, BT_ADAPTER_IFACE, "StartDiscovery", NULL,
		    CABLE_ERR_BT_DISCOVERY, NULL);
	out->discovery = r;
	if (r != 0)
		bt_hint_busy_discovery(&b);
	if (r == 0) {
		char keep[sizeof(b.detail)];

		memcpy(keep, b.detail, sizeof(keep));
		(void)call(bus, &b, ai.path, BT_ADAPTER_IFACE, "StopDiscovery", NULL,
		    CABLE_ERR_BT_DISCOVERY, NULL);
		memcpy(b.detail, keep, sizeof(keep));
	}
out:
	memcpy(out->detail, b.detail, sizeof(out->detail));
	sd_bus_message_unref(objs);
	if (bus != NULL)
		sd_bus_flush_close_unref(bus);
	return r;
}

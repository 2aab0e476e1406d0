/* Phone side: one broadcast LEAdvertisement1 object registered with BlueZ's LEAdvertisingManager1. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bt-common.h"
#include "cable/bluetooth.h"
#include "cable/bytes.h"
#include "cable/error.h"

/* One advertisement per connection, so a fixed path is unique on the bus (BlueZ keys on sender). */
#define ADV_PATH "/org/cablebridge/advertisement0"
#define ADV_INTERVAL_MS 100u

struct cable_bt_advertiser {
	struct bt_base base; /* first */
	struct cable_bt_advertiser_cbs cbs;
	void *arg;
	bool registration_requested;
	char uuid[37];
	size_t len;
	uint8_t *data;
};

static struct cable_bt_advertiser *
adv_of(struct bt_base *b)
{
	return (struct cable_bt_advertiser *)(void *)b;
}

static void
adv_release(struct bt_base *b)
{
	struct cable_bt_advertiser *a = adv_of(b);

	if (a->registration_requested && b->adapter_path[0] != '\0') {
		bt_debug("UnregisterAdvertisement on %s", b->adapter_path);
		bt_send(b, b->adapter_path, BT_ADV_MANAGER_IFACE, "UnregisterAdvertisement", "o",
		    ADV_PATH);
	}
	a->registration_requested = false;
}

static void
adv_report(struct bt_base *b, int code)
{
	struct cable_bt_advertiser *a = adv_of(b);
	void (*cb)(void *, int) = a->cbs.error;

	a->cbs.error = NULL;
	if (cb != NULL)
		cb(a->arg, code);
}

static void
adv_destroy(struct bt_base *b)
{
	struct cable_bt_advertiser *a = adv_of(b);

	if (a->data != NULL)
		cable_wipe(a->data, a->len);
	free(a->data);
	free(a);
}

static const struct bt_base_ops adv_ops = {
	.release = adv_release,
	.report = adv_report,
	.destroy = adv_destroy,
};

static int
get_type(sd_bus *bus, const char *path, const char *iface, const char *prop, sd_bus_message *reply,
    void *ud, sd_bus_error *err)
{
	return sd_bus_message_append(reply, "s", "broadcast");
}

static int
get_uuids(sd_bus *bus, const char *path, const char *iface, const char *prop,
    sd_bus_message *reply, void *ud, sd_bus_error *err)
{
	struct cable_bt_advertiser *a = ud;

	return sd_bus_message_append(reply, "as", 1, a->uuid);
}

static int
get_service_data(sd_bus *bus, const char *path, const char *iface, const char *prop,
    sd_bus_message *reply, void *ud, sd_bus_error *err)
{
	struct cable_bt_advertiser *a = ud;
	int r;

	if ((r = sd_bus_message_open_container(reply, 'a', "{sv}")) < 0 ||
	    (r = sd_bus_message_open_container(reply, 'e', "sv")) < 0 ||
	    (r = sd_bus_message_append(reply, "s", a->uuid)) < 0 ||
	    (r = sd_bus_message_open_container(reply, 'v', "ay")) < 0 ||
	    (r = sd_bus_message_append_array(reply, 'y', a->data, a->len)) < 0 ||
	    (r = sd_bus_message_close_container(reply)) < 0 ||
	    (r = sd_bus_message_close_container(reply)) < 0)
		return r;
	return sd_bus_message_close_container(reply);
}

static int
get_interval(sd_bus *bus, const char *path, const char *iface, const char *prop,
    sd_bus_message *reply, void *ud, sd_bus_error *err)
{
	return sd_bus_message_append(reply, "u", ADV_INTERVAL_MS);
}

/* BlueZ dropped the advertisement (adapter gone, or BlueZ shutting down): nothing to unregister. */
static int
method_release(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct cable_bt_advertiser *a = ud;
	int r;

	r = sd_bus_reply_method_return(m, NULL);
	if (!bt_base_active(&a->base))
		return r;
	a->registration_requested = false;
	bt_set_detail(&a->base, "BlueZ released the advertisement on %s", a->base.adapter_name);
	bt_base_fail(&a->base, CABLE_ERR_BT_ADAPTER_GONE);
	return r;
}

static const sd_bus_vtable adv_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("Release", "", "", method_release, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_PROPERTY("Type", "s", get_type, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("ServiceUUIDs", "as", get_uuids, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("ServiceData", "a{sv}", get_service_data, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("MinInterval", "u", get_interval, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("MaxInterval", "u", get_interval, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_VTABLE_END,
};

static int
on_registered(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct cable_bt_advertiser *a = ud;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	void (*cb)(void *, const char *);

	(void)err;
	if (!bt_base_active(&a->base))
		return 0;
	if (e != NULL) {
		a->registration_requested = false;
		bt_base_fail(&a->base, bt_map_error(&a->base, e, CABLE_ERR_BT_ADVERTISE));
		return 0;
	}
	a->base.state = BT_RUNNING;
	bt_debug("advertising on %s", a->base.adapter_name);
	cb = a->cbs.registered;
	if (cb != NULL)
		cb(a->arg, a->base.adapter_name);
	return 0;
}

static int
on_managed_objects(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct cable_bt_advertiser *a = ud;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	struct bt_adapter_info ai;
	int r;

	(void)err;
	if (!bt_base_active(&a->base))
		return 0;
	if (e != NULL) {
		bt_base_fail(&a->base, bt_map_error(&a->base, e, CABLE_ERR_BT_NO_BLUEZ));
		return 0;
	}
	if ((r = bt_choose_adapter(&a->base, m, true, &ai, NULL)) != 0) {
		bt_base_fail(&a->base, r);
		return 0;
	}
	/*
	 * BlueZ reads our properties (GetAll) before it replies, so this must stay asynchronous:
	 * a blocking call would never serve that request.
	 */
	a->registration_requested = true;
	r = bt_call(&a->base, a->base.adapter_path, BT_ADV_MANAGER_IFACE, "RegisterAdvertisement",
	    on_registered, a, "oa{sv}", ADV_PATH, 0);
	if (r != 0) {
		a->registration_requested = false;
		bt_base_fail(&a->base, r);
	}
	return 0;
}

struct cable_bt_advertiser *
cable_bt_advertiser_new(struct cable_loop *loop, const struct cable_bt_opts *opts,
    uint16_t uuid16, const uint8_t *data, size_t len, const struct cable_bt_advertiser_cbs *cbs,
    void *arg)
{
	struct cable_bt_advertiser *a;

	if (loop == NULL || (data == NULL && len > 0) || (a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	bt_base_init(&a->base, &adv_ops, loop, opts);
	if (cbs != NULL)
		a->cbs = *cbs;
	a->arg = arg;
	snprintf(a->uuid, sizeof(a->uuid), "0000%04x-0000-1000-8000-00805f9b34fb", uuid16);
	a->len = len;
	if ((a->data = malloc(len > 0 ? len : 1)) == NULL) {
		free(a);
		return NULL;
	}
	if (len > 0)
		memcpy(a->data, data, len);
	return a;
}

int
cable_bt_advertiser_start(struct cable_bt_advertiser *a)
{
	int r = CABLE_ERR_INTERNAL;

	if (a == NULL)
		return CABLE_ERR_ARG;
	if (a->base.state != BT_NEW)
		return CABLE_ERR_STATE;
	if (a->len == 0 || a->len > CABLE_BT_PAYLOAD_MAX)
		return CABLE_ERR_LENGTH;
	if ((r = bt_base_open(&a->base)) != 0)
		goto out;
	if (sd_bus_add_object_vtable(a->base.bus, NULL, ADV_PATH, BT_ADV_IFACE, adv_vtable, a) < 0) {
		bt_set_detail(&a->base, "cannot export %s", ADV_PATH);
		r = CABLE_ERR_BT_BUS;
		goto out;
	}
	a->base.state = BT_STARTING;
	r = bt_call(&a->base, "/", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
	    on_managed_objects, a, NULL);
out:
	if (r != 0) {
		a->base.state = BT_STOPPED;
		bt_base_close(&a->base);
	}
	return r;
}

void
cable_bt_advertiser_free(struct cable_bt_advertiser **pa)
{
	struct cable_bt_advertiser *a;

	if (pa == NULL || (a = *pa) == NULL)
		return;
	*pa = NULL;
	memset(&a->cbs, 0, sizeof(a->cbs));
	bt_base_free(&a->base);
}

const char *
cable_bt_advertiser_detail(const struct cable_bt_advertiser *a)
{
	return a != NULL ? a->base.detail : "";
}

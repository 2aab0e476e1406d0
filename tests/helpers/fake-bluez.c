/*
 * fake-bluez: owns org.bluez on a private bus and imitates the part of BlueZ 5.66's D-Bus API that
 * cable-bridge uses (ObjectManager, Adapter1, LEAdvertisingManager1, Device1), with a simulated
 * radio between its adapters and a control interface for tests (org.cablebridge.FakeBluez1).
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#define CTL_NAME "org.cablebridge.FakeBluez"
#define CTL_PATH "/org/cablebridge/fake"
#define CTL_IFACE "org.cablebridge.FakeBluez1"
#define MAX_SD 8
#define MAX_DATA 1024
#define SUPPORTED_INSTANCES 4
#define LEGACY_AD_MAX 31

struct svc_data {
	char uuid[37];
	size_t len;
	uint8_t data[MAX_DATA];
};

struct adapter;

/* Something on the air: a registered advertisement or an injected/made-up device. */
struct tx {
	struct adapter *origin;  /* registered advert: heard by every other adapter */
	struct adapter *only;    /* injected: heard by this adapter only */
	char address[18];
	char address_type[8];
	char name[64];
	int16_t rssi;
	bool discoverable;
	unsigned nsd;
	struct svc_data sd[MAX_SD];
	unsigned nuuids;
	char uuids[MAX_SD][37];
	/* advert only */
	char *owner, *path;
	sd_bus_message *pending; /* RegisterAdvertisement waiting for GetAll */
	sd_bus_slot *call;       /* our outstanding call to the owner, cancelled on free */
	bool registered;
	uint16_t timeout;
	sd_event_source *timeout_src;
	struct tx *next;
};

struct device {
	struct adapter *ad;
	struct tx *src;
	char path[96];
	char address[18];
	char address_type[8];
	char name[64];
	int16_t rssi;
	unsigned nsd;
	struct svc_data sd[MAX_SD];
	unsigned nuuids;
	char uuids[MAX_SD][37];
	sd_bus_slot *slot;
	struct device *next;
};

struct client {
	char *owner;
	bool discovering;
	bool has_filter;
	bool duplicate;
	char transport[8];
	struct client *next;
};

struct stats {
	uint32_t start_discovery, stop_discovery, stop_by_exit, set_filter, registered,
	    unregistered, released, adverts_gone_with_owner;
};

struct adapter {
	char name[16];
	char path[32];
	char address[18];
	int index;
	bool powered;
	bool discovering;
	bool adv_manager;
	sd_bus_slot *slot_adapter, *slot_adv;
	struct client *clients;
	struct device *devices;
	struct stats st;
	struct adapter *next;
};

struct fail {
	char adapter[16];
	char method[64];
	char name[128];
	char message[128];
	unsigned count;
	struct fail *next;
};

static sd_bus *bus;  /* owns org.bluez */
static sd_bus *cbus; /* owns the control name */
static sd_event *event;
static struct adapter *adapters;
static struct tx *txs;
static struct fail *fails;
static uint32_t delay_ms;
static bool replaying;
static uint64_t tick_usec = 100000;

static void
die(const char *what, int r)
{
	fprintf(stderr, "fake-bluez: %s: %s\n", what, strerror(r < 0 ? -r : r));
	exit(1);
}

/* ---------------------------------------------------------------- helpers */

/* BlueZ shows every UUID in its 128-bit lower-case form. */
static int
normalize_uuid(const char *in, char out[37])
{
	size_t n = strlen(in);
	char lo[37];

	if (n != 4 && n != 8 && n != 36)
		return -EINVAL;
	for (size_t i = 0; i <= n; i++)
		lo[i] = (char)((in[i] >= 'A' && in[i] <= 'Z') ? in[i] + 32 : in[i]);
	if (n == 36) {
		memcpy(out, lo, 37);
		return 0;
	}
	memcpy(out, "00000000-0000-1000-8000-00805f9b34fb", 37);
	memcpy(out + 8 - n, lo, n);
	return 0;
}

static bool
uuid_is16(const char *u)
{
	return !strncmp(u, "0000", 4) && !strcmp(u + 8, "-0000-1000-8000-00805f9b34fb");
}

static struct adapter *
adapter_by_name(const char *name)
{
	for (struct adapter *a = adapters; a != NULL; a = a->next)
		if (!strcmp(a->name, name))
			return a;
	return NULL;
}

static int
take_fail(struct adapter *a, const char *method, sd_bus_error *err)
{
	for (struct fail *f = fails; f != NULL; f = f->next) {
		if (f->count == 0 || strcmp(f->method, method) != 0)
			continue;
		if (f->adapter[0] != '\0' && strcmp(f->adapter, a->name) != 0)
			continue;
		f->count--;
		return sd_bus_error_set(err, f->name, f->message);
	}
	return 0;
}

/* Replies later when a delay is set: the handler runs again from a timer with the same message. */
struct deferred {
	sd_bus_message *m;
	sd_bus_message_handler_t h;
	void *ud;
};

static int
run_deferred(sd_event_source *s, uint64_t usec, void *ud)
{
	struct deferred *d = ud;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	bool alive = false;

	for (struct adapter *a = adapters; a != NULL; a = a->next)
		alive |= (void *)a == d->ud;
	replaying = true;
	/* Every deferred handler belongs to an adapter, which may be gone by now. */
	r = alive ? d->h(d->m, d->ud, &e) :
		    sd_bus_error_set(&e, SD_BUS_ERROR_UNKNOWN_OBJECT, "adapter removed");
	replaying = false;
	if (r < 0) {
		if (!sd_bus_error_is_set(&e))
			sd_bus_error_set_errno(&e, r);
		sd_bus_reply_method_error(d->m, &e);
	}
	sd_bus_error_free(&e);
	sd_bus_message_unref(d->m);
	free(d);
	sd_event_source_set_floating(s, false);
	sd_event_source_unref(s);
	return 0;
}

static bool
deferred(sd_bus_message *m, sd_bus_message_handler_t h, void *ud)
{
	struct deferred *d;
	sd_event_source *s = NULL;

	if (delay_ms == 0 || replaying)
		return false;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return false;
	d->m = sd_bus_message_ref(m);
	d->h = h;
	d->ud = ud;
	if (sd_event_add_time_relative(event, &s, CLOCK_MONOTONIC, (uint64_t)delay_ms * 1000, 0,
	    run_deferred, d) < 0) {
		sd_bus_message_unref(d->m);
		free(d);
		return false;
	}
	return true;
}

#define DEFER(m, h, ud)                          \
	do {                                     \
		if (deferred((m), (h), (ud)))    \
			return 1;                \
	} while (0)

/* ---------------------------------------------------------------- devices */

static int
dev_get_address(sd_bus *b, const char *path, const char *iface, const char *prop,
    sd_bus_message *reply, void *ud, sd_bus_error *err)
{
	struct device *d = ud;

	if (!strcmp(prop, "Address"))
		return sd_bus_message_append(reply, "s", d->address);
	if (!strcmp(prop, "AddressType"))
		return sd_bus_message_append(reply, "s", d->address_type);
	if (!strcmp(prop, "Name"))
		return sd_bus_message_append(reply, "s", d->name);
	/* Alias falls back to the address with '-' as BlueZ does when there is no name. */
	if (d->name[0] != '\0')
		return sd_bus_message_append(reply, "s", d->name);
	{
		char alias[18];

		snprintf(alias, sizeof(alias), "%s", d->address);
		for (char *p = alias; *p; p++)
			if (*p == ':')
				*p = '-';
		return sd_bus_message_append(reply, "s", alias);
	}
}

static int
dev_get_false(sd_bus *b, const char *path, const char *iface, const char *prop,
    sd_bus_message *reply, void *ud, sd_bus_error *err)
{
	return sd_bus_message_append(reply, "b", 0);
}

static int
dev_get_rssi(sd_bus *b, const char *path, const char *iface, const char *prop,
    sd_bus_message *reply, void *ud, sd_bus_error *err)
{
	struct device *d = ud;

	return sd_bus_message_append(reply, "n", d->rssi);
}

static int
dev_get_adapter(sd_bus *b, const char *path, const char *iface, const char *prop,
    sd_bus_message *reply, void *ud, sd_bus_error *err)
{
	struct device *d = ud;

	return sd_bus_message_append(reply, "o", d->ad->path);
}

static int
dev_get_uuids(sd_bus *b, const char *path, const char *iface, const char *prop,
    sd_bus_message *reply, void *ud, sd_bus_error *err)
{
	struct device *d = ud;
	int r;

	if ((r = sd_bus_message_open_container(reply, 'a', "s")) < 0)
		return r;
	for (unsigned i = 0; i < d->nuuids; i++)
		if ((r = sd_bus_message_append(reply, "s", d->uuids[i])) < 0)
			return r;
	return sd_bus_message_close_container(reply);
}

static int
dev_get_service_data(sd_bus *b, const char *path, const char *iface, const char *prop,
    sd_bus_message *reply, void *ud, sd_bus_error *err)
{
	struct device *d = ud;
	int r;

	if ((r = sd_bus_message_open_container(reply, 'a', "{sv}")) < 0)
		return r;
	for (unsigned i = 0; i < d->nsd; i++) {
		if ((r = sd_bus_message_open_container(reply, 'e', "sv")) < 0 ||
		    (r = sd_bus_message_append(reply, "s", d->sd[i].uuid)) < 0 ||
		    (r = sd_bus_message_open_container(reply, 'v', "ay")) < 0 ||
		    (r = sd_bus_message_append_array(reply, 'y', d->sd[i].data, d->sd[i].len)) < 0 ||
		    (r = sd_bus_message_close_container(reply)) < 0 ||
		    (r = sd_bus_message_close_container(reply)) < 0)
			return r;
	}
	return sd_bus_message_close_container(reply);
}

#define EMITS SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define DEVICE_COMMON                                                                      \
	SD_BUS_PROPERTY("Address", "s", dev_get_address, 0, EMITS),                         \
	SD_BUS_PROPERTY("AddressType", "s", dev_get_address, 0, EMITS),                     \
	SD_BUS_PROPERTY("Alias", "s", dev_get_address, 0, EMITS),                           \
	SD_BUS_PROPERTY("Paired", "b", dev_get_false, 0, EMITS),                            \
	SD_BUS_PROPERTY("Bonded", "b", dev_get_false, 0, EMITS),                            \
	SD_BUS_PROPERTY("Trusted", "b", dev_get_false, 0, EMITS),                           \
	SD_BUS_PROPERTY("Blocked", "b", dev_get_false, 0, EMITS),                           \
	SD_BUS_PROPERTY("LegacyPairing", "b", dev_get_false, 0, EMITS),                     \
	SD_BUS_PROPERTY("RSSI", "n", dev_get_rssi, 0, EMITS),                               \
	SD_BUS_PROPERTY("Connected", "b", dev_get_false, 0, EMITS),                         \
	SD_BUS_PROPERTY("UUIDs", "as", dev_get_uuids, 0, EMITS),                            \
	SD_BUS_PROPERTY("Adapter", "o", dev_get_adapter, 0, SD_BUS_VTABLE_PROPERTY_CONST),  \
	SD_BUS_PROPERTY("ServicesResolved", "b", dev_get_false, 0, EMITS)

/* BlueZ leaves out Name and ServiceData when it has none; sd-bus cannot, so four tables. */
static const sd_bus_vtable device_vt[] = {
	SD_BUS_VTABLE_START(0), DEVICE_COMMON, SD_BUS_VTABLE_END};
static const sd_bus_vtable device_vt_name[] = {
	SD_BUS_VTABLE_START(0), DEVICE_COMMON,
	SD_BUS_PROPERTY("Name", "s", dev_get_address, 0, EMITS), SD_BUS_VTABLE_END};
static const sd_bus_vtable device_vt_sd[] = {
	SD_BUS_VTABLE_START(0), DEVICE_COMMON,
	SD_BUS_PROPERTY("ServiceData", "a{sv}", dev_get_service_data, 0, EMITS),
	SD_BUS_VTABLE_END};
static const sd_bus_vtable device_vt_name_sd[] = {
	SD_BUS_VTABLE_START(0), DEVICE_COMMON,
	SD_BUS_PROPERTY("Name", "s", dev_get_address, 0, EMITS),
	SD_BUS_PROPERTY("ServiceData", "a{sv}", dev_get_service_data, 0, EMITS),
	SD_BUS_VTABLE_END};

static void
device_remove(struct device *d)
{
	struct device **pp;

	for (pp = &d->ad->devices; *pp != NULL && *pp != d; pp = &(*pp)->next)
		;
	if (*pp == d)
		*pp = d->next;
	sd_bus_emit_object_removed(bus, d->path);
	sd_bus_slot_unref(d->slot);
	free(d);
}

static struct device *
device_find(struct adapter *a, const char *address)
{
	for (struct device *d = a->devices; d != NULL; d = d->next)
		if (!strcmp(d->address, address))
			return d;
	return NULL;
}

static void
copy_from_tx(struct device *d, const struct tx *t)
{
	d->nsd = t->nsd;
	memcpy(d->sd, t->sd, sizeof(d->sd));
	d->nuuids = t->nuuids;
	memcpy(d->uuids, t->uuids, sizeof(d->uuids));
}

static struct device *
device_create(struct adapter *a, struct tx *t)
{
	struct device *d;
	const sd_bus_vtable *vt;
	char *p;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->ad = a;
	d->src = t;
	snprintf(d->address, sizeof(d->address), "%s", t->address);
	snprintf(d->address_type, sizeof(d->address_type), "%s", t->address_type);
	snprintf(d->name, sizeof(d->name), "%s", t->name);
	snprintf(d->path, sizeof(d->path), "%s/dev_%s", a->path, t->address);
	for (p = d->path + strlen(a->path) + 5; *p; p++)
		if (*p == ':')
			*p = '_';
	d->rssi = t->rssi;
	copy_from_tx(d, t);
	vt = d->name[0] ? (d->nsd ? device_vt_name_sd : device_vt_name) :
			  (d->nsd ? device_vt_sd : device_vt);
	if (sd_bus_add_object_vtable(bus, &d->slot, d->path, "org.bluez.Device1", vt, d) < 0) {
		free(d);
		return NULL;
	}
	d->next = a->devices;
	a->devices = d;
	sd_bus_emit_object_added(bus, d->path);
	return d;
}

static bool
adapter_filtered(const struct adapter *a, bool *duplicate, bool *le)
{
	bool filtered = false;

	*duplicate = false;
	*le = false;
	for (const struct client *c = a->clients; c != NULL; c = c->next) {
		if (!c->discovering)
			continue;
		if (c->has_filter) {
			filtered = true;
			*duplicate |= c->duplicate;
			if (strcmp(c->transport, "bredr") != 0)
				*le = true;
		} else
			*le = true;
	}
	return filtered;
}

/* One advertising event of t as adapter a receives it. */
static void
hear(struct adapter *a, struct tx *t)
{
	struct device *d;
	bool dup, le, filtered;

	if (!a->powered || !a->discovering)
		return;
	filtered = adapter_filtered(a, &dup, &le);
	if (!le)
		return;
	d = device_find(a, t->address);
	if (d != NULL && d->src != t) {
		/* Same address, new transmitter (re-injected): start the object afresh. */
		device_remove(d);
		d = NULL;
	}
	if (d == NULL) {
		/* BlueZ 5.66 device_is_discoverable(): flags matter only without a filter. */
		if (!filtered && !t->discoverable)
			return;
		device_create(a, t);
		return;
	}
	if (d->rssi != t->rssi) {
		d->rssi = t->rssi;
		sd_bus_emit_properties_changed(bus, d->path, "org.bluez.Device1", "RSSI", NULL);
	}
	if (t->nsd > 0) {
		bool changed = d->nsd != t->nsd || memcmp(d->sd, t->sd, sizeof(d->sd)) != 0;

		copy_from_tx(d, t);
		/* Without DuplicateData the controller filters repeats: only changes are seen. */
		if (changed || dup)
			sd_bus_emit_properties_changed(bus, d->path, "org.bluez.Device1",
			    "ServiceData", NULL);
	}
}

static void
broadcast(struct tx *t)
{
	if (t->origin != NULL) {
		if (!t->registered || !t->origin->powered)
			return;
		for (struct adapter *a = adapters; a != NULL; a = a->next)
			if (a != t->origin)
				hear(a, t);
	} else if (t->only != NULL)
		hear(t->only, t);
}

static void
tx_gone(struct tx *t)
{
	for (struct adapter *a = adapters; a != NULL; a = a->next) {
		struct device *d = a->devices, *n;

		for (; d != NULL; d = n) {
			n = d->next;
			if (d->src == t)
				device_remove(d);
		}
	}
}

static void
tx_free(struct tx *t)
{
	struct tx **pp;

	for (pp = &txs; *pp != NULL && *pp != t; pp = &(*pp)->next)
		;
	if (*pp == t)
		*pp = t->next;
	tx_gone(t);
	/* Safe inside the call's own callback: sd-bus holds a reference while it runs. */
	sd_bus_slot_unref(t->call);
	sd_event_source_unref(t->timeout_src);
	sd_bus_message_unref(t->pending);
	free(t->owner);
	free(t->path);
	free(t);
}

static int
on_tick(sd_event_source *s, uint64_t usec, void *ud)
{
	for (struct tx *t = txs; t != NULL; t = t->next)
		broadcast(t);
	sd_event_source_set_time(s, usec + tick_usec);
	return 0;
}

/* ---------------------------------------------------------------- adapter */

static void
update_discovering(struct adapter *a)
{
	bool any = false;

	for (struct client *c = a->clients; c != NULL; c = c->next)
		any |= c->discovering;
	if (any != a->discovering) {
		a->discovering = any;
		sd_bus_emit_properties_changed(bus, a->path, "org.bluez.Adapter1", "Discovering",
		    NULL);
	}
}

static struct client *
client_find(struct adapter *a, const char *owner, bool create)
{
	struct client *c;

	for (c = a->clients; c != NULL; c = c->next)
		if (!strcmp(c->owner, owner))
			return c;
	if (!create || (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->owner = strdup(owner)) == NULL) {
		free(c);
		return NULL;
	}
	c->next = a->clients;
	a->clients = c;
	return c;
}

static void
client_free(struct adapter *a, struct client *c)
{
	struct client **pp;

	for (pp = &a->clients; *pp != NULL && *pp != c; pp = &(*pp)->next)
		;
	if (*pp == c)
		*pp = c->next;
	free(c->owner);
	free(c);
}

static void
adapter_power(struct adapter *a, bool on)
{
	if (a->powered == on)
		return;
	a->powered = on;
	if (!on) {
		/* Discovery sessions end with the power; the devices go with them. */
		while (a->clients != NULL)
			client_free(a, a->clients);
		while (a->devices != NULL)
			device_remove(a->devices);
		for (struct tx *t = txs; t != NULL; t = t->next)
			if (t->origin == a)
				tx_gone(t);
	}
	sd_bus_emit_properties_changed(bus, a->path, "org.bluez.Adapter1", "Powered", "PowerState",
	    NULL);
	update_discovering(a);
}

static int
ad_get(sd_bus *b, const char *path, const char *iface, const char *prop, sd_bus_message *reply,
    void *ud, sd_bus_error *err)
{
	struct adapter *a = ud;

	if (!strcmp(prop, "Address"))
		return sd_bus_message_append(reply, "s", a->address);
	if (!strcmp(prop, "AddressType"))
		return sd_bus_message_append(reply, "s", "public");
	if (!strcmp(prop, "Name") || !strcmp(prop, "Alias"))
		return sd_bus_message_append(reply, "s", "fake-bluez");
	if (!strcmp(prop, "Class"))
		return sd_bus_message_append(reply, "u", 0x7c0104u);
	if (!strcmp(prop, "Powered"))
		return sd_bus_message_append(reply, "b", a->powered);
	if (!strcmp(prop, "PowerState"))
		return sd_bus_message_append(reply, "s", a->powered ? "on" : "off");
	if (!strcmp(prop, "Discovering"))
		return sd_bus_message_append(reply, "b", a->discovering);
	if (!strcmp(prop, "Discoverable") || !strcmp(prop, "Pairable"))
		return sd_bus_message_append(reply, "b", 0);
	if (!strcmp(prop, "DiscoverableTimeout"))
		return sd_bus_message_append(reply, "u", 180u);
	if (!strcmp(prop, "PairableTimeout"))
		return sd_bus_message_append(reply, "u", 0u);
	if (!strcmp(prop, "UUIDs"))
		return sd_bus_message_append(reply, "as", 2, "00001800-0000-1000-8000-00805f9b34fb",
		    "00001801-0000-1000-8000-00805f9b34fb");
	if (!strcmp(prop, "Modalias"))
		return sd_bus_message_append(reply, "s", "usb:v1D6Bp0246d0542");
	if (!strcmp(prop, "Roles"))
		return sd_bus_message_append(reply, "as", 2, "central", "peripheral");
	return sd_bus_error_set(err, SD_BUS_ERROR_UNKNOWN_PROPERTY, prop);
}

static int
ad_set_powered(sd_bus *b, const char *path, const char *iface, const char *prop,
    sd_bus_message *value, void *ud, sd_bus_error *err)
{
	int on, r;

	if ((r = sd_bus_message_read(value, "b", &on)) < 0)
		return r;
	adapter_power(ud, on);
	return 0;
}

static int
m_start_discovery(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct adapter *a = ud;
	struct client *c;
	int r;

	DEFER(m, m_start_discovery, ud);
	if ((r = take_fail(a, "StartDiscovery", err)) < 0)
		return r;
	if (!a->powered)
		return sd_bus_error_set(err, "org.bluez.Error.NotReady", "Resource Not Ready");
	c = client_find(a, sd_bus_message_get_sender(m), true);
	if (c == NULL)
		return -ENOMEM;
	if (c->discovering)
		return sd_bus_error_set(err, "org.bluez.Error.InProgress",
		    "Operation already in progress");
	c->discovering = true;
	a->st.start_discovery++;
	update_discovering(a);
	return sd_bus_reply_method_return(m, NULL);
}

static int
m_stop_discovery(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct adapter *a = ud;
	struct client *c;
	int r;

	DEFER(m, m_stop_discovery, ud);
	if ((r = take_fail(a, "StopDiscovery", err)) < 0)
		return r;
	if (!a->powered)
		return sd_bus_error_set(err, "org.bluez.Error.NotReady", "Resource Not Ready");
	c = client_find(a, sd_bus_message_get_sender(m), false);
	if (c == NULL || !c->discovering)
		return sd_bus_error_set(err, "org.bluez.Error.Failed", "No discovery started");
	/* BlueZ frees the client with its filter: a later StartDiscovery starts unfiltered. */
	client_free(a, c);
	a->st.stop_discovery++;
	update_discovering(a);
	return sd_bus_reply_method_return(m, NULL);
}

static int
invalid_args(sd_bus_error *err)
{
	return sd_bus_error_set(err, "org.bluez.Error.InvalidArguments",
	    "Invalid arguments in method call");
}

static int
m_set_discovery_filter(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct adapter *a = ud;
	struct client *c;
	const char *key, *contents;
	char type, transport[8] = "auto";
	bool dup = false, rssi = false, pathloss = false;
	unsigned n = 0;
	int r;

	DEFER(m, m_set_discovery_filter, ud);
	if ((r = take_fail(a, "SetDiscoveryFilter", err)) < 0)
		return r;
	if (!a->powered)
		return sd_bus_error_set(err, "org.bluez.Error.NotReady", "Resource Not Ready");
	if ((r = sd_bus_message_enter_container(m, 'a', "{sv}")) < 0)
		return invalid_args(err);
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		n++;
		if (sd_bus_message_read(m, "s", &key) < 0 ||
		    sd_bus_message_peek_type(m, &type, &contents) < 0)
			return invalid_args(err);
		if (!strcmp(key, "Transport")) {
			const char *v;

			if (strcmp(contents, "s") || sd_bus_message_read(m, "v", "s", &v) < 0)
				return invalid_args(err);
			if (strcmp(v, "auto") && strcmp(v, "bredr") && strcmp(v, "le"))
				return invalid_args(err);
			snprintf(transport, sizeof(transport), "%s", v);
		} else if (!strcmp(key, "DuplicateData") || !strcmp(key, "Discoverable")) {
			int v;

			if (strcmp(contents, "b") || sd_bus_message_read(m, "v", "b", &v) < 0)
				return invalid_args(err);
			if (!strcmp(key, "DuplicateData"))
				dup = v;
		} else if (!strcmp(key, "RSSI")) {
			if (strcmp(contents, "n") || sd_bus_message_skip(m, "v") < 0)
				return invalid_args(err);
			rssi = true;
		} else if (!strcmp(key, "Pathloss")) {
			if (strcmp(contents, "q") || sd_bus_message_skip(m, "v") < 0)
				return invalid_args(err);
			pathloss = true;
		} else if (!strcmp(key, "UUIDs")) {
			if (strcmp(contents, "as") || sd_bus_message_skip(m, "v") < 0)
				return invalid_args(err);
		} else if (!strcmp(key, "Pattern")) {
			if (strcmp(contents, "s") || sd_bus_message_skip(m, "v") < 0)
				return invalid_args(err);
		} else
			return invalid_args(err);
		if (sd_bus_message_exit_container(m) < 0)
			return invalid_args(err);
	}
	if (r < 0 || (rssi && pathloss))
		return invalid_args(err);
	c = client_find(a, sd_bus_message_get_sender(m), true);
	if (c == NULL)
		return -ENOMEM;
	/* An empty dictionary clears the filter. */
	c->has_filter = n > 0;
	c->duplicate = dup;
	snprintf(c->transport, sizeof(c->transport), "%s", transport);
	a->st.set_filter++;
	return sd_bus_reply_method_return(m, NULL);
}

static int
m_get_discovery_filters(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	return sd_bus_reply_method_return(m, "as", 7, "UUIDs", "RSSI", "Pathloss", "Transport",
	    "DuplicateData", "Discoverable", "Pattern");
}

static int
m_remove_device(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct adapter *a = ud;
	const char *path;
	int r;

	DEFER(m, m_remove_device, ud);
	if ((r = sd_bus_message_read(m, "o", &path)) < 0)
		return invalid_args(err);
	for (struct device *d = a->devices; d != NULL; d = d->next)
		if (!strcmp(d->path, path)) {
			device_remove(d);
			return sd_bus_reply_method_return(m, NULL);
		}
	return sd_bus_error_set(err, "org.bluez.Error.DoesNotExist", "Does Not Exist");
}

static const sd_bus_vtable adapter_vt[] = {
	/*
	 * Unprivileged: sd-bus would otherwise query the caller's credentials on a system bus and
	 * drop calls from a peer that has just left (a final StopDiscovery); bluetoothd does not.
	 */
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("StartDiscovery", "", "", m_start_discovery, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("StopDiscovery", "", "", m_stop_discovery, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("SetDiscoveryFilter", "a{sv}", "", m_set_discovery_filter, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("GetDiscoveryFilters", "", "as", m_get_discovery_filters, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("RemoveDevice", "o", "", m_remove_device, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_PROPERTY("Address", "s", ad_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("AddressType", "s", ad_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Name", "s", ad_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Alias", "s", ad_get, 0, EMITS),
	SD_BUS_PROPERTY("Class", "u", ad_get, 0, EMITS),
	SD_BUS_WRITABLE_PROPERTY("Powered", "b", ad_get, ad_set_powered, 0, EMITS),
	SD_BUS_PROPERTY("PowerState", "s", ad_get, 0, EMITS),
	SD_BUS_PROPERTY("Discoverable", "b", ad_get, 0, EMITS),
	SD_BUS_PROPERTY("DiscoverableTimeout", "u", ad_get, 0, EMITS),
	SD_BUS_PROPERTY("Pairable", "b", ad_get, 0, EMITS),
	SD_BUS_PROPERTY("PairableTimeout", "u", ad_get, 0, EMITS),
	SD_BUS_PROPERTY("Discovering", "b", ad_get, 0, EMITS),
	SD_BUS_PROPERTY("UUIDs", "as", ad_get, 0, EMITS),
	SD_BUS_PROPERTY("Modalias", "s", ad_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Roles", "as", ad_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_VTABLE_END,
};

/* ---------------------------------------------------------------- advertising */

static unsigned
active_adverts(const struct adapter *a)
{
	unsigned n = 0;

	for (const struct tx *t = txs; t != NULL; t = t->next)
		n += t->origin == a && t->registered;
	return n;
}

static int
adv_get(sd_bus *b, const char *path, const char *iface, const char *prop, sd_bus_message *reply,
    void *ud, sd_bus_error *err)
{
	struct adapter *a = ud;

	if (!strcmp(prop, "ActiveInstances"))
		return sd_bus_message_append(reply, "y", (uint8_t)active_adverts(a));
	if (!strcmp(prop, "SupportedInstances"))
		return sd_bus_message_append(reply, "y",
		    (uint8_t)(SUPPORTED_INSTANCES - active_adverts(a)));
	if (!strcmp(prop, "SupportedIncludes"))
		return sd_bus_message_append(reply, "as", 3, "tx-power", "appearance",
		    "local-name");
	if (!strcmp(prop, "SupportedSecondaryChannels"))
		return sd_bus_message_append(reply, "as", 0);
	return sd_bus_error_set(err, SD_BUS_ERROR_UNKNOWN_PROPERTY, prop);
}

static struct tx *
advert_find(const char *owner, const char *path)
{
	for (struct tx *t = txs; t != NULL; t = t->next)
		if (t->owner != NULL && !strcmp(t->owner, owner) && !strcmp(t->path, path))
			return t;
	return NULL;
}

static void
random_address(struct tx *t)
{
	uint8_t a[6] = {0};

	if (getrandom(a, sizeof(a), 0) != (ssize_t)sizeof(a))
		a[5] = (uint8_t)rand();
	/* Non-resolvable private address: the two top bits are 00. */
	a[0] &= 0x3f;
	snprintf(t->address, sizeof(t->address), "%02X:%02X:%02X:%02X:%02X:%02X", a[0], a[1], a[2],
	    a[3], a[4], a[5]);
	snprintf(t->address_type, sizeof(t->address_type), "random");
}

static int
advert_timeout(sd_event_source *s, uint64_t usec, void *ud)
{
	struct tx *t = ud;

	/* Timeout expiry is one of the two cases where BlueZ 5.66 calls Release. */
	sd_bus_call_method_async(bus, NULL, t->owner, t->path, "org.bluez.LEAdvertisement1",
	    "Release", NULL, NULL, NULL);
	t->origin->st.released++;
	tx_free(t);
	return 0;
}

static int
register_fail(struct tx *t, const char *name, const char *msg)
{
	sd_bus_reply_method_error(t->pending, &SD_BUS_ERROR_MAKE_CONST(name, msg));
	tx_free(t);
	return 0;
}

static size_t
legacy_length(const struct tx *t)
{
	size_t n = t->discoverable ? 3 : 0, n16 = 0, n128 = 0;

	for (unsigned i = 0; i < t->nuuids; i++)
		uuid_is16(t->uuids[i]) ? n16++ : n128++;
	if (n16)
		n += 2 + 2 * n16;
	if (n128)
		n += 2 + 16 * n128;
	for (unsigned i = 0; i < t->nsd; i++)
		n += 2 + (uuid_is16(t->sd[i].uuid) ? 2 : 16) + t->sd[i].len;
	if (t->name[0])
		n += 2 + strlen(t->name);
	return n;
}

/* Step 2 of RegisterAdvertisement: the advertisement's own properties. */
static int
on_advert_props(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct tx *t = ud;
	const char *prop, *contents;
	char type;
	bool have_type = false;
	uint32_t min = 0, max = 0;

	if (sd_bus_message_is_method_error(m, NULL))
		return register_fail(t, "org.bluez.Error.Failed", "Failed to parse advertisement.");
	if (sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
		goto bad;
	while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
		if (sd_bus_message_read(m, "s", &prop) < 0 ||
		    sd_bus_message_peek_type(m, &type, &contents) < 0)
			goto bad;
		if (!strcmp(prop, "Type")) {
			const char *v;

			if (strcmp(contents, "s") || sd_bus_message_read(m, "v", "s", &v) < 0)
				goto bad;
			if (strcmp(v, "broadcast") && strcmp(v, "peripheral"))
				goto bad;
			have_type = true;
		} else if (!strcmp(prop, "ServiceUUIDs")) {
			const char *u;

			if (strcmp(contents, "as") || sd_bus_message_enter_container(m, 'v', "as") < 0 ||
			    sd_bus_message_enter_container(m, 'a', "s") < 0)
				goto bad;
			while (sd_bus_message_read(m, "s", &u) > 0) {
				if (t->nuuids >= MAX_SD || normalize_uuid(u, t->uuids[t->nuuids]) < 0)
					goto bad;
				t->nuuids++;
			}
			if (sd_bus_message_exit_container(m) < 0 ||
			    sd_bus_message_exit_container(m) < 0)
				goto bad;
		} else if (!strcmp(prop, "ServiceData")) {
			if (strcmp(contents, "a{sv}") ||
			    sd_bus_message_enter_container(m, 'v', "a{sv}") < 0 ||
			    sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
				goto bad;
			while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
				const char *k;
				const void *p;
				size_t n;

				if (sd_bus_message_read(m, "s", &k) < 0 || t->nsd >= MAX_SD ||
				    normalize_uuid(k, t->sd[t->nsd].uuid) < 0 ||
				    sd_bus_message_enter_container(m, 'v', "ay") < 0 ||
				    sd_bus_message_read_array(m, 'y', &p, &n) < 0 || n > MAX_DATA ||
				    sd_bus_message_exit_container(m) < 0 ||
				    sd_bus_message_exit_container(m) < 0)
					goto bad;
				memcpy(t->sd[t->nsd].data, p, n);
				t->sd[t->nsd++].len = n;
			}
			if (sd_bus_message_exit_container(m) < 0 ||
			    sd_bus_message_exit_container(m) < 0)
				goto bad;
		} else if (!strcmp(prop, "Discoverable")) {
			int v;

			if (strcmp(contents, "b") || sd_bus_message_read(m, "v", "b", &v) < 0)
				goto bad;
			t->discoverable = v;
		} else if (!strcmp(prop, "LocalName")) {
			const char *v;

			if (strcmp(contents, "s") || sd_bus_message_read(m, "v", "s", &v) < 0)
				goto bad;
			snprintf(t->name, sizeof(t->name), "%s", v);
		} else if (!strcmp(prop, "Timeout")) {
			if (strcmp(contents, "q") || sd_bus_message_read(m, "v", "q", &t->timeout) < 0)
				goto bad;
		} else if (!strcmp(prop, "MinInterval") || !strcmp(prop, "MaxInterval")) {
			uint32_t v;

			if (strcmp(contents, "u") || sd_bus_message_read(m, "v", "u", &v) < 0)
				goto bad;
			*(prop[1] == 'i' ? &min : &max) = v;
		} else if (sd_bus_message_skip(m, "v") < 0)
			goto bad;
		if (sd_bus_message_exit_container(m) < 0)
			goto bad;
	}
	if (!have_type || (min && max && min > max))
		goto bad;
	if (legacy_length(t) > LEGACY_AD_MAX)
		return register_fail(t, "org.bluez.Error.Failed", "Failed to register advertisement");
	random_address(t);
	t->rssi = -50;
	t->registered = true;
	t->origin->st.registered++;
	if (t->timeout > 0)
		sd_event_add_time_relative(event, &t->timeout_src, CLOCK_MONOTONIC,
		    (uint64_t)t->timeout * 1000000u, 0, advert_timeout, t);
	sd_bus_reply_method_return(t->pending, NULL);
	t->pending = sd_bus_message_unref(t->pending);
	sd_bus_emit_properties_changed(bus, t->origin->path, "org.bluez.LEAdvertisingManager1",
	    "ActiveInstances", "SupportedInstances", NULL);
	broadcast(t);
	return 0;
bad:
	return register_fail(t, "org.bluez.Error.InvalidArguments",
	    "Invalid arguments in method call");
}

/* Step 1: like bluetoothd's gdbus client, ask the owner for its objects first (errors ignored). */
static int
on_advert_objects(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct tx *t = ud;

	sd_bus_slot *done = t->call;

	t->call = NULL;
	sd_bus_slot_unref(done);
	if (sd_bus_call_method_async(bus, &t->call, t->owner, t->path,
	    "org.freedesktop.DBus.Properties", "GetAll", on_advert_props, t, "s",
	    "org.bluez.LEAdvertisement1") < 0)
		return register_fail(t, "org.bluez.Error.Failed", "Failed to register advertisement");
	return 0;
}

static int
m_register_advertisement(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct adapter *a = ud;
	const char *path, *sender = sd_bus_message_get_sender(m);
	struct tx *t;
	int r;

	DEFER(m, m_register_advertisement, ud);
	if ((r = take_fail(a, "RegisterAdvertisement", err)) < 0)
		return r;
	if (sd_bus_message_read(m, "o", &path) < 0 || sd_bus_message_skip(m, "a{sv}") < 0)
		return invalid_args(err);
	if (advert_find(sender, path) != NULL)
		return sd_bus_error_set(err, "org.bluez.Error.AlreadyExists", "Already Exists");
	if (active_adverts(a) >= SUPPORTED_INSTANCES)
		return sd_bus_error_set(err, "org.bluez.Error.NotPermitted",
		    "Maximum advertisements reached");
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -ENOMEM;
	t->origin = a;
	t->owner = strdup(sender);
	t->path = strdup(path);
	t->pending = sd_bus_message_ref(m);
	t->next = txs;
	txs = t;
	if (t->owner == NULL || t->path == NULL ||
	    sd_bus_call_method_async(bus, &t->call, sender, path,
	    "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", on_advert_objects, t,
	    NULL) < 0)
		return register_fail(t, "org.bluez.Error.Failed", "Failed to register advertisement");
	return 1;
}

static int
m_unregister_advertisement(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct adapter *a = ud;
	const char *path;
	struct tx *t;
	int r;

	DEFER(m, m_unregister_advertisement, ud);
	if ((r = take_fail(a, "UnregisterAdvertisement", err)) < 0)
		return r;
	if (sd_bus_message_read(m, "o", &path) < 0)
		return invalid_args(err);
	t = advert_find(sd_bus_message_get_sender(m), path);
	if (t == NULL || t->origin != a || !t->registered)
		return sd_bus_error_set(err, "org.bluez.Error.DoesNotExist", "Does Not Exist");
	/* 5.66 does not call Release here. */
	a->st.unregistered++;
	tx_free(t);
	sd_bus_emit_properties_changed(bus, a->path, "org.bluez.LEAdvertisingManager1",
	    "ActiveInstances", "SupportedInstances", NULL);
	return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable adv_manager_vt[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("RegisterAdvertisement", "oa{sv}", "", m_register_advertisement, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("UnregisterAdvertisement", "o", "", m_unregister_advertisement, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_PROPERTY("ActiveInstances", "y", adv_get, 0, EMITS),
	SD_BUS_PROPERTY("SupportedInstances", "y", adv_get, 0, EMITS),
	SD_BUS_PROPERTY("SupportedIncludes", "as", adv_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("SupportedSecondaryChannels", "as", adv_get, 0,
	    SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_VTABLE_END,
};

/* ---------------------------------------------------------------- adapters */

static struct adapter *
adapter_add(const char *name, bool powered, bool adv_manager)
{
	struct adapter *a, **pp;
	char *end;
	long idx;

	if (strncmp(name, "hci", 3) != 0 || (idx = strtol(name + 3, &end, 10)) < 0 || *end ||
	    idx > 255 || adapter_by_name(name) != NULL)
		return NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	snprintf(a->name, sizeof(a->name), "%s", name);
	snprintf(a->path, sizeof(a->path), "/org/bluez/%s", name);
	snprintf(a->address, sizeof(a->address), "00:AA:BB:CC:00:%02lX", idx);
	a->index = (int)idx;
	a->powered = powered;
	a->adv_manager = adv_manager;
	if (sd_bus_add_object_vtable(bus, &a->slot_adapter, a->path, "org.bluez.Adapter1",
	    adapter_vt, a) < 0 ||
	    (adv_manager && sd_bus_add_object_vtable(bus, &a->slot_adv, a->path,
	    "org.bluez.LEAdvertisingManager1", adv_manager_vt, a) < 0)) {
		sd_bus_slot_unref(a->slot_adapter);
		free(a);
		return NULL;
	}
	for (pp = &adapters; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = a;
	sd_bus_emit_object_added(bus, a->path);
	return a;
}

static void
adapter_remove(struct adapter *a)
{
	struct adapter **pp;
	struct tx *t, *n;

	/* The other case where 5.66 calls Release: the advertising manager goes away. */
	for (t = txs; t != NULL; t = n) {
		n = t->next;
		if (t->only == a) {
			tx_free(t);
		} else if (t->origin == a) {
			if (t->registered) {
				sd_bus_call_method_async(bus, NULL, t->owner, t->path,
				    "org.bluez.LEAdvertisement1", "Release", NULL, NULL, NULL);
				a->st.released++;
			} else if (t->pending != NULL)
				sd_bus_reply_method_error(t->pending, &SD_BUS_ERROR_MAKE_CONST(
				    "org.bluez.Error.Failed", "Failed to register advertisement"));
			tx_free(t);
		}
	}
	while (a->devices != NULL)
		device_remove(a->devices);
	while (a->clients != NULL)
		client_free(a, a->clients);
	sd_bus_emit_object_removed(bus, a->path);
	sd_bus_slot_unref(a->slot_adapter);
	sd_bus_slot_unref(a->slot_adv);
	for (pp = &adapters; *pp != NULL && *pp != a; pp = &(*pp)->next)
		;
	if (*pp == a)
		*pp = a->next;
	free(a);
}

/* A peer left the bus: BlueZ's client watches end its discovery and drop its adverts. */
static int
on_name_owner_changed(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	const char *name, *old_owner, *new_owner;
	struct tx *t, *n;

	if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
		return 0;
	if (name[0] != ':' || new_owner[0] != '\0')
		return 0;
	for (struct adapter *a = adapters; a != NULL; a = a->next) {
		struct client *c = client_find(a, name, false);

		if (c != NULL) {
			if (c->discovering)
				a->st.stop_by_exit++;
			client_free(a, c);
			update_discovering(a);
		}
	}
	for (t = txs; t != NULL; t = n) {
		n = t->next;
		if (t->owner != NULL && !strcmp(t->owner, name)) {
			struct adapter *a = t->origin;

			if (t->registered)
				a->st.adverts_gone_with_owner++;
			tx_free(t);
			sd_bus_emit_properties_changed(bus, a->path,
			    "org.bluez.LEAdvertisingManager1", "ActiveInstances",
			    "SupportedInstances", NULL);
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- control interface */

static struct adapter *
ctl_adapter(const char *name, sd_bus_error *err)
{
	struct adapter *a = adapter_by_name(name);

	if (a == NULL)
		sd_bus_error_setf(err, "org.cablebridge.FakeBluez.Error.NoAdapter", "no adapter %s",
		    name);
	return a;
}

static int
c_add_adapter(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	const char *name;
	int powered, r;

	if ((r = sd_bus_message_read(m, "sb", &name, &powered)) < 0)
		return r;
	if (adapter_add(name, powered, true) == NULL)
		return sd_bus_error_setf(err, SD_BUS_ERROR_INVALID_ARGS, "cannot add %s", name);
	return sd_bus_reply_method_return(m, NULL);
}

static int
c_remove_adapter(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	const char *name;
	struct adapter *a;
	int r;

	if ((r = sd_bus_message_read(m, "s", &name)) < 0)
		return r;
	if ((a = ctl_adapter(name, err)) == NULL)
		return -ENOENT;
	adapter_remove(a);
	return sd_bus_reply_method_return(m, NULL);
}

static int
c_set_powered(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	const char *name;
	struct adapter *a;
	int on, r;

	if ((r = sd_bus_message_read(m, "sb", &name, &on)) < 0)
		return r;
	if ((a = ctl_adapter(name, err)) == NULL)
		return -ENOENT;
	adapter_power(a, on);
	return sd_bus_reply_method_return(m, NULL);
}

static int
valid_address(const char *s)
{
	if (strlen(s) != 17)
		return 0;
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2 ? s[i] != ':' : !strchr("0123456789ABCDEF", s[i]))
			return 0;
	return 1;
}

static struct tx *
injected_find(struct adapter *a, const char *address)
{
	for (struct tx *t = txs; t != NULL; t = t->next)
		if (t->only == a && !strcmp(t->address, address))
			return t;
	return NULL;
}

static struct tx *
injected_new(struct adapter *a, const char *address, int16_t rssi, sd_bus_error *err)
{
	struct tx *t, *old;

	if (!valid_address(address)) {
		sd_bus_error_setf(err, SD_BUS_ERROR_INVALID_ARGS,
		    "address must be upper-case AA:BB:CC:DD:EE:FF");
		return NULL;
	}
	if ((old = injected_find(a, address)) != NULL)
		tx_free(old);
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->only = a;
	snprintf(t->address, sizeof(t->address), "%s", address);
	snprintf(t->address_type, sizeof(t->address_type), "random");
	t->rssi = rssi;
	t->next = txs;
	txs = t;
	return t;
}

static int
c_inject_advert(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	const char *name, *address, *uuid;
	struct adapter *a;
	struct tx *t;
	int16_t rssi;
	int disc, r;

	if ((r = sd_bus_message_read(m, "ssn", &name, &address, &rssi)) < 0)
		return r;
	if ((a = ctl_adapter(name, err)) == NULL)
		return -ENOENT;
	if ((t = injected_new(a, address, rssi, err)) == NULL)
		return -EINVAL;
	if ((r = sd_bus_message_enter_container(m, 'a', "{say}")) < 0)
		goto bad;
	while ((r = sd_bus_message_enter_container(m, 'e', "say")) > 0) {
		const void *p;
		size_t n;

		if (sd_bus_message_read(m, "s", &uuid) < 0 || t->nsd >= MAX_SD ||
		    normalize_uuid(uuid, t->sd[t->nsd].uuid) < 0 ||
		    sd_bus_message_read_array(m, 'y', &p, &n) < 0 || n > MAX_DATA ||
		    sd_bus_message_exit_container(m) < 0)
			goto bad;
		memcpy(t->sd[t->nsd].data, p, n);
		t->sd[t->nsd++].len = n;
		/* Phones list the service UUID too (BLEAdvert.java). */
		memcpy(t->uuids[t->nuuids++], t->sd[t->nsd - 1].uuid, 37);
	}
	if (r < 0 || sd_bus_message_exit_container(m) < 0 || sd_bus_message_read(m, "b", &disc) < 0)
		goto bad;
	t->discoverable = disc;
	broadcast(t);
	return sd_bus_reply_method_return(m, NULL);
bad:
	tx_free(t);
	return sd_bus_error_set(err, SD_BUS_ERROR_INVALID_ARGS, "bad service data");
}

static int
c_add_device(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	const char *name, *address, *devname;
	struct adapter *a;
	struct tx *t;
	int16_t rssi;
	int r;

	if ((r = sd_bus_message_read(m, "sssn", &name, &address, &devname, &rssi)) < 0)
		return r;
	if ((a = ctl_adapter(name, err)) == NULL)
		return -ENOENT;
	if ((t = injected_new(a, address, rssi, err)) == NULL)
		return -EINVAL;
	snprintf(t->name, sizeof(t->name), "%s", devname);
	snprintf(t->address_type, sizeof(t->address_type), "public");
	/* An ordinary discoverable peripheral (a heart-rate sensor, say). */
	t->discoverable = true;
	snprintf(t->uuids[t->nuuids++], 37, "0000180d-0000-1000-8000-00805f9b34fb");
	broadcast(t);
	return sd_bus_reply_method_return(m, NULL);
}

static int
c_remove_device(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	const char *name, *address;
	struct adapter *a;
	struct tx *t;
	struct device *d;
	int r;

	if ((r = sd_bus_message_read(m, "ss", &name, &address)) < 0)
		return r;
	if ((a = ctl_adapter(name, err)) == NULL)
		return -ENOENT;
	if ((t = injected_find(a, address)) != NULL)
		tx_free(t);
	else if ((d = device_find(a, address)) != NULL)
		device_remove(d);
	else
		return sd_bus_error_set(err, SD_BUS_ERROR_INVALID_ARGS, "no such device");
	return sd_bus_reply_method_return(m, NULL);
}

static int
c_fail_next(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	const char *adapter, *method, *name, *message;
	struct fail *f;
	uint32_t count;
	int r;

	if ((r = sd_bus_message_read(m, "ssssu", &adapter, &method, &name, &message, &count)) < 0)
		return r;
	if (!sd_bus_interface_name_is_valid(name) || (f = calloc(1, sizeof(*f))) == NULL)
		return sd_bus_error_set(err, SD_BUS_ERROR_INVALID_ARGS, "bad error name");
	snprintf(f->adapter, sizeof(f->adapter), "%s", adapter);
	snprintf(f->method, sizeof(f->method), "%s", method);
	snprintf(f->name, sizeof(f->name), "%s", name);
	snprintf(f->message, sizeof(f->message), "%s", message);
	f->count = count;
	f->next = fails;
	fails = f;
	return sd_bus_reply_method_return(m, NULL);
}

static int
c_set_delay(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	int r;

	if ((r = sd_bus_message_read(m, "u", &delay_ms)) < 0)
		return r;
	return sd_bus_reply_method_return(m, NULL);
}

static int
c_get_stats(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	sd_bus_message *reply = NULL;
	const char *name;
	struct adapter *a;
	unsigned clients = 0, filters = 0, devices = 0;
	int r;

	if ((r = sd_bus_message_read(m, "s", &name)) < 0)
		return r;
	if ((a = ctl_adapter(name, err)) == NULL)
		return -ENOENT;
	for (struct client *c = a->clients; c != NULL; c = c->next) {
		clients += c->discovering;
		filters += c->has_filter;
	}
	for (struct device *d = a->devices; d != NULL; d = d->next)
		devices++;
	if ((r = sd_bus_message_new_method_return(m, &reply)) < 0)
		return r;
	r = sd_bus_message_append(reply, "a{su}", 13, "DiscoveringClients", clients, "Filters",
	    filters, "Devices", devices, "ActiveAdvertisements", active_adverts(a),
	    "StartDiscovery", a->st.start_discovery, "StopDiscovery", a->st.stop_discovery,
	    "StopByExit", a->st.stop_by_exit, "SetDiscoveryFilter", a->st.set_filter,
	    "Registered", a->st.registered, "Unregistered", a->st.unregistered, "Released",
	    a->st.released, "AdvertsGoneWithOwner", a->st.adverts_gone_with_owner, "Powered",
	    (uint32_t)a->powered);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	return r;
}

/*
 * Emits InterfacesAdded (Device1 with exactly these properties) or PropertiesChanged for a device
 * path that has no object behind it: lets tests feed the scanner wrongly typed data.
 */
static int
c_emit_raw(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	const char *name, *address, *signal;
	char path[96];
	struct adapter *a;
	sd_bus_message *sig = NULL;
	int r;

	if ((r = sd_bus_message_read(m, "sss", &name, &address, &signal)) < 0)
		return r;
	if ((a = ctl_adapter(name, err)) == NULL)
		return -ENOENT;
	if (!valid_address(address))
		return sd_bus_error_set(err, SD_BUS_ERROR_INVALID_ARGS, "bad address");
	snprintf(path, sizeof(path), "%s/dev_%s", a->path, address);
	for (char *p = path + strlen(a->path) + 5; *p; p++)
		if (*p == ':')
			*p = '_';
	if (!strcmp(signal, "InterfacesAdded")) {
		r = sd_bus_message_new_signal(bus, &sig, "/", "org.freedesktop.DBus.ObjectManager",
		    "InterfacesAdded");
		if (r >= 0)
			r = sd_bus_message_append(sig, "o", path);
		if (r >= 0)
			r = sd_bus_message_open_container(sig, 'a', "{sa{sv}}");
		if (r >= 0)
			r = sd_bus_message_open_container(sig, 'e', "sa{sv}");
		if (r >= 0)
			r = sd_bus_message_append(sig, "s", "org.bluez.Device1");
		if (r >= 0)
			r = sd_bus_message_copy(sig, m, true);
		if (r >= 0)
			r = sd_bus_message_close_container(sig);
		if (r >= 0)
			r = sd_bus_message_close_container(sig);
	} else if (!strcmp(signal, "PropertiesChanged")) {
		r = sd_bus_message_new_signal(bus, &sig, path, "org.freedesktop.DBus.Properties",
		    "PropertiesChanged");
		if (r >= 0)
			r = sd_bus_message_append(sig, "s", "org.bluez.Device1");
		if (r >= 0)
			r = sd_bus_message_copy(sig, m, true);
		if (r >= 0)
			r = sd_bus_message_append(sig, "as", 0);
	} else
		return sd_bus_error_set(err, SD_BUS_ERROR_INVALID_ARGS, "unknown signal");
	if (r >= 0)
		r = sd_bus_send(bus, sig, NULL);
	sd_bus_message_unref(sig);
	if (r < 0)
		return r;
	return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable control_vt[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("AddAdapter", "sb", "", c_add_adapter, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("RemoveAdapter", "s", "", c_remove_adapter, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("SetPowered", "sb", "", c_set_powered, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("InjectAdvert", "ssna{say}b", "", c_inject_advert, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("AddDevice", "sssn", "", c_add_device, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("RemoveDevice", "ss", "", c_remove_device, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("FailNext", "ssssu", "", c_fail_next, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("SetDelay", "u", "", c_set_delay, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("GetStats", "s", "a{su}", c_get_stats, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("EmitRaw", "sssa{sv}", "", c_emit_raw, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END,
};

/* ---------------------------------------------------------------- main */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: fake-bluez [--adapters hci0,hci1] [--unpowered hciN] [--no-adv-manager hciN]\n"
	    "                  [--tick-ms N] [--ready-file PATH]\n"
	    "Owns org.bluez (and %s) on the bus named by DBUS_SYSTEM_BUS_ADDRESS.\n", CTL_NAME);
	exit(2);
}

static bool
in_list(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p != NULL && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, name, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

int
main(int argc, char **argv)
{
	const char *list = "hci0,hci1", *ready = NULL;
	char unpowered[256] = "", noadv[256] = "";
	sd_event_source *tick = NULL;
	sigset_t ss;
	int r;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--adapters"))
			list = argv[++i];
		else if (!strcmp(argv[i], "--unpowered")) {
			strncat(unpowered, argv[++i], sizeof(unpowered) - strlen(unpowered) - 2);
			strcat(unpowered, ",");
		} else if (!strcmp(argv[i], "--no-adv-manager")) {
			strncat(noadv, argv[++i], sizeof(noadv) - strlen(noadv) - 2);
			strcat(noadv, ",");
		} else if (!strcmp(argv[i], "--tick-ms"))
			tick_usec = strtoull(argv[++i], NULL, 10) * 1000u;
		else if (!strcmp(argv[i], "--ready-file"))
			ready = argv[++i];
		else
			usage();
	}
	if (tick_usec == 0)
		usage();
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	if ((r = sd_event_default(&event)) < 0)
		die("sd_event_default", r);
	sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
	sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);
	if ((r = sd_bus_open_system(&bus)) < 0)
		die("connect to DBUS_SYSTEM_BUS_ADDRESS", r);
	if ((r = sd_bus_open_system(&cbus)) < 0)
		die("connect control", r);
	sd_bus_attach_event(bus, event, 0);
	sd_bus_attach_event(cbus, event, 0);
	if ((r = sd_bus_add_object_manager(bus, NULL, "/")) < 0)
		die("object manager", r);
	if ((r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
	    "org.freedesktop.DBus", "NameOwnerChanged", on_name_owner_changed, NULL)) < 0)
		die("match", r);
	{
		char *copy = strdup(list), *save = NULL;

		for (char *n = strtok_r(copy, ",", &save); n; n = strtok_r(NULL, ",", &save))
			if (adapter_add(n, !in_list(unpowered, n), !in_list(noadv, n)) == NULL)
				die(n, EINVAL);
		free(copy);
	}
	if ((r = sd_bus_add_object_vtable(cbus, NULL, CTL_PATH, CTL_IFACE, control_vt, NULL)) < 0)
		die("control object", r);
	if ((r = sd_bus_request_name(cbus, CTL_NAME, 0)) < 0)
		die("request " CTL_NAME, r);
	if ((r = sd_bus_request_name(bus, "org.bluez", 0)) < 0)
		die("request org.bluez", r);
	if ((r = sd_event_add_time_relative(event, &tick, CLOCK_MONOTONIC, tick_usec, 0, on_tick,
	    NULL)) < 0)
		die("tick", r);
	sd_event_source_set_enabled(tick, SD_EVENT_ON);
	if (ready != NULL) {
		FILE *f = fopen(ready, "w");

		if (f == NULL)
			die(ready, errno);
		fprintf(f, "%s\n", sd_bus_get_unique_name(bus, &list) >= 0 ? list : "?");
		fclose(f);
	}
	r = sd_event_loop(event);
	while (txs != NULL)
		tx_free(txs);
	while (adapters != NULL)
		adapter_remove(adapters);
	while (fails != NULL) {
		struct fail *f = fails;

		fails = f->next;
		free(f);
	}
	sd_event_source_unref(tick);
	sd_bus_flush_close_unref(bus);
	sd_bus_flush_close_unref(cbus);
	sd_event_unref(event);
	return r < 0 ? 1 : 0;
}

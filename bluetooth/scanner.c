/* Desktop side: BLE discovery through BlueZ, handing fff9/fde2 service data to the session. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bt-common.h"
#include "cable/bluetooth.h"
#include "cable/error.h"

#define SCAN_DEV_CACHE 64 /* devices whose address/RSSI we remember (LRU) */
#define SCAN_SEEN 64      /* distinct payloads remembered for de-duplication (ring) */
#define SCAN_SD_PER_MSG 4 /* fff9/fde2 entries kept from one property update */

struct scan_dev {
	char path[96];
	char address[18];
	int rssi;
	uint64_t used;
};

struct scan_seen {
	uint16_t uuid;
	uint16_t len;
	uint8_t data[CABLE_BT_PAYLOAD_MAX];
};

struct scan_sd {
	uint16_t uuid;
	uint16_t len;
	uint8_t data[CABLE_BT_PAYLOAD_MAX];
};

struct dev_update {
	bool has_addr, has_rssi;
	char addr[18];
	int rssi;
	unsigned nsd;
	struct scan_sd sd[SCAN_SD_PER_MSG];
};

struct cable_bt_scanner {
	struct bt_base base; /* first */
	struct cable_bt_scanner_cbs cbs;
	void *arg;
	bool discovery_requested;
	uint64_t tick;
	struct scan_dev devs[SCAN_DEV_CACHE];
	struct scan_seen seen[SCAN_SEEN];
	unsigned nseen, seen_next;
};

static struct cable_bt_scanner *
scanner_of(struct bt_base *b)
{
	return (struct cable_bt_scanner *)(void *)b;
}

static void
scan_release(struct bt_base *b)
{
	struct cable_bt_scanner *s = scanner_of(b);

	if (s->discovery_requested && b->adapter_path[0] != '\0') {
		bt_debug("StopDiscovery on %s", b->adapter_path);
		bt_send(b, b->adapter_path, BT_ADAPTER_IFACE, "StopDiscovery", NULL);
	}
	s->discovery_requested = false;
}

static void
scan_report(struct bt_base *b, int code)
{
	struct cable_bt_scanner *s = scanner_of(b);
	void (*cb)(void *, int) = s->cbs.error;

	s->cbs.error = NULL;
	if (cb != NULL)
		cb(s->arg, code);
}

static void
scan_destroy(struct bt_base *b)
{
	free(scanner_of(b));
}

static const struct bt_base_ops scan_ops = {
	.release = scan_release,
	.report = scan_report,
	.destroy = scan_destroy,
};

/* Reads an a{sv} of Device1 properties; keeps Address, RSSI and the fff9/fde2 service data. */
static int
parse_device_props(sd_bus_message *m, struct dev_update *u)
{
	const char *prop, *contents, *key;
	char type;
	int r;

	if ((r = sd_bus_message_enter_container(m, 'a', "{sv}")) < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		if ((r = sd_bus_message_read(m, "s", &prop)) < 0)
			return r;
		if ((r = sd_bus_message_peek_type(m, &type, &contents)) < 0)
			return r;
		if (!strcmp(prop, "Address") && !strcmp(contents, "s")) {
			const char *a;

			if ((r = sd_bus_message_read(m, "v", "s", &a)) < 0)
				return r;
			snprintf(u->addr, sizeof(u->addr), "%s", a);
			u->has_addr = true;
		} else if (!strcmp(prop, "RSSI") && !strcmp(contents, "n")) {
			int16_t v;

			if ((r = sd_bus_message_read(m, "v", "n", &v)) < 0)
				return r;
			u->rssi = v;
			u->has_rssi = true;
		} else if (!strcmp(prop, "ServiceData") && !strcmp(contents, "a{sv}")) {
			if ((r = sd_bus_message_enter_container(m, 'v', "a{sv}")) < 0 ||
			    (r = sd_bus_message_enter_container(m, 'a', "{sv}")) < 0)
				return r;
			while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
				const void *p;
				size_t n;
				int uuid;

				if ((r = sd_bus_message_read(m, "s", &key)) < 0 ||
				    (r = sd_bus_message_peek_type(m, &type, &contents)) < 0)
					return r;
				uuid = cable_bt_uuid16(key);
				if (strcmp(contents, "ay") != 0 ||
				    (uuid != CABLE_BT_UUID_FIDO && uuid != CABLE_BT_UUID_GOOGLE)) {
					if ((r = sd_bus_message_skip(m, "v")) < 0)
						return r;
				} else {
					if ((r = sd_bus_message_enter_container(m, 'v', "ay")) < 0 ||
					    (r = sd_bus_message_read_array(m, 'y', &p, &n)) < 0 ||
					    (r = sd_bus_message_exit_container(m)) < 0)
						return r;
					if (n > CABLE_BT_PAYLOAD_MAX)
						bt_debug("dropping %zu bytes of service data", n);
					else if (u->nsd < SCAN_SD_PER_MSG) {
						struct scan_sd *sd = &u->sd[u->nsd++];

						sd->uuid = (uint16_t)uuid;
						sd->len = (uint16_t)n;
						if (n > 0)
							memcpy(sd->data, p, n);
					}
				}
				if ((r = sd_bus_message_exit_container(m)) < 0)
					return r;
			}
			if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0 ||
			    (r = sd_bus_message_exit_container(m)) < 0)
				return r;
		} else if ((r = sd_bus_message_skip(m, "v")) < 0)
			return r;
		if ((r = sd_bus_message_exit_container(m)) < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

/* Is path a device object of our adapter ("<adapter>/dev_...")? */
static bool
our_device(const struct cable_bt_scanner *s, const char *path)
{
	size_t n = strlen(s->base.adapter_path);

	return n > 0 && !strncmp(path, s->base.adapter_path, n) && !strncmp(path + n, "/dev_", 5);
}

static struct scan_dev *
dev_lookup(struct cable_bt_scanner *s, const char *path)
{
	struct scan_dev *lru = &s->devs[0];

	s->tick++;
	for (unsigned i = 0; i < SCAN_DEV_CACHE; i++) {
		if (!strcmp(s->devs[i].path, path)) {
			s->devs[i].used = s->tick;
			return &s->devs[i];
		}
		if (s->devs[i].used < lru->used)
			lru = &s->devs[i];
	}
	memset(lru, 0, sizeof(*lru));
	snprintf(lru->path, sizeof(lru->path), "%s", path);
	lru->rssi = CABLE_BT_RSSI_UNKNOWN;
	lru->used = s->tick;
	/* BlueZ names device objects dev_AA_BB_CC_DD_EE_FF; use that until Address arrives. */
	{
		const char *d = strrchr(path, '/');

		if (d != NULL && !strncmp(d, "/dev_", 5) && strlen(d + 5) == 17) {
			for (int i = 0; i < 17; i++)
				lru->address[i] = d[5 + i] == '_' ? ':' : d[5 + i];
			lru->address[17] = '\0';
		}
	}
	return lru;
}

static bool
seen_before(struct cable_bt_scanner *s, const struct scan_sd *sd)
{
	struct scan_seen *e;

	for (unsigned i = 0; i < s->nseen; i++) {
		e = &s->seen[i];
		if (e->uuid == sd->uuid && e->len == sd->len && !memcmp(e->data, sd->data, sd->len))
			return true;
	}
	e = &s->seen[s->seen_next];
	s->seen_next = (s->seen_next + 1) % SCAN_SEEN;
	if (s->nseen < SCAN_SEEN)
		s->nseen++;
	e->uuid = sd->uuid;
	e->len = sd->len;
	memcpy(e->data, sd->data, sd->len);
	return false;
}

static void
apply_update(struct cable_bt_scanner *s, const char *path, const struct dev_update *u)
{
	struct scan_dev *d = dev_lookup(s, path);
	char addr[18];
	int rssi;

	if (u->has_addr)
		snprintf(d->address, sizeof(d->address), "%s", u->addr);
	if (u->has_rssi)
		d->rssi = u->rssi;
	memcpy(addr, d->address, sizeof(addr));
	rssi = d->rssi;
	for (unsigned i = 0; i < u->nsd; i++) {
		if (seen_before(s, &u->sd[i]))
			continue;
		bt_debug("payload %04x len %u from %s", u->sd[i].uuid, u->sd[i].len, addr);
		if (s->cbs.payload != NULL)
			s->cbs.payload(s->arg, u->sd[i].uuid, u->sd[i].data, u->sd[i].len, addr, rssi);
		if (!bt_base_active(&s->base))
			return;
	}
}

/* The Device1 entry of one a{sa{sv}}; the message is positioned at that array. */
static int
handle_object(struct cable_bt_scanner *s, sd_bus_message *m, const char *path)
{
	struct dev_update *u;
	const char *iface;
	int r;
	bool mine = our_device(s, path);

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return -1;
	if ((r = sd_bus_message_enter_container(m, 'a', "{sa{sv}}")) < 0)
		goto out;
	while ((r = sd_bus_message_enter_container(m, 'e', "sa{sv}")) > 0) {
		if ((r = sd_bus_message_read(m, "s", &iface)) < 0)
			goto out;
		if (mine && !strcmp(iface, BT_DEVICE_IFACE)) {
			if ((r = parse_device_props(m, u)) < 0)
				goto out;
		} else if ((r = sd_bus_message_skip(m, "a{sv}")) < 0)
			goto out;
		if ((r = sd_bus_message_exit_container(m)) < 0)
			goto out;
	}
	if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
		goto out;
	if (mine)
		apply_update(s, path, u);
	r = 0;
out:
	free(u);
	return r;
}

static int
on_interfaces_added(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct cable_bt_scanner *s = ud;
	const char *path;

	(void)err;
	if (!bt_base_active(&s->base) || s->base.adapter_path[0] == '\0')
		return 0;
	if (sd_bus_message_read(m, "o", &path) < 0 || !our_device(s, path))
		return 0;
	if (handle_object(s, m, path) < 0)
		bt_debug("malformed InterfacesAdded for %s", path);
	return 0;
}

static int
on_properties_changed(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct cable_bt_scanner *s = ud;
	struct dev_update *u;
	const char *path = sd_bus_message_get_path(m), *iface;

	(void)err;
	if (!bt_base_active(&s->base) || path == NULL || !our_device(s, path))
		return 0;
	if (sd_bus_message_read(m, "s", &iface) < 0 || strcmp(iface, BT_DEVICE_IFACE) != 0)
		return 0;
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return 0;
	if (parse_device_props(m, u) >= 0)
		apply_update(s, path, u);
	else
		bt_debug("malformed PropertiesChanged for %s", path);
	free(u);
	return 0;
}

static int
on_start_discovery(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct cable_bt_scanner *s = ud;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	void (*cb)(void *, const char *);

	(void)err;
	if (!bt_base_active(&s->base))
		return 0;
	if (e != NULL) {
		int code = bt_map_error(&s->base, e, CABLE_ERR_BT_DISCOVERY);

		bt_hint_busy_discovery(&s->base);
		s->discovery_requested = false;
		bt_base_fail(&s->base, code);
		return 0;
	}
	s->base.state = BT_RUNNING;
	bt_debug("discovering on %s", s->base.adapter_name);
	cb = s->cbs.started;
	if (cb != NULL)
		cb(s->arg, s->base.adapter_name);
	return 0;
}

static int
on_set_filter(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct cable_bt_scanner *s = ud;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	int r;

	(void)err;
	if (!bt_base_active(&s->base))
		return 0;
	if (e != NULL) {
		bt_base_fail(&s->base, bt_map_error(&s->base, e, CABLE_ERR_BT_DISCOVERY));
		return 0;
	}
	/* Set before the call: a failure after sending must still end in StopDiscovery. */
	s->discovery_requested = true;
	r = bt_call(&s->base, s->base.adapter_path, BT_ADAPTER_IFACE, "StartDiscovery",
	    on_start_discovery, s, NULL);
	if (r != 0) {
		s->discovery_requested = false;
		bt_base_fail(&s->base, r);
	}
	return 0;
}

static int
on_managed_objects(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct cable_bt_scanner *s = ud;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	struct bt_adapter_info ai;
	const char *path;
	int r;

	(void)err;
	if (!bt_base_active(&s->base))
		return 0;
	if (e != NULL) {
		bt_base_fail(&s->base, bt_map_error(&s->base, e, CABLE_ERR_BT_NO_BLUEZ));
		return 0;
	}
	if ((r = bt_choose_adapter(&s->base, m, false, &ai, NULL)) != 0) {
		bt_base_fail(&s->base, r);
		return 0;
	}
	/*
	 * A broadcast advert has no discoverable flag: BlueZ creates devices for it only for a
	 * client with a filter. DuplicateData makes it report unchanged adverts again.
	 */
	r = bt_call(&s->base, s->base.adapter_path, BT_ADAPTER_IFACE, "SetDiscoveryFilter",
	    on_set_filter, s, "a{sv}", 2, "Transport", "s", "le", "DuplicateData", "b", 1);
	if (r != 0) {
		bt_base_fail(&s->base, r);
		return 0;
	}
	/* Devices BlueZ already knows (another client's discovery, or the ~30 s linger). */
	if (sd_bus_message_rewind(m, true) < 0 ||
	    sd_bus_message_enter_container(m, 'a', "{oa{sa{sv}}}") < 0)
		return 0;
	while (sd_bus_message_enter_container(m, 'e', "oa{sa{sv}}") > 0) {
		if (sd_bus_message_read(m, "o", &path) < 0)
			break;
		if (our_device(s, path)) {
			if (handle_object(s, m, path) < 0)
				break;
			if (!bt_base_active(&s->base))
				return 0;
		} else if (sd_bus_message_skip(m, "a{sa{sv}}") < 0)
			break;
		if (sd_bus_message_exit_container(m) < 0)
			break;
	}
	return 0;
}

struct cable_bt_scanner *
cable_bt_scanner_new(struct cable_loop *loop, const struct cable_bt_opts *opts,
    const struct cable_bt_scanner_cbs *cbs, void *arg)
{
	struct cable_bt_scanner *s;

	if (loop == NULL || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	bt_base_init(&s->base, &scan_ops, loop, opts);
	if (cbs != NULL)
		s->cbs = *cbs;
	s->arg = arg;
	return s;
}

int
cable_bt_scanner_start(struct cable_bt_scanner *s)
{
	int r = CABLE_ERR_INTERNAL;

	if (s == NULL)
		return CABLE_ERR_ARG;
	if (s->base.state != BT_NEW)
		return CABLE_ERR_STATE;
	if ((r = bt_base_open(&s->base)) != 0)
		goto out;
	if (sd_bus_match_signal_async(s->base.bus, NULL, BT_SERVICE, "/",
	    "org.freedesktop.DBus.ObjectManager", "InterfacesAdded", on_interfaces_added, NULL,
	    s) < 0 ||
	    sd_bus_add_match_async(s->base.bus, NULL,
	    "type='signal',sender='org.bluez',interface='org.freedesktop.DBus.Properties',"
	    "member='PropertiesChanged',arg0='org.bluez.Device1',path_namespace='/org/bluez'",
	    on_properties_changed, NULL, s) < 0) {
		bt_set_detail(&s->base, "cannot install D-Bus matches");
		r = CABLE_ERR_BT_BUS;
		goto out;
	}
	s->base.state = BT_STARTING;
	r = bt_call(&s->base, "/", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
	    on_managed_objects, s, NULL);
out:
	if (r != 0) {
		s->base.state = BT_STOPPED;
		bt_base_close(&s->base);
	}
	return r;
}

void
cable_bt_scanner_free(struct cable_bt_scanner **ps)
{
	struct cable_bt_scanner *s;

	if (ps == NULL || (s = *ps) == NULL)
		return;
	*ps = NULL;
	memset(&s->cbs, 0, sizeof(s->cbs));
	bt_base_free(&s->base);
}

const char *
cable_bt_scanner_detail(const struct cable_bt_scanner *s)
{
	return s != NULL ? s->base.detail : "";
}

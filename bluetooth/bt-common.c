/* Shared plumbing of the Bluetooth adapter: the sd-bus connection in the caller's event loop. */
#include "bt-common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cable/error.h"

void
bt_debug(const char *fmt, ...)
{
	static int enabled = -1;
	va_list ap;

	if (enabled < 0)
		enabled = getenv("CABLE_DEBUG") != NULL;
	if (!enabled)
		return;
	va_start(ap, fmt);
	fputs("cable-bt: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void
bt_set_detail(struct bt_base *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->detail, sizeof(b->detail), fmt, ap);
	va_end(ap);
}

void
bt_base_init(struct bt_base *b, const struct bt_base_ops *ops, struct cable_loop *loop,
    const struct cable_bt_opts *opts)
{
	memset(b, 0, sizeof(*b));
	b->ops = ops;
	b->loop = loop;
	b->state = BT_NEW;
	b->timeout_usec = CABLE_BT_DEFAULT_TIMEOUT_USEC;
	if (opts != NULL) {
		if (opts->timeout_usec != 0)
			b->timeout_usec = opts->timeout_usec;
		if (opts->adapter != NULL)
			snprintf(b->adapter_req, sizeof(b->adapter_req), "%s", opts->adapter);
	}
}

bool
bt_base_active(const struct bt_base *b)
{
	return !b->dead && (b->state == BT_STARTING || b->state == BT_RUNNING);
}

static void
bt_close_now(struct bt_base *b)
{
	cable_bus_loop_free(&b->bl);
	if (b->bus != NULL) {
		/* Pushes out StopDiscovery/UnregisterAdvertisement before the socket closes. */
		b->bus = sd_bus_flush_close_unref(b->bus);
	}
	b->closing = false;
}

void
bt_base_rearm(struct bt_base *b)
{
	if (b->bus == NULL || b->closing)
		return;
	cable_bus_loop_rearm(b->bl);
}

/* After each dispatch, once sd_bus_process has returned: the closing and freeing handlers asked for. */
static void
bt_after_dispatch(void *arg)
{
	struct bt_base *b = arg;

	if (b->dead) {
		bt_close_now(b);
		b->ops->destroy(b);
		return;
	}
	if (b->closing)
		bt_close_now(b);
}

static void
bt_bus_lost(void *arg, int err)
{
	struct bt_base *b = arg;

	bt_set_detail(b, "system bus connection lost: %s", strerror(-err));
	bt_base_fail(b, CABLE_ERR_BT_BUS);
}

void
bt_base_close(struct bt_base *b)
{
	if (cable_bus_loop_dispatching(b->bl)) {
		b->closing = true;
		cable_bus_loop_yield(b->bl);
	} else {
		bt_close_now(b);
	}
}

void
bt_base_fail(struct bt_base *b, int code)
{
	if (b->state == BT_STOPPED || b->dead)
		return;
	bt_debug("failing with %s (%s)", cable_errname(code), b->detail);
	if (b->bus != NULL && b->ops->release != NULL)
		b->ops->release(b);
	b->state = BT_STOPPED;
	bt_base_close(b);
	b->ops->report(b, code);
}

void
bt_base_free(struct bt_base *b)
{
	if (b->dead)
		return;
	if (b->bus != NULL && b->state != BT_STOPPED && b->ops->release != NULL)
		b->ops->release(b);
	b->state = BT_STOPPED;
	if (cable_bus_loop_dispatching(b->bl)) {
		b->dead = true;
		cable_bus_loop_yield(b->bl);
		return;
	}
	bt_close_now(b);
	b->ops->destroy(b);
}

int
bt_map_error(struct bt_base *b, const sd_bus_error *e, int fallback)
{
	const char *n = e != NULL && e->name != NULL ? e->name : "";

	bt_set_detail(b, "%s: %s", n, e != NULL && e->message != NULL ? e->message : "");
	if (!strcmp(n, SD_BUS_ERROR_SERVICE_UNKNOWN) || !strcmp(n, SD_BUS_ERROR_NAME_HAS_NO_OWNER) ||
	    !strncmp(n, "org.freedesktop.DBus.Error.Spawn.", 33))
		return CABLE_ERR_BT_NO_BLUEZ;
	if (!strcmp(n, SD_BUS_ERROR_ACCESS_DENIED) || !strcmp(n, "org.bluez.Error.NotAuthorized"))
		return CABLE_ERR_BT_PERMISSION;
	/* sd-bus fails pending calls with NoReply when the connection drops: not a timeout. */
	if (b->bus != NULL && sd_bus_is_open(b->bus) <= 0)
		return CABLE_ERR_BT_BUS;
	if (!strcmp(n, SD_BUS_ERROR_NO_REPLY) || !strcmp(n, SD_BUS_ERROR_TIMEOUT))
		return CABLE_ERR_TIMEOUT;
	if (!strcmp(n, SD_BUS_ERROR_DISCONNECTED))
		return CABLE_ERR_BT_BUS;
	if (!strcmp(n, "org.bluez.Error.NotReady"))
		return CABLE_ERR_BT_NOT_POWERED;
	if (!strcmp(n, SD_BUS_ERROR_UNKNOWN_OBJECT))
		return CABLE_ERR_BT_ADAPTER_GONE;
	return fallback;
}

void
bt_hint_busy_discovery(struct bt_base *b)
{
	static const char busy[] = "org.bluez.Error.InProgress:";
	size_t n = strlen(b->detail);

	/*
	 * BlueZ merges the discoveries of its clients, so a new client meets InProgress only when
	 * the kernel refuses: seen after bluetoothd crashed mid-discovery (the kernel keeps the dead
	 * daemon's discovery; docs/vm-bench.md). Switching the adapter off and on clears it.
	 */
	if (strncmp(b->detail, busy, sizeof(busy) - 1) == 0)
		snprintf(b->detail + n, sizeof(b->detail) - n, " (the adapter is still busy with an "
		    "earlier discovery; switching Bluetooth off and on clears it)");
}

static int
bt_new_call(struct bt_base *b, sd_bus_message **m, const char *path, const char *iface,
    const char *member, const char *types, va_list ap)
{
	int r;

	r = sd_bus_message_new_method_call(b->bus, m, BT_SERVICE, path, iface, member);
	if (r < 0)
		return r;
	if (types != NULL && *types != '\0') {
		r = sd_bus_message_appendv(*m, types, ap);
		if (r < 0)
			*m = sd_bus_message_unref(*m);
	}
	return r;
}

int
bt_call(struct bt_base *b, const char *path, const char *iface, const char *member,
    sd_bus_message_handler_t cb, void *ud, const char *types, ...)
{
	sd_bus_message *m = NULL;
	va_list ap;
	int r;

	if (b->bus == NULL)
		return CABLE_ERR_STATE;
	va_start(ap, types);
	r = bt_new_call(b, &m, path, iface, member, types, ap);
	va_end(ap);
	if (r >= 0)
		r = sd_bus_call_async(b->bus, NULL, m, cb, ud, b->timeout_usec);
	sd_bus_message_unref(m);
	if (r < 0) {
		bt_set_detail(b, "%s.%s: %s", iface, member, strerror(-r));
		return r == -ENOMEM ? CABLE_ERR_NOMEM : CABLE_ERR_BT_BUS;
	}
	bt_base_rearm(b);
	return 0;
}

int
bt_send(struct bt_base *b, const char *path, const char *iface, const char *member,
    const char *types, ...)
{
	sd_bus_message *m = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	uint64_t t = b->timeout_usec < BT_RELEASE_TIMEOUT_USEC ? b->timeout_usec :
								   BT_RELEASE_TIMEOUT_USEC;
	va_list ap;
	int r;

	if (b->bus == NULL)
		return CABLE_ERR_STATE;
	va_start(ap, types);
	r = bt_new_call(b, &m, path, iface, member, types, ap);
	va_end(ap);
	/*
	 * Waits for the reply: dbus-daemon can drop a message that arrives together with the
	 * sender's hang-up (seen about once in ten fast start/stop cycles), and BlueZ must see
	 * this one. Bounded, and immediate when BlueZ or the bus is gone.
	 */
	if (r >= 0)
		r = sd_bus_call(b->bus, m, t, &e, NULL);
	bt_debug("%s -> %d %s", member, r, e.name != NULL ? e.name : "");
	sd_bus_error_free(&e);
	sd_bus_message_unref(m);
	return r < 0 ? CABLE_ERR_BT_BUS : 0;
}

/* BlueZ left the bus or was restarted: every object path it gave us is meaningless now. */
static int
on_name_owner_changed(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct bt_base *b = ud;
	const char *name, *old_owner, *new_owner;

	(void)err;
	if (!bt_base_active(b))
		return 0;
	if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
		return 0;
	if (strcmp(name, BT_SERVICE) != 0 || old_owner[0] == '\0')
		return 0;
	bt_set_detail(b, "org.bluez %s", new_owner[0] ? "restarted" : "left the bus");
	bt_base_fail(b, CABLE_ERR_BT_ADAPTER_GONE);
	return 0;
}

static int
on_interfaces_removed(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct bt_base *b = ud;
	const char *path, *iface;

	(void)err;
	if (!bt_base_active(b) || b->adapter_path[0] == '\0')
		return 0;
	if (sd_bus_message_read(m, "o", &path) < 0 || strcmp(path, b->adapter_path) != 0)
		return 0;
	if (sd_bus_message_enter_container(m, 'a', "s") < 0)
		return 0;
	while (sd_bus_message_read(m, "s", &iface) > 0) {
		if (!strcmp(iface, BT_ADAPTER_IFACE)) {
			bt_set_detail(b, "adapter %s was removed", b->adapter_name);
			bt_base_fail(b, CABLE_ERR_BT_ADAPTER_GONE);
			return 0;
		}
	}
	return 0;
}

static int
on_adapter_changed(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct bt_base *b = ud;
	const char *iface, *prop;
	int powered;

	(void)err;
	if (!bt_base_active(b) || b->adapter_path[0] == '\0')
		return 0;
	if (strcmp(sd_bus_message_get_path(m), b->adapter_path) != 0)
		return 0;
	if (sd_bus_message_read(m, "s", &iface) < 0 || strcmp(iface, BT_ADAPTER_IFACE) != 0)
		return 0;
	if (sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
		return 0;
	while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
		if (sd_bus_message_read(m, "s", &prop) < 0)
			return 0;
		if (!strcmp(prop, "Powered") && sd_bus_message_read(m, "v", "b", &powered) > 0) {
			if (!powered) {
				bt_set_detail(b, "adapter %s was powered off", b->adapter_name);
				bt_base_fail(b, CABLE_ERR_BT_NOT_POWERED);
				return 0;
			}
		} else if (sd_bus_message_skip(m, "v") < 0)
			return 0;
		if (sd_bus_message_exit_container(m) < 0)
			return 0;
	}
	return 0;
}

int
bt_base_open(struct bt_base *b)
{
	int r, fd;

	r = sd_bus_open_system(&b->bus);
	if (r < 0) {
		b->bus = NULL;
		bt_set_detail(b, "cannot connect to the system bus: %s", strerror(-r));
		return CABLE_ERR_BT_BUS;
	}
	fd = sd_bus_get_fd(b->bus);
	if (fd < 0) {
		bt_set_detail(b, "system bus has no fd: %s", strerror(-fd));
		goto fail;
	}
	if (cable_bus_loop_attach(b->loop, b->bus, bt_bus_lost, b, &b->bl) != 0) {
		bt_set_detail(b, "event loop refused the bus fd");
		goto fail;
	}
	cable_bus_loop_set_after(b->bl, bt_after_dispatch);
	/* Installed before the first call to BlueZ, so nothing between them can be missed. */
	/* arg0 keeps other clients' comings and goings on the system bus from waking us. */
	if (sd_bus_add_match_async(b->bus, NULL,
	    "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
	    "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='org.bluez'",
	    on_name_owner_changed, NULL, b) < 0 ||
	    sd_bus_match_signal_async(b->bus, NULL, BT_SERVICE, "/",
	    "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved", on_interfaces_removed, NULL,
	    b) < 0 ||
	    sd_bus_add_match_async(b->bus, NULL,
	    "type='signal',sender='org.bluez',interface='org.freedesktop.DBus.Properties',"
	    "member='PropertiesChanged',arg0='org.bluez.Adapter1'", on_adapter_changed, NULL, b) < 0) {
		bt_set_detail(b, "cannot install D-Bus matches");
		goto fail;
	}
	return 0;
fail:
	bt_close_now(b);
	return CABLE_ERR_BT_BUS;
}

static int
adapter_index(const char *name)
{
	char *end;
	long v;

	if (strncmp(name, "hci", 3) != 0 || name[3] == '\0')
		return -1;
	v = strtol(name + 3, &end, 10);
	return (*end != '\0' || v < 0 || v > 65535) ? -1 : (int)v;
}

/* Reads one object's interfaces; fills *ai if it is an adapter directly under /org/bluez. */
static int
read_adapter_object(sd_bus_message *m, const char *path, struct bt_adapter_info *ai, bool *is)
{
	const char *iface, *prop;
	int r;

	*is = false;
	memset(ai, 0, sizeof(*ai));
	if ((r = sd_bus_message_enter_container(m, 'a', "{sa{sv}}")) < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sa{sv}")) > 0) {
		if ((r = sd_bus_message_read(m, "s", &iface)) < 0)
			return r;
		if (!strcmp(iface, BT_ADV_MANAGER_IFACE))
			ai->adv_manager = true;
		if (strcmp(iface, BT_ADAPTER_IFACE) != 0) {
			if ((r = sd_bus_message_skip(m, "a{sv}")) < 0)
				return r;
		} else {
			const char *slash = strrchr(path, '/');

			*is = strncmp(path, "/org/bluez/", 11) == 0 && slash == path + 10;
			snprintf(ai->path, sizeof(ai->path), "%s", path);
			snprintf(ai->name, sizeof(ai->name), "%s", slash + 1);
			ai->index = adapter_index(ai->name);
			if ((r = sd_bus_message_enter_container(m, 'a', "{sv}")) < 0)
				return r;
			while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
				const char *addr;
				int pw;

				if ((r = sd_bus_message_read(m, "s", &prop)) < 0)
					return r;
				if (!strcmp(prop, "Powered") &&
				    sd_bus_message_read(m, "v", "b", &pw) > 0)
					ai->powered = pw;
				else if (!strcmp(prop, "Address") &&
				    sd_bus_message_read(m, "v", "s", &addr) > 0)
					snprintf(ai->address, sizeof(ai->address), "%s", addr);
				else if ((r = sd_bus_message_skip(m, "v")) < 0)
					return r;
				if ((r = sd_bus_message_exit_container(m)) < 0)
					return r;
			}
			if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
				return r;
		}
		if ((r = sd_bus_message_exit_container(m)) < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static int
adapter_cmp(const void *x, const void *y)
{
	const struct bt_adapter_info *a = x, *c = y;

	if (a->index != c->index)
		return a->index < c->index ? -1 : 1;
	return strcmp(a->name, c->name);
}

int
bt_choose_adapter(struct bt_base *b, sd_bus_message *reply, bool need_adv,
    struct bt_adapter_info *chosen, unsigned *n_adapters)
{
	struct bt_adapter_info all[BT_MAX_ADAPTERS], ai;
	unsigned n = 0;
	const char *path;
	bool is;
	int r, code = CABLE_ERR_INTERNAL;

	if (sd_bus_message_rewind(reply, true) < 0 ||
	    sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}") < 0)
		goto bad;
	while ((r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
		if (sd_bus_message_read(reply, "o", &path) < 0 ||
		    read_adapter_object(reply, path, &ai, &is) < 0 ||
		    sd_bus_message_exit_container(reply) < 0)
			goto bad;
		if (is && n < BT_MAX_ADAPTERS)
			all[n++] = ai;
	}
	if (r < 0)
		goto bad;
	qsort(all, n, sizeof(all[0]), adapter_cmp);
	if (n_adapters != NULL)
		*n_adapters = n;
	if (n == 0) {
		bt_set_detail(b, "BlueZ reports no adapter");
		code = CABLE_ERR_BT_NO_ADAPTER;
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		if (b->adapter_req[0] != '\0') {
			if (strcmp(all[i].name, b->adapter_req) != 0)
				continue;
			if (!all[i].powered) {
				bt_set_detail(b, "adapter %s is not powered", all[i].name);
				code = CABLE_ERR_BT_NOT_POWERED;
				goto out;
			}
		} else if (!all[i].powered || (need_adv && !all[i].adv_manager))
			continue;
		if (need_adv && !all[i].adv_manager) {
			bt_set_detail(b, "adapter %s offers no %s", all[i].name,
			    BT_ADV_MANAGER_IFACE);
			code = CABLE_ERR_BT_ADVERTISE;
			goto out;
		}
		*chosen = all[i];
		snprintf(b->adapter_path, sizeof(b->adapter_path), "%s", all[i].path);
		snprintf(b->adapter_name, sizeof(b->adapter_name), "%s", all[i].name);
		code = 0;
		goto out;
	}
	if (b->adapter_req[0] != '\0') {
		bt_set_detail(b, "no adapter named %s", b->adapter_req);
		code = CABLE_ERR_BT_NO_ADAPTER;
	} else if (need_adv) {
		bt_set_detail(b, "no powered adapter offers %s", BT_ADV_MANAGER_IFACE);
		code = CABLE_ERR_BT_NOT_POWERED;
		for (unsigned i = 0; i < n; i++)
			if (!all[i].adv_manager && all[i].powered)
				code = CABLE_ERR_BT_ADVERTISE;
	} else {
		bt_set_detail(b, "no powered adapter (%u present)", n);
		code = CABLE_ERR_BT_NOT_POWERED;
	}
	goto out;
bad:
	bt_set_detail(b, "malformed GetManagedObjects reply from org.bluez");
	code = CABLE_ERR_PARSE;
out:
	return code;
}

int
cable_bt_uuid16(const char *uuid)
{
	static const char base[] = "-0000-1000-8000-00805f9b34fb";
	char lower[40];
	size_t n;
	unsigned v = 0;
	const char *hex;

	if (uuid == NULL)
		return -1;
	n = strlen(uuid);
	if (n >= sizeof(lower))
		return -1;
	for (size_t i = 0; i <= n; i++)
		lower[i] = (char)((uuid[i] >= 'A' && uuid[i] <= 'Z') ? uuid[i] + 32 : uuid[i]);
	if (n == 4)
		hex = lower;
	else if (n == 8 && !strncmp(lower, "0000", 4))
		hex = lower + 4;
	else if (n == 36 && !strncmp(lower, "0000", 4) && !strcmp(lower + 8, base))
		hex = lower + 4;
	else
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = hex[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else
			return -1;
	}
	return (int)v;
}

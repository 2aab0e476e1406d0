/*
 * Does the fake BlueZ look like BlueZ 5.66 where our adapter depends on it? Checked with raw
 * sd-bus against BlueZ's own API documents (doc/adapter-api.txt, device-api.txt,
 * advertising-api.txt) and the 5.66 behaviours listed in testing.md, not against our scanner.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-env.h"
#include "tv.h"

#define MAXSIG 256

struct fixture {
	struct bus_env env;
	sd_bus *bus; /* the "client" under test */
	sd_bus_message *sig[MAXSIG];
	int nsig;
	int releases;
	const char *adv_type; /* NULL: no Type property */
	uint16_t adv_timeout;
};

static const uint8_t data20[20] = {0xc0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
    18, 0xee};

static int
on_signal(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct fixture *f = ud;

	if (f->nsig < MAXSIG)
		f->sig[f->nsig++] = sd_bus_message_ref(m);
	return 0;
}

static void
clear_signals(struct fixture *f)
{
	for (int i = 0; i < f->nsig; i++)
		sd_bus_message_unref(f->sig[i]);
	f->nsig = 0;
}

static void
pump(struct fixture *f, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (now_ms() < end) {
		int r = sd_bus_process(f->bus, NULL);

		assert_true(r >= 0);
		if (r == 0)
			sd_bus_wait(f->bus, 20000);
	}
}

/* Pumps until cond holds or ms pass (positive checks never rely on a fixed delay). */
#define PUMP_UNTIL(f, cond, ms)                                      \
	do {                                                         \
		uint64_t end_ = now_ms() + (ms);                     \
		while (!(cond) && now_ms() < end_)                   \
			pump((f), 20);                               \
	} while (0)

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	/* Everything org.bluez emits. */
	if (bus_env_start(&f->env, NULL) != 0 || bus_env_fake_start(&f->env, NULL) != 0 ||
	    sd_bus_open_system(&f->bus) < 0 ||
	    sd_bus_add_match(f->bus, NULL, "type='signal',sender='org.bluez'", on_signal, f) < 0) {
		f->bus = sd_bus_flush_close_unref(f->bus);
		bus_env_stop(&f->env);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int fake_rc;

	clear_signals(f);
	sd_bus_flush_close_unref(f->bus);
	/* Clean up first, assert afterwards: a failed check must not leave processes or files. */
	fake_rc = bus_env_fake_stop(&f->env);
	bus_env_stop(&f->env);
	free(f);
	*state = NULL;
	/* The fake must shut down cleanly after everything the test did (leaks fail under ASan). */
	assert_int_equal(fake_rc, 0);
	return 0;
}

static int
call(struct fixture *f, const char *path, const char *iface, const char *member,
    const char *want_error, const char *types, ...)
{
	sd_bus_message *m = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	va_list ap;
	int r;

	assert_true(sd_bus_message_new_method_call(f->bus, &m, "org.bluez", path, iface, member) >= 0);
	if (types != NULL) {
		va_start(ap, types);
		assert_true(sd_bus_message_appendv(m, types, ap) >= 0);
		va_end(ap);
	}
	r = sd_bus_call(f->bus, m, 5000000, &e, NULL);
	if (want_error == NULL && r < 0)
		fail_msg("%s.%s: %s", iface, member, e.name);
	if (want_error != NULL) {
		if (r >= 0 || !sd_bus_error_has_name(&e, want_error))
			fail_msg("%s.%s: want %s, got %s", iface, member, want_error,
			    r >= 0 ? "success" : e.name);
	}
	sd_bus_error_free(&e);
	sd_bus_message_unref(m);
	return r;
}

/* The signature of each property of iface in an a{sv} at the current position; "" if absent. */
struct prop_sig {
	const char *name;
	const char *sig;
};

static void
check_props(sd_bus_message *m, const struct prop_sig *want, size_t n, bool exact)
{
	bool seen[32] = {0};
	const char *name, *contents;
	char type;

	assert_true(n <= 32);
	assert_true(sd_bus_message_enter_container(m, 'a', "{sv}") > 0);
	while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
		bool known = false;

		assert_true(sd_bus_message_read(m, "s", &name) > 0);
		assert_true(sd_bus_message_peek_type(m, &type, &contents) > 0);
		for (size_t i = 0; i < n; i++)
			if (!strcmp(want[i].name, name)) {
				if (strcmp(want[i].sig, contents) != 0)
					fail_msg("%s has type %s, BlueZ documents %s", name,
					    contents, want[i].sig);
				seen[i] = known = true;
			}
		if (exact && !known)
			fail_msg("undocumented property %s", name);
		assert_true(sd_bus_message_skip(m, "v") >= 0);
		assert_true(sd_bus_message_exit_container(m) >= 0);
	}
	assert_true(sd_bus_message_exit_container(m) >= 0);
	for (size_t i = 0; i < n; i++)
		if (!seen[i])
			fail_msg("property %s missing", want[i].name);
}

/* adapter-api.txt (5.66): the properties a client may rely on, with their documented types. */
static const struct prop_sig adapter_props[] = {
	{"Address", "s"}, {"AddressType", "s"}, {"Name", "s"}, {"Alias", "s"}, {"Class", "u"},
	{"Powered", "b"}, {"Discoverable", "b"}, {"Pairable", "b"}, {"PairableTimeout", "u"},
	{"DiscoverableTimeout", "u"}, {"Discovering", "b"}, {"UUIDs", "as"}, {"Roles", "as"},
};
/* advertising-api.txt: LEAdvertisingManager1 properties. */
static const struct prop_sig adv_manager_props[] = {
	{"ActiveInstances", "y"}, {"SupportedInstances", "y"}, {"SupportedIncludes", "as"},
};
/* device-api.txt: what a scanner reads, with documented types (RSSI int16 = n). */
static const struct prop_sig device_props[] = {
	{"Address", "s"}, {"AddressType", "s"}, {"Alias", "s"}, {"Paired", "b"}, {"Trusted", "b"},
	{"Blocked", "b"}, {"Connected", "b"}, {"UUIDs", "as"}, {"Adapter", "o"}, {"RSSI", "n"},
	{"ServiceData", "a{sv}"}, {"LegacyPairing", "b"}, {"ServicesResolved", "b"},
};

static void
test_object_tree(void **state)
{
	struct fixture *f = *state;
	sd_bus_message *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	const char *path, *iface;
	int adapters = 0;

	assert_true(sd_bus_call_method(f->bus, "org.bluez", "/", "org.freedesktop.DBus.ObjectManager",
	    "GetManagedObjects", &e, &reply, NULL) >= 0);
	assert_string_equal(sd_bus_message_get_signature(reply, true), "a{oa{sa{sv}}}");
	assert_true(sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}") > 0);
	while (sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}") > 0) {
		bool is_adapter = false, has_mgr = false;

		assert_true(sd_bus_message_read(reply, "o", &path) > 0);
		/* Everything BlueZ manages lives under /org/bluez. */
		assert_int_equal(strncmp(path, "/org/bluez", 10), 0);
		assert_true(sd_bus_message_enter_container(reply, 'a', "{sa{sv}}") > 0);
		while (sd_bus_message_enter_container(reply, 'e', "sa{sv}") > 0) {
			assert_true(sd_bus_message_read(reply, "s", &iface) > 0);
			if (!strcmp(iface, "org.bluez.Adapter1")) {
				is_adapter = true;
				check_props(reply, adapter_props,
				    sizeof(adapter_props) / sizeof(adapter_props[0]), false);
			} else if (!strcmp(iface, "org.bluez.LEAdvertisingManager1")) {
				has_mgr = true;
				check_props(reply, adv_manager_props,
				    sizeof(adv_manager_props) / sizeof(adv_manager_props[0]), false);
			} else
				assert_true(sd_bus_message_skip(reply, "a{sv}") >= 0);
			assert_true(sd_bus_message_exit_container(reply) >= 0);
		}
		assert_true(sd_bus_message_exit_container(reply) >= 0);
		assert_true(sd_bus_message_exit_container(reply) >= 0);
		if (is_adapter) {
			/* adapter-api.txt: object path [variable prefix]/{hci0,hci1,...} */
			assert_true(!strcmp(path, "/org/bluez/hci0") || !strcmp(path, "/org/bluez/hci1"));
			assert_true(has_mgr);
			adapters++;
		}
	}
	assert_int_equal(adapters, 2);
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
}

/* adapter-api.txt: documented errors of StartDiscovery, StopDiscovery, SetDiscoveryFilter. */
static void
test_discovery_errors(void **state)
{
	struct fixture *f = *state;
	const char *A = "org.bluez.Adapter1", *P = "/org/bluez/hci0";
	sd_bus_message *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char **filters = NULL;
	bool transport = false, dup = false;

	call(f, P, A, "StopDiscovery", "org.bluez.Error.Failed", NULL);
	call(f, P, A, "StartDiscovery", NULL, NULL);
	call(f, P, A, "StartDiscovery", "org.bluez.Error.InProgress", NULL);
	call(f, P, A, "StopDiscovery", NULL, NULL);
	call(f, P, A, "SetDiscoveryFilter", "org.bluez.Error.InvalidArguments", "a{sv}", 1, "Foo",
	    "u", 1);
	call(f, P, A, "SetDiscoveryFilter", "org.bluez.Error.InvalidArguments", "a{sv}", 1,
	    "Transport", "s", "usb");
	call(f, P, A, "SetDiscoveryFilter", "org.bluez.Error.InvalidArguments", "a{sv}", 1,
	    "DuplicateData", "s", "yes");
	call(f, P, A, "SetDiscoveryFilter", NULL, "a{sv}", 2, "Transport", "s", "le",
	    "DuplicateData", "b", 1);
	assert_true(sd_bus_call_method(f->bus, "org.bluez", P, A, "GetDiscoveryFilters", &e, &reply,
	    NULL) >= 0);
	assert_true(sd_bus_message_read_strv(reply, &filters) > 0);
	for (char **p = filters; *p != NULL; p++) {
		transport |= !strcmp(*p, "Transport");
		dup |= !strcmp(*p, "DuplicateData");
		free(*p);
	}
	free(filters);
	assert_true(transport && dup);
	sd_bus_message_unref(reply);
	/* Powered is writable; a powered-off adapter answers NotReady. */
	assert_true(sd_bus_set_property(f->bus, "org.bluez", P, A, "Powered", &e, "b", 0) >= 0);
	call(f, P, A, "StartDiscovery", "org.bluez.Error.NotReady", NULL);
	call(f, P, A, "SetDiscoveryFilter", "org.bluez.Error.NotReady", "a{sv}", 0);
	sd_bus_error_free(&e);
}

/* PropertiesChanged: signature sa{sv}as, arg0 the interface, on the object's own path. */
static int
find_changed(struct fixture *f, const char *path, const char *iface, const char *prop, int start)
{
	for (int i = start; i < f->nsig; i++) {
		sd_bus_message *m = f->sig[i];
		const char *s, *name;

		if (!sd_bus_message_is_signal(m, "org.freedesktop.DBus.Properties",
		    "PropertiesChanged") || strcmp(sd_bus_message_get_path(m), path) != 0)
			continue;
		assert_string_equal(sd_bus_message_get_signature(m, true), "sa{sv}as");
		assert_true(sd_bus_message_rewind(m, true) >= 0);
		assert_true(sd_bus_message_read(m, "s", &s) > 0);
		if (strcmp(s, iface) != 0)
			continue;
		assert_true(sd_bus_message_enter_container(m, 'a', "{sv}") > 0);
		while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
			assert_true(sd_bus_message_read(m, "s", &name) > 0);
			if (!strcmp(name, prop))
				return i;
			sd_bus_message_skip(m, "v");
			sd_bus_message_exit_container(m);
		}
	}
	return -1;
}

static int
count_changed(struct fixture *f, const char *path, const char *iface, const char *prop)
{
	int n = 0;

	for (int i = find_changed(f, path, iface, prop, 0); i >= 0;
	     i = find_changed(f, path, iface, prop, i + 1))
		n++;
	return n;
}

static int
find_added(struct fixture *f, const char *path)
{
	for (int i = 0; i < f->nsig; i++) {
		const char *p;

		if (!sd_bus_message_is_signal(f->sig[i], "org.freedesktop.DBus.ObjectManager",
		    "InterfacesAdded"))
			continue;
		assert_string_equal(sd_bus_message_get_path(f->sig[i]), "/");
		assert_string_equal(sd_bus_message_get_signature(f->sig[i], true), "oa{sa{sv}}");
		assert_true(sd_bus_message_rewind(f->sig[i], true) >= 0);
		assert_true(sd_bus_message_read(f->sig[i], "o", &p) > 0);
		if (!strcmp(p, path))
			return i;
	}
	return -1;
}

static bool
removed(struct fixture *f, const char *path, const char *iface)
{
	for (int i = 0; i < f->nsig; i++) {
		const char *p, *s;

		if (!sd_bus_message_is_signal(f->sig[i], "org.freedesktop.DBus.ObjectManager",
		    "InterfacesRemoved"))
			continue;
		assert_string_equal(sd_bus_message_get_signature(f->sig[i], true), "oas");
		assert_true(sd_bus_message_rewind(f->sig[i], true) >= 0);
		assert_true(sd_bus_message_read(f->sig[i], "o", &p) > 0);
		if (strcmp(p, path) != 0)
			continue;
		assert_true(sd_bus_message_enter_container(f->sig[i], 'a', "s") > 0);
		while (sd_bus_message_read(f->sig[i], "s", &s) > 0)
			if (!strcmp(s, iface))
				return true;
	}
	return false;
}

static void
test_discovering_signal(void **state)
{
	struct fixture *f = *state;
	int i;

	call(f, "/org/bluez/hci0", "org.bluez.Adapter1", "StartDiscovery", NULL, NULL);
	pump(f, 200);
	i = find_changed(f, "/org/bluez/hci0", "org.bluez.Adapter1", "Discovering", 0);
	assert_true(i >= 0);
	{
		int v = 0;

		assert_true(sd_bus_message_read(f->sig[i], "v", "b", &v) > 0);
		assert_true(v);
	}
	assert_true(sd_bus_set_property(f->bus, "org.bluez", "/org/bluez/hci0", "org.bluez.Adapter1",
	    "Powered", NULL, "b", 0) >= 0);
	pump(f, 200);
	assert_true(find_changed(f, "/org/bluez/hci0", "org.bluez.Adapter1", "Powered", 0) >= 0);
	assert_true(count_changed(f, "/org/bluez/hci0", "org.bluez.Adapter1", "Discovering") == 2);
}

/* A scanner's view: InterfacesAdded with Device1 and its documented property types. */
static void
test_device_signals(void **state)
{
	struct fixture *f = *state;
	const char *dev = "/org/bluez/hci0/dev_11_22_33_44_55_66", *iface, *s, *key;
	sd_bus_message *m;
	const void *p;
	size_t n;
	int i;

	call(f, "/org/bluez/hci0", "org.bluez.Adapter1", "SetDiscoveryFilter", NULL, "a{sv}", 2,
	    "Transport", "s", "le", "DuplicateData", "b", 1);
	call(f, "/org/bluez/hci0", "org.bluez.Adapter1", "StartDiscovery", NULL, NULL);
	assert_int_equal(fake_inject(&f->env, "hci0", "11:22:33:44:55:66", -42, "fff9", data20, 20,
	    false), 0);
	PUMP_UNTIL(f, find_added(f, dev) >= 0 &&
	    count_changed(f, dev, "org.bluez.Device1", "ServiceData") >= 3, 5000);
	i = find_added(f, dev);
	assert_true(i >= 0);
	m = f->sig[i];
	assert_true(sd_bus_message_enter_container(m, 'a', "{sa{sv}}") > 0);
	while (sd_bus_message_enter_container(m, 'e', "sa{sv}") > 0) {
		assert_true(sd_bus_message_read(m, "s", &iface) > 0);
		if (strcmp(iface, "org.bluez.Device1") != 0) {
			sd_bus_message_skip(m, "a{sv}");
			sd_bus_message_exit_container(m);
			continue;
		}
		check_props(m, device_props, sizeof(device_props) / sizeof(device_props[0]), false);
		/* Values, read again through Properties.Get as a client would. */
		break;
	}
	{
		sd_bus_message *r = NULL;
		int16_t rssi;

		assert_true(sd_bus_get_property(f->bus, "org.bluez", dev, "org.bluez.Device1",
		    "Address", NULL, &r, "s") >= 0);
		assert_true(sd_bus_message_read(r, "s", &s) > 0);
		assert_string_equal(s, "11:22:33:44:55:66");
		sd_bus_message_unref(r);
		assert_true(sd_bus_get_property(f->bus, "org.bluez", dev, "org.bluez.Device1",
		    "AddressType", NULL, &r, "s") >= 0);
		assert_true(sd_bus_message_read(r, "s", &s) > 0);
		assert_string_equal(s, "random");
		sd_bus_message_unref(r);
		assert_true(sd_bus_get_property(f->bus, "org.bluez", dev, "org.bluez.Device1",
		    "RSSI", NULL, &r, "n") >= 0);
		assert_true(sd_bus_message_read(r, "n", &rssi) > 0);
		assert_int_equal(rssi, -42);
		sd_bus_message_unref(r);
		assert_true(sd_bus_get_property(f->bus, "org.bluez", dev, "org.bluez.Device1",
		    "Adapter", NULL, &r, "o") >= 0);
		assert_true(sd_bus_message_read(r, "o", &s) > 0);
		assert_string_equal(s, "/org/bluez/hci0");
		sd_bus_message_unref(r);
		/* device-api.txt: ServiceData keys are UUIDs (BlueZ prints the 128-bit form), values ay. */
		assert_true(sd_bus_get_property(f->bus, "org.bluez", dev, "org.bluez.Device1",
		    "ServiceData", NULL, &r, "a{sv}") >= 0);
		assert_true(sd_bus_message_enter_container(r, 'a', "{sv}") > 0);
		assert_true(sd_bus_message_enter_container(r, 'e', "sv") > 0);
		assert_true(sd_bus_message_read(r, "s", &key) > 0);
		assert_string_equal(key, "0000fff9-0000-1000-8000-00805f9b34fb");
		assert_true(sd_bus_message_enter_container(r, 'v', "ay") > 0);
		assert_true(sd_bus_message_read_array(r, 'y', &p, &n) > 0);
		assert_int_equal(n, 20);
		assert_memory_equal(p, data20, 20);
		sd_bus_message_unref(r);
	}
	/* DuplicateData: each advertising event re-announces ServiceData. */
	assert_true(count_changed(f, dev, "org.bluez.Device1", "ServiceData") >= 3);
	assert_int_equal(fake_call(&f->env, "RemoveDevice", "ss", "hci0", "11:22:33:44:55:66"), 0);
	pump(f, 200);
	assert_true(removed(f, dev, "org.bluez.Device1"));
}

/* testing.md, "BlueZ 5.66 behaviours that bite": filter and DuplicateData semantics. */
static void
test_filter_semantics(void **state)
{
	struct fixture *f = *state;
	const char *A = "org.bluez.Adapter1", *P = "/org/bluez/hci0";
	const char *d1 = "/org/bluez/hci0/dev_11_22_33_44_55_01";
	const char *d2 = "/org/bluez/hci0/dev_11_22_33_44_55_02";
	const char *d3 = "/org/bluez/hci0/dev_11_22_33_44_55_03";

	/* No filter: a broadcast advert without discoverable flags creates no device. */
	call(f, P, A, "StartDiscovery", NULL, NULL);
	assert_int_equal(fake_inject(&f->env, "hci0", "11:22:33:44:55:01", -50, "fff9", data20, 20,
	    false), 0);
	assert_int_equal(fake_inject(&f->env, "hci0", "11:22:33:44:55:02", -50, "fff9", data20, 20,
	    true), 0);
	PUMP_UNTIL(f, find_added(f, d2) >= 0, 5000);
	pump(f, 300); /* several advertising events for d1 */
	assert_true(find_added(f, d1) < 0);
	assert_true(find_added(f, d2) >= 0);
	call(f, P, A, "StopDiscovery", NULL, NULL);
	/* A filter without DuplicateData: reported once, then silence while unchanged. */
	clear_signals(f);
	call(f, P, A, "SetDiscoveryFilter", NULL, "a{sv}", 1, "Transport", "s", "le");
	call(f, P, A, "StartDiscovery", NULL, NULL);
	assert_int_equal(fake_inject(&f->env, "hci0", "11:22:33:44:55:03", -50, "fff9", data20, 20,
	    false), 0);
	PUMP_UNTIL(f, find_added(f, d3) >= 0 && find_added(f, d1) >= 0, 5000);
	pump(f, 400); /* several advertising events: still no repeat */
	assert_true(find_added(f, d3) >= 0);
	assert_int_equal(count_changed(f, d3, "org.bluez.Device1", "ServiceData"), 0);
	assert_true(find_added(f, d1) >= 0); /* now visible too */
	/* StopDiscovery forgets the client's filter. */
	call(f, P, A, "StopDiscovery", NULL, NULL);
	assert_int_equal(fake_call(&f->env, "RemoveDevice", "ss", "hci0", "11:22:33:44:55:01"), 0);
	clear_signals(f);
	call(f, P, A, "StartDiscovery", NULL, NULL);
	pump(f, 400);
	assert_true(find_added(f, d1) < 0);
}

/* ---- advertising-api.txt: the client exports LEAdvertisement1; BlueZ reads it back. */

static int
adv_get(sd_bus *b, const char *path, const char *iface, const char *prop, sd_bus_message *reply,
    void *ud, sd_bus_error *err)
{
	struct fixture *f = ud;

	if (!strcmp(prop, "Type")) {
		if (f->adv_type == NULL)
			return sd_bus_error_set(err, SD_BUS_ERROR_UNKNOWN_PROPERTY, prop);
		return sd_bus_message_append(reply, "s", f->adv_type);
	}
	if (!strcmp(prop, "ServiceUUIDs"))
		return sd_bus_message_append(reply, "as", 1, "fff9");
	if (!strcmp(prop, "Timeout"))
		return sd_bus_message_append(reply, "q", f->adv_timeout);
	/* ServiceData */
	{
		int r;

		if ((r = sd_bus_message_open_container(reply, 'a', "{sv}")) < 0 ||
		    (r = sd_bus_message_open_container(reply, 'e', "sv")) < 0 ||
		    (r = sd_bus_message_append(reply, "s", "fff9")) < 0 ||
		    (r = sd_bus_message_open_container(reply, 'v', "ay")) < 0 ||
		    (r = sd_bus_message_append_array(reply, 'y', data20, 20)) < 0 ||
		    (r = sd_bus_message_close_container(reply)) < 0 ||
		    (r = sd_bus_message_close_container(reply)) < 0)
			return r;
		return sd_bus_message_close_container(reply);
	}
}

static int
adv_release(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct fixture *f = ud;

	f->releases++;
	return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable adv_vt_typed[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("Release", "", "", adv_release, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_PROPERTY("Type", "s", adv_get, 0, 0),
	SD_BUS_PROPERTY("ServiceUUIDs", "as", adv_get, 0, 0),
	SD_BUS_PROPERTY("ServiceData", "a{sv}", adv_get, 0, 0),
	SD_BUS_PROPERTY("Timeout", "q", adv_get, 0, 0),
	SD_BUS_VTABLE_END,
};
static const sd_bus_vtable adv_vt_untyped[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("Release", "", "", adv_release, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_PROPERTY("ServiceData", "a{sv}", adv_get, 0, 0),
	SD_BUS_VTABLE_END,
};

struct pending {
	bool done;
	char error[128];
};

static int
on_reply(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct pending *p = ud;
	const sd_bus_error *e = sd_bus_message_get_error(m);

	p->done = true;
	snprintf(p->error, sizeof(p->error), "%s", e != NULL ? e->name : "");
	return 0;
}

static void
register_async(struct fixture *f, const char *adapter_path, const char *obj, const char *want)
{
	struct pending p = {0};
	uint64_t end = now_ms() + 5000;

	assert_true(sd_bus_call_method_async(f->bus, NULL, "org.bluez", adapter_path,
	    "org.bluez.LEAdvertisingManager1", "RegisterAdvertisement", on_reply, &p, "oa{sv}", obj,
	    0) >= 0);
	while (!p.done && now_ms() < end)
		pump(f, 20);
	assert_true(p.done);
	assert_string_equal(p.error, want != NULL ? want : "");
}

static bool
device_added_on_hci0(struct fixture *f)
{
	for (int i = 0; i < f->nsig; i++) {
		const char *p;

		if (sd_bus_message_is_signal(f->sig[i], "org.freedesktop.DBus.ObjectManager",
		    "InterfacesAdded") && sd_bus_message_rewind(f->sig[i], true) >= 0 &&
		    sd_bus_message_read(f->sig[i], "o", &p) > 0 && !strncmp(p, "/org/bluez/hci0/dev_", 20))
			return true;
	}
	return false;
}

static uint8_t
active_instances(struct fixture *f, const char *adapter_path)
{
	sd_bus_message *r = NULL;
	uint8_t v = 0xff;

	assert_true(sd_bus_get_property(f->bus, "org.bluez", adapter_path,
	    "org.bluez.LEAdvertisingManager1", "ActiveInstances", NULL, &r, "y") >= 0);
	assert_true(sd_bus_message_read(r, "y", &v) > 0);
	sd_bus_message_unref(r);
	return v;
}

static void
test_register_advertisement(void **state)
{
	struct fixture *f = *state;
	const char *M = "org.bluez.LEAdvertisingManager1";
	sd_bus_message *m = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	f->adv_type = "broadcast";
	assert_true(sd_bus_add_object_vtable(f->bus, NULL, "/test/adv0",
	    "org.bluez.LEAdvertisement1", adv_vt_typed, f) >= 0);
	assert_true(sd_bus_add_object_vtable(f->bus, NULL, "/test/adv1",
	    "org.bluez.LEAdvertisement1", adv_vt_untyped, f) >= 0);
	call(f, "/org/bluez/hci0", "org.bluez.Adapter1", "SetDiscoveryFilter", NULL, "a{sv}", 1,
	    "Transport", "s", "le");
	call(f, "/org/bluez/hci0", "org.bluez.Adapter1", "StartDiscovery", NULL, NULL);

	/* BlueZ reads the properties back before replying: a blocking call cannot serve that. */
	assert_true(sd_bus_message_new_method_call(f->bus, &m, "org.bluez", "/org/bluez/hci1", M,
	    "RegisterAdvertisement") >= 0);
	assert_true(sd_bus_message_append(m, "oa{sv}", "/test/adv0", 0) >= 0);
	r = sd_bus_call(f->bus, m, 1000000, &e, NULL);
	assert_true(r < 0);
	assert_true(sd_bus_error_has_name(&e, SD_BUS_ERROR_NO_REPLY) ||
	    sd_bus_error_has_name(&e, SD_BUS_ERROR_TIMEOUT));
	sd_bus_error_free(&e);
	sd_bus_message_unref(m);
	/* Now the queued property read is answered and registration completes. */
	PUMP_UNTIL(f, active_instances(f, "/org/bluez/hci1") == 1, 5000);
	assert_int_equal(active_instances(f, "/org/bluez/hci1"), 1);
	/* The advert is on the air: hci0 (discovering) sees a random-address device (the signal may
	 * come a little after the registration reply when the fake is slow, e.g. under valgrind). */
	PUMP_UNTIL(f, device_added_on_hci0(f), 5000);
	assert_true(device_added_on_hci0(f));
	register_async(f, "/org/bluez/hci1", "/test/adv0", "org.bluez.Error.AlreadyExists");
	register_async(f, "/org/bluez/hci1", "/test/adv1", "org.bluez.Error.InvalidArguments");
	register_async(f, "/org/bluez/hci1", "/test/none", "org.bluez.Error.Failed");
	call(f, "/org/bluez/hci1", M, "UnregisterAdvertisement", "org.bluez.Error.DoesNotExist", "o",
	    "/test/none");
	/* Unregister: the device disappears; 5.66 does not call Release. */
	clear_signals(f);
	call(f, "/org/bluez/hci1", M, "UnregisterAdvertisement", NULL, "o", "/test/adv0");
	pump(f, 300);
	assert_int_equal(f->releases, 0);
	assert_int_equal(active_instances(f, "/org/bluez/hci1"), 0);
	{
		bool gone = false;

		for (int i = 0; i < f->nsig && !gone; i++) {
			const char *p;

			if (sd_bus_message_is_signal(f->sig[i], "org.freedesktop.DBus.ObjectManager",
			    "InterfacesRemoved") && sd_bus_message_rewind(f->sig[i], true) >= 0 &&
			    sd_bus_message_read(f->sig[i], "o", &p) > 0)
				gone = !strncmp(p, "/org/bluez/hci0/dev_", 20);
		}
		assert_true(gone);
	}
	/* Timeout expiry calls Release. */
	f->adv_timeout = 1;
	register_async(f, "/org/bluez/hci1", "/test/adv0", NULL);
	PUMP_UNTIL(f, f->releases == 1, 5000);
	assert_int_equal(f->releases, 1);
	assert_int_equal(active_instances(f, "/org/bluez/hci1"), 0);
	/* So does the adapter going away; its interfaces are removed. */
	f->adv_timeout = 0;
	register_async(f, "/org/bluez/hci1", "/test/adv0", NULL);
	clear_signals(f);
	assert_int_equal(fake_call(&f->env, "RemoveAdapter", "s", "hci1"), 0);
	PUMP_UNTIL(f, f->releases == 2 && removed(f, "/org/bluez/hci1", "org.bluez.Adapter1"), 5000);
	assert_int_equal(f->releases, 2);
	assert_true(removed(f, "/org/bluez/hci1", "org.bluez.Adapter1"));
	assert_true(removed(f, "/org/bluez/hci1", "org.bluez.LEAdvertisingManager1"));
}

/* When the owner leaves the bus its adverts and discovery sessions end (client watches). */
static void
test_owner_leaves(void **state)
{
	struct fixture *f = *state;
	sd_bus *other = NULL;

	f->adv_type = "broadcast";
	assert_true(sd_bus_open_system(&other) >= 0);
	{
		sd_bus *keep = f->bus;

		/* Register from "other", discovering from "other" too. */
		f->bus = other;
		assert_true(sd_bus_add_object_vtable(other, NULL, "/test/adv0",
		    "org.bluez.LEAdvertisement1", adv_vt_typed, f) >= 0);
		register_async(f, "/org/bluez/hci1", "/test/adv0", NULL);
		call(f, "/org/bluez/hci0", "org.bluez.Adapter1", "StartDiscovery", NULL, NULL);
		f->bus = keep;
	}
	assert_int_equal(active_instances(f, "/org/bluez/hci1"), 1);
	assert_int_equal(fake_stat(&f->env, "hci0", "DiscoveringClients"), 1);
	other = sd_bus_flush_close_unref(other);
	assert_int_equal(fake_wait_stat(&f->env, "hci0", "DiscoveringClients", 0, 3000), 0);
	assert_int_equal(fake_wait_stat(&f->env, "hci1", "ActiveAdvertisements", 0, 3000), 0);
	assert_int_equal(fake_stat(&f->env, "hci0", "StopByExit"), 1);
	assert_int_equal(fake_stat(&f->env, "hci1", "Released"), 0);
	PUMP_UNTIL(f, find_changed(f, "/org/bluez/hci0", "org.bluez.Adapter1", "Discovering", 0) >= 0,
	    3000);
	assert_true(find_changed(f, "/org/bluez/hci0", "org.bluez.Adapter1", "Discovering", 0) >= 0);
	/* Owners that leave in the middle of a registration (the fake is still calling them). */
	for (int i = 0; i < 5; i++) {
		assert_true(sd_bus_open_system(&other) >= 0);
		assert_true(sd_bus_add_object_vtable(other, NULL, "/test/adv0",
		    "org.bluez.LEAdvertisement1", adv_vt_typed, f) >= 0);
		assert_true(sd_bus_call_method_async(other, NULL, "org.bluez", "/org/bluez/hci1",
		    "org.bluez.LEAdvertisingManager1", "RegisterAdvertisement", NULL, NULL, "oa{sv}",
		    "/test/adv0", 0) >= 0);
		other = sd_bus_flush_close_unref(other);
	}
	pump(f, 300);
	assert_int_equal(active_instances(f, "/org/bluez/hci1"), 0);
	assert_int_equal(fake_stat(&f->env, "hci1", "Registered"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_object_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discovery_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discovering_signal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_signals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filter_semantics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_advertisement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner_leaves, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

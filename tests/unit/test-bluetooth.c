/*
 * The Bluetooth adapter against the fake BlueZ through a real dbus-daemon: advert to scanner byte
 * for byte, foreign and wrong-length adverts, every injected fault, exit paths, leaks, idle wake-ups.
 */
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-env.h"
#include "cable/bluetooth.h"
#include "cable/error.h"
#include "cable/loop-lws.h"
#include "loop-poll.h"
#include "tv.h"

#define MAXP 16

struct rec {
	struct cable_loop *loop;
	int npayload;
	uint16_t uuid[MAXP];
	size_t len[MAXP];
	uint8_t data[MAXP][CABLE_BT_PAYLOAD_MAX];
	char addr[MAXP][18];
	int rssi[MAXP];
	bool started, registered, got_error;
	bool started_at_first_payload;
	char adapter[16];
	int error;
	/* re-entrancy: free the object from inside a callback */
	struct cable_bt_scanner **free_scanner_on_payload, **free_scanner_on_error;
	struct cable_bt_advertiser **free_adv_on_registered;
	bool quit_on_payload;
};

struct fixture {
	struct bus_env env;
	struct cable_loop_poll *lp;
	struct cable_loop *loop;
};

static const uint8_t advert20[20] = {0x5a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
    0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0xa5};

static void
on_payload(void *arg, uint16_t uuid, const uint8_t *data, size_t len, const char *addr, int rssi)
{
	struct rec *r = arg;

	if (r->npayload == 0)
		r->started_at_first_payload = r->started;
	if (r->npayload < MAXP) {
		r->uuid[r->npayload] = uuid;
		r->len[r->npayload] = len;
		memcpy(r->data[r->npayload], data, len);
		snprintf(r->addr[r->npayload], 18, "%s", addr);
		r->rssi[r->npayload] = rssi;
	}
	r->npayload++;
	if (r->quit_on_payload)
		r->loop->ops->quit(r->loop, 7);
	if (r->free_scanner_on_payload != NULL)
		cable_bt_scanner_free(r->free_scanner_on_payload);
}

static void
on_started(void *arg, const char *adapter)
{
	struct rec *r = arg;

	r->started = true;
	snprintf(r->adapter, sizeof(r->adapter), "%s", adapter);
}

static void
on_registered(void *arg, const char *adapter)
{
	struct rec *r = arg;

	r->registered = true;
	snprintf(r->adapter, sizeof(r->adapter), "%s", adapter);
	if (r->free_adv_on_registered != NULL)
		cable_bt_advertiser_free(r->free_adv_on_registered);
}

static void
on_error(void *arg, int code)
{
	struct rec *r = arg;

	assert_false(r->got_error); /* at most once */
	r->got_error = true;
	r->error = code;
	if (r->free_scanner_on_error != NULL)
		cable_bt_scanner_free(r->free_scanner_on_error);
}

static const struct cable_bt_scanner_cbs scan_cbs = {on_payload, on_started, on_error};
static const struct cable_bt_advertiser_cbs adv_cbs = {on_registered, on_error};

#define RUN_UNTIL(f, cond, ms)                                                   \
	do {                                                                     \
		uint64_t end_ = now_ms() + (ms);                                 \
		while (!(cond) && now_ms() < end_)                               \
			cable_loop_poll_once((f)->lp, 20000);                    \
	} while (0)

static void
run_for(struct fixture *f, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (now_ms() < end)
		cable_loop_poll_once(f->lp, 20000);
}

static int
setup_bus(void **state, const char *policy, const char *const *fake_args, bool fake)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (bus_env_start(&f->env, policy) != 0 ||
	    (fake && bus_env_fake_start(&f->env, fake_args) != 0) ||
	    (f->lp = cable_loop_poll_new()) == NULL) {
		bus_env_stop(&f->env);
		free(f);
		return -1;
	}
	f->loop = cable_loop_poll_loop(f->lp);
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return setup_bus(state, NULL, NULL, true);
}

static int
setup_no_fake(void **state)
{
	return setup_bus(state, NULL, NULL, false);
}

static int
setup_unpowered(void **state)
{
	static const char *const args[] = {"--unpowered", "hci0", "--unpowered", "hci1", NULL};

	return setup_bus(state, NULL, args, true);
}

static int
setup_no_adv_manager(void **state)
{
	static const char *const args[] = {"--no-adv-manager", "hci1", NULL};

	return setup_bus(state, NULL, args, true);
}

static int
setup_denied(void **state)
{
	/* What a user outside BlueZ's D-Bus policy meets: calls to org.bluez are refused. */
	return setup_bus(state,
	    "<policy context=\"default\"><deny send_destination=\"org.bluez\"/></policy>", NULL,
	    true);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	unsigned nfds, ntimers, held;
	int fake_rc = 0;

	if (f == NULL)
		return 0;
	/* Clean up first, assert afterwards: a failed check must not leave processes or files. */
	nfds = cable_loop_poll_nfds(f->lp);
	ntimers = cable_loop_poll_ntimers(f->lp);
	held = cable_loop_poll_ntimers_held(f->lp);
	if (f->env.fake_pid > 0)
		fake_rc = bus_env_fake_stop(&f->env);
	bus_env_stop(&f->env);
	if (nfds == 0 && held == 0)
		cable_loop_poll_free(&f->lp);
	free(f);
	*state = NULL;
	assert_int_equal(nfds, 0);
	assert_int_equal(ntimers, 0);
	/* Fired timers too were freed by their owner (loop.h contract). */
	assert_int_equal(held, 0);
	/* The fake shut down cleanly after everything the test did (leaks fail under ASan). */
	assert_int_equal(fake_rc, 0);
	return 0;
}

static struct cable_bt_scanner *
scanner(struct fixture *f, const char *adapter, uint64_t timeout_usec, struct rec *r)
{
	struct cable_bt_opts o = {.adapter = adapter, .timeout_usec = timeout_usec};
	struct cable_bt_scanner *s;

	r->loop = f->loop;
	s = cable_bt_scanner_new(f->loop, &o, &scan_cbs, r);
	assert_non_null(s);
	assert_int_equal(cable_bt_scanner_start(s), 0);
	return s;
}

static struct cable_bt_advertiser *
advertiser(struct fixture *f, const char *adapter, const uint8_t *data, size_t len, struct rec *r)
{
	struct cable_bt_opts o = {.adapter = adapter};
	struct cable_bt_advertiser *a;

	r->loop = f->loop;
	a = cable_bt_advertiser_new(f->loop, &o, CABLE_BT_UUID_FIDO, data, len, &adv_cbs, r);
	assert_non_null(a);
	assert_int_equal(cable_bt_advertiser_start(a), 0);
	return a;
}

static void
assert_address(const char *a)
{
	assert_int_equal(strlen(a), 17);
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2)
			assert_int_equal(a[i], ':');
		else
			assert_non_null(strchr("0123456789ABCDEF", a[i]));
}

static int count_changes;

static int
count_service_data_changes(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	const char *iface, *prop;

	if (sd_bus_message_read(m, "s", &iface) < 0 || sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
		return 0;
	while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
		if (sd_bus_message_read(m, "s", &prop) < 0)
			return 0;
		count_changes += !strcmp(prop, "ServiceData");
		sd_bus_message_skip(m, "v");
		sd_bus_message_exit_container(m);
	}
	return 0;
}

/* The phone's advert registered on hci1 reaches the desktop's scanner on hci0, byte for byte. */
static void
test_advert_reaches_scanner(void **state)
{
	struct fixture *f = *state;
	struct rec rs = {0}, ra = {0};
	struct cable_bt_scanner *s;
	struct cable_bt_advertiser *a;
	sd_bus_slot *slot = NULL;

	s = scanner(f, NULL, 0, &rs);
	RUN_UNTIL(f, rs.started || rs.got_error, 5000);
	assert_true(rs.started);
	assert_string_equal(rs.adapter, "hci0"); /* the first powered adapter */
	assert_int_equal(fake_stat(&f->env, "hci0", "DiscoveringClients"), 1);
	assert_int_equal(fake_stat(&f->env, "hci0", "Filters"), 1);

	a = advertiser(f, "hci1", advert20, sizeof(advert20), &ra);
	RUN_UNTIL(f, ra.registered || ra.got_error, 5000);
	assert_true(ra.registered);
	assert_string_equal(ra.adapter, "hci1");
	RUN_UNTIL(f, rs.npayload > 0, 3000);
	assert_int_equal(rs.npayload, 1);
	assert_int_equal(rs.uuid[0], 0xfff9);
	assert_int_equal(rs.len[0], 20);
	assert_memory_equal(rs.data[0], advert20, 20);
	assert_address(rs.addr[0]);
	assert_int_equal(rs.rssi[0], -50);

	/* The radio keeps re-announcing (DuplicateData); the scanner hands the payload on once. */
	assert_true(sd_bus_match_signal(f->env.ctl, &slot, "org.bluez", NULL,
	    "org.freedesktop.DBus.Properties", "PropertiesChanged", count_service_data_changes,
	    NULL) >= 0);
	count_changes = 0;
	{
		uint64_t end = now_ms() + 5000;

		while (count_changes < 3 && now_ms() < end) {
			run_for(f, 100);
			while (sd_bus_process(f->env.ctl, NULL) > 0)
				;
		}
	}
	sd_bus_slot_unref(slot);
	assert_true(count_changes >= 3);
	assert_int_equal(rs.npayload, 1);

	/* Unregistered on free, without waiting for BlueZ; the device goes away on hci0. */
	cable_bt_advertiser_free(&a);
	assert_null(a);
	assert_int_equal(fake_wait_stat(&f->env, "hci1", "Unregistered", 1, 3000), 1);
	assert_int_equal(fake_stat(&f->env, "hci1", "AdvertsGoneWithOwner"), 0);
	assert_int_equal(fake_wait_stat(&f->env, "hci0", "Devices", 0, 3000), 0);
	cable_bt_scanner_free(&s);
	assert_int_equal(fake_wait_stat(&f->env, "hci0", "StopDiscovery", 1, 3000), 1);
	assert_int_equal(fake_stat(&f->env, "hci0", "StopByExit"), 0);
	assert_int_equal(fake_wait_stat(&f->env, "hci0", "DiscoveringClients", 0, 3000), 0);
	assert_false(rs.got_error);
	assert_false(ra.got_error);
}

/* Wrong lengths go to the core unchanged; other UUIDs and unrelated devices never reach it. */
static void
test_foreign_and_wrong_length(void **state)
{
	struct fixture *f = *state;
	struct rec rs = {0};
	struct cable_bt_scanner *s;
	uint8_t big[300], d22[22];

	memset(big, 0x33, sizeof(big));
	memset(d22, 0x22, sizeof(d22));
	s = scanner(f, "hci0", 0, &rs);
	RUN_UNTIL(f, rs.started || rs.got_error, 5000);
	assert_true(rs.started);
	assert_int_equal(fake_inject(&f->env, "hci0", "11:22:33:44:55:01", -60, "fff9", advert20, 19,
	    false), 0);
	assert_int_equal(fake_inject(&f->env, "hci0", "11:22:33:44:55:02", -61,
	    "0000FDE2-0000-1000-8000-00805F9B34FB", advert20, 20, false), 0);
	assert_int_equal(fake_inject(&f->env, "hci0", "11:22:33:44:55:03", -62, "feaa", advert20, 20,
	    false), 0);
	assert_int_equal(fake_inject(&f->env, "hci0", "11:22:33:44:55:04", -63,
	    "0000fff9-0000-1000-8000-00805f9b34fc", advert20, 20, false), 0);
	assert_int_equal(fake_inject(&f->env, "hci0", "11:22:33:44:55:05", -64, "fff9", big,
	    sizeof(big), false), 0);
	assert_int_equal(fake_call(&f->env, "AddDevice", "sssn", "hci0", "11:22:33:44:55:06",
	    "Heart Rate Sensor", (int16_t)-65), 0);
	assert_int_equal(fake_inject(&f->env, "hci0", "11:22:33:44:55:07", -66, "fff9", advert20, 0,
	    false), 0);
	assert_int_equal(fake_inject(&f->env, "hci0", "11:22:33:44:55:08", -67, "fff9", d22,
	    sizeof(d22), false), 0);
	/* Same bytes as :01 from another address: already seen. */
	assert_int_equal(fake_inject(&f->env, "hci0", "11:22:33:44:55:09", -68, "fff9", advert20, 19,
	    false), 0);
	assert_int_equal(fake_wait_stat(&f->env, "hci0", "Devices", 9, 3000), 9);
	RUN_UNTIL(f, rs.npayload >= 4, 5000);
	run_for(f, 300); /* re-announcements of all nine: nothing more may arrive */
	assert_int_equal(rs.npayload, 4);
	for (int i = 0; i < 4; i++) {
		const char *a = rs.addr[i];

		if (!strcmp(a, "11:22:33:44:55:01")) {
			assert_int_equal(rs.uuid[i], 0xfff9);
			assert_int_equal(rs.len[i], 19);
			assert_memory_equal(rs.data[i], advert20, 19);
			assert_int_equal(rs.rssi[i], -60);
		} else if (!strcmp(a, "11:22:33:44:55:02")) {
			assert_int_equal(rs.uuid[i], 0xfde2);
			assert_int_equal(rs.len[i], 20);
			assert_memory_equal(rs.data[i], advert20, 20);
			assert_int_equal(rs.rssi[i], -61);
		} else if (!strcmp(a, "11:22:33:44:55:07")) {
			assert_int_equal(rs.len[i], 0);
		} else if (!strcmp(a, "11:22:33:44:55:08")) {
			assert_int_equal(rs.len[i], 22);
			assert_memory_equal(rs.data[i], d22, 22);
		} else
			fail_msg("unexpected payload from %s", a);
	}
	cable_bt_scanner_free(&s);
	assert_false(rs.got_error);
}

static void
expect_scan_error(struct fixture *f, const char *adapter, int code, const char *detail_part)
{
	struct rec rs = {0};
	struct cable_bt_scanner *s = scanner(f, adapter, 0, &rs);

	RUN_UNTIL(f, rs.got_error || rs.started, 5000);
	assert_true(rs.got_error);
	if (rs.error != code)
		fail_msg("want %s, got %s (%s)", cable_errname(code), cable_errname(rs.error),
		    cable_bt_scanner_detail(s));
	if (detail_part != NULL && strstr(cable_bt_scanner_detail(s), detail_part) == NULL)
		fail_msg("detail '%s' lacks '%s'", cable_bt_scanner_detail(s), detail_part);
	/* The scanner has left the loop already. */
	assert_int_equal(cable_loop_poll_nfds(f->lp), 0);
	cable_bt_scanner_free(&s);
}

static void
expect_adv_error(struct fixture *f, const char *adapter, const uint8_t *d, size_t len, int code,
    const char *detail_part)
{
	struct rec ra = {0};
	struct cable_bt_advertiser *a = advertiser(f, adapter, d, len, &ra);

	RUN_UNTIL(f, ra.got_error || ra.registered, 5000);
	assert_true(ra.got_error);
	if (ra.error != code)
		fail_msg("want %s, got %s (%s)", cable_errname(code), cable_errname(ra.error),
		    cable_bt_advertiser_detail(a));
	if (detail_part != NULL && strstr(cable_bt_advertiser_detail(a), detail_part) == NULL)
		fail_msg("detail '%s' lacks '%s'", cable_bt_advertiser_detail(a), detail_part);
	cable_bt_advertiser_free(&a);
}

static void
test_no_bus(void **state)
{
	struct cable_loop_poll *lp = cable_loop_poll_new();
	struct cable_bt_scanner *s;
	struct cable_bt_advertiser *a;
	struct cable_bt_readiness rd;
	struct rec r = {0};

	(void)state;
	setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/cable-test-bus", 1);
	s = cable_bt_scanner_new(cable_loop_poll_loop(lp), NULL, &scan_cbs, &r);
	assert_int_equal(cable_bt_scanner_start(s), CABLE_ERR_BT_BUS);
	assert_non_null(strstr(cable_bt_scanner_detail(s), "system bus"));
	cable_bt_scanner_free(&s);
	a = cable_bt_advertiser_new(cable_loop_poll_loop(lp), NULL, 0xfff9, advert20, 20, &adv_cbs,
	    &r);
	assert_int_equal(cable_bt_advertiser_start(a), CABLE_ERR_BT_BUS);
	cable_bt_advertiser_free(&a);
	assert_int_equal(cable_bt_check(NULL, &rd), CABLE_ERR_BT_BUS);
	assert_int_equal(rd.bus, CABLE_ERR_BT_BUS);
	assert_false(r.got_error); /* synchronous failures are returned, not called back */
	assert_int_equal(cable_loop_poll_nfds(lp), 0);
	cable_loop_poll_free(&lp);
	unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
}

static void
test_no_bluez(void **state)
{
	struct fixture *f = *state;
	struct cable_bt_readiness rd;

	expect_scan_error(f, NULL, CABLE_ERR_BT_NO_BLUEZ, "ServiceUnknown");
	expect_adv_error(f, NULL, advert20, 20, CABLE_ERR_BT_NO_BLUEZ, NULL);
	assert_int_equal(cable_bt_check(NULL, &rd), CABLE_ERR_BT_NO_BLUEZ);
	assert_int_equal(rd.bus, 0);
	assert_int_equal(rd.bluez, CABLE_ERR_BT_NO_BLUEZ);
}

static void
test_no_adapter(void **state)
{
	struct fixture *f = *state;
	struct cable_bt_readiness rd;
	struct cable_bt_opts o = {.adapter = "hci7"};

	expect_scan_error(f, "hci7", CABLE_ERR_BT_NO_ADAPTER, "hci7");
	assert_int_equal(cable_bt_check(&o, &rd), CABLE_ERR_BT_NO_ADAPTER);
	assert_int_equal(fake_call(&f->env, "RemoveAdapter", "s", "hci0"), 0);
	assert_int_equal(fake_call(&f->env, "RemoveAdapter", "s", "hci1"), 0);
	expect_scan_error(f, NULL, CABLE_ERR_BT_NO_ADAPTER, NULL);
	expect_adv_error(f, NULL, advert20, 20, CABLE_ERR_BT_NO_ADAPTER, NULL);
	assert_int_equal(cable_bt_check(NULL, &rd), CABLE_ERR_BT_NO_ADAPTER);
	assert_int_equal(rd.adapters, 0);
}

static void
test_not_powered(void **state)
{
	struct fixture *f = *state;
	struct cable_bt_readiness rd;
	struct rec rs = {0};
	struct cable_bt_scanner *s;

	expect_scan_error(f, NULL, CABLE_ERR_BT_NOT_POWERED, NULL);
	expect_scan_error(f, "hci0", CABLE_ERR_BT_NOT_POWERED, "hci0");
	expect_adv_error(f, "hci1", advert20, 20, CABLE_ERR_BT_NOT_POWERED, NULL);
	assert_int_equal(cable_bt_check(NULL, &rd), CABLE_ERR_BT_NOT_POWERED);
	assert_int_equal(rd.adapters, 2);
	/* With hci1 powered, the default choice skips the unpowered hci0. */
	assert_int_equal(fake_call(&f->env, "SetPowered", "sb", "hci1", 1), 0);
	s = scanner(f, NULL, 0, &rs);
	RUN_UNTIL(f, rs.started || rs.got_error, 5000);
	assert_true(rs.started);
	assert_string_equal(rs.adapter, "hci1");
	cable_bt_scanner_free(&s);
}

static void
test_permission_denied(void **state)
{
	struct fixture *f = *state;
	struct cable_bt_readiness rd;

	expect_scan_error(f, NULL, CABLE_ERR_BT_PERMISSION, "AccessDenied");
	expect_adv_error(f, NULL, advert20, 20, CABLE_ERR_BT_PERMISSION, NULL);
	assert_int_equal(cable_bt_check(NULL, &rd), CABLE_ERR_BT_PERMISSION);
	assert_int_equal(rd.bluez, CABLE_ERR_BT_PERMISSION);
}

static void
test_discovery_refused(void **state)
{
	struct fixture *f = *state;
	struct cable_bt_readiness rd;

	assert_int_equal(fake_call(&f->env, "FailNext", "ssssu", "hci0", "StartDiscovery",
	    "org.bluez.Error.InProgress", "Operation already in progress", 2), 0);
	/* The detail keeps BlueZ's words and says how to clear a stuck discovery. */
	expect_scan_error(f, NULL, CABLE_ERR_BT_DISCOVERY, "org.bluez.Error.InProgress: "
	    "Operation already in progress (the adapter is still busy with an earlier discovery; "
	    "switching Bluetooth off and on clears it)");
	/* Refused, so nothing to stop. */
	assert_int_equal(fake_stat(&f->env, "hci0", "StopDiscovery"), 0);
	assert_int_equal(cable_bt_check(NULL, &rd), CABLE_ERR_BT_DISCOVERY);
	assert_int_equal(rd.adapter, 0);
	assert_int_equal(rd.discovery, CABLE_ERR_BT_DISCOVERY);
	assert_non_null(strstr(rd.detail, "InProgress"));
	assert_non_null(strstr(rd.detail, "switching Bluetooth off and on"));
	/* BlueZ's NotReady (adapter powering down under us) reads as "not powered". */
	assert_int_equal(fake_call(&f->env, "FailNext", "ssssu", "", "SetDiscoveryFilter",
	    "org.bluez.Error.NotReady", "Resource Not Ready", 1), 0);
	expect_scan_error(f, NULL, CABLE_ERR_BT_NOT_POWERED, "NotReady");
	/* A generic failure. */
	assert_int_equal(fake_call(&f->env, "FailNext", "ssssu", "", "StartDiscovery",
	    "org.bluez.Error.Failed", "Device or resource busy", 1), 0);
	expect_scan_error(f, NULL, CABLE_ERR_BT_DISCOVERY, "busy");
}

static void
test_delay_and_timeout(void **state)
{
	struct fixture *f = *state;
	struct rec rs = {0};
	struct cable_bt_scanner *s;
	uint64_t t0;

	assert_int_equal(fake_call(&f->env, "SetDelay", "u", 300), 0);
	t0 = now_ms();
	s = scanner(f, NULL, 3000000, &rs);
	RUN_UNTIL(f, rs.started || rs.got_error, 5000);
	assert_true(rs.started);
	assert_true(now_ms() - t0 >= 600); /* SetDiscoveryFilter and StartDiscovery, 300 ms each */
	cable_bt_scanner_free(&s);
	{
		struct rec r2 = {0};
		struct cable_bt_scanner *s2 = scanner(f, NULL, 100000, &r2);

		RUN_UNTIL(f, r2.started || r2.got_error, 5000);
		assert_true(r2.got_error);
		assert_int_equal(r2.error, CABLE_ERR_TIMEOUT);
		cable_bt_scanner_free(&s2);
	}
	assert_int_equal(fake_call(&f->env, "SetDelay", "u", 0), 0);
}

static void
test_adapter_removed(void **state)
{
	struct fixture *f = *state;
	struct rec rs = {0}, ra = {0};
	struct cable_bt_scanner *s = scanner(f, "hci0", 0, &rs);
	struct cable_bt_advertiser *a = advertiser(f, "hci1", advert20, 20, &ra);

	RUN_UNTIL(f, (rs.started && ra.registered) || rs.got_error || ra.got_error, 5000);
	assert_true(rs.started && ra.registered);
	assert_int_equal(fake_call(&f->env, "RemoveAdapter", "s", "hci0"), 0);
	RUN_UNTIL(f, rs.got_error, 3000);
	assert_int_equal(rs.error, CABLE_ERR_BT_ADAPTER_GONE);
	assert_non_null(strstr(cable_bt_scanner_detail(s), "removed"));
	assert_false(ra.got_error);
	assert_int_equal(fake_call(&f->env, "RemoveAdapter", "s", "hci1"), 0);
	RUN_UNTIL(f, ra.got_error, 3000);
	assert_int_equal(ra.error, CABLE_ERR_BT_ADAPTER_GONE);
	cable_bt_scanner_free(&s);
	cable_bt_advertiser_free(&a);
}

static void
test_powered_off_midway(void **state)
{
	struct fixture *f = *state;
	struct rec rs = {0}, ra = {0};
	struct cable_bt_scanner *s = scanner(f, "hci0", 0, &rs);
	struct cable_bt_advertiser *a = advertiser(f, "hci1", advert20, 20, &ra);

	RUN_UNTIL(f, (rs.started && ra.registered) || rs.got_error || ra.got_error, 5000);
	assert_true(rs.started && ra.registered);
	assert_int_equal(fake_call(&f->env, "SetPowered", "sb", "hci0", 0), 0);
	assert_int_equal(fake_call(&f->env, "SetPowered", "sb", "hci1", 0), 0);
	RUN_UNTIL(f, rs.got_error && ra.got_error, 3000);
	assert_int_equal(rs.error, CABLE_ERR_BT_NOT_POWERED);
	assert_int_equal(ra.error, CABLE_ERR_BT_NOT_POWERED);
	/* The advertiser still unregistered on its way out. */
	assert_int_equal(fake_wait_stat(&f->env, "hci1", "Unregistered", 1, 3000), 1);
	cable_bt_scanner_free(&s);
	cable_bt_advertiser_free(&a);
}

static void
test_bluez_restart(void **state)
{
	struct fixture *f = *state;
	struct rec rs = {0}, ra = {0}, r3 = {0};
	struct cable_bt_scanner *s = scanner(f, "hci0", 0, &rs);
	struct cable_bt_advertiser *a = advertiser(f, "hci1", advert20, 20, &ra);

	RUN_UNTIL(f, (rs.started && ra.registered) || rs.got_error || ra.got_error, 5000);
	assert_true(rs.started && ra.registered);
	bus_env_fake_kill(&f->env);
	RUN_UNTIL(f, rs.got_error && ra.got_error, 3000);
	assert_int_equal(rs.error, CABLE_ERR_BT_ADAPTER_GONE);
	assert_int_equal(ra.error, CABLE_ERR_BT_ADAPTER_GONE);
	assert_non_null(strstr(cable_bt_scanner_detail(s), "org.bluez"));
	cable_bt_scanner_free(&s);
	cable_bt_advertiser_free(&a);
	/* A new BlueZ: a new scanner works again. */
	assert_int_equal(bus_env_fake_start(&f->env, NULL), 0);
	s = scanner(f, "hci0", 0, &r3);
	RUN_UNTIL(f, r3.started || r3.got_error, 5000);
	assert_true(r3.started);
	cable_bt_scanner_free(&s);
}

/* The system bus itself goes away. */
static void
test_bus_dies(void **state)
{
	struct fixture *f = *state;
	struct rec rs = {0}, ra = {0};
	struct cable_bt_scanner *s = scanner(f, "hci0", 0, &rs);
	struct cable_bt_advertiser *a = advertiser(f, "hci1", advert20, 20, &ra);

	RUN_UNTIL(f, (rs.started && ra.registered) || rs.got_error || ra.got_error, 5000);
	assert_true(rs.started && ra.registered);
	kill(f->env.bus_pid, SIGKILL);
	RUN_UNTIL(f, rs.got_error && ra.got_error, 3000);
	assert_int_equal(rs.error, CABLE_ERR_BT_BUS);
	assert_int_equal(ra.error, CABLE_ERR_BT_BUS);
	assert_int_equal(cable_loop_poll_nfds(f->lp), 0);
	cable_bt_scanner_free(&s);
	cable_bt_advertiser_free(&a);
}

/* ... also while a call to BlueZ is still waiting for its answer. */
static void
test_bus_dies_during_call(void **state)
{
	struct fixture *f = *state;
	struct rec rs = {0};
	struct cable_bt_scanner *s;

	assert_int_equal(fake_call(&f->env, "SetDelay", "u", 3000), 0);
	s = scanner(f, "hci0", 5000000, &rs);
	run_for(f, 300); /* GetManagedObjects answered, SetDiscoveryFilter held back */
	assert_false(rs.got_error || rs.started);
	kill(f->env.bus_pid, SIGKILL);
	RUN_UNTIL(f, rs.got_error, 3000);
	assert_int_equal(rs.error, CABLE_ERR_BT_BUS);
	cable_bt_scanner_free(&s);
}

static void
test_advertiser_refused(void **state)
{
	struct fixture *f = *state;
	uint8_t d40[40] = {0};

	assert_int_equal(fake_call(&f->env, "FailNext", "ssssu", "hci1", "RegisterAdvertisement",
	    "org.bluez.Error.NotPermitted", "Maximum advertisements reached", 1), 0);
	expect_adv_error(f, "hci1", advert20, 20, CABLE_ERR_BT_ADVERTISE, "Maximum advertisements");
	/* Too long for a legacy advert. */
	expect_adv_error(f, "hci1", d40, sizeof(d40), CABLE_ERR_BT_ADVERTISE, "org.bluez.Error");
	assert_int_equal(fake_stat(&f->env, "hci1", "Registered"), 0);
}

static void
test_advertiser_no_manager(void **state)
{
	struct fixture *f = *state;
	struct rec ra = {0};
	struct cable_bt_advertiser *a;

	expect_adv_error(f, "hci1", advert20, 20, CABLE_ERR_BT_ADVERTISE, "LEAdvertisingManager1");
	/* Without a name, the adapter that can advertise is chosen. */
	a = advertiser(f, NULL, advert20, 20, &ra);
	RUN_UNTIL(f, ra.registered || ra.got_error, 5000);
	assert_true(ra.registered);
	assert_string_equal(ra.adapter, "hci0");
	cable_bt_advertiser_free(&a);
	assert_int_equal(fake_wait_stat(&f->env, "hci0", "Unregistered", 1, 3000), 1);
}

static void
test_bad_arguments(void **state)
{
	struct fixture *f = *state;
	struct rec r = {0};
	uint8_t big[CABLE_BT_PAYLOAD_MAX + 1] = {0};
	struct cable_bt_advertiser *a;

	a = cable_bt_advertiser_new(f->loop, NULL, 0xfff9, big, sizeof(big), &adv_cbs, &r);
	assert_int_equal(cable_bt_advertiser_start(a), CABLE_ERR_LENGTH);
	cable_bt_advertiser_free(&a);
	a = cable_bt_advertiser_new(f->loop, NULL, 0xfff9, NULL, 0, &adv_cbs, &r);
	assert_int_equal(cable_bt_advertiser_start(a), CABLE_ERR_LENGTH);
	cable_bt_advertiser_free(&a);
	assert_null(cable_bt_scanner_new(NULL, NULL, &scan_cbs, &r));
	assert_int_equal(cable_bt_scanner_start(NULL), CABLE_ERR_ARG);
	cable_bt_scanner_free(NULL);
	assert_int_equal(cable_bt_uuid16("0000fff9-0000-1000-8000-00805f9b34fb"), 0xfff9);
	assert_int_equal(cable_bt_uuid16("0000FDE2-0000-1000-8000-00805F9B34FB"), 0xfde2);
	assert_int_equal(cable_bt_uuid16("fff9"), 0xfff9);
	assert_int_equal(cable_bt_uuid16("0000fff9"), 0xfff9);
	assert_int_equal(cable_bt_uuid16("0001fff9-0000-1000-8000-00805f9b34fb"), -1);
	assert_int_equal(cable_bt_uuid16("0000fff9-0000-1000-8000-00805f9b34fc"), -1);
	assert_int_equal(cable_bt_uuid16("fffg"), -1);
	assert_int_equal(cable_bt_uuid16(""), -1);
}

/* Devices BlueZ already has (another client's discovery) come from GetManagedObjects. */
static void
test_existing_devices(void **state)
{
	struct fixture *f = *state;
	struct rec rs = {0};
	struct cable_bt_scanner *s;
	sd_bus_error e = SD_BUS_ERROR_NULL;

	/* Another program discovers on hci0 with a filter but without DuplicateData. */
	assert_true(sd_bus_call_method(f->env.ctl, "org.bluez", "/org/bluez/hci0",
	    "org.bluez.Adapter1", "SetDiscoveryFilter", &e, NULL, "a{sv}", 1, "Transport", "s",
	    "le") >= 0);
	assert_true(sd_bus_call_method(f->env.ctl, "org.bluez", "/org/bluez/hci0",
	    "org.bluez.Adapter1", "StartDiscovery", &e, NULL, NULL) >= 0);
	assert_int_equal(fake_inject(&f->env, "hci0", "11:22:33:44:55:66", -70, "fff9", advert20, 20,
	    false), 0);
	assert_int_equal(fake_wait_stat(&f->env, "hci0", "Devices", 1, 3000), 1);
	/* Our own filter and discovery are held back for 1.5 s. */
	assert_int_equal(fake_call(&f->env, "SetDelay", "u", 1500), 0);
	s = scanner(f, "hci0", 5000000, &rs);
	RUN_UNTIL(f, rs.npayload > 0 || rs.got_error, 1200);
	assert_int_equal(rs.npayload, 1);
	assert_false(rs.started_at_first_payload);
	assert_string_equal(rs.addr[0], "11:22:33:44:55:66");
	assert_int_equal(rs.rssi[0], -70);
	assert_memory_equal(rs.data[0], advert20, 20);
	RUN_UNTIL(f, rs.started || rs.got_error, 5000);
	assert_true(rs.started);
	assert_int_equal(rs.npayload, 1);
	assert_int_equal(fake_call(&f->env, "SetDelay", "u", 0), 0);
	cable_bt_scanner_free(&s);
	sd_bus_error_free(&e);
}

/* Idle scanning costs nothing: no sd-bus timer armed, no wake-ups without traffic. */
static void
test_idle_no_wakeups(void **state)
{
	struct fixture *f = *state;
	struct rec rs = {0};
	struct cable_bt_scanner *s = scanner(f, "hci0", 0, &rs);
	uint64_t w0;

	RUN_UNTIL(f, rs.started || rs.got_error, 5000);
	assert_true(rs.started);
	run_for(f, 100); /* let the last replies settle */
	assert_int_equal(cable_loop_poll_ntimers(f->lp), 0);
	assert_int_equal(cable_loop_poll_nfds(f->lp), 1);
	w0 = cable_loop_poll_wakeups(f->lp);
	/* Other clients come and go on the bus: their NameOwnerChanged must not wake us. */
	for (int i = 0; i < 5; i++) {
		sd_bus *other = NULL;

		assert_true(sd_bus_open_system(&other) >= 0);
		assert_true(sd_bus_call_method(other, "org.freedesktop.DBus", "/org/freedesktop/DBus",
		    "org.freedesktop.DBus", "GetId", NULL, NULL, NULL) >= 0);
		sd_bus_flush_close_unref(other);
	}
	assert_int_equal(cable_loop_poll_run(f->lp, 1000000), CABLE_ERR_TIMEOUT);
	/* One wake-up: the run's own deadline. */
	assert_true(cable_loop_poll_wakeups(f->lp) - w0 <= 1);
	cable_bt_scanner_free(&s);
}

static void
emit_raw(struct fixture *f, const char *address, const char *signal, const char *types, ...)
{
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	va_list ap;

	assert_true(sd_bus_message_new_method_call(f->env.ctl, &m, "org.cablebridge.FakeBluez",
	    "/org/cablebridge/fake", "org.cablebridge.FakeBluez1", "EmitRaw") >= 0);
	assert_true(sd_bus_message_append(m, "sss", "hci0", address, signal) >= 0);
	va_start(ap, types);
	assert_true(sd_bus_message_appendv(m, types, ap) >= 0);
	va_end(ap);
	if (sd_bus_call(f->env.ctl, m, 5000000, &e, &reply) < 0)
		fail_msg("EmitRaw: %s", e.message);
	sd_bus_error_free(&e);
	sd_bus_message_unref(m);
	sd_bus_message_unref(reply);
}

/*
 * Wrongly typed Device1 data (as python-dbusmock's bluez5 template sends, or a broken BlueZ):
 * ignored field by field, never fatal; well-typed parts still count.
 */
static void
test_malformed_properties(void **state)
{
	struct fixture *f = *state;
	struct rec rs = {0};
	struct cable_bt_scanner *s = scanner(f, "hci0", 0, &rs);
	uint8_t other[20];

	memset(other, 0x77, sizeof(other));
	RUN_UNTIL(f, rs.started || rs.got_error, 5000);
	assert_true(rs.started);
	/* ServiceData as aa{sv}, RSSI as i, Address as u. */
	emit_raw(f, "11:22:33:44:55:01", "InterfacesAdded", "a{sv}", 3, "ServiceData", "aa{sv}", 1, 1,
	    "fff9", "s", "x", "RSSI", "i", -5, "Address", "u", 7);
	/* A service-data value that is a string, and one that is a nested variant. */
	emit_raw(f, "11:22:33:44:55:02", "InterfacesAdded", "a{sv}", 1, "ServiceData", "a{sv}", 2,
	    "fff9", "s", "not bytes", "fde2", "v", "ay", 2, 1, 2);
	/* Keys that are not UUIDs at all. */
	emit_raw(f, "11:22:33:44:55:03", "PropertiesChanged", "a{sv}", 1, "ServiceData", "a{sv}", 2,
	    "", "ay", 1, 9, "fff9-not-a-uuid", "ay", 1, 9);
	run_for(f, 300);
	assert_int_equal(rs.npayload, 0);
	assert_false(rs.got_error);
	/* Good ServiceData next to a badly typed RSSI: delivered, RSSI unknown, address from path. */
	emit_raw(f, "11:22:33:44:55:04", "PropertiesChanged", "a{sv}", 2, "RSSI", "u", 3,
	    "ServiceData", "a{sv}", 1, "0000fff9-0000-1000-8000-00805f9b34fb", "ay", 20, 1, 2, 3, 4, 5,
	    6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20);
	RUN_UNTIL(f, rs.npayload > 0, 2000);
	assert_int_equal(rs.npayload, 1);
	assert_int_equal(rs.len[0], 20);
	assert_int_equal(rs.data[0][19], 20);
	assert_int_equal(rs.rssi[0], CABLE_BT_RSSI_UNKNOWN);
	assert_string_equal(rs.addr[0], "11:22:33:44:55:04");
	/* Still scanning normally afterwards. */
	assert_int_equal(fake_inject(&f->env, "hci0", "11:22:33:44:55:05", -55, "fde2", other, 20,
	    false), 0);
	RUN_UNTIL(f, rs.npayload > 1, 2000);
	assert_int_equal(rs.npayload, 2);
	assert_int_equal(rs.rssi[1], -55);
	cable_bt_scanner_free(&s);
	assert_false(rs.got_error);
}

/* Callbacks may free their object; the exit paths still stop discovery and unregister. */
static void
test_free_inside_callbacks(void **state)
{
	struct fixture *f = *state;
	struct rec rs = {0}, ra = {0}, r3 = {0};
	struct cable_bt_scanner *s = NULL, *s3 = NULL;
	struct cable_bt_advertiser *a = NULL, *a2 = NULL;

	s = scanner(f, "hci0", 0, &rs);
	rs.free_scanner_on_payload = &s;
	a = advertiser(f, "hci1", advert20, 20, &ra);
	RUN_UNTIL(f, s == NULL, 5000);
	assert_null(s);
	assert_int_equal(rs.npayload, 1);
	assert_int_equal(fake_wait_stat(&f->env, "hci0", "StopDiscovery", 1, 3000), 1);
	assert_int_equal(fake_stat(&f->env, "hci0", "StopByExit"), 0);
	cable_bt_advertiser_free(&a);
	assert_int_equal(fake_wait_stat(&f->env, "hci1", "Unregistered", 1, 3000), 1);

	memset(&ra, 0, sizeof(ra));
	a2 = advertiser(f, "hci1", advert20, 20, &ra);
	ra.free_adv_on_registered = &a2;
	RUN_UNTIL(f, a2 == NULL, 5000);
	assert_null(a2);
	assert_int_equal(fake_wait_stat(&f->env, "hci1", "Unregistered", 2, 3000), 2);

	s3 = scanner(f, "hci0", 0, &r3);
	r3.free_scanner_on_error = &s3;
	RUN_UNTIL(f, r3.started, 5000);
	assert_int_equal(fake_call(&f->env, "RemoveAdapter", "s", "hci0"), 0);
	RUN_UNTIL(f, s3 == NULL, 3000);
	assert_null(s3);
	assert_int_equal(r3.error, CABLE_ERR_BT_ADAPTER_GONE);
}

/* Freed at once after start, before BlueZ has answered anything. */
static void
test_free_right_after_start(void **state)
{
	struct fixture *f = *state;
	struct rec r = {0};

	for (int i = 0; i < 5; i++) {
		struct cable_bt_scanner *s = scanner(f, NULL, 0, &r);
		struct cable_bt_advertiser *a = advertiser(f, NULL, advert20, 20, &r);

		cable_bt_scanner_free(&s);
		cable_bt_advertiser_free(&a);
	}
	assert_int_equal(cable_loop_poll_nfds(f->lp), 0);
	assert_int_equal(cable_loop_poll_ntimers(f->lp), 0);
	run_for(f, 200);
	assert_false(r.got_error || r.started || r.registered);
	assert_int_equal(fake_stat(&f->env, "hci0", "DiscoveringClients"), 0);
	assert_int_equal(fake_stat(&f->env, "hci0", "ActiveAdvertisements"), 0);
}

/* Nothing leaks across start/stop cycles: fds, bus connections, match rules, fake objects. */
static void
test_no_leaks(void **state)
{
	struct fixture *f = *state;
	int fds0, conns0;
	uint32_t matches0, during = 0;
	uint8_t d[20];

	fds0 = proc_fd_count();
	conns0 = bus_connections(&f->env);
	matches0 = bus_stat(&f->env, "MatchRules");
	assert_true(fds0 > 0 && conns0 > 0 && matches0 != UINT32_MAX);
	for (int i = 0; i < 10; i++) {
		struct rec rs = {0}, ra = {0};
		struct cable_bt_scanner *s = scanner(f, "hci0", 0, &rs);
		struct cable_bt_advertiser *a;

		memcpy(d, advert20, sizeof(d));
		d[0] = (uint8_t)i;
		a = advertiser(f, "hci1", d, sizeof(d), &ra);
		RUN_UNTIL(f, rs.npayload > 0 || rs.got_error || ra.got_error, 5000);
		assert_int_equal(rs.npayload, 1);
		assert_memory_equal(rs.data[0], d, sizeof(d));
		if (i == 0)
			during = bus_stat(&f->env, "MatchRules");
		cable_bt_advertiser_free(&a);
		cable_bt_scanner_free(&s);
	}
	/* Scanner: 5 matches (NameOwnerChanged, InterfacesAdded/Removed, 2 PropertiesChanged); advertiser: 3. */
	assert_int_equal(during, matches0 + 8);
	/*
	 * A scanner may see the payload (through the previous one's discovery) before its own
	 * StartDiscovery went out; then it has nothing to stop. Every started discovery is stopped
	 * by an explicit StopDiscovery, never by the disconnect.
	 */
	{
		/* The other connections' last messages may still be on their way to the fake. */
		uint64_t end = now_ms() + 3000;
		uint32_t start, stop;

		do {
			run_for(f, 20);
			start = fake_stat(&f->env, "hci0", "StartDiscovery");
			stop = fake_stat(&f->env, "hci0", "StopDiscovery");
		} while ((start != stop || start < 9) && now_ms() < end);
		assert_true(start >= 1);
		assert_int_equal(stop, start);
	}
	assert_int_equal(fake_stat(&f->env, "hci0", "DiscoveringClients"), 0);
	assert_int_equal(fake_stat(&f->env, "hci0", "StopByExit"), 0);
	assert_int_equal(fake_wait_stat(&f->env, "hci1", "Unregistered", 10, 3000), 10);
	assert_int_equal(fake_stat(&f->env, "hci1", "AdvertsGoneWithOwner"), 0);
	assert_int_equal(fake_stat(&f->env, "hci0", "Devices"), 0);
	assert_int_equal(fake_stat(&f->env, "hci1", "ActiveAdvertisements"), 0);
	{
		uint64_t end = now_ms() + 3000;

		while (bus_connections(&f->env) != conns0 && now_ms() < end)
			run_for(f, 20);
	}
	assert_int_equal(bus_connections(&f->env), conns0);
	assert_int_equal(bus_stat(&f->env, "MatchRules"), matches0);
	assert_int_equal(proc_fd_count(), fds0);
}

struct pumped {
	bool done;
	sd_bus_message *reply;
};

static int
on_pumped(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct pumped *p = ud;

	p->done = true;
	if (!sd_bus_message_is_method_error(m, NULL))
		p->reply = sd_bus_message_ref(m);
	return 0;
}

/* A call from the test's connection to one of our own objects: the loop must run meanwhile. */
static sd_bus_message *
pumped_call(struct fixture *f, const char *dest, const char *path, const char *iface,
    const char *member, const char *types, const char *arg)
{
	struct pumped p = {0};
	uint64_t end = now_ms() + 5000;

	assert_true(sd_bus_call_method_async(f->env.ctl, NULL, dest, path, iface, member, on_pumped,
	    &p, types, arg) >= 0);
	while (!p.done && now_ms() < end) {
		cable_loop_poll_once(f->lp, 10000);
		while (sd_bus_process(f->env.ctl, NULL) > 0)
			;
	}
	assert_true(p.done);
	assert_non_null(p.reply);
	return p.reply;
}

/* Our unique names on the bus other than the test's own connection. */
static int
our_other_names(struct fixture *f, char names[][64], int max)
{
	char **all = NULL;
	const char *self = NULL;
	int n = 0;

	assert_true(sd_bus_get_unique_name(f->env.ctl, &self) >= 0);
	assert_true(sd_bus_list_names(f->env.ctl, &all, NULL) >= 0);
	for (char **p = all; *p != NULL; p++) {
		sd_bus_message *r = NULL;
		uint32_t pid = 0;

		if ((*p)[0] == ':' && strcmp(*p, self) != 0 &&
		    sd_bus_call_method(f->env.ctl, "org.freedesktop.DBus", "/org/freedesktop/DBus",
		    "org.freedesktop.DBus", "GetConnectionUnixProcessID", NULL, &r, "s", *p) >= 0 &&
		    sd_bus_message_read(r, "u", &pid) > 0 && pid == (uint32_t)getpid() && n < max)
			snprintf(names[n++], 64, "%s", *p);
		sd_bus_message_unref(r);
		free(*p);
	}
	free(all);
	return n;
}

/* The object BlueZ reads back, as advertising-api.txt types it; gone once freed. */
static void
test_advertisement_object(void **state)
{
	struct fixture *f = *state;
	struct rec ra = {0};
	struct cable_bt_advertiser *a = advertiser(f, "hci1", advert20, 20, &ra);
	char names[4][64];
	sd_bus_message *r = NULL;
	const char *xml, *prop, *contents, *str;
	char type;
	int n, seen = 0;

	RUN_UNTIL(f, ra.registered || ra.got_error, 5000);
	assert_true(ra.registered);
	n = our_other_names(f, names, 4);
	assert_int_equal(n, 1);
	/* Exactly one object under /org/cablebridge. */
	r = pumped_call(f, names[0], "/org/cablebridge", "org.freedesktop.DBus.Introspectable",
	    "Introspect", NULL, NULL);
	assert_true(sd_bus_message_read(r, "s", &xml) > 0);
	assert_non_null(strstr(xml, "<node name=\"advertisement0\"/>"));
	assert_null(strstr(strstr(xml, "advertisement0") + 1, "<node name="));
	r = sd_bus_message_unref(r);
	r = pumped_call(f, names[0], "/org/cablebridge/advertisement0",
	    "org.freedesktop.DBus.Properties", "GetAll", "s", "org.bluez.LEAdvertisement1");
	assert_true(sd_bus_message_enter_container(r, 'a', "{sv}") > 0);
	while (sd_bus_message_enter_container(r, 'e', "sv") > 0) {
		assert_true(sd_bus_message_read(r, "s", &prop) > 0);
		assert_true(sd_bus_message_peek_type(r, &type, &contents) > 0);
		if (!strcmp(prop, "Type")) {
			assert_string_equal(contents, "s");
			assert_true(sd_bus_message_read(r, "v", "s", &str) > 0);
			assert_string_equal(str, "broadcast");
			seen |= 1;
		} else if (!strcmp(prop, "ServiceUUIDs")) {
			assert_string_equal(contents, "as");
			assert_true(sd_bus_message_read(r, "v", "as", 1, &str) > 0);
			assert_string_equal(str, "0000fff9-0000-1000-8000-00805f9b34fb");
			seen |= 2;
		} else if (!strcmp(prop, "ServiceData")) {
			const void *p;
			size_t len;

			assert_string_equal(contents, "a{sv}");
			assert_true(sd_bus_message_enter_container(r, 'v', "a{sv}") > 0);
			assert_true(sd_bus_message_enter_container(r, 'a', "{sv}") > 0);
			assert_true(sd_bus_message_enter_container(r, 'e', "sv") > 0);
			assert_true(sd_bus_message_read(r, "s", &str) > 0);
			assert_string_equal(str, "0000fff9-0000-1000-8000-00805f9b34fb");
			assert_true(sd_bus_message_enter_container(r, 'v', "ay") > 0);
			assert_true(sd_bus_message_read_array(r, 'y', &p, &len) > 0);
			assert_int_equal(len, 20);
			assert_memory_equal(p, advert20, 20);
			assert_true(sd_bus_message_exit_container(r) >= 0);
			assert_true(sd_bus_message_exit_container(r) >= 0);
			/* exactly one entry */
			assert_int_equal(sd_bus_message_enter_container(r, 'e', "sv"), 0);
			assert_true(sd_bus_message_exit_container(r) >= 0);
			assert_true(sd_bus_message_exit_container(r) >= 0);
			seen |= 4;
		} else if (!strcmp(prop, "MinInterval") || !strcmp(prop, "MaxInterval")) {
			uint32_t v;

			assert_string_equal(contents, "u");
			assert_true(sd_bus_message_read(r, "v", "u", &v) > 0);
			assert_int_equal(v, 100);
			seen |= prop[1] == 'i' ? 8 : 16;
		} else
			fail_msg("unexpected advertisement property %s", prop);
		assert_true(sd_bus_message_exit_container(r) >= 0);
	}
	assert_int_equal(seen, 31);
	sd_bus_message_unref(r);
	cable_bt_advertiser_free(&a);
	assert_int_equal(our_other_names(f, names, 4), 0);
}

static void
test_readiness(void **state)
{
	struct fixture *f = *state;
	struct cable_bt_readiness rd;
	struct cable_bt_opts o = {.adapter = "hci1"};

	assert_int_equal(cable_bt_check(NULL, &rd), 0);
	assert_int_equal(rd.bus, 0);
	assert_int_equal(rd.bluez, 0);
	assert_int_equal(rd.adapter, 0);
	assert_int_equal(rd.discovery, 0);
	assert_int_equal(rd.advertising, 0);
	assert_int_equal(rd.adapters, 2);
	assert_string_equal(rd.adapter_name, "hci0");
	assert_string_equal(rd.adapter_address, "00:AA:BB:CC:00:00");
	assert_string_equal(rd.detail, "");
	/* It tried discovery for real and stopped it again. */
	assert_int_equal(fake_stat(&f->env, "hci0", "StartDiscovery"), 1);
	assert_int_equal(fake_stat(&f->env, "hci0", "StopDiscovery"), 1);
	assert_int_equal(cable_bt_check(&o, &rd), 0);
	assert_string_equal(rd.adapter_name, "hci1");
}

static void
test_readiness_no_adv_manager(void **state)
{
	struct cable_bt_readiness rd;
	struct cable_bt_opts o = {.adapter = "hci1"};

	(void)state;
	assert_int_equal(cable_bt_check(&o, &rd), 0);
	assert_int_equal(rd.advertising, CABLE_ERR_UNSUPPORTED);
}

static void
lws_deadline(void *arg)
{
	struct cable_loop *loop = arg;

	loop->ops->quit(loop, CABLE_ERR_TIMEOUT);
}

/* The same exchange in the production loop: sd-bus fd adopted by lws, timeouts as lws timers. */
static void
test_lws_loop(void **state)
{
	struct fixture *f = *state;
	int fds0 = proc_fd_count();
	struct cable_loop *loop = cable_loop_lws_new(NULL);
	struct cable_loop_timer *deadline = NULL;
	struct rec rs = {0}, ra = {0};
	struct cable_bt_opts o0 = {.adapter = "hci0"}, o1 = {.adapter = "hci1"};
	struct cable_bt_scanner *s;
	struct cable_bt_advertiser *a;

	assert_non_null(loop);
	rs.loop = ra.loop = loop;
	rs.quit_on_payload = true;
	s = cable_bt_scanner_new(loop, &o0, &scan_cbs, &rs);
	a = cable_bt_advertiser_new(loop, &o1, CABLE_BT_UUID_GOOGLE, advert20, 20, &adv_cbs, &ra);
	assert_int_equal(cable_bt_scanner_start(s), 0);
	assert_int_equal(cable_bt_advertiser_start(a), 0);
	assert_int_equal(loop->ops->timer_add(loop, 5000000, lws_deadline, loop, &deadline), 0);
	assert_int_equal(cable_loop_lws_run(loop), 7);
	loop->ops->timer_del(&deadline);
	assert_true(rs.started);
	assert_true(ra.registered);
	assert_int_equal(rs.npayload, 1);
	assert_int_equal(rs.uuid[0], CABLE_BT_UUID_GOOGLE);
	assert_memory_equal(rs.data[0], advert20, 20);
	cable_bt_advertiser_free(&a);
	cable_bt_scanner_free(&s);
	assert_int_equal(fake_wait_stat(&f->env, "hci1", "Unregistered", 1, 3000), 1);
	assert_int_equal(fake_wait_stat(&f->env, "hci0", "StopDiscovery", 1, 3000), 1);
	cable_loop_lws_free(&loop);
	assert_int_equal(proc_fd_count(), fds0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_advert_reaches_scanner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_and_wrong_length, setup, teardown),
		cmocka_unit_test(test_no_bus),
		cmocka_unit_test_setup_teardown(test_no_bluez, setup_no_fake, teardown),
		cmocka_unit_test_setup_teardown(test_no_adapter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_powered, setup_unpowered, teardown),
		cmocka_unit_test_setup_teardown(test_permission_denied, setup_denied, teardown),
		cmocka_unit_test_setup_teardown(test_discovery_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delay_and_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_adapter_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_powered_off_midway, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bluez_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bus_dies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bus_dies_during_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_advertiser_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_advertiser_no_manager, setup_no_adv_manager,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_existing_devices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_no_wakeups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_properties, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_inside_callbacks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_right_after_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_leaks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_advertisement_object, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readiness, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lws_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readiness_no_adv_manager, setup_no_adv_manager,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

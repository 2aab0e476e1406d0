/* Test support: a private dbus-daemon as the "system bus" and the fake BlueZ on it, from C. */
#ifndef CABLE_TEST_BUS_ENV_H
#define CABLE_TEST_BUS_ENV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-bus.h>

struct bus_env {
	char dir[64];
	char address[128];
	pid_t bus_pid;
	pid_t fake_pid;
	sd_bus *ctl; /* the test's own connection, for the control interface and bus stats */
};

/*
 * Starts dbus-daemon with an allow-all policy plus extra_policy (XML inside <busconfig>, may be
 * NULL) and points DBUS_SYSTEM_BUS_ADDRESS at it. Returns 0 or -1 (message on stderr).
 */
int bus_env_start(struct bus_env *e, const char *extra_policy);
/* Starts build/tests/fake-bluez with args (NULL-terminated, may be NULL); waits until ready. */
int bus_env_fake_start(struct bus_env *e, const char *const *args);
/* SIGTERM to the fake and wait; its exit status (0 = clean exit, no sanitizer report). */
int bus_env_fake_stop(struct bus_env *e);
/* SIGKILL to the fake (BlueZ crashing), and wait. */
void bus_env_fake_kill(struct bus_env *e);
/* Stops everything, removes the directory. */
void bus_env_stop(struct bus_env *e);

/* Calls a method of org.cablebridge.FakeBluez1; returns 0 or a negative errno. */
int fake_call(struct bus_env *e, const char *method, const char *types, ...);
/* One GetStats counter of an adapter; UINT32_MAX on error. */
uint32_t fake_stat(struct bus_env *e, const char *adapter, const char *key);
/* One value of org.freedesktop.DBus.Debug.Stats.GetStats (bus-wide); UINT32_MAX on error. */
uint32_t bus_stat(struct bus_env *e, const char *key);
/* Number of unique names (connections) on the bus, or -1. */
int bus_connections(struct bus_env *e);
/* Number of open fds of this process. */
int proc_fd_count(void);
/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t now_ms(void);

/* InjectAdvert with one service-data entry (uuid any string the fake accepts). */
int fake_inject(struct bus_env *e, const char *adapter, const char *address, int16_t rssi,
    const char *uuid, const uint8_t *data, size_t len, bool discoverable);
/* Waits (up to ms) until fake_stat(adapter, key) == want; returns the last value seen. */
uint32_t fake_wait_stat(struct bus_env *e, const char *adapter, const char *key, uint32_t want,
    unsigned ms);

#endif

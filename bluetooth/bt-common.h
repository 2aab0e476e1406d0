/* Private to bluetooth/: one sd-bus connection in the caller's loop, adapter choice, error mapping. */
#ifndef CABLE_BT_COMMON_H
#define CABLE_BT_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#include "cable/bluetooth.h"
#include "cable/bus-loop.h"
#include "cable/loop.h"

#define BT_SERVICE "org.bluez"
#define BT_ADAPTER_IFACE "org.bluez.Adapter1"
#define BT_DEVICE_IFACE "org.bluez.Device1"
#define BT_ADV_MANAGER_IFACE "org.bluez.LEAdvertisingManager1"
#define BT_ADV_IFACE "org.bluez.LEAdvertisement1"
#define BT_MAX_ADAPTERS 16
/* Longest wait for BlueZ to acknowledge StopDiscovery/UnregisterAdvertisement on the way out. */
#define BT_RELEASE_TIMEOUT_USEC (1000u * 1000u)

enum bt_state { BT_NEW, BT_STARTING, BT_RUNNING, BT_STOPPED };

struct bt_base;
struct bt_base_ops {
	/* Owner-specific teardown of BlueZ state (StopDiscovery, UnregisterAdvertisement). */
	void (*release)(struct bt_base *b);
	/* Reports the error to the user; may end up freeing the owner. */
	void (*report)(struct bt_base *b, int code);
	/* Frees the owner (called once, never from inside sd_bus_process). */
	void (*destroy)(struct bt_base *b);
};

struct bt_base {
	const struct bt_base_ops *ops;
	struct cable_loop *loop;
	sd_bus *bus;
	struct cable_bus_loop *bl; /* the bus in the loop (include/cable/bus-loop.h) */
	bool dead;         /* free requested while dispatching */
	bool closing;      /* connection to be closed once dispatch returns */
	enum bt_state state;
	uint64_t timeout_usec;
	char adapter_req[16];
	char adapter_path[64];
	char adapter_name[16];
	char detail[256];
};

struct bt_adapter_info {
	char path[64];
	char name[16];
	char address[18];
	int index;
	bool powered;
	bool adv_manager;
};

/* Copies opts, sets defaults. */
void bt_base_init(struct bt_base *b, const struct bt_base_ops *ops, struct cable_loop *loop,
    const struct cable_bt_opts *opts);
/* Opens the system bus, adopts its fd and installs the BlueZ lifetime watches. */
int bt_base_open(struct bt_base *b);
/* Re-arms fd events and the sd-bus timeout; call after sending anything outside a callback. */
void bt_base_rearm(struct bt_base *b);
/* Error path: release BlueZ state, leave the loop, report once. */
void bt_base_fail(struct bt_base *b, int code);
/* Flushes and closes the connection now, or after the current dispatch. */
void bt_base_close(struct bt_base *b);
/* The owner's free(): destroys now, or once the current dispatch returns. */
void bt_base_free(struct bt_base *b);
bool bt_base_active(const struct bt_base *b);

/* Async method call on org.bluez with the base's timeout. */
int bt_call(struct bt_base *b, const char *path, const char *iface, const char *member,
    sd_bus_message_handler_t cb, void *ud, const char *types, ...);
/* Exit-path call: waits (bounded by BT_RELEASE_TIMEOUT_USEC) for the reply, ignores errors. */
int bt_send(struct bt_base *b, const char *path, const char *iface, const char *member,
    const char *types, ...);

/* Maps a D-Bus error to CABLE_ERR_*; keeps "name: message" in b->detail. */
int bt_map_error(struct bt_base *b, const sd_bus_error *e, int fallback);
/* Explain a StartDiscovery refused with InProgress in the detail (how to clear it). */
void bt_hint_busy_discovery(struct bt_base *b);
void bt_set_detail(struct bt_base *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Reads the adapters out of a GetManagedObjects reply (rewinds it first) and picks one: the
 * requested name, else the first powered one (lowest index). need_adv: must offer
 * LEAdvertisingManager1. Sets b->adapter_path/name. Returns 0 or NO_ADAPTER/NOT_POWERED/...
 */
int bt_choose_adapter(struct bt_base *b, sd_bus_message *reply, bool need_adv,
    struct bt_adapter_info *chosen, unsigned *n_adapters);

/* Library debug log (CABLE_DEBUG set in the environment). */
void bt_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

/*
 * BLE scanning (desktop) and advertising (phone) through BlueZ's D-Bus API on the system bus.
 * Both objects live in the caller's one event loop (struct cable_loop): the sd-bus fd is watched
 * through fd_add and sd-bus timeouts through timer_add; there is no thread and no polling timer.
 */
#ifndef CABLE_BLUETOOTH_H
#define CABLE_BLUETOOTH_H

#include <stddef.h>
#include <stdint.h>

#include "cable/loop.h"

#define CABLE_BT_UUID_FIDO 0xfff9u   /* FIDO caBLE, what current phones send */
#define CABLE_BT_UUID_GOOGLE 0xfde2u /* Google caBLE, older phones */
/* Largest service data handed on or advertised; longer payloads are dropped (debug log). */
#define CABLE_BT_PAYLOAD_MAX 255u
/* RSSI value meaning "not reported" (the HCI "invalid" value). */
#define CABLE_BT_RSSI_UNKNOWN 127
/* Default time allowed for each BlueZ method call. */
#define CABLE_BT_DEFAULT_TIMEOUT_USEC (10u * 1000000u)

struct cable_bt_scanner;
struct cable_bt_advertiser;

struct cable_bt_scanner_cbs {
	/*
	 * Service data under fff9 or fde2, any length up to CABLE_BT_PAYLOAD_MAX; identical
	 * (uuid, bytes) pairs are delivered once per scanner. address is "AA:BB:CC:DD:EE:FF";
	 * rssi in dBm or CABLE_BT_RSSI_UNKNOWN. May free the scanner.
	 */
	void (*payload)(void *arg, uint16_t uuid16, const uint8_t *data, size_t len,
	    const char *address, int rssi);
	/* Discovery runs on this adapter ("hci0"). Optional. May free the scanner. */
	void (*started)(void *arg, const char *adapter);
	/*
	 * The scanner stopped for good (CABLE_ERR_BT_*, CABLE_ERR_TIMEOUT); it has already
	 * released discovery and left the loop. Called at most once. May free the scanner.
	 */
	void (*error)(void *arg, int code);
};

struct cable_bt_advertiser_cbs {
	/* BlueZ accepted the advertisement on this adapter. Optional. May free the advertiser. */
	void (*registered)(void *arg, const char *adapter);
	/* Advertising ended for good (BlueZ refused, released it, or went away). At most once. */
	void (*error)(void *arg, int code);
};

struct cable_bt_opts {
	const char *adapter;   /* "hciN"; NULL = the first powered adapter (lowest N) */
	uint64_t timeout_usec; /* per method call; 0 = CABLE_BT_DEFAULT_TIMEOUT_USEC */
};

/* Scanner. new: NULL on OOM; opts may be NULL (copied). */
struct cable_bt_scanner *cable_bt_scanner_new(struct cable_loop *loop,
    const struct cable_bt_opts *opts, const struct cable_bt_scanner_cbs *cbs, void *arg);
/*
 * Connects to the system bus and starts the asynchronous start-up (adapter choice, filter,
 * StartDiscovery). Returns 0 or CABLE_ERR_BT_BUS at once; later failures go to cbs->error.
 */
int cable_bt_scanner_start(struct cable_bt_scanner *s);
/*
 * Stops discovery, leaves the loop, frees; safe inside callbacks. It waits for BlueZ to answer
 * StopDiscovery (at most 1 s, at once if BlueZ is gone): dbus-daemon may drop a message that
 * arrives together with the sender's hang-up.
 */
void cable_bt_scanner_free(struct cable_bt_scanner **s);
/* "org.bluez.Error.InProgress: Operation already in progress" for the last failure, or "". */
const char *cable_bt_scanner_detail(const struct cable_bt_scanner *s);

/* Advertiser: service data (1..CABLE_BT_PAYLOAD_MAX bytes) under uuid16, as a broadcast advert. */
struct cable_bt_advertiser *cable_bt_advertiser_new(struct cable_loop *loop,
    const struct cable_bt_opts *opts, uint16_t uuid16, const uint8_t *data, size_t len,
    const struct cable_bt_advertiser_cbs *cbs, void *arg);
/* Exports the LEAdvertisement1 object and registers it (asynchronously). 0 or an error at once. */
int cable_bt_advertiser_start(struct cable_bt_advertiser *a);
/* Unregisters (waiting as cable_bt_scanner_free does), unexports, leaves the loop, frees. */
void cable_bt_advertiser_free(struct cable_bt_advertiser **a);
const char *cable_bt_advertiser_detail(const struct cable_bt_advertiser *a);

/* What `cablectl doctor` prints. Each field is 0 or the CABLE_ERR_* that failed. */
struct cable_bt_readiness {
	int bus;         /* the system bus can be reached */
	int bluez;       /* org.bluez answers GetManagedObjects */
	int adapter;     /* the chosen adapter exists and is powered */
	int discovery;   /* SetDiscoveryFilter + StartDiscovery succeed (then StopDiscovery) */
	int advertising; /* the adapter offers LEAdvertisingManager1 (CABLE_ERR_UNSUPPORTED if not) */
	unsigned adapters;       /* number of adapters seen */
	char adapter_name[16];   /* "hci0" when one was chosen */
	char adapter_address[18];
	char detail[256];        /* D-Bus error of the first failure, or "" */
};
/*
 * Runs the checks with blocking calls (each bounded by opts->timeout_usec); meant for one-shot
 * diagnostics before the event loop runs. Returns 0 when all pass, else the first failure.
 */
int cable_bt_check(const struct cable_bt_opts *opts, struct cable_bt_readiness *out);

/* "0000fff9-0000-1000-8000-00805f9b34fb", "fff9", "0000FFF9" -> 0xfff9; -1 if not a 16-bit UUID. */
int cable_bt_uuid16(const char *uuid);

#endif

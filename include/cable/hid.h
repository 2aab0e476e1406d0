/* The virtual FIDO HID key: a CTAPHID machine bound to a report transport (uhid or a socket) and the loop. */
#ifndef CABLE_HID_H
#define CABLE_HID_H

#include <stddef.h>
#include <stdint.h>

#include "cable/ctaphid.h"
#include "cable/loop.h"

#define CABLE_HID_REPORT_SIZE 64

/* A transport hands every 64-byte report a client wrote to this callback. */
typedef void (*cable_hid_report_cb)(void *arg, const uint8_t report[CABLE_HID_REPORT_SIZE]);
/* A transport's way to send one 64-byte report to the client(s); 0 or a negative error. */
typedef int (*cable_hid_send_fn)(void *transport, const uint8_t report[CABLE_HID_REPORT_SIZE]);

/* What a transport reports about its device besides reports. */
enum cable_hid_state {
	CABLE_HID_STATE_STARTED = 1, /* the kernel made the hidraw node (uhid START) */
	CABLE_HID_STATE_STOPPED,     /* the kernel removed it (uhid STOP) */
	CABLE_HID_STATE_OPENED,      /* the first client opened the device */
	CABLE_HID_STATE_CLOSED,      /* the last client closed it */
	CABLE_HID_STATE_FAILED,      /* the transport's fd failed; it stopped watching it */
};
typedef void (*cable_hid_state_cb)(void *arg, enum cable_hid_state state);

/*
 * The key: feeds reports to the CTAPHID machine, sends what it queues, keeps the machine's timer
 * armed in the loop. Requests reach cfg->on_event; answer them with cable_hid_key_respond.
 */
struct cable_hid_key;

/* NULL on OOM or an invalid cfg. The transport is attached afterwards (it needs the key first). */
struct cable_hid_key *cable_hid_key_new(struct cable_loop *loop, const struct cable_ctaphid_config *cfg);
void cable_hid_key_attach(struct cable_hid_key *k, cable_hid_send_fn send, void *transport);
/* The cable_hid_report_cb to give the transport (arg = the key). */
void cable_hid_key_input(void *key, const uint8_t report[CABLE_HID_REPORT_SIZE]);
int cable_hid_key_respond(struct cable_hid_key *k, uint64_t request, const uint8_t *data, size_t len);
int cable_hid_key_set_status(struct cable_hid_key *k, uint64_t request, uint8_t status);
/* Drops channels and transactions (the device was recreated or its last user left). */
void cable_hid_key_reset(struct cable_hid_key *k);
struct cable_ctaphid *cable_hid_key_ctaphid(struct cable_hid_key *k);
void cable_hid_key_free(struct cable_hid_key **k);

/*
 * The socket transport: the same device as a listening Unix SOCK_SEQPACKET socket at path, one
 * report per packet (64 bytes, or 65 with a leading report ID 0 as hidraw takes them). Like hidraw,
 * every report sent goes to every connected client. For tests and for clients without /dev/uhid.
 */
struct cable_hid_socket;

#define CABLE_HID_SOCKET_MAX_CLIENTS 16

int cable_hid_socket_new(struct cable_loop *loop, const char *path, cable_hid_report_cb cb,
    void *arg, struct cable_hid_socket **out);
/*
 * Sends to every client. Reports a client's socket cannot take yet are queued in order (up to
 * 4096 per client, on top of the socket buffer); a client that falls further behind, or whose
 * socket fails, is disconnected rather than handed a message with holes.
 */
int cable_hid_socket_send(void *sock, const uint8_t report[CABLE_HID_REPORT_SIZE]);
size_t cable_hid_socket_clients(const struct cable_hid_socket *s);
/* Closes every connection and the listener, unlinks path; accepts NULL and sets *s to NULL. */
void cable_hid_socket_free(struct cable_hid_socket **s);

/*
 * A transport chosen by a spec string, attached to a key:
 *   "uhid"         opens /dev/uhid (needs permission on it)
 *   "uhid:PATH"    opens another uhid node
 *   "uhid-fd:N"    uses inherited fd N (a privileged helper opened /dev/uhid)
 *   "socket:PATH"  the SOCK_SEQPACKET socket transport
 * info (for uhid; NULL = our defaults) names the device. Device state changes (uhid START/STOP,
 * OPEN/CLOSE, a failed fd) reach state_cb; on STOP the key's channels are reset first.
 */
struct cable_uhid_info;
struct cable_hid_transport;

int cable_hid_transport_open(struct cable_loop *loop, const char *spec, struct cable_hid_key *key,
    const struct cable_uhid_info *info, cable_hid_state_cb state_cb, void *state_arg,
    struct cable_hid_transport **out);
void cable_hid_transport_free(struct cable_hid_transport **t);

#endif

/* CTAPHID, the FIDO HID framing, as a sans-I/O state machine: reports in, reports and events out. */
#ifndef CABLE_CTAPHID_H
#define CABLE_CTAPHID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every report is 64 bytes in both directions (no report ID). */
#define CABLE_CTAPHID_REPORT_SIZE 64
/* One initialization packet (57 data bytes) plus 128 continuation packets (59 each). */
#define CABLE_CTAPHID_MAX_MESSAGE 7609
#define CABLE_CTAPHID_INIT_DATA 57
#define CABLE_CTAPHID_CONT_DATA 59
#define CABLE_CTAPHID_BROADCAST_CID 0xffffffffu
/* Upper bound of cable_ctaphid_config.max_channels. */
#define CABLE_CTAPHID_MAX_CHANNELS 256

/* Command codes (without the 0x80 bit that marks an initialization packet). */
enum cable_ctaphid_cmd {
	CABLE_CTAPHID_PING = 0x01,
	CABLE_CTAPHID_MSG = 0x03,
	CABLE_CTAPHID_LOCK = 0x04,
	CABLE_CTAPHID_INIT = 0x06,
	CABLE_CTAPHID_WINK = 0x08,
	CABLE_CTAPHID_CBOR = 0x10,
	CABLE_CTAPHID_CANCEL = 0x11,
	CABLE_CTAPHID_KEEPALIVE = 0x3b,
	CABLE_CTAPHID_ERROR = 0x3f,
};

/* Payload byte of a CTAPHID_ERROR message. */
enum cable_ctaphid_errcode {
	CABLE_CTAPHID_ERR_INVALID_CMD = 0x01,
	CABLE_CTAPHID_ERR_INVALID_PAR = 0x02,
	CABLE_CTAPHID_ERR_INVALID_LEN = 0x03,
	CABLE_CTAPHID_ERR_INVALID_SEQ = 0x04,
	CABLE_CTAPHID_ERR_MSG_TIMEOUT = 0x05,
	CABLE_CTAPHID_ERR_CHANNEL_BUSY = 0x06,
	CABLE_CTAPHID_ERR_LOCK_REQUIRED = 0x0a,
	CABLE_CTAPHID_ERR_INVALID_CHANNEL = 0x0b,
	CABLE_CTAPHID_ERR_OTHER = 0x7f,
};

/* Capability bits of the INIT response. */
enum cable_ctaphid_cap {
	CABLE_CTAPHID_CAP_WINK = 0x01,
	CABLE_CTAPHID_CAP_LOCK = 0x02,
	CABLE_CTAPHID_CAP_CBOR = 0x04,
	CABLE_CTAPHID_CAP_NMSG = 0x08,
};

/* KEEPALIVE status bytes. */
#define CABLE_CTAPHID_STATUS_PROCESSING 0x01
#define CABLE_CTAPHID_STATUS_UPNEEDED 0x02

/* CTAP2 status sent on CTAPHID_CBOR when a request ends without an answer from above. */
#define CABLE_CTAPHID_CTAP2_KEEPALIVE_CANCEL 0x2d
#define CABLE_CTAPHID_CTAP2_USER_ACTION_TIMEOUT 0x2f

enum cable_ctaphid_event_type {
	/*
	 * A complete CBOR request (or MSG, only when NMSG is not advertised). Answer it once with
	 * cable_ctaphid_respond(); until then the machine sends KEEPALIVE on its own.
	 */
	CABLE_CTAPHID_EVENT_REQUEST = 1,
	/* The client cancelled the request; the machine has already answered it with 0x2D. */
	CABLE_CTAPHID_EVENT_CANCEL,
	/*
	 * The request ended without an answer from above: the client resynchronised its channel
	 * with INIT (reason CABLE_ERR_STATE) or request_timeout_usec passed (reason
	 * CABLE_ERR_TIMEOUT; the machine answered 0x2F).
	 */
	CABLE_CTAPHID_EVENT_ABORT,
	/* The client asked the device to identify itself (only when CAP_WINK is advertised). */
	CABLE_CTAPHID_EVENT_WINK,
};

struct cable_ctaphid_event {
	enum cable_ctaphid_event_type type;
	uint32_t cid;
	/* Identifies the request (REQUEST, CANCEL, ABORT); never 0 for those. */
	uint64_t request;
	/* REQUEST: CABLE_CTAPHID_CBOR or CABLE_CTAPHID_MSG. */
	uint8_t cmd;
	/* REQUEST: the whole message (CTAP2 command byte first); valid during the callback only. */
	const uint8_t *data;
	size_t len;
	/* ABORT: CABLE_ERR_STATE (resync) or CABLE_ERR_TIMEOUT. */
	int reason;
};

typedef void (*cable_ctaphid_event_cb)(void *arg, const struct cable_ctaphid_event *ev);

struct cable_ctaphid_config {
	/* The INIT response's device version and capabilities (CABLE_CTAPHID_CAP_*, CBOR required). */
	uint8_t version_major, version_minor, version_build;
	uint8_t capabilities;
	/*
	 * The first channel ID handed out; later ones count up, skipping 0 and the broadcast ID.
	 * A program may pick it at random so that a restarted daemon does not reuse its old CIDs.
	 */
	uint32_t first_cid;
	/* Channels remembered (2..CABLE_CTAPHID_MAX_CHANNELS); the least recently used idle one goes. */
	size_t max_channels;
	/* Largest request accepted (BCNT), at most CABLE_CTAPHID_MAX_MESSAGE; larger gets INVALID_LEN. */
	size_t max_message;
	/* Longest gap between two packets of one message before MSG_TIMEOUT. */
	uint64_t packet_timeout_usec;
	/* KEEPALIVE interval while a request is pending. */
	uint64_t keepalive_usec;
	/* Longest a request may stay unanswered before the machine ends it (0 = no limit). */
	uint64_t request_timeout_usec;
	/* Receives events; it may call cable_ctaphid_respond/set_status, never feed or tick. */
	cable_ctaphid_event_cb on_event;
	void *arg;
};

struct cable_ctaphid;

/*
 * Defaults: version 0.1.0, capabilities WINK|CBOR|NMSG, first CID 1, 32 channels, 7609-byte
 * messages, 1 s packet timeout, 100 ms keepalive, 300 s request timeout, no callback.
 */
void cable_ctaphid_config_default(struct cable_ctaphid_config *cfg);

/* NULL on OOM or when cfg is out of range (see the fields above). */
struct cable_ctaphid *cable_ctaphid_new(const struct cable_ctaphid_config *cfg);
void cable_ctaphid_free(struct cable_ctaphid **h);

/*
 * Takes one 64-byte report from a client at time now (any monotonic microsecond clock). A
 * malformed or unexpected report is answered with the matching CTAPHID error (or dropped, where
 * the protocol says so) and still returns 0; negative only for misuse (length, re-entry).
 */
int cable_ctaphid_feed(struct cable_ctaphid *h, uint64_t now, const uint8_t *report, size_t len);

/* Runs the timers due at now (assembly timeout, keepalives, request timeout). */
int cable_ctaphid_tick(struct cable_ctaphid *h, uint64_t now);

/* When the next tick is needed; false when nothing is pending. */
bool cable_ctaphid_deadline(const struct cable_ctaphid *h, uint64_t *when);

/*
 * Answers the pending request (data = CTAP2 status byte ‖ CBOR for CBOR requests, 1..7609
 * bytes). CABLE_ERR_STATE when that request is no longer pending (cancelled, aborted, answered).
 */
int cable_ctaphid_respond(struct cable_ctaphid *h, uint64_t request, const uint8_t *data,
    size_t len);

/*
 * Sets the KEEPALIVE status of the pending request (CABLE_CTAPHID_STATUS_*). A change is sent at
 * once, then repeated every keepalive_usec from now.
 */
int cable_ctaphid_set_status(struct cable_ctaphid *h, uint64_t now, uint64_t request,
    uint8_t status);

/*
 * Copies the next report to send to out: 1 if there was one, 0 if the queue is empty. Drain it
 * after every call above; messages are queued whole, so reports of two messages never
 * interleave.
 */
int cable_ctaphid_pop(struct cable_ctaphid *h, uint8_t out[CABLE_CTAPHID_REPORT_SIZE]);

/*
 * Forgets every channel, transaction and queued report (e.g. when the device is recreated); a
 * pending request is reported as ABORT with reason CABLE_ERR_CANCELLED.
 */
void cable_ctaphid_reset(struct cable_ctaphid *h);

/* Counters for tests and debugging. */
struct cable_ctaphid_stats {
	uint64_t reports_in, reports_out, errors_sent, dropped_in, dropped_out, channels_evicted;
};
void cable_ctaphid_get_stats(const struct cable_ctaphid *h, struct cable_ctaphid_stats *st);

#endif

/*
 * The initiator ("desktop") side of one QR-initiated hybrid session (layer 3): QR key -> FIDO:/
 * URL -> BLE scan with trial decryption of every advert -> /cable/connect tunnel -> KNpsk0
 * initiator -> post-handshake message (revision 1 or 0) -> one CTAP request -> the answer ->
 * shutdown -> close. It takes CTAP request bytes (command || canonical CBOR) and gives back the
 * CTAP response bytes (status || CBOR); what the request means is the caller's business
 * (cablectl create/get, cable-bridged). It sees the world only through struct cable_session_io.
 */
#ifndef CABLE_INITIATOR_H
#define CABLE_INITIATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cable/env.h"
#include "cable/messages.h"
#include "cable/session-io.h"

/* Where a session is (and, in the final event, where it ended). */
enum cable_initiator_stage {
	CABLE_INITIATOR_STAGE_IDLE = 0,      /* not started */
	CABLE_INITIATOR_STAGE_SCAN,          /* QR shown, scanning for the phone's advert */
	CABLE_INITIATOR_STAGE_CONNECT,       /* advert matched: tunnel opening, handshake under way */
	CABLE_INITIATOR_STAGE_POST_HANDSHAKE, /* handshake done, waiting for the phone's first message */
	CABLE_INITIATOR_STAGE_RESPONSE,      /* request sent, waiting for the answer (the person) */
	CABLE_INITIATOR_STAGE_AFTER,         /* answered; shutdown sent, waiting for the phone to close */
	CABLE_INITIATOR_STAGE_CLOSING,       /* closing the tunnel ourselves (error or cancel) */
	CABLE_INITIATOR_STAGE_DONE,
};
/* "scan", "connect", "post-handshake", "response", ... */
const char *cable_initiator_stage_name(enum cable_initiator_stage stage);

enum cable_initiator_event_type {
	CABLE_INITIATOR_EV_QR = 1,      /* url: show it now (delivered from inside start) */
	CABLE_INITIATOR_EV_PHONE_FOUND, /* an advert decrypted: uuid16, domain_id, address, rssi */
	CABLE_INITIATOR_EV_CONNECTED,   /* tunnel open and handshake done */
	CABLE_INITIATOR_EV_WAITING,     /* request sent: the person confirms on the phone; revision */
	CABLE_INITIATOR_EV_RESPONSE,    /* the answer arrived (response, response_len); closing follows */
	/* Exactly one of these three ends every started session; it is the last event. */
	CABLE_INITIATOR_EV_DONE,        /* answered and closed (error 0) */
	CABLE_INITIATOR_EV_FAILED,      /* error (a CABLE_ERR_*), stage where it happened */
	CABLE_INITIATOR_EV_CANCELLED,   /* cable_initiator_cancel; stage where it was cancelled */
};

struct cable_initiator_event {
	enum cable_initiator_event_type type;
	const char *url;           /* QR */
	uint16_t uuid16;           /* PHONE_FOUND: fff9 or fde2 */
	uint16_t domain_id;        /* PHONE_FOUND: the tunnel server the phone chose */
	const char *address;       /* PHONE_FOUND: Bluetooth address (may be NULL) */
	int rssi;                  /* PHONE_FOUND */
	int revision;              /* WAITING: post-handshake revision (1 or 0) */
	const uint8_t *response;   /* RESPONSE: status || CBOR (owned by the session) */
	size_t response_len;
	int error;                 /* FAILED: what went wrong; DONE: 0; CANCELLED: CABLE_ERR_CANCELLED */
	enum cable_initiator_stage stage; /* FAILED/CANCELLED: the stage it ended in */
};

/*
 * Called on the loop. Must not free the session, except inside the final event (DONE, FAILED,
 * CANCELLED), after which the session calls nothing more.
 */
typedef void (*cable_initiator_event_fn)(void *arg, const struct cable_initiator_event *ev);

struct cable_initiator_config {
	const struct cable_env *env;   /* required: QR key, handshake ephemeral key, QR time */
	const uint8_t *request;        /* required: CTAP command || canonical CBOR (copied) */
	size_t request_len;
	bool supports_linking;         /* QR key 4 (written either way, as Chrome does) */
	unsigned advert_flags;         /* CABLE_ADVERT_ALLOW_SUFFIX to accept CTAP 2.3 suffixes */
	/*
	 * Timeouts in milliseconds; 0 = the default in brackets. Every stage is also bounded by
	 * what is left of timeout_ms.
	 */
	uint32_t timeout_ms;           /* [120000] the whole session until the answer */
	uint32_t scan_timeout_ms;      /* [timeout_ms] QR shown until an advert matches */
	uint32_t connect_timeout_ms;   /* [20000] advert matched until the handshake is done */
	uint32_t post_handshake_timeout_ms; /* [10000] handshake done until the phone's first message */
	uint32_t response_timeout_ms;  /* [timeout_ms] request sent until the answer */
	uint32_t linger_ms;            /* [2000] after shutdown, wait this long for the phone to close */
	uint32_t close_timeout_ms;     /* [2000] for our own close to complete, then drop */
	cable_initiator_event_fn event; /* optional */
	void *event_arg;
};

struct cable_initiator;

/* Copies cfg and the request; checks required fields (CABLE_ERR_ARG). */
int cable_initiator_new(const struct cable_session_io *io, const struct cable_initiator_config *cfg,
    struct cable_initiator **out);
/* Stops everything without callbacks, wipes every secret, frees; accepts NULL, sets NULL. */
void cable_initiator_free(struct cable_initiator **s);

/*
 * Makes the QR key, starts the BLE scan and delivers the QR event (synchronously). A failure
 * here (random source, scan_start) is returned with no event; after 0 exactly one final event
 * follows, asynchronously.
 */
int cable_initiator_start(struct cable_initiator *s);
/*
 * Ends the session: when the handshake is done a shutdown frame is sent first (revision 1), then
 * the tunnel is closed; the scan is stopped. The CANCELLED event follows asynchronously. No-op
 * once the session is closing or done.
 */
void cable_initiator_cancel(struct cable_initiator *s);

enum cable_initiator_stage cable_initiator_stage(const struct cable_initiator *s);
/* The FIDO:/ URL once started (owned by the session; wiped when the session ends), else NULL. */
const char *cable_initiator_url(const struct cable_initiator *s);
/* The phone's getInfo response (CBOR, no status byte) once received; 0 or CABLE_ERR_STATE. */
int cable_initiator_getinfo(const struct cable_initiator *s, const uint8_t **cbor, size_t *len);
/* The answer (status || CBOR) once received; 0 or CABLE_ERR_STATE. */
int cable_initiator_response(const struct cable_initiator *s, const uint8_t **buf, size_t *len);
/* Post-handshake revision (1 or 0), -1 before. */
int cable_initiator_revision(const struct cable_initiator *s);
/*
 * Linking info whose handshake signature verified (post-handshake key 2 or an update), or NULL.
 * Kept for a later linked session; owned by the session.
 */
const struct cable_linking_info *cable_initiator_linking(const struct cable_initiator *s);
/* Number of update messages received, and the error of the last message ignored after the answer. */
unsigned cable_initiator_updates(const struct cable_initiator *s);
int cable_initiator_after_error(const struct cable_initiator *s);

#endif

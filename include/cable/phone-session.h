/*
 * The authenticator ("phone") side of one QR-initiated hybrid session (layer 3): FIDO:/ URL ->
 * /cable/new tunnel -> BLE advert -> KNpsk0 responder -> post-handshake and update messages ->
 * one CTAP request answered by the software authenticator -> close. It sees the world only
 * through struct cable_session_io, so tests run it over in-memory I/O.
 */
#ifndef CABLE_PHONE_SESSION_H
#define CABLE_PHONE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cable/authenticator.h"
#include "cable/cred-store.h"
#include "cable/env.h"
#include "cable/qr.h"
#include "cable/session-io.h"

/* Where a session is (and, in the CLOSED event, where it ended). */
enum cable_phone_stage {
	CABLE_PHONE_STAGE_IDLE = 0,     /* not started */
	CABLE_PHONE_STAGE_TUNNEL,       /* opening /cable/new/<tunnel ID> */
	CABLE_PHONE_STAGE_ADVERTISING,  /* advertising, waiting for the desktop's handshake message */
	CABLE_PHONE_STAGE_REQUEST,      /* handshake done, waiting for a CTAP request */
	CABLE_PHONE_STAGE_CONFIRM,      /* a request waits for the user (or for delay_ms) */
	CABLE_PHONE_STAGE_ANSWERED,     /* answered, waiting for the desktop's shutdown or close */
	CABLE_PHONE_STAGE_CLOSING,      /* closing the tunnel */
	CABLE_PHONE_STAGE_DONE,
};
/* "tunnel", "advertising", ... */
const char *cable_phone_stage_name(enum cable_phone_stage stage);

/* Deliberate protocol faults, so that a desktop's error paths can be tested (docs/cable-phone.md). */
enum cable_phone_misbehave {
	CABLE_PHONE_OK = 0,
	CABLE_PHONE_WRONG_PSK,         /* PSK from a wrong salt; answers the handshake anyway */
	CABLE_PHONE_BAD_ADVERT_TAG,    /* the advert's 4-byte tag is altered */
	CABLE_PHONE_TRUNCATED_HANDSHAKE, /* the 81-byte handshake response is cut to 80 */
	CABLE_PHONE_REVISION_0,        /* revision-0 padded post-handshake; raw CTAP afterwards */
	CABLE_PHONE_GARBAGE,           /* 48 random bytes right after the handshake */
	CABLE_PHONE_SHUTDOWN,          /* a shutdown frame instead of the answer */
	CABLE_PHONE_SHUTDOWN_AFTER,    /* a shutdown frame after the answer (webauthn-rs does this) */
	CABLE_PHONE_OUT_OF_ORDER,      /* update (counter 1) sent before the post-handshake (0) */
	CABLE_PHONE_DROP_TUNNEL,       /* drops the tunnel when the request arrives */
	CABLE_PHONE_NO_UPDATE,         /* no update message (as iOS and older phones) */
	CABLE_PHONE_BAD_UPDATE,        /* an update whose payload is not a CBOR map */
};
#define CABLE_PHONE_MISBEHAVE_MAX CABLE_PHONE_BAD_UPDATE
/* "wrong-psk", "bad-advert-tag", ...; NULL for an unknown value. */
const char *cable_phone_misbehave_name(enum cable_phone_misbehave m);
/* Parses a name; CABLE_ERR_ARG when unknown. */
int cable_phone_misbehave_from_name(const char *name, enum cable_phone_misbehave *out);

enum cable_phone_event_type {
	CABLE_PHONE_EV_QR = 1,       /* URL parsed (from start, synchronously): request_type */
	CABLE_PHONE_EV_TUNNEL_OPEN,  /* routing_id */
	CABLE_PHONE_EV_ADVERTISING,  /* advert, advert_len, uuid16, domain_id */
	CABLE_PHONE_EV_HANDSHAKE,    /* handshake done; post-handshake (and update) sent */
	CABLE_PHONE_EV_REQUEST,      /* command, rp_id (NULL if none); with ask_user: now confirm */
	CABLE_PHONE_EV_ANSWERED,     /* command, status, response_len */
	CABLE_PHONE_EV_SHUTDOWN,     /* the desktop sent shutdown */
	CABLE_PHONE_EV_CLOSED,       /* the last event: error (0 = success) and stage it ended in */
};

struct cable_phone_event {
	enum cable_phone_event_type type;
	enum cable_request_type request_type;
	const uint8_t *routing_id;
	const uint8_t *advert;
	size_t advert_len;
	uint16_t uuid16;
	uint16_t domain_id;
	uint8_t command;
	const char *rp_id;
	uint8_t status;
	size_t response_len;
	int error;
	enum cable_phone_stage stage;
	bool answered; /* CLOSED: a request was answered */
};

/* Called on the loop (QR: inside start). Must not free the session. */
typedef void (*cable_phone_event_fn)(void *arg, const struct cable_phone_event *ev);

struct cable_phone_config {
	const struct cable_env *env;        /* required: randomness for the advert and the handshake */
	struct cable_cred_store *store;     /* required; borrowed */
	cable_authenticator_persist_fn persist; /* optional (see authenticator.h) */
	void *persist_ctx;
	enum cable_attestation attestation;
	uint16_t domain_id;                 /* tunnel server written into the advert (default 0) */
	/* Stage timeouts in milliseconds; 0 = the default in brackets. */
	uint32_t tunnel_timeout_ms;         /* [20000] until the tunnel is open */
	uint32_t handshake_timeout_ms;      /* [120000] advertising until the desktop's message */
	uint32_t request_timeout_ms;        /* [60000] after the handshake until a CTAP request */
	uint32_t confirm_timeout_ms;        /* [60000] the user's answer; then CTAP2_ERR_USER_ACTION_TIMEOUT */
	uint32_t linger_ms;                 /* [2000] after answering, wait for shutdown, then close */
	uint32_t close_timeout_ms;          /* [3000] for our close to complete, then drop */
	uint32_t delay_ms;                  /* hold every answer this long (slow phone) */
	/*
	 * false: every request is approved. true: REQUEST waits for cable_phone_session_confirm()
	 * (the caller asks a person, with the loop running).
	 */
	bool ask_user;
	enum cable_phone_misbehave misbehave;
	cable_phone_event_fn event;         /* optional */
	void *event_arg;
};

struct cable_phone_session;

/* Copies cfg (not the store or env); checks the required fields. */
int cable_phone_session_new(const struct cable_session_io *io, const struct cable_phone_config *cfg,
    struct cable_phone_session **out);
/* Stops everything without callbacks, wipes the secrets, frees; accepts NULL, sets NULL. */
void cable_phone_session_free(struct cable_phone_session **s);

/*
 * Parses the FIDO:/ URL and opens the tunnel. The URL's errors come back here (CABLE_ERR_QR_PREFIX,
 * CABLE_ERR_DIGITS, CBOR errors, CABLE_ERR_POINT, ...) with no further callbacks; so does a
 * synchronous failure to open the tunnel. After 0 the session ends with exactly one CLOSED event.
 */
int cable_phone_session_start(struct cable_phone_session *s, const char *url);
/* The user's answer to the pending request (ask_user). CABLE_ERR_STATE when none is pending. */
int cable_phone_session_confirm(struct cable_phone_session *s, bool approve);
/* Ends the session now with CABLE_ERR_CANCELLED (no-op once closing). */
void cable_phone_session_cancel(struct cable_phone_session *s);

enum cable_phone_stage cable_phone_session_stage(const struct cable_phone_session *s);
/* The final result once DONE (0 = answered and closed cleanly). */
int cable_phone_session_result(const struct cable_phone_session *s);

#endif

/*
 * Test-only desktop (initiator) for hybrid sessions, driven directly by the core over any
 * struct cable_session_io (in-memory or real): makes a QR code, scans, trial-decrypts adverts,
 * connects, runs the KNpsk0 initiator, reads the post-handshake and update messages, sends one
 * CTAP request, reads the answer, sends shutdown. It records what the core reported at each step
 * instead of asserting, so unit tests and helper programs can both use it. Also CTAP request
 * builders and response checkers (signature verified against the credential's public key).
 */
#ifndef CABLE_TEST_DESK_H
#define CABLE_TEST_DESK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cable/advert.h"
#include "cable/env.h"
#include "cable/qr.h"
#include "cable/session-io.h"

enum desk_stage {
	DESK_SCAN = 1,       /* waiting for an advert */
	DESK_HANDSHAKE,      /* connected, waiting for the 81-byte response */
	DESK_POST_HANDSHAKE, /* waiting for the phone's first encrypted message */
	DESK_RESPONSE,       /* request sent, waiting for the answer */
	DESK_AFTER,          /* answered; shutdown sent, waiting for the close */
	DESK_DONE,
};
const char *desk_stage_name(enum desk_stage s);

struct desk_config {
	const struct cable_env *env;         /* required */
	enum cable_request_type hint;        /* QR key 5 */
	const uint8_t *request;              /* command || CBOR; NULL: send nothing, just wait */
	size_t request_len;
	/* Plaintexts (already framed) sent encrypted after the post-handshake, before the request. */
	const uint8_t *const *extra;
	const size_t *extra_len;
	size_t n_extra;
	bool no_shutdown;          /* after the answer: send no shutdown, wait for the phone's close */
	bool close_after_answer;   /* after the answer: close the tunnel ourselves */
	bool close_after_hello;    /* close as soon as the post-handshake message is read */
	uint32_t timeout_ms;       /* whole session; 0 = 30000 */
	void (*done)(void *arg);   /* called once when the desktop is finished */
	void *done_arg;
};

struct desk_result {
	int error;                  /* first error the desktop's core reported (0 none) */
	enum desk_stage error_stage;
	int advert_error;           /* last advert that did not open (e.g. CABLE_ERR_ADVERT_TAG) */
	unsigned adverts_seen, adverts_matched;
	uint16_t advert_uuid;
	size_t advert_len;
	struct cable_advert advert; /* the matched one */
	bool handshake_done;
	int revision;               /* of the post-handshake message, -1 before */
	uint8_t *getinfo;
	size_t getinfo_len;
	unsigned updates;
	size_t first_update_ct_len;
	bool update_had_linking;
	uint8_t *response;          /* status || CBOR */
	size_t response_len;
	int after_error;            /* an error on a message after the answer (e.g. peer shutdown) */
	bool closed;
	int close_err;
	size_t msgs_received;
	size_t first_ct_len;        /* length of the first transport message */
};

struct desk;

int desk_new(const struct cable_session_io *io, const struct desk_config *cfg, struct desk **out);
void desk_free(struct desk **d);
/* Makes the QR key and URL (*url: caller frees) and starts scanning. */
int desk_start(struct desk *d, char **url);
const struct desk_result *desk_result(const struct desk *d);
bool desk_done(const struct desk *d);
/* The QR payload (for tests that check derivations). */
const struct cable_qr *desk_qr(const struct desk *d);

/* ---- CTAP helpers ---- */

/* makeCredential (0x01 || CBOR) for rp_id, ES256, rk as given. */
int desk_build_mc(const char *rp_id, const uint8_t cdh[32], const uint8_t *user_id, size_t user_id_len,
    const char *user_name, bool rk, uint8_t **out, size_t *out_len);
/* getAssertion (0x02 || CBOR); cred_id NULL for an empty allow list (discoverable). */
int desk_build_ga(const char *rp_id, const uint8_t cdh[32], const uint8_t *cred_id, size_t cred_id_len,
    uint8_t **out, size_t *out_len);

#define DESK_CRED_ID_MAX 128
struct desk_cred {
	uint8_t id[DESK_CRED_ID_MAX];
	size_t id_len;
	uint8_t pub[65];
	uint32_t counter;
	uint8_t flags;
};
/*
 * Checks a makeCredential answer (status || CBOR): status 0, fmt, authData with the RP ID hash,
 * UP|UV|AT flags, a P-256 COSE key. Fills *cred. Negative on any defect (CTAP status if not 0).
 */
int desk_check_mc(const uint8_t *resp, size_t len, const char *rp_id, struct desk_cred *cred);
/*
 * Checks a getAssertion answer: status 0, the credential ID, the RP ID hash, UP|UV, the counter
 * above cred->counter, and the ECDSA signature over authData || cdh with cred->pub.
 */
int desk_check_ga(const uint8_t *resp, size_t len, const char *rp_id, const uint8_t cdh[32],
    const struct desk_cred *cred);

#endif

/* The software CTAP 2.1 authenticator (sans-I/O): CTAP request bytes in, response bytes out. */
#ifndef CABLE_AUTHENTICATOR_H
#define CABLE_AUTHENTICATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cable/cred-store.h"
#include "cable/env.h"

/* cable-bridge's own AAGUID, 5b9be0a7-f824-906f-ce1c-cfade7e85665 (random, made for this project). */
#define CABLE_AUTHENTICATOR_AAGUID                                                              \
	{0x5b, 0x9b, 0xe0, 0xa7, 0xf8, 0x24, 0x90, 0x6f, 0xce, 0x1c, 0xcf, 0xad, 0xe7, 0xe8, 0x56, 0x65}

/* CTAP2 status bytes the authenticator answers with. */
enum cable_ctap_status {
	CABLE_CTAP_OK = 0x00,
	CABLE_CTAP1_ERR_INVALID_COMMAND = 0x01,
	CABLE_CTAP1_ERR_INVALID_PARAMETER = 0x02,
	CABLE_CTAP1_ERR_INVALID_LENGTH = 0x03,
	CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE = 0x11,
	CABLE_CTAP2_ERR_INVALID_CBOR = 0x12,
	CABLE_CTAP2_ERR_MISSING_PARAMETER = 0x14,
	CABLE_CTAP2_ERR_LIMIT_EXCEEDED = 0x15,
	CABLE_CTAP2_ERR_CREDENTIAL_EXCLUDED = 0x19,
	CABLE_CTAP2_ERR_UNSUPPORTED_ALGORITHM = 0x26,
	CABLE_CTAP2_ERR_OPERATION_DENIED = 0x27,
	CABLE_CTAP2_ERR_KEY_STORE_FULL = 0x28,
	CABLE_CTAP2_ERR_UNSUPPORTED_OPTION = 0x2B,
	CABLE_CTAP2_ERR_INVALID_OPTION = 0x2C,
	CABLE_CTAP2_ERR_KEEPALIVE_CANCEL = 0x2D,
	CABLE_CTAP2_ERR_NO_CREDENTIALS = 0x2E,
	CABLE_CTAP2_ERR_USER_ACTION_TIMEOUT = 0x2F,
	CABLE_CTAP2_ERR_NOT_ALLOWED = 0x30,
	CABLE_CTAP1_ERR_OTHER = 0x7F,
};

/* CTAP2 command bytes the authenticator understands. */
enum cable_ctap_command {
	CABLE_CTAP_MAKE_CREDENTIAL = 0x01,
	CABLE_CTAP_GET_ASSERTION = 0x02,
	CABLE_CTAP_GET_INFO = 0x04,
	CABLE_CTAP_GET_NEXT_ASSERTION = 0x08,
	CABLE_CTAP_SELECTION = 0x0B,
};

/* Limits advertised in getInfo and enforced on requests. */
#define CABLE_AUTHENTICATOR_MAX_MSG_SIZE 7609
#define CABLE_AUTHENTICATOR_MAX_CRED_COUNT_IN_LIST 16
#define CABLE_AUTHENTICATOR_MAX_CRED_ID_LENGTH 128
/* getNextAssertion state expires after this many seconds (CTAP's 30 s). */
#define CABLE_AUTHENTICATOR_NEXT_TIMEOUT 30

enum cable_attestation {
	CABLE_ATTESTATION_NONE = 0,        /* fmt "none", attStmt {} (what phones send) */
	CABLE_ATTESTATION_PACKED_SELF = 1, /* fmt "packed", signed with the credential's own key */
};

enum cable_prompt_kind {
	CABLE_PROMPT_MAKE_CREDENTIAL = 1,
	CABLE_PROMPT_GET_ASSERTION = 2,
	CABLE_PROMPT_EXCLUDED = 3,  /* a credential in excludeList exists: confirm before 0x19 */
	CABLE_PROMPT_SELECTION = 4, /* authenticatorSelection */
};

/* One account offered in a discoverable getAssertion. */
struct cable_prompt_account {
	const uint8_t *user_id;
	size_t user_id_len;
	const char *user_name;
	const char *user_display_name;
};

/* What the user is asked to confirm (strings are valid only during the callback). */
struct cable_authenticator_prompt {
	enum cable_prompt_kind kind;
	const char *rp_id;             /* NULL for SELECTION */
	const char *user_name;         /* MAKE_CREDENTIAL: the new account's name ("" if none) */
	const char *user_display_name; /* MAKE_CREDENTIAL */
	bool resident;                 /* MAKE_CREDENTIAL: a discoverable credential (passkey) */
	/* GET_ASSERTION without allowList: the accounts to pick from (n_accounts >= 1), else 0. */
	const struct cable_prompt_account *accounts;
	size_t n_accounts;
};

/*
 * The user-presence and verification callback. Return 0 when the user confirmed (the
 * authenticator then sets both UP and UV, as a phone does after its lock-screen check), or a CTAP
 * status to answer instead: 0x27 declined, 0x2F timed out, 0x2D cancelled. When accounts are
 * offered, set *selected to the chosen index (it starts at 0).
 */
typedef int (*cable_authenticator_confirm_fn)(void *ctx, const struct cable_authenticator_prompt *prompt,
    size_t *selected);

/* Called after every change to the store (new passkey, counter); non-zero fails the request. */
typedef int (*cable_authenticator_persist_fn)(void *ctx, const struct cable_cred_store *store);

struct cable_authenticator_config {
	struct cable_cred_store *store;        /* required; borrowed; must outlive the authenticator */
	cable_authenticator_confirm_fn confirm; /* NULL: every request is confirmed */
	void *confirm_ctx;
	cable_authenticator_persist_fn persist; /* NULL: in memory only */
	void *persist_ctx;
	enum cable_attestation attestation;     /* default when the request states no preference */
	/*
	 * Discoverable getAssertion with several accounts for the RP. false (default, a phone's
	 * behaviour): the user picks one in confirm, the response has userSelected = true and the
	 * user as {id, name: "", displayName: ""}. true (a security key's behaviour): the first
	 * account with numberOfCredentials, the rest through getNextAssertion.
	 */
	bool list_accounts;
};

struct cable_authenticator;

/* NULL on OOM or a missing store/env. The config is copied (the store is not). */
struct cable_authenticator *cable_authenticator_new(const struct cable_env *env,
    const struct cable_authenticator_config *cfg);
void cable_authenticator_free(struct cable_authenticator **a);

/*
 * Handles one CTAP2 request: req = command byte || CBOR. On 0, *resp (caller frees) is
 * status byte || CBOR; every CTAP error is such a response. A negative return (OOM, random source
 * failure) means no response could be made.
 */
int cable_authenticator_handle(struct cable_authenticator *a, const uint8_t *req, size_t req_len,
    uint8_t **resp, size_t *resp_len);

/* The authenticatorGetInfo response CBOR without a status byte (for the post-handshake message). */
int cable_authenticator_get_info(const struct cable_authenticator *a, const uint8_t **cbor, size_t *len);

#endif

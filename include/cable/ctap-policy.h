/*
 * The virtual key's local CTAP policy (sans-I/O): which CTAP2 requests a HID client sends are
 * answered locally (getInfo, touch/selection, silent up=false probes, getNextAssertion), which one
 * becomes the single request of a hybrid session, and how the phone's answer is checked and
 * cleaned before it reaches the client. Bytes in, bytes out; time is passed in.
 */
#ifndef CABLE_CTAP_POLICY_H
#define CABLE_CTAP_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* cable-bridged's own AAGUID, 767bb5ca-90e9-42ac-8e3e-bc3cc0a6c76d (random, made for the bridge). */
#define CABLE_BRIDGE_AAGUID                                                                     \
	{ 0x76, 0x7b, 0xb5, 0xca, 0x90, 0xe9, 0x42, 0xac, 0x8e, 0x3e, 0xbc, 0x3c, 0xc0, 0xa6, 0xc7, \
		0x6d }

/* CTAP2 command bytes the policy knows. */
enum cable_ctap_cmd {
	CABLE_CTAP_MAKE_CREDENTIAL = 0x01,
	CABLE_CTAP_GET_ASSERTION = 0x02,
	CABLE_CTAP_GET_INFO = 0x04,
	CABLE_CTAP_CLIENT_PIN = 0x06,
	CABLE_CTAP_RESET = 0x07,
	CABLE_CTAP_GET_NEXT_ASSERTION = 0x08,
	CABLE_CTAP_SELECTION = 0x0b,
};

/* CTAP2 status bytes the policy answers with. */
enum cable_ctap_status {
	CABLE_CTAP_OK = 0x00,
	CABLE_CTAP_INVALID_COMMAND = 0x01,
	CABLE_CTAP_INVALID_PARAMETER = 0x02,
	CABLE_CTAP_INVALID_LENGTH = 0x03,
	CABLE_CTAP_CBOR_UNEXPECTED_TYPE = 0x11,
	CABLE_CTAP_INVALID_CBOR = 0x12,
	CABLE_CTAP_MISSING_PARAMETER = 0x14,
	CABLE_CTAP_OPERATION_DENIED = 0x27,
	CABLE_CTAP_INVALID_OPTION = 0x2c,
	CABLE_CTAP_KEEPALIVE_CANCEL = 0x2d,
	CABLE_CTAP_NO_CREDENTIALS = 0x2e,
	CABLE_CTAP_USER_ACTION_TIMEOUT = 0x2f,
	CABLE_CTAP_NOT_ALLOWED = 0x30,
	CABLE_CTAP_PIN_NOT_SET = 0x35,
	CABLE_CTAP_OTHER = 0x7f,
};

/* What to do with one request. */
enum cable_ctap_action {
	/* Answer at once with out (status || CBOR). */
	CABLE_CTAP_ACTION_LOCAL = 1,
	/*
	 * A "touch" request (authenticatorSelection, or a dummy makeCredential for ".dummy" /
	 * "make.me.blink", or a zero-length pinUvAuthParam touch probe): answer it with
	 * cable_ctap_policy_touch_answer() once the local user has decided (or the wait ended).
	 */
	CABLE_CTAP_ACTION_TOUCH,
	/* The real request: out is the (cleaned) request to forward to the phone. */
	CABLE_CTAP_ACTION_FORWARD,
};

/* Why a request got the answer it got (for logs and tests). */
enum cable_ctap_kind {
	CABLE_CTAP_KIND_ERROR = 1,    /* malformed or unsupported: a CTAP error status */
	CABLE_CTAP_KIND_GET_INFO,
	CABLE_CTAP_KIND_SELECTION,    /* authenticatorSelection */
	CABLE_CTAP_KIND_DUMMY,        /* dummy makeCredential or touch probe */
	CABLE_CTAP_KIND_PROBE,        /* silent up=false getAssertion */
	CABLE_CTAP_KIND_NEXT,         /* getNextAssertion */
	CABLE_CTAP_KIND_REAL,         /* makeCredential / getAssertion with user presence */
};
const char *cable_ctap_kind_name(enum cable_ctap_kind kind);

struct cable_ctap_decision {
	enum cable_ctap_action action;
	enum cable_ctap_kind kind;
	uint8_t cmd;      /* the request's command byte */
	uint8_t *out;     /* LOCAL: answer; FORWARD: request to forward. Free with free() */
	size_t out_len;
	char rp_id[256];  /* makeCredential/getAssertion: the RP ID ("" otherwise) */
	size_t list_len;  /* allow/exclude list entries in the request */
};

struct cable_ctap_policy_config {
	uint8_t aaguid[16];            /* getInfo key 3 */
	uint32_t max_msg_size;         /* getInfo key 5 (largest request accepted) */
	uint32_t max_cred_count;       /* getInfo key 7 (maxCredentialCountInList) */
	uint32_t max_cred_id_len;      /* getInfo key 8 (maxCredentialIdLength) */
	uint64_t next_timeout_usec;    /* how long served getNextAssertion answers stay available */
};

/* Defaults: CABLE_BRIDGE_AAGUID, 7609, 32, 1023, 30 s. */
void cable_ctap_policy_config_default(struct cable_ctap_policy_config *cfg);

struct cable_ctap_policy;

/* NULL on OOM or a config out of range (counts 0). */
struct cable_ctap_policy *cable_ctap_policy_new(const struct cable_ctap_policy_config *cfg);
void cable_ctap_policy_free(struct cable_ctap_policy **p);

/*
 * Decides what to do with one request (command byte || CBOR) at time now (any monotonic
 * microsecond clock). Malformed requests become LOCAL answers with a CTAP error. Negative only
 * on OOM or misuse. Any request other than getNextAssertion drops pending next assertions.
 */
int cable_ctap_policy_decide(struct cable_ctap_policy *p, uint64_t now, const uint8_t *req,
    size_t len, struct cable_ctap_decision *d);
/* Frees d->out. */
void cable_ctap_decision_clear(struct cable_ctap_decision *d);

/*
 * The answer to a TOUCH request: approved = the local user picked this key. Selection: OK (no
 * data) or OPERATION_DENIED; dummy makeCredential: PIN_NOT_SET (which both browsers count as
 * "touched" and which creates nothing) or OPERATION_DENIED; timed_out: USER_ACTION_TIMEOUT.
 */
uint8_t cable_ctap_policy_touch_answer(enum cable_ctap_kind kind, bool approved, bool timed_out);

/*
 * Checks and cleans the phone's answer to the forwarded request req (as forwarded). A non-zero
 * status passes through unchanged. For a success: the rpIdHash must be SHA-256(rp id) and
 * assertions must not carry attested credential data (else the answer becomes CTAP1_ERR_OTHER);
 * credential descriptors lose "transports"; response keys the client did not ask for
 * (numberOfCredentials, userSelected with an allow list, largeBlobKey, epAtt, unsigned extension
 * outputs other than the requested "prf", unknown keys) are dropped. *out is malloc'd.
 * *problem (may be NULL) is set to a short text when something was changed or refused.
 */
int cable_ctap_policy_clean_response(struct cable_ctap_policy *p, const uint8_t *req,
    size_t req_len, const uint8_t *resp, size_t resp_len, uint8_t **out, size_t *out_len,
    const char **problem);

/*
 * Refines what getInfo advertises from the phone's own getInfo (CBOR without status): its
 * algorithms, a smaller maxCredentialIdLength, and the extensions the bridge passes through
 * ("credProtect", "prf"). The versions, options, AAGUID and list count stay the bridge's.
 */
int cable_ctap_policy_refine(struct cable_ctap_policy *p, const uint8_t *getinfo, size_t len);

/* getInfo as answered now (status || CBOR); malloc'd. */
int cable_ctap_policy_get_info(const struct cable_ctap_policy *p, uint8_t **out, size_t *out_len);

/* Pending getNextAssertion answers (for tests). */
size_t cable_ctap_policy_pending_next(const struct cable_ctap_policy *p);

#endif

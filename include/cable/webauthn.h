/* WebAuthn Level 3 JSON <-> CTAP2 translation for cablectl create/get (pure, no I/O). */
#ifndef CABLE_WEBAUTHN_H
#define CABLE_WEBAUTHN_H

#include <stddef.h>
#include <stdint.h>

/*
 * One WebAuthn ceremony as a browser would run it against a phone over hybrid:
 *
 *   cable_webauthn_create_begin(origin, options_json, &req, &msg)   or ..._get_begin(...)
 *   cable_webauthn_request_ctap(req, &buf, &len)   -> send over the tunnel (type 1 message)
 *   ... phone answers status || CBOR ...
 *   cable_webauthn_finish(req, resp, resp_len, &json, &msg)   -> RegistrationResponseJSON or
 *                                                               AuthenticationResponseJSON
 *   cable_webauthn_request_free(&req)
 *
 * begin validates everything a browser validates before showing UI, so a caller can run it before
 * drawing a QR code:
 *   - origin: "https://host[:port]" (scheme and host lower-cased, ":443" dropped, no path); plain
 *     http only for http://localhost[:port] and *.localhost; IP-address hosts are refused as
 *     browsers do;
 *   - the RP ID (options.rp.id for create, options.rpId for get; default the origin's host) must
 *     equal the host or be a registrable suffix of it (HTML "is a registrable domain suffix of",
 *     on the Public Suffix List via libpsl, private registries included);
 *   - options: PublicKeyCredentialCreationOptionsJSON / PublicKeyCredentialRequestOptionsJSON,
 *     either bare or wrapped as {"publicKey": {...}}; binary members are base64url without
 *     padding. Unknown members and extensions are ignored; unknown enum strings are treated as
 *     absent (as WebIDL requires); wrong JSON types, bad base64url and missing required members
 *     are errors.
 *
 * Mapping to CTAP2 (requests are command byte || CTAP2 canonical CBOR):
 *   - clientDataJSON = {"type":"webauthn.create"|"webauthn.get","challenge":b64url,
 *     "origin":origin,"crossOrigin":false}; clientDataHash = SHA-256 of it;
 *   - userVerification "required" and "preferred" (the default) -> uv:true (a phone always has
 *     built-in UV), "discouraged" -> uv omitted unless prf is requested (Chrome raises UV for
 *     PRF). "required" additionally makes finish demand the UV flag;
 *   - residentKey "required"/"preferred" (or requireResidentKey true when residentKey is absent)
 *     -> rk:true, otherwise rk omitted;
 *   - pubKeyCredParams in order (entries whose type is not "public-key" skipped; an empty list
 *     means ES256, RS256); excludeCredentials/allowCredentials of type "public-key" as
 *     {"id","type"} descriptors (empty lists omitted);
 *   - extensions: credProps is answered by the client ({"rk": bool}: the authenticator's
 *     unsigned credProps output when it sends one, else whether rk was sent); prf eval/evalByCredential
 *     inputs are hashed as SHA-256("WebAuthn PRF" || 0x00 || input) and sent as the plaintext
 *     "prf" extension hybrid phones take; results come from the unsigned extension outputs
 *     (makeCredential key 6, getAssertion key 8). Other extensions are not forwarded.
 *   - timeout: options.timeout in ms, default 120000, clamped to [1000, 600000].
 *
 * finish checks what a browser checks: status 0 (else the CTAP2 status is returned as a positive
 * value), authData rpIdHash = SHA-256(rpId), UP set, UV set when required, attested credential
 * data present (create) or absent (get), the credential algorithm among those requested, the
 * credential ID in allowCredentials when that list was given, a user handle for discoverable
 * requests. The phone's authenticator data, attestation statement and signature are passed
 * through unchanged (the attestation object is re-encoded in canonical CBOR as
 * {"fmt","attStmt","authData"}). The output uses transports ["hybrid"] and
 * authenticatorAttachment "cross-platform"; response.publicKey is the SPKI DER of ES256, EdDSA
 * (Ed25519) and RS256 keys and absent for other algorithms.
 *
 * Errors: 0 on success; a negative CABLE_ERR_* or (finish only) a positive CTAP2 status. On
 * failure, when errmsg is not NULL, *errmsg receives a malloc'd one-line English message that
 * names the offending field ("options.user.id: not valid base64url"); on success *errmsg is set to
 * NULL. Callers free it with free().
 */

struct cable_webauthn_request;

/* Size caps on untrusted input. */
#define CABLE_WEBAUTHN_MAX_OPTIONS_LEN (256u * 1024u)
#define CABLE_WEBAUTHN_MAX_CREDENTIAL_ID_LEN 1023u
#define CABLE_WEBAUTHN_MAX_CREDENTIALS 256u
#define CABLE_WEBAUTHN_DEFAULT_TIMEOUT_MS 120000u
#define CABLE_WEBAUTHN_MAX_RESPONSE_LEN (64u * 1024u) /* status byte + CBOR from the phone */

/*
 * Parses PublicKeyCredentialCreationOptionsJSON (NUL-terminated) for origin and prepares a CTAP2
 * authenticatorMakeCredential request. Errors: CABLE_ERR_WEBAUTHN_OPTIONS (bad options),
 * CABLE_ERR_WEBAUTHN_ORIGIN (origin not allowed), CABLE_ERR_WEBAUTHN_RP_ID (RP ID does not fit
 * the origin), CABLE_ERR_TOO_BIG, CABLE_ERR_NOMEM, CABLE_ERR_ARG.
 */
int cable_webauthn_create_begin(const char *origin, const char *options_json,
    struct cable_webauthn_request **req, char **errmsg);
/* The same for PublicKeyCredentialRequestOptionsJSON and authenticatorGetAssertion. */
int cable_webauthn_get_begin(const char *origin, const char *options_json,
    struct cable_webauthn_request **req, char **errmsg);

/* The CTAP2 request: command byte (0x01 or 0x02) || canonical CBOR. Owned by req. */
void cable_webauthn_request_ctap(const struct cable_webauthn_request *req, const uint8_t **buf,
    size_t *len);
/* The RP ID the request is for (owned by req). */
const char *cable_webauthn_request_rp_id(const struct cable_webauthn_request *req);
/* "mc" for create, "ga" for get: the request type hint of the QR code (key 5). */
const char *cable_webauthn_request_type(const struct cable_webauthn_request *req);
/* How long the ceremony may take, in milliseconds. */
uint32_t cable_webauthn_request_timeout_ms(const struct cable_webauthn_request *req);
/* The exact clientDataJSON the request signs over (owned by req). */
const char *cable_webauthn_request_client_data_json(const struct cable_webauthn_request *req);
/* The normalised origin written into clientDataJSON (owned by req). */
const char *cable_webauthn_request_origin(const struct cable_webauthn_request *req);

/*
 * Turns the phone's CTAP2 response (status byte || CBOR) into RegistrationResponseJSON or
 * AuthenticationResponseJSON (compact, NUL-terminated, caller frees). Errors: a positive CTAP2
 * status when the phone refused, CABLE_ERR_WEBAUTHN_RESPONSE when the response fails a check,
 * CABLE_ERR_CBOR* when it does not parse, CABLE_ERR_NOMEM. req is not consumed and may be
 * finished again with another response.
 */
int cable_webauthn_finish(const struct cable_webauthn_request *req, const uint8_t *ctap_resp,
    size_t len, char **response_json, char **errmsg);

/* Frees req (accepts NULL and *req == NULL) and sets *req to NULL. */
void cable_webauthn_request_free(struct cable_webauthn_request **req);

#endif

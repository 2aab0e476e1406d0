/* The software CTAP 2.1 authenticator: getInfo, makeCredential, getAssertion, prf, sans-I/O. */
#include <stdlib.h>
#include <string.h>

#include "cable/authenticator.h"
#include "cable/bytes.h"
#include "cable/cbor.h"
#include "cable/crypto.h"
#include "cable/error.h"
#include "cable/p256.h"
#include "cbor-writer.h"
#include "cred-store-internal.h"
#include "utf8.h"

#define FLAG_UP 0x01
#define FLAG_UV 0x04
#define FLAG_AT 0x40

#define CDH_LEN 32
#define SALT_LEN 32
#define ID_NONCE_OFF 2
#define ID_NONCE_LEN 16
#define ID_TAG_OFF 18
#define ID_TAG_LEN 16
/* Largest response we build: makeCredential stays far below libfido2's 4096-byte buffer. */
#define MAX_RESPONSE 4096

static const uint8_t aaguid[16] = CABLE_AUTHENTICATOR_AAGUID;

/* PRF salts chosen for one credential. */
struct prf_salts {
	bool present;
	bool has_second;
	uint8_t first[SALT_LEN];
	uint8_t second[SALT_LEN];
};

/* A getAssertion in progress for getNextAssertion (list_accounts mode only). */
struct pending {
	bool active;
	int64_t expires;
	uint8_t rp_id_hash[32];
	uint8_t cdh[CDH_LEN];
	uint8_t flags;
	size_t next;
	size_t n;
	uint8_t ids[CABLE_CRED_STORE_MAX][CABLE_CRED_ID_LEN];
	struct prf_salts salts[CABLE_CRED_STORE_MAX];
};

struct cable_authenticator {
	const struct cable_env *env;
	struct cable_authenticator_config cfg;
	uint8_t *info;
	size_t info_len;
	struct pending pending;
};

/* The secrets behind one credential ID. */
struct cred_keys {
	struct cable_p256_key key;
	uint8_t cred_random[32];
};

static void
cred_keys_wipe(struct cred_keys *k)
{
	cable_wipe(k, sizeof(*k));
}

/* ---- credential IDs ---------------------------------------------------------------------- */

/* HMAC-SHA-256(master, label || id[0..18) || rpIdHash): the tag, key seed and PRF secret. */
static int
cred_mac(const struct cable_cred_store *s, const char *label, const uint8_t *id_head,
    const uint8_t rp_id_hash[32], uint8_t out[32])
{
	uint8_t msg[64 + ID_TAG_OFF + 32];
	size_t ll = strlen(label);
	int r;

	if (ll > 64)
		return CABLE_ERR_INTERNAL;
	memcpy(msg, label, ll);
	memcpy(msg + ll, id_head, ID_TAG_OFF);
	memcpy(msg + ll + ID_TAG_OFF, rp_id_hash, 32);
	r = cable_hmac_sha256(s->master, sizeof(s->master), msg, ll + ID_TAG_OFF + 32, out);
	cable_wipe(msg, sizeof(msg));
	return r;
}

static int
cred_derive(const struct cable_cred_store *s, const uint8_t *id, const uint8_t rp_id_hash[32],
    struct cred_keys *k)
{
	uint8_t seed[32];
	int r;

	if ((r = cred_mac(s, "cable-bridge credential key v1", id, rp_id_hash, seed)) != 0)
		goto out;
	if ((r = cable_p256_derive_from_secret(seed, sizeof(seed), &k->key)) != 0)
		goto out;
	r = cred_mac(s, "cable-bridge credential prf v1", id, rp_id_hash, k->cred_random);
out:
	cable_wipe(seed, sizeof(seed));
	return r;
}

/* A new credential ID bound to rpIdHash, and its keys. */
static int
cred_new(const struct cable_authenticator *a, const uint8_t rp_id_hash[32], bool rk,
    uint8_t id[CABLE_CRED_ID_LEN], struct cred_keys *k)
{
	uint8_t tag[32];
	int r;

	id[0] = CABLE_CRED_ID_VERSION;
	id[1] = rk ? CABLE_CRED_ID_FLAG_RK : 0;
	if ((r = cable_env_random(a->env, id + ID_NONCE_OFF, ID_NONCE_LEN)) != 0)
		return r;
	if ((r = cred_mac(a->cfg.store, "cable-bridge credential id v1", id, rp_id_hash, tag)) != 0)
		return r;
	memcpy(id + ID_TAG_OFF, tag, ID_TAG_LEN);
	return cred_derive(a->cfg.store, id, rp_id_hash, k);
}

/*
 * Whether id is one of ours for this RP (the tag covers version, flags, nonce and rpIdHash, so an
 * ID cannot be forged, altered or moved to another RP). 1 = ours, 0 = not, negative = failure.
 */
static int
cred_check(const struct cable_authenticator *a, const uint8_t *id, size_t id_len,
    const uint8_t rp_id_hash[32])
{
	uint8_t tag[32];
	int r;

	if (id_len != CABLE_CRED_ID_LEN || id[0] != CABLE_CRED_ID_VERSION ||
	    (id[1] & ~CABLE_CRED_ID_FLAG_RK) != 0)
		return 0;
	if ((r = cred_mac(a->cfg.store, "cable-bridge credential id v1", id, rp_id_hash, tag)) != 0)
		return r;
	return cable_ct_equal(tag, id + ID_TAG_OFF, ID_TAG_LEN) ? 1 : 0;
}

/* ---- request parsing --------------------------------------------------------------------- */

static bool
is_bytes(const cbor_item_t *it)
{
	return cbor_isa_bytestring(it) && cbor_bytestring_is_definite(it);
}

static bool
is_text(const cbor_item_t *it)
{
	return cbor_isa_string(it) && cbor_string_is_definite(it);
}

static bool
is_bool(const cbor_item_t *it)
{
	return cbor_isa_float_ctrl(it) && cbor_is_bool(it);
}

static bool
text_eq(const cbor_item_t *it, const char *s)
{
	size_t n = strlen(s);
	return is_text(it) && cbor_string_length(it) == n && memcmp(cbor_string_handle(it), s, n) == 0;
}

/* An optional boolean option: 0 (absent or bool), or 0x11. */
static int
opt_bool(const cbor_item_t *map, const char *key, bool *present, bool *value)
{
	cbor_item_t *it = cable_cbor_map_get_str(map, key);

	*present = false;
	if (it == NULL)
		return 0;
	if (!is_bool(it))
		return CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	*present = true;
	*value = cbor_get_bool(it);
	return 0;
}

/* An optional text member: absent leaves *s NULL; invalid UTF-8 is 0x12. */
static int
opt_text(const cbor_item_t *map, const char *key, const cbor_item_t **s)
{
	cbor_item_t *it = cable_cbor_map_get_str(map, key);

	*s = NULL;
	if (it == NULL)
		return 0;
	if (!is_text(it))
		return CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	if (!cable_utf8_valid(cbor_string_handle(it), cbor_string_length(it)))
		return CABLE_CTAP2_ERR_INVALID_CBOR;
	*s = it;
	return 0;
}

/* clientDataHash: required bytes(32). */
static int
get_cdh(const cbor_item_t *it, uint8_t cdh[CDH_LEN])
{
	if (it == NULL)
		return CABLE_CTAP2_ERR_MISSING_PARAMETER;
	if (!is_bytes(it))
		return CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	if (cbor_bytestring_length(it) != CDH_LEN)
		return CABLE_CTAP1_ERR_INVALID_PARAMETER;
	memcpy(cdh, cbor_bytestring_handle(it), CDH_LEN);
	return 0;
}

/* An RP ID as a NUL-terminated copy in buf (CABLE_RP_ID_MAX + 1 bytes). */
static int
get_rp_id(const cbor_item_t *it, char *buf, uint8_t hash[32])
{
	size_t n;

	if (it == NULL)
		return CABLE_CTAP2_ERR_MISSING_PARAMETER;
	if (!is_text(it))
		return CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	n = cbor_string_length(it);
	if (n == 0 || n > CABLE_RP_ID_MAX)
		return CABLE_CTAP1_ERR_INVALID_PARAMETER;
	if (!cable_utf8_valid(cbor_string_handle(it), n))
		return CABLE_CTAP2_ERR_INVALID_CBOR;
	memcpy(buf, cbor_string_handle(it), n);
	buf[n] = '\0';
	return cable_sha256((const uint8_t *)buf, n, NULL, 0, hash) == 0 ? 0 : CABLE_ERR_CRYPTO;
}

/*
 * Checks a credential descriptor list (excludeList, allowList): an array of maps with "id" bytes
 * and "type" text. Missing members are 0x12 and wrong types 0x11, as CTAP says.
 */
static int
check_descriptors(const cbor_item_t *list)
{
	if (!cbor_isa_array(list))
		return CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	for (size_t i = 0; i < cbor_array_size(list); i++) {
		const cbor_item_t *d = cbor_array_handle(list)[i], *id, *type;
		if (!cbor_isa_map(d))
			return CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
		id = cable_cbor_map_get_str(d, "id");
		type = cable_cbor_map_get_str(d, "type");
		if (id == NULL || type == NULL)
			return CABLE_CTAP2_ERR_INVALID_CBOR;
		if (!is_bytes(id) || !is_text(type))
			return CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	}
	return 0;
}

/* pinUvAuthParam/pinUvAuthProtocol: this authenticator supports no PIN/UV auth protocol. */
static int
check_pin_uv_auth(const cbor_item_t *param, const cbor_item_t *protocol)
{
	if (param != NULL && !is_bytes(param))
		return CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	if (protocol != NULL && !cbor_isa_uint(protocol))
		return CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	if (param == NULL)
		return 0;
	if (protocol == NULL)
		return CABLE_CTAP2_ERR_MISSING_PARAMETER;
	return CABLE_CTAP1_ERR_INVALID_PARAMETER; /* no protocol is supported */
}

/* A PRF input {"first": bytes(32), "second"?: bytes(32)}. */
static int
parse_prf_values(const cbor_item_t *m, struct prf_salts *out)
{
	const cbor_item_t *first, *second;

	if (!cbor_isa_map(m))
		return CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	first = cable_cbor_map_get_str(m, "first");
	second = cable_cbor_map_get_str(m, "second");
	if (first == NULL)
		return CABLE_CTAP2_ERR_MISSING_PARAMETER;
	if (!is_bytes(first) || (second != NULL && !is_bytes(second)))
		return CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	if (cbor_bytestring_length(first) != SALT_LEN ||
	    (second != NULL && cbor_bytestring_length(second) != SALT_LEN))
		return CABLE_CTAP1_ERR_INVALID_PARAMETER;
	memcpy(out->first, cbor_bytestring_handle(first), SALT_LEN);
	out->has_second = second != NULL;
	if (second != NULL)
		memcpy(out->second, cbor_bytestring_handle(second), SALT_LEN);
	out->present = true;
	return 0;
}

/* The "prf" extension input: {"eval"?: values, "evalByCredential"?: {id: values}}. */
static int
check_prf_input(const cbor_item_t *prf, bool allow_by_credential)
{
	const cbor_item_t *eval, *by;
	struct prf_salts tmp;
	int r;

	if (!cbor_isa_map(prf))
		return CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	eval = cable_cbor_map_get_str(prf, "eval");
	by = cable_cbor_map_get_str(prf, "evalByCredential");
	if (eval != NULL && (r = parse_prf_values(eval, &tmp)) != 0)
		return r;
	if (by != NULL) {
		if (!allow_by_credential)
			return CABLE_CTAP1_ERR_INVALID_PARAMETER;
		if (!cbor_isa_map(by))
			return CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
		for (size_t i = 0; i < cbor_map_size(by); i++) {
			struct cbor_pair p = cbor_map_handle(by)[i];
			if (!is_bytes(p.key))
				return CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
			if ((r = parse_prf_values(p.value, &tmp)) != 0)
				return r;
		}
	}
	cable_wipe(&tmp, sizeof(tmp));
	return 0;
}

/* The salts for one credential: its evalByCredential entry, else eval, else none. */
static void
select_prf_salts(const cbor_item_t *prf, const uint8_t *id, size_t id_len, struct prf_salts *out)
{
	const cbor_item_t *eval, *by;

	memset(out, 0, sizeof(*out));
	if (prf == NULL)
		return;
	by = cable_cbor_map_get_str(prf, "evalByCredential");
	if (by != NULL) {
		for (size_t i = 0; i < cbor_map_size(by); i++) {
			struct cbor_pair p = cbor_map_handle(by)[i];
			if (cbor_bytestring_length(p.key) == id_len &&
			    memcmp(cbor_bytestring_handle(p.key), id, id_len) == 0) {
				(void)parse_prf_values(p.value, out); /* checked before */
				return;
			}
		}
	}
	eval = cable_cbor_map_get_str(prf, "eval");
	if (eval != NULL)
		(void)parse_prf_values(eval, out);
}

/* Extensions map: text keys only; checks the inputs we implement and ignores the rest. */
static int
check_extensions(const cbor_item_t *ext, bool make_credential, const cbor_item_t **prf,
    bool *cred_props)
{
	const cbor_item_t *cp;
	int r;

	*prf = NULL;
	*cred_props = false;
	if (ext == NULL)
		return 0;
	if (!cbor_isa_map(ext))
		return CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	for (size_t i = 0; i < cbor_map_size(ext); i++)
		if (!is_text(cbor_map_handle(ext)[i].key))
			return CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	if ((*prf = cable_cbor_map_get_str(ext, "prf")) != NULL &&
	    (r = check_prf_input(*prf, !make_credential)) != 0)
		return r;
	if (make_credential && (cp = cable_cbor_map_get_str(ext, "credProps")) != NULL) {
		if (!is_bool(cp))
			return CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
		*cred_props = cbor_get_bool(cp);
	}
	return 0;
}

/* ---- responses --------------------------------------------------------------------------- */

static int
status_only(uint8_t status, uint8_t **resp, size_t *resp_len)
{
	uint8_t *b = malloc(1);

	if (b == NULL)
		return CABLE_ERR_NOMEM;
	b[0] = status;
	*resp = b;
	*resp_len = 1;
	return 0;
}

/* COSE_Key for an ES256 public key, 77 bytes. */
static void
write_cose_key(struct cable_cbw *w, const uint8_t pub[CABLE_P256_PUB_LEN])
{
	cable_cbw_map(w, 5);
	cable_cbw_uint(w, 1);
	cable_cbw_uint(w, 2); /* kty EC2 */
	cable_cbw_uint(w, 3);
	cable_cbw_int(w, -7); /* ES256 */
	cable_cbw_int(w, -1);
	cable_cbw_uint(w, 1); /* P-256 */
	cable_cbw_int(w, -2);
	cable_cbw_bytes(w, pub + 1, 32);
	cable_cbw_int(w, -3);
	cable_cbw_bytes(w, pub + 33, 32);
}

/* rpIdHash || flags || signCount, the 37 bytes every authData starts with. */
static void
write_auth_data_head(struct cable_cbw *w, const uint8_t rp_id_hash[32], uint8_t flags, uint32_t count)
{
	uint8_t c[4] = {(uint8_t)(count >> 24), (uint8_t)(count >> 16), (uint8_t)(count >> 8),
	    (uint8_t)count};

	cable_cbw_raw(w, rp_id_hash, 32);
	cable_cbw_raw(w, &flags, 1);
	cable_cbw_raw(w, c, 4);
}

/* ECDSA over authData || clientDataHash. */
static int
sign_auth_data(const struct cable_p256_key *key, const uint8_t *ad, size_t ad_len,
    const uint8_t cdh[CDH_LEN], uint8_t *sig, size_t *sig_len)
{
	uint8_t *msg;
	int r;

	if ((msg = malloc(ad_len + CDH_LEN)) == NULL)
		return CABLE_ERR_NOMEM;
	memcpy(msg, ad, ad_len);
	memcpy(msg + ad_len, cdh, CDH_LEN);
	r = cable_p256_sign(key, msg, ad_len + CDH_LEN, sig, sig_len);
	free(msg);
	return r;
}

/* {"results": {"first": .., "second"?: ..}} value of the prf output. */
static int
write_prf_results(struct cable_cbw *w, const uint8_t cred_random[32], const struct prf_salts *s)
{
	uint8_t out[32];
	int r;

	cable_cbw_map(w, s->has_second ? 2 : 1);
	cable_cbw_text(w, "first");
	if ((r = cable_hmac_sha256(cred_random, 32, s->first, SALT_LEN, out)) != 0)
		goto out;
	cable_cbw_bytes(w, out, 32);
	if (s->has_second) {
		cable_cbw_text(w, "second");
		if ((r = cable_hmac_sha256(cred_random, 32, s->second, SALT_LEN, out)) != 0)
			goto out;
		cable_cbw_bytes(w, out, 32);
	}
	r = 0;
out:
	cable_wipe(out, sizeof(out));
	return r;
}

/* Prefixes the status byte 0x00 to a CBOR body. */
static int
ok_response(struct cable_cbw *w, uint8_t **resp, size_t *resp_len)
{
	uint8_t *body, *b;
	size_t n;
	int r;

	if ((r = cable_cbw_finish(w, &body, &n)) != 0)
		return r;
	if ((b = malloc(n + 1)) == NULL) {
		free(body);
		return CABLE_ERR_NOMEM;
	}
	b[0] = CABLE_CTAP_OK;
	memcpy(b + 1, body, n);
	free(body);
	*resp = b;
	*resp_len = n + 1;
	return 0;
}

/* ---- store changes ----------------------------------------------------------------------- */

static int
persist(struct cable_authenticator *a)
{
	if (a->cfg.persist == NULL)
		return 0;
	return a->cfg.persist(a->cfg.persist_ctx, a->cfg.store) == 0 ? 0 : CABLE_ERR_STORE;
}

/* Next signature counter value: one global counter, saved before it is used. */
static int
counter_next(struct cable_authenticator *a, uint32_t *out)
{
	struct cable_cred_store *s = a->cfg.store;
	uint32_t old = s->counter;

	if (s->counter < UINT32_MAX)
		s->counter++;
	if (persist(a) != 0) {
		s->counter = old;
		return CABLE_ERR_STORE;
	}
	*out = s->counter;
	return 0;
}

static int
confirm(struct cable_authenticator *a, const struct cable_authenticator_prompt *p, size_t *selected)
{
	int r;

	*selected = 0;
	if (a->cfg.confirm == NULL)
		return 0;
	r = a->cfg.confirm(a->cfg.confirm_ctx, p, selected);
	if (r == 0)
		return 0;
	if (r == CABLE_CTAP2_ERR_USER_ACTION_TIMEOUT || r == CABLE_CTAP2_ERR_KEEPALIVE_CANCEL)
		return r;
	return CABLE_CTAP2_ERR_OPERATION_DENIED;
}

static char *
dup_truncated(const cbor_item_t *it)
{
	size_t n = 0;
	char *s;

	if (it != NULL)
		n = cable_utf8_truncate(cbor_string_handle(it), cbor_string_length(it), CABLE_USER_NAME_MAX);
	if ((s = malloc(n + 1)) == NULL)
		return NULL;
	if (n > 0)
		memcpy(s, cbor_string_handle(it), n);
	s[n] = '\0';
	return s;
}

static int
find_resident(const struct cable_cred_store *s, const char *rp_id, const uint8_t *user_id,
    size_t user_id_len)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->res[i].rp_id, rp_id) == 0 && s->res[i].user_id_len == user_id_len &&
		    memcmp(s->res[i].user_id, user_id, user_id_len) == 0)
			return (int)i;
	return -1;
}

static const struct cable_resident *
find_resident_by_id(const struct cable_cred_store *s, const uint8_t *id, size_t id_len)
{
	if (id_len != CABLE_CRED_ID_LEN)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		if (memcmp(s->res[i].id, id, CABLE_CRED_ID_LEN) == 0)
			return &s->res[i];
	return NULL;
}

/*
 * Stores a discoverable credential, replacing one for the same RP and user handle, then persists.
 * On failure the store is as before.
 */
static int
store_resident(struct cable_authenticator *a, const uint8_t id[CABLE_CRED_ID_LEN], const char *rp_id,
    const cbor_item_t *user_id, const cbor_item_t *name, const cbor_item_t *display_name)
{
	struct cable_cred_store *s = a->cfg.store;
	struct cable_resident e, old;
	int idx, r = CABLE_ERR_NOMEM;

	memset(&e, 0, sizeof(e));
	memcpy(e.id, id, CABLE_CRED_ID_LEN);
	e.user_id_len = cbor_bytestring_length(user_id);
	memcpy(e.user_id, cbor_bytestring_handle(user_id), e.user_id_len);
	if ((e.rp_id = strdup(rp_id)) == NULL || (e.user_name = dup_truncated(name)) == NULL ||
	    (e.user_display_name = dup_truncated(display_name)) == NULL)
		goto fail;
	idx = find_resident(s, rp_id, e.user_id, e.user_id_len);
	if (idx < 0 && s->n >= CABLE_CRED_STORE_MAX) {
		r = CABLE_CTAP2_ERR_KEY_STORE_FULL;
		goto fail;
	}
	if (idx >= 0) {
		old = s->res[idx];
		s->res[idx] = e;
	} else {
		s->res[s->n++] = e;
	}
	if ((r = persist(a)) != 0) {
		if (idx >= 0)
			s->res[idx] = old;
		else
			memset(&s->res[--s->n], 0, sizeof(s->res[0])); /* e still owns the strings */
		goto fail;
	}
	if (idx >= 0)
		cable_resident_clear(&old);
	return 0;
fail:
	cable_resident_clear(&e);
	return r;
}

/* ---- makeCredential ---------------------------------------------------------------------- */

/* Maps a negative internal result to "no response" and a store failure to CTAP1_ERR_OTHER. */
static int
finish_status(int r, uint8_t **resp, size_t *resp_len)
{
	if (r == CABLE_ERR_STORE)
		r = CABLE_CTAP1_ERR_OTHER;
	if (r < 0)
		return r;
	return status_only((uint8_t)r, resp, resp_len);
}

static int
make_credential(struct cable_authenticator *a, const cbor_item_t *req, uint8_t **resp, size_t *resp_len)
{
	const cbor_item_t *rp, *user, *params, *exclude, *ext, *opts, *it, *prf = NULL;
	const cbor_item_t *user_id, *user_name = NULL, *display_name = NULL, *rp_name = NULL;
	char rp_id[CABLE_RP_ID_MAX + 1];
	uint8_t cdh[CDH_LEN], rp_id_hash[32], id[CABLE_CRED_ID_LEN], sig[80];
	uint8_t *ad = NULL;
	size_t ad_len = 0, sig_len = sizeof(sig), selected;
	bool rk = false, up = true, present, cred_props = false, have_alg = false;
	enum cable_attestation att = a->cfg.attestation;
	struct cred_keys keys;
	struct cable_cbw w;
	struct cable_authenticator_prompt prompt;
	uint32_t count;
	int r;

	memset(&keys, 0, sizeof(keys));
	cable_cbw_init(&w, MAX_RESPONSE);

	/* Structure and types first, then the checks in the order of CTAP's algorithm. */
	if ((r = get_cdh(cable_cbor_map_get_int(req, 1), cdh)) != 0)
		goto out;
	if ((rp = cable_cbor_map_get_int(req, 2)) == NULL) {
		r = CABLE_CTAP2_ERR_MISSING_PARAMETER;
		goto out;
	}
	if (!cbor_isa_map(rp)) {
		r = CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
		goto out;
	}
	if ((r = get_rp_id(cable_cbor_map_get_str(rp, "id"), rp_id, rp_id_hash)) != 0 ||
	    (r = opt_text(rp, "name", &rp_name)) != 0)
		goto out;
	if ((user = cable_cbor_map_get_int(req, 3)) == NULL) {
		r = CABLE_CTAP2_ERR_MISSING_PARAMETER;
		goto out;
	}
	if (!cbor_isa_map(user)) {
		r = CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
		goto out;
	}
	if ((user_id = cable_cbor_map_get_str(user, "id")) == NULL) {
		r = CABLE_CTAP2_ERR_MISSING_PARAMETER;
		goto out;
	}
	if (!is_bytes(user_id)) {
		r = CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
		goto out;
	}
	if (cbor_bytestring_length(user_id) < 1 || cbor_bytestring_length(user_id) > CABLE_USER_ID_MAX) {
		r = CABLE_CTAP1_ERR_INVALID_PARAMETER;
		goto out;
	}
	if ((r = opt_text(user, "name", &user_name)) != 0 ||
	    (r = opt_text(user, "displayName", &display_name)) != 0)
		goto out;
	if ((params = cable_cbor_map_get_int(req, 4)) == NULL) {
		r = CABLE_CTAP2_ERR_MISSING_PARAMETER;
		goto out;
	}
	if (!cbor_isa_array(params)) {
		r = CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
		goto out;
	}
	for (size_t i = 0; i < cbor_array_size(params); i++) {
		const cbor_item_t *p = cbor_array_handle(params)[i], *alg, *type;
		int64_t v;
		if (!cbor_isa_map(p)) {
			r = CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
			goto out;
		}
		alg = cable_cbor_map_get_str(p, "alg");
		type = cable_cbor_map_get_str(p, "type");
		if (alg == NULL || type == NULL) {
			r = CABLE_CTAP2_ERR_INVALID_CBOR;
			goto out;
		}
		if (cable_cbor_get_int(alg, &v) != 0 || !is_text(type)) {
			r = CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
			goto out;
		}
		if (v == -7 && text_eq(type, "public-key"))
			have_alg = true;
	}
	if ((exclude = cable_cbor_map_get_int(req, 5)) != NULL && (r = check_descriptors(exclude)) != 0)
		goto out;
	ext = cable_cbor_map_get_int(req, 6);
	if ((r = check_extensions(ext, true, &prf, &cred_props)) != 0)
		goto out;
	if ((opts = cable_cbor_map_get_int(req, 7)) != NULL) {
		bool uv;
		if (!cbor_isa_map(opts)) {
			r = CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
			goto out;
		}
		if ((r = opt_bool(opts, "rk", &present, &rk)) != 0 ||
		    (r = opt_bool(opts, "up", &present, &up)) != 0 ||
		    (r = opt_bool(opts, "uv", &present, &uv)) != 0)
			goto out;
	}
	if ((r = check_pin_uv_auth(cable_cbor_map_get_int(req, 8), cable_cbor_map_get_int(req, 9))) != 0)
		goto out;
	if ((it = cable_cbor_map_get_int(req, 10)) != NULL) {
		/* enterpriseAttestation: not capable, so any value is an invalid parameter. */
		r = cbor_isa_uint(it) ? CABLE_CTAP1_ERR_INVALID_PARAMETER : CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
		goto out;
	}
	if ((it = cable_cbor_map_get_int(req, 11)) != NULL) {
		bool chosen = false;
		if (!cbor_isa_array(it)) {
			r = CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
			goto out;
		}
		for (size_t i = 0; i < cbor_array_size(it); i++) {
			const cbor_item_t *f = cbor_array_handle(it)[i];
			if (!is_text(f)) {
				r = CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
				goto out;
			}
			if (!chosen && text_eq(f, "none")) {
				att = CABLE_ATTESTATION_NONE;
				chosen = true;
			} else if (!chosen && text_eq(f, "packed")) {
				att = CABLE_ATTESTATION_PACKED_SELF;
				chosen = true;
			}
		}
	}
	if (!have_alg) {
		r = CABLE_CTAP2_ERR_UNSUPPORTED_ALGORITHM;
		goto out;
	}
	if (!up) {
		r = CABLE_CTAP2_ERR_INVALID_OPTION;
		goto out;
	}

	/* excludeList: one of ours for this RP means: confirm, then 0x19. */
	for (size_t i = 0; exclude != NULL && i < cbor_array_size(exclude); i++) {
		const cbor_item_t *d = cbor_array_handle(exclude)[i];
		const cbor_item_t *did = cable_cbor_map_get_str(d, "id");
		if (!text_eq(cable_cbor_map_get_str(d, "type"), "public-key"))
			continue;
		if ((r = cred_check(a, cbor_bytestring_handle(did), cbor_bytestring_length(did), rp_id_hash)) < 0)
			goto out;
		if (r == 1) {
			memset(&prompt, 0, sizeof(prompt));
			prompt.kind = CABLE_PROMPT_EXCLUDED;
			prompt.rp_id = rp_id;
			r = confirm(a, &prompt, &selected);
			if (r == 0)
				r = CABLE_CTAP2_ERR_CREDENTIAL_EXCLUDED;
			goto out;
		}
	}
	if (rk && a->cfg.store->n >= CABLE_CRED_STORE_MAX &&
	    find_resident(a->cfg.store, rp_id, cbor_bytestring_handle(user_id),
	        cbor_bytestring_length(user_id)) < 0) {
		r = CABLE_CTAP2_ERR_KEY_STORE_FULL;
		goto out;
	}

	memset(&prompt, 0, sizeof(prompt));
	prompt.kind = CABLE_PROMPT_MAKE_CREDENTIAL;
	prompt.rp_id = rp_id;
	{
		char *n = dup_truncated(user_name), *d = dup_truncated(display_name);
		if (n == NULL || d == NULL) {
			free(n);
			free(d);
			r = CABLE_ERR_NOMEM;
			goto out;
		}
		prompt.user_name = n;
		prompt.user_display_name = d;
		prompt.resident = rk;
		r = confirm(a, &prompt, &selected);
		free(n);
		free(d);
	}
	if (r != 0)
		goto out;

	if ((r = cred_new(a, rp_id_hash, rk, id, &keys)) != 0)
		goto out;
	if (!rk) {
		if ((r = counter_next(a, &count)) != 0)
			goto out;
	} else {
		/* The counter and the new passkey go to storage together, or neither does. */
		uint32_t old = a->cfg.store->counter;
		if (a->cfg.store->counter < UINT32_MAX)
			a->cfg.store->counter++;
		count = a->cfg.store->counter;
		if ((r = store_resident(a, id, rp_id, user_id, user_name, display_name)) != 0) {
			a->cfg.store->counter = old;
			goto out;
		}
	}

	{
		/* authData: built once in its own buffer because it is both signed and embedded. */
		struct cable_cbw adw;
		uint8_t idlen[2] = {0, CABLE_CRED_ID_LEN};
		cable_cbw_init(&adw, MAX_RESPONSE);
		write_auth_data_head(&adw, rp_id_hash, FLAG_UP | FLAG_UV | FLAG_AT, count);
		cable_cbw_raw(&adw, aaguid, sizeof(aaguid));
		cable_cbw_raw(&adw, idlen, 2);
		cable_cbw_raw(&adw, id, CABLE_CRED_ID_LEN);
		write_cose_key(&adw, keys.key.pub);
		if ((r = cable_cbw_finish(&adw, &ad, &ad_len)) != 0)
			goto out;
	}
	if (att == CABLE_ATTESTATION_PACKED_SELF &&
	    (r = sign_auth_data(&keys.key, ad, ad_len, cdh, sig, &sig_len)) != 0)
		goto out;

	{
		bool want_prf = prf != NULL, want_cp = cred_props;
		struct prf_salts salts;
		cable_cbw_map(&w, (want_prf || want_cp) ? 4 : 3);
		cable_cbw_uint(&w, 1);
		cable_cbw_text(&w, att == CABLE_ATTESTATION_PACKED_SELF ? "packed" : "none");
		cable_cbw_uint(&w, 2);
		cable_cbw_bytes(&w, ad, ad_len);
		cable_cbw_uint(&w, 3);
		if (att == CABLE_ATTESTATION_PACKED_SELF) {
			cable_cbw_map(&w, 2);
			cable_cbw_text(&w, "alg");
			cable_cbw_int(&w, -7);
			cable_cbw_text(&w, "sig");
			cable_cbw_bytes(&w, sig, sig_len);
		} else {
			cable_cbw_map(&w, 0);
		}
		if (want_prf || want_cp) {
			/* Unsigned extension outputs, key 6; "prf" sorts before "credProps" (length first). */
			cable_cbw_uint(&w, 6);
			cable_cbw_map(&w, (size_t)want_prf + (size_t)want_cp);
			if (want_prf) {
				select_prf_salts(prf, NULL, 0, &salts);
				cable_cbw_text(&w, "prf");
				cable_cbw_map(&w, salts.present ? 2 : 1);
				cable_cbw_text(&w, "enabled");
				cable_cbw_bool(&w, true);
				if (salts.present) {
					cable_cbw_text(&w, "results");
					r = write_prf_results(&w, keys.cred_random, &salts);
				}
				cable_wipe(&salts, sizeof(salts));
				if (r != 0)
					goto out;
			}
			if (want_cp) {
				cable_cbw_text(&w, "credProps");
				cable_cbw_map(&w, 1);
				cable_cbw_text(&w, "rk");
				cable_cbw_bool(&w, rk);
			}
		}
	}
	if ((r = ok_response(&w, resp, resp_len)) != 0)
		goto out;
	r = 0;
out:
	cred_keys_wipe(&keys);
	cable_cbw_discard(&w);
	free(ad);
	if (r != 0)
		return finish_status(r, resp, resp_len);
	return 0;
}

/* ---- getAssertion ------------------------------------------------------------------------ */

/* The user entity of a response: which members a phone or a security key includes. */
enum user_form {
	USER_NONE,
	USER_ID_ONLY,
	USER_EMPTY_NAMES, /* {id, name: "", displayName: ""}: Chrome's phone after account selection */
	USER_FULL,
};

/* Signs one assertion and writes the response map. */
static int
write_assertion(struct cable_authenticator *a, const uint8_t *id, const uint8_t rp_id_hash[32],
    const uint8_t cdh[CDH_LEN], uint8_t flags, const struct cable_resident *user, enum user_form form,
    size_t number_of_credentials, bool user_selected, const struct prf_salts *salts,
    uint8_t **resp, size_t *resp_len)
{
	struct cred_keys keys;
	struct cable_cbw w, adw;
	uint8_t *ad = NULL, sig[80];
	size_t ad_len = 0, sig_len = sizeof(sig), nkeys = 3;
	bool want_prf = salts->present && (flags & FLAG_UV);
	uint32_t count;
	int r;

	memset(&keys, 0, sizeof(keys));
	cable_cbw_init(&w, MAX_RESPONSE);
	cable_cbw_init(&adw, MAX_RESPONSE);
	if ((r = cred_derive(a->cfg.store, id, rp_id_hash, &keys)) != 0)
		goto out;
	if ((r = counter_next(a, &count)) != 0)
		goto out;
	write_auth_data_head(&adw, rp_id_hash, flags, count);
	if ((r = cable_cbw_finish(&adw, &ad, &ad_len)) != 0)
		goto out;
	if ((r = sign_auth_data(&keys.key, ad, ad_len, cdh, sig, &sig_len)) != 0)
		goto out;

	if (user == NULL)
		form = USER_NONE;
	nkeys += (form != USER_NONE) + (number_of_credentials > 1) + user_selected + want_prf;
	cable_cbw_map(&w, nkeys);
	cable_cbw_uint(&w, 1);
	cable_cbw_map(&w, 2);
	cable_cbw_text(&w, "id");
	cable_cbw_bytes(&w, id, CABLE_CRED_ID_LEN);
	cable_cbw_text(&w, "type");
	cable_cbw_text(&w, "public-key");
	cable_cbw_uint(&w, 2);
	cable_cbw_bytes(&w, ad, ad_len);
	cable_cbw_uint(&w, 3);
	cable_cbw_bytes(&w, sig, sig_len);
	if (form != USER_NONE) {
		bool names = form == USER_EMPTY_NAMES || form == USER_FULL;
		cable_cbw_uint(&w, 4);
		cable_cbw_map(&w, names ? 3 : 1);
		cable_cbw_text(&w, "id");
		cable_cbw_bytes(&w, user->user_id, user->user_id_len);
		if (names) {
			cable_cbw_text(&w, "name");
			cable_cbw_text(&w, form == USER_FULL ? user->user_name : "");
			cable_cbw_text(&w, "displayName");
			cable_cbw_text(&w, form == USER_FULL ? user->user_display_name : "");
		}
	}
	if (number_of_credentials > 1) {
		cable_cbw_uint(&w, 5);
		cable_cbw_uint(&w, number_of_credentials);
	}
	if (user_selected) {
		cable_cbw_uint(&w, 6);
		cable_cbw_bool(&w, true);
	}
	if (want_prf) {
		cable_cbw_uint(&w, 8);
		cable_cbw_map(&w, 1);
		cable_cbw_text(&w, "prf");
		cable_cbw_map(&w, 1);
		cable_cbw_text(&w, "results");
		if ((r = write_prf_results(&w, keys.cred_random, salts)) != 0)
			goto out;
	}
	r = ok_response(&w, resp, resp_len);
out:
	cred_keys_wipe(&keys);
	cable_cbw_discard(&w);
	cable_cbw_discard(&adw);
	free(ad);
	return r;
}

static void
pending_clear(struct pending *p)
{
	cable_wipe(p, sizeof(*p));
}

static int
get_assertion(struct cable_authenticator *a, const cbor_item_t *req, uint8_t **resp, size_t *resp_len)
{
	const struct cable_cred_store *s = a->cfg.store;
	const cbor_item_t *allow, *opts, *prf = NULL;
	char rp_id[CABLE_RP_ID_MAX + 1];
	uint8_t cdh[CDH_LEN], rp_id_hash[32];
	bool up = true, uv = false, present, cred_props;
	struct cable_authenticator_prompt prompt;
	struct cable_prompt_account *accounts = NULL;
	size_t *match = NULL, nmatch = 0, selected = 0;
	const uint8_t *found_id = NULL;
	struct prf_salts salts;
	uint8_t flags;
	int r;

	memset(&salts, 0, sizeof(salts));
	if ((r = get_rp_id(cable_cbor_map_get_int(req, 1), rp_id, rp_id_hash)) != 0)
		goto out;
	if ((r = get_cdh(cable_cbor_map_get_int(req, 2), cdh)) != 0)
		goto out;
	if ((allow = cable_cbor_map_get_int(req, 3)) != NULL) {
		if ((r = check_descriptors(allow)) != 0)
			goto out;
		if (cbor_array_size(allow) == 0)
			allow = NULL; /* an empty list asks for discoverable credentials */
	}
	if ((r = check_extensions(cable_cbor_map_get_int(req, 4), false, &prf, &cred_props)) != 0)
		goto out;
	if ((opts = cable_cbor_map_get_int(req, 5)) != NULL) {
		bool rk;
		if (!cbor_isa_map(opts)) {
			r = CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
			goto out;
		}
		if ((r = opt_bool(opts, "up", &present, &up)) != 0 ||
		    (r = opt_bool(opts, "uv", &present, &uv)) != 0 ||
		    (r = opt_bool(opts, "rk", &present, &rk)) != 0)
			goto out;
		if (present) {
			r = CABLE_CTAP2_ERR_UNSUPPORTED_OPTION;
			goto out;
		}
	}
	if ((r = check_pin_uv_auth(cable_cbor_map_get_int(req, 6), cable_cbor_map_get_int(req, 7))) != 0)
		goto out;

	/* Locate the credentials. */
	if (allow != NULL) {
		for (size_t i = 0; i < cbor_array_size(allow) && found_id == NULL; i++) {
			const cbor_item_t *d = cbor_array_handle(allow)[i];
			const cbor_item_t *did = cable_cbor_map_get_str(d, "id");
			if (!text_eq(cable_cbor_map_get_str(d, "type"), "public-key"))
				continue;
			r = cred_check(a, cbor_bytestring_handle(did), cbor_bytestring_length(did), rp_id_hash);
			if (r < 0)
				goto out;
			if (r == 1)
				found_id = cbor_bytestring_handle(did);
		}
		r = 0;
		if (found_id == NULL) {
			r = CABLE_CTAP2_ERR_NO_CREDENTIALS;
			goto out;
		}
	} else {
		if ((match = calloc(s->n ? s->n : 1, sizeof(*match))) == NULL ||
		    (accounts = calloc(s->n ? s->n : 1, sizeof(*accounts))) == NULL) {
			r = CABLE_ERR_NOMEM;
			goto out;
		}
		/* Most recently created first, as account pickers list them. */
		for (size_t i = s->n; i-- > 0;) {
			if (strcmp(s->res[i].rp_id, rp_id) != 0)
				continue;
			accounts[nmatch].user_id = s->res[i].user_id;
			accounts[nmatch].user_id_len = s->res[i].user_id_len;
			accounts[nmatch].user_name = s->res[i].user_name;
			accounts[nmatch].user_display_name = s->res[i].user_display_name;
			match[nmatch++] = i;
		}
		if (nmatch == 0) {
			r = CABLE_CTAP2_ERR_NO_CREDENTIALS;
			goto out;
		}
	}

	flags = 0;
	if (up) {
		memset(&prompt, 0, sizeof(prompt));
		prompt.kind = CABLE_PROMPT_GET_ASSERTION;
		prompt.rp_id = rp_id;
		if (allow == NULL && !a->cfg.list_accounts) {
			prompt.accounts = accounts;
			prompt.n_accounts = nmatch;
		}
		if ((r = confirm(a, &prompt, &selected)) != 0)
			goto out;
		if (prompt.n_accounts == 0 || selected >= nmatch)
			selected = 0;
		flags = FLAG_UP | FLAG_UV;
	}

	if (allow != NULL) {
		select_prf_salts(prf, found_id, CABLE_CRED_ID_LEN, &salts);
		r = write_assertion(a, found_id, rp_id_hash, cdh, flags,
		    find_resident_by_id(s, found_id, CABLE_CRED_ID_LEN), USER_ID_ONLY, 0, false, &salts,
		    resp, resp_len);
		goto out;
	}
	if (up && !a->cfg.list_accounts) {
		/* The user picked one account on the authenticator, as a phone does. */
		const struct cable_resident *e = &s->res[match[selected]];
		select_prf_salts(prf, e->id, CABLE_CRED_ID_LEN, &salts);
		r = write_assertion(a, e->id, rp_id_hash, cdh, flags, e, USER_EMPTY_NAMES, 0, true, &salts,
		    resp, resp_len);
		goto out;
	}
	/* Security-key style: the first account now, the rest through getNextAssertion. */
	{
		const struct cable_resident *e = &s->res[match[0]];
		struct pending *p = &a->pending;
		select_prf_salts(prf, e->id, CABLE_CRED_ID_LEN, &salts);
		r = write_assertion(a, e->id, rp_id_hash, cdh, flags, e,
		    (flags & FLAG_UV) ? USER_FULL : USER_ID_ONLY, nmatch, false, &salts, resp, resp_len);
		if (r != 0 || nmatch < 2)
			goto out;
		pending_clear(p);
		p->active = true;
		p->expires = cable_env_now(a->env) + CABLE_AUTHENTICATOR_NEXT_TIMEOUT;
		memcpy(p->rp_id_hash, rp_id_hash, 32);
		memcpy(p->cdh, cdh, CDH_LEN);
		p->flags = flags;
		p->next = 1;
		p->n = nmatch;
		for (size_t i = 0; i < nmatch; i++) {
			memcpy(p->ids[i], s->res[match[i]].id, CABLE_CRED_ID_LEN);
			select_prf_salts(prf, p->ids[i], CABLE_CRED_ID_LEN, &p->salts[i]);
		}
	}
out:
	cable_wipe(&salts, sizeof(salts));
	free(match);
	free(accounts);
	if (r != 0)
		return finish_status(r, resp, resp_len);
	return 0;
}

static int
get_next_assertion(struct cable_authenticator *a, uint8_t **resp, size_t *resp_len)
{
	struct pending *p = &a->pending;
	const struct cable_resident *e;
	size_t i;
	int r;

	if (!p->active || cable_env_now(a->env) > p->expires || p->next >= p->n) {
		pending_clear(p);
		return status_only(CABLE_CTAP2_ERR_NOT_ALLOWED, resp, resp_len);
	}
	i = p->next++;
	/* The credential may have been replaced since; then it is skipped by the user lookup. */
	e = find_resident_by_id(a->cfg.store, p->ids[i], CABLE_CRED_ID_LEN);
	r = write_assertion(a, p->ids[i], p->rp_id_hash, p->cdh, p->flags, e,
	    (p->flags & FLAG_UV) ? USER_FULL : USER_ID_ONLY, 0, false, &p->salts[i], resp, resp_len);
	if (p->next >= p->n)
		pending_clear(p);
	if (r != 0)
		return finish_status(r, resp, resp_len);
	return 0;
}

static int
selection(struct cable_authenticator *a, uint8_t **resp, size_t *resp_len)
{
	struct cable_authenticator_prompt prompt;
	size_t selected;
	int r;

	memset(&prompt, 0, sizeof(prompt));
	prompt.kind = CABLE_PROMPT_SELECTION;
	r = confirm(a, &prompt, &selected);
	return status_only((uint8_t)r, resp, resp_len);
}

/* ---- getInfo and dispatch ---------------------------------------------------------------- */

static int
build_info(uint8_t **out, size_t *out_len)
{
	struct cable_cbw w;

	cable_cbw_init(&w, 0);
	cable_cbw_map(&w, 9);
	cable_cbw_uint(&w, 1); /* versions */
	cable_cbw_array(&w, 2);
	cable_cbw_text(&w, "FIDO_2_0");
	cable_cbw_text(&w, "FIDO_2_1");
	cable_cbw_uint(&w, 2); /* extensions */
	cable_cbw_array(&w, 1);
	cable_cbw_text(&w, "prf");
	cable_cbw_uint(&w, 3); /* aaguid */
	cable_cbw_bytes(&w, aaguid, sizeof(aaguid));
	cable_cbw_uint(&w, 4); /* options, canonical order: rk, up, uv, plat */
	cable_cbw_map(&w, 4);
	cable_cbw_text(&w, "rk");
	cable_cbw_bool(&w, true);
	cable_cbw_text(&w, "up");
	cable_cbw_bool(&w, true);
	cable_cbw_text(&w, "uv");
	cable_cbw_bool(&w, true);
	cable_cbw_text(&w, "plat");
	cable_cbw_bool(&w, false);
	cable_cbw_uint(&w, 5);
	cable_cbw_uint(&w, CABLE_AUTHENTICATOR_MAX_MSG_SIZE);
	cable_cbw_uint(&w, 7);
	cable_cbw_uint(&w, CABLE_AUTHENTICATOR_MAX_CRED_COUNT_IN_LIST);
	cable_cbw_uint(&w, 8);
	cable_cbw_uint(&w, CABLE_AUTHENTICATOR_MAX_CRED_ID_LENGTH);
	cable_cbw_uint(&w, 9); /* transports */
	cable_cbw_array(&w, 2);
	cable_cbw_text(&w, "hybrid");
	cable_cbw_text(&w, "internal");
	cable_cbw_uint(&w, 10); /* algorithms */
	cable_cbw_array(&w, 1);
	cable_cbw_map(&w, 2);
	cable_cbw_text(&w, "alg");
	cable_cbw_int(&w, -7);
	cable_cbw_text(&w, "type");
	cable_cbw_text(&w, "public-key");
	return cable_cbw_finish(&w, out, out_len);
}

struct cable_authenticator *
cable_authenticator_new(const struct cable_env *env, const struct cable_authenticator_config *cfg)
{
	struct cable_authenticator *a;

	if (env == NULL || cfg == NULL || cfg->store == NULL)
		return NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->env = env;
	a->cfg = *cfg;
	if (build_info(&a->info, &a->info_len) != 0) {
		free(a);
		return NULL;
	}
	return a;
}

void
cable_authenticator_free(struct cable_authenticator **ap)
{
	struct cable_authenticator *a;

	if (ap == NULL || (a = *ap) == NULL)
		return;
	free(a->info);
	cable_wipe(a, sizeof(*a));
	free(a);
	*ap = NULL;
}

int
cable_authenticator_get_info(const struct cable_authenticator *a, const uint8_t **cbor, size_t *len)
{
	if (a == NULL || cbor == NULL || len == NULL)
		return CABLE_ERR_ARG;
	*cbor = a->info;
	*len = a->info_len;
	return 0;
}

/* Loads the request map: a non-canonical or malformed body is CTAP2_ERR_INVALID_CBOR. */
static int
load_request(const uint8_t *body, size_t len, cbor_item_t **out)
{
	cbor_item_t *it = NULL;
	int r;

	if (len == 0)
		return CABLE_CTAP2_ERR_MISSING_PARAMETER;
	if ((r = cable_cbor_load(body, len, CABLE_CBOR_CANONICAL, &it)) != 0)
		return r == CABLE_ERR_NOMEM ? r : CABLE_CTAP2_ERR_INVALID_CBOR;
	if (!cbor_isa_map(it)) {
		cbor_decref(&it);
		return CABLE_CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	}
	*out = it;
	return 0;
}

int
cable_authenticator_handle(struct cable_authenticator *a, const uint8_t *req, size_t req_len,
    uint8_t **resp, size_t *resp_len)
{
	cbor_item_t *map = NULL;
	uint8_t cmd;
	int r;

	if (a == NULL || req == NULL || resp == NULL || resp_len == NULL)
		return CABLE_ERR_ARG;
	if (req_len == 0 || req_len > CABLE_AUTHENTICATOR_MAX_MSG_SIZE)
		return status_only(CABLE_CTAP1_ERR_INVALID_LENGTH, resp, resp_len);
	cmd = req[0];
	/* Any command but getNextAssertion ends a pending assertion sequence. */
	if (cmd != CABLE_CTAP_GET_NEXT_ASSERTION)
		pending_clear(&a->pending);
	switch (cmd) {
	case CABLE_CTAP_GET_INFO: {
		uint8_t *b;
		if (req_len != 1)
			return status_only(CABLE_CTAP1_ERR_INVALID_LENGTH, resp, resp_len);
		if ((b = malloc(a->info_len + 1)) == NULL)
			return CABLE_ERR_NOMEM;
		b[0] = CABLE_CTAP_OK;
		memcpy(b + 1, a->info, a->info_len);
		*resp = b;
		*resp_len = a->info_len + 1;
		return 0;
	}
	case CABLE_CTAP_GET_NEXT_ASSERTION:
		if (req_len != 1)
			return status_only(CABLE_CTAP1_ERR_INVALID_LENGTH, resp, resp_len);
		return get_next_assertion(a, resp, resp_len);
	case CABLE_CTAP_SELECTION:
		if (req_len != 1)
			return status_only(CABLE_CTAP1_ERR_INVALID_LENGTH, resp, resp_len);
		return selection(a, resp, resp_len);
	case CABLE_CTAP_MAKE_CREDENTIAL:
	case CABLE_CTAP_GET_ASSERTION:
		if ((r = load_request(req + 1, req_len - 1, &map)) != 0)
			return finish_status(r, resp, resp_len);
		if (cmd == CABLE_CTAP_MAKE_CREDENTIAL)
			r = make_credential(a, map, resp, resp_len);
		else
			r = get_assertion(a, map, resp, resp_len);
		cbor_decref(&map);
		return r;
	default:
		return status_only(CABLE_CTAP1_ERR_INVALID_COMMAND, resp, resp_len);
	}
}

/* WebAuthn Level 3 JSON <-> CTAP2 translation for cablectl create/get: pure, no I/O. */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#ifdef CABLE_HAVE_PSL
#include <libpsl.h>
#endif

#include "cable/bytes.h"
#include "cable/cbor.h"
#include "cable/crypto.h"
#include "cable/error.h"
#include "cable/p256.h"
#include "cable/webauthn.h"

#define CTAP_MAKE_CREDENTIAL 0x01
#define CTAP_GET_ASSERTION 0x02

#define MAX_ORIGIN_LEN 2048
#define MAX_DOMAIN_LEN 253
#define MAX_CHALLENGE_LEN 1024
#define MAX_USER_ID_LEN 64
#define MAX_TEXT_LEN 1024        /* rp.name, user.name, user.displayName (bytes of UTF-8) */
#define MAX_ALGS 32
#define MAX_PRF_INPUT_LEN 1024
#define MAX_AUTHDATA_LEN (16u * 1024u)
#define MAX_SIGNATURE_LEN 1024
#define MAX_FMT_LEN 32
#define MIN_TIMEOUT_MS 1000u
#define MAX_TIMEOUT_MS 600000u

#define AD_FLAG_UP 0x01
#define AD_FLAG_UV 0x04
#define AD_FLAG_AT 0x40
#define AD_FLAG_ED 0x80

#define COSE_ES256 (-7)
#define COSE_EDDSA (-8)
#define COSE_RS256 (-257)

struct cred_id {
	uint8_t *id;
	size_t len;
};

struct cable_webauthn_request {
	bool create;
	char *origin;
	char *rp_id;
	char *client_data_json;
	uint8_t cdh[CABLE_SHA256_LEN];
	uint8_t *ctap;
	size_t ctap_len;
	uint32_t timeout_ms;
	bool uv_required; /* userVerification "required": the UV flag must come back */
	bool rk;          /* rk:true was sent (also the credProps answer) */
	bool cred_props;  /* credProps was requested */
	bool prf;         /* prf was requested */
	int64_t algs[MAX_ALGS];
	size_t n_algs;
	struct cred_id *allow; /* get: the allowList as sent */
	size_t n_allow;
};

/* Collects the first error message; later ones are dropped since the first names the cause. */
struct ctx {
	char *msg;
};

static int failf(struct ctx *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
failf(struct ctx *c, int code, const char *fmt, ...)
{
	va_list ap;

	if (c->msg == NULL) {
		va_start(ap, fmt);
		if (vasprintf(&c->msg, fmt, ap) < 0)
			c->msg = NULL;
		va_end(ap);
		/* Messages quote untrusted text (origins, RP IDs, JSON near an error) and end up on a
		 * terminal: keep them to printable ASCII so no escape sequence gets through. */
		for (char *p = c->msg; p != NULL && *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
	}
	return code;
}

static void
hand_over_error(struct ctx *c, int r, char **errmsg)
{
	if (errmsg != NULL) {
		if (c->msg == NULL)
			c->msg = strdup(cable_strerror(r));
		*errmsg = c->msg;
		c->msg = NULL;
	}
	free(c->msg);
	c->msg = NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Origin and RP ID
 */

static bool
is_ldh(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
}

/* A lower-case ASCII domain name: LDH labels of 1..63 characters, total at most 253. */
static bool
valid_domain(const char *s, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > MAX_DOMAIN_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!is_ldh(s[i]) || ++label > 63)
			return false;
	}
	return label != 0;
}

/* Dotted-decimal (or any all-digit last label): browsers treat such hosts as IPv4 addresses. */
static bool
looks_like_ipv4(const char *s, size_t len)
{
	size_t i = len;

	while (i > 0 && s[i - 1] != '.')
		i--;
	if (i == len)
		return false;
	for (size_t j = i; j < len; j++)
		if (s[j] < '0' || s[j] > '9')
			return false;
	return true;
}

/*
 * Normalises an origin to scheme://host[:port] (lower case, default port dropped) and returns
 * the host separately. Only https is allowed, and http for localhost, as browsers treat it as a
 * secure context.
 */
static int
parse_origin(struct ctx *c, const char *origin, char **norm, char **host_out)
{
	char buf[MAX_ORIGIN_LEN + 1];
	size_t len, hlen, plen = 0, i;
	const char *host, *port = NULL, *end;
	bool https;
	unsigned long portnum = 0;
	char *h = NULL, *n = NULL;
	int r = CABLE_ERR_WEBAUTHN_ORIGIN;

	if (origin == NULL)
		return failf(c, CABLE_ERR_ARG, "origin: missing");
	len = strnlen(origin, MAX_ORIGIN_LEN + 1);
	if (len > MAX_ORIGIN_LEN)
		return failf(c, r, "origin: longer than %d characters", MAX_ORIGIN_LEN);
	for (i = 0; i < len; i++)
		buf[i] = (char)tolower((unsigned char)origin[i]);
	buf[len] = '\0';
	if (strncmp(buf, "https://", 8) == 0) {
		https = true;
		host = buf + 8;
	} else if (strncmp(buf, "http://", 7) == 0) {
		https = false;
		host = buf + 7;
	} else {
		return failf(c, r, "origin: \"%s\" is not an https:// origin", origin);
	}
	end = buf + len;
	if (end > host && end[-1] == '/')
		end--; /* "https://example.com/" is a URL of the origin; accept it */
	for (const char *p = host; p < end; p++) {
		if (*p == '/' || *p == '?' || *p == '#' || *p == '@' || *p == '\\')
			return failf(c, r, "origin: \"%s\" has a path, query, fragment or user; give "
					   "only scheme://host[:port]", origin);
	}
	if (host < end && *host == '[')
		return failf(c, r, "origin: \"%s\": an IP address cannot be used for WebAuthn", origin);
	hlen = (size_t)(end - host);
	for (i = 0; i < hlen; i++) {
		if (host[i] == ':') {
			port = host + i + 1;
			plen = hlen - i - 1;
			hlen = i;
			break;
		}
	}
	if (!valid_domain(host, hlen))
		return failf(c, r, "origin: \"%s\" does not name a valid host (ASCII letters, digits, "
				   "hyphens and dots; use the xn-- form of international names)", origin);
	if (looks_like_ipv4(host, hlen))
		return failf(c, r, "origin: \"%s\": an IP address cannot be used for WebAuthn", origin);
	if (port != NULL) {
		if (plen == 0 || plen > 5)
			return failf(c, r, "origin: \"%s\" has an invalid port", origin);
		for (i = 0; i < plen; i++) {
			if (port[i] < '0' || port[i] > '9')
				return failf(c, r, "origin: \"%s\" has an invalid port", origin);
			portnum = portnum * 10 + (unsigned long)(port[i] - '0');
		}
		if (portnum == 0 || portnum > 65535)
			return failf(c, r, "origin: \"%s\" has an invalid port", origin);
		if (portnum == (https ? 443ul : 80ul))
			port = NULL;
	}
	/* Browsers count localhost and *.localhost as secure contexts (Chrome's
	 * IsUrlPotentiallyTrustworthy); every other http origin is refused. */
	if (!https && !(hlen == 9 && memcmp(host, "localhost", 9) == 0) &&
	    !(hlen > 10 && memcmp(host + hlen - 10, ".localhost", 10) == 0))
		return failf(c, r, "origin: \"%s\": WebAuthn needs https (plain http is allowed only "
				   "for http://localhost)", origin);
	if ((h = strndup(host, hlen)) == NULL)
		return CABLE_ERR_NOMEM;
	if (asprintf(&n, "%s://%s%s%.*s", https ? "https" : "http", h, port ? ":" : "",
		port ? (int)plen : 0, port ? port : "") < 0) {
		free(h);
		return CABLE_ERR_NOMEM;
	}
	*norm = n;
	*host_out = h;
	return 0;
}

/*
 * HTML's "is a registrable domain suffix of or is equal to": rp_id equals host, or host ends in
 * "." + rp_id and rp_id is not a public suffix (nor inside one), on the Public Suffix List with
 * private registries, as Chrome checks RP IDs.
 */
static int
check_rp_id(struct ctx *c, const char *path, const char *rp_id, const char *host)
{
	size_t rl = strlen(rp_id), hl = strlen(host);

	if (!valid_domain(rp_id, rl)) {
		for (size_t i = 0; i < rl; i++)
			if (rp_id[i] >= 'A' && rp_id[i] <= 'Z')
				return failf(c, CABLE_ERR_WEBAUTHN_RP_ID,
				    "%s: \"%s\" must be lower case", path, rp_id);
		return failf(c, CABLE_ERR_WEBAUTHN_RP_ID, "%s: \"%s\" is not a valid domain", path,
		    rp_id);
	}
	if (rl == hl && memcmp(rp_id, host, rl) == 0)
		return 0;
	if (looks_like_ipv4(rp_id, rl) || rl >= hl || host[hl - rl - 1] != '.' ||
	    memcmp(host + hl - rl, rp_id, rl) != 0)
		return failf(c, CABLE_ERR_WEBAUTHN_RP_ID,
		    "%s: \"%s\" is neither the origin's host \"%s\" nor a suffix of it", path, rp_id,
		    host);
#ifdef CABLE_HAVE_PSL
	{
		const psl_ctx_t *psl = psl_builtin();
		const char *reg;
		size_t gl;

		if (psl == NULL)
			return failf(c, CABLE_ERR_WEBAUTHN_RP_ID,
			    "%s: \"%s\" differs from the origin's host and libpsl has no built-in "
			    "Public Suffix List to check it against", path, rp_id);
		reg = psl_registrable_domain(psl, host);
		gl = reg != NULL ? strlen(reg) : 0;
		if (reg == NULL || rl < gl ||
		    memcmp(rp_id + rl - gl, reg, gl) != 0 || (rl > gl && rp_id[rl - gl - 1] != '.'))
			return failf(c, CABLE_ERR_WEBAUTHN_RP_ID,
			    "%s: \"%s\" is a public suffix (Public Suffix List), not a registrable "
			    "domain of \"%s\"", path, rp_id, host);
		return 0;
	}
#else
	return failf(c, CABLE_ERR_WEBAUTHN_RP_ID,
	    "%s: \"%s\" differs from the origin's host \"%s\" and this build has no Public Suffix "
	    "List (libpsl) to check it against", path, rp_id, host);
#endif
}

/* ---------------------------------------------------------------------------------------------
 * JSON member access: JSON null counts as absent; every error names the member.
 */

static json_t *
member(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_null(v) ? NULL : v;
}

static int
get_object(struct ctx *c, json_t *obj, const char *path, const char *key, bool required,
    json_t **out)
{
	json_t *v = member(obj, key);

	*out = NULL;
	if (v == NULL)
		return required ? failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "%s.%s: missing", path, key) : 0;
	if (!json_is_object(v))
		return failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "%s.%s: must be an object", path, key);
	*out = v;
	return 0;
}

static int
get_array(struct ctx *c, json_t *obj, const char *path, const char *key, bool required,
    size_t max, json_t **out)
{
	json_t *v = member(obj, key);

	*out = NULL;
	if (v == NULL)
		return required ? failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "%s.%s: missing", path, key) : 0;
	if (!json_is_array(v))
		return failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "%s.%s: must be an array", path, key);
	if (json_array_size(v) > max)
		return failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "%s.%s: more than %zu entries", path, key,
		    max);
	*out = v;
	return 0;
}

static int
get_string(struct ctx *c, json_t *obj, const char *path, const char *key, bool required,
    size_t max, const char **out)
{
	json_t *v = member(obj, key);

	*out = NULL;
	if (v == NULL)
		return required ? failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "%s.%s: missing", path, key) : 0;
	if (!json_is_string(v))
		return failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "%s.%s: must be a string", path, key);
	if (json_string_length(v) > max)
		return failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "%s.%s: longer than %zu bytes", path, key,
		    max);
	*out = json_string_value(v);
	return 0;
}

static int
get_bool(struct ctx *c, json_t *obj, const char *path, const char *key, bool *present, bool *out)
{
	json_t *v = member(obj, key);

	*present = false;
	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "%s.%s: must be true or false", path, key);
	*present = true;
	*out = json_is_true(v);
	return 0;
}

/* Decodes a base64url string of min..max bytes. */
static int
decode_b64(struct ctx *c, json_t *v, const char *path, size_t min, size_t max, uint8_t **out,
    size_t *out_len)
{
	uint8_t *buf = NULL;
	size_t n = 0;

	if (!json_is_string(v))
		return failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "%s: must be a base64url string", path);
	if (json_string_length(v) > (max + 2) / 3 * 4)
		return failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "%s: longer than %zu bytes", path, max);
	if (cable_base64url_decode(json_string_value(v), json_string_length(v), &buf, &n) != 0)
		return failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "%s: not valid base64url", path);
	if (n < min || n > max) {
		free(buf);
		if (min == max)
			return failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "%s: must be %zu bytes", path, min);
		if (n < min)
			return failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "%s: must be at least %zu bytes",
			    path, min);
		return failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "%s: longer than %zu bytes", path, max);
	}
	*out = buf;
	*out_len = n;
	return 0;
}

static int
get_b64(struct ctx *c, json_t *obj, const char *path, const char *key, bool required, size_t min,
    size_t max, uint8_t **out, size_t *out_len)
{
	char p[256];
	json_t *v = member(obj, key);

	*out = NULL;
	*out_len = 0;
	snprintf(p, sizeof(p), "%s.%s", path, key);
	if (v == NULL)
		return required ? failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "%s: missing", p) : 0;
	return decode_b64(c, v, p, min, max, out, out_len);
}

/* Validates an optional array of strings whose contents are not used (hints, transports). */
static int
check_string_array(struct ctx *c, json_t *obj, const char *path, const char *key)
{
	json_t *arr, *v;
	size_t i;
	int r;

	if ((r = get_array(c, obj, path, key, false, 64, &arr)) != 0 || arr == NULL)
		return r;
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v))
			return failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "%s.%s[%zu]: must be a string",
			    path, key, i);
	}
	return 0;
}

/* Parses the options text; unwraps {"publicKey": {...}} as navigator.credentials takes it. */
static int
load_options(struct ctx *c, const char *options_json, json_t **root, json_t **opts,
    const char **path)
{
	json_error_t jerr;
	json_t *j, *pk;
	size_t len;

	if (options_json == NULL)
		return failf(c, CABLE_ERR_ARG, "options: missing");
	len = strnlen(options_json, CABLE_WEBAUTHN_MAX_OPTIONS_LEN + 1);
	if (len > CABLE_WEBAUTHN_MAX_OPTIONS_LEN)
		return failf(c, CABLE_ERR_TOO_BIG, "options: larger than %u bytes",
		    CABLE_WEBAUTHN_MAX_OPTIONS_LEN);
	if ((j = json_loadb(options_json, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "options: invalid JSON at line %d column %d: %s",
		    jerr.line, jerr.column, jerr.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "options: must be a JSON object");
	}
	*path = "options";
	*opts = j;
	pk = member(j, "publicKey");
	if (pk != NULL && member(j, "challenge") == NULL) {
		if (!json_is_object(pk)) {
			json_decref(j);
			return failf(c, CABLE_ERR_WEBAUTHN_OPTIONS,
			    "options.publicKey: must be an object");
		}
		*path = "options.publicKey";
		*opts = pk;
	}
	*root = j;
	return 0;
}

static int
parse_timeout(struct ctx *c, json_t *opts, const char *path, uint32_t *out)
{
	json_t *v = member(opts, "timeout");
	double ms;

	*out = CABLE_WEBAUTHN_DEFAULT_TIMEOUT_MS;
	if (v == NULL)
		return 0;
	if (json_is_integer(v)) {
		json_int_t iv = json_integer_value(v);
		ms = (double)iv;
	} else if (json_is_real(v)) {
		ms = json_real_value(v);
	} else {
		return failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "%s.timeout: must be a number", path);
	}
	if (!(ms >= 0))
		return failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "%s.timeout: must not be negative", path);
	if (ms < MIN_TIMEOUT_MS)
		ms = MIN_TIMEOUT_MS;
	if (ms > MAX_TIMEOUT_MS)
		ms = MAX_TIMEOUT_MS;
	*out = (uint32_t)ms;
	return 0;
}

/* "required" and "preferred" (default) ask the phone for UV; unknown values count as absent. */
static int
parse_user_verification(struct ctx *c, json_t *obj, const char *path, bool *uv, bool *required)
{
	const char *s;
	int r;

	*uv = true;
	*required = false;
	if ((r = get_string(c, obj, path, "userVerification", false, 64, &s)) != 0)
		return r;
	if (s != NULL && strcmp(s, "required") == 0)
		*required = true;
	else if (s != NULL && strcmp(s, "discouraged") == 0)
		*uv = false;
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * CBOR building. Maps are put into canonical order by canonicalise() before encoding, so the
 * builders need not care; the unit tests check the result with the canonical scanner.
 */

static cbor_item_t *
int_item(int64_t v)
{
	uint64_t u = v >= 0 ? (uint64_t)v : (uint64_t)(-1 - v);

	if (v >= 0) {
		if (u <= 0xff)
			return cbor_build_uint8((uint8_t)u);
		if (u <= 0xffff)
			return cbor_build_uint16((uint16_t)u);
		if (u <= 0xffffffffu)
			return cbor_build_uint32((uint32_t)u);
		return cbor_build_uint64(u);
	}
	if (u <= 0xff)
		return cbor_build_negint8((uint8_t)u);
	if (u <= 0xffff)
		return cbor_build_negint16((uint16_t)u);
	if (u <= 0xffffffffu)
		return cbor_build_negint32((uint32_t)u);
	return cbor_build_negint64(u);
}

static cbor_item_t *
text_item(const char *s)
{
	return cbor_build_stringn(s, strlen(s));
}

/* Adds key -> value and drops the caller's references (either may be NULL after an OOM). */
static bool
map_put(cbor_item_t *map, cbor_item_t *k, cbor_item_t *v)
{
	bool ok = map != NULL && k != NULL && v != NULL && cbor_map_add(map, (struct cbor_pair){k, v});

	if (k != NULL)
		cbor_decref(&k);
	if (v != NULL)
		cbor_decref(&v);
	return ok;
}

static bool
array_push(cbor_item_t *arr, cbor_item_t *v)
{
	bool ok = arr != NULL && v != NULL && cbor_array_push(arr, v);

	if (v != NULL)
		cbor_decref(&v);
	return ok;
}

struct keyed_pair {
	struct cbor_pair pair;
	unsigned char *key;
	size_t key_len;
};

static int
keyed_cmp(const void *a, const void *b)
{
	const struct keyed_pair *x = a, *y = b;

	if (x->key_len != y->key_len)
		return x->key_len < y->key_len ? -1 : 1;
	return memcmp(x->key, y->key, x->key_len);
}

/*
 * Sorts every map (recursively) into CTAP2 canonical order: shorter encoded key first, then
 * bytewise. Duplicate keys are an error (CABLE_ERR_CBOR_NONCANONICAL).
 */
static int
canonicalise(cbor_item_t *item, unsigned depth)
{
	struct keyed_pair *kp = NULL;
	size_t n;
	int r = CABLE_ERR_INTERNAL;

	if (depth > CABLE_CBOR_MAX_DEPTH)
		return CABLE_ERR_CBOR;
	if (cbor_isa_array(item)) {
		n = cbor_array_size(item);
		for (size_t i = 0; i < n; i++)
			if ((r = canonicalise(cbor_array_handle(item)[i], depth + 1)) != 0)
				return r;
		return 0;
	}
	if (!cbor_isa_map(item))
		return 0;
	n = cbor_map_size(item);
	if (n == 0)
		return 0;
	if ((kp = calloc(n, sizeof(*kp))) == NULL)
		return CABLE_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t cap = 0;
		kp[i].pair = cbor_map_handle(item)[i];
		if ((r = canonicalise(kp[i].pair.value, depth + 1)) != 0)
			goto out;
		if ((kp[i].key_len = cbor_serialize_alloc(kp[i].pair.key, &kp[i].key, &cap)) == 0) {
			r = CABLE_ERR_NOMEM;
			goto out;
		}
	}
	qsort(kp, n, sizeof(*kp), keyed_cmp);
	for (size_t i = 0; i + 1 < n; i++) {
		if (keyed_cmp(&kp[i], &kp[i + 1]) == 0) {
			r = CABLE_ERR_CBOR_NONCANONICAL;
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++)
		cbor_map_handle(item)[i] = kp[i].pair;
	r = 0;
out:
	if (kp != NULL)
		for (size_t i = 0; i < n; i++)
			free(kp[i].key);
	free(kp);
	return r;
}

/* cmd || canonical CBOR of map. */
static int
encode_request(uint8_t cmd, cbor_item_t *map, uint8_t **out, size_t *out_len)
{
	uint8_t *cbor = NULL, *buf;
	size_t n = 0;
	int r;

	if ((r = canonicalise(map, 0)) != 0)
		return r;
	if ((r = cable_cbor_encode(map, &cbor, &n)) != 0)
		return r;
	if ((buf = malloc(n + 1)) == NULL) {
		cable_wipe(cbor, n);
		free(cbor);
		return CABLE_ERR_NOMEM;
	}
	buf[0] = cmd;
	memcpy(buf + 1, cbor, n);
	cable_wipe(cbor, n);
	free(cbor);
	*out = buf;
	*out_len = n + 1;
	return 0;
}

/* {"id": bytes, "type": "public-key"} */
static cbor_item_t *
descriptor_item(const uint8_t *id, size_t len)
{
	cbor_item_t *m = cbor_new_definite_map(2);

	if (!map_put(m, text_item("id"), cbor_build_bytestring(id, len)) ||
	    !map_put(m, text_item("type"), text_item("public-key"))) {
		if (m != NULL)
			cbor_decref(&m);
		return NULL;
	}
	return m;
}

/*
 * Reads a credential descriptor list; entries whose type is not "public-key" are skipped as
 * browsers do. The kept IDs go to *ids (caller frees each).
 */
static int
parse_descriptors(struct ctx *c, json_t *opts, const char *path, const char *key,
    struct cred_id **ids, size_t *n_ids)
{
	json_t *arr, *e;
	struct cred_id *list = NULL;
	size_t i, n = 0;
	char p[256];
	int r;

	*ids = NULL;
	*n_ids = 0;
	if ((r = get_array(c, opts, path, key, false, CABLE_WEBAUTHN_MAX_CREDENTIALS, &arr)) != 0)
		return r;
	if (arr == NULL || json_array_size(arr) == 0)
		return 0;
	if ((list = calloc(json_array_size(arr), sizeof(*list))) == NULL)
		return CABLE_ERR_NOMEM;
	json_array_foreach(arr, i, e) {
		const char *type;
		snprintf(p, sizeof(p), "%s.%s[%zu]", path, key, i);
		if (!json_is_object(e)) {
			r = failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "%s: must be an object", p);
			goto out;
		}
		if ((r = get_string(c, e, p, "type", true, 64, &type)) != 0 ||
		    (r = check_string_array(c, e, p, "transports")) != 0)
			goto out;
		if ((r = get_b64(c, e, p, "id", true, 1, CABLE_WEBAUTHN_MAX_CREDENTIAL_ID_LEN,
			 &list[n].id, &list[n].len)) != 0)
			goto out;
		if (strcmp(type, "public-key") != 0) {
			free(list[n].id);
			list[n].id = NULL;
			continue;
		}
		n++;
	}
	*ids = list;
	*n_ids = n;
	list = NULL;
	r = 0;
out:
	if (list != NULL) {
		for (i = 0; i < json_array_size(arr); i++)
			free(list[i].id);
		free(list);
	}
	return r;
}

static cbor_item_t *
descriptor_list_item(const struct cred_id *ids, size_t n)
{
	cbor_item_t *arr = cbor_new_definite_array(n);

	for (size_t i = 0; arr != NULL && i < n; i++) {
		if (!array_push(arr, descriptor_item(ids[i].id, ids[i].len))) {
			cbor_decref(&arr);
			return NULL;
		}
	}
	return arr;
}

static void
free_cred_ids(struct cred_id *ids, size_t n)
{
	if (ids == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(ids[i].id);
	free(ids);
}

/* ---------------------------------------------------------------------------------------------
 * prf: inputs are hashed into salts here (the phone takes them as they are), ctap-reference §6.5.
 */

static int
prf_salt(const uint8_t *in, size_t len, uint8_t out[CABLE_SHA256_LEN])
{
	static const uint8_t label[] = "WebAuthn PRF"; /* the terminating NUL is part of the label */

	return cable_sha256(label, sizeof(label), in, len, out) == 0 ? 0 : CABLE_ERR_CRYPTO;
}

/* {"first": salt, "second"?: salt} from an AuthenticationExtensionsPRFValuesJSON. */
static int
prf_values_item(struct ctx *c, json_t *v, const char *path, cbor_item_t **out)
{
	static const char *const names[2] = {"first", "second"};
	cbor_item_t *m = NULL;
	int r;

	if (!json_is_object(v))
		return failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "%s: must be an object", path);
	if ((m = cbor_new_definite_map(2)) == NULL)
		return CABLE_ERR_NOMEM;
	for (int i = 0; i < 2; i++) {
		uint8_t *in = NULL, salt[CABLE_SHA256_LEN];
		size_t len = 0;
		if ((r = get_b64(c, v, path, names[i], i == 0, 0, MAX_PRF_INPUT_LEN, &in, &len)) != 0)
			goto fail;
		if (member(v, names[i]) == NULL)
			continue;
		r = prf_salt(in, len, salt);
		if (in != NULL)
			cable_wipe(in, len);
		free(in);
		if (r != 0)
			goto fail;
		if (!map_put(m, text_item(names[i]), cbor_build_bytestring(salt, sizeof(salt)))) {
			cable_wipe(salt, sizeof(salt));
			r = CABLE_ERR_NOMEM;
			goto fail;
		}
		cable_wipe(salt, sizeof(salt));
	}
	*out = m;
	return 0;
fail:
	cbor_decref(&m);
	return r;
}

/*
 * extensions.prf -> the CTAP "prf" input. At create only eval is allowed; at get,
 * evalByCredential keys must name credentials of the allow list (WebAuthn L3 §10.1.4).
 */
static int
prf_input_item(struct ctx *c, json_t *prf, const char *path, bool create,
    const struct cred_id *allow, size_t n_allow, cbor_item_t **out)
{
	json_t *eval, *by_cred;
	cbor_item_t *m = NULL, *vals = NULL, *by = NULL;
	char p[512];
	int r;

	if ((r = get_object(c, prf, path, "eval", false, &eval)) != 0 ||
	    (r = get_object(c, prf, path, "evalByCredential", false, &by_cred)) != 0)
		return r;
	if ((m = cbor_new_definite_map(2)) == NULL)
		return CABLE_ERR_NOMEM;
	if (eval != NULL) {
		snprintf(p, sizeof(p), "%s.eval", path);
		if ((r = prf_values_item(c, eval, p, &vals)) != 0)
			goto fail;
		if (!map_put(m, text_item("eval"), vals)) {
			r = CABLE_ERR_NOMEM;
			goto fail;
		}
	}
	if (by_cred != NULL && json_object_size(by_cred) > 0) {
		const char *k;
		json_t *v;

		if (create) {
			r = failf(c, CABLE_ERR_WEBAUTHN_OPTIONS,
			    "%s.evalByCredential: not allowed when creating a credential", path);
			goto fail;
		}
		if (n_allow == 0) {
			r = failf(c, CABLE_ERR_WEBAUTHN_OPTIONS,
			    "%s.evalByCredential: needs a non-empty allowCredentials", path);
			goto fail;
		}
		if ((by = cbor_new_definite_map(json_object_size(by_cred))) == NULL) {
			r = CABLE_ERR_NOMEM;
			goto fail;
		}
		json_object_foreach(by_cred, k, v) {
			uint8_t *id = NULL;
			size_t id_len = 0;
			bool found = false;
			json_t *ks = json_string(k);

			snprintf(p, sizeof(p), "%s.evalByCredential[\"%s\"]", path, k);
			if (ks == NULL) {
				r = CABLE_ERR_NOMEM;
				goto fail;
			}
			r = decode_b64(c, ks, p, 1, CABLE_WEBAUTHN_MAX_CREDENTIAL_ID_LEN, &id, &id_len);
			json_decref(ks);
			if (r != 0)
				goto fail;
			for (size_t i = 0; i < n_allow && !found; i++)
				found = allow[i].len == id_len && memcmp(allow[i].id, id, id_len) == 0;
			if (!found) {
				free(id);
				r = failf(c, CABLE_ERR_WEBAUTHN_OPTIONS,
				    "%s: names a credential that is not in allowCredentials", p);
				goto fail;
			}
			if ((r = prf_values_item(c, v, p, &vals)) != 0) {
				free(id);
				goto fail;
			}
			if (!map_put(by, cbor_build_bytestring(id, id_len), vals)) {
				free(id);
				r = CABLE_ERR_NOMEM;
				goto fail;
			}
			free(id);
		}
		if (!map_put(m, text_item("evalByCredential"), by)) {
			by = NULL;
			r = CABLE_ERR_NOMEM;
			goto fail;
		}
		by = NULL;
	}
	*out = m;
	return 0;
fail:
	if (by != NULL)
		cbor_decref(&by);
	cbor_decref(&m);
	return r;
}

/* ---------------------------------------------------------------------------------------------
 * begin
 */

static int
make_client_data(struct cable_webauthn_request *req, const char *type, const uint8_t *challenge,
    size_t challenge_len)
{
	char *b64 = NULL;
	int r;

	if ((r = cable_base64url_encode(challenge, challenge_len, &b64)) != 0)
		return r;
	/* The origin and the base64url text need no JSON escaping; key order is the browsers'. */
	r = asprintf(&req->client_data_json,
	    "{\"type\":\"%s\",\"challenge\":\"%s\",\"origin\":\"%s\",\"crossOrigin\":false}", type,
	    b64, req->origin);
	free(b64);
	if (r < 0) {
		req->client_data_json = NULL;
		return CABLE_ERR_NOMEM;
	}
	return cable_sha256((const uint8_t *)req->client_data_json, strlen(req->client_data_json),
		   NULL, 0, req->cdh) == 0 ? 0 : CABLE_ERR_CRYPTO;
}

static int
parse_challenge(struct ctx *c, json_t *opts, const char *path, uint8_t **challenge, size_t *len)
{
	return get_b64(c, opts, path, "challenge", true, 1, MAX_CHALLENGE_LEN, challenge, len);
}

static int
begin_common(struct ctx *c, const char *origin, const char *options_json, bool create,
    struct cable_webauthn_request **reqp, json_t **root, json_t **opts, const char **path,
    char **host)
{
	struct cable_webauthn_request *req;
	int r;

	if ((req = calloc(1, sizeof(*req))) == NULL)
		return CABLE_ERR_NOMEM;
	req->create = create;
	if ((r = parse_origin(c, origin, &req->origin, host)) != 0 ||
	    (r = load_options(c, options_json, root, opts, path)) != 0) {
		cable_webauthn_request_free(&req);
		return r;
	}
	*reqp = req;
	return 0;
}

static int
parse_create(struct ctx *c, struct cable_webauthn_request *req, json_t *opts, const char *path,
    const char *host)
{
	json_t *rp, *user, *params, *sel, *ext, *e, *prf = NULL;
	const char *rp_id, *rp_name, *user_name, *display, *s;
	uint8_t *challenge = NULL, *user_id = NULL;
	size_t challenge_len = 0, user_id_len = 0, i;
	struct cred_id *exclude = NULL;
	size_t n_exclude = 0;
	bool uv, present, b;
	cbor_item_t *m = NULL, *rp_m = NULL, *user_m = NULL, *alg_a = NULL, *opt_m = NULL;
	char p[256];
	int r;

	/* Members in the order a reader of the error messages expects them. */
	if ((r = get_object(c, opts, path, "rp", true, &rp)) != 0)
		goto out;
	snprintf(p, sizeof(p), "%s.rp", path);
	if ((r = get_string(c, rp, p, "id", false, MAX_DOMAIN_LEN, &rp_id)) != 0 ||
	    (r = get_string(c, rp, p, "name", true, MAX_TEXT_LEN, &rp_name)) != 0)
		goto out;
	if ((r = get_object(c, opts, path, "user", true, &user)) != 0)
		goto out;
	snprintf(p, sizeof(p), "%s.user", path);
	if ((r = get_b64(c, user, p, "id", true, 1, MAX_USER_ID_LEN, &user_id, &user_id_len)) != 0 ||
	    (r = get_string(c, user, p, "name", true, MAX_TEXT_LEN, &user_name)) != 0 ||
	    (r = get_string(c, user, p, "displayName", true, MAX_TEXT_LEN, &display)) != 0)
		goto out;
	if ((r = parse_challenge(c, opts, path, &challenge, &challenge_len)) != 0)
		goto out;
	if ((r = get_array(c, opts, path, "pubKeyCredParams", true, MAX_ALGS, &params)) != 0)
		goto out;
	json_array_foreach(params, i, e) {
		const char *type;
		json_t *alg;
		snprintf(p, sizeof(p), "%s.pubKeyCredParams[%zu]", path, i);
		if (!json_is_object(e)) {
			r = failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "%s: must be an object", p);
			goto out;
		}
		if ((r = get_string(c, e, p, "type", true, 64, &type)) != 0)
			goto out;
		if ((alg = member(e, "alg")) == NULL) {
			r = failf(c, CABLE_ERR_WEBAUTHN_OPTIONS, "%s.alg: missing", p);
			goto out;
		}
		if (!json_is_integer(alg) || json_integer_value(alg) < INT32_MIN ||
		    json_integer_value(alg) > INT32_MAX) {
			r = failf(c, CABLE_ERR_WEBAUTHN_OPTIONS,
			    "%s.alg: must be a COSE algorithm number", p);
			goto out;
		}
		if (strcmp(type, "public-key") == 0)
			req->algs[req->n_algs++] = json_integer_value(alg);
	}
	if (json_array_size(params) == 0) {
		req->algs[req->n_algs++] = COSE_ES256;
		req->algs[req->n_algs++] = COSE_RS256;
	} else if (req->n_algs == 0) {
		r = failf(c, CABLE_ERR_WEBAUTHN_OPTIONS,
		    "%s.pubKeyCredParams: no entry of type \"public-key\"", path);
		goto out;
	}
	if ((r = parse_timeout(c, opts, path, &req->timeout_ms)) != 0 ||
	    (r = parse_descriptors(c, opts, path, "excludeCredentials", &exclude, &n_exclude)) != 0 ||
	    (r = check_string_array(c, opts, path, "hints")) != 0 ||
	    (r = check_string_array(c, opts, path, "attestationFormats")) != 0 ||
	    (r = get_string(c, opts, path, "attestation", false, 64, &s)) != 0)
		goto out;
	/* authenticatorSelection: residentKey wins over the legacy requireResidentKey. */
	uv = true;
	if ((r = get_object(c, opts, path, "authenticatorSelection", false, &sel)) != 0)
		goto out;
	if (sel != NULL) {
		const char *rk;
		snprintf(p, sizeof(p), "%s.authenticatorSelection", path);
		if ((r = get_string(c, sel, p, "authenticatorAttachment", false, 64, &s)) != 0 ||
		    (r = get_string(c, sel, p, "residentKey", false, 64, &rk)) != 0 ||
		    (r = get_bool(c, sel, p, "requireResidentKey", &present, &b)) != 0 ||
		    (r = parse_user_verification(c, sel, p, &uv, &req->uv_required)) != 0)
			goto out;
		if (rk != NULL && (strcmp(rk, "required") == 0 || strcmp(rk, "preferred") == 0))
			req->rk = true;
		else if ((rk == NULL || strcmp(rk, "discouraged") != 0) && present && b)
			req->rk = true;
	}
	if ((r = get_object(c, opts, path, "extensions", false, &ext)) != 0)
		goto out;
	if (ext != NULL) {
		snprintf(p, sizeof(p), "%s.extensions", path);
		if ((r = get_bool(c, ext, p, "credProps", &present, &b)) != 0 ||
		    (r = get_object(c, ext, p, "prf", false, &prf)) != 0)
			goto out;
		req->cred_props = present && b;
		req->prf = prf != NULL;
	}
	/* RP ID last among the checks: the message about a malformed member comes first. */
	if ((req->rp_id = strdup(rp_id != NULL ? rp_id : host)) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	snprintf(p, sizeof(p), "%s.rp.id", path);
	if ((r = check_rp_id(c, p, req->rp_id, host)) != 0)
		goto out;
	if ((r = make_client_data(req, "webauthn.create", challenge, challenge_len)) != 0)
		goto out;

	r = CABLE_ERR_NOMEM;
	if ((m = cbor_new_definite_map(7)) == NULL)
		goto out;
	if (!map_put(m, int_item(1), cbor_build_bytestring(req->cdh, sizeof(req->cdh))))
		goto out;
	if ((rp_m = cbor_new_definite_map(2)) == NULL || !map_put(rp_m, text_item("id"), text_item(req->rp_id)) ||
	    !map_put(rp_m, text_item("name"), text_item(rp_name)))
		goto out;
	if (!map_put(m, int_item(2), rp_m)) {
		rp_m = NULL;
		goto out;
	}
	rp_m = NULL;
	if ((user_m = cbor_new_definite_map(3)) == NULL ||
	    !map_put(user_m, text_item("id"), cbor_build_bytestring(user_id, user_id_len)) ||
	    !map_put(user_m, text_item("name"), text_item(user_name)) ||
	    !map_put(user_m, text_item("displayName"), text_item(display)))
		goto out;
	if (!map_put(m, int_item(3), user_m)) {
		user_m = NULL;
		goto out;
	}
	user_m = NULL;
	if ((alg_a = cbor_new_definite_array(req->n_algs)) == NULL)
		goto out;
	for (i = 0; i < req->n_algs; i++) {
		cbor_item_t *pm = cbor_new_definite_map(2);
		if (!map_put(pm, text_item("alg"), int_item(req->algs[i])) ||
		    !map_put(pm, text_item("type"), text_item("public-key"))) {
			if (pm != NULL)
				cbor_decref(&pm);
			goto out;
		}
		if (!array_push(alg_a, pm))
			goto out;
	}
	if (!map_put(m, int_item(4), alg_a)) {
		alg_a = NULL;
		goto out;
	}
	alg_a = NULL;
	if (n_exclude > 0 && !map_put(m, int_item(5), descriptor_list_item(exclude, n_exclude)))
		goto out;
	if (prf != NULL) {
		cbor_item_t *ext_m = cbor_new_definite_map(1), *prf_m = NULL;
		snprintf(p, sizeof(p), "%s.extensions.prf", path);
		if (ext_m == NULL)
			goto out;
		if ((r = prf_input_item(c, prf, p, true, NULL, 0, &prf_m)) != 0) {
			cbor_decref(&ext_m);
			goto out;
		}
		r = CABLE_ERR_NOMEM;
		if (!map_put(ext_m, text_item("prf"), prf_m)) {
			cbor_decref(&ext_m);
			goto out;
		}
		if (!map_put(m, int_item(6), ext_m))
			goto out;
	}
	/* PRF outputs differ with and without UV and WebAuthn exposes the UV one: like Chrome,
	 * ask for UV whenever prf is requested, even when the RP said "discouraged". */
	uv = uv || prf != NULL;
	if (req->rk || uv) {
		if ((opt_m = cbor_new_definite_map(2)) == NULL)
			goto out;
		if (req->rk && !map_put(opt_m, text_item("rk"), cbor_build_bool(true)))
			goto out;
		if (uv && !map_put(opt_m, text_item("uv"), cbor_build_bool(true)))
			goto out;
		if (!map_put(m, int_item(7), opt_m)) {
			opt_m = NULL;
			goto out;
		}
		opt_m = NULL;
	}
	r = encode_request(CTAP_MAKE_CREDENTIAL, m, &req->ctap, &req->ctap_len);
out:
	if (m != NULL)
		cbor_decref(&m);
	if (rp_m != NULL)
		cbor_decref(&rp_m);
	if (user_m != NULL)
		cbor_decref(&user_m);
	if (alg_a != NULL)
		cbor_decref(&alg_a);
	if (opt_m != NULL)
		cbor_decref(&opt_m);
	free_cred_ids(exclude, n_exclude);
	free(challenge);
	free(user_id);
	return r;
}

static int
parse_get(struct ctx *c, struct cable_webauthn_request *req, json_t *opts, const char *path,
    const char *host)
{
	json_t *ext, *prf = NULL;
	const char *rp_id;
	uint8_t *challenge = NULL;
	size_t challenge_len = 0;
	bool uv;
	cbor_item_t *m = NULL, *opt_m = NULL;
	char p[256];
	int r;

	if ((r = parse_challenge(c, opts, path, &challenge, &challenge_len)) != 0 ||
	    (r = parse_timeout(c, opts, path, &req->timeout_ms)) != 0 ||
	    (r = get_string(c, opts, path, "rpId", false, MAX_DOMAIN_LEN, &rp_id)) != 0 ||
	    (r = parse_descriptors(c, opts, path, "allowCredentials", &req->allow, &req->n_allow)) != 0 ||
	    (r = parse_user_verification(c, opts, path, &uv, &req->uv_required)) != 0 ||
	    (r = check_string_array(c, opts, path, "hints")) != 0 ||
	    (r = get_object(c, opts, path, "extensions", false, &ext)) != 0)
		goto out;
	if (ext != NULL) {
		snprintf(p, sizeof(p), "%s.extensions", path);
		if ((r = get_object(c, ext, p, "prf", false, &prf)) != 0)
			goto out;
		req->prf = prf != NULL;
	}
	if ((req->rp_id = strdup(rp_id != NULL ? rp_id : host)) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	snprintf(p, sizeof(p), "%s.rpId", path);
	if ((r = check_rp_id(c, p, req->rp_id, host)) != 0)
		goto out;
	if ((r = make_client_data(req, "webauthn.get", challenge, challenge_len)) != 0)
		goto out;

	r = CABLE_ERR_NOMEM;
	if ((m = cbor_new_definite_map(5)) == NULL ||
	    !map_put(m, int_item(1), text_item(req->rp_id)) ||
	    !map_put(m, int_item(2), cbor_build_bytestring(req->cdh, sizeof(req->cdh))))
		goto out;
	if (req->n_allow > 0 &&
	    !map_put(m, int_item(3), descriptor_list_item(req->allow, req->n_allow)))
		goto out;
	if (prf != NULL) {
		cbor_item_t *ext_m = cbor_new_definite_map(1), *prf_m = NULL;
		snprintf(p, sizeof(p), "%s.extensions.prf", path);
		if (ext_m == NULL)
			goto out;
		if ((r = prf_input_item(c, prf, p, false, req->allow, req->n_allow, &prf_m)) != 0) {
			cbor_decref(&ext_m);
			goto out;
		}
		r = CABLE_ERR_NOMEM;
		if (!map_put(ext_m, text_item("prf"), prf_m)) {
			cbor_decref(&ext_m);
			goto out;
		}
		if (!map_put(m, int_item(4), ext_m))
			goto out;
	}
	uv = uv || prf != NULL; /* as at create: PRF wants the UV output */
	if (uv) {
		if ((opt_m = cbor_new_definite_map(1)) == NULL ||
		    !map_put(opt_m, text_item("uv"), cbor_build_bool(true)))
			goto out;
		if (!map_put(m, int_item(5), opt_m)) {
			opt_m = NULL;
			goto out;
		}
		opt_m = NULL;
	}
	r = encode_request(CTAP_GET_ASSERTION, m, &req->ctap, &req->ctap_len);
out:
	if (m != NULL)
		cbor_decref(&m);
	if (opt_m != NULL)
		cbor_decref(&opt_m);
	free(challenge);
	return r;
}

static int
begin(const char *origin, const char *options_json, bool create,
    struct cable_webauthn_request **reqp, char **errmsg)
{
	struct ctx c = {NULL};
	struct cable_webauthn_request *req = NULL;
	json_t *root = NULL, *opts = NULL;
	const char *path = "options";
	char *host = NULL;
	int r;

	if (errmsg != NULL)
		*errmsg = NULL;
	if (reqp == NULL) {
		r = CABLE_ERR_ARG;
		goto out;
	}
	if ((r = begin_common(&c, origin, options_json, create, &req, &root, &opts, &path, &host)) != 0)
		goto out;
	r = create ? parse_create(&c, req, opts, path, host) : parse_get(&c, req, opts, path, host);
	if (r != 0)
		goto out;
	*reqp = req;
	req = NULL;
out:
	if (r != 0)
		hand_over_error(&c, r, errmsg);
	cable_webauthn_request_free(&req);
	json_decref(root);
	free(host);
	return r;
}

int
cable_webauthn_create_begin(const char *origin, const char *options_json,
    struct cable_webauthn_request **req, char **errmsg)
{
	return begin(origin, options_json, true, req, errmsg);
}

int
cable_webauthn_get_begin(const char *origin, const char *options_json,
    struct cable_webauthn_request **req, char **errmsg)
{
	return begin(origin, options_json, false, req, errmsg);
}

void
cable_webauthn_request_ctap(const struct cable_webauthn_request *req, const uint8_t **buf,
    size_t *len)
{
	*buf = req->ctap;
	*len = req->ctap_len;
}

const char *
cable_webauthn_request_rp_id(const struct cable_webauthn_request *req)
{
	return req->rp_id;
}

const char *
cable_webauthn_request_type(const struct cable_webauthn_request *req)
{
	return req->create ? "mc" : "ga";
}

uint32_t
cable_webauthn_request_timeout_ms(const struct cable_webauthn_request *req)
{
	return req->timeout_ms;
}

const char *
cable_webauthn_request_client_data_json(const struct cable_webauthn_request *req)
{
	return req->client_data_json;
}

const char *
cable_webauthn_request_origin(const struct cable_webauthn_request *req)
{
	return req->origin;
}

void
cable_webauthn_request_free(struct cable_webauthn_request **reqp)
{
	struct cable_webauthn_request *req;

	if (reqp == NULL || (req = *reqp) == NULL)
		return;
	if (req->ctap != NULL)
		cable_wipe(req->ctap, req->ctap_len); /* may hold PRF salts */
	free(req->ctap);
	free(req->origin);
	free(req->rp_id);
	free(req->client_data_json);
	free_cred_ids(req->allow, req->n_allow);
	cable_wipe(req, sizeof(*req));
	free(req);
	*reqp = NULL;
}

/* ---------------------------------------------------------------------------------------------
 * finish: CTAP2 response -> RegistrationResponseJSON / AuthenticationResponseJSON
 */

struct authdata {
	uint8_t flags;
	const uint8_t *cred_id;
	size_t cred_id_len;
	const uint8_t *cose;
	size_t cose_len;
	const uint8_t *ext;
	size_t ext_len;
};

static int
parse_authdata(struct ctx *c, const struct cable_webauthn_request *req, const uint8_t *b,
    size_t n, struct authdata *ad)
{
	uint8_t want[CABLE_SHA256_LEN];
	size_t pos = 37, item_len;

	memset(ad, 0, sizeof(*ad));
	if (n < 37 || n > MAX_AUTHDATA_LEN)
		return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE, "authData: wrong length %zu", n);
	if (cable_sha256((const uint8_t *)req->rp_id, strlen(req->rp_id), NULL, 0, want) != 0)
		return CABLE_ERR_CRYPTO;
	if (memcmp(b, want, sizeof(want)) != 0)
		return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
		    "authData: rpIdHash is not SHA-256(\"%s\")", req->rp_id);
	ad->flags = b[32];
	if (!(ad->flags & AD_FLAG_UP))
		return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE, "authData: user presence (UP) flag not set");
	if (req->uv_required && !(ad->flags & AD_FLAG_UV))
		return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
		    "authData: user verification was required but the UV flag is not set");
	if (ad->flags & AD_FLAG_AT) {
		if (!req->create)
			return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
			    "authData: an assertion must not carry attested credential data");
		if (n - pos < 18)
			return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
			    "authData: attested credential data truncated");
		pos += 16; /* AAGUID */
		ad->cred_id_len = (size_t)b[pos] << 8 | b[pos + 1];
		pos += 2;
		if (ad->cred_id_len == 0 || ad->cred_id_len > CABLE_WEBAUTHN_MAX_CREDENTIAL_ID_LEN ||
		    ad->cred_id_len > n - pos)
			return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
			    "authData: bad credential ID length %zu", ad->cred_id_len);
		ad->cred_id = b + pos;
		pos += ad->cred_id_len;
		if (pos >= n || cable_cbor_scan(b + pos, n - pos, 0, &item_len) != 0 ||
		    (b[pos] >> 5) != 5)
			return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
			    "authData: credential public key is not a CBOR map");
		ad->cose = b + pos;
		ad->cose_len = item_len;
		pos += item_len;
	} else if (req->create) {
		return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
		    "authData: attested credential data (AT flag) missing");
	}
	if (ad->flags & AD_FLAG_ED) {
		if (pos >= n || cable_cbor_scan(b + pos, n - pos, 0, &item_len) != 0 ||
		    (b[pos] >> 5) != 5)
			return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
			    "authData: extension outputs are not a CBOR map");
		ad->ext = b + pos;
		ad->ext_len = item_len;
		pos += item_len;
	}
	if (pos != n)
		return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE, "authData: %zu trailing bytes", n - pos);
	return 0;
}

/* libcbor 0.8's cbor_is_bool asserts on floats, so they are ruled out first. */
static bool
cbor_bool_value(const cbor_item_t *item, bool *out)
{
	if (item == NULL || !cbor_isa_float_ctrl(item) || !cbor_float_ctrl_is_ctrl(item) ||
	    !cbor_is_bool(item))
		return false;
	*out = cbor_get_bool(item);
	return true;
}

static const uint8_t *
bytes_of(cbor_item_t *item, size_t min, size_t max, size_t *len)
{
	if (item == NULL || !cbor_isa_bytestring(item) || !cbor_bytestring_is_definite(item))
		return NULL;
	*len = cbor_bytestring_length(item);
	if (*len < min || *len > max)
		return NULL;
	return cbor_bytestring_handle(item);
}

/* DER SubjectPublicKeyInfo prefixes for the fixed-size keys. */
static const uint8_t spki_p256_prefix[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
    0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42,
    0x00};
static const uint8_t spki_ed25519_prefix[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70,
    0x03, 0x21, 0x00};

static int
rsa_spki(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len, uint8_t **out,
    size_t *out_len)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *bn = NULL, *be = NULL;
	unsigned char *der = NULL;
	int len, r = CABLE_ERR_CRYPTO;

	if ((bn = BN_bin2bn(n, (int)n_len, NULL)) == NULL || (be = BN_bin2bn(e, (int)e_len, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1 ||
	    (len = i2d_PUBKEY(pkey, &der)) <= 0)
		goto out;
	/* Callers release with free(), OpenSSL's buffer with OPENSSL_free(): copy. */
	if ((*out = malloc((size_t)len)) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	memcpy(*out, der, (size_t)len);
	*out_len = (size_t)len;
	r = 0;
out:
	OPENSSL_free(der);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return r;
}

/*
 * Reads the credential's COSE key: its algorithm (which must have been requested) and, for the
 * algorithms browsers export, its SPKI DER (*spki NULL otherwise).
 */
static int
parse_cose_key(struct ctx *c, const struct cable_webauthn_request *req, const struct authdata *ad,
    int64_t *alg_out, uint8_t **spki, size_t *spki_len)
{
	cbor_item_t *key = NULL;
	int64_t kty, alg, crv;
	const uint8_t *x, *y;
	size_t xl, yl;
	bool requested = false;
	uint8_t *der = NULL;
	size_t der_len = 0;
	int r;

	*spki = NULL;
	*spki_len = 0;
	if (cable_cbor_load(ad->cose, ad->cose_len, 0, &key) != 0)
		return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE, "authData: credential public key: bad CBOR");
	if (cable_cbor_get_int(cable_cbor_map_get_int(key, 1), &kty) != 0 ||
	    cable_cbor_get_int(cable_cbor_map_get_int(key, 3), &alg) != 0) {
		r = failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
		    "authData: credential public key: kty or alg missing or malformed");
		goto out;
	}
	for (size_t i = 0; i < req->n_algs; i++)
		requested |= req->algs[i] == alg;
	if (!requested) {
		r = failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
		    "authData: credential algorithm %lld was not in pubKeyCredParams", (long long)alg);
		goto out;
	}
	r = CABLE_ERR_WEBAUTHN_RESPONSE;
	if (alg == COSE_ES256) {
		uint8_t pub[CABLE_P256_PUB_LEN];
		if (kty != 2 || cable_cbor_get_int(cable_cbor_map_get_int(key, -1), &crv) != 0 ||
		    crv != 1 || (x = bytes_of(cable_cbor_map_get_int(key, -2), 32, 32, &xl)) == NULL ||
		    (y = bytes_of(cable_cbor_map_get_int(key, -3), 32, 32, &yl)) == NULL) {
			r = failf(c, r, "authData: credential public key: not an EC2 P-256 key");
			goto out;
		}
		pub[0] = 0x04;
		memcpy(pub + 1, x, 32);
		memcpy(pub + 33, y, 32);
		if (cable_p256_check_public(pub) != 0) {
			r = failf(c, r, "authData: credential public key: point not on P-256");
			goto out;
		}
		der_len = sizeof(spki_p256_prefix) + sizeof(pub);
		if ((der = malloc(der_len)) == NULL) {
			r = CABLE_ERR_NOMEM;
			goto out;
		}
		memcpy(der, spki_p256_prefix, sizeof(spki_p256_prefix));
		memcpy(der + sizeof(spki_p256_prefix), pub, sizeof(pub));
	} else if (alg == COSE_EDDSA) {
		if (kty != 1 || cable_cbor_get_int(cable_cbor_map_get_int(key, -1), &crv) != 0 ||
		    crv != 6 || (x = bytes_of(cable_cbor_map_get_int(key, -2), 32, 32, &xl)) == NULL) {
			r = failf(c, r, "authData: credential public key: not an OKP Ed25519 key");
			goto out;
		}
		der_len = sizeof(spki_ed25519_prefix) + 32;
		if ((der = malloc(der_len)) == NULL) {
			r = CABLE_ERR_NOMEM;
			goto out;
		}
		memcpy(der, spki_ed25519_prefix, sizeof(spki_ed25519_prefix));
		memcpy(der + sizeof(spki_ed25519_prefix), x, 32);
	} else if (alg == COSE_RS256) {
		if (kty != 3 || (x = bytes_of(cable_cbor_map_get_int(key, -1), 128, 1024, &xl)) == NULL ||
		    (y = bytes_of(cable_cbor_map_get_int(key, -2), 1, 8, &yl)) == NULL) {
			r = failf(c, r, "authData: credential public key: not an RSA key");
			goto out;
		}
		if (rsa_spki(x, xl, y, yl, &der, &der_len) != 0) {
			r = failf(c, r, "authData: credential public key: RSA key rejected");
			goto out;
		}
	}
	*alg_out = alg;
	*spki = der;
	*spki_len = der_len;
	der = NULL;
	r = 0;
out:
	free(der);
	cbor_decref(&key);
	return r;
}

static int
json_set_b64(json_t *obj, const char *key, const uint8_t *b, size_t n)
{
	char *s = NULL;
	int r;

	if ((r = cable_base64url_encode(b, n, &s)) != 0)
		return r;
	r = json_object_set_new(obj, key, json_string(s)) == 0 ? 0 : CABLE_ERR_NOMEM;
	free(s);
	return r;
}

/* {"first": b64, "second"?: b64} from the phone's prf results (32 bytes each, as Chrome demands). */
static int
prf_results_json(struct ctx *c, cbor_item_t *results, json_t **out)
{
	static const char *const names[2] = {"first", "second"};
	json_t *o;
	int r;

	if (!cbor_isa_map(results))
		return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE, "unsigned extension outputs: prf.results "
							      "is not a map");
	if ((o = json_object()) == NULL)
		return CABLE_ERR_NOMEM;
	for (int i = 0; i < 2; i++) {
		cbor_item_t *v = cable_cbor_map_get_str(results, names[i]);
		const uint8_t *b;
		size_t n;
		if (v == NULL && i == 1)
			break;
		if ((b = bytes_of(v, 32, 32, &n)) == NULL) {
			json_decref(o);
			return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
			    "unsigned extension outputs: prf.results.%s is not 32 bytes", names[i]);
		}
		if ((r = json_set_b64(o, names[i], b, n)) != 0) {
			json_decref(o);
			return r;
		}
	}
	*out = o;
	return 0;
}

/*
 * clientExtensionResults: credProps from what was sent, prf from the unsigned outputs (or, at
 * create, "hmac-secret": true in authData as the sign that PRF is enabled).
 */
static int
extension_results(struct ctx *c, const struct cable_webauthn_request *req, cbor_item_t *unsigned_out,
    const struct authdata *ad, json_t **out)
{
	json_t *res = json_object(), *o;
	cbor_item_t *prf = NULL, *adext = NULL;
	int r = CABLE_ERR_NOMEM;

	if (res == NULL)
		return CABLE_ERR_NOMEM;
	if (unsigned_out != NULL && !cbor_isa_map(unsigned_out)) {
		r = failf(c, CABLE_ERR_WEBAUTHN_RESPONSE, "unsigned extension outputs: not a map");
		goto out;
	}
	if (req->cred_props) {
		/* What was asked for, unless the authenticator says what it made. */
		bool rk = req->rk;
		cbor_item_t *cp = cable_cbor_map_get_str(unsigned_out, "credProps");
		if (cp != NULL && !cbor_bool_value(cable_cbor_map_get_str(cp, "rk"), &rk)) {
			r = failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
			    "unsigned extension outputs: credProps.rk is not a bool");
			goto out;
		}
		if ((o = json_object()) == NULL || json_object_set_new(res, "credProps", o) != 0 ||
		    json_object_set_new(o, "rk", json_boolean(rk)) != 0)
			goto out;
	}
	if (req->prf) {
		if (unsigned_out != NULL) {
			prf = cable_cbor_map_get_str(unsigned_out, "prf");
			if (prf != NULL && !cbor_isa_map(prf)) {
				r = failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
				    "unsigned extension outputs: prf is not a map");
				goto out;
			}
		}
		if ((o = json_object()) == NULL || json_object_set_new(res, "prf", o) != 0)
			goto out;
		if (req->create) {
			cbor_item_t *en = prf != NULL ? cable_cbor_map_get_str(prf, "enabled") : NULL;
			bool enabled = false;
			if (en != NULL) {
				if (!cbor_bool_value(en, &enabled)) {
					r = failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
					    "unsigned extension outputs: prf.enabled is not a bool");
					goto out;
				}
			} else if (ad->ext != NULL &&
				   cable_cbor_load(ad->ext, ad->ext_len, 0, &adext) == 0) {
				bool hs = false;
				enabled = cbor_bool_value(cable_cbor_map_get_str(adext, "hmac-secret"), &hs) &&
				    hs;
			}
			if (json_object_set_new(o, "enabled", json_boolean(enabled)) != 0)
				goto out;
		}
		if (prf != NULL && cable_cbor_map_get_str(prf, "results") != NULL) {
			json_t *rj = NULL;
			if ((r = prf_results_json(c, cable_cbor_map_get_str(prf, "results"), &rj)) != 0)
				goto out;
			r = CABLE_ERR_NOMEM;
			if (json_object_set_new(o, "results", rj) != 0)
				goto out;
		}
	}
	*out = res;
	res = NULL;
	r = 0;
out:
	if (adext != NULL)
		cbor_decref(&adext);
	json_decref(res);
	return r;
}

static int
finish_create(struct ctx *c, const struct cable_webauthn_request *req, cbor_item_t *resp,
    json_t *out, json_t *response)
{
	cbor_item_t *fmt = cable_cbor_map_get_int(resp, 1), *att = cable_cbor_map_get_int(resp, 3);
	cbor_item_t *ao = NULL;
	const uint8_t *authdata;
	size_t ad_len, fmt_len, ao_len = 0, spki_len = 0;
	struct authdata ad;
	uint8_t *ao_buf = NULL, *spki = NULL;
	int64_t alg = 0;
	json_t *tr;
	int r;

	if (fmt == NULL || !cbor_isa_string(fmt) || !cbor_string_is_definite(fmt) ||
	    (fmt_len = cbor_string_length(fmt)) == 0 || fmt_len > MAX_FMT_LEN)
		return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE, "makeCredential response: fmt (1) missing "
							      "or not a short text string");
	for (size_t i = 0; i < fmt_len; i++)
		if (cbor_string_handle(fmt)[i] < 0x21 || cbor_string_handle(fmt)[i] > 0x7e)
			return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
			    "makeCredential response: fmt (1) is not printable ASCII");
	if ((authdata = bytes_of(cable_cbor_map_get_int(resp, 2), 1, MAX_AUTHDATA_LEN, &ad_len)) == NULL)
		return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
		    "makeCredential response: authData (2) missing or not a byte string");
	if (att == NULL || !cbor_isa_map(att))
		return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
		    "makeCredential response: attStmt (3) missing or not a map");
	if ((r = parse_authdata(c, req, authdata, ad_len, &ad)) != 0)
		return r;
	if ((r = parse_cose_key(c, req, &ad, &alg, &spki, &spki_len)) != 0)
		return r;
	/* The phone's attestation statement is kept; only its map order is made canonical. */
	if ((r = canonicalise(att, 0)) != 0) {
		r = failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
		    "makeCredential response: attStmt (3) has duplicate keys");
		goto out;
	}
	r = CABLE_ERR_NOMEM;
	if ((ao = cbor_new_definite_map(3)) == NULL ||
	    !map_put(ao, text_item("fmt"), cbor_incref(fmt)) ||
	    !map_put(ao, text_item("attStmt"), cbor_incref(att)) ||
	    !map_put(ao, text_item("authData"), cbor_build_bytestring(authdata, ad_len)))
		goto out;
	if ((r = canonicalise(ao, 0)) != 0 || (r = cable_cbor_encode(ao, &ao_buf, &ao_len)) != 0)
		goto out;
	if ((r = json_set_b64(out, "id", ad.cred_id, ad.cred_id_len)) != 0 ||
	    (r = json_set_b64(out, "rawId", ad.cred_id, ad.cred_id_len)) != 0 ||
	    (r = json_set_b64(response, "attestationObject", ao_buf, ao_len)) != 0 ||
	    (r = json_set_b64(response, "authenticatorData", authdata, ad_len)) != 0)
		goto out;
	r = CABLE_ERR_NOMEM;
	if ((tr = json_array()) == NULL || json_object_set_new(response, "transports", tr) != 0 ||
	    json_array_append_new(tr, json_string("hybrid")) != 0)
		goto out;
	if (spki != NULL && (r = json_set_b64(response, "publicKey", spki, spki_len)) != 0)
		goto out;
	r = CABLE_ERR_NOMEM;
	if (json_object_set_new(response, "publicKeyAlgorithm", json_integer(alg)) != 0)
		goto out;
	{
		json_t *ext = NULL;
		if ((r = extension_results(c, req, cable_cbor_map_get_int(resp, 6), &ad, &ext)) != 0)
			goto out;
		r = CABLE_ERR_NOMEM;
		if (json_object_set_new(out, "clientExtensionResults", ext) != 0)
			goto out;
	}
	r = 0;
out:
	if (ao != NULL)
		cbor_decref(&ao);
	free(ao_buf);
	free(spki);
	return r;
}

static int
finish_get(struct ctx *c, const struct cable_webauthn_request *req, cbor_item_t *resp, json_t *out,
    json_t *response)
{
	cbor_item_t *cred = cable_cbor_map_get_int(resp, 1), *user = cable_cbor_map_get_int(resp, 4);
	const uint8_t *authdata, *sig, *id = NULL, *uid = NULL;
	size_t ad_len, sig_len, id_len = 0, uid_len = 0;
	struct authdata ad;
	json_t *ext = NULL;
	int r;

	if ((authdata = bytes_of(cable_cbor_map_get_int(resp, 2), 1, MAX_AUTHDATA_LEN, &ad_len)) == NULL)
		return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
		    "getAssertion response: authData (2) missing or not a byte string");
	if ((sig = bytes_of(cable_cbor_map_get_int(resp, 3), 1, MAX_SIGNATURE_LEN, &sig_len)) == NULL)
		return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
		    "getAssertion response: signature (3) missing or not a byte string");
	if ((r = parse_authdata(c, req, authdata, ad_len, &ad)) != 0)
		return r;
	if (cred != NULL) {
		cbor_item_t *type = cable_cbor_map_get_str(cred, "type");
		if (!cbor_isa_map(cred) ||
		    (id = bytes_of(cable_cbor_map_get_str(cred, "id"), 1,
			 CABLE_WEBAUTHN_MAX_CREDENTIAL_ID_LEN, &id_len)) == NULL)
			return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
			    "getAssertion response: credential (1) has no valid id");
		if (type != NULL && !(cbor_isa_string(type) && cbor_string_is_definite(type) &&
					cbor_string_length(type) == 10 &&
					memcmp(cbor_string_handle(type), "public-key", 10) == 0))
			return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
			    "getAssertion response: credential (1) type is not \"public-key\"");
	} else if (req->n_allow == 1) {
		id = req->allow[0].id; /* CTAP lets the authenticator omit it in this one case */
		id_len = req->allow[0].len;
	} else {
		return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
		    "getAssertion response: credential (1) missing");
	}
	if (req->n_allow > 0) {
		bool found = false;
		for (size_t i = 0; i < req->n_allow && !found; i++)
			found = req->allow[i].len == id_len &&
			    memcmp(req->allow[i].id, id, id_len) == 0;
		if (!found)
			return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
			    "getAssertion response: credential is not in allowCredentials");
	}
	if (user != NULL) {
		if (!cbor_isa_map(user) ||
		    (uid = bytes_of(cable_cbor_map_get_str(user, "id"), 1, MAX_USER_ID_LEN, &uid_len)) ==
			NULL)
			return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
			    "getAssertion response: user (4) has no valid id");
	} else if (req->n_allow == 0) {
		return failf(c, CABLE_ERR_WEBAUTHN_RESPONSE,
		    "getAssertion response: user (4) missing for a discoverable credential");
	}
	if ((r = json_set_b64(out, "id", id, id_len)) != 0 ||
	    (r = json_set_b64(out, "rawId", id, id_len)) != 0 ||
	    (r = json_set_b64(response, "authenticatorData", authdata, ad_len)) != 0 ||
	    (r = json_set_b64(response, "signature", sig, sig_len)) != 0)
		return r;
	if (uid != NULL && (r = json_set_b64(response, "userHandle", uid, uid_len)) != 0)
		return r;
	if ((r = extension_results(c, req, cable_cbor_map_get_int(resp, 8), &ad, &ext)) != 0)
		return r;
	if (json_object_set_new(out, "clientExtensionResults", ext) != 0)
		return CABLE_ERR_NOMEM;
	return 0;
}

int
cable_webauthn_finish(const struct cable_webauthn_request *req, const uint8_t *ctap_resp,
    size_t len, char **response_json, char **errmsg)
{
	struct ctx c = {NULL};
	cbor_item_t *resp = NULL;
	json_t *out = NULL, *response = NULL;
	char *s;
	int r;

	if (errmsg != NULL)
		*errmsg = NULL;
	if (req == NULL || response_json == NULL || (ctap_resp == NULL && len > 0)) {
		r = CABLE_ERR_ARG;
		goto out;
	}
	if (len == 0) {
		r = failf(&c, CABLE_ERR_WEBAUTHN_RESPONSE, "authenticator response: empty");
		goto out;
	}
	if (ctap_resp[0] != 0) {
		r = ctap_resp[0];
		failf(&c, r, "authenticator answered %s (0x%02x): %s", cable_errname(r), r,
		    cable_strerror(r));
		goto out;
	}
	if (len > CABLE_WEBAUTHN_MAX_RESPONSE_LEN) {
		r = failf(&c, CABLE_ERR_TOO_BIG, "authenticator response: larger than %u bytes",
		    CABLE_WEBAUTHN_MAX_RESPONSE_LEN);
		goto out;
	}
	if (len == 1 || (r = cable_cbor_load(ctap_resp + 1, len - 1, 0, &resp)) != 0) {
		r = failf(&c, len == 1 ? CABLE_ERR_WEBAUTHN_RESPONSE : r,
		    "authenticator response: %s", len == 1 ? "no CBOR after the status byte" :
							     cable_strerror(r));
		goto out;
	}
	if (!cbor_isa_map(resp)) {
		r = failf(&c, CABLE_ERR_WEBAUTHN_RESPONSE, "authenticator response: not a CBOR map");
		goto out;
	}
	r = CABLE_ERR_NOMEM;
	if ((out = json_object()) == NULL || (response = json_object()) == NULL ||
	    json_object_set_new(out, "type", json_string("public-key")) != 0 ||
	    json_object_set_new(out, "authenticatorAttachment", json_string("cross-platform")) != 0 ||
	    json_object_set_new(response, "clientDataJSON", json_null()) != 0 ||
	    json_object_set(out, "response", response) != 0)
		goto out;
	if ((r = json_set_b64(response, "clientDataJSON", (const uint8_t *)req->client_data_json,
		 strlen(req->client_data_json))) != 0)
		goto out;
	r = req->create ? finish_create(&c, req, resp, out, response) :
			  finish_get(&c, req, resp, out, response);
	if (r != 0)
		goto out;
	if ((s = json_dumps(out, JSON_COMPACT)) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	*response_json = s;
	r = 0;
out:
	if (r != 0)
		hand_over_error(&c, r, errmsg);
	if (resp != NULL)
		cbor_decref(&resp);
	json_decref(response);
	json_decref(out);
	return r;
}

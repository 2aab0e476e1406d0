/* The virtual key's local CTAP policy: local answers, the one forwarded request, cleaned answers. */
#include <stdlib.h>
#include <string.h>

#include "cable/bytes.h"
#include "cable/cbor.h"
#include "cable/crypto.h"
#include "cable/ctap-policy.h"
#include "cable/error.h"
#include "cbor-writer.h"

#define MAX_ALGS 8
#define MAX_EXTS 4
/* Queued getNextAssertion answers; a probe never queues more than one list's worth. */
#define MAX_NEXT 64
/* Bytes of one locally served probe answer (credential ID at most 1023 bytes). */
#define MAX_ANSWER 2048

struct cable_ctap_policy {
	struct cable_ctap_policy_config cfg;
	int64_t algs[MAX_ALGS];
	size_t n_algs;
	const char *exts[MAX_EXTS];
	size_t n_exts;
	uint32_t cred_id_len;
	/* getNextAssertion answers, served in order until next_deadline. */
	uint8_t *next[MAX_NEXT];
	size_t next_len[MAX_NEXT];
	size_t n_next, next_pos;
	uint64_t next_deadline;
};

/* Largest answer passed on (the CTAPHID message limit). */
#define MAX_RESPONSE 7609

static const char *const pass_exts[] = { "credProtect", "prf" };

/* A CTAP status byte is a raw byte before the CBOR, not a CBOR integer. */
static void
status_byte(struct cable_cbw *w, uint8_t st)
{
	cable_cbw_raw(w, &st, 1);
}

const char *
cable_ctap_kind_name(enum cable_ctap_kind kind)
{
	switch (kind) {
	case CABLE_CTAP_KIND_ERROR: return "error";
	case CABLE_CTAP_KIND_GET_INFO: return "getInfo";
	case CABLE_CTAP_KIND_SELECTION: return "selection";
	case CABLE_CTAP_KIND_DUMMY: return "dummy";
	case CABLE_CTAP_KIND_PROBE: return "probe";
	case CABLE_CTAP_KIND_NEXT: return "getNextAssertion";
	case CABLE_CTAP_KIND_REAL: return "real";
	}
	return "?";
}

void
cable_ctap_policy_config_default(struct cable_ctap_policy_config *cfg)
{
	static const uint8_t aaguid[16] = CABLE_BRIDGE_AAGUID;

	memset(cfg, 0, sizeof(*cfg));
	memcpy(cfg->aaguid, aaguid, sizeof(aaguid));
	cfg->max_msg_size = 7609;
	cfg->max_cred_count = 32;
	cfg->max_cred_id_len = 1023;
	cfg->next_timeout_usec = 30ull * 1000000;
}

static void
next_clear(struct cable_ctap_policy *p)
{
	for (size_t i = 0; i < p->n_next; i++) {
		free(p->next[i]);
		p->next[i] = NULL;
	}
	p->n_next = p->next_pos = 0;
}

struct cable_ctap_policy *
cable_ctap_policy_new(const struct cable_ctap_policy_config *cfg)
{
	struct cable_ctap_policy *p;

	if (cfg == NULL || cfg->max_msg_size < 1024 || cfg->max_cred_count == 0 ||
	    cfg->max_cred_id_len == 0 || cfg->max_cred_id_len > 1023)
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->cfg = *cfg;
	p->algs[0] = -7; /* ES256 */
	p->algs[1] = -8; /* EdDSA */
	p->n_algs = 2;
	p->cred_id_len = cfg->max_cred_id_len;
	return p;
}

void
cable_ctap_policy_free(struct cable_ctap_policy **pp)
{
	if (pp == NULL || *pp == NULL)
		return;
	next_clear(*pp);
	free(*pp);
	*pp = NULL;
}

void
cable_ctap_decision_clear(struct cable_ctap_decision *d)
{
	if (d == NULL)
		return;
	free(d->out);
	d->out = NULL;
	d->out_len = 0;
}

size_t
cable_ctap_policy_pending_next(const struct cable_ctap_policy *p)
{
	return p->n_next - p->next_pos;
}

/* ---- getInfo -------------------------------------------------------------------------------- */

int
cable_ctap_policy_get_info(const struct cable_ctap_policy *p, uint8_t **out, size_t *out_len)
{
	struct cable_cbw w;
	size_t n = 8;

	cable_cbw_init(&w, 4096);
	status_byte(&w, CABLE_CTAP_OK);
	if (p->n_exts > 0)
		n++;
	cable_cbw_map(&w, n);
	cable_cbw_uint(&w, 1); /* versions */
	cable_cbw_array(&w, 2);
	cable_cbw_text(&w, "FIDO_2_0");
	cable_cbw_text(&w, "FIDO_2_1");
	if (p->n_exts > 0) {
		cable_cbw_uint(&w, 2); /* extensions */
		cable_cbw_array(&w, p->n_exts);
		for (size_t i = 0; i < p->n_exts; i++)
			cable_cbw_text(&w, p->exts[i]);
	}
	cable_cbw_uint(&w, 3);
	cable_cbw_bytes(&w, p->cfg.aaguid, 16);
	cable_cbw_uint(&w, 4); /* options: canonical order is by length then bytes */
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
	cable_cbw_uint(&w, p->cfg.max_msg_size);
	cable_cbw_uint(&w, 7);
	cable_cbw_uint(&w, p->cfg.max_cred_count);
	cable_cbw_uint(&w, 8);
	cable_cbw_uint(&w, p->cred_id_len);
	cable_cbw_uint(&w, 9); /* transports: what the client sees is a USB HID key */
	cable_cbw_array(&w, 1);
	cable_cbw_text(&w, "usb");
	cable_cbw_uint(&w, 10);
	cable_cbw_array(&w, p->n_algs);
	for (size_t i = 0; i < p->n_algs; i++) {
		cable_cbw_map(&w, 2);
		cable_cbw_text(&w, "alg");
		cable_cbw_int(&w, p->algs[i]);
		cable_cbw_text(&w, "type");
		cable_cbw_text(&w, "public-key");
	}
	return cable_cbw_finish(&w, out, out_len);
}

int
cable_ctap_policy_refine(struct cable_ctap_policy *p, const uint8_t *getinfo, size_t len)
{
	cbor_item_t *m = NULL, *v;
	int64_t algs[MAX_ALGS];
	size_t n_algs = 0;
	int r;

	if (p == NULL || getinfo == NULL)
		return CABLE_ERR_ARG;
	if ((r = cable_cbor_load(getinfo, len, 0, &m)) != 0)
		return r;
	r = CABLE_ERR_PARSE;
	if (!cbor_isa_map(m) || !cbor_map_is_definite(m))
		goto out;
	if ((v = cable_cbor_map_get_int(m, 10)) != NULL && cbor_isa_array(v)) {
		for (size_t i = 0; i < cbor_array_size(v) && n_algs < MAX_ALGS; i++) {
			cbor_item_t *e = cbor_array_handle(v)[i], *a, *t;
			int64_t alg;

			if (!cbor_isa_map(e) || (a = cable_cbor_map_get_str(e, "alg")) == NULL ||
			    (t = cable_cbor_map_get_str(e, "type")) == NULL || !cbor_isa_string(t) ||
			    cbor_string_length(t) != 10 ||
			    memcmp(cbor_string_handle(t), "public-key", 10) != 0 ||
			    cable_cbor_get_int(a, &alg) != 0)
				continue;
			algs[n_algs++] = alg;
		}
		if (n_algs > 0) {
			memcpy(p->algs, algs, n_algs * sizeof(algs[0]));
			p->n_algs = n_algs;
		}
	}
	if ((v = cable_cbor_map_get_int(m, 8)) != NULL && cbor_isa_uint(v)) {
		uint64_t l = cbor_get_int(v);

		if (l >= 16 && l < p->cred_id_len)
			p->cred_id_len = (uint32_t)l;
	}
	if ((v = cable_cbor_map_get_int(m, 2)) != NULL && cbor_isa_array(v)) {
		p->n_exts = 0;
		/* In pass_exts order (arrays need no canonical order). */
		for (size_t k = 0; k < sizeof(pass_exts) / sizeof(pass_exts[0]); k++)
			for (size_t i = 0; i < cbor_array_size(v); i++) {
				cbor_item_t *e = cbor_array_handle(v)[i];

				if (cbor_isa_string(e) && cbor_string_length(e) == strlen(pass_exts[k]) &&
				    memcmp(cbor_string_handle(e), pass_exts[k], strlen(pass_exts[k])) == 0) {
					p->exts[p->n_exts++] = pass_exts[k];
					break;
				}
			}
	}
	r = 0;
out:
	cbor_decref(&m);
	return r;
}

/* ---- request parsing ------------------------------------------------------------------------ */

static bool
text_eq(const cbor_item_t *s, const char *t)
{
	return s != NULL && cbor_isa_string(s) && cbor_string_is_definite(s) &&
	    cbor_string_length(s) == strlen(t) && memcmp(cbor_string_handle(s), t, strlen(t)) == 0;
}

/* An option of the request's options map: 1 true, 0 false, -1 absent; CTAP error if not bool. */
static int
option(const cbor_item_t *opts, const char *name, int *val)
{
	cbor_item_t *v;

	*val = -1;
	if (opts == NULL)
		return 0;
	if ((v = cable_cbor_map_get_str(opts, name)) == NULL)
		return 0;
	if (!cbor_isa_float_ctrl(v) || !cbor_float_ctrl_is_ctrl(v) ||
	    (cbor_ctrl_value(v) != CBOR_CTRL_TRUE && cbor_ctrl_value(v) != CBOR_CTRL_FALSE))
		return CABLE_CTAP_CBOR_UNEXPECTED_TYPE;
	*val = cbor_ctrl_value(v) == CBOR_CTRL_TRUE;
	return 0;
}

/* Credential descriptors must be maps with a byte-string "id" and a text "type". */
static int
check_list(const cbor_item_t *list, size_t *n)
{
	*n = 0;
	if (list == NULL)
		return 0;
	if (!cbor_isa_array(list) || !cbor_array_is_definite(list))
		return CABLE_CTAP_CBOR_UNEXPECTED_TYPE;
	for (size_t i = 0; i < cbor_array_size(list); i++) {
		cbor_item_t *e = cbor_array_handle(list)[i], *id, *type;

		if (!cbor_isa_map(e) || (id = cable_cbor_map_get_str(e, "id")) == NULL ||
		    (type = cable_cbor_map_get_str(e, "type")) == NULL)
			return CABLE_CTAP_MISSING_PARAMETER;
		if (!cbor_isa_bytestring(id) || !cbor_bytestring_is_definite(id) ||
		    !cbor_isa_string(type))
			return CABLE_CTAP_CBOR_UNEXPECTED_TYPE;
	}
	*n = cbor_array_size(list);
	return 0;
}

/* Writes an item as it came (libcbor writes shortest forms, so canonical input stays canonical). */
static void
write_item(struct cable_cbw *w, const cbor_item_t *item)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int64_t v;

	/* libcbor keeps an integer's width as read; requests need not be canonical, ours must be. */
	if (cbor_isa_uint(item) && cbor_int_get_width(item) == CBOR_INT_64) {
		cable_cbw_uint(w, cbor_get_uint64(item));
		return;
	}
	if ((cbor_isa_uint(item) || cbor_isa_negint(item)) && cable_cbor_get_int(item, &v) == 0) {
		cable_cbw_int(w, v);
		return;
	}
	if (cable_cbor_encode(item, &buf, &len) != 0) {
		if (w->err == 0)
			w->err = CABLE_ERR_NOMEM;
		return;
	}
	cable_cbw_raw(w, buf, len);
	free(buf);
}

/* An encoded map key, for sorting into CTAP2 canonical order (shorter first, then bytewise). */
struct enc_key {
	uint8_t *buf;
	size_t len;
	size_t idx;
};

static int
key_cmp(const void *a, const void *b)
{
	const struct enc_key *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->buf, y->buf, x->len);
}

static void write_canonical(struct cable_cbw *w, const cbor_item_t *item, int depth);

/*
 * Writes the pairs of map m in canonical key order, skipping keys for which skip() is true and
 * writing the value of list_key with write_list. Clients' requests are not always canonical
 * (struct field order), and the phone must get canonical CBOR. Duplicate keys fail.
 */
static void
write_map_sorted(struct cable_cbw *w, const cbor_item_t *m, int depth, int64_t skip1, int64_t skip2,
    int64_t list_key, void (*list_fn)(struct cable_cbw *, const cbor_item_t *, int))
{
	struct cbor_pair *pairs = cbor_map_handle(m);
	size_t n = cbor_map_size(m), k = 0;
	struct enc_key *keys;

	if (w->err != 0)
		return;
	if ((keys = calloc(n + 1, sizeof(*keys))) == NULL) {
		w->err = CABLE_ERR_NOMEM;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t kv;

		if (cable_cbor_get_int(pairs[i].key, &kv) == 0 && (kv == skip1 || kv == skip2))
			continue;
		/* CTAP maps have integer or text keys; anything else is not a request. */
		if (!cbor_isa_uint(pairs[i].key) && !cbor_isa_negint(pairs[i].key) &&
		    !cbor_isa_string(pairs[i].key)) {
			w->err = CABLE_ERR_CBOR;
			goto out;
		}
		{
			struct cable_cbw kw;

			cable_cbw_init(&kw, 0);
			write_item(&kw, pairs[i].key);
			if (cable_cbw_finish(&kw, &keys[k].buf, &keys[k].len) != 0) {
				w->err = CABLE_ERR_NOMEM;
				goto out;
			}
		}
		keys[k++].idx = i;
	}
	qsort(keys, k, sizeof(*keys), key_cmp);
	for (size_t i = 1; i < k; i++)
		if (key_cmp(&keys[i - 1], &keys[i]) == 0) {
			w->err = CABLE_ERR_CBOR;
			goto out;
		}
	cable_cbw_map(w, k);
	for (size_t i = 0; i < k; i++) {
		const struct cbor_pair *pr = &pairs[keys[i].idx];
		int64_t kv = INT64_MIN;

		cable_cbw_raw(w, keys[i].buf, keys[i].len);
		(void)cable_cbor_get_int(pr->key, &kv);
		if (list_fn != NULL && kv == list_key)
			list_fn(w, pr->value, depth + 1);
		else
			write_canonical(w, pr->value, depth + 1);
	}
out:
	for (size_t i = 0; i < k; i++)
		free(keys[i].buf);
	free(keys);
}

static void
write_canonical(struct cable_cbw *w, const cbor_item_t *item, int depth)
{
	if (depth > CABLE_CBOR_MAX_DEPTH) {
		if (w->err == 0)
			w->err = CABLE_ERR_CBOR;
		return;
	}
	if (cbor_isa_map(item)) {
		write_map_sorted(w, item, depth, INT64_MIN, INT64_MIN, INT64_MIN, NULL);
	} else if (cbor_isa_array(item)) {
		cable_cbw_array(w, cbor_array_size(item));
		for (size_t i = 0; i < cbor_array_size(item); i++)
			write_canonical(w, cbor_array_handle(item)[i], depth + 1);
	} else {
		write_item(w, item);
	}
}

/* A descriptor list with only "id" and "type" (transports are the browser's hint, not the phone's). */
static void
write_list(struct cable_cbw *w, const cbor_item_t *list, int depth)
{
	(void)depth;
	cable_cbw_array(w, cbor_array_size(list));
	for (size_t i = 0; i < cbor_array_size(list); i++) {
		cbor_item_t *e = cbor_array_handle(list)[i];

		cable_cbw_map(w, 2);
		cable_cbw_text(w, "id");
		write_item(w, cable_cbor_map_get_str(e, "id"));
		cable_cbw_text(w, "type");
		write_item(w, cable_cbor_map_get_str(e, "type"));
	}
}

/*
 * The request to forward: the same map in canonical order, descriptor lists without transports,
 * and no PIN keys (the bridge advertises no PIN protocol, and the phone verifies the user itself).
 */
static int
forward_request(uint8_t cmd, const cbor_item_t *m, int list_key, int first_pin_key,
    uint8_t **out, size_t *out_len)
{
	struct cable_cbw w;

	cable_cbw_init(&w, 16384);
	cable_cbw_uint(&w, cmd);
	write_map_sorted(&w, m, 0, first_pin_key, first_pin_key + 1, list_key, write_list);
	return cable_cbw_finish(&w, out, out_len);
}

static int
local_status(struct cable_ctap_decision *d, enum cable_ctap_kind kind, uint8_t status)
{
	if ((d->out = malloc(1)) == NULL)
		return CABLE_ERR_NOMEM;
	d->out[0] = status;
	d->out_len = 1;
	d->action = CABLE_CTAP_ACTION_LOCAL;
	d->kind = kind;
	return 0;
}

static void
copy_text(char *dst, size_t cap, const cbor_item_t *s)
{
	size_t n;

	dst[0] = '\0';
	if (s == NULL || !cbor_isa_string(s) || !cbor_string_is_definite(s))
		return;
	n = cbor_string_length(s);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, cbor_string_handle(s), n);
	dst[n] = '\0';
}

/*
 * One assertion-shaped probe answer: the probed credential, authData with the RP ID hash, no
 * flags (no UP, no UV) and counter 0, and an EMPTY signature: nothing is signed, so nothing can
 * be verified or replayed. numberOfCredentials only in the first answer.
 */
static int
probe_answer(const uint8_t rp_hash[32], const cbor_item_t *desc, size_t total, uint8_t **out,
    size_t *out_len)
{
	struct cable_cbw w;
	uint8_t auth[37];

	memcpy(auth, rp_hash, 32);
	memset(auth + 32, 0, 5);
	cable_cbw_init(&w, MAX_ANSWER);
	status_byte(&w, CABLE_CTAP_OK);
	cable_cbw_map(&w, total > 1 ? 4 : 3);
	cable_cbw_uint(&w, 1);
	cable_cbw_map(&w, 2);
	cable_cbw_text(&w, "id");
	write_item(&w, cable_cbor_map_get_str(desc, "id"));
	cable_cbw_text(&w, "type");
	write_item(&w, cable_cbor_map_get_str(desc, "type"));
	cable_cbw_uint(&w, 2);
	cable_cbw_bytes(&w, auth, sizeof(auth));
	cable_cbw_uint(&w, 3);
	cable_cbw_bytes(&w, NULL, 0);
	if (total > 1) {
		cable_cbw_uint(&w, 5);
		cable_cbw_uint(&w, total);
	}
	return cable_cbw_finish(&w, out, out_len);
}

static int
decide_probe(struct cable_ctap_policy *p, uint64_t now, const cbor_item_t *list,
    struct cable_ctap_decision *d)
{
	uint8_t h[32];
	size_t n = list != NULL ? cbor_array_size(list) : 0;
	int r;

	d->kind = CABLE_CTAP_KIND_PROBE;
	/* No allow list: discoverable credentials live on the phone, unknown without a session. */
	if (n == 0)
		return local_status(d, CABLE_CTAP_KIND_PROBE, CABLE_CTAP_NO_CREDENTIALS);
	if (n > MAX_NEXT + 1)
		return local_status(d, CABLE_CTAP_KIND_PROBE, CABLE_CTAP_INVALID_LENGTH);
	if ((r = cable_sha256((const uint8_t *)d->rp_id, strlen(d->rp_id), NULL, 0, h)) != 0)
		return r;
	if ((r = probe_answer(h, cbor_array_handle(list)[0], n, &d->out, &d->out_len)) != 0)
		return r;
	for (size_t i = 1; i < n; i++) {
		if ((r = probe_answer(h, cbor_array_handle(list)[i], 1, &p->next[p->n_next],
		    &p->next_len[p->n_next])) != 0) {
			next_clear(p);
			cable_ctap_decision_clear(d);
			return r;
		}
		p->n_next++;
	}
	p->next_deadline = now + p->cfg.next_timeout_usec;
	d->action = CABLE_CTAP_ACTION_LOCAL;
	return 0;
}

static int
decide_make_credential(struct cable_ctap_policy *p, const cbor_item_t *m,
    struct cable_ctap_decision *d)
{
	cbor_item_t *cdh, *rp, *user, *params, *list, *opts, *pin;
	int up, st, r;

	(void)p;
	cdh = cable_cbor_map_get_int(m, 1);
	rp = cable_cbor_map_get_int(m, 2);
	user = cable_cbor_map_get_int(m, 3);
	params = cable_cbor_map_get_int(m, 4);
	list = cable_cbor_map_get_int(m, 5);
	opts = cable_cbor_map_get_int(m, 7);
	pin = cable_cbor_map_get_int(m, 8);
	if (cdh == NULL || rp == NULL || user == NULL || params == NULL)
		return local_status(d, CABLE_CTAP_KIND_ERROR, CABLE_CTAP_MISSING_PARAMETER);
	if (!cbor_isa_bytestring(cdh) || !cbor_isa_map(rp) || !cbor_isa_map(user) ||
	    !cbor_isa_array(params) || (opts != NULL && !cbor_isa_map(opts)))
		return local_status(d, CABLE_CTAP_KIND_ERROR, CABLE_CTAP_CBOR_UNEXPECTED_TYPE);
	if (cable_cbor_map_get_str(rp, "id") == NULL || !cbor_isa_string(cable_cbor_map_get_str(rp, "id")))
		return local_status(d, CABLE_CTAP_KIND_ERROR, CABLE_CTAP_MISSING_PARAMETER);
	copy_text(d->rp_id, sizeof(d->rp_id), cable_cbor_map_get_str(rp, "id"));
	if ((st = check_list(list, &d->list_len)) != 0 || (st = option(opts, "up", &up)) != 0)
		return local_status(d, CABLE_CTAP_KIND_ERROR, (uint8_t)st);
	/* Touch requests: Chrome's GetTouch (".dummy"), Firefox's blink, a zero-length pinUvAuthParam. */
	if (text_eq(cable_cbor_map_get_str(rp, "id"), ".dummy") ||
	    text_eq(cable_cbor_map_get_str(rp, "id"), "make.me.blink") ||
	    (pin != NULL && cbor_isa_bytestring(pin) && cbor_bytestring_length(pin) == 0)) {
		d->action = CABLE_CTAP_ACTION_TOUCH;
		d->kind = CABLE_CTAP_KIND_DUMMY;
		return 0;
	}
	if (up == 0)
		return local_status(d, CABLE_CTAP_KIND_ERROR, CABLE_CTAP_INVALID_OPTION);
	d->action = CABLE_CTAP_ACTION_FORWARD;
	d->kind = CABLE_CTAP_KIND_REAL;
	if ((r = forward_request(CABLE_CTAP_MAKE_CREDENTIAL, m, 5, 8, &d->out, &d->out_len)) == CABLE_ERR_CBOR)
		return local_status(d, CABLE_CTAP_KIND_ERROR, CABLE_CTAP_INVALID_CBOR); /* keys */
	return r;
}

static int
decide_get_assertion(struct cable_ctap_policy *p, uint64_t now, const cbor_item_t *m,
    struct cable_ctap_decision *d)
{
	cbor_item_t *rp, *cdh, *list, *opts;
	int up, st, r;

	rp = cable_cbor_map_get_int(m, 1);
	cdh = cable_cbor_map_get_int(m, 2);
	list = cable_cbor_map_get_int(m, 3);
	opts = cable_cbor_map_get_int(m, 5);
	if (rp == NULL || cdh == NULL)
		return local_status(d, CABLE_CTAP_KIND_ERROR, CABLE_CTAP_MISSING_PARAMETER);
	if (!cbor_isa_string(rp) || !cbor_isa_bytestring(cdh) || (opts != NULL && !cbor_isa_map(opts)))
		return local_status(d, CABLE_CTAP_KIND_ERROR, CABLE_CTAP_CBOR_UNEXPECTED_TYPE);
	copy_text(d->rp_id, sizeof(d->rp_id), rp);
	if ((st = check_list(list, &d->list_len)) != 0 || (st = option(opts, "up", &up)) != 0)
		return local_status(d, CABLE_CTAP_KIND_ERROR, (uint8_t)st);
	if (up == 0)
		return decide_probe(p, now, list, d);
	d->action = CABLE_CTAP_ACTION_FORWARD;
	d->kind = CABLE_CTAP_KIND_REAL;
	if ((r = forward_request(CABLE_CTAP_GET_ASSERTION, m, 3, 6, &d->out, &d->out_len)) == CABLE_ERR_CBOR)
		return local_status(d, CABLE_CTAP_KIND_ERROR, CABLE_CTAP_INVALID_CBOR); /* keys */
	return r;
}

static int
decide_next(struct cable_ctap_policy *p, uint64_t now, struct cable_ctap_decision *d)
{
	if (p->next_pos >= p->n_next || now > p->next_deadline) {
		next_clear(p);
		return local_status(d, CABLE_CTAP_KIND_NEXT, CABLE_CTAP_NOT_ALLOWED);
	}
	d->out = p->next[p->next_pos];
	d->out_len = p->next_len[p->next_pos];
	p->next[p->next_pos++] = NULL;
	if (p->next_pos == p->n_next)
		next_clear(p);
	d->action = CABLE_CTAP_ACTION_LOCAL;
	d->kind = CABLE_CTAP_KIND_NEXT;
	return 0;
}

int
cable_ctap_policy_decide(struct cable_ctap_policy *p, uint64_t now, const uint8_t *req,
    size_t len, struct cable_ctap_decision *d)
{
	cbor_item_t *m = NULL;
	int r;

	if (p == NULL || req == NULL || d == NULL)
		return CABLE_ERR_ARG;
	memset(d, 0, sizeof(*d));
	if (len == 0)
		return local_status(d, CABLE_CTAP_KIND_ERROR, CABLE_CTAP_INVALID_LENGTH);
	d->cmd = req[0];
	if (d->cmd != CABLE_CTAP_GET_NEXT_ASSERTION)
		next_clear(p);
	switch (d->cmd) {
	case CABLE_CTAP_GET_INFO:
		d->action = CABLE_CTAP_ACTION_LOCAL;
		d->kind = CABLE_CTAP_KIND_GET_INFO;
		return cable_ctap_policy_get_info(p, &d->out, &d->out_len);
	case CABLE_CTAP_SELECTION:
		d->action = CABLE_CTAP_ACTION_TOUCH;
		d->kind = CABLE_CTAP_KIND_SELECTION;
		return 0;
	case CABLE_CTAP_GET_NEXT_ASSERTION:
		return decide_next(p, now, d);
	case CABLE_CTAP_MAKE_CREDENTIAL:
	case CABLE_CTAP_GET_ASSERTION:
		break;
	default:
		/* clientPIN, reset, credential management, ...: not advertised, not implemented. */
		return local_status(d, CABLE_CTAP_KIND_ERROR, CABLE_CTAP_INVALID_COMMAND);
	}
	if (len > p->cfg.max_msg_size)
		return local_status(d, CABLE_CTAP_KIND_ERROR, CABLE_CTAP_INVALID_LENGTH);
	if (len < 2 || cable_cbor_load(req + 1, len - 1, 0, &m) != 0)
		return local_status(d, CABLE_CTAP_KIND_ERROR, CABLE_CTAP_INVALID_CBOR);
	if (!cbor_isa_map(m) || !cbor_map_is_definite(m))
		r = local_status(d, CABLE_CTAP_KIND_ERROR, CABLE_CTAP_CBOR_UNEXPECTED_TYPE);
	else if (d->cmd == CABLE_CTAP_MAKE_CREDENTIAL)
		r = decide_make_credential(p, m, d);
	else
		r = decide_get_assertion(p, now, m, d);
	cbor_decref(&m);
	if (r != 0)
		cable_ctap_decision_clear(d);
	return r;
}

uint8_t
cable_ctap_policy_touch_answer(enum cable_ctap_kind kind, bool approved, bool timed_out)
{
	if (timed_out)
		return CABLE_CTAP_USER_ACTION_TIMEOUT;
	if (!approved)
		return CABLE_CTAP_OPERATION_DENIED;
	return kind == CABLE_CTAP_KIND_SELECTION ? CABLE_CTAP_OK : CABLE_CTAP_PIN_NOT_SET;
}

/* ---- response cleaning ---------------------------------------------------------------------- */

/* The extension inputs of the forwarded request (key 6 for makeCredential, 4 for getAssertion). */
static bool
requested_ext(const cbor_item_t *exts, const char *name)
{
	return exts != NULL && cbor_isa_map(exts) && cable_cbor_map_get_str(exts, name) != NULL;
}

static int
check_auth_data(const cbor_item_t *ad, const char *rp_id, bool assertion, const char **problem)
{
	uint8_t h[32];
	const uint8_t *b;

	if (ad == NULL || !cbor_isa_bytestring(ad) || cbor_bytestring_length(ad) < 37) {
		*problem = "authenticator data missing or too short";
		return CABLE_CTAP_OTHER;
	}
	b = cbor_bytestring_handle(ad);
	if (cable_sha256((const uint8_t *)rp_id, strlen(rp_id), NULL, 0, h) != 0)
		return CABLE_ERR_CRYPTO;
	if (!cable_ct_equal(b, h, 32)) {
		*problem = "rpIdHash does not match the RP ID";
		return CABLE_CTAP_OTHER;
	}
	if (assertion && (b[32] & 0x40) != 0) {
		*problem = "assertion carries attested credential data";
		return CABLE_CTAP_OTHER;
	}
	if (!assertion && (b[32] & 0x40) == 0) {
		*problem = "registration lacks attested credential data";
		return CABLE_CTAP_OTHER;
	}
	return 0;
}

/* {"prf": ...} only, if prf was requested; NULL-safe count of what stays. */
static size_t
unsigned_outputs_kept(const cbor_item_t *outs, bool prf_requested)
{
	if (outs == NULL || !cbor_isa_map(outs) || !prf_requested)
		return 0;
	return cable_cbor_map_get_str(outs, "prf") != NULL ? 1 : 0;
}

static int
clean_make_credential(const cbor_item_t *req, const cbor_item_t *resp, struct cable_cbw *w,
    const char **problem)
{
	cbor_item_t *rp = cable_cbor_map_get_int(req, 2), *exts = cable_cbor_map_get_int(req, 6);
	cbor_item_t *fmt = cable_cbor_map_get_int(resp, 1), *ad = cable_cbor_map_get_int(resp, 2);
	cbor_item_t *att = cable_cbor_map_get_int(resp, 3), *lbk = cable_cbor_map_get_int(resp, 5);
	cbor_item_t *uns = cable_cbor_map_get_int(resp, 6);
	char rp_id[256];
	bool keep_lbk, prf = requested_ext(exts, "prf");
	size_t n = 3, kept;
	int st;

	copy_text(rp_id, sizeof(rp_id), rp != NULL ? cable_cbor_map_get_str(rp, "id") : NULL);
	if (fmt == NULL || !cbor_isa_string(fmt) || att == NULL || !cbor_isa_map(att)) {
		*problem = "registration lacks fmt or attStmt";
		return CABLE_CTAP_OTHER;
	}
	if ((st = check_auth_data(ad, rp_id, false, problem)) != 0)
		return st;
	keep_lbk = lbk != NULL && requested_ext(exts, "largeBlobKey");
	kept = unsigned_outputs_kept(uns, prf);
	n += keep_lbk + (kept > 0);
	if (cbor_map_size(resp) != n)
		*problem = "dropped response keys the client did not ask for";
	cable_cbw_map(w, n);
	cable_cbw_uint(w, 1);
	write_item(w, fmt);
	cable_cbw_uint(w, 2);
	write_item(w, ad);
	cable_cbw_uint(w, 3);
	write_item(w, att);
	if (keep_lbk) {
		cable_cbw_uint(w, 5);
		write_item(w, lbk);
	}
	if (kept > 0) {
		cable_cbw_uint(w, 6);
		cable_cbw_map(w, 1);
		cable_cbw_text(w, "prf");
		write_item(w, cable_cbor_map_get_str(uns, "prf"));
	}
	return 0;
}

static int
clean_get_assertion(const cbor_item_t *req, const cbor_item_t *resp, struct cable_cbw *w,
    const char **problem)
{
	cbor_item_t *rp = cable_cbor_map_get_int(req, 1), *list = cable_cbor_map_get_int(req, 3);
	cbor_item_t *exts = cable_cbor_map_get_int(req, 4);
	cbor_item_t *cred = cable_cbor_map_get_int(resp, 1), *ad = cable_cbor_map_get_int(resp, 2);
	cbor_item_t *sig = cable_cbor_map_get_int(resp, 3), *user = cable_cbor_map_get_int(resp, 4);
	cbor_item_t *sel = cable_cbor_map_get_int(resp, 6), *lbk = cable_cbor_map_get_int(resp, 7);
	cbor_item_t *uns = cable_cbor_map_get_int(resp, 8);
	size_t n_list = list != NULL && cbor_isa_array(list) ? cbor_array_size(list) : 0;
	char rp_id[256];
	bool keep_sel, keep_lbk, prf = requested_ext(exts, "prf");
	size_t n = 0, kept;
	int st;

	copy_text(rp_id, sizeof(rp_id), rp);
	if (sig == NULL || !cbor_isa_bytestring(sig) || cbor_bytestring_length(sig) == 0) {
		*problem = "assertion lacks a signature";
		return CABLE_CTAP_OTHER;
	}
	if ((st = check_auth_data(ad, rp_id, true, problem)) != 0)
		return st;
	if (cred != NULL && (!cbor_isa_map(cred) || cable_cbor_map_get_str(cred, "id") == NULL ||
	    !cbor_isa_bytestring(cable_cbor_map_get_str(cred, "id")))) {
		*problem = "malformed credential descriptor";
		return CABLE_CTAP_OTHER;
	}
	if (cred == NULL && n_list != 1) {
		*problem = "assertion names no credential";
		return CABLE_CTAP_OTHER;
	}
	if (n_list == 0 && user == NULL) {
		*problem = "discoverable assertion without a user";
		return CABLE_CTAP_OTHER;
	}
	keep_sel = sel != NULL && n_list == 0;
	keep_lbk = lbk != NULL && requested_ext(exts, "largeBlobKey");
	kept = unsigned_outputs_kept(uns, prf);
	n = (cred != NULL) + 2 + (user != NULL) + keep_sel + keep_lbk + (kept > 0);
	if (cbor_map_size(resp) != n)
		*problem = "dropped response keys the client did not ask for";
	cable_cbw_map(w, n);
	if (cred != NULL) {
		cbor_item_t *type = cable_cbor_map_get_str(cred, "type");

		if (cable_cbor_map_get_str(cred, "transports") != NULL && *problem == NULL)
			*problem = "dropped the credential's transports";
		cable_cbw_uint(w, 1);
		cable_cbw_map(w, 2);
		cable_cbw_text(w, "id");
		write_item(w, cable_cbor_map_get_str(cred, "id"));
		cable_cbw_text(w, "type");
		if (type != NULL)
			write_item(w, type);
		else
			cable_cbw_text(w, "public-key");
	}
	cable_cbw_uint(w, 2);
	write_item(w, ad);
	cable_cbw_uint(w, 3);
	write_item(w, sig);
	if (user != NULL) {
		cable_cbw_uint(w, 4);
		write_item(w, user);
	}
	if (keep_sel) {
		cable_cbw_uint(w, 6);
		write_item(w, sel);
	}
	if (keep_lbk) {
		cable_cbw_uint(w, 7);
		write_item(w, lbk);
	}
	if (kept > 0) {
		cable_cbw_uint(w, 8);
		cable_cbw_map(w, 1);
		cable_cbw_text(w, "prf");
		write_item(w, cable_cbor_map_get_str(uns, "prf"));
	}
	return 0;
}

int
cable_ctap_policy_clean_response(struct cable_ctap_policy *p, const uint8_t *req,
    size_t req_len, const uint8_t *resp, size_t resp_len, uint8_t **out, size_t *out_len,
    const char **problem)
{
	cbor_item_t *rq = NULL, *rs = NULL;
	struct cable_cbw w;
	const char *prob = NULL;
	int r = CABLE_ERR_INTERNAL, st;

	(void)p;
	if (req == NULL || req_len < 2 || resp == NULL || out == NULL || out_len == NULL)
		return CABLE_ERR_ARG;
	cable_cbw_init(&w, MAX_RESPONSE);
	if (resp_len == 0) {
		prob = "empty answer";
		status_byte(&w, CABLE_CTAP_OTHER);
		goto done;
	}
	if (resp[0] != CABLE_CTAP_OK) {
		/* Errors pass through as the status byte alone. */
		cable_cbw_raw(&w, resp, 1);
		goto done;
	}
	if ((r = cable_cbor_load(req + 1, req_len - 1, 0, &rq)) != 0)
		goto out;
	if (resp_len < 2 || cable_cbor_load(resp + 1, resp_len - 1, CABLE_CBOR_CANONICAL, &rs) != 0 ||
	    !cbor_isa_map(rs)) {
		prob = "answer is not a canonical CBOR map";
		status_byte(&w, CABLE_CTAP_OTHER);
		goto done;
	}
	status_byte(&w, CABLE_CTAP_OK);
	if (req[0] == CABLE_CTAP_MAKE_CREDENTIAL)
		st = clean_make_credential(rq, rs, &w, &prob);
	else if (req[0] == CABLE_CTAP_GET_ASSERTION)
		st = clean_get_assertion(rq, rs, &w, &prob);
	else
		st = CABLE_CTAP_OTHER;
	if (st < 0) {
		r = st;
		goto out;
	}
	if (st > 0) {
		cable_cbw_discard(&w);
		cable_cbw_init(&w, 16);
		status_byte(&w, (uint8_t)st);
	}
done:
	if ((r = cable_cbw_finish(&w, out, out_len)) != 0)
		goto out;
	if (problem != NULL)
		*problem = prob;
	r = 0;
out:
	if (r != 0)
		cable_cbw_discard(&w);
	if (rq != NULL)
		cbor_decref(&rq);
	if (rs != NULL)
		cbor_decref(&rs);
	return r;
}

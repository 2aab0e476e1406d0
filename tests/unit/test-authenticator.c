/* Unit tests: the software authenticator's commands, flags, counters, prf and CTAP error codes. */
#include <stdlib.h>
#include <string.h>

#include "cable/authenticator.h"
#include "cable/bytes.h"
#include "cable/cbor.h"
#include "cable/crypto.h"
#include "cable/error.h"
#include "cable/messages.h"
#include "cable/p256.h"
#include "cbor-writer.h"
#include "cred-store-internal.h"
#include "tv.h"

static const uint8_t aaguid[16] = CABLE_AUTHENTICATOR_AAGUID;

/* ---- fixture: one authenticator over an in-memory store, with a scripted user ------------- */

struct ui {
	int answer;        /* what confirm returns */
	size_t select;     /* the account picked */
	int calls;         /* prompts seen */
	struct cable_authenticator_prompt last;
	char last_rp[256];
	char last_user[256];
	size_t last_accounts;
	char first_account[80];
};

struct fx {
	struct tv_env env;
	struct cable_cred_store *store;
	struct cable_authenticator *a;
	struct ui ui;
	int persist_calls;
	int persist_fail;
};

static int
on_confirm(void *ctx, const struct cable_authenticator_prompt *p, size_t *selected)
{
	struct ui *ui = ctx;

	ui->calls++;
	ui->last = *p;
	snprintf(ui->last_rp, sizeof(ui->last_rp), "%s", p->rp_id ? p->rp_id : "");
	snprintf(ui->last_user, sizeof(ui->last_user), "%s", p->user_name ? p->user_name : "");
	ui->last_accounts = p->n_accounts;
	ui->first_account[0] = '\0';
	if (p->n_accounts > 0)
		snprintf(ui->first_account, sizeof(ui->first_account), "%s", p->accounts[0].user_name);
	ui->last.rp_id = NULL;
	ui->last.user_name = ui->last.user_display_name = NULL;
	ui->last.accounts = NULL;
	*selected = ui->select;
	return ui->answer;
}

static int
on_persist(void *ctx, const struct cable_cred_store *store)
{
	struct fx *f = ctx;

	(void)store;
	f->persist_calls++;
	return f->persist_fail ? -1 : 0;
}

static struct fx *
fx_new(uint32_t seed, bool list_accounts, enum cable_attestation att)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct cable_authenticator_config cfg;

	assert_non_null(f);
	tv_env_init(&f->env, seed);
	assert_int_equal(cable_cred_store_new(&f->env.env, &f->store), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.store = f->store;
	cfg.confirm = on_confirm;
	cfg.confirm_ctx = &f->ui;
	cfg.persist = on_persist;
	cfg.persist_ctx = f;
	cfg.attestation = att;
	cfg.list_accounts = list_accounts;
	assert_non_null(f->a = cable_authenticator_new(&f->env.env, &cfg));
	return f;
}

static void
fx_free(struct fx *f)
{
	cable_authenticator_free(&f->a);
	assert_null(f->a);
	cable_cred_store_free(&f->store);
	free(f);
}

/* Sends cmd || body; returns the response, checks that any CBOR after the status is canonical. */
static uint8_t *
call(struct fx *f, uint8_t cmd, const uint8_t *body, size_t body_len, size_t *resp_len)
{
	uint8_t *req = malloc(body_len + 1), *resp = NULL;
	cbor_item_t *it;

	assert_non_null(req);
	req[0] = cmd;
	if (body_len)
		memcpy(req + 1, body, body_len);
	assert_int_equal(cable_authenticator_handle(f->a, req, body_len + 1, &resp, resp_len), 0);
	free(req);
	assert_true(*resp_len >= 1);
	if (resp[0] != 0)
		assert_int_equal(*resp_len, 1);
	if (*resp_len > 1) {
		assert_int_equal(cable_cbor_load(resp + 1, *resp_len - 1, CABLE_CBOR_CANONICAL, &it), 0);
		cbor_decref(&it);
	}
	return resp;
}

static uint8_t
call_status(struct fx *f, uint8_t cmd, struct cable_cbw *w)
{
	uint8_t *body = NULL, *resp, st;
	size_t body_len = 0, resp_len;

	if (w != NULL)
		assert_int_equal(cable_cbw_finish(w, &body, &body_len), 0);
	resp = call(f, cmd, body, body_len, &resp_len);
	st = resp[0];
	free(resp);
	free(body);
	return st;
}

/* Parsed response: the CBOR map after the status byte. */
static cbor_item_t *
call_map(struct fx *f, uint8_t cmd, struct cable_cbw *w)
{
	uint8_t *body = NULL, *resp;
	size_t body_len = 0, resp_len;
	cbor_item_t *it;

	if (w != NULL)
		assert_int_equal(cable_cbw_finish(w, &body, &body_len), 0);
	resp = call(f, cmd, body, body_len, &resp_len);
	if (resp[0] != 0)
		print_error("status 0x%02x\n", resp[0]);
	assert_int_equal(resp[0], 0);
	assert_int_equal(cable_cbor_load(resp + 1, resp_len - 1, CABLE_CBOR_CANONICAL, &it), 0);
	free(resp);
	free(body);
	return it;
}

static const uint8_t *
bytes_at(const cbor_item_t *m, int64_t key, size_t *len)
{
	cbor_item_t *it = cable_cbor_map_get_int(m, key);
	assert_non_null(it);
	assert_true(cbor_isa_bytestring(it));
	*len = cbor_bytestring_length(it);
	return cbor_bytestring_handle(it);
}

static const uint8_t *
bytes_str(const cbor_item_t *m, const char *key, size_t *len)
{
	cbor_item_t *it = cable_cbor_map_get_str(m, key);
	assert_non_null(it);
	assert_true(cbor_isa_bytestring(it));
	*len = cbor_bytestring_length(it);
	return cbor_bytestring_handle(it);
}

static void
assert_text(const cbor_item_t *it, const char *s)
{
	assert_non_null(it);
	assert_true(cbor_isa_string(it));
	assert_int_equal(cbor_string_length(it), strlen(s));
	assert_memory_equal(cbor_string_handle(it), s, strlen(s));
}

/* ---- request builders ------------------------------------------------------------------- */

struct mc {
	const char *rp_id;
	const char *user_id;
	const char *user_name;
	int rk;              /* -1 absent */
	int up;              /* -1 absent */
	const uint8_t *exclude_id;
	size_t exclude_len;
	const uint8_t *prf_first; /* eval.first, or "prf": {} when prf_empty */
	const uint8_t *prf_second;
	bool prf_empty;
	bool cred_props;
	uint8_t cdh_byte;
};

static void
write_cdh(struct cable_cbw *w, uint8_t b)
{
	uint8_t cdh[32];
	memset(cdh, b, sizeof(cdh));
	cable_cbw_bytes(w, cdh, sizeof(cdh));
}

static void
build_mc(struct cable_cbw *w, const struct mc *m)
{
	size_t n = 4 + (m->exclude_id != NULL) + (m->prf_first || m->prf_empty || m->cred_props) +
	    (m->rk >= 0 || m->up >= 0);
	size_t nopt = (m->rk >= 0) + (m->up >= 0);

	cable_cbw_init(w, 0);
	cable_cbw_map(w, n);
	cable_cbw_uint(w, 1);
	write_cdh(w, m->cdh_byte);
	cable_cbw_uint(w, 2);
	cable_cbw_map(w, 1);
	cable_cbw_text(w, "id");
	cable_cbw_text(w, m->rp_id ? m->rp_id : "example.com");
	cable_cbw_uint(w, 3);
	cable_cbw_map(w, 2);
	cable_cbw_text(w, "id");
	cable_cbw_bytes(w, m->user_id ? m->user_id : "u1", strlen(m->user_id ? m->user_id : "u1"));
	cable_cbw_text(w, "name");
	cable_cbw_text(w, m->user_name ? m->user_name : "alice");
	cable_cbw_uint(w, 4);
	cable_cbw_array(w, 2);
	cable_cbw_map(w, 2); /* an unsupported algorithm first: the authenticator takes the next */
	cable_cbw_text(w, "alg");
	cable_cbw_int(w, -257);
	cable_cbw_text(w, "type");
	cable_cbw_text(w, "public-key");
	cable_cbw_map(w, 2);
	cable_cbw_text(w, "alg");
	cable_cbw_int(w, -7);
	cable_cbw_text(w, "type");
	cable_cbw_text(w, "public-key");
	if (m->exclude_id != NULL) {
		cable_cbw_uint(w, 5);
		cable_cbw_array(w, 1);
		cable_cbw_map(w, 2);
		cable_cbw_text(w, "id");
		cable_cbw_bytes(w, m->exclude_id, m->exclude_len);
		cable_cbw_text(w, "type");
		cable_cbw_text(w, "public-key");
	}
	if (m->prf_first || m->prf_empty || m->cred_props) {
		cable_cbw_uint(w, 6);
		cable_cbw_map(w, (size_t)(m->prf_first || m->prf_empty) + m->cred_props);
		if (m->prf_first || m->prf_empty) {
			cable_cbw_text(w, "prf");
			if (m->prf_empty) {
				cable_cbw_map(w, 0);
			} else {
				cable_cbw_map(w, 1);
				cable_cbw_text(w, "eval");
				cable_cbw_map(w, m->prf_second ? 2 : 1);
				cable_cbw_text(w, "first");
				cable_cbw_bytes(w, m->prf_first, 32);
				if (m->prf_second) {
					cable_cbw_text(w, "second");
					cable_cbw_bytes(w, m->prf_second, 32);
				}
			}
		}
		if (m->cred_props) {
			cable_cbw_text(w, "credProps");
			cable_cbw_bool(w, true);
		}
	}
	if (nopt > 0) {
		cable_cbw_uint(w, 7);
		cable_cbw_map(w, nopt);
		if (m->rk >= 0) {
			cable_cbw_text(w, "rk");
			cable_cbw_bool(w, m->rk);
		}
		if (m->up >= 0) {
			cable_cbw_text(w, "up");
			cable_cbw_bool(w, m->up);
		}
	}
}

struct ga {
	const char *rp_id;
	const uint8_t *allow_id;
	size_t allow_len;
	int up;               /* -1 absent */
	const uint8_t *prf_first;
	const uint8_t *by_id; /* evalByCredential key */
	const uint8_t *by_first;
	uint8_t cdh_byte;
};

static void
build_ga(struct cable_cbw *w, const struct ga *g)
{
	bool ext = g->prf_first || g->by_id;

	cable_cbw_init(w, 0);
	cable_cbw_map(w, 2 + (g->allow_id != NULL) + ext + (g->up >= 0));
	cable_cbw_uint(w, 1);
	cable_cbw_text(w, g->rp_id ? g->rp_id : "example.com");
	cable_cbw_uint(w, 2);
	write_cdh(w, g->cdh_byte);
	if (g->allow_id != NULL) {
		cable_cbw_uint(w, 3);
		cable_cbw_array(w, 1);
		cable_cbw_map(w, 2);
		cable_cbw_text(w, "id");
		cable_cbw_bytes(w, g->allow_id, g->allow_len);
		cable_cbw_text(w, "type");
		cable_cbw_text(w, "public-key");
	}
	if (ext) {
		cable_cbw_uint(w, 4);
		cable_cbw_map(w, 1);
		cable_cbw_text(w, "prf");
		cable_cbw_map(w, (g->prf_first != NULL) + (g->by_id != NULL));
		if (g->prf_first) {
			cable_cbw_text(w, "eval");
			cable_cbw_map(w, 1);
			cable_cbw_text(w, "first");
			cable_cbw_bytes(w, g->prf_first, 32);
		}
		if (g->by_id) {
			cable_cbw_text(w, "evalByCredential");
			cable_cbw_map(w, 1);
			cable_cbw_bytes(w, g->by_id, CABLE_CRED_ID_LEN);
			cable_cbw_map(w, 1);
			cable_cbw_text(w, "first");
			cable_cbw_bytes(w, g->by_first, 32);
		}
	}
	if (g->up >= 0) {
		cable_cbw_uint(w, 5);
		cable_cbw_map(w, 1);
		cable_cbw_text(w, "up");
		cable_cbw_bool(w, g->up);
	}
}

/* A created credential: its ID and public key, read from the attested authData. */
struct made {
	uint8_t id[CABLE_CRED_ID_LEN];
	uint8_t pub[CABLE_P256_PUB_LEN];
	uint32_t count;
	uint8_t flags;
};

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
parse_attested(const uint8_t *ad, size_t ad_len, const char *rp_id, struct made *out)
{
	uint8_t h[32];
	cbor_item_t *cose;
	size_t n;

	assert_int_equal(ad_len, 37 + 16 + 2 + CABLE_CRED_ID_LEN + 77);
	assert_int_equal(cable_sha256((const uint8_t *)rp_id, strlen(rp_id), NULL, 0, h), 0);
	assert_memory_equal(ad, h, 32);
	out->flags = ad[32];
	out->count = be32(ad + 33);
	assert_memory_equal(ad + 37, aaguid, 16);
	assert_int_equal(ad[53] << 8 | ad[54], CABLE_CRED_ID_LEN);
	memcpy(out->id, ad + 55, CABLE_CRED_ID_LEN);
	assert_int_equal(cable_cbor_load(ad + 55 + CABLE_CRED_ID_LEN, 77, CABLE_CBOR_CANONICAL, &cose), 0);
	{
		int64_t v;
		assert_int_equal(cable_cbor_get_int(cable_cbor_map_get_int(cose, 1), &v), 0);
		assert_int_equal(v, 2);
		assert_int_equal(cable_cbor_get_int(cable_cbor_map_get_int(cose, 3), &v), 0);
		assert_int_equal(v, -7);
		assert_int_equal(cable_cbor_get_int(cable_cbor_map_get_int(cose, -1), &v), 0);
		assert_int_equal(v, 1);
	}
	out->pub[0] = 0x04;
	memcpy(out->pub + 1, bytes_at(cose, -2, &n), 32);
	assert_int_equal(n, 32);
	memcpy(out->pub + 33, bytes_at(cose, -3, &n), 32);
	assert_int_equal(n, 32);
	assert_int_equal(cable_p256_check_public(out->pub), 0);
	cbor_decref(&cose);
}

static cbor_item_t *
make(struct fx *f, const struct mc *m, struct made *out)
{
	struct cable_cbw w;
	cbor_item_t *resp;
	const uint8_t *ad;
	size_t ad_len;

	build_mc(&w, m);
	resp = call_map(f, CABLE_CTAP_MAKE_CREDENTIAL, &w);
	ad = bytes_at(resp, 2, &ad_len);
	parse_attested(ad, ad_len, m->rp_id ? m->rp_id : "example.com", out);
	return resp;
}

/* Verifies an assertion's signature with pub over authData || cdh. */
static void
verify_assertion(const cbor_item_t *resp, const uint8_t pub[CABLE_P256_PUB_LEN], uint8_t cdh_byte)
{
	const uint8_t *ad, *sig;
	size_t ad_len, sig_len;
	uint8_t msg[37 + 32];

	ad = bytes_at(resp, 2, &ad_len);
	assert_int_equal(ad_len, 37);
	sig = bytes_at(resp, 3, &sig_len);
	memcpy(msg, ad, 37);
	memset(msg + 37, cdh_byte, 32);
	assert_int_equal(cable_p256_verify(pub, msg, sizeof(msg), sig, sig_len), 0);
	msg[36] ^= 1; /* the counter is covered */
	assert_int_equal(cable_p256_verify(pub, msg, sizeof(msg), sig, sig_len), CABLE_ERR_AUTH);
}

/* ---- tests ------------------------------------------------------------------------------ */

static void
test_get_info(void **state)
{
	/* The getInfo of §5.2's shape, with our values (written out by hand, key by key). */
	static const char want[] =
	    "a9"
	    "0182684649444f5f325f30684649444f5f325f31" /* 1: ["FIDO_2_0", "FIDO_2_1"] */
	    "028163707266"                               /* 2: ["prf"] */
	    "03505b9be0a7f824906fce1ccfade7e85665"       /* 3: aaguid */
	    "04a4" "62726bf5" "627570f5" "627576f5" "64706c6174f4" /* 4: rk up uv true, plat false */
	    "05191db9"                                   /* 5: maxMsgSize 7609 */
	    "0710"                                       /* 7: 16 credentials in a list */
	    "081880"                                     /* 8: IDs up to 128 bytes */
	    "0982" "66687962726964" "68696e7465726e616c" /* 9: ["hybrid", "internal"] */
	    "0a81a263616c672664747970656a7075626c69632d6b6579"; /* 10: ES256 */
	struct fx *f = fx_new(1, false, CABLE_ATTESTATION_NONE);
	const uint8_t *info;
	uint8_t *w, *resp, req[2] = {CABLE_CTAP_GET_INFO, 0};
	size_t wl, len, resp_len;

	(void)state;
	assert_int_equal(cable_hex_decode_alloc(want, &w, &wl), 0);
	assert_int_equal(cable_authenticator_get_info(f->a, &info, &len), 0);
	tv_assert_bytes(info, len, w, wl);
	resp = call(f, CABLE_CTAP_GET_INFO, NULL, 0, &resp_len);
	assert_int_equal(resp[0], 0);
	tv_assert_bytes(resp + 1, resp_len - 1, w, wl);
	free(resp);
	/* getInfo takes no parameters */
	assert_int_equal(cable_authenticator_handle(f->a, req, 2, &resp, &resp_len), 0);
	assert_int_equal(resp_len, 1);
	assert_int_equal(resp[0], CABLE_CTAP1_ERR_INVALID_LENGTH);
	free(resp);
	free(w);
	assert_int_equal(f->ui.calls, 0);
	fx_free(f);
}

/* Our getInfo goes through the post-handshake message builder and the desktop's parser intact. */
static void
test_get_info_post_handshake(void **state)
{
	struct fx *f = fx_new(16, false, CABLE_ATTESTATION_NONE);
	struct cable_post_handshake ph;
	const uint8_t *info;
	uint8_t *msg;
	size_t len, msg_len;

	(void)state;
	assert_int_equal(cable_authenticator_get_info(f->a, &info, &len), 0);
	assert_int_equal(cable_post_handshake_build(info, len, CABLE_FEATURE_CTAP, &msg, &msg_len), 0);
	memset(&ph, 0, sizeof(ph));
	assert_int_equal(cable_post_handshake_parse(msg, msg_len, true, &ph), 0);
	assert_int_equal(ph.revision, 1);
	assert_int_equal(ph.features, CABLE_FEATURE_CTAP);
	tv_assert_bytes(ph.getinfo, ph.getinfo_len, info, len);
	cable_post_handshake_clear(&ph);
	free(msg);
	fx_free(f);
}

static void
test_make_credential_none(void **state)
{
	struct fx *f = fx_new(2, false, CABLE_ATTESTATION_NONE);
	struct mc m = {.rk = -1, .up = -1, .user_name = "bob"};
	struct made c;
	cbor_item_t *resp, *st;

	(void)state;
	resp = make(f, &m, &c);
	assert_int_equal(cbor_map_size(resp), 3);
	assert_text(cable_cbor_map_get_int(resp, 1), "none");
	st = cable_cbor_map_get_int(resp, 3);
	assert_true(cbor_isa_map(st));
	assert_int_equal(cbor_map_size(st), 0);
	assert_int_equal(c.flags, 0x45); /* UP | UV | AT */
	assert_int_equal(c.count, 1);
	assert_int_equal(cable_cred_store_counter(f->store), 1);
	assert_int_equal(cable_cred_store_count(f->store), 0); /* not resident */
	assert_int_equal(f->ui.calls, 1);
	assert_int_equal(f->ui.last.kind, CABLE_PROMPT_MAKE_CREDENTIAL);
	assert_string_equal(f->ui.last_rp, "example.com");
	assert_string_equal(f->ui.last_user, "bob");
	assert_false(f->ui.last.resident);
	assert_int_equal(f->persist_calls, 1); /* the counter */
	cbor_decref(&resp);
	fx_free(f);
}

static void
test_make_credential_packed(void **state)
{
	struct fx *f = fx_new(3, false, CABLE_ATTESTATION_PACKED_SELF);
	struct mc m = {.rk = -1, .up = -1, .cdh_byte = 0x5a};
	struct made c;
	cbor_item_t *resp, *st;
	const uint8_t *ad, *sig;
	size_t ad_len, sig_len;
	uint8_t *msg;
	int64_t alg;

	(void)state;
	resp = make(f, &m, &c);
	assert_text(cable_cbor_map_get_int(resp, 1), "packed");
	st = cable_cbor_map_get_int(resp, 3);
	assert_int_equal(cbor_map_size(st), 2);
	assert_int_equal(cable_cbor_get_int(cable_cbor_map_get_str(st, "alg"), &alg), 0);
	assert_int_equal(alg, -7);
	sig = bytes_str(st, "sig", &sig_len);
	ad = bytes_at(resp, 2, &ad_len);
	assert_non_null(msg = malloc(ad_len + 32));
	memcpy(msg, ad, ad_len);
	memset(msg + ad_len, 0x5a, 32);
	assert_int_equal(cable_p256_verify(c.pub, msg, ad_len + 32, sig, sig_len), 0);
	memset(msg + ad_len, 0x5b, 32);
	assert_int_equal(cable_p256_verify(c.pub, msg, ad_len + 32, sig, sig_len), CABLE_ERR_AUTH);
	free(msg);
	cbor_decref(&resp);
	fx_free(f);
}

static void
test_get_assertion_allow_list(void **state)
{
	struct fx *f = fx_new(4, false, CABLE_ATTESTATION_NONE);
	struct mc m = {.rk = -1, .up = -1};
	struct made c;
	cbor_item_t *resp, *cred;
	struct cable_cbw w;
	uint32_t last;
	size_t n;
	const uint8_t *ad;

	(void)state;
	cbor_decref((cbor_item_t *[]){make(f, &m, &c)});
	last = c.count;
	for (int i = 0; i < 3; i++) {
		struct ga g = {.allow_id = c.id, .allow_len = sizeof(c.id), .up = -1, .cdh_byte = (uint8_t)i};
		build_ga(&w, &g);
		resp = call_map(f, CABLE_CTAP_GET_ASSERTION, &w);
		assert_int_equal(cbor_map_size(resp), 3); /* credential, authData, signature: no user */
		cred = cable_cbor_map_get_int(resp, 1);
		ad = bytes_str(cred, "id", &n);
		tv_assert_bytes(ad, n, c.id, sizeof(c.id));
		assert_text(cable_cbor_map_get_str(cred, "type"), "public-key");
		ad = bytes_at(resp, 2, &n);
		assert_int_equal(ad[32], 0x05); /* UP | UV */
		assert_true(be32(ad + 33) > last);
		last = be32(ad + 33);
		verify_assertion(resp, c.pub, (uint8_t)i);
		cbor_decref(&resp);
	}
	assert_int_equal(last, cable_cred_store_counter(f->store));
	assert_int_equal(f->ui.last.kind, CABLE_PROMPT_GET_ASSERTION);
	assert_int_equal(f->ui.last_accounts, 0);
	fx_free(f);
}

static void
test_up_false(void **state)
{
	struct fx *f = fx_new(5, false, CABLE_ATTESTATION_NONE);
	struct mc m = {.rk = -1, .up = -1};
	uint8_t salt[32];
	struct made c;
	cbor_item_t *resp;
	struct cable_cbw w;
	size_t n;
	int calls;

	(void)state;
	cbor_decref((cbor_item_t *[]){make(f, &m, &c)});
	calls = f->ui.calls;
	memset(salt, 7, sizeof(salt));
	{
		struct ga g = {.allow_id = c.id, .allow_len = sizeof(c.id), .up = 0, .prf_first = salt};
		build_ga(&w, &g);
	}
	resp = call_map(f, CABLE_CTAP_GET_ASSERTION, &w);
	assert_int_equal(f->ui.calls, calls); /* no prompt */
	assert_int_equal(bytes_at(resp, 2, &n)[32], 0x00);
	assert_null(cable_cbor_map_get_int(resp, 8)); /* prf needs UV */
	verify_assertion(resp, c.pub, 0);
	cbor_decref(&resp);
	/* makeCredential with up=false is an invalid option */
	m.up = 0;
	build_mc(&w, &m);
	assert_int_equal(call_status(f, CABLE_CTAP_MAKE_CREDENTIAL, &w), CABLE_CTAP2_ERR_INVALID_OPTION);
	fx_free(f);
}

/* PRF output recomputed from the documented derivation and the store's master secret. */
static void
expected_prf(const struct cable_cred_store *s, const uint8_t id[CABLE_CRED_ID_LEN], const char *rp_id,
    const uint8_t salt[32], uint8_t out[32])
{
	static const char label[] = "cable-bridge credential prf v1";
	uint8_t msg[sizeof(label) - 1 + 18 + 32], h[32], cred_random[32];

	assert_int_equal(cable_sha256((const uint8_t *)rp_id, strlen(rp_id), NULL, 0, h), 0);
	memcpy(msg, label, sizeof(label) - 1);
	memcpy(msg + sizeof(label) - 1, id, 18);
	memcpy(msg + sizeof(label) - 1 + 18, h, 32);
	assert_int_equal(cable_hmac_sha256(s->master, 32, msg, sizeof(msg), cred_random), 0);
	assert_int_equal(cable_hmac_sha256(cred_random, 32, salt, 32, out), 0);
}

static void
test_prf(void **state)
{
	struct fx *f = fx_new(6, false, CABLE_ATTESTATION_NONE);
	uint8_t s1[32], s2[32], s3[32], want[32];
	struct mc m = {.rk = 1, .up = -1, .prf_first = s1, .prf_second = s2};
	struct made c;
	cbor_item_t *resp, *prf, *res;
	struct cable_cbw w;
	size_t n;
	const uint8_t *p;

	(void)state;
	memset(s1, 1, 32);
	memset(s2, 2, 32);
	memset(s3, 3, 32);
	resp = make(f, &m, &c);
	assert_int_equal(c.flags & 0x80, 0); /* no signed extension outputs */
	prf = cable_cbor_map_get_str(cable_cbor_map_get_int(resp, 6), "prf");
	assert_non_null(prf);
	assert_true(cbor_get_bool(cable_cbor_map_get_str(prf, "enabled")));
	res = cable_cbor_map_get_str(prf, "results");
	expected_prf(f->store, c.id, "example.com", s1, want);
	p = bytes_str(res, "first", &n);
	tv_assert_bytes(p, n, want, 32);
	expected_prf(f->store, c.id, "example.com", s2, want);
	p = bytes_str(res, "second", &n);
	tv_assert_bytes(p, n, want, 32);
	cbor_decref(&resp);

	/* getAssertion: eval; then evalByCredential for this ID wins over eval. */
	{
		struct ga g = {.allow_id = c.id, .allow_len = sizeof(c.id), .up = -1, .prf_first = s1};
		build_ga(&w, &g);
	}
	resp = call_map(f, CABLE_CTAP_GET_ASSERTION, &w);
	res = cable_cbor_map_get_str(cable_cbor_map_get_str(cable_cbor_map_get_int(resp, 8), "prf"), "results");
	assert_int_equal(cbor_map_size(res), 1);
	expected_prf(f->store, c.id, "example.com", s1, want);
	p = bytes_str(res, "first", &n);
	tv_assert_bytes(p, n, want, 32);
	cbor_decref(&resp);
	{
		struct ga g = {.up = -1, .prf_first = s1, .by_id = c.id, .by_first = s3};
		build_ga(&w, &g);
	}
	resp = call_map(f, CABLE_CTAP_GET_ASSERTION, &w);
	res = cable_cbor_map_get_str(cable_cbor_map_get_str(cable_cbor_map_get_int(resp, 8), "prf"), "results");
	expected_prf(f->store, c.id, "example.com", s3, want);
	p = bytes_str(res, "first", &n);
	tv_assert_bytes(p, n, want, 32);
	cbor_decref(&resp);

	/* "prf": {} and credProps at creation */
	{
		struct mc m2 = {.rk = -1, .up = -1, .prf_empty = true, .cred_props = true, .user_id = "u2"};
		resp = make(f, &m2, &c);
	}
	prf = cable_cbor_map_get_int(resp, 6);
	assert_int_equal(cbor_map_size(prf), 2);
	assert_int_equal(cbor_map_size(cable_cbor_map_get_str(prf, "prf")), 1);
	assert_false(cbor_get_bool(cable_cbor_map_get_str(cable_cbor_map_get_str(prf, "credProps"), "rk")));
	cbor_decref(&resp);
	fx_free(f);
}

static void
test_discoverable_phone_mode(void **state)
{
	struct fx *f = fx_new(7, false, CABLE_ATTESTATION_NONE);
	struct made c1, c2;
	cbor_item_t *resp, *user;
	struct cable_cbw w;
	size_t n;
	const uint8_t *p;

	(void)state;
	{
		struct mc m = {.rk = 1, .up = -1, .user_id = "id-1", .user_name = "one"};
		cbor_decref((cbor_item_t *[]){make(f, &m, &c1)});
		assert_true(f->ui.last.resident);
		/* passkey and counter are persisted in one write */
		assert_int_equal(f->persist_calls, 1);
		assert_int_equal(cable_cred_store_counter(f->store), 1);
		assert_int_equal(cable_cred_store_count(f->store), 1);
		struct mc m2 = {.rk = 1, .up = -1, .user_id = "id-2", .user_name = "two"};
		cbor_decref((cbor_item_t *[]){make(f, &m2, &c2)});
		struct mc m3 = {.rk = 1, .up = -1, .rp_id = "other.example", .user_id = "id-3"};
		struct made c3;
		cbor_decref((cbor_item_t *[]){make(f, &m3, &c3)});
	}
	assert_int_equal(cable_cred_store_count(f->store), 3);
	f->ui.select = 1; /* newest first: index 1 is "one" */
	{
		struct ga g = {.up = -1};
		build_ga(&w, &g);
	}
	resp = call_map(f, CABLE_CTAP_GET_ASSERTION, &w);
	assert_int_equal(f->ui.last_accounts, 2);
	assert_string_equal(f->ui.first_account, "two");
	p = bytes_str(cable_cbor_map_get_int(resp, 1), "id", &n);
	tv_assert_bytes(p, n, c1.id, sizeof(c1.id));
	user = cable_cbor_map_get_int(resp, 4);
	assert_int_equal(cbor_map_size(user), 3);
	p = bytes_str(user, "id", &n);
	tv_assert_bytes(p, n, (const uint8_t *)"id-1", 4);
	assert_text(cable_cbor_map_get_str(user, "name"), "");
	assert_text(cable_cbor_map_get_str(user, "displayName"), "");
	assert_true(cbor_get_bool(cable_cbor_map_get_int(resp, 6)));
	assert_null(cable_cbor_map_get_int(resp, 5));
	verify_assertion(resp, c1.pub, 0);
	cbor_decref(&resp);
	/* getNextAssertion has nothing pending in phone mode */
	assert_int_equal(call_status(f, CABLE_CTAP_GET_NEXT_ASSERTION, NULL), CABLE_CTAP2_ERR_NOT_ALLOWED);
	/* no credential for this RP */
	{
		struct ga g = {.up = -1, .rp_id = "nobody.example"};
		build_ga(&w, &g);
	}
	assert_int_equal(call_status(f, CABLE_CTAP_GET_ASSERTION, &w), CABLE_CTAP2_ERR_NO_CREDENTIALS);
	/* an allowList hit on a resident credential returns the user handle only */
	{
		struct ga g = {.up = -1, .allow_id = c2.id, .allow_len = sizeof(c2.id)};
		build_ga(&w, &g);
	}
	resp = call_map(f, CABLE_CTAP_GET_ASSERTION, &w);
	user = cable_cbor_map_get_int(resp, 4);
	assert_int_equal(cbor_map_size(user), 1);
	assert_null(cable_cbor_map_get_int(resp, 6));
	cbor_decref(&resp);
	fx_free(f);
}

static void
test_discoverable_list_mode(void **state)
{
	struct fx *f = fx_new(8, true, CABLE_ATTESTATION_NONE);
	struct made c[3];
	cbor_item_t *resp, *user;
	struct cable_cbw w;
	const char *names[] = {"n0", "n1", "n2"}, *ids[] = {"i0", "i1", "i2"};
	int seen = 0;
	size_t n;
	const uint8_t *p;

	(void)state;
	for (int i = 0; i < 3; i++) {
		struct mc m = {.rk = 1, .up = -1, .user_id = ids[i], .user_name = names[i]};
		cbor_decref((cbor_item_t *[]){make(f, &m, &c[i])});
	}
	for (int round = 0; round < 3; round++) {
		struct ga g = {.up = -1, .cdh_byte = 9};
		build_ga(&w, &g);
		resp = call_map(f, CABLE_CTAP_GET_ASSERTION, &w);
		assert_int_equal(f->ui.last_accounts, 0);
		assert_int_equal(cbor_get_int(cable_cbor_map_get_int(resp, 5)), 3);
		assert_null(cable_cbor_map_get_int(resp, 6));
		for (int k = 0; k < 3; k++) {
			if (k > 0) {
				if (round == 1 && k == 2) {
					/* another command in between ends the sequence */
					assert_int_equal(call_status(f, CABLE_CTAP_GET_INFO, NULL), 0);
					assert_int_equal(call_status(f, CABLE_CTAP_GET_NEXT_ASSERTION, NULL),
					    CABLE_CTAP2_ERR_NOT_ALLOWED);
					break;
				}
				if (round == 2 && k == 2) {
					f->env.now += 31; /* past the 30 s window */
					assert_int_equal(call_status(f, CABLE_CTAP_GET_NEXT_ASSERTION, NULL),
					    CABLE_CTAP2_ERR_NOT_ALLOWED);
					break;
				}
				resp = call_map(f, CABLE_CTAP_GET_NEXT_ASSERTION, NULL);
				assert_null(cable_cbor_map_get_int(resp, 5));
			}
			p = bytes_str(cable_cbor_map_get_int(resp, 1), "id", &n);
			user = cable_cbor_map_get_int(resp, 4);
			for (int i = 0; i < 3; i++) {
				if (memcmp(p, c[i].id, n) != 0)
					continue;
				verify_assertion(resp, c[i].pub, 9);
				assert_text(cable_cbor_map_get_str(user, "name"), names[i]);
				if (round == 0)
					seen |= 1 << i;
			}
			cbor_decref(&resp);
		}
	}
	assert_int_equal(seen, 7);
	assert_int_equal(call_status(f, CABLE_CTAP_GET_NEXT_ASSERTION, NULL), CABLE_CTAP2_ERR_NOT_ALLOWED);
	fx_free(f);
}

static void
test_resident_replace_and_truncate(void **state)
{
	struct fx *f = fx_new(9, false, CABLE_ATTESTATION_NONE);
	/* 70 bytes: 62 ASCII then "é" (2 bytes) at 62..63, then "€" (3 bytes) straddling 64 */
	char long_name[80];
	struct made c1, c2;
	struct cable_cred_info info;

	(void)state;
	memset(long_name, 'a', 62);
	memcpy(long_name + 62, "\xc3\xa9\xe2\x82\xac", 5);
	memcpy(long_name + 67, "zzz", 4);
	{
		struct mc m = {.rk = 1, .up = -1, .user_id = "same", .user_name = "first"};
		cbor_decref((cbor_item_t *[]){make(f, &m, &c1)});
		struct mc m2 = {.rk = 1, .up = -1, .user_id = "same", .user_name = long_name};
		cbor_decref((cbor_item_t *[]){make(f, &m2, &c2)});
	}
	assert_int_equal(cable_cred_store_count(f->store), 1);
	assert_int_equal(cable_cred_store_get(f->store, 0, &info), 0);
	tv_assert_bytes(info.id, info.id_len, c2.id, sizeof(c2.id));
	assert_int_equal(strlen(info.user_name), 64); /* cut before the 3-byte character */
	assert_memory_equal(info.user_name + 62, "\xc3\xa9", 2);
	assert_string_equal(info.rp_id, "example.com");
	assert_int_equal(cable_cred_store_get(f->store, 1, &info), CABLE_ERR_ARG);
	/* the replaced credential still signs through an allowList (its key lives in its ID) */
	{
		struct cable_cbw w;
		struct ga g = {.up = -1, .allow_id = c1.id, .allow_len = sizeof(c1.id)};
		cbor_item_t *resp;
		build_ga(&w, &g);
		resp = call_map(f, CABLE_CTAP_GET_ASSERTION, &w);
		verify_assertion(resp, c1.pub, 0);
		cbor_decref(&resp);
	}
	fx_free(f);
}

static void
test_exclude_list(void **state)
{
	struct fx *f = fx_new(10, false, CABLE_ATTESTATION_NONE);
	struct made c;
	struct cable_cbw w;
	uint8_t forged[CABLE_CRED_ID_LEN];

	(void)state;
	{
		struct mc m = {.rk = -1, .up = -1};
		cbor_decref((cbor_item_t *[]){make(f, &m, &c)});
	}
	{
		struct mc m = {.rk = -1, .up = -1, .exclude_id = c.id, .exclude_len = sizeof(c.id)};
		build_mc(&w, &m);
	}
	assert_int_equal(call_status(f, CABLE_CTAP_MAKE_CREDENTIAL, &w), CABLE_CTAP2_ERR_CREDENTIAL_EXCLUDED);
	assert_int_equal(f->ui.last.kind, CABLE_PROMPT_EXCLUDED);
	f->ui.answer = CABLE_CTAP2_ERR_OPERATION_DENIED;
	{
		struct mc m = {.rk = -1, .up = -1, .exclude_id = c.id, .exclude_len = sizeof(c.id)};
		build_mc(&w, &m);
	}
	assert_int_equal(call_status(f, CABLE_CTAP_MAKE_CREDENTIAL, &w), CABLE_CTAP2_ERR_OPERATION_DENIED);
	f->ui.answer = 0;
	memcpy(forged, c.id, sizeof(forged));
	forged[5] ^= 0x10;
	{
		struct mc m = {.rk = -1, .up = -1, .exclude_id = forged, .exclude_len = sizeof(forged)};
		build_mc(&w, &m);
	}
	assert_int_equal(call_status(f, CABLE_CTAP_MAKE_CREDENTIAL, &w), 0);
	{
		struct mc m = {.rk = -1, .up = -1, .rp_id = "other.example", .exclude_id = c.id,
		    .exclude_len = sizeof(c.id)};
		build_mc(&w, &m);
	}
	assert_int_equal(call_status(f, CABLE_CTAP_MAKE_CREDENTIAL, &w), 0);
	fx_free(f);
}

static void
test_forged_ids(void **state)
{
	struct fx *f = fx_new(11, false, CABLE_ATTESTATION_NONE), *g2 = fx_new(12, false, CABLE_ATTESTATION_NONE);
	struct made c;
	struct cable_cbw w;
	uint8_t bad[CABLE_CRED_ID_LEN + 1];

	(void)state;
	{
		struct mc m = {.rk = -1, .up = -1};
		cbor_decref((cbor_item_t *[]){make(f, &m, &c)});
	}
	for (size_t i = 0; i < CABLE_CRED_ID_LEN * 8; i++) {
		struct ga g = {.up = -1, .allow_id = bad, .allow_len = CABLE_CRED_ID_LEN};
		memcpy(bad, c.id, CABLE_CRED_ID_LEN);
		bad[i / 8] ^= (uint8_t)(1 << (i % 8));
		build_ga(&w, &g);
		assert_int_equal(call_status(f, CABLE_CTAP_GET_ASSERTION, &w), CABLE_CTAP2_ERR_NO_CREDENTIALS);
	}
	{
		struct ga g = {.up = -1, .allow_id = c.id, .allow_len = CABLE_CRED_ID_LEN - 1};
		build_ga(&w, &g);
		assert_int_equal(call_status(f, CABLE_CTAP_GET_ASSERTION, &w), CABLE_CTAP2_ERR_NO_CREDENTIALS);
	}
	memcpy(bad, c.id, CABLE_CRED_ID_LEN);
	bad[CABLE_CRED_ID_LEN] = 0;
	{
		struct ga g = {.up = -1, .allow_id = bad, .allow_len = CABLE_CRED_ID_LEN + 1};
		build_ga(&w, &g);
		assert_int_equal(call_status(f, CABLE_CTAP_GET_ASSERTION, &w), CABLE_CTAP2_ERR_NO_CREDENTIALS);
	}
	{
		struct ga g = {.up = -1, .rp_id = "example.org", .allow_id = c.id, .allow_len = CABLE_CRED_ID_LEN};
		build_ga(&w, &g);
		assert_int_equal(call_status(f, CABLE_CTAP_GET_ASSERTION, &w), CABLE_CTAP2_ERR_NO_CREDENTIALS);
	}
	{
		/* another authenticator's master secret */
		struct ga g = {.up = -1, .allow_id = c.id, .allow_len = CABLE_CRED_ID_LEN};
		build_ga(&w, &g);
		assert_int_equal(call_status(g2, CABLE_CTAP_GET_ASSERTION, &w), CABLE_CTAP2_ERR_NO_CREDENTIALS);
	}
	fx_free(g2);
	fx_free(f);
}

/* Raw requests and the status each must get. */
struct raw_case {
	uint8_t cmd;
	const char *hex;
	uint8_t status;
};

/* A valid makeCredential body with cdh=32x00, rp "a", user id "u", ES256, then the variations. */
#define CDH "5820" "0000000000000000000000000000000000000000000000000000000000000000"
#define RP "a16269646161"
#define USER "a16269644175"
#define ES256 "81a263616c672664747970656a7075626c69632d6b6579"

static const struct raw_case raw_cases[] = {
	{0x01, "a4" "01" CDH "02" RP "03" USER "04" ES256, 0x00},
	/* non-canonical: keys out of order; non-shortest key; non-shortest length; indefinite map */
	{0x01, "a4" "02" RP "01" CDH "03" USER "04" ES256, 0x12},
	{0x01, "a4" "1801" CDH "02" RP "03" USER "04" ES256, 0x12},
	{0x01, "a4" "01" "580020" "00000000000000000000000000000000000000000000000000000000000000", 0x12},
	{0x01, "bf" "01" CDH "02" RP "03" USER "04" ES256 "ff", 0x12},
	{0x01, "a4" "01" CDH "02" RP "03" USER "04" ES256 "00", 0x12}, /* trailing byte */
	{0x01, "a4" "01" CDH "02" RP "03" USER, 0x12},                 /* truncated */
	{0x01, "c0" "a0", 0x12},                                      /* tag */
	{0x01, "", 0x14},
	{0x01, "80", 0x11},
	/* missing parameters */
	{0x01, "a3" "02" RP "03" USER "04" ES256, 0x14},
	{0x01, "a3" "01" CDH "03" USER "04" ES256, 0x14},
	{0x01, "a3" "01" CDH "02" RP "04" ES256, 0x14},
	{0x01, "a3" "01" CDH "02" RP "03" USER, 0x14},
	{0x01, "a4" "01" CDH "02" "a0" "03" USER "04" ES256, 0x14},
	{0x01, "a4" "01" CDH "02" RP "03" "a0" "04" ES256, 0x14},
	/* wrong types */
	{0x01, "a4" "01" "6161" "02" RP "03" USER "04" ES256, 0x11},
	{0x01, "a4" "01" CDH "02" "6161" "03" USER "04" ES256, 0x11},
	{0x01, "a4" "01" CDH "02" "a1626964" "01" "03" USER "04" ES256, 0x11},
	{0x01, "a4" "01" CDH "02" RP "03" "a1626964" "6175" "04" ES256, 0x11},
	{0x01, "a4" "01" CDH "02" RP "03" USER "04" "a0", 0x11},
	{0x01, "a4" "01" CDH "02" RP "03" USER "04" "8101", 0x11},
	{0x01, "a5" "01" CDH "02" RP "03" USER "04" ES256 "05" "a0", 0x11},
	{0x01, "a5" "01" CDH "02" RP "03" USER "04" ES256 "06" "80", 0x11},
	{0x01, "a5" "01" CDH "02" RP "03" USER "04" ES256 "07" "80", 0x11},
	{0x01, "a5" "01" CDH "02" RP "03" USER "04" ES256 "07" "a1" "627576" "01", 0x11},
	{0x01, "a5" "01" CDH "02" RP "03" USER "04" ES256 "06" "a1" "01" "f5", 0x11},
	{0x01, "a5" "01" CDH "02" RP "03" USER "04" ES256 "06" "a1" "63707266" "f5", 0x11},
	{0x01, "a5" "01" CDH "02" RP "03" USER "04" ES256 "06" "a1" "63707266" "a1" "646576616c" "a0", 0x14},
	{0x01, "a5" "01" CDH "02" RP "03" USER "04" ES256 "06" "a1" "63707266" "a1" "646576616c" "a1" "656669727374" "4100", 0x02},
	/* pubKeyCredParams: missing members 0x12, alg wrong type 0x11, unsupported 0x26, empty 0x26 */
	{0x01, "a4" "01" CDH "02" RP "03" USER "04" "81a1" "63616c67" "26", 0x12},
	{0x01, "a4" "01" CDH "02" RP "03" USER "04" "81a2" "63616c67" "6126" "6474797065" "6a7075626c69632d6b6579", 0x11},
	{0x01, "a4" "01" CDH "02" RP "03" USER "04" "81a2" "63616c67" "390100" "6474797065" "6a7075626c69632d6b6579", 0x26},
	{0x01, "a4" "01" CDH "02" RP "03" USER "04" "80", 0x26},
	/* excludeList descriptor without type */
	{0x01, "a5" "01" CDH "02" RP "03" USER "04" ES256 "05" "81a1626964" "4100", 0x12},
	/* clientDataHash of the wrong size; user id too long (65 bytes) or empty */
	{0x01, "a4" "01" "4100" "02" RP "03" USER "04" ES256, 0x02},
	{0x01, "a4" "01" CDH "02" RP "03" "a1626964" "4100" "04" ES256, 0x00},
	{0x01, "a4" "01" CDH "02" RP "03" "a1626964" "40" "04" ES256, 0x02},
	/* invalid UTF-8 in the user name */
	{0x01, "a4" "01" CDH "02" RP "03" "a2626964" "4175" "646e616d65" "61ff" "04" ES256, 0x12},
	/* options: up false 0x2C, rk true fine, unknown option ignored */
	{0x01, "a5" "01" CDH "02" RP "03" USER "04" ES256 "07" "a1" "627570" "f4", 0x2c},
	{0x01, "a5" "01" CDH "02" RP "03" USER "04" ES256 "07" "a1" "627576" "f5", 0x00},
	{0x01, "a5" "01" CDH "02" RP "03" USER "04" ES256 "07" "a1" "63666f6f" "01", 0x00},
	/* pinUvAuthParam without protocol 0x14; with a protocol 0x02 (none supported) */
	{0x01, "a5" "01" CDH "02" RP "03" USER "04" ES256 "08" "4100", 0x14},
	{0x01, "a6" "01" CDH "02" RP "03" USER "04" ES256 "08" "4100" "09" "02", 0x02},
	/* enterpriseAttestation: not capable */
	{0x01, "a5" "01" CDH "02" RP "03" USER "04" ES256 "0a" "01", 0x02},
	/* getAssertion */
	{0x02, "a2" "01" "6161" "02" CDH, 0x2e},
	{0x02, "a1" "02" CDH, 0x14},
	{0x02, "a1" "01" "6161", 0x14},
	{0x02, "a2" "01" "01" "02" CDH, 0x11},
	{0x02, "a3" "01" "6161" "02" CDH "03" "a0", 0x11},
	{0x02, "a3" "01" "6161" "02" CDH "03" "80", 0x2e}, /* empty allowList: discoverable */
	{0x02, "a3" "01" "6161" "02" CDH "05" "a1" "62726b" "f4", 0x2b},
	{0x02, "a3" "01" "6161" "02" CDH "05" "a1" "627570" "00", 0x11},
	{0x02, "a3" "01" "6161" "02" CDH "06" "4100", 0x14},
	{0x02, "a3" "01" "6161" "02" CDH "04" "a1" "63707266" "a1" "70" "6576616c4279437265" "64656e7469616c" "80", 0x11},
	{0x02, "a2" "02" CDH "01" "6161", 0x12},
	/* other commands */
	{0x03, "", 0x01},
	{0x06, "a2" "0102" "0202", 0x01},
	{0x07, "", 0x01},
	{0x0a, "", 0x01},
	{0x08, "", 0x30},
	{0x08, "00", 0x03},
	{0x0b, "", 0x00},
	{0x0b, "a0", 0x03},
};

static void
test_raw_status(void **state)
{
	struct fx *f = fx_new(13, false, CABLE_ATTESTATION_NONE);

	(void)state;
	for (size_t i = 0; i < sizeof(raw_cases) / sizeof(raw_cases[0]); i++) {
		uint8_t *body, *resp;
		size_t body_len, resp_len;
		assert_int_equal(cable_hex_decode_alloc(raw_cases[i].hex, &body, &body_len), 0);
		resp = call(f, raw_cases[i].cmd, body, body_len, &resp_len);
		if (resp[0] != raw_cases[i].status)
			print_error("case %zu: status 0x%02x, want 0x%02x\n", i, resp[0], raw_cases[i].status);
		assert_int_equal(resp[0], raw_cases[i].status);
		free(resp);
		free(body);
	}
	fx_free(f);
}

static void
test_sizes_and_failures(void **state)
{
	struct fx *f = fx_new(14, false, CABLE_ATTESTATION_NONE);
	uint8_t *big, *resp = NULL;
	size_t resp_len;
	struct cable_cbw w;
	struct mc m = {.rk = 1, .up = -1};
	uint8_t *body;
	size_t body_len;
	uint8_t req[1] = {0x04};

	(void)state;
	assert_non_null(big = calloc(1, CABLE_AUTHENTICATOR_MAX_MSG_SIZE + 1));
	big[0] = 0x01;
	assert_int_equal(cable_authenticator_handle(f->a, big, CABLE_AUTHENTICATOR_MAX_MSG_SIZE + 1, &resp,
	                     &resp_len), 0);
	assert_int_equal(resp[0], CABLE_CTAP1_ERR_INVALID_LENGTH);
	free(resp);
	free(big);
	assert_int_equal(cable_authenticator_handle(f->a, req, 0, &resp, &resp_len), 0);
	assert_int_equal(resp[0], CABLE_CTAP1_ERR_INVALID_LENGTH);
	free(resp);
	assert_int_equal(cable_authenticator_handle(NULL, req, 1, &resp, &resp_len), CABLE_ERR_ARG);

	/* persistence fails: 0x7F, and the store is as before (no passkey, same counter) */
	f->persist_fail = 1;
	build_mc(&w, &m);
	assert_int_equal(call_status(f, CABLE_CTAP_MAKE_CREDENTIAL, &w), CABLE_CTAP1_ERR_OTHER);
	assert_int_equal(cable_cred_store_count(f->store), 0);
	assert_int_equal(cable_cred_store_counter(f->store), 0);
	f->persist_fail = 0;

	/* user declines / times out */
	f->ui.answer = CABLE_CTAP2_ERR_USER_ACTION_TIMEOUT;
	build_mc(&w, &m);
	assert_int_equal(call_status(f, CABLE_CTAP_MAKE_CREDENTIAL, &w), CABLE_CTAP2_ERR_USER_ACTION_TIMEOUT);
	f->ui.answer = -5;
	build_mc(&w, &m);
	assert_int_equal(call_status(f, CABLE_CTAP_MAKE_CREDENTIAL, &w), CABLE_CTAP2_ERR_OPERATION_DENIED);
	assert_int_equal(cable_cred_store_count(f->store), 0);
	f->ui.answer = 0;

	/* a failing random source gives no response at all */
	f->env.fail_random = 1;
	build_mc(&w, &m);
	assert_int_equal(cable_cbw_finish(&w, &body, &body_len), 0);
	assert_non_null(big = malloc(body_len + 1));
	big[0] = 0x01;
	memcpy(big + 1, body, body_len);
	resp = NULL;
	assert_int_equal(cable_authenticator_handle(f->a, big, body_len + 1, &resp, &resp_len), CABLE_ERR_RANDOM);
	assert_null(resp);
	free(big);
	free(body);
	f->env.fail_random = 0;

	/* key store full */
	for (int i = 0; i < CABLE_CRED_STORE_MAX; i++) {
		char uid[16];
		struct mc mm = {.rk = 1, .up = -1, .user_id = uid};
		snprintf(uid, sizeof(uid), "u%d", i);
		build_mc(&w, &mm);
		assert_int_equal(call_status(f, CABLE_CTAP_MAKE_CREDENTIAL, &w), 0);
	}
	assert_int_equal(cable_cred_store_count(f->store), CABLE_CRED_STORE_MAX);
	{
		struct mc mm = {.rk = 1, .up = -1, .user_id = "one more"};
		build_mc(&w, &mm);
		assert_int_equal(call_status(f, CABLE_CTAP_MAKE_CREDENTIAL, &w), CABLE_CTAP2_ERR_KEY_STORE_FULL);
		struct mc again = {.rk = 1, .up = -1, .user_id = "u7"}; /* replacing is still fine */
		build_mc(&w, &again);
		assert_int_equal(call_status(f, CABLE_CTAP_MAKE_CREDENTIAL, &w), 0);
		struct mc nonres = {.rk = 0, .up = -1, .user_id = "one more"};
		build_mc(&w, &nonres);
		assert_int_equal(call_status(f, CABLE_CTAP_MAKE_CREDENTIAL, &w), 0);
	}
	fx_free(f);
}

/* The largest responses stay within libfido2's buffers: 2048 (getAssertion), 4096 (makeCredential). */
static void
test_response_sizes(void **state)
{
	struct fx *f = fx_new(15, true, CABLE_ATTESTATION_PACKED_SELF);
	char uid[65], name[65];
	uint8_t s[32], *body, *resp;
	size_t body_len, resp_len;
	struct cable_cbw w;

	(void)state;
	memset(s, 0x33, sizeof(s));
	memset(name, 'n', 64);
	name[64] = '\0';
	for (int i = 0; i < 2; i++) {
		memset(uid, 'a' + i, 64);
		uid[64] = '\0';
		struct mc m = {.rk = 1, .up = -1, .user_id = uid, .user_name = name, .prf_first = s,
		    .prf_second = s, .cred_props = true};
		build_mc(&w, &m);
		assert_int_equal(cable_cbw_finish(&w, &body, &body_len), 0);
		resp = call(f, CABLE_CTAP_MAKE_CREDENTIAL, body, body_len, &resp_len);
		assert_int_equal(resp[0], 0);
		assert_true(resp_len <= 4096);
		free(resp);
		free(body);
	}
	{
		struct ga g = {.up = -1, .prf_first = s};
		build_ga(&w, &g);
	}
	assert_int_equal(cable_cbw_finish(&w, &body, &body_len), 0);
	resp = call(f, CABLE_CTAP_GET_ASSERTION, body, body_len, &resp_len);
	assert_int_equal(resp[0], 0);
	assert_true(resp_len <= 2048);
	free(resp);
	free(body);
	fx_free(f);
}

static void
test_new_args(void **state)
{
	struct tv_env e;
	struct cable_authenticator_config cfg;

	(void)state;
	tv_env_init(&e, 1);
	memset(&cfg, 0, sizeof(cfg));
	assert_null(cable_authenticator_new(&e.env, &cfg)); /* no store */
	assert_null(cable_authenticator_new(&e.env, NULL));
	cable_authenticator_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get_info),
	    cmocka_unit_test(test_get_info_post_handshake),
	    cmocka_unit_test(test_make_credential_none),
	    cmocka_unit_test(test_make_credential_packed),
	    cmocka_unit_test(test_get_assertion_allow_list),
	    cmocka_unit_test(test_up_false),
	    cmocka_unit_test(test_prf),
	    cmocka_unit_test(test_discoverable_phone_mode),
	    cmocka_unit_test(test_discoverable_list_mode),
	    cmocka_unit_test(test_resident_replace_and_truncate),
	    cmocka_unit_test(test_exclude_list),
	    cmocka_unit_test(test_forged_ids),
	    cmocka_unit_test(test_raw_status),
	    cmocka_unit_test(test_sizes_and_failures),
	    cmocka_unit_test(test_response_sizes),
	    cmocka_unit_test(test_new_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

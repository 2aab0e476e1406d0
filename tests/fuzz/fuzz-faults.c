/*
 * libFuzzer harness: the parsers of untrusted bytes with allocation and library failures injected
 * (wrap.c), so that their error paths run under ASan/UBSan/LeakSanitizer. Input: target byte,
 * fault byte N (the Nth counted call fails, N modulo 64; 0 = none), source mask byte (wrap.h),
 * then the payload for the target. Checked: no crash, no leak, errors are negative CABLE_ERR_*
 * codes, and a fault never turns an input that fails without faults into a success.
 */
#include <stdlib.h>
#include <string.h>

#include "cable/advert.h"
#include "cable/authenticator.h"
#include "cable/bytes.h"
#include "cable/cbor.h"
#include "cable/cred-store.h"
#include "cable/error.h"
#include "cable/messages.h"
#include "cable/qr.h"
#include "cable/webauthn.h"
#include "fuzz-common.h"
#include "wrap.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_err(int r)
{
	/* 0, a negative CABLE_ERR_* code; never a positive value from a parser. */
	if (r > 0 || cable_strerror(r) == NULL)
		abort();
}

static int
t_qr(const uint8_t *p, size_t n)
{
	struct cable_qr qr;
	char *url = NULL;
	int r = cable_qr_decode(p, n, &qr);

	check_err(r);
	if (r == 0 && cable_qr_to_url(&qr, &url) == 0)
		free(url);
	return r;
}

static int
t_qr_url(const uint8_t *p, size_t n)
{
	struct cable_qr qr;
	enum cable_digits_fault fault;
	int r = cable_qr_from_url((const char *)p, n, &qr, &fault);

	check_err(r);
	return r;
}

static int
t_post_handshake(const uint8_t *p, size_t n)
{
	struct cable_post_handshake ph;
	int r = cable_post_handshake_parse(p, n, n % 2 == 0, &ph);

	check_err(r);
	if (r == 0)
		cable_post_handshake_clear(&ph);
	return r;
}

static int
t_update(const uint8_t *p, size_t n)
{
	struct cable_update u;
	int r = cable_update_parse(p, n, &u);

	check_err(r);
	if (r == 0)
		cable_linking_clear(&u.linking);
	return r;
}

static int
t_linking(const uint8_t *p, size_t n)
{
	struct cable_linking_info li;
	int r = cable_linking_parse(p, n, &li);

	check_err(r);
	if (r == 0) {
		uint8_t *out = NULL;
		size_t len;
		if (cable_linking_encode(&li, &out, &len) == 0)
			free(out);
		cable_linking_clear(&li);
	}
	return r;
}

static int
t_store(const uint8_t *p, size_t n)
{
	struct cable_cred_store *s = NULL;
	int r = cable_cred_store_parse(p, n, &s);

	check_err(r);
	if (r == 0) {
		uint8_t *out = NULL;
		size_t len;
		if (cable_cred_store_serialize(s, &out, &len) == 0) {
			cable_wipe(out, len);
			free(out);
		}
		cable_cred_store_free(&s);
	}
	return r;
}

static int
t_cbor(const uint8_t *p, size_t n)
{
	cbor_item_t *item = NULL;
	int r = cable_cbor_load(p, n, 0, &item);

	check_err(r);
	if (r == 0)
		cbor_decref(&item);
	return r;
}

static int
t_authenticator(const uint8_t *p, size_t n)
{
	struct fuzz_env fe;
	struct cable_cred_store *store = NULL;
	struct cable_authenticator_config cfg;
	struct cable_authenticator *a = NULL;
	uint8_t *resp = NULL;
	size_t resp_len;
	int r = CABLE_ERR_NOMEM;

	fuzz_env_init(&fe, 7);
	if (cable_cred_store_new(&fe.env, &store) != 0)
		return r;
	memset(&cfg, 0, sizeof(cfg));
	cfg.store = store;
	cfg.attestation = n % 2 ? CABLE_ATTESTATION_PACKED_SELF : CABLE_ATTESTATION_NONE;
	if ((a = cable_authenticator_new(&fe.env, &cfg)) != NULL) {
		/* The request twice: a makeCredential the first time leaves a credential for the second. */
		for (int i = 0; i < 2; i++) {
			r = cable_authenticator_handle(a, p, n, &resp, &resp_len);
			if (r > 0)
				abort(); /* CTAP errors come as responses */
			check_err(r);
			if (r == 0) {
				if (resp_len < 1)
					abort();
				free(resp);
				resp = NULL;
			}
		}
	}
	cable_authenticator_free(&a);
	cable_cred_store_free(&store);
	return r;
}

static int
t_webauthn(const uint8_t *p, size_t n, bool create)
{
	struct cable_webauthn_request *req = NULL;
	char *json, *msg = NULL;
	int r;

	if ((json = malloc(n + 1)) == NULL)
		return CABLE_ERR_NOMEM;
	memcpy(json, p, n);
	json[n] = '\0';
	r = create ? cable_webauthn_create_begin("https://example.com", json, &req, &msg)
		   : cable_webauthn_get_begin("https://example.com", json, &req, &msg);
	check_err(r);
	if ((r == 0) != (req != NULL))
		abort();
	cable_webauthn_request_free(&req);
	free(msg);
	free(json);
	return r;
}

static int
t_advert(const uint8_t *p, size_t n)
{
	static const uint8_t key[CABLE_EID_KEY_LEN] = {1, 2, 3};
	struct cable_advert ad;
	int r = cable_advert_open(key, p, n, n > 0 ? p[0] : 0, &ad);

	check_err(r);
	return r;
}

static int
run(uint8_t target, const uint8_t *p, size_t n)
{
	switch (target % 11) {
	case 0: return t_qr(p, n);
	case 1: return t_qr_url(p, n);
	case 2: return t_post_handshake(p, n);
	case 3: return t_update(p, n);
	case 4: return t_linking(p, n);
	case 5: return t_store(p, n);
	case 6: return t_cbor(p, n);
	case 7: return t_authenticator(p, n);
	case 8: return t_webauthn(p, n, true);
	case 9: return t_webauthn(p, n, false);
	default: return t_advert(p, n);
	}
}

static unsigned long runs_with_faults, runs_total;

static void
print_stats(void)
{
	fprintf(stderr, "fuzz-faults: %lu of %lu inputs had a fault injected\n", runs_with_faults,
	    runs_total);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t warm[] = {0x04}; /* authenticatorGetInfo */

	(void)argc;
	(void)argv;
	fuzz_faults_install();
	atexit(print_stats);
	/* Library one-time set-up (providers, caches) before any fault is armed. */
	(void)t_authenticator(warm, sizeof(warm));
	(void)t_webauthn((const uint8_t *)"{}", 2, true);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int r;

	if (size < 3)
		return 0;
	fuzz_faults_arm(data[2], data[1] % 64u);
	r = run(data[0], data + 3, size - 3);
	fuzz_faults_disarm();
	runs_total++;
	runs_with_faults += fuzz_faults_injected() > 0;
	if (r == 0 && fuzz_faults_injected() == 0)
		return 0;
	/* An injected fault that was absorbed may change the result only into an error. */
	if (fuzz_faults_injected() > 0 && r == 0 && run(data[0], data + 3, size - 3) != 0)
		abort();
	return 0;
}

/* libFuzzer harness: WebAuthn options JSON, origins, and CTAP2 response translation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cable/cbor.h"
#include "cable/error.h"
#include "cable/webauthn.h"

/*
 * The first byte picks what the rest is:
 *   0 create options JSON, 1 get options JSON (origin https://login.example.com),
 *   2 an origin (fixed create options), 3 a makeCredential response, 4 a getAssertion response
 *   to a request with an allow list, 5 a getAssertion response to a discoverable request.
 * Beyond crashes, it checks properties: every failure has a printable message, every request is
 * canonical CBOR behind the right command byte, every success yields parseable JSON.
 */

#define ORIGIN "https://login.example.com"
#define CREATE_OPTIONS                                                                           \
	"{\"rp\":{\"id\":\"example.com\",\"name\":\"E\"},\"user\":{\"id\":\"dXNlcg\",\"name\":\"a\","  \
	"\"displayName\":\"A\"},\"challenge\":\"AAECAwQFBgcICQoLDA0ODw\",\"pubKeyCredParams\":["     \
	"{\"type\":\"public-key\",\"alg\":-7},{\"type\":\"public-key\",\"alg\":-8},"                  \
	"{\"type\":\"public-key\",\"alg\":-257}],\"authenticatorSelection\":{\"residentKey\":"        \
	"\"required\",\"userVerification\":\"required\"},\"extensions\":{\"credProps\":true,"         \
	"\"prf\":{\"eval\":{\"first\":\"AA\"}}}}"
/* The allow list holds the credential ID of tests/helpers/webauthn-roundtrip with secret
 * 00112233445566778899aabbccddeeff, so its responses make good seeds. */
#define GET_OPTIONS                                                                              \
	"{\"challenge\":\"AAECAwQFBgcICQoLDA0ODw\",\"rpId\":\"example.com\",\"allowCredentials\":["  \
	"{\"type\":\"public-key\",\"id\":\"x6mGhLFEccCQCtO0u8uM7A\"},{\"type\":\"public-key\","       \
	"\"id\":\"AQID\"}],\"extensions\":{\"prf\":{\"eval\":{\"first\":\"AA\"}}}}"
#define GET_DISCOVERABLE "{\"challenge\":\"AAECAwQFBgcICQoLDA0ODw\",\"userVerification\":\"discouraged\"}"

static struct cable_webauthn_request *mc_req, *ga_req, *ga_disc_req;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (cable_webauthn_create_begin(ORIGIN, CREATE_OPTIONS, &mc_req, NULL) != 0 ||
	    cable_webauthn_get_begin(ORIGIN, GET_OPTIONS, &ga_req, NULL) != 0 ||
	    cable_webauthn_get_begin(ORIGIN, GET_DISCOVERABLE, &ga_disc_req, NULL) != 0)
		abort();
	return 0;
}

/* Error messages reach terminals: printable ASCII only. */
static void
check_message(const char *msg)
{
	if (msg == NULL || *msg == '\0')
		abort();
	for (const char *p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			abort();
}

static void
check_begin(int r, struct cable_webauthn_request *req, char *msg, int cmd)
{
	const uint8_t *buf;
	size_t len;
	cbor_item_t *item = NULL;

	if (r != 0) {
		if (msg == NULL || req != NULL || r > 0)
			abort();
		check_message(msg);
		free(msg);
		return;
	}
	if (msg != NULL || req == NULL)
		abort();
	cable_webauthn_request_ctap(req, &buf, &len);
	if (len < 2 || buf[0] != cmd ||
	    cable_cbor_load(buf + 1, len - 1, CABLE_CBOR_CANONICAL, &item) != 0 || !cbor_isa_map(item))
		abort();
	cbor_decref(&item);
	if (cable_webauthn_request_timeout_ms(req) < 1000 ||
	    cable_webauthn_request_timeout_ms(req) > 600000 ||
	    strlen(cable_webauthn_request_rp_id(req)) == 0 ||
	    strncmp(cable_webauthn_request_client_data_json(req), "{\"type\":\"webauthn.", 18) != 0)
		abort();
	cable_webauthn_request_free(&req);
}

static void
check_finish(const struct cable_webauthn_request *req, const uint8_t *data, size_t size)
{
	char *out = NULL, *msg = NULL;
	int r = cable_webauthn_finish(req, data, size, &out, &msg);

	if (r != 0) {
		if (msg == NULL || out != NULL || (r > 0 && (size == 0 || r != data[0])))
			abort();
		check_message(msg);
		free(msg);
		return;
	}
	if (msg != NULL || out == NULL)
		abort();
	{
		json_t *j = json_loads(out, 0, NULL);
		if (j == NULL || !json_is_string(json_object_get(j, "id")))
			abort();
		json_decref(j);
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cable_webauthn_request *req = NULL;
	char *s, *msg = NULL;
	int mode, r;

	if (size < 1 || size > CABLE_WEBAUTHN_MAX_RESPONSE_LEN)
		return 0;
	mode = data[0] % 6;
	data++;
	size--;
	if (mode >= 3) {
		const struct cable_webauthn_request *which = mode == 3 ? mc_req :
							     mode == 4 ? ga_req : ga_disc_req;
		check_finish(which, data, size);
		return 0;
	}
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	switch (mode) {
	case 0:
		r = cable_webauthn_create_begin(ORIGIN, s, &req, &msg);
		check_begin(r, req, msg, 0x01);
		break;
	case 1:
		r = cable_webauthn_get_begin(ORIGIN, s, &req, &msg);
		check_begin(r, req, msg, 0x02);
		break;
	default:
		r = cable_webauthn_create_begin(s, CREATE_OPTIONS, &req, &msg);
		check_begin(r, req, msg, 0x01);
		break;
	}
	free(s);
	return 0;
}

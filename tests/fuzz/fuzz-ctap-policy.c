/* libFuzzer harness: the virtual key's CTAP policy (requests, phone answers, phone getInfo). */
#include <stdlib.h>
#include <string.h>

#include "cable/cbor.h"
#include "cable/ctap-policy.h"
#include "cable/error.h"

/*
 * The first byte picks what the rest is: 0 a client request (command || CBOR), followed by a
 * getNextAssertion; 1 a phone answer to a fixed getAssertion with an allow list; 2 a phone answer
 * to a fixed makeCredential; 3 a phone getInfo. Beyond crashes it checks that every local answer
 * and every forwarded request is canonical CBOR behind one status/command byte, and that getInfo
 * stays canonical whatever the phone said.
 */

/* getAssertion {1: "example.com", 2: h'00'*32, 3: [{"id": h'0102', "type": "public-key"}]} */
static const uint8_t ga_req[] = { 0x02, 0xa3, 0x01, 0x6b, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.',
	'c', 'o', 'm', 0x02, 0x58, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x03, 0x81, 0xa2, 0x62, 'i', 'd', 0x42, 0x01, 0x02, 0x64,
	't', 'y', 'p', 'e', 0x6a, 'p', 'u', 'b', 'l', 'i', 'c', '-', 'k', 'e', 'y' };
/* makeCredential {1: h'00'*32, 2: {"id": "example.com"}, 3: {"id": h'01'}, 4: [{"alg": -7, "type": "public-key"}]} */
static const uint8_t mc_req[] = { 0x01, 0xa4, 0x01, 0x58, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0xa1, 0x62, 'i', 'd', 0x6b,
	'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 0x03, 0xa1, 0x62, 'i', 'd', 0x41, 0x01,
	0x04, 0x81, 0xa2, 0x63, 'a', 'l', 'g', 0x26, 0x64, 't', 'y', 'p', 'e', 0x6a, 'p', 'u', 'b', 'l',
	'i', 'c', '-', 'k', 'e', 'y' };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_body(const uint8_t *buf, size_t len)
{
	cbor_item_t *m = NULL;

	if (len <= 1)
		return;
	if (cable_cbor_load(buf + 1, len - 1, CABLE_CBOR_CANONICAL, &m) != 0 || !cbor_isa_map(m))
		abort();
	cbor_decref(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cable_ctap_policy_config cfg;
	struct cable_ctap_policy *p;
	struct cable_ctap_decision d;
	uint8_t *out = NULL, next = CABLE_CTAP_GET_NEXT_ASSERTION;
	size_t out_len = 0;
	const char *problem;

	if (size < 1)
		return 0;
	cable_ctap_policy_config_default(&cfg);
	if ((p = cable_ctap_policy_new(&cfg)) == NULL)
		return 0;
	switch (data[0] & 3) {
	case 0:
		if (cable_ctap_policy_decide(p, 0, data + 1, size - 1, &d) == 0) {
			if (d.action != CABLE_CTAP_ACTION_TOUCH && (d.out == NULL || d.out_len == 0))
				abort();
			if (d.action == CABLE_CTAP_ACTION_FORWARD && d.out[0] != data[1])
				abort();
			check_body(d.out, d.out_len);
			cable_ctap_decision_clear(&d);
			if (cable_ctap_policy_decide(p, 1, &next, 1, &d) == 0) {
				check_body(d.out, d.out_len);
				cable_ctap_decision_clear(&d);
			}
		}
		break;
	case 1:
	case 2:
		if (cable_ctap_policy_clean_response(p, (data[0] & 3) == 1 ? ga_req : mc_req,
		    (data[0] & 3) == 1 ? sizeof(ga_req) : sizeof(mc_req), data + 1, size - 1, &out,
		    &out_len, &problem) == 0) {
			if (out_len == 0)
				abort();
			check_body(out, out_len);
			free(out);
		}
		break;
	default:
		(void)cable_ctap_policy_refine(p, data + 1, size - 1);
		if (cable_ctap_policy_get_info(p, &out, &out_len) != 0)
			abort();
		check_body(out, out_len);
		free(out);
		break;
	}
	cable_ctap_policy_free(&p);
	return 0;
}

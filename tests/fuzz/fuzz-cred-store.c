/* libFuzzer harness: the credential store file parser; whatever parses must re-serialise exactly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cable/cred-store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cable_cred_store *s = NULL;
	uint8_t *out = NULL;
	size_t out_len = 0;

	if (cable_cred_store_parse(data, size, &s) != 0)
		return 0;
	/* The format is canonical, so a store that parses has exactly one serialisation: the input. */
	if (cable_cred_store_serialize(s, &out, &out_len) != 0 || out_len != size ||
	    memcmp(out, data, size) != 0)
		abort();
	free(out);
	cable_cred_store_free(&s);
	return 0;
}

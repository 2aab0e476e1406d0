/* libFuzzer harness: uhid events as the kernel might send them, parsed and (for OUTPUT) fed to CTAPHID. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cable/ctaphid.h"
#include "cable/error.h"
#include "cable/uhid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The input is one or more events separated by their own length: a 2-byte little-endian length,
 * then that many bytes (capped by what remains), like successive read(2) results.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[CABLE_UHID_EVENT_SIZE + 16];
	static uint8_t ev[CABLE_UHID_EVENT_SIZE];
	struct cable_ctaphid_config cfg;
	struct cable_ctaphid *h;
	uint64_t now = 0;
	size_t i = 0;

	cable_ctaphid_config_default(&cfg);
	if ((h = cable_ctaphid_new(&cfg)) == NULL)
		abort();
	while (i + 2 <= size) {
		size_t n = (size_t)data[i] | ((size_t)data[i + 1] << 8), len;
		struct cable_uhid_event e;
		const uint8_t *rep;
		uint8_t out[64];
		int r;

		i += 2;
		if (n > size - i)
			n = size - i;
		if (n > sizeof(buf))
			n = sizeof(buf);
		/* Copy so that ASan sees reads past the event as overflows. */
		uint8_t *copy = malloc(n ? n : 1);
		if (copy == NULL)
			abort();
		memcpy(copy, data + i, n);
		i += n;
		r = cable_uhid_parse(copy, n, &e);
		if (r == 0) {
			if (e.data != NULL && (e.data < copy || e.data + e.size > copy + n))
				abort();
			if (e.type == CABLE_UHID_OUTPUT && cable_hid_report_from_write(e.data, e.size, &rep) == 0) {
				if (cable_ctaphid_feed(h, now, rep, 64) != 0)
					abort();
				while (cable_ctaphid_pop(h, out) == 1) {
					if (cable_uhid_build_input2(ev, sizeof(ev), out, 64, &len) != 0 || len != 70)
						abort();
					/* What we write must parse back as what we meant. */
					if (cable_uhid_parse(ev, len, &e) != 0 || e.type != CABLE_UHID_INPUT2)
						abort();
				}
			}
			if (e.type == CABLE_UHID_GET_REPORT &&
			    cable_uhid_build_get_report_reply(ev, sizeof(ev), e.id, 5, &len) != 0)
				abort();
			if (e.type == CABLE_UHID_SET_REPORT &&
			    cable_uhid_build_set_report_reply(ev, sizeof(ev), e.id, 5, &len) != 0)
				abort();
		} else if (r != CABLE_ERR_LENGTH && r != CABLE_ERR_PARSE) {
			abort();
		}
		free(copy);
		now += 100000;
		cable_ctaphid_tick(h, now);
	}
	cable_ctaphid_free(&h);
	return 0;
}

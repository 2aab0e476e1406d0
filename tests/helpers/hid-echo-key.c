/* Test key: the CTAPHID machine on a transport (socket or uhid) in the production lws loop, answering CBOR with a fixed local getInfo. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "cable/cbor.h"
#include "cable/error.h"
#include "cable/hid.h"
#include "cable/loop.h"
#include "cable/loop-lws.h"
#include "cable/uhid.h"

/* The key's behaviour. */
struct echo {
	struct cable_hid_key *key;
	struct cable_loop *loop;
	uint8_t *getinfo;
	size_t getinfo_len;
	uint64_t waiting; /* a selection request that waits for a touch that never comes */
	unsigned long requests, cancels;
};

/* authenticatorGetInfo, CTAP2 canonical: keys ascending, option names by length then bytes. */
static int
build_getinfo(uint8_t **out, size_t *out_len)
{
	static const uint8_t aaguid[16] = {0};
	cbor_item_t *m = cbor_new_definite_map(6), *v = cbor_new_definite_array(2),
	    *o = cbor_new_definite_map(4);
	int r = CABLE_ERR_NOMEM;
	bool ok;

	if (m == NULL || v == NULL || o == NULL)
		goto out;
	ok = cbor_array_push(v, cbor_move(cbor_build_string("FIDO_2_0"))) &&
	    cbor_array_push(v, cbor_move(cbor_build_string("FIDO_2_1"))) &&
	    cbor_map_add(o, (struct cbor_pair){cbor_move(cbor_build_string("rk")), cbor_move(cbor_build_bool(true))}) &&
	    cbor_map_add(o, (struct cbor_pair){cbor_move(cbor_build_string("up")), cbor_move(cbor_build_bool(true))}) &&
	    cbor_map_add(o, (struct cbor_pair){cbor_move(cbor_build_string("uv")), cbor_move(cbor_build_bool(true))}) &&
	    cbor_map_add(o, (struct cbor_pair){cbor_move(cbor_build_string("plat")), cbor_move(cbor_build_bool(false))}) &&
	    cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_uint8(1)), v}) &&
	    cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_uint8(3)), cbor_move(cbor_build_bytestring(aaguid, 16))}) &&
	    cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_uint8(4)), o}) &&
	    cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_uint8(5)), cbor_move(cbor_build_uint16(CABLE_CTAPHID_MAX_MESSAGE))}) &&
	    cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_uint8(7)), cbor_move(cbor_build_uint8(8))}) &&
	    cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_uint8(8)), cbor_move(cbor_build_uint8(128))});
	if (!ok)
		goto out;
	r = cable_cbor_encode(m, out, out_len);
out:
	if (m != NULL)
		cbor_decref(&m);
	if (v != NULL)
		cbor_decref(&v);
	if (o != NULL)
		cbor_decref(&o);
	return r;
}

static void
on_event(void *arg, const struct cable_ctaphid_event *ev)
{
	struct echo *e = arg;
	uint8_t st;

	switch (ev->type) {
	case CABLE_CTAPHID_EVENT_REQUEST:
		e->requests++;
		fprintf(stderr, "hid-echo-key: request %llu cmd 0x%02x len %zu ctap 0x%02x\n",
		    (unsigned long long)ev->request, ev->cmd, ev->len, ev->data[0]);
		if (ev->data[0] == 0x04 && ev->len == 1) {
			uint8_t *resp = malloc(1 + e->getinfo_len);

			if (resp == NULL)
				return;
			resp[0] = 0x00;
			memcpy(resp + 1, e->getinfo, e->getinfo_len);
			(void)cable_hid_key_respond(e->key, ev->request, resp, 1 + e->getinfo_len);
			free(resp);
		} else if (ev->data[0] == 0x0b || ev->data[0] == 0x01) {
			/*
			 * authenticatorSelection, makeCredential (libfido2's touch probe): wait for a
			 * touch that never comes, until cancelled or timed out.
			 */
			e->waiting = ev->request;
			(void)cable_hid_key_set_status(e->key, ev->request, CABLE_CTAPHID_STATUS_UPNEEDED);
		} else {
			st = 0x01; /* CTAP1_ERR_INVALID_COMMAND: not implemented, not advertised */
			(void)cable_hid_key_respond(e->key, ev->request, &st, 1);
		}
		break;
	case CABLE_CTAPHID_EVENT_CANCEL:
		e->cancels++;
		fprintf(stderr, "hid-echo-key: cancel %llu\n", (unsigned long long)ev->request);
		e->waiting = 0;
		break;
	case CABLE_CTAPHID_EVENT_ABORT:
		fprintf(stderr, "hid-echo-key: abort %llu (%s)\n", (unsigned long long)ev->request,
		    cable_errname(ev->reason));
		e->waiting = 0;
		break;
	case CABLE_CTAPHID_EVENT_WINK:
		fprintf(stderr, "hid-echo-key: wink\n");
		break;
	}
}

static void
on_signal(void *arg, int signo)
{
	struct cable_loop *loop = arg;

	(void)signo;
	loop->ops->quit(loop, 0);
}

static void
on_state(void *arg, enum cable_hid_state st)
{
	static const char *names[] = {"", "started", "stopped", "opened", "closed", "failed"};
	struct cable_loop *loop = arg;

	fprintf(stderr, "hid-echo-key: device %s\n", names[st]);
	if (st == CABLE_HID_STATE_FAILED)
		loop->ops->quit(loop, 1);
}

static void
on_deadline(void *arg)
{
	struct cable_loop *loop = arg;

	fprintf(stderr, "hid-echo-key: time limit reached\n");
	loop->ops->quit(loop, 3);
}

int
main(int argc, char **argv)
{
	struct cable_ctaphid_config cfg;
	struct cable_hid_transport *tr = NULL;
	struct cable_loop *loop = NULL;
	struct cable_loop_timer *limit = NULL;
	struct echo e = {0};
	char spec[256];
	int rc = 1, r;
	long seconds = 60;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: hid-echo-key SOCKET-PATH|TRANSPORT-SPEC [MAX-SECONDS]\n"
		    "  TRANSPORT-SPEC: uhid, uhid:PATH, uhid-fd:N or socket:PATH\n");
		return 2;
	}
	/* A bare absolute path is a socket; anything else is a transport spec. */
	snprintf(spec, sizeof(spec), "%s%s", argv[1][0] == '/' ? "socket:" : "", argv[1]);
	if (argc == 3)
		seconds = strtol(argv[2], NULL, 10);
	if ((loop = cable_loop_lws_new(NULL)) == NULL)
		goto out;
	e.loop = loop;
	if (build_getinfo(&e.getinfo, &e.getinfo_len) != 0)
		goto out;
	cable_ctaphid_config_default(&cfg);
	cfg.on_event = on_event;
	cfg.arg = &e;
	cfg.request_timeout_usec = 30ull * 1000000u;
	/* An emulated guest on a loaded host can be slow between two packets of one message. */
	if (getenv("CABLE_HID_PACKET_TIMEOUT_MS") != NULL)
		cfg.packet_timeout_usec = strtoull(getenv("CABLE_HID_PACKET_TIMEOUT_MS"), NULL, 10) * 1000u;
	if ((e.key = cable_hid_key_new(loop, &cfg)) == NULL)
		goto out;
	if ((r = cable_hid_transport_open(loop, spec, e.key, NULL, on_state, loop, &tr)) != 0) {
		fprintf(stderr, "hid-echo-key: %s: %s\n", spec, cable_strerror(r));
		goto out;
	}
	if (cable_loop_lws_signal_add(loop, SIGTERM, on_signal, loop) != 0 ||
	    cable_loop_lws_signal_add(loop, SIGINT, on_signal, loop) != 0 ||
	    loop->ops->timer_add(loop, (uint64_t)seconds * 1000000u, on_deadline, loop, &limit) != 0)
		goto out;
	fprintf(stderr, "hid-echo-key: serving on %s\n", spec);
	rc = cable_loop_lws_run(loop);
	fprintf(stderr, "hid-echo-key: %lu requests, %lu cancels\n", e.requests, e.cancels);
out:
	if (loop != NULL)
		loop->ops->timer_del(&limit);
	cable_hid_transport_free(&tr);
	cable_hid_key_free(&e.key);
	cable_loop_lws_free(&loop);
	free(e.getinfo);
	return rc;
}

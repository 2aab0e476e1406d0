/* libFuzzer harness: drives the CTAPHID machine with reports, time steps and answers; checks output framing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cable/ctaphid.h"
#include "cable/error.h"

/*
 * Input: one config byte, then records. Each record starts with an op byte:
 *   0: feed the next 64 bytes as a report
 *   1: feed a report built from the next 8 bytes: cid selector, cmd, bcnt hi/lo, 4 data bytes
 *   2: advance time by the next byte × 10 ms, then tick
 *   3: answer the pending request with (next two bytes mod 7700) bytes
 *   4: set the keepalive status to the next byte
 *   5: reset
 *   6: advance time by the next two bytes in seconds (no tick; the next feed sees it)
 *   7: feed a continuation packet for the last CID: seq byte, then 59 pattern bytes
 *   8: hold output (stop draining) or release it, so that the output queue can fill up
 * Reports are drained after every record (sometimes only partly, never while held) and checked
 * for framing.
 */

struct state {
	struct cable_ctaphid *h;
	uint64_t now;
	uint64_t pending; /* request id of the open request, 0 if none */
	uint64_t last_request;
	uint32_t cids[4];
	size_t ncids;
	bool answer_inline;
	bool hold;
	/* Output checker: the message being received. */
	bool in_msg;
	uint32_t msg_cid;
	size_t msg_len, msg_got;
	uint8_t msg_seq;
	uint8_t msg_cmd;
	uint8_t msg_first[64];
};

static uint8_t big[CABLE_CTAPHID_MAX_MESSAGE + 100];

static void
check(bool ok)
{
	if (!ok)
		abort();
}

static void
on_event(void *arg, const struct cable_ctaphid_event *ev)
{
	struct state *s = arg;

	switch (ev->type) {
	case CABLE_CTAPHID_EVENT_REQUEST:
		check(ev->request > s->last_request && s->pending == 0);
		check(ev->len >= 1 && ev->len <= CABLE_CTAPHID_MAX_MESSAGE && ev->data != NULL);
		check(ev->cmd == CABLE_CTAPHID_CBOR || ev->cmd == CABLE_CTAPHID_MSG);
		s->last_request = ev->request;
		s->pending = ev->request;
		if (s->answer_inline) {
			uint8_t r[3] = {0x00, 0xa0, 0x01};

			check(cable_ctaphid_respond(s->h, ev->request, r, sizeof(r)) == 0);
			s->pending = 0;
		}
		break;
	case CABLE_CTAPHID_EVENT_CANCEL:
	case CABLE_CTAPHID_EVENT_ABORT:
		check(ev->request == s->pending && ev->request != 0);
		check(cable_ctaphid_respond(s->h, ev->request, big, 1) == CABLE_ERR_STATE);
		s->pending = 0;
		break;
	case CABLE_CTAPHID_EVENT_WINK:
		break;
	default:
		abort();
	}
}

/* What a strict client sees: whole messages, one after another, never interleaved. */
static void
check_report(struct state *s, const uint8_t *p)
{
	uint32_t cid = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];

	if (!s->in_msg) {
		check(p[4] & 0x80);
		s->msg_cid = cid;
		s->msg_cmd = p[4] & 0x7f;
		s->msg_len = ((size_t)p[5] << 8) | p[6];
		check(s->msg_len <= CABLE_CTAPHID_MAX_MESSAGE);
		switch (s->msg_cmd) {
		case CABLE_CTAPHID_INIT:
			check(s->msg_len == 17);
			break;
		case CABLE_CTAPHID_ERROR:
		case CABLE_CTAPHID_KEEPALIVE:
			check(s->msg_len == 1);
			check(s->msg_cmd != CABLE_CTAPHID_KEEPALIVE || p[7] == 1 || p[7] == 2);
			break;
		case CABLE_CTAPHID_PING:
		case CABLE_CTAPHID_CBOR:
		case CABLE_CTAPHID_MSG:
		case CABLE_CTAPHID_WINK:
		case CABLE_CTAPHID_LOCK:
			break;
		default:
			abort(); /* never CANCEL or anything a browser cannot parse */
		}
		check(cid != 0 || s->msg_cmd == CABLE_CTAPHID_ERROR);
		check(cid != CABLE_CTAPHID_BROADCAST_CID || s->msg_cmd == CABLE_CTAPHID_INIT ||
		    s->msg_cmd == CABLE_CTAPHID_ERROR);
		s->msg_got = s->msg_len < 57 ? s->msg_len : 57;
		for (size_t i = 7 + s->msg_got; i < 64; i++)
			check(p[i] == 0);
		s->msg_seq = 0;
		s->in_msg = s->msg_got < s->msg_len;
		return;
	}
	check(cid == s->msg_cid);
	check(p[4] == s->msg_seq);
	s->msg_seq++;
	{
		size_t n = s->msg_len - s->msg_got < 59 ? s->msg_len - s->msg_got : 59;

		for (size_t i = 5 + n; i < 64; i++)
			check(p[i] == 0);
		s->msg_got += n;
	}
	s->in_msg = s->msg_got < s->msg_len;
}

static void
drain(struct state *s, size_t max)
{
	uint8_t p[64];

	while (max-- > 0 && cable_ctaphid_pop(s->h, p) == 1)
		check_report(s, p);
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
feed(struct state *s, const uint8_t *p)
{
	check(cable_ctaphid_feed(s->h, s->now, p, 64) == 0);
}

static void
learn(struct state *s, const uint8_t *p)
{
	if (p[4] == (0x80 | CABLE_CTAPHID_INIT) && p[5] == 0 && p[6] == 17) {
		uint32_t cid = ((uint32_t)p[15] << 24) | ((uint32_t)p[16] << 16) | ((uint32_t)p[17] << 8) | p[18];

		s->cids[s->ncids++ % 4] = cid;
	}
}

static void
drain_learn(struct state *s, size_t max)
{
	uint8_t p[64];

	while (max-- > 0 && cable_ctaphid_pop(s->h, p) == 1) {
		check_report(s, p);
		learn(s, p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cable_ctaphid_config cfg;
	struct state s;
	size_t i = 1;
	uint32_t last_cid = 0;

	if (size < 1)
		return 0;
	memset(&s, 0, sizeof(s));
	memset(big, 0x42, sizeof(big));
	cable_ctaphid_config_default(&cfg);
	cfg.max_channels = 2 + (data[0] & 0x07);
	if (data[0] & 0x08)
		cfg.capabilities |= CABLE_CTAPHID_CAP_LOCK;
	if (data[0] & 0x10)
		cfg.capabilities &= (uint8_t)~CABLE_CTAPHID_CAP_NMSG;
	if (data[0] & 0x20)
		cfg.max_message = 200;
	if (data[0] & 0x40)
		cfg.request_timeout_usec = 3000000;
	if ((data[0] & 0x07) == 0x07)
		cfg.capabilities &= (uint8_t)~CABLE_CTAPHID_CAP_WINK;
	s.answer_inline = (data[0] & 0x80) != 0;
	cfg.on_event = on_event;
	cfg.arg = &s;
	if ((s.h = cable_ctaphid_new(&cfg)) == NULL)
		abort();
	s.now = 1000000;

	while (i < size) {
		uint8_t op = data[i++] % 9, p[64];
		size_t avail = size - i;
		bool partial = false;

		memset(p, 0, sizeof(p));
		switch (op) {
		case 0: {
			size_t n = avail < 64 ? avail : 64;

			memcpy(p, data + i, n);
			i += n;
			last_cid = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
			feed(&s, p);
			break;
		}
		case 1: {
			uint8_t r[8] = {0};
			uint32_t cid;

			memcpy(r, data + i, avail < 8 ? avail : 8);
			i += avail < 8 ? avail : 8;
			switch (r[0] % 4) {
			case 0:
				cid = CABLE_CTAPHID_BROADCAST_CID;
				break;
			case 1:
				cid = s.ncids ? s.cids[(s.ncids - 1) % 4] : 1;
				break;
			case 2:
				cid = s.ncids ? s.cids[r[0] / 4 % 4] : 2;
				break;
			default:
				cid = r[0] / 4;
				break;
			}
			put32(p, cid);
			p[4] = 0x80 | r[1];
			p[5] = r[2];
			p[6] = r[3];
			memcpy(p + 7, r + 4, 4);
			last_cid = cid;
			feed(&s, p);
			partial = (r[0] & 0x80) != 0;
			break;
		}
		case 2: {
			uint64_t when;

			if (avail >= 1)
				s.now += (uint64_t)data[i++] * 10000;
			check(cable_ctaphid_tick(s.h, s.now) == 0);
			/* Whatever was due has been handled. */
			if (cable_ctaphid_deadline(s.h, &when))
				check(when > s.now);
			break;
		}
		case 3: {
			size_t n = 0;
			int r;

			if (avail >= 2) {
				n = (((size_t)data[i] << 8) | data[i + 1]) % 7700;
				i += 2;
			}
			r = cable_ctaphid_respond(s.h, s.pending, big, n);
			if (s.pending == 0)
				check(r == CABLE_ERR_STATE);
			else if (n == 0 || n > CABLE_CTAPHID_MAX_MESSAGE)
				check(r == CABLE_ERR_LENGTH);
			else
				check(r == 0);
			if (r == 0)
				s.pending = 0;
			break;
		}
		case 4: {
			uint8_t st = avail >= 1 ? data[i++] : 1;
			int r = cable_ctaphid_set_status(s.h, s.now, s.pending, st);

			check(r == 0 || r == CABLE_ERR_ARG || r == CABLE_ERR_STATE);
			check(r != 0 || s.pending != 0);
			break;
		}
		case 5:
			cable_ctaphid_reset(s.h);
			check(s.pending == 0);
			s.in_msg = false; /* queued reports are discarded with the device */
			s.ncids = 0;
			break;
		case 6:
			if (avail >= 2) {
				s.now += (((uint64_t)data[i] << 8) | data[i + 1]) * 1000000;
				i += 2;
			}
			break;
		case 8:
			s.hold = !s.hold;
			break;
		case 7: {
			put32(p, last_cid);
			p[4] = avail >= 1 ? data[i++] & 0x7f : 0;
			memset(p + 5, 0x5c, 59);
			feed(&s, p);
			break;
		}
		}
		if (s.hold)
			continue;
		if (partial)
			drain(&s, 3);
		else
			drain_learn(&s, SIZE_MAX);
	}
	drain_learn(&s, SIZE_MAX);
	check(!s.in_msg);
	cable_ctaphid_free(&s.h);
	return 0;
}

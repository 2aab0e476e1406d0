/* Unit tests: the CTAPHID state machine, command by command, with exact packet layouts. */
#include <stdlib.h>
#include <string.h>

#include "cable/ctaphid.h"
#include "cable/error.h"
#include "tv.h"

#define MS 1000ull
#define SEC 1000000ull
#define BCAST CABLE_CTAPHID_BROADCAST_CID
#define MAXPK 300

struct ev_rec {
	struct cable_ctaphid_event ev;
	uint8_t data[CABLE_CTAPHID_MAX_MESSAGE];
};

struct fx {
	struct cable_ctaphid_config cfg;
	struct cable_ctaphid *h;
	struct ev_rec ev[8];
	size_t nev;
	/* When set, REQUEST events are answered from inside the callback with this payload. */
	const uint8_t *auto_reply;
	size_t auto_reply_len;
	int auto_rc;
	int reenter_rc;
	uint8_t pk[MAXPK][64];
	size_t npk;
};

static void
on_event(void *arg, const struct cable_ctaphid_event *ev)
{
	struct fx *f = arg;
	struct ev_rec *r;
	uint8_t dummy[64] = {0};

	assert_true(f->nev < 8);
	r = &f->ev[f->nev++];
	r->ev = *ev;
	if (ev->len > 0)
		memcpy(r->data, ev->data, ev->len);
	r->ev.data = r->data;
	/* Feeding or ticking from inside the callback must be refused. */
	f->reenter_rc = cable_ctaphid_feed(f->h, 0, dummy, 64);
	assert_int_equal(cable_ctaphid_tick(f->h, 0), CABLE_ERR_STATE);
	if (ev->type == CABLE_CTAPHID_EVENT_REQUEST && f->auto_reply != NULL)
		f->auto_rc = cable_ctaphid_respond(f->h, ev->request, f->auto_reply, f->auto_reply_len);
}

static struct fx *
fx_new(void (*tweak)(struct cable_ctaphid_config *))
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	cable_ctaphid_config_default(&f->cfg);
	f->cfg.on_event = on_event;
	f->cfg.arg = f;
	if (tweak != NULL)
		tweak(&f->cfg);
	f->h = cable_ctaphid_new(&f->cfg);
	assert_non_null(f->h);
	return f;
}

static void
fx_free(struct fx *f)
{
	cable_ctaphid_free(&f->h);
	assert_null(f->h);
	free(f);
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void
mkinit(uint8_t p[64], uint32_t cid, uint8_t cmd, size_t bcnt, const uint8_t *d, size_t n)
{
	memset(p, 0, 64);
	put32(p, cid);
	p[4] = 0x80 | cmd;
	p[5] = (uint8_t)(bcnt >> 8);
	p[6] = (uint8_t)bcnt;
	if (n > 0)
		memcpy(p + 7, d, n);
}

static void
mkcont(uint8_t p[64], uint32_t cid, uint8_t seq, const uint8_t *d, size_t n)
{
	memset(p, 0, 64);
	put32(p, cid);
	p[4] = seq;
	if (n > 0)
		memcpy(p + 5, d, n);
}

static void
feed(struct fx *f, uint64_t now, const uint8_t p[64])
{
	assert_int_equal(cable_ctaphid_feed(f->h, now, p, 64), 0);
}

/* Feeds a whole message as a well-behaved client would, all at time now. */
static void
send_msg(struct fx *f, uint64_t now, uint32_t cid, uint8_t cmd, const uint8_t *d, size_t len)
{
	uint8_t p[64];
	size_t off = len < 57 ? len : 57;

	mkinit(p, cid, cmd, len, d, off);
	feed(f, now, p);
	for (uint8_t seq = 0; off < len; seq++) {
		size_t n = len - off < 59 ? len - off : 59;

		mkcont(p, cid, seq, d + off, n);
		feed(f, now, p);
		off += n;
	}
}

/* Pops every queued report into f->pk. */
static size_t
drain(struct fx *f)
{
	f->npk = 0;
	while (f->npk < MAXPK && cable_ctaphid_pop(f->h, f->pk[f->npk]) == 1)
		f->npk++;
	assert_true(f->npk < MAXPK);
	return f->npk;
}

/*
 * Reassembles the message starting at packet *i, checking that its continuation packets follow
 * directly with the same CID and SEQ 0, 1, 2…; returns its length.
 */
static size_t
take_msg(struct fx *f, size_t *i, uint32_t *cid, uint8_t *cmd, uint8_t *buf)
{
	const uint8_t *p;
	size_t len, off;

	assert_true(*i < f->npk);
	p = f->pk[(*i)++];
	assert_true(p[4] & 0x80);
	*cid = get32(p);
	*cmd = p[4] & 0x7f;
	len = ((size_t)p[5] << 8) | p[6];
	off = len < 57 ? len : 57;
	memcpy(buf, p + 7, off);
	for (size_t j = 7 + off; j < 64; j++)
		assert_int_equal(p[j], 0); /* zero padding */
	for (uint8_t seq = 0; off < len; seq++) {
		size_t n = len - off < 59 ? len - off : 59;

		assert_true(*i < f->npk);
		p = f->pk[(*i)++];
		assert_int_equal(get32(p), *cid);
		assert_int_equal(p[4], seq);
		memcpy(buf + off, p + 5, n);
		for (size_t j = 5 + n; j < 64; j++)
			assert_int_equal(p[j], 0);
		off += n;
	}
	return len;
}

/* Expects exactly one queued message: an ERROR with this code on this CID. */
static void
expect_error(struct fx *f, uint32_t cid, uint8_t code)
{
	assert_int_equal(drain(f), 1);
	assert_int_equal(get32(f->pk[0]), cid);
	assert_int_equal(f->pk[0][4], 0x80 | CABLE_CTAPHID_ERROR);
	assert_int_equal(f->pk[0][5], 0);
	assert_int_equal(f->pk[0][6], 1);
	assert_int_equal(f->pk[0][7], code);
}

static void
expect_nothing(struct fx *f)
{
	assert_int_equal(drain(f), 0);
}

/* Opens a channel through broadcast INIT and returns its CID. */
static uint32_t
open_channel(struct fx *f, uint64_t now)
{
	uint8_t nonce[8] = {1, 2, 3, 4, 5, 6, 7, 8}, p[64];

	mkinit(p, BCAST, CABLE_CTAPHID_INIT, 8, nonce, 8);
	feed(f, now, p);
	assert_int_equal(drain(f), 1);
	assert_int_equal(get32(f->pk[0]), BCAST);
	assert_memory_equal(f->pk[0] + 7, nonce, 8);
	return get32(f->pk[0] + 15);
}

static void
test_init_reply_layout(void **state)
{
	struct fx *f = fx_new(NULL);
	uint8_t nonce[8] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7}, p[64];
	uint8_t want[64] = {0xff, 0xff, 0xff, 0xff, 0x86, 0x00, 0x11, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4,
	    0xa5, 0xa6, 0xa7, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x01, 0x00, 0x0d};

	(void)state;
	mkinit(p, BCAST, CABLE_CTAPHID_INIT, 8, nonce, 8);
	feed(f, 0, p);
	assert_int_equal(drain(f), 1);
	assert_memory_equal(f->pk[0], want, 64);
	/* A second broadcast INIT gets the next channel. */
	assert_int_equal(open_channel(f, 0), 2);
	fx_free(f);
}

static void
cfg_wrap(struct cable_ctaphid_config *c)
{
	c->first_cid = 0xfffffffe;
	c->version_major = 3;
	c->version_minor = 4;
	c->version_build = 5;
	c->capabilities = CABLE_CTAPHID_CAP_CBOR | CABLE_CTAPHID_CAP_NMSG;
}

static void
test_init_cid_allocation_skips_reserved(void **state)
{
	struct fx *f = fx_new(cfg_wrap);

	(void)state;
	assert_int_equal(open_channel(f, 0), 0xfffffffe);
	assert_int_equal(f->pk[0][19], 2);
	assert_int_equal(f->pk[0][20], 3);
	assert_int_equal(f->pk[0][21], 4);
	assert_int_equal(f->pk[0][22], 5);
	assert_int_equal(f->pk[0][23], 0x0c);
	/* 0xffffffff (broadcast) and 0 (reserved) are never handed out. */
	assert_int_equal(open_channel(f, 0), 1);
	assert_int_equal(open_channel(f, 0), 2);
	fx_free(f);
}

static void
test_init_wrong_length(void **state)
{
	struct fx *f = fx_new(NULL);
	uint8_t nonce[9] = {0}, p[64];
	uint32_t cid;

	(void)state;
	mkinit(p, BCAST, CABLE_CTAPHID_INIT, 7, nonce, 7);
	feed(f, 0, p);
	expect_error(f, BCAST, CABLE_CTAPHID_ERR_INVALID_LEN);
	mkinit(p, BCAST, CABLE_CTAPHID_INIT, 9, nonce, 9);
	feed(f, 0, p);
	expect_error(f, BCAST, CABLE_CTAPHID_ERR_INVALID_LEN);
	cid = open_channel(f, 0);
	assert_int_equal(cid, 1); /* the failed INITs allocated nothing */
	mkinit(p, cid, CABLE_CTAPHID_INIT, 0, NULL, 0);
	feed(f, 0, p);
	expect_error(f, cid, CABLE_CTAPHID_ERR_INVALID_LEN);
	fx_free(f);
}

static void
test_channel_zero_and_broadcast_rules(void **state)
{
	struct fx *f = fx_new(NULL);
	uint8_t nonce[8] = {0}, p[64], cbor[1] = {0x04};

	(void)state;
	/* Channel 0 is reserved: even INIT there is refused. */
	mkinit(p, 0, CABLE_CTAPHID_INIT, 8, nonce, 8);
	feed(f, 0, p);
	expect_error(f, 0, CABLE_CTAPHID_ERR_INVALID_CHANNEL);
	mkinit(p, 0, CABLE_CTAPHID_PING, 0, NULL, 0);
	feed(f, 0, p);
	expect_error(f, 0, CABLE_CTAPHID_ERR_INVALID_CHANNEL);
	/* Only INIT belongs on the broadcast CID. */
	mkinit(p, BCAST, CABLE_CTAPHID_PING, 1, nonce, 1);
	feed(f, 0, p);
	expect_error(f, BCAST, CABLE_CTAPHID_ERR_INVALID_CHANNEL);
	mkinit(p, BCAST, CABLE_CTAPHID_CBOR, 1, cbor, 1);
	feed(f, 0, p);
	expect_error(f, BCAST, CABLE_CTAPHID_ERR_INVALID_CHANNEL);
	/* CANCEL is never answered, wherever it comes from. */
	mkinit(p, BCAST, CABLE_CTAPHID_CANCEL, 0, NULL, 0);
	feed(f, 0, p);
	mkinit(p, 0, CABLE_CTAPHID_CANCEL, 0, NULL, 0);
	feed(f, 0, p);
	mkinit(p, 0x1234, CABLE_CTAPHID_CANCEL, 0, NULL, 0);
	feed(f, 0, p);
	expect_nothing(f);
	/* A CID that was never allocated. */
	mkinit(p, 0x1234, CABLE_CTAPHID_PING, 0, NULL, 0);
	feed(f, 0, p);
	expect_error(f, 0x1234, CABLE_CTAPHID_ERR_INVALID_CHANNEL);
	mkinit(p, 0x1234, CABLE_CTAPHID_INIT, 8, nonce, 8);
	feed(f, 0, p);
	expect_error(f, 0x1234, CABLE_CTAPHID_ERR_INVALID_CHANNEL);
	/* Continuation packets with nothing under way are dropped silently. */
	mkcont(p, BCAST, 0, NULL, 0);
	feed(f, 0, p);
	mkcont(p, 0, 0, NULL, 0);
	feed(f, 0, p);
	expect_nothing(f);
	fx_free(f);
}

/* PING of len bytes comes back identical, in the expected number of packets. */
static void
ping_roundtrip(struct fx *f, uint32_t cid, size_t len, size_t want_packets)
{
	uint8_t *d = malloc(len + 1), *back = malloc(CABLE_CTAPHID_MAX_MESSAGE);
	uint32_t rcid;
	uint8_t cmd;
	size_t i = 0;

	assert_non_null(d);
	assert_non_null(back);
	for (size_t k = 0; k < len; k++)
		d[k] = (uint8_t)(k * 7 + 3);
	send_msg(f, 0, cid, CABLE_CTAPHID_PING, d, len);
	assert_int_equal(drain(f), want_packets);
	assert_int_equal(take_msg(f, &i, &rcid, &cmd, back), len);
	assert_int_equal(i, f->npk);
	assert_int_equal(rcid, cid);
	assert_int_equal(cmd, CABLE_CTAPHID_PING);
	if (len > 0)
		assert_memory_equal(back, d, len);
	free(d);
	free(back);
}

static void
test_ping_boundaries(void **state)
{
	struct fx *f = fx_new(NULL);
	uint32_t cid = open_channel(f, 0);

	(void)state;
	ping_roundtrip(f, cid, 0, 1);
	ping_roundtrip(f, cid, 1, 1);
	ping_roundtrip(f, cid, 57, 1);
	ping_roundtrip(f, cid, 58, 2);
	ping_roundtrip(f, cid, 57 + 59, 2);
	ping_roundtrip(f, cid, 57 + 59 + 1, 3);
	ping_roundtrip(f, cid, 57 + 59 * 2, 3);
	ping_roundtrip(f, cid, 1024, 18);
	ping_roundtrip(f, cid, CABLE_CTAPHID_MAX_MESSAGE - 1, 129);
	ping_roundtrip(f, cid, CABLE_CTAPHID_MAX_MESSAGE, 129);
	/* The last of 129 packets carries SEQ 127. */
	assert_int_equal(f->pk[128][4], 127);
	fx_free(f);
}

static void
test_ping_exact_packets(void **state)
{
	struct fx *f = fx_new(NULL);
	uint32_t cid = open_channel(f, 0);
	uint8_t d[117];

	(void)state;
	/* §1.8 of the reference: 117 bytes take packets of 57, 59 and 1 byte. */
	for (size_t k = 0; k < sizeof(d); k++)
		d[k] = (uint8_t)(0x80 + k);
	send_msg(f, 0, cid, CABLE_CTAPHID_PING, d, sizeof(d));
	assert_int_equal(drain(f), 3);
	assert_int_equal(get32(f->pk[0]), cid);
	assert_int_equal(f->pk[0][4], 0x81);
	assert_int_equal(f->pk[0][5], 0x00);
	assert_int_equal(f->pk[0][6], 0x75);
	assert_memory_equal(f->pk[0] + 7, d, 57);
	assert_int_equal(f->pk[1][4], 0x00);
	assert_memory_equal(f->pk[1] + 5, d + 57, 59);
	assert_int_equal(f->pk[2][4], 0x01);
	assert_int_equal(f->pk[2][5], d[116]);
	for (size_t j = 6; j < 64; j++)
		assert_int_equal(f->pk[2][j], 0);
	fx_free(f);
}

static void
cfg_small(struct cable_ctaphid_config *c)
{
	c->max_message = 1024;
}

static void
test_too_long(void **state)
{
	struct fx *f = fx_new(NULL), *g = fx_new(cfg_small);
	uint8_t p[64];
	uint32_t cid = open_channel(f, 0), cid2 = open_channel(g, 0);

	(void)state;
	mkinit(p, cid, CABLE_CTAPHID_PING, CABLE_CTAPHID_MAX_MESSAGE + 1, NULL, 0);
	feed(f, 0, p);
	expect_error(f, cid, CABLE_CTAPHID_ERR_INVALID_LEN);
	mkinit(p, cid, CABLE_CTAPHID_CBOR, 0xffff, NULL, 0);
	feed(f, 0, p);
	expect_error(f, cid, CABLE_CTAPHID_ERR_INVALID_LEN);
	/* Nothing is being assembled: a continuation that follows is dropped. */
	mkcont(p, cid, 0, NULL, 0);
	feed(f, 0, p);
	expect_nothing(f);
	/* A configured smaller limit. */
	mkinit(p, cid2, CABLE_CTAPHID_PING, 1025, NULL, 0);
	feed(g, 0, p);
	expect_error(g, cid2, CABLE_CTAPHID_ERR_INVALID_LEN);
	ping_roundtrip(g, cid2, 1024, 18);
	fx_free(f);
	fx_free(g);
}

static void
test_wrong_seq_resets(void **state)
{
	struct fx *f = fx_new(NULL);
	uint32_t cid = open_channel(f, 0);
	uint8_t p[64], d[200] = {0};

	(void)state;
	mkinit(p, cid, CABLE_CTAPHID_PING, sizeof(d), d, 57);
	feed(f, 0, p);
	mkcont(p, cid, 0, d, 59);
	feed(f, 0, p);
	expect_nothing(f);
	mkcont(p, cid, 2, d, 59); /* 1 expected */
	feed(f, 0, p);
	expect_error(f, cid, CABLE_CTAPHID_ERR_INVALID_SEQ);
	/* The assembly is gone: the "right" packet now is a stray and dropped. */
	mkcont(p, cid, 1, d, 59);
	feed(f, 0, p);
	expect_nothing(f);
	ping_roundtrip(f, cid, 200, 4);
	/* The first continuation must be SEQ 0. */
	mkinit(p, cid, CABLE_CTAPHID_PING, sizeof(d), d, 57);
	feed(f, 0, p);
	mkcont(p, cid, 1, d, 59);
	feed(f, 0, p);
	expect_error(f, cid, CABLE_CTAPHID_ERR_INVALID_SEQ);
	/* A continuation with the init bit's neighbour values (0x7f) is a wrong SEQ too. */
	mkinit(p, cid, CABLE_CTAPHID_PING, sizeof(d), d, 57);
	feed(f, 0, p);
	mkcont(p, cid, 0x7f, d, 59);
	feed(f, 0, p);
	expect_error(f, cid, CABLE_CTAPHID_ERR_INVALID_SEQ);
	fx_free(f);
}

static void
test_missing_continuation_times_out(void **state)
{
	struct fx *f = fx_new(NULL);
	uint32_t cid = open_channel(f, 0);
	uint8_t p[64], d[100] = {0};
	uint64_t when = 0;

	(void)state;
	assert_false(cable_ctaphid_deadline(f->h, &when));
	mkinit(p, cid, CABLE_CTAPHID_PING, sizeof(d), d, 57);
	feed(f, 1000 * MS, p);
	assert_true(cable_ctaphid_deadline(f->h, &when));
	assert_int_equal(when, 1000 * MS + 1000 * MS);
	assert_int_equal(cable_ctaphid_tick(f->h, 1999 * MS), 0);
	expect_nothing(f);
	assert_int_equal(cable_ctaphid_tick(f->h, 2000 * MS), 0);
	expect_error(f, cid, CABLE_CTAPHID_ERR_MSG_TIMEOUT);
	assert_false(cable_ctaphid_deadline(f->h, &when));
	/* The late continuation is a stray now. */
	mkcont(p, cid, 0, d, 43);
	feed(f, 2100 * MS, p);
	expect_nothing(f);

	/* Each packet re-arms the timer; a late packet fed without a tick still sees the timeout. */
	mkinit(p, cid, CABLE_CTAPHID_PING, 200, d, 57);
	feed(f, 3000 * MS, p);
	mkcont(p, cid, 0, d, 59);
	feed(f, 3900 * MS, p);
	assert_true(cable_ctaphid_deadline(f->h, &when));
	assert_int_equal(when, 4900 * MS);
	mkcont(p, cid, 1, d, 59);
	feed(f, 4900 * MS, p);
	expect_error(f, cid, CABLE_CTAPHID_ERR_MSG_TIMEOUT);
	fx_free(f);
}

static void
test_init_resync_during_assembly(void **state)
{
	struct fx *f = fx_new(NULL);
	uint32_t cid = open_channel(f, 0);
	uint8_t p[64], d[100] = {0}, nonce[8] = {9, 9, 9, 9, 8, 8, 8, 8};

	(void)state;
	mkinit(p, cid, CABLE_CTAPHID_PING, sizeof(d), d, 57);
	feed(f, 0, p);
	mkinit(p, cid, CABLE_CTAPHID_INIT, 8, nonce, 8);
	feed(f, 0, p);
	assert_int_equal(drain(f), 1);
	assert_int_equal(get32(f->pk[0]), cid);
	assert_int_equal(f->pk[0][4], 0x86);
	assert_int_equal(f->pk[0][6], 17);
	assert_memory_equal(f->pk[0] + 7, nonce, 8);
	assert_int_equal(get32(f->pk[0] + 15), cid); /* same channel */
	/* The half-assembled PING is gone. */
	mkcont(p, cid, 0, d, 43);
	feed(f, 0, p);
	expect_nothing(f);
	assert_false(cable_ctaphid_deadline(f->h, NULL));
	fx_free(f);
}

static void
test_other_channels_during_assembly(void **state)
{
	struct fx *f = fx_new(NULL);
	uint32_t a = open_channel(f, 0), b = open_channel(f, 0), c;
	uint8_t p[64], d[100], back[100], cmd;
	uint32_t rcid;
	size_t i = 0;

	(void)state;
	for (size_t k = 0; k < sizeof(d); k++)
		d[k] = (uint8_t)k;
	mkinit(p, a, CABLE_CTAPHID_PING, sizeof(d), d, 57);
	feed(f, 0, p);
	/* B is told to wait; its continuation is ignored; A's message is not disturbed. */
	mkinit(p, b, CABLE_CTAPHID_PING, 1, d, 1);
	feed(f, 0, p);
	expect_error(f, b, CABLE_CTAPHID_ERR_CHANNEL_BUSY);
	mkcont(p, b, 0, d, 59);
	feed(f, 0, p);
	expect_nothing(f);
	/* A new channel can still be opened (Chrome opens one per discovery). */
	c = open_channel(f, 0);
	assert_int_equal(c, 3);
	/* Resync INIT on B does not touch A either. */
	mkinit(p, b, CABLE_CTAPHID_INIT, 8, d, 8);
	feed(f, 0, p);
	assert_int_equal(drain(f), 1);
	assert_int_equal(get32(f->pk[0] + 15), b);
	mkinit(p, b, CABLE_CTAPHID_CANCEL, 0, NULL, 0);
	feed(f, 0, p);
	expect_nothing(f);
	mkcont(p, a, 0, d + 57, 43);
	feed(f, 0, p);
	assert_int_equal(drain(f), 2);
	assert_int_equal(take_msg(f, &i, &rcid, &cmd, back), sizeof(d));
	assert_int_equal(rcid, a);
	assert_memory_equal(back, d, sizeof(d));
	fx_free(f);
}

static void
test_new_message_on_assembling_channel(void **state)
{
	struct fx *f = fx_new(NULL);
	uint32_t cid = open_channel(f, 0);
	uint8_t p[64], d[100] = {0};

	(void)state;
	mkinit(p, cid, CABLE_CTAPHID_PING, sizeof(d), d, 57);
	feed(f, 0, p);
	mkinit(p, cid, CABLE_CTAPHID_PING, 3, d, 3);
	feed(f, 0, p);
	expect_error(f, cid, CABLE_CTAPHID_ERR_INVALID_SEQ);
	ping_roundtrip(f, cid, 3, 1);
	/* CANCEL while assembling drops the message silently. */
	mkinit(p, cid, CABLE_CTAPHID_PING, sizeof(d), d, 57);
	feed(f, 0, p);
	mkinit(p, cid, CABLE_CTAPHID_CANCEL, 0, NULL, 0);
	feed(f, 0, p);
	expect_nothing(f);
	mkcont(p, cid, 0, d, 43);
	feed(f, 0, p);
	expect_nothing(f);
	fx_free(f);
}

static void
test_cbor_request_response_keepalive(void **state)
{
	struct fx *f = fx_new(NULL);
	uint32_t cid = open_channel(f, 0), rcid;
	uint8_t req[300], resp[150], back[150], cmd;
	uint64_t when;
	size_t i = 0;

	(void)state;
	for (size_t k = 0; k < sizeof(req); k++)
		req[k] = (uint8_t)(k ^ 0x5a);
	for (size_t k = 0; k < sizeof(resp); k++)
		resp[k] = (uint8_t)(k + 1);
	send_msg(f, 10 * SEC, cid, CABLE_CTAPHID_CBOR, req, sizeof(req));
	expect_nothing(f);
	assert_int_equal(f->reenter_rc, CABLE_ERR_STATE);
	assert_int_equal(f->nev, 1);
	assert_int_equal(f->ev[0].ev.type, CABLE_CTAPHID_EVENT_REQUEST);
	assert_int_equal(f->ev[0].ev.cid, cid);
	assert_int_equal(f->ev[0].ev.cmd, CABLE_CTAPHID_CBOR);
	assert_int_not_equal(f->ev[0].ev.request, 0);
	assert_int_equal(f->ev[0].ev.len, sizeof(req));
	assert_memory_equal(f->ev[0].data, req, sizeof(req));
	/* Keepalives every 100 ms with PROCESSING until the answer comes. */
	assert_true(cable_ctaphid_deadline(f->h, &when));
	assert_int_equal(when, 10 * SEC + 100 * MS);
	cable_ctaphid_tick(f->h, 10 * SEC + 50 * MS);
	expect_nothing(f);
	cable_ctaphid_tick(f->h, 10 * SEC + 100 * MS);
	assert_int_equal(drain(f), 1);
	assert_int_equal(get32(f->pk[0]), cid);
	assert_int_equal(f->pk[0][4], 0xbb);
	assert_int_equal(f->pk[0][6], 1);
	assert_int_equal(f->pk[0][7], CABLE_CTAPHID_STATUS_PROCESSING);
	cable_ctaphid_tick(f->h, 10 * SEC + 150 * MS);
	expect_nothing(f);
	/* A status change goes out at once, then every 100 ms from then. */
	assert_int_equal(cable_ctaphid_set_status(f->h, 10 * SEC + 160 * MS, f->ev[0].ev.request,
	    CABLE_CTAPHID_STATUS_UPNEEDED), 0);
	assert_int_equal(drain(f), 1);
	assert_int_equal(f->pk[0][7], CABLE_CTAPHID_STATUS_UPNEEDED);
	assert_int_equal(cable_ctaphid_set_status(f->h, 10 * SEC + 170 * MS, f->ev[0].ev.request,
	    CABLE_CTAPHID_STATUS_UPNEEDED), 0);
	expect_nothing(f);
	assert_int_equal(cable_ctaphid_set_status(f->h, 0, f->ev[0].ev.request, 3), CABLE_ERR_ARG);
	assert_int_equal(cable_ctaphid_set_status(f->h, 0, f->ev[0].ev.request + 1, 1), CABLE_ERR_STATE);
	cable_ctaphid_tick(f->h, 10 * SEC + 259 * MS);
	expect_nothing(f);
	cable_ctaphid_tick(f->h, 10 * SEC + 260 * MS);
	assert_int_equal(drain(f), 1);
	assert_int_equal(f->pk[0][7], CABLE_CTAPHID_STATUS_UPNEEDED);
	/* Wrong or stale request IDs and bad lengths are refused and change nothing. */
	assert_int_equal(cable_ctaphid_respond(f->h, f->ev[0].ev.request + 1, resp, sizeof(resp)),
	    CABLE_ERR_STATE);
	assert_int_equal(cable_ctaphid_respond(f->h, f->ev[0].ev.request, resp, 0), CABLE_ERR_LENGTH);
	assert_int_equal(cable_ctaphid_respond(f->h, f->ev[0].ev.request, resp,
	    CABLE_CTAPHID_MAX_MESSAGE + 1), CABLE_ERR_LENGTH);
	expect_nothing(f);
	assert_int_equal(cable_ctaphid_respond(f->h, f->ev[0].ev.request, resp, sizeof(resp)), 0);
	assert_int_equal(drain(f), 3);
	assert_int_equal(take_msg(f, &i, &rcid, &cmd, back), sizeof(resp));
	assert_int_equal(rcid, cid);
	assert_int_equal(cmd, CABLE_CTAPHID_CBOR);
	assert_memory_equal(back, resp, sizeof(resp));
	/* Answered: no more keepalives, no second answer. */
	assert_false(cable_ctaphid_deadline(f->h, &when));
	cable_ctaphid_tick(f->h, 20 * SEC);
	expect_nothing(f);
	assert_int_equal(cable_ctaphid_respond(f->h, f->ev[0].ev.request, resp, 1), CABLE_ERR_STATE);
	fx_free(f);
}

static void
test_cbor_answered_inside_callback(void **state)
{
	struct fx *f = fx_new(NULL);
	uint32_t cid = open_channel(f, 0), rcid;
	uint8_t req[1] = {0x04}, resp[2000], back[2000], cmd;
	size_t i = 0;

	(void)state;
	memset(resp, 0xa5, sizeof(resp));
	resp[0] = 0;
	f->auto_reply = resp;
	f->auto_reply_len = sizeof(resp);
	send_msg(f, 0, cid, CABLE_CTAPHID_CBOR, req, 1);
	assert_int_equal(f->auto_rc, 0);
	assert_int_equal(drain(f), 1 + (2000 - 57 + 58) / 59);
	assert_int_equal(take_msg(f, &i, &rcid, &cmd, back), sizeof(resp));
	assert_memory_equal(back, resp, sizeof(resp));
	/* The next request works the same way. */
	send_msg(f, 0, cid, CABLE_CTAPHID_CBOR, req, 1);
	assert_int_equal(f->nev, 2);
	assert_true(f->ev[1].ev.request > f->ev[0].ev.request);
	assert_int_equal(drain(f), 34);
	fx_free(f);
}

static void
test_cbor_empty_is_invalid_len(void **state)
{
	struct fx *f = fx_new(NULL);
	uint32_t cid = open_channel(f, 0);
	uint8_t p[64];

	(void)state;
	mkinit(p, cid, CABLE_CTAPHID_CBOR, 0, NULL, 0);
	feed(f, 0, p);
	expect_error(f, cid, CABLE_CTAPHID_ERR_INVALID_LEN);
	assert_int_equal(f->nev, 0);
	fx_free(f);
}

static void
test_busy_while_pending(void **state)
{
	struct fx *f = fx_new(NULL);
	uint32_t a = open_channel(f, 0), b = open_channel(f, 0), rcid;
	uint8_t req[1] = {0x04}, p[64], resp[1] = {0}, back[8], cmd;
	size_t i = 0;

	(void)state;
	send_msg(f, 0, a, CABLE_CTAPHID_CBOR, req, 1);
	mkinit(p, b, CABLE_CTAPHID_CBOR, 1, req, 1);
	feed(f, 0, p);
	expect_error(f, b, CABLE_CTAPHID_ERR_CHANNEL_BUSY);
	mkinit(p, b, CABLE_CTAPHID_PING, 0, NULL, 0);
	feed(f, 0, p);
	expect_error(f, b, CABLE_CTAPHID_ERR_CHANNEL_BUSY);
	/* The same channel may not start a second request either. */
	mkinit(p, a, CABLE_CTAPHID_PING, 0, NULL, 0);
	feed(f, 0, p);
	expect_error(f, a, CABLE_CTAPHID_ERR_CHANNEL_BUSY);
	/* A CANCEL from B does not cancel A's request. */
	mkinit(p, b, CABLE_CTAPHID_CANCEL, 0, NULL, 0);
	feed(f, 0, p);
	expect_nothing(f);
	assert_int_equal(f->nev, 1);
	assert_int_equal(cable_ctaphid_respond(f->h, f->ev[0].ev.request, resp, 1), 0);
	assert_int_equal(drain(f), 1);
	assert_int_equal(take_msg(f, &i, &rcid, &cmd, back), 1);
	assert_int_equal(rcid, a);
	/* Free again: B gets through. */
	ping_roundtrip(f, b, 5, 1);
	fx_free(f);
}

static void
test_cancel(void **state)
{
	struct fx *f = fx_new(NULL);
	uint32_t cid = open_channel(f, 0);
	uint8_t req[1] = {0x02}, p[64], resp[1] = {0};

	(void)state;
	/* CANCEL when idle: nothing. */
	mkinit(p, cid, CABLE_CTAPHID_CANCEL, 0, NULL, 0);
	feed(f, 0, p);
	expect_nothing(f);
	assert_int_equal(f->nev, 0);
	send_msg(f, 0, cid, CABLE_CTAPHID_CBOR, req, 1);
	mkinit(p, cid, CABLE_CTAPHID_CANCEL, 0, NULL, 0);
	feed(f, 0, p);
	/* Not a reply to CANCEL: the request ends on CBOR with 0x2D. */
	assert_int_equal(drain(f), 1);
	assert_int_equal(get32(f->pk[0]), cid);
	assert_int_equal(f->pk[0][4], 0x90);
	assert_int_equal(f->pk[0][6], 1);
	assert_int_equal(f->pk[0][7], 0x2d);
	assert_int_equal(f->nev, 2);
	assert_int_equal(f->ev[1].ev.type, CABLE_CTAPHID_EVENT_CANCEL);
	assert_int_equal(f->ev[1].ev.cid, cid);
	assert_int_equal(f->ev[1].ev.request, f->ev[0].ev.request);
	assert_int_equal(cable_ctaphid_respond(f->h, f->ev[0].ev.request, resp, 1), CABLE_ERR_STATE);
	/* Repeated CANCELs (python-fido2 sends several) are ignored. */
	feed(f, 0, p);
	feed(f, 0, p);
	expect_nothing(f);
	assert_int_equal(f->nev, 2);
	assert_false(cable_ctaphid_deadline(f->h, NULL));
	fx_free(f);
}

static void
cfg_timeout(struct cable_ctaphid_config *c)
{
	c->request_timeout_usec = 2 * SEC;
	c->keepalive_usec = 1 * SEC;
}

static void
test_request_timeout(void **state)
{
	struct fx *f = fx_new(cfg_timeout);
	uint32_t cid = open_channel(f, 0);
	uint8_t req[1] = {0x01}, resp[1] = {0};
	uint64_t when;

	(void)state;
	send_msg(f, 5 * SEC, cid, CABLE_CTAPHID_CBOR, req, 1);
	cable_ctaphid_tick(f->h, 6 * SEC);
	assert_int_equal(drain(f), 1);
	assert_int_equal(f->pk[0][4], 0xbb);
	assert_true(cable_ctaphid_deadline(f->h, &when));
	assert_int_equal(when, 7 * SEC);
	cable_ctaphid_tick(f->h, 7 * SEC);
	assert_int_equal(drain(f), 1);
	assert_int_equal(f->pk[0][4], 0x90);
	assert_int_equal(f->pk[0][7], 0x2f);
	assert_int_equal(f->nev, 2);
	assert_int_equal(f->ev[1].ev.type, CABLE_CTAPHID_EVENT_ABORT);
	assert_int_equal(f->ev[1].ev.reason, CABLE_ERR_TIMEOUT);
	assert_int_equal(f->ev[1].ev.request, f->ev[0].ev.request);
	assert_int_equal(cable_ctaphid_respond(f->h, f->ev[0].ev.request, resp, 1), CABLE_ERR_STATE);
	assert_false(cable_ctaphid_deadline(f->h, NULL));
	ping_roundtrip(f, cid, 9, 1);
	fx_free(f);
}

static void
test_resync_aborts_pending_request(void **state)
{
	struct fx *f = fx_new(NULL);
	uint32_t cid = open_channel(f, 0);
	uint8_t req[1] = {0x01}, p[64], nonce[8] = {7}, resp[1] = {0};

	(void)state;
	send_msg(f, 0, cid, CABLE_CTAPHID_CBOR, req, 1);
	mkinit(p, cid, CABLE_CTAPHID_INIT, 8, nonce, 8);
	feed(f, 0, p);
	assert_int_equal(drain(f), 1);
	assert_int_equal(f->pk[0][4], 0x86);
	assert_int_equal(get32(f->pk[0] + 15), cid);
	assert_int_equal(f->nev, 2);
	assert_int_equal(f->ev[1].ev.type, CABLE_CTAPHID_EVENT_ABORT);
	assert_int_equal(f->ev[1].ev.reason, CABLE_ERR_STATE);
	assert_int_equal(cable_ctaphid_respond(f->h, f->ev[0].ev.request, resp, 1), CABLE_ERR_STATE);
	fx_free(f);
}

static void
cfg_u2f(struct cable_ctaphid_config *c)
{
	c->capabilities = CABLE_CTAPHID_CAP_CBOR;
}

static void
test_msg(void **state)
{
	struct fx *f = fx_new(NULL), *g = fx_new(cfg_u2f);
	uint32_t cid = open_channel(f, 0), cid2 = open_channel(g, 0);
	uint8_t apdu[7] = {0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00}, p[64], sw[2] = {0x90, 0x00};

	(void)state;
	/* NMSG advertised: U2F is refused so clients fall back to CTAP2 (or fail cleanly). */
	send_msg(f, 0, cid, CABLE_CTAPHID_MSG, apdu, sizeof(apdu));
	expect_error(f, cid, CABLE_CTAPHID_ERR_INVALID_CMD);
	assert_int_equal(f->nev, 0);
	/* Without NMSG the APDU goes up like a CBOR request. */
	send_msg(g, 0, cid2, CABLE_CTAPHID_MSG, apdu, sizeof(apdu));
	assert_int_equal(g->nev, 1);
	assert_int_equal(g->ev[0].ev.cmd, CABLE_CTAPHID_MSG);
	assert_int_equal(g->ev[0].ev.len, sizeof(apdu));
	/* U2F has no cancel: the request stays. */
	mkinit(p, cid2, CABLE_CTAPHID_CANCEL, 0, NULL, 0);
	feed(g, 0, p);
	expect_nothing(g);
	assert_int_equal(cable_ctaphid_respond(g->h, g->ev[0].ev.request, sw, 2), 0);
	assert_int_equal(drain(g), 1);
	assert_int_equal(g->pk[0][4], 0x83);
	assert_int_equal(g->pk[0][7], 0x90);
	mkinit(p, cid2, CABLE_CTAPHID_MSG, 0, NULL, 0);
	feed(g, 0, p);
	expect_error(g, cid2, CABLE_CTAPHID_ERR_INVALID_LEN);
	fx_free(f);
	fx_free(g);
}

static void
test_wink(void **state)
{
	struct fx *f = fx_new(NULL), *g = fx_new(cfg_u2f);
	uint32_t cid = open_channel(f, 0), cid2 = open_channel(g, 0);
	uint8_t p[64], d[1] = {1};

	(void)state;
	mkinit(p, cid, CABLE_CTAPHID_WINK, 0, NULL, 0);
	feed(f, 0, p);
	assert_int_equal(drain(f), 1);
	assert_int_equal(get32(f->pk[0]), cid);
	assert_int_equal(f->pk[0][4], 0x88);
	assert_int_equal(f->pk[0][5], 0);
	assert_int_equal(f->pk[0][6], 0);
	assert_int_equal(f->nev, 1);
	assert_int_equal(f->ev[0].ev.type, CABLE_CTAPHID_EVENT_WINK);
	mkinit(p, cid, CABLE_CTAPHID_WINK, 1, d, 1);
	feed(f, 0, p);
	expect_error(f, cid, CABLE_CTAPHID_ERR_INVALID_LEN);
	mkinit(p, cid2, CABLE_CTAPHID_WINK, 0, NULL, 0);
	feed(g, 0, p);
	expect_error(g, cid2, CABLE_CTAPHID_ERR_INVALID_CMD);
	fx_free(f);
	fx_free(g);
}

static void
cfg_lock(struct cable_ctaphid_config *c)
{
	c->capabilities |= CABLE_CTAPHID_CAP_LOCK;
}

static void
test_lock(void **state)
{
	struct fx *f = fx_new(NULL), *g = fx_new(cfg_lock);
	uint32_t cid = open_channel(f, 0), a = open_channel(g, 0), b = open_channel(g, 0);
	uint8_t p[64], v[2] = {5, 0}, nonce[8] = {0};
	uint64_t when;

	(void)state;
	assert_int_equal(f->pk[0][23], 0x0d);
	mkinit(p, cid, CABLE_CTAPHID_LOCK, 1, v, 1);
	feed(f, 0, p);
	expect_error(f, cid, CABLE_CTAPHID_ERR_INVALID_CMD);

	assert_int_equal(g->pk[0][23], 0x0f);
	mkinit(p, a, CABLE_CTAPHID_LOCK, 2, v, 2);
	feed(g, 0, p);
	expect_error(g, a, CABLE_CTAPHID_ERR_INVALID_LEN);
	v[0] = 11;
	mkinit(p, a, CABLE_CTAPHID_LOCK, 1, v, 1);
	feed(g, 0, p);
	expect_error(g, a, CABLE_CTAPHID_ERR_INVALID_PAR);
	v[0] = 5;
	mkinit(p, a, CABLE_CTAPHID_LOCK, 1, v, 1);
	feed(g, 1 * SEC, p);
	assert_int_equal(drain(g), 1);
	assert_int_equal(g->pk[0][4], 0x84);
	assert_int_equal(g->pk[0][6], 0);
	assert_true(cable_ctaphid_deadline(g->h, &when));
	assert_int_equal(when, 6 * SEC);
	/* B is locked out, A is not, and broadcast INIT still works. */
	mkinit(p, b, CABLE_CTAPHID_PING, 0, NULL, 0);
	feed(g, 2 * SEC, p);
	expect_error(g, b, CABLE_CTAPHID_ERR_CHANNEL_BUSY);
	mkinit(p, b, CABLE_CTAPHID_INIT, 8, nonce, 8);
	feed(g, 2 * SEC, p);
	expect_error(g, b, CABLE_CTAPHID_ERR_CHANNEL_BUSY);
	ping_roundtrip(g, a, 3, 1);
	assert_int_equal(open_channel(g, 2 * SEC), 3);
	/* The lock runs out after 5 s. */
	cable_ctaphid_tick(g->h, 6 * SEC);
	assert_false(cable_ctaphid_deadline(g->h, NULL));
	ping_roundtrip(g, b, 3, 1);
	/* LOCK 0 releases early. */
	mkinit(p, a, CABLE_CTAPHID_LOCK, 1, v, 1);
	feed(g, 7 * SEC, p);
	drain(g);
	v[0] = 0;
	mkinit(p, a, CABLE_CTAPHID_LOCK, 1, v, 1);
	feed(g, 7 * SEC, p);
	drain(g);
	mkinit(p, b, CABLE_CTAPHID_PING, 0, NULL, 0);
	feed(g, 7 * SEC, p);
	assert_int_equal(drain(g), 1);
	assert_int_equal(g->pk[0][4], 0x81);
	fx_free(f);
	fx_free(g);
}

static void
test_unknown_commands(void **state)
{
	struct fx *f = fx_new(NULL);
	uint32_t cid = open_channel(f, 0);
	uint8_t p[64], d[1] = {1};
	static const uint8_t cmds[] = {0x00, 0x02, 0x05, 0x07, 0x09, 0x12, 0x3b, 0x3f, 0x40, 0x7f};

	(void)state;
	for (size_t k = 0; k < sizeof(cmds); k++) {
		mkinit(p, cid, cmds[k], 1, d, 1);
		feed(f, 0, p);
		expect_error(f, cid, CABLE_CTAPHID_ERR_INVALID_CMD);
	}
	/* A long vendor message is refused at its first packet; its continuations are strays. */
	mkinit(p, cid, 0x41, 500, d, 1);
	feed(f, 0, p);
	expect_error(f, cid, CABLE_CTAPHID_ERR_INVALID_CMD);
	mkcont(p, cid, 0, d, 1);
	feed(f, 0, p);
	expect_nothing(f);
	assert_int_equal(f->nev, 0);
	fx_free(f);
}

static void
cfg_two(struct cable_ctaphid_config *c)
{
	c->max_channels = 2;
}

static void
test_channel_eviction(void **state)
{
	struct fx *f = fx_new(cfg_two);
	uint32_t a = open_channel(f, 0), b = open_channel(f, 0), c, d;
	uint8_t p[64], req[1] = {4};
	struct cable_ctaphid_stats st;

	(void)state;
	ping_roundtrip(f, a, 1, 1); /* a is now more recently used than b */
	c = open_channel(f, 0);
	assert_int_equal(c, 3);
	mkinit(p, b, CABLE_CTAPHID_PING, 0, NULL, 0);
	feed(f, 0, p);
	expect_error(f, b, CABLE_CTAPHID_ERR_INVALID_CHANNEL);
	ping_roundtrip(f, a, 1, 1);
	ping_roundtrip(f, c, 1, 1);
	/* The channel with a pending request is never evicted, even when least recently used. */
	send_msg(f, 0, a, CABLE_CTAPHID_CBOR, req, 1);
	mkinit(p, c, CABLE_CTAPHID_INIT, 8, req, 1);
	feed(f, 0, p);
	drain(f);
	d = open_channel(f, 0);
	assert_int_equal(d, 4);
	mkinit(p, c, CABLE_CTAPHID_PING, 0, NULL, 0);
	feed(f, 0, p);
	expect_error(f, c, CABLE_CTAPHID_ERR_INVALID_CHANNEL);
	assert_int_equal(cable_ctaphid_respond(f->h, f->ev[0].ev.request, req, 1), 0);
	assert_int_equal(drain(f), 1);
	assert_int_equal(get32(f->pk[0]), a);
	cable_ctaphid_get_stats(f->h, &st);
	assert_int_equal(st.channels_evicted, 2);
	fx_free(f);
}

static void
test_never_interleave(void **state)
{
	struct fx *f = fx_new(NULL);
	uint32_t a = open_channel(f, 0), b = open_channel(f, 0), rcid;
	uint8_t d[1000], back[1000], p[64], cmd;
	size_t i = 0, first;

	(void)state;
	memset(d, 0x33, sizeof(d));
	/* Queue a long PING answer and do not drain; meanwhile other channels talk. */
	send_msg(f, 0, a, CABLE_CTAPHID_PING, d, sizeof(d));
	mkinit(p, b, CABLE_CTAPHID_PING, 0, NULL, 0);
	feed(f, 0, p); /* busy: the PING transaction lasts until its answer is out */
	mkinit(p, BCAST, CABLE_CTAPHID_INIT, 8, d, 8);
	feed(f, 0, p);
	assert_int_equal(drain(f), 17 + 1 + 1);
	assert_int_equal(take_msg(f, &i, &rcid, &cmd, back), sizeof(d));
	assert_int_equal(rcid, a);
	first = i;
	assert_int_equal(first, 17);
	assert_int_equal(take_msg(f, &i, &rcid, &cmd, back), 1);
	assert_int_equal(rcid, b);
	assert_int_equal(cmd, CABLE_CTAPHID_ERROR);
	assert_int_equal(back[0], CABLE_CTAPHID_ERR_CHANNEL_BUSY);
	assert_int_equal(take_msg(f, &i, &rcid, &cmd, back), 17);
	assert_int_equal(rcid, BCAST);
	/* Half-drained long answer: small messages wait behind it. */
	send_msg(f, 0, a, CABLE_CTAPHID_PING, d, sizeof(d));
	for (int k = 0; k < 5; k++)
		assert_int_equal(cable_ctaphid_pop(f->h, p), 1);
	mkinit(p, BCAST, CABLE_CTAPHID_INIT, 8, d, 8);
	feed(f, 0, p);
	assert_int_equal(drain(f), 12 + 1);
	for (size_t k = 0; k < 12; k++)
		assert_int_equal(get32(f->pk[k]), a);
	assert_int_equal(f->pk[11][4], 15);
	assert_int_equal(get32(f->pk[12]), BCAST);
	fx_free(f);
}

static void
test_nonzero_padding_and_misuse(void **state)
{
	struct fx *f = fx_new(NULL);
	uint32_t cid = open_channel(f, 0);
	uint8_t p[64], nonce[8] = {1, 1, 1, 1, 1, 1, 1, 1};

	(void)state;
	mkinit(p, cid, CABLE_CTAPHID_PING, 2, nonce, 2);
	memset(p + 9, 0xee, 55);
	feed(f, 0, p);
	assert_int_equal(drain(f), 1);
	assert_int_equal(f->pk[0][6], 2);
	assert_int_equal(f->pk[0][9], 0);
	mkinit(p, BCAST, CABLE_CTAPHID_INIT, 8, nonce, 8);
	memset(p + 15, 0xee, 49);
	feed(f, 0, p);
	assert_int_equal(drain(f), 1);
	assert_int_equal(f->pk[0][6], 17);
	assert_int_equal(cable_ctaphid_feed(f->h, 0, p, 63), CABLE_ERR_LENGTH);
	assert_int_equal(cable_ctaphid_feed(f->h, 0, p, 65), CABLE_ERR_LENGTH);
	assert_int_equal(cable_ctaphid_feed(f->h, 0, NULL, 64), CABLE_ERR_ARG);
	assert_int_equal(cable_ctaphid_feed(NULL, 0, p, 64), CABLE_ERR_ARG);
	assert_int_equal(cable_ctaphid_pop(f->h, p), 0);
	fx_free(f);
}

static void
test_reset(void **state)
{
	struct fx *f = fx_new(NULL);
	uint32_t cid = open_channel(f, 0);
	uint8_t req[1] = {1}, p[64];

	(void)state;
	send_msg(f, 0, cid, CABLE_CTAPHID_CBOR, req, 1);
	cable_ctaphid_tick(f->h, 100 * MS);
	cable_ctaphid_reset(f->h);
	assert_int_equal(f->nev, 2);
	assert_int_equal(f->ev[1].ev.type, CABLE_CTAPHID_EVENT_ABORT);
	assert_int_equal(f->ev[1].ev.reason, CABLE_ERR_CANCELLED);
	expect_nothing(f); /* the queued keepalive is gone too */
	mkinit(p, cid, CABLE_CTAPHID_PING, 0, NULL, 0);
	feed(f, 0, p);
	expect_error(f, cid, CABLE_CTAPHID_ERR_INVALID_CHANNEL);
	fx_free(f);
}

static void
test_config_validation(void **state)
{
	struct cable_ctaphid_config c;
	struct cable_ctaphid *h;

	(void)state;
	assert_null(cable_ctaphid_new(NULL));
	cable_ctaphid_config_default(&c);
	c.max_channels = 1;
	assert_null(cable_ctaphid_new(&c));
	cable_ctaphid_config_default(&c);
	c.max_channels = CABLE_CTAPHID_MAX_CHANNELS + 1;
	assert_null(cable_ctaphid_new(&c));
	cable_ctaphid_config_default(&c);
	c.max_message = CABLE_CTAPHID_MAX_MESSAGE + 1;
	assert_null(cable_ctaphid_new(&c));
	cable_ctaphid_config_default(&c);
	c.capabilities = CABLE_CTAPHID_CAP_NMSG;
	assert_null(cable_ctaphid_new(&c));
	cable_ctaphid_config_default(&c);
	c.keepalive_usec = 0;
	assert_null(cable_ctaphid_new(&c));
	cable_ctaphid_config_default(&c);
	h = cable_ctaphid_new(&c);
	assert_non_null(h);
	cable_ctaphid_free(&h);
	cable_ctaphid_free(&h);
	cable_ctaphid_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_reply_layout),
		cmocka_unit_test(test_init_cid_allocation_skips_reserved),
		cmocka_unit_test(test_init_wrong_length),
		cmocka_unit_test(test_channel_zero_and_broadcast_rules),
		cmocka_unit_test(test_ping_boundaries),
		cmocka_unit_test(test_ping_exact_packets),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_wrong_seq_resets),
		cmocka_unit_test(test_missing_continuation_times_out),
		cmocka_unit_test(test_init_resync_during_assembly),
		cmocka_unit_test(test_other_channels_during_assembly),
		cmocka_unit_test(test_new_message_on_assembling_channel),
		cmocka_unit_test(test_cbor_request_response_keepalive),
		cmocka_unit_test(test_cbor_answered_inside_callback),
		cmocka_unit_test(test_cbor_empty_is_invalid_len),
		cmocka_unit_test(test_busy_while_pending),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_request_timeout),
		cmocka_unit_test(test_resync_aborts_pending_request),
		cmocka_unit_test(test_msg),
		cmocka_unit_test(test_wink),
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_unknown_commands),
		cmocka_unit_test(test_channel_eviction),
		cmocka_unit_test(test_never_interleave),
		cmocka_unit_test(test_nonzero_padding_and_misuse),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_config_validation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* CTAPHID state machine: channel allocation, reassembly, one transaction at a time, timers. */
#include <stdlib.h>
#include <string.h>

#include "cable/bytes.h"
#include "cable/ctaphid.h"
#include "cable/error.h"

#define USEC_PER_SEC 1000000u
/* Small messages (INIT replies, errors, keepalives, empty WINK/LOCK) are stored in the queue. */
#define SMALL_MAX 17
#define QUEUE_LEN 64
#define LOCK_MAX_SECONDS 10

enum state {
	ST_IDLE,
	ST_ASSEMBLING, /* a request is arriving on h->cid */
	ST_PENDING,    /* a CBOR/MSG request on h->cid waits for the layer above */
	ST_SENDING,    /* a long response on h->cid sits in the output queue */
};

struct channel {
	uint32_t cid; /* 0 = free slot */
	uint64_t used;
};

struct outmsg {
	uint32_t cid;
	uint8_t cmd;
	bool big; /* data lives in h->out */
	uint16_t len;
	uint8_t small[SMALL_MAX];
};

struct cable_ctaphid {
	struct cable_ctaphid_config cfg;
	struct channel *channels;
	uint32_t next_cid;
	uint64_t stamp;
	uint64_t next_request;
	bool in_callback;

	enum state state;
	uint32_t cid; /* the channel of the current transaction */
	uint8_t cmd;
	size_t need, have;
	uint8_t seq;
	uint64_t packet_deadline;

	uint64_t request;
	uint8_t status;
	uint64_t next_keepalive;
	uint64_t request_deadline; /* UINT64_MAX = none */

	uint32_t lock_cid; /* 0 = unlocked */
	uint64_t lock_until;

	struct outmsg queue[QUEUE_LEN];
	size_t q_head, q_count;
	size_t q_off;
	uint8_t q_seq;
	bool q_started;

	struct cable_ctaphid_stats stats;
	uint8_t in[CABLE_CTAPHID_MAX_MESSAGE];
	uint8_t out[CABLE_CTAPHID_MAX_MESSAGE];
};

static uint64_t
add_sat(uint64_t a, uint64_t b)
{
	return (a > UINT64_MAX - b) ? UINT64_MAX : a + b;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void
cable_ctaphid_config_default(struct cable_ctaphid_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->version_major = 0;
	cfg->version_minor = 1;
	cfg->version_build = 0;
	cfg->capabilities = CABLE_CTAPHID_CAP_WINK | CABLE_CTAPHID_CAP_CBOR | CABLE_CTAPHID_CAP_NMSG;
	cfg->first_cid = 1;
	cfg->max_channels = 32;
	cfg->max_message = CABLE_CTAPHID_MAX_MESSAGE;
	cfg->packet_timeout_usec = 1000000;
	cfg->keepalive_usec = 100000;
	cfg->request_timeout_usec = 300ull * USEC_PER_SEC;
}

struct cable_ctaphid *
cable_ctaphid_new(const struct cable_ctaphid_config *cfg)
{
	struct cable_ctaphid *h;

	if (cfg == NULL || cfg->max_channels < 2 || cfg->max_channels > CABLE_CTAPHID_MAX_CHANNELS ||
	    cfg->max_message < 1 || cfg->max_message > CABLE_CTAPHID_MAX_MESSAGE ||
	    !(cfg->capabilities & CABLE_CTAPHID_CAP_CBOR) || cfg->packet_timeout_usec == 0 ||
	    cfg->keepalive_usec == 0)
		return NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	if ((h->channels = calloc(cfg->max_channels, sizeof(*h->channels))) == NULL) {
		free(h);
		return NULL;
	}
	h->cfg = *cfg;
	h->next_cid = cfg->first_cid;
	return h;
}

void
cable_ctaphid_free(struct cable_ctaphid **hp)
{
	struct cable_ctaphid *h;

	if (hp == NULL || (h = *hp) == NULL)
		return;
	free(h->channels);
	cable_wipe(h, sizeof(*h));
	free(h);
	*hp = NULL;
}

static void
emit(struct cable_ctaphid *h, const struct cable_ctaphid_event *ev)
{
	if (h->cfg.on_event == NULL)
		return;
	h->in_callback = true;
	h->cfg.on_event(h->cfg.arg, ev);
	h->in_callback = false;
}

/* Queues a message of at most SMALL_MAX bytes; the last slot stays free for a long response. */
static void
queue_small(struct cable_ctaphid *h, uint32_t cid, uint8_t cmd, const uint8_t *data, size_t len)
{
	struct outmsg *m;

	if (len > SMALL_MAX || h->q_count >= QUEUE_LEN - 1) {
		h->stats.dropped_out++;
		return;
	}
	m = &h->queue[(h->q_head + h->q_count) % QUEUE_LEN];
	memset(m, 0, sizeof(*m));
	m->cid = cid;
	m->cmd = cmd;
	m->len = (uint16_t)len;
	if (len > 0)
		memcpy(m->small, data, len);
	h->q_count++;
}

/* Queues h->out as the transaction's response; only one can exist (ST_SENDING guards it). */
static void
queue_big(struct cable_ctaphid *h, uint32_t cid, uint8_t cmd, size_t len)
{
	struct outmsg *m = &h->queue[(h->q_head + h->q_count) % QUEUE_LEN];

	memset(m, 0, sizeof(*m));
	m->cid = cid;
	m->cmd = cmd;
	m->big = true;
	m->len = (uint16_t)len;
	h->q_count++;
	h->state = ST_SENDING;
	h->cid = cid;
}

static void
send_error(struct cable_ctaphid *h, uint32_t cid, uint8_t code)
{
	h->stats.errors_sent++;
	queue_small(h, cid, CABLE_CTAPHID_ERROR, &code, 1);
}

static struct channel *
find_channel(struct cable_ctaphid *h, uint32_t cid)
{
	for (size_t i = 0; i < h->cfg.max_channels; i++)
		if (h->channels[i].cid == cid && cid != 0)
			return &h->channels[i];
	return NULL;
}

static void
touch(struct cable_ctaphid *h, struct channel *ch)
{
	ch->used = ++h->stamp;
}

static bool
in_transaction(const struct cable_ctaphid *h, uint32_t cid)
{
	return h->state != ST_IDLE && h->cid == cid;
}

/* A fresh CID in a free slot, evicting the least recently used channel that nothing needs. */
static struct channel *
alloc_channel(struct cable_ctaphid *h)
{
	struct channel *slot = NULL;
	uint32_t cid;

	for (size_t i = 0; i < h->cfg.max_channels; i++) {
		struct channel *c = &h->channels[i];

		if (c->cid == 0) {
			slot = c;
			break;
		}
		if (in_transaction(h, c->cid) || c->cid == h->lock_cid)
			continue;
		if (slot == NULL || c->used < slot->used)
			slot = c;
	}
	if (slot == NULL)
		return NULL;
	if (slot->cid != 0)
		h->stats.channels_evicted++;
	slot->cid = 0;
	/* At most max_channels CIDs are taken, so this ends within max_channels + 2 steps. */
	for (;;) {
		cid = h->next_cid++;
		if (cid == 0 || cid == CABLE_CTAPHID_BROADCAST_CID || find_channel(h, cid) != NULL)
			continue;
		break;
	}
	slot->cid = cid;
	touch(h, slot);
	return slot;
}

static bool
locked_by_other(const struct cable_ctaphid *h, uint32_t cid, uint64_t now)
{
	return h->lock_cid != 0 && h->lock_cid != cid && now < h->lock_until;
}

static void
end_assembly(struct cable_ctaphid *h)
{
	h->state = ST_IDLE;
	h->need = h->have = 0;
	h->seq = 0;
}

static void
abort_request(struct cable_ctaphid *h, int reason)
{
	struct cable_ctaphid_event ev = {
		.type = CABLE_CTAPHID_EVENT_ABORT, .cid = h->cid, .request = h->request, .reason = reason};

	h->state = ST_IDLE;
	h->request = 0;
	emit(h, &ev);
}

/* Timers due at now; feed runs them first so that a late packet sees the timeout. */
static void
expire(struct cable_ctaphid *h, uint64_t now)
{
	if (h->state == ST_ASSEMBLING && now >= h->packet_deadline) {
		send_error(h, h->cid, CABLE_CTAPHID_ERR_MSG_TIMEOUT);
		end_assembly(h);
	}
	if (h->state == ST_PENDING && now >= h->request_deadline) {
		if (h->cmd == CABLE_CTAPHID_CBOR) {
			uint8_t st = CABLE_CTAPHID_CTAP2_USER_ACTION_TIMEOUT;

			queue_small(h, h->cid, CABLE_CTAPHID_CBOR, &st, 1);
		} else {
			send_error(h, h->cid, CABLE_CTAPHID_ERR_OTHER);
		}
		abort_request(h, CABLE_ERR_TIMEOUT);
	}
	if (h->state == ST_PENDING && now >= h->next_keepalive) {
		queue_small(h, h->cid, CABLE_CTAPHID_KEEPALIVE, &h->status, 1);
		h->next_keepalive = add_sat(now, h->cfg.keepalive_usec);
	}
	if (h->lock_cid != 0 && now >= h->lock_until)
		h->lock_cid = 0;
}

static void
handle_cancel(struct cable_ctaphid *h, uint32_t cid)
{
	/* Never answered itself; U2F (MSG) has no cancel, so such a request runs on. */
	if (h->state == ST_PENDING && h->cid == cid && h->cmd == CABLE_CTAPHID_CBOR) {
		struct cable_ctaphid_event ev = {
			.type = CABLE_CTAPHID_EVENT_CANCEL, .cid = cid, .request = h->request};
		uint8_t st = CABLE_CTAPHID_CTAP2_KEEPALIVE_CANCEL;

		queue_small(h, cid, CABLE_CTAPHID_CBOR, &st, 1);
		h->state = ST_IDLE;
		h->request = 0;
		emit(h, &ev);
	} else if (h->state == ST_ASSEMBLING && h->cid == cid) {
		end_assembly(h);
	}
}

static void
handle_init(struct cable_ctaphid *h, uint64_t now, uint32_t cid, size_t bcnt, const uint8_t *nonce)
{
	struct channel *ch = NULL;
	uint8_t r[17];

	if (cid != CABLE_CTAPHID_BROADCAST_CID) {
		if ((ch = find_channel(h, cid)) == NULL) {
			send_error(h, cid, CABLE_CTAPHID_ERR_INVALID_CHANNEL);
			return;
		}
		if (locked_by_other(h, cid, now)) {
			send_error(h, cid, CABLE_CTAPHID_ERR_CHANNEL_BUSY);
			return;
		}
	}
	if (bcnt != 8) {
		send_error(h, cid, CABLE_CTAPHID_ERR_INVALID_LEN);
		return;
	}
	if (cid == CABLE_CTAPHID_BROADCAST_CID) {
		if ((ch = alloc_channel(h)) == NULL) {
			send_error(h, cid, CABLE_CTAPHID_ERR_CHANNEL_BUSY);
			return;
		}
	} else {
		/* Resync: drop what this channel had under way. A queued response still goes out whole. */
		if (h->state == ST_ASSEMBLING && h->cid == cid)
			end_assembly(h);
		else if (h->state == ST_PENDING && h->cid == cid)
			abort_request(h, CABLE_ERR_STATE);
		touch(h, ch);
	}
	memcpy(r, nonce, 8);
	put_be32(r + 8, ch->cid);
	r[12] = 2; /* CTAPHID protocol version */
	r[13] = h->cfg.version_major;
	r[14] = h->cfg.version_minor;
	r[15] = h->cfg.version_build;
	r[16] = h->cfg.capabilities;
	queue_small(h, cid, CABLE_CTAPHID_INIT, r, sizeof(r));
}

static void
complete(struct cable_ctaphid *h, uint64_t now)
{
	uint32_t cid = h->cid;
	uint8_t cmd = h->cmd;
	size_t len = h->have;

	end_assembly(h);
	switch (cmd) {
	case CABLE_CTAPHID_PING:
		memcpy(h->out, h->in, len);
		queue_big(h, cid, CABLE_CTAPHID_PING, len);
		break;
	case CABLE_CTAPHID_CBOR:
	case CABLE_CTAPHID_MSG: {
		struct cable_ctaphid_event ev = {.type = CABLE_CTAPHID_EVENT_REQUEST, .cid = cid, .cmd = cmd,
		    .data = h->in, .len = len};

		h->state = ST_PENDING;
		h->cid = cid;
		h->cmd = cmd;
		h->request = ++h->next_request;
		h->status = CABLE_CTAPHID_STATUS_PROCESSING;
		h->next_keepalive = add_sat(now, h->cfg.keepalive_usec);
		h->request_deadline = h->cfg.request_timeout_usec == 0 ?
		    UINT64_MAX : add_sat(now, h->cfg.request_timeout_usec);
		ev.request = h->request;
		emit(h, &ev);
		break;
	}
	case CABLE_CTAPHID_WINK: {
		struct cable_ctaphid_event ev = {.type = CABLE_CTAPHID_EVENT_WINK, .cid = cid};

		queue_small(h, cid, CABLE_CTAPHID_WINK, NULL, 0);
		emit(h, &ev);
		break;
	}
	case CABLE_CTAPHID_LOCK:
		if (h->in[0] > LOCK_MAX_SECONDS) {
			send_error(h, cid, CABLE_CTAPHID_ERR_INVALID_PAR);
			break;
		}
		if (h->in[0] == 0) {
			if (h->lock_cid == cid)
				h->lock_cid = 0;
		} else {
			h->lock_cid = cid;
			h->lock_until = add_sat(now, (uint64_t)h->in[0] * USEC_PER_SEC);
		}
		queue_small(h, cid, CABLE_CTAPHID_LOCK, NULL, 0);
		break;
	default:
		send_error(h, cid, CABLE_CTAPHID_ERR_INVALID_CMD);
		break;
	}
}

/* The CTAPHID error for a command and length, or 0 when the message may be assembled. */
static uint8_t
check_command(const struct cable_ctaphid *h, uint8_t cmd, size_t bcnt)
{
	uint8_t caps = h->cfg.capabilities;

	switch (cmd) {
	case CABLE_CTAPHID_PING:
		break;
	case CABLE_CTAPHID_CBOR:
		if (bcnt == 0)
			return CABLE_CTAPHID_ERR_INVALID_LEN;
		break;
	case CABLE_CTAPHID_MSG:
		if (caps & CABLE_CTAPHID_CAP_NMSG)
			return CABLE_CTAPHID_ERR_INVALID_CMD;
		if (bcnt == 0)
			return CABLE_CTAPHID_ERR_INVALID_LEN;
		break;
	case CABLE_CTAPHID_WINK:
		if (!(caps & CABLE_CTAPHID_CAP_WINK))
			return CABLE_CTAPHID_ERR_INVALID_CMD;
		if (bcnt != 0)
			return CABLE_CTAPHID_ERR_INVALID_LEN;
		break;
	case CABLE_CTAPHID_LOCK:
		if (!(caps & CABLE_CTAPHID_CAP_LOCK))
			return CABLE_CTAPHID_ERR_INVALID_CMD;
		if (bcnt != 1)
			return CABLE_CTAPHID_ERR_INVALID_LEN;
		break;
	default:
		return CABLE_CTAPHID_ERR_INVALID_CMD;
	}
	if (bcnt > h->cfg.max_message)
		return CABLE_CTAPHID_ERR_INVALID_LEN;
	return 0;
}

static void
init_packet(struct cable_ctaphid *h, uint64_t now, uint32_t cid, const uint8_t *p)
{
	uint8_t cmd = p[4] & 0x7f, err;
	size_t bcnt = ((size_t)p[5] << 8) | p[6], n;
	struct channel *ch = NULL;

	if (cmd == CABLE_CTAPHID_CANCEL) {
		handle_cancel(h, cid);
		return;
	}
	if (cid == 0) {
		send_error(h, cid, CABLE_CTAPHID_ERR_INVALID_CHANNEL);
		return;
	}
	if (cmd == CABLE_CTAPHID_INIT) {
		handle_init(h, now, cid, bcnt, p + 7);
		return;
	}
	if (cid == CABLE_CTAPHID_BROADCAST_CID || (ch = find_channel(h, cid)) == NULL) {
		send_error(h, cid, CABLE_CTAPHID_ERR_INVALID_CHANNEL);
		return;
	}
	if (h->state == ST_ASSEMBLING && h->cid == cid) {
		/* A new message while the old one is half there: both are lost. */
		send_error(h, cid, CABLE_CTAPHID_ERR_INVALID_SEQ);
		end_assembly(h);
		return;
	}
	if (h->state != ST_IDLE || locked_by_other(h, cid, now)) {
		send_error(h, cid, CABLE_CTAPHID_ERR_CHANNEL_BUSY);
		return;
	}
	touch(h, ch);
	if ((err = check_command(h, cmd, bcnt)) != 0) {
		send_error(h, cid, err);
		return;
	}
	h->cid = cid;
	h->cmd = cmd;
	h->need = bcnt;
	n = bcnt < CABLE_CTAPHID_INIT_DATA ? bcnt : CABLE_CTAPHID_INIT_DATA;
	memcpy(h->in, p + 7, n);
	h->have = n;
	h->seq = 0;
	if (h->have == h->need) {
		complete(h, now);
		return;
	}
	h->state = ST_ASSEMBLING;
	h->packet_deadline = add_sat(now, h->cfg.packet_timeout_usec);
}

static void
cont_packet(struct cable_ctaphid *h, uint64_t now, uint32_t cid, const uint8_t *p)
{
	size_t n;

	/* Stray continuations (another channel, nothing under way) are dropped without a word. */
	if (h->state != ST_ASSEMBLING || h->cid != cid) {
		h->stats.dropped_in++;
		return;
	}
	if (p[4] != h->seq) {
		send_error(h, cid, CABLE_CTAPHID_ERR_INVALID_SEQ);
		end_assembly(h);
		return;
	}
	n = h->need - h->have;
	if (n > CABLE_CTAPHID_CONT_DATA)
		n = CABLE_CTAPHID_CONT_DATA;
	memcpy(h->in + h->have, p + 5, n);
	h->have += n;
	h->seq++;
	if (h->have == h->need) {
		complete(h, now);
		return;
	}
	h->packet_deadline = add_sat(now, h->cfg.packet_timeout_usec);
}

int
cable_ctaphid_feed(struct cable_ctaphid *h, uint64_t now, const uint8_t *report, size_t len)
{
	uint32_t cid;

	if (h == NULL || report == NULL || len != CABLE_CTAPHID_REPORT_SIZE)
		return h == NULL || report == NULL ? CABLE_ERR_ARG : CABLE_ERR_LENGTH;
	if (h->in_callback)
		return CABLE_ERR_STATE;
	h->stats.reports_in++;
	expire(h, now);
	cid = get_be32(report);
	if (report[4] & 0x80)
		init_packet(h, now, cid, report);
	else
		cont_packet(h, now, cid, report);
	return 0;
}

int
cable_ctaphid_tick(struct cable_ctaphid *h, uint64_t now)
{
	if (h == NULL)
		return CABLE_ERR_ARG;
	if (h->in_callback)
		return CABLE_ERR_STATE;
	expire(h, now);
	return 0;
}

bool
cable_ctaphid_deadline(const struct cable_ctaphid *h, uint64_t *when)
{
	uint64_t t = UINT64_MAX;
	bool any = false;

	if (h == NULL)
		return false;
	if (h->state == ST_ASSEMBLING) {
		t = h->packet_deadline;
		any = true;
	}
	if (h->state == ST_PENDING) {
		t = h->next_keepalive < h->request_deadline ? h->next_keepalive : h->request_deadline;
		any = true;
	}
	if (h->lock_cid != 0) {
		if (h->lock_until < t)
			t = h->lock_until;
		any = true;
	}
	if (any && when != NULL)
		*when = t;
	return any;
}

int
cable_ctaphid_respond(struct cable_ctaphid *h, uint64_t request, const uint8_t *data, size_t len)
{
	if (h == NULL || (data == NULL && len > 0))
		return CABLE_ERR_ARG;
	if (h->state != ST_PENDING || request == 0 || request != h->request)
		return CABLE_ERR_STATE;
	if (len == 0 || len > CABLE_CTAPHID_MAX_MESSAGE)
		return CABLE_ERR_LENGTH;
	memcpy(h->out, data, len);
	h->request = 0;
	queue_big(h, h->cid, h->cmd, len);
	return 0;
}

int
cable_ctaphid_set_status(struct cable_ctaphid *h, uint64_t now, uint64_t request, uint8_t status)
{
	if (h == NULL || (status != CABLE_CTAPHID_STATUS_PROCESSING &&
	    status != CABLE_CTAPHID_STATUS_UPNEEDED))
		return CABLE_ERR_ARG;
	if (h->state != ST_PENDING || request == 0 || request != h->request)
		return CABLE_ERR_STATE;
	if (status != h->status) {
		h->status = status;
		queue_small(h, h->cid, CABLE_CTAPHID_KEEPALIVE, &status, 1);
		h->next_keepalive = add_sat(now, h->cfg.keepalive_usec);
	}
	return 0;
}

int
cable_ctaphid_pop(struct cable_ctaphid *h, uint8_t out[CABLE_CTAPHID_REPORT_SIZE])
{
	struct outmsg *m;
	const uint8_t *data;
	size_t n;

	if (h == NULL || out == NULL || h->q_count == 0)
		return 0;
	m = &h->queue[h->q_head];
	data = m->big ? h->out : m->small;
	memset(out, 0, CABLE_CTAPHID_REPORT_SIZE);
	put_be32(out, m->cid);
	if (!h->q_started) {
		out[4] = 0x80 | m->cmd;
		out[5] = (uint8_t)(m->len >> 8);
		out[6] = (uint8_t)m->len;
		n = m->len < CABLE_CTAPHID_INIT_DATA ? m->len : CABLE_CTAPHID_INIT_DATA;
		memcpy(out + 7, data, n);
		h->q_started = true;
		h->q_seq = 0;
		h->q_off = n;
	} else {
		out[4] = h->q_seq++;
		n = m->len - h->q_off;
		if (n > CABLE_CTAPHID_CONT_DATA)
			n = CABLE_CTAPHID_CONT_DATA;
		memcpy(out + 5, data + h->q_off, n);
		h->q_off += n;
	}
	if (h->q_off >= m->len) {
		if (m->big && h->state == ST_SENDING)
			h->state = ST_IDLE;
		h->q_head = (h->q_head + 1) % QUEUE_LEN;
		h->q_count--;
		h->q_started = false;
		h->q_off = 0;
	}
	h->stats.reports_out++;
	return 1;
}

void
cable_ctaphid_reset(struct cable_ctaphid *h)
{
	if (h == NULL)
		return;
	if (h->state == ST_PENDING && !h->in_callback)
		abort_request(h, CABLE_ERR_CANCELLED);
	end_assembly(h);
	h->request = 0;
	h->lock_cid = 0;
	memset(h->channels, 0, h->cfg.max_channels * sizeof(*h->channels));
	h->q_head = h->q_count = h->q_off = 0;
	h->q_started = false;
	cable_wipe(h->in, sizeof(h->in));
	cable_wipe(h->out, sizeof(h->out));
}

void
cable_ctaphid_get_stats(const struct cable_ctaphid *h, struct cable_ctaphid_stats *st)
{
	if (h != NULL && st != NULL)
		*st = h->stats;
}

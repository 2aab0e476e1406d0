/* Test-only in-memory tunnel server and BLE radio behind the session I/O tables (mem-io.h). */
#include "mem-io.h"

#include <stdlib.h>
#include <string.h>

#include "cable/error.h"

#define MEM_MAX_FAULTS 16
#define MEM_MAX_DATA (1u << 21)

/* ---- Event queues: every callback a session gets is one of these, fired by a loop timer ---- */

enum mem_ev_type {
	EV_OPENED = 1,
	EV_MESSAGE,
	EV_CLOSED,
	EV_PAYLOAD,    /* scanner: service data */
	EV_REGISTERED, /* advertiser */
	EV_ADV_ERROR,  /* advertiser */
};

struct mem_ev {
	struct mem_ev *next;
	enum mem_ev_type type;
	uint64_t due;
	uint8_t *data;
	size_t len;
	uint16_t uuid;
	int err;
	bool has_rid;
	uint8_t rid[3];
};

struct mem_q;
typedef void (*mem_deliver_fn)(struct mem_q *q, struct mem_ev *ev);

struct mem_q {
	struct cable_mem_io *m;
	struct mem_ev *head, *tail;
	struct cable_loop_timer *timer;
	mem_deliver_fn deliver;
};

struct mem_record {
	uint8_t *data;
	size_t len;
	uint16_t uuid;
};

struct mem_log {
	struct mem_record *v;
	size_t n, cap;
};

struct mem_fault {
	enum cable_mem_dir dir;
	unsigned index;
	enum cable_mem_fault_kind kind;
	uint64_t param;
};

struct mem_tunnel;
struct mem_adv;
struct mem_scan;

struct cable_mem_io {
	struct cable_loop *loop;
	struct cable_ble_ops ble;
	struct cable_tunnel_ops tunnel;
	struct cable_session_io io;
	uint64_t latency;
	uint8_t next_rid[3];
	struct mem_fault faults[MEM_MAX_FAULTS];
	size_t nfaults;
	int fail_new, fail_connect, fail_adv, fail_scan;
	bool fail_adv_async, no_rid;
	struct mem_log log[2];
	struct mem_log adverts;
	struct mem_tunnel *tunnels;
	struct mem_adv *advs;
	struct mem_scan *scans;
	int last_domain[2];
	unsigned closes, drops, pending;
};

struct mem_tunnel {
	struct mem_q q; /* first */
	struct mem_tunnel *next;
	struct cable_tunnel_io_cbs cbs;
	void *arg;
	bool is_new;
	uint16_t domain;
	uint8_t tunnel_id[16];
	uint8_t rid[3];
	struct mem_tunnel *peer;
	bool joined;       /* a "new" side that a "connect" side has joined */
	bool closing;      /* close() called: sends fail */
	bool remote_closed; /* the server closed it: closed() is queued, sends are discarded */
	bool done;         /* closed() delivered: no more callbacks */
	struct mem_ev *held_head, *held_tail; /* sent by a "new" side before the peer joined */
};

struct mem_adv {
	struct mem_q q;
	struct mem_adv *next;
	struct cable_ble_adv_cbs cbs;
	void *arg;
	uint16_t uuid;
	uint8_t *data;
	size_t len;
	bool active;
};

struct mem_scan {
	struct mem_q q;
	struct mem_scan *next;
	struct cable_ble_scan_cbs cbs;
	void *arg;
};

static uint64_t
now_usec(struct cable_mem_io *m)
{
	return m->loop->ops->now_usec(m->loop);
}

static void
ev_free(struct mem_ev *ev)
{
	if (ev == NULL)
		return;
	free(ev->data);
	free(ev);
}

static struct mem_ev *
ev_new(enum mem_ev_type type, const uint8_t *data, size_t len)
{
	struct mem_ev *ev;

	if ((ev = calloc(1, sizeof(*ev))) == NULL)
		return NULL;
	ev->type = type;
	if (data != NULL) {
		if ((ev->data = malloc(len > 0 ? len : 1)) == NULL) {
			free(ev);
			return NULL;
		}
		memcpy(ev->data, data, len);
		ev->len = len;
	}
	return ev;
}

static void q_fire(void *arg);

static void
q_arm(struct mem_q *q)
{
	struct cable_mem_io *m = q->m;
	uint64_t now, delay;

	if (q->timer != NULL || q->head == NULL)
		return;
	now = now_usec(m);
	delay = q->head->due > now ? q->head->due - now : 0;
	/* A failure here would lose a delivery: tests then time out, which is what they should see. */
	(void)m->loop->ops->timer_add(m->loop, delay, q_fire, q, &q->timer);
}

/* Queues ev behind everything already queued: delivery order is sending order. */
static void
q_push(struct mem_q *q, struct mem_ev *ev, uint64_t extra_delay)
{
	struct cable_mem_io *m = q->m;
	uint64_t due = now_usec(m) + m->latency + extra_delay;

	if (q->tail != NULL && q->tail->due > due)
		due = q->tail->due;
	ev->due = due;
	ev->next = NULL;
	if (q->tail != NULL)
		q->tail->next = ev;
	else
		q->head = ev;
	q->tail = ev;
	m->pending++;
	q_arm(q);
}

static void
q_clear(struct mem_q *q)
{
	struct mem_ev *ev, *next;

	q->m->loop->ops->timer_del(&q->timer);
	for (ev = q->head; ev != NULL; ev = next) {
		next = ev->next;
		ev_free(ev);
		q->m->pending--;
	}
	q->head = q->tail = NULL;
}

static void
q_fire(void *arg)
{
	struct mem_q *q = arg;
	struct mem_ev *ev = q->head;

	/* A fired timer is still ours to free on the lws loop; the poll loop accepts the del too. */
	q->m->loop->ops->timer_del(&q->timer);
	if (ev == NULL)
		return;
	q->head = ev->next;
	if (q->head == NULL)
		q->tail = NULL;
	q->m->pending--;
	q_arm(q);
	/* The callback may free the owner of q: q is not touched after this. */
	q->deliver(q, ev);
	ev_free(ev);
}

static int
log_add(struct mem_log *l, const uint8_t *data, size_t len, uint16_t uuid)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct mem_record *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return CABLE_ERR_NOMEM;
		l->v = v;
		l->cap = cap;
	}
	if ((l->v[l->n].data = malloc(len > 0 ? len : 1)) == NULL)
		return CABLE_ERR_NOMEM;
	memcpy(l->v[l->n].data, data, len);
	l->v[l->n].len = len;
	l->v[l->n].uuid = uuid;
	l->n++;
	return 0;
}

static void
log_free(struct mem_log *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].data);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---- Tunnel server ---- */

static void
tunnel_deliver(struct mem_q *q, struct mem_ev *ev)
{
	struct mem_tunnel *t = (struct mem_tunnel *)(void *)q;

	if (t->done)
		return;
	switch (ev->type) {
	case EV_OPENED:
		if (t->cbs.opened != NULL)
			t->cbs.opened(t->arg, ev->has_rid ? ev->rid : NULL);
		break;
	case EV_MESSAGE:
		t->cbs.message(t->arg, ev->data, ev->len);
		break;
	case EV_CLOSED:
		t->done = true;
		t->cbs.closed(t->arg, ev->err);
		break;
	default:
		break;
	}
}

static void
tunnel_push_closed(struct mem_tunnel *t, int err)
{
	struct mem_ev *ev;

	if (t->remote_closed)
		return;
	if ((ev = ev_new(EV_CLOSED, NULL, 0)) == NULL)
		return;
	ev->err = err;
	t->remote_closed = true;
	q_push(&t->q, ev, 0);
}

static void
tunnel_unlink_peer(struct mem_tunnel *t)
{
	if (t->peer != NULL) {
		t->peer->peer = NULL;
		t->peer = NULL;
	}
}

static struct mem_tunnel *
tunnel_new(struct cable_mem_io *m, const struct cable_tunnel_io_cbs *cbs, void *arg)
{
	struct mem_tunnel *t;

	if (cbs == NULL || cbs->message == NULL || cbs->closed == NULL)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->q.m = m;
	t->q.deliver = tunnel_deliver;
	t->cbs = *cbs;
	t->arg = arg;
	t->next = m->tunnels;
	m->tunnels = t;
	return t;
}

static int
mem_open_new(void *ctx, uint16_t domain_id, const uint8_t tunnel_id[16],
    const struct cable_tunnel_io_cbs *cbs, void *arg, void **handle)
{
	struct cable_mem_io *m = ctx;
	struct mem_tunnel *t;
	struct mem_ev *ev;

	if (tunnel_id == NULL || handle == NULL)
		return CABLE_ERR_ARG;
	if ((t = tunnel_new(m, cbs, arg)) == NULL)
		return CABLE_ERR_NOMEM;
	t->is_new = true;
	t->domain = domain_id;
	memcpy(t->tunnel_id, tunnel_id, 16);
	memcpy(t->rid, m->next_rid, 3);
	m->last_domain[0] = domain_id;
	/* Each new tunnel gets a different routing ID, as a server with several shards might. */
	for (int i = 2; i >= 0 && ++m->next_rid[i] == 0; i--)
		;
	*handle = t;
	if (m->fail_new != 0) {
		tunnel_push_closed(t, m->fail_new);
		return 0;
	}
	if ((ev = ev_new(EV_OPENED, NULL, 0)) == NULL)
		return 0;
	ev->has_rid = !m->no_rid;
	memcpy(ev->rid, t->rid, 3);
	q_push(&t->q, ev, 0);
	return 0;
}

static struct mem_tunnel *
find_new(struct cable_mem_io *m, uint16_t domain, const uint8_t rid[3], const uint8_t tid[16])
{
	for (struct mem_tunnel *t = m->tunnels; t != NULL; t = t->next)
		if (t->is_new && !t->joined && !t->closing && !t->remote_closed && t->domain == domain &&
		    memcmp(t->rid, rid, 3) == 0 && memcmp(t->tunnel_id, tid, 16) == 0)
			return t;
	return NULL;
}

static int
mem_open_connect(void *ctx, uint16_t domain_id, const uint8_t routing_id[3],
    const uint8_t tunnel_id[16], const struct cable_tunnel_io_cbs *cbs, void *arg, void **handle)
{
	struct cable_mem_io *m = ctx;
	struct mem_tunnel *t, *peer;
	struct mem_ev *ev, *next;

	if (routing_id == NULL || tunnel_id == NULL || handle == NULL)
		return CABLE_ERR_ARG;
	if ((t = tunnel_new(m, cbs, arg)) == NULL)
		return CABLE_ERR_NOMEM;
	t->domain = domain_id;
	memcpy(t->tunnel_id, tunnel_id, 16);
	memcpy(t->rid, routing_id, 3);
	m->last_domain[1] = domain_id;
	*handle = t;
	if (m->fail_connect != 0) {
		tunnel_push_closed(t, m->fail_connect);
		return 0;
	}
	/* Like cable-tunneld: an unknown tunnel is refused (404). */
	if ((peer = find_new(m, domain_id, routing_id, tunnel_id)) == NULL) {
		tunnel_push_closed(t, CABLE_ERR_TUNNEL_HTTP);
		return 0;
	}
	peer->joined = true;
	peer->peer = t;
	t->peer = peer;
	if ((ev = ev_new(EV_OPENED, NULL, 0)) != NULL)
		q_push(&t->q, ev, 0);
	/* What the phone sent before anyone joined now goes to the desktop. */
	for (ev = peer->held_head; ev != NULL; ev = next) {
		next = ev->next;
		m->pending--;
		q_push(&t->q, ev, 0);
	}
	peer->held_head = peer->held_tail = NULL;
	return 0;
}

static const struct mem_fault *
fault_for(struct cable_mem_io *m, enum cable_mem_dir dir, size_t index)
{
	for (size_t i = 0; i < m->nfaults; i++)
		if (m->faults[i].dir == dir && m->faults[i].index == index)
			return &m->faults[i];
	return NULL;
}

/* The server closes both sides normally (as cable-tunneld does when one side breaks a rule). */
static void
server_close(struct mem_tunnel *t)
{
	struct mem_tunnel *p = t->peer;

	tunnel_unlink_peer(t);
	tunnel_push_closed(t, 0);
	if (p != NULL)
		tunnel_push_closed(p, 0);
}

static int
mem_send(void *handle, const uint8_t *data, size_t len)
{
	struct mem_tunnel *t = handle;
	struct cable_mem_io *m;
	const struct mem_fault *f;
	enum cable_mem_dir dir;
	struct mem_ev *ev;
	uint64_t delay = 0;
	size_t index;
	int copies = 1;

	if (t == NULL || (data == NULL && len > 0))
		return CABLE_ERR_ARG;
	if (t->closing || t->done)
		return CABLE_ERR_STATE;
	if (t->remote_closed)
		return 0; /* the connection is going away: the data is lost, as on a real socket */
	if (len == 0 || len > MEM_MAX_DATA)
		return CABLE_ERR_TOO_BIG;
	m = t->q.m;
	dir = t->is_new ? CABLE_MEM_TO_DESKTOP : CABLE_MEM_TO_PHONE;
	index = m->log[dir].n;
	if (log_add(&m->log[dir], data, len, 0) != 0)
		return CABLE_ERR_NOMEM;
	if ((ev = ev_new(EV_MESSAGE, data, len)) == NULL)
		return CABLE_ERR_NOMEM;
	if ((f = fault_for(m, dir, index)) != NULL) {
		switch (f->kind) {
		case CABLE_MEM_DROP:
			ev_free(ev);
			return 0;
		case CABLE_MEM_DUPLICATE:
			copies = 2;
			break;
		case CABLE_MEM_CORRUPT:
			ev->data[f->param % len] ^= 0x01;
			break;
		case CABLE_MEM_TRUNCATE:
			ev->len = f->param > 0 && f->param < len ? (size_t)f->param : 1;
			break;
		case CABLE_MEM_DELAY:
			delay = f->param;
			break;
		case CABLE_MEM_CLOSE:
			ev_free(ev);
			server_close(t);
			return 0;
		}
	}
	for (int i = 0; i < copies; i++) {
		struct mem_ev *e = ev;

		if (i > 0 && (e = ev_new(EV_MESSAGE, ev->data, ev->len)) == NULL)
			break;
		if (t->peer != NULL) {
			q_push(&t->peer->q, e, delay);
		} else if (t->is_new && !t->joined) {
			/* Held until a desktop joins, as the server buffers for an absent peer. */
			e->next = NULL;
			if (t->held_tail != NULL)
				t->held_tail->next = e;
			else
				t->held_head = e;
			t->held_tail = e;
			m->pending++;
		} else {
			ev_free(e); /* the peer has left: the server discards it */
		}
	}
	return 0;
}

static void
drop_held(struct mem_tunnel *t)
{
	struct mem_ev *ev, *next;

	for (ev = t->held_head; ev != NULL; ev = next) {
		next = ev->next;
		ev_free(ev);
		t->q.m->pending--;
	}
	t->held_head = t->held_tail = NULL;
}

static void
mem_close(void *handle)
{
	struct mem_tunnel *t = handle;
	struct mem_ev **pp, *ev;

	if (t == NULL || t->closing || t->done)
		return;
	t->q.m->closes++;
	if (t->remote_closed) {
		t->closing = true;
		return; /* closed() is already on its way */
	}
	/* What is queued for this side and not yet delivered is dropped with the connection. */
	for (pp = &t->q.head; (ev = *pp) != NULL;) {
		if (ev->type == EV_MESSAGE) {
			*pp = ev->next;
			ev_free(ev);
			t->q.m->pending--;
		} else
			pp = &ev->next;
	}
	t->q.tail = NULL;
	for (ev = t->q.head; ev != NULL; ev = ev->next)
		t->q.tail = ev;
	if (t->q.head == NULL)
		t->q.m->loop->ops->timer_del(&t->q.timer);
	/* The peer reads what was already relayed, then a normal close ("peer left"). */
	if (t->peer != NULL) {
		struct mem_tunnel *p = t->peer;

		tunnel_unlink_peer(t);
		tunnel_push_closed(p, 0);
	}
	drop_held(t);
	tunnel_push_closed(t, 0);
	t->closing = true;
}

static void
mem_free(void **handle)
{
	struct mem_tunnel *t, **pp;
	struct cable_mem_io *m;

	if (handle == NULL || (t = *handle) == NULL)
		return;
	m = t->q.m;
	if (!t->closing && !t->done && !t->remote_closed)
		m->drops++;
	if (t->peer != NULL) {
		struct mem_tunnel *p = t->peer;

		tunnel_unlink_peer(t);
		tunnel_push_closed(p, 0);
	}
	q_clear(&t->q);
	drop_held(t);
	for (pp = &m->tunnels; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	free(t);
	*handle = NULL;
}

/* ---- Radio ---- */

static void
scan_deliver(struct mem_q *q, struct mem_ev *ev)
{
	struct mem_scan *s = (struct mem_scan *)(void *)q;

	if (ev->type == EV_PAYLOAD)
		s->cbs.payload(s->arg, ev->uuid, ev->data, ev->len, "02:CA:B1:E0:00:01", -50);
	else if (ev->type == EV_ADV_ERROR)
		s->cbs.error(s->arg, ev->err);
}

static void
adv_deliver(struct mem_q *q, struct mem_ev *ev)
{
	struct mem_adv *a = (struct mem_adv *)(void *)q;

	if (ev->type == EV_REGISTERED) {
		if (a->cbs.registered != NULL)
			a->cbs.registered(a->arg);
	} else if (ev->type == EV_ADV_ERROR) {
		a->active = false;
		a->cbs.error(a->arg, ev->err);
	}
}

static void
scan_push(struct mem_scan *s, const struct mem_adv *a)
{
	struct mem_ev *ev;

	if ((ev = ev_new(EV_PAYLOAD, a->data, a->len)) == NULL)
		return;
	ev->uuid = a->uuid;
	q_push(&s->q, ev, 0);
}

static int
mem_scan_start(void *ctx, const struct cable_ble_scan_cbs *cbs, void *arg, void **handle)
{
	struct cable_mem_io *m = ctx;
	struct mem_scan *s;

	if (cbs == NULL || cbs->payload == NULL || cbs->error == NULL || handle == NULL)
		return CABLE_ERR_ARG;
	if (m->fail_scan != 0)
		return m->fail_scan;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return CABLE_ERR_NOMEM;
	s->q.m = m;
	s->q.deliver = scan_deliver;
	s->cbs = *cbs;
	s->arg = arg;
	s->next = m->scans;
	m->scans = s;
	for (struct mem_adv *a = m->advs; a != NULL; a = a->next)
		if (a->active)
			scan_push(s, a);
	*handle = s;
	return 0;
}

static void
mem_scan_stop(void *ctx, void **handle)
{
	struct cable_mem_io *m = ctx;
	struct mem_scan *s, **pp;

	if (handle == NULL || (s = *handle) == NULL)
		return;
	q_clear(&s->q);
	for (pp = &m->scans; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	free(s);
	*handle = NULL;
}

static int
mem_advertise_start(void *ctx, uint16_t uuid16, const uint8_t *data, size_t len,
    const struct cable_ble_adv_cbs *cbs, void *arg, void **handle)
{
	struct cable_mem_io *m = ctx;
	struct mem_adv *a;
	struct mem_ev *ev;

	if (cbs == NULL || cbs->error == NULL || handle == NULL || data == NULL || len == 0 ||
	    len > 251)
		return CABLE_ERR_ARG;
	if (m->fail_adv != 0 && !m->fail_adv_async)
		return m->fail_adv;
	if (log_add(&m->adverts, data, len, uuid16) != 0)
		return CABLE_ERR_NOMEM;
	if ((a = calloc(1, sizeof(*a))) == NULL || (a->data = malloc(len)) == NULL) {
		free(a);
		return CABLE_ERR_NOMEM;
	}
	a->q.m = m;
	a->q.deliver = adv_deliver;
	a->cbs = *cbs;
	a->arg = arg;
	a->uuid = uuid16;
	memcpy(a->data, data, len);
	a->len = len;
	a->next = m->advs;
	m->advs = a;
	*handle = a;
	if (m->fail_adv != 0) {
		if ((ev = ev_new(EV_ADV_ERROR, NULL, 0)) != NULL) {
			ev->err = m->fail_adv;
			q_push(&a->q, ev, 0);
		}
		return 0;
	}
	a->active = true;
	if ((ev = ev_new(EV_REGISTERED, NULL, 0)) != NULL)
		q_push(&a->q, ev, 0);
	for (struct mem_scan *s = m->scans; s != NULL; s = s->next)
		scan_push(s, a);
	return 0;
}

static void
mem_advertise_stop(void *ctx, void **handle)
{
	struct cable_mem_io *m = ctx;
	struct mem_adv *a, **pp;

	if (handle == NULL || (a = *handle) == NULL)
		return;
	q_clear(&a->q);
	for (pp = &m->advs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	free(a->data);
	free(a);
	*handle = NULL;
}

/* ---- Object ---- */

struct cable_mem_io *
cable_mem_io_new(struct cable_loop *loop)
{
	struct cable_mem_io *m;

	if (loop == NULL || (m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->loop = loop;
	m->next_rid[0] = 0xa1;
	m->next_rid[1] = 0xb2;
	m->next_rid[2] = 0xc3;
	m->last_domain[0] = m->last_domain[1] = -1;
	m->ble = (struct cable_ble_ops){m, mem_scan_start, mem_scan_stop, mem_advertise_start,
	    mem_advertise_stop};
	m->tunnel = (struct cable_tunnel_ops){m, mem_open_new, mem_open_connect, mem_send, mem_close,
	    mem_free};
	m->io = (struct cable_session_io){loop, &m->ble, &m->tunnel};
	return m;
}

void
cable_mem_io_free(struct cable_mem_io **mp)
{
	struct cable_mem_io *m;

	if (mp == NULL || (m = *mp) == NULL)
		return;
	/* Leftovers (a test that failed half-way) are released so sanitizers stay quiet. */
	while (m->tunnels != NULL) {
		void *h = m->tunnels;
		mem_free(&h);
	}
	while (m->advs != NULL) {
		void *h = m->advs;
		mem_advertise_stop(m, &h);
	}
	while (m->scans != NULL) {
		void *h = m->scans;
		mem_scan_stop(m, &h);
	}
	log_free(&m->log[0]);
	log_free(&m->log[1]);
	log_free(&m->adverts);
	free(m);
	*mp = NULL;
}

const struct cable_session_io *
cable_mem_io_get(struct cable_mem_io *m)
{
	return m != NULL ? &m->io : NULL;
}

void
cable_mem_io_set_latency(struct cable_mem_io *m, uint64_t usec)
{
	m->latency = usec;
}

void
cable_mem_io_set_routing_id(struct cable_mem_io *m, const uint8_t rid[3])
{
	memcpy(m->next_rid, rid, 3);
}

int
cable_mem_io_fault(struct cable_mem_io *m, enum cable_mem_dir dir, unsigned index,
    enum cable_mem_fault_kind kind, uint64_t param)
{
	if (m->nfaults == MEM_MAX_FAULTS)
		return CABLE_ERR_TOO_BIG;
	m->faults[m->nfaults++] = (struct mem_fault){dir, index, kind, param};
	return 0;
}

void
cable_mem_io_fail_open_new(struct cable_mem_io *m, int err)
{
	m->fail_new = err;
}

void
cable_mem_io_fail_open_connect(struct cable_mem_io *m, int err)
{
	m->fail_connect = err;
}

void
cable_mem_io_no_routing_id(struct cable_mem_io *m, bool on)
{
	m->no_rid = on;
}

void
cable_mem_io_fail_advertise(struct cable_mem_io *m, int err, bool async)
{
	m->fail_adv = err;
	m->fail_adv_async = async;
}

void
cable_mem_io_fail_scan(struct cable_mem_io *m, int err)
{
	m->fail_scan = err;
}

size_t
cable_mem_io_count(const struct cable_mem_io *m, enum cable_mem_dir dir)
{
	return m->log[dir].n;
}

int
cable_mem_io_message(const struct cable_mem_io *m, enum cable_mem_dir dir, size_t i,
    const uint8_t **data, size_t *len)
{
	if (i >= m->log[dir].n)
		return CABLE_ERR_ARG;
	*data = m->log[dir].v[i].data;
	*len = m->log[dir].v[i].len;
	return 0;
}

size_t
cable_mem_io_advert_count(const struct cable_mem_io *m)
{
	return m->adverts.n;
}

int
cable_mem_io_advert(const struct cable_mem_io *m, size_t i, uint16_t *uuid16, const uint8_t **data,
    size_t *len)
{
	if (i >= m->adverts.n)
		return CABLE_ERR_ARG;
	if (uuid16 != NULL)
		*uuid16 = m->adverts.v[i].uuid;
	*data = m->adverts.v[i].data;
	*len = m->adverts.v[i].len;
	return 0;
}

unsigned
cable_mem_io_adverts_active(const struct cable_mem_io *m)
{
	unsigned n = 0;

	for (const struct mem_adv *a = m->advs; a != NULL; a = a->next)
		n += a->active;
	return n;
}

unsigned
cable_mem_io_scanners_active(const struct cable_mem_io *m)
{
	unsigned n = 0;

	for (const struct mem_scan *s = m->scans; s != NULL; s = s->next)
		n++;
	return n;
}

unsigned
cable_mem_io_tunnels_alive(const struct cable_mem_io *m)
{
	unsigned n = 0;

	for (const struct mem_tunnel *t = m->tunnels; t != NULL; t = t->next)
		n++;
	return n;
}

int
cable_mem_io_last_domain(const struct cable_mem_io *m, bool connect)
{
	return m->last_domain[connect ? 1 : 0];
}

unsigned
cable_mem_io_closes(const struct cable_mem_io *m)
{
	return m->closes;
}

unsigned
cable_mem_io_drops(const struct cable_mem_io *m)
{
	return m->drops;
}

unsigned
cable_mem_io_pending(const struct cable_mem_io *m)
{
	return m->pending;
}

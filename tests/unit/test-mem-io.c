/*
 * The in-memory session I/O used by session tests: tunnel relay order, asynchronous delivery,
 * closes, refused opens, fault hooks and the radio.
 */
#include <stdlib.h>
#include <string.h>

#include "cable/error.h"
#include "loop-poll.h"
#include "mem-io.h"
#include "tv.h"

struct end {
	void *h;
	bool opened;
	bool has_rid;
	uint8_t rid[3];
	int closed; /* 0 not yet; 1 + err code offset */
	int close_err;
	unsigned n;
	uint8_t msgs[8][64];
	size_t lens[8];
	const struct cable_tunnel_ops *ops;
	bool echo; /* answer each message with its first byte + 1 */
};

static int depth;
static struct cable_loop_poll *lp;
static struct cable_mem_io *mio;
static const struct cable_session_io *io;

static void
on_opened(void *arg, const uint8_t *rid)
{
	struct end *e = arg;

	e->opened = true;
	if (rid != NULL) {
		e->has_rid = true;
		memcpy(e->rid, rid, 3);
	}
}

static void
on_message(void *arg, const uint8_t *data, size_t len)
{
	struct end *e = arg;

	/* Delivery never happens inside a send() made from a callback (no re-entrancy). */
	assert_int_equal(depth, 0);
	depth++;
	if (e->n < 8 && len <= 64) {
		memcpy(e->msgs[e->n], data, len);
		e->lens[e->n] = len;
	}
	e->n++;
	if (e->echo) {
		uint8_t b = (uint8_t)(data[0] + 1);
		assert_int_equal(e->ops->send(e->h, &b, 1), 0);
	}
	depth--;
}

static void
on_closed(void *arg, int err)
{
	struct end *e = arg;

	e->closed++;
	e->close_err = err;
}

static const struct cable_tunnel_io_cbs cbs = {on_opened, on_message, on_closed};
static const uint8_t tid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static int
setup(void **state)
{
	(void)state;
	lp = cable_loop_poll_new();
	assert_non_null(lp);
	mio = cable_mem_io_new(cable_loop_poll_loop(lp));
	assert_non_null(mio);
	io = cable_mem_io_get(mio);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	cable_mem_io_free(&mio);
	cable_loop_poll_free(&lp);
	return 0;
}

/* Runs the loop until nothing is pending (bounded). */
static void
settle(void)
{
	for (int i = 0; i < 200 && cable_mem_io_pending(mio) > 0; i++)
		assert_int_equal(cable_loop_poll_once(lp, 100000), 0);
	assert_int_equal(cable_mem_io_pending(mio), 0);
}

static void
open_pair(struct end *p, struct end *d)
{
	memset(p, 0, sizeof(*p));
	memset(d, 0, sizeof(*d));
	p->ops = d->ops = io->tunnel;
	assert_int_equal(io->tunnel->open_new(io->tunnel->ctx, 7, tid, &cbs, p, &p->h), 0);
	assert_false(p->opened); /* never synchronous */
	settle();
	assert_true(p->opened);
	assert_true(p->has_rid);
	assert_int_equal(io->tunnel->open_connect(io->tunnel->ctx, 7, p->rid, tid, &cbs, d, &d->h), 0);
	settle();
	assert_true(d->opened);
	assert_false(d->has_rid);
}

static void
test_relay_both_ways(void **state)
{
	struct end p, d;

	(void)state;
	open_pair(&p, &d);
	assert_int_equal(cable_mem_io_last_domain(mio, false), 7);
	p.echo = true;
	for (uint8_t i = 0; i < 5; i++)
		assert_int_equal(io->tunnel->send(d.h, (uint8_t[]){(uint8_t)(10 * i), 0xee}, 2), 0);
	assert_int_equal(p.n, 0);
	settle();
	assert_int_equal(p.n, 5);
	assert_int_equal(d.n, 5);
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(p.msgs[i][0], 10 * i);
		assert_int_equal(p.lens[i], 2);
		assert_int_equal(d.msgs[i][0], 10 * i + 1);
	}
	assert_int_equal(cable_mem_io_count(mio, CABLE_MEM_TO_PHONE), 5);
	assert_int_equal(cable_mem_io_count(mio, CABLE_MEM_TO_DESKTOP), 5);
	/* Phone closes: the desktop gets closed(0), the phone its own closed(0). */
	io->tunnel->close(p.h);
	assert_int_equal(io->tunnel->send(p.h, (const uint8_t *)"x", 1), CABLE_ERR_STATE);
	settle();
	assert_int_equal(p.closed, 1);
	assert_int_equal(d.closed, 1);
	assert_int_equal(d.close_err, 0);
	assert_int_equal(cable_mem_io_closes(mio), 1);
	io->tunnel->free(&p.h);
	io->tunnel->free(&d.h);
	assert_null(p.h);
	assert_int_equal(cable_mem_io_tunnels_alive(mio), 0);
	assert_int_equal(cable_mem_io_drops(mio), 0);
}

static void
test_refused(void **state)
{
	struct end p, d;
	uint8_t rid[3] = {0xa1, 0xb2, 0xc3};

	(void)state;
	memset(&d, 0, sizeof(d));
	/* Nobody made this tunnel: 404, as cable-tunneld answers. */
	assert_int_equal(io->tunnel->open_connect(io->tunnel->ctx, 0, rid, tid, &cbs, &d, &d.h), 0);
	settle();
	assert_false(d.opened);
	assert_int_equal(d.closed, 1);
	assert_int_equal(d.close_err, CABLE_ERR_TUNNEL_HTTP);
	io->tunnel->free(&d.h);

	memset(&p, 0, sizeof(p));
	cable_mem_io_fail_open_new(mio, CABLE_ERR_TUNNEL_CONNECT);
	assert_int_equal(io->tunnel->open_new(io->tunnel->ctx, 0, tid, &cbs, &p, &p.h), 0);
	settle();
	assert_false(p.opened);
	assert_int_equal(p.close_err, CABLE_ERR_TUNNEL_CONNECT);
	io->tunnel->free(&p.h);
	cable_mem_io_fail_open_new(mio, 0);

	memset(&p, 0, sizeof(p));
	cable_mem_io_no_routing_id(mio, true);
	assert_int_equal(io->tunnel->open_new(io->tunnel->ctx, 0, tid, &cbs, &p, &p.h), 0);
	settle();
	assert_true(p.opened);
	assert_false(p.has_rid);
	io->tunnel->free(&p.h);
	assert_int_equal(cable_mem_io_drops(mio), 1);
}

static void
test_faults(void **state)
{
	struct end p, d;

	(void)state;
	assert_int_equal(cable_mem_io_fault(mio, CABLE_MEM_TO_PHONE, 0, CABLE_MEM_DROP, 0), 0);
	assert_int_equal(cable_mem_io_fault(mio, CABLE_MEM_TO_PHONE, 1, CABLE_MEM_DUPLICATE, 0), 0);
	assert_int_equal(cable_mem_io_fault(mio, CABLE_MEM_TO_PHONE, 2, CABLE_MEM_CORRUPT, 1), 0);
	assert_int_equal(cable_mem_io_fault(mio, CABLE_MEM_TO_PHONE, 3, CABLE_MEM_TRUNCATE, 2), 0);
	assert_int_equal(cable_mem_io_fault(mio, CABLE_MEM_TO_PHONE, 4, CABLE_MEM_DELAY, 30000), 0);
	assert_int_equal(cable_mem_io_fault(mio, CABLE_MEM_TO_DESKTOP, 0, CABLE_MEM_CLOSE, 0), 0);
	open_pair(&p, &d);
	for (uint8_t i = 0; i < 6; i++)
		assert_int_equal(io->tunnel->send(d.h, (uint8_t[]){i, 0x10, 0x20, 0x30}, 4), 0);
	{
		uint64_t t0 = cable_loop_poll_loop(lp)->ops->now_usec(cable_loop_poll_loop(lp));
		settle();
		/* The delayed message held everything behind it: order is kept. */
		assert_true(cable_loop_poll_loop(lp)->ops->now_usec(cable_loop_poll_loop(lp)) - t0 >= 30000);
	}
	assert_int_equal(p.n, 6); /* 0 dropped, 1 twice */
	assert_int_equal(p.msgs[0][0], 1);
	assert_int_equal(p.msgs[1][0], 1);
	assert_int_equal(p.msgs[2][0], 2);
	assert_int_equal(p.msgs[2][1], 0x11);
	assert_int_equal(p.lens[3], 2);
	assert_int_equal(p.msgs[4][0], 4);
	assert_int_equal(p.msgs[5][0], 5);
	/* The recorded messages are as sent. */
	{
		const uint8_t *data;
		size_t len;
		assert_int_equal(cable_mem_io_message(mio, CABLE_MEM_TO_PHONE, 2, &data, &len), 0);
		assert_int_equal(len, 4);
		assert_int_equal(data[1], 0x10);
	}
	/* The server closes both sides instead of relaying the phone's first message. */
	assert_int_equal(io->tunnel->send(p.h, (const uint8_t *)"z", 1), 0);
	settle();
	assert_int_equal(d.n, 0);
	assert_int_equal(d.closed, 1);
	assert_int_equal(p.closed, 1);
	io->tunnel->free(&p.h);
	io->tunnel->free(&d.h);
}

static void
test_drop_reaches_peer(void **state)
{
	struct end p, d;

	(void)state;
	open_pair(&p, &d);
	assert_int_equal(io->tunnel->send(p.h, (const uint8_t *)"ab", 2), 0);
	io->tunnel->free(&p.h);
	settle();
	/* Already relayed data arrives, then the server's normal close. */
	assert_int_equal(d.n, 1);
	assert_int_equal(d.closed, 1);
	assert_int_equal(cable_mem_io_drops(mio), 1);
	io->tunnel->free(&d.h);
}

struct scanner {
	unsigned n;
	uint16_t uuid;
	uint8_t data[32];
	size_t len;
	int err;
};

static void
scan_payload(void *arg, uint16_t uuid16, const uint8_t *data, size_t len, const char *address, int rssi)
{
	struct scanner *s = arg;

	(void)address;
	(void)rssi;
	s->n++;
	s->uuid = uuid16;
	s->len = len;
	memcpy(s->data, data, len < 32 ? len : 32);
}

static void
scan_error(void *arg, int code)
{
	((struct scanner *)arg)->err = code;
}

static void
adv_registered(void *arg)
{
	(*(int *)arg)++;
}

static void
adv_error(void *arg, int code)
{
	(*(int *)arg) = code;
}

static void
test_radio(void **state)
{
	static const struct cable_ble_scan_cbs scbs = {scan_payload, scan_error};
	static const struct cable_ble_adv_cbs acbs = {adv_registered, adv_error};
	struct scanner s1, s2;
	void *h1 = NULL, *h2 = NULL, *ha = NULL;
	uint8_t adv[20];
	int reg = 0, err = 0;

	(void)state;
	memset(&s1, 0, sizeof(s1));
	memset(&s2, 0, sizeof(s2));
	for (int i = 0; i < 20; i++)
		adv[i] = (uint8_t)(0x40 + i);
	assert_int_equal(io->ble->scan_start(io->ble->ctx, &scbs, &s1, &h1), 0);
	assert_int_equal(io->ble->advertise_start(io->ble->ctx, 0xfff9, adv, 20, &acbs, &reg, &ha), 0);
	assert_int_equal(s1.n, 0);
	settle();
	assert_int_equal(reg, 1);
	assert_int_equal(s1.n, 1);
	assert_int_equal(s1.uuid, 0xfff9);
	assert_int_equal(s1.len, 20);
	assert_memory_equal(s1.data, adv, 20);
	/* A scanner that starts later still hears the advert on air. */
	assert_int_equal(io->ble->scan_start(io->ble->ctx, &scbs, &s2, &h2), 0);
	settle();
	assert_int_equal(s2.n, 1);
	assert_int_equal(cable_mem_io_adverts_active(mio), 1);
	io->ble->advertise_stop(io->ble->ctx, &ha);
	assert_null(ha);
	assert_int_equal(cable_mem_io_adverts_active(mio), 0);
	assert_int_equal(cable_mem_io_advert_count(mio), 1);
	io->ble->scan_stop(io->ble->ctx, &h1);
	io->ble->scan_stop(io->ble->ctx, &h2);
	assert_int_equal(cable_mem_io_scanners_active(mio), 0);

	/* Refusals, synchronous and asynchronous. */
	cable_mem_io_fail_advertise(mio, CABLE_ERR_BT_ADVERTISE, false);
	assert_int_equal(io->ble->advertise_start(io->ble->ctx, 0xfff9, adv, 20, &acbs, &err, &ha),
	    CABLE_ERR_BT_ADVERTISE);
	cable_mem_io_fail_advertise(mio, CABLE_ERR_BT_NOT_POWERED, true);
	assert_int_equal(io->ble->advertise_start(io->ble->ctx, 0xfff9, adv, 20, &acbs, &err, &ha), 0);
	settle();
	assert_int_equal(err, CABLE_ERR_BT_NOT_POWERED);
	io->ble->advertise_stop(io->ble->ctx, &ha);
	cable_mem_io_fail_scan(mio, CABLE_ERR_BT_NO_ADAPTER);
	assert_int_equal(io->ble->scan_start(io->ble->ctx, &scbs, &s1, &h1), CABLE_ERR_BT_NO_ADAPTER);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_relay_both_ways, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_reaches_peer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_radio, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

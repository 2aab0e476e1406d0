/*
 * cable_bus_loop (include/cable/bus-loop.h) on a peer-to-peer sd-bus over a socketpair, served by
 * the test poll loop: calls and replies, freeing from inside a handler, yield and the after
 * callback, a lost peer, and no timers left behind.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cable/bus-loop.h"
#include "cable/error.h"
#include "loop-poll.h"
#include "tv.h"

#define TPATH "/t"
#define TIFACE "org.cablebridge.Test"

struct side {
	sd_bus *bus;
	struct cable_bus_loop *w;
	int lost, lost_err, after, pings, signals, replies;
	bool free_in_ping;  /* free the watch from inside the method handler */
	bool yield_in_signal;
	int after_at_signal[8];
	struct cable_loop *loop;
	bool quit_on_reply;
};

struct fx {
	struct cable_loop_poll *lp;
	struct cable_loop *loop;
	struct side srv, cli;
};

static void
on_lost(void *arg, int err)
{
	struct side *s = arg;

	s->lost++;
	s->lost_err = err;
	cable_bus_loop_free(&s->w);
	s->loop->ops->quit(s->loop, 7);
}

static void
on_after(void *arg)
{
	((struct side *)arg)->after++;
}

static int
m_ping(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct side *s = ud;
	int r;

	s->pings++;
	r = sd_bus_reply_method_return(m, "s", "pong");
	if (s->free_in_ping)
		cable_bus_loop_free(&s->w); /* sd_bus_process is on the stack: must be deferred */
	return r;
}

static const sd_bus_vtable vt[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("Ping", "", "s", m_ping, 0),
	SD_BUS_VTABLE_END,
};

static int
on_signal(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct side *s = ud;

	if (s->signals < 8)
		s->after_at_signal[s->signals] = s->after;
	s->signals++;
	if (s->yield_in_signal)
		cable_bus_loop_yield(s->w);
	return 0;
}

static int
on_reply(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct side *s = ud;
	const char *v = NULL;

	if (sd_bus_message_get_error(m) == NULL && sd_bus_message_read(m, "s", &v) > 0 &&
	    strcmp(v, "pong") == 0)
		s->replies++;
	if (s->quit_on_reply)
		s->loop->ops->quit(s->loop, 0);
	return 0;
}

static void
ping(struct fx *f)
{
	f->cli.quit_on_reply = true;
	assert_true(sd_bus_call_method_async(f->cli.bus, NULL, NULL, TPATH, TIFACE, "Ping", on_reply,
	    &f->cli, "") >= 0);
	cable_bus_loop_rearm(f->cli.w);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	sd_id128_t id;
	int sv[2];

	assert_non_null(f);
	assert_non_null(f->lp = cable_loop_poll_new());
	f->loop = cable_loop_poll_loop(f->lp);
	f->srv.loop = f->cli.loop = f->loop;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(sd_id128_randomize(&id), 0);
	assert_true(sd_bus_new(&f->srv.bus) >= 0 && sd_bus_new(&f->cli.bus) >= 0);
	assert_true(sd_bus_set_fd(f->srv.bus, sv[0], sv[0]) >= 0);
	assert_true(sd_bus_set_server(f->srv.bus, 1, id) >= 0);
	assert_true(sd_bus_set_fd(f->cli.bus, sv[1], sv[1]) >= 0);
	assert_true(sd_bus_add_object_vtable(f->srv.bus, NULL, TPATH, TIFACE, vt, &f->srv) >= 0);
	assert_true(sd_bus_match_signal(f->srv.bus, NULL, NULL, TPATH, TIFACE, "Tick", on_signal,
	    &f->srv) >= 0);
	assert_true(sd_bus_start(f->srv.bus) >= 0 && sd_bus_start(f->cli.bus) >= 0);
	assert_int_equal(cable_bus_loop_attach(f->loop, f->srv.bus, on_lost, &f->srv, &f->srv.w), 0);
	assert_int_equal(cable_bus_loop_attach(f->loop, f->cli.bus, on_lost, &f->cli, &f->cli.w), 0);
	cable_bus_loop_set_after(f->srv.w, on_after);
	/*
	 * Authentication happens in the loop too (both peers are in this thread, so a blocking
	 * sd_bus_flush before it would wait for itself): one round trip first.
	 */
	ping(f);
	assert_int_equal(cable_loop_poll_run(f->lp, 5000000), 0);
	assert_int_equal(f->cli.replies, 1);
	f->srv.pings = f->cli.replies = f->srv.after = 0;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	cable_bus_loop_free(&f->srv.w);
	cable_bus_loop_free(&f->cli.w);
	/* The watches dropped their references; ours close the connections. */
	sd_bus_flush_close_unref(f->srv.bus);
	sd_bus_flush_close_unref(f->cli.bus);
	assert_int_equal(cable_loop_poll_ntimers_held(f->lp), 0);
	cable_loop_poll_free(&f->lp);
	free(f);
	return 0;
}

/* A call and its reply go through the loop alone (no sd_bus_wait anywhere), then nothing is armed. */
static void
test_roundtrip(void **state)
{
	struct fx *f = *state;
	uint64_t w0;

	for (int i = 0; i < 3; i++) {
		ping(f);
		assert_int_equal(cable_loop_poll_run(f->lp, 5000000), 0);
	}
	assert_int_equal(f->srv.pings, 3);
	assert_int_equal(f->cli.replies, 3);
	assert_true(f->srv.after >= 3);
	/* Idle: the method-call timeouts are gone, nothing wakes the loop. */
	assert_int_equal(cable_loop_poll_ntimers(f->lp), 0);
	w0 = cable_loop_poll_wakeups(f->lp);
	assert_int_equal(cable_loop_poll_once(f->lp, 200000), 0);
	assert_true(cable_loop_poll_wakeups(f->lp) - w0 <= 1);
	assert_int_equal(f->srv.lost + f->cli.lost, 0);
}

/* Freeing the watch from inside its own handler is deferred until sd_bus_process returns. */
static void
test_free_in_handler(void **state)
{
	struct fx *f = *state;

	f->srv.free_in_ping = true;
	ping(f);
	/* The reply was queued before the free: the flush on release still delivers it. */
	assert_int_equal(cable_loop_poll_run(f->lp, 5000000), 0);
	assert_int_equal(f->srv.pings, 1);
	assert_null(f->srv.w);
	assert_int_equal(f->cli.replies, 1);
	assert_int_equal(f->srv.lost, 0);
}

/* yield stops processing after the current message; the after callback runs; the rest follows. */
static void
test_yield(void **state)
{
	struct fx *f = *state;

	f->srv.yield_in_signal = true;
	for (int i = 0; i < 3; i++)
		assert_true(sd_bus_emit_signal(f->cli.bus, TPATH, TIFACE, "Tick", "") >= 0);
	cable_bus_loop_rearm(f->cli.w);
	for (int i = 0; i < 50 && f->srv.signals < 3; i++)
		assert_int_equal(cable_loop_poll_once(f->lp, 100000), 0);
	assert_int_equal(f->srv.signals, 3);
	/* Each signal was handled in its own dispatch: the after callback ran between them. */
	assert_true(f->srv.after_at_signal[1] > f->srv.after_at_signal[0]);
	assert_true(f->srv.after_at_signal[2] > f->srv.after_at_signal[1]);
}

/* The peer goes away: lost is reported once, from the loop, and the owner may free there. */
static void
test_lost(void **state)
{
	struct fx *f = *state;

	cable_bus_loop_free(&f->cli.w);
	f->cli.bus = sd_bus_flush_close_unref(f->cli.bus);
	assert_int_equal(cable_loop_poll_run(f->lp, 5000000), 7);
	assert_int_equal(f->srv.lost, 1);
	assert_true(f->srv.lost_err < 0);
	assert_null(f->srv.w);
	assert_int_equal(cable_loop_poll_nfds(f->lp), 0);
}

static void
test_attach_args(void **state)
{
	struct fx *f = *state;
	struct cable_bus_loop *w = NULL;

	assert_int_equal(cable_bus_loop_attach(NULL, f->srv.bus, NULL, NULL, &w), CABLE_ERR_ARG);
	assert_int_equal(cable_bus_loop_attach(f->loop, NULL, NULL, NULL, &w), CABLE_ERR_ARG);
	assert_null(w);
	cable_bus_loop_free(NULL);
	cable_bus_loop_free(&w);
	cable_bus_loop_rearm(NULL);
	assert_false(cable_bus_loop_dispatching(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_in_handler, setup, teardown),
		cmocka_unit_test_setup_teardown(test_yield, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_args, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

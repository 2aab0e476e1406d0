/* Unit tests: the lws-backed event loop (fd watches, timers, signals, quit). */
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cable/error.h"
#include "cable/loop-lws.h"
#include "tv.h"

struct rec {
	struct cable_loop *loop;
	struct cable_loop_fd *w;
	struct cable_loop_timer *t[4];
	int order[8];
	int n;
	int in, out, err;
	char buf[16];
	size_t got;
};

/* Every test runs twice: on lws's poll() loop and on its libev (epoll) event library. */
static bool use_epoll;

static struct cable_loop *
new_loop(void)
{
	struct cable_loop_lws_config cfg = {.use_epoll = use_epoll};
	struct cable_loop *loop = cable_loop_lws_new(&cfg);

	assert_non_null(loop);
	assert_non_null(cable_loop_lws_context(loop));
	return loop;
}

/* A guard so that a broken loop fails the test instead of hanging it. */
static void
guard_fire(void *arg)
{
	struct rec *r = arg;

	r->loop->ops->quit(r->loop, -999);
}

static struct cable_loop_timer *
guard(struct rec *r, uint64_t usec)
{
	struct cable_loop_timer *g = NULL;

	assert_int_equal(r->loop->ops->timer_add(r->loop, usec, guard_fire, r, &g), 0);
	return g;
}

static void
pipe_read_cb(void *arg, int fd, uint32_t revents)
{
	struct rec *r = arg;
	ssize_t n;

	assert_true(revents & CABLE_LOOP_IN);
	r->in++;
	n = read(fd, r->buf + r->got, sizeof(r->buf) - r->got);
	assert_true(n > 0);
	r->got += (size_t)n;
	if (r->got >= 5)
		r->loop->ops->quit(r->loop, 7);
}

static void
test_pipe_readable(void **state)
{
	struct rec r = {0};
	struct cable_loop_timer *g;
	int p[2];

	(void)state;
	r.loop = new_loop();
	assert_int_equal(pipe(p), 0);
	assert_int_equal(r.loop->ops->fd_add(r.loop, p[0], CABLE_LOOP_IN, pipe_read_cb, &r, &r.w), 0);
	assert_int_equal(write(p[1], "hello", 5), 5);
	g = guard(&r, 2000000);
	assert_int_equal(cable_loop_lws_run(r.loop), 7);
	assert_int_equal(r.got, 5);
	assert_memory_equal(r.buf, "hello", 5);
	r.loop->ops->fd_del(&r.w);
	assert_null(r.w);
	r.loop->ops->fd_del(&r.w); /* NULL is fine */
	r.loop->ops->timer_del(&g);
	cable_loop_lws_free(&r.loop);
	assert_null(r.loop);
	/* The loop never closes the caller's descriptor. */
	assert_true(fcntl(p[0], F_GETFD) >= 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	close(p[0]);
	close(p[1]);
}

struct tid {
	struct rec *r;
	int id;
	uint64_t due;
};

static void
timer_cb(void *arg)
{
	struct tid *t = arg;
	struct rec *r = t->r;

	/* Never early. */
	assert_true(r->loop->ops->now_usec(r->loop) >= t->due);
	r->order[r->n++] = t->id;
	if (t->id == 0)
		r->loop->ops->quit(r->loop, 3);
}

static void
test_timers_in_order(void **state)
{
	static const uint64_t delay[4] = {30000, 10000, 50000, 20000};
	struct rec r = {0};
	struct tid ids[4];
	struct cable_loop_timer *g;
	uint64_t t0, t1;

	(void)state;
	r.loop = new_loop();
	t0 = r.loop->ops->now_usec(r.loop);
	for (int i = 0; i < 4; i++) {
		ids[i].r = &r;
		ids[i].id = i;
		ids[i].due = t0 + delay[i];
		assert_int_equal(r.loop->ops->timer_add(r.loop, delay[i], timer_cb, &ids[i], &r.t[i]), 0);
	}
	/* Timer 2 (the latest) is cancelled and must never fire; 1, 3, then 0, which quits. */
	r.loop->ops->timer_del(&r.t[2]);
	assert_null(r.t[2]);
	g = guard(&r, 2000000);
	assert_int_equal(cable_loop_lws_run(r.loop), 3);
	t1 = r.loop->ops->now_usec(r.loop);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.order[0], 1);
	assert_int_equal(r.order[1], 3);
	assert_int_equal(r.order[2], 0);
	assert_true(t1 - t0 >= 30000);
	assert_true(t1 - t0 < 1000000);
	/* Run again: the cancelled timer still does not fire before the guard. */
	r.loop->ops->timer_del(&g);
	g = guard(&r, 80000);
	assert_int_equal(cable_loop_lws_run(r.loop), -999);
	assert_int_equal(r.n, 3);
	for (int i = 0; i < 4; i++)
		r.loop->ops->timer_del(&r.t[i]);
	r.loop->ops->timer_del(&g);
	cable_loop_lws_free(&r.loop);
}

static void
zero_cb(void *arg)
{
	struct rec *r = arg;

	r->loop->ops->quit(r->loop, 0);
}

static void
test_quit_zero_delay(void **state)
{
	struct rec r = {0};
	struct cable_loop_timer *t = NULL, *g;

	(void)state;
	r.loop = new_loop();
	assert_int_equal(r.loop->ops->timer_add(r.loop, 0, zero_cb, &r, &t), 0);
	g = guard(&r, 2000000);
	assert_int_equal(cable_loop_lws_run(r.loop), 0);
	r.loop->ops->timer_del(&t);
	r.loop->ops->timer_del(&g);
	/* A timer never deleted by its owner must not fire during free (ASan would see it). */
	assert_int_equal(r.loop->ops->timer_add(r.loop, 1000, zero_cb, &r, &t), 0);
	cable_loop_lws_free(&r.loop);
	free(t);
}

static void
del_inside_cb(void *arg, int fd, uint32_t revents)
{
	struct rec *r = arg;
	char c;

	(void)revents;
	r->in++;
	assert_int_equal(read(fd, &c, 1), 1);
	r->loop->ops->fd_del(&r->w);
}

static void
test_del_inside_callback(void **state)
{
	struct rec r = {0};
	struct cable_loop_timer *g;
	int p[2];

	(void)state;
	r.loop = new_loop();
	assert_int_equal(pipe(p), 0);
	assert_int_equal(r.loop->ops->fd_add(r.loop, p[0], CABLE_LOOP_IN, del_inside_cb, &r, &r.w), 0);
	assert_int_equal(write(p[1], "abc", 3), 3);
	g = guard(&r, 100000);
	assert_int_equal(cable_loop_lws_run(r.loop), -999);
	/* Deleted after the first byte: the two bytes left never reach a callback. */
	assert_int_equal(r.in, 1);
	assert_null(r.w);
	r.loop->ops->timer_del(&g);
	cable_loop_lws_free(&r.loop);
	assert_int_equal(read(p[0], r.buf, sizeof(r.buf)), 2);
	close(p[0]);
	close(p[1]);
}

static void
events_cb(void *arg, int fd, uint32_t revents)
{
	struct rec *r = arg;

	if (revents & CABLE_LOOP_IN)
		r->in++;
	if (revents & CABLE_LOOP_OUT) {
		r->out++;
		if (r->out == 3)
			r->loop->ops->fd_set_events(r->w, 0);
	}
	if (revents & CABLE_LOOP_ERR)
		r->err++;
}

static void
test_events_toggle(void **state)
{
	struct rec r = {0};
	struct cable_loop_timer *g;
	int p[2];

	(void)state;
	r.loop = new_loop();
	assert_int_equal(pipe(p), 0);
	/* Readable but IN not asked for: no callback. */
	assert_int_equal(write(p[1], "z", 1), 1);
	assert_int_equal(r.loop->ops->fd_add(r.loop, p[0], 0, events_cb, &r, &r.w), 0);
	g = guard(&r, 60000);
	assert_int_equal(cable_loop_lws_run(r.loop), -999);
	assert_int_equal(r.in, 0);
	r.loop->ops->timer_del(&g);
	/* Now ask for IN: called (level-triggered, so more than once while unread). */
	assert_int_equal(r.loop->ops->fd_set_events(r.w, CABLE_LOOP_IN), 0);
	g = guard(&r, 30000);
	assert_int_equal(cable_loop_lws_run(r.loop), -999);
	assert_true(r.in >= 1);
	r.loop->ops->timer_del(&g);
	r.loop->ops->fd_del(&r.w);

	/* OUT on the write end is level-triggered until the callback clears it (at the third). */
	assert_int_equal(r.loop->ops->fd_add(r.loop, p[1], CABLE_LOOP_OUT, events_cb, &r, &r.w), 0);
	g = guard(&r, 60000);
	assert_int_equal(cable_loop_lws_run(r.loop), -999);
	assert_int_equal(r.out, 3);
	r.loop->ops->timer_del(&g);
	r.loop->ops->fd_del(&r.w);
	cable_loop_lws_free(&r.loop);
	close(p[0]);
	close(p[1]);
}

static void
hup_cb(void *arg, int fd, uint32_t revents)
{
	struct rec *r = arg;
	char c;

	if (revents & CABLE_LOOP_ERR) {
		/* A pipe whose writer is gone polls as POLLHUP without POLLIN. */
		r->err++;
		r->loop->ops->fd_del(&r->w);
		r->loop->ops->quit(r->loop, 5);
	} else if (revents & CABLE_LOOP_IN) {
		r->in++;
		if (read(fd, &c, 1) == 0) {
			/* EOF: the owner decides to stop watching. */
			r->loop->ops->fd_del(&r->w);
			r->loop->ops->quit(r->loop, 5);
		}
	}
}

static void
test_hangup(void **state)
{
	struct rec r = {0};
	struct cable_loop_timer *g;
	int p[2];

	(void)state;
	r.loop = new_loop();
	assert_int_equal(pipe(p), 0);
	assert_int_equal(r.loop->ops->fd_add(r.loop, p[0], CABLE_LOOP_IN, hup_cb, &r, &r.w), 0);
	close(p[1]);
	g = guard(&r, 2000000);
	assert_int_equal(cable_loop_lws_run(r.loop), 5);
	assert_int_equal(r.err + r.in, 1);
	assert_null(r.w);
	r.loop->ops->timer_del(&g);
	cable_loop_lws_free(&r.loop);
	close(p[0]);
}

static void
sig_cb(void *arg, int signo)
{
	struct rec *r = arg;

	r->order[r->n++] = signo;
	if (r->n == 2)
		r->loop->ops->quit(r->loop, 11);
}

static void
raise_cb(void *arg)
{
	(void)arg;
	raise(SIGUSR2);
}

static void
test_signals(void **state)
{
	struct rec r = {0};
	struct cable_loop_timer *g, *t = NULL;

	(void)state;
	r.loop = new_loop();
	assert_int_equal(cable_loop_lws_signal_add(r.loop, SIGUSR1, sig_cb, &r), 0);
	assert_int_equal(cable_loop_lws_signal_add(r.loop, SIGUSR2, sig_cb, &r), 0);
	assert_int_equal(cable_loop_lws_signal_add(r.loop, 0, sig_cb, &r), CABLE_ERR_ARG);
	/* Blocked, so raised now it waits in the signalfd instead of killing the process. */
	raise(SIGUSR1);
	assert_int_equal(r.loop->ops->timer_add(r.loop, 20000, raise_cb, &r, &t), 0);
	g = guard(&r, 2000000);
	assert_int_equal(cable_loop_lws_run(r.loop), 11);
	assert_int_equal(r.order[0], SIGUSR1);
	assert_int_equal(r.order[1], SIGUSR2);
	r.loop->ops->timer_del(&t);
	r.loop->ops->timer_del(&g);
	cable_loop_lws_free(&r.loop);
}

static void
test_not_lws(void **state)
{
	struct cable_loop other = {NULL};

	(void)state;
	assert_null(cable_loop_lws_context(&other));
	assert_int_equal(cable_loop_lws_run(&other), CABLE_ERR_ARG);
	cable_loop_lws_free(NULL);
}

static int
setup_poll(void **state)
{
	(void)state;
	use_epoll = false;
	return 0;
}

static int
setup_epoll(void **state)
{
	struct cable_loop_lws_config cfg = {.use_epoll = true};
	struct cable_loop *l = NULL;

	(void)state;
	use_epoll = true;
	/* Without libev in the build the option must say so rather than fall back silently. */
	if (cable_loop_lws_new_ex(&cfg, &l) == CABLE_ERR_UNSUPPORTED)
		return -1;
	cable_loop_lws_free(&l);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipe_readable),
		cmocka_unit_test(test_timers_in_order),
		cmocka_unit_test(test_quit_zero_delay),
		cmocka_unit_test(test_del_inside_callback),
		cmocka_unit_test(test_events_toggle),
		cmocka_unit_test(test_hangup),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_not_lws),
	};

	int r = cmocka_run_group_tests_name("poll", tests, setup_poll, NULL);

	return r + cmocka_run_group_tests_name("epoll", tests, setup_epoll, NULL);
}

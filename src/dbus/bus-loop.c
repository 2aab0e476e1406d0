/* An sd-bus connection in the caller's cable_loop: fd events, timeout, budgeted dispatch. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "cable/bus-loop.h"
#include "cable/error.h"

/* Upper bound on messages handled per wake-up before yielding to the loop. */
#define BUS_PROCESS_BUDGET 256

struct cable_bus_loop {
	struct cable_loop *loop;
	sd_bus *bus;
	struct cable_loop_fd *watch;
	struct cable_loop_timer *timer;
	uint64_t deadline; /* of the armed timer (CLOCK_MONOTONIC usec), UINT64_MAX = none */
	uint32_t events;   /* currently watched */
	int depth;         /* > 0 while inside sd_bus_process */
	bool dead;         /* free requested while dispatching */
	bool yield;        /* a handler asked to stop processing for this wake-up */
	bool lost;         /* reported (or to be reported) through the lost callback */
	int lost_err;
	cable_bus_loop_lost_fn on_lost;
	cable_bus_loop_after_fn after;
	void *arg;
};

void
cable_bus_loop_set_after(struct cable_bus_loop *w, cable_bus_loop_after_fn after)
{
	w->after = after;
}

bool
cable_bus_loop_dispatching(const struct cable_bus_loop *w)
{
	return w != NULL && w->depth > 0;
}

void
cable_bus_loop_yield(struct cable_bus_loop *w)
{
	if (w != NULL)
		w->yield = true;
}

static uint64_t
mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void dispatch(struct cable_bus_loop *w);

static void
on_fd(void *arg, int fd, uint32_t revents)
{
	(void)fd;
	(void)revents;
	dispatch(arg);
}

static void
on_timer(void *arg)
{
	struct cable_bus_loop *w = arg;

	/* A fired timer is still ours to free (loop.h); timer_del inside its callback is allowed. */
	w->loop->ops->timer_del(&w->timer);
	w->deadline = UINT64_MAX;
	dispatch(w);
}

static void
detach(struct cable_bus_loop *w)
{
	w->loop->ops->fd_del(&w->watch);
	w->loop->ops->timer_del(&w->timer);
	w->deadline = UINT64_MAX;
}

static void
destroy(struct cable_bus_loop *w)
{
	detach(w);
	if (w->bus != NULL) {
		/* What handlers queued goes out; closing is the owner's call (it may keep the bus). */
		(void)sd_bus_flush(w->bus);
		w->bus = sd_bus_unref(w->bus);
	}
	free(w);
}

/* Reports a lost connection once, from the loop (a zero timer when called from the owner's code). */
static void
report_lost(struct cable_bus_loop *w, int err)
{
	detach(w);
	if (w->lost)
		return;
	w->lost = true;
	w->lost_err = err < 0 ? err : -ECONNRESET;
	if (w->on_lost != NULL)
		w->on_lost(w->arg, w->lost_err);
}

static void
on_lost_timer(void *arg)
{
	struct cable_bus_loop *w = arg;

	w->loop->ops->timer_del(&w->timer);
	report_lost(w, w->lost_err);
}

void
cable_bus_loop_rearm(struct cable_bus_loop *w)
{
	uint64_t t = UINT64_MAX, now;
	uint32_t ev = 0;
	int e;

	if (w == NULL || w->bus == NULL || w->depth > 0 || w->dead || w->lost)
		return;
	if ((e = sd_bus_get_events(w->bus)) < 0) {
		/* The owner may be in the middle of something: tell it from the loop, not from here. */
		w->lost_err = e;
		w->loop->ops->fd_del(&w->watch);
		w->loop->ops->timer_del(&w->timer);
		w->deadline = UINT64_MAX;
		if (w->loop->ops->timer_add(w->loop, 0, on_lost_timer, w, &w->timer) != 0)
			report_lost(w, e);
		return;
	}
	if (e & POLLIN)
		ev |= CABLE_LOOP_IN;
	if (e & POLLOUT)
		ev |= CABLE_LOOP_OUT;
	if (w->watch != NULL && ev != w->events && w->loop->ops->fd_set_events(w->watch, ev) == 0)
		w->events = ev;
	if (sd_bus_get_timeout(w->bus, &t) < 0)
		t = UINT64_MAX;
	if (t == w->deadline)
		return;
	w->loop->ops->timer_del(&w->timer);
	w->deadline = UINT64_MAX;
	if (t == UINT64_MAX)
		return;
	now = mono_usec();
	if (w->loop->ops->timer_add(w->loop, t > now ? t - now : 0, on_timer, w, &w->timer) == 0)
		w->deadline = t;
}

static void
dispatch(struct cable_bus_loop *w)
{
	int r = 0, n;

	if (w->bus == NULL || w->lost || w->depth > 0)
		return;
	w->depth++;
	w->yield = false;
	for (n = 0; n < BUS_PROCESS_BUDGET; n++) {
		r = sd_bus_process(w->bus, NULL);
		if (r <= 0 || w->dead || w->yield)
			break;
	}
	/* Still "dispatching" for the owner's after callback: a free there is deferred to below. */
	if (w->after != NULL && !w->dead)
		w->after(w->arg);
	w->depth--;
	if (w->dead) {
		destroy(w);
		return;
	}
	if (r < 0) {
		report_lost(w, r);
		return;
	}
	/* Budget used up with work left: sd_bus_get_timeout() is 0, so the timer fires at once. */
	cable_bus_loop_rearm(w);
}

int
cable_bus_loop_attach(struct cable_loop *loop, sd_bus *bus, cable_bus_loop_lost_fn lost,
    void *arg, struct cable_bus_loop **out)
{
	struct cable_bus_loop *w;
	int fd;

	if (loop == NULL || bus == NULL || out == NULL)
		return CABLE_ERR_ARG;
	if ((fd = sd_bus_get_fd(bus)) < 0)
		return CABLE_ERR_IO;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return CABLE_ERR_NOMEM;
	w->loop = loop;
	w->deadline = UINT64_MAX;
	w->on_lost = lost;
	w->arg = arg;
	if (loop->ops->fd_add(loop, fd, CABLE_LOOP_IN | CABLE_LOOP_OUT, on_fd, w, &w->watch) != 0) {
		free(w);
		return CABLE_ERR_IO;
	}
	w->events = CABLE_LOOP_IN | CABLE_LOOP_OUT;
	w->bus = sd_bus_ref(bus);
	cable_bus_loop_rearm(w);
	*out = w;
	return 0;
}

void
cable_bus_loop_free(struct cable_bus_loop **wp)
{
	struct cable_bus_loop *w;

	if (wp == NULL || (w = *wp) == NULL)
		return;
	*wp = NULL;
	if (w->depth > 0) {
		/* sd_bus_process is on the stack: release once it returns (dispatch checks dead). */
		w->dead = true;
		detach(w);
		return;
	}
	destroy(w);
}

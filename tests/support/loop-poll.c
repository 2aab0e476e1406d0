/* Test-only poll()-based cable_loop: fds and one-shot timers in plain lists, no threads. */
#include "loop-poll.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "cable/error.h"

#define LP_MAX_FDS 64

struct cable_loop_fd {
	struct cable_loop_poll *lp;
	int fd;
	uint32_t events;
	cable_loop_fd_cb cb;
	void *arg;
	bool dead;
	struct cable_loop_fd *next;
};

struct cable_loop_timer {
	struct cable_loop_poll *lp;
	uint64_t when;
	cable_loop_timer_cb cb;
	void *arg;
	bool dead;
	struct cable_loop_timer *next;
};

struct cable_loop_poll {
	struct cable_loop loop; /* first: the table pointer is the object */
	struct cable_loop_fd *fds;
	struct cable_loop_timer *timers;
	bool quit;
	int code;
	uint64_t wakeups;
};

static uint64_t
mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static struct cable_loop_poll *
lp_of(struct cable_loop *loop)
{
	return (struct cable_loop_poll *)(void *)loop;
}

static int
lp_fd_add(struct cable_loop *loop, int fd, uint32_t events, cable_loop_fd_cb cb, void *arg,
    struct cable_loop_fd **out)
{
	struct cable_loop_poll *lp = lp_of(loop);
	struct cable_loop_fd *w;

	if (fd < 0 || cb == NULL || out == NULL)
		return CABLE_ERR_ARG;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return CABLE_ERR_NOMEM;
	w->lp = lp;
	w->fd = fd;
	w->events = events;
	w->cb = cb;
	w->arg = arg;
	w->next = lp->fds;
	lp->fds = w;
	*out = w;
	return 0;
}

static int
lp_fd_set_events(struct cable_loop_fd *w, uint32_t events)
{
	if (w == NULL)
		return CABLE_ERR_ARG;
	w->events = events;
	return 0;
}

/* Watches are unlinked lazily so that deleting from inside a callback is safe. */
static void
lp_fd_del(struct cable_loop_fd **w)
{
	if (w == NULL || *w == NULL)
		return;
	(*w)->dead = true;
	(*w)->cb = NULL;
	*w = NULL;
}

static int
lp_timer_add(struct cable_loop *loop, uint64_t delay_usec, cable_loop_timer_cb cb, void *arg,
    struct cable_loop_timer **out)
{
	struct cable_loop_poll *lp = lp_of(loop);
	struct cable_loop_timer *t;

	if (cb == NULL || out == NULL)
		return CABLE_ERR_ARG;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return CABLE_ERR_NOMEM;
	t->lp = lp;
	t->when = mono_usec() + delay_usec;
	t->cb = cb;
	t->arg = arg;
	t->next = lp->timers;
	lp->timers = t;
	*out = t;
	return 0;
}

static void
lp_timer_del(struct cable_loop_timer **t)
{
	if (t == NULL || *t == NULL)
		return;
	(*t)->dead = true;
	(*t)->cb = NULL;
	*t = NULL;
}

static uint64_t
lp_now(struct cable_loop *loop)
{
	(void)loop;
	return mono_usec();
}

static void
lp_quit(struct cable_loop *loop, int code)
{
	struct cable_loop_poll *lp = lp_of(loop);

	lp->quit = true;
	lp->code = code;
}

static const struct cable_loop_ops lp_ops = {
	.fd_add = lp_fd_add,
	.fd_set_events = lp_fd_set_events,
	.fd_del = lp_fd_del,
	.timer_add = lp_timer_add,
	.timer_del = lp_timer_del,
	.now_usec = lp_now,
	.quit = lp_quit,
};

struct cable_loop_poll *
cable_loop_poll_new(void)
{
	struct cable_loop_poll *lp;

	if ((lp = calloc(1, sizeof(*lp))) == NULL)
		return NULL;
	lp->loop.ops = &lp_ops;
	return lp;
}

static void
lp_reap(struct cable_loop_poll *lp)
{
	struct cable_loop_fd **pw = &lp->fds;
	struct cable_loop_timer **pt = &lp->timers;

	while (*pw != NULL) {
		struct cable_loop_fd *w = *pw;

		if (w->dead) {
			*pw = w->next;
			free(w);
		} else
			pw = &w->next;
	}
	while (*pt != NULL) {
		struct cable_loop_timer *t = *pt;

		if (t->dead) {
			*pt = t->next;
			free(t);
		} else
			pt = &t->next;
	}
}

void
cable_loop_poll_free(struct cable_loop_poll **plp)
{
	struct cable_loop_poll *lp;

	if (plp == NULL || (lp = *plp) == NULL)
		return;
	for (struct cable_loop_fd *w = lp->fds; w != NULL; w = w->next)
		w->dead = true;
	for (struct cable_loop_timer *t = lp->timers; t != NULL; t = t->next)
		t->dead = true;
	lp_reap(lp);
	free(lp);
	*plp = NULL;
}

struct cable_loop *
cable_loop_poll_loop(struct cable_loop_poll *lp)
{
	return &lp->loop;
}

int
cable_loop_poll_once(struct cable_loop_poll *lp, uint64_t max_wait_usec)
{
	struct pollfd pfd[LP_MAX_FDS];
	struct cable_loop_fd *who[LP_MAX_FDS];
	nfds_t n = 0;
	uint64_t now = mono_usec(), wait = max_wait_usec;
	int timeout_ms, pr;

	lp_reap(lp);
	for (struct cable_loop_timer *t = lp->timers; t != NULL; t = t->next)
		if (t->cb == NULL) /* fired, waiting for its owner's timer_del */
			continue;
		else if (t->when <= now)
			wait = 0;
		else if (t->when - now < wait)
			wait = t->when - now;
	for (struct cable_loop_fd *w = lp->fds; w != NULL && n < LP_MAX_FDS; w = w->next) {
		pfd[n].fd = w->fd;
		pfd[n].events = (short)(((w->events & CABLE_LOOP_IN) ? POLLIN : 0) |
		    ((w->events & CABLE_LOOP_OUT) ? POLLOUT : 0));
		pfd[n].revents = 0;
		who[n++] = w;
	}
	/* Round up so that a timer is never polled for early and then spun on. */
	timeout_ms = (int)((wait + 999) / 1000);
	pr = poll(pfd, n, timeout_ms);
	if (pr < 0 && errno != EINTR)
		return CABLE_ERR_IO;
	lp->wakeups++;
	for (nfds_t i = 0; pr > 0 && i < n; i++) {
		uint32_t rev = 0;

		if (pfd[i].revents & POLLIN)
			rev |= CABLE_LOOP_IN;
		if (pfd[i].revents & POLLOUT)
			rev |= CABLE_LOOP_OUT;
		if (pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL))
			rev |= CABLE_LOOP_ERR;
		if (rev != 0 && !who[i]->dead && who[i]->cb != NULL)
			who[i]->cb(who[i]->arg, who[i]->fd, rev);
		if (lp->quit)
			return 0;
	}
	now = mono_usec();
	for (struct cable_loop_timer *t = lp->timers; t != NULL; t = t->next) {
		if (!t->dead && t->when <= now && t->cb != NULL) {
			cable_loop_timer_cb cb = t->cb;

			/* One-shot: it never fires again, but stays the owner's to free (loop.h). */
			t->cb = NULL;
			cb(t->arg);
			if (lp->quit)
				return 0;
		}
	}
	return 0;
}

int
cable_loop_poll_run(struct cable_loop_poll *lp, uint64_t timeout_usec)
{
	uint64_t end = mono_usec() + timeout_usec;
	int r;

	lp->quit = false;
	while (!lp->quit) {
		uint64_t now = mono_usec();

		if (now >= end)
			return CABLE_ERR_TIMEOUT;
		if ((r = cable_loop_poll_once(lp, end - now)) != 0)
			return r;
	}
	lp->quit = false;
	return lp->code;
}

uint64_t
cable_loop_poll_wakeups(const struct cable_loop_poll *lp)
{
	return lp->wakeups;
}

unsigned
cable_loop_poll_nfds(const struct cable_loop_poll *lp)
{
	unsigned n = 0;

	for (const struct cable_loop_fd *w = lp->fds; w != NULL; w = w->next)
		n += !w->dead;
	return n;
}

unsigned
cable_loop_poll_ntimers(const struct cable_loop_poll *lp)
{
	unsigned n = 0;

	for (const struct cable_loop_timer *t = lp->timers; t != NULL; t = t->next)
		n += !t->dead && t->cb != NULL;
	return n;
}

unsigned
cable_loop_poll_ntimers_held(const struct cable_loop_poll *lp)
{
	unsigned n = 0;

	for (const struct cable_loop_timer *t = lp->timers; t != NULL; t = t->next)
		n += !t->dead;
	return n;
}

/* The production event loop: fd watches, timers and signals on a libwebsockets context. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>
#if defined(CABLE_HAVE_LIBEV)
#include <ev.h>
#endif

#include "cable/error.h"
#include "cable/loop-lws.h"

#define LOOP_PROTOCOL "cable-loop"
#define LOOP_MAX_FDS_DEFAULT 65536u

struct loop_signal {
	cable_loop_signal_cb cb;
	void *arg;
};

struct lws_loop {
	struct cable_loop base;
	struct lws_context *ctx;
	struct lws_vhost *vh;
	bool quit;
	int code;
	/* Signals: one signalfd for every signal handed to the loop. */
	int sfd;
	sigset_t sigs;
	struct cable_loop_fd *sig_watch;
	struct loop_signal sig[_NSIG];
	void *evl; /* our libev loop when use_epoll, handed to lws as a foreign loop */
#if defined(CABLE_HAVE_LIBEV)
	/*
	 * lws 4.1's libev glue re-arms its sul timer with ev_timer_set on an active watcher, which
	 * libev ignores, so a sul added before the current deadline can be late. Under libev our
	 * timers and deferred work use ev watchers of their own, and a slow tick lets lws service
	 * its internal timeouts.
	 */
	ev_timer ev_later;
	ev_timer ev_tick;
#endif
	lws_sorted_usec_list_t sul_later; /* poll(): deferred work */
	lws_dll2_owner_t later;           /* watches whose OUT must be re-armed */
	/* Timers still scheduled and live watches, so that free can detach them. */
	lws_dll2_owner_t timers;
	lws_dll2_owner_t watches;
};

/*
 * lws closes an adopted descriptor when its wsi goes away, but the loop contract says the loop
 * never closes the caller's fd: lws gets a dup() of it, which shares the open file.
 */
struct cable_loop_fd {
	lws_dll2_t later; /* loop->later */
	lws_dll2_t list;
	struct lws_loop *loop;
	struct lws *wsi; /* NULL once lws has closed it */
	int fd;          /* the caller's */
	uint32_t events;
	cable_loop_fd_cb cb;
	void *arg;
};

struct cable_loop_timer {
	lws_sorted_usec_list_t sul; /* first: the sul callback gets its address */
#if defined(CABLE_HAVE_LIBEV)
	ev_timer ev;
#endif
	lws_dll2_t list;
	struct lws_loop *loop;
	cable_loop_timer_cb cb;
	void *arg;
};

static const struct cable_loop_ops lws_loop_ops;

static struct lws_loop *
to_loop(struct cable_loop *loop)
{
	if (loop == NULL || loop->ops != &lws_loop_ops)
		return NULL;
	return (struct lws_loop *)loop;
}

/* Re-arms OUT on the watches queued by their writeable callbacks. */
static void
loop_run_later(struct lws_loop *loop)
{
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&loop->later)) {
		struct cable_loop_fd *w = lws_container_of(d, struct cable_loop_fd, later);

		lws_dll2_remove(&w->later);
		if (w->wsi != NULL && (w->events & CABLE_LOOP_OUT))
			lws_callback_on_writable(w->wsi);
	} lws_end_foreach_dll_safe(d, d1);
}

static void
loop_later_sul(lws_sorted_usec_list_t *sul)
{
	loop_run_later(lws_container_of(sul, struct lws_loop, sul_later));
}

#if defined(CABLE_HAVE_LIBEV)
static void
loop_later_ev(struct ev_loop *evl, ev_timer *w, int revents)
{
	(void)evl;
	(void)revents;
	loop_run_later(lws_container_of(w, struct lws_loop, ev_later));
}

static void
loop_tick_ev(struct ev_loop *evl, ev_timer *w, int revents)
{
	(void)evl;
	(void)revents;
	/* Any event through lws's own pipe makes its idle handler service due suls. */
	lws_cancel_service(lws_container_of(w, struct lws_loop, ev_tick)->ctx);
}
#endif

/* Runs loop_run_later just after the current callback, on whichever event library is in use. */
static void
loop_defer(struct lws_loop *loop)
{
#if defined(CABLE_HAVE_LIBEV)
	if (loop->evl != NULL) {
		if (!ev_is_active(&loop->ev_later)) {
			ev_timer_set(&loop->ev_later, 0., 0.);
			ev_timer_start(loop->evl, &loop->ev_later);
		}
		return;
	}
#endif
	lws_sul_schedule(loop->ctx, 0, &loop->sul_later, loop_later_sul, 1);
}

static int
loop_raw_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct cable_loop_fd *w;

	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		w = lws_get_opaque_user_data(wsi);
		if (w == NULL)
			return -1; /* deleted; close our dup */
		w->cb(w->arg, w->fd, CABLE_LOOP_IN);
		/* The callback may have deleted the watch: then close the dup now. */
		return lws_get_opaque_user_data(wsi) == NULL ? -1 : 0;
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		w = lws_get_opaque_user_data(wsi);
		if (w == NULL)
			return -1;
		if (!(w->events & CABLE_LOOP_OUT))
			return 0;
		w->cb(w->arg, w->fd, CABLE_LOOP_OUT);
		w = lws_get_opaque_user_data(wsi);
		if (w == NULL)
			return -1;
		/*
		 * lws writeability is one-shot and lws clears POLLOUT after this callback returns,
		 * so the level-triggered re-arm happens just after it.
		 */
		if (w->events & CABLE_LOOP_OUT) {
			lws_dll2_remove(&w->later);
			lws_dll2_add_tail(&w->later, &w->loop->later);
			loop_defer(w->loop);
		}
		return 0;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		w = lws_get_opaque_user_data(wsi);
		if (w == NULL)
			return 0;
		/* Hang-up or error seen by lws: the watch stays until the owner deletes it. */
		w->wsi = NULL;
		lws_dll2_remove(&w->later);
		lws_set_opaque_user_data(wsi, NULL);
		w->cb(w->arg, w->fd, CABLE_LOOP_ERR);
		return 0;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols loop_protocols[] = {
	{LOOP_PROTOCOL, loop_raw_cb, 0, 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

static int
lws_loop_fd_set_events(struct cable_loop_fd *w, uint32_t events)
{
	if (w == NULL)
		return CABLE_ERR_ARG;
	w->events = events & (CABLE_LOOP_IN | CABLE_LOOP_OUT);
	if (w->wsi == NULL)
		return 0;
	lws_rx_flow_control(w->wsi, (w->events & CABLE_LOOP_IN) ? 1 : 0);
	if (w->events & CABLE_LOOP_OUT)
		lws_callback_on_writable(w->wsi);
	return 0;
}

static int
lws_loop_fd_add(struct cable_loop *base, int fd, uint32_t events, cable_loop_fd_cb cb, void *arg,
    struct cable_loop_fd **out)
{
	struct lws_loop *loop = to_loop(base);
	struct cable_loop_fd *w = NULL;
	lws_adopt_desc_t info;
	int dupfd = -1, r = CABLE_ERR_INTERNAL;

	if (loop == NULL || fd < 0 || cb == NULL || out == NULL) {
		r = CABLE_ERR_ARG;
		goto out;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	if ((dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
		r = CABLE_ERR_IO;
		goto out;
	}
	w->loop = loop;
	w->fd = fd;
	w->cb = cb;
	w->arg = arg;
	memset(&info, 0, sizeof(info));
	info.vh = loop->vh;
	info.type = LWS_ADOPT_RAW_FILE_DESC;
	info.fd.filefd = dupfd;
	info.vh_prot_name = LOOP_PROTOCOL;
	info.opaque = w;
	if ((w->wsi = lws_adopt_descriptor_vhost_via_info(&info)) == NULL)
		goto out;
	dupfd = -1; /* lws owns it now */
	lws_dll2_add_tail(&w->list, &loop->watches);
	lws_loop_fd_set_events(w, events);
	*out = w;
	w = NULL;
	r = 0;
out:
	if (dupfd >= 0)
		close(dupfd);
	free(w);
	return r;
}

static void
lws_loop_fd_del(struct cable_loop_fd **pw)
{
	struct cable_loop_fd *w;

	if (pw == NULL || (w = *pw) == NULL)
		return;
	if (w->wsi != NULL) {
		/*
		 * We may be inside this wsi's own callback, so it cannot be closed synchronously: detach
		 * it and let lws close it on its next pass (or at once when the callback returns).
		 */
		lws_set_opaque_user_data(w->wsi, NULL);
		lws_rx_flow_control(w->wsi, 0);
		lws_set_timeout(w->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		lws_cancel_service(w->loop->ctx);
	}
	lws_dll2_remove(&w->later);
	lws_dll2_remove(&w->list);
	free(w);
	*pw = NULL;
}

static void
lws_loop_timer_run(struct cable_loop_timer *t)
{
	struct lws_loop *loop = t->loop;

	lws_dll2_remove(&t->list);
	/* The owner still holds t and frees it with timer_del; firing only unschedules it. */
	t->cb(t->arg);
	/* Whatever the callback changed (writes requested, quit) must be seen by the poll now. */
	lws_cancel_service(loop->ctx);
}

static void
lws_loop_timer_fire(lws_sorted_usec_list_t *sul)
{
	lws_loop_timer_run(lws_container_of(sul, struct cable_loop_timer, sul));
}

#if defined(CABLE_HAVE_LIBEV)
static void
lws_loop_timer_fire_ev(struct ev_loop *evl, ev_timer *w, int revents)
{
	(void)evl;
	(void)revents;
	lws_loop_timer_run(lws_container_of(w, struct cable_loop_timer, ev));
}
#endif

static void
timer_cancel(struct cable_loop_timer *t)
{
#if defined(CABLE_HAVE_LIBEV)
	if (t->loop != NULL && t->loop->evl != NULL) {
		ev_timer_stop(t->loop->evl, &t->ev);
		return;
	}
#endif
	lws_sul_cancel(&t->sul);
}

static int
lws_loop_timer_add(struct cable_loop *base, uint64_t delay_usec, cable_loop_timer_cb cb, void *arg,
    struct cable_loop_timer **out)
{
	struct lws_loop *loop = to_loop(base);
	struct cable_loop_timer *t;

	if (loop == NULL || cb == NULL || out == NULL)
		return CABLE_ERR_ARG;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return CABLE_ERR_NOMEM;
	t->loop = loop;
	t->cb = cb;
	t->arg = arg;
	lws_dll2_add_tail(&t->list, &loop->timers);
#if defined(CABLE_HAVE_LIBEV)
	if (loop->evl != NULL) {
		/* libev counts from the time cached at the start of the iteration: refresh it. */
		ev_now_update(loop->evl);
		ev_timer_init(&t->ev, lws_loop_timer_fire_ev, (ev_tstamp)delay_usec / 1e6, 0.);
		ev_timer_start(loop->evl, &t->ev);
		*out = t;
		return 0;
	}
#endif
	/* lws treats 0 as "cancel" in places: the earliest real deadline is 1 us away. */
	lws_sul_schedule(loop->ctx, 0, &t->sul, lws_loop_timer_fire,
	    (lws_usec_t)(delay_usec ? delay_usec : 1));
	*out = t;
	return 0;
}

static void
lws_loop_timer_del(struct cable_loop_timer **pt)
{
	struct cable_loop_timer *t;

	if (pt == NULL || (t = *pt) == NULL)
		return;
	/* A timer whose loop is gone (detached at loop free) has nothing left to cancel. */
	if (!lws_dll2_is_detached(&t->list))
		timer_cancel(t);
	lws_dll2_remove(&t->list);
	free(t);
	*pt = NULL;
}

static uint64_t
lws_loop_now_usec(struct cable_loop *base)
{
	struct timespec ts;

	(void)base;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
lws_loop_quit(struct cable_loop *base, int code)
{
	struct lws_loop *loop = to_loop(base);

	if (loop == NULL)
		return;
	loop->quit = true;
	loop->code = code;
	lws_cancel_service(loop->ctx);
}

static const struct cable_loop_ops lws_loop_ops = {
	.fd_add = lws_loop_fd_add,
	.fd_set_events = lws_loop_fd_set_events,
	.fd_del = lws_loop_fd_del,
	.timer_add = lws_loop_timer_add,
	.timer_del = lws_loop_timer_del,
	.now_usec = lws_loop_now_usec,
	.quit = lws_loop_quit,
};

int
cable_loop_lws_new_ex(const struct cable_loop_lws_config *cfg, struct cable_loop **out)
{
	struct lws_context_creation_info info;
	struct lws_loop *loop = NULL;
	unsigned int max_fds = cfg ? cfg->max_fds : 0;
	struct rlimit rl;
	void *foreign[1];
	int r = CABLE_ERR_INTERNAL;
	/* Library code stays quiet unless asked; CABLE_LWS_LOG=<LLL_ mask> helps when debugging. */
	int level = cfg ? cfg->lws_log_level : 0;
	const char *env = getenv("CABLE_LWS_LOG");

	if (env != NULL)
		level = atoi(env);
	lws_set_log_level(level, NULL);
	if (out == NULL)
		return CABLE_ERR_ARG;
	if ((loop = calloc(1, sizeof(*loop))) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	loop->base.ops = &lws_loop_ops;
	loop->sfd = -1;
	sigemptyset(&loop->sigs);
	if (max_fds == 0) {
		max_fds = LOOP_MAX_FDS_DEFAULT;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
		    rl.rlim_cur < max_fds)
			max_fds = (unsigned int)rl.rlim_cur;
	}
	memset(&info, 0, sizeof(info));
	/* Raw origin: the tunnel client sends "Origin: wss://host" as Chrome does, not http://. */
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
	    LWS_SERVER_OPTION_JUST_USE_RAW_ORIGIN;
	if (cfg && cfg->max_http_header)
		info.max_http_header_data2 = cfg->max_http_header;
	if (cfg && cfg->use_epoll) {
#if defined(CABLE_HAVE_LIBEV)
		if ((loop->evl = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOSIGMASK)) == NULL) {
			r = CABLE_ERR_IO;
			goto out;
		}
		foreign[0] = loop->evl;
		info.foreign_loops = foreign;
		info.options |= LWS_SERVER_OPTION_LIBEV;
#else
		(void)foreign;
		r = CABLE_ERR_UNSUPPORTED;
		goto out;
#endif
	}
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.fd_limit_per_thread = max_fds;
	info.count_threads = 1;
	if ((loop->ctx = lws_create_context(&info)) == NULL) {
		r = CABLE_ERR_IO;
		goto out;
	}
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = loop_protocols;
	info.vhost_name = "cable-loop";
	if ((loop->vh = lws_create_vhost(loop->ctx, &info)) == NULL) {
		r = CABLE_ERR_IO;
		goto out;
	}
#if defined(CABLE_HAVE_LIBEV)
	if (loop->evl != NULL) {
		ev_timer_init(&loop->ev_later, loop_later_ev, 0., 0.);
		/* lws's own timeouts (handshakes, async kills) are seen at least once a second. */
		ev_timer_init(&loop->ev_tick, loop_tick_ev, 1., 1.);
		ev_timer_start(loop->evl, &loop->ev_tick);
	}
#endif
	*out = &loop->base;
	loop = NULL;
	r = 0;
out:
	if (loop != NULL) {
		if (loop->ctx != NULL)
			lws_context_destroy(loop->ctx);
#if defined(CABLE_HAVE_LIBEV)
		if (loop->evl != NULL)
			ev_loop_destroy(loop->evl);
#endif
		free(loop);
	}
	return r;
}

struct cable_loop *
cable_loop_lws_new(const struct cable_loop_lws_config *cfg)
{
	struct cable_loop *loop = NULL;

	return cable_loop_lws_new_ex(cfg, &loop) == 0 ? loop : NULL;
}

void
cable_loop_lws_free(struct cable_loop **pl)
{
	struct lws_loop *loop;

	if (pl == NULL || (loop = to_loop(*pl)) == NULL)
		return;
	lws_loop_fd_del(&loop->sig_watch);
	if (loop->sfd >= 0) {
		close(loop->sfd);
		sigprocmask(SIG_UNBLOCK, &loop->sigs, NULL);
	}
	/* Timers the owners forgot: unschedule them so that no callback runs during destroy. */
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&loop->timers)) {
		struct cable_loop_timer *t = lws_container_of(d, struct cable_loop_timer, list);

		timer_cancel(t);
		lws_dll2_remove(&t->list);
	} lws_end_foreach_dll_safe(d, d1);
	/* Watches still owned by their users get no callback from the teardown. */
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&loop->watches)) {
		struct cable_loop_fd *w = lws_container_of(d, struct cable_loop_fd, list);

		if (w->wsi != NULL)
			lws_set_opaque_user_data(w->wsi, NULL);
		w->wsi = NULL;
		lws_dll2_remove(&w->later);
		lws_dll2_remove(&w->list);
	} lws_end_foreach_dll_safe(d, d1);
	lws_sul_cancel(&loop->sul_later);
#if defined(CABLE_HAVE_LIBEV)
	if (loop->evl != NULL) {
		ev_timer_stop(loop->evl, &loop->ev_later);
		ev_timer_stop(loop->evl, &loop->ev_tick);
	}
#endif
	lws_context_destroy(loop->ctx);
#if defined(CABLE_HAVE_LIBEV)
	if (loop->evl != NULL)
		ev_loop_destroy(loop->evl);
#endif
	free(loop);
	*pl = NULL;
}

int
cable_loop_lws_run(struct cable_loop *base)
{
	struct lws_loop *loop = to_loop(base);

	if (loop == NULL)
		return CABLE_ERR_ARG;
	loop->quit = false;
	while (!loop->quit) {
#if defined(CABLE_HAVE_LIBEV)
		if (loop->evl != NULL) {
			/* Our own libev loop: one round of events, then look at quit again. */
			ev_run(loop->evl, EVRUN_ONCE);
			continue;
		}
#endif
		if (lws_service(loop->ctx, 0) < 0)
			return CABLE_ERR_IO;
	}
	return loop->code;
}

struct lws_context *
cable_loop_lws_context(struct cable_loop *base)
{
	struct lws_loop *loop = to_loop(base);

	return loop ? loop->ctx : NULL;
}

static void
loop_signal_ready(void *arg, int fd, uint32_t revents)
{
	struct lws_loop *loop = arg;
	struct signalfd_siginfo si;

	(void)revents;
	/* Bounded: at most one read per pending signal kind plus the one that says "empty". */
	for (int i = 0; i < _NSIG; i++) {
		ssize_t n = read(fd, &si, sizeof(si));

		if (n != (ssize_t)sizeof(si))
			break;
		if (si.ssi_signo < _NSIG && loop->sig[si.ssi_signo].cb != NULL)
			loop->sig[si.ssi_signo].cb(loop->sig[si.ssi_signo].arg, (int)si.ssi_signo);
	}
}

int
cable_loop_lws_signal_add(struct cable_loop *base, int signo, cable_loop_signal_cb cb, void *arg)
{
	struct lws_loop *loop = to_loop(base);
	sigset_t one;
	int fd, r = CABLE_ERR_INTERNAL;

	if (loop == NULL || signo <= 0 || signo >= _NSIG || cb == NULL)
		return CABLE_ERR_ARG;
	sigemptyset(&one);
	sigaddset(&one, signo);
	sigaddset(&loop->sigs, signo);
	/*
	 * An ignored signal is discarded before it could wait in the signalfd, and a parent (nohup, a
	 * job runner) may have left it ignored: the program asked for it, so it gets it.
	 */
	signal(signo, SIG_DFL);
	if (sigprocmask(SIG_BLOCK, &one, NULL) != 0) {
		r = CABLE_ERR_IO;
		goto out;
	}
	if ((fd = signalfd(loop->sfd, &loop->sigs, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		r = CABLE_ERR_IO;
		goto out;
	}
	if (loop->sfd < 0) {
		loop->sfd = fd;
		if ((r = lws_loop_fd_add(base, fd, CABLE_LOOP_IN, loop_signal_ready, loop,
		    &loop->sig_watch)) != 0) {
			close(fd);
			loop->sfd = -1;
			goto out;
		}
	}
	loop->sig[signo].cb = cb;
	loop->sig[signo].arg = arg;
	r = 0;
out:
	return r;
}

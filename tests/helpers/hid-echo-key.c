/* Test key: the CTAPHID machine on the socket transport, answering CBOR with a fixed local getInfo. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <cbor.h>

#include "cable/cbor.h"
#include "cable/error.h"
#include "cable/hid.h"
#include "cable/loop.h"
#include "cable/uhid.h"

/*
 * A small poll() loop behind the cable_loop table, private to this helper (programs use the lws
 * loop). Bounded tables; no busy polling: poll sleeps until the next fd event or timer.
 */
#define MAX_WATCH 32
#define MAX_TIMER 16

struct cable_loop_fd {
	int fd;
	uint32_t events;
	cable_loop_fd_cb cb;
	void *arg;
	bool used;
};

struct cable_loop_timer {
	uint64_t at;
	cable_loop_timer_cb cb;
	void *arg;
	bool used, armed;
};

struct poll_loop {
	struct cable_loop base;
	struct cable_loop_fd w[MAX_WATCH];
	struct cable_loop_timer t[MAX_TIMER];
	bool quit;
	int code;
};

static struct poll_loop *
PL(struct cable_loop *l)
{
	return (struct poll_loop *)l;
}

static uint64_t
mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int
pl_fd_add(struct cable_loop *loop, int fd, uint32_t events, cable_loop_fd_cb cb, void *arg,
    struct cable_loop_fd **out)
{
	for (int i = 0; i < MAX_WATCH; i++) {
		struct cable_loop_fd *w = &PL(loop)->w[i];

		if (!w->used) {
			*w = (struct cable_loop_fd){.fd = fd, .events = events, .cb = cb, .arg = arg, .used = true};
			*out = w;
			return 0;
		}
	}
	return CABLE_ERR_NOMEM;
}

static int
pl_fd_set_events(struct cable_loop_fd *w, uint32_t events)
{
	w->events = events;
	return 0;
}

static void
pl_fd_del(struct cable_loop_fd **w)
{
	if (w == NULL || *w == NULL)
		return;
	(*w)->used = false;
	*w = NULL;
}

static int
pl_timer_add(struct cable_loop *loop, uint64_t delay, cable_loop_timer_cb cb, void *arg,
    struct cable_loop_timer **out)
{
	for (int i = 0; i < MAX_TIMER; i++) {
		struct cable_loop_timer *t = &PL(loop)->t[i];

		if (!t->used) {
			*t = (struct cable_loop_timer){.at = mono_usec() + delay, .cb = cb, .arg = arg,
			    .used = true, .armed = true};
			*out = t;
			return 0;
		}
	}
	return CABLE_ERR_NOMEM;
}

static void
pl_timer_del(struct cable_loop_timer **t)
{
	if (t == NULL || *t == NULL)
		return;
	(*t)->used = false;
	(*t)->armed = false;
	*t = NULL;
}

static uint64_t
pl_now(struct cable_loop *loop)
{
	(void)loop;
	return mono_usec();
}

static void
pl_quit(struct cable_loop *loop, int code)
{
	PL(loop)->quit = true;
	PL(loop)->code = code;
}

static const struct cable_loop_ops poll_ops = {
	.fd_add = pl_fd_add,
	.fd_set_events = pl_fd_set_events,
	.fd_del = pl_fd_del,
	.timer_add = pl_timer_add,
	.timer_del = pl_timer_del,
	.now_usec = pl_now,
	.quit = pl_quit,
};

static int
pl_run(struct poll_loop *L)
{
	while (!L->quit) {
		struct pollfd pfd[MAX_WATCH];
		int idx[MAX_WATCH], n = 0, timeout = -1, rc;
		uint64_t now = mono_usec();

		for (int i = 0; i < MAX_TIMER; i++) {
			struct cable_loop_timer *t = &L->t[i];

			if (t->used && t->armed) {
				uint64_t ms = t->at > now ? (t->at - now + 999) / 1000 : 0;

				if (timeout < 0 || ms < (uint64_t)timeout)
					timeout = (int)(ms > 60000 ? 60000 : ms);
			}
		}
		for (int i = 0; i < MAX_WATCH; i++)
			if (L->w[i].used) {
				pfd[n].fd = L->w[i].fd;
				pfd[n].events = (short)(((L->w[i].events & CABLE_LOOP_IN) ? POLLIN : 0) |
				    ((L->w[i].events & CABLE_LOOP_OUT) ? POLLOUT : 0));
				pfd[n].revents = 0;
				idx[n++] = i;
			}
		rc = poll(pfd, (nfds_t)n, timeout);
		if (rc < 0 && errno != EINTR)
			return CABLE_ERR_IO;
		for (int k = 0; k < n && rc > 0 && !L->quit; k++) {
			struct cable_loop_fd *w = &L->w[idx[k]];
			uint32_t rev = 0;

			if (pfd[k].revents & POLLIN)
				rev |= CABLE_LOOP_IN;
			if (pfd[k].revents & POLLOUT)
				rev |= CABLE_LOOP_OUT;
			if (pfd[k].revents & (POLLERR | POLLHUP | POLLNVAL))
				rev |= CABLE_LOOP_ERR | CABLE_LOOP_IN;
			/* The watch may have been removed or reused by an earlier callback. */
			if (rev != 0 && w->used && w->fd == pfd[k].fd)
				w->cb(w->arg, w->fd, rev);
		}
		now = mono_usec();
		for (int i = 0; i < MAX_TIMER && !L->quit; i++) {
			struct cable_loop_timer *t = &L->t[i];

			if (t->used && t->armed && t->at <= now) {
				t->armed = false; /* fired; the owner still frees it with timer_del */
				t->cb(t->arg);
			}
		}
	}
	return L->code;
}

/* The key's behaviour. */
struct echo {
	struct cable_hid_key *key;
	struct poll_loop *loop;
	uint8_t *getinfo;
	size_t getinfo_len;
	uint64_t waiting; /* a selection request that waits for a touch that never comes */
	unsigned long requests, cancels;
};

/* authenticatorGetInfo, CTAP2 canonical: keys ascending, option names by length then bytes. */
static int
build_getinfo(uint8_t **out, size_t *out_len)
{
	static const uint8_t aaguid[16] = {0};
	cbor_item_t *m = cbor_new_definite_map(6), *v = cbor_new_definite_array(2),
	    *o = cbor_new_definite_map(4);
	int r = CABLE_ERR_NOMEM;
	bool ok;

	if (m == NULL || v == NULL || o == NULL)
		goto out;
	ok = cbor_array_push(v, cbor_move(cbor_build_string("FIDO_2_0"))) &&
	    cbor_array_push(v, cbor_move(cbor_build_string("FIDO_2_1"))) &&
	    cbor_map_add(o, (struct cbor_pair){cbor_move(cbor_build_string("rk")), cbor_move(cbor_build_bool(true))}) &&
	    cbor_map_add(o, (struct cbor_pair){cbor_move(cbor_build_string("up")), cbor_move(cbor_build_bool(true))}) &&
	    cbor_map_add(o, (struct cbor_pair){cbor_move(cbor_build_string("uv")), cbor_move(cbor_build_bool(true))}) &&
	    cbor_map_add(o, (struct cbor_pair){cbor_move(cbor_build_string("plat")), cbor_move(cbor_build_bool(false))}) &&
	    cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_uint8(1)), v}) &&
	    cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_uint8(3)), cbor_move(cbor_build_bytestring(aaguid, 16))}) &&
	    cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_uint8(4)), o}) &&
	    cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_uint8(5)), cbor_move(cbor_build_uint16(CABLE_CTAPHID_MAX_MESSAGE))}) &&
	    cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_uint8(7)), cbor_move(cbor_build_uint8(8))}) &&
	    cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_uint8(8)), cbor_move(cbor_build_uint8(128))});
	if (!ok)
		goto out;
	r = cable_cbor_encode(m, out, out_len);
out:
	if (m != NULL)
		cbor_decref(&m);
	if (v != NULL)
		cbor_decref(&v);
	if (o != NULL)
		cbor_decref(&o);
	return r;
}

static void
on_event(void *arg, const struct cable_ctaphid_event *ev)
{
	struct echo *e = arg;
	uint8_t st;

	switch (ev->type) {
	case CABLE_CTAPHID_EVENT_REQUEST:
		e->requests++;
		fprintf(stderr, "hid-echo-key: request %llu cmd 0x%02x len %zu ctap 0x%02x\n",
		    (unsigned long long)ev->request, ev->cmd, ev->len, ev->data[0]);
		if (ev->data[0] == 0x04 && ev->len == 1) {
			uint8_t *resp = malloc(1 + e->getinfo_len);

			if (resp == NULL)
				return;
			resp[0] = 0x00;
			memcpy(resp + 1, e->getinfo, e->getinfo_len);
			(void)cable_hid_key_respond(e->key, ev->request, resp, 1 + e->getinfo_len);
			free(resp);
		} else if (ev->data[0] == 0x0b || ev->data[0] == 0x01) {
			/*
			 * authenticatorSelection, makeCredential (libfido2's touch probe): wait for a
			 * touch that never comes, until cancelled or timed out.
			 */
			e->waiting = ev->request;
			(void)cable_hid_key_set_status(e->key, ev->request, CABLE_CTAPHID_STATUS_UPNEEDED);
		} else {
			st = 0x01; /* CTAP1_ERR_INVALID_COMMAND: not implemented, not advertised */
			(void)cable_hid_key_respond(e->key, ev->request, &st, 1);
		}
		break;
	case CABLE_CTAPHID_EVENT_CANCEL:
		e->cancels++;
		fprintf(stderr, "hid-echo-key: cancel %llu\n", (unsigned long long)ev->request);
		e->waiting = 0;
		break;
	case CABLE_CTAPHID_EVENT_ABORT:
		fprintf(stderr, "hid-echo-key: abort %llu (%s)\n", (unsigned long long)ev->request,
		    cable_errname(ev->reason));
		e->waiting = 0;
		break;
	case CABLE_CTAPHID_EVENT_WINK:
		fprintf(stderr, "hid-echo-key: wink\n");
		break;
	}
}

static void
on_signal(void *arg, int fd, uint32_t revents)
{
	struct poll_loop *L = arg;
	struct signalfd_siginfo si;

	(void)revents;
	if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		pl_quit(&L->base, 0);
}

static void
on_state(void *arg, enum cable_hid_state st)
{
	static const char *names[] = {"", "started", "stopped", "opened", "closed", "failed"};
	struct poll_loop *L = arg;

	fprintf(stderr, "hid-echo-key: device %s\n", names[st]);
	if (st == CABLE_HID_STATE_FAILED)
		pl_quit(&L->base, 1);
}

static void
on_deadline(void *arg)
{
	struct poll_loop *L = arg;

	fprintf(stderr, "hid-echo-key: time limit reached\n");
	pl_quit(&L->base, 3);
}

int
main(int argc, char **argv)
{
	static struct poll_loop L;
	struct cable_ctaphid_config cfg;
	struct cable_hid_transport *tr = NULL;
	char spec[256];
	struct cable_loop_fd *sigw = NULL;
	struct cable_loop_timer *limit = NULL;
	struct echo e = {0};
	sigset_t mask;
	int sfd = -1, rc = 1, r;
	long seconds = 60;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: hid-echo-key SOCKET-PATH|TRANSPORT-SPEC [MAX-SECONDS]\n"
		    "  TRANSPORT-SPEC: uhid, uhid:PATH, uhid-fd:N or socket:PATH\n");
		return 2;
	}
	/* A bare absolute path is a socket; anything else is a transport spec. */
	snprintf(spec, sizeof(spec), "%s%s", argv[1][0] == '/' ? "socket:" : "", argv[1]);
	if (argc == 3)
		seconds = strtol(argv[2], NULL, 10);
	L.base.ops = &poll_ops;
	e.loop = &L;
	if (build_getinfo(&e.getinfo, &e.getinfo_len) != 0)
		goto out;
	cable_ctaphid_config_default(&cfg);
	cfg.on_event = on_event;
	cfg.arg = &e;
	cfg.request_timeout_usec = 30ull * 1000000u;
	/* An emulated guest on a loaded host can be slow between two packets of one message. */
	if (getenv("CABLE_HID_PACKET_TIMEOUT_MS") != NULL)
		cfg.packet_timeout_usec = strtoull(getenv("CABLE_HID_PACKET_TIMEOUT_MS"), NULL, 10) * 1000u;
	if ((e.key = cable_hid_key_new(&L.base, &cfg)) == NULL)
		goto out;
	if ((r = cable_hid_transport_open(&L.base, spec, e.key, NULL, on_state, &L, &tr)) != 0) {
		fprintf(stderr, "hid-echo-key: %s: %s\n", spec, cable_strerror(r));
		goto out;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0 ||
	    pl_fd_add(&L.base, sfd, CABLE_LOOP_IN, on_signal, &L, &sigw) != 0 ||
	    pl_timer_add(&L.base, (uint64_t)seconds * 1000000u, on_deadline, &L, &limit) != 0)
		goto out;
	fprintf(stderr, "hid-echo-key: serving on %s\n", spec);
	rc = pl_run(&L);
	fprintf(stderr, "hid-echo-key: %lu requests, %lu cancels\n", e.requests, e.cancels);
out:
	pl_timer_del(&limit);
	pl_fd_del(&sigw);
	if (sfd >= 0)
		close(sfd);
	cable_hid_transport_free(&tr);
	cable_hid_key_free(&e.key);
	free(e.getinfo);
	return rc;
}

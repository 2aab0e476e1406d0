/* cable-bridged: the phone as a FIDO security key for every program on the desktop (virtual HID key). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cable/cable.h"
#include "cable/ctap-policy.h"
#include "cable/ctaphid.h"
#include "cable/env.h"
#include "cable/error.h"
#include "cable/hid.h"
#include "cable/initiator.h"
#include "cable/loop-lws.h"
#include "cable/session-io.h"
#include "cable/uhid.h"
#include "bridge-dbus.h"
#include "child-stop.h"
#include "qr-present.h"

#define EXIT_USAGE 2
#define STOP_GRACE_USEC (3ull * 1000000)
/* A helper process (QR hook, select command) sent SIGTERM gets this long before SIGKILL;
 * when the daemon stops, this long. */
#define CHILD_GRACE_USEC (2ull * 1000000)
#define CHILD_EXIT_WAIT_MS 1000

enum select_mode { SELECT_SIGNAL, SELECT_AUTO, SELECT_DENY };

struct bridge;

/* One hybrid session and the HID request it answers. */
struct sess {
	struct bridge *b;
	struct cable_initiator *in;
	uint64_t req;      /* the CTAPHID request it answers (0 once answered or given up) */
	uint8_t *fwd;      /* the request as forwarded (for checking the answer) */
	size_t fwd_len;
	char rp_id[256];
	uint64_t t0;
	uint64_t bus_id;           /* the request on D-Bus (bridge-dbus.h), 0 when none */
	const char *cancel_reason; /* why it was cancelled, for D-Bus */
};

struct bridge {
	struct cable_loop *loop;
	struct cable_hid_key *key;
	struct cable_hid_transport *transport;
	struct cable_ctap_policy *policy;
	struct cable_session_io_real *io;
	struct cable_session_io_real_config io_cfg;
	struct qr_presenter *qr;
	struct bridge_dbus *dbus; /* NULL without a session bus */
	struct sess *qr_owner;
	struct sess *cur, *lingering;
	/* A touch request (selection or dummy) waiting for the local user. */
	uint64_t touch_req;
	enum cable_ctap_kind touch_kind;
	struct cable_loop_timer *touch_timer;
	enum select_mode select;
	const char *select_command; /* asks the person; exit 0 = use the phone */
	pid_t select_pid;
	uint32_t select_timeout_s;
	uint32_t timeout_s;
	bool stopping;
	struct cable_loop_timer *stop_timer;
	struct child_stop children;               /* helpers sent SIGTERM, not yet gone */
	struct cable_loop_timer *children_timer; /* their grace period */
	int exit_code;
};

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
logmsg(const char *fmt, ...)
{
	va_list ap;

	fputs("cable-bridged: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t
now_usec(struct bridge *b)
{
	return b->loop->ops->now_usec(b->loop);
}

static void
respond_status(struct bridge *b, uint64_t req, uint8_t status)
{
	(void)cable_hid_key_respond(b->key, req, &status, 1);
}

/* ---- stopping ------------------------------------------------------------------------------- */

static void
maybe_quit(struct bridge *b)
{
	if (b->stopping && b->cur == NULL && b->lingering == NULL)
		b->loop->ops->quit(b->loop, b->exit_code);
}

static void
on_stop_timer(void *arg)
{
	struct bridge *b = arg;

	b->loop->ops->timer_del(&b->stop_timer);
	logmsg("sessions did not close in time; stopping anyway");
	b->loop->ops->quit(b->loop, b->exit_code);
}

/* ---- the end of helper processes (QR hook, select command) ---------------------------------- */

static void
on_stop_children_timer(void *arg)
{
	struct bridge *b = arg;
	size_t n;

	b->loop->ops->timer_del(&b->children_timer);
	if ((n = child_stop_kill(&b->children)) > 0)
		logmsg("%zu helper process(es) (QR hook, select command) still running %llu s after "
		       "SIGTERM: sent SIGKILL",
		    n, (unsigned long long)(CHILD_GRACE_USEC / 1000000));
}

/* child_stop's signalled(): a helper that ignores SIGTERM must not outlive its grace period. */
static void
watch_children(void *arg)
{
	struct bridge *b = arg;

	if (b->children_timer == NULL && child_stop_pending(&b->children) > 0 &&
	    b->loop->ops->timer_add(b->loop, CHILD_GRACE_USEC, on_stop_children_timer, b,
		&b->children_timer) != 0)
		(void)child_stop_kill(&b->children);
}

/* At exit: helpers sent SIGTERM get a moment to finish (reaped here), then SIGKILL. */
static void
finish_children(struct bridge *b)
{
	pid_t pid;
	size_t n;

	for (int waited = 0; child_stop_pending(&b->children) > 0 && waited < CHILD_EXIT_WAIT_MS;
	     waited += 20) {
		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
			child_stop_exited(&b->children, pid);
		if (child_stop_pending(&b->children) > 0)
			(void)usleep(20000);
	}
	if ((n = child_stop_kill(&b->children)) > 0)
		logmsg("%zu helper process(es) did not stop on SIGTERM: sent SIGKILL", n);
}

/* ---- sessions ------------------------------------------------------------------------------- */

static void
sess_free(struct sess **sp)
{
	struct sess *s = *sp;

	if (s == NULL)
		return;
	bridge_dbus_request_abandon(s->b->dbus, &s->bus_id, "the bridge stopped");
	if (s->b->qr_owner == s) {
		qr_presenter_withdraw(s->b->qr);
		s->b->qr_owner = NULL;
		logmsg("QR code withdrawn");
	}
	if (s->b->cur == s)
		s->b->cur = NULL;
	if (s->b->lingering == s)
		s->b->lingering = NULL;
	cable_initiator_free(&s->in);
	free(s->fwd);
	free(s);
	*sp = NULL;
}

static void
withdraw_for(struct sess *s)
{
	if (s->b->qr_owner == s) {
		qr_presenter_withdraw(s->b->qr);
		s->b->qr_owner = NULL;
		logmsg("QR code withdrawn");
	}
}

/* The CTAP status for a session that ended without the phone's answer. */
static uint8_t
failure_status(int err)
{
	if (err == CABLE_ERR_TIMEOUT)
		return CABLE_CTAP_USER_ACTION_TIMEOUT;
	if (err == CABLE_ERR_CANCELLED)
		return CABLE_CTAP_KEEPALIVE_CANCEL;
	return CABLE_CTAP_OTHER;
}

static void
on_response(struct sess *s, const uint8_t *resp, size_t len)
{
	struct bridge *b = s->b;
	uint8_t *out = NULL;
	size_t out_len = 0;
	const char *problem = NULL;
	int r;

	if (s->req == 0)
		return;
	r = cable_ctap_policy_clean_response(b->policy, s->fwd, s->fwd_len, resp, len, &out, &out_len,
	    &problem);
	if (r != 0) {
		logmsg("cannot check the phone's answer: %s", cable_strerror(r));
		respond_status(b, s->req, CABLE_CTAP_OTHER);
	} else {
		if (problem != NULL)
			logmsg("phone's answer: %s", problem);
		if (cable_hid_key_respond(b->key, s->req, out, out_len) == 0)
			logmsg("answered %s for %s: status 0x%02x, %zu bytes, %llu ms after the request",
			    s->fwd[0] == CABLE_CTAP_MAKE_CREDENTIAL ? "makeCredential" : "getAssertion",
			    s->rp_id, out[0], out_len,
			    (unsigned long long)((now_usec(b) - s->t0) / 1000));
		else
			logmsg("the client no longer waits for the answer");
	}
	free(out);
	s->req = 0;
}

static void
on_sess_event(void *arg, const struct cable_initiator_event *ev)
{
	struct sess *s = arg;
	struct bridge *b = s->b;
	const uint8_t *gi;
	size_t gi_len;
	const char *detail = cable_session_io_real_detail(b->io, ev->error);

	bridge_dbus_session_event(b->dbus, &s->bus_id, s->rp_id, s->fwd[0], ev, s->cancel_reason,
	    detail);
	switch (ev->type) {
	case CABLE_INITIATOR_EV_QR:
		if (qr_presenter_show(b->qr, ev->url) != 0)
			logmsg("could not show the QR code everywhere");
		b->qr_owner = s;
		logmsg("QR code shown for %s: scan it with the phone", s->rp_id);
		break;
	case CABLE_INITIATOR_EV_PHONE_FOUND:
		logmsg("phone found (advert %04x, tunnel domain %u)", ev->uuid16, ev->domain_id);
		break;
	case CABLE_INITIATOR_EV_CONNECTED:
		withdraw_for(s);
		logmsg("connected to the phone");
		break;
	case CABLE_INITIATOR_EV_WAITING:
		/* The post-handshake message has come: what the phone supports refines our getInfo. */
		if (cable_initiator_getinfo(s->in, &gi, &gi_len) == 0 &&
		    cable_ctap_policy_refine(b->policy, gi, gi_len) != 0)
			logmsg("the phone's getInfo is malformed; keeping ours");
		if (s->req != 0)
			(void)cable_hid_key_set_status(b->key, s->req, CABLE_CTAPHID_STATUS_UPNEEDED);
		logmsg("request sent; waiting for the person to confirm on the phone");
		break;
	case CABLE_INITIATOR_EV_RESPONSE:
		on_response(s, ev->response, ev->response_len);
		break;
	case CABLE_INITIATOR_EV_DONE:
	case CABLE_INITIATOR_EV_FAILED:
	case CABLE_INITIATOR_EV_CANCELLED:
		withdraw_for(s);
		if (ev->type == CABLE_INITIATOR_EV_FAILED)
			logmsg("session failed in stage %s: %s%s%s", cable_initiator_stage_name(ev->stage),
			    cable_strerror(ev->error), *detail != '\0' ? ": " : "", detail);
		else if (ev->type == CABLE_INITIATOR_EV_CANCELLED)
			logmsg("session cancelled in stage %s", cable_initiator_stage_name(ev->stage));
		else
			logmsg("session closed");
		if (s->req != 0) {
			respond_status(b, s->req, failure_status(ev->type == CABLE_INITIATOR_EV_DONE ?
			    CABLE_ERR_SESSION : ev->error));
			s->req = 0;
		}
		sess_free(&s);
		maybe_quit(b);
		break;
	}
}

static int
ensure_io(struct bridge *b)
{
	int r;

	if (b->io != NULL)
		return 0;
	if ((r = cable_session_io_real_new(b->loop, &b->io_cfg, &b->io)) != 0)
		logmsg("cannot set up Bluetooth and the tunnel client: %s", cable_strerror(r));
	return r;
}

/* Starts the hybrid session for a real request (the decision's out is the request to forward). */
static void
start_session(struct bridge *b, uint64_t req, struct cable_ctap_decision *d)
{
	struct cable_initiator_config icfg;
	struct sess *s;
	int r;

	if (b->cur != NULL) {
		/* The previous session has answered and lingers for the phone to close: keep one. */
		if (b->lingering != NULL)
			sess_free(&b->lingering);
		b->lingering = b->cur;
		b->cur = NULL;
	}
	if (ensure_io(b) != 0 || (s = calloc(1, sizeof(*s))) == NULL) {
		respond_status(b, req, CABLE_CTAP_OTHER);
		return;
	}
	s->b = b;
	s->req = req;
	s->fwd = d->out;
	s->fwd_len = d->out_len;
	d->out = NULL;
	s->t0 = now_usec(b);
	memcpy(s->rp_id, d->rp_id, sizeof(s->rp_id));
	memset(&icfg, 0, sizeof(icfg));
	icfg.env = cable_env_system();
	icfg.request = s->fwd;
	icfg.request_len = s->fwd_len;
	icfg.supports_linking = false;
	icfg.timeout_ms = b->timeout_s * 1000u;
	icfg.event = on_sess_event;
	icfg.event_arg = s;
	b->cur = s;
	logmsg("%s for %s: starting a hybrid session",
	    d->cmd == CABLE_CTAP_MAKE_CREDENTIAL ? "makeCredential" : "getAssertion", s->rp_id);
	if ((r = cable_initiator_new(cable_session_io_real_get(b->io), &icfg, &s->in)) != 0 ||
	    (r = cable_initiator_start(s->in)) != 0) {
		logmsg("cannot start the session: %s", cable_strerror(r));
		respond_status(b, req, CABLE_CTAP_OTHER);
		s->req = 0;
		sess_free(&s);
	}
}

/* ---- touch requests ------------------------------------------------------------------------- */

static void
touch_end(struct bridge *b, bool approved, bool timed_out)
{
	uint64_t req = b->touch_req;

	b->loop->ops->timer_del(&b->touch_timer);
	b->touch_req = 0;
	if (b->select_pid > 0) {
		child_stop_term(&b->children, b->select_pid);
		b->select_pid = 0;
	}
	if (req == 0)
		return;
	respond_status(b, req, cable_ctap_policy_touch_answer(b->touch_kind, approved, timed_out));
	logmsg("%s request %s", cable_ctap_kind_name(b->touch_kind),
	    timed_out ? "timed out" : approved ? "approved: the phone is picked" : "denied");
}

static void
on_touch_timer(void *arg)
{
	touch_end(arg, false, true);
}

static void
start_touch(struct bridge *b, uint64_t req, enum cable_ctap_kind kind)
{
	if (b->select == SELECT_AUTO || b->select == SELECT_DENY) {
		respond_status(b, req, cable_ctap_policy_touch_answer(kind, b->select == SELECT_AUTO, false));
		logmsg("%s request answered at once (--select %s)", cable_ctap_kind_name(kind),
		    b->select == SELECT_AUTO ? "auto" : "deny");
		return;
	}
	b->touch_req = req;
	b->touch_kind = kind;
	(void)cable_hid_key_set_status(b->key, req, CABLE_CTAPHID_STATUS_UPNEEDED);
	if (b->loop->ops->timer_add(b->loop, (uint64_t)b->select_timeout_s * 1000000, on_touch_timer, b,
	    &b->touch_timer) != 0) {
		touch_end(b, false, true);
		return;
	}
	if (b->select_command != NULL &&
	    (b->select_pid = hook_spawn(b->select_command, "CABLE_TOUCH_KIND", cable_ctap_kind_name(kind))) > 0) {
		logmsg("%s request: asking with --select-command", cable_ctap_kind_name(kind));
		return;
	}
	b->select_pid = 0;
	logmsg("%s request: to use the phone, send SIGUSR1 (systemctl --user kill -s USR1 "
	    "cable-bridged); SIGUSR2 declines", cable_ctap_kind_name(kind));
}

/* ---- the HID side ---------------------------------------------------------------------------- */

static void
on_request(struct bridge *b, const struct cable_ctaphid_event *ev)
{
	struct cable_ctap_decision d;
	int r;

	if ((r = cable_ctap_policy_decide(b->policy, now_usec(b), ev->data, ev->len, &d)) != 0) {
		logmsg("request 0x%02x: %s", ev->len > 0 ? ev->data[0] : 0, cable_strerror(r));
		respond_status(b, ev->request, CABLE_CTAP_OTHER);
		return;
	}
	if (b->stopping) {
		respond_status(b, ev->request, CABLE_CTAP_OPERATION_DENIED);
		cable_ctap_decision_clear(&d);
		return;
	}
	switch (d.action) {
	case CABLE_CTAP_ACTION_LOCAL:
		if (d.kind != CABLE_CTAP_KIND_GET_INFO)
			logmsg("%s%s%s (command 0x%02x, %zu listed): answered locally with 0x%02x",
			    cable_ctap_kind_name(d.kind), d.rp_id[0] != '\0' ? " for " : "", d.rp_id, d.cmd,
			    d.list_len, d.out[0]);
		(void)cable_hid_key_respond(b->key, ev->request, d.out, d.out_len);
		break;
	case CABLE_CTAP_ACTION_TOUCH:
		start_touch(b, ev->request, d.kind);
		break;
	case CABLE_CTAP_ACTION_FORWARD:
		start_session(b, ev->request, &d);
		break;
	}
	cable_ctap_decision_clear(&d);
}

static void
on_hid_event(void *arg, const struct cable_ctaphid_event *ev)
{
	struct bridge *b = arg;

	switch (ev->type) {
	case CABLE_CTAPHID_EVENT_REQUEST:
		on_request(b, ev);
		break;
	case CABLE_CTAPHID_EVENT_CANCEL:
	case CABLE_CTAPHID_EVENT_ABORT:
		/* The machine has answered the client already (0x2D on CANCEL, 0x2F on timeout). */
		if (ev->request == b->touch_req) {
			b->touch_req = 0;
			touch_end(b, false, false); /* stops the timer and the select command; no answer */
			logmsg("%s request cancelled by the client", cable_ctap_kind_name(b->touch_kind));
		}
		if (b->cur != NULL && b->cur->req == ev->request) {
			logmsg("request cancelled by the client: ending the session");
			b->cur->req = 0;
			b->cur->cancel_reason = "cancelled by the client";
			cable_initiator_cancel(b->cur->in);
		}
		break;
	case CABLE_CTAPHID_EVENT_WINK:
		break;
	}
}

static void
on_hid_state(void *arg, enum cable_hid_state state)
{
	struct bridge *b = arg;

	switch (state) {
	case CABLE_HID_STATE_STARTED:
		logmsg("virtual security key ready");
		break;
	case CABLE_HID_STATE_STOPPED:
		logmsg("the kernel stopped the virtual key");
		break;
	case CABLE_HID_STATE_OPENED:
	case CABLE_HID_STATE_CLOSED:
		break;
	case CABLE_HID_STATE_FAILED:
		logmsg("the HID device failed; stopping");
		b->exit_code = 1;
		b->loop->ops->quit(b->loop, 1);
		break;
	}
}

/* ---- signals --------------------------------------------------------------------------------- */

/* Children (QR hook, select command) that exited; the select command's status is the answer. */
static void
reap(struct bridge *b)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		qr_presenter_child_exited(b->qr, pid);
		child_stop_exited(&b->children, pid);
		/* Every helper sent SIGTERM has gone: no wake-up needed (an idle daemon makes no calls). */
		if (b->children_timer != NULL && child_stop_pending(&b->children) == 0)
			b->loop->ops->timer_del(&b->children_timer);
		if (pid == b->select_pid) {
			b->select_pid = 0;
			if (b->touch_req != 0)
				touch_end(b, WIFEXITED(status) && WEXITSTATUS(status) == 0, false);
		}
	}
}

static void
on_signal(void *arg, int signo)
{
	struct bridge *b = arg;

	switch (signo) {
	case SIGUSR1:
	case SIGUSR2:
		if (b->touch_req != 0)
			touch_end(b, signo == SIGUSR1, false);
		break;
	case SIGCHLD:
		reap(b);
		break;
	default:
		if (b->stopping)
			break;
		logmsg("stopping (signal %d)", signo);
		b->stopping = true;
		touch_end(b, false, false);
		if (b->cur != NULL) {
			b->cur->cancel_reason = "the bridge is stopping";
			cable_initiator_cancel(b->cur->in);
		}
		if (b->lingering != NULL)
			cable_initiator_cancel(b->lingering->in);
		if (b->cur == NULL && b->lingering == NULL) {
			b->loop->ops->quit(b->loop, b->exit_code);
			break;
		}
		(void)b->loop->ops->timer_add(b->loop, STOP_GRACE_USEC, on_stop_timer, b, &b->stop_timer);
		break;
	}
}

/* ---- D-Bus --------------------------------------------------------------------------------- */

/* Cancel(id) over D-Bus: the client is told OPERATION_DENIED, as when a person declines on a key. */
static int
on_dbus_cancel(void *arg, uint64_t id)
{
	struct bridge *b = arg;
	struct sess *s = b->cur != NULL && b->cur->bus_id == id ? b->cur :
	    b->lingering != NULL && b->lingering->bus_id == id ? b->lingering : NULL;

	if (s == NULL)
		return CABLE_ERR_STATE;
	if (s->req != 0) {
		respond_status(b, s->req, CABLE_CTAP_OPERATION_DENIED);
		s->req = 0;
	}
	s->cancel_reason = "cancelled over D-Bus";
	cable_initiator_cancel(s->in);
	return 0;
}

/* ---- main ------------------------------------------------------------------------------------ */

static void
usage(FILE *f)
{
	fputs("usage: cable-bridged [options]\n"
	      "The phone as a FIDO security key for every program on this desktop: a virtual CTAP2\n"
	      "HID key whose real requests become caBLE (hybrid) sessions with a phone.\n\n"
	      "  --foreground           a person watches this terminal: show QR codes here too\n"
	      "  --hid SPEC             uhid (default), uhid:PATH, uhid-fd:N, or socket:PATH\n"
	      "  --tunnel-server URL    tunnel server override (URL or DOMAIN=URL)\n"
	      "  --tunnel-ca FILE       PEM CA for a self-signed tunnel server\n"
	      "  --adapter hciN         Bluetooth adapter (default: the first powered one)\n"
	      "  --qr-command CMD       run CMD (sh -c) to show a QR code: %f = PNG file, %u = URL;\n"
	      "                         its process group gets SIGTERM when the code is withdrawn,\n"
	      "                         SIGKILL if still running 2 s later\n"
	      "  --qr-dir DIR           where qr.png and qr.url are written\n"
	      "                         (default $XDG_RUNTIME_DIR/cable-bridge)\n"
	      "  --select MODE          touch/selection requests: signal (default: wait for SIGUSR1\n"
	      "                         to pick the phone, SIGUSR2 to decline), auto, deny\n"
	      "  --select-command CMD   ask the person with CMD (sh -c; exit 0 = use the phone,\n"
	      "                         anything else declines; SIGTERM when the request ends)\n"
	      "  --select-timeout SEC   how long a touch request waits (default 30)\n"
	      "  --timeout SEC          a hybrid session's limit (default 120)\n"
	      "  --no-dbus              no org.cablebridge.Bridge1 interface on the session bus\n"
	      "  --no-ui                do not start the QR window (org.cablebridge.BridgeUI)\n"
	      "  --help\n",
	    f);
}

static bool
parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return false;
	*out = (uint32_t)v;
	return true;
}

int
main(int argc, char **argv)
{
	enum { O_FG = 256, O_HID, O_SERVER, O_CA, O_ADAPTER, O_QRCMD, O_QRDIR, O_SELECT, O_SELTO, O_TIMEOUT,
		O_NODBUS, O_NOUI, O_SELCMD };
	static const struct option opts[] = {
		{"foreground", no_argument, NULL, O_FG},
		{"hid", required_argument, NULL, O_HID},
		{"tunnel-server", required_argument, NULL, O_SERVER},
		{"tunnel-ca", required_argument, NULL, O_CA},
		{"adapter", required_argument, NULL, O_ADAPTER},
		{"qr-command", required_argument, NULL, O_QRCMD},
		{"qr-dir", required_argument, NULL, O_QRDIR},
		{"select", required_argument, NULL, O_SELECT},
		{"select-timeout", required_argument, NULL, O_SELTO},
		{"select-command", required_argument, NULL, O_SELCMD},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"no-dbus", no_argument, NULL, O_NODBUS},
		{"no-ui", no_argument, NULL, O_NOUI},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct bridge b;
	struct cable_ctaphid_config hcfg;
	struct cable_ctap_policy_config pcfg;
	struct qr_presenter_config qcfg;
	struct bridge_dbus_config dcfg;
	bool use_dbus = true, use_ui = true;
	char why[256];
	const char *hid = "uhid";
	char qr_dir[4096];
	uint8_t rnd[4];
	int c, r, code = 1;

	memset(&b, 0, sizeof(b));
	b.children.signalled = watch_children;
	b.children.arg = &b;
	memset(&qcfg, 0, sizeof(qcfg));
	b.select = SELECT_SIGNAL;
	b.select_timeout_s = 30;
	b.timeout_s = 120;
	qr_dir[0] = '\0';
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_FG: qcfg.terminal = true; break;
		case O_HID: hid = optarg; break;
		case O_SERVER: b.io_cfg.tunnel_server = optarg; break;
		case O_CA: b.io_cfg.tunnel_ca = optarg; break;
		case O_ADAPTER: b.io_cfg.adapter = optarg; break;
		case O_QRCMD: qcfg.command = optarg; break;
		case O_QRDIR:
			if (snprintf(qr_dir, sizeof(qr_dir), "%s", optarg) >= (int)sizeof(qr_dir)) {
				fprintf(stderr, "cable-bridged: --qr-dir too long\n");
				return EXIT_USAGE;
			}
			break;
		case O_SELECT:
			if (strcmp(optarg, "signal") == 0)
				b.select = SELECT_SIGNAL;
			else if (strcmp(optarg, "auto") == 0)
				b.select = SELECT_AUTO;
			else if (strcmp(optarg, "deny") == 0)
				b.select = SELECT_DENY;
			else {
				fprintf(stderr, "cable-bridged: --select must be signal, auto or deny\n");
				return EXIT_USAGE;
			}
			break;
		case O_SELCMD: b.select_command = optarg; break;
		case O_SELTO:
			if (!parse_u32(optarg, 1, 600, &b.select_timeout_s)) {
				fprintf(stderr, "cable-bridged: --select-timeout must be 1..600 seconds\n");
				return EXIT_USAGE;
			}
			break;
		case O_TIMEOUT:
			if (!parse_u32(optarg, 1, 600, &b.timeout_s)) {
				fprintf(stderr, "cable-bridged: --timeout must be 1..600 seconds\n");
				return EXIT_USAGE;
			}
			break;
		case O_NODBUS: use_dbus = false; break;
		case O_NOUI: use_ui = false; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "cable-bridged: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (qr_dir[0] == '\0' && getenv("XDG_RUNTIME_DIR") != NULL &&
	    snprintf(qr_dir, sizeof(qr_dir), "%s/cable-bridge", getenv("XDG_RUNTIME_DIR")) >= (int)sizeof(qr_dir))
		qr_dir[0] = '\0';
	if (qr_dir[0] == '\0' && qcfg.command == NULL && !qcfg.terminal)
		logmsg("warning: no XDG_RUNTIME_DIR, no --qr-command and no --foreground: QR codes are "
		    "shown nowhere");
	qcfg.dir = qr_dir[0] != '\0' ? qr_dir : NULL;
	qcfg.stop = &b.children;
	/* Children of a hook that exit are reaped through SIGCHLD in the loop. */
	if ((r = qr_presenter_new(&qcfg, &b.qr)) != 0) {
		logmsg("%s", cable_strerror(r));
		return 1;
	}
	cable_ctap_policy_config_default(&pcfg);
	if ((b.policy = cable_ctap_policy_new(&pcfg)) == NULL) {
		logmsg("out of memory");
		goto out;
	}
	if ((b.loop = cable_loop_lws_new(NULL)) == NULL) {
		logmsg("cannot create the event loop");
		goto out;
	}
	cable_ctaphid_config_default(&hcfg);
	/* A restarted daemon should not hand out the CIDs its predecessor's clients still use. */
	if (cable_env_random(cable_env_system(), rnd, sizeof(rnd)) == 0)
		hcfg.first_cid = ((uint32_t)rnd[0] << 24 | (uint32_t)rnd[1] << 16 | (uint32_t)rnd[2] << 8 |
		    rnd[3]) & 0x7fffffffu;
	if (hcfg.first_cid == 0)
		hcfg.first_cid = 1;
	hcfg.capabilities = CABLE_CTAPHID_CAP_CBOR | CABLE_CTAPHID_CAP_NMSG;
	hcfg.max_message = pcfg.max_msg_size;
	/* The session's own limits answer first; this is the backstop. */
	hcfg.request_timeout_usec = ((uint64_t)b.timeout_s + 15) * 1000000;
	hcfg.on_event = on_hid_event;
	hcfg.arg = &b;
	if ((b.key = cable_hid_key_new(b.loop, &hcfg)) == NULL) {
		logmsg("cannot create the CTAPHID machine");
		goto out;
	}
	if (cable_loop_lws_signal_add(b.loop, SIGTERM, on_signal, &b) != 0 ||
	    cable_loop_lws_signal_add(b.loop, SIGINT, on_signal, &b) != 0 ||
	    cable_loop_lws_signal_add(b.loop, SIGUSR1, on_signal, &b) != 0 ||
	    cable_loop_lws_signal_add(b.loop, SIGUSR2, on_signal, &b) != 0 ||
	    cable_loop_lws_signal_add(b.loop, SIGCHLD, on_signal, &b) != 0) {
		logmsg("cannot handle signals");
		goto out;
	}
	if ((r = cable_hid_transport_open(b.loop, hid, b.key, NULL, on_hid_state, &b, &b.transport)) != 0) {
		logmsg("cannot create the HID device (%s): %s", hid, cable_strerror(r));
		if (strncmp(hid, "uhid", 4) == 0 && r == CABLE_ERR_IO)
			logmsg("/dev/uhid needs privilege: see cable-uhid-helper in docs/cable-bridged.md");
		goto out;
	}
	if (use_dbus) {
		memset(&dcfg, 0, sizeof(dcfg));
		dcfg.loop = b.loop;
		dcfg.version = cable_version();
		dcfg.ui_name = use_ui ? BRIDGE_DBUS_UI_NAME : NULL;
		dcfg.cancel = on_dbus_cancel;
		dcfg.arg = &b;
		if (bridge_dbus_open(&dcfg, &b.dbus, why, sizeof(why)) != 0)
			logmsg("%s: no D-Bus interface; QR codes go to the QR files and the hook", why);
		else
			logmsg("on the session bus as %s", BRIDGE_DBUS_NAME);
	}
	logmsg("running: HID %s, QR codes in %s%s%s", hid, qcfg.dir != NULL ? qcfg.dir : "(no directory)",
	    qcfg.command != NULL ? ", hook " : "", qcfg.command != NULL ? qcfg.command : "");
	if ((r = cable_loop_lws_run(b.loop)) != 0) {
		logmsg("event loop: %s", cable_strerror(r));
		goto out;
	}
	code = b.exit_code;
out:
	if (b.loop != NULL)
		b.loop->ops->timer_del(&b.touch_timer);
	if (b.loop != NULL)
		b.loop->ops->timer_del(&b.stop_timer);
	sess_free(&b.cur);
	sess_free(&b.lingering);
	b.children.signalled = NULL; /* from here on finish_children() waits, no timer */
	if (b.loop != NULL)
		b.loop->ops->timer_del(&b.children_timer);
	qr_presenter_withdraw(b.qr);
	if (b.select_pid > 0)
		child_stop_term(&b.children, b.select_pid);
	b.select_pid = 0;
	finish_children(&b);
	cable_hid_transport_free(&b.transport);
	cable_hid_key_free(&b.key);
	bridge_dbus_free(&b.dbus);
	cable_session_io_real_free(&b.io);
	cable_loop_lws_free(&b.loop);
	qr_presenter_free(&b.qr);
	cable_ctap_policy_free(&b.policy);
	if (code == 0)
		logmsg("stopped");
	return code;
}

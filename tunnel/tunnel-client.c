/* The caBLE tunnel client on libwebsockets: new/connect/contact requests, relaying, errors. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "cable/bytes.h"
#include "cable/error.h"
#include "cable/loop-lws.h"
#include "cable/tunnel.h"
#include "cable/tunnel-headers.h"
#include "cable/tunnel-url.h"
#include "relay-queue.h"
#include "tunnel-target.h"

#define SUBPROTOCOL "fido.cable"
#define NDOMAINS 65536


struct domain_override {
	struct domain_override *next;
	uint16_t id;
	char *url;
};

struct cable_tunnel_client {
	struct cable_loop *loop;
	struct lws_context *ctx;
	struct lws_vhost *vh;     /* ws:// only: no trust store */
	struct lws_vhost *vh_tls; /* made at the first wss:// connection */
	struct cable_tunnel_client_config cfg;
	char *ca_file;
	char *server_url;
	struct domain_override *overrides;
	lws_dll2_owner_t tunnels;
};

enum tunnel_state { T_CONNECTING, T_OPEN, T_CLOSING, T_DONE };

struct cable_tunnel {
	lws_dll2_t list;
	struct cable_tunnel_client *c;
	struct lws *wsi;
	struct cable_tunnel_cbs cbs;
	void *arg;
	enum tunnel_state state;
	struct cable_tunnel_target tgt;
	char *client_payload_hex; /* contact only */
	bool signal;
	bool is_new;
	int redirects;
	int err;        /* decided failure, delivered through closed() */
	int close_status;
	int http_status;
	char detail[CABLE_TUNNEL_URL_PART_MAX + 96]; /* libwebsockets' words for a failed connection, printable ASCII */
	struct cable_tunnel_info info;
	struct cable_relay_queue out;
	struct cable_relay_msg *partial;
	uint64_t last_activity;
	/* Loop timers (exact on any event library): deadline, and work done outside lws callbacks. */
	struct cable_loop_timer *timer; /* connect deadline, then idle checks */
	struct cable_loop_timer *later; /* closed() delivery and redirects */
};

static int tunnel_connect(struct cable_tunnel *t);

/* ---- URLs ---------------------------------------------------------------------------------- */

int
cable_tunnel_url_check(const char *url)
{
	struct cable_tunnel_target tg;
	int r;

	if (url == NULL || strncasecmp(url, "http", 4) == 0)
		return CABLE_ERR_TUNNEL_URL;
	if ((r = cable_tunnel_target_parse(url, &tg)) != 0)
		return r;
	if (strchr(tg.path, '?') || strchr(tg.path, '#'))
		return CABLE_ERR_TUNNEL_URL;
	return 0;
}

int
cable_tunnel_client_server_url(const struct cable_tunnel_client *c, uint16_t domain_id, char **url)
{
	char host[CABLE_HOST_MAX];
	const struct domain_override *o;
	char *s = NULL;
	int r;

	for (o = c->overrides; o != NULL; o = o->next)
		if (o->id == domain_id)
			break;
	if (o != NULL)
		s = strdup(o->url);
	else if (c->server_url != NULL)
		s = strdup(c->server_url);
	else {
		if ((r = cable_tunnel_domain(domain_id, host, sizeof(host))) != 0)
			return r;
		if (asprintf(&s, "wss://%s", host) < 0)
			s = NULL;
	}
	if (s == NULL)
		return CABLE_ERR_NOMEM;
	*url = s;
	return 0;
}

/* Base URL plus the path the core builds ("wss://x/cable/..." minus "wss://x"). */
static int
target_for(struct cable_tunnel *t, uint16_t domain_id, const char *core_url)
{
	char *base = NULL;
	size_t bl;
	int r;

	if ((r = cable_tunnel_client_server_url(t->c, domain_id, &base)) != 0)
		return r;
	if ((r = cable_tunnel_target_parse(base, &t->tgt)) != 0)
		goto out;
	/* A trailing slash on the prefix would make an empty segment. */
	bl = strlen(t->tgt.path);
	while (bl > 0 && t->tgt.path[bl - 1] == '/')
		t->tgt.path[--bl] = '\0';
	if (bl + strlen(core_url + 7) >= sizeof(t->tgt.path)) {
		r = CABLE_ERR_TUNNEL_URL;
		goto out;
	}
	memcpy(t->tgt.path + bl, core_url + 7, strlen(core_url + 7) + 1);
	r = 0;
out:
	free(base);
	return r;
}

/* ---- lifecycle helpers -------------------------------------------------------------------- */

static uint64_t
mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
detach_wsi(struct cable_tunnel *t)
{
	if (t->wsi != NULL) {
		lws_set_opaque_user_data(t->wsi, NULL);
		lws_set_timeout(t->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		lws_cancel_service(t->c->ctx);
		t->wsi = NULL;
	}
}

static void
set_timer(struct cable_tunnel *t, struct cable_loop_timer **slot, uint64_t usec,
    cable_loop_timer_cb cb)
{
	struct cable_loop *loop = t->c->loop;

	loop->ops->timer_del(slot);
	/* On OOM the timer is missing: the tunnel then ends only by its connection. */
	loop->ops->timer_add(loop, usec, cb, t, slot);
}

static void
cancel_timer(struct cable_tunnel *t, struct cable_loop_timer **slot)
{
	if (t->c != NULL)
		t->c->loop->ops->timer_del(slot);
}

static void
deliver_closed(void *arg)
{
	struct cable_tunnel *t = arg;

	if (t->state != T_DONE)
		return;
	cancel_timer(t, &t->timer);
	if (t->cbs.closed)
		t->cbs.closed(t->arg, t, t->err);
}

/* Ends the tunnel with err; closed() runs from a timer, never inside an lws callback of ours. */
static void
finish(struct cable_tunnel *t, int err)
{
	if (t->state == T_DONE)
		return;
	t->state = T_DONE;
	t->err = err;
	detach_wsi(t);
	cable_relay_queue_clear(&t->out);
	cable_relay_msg_free(&t->partial);
	cancel_timer(t, &t->timer);
	set_timer(t, &t->later, 0, deliver_closed);
}

static void
timer_fired(void *arg)
{
	struct cable_tunnel *t = arg;
	uint64_t now = mono_usec(), idle = (uint64_t)t->c->cfg.idle_timeout_ms * 1000u;

	if (t->state == T_CONNECTING) {
		finish(t, CABLE_ERR_TIMEOUT);
		return;
	}
	if (t->state == T_DONE)
		return;
	/* Idle: activity moves last_activity forward; the timer only looks at it when it fires. */
	if (now >= t->last_activity + idle) {
		finish(t, CABLE_ERR_TIMEOUT);
		return;
	}
	set_timer(t, &t->timer, t->last_activity + idle - now, timer_fired);
}

static void
redirect_later(void *arg)
{
	struct cable_tunnel *t = arg;
	int r;

	if (t->state != T_CONNECTING)
		return;
	if ((r = tunnel_connect(t)) != 0)
		finish(t, r);
}

/* ---- lws callback ------------------------------------------------------------------------- */

static int
http_status_error(int status)
{
	return status == 410 ? CABLE_ERR_TUNNEL_GONE : CABLE_ERR_TUNNEL_HTTP;
}

/* Picks the error for a request that never became a WebSocket, or follows a redirect. */
static void
connection_error(struct cable_tunnel *t, struct lws *wsi, const char *why)
{
	char loc[CABLE_TUNNEL_URL_PART_MAX * 2];
	struct cable_tunnel_target tg;
	int status = (int)lws_http_client_http_response(wsi);
	int n, r;

	if (t->err != 0) {
		finish(t, t->err);
		return;
	}
	if (why != NULL) {
		size_t i;

		for (i = 0; why[i] != '\0' && i + 1 < sizeof(t->detail); i++)
			t->detail[i] = why[i] >= 0x20 && why[i] < 0x7f ? why[i] : '?';
		t->detail[i] = '\0';
	}
	if (status == 0) {
		char code[8];

		/* The status line is in the headers even when lws did not record it. */
		if (lws_hdr_copy(wsi, code, sizeof(code), WSI_TOKEN_HTTP) >= 3)
			status = atoi(code);
	}
	if (status >= 300 && status < 400 && status != 304) {
		t->http_status = status;
		if (t->redirects >= CABLE_TUNNEL_MAX_REDIRECTS) {
			finish(t, CABLE_ERR_TUNNEL_REDIRECTS);
			return;
		}
		n = lws_hdr_copy(wsi, loc, sizeof(loc), WSI_TOKEN_HTTP_LOCATION);
		if (n <= 0) {
			finish(t, CABLE_ERR_TUNNEL_HTTP);
			return;
		}
		if (loc[0] == '/') {
			/* Relative: same scheme and authority; parsed like any URL (it is untrusted). */
			char abs[sizeof(loc) + CABLE_TUNNEL_URL_PART_MAX + 8];

			snprintf(abs, sizeof(abs), "%s://%s%s", t->tgt.tls ? "wss" : "ws", t->tgt.hostport,
			    loc);
			r = cable_tunnel_target_parse(abs, &tg);
		} else {
			r = cable_tunnel_target_parse(loc, &tg);
		}
		if (r != 0) {
			finish(t, r);
			return;
		}
		/* Never from TLS down to plain text, even on loopback. */
		if (t->tgt.tls && !tg.tls) {
			finish(t, CABLE_ERR_TUNNEL_INSECURE);
			return;
		}
		if (tg.path[0] == '\0')
			memcpy(tg.path, "/", 2);
		t->tgt = tg;
		t->redirects++;
		/* This wsi is on its way out; the next request starts outside its callback. */
		lws_set_opaque_user_data(wsi, NULL);
		t->wsi = NULL;
		set_timer(t, &t->later, 0, redirect_later);
		return;
	}
	if (status >= 400) {
		t->http_status = status;
		finish(t, http_status_error(status));
		return;
	}
	if (status > 0 && status != 101) {
		t->http_status = status;
		finish(t, CABLE_ERR_TUNNEL_HTTP);
		return;
	}
	if (status == 101) {
		char proto[64];

		/* lws itself refuses a subprotocol it did not offer. */
		n = lws_hdr_copy(wsi, proto, sizeof(proto), WSI_TOKEN_PROTOCOL);
		finish(t, n <= 0 || strcmp(proto, SUBPROTOCOL) != 0 ? CABLE_ERR_TUNNEL_SUBPROTOCOL :
		    CABLE_ERR_TUNNEL_HTTP);
		return;
	}
	if (why != NULL && (strcasestr(why, "tls") || strcasestr(why, "ssl") ||
	    strcasestr(why, "cert") || strcasestr(why, "verif")))
		finish(t, CABLE_ERR_TUNNEL_TLS);
	else
		finish(t, CABLE_ERR_TUNNEL_CONNECT);
}

/* The 101 answer: subprotocol, routing ID, connection signal. Only here are its headers readable. */
static int
check_answer(struct cable_tunnel *t, struct lws *wsi)
{
	char buf[64];
	int n;

	n = lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_PROTOCOL);
	if (n <= 0 || strcmp(buf, SUBPROTOCOL) != 0) {
		t->err = CABLE_ERR_TUNNEL_SUBPROTOCOL;
		return -1;
	}
	n = lws_hdr_custom_copy(wsi, buf, sizeof(buf), "x-cable-routing-id:", 19);
	if (n > 0) {
		if (cable_tunnel_routing_header_parse(buf, (size_t)n, t->info.routing_id) == 0)
			t->info.has_routing_id = true;
		else if (t->is_new) {
			t->err = CABLE_ERR_TUNNEL_ROUTING_ID;
			return -1;
		}
	}
	if (t->is_new && !t->info.has_routing_id) {
		t->err = CABLE_ERR_TUNNEL_ROUTING_ID;
		return -1;
	}
	n = lws_hdr_custom_copy(wsi, buf, sizeof(buf), "x-cable-signal-connection:", 26);
	t->info.signal_connection = n > 0;
	return 0;
}

static int
on_receive(struct cable_tunnel *t, struct lws *wsi, const void *in, size_t len)
{
	struct cable_relay_msg *m;
	uint32_t max = t->c->cfg.max_message;

	if (!lws_frame_is_binary(wsi)) {
		t->err = CABLE_ERR_TUNNEL_TEXT_FRAME;
		lws_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, NULL, 0);
		finish(t, t->err);
		return -1;
	}
	t->last_activity = mono_usec();
	if (t->partial == NULL) {
		size_t want = len + lws_remaining_packet_payload(wsi);

		if ((t->partial = cable_relay_msg_new(want < max ? want : max)) == NULL) {
			finish(t, CABLE_ERR_NOMEM);
			return -1;
		}
	}
	if (cable_relay_msg_append(&t->partial, in, len, max) != 0) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
		finish(t, CABLE_ERR_TUNNEL_MESSAGE_SIZE);
		return -1;
	}
	if (!lws_is_final_fragment(wsi))
		return 0;
	m = t->partial;
	t->partial = NULL;
	if (t->cbs.message)
		t->cbs.message(t->arg, t, cable_relay_msg_payload(m), m->len);
	cable_relay_msg_free(&m);
	/* The owner may have freed or closed the tunnel from its callback. */
	return lws_get_opaque_user_data(wsi) == NULL ? -1 : 0;
}

static int
on_writeable(struct cable_tunnel *t, struct lws *wsi)
{
	struct cable_relay_msg *m;
	int n;

	if ((m = cable_relay_queue_pop(&t->out)) != NULL) {
		n = lws_write(wsi, cable_relay_msg_payload(m), m->len, LWS_WRITE_BINARY);
		if (n < 0 || (size_t)n < m->len) {
			cable_relay_msg_free(&m);
			finish(t, CABLE_ERR_TUNNEL_CLOSED);
			return -1;
		}
		cable_relay_msg_free(&m);
		t->last_activity = mono_usec();
		if (t->out.head != NULL || t->state == T_CLOSING)
			lws_callback_on_writable(wsi);
		return 0;
	}
	if (t->state == T_CLOSING) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
		finish(t, 0);
		return -1;
	}
	return 0;
}

static int
client_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct cable_tunnel *t = lws_get_opaque_user_data(wsi);
	const uint8_t *p;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		if (t == NULL)
			return -1;
		if (t->client_payload_hex != NULL) {
			unsigned char **pp = in, *end = *pp + len;

			if (lws_add_http_header_by_name(wsi,
			    (const unsigned char *)"X-caBLE-Client-Payload:",
			    (const unsigned char *)t->client_payload_hex,
			    (int)strlen(t->client_payload_hex), pp, end))
				return -1;
			if (t->signal && lws_add_http_header_by_name(wsi,
			    (const unsigned char *)"X-caBLE-Signal-Connection:",
			    (const unsigned char *)"true", 4, pp, end))
				return -1;
		}
		return 0;
	case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
		if (t == NULL)
			return -1;
		return check_answer(t, wsi);
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (t == NULL)
			return -1;
		t->state = t->state == T_CLOSING ? T_CLOSING : T_OPEN;
		t->last_activity = mono_usec();
		set_timer(t, &t->timer, (uint64_t)t->c->cfg.idle_timeout_ms * 1000, timer_fired);
		if (t->out.head != NULL || t->state == T_CLOSING)
			lws_callback_on_writable(wsi);
		if (t->cbs.opened)
			t->cbs.opened(t->arg, t, &t->info);
		return lws_get_opaque_user_data(wsi) == NULL ? -1 : 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (t == NULL)
			return 0;
		connection_error(t, wsi, in);
		/* This wsi must never reach t again: the owner may free t once closed() has run. */
		lws_set_opaque_user_data(wsi, NULL);
		if (t->wsi == wsi)
			t->wsi = NULL;
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (t == NULL)
			return -1;
		return on_receive(t, wsi, in, len);
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (t == NULL)
			return -1;
		return on_writeable(t, wsi);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (t != NULL && len >= 2) {
			p = in;
			t->close_status = p[0] << 8 | p[1];
		}
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (t == NULL)
			return 0;
		t->wsi = NULL;
		lws_set_opaque_user_data(wsi, NULL);
		finish(t, t->close_status == LWS_CLOSE_STATUS_NORMAL ? 0 : CABLE_ERR_TUNNEL_CLOSED);
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		if (t == NULL)
			return 0;
		/* Gone without one of the callbacks above (lws internal failure). */
		t->wsi = NULL;
		lws_set_opaque_user_data(wsi, NULL);
		finish(t, CABLE_ERR_TUNNEL_CONNECT);
		return 0;
	default:
		break;
	}
	return 0;
}

/* The client's own idle timer replaces lws's validity pings (see tunnel-server.c). */
static const lws_retry_bo_t client_retry = {.secs_since_valid_ping = 0, .secs_since_valid_hangup = 0};

static const struct lws_protocols client_protocols[] = {
	{SUBPROTOCOL, client_cb, 0, 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- public -------------------------------------------------------------------------------- */

int
cable_tunnel_client_new(struct cable_loop *loop, const struct cable_tunnel_client_config *cfg,
    struct cable_tunnel_client **out)
{
	struct cable_tunnel_client *c = NULL;
	struct lws_context_creation_info info;
	struct lws_context *ctx = cable_loop_lws_context(loop);
	int r = CABLE_ERR_INTERNAL;

	if (ctx == NULL || out == NULL) {
		r = CABLE_ERR_ARG;
		goto out;
	}
	if (cfg != NULL && cfg->server_url != NULL && (r = cable_tunnel_url_check(cfg->server_url)) != 0)
		goto out;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	c->loop = loop;
	c->ctx = ctx;
	if (cfg != NULL)
		c->cfg = *cfg;
	if (c->cfg.connect_timeout_ms == 0)
		c->cfg.connect_timeout_ms = 20000;
	if (c->cfg.idle_timeout_ms == 0)
		c->cfg.idle_timeout_ms = 180000;
	if (c->cfg.max_message == 0)
		c->cfg.max_message = CABLE_TUNNEL_MAX_MESSAGE_DEFAULT;
	if (c->cfg.max_queue == 0)
		c->cfg.max_queue = 64;
	if ((cfg && cfg->ca_file && (c->ca_file = strdup(cfg->ca_file)) == NULL) ||
	    (cfg && cfg->server_url && (c->server_url = strdup(cfg->server_url)) == NULL)) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	c->cfg.ca_file = c->ca_file;
	c->cfg.server_url = c->server_url;
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = client_protocols;
	info.retry_and_idle_policy = &client_retry;
	info.vhost_name = "cable-tunnel-client";
	/* No client TLS here: loading the trust store costs ~18 ms of CPU, wasted for ws:// only. */
	if ((c->vh = lws_create_vhost(ctx, &info)) == NULL) {
		r = CABLE_ERR_IO;
		goto out;
	}
	/* A CA file that cannot be read is still reported now, not at the first wss:// connection. */
	if (c->ca_file != NULL && access(c->ca_file, R_OK) != 0) {
		r = CABLE_ERR_TUNNEL_TLS;
		goto out;
	}
	*out = c;
	c = NULL;
	r = 0;
out:
	cable_tunnel_client_free(&c);
	return r;
}

void
cable_tunnel_client_free(struct cable_tunnel_client **pc)
{
	struct cable_tunnel_client *c;
	struct domain_override *o, *n;

	if (pc == NULL || (c = *pc) == NULL)
		return;
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&c->tunnels)) {
		struct cable_tunnel *t = lws_container_of(d, struct cable_tunnel, list);

		detach_wsi(t);
		t->state = T_DONE;
		t->err = CABLE_ERR_CANCELLED;
		cancel_timer(t, &t->timer);
		cancel_timer(t, &t->later);
		lws_dll2_remove(&t->list);
		t->c = NULL;
	} lws_end_foreach_dll_safe(d, d1);
	if (c->vh_tls != NULL)
		lws_vhost_destroy(c->vh_tls);
	if (c->vh != NULL)
		lws_vhost_destroy(c->vh);
	for (o = c->overrides; o != NULL; o = n) {
		n = o->next;
		free(o->url);
		free(o);
	}
	free(c->ca_file);
	free(c->server_url);
	free(c);
	*pc = NULL;
}

int
cable_tunnel_client_set_server(struct cable_tunnel_client *c, uint16_t domain_id, const char *url)
{
	struct domain_override *o, **pp;
	int r;

	for (pp = &c->overrides; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->id == domain_id)
			break;
	if (url == NULL) {
		if ((o = *pp) != NULL) {
			*pp = o->next;
			free(o->url);
			free(o);
		}
		return 0;
	}
	if ((r = cable_tunnel_url_check(url)) != 0)
		return r;
	if ((o = *pp) == NULL) {
		if ((o = calloc(1, sizeof(*o))) == NULL)
			return CABLE_ERR_NOMEM;
		o->id = domain_id;
		*pp = o;
	}
	free(o->url);
	if ((o->url = strdup(url)) == NULL)
		return CABLE_ERR_NOMEM;
	return 0;
}

int
cable_tunnel_client_add_server_option(struct cable_tunnel_client *c, const char *opt)
{
	const char *eq;
	char *e, *s;
	unsigned long id;
	int r;

	if (opt == NULL)
		return CABLE_ERR_ARG;
	eq = strchr(opt, '=');
	if (eq == NULL || strstr(opt, "://") < eq) {
		if ((r = cable_tunnel_url_check(opt)) != 0)
			return r;
		if ((s = strdup(opt)) == NULL)
			return CABLE_ERR_NOMEM;
		free(c->server_url);
		c->server_url = s;
		c->cfg.server_url = s;
		return 0;
	}
	if (!isdigit((unsigned char)opt[0]))
		return CABLE_ERR_TUNNEL_URL;
	errno = 0;
	id = strtoul(opt, &e, 10);
	if (errno || e != eq || id >= NDOMAINS)
		return CABLE_ERR_TUNNEL_URL;
	return cable_tunnel_client_set_server(c, (uint16_t)id, eq + 1);
}

/* The TLS-capable vhost, made once, on first use: the system store, or only the given CA. */
static int
tls_vhost(struct cable_tunnel_client *c, struct lws_vhost **out)
{
	struct lws_context_creation_info info;

	if (c->vh_tls == NULL) {
		memset(&info, 0, sizeof(info));
		info.port = CONTEXT_PORT_NO_LISTEN;
		info.protocols = client_protocols;
		info.retry_and_idle_policy = &client_retry;
		info.vhost_name = "cable-tunnel-client-tls";
		info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		if (c->ca_file != NULL) {
			/* A test CA replaces the system store, so that only it is trusted. */
			info.client_ssl_ca_filepath = c->ca_file;
			info.options |= LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
		}
		if ((c->vh_tls = lws_create_vhost(c->ctx, &info)) == NULL)
			return c->ca_file ? CABLE_ERR_TUNNEL_TLS : CABLE_ERR_IO;
	}
	*out = c->vh_tls;
	return 0;
}

/*
 * libwebsockets fails a connection whose name does not resolve (or whose socket cannot be made)
 * at once, without a reason. When its attempt was quick, looking the name up again is quick too
 * and tells the two apart; a slow one was the resolver timing out, and is not repeated.
 */
static void
explain_connect_failure(struct cable_tunnel *t, uint64_t took_usec)
{
	struct addrinfo hints, *res = NULL;
	int r;

	if (took_usec >= 500000) {
		snprintf(t->detail, sizeof(t->detail), "looking up %s failed after %llu ms",
		    t->tgt.host, (unsigned long long)(took_usec / 1000));
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	r = getaddrinfo(t->tgt.host, NULL, &hints, &res);
	if (r != 0)
		snprintf(t->detail, sizeof(t->detail), "cannot resolve %s: %s", t->tgt.host,
		    gai_strerror(r));
	else
		snprintf(t->detail, sizeof(t->detail), "cannot open a connection to %s",
		    t->tgt.hostport);
	if (res != NULL)
		freeaddrinfo(res);
}

static int
tunnel_connect(struct cable_tunnel *t)
{
	struct lws_client_connect_info ci;
	char origin[CABLE_TUNNEL_URL_PART_MAX + 8];
	struct lws_vhost *vh = t->c->vh;
	struct lws *w;
	uint64_t t0;
	int r;

	if (t->tgt.tls && (r = tls_vhost(t->c, &vh)) != 0)
		return r;
	memset(&ci, 0, sizeof(ci));
	/* Chrome's Origin is the URL's own origin. */
	snprintf(origin, sizeof(origin), "%s://%s", t->tgt.tls ? "wss" : "ws", t->tgt.hostport);
	ci.context = t->c->ctx;
	ci.vhost = vh;
	ci.address = t->tgt.host;
	ci.port = t->tgt.port;
	ci.path = t->tgt.path;
	ci.host = t->tgt.hostport;
	ci.origin = origin;
	ci.protocol = SUBPROTOCOL;
	ci.local_protocol_name = SUBPROTOCOL;
	ci.ssl_connection = LCCSCF_HTTP_NO_FOLLOW_REDIRECT | (t->tgt.tls ? LCCSCF_USE_SSL : 0);
	ci.opaque_user_data = t;
	t->wsi = NULL;
	/* Failures, even immediate ones, come back through the callback and then closed(). */
	t0 = mono_usec();
	w = lws_client_connect_via_info(&ci);
	if (t->state == T_DONE || t->wsi != NULL)
		return 0;
	if (w == NULL) {
		explain_connect_failure(t, mono_usec() - t0);
		return CABLE_ERR_TUNNEL_CONNECT;
	}
	t->wsi = w;
	return 0;
}

static int
tunnel_open(struct cable_tunnel_client *c, uint16_t domain_id, const char *core_url,
    const struct cable_tunnel_cbs *cbs, void *arg, struct cable_tunnel **out,
    struct cable_tunnel **tp)
{
	struct cable_tunnel *t;
	int r;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return CABLE_ERR_NOMEM;
	t->c = c;
	t->cbs = *cbs;
	t->arg = arg;
	t->state = T_CONNECTING;
	if ((r = target_for(t, domain_id, core_url)) != 0) {
		free(t);
		return r;
	}
	lws_dll2_add_tail(&t->list, &c->tunnels);
	*tp = t;
	*out = t;
	return 0;
}

static int
tunnel_start(struct cable_tunnel *t)
{
	int r;

	set_timer(t, &t->timer, (uint64_t)t->c->cfg.connect_timeout_ms * 1000, timer_fired);
	if ((r = tunnel_connect(t)) != 0)
		finish(t, r);
	return 0;
}

int
cable_tunnel_open_new(struct cable_tunnel_client *c, uint16_t domain_id,
    const uint8_t tunnel_id[CABLE_TUNNEL_ID_LEN], const struct cable_tunnel_cbs *cbs, void *arg,
    struct cable_tunnel **out)
{
	struct cable_tunnel *t = NULL;
	char *url = NULL;
	int r;

	if (c == NULL || tunnel_id == NULL || cbs == NULL || out == NULL)
		return CABLE_ERR_ARG;
	if ((r = cable_tunnel_new_url("x", tunnel_id, &url)) != 0)
		return r;
	r = tunnel_open(c, domain_id, url, cbs, arg, out, &t);
	free(url);
	if (r != 0)
		return r;
	t->is_new = true;
	return tunnel_start(t);
}

int
cable_tunnel_open_connect(struct cable_tunnel_client *c, uint16_t domain_id,
    const uint8_t routing_id[CABLE_ROUTING_ID_LEN], const uint8_t tunnel_id[CABLE_TUNNEL_ID_LEN],
    const struct cable_tunnel_cbs *cbs, void *arg, struct cable_tunnel **out)
{
	struct cable_tunnel *t = NULL;
	char *url = NULL;
	int r;

	if (c == NULL || routing_id == NULL || tunnel_id == NULL || cbs == NULL || out == NULL)
		return CABLE_ERR_ARG;
	if ((r = cable_tunnel_connect_url("x", routing_id, tunnel_id, &url)) != 0)
		return r;
	r = tunnel_open(c, domain_id, url, cbs, arg, out, &t);
	free(url);
	if (r != 0)
		return r;
	return tunnel_start(t);
}

int
cable_tunnel_open_contact(struct cable_tunnel_client *c, uint16_t domain_id,
    const uint8_t *contact_id, size_t contact_id_len, const uint8_t *client_payload,
    size_t client_payload_len, bool signal, const struct cable_tunnel_cbs *cbs, void *arg,
    struct cable_tunnel **out)
{
	struct cable_tunnel *t = NULL;
	char *url = NULL, *hex = NULL;
	int r;

	if (c == NULL || contact_id == NULL || cbs == NULL || out == NULL ||
	    (client_payload == NULL && client_payload_len != 0) || client_payload_len > 1024)
		return CABLE_ERR_ARG;
	if ((r = cable_tunnel_contact_url("x", contact_id, contact_id_len, &url)) != 0)
		return r;
	if ((hex = malloc(2 * client_payload_len + 1)) == NULL) {
		free(url);
		return CABLE_ERR_NOMEM;
	}
	/* Chrome sends the payload as uppercase hex. */
	cable_hex_encode(client_payload, client_payload_len, hex, true);
	r = tunnel_open(c, domain_id, url, cbs, arg, out, &t);
	free(url);
	if (r != 0) {
		free(hex);
		return r;
	}
	t->client_payload_hex = hex;
	t->signal = signal;
	return tunnel_start(t);
}

int
cable_tunnel_send(struct cable_tunnel *t, const uint8_t *data, size_t len)
{
	struct cable_relay_msg *m;

	if (t == NULL || (data == NULL && len != 0))
		return CABLE_ERR_ARG;
	if (t->state == T_DONE || t->state == T_CLOSING || t->c == NULL)
		return CABLE_ERR_STATE;
	if (len == 0 || len > CABLE_TUNNEL_MAX_MESSAGE_DEFAULT)
		return CABLE_ERR_TOO_BIG;
	if ((m = cable_relay_msg_new(len)) == NULL)
		return CABLE_ERR_NOMEM;
	memcpy(cable_relay_msg_payload(m), data, len);
	m->len = len;
	if (cable_relay_queue_push(&t->out, m, t->c->cfg.max_queue, SIZE_MAX) != 0) {
		cable_relay_msg_free(&m);
		return CABLE_ERR_TOO_BIG;
	}
	if (t->state == T_OPEN && t->wsi != NULL)
		lws_callback_on_writable(t->wsi);
	return 0;
}

void
cable_tunnel_close(struct cable_tunnel *t)
{
	if (t == NULL || t->state == T_DONE || t->state == T_CLOSING)
		return;
	if (t->state == T_CONNECTING) {
		finish(t, CABLE_ERR_CANCELLED);
		return;
	}
	t->state = T_CLOSING;
	if (t->wsi != NULL)
		lws_callback_on_writable(t->wsi);
}

void
cable_tunnel_free(struct cable_tunnel **pt)
{
	struct cable_tunnel *t;

	if (pt == NULL || (t = *pt) == NULL)
		return;
	detach_wsi(t);
	if (t->c != NULL) {
		cancel_timer(t, &t->timer);
		cancel_timer(t, &t->later);
		lws_dll2_remove(&t->list);
	}
	cable_relay_queue_clear(&t->out);
	cable_relay_msg_free(&t->partial);
	free(t->client_payload_hex);
	free(t);
	*pt = NULL;
}

int
cable_tunnel_close_status(const struct cable_tunnel *t)
{
	return t ? t->close_status : 0;
}

const char *
cable_tunnel_error_detail(const struct cable_tunnel *t)
{
	return t != NULL ? t->detail : "";
}

int
cable_tunnel_http_status(const struct cable_tunnel *t)
{
	return t ? t->http_status : 0;
}

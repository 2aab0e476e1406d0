/* The caBLE tunnel server: pairs /cable/new and /cable/connect WebSockets and relays between them. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <arpa/inet.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>
#include <time.h>

#include <libwebsockets.h>

#include "cable/bytes.h"
#include "cable/error.h"
#include "cable/loop-lws.h"
#include "cable/tunnel-server.h"
#include "cable/tunnel-url.h"
#include "relay-queue.h"
#include "source-table.h"
#include "tunnel-target.h"

#define SUBPROTOCOL "fido.cable"
/*
 * lws keeps an rx buffer of this size per WebSocket for the connection's whole life; it is the
 * largest per-tunnel cost, so it stays small: longer messages arrive in pieces and are joined.
 */
#define SRV_RX_BUFFER 128
#define SIDE_NEW 0
#define SIDE_CONNECT 1
#define SIDE_HTTP 2

static const double lifetime_buckets[] = {0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300};
#define NBUCKETS (sizeof(lifetime_buckets) / sizeof(lifetime_buckets[0]))

static const char *const reject_names[CABLE_TUNNEL_REJECT_COUNT] = {
	[CABLE_TUNNEL_REJECT_PATH] = "path",
	[CABLE_TUNNEL_REJECT_SUBPROTOCOL] = "subprotocol",
	[CABLE_TUNNEL_REJECT_HEADER_SIZE] = "header_size",
	[CABLE_TUNNEL_REJECT_SOURCE_LIMIT] = "source_limit",
	[CABLE_TUNNEL_REJECT_PENDING_LIMIT] = "pending_limit",
	[CABLE_TUNNEL_REJECT_DUPLICATE] = "duplicate",
	[CABLE_TUNNEL_REJECT_UNKNOWN] = "unknown_tunnel",
	[CABLE_TUNNEL_REJECT_ROUTING_ID] = "routing_id",
	[CABLE_TUNNEL_REJECT_CONTACT] = "contact",
	[CABLE_TUNNEL_REJECT_DRAINING] = "draining",
	[CABLE_TUNNEL_REJECT_TEXT_FRAME] = "text_frame",
	[CABLE_TUNNEL_REJECT_MESSAGE_SIZE] = "message_size",
	[CABLE_TUNNEL_REJECT_MESSAGE_COUNT] = "message_count",
	[CABLE_TUNNEL_REJECT_LIFETIME] = "lifetime",
	[CABLE_TUNNEL_REJECT_CONNECT_WAIT] = "connect_wait",
	[CABLE_TUNNEL_REJECT_QUEUE] = "queue_full",
};

struct tunnel {
	struct tunnel *hnext;
	struct lws *wsi[2];             /* SIDE_NEW, SIDE_CONNECT */
	struct cable_relay_queue q[2];  /* waiting to be written to that side */
	lws_dll2_t live;                /* srv->live, in creation order */
	lws_dll2_t pending;             /* srv->pending while nobody has joined */
	uint64_t created_us;
	uint32_t msgs[2];               /* messages each side has sent */
	uint8_t id[CABLE_TUNNEL_ID_LEN];
	uint8_t established;            /* bit per side */
	bool joined;                    /* a connect side came */
	bool shut;                      /* one side left: flush to the other, then close it */
};

/* Per TCP connection (lws opaque user data), from accept to destroy. */
struct conn {
	lws_dll2_t list;                 /* srv->conns */
	struct lws *wsi;
	struct tunnel *t;
	struct cable_source *src;
	struct cable_relay_msg *partial; /* message being joined from fragments */
	char *body;                      /* HTTP response body waiting for writeable */
	size_t body_len;
	uint64_t rx_base;                /* bytes received before the current request */
	uint8_t side;
	bool kill;                       /* close at the next writeable, without flushing */
	bool proxied;                    /* from a trusted proxy: the client is in X-Real-IP */
};

struct proxy_addr {
	uint8_t len; /* 4 or 16 */
	uint8_t addr[16];
};

struct cable_tunnel_server {
	struct cable_tunnel_server_config cfg;
	struct cable_loop *loop;
	struct lws_context *ctx;
	struct lws_vhost *vh;
	struct cable_source_table *sources;
	lws_dll2_owner_t conns;
	struct tunnel **bucket;
	size_t nbuckets;
	uint64_t seed;
	lws_dll2_owner_t live, pending;
	/* Loop timers, not lws suls: they stay exact on every event library the loop may use. */
	struct cable_loop_timer *timer_live, *timer_pending;
	struct cable_tunnel_server_stats st;
	uint64_t hist[NBUCKETS + 1];
	double hist_sum;
	bool draining;
	bool tls;
	struct proxy_addr proxies[CABLE_TUNNEL_MAX_PROXIES];
	size_t nproxies;
	void (*idle)(void *arg);
	void *idle_arg;
	char rid_hex[2 * CABLE_ROUTING_ID_LEN + 1];
};

static uint64_t
now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
srv_log(struct cable_tunnel_server *srv, enum cable_tunnel_log_level level, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (srv->cfg.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	srv->cfg.log(srv->cfg.log_arg, level, buf);
}

/* Logs show only the first 4 hex digits of a tunnel ID: enough to follow, not enough to join. */
static void
id_prefix(const uint8_t *id, char out[5])
{
	cable_hex_encode(id, 2, out, false);
}

static void
reject(struct cable_tunnel_server *srv, enum cable_tunnel_reject why, const char *peer,
    const uint8_t *id)
{
	char p[5] = "-";

	if (id)
		id_prefix(id, p);
	srv->st.rejected[why]++;
	srv_log(srv, CABLE_TUNNEL_LOG_WARN, "rejected %s: peer %s tunnel %s", reject_names[why],
	    peer ? peer : "-", p);
}

const char *
cable_tunnel_reject_name(enum cable_tunnel_reject r)
{
	if ((unsigned)r >= CABLE_TUNNEL_REJECT_COUNT)
		return "unknown";
	return reject_names[r];
}

/* ---- the tunnel table ---------------------------------------------------------------------- */

static size_t
tunnel_bucket(const struct cable_tunnel_server *srv, const uint8_t id[CABLE_TUNNEL_ID_LEN])
{
	uint64_t a, b, h;

	/* Tunnel IDs come from clients: a secret seed keeps them from aiming at one bucket. */
	memcpy(&a, id, 8);
	memcpy(&b, id + 8, 8);
	h = (a ^ srv->seed) * 0x9e3779b97f4a7c15ull;
	h ^= h >> 31;
	h = (h ^ b) * 0xbf58476d1ce4e5b9ull;
	h ^= h >> 29;
	return (size_t)h & (srv->nbuckets - 1);
}

static struct tunnel *
tunnel_find(struct cable_tunnel_server *srv, const uint8_t id[CABLE_TUNNEL_ID_LEN])
{
	struct tunnel *t = srv->bucket[tunnel_bucket(srv, id)];

	for (; t != NULL; t = t->hnext)
		if (memcmp(t->id, id, CABLE_TUNNEL_ID_LEN) == 0)
			return t;
	return NULL;
}

static void
tunnel_table_grow(struct cable_tunnel_server *srv)
{
	size_t old = srv->nbuckets;
	struct tunnel **ob = srv->bucket, **nb;

	if ((nb = calloc(old * 2, sizeof(*nb))) == NULL)
		return;
	srv->bucket = nb;
	srv->nbuckets = old * 2;
	for (size_t i = 0; i < old; i++) {
		struct tunnel *t = ob[i], *n;

		for (; t != NULL; t = n) {
			size_t j = tunnel_bucket(srv, t->id);

			n = t->hnext;
			t->hnext = nb[j];
			nb[j] = t;
		}
	}
	free(ob);
}

static void
schedule_live(struct cable_tunnel_server *srv);
static void
schedule_pending(struct cable_tunnel_server *srv);

static struct tunnel *
tunnel_new(struct cable_tunnel_server *srv, const uint8_t id[CABLE_TUNNEL_ID_LEN])
{
	struct tunnel *t;
	size_t b;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	memcpy(t->id, id, CABLE_TUNNEL_ID_LEN);
	t->created_us = now_usec();
	b = tunnel_bucket(srv, id);
	t->hnext = srv->bucket[b];
	srv->bucket[b] = t;
	lws_dll2_add_tail(&t->live, &srv->live);
	lws_dll2_add_tail(&t->pending, &srv->pending);
	srv->st.tunnels_total++;
	if (srv->live.count > srv->nbuckets)
		tunnel_table_grow(srv);
	if (srv->live.count == 1)
		schedule_live(srv);
	if (srv->pending.count == 1)
		schedule_pending(srv);
	return t;
}

static void
tunnel_free(struct cable_tunnel_server *srv, struct tunnel *t)
{
	struct tunnel **pp = &srv->bucket[tunnel_bucket(srv, t->id)];
	double secs = (double)(now_usec() - t->created_us) / 1e6;
	size_t i;

	for (; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == t) {
			*pp = t->hnext;
			break;
		}
	}
	for (i = 0; i < NBUCKETS && secs > lifetime_buckets[i]; i++)
		;
	srv->hist[i]++;
	srv->hist_sum += secs;
	lws_dll2_remove(&t->live);
	lws_dll2_remove(&t->pending);
	srv->st.queued_bytes -= t->q[0].bytes + t->q[1].bytes;
	cable_relay_queue_clear(&t->q[0]);
	cable_relay_queue_clear(&t->q[1]);
	free(t);
	if (srv->draining && srv->live.count == 0 && srv->idle != NULL) {
		void (*idle)(void *) = srv->idle;

		srv->idle = NULL;
		idle(srv->idle_arg);
	}
}

/* ---- ending tunnels -------------------------------------------------------------------------- */

/*
 * Closes one side from outside its own callback: lws sends the close frame when the writeable
 * callback returns -1. A side that is not yet a WebSocket is simply dropped.
 */
static void
side_kill(struct tunnel *t, int side, enum lws_close_status status, const char *why)
{
	struct lws *wsi = t->wsi[side];
	struct conn *c;

	if (wsi == NULL || (c = lws_get_opaque_user_data(wsi)) == NULL)
		return;
	c->kill = true;
	if (t->established & (1u << side)) {
		lws_close_reason(wsi, status, (unsigned char *)(uintptr_t)why, strlen(why));
		lws_callback_on_writable(wsi);
	} else {
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		lws_cancel_service(lws_get_context(wsi));
	}
}

/* A side is gone (destroyed): the other one gets what is queued for it, then a normal close. */
static void
side_gone(struct cable_tunnel_server *srv, struct conn *c, struct lws *wsi)
{
	struct tunnel *t = c->t;
	int side = c->side, other = !c->side;

	c->t = NULL;
	if (t == NULL || t->wsi[side] != wsi)
		return;
	t->wsi[side] = NULL;
	t->established &= (uint8_t) ~(1u << side);
	srv->st.queued_bytes -= t->q[side].bytes;
	cable_relay_queue_clear(&t->q[side]);
	if (t->wsi[other] == NULL) {
		tunnel_free(srv, t);
		return;
	}
	t->shut = true;
	if (t->established & (1u << other))
		lws_callback_on_writable(t->wsi[other]);
}

static void
expire_live(void *arg)
{
	struct cable_tunnel_server *srv = arg;
	uint64_t now = now_usec(), life = (uint64_t)srv->cfg.lifetime_ms * 1000u;

	/* Tunnels are in creation order and share one lifetime: the head is always the oldest. */
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&srv->live)) {
		struct tunnel *t = lws_container_of(d, struct tunnel, live);

		if (t->created_us + life > now)
			break;
		/* Off the list now, so that it is counted once even if closing takes a while. */
		lws_dll2_remove(&t->live);
		reject(srv, CABLE_TUNNEL_REJECT_LIFETIME, NULL, t->id);
		side_kill(t, SIDE_NEW, LWS_CLOSE_STATUS_POLICY_VIOLATION, "lifetime");
		side_kill(t, SIDE_CONNECT, LWS_CLOSE_STATUS_POLICY_VIOLATION, "lifetime");
	} lws_end_foreach_dll_safe(d, d1);
	schedule_live(srv);
}

static void
expire_pending(void *arg)
{
	struct cable_tunnel_server *srv = arg;
	uint64_t now = now_usec(), wait = (uint64_t)srv->cfg.connect_wait_ms * 1000u;

	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&srv->pending)) {
		struct tunnel *t = lws_container_of(d, struct tunnel, pending);

		if (t->created_us + wait > now)
			break;
		lws_dll2_remove(&t->pending);
		reject(srv, CABLE_TUNNEL_REJECT_CONNECT_WAIT, NULL, t->id);
		side_kill(t, SIDE_NEW, LWS_CLOSE_STATUS_POLICY_VIOLATION, "no peer");
	} lws_end_foreach_dll_safe(d, d1);
	schedule_pending(srv);
}

static void
schedule_live(struct cable_tunnel_server *srv)
{
	struct lws_dll2 *d = lws_dll2_get_head(&srv->live);
	struct tunnel *t;
	uint64_t due, now = now_usec();

	if (d == NULL)
		return;
	t = lws_container_of(d, struct tunnel, live);
	due = t->created_us + (uint64_t)srv->cfg.lifetime_ms * 1000u;
	srv->loop->ops->timer_del(&srv->timer_live);
	/* Without a timer the tunnel still ends: its sides are closed when their peers go. */
	srv->loop->ops->timer_add(srv->loop, due > now ? due - now : 1, expire_live, srv,
	    &srv->timer_live);
}

static void
schedule_pending(struct cable_tunnel_server *srv)
{
	struct lws_dll2 *d = lws_dll2_get_head(&srv->pending);
	struct tunnel *t;
	uint64_t due, now = now_usec();

	if (d == NULL)
		return;
	t = lws_container_of(d, struct tunnel, pending);
	due = t->created_us + (uint64_t)srv->cfg.connect_wait_ms * 1000u;
	srv->loop->ops->timer_del(&srv->timer_pending);
	srv->loop->ops->timer_add(srv->loop, due > now ? due - now : 1, expire_pending, srv,
	    &srv->timer_pending);
}

/* ---- HTTP side --------------------------------------------------------------------------------- */

static void
peer_name(struct lws *wsi, char *buf, size_t len)
{
	if (lws_get_peer_simple(wsi, buf, len) == NULL)
		snprintf(buf, len, "?");
}

static int
http_refuse(struct lws *wsi, unsigned int status)
{
	/* lws writes status line, headers and a short body in one go; >0 tells lws we answered. */
	if (lws_return_http_status(wsi, status, NULL))
		return -1;
	return 1;
}

static uint64_t
tcp_bytes_received(struct lws *wsi)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(lws_get_socket_fd(wsi), IPPROTO_TCP, TCP_INFO, &ti, &l) != 0 ||
	    l < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received))
		return 0;
	return ti.tcpi_bytes_received;
}

/*
 * Size of the request head. lws 4.1 cannot list unknown headers, so on plain TCP the kernel's
 * count of bytes received for this request is used (it covers every header); under TLS the
 * headers lws knows are summed, and lws's own buffer (a little larger) bounds the rest.
 */
static size_t
request_bytes(struct cable_tunnel_server *srv, struct lws *wsi, struct conn *c)
{
	size_t n = 0;
	uint64_t b;
	int l;

	for (int tok = 0; tok < WSI_TOKEN_COUNT; tok++)
		if ((l = lws_hdr_total_length(wsi, (enum lws_token_indexes)tok)) > 0)
			n += (size_t)l;
	if ((l = lws_hdr_custom_length(wsi, "x-cable-client-payload:", 23)) > 0)
		n += (size_t)l;
	if (!srv->tls && (b = tcp_bytes_received(wsi)) > c->rx_base && b - c->rx_base > n)
		n = (size_t)(b - c->rx_base);
	return n;
}

/* True if the comma-separated Sec-WebSocket-Protocol list names fido.cable. */
static bool
wants_subprotocol(struct lws *wsi)
{
	char buf[256];

	if (lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_PROTOCOL) <= 0)
		return false;
	return cable_tunnel_token_listed(buf, SUBPROTOCOL);
}

/* Address bytes of a socket address (IPv4-mapped IPv6 as IPv4); 0 if neither family. */
static size_t
addr_bytes(const struct sockaddr *sa, uint8_t out[16])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return 4;
	}
	if (sa->sa_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;

		if (memcmp(a, mapped, 12) == 0) {
			memcpy(out, a + 12, 4);
			return 4;
		}
		memcpy(out, a, 16);
		return 16;
	}
	return 0;
}

/* A numeric address into a sockaddr; false if it is not one. */
static bool
parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *sl)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		*sl = sizeof(*s4);
		return true;
	}
	if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		*sl = sizeof(*s6);
		return true;
	}
	return false;
}

static bool
is_trusted_proxy(const struct cable_tunnel_server *srv, const struct sockaddr *sa)
{
	uint8_t a[16];
	size_t n = addr_bytes(sa, a);

	for (size_t i = 0; n && i < srv->nproxies; i++)
		if (srv->proxies[i].len == n && memcmp(srv->proxies[i].addr, a, n) == 0)
			return true;
	return false;
}

/*
 * Behind a trusted proxy the per-source limit applies to the client it names in X-Real-IP (or
 * to the proxy itself when the header is missing or not an address); also gives the name to log.
 * Returns 0 to go on, or the callback's answer (429 sent).
 */
static int
proxied_source(struct cable_tunnel_server *srv, struct lws *wsi, struct conn *c, char *peer,
    size_t plen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char ip[64];
	int n;

	n = lws_hdr_copy(wsi, ip, sizeof(ip), WSI_TOKEN_HTTP_X_REAL_IP);
	if (n > 0 && parse_addr(ip, &ss, &sl))
		snprintf(peer, plen, "%s", ip);
	else if (getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&ss, &sl) != 0)
		return 0;
	if (c->src != NULL)
		return 0;
	if (cable_source_acquire(srv->sources, (struct sockaddr *)&ss, sl, srv->cfg.max_per_source,
	    &c->src) == CABLE_ERR_TOO_BIG) {
		reject(srv, CABLE_TUNNEL_REJECT_SOURCE_LIMIT, peer, NULL);
		return http_refuse(wsi, 429);
	}
	return 0;
}

/*
 * Every decision about a WebSocket request is taken here, while the request headers are still
 * at hand and before lws answers 101: the answer is then either an HTTP error or a joined tunnel.
 */
static int
confirm_upgrade(struct cable_tunnel_server *srv, struct lws *wsi, struct conn *c)
{
	struct cable_tunnel_path path;
	char uri[256], peer[64];
	struct tunnel *t;
	int len, r;

	peer_name(wsi, peer, sizeof(peer));
	if (c->proxied && (r = proxied_source(srv, wsi, c, peer, sizeof(peer))) != 0)
		return r;
	if (request_bytes(srv, wsi, c) > srv->cfg.max_header) {
		reject(srv, CABLE_TUNNEL_REJECT_HEADER_SIZE, peer, NULL);
		return http_refuse(wsi, 431);
	}
	len = lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
	if (len <= 0 || lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS) > 0 ||
	    cable_tunnel_path_parse(uri, (size_t)len, &path) != 0) {
		reject(srv, CABLE_TUNNEL_REJECT_PATH, peer, NULL);
		return http_refuse(wsi, 404);
	}
	if (!wants_subprotocol(wsi)) {
		reject(srv, CABLE_TUNNEL_REJECT_SUBPROTOCOL, peer, NULL);
		return http_refuse(wsi, 400);
	}
	switch (path.kind) {
	case CABLE_TUNNEL_PATH_NEW:
		if (srv->draining) {
			reject(srv, CABLE_TUNNEL_REJECT_DRAINING, peer, path.tunnel_id);
			return http_refuse(wsi, 503);
		}
		if (srv->pending.count >= srv->cfg.max_pending) {
			reject(srv, CABLE_TUNNEL_REJECT_PENDING_LIMIT, peer, path.tunnel_id);
			return http_refuse(wsi, 503);
		}
		if (tunnel_find(srv, path.tunnel_id) != NULL) {
			reject(srv, CABLE_TUNNEL_REJECT_DUPLICATE, peer, path.tunnel_id);
			return http_refuse(wsi, 409);
		}
		if ((t = tunnel_new(srv, path.tunnel_id)) == NULL)
			return http_refuse(wsi, 500);
		t->wsi[SIDE_NEW] = wsi;
		c->t = t;
		c->side = SIDE_NEW;
		return 0;
	case CABLE_TUNNEL_PATH_CONNECT:
		if (memcmp(path.routing_id, srv->cfg.routing_id, CABLE_ROUTING_ID_LEN) != 0) {
			/* Loud on purpose: a proxy sent this to the wrong instance. */
			reject(srv, CABLE_TUNNEL_REJECT_ROUTING_ID, peer, path.tunnel_id);
			return http_refuse(wsi, 421);
		}
		/* A tunnel past its lifetime is on its way out and cannot be joined. */
		if ((t = tunnel_find(srv, path.tunnel_id)) == NULL || t->shut ||
		    lws_dll2_is_detached(&t->live)) {
			reject(srv, CABLE_TUNNEL_REJECT_UNKNOWN, peer, path.tunnel_id);
			return http_refuse(wsi, 404);
		}
		if (t->joined) {
			reject(srv, CABLE_TUNNEL_REJECT_DUPLICATE, peer, path.tunnel_id);
			return http_refuse(wsi, 409);
		}
		t->joined = true;
		t->wsi[SIDE_CONNECT] = wsi;
		lws_dll2_remove(&t->pending);
		c->t = t;
		c->side = SIDE_CONNECT;
		return 0;
	case CABLE_TUNNEL_PATH_CONTACT:
	default:
		reject(srv, CABLE_TUNNEL_REJECT_CONTACT, peer, NULL);
		return http_refuse(wsi, 410);
	}
}

static int
http_request(struct cable_tunnel_server *srv, struct lws *wsi, struct conn *c, const char *uri)
{
	uint8_t hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof(hdr) - 1;
	char *body = NULL, peer[64];
	int r;

	peer_name(wsi, peer, sizeof(peer));
	if (c->proxied && proxied_source(srv, wsi, c, peer, sizeof(peer)) != 0)
		return -1;
	if (request_bytes(srv, wsi, c) > srv->cfg.max_header) {
		reject(srv, CABLE_TUNNEL_REJECT_HEADER_SIZE, peer, NULL);
		http_refuse(wsi, 431);
		return -1;
	}
	if (strcmp(uri, "/healthz") == 0) {
		if ((body = strdup(srv->draining ? "draining\n" : "ok\n")) == NULL)
			return -1;
	} else if (strcmp(uri, "/metrics") == 0) {
		if (cable_tunnel_server_metrics(srv, &body) != 0)
			return -1;
	} else {
		return lws_return_http_status(wsi, strncmp(uri, "/cable/", 7) == 0 ? 426 : 404, NULL) ? -1 :
		    lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	c->body = body;
	c->body_len = strlen(body);
	r = lws_add_http_common_headers(wsi, srv->draining && uri[1] == 'h' ? 503 : HTTP_STATUS_OK,
	    strcmp(uri, "/metrics") == 0 ? "text/plain; version=0.0.4" : "text/plain",
	    (lws_filepos_t)c->body_len, &p, end);
	if (r || lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	lws_callback_on_writable(wsi);
	return 0;
}

static int
http_writeable(struct lws *wsi, struct conn *c)
{
	uint8_t *buf;
	int n;

	if (c->body == NULL)
		return 0;
	if ((buf = malloc(LWS_PRE + c->body_len)) == NULL)
		return -1;
	memcpy(buf + LWS_PRE, c->body, c->body_len);
	n = lws_write(wsi, buf + LWS_PRE, c->body_len, LWS_WRITE_HTTP_FINAL);
	free(buf);
	free(c->body);
	c->body = NULL;
	if (n < 0 || (size_t)n != c->body_len)
		return -1;
	c->rx_base = tcp_bytes_received(wsi);
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* ---- WebSocket side ------------------------------------------------------------------------ */

static int
ws_close(struct lws *wsi, enum lws_close_status status, const char *why)
{
	lws_close_reason(wsi, status, (unsigned char *)(uintptr_t)why, strlen(why));
	return -1;
}

static int
ws_receive(struct cable_tunnel_server *srv, struct lws *wsi, struct conn *c, const void *in,
    size_t len)
{
	struct tunnel *t = c->t;
	char peer[64];
	int side = c->side, other = !c->side;

	if (t == NULL)
		return -1;
	if (!lws_frame_is_binary(wsi)) {
		peer_name(wsi, peer, sizeof(peer));
		reject(srv, CABLE_TUNNEL_REJECT_TEXT_FRAME, peer, t->id);
		return ws_close(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "binary only");
	}
	if (c->partial == NULL) {
		if (t->msgs[side] >= srv->cfg.max_messages) {
			peer_name(wsi, peer, sizeof(peer));
			reject(srv, CABLE_TUNNEL_REJECT_MESSAGE_COUNT, peer, t->id);
			return ws_close(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, "too many messages");
		}
		t->msgs[side]++;
		/* Usually the whole message is here; otherwise start with what this frame holds. */
		size_t want = len + lws_remaining_packet_payload(wsi);
		if ((c->partial = cable_relay_msg_new(want < srv->cfg.max_message ? want :
		    srv->cfg.max_message)) == NULL)
			return -1;
	}
	if (cable_relay_msg_append(&c->partial, in, len, srv->cfg.max_message) != 0) {
		peer_name(wsi, peer, sizeof(peer));
		reject(srv, CABLE_TUNNEL_REJECT_MESSAGE_SIZE, peer, t->id);
		cable_relay_msg_free(&c->partial);
		return ws_close(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large");
	}
	if (!lws_is_final_fragment(wsi))
		return 0;
	if (t->shut) {
		/* Nobody left to read it. */
		cable_relay_msg_free(&c->partial);
		return 0;
	}
	/*
	 * Bytes waiting are bounded per side and in total, so that tunnels whose other side never
	 * reads (or never comes) cannot hold the server's memory; the message count bounds the rest.
	 */
	if (srv->st.queued_bytes + c->partial->len > srv->cfg.max_queued_total ||
	    cable_relay_queue_push(&t->q[other], c->partial, srv->cfg.max_messages,
	    srv->cfg.max_queued) != 0) {
		cable_relay_msg_free(&c->partial);
		peer_name(wsi, peer, sizeof(peer));
		reject(srv, CABLE_TUNNEL_REJECT_QUEUE, peer, t->id);
		return ws_close(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, "queue full");
	}
	srv->st.queued_bytes += c->partial->len;
	c->partial = NULL;
	if (t->established & (1u << other))
		lws_callback_on_writable(t->wsi[other]);
	return 0;
}

static int
ws_writeable(struct cable_tunnel_server *srv, struct lws *wsi, struct conn *c)
{
	struct tunnel *t = c->t;
	struct cable_relay_msg *m;
	int n;

	if (c->kill || t == NULL)
		return -1;
	if ((m = cable_relay_queue_pop(&t->q[c->side])) != NULL) {
		srv->st.queued_bytes -= m->len;
		n = lws_write(wsi, cable_relay_msg_payload(m), m->len, LWS_WRITE_BINARY);
		if (n < 0 || (size_t)n < m->len) {
			cable_relay_msg_free(&m);
			return -1;
		}
		srv->st.messages++;
		srv->st.bytes += m->len;
		cable_relay_msg_free(&m);
		if (t->q[c->side].head != NULL || t->shut)
			lws_callback_on_writable(wsi);
		return 0;
	}
	if (t->shut)
		return ws_close(wsi, LWS_CLOSE_STATUS_NORMAL, "peer left");
	return 0;
}

static void
conn_free(struct cable_tunnel_server *srv, struct conn *c)
{
	lws_dll2_remove(&c->list);
	cable_relay_msg_free(&c->partial);
	cable_source_release(srv->sources, &c->src);
	free(c->body);
	free(c);
	srv->st.connections--;
}

static int
srv_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct conn *c = lws_get_opaque_user_data(wsi);
	struct cable_tunnel_server *srv;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char peer[64];

	/* Without a conn the server may already be gone: touch nothing of it. */
	if (c == NULL && reason != LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED) {
		switch (reason) {
		case LWS_CALLBACK_HTTP:
		case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		case LWS_CALLBACK_HTTP_WRITEABLE:
		case LWS_CALLBACK_ESTABLISHED:
		case LWS_CALLBACK_RECEIVE:
		case LWS_CALLBACK_SERVER_WRITEABLE:
			return -1;
		default:
			return 0;
		}
	}
	if ((srv = lws_get_vhost_user(lws_get_vhost(wsi))) == NULL)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return -1;
		c->side = SIDE_HTTP;
		c->wsi = wsi;
		if (getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&ss, &sl) != 0) {
			free(c);
			return -1;
		}
		/* A trusted proxy's connections are counted per client once the request is read. */
		if (is_trusted_proxy(srv, (struct sockaddr *)&ss)) {
			c->proxied = true;
		} else if (cable_source_acquire(srv->sources, (struct sockaddr *)&ss, sl,
		    srv->cfg.max_per_source, &c->src) == CABLE_ERR_TOO_BIG) {
			peer_name(wsi, peer, sizeof(peer));
			reject(srv, CABLE_TUNNEL_REJECT_SOURCE_LIMIT, peer, NULL);
			free(c);
			return -1;
		}
		lws_set_opaque_user_data(wsi, c);
		lws_dll2_add_tail(&c->list, &srv->conns);
		srv->st.connections++;
		return 0;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		if (c == NULL)
			return -1;
		if (in == NULL || strcmp(in, "websocket") != 0)
			return http_refuse(wsi, 400);
		return confirm_upgrade(srv, wsi, c);
	case LWS_CALLBACK_HTTP:
		if (c == NULL)
			return -1;
		return http_request(srv, wsi, c, in ? in : "");
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return c ? http_writeable(wsi, c) : -1;
	case LWS_CALLBACK_ADD_HEADERS:
		if (c != NULL && c->t != NULL && c->side == SIDE_NEW) {
			struct lws_process_html_args *args = in;

			if (lws_add_http_header_by_name(wsi, (const unsigned char *)"X-caBLE-Routing-ID:",
			    (const unsigned char *)srv->rid_hex, 2 * CABLE_ROUTING_ID_LEN,
			    (unsigned char **)&args->p, (unsigned char *)args->p + args->max_len))
				return -1;
		}
		return 0;
	case LWS_CALLBACK_ESTABLISHED:
		if (c == NULL || c->t == NULL || c->t->wsi[c->side] != wsi)
			return -1;
		c->t->established |= (uint8_t)(1u << c->side);
		if (c->t->q[c->side].head != NULL || c->t->shut || c->kill)
			lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		return c ? ws_receive(srv, wsi, c, in, len) : -1;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return c ? ws_writeable(srv, wsi, c) : -1;
	case LWS_CALLBACK_WSI_DESTROY:
		lws_set_opaque_user_data(wsi, NULL);
		side_gone(srv, c, wsi);
		conn_free(srv, c);
		return 0;
	default:
		break;
	}
	return 0;
}

/*
 * Static, because lws may still call into a destroyed vhost's protocols until the context goes;
 * by then every connection has been detached from the server (see cable_tunnel_server_free).
 */
/*
 * No lws validity (ping) timers: lws re-inserts a connection's timer into one sorted list on
 * every message, which costs O(connections) each time; tunnels have their own lifetime instead.
 */
static const lws_retry_bo_t srv_retry = {.secs_since_valid_ping = 0, .secs_since_valid_hangup = 0};

static const struct lws_protocols srv_protocols[] = {
	{"http", srv_callback, 0, 0, 0, NULL, 0},
	{SUBPROTOCOL, srv_callback, 0, SRV_RX_BUFFER, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- public ------------------------------------------------------------------------------------- */

int
cable_tunnel_server_new(struct cable_loop *loop, const struct cable_tunnel_server_config *cfg,
    struct cable_tunnel_server **out)
{
	struct cable_tunnel_server *srv = NULL;
	struct lws_context_creation_info info;
	struct lws_context *ctx = cable_loop_lws_context(loop);
	int r = CABLE_ERR_INTERNAL;

	if (ctx == NULL || cfg == NULL || out == NULL || (cfg->cert_file == NULL) !=
	    (cfg->key_file == NULL) || cfg->port < 0 || cfg->port > 65535) {
		r = CABLE_ERR_ARG;
		goto out;
	}
	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	srv->cfg = *cfg;
	srv->cfg.lifetime_ms = cfg->lifetime_ms ? cfg->lifetime_ms : 120000;
	srv->cfg.connect_wait_ms = cfg->connect_wait_ms ? cfg->connect_wait_ms : 60000;
	srv->cfg.max_message = cfg->max_message ? cfg->max_message : 16384;
	srv->cfg.max_messages = cfg->max_messages ? cfg->max_messages : 16;
	srv->cfg.max_pending = cfg->max_pending ? cfg->max_pending : 10000;
	srv->cfg.max_per_source = cfg->max_per_source ? cfg->max_per_source : 64;
	srv->cfg.max_header = cfg->max_header ? cfg->max_header : 4096;
	srv->cfg.max_queued = cfg->max_queued ? cfg->max_queued : 65536;
	srv->cfg.max_queued_total = cfg->max_queued_total ? cfg->max_queued_total : 256u << 20;
	if (srv->cfg.max_queued < srv->cfg.max_message)
		srv->cfg.max_queued = srv->cfg.max_message; /* one message must always fit */
	srv->loop = loop;
	srv->ctx = ctx;
	srv->cfg.trusted_proxies = NULL;
	srv->cfg.n_trusted_proxies = 0;
	if (cfg->n_trusted_proxies > CABLE_TUNNEL_MAX_PROXIES) {
		r = CABLE_ERR_ARG;
		goto out;
	}
	for (size_t i = 0; i < cfg->n_trusted_proxies; i++) {
		struct sockaddr_storage ss;
		socklen_t sl;

		if (cfg->trusted_proxies[i] == NULL ||
		    !parse_addr(cfg->trusted_proxies[i], &ss, &sl)) {
			r = CABLE_ERR_ARG;
			goto out;
		}
		srv->proxies[i].len = (uint8_t)addr_bytes((struct sockaddr *)&ss, srv->proxies[i].addr);
		srv->nproxies++;
	}
	cable_hex_encode(cfg->routing_id, CABLE_ROUTING_ID_LEN, srv->rid_hex, true);
	srv->nbuckets = 1024;
	if ((srv->bucket = calloc(srv->nbuckets, sizeof(*srv->bucket))) == NULL ||
	    (srv->sources = cable_source_table_new()) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	if (getrandom(&srv->seed, sizeof(srv->seed), 0) != sizeof(srv->seed)) {
		r = CABLE_ERR_RANDOM;
		goto out;
	}
	memset(&info, 0, sizeof(info));
	info.port = cfg->port;
	info.iface = cfg->listen_addr;
	info.protocols = srv_protocols;
	info.retry_and_idle_policy = &srv_retry;
	info.vhost_name = "cable-tunneld";
	info.user = srv;
	if (cfg->listen_addr != NULL && strchr(cfg->listen_addr, ':') == NULL)
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	if (cfg->cert_file != NULL) {
		/* lws 4.1 enables TLS on a vhost only when this option is also given to it. */
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		srv->tls = true;
		info.ssl_cert_filepath = cfg->cert_file;
		info.ssl_private_key_filepath = cfg->key_file;
	}
	if ((srv->vh = lws_create_vhost(ctx, &info)) == NULL) {
		r = CABLE_ERR_IO;
		goto out;
	}
	srv_log(srv, CABLE_TUNNEL_LOG_INFO, "listening on %s:%d (%s), routing ID %s",
	    cfg->listen_addr ? cfg->listen_addr : "*", cable_tunnel_server_port(srv),
	    cfg->cert_file ? "wss" : "ws", srv->rid_hex);
	*out = srv;
	srv = NULL;
	r = 0;
out:
	cable_tunnel_server_free(&srv);
	return r;
}

void
cable_tunnel_server_free(struct cable_tunnel_server **psrv)
{
	struct cable_tunnel_server *srv;

	if (psrv == NULL || (srv = *psrv) == NULL)
		return;
	srv->loop->ops->timer_del(&srv->timer_live);
	srv->loop->ops->timer_del(&srv->timer_pending);
	srv->idle = NULL;
	/*
	 * lws closes a destroyed vhost's connections only later (at the latest with the context), so
	 * every connection is cut loose from the server now and told to go.
	 */
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&srv->conns)) {
		struct conn *c = lws_container_of(d, struct conn, list);

		lws_set_opaque_user_data(c->wsi, NULL);
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		conn_free(srv, c);
	} lws_end_foreach_dll_safe(d, d1);
	if (srv->vh != NULL) {
		lws_vhost_destroy(srv->vh);
		srv->vh = NULL;
	}
	for (size_t i = 0; srv->bucket != NULL && i < srv->nbuckets; i++) {
		while (srv->bucket[i] != NULL)
			tunnel_free(srv, srv->bucket[i]);
	}
	free(srv->bucket);
	cable_source_table_free(&srv->sources);
	free(srv);
	*psrv = NULL;
}

int
cable_tunnel_server_port(const struct cable_tunnel_server *srv)
{
	return srv && srv->vh ? lws_get_vhost_listen_port(srv->vh) : -1;
}

void
cable_tunnel_server_get_stats(const struct cable_tunnel_server *srv,
    struct cable_tunnel_server_stats *out)
{
	*out = srv->st;
	out->pending = srv->pending.count;
	out->active = srv->live.count >= srv->pending.count ? srv->live.count - srv->pending.count : 0;
}

void
cable_tunnel_server_drain(struct cable_tunnel_server *srv, void (*idle)(void *arg), void *arg)
{
	srv->draining = true;
	srv->idle = idle;
	srv->idle_arg = arg;
	srv_log(srv, CABLE_TUNNEL_LOG_INFO, "draining: %u tunnels left", (unsigned)srv->live.count);
	if (srv->live.count == 0 && idle != NULL) {
		srv->idle = NULL;
		idle(arg);
	}
}

int
cable_tunnel_server_metrics(const struct cable_tunnel_server *srv, char **text)
{
	struct cable_tunnel_server_stats st;
	char *buf = NULL;
	size_t cap = 4096, n = 0;
	uint64_t cum = 0;
	int r = CABLE_ERR_NOMEM;

#define EMIT(...)                                                                 \
	do {                                                                      \
		int k_ = snprintf(buf + n, cap - n, __VA_ARGS__);                 \
		if (k_ < 0 || (size_t)k_ >= cap - n)                              \
			goto out;                                                 \
		n += (size_t)k_;                                                  \
	} while (0)

	cable_tunnel_server_get_stats(srv, &st);
	if ((buf = malloc(cap)) == NULL)
		goto out;
	EMIT("# HELP cable_tunnel_pending Tunnels waiting for their connect side.\n"
	     "# TYPE cable_tunnel_pending gauge\ncable_tunnel_pending %llu\n",
	    (unsigned long long)st.pending);
	EMIT("# HELP cable_tunnel_active Tunnels with both sides joined.\n"
	     "# TYPE cable_tunnel_active gauge\ncable_tunnel_active %llu\n",
	    (unsigned long long)st.active);
	EMIT("# HELP cable_tunnel_connections Open TCP connections.\n"
	     "# TYPE cable_tunnel_connections gauge\ncable_tunnel_connections %llu\n",
	    (unsigned long long)st.connections);
	EMIT("# HELP cable_tunnel_created_total Tunnels created.\n"
	     "# TYPE cable_tunnel_created_total counter\ncable_tunnel_created_total %llu\n",
	    (unsigned long long)st.tunnels_total);
	EMIT("# HELP cable_tunnel_messages_relayed_total Messages relayed.\n"
	     "# TYPE cable_tunnel_messages_relayed_total counter\n"
	     "cable_tunnel_messages_relayed_total %llu\n", (unsigned long long)st.messages);
	EMIT("# HELP cable_tunnel_bytes_relayed_total Payload bytes relayed.\n"
	     "# TYPE cable_tunnel_bytes_relayed_total counter\n"
	     "cable_tunnel_bytes_relayed_total %llu\n", (unsigned long long)st.bytes);
	EMIT("# HELP cable_tunnel_queued_bytes Payload bytes waiting to be written.\n"
	     "# TYPE cable_tunnel_queued_bytes gauge\ncable_tunnel_queued_bytes %llu\n",
	    (unsigned long long)st.queued_bytes);
	EMIT("# HELP cable_tunnel_rejections_total Requests refused and tunnels cut, by reason.\n"
	     "# TYPE cable_tunnel_rejections_total counter\n");
	for (int i = 0; i < CABLE_TUNNEL_REJECT_COUNT; i++)
		EMIT("cable_tunnel_rejections_total{reason=\"%s\"} %llu\n", reject_names[i],
		    (unsigned long long)st.rejected[i]);
	EMIT("# HELP cable_tunnel_lifetime_seconds How long tunnels lived.\n"
	     "# TYPE cable_tunnel_lifetime_seconds histogram\n");
	for (size_t i = 0; i < NBUCKETS; i++) {
		cum += srv->hist[i];
		EMIT("cable_tunnel_lifetime_seconds_bucket{le=\"%g\"} %llu\n", lifetime_buckets[i],
		    (unsigned long long)cum);
	}
	cum += srv->hist[NBUCKETS];
	EMIT("cable_tunnel_lifetime_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
	EMIT("cable_tunnel_lifetime_seconds_sum %.6f\n", srv->hist_sum);
	EMIT("cable_tunnel_lifetime_seconds_count %llu\n", (unsigned long long)cum);
	EMIT("# HELP cable_tunnel_draining 1 while shutting down.\n"
	     "# TYPE cable_tunnel_draining gauge\ncable_tunnel_draining %d\n", srv->draining ? 1 : 0);
#undef EMIT
	*text = buf;
	buf = NULL;
	r = 0;
out:
	free(buf);
	return r;
}

/* The caBLE tunnel server (cable-tunneld): /cable/new, /cable/connect, relaying, limits, metrics. */
#ifndef CABLE_TUNNEL_SERVER_H
#define CABLE_TUNNEL_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "cable/loop.h"
#include "cable/tunnel-url.h"

struct cable_tunnel_server;

#define CABLE_TUNNEL_MAX_PROXIES 16

enum cable_tunnel_log_level {
	CABLE_TUNNEL_LOG_DEBUG = 0,
	CABLE_TUNNEL_LOG_INFO,
	CABLE_TUNNEL_LOG_WARN,
	CABLE_TUNNEL_LOG_ERR,
};

/* Why a request or tunnel was refused or cut; the Prometheus label of each in parentheses. */
enum cable_tunnel_reject {
	CABLE_TUNNEL_REJECT_PATH = 0,      /* "path": not a valid tunnel path (404) */
	CABLE_TUNNEL_REJECT_SUBPROTOCOL,   /* "subprotocol": fido.cable not requested (400) */
	CABLE_TUNNEL_REJECT_HEADER_SIZE,   /* "header_size": request headers too large (431) */
	CABLE_TUNNEL_REJECT_SOURCE_LIMIT,  /* "source_limit": too many connections from one address
	                                      (dropped at accept; 429 through a trusted proxy) */
	CABLE_TUNNEL_REJECT_PENDING_LIMIT, /* "pending_limit": too many tunnels waiting (503) */
	CABLE_TUNNEL_REJECT_DUPLICATE,     /* "duplicate": tunnel ID in use, or second connect (409) */
	CABLE_TUNNEL_REJECT_UNKNOWN,       /* "unknown_tunnel": connect to no such tunnel (404) */
	CABLE_TUNNEL_REJECT_ROUTING_ID,    /* "routing_id": connect for another instance (421) */
	CABLE_TUNNEL_REJECT_CONTACT,       /* "contact": linking not offered (410) */
	CABLE_TUNNEL_REJECT_DRAINING,      /* "draining": shutting down, no new tunnels (503) */
	CABLE_TUNNEL_REJECT_TEXT_FRAME,    /* "text_frame": closed with 1003 */
	CABLE_TUNNEL_REJECT_MESSAGE_SIZE,  /* "message_size": closed with 1009 */
	CABLE_TUNNEL_REJECT_MESSAGE_COUNT, /* "message_count": closed with 1008 */
	CABLE_TUNNEL_REJECT_LIFETIME,      /* "lifetime": tunnel lived too long, closed with 1008 */
	CABLE_TUNNEL_REJECT_CONNECT_WAIT,  /* "connect_wait": nobody joined in time, closed with 1008 */
	CABLE_TUNNEL_REJECT_QUEUE,         /* "queue_full": too many bytes waiting, closed with 1008 */
	CABLE_TUNNEL_REJECT_COUNT
};

struct cable_tunnel_server_config {
	const char *listen_addr; /* numeric address; NULL = all */
	int port;                /* 0 = any free port (see cable_tunnel_server_port) */
	const char *cert_file;   /* PEM; both NULL = plain ws (behind a TLS proxy) */
	const char *key_file;
	uint8_t routing_id[CABLE_ROUTING_ID_LEN]; /* suggested: byte 0 region, bytes 1-2 instance */

	/* Limits; 0 = the default in brackets. */
	uint32_t lifetime_ms;          /* [120000] a tunnel's whole life */
	uint32_t connect_wait_ms;      /* [60000] wait for the connect side after new */
	uint32_t max_message;          /* [16384] bytes per message */
	uint32_t max_messages;         /* [16] messages each side may send */
	uint32_t max_pending;          /* [10000] tunnels waiting for their connect side, in total */
	uint32_t max_per_source;       /* [64] open connections from one source address */
	uint32_t max_header;           /* [4096] request header bytes */
	uint32_t max_queued;           /* [65536] bytes waiting for one side (not yet written) */
	uint64_t max_queued_total;     /* [268435456] bytes waiting in all tunnels together */

	/*
	 * Proxies (numeric addresses, at most CABLE_TUNNEL_MAX_PROXIES) whose X-Real-IP header names
	 * the client: their connections count against the per-source limit of that address (429
	 * when over), not of the proxy. From any other peer the header is ignored.
	 */
	const char *const *trusted_proxies;
	size_t n_trusted_proxies;

	/* Where limit hits and notable events go (never secrets or whole tunnel IDs); NULL = nowhere. */
	void (*log)(void *arg, enum cable_tunnel_log_level level, const char *msg);
	void *log_arg;
};

struct cable_tunnel_server_stats {
	uint64_t pending;   /* tunnels waiting for a connect side */
	uint64_t active;    /* tunnels with both sides */
	uint64_t connections;
	uint64_t tunnels_total;
	uint64_t messages;  /* relayed (written to the other side) */
	uint64_t bytes;
	uint64_t queued_bytes; /* waiting to be written, all tunnels */
	uint64_t rejected[CABLE_TUNNEL_REJECT_COUNT];
};

/* Label used in metrics and logs for a rejection reason. */
const char *cable_tunnel_reject_name(enum cable_tunnel_reject r);

/*
 * Starts listening on the loop (which must be an lws loop, cable_loop_lws_new). Fails with
 * CABLE_ERR_IO if the address cannot be bound or the certificate cannot be loaded.
 */
int cable_tunnel_server_new(struct cable_loop *loop, const struct cable_tunnel_server_config *cfg,
    struct cable_tunnel_server **out);
/* Closes every connection and frees; accepts NULL and sets NULL. */
void cable_tunnel_server_free(struct cable_tunnel_server **srv);
/* The port actually bound. */
int cable_tunnel_server_port(const struct cable_tunnel_server *srv);
void cable_tunnel_server_get_stats(const struct cable_tunnel_server *srv,
    struct cable_tunnel_server_stats *out);
/* Prometheus text exposition of the counters and the lifetime histogram; caller frees. */
int cable_tunnel_server_metrics(const struct cable_tunnel_server *srv, char **text);
/*
 * Stops taking new tunnels (503) while existing ones may still be joined and finish; idle(arg)
 * runs once no tunnel is left (at once if none). The caller enforces its own deadline.
 */
void cable_tunnel_server_drain(struct cable_tunnel_server *srv, void (*idle)(void *arg), void *arg);

#endif

/* The caBLE tunnel client: WebSocket to a tunnel server (new, connect, contact), asynchronous on the loop. */
#ifndef CABLE_TUNNEL_H
#define CABLE_TUNNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cable/loop.h"
#include "cable/tunnel-url.h"

struct cable_tunnel_client;
struct cable_tunnel;

#define CABLE_TUNNEL_MAX_REDIRECTS 5
#define CABLE_TUNNEL_MAX_MESSAGE_DEFAULT (1u << 20)

struct cable_tunnel_client_config {
	/* PEM file of the CA(s) to trust instead of the system store (test CAs); NULL = system store. */
	const char *ca_file;
	/*
	 * "wss://host[:port][/prefix]" used for every domain ID (self-hosting, tests); NULL = the real
	 * servers. "ws://" is accepted only for loopback hosts (127.0.0.0/8, ::1, localhost).
	 */
	const char *server_url;
	uint32_t connect_timeout_ms; /* [20000] from open until the 101 answer */
	uint32_t idle_timeout_ms;    /* [180000] no message either way; 0 = the default */
	uint32_t max_message;        /* [1 MiB] incoming message cap */
	uint32_t max_queue;          /* [64] outgoing messages waiting */
};

struct cable_tunnel_info {
	bool has_routing_id; /* new: always (else the open fails) */
	uint8_t routing_id[CABLE_ROUTING_ID_LEN];
	bool signal_connection; /* contact: server echoed X-caBLE-Signal-Connection */
};

/*
 * Called on the loop. After closed() no callback comes for that tunnel; any callback may free it.
 * closed: 0 = the server closed normally (1000) or cable_tunnel_close finished; otherwise a
 * CABLE_ERR_TUNNEL_* code (GONE for 410, HTTP for other statuses, TLS, CONNECT, REDIRECTS,
 * SUBPROTOCOL, ROUTING_ID, TEXT_FRAME, MESSAGE_SIZE, CLOSED), CABLE_ERR_TIMEOUT, CABLE_ERR_NOMEM.
 */
struct cable_tunnel_cbs {
	void (*opened)(void *arg, struct cable_tunnel *t, const struct cable_tunnel_info *info);
	void (*message)(void *arg, struct cable_tunnel *t, const uint8_t *data, size_t len);
	void (*closed)(void *arg, struct cable_tunnel *t, int err);
};

/* cfg may be NULL. Fails with CABLE_ERR_TUNNEL_URL / _INSECURE for a bad server_url. */
int cable_tunnel_client_new(struct cable_loop *loop, const struct cable_tunnel_client_config *cfg,
    struct cable_tunnel_client **out);
/* Frees; tunnels still open are closed without callbacks and must still be freed by their owners. */
void cable_tunnel_client_free(struct cable_tunnel_client **c);
/* Server for one domain ID (overrides server_url for it); url NULL removes the override. */
int cable_tunnel_client_set_server(struct cable_tunnel_client *c, uint16_t domain_id, const char *url);
/*
 * Parses a command-line override: "URL" (every domain) or "DOMAIN_ID=URL" (one domain, decimal).
 */
int cable_tunnel_client_add_server_option(struct cable_tunnel_client *c, const char *opt);
/* Base URL ("wss://host[:port][/prefix]") used for a domain ID; caller frees. */
int cable_tunnel_client_server_url(const struct cable_tunnel_client *c, uint16_t domain_id, char **url);
/* Checks a server URL: 0, CABLE_ERR_TUNNEL_URL, or CABLE_ERR_TUNNEL_INSECURE (ws:// off loopback). */
int cable_tunnel_url_check(const char *url);

/* Phone side: /cable/new/<tunnel ID>; opened() carries the routing ID. */
int cable_tunnel_open_new(struct cable_tunnel_client *c, uint16_t domain_id,
    const uint8_t tunnel_id[CABLE_TUNNEL_ID_LEN], const struct cable_tunnel_cbs *cbs, void *arg,
    struct cable_tunnel **out);
/* Desktop side: /cable/connect/<routing ID>/<tunnel ID>. */
int cable_tunnel_open_connect(struct cable_tunnel_client *c, uint16_t domain_id,
    const uint8_t routing_id[CABLE_ROUTING_ID_LEN], const uint8_t tunnel_id[CABLE_TUNNEL_ID_LEN],
    const struct cable_tunnel_cbs *cbs, void *arg, struct cable_tunnel **out);
/*
 * Linked-device side: /cable/contact/<base64url contact ID> with X-caBLE-Client-Payload (hex of
 * client_payload) and, if signal, X-caBLE-Signal-Connection: true.
 */
int cable_tunnel_open_contact(struct cable_tunnel_client *c, uint16_t domain_id,
    const uint8_t *contact_id, size_t contact_id_len, const uint8_t *client_payload,
    size_t client_payload_len, bool signal, const struct cable_tunnel_cbs *cbs, void *arg,
    struct cable_tunnel **out);

/*
 * Queues one binary message (sent once open, in order). CABLE_ERR_STATE after close,
 * CABLE_ERR_TOO_BIG beyond max_queue messages or an empty/oversized message.
 */
int cable_tunnel_send(struct cable_tunnel *t, const uint8_t *data, size_t len);
/* Sends what is queued, then closes normally (1000); closed(0) follows. */
void cable_tunnel_close(struct cable_tunnel *t);
/* Drops the connection at once (no more callbacks) and frees; accepts NULL, sets NULL. */
void cable_tunnel_free(struct cable_tunnel **t);
/* WebSocket close status the server sent (1000, 1008, ...), 0 if none (yet). */
int cable_tunnel_close_status(const struct cable_tunnel *t);
/* HTTP status of a refused request (410, 404, ...), 0 if none. */
int cable_tunnel_http_status(const struct cable_tunnel *t);
/*
 * Why the connection failed in libwebsockets' words ("getaddrinfo (ipv4) failed", a TLS
 * verification error, ...), printable ASCII, or "" if it did not say.
 */
const char *cable_tunnel_error_detail(const struct cable_tunnel *t);

#endif

/* The production event loop: struct cable_loop backed by a libwebsockets context (lws owns the loop). */
#ifndef CABLE_LOOP_LWS_H
#define CABLE_LOOP_LWS_H

#include <stdbool.h>
#include <stdint.h>

#include "cable/loop.h"

struct lws_context;

struct cable_loop_lws_config {
	/*
	 * Upper bound of descriptors lws tracks (its tables are sized from this at start);
	 * 0 = the process's RLIMIT_NOFILE, capped at 65536.
	 */
	unsigned int max_fds;
	/* lws log bitmask (LLL_*); 0 = silent. Process-wide; env CABLE_LWS_LOG overrides. */
	int lws_log_level;
	/* Bytes lws keeps for one request's headers (servers); 0 = the lws default. */
	unsigned int max_http_header;
	/*
	 * Wait with epoll through lws's libev event library instead of poll(), whose cost grows with
	 * every open descriptor (servers with many connections). CABLE_ERR_UNSUPPORTED from
	 * cable_loop_lws_new_ex when libcable was built without libev.
	 */
	bool use_epoll;
};

/*
 * Creates an lws context (explicit vhosts, OpenSSL initialised) and a raw-file vhost for fd watches.
 * cfg may be NULL. Returns NULL on failure. Other modules (tunnel client, tunnel server) add their
 * own vhosts to cable_loop_lws_context().
 */
struct cable_loop *cable_loop_lws_new(const struct cable_loop_lws_config *cfg);
/* Same, with the reason for a failure (CABLE_ERR_UNSUPPORTED, CABLE_ERR_IO, CABLE_ERR_NOMEM). */
int cable_loop_lws_new_ex(const struct cable_loop_lws_config *cfg, struct cable_loop **out);
/* Destroys the context (closing every connection) and frees the loop; accepts NULL, sets NULL. */
void cable_loop_lws_free(struct cable_loop **loop);

/*
 * Services the loop until quit is called; returns the code given to quit, or CABLE_ERR_IO if lws
 * fails. May be called again after it returns.
 */
int cable_loop_lws_run(struct cable_loop *loop);

/* The lws context behind the loop, or NULL if loop is not an lws loop. */
struct lws_context *cable_loop_lws_context(struct cable_loop *loop);

typedef void (*cable_loop_signal_cb)(void *arg, int signo);

/*
 * Delivers signo through the loop (signalfd): the signal is blocked for the process and cb runs
 * as an ordinary loop callback. One handler per signal; a second call replaces it.
 */
int cable_loop_lws_signal_add(struct cable_loop *loop, int signo, cable_loop_signal_cb cb, void *arg);

#endif

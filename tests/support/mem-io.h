/*
 * Test-only in-memory session I/O (include/cable/session-io.h): a "tunnel server" and a "radio"
 * that live in one process on one cable_loop. Both sides of a hybrid session (the phone session
 * and a desktop driven by the test) use the same tables; every delivery goes through the loop's
 * timers, so callbacks are asynchronous and never re-entrant. Fault hooks drop, duplicate,
 * corrupt, truncate or delay single messages, and make opens and adverts fail.
 */
#ifndef CABLE_TEST_MEM_IO_H
#define CABLE_TEST_MEM_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cable/loop.h"
#include "cable/session-io.h"

struct cable_mem_io;

/* Which way a relayed message travels. */
enum cable_mem_dir {
	CABLE_MEM_TO_DESKTOP = 0, /* sent by the "new" side (phone), read by the "connect" side */
	CABLE_MEM_TO_PHONE = 1,   /* sent by the "connect" side (desktop), read by the "new" side */
};

enum cable_mem_fault_kind {
	CABLE_MEM_DROP = 1,      /* the message vanishes */
	CABLE_MEM_DUPLICATE,     /* delivered twice */
	CABLE_MEM_CORRUPT,       /* byte at param (mod len) XOR 0x01 */
	CABLE_MEM_TRUNCATE,      /* only the first param bytes (at least 1) */
	CABLE_MEM_DELAY,         /* held param microseconds (later messages queue behind it) */
	CABLE_MEM_CLOSE,         /* the server closes both sides instead of relaying it */
};

/* NULL on OOM. The loop must outlive the object. */
struct cable_mem_io *cable_mem_io_new(struct cable_loop *loop);
/* Frees the server and radio state; handles still held by sessions must be freed first. */
void cable_mem_io_free(struct cable_mem_io **m);
/* The tables for a session (both sides may share them). Valid while m lives. */
const struct cable_session_io *cable_mem_io_get(struct cable_mem_io *m);

/* Latency of every delivery (default 0: next loop round). */
void cable_mem_io_set_latency(struct cable_mem_io *m, uint64_t usec);
/* The routing ID the next "new" tunnel gets (default a1 b2 c3, then counting up). */
void cable_mem_io_set_routing_id(struct cable_mem_io *m, const uint8_t rid[3]);

/* A fault on the index-th message (0-based) travelling in dir. Up to 16 faults. */
int cable_mem_io_fault(struct cable_mem_io *m, enum cable_mem_dir dir, unsigned index,
    enum cable_mem_fault_kind kind, uint64_t param);
/*
 * Open failures: the next open_new / open_connect reports closed(err) asynchronously instead of
 * opened (err such as CABLE_ERR_TUNNEL_HTTP). 0 clears. A "new" tunnel opened with
 * no_routing_id reports opened(NULL) (a server without X-caBLE-Routing-ID).
 */
void cable_mem_io_fail_open_new(struct cable_mem_io *m, int err);
void cable_mem_io_fail_open_connect(struct cable_mem_io *m, int err);
void cable_mem_io_no_routing_id(struct cable_mem_io *m, bool on);
/* advertise_start fails synchronously with err (0 clears); or asynchronously through error(). */
void cable_mem_io_fail_advertise(struct cable_mem_io *m, int err, bool async);
/* scan_start fails synchronously with err (0 clears). */
void cable_mem_io_fail_scan(struct cable_mem_io *m, int err);

/* ---- What happened, for assertions ---- */

/* Messages sent in dir so far (as sent, before faults). data points into m; valid while m lives. */
size_t cable_mem_io_count(const struct cable_mem_io *m, enum cable_mem_dir dir);
int cable_mem_io_message(const struct cable_mem_io *m, enum cable_mem_dir dir, size_t i,
    const uint8_t **data, size_t *len);
/* Adverts started so far, and the service data of the i-th (uuid16 too). */
size_t cable_mem_io_advert_count(const struct cable_mem_io *m);
int cable_mem_io_advert(const struct cable_mem_io *m, size_t i, uint16_t *uuid16,
    const uint8_t **data, size_t *len);
/* Adverts on air now; scanners running now. */
unsigned cable_mem_io_adverts_active(const struct cable_mem_io *m);
unsigned cable_mem_io_scanners_active(const struct cable_mem_io *m);
/* Tunnel handles not yet freed (a session that ends must leave 0 of its own). */
unsigned cable_mem_io_tunnels_alive(const struct cable_mem_io *m);
/* Domain ID of the last open_new / open_connect (-1 if none). */
int cable_mem_io_last_domain(const struct cable_mem_io *m, bool connect);
/* Number of normal closes (close()) and drops (free() while open) so far. */
unsigned cable_mem_io_closes(const struct cable_mem_io *m);
unsigned cable_mem_io_drops(const struct cable_mem_io *m);
/* Pending deliveries/timers held by the I/O (0 when everything has settled). */
unsigned cable_mem_io_pending(const struct cable_mem_io *m);

#endif

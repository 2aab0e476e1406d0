/*
 * An sd-bus connection served by the program's one event loop (struct cable_loop): the bus fd is
 * watched with the events sd_bus_get_events() asks for, sd_bus_get_timeout() becomes a loop timer,
 * and messages are processed with a per-wake-up budget. An idle bus arms nothing but the fd watch.
 */
#ifndef CABLE_BUS_LOOP_H
#define CABLE_BUS_LOOP_H

#include <stdbool.h>

#include <systemd/sd-bus.h>

#include "cable/loop.h"

struct cable_bus_loop;

/*
 * The connection failed or was closed (err: a negative errno from sd-bus). Called once, from the
 * loop and never inside sd_bus_process; the watch is already detached, the owner may free it here.
 */
typedef void (*cable_bus_loop_lost_fn)(void *arg, int err);

/*
 * Adopts bus (takes a reference of its own) into loop. Returns 0, CABLE_ERR_NOMEM or CABLE_ERR_IO
 * (no fd, or the loop refused it).
 */
int cable_bus_loop_attach(struct cable_loop *loop, sd_bus *bus, cable_bus_loop_lost_fn lost,
    void *arg, struct cable_bus_loop **out);
/*
 * Called at the end of every dispatch, once sd_bus_process has returned (handlers may have asked
 * for work that must not happen under it: closing the bus, freeing the owner). The owner may free
 * the watch here.
 */
typedef void (*cable_bus_loop_after_fn)(void *arg);
void cable_bus_loop_set_after(struct cable_bus_loop *w, cable_bus_loop_after_fn after);
/* True while sd_bus_process (or the after callback) runs for this watch. */
bool cable_bus_loop_dispatching(const struct cable_bus_loop *w);
/* From a handler: process no further message in this dispatch (the after callback still runs). */
void cable_bus_loop_yield(struct cable_bus_loop *w);

/*
 * Re-arms the fd events and the timeout after something was queued outside a bus callback
 * (a signal emitted, an async call made). Cheap; no-op while dispatching.
 */
void cable_bus_loop_rearm(struct cable_bus_loop *w);
/*
 * Stops watching, flushes what is queued and drops its reference (the owner closes the bus). Safe from
 * inside a handler that sd_bus_process is running: the release then waits until it returns.
 * Accepts NULL, sets NULL.
 */
void cable_bus_loop_free(struct cable_bus_loop **w);

#endif

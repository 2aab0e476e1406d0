/* Test-only poll()-based implementation of the cable_loop function table (include/cable/loop.h). */
#ifndef CABLE_TEST_LOOP_POLL_H
#define CABLE_TEST_LOOP_POLL_H

#include <stdint.h>

#include "cable/loop.h"

struct cable_loop_poll;

/* NULL on OOM. */
struct cable_loop_poll *cable_loop_poll_new(void);
void cable_loop_poll_free(struct cable_loop_poll **lp);
/* The table to hand to adapters. */
struct cable_loop *cable_loop_poll_loop(struct cable_loop_poll *lp);
/*
 * Runs until quit() is called or timeout_usec passes (then returns CABLE_ERR_TIMEOUT).
 * Returns the quit code.
 */
int cable_loop_poll_run(struct cable_loop_poll *lp, uint64_t timeout_usec);
/* Runs one round: waits at most max_wait_usec for an fd or timer, dispatches, returns. */
int cable_loop_poll_once(struct cable_loop_poll *lp, uint64_t max_wait_usec);
/* Counters that let tests prove the loop is not spinning. */
uint64_t cable_loop_poll_wakeups(const struct cable_loop_poll *lp);
unsigned cable_loop_poll_nfds(const struct cable_loop_poll *lp);
unsigned cable_loop_poll_ntimers(const struct cable_loop_poll *lp);
/* Timers not yet freed with timer_del, fired ones included: owners must free every timer. */
unsigned cable_loop_poll_ntimers_held(const struct cable_loop_poll *lp);

#endif

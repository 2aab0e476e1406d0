/*
 * The one event loop of a program, seen by adapters and sessions as a small function table.
 * Production programs use the libwebsockets-backed loop (lws owns the loop, see tunnel/);
 * tests may use any other implementation of the same table.
 */
#ifndef CABLE_LOOP_H
#define CABLE_LOOP_H

#include <stdint.h>

#define CABLE_LOOP_IN 0x1u  /* readable */
#define CABLE_LOOP_OUT 0x4u /* writable */
#define CABLE_LOOP_ERR 0x8u /* error or hang-up */

struct cable_loop;
struct cable_loop_fd;
struct cable_loop_timer;

typedef void (*cable_loop_fd_cb)(void *arg, int fd, uint32_t revents);
typedef void (*cable_loop_timer_cb)(void *arg);

struct cable_loop_ops {
	/* Watch fd for events (CABLE_LOOP_IN/OUT); the loop never closes fd. */
	int (*fd_add)(struct cable_loop *loop, int fd, uint32_t events, cable_loop_fd_cb cb,
	    void *arg, struct cable_loop_fd **out);
	int (*fd_set_events)(struct cable_loop_fd *w, uint32_t events);
	/* Stops watching and frees the watch; accepts NULL and sets *w to NULL. */
	void (*fd_del)(struct cable_loop_fd **w);
	/*
	 * One-shot timer after delay_usec microseconds. The owner frees it with timer_del whether
	 * or not it has fired (calling timer_del from inside its own callback is fine).
	 */
	int (*timer_add)(struct cable_loop *loop, uint64_t delay_usec, cable_loop_timer_cb cb,
	    void *arg, struct cable_loop_timer **out);
	/* Cancels (if pending) and frees; accepts NULL and sets *t to NULL. */
	void (*timer_del)(struct cable_loop_timer **t);
	/* Monotonic clock in microseconds, as the loop sees it. */
	uint64_t (*now_usec)(struct cable_loop *loop);
	/* Ends cable_loop_run with this exit code after the current callback returns. */
	void (*quit)(struct cable_loop *loop, int code);
};

struct cable_loop {
	const struct cable_loop_ops *ops;
};

#endif

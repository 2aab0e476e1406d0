/*
 * Ending the daemon's helper processes (the QR hook, the select command) for sure: SIGTERM to the
 * process group first, tracked until the leader is reaped; the caller gives a grace period and
 * then child_stop_kill() sends SIGKILL to whatever is left. Bounded: at most CHILD_STOP_MAX are
 * tracked; one more sends the oldest SIGKILL at once.
 */
#ifndef CABLE_BRIDGED_CHILD_STOP_H
#define CABLE_BRIDGED_CHILD_STOP_H

#include <stddef.h>
#include <sys/types.h>

#define CHILD_STOP_MAX 8

struct child_stop {
	pid_t pgid[CHILD_STOP_MAX]; /* 0 = free */
	/* Called after every child_stop_term(): the owner starts the grace period there. */
	void (*signalled)(void *arg);
	void *arg;
};

/* SIGTERM to process group pgid (> 0), tracked until child_stop_exited(pgid); then signalled(). */
void child_stop_term(struct child_stop *cs, pid_t pgid);
/* The child pid was reaped: no longer tracked. */
void child_stop_exited(struct child_stop *cs, pid_t pid);
/* How many signalled groups have not exited yet. */
size_t child_stop_pending(const struct child_stop *cs);
/* SIGKILL to every tracked group; forgets them all; how many were still there. */
size_t child_stop_kill(struct child_stop *cs);

#endif

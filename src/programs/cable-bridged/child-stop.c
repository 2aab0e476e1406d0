/* Ending helper processes for sure: SIGTERM, then SIGKILL after the caller's grace period. */
#include <signal.h>
#include <string.h>

#include "child-stop.h"

void
child_stop_term(struct child_stop *cs, pid_t pgid)
{
	if (pgid <= 0)
		return;
	(void)kill(-pgid, SIGTERM);
	for (size_t i = 0; i < CHILD_STOP_MAX; i++) {
		if (cs->pgid[i] == 0) {
			cs->pgid[i] = pgid;
			goto tracked;
		}
	}
	(void)kill(-cs->pgid[0], SIGKILL);
	memmove(&cs->pgid[0], &cs->pgid[1], (CHILD_STOP_MAX - 1) * sizeof(cs->pgid[0]));
	cs->pgid[CHILD_STOP_MAX - 1] = pgid;
tracked:
	if (cs->signalled != NULL)
		cs->signalled(cs->arg);
}

void
child_stop_exited(struct child_stop *cs, pid_t pid)
{
	for (size_t i = 0; pid > 0 && i < CHILD_STOP_MAX; i++)
		if (cs->pgid[i] == pid)
			cs->pgid[i] = 0;
}

size_t
child_stop_pending(const struct child_stop *cs)
{
	size_t n = 0;

	for (size_t i = 0; i < CHILD_STOP_MAX; i++)
		n += cs->pgid[i] != 0;
	return n;
}

size_t
child_stop_kill(struct child_stop *cs)
{
	size_t n = 0;

	for (size_t i = 0; i < CHILD_STOP_MAX; i++) {
		if (cs->pgid[i] != 0 && kill(-cs->pgid[i], SIGKILL) == 0)
			n++;
		cs->pgid[i] = 0;
	}
	return n;
}

/* Showing the FIDO:/ QR code without a terminal: a file, a command hook, the terminal. */
#ifndef CABLE_BRIDGED_QR_PRESENT_H
#define CABLE_BRIDGED_QR_PRESENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct qr_presenter_config {
	/* Directory for qr.png and qr.url (made 0700); NULL = no file presenter. */
	const char *dir;
	/* Shell command with %f (PNG path) and %u (URL), shell-quoted; NULL = none. */
	const char *command;
	/* Print the code on stdout (the daemon runs in the foreground on a terminal). */
	bool terminal;
};

struct qr_presenter;

/* Withdrawn hooks tracked until they exit; one more sends the oldest SIGKILL at once. */
#define QR_PRESENTER_MAX_STOPPING 8

int qr_presenter_new(const struct qr_presenter_config *cfg, struct qr_presenter **out);
/* Shows url with every configured presenter (withdrawing a code still shown first). */
int qr_presenter_show(struct qr_presenter *p, const char *url);
/*
 * Withdraws the code: removes the files, sends SIGTERM to the hook's process group, tells the
 * terminal. No-op when nothing is shown. The hook is then tracked as stopping until
 * qr_presenter_child_exited() reports it; the caller gives it a grace period and calls
 * qr_presenter_kill_stragglers().
 */
void qr_presenter_withdraw(struct qr_presenter *p);
/* How many withdrawn hooks have not exited yet. */
size_t qr_presenter_stopping(const struct qr_presenter *p);
/* SIGKILL to the process group of every withdrawn hook still running; how many were signalled.
 * Also done by qr_presenter_free(). */
size_t qr_presenter_kill_stragglers(struct qr_presenter *p);
bool qr_presenter_shown(const struct qr_presenter *p);
/* The child pid exited (reaped by the caller): forget it if it was the hook. */
void qr_presenter_child_exited(struct qr_presenter *p, pid_t pid);

/*
 * Runs cmd with sh -c in its own process group with signals unblocked (the loop blocks them for
 * signalfd), env name=value set when name is not NULL. The pid (= process group) or -1.
 */
pid_t hook_spawn(const char *cmd, const char *name, const char *value);
void qr_presenter_free(struct qr_presenter **p);

#endif

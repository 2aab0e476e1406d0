/* Showing the FIDO:/ QR code without a terminal: a file, a command hook, the terminal. */
#ifndef CABLE_BRIDGED_QR_PRESENT_H
#define CABLE_BRIDGED_QR_PRESENT_H

#include <stdbool.h>
#include <sys/types.h>

struct child_stop;

struct qr_presenter_config {
	/* Directory for qr.png and qr.url (made 0700); NULL = no file presenter. */
	const char *dir;
	/* Shell command with %f (PNG path) and %u (URL), shell-quoted; NULL = none. */
	const char *command;
	/* Print the code on stdout (the daemon runs in the foreground on a terminal). */
	bool terminal;
	/* Where a withdrawn hook is ended (SIGTERM, then SIGKILL after the owner's grace period);
	 * required. */
	struct child_stop *stop;
};

struct qr_presenter;

int qr_presenter_new(const struct qr_presenter_config *cfg, struct qr_presenter **out);
/* Shows url with every configured presenter (withdrawing a code still shown first). */
int qr_presenter_show(struct qr_presenter *p, const char *url);
/*
 * Withdraws the code: removes the files, ends the hook's process group (child_stop_term), tells
 * the terminal. No-op when nothing is shown.
 */
void qr_presenter_withdraw(struct qr_presenter *p);
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

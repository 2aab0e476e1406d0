/* Showing the FIDO:/ QR code without a terminal: a file, a command hook, the terminal. */
#ifndef CABLE_BRIDGED_QR_PRESENT_H
#define CABLE_BRIDGED_QR_PRESENT_H

#include <stdbool.h>
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

int qr_presenter_new(const struct qr_presenter_config *cfg, struct qr_presenter **out);
/* Shows url with every configured presenter (withdrawing a code still shown first). */
int qr_presenter_show(struct qr_presenter *p, const char *url);
/*
 * Withdraws the code: removes the files, sends SIGTERM to the hook's process group, tells the
 * terminal. No-op when nothing is shown.
 */
void qr_presenter_withdraw(struct qr_presenter *p);
bool qr_presenter_shown(const struct qr_presenter *p);
/* A child exited (SIGCHLD): reaps hooks without blocking. */
void qr_presenter_reap(struct qr_presenter *p);
void qr_presenter_free(struct qr_presenter **p);

#endif

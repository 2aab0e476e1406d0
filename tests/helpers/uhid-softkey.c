/*
 * uhid-softkey: a test security key for the real-kernel bench. The CTAPHID machine on a transport
 * (normally the real /dev/uhid) answers CTAP2 with the software authenticator (in-memory store,
 * every request confirmed, as a key that is touched at once). It prints every request and answer
 * as one line on stdout, so that a test can record what a client (a browser) sent:
 *   request CMD HEX      the CTAPHID command (cbor|msg) and the whole CTAP message
 *   answer STATUS LEN    the CTAP status byte and the answer's length
 *   cancel | abort NAME | state NAME
 * Usage: uhid-softkey [TRANSPORT-SPEC] [MAX-SECONDS]   (default: uhid, 300 s)
 * Exit: 0 on SIGTERM/SIGINT, 1 on a failure, 3 when the time limit was reached.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cable/authenticator.h"
#include "cable/bytes.h"
#include "cable/cred-store.h"
#include "cable/env.h"
#include "cable/error.h"
#include "cable/hid.h"
#include "loop-poll.h"

struct softkey {
	struct cable_loop *loop;
	struct cable_hid_key *key;
	struct cable_authenticator *auth;
};

static void
print_hex_line(const char *tag, const char *cmd, const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);

	if (s == NULL)
		return;
	cable_hex_encode(p, n, s, false);
	printf("%s %s %s\n", tag, cmd, n ? s : "-");
	fflush(stdout);
	free(s);
}

static void
on_event(void *arg, const struct cable_ctaphid_event *ev)
{
	struct softkey *k = arg;
	uint8_t *resp = NULL;
	size_t resp_len = 0;

	switch (ev->type) {
	case CABLE_CTAPHID_EVENT_REQUEST:
		if (ev->cmd != CABLE_CTAPHID_CBOR) {
			/* CTAP1/U2F is not offered (NMSG): SW_INS_NOT_SUPPORTED. */
			static const uint8_t sw[2] = {0x6d, 0x00};

			print_hex_line("request", "msg", ev->data, ev->len);
			(void)cable_hid_key_respond(k->key, ev->request, sw, sizeof(sw));
			printf("answer 6d00 2\n");
			break;
		}
		print_hex_line("request", "cbor", ev->data, ev->len);
		if (cable_authenticator_handle(k->auth, ev->data, ev->len, &resp, &resp_len) != 0) {
			static const uint8_t other = CABLE_CTAP1_ERR_OTHER;

			(void)cable_hid_key_respond(k->key, ev->request, &other, 1);
			printf("answer %02x 1\n", other);
			break;
		}
		(void)cable_hid_key_respond(k->key, ev->request, resp, resp_len);
		printf("answer %02x %zu\n", resp[0], resp_len);
		free(resp);
		break;
	case CABLE_CTAPHID_EVENT_CANCEL:
		printf("cancel\n");
		break;
	case CABLE_CTAPHID_EVENT_ABORT:
		printf("abort %s\n", cable_errname(ev->reason));
		break;
	case CABLE_CTAPHID_EVENT_WINK:
		printf("wink\n");
		break;
	}
	fflush(stdout);
}

static void
on_state(void *arg, enum cable_hid_state st)
{
	static const char *const names[] = {"", "started", "stopped", "opened", "closed", "failed"};
	struct softkey *k = arg;

	printf("state %s\n", names[st]);
	fflush(stdout);
	if (st == CABLE_HID_STATE_FAILED)
		k->loop->ops->quit(k->loop, 1);
}

static void
on_signal(void *arg, int fd, uint32_t revents)
{
	struct softkey *k = arg;
	struct signalfd_siginfo si;

	(void)revents;
	if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		k->loop->ops->quit(k->loop, 0);
}

int
main(int argc, char **argv)
{
	const char *spec = argc > 1 ? argv[1] : "uhid";
	long seconds = argc > 2 ? strtol(argv[2], NULL, 10) : 300;
	struct cable_loop_poll *lp = NULL;
	struct cable_cred_store *store = NULL;
	struct cable_authenticator_config acfg;
	struct cable_ctaphid_config hcfg;
	struct cable_hid_transport *tr = NULL;
	struct cable_loop_fd *sigw = NULL;
	struct softkey k = {0};
	sigset_t mask;
	int sfd = -1, rc = 1, r;

	if (argc > 3 || seconds <= 0) {
		fprintf(stderr, "usage: uhid-softkey [TRANSPORT-SPEC] [MAX-SECONDS]\n");
		return 2;
	}
	if ((lp = cable_loop_poll_new()) == NULL)
		goto out;
	k.loop = cable_loop_poll_loop(lp);
	if (cable_cred_store_new(cable_env_system(), &store) != 0)
		goto out;
	memset(&acfg, 0, sizeof(acfg));
	acfg.store = store;
	if ((k.auth = cable_authenticator_new(cable_env_system(), &acfg)) == NULL)
		goto out;
	cable_ctaphid_config_default(&hcfg);
	hcfg.on_event = on_event;
	hcfg.arg = &k;
	/* An emulated guest on a loaded host can be slow between two packets of one message. */
	hcfg.packet_timeout_usec = 10u * 1000000u;
	if ((k.key = cable_hid_key_new(k.loop, &hcfg)) == NULL)
		goto out;
	if ((r = cable_hid_transport_open(k.loop, spec, k.key, NULL, on_state, &k, &tr)) != 0) {
		fprintf(stderr, "uhid-softkey: %s: %s\n", spec, cable_strerror(r));
		goto out;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0 ||
	    k.loop->ops->fd_add(k.loop, sfd, CABLE_LOOP_IN, on_signal, &k, &sigw) != 0)
		goto out;
	fprintf(stderr, "uhid-softkey: serving on %s\n", spec);
	rc = cable_loop_poll_run(lp, (uint64_t)seconds * 1000000u);
	if (rc == CABLE_ERR_TIMEOUT) {
		fprintf(stderr, "uhid-softkey: time limit reached\n");
		rc = 3;
	}
out:
	if (k.loop != NULL)
		k.loop->ops->fd_del(&sigw);
	if (sfd >= 0)
		close(sfd);
	cable_hid_transport_free(&tr);
	cable_hid_key_free(&k.key);
	cable_authenticator_free(&k.auth);
	cable_cred_store_free(&store);
	cable_loop_poll_free(&lp);
	return rc;
}

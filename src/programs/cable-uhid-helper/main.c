/*
 * cable-uhid-helper: the privileged half of cable-bridged's virtual key. It creates the one FIDO
 * HID device on /dev/uhid itself (fixed descriptor and IDs), connects to the user's cable-bridged
 * HID socket, drops privileges, then relays 64-byte reports both ways. The user's daemon never
 * holds a /dev/uhid descriptor, so it cannot make any other HID device (a keyboard, say).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cable/error.h"
#include "cable/uhid.h"

static volatile sig_atomic_t stop;

static void
on_term(int signo)
{
	(void)signo;
	stop = 1;
}

static int
die(const char *what, const char *arg)
{
	fprintf(stderr, "cable-uhid-helper: %s%s\n", what, arg);
	return 1;
}

static int
write_event(int fd, const uint8_t *ev, size_t len)
{
	ssize_t n;

	do
		n = write(fd, ev, len);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)len ? 0 : -1;
}

static void
usage(FILE *f)
{
	fputs("usage: cable-uhid-helper --connect SOCKET [--uid UID] [--user NAME] [--uhid PATH | --uhid-fd N]\n"
	      "Creates the FIDO HID device on /dev/uhid (needs privilege), connects to cable-bridged's\n"
	      "--hid socket:SOCKET, drops privileges and relays reports. Exits when either side goes.\n"
	      "  --uid UID     refuse a socket whose owner (the daemon's process) has another uid\n"
	      "  --user NAME   the unprivileged user to switch to (default nobody)\n",
	    f);
}

int
main(int argc, char **argv)
{
	enum { O_CONNECT = 256, O_UID, O_USER, O_UHID, O_UHID_FD };
	static const struct option opts[] = {
		{"connect", required_argument, NULL, O_CONNECT},
		{"uid", required_argument, NULL, O_UID},
		{"user", required_argument, NULL, O_USER},
		{"uhid", required_argument, NULL, O_UHID},
		{"uhid-fd", required_argument, NULL, O_UHID_FD},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static uint8_t ev[CABLE_UHID_EVENT_SIZE];
	const char *path = NULL, *uhid_path = "/dev/uhid", *user = "nobody";
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct cable_uhid_event e;
	struct cable_uhid_info info;
	struct pollfd pf[2];
	struct sigaction sact;
	long want_uid = -1, uhid_fd = -1;
	bool started = false;
	size_t len;
	int c, fd = -1, sock = -1, code = 1;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_CONNECT: path = optarg; break;
		case O_UID: want_uid = strtol(optarg, NULL, 10); break;
		case O_USER: user = optarg; break;
		case O_UHID: uhid_path = optarg; break;
		case O_UHID_FD: uhid_fd = strtol(optarg, NULL, 10); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (path == NULL || optind != argc || strlen(path) >= sizeof(sa.sun_path)) {
		usage(stderr);
		return 2;
	}
	memset(&sact, 0, sizeof(sact));
	sact.sa_handler = on_term;
	sigaction(SIGTERM, &sact, NULL);
	sigaction(SIGINT, &sact, NULL);

	/* The privileged part: the uhid node and the user's socket (in a 0700 runtime directory). */
	fd = uhid_fd >= 0 ? (int)uhid_fd : open(uhid_path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return die("cannot open (needs privilege): ", uhid_path);
	memcpy(sa.sun_path, path, strlen(path));
	if ((sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(sock, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		die("cannot connect (is cable-bridged running with --hid socket:PATH?): ", path);
		goto out;
	}
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 ||
	    (want_uid >= 0 && (long)cred.uid != want_uid)) {
		die("socket not served by the expected user: ", path);
		goto out;
	}
	if (getuid() == 0 || geteuid() == 0) {
		struct passwd *pw = getpwnam(user);

		if (pw == NULL || setgroups(0, NULL) != 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
			die("cannot drop privileges to ", user);
			goto out;
		}
	}
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);

	memset(&info, 0, sizeof(info));
	info.name = CABLE_UHID_NAME;
	info.bus = CABLE_UHID_BUS_USB;
	info.vendor = CABLE_UHID_VENDOR;
	info.product = CABLE_UHID_PRODUCT;
	if (cable_uhid_build_create2(ev, sizeof(ev), &info, cable_uhid_fido_descriptor,
	    CABLE_UHID_FIDO_DESCRIPTOR_SIZE, &len) != 0 || write_event(fd, ev, len) != 0) {
		die("cannot create the device", "");
		goto out;
	}
	fprintf(stderr, "cable-uhid-helper: FIDO device created for %s (uid %ld)\n", path, (long)cred.uid);
	pf[0] = (struct pollfd){.fd = fd, .events = POLLIN};
	pf[1] = (struct pollfd){.fd = sock, .events = POLLIN};
	while (!stop) {
		uint8_t pkt[CABLE_HID_REPORT_SIZE + 1];
		const uint8_t *rep;
		ssize_t n;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[0].revents & (POLLERR | POLLHUP | POLLNVAL))
			break;
		if (pf[0].revents & POLLIN) {
			if ((n = read(fd, ev, sizeof(ev))) <= 0) {
				if (n < 0 && (errno == EINTR || errno == EAGAIN))
					continue;
				break;
			}
			if (cable_uhid_parse(ev, (size_t)n, &e) != 0)
				continue;
			if (e.type == CABLE_UHID_START)
				started = true;
			else if (e.type == CABLE_UHID_STOP)
				started = false;
			else if (e.type == CABLE_UHID_OUTPUT && cable_hid_report_from_write(e.data, e.size, &rep) == 0)
				(void)send(sock, rep, CABLE_HID_REPORT_SIZE, MSG_NOSIGNAL | MSG_DONTWAIT);
			else if (e.type == CABLE_UHID_GET_REPORT &&
			    cable_uhid_build_get_report_reply(ev, sizeof(ev), e.id, EIO, &len) == 0)
				(void)write_event(fd, ev, len);
			else if (e.type == CABLE_UHID_SET_REPORT &&
			    cable_uhid_build_set_report_reply(ev, sizeof(ev), e.id, EIO, &len) == 0)
				(void)write_event(fd, ev, len);
		}
		if (pf[1].revents & POLLIN) {
			if ((n = recv(sock, pkt, sizeof(pkt), 0)) <= 0) {
				if (n < 0 && errno == EINTR)
					continue;
				code = 0; /* the daemon went away: destroy the device and let systemd restart us */
				break;
			}
			if (started && n == CABLE_HID_REPORT_SIZE &&
			    cable_uhid_build_input2(ev, sizeof(ev), pkt, CABLE_HID_REPORT_SIZE, &len) == 0)
				(void)write_event(fd, ev, len);
		} else if (pf[1].revents & (POLLERR | POLLHUP)) {
			code = 0;
			break;
		}
	}
	if (stop)
		code = 0;
	if (cable_uhid_build_destroy(ev, sizeof(ev), &len) == 0)
		(void)write_event(fd, ev, len);
	fprintf(stderr, "cable-uhid-helper: device destroyed\n");
out:
	if (sock >= 0)
		close(sock);
	close(fd);
	return code;
}

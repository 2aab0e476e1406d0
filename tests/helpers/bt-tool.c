/*
 * bt-tool: drives the Bluetooth adapter from the command line for tests and demos.
 *   bt-tool scan [--adapter hciN] [--count N] [--timeout SEC]   payload lines on stdout
 *   bt-tool advertise HEX [--adapter hciN] [--uuid XXXX] [--timeout SEC]   until SIGTERM
 *   bt-tool ready [--adapter hciN]                                readiness check
 * scan and advertise run in the production lws loop, or with --loop poll in the test poll loop.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cable/bluetooth.h"
#include "cable/bytes.h"
#include "cable/error.h"
#include "cable/loop-lws.h"
#include "loop-poll.h"

#define EXIT_ERROR 1
#define EXIT_USAGE 2
#define EXIT_TIMEOUT 124

struct tool {
	struct cable_loop *loop;
	long count, seen;
	struct cable_bt_scanner *scanner;
	struct cable_bt_advertiser *advertiser;
};

static void
usage(void)
{
	fprintf(stderr, "usage: bt-tool scan [--adapter hciN] [--count N] [--timeout SEC] [--loop lws|poll]\n"
			"       bt-tool advertise HEX [--adapter hciN] [--uuid XXXX] [--timeout SEC]\n"
			"                     [--loop lws|poll]\n"
			"       bt-tool ready [--adapter hciN]\n");
	exit(EXIT_USAGE);
}

static void
on_payload(void *arg, uint16_t uuid, const uint8_t *data, size_t len, const char *addr, int rssi)
{
	struct tool *t = arg;
	char *hex = malloc(2 * len + 1);

	if (hex == NULL)
		return;
	cable_hex_encode(data, len, hex, false);
	printf("payload %04x %s %s %d\n", uuid, len ? hex : "-", addr, rssi);
	fflush(stdout);
	free(hex);
	if (t->count > 0 && ++t->seen >= t->count)
		t->loop->ops->quit(t->loop, 0);
}

static void
on_started(void *arg, const char *adapter)
{
	printf("started %s\n", adapter);
	fflush(stdout);
}

static void
on_registered(void *arg, const char *adapter)
{
	printf("registered %s\n", adapter);
	fflush(stdout);
}

static void
on_scan_error(void *arg, int code)
{
	struct tool *t = arg;

	printf("error %s %s\n", cable_errname(code), cable_bt_scanner_detail(t->scanner));
	fflush(stdout);
	t->loop->ops->quit(t->loop, EXIT_ERROR);
}

static void
on_adv_error(void *arg, int code)
{
	struct tool *t = arg;

	printf("error %s %s\n", cable_errname(code), cable_bt_advertiser_detail(t->advertiser));
	fflush(stdout);
	t->loop->ops->quit(t->loop, EXIT_ERROR);
}

static void
on_signal(void *arg, int fd, uint32_t revents)
{
	struct tool *t = arg;
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		t->loop->ops->quit(t->loop, 0);
}

static void
on_lws_signal(void *arg, int signo)
{
	struct tool *t = arg;

	t->loop->ops->quit(t->loop, 0);
}

static void
on_timeout(void *arg)
{
	struct tool *t = arg;

	printf("timeout\n");
	t->loop->ops->quit(t->loop, EXIT_TIMEOUT);
}

static void
print_ready(const struct cable_bt_readiness *r)
{
#define FIELD(name, v) printf("%-12s %s\n", name, (v) == 0 ? "ok" : cable_errname(v))
	FIELD("bus", r->bus);
	FIELD("bluez", r->bluez);
	FIELD("adapter", r->adapter);
	FIELD("discovery", r->discovery);
	FIELD("advertising", r->advertising);
#undef FIELD
	printf("%-12s %u\n", "adapters", r->adapters);
	printf("%-12s %s %s\n", "chosen", r->adapter_name[0] ? r->adapter_name : "-",
	    r->adapter_address[0] ? r->adapter_address : "-");
	printf("%-12s %s\n", "detail", r->detail[0] ? r->detail : "-");
}

int
main(int argc, char **argv)
{
	struct cable_loop_poll *lp = NULL;
	struct tool t = {0};
	struct cable_bt_opts opts = {0};
	struct cable_loop_fd *sigw = NULL;
	struct cable_loop_timer *timer = NULL;
	bool use_lws = true;
	const char *cmd, *hex = NULL;
	unsigned long uuid = CABLE_BT_UUID_FIDO;
	double timeout = 0;
	uint8_t *data = NULL;
	size_t len = 0;
	sigset_t ss;
	int sfd = -1, r = EXIT_ERROR, i = 2;

	if (argc < 2)
		usage();
	cmd = argv[1];
	if (!strcmp(cmd, "advertise")) {
		if (argc < 3)
			usage();
		hex = argv[i++];
	}
	for (; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--adapter"))
			opts.adapter = argv[++i];
		else if (!strcmp(argv[i], "--count"))
			t.count = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--timeout"))
			timeout = strtod(argv[++i], NULL);
		else if (!strcmp(argv[i], "--uuid"))
			uuid = strtoul(argv[++i], NULL, 16);
		else if (!strcmp(argv[i], "--loop")) {
			i++;
			if (strcmp(argv[i], "lws") != 0 && strcmp(argv[i], "poll") != 0)
				usage();
			use_lws = !strcmp(argv[i], "lws");
		}
		else
			usage();
	}
	if (!strcmp(cmd, "ready")) {
		struct cable_bt_readiness rd;

		r = cable_bt_check(&opts, &rd);
		print_ready(&rd);
		return r == 0 ? 0 : EXIT_ERROR;
	}
	if (strcmp(cmd, "scan") != 0 && strcmp(cmd, "advertise") != 0)
		usage();
	if (hex != NULL && (cable_hex_decode_alloc(hex, &data, &len) != 0 || uuid > 0xffff))
		usage();
	if (use_lws) {
		if ((t.loop = cable_loop_lws_new(NULL)) == NULL ||
		    cable_loop_lws_signal_add(t.loop, SIGTERM, on_lws_signal, &t) != 0 ||
		    cable_loop_lws_signal_add(t.loop, SIGINT, on_lws_signal, &t) != 0)
			goto out;
	} else {
		if ((lp = cable_loop_poll_new()) == NULL)
			goto out;
		t.loop = cable_loop_poll_loop(lp);
		sigemptyset(&ss);
		sigaddset(&ss, SIGTERM);
		sigaddset(&ss, SIGINT);
		sigprocmask(SIG_BLOCK, &ss, NULL);
		if ((sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK)) < 0 ||
		    t.loop->ops->fd_add(t.loop, sfd, CABLE_LOOP_IN, on_signal, &t, &sigw) != 0)
			goto out;
	}
	if (timeout > 0 &&
	    t.loop->ops->timer_add(t.loop, (uint64_t)(timeout * 1e6), on_timeout, &t, &timer) != 0)
		goto out;
	if (hex == NULL) {
		struct cable_bt_scanner_cbs cbs = {
			.payload = on_payload, .started = on_started, .error = on_scan_error};

		if ((t.scanner = cable_bt_scanner_new(t.loop, &opts, &cbs, &t)) == NULL)
			goto out;
		r = cable_bt_scanner_start(t.scanner);
		if (r != 0) {
			printf("error %s %s\n", cable_errname(r), cable_bt_scanner_detail(t.scanner));
			r = EXIT_ERROR;
			goto out;
		}
	} else {
		struct cable_bt_advertiser_cbs cbs = {.registered = on_registered, .error = on_adv_error};

		t.advertiser = cable_bt_advertiser_new(t.loop, &opts, (uint16_t)uuid, data, len, &cbs, &t);
		if (t.advertiser == NULL)
			goto out;
		r = cable_bt_advertiser_start(t.advertiser);
		if (r != 0) {
			printf("error %s %s\n", cable_errname(r),
			    cable_bt_advertiser_detail(t.advertiser));
			r = EXIT_ERROR;
			goto out;
		}
	}
	fflush(stdout);
	r = use_lws ? cable_loop_lws_run(t.loop) : cable_loop_poll_run(lp, UINT64_MAX / 2);
out:
	fflush(stdout);
	cable_bt_scanner_free(&t.scanner);
	cable_bt_advertiser_free(&t.advertiser);
	if (t.loop != NULL) {
		t.loop->ops->fd_del(&sigw);
		t.loop->ops->timer_del(&timer);
	}
	if (sfd >= 0)
		close(sfd);
	if (use_lws)
		cable_loop_lws_free(&t.loop);
	cable_loop_poll_free(&lp);
	free(data);
	return r;
}

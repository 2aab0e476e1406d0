/* Test helper: drives the tunnel client API from the command line and prints every event. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cable/bytes.h"
#include "cable/error.h"
#include "cable/loop-lws.h"
#include "cable/tunnel.h"

#define MAX_SENDS 64

struct app {
	struct cable_loop *loop;
	struct cable_tunnel *t;
	uint8_t *send[MAX_SENDS];
	size_t send_len[MAX_SENDS];
	int nsend;
	bool echo, close_when_done, send_on_open;
	int expect, got;
	int rc;
};

static void
print_msg(const uint8_t *d, size_t len)
{
	uint32_t h = 2166136261u;

	if (len <= 64) {
		char hex[129];

		cable_hex_encode(d, len, hex, false);
		printf("message %zu %s\n", len, hex);
	} else {
		for (size_t i = 0; i < len; i++)
			h = (h ^ d[i]) * 16777619u;
		printf("message %zu fnv=%08x\n", len, h);
	}
	fflush(stdout);
}

static void
send_all(struct app *app)
{
	for (int i = 0; i < app->nsend; i++) {
		int r = cable_tunnel_send(app->t, app->send[i], app->send_len[i]);

		if (r != 0)
			printf("send-error %s\n", cable_errname(r));
	}
	fflush(stdout);
}

static void
on_opened(void *arg, struct cable_tunnel *t, const struct cable_tunnel_info *info)
{
	struct app *app = arg;
	char rid[7] = "";

	if (info->has_routing_id)
		cable_hex_encode(info->routing_id, 3, rid, false);
	printf("opened%s%s%s\n", info->has_routing_id ? " routing=" : "", rid,
	    info->signal_connection ? " signal=1" : "");
	fflush(stdout);
	if (app->send_on_open)
		send_all(app);
	if (app->close_when_done && app->expect == 0)
		cable_tunnel_close(t);
}

static void
on_message(void *arg, struct cable_tunnel *t, const uint8_t *data, size_t len)
{
	struct app *app = arg;

	print_msg(data, len);
	app->got++;
	if (app->echo && cable_tunnel_send(t, data, len) != 0)
		printf("echo-error\n");
	if (app->close_when_done && app->got == app->expect)
		cable_tunnel_close(t);
}

static void
on_closed(void *arg, struct cable_tunnel *t, int err)
{
	struct app *app = arg;

	printf("closed %s status=%d http=%d\n", err ? cable_errname(err) : "ok",
	    cable_tunnel_close_status(t), cable_tunnel_http_status(t));
	fflush(stdout);
	app->rc = 0;
	app->loop->ops->quit(app->loop, 0);
}

static void
guard_fired(void *arg)
{
	struct app *app = arg;

	printf("helper-timeout\n");
	fflush(stdout);
	app->rc = 3;
	app->loop->ops->quit(app->loop, 3);
}

static int
hexarg(const char *s, uint8_t **out, size_t *len)
{
	return cable_hex_decode_alloc(s, out, len);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'},
		{"ca", required_argument, NULL, 'c'},
		{"send", required_argument, NULL, 'm'},
		{"send-size", required_argument, NULL, 'z'},
		{"echo", no_argument, NULL, 'e'},
		{"expect", required_argument, NULL, 'x'},
		{"close", no_argument, NULL, 'C'},
		{"send-before-open", no_argument, NULL, 'B'},
		{"connect-timeout-ms", required_argument, NULL, 'T'},
		{"idle-timeout-ms", required_argument, NULL, 'I'},
		{"max-message", required_argument, NULL, 'M'},
		{"guard-ms", required_argument, NULL, 'g'},
		{"domain", required_argument, NULL, 'd'},
		{"signal", no_argument, NULL, 'S'},
		{NULL, 0, NULL, 0},
	};
	struct cable_tunnel_client_config cfg = {0};
	struct cable_tunnel_cbs cbs = {on_opened, on_message, on_closed};
	struct cable_tunnel_client *c = NULL;
	struct cable_loop_timer *guard = NULL;
	struct app app = {.rc = 2, .send_on_open = true};
	const char **server_opts = calloc((size_t)argc + 1, sizeof(char *));
	int nserver = 0, opt, r;
	unsigned long guard_ms = 20000, domain = 0;
	uint8_t *a = NULL, *b = NULL;
	size_t al = 0, bl = 0;
	bool signal = false;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			server_opts[nserver++] = optarg;
			break;
		case 'c':
			cfg.ca_file = optarg;
			break;
		case 'm':
			if (app.nsend == MAX_SENDS ||
			    hexarg(optarg, &app.send[app.nsend], &app.send_len[app.nsend]) != 0)
				return 2;
			app.nsend++;
			break;
		case 'z': {
			size_t n = strtoul(optarg, NULL, 10);

			if (app.nsend == MAX_SENDS || (app.send[app.nsend] = malloc(n ? n : 1)) == NULL)
				return 2;
			for (size_t i = 0; i < n; i++)
				app.send[app.nsend][i] = (uint8_t)(i * 7 + 1);
			app.send_len[app.nsend++] = n;
			break;
		}
		case 'e':
			app.echo = true;
			break;
		case 'x':
			app.expect = atoi(optarg);
			break;
		case 'C':
			app.close_when_done = true;
			break;
		case 'B':
			app.send_on_open = false;
			break;
		case 'T':
			cfg.connect_timeout_ms = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'I':
			cfg.idle_timeout_ms = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'M':
			cfg.max_message = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'g':
			guard_ms = strtoul(optarg, NULL, 10);
			break;
		case 'd':
			domain = strtoul(optarg, NULL, 10);
			break;
		case 'S':
			signal = true;
			break;
		default:
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: tunnel-client [opts] new TID | connect RID TID | contact CID PAYLOAD\n");
		return 2;
	}
	if ((app.loop = cable_loop_lws_new(NULL)) == NULL)
		return 2;
	if ((r = cable_tunnel_client_new(app.loop, &cfg, &c)) != 0) {
		printf("client-error %s\n", cable_errname(r));
		app.rc = 4;
		goto out;
	}
	for (int i = 0; i < nserver; i++) {
		if ((r = cable_tunnel_client_add_server_option(c, server_opts[i])) != 0) {
			printf("client-error %s\n", cable_errname(r));
			app.rc = 4;
			goto out;
		}
	}
	if (strcmp(argv[optind], "new") == 0 && optind + 2 == argc &&
	    hexarg(argv[optind + 1], &a, &al) == 0 && al == 16) {
		r = cable_tunnel_open_new(c, (uint16_t)domain, a, &cbs, &app, &app.t);
	} else if (strcmp(argv[optind], "connect") == 0 && optind + 3 == argc &&
	    hexarg(argv[optind + 1], &a, &al) == 0 && al == 3 &&
	    hexarg(argv[optind + 2], &b, &bl) == 0 && bl == 16) {
		r = cable_tunnel_open_connect(c, (uint16_t)domain, a, b, &cbs, &app, &app.t);
	} else if (strcmp(argv[optind], "contact") == 0 && optind + 3 == argc &&
	    hexarg(argv[optind + 1], &a, &al) == 0 && hexarg(argv[optind + 2], &b, &bl) == 0) {
		r = cable_tunnel_open_contact(c, (uint16_t)domain, a, al, b, bl, signal, &cbs, &app,
		    &app.t);
	} else {
		fprintf(stderr, "tunnel-client: bad command\n");
		goto out;
	}
	if (r != 0) {
		printf("open-error %s\n", cable_errname(r));
		app.rc = 4;
		goto out;
	}
	if (!app.send_on_open)
		send_all(&app);
	if (app.loop->ops->timer_add(app.loop, guard_ms * 1000, guard_fired, &app, &guard) != 0)
		goto out;
	cable_loop_lws_run(app.loop);
out:
	if (app.loop)
		app.loop->ops->timer_del(&guard);
	cable_tunnel_free(&app.t);
	cable_tunnel_client_free(&c);
	cable_loop_lws_free(&app.loop);
	for (int i = 0; i < app.nsend; i++)
		free(app.send[i]);
	free(a);
	free(b);
	free(server_opts);
	return app.rc;
}

/* cable-tunneld: a caBLE tunnel server (options, logging, signals, graceful drain). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cable/bytes.h"
#include "cable/cable.h"
#include "cable/error.h"
#include "cable/loop-lws.h"
#include "cable/tunnel-server.h"

#define EXIT_USAGE 64

struct app {
	struct cable_loop *loop;
	struct cable_tunnel_server *srv;
	struct cable_loop_timer *deadline;
	struct cable_loop_timer *trim;
	uint32_t drain_ms;
	int min_level;
	bool draining;
};

__attribute__((format(printf, 3, 4))) static void
logf_(struct app *app, enum cable_tunnel_log_level level, const char *fmt, ...)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	char ts[32];
	struct timespec now;
	struct tm tm;
	va_list ap;

	if ((int)level < app->min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ cable-tunneld %s: ", ts, now.tv_nsec / 1000000, names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
server_log(void *arg, enum cable_tunnel_log_level level, const char *msg)
{
	logf_(arg, level, "%s", msg);
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "Usage: cable-tunneld [OPTIONS]\n"
	    "A caBLE (FIDO hybrid) tunnel server: /cable/new/<tunnel ID>, /cable/connect/<routing ID>/<tunnel ID>.\n"
	    "\n"
	    "  --listen ADDR:PORT      listen address [127.0.0.1:8080]; [v6]:PORT for IPv6; port 0 = any\n"
	    "  --cert FILE --key FILE  serve wss:// (PEM); without them plain ws:// behind a TLS proxy\n"
	    "  --routing-id HEX6       this instance's routing ID [000000] (byte 0 region, 1-2 instance)\n"
	    "  --lifetime SECONDS      longest tunnel life [120]\n"
	    "  --connect-wait SECONDS  wait for the connect side after new [60]\n"
	    "  --max-message BYTES     per message [16384]\n"
	    "  --max-messages N        messages each side may send [16]\n"
	    "  --max-pending N         tunnels waiting for a connect side, in total [10000]\n"
	    "  --max-per-source N      open connections per source address [64]\n"
	    "  --max-header BYTES      request header bytes [4096]\n"
	    "  --max-queued BYTES      bytes waiting for one side of a tunnel [65536]\n"
	    "  --trusted-proxy ADDR    a proxy whose X-Real-IP names the client for --max-per-source\n"
	    "                          (repeatable, numeric address)\n"
	    "  --max-queued-total BYTES bytes waiting in all tunnels together [268435456]\n"
	    "  --max-fds N             descriptors to provision [RLIMIT_NOFILE]\n"
	    "  --event-lib epoll|poll  how to wait for events [epoll when built with libev]\n"
	    "  --drain-timeout SECONDS on SIGTERM, wait this long for tunnels to finish [130]\n"
	    "  --log-level LEVEL       debug, info, warn or error [info]\n"
	    "  --help, --version\n"
	    "\n"
	    "Endpoints: /metrics (Prometheus text), /healthz. SIGTERM or SIGINT: stop taking new tunnels,\n"
	    "let active ones finish until the drain timeout, then exit 0.\n");
}

static int
parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *e;
	unsigned long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &e, 10);
	if (errno || *e != '\0' || v < min || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* "ADDR:PORT" or "[V6]:PORT" into static storage for the address. */
static int
parse_listen(const char *s, char *addr, size_t alen, int *port)
{
	const char *colon, *h = s, *hend;
	uint32_t p;

	if (*s == '[') {
		h = s + 1;
		if ((hend = strchr(h, ']')) == NULL || hend[1] != ':')
			return -1;
		colon = hend + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		hend = colon;
	}
	if ((size_t)(hend - h) >= alen || parse_u32(colon + 1, 0, 65535, &p) != 0)
		return -1;
	memcpy(addr, h, (size_t)(hend - h));
	addr[hend - h] = '\0';
	*port = (int)p;
	return 0;
}

static void
drained(void *arg)
{
	struct app *app = arg;

	logf_(app, CABLE_TUNNEL_LOG_INFO, "no tunnels left, exiting");
	app->loop->ops->quit(app->loop, 0);
}

static void
deadline_hit(void *arg)
{
	struct app *app = arg;
	struct cable_tunnel_server_stats st;

	cable_tunnel_server_get_stats(app->srv, &st);
	logf_(app, CABLE_TUNNEL_LOG_WARN, "drain deadline reached with %llu tunnels, exiting",
	    (unsigned long long)(st.pending + st.active));
	app->loop->ops->quit(app->loop, 0);
}

/*
 * Heap that a burst of connections (an attack, a reconnect storm) used goes back to the system
 * once they are gone: glibc keeps freed pages otherwise and the server would stay at its peak.
 */
#define TRIM_PERIOD_US (2 * 1000 * 1000)
#define TRIM_FREE_BYTES (512 * 1024)

static void
trim_tick(void *arg)
{
	struct app *app = arg;

	app->loop->ops->timer_del(&app->trim);
	if (mallinfo2().fordblks > TRIM_FREE_BYTES)
		malloc_trim(0);
	(void)app->loop->ops->timer_add(app->loop, TRIM_PERIOD_US, trim_tick, app, &app->trim);
}

static void
on_signal(void *arg, int signo)
{
	struct app *app = arg;

	if (app->draining) {
		logf_(app, CABLE_TUNNEL_LOG_WARN, "second signal %d, exiting now", signo);
		app->loop->ops->quit(app->loop, 0);
		return;
	}
	app->draining = true;
	logf_(app, CABLE_TUNNEL_LOG_INFO, "signal %d: draining (up to %u s)", signo,
	    app->drain_ms / 1000);
	if (app->loop->ops->timer_add(app->loop, (uint64_t)app->drain_ms * 1000, deadline_hit, app,
	    &app->deadline) != 0)
		app->loop->ops->quit(app->loop, 0);
	cable_tunnel_server_drain(app->srv, drained, app);
}

int
main(int argc, char **argv)
{
	enum {
		O_LISTEN = 256, O_CERT, O_KEY, O_RID, O_LIFETIME, O_WAIT, O_MSG, O_MSGS, O_PENDING,
		O_SOURCE, O_HEADER, O_FDS, O_DRAIN, O_LOG, O_HELP, O_VERSION, O_EVLIB, O_QUEUED, O_QTOTAL, O_PROXY,
	};
	static const struct option opts[] = {
		{"listen", required_argument, NULL, O_LISTEN},
		{"cert", required_argument, NULL, O_CERT},
		{"key", required_argument, NULL, O_KEY},
		{"routing-id", required_argument, NULL, O_RID},
		{"lifetime", required_argument, NULL, O_LIFETIME},
		{"connect-wait", required_argument, NULL, O_WAIT},
		{"max-message", required_argument, NULL, O_MSG},
		{"max-messages", required_argument, NULL, O_MSGS},
		{"max-pending", required_argument, NULL, O_PENDING},
		{"max-per-source", required_argument, NULL, O_SOURCE},
		{"max-header", required_argument, NULL, O_HEADER},
		{"max-fds", required_argument, NULL, O_FDS},
		{"drain-timeout", required_argument, NULL, O_DRAIN},
		{"log-level", required_argument, NULL, O_LOG},
		{"help", no_argument, NULL, O_HELP},
		{"version", no_argument, NULL, O_VERSION},
		{"event-lib", required_argument, NULL, O_EVLIB},
		{"max-queued", required_argument, NULL, O_QUEUED},
		{"max-queued-total", required_argument, NULL, O_QTOTAL},
		{"trusted-proxy", required_argument, NULL, O_PROXY},
		{NULL, 0, NULL, 0},
	};
	struct cable_tunnel_server_config cfg;
	struct cable_loop_lws_config lcfg;
	struct app app;
	char addr[128] = "127.0.0.1";
	uint32_t v, secs;
	int opt, r, rc = 1, evlib = -1; /* -1: epoll if available */
	const char *proxies[CABLE_TUNNEL_MAX_PROXIES];
	size_t nproxies = 0;

	memset(&cfg, 0, sizeof(cfg));
	memset(&lcfg, 0, sizeof(lcfg));
	memset(&app, 0, sizeof(app));
	cfg.port = 8080;
	app.drain_ms = 130000;
	app.min_level = CABLE_TUNNEL_LOG_INFO;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case O_LISTEN:
			if (parse_listen(optarg, addr, sizeof(addr), &cfg.port) != 0)
				goto bad;
			break;
		case O_CERT:
			cfg.cert_file = optarg;
			break;
		case O_KEY:
			cfg.key_file = optarg;
			break;
		case O_RID:
			if (cable_hex_decode(optarg, strlen(optarg), cfg.routing_id, 3) != 0)
				goto bad;
			break;
		case O_LIFETIME:
			if (parse_u32(optarg, 1, 86400, &secs) != 0)
				goto bad;
			cfg.lifetime_ms = secs * 1000;
			break;
		case O_WAIT:
			if (parse_u32(optarg, 1, 86400, &secs) != 0)
				goto bad;
			cfg.connect_wait_ms = secs * 1000;
			break;
		case O_MSG:
			if (parse_u32(optarg, 1, 1u << 20, &cfg.max_message) != 0)
				goto bad;
			break;
		case O_MSGS:
			if (parse_u32(optarg, 1, 1u << 16, &cfg.max_messages) != 0)
				goto bad;
			break;
		case O_PENDING:
			if (parse_u32(optarg, 1, UINT32_MAX, &cfg.max_pending) != 0)
				goto bad;
			break;
		case O_SOURCE:
			if (parse_u32(optarg, 1, UINT32_MAX, &cfg.max_per_source) != 0)
				goto bad;
			break;
		case O_HEADER:
			if (parse_u32(optarg, 256, 65535, &cfg.max_header) != 0)
				goto bad;
			break;
		case O_FDS:
			if (parse_u32(optarg, 64, 1u << 22, &v) != 0)
				goto bad;
			lcfg.max_fds = v;
			break;
		case O_DRAIN:
			if (parse_u32(optarg, 0, 86400, &secs) != 0)
				goto bad;
			app.drain_ms = secs * 1000;
			break;
		case O_LOG:
			if (strcmp(optarg, "debug") == 0)
				app.min_level = CABLE_TUNNEL_LOG_DEBUG;
			else if (strcmp(optarg, "info") == 0)
				app.min_level = CABLE_TUNNEL_LOG_INFO;
			else if (strcmp(optarg, "warn") == 0)
				app.min_level = CABLE_TUNNEL_LOG_WARN;
			else if (strcmp(optarg, "error") == 0)
				app.min_level = CABLE_TUNNEL_LOG_ERR;
			else
				goto bad;
			break;
		case O_QUEUED:
			if (parse_u32(optarg, 1, UINT32_MAX, &cfg.max_queued) != 0)
				goto bad;
			break;
		case O_QTOTAL:
			if (parse_u32(optarg, 1, UINT32_MAX, &v) != 0)
				goto bad;
			cfg.max_queued_total = v;
			break;
		case O_PROXY:
			if (nproxies == CABLE_TUNNEL_MAX_PROXIES)
				goto bad;
			proxies[nproxies++] = optarg;
			break;
		case O_EVLIB:
			if (strcmp(optarg, "epoll") == 0)
				evlib = 1;
			else if (strcmp(optarg, "poll") == 0)
				evlib = 0;
			else
				goto bad;
			break;
		case O_HELP:
			usage(stdout);
			return 0;
		case O_VERSION:
			printf("cable-tunneld %s\n", cable_version());
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || (cfg.cert_file == NULL) != (cfg.key_file == NULL)) {
		fprintf(stderr, "cable-tunneld: --cert and --key go together; no positional arguments\n");
		return EXIT_USAGE;
	}
	cfg.listen_addr = addr;
	cfg.trusted_proxies = proxies;
	cfg.n_trusted_proxies = nproxies;
	cfg.log = server_log;
	cfg.log_arg = &app;
	/* lws needs room for the largest headers we accept plus what it keeps for itself. */
	lcfg.max_http_header = (cfg.max_header ? cfg.max_header : 4096) + 1024;
	/* poll() costs grow with every open connection; epoll (lws's libev event lib) does not. */
	lcfg.use_epoll = evlib != 0;
	r = cable_loop_lws_new_ex(&lcfg, &app.loop);
	if (r == CABLE_ERR_UNSUPPORTED && evlib == -1) {
		lcfg.use_epoll = false;
		r = cable_loop_lws_new_ex(&lcfg, &app.loop);
	}
	if (r != 0) {
		fprintf(stderr, "cable-tunneld: cannot create the event loop: %s\n", cable_strerror(r));
		goto out;
	}
	logf_(&app, CABLE_TUNNEL_LOG_DEBUG, "event loop: %s", lcfg.use_epoll ? "epoll" : "poll");
	if ((r = cable_tunnel_server_new(app.loop, &cfg, &app.srv)) != 0) {
		fprintf(stderr, "cable-tunneld: cannot serve on %s:%d: %s\n", addr, cfg.port,
		    cable_strerror(r));
		goto out;
	}
	if (cable_loop_lws_signal_add(app.loop, SIGTERM, on_signal, &app) != 0 ||
	    cable_loop_lws_signal_add(app.loop, SIGINT, on_signal, &app) != 0) {
		fprintf(stderr, "cable-tunneld: cannot take signals\n");
		goto out;
	}
	if (app.loop->ops->timer_add(app.loop, TRIM_PERIOD_US, trim_tick, &app, &app.trim) != 0) {
		fprintf(stderr, "cable-tunneld: cannot add a timer\n");
		goto out;
	}
	/* One line on stdout for supervisors and tests that asked for port 0. */
	printf("listening %s %d\n", addr, cable_tunnel_server_port(app.srv));
	fflush(stdout);
	r = cable_loop_lws_run(app.loop);
	rc = r == 0 ? 0 : 1;
out:
	app.loop ? app.loop->ops->timer_del(&app.deadline) : (void)0;
	app.loop ? app.loop->ops->timer_del(&app.trim) : (void)0;
	cable_tunnel_server_free(&app.srv);
	cable_loop_lws_free(&app.loop);
	return rc;
bad:
	fprintf(stderr, "cable-tunneld: invalid value for --%s: %s\n",
	    opt == O_EVLIB ? "event-lib" : opt == O_QUEUED ? "max-queued" :
	    opt == O_QTOTAL ? "max-queued-total" : opt == O_PROXY ? "trusted-proxy" :
	    opts[opt - O_LISTEN].name, optarg);
	return EXIT_USAGE;
}

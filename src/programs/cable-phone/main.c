/* cable-phone: the phone's side of a hybrid sign-in, as a software authenticator (for tests and demos). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cable/bytes.h"
#include "cable/cable.h"
#include "cable/cred-store.h"
#include "cable/error.h"
#include "cable/loop-lws.h"
#include "cable/phone-session.h"
#include "cable/session-io.h"

/* Exit codes (docs/cable-phone.md). */
enum {
	EXIT_ANSWERED = 0,     /* a request was answered with CTAP2_OK and the session closed */
	EXIT_CTAP_ERROR = 1,   /* answered, but with a CTAP error status (declined, no credentials) */
	EXIT_USAGE = 2,        /* bad options */
	EXIT_QR = 3,           /* the FIDO:/ URL is not valid */
	EXIT_TUNNEL = 4,       /* tunnel server: connect, TLS, HTTP, routing ID, closed early */
	EXIT_BLUETOOTH = 5,    /* BlueZ: no adapter, not powered, advertising refused */
	EXIT_TIMEOUT = 6,      /* a stage timed out (no desktop found, no request) */
	EXIT_PROTOCOL = 7,     /* the desktop broke the protocol (handshake, AEAD, framing) */
	EXIT_CANCELLED = 8,    /* SIGINT/SIGTERM, or the desktop shut down without asking */
	EXIT_FAILURE_ = 9,     /* anything else: store, memory, internal */
};

#define PROMPT_LINE_MAX 64

struct app {
	struct cable_loop *loop;
	struct cable_session_io_real *io;
	struct cable_phone_session *ps;
	struct cable_cred_store *store;
	char *store_path;
	bool json;
	bool prompt;
	struct cable_loop_fd *stdin_watch;
	char line[PROMPT_LINE_MAX];
	size_t line_len;
	int last_status;
	bool answered_request;
	int exit_code;
};

static void
fail_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
fail_line(const char *fmt, ...)
{
	va_list ap;

	fputs("cable-phone: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int
usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("cable-phone: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (try 'cable-phone --help')\n", stderr);
	return EXIT_USAGE;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "Usage: cable-phone --qr 'FIDO:/...' [OPTIONS]\n"
	    "The phone's side of a FIDO hybrid (caBLE v2) sign-in, as a software authenticator: scans the\n"
	    "QR code's URL, opens a tunnel, advertises over BLE and answers one CTAP request.\n"
	    "\n"
	    "  --qr URL                the FIDO:/ URL from the desktop's QR code (required)\n"
	    "  --tunnel-server URL     tunnel server for every domain, or DOMAIN_ID=URL for one\n"
	    "                          (wss://host[:port], ws:// only on loopback) [the real servers]\n"
	    "  --tunnel-ca FILE        PEM CA file to trust for the tunnel server (test certificates)\n"
	    "  --domain-id N           tunnel domain ID written into the advert, 0-65535 [0]\n"
	    "  --adapter hciN          Bluetooth adapter to advertise on [the first powered one]\n"
	    "  --store FILE            credential store [$XDG_STATE_HOME/cable-bridge/cable-phone.cbor]\n"
	    "  --ephemeral             a fresh in-memory store, forgotten at exit\n"
	    "  --attestation none|packed  makeCredential attestation [none]\n"
	    "  --user-presence auto|prompt  approve every request, or ask on the terminal [auto]\n"
	    "  --json                  JSON events on stdout, one per line, instead of progress text\n"
	    "  --timeout SECONDS       how long to advertise for a desktop [120]\n"
	    "  --request-timeout SECONDS  wait for the request after the handshake [60]\n"
	    "  --linger-ms MS          after answering, wait this long for the desktop's shutdown [2000]\n"
	    "\n"
	    "Test options (make the phone misbehave so a desktop's error paths can be tested):\n"
	    "  --delay-ms MS           hold the answer this long (a slow phone)\n"
	    "  --misbehave NAME        one of:\n"
	    "      wrong-psk            PSK from the wrong salt; answers the handshake anyway\n"
	    "                           (desktop: handshake response fails, CABLE_ERR_AUTH)\n"
	    "      bad-advert-tag       advert tag altered (desktop: CABLE_ERR_ADVERT_TAG, no phone found)\n"
	    "      truncated-handshake  80-byte handshake response (desktop: CABLE_ERR_HANDSHAKE_LENGTH)\n"
	    "      revision-0           padded revision-0 post-handshake message, unframed CTAP after it\n"
	    "                           (desktop: must detect revision 0; no update, close instead of shutdown)\n"
	    "      garbage              48 random bytes after the handshake (desktop: CABLE_ERR_AUTH)\n"
	    "      shutdown             a shutdown frame instead of the answer (desktop: CABLE_ERR_PEER_SHUTDOWN)\n"
	    "      shutdown-after       a shutdown frame after the answer, as webauthn-rs sends\n"
	    "                           (desktop: has the answer, then CABLE_ERR_PEER_SHUTDOWN)\n"
	    "      out-of-order         update (counter 1) before the post-handshake message (counter 0)\n"
	    "                           (desktop: CABLE_ERR_AUTH)\n"
	    "      drop-tunnel          drop the tunnel when the request arrives (desktop: tunnel closed)\n"
	    "      no-update            no update message, as iOS and older phones (desktop: must cope)\n"
	    "      bad-update           an update that is not a CBOR map (desktop: CABLE_ERR_UPDATE)\n"
	    "  --help, --version\n"
	    "\n"
	    "Exit status: 0 answered (CTAP2_OK), 1 answered with a CTAP error, 2 usage error, 3 invalid\n"
	    "QR URL, 4 tunnel failure, 5 Bluetooth failure, 6 timeout, 7 protocol error from the desktop,\n"
	    "8 cancelled, 9 other failure.\n");
}

static int
parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	char *e;
	unsigned long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &e, 10);
	if (errno != 0 || *e != '\0' || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static const char *
command_name(uint8_t c)
{
	switch (c) {
	case 0x01: return "makeCredential";
	case 0x02: return "getAssertion";
	case 0x04: return "getInfo";
	case 0x08: return "getNextAssertion";
	case 0x0b: return "selection";
	default: return "unknown";
	}
}

static int
exit_for(int err, bool answered, int status)
{
	if (err == 0)
		return answered && status == 0 ? EXIT_ANSWERED : answered ? EXIT_CTAP_ERROR : EXIT_ANSWERED;
	if (err == CABLE_ERR_CANCELLED || err == CABLE_ERR_PEER_SHUTDOWN)
		return EXIT_CANCELLED;
	if (err == CABLE_ERR_TIMEOUT)
		return EXIT_TIMEOUT;
	if (err <= -100 && err > -200)
		return EXIT_TUNNEL;
	if (err <= -200 && err > -300)
		return EXIT_BLUETOOTH;
	switch (err) {
	case CABLE_ERR_AUTH:
	case CABLE_ERR_POINT:
	case CABLE_ERR_HANDSHAKE_LENGTH:
	case CABLE_ERR_HANDSHAKE_PAYLOAD:
	case CABLE_ERR_PADDING:
	case CABLE_ERR_FRAME_TYPE:
	case CABLE_ERR_FRAME_EMPTY:
	case CABLE_ERR_UNEXPECTED:
	case CABLE_ERR_UPDATE:
	case CABLE_ERR_UNSUPPORTED:
	case CABLE_ERR_COUNTER:
	case CABLE_ERR_TOO_BIG:
		return EXIT_PROTOCOL;
	default:
		return EXIT_FAILURE_;
	}
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t start_ms;

/* One event per line; "ms" is the time since the program started. */
static void
emit_json(json_t *o)
{
	char *s;

	json_object_set_new(o, "ms", json_integer((json_int_t)(mono_ms() - start_ms)));
	s = json_dumps(o, JSON_COMPACT);

	if (s != NULL) {
		printf("%s\n", s);
		free(s);
	}
	fflush(stdout);
	json_decref(o);
}

static void
stdin_stop(struct app *app)
{
	app->loop->ops->fd_del(&app->stdin_watch);
}

/* The person's answer, read as the loop sees stdin become readable (the loop keeps running). */
static void
on_stdin(void *arg, int fd, uint32_t revents)
{
	struct app *app = arg;
	char buf[32];
	ssize_t n;
	bool eol = false, yes;

	(void)revents;
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		eol = true; /* EOF or error: no answer is a no */
	for (ssize_t i = 0; i < n && !eol; i++) {
		if (buf[i] == '\n')
			eol = true;
		else if (app->line_len + 1 < sizeof(app->line))
			app->line[app->line_len++] = buf[i];
	}
	if (!eol)
		return;
	app->line[app->line_len] = '\0';
	yes = strcmp(app->line, "y") == 0 || strcmp(app->line, "Y") == 0 || strcmp(app->line, "yes") == 0;
	app->line_len = 0;
	stdin_stop(app);
	if (app->json) {
		json_t *o = json_pack("{s:s, s:b}", "event", "user", "approved", yes);
		if (o != NULL)
			emit_json(o);
	} else
		printf("%s\n", yes ? "Approved." : "Declined.");
	fflush(stdout);
	(void)cable_phone_session_confirm(app->ps, yes);
}

static void
ask(struct app *app, const struct cable_phone_event *ev)
{
	int r;

	if (app->json) {
		json_t *o = json_pack("{s:s, s:s, s:s?}", "event", "prompt", "command", command_name(ev->command),
		    "rp_id", ev->rp_id);
		if (o != NULL)
			emit_json(o);
	} else {
		printf("Allow %s for %s? [y/N] ", command_name(ev->command), ev->rp_id ? ev->rp_id : "?");
		fflush(stdout);
	}
	app->line_len = 0;
	if ((r = app->loop->ops->fd_add(app->loop, STDIN_FILENO, CABLE_LOOP_IN, on_stdin, app,
		 &app->stdin_watch)) != 0) {
		fail_line("cannot watch stdin for the answer: %s", cable_strerror(r));
		(void)cable_phone_session_confirm(app->ps, false);
	}
}

static void
on_event(void *arg, const struct cable_phone_event *ev)
{
	struct app *app = arg;
	char hex[2 * 32 + 1];
	json_t *o = NULL;

	switch (ev->type) {
	case CABLE_PHONE_EV_QR:
		if (app->json)
			o = json_pack("{s:s, s:s}", "event", "qr", "request_type",
			    cable_request_type_str(ev->request_type));
		else
			printf("QR code read (request type %s).\n", cable_request_type_str(ev->request_type));
		break;
	case CABLE_PHONE_EV_TUNNEL_OPEN:
		cable_hex_encode(ev->routing_id, 3, hex, false);
		if (app->json)
			o = json_pack("{s:s, s:s}", "event", "tunnel", "routing_id", hex);
		else
			printf("Tunnel open, routing ID %s.\n", hex);
		break;
	case CABLE_PHONE_EV_ADVERTISING:
		cable_hex_encode(ev->advert, ev->advert_len, hex, false);
		if (app->json)
			o = json_pack("{s:s, s:s, s:s, s:i}", "event", "advertising", "advert", hex, "uuid",
			    ev->uuid16 == 0xfff9 ? "fff9" : "fde2", "domain_id", (int)ev->domain_id);
		else
			printf("Advertising %s under %04x (domain %u); waiting for the desktop...\n", hex,
			    ev->uuid16, ev->domain_id);
		break;
	case CABLE_PHONE_EV_HANDSHAKE:
		if (app->json)
			o = json_pack("{s:s}", "event", "handshake");
		else
			printf("Handshake done; waiting for the request.\n");
		break;
	case CABLE_PHONE_EV_REQUEST:
		if (app->json)
			o = json_pack("{s:s, s:s, s:i, s:s?}", "event", "request", "command",
			    command_name(ev->command), "command_byte", ev->command, "rp_id", ev->rp_id);
		else
			printf("Request: %s for %s.\n", command_name(ev->command), ev->rp_id ? ev->rp_id : "-");
		if (o != NULL) {
			emit_json(o);
			o = NULL;
		}
		fflush(stdout);
		if (app->prompt && ev->command != 0x04)
			ask(app, ev);
		break;
	case CABLE_PHONE_EV_ANSWERED:
		if (ev->command != 0x04) {
			app->answered_request = true;
			app->last_status = ev->status;
		}
		if (app->json)
			o = json_pack("{s:s, s:s, s:i, s:s, s:I}", "event", "answered", "command",
			    command_name(ev->command), "status", ev->status, "status_name",
			    ev->status == 0 ? "CTAP2_OK" : cable_errname(ev->status), "length",
			    (json_int_t)ev->response_len);
		else
			printf("Answered %s: %s (%zu bytes).\n", command_name(ev->command),
			    ev->status == 0 ? "OK" : cable_errname(ev->status), ev->response_len);
		break;
	case CABLE_PHONE_EV_SHUTDOWN:
		if (app->json)
			o = json_pack("{s:s}", "event", "shutdown");
		else
			printf("The desktop sent shutdown.\n");
		break;
	case CABLE_PHONE_EV_CLOSED:
		stdin_stop(app);
		app->exit_code = exit_for(ev->error, app->answered_request, app->last_status);
		if (app->json)
			o = json_pack("{s:s, s:s?, s:s?, s:s, s:b, s:i}", "event", "closed", "error",
			    ev->error ? cable_errname(ev->error) : NULL, "message",
			    ev->error ? cable_strerror(ev->error) : NULL, "stage",
			    cable_phone_stage_name(ev->stage), "answered", ev->answered, "exit", app->exit_code);
		else
			printf("Closed.\n");
		if (ev->error != 0)
			fail_line("%s (while %s)", cable_strerror(ev->error), cable_phone_stage_name(ev->stage));
		app->loop->ops->quit(app->loop, 0);
		break;
	}
	if (o != NULL)
		emit_json(o);
	fflush(stdout);
}

static void
on_signal(void *arg, int signo)
{
	struct app *app = arg;

	(void)signo;
	cable_phone_session_cancel(app->ps);
}

/* $XDG_STATE_HOME/cable-bridge/cable-phone.cbor, making the directory (0700). */
static char *
default_store_path(void)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char dir[4096], *path;
	size_t n, plen;

	if (state != NULL && state[0] == '/')
		snprintf(dir, sizeof(dir), "%s", state);
	else if (home != NULL && home[0] == '/')
		snprintf(dir, sizeof(dir), "%s/.local/state", home);
	else
		return NULL;
	(void)mkdir(dir, 0700);
	if ((n = strlen(dir)) + 64 >= sizeof(dir))
		return NULL;
	snprintf(dir + n, sizeof(dir) - n, "/cable-bridge");
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return NULL;
	plen = strlen(dir) + 32;
	if ((path = malloc(plen)) == NULL)
		return NULL;
	snprintf(path, plen, "%s/cable-phone.cbor", dir);
	return path;
}

int
main(int argc, char **argv)
{
	enum { O_QR = 256, O_SERVER, O_CA, O_DOMAIN, O_ADAPTER, O_STORE, O_EPHEMERAL, O_UP, O_JSON,
		O_MISBEHAVE, O_DELAY, O_TIMEOUT, O_REQ_TIMEOUT, O_LINGER, O_ATTEST };
	static const struct option opts[] = {
		{"qr", required_argument, NULL, O_QR},
		{"tunnel-server", required_argument, NULL, O_SERVER},
		{"tunnel-ca", required_argument, NULL, O_CA},
		{"domain-id", required_argument, NULL, O_DOMAIN},
		{"adapter", required_argument, NULL, O_ADAPTER},
		{"store", required_argument, NULL, O_STORE},
		{"ephemeral", no_argument, NULL, O_EPHEMERAL},
		{"user-presence", required_argument, NULL, O_UP},
		{"json", no_argument, NULL, O_JSON},
		{"misbehave", required_argument, NULL, O_MISBEHAVE},
		{"delay-ms", required_argument, NULL, O_DELAY},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"request-timeout", required_argument, NULL, O_REQ_TIMEOUT},
		{"linger-ms", required_argument, NULL, O_LINGER},
		{"attestation", required_argument, NULL, O_ATTEST},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct app app;
	struct cable_phone_config pcfg;
	struct cable_session_io_real_config rcfg;
	const struct cable_env *env = cable_env_system();
	const char *qr = NULL, *store_opt = NULL;
	bool ephemeral = false;
	uint32_t v;
	int c, r, code = EXIT_FAILURE_;

	start_ms = mono_ms();
	memset(&app, 0, sizeof(app));
	memset(&pcfg, 0, sizeof(pcfg));
	memset(&rcfg, 0, sizeof(rcfg));
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		switch (c) {
		case O_QR:
			qr = optarg;
			break;
		case O_SERVER:
			rcfg.tunnel_server = optarg;
			break;
		case O_CA:
			rcfg.tunnel_ca = optarg;
			break;
		case O_DOMAIN:
			if (parse_u32(optarg, 65535, &v) != 0)
				return usage_error("--domain-id: '%s' is not a number from 0 to 65535", optarg);
			pcfg.domain_id = (uint16_t)v;
			break;
		case O_ADAPTER:
			rcfg.adapter = optarg;
			break;
		case O_STORE:
			store_opt = optarg;
			break;
		case O_EPHEMERAL:
			ephemeral = true;
			break;
		case O_UP:
			if (strcmp(optarg, "prompt") == 0)
				app.prompt = true;
			else if (strcmp(optarg, "auto") != 0)
				return usage_error("--user-presence: '%s' is not auto or prompt", optarg);
			break;
		case O_JSON:
			app.json = true;
			break;
		case O_MISBEHAVE:
			if (cable_phone_misbehave_from_name(optarg, &pcfg.misbehave) != 0)
				return usage_error("--misbehave: unknown name '%s'", optarg);
			break;
		case O_DELAY:
			if (parse_u32(optarg, 3600000, &v) != 0)
				return usage_error("--delay-ms: '%s' is not a number of milliseconds", optarg);
			pcfg.delay_ms = v;
			break;
		case O_TIMEOUT:
		case O_REQ_TIMEOUT:
			if (parse_u32(optarg, 86400, &v) != 0 || v == 0)
				return usage_error("%s: '%s' is not a number of seconds from 1 to 86400",
				    c == O_TIMEOUT ? "--timeout" : "--request-timeout", optarg);
			if (c == O_TIMEOUT)
				pcfg.handshake_timeout_ms = v * 1000;
			else
				pcfg.request_timeout_ms = v * 1000;
			break;
		case O_LINGER:
			if (parse_u32(optarg, 600000, &v) != 0 || v == 0)
				return usage_error("--linger-ms: '%s' is not a number from 1 to 600000", optarg);
			pcfg.linger_ms = v;
			break;
		case O_ATTEST:
			if (strcmp(optarg, "packed") == 0)
				pcfg.attestation = CABLE_ATTESTATION_PACKED_SELF;
			else if (strcmp(optarg, "none") != 0)
				return usage_error("--attestation: '%s' is not none or packed", optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("cable-phone %s\n", cable_version());
			return 0;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (qr == NULL)
		return usage_error("--qr URL is required");
	if (ephemeral && store_opt != NULL)
		return usage_error("--store and --ephemeral exclude each other");

	if (ephemeral) {
		r = cable_cred_store_new(env, &app.store);
	} else {
		if (store_opt != NULL)
			app.store_path = strdup(store_opt);
		else if ((app.store_path = default_store_path()) == NULL) {
			fail_line("no place for the credential store (set XDG_STATE_HOME or HOME, or use --store/--ephemeral)");
			return EXIT_FAILURE_;
		}
		r = app.store_path != NULL ? cable_cred_store_load_file(app.store_path, env, &app.store)
					   : CABLE_ERR_NOMEM;
		if (r != 0) {
			fail_line("credential store %s: %s", app.store_path ? app.store_path : "?",
			    cable_strerror(r));
			free(app.store_path);
			return EXIT_FAILURE_;
		}
		pcfg.persist = cable_cred_store_persist_file;
		pcfg.persist_ctx = app.store_path;
	}
	if (r != 0) {
		fail_line("credential store: %s", cable_strerror(r));
		return EXIT_FAILURE_;
	}

	if ((app.loop = cable_loop_lws_new(NULL)) == NULL) {
		fail_line("cannot create the event loop");
		goto out;
	}
	if ((r = cable_session_io_real_new(app.loop, &rcfg, &app.io)) != 0) {
		fail_line("%s%s", cable_strerror(r),
		    r == CABLE_ERR_TUNNEL_URL || r == CABLE_ERR_TUNNEL_INSECURE ? " (--tunnel-server)" : "");
		code = r == CABLE_ERR_TUNNEL_URL || r == CABLE_ERR_TUNNEL_INSECURE ? EXIT_USAGE : EXIT_FAILURE_;
		goto out;
	}
	pcfg.env = env;
	pcfg.store = app.store;
	pcfg.ask_user = app.prompt;
	pcfg.event = on_event;
	pcfg.event_arg = &app;
	if ((r = cable_phone_session_new(cable_session_io_real_get(app.io), &pcfg, &app.ps)) != 0) {
		fail_line("%s", cable_strerror(r));
		goto out;
	}
	if (cable_loop_lws_signal_add(app.loop, SIGINT, on_signal, &app) != 0 ||
	    cable_loop_lws_signal_add(app.loop, SIGTERM, on_signal, &app) != 0) {
		fail_line("cannot handle signals");
		goto out;
	}
	if ((r = cable_phone_session_start(app.ps, qr)) != 0) {
		bool qr_err = r == CABLE_ERR_QR_PREFIX || r == CABLE_ERR_DIGITS || (r <= -7 && r >= -13) ||
		    r == CABLE_ERR_LENGTH;

		if (app.json) {
			json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:i}", "event", "closed", "error",
			    cable_errname(r), "message", cable_strerror(r), "stage", qr_err ? "qr" : "tunnel",
			    "answered", 0, "exit", qr_err ? EXIT_QR : exit_for(r, false, 0));
			if (o != NULL)
				emit_json(o);
		}
		fail_line("%s: %s", qr_err ? "invalid QR URL" : "cannot start", cable_strerror(r));
		code = qr_err ? EXIT_QR : exit_for(r, false, 0);
		goto out;
	}
	app.exit_code = EXIT_FAILURE_;
	if ((r = cable_loop_lws_run(app.loop)) != 0)
		fail_line("event loop: %s", cable_strerror(r));
	else
		code = app.exit_code;
out:
	cable_phone_session_free(&app.ps);
	cable_session_io_real_free(&app.io);
	cable_loop_lws_free(&app.loop);
	cable_cred_store_free(&app.store);
	free(app.store_path);
	return code;
}

/* cablectl create / get: one WebAuthn ceremony with a phone over hybrid, JSON in and JSON out. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cable/bytes.h"
#include "cable/env.h"
#include "cable/error.h"
#include "cable/initiator.h"
#include "cable/loop-lws.h"
#include "cable/qr-render.h"
#include "cable/session-io.h"
#include "cable/webauthn.h"
#include "cablectl.h"

/* Exit codes of create/get (documented in --help and cablectl(1)). */
enum {
	SIGNIN_OK = 0,
	SIGNIN_REFUSED = 1,   /* the phone answered with a CTAP error status */
	SIGNIN_USAGE = 2,     /* bad options, bad WebAuthn options JSON, origin or RP ID */
	SIGNIN_TIMEOUT = 3,   /* no phone, no answer in time */
	SIGNIN_BLUETOOTH = 4, /* no BlueZ, no adapter, powered off, discovery refused */
	SIGNIN_TUNNEL = 5,    /* tunnel server: connect, TLS, HTTP, closed before the answer */
	SIGNIN_PROTOCOL = 6,  /* the phone broke the protocol or its answer fails WebAuthn checks */
	SIGNIN_FAILURE = 7,   /* anything else: out of memory, cannot write a file */
	SIGNIN_SIGINT = 130,  /* interrupted (Ctrl-C): shutdown sent, everything stopped */
	SIGNIN_SIGTERM = 143, /* terminated */
};

struct signin {
	const char *cmd; /* "create" or "get" */
	bool json;
	bool quiet_qr;   /* no terminal code (--json, or a PNG/SVG was asked for) */
	unsigned text_flags;
	const char *png_path, *svg_path;
	struct cable_loop *loop;
	struct cable_session_io_real *io;
	struct cable_initiator *in;
	struct cable_webauthn_request *req;
	int exit_code;
	int signo;
	double t_signal; /* when the first signal came */
	bool printed;
	double t0;
};

static double
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The CPU time this process has used so far, in milliseconds. */
static double
cpu_ms(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/* One JSON event per line on stderr, with the milliseconds since the program started. */
static void
emit_json(struct signin *a, json_t *o)
{
	char *s;

	if (o == NULL)
		return;
	json_object_set_new(o, "ms", json_real((double)(long long)((mono_ms() - a->t0) * 1000) / 1000));
	if ((s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10))) != NULL) {
		fprintf(stderr, "%s\n", s);
		free(s);
	}
	json_decref(o);
	fflush(stderr);
}

static void
progress(struct signin *a, const char *line)
{
	if (!a->json) {
		fprintf(stderr, "%s\n", line);
		fflush(stderr);
	}
}

static int
exit_for_error(int err)
{
	if (err > 0)
		return SIGNIN_REFUSED;
	if (err == CABLE_ERR_TIMEOUT)
		return SIGNIN_TIMEOUT;
	if (err <= -200 && err >= -299)
		return SIGNIN_BLUETOOTH;
	if (err <= -100 && err >= -199)
		return SIGNIN_TUNNEL;
	if (err == CABLE_ERR_WEBAUTHN_OPTIONS || err == CABLE_ERR_WEBAUTHN_ORIGIN ||
	    err == CABLE_ERR_WEBAUTHN_RP_ID)
		return SIGNIN_USAGE;
	if (err == CABLE_ERR_NOMEM || err == CABLE_ERR_INTERNAL || err == CABLE_ERR_IO ||
	    err == CABLE_ERR_RANDOM || err == CABLE_ERR_CRYPTO)
		return SIGNIN_FAILURE;
	return SIGNIN_PROTOCOL;
}

/* Writes len bytes to path, mode 0600 (the code holds the QR secret). */
static bool
write_secret_file(const char *path, const void *data, size_t len)
{
	mode_t old = umask(077);
	FILE *f = fopen(path, "wb");
	bool ok;

	umask(old);
	if (f == NULL)
		return false;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

/* The terminal's width in columns (stderr), or 0 if it is not a terminal. */
static int
term_columns(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 0;
}

static int
show_qr(struct signin *a, const char *url)
{
	struct cable_qr_symbol *sym = NULL;
	uint8_t *png = NULL;
	size_t png_len = 0;
	char *text = NULL, *svg = NULL;
	int r = SIGNIN_FAILURE, cols, quiet = CABLE_QR_QUIET_ZONE;

	if (cable_qr_symbol_encode(url, 0, &sym) != 0) {
		cablectl_fail(r, "cannot encode the QR code");
		goto out;
	}
	if (a->png_path != NULL) {
		if (cable_qr_render_png(sym, CABLE_QR_QUIET_ZONE, 8, &png, &png_len) != 0 ||
		    !write_secret_file(a->png_path, png, png_len)) {
			cablectl_fail(r, "cannot write %s: %s", a->png_path, strerror(errno));
			goto out;
		}
	}
	if (a->svg_path != NULL) {
		if (cable_qr_render_svg(sym, CABLE_QR_QUIET_ZONE, &svg) != 0 ||
		    !write_secret_file(a->svg_path, svg, strlen(svg))) {
			cablectl_fail(r, "cannot write %s: %s", a->svg_path, strerror(errno));
			goto out;
		}
	}
	if (a->json) {
		json_t *o = json_pack("{s:s, s:s, s:i, s:i}", "event", "qr", "url", url, "qr_version",
		    sym->version, "qr_modules", sym->width);
		if (a->png_path != NULL)
			json_object_set_new(o, "png", json_string(a->png_path));
		if (a->svg_path != NULL)
			json_object_set_new(o, "svg", json_string(a->svg_path));
		json_object_set_new(o, "cpu_ms", json_real(cpu_ms()));
		emit_json(a, o);
		r = SIGNIN_OK;
		goto out;
	}
	if (!a->quiet_qr) {
		/* Sized to fit: the quiet zone shrinks (never below 1 module) on a narrow terminal. */
		cols = term_columns();
		if (cols > 0 && cols < sym->width + 2 * quiet)
			quiet = (cols - sym->width) / 2 < 1 ? 1 : (cols - sym->width) / 2;
		if (cols > 0 && cols < sym->width + 2)
			fprintf(stderr, "(The terminal is %d columns wide; the QR code needs %d. Widen it, "
					"or use --qr-png.)\n", cols, sym->width + 2);
		else if (cable_qr_render_text(sym, quiet, a->text_flags, &text) == 0)
			fputs(text, stderr);
	}
	fprintf(stderr, "%s\n", url);
	if (a->png_path != NULL)
		fprintf(stderr, "QR code written to %s\n", a->png_path);
	if (a->svg_path != NULL)
		fprintf(stderr, "QR code written to %s\n", a->svg_path);
	progress(a, "Scan this QR code with your phone");
	r = SIGNIN_OK;
out:
	if (text != NULL) {
		cable_wipe(text, strlen(text));
		free(text);
	}
	if (svg != NULL) {
		cable_wipe(svg, strlen(svg));
		free(svg);
	}
	if (png != NULL) {
		cable_wipe(png, png_len);
		free(png);
	}
	cable_qr_symbol_free(&sym);
	return r;
}

/* The answer: WebAuthn JSON on stdout, or the phone's refusal by name. */
static void
handle_response(struct signin *a, const uint8_t *resp, size_t len)
{
	char *json = NULL, *msg = NULL;
	int r;

	r = cable_webauthn_finish(a->req, resp, len, &json, &msg);
	if (r == 0) {
		if (fputs(json, stdout) == EOF || fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
			cablectl_fail(0, "cannot write the result: %s", strerror(errno));
			a->exit_code = SIGNIN_FAILURE;
		} else
			a->exit_code = SIGNIN_OK;
		a->printed = true;
	} else if (r > 0) {
		a->exit_code = SIGNIN_REFUSED;
		cablectl_fail(0, "the phone refused: %s (0x%02x, %s)", cable_errname(r), r, cable_strerror(r));
	} else {
		a->exit_code = exit_for_error(r);
		cablectl_fail(0, "the phone's answer is not valid: %s", msg != NULL ? msg : cable_strerror(r));
	}
	if (a->json) {
		json_t *o = json_pack("{s:s, s:i, s:s}", "event", "response", "status", len > 0 ? resp[0] : -1,
		    "status_name", len > 0 && resp[0] == 0 ? "CTAP2_OK" : cable_errname(len > 0 ? resp[0] : 0));
		if (r < 0)
			json_object_set_new(o, "error", json_string(cable_errname(r)));
		json_object_set_new(o, "cpu_ms", json_real(cpu_ms()));
		emit_json(a, o);
	}
	free(msg);
	if (json != NULL) {
		cable_wipe(json, strlen(json));
		free(json);
	}
}

static void
on_event(void *arg, const struct cable_initiator_event *ev)
{
	struct signin *a = arg;
	json_t *o = NULL;
	const char *detail;

	switch (ev->type) {
	case CABLE_INITIATOR_EV_QR:
		if ((a->exit_code = show_qr(a, ev->url)) != SIGNIN_OK)
			cable_initiator_cancel(a->in);
		else
			a->exit_code = SIGNIN_FAILURE;
		break;
	case CABLE_INITIATOR_EV_PHONE_FOUND:
		if (a->json) {
			char uuid[8];
			snprintf(uuid, sizeof(uuid), "%04x", ev->uuid16);
			o = json_pack("{s:s, s:s, s:i}", "event", "phone_found", "uuid", uuid, "domain_id",
			    ev->domain_id);
		}
		progress(a, "Phone found nearby");
		break;
	case CABLE_INITIATOR_EV_CONNECTED:
		if (a->json)
			o = json_pack("{s:s}", "event", "connected");
		progress(a, "Connected");
		break;
	case CABLE_INITIATOR_EV_WAITING:
		if (a->json)
			o = json_pack("{s:s, s:i}", "event", "waiting", "revision", ev->revision);
		progress(a, "Waiting for you to confirm on the phone");
		break;
	case CABLE_INITIATOR_EV_RESPONSE:
		handle_response(a, ev->response, ev->response_len);
		break;
	case CABLE_INITIATOR_EV_DONE:
		if (a->json)
			o = json_pack("{s:s, s:i, s:f}", "event", "done", "exit", a->exit_code, "cpu_ms", cpu_ms());
		if (a->exit_code == SIGNIN_OK)
			progress(a, "Done");
		a->loop->ops->quit(a->loop, 0);
		break;
	case CABLE_INITIATOR_EV_FAILED:
		if (a->exit_code == SIGNIN_FAILURE || a->exit_code == SIGNIN_OK)
			a->exit_code = exit_for_error(ev->error);
		detail = cable_session_io_real_detail(a->io, ev->error);
		if (a->json)
			o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:f}", "event", "failed", "error",
			    cable_errname(ev->error), "message", cable_strerror(ev->error), "detail",
			    detail, "stage", cable_initiator_stage_name(ev->stage), "exit", a->exit_code,
			    "cpu_ms", cpu_ms());
		cablectl_fail(0, "%s (while in stage %s)%s%s", cable_strerror(ev->error),
		    cable_initiator_stage_name(ev->stage), *detail != '\0' ? ": " : "", detail);
		a->loop->ops->quit(a->loop, 0);
		break;
	case CABLE_INITIATOR_EV_CANCELLED:
		if (a->signo != 0)
			a->exit_code = a->signo == SIGTERM ? SIGNIN_SIGTERM : SIGNIN_SIGINT;
		if (a->json)
			o = json_pack("{s:s, s:s, s:i}", "event", "cancelled", "stage",
			    cable_initiator_stage_name(ev->stage), "exit", a->exit_code);
		if (a->signo != 0)
			cablectl_fail(0, "interrupted; the session was shut down");
		a->loop->ops->quit(a->loop, 0);
		break;
	}
	if (o != NULL)
		emit_json(a, o);
}

static void
on_signal(void *arg, int signo)
{
	struct signin *a = arg;

	if (a->signo != 0) {
		/*
		 * Another signal. One Ctrl-C can arrive twice (timeout(1) forwards it to the child and
		 * to its process group), so only one a second later means "stop waiting for the close".
		 */
		if (mono_ms() - a->t_signal < 1000)
			return;
		if (a->json)
			emit_json(a, json_pack("{s:s, s:s, s:i}", "event", "cancelled", "stage",
			    cable_initiator_stage_name(cable_initiator_stage(a->in)), "exit", a->exit_code));
		a->loop->ops->quit(a->loop, 0);
		return;
	}
	a->signo = signo;
	a->t_signal = mono_ms();
	/* After the answer is printed the session just stops waiting for the phone's close. */
	if (cable_initiator_stage(a->in) != CABLE_INITIATOR_STAGE_AFTER)
		a->exit_code = signo == SIGTERM ? SIGNIN_SIGTERM : SIGNIN_SIGINT;
	cable_initiator_cancel(a->in);
}

/* Reads a whole file ("-" = stdin), NUL-terminated, at most max bytes. */
static char *
read_all(const char *path, size_t max, bool *too_big)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, n;

	*too_big = false;
	if (f == NULL)
		return NULL;
	if ((buf = malloc(max + 2)) == NULL)
		goto out;
	while ((n = fread(buf + len, 1, max + 1 - len, f)) > 0) {
		len += n;
		if (len > max) {
			*too_big = true;
			free(buf);
			buf = NULL;
			goto out;
		}
	}
	if (ferror(f)) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[len] = '\0';
out:
	if (f != stdin)
		fclose(f);
	return buf;
}

static char *
random_b64(size_t n)
{
	uint8_t buf[64];
	char *s = NULL;

	if (n > sizeof(buf) || cable_env_random(cable_env_system(), buf, n) != 0 ||
	    cable_base64url_encode(buf, n, &s) != 0)
		return NULL;
	return s;
}

/* Options for a quick try without an RP: a fresh challenge (and user), the origin's host as RP. */
static char *
default_options(bool create)
{
	char *challenge = random_b64(32), *uid = random_b64(16), *out = NULL;
	json_t *o = NULL;

	if (challenge == NULL || uid == NULL)
		goto out;
	if (create)
		o = json_pack("{s:{s:s}, s:{s:s, s:s, s:s}, s:s, s:[{s:s, s:i}, {s:s, s:i}], s:{s:s, s:s}}",
		    "rp", "name", "cablectl", "user", "id", uid, "name", "cablectl", "displayName",
		    "cablectl", "challenge", challenge, "pubKeyCredParams", "type", "public-key", "alg", -7,
		    "type", "public-key", "alg", -257, "authenticatorSelection", "residentKey", "required",
		    "userVerification", "preferred");
	else
		o = json_pack("{s:s}", "challenge", challenge);
	if (o != NULL)
		out = json_dumps(o, JSON_COMPACT);
out:
	json_decref(o);
	free(challenge);
	free(uid);
	return out;
}

static void
signin_usage(FILE *f, const char *cmd)
{
	bool create = strcmp(cmd, "create") == 0;

	fprintf(f,
	    "Usage: cablectl %s --origin ORIGIN [--options FILE|-] [--qr-png FILE] [--qr-svg FILE]\n"
	    "                %*s [--json] [--tunnel-server URL] [--tunnel-ca FILE] [--adapter hciN]\n"
	    "                %*s [--timeout SECONDS] [--invert] [--no-color]\n\n"
	    "%s with a phone over hybrid (caBLE v2): shows a FIDO:/ QR code, finds the phone\n"
	    "over Bluetooth LE, meets it in the tunnel server and sends one %s request.\n"
	    "The %s is printed on stdout; the QR code and progress go to stderr.\n\n"
	    "  --origin ORIGIN       the web origin the ceremony is for (https://host[:port];\n"
	    "                        http only for localhost); checked against the RP ID\n"
	    "  --options FILE|-      WebAuthn %s (bare or as {\"publicKey\": ...});\n"
	    "                        \"-\" reads stdin. Without it: a fresh random challenge%s\n"
	    "  --qr-png FILE         write the QR code as PNG (mode 0600) instead of drawing it\n"
	    "  --qr-svg FILE         write the QR code as SVG (mode 0600) instead of drawing it\n"
	    "  --json                JSON events on stderr, one per line, instead of the drawing and\n"
	    "                        progress text: qr (with url), phone_found, connected, waiting,\n"
	    "                        response, then done, failed or cancelled (with exit)\n"
	    "  --tunnel-server URL   tunnel server for every domain (wss://host[:port]; ws:// only to\n"
	    "                        loopback), or DOMAIN=URL for one domain ID [the real servers]\n"
	    "  --tunnel-ca FILE      PEM CA certificates for the tunnel server (test servers)\n"
	    "  --adapter hciN        Bluetooth adapter [the first powered one]\n"
	    "  --timeout SECONDS     give up after this long [the options' timeout, else 120]\n"
	    "  --invert              draw dark modules (for dark-on-light terminals)\n"
	    "  --no-color            no ANSI colours around the QR code\n"
	    "  -h, --help            this text\n\n"
	    "Exit status:\n"
	    "  0    success: the %s is on stdout\n"
	    "  1    the phone refused (its CTAP status is reported by name, e.g.\n"
	    "       CTAP2_ERR_OPERATION_DENIED, CTAP2_ERR_NO_CREDENTIALS)\n"
	    "  2    usage error: bad option, options JSON, origin or RP ID (before any QR code)\n"
	    "  3    timeout: no phone found, or no answer in time\n"
	    "  4    Bluetooth unavailable: no BlueZ, no adapter, powered off, discovery refused\n"
	    "  5    tunnel failure: cannot connect, TLS, HTTP error, closed before the answer\n"
	    "  6    protocol error from the phone (handshake, decryption, framing, invalid answer)\n"
	    "  7    other failure (out of memory, cannot write a file)\n"
	    "  130  interrupted by SIGINT (Ctrl-C); 143 by SIGTERM: shutdown sent, all stopped\n"
	    "       (another signal a second later stops waiting for the tunnel to close)\n",
	    cmd, (int)strlen(cmd), "", (int)strlen(cmd), "",
	    create ? "Registers a passkey" : "Signs in", create ? "makeCredential" : "getAssertion",
	    create ? "RegistrationResponseJSON" : "AuthenticationResponseJSON",
	    create ? "PublicKeyCredentialCreationOptionsJSON" : "PublicKeyCredentialRequestOptionsJSON",
	    create ? ", a random user\n                        and the origin's host as RP ID"
		   : " and the origin's host\n                        as RP ID (discoverable credentials)",
	    create ? "RegistrationResponseJSON" : "AuthenticationResponseJSON");
}

static int
signin_run(int argc, char **argv, bool create)
{
	enum { O_ORIGIN = 256, O_OPTIONS, O_PNG, O_SVG, O_JSON, O_SERVER, O_CA, O_ADAPTER, O_TIMEOUT,
		O_INVERT, O_NOCOLOR };
	static const struct option opts[] = {
		{"origin", required_argument, NULL, O_ORIGIN},
		{"options", required_argument, NULL, O_OPTIONS},
		{"qr-png", required_argument, NULL, O_PNG},
		{"qr-svg", required_argument, NULL, O_SVG},
		{"json", no_argument, NULL, O_JSON},
		{"tunnel-server", required_argument, NULL, O_SERVER},
		{"tunnel-ca", required_argument, NULL, O_CA},
		{"adapter", required_argument, NULL, O_ADAPTER},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"invert", no_argument, NULL, O_INVERT},
		{"no-color", no_argument, NULL, O_NOCOLOR},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cmd = create ? "create" : "get";
	const char *origin = NULL, *options_path = NULL;
	struct cable_session_io_real_config rcfg;
	struct cable_initiator_config icfg;
	struct signin a;
	char *options = NULL, *msg = NULL;
	const uint8_t *ctap;
	size_t ctap_len;
	uint64_t timeout_s = 0;
	bool no_color = false, too_big;
	int c, r, code = SIGNIN_FAILURE;

	memset(&a, 0, sizeof(a));
	memset(&rcfg, 0, sizeof(rcfg));
	memset(&icfg, 0, sizeof(icfg));
	a.t0 = mono_ms();
	a.cmd = cmd;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case O_ORIGIN: origin = optarg; break;
		case O_OPTIONS: options_path = optarg; break;
		case O_PNG: a.png_path = optarg; break;
		case O_SVG: a.svg_path = optarg; break;
		case O_JSON: a.json = true; break;
		case O_SERVER: rcfg.tunnel_server = optarg; break;
		case O_CA: rcfg.tunnel_ca = optarg; break;
		case O_ADAPTER: rcfg.adapter = optarg; break;
		case O_TIMEOUT:
			if (!cablectl_parse_uint(optarg, 3600, &timeout_s) || timeout_s == 0)
				return cablectl_usage_error(cmd, "--timeout must be 1..3600 seconds, not '%s'", optarg);
			break;
		case O_INVERT: a.text_flags |= CABLE_QR_TEXT_INVERT; break;
		case O_NOCOLOR: no_color = true; break;
		case 'h': signin_usage(stdout, cmd); return SIGNIN_OK;
		default: return cablectl_option_error(cmd, c, argv);
		}
	}
	if (optind != argc)
		return cablectl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (origin == NULL)
		return cablectl_usage_error(cmd, "--origin is required");
	if (a.png_path != NULL && strcmp(a.png_path, "-") == 0)
		return cablectl_usage_error(cmd, "--qr-png needs a file name (stdout is for the result)");
	if (a.svg_path != NULL && strcmp(a.svg_path, "-") == 0)
		return cablectl_usage_error(cmd, "--qr-svg needs a file name (stdout is for the result)");
	a.quiet_qr = a.json || a.png_path != NULL || a.svg_path != NULL;
	if (!no_color && isatty(STDERR_FILENO) && getenv("NO_COLOR") == NULL)
		a.text_flags |= CABLE_QR_TEXT_ANSI;

	/* Everything about the request is checked before any QR code is shown. */
	if (options_path != NULL) {
		options = read_all(options_path, CABLE_WEBAUTHN_MAX_OPTIONS_LEN, &too_big);
		if (options == NULL) {
			if (too_big)
				return cablectl_usage_error(cmd, "--options %s: larger than %u bytes", options_path,
				    CABLE_WEBAUTHN_MAX_OPTIONS_LEN);
			return cablectl_usage_error(cmd, "--options %s: %s", options_path, strerror(errno));
		}
	} else if ((options = default_options(create)) == NULL)
		return cablectl_fail(SIGNIN_FAILURE, "cannot make default options");
	r = create ? cable_webauthn_create_begin(origin, options, &a.req, &msg)
		   : cable_webauthn_get_begin(origin, options, &a.req, &msg);
	if (r != 0) {
		code = exit_for_error(r);
		cablectl_fail(code, "%s", msg != NULL ? msg : cable_strerror(r));
		goto out;
	}
	cable_webauthn_request_ctap(a.req, &ctap, &ctap_len);

	if ((a.loop = cable_loop_lws_new(NULL)) == NULL) {
		cablectl_fail(0, "cannot create the event loop");
		goto out;
	}
	if ((r = cable_session_io_real_new(a.loop, &rcfg, &a.io)) != 0) {
		if (r == CABLE_ERR_TUNNEL_URL || r == CABLE_ERR_TUNNEL_INSECURE) {
			code = cablectl_usage_error(cmd, "--tunnel-server: %s", cable_strerror(r));
		} else {
			code = exit_for_error(r);
			cablectl_fail(0, "%s", cable_strerror(r));
		}
		goto out;
	}
	icfg.env = cable_env_system();
	icfg.request = ctap;
	icfg.request_len = ctap_len;
	icfg.timeout_ms = timeout_s != 0 ? (uint32_t)timeout_s * 1000u : cable_webauthn_request_timeout_ms(a.req);
	icfg.event = on_event;
	icfg.event_arg = &a;
	if ((r = cable_initiator_new(cable_session_io_real_get(a.io), &icfg, &a.in)) != 0) {
		cablectl_fail(0, "%s", cable_strerror(r));
		goto out;
	}
	if (cable_loop_lws_signal_add(a.loop, SIGINT, on_signal, &a) != 0 ||
	    cable_loop_lws_signal_add(a.loop, SIGTERM, on_signal, &a) != 0) {
		cablectl_fail(0, "cannot handle signals");
		goto out;
	}
	a.exit_code = SIGNIN_FAILURE;
	if ((r = cable_initiator_start(a.in)) != 0) {
		code = exit_for_error(r);
		if (a.json)
			emit_json(&a, json_pack("{s:s, s:s, s:s, s:s, s:i}", "event", "failed", "error",
			    cable_errname(r), "message", cable_strerror(r), "stage", "scan", "exit", code));
		cablectl_fail(0, "%s", cable_strerror(r));
		goto out;
	}
	if ((r = cable_loop_lws_run(a.loop)) != 0)
		cablectl_fail(0, "event loop: %s", cable_strerror(r));
	else
		code = a.exit_code;
out:
	cable_initiator_free(&a.in);
	cable_session_io_real_free(&a.io);
	cable_loop_lws_free(&a.loop);
	cable_webauthn_request_free(&a.req);
	free(msg);
	free(options);
	return code;
}

int
cablectl_create(int argc, char **argv)
{
	return signin_run(argc, argv, true);
}

int
cablectl_get(int argc, char **argv)
{
	return signin_run(argc, argv, false);
}

/* cablectl qr: make a fresh FIDO:/ QR code and show it in the terminal, or write PNG/SVG. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cable/bytes.h"
#include "cable/error.h"
#include "cable/qr-render.h"
#include "cable/qr.h"
#include "cable/tunnel-url.h"
#include "cablectl.h"

/* Writes len bytes to path (mode 0600: the image holds the QR secret); false on any error. */
static bool
write_file(const char *path, const void *data, size_t len)
{
	FILE *f;
	bool ok;

	if (strcmp(path, "-") == 0)
		return fwrite(data, 1, len, stdout) == len && fflush(stdout) == 0;
	{
		mode_t old = umask(077);
		f = fopen(path, "wb");
		umask(old);
	}
	if (f == NULL)
		return false;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

static void
qr_new_usage(FILE *f)
{
	fprintf(f, "Usage: cablectl qr new [--type ga|mc|dcp] [--no-linking] [--invert] [--ansi|--no-color]\n"
		   "                       [--png FILE] [--svg FILE] [--scale N] [--json]\n\n"
		   "Makes a fresh QR key and shows its FIDO:/ QR code (version >= 5, EC level M) in\n"
		   "the terminal with the URL under it. The key is not kept: this is for looking at\n"
		   "and testing codes, not for signing in.\n\n"
		   "  --type T      request-type hint: ga (getAssertion, default), mc, dcp\n"
		   "  --no-linking  say the desktop cannot store linking info (QR key 4 false)\n"
		   "  --invert      draw dark modules (for dark-on-light terminals)\n"
		   "  --ansi        black-and-white colours, so it scans on any terminal theme (the\n"
		   "                default when stdout is a terminal and NO_COLOR is not set)\n"
		   "  --no-color    no colours even on a terminal\n"
		   "  --png FILE    also write a PNG (\"-\" for stdout; no terminal code then)\n"
		   "  --svg FILE    also write an SVG (\"-\" for stdout; no terminal code then)\n"
		   "  --scale N     PNG pixels per module, 1..32 (default 8)\n"
		   "  --json        print {url, tunnel_id, ...} instead of the terminal code\n"
		   "  -h, --help    this text\n");
}

static int
qr_new(int argc, char **argv)
{
	static const struct option opts[] = {
		{"type", required_argument, NULL, 't'},
		{"no-linking", no_argument, NULL, 'n'},
		{"invert", no_argument, NULL, 'i'},
		{"ansi", no_argument, NULL, 'a'},
		{"no-color", no_argument, NULL, 'c'},
		{"png", required_argument, NULL, 'p'},
		{"svg", required_argument, NULL, 's'},
		{"scale", required_argument, NULL, 'S'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	enum cable_request_type type = CABLE_REQUEST_GA;
	const char *png_path = NULL, *svg_path = NULL;
	bool json = false, linking = true, to_stdout;
	unsigned text_flags = 0;
	int colour = -1; /* -1: decide by the terminal */
	uint64_t scale = 8;
	uint8_t key[CABLE_QR_KEY_LEN], tid[CABLE_TUNNEL_ID_LEN], *png = NULL;
	struct cable_qr qr;
	struct cable_qr_symbol *sym = NULL;
	char *url = NULL, *text = NULL, *svg = NULL, tid_hex[2 * CABLE_TUNNEL_ID_LEN + 1];
	size_t png_len = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (strcmp(optarg, "ga") == 0)
				type = CABLE_REQUEST_GA;
			else if (strcmp(optarg, "mc") == 0)
				type = CABLE_REQUEST_MC;
			else if (strcmp(optarg, "dcp") == 0)
				type = CABLE_REQUEST_DCP;
			else
				return cablectl_usage_error("qr new", "--type must be ga, mc or dcp, not '%s'", optarg);
			break;
		case 'n': linking = false; break;
		case 'i': text_flags |= CABLE_QR_TEXT_INVERT; break;
		case 'a': colour = 1; break;
		case 'c': colour = 0; break;
		case 'p': png_path = optarg; break;
		case 's': svg_path = optarg; break;
		case 'S':
			if (!cablectl_parse_uint(optarg, 32, &scale) || scale == 0)
				return cablectl_usage_error("qr new", "--scale must be 1..32");
			break;
		case 'j': json = true; break;
		case 'h': qr_new_usage(stdout); return CABLECTL_EXIT_OK;
		default: return cablectl_option_error("qr new", c, argv);
		}
	}
	if (optind != argc)
		return cablectl_usage_error("qr new", "unexpected argument '%s'", argv[optind]);
	to_stdout = (png_path != NULL && strcmp(png_path, "-") == 0) ||
	    (svg_path != NULL && strcmp(svg_path, "-") == 0);
	if (to_stdout && (json || (png_path != NULL && svg_path != NULL)))
		return cablectl_usage_error("qr new", "only one output can go to stdout");

	if (colour < 0)
		colour = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
	if (colour)
		text_flags |= CABLE_QR_TEXT_ANSI;

	memset(&qr, 0, sizeof(qr));
	r = CABLECTL_EXIT_FAILURE;
	if (cable_qr_key_generate(cable_env_system(), key) != 0 ||
	    cable_qr_init(&qr, key, cable_env_system(), type, linking) != 0 ||
	    cable_qr_to_url(&qr, &url) != 0 || cable_qr_tunnel_id(&qr, tid) != 0) {
		cablectl_fail(r, "cannot make a QR key");
		goto out;
	}
	if (cable_qr_symbol_encode(url, 0, &sym) != 0) {
		cablectl_fail(r, "cannot encode the QR symbol");
		goto out;
	}
	if (png_path != NULL) {
		if (cable_qr_render_png(sym, CABLE_QR_QUIET_ZONE, (int)scale, &png, &png_len) != 0) {
			cablectl_fail(r, "cannot render the PNG");
			goto out;
		}
		if (!write_file(png_path, png, png_len)) {
			cablectl_fail(r, "cannot write %s: %m", png_path);
			goto out;
		}
	}
	if (svg_path != NULL) {
		if (cable_qr_render_svg(sym, CABLE_QR_QUIET_ZONE, &svg) != 0) {
			cablectl_fail(r, "cannot render the SVG");
			goto out;
		}
		if (!write_file(svg_path, svg, strlen(svg))) {
			cablectl_fail(r, "cannot write %s: %m", svg_path);
			goto out;
		}
	}
	cable_hex_encode(tid, sizeof(tid), tid_hex, false);
	if (json) {
		json_t *o = json_object();
		json_object_set_new(o, "url", json_string(url));
		json_object_set_new(o, "tunnel_id", json_string(tid_hex));
		json_object_set_new(o, "request_type", json_string(cable_request_type_str(type)));
		json_object_set_new(o, "qr_version", json_integer(sym->version));
		json_object_set_new(o, "qr_modules", json_integer(sym->width));
		if (!cablectl_json_print(o))
			goto out;
	} else if (!to_stdout) {
		if (cable_qr_render_text(sym, CABLE_QR_QUIET_ZONE, text_flags, &text) != 0) {
			cablectl_fail(r, "cannot render the QR code");
			goto out;
		}
		if (fputs(text, stdout) == EOF || printf("\n%s\n", url) < 0 || fflush(stdout) != 0)
			goto out;
	}
	r = CABLECTL_EXIT_OK;
out:
	cable_qr_symbol_free(&sym);
	if (url != NULL) {
		cable_wipe(url, strlen(url));
		free(url);
	}
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
	cable_wipe(key, sizeof(key));
	cable_qr_wipe(&qr);
	return r;
}

static void
qr_usage(FILE *f)
{
	fprintf(f, "Usage: cablectl qr new [OPTIONS]\n\n"
		   "  new   make a fresh FIDO:/ QR code (see 'cablectl qr new --help')\n");
}

int
cablectl_qr(int argc, char **argv)
{
	if (argc < 2) {
		qr_usage(stderr);
		return CABLECTL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		qr_usage(stdout);
		return CABLECTL_EXIT_OK;
	}
	if (strcmp(argv[1], "new") == 0) {
		cablectl_getopt_reset();
		return qr_new(argc - 1, argv + 1);
	}
	return cablectl_usage_error("qr", "unknown qr command '%s'", argv[1]);
}

/* cablectl: the command-line front end of libcable; a small dispatcher over command groups. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cable/cable.h"
#include "cablectl.h"

static const struct cablectl_command commands[] = {
	{"inspect", "decode and check QR codes, adverts and tunnel domains", cablectl_inspect},
	{"qr", "make a fresh FIDO:/ QR code", cablectl_qr},
	{"create", "register a passkey on a phone (WebAuthn JSON in and out)", cablectl_create},
	{"get", "sign in with a phone's passkey (WebAuthn JSON in and out)", cablectl_get},
	{"doctor", "check Bluetooth, /dev/uhid and the tunnel servers, and say what to fix", cablectl_doctor},
};

static void
usage(FILE *f)
{
	fprintf(f, "Usage: cablectl [--help] [--version] COMMAND [ARGS...]\n\n"
		   "FIDO hybrid (caBLE v2) tools.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun 'cablectl COMMAND --help' for the options of a command.\n"
		   "Exit status of inspect and qr: 0 success, 1 invalid input data, 2 usage error,\n"
		   "3 failure. create, get and doctor have their own (see their --help).\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;

	/* "+" stops at the first non-option: everything after the command belongs to it. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return CABLECTL_EXIT_OK;
		case 'V':
			printf("cablectl %s\n", cable_version());
			return CABLECTL_EXIT_OK;
		default:
			return cablectl_option_error(NULL, c, argv);
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CABLECTL_EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0) {
			int sub_argc = argc - optind;
			char **sub_argv = argv + optind;
			cablectl_getopt_reset();
			return commands[i].run(sub_argc, sub_argv);
		}
	return cablectl_usage_error(NULL, "unknown command '%s'", argv[optind]);
}

/*
 * fake-bluez-ctl: drives the fake BlueZ's control interface (org.cablebridge.FakeBluez1) on the bus
 * named by DBUS_SYSTEM_BUS_ADDRESS, so scripts need no busctl.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "cable/bytes.h"

#define DEST "org.cablebridge.FakeBluez"
#define PATH "/org/cablebridge/fake"
#define IFACE "org.cablebridge.FakeBluez1"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: fake-bluez-ctl inject ADAPTER ADDRESS RSSI UUID HEX [discoverable]\n"
	    "       fake-bluez-ctl add-device ADAPTER ADDRESS NAME RSSI\n"
	    "       fake-bluez-ctl remove-device ADAPTER ADDRESS\n"
	    "       fake-bluez-ctl add-adapter NAME [unpowered]\n"
	    "       fake-bluez-ctl remove-adapter NAME\n"
	    "       fake-bluez-ctl power NAME on|off\n"
	    "       fake-bluez-ctl fail-next ADAPTER|'' METHOD ERROR-NAME MESSAGE COUNT\n"
	    "       fake-bluez-ctl delay MILLISECONDS\n"
	    "       fake-bluez-ctl stats ADAPTER [KEY]\n"
	    "       fake-bluez-ctl call METHOD SIGNATURE ARGS...   (busctl's argument syntax)\n");
	exit(2);
}

/* Splits off the next complete type of a signature: "a{say}b" -> "a{say}". */
static size_t
type_len(const char *sig)
{
	size_t n;
	int depth = 0;

	if (*sig == 'a')
		return 1 + type_len(sig + 1);
	if (*sig != '{' && *sig != '(')
		return *sig != '\0';
	for (n = 0; sig[n] != '\0'; n++) {
		depth += sig[n] == '{' || sig[n] == '(';
		depth -= sig[n] == '}' || sig[n] == ')';
		if (depth == 0)
			return n + 1;
	}
	return 0;
}

/* Appends one value of type sig[0..len) from argv like busctl does (arrays: count, elements). */
static int
append_busctl(sd_bus_message *m, const char *sig, size_t len, char ***argv)
{
	char t = sig[0];
	const char *a;
	int r;

	if (t == 'a') {
		char inner[64];
		unsigned long n;

		if (len - 1 >= sizeof(inner) || **argv == NULL)
			return -1;
		memcpy(inner, sig + 1, len - 1);
		inner[len - 1] = '\0';
		n = strtoul(*(*argv)++, NULL, 10);
		if ((r = sd_bus_message_open_container(m, 'a', inner)) < 0)
			return r;
		for (unsigned long i = 0; i < n; i++)
			if ((r = append_busctl(m, inner, len - 1, argv)) < 0)
				return r;
		return sd_bus_message_close_container(m);
	}
	if (t == '{') {
		char inner[64];
		size_t k;

		if (len - 2 >= sizeof(inner))
			return -1;
		memcpy(inner, sig + 1, len - 2);
		inner[len - 2] = '\0';
		if ((r = sd_bus_message_open_container(m, 'e', inner)) < 0)
			return r;
		for (const char *p = inner; *p != '\0'; p += k) {
			k = type_len(p);
			if (k == 0 || (r = append_busctl(m, p, k, argv)) < 0)
				return r < 0 ? r : -1;
		}
		return sd_bus_message_close_container(m);
	}
	if ((a = **argv) == NULL)
		return -1;
	(*argv)++;
	switch (t) {
	case 's':
	case 'o':
		return sd_bus_message_append_basic(m, t, a);
	case 'b': {
		int v = !strcmp(a, "true") || !strcmp(a, "yes") || !strcmp(a, "1");

		return sd_bus_message_append_basic(m, t, &v);
	}
	case 'y': {
		uint8_t v = (uint8_t)strtoul(a, NULL, 0);

		return sd_bus_message_append_basic(m, t, &v);
	}
	case 'n': {
		int16_t v = (int16_t)strtol(a, NULL, 0);

		return sd_bus_message_append_basic(m, t, &v);
	}
	case 'q': {
		uint16_t v = (uint16_t)strtoul(a, NULL, 0);

		return sd_bus_message_append_basic(m, t, &v);
	}
	case 'i': {
		int32_t v = (int32_t)strtol(a, NULL, 0);

		return sd_bus_message_append_basic(m, t, &v);
	}
	case 'u': {
		uint32_t v = (uint32_t)strtoul(a, NULL, 0);

		return sd_bus_message_append_basic(m, t, &v);
	}
	default:
		return -1;
	}
}

static int
finish(sd_bus *bus, sd_bus_message *m, sd_bus_message **reply)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = sd_bus_call(bus, m, 10 * 1000000u, &e, reply);

	if (r < 0)
		fprintf(stderr, "fake-bluez-ctl: %s: %s\n", e.name ? e.name : "error",
		    e.message ? e.message : strerror(-r));
	sd_bus_error_free(&e);
	return r < 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	sd_bus *bus = NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	const char *cmd;
	int r = 1;

	if (argc < 2)
		usage();
	cmd = argv[1];
	if (sd_bus_open_system(&bus) < 0) {
		fprintf(stderr, "fake-bluez-ctl: cannot connect to the bus\n");
		return 1;
	}
#define NEW(member)                                                                      \
	if (sd_bus_message_new_method_call(bus, &m, DEST, PATH, IFACE, member) < 0)      \
		goto out
	if (!strcmp(cmd, "inject") && (argc == 7 || argc == 8)) {
		uint8_t *d = NULL;
		size_t n = 0;

		if (strlen(argv[6]) > 0 && strcmp(argv[6], "-") != 0 &&
		    cable_hex_decode_alloc(argv[6], &d, &n) != 0)
			usage();
		NEW("InjectAdvert");
		if (sd_bus_message_append(m, "ssn", argv[2], argv[3], (int16_t)atoi(argv[4])) < 0 ||
		    sd_bus_message_open_container(m, 'a', "{say}") < 0 ||
		    sd_bus_message_open_container(m, 'e', "say") < 0 ||
		    sd_bus_message_append(m, "s", argv[5]) < 0 ||
		    sd_bus_message_append_array(m, 'y', d, n) < 0 ||
		    sd_bus_message_close_container(m) < 0 || sd_bus_message_close_container(m) < 0 ||
		    sd_bus_message_append(m, "b", argc == 8 && !strcmp(argv[7], "discoverable")) < 0) {
			free(d);
			goto out;
		}
		free(d);
	} else if (!strcmp(cmd, "add-device") && argc == 6) {
		NEW("AddDevice");
		if (sd_bus_message_append(m, "sssn", argv[2], argv[3], argv[4],
		    (int16_t)atoi(argv[5])) < 0)
			goto out;
	} else if (!strcmp(cmd, "remove-device") && argc == 4) {
		NEW("RemoveDevice");
		if (sd_bus_message_append(m, "ss", argv[2], argv[3]) < 0)
			goto out;
	} else if (!strcmp(cmd, "add-adapter") && (argc == 3 || argc == 4)) {
		NEW("AddAdapter");
		if (sd_bus_message_append(m, "sb", argv[2], argc == 3) < 0)
			goto out;
	} else if (!strcmp(cmd, "remove-adapter") && argc == 3) {
		NEW("RemoveAdapter");
		if (sd_bus_message_append(m, "s", argv[2]) < 0)
			goto out;
	} else if (!strcmp(cmd, "power") && argc == 4) {
		NEW("SetPowered");
		if (sd_bus_message_append(m, "sb", argv[2], !strcmp(argv[3], "on")) < 0)
			goto out;
	} else if (!strcmp(cmd, "fail-next") && argc == 7) {
		NEW("FailNext");
		if (sd_bus_message_append(m, "ssssu", argv[2], argv[3], argv[4], argv[5],
		    (uint32_t)strtoul(argv[6], NULL, 10)) < 0)
			goto out;
	} else if (!strcmp(cmd, "delay") && argc == 3) {
		NEW("SetDelay");
		if (sd_bus_message_append(m, "u", (uint32_t)strtoul(argv[2], NULL, 10)) < 0)
			goto out;
	} else if (!strcmp(cmd, "call") && argc >= 4) {
		/* busctl needs "--" before negative numbers; accept and drop it. */
		char *args[64], **ap = args;
		const char *sig = argv[3];
		int n = 0;
		size_t k;

		for (int i = 4; i < argc && n < 63; i++)
			if (strcmp(argv[i], "--") != 0)
				args[n++] = argv[i];
		args[n] = NULL;
		NEW(argv[2]);
		for (const char *p = sig; *p != '\0'; p += k) {
			k = type_len(p);
			if (k == 0 || append_busctl(m, p, k, &ap) < 0) {
				fprintf(stderr, "fake-bluez-ctl: arguments do not match '%s'\n", sig);
				goto out;
			}
		}
		if (*ap != NULL) {
			fprintf(stderr, "fake-bluez-ctl: too many arguments for '%s'\n", sig);
			goto out;
		}
		if (!strcmp(argv[2], "GetStats")) {
			const char *key;
			uint32_t v;

			if (finish(bus, m, &reply) != 0 ||
			    sd_bus_message_enter_container(reply, 'a', "{su}") < 0)
				goto out;
			unsigned count = 0;

			/* busctl's output format, which older scripts parse. */
			while (sd_bus_message_read(reply, "{su}", &key, &v) > 0)
				count++;
			if (sd_bus_message_rewind(reply, true) < 0 ||
			    sd_bus_message_enter_container(reply, 'a', "{su}") < 0)
				goto out;
			printf("a{su} %u", count);
			while (sd_bus_message_read(reply, "{su}", &key, &v) > 0)
				printf(" \"%s\" %u", key, v);
			printf("\n");
			r = 0;
			goto out;
		}
	} else if (!strcmp(cmd, "stats") && (argc == 3 || argc == 4)) {
		const char *k;
		uint32_t v;

		NEW("GetStats");
		if (sd_bus_message_append(m, "s", argv[2]) < 0 || finish(bus, m, &reply) != 0 ||
		    sd_bus_message_enter_container(reply, 'a', "{su}") < 0)
			goto out;
		r = argc == 4 ? 1 : 0;
		while (sd_bus_message_read(reply, "{su}", &k, &v) > 0) {
			if (argc == 3)
				printf("%s %u\n", k, v);
			else if (!strcmp(k, argv[3])) {
				printf("%u\n", v);
				r = 0;
			}
		}
		goto out;
	} else
		usage();
	r = finish(bus, m, NULL);
out:
	sd_bus_message_unref(m);
	sd_bus_message_unref(reply);
	sd_bus_flush_close_unref(bus);
	return r;
}

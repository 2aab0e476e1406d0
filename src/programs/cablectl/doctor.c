/*
 * cablectl doctor: checks what a hybrid sign-in needs on this machine, one line per check, with
 * what to do about each failure. The checks use the same library code as the sign-in itself:
 * BlueZ's readiness (bus, BlueZ, adapter, discovery), /dev/uhid for cable-bridged, and a real
 * WebSocket tunnel opened on each tunnel server and closed at once.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "cable/bluetooth.h"
#include "cable/bytes.h"
#include "cable/env.h"
#include "cable/error.h"
#include "cable/loop-lws.h"
#include "cable/tunnel.h"
#include "cable/uhid.h"
#include "cablectl.h"

/* The uhid misc device (linux/miscdevice.h UHID_MINOR). */
#define UHID_MAJOR 10
#define UHID_MINOR 239
/* Tunnel checks: domain IDs 0 (Google) and 1 (Apple) unless --tunnel-server names others. */
#define MAX_TUNNELS 2

enum check_state { CHECK_OK, CHECK_FAIL, CHECK_NOTE };

struct doctor_tunnels;

struct report {
	bool json;
	json_t *checks; /* --json: the array being built */
	unsigned failed;
};

/* One result: a line of text, or an element of the JSON array. */
static void
report_add(struct report *rep, enum check_state st, const char *name, int err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
report_add(struct report *rep, enum check_state st, const char *name, int err, const char *fmt, ...)
{
	static const char *const words[] = {"ok", "FAIL", "note"};
	char text[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (st == CHECK_FAIL)
		rep->failed++;
	if (!rep->json) {
		printf("%-5s %-12s %s\n", words[st], name, text);
		fflush(stdout);
		return;
	}
	json_array_append_new(rep->checks, json_pack("{s:s, s:s, s:s?, s:s}", "check", name,
	    "result", st == CHECK_FAIL ? "fail" : st == CHECK_OK ? "ok" : "note", "error",
	    err != 0 ? cable_errname(err) : NULL, "detail", text));
}

/* ---- Bluetooth -------------------------------------------------------------------------- */

static const char *
bt_hint(int code)
{
	switch (code) {
	case CABLE_ERR_BT_BUS:
		return "is dbus-daemon running (the system bus)?";
	case CABLE_ERR_BT_NO_BLUEZ:
		return "start bluetoothd (systemctl start bluetooth; package bluez)";
	case CABLE_ERR_BT_NO_ADAPTER:
		return "plug in or enable a Bluetooth adapter (rfkill list; the adapter must support LE)";
	case CABLE_ERR_BT_NOT_POWERED:
		return "switch Bluetooth on (bluetoothctl power on, or the desktop's Bluetooth switch)";
	case CABLE_ERR_BT_PERMISSION:
		return "the system bus policy does not let this user talk to BlueZ";
	default:
		return "";
	}
}

static void
check_bluetooth(struct report *rep, const char *adapter, uint32_t timeout_s)
{
	struct cable_bt_opts opts = {.adapter = adapter, .timeout_usec = (uint64_t)timeout_s * 1000000u};
	struct cable_bt_readiness rd;
	int r = cable_bt_check(&opts, &rd);
	const char *hint;

	if (r == 0) {
		report_add(rep, CHECK_OK, "bluetooth", 0, "%s (%s) powered, LE discovery starts (%u adapter%s)",
		    rd.adapter_name, rd.adapter_address, rd.adapters, rd.adapters == 1 ? "" : "s");
		if (rd.advertising == 0)
			report_add(rep, CHECK_NOTE, "advertising", 0,
			    "%s can advertise (cable-phone needs this; a desktop does not)", rd.adapter_name);
		else
			report_add(rep, CHECK_NOTE, "advertising", rd.advertising,
			    "%s offers no LE advertising (cable-phone cannot run on it; a desktop does not need it)",
			    rd.adapter_name);
		return;
	}
	hint = bt_hint(r);
	report_add(rep, CHECK_FAIL, "bluetooth", r, "%s%s%s%s%s%s", cable_strerror(r),
	    rd.adapter_name[0] != '\0' ? " (" : "", rd.adapter_name,
	    rd.adapter_name[0] != '\0' ? ")" : "", rd.detail[0] != '\0' ? ": " : "", rd.detail);
	if (*hint != '\0')
		report_add(rep, CHECK_NOTE, "bluetooth", 0, "%s", hint);
}

/* ---- uhid ------------------------------------------------------------------------------- */

static void
check_uhid(struct report *rep, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	int e = errno;

	if (fd < 0) {
		const char *hint = "";

		if (e == ENOENT)
			hint = ": load the uhid module (modprobe uhid; a udev rule or modules-load.d entry "
			       "keeps it)";
		else if (e == EACCES || e == EPERM)
			hint = ": cable-bridged needs write access (contrib/udev, or cable-uhid-helper; "
			       "docs/cable-bridged.md)";
		else if (e == ENODEV || e == ENXIO)
			hint = ": the uhid driver is not loaded (modprobe uhid)";
		report_add(rep, CHECK_FAIL, "uhid", CABLE_ERR_IO, "%s: %s%s", path, strerror(e), hint);
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != UHID_MAJOR ||
	    minor(st.st_rdev) != UHID_MINOR) {
		report_add(rep, CHECK_FAIL, "uhid", CABLE_ERR_IO,
		    "%s is not the uhid device (want character device %d:%d)", path, UHID_MAJOR, UHID_MINOR);
		close(fd);
		return;
	}
	close(fd);
	report_add(rep, CHECK_OK, "uhid", 0, "%s can be opened for writing (cable-bridged can make its key)",
	    path);
}

/* ---- cable-bridged's key ---------------------------------------------------------------- */

/* The first /dev/hidrawN whose HID device the kernel names CABLE_UHID_NAME; false if none. */
static bool
find_key(char *node, size_t node_len)
{
	static const char want[] = "HID_NAME=" CABLE_UHID_NAME "\n";
	char path[320], buf[1024];
	struct dirent *de;
	bool found = false;
	DIR *dir = opendir("/sys/class/hidraw");

	if (dir == NULL)
		return false;
	while (!found && (de = readdir(dir)) != NULL) {
		FILE *f;
		size_t n;

		if (strncmp(de->d_name, "hidraw", 6) != 0)
			continue;
		snprintf(path, sizeof(path), "/sys/class/hidraw/%s/device/uevent", de->d_name);
		if ((f = fopen(path, "re")) == NULL)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		if (strstr(buf, want) != NULL) {
			snprintf(node, node_len, "/dev/%s", de->d_name);
			found = true;
		}
	}
	closedir(dir);
	return found;
}

/* cable-bridged's version from the session bus into ver, or false when it is not there. */
static bool
bridge_version(uint32_t timeout_s, char *ver, size_t ver_len)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	sd_bus *bus = NULL;
	char *v = NULL;
	bool ok = false;

	if (sd_bus_open_user(&bus) >= 0 &&
	    sd_bus_set_method_call_timeout(bus, (uint64_t)timeout_s * 1000000u) >= 0 &&
	    sd_bus_get_property_string(bus, "org.cablebridge.Bridge1", "/org/cablebridge/Bridge",
	    "org.cablebridge.Bridge1", "Version", &err, &v) >= 0) {
		size_t i;

		/* Any process of this user can own the name: print only what a version looks like. */
		for (i = 0; v[i] != '\0' && i + 1 < ver_len; i++)
			ver[i] = v[i] > 0x20 && v[i] < 0x7f ? v[i] : '?';
		ver[i] = '\0';
		ok = true;
	}
	free(v);
	sd_bus_error_free(&err);
	sd_bus_flush_close_unref(bus);
	return ok;
}

static void
check_key(struct report *rep, uint32_t timeout_s)
{
	char node[300], ver[32] = "";
	bool daemon = bridge_version(timeout_s, ver, sizeof(ver));
	int fd, e;

	if (!find_key(node, sizeof(node))) {
		if (daemon)
			report_add(rep, CHECK_FAIL, "key", CABLE_ERR_IO, "cable-bridged %s is on the session bus "
			    "but no security key named \"%s\" exists: it needs /dev/uhid, or "
			    "cable-uhid-helper with --hid socket: (see its log)", ver, CABLE_UHID_NAME);
		else
			report_add(rep, CHECK_FAIL, "key", CABLE_ERR_IO, "no security key named \"%s\": "
			    "cable-bridged is not running (systemctl --user start cable-bridged; "
			    "docs/cable-bridged.md)", CABLE_UHID_NAME);
		return;
	}
	fd = open(node, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	e = errno;
	if (fd < 0) {
		report_add(rep, CHECK_FAIL, "key", CABLE_ERR_IO, "%s is cable-bridge's key but this user "
		    "cannot open it (%s), so browsers cannot either: install "
		    "contrib/udev/70-cable-bridge.rules and run udevadm trigger (docs/cable-bridged.md)",
		    node, strerror(e));
		return;
	}
	close(fd);
	report_add(rep, CHECK_OK, "key", 0, "%s is cable-bridge's key and opens for reading and "
	    "writing: browsers running as this user can use it", node);
	if (daemon)
		report_add(rep, CHECK_NOTE, "key", 0, "cable-bridged %s is on the session bus", ver);
}

/* ---- tunnel servers --------------------------------------------------------------------- */

struct probe {
	struct doctor_tunnels *dt;
	uint16_t domain;
	char *url;
	struct cable_tunnel *t;
	struct timespec t0;
	bool done, opened;
	int err, http;
	char why[384];
	unsigned ms;
	uint8_t routing_id[CABLE_ROUTING_ID_LEN];
};

struct doctor_tunnels {
	struct cable_loop *loop;
	struct probe probes[MAX_TUNNELS];
	size_t n, pending;
};

static unsigned
ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (unsigned)((now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000);
}

static void
probe_done(struct probe *p)
{
	if (p->done)
		return;
	p->done = true;
	if (--p->dt->pending == 0)
		p->dt->loop->ops->quit(p->dt->loop, 0);
}

static void
on_opened(void *arg, struct cable_tunnel *t, const struct cable_tunnel_info *info)
{
	struct probe *p = arg;

	p->opened = true;
	p->ms = ms_since(&p->t0);
	memcpy(p->routing_id, info->routing_id, sizeof(p->routing_id));
	/* The check is done: nothing is sent, the tunnel closes normally (closed(0) follows). */
	cable_tunnel_close(t);
}

static void
on_message(void *arg, struct cable_tunnel *t, const uint8_t *data, size_t len)
{
	(void)arg;
	(void)t;
	(void)data;
	(void)len;
}

static void
on_closed(void *arg, struct cable_tunnel *t, int err)
{
	struct probe *p = arg;

	if (!p->opened) {
		p->err = err != 0 ? err : CABLE_ERR_TUNNEL_CLOSED;
		p->http = cable_tunnel_http_status(t);
		snprintf(p->why, sizeof(p->why), "%s", cable_tunnel_error_detail(t));
		p->ms = ms_since(&p->t0);
	}
	probe_done(p);
}

static void
on_deadline(void *arg)
{
	struct doctor_tunnels *dt = arg;

	for (size_t i = 0; i < dt->n; i++)
		if (!dt->probes[i].done && !dt->probes[i].opened)
			dt->probes[i].err = CABLE_ERR_TIMEOUT;
	dt->loop->ops->quit(dt->loop, 0);
}

/*
 * Which domain IDs to check (server already accepted by the tunnel client): "DOMAIN=URL" names
 * one (it starts with a digit; a URL never does), a bare URL serves every domain and is checked
 * once as domain 0, and without an override the assigned servers 0 and 1. *per_domain: the
 * lines name their domain ID.
 */
static size_t
tunnel_domains(const char *server, uint16_t out[MAX_TUNNELS], bool *per_domain)
{
	*per_domain = server == NULL || isdigit((unsigned char)server[0]);
	out[0] = server != NULL && *per_domain ? (uint16_t)strtoul(server, NULL, 10) : 0;
	out[1] = 1;
	return server == NULL ? 2 : 1;
}

static void
report_probe(struct report *rep, const struct probe *p, bool per_domain)
{
	char name[16];
	char rid[2 * CABLE_ROUTING_ID_LEN + 1];

	if (per_domain)
		snprintf(name, sizeof(name), "tunnel %u", p->domain);
	else
		snprintf(name, sizeof(name), "tunnel");
	if (p->opened) {
		cable_hex_encode(p->routing_id, sizeof(p->routing_id), rid, false);
		report_add(rep, CHECK_OK, name, 0, "%s: a tunnel opened in %u ms (routing ID %s) and closed",
		    p->url, p->ms, rid);
	} else if (p->err == CABLE_ERR_TUNNEL_HTTP || p->err == CABLE_ERR_TUNNEL_GONE) {
		report_add(rep, CHECK_FAIL, name, p->err, "%s: %s (HTTP %d) after %u ms", p->url,
		    cable_strerror(p->err), p->http, p->ms);
	} else {
		/* Only a connect failure's detail says more than the code (libwebsockets' TLS
		 * errors read "error:00000001:lib(0)::reason(1)"). */
		bool why = p->err == CABLE_ERR_TUNNEL_CONNECT && p->why[0] != '\0';

		report_add(rep, CHECK_FAIL, name, p->err, "%s: %s after %u ms%s%s%s", p->url,
		    cable_strerror(p->err), p->ms, why ? ": " : "", why ? p->why : "",
		    p->err == CABLE_ERR_TUNNEL_CONNECT && strncmp(p->why, "cannot resolve", 14) == 0 ?
		    " (no network, or DNS?)" :
		    p->err == CABLE_ERR_TUNNEL_CONNECT ? " (a firewall or a proxy?)" :
		    p->err == CABLE_ERR_TUNNEL_TLS ? " (a TLS-inspecting proxy, or --tunnel-ca?)" : "");
	}
}

static int
check_tunnels(struct report *rep, const char *server, const char *ca, uint32_t timeout_s)
{
	static const struct cable_tunnel_cbs cbs = {on_opened, on_message, on_closed};
	struct cable_tunnel_client_config cfg = {.ca_file = ca, .connect_timeout_ms = timeout_s * 1000u};
	struct cable_tunnel_client *client = NULL;
	struct cable_loop_timer *deadline = NULL;
	struct doctor_tunnels dt;
	uint16_t domains[MAX_TUNNELS];
	bool per_domain = true;
	int r, code = CABLECTL_EXIT_OK;

	memset(&dt, 0, sizeof(dt));
	if ((dt.loop = cable_loop_lws_new(NULL)) == NULL)
		return cablectl_fail(CABLECTL_EXIT_FAILURE, "cannot create the event loop");
	if ((r = cable_tunnel_client_new(dt.loop, &cfg, &client)) != 0 ||
	    (server != NULL && (r = cable_tunnel_client_add_server_option(client, server)) != 0)) {
		code = r == CABLE_ERR_TUNNEL_URL || r == CABLE_ERR_TUNNEL_INSECURE ?
		    cablectl_usage_error("doctor", "--tunnel-server: %s", cable_strerror(r)) :
		    cablectl_fail(CABLECTL_EXIT_FAILURE, "tunnel client: %s", cable_strerror(r));
		goto out;
	}
	dt.n = tunnel_domains(server, domains, &per_domain);
	for (size_t i = 0; i < dt.n; i++) {
		struct probe *p = &dt.probes[i];
		uint8_t tunnel_id[CABLE_TUNNEL_ID_LEN];

		p->dt = &dt;
		p->domain = domains[i];
		clock_gettime(CLOCK_MONOTONIC, &p->t0);
		if ((r = cable_tunnel_client_server_url(client, p->domain, &p->url)) != 0 ||
		    (r = cable_env_random(cable_env_system(), tunnel_id, sizeof(tunnel_id))) != 0 ||
		    (r = cable_tunnel_open_new(client, p->domain, tunnel_id, &cbs, p, &p->t)) != 0) {
			p->err = r;
			p->done = true;
			continue;
		}
		dt.pending++;
	}
	if (dt.pending > 0) {
		/* The client's own connect timeout ends each try; this one ends a stalled close. */
		if (dt.loop->ops->timer_add(dt.loop, (uint64_t)(timeout_s + 2) * 1000000u, on_deadline,
		    &dt, &deadline) != 0) {
			code = cablectl_fail(CABLECTL_EXIT_FAILURE, "cannot set a timer");
			goto out;
		}
		cable_loop_lws_run(dt.loop);
	}
	for (size_t i = 0; i < dt.n; i++)
		report_probe(rep, &dt.probes[i], per_domain);
out:
	if (dt.loop != NULL && deadline != NULL)
		dt.loop->ops->timer_del(&deadline);
	for (size_t i = 0; i < dt.n; i++) {
		cable_tunnel_free(&dt.probes[i].t);
		free(dt.probes[i].url);
	}
	cable_tunnel_client_free(&client);
	cable_loop_lws_free(&dt.loop);
	return code;
}

/* ---- the command ------------------------------------------------------------------------ */

static void
doctor_usage(FILE *f)
{
	fprintf(f, "Usage: cablectl doctor [--adapter hciN] [--uhid PATH] [--tunnel-server URL]\n"
		   "                       [--tunnel-ca FILE] [--timeout SECONDS] [--json] [CHECK...]\n\n"
		   "Checks what a hybrid sign-in needs on this machine and says what to do about each\n"
		   "failure. CHECK is one or more of (default: all, in this order):\n"
		   "  bluetooth   the system bus, BlueZ, a powered adapter, LE discovery starting and\n"
		   "              stopping (what finds the phone); notes whether the adapter can advertise\n"
		   "  uhid        /dev/uhid opens for writing (cable-bridged needs it; cablectl does not)\n"
		   "  key         cable-bridged's security key exists (/dev/hidrawN) and this user can\n"
		   "              open it, as a browser would; notes whether cable-bridged is on the\n"
		   "              session bus\n"
		   "  tunnel      a WebSocket tunnel opens on the tunnel servers a phone may choose\n"
		   "              (cable.ua5v.com for Android, cable.auth.com for iPhone) and is closed\n"
		   "              at once; nothing is sent through it\n"
		   "A kiosk that only runs cablectl create/get needs: cablectl doctor bluetooth tunnel\n\n"
		   "  --adapter hciN        Bluetooth adapter to check [the first powered one]\n"
		   "  --uhid PATH           the uhid device [/dev/uhid]\n"
		   "  --tunnel-server URL   check this server instead (wss://host[:port]; ws:// only to\n"
		   "                        loopback), or DOMAIN=URL for one domain ID\n"
		   "  --tunnel-ca FILE      PEM CA certificates for the tunnel server (test servers)\n"
		   "  --timeout SECONDS     per check, 1..300 [10]\n"
		   "  --json                {\"ok\": bool, \"checks\": [{check, result, error, detail}]}\n"
		   "  -h, --help            this text\n\n"
		   "Exit status: 0 every check passed, 1 a check failed, 2 usage error, 3 other failure.\n");
}

int
cablectl_doctor(int argc, char **argv)
{
	enum { O_ADAPTER = 256, O_UHID, O_SERVER, O_CA, O_TIMEOUT, O_JSON };
	static const struct option opts[] = {
		{"adapter", required_argument, NULL, O_ADAPTER},
		{"uhid", required_argument, NULL, O_UHID},
		{"tunnel-server", required_argument, NULL, O_SERVER},
		{"tunnel-ca", required_argument, NULL, O_CA},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"json", no_argument, NULL, O_JSON},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *adapter = NULL, *uhid = "/dev/uhid", *server = NULL, *ca = NULL;
	bool want_bt = false, want_uhid = false, want_tunnel = false, want_key = false;
	struct report rep = {0};
	uint64_t timeout_s = 10;
	int c, code;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case O_ADAPTER: adapter = optarg; break;
		case O_UHID: uhid = optarg; break;
		case O_SERVER: server = optarg; break;
		case O_CA: ca = optarg; break;
		case O_JSON: rep.json = true; break;
		case O_TIMEOUT:
			if (!cablectl_parse_uint(optarg, 300, &timeout_s) || timeout_s == 0)
				return cablectl_usage_error("doctor", "--timeout: want 1..300 seconds");
			break;
		case 'h': doctor_usage(stdout); return CABLECTL_EXIT_OK;
		default: return cablectl_option_error("doctor", c, argv);
		}
	}
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "bluetooth") == 0)
			want_bt = true;
		else if (strcmp(argv[i], "uhid") == 0)
			want_uhid = true;
		else if (strcmp(argv[i], "tunnel") == 0)
			want_tunnel = true;
		else if (strcmp(argv[i], "key") == 0)
			want_key = true;
		else
			return cablectl_usage_error("doctor",
			    "unknown check '%s' (bluetooth, tunnel, uhid, key)", argv[i]);
	}
	if (!want_bt && !want_uhid && !want_tunnel && !want_key)
		want_bt = want_uhid = want_tunnel = want_key = true;
	if (rep.json && (rep.checks = json_array()) == NULL)
		return cablectl_fail(CABLECTL_EXIT_FAILURE, "out of memory");

	if (want_bt)
		check_bluetooth(&rep, adapter, (uint32_t)timeout_s);
	if (want_uhid)
		check_uhid(&rep, uhid);
	if (want_key)
		check_key(&rep, (uint32_t)timeout_s);
	if (want_tunnel && (code = check_tunnels(&rep, server, ca, (uint32_t)timeout_s)) != 0) {
		json_decref(rep.checks);
		return code;
	}
	if (rep.json) {
		json_t *top = json_pack("{s:b, s:o}", "ok", rep.failed == 0, "checks", rep.checks);

		if (top == NULL || !cablectl_json_print(top))
			return cablectl_fail(CABLECTL_EXIT_FAILURE, "cannot write the report");
	} else if (rep.failed > 0) {
		printf("\n%u check%s failed.\n", rep.failed, rep.failed == 1 ? "" : "s");
	} else {
		printf("\nEverything checked works.\n");
	}
	return rep.failed == 0 ? CABLECTL_EXIT_OK : 1;
}

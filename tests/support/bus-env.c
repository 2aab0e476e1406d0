/* Test support: start/stop a private dbus-daemon and the fake BlueZ for in-process tests. */
#include "bus-env.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static bool
wait_file(const char *path, unsigned ms)
{
	struct stat st;
	uint64_t end = now_ms() + ms;

	while (now_ms() < end) {
		if (stat(path, &st) == 0 && st.st_size > 0)
			return true;
		sleep_ms(10);
	}
	return false;
}

static pid_t
spawn(char *const argv[], const char *out)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	/* No orphan survives a crashed test. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (out != NULL && freopen(out, "a", stderr) == NULL)
		_exit(127);
	execvp(argv[0], argv);
	_exit(127);
}

/* Returns the exit status (0 = clean), 128+N for a signal, -1 if nothing ran. */
static int
reap(pid_t *pid, int sig)
{
	int st = 0;

	if (*pid <= 0)
		return -1;
	kill(*pid, sig);
	if (waitpid(*pid, &st, 0) < 0)
		st = -1;
	*pid = 0;
	if (st < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int
bus_env_start(struct bus_env *e, const char *extra_policy)
{
	char conf[128], addrfile[128], log[128], fdarg[32];
	FILE *f;
	int fd;

	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/cable-bt-test.XXXXXX");
	if (mkdtemp(e->dir) == NULL)
		return -1;
	snprintf(conf, sizeof(conf), "%s/bus.conf", e->dir);
	snprintf(addrfile, sizeof(addrfile), "%s/address", e->dir);
	snprintf(log, sizeof(log), "%s/dbus.log", e->dir);
	if ((f = fopen(conf, "w")) == NULL)
		return -1;
	fprintf(f,
	    "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN\"\n"
	    " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
	    "<busconfig><type>system</type><listen>unix:path=%s/bus</listen><auth>EXTERNAL</auth>\n"
	    "<policy context=\"default\"><allow user=\"*\"/><allow own=\"*\"/>\n"
	    "<allow send_type=\"method_call\"/><allow send_destination=\"*\"/>"
	    "<allow receive_sender=\"*\"/></policy>\n%s\n</busconfig>\n",
	    e->dir, extra_policy != NULL ? extra_policy : "");
	fclose(f);
	if ((fd = open(addrfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return -1;
	snprintf(fdarg, sizeof(fdarg), "--print-address=%d", 3);
	{
		char cfgarg[160], a0[] = "dbus-daemon", a2[] = "--nofork", a3[] = "--nopidfile";
		char *argv[] = {a0, cfgarg, a2, a3, fdarg, NULL};
		pid_t pid;

		snprintf(cfgarg, sizeof(cfgarg), "--config-file=%s", conf);
		pid = fork();
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			/* dup2 onto itself would keep O_CLOEXEC. */
			if ((fd == 3 ? fcntl(3, F_SETFD, 0) : dup2(fd, 3)) < 0 ||
			    freopen(log, "a", stderr) == NULL)
				_exit(127);
			execvp(argv[0], argv);
			_exit(127);
		}
		e->bus_pid = pid;
	}
	close(fd);
	if (e->bus_pid < 0 || !wait_file(addrfile, 10000)) {
		fprintf(stderr, "bus-env: dbus-daemon did not start\n");
		return -1;
	}
	snprintf(e->address, sizeof(e->address), "unix:path=%s/bus", e->dir);
	setenv("DBUS_SYSTEM_BUS_ADDRESS", e->address, 1);
	if (sd_bus_open_system(&e->ctl) < 0) {
		fprintf(stderr, "bus-env: cannot connect to %s\n", e->address);
		return -1;
	}
	return 0;
}

int
bus_env_fake_start(struct bus_env *e, const char *const *args)
{
	char bin[512], ready[128], log[128], rf[] = "--ready-file";
	const char *build = getenv("CABLE_BUILD_DIR");
	char *argv[32];
	int n = 0;

	if (build == NULL) {
		fprintf(stderr, "bus-env: CABLE_BUILD_DIR not set\n");
		return -1;
	}
	snprintf(bin, sizeof(bin), "%s/tests/fake-bluez", build);
	snprintf(ready, sizeof(ready), "%s/fake.ready", e->dir);
	snprintf(log, sizeof(log), "%s/fake.log", e->dir);
	unlink(ready);
	argv[n++] = bin;
	argv[n++] = rf;
	argv[n++] = ready;
	for (; args != NULL && *args != NULL && n < 30; args++)
		argv[n++] = (char *)(uintptr_t)*args;
	argv[n] = NULL;
	e->fake_pid = spawn(argv, log);
	if (e->fake_pid < 0 || !wait_file(ready, 10000)) {
		fprintf(stderr, "bus-env: fake-bluez did not start\n");
		return -1;
	}
	return 0;
}

int
bus_env_fake_stop(struct bus_env *e)
{
	return reap(&e->fake_pid, SIGTERM);
}

void
bus_env_fake_kill(struct bus_env *e)
{
	reap(&e->fake_pid, SIGKILL);
}

void
bus_env_stop(struct bus_env *e)
{
	char cmd[160];

	e->ctl = sd_bus_flush_close_unref(e->ctl);
	reap(&e->fake_pid, SIGTERM);
	reap(&e->bus_pid, SIGTERM);
	if (e->dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bus-env: cannot remove %s\n", e->dir);
	}
	unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
	memset(e, 0, sizeof(*e));
}

int
fake_call(struct bus_env *e, const char *method, const char *types, ...)
{
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error err = SD_BUS_ERROR_NULL;
	va_list ap;
	int r;

	r = sd_bus_message_new_method_call(e->ctl, &m, "org.cablebridge.FakeBluez",
	    "/org/cablebridge/fake", "org.cablebridge.FakeBluez1", method);
	if (r >= 0 && types != NULL) {
		va_start(ap, types);
		r = sd_bus_message_appendv(m, types, ap);
		va_end(ap);
	}
	if (r >= 0)
		r = sd_bus_call(e->ctl, m, 10 * 1000000u, &err, &reply);
	if (r < 0)
		fprintf(stderr, "fake_call %s: %s %s\n", method, err.name ? err.name : "",
		    err.message ? err.message : strerror(-r));
	sd_bus_error_free(&err);
	sd_bus_message_unref(m);
	sd_bus_message_unref(reply);
	return r < 0 ? r : 0;
}

static uint32_t
dict_su(sd_bus_message *reply, const char *key)
{
	const char *k;
	uint32_t v;

	if (sd_bus_message_enter_container(reply, 'a', "{su}") < 0)
		return UINT32_MAX;
	while (sd_bus_message_read(reply, "{su}", &k, &v) > 0)
		if (!strcmp(k, key))
			return v;
	return UINT32_MAX;
}

uint32_t
fake_stat(struct bus_env *e, const char *adapter, const char *key)
{
	sd_bus_message *reply = NULL;
	sd_bus_error err = SD_BUS_ERROR_NULL;
	uint32_t v = UINT32_MAX;

	if (sd_bus_call_method(e->ctl, "org.cablebridge.FakeBluez", "/org/cablebridge/fake",
	    "org.cablebridge.FakeBluez1", "GetStats", &err, &reply, "s", adapter) >= 0)
		v = dict_su(reply, key);
	sd_bus_error_free(&err);
	sd_bus_message_unref(reply);
	return v;
}

uint32_t
bus_stat(struct bus_env *e, const char *key)
{
	sd_bus_message *reply = NULL;
	sd_bus_error err = SD_BUS_ERROR_NULL;
	uint32_t v = UINT32_MAX;
	const char *k;

	if (sd_bus_call_method(e->ctl, "org.freedesktop.DBus", "/org/freedesktop/DBus",
	    "org.freedesktop.DBus.Debug.Stats", "GetStats", &err, &reply, NULL) < 0)
		goto out;
	if (sd_bus_message_enter_container(reply, 'a', "{sv}") < 0)
		goto out;
	while (sd_bus_message_enter_container(reply, 'e', "sv") > 0) {
		const char *contents;
		char type;

		if (sd_bus_message_read(reply, "s", &k) < 0 ||
		    sd_bus_message_peek_type(reply, &type, &contents) < 0)
			goto out;
		if (!strcmp(k, key) && !strcmp(contents, "u")) {
			sd_bus_message_read(reply, "v", "u", &v);
			goto out;
		}
		sd_bus_message_skip(reply, "v");
		sd_bus_message_exit_container(reply);
	}
out:
	if (sd_bus_error_is_set(&err))
		fprintf(stderr, "bus_stat: %s\n", err.message);
	sd_bus_error_free(&err);
	sd_bus_message_unref(reply);
	return v;
}

int
bus_connections(struct bus_env *e)
{
	char **names = NULL;
	int n = 0;

	if (sd_bus_list_names(e->ctl, &names, NULL) < 0)
		return -1;
	for (char **p = names; *p != NULL; p++) {
		n += (*p)[0] == ':';
		free(*p);
	}
	free(names);
	return n;
}

int
proc_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

int
fake_inject(struct bus_env *e, const char *adapter, const char *address, int16_t rssi,
    const char *uuid, const uint8_t *data, size_t len, bool discoverable)
{
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error err = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_message_new_method_call(e->ctl, &m, "org.cablebridge.FakeBluez",
	    "/org/cablebridge/fake", "org.cablebridge.FakeBluez1", "InjectAdvert");
	if (r >= 0)
		r = sd_bus_message_append(m, "ssn", adapter, address, rssi);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "{say}");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'e', "say");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", uuid);
	if (r >= 0)
		r = sd_bus_message_append_array(m, 'y', data, len);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_append(m, "b", (int)discoverable);
	if (r >= 0)
		r = sd_bus_call(e->ctl, m, 10 * 1000000u, &err, &reply);
	if (r < 0)
		fprintf(stderr, "fake_inject: %s\n", err.message ? err.message : strerror(-r));
	sd_bus_error_free(&err);
	sd_bus_message_unref(m);
	sd_bus_message_unref(reply);
	return r < 0 ? r : 0;
}

uint32_t
fake_wait_stat(struct bus_env *e, const char *adapter, const char *key, uint32_t want,
    unsigned ms)
{
	uint64_t end = now_ms() + ms;
	uint32_t v;

	for (;;) {
		v = fake_stat(e, adapter, key);
		if (v == want || now_ms() >= end)
			return v;
		sleep_ms(20);
	}
}

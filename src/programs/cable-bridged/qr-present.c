/* QR presenters for cable-bridged: a PNG and URL file, a command hook, the terminal. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cable/error.h"
#include "cable/qr-render.h"
#include "child-stop.h"
#include "qr-present.h"

#define PNG_SCALE 8

struct qr_presenter {
	char *dir, *command;
	bool terminal;
	char png_path[4096], url_path[4096];
	bool shown;
	pid_t hook; /* process group of the running hook, 0 when none */
	struct child_stop *stop;
};

int
qr_presenter_new(const struct qr_presenter_config *cfg, struct qr_presenter **out)
{
	struct qr_presenter *p;

	if (cfg->stop == NULL)
		return CABLE_ERR_ARG;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return CABLE_ERR_NOMEM;
	p->terminal = cfg->terminal;
	p->stop = cfg->stop;
	if ((cfg->dir != NULL && (p->dir = strdup(cfg->dir)) == NULL) ||
	    (cfg->command != NULL && (p->command = strdup(cfg->command)) == NULL)) {
		qr_presenter_free(&p);
		return CABLE_ERR_NOMEM;
	}
	if (p->dir != NULL) {
		if ((size_t)snprintf(p->png_path, sizeof(p->png_path), "%s/qr.png", p->dir) >= sizeof(p->png_path) ||
		    (size_t)snprintf(p->url_path, sizeof(p->url_path), "%s/qr.url", p->dir) >= sizeof(p->url_path)) {
			qr_presenter_free(&p);
			return CABLE_ERR_ARG;
		}
	}
	*out = p;
	return 0;
}

bool
qr_presenter_shown(const struct qr_presenter *p)
{
	return p->shown;
}

/* Writes path atomically (temporary file + rename), mode 0600. */
static int
write_file(const char *path, const void *data, size_t len)
{
	char tmp[4200];
	const uint8_t *b = data;
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return CABLE_ERR_ARG;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return CABLE_ERR_IO;
	while (len > 0) {
		ssize_t n = write(fd, b, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			unlink(tmp);
			return CABLE_ERR_IO;
		}
		b += n;
		len -= (size_t)n;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return CABLE_ERR_IO;
	}
	return 0;
}

/* Single-quotes s for sh into out. */
static int
append_quoted(char *out, size_t cap, size_t *pos, const char *s)
{
	const char *esc = "'\\''";

	if (*pos + 1 >= cap)
		return CABLE_ERR_TOO_BIG;
	out[(*pos)++] = '\'';
	for (; *s != '\0'; s++) {
		if (*s == '\'') {
			if (*pos + 4 >= cap)
				return CABLE_ERR_TOO_BIG;
			memcpy(out + *pos, esc, 4);
			*pos += 4;
		} else {
			if (*pos + 1 >= cap)
				return CABLE_ERR_TOO_BIG;
			out[(*pos)++] = *s;
		}
	}
	if (*pos + 1 >= cap)
		return CABLE_ERR_TOO_BIG;
	out[(*pos)++] = '\'';
	out[*pos] = '\0';
	return 0;
}

static int
expand(const char *cmd, const char *png, const char *url, char *out, size_t cap)
{
	size_t pos = 0;
	int r;

	for (const char *c = cmd; *c != '\0'; c++) {
		if (c[0] == '%' && (c[1] == 'f' || c[1] == 'u' || c[1] == '%')) {
			if (c[1] == '%') {
				if (pos + 1 >= cap)
					return CABLE_ERR_TOO_BIG;
				out[pos++] = '%';
			} else if ((r = append_quoted(out, cap, &pos, c[1] == 'f' ? png : url)) != 0) {
				return r;
			}
			c++;
			continue;
		}
		if (pos + 1 >= cap)
			return CABLE_ERR_TOO_BIG;
		out[pos++] = *c;
	}
	out[pos] = '\0';
	return 0;
}

pid_t
hook_spawn(const char *cmd, const char *name, const char *value)
{
	sigset_t none;
	pid_t pid;
	int fds[2], err = 0;
	ssize_t n;

	/* The pipe closes on exec: the parent waits for that, so that a SIGTERM sent to the group
	 * right after this returns reaches the program (and not a child between fork and exec,
	 * where valgrind, for one, loses it), and an exec failure is known here. */
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		/* The loop takes signals through signalfd with them blocked; the hook must not inherit that. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setpgid(0, 0);
		if (name != NULL)
			setenv(name, value, 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		err = errno;
		(void)!write(fds[1], &err, sizeof(err));
		_exit(127);
	}
	close(fds[1]);
	(void)setpgid(pid, pid);
	do
		n = read(fds[0], &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	if (n == (ssize_t)sizeof(err)) {
		(void)waitpid(pid, NULL, 0);
		errno = err;
		return -1;
	}
	return pid;
}

static int
run_hook(struct qr_presenter *p, const char *url)
{
	char cmd[8192];
	pid_t pid;
	int r;

	if ((r = expand(p->command, p->dir != NULL ? p->png_path : "", url, cmd, sizeof(cmd))) != 0)
		return r;
	/* The child also sees CABLE_QR_FILE through %f; the URL goes in the environment. */
	if ((pid = hook_spawn(cmd, "CABLE_QR_URL", url)) < 0)
		return CABLE_ERR_IO;
	p->hook = pid;
	return 0;
}

int
qr_presenter_show(struct qr_presenter *p, const char *url)
{
	struct cable_qr_symbol *sym = NULL;
	uint8_t *png = NULL;
	size_t png_len = 0;
	char *text = NULL;
	int r;

	qr_presenter_withdraw(p);
	if ((r = cable_qr_symbol_encode(url, 0, &sym)) != 0)
		goto out;
	if (p->dir != NULL) {
		if ((mkdir(p->dir, 0700) != 0 && errno != EEXIST)) {
			r = CABLE_ERR_IO;
			goto out;
		}
		if ((r = cable_qr_render_png(sym, CABLE_QR_QUIET_ZONE, PNG_SCALE, &png, &png_len)) != 0 ||
		    (r = write_file(p->png_path, png, png_len)) != 0 ||
		    (r = write_file(p->url_path, url, strlen(url))) != 0)
			goto out;
	}
	p->shown = true;
	if (p->terminal && cable_qr_render_text(sym, 2, CABLE_QR_TEXT_ANSI, &text) == 0) {
		printf("Scan this QR code with your phone (or open %s):\n%s", url, text);
		fflush(stdout);
	}
	if (p->command != NULL && (r = run_hook(p, url)) != 0)
		goto out;
	r = 0;
out:
	free(text);
	free(png);
	cable_qr_symbol_free(&sym);
	return r;
}

void
qr_presenter_withdraw(struct qr_presenter *p)
{
	if (p == NULL || !p->shown)
		return;
	p->shown = false;
	if (p->dir != NULL) {
		(void)unlink(p->png_path);
		(void)unlink(p->url_path);
	}
	if (p->hook > 0) {
		child_stop_term(p->stop, p->hook);
		p->hook = 0;
	}
	if (p->terminal) {
		printf("QR code withdrawn.\n");
		fflush(stdout);
	}
}

void
qr_presenter_child_exited(struct qr_presenter *p, pid_t pid)
{
	if (p != NULL && pid == p->hook)
		p->hook = 0;
}

void
qr_presenter_free(struct qr_presenter **pp)
{
	struct qr_presenter *p;

	if (pp == NULL || (p = *pp) == NULL)
		return;
	qr_presenter_withdraw(p);
	free(p->dir);
	free(p->command);
	free(p);
	*pp = NULL;
}

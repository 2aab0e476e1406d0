/* The socket transport: the virtual key as a Unix SOCK_SEQPACKET listener, one report per packet. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cable/error.h"
#include "cable/hid.h"
#include "cable/uhid.h"

/*
 * Reports a client's socket cannot take yet wait here, in order; a client that falls this far
 * behind is disconnected (silently losing reports would break its messages in the middle).
 */
#define CLIENT_QUEUE 4096

struct client {
	struct cable_hid_socket *s;
	int fd; /* -1 = free slot */
	struct cable_loop_fd *watch;
	uint8_t (*q)[CABLE_HID_REPORT_SIZE]; /* allocated on first use */
	size_t q_head, q_count;
};

struct cable_hid_socket {
	struct cable_loop *loop;
	int lfd;
	struct cable_loop_fd *lwatch;
	char *path;
	cable_hid_report_cb cb;
	void *arg;
	struct client clients[CABLE_HID_SOCKET_MAX_CLIENTS];
};

static void
drop_client(struct client *c)
{
	c->s->loop->ops->fd_del(&c->watch);
	close(c->fd);
	c->fd = -1;
	free(c->q);
	c->q = NULL;
	c->q_head = c->q_count = 0;
}

/* 1 sent, 0 the socket is full, -1 the client is gone. */
static int
send_one(struct client *c, const uint8_t *report)
{
	ssize_t n;

	do
		n = send(c->fd, report, CABLE_HID_REPORT_SIZE, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n == CABLE_HID_REPORT_SIZE)
		return 1;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	return -1;
}

/* Sends what waits in the client's queue; asks for writability while anything is left. */
static void
flush_client(struct client *c)
{
	int r = 1;

	while (c->q_count > 0 && (r = send_one(c, c->q[c->q_head])) == 1) {
		c->q_head = (c->q_head + 1) % CLIENT_QUEUE;
		c->q_count--;
	}
	if (r < 0) {
		drop_client(c);
		return;
	}
	c->s->loop->ops->fd_set_events(c->watch, CABLE_LOOP_IN | (c->q_count > 0 ? CABLE_LOOP_OUT : 0));
}

static void
on_client(void *arg, int fd, uint32_t revents)
{
	struct client *c = arg;
	uint8_t buf[CABLE_HID_REPORT_SIZE + 2];
	const uint8_t *report;

	if (revents & CABLE_LOOP_OUT) {
		flush_client(c);
		if (c->fd < 0)
			return;
	}
	/* Bounded: other clients and timers get their turn. */
	for (int i = 0; i < 256; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			drop_client(c);
			return;
		}
		/* Like hidraw: a write of the wrong size never reaches the device. */
		if ((size_t)n <= sizeof(buf) && cable_hid_report_from_write(buf, (size_t)n, &report) == 0)
			c->s->cb(c->s->arg, report);
		if (c->fd < 0)
			return;
	}
}

static void
on_accept(void *arg, int fd, uint32_t revents)
{
	struct cable_hid_socket *s = arg;
	struct client *slot = NULL;
	int cfd;

	(void)revents;
	if ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0)
		return;
	for (size_t i = 0; i < CABLE_HID_SOCKET_MAX_CLIENTS; i++)
		if (s->clients[i].fd < 0) {
			slot = &s->clients[i];
			break;
		}
	if (slot == NULL) {
		close(cfd);
		return;
	}
	slot->fd = cfd;
	if (s->loop->ops->fd_add(s->loop, cfd, CABLE_LOOP_IN, on_client, slot, &slot->watch) != 0) {
		close(cfd);
		slot->fd = -1;
	}
}

int
cable_hid_socket_new(struct cable_loop *loop, const char *path, cable_hid_report_cb cb, void *arg,
    struct cable_hid_socket **out)
{
	struct cable_hid_socket *s = NULL;
	struct sockaddr_un sa;
	struct stat st;
	int r = CABLE_ERR_INTERNAL;

	if (loop == NULL || path == NULL || cb == NULL || out == NULL) {
		r = CABLE_ERR_ARG;
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) == 0 || strlen(path) >= sizeof(sa.sun_path)) {
		r = CABLE_ERR_ARG;
		goto out;
	}
	memcpy(sa.sun_path, path, strlen(path));
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->path = strdup(path)) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	s->loop = loop;
	s->cb = cb;
	s->arg = arg;
	s->lfd = -1;
	for (size_t i = 0; i < CABLE_HID_SOCKET_MAX_CLIENTS; i++) {
		s->clients[i].s = s;
		s->clients[i].fd = -1;
	}
	/* A socket left by a previous run is replaced; any other file is not ours to remove. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		(void)unlink(path);
	if ((s->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		r = CABLE_ERR_IO;
		goto out;
	}
	if (chmod(path, 0600) != 0 || listen(s->lfd, 8) != 0) {
		(void)unlink(path);
		r = CABLE_ERR_IO;
		goto out;
	}
	if ((r = loop->ops->fd_add(loop, s->lfd, CABLE_LOOP_IN, on_accept, s, &s->lwatch)) != 0) {
		(void)unlink(path);
		goto out;
	}
	*out = s;
	s = NULL;
	r = 0;
out:
	if (s != NULL) {
		if (s->lfd >= 0)
			close(s->lfd);
		free(s->path);
		free(s);
	}
	return r;
}

int
cable_hid_socket_send(void *sock, const uint8_t report[CABLE_HID_REPORT_SIZE])
{
	struct cable_hid_socket *s = sock;

	if (s == NULL || report == NULL)
		return CABLE_ERR_ARG;
	for (size_t i = 0; i < CABLE_HID_SOCKET_MAX_CLIENTS; i++) {
		struct client *c = &s->clients[i];
		int r = 0;

		if (c->fd < 0)
			continue;
		if (c->q_count == 0 && (r = send_one(c, report)) != 0) {
			if (r < 0)
				drop_client(c);
			continue;
		}
		/* Full socket, or earlier reports still waiting: keep the order. */
		if (c->q == NULL && (c->q = malloc(CLIENT_QUEUE * sizeof(*c->q))) == NULL) {
			drop_client(c);
			continue;
		}
		if (c->q_count == CLIENT_QUEUE) {
			drop_client(c);
			continue;
		}
		memcpy(c->q[(c->q_head + c->q_count) % CLIENT_QUEUE], report, CABLE_HID_REPORT_SIZE);
		if (c->q_count++ == 0)
			c->s->loop->ops->fd_set_events(c->watch, CABLE_LOOP_IN | CABLE_LOOP_OUT);
	}
	return 0;
}

size_t
cable_hid_socket_clients(const struct cable_hid_socket *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (size_t i = 0; i < CABLE_HID_SOCKET_MAX_CLIENTS; i++)
		if (s->clients[i].fd >= 0)
			n++;
	return n;
}

void
cable_hid_socket_free(struct cable_hid_socket **sp)
{
	struct cable_hid_socket *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	for (size_t i = 0; i < CABLE_HID_SOCKET_MAX_CLIENTS; i++)
		if (s->clients[i].fd >= 0)
			drop_client(&s->clients[i]);
	s->loop->ops->fd_del(&s->lwatch);
	close(s->lfd);
	(void)unlink(s->path);
	free(s->path);
	free(s);
	*sp = NULL;
}

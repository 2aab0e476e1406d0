/* The uhid adapter: one virtual FIDO HID device on a /dev/uhid fd, driven by the program's loop. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cable/error.h"
#include "cable/uhid.h"

struct cable_uhid {
	struct cable_loop *loop;
	int fd;
	struct cable_loop_fd *watch;
	cable_hid_report_cb cb;
	void *arg;
	cable_hid_state_cb state_cb;
	void *state_arg;
	int started;
	int opened;
	uint8_t ev[CABLE_UHID_EVENT_SIZE];
};

/* One whole event per write(2); the kernel never takes part of one. */
static int
write_event(int fd, const uint8_t *ev, size_t len)
{
	ssize_t n;

	do
		n = write(fd, ev, len);
	while (n < 0 && errno == EINTR);
	if (n < 0 || (size_t)n != len)
		return CABLE_ERR_IO;
	return 0;
}

static void
notify(struct cable_uhid *u, enum cable_hid_state st)
{
	if (u->state_cb != NULL)
		u->state_cb(u->state_arg, st);
}

void
cable_uhid_set_state_cb(struct cable_uhid *u, cable_hid_state_cb cb, void *arg)
{
	u->state_cb = cb;
	u->state_arg = arg;
}

static void
on_readable(void *arg, int fd, uint32_t revents)
{
	struct cable_uhid *u = arg;
	int r = 0;

	(void)fd;
	(void)revents;
	/* Read everything queued (bounded): the kernel keeps only 32 events and drops the rest. */
	for (int i = 0; i < 64 && r == 0; i++)
		r = cable_uhid_dispatch(u);
	if (r == CABLE_ERR_IO) {
		/* Stop watching, or a dead fd would wake the loop for ever. */
		u->loop->ops->fd_del(&u->watch);
		notify(u, CABLE_HID_STATE_FAILED);
	}
}

int
cable_uhid_new(struct cable_loop *loop, int fd, const struct cable_uhid_info *info,
    cable_hid_report_cb cb, void *arg, struct cable_uhid **out)
{
	struct cable_uhid *u = NULL;
	size_t len;
	int r = CABLE_ERR_INTERNAL, fl;

	if (loop == NULL || fd < 0 || info == NULL || cb == NULL || out == NULL) {
		r = CABLE_ERR_ARG;
		goto out;
	}
	if ((u = calloc(1, sizeof(*u))) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	u->loop = loop;
	u->fd = -1;
	u->cb = cb;
	u->arg = arg;
	if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		r = CABLE_ERR_IO;
		goto out;
	}
	if ((r = cable_uhid_build_create2(u->ev, sizeof(u->ev), info, cable_uhid_fido_descriptor,
	    sizeof(cable_uhid_fido_descriptor), &len)) != 0)
		goto out;
	if ((r = write_event(fd, u->ev, len)) != 0)
		goto out;
	if ((r = loop->ops->fd_add(loop, fd, CABLE_LOOP_IN, on_readable, u, &u->watch)) != 0) {
		size_t dlen;

		if (cable_uhid_build_destroy(u->ev, sizeof(u->ev), &dlen) == 0)
			(void)write_event(fd, u->ev, dlen);
		goto out;
	}
	u->fd = fd;
	*out = u;
	u = NULL;
	r = 0;
out:
	free(u);
	return r;
}

int
cable_uhid_dispatch(struct cable_uhid *u)
{
	struct cable_uhid_event ev;
	const uint8_t *report;
	ssize_t n;
	size_t len;
	int r = CABLE_ERR_INTERNAL;

	do
		n = read(u->fd, u->ev, sizeof(u->ev));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r = (errno == EAGAIN || errno == EWOULDBLOCK) ? CABLE_ERR_STATE : CABLE_ERR_IO;
		goto out;
	}
	if (n == 0) {
		r = CABLE_ERR_IO;
		goto out;
	}
	/* A malformed event is dropped; the device stays. */
	if (cable_uhid_parse(u->ev, (size_t)n, &ev) != 0) {
		r = 0;
		goto out;
	}
	switch (ev.type) {
	case CABLE_UHID_START:
		u->started = 1;
		notify(u, CABLE_HID_STATE_STARTED);
		break;
	case CABLE_UHID_STOP:
		u->started = 0;
		u->opened = 0;
		notify(u, CABLE_HID_STATE_STOPPED);
		break;
	case CABLE_UHID_OPEN:
		if (u->opened++ == 0)
			notify(u, CABLE_HID_STATE_OPENED);
		break;
	case CABLE_UHID_CLOSE:
		if (u->opened > 0 && --u->opened == 0)
			notify(u, CABLE_HID_STATE_CLOSED);
		break;
	case CABLE_UHID_OUTPUT:
		if (cable_hid_report_from_write(ev.data, ev.size, &report) == 0) {
			uint8_t rep[CABLE_HID_REPORT_SIZE];

			/* u->ev may be reused if the callback sends; hand over a copy. */
			memcpy(rep, report, sizeof(rep));
			u->cb(u->arg, rep);
		}
		break;
	case CABLE_UHID_GET_REPORT:
		/* FIDO has no feature reports: fail at once rather than let the kernel wait 5 s. */
		if ((r = cable_uhid_build_get_report_reply(u->ev, sizeof(u->ev), ev.id, EIO, &len)) != 0 ||
		    (r = write_event(u->fd, u->ev, len)) != 0)
			goto out;
		break;
	case CABLE_UHID_SET_REPORT:
		if ((r = cable_uhid_build_set_report_reply(u->ev, sizeof(u->ev), ev.id, EIO, &len)) != 0 ||
		    (r = write_event(u->fd, u->ev, len)) != 0)
			goto out;
		break;
	default:
		break;
	}
	r = 0;
out:
	return r;
}

int
cable_uhid_send(void *uhid, const uint8_t report[CABLE_HID_REPORT_SIZE])
{
	struct cable_uhid *u = uhid;
	uint8_t ev[CABLE_UHID_EVENT_SIZE];
	size_t len;
	int r;

	if (u == NULL || report == NULL)
		return CABLE_ERR_ARG;
	if (!u->started)
		return CABLE_ERR_STATE;
	if ((r = cable_uhid_build_input2(ev, sizeof(ev), report, CABLE_HID_REPORT_SIZE, &len)) != 0)
		return r;
	return write_event(u->fd, ev, len);
}

int
cable_uhid_is_open(const struct cable_uhid *u)
{
	return u != NULL ? u->opened : 0;
}

int
cable_uhid_is_started(const struct cable_uhid *u)
{
	return u != NULL ? u->started : 0;
}

void
cable_uhid_free(struct cable_uhid **up)
{
	struct cable_uhid *u;
	size_t len;

	if (up == NULL || (u = *up) == NULL)
		return;
	u->loop->ops->fd_del(&u->watch);
	if (cable_uhid_build_destroy(u->ev, sizeof(u->ev), &len) == 0)
		(void)write_event(u->fd, u->ev, len);
	close(u->fd);
	free(u);
	*up = NULL;
}

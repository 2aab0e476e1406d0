/* Picks and wires the virtual key's transport from a spec string: uhid, uhid-fd:N or socket:PATH. */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cable/error.h"
#include "cable/hid.h"
#include "cable/uhid.h"

struct cable_hid_transport {
	struct cable_hid_key *key;
	struct cable_uhid *uhid;
	struct cable_hid_socket *sock;
	cable_hid_state_cb state_cb;
	void *state_arg;
};

static void
on_state(void *arg, enum cable_hid_state st)
{
	struct cable_hid_transport *t = arg;

	/* The hidraw node is gone: every client's channel went with it. */
	if (st == CABLE_HID_STATE_STOPPED)
		cable_hid_key_reset(t->key);
	if (t->state_cb != NULL)
		t->state_cb(t->state_arg, st);
}

static int
parse_fd(const char *s, int *fd)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return CABLE_ERR_ARG;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 0 || v > INT_MAX)
		return CABLE_ERR_ARG;
	*fd = (int)v;
	return 0;
}

int
cable_hid_transport_open(struct cable_loop *loop, const char *spec, struct cable_hid_key *key,
    const struct cable_uhid_info *info, cable_hid_state_cb state_cb, void *state_arg,
    struct cable_hid_transport **out)
{
	static const struct cable_uhid_info defaults = {
		.name = CABLE_UHID_NAME, .vendor = CABLE_UHID_VENDOR, .product = CABLE_UHID_PRODUCT};
	struct cable_hid_transport *t = NULL;
	const char *path = NULL;
	int fd = -1, r = CABLE_ERR_INTERNAL;

	if (loop == NULL || spec == NULL || key == NULL || out == NULL) {
		r = CABLE_ERR_ARG;
		goto out;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	t->key = key;
	t->state_cb = state_cb;
	t->state_arg = state_arg;
	if (strncmp(spec, "socket:", 7) == 0) {
		if ((r = cable_hid_socket_new(loop, spec + 7, cable_hid_key_input, key, &t->sock)) != 0)
			goto out;
		cable_hid_key_attach(key, cable_hid_socket_send, t->sock);
	} else {
		if (strcmp(spec, "uhid") == 0)
			path = "/dev/uhid";
		else if (strncmp(spec, "uhid:", 5) == 0 && spec[5] != '\0')
			path = spec + 5;
		else if (strncmp(spec, "uhid-fd:", 8) == 0) {
			if ((r = parse_fd(spec + 8, &fd)) != 0)
				goto out;
		} else {
			r = CABLE_ERR_ARG;
			goto out;
		}
		if (path != NULL && (fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
			r = CABLE_ERR_IO;
			goto out;
		}
		/* cable_uhid_new owns fd only once it succeeds; close what we opened ourselves. */
		if ((r = cable_uhid_new(loop, fd, info != NULL ? info : &defaults, cable_hid_key_input,
		    key, &t->uhid)) != 0) {
			if (path != NULL)
				close(fd);
			goto out;
		}
		cable_uhid_set_state_cb(t->uhid, on_state, t);
		cable_hid_key_attach(key, cable_uhid_send, t->uhid);
	}
	*out = t;
	t = NULL;
	r = 0;
out:
	free(t);
	return r;
}

void
cable_hid_transport_free(struct cable_hid_transport **tp)
{
	struct cable_hid_transport *t;

	if (tp == NULL || (t = *tp) == NULL)
		return;
	cable_hid_key_attach(t->key, NULL, NULL);
	cable_uhid_free(&t->uhid);
	cable_hid_socket_free(&t->sock);
	free(t);
	*tp = NULL;
}

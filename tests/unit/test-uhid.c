/* Unit tests: uhid event bytes against <linux/uhid.h>, the uhid adapter against a fake kernel on a socketpair, and the socket transport. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/uhid.h>

#include "cable/error.h"
#include "cable/hid.h"
#include "cable/uhid.h"
#include "tv.h"

_Static_assert(sizeof(struct uhid_event) == CABLE_UHID_EVENT_SIZE, "uhid_event size");
_Static_assert((int)UHID_CREATE2 == (int)CABLE_UHID_CREATE2 &&
    (int)UHID_INPUT2 == (int)CABLE_UHID_INPUT2 && (int)UHID_OUTPUT == (int)CABLE_UHID_OUTPUT &&
    (int)UHID_START == (int)CABLE_UHID_START && (int)UHID_STOP == (int)CABLE_UHID_STOP &&
    (int)UHID_OPEN == (int)CABLE_UHID_OPEN && (int)UHID_CLOSE == (int)CABLE_UHID_CLOSE &&
    (int)UHID_DESTROY == (int)CABLE_UHID_DESTROY &&
    (int)UHID_GET_REPORT == (int)CABLE_UHID_GET_REPORT &&
    (int)UHID_SET_REPORT == (int)CABLE_UHID_SET_REPORT &&
    (int)UHID_GET_REPORT_REPLY == (int)CABLE_UHID_GET_REPORT_REPLY &&
    (int)UHID_SET_REPORT_REPLY == (int)CABLE_UHID_SET_REPORT_REPLY, "uhid event types");
_Static_assert(offsetof(struct uhid_event, u.create2.rd_data) == 280 &&
    offsetof(struct uhid_event, u.create2.bus) == 262 &&
    offsetof(struct uhid_event, u.create2.vendor) == 264 &&
    offsetof(struct uhid_event, u.output.size) == 4100 &&
    offsetof(struct uhid_event, u.output.rtype) == 4102 &&
    offsetof(struct uhid_event, u.input2.data) == 6 &&
    offsetof(struct uhid_event, u.set_report.data) == 12 &&
    offsetof(struct uhid_event, u.get_report_reply.err) == 8, "uhid offsets");

/*
 * A recording loop: it remembers watches and timers; the test decides when they fire. This is
 * no event loop, only the function table seen from the adapters.
 */
struct watch {
	int fd;
	cable_loop_fd_cb cb;
	void *arg;
	bool live;
};
struct cable_loop_fd {
	struct watch *w;
};
struct cable_loop_timer {
	int idx;
};
struct fake_loop {
	struct cable_loop base;
	struct watch watches[32];
	struct {
		bool live;
		uint64_t at;
		cable_loop_timer_cb cb;
		void *arg;
		struct cable_loop_timer *handle;
	} timers[8];
	uint64_t now;
};

static struct fake_loop *
fl(struct cable_loop *l)
{
	return (struct fake_loop *)l;
}

static int
f_fd_add(struct cable_loop *loop, int fd, uint32_t events, cable_loop_fd_cb cb, void *arg,
    struct cable_loop_fd **out)
{
	struct fake_loop *L = fl(loop);

	(void)events;
	for (size_t i = 0; i < 32; i++)
		if (!L->watches[i].live) {
			struct cable_loop_fd *h = malloc(sizeof(*h));

			if (h == NULL)
				return CABLE_ERR_NOMEM;
			L->watches[i] = (struct watch){.fd = fd, .cb = cb, .arg = arg, .live = true};
			h->w = &L->watches[i];
			*out = h;
			return 0;
		}
	return CABLE_ERR_NOMEM;
}

static int
f_fd_set_events(struct cable_loop_fd *w, uint32_t events)
{
	(void)w;
	(void)events;
	return 0;
}

static void
f_fd_del(struct cable_loop_fd **w)
{
	if (w == NULL || *w == NULL)
		return;
	(*w)->w->live = false;
	free(*w);
	*w = NULL;
}

static int
f_timer_add(struct cable_loop *loop, uint64_t delay, cable_loop_timer_cb cb, void *arg,
    struct cable_loop_timer **out)
{
	struct fake_loop *L = fl(loop);

	for (int i = 0; i < 8; i++)
		if (!L->timers[i].live) {
			struct cable_loop_timer *t = malloc(sizeof(*t));

			if (t == NULL)
				return CABLE_ERR_NOMEM;
			t->idx = i;
			L->timers[i].live = true;
			L->timers[i].at = L->now + delay;
			L->timers[i].cb = cb;
			L->timers[i].arg = arg;
			L->timers[i].handle = t;
			*out = t;
			return 0;
		}
	return CABLE_ERR_NOMEM;
}

static struct fake_loop *the_loop;

static void
f_timer_del(struct cable_loop_timer **t)
{
	if (t == NULL || *t == NULL)
		return;
	the_loop->timers[(*t)->idx].live = false;
	the_loop->timers[(*t)->idx].handle = NULL;
	free(*t);
	*t = NULL;
}

static uint64_t
f_now(struct cable_loop *loop)
{
	return fl(loop)->now;
}

static void
f_quit(struct cable_loop *loop, int code)
{
	(void)loop;
	(void)code;
}

static const struct cable_loop_ops fake_ops = {
	.fd_add = f_fd_add,
	.fd_set_events = f_fd_set_events,
	.fd_del = f_fd_del,
	.timer_add = f_timer_add,
	.timer_del = f_timer_del,
	.now_usec = f_now,
	.quit = f_quit,
};

static struct fake_loop *
loop_new(void)
{
	struct fake_loop *L = calloc(1, sizeof(*L));

	assert_non_null(L);
	L->base.ops = &fake_ops;
	L->now = 1000000;
	the_loop = L;
	return L;
}

/* Fires the watch of fd as a readable loop would; false if fd is not watched. */
static bool
fire_fd(struct fake_loop *L, int fd)
{
	for (size_t i = 0; i < 32; i++)
		if (L->watches[i].live && L->watches[i].fd == fd) {
			L->watches[i].cb(L->watches[i].arg, fd, CABLE_LOOP_IN);
			return true;
		}
	return false;
}

/* Advances time to the earliest timer and fires it; false when none is armed. */
static bool
fire_timer(struct fake_loop *L)
{
	int best = -1;

	for (int i = 0; i < 8; i++)
		if (L->timers[i].live && (best < 0 || L->timers[i].at < L->timers[best].at))
			best = i;
	if (best < 0)
		return false;
	if (L->timers[best].at > L->now)
		L->now = L->timers[best].at;
	L->timers[best].cb(L->timers[best].arg);
	return true;
}

static size_t
live_timers(struct fake_loop *L)
{
	size_t n = 0;

	for (int i = 0; i < 8; i++)
		n += L->timers[i].live;
	return n;
}

static void
test_descriptor(void **state)
{
	static const uint8_t want[] = {0x06, 0xD0, 0xF1, 0x09, 0x01, 0xA1, 0x01, 0x09, 0x20, 0x15, 0x00,
	    0x26, 0xFF, 0x00, 0x75, 0x08, 0x95, 0x40, 0x81, 0x02, 0x09, 0x21, 0x15, 0x00, 0x26, 0xFF,
	    0x00, 0x75, 0x08, 0x95, 0x40, 0x91, 0x02, 0xC0};

	(void)state;
	assert_int_equal(sizeof(want), 34);
	assert_memory_equal(cable_uhid_fido_descriptor, want, sizeof(want));
}

static void
test_create2_matches_kernel_struct(void **state)
{
	static uint8_t buf[CABLE_UHID_EVENT_SIZE];
	struct uhid_event ev;
	struct cable_uhid_info info = {.uniq = "serial-1", .phys = "cable", .vendor = 0x1209,
	    .product = 0x0001, .version = 7, .country = 0};
	char longname[200];
	size_t len = 0;

	(void)state;
	assert_int_equal(cable_uhid_build_create2(buf, sizeof(buf), &info, cable_uhid_fido_descriptor,
	    34, &len), 0);
	assert_int_equal(len, sizeof(ev));
	memcpy(&ev, buf, sizeof(ev));
	assert_int_equal(ev.type, UHID_CREATE2);
	assert_string_equal((const char *)ev.u.create2.name, "cable-bridge (phone via hybrid)");
	assert_string_equal((const char *)ev.u.create2.phys, "cable");
	assert_string_equal((const char *)ev.u.create2.uniq, "serial-1");
	assert_int_equal(ev.u.create2.rd_size, 34);
	assert_int_equal(ev.u.create2.bus, 3); /* BUS_USB */
	assert_int_equal(ev.u.create2.vendor, 0x1209);
	assert_int_equal(ev.u.create2.product, 0x0001);
	assert_int_equal(ev.u.create2.version, 7);
	assert_memory_equal(ev.u.create2.rd_data, cable_uhid_fido_descriptor, 34);
	/* Strings that would lose their NUL are refused. */
	memset(longname, 'x', sizeof(longname) - 1);
	longname[128] = 0;
	info.name = longname;
	assert_int_equal(cable_uhid_build_create2(buf, sizeof(buf), &info, cable_uhid_fido_descriptor,
	    34, &len), CABLE_ERR_TOO_BIG);
	longname[127] = 0;
	assert_int_equal(cable_uhid_build_create2(buf, sizeof(buf), &info, cable_uhid_fido_descriptor,
	    34, &len), 0);
	assert_int_equal(cable_uhid_build_create2(buf, 100, &info, cable_uhid_fido_descriptor, 34,
	    &len), CABLE_ERR_ARG);
	assert_int_equal(cable_uhid_build_create2(buf, sizeof(buf), &info, cable_uhid_fido_descriptor,
	    0, &len), CABLE_ERR_ARG);
}

static void
test_input2_and_replies_match_kernel_struct(void **state)
{
	static uint8_t buf[CABLE_UHID_EVENT_SIZE];
	struct uhid_event ev;
	uint8_t rep[64];
	size_t len;

	(void)state;
	for (int i = 0; i < 64; i++)
		rep[i] = (uint8_t)(i + 1);
	assert_int_equal(cable_uhid_build_input2(buf, sizeof(buf), rep, 64, &len), 0);
	assert_int_equal(len, 70);
	memset(&ev, 0, sizeof(ev));
	memcpy(&ev, buf, len);
	assert_int_equal(ev.type, UHID_INPUT2);
	assert_int_equal(ev.u.input2.size, 64);
	assert_memory_equal(ev.u.input2.data, rep, 64);
	assert_int_equal(cable_uhid_build_get_report_reply(buf, sizeof(buf), 0xabcdef01, EIO, &len), 0);
	memset(&ev, 0, sizeof(ev));
	memcpy(&ev, buf, len);
	assert_int_equal(ev.type, UHID_GET_REPORT_REPLY);
	assert_int_equal(ev.u.get_report_reply.id, 0xabcdef01);
	assert_int_equal(ev.u.get_report_reply.err, EIO);
	assert_int_equal(ev.u.get_report_reply.size, 0);
	assert_int_equal(cable_uhid_build_set_report_reply(buf, sizeof(buf), 77, EIO, &len), 0);
	memset(&ev, 0, sizeof(ev));
	memcpy(&ev, buf, len);
	assert_int_equal(ev.type, UHID_SET_REPORT_REPLY);
	assert_int_equal(ev.u.set_report_reply.id, 77);
	assert_int_equal(ev.u.set_report_reply.err, EIO);
	assert_int_equal(cable_uhid_build_destroy(buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 4);
	memcpy(&ev, buf, 4);
	assert_int_equal(ev.type, UHID_DESTROY);
}

static void
test_parse(void **state)
{
	static struct uhid_event ev;
	struct cable_uhid_event out;
	const uint8_t *rep;
	const uint8_t *b = (const uint8_t *)&ev;

	(void)state;
	memset(&ev, 0, sizeof(ev));
	ev.type = UHID_START;
	ev.u.start.dev_flags = 5;
	assert_int_equal(cable_uhid_parse(b, sizeof(ev), &out), 0);
	assert_int_equal(out.type, CABLE_UHID_START);
	assert_int_equal(out.dev_flags, 5);
	assert_int_equal(cable_uhid_parse(b, 11, &out), CABLE_ERR_LENGTH);

	memset(&ev, 0, sizeof(ev));
	ev.type = UHID_OUTPUT;
	ev.u.output.size = 65;
	ev.u.output.rtype = UHID_OUTPUT_REPORT;
	ev.u.output.data[0] = 0;
	ev.u.output.data[1] = 0xaa;
	ev.u.output.data[64] = 0xbb;
	assert_int_equal(cable_uhid_parse(b, sizeof(ev), &out), 0);
	assert_int_equal(out.size, 65);
	assert_int_equal(out.rtype, UHID_OUTPUT_REPORT);
	assert_int_equal(cable_hid_report_from_write(out.data, out.size, &rep), 0);
	assert_ptr_equal(rep, out.data + 1);
	assert_int_equal(rep[0], 0xaa);
	assert_int_equal(rep[63], 0xbb);
	/* A bare 64-byte report is taken as it is; other sizes, or a non-zero report ID, are not. */
	assert_int_equal(cable_hid_report_from_write(out.data, 64, &rep), 0);
	assert_ptr_equal(rep, out.data);
	assert_int_equal(cable_hid_report_from_write(out.data, 63, &rep), CABLE_ERR_LENGTH);
	assert_int_equal(cable_hid_report_from_write(out.data, 66, &rep), CABLE_ERR_LENGTH);
	ev.u.output.data[0] = 1;
	assert_int_equal(cable_hid_report_from_write(out.data, 65, &rep), CABLE_ERR_LENGTH);
	/* Truncated events and impossible sizes. */
	assert_int_equal(cable_uhid_parse(b, 4102, &out), CABLE_ERR_LENGTH);
	assert_int_equal(cable_uhid_parse(b, 4103, &out), 0);
	ev.u.output.size = 4097;
	assert_int_equal(cable_uhid_parse(b, sizeof(ev), &out), CABLE_ERR_PARSE);
	assert_int_equal(cable_uhid_parse(b, 3, &out), CABLE_ERR_LENGTH);
	assert_int_equal(cable_uhid_parse(b, sizeof(ev) + 1, &out), CABLE_ERR_LENGTH);

	memset(&ev, 0, sizeof(ev));
	ev.type = UHID_SET_REPORT;
	ev.u.set_report.id = 9;
	ev.u.set_report.rnum = 2;
	ev.u.set_report.rtype = UHID_FEATURE_REPORT;
	ev.u.set_report.size = 3;
	assert_int_equal(cable_uhid_parse(b, 15, &out), 0);
	assert_int_equal(out.id, 9);
	assert_int_equal(out.rnum, 2);
	assert_int_equal(out.size, 3);
	assert_int_equal(cable_uhid_parse(b, 14, &out), CABLE_ERR_LENGTH);

	memset(&ev, 0, sizeof(ev));
	ev.type = UHID_GET_REPORT;
	ev.u.get_report.id = 0x01020304;
	ev.u.get_report.rnum = 1;
	ev.u.get_report.rtype = UHID_INPUT_REPORT;
	assert_int_equal(cable_uhid_parse(b, 10, &out), 0);
	assert_int_equal(out.id, 0x01020304);
	assert_int_equal(out.rtype, UHID_INPUT_REPORT);
	assert_int_equal(cable_uhid_parse(b, 9, &out), CABLE_ERR_LENGTH);

	ev.type = 99;
	assert_int_equal(cable_uhid_parse(b, 4, &out), 0);
	assert_int_equal(out.type, 99);
}

/* The fake kernel's side: writes events, reads ours. */
static void
kernel_write(int kfd, const struct uhid_event *ev)
{
	assert_int_equal(write(kfd, ev, sizeof(*ev)), (ssize_t)sizeof(*ev));
}

static ssize_t
kernel_read(int kfd, struct uhid_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	return recv(kfd, ev, sizeof(*ev), MSG_DONTWAIT);
}

static void
kernel_output(int kfd, const uint8_t *packet, size_t size)
{
	static struct uhid_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = UHID_OUTPUT;
	ev.u.output.size = (uint16_t)size;
	ev.u.output.rtype = UHID_OUTPUT_REPORT;
	memcpy(ev.u.output.data, packet, size);
	kernel_write(kfd, &ev);
}

struct recorder {
	int states[16];
	size_t nstates;
};

static void
on_state(void *arg, enum cable_hid_state st)
{
	struct recorder *r = arg;

	if (r->nstates < 16)
		r->states[r->nstates++] = (int)st;
}

static void
test_uhid_adapter_with_fake_kernel(void **state)
{
	static struct uhid_event ev;
	struct fake_loop *L = loop_new();
	struct cable_ctaphid_config cfg;
	struct cable_hid_key *key;
	struct cable_uhid *u = NULL;
	struct cable_uhid_info info = {.vendor = CABLE_UHID_VENDOR, .product = CABLE_UHID_PRODUCT};
	struct recorder rec = {0};
	uint8_t pkt[65] = {0}, rep[64] = {0};
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	cable_ctaphid_config_default(&cfg);
	key = cable_hid_key_new(&L->base, &cfg);
	assert_non_null(key);
	assert_int_equal(cable_uhid_new(&L->base, sv[0], &info, cable_hid_key_input, key, &u), 0);
	cable_hid_key_attach(key, cable_uhid_send, u);
	cable_uhid_set_state_cb(u, on_state, &rec);

	/* CREATE2 came first, whole, with our descriptor, BUS_USB and IDs. */
	assert_int_equal(kernel_read(sv[1], &ev), (ssize_t)sizeof(ev));
	assert_int_equal(ev.type, UHID_CREATE2);
	assert_int_equal(ev.u.create2.bus, 3);
	assert_int_equal(ev.u.create2.vendor, 0x1209);
	assert_int_equal(ev.u.create2.rd_size, 34);
	assert_memory_equal(ev.u.create2.rd_data, cable_uhid_fido_descriptor, 34);
	assert_string_equal((const char *)ev.u.create2.name, CABLE_UHID_NAME);

	/* Nothing goes out before START. */
	assert_int_equal(cable_uhid_send(u, rep), CABLE_ERR_STATE);
	assert_int_equal(cable_uhid_dispatch(u), CABLE_ERR_STATE); /* nothing to read */
	memset(&ev, 0, sizeof(ev));
	ev.type = UHID_START;
	kernel_write(sv[1], &ev);
	ev.type = UHID_OPEN;
	kernel_write(sv[1], &ev);
	assert_true(fire_fd(L, sv[0]));
	assert_true(cable_uhid_is_started(u));
	assert_int_equal(cable_uhid_is_open(u), 1);

	/* A hidraw write (report ID 0 + INIT packet) comes back as one 64-byte INPUT2. */
	memset(pkt, 0, sizeof(pkt));
	memset(pkt + 1, 0xff, 4);
	pkt[5] = 0x86;
	pkt[7] = 8;
	memcpy(pkt + 8, "abcdefgh", 8);
	kernel_output(sv[1], pkt, 65);
	assert_true(fire_fd(L, sv[0]));
	assert_int_equal(kernel_read(sv[1], &ev), 70);
	assert_int_equal(ev.type, UHID_INPUT2);
	assert_int_equal(ev.u.input2.size, 64);
	assert_int_equal(ev.u.input2.data[4], 0x86);
	assert_int_equal(ev.u.input2.data[6], 17);
	assert_memory_equal(ev.u.input2.data + 7, "abcdefgh", 8);
	assert_int_equal(ev.u.input2.data[18], 1); /* CID 00000001 */
	assert_true(kernel_read(sv[1], &ev) < 0);

	/* A bare 64-byte OUTPUT is accepted too; a 63-byte one is dropped. */
	memset(pkt, 0, sizeof(pkt));
	pkt[3] = 1;
	pkt[4] = 0x81;
	pkt[6] = 1;
	pkt[7] = 0x5a;
	kernel_output(sv[1], pkt, 64);
	kernel_output(sv[1], pkt, 63);
	assert_true(fire_fd(L, sv[0]));
	assert_int_equal(kernel_read(sv[1], &ev), 70);
	assert_int_equal(ev.u.input2.data[4], 0x81);
	assert_int_equal(ev.u.input2.data[7], 0x5a);
	assert_true(kernel_read(sv[1], &ev) < 0);

	/* GET_REPORT and SET_REPORT are refused at once with EIO and the same id. */
	memset(&ev, 0, sizeof(ev));
	ev.type = UHID_GET_REPORT;
	ev.u.get_report.id = 42;
	kernel_write(sv[1], &ev);
	memset(&ev, 0, sizeof(ev));
	ev.type = UHID_SET_REPORT;
	ev.u.set_report.id = 43;
	ev.u.set_report.size = 2;
	kernel_write(sv[1], &ev);
	assert_true(fire_fd(L, sv[0]));
	assert_int_equal(kernel_read(sv[1], &ev), 12);
	assert_int_equal(ev.type, UHID_GET_REPORT_REPLY);
	assert_int_equal(ev.u.get_report_reply.id, 42);
	assert_int_equal(ev.u.get_report_reply.err, EIO);
	assert_int_equal(kernel_read(sv[1], &ev), 10);
	assert_int_equal(ev.type, UHID_SET_REPORT_REPLY);
	assert_int_equal(ev.u.set_report_reply.id, 43);

	/* A truncated event is ignored and the device keeps working. */
	{
		uint32_t t = UHID_OUTPUT;

		assert_int_equal(write(sv[1], &t, 4), 4);
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = UHID_CLOSE;
	kernel_write(sv[1], &ev);
	ev.type = UHID_STOP;
	kernel_write(sv[1], &ev);
	assert_true(fire_fd(L, sv[0]));
	assert_false(cable_uhid_is_started(u));
	assert_int_equal(rec.nstates, 4);
	assert_int_equal(rec.states[0], CABLE_HID_STATE_STARTED);
	assert_int_equal(rec.states[1], CABLE_HID_STATE_OPENED);
	assert_int_equal(rec.states[2], CABLE_HID_STATE_CLOSED);
	assert_int_equal(rec.states[3], CABLE_HID_STATE_STOPPED);

	/* Free writes DESTROY and closes our end. */
	cable_uhid_free(&u);
	assert_null(u);
	assert_int_equal(kernel_read(sv[1], &ev), 4);
	assert_int_equal(ev.type, UHID_DESTROY);
	assert_int_equal(kernel_read(sv[1], &ev), 0); /* EOF: the fd was closed */
	cable_hid_key_free(&key);
	close(sv[1]);
	free(L);
}

static void
test_uhid_adapter_fd_failure(void **state)
{
	static struct uhid_event ev;
	struct fake_loop *L = loop_new();
	struct cable_uhid *u = NULL;
	struct cable_uhid_info info = {0};
	struct recorder rec = {0};
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(cable_uhid_new(&L->base, -1, &info, cable_hid_key_input, NULL, &u),
	    CABLE_ERR_ARG);
	assert_int_equal(cable_uhid_new(&L->base, sv[0], &info, cable_hid_key_input, NULL, &u), 0);
	cable_uhid_set_state_cb(u, on_state, &rec);
	assert_int_equal(kernel_read(sv[1], &ev), (ssize_t)sizeof(ev));
	close(sv[1]);
	/* The loop is told to stop watching a dead fd, and the owner hears about it. */
	assert_true(fire_fd(L, sv[0]));
	assert_false(fire_fd(L, sv[0]));
	assert_int_equal(rec.nstates, 1);
	assert_int_equal(rec.states[0], CABLE_HID_STATE_FAILED);
	cable_uhid_free(&u);
	free(L);
}

/* CREATE2 refused by the "kernel" (here: a write to a socket whose peer is gone). */
static void
test_uhid_create_fails(void **state)
{
	struct fake_loop *L = loop_new();
	struct cable_uhid *u = NULL;
	struct cable_uhid_info info = {0};
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	close(sv[1]);
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(cable_uhid_new(&L->base, sv[0], &info, cable_hid_key_input, NULL, &u),
	    CABLE_ERR_IO);
	assert_null(u);
	assert_false(fire_fd(L, sv[0]));
	close(sv[0]);
	free(L);
}

struct key_fx {
	struct cable_hid_key *key;
	uint64_t request;
	size_t nreq, ncancel;
};

static void
key_event(void *arg, const struct cable_ctaphid_event *ev)
{
	struct key_fx *k = arg;

	if (ev->type == CABLE_CTAPHID_EVENT_REQUEST) {
		k->request = ev->request;
		k->nreq++;
	} else if (ev->type == CABLE_CTAPHID_EVENT_CANCEL) {
		k->ncancel++;
	}
}

static int
client_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void
test_socket_transport_and_key_timers(void **state)
{
	struct fake_loop *L = loop_new();
	struct cable_ctaphid_config cfg;
	struct cable_hid_socket *s = NULL;
	struct key_fx kf = {0};
	char dir[] = "/tmp/cable-hid-test-XXXXXX", path[128];
	uint8_t pkt[65], in[64], resp[200];
	struct stat st;
	int lfd, c1, c2;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/key.sock", dir);
	cable_ctaphid_config_default(&cfg);
	cfg.on_event = key_event;
	cfg.arg = &kf;
	kf.key = cable_hid_key_new(&L->base, &cfg);
	assert_non_null(kf.key);
	assert_int_equal(cable_hid_socket_new(&L->base, path, cable_hid_key_input, kf.key, &s), 0);
	cable_hid_key_attach(kf.key, cable_hid_socket_send, s);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	lfd = L->watches[0].fd;

	c1 = client_connect(path);
	c2 = client_connect(path);
	assert_true(fire_fd(L, lfd));
	assert_true(fire_fd(L, lfd));
	assert_int_equal(cable_hid_socket_clients(s), 2);

	/* INIT from client 1 (hidraw style, 65 bytes); like hidraw, both clients see the answer. */
	memset(pkt, 0, sizeof(pkt));
	memset(pkt + 1, 0xff, 4);
	pkt[5] = 0x86;
	pkt[7] = 8;
	assert_int_equal(send(c1, pkt, 65, 0), 65);
	for (size_t i = 0; i < 32; i++)
		if (L->watches[i].live && L->watches[i].fd != lfd)
			L->watches[i].cb(L->watches[i].arg, L->watches[i].fd, CABLE_LOOP_IN);
	assert_int_equal(recv(c1, in, sizeof(in), MSG_DONTWAIT), 64);
	assert_int_equal(in[4], 0x86);
	assert_int_equal(recv(c2, in, sizeof(in), MSG_DONTWAIT), 64);
	assert_int_equal(in[4], 0x86);
	assert_int_equal(live_timers(L), 0);

	/* A CBOR request (bare 64 bytes) arms the keepalive timer. */
	memset(pkt, 0, sizeof(pkt));
	pkt[3] = 1;
	pkt[4] = 0x90;
	pkt[6] = 1;
	pkt[7] = 0x04;
	assert_int_equal(send(c2, pkt, 64, 0), 64);
	/* Wrong sizes never reach the machine. */
	assert_int_equal(send(c2, pkt, 10, 0), 10);
	for (size_t i = 0; i < 32; i++)
		if (L->watches[i].live && L->watches[i].fd != lfd)
			L->watches[i].cb(L->watches[i].arg, L->watches[i].fd, CABLE_LOOP_IN);
	assert_int_equal(kf.nreq, 1);
	assert_int_equal(live_timers(L), 1);
	assert_true(fire_timer(L));
	assert_int_equal(recv(c2, in, sizeof(in), MSG_DONTWAIT), 64);
	assert_int_equal(in[4], 0xbb);
	assert_int_equal(in[7], 1);
	assert_int_equal(recv(c1, in, sizeof(in), MSG_DONTWAIT), 64);
	assert_int_equal(live_timers(L), 1);
	assert_int_equal(cable_hid_key_set_status(kf.key, kf.request, 2), 0);
	assert_int_equal(recv(c2, in, sizeof(in), MSG_DONTWAIT), 64);
	assert_int_equal(in[7], 2);
	assert_true(fire_timer(L));
	assert_int_equal(recv(c2, in, sizeof(in), MSG_DONTWAIT), 64);
	assert_int_equal(in[4], 0xbb);
	assert_int_equal(in[7], 2);

	/* The answer goes out fragmented and the timer is gone. */
	memset(resp, 0x11, sizeof(resp));
	resp[0] = 0;
	assert_int_equal(cable_hid_key_respond(kf.key, kf.request, resp, sizeof(resp)), 0);
	assert_int_equal(cable_hid_key_respond(kf.key, kf.request, resp, sizeof(resp)), CABLE_ERR_STATE);
	for (int k = 0; k < 4; k++) {
		assert_int_equal(recv(c2, in, sizeof(in), MSG_DONTWAIT), 64);
		assert_int_equal(in[3], 1);
		assert_int_equal(in[4], k == 0 ? 0x90 : k - 1);
	}
	assert_true(recv(c2, in, sizeof(in), MSG_DONTWAIT) < 0);
	assert_int_equal(live_timers(L), 0);

	/* A client that hangs up is dropped and stops being watched. */
	close(c1);
	for (size_t i = 0; i < 32; i++)
		if (L->watches[i].live && L->watches[i].fd != lfd)
			L->watches[i].cb(L->watches[i].arg, L->watches[i].fd, CABLE_LOOP_IN);
	assert_int_equal(cable_hid_socket_clients(s), 1);

	cable_hid_socket_free(&s);
	assert_null(s);
	assert_true(stat(path, &st) != 0);
	assert_int_equal(recv(c2, in, sizeof(in), 0), 0); /* EOF */
	close(c2);
	cable_hid_key_free(&kf.key);
	assert_int_equal(live_timers(L), 0);
	rmdir(dir);
	free(L);
}

/* Fires every live watch except fd with the given events. */
static void
fire_all(struct fake_loop *L, int except, uint32_t ev)
{
	for (size_t i = 0; i < 32; i++)
		if (L->watches[i].live && L->watches[i].fd != except)
			L->watches[i].cb(L->watches[i].arg, L->watches[i].fd, ev);
}

static void
test_socket_backpressure(void **state)
{
	struct fake_loop *L = loop_new();
	struct cable_hid_socket *s = NULL;
	char dir[] = "/tmp/cable-hid-test-XXXXXX", path[128];
	uint8_t rep[64], in[64];
	size_t got = 0;
	int lfd, c;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/k", dir);
	assert_int_equal(cable_hid_socket_new(&L->base, path, cable_hid_key_input, NULL, &s), 0);
	lfd = L->watches[0].fd;
	c = client_connect(path);
	assert_true(fire_fd(L, lfd));

	/* A client that does not read: the socket fills, the rest waits in order, nothing is lost. */
	memset(rep, 0, sizeof(rep));
	for (uint32_t i = 0; i < 1000; i++) {
		memcpy(rep, &i, sizeof(i));
		assert_int_equal(cable_hid_socket_send(s, rep), 0);
	}
	assert_int_equal(cable_hid_socket_clients(s), 1);
	for (int rounds = 0; got < 1000 && rounds < 100; rounds++) {
		while (recv(c, in, sizeof(in), MSG_DONTWAIT) == 64) {
			uint32_t v;

			memcpy(&v, in, sizeof(v));
			assert_int_equal(v, got);
			got++;
		}
		fire_all(L, lfd, CABLE_LOOP_OUT); /* the loop reports the socket writable again */
	}
	assert_int_equal(got, 1000);

	/* One that falls too far behind is disconnected rather than given holes. */
	for (uint32_t i = 0; i < 6000; i++)
		assert_int_equal(cable_hid_socket_send(s, rep), 0);
	assert_int_equal(cable_hid_socket_clients(s), 0);
	got = 0;
	while (recv(c, in, sizeof(in), 0) == 64)
		got++;
	assert_true(got > 0 && got < 6000);
	close(c);
	cable_hid_socket_free(&s);
	rmdir(dir);
	free(L);
}

static void
test_socket_path_checks(void **state)
{
	struct fake_loop *L = loop_new();
	struct cable_hid_socket *s = NULL;
	char longp[200], dir[] = "/tmp/cable-hid-test-XXXXXX", path[128];
	FILE *f;

	(void)state;
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = 0;
	assert_int_equal(cable_hid_socket_new(&L->base, longp, cable_hid_key_input, NULL, &s),
	    CABLE_ERR_ARG);
	assert_int_equal(cable_hid_socket_new(&L->base, "", cable_hid_key_input, NULL, &s),
	    CABLE_ERR_ARG);
	/* A regular file in the way is not removed. */
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/file", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(cable_hid_socket_new(&L->base, path, cable_hid_key_input, NULL, &s),
	    CABLE_ERR_IO);
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);
	rmdir(dir);
	free(L);
}

static void
test_transport_specs(void **state)
{
	static struct uhid_event ev;
	struct fake_loop *L = loop_new();
	struct cable_ctaphid_config cfg;
	struct cable_hid_key *key;
	struct cable_hid_transport *t = NULL;
	struct recorder rec = {0};
	char spec[64], dir[] = "/tmp/cable-hid-test-XXXXXX";
	uint8_t pkt[65] = {0};
	int sv[2];

	(void)state;
	cable_ctaphid_config_default(&cfg);
	key = cable_hid_key_new(&L->base, &cfg);
	assert_non_null(key);
	static const char *bad[] = {"", "usb", "uhid-fd:", "uhid-fd:x", "uhid-fd:-1", "uhid-fd:1x",
	    "uhid-fd:99999999999", "uhid:", "socket:"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cable_hid_transport_open(&L->base, bad[i], key, NULL, NULL, NULL, &t),
		    CABLE_ERR_ARG);
	assert_int_equal(cable_hid_transport_open(&L->base, "uhid:/nonexistent/uhid", key, NULL, NULL,
	    NULL, &t), CABLE_ERR_IO);
	assert_null(t);

	/* uhid-fd:N: a helper opened the node and passed the fd. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	snprintf(spec, sizeof(spec), "uhid-fd:%d", sv[0]);
	assert_int_equal(cable_hid_transport_open(&L->base, spec, key, NULL, on_state, &rec, &t), 0);
	assert_int_equal(kernel_read(sv[1], &ev), (ssize_t)sizeof(ev));
	assert_int_equal(ev.type, UHID_CREATE2);
	assert_int_equal(ev.u.create2.vendor, CABLE_UHID_VENDOR);
	assert_int_equal(ev.u.create2.product, CABLE_UHID_PRODUCT);
	assert_string_equal((const char *)ev.u.create2.name, CABLE_UHID_NAME);
	memset(&ev, 0, sizeof(ev));
	ev.type = UHID_START;
	kernel_write(sv[1], &ev);
	memset(pkt + 1, 0xff, 4);
	pkt[5] = 0x86;
	pkt[7] = 8;
	kernel_output(sv[1], pkt, 65);
	assert_true(fire_fd(L, sv[0]));
	assert_int_equal(kernel_read(sv[1], &ev), 70);
	assert_int_equal(ev.u.input2.data[18], 1);
	/* STOP resets the key: channel 1 is unknown afterwards. */
	memset(&ev, 0, sizeof(ev));
	ev.type = UHID_STOP;
	kernel_write(sv[1], &ev);
	ev.type = UHID_START;
	kernel_write(sv[1], &ev);
	memset(pkt, 0, sizeof(pkt));
	pkt[4] = 1;
	pkt[5] = 0x81;
	kernel_output(sv[1], pkt, 65);
	assert_true(fire_fd(L, sv[0]));
	assert_int_equal(kernel_read(sv[1], &ev), 70);
	assert_int_equal(ev.u.input2.data[4], 0xbf);
	assert_int_equal(ev.u.input2.data[7], 0x0b);
	assert_int_equal(rec.nstates, 3);
	assert_int_equal(rec.states[1], CABLE_HID_STATE_STOPPED);
	cable_hid_transport_free(&t);
	assert_null(t);
	assert_int_equal(kernel_read(sv[1], &ev), 4);
	assert_int_equal(ev.type, UHID_DESTROY);
	close(sv[1]);

	/* socket:PATH */
	assert_non_null(mkdtemp(dir));
	snprintf(spec, sizeof(spec), "socket:%s/k", dir);
	assert_int_equal(cable_hid_transport_open(&L->base, spec, key, NULL, NULL, NULL, &t), 0);
	assert_int_equal(access(spec + 7, F_OK), 0);
	cable_hid_transport_free(&t);
	assert_true(access(spec + 7, F_OK) != 0);
	rmdir(dir);
	cable_hid_key_free(&key);
	free(L);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_descriptor),
		cmocka_unit_test(test_create2_matches_kernel_struct),
		cmocka_unit_test(test_input2_and_replies_match_kernel_struct),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_uhid_adapter_with_fake_kernel),
		cmocka_unit_test(test_uhid_adapter_fd_failure),
		cmocka_unit_test(test_uhid_create_fails),
		cmocka_unit_test(test_socket_transport_and_key_timers),
		cmocka_unit_test(test_socket_backpressure),
		cmocka_unit_test(test_socket_path_checks),
		cmocka_unit_test(test_transport_specs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

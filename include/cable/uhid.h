/* The Linux uhid event protocol as bytes (sans-I/O), the FIDO report descriptor, and the uhid adapter. */
#ifndef CABLE_UHID_H
#define CABLE_UHID_H

#include <stddef.h>
#include <stdint.h>

#include "cable/hid.h"
#include "cable/loop.h"

/*
 * sizeof(struct uhid_event): 4 + the union, whose largest member (CREATE2, 4372 bytes) is padded
 * to the 8-byte alignment of uhid_start_req's u64, so 4380 (not 4376: the test checks the header).
 */
#define CABLE_UHID_EVENT_SIZE 4380
#define CABLE_UHID_DATA_MAX 4096

/* enum uhid_event_type (only the current, non-legacy ones). */
enum cable_uhid_type {
	CABLE_UHID_DESTROY = 1,
	CABLE_UHID_START = 2,
	CABLE_UHID_STOP = 3,
	CABLE_UHID_OPEN = 4,
	CABLE_UHID_CLOSE = 5,
	CABLE_UHID_OUTPUT = 6,
	CABLE_UHID_GET_REPORT = 9,
	CABLE_UHID_GET_REPORT_REPLY = 10,
	CABLE_UHID_CREATE2 = 11,
	CABLE_UHID_INPUT2 = 12,
	CABLE_UHID_SET_REPORT = 13,
	CABLE_UHID_SET_REPORT_REPLY = 14,
};

#define CABLE_UHID_BUS_USB 3

/* The 34-byte FIDO HID report descriptor (usage page 0xF1D0, usage 1, 64-byte in/out reports). */
#define CABLE_UHID_FIDO_DESCRIPTOR_SIZE 34
extern const uint8_t cable_uhid_fido_descriptor[CABLE_UHID_FIDO_DESCRIPTOR_SIZE];

/* Our honest IDs: pid.codes' open vendor ID; the product ID is a placeholder until one is assigned. */
#define CABLE_UHID_VENDOR 0x1209
#define CABLE_UHID_PRODUCT 0x0001
#define CABLE_UHID_NAME "cable-bridge (phone via hybrid)"

struct cable_uhid_info {
	const char *name; /* HID_NAME, at most 127 bytes; NULL = CABLE_UHID_NAME */
	const char *phys; /* at most 63 bytes; may be NULL */
	const char *uniq; /* HID_UNIQ (serial), at most 63 bytes; may be NULL */
	uint16_t bus;     /* 0 = BUS_USB (libfido2 lists only USB devices) */
	uint16_t vendor, product;
	uint32_t version, country;
};

/* A parsed event read from the kernel. data points into the caller's buffer. */
struct cable_uhid_event {
	uint32_t type;
	uint64_t dev_flags;  /* START */
	const uint8_t *data; /* OUTPUT, SET_REPORT */
	size_t size;
	uint8_t rtype;       /* OUTPUT, GET_REPORT, SET_REPORT */
	uint8_t rnum;        /* GET_REPORT, SET_REPORT */
	uint32_t id;         /* GET_REPORT, SET_REPORT */
};

/*
 * Event builders: each writes into ev (at least CABLE_UHID_EVENT_SIZE bytes, zeroed here) and
 * sets *len to the number of bytes to write(2) in one call.
 */
int cable_uhid_build_create2(uint8_t *ev, size_t cap, const struct cable_uhid_info *info,
    const uint8_t *rd, size_t rd_len, size_t *len);
int cable_uhid_build_input2(uint8_t *ev, size_t cap, const uint8_t *data, size_t data_len,
    size_t *len);
int cable_uhid_build_destroy(uint8_t *ev, size_t cap, size_t *len);
int cable_uhid_build_get_report_reply(uint8_t *ev, size_t cap, uint32_t id, uint16_t err,
    size_t *len);
int cable_uhid_build_set_report_reply(uint8_t *ev, size_t cap, uint32_t id, uint16_t err,
    size_t *len);

/*
 * Parses one event as read(2) returned it. CABLE_ERR_LENGTH when the bytes are too short for the
 * event's fields, CABLE_ERR_PARSE for an impossible size; unknown types parse with only .type set.
 */
int cable_uhid_parse(const uint8_t *buf, size_t len, struct cable_uhid_event *ev);

/*
 * The CTAPHID report inside what a client wrote to hidraw: 65 bytes with report ID 0 first (what
 * uhid passes on), or a bare 64-byte report. CABLE_ERR_LENGTH otherwise.
 */
int cable_hid_report_from_write(const uint8_t *buf, size_t len, const uint8_t **report);

/* The uhid adapter (layer 2, src/hid): one virtual FIDO device on an open /dev/uhid fd. */
struct cable_uhid;

/*
 * Writes CREATE2 on fd (an open /dev/uhid, possibly handed over by a privileged helper) and
 * watches fd in loop; every report a client writes reaches cb. fd is made non-blocking. On
 * success the adapter owns fd (cable_uhid_free closes it); on failure the caller still does.
 */
int cable_uhid_new(struct cable_loop *loop, int fd, const struct cable_uhid_info *info,
    cable_hid_report_cb cb, void *arg, struct cable_uhid **out);
/* Optional: START/STOP/OPEN/CLOSE and a fatal fd error are reported to cb. */
void cable_uhid_set_state_cb(struct cable_uhid *u, cable_hid_state_cb cb, void *arg);
/* Sends one 64-byte input report (INPUT2); CABLE_ERR_STATE before the kernel's START. */
int cable_uhid_send(void *uhid, const uint8_t report[CABLE_HID_REPORT_SIZE]);
/*
 * Reads and handles one event, as the loop does when fd is readable (exposed for tests): 0 when
 * one was handled, CABLE_ERR_STATE when none was waiting, CABLE_ERR_IO when fd failed.
 */
int cable_uhid_dispatch(struct cable_uhid *u);
/* Opens are counted from OPEN/CLOSE: how many hidraw users there are now (0 or 1 in practice). */
int cable_uhid_is_open(const struct cable_uhid *u);
int cable_uhid_is_started(const struct cable_uhid *u);
/* Writes DESTROY, stops watching and closes fd; accepts NULL and sets *u to NULL. */
void cable_uhid_free(struct cable_uhid **u);

#endif

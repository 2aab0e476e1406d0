/* uhid events as bytes: builders for what we write, a bounds-checked parser for what the kernel sends. */
#include <string.h>

#include "cable/error.h"
#include "cable/uhid.h"

/* Offsets in the packed struct uhid_event (include/uapi/linux/uhid.h); fields are host-endian. */
#define OFF_CREATE2_NAME 4
#define OFF_CREATE2_PHYS 132
#define OFF_CREATE2_UNIQ 196
#define OFF_CREATE2_RD_SIZE 260
#define OFF_CREATE2_BUS 262
#define OFF_CREATE2_VENDOR 264
#define OFF_CREATE2_PRODUCT 268
#define OFF_CREATE2_VERSION 272
#define OFF_CREATE2_COUNTRY 276
#define OFF_CREATE2_RD_DATA 280
#define OFF_START_FLAGS 4
#define OFF_OUTPUT_DATA 4
#define OFF_OUTPUT_SIZE 4100
#define OFF_OUTPUT_RTYPE 4102
#define OFF_INPUT2_SIZE 4
#define OFF_INPUT2_DATA 6
#define OFF_GETREP_ID 4
#define OFF_GETREP_RNUM 8
#define OFF_GETREP_RTYPE 9
#define OFF_REPLY_ID 4
#define OFF_REPLY_ERR 8
#define OFF_SETREP_ID 4
#define OFF_SETREP_RNUM 8
#define OFF_SETREP_RTYPE 9
#define OFF_SETREP_SIZE 10
#define OFF_SETREP_DATA 12

const uint8_t cable_uhid_fido_descriptor[CABLE_UHID_FIDO_DESCRIPTOR_SIZE] = {
	0x06, 0xd0, 0xf1, /* Usage Page (FIDO Alliance, 0xF1D0) */
	0x09, 0x01,       /* Usage (CTAPHID authenticator device) */
	0xa1, 0x01,       /* Collection (Application) */
	0x09, 0x20,       /*   Usage (input report data) */
	0x15, 0x00,       /*   Logical Minimum (0) */
	0x26, 0xff, 0x00, /*   Logical Maximum (255) */
	0x75, 0x08,       /*   Report Size (8) */
	0x95, 0x40,       /*   Report Count (64) */
	0x81, 0x02,       /*   Input (Data, Variable, Absolute) */
	0x09, 0x21,       /*   Usage (output report data) */
	0x15, 0x00,       /*   Logical Minimum (0) */
	0x26, 0xff, 0x00, /*   Logical Maximum (255) */
	0x75, 0x08,       /*   Report Size (8), restated for python-fido2 */
	0x95, 0x40,       /*   Report Count (64) */
	0x91, 0x02,       /*   Output (Data, Variable, Absolute) */
	0xc0,             /* End Collection */
};

static void
put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void
put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static uint16_t
get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t
get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Copies a NUL-terminated string into a fixed field, refusing what would not fit with its NUL. */
static int
put_str(uint8_t *field, size_t size, const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	if ((n = strlen(s)) >= size)
		return CABLE_ERR_TOO_BIG;
	memcpy(field, s, n);
	return 0;
}

static int
start_event(uint8_t *ev, size_t cap, uint32_t type)
{
	if (ev == NULL || cap < CABLE_UHID_EVENT_SIZE)
		return CABLE_ERR_ARG;
	memset(ev, 0, CABLE_UHID_EVENT_SIZE);
	put32(ev, type);
	return 0;
}

int
cable_uhid_build_create2(uint8_t *ev, size_t cap, const struct cable_uhid_info *info,
    const uint8_t *rd, size_t rd_len, size_t *len)
{
	int r = CABLE_ERR_INTERNAL;

	if (info == NULL || rd == NULL || len == NULL || rd_len == 0 || rd_len > CABLE_UHID_DATA_MAX) {
		r = CABLE_ERR_ARG;
		goto out;
	}
	if ((r = start_event(ev, cap, CABLE_UHID_CREATE2)) != 0)
		goto out;
	if ((r = put_str(ev + OFF_CREATE2_NAME, 128, info->name ? info->name : CABLE_UHID_NAME)) != 0 ||
	    (r = put_str(ev + OFF_CREATE2_PHYS, 64, info->phys)) != 0 ||
	    (r = put_str(ev + OFF_CREATE2_UNIQ, 64, info->uniq)) != 0)
		goto out;
	put16(ev + OFF_CREATE2_RD_SIZE, (uint16_t)rd_len);
	put16(ev + OFF_CREATE2_BUS, info->bus ? info->bus : CABLE_UHID_BUS_USB);
	put32(ev + OFF_CREATE2_VENDOR, info->vendor);
	put32(ev + OFF_CREATE2_PRODUCT, info->product);
	put32(ev + OFF_CREATE2_VERSION, info->version);
	put32(ev + OFF_CREATE2_COUNTRY, info->country);
	memcpy(ev + OFF_CREATE2_RD_DATA, rd, rd_len);
	/* The whole event: the simplest form every kernel takes. */
	*len = CABLE_UHID_EVENT_SIZE;
	r = 0;
out:
	return r;
}

int
cable_uhid_build_input2(uint8_t *ev, size_t cap, const uint8_t *data, size_t data_len, size_t *len)
{
	int r;

	if (data == NULL || len == NULL || data_len == 0 || data_len > CABLE_UHID_DATA_MAX)
		return CABLE_ERR_ARG;
	if ((r = start_event(ev, cap, CABLE_UHID_INPUT2)) != 0)
		return r;
	put16(ev + OFF_INPUT2_SIZE, (uint16_t)data_len);
	memcpy(ev + OFF_INPUT2_DATA, data, data_len);
	/* The kernel copies what we write and zero-fills the rest, so a short event is enough. */
	*len = OFF_INPUT2_DATA + data_len;
	return 0;
}

int
cable_uhid_build_destroy(uint8_t *ev, size_t cap, size_t *len)
{
	int r;

	if (len == NULL)
		return CABLE_ERR_ARG;
	if ((r = start_event(ev, cap, CABLE_UHID_DESTROY)) != 0)
		return r;
	*len = 4;
	return 0;
}

static int
build_reply(uint8_t *ev, size_t cap, uint32_t type, uint32_t id, uint16_t err, size_t want,
    size_t *len)
{
	int r;

	if (len == NULL)
		return CABLE_ERR_ARG;
	if ((r = start_event(ev, cap, type)) != 0)
		return r;
	put32(ev + OFF_REPLY_ID, id);
	put16(ev + OFF_REPLY_ERR, err);
	*len = want;
	return 0;
}

int
cable_uhid_build_get_report_reply(uint8_t *ev, size_t cap, uint32_t id, uint16_t err, size_t *len)
{
	/* id, err, size (0): no data with an error. */
	return build_reply(ev, cap, CABLE_UHID_GET_REPORT_REPLY, id, err, 12, len);
}

int
cable_uhid_build_set_report_reply(uint8_t *ev, size_t cap, uint32_t id, uint16_t err, size_t *len)
{
	return build_reply(ev, cap, CABLE_UHID_SET_REPORT_REPLY, id, err, 10, len);
}

int
cable_uhid_parse(const uint8_t *buf, size_t len, struct cable_uhid_event *out)
{
	struct cable_uhid_event ev;
	int r = CABLE_ERR_INTERNAL;

	if (buf == NULL || out == NULL) {
		r = CABLE_ERR_ARG;
		goto out;
	}
	if (len < 4 || len > CABLE_UHID_EVENT_SIZE) {
		r = CABLE_ERR_LENGTH;
		goto out;
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = get32(buf);
	switch (ev.type) {
	case CABLE_UHID_START:
		if (len < OFF_START_FLAGS + 8) {
			r = CABLE_ERR_LENGTH;
			goto out;
		}
		memcpy(&ev.dev_flags, buf + OFF_START_FLAGS, 8);
		break;
	case CABLE_UHID_OUTPUT:
		if (len < OFF_OUTPUT_RTYPE + 1) {
			r = CABLE_ERR_LENGTH;
			goto out;
		}
		ev.size = get16(buf + OFF_OUTPUT_SIZE);
		if (ev.size > CABLE_UHID_DATA_MAX) {
			r = CABLE_ERR_PARSE;
			goto out;
		}
		ev.data = buf + OFF_OUTPUT_DATA;
		ev.rtype = buf[OFF_OUTPUT_RTYPE];
		break;
	case CABLE_UHID_GET_REPORT:
		if (len < OFF_GETREP_RTYPE + 1) {
			r = CABLE_ERR_LENGTH;
			goto out;
		}
		ev.id = get32(buf + OFF_GETREP_ID);
		ev.rnum = buf[OFF_GETREP_RNUM];
		ev.rtype = buf[OFF_GETREP_RTYPE];
		break;
	case CABLE_UHID_SET_REPORT:
		if (len < OFF_SETREP_DATA) {
			r = CABLE_ERR_LENGTH;
			goto out;
		}
		ev.id = get32(buf + OFF_SETREP_ID);
		ev.rnum = buf[OFF_SETREP_RNUM];
		ev.rtype = buf[OFF_SETREP_RTYPE];
		ev.size = get16(buf + OFF_SETREP_SIZE);
		if (ev.size > CABLE_UHID_DATA_MAX) {
			r = CABLE_ERR_PARSE;
			goto out;
		}
		if (len < OFF_SETREP_DATA + ev.size) {
			r = CABLE_ERR_LENGTH;
			goto out;
		}
		ev.data = buf + OFF_SETREP_DATA;
		break;
	default:
		/* STOP, OPEN, CLOSE carry nothing; anything else is for the caller to ignore. */
		break;
	}
	*out = ev;
	r = 0;
out:
	return r;
}

int
cable_hid_report_from_write(const uint8_t *buf, size_t len, const uint8_t **report)
{
	if (buf == NULL || report == NULL)
		return CABLE_ERR_ARG;
	if (len == CABLE_HID_REPORT_SIZE + 1 && buf[0] == 0) {
		*report = buf + 1;
		return 0;
	}
	if (len == CABLE_HID_REPORT_SIZE) {
		*report = buf;
		return 0;
	}
	return CABLE_ERR_LENGTH;
}

/* Bounded FIFO of WebSocket messages waiting for their writeable callback (client and server). */
#ifndef CABLE_RELAY_QUEUE_H
#define CABLE_RELAY_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

/* One message; buf holds LWS_PRE bytes of headroom before the payload. */
struct cable_relay_msg {
	struct cable_relay_msg *next;
	size_t len; /* payload bytes */
	size_t cap; /* payload capacity */
	uint8_t buf[];
};

struct cable_relay_queue {
	struct cable_relay_msg *head, *tail;
	uint32_t count;
	size_t bytes;
};

/* A message with room for cap payload bytes (len 0); NULL on OOM. */
struct cable_relay_msg *cable_relay_msg_new(size_t cap);
/* Appends data, growing the buffer; CABLE_ERR_TOO_BIG beyond max total payload. */
int cable_relay_msg_append(struct cable_relay_msg **m, const void *data, size_t len, size_t max);
static inline uint8_t *
cable_relay_msg_payload(struct cable_relay_msg *m)
{
	return m->buf + LWS_PRE;
}
void cable_relay_msg_free(struct cable_relay_msg **m);

/*
 * Takes ownership of m on success. CABLE_ERR_TOO_BIG (m untouched, still the caller's) if the
 * queue would then hold more than max_count messages or max_bytes payload bytes.
 */
int cable_relay_queue_push(struct cable_relay_queue *q, struct cable_relay_msg *m, uint32_t max_count,
    size_t max_bytes);
/* Oldest message, now the caller's; NULL if empty. */
struct cable_relay_msg *cable_relay_queue_pop(struct cable_relay_queue *q);
/* Frees every message. */
void cable_relay_queue_clear(struct cable_relay_queue *q);

#endif

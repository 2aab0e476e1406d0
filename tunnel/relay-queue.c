/* Bounded FIFO of WebSocket messages waiting for their writeable callback (client and server). */
#include <stdlib.h>
#include <string.h>

#include "cable/error.h"
#include "relay-queue.h"

struct cable_relay_msg *
cable_relay_msg_new(size_t cap)
{
	struct cable_relay_msg *m;

	if (cap > SIZE_MAX - sizeof(*m) - LWS_PRE)
		return NULL;
	if ((m = malloc(sizeof(*m) + LWS_PRE + cap)) == NULL)
		return NULL;
	m->next = NULL;
	m->len = 0;
	m->cap = cap;
	return m;
}

int
cable_relay_msg_append(struct cable_relay_msg **pm, const void *data, size_t len, size_t max)
{
	struct cable_relay_msg *m = *pm, *n;
	size_t cap;

	if (len > max || m->len > max - len)
		return CABLE_ERR_TOO_BIG;
	if (m->len + len > m->cap) {
		/* Grow geometrically, but never past the cap the caller enforces. */
		cap = m->cap * 2 > m->len + len ? m->cap * 2 : m->len + len;
		if (cap > max)
			cap = max;
		if ((n = realloc(m, sizeof(*m) + LWS_PRE + cap)) == NULL)
			return CABLE_ERR_NOMEM;
		n->cap = cap;
		*pm = m = n;
	}
	if (len)
		memcpy(m->buf + LWS_PRE + m->len, data, len);
	m->len += len;
	return 0;
}

void
cable_relay_msg_free(struct cable_relay_msg **pm)
{
	if (pm == NULL || *pm == NULL)
		return;
	free(*pm);
	*pm = NULL;
}

int
cable_relay_queue_push(struct cable_relay_queue *q, struct cable_relay_msg *m, uint32_t max_count,
    size_t max_bytes)
{
	if (q->count >= max_count || m->len > max_bytes || q->bytes > max_bytes - m->len)
		return CABLE_ERR_TOO_BIG;
	m->next = NULL;
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->count++;
	q->bytes += m->len;
	return 0;
}

struct cable_relay_msg *
cable_relay_queue_pop(struct cable_relay_queue *q)
{
	struct cable_relay_msg *m = q->head;

	if (m == NULL)
		return NULL;
	q->head = m->next;
	if (q->head == NULL)
		q->tail = NULL;
	q->count--;
	q->bytes -= m->len;
	m->next = NULL;
	return m;
}

void
cable_relay_queue_clear(struct cable_relay_queue *q)
{
	struct cable_relay_msg *m;

	while ((m = cable_relay_queue_pop(q)) != NULL)
		free(m);
}

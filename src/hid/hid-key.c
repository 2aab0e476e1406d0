/* The virtual key's plumbing: reports from a transport into the CTAPHID machine, its output back, its timer. */
#include <stdlib.h>

#include "cable/error.h"
#include "cable/hid.h"

struct cable_hid_key {
	struct cable_loop *loop;
	struct cable_ctaphid *h;
	cable_hid_send_fn send;
	void *transport;
	struct cable_loop_timer *timer;
	uint64_t timer_at;
};

static void flush(struct cable_hid_key *k);

static void
on_timer(void *arg)
{
	struct cable_hid_key *k = arg;

	k->loop->ops->timer_del(&k->timer);
	cable_ctaphid_tick(k->h, k->loop->ops->now_usec(k->loop));
	flush(k);
}

/* Sends everything queued, then keeps exactly one timer armed for the machine's next deadline. */
static void
flush(struct cable_hid_key *k)
{
	uint8_t rep[CABLE_HID_REPORT_SIZE];
	uint64_t when, now;

	/* Without a transport the reports are dropped; the machine must not fill up meanwhile. */
	while (cable_ctaphid_pop(k->h, rep) == 1)
		if (k->send != NULL)
			(void)k->send(k->transport, rep);
	if (!cable_ctaphid_deadline(k->h, &when)) {
		k->loop->ops->timer_del(&k->timer);
		return;
	}
	if (k->timer != NULL && k->timer_at == when)
		return;
	k->loop->ops->timer_del(&k->timer);
	now = k->loop->ops->now_usec(k->loop);
	if (k->loop->ops->timer_add(k->loop, when > now ? when - now : 0, on_timer, k, &k->timer) == 0)
		k->timer_at = when;
}

struct cable_hid_key *
cable_hid_key_new(struct cable_loop *loop, const struct cable_ctaphid_config *cfg)
{
	struct cable_hid_key *k;

	if (loop == NULL || cfg == NULL || (k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	k->loop = loop;
	if ((k->h = cable_ctaphid_new(cfg)) == NULL) {
		free(k);
		return NULL;
	}
	return k;
}

void
cable_hid_key_attach(struct cable_hid_key *k, cable_hid_send_fn send, void *transport)
{
	k->send = send;
	k->transport = transport;
}

void
cable_hid_key_input(void *key, const uint8_t report[CABLE_HID_REPORT_SIZE])
{
	struct cable_hid_key *k = key;

	if (cable_ctaphid_feed(k->h, k->loop->ops->now_usec(k->loop), report, CABLE_HID_REPORT_SIZE) == 0)
		flush(k);
}

int
cable_hid_key_respond(struct cable_hid_key *k, uint64_t request, const uint8_t *data, size_t len)
{
	int r;

	if (k == NULL)
		return CABLE_ERR_ARG;
	if ((r = cable_ctaphid_respond(k->h, request, data, len)) == 0)
		flush(k);
	return r;
}

int
cable_hid_key_set_status(struct cable_hid_key *k, uint64_t request, uint8_t status)
{
	int r;

	if (k == NULL)
		return CABLE_ERR_ARG;
	if ((r = cable_ctaphid_set_status(k->h, k->loop->ops->now_usec(k->loop), request, status)) == 0)
		flush(k);
	return r;
}

void
cable_hid_key_reset(struct cable_hid_key *k)
{
	if (k == NULL)
		return;
	cable_ctaphid_reset(k->h);
	flush(k);
}

struct cable_ctaphid *
cable_hid_key_ctaphid(struct cable_hid_key *k)
{
	return k != NULL ? k->h : NULL;
}

void
cable_hid_key_free(struct cable_hid_key **kp)
{
	struct cable_hid_key *k;

	if (kp == NULL || (k = *kp) == NULL)
		return;
	k->loop->ops->timer_del(&k->timer);
	cable_ctaphid_free(&k->h);
	free(k);
	*kp = NULL;
}

/* Load generator for caBLE tunnel servers: plays phone and desktop, measures setups, RTT and RSS. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define RBUF 1024
#define MAX_MSG 4096

enum cstate { C_CONNECTING, C_HANDSHAKE, C_OPEN, C_DONE };
enum role { PHONE = 0, DESK = 1 };

struct tun;

struct conn {
	int fd;
	enum cstate st;
	enum role role;
	struct tun *t;
	size_t rlen;
	uint8_t rbuf[RBUF];
};

struct tun {
	struct conn c[2];
	uint8_t tid[16];
	char rid[7];
	int echoed;   /* messages the phone sent back */
	int received; /* echoes the desktop got */
	uint64_t t0, t_send;
	bool busy;
	bool up; /* both sides have their 101 */
};

struct opts {
	char host[64];
	int port;
	int tunnels;     /* total to run (cycle mode) */
	int concurrency; /* in flight at once */
	double rate;     /* setups per second to start; 0 = as fast as possible */
	int messages;    /* each way per tunnel */
	int size;        /* bytes per message */
	int hold;        /* hold mode: open this many and keep them idle */
	int hold_secs;
	int sources;     /* 127.0.0.2 .. */
	int server_pid;
	int duration;    /* seconds cap */
};

static struct opts O = {"127.0.0.1", 8080, 20000, 256, 0, 1, 32, 0, 3, 16, 0, 60};
static int ep;
static struct tun *tuns;
static int nslots;
static int *free_slots, nfree;
static uint32_t *rtts;
static size_t nrtt, caprtt;
static uint64_t started, setups, completed, failed, next_src;
static int setting_up; /* tunnels started and not yet up or failed */
static uint64_t fail_reason[8];

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static long
rss_kib(int pid)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* CPU seconds (user + system) a process has used; the machine may be shared, so capacity is
 * reported per CPU-second as well as per wall-clock second. */
static double
cpu_secs(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	long hz = sysconf(_SC_CLK_TCK);

	return (double)(ut + st) / (double)hz;
}

static void
hex(const uint8_t *in, size_t n, char *out)
{
	static const char d[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
conn_close(struct conn *c)
{
	struct linger lg = {1, 0};

	if (c->fd >= 0) {
		/* Abortive close: no TIME_WAIT piles up on the generator's side. */
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	c->st = C_DONE;
}

static void
tun_end(struct tun *t, bool ok, int reason)
{
	conn_close(&t->c[0]);
	conn_close(&t->c[1]);
	if (!t->busy)
		return;
	t->busy = false;
	if (!t->up)
		setting_up--;
	if (ok)
		completed++;
	else {
		failed++;
		fail_reason[reason & 7]++;
	}
	free_slots[nfree++] = (int)(t - tuns);
}

static int
conn_start(struct tun *t, enum role role)
{
	struct conn *c = &t->c[role];
	struct sockaddr_in src = {0}, dst = {0};
	struct epoll_event ev;
	int one = 1;

	c->t = t;
	c->role = role;
	c->rlen = 0;
	c->st = C_CONNECTING;
	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Spread over 127.0.0.2.. so that ephemeral ports never run out. */
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(next_src++ % (uint64_t)O.sources));
	setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) != 0)
		return -1;
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)O.port);
	inet_pton(AF_INET, O.host, &dst.sin_addr);
	if (connect(c->fd, (struct sockaddr *)&dst, sizeof(dst)) != 0 && errno != EINPROGRESS)
		return -1;
	ev.events = EPOLLOUT;
	ev.data.ptr = c;
	return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void
tun_start(void)
{
	struct tun *t;
	int slot;

	if (nfree == 0)
		return;
	slot = free_slots[--nfree];
	t = &tuns[slot];
	memset(t, 0, sizeof(*t));
	t->c[0].fd = t->c[1].fd = -1;
	t->busy = true;
	for (int i = 0; i < 16; i++)
		t->tid[i] = (uint8_t)rand();
	t->t0 = now_us();
	started++;
	setting_up++;
	if (conn_start(t, PHONE) != 0)
		tun_end(t, false, 1);
}

static int
send_all(int fd, const void *p, size_t n)
{
	return send(fd, p, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

static int
send_request(struct conn *c)
{
	char req[512], tid[33];
	int n;

	hex(c->t->tid, 16, tid);
	if (c->role == PHONE)
		n = snprintf(req, sizeof(req), "GET /cable/new/%s HTTP/1.1\r\n", tid);
	else
		n = snprintf(req, sizeof(req), "GET /cable/connect/%s/%s HTTP/1.1\r\n", c->t->rid, tid);
	/* A fixed key: the generator trusts the server's accept value; it measures, not validates. */
	n += snprintf(req + n, sizeof(req) - (size_t)n,
	    "Host: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Protocol: fido.cable\r\nOrigin: ws://%s:%d\r\n\r\n",
	    O.host, O.port, O.host, O.port);
	return send_all(c->fd, req, (size_t)n);
}

static int
send_msg(struct conn *c, const uint8_t *p, size_t n)
{
	uint8_t f[MAX_MSG + 14];
	size_t h = 2;

	f[0] = 0x82;
	if (n < 126) {
		f[1] = (uint8_t)(0x80 | n);
	} else {
		f[1] = 0x80 | 126;
		f[2] = (uint8_t)(n >> 8);
		f[3] = (uint8_t)n;
		h = 4;
	}
	/* Mask of zeros: valid, and the payload goes out as is. */
	memset(f + h, 0, 4);
	memcpy(f + h + 4, p, n);
	return send_all(c->fd, f, h + 4 + n);
}

static void
desk_send_next(struct tun *t)
{
	uint8_t m[MAX_MSG];

	memset(m, 0xa5, (size_t)O.size);
	t->t_send = now_us();
	if (send_msg(&t->c[DESK], m, (size_t)O.size) != 0)
		tun_end(t, false, 2);
}

static void
record_rtt(uint64_t us)
{
	if (nrtt == caprtt) {
		size_t nc = caprtt ? caprtt * 2 : 65536;
		uint32_t *n = realloc(rtts, nc * sizeof(*n));

		if (n == NULL)
			return;
		rtts = n;
		caprtt = nc;
	}
	rtts[nrtt++] = (uint32_t)(us > UINT32_MAX ? UINT32_MAX : us);
}

/* Handles whole frames in c->rbuf; returns -1 on a failure. */
static int
on_frames(struct conn *c)
{
	struct tun *t = c->t;
	size_t off = 0;

	while (c->rlen - off >= 2) {
		uint8_t *p = c->rbuf + off;
		size_t len = p[1] & 0x7f, h = 2;

		if (len == 126) {
			if (c->rlen - off < 4)
				break;
			len = (size_t)p[2] << 8 | p[3];
			h = 4;
		} else if (len == 127) {
			return -1;
		}
		if (c->rlen - off < h + len)
			break;
		if ((p[0] & 0x0f) == 8)
			return -1; /* closed by the server */
		if ((p[0] & 0x0f) == 2) {
			if (c->role == PHONE) {
				if (send_msg(c, p + h, len) != 0)
					return -1;
				t->echoed++;
			} else {
				record_rtt(now_us() - t->t_send);
				t->received++;
				if (O.hold == 0) {
					if (t->received >= O.messages) {
						tun_end(t, true, 0);
						return 1;
					}
					desk_send_next(t);
				}
			}
		}
		off += h + len;
	}
	memmove(c->rbuf, c->rbuf + off, c->rlen - off);
	c->rlen -= off;
	return 0;
}

static void
on_event(struct conn *c, uint32_t events)
{
	struct tun *t = c->t;
	struct epoll_event ev;
	ssize_t n;
	char *e;
	int err = 0;
	socklen_t el = sizeof(err);

	if (c->st == C_CONNECTING) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0 ||
		    send_request(c) != 0) {
			tun_end(t, false, 3);
			return;
		}
		c->st = C_HANDSHAKE;
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		return;
	}
	n = recv(c->fd, c->rbuf + c->rlen, RBUF - c->rlen - 1, 0);
	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		tun_end(t, false, 4);
		return;
	}
	c->rlen += (size_t)n;
	if (c->st == C_HANDSHAKE) {
		c->rbuf[c->rlen] = '\0';
		if ((e = strstr((char *)c->rbuf, "\r\n\r\n")) == NULL)
			return;
		if (strncmp((char *)c->rbuf, "HTTP/1.1 101", 12) != 0) {
			tun_end(t, false, 5);
			return;
		}
		if (c->role == PHONE) {
			char *r = strcasestr((char *)c->rbuf, "\r\nX-caBLE-Routing-ID: ");

			if (r == NULL) {
				tun_end(t, false, 6);
				return;
			}
			memcpy(t->rid, r + 22, 6);
			t->rid[6] = '\0';
		}
		c->st = C_OPEN;
		size_t used = (size_t)(e + 4 - (char *)c->rbuf);
		memmove(c->rbuf, c->rbuf + used, c->rlen - used);
		c->rlen -= used;
		if (c->role == PHONE) {
			if (conn_start(t, DESK) != 0)
				tun_end(t, false, 1);
			return;
		}
		setups++;
		t->up = true;
		setting_up--;
		if (O.hold == 0)
			desk_send_next(t);
		return;
	}
	if (on_frames(c) < 0)
		tun_end(t, false, 7);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: cable-tunnel-bench --url ws://127.0.0.1:PORT [options]\n"
	    "  --tunnels N       tunnels to run in cycle mode [20000]\n"
	    "  --concurrency N   tunnels in flight at once [256]\n"
	    "  --rate R          setups started per second, 0 = as fast as possible [0]\n"
	    "  --messages K      messages each way per tunnel [1]\n"
	    "  --size BYTES      bytes per message [32]\n"
	    "  --hold N          hold mode: open N tunnels, keep them idle, report RSS per tunnel\n"
	    "  --hold-secs S     how long to hold before measuring [3]\n"
	    "  --sources S       source addresses 127.0.0.2.. [16]\n"
	    "  --server-pid PID  server process for RSS\n"
	    "  --duration S      give up after S seconds [60]\n");
}

/* want_open > 0: open that many and stop; 0: cycle mode; < 0: start nothing, just serve. */
static void
run_loop(uint64_t until_us, int want_open)
{
	struct epoll_event evs[256];
	uint64_t t_start = now_us();

	for (;;) {
		uint64_t now = now_us();
		int inflight = nslots - nfree;

		if (now >= until_us)
			break;
		if (want_open > 0) {
			if ((int)setups >= want_open || (setups + failed >= (uint64_t)want_open))
				break;
			/* Hold: concurrency bounds the tunnels being set up, not the ones held open. */
			while (setting_up < O.concurrency && (int)(started - failed) < want_open &&
			    nfree > 0)
				tun_start();
		} else if (want_open == 0) {
			if (completed + failed >= (uint64_t)O.tunnels)
				break;
			uint64_t due = O.rate > 0 ? (uint64_t)((double)(now - t_start) * O.rate / 1e6) + 1 :
			    UINT64_MAX;
			while (started < due && started < (uint64_t)O.tunnels &&
			    inflight < O.concurrency && nfree > 0) {
				tun_start();
				inflight++;
			}
		}
		int n = epoll_wait(ep, evs, 256, O.rate > 0 ? 1 : 10);

		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c->st != C_DONE && c->fd >= 0)
				on_event(c, evs[i].events);
		}
	}
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"url", required_argument, NULL, 'u'}, {"tunnels", required_argument, NULL, 'n'},
		{"concurrency", required_argument, NULL, 'c'}, {"rate", required_argument, NULL, 'r'},
		{"messages", required_argument, NULL, 'k'}, {"size", required_argument, NULL, 's'},
		{"hold", required_argument, NULL, 'H'}, {"hold-secs", required_argument, NULL, 'S'},
		{"sources", required_argument, NULL, 'a'}, {"server-pid", required_argument, NULL, 'p'},
		{"duration", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct rlimit rl;
	uint64_t t0, t1;
	long rss0 = -1, rss1 = -1;
	int opt;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'u':
			if (sscanf(optarg, "ws://%63[0-9.]:%d", O.host, &O.port) != 2) {
				fprintf(stderr, "only ws://IPV4:PORT URLs\n");
				return 2;
			}
			break;
		case 'n': O.tunnels = atoi(optarg); break;
		case 'c': O.concurrency = atoi(optarg); break;
		case 'r': O.rate = atof(optarg); break;
		case 'k': O.messages = atoi(optarg); break;
		case 's': O.size = atoi(optarg); break;
		case 'H': O.hold = atoi(optarg); break;
		case 'S': O.hold_secs = atoi(optarg); break;
		case 'a': O.sources = atoi(optarg); break;
		case 'p': O.server_pid = atoi(optarg); break;
		case 'd': O.duration = atoi(optarg); break;
		default: usage(); return 2;
		}
	}
	if (O.size < 1 || O.size > MAX_MSG || O.messages < 0 || O.sources < 1 || O.sources > 250) {
		usage();
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	srand((unsigned)now_us());
	nslots = O.hold ? O.hold : O.concurrency;
	if (O.hold)
		O.concurrency = O.concurrency < O.hold ? O.concurrency : O.hold;
	tuns = calloc((size_t)nslots, sizeof(*tuns));
	free_slots = calloc((size_t)nslots, sizeof(int));
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0 || tuns == NULL || free_slots == NULL)
		return 1;
	for (int i = nslots - 1; i >= 0; i--)
		free_slots[nfree++] = i;
	double cpu0 = O.server_pid ? cpu_secs(O.server_pid) : 0, self0 = cpu_secs(getpid());

	if (O.server_pid)
		rss0 = rss_kib(O.server_pid);
	t0 = now_us();
	if (O.hold) {
		run_loop(t0 + (uint64_t)O.duration * 1000000u, O.hold);
		t1 = now_us();
		printf("hold: %llu tunnels open (%llu failed) in %.2f s\n", (unsigned long long)setups,
		    (unsigned long long)failed, (double)(t1 - t0) / 1e6);
		/* Idle: nobody sends; the server's memory settles. */
		run_loop(now_us() + (uint64_t)O.hold_secs * 1000000u, -1);
		if (O.server_pid) {
			rss1 = rss_kib(O.server_pid);
			printf("server RSS: %ld KiB before, %ld KiB with %llu idle tunnels open: %.0f bytes "
			    "per tunnel\n", rss0, rss1, (unsigned long long)setups,
			    setups ? (double)(rss1 - rss0) * 1024.0 / (double)setups : 0.0);
		}
		/* One message through every tenth tunnel proves they are live, not just counted. */
		int live = 0;
		for (int i = 0; i < nslots; i += 10) {
			if (tuns[i].busy && tuns[i].c[DESK].st == C_OPEN) {
				desk_send_next(&tuns[i]);
				live++;
			}
		}
		uint64_t before = nrtt;
		run_loop(now_us() + 3000000u, -1);
		printf("hold: %llu of %d sampled tunnels relayed a message after idling\n",
		    (unsigned long long)(nrtt - before), live);
	} else {
		run_loop(t0 + (uint64_t)O.duration * 1000000u, 0);
		t1 = now_us();
		double secs = (double)(t1 - t0) / 1e6;

		printf("cycle: %llu tunnels complete, %llu failed, in %.2f s: %.0f setups/s "
		    "(new -> routing ID -> connect -> %d message(s) each way -> close)\n",
		    (unsigned long long)completed, (unsigned long long)failed, secs,
		    (double)setups / secs, O.messages);
		if (O.server_pid) {
			double cpu = cpu_secs(O.server_pid) - cpu0;

			printf("server CPU: %.2f s for %llu setups: %.0f setups per server CPU-second "
			    "(%.1f us each)\n", cpu, (unsigned long long)setups,
			    cpu > 0 ? (double)setups / cpu : 0.0, setups ? cpu * 1e6 / (double)setups : 0.0);
		}
		printf("generator CPU: %.2f s; wall %.2f s\n", cpu_secs(getpid()) - self0, secs);
		if (failed)
			printf("failures by stage: connect %llu, send %llu, tcp %llu, recv %llu, "
			    "http %llu, routing %llu, frames %llu\n",
			    (unsigned long long)fail_reason[1], (unsigned long long)fail_reason[2],
			    (unsigned long long)fail_reason[3], (unsigned long long)fail_reason[4],
			    (unsigned long long)fail_reason[5], (unsigned long long)fail_reason[6],
			    (unsigned long long)fail_reason[7]);
	}
	if (nrtt > 0) {
		qsort(rtts, nrtt, sizeof(*rtts), cmp_u32);
		printf("relay round trip (desktop -> server -> phone -> server -> desktop), %zu samples: "
		    "p50 %u us, p99 %u us, max %u us\n", nrtt, rtts[nrtt / 2],
		    rtts[(size_t)((double)nrtt * 0.99)], rtts[nrtt - 1]);
	}
	for (int i = 0; i < nslots; i++)
		tun_end(&tuns[i], true, 0);
	free(tuns);
	free(free_slots);
	free(rtts);
	close(ep);
	return failed ? 1 : 0;
}

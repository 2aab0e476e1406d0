/*
 * Test helper: a hostile client for cable-tunneld (test-abuse-tunneld.sh), raw sockets, fast.
 * Attackers bind to source addresses in 127.1.0.0/16 so the per-source limit does not hide the
 * server's own behaviour; the well-behaved probe uses its own address.
 *
 *   tunnel-abuse --port P [--src A.B.C.D] MODE ARGS
 *   slowloris N SECONDS   N connections that send a request head one byte at a time, never finish
 *   churn N               N connect/disconnect cycles (plain close, half request, upgrade then RST)
 *   badreq                malformed requests; prints the status line (or "closed") for each
 *   frames                text, oversized, unmasked, reserved-opcode and bogus-length frames
 *   flood N               one tunnel whose new side sends N messages while the other never reads
 *   pingflood N           N pings on a tunnel, never reading the pongs
 *   probe SECONDS MS      a well-behaved tunnel (new, connect, one message each way) every MS ms;
 *                         prints "probe ok=K fail=F p50_ms= p99_ms= max_ms="
 * Every wait is bounded; exit 0 unless the helper itself could not run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;
static const char *probe_src = "127.0.0.1";
static uint32_t attack_next;

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Next attacker source: 127.1.x.y, y in 1..250. */
static void
next_attack_src(char *buf, size_t len)
{
	uint32_t n = attack_next++;

	snprintf(buf, len, "127.1.%u.%u", (n / 250) % 250, n % 250 + 1);
}

static int
connect_from(const char *src, bool nonblock)
{
	struct sockaddr_in a = {.sin_family = AF_INET}, s = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);

	if (fd < 0)
		return -1;
	inet_pton(AF_INET, src, &s.sin_addr);
	a.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (bind(fd, (struct sockaddr *)&s, sizeof(s)) != 0 ||
	    (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
wait_fd(int fd, short ev, int ms)
{
	struct pollfd p = {.fd = fd, .events = ev};

	return poll(&p, 1, ms) == 1 ? 0 : -1;
}

static int
send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n;
		if (wait_fd(fd, POLLOUT, 5000) != 0)
			return -1;
		if ((n = send(fd, p, len, MSG_NOSIGNAL)) <= 0) {
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
recv_some(int fd, void *buf, size_t len, int ms)
{
	ssize_t n;

	if (wait_fd(fd, POLLIN, ms) != 0)
		return -1;
	n = recv(fd, buf, len, 0);
	return n <= 0 ? -1 : (int)n;
}

/* Reads the HTTP answer head (up to the blank line) into buf; returns the status or -1. */
static int
read_head(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got + 1 < len) {
		int n;
		if (wait_fd(fd, POLLIN, 5000) != 0)
			return -1;
		/* One byte at a time so that no frame after the head is swallowed. */
		n = (int)recv(fd, buf + got, 1, 0);
		if (n <= 0)
			return -1;
		got += (size_t)n;
		buf[got] = '\0';
		if (got >= 4 && memcmp(buf + got - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	if (strncmp(buf, "HTTP/1.1 ", 9) != 0 && strncmp(buf, "HTTP/1.0 ", 9) != 0)
		return -1;
	return atoi(buf + 9);
}

static void
random_hex(char *out, size_t bytes)
{
	static const char hex[] = "0123456789ABCDEF";
	uint8_t b[64];

	if (getentropy(b, bytes) != 0)
		abort();
	for (size_t i = 0; i < bytes; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * bytes] = '\0';
}

/* WebSocket upgrade for path; returns the fd (101 answered) or -1; routing ID copied out. */
static int
ws_open(const char *src, const char *path, char rid[7], int *status)
{
	char req[1024], head[4096];
	int fd, st;

	if ((fd = connect_from(src, false)) < 0)
		return -1;
	snprintf(req, sizeof(req),
	    "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Protocol: fido.cable\r\nOrigin: wss://127.0.0.1\r\n\r\n",
	    path, port);
	if (send_all(fd, req, strlen(req)) != 0 || (st = read_head(fd, head, sizeof(head))) < 0) {
		close(fd);
		return -1;
	}
	if (status != NULL)
		*status = st;
	if (st != 101) {
		close(fd);
		return -1;
	}
	if (rid != NULL) {
		char *h = strcasestr(head, "\r\nx-cable-routing-id: ");
		rid[0] = '\0';
		if (h != NULL) {
			memcpy(rid, h + 22, 6);
			rid[6] = '\0';
		}
	}
	return fd;
}

/* One client frame: masked unless mask is false; len_field overrides the declared length. */
static int
ws_send(int fd, uint8_t b0, const uint8_t *p, size_t n, bool mask, int64_t len_field)
{
	uint8_t hdr[14], *buf;
	size_t h = 0;
	uint64_t decl = len_field >= 0 ? (uint64_t)len_field : n;
	const uint8_t key[4] = {0x11, 0x22, 0x33, 0x44};
	int r;

	hdr[h++] = b0;
	if (decl < 126) {
		hdr[h++] = (uint8_t)((mask ? 0x80 : 0) | decl);
	} else if (decl < 65536) {
		hdr[h++] = (uint8_t)((mask ? 0x80 : 0) | 126);
		hdr[h++] = (uint8_t)(decl >> 8);
		hdr[h++] = (uint8_t)decl;
	} else {
		hdr[h++] = (uint8_t)((mask ? 0x80 : 0) | 127);
		for (int i = 7; i >= 0; i--)
			hdr[h++] = (uint8_t)(decl >> (8 * i));
	}
	if (mask) {
		memcpy(hdr + h, key, 4);
		h += 4;
	}
	if ((buf = malloc(h + n)) == NULL)
		return -1;
	memcpy(buf, hdr, h);
	for (size_t i = 0; i < n; i++)
		buf[h + i] = mask ? p[i] ^ key[i % 4] : p[i];
	r = send_all(fd, buf, h + n);
	free(buf);
	return r;
}

/* Reads one server frame; returns the opcode, payload into p (up to cap), -1 on EOF/timeout. */
static int
ws_recv(int fd, uint8_t *p, size_t cap, size_t *n, int ms)
{
	uint8_t h[10];
	uint64_t len;
	size_t got = 0;

	for (size_t need = 2; got < need;) {
		int k = recv_some(fd, h + got, need - got, ms);
		if (k < 0)
			return -1;
		got += (size_t)k;
		if (got == 2) {
			len = h[1] & 0x7f;
			need = len == 126 ? 4 : len == 127 ? 10 : 2;
		}
	}
	len = h[1] & 0x7f;
	if (len == 126)
		len = (uint64_t)h[2] << 8 | h[3];
	else if (len == 127)
		for (int i = 0; i < 8; i++)
			len = (i == 0 ? 0 : len << 8) | h[2 + i];
	if (len > cap)
		return -1;
	for (got = 0; got < len;) {
		int k = recv_some(fd, p + got, (size_t)len - got, ms);
		if (k < 0)
			return -1;
		got += (size_t)k;
	}
	*n = (size_t)len;
	return h[0] & 0x0f;
}

/* Waits for the server to close: returns the close code (or 0 for a bare close, -1 if none). */
static int
ws_close_code(int fd, int ms)
{
	uint8_t p[256];
	size_t n;
	int op;
	double end = now_ms() + ms;

	while (now_ms() < end) {
		op = ws_recv(fd, p, sizeof(p), &n, (int)(end - now_ms()) + 1);
		if (op < 0)
			return 0;
		if (op == 8)
			return n >= 2 ? p[0] << 8 | p[1] : 0;
	}
	return -1;
}

static void
set_rst(int fd)
{
	struct linger l = {1, 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

/* A new/connect pair on a fresh tunnel ID; fds out, 0 on success. */
static int
tunnel_pair(const char *src, int *fd_new, int *fd_conn)
{
	char tid[33], path[128], rid[7];

	random_hex(tid, 16);
	snprintf(path, sizeof(path), "/cable/new/%s", tid);
	if ((*fd_new = ws_open(src, path, rid, NULL)) < 0)
		return -1;
	snprintf(path, sizeof(path), "/cable/connect/%s/%s", rid, tid);
	if ((*fd_conn = ws_open(src, path, NULL, NULL)) < 0) {
		close(*fd_new);
		return -1;
	}
	return 0;
}

static int
mode_slowloris(int n, int secs)
{
	static const char head[] = "GET /cable/new/00112233445566778899AABBCCDDEEFF HTTP/1.1\r\n"
				   "Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
				   "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	int *fds = calloc((size_t)n, sizeof(int));
	size_t *pos = calloc((size_t)n, sizeof(size_t));
	int opened = 0, closed = 0;
	double end;

	if (fds == NULL || pos == NULL)
		return 1;
	for (int i = 0; i < n; i++) {
		char src[32];
		next_attack_src(src, sizeof(src));
		fds[i] = connect_from(src, true);
		opened += fds[i] >= 0;
	}
	end = now_ms() + secs * 1000.0;
	while (now_ms() < end) {
		for (int i = 0; i < n; i++) {
			char c;
			if (fds[i] < 0)
				continue;
			/* The server gave up on us: count it and stop. */
			if (recv(fds[i], &c, 1, MSG_DONTWAIT) == 0 ||
			    (pos[i] < sizeof(head) - 1 && send(fds[i], head + pos[i], 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
				errno != EAGAIN && errno != ENOTCONN)) {
				close(fds[i]);
				fds[i] = -1;
				closed++;
				continue;
			}
			if (pos[i] < sizeof(head) - 1)
				pos[i]++;
		}
		usleep(500000);
	}
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	printf("slowloris opened=%d closed_by_server=%d\n", opened, closed);
	free(fds);
	free(pos);
	return 0;
}

static int
mode_churn(int n)
{
	int ok = 0, failed = 0;
	char tid[33], path[128];

	for (int i = 0; i < n; i++) {
		char src[32];
		int fd;
		next_attack_src(src, sizeof(src));
		switch (i % 4) {
		case 0: /* connect, close */
		case 1: /* connect, half a request, RST */
			if ((fd = connect_from(src, false)) < 0) {
				failed++;
				continue;
			}
			if (i % 4 == 1) {
				send_all(fd, "GET /cable/new/00", 17);
				set_rst(fd);
			}
			close(fd);
			ok++;
			break;
		case 2: /* a full upgrade, then RST */
		case 3: /* a full upgrade, a message, then a clean FIN */
			random_hex(tid, 16);
			snprintf(path, sizeof(path), "/cable/new/%s", tid);
			if ((fd = ws_open(src, path, NULL, NULL)) < 0) {
				failed++;
				continue;
			}
			if (i % 4 == 2)
				set_rst(fd);
			else
				ws_send(fd, 0x82, (const uint8_t *)"hi", 2, true, -1);
			close(fd);
			ok++;
			break;
		}
	}
	printf("churn cycles=%d failed=%d\n", ok, failed);
	return 0;
}

static int
mode_badreq(void)
{
	static const char *reqs[] = {
	    ("GET /cable/new/zz HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Protocol: fido.cable\r\n\r\n"),
	    ("GET /cable/new/00112233445566778899AABBCCDDEEFF/../x HTTP/1.1\r\nHost: x\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: fido.cable\r\n\r\n"),
	    ("GET /cable/new/%30%30112233445566778899AABBCCDDEEFF HTTP/1.1\r\nHost: x\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: fido.cable\r\n\r\n"),
	    ("GET /cable/new/00112233445566778899AABBCCDDEEFF HTTP/1.1\r\nHost: x\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: fido.cable, fido.cable, "
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n\r\n"),
	    ("GET /cable/new/00112233445566778899AABBCCDDEEFF HTTP/1.1\r\nHost: x\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 99\r\n"
	    "Sec-WebSocket-Protocol: fido.cable\r\n\r\n"),
	    ("POST /cable/new/00112233445566778899AABBCCDDEEFF HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 99999999999999999999\r\n\r\nxx"),
	    "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
	    "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not really TLS\r\n\r\n",
	    "GET /metrics HTTP/1.1\r\nHost: x\r\nHost: y\r\nHost: z\r\n\r\n",
	    "GET /cable/connect/0/0 HTTP/9.9\r\n\r\n",
	    "\r\n\r\n\r\n\r\n",
	    "GET /healthz HTTP/1.1\r\n" /* then the header never ends: the server's timeout */,
	};
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		char src[32], head[4096];
		int fd, st;
		next_attack_src(src, sizeof(src));
		if ((fd = connect_from(src, false)) < 0)
			return 1;
		send_all(fd, reqs[i], strlen(reqs[i]));
		st = read_head(fd, head, sizeof(head));
		if (st < 0)
			printf("badreq %zu closed\n", i);
		else
			printf("badreq %zu http %d\n", i, st);
		close(fd);
	}
	/* A head far over any limit, sent in one go. */
	{
		char src[32], head[4096], *big = malloc(1 << 20);
		int fd, st;
		next_attack_src(src, sizeof(src));
		if (big == NULL || (fd = connect_from(src, false)) < 0)
			return 1;
		memset(big, 'a', 1 << 20);
		memcpy(big, "GET /cable/new/00112233445566778899AABBCCDDEEFF HTTP/1.1\r\nX: ", 61);
		send_all(fd, big, 1 << 20);
		st = read_head(fd, head, sizeof(head));
		printf("badreq huge %s %d\n", st < 0 ? "closed" : "http", st);
		close(fd);
		free(big);
	}
	return 0;
}

static int
mode_frames(void)
{
	static const uint8_t zeros[64];
	struct {
		const char *name;
		uint8_t b0;
		size_t n;
		bool mask;
		int64_t decl;
	} cases[] = {
	    {"text", 0x81, 4, true, -1},
	    {"unmasked", 0x82, 4, false, -1},
	    {"reserved-opcode", 0x83, 4, true, -1},
	    {"rsv-bits", 0xf2, 4, true, -1},
	    {"continuation-first", 0x80, 4, true, -1},
	    {"len-2^63", 0x82, 0, true, (int64_t)0x7fffffffffffffffLL},
	    {"len-1MiB", 0x82, 0, true, 1 << 20},
	    {"ping-oversized", 0x89, 64, true, 200},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char src[32];
		int fn, fc, code;
		next_attack_src(src, sizeof(src));
		if (tunnel_pair(src, &fn, &fc) != 0) {
			printf("frames %s no-tunnel\n", cases[i].name);
			continue;
		}
		ws_send(fn, cases[i].b0, zeros, cases[i].n, cases[i].mask, cases[i].decl);
		if (cases[i].decl > 0) /* a few bytes of the body that never comes */
			send_all(fn, zeros, sizeof(zeros));
		code = ws_close_code(fn, 5000);
		printf("frames %s close %d\n", cases[i].name, code);
		close(fn);
		close(fc);
	}
	return 0;
}

static int
mode_flood(int n, bool ping)
{
	static uint8_t msg[16384];
	char src[32];
	int fn, fc, sent = 0;
	double t0 = now_ms();

	next_attack_src(src, sizeof(src));
	if (tunnel_pair(src, &fn, &fc) != 0)
		return 1;
	for (int i = 0; i < n && now_ms() - t0 < 20000; i++) {
		if (ws_send(fn, ping ? 0x89 : 0x82, msg, ping ? 125 : sizeof(msg), true, -1) != 0)
			break;
		sent++;
	}
	/* fc never reads; fn reads nothing either until here. */
	printf("%s sent=%d of %d close %d\n", ping ? "pingflood" : "flood", sent, n, ws_close_code(fn, 5000));
	close(fn);
	close(fc);
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
mode_probe(int secs, int every_ms)
{
	size_t cap = (size_t)secs * 1000 / (size_t)every_ms + 16, k = 0;
	double *lat = calloc(cap, sizeof(double)), end = now_ms() + secs * 1000.0;
	int fail = 0;

	if (lat == NULL)
		return 1;
	while (now_ms() < end && k < cap) {
		double t0 = now_ms();
		int fn, fc, op1 = -1, op2 = -1;
		uint8_t buf[64];
		size_t n1 = 0, n2 = 0;
		if (tunnel_pair(probe_src, &fn, &fc) == 0) {
			ws_send(fc, 0x82, (const uint8_t *)"ping", 4, true, -1);
			op1 = ws_recv(fn, buf, sizeof(buf), &n1, 5000);
			ws_send(fn, 0x82, (const uint8_t *)"pong!", 5, true, -1);
			op2 = ws_recv(fc, buf, sizeof(buf), &n2, 5000);
			close(fn);
			close(fc);
		}
		if (op1 == 2 && n1 == 4 && op2 == 2 && n2 == 5)
			lat[k++] = now_ms() - t0;
		else
			fail++;
		if (now_ms() - t0 < every_ms)
			usleep((useconds_t)((every_ms - (now_ms() - t0)) * 1000));
	}
	qsort(lat, k, sizeof(double), cmp_double);
	printf("probe ok=%zu fail=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n", k, fail,
	    k ? lat[k / 2] : 0.0, k ? lat[k * 99 / 100] : 0.0, k ? lat[k - 1] : 0.0);
	free(lat);
	return 0;
}

int
main(int argc, char **argv)
{
	int i = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (i + 1 < argc && strncmp(argv[i], "--", 2) == 0) {
		if (strcmp(argv[i], "--port") == 0)
			port = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--src") == 0)
			probe_src = argv[i + 1];
		else if (strcmp(argv[i], "--attack-offset") == 0)
			attack_next = (uint32_t)atoi(argv[i + 1]);
		else
			break;
		i += 2;
	}
	if (port <= 0 || i >= argc) {
		fprintf(stderr, "usage: tunnel-abuse --port P [--src ADDR] MODE ARGS\n");
		return 2;
	}
	const char *m = argv[i];
	int a1 = i + 1 < argc ? atoi(argv[i + 1]) : 0, a2 = i + 2 < argc ? atoi(argv[i + 2]) : 0;
	if (strcmp(m, "slowloris") == 0)
		return mode_slowloris(a1, a2);
	if (strcmp(m, "churn") == 0)
		return mode_churn(a1);
	if (strcmp(m, "badreq") == 0)
		return mode_badreq();
	if (strcmp(m, "frames") == 0)
		return mode_frames();
	if (strcmp(m, "flood") == 0)
		return mode_flood(a1, false);
	if (strcmp(m, "pingflood") == 0)
		return mode_flood(a1, true);
	if (strcmp(m, "probe") == 0)
		return mode_probe(a1, a2 > 0 ? a2 : 100);
	fprintf(stderr, "unknown mode %s\n", m);
	return 2;
}

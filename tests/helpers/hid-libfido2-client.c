/*
 * Test client: libfido2 talks to a key on the socket transport or a hidraw node (INIT, getInfo,
 * touch + CANCEL, busy), or with "webauthn RP" registers and signs in through cable-bridged.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fido.h>
#include <fido/es256.h>

static int failures;

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "hid-libfido2-client: %s:%d: check failed: %s\n",   \
			    __FILE__, __LINE__, #cond);                                      \
			failures++;                                                          \
		}                                                                            \
	} while (0)

/* io functions over SOCK_SEQPACKET: one report per packet. */
struct conn {
	int fd;
};

static void *
io_open(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct conn *c;

	if (strlen(path) >= sizeof(sa.sun_path) || (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	memcpy(sa.sun_path, path, strlen(path));
	if ((c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (c->fd >= 0)
			close(c->fd);
		free(c);
		return NULL;
	}
	return c;
}

static void
io_close(void *h)
{
	struct conn *c = h;

	close(c->fd);
	free(c);
}

/* Must honour ms (-1 = wait for ever); libfido2 wants exactly len (64) bytes. */
static int
io_read(void *h, unsigned char *buf, size_t len, int ms)
{
	struct conn *c = h;
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	ssize_t n;
	int r;

	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return -1;
	if ((n = recv(c->fd, buf, len, 0)) < 0)
		return -1;
	return (int)n;
}

/* libfido2 hands over report ID 0 + 64 bytes, as it would write to hidraw: send them as they are. */
static int
io_write(void *h, const unsigned char *buf, size_t len)
{
	struct conn *c = h;
	ssize_t n;

	if (len != 65 || buf[0] != 0)
		return -1;
	n = send(c->fd, buf, len, MSG_NOSIGNAL);
	return n == (ssize_t)len ? (int)n : -1;
}

static const fido_dev_io_t io = {io_open, io_close, io_read, io_write};

static fido_dev_t *
open_dev(const char *path)
{
	fido_dev_t *d = fido_dev_new();
	int r = FIDO_OK;

	if (d == NULL)
		return NULL;
	/* /dev/hidrawN: libfido2's own hidraw I/O; anything else is our socket. */
	if ((strncmp(path, "/dev/", 5) != 0 && (r = fido_dev_set_io_functions(d, &io)) != FIDO_OK) ||
	    (r = fido_dev_open(d, path)) != FIDO_OK) {
		fprintf(stderr, "hid-libfido2-client: open: %s\n", fido_strerr(r));
		fido_dev_free(&d);
		return NULL;
	}
	return d;
}

static void
check_info(fido_dev_t *d)
{
	fido_cbor_info_t *ci = fido_cbor_info_new();
	static const unsigned char zero[16] = {0};
	char **opt;
	const bool *val;
	size_t n;
	int r;

	CHECK(ci != NULL);
	if (ci == NULL)
		return;
	r = fido_dev_get_cbor_info(d, ci);
	CHECK(r == FIDO_OK);
	if (r == FIDO_OK) {
		n = fido_cbor_info_versions_len(ci);
		CHECK(n == 2);
		if (n == 2) {
			CHECK(strcmp(fido_cbor_info_versions_ptr(ci)[0], "FIDO_2_0") == 0);
			CHECK(strcmp(fido_cbor_info_versions_ptr(ci)[1], "FIDO_2_1") == 0);
		}
		CHECK(fido_cbor_info_aaguid_len(ci) == 16);
		CHECK(memcmp(fido_cbor_info_aaguid_ptr(ci), zero, 16) == 0);
		CHECK(fido_cbor_info_maxmsgsiz(ci) == 7609);
		CHECK(fido_cbor_info_maxcredcntlst(ci) == 8);
		CHECK(fido_cbor_info_maxcredidlen(ci) == 128);
		CHECK(fido_cbor_info_protocols_len(ci) == 0);
		opt = fido_cbor_info_options_name_ptr(ci);
		val = fido_cbor_info_options_value_ptr(ci);
		n = fido_cbor_info_options_len(ci);
		CHECK(n == 4);
		for (size_t i = 0; i < n; i++) {
			if (strcmp(opt[i], "plat") == 0)
				CHECK(val[i] == false);
			else
				CHECK(val[i] == true);
		}
	}
	fido_cbor_info_free(&ci);
}

/*
 * makeCredential then getAssertion with the new credential, as a relying party's client would,
 * through the key (cable-bridged forwards both to a phone); the assertion is verified with the
 * public key from the registration.
 */
static int
webauthn(const char *path, const char *rp)
{
	fido_dev_t *d;
	fido_cred_t *cred = fido_cred_new();
	fido_assert_t *as = fido_assert_new();
	es256_pk_t *pk = es256_pk_new();
	unsigned char cdh[32], uid[8] = "user-c01";
	int r;

	if ((d = open_dev(path)) == NULL || cred == NULL || as == NULL || pk == NULL)
		return 1;
	CHECK(fido_dev_is_fido2(d));
	CHECK(fido_dev_has_uv(d));
	CHECK(!fido_dev_has_pin(d));
	for (size_t i = 0; i < sizeof(cdh); i++)
		cdh[i] = (unsigned char)(i * 7 + 1);
	CHECK(fido_cred_set_type(cred, COSE_ES256) == FIDO_OK);
	CHECK(fido_cred_set_clientdata_hash(cred, cdh, sizeof(cdh)) == FIDO_OK);
	CHECK(fido_cred_set_rp(cred, rp, "Example") == FIDO_OK);
	CHECK(fido_cred_set_user(cred, uid, sizeof(uid), "carol", "Carol", NULL) == FIDO_OK);
	CHECK(fido_cred_set_uv(cred, FIDO_OPT_TRUE) == FIDO_OK);
	r = fido_dev_make_cred(d, cred, NULL);
	fprintf(stderr, "hid-libfido2-client: make_cred: %s\n", fido_strerr(r));
	CHECK(r == FIDO_OK);
	if (r != FIDO_OK)
		goto out;
	CHECK(fido_cred_id_len(cred) > 0);
	CHECK((fido_cred_flags(cred) & 0x45) == 0x45);
	CHECK(es256_pk_from_ptr(pk, fido_cred_pubkey_ptr(cred), fido_cred_pubkey_len(cred)) == FIDO_OK);
	cdh[0] ^= 0xff;
	CHECK(fido_assert_set_clientdata_hash(as, cdh, sizeof(cdh)) == FIDO_OK);
	CHECK(fido_assert_set_rp(as, rp) == FIDO_OK);
	CHECK(fido_assert_allow_cred(as, fido_cred_id_ptr(cred), fido_cred_id_len(cred)) == FIDO_OK);
	CHECK(fido_assert_set_uv(as, FIDO_OPT_TRUE) == FIDO_OK);
	r = fido_dev_get_assert(d, as, NULL);
	fprintf(stderr, "hid-libfido2-client: get_assert: %s\n", fido_strerr(r));
	CHECK(r == FIDO_OK);
	if (r != FIDO_OK)
		goto out;
	CHECK(fido_assert_count(as) == 1);
	r = fido_assert_verify(as, 0, COSE_ES256, pk);
	CHECK(r == FIDO_OK);
	if (r == FIDO_OK)
		printf("libfido2: registration (fmt %s) and assertion verified\n", fido_cred_fmt(cred));
out:
	es256_pk_free(&pk);
	fido_assert_free(&as);
	fido_cred_free(&cred);
	fido_dev_close(d);
	fido_dev_free(&d);
	if (failures > 0) {
		fprintf(stderr, "hid-libfido2-client: %d checks failed\n", failures);
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	fido_dev_t *d = NULL, *d2 = NULL;
	fido_cbor_info_t *ci;
	int touched = -1, r;
	bool hidraw;

	if (argc == 4 && strcmp(argv[2], "webauthn") == 0) {
		fido_init(getenv("FIDO_DEBUG") ? FIDO_DEBUG : 0);
		return webauthn(argv[1], argv[3]);
	}
	if (argc != 2) {
		fprintf(stderr, "usage: hid-libfido2-client SOCKET-PATH|/dev/hidrawN [webauthn RP-ID]\n");
		return 2;
	}
	fido_init(getenv("FIDO_DEBUG") ? FIDO_DEBUG : 0);
	hidraw = strncmp(argv[1], "/dev/", 5) == 0;

	/* fido_dev_open sends INIT and getInfo (CBOR capability set). */
	if ((d = open_dev(argv[1])) == NULL)
		return 1;
	CHECK(fido_dev_is_fido2(d));
	CHECK(fido_dev_protocol(d) == 2);
	CHECK(fido_dev_major(d) == 0 && fido_dev_minor(d) == 1 && fido_dev_build(d) == 0);
	CHECK(fido_dev_flags(d) == (FIDO_CAP_WINK | FIDO_CAP_CBOR | FIDO_CAP_NMSG));
	CHECK(fido_dev_has_uv(d));
	CHECK(!fido_dev_has_pin(d));
	CHECK(!fido_dev_supports_pin(d));
	check_info(d);

	/* A request that waits for a touch, then CANCEL: the request ends with 0x2D. */
	CHECK(fido_dev_get_touch_begin(d) == FIDO_OK);
	CHECK(fido_dev_get_touch_status(d, &touched, 300) == FIDO_OK);
	CHECK(touched == 0);

	/*
	 * Meanwhile a second client gets its channel (INIT is answered while busy), but its getInfo
	 * is refused with CHANNEL_BUSY; libfido2 does not retry and falls back to U2F.
	 */
	/* (On hidraw libfido2 takes an exclusive flock, so a second handle would only wait.) */
	if (!hidraw && (d2 = open_dev(argv[1])) != NULL) {
		fprintf(stderr, "hid-libfido2-client: second open while busy: fido2=%d\n",
		    fido_dev_is_fido2(d2));
		CHECK(!fido_dev_is_fido2(d2));
		fido_dev_close(d2);
		fido_dev_free(&d2);
	}

	CHECK(fido_dev_cancel(d) == FIDO_OK);
	r = fido_dev_get_touch_status(d, &touched, 2000);
	fprintf(stderr, "hid-libfido2-client: status after cancel: %s\n", fido_strerr(r));
	CHECK(r == FIDO_ERR_KEEPALIVE_CANCEL);
	CHECK(touched == 0);

	/* The channel is clean afterwards, and another client can open the device again. */
	check_info(d);
	if (hidraw) {
		/* nothing: see above */
	} else if ((d2 = open_dev(argv[1])) == NULL) {
		failures++;
	} else {
		check_info(d2);
		check_info(d);
		fido_dev_close(d2);
		fido_dev_free(&d2);
	}
	/* A fresh handle is a fresh channel. */
	fido_dev_close(d);
	fido_dev_free(&d);
	if ((d = open_dev(argv[1])) == NULL)
		return 1;
	ci = fido_cbor_info_new();
	CHECK(ci != NULL && fido_dev_get_cbor_info(d, ci) == FIDO_OK);
	fido_cbor_info_free(&ci);
	fido_dev_close(d);
	fido_dev_free(&d);

	if (failures > 0) {
		fprintf(stderr, "hid-libfido2-client: %d checks failed\n", failures);
		return 1;
	}
	fprintf(stderr, "hid-libfido2-client: all checks passed\n");
	return 0;
}

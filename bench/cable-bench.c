/*
 * CPU cost of the protocol core next to OpenSSL's own P-256 figures, measured in the same run:
 * one full KNpsk0 handshake (both sides, in memory, including split), one advert trial
 * decryption, one EVP_PKEY_derive (P-256 ECDH) and one P-256 key generation.
 * Usage: cable-bench [runs [iterations]]   (default 11 x 2000); prints medians over the runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "cable/advert.h"
#include "cable/crypter.h"
#include "cable/crypto.h"
#include "cable/env.h"
#include "cable/error.h"
#include "cable/noise.h"
#include "cable/p256.h"


static double
cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "cable-bench: %s failed\n", what);
	exit(1);
}

static struct cable_p256_key desktop;
static uint8_t psk[32];

static void
one_handshake(void)
{
	const struct cable_env *env = cable_env_system();
	struct cable_noise *i = cable_noise_new(), *r = cable_noise_new();
	struct cable_crypter *ci = NULL, *cr = NULL;
	uint8_t m1[CABLE_NOISE_MSG_LEN], m2[CABLE_NOISE_MSG_LEN];

	if (i == NULL || r == NULL ||
	    cable_noise_start(i, CABLE_NOISE_KNPSK0, CABLE_NOISE_INITIATOR, psk, &desktop, NULL) != 0 ||
	    cable_noise_start(r, CABLE_NOISE_KNPSK0, CABLE_NOISE_RESPONDER, psk, NULL, desktop.pub) != 0 ||
	    cable_noise_write_message(i, env, m1) != 0 || cable_noise_read_message(r, m1, sizeof(m1)) != 0 ||
	    cable_noise_write_message(r, env, m2) != 0 || cable_noise_read_message(i, m2, sizeof(m2)) != 0 ||
	    cable_noise_split(i, &ci) != 0 || cable_noise_split(r, &cr) != 0)
		die("handshake");
	cable_crypter_free(&ci);
	cable_crypter_free(&cr);
	cable_noise_free(&i);
	cable_noise_free(&r);
}

static uint8_t eid_key[64], other_key[64], advert[20];

static void
advert_setup(void)
{
	uint8_t plain[CABLE_EID_PLAIN_LEN] = {0};

	plain[11] = 0xab; /* routing ID; domain ID 0 */
	if (cable_advert_encrypt(eid_key, plain, advert) != 0)
		die("advert_encrypt");
}

static void
one_advert(void)
{
	struct cable_advert out;
	if (cable_advert_open(eid_key, advert, sizeof(advert), 0, &out) != 0)
		die("advert_open");
}

/* The common case when several keys are tried: the tag does not match. */
static void
one_advert_miss(void)
{
	struct cable_advert out;
	if (cable_advert_open(other_key, advert, sizeof(advert), 0, &out) != CABLE_ERR_ADVERT_TAG)
		die("advert_open (miss)");
}

static EVP_PKEY *ossl_a, *ossl_b;

static void
one_ossl_ecdh(void)
{
	uint8_t secret[32];
	size_t len = sizeof(secret);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(ossl_a, NULL);

	if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer(ctx, ossl_b) != 1 ||
	    EVP_PKEY_derive(ctx, secret, &len) != 1 || len != 32)
		die("EVP_PKEY_derive");
	EVP_PKEY_CTX_free(ctx);
}

static void
one_ossl_keygen(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (k == NULL)
		die("EVP_PKEY_Q_keygen");
	EVP_PKEY_free(k);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median over runs of the CPU time per call, in microseconds. */
static double
measure(void (*fn)(void), int runs, int iters)
{
	double *t = calloc((size_t)runs, sizeof(*t)), med;

	if (t == NULL)
		die("calloc");
	fn(); /* warm-up */
	for (int r = 0; r < runs; r++) {
		double start = cpu_now();
		for (int i = 0; i < iters; i++)
			fn();
		t[r] = (cpu_now() - start) / iters * 1e6;
	}
	qsort(t, (size_t)runs, sizeof(*t), cmp_double);
	med = t[runs / 2];
	free(t);
	return med;
}

int
main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 11, iters = argc > 2 ? atoi(argv[2]) : 2000;
	double hs, adv, miss, ecdh, keygen;

	if (runs < 1 || iters < 1) {
		fprintf(stderr, "usage: cable-bench [runs [iterations]]\n");
		return 2;
	}
	if (cable_p256_derive_from_secret((const uint8_t *)"bench desktop", 13, &desktop) != 0)
		die("derive");
	memset(psk, 0x42, sizeof(psk));
	for (size_t i = 0; i < sizeof(eid_key); i++) {
		eid_key[i] = (uint8_t)i;
		other_key[i] = (uint8_t)(i + 1);
	}
	advert_setup();
	if ((ossl_a = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (ossl_b = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
		die("keygen");

	hs = measure(one_handshake, runs, iters);
	adv = measure(one_advert, runs, iters);
	miss = measure(one_advert_miss, runs, iters);
	ecdh = measure(one_ossl_ecdh, runs, iters);
	keygen = measure(one_ossl_keygen, runs, iters);

	printf("cable-bench: CPU time per operation, median of %d runs x %d iterations (%s)\n", runs, iters,
	    OpenSSL_version(OPENSSL_VERSION));
	printf("  KNpsk0 handshake, both sides + split   %10.2f us  = %6.1f x ECDH, %6.1f x keygen\n", hs,
	    hs / ecdh, hs / keygen);
	printf("  advert trial decryption, match         %10.2f us  = %6.3f x ECDH\n", adv, adv / ecdh);
	printf("  advert trial decryption, wrong key     %10.2f us  = %6.3f x ECDH\n", miss, miss / ecdh);
	printf("  OpenSSL P-256 ECDH (EVP_PKEY_derive)   %10.2f us\n", ecdh);
	printf("  OpenSSL P-256 keygen (Q_keygen)        %10.2f us\n", keygen);
	EVP_PKEY_free(ossl_a);
	EVP_PKEY_free(ossl_b);
	return 0;
}

/* Fault injection for fuzz-faults (see wrap.h): linked with -Wl,--wrap=<symbol> for each below. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "wrap.h"

static unsigned fault_mask;
static uint32_t fault_at, fault_count, fault_injected;

void
fuzz_faults_arm(unsigned mask, uint32_t n)
{
	fault_mask = mask;
	fault_at = n;
	fault_count = 0;
	fault_injected = 0;
}

void
fuzz_faults_disarm(void)
{
	fault_at = 0;
}

uint32_t
fuzz_faults_injected(void)
{
	return fault_injected;
}

static int
fail(unsigned source)
{
	if (fault_at == 0 || (fault_mask & source) == 0)
		return 0;
	fault_count++;
	if (fault_count == fault_at || ((fault_mask & FAULT_STICKY) && fault_count > fault_at)) {
		fault_injected++;
		return 1;
	}
	return 0;
}

/* ---- our own allocations (--wrap applies to the core and session objects only) ---- */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

void *
__wrap_malloc(size_t n)
{
	return fail(FAULT_MALLOC) ? NULL : __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t m)
{
	return fail(FAULT_MALLOC) ? NULL : __real_calloc(n, m);
}

void *
__wrap_realloc(void *p, size_t n)
{
	return fail(FAULT_MALLOC) ? NULL : __real_realloc(p, n);
}

char *
__wrap_strdup(const char *s)
{
	return fail(FAULT_MALLOC) ? NULL : __real_strdup(s);
}

char *
__wrap_strndup(const char *s, size_t n)
{
	return fail(FAULT_MALLOC) ? NULL : __real_strndup(s, n);
}

/* ---- OpenSSL: its allocator, and operations that can fail without allocating ---- */
static void *
ossl_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return fail(FAULT_OPENSSL) ? NULL : __real_malloc(n);
}

static void *
ossl_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return fail(FAULT_OPENSSL) ? NULL : __real_realloc(p, n);
}

static void
ossl_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

#define WRAP_INT(ret, name, params, args, failval)  \
	ret __real_##name params;                   \
	ret __wrap_##name params;                   \
	ret __wrap_##name params                    \
	{                                           \
		if (fail(FAULT_OPENSSL))            \
			return failval;             \
		return __real_##name args;          \
	}

WRAP_INT(int, RAND_bytes, (unsigned char *b, int n), (b, n), 0)
WRAP_INT(int, EVP_DigestSign, (EVP_MD_CTX *c, unsigned char *s, size_t *sl, const unsigned char *t,
    size_t tl), (c, s, sl, t, tl), 0)
WRAP_INT(int, EVP_KDF_derive, (EVP_KDF_CTX *c, unsigned char *k, size_t kl, const OSSL_PARAM p[]),
    (c, k, kl, p), 0)
WRAP_INT(int, EC_POINT_mul, (const EC_GROUP *g, EC_POINT *r, const BIGNUM *n, const EC_POINT *q,
    const BIGNUM *m, BN_CTX *ctx), (g, r, n, q, m, ctx), 0)
WRAP_INT(int, EVP_EncryptFinal_ex, (EVP_CIPHER_CTX *c, unsigned char *o, int *ol), (c, o, ol), 0)
WRAP_INT(int, EVP_DigestFinal_ex, (EVP_MD_CTX *c, unsigned char *o, unsigned int *ol), (c, o, ol), 0)

/* ---- libcbor (Debian builds it without cbor_set_allocs): the calls that allocate ---- */
#define WRAP_CBOR(ret, name, params, args)          \
	ret __real_##name params;                   \
	ret __wrap_##name params;                   \
	ret __wrap_##name params                    \
	{                                           \
		if (fail(FAULT_CBOR))               \
			return NULL;                \
		return __real_##name args;          \
	}

WRAP_CBOR(cbor_item_t *, cbor_load, (cbor_data s, size_t n, struct cbor_load_result *r), (s, n, r))
WRAP_CBOR(cbor_item_t *, cbor_new_definite_map, (size_t n), (n))
WRAP_CBOR(cbor_item_t *, cbor_new_definite_array, (size_t n), (n))
WRAP_CBOR(cbor_item_t *, cbor_build_bytestring, (cbor_data h, size_t n), (h, n))
WRAP_CBOR(cbor_item_t *, cbor_build_string, (const char *s), (s))
WRAP_CBOR(cbor_item_t *, cbor_build_stringn, (const char *s, size_t n), (s, n))
WRAP_CBOR(cbor_item_t *, cbor_build_uint8, (uint8_t v), (v))
WRAP_CBOR(cbor_item_t *, cbor_build_uint16, (uint16_t v), (v))
WRAP_CBOR(cbor_item_t *, cbor_build_uint32, (uint32_t v), (v))
WRAP_CBOR(cbor_item_t *, cbor_build_uint64, (uint64_t v), (v))
WRAP_CBOR(cbor_item_t *, cbor_build_negint8, (uint8_t v), (v))
WRAP_CBOR(cbor_item_t *, cbor_build_negint16, (uint16_t v), (v))
WRAP_CBOR(cbor_item_t *, cbor_build_negint32, (uint32_t v), (v))
WRAP_CBOR(cbor_item_t *, cbor_build_negint64, (uint64_t v), (v))
WRAP_CBOR(cbor_item_t *, cbor_build_bool, (bool v), (v))

size_t __real_cbor_serialize_alloc(const cbor_item_t *item, unsigned char **buf, size_t *size);
size_t __wrap_cbor_serialize_alloc(const cbor_item_t *item, unsigned char **buf, size_t *size);

size_t
__wrap_cbor_serialize_alloc(const cbor_item_t *item, unsigned char **buf, size_t *size)
{
	if (fail(FAULT_CBOR)) {
		*buf = NULL;
		return 0;
	}
	return __real_cbor_serialize_alloc(item, buf, size);
}

/* ---- jansson ---- */
/*
 * jansson 2.14's lexer asserts (lex_unget_unsave: c == d) when an allocation fails while it reads
 * a string, so it aborts instead of failing on out-of-memory: no faults inside json_loadb. Objects
 * built and dumped after loading still see faults.
 */
static int in_json_load;

static void *
json_malloc(size_t n)
{
	return !in_json_load && fail(FAULT_JSON) ? NULL : __real_malloc(n);
}

json_t *__real_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err);
json_t *__wrap_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err);

json_t *
__wrap_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err)
{
	json_t *j;

	in_json_load++;
	j = __real_json_loadb(buf, len, flags, err);
	in_json_load--;
	return j;
}

void
fuzz_faults_install(void)
{
	/* Fails if OpenSSL already allocated: then its own allocations are simply not counted. */
	(void)CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free);
	json_set_alloc_funcs(json_malloc, free);
}

/* Open connections per source address, for the tunnel server's per-source limit. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cable/error.h"
#include "source-table.h"

struct cable_source {
	struct cable_source *next;
	uint32_t count;
	uint8_t len; /* 4 or 16 */
	uint8_t addr[16];
};

struct cable_source_table {
	struct cable_source **bucket;
	size_t nbuckets; /* power of two */
	size_t size;
	uint64_t seed;   /* keeps clients from choosing addresses that share a bucket */
};

static uint64_t
source_hash(const struct cable_source_table *tbl, const uint8_t *a, size_t len)
{
	uint64_t h = tbl->seed ^ len;

	for (size_t i = 0; i < len; i++) {
		h ^= a[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 29;
	h *= 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 32);
}

struct cable_source_table *
cable_source_table_new(void)
{
	struct cable_source_table *tbl;

	if ((tbl = calloc(1, sizeof(*tbl))) == NULL)
		return NULL;
	tbl->nbuckets = 64;
	if ((tbl->bucket = calloc(tbl->nbuckets, sizeof(*tbl->bucket))) == NULL) {
		free(tbl);
		return NULL;
	}
	if (getrandom(&tbl->seed, sizeof(tbl->seed), 0) != sizeof(tbl->seed))
		tbl->seed = (uint64_t)(uintptr_t)tbl ^ 0x5bd1e995u;
	return tbl;
}

void
cable_source_table_free(struct cable_source_table **ptbl)
{
	struct cable_source_table *tbl;

	if (ptbl == NULL || (tbl = *ptbl) == NULL)
		return;
	for (size_t i = 0; i < tbl->nbuckets; i++) {
		struct cable_source *s = tbl->bucket[i], *n;

		for (; s != NULL; s = n) {
			n = s->next;
			free(s);
		}
	}
	free(tbl->bucket);
	free(tbl);
	*ptbl = NULL;
}

static int
source_key(const struct sockaddr *sa, socklen_t len, uint8_t key[16], uint8_t *klen)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		memcpy(key, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		*klen = 4;
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const uint8_t *a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;

		if (memcmp(a, mapped, 12) == 0) {
			memcpy(key, a + 12, 4);
			*klen = 4;
		} else {
			memcpy(key, a, 16);
			*klen = 16;
		}
		return 0;
	}
	return CABLE_ERR_ARG;
}

static void
source_grow(struct cable_source_table *tbl)
{
	size_t n = tbl->nbuckets * 2;
	struct cable_source **b;

	if ((b = calloc(n, sizeof(*b))) == NULL)
		return; /* stay at the old size; still correct, only slower */
	for (size_t i = 0; i < tbl->nbuckets; i++) {
		struct cable_source *s = tbl->bucket[i], *next;

		for (; s != NULL; s = next) {
			size_t j = source_hash(tbl, s->addr, s->len) & (n - 1);

			next = s->next;
			s->next = b[j];
			b[j] = s;
		}
	}
	free(tbl->bucket);
	tbl->bucket = b;
	tbl->nbuckets = n;
}

int
cable_source_acquire(struct cable_source_table *tbl, const struct sockaddr *sa, socklen_t len,
    uint32_t limit, struct cable_source **out)
{
	uint8_t key[16], klen;
	struct cable_source *s;
	size_t i;
	int r;

	if ((r = source_key(sa, len, key, &klen)) != 0)
		return r;
	i = source_hash(tbl, key, klen) & (tbl->nbuckets - 1);
	for (s = tbl->bucket[i]; s != NULL; s = s->next)
		if (s->len == klen && memcmp(s->addr, key, klen) == 0)
			break;
	if (s == NULL) {
		if (limit == 0)
			return CABLE_ERR_TOO_BIG;
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return CABLE_ERR_NOMEM;
		s->len = klen;
		memcpy(s->addr, key, klen);
		s->next = tbl->bucket[i];
		tbl->bucket[i] = s;
		if (++tbl->size > tbl->nbuckets)
			source_grow(tbl);
	} else if (s->count >= limit) {
		return CABLE_ERR_TOO_BIG;
	}
	s->count++;
	*out = s;
	return 0;
}

void
cable_source_release(struct cable_source_table *tbl, struct cable_source **ps)
{
	struct cable_source *s, **pp;

	if (ps == NULL || (s = *ps) == NULL)
		return;
	*ps = NULL;
	if (--s->count > 0)
		return;
	pp = &tbl->bucket[source_hash(tbl, s->addr, s->len) & (tbl->nbuckets - 1)];
	for (; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			tbl->size--;
			free(s);
			return;
		}
	}
}

uint32_t
cable_source_count(const struct cable_source *s)
{
	return s ? s->count : 0;
}

size_t
cable_source_table_size(const struct cable_source_table *tbl)
{
	return tbl->size;
}

/* Test support: loads shared/vectors/hybrid-vectors.json and tracks which vectors ran. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "cable/bytes.h"
#include "tv.h"

static json_t *vectors;
static bool *ran;

json_t *
tv_all(void)
{
	json_error_t err;
	const char *path;

	if (vectors != NULL)
		return vectors;
	path = getenv("CABLE_VECTORS");
	if (path == NULL || *path == '\0')
		fail_msg("CABLE_VECTORS is not set: run the tests through ctest");
	vectors = json_load_file(path, 0, &err);
	if (vectors == NULL)
		fail_msg("cannot load vectors %s: %s (line %d)", path, err.text, err.line);
	if (!json_is_array(vectors))
		fail_msg("vectors file %s is not a JSON array", path);
	ran = calloc(json_array_size(vectors) + 1, sizeof(*ran));
	if (ran == NULL)
		fail_msg("out of memory");
	return vectors;
}

static const char *
vector_name(json_t *v)
{
	const char *name = json_string_value(json_object_get(v, "name"));
	return name != NULL ? name : "";
}

json_t *
tv_get(const char *name)
{
	json_t *all = tv_all();
	for (size_t i = 0; i < json_array_size(all); i++) {
		json_t *v = json_array_get(all, i);
		if (strcmp(vector_name(v), name) == 0) {
			ran[i] = true;
			return v;
		}
	}
	fail_msg("vector %s is missing from the vectors file", name);
	return NULL;
}

size_t
tv_each(const char *prefix, void (*fn)(json_t *, void *), void *ctx)
{
	json_t *all = tv_all();
	size_t n = 0, plen = strlen(prefix);

	for (size_t i = 0; i < json_array_size(all); i++) {
		json_t *v = json_array_get(all, i);
		if (strncmp(vector_name(v), prefix, plen) == 0) {
			fn(v, ctx);
			ran[i] = true;
			n++;
		}
	}
	if (n == 0)
		fail_msg("no vector named %s* in the vectors file", prefix);
	return n;
}

void
tv_assert_all_run(const char *prefix)
{
	json_t *all = tv_all();
	size_t plen = strlen(prefix), n = 0;

	for (size_t i = 0; i < json_array_size(all); i++) {
		const char *name = vector_name(json_array_get(all, i));
		if (strncmp(name, prefix, plen) == 0) {
			n++;
			if (!ran[i])
				fail_msg("vector %s was not run", name);
		}
	}
	if (n == 0)
		fail_msg("no vector named %s* in the vectors file", prefix);
}

json_t *
tv_field(json_t *v, const char *path)
{
	char buf[256], *save = NULL, *tok;
	json_t *cur = v;

	if (strlen(path) >= sizeof(buf))
		fail_msg("path too long: %s", path);
	strcpy(buf, path);
	for (tok = strtok_r(buf, ".", &save); tok != NULL; tok = strtok_r(NULL, ".", &save)) {
		cur = json_object_get(cur, tok);
		if (cur == NULL)
			fail_msg("vector %s has no field %s", vector_name(v), path);
	}
	return cur;
}

bool
tv_has(json_t *v, const char *path)
{
	char buf[256], *save = NULL, *tok;
	json_t *cur = v;

	if (strlen(path) >= sizeof(buf))
		return false;
	strcpy(buf, path);
	for (tok = strtok_r(buf, ".", &save); tok != NULL; tok = strtok_r(NULL, ".", &save))
		if ((cur = json_object_get(cur, tok)) == NULL)
			return false;
	return true;
}

const char *
tv_str(json_t *v, const char *path)
{
	json_t *f = tv_field(v, path);
	if (!json_is_string(f))
		fail_msg("vector %s: %s is not a string", vector_name(v), path);
	return json_string_value(f);
}

long long
tv_int(json_t *v, const char *path)
{
	json_t *f = tv_field(v, path);
	if (!json_is_integer(f))
		fail_msg("vector %s: %s is not an integer", vector_name(v), path);
	return json_integer_value(f);
}

bool
tv_bool(json_t *v, const char *path)
{
	json_t *f = tv_field(v, path);
	if (!json_is_boolean(f))
		fail_msg("vector %s: %s is not a boolean", vector_name(v), path);
	return json_is_true(f);
}

uint8_t *
tv_hex(json_t *v, const char *path, size_t *len)
{
	const char *s = tv_str(v, path);
	uint8_t *out = NULL;

	if (*s == '\0') {
		*len = 0;
		out = malloc(1);
		assert_non_null(out);
		return out;
	}
	if (cable_hex_decode_alloc(s, &out, len) != 0)
		fail_msg("vector %s: %s is not hex", vector_name(v), path);
	return out;
}

static int
tv_random(void *ctx, uint8_t *buf, size_t len)
{
	struct tv_env *e = ctx;

	if (e->fail_random)
		return -1;
	while (len > 0) {
		uint8_t block[40], out[SHA256_DIGEST_LENGTH];
		size_t n = len < sizeof(out) ? len : sizeof(out);
		memcpy(block, e->seed, 32);
		for (int i = 0; i < 8; i++)
			block[32 + i] = (uint8_t)(e->counter >> (8 * i));
		e->counter++;
		SHA256(block, sizeof(block), out);
		memcpy(buf, out, n);
		buf += n;
		len -= n;
	}
	return 0;
}

static int64_t
tv_now(void *ctx)
{
	struct tv_env *e = ctx;
	return e->now++;
}

void
tv_env_init(struct tv_env *e, uint32_t seed)
{
	memset(e, 0, sizeof(*e));
	for (int i = 0; i < 4; i++)
		e->seed[i] = (uint8_t)(seed >> (8 * i));
	e->now = 1700000000;
	e->env.random = tv_random;
	e->env.now = tv_now;
	e->env.ctx = e;
}

void
tv_assert_bytes(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len)
{
	if (got_len != want_len || (want_len > 0 && memcmp(got, want, want_len) != 0)) {
		char *g = malloc(2 * got_len + 1), *w = malloc(2 * want_len + 1);
		assert_non_null(g);
		assert_non_null(w);
		cable_hex_encode(got, got_len, g, false);
		cable_hex_encode(want, want_len, w, false);
		print_error("got  %s\nwant %s\n", g, w);
		free(g);
		free(w);
		fail();
	}
}

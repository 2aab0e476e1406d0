/* Unit tests: the credential store's format, its parser's refusals and the file backend. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cable/authenticator.h"
#include "cable/bytes.h"
#include "cable/cred-store.h"
#include "cable/error.h"
#include "cbor-writer.h"
#include "cred-store-internal.h"
#include "tv.h"

/* A store with two passkeys, made through the authenticator itself. */
static struct cable_cred_store *
filled_store(struct tv_env *e)
{
	struct cable_cred_store *s;
	struct cable_authenticator_config cfg;
	struct cable_authenticator *a;
	static const char *reqs[] = {
	    /* makeCredential rp "a", user {id "u", name "n\u00e9"}, rk */
	    "01a5015820000000000000000000000000000000000000000000000000000000000000000002a16269646161"
	    "03a262696441756"
	    "46e616d65636ec3a90481a263616c672664747970656a7075626c69632d6b657907a162726bf5",
	    /* the same for rp "b", user id "v" */
	    "01a5015820000000000000000000000000000000000000000000000000000000000000000002a16269646162"
	    "03a26269644176646e616d6561780481a263616c672664747970656a7075626c69632d6b657907a162726bf5",
	};

	assert_int_equal(cable_cred_store_new(&e->env, &s), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.store = s;
	assert_non_null(a = cable_authenticator_new(&e->env, &cfg));
	for (size_t i = 0; i < 2; i++) {
		uint8_t *req, *resp;
		size_t req_len, resp_len;
		assert_int_equal(cable_hex_decode_alloc(reqs[i], &req, &req_len), 0);
		assert_int_equal(cable_authenticator_handle(a, req, req_len, &resp, &resp_len), 0);
		assert_int_equal(resp[0], 0);
		free(req);
		free(resp);
	}
	cable_authenticator_free(&a);
	assert_int_equal(cable_cred_store_count(s), 2);
	return s;
}

static void
test_round_trip(void **state)
{
	struct tv_env e;
	struct cable_cred_store *s, *t;
	struct cable_cred_info i1, i2;
	uint8_t *b1, *b2;
	size_t l1, l2;

	(void)state;
	tv_env_init(&e, 21);
	s = filled_store(&e);
	assert_int_equal(cable_cred_store_serialize(s, &b1, &l1), 0);
	assert_int_equal(cable_cred_store_parse(b1, l1, &t), 0);
	assert_int_equal(cable_cred_store_serialize(t, &b2, &l2), 0);
	tv_assert_bytes(b2, l2, b1, l1);
	assert_memory_equal(s->master, t->master, 32);
	assert_int_equal(cable_cred_store_counter(t), 2);
	assert_int_equal(cable_cred_store_count(t), 2);
	assert_int_equal(cable_cred_store_get(t, 0, &i1), 0);
	assert_int_equal(cable_cred_store_get(s, 0, &i2), 0);
	tv_assert_bytes(i1.id, i1.id_len, i2.id, i2.id_len);
	assert_string_equal(i1.rp_id, "a");
	assert_string_equal(i1.user_name, "n\xc3\xa9");
	assert_string_equal(i1.user_display_name, "");
	assert_int_equal(i1.user_id_len, 1);
	assert_int_equal(i1.user_id[0], 'u');
	/* starts as version 1 map {1: 1, 2: master, 3: counter, 4: [...]} */
	assert_int_equal(b1[0], 0xa4);
	assert_int_equal(b1[1], 0x01);
	assert_int_equal(b1[2], CABLE_CRED_STORE_VERSION);
	free(b1);
	free(b2);
	cable_cred_store_free(&s);
	cable_cred_store_free(&t);
	assert_null(t);
	cable_cred_store_free(NULL);
}

/* Serialises a hand-made store map; the parser must refuse it. */
static void
refuse(struct cable_cbw *w)
{
	struct cable_cred_store *s = NULL;
	uint8_t *b;
	size_t l;

	assert_int_equal(cable_cbw_finish(w, &b, &l), 0);
	assert_int_equal(cable_cred_store_parse(b, l, &s), CABLE_ERR_STORE);
	assert_null(s);
	free(b);
}

static void
header(struct cable_cbw *w, size_t nkeys, uint64_t version, size_t master_len, size_t ncreds)
{
	uint8_t master[40] = {0};

	cable_cbw_init(w, 0);
	cable_cbw_map(w, nkeys);
	cable_cbw_uint(w, 1);
	cable_cbw_uint(w, version);
	cable_cbw_uint(w, 2);
	cable_cbw_bytes(w, master, master_len);
	cable_cbw_uint(w, 3);
	cable_cbw_uint(w, 5);
	cable_cbw_uint(w, 4);
	cable_cbw_array(w, ncreds);
}

static void
entry(struct cable_cbw *w, uint8_t id_version, uint8_t id_flags, size_t id_len, const char *rp,
    size_t user_len, const char *name)
{
	uint8_t id[40] = {0}, user[70] = {0};

	id[0] = id_version;
	id[1] = id_flags;
	cable_cbw_map(w, 5);
	cable_cbw_uint(w, 1);
	cable_cbw_bytes(w, id, id_len);
	cable_cbw_uint(w, 2);
	cable_cbw_text(w, rp);
	cable_cbw_uint(w, 3);
	cable_cbw_bytes(w, user, user_len);
	cable_cbw_uint(w, 4);
	cable_cbw_text(w, name);
	cable_cbw_uint(w, 5);
	cable_cbw_text(w, "");
}

static void
test_parse_refusals(void **state)
{
	struct tv_env e;
	struct cable_cred_store *s, *t = NULL;
	struct cable_cbw w;
	uint8_t *b, *c;
	size_t l;

	(void)state;
	/* the well-formed hand-made store parses (so the refusals below are about their defect) */
	header(&w, 4, 1, 32, 1);
	entry(&w, 1, 1, CABLE_CRED_ID_LEN, "a", 1, "n");
	assert_int_equal(cable_cbw_finish(&w, &b, &l), 0);
	assert_int_equal(cable_cred_store_parse(b, l, &t), 0);
	assert_int_equal(cable_cred_store_counter(t), 5);
	cable_cred_store_free(&t);
	free(b);

	header(&w, 4, 2, 32, 0); /* unknown version */
	refuse(&w);
	header(&w, 4, 1, 31, 0); /* short master secret */
	refuse(&w);
	header(&w, 3, 1, 32, 0); /* key count disagrees */
	refuse(&w);
	header(&w, 4, 1, 32, 1);
	entry(&w, 2, 1, CABLE_CRED_ID_LEN, "a", 1, "n"); /* unknown ID version */
	refuse(&w);
	header(&w, 4, 1, 32, 1);
	entry(&w, 1, 0, CABLE_CRED_ID_LEN, "a", 1, "n"); /* ID not marked resident */
	refuse(&w);
	header(&w, 4, 1, 32, 1);
	entry(&w, 1, 1, CABLE_CRED_ID_LEN - 1, "a", 1, "n");
	refuse(&w);
	header(&w, 4, 1, 32, 1);
	entry(&w, 1, 1, CABLE_CRED_ID_LEN, "", 1, "n"); /* empty RP ID */
	refuse(&w);
	header(&w, 4, 1, 32, 1);
	entry(&w, 1, 1, CABLE_CRED_ID_LEN, "a", 0, "n"); /* empty user handle */
	refuse(&w);
	header(&w, 4, 1, 32, 1);
	entry(&w, 1, 1, CABLE_CRED_ID_LEN, "a", 65, "n"); /* user handle too long */
	refuse(&w);
	header(&w, 4, 1, 32, 1);
	entry(&w, 1, 1, CABLE_CRED_ID_LEN, "a", 1, "\xff"); /* not UTF-8 */
	refuse(&w);
	header(&w, 4, 1, 32, 1);
	entry(&w, 1, 1, CABLE_CRED_ID_LEN, "a", 1,
	    "0123456789012345678901234567890123456789012345678901234567890123456789"); /* > 64 */
	refuse(&w);
	header(&w, 4, 1, 32, 2); /* the same ID twice */
	entry(&w, 1, 1, CABLE_CRED_ID_LEN, "a", 1, "n");
	entry(&w, 1, 1, CABLE_CRED_ID_LEN, "b", 1, "m");
	refuse(&w);

	/* byte-level damage to a real store */
	tv_env_init(&e, 22);
	s = filled_store(&e);
	assert_int_equal(cable_cred_store_serialize(s, &b, &l), 0);
	for (size_t cut = 0; cut < l; cut++)
		assert_int_equal(cable_cred_store_parse(b, cut, &t), CABLE_ERR_STORE);
	assert_non_null(c = malloc(l + 1));
	memcpy(c, b, l);
	c[l] = 0;
	assert_int_equal(cable_cred_store_parse(c, l + 1, &t), CABLE_ERR_STORE); /* trailing byte */
	memcpy(c, b, l);
	c[0] = 0xbf; /* indefinite map */
	assert_int_equal(cable_cred_store_parse(c, l, &t), CABLE_ERR_STORE);
	memcpy(c, b, l);
	c[3] = 0x58; /* master secret length in the long form: not canonical */
	assert_int_equal(cable_cred_store_parse(c, l, &t), CABLE_ERR_STORE);
	assert_null(t);
	free(c);
	free(b);
	cable_cred_store_free(&s);
}

static char *
tmp_dir(void)
{
	char *d = strdup("/tmp/cable-store-XXXXXX");
	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

static uint8_t *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	assert_non_null(b = malloc((size_t)n + 1));
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void
test_file(void **state)
{
	struct tv_env e;
	struct cable_cred_store *s, *t;
	char *dir = tmp_dir(), path[512], tmp[600], link[512];
	struct stat st, st2;
	uint8_t *b, *c;
	size_t l, cl;
	int fd;
	mode_t old;

	(void)state;
	tv_env_init(&e, 23);
	snprintf(path, sizeof(path), "%s/creds", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);

	/* a missing file: a new store, written at once, mode 0600 even under a lax umask */
	old = umask(0);
	assert_int_equal(cable_cred_store_load_file(path, &e.env, &s), 0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(cable_cred_store_load_file(path, &e.env, &t), 0);
	assert_memory_equal(s->master, t->master, 32);
	cable_cred_store_free(&t);
	cable_cred_store_free(&s);

	/* save/load round trip; a stale temp file is replaced; no temp file stays */
	s = filled_store(&e);
	assert_int_equal(close(open(tmp, O_WRONLY | O_CREAT, 0644)), 0);
	assert_int_equal(stat(path, &st), 0);
	/* an fd opened before the save keeps reading the old file: replaced by rename, not rewritten */
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	assert_int_equal(cable_cred_store_save_file(s, path), 0);
	assert_int_equal(stat(path, &st2), 0);
	assert_true(st.st_ino != st2.st_ino);
	assert_int_equal(st2.st_mode & 07777, 0600);
	assert_int_equal(access(tmp, F_OK), -1);
	{
		uint8_t old_head[2];
		assert_int_equal(read(fd, old_head, 2), 2);
		close(fd);
	}
	assert_int_equal(cable_cred_store_load_file(path, &e.env, &t), 0);
	assert_int_equal(cable_cred_store_count(t), 2);
	assert_int_equal(cable_cred_store_serialize(s, &b, &l), 0);
	c = read_file(path, &cl);
	tv_assert_bytes(c, cl, b, l);
	free(c);
	cable_cred_store_free(&t);

	/* corrupt file: CABLE_ERR_STORE, and the file is left as it was */
	{
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(b, 1, l - 1, f), l - 1);
		fclose(f);
	}
	assert_int_equal(cable_cred_store_load_file(path, &e.env, &t), CABLE_ERR_STORE);
	c = read_file(path, &cl);
	tv_assert_bytes(c, cl, b, l - 1);
	free(c);
	/* empty file */
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(cable_cred_store_load_file(path, &e.env, &t), CABLE_ERR_STORE);
	/* a directory, a symlink */
	assert_int_equal(cable_cred_store_load_file(dir, &e.env, &t), CABLE_ERR_STORE);
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(cable_cred_store_load_file(link, &e.env, &t), CABLE_ERR_STORE);
	unlink(link);

	/* an unwritable directory: save fails, the old file is untouched */
	if (geteuid() != 0) {
		assert_int_equal(cable_cred_store_save_file(s, path), 0);
		assert_int_equal(chmod(dir, 0500), 0);
		assert_int_equal(cable_cred_store_save_file(s, path), CABLE_ERR_IO);
		assert_int_equal(chmod(dir, 0700), 0);
		c = read_file(path, &cl);
		tv_assert_bytes(c, cl, b, l);
		free(c);
	}
	{
		char missing[600];
		snprintf(missing, sizeof(missing), "%s/no/such/dir/creds", dir);
		assert_int_equal(cable_cred_store_save_file(s, missing), CABLE_ERR_IO);
	}
	free(b);
	cable_cred_store_free(&s);
	unlink(path);
	unlink(tmp);
	rmdir(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_parse_refusals),
	    cmocka_unit_test(test_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

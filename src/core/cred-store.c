/* The credential store in memory and its pure (de)serialisation; file I/O is in src/session. */
#include <stdlib.h>
#include <string.h>

#include "cable/bytes.h"
#include "cable/cbor.h"
#include "cable/error.h"
#include "cbor-writer.h"
#include "cred-store-internal.h"
#include "utf8.h"

void
cable_resident_clear(struct cable_resident *r)
{
	free(r->rp_id);
	free(r->user_name);
	free(r->user_display_name);
	cable_wipe(r, sizeof(*r));
}

int
cable_cred_store_new(const struct cable_env *env, struct cable_cred_store **out)
{
	struct cable_cred_store *s;
	int r;

	if (out == NULL)
		return CABLE_ERR_ARG;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return CABLE_ERR_NOMEM;
	if ((r = cable_env_random(env, s->master, sizeof(s->master))) != 0) {
		cable_cred_store_free(&s);
		return r;
	}
	*out = s;
	return 0;
}

void
cable_cred_store_free(struct cable_cred_store **sp)
{
	struct cable_cred_store *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		cable_resident_clear(&s->res[i]);
	cable_wipe(s, sizeof(*s));
	free(s);
	*sp = NULL;
}

size_t
cable_cred_store_count(const struct cable_cred_store *s)
{
	return s != NULL ? s->n : 0;
}

uint32_t
cable_cred_store_counter(const struct cable_cred_store *s)
{
	return s != NULL ? s->counter : 0;
}

int
cable_cred_store_get(const struct cable_cred_store *s, size_t i, struct cable_cred_info *info)
{
	const struct cable_resident *e;

	if (s == NULL || info == NULL || i >= s->n)
		return CABLE_ERR_ARG;
	e = &s->res[i];
	info->id = e->id;
	info->id_len = sizeof(e->id);
	info->rp_id = e->rp_id;
	info->user_id = e->user_id;
	info->user_id_len = e->user_id_len;
	info->user_name = e->user_name;
	info->user_display_name = e->user_display_name;
	return 0;
}

int
cable_cred_store_serialize(const struct cable_cred_store *s, uint8_t **out, size_t *out_len)
{
	struct cable_cbw w;

	if (s == NULL || out == NULL || out_len == NULL)
		return CABLE_ERR_ARG;
	cable_cbw_init(&w, CABLE_CRED_STORE_MAX_FILE);
	cable_cbw_map(&w, 4);
	cable_cbw_uint(&w, 1);
	cable_cbw_uint(&w, CABLE_CRED_STORE_VERSION);
	cable_cbw_uint(&w, 2);
	cable_cbw_bytes(&w, s->master, sizeof(s->master));
	cable_cbw_uint(&w, 3);
	cable_cbw_uint(&w, s->counter);
	cable_cbw_uint(&w, 4);
	cable_cbw_array(&w, s->n);
	for (size_t i = 0; i < s->n; i++) {
		const struct cable_resident *e = &s->res[i];
		cable_cbw_map(&w, 5);
		cable_cbw_uint(&w, 1);
		cable_cbw_bytes(&w, e->id, sizeof(e->id));
		cable_cbw_uint(&w, 2);
		cable_cbw_text(&w, e->rp_id);
		cable_cbw_uint(&w, 3);
		cable_cbw_bytes(&w, e->user_id, e->user_id_len);
		cable_cbw_uint(&w, 4);
		cable_cbw_text(&w, e->user_name);
		cable_cbw_uint(&w, 5);
		cable_cbw_text(&w, e->user_display_name);
	}
	return cable_cbw_finish(&w, out, out_len);
}

/* A text item as a new NUL-terminated string: valid UTF-8, no NUL, at most max bytes. */
static int
dup_text(const cbor_item_t *it, size_t max, char **out)
{
	size_t n;
	char *s;

	if (it == NULL || !cbor_isa_string(it) || !cbor_string_is_definite(it))
		return CABLE_ERR_STORE;
	n = cbor_string_length(it);
	if (n > max || !cable_utf8_valid(cbor_string_handle(it), n))
		return CABLE_ERR_STORE;
	if ((s = malloc(n + 1)) == NULL)
		return CABLE_ERR_NOMEM;
	if (n > 0)
		memcpy(s, cbor_string_handle(it), n);
	s[n] = '\0';
	*out = s;
	return 0;
}

static const uint8_t *
bytes_of(const cbor_item_t *it, size_t min, size_t max, size_t *len)
{
	if (it == NULL || !cbor_isa_bytestring(it) || !cbor_bytestring_is_definite(it))
		return NULL;
	*len = cbor_bytestring_length(it);
	if (*len < min || *len > max)
		return NULL;
	return cbor_bytestring_handle(it);
}

static int
parse_resident(const cbor_item_t *m, struct cable_resident *e)
{
	const uint8_t *p;
	size_t n;
	int r;

	if (!cbor_isa_map(m) || cbor_map_size(m) != 5)
		return CABLE_ERR_STORE;
	if ((p = bytes_of(cable_cbor_map_get_int(m, 1), CABLE_CRED_ID_LEN, CABLE_CRED_ID_LEN, &n)) == NULL)
		return CABLE_ERR_STORE;
	memcpy(e->id, p, n);
	if (e->id[0] != CABLE_CRED_ID_VERSION || !(e->id[1] & CABLE_CRED_ID_FLAG_RK))
		return CABLE_ERR_STORE;
	if ((r = dup_text(cable_cbor_map_get_int(m, 2), CABLE_RP_ID_MAX, &e->rp_id)) != 0)
		return r;
	if (e->rp_id[0] == '\0')
		return CABLE_ERR_STORE;
	if ((p = bytes_of(cable_cbor_map_get_int(m, 3), 1, CABLE_USER_ID_MAX, &n)) == NULL)
		return CABLE_ERR_STORE;
	memcpy(e->user_id, p, n);
	e->user_id_len = n;
	if ((r = dup_text(cable_cbor_map_get_int(m, 4), CABLE_USER_NAME_MAX, &e->user_name)) != 0)
		return r;
	if ((r = dup_text(cable_cbor_map_get_int(m, 5), CABLE_USER_NAME_MAX, &e->user_display_name)) != 0)
		return r;
	return 0;
}

int
cable_cred_store_parse(const uint8_t *buf, size_t len, struct cable_cred_store **out)
{
	struct cable_cred_store *s = NULL;
	cbor_item_t *root = NULL, *it;
	const uint8_t *p;
	size_t n;
	int64_t v;
	int r = CABLE_ERR_STORE;

	if (buf == NULL || out == NULL)
		return CABLE_ERR_ARG;
	if (len == 0 || len > CABLE_CRED_STORE_MAX_FILE)
		return CABLE_ERR_STORE;
	if ((r = cable_cbor_load(buf, len, CABLE_CBOR_CANONICAL, &root)) != 0) {
		r = r == CABLE_ERR_NOMEM ? r : CABLE_ERR_STORE;
		goto out;
	}
	r = CABLE_ERR_STORE;
	if (!cbor_isa_map(root) || cbor_map_size(root) != 4)
		goto out;
	if (cable_cbor_get_int(cable_cbor_map_get_int(root, 1), &v) != 0 || v != CABLE_CRED_STORE_VERSION)
		goto out;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	if ((p = bytes_of(cable_cbor_map_get_int(root, 2), CABLE_MASTER_LEN, CABLE_MASTER_LEN, &n)) == NULL)
		goto out;
	memcpy(s->master, p, n);
	if (cable_cbor_get_int(cable_cbor_map_get_int(root, 3), &v) != 0 || v < 0 || v > UINT32_MAX)
		goto out;
	s->counter = (uint32_t)v;
	it = cable_cbor_map_get_int(root, 4);
	if (it == NULL || !cbor_isa_array(it) || cbor_array_size(it) > CABLE_CRED_STORE_MAX)
		goto out;
	for (size_t i = 0; i < cbor_array_size(it); i++) {
		struct cable_resident *e = &s->res[i];
		s->n = i + 1; /* so that free() clears a half-parsed entry */
		if ((r = parse_resident(cbor_array_handle(it)[i], e)) != 0)
			goto out;
		r = CABLE_ERR_STORE;
		for (size_t j = 0; j < i; j++)
			if (memcmp(s->res[j].id, e->id, CABLE_CRED_ID_LEN) == 0)
				goto out;
	}
	*out = s;
	s = NULL;
	r = 0;
out:
	cable_cred_store_free(&s);
	if (root != NULL) {
		/* The master secret passed through libcbor's copy of the buffer. */
		if (cbor_isa_map(root) && (it = cable_cbor_map_get_int(root, 2)) != NULL &&
		    cbor_isa_bytestring(it) && cbor_bytestring_is_definite(it))
			cable_wipe(cbor_bytestring_handle(it), cbor_bytestring_length(it));
		cbor_decref(&root);
	}
	return r;
}

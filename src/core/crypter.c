/* The transport crypter: per-direction AES-256-GCM keys and counters, 32-byte padding. */
#include <stdlib.h>
#include <string.h>

#include "aes-gcm.h"
#include "cable/bytes.h"
#include "cable/crypter.h"
#include "cable/error.h"
#include "crypter-private.h"

/* Counters are at most 2^24; one past the maximum means exhausted. */
struct cable_crypter {
	uint8_t read_key[CABLE_CRYPTER_KEY_LEN];
	uint8_t write_key[CABLE_CRYPTER_KEY_LEN];
	uint32_t read_counter;
	uint32_t write_counter;
};

struct cable_crypter *
cable_crypter_new(const uint8_t read_key[CABLE_CRYPTER_KEY_LEN],
    const uint8_t write_key[CABLE_CRYPTER_KEY_LEN])
{
	struct cable_crypter *c;

	if (read_key == NULL || write_key == NULL)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	memcpy(c->read_key, read_key, CABLE_CRYPTER_KEY_LEN);
	memcpy(c->write_key, write_key, CABLE_CRYPTER_KEY_LEN);
	return c;
}

void
cable_crypter_free(struct cable_crypter **c)
{
	if (c == NULL || *c == NULL)
		return;
	cable_wipe(*c, sizeof(**c));
	free(*c);
	*c = NULL;
}

/* The "new construction": 8 zero bytes, then the counter big-endian. */
static int
make_nonce(uint32_t counter, uint8_t nonce[CABLE_AESGCM_NONCE_LEN])
{
	if (counter > CABLE_CRYPTER_MAX_COUNTER)
		return CABLE_ERR_COUNTER;
	memset(nonce, 0, CABLE_AESGCM_NONCE_LEN);
	nonce[8] = (uint8_t)(counter >> 24);
	nonce[9] = (uint8_t)(counter >> 16);
	nonce[10] = (uint8_t)(counter >> 8);
	nonce[11] = (uint8_t)counter;
	return 0;
}

size_t
cable_crypter_padded_len(size_t len)
{
	if (len > SIZE_MAX - 2 * CABLE_CRYPTER_PADDING)
		return 0;
	return (len + 1 + CABLE_CRYPTER_PADDING - 1) & ~(size_t)(CABLE_CRYPTER_PADDING - 1);
}

int
cable_crypter_unpad(const uint8_t *buf, size_t len, size_t *unpadded_len)
{
	size_t z;

	if (unpadded_len == NULL || (buf == NULL && len > 0))
		return CABLE_ERR_ARG;
	if (len == 0)
		return CABLE_ERR_PADDING;
	z = buf[len - 1];
	if (z + 1 > len)
		return CABLE_ERR_PADDING;
	*unpadded_len = len - z - 1;
	return 0;
}

int
cable_crypter_encrypt(struct cable_crypter *c, const uint8_t *pt, size_t pt_len, uint8_t **out,
    size_t *out_len)
{
	uint8_t nonce[CABLE_AESGCM_NONCE_LEN];
	uint8_t *buf = NULL;
	size_t padded;
	int r;

	if (c == NULL || out == NULL || out_len == NULL || (pt == NULL && pt_len > 0))
		return CABLE_ERR_ARG;
	if (pt_len > CABLE_CRYPTER_MAX_MESSAGE)
		return CABLE_ERR_TOO_BIG;
	padded = cable_crypter_padded_len(pt_len);
	if (padded + CABLE_CRYPTER_TAG_LEN > CABLE_CRYPTER_MAX_MESSAGE)
		return CABLE_ERR_TOO_BIG;
	if ((r = make_nonce(c->write_counter, nonce)) != 0)
		return r;
	if ((buf = calloc(1, padded + CABLE_CRYPTER_TAG_LEN)) == NULL)
		return CABLE_ERR_NOMEM;
	if (pt_len > 0)
		memcpy(buf, pt, pt_len);
	buf[padded - 1] = (uint8_t)(padded - pt_len - 1);
	if ((r = cable_aesgcm_seal(c->write_key, nonce, NULL, 0, buf, padded, buf)) != 0) {
		cable_wipe(buf, padded);
		free(buf);
		return r;
	}
	c->write_counter++;
	*out = buf;
	*out_len = padded + CABLE_CRYPTER_TAG_LEN;
	return 0;
}

int
cable_crypter_decrypt(struct cable_crypter *c, const uint8_t *ct, size_t ct_len, uint8_t **out,
    size_t *out_len)
{
	uint8_t nonce[CABLE_AESGCM_NONCE_LEN];
	uint8_t *buf = NULL;
	size_t pt_len, unpadded;
	int r;

	if (c == NULL || out == NULL || out_len == NULL || (ct == NULL && ct_len > 0))
		return CABLE_ERR_ARG;
	if (ct_len > CABLE_CRYPTER_MAX_MESSAGE)
		return CABLE_ERR_TOO_BIG;
	if ((r = make_nonce(c->read_counter, nonce)) != 0)
		return r;
	if (ct_len < CABLE_CRYPTER_TAG_LEN)
		return CABLE_ERR_AUTH;
	pt_len = ct_len - CABLE_CRYPTER_TAG_LEN;
	/* One spare byte so that an empty plaintext still gets a non-NULL buffer. */
	if ((buf = malloc(pt_len + 1)) == NULL)
		return CABLE_ERR_NOMEM;
	if ((r = cable_aesgcm_open(c->read_key, nonce, NULL, 0, ct, ct_len, buf)) != 0)
		goto out;
	c->read_counter++;
	if ((r = cable_crypter_unpad(buf, pt_len, &unpadded)) != 0)
		goto out;
	/* Wipe the padding so that nothing beyond *out_len keeps plaintext. */
	cable_wipe(buf + unpadded, pt_len - unpadded);
	*out = buf;
	*out_len = unpadded;
	buf = NULL;
	r = 0;
out:
	if (buf != NULL) {
		cable_wipe(buf, pt_len + 1);
		free(buf);
	}
	return r;
}

uint32_t
cable_crypter_read_counter(const struct cable_crypter *c)
{
	return c != NULL ? c->read_counter : 0;
}

uint32_t
cable_crypter_write_counter(const struct cable_crypter *c)
{
	return c != NULL ? c->write_counter : 0;
}

void
cable_crypter_set_counters_for_testing(struct cable_crypter *c, uint32_t read_counter,
    uint32_t write_counter)
{
	c->read_counter = read_counter;
	c->write_counter = write_counter;
}

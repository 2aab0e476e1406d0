/* BLE advert: EID plaintext layout, AES-256 + truncated HMAC encryption, trial decryption, suffix. */
#include <string.h>

#include <openssl/evp.h>

#include "cable/advert.h"
#include "cable/bytes.h"
#include "cable/cbor.h"
#include "cable/crypto.h"
#include "cable/error.h"

#define EID_OFF_NONCE 1
#define EID_OFF_ROUTING 11
#define EID_OFF_DOMAIN 14
/* The channel ID of BLE (L2CAP) in the suffix map; its extra is the PSM. */
#define SUFFIX_CHANNEL_BLE 1

void
cable_eid_serialize(const struct cable_eid *eid, uint8_t plain[CABLE_EID_PLAIN_LEN])
{
	plain[0] = 0;
	memcpy(plain + EID_OFF_NONCE, eid->nonce, CABLE_EID_NONCE_LEN);
	memcpy(plain + EID_OFF_ROUTING, eid->routing_id, CABLE_ROUTING_ID_LEN);
	plain[EID_OFF_DOMAIN] = (uint8_t)(eid->domain_id & 0xff);
	plain[EID_OFF_DOMAIN + 1] = (uint8_t)(eid->domain_id >> 8);
}

int
cable_eid_parse(const uint8_t plain[CABLE_EID_PLAIN_LEN], struct cable_eid *out)
{
	uint16_t domain;

	if (plain == NULL || out == NULL)
		return CABLE_ERR_ARG;
	if (plain[0] != 0)
		return CABLE_ERR_ADVERT_RESERVED;
	domain = (uint16_t)(plain[EID_OFF_DOMAIN] | plain[EID_OFF_DOMAIN + 1] << 8);
	/* Assigned IDs beyond the two we know cannot be resolved to a host (hybrid §3.4). */
	if (domain >= 2 && domain <= 255)
		return CABLE_ERR_ADVERT_DOMAIN;
	memcpy(out->nonce, plain + EID_OFF_NONCE, CABLE_EID_NONCE_LEN);
	memcpy(out->routing_id, plain + EID_OFF_ROUTING, CABLE_ROUTING_ID_LEN);
	out->domain_id = domain;
	return 0;
}

/* One AES-256 block in ECB mode, no padding; enc selects the direction. */
static int
aes256_block(const uint8_t key[32], const uint8_t in[16], uint8_t out[16], int enc)
{
	EVP_CIPHER_CTX *ctx;
	int n = 0, r = CABLE_ERR_CRYPTO;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return CABLE_ERR_NOMEM;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_ecb(), NULL, key, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 || EVP_CipherUpdate(ctx, out, &n, in, 16) != 1 ||
	    n != 16)
		goto out;
	r = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

static int
advert_tag(const uint8_t eid_key[CABLE_EID_KEY_LEN], const uint8_t ct[16],
    uint8_t tag[CABLE_ADVERT_TAG_LEN])
{
	uint8_t mac[CABLE_SHA256_LEN];

	if (cable_hmac_sha256(eid_key + 32, 32, ct, 16, mac) != 0)
		return CABLE_ERR_CRYPTO;
	memcpy(tag, mac, CABLE_ADVERT_TAG_LEN);
	return 0;
}

int
cable_advert_encrypt(const uint8_t eid_key[CABLE_EID_KEY_LEN],
    const uint8_t plain[CABLE_EID_PLAIN_LEN], uint8_t advert[CABLE_ADVERT_LEN])
{
	uint8_t buf[CABLE_ADVERT_LEN];
	int r;

	if (eid_key == NULL || plain == NULL || advert == NULL)
		return CABLE_ERR_ARG;
	if ((r = aes256_block(eid_key, plain, buf, 1)) != 0 ||
	    (r = advert_tag(eid_key, buf, buf + 16)) != 0)
		goto out;
	memcpy(advert, buf, sizeof(buf));
out:
	cable_wipe(buf, sizeof(buf));
	return r;
}

int
cable_advert_build(const uint8_t eid_key[CABLE_EID_KEY_LEN], const struct cable_env *env,
    const uint8_t routing_id[CABLE_ROUTING_ID_LEN], uint16_t domain_id,
    uint8_t advert[CABLE_ADVERT_LEN], struct cable_eid *eid_out,
    uint8_t plain_out[CABLE_EID_PLAIN_LEN])
{
	struct cable_eid eid;
	uint8_t plain[CABLE_EID_PLAIN_LEN], adv[CABLE_ADVERT_LEN];
	int r = CABLE_ERR_INTERNAL;

	if (eid_key == NULL || routing_id == NULL || advert == NULL)
		return CABLE_ERR_ARG;
	memset(&eid, 0, sizeof(eid));
	if ((r = cable_env_random(env, eid.nonce, sizeof(eid.nonce))) != 0)
		goto out;
	memcpy(eid.routing_id, routing_id, CABLE_ROUTING_ID_LEN);
	eid.domain_id = domain_id;
	cable_eid_serialize(&eid, plain);
	if ((r = cable_advert_encrypt(eid_key, plain, adv)) != 0)
		goto out;
	memcpy(advert, adv, sizeof(adv));
	if (eid_out != NULL)
		*eid_out = eid;
	if (plain_out != NULL)
		memcpy(plain_out, plain, sizeof(plain));
	r = 0;
out:
	cable_wipe(plain, sizeof(plain));
	cable_wipe(&eid, sizeof(eid));
	return r;
}

int
cable_advert_suffix_parse(const uint8_t *buf, size_t len, struct cable_advert_suffix *out)
{
	struct cable_advert_suffix s;
	cbor_item_t *map = NULL, *v;
	int r = CABLE_ERR_INTERNAL;

	memset(&s, 0, sizeof(s));
	if ((buf == NULL && len > 0) || out == NULL)
		return CABLE_ERR_ARG;
	if (len == 0 || len > CABLE_ADVERT_MAX) {
		r = len == 0 ? CABLE_ERR_CBOR : CABLE_ERR_TOO_BIG;
		goto out;
	}
	if ((r = cable_cbor_load(buf, len, 0, &map)) != 0)
		goto out;
	if (!cbor_isa_map(map) || !cbor_map_is_definite(map)) {
		r = CABLE_ERR_CBOR_TYPE;
		goto out;
	}
	if ((v = cable_cbor_map_get_int(map, SUFFIX_CHANNEL_BLE)) != NULL && cbor_isa_uint(v) &&
	    cbor_get_int(v) <= 0xffff) {
		s.has_ble_psm = true;
		s.ble_psm = (uint16_t)cbor_get_int(v);
	}
	*out = s;
	r = 0;
out:
	if (map != NULL)
		cbor_decref(&map);
	return r;
}

int
cable_advert_open(const uint8_t eid_key[CABLE_EID_KEY_LEN], const uint8_t *data, size_t len,
    unsigned flags, struct cable_advert *out)
{
	struct cable_advert a;
	uint8_t tag[CABLE_ADVERT_TAG_LEN];
	int r = CABLE_ERR_INTERNAL;

	memset(&a, 0, sizeof(a));
	if (eid_key == NULL || (data == NULL && len > 0) || out == NULL)
		return CABLE_ERR_ARG;
	if (len < CABLE_ADVERT_LEN || len > CABLE_ADVERT_MAX ||
	    (len != CABLE_ADVERT_LEN && !(flags & CABLE_ADVERT_ALLOW_SUFFIX))) {
		r = CABLE_ERR_ADVERT_LENGTH;
		goto out;
	}
	if ((r = advert_tag(eid_key, data, tag)) != 0)
		goto out;
	if (!cable_ct_equal(tag, data + 16, CABLE_ADVERT_TAG_LEN)) {
		r = CABLE_ERR_ADVERT_TAG;
		goto out;
	}
	if ((r = aes256_block(eid_key, data, a.plaintext, 0)) != 0)
		goto out;
	if ((r = cable_eid_parse(a.plaintext, &a.eid)) != 0)
		goto out;
	if (len > CABLE_ADVERT_LEN &&
	    (r = cable_advert_suffix_parse(data + CABLE_ADVERT_LEN, len - CABLE_ADVERT_LEN,
	    &a.suffix)) != 0)
		goto out;
	memcpy(out, &a, sizeof(a));
	r = 0;
out:
	cable_wipe(&a, sizeof(a));
	return r;
}

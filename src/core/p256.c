/* P-256 on OpenSSL 3: key generation and derivation, point encodings, ECDH and ECDSA. */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include "cable/bytes.h"
#include "cable/crypto.h"
#include "cable/error.h"
#include "cable/p256.h"

/* The group and a BN context, created together and released together. */
struct curve {
	EC_GROUP *group;
	BN_CTX *bn;
};

static int
curve_open(struct curve *c)
{
	c->bn = BN_CTX_new();
	c->group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	return (c->bn != NULL && c->group != NULL) ? 0 : CABLE_ERR_NOMEM;
}

static void
curve_close(struct curve *c)
{
	EC_GROUP_free(c->group);
	BN_CTX_free(c->bn);
}

/* Parses any SEC1 encoding; EC_POINT_oct2point checks that the point is on the curve. */
static int
point_from_octets(const struct curve *c, const uint8_t *buf, size_t len, EC_POINT **out)
{
	EC_POINT *p;

	if ((p = EC_POINT_new(c->group)) == NULL)
		return CABLE_ERR_NOMEM;
	if (EC_POINT_oct2point(c->group, p, buf, len, c->bn) != 1 ||
	    EC_POINT_is_at_infinity(c->group, p) || EC_POINT_is_on_curve(c->group, p, c->bn) != 1) {
		EC_POINT_free(p);
		return CABLE_ERR_POINT;
	}
	*out = p;
	return 0;
}

static int
point_to_octets(const struct curve *c, const EC_POINT *p, point_conversion_form_t form, uint8_t *out,
    size_t len)
{
	return EC_POINT_point2oct(c->group, p, form, out, len, c->bn) == len ? 0 : CABLE_ERR_CRYPTO;
}

int
cable_p256_from_private(const uint8_t priv[CABLE_P256_PRIV_LEN], struct cable_p256_key *key)
{
	struct curve c;
	BIGNUM *d = NULL;
	EC_POINT *pub = NULL;
	int r = CABLE_ERR_CRYPTO;

	if (priv == NULL || key == NULL)
		return CABLE_ERR_ARG;
	if ((r = curve_open(&c)) != 0)
		goto out;
	r = CABLE_ERR_CRYPTO;
	if ((d = BN_secure_new()) == NULL || (pub = EC_POINT_new(c.group)) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	BN_set_flags(d, BN_FLG_CONSTTIME);
	if (BN_bin2bn(priv, CABLE_P256_PRIV_LEN, d) == NULL)
		goto out;
	if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(c.group)) >= 0) {
		r = CABLE_ERR_ARG;
		goto out;
	}
	if (EC_POINT_mul(c.group, pub, d, NULL, NULL, c.bn) != 1)
		goto out;
	if ((r = point_to_octets(&c, pub, POINT_CONVERSION_UNCOMPRESSED, key->pub, CABLE_P256_PUB_LEN)) != 0)
		goto out;
	if (priv != key->priv)
		memcpy(key->priv, priv, CABLE_P256_PRIV_LEN);
	r = 0;
out:
	BN_clear_free(d);
	EC_POINT_free(pub);
	curve_close(&c);
	return r;
}

int
cable_p256_generate(const struct cable_env *env, struct cable_p256_key *key)
{
	uint8_t d[CABLE_P256_PRIV_LEN];
	int r = CABLE_ERR_RANDOM;

	if (key == NULL)
		return CABLE_ERR_ARG;
	/* Rejection sampling: a candidate is out of range with probability about 2^-32. */
	for (int tries = 0; tries < 64; tries++) {
		if ((r = cable_env_random(env, d, sizeof(d))) != 0)
			break;
		if ((r = cable_p256_from_private(d, key)) != CABLE_ERR_ARG)
			break;
		r = CABLE_ERR_RANDOM;
	}
	cable_wipe(d, sizeof(d));
	return r;
}

int
cable_p256_derive_from_secret(const uint8_t *secret, size_t secret_len, struct cable_p256_key *key)
{
	static const char label[] = "derive EC key P-256";
	uint8_t okm[48], d_bytes[CABLE_P256_PRIV_LEN];
	struct curve c = {NULL, NULL};
	BIGNUM *okm_bn = NULL, *d = NULL;
	int r;

	if ((secret == NULL && secret_len > 0) || key == NULL)
		return CABLE_ERR_ARG;
	/* BoringSSL: 32 bytes of order plus 16 extra, so the reduction mod n is nearly uniform. */
	if ((r = cable_hkdf_sha256(NULL, 0, secret, secret_len, (const uint8_t *)label,
		 sizeof(label) - 1, okm, sizeof(okm))) != 0)
		goto out;
	if ((r = curve_open(&c)) != 0)
		goto out;
	r = CABLE_ERR_CRYPTO;
	if ((okm_bn = BN_secure_new()) == NULL || (d = BN_secure_new()) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	if (BN_bin2bn(okm, sizeof(okm), okm_bn) == NULL ||
	    BN_nnmod(d, okm_bn, EC_GROUP_get0_order(c.group), c.bn) != 1 ||
	    BN_bn2binpad(d, d_bytes, sizeof(d_bytes)) != (int)sizeof(d_bytes))
		goto out;
	r = cable_p256_from_private(d_bytes, key);
out:
	cable_wipe(okm, sizeof(okm));
	cable_wipe(d_bytes, sizeof(d_bytes));
	BN_clear_free(okm_bn);
	BN_clear_free(d);
	curve_close(&c);
	return r;
}

void
cable_p256_key_wipe(struct cable_p256_key *key)
{
	if (key != NULL)
		cable_wipe(key, sizeof(*key));
}

static int
convert(const uint8_t *in, size_t in_len, point_conversion_form_t form, uint8_t *out, size_t out_len)
{
	struct curve c;
	EC_POINT *p = NULL;
	int r;

	if (in == NULL || out == NULL)
		return CABLE_ERR_ARG;
	if ((r = curve_open(&c)) != 0)
		goto out;
	if ((r = point_from_octets(&c, in, in_len, &p)) != 0)
		goto out;
	r = point_to_octets(&c, p, form, out, out_len);
out:
	EC_POINT_free(p);
	curve_close(&c);
	return r;
}

int
cable_p256_compress(const uint8_t pub[CABLE_P256_PUB_LEN], uint8_t out[CABLE_P256_COMP_LEN])
{
	if (pub == NULL || pub[0] != 0x04)
		return CABLE_ERR_POINT;
	return convert(pub, CABLE_P256_PUB_LEN, POINT_CONVERSION_COMPRESSED, out, CABLE_P256_COMP_LEN);
}

int
cable_p256_decompress(const uint8_t comp[CABLE_P256_COMP_LEN], uint8_t out[CABLE_P256_PUB_LEN])
{
	if (comp == NULL || (comp[0] != 0x02 && comp[0] != 0x03))
		return CABLE_ERR_POINT;
	return convert(comp, CABLE_P256_COMP_LEN, POINT_CONVERSION_UNCOMPRESSED, out, CABLE_P256_PUB_LEN);
}

int
cable_p256_check_public(const uint8_t pub[CABLE_P256_PUB_LEN])
{
	uint8_t tmp[CABLE_P256_PUB_LEN];

	if (pub == NULL || pub[0] != 0x04)
		return CABLE_ERR_POINT;
	return convert(pub, CABLE_P256_PUB_LEN, POINT_CONVERSION_UNCOMPRESSED, tmp, sizeof(tmp));
}

int
cable_p256_ecdh(const struct cable_p256_key *key, const uint8_t peer[CABLE_P256_PUB_LEN],
    uint8_t out[CABLE_P256_ECDH_LEN])
{
	struct curve c;
	BIGNUM *d = NULL, *x = NULL;
	EC_POINT *p = NULL, *shared = NULL;
	int r;

	if (key == NULL || peer == NULL || out == NULL)
		return CABLE_ERR_ARG;
	if (peer[0] != 0x04)
		return CABLE_ERR_POINT;
	if ((r = curve_open(&c)) != 0)
		goto out;
	if ((r = point_from_octets(&c, peer, CABLE_P256_PUB_LEN, &p)) != 0)
		goto out;
	r = CABLE_ERR_NOMEM;
	if ((d = BN_secure_new()) == NULL || (x = BN_new()) == NULL ||
	    (shared = EC_POINT_new(c.group)) == NULL)
		goto out;
	r = CABLE_ERR_CRYPTO;
	BN_set_flags(d, BN_FLG_CONSTTIME);
	/* A single-point multiplication takes OpenSSL's constant-time path, as ECDH itself does. */
	if (BN_bin2bn(key->priv, CABLE_P256_PRIV_LEN, d) == NULL ||
	    EC_POINT_mul(c.group, shared, NULL, p, d, c.bn) != 1 ||
	    EC_POINT_is_at_infinity(c.group, shared) ||
	    EC_POINT_get_affine_coordinates(c.group, shared, x, NULL, c.bn) != 1 ||
	    BN_bn2binpad(x, out, CABLE_P256_ECDH_LEN) != CABLE_P256_ECDH_LEN)
		goto out;
	r = 0;
out:
	BN_clear_free(d);
	BN_clear_free(x);
	EC_POINT_clear_free(shared);
	EC_POINT_free(p);
	curve_close(&c);
	return r;
}

/* An EVP_PKEY for ECDSA from raw bytes; priv may be NULL for a public key. */
static int
pkey_from_raw(const uint8_t *priv, const uint8_t pub[CABLE_P256_PUB_LEN], EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *d = NULL;
	int r = CABLE_ERR_CRYPTO;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, CABLE_P256_PUB_LEN) != 1)
		goto out;
	if (priv != NULL) {
		if ((d = BN_secure_new()) == NULL || BN_bin2bn(priv, CABLE_P256_PRIV_LEN, d) == NULL ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1)
			goto out;
	}
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, out, priv != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
		params) != 1)
		goto out;
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(d);
	return r;
}

int
cable_p256_sign(const struct cable_p256_key *key, const uint8_t *msg, size_t msg_len, uint8_t *sig,
    size_t *sig_len)
{
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *md = NULL;
	size_t len = 72;
	int r;

	if (key == NULL || (msg == NULL && msg_len > 0) || sig == NULL || sig_len == NULL ||
	    *sig_len < 72)
		return CABLE_ERR_ARG;
	if ((r = pkey_from_raw(key->priv, key->pub, &pkey)) != 0)
		goto out;
	r = CABLE_ERR_CRYPTO;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, pkey, NULL) != 1 ||
	    EVP_DigestSign(md, sig, &len, msg, msg_len) != 1)
		goto out;
	*sig_len = len;
	r = 0;
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	return r;
}

int
cable_p256_verify(const uint8_t pub[CABLE_P256_PUB_LEN], const uint8_t *msg, size_t msg_len,
    const uint8_t *sig, size_t sig_len)
{
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *md = NULL;
	int r;

	if (pub == NULL || (msg == NULL && msg_len > 0) || sig == NULL)
		return CABLE_ERR_ARG;
	if ((r = cable_p256_check_public(pub)) != 0)
		return r;
	if ((r = pkey_from_raw(NULL, pub, &pkey)) != 0)
		goto out;
	r = CABLE_ERR_CRYPTO;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pkey, NULL) != 1)
		goto out;
	r = EVP_DigestVerify(md, sig, sig_len, msg, msg_len) == 1 ? 0 : CABLE_ERR_AUTH;
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	return r;
}

/* HKDF, HMAC and SHA-256 on OpenSSL 3, with errors mapped to CABLE_ERR_CRYPTO. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "cable/crypto.h"
#include "cable/error.h"

int
cable_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
    const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
	static const uint8_t zero_salt[CABLE_SHA256_LEN];
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *ctx = NULL;
	OSSL_PARAM params[5], *p = params;
	int r = CABLE_ERR_CRYPTO;

	if (out == NULL || out_len == 0 || out_len > 255 * CABLE_SHA256_LEN ||
	    (ikm == NULL && ikm_len > 0) || (info == NULL && info_len > 0))
		return CABLE_ERR_ARG;
	if (salt == NULL || salt_len == 0) {
		salt = zero_salt;
		salt_len = sizeof(zero_salt);
	}
	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL || (ctx = EVP_KDF_CTX_new(kdf)) == NULL)
		goto out;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)(uintptr_t)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(uintptr_t)salt, salt_len);
	/* OpenSSL refuses an empty key; HKDF-Extract with an empty IKM is HMAC(salt, ""). */
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)(uintptr_t)(ikm_len > 0 ? ikm : (const uint8_t *)""), ikm_len);
	if (info_len > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)(uintptr_t)info,
		    info_len);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, out_len, params) != 1)
		goto out;
	r = 0;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return r;
}

int
cable_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
    uint8_t out[CABLE_SHA256_LEN])
{
	unsigned int len = 0;

	if (key_len > INT32_MAX || (msg == NULL && msg_len > 0))
		return CABLE_ERR_ARG;
	if (HMAC(EVP_sha256(), key_len > 0 ? key : (const uint8_t *)"", (int)key_len,
		msg_len > 0 ? msg : (const uint8_t *)"", msg_len, out, &len) == NULL ||
	    len != CABLE_SHA256_LEN)
		return CABLE_ERR_CRYPTO;
	return 0;
}

int
cable_sha256(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
    uint8_t out[CABLE_SHA256_LEN])
{
	EVP_MD_CTX *ctx;
	unsigned int len = 0;
	int r = CABLE_ERR_CRYPTO;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return CABLE_ERR_NOMEM;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    (a_len > 0 && EVP_DigestUpdate(ctx, a, a_len) != 1) ||
	    (b_len > 0 && EVP_DigestUpdate(ctx, b, b_len) != 1) ||
	    EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != CABLE_SHA256_LEN)
		goto out;
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	return r;
}

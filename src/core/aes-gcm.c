/* AES-256-GCM on OpenSSL 3's EVP interface, with errors mapped to CABLE_ERR_*. */
#include <limits.h>
#include <string.h>

#include <openssl/evp.h>

#include "aes-gcm.h"
#include "cable/bytes.h"
#include "cable/error.h"

int
cable_aesgcm_seal(const uint8_t key[CABLE_AESGCM_KEY_LEN],
    const uint8_t nonce[CABLE_AESGCM_NONCE_LEN], const uint8_t *ad, size_t ad_len,
    const uint8_t *pt, size_t pt_len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = NULL;
	int len = 0, r = CABLE_ERR_CRYPTO;

	if (key == NULL || nonce == NULL || out == NULL || (ad == NULL && ad_len > 0) ||
	    (pt == NULL && pt_len > 0) || ad_len > INT_MAX || pt_len > INT_MAX - 16)
		return CABLE_ERR_ARG;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return CABLE_ERR_NOMEM;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1)
		goto out;
	if (ad_len > 0 && EVP_EncryptUpdate(ctx, NULL, &len, ad, (int)ad_len) != 1)
		goto out;
	if (pt_len > 0 && EVP_EncryptUpdate(ctx, out, &len, pt, (int)pt_len) != 1)
		goto out;
	if (EVP_EncryptFinal_ex(ctx, out + pt_len, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CABLE_AESGCM_TAG_LEN, out + pt_len) != 1)
		goto out;
	r = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

int
cable_aesgcm_open(const uint8_t key[CABLE_AESGCM_KEY_LEN],
    const uint8_t nonce[CABLE_AESGCM_NONCE_LEN], const uint8_t *ad, size_t ad_len,
    const uint8_t *ct, size_t ct_len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t tag[CABLE_AESGCM_TAG_LEN], fin[16];
	size_t pt_len;
	int len = 0, r = CABLE_ERR_CRYPTO;

	if (key == NULL || nonce == NULL || ct == NULL || (ad == NULL && ad_len > 0) ||
	    ad_len > INT_MAX || ct_len > INT_MAX)
		return CABLE_ERR_ARG;
	if (ct_len < CABLE_AESGCM_TAG_LEN)
		return CABLE_ERR_AUTH;
	pt_len = ct_len - CABLE_AESGCM_TAG_LEN;
	if (out == NULL && pt_len > 0)
		return CABLE_ERR_ARG;
	/* Copy the tag first: out may overlap ct. */
	memcpy(tag, ct + pt_len, sizeof(tag));
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return CABLE_ERR_NOMEM;
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1)
		goto out;
	if (ad_len > 0 && EVP_DecryptUpdate(ctx, NULL, &len, ad, (int)ad_len) != 1)
		goto out;
	if (pt_len > 0 && EVP_DecryptUpdate(ctx, out, &len, ct, (int)pt_len) != 1)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, sizeof(tag), tag) != 1)
		goto out;
	if (EVP_DecryptFinal_ex(ctx, fin, &len) != 1) {
		/* Never hand out plaintext that failed authentication. */
		if (pt_len > 0)
			cable_wipe(out, pt_len);
		r = CABLE_ERR_AUTH;
		goto out;
	}
	r = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

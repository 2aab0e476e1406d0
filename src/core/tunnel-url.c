/* Tunnel server domains (assigned and hashed), wss:// URL builders and the strict path parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cable/bytes.h"
#include "cable/crypto.h"
#include "cable/error.h"
#include "cable/tunnel-url.h"

static const char *const assigned_domains[] = {"cable.ua5v.com", "cable.auth.com"};
#define ASSIGNED_COUNT (sizeof(assigned_domains) / sizeof(assigned_domains[0]))
#define HOST_ARG_MAX 255
/* base64url characters of the longest contact ID: ceil(1024 * 4 / 3). */
#define CONTACT_B64_MAX ((CABLE_CONTACT_ID_MAX * 4 + 2) / 3)

int
cable_tunnel_domain(uint16_t domain_id, char *out, size_t out_len)
{
	/* The trailing NUL of the C string literal is part of the hashed input (hybrid §4.1). */
	static const char prefix[] = "caBLEv2 tunnel server domain";
	static const char *const tlds[] = {"com", "org", "net", "info"};
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint8_t input[sizeof(prefix) - 1 + 3], digest[CABLE_SHA256_LEN];
	char label[16];
	size_t n = 0;
	uint64_t v = 0;
	int w;

	if (out == NULL || out_len == 0)
		return CABLE_ERR_ARG;
	if (domain_id < ASSIGNED_COUNT) {
		if (strlen(assigned_domains[domain_id]) >= out_len)
			return CABLE_ERR_ARG;
		memcpy(out, assigned_domains[domain_id], strlen(assigned_domains[domain_id]) + 1);
		return 0;
	}
	if (domain_id < 256)
		return CABLE_ERR_DOMAIN;
	memcpy(input, prefix, sizeof(prefix) - 1);
	input[sizeof(prefix) - 1] = (uint8_t)(domain_id & 0xff);
	input[sizeof(prefix)] = (uint8_t)(domain_id >> 8);
	input[sizeof(prefix) + 1] = 0;
	if (cable_sha256(input, sizeof(input), NULL, 0, digest) != 0)
		return CABLE_ERR_CRYPTO;
	for (size_t i = 8; i > 0; i--)
		v = v << 8 | digest[i - 1];
	{
		const char *tld = tlds[v & 3];
		v >>= 2;
		/* 62 bits in 5-bit steps: at most 13 characters. */
		while (v != 0 && n < sizeof(label) - 1) {
			label[n++] = alphabet[v & 31];
			v >>= 5;
		}
		label[n] = '\0';
		w = snprintf(out, out_len, "cable.%s.%s", label, tld);
	}
	if (w < 0 || (size_t)w >= out_len)
		return CABLE_ERR_ARG;
	return 0;
}

/* A host (optionally with :port or a [v6] literal) that cannot change the URL's structure. */
static bool
host_ok(const char *host)
{
	size_t n;

	if (host == NULL || (n = strlen(host)) == 0 || n > HOST_ARG_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)host[i];
		if (c <= 0x20 || c >= 0x7f || strchr("/?#@\\%", c) != NULL)
			return false;
	}
	return true;
}

/* Takes ownership of the result of asprintf. */
static int
url_done(int n, char *s, char **url)
{
	if (n < 0)
		return CABLE_ERR_NOMEM;
	*url = s;
	return 0;
}

int
cable_tunnel_new_url(const char *host, const uint8_t tunnel_id[CABLE_TUNNEL_ID_LEN], char **url)
{
	char tid[2 * CABLE_TUNNEL_ID_LEN + 1];

	if (!host_ok(host) || tunnel_id == NULL || url == NULL)
		return CABLE_ERR_ARG;
	cable_hex_encode(tunnel_id, CABLE_TUNNEL_ID_LEN, tid, true);
	char *s = NULL;
	int n = asprintf(&s, "wss://%s/cable/new/%s", host, tid);
	return url_done(n, s, url);
}

int
cable_tunnel_connect_url(const char *host, const uint8_t routing_id[CABLE_ROUTING_ID_LEN],
    const uint8_t tunnel_id[CABLE_TUNNEL_ID_LEN], char **url)
{
	char rid[2 * CABLE_ROUTING_ID_LEN + 1], tid[2 * CABLE_TUNNEL_ID_LEN + 1];

	if (!host_ok(host) || routing_id == NULL || tunnel_id == NULL || url == NULL)
		return CABLE_ERR_ARG;
	cable_hex_encode(routing_id, CABLE_ROUTING_ID_LEN, rid, true);
	cable_hex_encode(tunnel_id, CABLE_TUNNEL_ID_LEN, tid, true);
	char *s = NULL;
	int n = asprintf(&s, "wss://%s/cable/connect/%s/%s", host, rid, tid);
	return url_done(n, s, url);
}

int
cable_tunnel_contact_url(const char *host, const uint8_t *contact_id, size_t contact_id_len,
    char **url)
{
	char *b64 = NULL;
	int r;

	if (!host_ok(host) || contact_id == NULL || contact_id_len == 0 ||
	    contact_id_len > CABLE_CONTACT_ID_MAX || url == NULL)
		return CABLE_ERR_ARG;
	if ((r = cable_base64url_encode(contact_id, contact_id_len, &b64)) != 0)
		return r;
	char *s = NULL;
	int n = asprintf(&s, "wss://%s/cable/contact/%s", host, b64);
	r = url_done(n, s, url);
	free(b64);
	return r;
}

/* If path starts with lit, returns the length of lit; otherwise 0. */
static size_t
starts_with(const char *path, size_t len, const char *lit)
{
	size_t n = strlen(lit);

	return len >= n && memcmp(path, lit, n) == 0 ? n : 0;
}

int
cable_tunnel_path_parse(const char *path, size_t len, struct cable_tunnel_path *out)
{
	struct cable_tunnel_path p;
	size_t n;
	int r = CABLE_ERR_PATH;

	if ((path == NULL && len > 0) || out == NULL)
		return CABLE_ERR_ARG;
	memset(&p, 0, sizeof(p));
	if ((n = starts_with(path, len, "/cable/new/")) != 0) {
		p.kind = CABLE_TUNNEL_PATH_NEW;
		if (cable_hex_decode(path + n, len - n, p.tunnel_id, CABLE_TUNNEL_ID_LEN) != 0)
			goto out;
	} else if ((n = starts_with(path, len, "/cable/connect/")) != 0) {
		const char *rest = path + n;
		size_t rlen = len - n;

		p.kind = CABLE_TUNNEL_PATH_CONNECT;
		if (rlen != 2 * CABLE_ROUTING_ID_LEN + 1 + 2 * CABLE_TUNNEL_ID_LEN ||
		    rest[2 * CABLE_ROUTING_ID_LEN] != '/' ||
		    cable_hex_decode(rest, 2 * CABLE_ROUTING_ID_LEN, p.routing_id,
		    CABLE_ROUTING_ID_LEN) != 0 ||
		    cable_hex_decode(rest + 2 * CABLE_ROUTING_ID_LEN + 1, 2 * CABLE_TUNNEL_ID_LEN,
		    p.tunnel_id, CABLE_TUNNEL_ID_LEN) != 0)
			goto out;
	} else if ((n = starts_with(path, len, "/cable/contact/")) != 0) {
		uint8_t *id = NULL;
		size_t id_len = 0;

		p.kind = CABLE_TUNNEL_PATH_CONTACT;
		/* The cap comes first so that the decoder never sees an oversized string. */
		if (len - n == 0 || len - n > CONTACT_B64_MAX ||
		    cable_base64url_decode(path + n, len - n, &id, &id_len) != 0)
			goto out;
		if (id_len == 0 || id_len > CABLE_CONTACT_ID_MAX) {
			free(id);
			goto out;
		}
		memcpy(p.contact_id, id, id_len);
		p.contact_id_len = id_len;
		free(id);
	} else {
		goto out;
	}
	memcpy(out, &p, sizeof(p)); /* padding included, so results compare with memcmp */
	r = 0;
out:
	return r;
}

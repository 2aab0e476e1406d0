/* Tunnel server domains (assigned and hashed), URL builders and the one strict URL-path parser. */
#ifndef CABLE_TUNNEL_URL_H
#define CABLE_TUNNEL_URL_H

#include <stddef.h>
#include <stdint.h>

#define CABLE_TUNNEL_ID_LEN 16
#define CABLE_ROUTING_ID_LEN 3
#define CABLE_CONTACT_ID_MAX 1024 /* bytes, decoded */
#define CABLE_HOST_MAX 64

/*
 * Host name for a domain ID: 0 and 1 are the assigned servers, 2..255 are assigned but unknown
 * (CABLE_ERR_DOMAIN), 256..65535 are hashed names. out must hold CABLE_HOST_MAX bytes.
 */
int cable_tunnel_domain(uint16_t domain_id, char *out, size_t out_len);

/* "wss://HOST/cable/new/<TUNNEL ID, 32 uppercase hex>". Caller frees *url. */
int cable_tunnel_new_url(const char *host, const uint8_t tunnel_id[CABLE_TUNNEL_ID_LEN], char **url);
/* "wss://HOST/cable/connect/<ROUTING ID, 6 hex>/<TUNNEL ID, 32 hex>", uppercase. */
int cable_tunnel_connect_url(const char *host, const uint8_t routing_id[CABLE_ROUTING_ID_LEN],
    const uint8_t tunnel_id[CABLE_TUNNEL_ID_LEN], char **url);
/* "wss://HOST/cable/contact/<base64url contact ID>". */
int cable_tunnel_contact_url(const char *host, const uint8_t *contact_id, size_t contact_id_len,
    char **url);

enum cable_tunnel_path_kind {
	CABLE_TUNNEL_PATH_NEW = 1,
	CABLE_TUNNEL_PATH_CONNECT,
	CABLE_TUNNEL_PATH_CONTACT,
};

struct cable_tunnel_path {
	enum cable_tunnel_path_kind kind;
	uint8_t tunnel_id[CABLE_TUNNEL_ID_LEN];   /* NEW, CONNECT */
	uint8_t routing_id[CABLE_ROUTING_ID_LEN]; /* CONNECT */
	uint8_t contact_id[CABLE_CONTACT_ID_MAX]; /* CONTACT */
	size_t contact_id_len;
};

/*
 * Parses the path of a tunnel request ("/cable/new/<32 hex>", "/cable/connect/<6 hex>/<32 hex>",
 * "/cable/contact/<base64url>"), hex in either case. No query, fragment, trailing slash, empty
 * segment, percent-encoding or extra characters. Shared by client, server and fuzzer.
 */
int cable_tunnel_path_parse(const char *path, size_t len, struct cable_tunnel_path *out);

#endif

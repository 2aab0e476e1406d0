/* Parsing of tunnel server URLs and redirect targets (untrusted: a Location header), without lws. */
#ifndef CABLE_TUNNEL_TARGET_H
#define CABLE_TUNNEL_TARGET_H

#include <stdbool.h>

#define CABLE_TUNNEL_URL_PART_MAX 256

/* Where one request goes. */
struct cable_tunnel_target {
	bool tls;
	int port;
	char host[CABLE_TUNNEL_URL_PART_MAX];     /* without IPv6 brackets, for connect() */
	char hostport[CABLE_TUNNEL_URL_PART_MAX]; /* as in the URL, for Host and Origin */
	char path[CABLE_TUNNEL_URL_PART_MAX * 2];
};

/* 127.0.0.0/8, ::1 or "localhost". */
bool cable_tunnel_is_loopback(const char *host);
/*
 * "ws[s]://host[:port][/path]"; http and https are taken as ws and wss (redirects). Refuses
 * user info, bad ports and characters, over-long parts (CABLE_ERR_TUNNEL_URL) and plain text off
 * loopback (CABLE_ERR_TUNNEL_INSECURE).
 */
int cable_tunnel_target_parse(const char *url, struct cable_tunnel_target *tg);
/* True if the comma-separated token list (a Sec-WebSocket-Protocol value) holds want. */
bool cable_tunnel_token_listed(const char *list, const char *want);

#endif

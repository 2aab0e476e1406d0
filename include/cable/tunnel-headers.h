/* Tunnel request/answer header values (subprotocol list, X-caBLE-Routing-ID), parsed sans I/O. */
#ifndef CABLE_TUNNEL_HEADERS_H
#define CABLE_TUNNEL_HEADERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cable/tunnel-url.h"

#define CABLE_TUNNEL_SUBPROTOCOL "fido.cable"
#define CABLE_TUNNEL_HEADER_VALUE_MAX 1024 /* longer values are refused unread */

/*
 * True if a Sec-WebSocket-Protocol request value (a comma-separated list, optional spaces or tabs
 * around each token) offers "fido.cable" exactly. value need not be NUL-terminated.
 */
bool cable_tunnel_subprotocol_offered(const char *value, size_t len);

/*
 * The value of an X-caBLE-Routing-ID answer header: exactly six hex digits (either case), no
 * spaces. CABLE_ERR_PARSE otherwise; out is written only on success.
 */
int cable_tunnel_routing_header_parse(const char *value, size_t len,
    uint8_t out[CABLE_ROUTING_ID_LEN]);

#endif

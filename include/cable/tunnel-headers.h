/* Tunnel answer header values from the network (X-caBLE-Routing-ID), parsed sans I/O. */
#ifndef CABLE_TUNNEL_HEADERS_H
#define CABLE_TUNNEL_HEADERS_H

#include <stddef.h>
#include <stdint.h>

#include "cable/tunnel-url.h"

/*
 * The value of an X-caBLE-Routing-ID answer header: exactly six hex digits (either case), no
 * spaces. CABLE_ERR_PARSE otherwise; out is written only on success.
 */
int cable_tunnel_routing_header_parse(const char *value, size_t len,
    uint8_t out[CABLE_ROUTING_ID_LEN]);

#endif

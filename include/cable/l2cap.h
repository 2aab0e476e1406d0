/*
 * The CTAP 2.3 BLE (L2CAP) data channel's stream framing as libwebauthn implements it: each
 * message ends with CR LF (0d 0a). Binary messages that contain 0d 0a themselves cannot be told
 * apart (an open point, hybrid §12).
 */
#ifndef CABLE_L2CAP_H
#define CABLE_L2CAP_H

#include <stddef.h>
#include <stdint.h>

#define CABLE_L2CAP_MSG_MAX (1u << 20) /* same cap as a tunnel message */

/*
 * Looks for the first complete message at the start of buf. When one is there: *msg_len is its
 * length without the CR LF and *consumed its length with it (consumed > msg_len). When none is
 * complete yet: 0 with *consumed = 0 (keep the bytes and wait), unless more than
 * CABLE_L2CAP_MSG_MAX bytes are waiting, which gives CABLE_ERR_TOO_BIG.
 */
int cable_l2cap_next(const uint8_t *buf, size_t len, size_t *msg_len, size_t *consumed);

/* Writes msg || CR LF into out (out_len >= msg_len + 2); *written gets msg_len + 2. */
int cable_l2cap_frame(const uint8_t *msg, size_t msg_len, uint8_t *out, size_t out_len,
    size_t *written);

#endif

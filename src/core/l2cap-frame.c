/* CR LF message framing of the CTAP 2.3 L2CAP data channel (splitter and writer). */
#include <string.h>

#include "cable/error.h"
#include "cable/l2cap.h"

int
cable_l2cap_next(const uint8_t *buf, size_t len, size_t *msg_len, size_t *consumed)
{
	if ((buf == NULL && len > 0) || msg_len == NULL || consumed == NULL)
		return CABLE_ERR_ARG;
	for (size_t i = 0; i + 1 < len && i <= CABLE_L2CAP_MSG_MAX; i++)
		if (buf[i] == 0x0d && buf[i + 1] == 0x0a) {
			*msg_len = i;
			*consumed = i + 2;
			return 0;
		}
	if (len > CABLE_L2CAP_MSG_MAX + 1)
		return CABLE_ERR_TOO_BIG;
	*msg_len = 0;
	*consumed = 0;
	return 0;
}

int
cable_l2cap_frame(const uint8_t *msg, size_t msg_len, uint8_t *out, size_t out_len,
    size_t *written)
{
	if ((msg == NULL && msg_len > 0) || out == NULL || written == NULL ||
	    msg_len > CABLE_L2CAP_MSG_MAX || out_len < msg_len + 2)
		return CABLE_ERR_ARG;
	if (msg_len > 0)
		memmove(out, msg, msg_len);
	out[msg_len] = 0x0d;
	out[msg_len + 1] = 0x0a;
	*written = msg_len + 2;
	return 0;
}

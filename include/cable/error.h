/* libcable error codes: 0 success, positive = CTAP2 status byte passed through, negative = ours. */
#ifndef CABLE_ERROR_H
#define CABLE_ERROR_H

/*
 * X-macro list of our own error codes. Ranges by layer keep additions from colliding:
 *   -1 .. -99    protocol core (src/core)
 *   -100 .. -199 tunnel adapter and tunnel server
 *   -200 .. -299 Bluetooth adapter
 *   -300 .. -399 sessions
 *   -400 .. -499 CTAP, CTAPHID, software authenticator, uhid
 *   -500 .. -599 programs and configuration
 */
#define CABLE_ERRORS(X)                                                                      \
	X(CABLE_ERR_INTERNAL, -1, "internal error")                                              \
	X(CABLE_ERR_NOMEM, -2, "out of memory")                                                  \
	X(CABLE_ERR_ARG, -3, "invalid argument")                                                 \
	X(CABLE_ERR_PARSE, -4, "malformed input")                                                \
	X(CABLE_ERR_LENGTH, -5, "wrong length")                                                  \
	X(CABLE_ERR_TOO_BIG, -6, "input too large")                                              \
	X(CABLE_ERR_CBOR, -7, "malformed CBOR")                                                  \
	X(CABLE_ERR_CBOR_NONCANONICAL, -8, "CBOR not in canonical form")                        \
	X(CABLE_ERR_CBOR_TYPE, -9, "CBOR value of the wrong type")                              \
	X(CABLE_ERR_MISSING, -10, "required field missing")                                      \
	X(CABLE_ERR_DIGITS, -11, "invalid FIDO:/ digits")                                        \
	X(CABLE_ERR_QR_PREFIX, -12, "not a FIDO:/ URL")                                          \
	X(CABLE_ERR_POINT, -13, "invalid P-256 point")                                           \
	X(CABLE_ERR_CRYPTO, -14, "cryptographic library failure")                                \
	X(CABLE_ERR_RANDOM, -15, "random source failed")                                         \
	X(CABLE_ERR_ADVERT_TAG, -16, "advert tag does not match")                                \
	X(CABLE_ERR_ADVERT_RESERVED, -17, "advert reserved byte is not zero")                    \
	X(CABLE_ERR_ADVERT_DOMAIN, -18, "advert names an unknown assigned tunnel domain")        \
	X(CABLE_ERR_ADVERT_LENGTH, -19, "advert has the wrong length")                           \
	X(CABLE_ERR_DOMAIN, -20, "invalid tunnel domain ID")                                     \
	X(CABLE_ERR_PATH, -21, "invalid tunnel URL path")                                        \
	X(CABLE_ERR_STATE, -22, "operation not valid in this state")                             \
	X(CABLE_ERR_AUTH, -23, "authentication failed (AEAD tag or MAC)")                        \
	X(CABLE_ERR_HANDSHAKE_LENGTH, -24, "handshake message has the wrong length")             \
	X(CABLE_ERR_HANDSHAKE_PAYLOAD, -25, "handshake message carries an unexpected payload")   \
	X(CABLE_ERR_COUNTER, -26, "transport counter exhausted")                                 \
	X(CABLE_ERR_PADDING, -27, "invalid transport padding")                                   \
	X(CABLE_ERR_FRAME_TYPE, -28, "unknown message type")                                     \
	X(CABLE_ERR_FRAME_EMPTY, -29, "empty message")                                           \
	X(CABLE_ERR_UNEXPECTED, -30, "unexpected message")                                       \
	X(CABLE_ERR_PEER_SHUTDOWN, -31, "peer sent a shutdown frame")                            \
	X(CABLE_ERR_POST_HANDSHAKE, -32, "invalid post-handshake message")                       \
	X(CABLE_ERR_NO_GETINFO, -33, "post-handshake message lacks getInfo")                     \
	X(CABLE_ERR_UPDATE, -34, "invalid update message")                                       \
	X(CABLE_ERR_LINKING, -35, "invalid linking info")                                        \
	X(CABLE_ERR_LINKING_SIGNATURE, -36, "linking signature does not verify")                 \
	X(CABLE_ERR_UNSUPPORTED, -37, "not supported")                                           \
	X(CABLE_ERR_TIMEOUT, -38, "timed out")                                                   \
	X(CABLE_ERR_CANCELLED, -39, "cancelled")                                                 \
	X(CABLE_ERR_IO, -40, "input/output error")                                               \
                                                                                             \
	X(CABLE_ERR_TUNNEL_CONNECT, -100, "cannot connect to the tunnel server")                \
	X(CABLE_ERR_TUNNEL_TLS, -101, "TLS failure with the tunnel server")                     \
	X(CABLE_ERR_TUNNEL_HTTP, -102, "tunnel server answered with an HTTP error")             \
	X(CABLE_ERR_TUNNEL_GONE, -103, "tunnel server answered 410 Gone")                       \
	X(CABLE_ERR_TUNNEL_REDIRECTS, -104, "too many redirects from the tunnel server")        \
	X(CABLE_ERR_TUNNEL_SUBPROTOCOL, -105, "tunnel server did not select fido.cable")        \
	X(CABLE_ERR_TUNNEL_ROUTING_ID, -106, "missing or malformed X-caBLE-Routing-ID")         \
	X(CABLE_ERR_TUNNEL_CLOSED, -107, "tunnel closed")                                       \
	X(CABLE_ERR_TUNNEL_TEXT_FRAME, -108, "tunnel carried a text frame")                     \
	X(CABLE_ERR_TUNNEL_MESSAGE_SIZE, -109, "tunnel message too large")                      \
	X(CABLE_ERR_TUNNEL_INSECURE, -110, "plain ws:// is allowed only to loopback addresses") \
	X(CABLE_ERR_TUNNEL_URL, -111, "invalid tunnel server URL")                              \
                                                                                             \
	X(CABLE_ERR_BT_NO_BLUEZ, -200, "BlueZ (org.bluez) is not on the system bus")             \
	X(CABLE_ERR_BT_NO_ADAPTER, -201, "no Bluetooth adapter")                                 \
	X(CABLE_ERR_BT_NOT_POWERED, -202, "Bluetooth adapter is not powered")                    \
	X(CABLE_ERR_BT_PERMISSION, -203, "D-Bus policy denied access to BlueZ")                  \
	X(CABLE_ERR_BT_DISCOVERY, -204, "BlueZ refused to start discovery")                      \
	X(CABLE_ERR_BT_ADAPTER_GONE, -205, "Bluetooth adapter removed or BlueZ restarted")       \
	X(CABLE_ERR_BT_ADVERTISE, -206, "BlueZ refused the advertisement")                       \
	X(CABLE_ERR_BT_BUS, -207, "cannot reach the system bus")                                 \
                                                                                             \
	X(CABLE_ERR_SESSION, -300, "session failed")                                             \
	X(CABLE_ERR_WEBAUTHN_OPTIONS, -350, "invalid WebAuthn options")                           \
	X(CABLE_ERR_WEBAUTHN_ORIGIN, -351, "origin not allowed for WebAuthn")                     \
	X(CABLE_ERR_WEBAUTHN_RP_ID, -352, "RP ID is not valid for the origin")                    \
	X(CABLE_ERR_WEBAUTHN_RESPONSE, -353, "authenticator response fails a WebAuthn check")     \
                                                                                             \
	X(CABLE_ERR_CTAPHID, -400, "CTAPHID protocol error")                                     \
	X(CABLE_ERR_STORE, -401, "credential store is corrupt or unreadable")                    \
                                                                                             \
	X(CABLE_ERR_USAGE, -500, "usage error")

enum cable_error {
#define CABLE_ERROR_ENUM(name, value, text) name = (value),
	CABLE_ERRORS(CABLE_ERROR_ENUM)
#undef CABLE_ERROR_ENUM
};

/* A static English description of any libcable return value (ours or a CTAP2 status). */
const char *cable_strerror(int r);
/* The symbolic name ("CABLE_ERR_AUTH", "CTAP2_ERR_NO_CREDENTIALS"), for logs and JSON. */
const char *cable_errname(int r);

#endif

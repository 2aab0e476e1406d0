/*
 * libFuzzer harness: the tunnel URL path parser shared by client and server. A parsed path must
 * re-serialise (through the URL builders) to a path that parses to the same result, and equal
 * the input apart from hex case.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cable/error.h"
#include "cable/tunnel-url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cable_tunnel_path p, q;
	char *url = NULL;
	const char *path;
	int r;

	if (cable_tunnel_path_parse((const char *)data, size, &p) != 0)
		return 0;
	switch (p.kind) {
	case CABLE_TUNNEL_PATH_NEW:
		r = cable_tunnel_new_url("h", p.tunnel_id, &url);
		break;
	case CABLE_TUNNEL_PATH_CONNECT:
		r = cable_tunnel_connect_url("h", p.routing_id, p.tunnel_id, &url);
		break;
	case CABLE_TUNNEL_PATH_CONTACT:
		r = cable_tunnel_contact_url("h", p.contact_id, p.contact_id_len, &url);
		break;
	default:
		abort();
	}
	if (r != 0 || strncmp(url, "wss://h/", 8) != 0)
		abort();
	path = url + 7;
	/* Hex may come in either case, base64url has one spelling: the text matches modulo case
	 * for hex paths and exactly for contact paths. */
	if (strlen(path) != size)
		abort();
	if (p.kind == CABLE_TUNNEL_PATH_CONTACT ? memcmp(path, data, size) != 0
						: strncasecmp(path, (const char *)data, size) != 0)
		abort();
	if (cable_tunnel_path_parse(path, strlen(path), &q) != 0 || memcmp(&p, &q, sizeof(p)) != 0)
		abort();
	free(url);
	return 0;
}

/* libFuzzer harness: tunnel server URLs / redirect Locations and Sec-WebSocket-Protocol lists. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../tunnel/tunnel-target.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cable_tunnel_target tg;
	char *s;

	if (size > 4096)
		return 0;
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (cable_tunnel_target_parse(s, &tg) == 0) {
		/* What the client relies on after a successful parse. */
		if (tg.port < 1 || tg.port > 65535 || tg.host[0] == '\0' ||
		    strlen(tg.host) >= sizeof(tg.host) || strlen(tg.path) >= sizeof(tg.path) ||
		    (!tg.tls && !cable_tunnel_is_loopback(tg.host)) || strchr(tg.host, '/') ||
		    strchr(tg.host, '@') || (tg.path[0] != '\0' && tg.path[0] != '/'))
			abort();
	}
	if (cable_tunnel_token_listed(s, "fido.cable") && strstr(s, "fido.cable") == NULL)
		abort();
	free(s);
	return 0;
}

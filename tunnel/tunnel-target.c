/* Parsing of tunnel server URLs and redirect targets (untrusted: a Location header), without lws. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cable/error.h"
#include "tunnel-target.h"

bool
cable_tunnel_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

static bool
path_char_ok(unsigned char ch)
{
	return isalnum(ch) || strchr("/-._~!$&'()*+,;=:@%", ch) != NULL;
}

int
cable_tunnel_target_parse(const char *url, struct cable_tunnel_target *tg)
{
	const char *p, *h, *hend, *a;
	size_t n;
	long port = -1;

	memset(tg, 0, sizeof(*tg));
	if (strncasecmp(url, "wss://", 6) == 0) {
		tg->tls = true;
		p = url + 6;
	} else if (strncasecmp(url, "ws://", 5) == 0) {
		p = url + 5;
	} else if (strncasecmp(url, "https://", 8) == 0) {
		tg->tls = true;
		p = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		p = url + 7;
	} else {
		return CABLE_ERR_TUNNEL_URL;
	}
	a = p + strcspn(p, "/");
	if (memchr(p, '@', (size_t)(a - p)) != NULL || a == p)
		return CABLE_ERR_TUNNEL_URL;
	if (*p == '[') {
		h = p + 1;
		if ((hend = memchr(h, ']', (size_t)(a - h))) == NULL)
			return CABLE_ERR_TUNNEL_URL;
		p = hend + 1;
	} else {
		h = p;
		hend = p + strcspn(p, ":/");
		p = hend;
	}
	if (*p == ':') {
		char *e;

		if (!isdigit((unsigned char)p[1]))
			return CABLE_ERR_TUNNEL_URL;
		errno = 0;
		port = strtol(p + 1, &e, 10);
		if (errno || e != a || port < 1 || port > 65535)
			return CABLE_ERR_TUNNEL_URL;
	} else if (p != a) {
		return CABLE_ERR_TUNNEL_URL;
	}
	n = (size_t)(hend - h);
	if (n == 0 || n >= sizeof(tg->host))
		return CABLE_ERR_TUNNEL_URL;
	memcpy(tg->host, h, n);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)tg->host[i];

		if (!isalnum(ch) && ch != '.' && ch != '-' && ch != ':' && ch != '_')
			return CABLE_ERR_TUNNEL_URL;
	}
	{
		const char *auth = strstr(url, "://") + 3;
		size_t an = (size_t)(a - auth);

		if (an >= sizeof(tg->hostport))
			return CABLE_ERR_TUNNEL_URL;
		memcpy(tg->hostport, auth, an);
	}
	tg->port = port > 0 ? (int)port : tg->tls ? 443 : 80;
	n = strlen(a);
	if (n >= sizeof(tg->path))
		return CABLE_ERR_TUNNEL_URL;
	for (size_t i = 0; i < n; i++)
		if (!path_char_ok((unsigned char)a[i]))
			return CABLE_ERR_TUNNEL_URL;
	memcpy(tg->path, a, n + 1);
	if (!tg->tls && !cable_tunnel_is_loopback(tg->host))
		return CABLE_ERR_TUNNEL_INSECURE;
	return 0;
}

bool
cable_tunnel_token_listed(const char *list, const char *want)
{
	size_t wl = strlen(want);
	const char *p = list;

	while (*p != '\0') {
		const char *e = p + strcspn(p, ",");
		const char *a = p, *b = e;

		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if ((size_t)(b - a) == wl && memcmp(a, want, wl) == 0)
			return true;
		p = *e ? e + 1 : e;
	}
	return false;
}

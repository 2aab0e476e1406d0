/* cablectl helpers shared by the command files: errors, number and hex parsing, JSON output. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cable/bytes.h"
#include "cablectl.h"

__attribute__((format(printf, 1, 0))) static void
vfail(const char *fmt, va_list ap, bool usage, const char *cmd)
{
	fputs("cablectl: ", stderr);
	vfprintf(stderr, fmt, ap);
	if (usage)
		fprintf(stderr, " (try 'cablectl %s%s--help')", cmd ? cmd : "", cmd ? " " : "");
	fputc('\n', stderr);
}

int
cablectl_fail(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(fmt, ap, false, NULL);
	va_end(ap);
	return code;
}

int
cablectl_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(fmt, ap, true, cmd);
	va_end(ap);
	return CABLECTL_EXIT_USAGE;
}

int
cablectl_option_error(const char *cmd, int c, char **argv)
{
	if (c == ':')
		return cablectl_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
	if (optopt != 0)
		return cablectl_usage_error(cmd, "unknown option '-%c'", optopt);
	return cablectl_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
}

void
cablectl_getopt_reset(void)
{
	/* glibc: optind = 0 re-initialises getopt completely, including its "+"/"-" handling. */
	optind = 0;
	opterr = 0;
}

bool
cablectl_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int base = 10;

	if (s == NULL || *s == '\0' || *s == '-' || *s == '+' || *s == ' ')
		return false;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (*s == '\0')
			return false;
	}
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

bool
cablectl_parse_hex(const char *s, uint8_t **out, size_t *len)
{
	if (*s == '\0') {
		if ((*out = malloc(1)) == NULL)
			return false;
		*len = 0;
		return true;
	}
	return cable_hex_decode_alloc(s, out, len) == 0;
}

bool
cablectl_json_print(json_t *obj)
{
	int r;

	if (obj == NULL)
		return false;
	r = json_dumpf(obj, stdout, JSON_INDENT(2));
	json_decref(obj);
	if (r != 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
		return false;
	return true;
}

json_t *
cablectl_json_hex(const uint8_t *p, size_t len)
{
	char *s = malloc(2 * len + 1);
	json_t *j;

	if (s == NULL)
		return NULL;
	cable_hex_encode(p, len, s, false);
	j = json_string(s);
	free(s);
	return j;
}

bool
cablectl_iso8601(uint64_t t, char out[32])
{
	struct tm tm;
	time_t tt;

	/* Beyond year 9999 the format would need more digits than ISO 8601's basic form. */
	if (t > 253402300799ULL)
		return false;
	tt = (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL)
		return false;
	return strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0;
}

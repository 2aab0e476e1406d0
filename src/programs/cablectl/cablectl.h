/* cablectl internals: the subcommand table, exit codes and output helpers shared by command files. */
#ifndef CABLECTL_H
#define CABLECTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Exit codes scripts can rely on. */
enum {
	CABLECTL_EXIT_OK = 0,
	CABLECTL_EXIT_INVALID = 1, /* the input was read but is not valid (bad QR, advert, ...) */
	CABLECTL_EXIT_USAGE = 2,   /* bad options or arguments */
	CABLECTL_EXIT_FAILURE = 3, /* could not do it (I/O, out of memory, ...) */
};

/*
 * One command group ("inspect", "qr"). run gets argv with argv[0] = the group name and returns
 * an exit code. To add a group: write <group>.c with a run function and add it to main.c.
 */
struct cablectl_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

int cablectl_inspect(int argc, char **argv);
int cablectl_qr(int argc, char **argv);
int cablectl_create(int argc, char **argv);
int cablectl_get(int argc, char **argv);
int cablectl_doctor(int argc, char **argv);

/* Prints "cablectl: <message>" as one line on stderr and returns code. */
int cablectl_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same, with " (try 'cablectl <cmd> --help')" appended; returns CABLECTL_EXIT_USAGE. */
int cablectl_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The usage error for getopt_long's '?' (unknown option) or ':' (missing value). */
int cablectl_option_error(const char *cmd, int c, char **argv);
/* Common option handling: getopt_long state is reset for each command. */
void cablectl_getopt_reset(void);

/* Parses a decimal (or 0x-prefixed hex) unsigned number up to max. */
bool cablectl_parse_uint(const char *s, uint64_t max, uint64_t *out);
/* Parses hex of any case; *out (caller frees) and *len. Accepts an empty string. */
bool cablectl_parse_hex(const char *s, uint8_t **out, size_t *len);

/* Writes obj (stolen) as indented JSON plus a newline on stdout; false on a write error. */
bool cablectl_json_print(json_t *obj);
/* A JSON string of lowercase hex. */
json_t *cablectl_json_hex(const uint8_t *p, size_t len);
/* Formats seconds since the epoch as ISO 8601 UTC ("2022-10-24T05:24:11Z"); false if out of range. */
bool cablectl_iso8601(uint64_t t, char out[32]);

#endif

/* Open connections per source address, for the tunnel server's per-source limit. */
#ifndef CABLE_SOURCE_TABLE_H
#define CABLE_SOURCE_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct cable_source_table;
struct cable_source;

struct cable_source_table *cable_source_table_new(void);
void cable_source_table_free(struct cable_source_table **tbl);

/*
 * Counts one more connection from sa (IPv4, IPv6; IPv4-mapped IPv6 counts as IPv4). Returns 0
 * and the entry, CABLE_ERR_TOO_BIG if that address already has limit connections,
 * CABLE_ERR_ARG for another address family, CABLE_ERR_NOMEM.
 */
int cable_source_acquire(struct cable_source_table *tbl, const struct sockaddr *sa, socklen_t len,
    uint32_t limit, struct cable_source **out);
/* Counts one connection less; the entry goes when its count reaches zero. Sets *s to NULL. */
void cable_source_release(struct cable_source_table *tbl, struct cable_source **s);
/* Connections counted for the entry. */
uint32_t cable_source_count(const struct cable_source *s);
/* Distinct addresses with at least one connection. */
size_t cable_source_table_size(const struct cable_source_table *tbl);

#endif

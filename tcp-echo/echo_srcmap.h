/* echo_srcmap: connections open per source, for the server's per-source
 * cap (--max-per-source). A source is pk_addr_source_hash's key: an IPv4
 * address or an IPv6 /64, the port ignored. An open-addressing table of
 * (key, count), linear probing, deletion by backward shift; it holds only
 * sources with a connection open, so it never has more entries than
 * connections, and grows by doubling (from 256 slots) at half full.
 * Pure: no I/O. Part of echo_core.
 */
#ifndef ECHO_SRCMAP_H
#define ECHO_SRCMAP_H

#include <stddef.h>
#include <stdint.h>

struct echo_srcent {
	uint64_t key;
	uint32_t count;             /* 0: a free slot */
};

struct echo_srcmap {
	struct echo_srcent *t;
	size_t cap, n;              /* slots (a power of two), sources held */
};

/* Counts one more connection of `key` unless it has `max` already (max 0:
 * no cap). 0, -EUSERS (at the cap) or -ENOMEM. */
int echo_srcmap_add(struct echo_srcmap *m, uint64_t key, uint32_t max);

/* One connection of `key` fewer (one echo_srcmap_add succeeded for it). */
void echo_srcmap_del(struct echo_srcmap *m, uint64_t key);

/* Connections of `key` counted now. */
uint32_t echo_srcmap_count(const struct echo_srcmap *m, uint64_t key);

void echo_srcmap_free(struct echo_srcmap *m);

#endif

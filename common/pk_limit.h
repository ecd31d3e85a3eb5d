/* pk_limit: per-source rate limiting for UDP servers.
 *
 * A fixed table of token buckets keyed by source (pk_addr_source_hash: the
 * IPv4 address or the IPv6 /64, the port ignored; hash, 4-way
 * associative); a source that finds no free way evicts the way it shares
 * that was used least recently, so memory never grows. A rate of 0 turns
 * the limit off. Caller-owned struct; pk_limit_init allocates the table,
 * pk_limit_free frees it.
 */
#ifndef PK_LIMIT_H
#define PK_LIMIT_H

#include <stddef.h>
#include <stdint.h>

struct pk_addr;

struct pk_limit_entry {
	uint64_t key;        /* address hash, 0 = free */
	int64_t last_ns;     /* last refill */
	double tokens;
};

struct pk_limit {
	struct pk_limit_entry *tab;
	size_t sets;         /* power of two */
	double rate;         /* tokens per second, 0 = unlimited */
	double burst;        /* bucket size */
	uint64_t refused;
	uint64_t evicted;
};

/* entries: table size (rounded up to 4 x a power of two). 0 or -ENOMEM. */
int pk_limit_init(struct pk_limit *l, size_t entries, double rate, double burst);
void pk_limit_free(struct pk_limit *l);
/* 1 when a datagram from `from` at now_ns may be served, 0 when refused
 * (counted in l->refused). */
int pk_limit_allow(struct pk_limit *l, const struct pk_addr *from, int64_t now_ns);

#endif

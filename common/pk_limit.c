#include "pk_limit.h"
#include "pk_sock.h"

#include <errno.h>
#include <stdlib.h>

#define WAYS 4

int pk_limit_init(struct pk_limit *l, size_t entries, double rate, double burst)
{
	size_t sets = 1;

	while (sets * WAYS < entries)
		sets <<= 1;
	l->tab = calloc(sets * WAYS, sizeof *l->tab);
	if (l->tab == NULL)
		return -ENOMEM;
	l->sets = sets;
	l->rate = rate;
	l->burst = burst < 1.0 ? 1.0 : burst;
	l->refused = l->evicted = 0;
	return 0;
}

void pk_limit_free(struct pk_limit *l)
{
	free(l->tab);
	l->tab = NULL;
}

int pk_limit_allow(struct pk_limit *l, const struct pk_addr *from, int64_t now_ns)
{
	uint64_t key = pk_addr_source_hash(from) | 1;   /* never 0 */
	struct pk_limit_entry *set, *e = NULL, *victim;
	int i;

	if (l->rate <= 0.0)
		return 1;
	set = &l->tab[(key % l->sets) * WAYS];
	victim = &set[0];
	for (i = 0; i < WAYS; i++) {
		if (set[i].key == key) {
			e = &set[i];
			break;
		}
		if (set[i].key == 0 || set[i].last_ns < victim->last_ns)
			victim = &set[i];
	}
	if (e == NULL) {
		if (victim->key != 0)
			l->evicted++;
		e = victim;
		e->key = key;
		e->tokens = l->burst;
		e->last_ns = now_ns;
	}
	if (now_ns > e->last_ns) {
		e->tokens += l->rate * (double)(now_ns - e->last_ns) / 1e9;
		if (e->tokens > l->burst)
			e->tokens = l->burst;
		e->last_ns = now_ns;
	}
	if (e->tokens >= 1.0) {
		e->tokens -= 1.0;
		return 1;
	}
	l->refused++;
	return 0;
}

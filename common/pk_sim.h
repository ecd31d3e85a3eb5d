/* pk_sim: seeded draws for servers that simulate a bad network.
 *
 * A pk_sim is a small PRNG (xoshiro256**) seeded through splitmix64, so a
 * given --seed reproduces the same drops on every machine. Caller-owned.
 */
#ifndef PK_SIM_H
#define PK_SIM_H

#include <stdint.h>

struct pk_sim {
	uint64_t s[4];
};

void pk_sim_seed(struct pk_sim *r, uint64_t seed);
/* A seed from the kernel (getrandom), for runs without --seed. */
uint64_t pk_sim_random_seed(void);
uint64_t pk_sim_next(struct pk_sim *r);
/* Uniform in [0, 1). */
double pk_sim_uniform(struct pk_sim *r);
/* 1 with probability p (p <= 0 never, p >= 1 always). */
int pk_sim_drop(struct pk_sim *r, double p);
/* Normal(mean, sd) by Box-Muller. */
double pk_sim_normal(struct pk_sim *r, double mean, double sd);
/* A delay in ns: base + normal jitter, never below 0. */
int64_t pk_sim_delay_ns(struct pk_sim *r, int64_t base_ns, int64_t jitter_ns);

#endif

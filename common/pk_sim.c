#include "pk_sim.h"

#include <math.h>
#include <sys/random.h>
#include <time.h>

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void pk_sim_seed(struct pk_sim *r, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

uint64_t pk_sim_random_seed(void)
{
	uint64_t seed;
	struct timespec ts;

	if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) == (ssize_t)sizeof seed)
		return seed;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t pk_sim_next(struct pk_sim *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double pk_sim_uniform(struct pk_sim *r)
{
	return (double)(pk_sim_next(r) >> 11) * 0x1.0p-53;
}

int pk_sim_drop(struct pk_sim *r, double p)
{
	if (p <= 0.0)
		return 0;
	if (p >= 1.0)
		return 1;
	return pk_sim_uniform(r) < p;
}

double pk_sim_normal(struct pk_sim *r, double mean, double sd)
{
	double u1 = pk_sim_uniform(r), u2 = pk_sim_uniform(r);

	if (u1 < 1e-300)
		u1 = 1e-300;
	return mean + sd * sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

int64_t pk_sim_delay_ns(struct pk_sim *r, int64_t base_ns, int64_t jitter_ns)
{
	double d = (double)base_ns;

	if (jitter_ns > 0)
		d = pk_sim_normal(r, d, (double)jitter_ns);
	return d < 0 ? 0 : (int64_t)d;
}

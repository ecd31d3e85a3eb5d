/* pk_sim: reproducible draws with the asked probabilities. */
#include "cm.h"
#include <math.h>

#include "pk_sim.h"

static void same_seed_same_draws(void **st)
{
	struct pk_sim a, b, c;
	(void)st;
	pk_sim_seed(&a, 42);
	pk_sim_seed(&b, 42);
	pk_sim_seed(&c, 43);
	int differ = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t x = pk_sim_next(&a);
		assert_int_equal(x, pk_sim_next(&b));
		differ |= x != pk_sim_next(&c);
	}
	assert_true(differ);
}

static void known_first_value(void **st)
{
	struct pk_sim a;
	(void)st;
	/* xoshiro256** seeded by splitmix64(0): pins the stream so a --seed
	 * means the same drops in every release */
	pk_sim_seed(&a, 0);
	assert_int_equal(pk_sim_next(&a), 0x99ec5f36cb75f2b4ULL);
}

static void drop_rate_near_p(void **st)
{
	struct pk_sim r;
	const int n = 100000;
	(void)st;
	pk_sim_seed(&r, 7);
	double ps[] = { 0.0, 0.1, 0.3, 0.9, 1.0 };
	for (int k = 0; k < 5; k++) {
		int drops = 0;
		for (int i = 0; i < n; i++)
			drops += pk_sim_drop(&r, ps[k]);
		double sd = sqrt(ps[k] * (1 - ps[k]) / n);
		assert_true(fabs((double)drops / n - ps[k]) <= 5 * sd + 1e-12);
	}
}

static void uniform_and_normal(void **st)
{
	struct pk_sim r;
	double sum = 0, sum2 = 0;
	const int n = 100000;
	(void)st;
	pk_sim_seed(&r, 1);
	for (int i = 0; i < n; i++) {
		double u = pk_sim_uniform(&r);
		assert_true(u >= 0.0 && u < 1.0);
		double x = pk_sim_normal(&r, 10.0, 2.0);
		sum += x;
		sum2 += x * x;
	}
	double mean = sum / n, sd = sqrt(sum2 / n - mean * mean);
	assert_float_equal(mean, 10.0, 0.05);
	assert_float_equal(sd, 2.0, 0.05);
	for (int i = 0; i < 1000; i++)
		assert_true(pk_sim_delay_ns(&r, 1000, 5000) >= 0);
	assert_int_equal(pk_sim_delay_ns(&r, 1234, 0), 1234);
}

CM_MAIN(CM_T(same_seed_same_draws), CM_T(known_first_value), CM_T(drop_rate_near_p),
	CM_T(uniform_and_normal))

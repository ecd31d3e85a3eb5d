/* test_hb_false: the k-miss false-alarm figures over a run of N heartbeats
 * (hb_fa_none, hb_fa_expected, hb_fa_mean_first, hb_fa_over_run) against
 * computations that share no code with them:
 *  - the heartbeat assignment's parameters (p = 0.3, K = 3) at N = 10, 100,
 *    1000, values from an exact rational computation (Python fractions);
 *  - a dynamic programme over the whole state vector of the miss run (an
 *    absorbing Markov chain for P(none) and, summed apart, P(at least one);
 *    a second chain without absorption for the expected count), O(N K),
 *    over a grid of p, K, extra and N;
 *  - every loss pattern of up to 14 heartbeats, each fed to the real
 *    detector (hb_kmiss) in time order, replies instant, weighted by its
 *    probability;
 *  - a seeded Monte Carlo run of the real detector, within 4.5 standard
 *    errors (binomial for P(at least one), the sample's for the mean). */
#include "cm.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "hb_detect.h"

/* ---- the detector on one loss pattern ---------------------------------- */

/* Heartbeat i is sent at i * I; answered ones are answered 1 ns later; a
 * missed one times out at i * I + T with T = (extra + 1) * I, so that
 * exactly `extra` later heartbeats are sent before its deadline (the next
 * one leaves at the deadline itself and is answered after it). Events in
 * time order; returns the `server down` verdicts. */
static unsigned detector_downs(const unsigned char *lost, unsigned n, unsigned k,
                               unsigned extra)
{
	const int64_t I = 1000;
	const int64_t T = (int64_t)(extra + 1) * I;
	struct hb_kmiss d;
	unsigned downs = 0, r = 0, t = 0;

	hb_kmiss_init(&d, k);
	/* two streams in time order: replies (r) and timeouts (t) */
	for (;;) {
		while (r < n && lost[r])
			r++;
		while (t < n && lost[t] == 0)
			t++;
		if (r >= n && t >= n)
			break;
		if (t >= n || (r < n && (int64_t)r * I + 1 < (int64_t)t * I + T)) {
			(void)hb_kmiss_reply(&d, r, (int64_t)r * I + 1);
			r++;
		} else {
			if (hb_kmiss_timeout(&d, t) == HB_WENT_DOWN)
				downs++;
			t++;
		}
	}
	return downs;
}

/* ---- an independent DP -------------------------------------------------- */

/* The state vector of the current miss run, 0..ke-1, and `down` (absorbing)
 * for P(none); a second vector 0..ke without absorption (ke = "ke or
 * more") for the expected count. The end: an open run of k..ke-1 misses has
 * no later heartbeat to clear it, so it is a down. */
static void dp(double p, unsigned k, unsigned extra, unsigned n, double *none,
               double *any, double *expected)
{
	unsigned ke = k + extra;
	double *v = calloc(ke, sizeof *v), *nv = calloc(ke, sizeof *nv);
	double *w = calloc(ke + 1, sizeof *w), *nw = calloc(ke + 1, sizeof *nw);
	double e = 0.0, no = 0.0, yes = 0.0;

	assert_non_null(v);
	assert_non_null(nv);
	assert_non_null(w);
	assert_non_null(nw);
	v[0] = 1.0;
	w[0] = 1.0;
	for (unsigned i = 0; i < n; i++) {
		for (unsigned r = 0; r < ke; r++)
			nv[r] = 0.0;
		for (unsigned r = 0; r < ke; r++) {
			nv[0] += v[r] * (1.0 - p);
			if (r + 1 < ke)
				nv[r + 1] += v[r] * p;
			else
				yes += v[r] * p;     /* absorbed: the run reached ke */
		}
		for (unsigned r = 0; r < ke; r++)
			v[r] = nv[r];
		for (unsigned r = 0; r <= ke; r++)
			nw[r] = 0.0;
		for (unsigned r = 0; r <= ke; r++) {
			nw[0] += w[r] * (1.0 - p);
			nw[r + 1 <= ke ? r + 1 : ke] += w[r] * p;
			if (r + 1 == ke)
				e += w[r] * p;
		}
		for (unsigned r = 0; r <= ke; r++)
			w[r] = nw[r];
	}
	for (unsigned r = 0; r < k; r++)
		no += v[r];
	for (unsigned r = k; r < ke; r++)
		yes += v[r];
	for (unsigned r = k; r < ke; r++)
		e += w[r];
	*none = no;
	*any = yes;
	*expected = e;
	free(v);
	free(nv);
	free(w);
	free(nw);
}

static void rel_close(double got, double want, double rel)
{
	double tol = rel * fabs(want) + 1e-15;

	if (!(fabs(got - want) <= tol))
		fail_msg("got %.17g, want %.17g (rel %g)", got, want, rel);
}

static void seed_figures(void **st)
{
	double none;
	struct hb_fa_run run;
	(void)st;
	/* exact rationals: N = 10: 1 - 0.15511554 (no rounding: 10 digits) */
	assert_int_equal(hb_fa_none(0.3, 3, 0, 10, &none), 0);
	rel_close(1.0 - none, 0.15511554, 1e-12);
	assert_int_equal(hb_fa_none(0.3, 3, 0, 100, &none), 0);
	rel_close(1.0 - none, 0.8639479206635807, 1e-12);
	assert_int_equal(hb_fa_none(0.3, 3, 0, 1000, &none), 0);
	rel_close(none, 1.5950847309653682e-09, 1e-9);
	/* expected downs: p^K + (N - K)(1 - p) p^K */
	rel_close(hb_fa_expected(0.3, 3, 0, 10), 0.1593, 1e-12);
	rel_close(hb_fa_expected(0.3, 3, 0, 100), 1.8603, 1e-12);
	rel_close(hb_fa_expected(0.3, 3, 0, 1000), 18.8703, 1e-12);
	/* mean heartbeats to the first: 1/0.3 + 1/0.09 + 1/0.027 */
	rel_close(hb_fa_mean_first(0.3, 3, 0), 1 / 0.3 + 1 / 0.09 + 1 / 0.027, 1e-12);
	assert_true(isinf(hb_fa_mean_first(0.0, 3, 0)));
	/* the whole run: the approximation is not the exact value */
	hb_fa_over_run(0.3, 3, 0, 100, 0.01, &run);
	assert_true(run.valid);
	rel_close(run.any, 0.8639479206635807, 1e-12);
	rel_close(run.any_approx, 1.0 - pow(1.0 - 0.0189, 100), 1e-12);
	assert_true(fabs(run.any - run.any_approx) > 0.01);
	/* smallest K with P(at least one in 100) < 1%: check its neighbour */
	assert_int_equal(hb_fa_none(0.3, run.k_budget, 0, 100, &none), 0);
	assert_true(1.0 - none < 0.01);
	assert_int_equal(hb_fa_none(0.3, run.k_budget - 1, 0, 100, &none), 0);
	assert_true(1.0 - none >= 0.01);
	assert_int_equal(hb_fa_none(0.3, run.k_budget, 0, 100, &none), 0);
	rel_close(run.k_budget_any, 1.0 - none, 1e-12);
	/* refusals: p outside [0, 1), K = 0, N = 0 or too large */
	assert_int_equal(hb_fa_none(1.0, 3, 0, 10, &none), -EINVAL);
	assert_int_equal(hb_fa_none(-0.1, 3, 0, 10, &none), -EINVAL);
	assert_int_equal(hb_fa_none(0.3, 0, 0, 10, &none), -EINVAL);
	assert_int_equal(hb_fa_none(0.3, 3, 0, 0, &none), -EINVAL);
	assert_int_equal(hb_fa_none(0.3, 3, 0, HB_FA_N_MAX + 1, &none), -EINVAL);
	hb_fa_over_run(1.0, 3, 0, 10, 0.01, &run);
	assert_false(run.valid);
	/* nothing lost: never; a tiny probability stays exact (not 1 - 1) */
	assert_int_equal(hb_fa_none(0.0, 1, 0, 1000, &none), 0);
	assert_true(none == 1.0);
	hb_fa_over_run(1e-4, 3, 0, 1000, 0.01, &run);
	rel_close(run.any, 1e-12 + 997 * (1 - 1e-4) * 1e-12, 1e-6);
	/* K = 1 there: 1 - (1 - 1e-4)^1000 = 9.5%; K = 2: about 1e-5 */
	assert_int_equal(run.k_budget, 2);
}

static void against_dp(void **st)
{
	static const double ps[] = { 0.0, 0.05, 0.3, 0.5, 0.9 };
	static const unsigned ks[] = { 1, 2, 3, 5 };
	static const unsigned extras[] = { 0, 1, 3 };
	static const unsigned ns[] = { 1, 2, 3, 4, 5, 7, 8, 9, 13, 50, 200, 1000 };
	(void)st;
	for (size_t a = 0; a < sizeof ps / sizeof ps[0]; a++)
		for (size_t b = 0; b < sizeof ks / sizeof ks[0]; b++)
			for (size_t c = 0; c < sizeof extras / sizeof extras[0]; c++)
				for (size_t d = 0; d < sizeof ns / sizeof ns[0]; d++) {
					double none, want_none, want_any, want_e;
					struct hb_fa_run run;

					dp(ps[a], ks[b], extras[c], ns[d], &want_none, &want_any,
					   &want_e);
					assert_int_equal(hb_fa_none(ps[a], ks[b], extras[c], ns[d],
					                            &none), 0);
					rel_close(none, want_none, 1e-9);
					rel_close(hb_fa_expected(ps[a], ks[b], extras[c], ns[d]),
					          want_e, 1e-9);
					hb_fa_over_run(ps[a], ks[b], extras[c], ns[d], 0.01, &run);
					assert_true(run.valid);
					/* the two sides, each summed on its own, add up */
					rel_close(run.any + run.none, 1.0, 1e-9);
					rel_close(run.any, want_any, 1e-9);
				}
}

static void against_detector(void **st)
{
	static const double ps[] = { 0.1, 0.3, 0.7 };
	unsigned char lost[14];
	(void)st;
	for (unsigned n = 1; n <= 14; n++)
		for (unsigned k = 1; k <= 4; k++)
			for (unsigned extra = 0; extra <= 2; extra++)
				for (size_t a = 0; a < sizeof ps / sizeof ps[0]; a++) {
					double p = ps[a], any = 0.0, e = 0.0, none;

					for (unsigned m = 0; m < (1u << n); m++) {
						unsigned nl = 0, downs;
						for (unsigned i = 0; i < n; i++) {
							lost[i] = (m >> i) & 1;
							nl += lost[i];
						}
						double w = pow(p, nl) * pow(1.0 - p, n - nl);
						downs = detector_downs(lost, n, k, extra);
						e += w * downs;
						if (downs)
							any += w;
					}
					assert_int_equal(hb_fa_none(p, k, extra, n, &none), 0);
					rel_close(1.0 - none, any, 1e-9);
					rel_close(hb_fa_expected(p, k, extra, n), e, 1e-9);
				}
}

/* xorshift64*: a fixed seed, the same draws on every machine */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static double uniform(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double)((rng_state * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

static void monte_carlo_one(double p, unsigned k, unsigned extra, unsigned n, unsigned runs)
{
	unsigned char lost[256];
	unsigned hits = 0;
	double sum = 0.0, sum2 = 0.0, any, se_any, mean, sd, se_mean, want_e, none;

	assert_true(n <= sizeof lost);
	for (unsigned j = 0; j < runs; j++) {
		unsigned downs;
		for (unsigned i = 0; i < n; i++)
			lost[i] = uniform() < p;
		downs = detector_downs(lost, n, k, extra);
		hits += downs > 0;
		sum += downs;
		sum2 += (double)downs * downs;
	}
	assert_int_equal(hb_fa_none(p, k, extra, n, &none), 0);
	any = 1.0 - none;
	se_any = sqrt(any * (1.0 - any) / runs);
	if (fabs((double)hits / runs - any) > 4.5 * se_any)
		fail_msg("p %g K %u extra %u N %u: %u/%u runs with a down, exact %.6f (se %.6f)",
		         p, k, extra, n, hits, runs, any, se_any);
	mean = sum / runs;
	sd = sqrt(sum2 / runs - mean * mean);
	se_mean = sd / sqrt((double)runs);
	want_e = hb_fa_expected(p, k, extra, n);
	if (fabs(mean - want_e) > 4.5 * se_mean)
		fail_msg("p %g K %u extra %u N %u: %.5f downs per run, exact %.5f (se %.5f)",
		         p, k, extra, n, mean, want_e, se_mean);
}

static void monte_carlo(void **st)
{
	(void)st;
	/* the assignment's rule over 100 heartbeats, then longer timeouts */
	monte_carlo_one(0.3, 3, 0, 100, 100000);
	monte_carlo_one(0.3, 2, 2, 60, 100000);
	monte_carlo_one(0.1, 2, 0, 200, 50000);
	monte_carlo_one(0.5, 4, 1, 30, 100000);
}

CM_MAIN(CM_T(seed_figures), CM_T(against_dp), CM_T(against_detector), CM_T(monte_carlo))

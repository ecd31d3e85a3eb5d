/* echo_fit: per-probe figures, the least-squares fit and option lists. */
#include "cm.h"
#include <errno.h>
#include <math.h>
#include <string.h>

#include "echo_fit.h"

static void figures(void **st)
{
	/* RTTs 1..100 ms of 1000-byte probes */
	int64_t rtt[100];
	struct echo_figures f;
	(void)st;
	for (int i = 0; i < 100; i++)
		rtt[i] = (int64_t)(i + 1) * 1000000;
	echo_figures_of(rtt, 100, 1000, 5050000000LL, &f);
	assert_int_equal(f.n, 100);
	assert_float_equal(f.rtt.avg, 50.5, 1e-9);
	assert_float_equal(f.rtt.min, 1.0, 1e-9);
	assert_float_equal(f.rtt.max, 100.0, 1e-9);
	assert_float_equal(f.rtt.p50, 50.0, 1e-9);
	assert_float_equal(f.rtt.p99, 99.0, 1e-9);
	assert_float_equal(f.rtt.mdev, sqrt((100.0 * 100.0 - 1.0) / 12.0), 1e-9);
	assert_float_equal(f.rtt.jitter, 1.0, 1e-9);
	/* throughput per probe 8 * 1000 bits / RTT: 8 Mbit/s at 1 ms */
	assert_float_equal(f.tput_mbps[EF_MAX], 8.0, 1e-9);
	assert_float_equal(f.tput_mbps[EF_MIN], 0.08, 1e-9);
	double mean = 0;
	for (int i = 0; i < 100; i++)
		mean += 8.0 / (i + 1);
	assert_float_equal(f.tput_mbps[EF_MEAN], mean / 100, 1e-9);
	/* goodput: 100 x 8000 bits over 5.05 s */
	assert_float_equal(f.goodput_mbps, 800000.0 / 5.05 / 1e6, 1e-9);
	echo_figures_of(rtt, 0, 1000, 0, &f);
	assert_int_equal(f.n, 0);
}

static void fit(void **st)
{
	/* RTT = 0.2 ms + size / (100 Mbit/s): b = 8e-5 ms per byte */
	static const uint64_t sizes[] = { 1, 100, 1000 };
	int64_t data[2][3][4];
	struct echo_point pts[6];
	struct echo_fit f;
	(void)st;
	for (int d = 0; d < 2; d++) {
		for (int i = 0; i < 3; i++) {
			for (int k = 0; k < 4; k++) {
				double ms = 0.2 + 1000.0 * d + 8e-5 * (double)sizes[i] + (k % 2 ? 0.001 : -0.001);
				data[d][i][k] = (int64_t)llround(ms * 1e6);
			}
			pts[d * 3 + i] = (struct echo_point){ .delay_ns = d * 1000000000LL,
			                                      .size = sizes[i], .sessions = 1,
			                                      .rtt_ns = data[d][i] };
			pts[d * 3 + i].fig.n = 4;
		}
	}
	echo_fit_points(pts, 6, 0, &f);
	assert_true(f.valid);
	assert_int_equal(f.n, 12);
	assert_float_equal(f.a_ms, 0.2, 1e-6);
	assert_float_equal(f.b_ms_per_byte, 8e-5, 1e-9);
	assert_float_equal(f.bandwidth_mbps, 100.0, 1e-3);
	assert_true(f.r2 > 0.99);
	assert_true(f.significant);
	assert_true(f.bw_lo_mbps < 100.0 && 100.0 < f.bw_hi_mbps);
	echo_fit_points(pts, 6, 1000000000LL, &f);
	assert_float_equal(f.a_ms, 1000.2, 1e-6);
	assert_float_equal(f.bandwidth_mbps, 100.0, 1e-3);
	/* one size: no fit */
	echo_fit_points(pts, 1, 0, &f);
	assert_false(f.valid);
	/* a delay with no points */
	echo_fit_points(pts, 6, 5, &f);
	assert_false(f.valid);
	assert_int_equal(f.n, 0);
}

static void t_and_ci(void **st)
{
	(void)st;
	assert_true(isnan(echo_t975(0)));
	assert_float_equal(echo_t975(1), 12.7062, 1e-4);
	assert_float_equal(echo_t975(9), 2.2622, 1e-4);
	assert_float_equal(echo_t975(30), 2.0423, 1e-4);
	/* beyond the table: the expansion, against published values */
	assert_float_equal(echo_t975(40), 2.0211, 2e-4);
	assert_float_equal(echo_t975(60), 2.0003, 2e-4);
	assert_float_equal(echo_t975(120), 1.9799, 2e-4);
	assert_float_equal(echo_t975(1000000), 1.95997, 1e-4);
	for (uint64_t df = 1; df < 200; df++)        /* falls toward z */
		assert_true(echo_t975(df + 1) < echo_t975(df));
	/* 10 values with population sd 2: s = 2 sqrt(10/9), half width t9 s / sqrt(10) */
	assert_float_equal(echo_ci95(2.0, 10), 2.2622 * 2.0 / 3.0, 1e-4);
	assert_true(isnan(echo_ci95(1.0, 1)));
	assert_float_equal(echo_ci95(0.0, 5), 0.0, 0);
}

static void line_intervals(void **st)
{
	/* y = 1 + 2x with residuals +-1 alternating over x = 0..9 */
	struct echo_lsq s = { 0 };
	struct echo_line l;
	(void)st;
	for (int x = 0; x < 10; x++)
		echo_lsq_add(&s, x, 1 + 2.0 * x + (x % 2 ? 1 : -1));
	echo_lsq_line(&s, &l);
	assert_true(l.valid);
	assert_int_equal(l.n, 10);
	/* known by hand: Sxx = 82.5, Sxy = 170, b = 170/82.5, SSE = 10 - b*5... */
	double sxx = 82.5, sxy = 2 * 82.5 + 5, b = sxy / sxx;
	double sse = (4 * 82.5 + 20 + 10 - 0.0) - b * sxy; /* Syy - b Sxy */
	assert_float_equal(l.b, b, 1e-9);
	assert_float_equal(l.b_ci, 2.3060 * sqrt(sse / 8 / sxx), 1e-4);
	assert_true(echo_line_significant(&l));
	/* two points: a line, no interval, never significant */
	struct echo_lsq s2 = { 0 };
	echo_lsq_add(&s2, 0, 0);
	echo_lsq_add(&s2, 1, 1);
	echo_lsq_line(&s2, &l);
	assert_true(l.valid);
	assert_true(isnan(l.b_ci));
	assert_false(echo_line_significant(&l));
	/* one x: no line */
	struct echo_lsq s3 = { 0 };
	echo_lsq_add(&s3, 5, 1);
	echo_lsq_add(&s3, 5, 2);
	echo_lsq_add(&s3, 5, 3);
	echo_lsq_line(&s3, &l);
	assert_false(l.valid);
}

/* The rule of issue 11: a slope that is noise gives no bandwidth. */
static void significance(void **st)
{
	struct echo_line l = { .valid = 1, .n = 60, .a = 0.02, .b = 2e-7, .r2 = 0.002,
	                       .b_ci = 5e-7 };
	(void)st;
	assert_false(echo_line_significant(&l));        /* interval holds 0 */
	l.b_ci = 1e-7;
	assert_false(echo_line_significant(&l));        /* above 0, but r2 tiny */
	l.r2 = 0.5;
	assert_true(echo_line_significant(&l));
	l.b = -2e-7;
	assert_false(echo_line_significant(&l));        /* falls with size */
	l.b = 2e-7;
	l.n = 2;
	assert_false(echo_line_significant(&l));

	/* sizes 1..1000 that change nothing: the fit says so, no bandwidth */
	static const uint64_t sizes[] = { 1, 500, 1000 };
	int64_t data[3][10];
	struct echo_point pts[3];
	struct echo_fit f;
	for (int i = 0; i < 3; i++) {
		for (int k = 0; k < 10; k++)     /* 20 us +- 3 us, the same at every size */
			data[i][k] = 20000 + (k % 7 - 3) * 1000 + (i == 1 ? 1000 : 0);
		pts[i] = (struct echo_point){ .delay_ns = 0, .size = sizes[i], .rtt_ns = data[i] };
		pts[i].fig.n = 10;
	}
	echo_fit_points(pts, 3, 0, &f);
	assert_true(f.valid);
	assert_false(f.significant);
	assert_true(f.b_ms_per_byte - f.b_ci_ms_per_byte <= 0 || f.r2 < ECHO_FIT_MIN_R2);
}

static void delay_effect(void **st)
{
	/* RTT = delay + 0.05 ms +- 0.01 ms at delays 0, 20, 50 ms */
	static const int64_t delays[] = { 0, 20000000, 50000000 };
	int64_t data[3][10];
	struct echo_point pts[3];
	struct echo_line l;
	(void)st;
	for (int d = 0; d < 3; d++) {
		for (int k = 0; k < 10; k++)
			data[d][k] = delays[d] + 50000 + (k % 2 ? 10000 : -10000);
		pts[d] = (struct echo_point){ .delay_ns = delays[d], .size = 100, .rtt_ns = data[d] };
		pts[d].fig.n = 10;
	}
	echo_delay_effect(pts, 3, &l);
	assert_true(l.valid);
	assert_int_equal(l.n, 30);
	assert_float_equal(l.b, 1.0, 1e-9);
	assert_float_equal(l.a, 0.05, 1e-9);
	assert_true(l.b_ci > 0 && l.b_ci < 0.01);
	echo_delay_effect(pts, 1, &l);              /* one delay: nothing to say */
	assert_false(l.valid);
}

static void log2_sizes(void **st)
{
	static const uint64_t dbl[] = { 1024, 2048, 4096, 8192, 16384, 32768 };
	static const uint64_t rtt[] = { 1, 100, 200, 400, 800, 1000 };
	static const uint64_t quad[] = { 1, 4, 16 };
	static const uint64_t small[] = { 1, 2, 4 };
	(void)st;
	assert_true(echo_sizes_log2(dbl, 6));
	assert_true(echo_sizes_log2(quad, 3));
	assert_false(echo_sizes_log2(rtt, 6));
	assert_false(echo_sizes_log2(small, 3));     /* less than 8x end to end */
	assert_false(echo_sizes_log2(dbl, 1));
}

static void lists(void **st)
{
	uint64_t sz[4];
	int64_t d[4];
	size_t n;
	const char *e;
	(void)st;
	assert_int_equal(echo_parse_list_sizes("1,100,1K,32K", sz, 4, &n, &e), 0);
	assert_int_equal(n, 4);
	assert_int_equal(sz[2], 1024);
	assert_int_equal(sz[3], 32768);
	assert_int_equal(echo_parse_list_sizes("1,2,3,4,5", sz, 4, &n, &e), -ERANGE);
	assert_int_not_equal(echo_parse_list_sizes("1,,2", sz, 4, &n, &e), 0);
	assert_int_not_equal(echo_parse_list_sizes("1,", sz, 4, &n, &e), 0);
	assert_int_not_equal(echo_parse_list_sizes("0", sz, 4, &n, &e), 0);
	assert_int_not_equal(echo_parse_list_sizes("x", sz, 4, &n, &e), 0);
	assert_int_not_equal(echo_parse_list_sizes("", sz, 4, &n, &e), 0);
	assert_int_equal(echo_parse_list_delays("0,10ms,0.5", d, 4, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(d[0], 0);
	assert_int_equal(d[1], 10000000);
	assert_int_equal(d[2], 500000000);
	assert_int_not_equal(echo_parse_list_delays("-1", d, 4, &n, &e), 0);
}

CM_MAIN(CM_T(figures), CM_T(fit), CM_T(t_and_ci), CM_T(line_intervals), CM_T(significance),
        CM_T(delay_effect), CM_T(log2_sizes), CM_T(lists))

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

CM_MAIN(CM_T(figures), CM_T(fit), CM_T(lists))

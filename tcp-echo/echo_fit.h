/* echo_fit: the client's figures, pure (no I/O): the figures of a set of
 * probes, 95% confidence intervals (Student's t), least-squares lines with
 * the intervals of their coefficients, the fit RTT = a + b * size of a sweep
 * and the rule that says when it shows anything, the effect of the server
 * delay, and the --sizes / --delays lists. In echo_core, unit-tested
 * (test_echo_fit).
 */
#ifndef ECHO_FIT_H
#define ECHO_FIT_H

#include <stddef.h>
#include <stdint.h>

#include "pk_report.h"

/* Figures of a set of probes. Throughput in Mbit/s per probe
 * (8 * size / RTT); goodput: all payload bits over the time from the first
 * byte sent to the last byte of echo read. */
struct echo_figures {
	uint64_t n;
	struct pk_rtt_ms rtt;       /* ms, exact percentiles (nearest rank) */
	double tput_mbps[6];        /* mean, min, max, stddev, p50, p99 */
	double goodput_mbps;
};
enum { EF_MEAN, EF_MIN, EF_MAX, EF_SD, EF_P50, EF_P99 };

/* One sweep point: a (delay, size) pair over --repeat sessions. */
struct echo_point {
	int64_t delay_ns;
	uint64_t size;
	unsigned sessions;
	struct echo_figures fig;
	int64_t *rtt_ns;            /* owned, fig.n entries */
	int64_t *wall_ns;           /* owned, fig.n send times (CLOCK_REALTIME); may be NULL */
};

/* Two-sided 95% quantile of Student's t with df degrees of freedom
 * (t_0.975): exact to 4 digits for 1..30 (table), Cornish-Fisher beyond;
 * NAN for df 0. */
double echo_t975(uint64_t df);
/* Half width of the 95% confidence interval of a mean of n values whose
 * population standard deviation (ping's mdev) is pop_sd:
 * t975(n-1) * s / sqrt(n) with s the sample deviation. NAN when n < 2. */
double echo_ci95(double pop_sd, uint64_t n);

/* Least squares y = a + b x: sums, then the line. */
struct echo_lsq {
	double n, sx, sy, sxx, sxy, syy;
};
struct echo_line {
	int valid;                  /* at least two samples and two distinct x */
	size_t n;
	double a, b, r2;
	double a_ci, b_ci;          /* 95% half widths (t, n - 2 df); NAN when n < 3 */
};
void echo_lsq_add(struct echo_lsq *s, double x, double y);
void echo_lsq_line(const struct echo_lsq *s, struct echo_line *out);

/* A slope shows something when its whole 95% interval lies above 0 and the
 * line explains at least ECHO_FIT_MIN_R2 of the spread (r2). Otherwise the
 * reports say "size has no measurable effect on this path" instead of a
 * bandwidth 1/b (loopback: b ~ 0, 1/b absurd). */
#define ECHO_FIT_MIN_R2 0.1
int echo_line_significant(const struct echo_line *l);

/* Least-squares RTT = a + b * size for one delay. */
struct echo_fit {
	int64_t delay_ns;
	size_t n;                   /* samples used */
	int valid;                  /* at least two distinct sizes */
	double a_ms;                /* base latency */
	double b_ms_per_byte;
	double bandwidth_mbps;      /* 8 / b, valid when b > 0 */
	double r2;
	double a_ci_ms, b_ci_ms_per_byte; /* 95% half widths, NAN below 3 samples */
	int significant;            /* echo_line_significant(): b > 0 shown */
	double bw_lo_mbps, bw_hi_mbps; /* 95% interval of 8 / b when significant */
};

/* Allocates a scratch copy of the n RTTs and frees it. */
void echo_figures_of(const int64_t *rtt_ns, uint64_t n, uint64_t size,
                     int64_t span_ns, struct echo_figures *out);
/* The fit over every sample of the points of one delay. */
void echo_fit_points(const struct echo_point *pts, size_t npts, int64_t delay_ns,
                     struct echo_fit *out);
/* The effect of the server delay: least squares of every RTT sample (ms)
 * of the points against their delay (ms); b is ms of RTT per ms of delay
 * (1 when the delay adds itself and nothing else). */
void echo_delay_effect(const struct echo_point *pts, size_t npts, struct echo_line *out);
/* Sizes that double (each at least twice the last, by a power of two, and
 * the largest at least 8x the smallest) are drawn on a log2 axis. */
int echo_sizes_log2(const uint64_t *sizes, size_t n);

/* Comma-separated lists (at most cap values): 0, or -errno with *errstr. */
int echo_parse_list_sizes(const char *s, uint64_t *out, size_t cap, size_t *n,
                          const char **errstr);
int echo_parse_list_delays(const char *s, int64_t *out, size_t cap, size_t *n,
                           const char **errstr);

#endif

/* echo_fit: the client's figures, pure (no I/O): the figures of a set of
 * probes, the least-squares fit RTT = a + b * size of a sweep, and the
 * --sizes / --delays lists. In echo_core, unit-tested (test_echo_fit).
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
};

/* Least-squares RTT = a + b * size for one delay. */
struct echo_fit {
	int64_t delay_ns;
	size_t n;                   /* samples used */
	int valid;                  /* at least two distinct sizes */
	double a_ms;                /* base latency */
	double b_ms_per_byte;
	double bandwidth_mbps;      /* 8 / b, valid when b > 0 */
	double r2;
};

/* Allocates a scratch copy of the n RTTs and frees it. */
void echo_figures_of(const int64_t *rtt_ns, uint64_t n, uint64_t size,
                     int64_t span_ns, struct echo_figures *out);
/* The fit over every sample of the points of one delay. */
void echo_fit_points(const struct echo_point *pts, size_t npts, int64_t delay_ns,
                     struct echo_fit *out);
/* Comma-separated lists (at most cap values): 0, or -errno with *errstr. */
int echo_parse_list_sizes(const char *s, uint64_t *out, size_t cap, size_t *n,
                          const char **errstr);
int echo_parse_list_delays(const char *s, int64_t *out, size_t cap, size_t *n,
                           const char **errstr);

#endif

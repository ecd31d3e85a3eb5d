/* echo_fit: figures of a set of probes, the least-squares fit of a sweep and
 * the option lists. Pure: no I/O; echo_figures_of() allocates a scratch copy
 * and frees it. */
#include "echo_fit.h"
#include "pk_clock.h"
#include "pk_opt.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Nearest rank of a sorted array. */
static double quantile(const double *v, uint64_t n, double q)
{
	uint64_t k = (uint64_t)ceil(q * (double)n);
	return v[k > 0 ? k - 1 : 0];
}

/* mean, min, max, population stddev, p50, p99 of v (sorted on return). */
static void describe(double *v, uint64_t n, double *out)
{
	struct pk_summary s;

	pk_summary_init(&s);
	for (uint64_t i = 0; i < n; i++)
		pk_summary_add(&s, v[i]);
	qsort(v, n, sizeof *v, cmp_double);
	out[EF_MEAN] = s.mean;
	out[EF_MIN] = s.min;
	out[EF_MAX] = s.max;
	out[EF_SD] = pk_summary_stddev(&s);
	out[EF_P50] = quantile(v, n, 0.50);
	out[EF_P99] = quantile(v, n, 0.99);
}

void echo_figures_of(const int64_t *rtt_ns, uint64_t n, uint64_t size,
                     int64_t span_ns, struct echo_figures *out)
{
	struct pk_jitter j;
	double *v, d[6];

	memset(out, 0, sizeof *out);
	out->n = out->rtt.n = n;
	if (n == 0 || (v = malloc(n * sizeof *v)) == NULL)
		return;
	pk_jitter_init(&j);
	for (uint64_t i = 0; i < n; i++) {
		v[i] = (double)rtt_ns[i] / 1e6;
		pk_jitter_add(&j, v[i]);
	}
	describe(v, n, d);
	out->rtt.avg = d[EF_MEAN];
	out->rtt.min = d[EF_MIN];
	out->rtt.max = d[EF_MAX];
	out->rtt.mdev = d[EF_SD];
	out->rtt.p50 = d[EF_P50];
	out->rtt.p99 = d[EF_P99];
	out->rtt.p90 = quantile(v, n, 0.90);
	out->rtt.p999 = quantile(v, n, 0.999);
	out->rtt.jitter = pk_jitter_value(&j);
	/* 8 * size bits / RTT: Mbit/s = 8e3 * size / rtt_ns */
	for (uint64_t i = 0; i < n; i++)
		v[i] = rtt_ns[i] > 0 ? 8e3 * (double)size / (double)rtt_ns[i] : 0.0;
	describe(v, n, out->tput_mbps);
	if (span_ns > 0)
		out->goodput_mbps = 8e3 * (double)size * (double)n / (double)span_ns;
	free(v);
}

double echo_t975(uint64_t df)
{
	static const double t[31] = {
		NAN, 12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622,
		2.2281, 2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930,
		2.0860, 2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452,
		2.0423,
	};
	const double z = 1.959963985, z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
	double v = (double)df;

	if (df <= 30)
		return t[df];
	/* Cornish-Fisher expansion of t in 1/df around the normal quantile */
	return z + (z3 + z) / 4 / v + (5 * z5 + 16 * z3 + 3 * z) / 96 / (v * v) +
	       (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / 384 / (v * v * v);
}

double echo_ci95(double pop_sd, uint64_t n)
{
	if (n < 2)
		return NAN;
	/* s = pop_sd * sqrt(n / (n - 1)); s / sqrt(n) = pop_sd / sqrt(n - 1) */
	return echo_t975(n - 1) * pop_sd / sqrt((double)(n - 1));
}

void echo_lsq_add(struct echo_lsq *s, double x, double y)
{
	s->n++;
	s->sx += x;
	s->sy += y;
	s->sxx += x * x;
	s->sxy += x * y;
	s->syy += y * y;
}

void echo_lsq_line(const struct echo_lsq *s, struct echo_line *out)
{
	double n = s->n, mx, sxx, sxy, syy, sse;

	memset(out, 0, sizeof *out);
	out->n = (size_t)n;
	out->a_ci = out->b_ci = NAN;
	if (n < 2)
		return;
	mx = s->sx / n;
	sxx = s->sxx - s->sx * mx;                  /* centred sums */
	sxy = s->sxy - s->sx * s->sy / n;
	syy = s->syy - s->sy * s->sy / n;
	if (!(sxx > 1e-12 * (s->sxx > 0 ? s->sxx : 1)))
		return;                             /* one x only */
	if (syy < 0)
		syy = 0;
	out->valid = 1;
	out->b = sxy / sxx;
	out->a = s->sy / n - out->b * mx;
	out->r2 = syy > 0 ? sxy * sxy / (sxx * syy) : 1.0;
	if (out->r2 > 1)
		out->r2 = 1;
	if (n < 3)
		return;
	sse = syy - out->b * sxy;
	if (sse < 0)
		sse = 0;
	double s2 = sse / (n - 2), t = echo_t975((uint64_t)n - 2);
	out->b_ci = t * sqrt(s2 / sxx);
	out->a_ci = t * sqrt(s2 * (1 / n + mx * mx / sxx));
}

int echo_line_significant(const struct echo_line *l)
{
	return l->valid && l->n >= 3 && isfinite(l->b_ci) && l->b - l->b_ci > 0 &&
	       l->r2 >= ECHO_FIT_MIN_R2;
}

void echo_fit_points(const struct echo_point *pts, size_t npts, int64_t delay_ns,
                     struct echo_fit *out)
{
	struct echo_lsq s = { 0 };
	struct echo_line l;

	memset(out, 0, sizeof *out);
	out->delay_ns = delay_ns;
	for (size_t i = 0; i < npts; i++) {
		const struct echo_point *p = &pts[i];
		if (p->delay_ns != delay_ns)
			continue;
		for (uint64_t k = 0; k < p->fig.n; k++)
			echo_lsq_add(&s, (double)p->size, (double)p->rtt_ns[k] / 1e6);
	}
	echo_lsq_line(&s, &l);
	out->n = l.n;
	out->a_ci_ms = out->b_ci_ms_per_byte = NAN;
	if (!l.valid)
		return;
	out->valid = 1;
	out->a_ms = l.a;
	out->b_ms_per_byte = l.b;
	out->r2 = l.r2;
	out->a_ci_ms = l.a_ci;
	out->b_ci_ms_per_byte = l.b_ci;
	out->significant = echo_line_significant(&l);
	/* b ms per byte -> 8 / b bits per ms -> 8e-3 / b Mbit/s */
	out->bandwidth_mbps = out->b_ms_per_byte > 0 ? 8e-3 / out->b_ms_per_byte : 0.0;
	if (out->significant) {
		out->bw_lo_mbps = 8e-3 / (l.b + l.b_ci);
		out->bw_hi_mbps = 8e-3 / (l.b - l.b_ci);
	}
}

void echo_delay_effect(const struct echo_point *pts, size_t npts, struct echo_line *out)
{
	struct echo_lsq s = { 0 };

	for (size_t i = 0; i < npts; i++)
		for (uint64_t k = 0; k < pts[i].fig.n; k++)
			echo_lsq_add(&s, (double)pts[i].delay_ns / 1e6, (double)pts[i].rtt_ns[k] / 1e6);
	echo_lsq_line(&s, out);
}

int echo_sizes_log2(const uint64_t *sizes, size_t n)
{
	if (n < 2 || sizes[0] == 0 || sizes[n - 1] < 8 * sizes[0])
		return 0;
	for (size_t i = 1; i < n; i++) {
		uint64_t q;
		if (sizes[i] <= sizes[i - 1] || sizes[i] % sizes[i - 1] != 0)
			return 0;
		q = sizes[i] / sizes[i - 1];
		if ((q & (q - 1)) != 0)
			return 0;
	}
	return 1;
}

/* Splits s at commas and hands each item to one(); at most cap items. */
static int each_item(const char *s, size_t cap, size_t *n, const char **errstr,
                     int (*one)(const char *item, size_t i, void *arg, const char **errstr),
                     void *arg)
{
	char buf[1024];
	char *save = NULL, *tok;
	size_t k = 0;

	if (s == NULL || strlen(s) >= sizeof buf || s[0] == '\0' || s[strlen(s) - 1] == ',' ||
	    s[0] == ',' || strstr(s, ",,") != NULL) {
		*errstr = "invalid";
		return -EINVAL;
	}
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int rc;
		if (k == cap) {
			*errstr = "too many values";
			return -ERANGE;
		}
		if ((rc = one(tok, k, arg, errstr)) != 0)
			return rc;
		k++;
	}
	*n = k;
	return 0;
}

static int one_size(const char *item, size_t i, void *arg, const char **errstr)
{
	return pk_opt_size(item, 1, 1024 * 1024 * 1024, &((uint64_t *)arg)[i], errstr);
}

static int one_delay(const char *item, size_t i, void *arg, const char **errstr)
{
	return pk_opt_duration(item, 0, 3600 * PK_NS_PER_S, &((int64_t *)arg)[i], errstr);
}

int echo_parse_list_sizes(const char *s, uint64_t *out, size_t cap, size_t *n,
                          const char **errstr)
{
	return each_item(s, cap, n, errstr, one_size, out);
}

int echo_parse_list_delays(const char *s, int64_t *out, size_t cap, size_t *n,
                           const char **errstr)
{
	return each_item(s, cap, n, errstr, one_delay, out);
}

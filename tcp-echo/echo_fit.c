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

void echo_fit_points(const struct echo_point *pts, size_t npts, int64_t delay_ns,
                     struct echo_fit *out)
{
	double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0, x0 = -1;
	int distinct = 0;

	memset(out, 0, sizeof *out);
	out->delay_ns = delay_ns;
	for (size_t i = 0; i < npts; i++) {
		const struct echo_point *p = &pts[i];
		double x = (double)p->size;

		if (p->delay_ns != delay_ns || p->fig.n == 0)
			continue;
		if (x0 < 0)
			x0 = x;
		else if (x != x0)
			distinct = 1;
		for (uint64_t k = 0; k < p->fig.n; k++) {
			double y = (double)p->rtt_ns[k] / 1e6;
			n++;
			sx += x;
			sy += y;
			sxx += x * x;
			sxy += x * y;
			syy += y * y;
		}
	}
	out->n = (size_t)n;
	if (!distinct || n < 2)
		return;
	double dx = n * sxx - sx * sx, dy = n * syy - sy * sy;
	out->b_ms_per_byte = (n * sxy - sx * sy) / dx;
	out->a_ms = (sy - out->b_ms_per_byte * sx) / n;
	out->r2 = dy > 0 ? pow(n * sxy - sx * sy, 2) / (dx * dy) : 1.0;
	out->valid = 1;
	/* b ms per byte -> 8 / b bits per ms -> 8e-3 / b Mbit/s */
	out->bandwidth_mbps = out->b_ms_per_byte > 0 ? 8e-3 / out->b_ms_per_byte : 0.0;
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

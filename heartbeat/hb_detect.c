#include "hb_detect.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- k consecutive misses -------------------------------------------- */

void hb_kmiss_init(struct hb_kmiss *d, unsigned k)
{
	memset(d, 0, sizeof *d);
	d->k = k ? k : 1;
	d->last_ok_ns = -1;
}

/* An in-time reply to seq arrives before the deadline of every heartbeat
 * newer than seq, so no newer miss can have been counted yet: the run of
 * misses starts again from zero. */
enum hb_change hb_kmiss_reply(struct hb_kmiss *d, uint64_t seq, int64_t at_ns)
{
	if (d->any_ok && seq < d->max_ok)
		return HB_SAME;           /* reordered: says nothing newer */
	d->any_ok = 1;
	d->max_ok = seq;
	d->last_ok_ns = at_ns;
	d->run = 0;
	if (d->down) {
		d->down = 0;
		return HB_WENT_UP;
	}
	return HB_SAME;
}

enum hb_change hb_kmiss_timeout(struct hb_kmiss *d, uint64_t seq)
{
	if (d->any_ok && seq <= d->max_ok)
		return HB_SAME;           /* a newer heartbeat was answered */
	if (d->run == 0)
		d->first_miss = seq;
	d->run++;
	if (d->run >= d->k && !d->down) {
		d->down = 1;
		return HB_WENT_DOWN;
	}
	return HB_SAME;
}

/* ---- phi accrual ------------------------------------------------------ */

/* Akka: e = exp(-y (1.5976 + 0.070566 y^2)); phi = -log10(e / (1 + e)).
 * With z = y (1.5976 + 0.070566 y^2) that is log10(1 + exp(z)), computed
 * here without overflow for any y. */
double hb_phi_of_y(double y)
{
	double z = y * (1.5976 + 0.070566 * y * y);

	if (z > 0)
		return (z + log1p(exp(-z))) / M_LN10;
	return log1p(exp(z)) / M_LN10;
}

/* Inverts hb_phi_of_y (monotonic increasing) by bisection. */
static double y_for_phi(double phi)
{
	double lo = -50.0, hi = 50.0;

	for (int i = 0; i < 200; i++) {
		double mid = (lo + hi) / 2;
		if (hb_phi_of_y(mid) < phi)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

static void phi_fit(struct hb_phi *p)
{
	double sum = 0, m2 = 0, mean;

	for (unsigned i = 0; i < p->n; i++)
		sum += p->win[i];
	mean = sum / p->n;
	for (unsigned i = 0; i < p->n; i++)
		m2 += (p->win[i] - mean) * (p->win[i] - mean);
	p->mean_ns = mean;
	p->sd_ns = sqrt(m2 / p->n);
	if (p->sd_ns < p->min_sd_ns)
		p->sd_ns = p->min_sd_ns;
}

static void phi_add(struct hb_phi *p, double x)
{
	p->win[p->head] = x;
	p->head = (p->head + 1) % HB_PHI_WINDOW;
	if (p->n < HB_PHI_WINDOW)
		p->n++;
}

void hb_phi_init(struct hb_phi *p, double threshold, int64_t interval_ns)
{
	double i = (double)interval_ns;

	memset(p, 0, sizeof *p);
	p->threshold = threshold;
	p->y_star = y_for_phi(threshold);
	p->min_sd_ns = i / 4;
	p->last_ns = -1;
	/* Akka's bootstrap: two samples giving mean = interval, sd = interval/4 */
	phi_add(p, i * 0.75);
	phi_add(p, i * 1.25);
	phi_fit(p);
}

void hb_phi_start(struct hb_phi *p, int64_t now_ns)
{
	if (p->last_ns < 0) {
		p->last_ns = now_ns;
		p->from_start = 1;
	}
}

enum hb_change hb_phi_arrival(struct hb_phi *p, int64_t at_ns)
{
	/* the time from the start to the first reply is no inter-arrival */
	if (p->last_ns >= 0 && !p->from_start && at_ns >= p->last_ns)
		phi_add(p, (double)(at_ns - p->last_ns));
	p->from_start = 0;
	phi_fit(p);
	p->last_ns = at_ns;
	if (p->down) {
		p->down = 0;
		return HB_WENT_UP;
	}
	return HB_SAME;
}

double hb_phi_value(const struct hb_phi *p, int64_t now_ns)
{
	double y, phi;

	if (p->last_ns < 0)
		return 0.0;
	y = ((double)(now_ns - p->last_ns) - p->mean_ns) / p->sd_ns;
	phi = hb_phi_of_y(y);
	return phi > 1e6 ? 1e6 : phi;
}

int64_t hb_phi_deadline(const struct hb_phi *p)
{
	double d;

	if (p->last_ns < 0)
		return INT64_MAX;
	d = p->mean_ns + p->y_star * p->sd_ns;
	if (d < 0)
		d = 0;
	/* round up: never before the crossing */
	return p->last_ns + (int64_t)ceil(d);
}

enum hb_change hb_phi_check(struct hb_phi *p, int64_t now_ns)
{
	if (p->down || p->last_ns < 0)
		return HB_SAME;
	if (now_ns < hb_phi_deadline(p) && hb_phi_value(p, now_ns) < p->threshold)
		return HB_SAME;
	p->down = 1;
	return HB_WENT_DOWN;
}

/* ---- false alarms ------------------------------------------------------ */

double hb_fa_per_beat(double p, unsigned k)
{
	return (1.0 - p) * pow(p, (double)k);
}

unsigned hb_fa_extra(int64_t interval_ns, int64_t timeout_ns)
{
	if (interval_ns <= 0 || timeout_ns <= interval_ns)
		return 0;
	return (unsigned)((timeout_ns + interval_ns - 1) / interval_ns - 1);
}

void hb_false_alarm(double p, unsigned k, int64_t interval_ns,
                    int64_t timeout_ns, struct hb_false_alarm *out)
{
	double per_hour_beats = 3600e9 / (double)interval_ns;
	unsigned extra = hb_fa_extra(interval_ns, timeout_ns);

	memset(out, 0, sizeof *out);
	out->p = p;
	out->k = k;
	out->extra = extra;
	if (!(p >= 0.0 && p < 1.0) || interval_ns <= 0)
		return;
	out->valid = 1;
	out->per_beat = hb_fa_per_beat(p, k + extra);
	out->per_hour = out->per_beat * per_hour_beats;
	out->per_day = out->per_hour * 24.0;
	for (unsigned kk = 1; kk <= HB_K_SEARCH_MAX; kk++) {
		double day = hb_fa_per_beat(p, kk + extra) * per_hour_beats * 24.0;
		if (day < 1.0) {
			out->k_day = kk;
			out->k_day_per_day = day;
			break;
		}
	}
}

/* ---- false alarms over a run of n heartbeats --------------------------- */

static double pow_u(double p, uint64_t e)
{
	return pow(p, (double)e);
}

/* Both sides of the run's outcome, each a sum of positive terms, so that
 * either is exact to rounding when tiny: *none = P(no down in n),
 * *any = P(at least one) = the first passages at m = ke..n plus the open
 * runs of k..ke-1 misses at the end (extra > 0 only). */
static int fa_run(double p, unsigned k, unsigned extra, uint64_t n,
                  double *none, double *any)
{
	uint64_t ke = (uint64_t)k + extra, cap = ke + 1;
	double pke, first, *a, no = 0.0, yes = 0.0;

	if (!(p >= 0.0 && p < 1.0) || k == 0 || n == 0 || n > HB_FA_N_MAX)
		return -EINVAL;
	pke = pow_u(p, ke);
	first = (1.0 - p) * pke;
	/* a[m % cap] = a_m for the last cap values of m; a_m = 1 below ke */
	a = malloc((size_t)cap * sizeof *a);
	if (a == NULL)
		return -ENOMEM;
	for (uint64_t m = 0; m <= n; m++) {
		double v, f;

		if (m < ke) {
			v = 1.0;
		} else {
			/* the first run of ke completes at m */
			f = m == ke ? pke : first * a[(m - ke - 1) % cap];
			yes += f;
			v = a[(m - 1) % cap] - f;
		}
		a[m % cap] = v > 0.0 ? v : 0.0;
	}
	/* the run open at the end: r misses (r = n: all lost); r >= k with
	 * no later heartbeat to clear it is a down, below k it is not */
	for (uint64_t r = 0; r < ke && r <= n; r++) {
		double pr = r == n ? pow_u(p, n) : (1.0 - p) * pow_u(p, r) * a[(n - r - 1) % cap];
		if (r < k)
			no += pr;
		else
			yes += pr;
	}
	free(a);
	*none = no < 1.0 ? no : 1.0;
	*any = yes < 1.0 ? yes : 1.0;
	return 0;
}

int hb_fa_none(double p, unsigned k, unsigned extra, uint64_t n, double *none)
{
	double any;

	return fa_run(p, k, extra, n, none, &any);
}

double hb_fa_expected(double p, unsigned k, unsigned extra, uint64_t n)
{
	uint64_t ke = (uint64_t)k + extra, full, s;
	double e;

	if (n < k)
		return 0.0;
	/* runs starting at s = 1 .. n-ke+1 need ke losses, later ones fewer */
	e = 0.0;
	full = n + 1 >= ke ? n + 1 - ke : 0;   /* count of s with n-s+1 >= ke */
	if (full >= 1)
		e = pow_u(p, ke) * (1.0 + (double)(full - 1) * (1.0 - p));
	for (s = full + 1; s <= n - k + 1; s++)
		e += (s == 1 ? 1.0 : 1.0 - p) * pow_u(p, n - s + 1);
	return e;
}

double hb_fa_mean_first(double p, unsigned k, unsigned extra)
{
	double pke = pow_u(p, (uint64_t)k + extra);

	if (pke <= 0.0 || p >= 1.0)
		return INFINITY;
	return (1.0 - pke) / ((1.0 - p) * pke);
}

void hb_fa_over_run(double p, unsigned k, unsigned extra, uint64_t n, double budget,
                    struct hb_fa_run *out)
{
	double none, any, q;
	unsigned lo = 1, hi = HB_K_SEARCH_MAX;

	memset(out, 0, sizeof *out);
	out->n = n;
	out->budget = budget;
	if (fa_run(p, k, extra, n, &none, &any) < 0)
		return;
	q = hb_fa_per_beat(p, k + extra);
	out->none = none;
	out->any = any;
	out->any_approx = -expm1((double)n * log1p(-q));
	out->expected = hb_fa_expected(p, k, extra, n);
	out->mean_first = hb_fa_mean_first(p, k, extra);
	/* smallest K with P(at least one) < budget: bisection on [1, max] */
	if (fa_run(p, hi, extra, n, &none, &any) < 0)
		return;
	out->valid = 1;
	if (any >= budget)
		return;                 /* none up to the max */
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (fa_run(p, mid, extra, n, &none, &any) < 0) {
			out->valid = 0;
			return;
		}
		if (any < budget)
			hi = mid;
		else
			lo = mid + 1;
	}
	(void)fa_run(p, lo, extra, n, &none, &any);
	out->k_budget = lo;
	out->k_budget_any = any;
}

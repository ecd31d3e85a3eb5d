/* agent_lat: one report interval's durations of a peer (agent_table.h),
 * without pk_rtt's 18 KiB histogram per series: the samples themselves,
 * sorted when the figures are read, give exact nearest-rank quantiles. */
#include "agent_table.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define AGENT_LAT_FIRST 16     /* samples of the first allocation */
#define AGENT_LAT_SHRINK 256   /* a buffer larger than this is freed at a reset */

void agent_lat_init(struct agent_lat *l)
{
	memset(l, 0, sizeof *l);
	pk_summary_init(&l->sum);
	pk_jitter_init(&l->jit);
	l->rng = 0x9e3779b97f4a7c15ULL;
}

void agent_lat_reset(struct agent_lat *l)
{
	int64_t *v = l->v;
	uint32_t cap = l->cap;
	uint64_t rng = l->rng;

	if (cap > AGENT_LAT_SHRINK) {
		free(v);
		v = NULL;
		cap = 0;
	}
	agent_lat_init(l);
	l->v = v;
	l->cap = cap;
	l->rng = rng;
}

void agent_lat_free(struct agent_lat *l)
{
	free(l->v);
	l->v = NULL;
	l->cap = l->n = 0;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

int agent_lat_add(struct agent_lat *l, int64_t ns)
{
	if (ns < 0)
		ns = 0;
	pk_summary_add(&l->sum, (double)ns);
	pk_jitter_add(&l->jit, (double)ns);
	l->seen++;
	if (l->n == l->cap && l->cap < AGENT_LAT_KEEP) {
		uint32_t cap = l->cap == 0 ? AGENT_LAT_FIRST : 2 * l->cap;
		int64_t *v = realloc(l->v, (size_t)cap * sizeof *v);
		if (v == NULL)
			return -ENOMEM;     /* the summary has it; the quantiles do without */
		l->v = v;
		l->cap = cap;
	}
	if (l->n < l->cap) {
		l->v[l->n++] = ns;
	} else {                    /* reservoir: each of `seen` kept with equal chance */
		uint64_t j = xorshift(&l->rng) % l->seen;
		if (j < l->n)
			l->v[j] = ns;
	}
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest rank, as pk_hist_quantile: the extremes are the summary's. */
static double quantile(const struct agent_lat *l, double q)
{
	uint64_t rank;

	if (l->n == 0)
		return 0;
	rank = (uint64_t)ceil(q * (double)l->n);
	if (rank <= 1)
		return l->sum.min;
	if (rank >= l->n)
		return l->sum.max;
	return (double)l->v[rank - 1];
}

void agent_lat_ms(const struct agent_lat *l, struct pk_rtt_ms *o)
{
	memset(o, 0, sizeof *o);
	o->n = l->sum.n;
	if (o->n == 0)
		return;
	if (l->n > 1)    /* the order of the samples means nothing: sorted in place */
		qsort(l->v, l->n, sizeof *l->v, cmp_i64);
	o->min = l->sum.min / 1e6;
	o->avg = l->sum.mean / 1e6;
	o->max = l->sum.max / 1e6;
	o->mdev = pk_summary_stddev(&l->sum) / 1e6;
	o->jitter = pk_jitter_value(&l->jit) / 1e6;
	o->p50 = quantile(l, 0.50) / 1e6;
	o->p90 = quantile(l, 0.90) / 1e6;
	o->p99 = quantile(l, 0.99) / 1e6;
	o->p999 = quantile(l, 0.999) / 1e6;
}

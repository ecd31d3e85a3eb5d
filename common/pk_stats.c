#include "pk_stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void pk_summary_init(struct pk_summary *s)
{
	memset(s, 0, sizeof *s);
}

void pk_summary_add(struct pk_summary *s, double x)
{
	double d;

	if (s->n == 0 || x < s->min)
		s->min = x;
	if (s->n == 0 || x > s->max)
		s->max = x;
	s->n++;
	d = x - s->mean;
	s->mean += d / (double)s->n;
	s->m2 += d * (x - s->mean);
}

double pk_summary_stddev(const struct pk_summary *s)
{
	return s->n < 2 ? 0.0 : sqrt(s->m2 / (double)s->n);
}

double pk_summary_sstddev(const struct pk_summary *s)
{
	return s->n < 2 ? 0.0 : sqrt(s->m2 / (double)(s->n - 1));
}

/* ---- histogram ---------------------------------------------------------
 * Values below 256 have a bucket each. Above, each power of two [2^e, 2^e+1)
 * is cut into 128 equal buckets of width 2^(e-7): a bucket's midpoint is
 * within 2^(e-8) / 2^e = 1/256 of any value in it. */

unsigned pk_hist_bucket(uint64_t v)
{
	unsigned e;

	if (v < PK_HIST_LINEAR)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v);
	if (e > PK_HIST_MAX_EXP)
		return PK_HIST_BUCKETS - 1;
	return PK_HIST_LINEAR + (e - PK_HIST_SUB_BITS - 1) * (1u << PK_HIST_SUB_BITS) +
	       (unsigned)((v >> (e - PK_HIST_SUB_BITS)) & ((1u << PK_HIST_SUB_BITS) - 1));
}

void pk_hist_bucket_range(unsigned b, uint64_t *lo, uint64_t *hi)
{
	unsigned octave, sub, e;

	if (b < PK_HIST_LINEAR) {
		*lo = *hi = b;
		return;
	}
	octave = (b - PK_HIST_LINEAR) >> PK_HIST_SUB_BITS;
	sub = (b - PK_HIST_LINEAR) & ((1u << PK_HIST_SUB_BITS) - 1);
	e = octave + PK_HIST_SUB_BITS + 1;
	*lo = (1ULL << e) + ((uint64_t)sub << (e - PK_HIST_SUB_BITS));
	*hi = *lo + (1ULL << (e - PK_HIST_SUB_BITS)) - 1;
}

void pk_hist_init(struct pk_hist *h)
{
	memset(h, 0, sizeof *h);
}

void pk_hist_add(struct pk_hist *h, uint64_t v)
{
	if (h->n == 0 || v < h->min)
		h->min = v;
	if (h->n == 0 || v > h->max)
		h->max = v;
	h->n++;
	h->count[pk_hist_bucket(v)]++;
}

uint64_t pk_hist_quantile(const struct pk_hist *h, double q)
{
	uint64_t rank, seen = 0, lo, hi, mid;
	unsigned b;

	if (h->n == 0)
		return 0;
	if (q <= 0.0)
		return h->min;
	if (q >= 1.0)
		return h->max;
	rank = (uint64_t)ceil(q * (double)h->n);
	if (rank <= 1)
		return h->min;
	if (rank >= h->n)
		return h->max;
	for (b = 0; b < PK_HIST_BUCKETS; b++) {
		seen += h->count[b];
		if (seen >= rank)
			break;
	}
	if (b == PK_HIST_BUCKETS)
		return h->max;
	pk_hist_bucket_range(b, &lo, &hi);
	mid = lo + (hi - lo) / 2;
	if (mid < h->min)
		mid = h->min;
	if (mid > h->max)
		mid = h->max;
	return mid;
}

void pk_jitter_init(struct pk_jitter *j)
{
	memset(j, 0, sizeof *j);
}

void pk_jitter_add(struct pk_jitter *j, double x)
{
	if (j->have_prev) {
		j->sum += fabs(x - j->prev);
		j->n++;
	}
	j->prev = x;
	j->have_prev = 1;
}

double pk_jitter_value(const struct pk_jitter *j)
{
	return j->n ? j->sum / (double)j->n : 0.0;
}

void pk_rtt_init(struct pk_rtt *r)
{
	pk_summary_init(&r->sum);
	pk_jitter_init(&r->jit);
	pk_hist_init(&r->hist);
}

void pk_rtt_add(struct pk_rtt *r, int64_t ns)
{
	if (ns < 0)
		ns = 0;
	pk_summary_add(&r->sum, (double)ns);
	pk_jitter_add(&r->jit, (double)ns);
	pk_hist_add(&r->hist, (uint64_t)ns);
}

void pk_rtt_ms(const struct pk_rtt *r, struct pk_rtt_ms *o)
{
	memset(o, 0, sizeof *o);
	o->n = r->sum.n;
	if (o->n == 0)
		return;
	o->min = r->sum.min / 1e6;
	o->avg = r->sum.mean / 1e6;
	o->max = r->sum.max / 1e6;
	o->mdev = pk_summary_stddev(&r->sum) / 1e6;
	o->jitter = pk_jitter_value(&r->jit) / 1e6;
	o->p50 = (double)pk_hist_quantile(&r->hist, 0.50) / 1e6;
	o->p90 = (double)pk_hist_quantile(&r->hist, 0.90) / 1e6;
	o->p99 = (double)pk_hist_quantile(&r->hist, 0.99) / 1e6;
	o->p999 = (double)pk_hist_quantile(&r->hist, 0.999) / 1e6;
}

void pk_wilson(uint64_t k, uint64_t n, double *lo, double *hi)
{
	const double z = 1.959963984540054;
	double p, z2n, denom, centre, half;

	if (n == 0) {
		*lo = 0.0;
		*hi = 1.0;
		return;
	}
	p = (double)k / (double)n;
	z2n = z * z / (double)n;
	denom = 1.0 + z2n;
	centre = (p + z2n / 2.0) / denom;
	half = z * sqrt(p * (1.0 - p) / (double)n + z2n / (4.0 * (double)n)) / denom;
	*lo = centre - half < 0.0 ? 0.0 : centre - half;
	*hi = centre + half > 1.0 ? 1.0 : centre + half;
	if (k == 0)
		*lo = 0.0;
	if (k == n)
		*hi = 1.0;
}

/* ---- sender-side sequence tracking ---------------------------------- */

int pk_seqtrack_init(struct pk_seqtrack *t, size_t cap, uint64_t first,
                     int64_t timeout_ns)
{
	memset(t, 0, sizeof *t);
	if (cap == 0)
		cap = 1;
	t->win = calloc(cap, sizeof *t->win);
	if (t->win == NULL)
		return -ENOMEM;
	t->cap = cap;
	t->timeout_ns = timeout_ns;
	t->first = t->next_send = t->next_expire = first;
	return 0;
}

void pk_seqtrack_free(struct pk_seqtrack *t)
{
	free(t->win);
	t->win = NULL;
}

static struct pk_seq_slot *slot_of(const struct pk_seqtrack *t, uint64_t seq)
{
	struct pk_seq_slot *s = &t->win[seq % t->cap];

	if (seq < t->first || seq >= t->next_send || s->status == PK_SEQ_NONE || s->seq != seq)
		return NULL;
	return s;
}

int pk_seqtrack_restamp(struct pk_seqtrack *t, uint64_t seq, int64_t sent_ns)
{
	struct pk_seq_slot *s = slot_of(t, seq);

	if (s == NULL || s->status != PK_SEQ_PENDING)
		return -ENOENT;
	s->sent_ns = sent_ns;
	return 0;
}

const struct pk_seq_slot *pk_seqtrack_slot(const struct pk_seqtrack *t, uint64_t seq)
{
	return slot_of(t, seq);
}

static void decide(struct pk_seqtrack *t, struct pk_seq_slot *s)
{
	if (s->status == PK_SEQ_PENDING) {
		s->status = PK_SEQ_LOST;
		t->lost++;
	}
	if (s->status == PK_SEQ_OK) {
		t->run = 0;
	} else {            /* lost, or answered only after its timeout */
		t->run++;
		if (t->run > t->longest_run)
			t->longest_run = t->run;
	}
	t->next_expire++;
}

uint64_t pk_seqtrack_send(struct pk_seqtrack *t, int64_t sent_ns)
{
	uint64_t seq = t->next_send;
	struct pk_seq_slot *s = &t->win[seq % t->cap];

	/* the slot's previous occupant must be decided before it is reused */
	while (t->next_expire + t->cap <= seq)
		decide(t, &t->win[t->next_expire % t->cap]);
	memset(s, 0, sizeof *s);
	s->seq = seq;
	s->sent_ns = sent_ns;
	s->rtt_ns = -1;
	s->status = PK_SEQ_PENDING;
	t->next_send++;
	t->sent++;
	return seq;
}

enum pk_seq_reply pk_seqtrack_reply(struct pk_seqtrack *t, uint64_t seq,
                                    int64_t rx_ns, int64_t *rtt_ns)
{
	struct pk_seq_slot *s = slot_of(t, seq);
	int64_t rtt;

	*rtt_ns = -1;
	if (s == NULL) {
		t->unknown++;
		return PK_REPLY_UNKNOWN;
	}
	rtt = rx_ns - s->sent_ns;
	if (rtt < 0)
		rtt = 0;
	*rtt_ns = rtt;
	if (s->status == PK_SEQ_OK || s->status == PK_SEQ_LATE) {
		s->dups++;
		t->dups++;
		return PK_REPLY_DUP;
	}
	s->rtt_ns = rtt;
	if (s->status == PK_SEQ_PENDING && rtt <= t->timeout_ns) {
		s->status = PK_SEQ_OK;
		t->ok++;
		if (t->any_replied && seq < t->max_replied)
			t->reordered++;
		if (!t->any_replied || seq > t->max_replied)
			t->max_replied = seq;
		t->any_replied = 1;
		return PK_REPLY_OK;
	}
	/* after the timeout, whether or not its timer has run yet */
	if (s->status == PK_SEQ_LOST)
		t->lost--;        /* decided lost already: now it is late */
	s->status = PK_SEQ_LATE;
	t->late++;
	return PK_REPLY_LATE;
}

const struct pk_seq_slot *pk_seqtrack_expire(struct pk_seqtrack *t, int64_t now_ns)
{
	struct pk_seq_slot *s;

	if (t->next_expire >= t->next_send)
		return NULL;
	s = &t->win[t->next_expire % t->cap];
	if (s->status == PK_SEQ_PENDING && now_ns < s->sent_ns + t->timeout_ns)
		return NULL;
	decide(t, s);
	return s;
}

int64_t pk_seqtrack_next_deadline(const struct pk_seqtrack *t)
{
	if (t->next_expire >= t->next_send)
		return INT64_MAX;
	return t->win[t->next_expire % t->cap].sent_ns + t->timeout_ns;
}

/* ---- receiver-side sequence tracking -------------------------------- */

void pk_rxseq_init(struct pk_rxseq *r)
{
	memset(r, 0, sizeof *r);
}

static void rxseq_start(struct pk_rxseq *r, uint64_t seq)
{
	r->first = r->highest = seq;
	r->window = 1;
	r->received = 1;
	r->started = 1;
}

enum pk_rxseq_event pk_rxseq_add(struct pk_rxseq *r, uint64_t seq, uint64_t restart_seq)
{
	uint64_t back;

	if (!r->started) {
		rxseq_start(r, seq);
		return PK_RXSEQ_FIRST;
	}
	if (seq > r->highest) {
		uint64_t gap = seq - r->highest;
		r->window = gap >= 64 ? 1 : (r->window << gap) | 1;
		r->highest = seq;
		r->received++;
		return PK_RXSEQ_NEXT;
	}
	back = r->highest - seq;
	if (seq < r->first && back < 64) {
		/* the run's first datagrams arrived out of order */
		r->first = seq;
		r->window |= 1ULL << back;
		r->received++;
		r->reordered++;
		return PK_RXSEQ_REORDERED;
	}
	if (seq < r->first || (seq == restart_seq && back > 0)) {
		uint32_t restarts = r->restarts + 1;
		pk_rxseq_init(r);
		rxseq_start(r, seq);
		r->restarts = restarts;
		return PK_RXSEQ_RESTART;
	}
	if (back >= 64) {
		/* too old to tell duplicate from reordered: call it a duplicate,
		 * the cautious choice (it is not counted as received) */
		r->dups++;
		return PK_RXSEQ_DUP;
	}
	if (r->window & (1ULL << back)) {
		r->dups++;
		return PK_RXSEQ_DUP;
	}
	r->window |= 1ULL << back;
	r->received++;
	r->reordered++;
	return PK_RXSEQ_REORDERED;
}

uint64_t pk_rxseq_expected(const struct pk_rxseq *r)
{
	return r->started ? r->highest - r->first + 1 : 0;
}

uint64_t pk_rxseq_lost(const struct pk_rxseq *r)
{
	uint64_t exp = pk_rxseq_expected(r);
	return exp > r->received ? exp - r->received : 0;
}

size_t pk_seqtrack_window(int64_t interval_ns, int64_t timeout_ns, unsigned history,
                          size_t min_slots, size_t max_slots)
{
	uint64_t w = 64;

	if (interval_ns > 0 && timeout_ns > 0)
		w += (uint64_t)history * ((uint64_t)(timeout_ns / interval_ns) + 1);
	if (w < min_slots)
		w = min_slots;
	if (w > max_slots)
		w = max_slots;
	return (size_t)w;
}

void pk_seqtrack_unknown(struct pk_seqtrack *t)
{
	t->unknown++;
}

void pk_samples_init(struct pk_samples *s, size_t size, size_t max)
{
	memset(s, 0, sizeof *s);
	s->size = size;
	s->max = max;
}

void pk_samples_free(struct pk_samples *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

void *pk_samples_add(struct pk_samples *s)
{
	void *x;

	if (s->n >= s->max) {
		s->dropped++;
		return NULL;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024;
		unsigned char *p;

		if (cap > s->max)
			cap = s->max;
		p = realloc(s->v, cap * s->size);
		if (p == NULL) {
			s->dropped++;
			return NULL;
		}
		s->v = p;
		s->cap = cap;
	}
	x = pk_samples_at(s, s->n++);
	memset(x, 0, s->size);
	return x;
}

/* pk_stats on known data. */
#include "cm.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "pk_clock.h"
#include "pk_stats.h"

static void summary_known(void **st)
{
	struct pk_summary s;
	double xs[] = { 2, 4, 4, 4, 5, 5, 7, 9 };
	(void)st;
	pk_summary_init(&s);
	for (size_t i = 0; i < 8; i++)
		pk_summary_add(&s, xs[i]);
	assert_int_equal(s.n, 8);
	assert_float_equal(s.min, 2, 1e-12);
	assert_float_equal(s.max, 9, 1e-12);
	assert_float_equal(s.mean, 5, 1e-12);
	assert_float_equal(pk_summary_stddev(&s), 2.0, 1e-12);      /* population */
	assert_float_equal(pk_summary_sstddev(&s), sqrt(32.0 / 7), 1e-12);
}

static void summary_empty_and_one(void **st)
{
	struct pk_summary s;
	(void)st;
	pk_summary_init(&s);
	assert_float_equal(pk_summary_stddev(&s), 0, 0);
	pk_summary_add(&s, 3.5);
	assert_float_equal(s.min, 3.5, 0);
	assert_float_equal(s.max, 3.5, 0);
	assert_float_equal(pk_summary_stddev(&s), 0, 0);
}

static void hist_buckets_cover_range(void **st)
{
	(void)st;
	uint64_t prev_hi = 0;
	for (unsigned b = 0; b < PK_HIST_BUCKETS; b++) {
		uint64_t lo, hi;
		pk_hist_bucket_range(b, &lo, &hi);
		if (b > 0)
			assert_int_equal(lo, prev_hi + 1);   /* contiguous */
		assert_int_equal(pk_hist_bucket(lo), b);
		assert_int_equal(pk_hist_bucket(hi), b);
		/* midpoint within 0.4% of every value in the bucket */
		if (lo > 0)
			assert_true((double)(hi - lo) / 2.0 / (double)lo <= 1.0 / 256 + 1e-12);
		prev_hi = hi;
	}
	assert_int_equal(pk_hist_bucket(UINT64_MAX), PK_HIST_BUCKETS - 1);
}

static void hist_quantiles_uniform(void **st)
{
	struct pk_hist *h = malloc(sizeof *h);
	(void)st;
	pk_hist_init(h);
	/* 1..100000 us in ns: quantile q is q * 100000 us */
	for (uint64_t v = 1; v <= 100000; v++)
		pk_hist_add(h, v * 1000);
	double qs[] = { 0.5, 0.9, 0.99, 0.999 };
	for (int i = 0; i < 4; i++) {
		double want = qs[i] * 100000.0 * 1000.0;
		double got = (double)pk_hist_quantile(h, qs[i]);
		assert_true(fabs(got - want) / want < 0.01);
	}
	assert_int_equal(pk_hist_quantile(h, 0.0), 1000);
	assert_int_equal(pk_hist_quantile(h, 1.0), 100000000);
	free(h);
}

static void hist_small_exact(void **st)
{
	struct pk_hist h;
	(void)st;
	pk_hist_init(&h);
	for (uint64_t v = 1; v <= 10; v++)
		pk_hist_add(&h, v);
	assert_int_equal(pk_hist_quantile(&h, 0.5), 5);
	assert_int_equal(pk_hist_quantile(&h, 0.9), 9);
	assert_int_equal(pk_hist_quantile(&h, 0.91), 10);
	/* the top rank is the exact maximum, not its bucket's midpoint */
	pk_hist_init(&h);
	pk_hist_add(&h, 106249);
	pk_hist_add(&h, 74630);
	assert_int_equal(pk_hist_quantile(&h, 0.99), 106249);
	assert_int_equal(pk_hist_quantile(&h, 0.5), 74630);
	pk_hist_init(&h);
	assert_int_equal(pk_hist_quantile(&h, 0.5), 0);
}

static void jitter_known(void **st)
{
	struct pk_jitter j;
	(void)st;
	pk_jitter_init(&j);
	assert_float_equal(pk_jitter_value(&j), 0, 0);
	pk_jitter_add(&j, 10);
	pk_jitter_add(&j, 12);
	pk_jitter_add(&j, 9);
	pk_jitter_add(&j, 9);
	assert_float_equal(pk_jitter_value(&j), (2.0 + 3.0 + 0.0) / 3.0, 1e-12);
}

static void rtt_ms_figures(void **st)
{
	struct pk_rtt *r = malloc(sizeof *r);
	struct pk_rtt_ms m;
	(void)st;
	pk_rtt_init(r);
	pk_rtt_add(r, 1000000);
	pk_rtt_add(r, 3000000);
	pk_rtt_ms(r, &m);
	assert_int_equal(m.n, 2);
	assert_float_equal(m.min, 1.0, 1e-9);
	assert_float_equal(m.max, 3.0, 1e-9);
	assert_float_equal(m.avg, 2.0, 1e-9);
	assert_float_equal(m.mdev, 1.0, 1e-9);
	assert_float_equal(m.jitter, 2.0, 1e-9);
	free(r);
}

static void wilson_known(void **st)
{
	double lo, hi;
	(void)st;
	/* 3 of 10: Wilson 95% = [0.1078, 0.6032] */
	pk_wilson(3, 10, &lo, &hi);
	assert_float_equal(lo, 0.1078, 5e-4);
	assert_float_equal(hi, 0.6032, 5e-4);
	/* 300 of 1000: [0.2726, 0.3290] */
	pk_wilson(300, 1000, &lo, &hi);
	assert_float_equal(lo, 0.2726, 5e-4);
	assert_float_equal(hi, 0.3290, 5e-4);
	pk_wilson(0, 10, &lo, &hi);
	assert_float_equal(lo, 0, 0);
	assert_float_equal(hi, 0.2775, 5e-4);
	pk_wilson(0, 0, &lo, &hi);
	assert_float_equal(lo, 0, 0);
	assert_float_equal(hi, 1, 0);
}

#define MS 1000000LL

static void seqtrack_ok_lost_late_dup(void **st)
{
	struct pk_seqtrack t;
	int64_t rtt;
	const struct pk_seq_slot *s;
	(void)st;
	assert_int_equal(pk_seqtrack_init(&t, 16, 1, 1000 * MS), 0);
	assert_int_equal(pk_seqtrack_send(&t, 0), 1);
	assert_int_equal(pk_seqtrack_send(&t, 100 * MS), 2);
	assert_int_equal(pk_seqtrack_send(&t, 200 * MS), 3);
	assert_int_equal(pk_seqtrack_next_deadline(&t), 1000 * MS);
	/* 1 answered in time */
	assert_int_equal(pk_seqtrack_reply(&t, 1, 5 * MS, &rtt), PK_REPLY_OK);
	assert_int_equal(rtt, 5 * MS);
	/* a second copy: duplicate, not a fresh reply */
	assert_int_equal(pk_seqtrack_reply(&t, 1, 6 * MS, &rtt), PK_REPLY_DUP);
	/* nothing due before 1000 ms */
	s = pk_seqtrack_expire(&t, 999 * MS);
	assert_non_null(s);                 /* 1 was answered: decided OK at once? */
	assert_int_equal(s->seq, 1);
	assert_int_equal(s->status, PK_SEQ_OK);
	assert_null(pk_seqtrack_expire(&t, 999 * MS));   /* 2 pending until 1100 */
	s = pk_seqtrack_expire(&t, 1100 * MS);
	assert_non_null(s);
	assert_int_equal(s->seq, 2);
	assert_int_equal(s->status, PK_SEQ_LOST);
	/* 2 answers after its timeout: late, never OK */
	assert_int_equal(pk_seqtrack_reply(&t, 2, 1500 * MS, &rtt), PK_REPLY_LATE);
	assert_int_equal(rtt, 1400 * MS);
	assert_int_equal(pk_seqtrack_reply(&t, 2, 1501 * MS, &rtt), PK_REPLY_DUP);
	/* 3 late before its timer ran */
	assert_int_equal(pk_seqtrack_reply(&t, 3, 1300 * MS, &rtt), PK_REPLY_LATE);
	s = pk_seqtrack_expire(&t, 1300 * MS);
	assert_non_null(s);
	assert_int_equal(s->status, PK_SEQ_LATE);
	/* never sent */
	assert_int_equal(pk_seqtrack_reply(&t, 99, 1300 * MS, &rtt), PK_REPLY_UNKNOWN);
	assert_int_equal(t.sent, 3);
	assert_int_equal(t.ok, 1);
	assert_int_equal(t.lost, 0);
	assert_int_equal(t.late, 2);
	assert_int_equal(t.dups, 2);
	assert_int_equal(t.unknown, 1);
	assert_int_equal(t.longest_run, 2);
	assert_int_equal(t.sent, t.ok + t.lost + t.late);
	pk_seqtrack_free(&t);
}

static void seqtrack_runs_and_reorder(void **st)
{
	struct pk_seqtrack t;
	int64_t rtt;
	/* pattern over 10: x = lost. ok x x ok x x x ok ok x */
	const char *pat = "oxxoxxxoox";
	(void)st;
	assert_int_equal(pk_seqtrack_init(&t, 4, 1, 10 * MS), 0);  /* window < count */
	for (int i = 0; i < 10; i++) {
		uint64_t seq = pk_seqtrack_send(&t, i * 100 * MS);
		if (pat[i] == 'o')
			pk_seqtrack_reply(&t, seq, i * 100 * MS + MS, &rtt);
		while (pk_seqtrack_expire(&t, i * 100 * MS + 50 * MS) != NULL)
			;
	}
	assert_int_equal(t.ok, 4);
	assert_int_equal(t.lost, 6);
	assert_int_equal(t.longest_run, 3);
	assert_int_equal(t.reordered, 0);
	pk_seqtrack_free(&t);

	/* reordering: 2 answered before 1 */
	assert_int_equal(pk_seqtrack_init(&t, 8, 1, 1000 * MS), 0);
	pk_seqtrack_send(&t, 0);
	pk_seqtrack_send(&t, 0);
	assert_int_equal(pk_seqtrack_reply(&t, 2, MS, &rtt), PK_REPLY_OK);
	assert_int_equal(pk_seqtrack_reply(&t, 1, 2 * MS, &rtt), PK_REPLY_OK);
	assert_int_equal(t.reordered, 1);
	pk_seqtrack_free(&t);
}

static void seqtrack_window_reuse_decides(void **st)
{
	struct pk_seqtrack t;
	int64_t rtt;
	(void)st;
	/* window of 2, long timeout: sending a third decides the first lost */
	assert_int_equal(pk_seqtrack_init(&t, 2, 1, 1000 * MS), 0);
	pk_seqtrack_send(&t, 0);
	pk_seqtrack_send(&t, 1);
	pk_seqtrack_send(&t, 2);
	assert_int_equal(t.lost, 1);
	assert_int_equal(pk_seqtrack_reply(&t, 1, 3, &rtt), PK_REPLY_UNKNOWN);
	assert_int_equal(pk_seqtrack_reply(&t, 3, 4, &rtt), PK_REPLY_OK);
	pk_seqtrack_free(&t);
}

static void rxseq_gaps_dups_reorder_restart(void **st)
{
	struct pk_rxseq r;
	(void)st;
	pk_rxseq_init(&r);
	assert_int_equal(pk_rxseq_add(&r, 0, 0), PK_RXSEQ_FIRST);
	assert_int_equal(pk_rxseq_add(&r, 1, 0), PK_RXSEQ_NEXT);
	assert_int_equal(pk_rxseq_add(&r, 4, 0), PK_RXSEQ_NEXT);   /* 2, 3 missing */
	assert_int_equal(pk_rxseq_lost(&r), 2);
	assert_int_equal(pk_rxseq_add(&r, 2, 0), PK_RXSEQ_REORDERED);
	assert_int_equal(pk_rxseq_lost(&r), 1);
	assert_int_equal(pk_rxseq_add(&r, 2, 0), PK_RXSEQ_DUP);
	assert_int_equal(pk_rxseq_add(&r, 4, 0), PK_RXSEQ_DUP);
	assert_int_equal(r.dups, 2);
	assert_int_equal(r.reordered, 1);
	assert_int_equal(pk_rxseq_expected(&r), 5);
	assert_int_equal(pk_rxseq_add(&r, 200, 0), PK_RXSEQ_NEXT);
	assert_int_equal(pk_rxseq_lost(&r), 1 + 195);
	assert_int_equal(pk_rxseq_add(&r, 100, 0), PK_RXSEQ_DUP);  /* too old to tell */
	/* back to 0: a new run of the client */
	assert_int_equal(pk_rxseq_add(&r, 0, 0), PK_RXSEQ_RESTART);
	assert_int_equal(r.restarts, 1);
	assert_int_equal(pk_rxseq_lost(&r), 0);
	assert_int_equal(r.received, 1);
	/* first datagrams out of order: 1 then 0 is reordering, not a restart */
	pk_rxseq_init(&r);
	assert_int_equal(pk_rxseq_add(&r, 1, 0), PK_RXSEQ_FIRST);
	assert_int_equal(pk_rxseq_add(&r, 0, 0), PK_RXSEQ_REORDERED);
	assert_int_equal(pk_rxseq_lost(&r), 0);
	assert_true(sizeof(struct pk_rxseq) <= 48);
}

/* A send time learnt after the send replaces the first while the
 * sequence is pending; not once it is answered or forgotten. */
static void seqtrack_restamp(void **st)
{
	struct pk_seqtrack t;
	int64_t rtt;
	(void)st;
	assert_int_equal(pk_seqtrack_init(&t, 4, 1, 1000), 0);
	assert_int_equal(pk_seqtrack_send(&t, 100), 1);
	assert_int_equal(pk_seqtrack_restamp(&t, 1, 130), 0);
	assert_int_equal(pk_seqtrack_reply(&t, 1, 200, &rtt), PK_REPLY_OK);
	assert_int_equal(rtt, 70);
	assert_int_equal(pk_seqtrack_restamp(&t, 1, 150), -ENOENT);   /* answered */
	assert_int_equal(pk_seqtrack_restamp(&t, 2, 150), -ENOENT);   /* never sent */
	pk_seqtrack_free(&t);
}

static void seqtrack_window_formula(void **st)
{
	(void)st;
	/* 1 s interval, 1 s timeout, twice over: 2 * (1 + 1) + 64 */
	assert_int_equal(pk_seqtrack_window(PK_NS_PER_S, PK_NS_PER_S, 2, 0, 1 << 20), 68);
	assert_int_equal(pk_seqtrack_window(PK_NS_PER_S, PK_NS_PER_S, 2, 1024, 1 << 20), 1024);
	/* 1 ms interval, 1 s timeout, 4 times over: 4 * 1001 + 64 */
	assert_int_equal(pk_seqtrack_window(PK_NS_PER_MS, PK_NS_PER_S, 4, 0, 1 << 20), 4068);
	/* bounded */
	assert_int_equal(pk_seqtrack_window(1, 3600 * PK_NS_PER_S, 2, 64, 65536), 65536);
	assert_int_equal(pk_seqtrack_window(0, 0, 2, 0, 100), 64);
}

static void seqtrack_unknown_and_index(void **st)
{
	struct pk_seqtrack t;
	int64_t rtt;
	(void)st;
	assert_int_equal(pk_seqtrack_init(&t, 8, 1, 100), 0);
	assert_int_equal(pk_seqtrack_next_seq(&t), 1);
	assert_int_equal(pk_seqtrack_oldest_pending(&t), 1);
	pk_seqtrack_send(&t, 0);
	pk_seqtrack_send(&t, 10);
	assert_int_equal(pk_seqtrack_next_seq(&t), 3);
	assert_int_equal(pk_seqtrack_oldest_pending(&t), 1);
	assert_non_null(pk_seqtrack_expire(&t, 100));      /* 1 lost at 0 + 100 */
	assert_int_equal(pk_seqtrack_oldest_pending(&t), 2);
	pk_seqtrack_unknown(&t);
	assert_int_equal(pk_seqtrack_reply(&t, 99, 0, &rtt), PK_REPLY_UNKNOWN);
	assert_int_equal(t.unknown, 2);
	assert_int_equal(pk_seqtrack_index(&t, 9), 1);
	assert_int_equal(pk_seqtrack_index(&t, 16), 0);
	pk_seqtrack_free(&t);
}

struct rec { uint64_t a; int b; };

static void samples_bounded(void **st)
{
	struct pk_samples s;
	struct rec *r;
	(void)st;
	pk_samples_init(&s, sizeof(struct rec), 1500);
	for (uint64_t i = 0; i < 2000; i++) {
		r = pk_samples_add(&s);
		if (i < 1500) {
			assert_non_null(r);
			assert_int_equal(r->a, 0);      /* zeroed */
			r->a = i;
		} else {
			assert_null(r);
		}
	}
	assert_int_equal(s.n, 1500);
	assert_int_equal(s.cap, 1500);        /* grown to the bound, not past */
	assert_int_equal(s.dropped, 500);
	r = pk_samples_at(&s, 1234);
	assert_int_equal(r->a, 1234);
	pk_samples_free(&s);
	assert_int_equal(s.n, 0);
	pk_samples_free(&s);                  /* safe twice */
}

CM_MAIN(CM_T(summary_known), CM_T(summary_empty_and_one),
	CM_T(hist_buckets_cover_range), CM_T(hist_quantiles_uniform),
	CM_T(hist_small_exact), CM_T(jitter_known), CM_T(rtt_ms_figures),
	CM_T(wilson_known), CM_T(seqtrack_ok_lost_late_dup),
	CM_T(seqtrack_runs_and_reorder), CM_T(seqtrack_window_reuse_decides),
	CM_T(rxseq_gaps_dups_reorder_restart), CM_T(seqtrack_restamp),
	CM_T(seqtrack_window_formula), CM_T(seqtrack_unknown_and_index),
	CM_T(samples_bounded))

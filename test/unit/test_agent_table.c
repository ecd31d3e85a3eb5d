/* agent_table: probe matching, expiry, peer table bounds and the report
 * arithmetic (interval figures, per-peer figures, roll-over). */
#include "cm.h"
#include <errno.h>
#include <math.h>
#include <string.h>

#include "agent_table.h"
#include "pk_clock.h"

#define MS PK_NS_PER_MS
#define S PK_NS_PER_S

static void init(struct agent_table *t, size_t peers)
{
	assert_int_equal(agent_table_init(t, peers, 64, 2 * S, 1), 0);
}

/* Four probes every 0.5 s, each answered after 50 ms: latency 25 ms. */
static void all_answered(void **st)
{
	struct agent_table t;
	struct pk_addr b = cm_v4(0x0a010106, 1910);
	struct agent_interval in;
	struct agent_peer_stats ps;
	int64_t lat;
	(void)st;
	init(&t, 8);
	for (int i = 0; i < 4; i++) {
		int64_t t0 = i * 500 * MS;
		uint64_t n = agent_table_send(&t, t0);
		assert_int_equal(n, (uint64_t)i + 1);
		assert_int_equal(agent_table_reply(&t, &b, n, t0 + 50 * MS, &lat), AGENT_REPLY_OK);
		assert_int_equal(lat, 25 * MS);
	}
	assert_int_equal(t.n, 1);
	agent_table_expire(&t, 10 * S);
	agent_table_interval(&t, &in);
	assert_int_equal(in.sent, 4);
	assert_int_equal(in.replies, 4);
	assert_int_equal(in.lost, 0);
	assert_true(in.have_latency);
	assert_true(fabs(in.avg_latency_ms - 25.0) < 1e-9);
	agent_peer_stats(t.peers[0], 10 * S, &ps);
	assert_int_equal(ps.c.answered, 4);
	assert_int_equal(ps.c.expected, 4);
	assert_int_equal(ps.c.lost, 0);
	assert_true(fabs(ps.min_ms - 25.0) < 1e-9 && fabs(ps.max_ms - 25.0) < 1e-9);
	assert_true(fabs(ps.avg_ms - 25.0) < 1e-9);
	assert_true(fabs(ps.p99_ms - 25.0) < 0.2);
	assert_true(fabs(ps.jitter_ms) < 1e-9);
	assert_true(fabs(ps.last_seen_ago_s - (10.0 - 1.55)) < 1e-9);
	agent_table_free(&t);
}

/* A peer heard first answers every other probe: half lost, decided only
 * when the timeout has passed. */
static void loss_at_deadline(void **st)
{
	struct agent_table t;
	struct pk_addr b = cm_v4(0x0a010106, 1910);
	struct agent_interval in;
	int64_t lat;
	(void)st;
	init(&t, 8);
	assert_non_null(agent_table_heard(&t, &b, 0));
	for (int i = 0; i < 10; i++) {
		uint64_t n = agent_table_send(&t, i * 500 * MS);
		if (n % 2)
			agent_table_reply(&t, &b, n, i * 500 * MS + 10 * MS, &lat);
	}
	/* probe 2 (sent at 0.5 s) is due at 2.5 s, not before */
	assert_int_equal(agent_table_next_deadline(&t), 2 * S);
	agent_table_expire(&t, 2500 * MS - 1);
	assert_int_equal(t.peers[0]->total.lost, 0);
	agent_table_expire(&t, 2500 * MS);
	assert_int_equal(t.peers[0]->total.lost, 1);
	assert_int_equal(t.lost, 1);
	agent_table_expire(&t, 100 * S);
	assert_int_equal(t.peers[0]->total.lost, 5);
	assert_int_equal(t.peers[0]->total.answered, 5);
	assert_int_equal(t.peers[0]->total.heard, 1);
	agent_table_interval(&t, &in);
	assert_int_equal(in.lost, 5);
	assert_int_equal(agent_table_next_deadline(&t), INT64_MAX);
	agent_table_free(&t);
}

/* Late, duplicate and unknown replies are counted, never matched. */
static void late_dup_unknown(void **st)
{
	struct agent_table t;
	struct pk_addr b = cm_v4(0x0a010106, 1910);
	int64_t lat;
	(void)st;
	init(&t, 8);
	agent_table_heard(&t, &b, 0);
	agent_table_send(&t, 0);            /* 1 */
	agent_table_send(&t, 500 * MS);     /* 2 */
	assert_int_equal(agent_table_reply(&t, &b, 1, 100 * MS, &lat), AGENT_REPLY_OK);
	assert_int_equal(agent_table_reply(&t, &b, 1, 120 * MS, &lat), AGENT_REPLY_DUP);
	assert_int_equal(lat, -1);
	agent_table_expire(&t, 3 * S);      /* 2 lost */
	assert_int_equal(agent_table_reply(&t, &b, 2, 3 * S, &lat), AGENT_REPLY_LATE);
	assert_int_equal(agent_table_reply(&t, &b, 3, 3 * S, &lat), AGENT_REPLY_UNKNOWN);
	assert_int_equal(agent_table_reply(&t, &b, 0, 3 * S, &lat), AGENT_REPLY_UNKNOWN);
	assert_int_equal(agent_table_reply(&t, &b, 1000000, 3 * S, &lat), AGENT_REPLY_UNKNOWN);
	assert_int_equal(t.unknown, 3);
	agent_table_unknown(&t);            /* a reply agent.c could not map */
	assert_int_equal(t.unknown, 4);
	assert_int_equal(agent_table_next_probe(&t), 3);
	assert_int_equal(t.peers[0]->total.answered, 1);
	assert_int_equal(t.peers[0]->total.dups, 1);
	assert_int_equal(t.peers[0]->total.late, 1);
	assert_int_equal(t.peers[0]->total.lost, 1);   /* late still missed its timeout */
	assert_int_equal(t.replies, 1);
	assert_int_equal(t.lost, 1);
	agent_table_free(&t);
}

/* Two peers: a probe is lost (headline) only when nobody answered it; the
 * average is over every in-time reply. */
static void two_peers(void **st)
{
	struct agent_table t;
	struct pk_addr b = cm_v4(0x0a010106, 1910), c = cm_v4(0x0a010107, 1910);
	struct agent_interval in;
	int64_t lat;
	(void)st;
	init(&t, 8);
	agent_table_heard(&t, &b, 0);
	agent_table_heard(&t, &c, 0);
	agent_table_send(&t, 0);                                /* both answer */
	agent_table_reply(&t, &b, 1, 20 * MS, &lat);
	agent_table_reply(&t, &c, 1, 40 * MS, &lat);
	agent_table_send(&t, 500 * MS);                         /* only c */
	agent_table_reply(&t, &c, 2, 560 * MS, &lat);
	agent_table_send(&t, 1000 * MS);                        /* nobody */
	agent_table_expire(&t, 10 * S);
	agent_table_interval(&t, &in);
	assert_int_equal(in.sent, 3);
	assert_int_equal(in.replies, 3);
	assert_int_equal(in.lost, 1);
	assert_true(fabs(in.avg_latency_ms - (10 + 20 + 30) / 3.0) < 1e-9);
	assert_int_equal(agent_table_find(&t, &b)->total.lost, 2);
	assert_int_equal(agent_table_find(&t, &c)->total.lost, 1);
	agent_table_free(&t);
}

/* A peer found by its reply to probe n is expected to answer n and every
 * later probe, not the probes before it started. */
static void found_by_reply(void **st)
{
	struct agent_table t;
	struct pk_addr b = cm_v4(0x0a010106, 1910);
	int64_t lat;
	(void)st;
	init(&t, 8);
	agent_table_send(&t, 0);
	agent_table_send(&t, 500 * MS);
	agent_table_send(&t, 1000 * MS);
	assert_int_equal(agent_table_reply(&t, &b, 2, 700 * MS + 1 * MS, &lat), AGENT_REPLY_OK);
	assert_int_equal(lat, 100 * MS + MS / 2);
	assert_int_equal(t.peers[0]->total.expected, 2);         /* 2 and 3 */
	agent_table_expire(&t, 10 * S);
	assert_int_equal(t.peers[0]->total.lost, 1);             /* 3 */
	assert_int_equal(t.lost, 2);                              /* 1 and 3 */
	agent_table_free(&t);
}

static void bounded_and_reaped(void **st)
{
	struct agent_table t;
	struct pk_addr p[3] = { cm_v4(0x0a000001, 1), cm_v4(0x0a000002, 1), cm_v4(0x0a000003, 1) };
	int64_t lat;
	(void)st;
	init(&t, 2);
	assert_non_null(agent_table_heard(&t, &p[0], 0));
	assert_non_null(agent_table_heard(&t, &p[1], 0));
	assert_null(agent_table_heard(&t, &p[2], 0));
	agent_table_send(&t, 0);
	assert_int_equal(agent_table_reply(&t, &p[2], 1, 30 * MS, &lat), AGENT_REPLY_UNTRACKED);
	assert_int_equal(lat, 15 * MS);          /* still in the headline figures */
	assert_int_equal(t.n, 2);
	assert_int_equal(t.untracked, 2);
	assert_int_equal(t.replies, 1);
	/* p[0] keeps talking, p[1] goes silent */
	agent_table_heard(&t, &p[0], 20 * S);
	assert_int_equal(agent_table_reap(&t, 25 * S, 10 * S), 1);
	assert_int_equal(t.n, 1);
	assert_true(pk_addr_same_host(&t.peers[0]->addr, &p[0]));
	assert_int_equal(t.expired, 1);
	/* room again */
	assert_non_null(agent_table_heard(&t, &p[2], 25 * S));
	assert_int_equal(t.found, 3);
	agent_table_free(&t);
}

/* Ending an interval keeps its figures and starts the next from zero. */
static void roll_over(void **st)
{
	struct agent_table t;
	struct pk_addr b = cm_v4(0x0a010106, 1910);
	struct agent_interval in;
	struct agent_peer_stats ps;
	int64_t lat;
	(void)st;
	init(&t, 8);
	agent_table_heard(&t, &b, 0);
	agent_table_send(&t, 0);
	agent_table_reply(&t, &b, 1, 40 * MS, &lat);
	agent_table_send(&t, 500 * MS);     /* lost */
	agent_table_expire(&t, 3 * S);
	agent_table_roll(&t, 3 * S);
	assert_true(t.have_last);
	assert_int_equal(t.last.sent, 2);
	assert_int_equal(t.last.lost, 1);
	assert_true(fabs(t.last.avg_latency_ms - 20.0) < 1e-9);
	assert_true(t.peers[0]->have_last);
	assert_int_equal(t.peers[0]->last.c.answered, 1);
	assert_int_equal(t.peers[0]->last.c.lost, 1);
	agent_table_interval(&t, &in);
	assert_int_equal(in.sent, 0);
	assert_int_equal(in.lost, 0);
	assert_false(in.have_latency);
	agent_table_send(&t, 3 * S);
	agent_table_reply(&t, &b, 3, 3 * S + 10 * MS, &lat);
	agent_peer_stats(t.peers[0], 4 * S, &ps);
	assert_int_equal(ps.c.answered, 1);
	assert_int_equal(ps.c.lost, 0);
	assert_int_equal(ps.c.expected, 1);
	assert_true(fabs(ps.avg_ms - 5.0) < 1e-9);
	assert_int_equal(t.peers[0]->total.answered, 2);      /* totals keep going */
	/* the histogram holds the round trips (40 ms, 10 ms), not RTT/2 */
	assert_int_equal(t.peers[0]->rtt.count, 2);
	assert_int_equal(t.peers[0]->rtt.sum_ns, 50 * MS);
	assert_int_equal(t.peers[0]->last_answer_ns, 3 * S + 10 * MS);
	agent_table_free(&t);
}

/* A duration lands in the bucket of the first bound at or above it (le:
 * "less than or equal"); beyond 1 s in the +Inf one; sub takes back. */
static void histogram_buckets(void **st)
{
	struct agent_hist h, d;
	(void)st;
	memset(&h, 0, sizeof h);
	memset(&d, 0, sizeof d);
	assert_int_equal(agent_hist_le_ns[0], 100000);
	assert_int_equal(agent_hist_le_ns[AGENT_HIST_BUCKETS - 1], 1000000000);
	agent_hist_add(&h, 0);
	agent_hist_add(&h, 100000);            /* on the bound: le 0.0001 */
	agent_hist_add(&h, 100001);            /* just above: le 0.00025 */
	agent_hist_add(&h, 3 * MS);            /* le 0.005 */
	agent_hist_add(&h, 1 * S);             /* le 1 */
	agent_hist_add(&h, 1 * S + 1);         /* +Inf */
	assert_int_equal(h.n[0], 2);
	assert_int_equal(h.n[1], 1);
	assert_int_equal(h.n[5], 1);
	assert_int_equal(h.n[12], 1);
	assert_int_equal(h.n[13], 1);
	assert_int_equal(h.count, 6);
	assert_int_equal(h.sum_ns, 200001 + 3 * MS + 2 * S + 1);
	agent_hist_add(&d, 3 * MS);
	agent_hist_sub(&h, &d);
	assert_int_equal(h.n[5], 0);
	assert_int_equal(h.count, 5);
	assert_int_equal(h.sum_ns, 200001 + 2 * S + 1);
}

/* agent_lat: exact nearest-rank quantiles of the samples; past
 * AGENT_LAT_KEEP a bounded reservoir; a reset keeps a small buffer. */
static void interval_quantiles(void **st)
{
	struct agent_lat l;
	struct pk_rtt_ms ms;
	(void)st;
	agent_lat_init(&l);
	agent_lat_ms(&l, &ms);
	assert_int_equal(ms.n, 0);
	for (int i = 100; i >= 1; i--)              /* 1..100 ms, in reverse */
		assert_int_equal(agent_lat_add(&l, i * MS), 0);
	agent_lat_add(&l, -5);                      /* negative: 0 */
	agent_lat_ms(&l, &ms);
	assert_int_equal(ms.n, 101);
	assert_true(ms.min == 0.0 && ms.max == 100.0);
	assert_true(fabs(ms.p50 - 50.0) < 1e-9);    /* rank 51 of 0,1..100 */
	assert_true(fabs(ms.p90 - 90.0) < 1e-9);    /* rank 91 */
	assert_true(fabs(ms.p99 - 99.0) < 1e-9);    /* rank 100 */
	assert_true(ms.jitter > 0.9 && ms.jitter < 2.0);
	agent_lat_reset(&l);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.cap, 128);               /* kept: small */
	for (int i = 0; i < 3 * AGENT_LAT_KEEP; i++)
		agent_lat_add(&l, (i % 1000) * MS);
	assert_int_equal(l.n, AGENT_LAT_KEEP);      /* bounded */
	assert_int_equal(l.cap, AGENT_LAT_KEEP);
	agent_lat_ms(&l, &ms);
	assert_int_equal(ms.n, 3 * AGENT_LAT_KEEP);
	assert_true(ms.p50 > 400.0 && ms.p50 < 600.0);   /* an estimate of 499.5 */
	agent_lat_reset(&l);
	assert_int_equal(l.cap, 0);                 /* a large buffer is freed */
	agent_lat_free(&l);
}

/* The kernel's send time replaces the first for the probe and every
 * peer's copy of it: the RTT runs from it. */
static void restamped_send(void **st)
{
	struct agent_table t;
	struct pk_addr b = cm_v4(0x0a010106, 1910);
	int64_t lat;
	(void)st;
	init(&t, 8);
	agent_table_heard(&t, &b, 0);
	uint64_t n = agent_table_send(&t, 1 * MS);
	assert_int_equal(agent_table_restamp(&t, n, 1 * MS + 40000), 0);
	assert_int_equal(agent_table_reply(&t, &b, n, 51 * MS + 40000, &lat), AGENT_REPLY_OK);
	assert_int_equal(lat, 25 * MS);
	assert_int_equal(agent_table_restamp(&t, n, 2 * MS), -ENOENT);   /* answered */
	agent_table_free(&t);
}

/* A peer's stamped probes: one-way delays kept, gaps counted as its
 * direction's loss, negative or beyond-the-timeout delays refused and
 * counted; an interval whose shortest one-way delay exceeds every round
 * trip is withheld (clocks that disagree), one spike is not. */
static void oneway_from_peer(void **st)
{
	struct agent_table t;
	struct pk_addr b = cm_v4(0x0a010106, 1910);
	struct agent_peer_stats ps;
	struct agent_peer *p;
	int64_t lat;
	(void)st;
	init(&t, 8);
	p = agent_table_heard(&t, &b, 0);
	assert_non_null(p);
	assert_int_equal(agent_table_oneway(&t, p, 1, 20 * MS), 0);
	assert_int_equal(agent_table_oneway(&t, p, 2, 3 * S), -ERANGE);   /* beyond the timeout */
	assert_int_equal(agent_table_oneway(&t, p, 3, -1), -ERANGE);
	/* an RTT of 50 ms; one-way delays of 20..60 ms: a spike above the RTT
	 * is kept, the shortest (20) is below it */
	uint64_t n = agent_table_send(&t, 1 * S);
	assert_int_equal(agent_table_reply(&t, &b, n, 1 * S + 50 * MS, &lat), AGENT_REPLY_OK);
	assert_int_equal(agent_table_oneway(&t, p, 5, 60 * MS), 0);
	assert_int_equal(agent_table_judge_oneway(&t), 0);
	agent_peer_stats(p, 2 * S, &ps);
	assert_true(ps.have_oneway);
	assert_int_equal(ps.ow.n, 2);
	assert_true(fabs(ps.ow.min - 20.0) < 1e-9);
	assert_true(fabs(ps.ow.max - 60.0) < 1e-9);
	assert_int_equal(ps.c.owd_bad, 2);
	assert_int_equal(ps.c.in_lost, 1);            /* 4 never came */
	assert_int_equal(p->owd_hist.count, 2);
	/* next interval: every one-way delay above the 50 ms round trip */
	agent_table_roll(&t, 3 * S);
	assert_int_equal(agent_table_oneway(&t, p, 6, 55 * MS), 0);
	assert_int_equal(agent_table_oneway(&t, p, 7, 57 * MS), 0);
	assert_int_equal(agent_table_judge_oneway(&t), 1);
	agent_peer_stats(p, 4 * S, &ps);
	assert_false(ps.have_oneway);
	assert_int_equal(ps.c.owd_bad, 2);
	assert_int_equal(t.owd_bad, 4);
	assert_int_equal(p->owd_hist.count, 2);       /* not in the histogram either */
	assert_int_equal(p->owd_hist.sum_ns, 80 * MS);
	assert_int_equal(p->owd_hist.n[7], 1);        /* 20 ms: le 0.025 */
	assert_int_equal(p->owd_hist.n[9], 1);        /* 60 ms: le 0.1 */
	/* the sequence modulo 10^7 wraps: 9999999 then 0 then 1 is no gap */
	struct pk_addr c = cm_v4(0x0a010107, 1910);
	p = agent_table_heard(&t, &c, 0);
	assert_int_equal(agent_table_oneway(&t, p, 9999999, MS), 0);
	assert_int_equal(agent_table_oneway(&t, p, 0, MS), 0);
	assert_int_equal(agent_table_oneway(&t, p, 1, MS), 0);
	agent_peer_stats(p, 4 * S, &ps);
	assert_int_equal(ps.c.in_lost, 0);
	assert_int_equal(ps.ow.n, 3);
	/* a new interval starts the one-way figures afresh */
	agent_table_roll(&t, 5 * S);
	agent_peer_stats(p, 5 * S, &ps);
	assert_false(ps.have_oneway);
	assert_true(p->have_last && p->last.have_oneway);
	agent_table_free(&t);
}

CM_MAIN(CM_T(all_answered), CM_T(loss_at_deadline), CM_T(late_dup_unknown),
	CM_T(two_peers), CM_T(found_by_reply), CM_T(bounded_and_reaped),
	CM_T(roll_over), CM_T(histogram_buckets), CM_T(interval_quantiles), CM_T(restamped_send),
	CM_T(oneway_from_peer))

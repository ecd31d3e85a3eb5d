/* hb_detect: the k-miss and phi detectors on synthetic arrival sequences,
 * and the false-alarm arithmetic against known values. */
#include "cm.h"
#include <math.h>

#include "hb_detect.h"

#define S 1000000000LL
#define MS 1000000LL

static void kmiss_basic(void **st)
{
	struct hb_kmiss d;
	(void)st;
	hb_kmiss_init(&d, 3);
	assert_int_equal(hb_kmiss_reply(&d, 0, 1 * MS), HB_SAME);
	assert_int_equal(hb_kmiss_timeout(&d, 1), HB_SAME);
	assert_int_equal(hb_kmiss_timeout(&d, 2), HB_SAME);
	assert_int_equal(hb_kmiss_reply(&d, 3, 3 * S), HB_SAME);   /* run broken */
	assert_int_equal(d.run, 0);
	assert_int_equal(hb_kmiss_timeout(&d, 4), HB_SAME);
	assert_int_equal(hb_kmiss_timeout(&d, 5), HB_SAME);
	assert_int_equal(hb_kmiss_timeout(&d, 6), HB_WENT_DOWN);   /* third miss */
	assert_int_equal(d.first_miss, 4);
	assert_int_equal(d.last_ok_ns, 3 * S);
	assert_int_equal(hb_kmiss_timeout(&d, 7), HB_SAME);        /* stays down */
	assert_int_equal(hb_kmiss_reply(&d, 8, 9 * S), HB_WENT_UP);
	assert_false(d.down);
}

/* Interval shorter than the timeout: heartbeats 1..3 are lost but 4 is
 * answered before their timeouts expire; the old misses must not count. */
static void kmiss_overlap(void **st)
{
	struct hb_kmiss d;
	(void)st;
	hb_kmiss_init(&d, 3);
	assert_int_equal(hb_kmiss_reply(&d, 0, 0), HB_SAME);
	assert_int_equal(hb_kmiss_reply(&d, 4, 400 * MS), HB_SAME);
	assert_int_equal(hb_kmiss_timeout(&d, 1), HB_SAME);
	assert_int_equal(hb_kmiss_timeout(&d, 2), HB_SAME);
	assert_int_equal(hb_kmiss_timeout(&d, 3), HB_SAME);
	assert_int_equal(d.run, 0);
	/* a reordered old reply says nothing newer */
	assert_int_equal(hb_kmiss_reply(&d, 2, 500 * MS), HB_SAME);
	assert_int_equal(d.max_ok, 4);
	/* never answered at all: down after K from the start */
	hb_kmiss_init(&d, 2);
	assert_int_equal(hb_kmiss_timeout(&d, 0), HB_SAME);
	assert_int_equal(hb_kmiss_timeout(&d, 1), HB_WENT_DOWN);
	assert_int_equal(d.last_ok_ns, -1);
}

/* Regular replies every second: phi stays low while they come, and the
 * server is suspected at mean + y* sd after the last one. */
static void phi_regular(void **st)
{
	struct hb_phi p;
	int64_t t = 0, dl;
	(void)st;
	hb_phi_init(&p, 8.0, S);
	hb_phi_start(&p, 0);
	for (int i = 1; i <= 100; i++) {
		t = i * S + (i % 2 ? 1 : -1) * MS;
		assert_true(hb_phi_value(&p, t) < 1.0);
		assert_int_equal(hb_phi_arrival(&p, t), HB_SAME);
	}
	/* the start-to-first-reply time is no sample: 2 bootstrap + 99 gaps */
	assert_int_equal(p.n, 2 + 99);
	/* mean ~1 s; sd floored at interval/4 = 250 ms */
	assert_float_equal(p.mean_ns, 1e9, 2e7);
	assert_float_equal(p.sd_ns, 250e6, 1e6);
	dl = hb_phi_deadline(&p);
	assert_float_equal(hb_phi_value(&p, dl), 8.0, 1e-3);
	assert_true(hb_phi_value(&p, dl - MS) < 8.0);
	assert_int_equal(hb_phi_check(&p, dl - MS), HB_SAME);
	assert_int_equal(hb_phi_check(&p, dl), HB_WENT_DOWN);
	assert_int_equal(hb_phi_check(&p, dl + S), HB_SAME);        /* once */
	/* y* for phi = 8 is about 5.22 sd */
	assert_float_equal((double)(dl - t), 1e9 + 5.22 * 250e6, 5e6);
	assert_int_equal(hb_phi_arrival(&p, dl + S), HB_WENT_UP);
}

/* 30% loss: gaps of 1, 2, 3 intervals; phi adapts and waits longer than
 * with regular replies before suspecting. */
static void phi_lossy(void **st)
{
	struct hb_phi reg, lossy;
	int64_t t = 0;
	static const int gaps[] = { 1, 1, 2, 1, 1, 3, 1, 2, 1, 1 };
	(void)st;
	hb_phi_init(&lossy, 8.0, S);
	hb_phi_start(&lossy, 0);
	for (int i = 0; i < 200; i++) {
		t += gaps[i % 10] * S;
		hb_phi_arrival(&lossy, t);
	}
	hb_phi_init(&reg, 8.0, S);
	hb_phi_start(&reg, 0);
	for (int i = 1; i <= 200; i++)
		hb_phi_arrival(&reg, i * S);
	assert_float_equal(lossy.mean_ns, 1.4e9, 5e7);
	assert_true(hb_phi_deadline(&lossy) - t > hb_phi_deadline(&reg) - 200 * S + S);
	/* a three-interval gap is normal here: phi well below 8 */
	assert_true(hb_phi_value(&lossy, t + 3 * S) < 3.0);
	assert_true(hb_phi_value(&reg, 200 * S + 3 * S) > 8.0);
}

static void phi_formula(void **st)
{
	(void)st;
	/* Akka's logistic approximation: phi(0) = log10(2) */
	assert_float_equal(hb_phi_of_y(0.0), log10(2.0), 1e-12);
	/* monotonic, finite far out in both directions */
	assert_true(hb_phi_of_y(1.0) < hb_phi_of_y(2.0));
	assert_true(isfinite(hb_phi_of_y(100.0)) && hb_phi_of_y(100.0) > 1e4);
	assert_true(hb_phi_of_y(-100.0) >= 0.0 && hb_phi_of_y(-100.0) < 1e-10);
	/* phi = 1 at about 1.28 sd (P = 10%), as for a normal distribution */
	assert_float_equal(hb_phi_of_y(1.2816), 1.0, 0.02);
}

static void false_alarm_known(void **st)
{
	struct hb_false_alarm fa;
	(void)st;
	/* p = 0.3, K = 3: 0.7 x 0.027 = 1.89% per heartbeat */
	assert_float_equal(hb_fa_per_beat(0.3, 3), 0.0189, 1e-12);
	hb_false_alarm(0.3, 3, S, S, &fa);
	assert_true(fa.valid);
	assert_float_equal(fa.per_hour, 0.0189 * 3600, 1e-9);    /* 68.04 / h */
	assert_float_equal(fa.per_day, 0.0189 * 86400, 1e-7);
	/* K = 9: 0.7 * 0.3^9 * 86400 = 1.19 / day; K = 10: 0.357 */
	assert_int_equal(fa.k_day, 10);
	assert_float_equal(fa.k_day_per_day, 0.7 * pow(0.3, 10) * 86400, 1e-9);
	/* ten times the rate at 100 ms */
	hb_false_alarm(0.3, 3, 100 * MS, 100 * MS, &fa);
	assert_float_equal(fa.per_hour, 680.4, 1e-6);
	assert_int_equal(fa.k_day, 12);   /* 0.7*0.3^11*864000 = 1.07; ^12 0.32 */
	/* no loss: never, K = 1 suffices */
	hb_false_alarm(0.0, 3, S, S, &fa);
	assert_true(fa.valid);
	assert_true(fa.per_hour == 0.0);
	assert_int_equal(fa.k_day, 1);
	/* 1% loss, K = 3 at 1 s: 0.99e-6 * 3600 = 0.003564 / h */
	hb_false_alarm(0.01, 3, S, 500 * MS, &fa);
	assert_float_equal(fa.per_hour, 0.003564, 1e-9);
	assert_int_equal(fa.k_day, 3);    /* K=2: 8.55/day; K=3: 0.0855 */
	/* timeout 1 s at 100 ms: 9 more heartbeats must be lost: 0.3^12 */
	assert_int_equal(hb_fa_extra(100 * MS, S), 9);
	assert_int_equal(hb_fa_extra(100 * MS, 1001 * MS), 10);
	assert_int_equal(hb_fa_extra(S, S), 0);
	hb_false_alarm(0.3, 3, 100 * MS, S, &fa);
	assert_int_equal(fa.extra, 9);
	assert_float_equal(fa.per_beat, 0.7 * pow(0.3, 12), 1e-15);
	assert_int_equal(fa.k_day, 3);    /* 0.7*0.3^12*864000 = 0.32 */
	/* everything lost: no estimate */
	hb_false_alarm(1.0, 3, S, S, &fa);
	assert_false(fa.valid);
}

CM_MAIN(CM_T(kmiss_basic), CM_T(kmiss_overlap), CM_T(phi_regular), CM_T(phi_lossy),
	CM_T(phi_formula), CM_T(false_alarm_known))

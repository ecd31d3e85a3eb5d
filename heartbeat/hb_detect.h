/* hb_detect: the client's two failure detectors and the false-alarm
 * arithmetic. Pure: times are given by the caller (CLOCK_MONOTONIC ns),
 * nothing here reads a clock or prints, and only hb_fa_none /
 * hb_fa_over_run allocate (a scratch ring, freed before they return).
 * Structs are caller-owned.
 *
 * k-miss (the seeds' rule, BFD's detect multiplier): the server is down
 * when K consecutive heartbeats have had no reply within their timeout.
 * "Consecutive" counts heartbeats sent after the newest one answered: a
 * reply to a later heartbeat clears older misses still timing out (with an
 * interval shorter than the timeout several heartbeats are in flight).
 * Detection is exact: at the K-th timeout deadline, so at most
 * K x interval + timeout after the server stopped.
 *
 * phi accrual (Hayashibara et al., as in Akka and Cassandra): keeps the
 * last HB_PHI_WINDOW reply inter-arrival times, fits a normal distribution
 * (standard deviation floored at interval/4) and computes
 * phi(t) = -log10(P(next reply later than t)) with Akka's logistic
 * approximation of the normal CDF. The server is suspected when phi reaches
 * the threshold; since phi grows monotonically until the next reply, the
 * crossing time is computed in closed form (hb_phi_deadline) and a timer
 * can be set for it.
 */
#ifndef HB_DETECT_H
#define HB_DETECT_H

#include <stdint.h>

enum hb_change {
	HB_SAME = 0,         /* verdict unchanged */
	HB_WENT_DOWN,
	HB_WENT_UP,
};

struct hb_kmiss {
	unsigned k;
	unsigned run;        /* timed-out heartbeats newer than max_ok */
	int down;
	int any_ok;
	uint64_t max_ok;     /* newest heartbeat answered in time */
	uint64_t first_miss; /* first heartbeat of the current run */
	int64_t last_ok_ns;  /* arrival of the newest reply, or -1 */
};

void hb_kmiss_init(struct hb_kmiss *d, unsigned k);
/* A reply in time to heartbeat seq arrived at at_ns. */
enum hb_change hb_kmiss_reply(struct hb_kmiss *d, uint64_t seq, int64_t at_ns);
/* Heartbeat seq reached its timeout unanswered (call in sequence order). */
enum hb_change hb_kmiss_timeout(struct hb_kmiss *d, uint64_t seq);

#define HB_PHI_WINDOW 256

struct hb_phi {
	double threshold;
	double y_star;       /* standardised delay where phi = threshold */
	double min_sd_ns;
	int64_t last_ns;     /* last reply (or the start), -1 before start */
	int from_start;      /* last_ns is the start, not a reply */
	unsigned n, head;    /* samples in the ring, next slot */
	double win[HB_PHI_WINDOW]; /* inter-arrival times, ns */
	double mean_ns, sd_ns;     /* fit of the window */
	int down;
};

/* threshold > 0; interval_ns seeds the fit (mean interval, sd interval/4,
 * as Akka's first-heartbeat estimate) and sets the sd floor. */
void hb_phi_init(struct hb_phi *p, double threshold, int64_t interval_ns);
/* Starts the clock without a sample (the first heartbeat's send time), so a
 * server that never answers is also suspected. */
void hb_phi_start(struct hb_phi *p, int64_t now_ns);
/* A reply arrived: adds the inter-arrival sample, clears suspicion. */
enum hb_change hb_phi_arrival(struct hb_phi *p, int64_t at_ns);
/* phi at now_ns (0 before the start); never infinite. */
double hb_phi_value(const struct hb_phi *p, int64_t now_ns);
/* Monotonic time at which phi reaches the threshold (INT64_MAX before the
 * start). */
int64_t hb_phi_deadline(const struct hb_phi *p);
/* Suspects the server when phi(now) >= threshold. */
enum hb_change hb_phi_check(struct hb_phi *p, int64_t now_ns);
/* Akka's phi for a delay that is y standard deviations above the mean. */
double hb_phi_of_y(double y);

/* ---- false alarms of the k-miss rule ---------------------------------
 * With independent losses of probability p per heartbeat, a spurious
 * `server down` starts at a heartbeat when it is answered and the next K
 * are not: probability (1 - p) p^K per heartbeat (p = 0.3, K = 3:
 * 0.7 x 0.027 = 1.89%). Per hour: that times 3600 s / interval.
 * When the timeout is longer than the interval, heartbeats sent after the
 * K-th miss but before its deadline must be lost too (their replies would
 * clear the run): ceil(timeout / interval) - 1 more, so the exponent is
 * K + that (hb_fa_extra). */

#define HB_K_SEARCH_MAX 1000

struct hb_false_alarm {
	int valid;           /* 0 when p is unknown or 1 (nothing answered) */
	double p;            /* loss probability used */
	unsigned k;
	unsigned extra;      /* further losses needed (timeout > interval) */
	double per_beat;     /* probability per heartbeat */
	double per_hour, per_day;
	unsigned k_day;      /* smallest K with per_day < 1; 0 if none <= max */
	double k_day_per_day;/* per_day at k_day */
};

double hb_fa_per_beat(double p, unsigned k);
/* ceil(timeout / interval) - 1, or 0 when the timeout is not longer. */
unsigned hb_fa_extra(int64_t interval_ns, int64_t timeout_ns);
/* Fills *out for loss p (a fraction), misses k, interval and timeout. */
void hb_false_alarm(double p, unsigned k, int64_t interval_ns,
                    int64_t timeout_ns, struct hb_false_alarm *out);

/* ---- false alarms over a run of N heartbeats ----------------------------
 * Exact, from the Markov chain of the current miss run (Feller's first
 * passage recurrence), not 1 - (1 - q)^N. With Ke = K + extra:
 *  - a_m = P(no run of Ke losses among m heartbeats): a_m = 1 for m < Ke,
 *    a_Ke = 1 - p^Ke, a_m = a_(m-1) - (1-p) p^Ke a_(m-Ke-1) after (the run
 *    first completed at m starts after an answered heartbeat m-Ke, behind
 *    which no run had completed; the first heartbeat needs no answered one);
 *  - the run open at the end: r misses with probability (1-p) p^r a_(n-r-1)
 *    (r < n) or p^n (r = n); with extra > 0 the last heartbeats have no
 *    later ones whose replies would clear them, so an open run of K or more
 *    is a down too: P(no down in n) = sum over r < K of those;
 *  - a down is the moment a run reaches K (a longer run counts once):
 *    E[downs] = p^Ke + (n - K)(1 - p) p^Ke for n >= K when extra = 0, in
 *    general sum over runs starting at s = 1..n-K+1 of w_s p^min(Ke, n-s+1),
 *    w_1 = 1, w_s = 1 - p;
 *  - mean heartbeats to the first down (n unbounded):
 *    (1 - p^Ke) / ((1 - p) p^Ke) = 1/p + ... + 1/p^Ke with p the loss.
 * Replies are taken as instant (an RTT near the timeout changes extra).
 * The one part of hb_detect that allocates: a ring of Ke + 1 doubles,
 * freed before it returns. Cost O(n); n at most HB_FA_N_MAX. */

#define HB_FA_N_MAX 100000000ULL

struct hb_fa_run {
	int valid;           /* 0: p outside [0, 1), n 0 or too large, or no memory */
	uint64_t n;          /* heartbeats in the run */
	double any;          /* P(at least one false down in n), exact */
	double none;         /* 1 - any, computed on its own (exact when tiny) */
	double any_approx;   /* 1 - (1 - per_beat)^n, for comparison */
	double expected;     /* expected false downs in n */
	double mean_first;   /* mean heartbeats to the first (INFINITY when p = 0) */
	double budget;       /* the K search's bound on `any` */
	unsigned k_budget;   /* smallest K with any < budget; 0 if none <= max */
	double k_budget_any; /* any at k_budget */
};

/* P(no false down in n heartbeats) for loss p, k misses, extra: the exact
 * recurrence above. 0 and *none, or -EINVAL / -ENOMEM. */
int hb_fa_none(double p, unsigned k, unsigned extra, uint64_t n, double *none);
/* Expected false downs in n heartbeats. */
double hb_fa_expected(double p, unsigned k, unsigned extra, uint64_t n);
/* Mean heartbeats to the first false down, in an endless run. */
double hb_fa_mean_first(double p, unsigned k, unsigned extra);
/* Fills *out for n heartbeats (the K search: smallest K whose P(at least
 * one in n) is below budget, by bisection, since it falls as K grows). */
void hb_fa_over_run(double p, unsigned k, unsigned extra, uint64_t n, double budget,
                    struct hb_fa_run *out);

#endif

/* pk_stats: the figures every tool reports.
 *
 *  pk_summary  count/min/max/mean and population stddev (Welford), as ping's
 *              mdev (ping's mdev is the population standard deviation).
 *  pk_hist     log-linear histogram of non-negative integer values (ns):
 *              fixed memory (PK_HIST_BUCKETS counters), percentiles within
 *              0.4% relative error (128 sub-buckets per power of two).
 *  pk_jitter   mean absolute difference of consecutive samples.
 *  pk_rtt      the three together, for RTTs in ns.
 *  pk_seqtrack the sender's view: each sequence number is sent, then replied
 *              in time, replied late (after its timeout), or lost; duplicates
 *              and reordered replies are told apart; longest loss run.
 *  pk_rxseq    the receiver's view of a sequence (one-way loss): gaps,
 *              duplicates, reordering, restarts, in 40 bytes.
 *  pk_wilson   95% confidence interval of a proportion (Wilson score).
 *  pk_samples  a bounded, growing array of per-probe records (-J, --csv).
 *
 * All structs are caller-owned; pk_seqtrack (its window) and pk_samples
 * allocate, freed by their _free(). Tools read the counters of a struct
 * but change them only through these functions.
 */
#ifndef PK_STATS_H
#define PK_STATS_H

#include <stddef.h>
#include <stdint.h>

struct pk_summary {
	uint64_t n;
	double min, max, mean, m2;
};

void pk_summary_init(struct pk_summary *s);
void pk_summary_add(struct pk_summary *s, double x);
/* Population standard deviation (ping's mdev); 0 when n < 2. */
double pk_summary_stddev(const struct pk_summary *s);
/* Sample standard deviation (n - 1); 0 when n < 2. */
double pk_summary_sstddev(const struct pk_summary *s);

#define PK_HIST_SUB_BITS 7                       /* 128 sub-buckets / octave */
#define PK_HIST_LINEAR   (2u << PK_HIST_SUB_BITS) /* values < 256 are exact */
#define PK_HIST_MAX_EXP  41                      /* values up to 2^42-1 (~73 min in ns) */
#define PK_HIST_BUCKETS  (PK_HIST_LINEAR + (PK_HIST_MAX_EXP - PK_HIST_SUB_BITS) * (1u << PK_HIST_SUB_BITS))

struct pk_hist {
	uint64_t n;
	uint64_t min, max;
	uint32_t count[PK_HIST_BUCKETS];
};

void pk_hist_init(struct pk_hist *h);
/* Values beyond the range are clamped into the last bucket (min/max stay exact). */
void pk_hist_add(struct pk_hist *h, uint64_t v);
/* Value at quantile q in [0, 1] (nearest rank), the midpoint of its bucket
 * clamped to [min, max]. 0 when empty. */
uint64_t pk_hist_quantile(const struct pk_hist *h, double q);
/* Bucket index and bounds, exposed for tests. */
unsigned pk_hist_bucket(uint64_t v);
void pk_hist_bucket_range(unsigned b, uint64_t *lo, uint64_t *hi);

struct pk_jitter {
	uint64_t n;          /* differences summed */
	int have_prev;
	double prev;
	double sum;
};

void pk_jitter_init(struct pk_jitter *j);
void pk_jitter_add(struct pk_jitter *j, double x);
double pk_jitter_value(const struct pk_jitter *j);

/* RTTs in ns. */
struct pk_rtt {
	struct pk_summary sum;   /* in ns */
	struct pk_jitter jit;    /* in ns */
	struct pk_hist hist;
};

void pk_rtt_init(struct pk_rtt *r);
void pk_rtt_add(struct pk_rtt *r, int64_t ns);

/* Figures of a pk_rtt in milliseconds, as reports print them. */
struct pk_rtt_ms {
	uint64_t n;
	double min, avg, max, mdev, jitter;
	double p50, p90, p99, p999;
};
void pk_rtt_ms(const struct pk_rtt *r, struct pk_rtt_ms *out);

/* 95% Wilson score interval for k successes in n trials, as fractions. */
void pk_wilson(uint64_t k, uint64_t n, double *lo, double *hi);

/* ---- sender-side sequence tracking ---------------------------------- */

enum pk_seq_status {
	PK_SEQ_NONE = 0,     /* slot unused */
	PK_SEQ_PENDING,      /* sent, no reply yet, timeout not reached */
	PK_SEQ_OK,           /* replied within its timeout */
	PK_SEQ_LOST,         /* timeout passed with no reply */
	PK_SEQ_LATE,         /* replied after its timeout */
};

/* What a reply turned out to be. */
enum pk_seq_reply {
	PK_REPLY_OK,         /* first reply, in time */
	PK_REPLY_LATE,       /* first reply, after the timeout */
	PK_REPLY_DUP,        /* a further copy of an answered sequence */
	PK_REPLY_UNKNOWN,    /* never sent, or too old to remember */
};

struct pk_seq_slot {
	uint64_t seq;
	int64_t sent_ns;
	int64_t rtt_ns;
	uint32_t dups;
	uint8_t status;
};

struct pk_seqtrack {
	struct pk_seq_slot *win; /* ring of `cap` slots, owned */
	size_t cap;
	int64_t timeout_ns;
	uint64_t first;          /* first sequence number in use */
	uint64_t next_send;      /* next sequence to be sent */
	uint64_t next_expire;    /* oldest sequence not yet decided */
	uint64_t max_replied;    /* highest sequence answered, for reordering */
	int any_replied;
	/* counters */
	uint64_t sent, ok, lost, late, dups, reordered, unknown;
	uint64_t run, longest_run;  /* consecutive losses, in sequence order */
};

/* How many sequences a sender remembers, one formula for every tool: those
 * in flight within the timeout, `history` times over so that replies up to
 * about (history - 1) timeouts late are still told apart from strangers,
 * plus 64; at least min_slots, at most max_slots (memory). */
size_t pk_seqtrack_window(int64_t interval_ns, int64_t timeout_ns, unsigned history,
                          size_t min_slots, size_t max_slots);
/* cap: how many sequences are remembered (in flight plus history for late
 * replies); first: the first sequence number. 0 or -ENOMEM. */
int pk_seqtrack_init(struct pk_seqtrack *t, size_t cap, uint64_t first,
                     int64_t timeout_ns);
void pk_seqtrack_free(struct pk_seqtrack *t);
/* Records a send of the next sequence at sent_ns; returns its number. If the
 * window is full, the oldest undecided sequence is decided lost first. */
uint64_t pk_seqtrack_send(struct pk_seqtrack *t, int64_t sent_ns);
/* Records a reply to seq received at rx_ns; *rtt_ns gets its RTT (also for
 * late and duplicate replies). */
enum pk_seq_reply pk_seqtrack_reply(struct pk_seqtrack *t, uint64_t seq,
                                    int64_t rx_ns, int64_t *rtt_ns);
/* Decides, in sequence order, every pending sequence whose timeout has
 * passed at now_ns. Returns the next decided sequence's slot (OK or LOST)
 * or NULL when none is due; call repeatedly. */
const struct pk_seq_slot *pk_seqtrack_expire(struct pk_seqtrack *t, int64_t now_ns);
/* Deadline of the oldest undecided sequence, or INT64_MAX when none. */
int64_t pk_seqtrack_next_deadline(const struct pk_seqtrack *t);
/* Replaces the send time of seq while it awaits its reply (a more exact
 * time learnt after the send, e.g. the kernel's transmit timestamp).
 * 0, or -ENOENT when seq is not remembered or no longer pending. */
int pk_seqtrack_restamp(struct pk_seqtrack *t, uint64_t seq, int64_t sent_ns);
/* The slot of seq if still remembered, else NULL. */
const struct pk_seq_slot *pk_seqtrack_slot(const struct pk_seqtrack *t, uint64_t seq);
/* The sequence the next pk_seqtrack_send will number. */
static inline uint64_t pk_seqtrack_next_seq(const struct pk_seqtrack *t)
{
	return t->next_send;
}
/* The oldest sequence not yet decided (= pk_seqtrack_next_seq when none is
 * pending): sequences in [oldest, next) await their reply or timeout. */
static inline uint64_t pk_seqtrack_oldest_pending(const struct pk_seqtrack *t)
{
	return t->next_expire;
}
/* Counts a reply that names no sequence of this tracker (a stranger's, or
 * one the tool could not map to a sequence). */
void pk_seqtrack_unknown(struct pk_seqtrack *t);
/* The slot index of seq in a caller's own array of t->cap entries kept
 * beside the tracker (per-sequence data the tracker does not hold). */
static inline size_t pk_seqtrack_index(const struct pk_seqtrack *t, uint64_t seq)
{
	return (size_t)(seq % t->cap);
}

/* ---- receiver-side sequence tracking -------------------------------- */

enum pk_rxseq_event {
	PK_RXSEQ_FIRST,      /* first datagram seen */
	PK_RXSEQ_NEXT,       /* in order (may follow a gap) */
	PK_RXSEQ_REORDERED,  /* older than the highest seen, not seen before */
	PK_RXSEQ_DUP,        /* seen before */
	PK_RXSEQ_RESTART,    /* went back to `restart_seq` or far back: new run */
};

struct pk_rxseq {
	uint64_t first;       /* lowest sequence of this run */
	uint64_t highest;
	uint64_t window;      /* bit i set: highest - i received */
	uint64_t received;    /* unique sequences received this run */
	uint32_t dups, reordered;
	uint32_t restarts;
	uint8_t started;
};

void pk_rxseq_init(struct pk_rxseq *r);
/* Feeds one received sequence number. restart_seq: the number a client
 * starts at (a datagram with it, below the highest seen, starts a new run). */
enum pk_rxseq_event pk_rxseq_add(struct pk_rxseq *r, uint64_t seq, uint64_t restart_seq);
/* Sequences missing so far in this run: (highest - first + 1) - received. */
uint64_t pk_rxseq_lost(const struct pk_rxseq *r);
uint64_t pk_rxseq_expected(const struct pk_rxseq *r);

/* ---- per-probe records ---------------------------------------------- */

struct pk_samples {
	unsigned char *v;     /* n records of `size` bytes, owned */
	size_t size, n, cap, max;
	uint64_t dropped;     /* records refused: past max, or no memory */
};

/* Records of `size` bytes, at most max of them (memory is allocated as
 * they come, doubling from 1024). */
void pk_samples_init(struct pk_samples *s, size_t size, size_t max);
void pk_samples_free(struct pk_samples *s);
/* A new zeroed record at the end, or NULL (counted in s->dropped). */
void *pk_samples_add(struct pk_samples *s);
/* Record i (< s->n). */
static inline void *pk_samples_at(const struct pk_samples *s, size_t i)
{
	return s->v + i * s->size;
}

#endif

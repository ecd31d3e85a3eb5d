/* agent_table: what a vxlan-agent knows about its probes and its peers.
 *
 * One probe number sequence is sent to the group; every peer is expected to
 * answer every probe sent while it is known. The table keeps
 *  - `all`: a pk_seqtrack of the probes themselves; a probe is lost when no
 *    peer at all answered it within the timeout (the seed's "lost" figure);
 *  - one agent_peer per peer address heard (its probes, or its replies to
 *    ours), each with its own pk_seqtrack over the same probe numbers, so a
 *    peer's lost / late / duplicate counts are its own;
 *  - the figures of the current report interval and the totals since start.
 *
 * Bounded: at most `max_peers` peers (a reply or probe from one more peer is
 * counted in `untracked`, never stored) and `window` probes remembered per
 * track. A peer silent for the peer timeout is removed by agent_table_reap().
 *
 * Latency is half the round-trip time of our probes ("RTT/2"), plus, from
 * the stamped probes of peers (agent_proto.h), the one-way delay and loss
 * of each peer's direction toward us ("inbound"). Times are CLOCK_MONOTONIC
 * ns; one-way delays are differences of two hosts' wall clocks (the peer's
 * stamp, our kernel receive stamp). The table owns the peers (allocated on
 * discovery, freed on reap or agent_table_free); pointers to peers stay
 * valid until then. No I/O.
 */
#ifndef AGENT_TABLE_H
#define AGENT_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "pk_sock.h"
#include "pk_stats.h"

/* Event counters of one peer, since it was found. */
struct agent_counts {
	uint64_t expected;   /* probes sent while the peer was known */
	uint64_t answered;   /* answered within the timeout */
	uint64_t lost;       /* not answered within the timeout (a later reply also counts as late) */
	uint64_t late;       /* replies after the timeout */
	uint64_t dups;       /* further copies of an answered probe */
	uint64_t heard;      /* the peer's own probes we heard */
	uint64_t in_lost;    /* the peer's stamped probes missing (a state, not an event) */
	uint64_t owd_bad;    /* one-way delays not used: negative, beyond the timeout,
	                        or withheld by agent_table_judge_oneway */
};

/* A Prometheus histogram of durations: AGENT_HIST_BUCKETS finite upper
 * bounds (agent_hist_le_ns: 0.1 ms .. 1 s, 1-2.5-5 steps), then +Inf.
 * n[] counts each bucket alone (n[AGENT_HIST_BUCKETS]: above 1 s); the
 * exposition makes them cumulative. sum_ns is exact. */
#define AGENT_HIST_BUCKETS 13
extern const int64_t agent_hist_le_ns[AGENT_HIST_BUCKETS];
struct agent_hist {
	uint64_t n[AGENT_HIST_BUCKETS + 1];
	uint64_t count;
	int64_t sum_ns;
};
/* Counts a duration (ns >= 0) in the bucket of the first bound >= ns. */
void agent_hist_add(struct agent_hist *h, int64_t ns);
/* Takes back what d counted (d counted into h before). */
void agent_hist_sub(struct agent_hist *h, const struct agent_hist *d);

/* One report interval's durations (ns) of one series: min/avg/max/mdev,
 * jitter, and the samples for exact nearest-rank quantiles (no histogram:
 * a few bytes per sample instead of pk_rtt's 18 KiB per series). The
 * samples grow with the interval (from 16, doubling) up to AGENT_LAT_KEEP;
 * past that a uniform random AGENT_LAT_KEEP of them are kept (reservoir)
 * and the quantiles between the extremes are estimates. agent_lat.c. */
#define AGENT_LAT_KEEP 4096
struct agent_lat {
	struct pk_summary sum;
	struct pk_jitter jit;
	int64_t *v;                 /* n kept of cap, owned */
	uint32_t n, cap;
	uint64_t seen;
	uint64_t rng;
};
void agent_lat_init(struct agent_lat *l);            /* empty, nothing allocated */
void agent_lat_reset(struct agent_lat *l);           /* empty, the buffer kept if small */
void agent_lat_free(struct agent_lat *l);
/* Adds a duration (negative: 0). -ENOMEM: counted, not kept for quantiles. */
int agent_lat_add(struct agent_lat *l, int64_t ns);
/* Its figures in ms (sorts the kept samples in place). */
void agent_lat_ms(const struct agent_lat *l, struct pk_rtt_ms *o);

/* Figures of one peer over one report interval. Latencies in ms. */
struct agent_peer_stats {
	struct agent_counts c;   /* this interval only */
	int have_latency;        /* c.answered > 0 */
	double min_ms, avg_ms, max_ms, p50_ms, p99_ms, jitter_ms, mdev_ms;
	int have_oneway;         /* ow.n > 0 */
	struct pk_rtt_ms ow;     /* one-way delay from the peer, ms */
	double last_seen_ago_s;  /* seconds since anything was heard from it */
};

struct agent_peer {
	struct pk_addr addr;          /* host address, port 0 */
	int64_t first_seen_ns, last_seen_ns;
	struct pk_seqtrack seq;       /* the probes it is expected to answer */
	struct agent_counts total;    /* since found */
	struct agent_counts base;     /* `total` at the last report */
	int64_t last_answer_ns;       /* the latest in-time reply (0: none yet) */
	struct agent_lat lat;         /* RTT/2 this interval, ns */
	struct agent_hist rtt;        /* round trips of in-time replies since found */
	struct pk_rxseq in_seq;       /* its stamped probes heard (one-way loss) */
	struct agent_lat owd;         /* one-way delay from it this interval, ns */
	struct agent_hist owd_hist;   /* one-way delays since found (less those withheld) */
	struct agent_hist owd_iv;     /* ... of this interval, to withhold them */
	struct agent_peer_stats last; /* the last finished interval */
	int have_last;
};

/* The interval's headline figures (the seed's two lines). */
struct agent_interval {
	uint64_t sent;           /* probes sent this interval */
	uint64_t lost;           /* probes decided this interval with no in-time reply */
	uint64_t replies;        /* in-time replies from all peers */
	int have_latency;
	double avg_latency_ms;   /* mean one-way latency of those replies */
};

struct agent_table {
	struct agent_peer **peers;   /* n used of cap, unordered */
	size_t n, cap;
	size_t window;
	int64_t timeout_ns;
	struct pk_seqtrack all;
	/* this interval */
	struct pk_summary lat;       /* every in-time reply's one-way latency, ns */
	uint64_t sent_base, lost_base;
	/* totals since start */
	uint64_t lost;               /* probes no peer answered in time */
	uint64_t replies;            /* in-time replies, all peers */
	uint64_t unknown;            /* replies to probes never sent or forgotten */
	uint64_t untracked;          /* events from peers refused: table full */
	uint64_t found, expired;     /* peers discovered / removed when silent */
	uint64_t owd_bad;            /* implausible one-way delays, all peers */
	struct agent_interval last;  /* the last finished interval */
	int have_last;
};

/* What a reply was. */
enum agent_reply {
	AGENT_REPLY_OK,        /* first in-time answer of this peer to the probe */
	AGENT_REPLY_LATE,
	AGENT_REPLY_DUP,
	AGENT_REPLY_UNKNOWN,   /* probe never sent, or too old to remember */
	AGENT_REPLY_UNTRACKED, /* table full: counted, peer not stored */
};

/* max_peers >= 1; window: probes remembered per track (>= in-flight probes
 * plus history for late replies); first_probe: the first probe number.
 * 0 or -ENOMEM. */
int agent_table_init(struct agent_table *t, size_t max_peers, size_t window,
                     int64_t timeout_ns, uint64_t first_probe);
void agent_table_free(struct agent_table *t);

/* Records a probe sent at now_ns (to every known peer too); returns its number. */
uint64_t agent_table_send(struct agent_table *t, int64_t now_ns);
/* A reply to probe `num` from host `from` (port ignored) received at rx_ns.
 * *lat_ns gets the one-way latency when OK (else -1). */
enum agent_reply agent_table_reply(struct agent_table *t, const struct pk_addr *from,
                                   uint64_t num, int64_t rx_ns, int64_t *lat_ns);
/* Counts a reply that names no probe of ours (not a stamped probe number,
 * or one we never sent or no longer remember). */
void agent_table_unknown(struct agent_table *t);
/* The number the next probe will get (agent_table_send's next return). */
uint64_t agent_table_next_probe(const struct agent_table *t);
/* Replaces the send time of probe seq (still awaiting its replies) by
 * sent_ns, the kernel's transmit timestamp. 0, or -ENOENT when the probe
 * is forgotten or already answered by some peer. */
int agent_table_restamp(struct agent_table *t, uint64_t seq, int64_t sent_ns);
/* A peer's stamped probe: its sequence modulo 10^7 and its one-way delay
 * (receive wall clock minus the stamp). Counts the sequence for the
 * peer's one-way loss; keeps the delay unless it cannot be true (negative,
 * or beyond the timeout): then returns -ERANGE and counts it. */
int agent_table_oneway(struct agent_table *t, struct agent_peer *p, uint64_t seq_mod,
                       int64_t owd_ns);
/* At the end of an interval, before its figures are read: a peer whose
 * shortest one-way delay of the interval is longer than the longest round
 * trip to it (this and the last interval) has a clock that disagrees with
 * ours; its one-way delays of the interval are withheld (not reported, not
 * in the summary) and counted as implausible. One spike cannot do this:
 * the shortest delay must exceed every round trip. Returns how many peers'
 * figures were withheld. */
size_t agent_table_judge_oneway(struct agent_table *t);
/* A probe heard from host `from` at now_ns: finds (or adds) the peer, which
 * is then expected to answer our probes from the next one on. The peer, or
 * NULL when the table is full. */
struct agent_peer *agent_table_heard(struct agent_table *t, const struct pk_addr *from,
                                     int64_t now_ns);
/* The peer of host `from`, or NULL. */
struct agent_peer *agent_table_find(const struct agent_table *t, const struct pk_addr *from);
/* Decides every probe whose timeout has passed at now_ns. */
void agent_table_expire(struct agent_table *t, int64_t now_ns);
/* When the next probe times out, or INT64_MAX. */
int64_t agent_table_next_deadline(const struct agent_table *t);
/* Removes peers silent for longer than peer_timeout_ns; returns how many. */
size_t agent_table_reap(struct agent_table *t, int64_t now_ns, int64_t peer_timeout_ns);

/* Figures of the interval so far (call agent_table_expire first). */
void agent_table_interval(const struct agent_table *t, struct agent_interval *out);
void agent_peer_stats(const struct agent_peer *p, int64_t now_ns, struct agent_peer_stats *out);
/* Ends the interval at now_ns: keeps its figures in t->last and each
 * peer's `last`, then starts a new one. */
void agent_table_roll(struct agent_table *t, int64_t now_ns);

#endif

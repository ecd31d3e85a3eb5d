/* hb_table: the server's bounded table of clients.
 *
 * A fixed array of `cap` records allocated once (hb_table_init, freed by
 * hb_table_free), a hash index, and two lists in order of silence:
 * `active` (clients heard from within --dead-after, least recently heard
 * first) and `stopped` (clients declared stopped, earliest stopped first).
 * Every operation is O(1); the oldest active client is the next one that can
 * stop, so one timer at its deadline is enough. When the table is full a new
 * client evicts the oldest silent record: the head of `stopped`, else the
 * head of `active`. Records are compact (< 256 bytes: no histogram).
 */
#ifndef HB_TABLE_H
#define HB_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "pk_sock.h"
#include "pk_stats.h"

enum hb_peer_state { HB_PEER_FREE = 0, HB_PEER_ACTIVE, HB_PEER_STOPPED };

struct hb_peer {
	uint8_t ip[16];      /* IPv4 in the first 4 bytes */
	uint16_t port;
	uint8_t family;      /* AF_INET or AF_INET6 */
	uint8_t state;       /* enum hb_peer_state */
	uint32_t hnext;      /* hash chain: index + 1, 0 ends */
	uint32_t prev, next; /* list links: index + 1, 0 ends */
	uint32_t stops;      /* times declared stopped */
	uint64_t hash;
	struct pk_rxseq rx;  /* one-way loss, duplicates, reordering, restarts */
	uint64_t beats;      /* heartbeats accepted, duplicates included */
	uint64_t last_seq;
	int64_t first_ns, last_ns;   /* monotonic, first and last heartbeat */
	int64_t diff_min_ns, diff_max_ns;
	int64_t diff_last_ns;        /* time_diff of the newest heartbeat */
	double diff_mean_ns;         /* running mean of time_diff */
	uint64_t diff_n;
	uint64_t jump_seq;           /* a far jump not yet confirmed (jump_pending) */
	uint8_t jump_pending;
};

/* A sequence number more than this above the highest of the client's run
 * is far beyond any receive window: not a gap of lost heartbeats (that would
 * count up to 9.2e18 of them) but a spoofed or corrupt datagram, or a new run.
 * The first such heartbeat is dropped (not recorded, not answered); a
 * second one that follows it within this distance confirms a new run,
 * which starts there (a restart). 2^20: 17 minutes at 1 kHz, 12 days at 1 Hz. */
#define HB_SEQ_JUMP_MAX (UINT64_C(1) << 20)

struct hb_list {
	uint32_t head, tail; /* index + 1, 0 when empty */
	uint32_t len;
};

struct hb_table {
	struct hb_peer *peers;
	uint32_t cap, used;
	uint32_t *buckets;   /* index + 1 of the chain head */
	uint32_t nbuckets;   /* power of two */
	uint32_t free_head;  /* free records, linked through `next` */
	struct hb_list active, stopped;
	uint64_t evicted;
};

/* Table for at most cap clients (1 .. 2^24). 0 or -ENOMEM / -EINVAL. */
int hb_table_init(struct hb_table *t, uint32_t cap);
void hb_table_free(struct hb_table *t);
/* Bytes the table holds per client slot (record + hash index). */
size_t hb_table_bytes_per_client(const struct hb_table *t);

/* The record of addr, or NULL. */
struct hb_peer *hb_table_find(struct hb_table *t, const struct pk_addr *addr);
/* A new record for addr (not present), active and at the tail; evicts the
 * oldest silent client when full (*evicted set to 1, its data is lost). */
struct hb_peer *hb_table_add(struct hb_table *t, const struct pk_addr *addr,
                             int64_t now_ns, int *evicted);
/* Heard from p at now_ns: marks it active, moves it to the active tail. */
void hb_table_touch(struct hb_table *t, struct hb_peer *p, int64_t now_ns);
/* Moves p (active) to the stopped tail. */
void hb_table_stop(struct hb_table *t, struct hb_peer *p);
/* Head of the active list (least recently heard), or NULL. */
struct hb_peer *hb_table_oldest_active(struct hb_table *t);
/* Iteration: first of a list, then the next record of the same list. */
const struct hb_peer *hb_table_first(const struct hb_table *t, const struct hb_list *l);
const struct hb_peer *hb_table_next(const struct hb_table *t, const struct hb_peer *p);
/* Backwards: last of a list (most recently heard or stopped), then the
 * previous record of the same list. */
const struct hb_peer *hb_table_last(const struct hb_table *t, const struct hb_list *l);
const struct hb_peer *hb_table_prev(const struct hb_table *t, const struct hb_peer *p);
/* The address of p as a pk_addr. */
void hb_peer_addr(const struct hb_peer *p, struct pk_addr *out);

/* What one accepted heartbeat did to the table (hb_table_beat). */
enum hb_beat_event {
	HB_BEAT_SEEN,        /* a new client record */
	HB_BEAT_NEXT,        /* in the run: in order, after a gap, reordered */
	HB_BEAT_DUP,         /* a duplicate: counted, its time_diff not recorded */
	HB_BEAT_RESUMED,     /* from a client that was stopped */
	HB_BEAT_RESTARTED,   /* a new run from the same address and port */
	HB_BEAT_JUMP,        /* far beyond the run (HB_SEQ_JUMP_MAX): dropped */
};

struct hb_beat_result {
	enum hb_beat_event ev;
	struct hb_peer *p;   /* the client's record */
	int evicted;         /* a record was evicted to make room */
	uint64_t prev_seq;   /* last_seq before (resumed, restarted) */
};

/* Records a heartbeat (seq, its time_diff) from addr at now_ns: finds or
 * adds the client, feeds its sequence tracker, its time_diff figures and
 * the lists. HB_BEAT_JUMP changes nothing but the pending jump: the caller
 * must neither count nor answer it. Pure: no clock, no I/O. */
void hb_table_beat(struct hb_table *t, const struct pk_addr *addr, uint64_t seq,
                   int64_t diff_ns, int64_t now_ns, struct hb_beat_result *r);

/* What the server reports of one client at now_ns. */
struct hb_peer_figures {
	struct pk_addr addr;
	enum hb_peer_state state;
	uint64_t received, lost, last_seq;
	double loss_percent;     /* lost / expected; 0 and !loss_valid before any */
	int loss_valid;
	uint32_t dups, reordered, restarts;
	int diff_valid;          /* a time_diff was recorded */
	double diff_min_ms, diff_avg_ms, diff_max_ms;
	double diff_last_ms;
	double silent_s;         /* since the last heartbeat */
};
void hb_peer_figures(const struct hb_peer *p, int64_t now_ns, struct hb_peer_figures *out);

#endif

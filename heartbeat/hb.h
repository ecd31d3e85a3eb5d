/* hb: configuration and run state of `heartbeat server` and `heartbeat
 * client`, shared by the event loops (hb_server.c, hb_client.c), the
 * printing (hb_report.c) and main.c. The run functions own every resource
 * they create and return the process exit status (0, 1 or 2).
 */
#ifndef HB_H
#define HB_H

#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "hb_detect.h"
#include "hb_proto.h"
#include "hb_table.h"
#include "pk_clock.h"
#include "pk_loop.h"
#include "pk_limit.h"
#include "pk_sim.h"
#include "pk_sock.h"
#include "pk_stats.h"

struct pk_batch;

#define HB_DEFAULT_PORT 12000

/* ---- server ------------------------------------------------------------ */

struct hb_server_cfg {
	const char *bind;        /* NULL: the wildcard ("::" dual-stack, else 0.0.0.0) */
	uint16_t port;
	int family;              /* AF_UNSPEC, AF_INET, AF_INET6 */
	double loss;             /* simulated loss, 0..1 */
	uint64_t seed;
	int have_seed;
	int64_t dead_after_ns;   /* silence before `client stopped` */
	int64_t report_ns;       /* periodic table, 0 = none */
	uint32_t max_clients;
	double rate_limit;       /* datagrams/s per source, 0 = unlimited */
	int json, quiet;
};

struct hb_server_totals {
	uint64_t datagrams;      /* every datagram read */
	uint64_t accepted;       /* parsed, not dropped: recorded and answered */
	uint64_t replies;        /* replies sent */
	uint64_t malformed;      /* refused by the parser (never answered) */
	uint64_t bad[HB_BAD_KINDS];
	uint64_t rate_limited;
	uint64_t sim_dropped;    /* discarded by the simulated loss */
	uint64_t send_errors;
	uint64_t clients_seen, evicted;
	uint64_t ev_stopped, ev_resumed, ev_restarted;
};

enum hb_srv_event {
	HB_EV_SEEN, HB_EV_STOPPED, HB_EV_RESUMED, HB_EV_RESTARTED, HB_EV_EVICTED,
};

struct hb_server {
	const struct hb_server_cfg *cfg;
	struct event_base *base;
	struct event *rd, *dead_tm, *report_tm;
	struct pk_stop stop;            /* SIGINT / SIGTERM end the loop */
	int fd;
	struct pk_addr local;
	struct pk_batch *batch;  /* receive and reply buffers, owned */
	struct hb_table tab;
	struct pk_limit lim;
	struct pk_sim sim;
	uint64_t seed;
	struct hb_server_totals tot;
	int64_t start_ns, start_wall_ns;
	int64_t wall_offset_ns;  /* wall - monotonic, refreshed per batch */
	int kernel_ts;           /* receive timestamps from the kernel */
};

int hb_server_run(const struct hb_server_cfg *cfg);

/* ---- client ------------------------------------------------------------ */

enum hb_detector { HB_DET_KMISS = 0, HB_DET_PHI = 1 };
#define HB_DETECTORS 2

struct hb_client_cfg {
	const char *host;
	uint16_t port;
	int family;
	uint64_t count;          /* 0 = until interrupted */
	int64_t interval_ns, timeout_ns;
	unsigned misses;         /* K */
	enum hb_detector detector;
	double phi_threshold;
	int keep_going;
	int quiet, json, csv, timestamps;
};

/* One period in which a detector said `server down`. */
struct hb_outage {
	int64_t last_reply_ns;   /* newest reply before it, -1 when none */
	int64_t down_ns;         /* when declared */
	int64_t up_ns;           /* first reply after it, -1 while open */
};

#define HB_OUTAGES_MAX 1000

struct hb_verdicts {
	int down;
	uint64_t downs, ups;
	uint32_t n;              /* outages kept (at most HB_OUTAGES_MAX) */
	struct hb_outage *list;  /* owned */
};

#define HB_RUNHIST 16            /* loss runs 1..15 exact, 16 = 16 or more */
#define HB_SAMPLES_MAX 1000000   /* samples kept for -J / --csv */

/* One heartbeat's outcome, for -J / --csv; index == seq. */
struct hb_sample {
	int64_t sent_ns;
	int64_t rtt_ns;          /* -1 when lost */
	double diff_s;           /* NAN when lost */
	uint8_t status;          /* PK_SEQ_OK, PK_SEQ_LOST, PK_SEQ_LATE */
};

struct hb_client {
	const struct hb_client_cfg *cfg;
	struct event_base *base;
	struct event *rd, *send_tm, *expire_tm, *phi_tm;
	struct pk_stop stop;            /* SIGINT / SIGTERM end the loop */
	int fd;
	struct pk_addr peer;
	struct pk_sched sched;
	struct pk_seqtrack track;
	double *diffs;           /* time_diff (s) per window slot, NAN if none */
	struct pk_rtt rtt;
	struct pk_summary diff;  /* server time_diff of answered heartbeats, ms */
	struct hb_kmiss kmiss;
	struct hb_phi phi;
	struct hb_verdicts v[HB_DETECTORS];
	uint64_t runhist[HB_RUNHIST + 1];
	uint64_t cur_run;
	uint64_t bad_replies, send_errors, icmp_errors;  /* unknown: track.unknown */
	int64_t start_ns, start_wall_ns, end_ns;
	int stopped_down;
	struct pk_samples samples; /* struct hb_sample; empty without -J / --csv */
};

int hb_client_run(const struct hb_client_cfg *cfg);

/* ---- printing (hb_report.c, hb_report_srv.c) ----------------------------- */

/* `heartbeat: <where>: <error text>` on stderr (set-up failures). */
void hb_report_error(const char *where, int code);
void hb_report_listening(const struct hb_server *s);
void hb_report_server_event(const struct hb_server *s, enum hb_srv_event ev,
                            const struct hb_peer *p, int64_t now_ns,
                            uint64_t prev_seq);
void hb_report_server_table(const struct hb_server *s, int64_t now_ns, int final);

void hb_report_client_start(const struct hb_client *c);
void hb_report_reply(struct hb_client *c, uint64_t seq, int64_t rtt_ns,
                     double diff_s, int late, int dup);
/* A decided heartbeat (status PK_SEQ_OK / LOST / LATE), in sequence order. */
void hb_report_decided(struct hb_client *c, const struct pk_seq_slot *s);
void hb_report_verdict(struct hb_client *c, enum hb_detector d,
                       enum hb_change ch, int64_t now_ns);
void hb_report_client_end(struct hb_client *c);
/* Text of a wall-clock time from a monotonic one: "12:00:01.234567". */
char *hb_clock_str(int64_t wall_offset_ns, int64_t mono_ns, char *buf, size_t cap);

#endif

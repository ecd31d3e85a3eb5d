/* hb_report: what the heartbeat runs hand their printing, and the printers
 * (hb_report.c for the client, hb_report_srv.c for the server).
 *
 * The runs compute every figure (loss, false alarms, verdict details) and
 * pass it here in a result or view struct; the printers only format,
 * choosing between text, JSON and CSV. Per-client figures of the server
 * come from hb_peer_figures (hb_table.h), the one place they are computed.
 */
#ifndef HB_REPORT_H
#define HB_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hb.h"
#include "hb_detect.h"
#include "hb_proto.h"
#include "hb_table.h"
#include "pk_report.h"
#include "pk_sock.h"
#include "pk_stats.h"

/* `heartbeat: <message>` on stderr (set-up failures). */
#define hb_report_error(...) pk_report_error("heartbeat", __VA_ARGS__)
/* Text of a wall-clock time from a monotonic one: "12:00:01.234567". */
char *hb_clock_str(int64_t wall_offset_ns, int64_t mono_ns, char *buf, size_t cap);

/* ---- server ------------------------------------------------------------ */

struct hb_server_totals {
	uint64_t datagrams;      /* every datagram read */
	uint64_t accepted;       /* parsed, not dropped: recorded and answered */
	uint64_t replies;        /* replies sent */
	uint64_t malformed;      /* refused by the parser (never answered) */
	uint64_t bad[HB_BAD_KINDS];
	uint64_t rate_limited;
	uint64_t sim_dropped;    /* discarded by the simulated loss */
	uint64_t send_errors;
	uint64_t refused_source; /* pk_self_refuse: port 0, below 1024, our own endpoint */
	uint64_t reply_shaped;   /* |time_diff| beyond HB_ANSWER_DIFF_MAX_S: a reply */
	uint64_t too_short;      /* even the shortest reply would be longer */
	uint64_t out_of_window;  /* seq far beyond the client's run (HB_SEQ_JUMP_MAX) */
	uint64_t clients_seen, evicted;
	uint64_t ev_stopped, ev_resumed, ev_restarted;
};

enum hb_srv_event {
	HB_EV_SEEN, HB_EV_STOPPED, HB_EV_RESUMED, HB_EV_RESTARTED, HB_EV_EVICTED,
};

/* The server as its lines show it (borrowed pointers, valid for the call). */
struct hb_server_view {
	const struct hb_server_cfg *cfg;
	const struct pk_addr *local;      /* bound address */
	uint64_t seed;                    /* of the simulated loss */
	int kernel_ts;                    /* receive timestamps from the kernel */
	int64_t wall_offset_ns;           /* wall - monotonic */
	const struct hb_server_totals *tot;
	const struct hb_table *tab;
	FILE *out;                        /* stdout, or stderr once it failed */
	int json;                         /* JSON (cfg->json), 0: text (SIGQUIT's table) */
	int64_t start_wall_ns;
	struct cJSON *events;             /* -J: the document's events (owned by the run) */
	uint64_t *events_dropped;         /* beyond HB_SRV_EVENTS_MAX */
	int metrics_port;                 /* the metrics endpoint's bound port, -1: none */
};

#define HB_SRV_EVENTS_MAX 100000         /* events kept for the -J document */

void hb_report_listening(const struct hb_server_view *v);
/* A client seen, stopped, resumed or restarted (p), or a record evicted
 * (p NULL); prev_seq: the sequence before a resume or restart. */
void hb_report_server_event(const struct hb_server_view *v, enum hb_srv_event ev,
                            const struct hb_peer *p, int64_t now_ns, uint64_t prev_seq);
/* The client table and totals (periodic, or final at the end: under -J
 * the document, under --json-stream the `end` record). */
void hb_report_server_table(const struct hb_server_view *v, int64_t now_ns, int final);
/* A set-up failure: `heartbeat: <msg>` on stderr; under -J / --json-stream
 * a document (an `end` record) with "error". */
void hb_report_server_fail(const struct hb_server_cfg *cfg, const char *msg);

/* ---- client ------------------------------------------------------------ */

/* One period in which a detector said `server down`. */
struct hb_outage {
	int64_t last_reply_ns;   /* newest reply before it, -1 when none */
	int64_t down_ns;         /* when declared */
	int64_t up_ns;           /* first reply after it, -1 while open */
};

#define HB_OUTAGES_MAX 1000

/* The verdicts of one detector over the run. */
struct hb_verdicts {
	int down;
	uint64_t downs, ups;
	uint32_t n;              /* outages kept (at most HB_OUTAGES_MAX) */
	struct hb_outage *list;  /* owned by the run */
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

/* What every line of a client run names; fixed when the run starts. */
struct hb_client_info {
	const struct hb_client_cfg *cfg;
	struct pk_addr peer;
	int64_t start_ns, start_wall_ns;
};

/* A detector changed its verdict at now_ns: what its line says. */
struct hb_verdict_change {
	enum hb_detector det;
	enum hb_change ch;       /* HB_WENT_DOWN or HB_WENT_UP */
	int64_t now_ns;
	int64_t last_reply_ns;   /* newest reply in time, -1 when none */
	/* went down, k-miss: the run of misses */
	unsigned run;
	uint64_t first_miss;
	/* went down, phi: its value and the fit of the gaps */
	double phi, phi_threshold, gap_mean_ns, gap_sd_ns;
	/* went up: the outage that ends, NULL when it was not kept */
	const struct hb_outage *outage;
};

/* The figures of a finished client run. */
struct hb_client_result {
	struct hb_client_info info;
	struct pk_ping_totals totals;   /* longest loss run: heartbeat's rule */
	struct pk_rtt_ms rtt;
	struct pk_summary diff;         /* server time_diff of answered heartbeats, ms */
	uint64_t runhist[HB_RUNHIST + 1];
	uint64_t bad_replies, unknown_replies, icmp_errors, send_errors;
	int final_down;                 /* the acting detector's last verdict */
	int interrupted;                /* a signal ended the run */
	struct hb_verdicts det[HB_DETECTORS];   /* outage lists borrowed */
	double phi_threshold, phi_gap_mean_ns, phi_gap_sd_ns;
	/* false alarms of the k-miss rule at the loss seen */
	uint64_t decided;               /* heartbeats decided; 0: no estimate */
	double loss;                    /* (lost + late) / decided, a fraction */
	struct hb_false_alarm fa;       /* fa.valid is 0 when decided is 0 */
	struct hb_fa_run run;           /* over the run's count (or what was sent) */
	const struct hb_sample *samples;
	size_t nsamples;
	uint64_t samples_dropped;
};

/* The banner (stdout in text mode, stderr under -J / --json-stream /
 * --csv), the `start` record, the CSV header. */
void hb_report_client_start(const struct hb_client_info *in);
/* The reply line (pk_fmt_reply): bytes of the reply, ttl (-1: unknown). */
void hb_report_reply(const struct hb_client_info *in, int64_t now_ns, uint64_t seq,
                     size_t bytes, int ttl, int64_t rtt_ns, double diff_s, int late, int dup);
/* A heartbeat decided (answered or timed out): a `sample` record or a CSV
 * row, as it happens. */
void hb_report_sample(const struct hb_client_info *in, uint64_t seq, const struct hb_sample *x);
/* SIGQUIT: the interim line on stderr (and an `interim` record). */
void hb_report_interim(const struct hb_client_info *in, const struct pk_ping_totals *t,
                       const struct pk_rtt_ms *r);
/* A set-up failure: `heartbeat: <msg>` on stderr; under -J / --json-stream
 * the document (the `end` record) with "error". */
void hb_report_client_fail(const struct hb_client_info *in, const char *msg);
/* Heartbeat seq got no reply by at_ns (its deadline). */
void hb_report_timeout(const struct hb_client_info *in, uint64_t seq, int64_t at_ns);
void hb_report_verdict(const struct hb_client_info *in, const struct hb_verdict_change *vc);
void hb_report_client_end(const struct hb_client_result *r);

/* ---- analyze ----------------------------------------------------------- */

struct hb_analysis {
	const struct hb_analyze_cfg *cfg;
	struct hb_false_alarm fa;       /* per heartbeat, hour, day; K for a day */
	struct hb_fa_run run;           /* over cfg->count heartbeats */
};

/* Text, or one JSON document under cfg->json, on stdout. */
void hb_report_analyze(const struct hb_analysis *a);

#endif

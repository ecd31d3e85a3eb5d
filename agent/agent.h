/* vxlan-agent: finds the other agents on a multicast group and measures the
 * one-way latency (RTT/2) and loss between itself and each of them.
 *
 * main() fills a struct agent_cfg and calls agent_run(). The running state
 * is agent.c's own; the reports (agent_report.c) and the metrics
 * (agent_metrics.c) read the struct agent_result it fills.
 */
#ifndef AGENT_H
#define AGENT_H

#include <stdint.h>
#include <stdio.h>

#include "agent_table.h"
#include "pk_clock.h"
#include "pk_http.h"
#include "pk_report.h"
#include "pk_sock.h"
#include "pk_sockopt.h"

struct event_base;

#define AGENT_GROUP4 "239.255.255.250"
#define AGENT_GROUP6 "ff0e::10"
#define AGENT_PORT 1910
#define AGENT_MAX_OWN 64
#define AGENT_MAX_STATIC 256       /* --peer given at most this many times */

struct agent_cfg {
	int family;                /* AF_INET or AF_INET6 */
	const char *group;         /* NULL: AGENT_GROUP4 / AGENT_GROUP6 */
	uint16_t port;
	int64_t interval_ns;       /* between probes (0.5 s) */
	int64_t timeout_ns;        /* a probe is lost after this (2 s) */
	int64_t report_ns;         /* report period (10 s) */
	int64_t peer_timeout_ns;   /* a silent peer is forgotten after this */
	const char *iface;         /* -I IFACE: the group's interface; NULL: the kernel's choice */
	const char *own;           /* OWN_ADDR, or NULL: every local address */
	struct pk_sockopt so;      /* -I ADDR (source of probes), -t, -Q; so.ifname: iface */
	int ttl;                   /* multicast TTL / hops (-t, else 1; 2 with -6) */
	enum agent_output { AGENT_OUT_TEXT, AGENT_OUT_JSON, AGENT_OUT_STREAM,
	                    AGENT_OUT_CSV } output;   /* -J: one document at the end;
	                                                 --json-stream; --csv */
	int stamp;                 /* -D: [unix time] before each report line */
	int quiet;                 /* -q: the seed's lines only */
	const char *prom_file;     /* NULL: none */
	int metrics_port;          /* -1: no HTTP endpoint; 0: any port */
	const char *metrics_addr;  /* address of the HTTP endpoint */
	size_t metrics_conns;      /* connections to it at once, at most (16) */
	int64_t metrics_timeout_ns; /* deadline of one exchange with it (10 s) */
	uint64_t reports;          /* stop after this many reports; 0: never */
	size_t max_peers;
	double echo_rate;          /* echoes per second per source (burst = 2 s) */
	int seq_probes;            /* plain counter probes, as the seed (no one-way figures) */
	const char *trace;         /* NULL, or a file: one line per probe event */
	const struct pk_addr *peers; /* --peer: n_peers addresses with their ports; then */
	size_t n_peers;            /* probes go by unicast to these and to every peer
	                              found, not to the group, and the group is not joined */
};

/* Counters of things that are not probes or replies of ours. */
struct agent_counters {
	uint64_t sent, send_errors;
	uint64_t echoed, echo_refused, echo_errors;
	uint64_t bad_probes;     /* group datagrams that are not probes */
	uint64_t source_refused; /* probes never echoed for their source: port 0, below
	                            1024, or the group port (an agent's echo socket) */
	uint64_t own_probes;     /* our own probes heard back (never echoed) */
	uint64_t bad_replies;    /* replies that are not probe numbers */
	uint64_t own_replies;    /* replies from our own addresses (ignored) */
	uint64_t tx_kernel;      /* probes timed by the kernel's transmit stamp */
	uint64_t rx_kernel;      /* replies and probes timed by the kernel's receive stamp */
	uint64_t rx_user;        /* ... by the monotonic clock after the read (no stamp) */
};


/* What the reports and the metrics read, filled by agent.c (as udp-ping's
 * ping_result): a view of the running agent, valid until it runs again. */
struct agent_result {
	const struct agent_cfg *cfg;
	const struct agent_table *tab;   /* probes and peers */
	struct agent_counters ctr;
	struct pk_addr group;
	int64_t interval_start_ns;       /* when the interval being reported began */
	int64_t start_wall_ns;           /* when the agent started, Unix time */
	struct pk_http_stats http;       /* the metrics endpoint (zero without it) */
};

/* Runs until signalled or cfg->reports reports; returns the exit status
 * (0: some peer answered, 1: none did, 2: set-up error, already reported). */
int agent_run(const struct agent_cfg *cfg);

/* agent_report.c: all the printing (docs/OUTPUT.md). The state of the
 * output: the -J document being built (the reports as its samples, the
 * peers seen and lost as its events), the report count. */
struct agent_out {
	const struct agent_cfg *cfg;
	FILE *f;                   /* stdout */
	int64_t start_wall_ns;
	uint64_t nreports;
	double lat_sum_ms;         /* replies x average latency, every report */
	uint64_t lat_n;            /* replies, every report */
	cJSON *doc;                /* -J / --json-stream: the envelope; NULL in text */
	cJSON *samples, *events;   /* in doc */
	int ended;
};
/* The banner (stdout in text, stderr otherwise) and the stream's start
 * record. own: OWN_ADDR when given, else NULL; metrics_port: the bound port
 * of the metrics endpoint, or -1. */
void agent_report_start(struct agent_out *o, const struct agent_cfg *cfg,
                        const struct pk_addr *group, const struct pk_addr *own,
                        int metrics_port, FILE *f);
/* A report (each line flushed): text, a CSV row per peer, a `report` record;
 * under -J and --json-stream kept as a sample of the document. */
void agent_report_interval(struct agent_out *o, const struct agent_result *r, int64_t now_ns,
                           int final);
/* A peer found (event "peer_seen") or forgotten ("peer_lost"). */
void agent_report_peer(struct agent_out *o, const char *event, const struct pk_addr *peer);
/* SIGQUIT: the report so far, as text on stderr (and an `interim` record). */
void agent_report_interim(struct agent_out *o, const struct agent_result *r, int64_t now_ns);
/* The end: the -J document or the `end` record (error: NULL, or the
 * message also printed on stderr). Frees the document; idempotent. */
void agent_report_end(struct agent_out *o, const struct agent_result *r, const char *error);
/* "vxlan-agent: <message>" on stderr. */
#define agent_report_error(...) pk_report_error("vxlan-agent", __VA_ARGS__)
/* The diagnostic trace (--trace, trace NULL: none): one line per event,
 * monotonic ns. */
void agent_trace_probe(FILE *trace, uint64_t seq, uint64_t num, int64_t user_ns);
void agent_trace_txstamp(FILE *trace, uint64_t seq, uint64_t num, int64_t tx_ns);
void agent_trace_rx(FILE *trace, const char *what, const struct pk_rx *rx, uint64_t num,
                    int64_t owd_ns);
void agent_trace_echo(FILE *trace, const struct pk_addr *to, uint64_t num, int64_t user_ns);

/* agent_metrics.c: Prometheus text exposition of the agent's figures.
 * agent_metrics_render returns a malloc'd NUL-terminated text (caller frees)
 * or NULL. */
char *agent_metrics_render(const struct agent_result *r, int64_t now_ns);
/* Writes the text to path atomically: a temporary file beside it with a
 * random name, created with O_CREAT|O_EXCL|O_NOFOLLOW (never through a
 * link someone placed), written, synced, renamed over path. 0 or -errno. */
int agent_metrics_write_file(const struct agent_result *r, const char *path, int64_t now_ns);
/* The HTTP endpoint /metrics (--metrics-port) is common/pk_http; agent.c
 * renders agent_metrics_render of the live figures for each request. */

#endif

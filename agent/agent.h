/* vxlan-agent: finds the other agents on a multicast group and measures the
 * one-way latency (RTT/2) and loss between itself and each of them.
 *
 * main() fills a struct agent_cfg and calls agent_run(). struct agent is the
 * running state, shared by the loop (agent.c), the reports (agent_report.c)
 * and the metrics (agent_metrics.c); only agent.c changes it.
 */
#ifndef AGENT_H
#define AGENT_H

#include <stdint.h>
#include <stdio.h>

#include "agent_table.h"
#include "pk_clock.h"
#include "pk_limit.h"
#include "pk_loop.h"
#include "pk_sock.h"

#define AGENT_GROUP4 "239.255.255.250"
#define AGENT_GROUP6 "ff0e::10"
#define AGENT_PORT 1910
#define AGENT_MAX_OWN 64

struct agent_cfg {
	int family;                /* AF_INET or AF_INET6 */
	const char *group;         /* NULL: AGENT_GROUP4 / AGENT_GROUP6 */
	uint16_t port;
	int64_t interval_ns;       /* between probes (0.5 s) */
	int64_t timeout_ns;        /* a probe is lost after this (2 s) */
	int64_t report_ns;         /* report period (10 s) */
	int64_t peer_timeout_ns;   /* a silent peer is forgotten after this */
	const char *iface;         /* NULL: the kernel's choice */
	const char *own;           /* OWN_ADDR, or NULL: every local address */
	int ttl;                   /* multicast TTL / hops */
	int json;                  /* -J: one JSON line per report */
	int quiet;                 /* -q: the seed's lines only */
	const char *prom_file;     /* NULL: none */
	int metrics_port;          /* -1: no HTTP endpoint; 0: any port */
	const char *metrics_addr;  /* address of the HTTP endpoint */
	uint64_t reports;          /* stop after this many reports; 0: never */
	size_t max_peers;
	double echo_rate;          /* echoes per second per source (burst = 2 s) */
	int seq_probes;            /* plain counter probes, as the seed (no one-way figures) */
	const char *trace;         /* NULL, or a file: one line per probe event */
};

/* Counters of things that are not probes or replies of ours. */
struct agent_counters {
	uint64_t sent, send_errors;
	uint64_t echoed, echo_refused, echo_errors;
	uint64_t bad_probes;     /* group datagrams that are not probes */
	uint64_t own_probes;     /* our own probes heard back (never echoed) */
	uint64_t bad_replies;    /* replies that are not probe numbers */
	uint64_t own_replies;    /* replies from our own addresses (ignored) */
	uint64_t tx_kernel;      /* probes timed by the kernel's transmit stamp */
	uint64_t rx_kernel;      /* replies and probes timed by the kernel's receive stamp */
	uint64_t rx_user;        /* ... by the monotonic clock after the read (no stamp) */
};

/* What the agent remembers of each probe it sent, by sequence. */
struct agent_sent {
	uint64_t seq;
	uint64_t num;             /* the probe number on the wire */
	uint32_t key;             /* the kernel's number of the datagram (OPT_ID) */
	uint8_t kernel;           /* its send time is the kernel's stamp */
};

struct agent {
	const struct agent_cfg *cfg;
	struct event_base *base;
	int rx_fd;                 /* bound to the group port: probes to echo */
	int tx_fd;                 /* unbound: our probes out, replies in */
	unsigned ifindex;
	struct pk_addr group;
	struct pk_addr own[AGENT_MAX_OWN];
	size_t n_own;
	int use_pktinfo;           /* echo from cfg->own (several agents on one host) */
	struct agent_table tab;
	struct agent_sent *sent;   /* ring of `window` probes, by seq */
	uint64_t *key_seq;         /* ring of `window` seqs, by the kernel's key */
	size_t window;
	uint32_t tx_key;           /* the kernel's number of our next datagram */
	FILE *trace;               /* cfg->trace, open */
	struct pk_sched sched;
	struct pk_limit limit;
	struct agent_counters ctr;
	int64_t start_ns, start_wall_ns, interval_start_ns;
	uint64_t nreports;
	struct pk_batch *rx_batch, *tx_batch;   /* one per socket */
	struct event *ev_rx, *ev_tx, *ev_send, *ev_expire, *ev_report;
	struct pk_stop stop;       /* SIGINT, SIGTERM: final report, then the end */
	struct evhttp *http;
	int metrics_port;          /* the bound port, for the start line */
	int exit_code;
};

/* Runs until signalled or cfg->reports reports; returns the exit status
 * (0: some peer answered, 1: none did, 2: set-up error, already reported). */
int agent_run(const struct agent_cfg *cfg);

/* agent_report.c: all the printing. */
void agent_report_start(const struct agent *a, FILE *f);
void agent_report_interval(const struct agent *a, FILE *f, int64_t now_ns, int final);
void agent_report_error(const char *what, int err);
/* The diagnostic trace (--trace): one line per event, monotonic ns. */
void agent_trace_probe(const struct agent *a, const struct agent_sent *s, int64_t user_ns);
void agent_trace_txstamp(const struct agent *a, const struct agent_sent *s, int64_t tx_ns);
void agent_trace_rx(const struct agent *a, const char *what, const struct pk_rx *rx,
                    uint64_t num, int64_t owd_ns);
void agent_trace_echo(const struct agent *a, const struct pk_addr *to, uint64_t num,
                      int64_t user_ns);

/* agent_metrics.c: Prometheus text exposition of the agent's state.
 * agent_metrics_render returns a malloc'd NUL-terminated text (caller frees)
 * or NULL. */
char *agent_metrics_render(const struct agent *a, int64_t now_ns);
/* Writes the text to path atomically (temporary file + rename). 0 or -errno. */
int agent_metrics_write_file(const struct agent *a, const char *path, int64_t now_ns);
/* Starts the HTTP endpoint /metrics on cfg->metrics_addr:metrics_port.
 * 0 or -errno; a->metrics_port gets the bound port. */
int agent_metrics_http_start(struct agent *a);
void agent_metrics_http_stop(struct agent *a);

#endif

/* udp-ping: the configurations main fills, the result the client hands its
 * report, and the report's printers.
 *
 * main.c fills a config from the command line and calls ping_server_run() or
 * ping_client_run(); those own every socket, timer and table; all printing
 * goes through ping_report.c.
 */
#ifndef PING_H
#define PING_H

#include <stdint.h>
#include <stdio.h>

#include "pk_limit.h"
#include "pk_report.h"
#include "pk_sim.h"
#include "pk_sock.h"
#include "pk_sockopt.h"
#include "pk_stats.h"

/* text; -J (one document at the end); --json-stream (JSON Lines as it
 * happens, ending with the -J document); --csv (a row per ping as its
 * outcome is known) */
enum ping_output { PING_OUT_TEXT, PING_OUT_JSON, PING_OUT_STREAM, PING_OUT_CSV };

struct ping_server_cfg {
	const char *bind;        /* NULL: every address */
	uint16_t port;
	int family;              /* AF_UNSPEC, AF_INET, AF_INET6 */
	double loss;             /* probability of a simulated drop */
	uint64_t seed;
	int have_seed;
	double rate_limit;       /* datagrams/s per source, 0 = off */
	int allow_low_ports;     /* answer source ports 1..1023 too */
	int quiet;
	int stamp;               /* -D */
	enum ping_output output; /* TEXT, JSON or STREAM */
	struct pk_sockopt so;    /* -t, -Q: of the replies */
};

struct ping_server_totals {
	uint64_t received, replied, dropped, refused, errors, bytes;
	uint64_t refused_source; /* pk_self_refuse: port 0, below 1024, our own endpoint */
	uint64_t refused_echo;   /* already an echo (ping_is_echo): never answered */
	uint64_t clients;        /* distinct source endpoints seen */
};

struct ping_client_cfg {
	const char *host;
	uint16_t port;
	int family;
	uint64_t count;          /* 0: until interrupted */
	int64_t interval_ns;
	int64_t timeout_ns;
	size_t size;             /* datagram size; 0 = the bare text */
	enum ping_output output;
	int quiet;
	int stamp;               /* -D: the -D prefix on each line per ping */
	int verbose;             /* -v: ttl= and tos= of each reply */
	struct pk_sockopt so;    /* -I, -t, -Q */
	const char *iface_arg;   /* -I as given, for its error message */
	/* -A: the next ping leaves when the reply to the last one arrives or
	 * its timeout passes (one ping in flight), no earlier than min_gap_ns
	 * after it (-i given with -A; else 0); interval_ns is then unused */
	int adaptive;
	int64_t min_gap_ns;
};

/* One ping as reported in -J / --csv (records of a struct pk_samples). */
struct ping_sample {
	uint64_t seq;
	int64_t wall_ns;         /* when it was sent (CLOCK_REALTIME) */
	int64_t rtt_ns;          /* -1 when no reply */
	int32_t size;            /* the reply's payload bytes, -1 when no reply */
	int16_t ttl, tos;        /* of the reply (-v), -1 when not known */
	uint32_t dups;
	uint8_t status;          /* enum pk_seq_status: PENDING, OK, LOST, LATE */
	uint8_t clock;           /* enum pk_rxclock of the first reply */
};

#define PING_MAX_SAMPLES 1000000u

/* What the client hands to its report at the end. */
struct ping_result {
	const struct ping_client_cfg *cfg;
	struct pk_addr peer;
	int64_t start_wall_ns;
	struct pk_ping_totals totals;
	struct pk_rtt_ms rtt;
	uint64_t rx_kernel, rx_monotonic;   /* receive clock of in-time replies */
	uint64_t altered, unknown, icmp_errors, send_errors;
	/* replies our own receive buffer dropped (the kernel's count,
	 * SO_RXQ_OVFL / SO_MEMINFO), and the pings left out of `totals` for
	 * them (at most the pings without a reply): never packet loss */
	uint64_t rcvbuf_drops, unmeasured, sent;
	int rcvbuf_bytes;                   /* SO_RCVBUF as the kernel set it */
	const struct pk_samples *samples;   /* of struct ping_sample; empty for text */
};

int ping_server_run(const struct ping_server_cfg *cfg);
int ping_client_run(const struct ping_client_cfg *cfg);
/* ping_client_sock.c: the client's socket to cfg->host, connected (peer: its
 * address), receive timestamps on, the receive buffer sized for the send
 * rate (*rcvbuf_bytes: as the kernel set it). The fd, or -1 when it failed,
 * said on stderr (and under -J / --json-stream in the document). */
int ping_client_socket(const struct ping_client_cfg *cfg, struct pk_addr *peer,
                       int *rcvbuf_bytes);

/* ping_report.c: every line udp-ping prints. */
#define ping_report_error(...) pk_report_error("udp-ping", __VA_ARGS__)
/* The server's lines go to stdout until a write there fails; then it goes
 * on serving (ping_server.c), so they are written with ping_out_server,
 * never pk_out_flush (which would end the program on EPIPE). */
void ping_report_server_start(const struct ping_server_cfg *cfg, const struct pk_addr *local,
                              uint64_t seed);
/* One datagram: a text line, or a stream "sample" record (n: its number). */
void ping_report_datagram(const struct ping_server_cfg *cfg, uint64_t n, int64_t wall_ns,
                          const struct pk_addr *from, const void *buf, size_t len,
                          const char *verdict);
/* A new client endpoint: into events (-J and the end record), and with
 * print a client_seen record (--json-stream). */
void ping_report_client_seen(const struct ping_server_cfg *cfg, cJSON *events, int64_t wall_ns,
                             const struct pk_addr *from, int print);
/* The totals, to f (stdout; stderr when stdout failed). */
void ping_report_server_totals(FILE *f, const struct ping_server_totals *t);
void ping_report_server_interim(const struct ping_server_cfg *cfg,
                                const struct ping_server_totals *t);
/* -J / --json-stream: the document at the end (err: NULL, or the error). */
void ping_report_server_doc(const struct ping_server_cfg *cfg, const struct pk_addr *local,
                            int64_t start_wall_ns, uint64_t seed,
                            const struct ping_server_totals *t, cJSON *events, const char *err);

void ping_report_client_start(const struct ping_client_cfg *cfg, const struct pk_addr *peer,
                              int64_t start_wall_ns);
/* A reply line (kind: 0 in time, 1 late, 2 duplicate). */
void ping_report_reply(const struct ping_client_cfg *cfg, const struct pk_rx *rx, uint64_t seq,
                       const void *buf, int64_t rtt_ns, int altered, int kind);
void ping_report_timeout(const struct ping_client_cfg *cfg, uint64_t seq);
void ping_report_bad(const struct ping_client_cfg *cfg, const struct pk_addr *from,
                     const void *buf, size_t len);
/* --json-stream / --csv: a ping's outcome as it is decided (a reply in
 * time, its timeout, or a late reply after it). */
void ping_report_sample(const struct ping_client_cfg *cfg, const struct ping_sample *s);
/* SIGQUIT: the interim line on stderr (and an "interim" record). */
void ping_report_interim(const struct ping_client_cfg *cfg, const struct pk_ping_totals *t,
                         const struct pk_rtt_ms *r);
void ping_report_result(const struct ping_result *r);
/* A run-time error under -J / --json-stream: the document with "error". */
void ping_report_client_error_doc(const struct ping_client_cfg *cfg, const struct pk_addr *peer,
                                  int64_t start_wall_ns, const char *err);

#endif

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
#include "pk_stats.h"

enum ping_output { PING_OUT_TEXT, PING_OUT_JSON, PING_OUT_CSV };

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
};

struct ping_server_totals {
	uint64_t received, replied, dropped, refused, errors, bytes;
	uint64_t refused_source; /* pk_self_refuse: port 0, below 1024, our own endpoint */
	uint64_t refused_echo;   /* already an echo (ping_is_echo): never answered */
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
	/* -A: the next ping leaves when the reply to the last one arrives or
	 * its timeout passes (one ping in flight), no earlier than min_gap_ns
	 * after it (-i given with -A; else 0); interval_ns is then unused */
	int adaptive;
	int64_t min_gap_ns;
};

/* One ping as reported in -J / --csv (records of a struct pk_samples). */
struct ping_sample {
	uint64_t seq;
	int64_t rtt_ns;          /* -1 when no reply */
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

/* ping_report.c: every line udp-ping prints. */
#define ping_report_error(...) pk_report_error("udp-ping", __VA_ARGS__)
void ping_report_server_start(const struct ping_server_cfg *cfg, const struct pk_addr *local,
                              uint64_t seed);
void ping_report_datagram(const struct pk_addr *from, const void *buf, size_t len,
                          const char *verdict);
/* The totals, to f (stdout; stderr when stdout failed). */
void ping_report_server_totals(FILE *f, const struct ping_server_totals *t);
void ping_report_client_start(const struct ping_client_cfg *cfg, const struct pk_addr *peer);
void ping_report_reply(const struct ping_client_cfg *cfg, const struct pk_addr *from,
                       uint64_t seq, const void *buf, size_t len, int64_t rtt_ns,
                       int altered);
void ping_report_late(const struct ping_client_cfg *cfg, uint64_t seq, int64_t rtt_ns);
void ping_report_dup(const struct ping_client_cfg *cfg, uint64_t seq, int64_t rtt_ns);
void ping_report_timeout(const struct ping_client_cfg *cfg, uint64_t seq);
void ping_report_bad(const struct ping_client_cfg *cfg, const struct pk_addr *from,
                     const void *buf, size_t len);
void ping_report_result(const struct ping_result *r);

#endif

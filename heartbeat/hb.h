/* hb: the two runs of heartbeat, as main.c sees them: `heartbeat server`
 * and `heartbeat client`, each a config filled from the command line and
 * a run function. A run owns every resource it creates and returns the
 * process exit status (0, 1 or 2). What the runs hand their printing is
 * in hb_report.h.
 */
#ifndef HB_H
#define HB_H

#include <stdint.h>

#include "pk_sockopt.h"

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
	int allow_low_ports;     /* answer source ports 1..1023 too */
	struct pk_sockopt so;    /* -t / -Q of the replies */
	int json;                /* -J (or --json-stream): JSON on stdout */
	int stream;              /* --json-stream: JSON Lines, ends with the document */
	int quiet, timestamps;
	/* --metrics-port: Prometheus /metrics over HTTP (hb_metrics.h, pk_http.h) */
	int metrics_port;        /* -1: no endpoint; 0: any port */
	const char *metrics_addr;    /* its address (127.0.0.1) */
	size_t metrics_conns;        /* connections at once, at most (16) */
	int64_t metrics_timeout_ns;  /* deadline of one exchange (10 s) */
	uint32_t metrics_max_clients; /* clients with per-client series (100) */
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
	struct pk_sockopt so;    /* -I / -t / -Q */
	int json;                /* -J (or --json-stream): JSON on stdout */
	int stream;              /* --json-stream: JSON Lines, ends with the document */
	int quiet, csv, timestamps, verbose;
};

int hb_client_run(const struct hb_client_cfg *cfg);

/* ---- analyze ----------------------------------------------------------- */

/* `heartbeat analyze P,K,N`: the false-alarm figures of the k-miss rule
 * for a loss, K and a run length given, without sending anything. */
struct hb_analyze_cfg {
	double loss;             /* p, in [0, 1) */
	unsigned misses;         /* K */
	uint64_t count;          /* N, 1..HB_FA_N_MAX */
	int64_t interval_ns, timeout_ns;
	double budget;           /* the K search's bound on P(at least one in N) */
	int json;
};

#define HB_FA_BUDGET 0.01        /* default budget: 1% */

int hb_analyze_run(const struct hb_analyze_cfg *cfg);

#endif

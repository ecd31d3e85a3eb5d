/* tcp-echo: configuration, run entry points and the report interface.
 *
 * main.c fills a config from the command line and calls echo_server_run()
 * or echo_client_run(); both return the exit status (0 ok, 1 failure
 * detected, 2 usage or system error). All printing is in echo_report.c.
 */
#ifndef ECHO_H
#define ECHO_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "echo_proto.h"
#include "pk_sock.h"
#include "pk_report.h"
#include "pk_stats.h"

#define ECHO_MAX_LIST 64          /* entries of --sizes / --delays */

/* ---- server ----------------------------------------------------------- */

struct echo_server_cfg {
	const char *bind_host;        /* NULL: wildcard */
	uint16_t port;
	int family;                   /* AF_UNSPEC, AF_INET, AF_INET6 */
	int plain;                    /* echo raw bytes, no protocol */
	struct echo_limits lim;
	int64_t idle_ns;
	uint64_t max_conns;
	uint64_t max_buffer;         /* bytes of partial lines, all connections */
	int json, quiet;
};

int echo_server_run(const struct echo_server_cfg *cfg);

/* How a server connection ended. */
enum echo_end {
	ECHO_END_TERM,          /* valid "t" */
	ECHO_END_BAD_SETUP,
	ECHO_END_BAD_PROBE,
	ECHO_END_BAD_TERM,
	ECHO_END_PEER_CLOSED,   /* EOF before a termination */
	ECHO_END_IDLE,          /* idle timeout */
	ECHO_END_ERROR,         /* reset or socket error */
	ECHO_END_SHUTDOWN,      /* server stopped */
	ECHO_END_MEMORY,        /* its partial line would pass the server's budget */
	ECHO_END_COUNT
};

/* What the server logs about one session when it ends. */
struct echo_session_log {
	const struct pk_addr *peer;
	int plain;
	int have_setup;
	struct echo_setup setup;
	uint64_t echoed;            /* probes echoed (or bytes, plain) */
	uint64_t bytes_in;
	enum echo_end end;
	int64_t duration_ns;
};

struct echo_server_stats {
	uint64_t accepted, refused, active, peak;
	uint64_t probes, bytes_in;
	uint64_t ends[ECHO_END_COUNT];
};

/* ---- client ----------------------------------------------------------- */

struct echo_client_cfg {
	const char *host;
	uint16_t port;
	int family;
	enum echo_mtype type;
	uint64_t size, probes;
	int64_t delay_ns;
	int64_t timeout_ns;         /* -W: longest wait for any reply beyond the delay */
	unsigned window;
	int sweep;
	uint64_t sizes[ECHO_MAX_LIST];
	size_t nsizes;              /* 0: the default sizes of the mode */
	int64_t delays[ECHO_MAX_LIST];
	size_t ndelays;             /* 0: one delay, delay_ns */
	unsigned repeat;
	int json, quiet;
	const char *csv, *plot, *message;
	volatile sig_atomic_t *stop; /* set by SIGINT/SIGTERM */
};

int echo_client_run(const struct echo_client_cfg *cfg);

/* One session's measurements. rtt_ns[i] is probe i+1's RTT. */
struct echo_result {
	struct echo_setup setup;
	unsigned window;
	uint64_t sent, echoed;
	int64_t *rtt_ns;            /* owned, `echoed` entries */
	int64_t start_ns, first_send_ns, last_echo_ns, end_ns;
};

/* Figures of a set of probes. Throughput in Mbit/s per probe
 * (8 * size / RTT); goodput: all payload bits over the time from the first
 * byte sent to the last byte of echo read. */
struct echo_figures {
	uint64_t n;
	struct pk_rtt_ms rtt;       /* ms, exact percentiles (nearest rank) */
	double tput_mbps[6];        /* mean, min, max, stddev, p50, p99 */
	double goodput_mbps;
};
enum { EF_MEAN, EF_MIN, EF_MAX, EF_SD, EF_P50, EF_P99 };

/* One sweep point: a (delay, size) pair over --repeat sessions. */
struct echo_point {
	int64_t delay_ns;
	uint64_t size;
	unsigned sessions;
	struct echo_figures fig;
	int64_t *rtt_ns;            /* owned, fig.n entries */
};

/* Least-squares RTT = a + b * size for one delay. */
struct echo_fit {
	int64_t delay_ns;
	size_t n;                   /* samples used */
	int valid;                  /* at least two distinct sizes */
	double a_ms;                /* base latency */
	double b_ms_per_byte;
	double bandwidth_mbps;      /* 8 / b, valid when b > 0 */
	double r2;
};

/* echo_fit.c: pure figures. */
void echo_figures_of(const int64_t *rtt_ns, uint64_t n, uint64_t size,
                     int64_t span_ns, struct echo_figures *out);
void echo_fit_points(const struct echo_point *pts, size_t npts, int64_t delay_ns,
                     struct echo_fit *out);
int echo_parse_list_sizes(const char *s, uint64_t *out, size_t cap, size_t *n,
                          const char **errstr);
int echo_parse_list_delays(const char *s, int64_t *out, size_t cap, size_t *n,
                           const char **errstr);

/* ---- echo_report.c ---------------------------------------------------- */

struct echo_report {
	FILE *out;
	int json, quiet;
};

void echo_report_listening(FILE *f, const struct pk_addr *a, int plain);
void echo_report_setup(const struct echo_report *r, const struct pk_addr *peer,
                       const struct echo_setup *s);
void echo_report_plain_data(const struct echo_report *r, const struct pk_addr *peer,
                            const void *buf, size_t len);
void echo_report_session_end(const struct echo_report *r, const struct echo_session_log *l);
void echo_report_refused(const struct echo_report *r, const struct pk_addr *peer,
                         const char *why);
void echo_report_server_stats(const struct echo_report *r, const struct echo_server_stats *s);
const char *echo_end_name(enum echo_end e);
/* {min, avg, max, mdev, p50, p99} of throughput figures (EF_* order), nulls
 * when !ok; shared by the session and the sweep JSON. Caller owns it. */
cJSON *echo_json_tput(const double *t, int ok);

/* Client side. */
void echo_report_connecting(const struct echo_report *r, const char *host,
                            const struct pk_addr *a);
void echo_report_server_line(const struct echo_report *r, const char *line, size_t len);
/* A 404 line as it came: stdout, or stderr under -q / -J. */
void echo_report_404(const struct echo_report *r, const char *line);
void echo_report_probe(const struct echo_report *r, const struct pk_addr *a,
                       uint64_t size, uint64_t seq, int64_t rtt_ns);
void echo_report_session(const struct echo_report *r, const char *host,
                         const struct echo_result *res, const struct echo_figures *fig);
void echo_report_session_json(FILE *f, const char *host, const struct pk_addr *a,
                              int64_t start_wall_ns, const struct echo_result *res,
                              const struct echo_figures *fig, const char *error);
void echo_report_plain_sending(const struct echo_report *r, const char *host,
                               const struct pk_addr *a, const char *msg);
void echo_report_plain_result(const struct echo_report *r, const char *host,
                              const struct pk_addr *a, const char *msg, const char *echo,
                              size_t len, int64_t rtt_ns, const char *error);

/* echo_sweep_report.c */
void echo_report_sweep_session(const struct echo_report *r, const struct echo_point *p,
                               unsigned session, const struct echo_result *res);
void echo_report_sweep(const struct echo_report *r, const struct echo_client_cfg *cfg,
                       const struct echo_point *pts, size_t npts,
                       const struct echo_fit *fits, size_t nfits);
void echo_report_sweep_json(FILE *f, const char *host, const struct pk_addr *a,
                            int64_t start_wall_ns, const struct echo_client_cfg *cfg,
                            const struct echo_point *pts, size_t npts,
                            const struct echo_fit *fits, size_t nfits, const char *error);
/* path "-" is stdout. 0 or -errno. */
int echo_report_sweep_csv(const char *path, const struct echo_point *pts, size_t npts);
/* "png" / "svg" by the file's ending, NULL when neither. */
const char *echo_plot_format(const char *path);
/* Runs gnuplot; 0, or -errno, -EINVAL (bad ending), -ENOENT (no gnuplot),
 * -ECHILD (gnuplot failed or made no file). */
int echo_plot(const char *path, enum echo_mtype type, const struct echo_point *pts,
              size_t npts, const struct echo_fit *fits, size_t nfits);
void echo_report_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

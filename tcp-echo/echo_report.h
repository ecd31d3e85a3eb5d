/* echo_report: every line tcp-echo prints (echo_report.c: server log,
 * client session, plain echo; echo_sweep_report.c: sweep table, JSON, CSV),
 * and the result structs the printers take. The gnuplot plot is
 * echo_plot.h's. Printers read only what they are given.
 */
#ifndef ECHO_REPORT_H
#define ECHO_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "echo.h"
#include "echo_fit.h"
#include "pk_report.h"
#include "pk_sock.h"

/* Where and how to print. json: no text on out (-J or --json-stream);
 * stream: JSON Lines records on out (--json-stream); csv: CSV rows on out;
 * stamp: -D. events: the server's -J document collects its events here
 * (NULL: none). */
struct echo_report {
	FILE *out;
	int json, quiet;
	int stamp, stream, csv;
	cJSON *events;
};

/* "tcp-echo: <message>" on stderr (stdout flushed first). */
#define echo_report_error(...) pk_report_error("tcp-echo", __VA_ARGS__)

/* ---- server ----------------------------------------------------------- */

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

/* The server's totals, printed when it stops. */
struct echo_server_stats {
	uint64_t accepted, refused, active, peak;
	uint64_t probes, bytes_in;
	uint64_t ends[ECHO_END_COUNT];
};

const char *echo_end_name(enum echo_end e);
/* The banner: on stdout in text mode, on stderr under -J / --json-stream
 * (and the `listening` record). */
void echo_report_listening(const struct echo_report *r, const struct pk_addr *a, int plain);
void echo_report_setup(const struct echo_report *r, const struct pk_addr *peer,
                       const struct echo_setup *s);
void echo_report_plain_data(const struct echo_report *r, const struct pk_addr *peer,
                            const void *buf, size_t len);
void echo_report_session_end(const struct echo_report *r, const struct echo_session_log *l);
void echo_report_refused(const struct echo_report *r, const struct pk_addr *peer,
                         const char *why);
void echo_report_server_stats(const struct echo_report *r, const struct echo_server_stats *s);
/* SIGQUIT: one line of the counters on stderr (and an `interim` record). */
void echo_report_server_interim(const struct echo_report *r, const struct echo_server_stats *s);
/* The server's -J document (the `end` record's data): envelope with the
 * bound address, summary = the totals, events = r->events (taken). */
cJSON *echo_server_doc(const struct echo_report *r, const struct pk_addr *bound,
                       int64_t start_wall_ns, const struct echo_server_stats *s);

/* ---- client: one session ---------------------------------------------- */

/* One session's measurements. rtt_ns[i] is probe i+1's RTT. */
struct echo_result {
	struct echo_setup setup;
	unsigned window;
	uint64_t sent, echoed;
	int64_t *rtt_ns;            /* owned, `echoed` entries; the same allocation holds
	                             * t0_ns: probe i+1's send time (monotonic) */
	int64_t *t0_ns;
	int64_t start_ns, first_send_ns, last_echo_ns, end_ns;
};

void echo_report_connecting(const struct echo_report *r, const char *host,
                            const struct pk_addr *a);
void echo_report_server_line(const struct echo_report *r, const char *line, size_t len);
/* A 404 line as it came: stdout, or stderr under -q / -J. */
void echo_report_404(const struct echo_report *r, const char *line);
/* A probe's echo: the reply line (text), a `sample` record (--json-stream)
 * or a CSV row (--csv), t0_ns its send time (monotonic). */
void echo_report_probe(const struct echo_report *r, const struct pk_addr *a,
                       uint64_t size, uint64_t seq, int64_t rtt_ns, int64_t t0_ns);
/* The CSV header of the per-probe rows. */
void echo_report_probe_csv_header(const struct echo_report *r);
/* SIGQUIT: the interim line of a session so far on stderr. */
void echo_report_client_interim(const struct echo_report *r, const struct echo_result *res);
/* Wall-clock time (ns) of a monotonic time of this run. */
int64_t echo_wall_of(int64_t mono_ns);
void echo_report_session(const struct echo_report *r, const char *host,
                         const struct echo_result *res, const struct echo_figures *fig);
/* The -J document of one session (the `end` record's data); caller owns it. */
cJSON *echo_session_doc(const char *host, const struct pk_addr *a,
                        int64_t start_wall_ns, const struct echo_result *res,
                        const struct echo_figures *fig, const char *error);
/* The document on stdout (-J, formatted) or as the `end` record
 * (--json-stream); deletes it. */
void echo_report_doc(const struct echo_report *r, cJSON *doc);
/* The `start` record: the envelope (addr NULL when not resolved). */
void echo_report_stream_start(const struct echo_report *r, const char *role, const char *host,
                              const struct pk_addr *a, int64_t start_wall_ns);
/* {min, avg, max, mdev, p50, p99} of throughput figures (EF_* order), nulls
 * when !ok; shared by the session and the sweep JSON. Caller owns it. */
cJSON *echo_json_tput(const double *t, int ok);

/* ---- client: plain echo ----------------------------------------------- */

void echo_report_plain_sending(const struct echo_report *r, const char *host,
                               const struct pk_addr *a, const char *msg);
void echo_report_plain_result(const struct echo_report *r, const char *host,
                              const struct pk_addr *a, const char *msg, const char *echo,
                              size_t len, int64_t rtt_ns, const char *error);

/* ---- client: sweep (echo_sweep_report.c) ------------------------------ */

/* What a sweep hands to its report at the end. */
struct echo_sweep_result {
	const struct echo_client_cfg *cfg;
	struct pk_addr peer;
	int64_t start_wall_ns;
	const struct echo_point *pts;   /* every (delay, size), delays outer */
	size_t npts;
	const struct echo_fit *fits;    /* one per delay */
	size_t nfits;
};

void echo_report_sweep_session(const struct echo_report *r, const struct echo_point *p,
                               unsigned session, const struct echo_result *res);
void echo_report_sweep(const struct echo_report *r, const struct echo_sweep_result *sr);
cJSON *echo_sweep_doc(const struct echo_sweep_result *sr, const char *error);
/* A sweep point done: a CSV row (--csv) or a `sample` record (seq = index
 * of the point) under --json-stream. */
void echo_report_sweep_point(const struct echo_report *r, const struct echo_point *p,
                             uint64_t index);
void echo_report_sweep_csv_header(const struct echo_report *r);
/* The point as a JSON object (server_delay_s, size_bytes, ... ); caller owns it. */
cJSON *echo_json_point(const struct echo_point *p);
/* The parts of that document, for the experiment's: the "summary" object
 * (mode, probes, repeat, window, points, fit; caller owns it) and the
 * samples appended to arr (each with "mode" when mode is not NULL). */
cJSON *echo_json_sweep_summary(const struct echo_sweep_result *sr);
void echo_json_sweep_samples(cJSON *arr, const struct echo_sweep_result *sr, const char *mode);
/* One fit as a line of text: the base latency, and the bandwidth 1/b with
 * its interval only when the slope is significant (echo_fit.h's rule),
 * else "size has no measurable effect on this path". Returns buf. */
char *echo_fit_text(const struct echo_fit *ft, char *buf, size_t cap);
/* The points as CSV into path ("-": stdout). 0 or -errno. */
int echo_report_sweep_csv(const char *path, const struct echo_point *pts, size_t npts);

#endif

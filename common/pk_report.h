/* pk_report: the writers every tool's *_report.c uses.
 *
 *  text  ping's summary lines, shared by the ping-like tools; a safe,
 *        bounded rendering of untrusted bytes for log lines.
 *  JSON  the shared document shape {"tool","version","target","start",
 *        "summary","samples"} built with cJSON; numbers that do not exist
 *        (no replies) are null, never 0.
 *  CSV   RFC 4180 quoting.
 *
 * cJSON objects returned here belong to the caller (cJSON_Delete, usually of
 * the whole document). Strings passed in are copied.
 */
#ifndef PK_REPORT_H
#define PK_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "pk_stats.h"

struct pk_addr;

/* Counters of a ping-like run, as its summary prints them. */
struct pk_ping_totals {
	uint64_t transmitted;
	uint64_t received;     /* replies within their timeout */
	uint64_t late;         /* replies after their timeout */
	uint64_t dups;
	uint64_t reordered;
	uint64_t longest_loss_run;
	int64_t elapsed_ns;
};

/* `<tool>: <message>` on stderr, after flushing stdout so that the error
 * stands after what was printed before it. Each tool names it once:
 * `#define ping_report_error(...) pk_report_error("udp-ping", __VA_ARGS__)`. */
void pk_report_error(const char *tool, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The totals of a sender's tracker; elapsed_ns from the caller. */
void pk_ping_totals_of(struct pk_ping_totals *out, const struct pk_seqtrack *t,
                       int64_t elapsed_ns);

/* Loss in percent: (transmitted - received) / transmitted; late replies are
 * losses (they missed their timeout). 0 when nothing was sent. */
double pk_loss_percent(const struct pk_ping_totals *t);

/* ping's closing block:
 *   --- TARGET WHAT statistics ---
 *   N packets transmitted, N received, X% packet loss, time Nms
 *   rtt min/avg/max/mdev = a/b/c/d ms
 *   rtt p50/p90/p99/p99.9 = a/b/c/d ms
 *   jitter J ms, longest loss run N, late N, duplicates N, reordered N
 *   loss 95% CI (Wilson) = lo%..hi% (N packets)
 * The rtt lines are left out when nothing was received. */
void pk_report_ping_summary(FILE *f, const char *target, const char *what,
                            const struct pk_ping_totals *t,
                            const struct pk_rtt_ms *r);

/* Renders untrusted bytes for a log line: printable ASCII as is, backslash
 * and quote escaped, other bytes as \xNN; at most `max` input bytes, then
 * "...". Always NUL-terminates out (cap > 0). Returns out. */
char *pk_escape(const void *buf, size_t len, size_t max, char *out, size_t cap);

/* {"tool", "version", "target": {"host","address","port"}, "start"}: the
 * shape before issue 12, kept until the tools use pk_json_envelope. */
cJSON *pk_json_doc(const char *tool, const char *host,
                   const struct pk_addr *addr, int64_t start_wall_ns);
/* Adds name: v, or name: null when !valid. Returns the item or NULL. */
cJSON *pk_json_num(cJSON *obj, const char *name, double v, int valid);
/* {"min","avg","max","mdev","p50","p90","p99","p999","jitter"} in ms;
 * null members when nothing was measured. */
cJSON *pk_json_rtt(const struct pk_rtt_ms *r);
/* Adds the shared summary counters of a ping-like run to obj:
 * transmitted, received, lost, late, duplicates, reordered, loss_percent,
 * loss_ci95 [lo, hi] (percent), longest_loss_run, rtt_ms {...}. */
void pk_json_ping_summary(cJSON *obj, const struct pk_ping_totals *t,
                          const struct pk_rtt_ms *r);
/* Prints the document (formatted) and a newline; compact when `oneline`.
 * 0 or -ENOMEM / -EIO. */
int pk_json_print(FILE *f, const cJSON *doc, int oneline);

/* ---- the shared contract of issue 12 (docs/OUTPUT.md) ---- */

#define PK_SCHEMA_VERSION 1

/* The envelope of every -J document and of the stream's "start" data:
 * {"schema_version": 1, "tool", "version": "0.2.0", "role",
 *  "target": {"host", "address", "port"} (left out when host and addr are
 *  both NULL; each member only when known), "start": ISO 8601 UTC}.
 * role may be NULL (vxlan-agent has none): left out. */
cJSON *pk_json_envelope(const char *tool, const char *role, const char *host,
                        const struct pk_addr *addr, int64_t start_wall_ns);
/* Adds name: "2026-11-21T12:00:00.123456Z" (wall ns). */
cJSON *pk_json_time(cJSON *obj, const char *name, int64_t wall_ns);
/* A new sample {"seq": seq, "time": ISO of wall_ns}; the tool adds its
 * unit-suffixed numbers (rtt_ms, ...). */
cJSON *pk_json_sample(uint64_t seq, int64_t wall_ns);
/* One JSON Lines record {"event": event, "data": data} on f, compact, then
 * pk_out_flush (a closed pipe ends the program with SIGPIPE). data is not
 * taken (the caller still owns it; NULL prints null). event is a plain
 * name ([a-z_]+). 0, or -ENOMEM / -EIO. */
int pk_json_stream_event(FILE *f, const char *event, const cJSON *data);

/* ping's reply line, one for the three clients:
 *   "<bytes> bytes from <addr>: seq=<seq>[ ttl=<ttl>] time=<ms> ms[ <extra>]"
 * ttl < 0: left out; rtt with 3 decimals; extra (NULL: none) is the
 * tool's own fields ("diff=0.012 ms", "(DUP!)", "(late)"). Into buf;
 * returns buf (truncated to cap, always NUL-terminated). Pure. */
char *pk_fmt_reply(char *buf, size_t cap, size_t bytes, const char *addr, uint64_t seq,
                   int ttl, double rtt_ms, const char *extra);

/* ping's SIGQUIT line (printed on stderr; the run goes on):
 *   "--- interim: 10 sent, 9 received, 10% loss, rtt min/avg/max/mdev =
 *    0.041/0.052/0.090/0.012 ms"   (one line; no rtt part when r->n == 0)
 * Loss is pk_loss_percent with %g. Pure. */
char *pk_fmt_interim(char *buf, size_t cap, const struct pk_ping_totals *t,
                     const struct pk_rtt_ms *r);
/* pk_fmt_interim and a newline on f (stderr), flushed. */
void pk_report_interim(FILE *f, const struct pk_ping_totals *t, const struct pk_rtt_ms *r);

/* CSV: a field, quoted when it holds a comma, quote, CR or LF. */
void pk_csv_str(FILE *f, const char *s, int last);
/* A number with %.6g, or an empty field when !valid. */
void pk_csv_num(FILE *f, double v, int valid, int last);
void pk_csv_uint(FILE *f, uint64_t v, int last);
void pk_csv_header(FILE *f, const char *const *cols, size_t n);

#endif

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

/* {"tool", "version", "target": {"host","address","port"}, "start"}. */
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

/* CSV: a field, quoted when it holds a comma, quote, CR or LF. */
void pk_csv_str(FILE *f, const char *s, int last);
/* A number with %.6g, or an empty field when !valid. */
void pk_csv_num(FILE *f, double v, int valid, int last);
void pk_csv_uint(FILE *f, uint64_t v, int last);
void pk_csv_header(FILE *f, const char *const *cols, size_t n);

#endif

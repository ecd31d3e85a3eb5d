/* pk_http: a small HTTP/1.1 endpoint for Prometheus' scrapes: GET and HEAD of
 * /metrics, one request per connection (the answer says "Connection: close").
 * The body is what a render callback returns, served as the text exposition
 * format (Content-Type: text/plain; version=0.0.4; charset=utf-8), gzipped
 * (Content-Encoding: gzip, level 1) when the request's Accept-Encoding
 * takes gzip, as Prometheus' does: a fleet agent's 110 KiB of 1391 series
 * cross a slow overlay as about 14 KiB.
 *
 * Written for hostile clients (issue 10, moved here from vxlan-agent in
 * issue 13 so that every server can use it):
 *  - at most max_conns connections at once; one more is accepted and closed
 *    at once with a short 503 (a "short close");
 *  - the endpoint never takes the last PK_HTTP_FD_RESERVE descriptors of
 *    RLIMIT_NOFILE (an accepted descriptor numbered that high is closed at
 *    once), so the program's other files and sockets keep theirs;
 *  - when accept fails for want of descriptors or memory (EMFILE, ENFILE,
 *    ENOBUFS, ENOMEM) the listener is disabled for a back-off (100 ms,
 *    doubled while it goes on, at most 2 s) instead of being polled in a
 *    loop; one line on stderr per episode ("<prog>: metrics endpoint: ..."),
 *    not per attempt;
 *  - timeout_ns is a deadline for the whole exchange, from accept to the
 *    last byte of the answer written: a client that sends one byte at a time
 *    (slowloris) or never reads is closed at it;
 *  - a request head is at most PK_HTTP_HEAD_MAX bytes (else 431); a body is
 *    never read. Other methods: 405; other paths: 404; a malformed request
 *    line: 400; render returning NULL: 500.
 */
#ifndef PK_HTTP_H
#define PK_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct pk_http;

#define PK_HTTP_HEAD_MAX 8192
#define PK_HTTP_FD_RESERVE 32

/* The body of one /metrics answer: a malloc'd NUL-terminated text that
 * pk_http frees, or NULL (the client gets a 500). Called once per GET or
 * HEAD of /metrics, on the event loop's thread. */
typedef char *pk_http_render_fn(void *arg);

/* Connections since start. */
struct pk_http_stats {
	uint64_t accepted;       /* connections taken */
	uint64_t served;         /* /metrics answers (200) */
	uint64_t refused;        /* closed at once: over the cap, or descriptors short */
	uint64_t timed_out;      /* closed at the deadline */
	uint64_t backoffs;       /* accept paused: out of descriptors or memory */
};

/* Listens on addr:port (addr a numeric address or a name; port 0: any) on
 * base: at most max_conns connections at once, each closed timeout_ns after
 * its accept; /metrics answered with render(arg). 0 or -errno (or a
 * pk_resolve code for a bad addr); *h gets the endpoint (pk_http_stop it
 * also after a failure), *bound_port (if not NULL) the port bound.
 * Ignores SIGPIPE: a scraper that gives up mid-answer (Prometheus at its
 * scrape timeout closes, then the next write meets its reset) is an EPIPE
 * that closes that connection, never the death of the process. */
int pk_http_start(struct pk_http **h, struct event_base *base, const char *addr, int port,
                  size_t max_conns, int64_t timeout_ns, pk_http_render_fn *render, void *arg,
                  int *bound_port);
/* Its connection counts (all 0 for h NULL). */
void pk_http_stats(const struct pk_http *h, struct pk_http_stats *st);
/* Closes every connection and the listener, frees *h (NULL: nothing) and
 * sets it to NULL. */
void pk_http_stop(struct pk_http **h);

#endif

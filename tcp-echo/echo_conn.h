/* echo_conn: one server connection, the session state machine around
 * echo_proto's: read, frame, answer each verdict, hold delayed echoes, end
 * (a closing verdict, EOF, idle timeout, error, the server's shutdown).
 *
 * The server loop (echo_server.c) accepts and owns the hub: what all the
 * connections of one server share (configuration, log, read buffer, the
 * delay timer, the partial-line budget, counters). Internal to tcp-echo.
 */
#ifndef ECHO_CONN_H
#define ECHO_CONN_H

#include <signal.h>

#include "echo.h"
#include "echo_report.h"
#include "echo_heap.h"
#include "echo_lines.h"
#include "echo_srcmap.h"

#define ECHO_SCRATCH_SIZE (256 * 1024)   /* one read */

struct event_base;
struct echo_conn;

struct echo_hub {
	const struct echo_server_cfg *cfg;
	struct echo_report rep;
	struct event_base *base;        /* not precise: see echo_server.c */
	char *scratch;                  /* ECHO_SCRATCH_SIZE bytes, every read lands here */
	struct echo_heap heap;          /* connections holding delayed echoes, by due time */
	int tfd;                        /* delay timerfd, armed at the heap's top */
	int64_t armed;                  /* its deadline, 0 = disarmed */
	struct echo_budget budget;      /* every byte held: lines, output, marks */
	struct echo_srcmap sources;     /* connections per source (address, /64) */
	struct echo_conn *conns;
	struct echo_server_stats st;
	int fast;                       /* the single-session fast path is on */
	volatile sig_atomic_t *woken;   /* set by SIGIO: a connection waits on the listener */
};

/* A connection on accepted socket fd, reading, with its idle timer; it owns
 * fd from here on. NULL when out of memory (the caller still owns fd).
 * Counts nothing in h->st or h->sources (the caller does, `source` counted
 * in h->sources; echo_conn's end counts its end, takes it off st.active and
 * its source's count). */
struct echo_conn *echo_conn_new(struct echo_hub *h, int fd, const struct pk_addr *peer,
                                uint64_t source);

/* The delay timerfd fired: sends the echoes that came due. */
void echo_hub_due(struct echo_hub *h);

/* Ends every connection (ECHO_END_SHUTDOWN), each with its log line. */
void echo_hub_close_all(struct echo_hub *h);

#endif

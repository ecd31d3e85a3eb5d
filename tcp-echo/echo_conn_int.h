/* echo_conn_int.h: a server connection's state, shared by echo_conn.c (its
 * life: reads, the fast path, output, timers) and echo_conn_lines.c (its
 * session: lines, verdicts, replies, the memory budget). Not for other
 * files: they see struct echo_conn only through echo_conn.h. */
#ifndef ECHO_CONN_INT_H
#define ECHO_CONN_INT_H

#include "echo_conn.h"
#include "echo_outq.h"

#include <sys/types.h>

#define OUT_LIMIT    (1024 * 1024)      /* output beyond this pauses reading */

struct event;

struct echo_conn {
	struct echo_hub *hub;
	struct echo_conn *prev, *next;
	int fd;
	struct pk_addr peer;
	struct event *ev_read, *ev_write, *ev_timer;
	size_t hpos;                    /* in hub->heap, keyed by the first held echo's due */
	struct echo_outq q;
	struct echo_partial part;
	struct echo_session sess;
	int64_t start_ns, last_ns;      /* last complete message or output taken */
	int64_t rx_ns;                  /* the last read's time (the fast path's gap) */
	uint64_t source;                /* pk_addr_source_hash of the peer */
	uint64_t bytes_in;
	uint64_t close_at;              /* output offset of the closing reply's end */
	unsigned closing : 1, lingering : 1, paused : 1, peer_eof : 1, fast_tmo : 1;
	unsigned writing : 1;           /* ev_write is added */
	enum echo_end end;
};

/* Queues an echo to go out at `due` (the delay heap and timerfd follow).
 * 0, -ENOBUFS or -ENOMEM. echo_conn.c. */
int echo_conn_queue(struct echo_conn *c, const void *p, size_t n, int64_t due, int64_t now);

/* Frames and answers every line in p[0..n). 0 or -1 (out of memory or
 * over the budget). echo_conn_lines.c. */
int echo_conn_feed(struct echo_conn *c, const char *p, size_t n, int64_t now);

/* The kept partial line is cut off (EOF, idle) or too long: answered as a
 * broken message. 0 or -ENOMEM. echo_conn_lines.c. */
int echo_conn_broken(struct echo_conn *c, int64_t now);

#endif

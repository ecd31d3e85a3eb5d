/* echo_client: the client's connection (echo_client_io.c) and one
 * measurement session (echo_client.c). Internal to tcp-echo (those two,
 * echo_run.c, echo_exp.c). */
#ifndef ECHO_CLIENT_H
#define ECHO_CLIENT_H

#include "echo.h"
#include "echo_match.h"
#include "echo_report.h"

/* Outcome of a client step; mapped to messages and exit codes by echo_run.c. */
enum echo_cstatus {
	ECHO_C_OK = 0,
	ECHO_C_404,          /* the server answered 404 (bad_line holds it) */
	ECHO_C_UNEXPECTED,   /* a line that is neither the echo nor a known reply */
	ECHO_C_CLOSED,       /* the server closed the connection early */
	ECHO_C_TIMEOUT,      /* no reply within -W (+ the server delay) */
	ECHO_C_CONNECT,      /* connect failed (err) */
	ECHO_C_STOPPED,      /* SIGINT / SIGTERM */
	ECHO_C_SYS,          /* resolver, memory, socket error (err) */
	ECHO_C_SOCKOPT,      /* -I / -t / -Q could not be applied (err, why) */
};

/* A connected client socket and its read buffer (owned; echo_conn_close
 * frees both). */
struct echo_conn_c {
	int fd;
	struct pk_addr addr;
	char *rbuf;
	size_t roff, rlen, rcap, scan;
	int64_t rx_ns;         /* time of the last recv() */
	int64_t tmo_ns;        /* the socket's SO_RCVTIMEO / SO_SNDTIMEO */
	int err;               /* -errno or resolver code of the last failure */
	const char *why;       /* ECHO_C_SOCKOPT: pk_sockopt_apply's words */
	const char *bad_line;  /* the offending server line (in rbuf) */
	size_t bad_len;
};

int echo_conn_open(struct echo_conn_c *c, const struct echo_client_cfg *cfg);
void echo_conn_close(struct echo_conn_c *c);
/* Both end by `deadline` (monotonic ns) at the latest: ECHO_C_TIMEOUT. */
int echo_send_all(struct echo_conn_c *c, const char *p, size_t n, int64_t deadline);
int echo_read_line(struct echo_conn_c *c, size_t max, const char **line, size_t *len,
                   int64_t *t_ns, int64_t deadline);
/* Up to cap bytes of what the server sent, by `deadline`: bytes read
 * (> 0), or an ECHO_C_* status negated (-ECHO_C_CLOSED at the end). */
ssize_t echo_recv_some(struct echo_conn_c *c, char *buf, size_t cap, int64_t deadline);
/* A probe's send: one send() that must not block (*fresh = 1 when it took
 * all n bytes, so no time passed waiting); otherwise the rest as
 * echo_send_all. */
int echo_send_probe(struct echo_conn_c *c, const char *p, size_t n, int64_t deadline,
                    int *fresh);
/* Reads the echo m awaits in one pass (echo_match.h), complete by
 * `deadline`: ECHO_C_OK with *line NULL when it came (consumed; *t_ns the
 * time after the recv() that completed it). At the first byte that differs
 * (or with a payload m cannot use) it is echo_read_line's: *line is the
 * line read, for the caller's check. `fresh`: the probe's send has just
 * returned without blocking, so the first recv() needs no look at the
 * clock (the time left is the whole -W, give or take a send). */
int echo_read_echo(struct echo_conn_c *c, const struct echo_match *m, size_t max,
                   const char **line, size_t *len, int64_t *t_ns, int64_t deadline, int fresh);
/* echo_client_io.c's helpers for echo_client.c's pipelined reads: */
void echo_set_timeouts(struct echo_conn_c *c, int64_t ns);   /* SO_RCVTIMEO/SO_SNDTIMEO */
int echo_io_status(struct echo_conn_c *c, ssize_t n);        /* a failed send/recv's status */
int echo_reserve(struct echo_conn_c *c, size_t max);         /* room for max more bytes */
/* A complete line already buffered? Sets *line and *len and consumes it. */
int echo_buffered_line(struct echo_conn_c *c, const char **line, size_t *len);
/* One session on an open connection: res->setup and res->window say what;
 * fills the rest (res->rtt_ns is allocated, the caller frees it). */
int echo_session(struct echo_conn_c *c, const struct echo_client_cfg *cfg,
                 struct echo_result *res, const struct echo_report *rep);

/* echo_run.c, shared with the experiment (echo_exp.c): */
/* The message for an outcome (why, "" when none); returns the exit code
 * (0, 1 for what the server did, 2 for a system error). res may be NULL. */
int echo_outcome(const struct echo_client_cfg *cfg, const struct echo_conn_c *c, int rc,
                 const struct echo_result *res, char *why, size_t cap);
/* Prints it: a 404 as it came, anything else as an error line. */
void echo_say_failure(const struct echo_report *rep, int rc, const char *why);
/* Appends a session's RTTs to its sweep point; adds its span. 0 or -ENOMEM. */
int echo_point_add(struct echo_point *p, const struct echo_result *res, int64_t *span);

#endif

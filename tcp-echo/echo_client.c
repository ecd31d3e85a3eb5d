/* tcp-echo client: one measurement session (setup, probes, termination).
 *
 * Stop-and-wait (--window 1, the assignment's) uses a blocking socket with
 * SO_RCVTIMEO/SO_SNDTIMEO, exactly the calls a minimal ping-pong makes, so
 * the tool adds nothing to the RTT it measures. --window N > 1 keeps up to
 * N probes in flight on a non-blocking socket driven by poll().
 *
 * RTT of a probe: the monotonic time just before its first byte is handed
 * to send() to just after the recv() that returns the last byte of its echo.
 *
 * -W is a deadline per reply (issue 10): a reply (the echo of a probe, a
 * 200) must be complete within -W plus the server delay of the probe's
 * first byte sent (pipelined: of that or the previous echo, whichever is
 * later); bytes that trickle in do not extend it. A blocking call runs on
 * the socket's own timeout only while that fits in what is left (the hot
 * path: one send, one recv); past that, poll() with the time left first.
 */
#include "echo_client.h"
#include "pk_clock.h"
#include "pk_sockopt.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* SIGINT/SIGTERM of this run (EINTR then means stop; SIGQUIT's EINTR does
 * not: the call is retried). */
static volatile sig_atomic_t *run_stop;

static int stopped(void)
{
	return run_stop != NULL && *run_stop;
}

static int64_t wait_ns(const struct echo_client_cfg *cfg, const struct echo_setup *s)
{
	return cfg->timeout_ns + (s ? s->delay_ns : 0);
}

static void set_timeouts(struct echo_conn_c *c, int64_t ns)
{
	struct timeval tv = { .tv_sec = ns / PK_NS_PER_S,
	                      .tv_usec = (ns % PK_NS_PER_S) / 1000 };
	if (tv.tv_sec == 0 && tv.tv_usec == 0)
		tv.tv_usec = 1;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	c->tmo_ns = (int64_t)tv.tv_sec * PK_NS_PER_S + (int64_t)tv.tv_usec * 1000;
}

/* Before a blocking call: ECHO_C_OK when it may block on the socket's own
 * timeout (that ends by the deadline, give or take 1/16 of it and at most
 * 10 ms: the send before a recv) or the socket is ready within the time
 * left; ECHO_C_TIMEOUT past the deadline. */
static int before_io(struct echo_conn_c *c, short events, int64_t deadline)
{
	int64_t left = deadline - pk_now_ns();
	int64_t slack = c->tmo_ns / 16 < 10 * PK_NS_PER_MS ? c->tmo_ns / 16 : 10 * PK_NS_PER_MS;
	struct pollfd p = { .fd = c->fd, .events = events };
	int r;

	if (left <= 0)
		return c->err = -ETIMEDOUT, ECHO_C_TIMEOUT;
	if (c->tmo_ns <= left + slack)
		return ECHO_C_OK;
	while ((r = poll(&p, 1, (int)((left + PK_NS_PER_MS - 1) / PK_NS_PER_MS))) < 0 &&
	       errno == EINTR && !stopped())
		left = deadline - pk_now_ns() > 0 ? deadline - pk_now_ns() : 0;
	if (r > 0)
		return ECHO_C_OK;
	if (r == 0)
		return c->err = -ETIMEDOUT, ECHO_C_TIMEOUT;
	c->err = -errno;
	return errno == EINTR ? ECHO_C_STOPPED : ECHO_C_SYS;
}

int echo_conn_open(struct echo_conn_c *c, const struct echo_client_cfg *cfg)
{
	struct pollfd p;
	int one = 1, rc, ms = (int)(cfg->timeout_ns / PK_NS_PER_MS);

	const char *why = NULL;

	memset(c, 0, sizeof *c);
	c->fd = -1;
	run_stop = cfg->stop;
	rc = pk_resolve(cfg->host, cfg->port, cfg->family, SOCK_STREAM, 0, &c->addr);
	if (rc < 0)
		return c->err = rc, ECHO_C_SYS;
	/* -I / -t / -Q on the socket before connect (pk_tcp_connect does both) */
	if ((c->fd = pk_socket(c->addr.ss.ss_family, SOCK_STREAM)) < 0)
		return c->err = c->fd, c->fd = -1, ECHO_C_SYS;
	if ((rc = pk_sockopt_apply(c->fd, c->addr.ss.ss_family, &cfg->so, &why)) != 0) {
		c->err = rc;
		c->why = why;
		return ECHO_C_SOCKOPT;
	}
	if (connect(c->fd, (const struct sockaddr *)&c->addr.ss, c->addr.len) != 0 &&
	    errno != EINPROGRESS)
		return c->err = -errno, ECHO_C_CONNECT;
	p = (struct pollfd){ .fd = c->fd, .events = POLLOUT };
	while ((rc = poll(&p, 1, ms > 0 ? ms : 1)) < 0 && errno == EINTR && !stopped())
		;
	if (rc == 0)
		return c->err = -ETIMEDOUT, ECHO_C_CONNECT;
	if (rc < 0)
		return c->err = -errno, errno == EINTR ? ECHO_C_STOPPED : ECHO_C_SYS;
	if ((rc = pk_sock_error(c->fd)) != 0)
		return c->err = rc, ECHO_C_CONNECT;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	pk_set_nonblock(c->fd, 0);
	set_timeouts(c, cfg->timeout_ns);
	c->rcap = 64 * 1024;
	c->rbuf = malloc(c->rcap);
	return c->rbuf ? ECHO_C_OK : (c->err = -ENOMEM, ECHO_C_SYS);
}

void echo_conn_close(struct echo_conn_c *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->rbuf);
	c->fd = -1;
	c->rbuf = NULL;
}

/* Maps a failed send/recv to a status. */
static int io_status(struct echo_conn_c *c, ssize_t n)
{
	if (n == 0)
		return ECHO_C_CLOSED;
	c->err = -errno;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return ECHO_C_TIMEOUT;
	if (errno == EINTR)
		return ECHO_C_STOPPED;
	if (errno == ECONNRESET || errno == EPIPE)
		return ECHO_C_CLOSED;
	return ECHO_C_SYS;
}

int echo_send_all(struct echo_conn_c *c, const char *p, size_t n, int64_t deadline)
{
	while (n > 0) {
		int rc = before_io(c, POLLOUT, deadline);
		if (rc != ECHO_C_OK)
			return rc;
		ssize_t k;
		while ((k = send(c->fd, p, n, MSG_NOSIGNAL)) < 0 && errno == EINTR && !stopped())
			;
		if (k <= 0)
			return io_status(c, k < 0 ? -1 : 0);
		p += k;
		n -= (size_t)k;
	}
	return ECHO_C_OK;
}

ssize_t echo_recv_some(struct echo_conn_c *c, char *buf, size_t cap, int64_t deadline)
{
	int rc = before_io(c, POLLIN, deadline);
	ssize_t n;

	if (rc != ECHO_C_OK)
		return -rc;
	while ((n = recv(c->fd, buf, cap, 0)) < 0 && errno == EINTR && !stopped())
		;
	return n > 0 ? n : -io_status(c, n);
}

/* Drops consumed bytes from the front of the read buffer. */
static void compact(struct echo_conn_c *c)
{
	if (c->roff == 0)
		return;
	memmove(c->rbuf, c->rbuf + c->roff, c->rlen - c->roff);
	c->rlen -= c->roff;
	c->scan = c->scan > c->roff ? c->scan - c->roff : 0;
	c->roff = 0;
}

/* Makes room to read up to `max` more bytes; compacts only when the tail
 * is short, so pipelined reads rarely move data. */
static int reserve(struct echo_conn_c *c, size_t max)
{
	if (c->rcap - c->rlen >= max)
		return 0;
	compact(c);
	if (c->rcap - c->rlen >= max)
		return 0;
	size_t ncap = c->rcap * 2 > c->rlen + max ? c->rcap * 2 : c->rlen + max;
	char *b = realloc(c->rbuf, ncap);
	if (b == NULL)
		return -ENOMEM;
	c->rbuf = b;
	c->rcap = ncap;
	return 0;
}

/* A complete line already buffered? Sets *line and *len and consumes it. */
static int buffered_line(struct echo_conn_c *c, const char **line, size_t *len)
{
	char *nl = memchr(c->rbuf + c->scan, '\n', c->rlen - c->scan);

	if (nl == NULL) {
		c->scan = c->rlen;
		return 0;
	}
	*line = c->rbuf + c->roff;
	*len = (size_t)(nl - *line);
	c->roff = c->scan = (size_t)(nl - c->rbuf) + 1;
	return 1;
}

/* Reads one line of at most max bytes, complete by `deadline`. *t_ns: the
 * time just after the recv() that completed it. The line stays valid until
 * the next read. */
int echo_read_line(struct echo_conn_c *c, size_t max, const char **line, size_t *len,
                   int64_t *t_ns, int64_t deadline)
{
	for (;;) {
		int rc;

		if (buffered_line(c, line, len)) {
			if (t_ns)
				*t_ns = c->rx_ns;
			return *len > max ? ECHO_C_UNEXPECTED : ECHO_C_OK;
		}
		if (c->rlen - c->roff > max)
			return ECHO_C_UNEXPECTED;   /* longer than any valid reply */
		if (reserve(c, max + 1) != 0)
			return c->err = -ENOMEM, ECHO_C_SYS;
		if ((rc = before_io(c, POLLIN, deadline)) != ECHO_C_OK)
			return rc;
		ssize_t n;
		while ((n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0)) < 0 &&
		       errno == EINTR && !stopped())
			;
		c->rx_ns = pk_now_ns();
		if (n <= 0)
			return io_status(c, n);
		c->rlen += (size_t)n;
	}
}

/* Checks an echo against what probe `seq` sent: `sent` holds "m <payload>"
 * (the seq suffix may be another probe's). One pass over the payload. */
static int check_echo(const char *line, size_t len, const char *sent, size_t size,
                      uint64_t seq)
{
	char tail[32];
	size_t tlen = echo_probe_len(size, seq) - 1 - (2 + size);

	tail[0] = 'm';                           /* echo_fmt_probe_seq needs the frame */
	if (len == 2 + size + tlen && memcmp(line, sent, 2 + size) == 0 &&
	    echo_fmt_probe_seq(tail, sizeof tail, 0, seq) > 0 &&
	    memcmp(line + 2 + size, tail + 2, tlen) == 0)
		return ECHO_C_OK;
	return echo_parse_reply(line, len) == ECHO_R_OTHER ? ECHO_C_UNEXPECTED : ECHO_C_404;
}

static int stop_and_wait(struct echo_conn_c *c, const struct echo_client_cfg *cfg,
                         struct echo_result *res, char *linebuf, const char *payload,
                         const struct echo_report *rep)
{
	const struct echo_setup *s = &res->setup;
	int64_t wait = wait_ns(cfg, s);

	size_t cap = echo_probe_len(s->size, s->probes);

	echo_fmt_probe(linebuf, cap, payload, s->size, 1);
	for (uint64_t seq = 1; seq <= s->probes; seq++) {
		int n = echo_fmt_probe_seq(linebuf, cap, s->size, seq), rc;
		const char *line;
		size_t len;
		int64_t t0, t1;

		if (*cfg->stop)
			return ECHO_C_STOPPED;
		if (cfg->quit != NULL && *cfg->quit) {
			*cfg->quit = 0;
			echo_report_client_interim(rep, res);
		}
		t0 = pk_now_ns();
		if (seq == 1)
			res->first_send_ns = t0;
		if ((rc = echo_send_all(c, linebuf, (size_t)n, t0 + wait)) != ECHO_C_OK)
			return rc;
		res->sent++;
		rc = echo_read_line(c, (size_t)n + 64, &line, &len, &t1, t0 + wait);
		if (rc != ECHO_C_OK)
			return rc;
		if ((rc = check_echo(line, len, linebuf, s->size, seq)) != ECHO_C_OK) {
			c->bad_line = line;
			c->bad_len = len;
			return rc;
		}
		res->t0_ns[res->echoed] = t0;
		res->rtt_ns[res->echoed++] = t1 - t0;
		res->last_echo_ns = t1;
		echo_report_probe(rep, &c->addr, s->size, seq, t1 - t0, t0);
	}
	return ECHO_C_OK;
}

/* Reads what is there (non-blocking) and takes every complete echo. */
static int take_echoes(struct echo_conn_c *c, struct echo_result *res, int64_t *sent_at,
                       const char *linebuf, const struct echo_report *rep, size_t maxline)
{
	const char *line;
	size_t len;
	ssize_t n;
	int rc;

	if (reserve(c, maxline + 1 > 256 * 1024 ? maxline + 1 : 256 * 1024) != 0)
		return c->err = -ENOMEM, ECHO_C_SYS;
	n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, MSG_DONTWAIT);
	c->rx_ns = pk_now_ns();
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return ECHO_C_OK;
	if (n <= 0)
		return io_status(c, n);
	c->rlen += (size_t)n;
	while (buffered_line(c, &line, &len)) {
		uint64_t seq = res->echoed + 1;
		if (seq > res->sent || (rc = check_echo(line, len, linebuf, res->setup.size, seq)) != ECHO_C_OK) {
			c->bad_line = line;
			c->bad_len = len;
			return seq > res->sent ? (echo_parse_reply(line, len) == ECHO_R_OTHER ?
			                          ECHO_C_UNEXPECTED : ECHO_C_404) : rc;
		}
		res->t0_ns[res->echoed] = sent_at[seq - 1];
		res->rtt_ns[res->echoed++] = c->rx_ns - sent_at[seq - 1];
		res->last_echo_ns = c->rx_ns;
		echo_report_probe(rep, &c->addr, res->setup.size, seq, c->rx_ns - sent_at[seq - 1],
		                  sent_at[seq - 1]);
	}
	if (c->rlen - c->roff > maxline)
		return ECHO_C_UNEXPECTED;
	return ECHO_C_OK;
}

static int pipelined(struct echo_conn_c *c, const struct echo_client_cfg *cfg,
                     struct echo_result *res, char *linebuf, const char *payload,
                     const struct echo_report *rep)
{
	const struct echo_setup *s = &res->setup;
	size_t maxline = echo_probe_len(s->size, s->probes), off = 0, len = 0;
	int64_t *sent_at = malloc(s->probes * sizeof *sent_at);
	int64_t wait = wait_ns(cfg, s), last = 0;   /* last: when the last echo came */
	int rc = ECHO_C_OK;

	if (sent_at == NULL)
		return c->err = -ENOMEM, ECHO_C_SYS;
	echo_fmt_probe(linebuf, maxline, payload, s->size, 1);
	while (res->echoed < s->probes && rc == ECHO_C_OK) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int progress = 0;

		if (*cfg->stop) {
			rc = ECHO_C_STOPPED;
			break;
		}
		if (cfg->quit != NULL && *cfg->quit) {
			*cfg->quit = 0;
			echo_report_client_interim(rep, res);
		}
		if (off == len && res->sent < s->probes && res->sent - res->echoed < cfg->window) {
			len = (size_t)echo_fmt_probe_seq(linebuf, maxline, s->size, res->sent + 1);
			off = 0;
			sent_at[res->sent] = pk_now_ns();
			if (res->sent == 0)
				res->first_send_ns = sent_at[0];
			res->sent++;
		}
		if (off < len) {
			ssize_t k = send(c->fd, linebuf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (k > 0) {
				off += (size_t)k;
				progress = 1;
			} else if (!(k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) {
				rc = io_status(c, k < 0 ? -1 : 0);
				break;
			}
		}
		uint64_t before = res->echoed;
		if ((rc = take_echoes(c, res, sent_at, linebuf, rep, maxline)) != ECHO_C_OK)
			break;
		if (res->echoed != before)
			last = c->rx_ns;
		/* the next echo is due by -W after its probe or the echo before */
		int64_t due = (res->echoed < res->sent && sent_at[res->echoed] > last
		               ? sent_at[res->echoed] : last) + wait, left = due - pk_now_ns();
		if (left <= 0) {
			c->err = -ETIMEDOUT;
			rc = ECHO_C_TIMEOUT;
			break;
		}
		if (progress || res->echoed != before)
			continue;
		if (off < len)
			p.events |= POLLOUT;
		int r = poll(&p, 1, (int)((left + PK_NS_PER_MS - 1) / PK_NS_PER_MS));
		if (r == 0)
			rc = ECHO_C_TIMEOUT;
		else if (r < 0 && errno == EINTR)
			rc = stopped() ? ECHO_C_STOPPED : ECHO_C_OK;
		else if (r < 0)
			{ c->err = -errno; rc = ECHO_C_SYS; }
	}
	free(sent_at);
	return rc;
}

/* Sends a line and reads the server's one-line answer, within `wait`. A
 * server that closed before taking the line may still have said why (a
 * refusal): that line is read. */
static int exchange(struct echo_conn_c *c, const char *msg, size_t n,
                    enum echo_reply want, const struct echo_report *rep, int64_t wait)
{
	const char *line;
	size_t len;
	int64_t deadline = pk_now_ns() + wait;
	int rc = echo_send_all(c, msg, n, deadline);

	if (rc == ECHO_C_OK || rc == ECHO_C_CLOSED) {
		int r = echo_read_line(c, 256, &line, &len, NULL, deadline);
		if (rc == ECHO_C_OK || (r == ECHO_C_OK && echo_parse_reply(line, len) != ECHO_R_OTHER))
			rc = r;
	}
	if (rc != ECHO_C_OK)
		return rc;
	if (echo_parse_reply(line, len) != want) {
		c->bad_line = line;
		c->bad_len = len;
		return echo_parse_reply(line, len) == ECHO_R_OTHER ? ECHO_C_UNEXPECTED : ECHO_C_404;
	}
	echo_report_server_line(rep, line, len);
	return ECHO_C_OK;
}

int echo_session(struct echo_conn_c *c, const struct echo_client_cfg *cfg,
                 struct echo_result *res, const struct echo_report *rep)
{
	const struct echo_setup *s = &res->setup;
	size_t maxline = echo_probe_len(s->size, s->probes);
	char setup[ECHO_SETUP_MAX + 2];
	char *linebuf = malloc(maxline), *payload = malloc(s->size);
	int rc, n = echo_fmt_setup(setup, sizeof setup, s);

	res->rtt_ns = malloc(2 * s->probes * sizeof *res->rtt_ns);
	res->t0_ns = res->rtt_ns ? res->rtt_ns + s->probes : NULL;
	res->start_ns = pk_now_ns();
	if (!linebuf || !payload || !res->rtt_ns || n < 0) {
		rc = ECHO_C_SYS;
		c->err = -ENOMEM;
		goto out;
	}
	echo_fill_payload(payload, s->size);
	set_timeouts(c, wait_ns(cfg, s));
	rc = exchange(c, setup, (size_t)n, ECHO_R_READY, rep, wait_ns(cfg, s));
	if (rc == ECHO_C_OK)
		rc = res->window <= 1 ? stop_and_wait(c, cfg, res, linebuf, payload, rep)
		                      : pipelined(c, cfg, res, linebuf, payload, rep);
	if (rc == ECHO_C_OK || (rc == ECHO_C_STOPPED && res->sent == res->echoed)) {
		/* a stop between probes still ends the session politely */
		int t = exchange(c, "t\n", 2, ECHO_R_CLOSING, rep, wait_ns(cfg, s));
		if (rc == ECHO_C_OK)
			rc = t;
	}
out:
	res->end_ns = pk_now_ns();
	free(linebuf);
	free(payload);
	return rc;
}

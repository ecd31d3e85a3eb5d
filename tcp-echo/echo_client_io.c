/* tcp-echo client: the connection and its I/O (echo_client.h): connect,
 * send, read lines, and read an echo in one pass (echo_read_echo).
 *
 * The socket is blocking with SO_RCVTIMEO/SO_SNDTIMEO, exactly the calls a
 * minimal ping-pong makes, so the tool adds nothing to the RTT it measures;
 * --window N > 1 (echo_client.c) passes MSG_DONTWAIT and polls.
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

void echo_set_timeouts(struct echo_conn_c *c, int64_t ns)
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
	echo_set_timeouts(c, cfg->timeout_ns);
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
int echo_io_status(struct echo_conn_c *c, ssize_t n)
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
			return echo_io_status(c, k < 0 ? -1 : 0);
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
	return n > 0 ? n : -echo_io_status(c, n);
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
int echo_reserve(struct echo_conn_c *c, size_t max)
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
int echo_buffered_line(struct echo_conn_c *c, const char **line, size_t *len)
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

/* One blocking recv() into the buffer's tail (its socket timeout bounds
 * it), stamped c->rx_ns. ECHO_C_OK or the status of the failure. */
static int recv_more(struct echo_conn_c *c)
{
	ssize_t n;

	while ((n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0)) < 0 &&
	       errno == EINTR && !stopped())
		;
	c->rx_ns = pk_now_ns();
	if (n <= 0)
		return echo_io_status(c, n);
	c->rlen += (size_t)n;
	return ECHO_C_OK;
}

/* Reads one line of at most max bytes, complete by `deadline`. *t_ns: the
 * time just after the recv() that completed it. The line stays valid until
 * the next read. */
int echo_read_line(struct echo_conn_c *c, size_t max, const char **line, size_t *len,
                   int64_t *t_ns, int64_t deadline)
{
	for (;;) {
		int rc;

		if (echo_buffered_line(c, line, len)) {
			if (t_ns)
				*t_ns = c->rx_ns;
			return *len > max ? ECHO_C_UNEXPECTED : ECHO_C_OK;
		}
		if (c->rlen - c->roff > max)
			return ECHO_C_UNEXPECTED;   /* longer than any valid reply */
		if (echo_reserve(c, max + 1) != 0)
			return c->err = -ENOMEM, ECHO_C_SYS;
		if ((rc = before_io(c, POLLIN, deadline)) != ECHO_C_OK ||
		    (rc = recv_more(c)) != ECHO_C_OK)
			return rc;
	}
}


int echo_send_probe(struct echo_conn_c *c, const char *p, size_t n, int64_t deadline,
                    int *fresh)
{
	ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

	*fresh = k == (ssize_t)n;
	if (*fresh)
		return ECHO_C_OK;
	if (k < 0) {
		if (errno == EINTR ? stopped() : errno != EAGAIN && errno != EWOULDBLOCK)
			return echo_io_status(c, -1);
		k = 0;                  /* a full buffer (or SIGQUIT): the blocking path */
	}
	return echo_send_all(c, p + k, n - (size_t)k, deadline);
}

/* Consumes the n bytes at roff (an echo); an empty buffer starts over at
 * its front, where the next read lands in lines still in the cache. */
static void consume(struct echo_conn_c *c, size_t n)
{
	c->roff += n;
	if (c->roff == c->rlen)
		c->roff = c->rlen = 0;
	c->scan = c->roff;
}

int echo_read_echo(struct echo_conn_c *c, const struct echo_match *m, size_t max,
                   const char **line, size_t *len, int64_t *t_ns, int64_t deadline, int fresh)
{
	size_t ok = 0;                  /* bytes at roff equal to the echo */

	*line = NULL;
	while (m->usable) {
		size_t have = c->rlen - c->roff, upto = have < m->len ? have : m->len;
		int rc;

		if (upto > ok) {
			if (!echo_match_range(m, c->rbuf + c->roff + ok, ok, upto - ok))
				break;          /* not the echo: the general path decides */
			ok = upto;
		}
		if (ok == m->len) {
			consume(c, m->len);
			*len = m->len - 1;
			*t_ns = c->rx_ns;
			return ECHO_C_OK;
		}
		/* echo_read_line's steps, with the bytes matched for its search */
		if (have > max)
			return ECHO_C_UNEXPECTED;
		if (echo_reserve(c, max + 1) != 0)
			return c->err = -ENOMEM, ECHO_C_SYS;
		if (!fresh && (rc = before_io(c, POLLIN, deadline)) != ECHO_C_OK)
			return rc;
		fresh = 0;
		if ((rc = recv_more(c)) != ECHO_C_OK)
			return rc;
	}
	return echo_read_line(c, max, line, len, t_ns, deadline);
}

/* tcp-echo client: one measurement session (setup, probes, termination);
 * the connection and its reads and writes are echo_client_io.c's.
 *
 * Stop-and-wait (--window 1, the assignment's): per probe one send() and,
 * as a rule, one recv() on a blocking socket, the calls of a minimal
 * ping-pong; between the clock reads that bound the RTT, nothing else
 * (echo_send_probe, echo_read_echo). --window N > 1 keeps up to N probes in
 * flight on the same socket with MSG_DONTWAIT and poll().
 *
 * RTT of a probe: the monotonic time just before its first byte is handed
 * to send() to just after the recv() that returns the last byte of its echo.
 * An echo is compared with its probe as it is read, in one pass
 * (echo_match.h); a line that is not the echo is then judged as a line.
 */
#include "echo_client.h"
#include "pk_clock.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int64_t wait_ns(const struct echo_client_cfg *cfg, const struct echo_setup *s)
{
	return cfg->timeout_ns + (s ? s->delay_ns : 0);
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
                         struct echo_result *res, char *linebuf, struct echo_match *m,
                         const struct echo_report *rep)
{
	const struct echo_setup *s = &res->setup;
	int64_t wait = wait_ns(cfg, s);
	size_t cap = echo_probe_len(s->size, s->probes);

	echo_fmt_probe(linebuf, cap, m->payload, s->size, 1);
	for (uint64_t seq = 1; seq <= s->probes; seq++) {
		int n = echo_fmt_probe_seq(linebuf, cap, s->size, seq), rc, fresh;
		const char *line;
		size_t len;
		int64_t t0, t1;

		if (*cfg->stop)
			return ECHO_C_STOPPED;
		if (cfg->quit != NULL && *cfg->quit) {
			*cfg->quit = 0;
			echo_report_client_interim(rep, res);
		}
		echo_match_seq(m, seq);
		t0 = pk_now_ns();
		if (seq == 1)
			res->first_send_ns = t0;
		if ((rc = echo_send_probe(c, linebuf, (size_t)n, t0 + wait, &fresh)) != ECHO_C_OK)
			return rc;
		res->sent++;
		rc = echo_read_echo(c, m, (size_t)n + 64, &line, &len, &t1, t0 + wait, fresh);
		if (rc != ECHO_C_OK)
			return rc;
		if (line != NULL && (rc = check_echo(line, len, linebuf, s->size, seq)) != ECHO_C_OK) {
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

/* Records echo `seq`, which came at c->rx_ns. */
static void took(struct echo_conn_c *c, struct echo_result *res, const int64_t *sent_at,
                 uint64_t seq, const struct echo_report *rep)
{
	res->t0_ns[res->echoed] = sent_at[seq - 1];
	res->rtt_ns[res->echoed++] = c->rx_ns - sent_at[seq - 1];
	res->last_echo_ns = c->rx_ns;
	echo_report_probe(rep, &c->addr, res->setup.size, seq, c->rx_ns - sent_at[seq - 1],
	                  sent_at[seq - 1]);
}

/* Reads what is there (non-blocking) and takes every complete echo: first
 * those that match as they come (*mok: bytes at roff equal to the next
 * echo, kept across reads), then, from the first byte that differs, as
 * lines (echo_buffered_line and check_echo). */
static int take_echoes(struct echo_conn_c *c, struct echo_result *res, int64_t *sent_at,
                       const char *linebuf, struct echo_match *m, size_t *mok,
                       const struct echo_report *rep, size_t maxline)
{
	const char *line;
	size_t len;
	ssize_t n;
	int rc, as_lines = !m->usable;

	if (echo_reserve(c, maxline + 1 > 256 * 1024 ? maxline + 1 : 256 * 1024) != 0)
		return c->err = -ENOMEM, ECHO_C_SYS;
	n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return ECHO_C_OK;
	c->rx_ns = pk_now_ns();
	if (n <= 0)
		return echo_io_status(c, n);
	c->rlen += (size_t)n;
	while (!as_lines) {
		size_t have = c->rlen - c->roff;
		if (res->echoed == res->sent) {
			as_lines = have > 0;    /* more than was sent: judged as a line */
			break;
		}
		if (m->seq != res->echoed + 1)
			echo_match_seq(m, res->echoed + 1);
		if (have > m->len)
			have = m->len;
		if (have > *mok && !echo_match_range(m, c->rbuf + c->roff + *mok, *mok, have - *mok)) {
			as_lines = 1;
			break;
		}
		*mok = have;
		if (have < m->len)
			break;                  /* the rest of it is still to come */
		c->roff += m->len;
		c->scan = c->roff;
		*mok = 0;
		took(c, res, sent_at, res->echoed + 1, rep);
	}
	while (as_lines && echo_buffered_line(c, &line, &len)) {
		uint64_t seq = res->echoed + 1;
		if (seq > res->sent || (rc = check_echo(line, len, linebuf, res->setup.size, seq)) != ECHO_C_OK) {
			c->bad_line = line;
			c->bad_len = len;
			return seq > res->sent ? (echo_parse_reply(line, len) == ECHO_R_OTHER ?
			                          ECHO_C_UNEXPECTED : ECHO_C_404) : rc;
		}
		took(c, res, sent_at, seq, rep);
	}
	if (c->rlen - c->roff > maxline)
		return ECHO_C_UNEXPECTED;
	if (c->roff == c->rlen)
		c->roff = c->rlen = c->scan = 0;        /* the next read lands at the front */
	return ECHO_C_OK;
}

static int pipelined(struct echo_conn_c *c, const struct echo_client_cfg *cfg,
                     struct echo_result *res, char *linebuf, struct echo_match *m,
                     const struct echo_report *rep)
{
	const struct echo_setup *s = &res->setup;
	size_t maxline = echo_probe_len(s->size, s->probes), off = 0, len = 0, mok = 0;
	int64_t *sent_at = malloc(s->probes * sizeof *sent_at);
	int64_t wait = wait_ns(cfg, s), last = 0;   /* last: when the last echo came */
	int rc = ECHO_C_OK;

	if (sent_at == NULL)
		return c->err = -ENOMEM, ECHO_C_SYS;
	echo_fmt_probe(linebuf, maxline, m->payload, s->size, 1);
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
				rc = echo_io_status(c, k < 0 ? -1 : 0);
				break;
			}
		}
		uint64_t before = res->echoed;
		if ((rc = take_echoes(c, res, sent_at, linebuf, m, &mok, rep, maxline)) != ECHO_C_OK)
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
			rc = *cfg->stop ? ECHO_C_STOPPED : ECHO_C_OK;
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
	struct echo_match m;
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
	echo_match_init(&m, payload, s->size);
	echo_set_timeouts(c, wait_ns(cfg, s));
	rc = exchange(c, setup, (size_t)n, ECHO_R_READY, rep, wait_ns(cfg, s));
	if (rc == ECHO_C_OK)
		rc = res->window <= 1 ? stop_and_wait(c, cfg, res, linebuf, &m, rep)
		                      : pipelined(c, cfg, res, linebuf, &m, rep);
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

/* echo_conn_lines: a server connection's session (see echo_conn.c for the
 * connection's life): the lines of each read framed (a partial line kept by
 * echo_lines, no longer than the longest valid line of the phase), each
 * answered by echo_session_line()'s verdict: an echo (now, or queued for its
 * delay), a reply, a closing reply; over the memory budget, the 404 of the
 * phase. An echo due now is taken from the read buffer itself (no copy). */
#include "echo_conn_int.h"

#include <errno.h>

static enum echo_end end_of(enum echo_verdict v)
{
	switch (v) {
	case ECHO_V_BAD_SETUP: return ECHO_END_BAD_SETUP;
	case ECHO_V_BAD_PROBE: return ECHO_END_BAD_PROBE;
	case ECHO_V_BAD_TERM: return ECHO_END_BAD_TERM;
	default: return ECHO_END_TERM;
	}
}

/* Queues the reply of a verdict; a closing one closes. 0 or -ENOMEM. */
static int conn_reply(struct echo_conn *c, enum echo_verdict v, int64_t now)
{
	size_t rlen;
	const char *reply = echo_verdict_reply(v, &rlen);

	if (echo_outq_reply(&c->q, reply, rlen, now) != 0)
		return -ENOMEM;
	if (echo_verdict_closes(v)) {
		c->closing = 1;
		c->close_at = c->q.queued;
		c->end = end_of(v);
	}
	return 0;
}

/* The memory budget is full: the 404 of the phase (as for a message the
 * server cannot take), and the end is logged as the budget's. 0 or -ENOMEM. */
static int conn_over_budget(struct echo_conn *c, int first_byte, int64_t now)
{
	enum echo_verdict v = echo_session_broken(&c->sess, first_byte);

	echo_partial_drop(&c->part);
	if (conn_reply(c, v, now) != 0)
		return -ENOMEM;
	c->end = ECHO_END_MEMORY;
	return 0;
}

/* Acts on a verdict; line[len] is its "\n", in the read buffer when
 * `stable`. 0 or -ENOMEM. */
static int conn_verdict(struct echo_conn *c, enum echo_verdict v, const char *line,
                        size_t len, int stable, int64_t now)
{
	c->last_ns = now;               /* a complete message (or a broken one) */
	if (v == ECHO_V_ECHO) {
		int rc = c->sess.setup.delay_ns == 0
		         ? (stable ? echo_outq_now(&c->q, line, len + 1, 1, now)
		                   : echo_outq_now_send(&c->q, c->fd, line, len + 1, now))
		         : echo_conn_queue(c, line, len + 1, now + c->sess.setup.delay_ns, now);
		if (rc == -ENOBUFS) {
			c->sess.echoed--;       /* counted by the session, never echoed */
			return conn_over_budget(c, 'm', now);
		}
		if (rc == 0)
			c->hub->st.probes++;
		return rc;
	}
	if (v == ECHO_V_READY)
		echo_report_setup(&c->hub->rep, &c->peer, &c->sess.setup);
	return conn_reply(c, v, now);
}

/* The kept partial line is cut off (EOF, idle) or too long: answered as a
 * broken message. 0 or -ENOMEM. */
int echo_conn_broken(struct echo_conn *c, int64_t now)
{
	enum echo_verdict v = echo_session_broken(&c->sess, echo_partial_first(&c->part));

	echo_partial_drop(&c->part);
	return conn_verdict(c, v, NULL, 0, 0, now);
}

/* An error of echo_lines: over the budget, the line is refused with the
 * 404 of its phase (0); out of memory ends the connection (-1). */
static int lines_failed(struct echo_conn *c, int rc, int first_byte, int64_t now)
{
	if (rc == -ENOBUFS && conn_over_budget(c, first_byte, now) == 0)
		return 0;
	return -1;
}

/* Completes a partial line with the start of p; returns bytes used or -1
 * (out of memory or over the budget). */
static ssize_t feed_partial(struct echo_conn *c, const char *p, size_t n, size_t max,
                            int64_t now)
{
	struct echo_hub *h = c->hub;
	size_t used;
	int rc = echo_partial_feed(&c->part, &h->budget, p, n, max, &used);

	if (rc < 0)
		return lines_failed(c, rc, echo_partial_first(&c->part), now) == 0 ? (ssize_t)n : -1;
	if (rc == ECHO_PART_LONG && echo_conn_broken(c, now) != 0)
		return -1;
	if (rc == ECHO_PART_LINE) {
		const char *line = c->part.buf;
		size_t len = c->part.len - 1;
		enum echo_verdict v = echo_session_line(&c->sess, &h->cfg->lim, line, len);
		echo_partial_lend(&c->part, &h->budget);    /* its echo may take its place */
		rc = conn_verdict(c, v, line, len, 0, now);
		echo_partial_done(&c->part, &h->budget);
		if (rc != 0)
			return -1;
	}
	return (ssize_t)used;
}

/* Frames and answers every line in p[0..n). 0 or -1 (out of memory or
 * over the budget). */
int echo_conn_feed(struct echo_conn *c, const char *p, size_t n, int64_t now)
{
	while (n > 0 && c->sess.phase != ECHO_PH_DONE && !c->closing) {
		size_t max = echo_session_max_line(&c->sess), ll;
		ssize_t r;
		enum echo_verdict v;

		if (echo_partial_any(&c->part)) {
			if ((r = feed_partial(c, p, n, max, now)) < 0)
				return -1;
			p += r;
			n -= (size_t)r;
			continue;
		}
		r = echo_frame(p, n, max, &ll);
		if (r == ECHO_PARTIAL) {
			int rc = echo_partial_keep(&c->part, &c->hub->budget, p, n, max);
			return rc == 0 ? 0 : lines_failed(c, rc, (unsigned char)p[0], now);
		}
		if (r == ECHO_BAD) {
			v = echo_session_broken(&c->sess, (unsigned char)p[0]);
			return conn_verdict(c, v, NULL, 0, 0, now);
		}
		v = echo_session_line(&c->sess, &c->hub->cfg->lim, p, ll);
		if (conn_verdict(c, v, p, ll, 1, now) != 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}


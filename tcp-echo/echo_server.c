/* tcp-echo server: one libevent loop for every connection.
 *
 * Each connection reads into the server's scratch buffer, frames lines with
 * echo_frame() (a partial line is kept in a per-connection buffer no longer
 * than the longest valid line of the phase) and feeds them to the session
 * state machine of echo_proto. Replies and echoes go to an output evbuffer
 * in order; a delayed echo is held by a "mark" (end offset, due time) and
 * the bytes are released when their time comes, so a slow session never
 * holds up another. Output beyond OUT_LIMIT pauses reading.
 *
 * Timing: libevent's precise-timer base re-arms its timerfd on every loop
 * iteration (a syscall per event, ~1 us on each echo). So the base is a
 * plain one (idle and linger timers to the millisecond are fine) and the
 * delays run on a timerfd of our own, armed at the earliest due time of a
 * heap of connections and re-armed only when that time changes.
 *
 * A closing verdict sends its reply, then shuts down the write side and
 * drains input until EOF or LINGER_NS (so the reply is not lost to a reset).
 */
#include "echo.h"
#include "echo_heap.h"
#include "pk_clock.h"
#include "pk_loop.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#define SCRATCH_SIZE (256 * 1024)
#define OUT_LIMIT    (1024 * 1024)
#define LINGER_NS    (2 * PK_NS_PER_S)
#define ACCEPT_BURST 64

struct mark {
	uint64_t end;       /* absolute output offset */
	int64_t due;
};

struct echo_srv;

struct echo_conn {
	struct echo_srv *srv;
	struct echo_conn *prev, *next;
	int fd;
	struct pk_addr peer;
	struct event *ev_read, *ev_write, *ev_timer;
	size_t hpos;                    /* in srv->heap, keyed by the first mark's due */
	struct evbuffer *out;
	uint64_t queued, sent, ready;   /* absolute output offsets */
	struct mark *marks;
	size_t mhead, mcount, mcap;
	const char *dp;                 /* echoes to write straight from the read buffer */
	size_t dn;
	char *in;                       /* partial line */
	size_t in_len, in_cap;
	struct echo_session sess;
	int64_t start_ns, last_ns;
	uint64_t bytes_in;
	uint64_t close_at;
	unsigned closing : 1, lingering : 1, paused : 1, peer_eof : 1;
	enum echo_end end;
};

struct echo_srv {
	const struct echo_server_cfg *cfg;
	struct echo_report rep;
	struct event_base *base;
	int lfd;
	struct event *ev_accept, *ev_retry, *ev_int, *ev_term, *ev_tick;
	int tfd;                        /* delay timerfd */
	int64_t armed;                  /* its deadline, 0 = disarmed */
	struct echo_heap heap;
	size_t partial_bytes;           /* sum of every connection's in_cap */
	char *scratch;
	struct echo_conn *conns;
	struct echo_server_stats st;
};

static void conn_free(struct echo_conn *c, enum echo_end why)
{
	struct echo_srv *s = c->srv;
	struct echo_session_log l = {
		.peer = &c->peer, .plain = s->cfg->plain,
		.have_setup = c->sess.setup.size != 0,  /* set only by a valid setup */
		.setup = c->sess.setup, .bytes_in = c->bytes_in,
		.echoed = s->cfg->plain ? c->sent : c->sess.echoed,
		.end = c->closing ? c->end : why,
		.duration_ns = pk_now_ns() - c->start_ns,
	};

	s->st.ends[l.end]++;
	echo_report_session_end(&s->rep, &l);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->st.active--;
	event_free(c->ev_read);
	event_free(c->ev_write);
	event_free(c->ev_timer);
	echo_heap_remove(&s->heap, &c->hpos);
	evbuffer_free(c->out);
	close(c->fd);
	free(c->marks);
	s->partial_bytes -= c->in_cap;
	free(c->in);
	free(c);
}

/* Shuts down our side and drains the peer until EOF or LINGER_NS. */
static void conn_linger(struct echo_conn *c)
{
	if (c->peer_eof) {
		conn_free(c, c->end);
		return;
	}
	shutdown(c->fd, SHUT_WR);
	c->lingering = 1;
	event_del(c->ev_write);
	event_add(c->ev_read, NULL);
	pk_timer_at(c->ev_timer, pk_now_ns() + LINGER_NS);
}

/* Writes what is ready. Returns 0, or -1 when c was freed. */
static int conn_flush(struct echo_conn *c)
{
	while (c->sent < c->ready) {
		int n = evbuffer_write_atmost(c->out, c->fd, (ev_ssize_t)(c->ready - c->sent));
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			break;
		if (n <= 0) {
			conn_free(c, ECHO_END_ERROR);
			return -1;
		}
		c->sent += (uint64_t)n;
		c->last_ns = pk_now_ns();
	}
	if (c->sent < c->ready)
		event_add(c->ev_write, NULL);
	else
		event_del(c->ev_write);
	if (c->paused && !c->peer_eof && evbuffer_get_length(c->out) < OUT_LIMIT / 2) {
		c->paused = 0;
		event_add(c->ev_read, NULL);
	}
	if (c->closing && !c->lingering && c->sent == c->close_at) {
		int freed = c->peer_eof;
		conn_linger(c);
		return freed ? -1 : 0;
	}
	return 0;
}

/* Arms the delay timerfd at the heap's earliest due time, if it changed. */
static void srv_arm(struct echo_srv *s)
{
	const struct echo_heap_ent *top = echo_heap_top(&s->heap);
	int64_t want = top ? top->due : 0;
	struct itimerspec its = { .it_value = pk_ns_to_timespec(want > 0 ? want : 0) };

	if (want == s->armed)
		return;
	if (want > 0 && its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1;
	timerfd_settime(s->tfd, TFD_TIMER_ABSTIME, &its, NULL);
	s->armed = want;
}

static int conn_schedule(struct echo_conn *c, int64_t due)
{
	if (echo_heap_set(&c->srv->heap, c, &c->hpos, due) != 0)
		return -ENOMEM;
	srv_arm(c->srv);
	return 0;
}

static int mark_push(struct echo_conn *c, uint64_t end, int64_t due)
{
	if (c->mcount == c->mcap) {
		size_t ncap = c->mcap ? 2 * c->mcap : 8;
		struct mark *m = malloc(ncap * sizeof *m);
		if (m == NULL)
			return -ENOMEM;
		for (size_t i = 0; i < c->mcount; i++)
			m[i] = c->marks[(c->mhead + i) % c->mcap];
		free(c->marks);
		c->marks = m;
		c->mcap = ncap;
		c->mhead = 0;
	}
	c->marks[(c->mhead + c->mcount) % c->mcap] = (struct mark){ end, due };
	if (c->mcount++ == 0)
		return conn_schedule(c, due);
	return 0;
}

/* Echoes due now that sit back to back in the read buffer are written
 * straight from it at the end of the read (no copy, no allocation) while
 * nothing else is queued; anything queued after them moves them to the
 * evbuffer first, so the order holds. */
static int direct_spill(struct echo_conn *c)
{
	if (c->dn == 0)
		return 0;
	if (evbuffer_add(c->out, c->dp, c->dn) != 0)
		return -ENOMEM;
	c->queued += c->dn;
	c->ready = c->queued;
	c->dn = 0;
	return 0;
}

/* Writes the direct range; what the socket does not take is copied. 0, or
 * -1 on a socket error. */
static int direct_write(struct echo_conn *c)
{
	ssize_t k;

	if (c->dn == 0)
		return 0;
	k = send(c->fd, c->dp, c->dn, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		return -1;
	if (k > 0) {
		c->queued += (uint64_t)k;
		c->sent = c->ready = c->queued;
		c->dp += k;
		c->dn -= (size_t)k;
	}
	return direct_spill(c) == 0 ? 0 : -1;
}

/* Queues bytes to go out at `due` (after everything queued before). */
static int conn_queue(struct echo_conn *c, const void *p, size_t n, int64_t due, int64_t now)
{
	if (direct_spill(c) != 0 || evbuffer_add(c->out, p, n) != 0)
		return -ENOMEM;
	c->queued += n;
	if (c->mcount == 0 && due <= now) {
		c->ready = c->queued;
		return 0;
	}
	return mark_push(c, c->queued, due);
}

static void release_due(struct echo_conn *c, int64_t now)
{
	while (c->mcount > 0 && c->marks[c->mhead].due <= now) {
		c->ready = c->marks[c->mhead].end;
		c->mhead = (c->mhead + 1) % c->mcap;
		c->mcount--;
	}
	if (c->mcount > 0)
		conn_schedule(c, c->marks[c->mhead].due);   /* the heap has room for c */
	else
		echo_heap_remove(&c->srv->heap, &c->hpos);
}

static enum echo_end end_of(enum echo_verdict v)
{
	switch (v) {
	case ECHO_V_BAD_SETUP: return ECHO_END_BAD_SETUP;
	case ECHO_V_BAD_PROBE: return ECHO_END_BAD_PROBE;
	case ECHO_V_BAD_TERM: return ECHO_END_BAD_TERM;
	default: return ECHO_END_TERM;
	}
}

/* Bytes due now; `stable`: p is in the read buffer, valid to the end of
 * this read. */
static int conn_echo_now(struct echo_conn *c, const char *p, size_t n, int stable, int64_t now)
{
	if (c->dn > 0 && c->dp + c->dn == p) {
		c->dn += n;
		return 0;
	}
	if (stable && c->dn == 0 && c->mcount == 0 && c->sent == c->queued) {
		c->dp = p;
		c->dn = n;
		return 0;
	}
	return conn_queue(c, p, n, now, now);
}

/* Acts on a verdict; line[len] is its "\n", in the read buffer when
 * `stable`. 0 or -ENOMEM. */
static int conn_verdict(struct echo_conn *c, enum echo_verdict v, const char *line,
                        size_t len, int stable, int64_t now)
{
	size_t rlen;
	const char *reply = echo_verdict_reply(v, &rlen);

	if (v == ECHO_V_ECHO) {
		c->srv->st.probes++;
		if (c->sess.setup.delay_ns == 0)
			return conn_echo_now(c, line, len + 1, stable, now);
		return conn_queue(c, line, len + 1, now + c->sess.setup.delay_ns, now);
	}
	if (v == ECHO_V_READY)
		echo_report_setup(&c->srv->rep, &c->peer, &c->sess.setup);
	if (conn_queue(c, reply, rlen, now, now) != 0)
		return -ENOMEM;
	if (echo_verdict_closes(v)) {
		c->closing = 1;
		c->close_at = c->queued;
		c->end = end_of(v);
	}
	return 0;
}

/* Keeps the start of a line until its end arrives. The buffer grows by
 * doubling up to the line limit (max + 1), not to the limit at once, and all
 * connections' buffers share one budget. 0, -ENOMEM or -ENOBUFS (over the
 * budget: that connection ends). */
static int keep_partial(struct echo_conn *c, const char *p, size_t n, size_t max)
{
	struct echo_srv *s = c->srv;
	size_t need = c->in_len + n;

	if (c->in_cap < need) {
		/* all partial lines together stay within --max-buffer (at least
		 * two maximum-size messages): 10,000 slow peers each sending most
		 * of a 1 MiB line cannot make the server hold 10 GB */
		size_t cap = c->in_cap ? c->in_cap : 4096, budget = s->cfg->max_buffer;
		char *in;

		while (cap < need)
			cap *= 2;
		if (cap > max + 1)
			cap = max + 1;
		if (budget < 2 * (max + 1))
			budget = 2 * (max + 1);
		if (s->partial_bytes - c->in_cap + cap > budget) {
			c->end = ECHO_END_MEMORY;
			return -ENOBUFS;
		}
		in = realloc(c->in, cap);
		if (in == NULL)
			return -ENOMEM;
		s->partial_bytes += cap - c->in_cap;
		c->in = in;
		c->in_cap = cap;
	}
	memcpy(c->in + c->in_len, p, n);
	c->in_len += n;
	return 0;
}

/* Completes a partial line with the start of p; returns bytes used or -1
 * when the line turned out broken (verdict given) / out of memory. */
static ssize_t feed_partial(struct echo_conn *c, const char *p, size_t n, size_t max, int64_t now)
{
	const char *nl = memchr(p, '\n', n);
	size_t take = nl ? (size_t)(nl - p) + 1 : n;
	size_t content = c->in_len + take - (nl ? 1 : 0);
	enum echo_verdict v;

	if (content > max) {
		v = echo_session_broken(&c->sess, (unsigned char)c->in[0]);
		c->in_len = 0;
		return conn_verdict(c, v, NULL, 0, 0, now) == 0 ? (ssize_t)n : -1;
	}
	if (keep_partial(c, p, take, max) != 0)
		return -1;
	if (nl != NULL) {
		v = echo_session_line(&c->sess, &c->srv->cfg->lim, c->in, c->in_len - 1);
		if (conn_verdict(c, v, c->in, c->in_len - 1, 0, now) != 0)
			return -1;
		c->in_len = 0;
		if (c->in_cap > 4096) {
			c->srv->partial_bytes -= c->in_cap;
			free(c->in);
			c->in = NULL;
			c->in_cap = 0;
		}
	}
	return (ssize_t)take;
}

/* Frames and answers every line in p[0..n). 0 or -1 (out of memory). */
static int conn_feed(struct echo_conn *c, const char *p, size_t n, int64_t now)
{
	while (n > 0 && c->sess.phase != ECHO_PH_DONE) {
		size_t max = echo_session_max_line(&c->sess), ll;
		ssize_t r;
		enum echo_verdict v;

		if (c->in_len > 0) {
			if ((r = feed_partial(c, p, n, max, now)) < 0)
				return -1;
			p += r;
			n -= (size_t)r;
			continue;
		}
		r = echo_frame(p, n, max, &ll);
		if (r == ECHO_PARTIAL)
			return keep_partial(c, p, n, max);
		if (r == ECHO_BAD) {
			v = echo_session_broken(&c->sess, (unsigned char)p[0]);
			return conn_verdict(c, v, NULL, 0, 0, now);
		}
		v = echo_session_line(&c->sess, &c->srv->cfg->lim, p, ll);
		if (conn_verdict(c, v, p, ll, 1, now) != 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* The peer closed its side: a cut-off line is an incomplete message. */
static int conn_eof(struct echo_conn *c, int64_t now)
{
	c->peer_eof = 1;
	event_del(c->ev_read);
	if (!c->srv->cfg->plain && c->in_len > 0 && c->sess.phase != ECHO_PH_DONE) {
		enum echo_verdict v = echo_session_broken(&c->sess, (unsigned char)c->in[0]);
		c->in_len = 0;
		if (conn_verdict(c, v, NULL, 0, 0, now) != 0)
			return -1;
	}
	if (direct_spill(c) != 0)
		return -1;
	if (!c->closing) {
		c->closing = 1;
		c->close_at = c->queued;
		c->end = ECHO_END_PEER_CLOSED;
	}
	return 0;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct echo_conn *c = arg;
	struct echo_srv *s = c->srv;
	ssize_t n = read(fd, s->scratch, SCRATCH_SIZE);
	int64_t now = pk_now_ns();

	(void)what;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n < 0) {
		conn_free(c, ECHO_END_ERROR);
		return;
	}
	c->last_ns = now;
	if (c->lingering) {             /* discard until EOF */
		if (n == 0)
			conn_free(c, c->end);
		return;
	}
	if (n == 0) {
		if (conn_eof(c, now) != 0) {
			conn_free(c, ECHO_END_ERROR);
			return;
		}
	} else {
		c->bytes_in += (uint64_t)n;
		s->st.bytes_in += (uint64_t)n;
		if (c->closing)
			return;             /* after a closing verdict: ignored */
		if (s->cfg->plain) {
			echo_report_plain_data(&s->rep, &c->peer, s->scratch, (size_t)n);
			if (conn_echo_now(c, s->scratch, (size_t)n, 1, now) != 0) {
				conn_free(c, ECHO_END_ERROR);
				return;
			}
		} else if (conn_feed(c, s->scratch, (size_t)n, now) != 0) {
			conn_free(c, c->end == ECHO_END_MEMORY ? ECHO_END_MEMORY : ECHO_END_ERROR);
			return;
		}
		if (direct_write(c) != 0) {
			conn_free(c, ECHO_END_ERROR);
			return;
		}
		if (evbuffer_get_length(c->out) > OUT_LIMIT && !c->paused) {
			c->paused = 1;
			event_del(c->ev_read);
		}
	}
	conn_flush(c);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_flush(arg);
}

/* The delay timerfd: releases every connection's due echoes. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct echo_srv *s = arg;
	const struct echo_heap_ent *top;
	uint64_t expirations;
	int64_t now = pk_now_ns();

	(void)what;
	(void)!read(fd, &expirations, sizeof expirations);
	s->armed = 0;
	while ((top = echo_heap_top(&s->heap)) != NULL && top->due <= now) {
		struct echo_conn *c = top->item;
		release_due(c, now);
		conn_flush(c);          /* may free c; it leaves the heap then */
	}
	srv_arm(s);
}

/* Idle timeout, or the end of lingering. */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct echo_conn *c = arg;
	int64_t now = pk_now_ns(), idle = c->srv->cfg->idle_ns;

	(void)fd;
	(void)what;
	if (c->lingering) {
		conn_free(c, c->end);
		return;
	}
	if (c->mcount > 0 || now - c->last_ns < idle) {
		/* waiting on our own delay is not idleness */
		pk_timer_at(c->ev_timer, (c->mcount > 0 ? now : c->last_ns) + idle);
		return;
	}
	if (!c->closing && !c->srv->cfg->plain && c->in_len > 0) {
		/* a message cut off mid-line is incomplete: answer it */
		enum echo_verdict v = echo_session_broken(&c->sess, (unsigned char)c->in[0]);
		c->in_len = 0;
		if (conn_verdict(c, v, NULL, 0, 0, now) != 0) {
			conn_free(c, ECHO_END_ERROR);
			return;
		}
		c->last_ns = now;           /* the reply gets one more idle period */
		pk_timer_at(c->ev_timer, now + idle);
		conn_flush(c);
		return;
	}
	conn_free(c, ECHO_END_IDLE);
}

static struct echo_conn *conn_new(struct echo_srv *s, int fd, const struct pk_addr *peer)
{
	struct echo_conn *c = calloc(1, sizeof *c);
	int one = 1;

	if (c == NULL)
		return NULL;
	/* echoes go out as soon as they are due, never held for coalescing */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->srv = s;
	c->fd = fd;
	c->peer = *peer;
	echo_session_init(&c->sess);
	c->start_ns = c->last_ns = pk_now_ns();
	c->ev_read = event_new(s->base, fd, EV_READ | EV_PERSIST, on_read, c);
	c->ev_write = event_new(s->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
	c->ev_timer = evtimer_new(s->base, on_timer, c);
	c->hpos = ECHO_HEAP_NONE;
	c->out = evbuffer_new();
	if (!c->ev_read || !c->ev_write || !c->ev_timer || !c->out ||
	    event_add(c->ev_read, NULL) != 0 ||
	    pk_timer_at(c->ev_timer, c->start_ns + s->cfg->idle_ns) != 0) {
		if (c->ev_read) event_free(c->ev_read);
		if (c->ev_write) event_free(c->ev_write);
		if (c->ev_timer) event_free(c->ev_timer);
		if (c->out) evbuffer_free(c->out);
		free(c);
		return NULL;
	}
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	return c;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct echo_srv *s = arg;

	(void)fd;
	(void)what;
	event_add(s->ev_accept, NULL);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct echo_srv *s = arg;

	(void)what;
	for (int i = 0; i < ACCEPT_BURST; i++) {
		struct pk_addr peer = { .len = sizeof peer.ss };
		int fd = accept4(lfd, (struct sockaddr *)&peer.ss, &peer.len,
		                 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* out of descriptors: stop accepting for a moment */
				echo_report_refused(&s->rep, NULL, strerror(errno));
				event_del(s->ev_accept);
				pk_timer_at(s->ev_retry, pk_now_ns() + 100 * PK_NS_PER_MS);
			}
			return;
		}
		s->st.accepted++;
		if (s->st.active >= s->cfg->max_conns) {
			s->st.refused++;
			echo_report_refused(&s->rep, &peer, "connection limit reached");
			close(fd);
			continue;
		}
		if (conn_new(s, fd, &peer) == NULL) {
			s->st.refused++;
			echo_report_refused(&s->rep, &peer, "out of memory");
			close(fd);
			continue;
		}
		if (++s->st.active > s->st.peak)
			s->st.peak = s->st.active;
	}
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(((struct echo_srv *)arg)->base);
}

/* Room for max_conns descriptors (best effort). */
static void raise_nofile(uint64_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < want + 64) {
		rl.rlim_cur = want + 64 < rl.rlim_max ? want + 64 : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* An IPv6-only listener (pk_tcp_listen lets "::" take IPv4 too). */
static int listen_v6only(const struct pk_addr *a)
{
	int fd = pk_socket(AF_INET6, SOCK_STREAM), one = 1, rc = 0;

	if (fd < 0)
		return fd;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0 ||
	    bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0 || listen(fd, 1024) != 0)
		rc = -errno;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

static int srv_open(struct echo_srv *s)
{
	const struct echo_server_cfg *cfg = s->cfg;
	struct pk_addr a;
	int rc, family = cfg->family;

	if (cfg->bind_host == NULL && family == AF_UNSPEC)
		family = AF_INET6;          /* "::" takes IPv4 too (V6ONLY off) */
	rc = pk_resolve(cfg->bind_host, cfg->port, family, SOCK_STREAM, 1, &a);
	if (rc == 0) {
		rc = cfg->family == AF_INET6 ? listen_v6only(&a) : pk_tcp_listen(&a, 1024);
		if (rc >= 0)
			s->lfd = rc;
	}
	if (rc < 0 && cfg->bind_host == NULL && cfg->family == AF_UNSPEC) {
		/* no IPv6 on this host: fall back to 0.0.0.0 */
		rc = pk_resolve(NULL, cfg->port, AF_INET, SOCK_STREAM, 1, &a);
		if (rc == 0 && (rc = pk_tcp_listen(&a, 1024)) >= 0)
			s->lfd = rc;
	}
	if (rc < 0) {
		echo_report_error("cannot listen on %s port %u: %s",
		                  cfg->bind_host ? cfg->bind_host : "*", (unsigned)cfg->port,
		                  pk_sock_strerror(rc));
		return -1;
	}
	pk_sock_local(s->lfd, &a);
	echo_report_listening(stdout, &a, cfg->plain);
	return 0;
}

int echo_server_run(const struct echo_server_cfg *cfg)
{
	struct echo_srv s = { .cfg = cfg, .lfd = -1, .tfd = -1 };
	int rc = 2;

	s.rep = (struct echo_report){ .out = stdout, .json = cfg->json, .quiet = cfg->quiet };
	/* output chains of large probes come and go: keep freed memory instead of
	 * returning it to the kernel and faulting it back in on the next probe */
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_MMAP_THRESHOLD, 8 * 1024 * 1024);
	raise_nofile(cfg->max_conns);
	pk_timer_slack_min();
	s.scratch = malloc(SCRATCH_SIZE);
	s.base = event_base_new();      /* not precise: see the top of this file */
	s.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s.scratch == NULL || s.base == NULL || s.tfd < 0 || srv_open(&s) != 0)
		goto out;
	s.ev_tick = event_new(s.base, s.tfd, EV_READ | EV_PERSIST, on_tick, &s);
	s.ev_accept = event_new(s.base, s.lfd, EV_READ | EV_PERSIST, on_accept, &s);
	s.ev_retry = evtimer_new(s.base, on_retry, &s);
	s.ev_int = evsignal_new(s.base, SIGINT, on_signal, &s);
	s.ev_term = evsignal_new(s.base, SIGTERM, on_signal, &s);
	if (!s.ev_accept || !s.ev_retry || !s.ev_int || !s.ev_term || !s.ev_tick ||
	    event_add(s.ev_accept, NULL) || event_add(s.ev_int, NULL) ||
	    event_add(s.ev_term, NULL) || event_add(s.ev_tick, NULL)) {
		echo_report_error("cannot set up the event loop");
		goto out;
	}
	if (event_base_dispatch(s.base) < 0) {
		echo_report_error("event loop failed");
		goto out;
	}
	rc = 0;
out:
	while (s.conns)
		conn_free(s.conns, ECHO_END_SHUTDOWN);
	if (rc == 0)
		echo_report_server_stats(&s.rep, &s.st);
	if (s.ev_accept) event_free(s.ev_accept);
	if (s.ev_retry) event_free(s.ev_retry);
	if (s.ev_int) event_free(s.ev_int);
	if (s.ev_term) event_free(s.ev_term);
	if (s.ev_tick) event_free(s.ev_tick);
	if (s.tfd >= 0)
		close(s.tfd);
	echo_heap_free(&s.heap);
	if (s.lfd >= 0)
		close(s.lfd);
	if (s.base)
		event_base_free(s.base);
	free(s.scratch);
	return rc;
}

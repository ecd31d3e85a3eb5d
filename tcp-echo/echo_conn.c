/* echo_conn: one server connection (see echo_conn.h).
 *
 * Each read lands in the hub's scratch buffer; echo_conn_lines.c frames the
 * lines in it (a partial line is kept by echo_lines, no longer than the
 * longest valid line of the phase) and answers each. Replies and
 * echoes go to the connection's output queue (echo_outq) in order. Output
 * beyond OUT_LIMIT pauses reading.
 *
 * Memory (issue 10): partial lines and every byte of output (queued,
 * delayed, unsent, with the delay marks) count in one budget of the hub
 * (--max-buffer). The connection whose next line or echo would pass it is
 * answered with the 404 of its phase and closed (logged "memory budget");
 * the others go on. A reply (200/404) is always queued.
 *
 * Idle: the timer restarts on a complete message (a line answered) or on
 * output the peer takes, never on a byte alone, so a peer trickling a line
 * is answered "incomplete" and closed at the idle timeout.
 *
 * Delays: a connection holding echoes sits in the hub's heap, keyed by its
 * first due time; the hub's timerfd is armed at the heap's top and re-armed
 * only when that time changes (see echo_server.c for why not libevent's).
 *
 * A closing verdict sends its reply, then shuts down the write side and
 * drains input until EOF or LINGER_NS (so the reply is not lost to a reset).
 *
 * The single-session fast path (not with --no-fast-path): a connection
 * that is the server's only one, with no delay, nothing queued or held,
 * whose messages come less than FAST_WAIT_NS apart, is read with a blocking
 * recv() right after its echo is sent, instead of going back to epoll_wait:
 * one system call fewer per message, as a blocking one-connection server
 * makes (issue 14). The bytes go through the same conn_input() as the event
 * loop's reads, so the answers are the same. Accepted sockets are blocking
 * for that one recv(); every other read and write passes MSG_DONTWAIT. The
 * recv() ends, and the loop takes over again, on any signal (SO_RCVTIMEO is
 * set, so even SA_RESTART handlers interrupt it: SIGINT/SIGTERM/SIGQUIT,
 * and SIGIO, which the listening socket raises when a connection comes), on
 * FAST_WAIT_NS without data, and after FAST_SLICE_NS in any case (so a
 * signal that landed just before the recv() waits at most that long).
 */
#include "echo_conn_int.h"
#include "pk_clock.h"
#include "pk_loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <event2/event.h>

#define LINGER_NS    (2 * PK_NS_PER_S)
#define FAST_WAIT_NS  (4 * PK_NS_PER_MS)      /* SO_RCVTIMEO: one jiffy at HZ=250 */
#define FAST_SLICE_NS (4 * PK_NS_PER_MS)


static void conn_free(struct echo_conn *c, enum echo_end why)
{
	struct echo_hub *h = c->hub;
	struct echo_session_log l = {
		.peer = &c->peer, .plain = h->cfg->plain,
		.have_setup = c->sess.setup.size != 0,  /* set only by a valid setup */
		.setup = c->sess.setup, .bytes_in = c->bytes_in,
		.echoed = h->cfg->plain ? c->q.sent : c->sess.echoed,
		.end = c->closing ? c->end : why,
		.duration_ns = pk_now_ns() - c->start_ns,
	};

	h->st.ends[l.end]++;
	echo_report_session_end(&h->rep, &l);
	if (c->prev)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	h->st.active--;
	echo_srcmap_del(&h->sources, c->source);
	event_free(c->ev_read);
	event_free(c->ev_write);
	event_free(c->ev_timer);
	echo_heap_remove(&h->heap, &c->hpos);
	echo_outq_free(&c->q);
	close(c->fd);
	echo_partial_free(&c->part, &h->budget);
	free(c);
}

void echo_hub_close_all(struct echo_hub *h)
{
	while (h->conns)
		conn_free(h->conns, ECHO_END_SHUTDOWN);
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
	c->writing = 0;
	event_add(c->ev_read, NULL);
	pk_timer_at(c->ev_timer, pk_now_ns() + LINGER_NS);
}

/* Writes what is ready. Returns 0, or -1 when c was freed. */
static int conn_flush(struct echo_conn *c)
{
	if (echo_outq_pending(&c->q)) {
		int w = echo_outq_write(&c->q, c->fd);
		if (w < 0) {
			conn_free(c, ECHO_END_ERROR);
			return -1;
		}
		if (w > 0)
			c->last_ns = pk_now_ns();
	}
	/* the flag spares an event_del() (locks, a lookup) on every echo */
	if (echo_outq_pending(&c->q) && !c->writing) {
		event_add(c->ev_write, NULL);
		c->writing = 1;
	} else if (!echo_outq_pending(&c->q) && c->writing) {
		event_del(c->ev_write);
		c->writing = 0;
	}
	if (c->paused && !c->peer_eof && echo_outq_charged(&c->q) < OUT_LIMIT / 2) {
		c->paused = 0;
		event_add(c->ev_read, NULL);
	}
	if (c->closing && !c->lingering && c->q.sent == c->close_at) {
		int freed = c->peer_eof;
		conn_linger(c);
		return freed ? -1 : 0;
	}
	return 0;
}

/* Arms the delay timerfd at the heap's earliest due time, if it changed. */
static void hub_arm(struct echo_hub *h)
{
	const struct echo_heap_ent *top = echo_heap_top(&h->heap);
	int64_t want = top ? top->due : 0;
	struct itimerspec its = { .it_value = pk_ns_to_timespec(want > 0 ? want : 0) };

	if (want == h->armed)
		return;
	if (want > 0 && its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1;
	timerfd_settime(h->tfd, TFD_TIMER_ABSTIME, &its, NULL);
	h->armed = want;
}

static int conn_schedule(struct echo_conn *c, int64_t due)
{
	if (echo_heap_set(&c->hub->heap, c, &c->hpos, due) != 0)
		return -ENOMEM;
	hub_arm(c->hub);
	return 0;
}

int echo_conn_queue(struct echo_conn *c, const void *p, size_t n, int64_t due, int64_t now)
{
	int rc = echo_outq_add(&c->q, p, n, due, now);

	return rc == ECHO_OUTQ_ARM ? conn_schedule(c, due) : rc;
}

void echo_hub_due(struct echo_hub *h)
{
	const struct echo_heap_ent *top;
	int64_t now = pk_now_ns();

	h->armed = 0;
	while ((top = echo_heap_top(&h->heap)) != NULL && top->due <= now) {
		struct echo_conn *c = top->item;
		int64_t next = echo_outq_release(&c->q, now);
		if (next > 0)
			conn_schedule(c, next);     /* the heap has room for c */
		else
			echo_heap_remove(&h->heap, &c->hpos);
		conn_flush(c);          /* may free c; it leaves the heap then */
	}
	hub_arm(h);
}

/* The peer closed its side: a cut-off line is an incomplete message. */
static int conn_eof(struct echo_conn *c, int64_t now)
{
	c->peer_eof = 1;
	event_del(c->ev_read);
	if (!c->hub->cfg->plain && echo_partial_any(&c->part) && c->sess.phase != ECHO_PH_DONE &&
	    echo_conn_broken(c, now) != 0)
		return -1;
	if (echo_outq_spill(&c->q) != 0)
		return -1;
	if (!c->closing) {
		c->closing = 1;
		c->close_at = c->q.queued;
		c->end = ECHO_END_PEER_CLOSED;
	}
	return 0;
}

/* n > 0 bytes read into the scratch buffer: answered. 0, 1 when ignored
 * (after a closing verdict), or -1 when c is to end (c->end says why when
 * it is the memory budget). */
static int conn_data(struct echo_conn *c, size_t n, int64_t now)
{
	struct echo_hub *h = c->hub;

	c->bytes_in += (uint64_t)n;
	h->st.bytes_in += (uint64_t)n;
	if (c->closing)
		return 1;               /* after a closing verdict: ignored */
	if (h->cfg->plain) {
		int rc = echo_outq_now(&c->q, h->scratch, n, 1, now);
		echo_report_plain_data(&h->rep, &c->peer, h->scratch, n);
		if (rc == -ENOBUFS)
			c->end = ECHO_END_MEMORY;   /* no protocol, no 404: closed */
		if (rc != 0)
			return -1;
	} else if (echo_conn_feed(c, h->scratch, n, now) != 0) {
		return -1;
	}
	if (echo_outq_write_direct(&c->q, c->fd) != 0)
		return -1;
	if (echo_outq_charged(&c->q) > OUT_LIMIT && !c->paused) {
		c->paused = 1;
		event_del(c->ev_read);
	}
	return 0;
}

/* One read's outcome (n bytes, 0 at EOF, -1 with errno set) answered, the
 * same for the event loop's reads and the fast path's. 0 when c lives on,
 * -1 when it was freed. */
static int conn_input(struct echo_conn *c, ssize_t n, int64_t now)
{
	int rc;

	if (n < 0) {
		conn_free(c, ECHO_END_ERROR);
		return -1;
	}
	if (c->hub->cfg->plain)
		c->last_ns = now;       /* no messages: every byte is one */
	if (c->lingering) {             /* discard until EOF */
		if (n == 0) {
			conn_free(c, c->end);
			return -1;
		}
		return 0;
	}
	rc = n == 0 ? conn_eof(c, now) : conn_data(c, (size_t)n, now);
	if (rc < 0) {
		conn_free(c, c->end == ECHO_END_MEMORY ? ECHO_END_MEMORY : ECHO_END_ERROR);
		return -1;
	}
	return rc == 0 ? conn_flush(c) : 0;
}

static int again(ssize_t n)
{
	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
}

/* May c's next message be read by the fast path? */
static int fast_ok(const struct echo_conn *c)
{
	const struct echo_hub *h = c->hub;

	return h->fast && h->conns == c && c->next == NULL && !*h->woken && !c->closing &&
	       !c->lingering && !c->paused && !c->peer_eof && c->sess.setup.delay_ns == 0 &&
	       !echo_outq_pending(&c->q) && !echo_outq_held(&c->q) &&
	       echo_heap_top(&h->heap) == NULL;
}

/* The fast path (see the top of this file): blocking reads of c's messages
 * until one of its conditions fails, a signal, FAST_WAIT_NS without data or
 * FAST_SLICE_NS; then the event loop has c again (level-triggered: bytes
 * that came meanwhile are read there). */
static void conn_fast(struct echo_conn *c)
{
	int64_t until = c->rx_ns + FAST_SLICE_NS;

	if (!c->fast_tmo) {
		struct timeval tv = { .tv_usec = FAST_WAIT_NS / 1000 };
		if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
			return;
		c->fast_tmo = 1;
	}
	do {
		ssize_t n = recv(c->fd, c->hub->scratch, ECHO_SCRATCH_SIZE, 0);
		int64_t now = pk_now_ns();

		if (again(n))
			return;
		c->rx_ns = now;
		if (conn_input(c, n, now) != 0)
			return;
		if (now >= until)
			return;
	} while (fast_ok(c));
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct echo_conn *c = arg;
	ssize_t n = recv(fd, c->hub->scratch, ECHO_SCRATCH_SIZE, MSG_DONTWAIT);
	int64_t now = pk_now_ns(), gap = now - c->rx_ns;

	(void)what;
	if (again(n))
		return;
	c->rx_ns = now;
	if (conn_input(c, n, now) == 0 && gap < FAST_WAIT_NS && fast_ok(c))
		conn_fast(c);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_flush(arg);
}

/* Idle timeout, or the end of lingering. */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct echo_conn *c = arg;
	int64_t now = pk_now_ns(), idle = c->hub->cfg->idle_ns;

	(void)fd;
	(void)what;
	if (c->lingering) {
		conn_free(c, c->end);
		return;
	}
	if (echo_outq_held(&c->q) || now - c->last_ns < idle) {
		/* waiting on our own delay is not idleness */
		pk_timer_at(c->ev_timer, (echo_outq_held(&c->q) ? now : c->last_ns) + idle);
		return;
	}
	if (!c->closing && !c->hub->cfg->plain && echo_partial_any(&c->part)) {
		/* a message cut off mid-line is incomplete: answer it */
		if (echo_conn_broken(c, now) != 0) {
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

struct echo_conn *echo_conn_new(struct echo_hub *h, int fd, const struct pk_addr *peer,
                                 uint64_t source)
{
	struct echo_conn *c = calloc(1, sizeof *c);
	int one = 1;

	if (c == NULL)
		return NULL;
	/* echoes go out as soon as they are due, never held for coalescing */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->hub = h;
	c->fd = fd;
	c->peer = *peer;
	c->source = source;
	echo_session_init(&c->sess);
	c->start_ns = c->last_ns = pk_now_ns();
	c->rx_ns = c->start_ns - FAST_WAIT_NS;  /* no gap measured yet */
	c->ev_read = event_new(h->base, fd, EV_READ | EV_PERSIST, on_read, c);
	c->ev_write = event_new(h->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
	c->ev_timer = evtimer_new(h->base, on_timer, c);
	c->hpos = ECHO_HEAP_NONE;
	if (!c->ev_read || !c->ev_write || !c->ev_timer || echo_outq_init(&c->q, &h->budget) != 0 ||
	    event_add(c->ev_read, NULL) != 0 ||
	    pk_timer_at(c->ev_timer, c->start_ns + h->cfg->idle_ns) != 0) {
		if (c->ev_read) event_free(c->ev_read);
		if (c->ev_write) event_free(c->ev_write);
		if (c->ev_timer) event_free(c->ev_timer);
		echo_outq_free(&c->q);
		free(c);
		return NULL;
	}
	c->next = h->conns;
	if (h->conns)
		h->conns->prev = c;
	h->conns = c;
	return c;
}

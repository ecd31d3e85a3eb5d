/* echo_outq: one server connection's output, in order: replies, echoes due
 * now, and echoes held until their due time.
 *
 * Bytes are counted at absolute offsets: queued (all added), ready (may go
 * out now), sent (gone). Queued bytes wait in an evbuffer; a delayed echo is
 * a mark (end offset, due time) in a ring, and echo_outq_release makes the
 * bytes of the marks that came due ready, so a slow session never holds up
 * another.
 *
 * Echoes due now that sit back to back in the read buffer are written
 * straight from it at the end of the read (the "direct range": no copy, no
 * allocation) while nothing else is queued; anything queued after them
 * moves them to the evbuffer first, so the order holds. The per-probe calls
 * (echo_outq_now, echo_outq_write_direct) are inline: the hot path of an
 * undelayed echo is one send() from the read buffer.
 *
 * Memory: every byte the queue holds (the direct range, the evbuffer, the
 * ring of marks) is counted in the server's budget (echo_lines.h) from the
 * moment it is queued until it is sent. An echo that would pass the budget
 * is not queued (-ENOBUFS: the connection is refused with its 404); a
 * server reply (echo_outq_reply, at most one or two short lines a session)
 * always is. Marks of echoes with the same due time (one read's probes)
 * share one mark.
 */
#ifndef ECHO_OUTQ_H
#define ECHO_OUTQ_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <event2/buffer.h>

#include "echo_lines.h"

struct echo_mark {
	uint64_t end;       /* absolute output offset */
	int64_t due;
};

struct echo_outq {
	struct evbuffer *buf;
	uint64_t queued, sent, ready;   /* absolute output offsets */
	struct echo_mark *marks;        /* ring of held echoes */
	size_t mhead, mcount, mcap;
	const char *dp;                 /* the direct range, in the read buffer */
	size_t dn;
	struct echo_budget *b;          /* the server's, shared */
	size_t charged;                 /* bytes this queue counts in *b */
};

/* Returned by echo_outq_add when the bytes are the first held: the
 * connection's next due time is now theirs. */
#define ECHO_OUTQ_ARM 1

/* 0 or -ENOMEM. b: the budget the queue's bytes count in. */
int echo_outq_init(struct echo_outq *q, struct echo_budget *b);
void echo_outq_free(struct echo_outq *q);

/* Copies n bytes of an echo in, to go out at `due` (after everything
 * queued before). 0, ECHO_OUTQ_ARM, -ENOBUFS (over the budget: nothing
 * queued) or -ENOMEM. */
int echo_outq_add(struct echo_outq *q, const void *p, size_t n, int64_t due, int64_t now);

/* A server reply, due now: queued even past the budget (a few dozen bytes,
 * once or twice a session). 0 or -ENOMEM. */
int echo_outq_reply(struct echo_outq *q, const void *p, size_t n, int64_t now);

/* Moves the direct range into the evbuffer (before the read buffer is
 * reused). 0 or -ENOMEM. */
int echo_outq_spill(struct echo_outq *q);

/* Writes ready bytes to fd. 1 when some went out, 0 when none could (the
 * socket is full or nothing is ready), -1 on a socket error. */
int echo_outq_write(struct echo_outq *q, int fd);

/* Makes the bytes of every mark due by `now` ready. Returns the due time
 * of the next held mark, or 0 when none is held. */
int64_t echo_outq_release(struct echo_outq *q, int64_t now);

static inline int echo_outq_held(const struct echo_outq *q) { return q->mcount > 0; }
static inline int echo_outq_pending(const struct echo_outq *q) { return q->sent < q->ready; }
/* Bytes waiting in the evbuffer (ready or held). */
static inline size_t echo_outq_length(const struct echo_outq *q)
{
	return evbuffer_get_length(q->buf);
}

/* Bytes the queue holds, marks included (what it counts in the budget). */
static inline size_t echo_outq_charged(const struct echo_outq *q) { return q->charged; }

/* Bytes due now; `stable`: p is in the read buffer, valid to the end of
 * this read. 0, -ENOBUFS (over the budget) or -ENOMEM. */
static inline int echo_outq_now(struct echo_outq *q, const char *p, size_t n, int stable,
                                int64_t now)
{
	if ((q->dn > 0 && q->dp + q->dn == p) ||
	    (stable && q->dn == 0 && q->mcount == 0 && q->sent == q->queued)) {
		if (echo_budget_over(q->b, n))
			return -ENOBUFS;
		if (q->dn == 0)
			q->dp = p;
		q->dn += n;
		q->b->used += n;
		q->charged += n;
		return 0;
	}
	return echo_outq_add(q, p, n, now, now);   /* never ECHO_OUTQ_ARM: due now */
}

/* Bytes due now from a buffer that does not outlive the call (a line
 * completed in echo_lines' buffer): when nothing is queued or held before
 * them they are sent at once (MSG_DONTWAIT) and only what the socket does
 * not take is copied; otherwise as echo_outq_now. The same budget check and
 * order as echo_outq_now; a socket error shows at the next write. 0,
 * -ENOBUFS or -ENOMEM. */
int echo_outq_now_send(struct echo_outq *q, int fd, const char *p, size_t n, int64_t now);

/* Writes the direct range at the end of a read; what the socket does not
 * take is copied. 0, or -1 on a socket error (or out of memory). */
static inline int echo_outq_write_direct(struct echo_outq *q, int fd)
{
	ssize_t k;

	if (q->dn == 0)
		return 0;
	k = send(fd, q->dp, q->dn, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		return -1;
	if (k > 0) {
		q->queued += (uint64_t)k;
		q->sent = q->ready = q->queued;
		q->dp += k;
		q->dn -= (size_t)k;
		q->b->used -= (size_t)k;
		q->charged -= (size_t)k;
	}
	return q->dn == 0 || echo_outq_spill(q) == 0 ? 0 : -1;
}

#endif

/* echo_outq: a server connection's ordered output (see echo_outq.h). */
#include "echo_outq.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/event.h>

#define MARKS_KEEP 64             /* an emptied ring larger than this goes back */

int echo_outq_init(struct echo_outq *q, struct echo_budget *b)
{
	*q = (struct echo_outq){ .buf = evbuffer_new(), .b = b };
	return q->buf ? 0 : -ENOMEM;
}

static void uncharge(struct echo_outq *q, size_t n)
{
	q->b->used -= n;
	q->charged -= n;
}

void echo_outq_free(struct echo_outq *q)
{
	if (q->buf)
		evbuffer_free(q->buf);
	free(q->marks);
	if (q->b)
		uncharge(q, q->charged);
	q->buf = NULL;
	q->marks = NULL;
	q->mcap = q->mcount = 0;
}

/* Bytes a new mark would add to the ring (0 when it has room). */
static size_t mark_growth(const struct echo_outq *q)
{
	if (q->mcount < q->mcap)
		return 0;
	return (q->mcap ? q->mcap : 8) * sizeof *q->marks;
}

static int mark_push(struct echo_outq *q, uint64_t end, int64_t due)
{
	if (q->mcount > 0) {
		struct echo_mark *last = &q->marks[(q->mhead + q->mcount - 1) % q->mcap];
		if (last->due == due) {         /* the same read's probes: one mark */
			last->end = end;
			return 0;
		}
	}
	if (q->mcount == q->mcap) {
		size_t ncap = q->mcap ? 2 * q->mcap : 8;
		struct echo_mark *m = malloc(ncap * sizeof *m);
		if (m == NULL)
			return -ENOMEM;
		for (size_t i = 0; i < q->mcount; i++)
			m[i] = q->marks[(q->mhead + i) % q->mcap];
		free(q->marks);
		q->b->used += (ncap - q->mcap) * sizeof *m;
		q->charged += (ncap - q->mcap) * sizeof *m;
		q->marks = m;
		q->mcap = ncap;
		q->mhead = 0;
	}
	q->marks[(q->mhead + q->mcount) % q->mcap] = (struct echo_mark){ end, due };
	return q->mcount++ == 0 ? ECHO_OUTQ_ARM : 0;
}

int echo_outq_spill(struct echo_outq *q)
{
	if (q->dn == 0)
		return 0;
	if (evbuffer_add(q->buf, q->dp, q->dn) != 0)
		return -ENOMEM;
	q->queued += q->dn;             /* counted already, as the direct range */
	q->ready = q->queued;
	q->dn = 0;
	return 0;
}

static int add(struct echo_outq *q, const void *p, size_t n, int64_t due, int64_t now,
               int reply)
{
	int held = !(q->mcount == 0 && due <= now);

	if (!reply && echo_budget_over(q->b, n + (held ? mark_growth(q) : 0)))
		return -ENOBUFS;
	if (echo_outq_spill(q) != 0 || evbuffer_add(q->buf, p, n) != 0)
		return -ENOMEM;
	q->queued += n;
	q->b->used += n;
	q->charged += n;
	if (!held) {
		q->ready = q->queued;
		return 0;
	}
	return mark_push(q, q->queued, due);
}

int echo_outq_add(struct echo_outq *q, const void *p, size_t n, int64_t due, int64_t now)
{
	return add(q, p, n, due, now, 0);
}

int echo_outq_reply(struct echo_outq *q, const void *p, size_t n, int64_t now)
{
	int rc = add(q, p, n, now, now, 1);

	return rc < 0 ? rc : 0;         /* held behind echoes: armed already */
}

int echo_outq_now_send(struct echo_outq *q, int fd, const char *p, size_t n, int64_t now)
{
	ssize_t k;

	if (q->dn > 0 || q->mcount > 0 || q->sent != q->queued)
		return echo_outq_now(q, p, n, 0, now);
	if (echo_budget_over(q->b, n))
		return -ENOBUFS;
	k = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (k <= 0)
		return echo_outq_add(q, p, n, now, now);
	q->queued += (uint64_t)k;
	q->sent = q->ready = q->queued;
	return (size_t)k == n ? 0 : echo_outq_add(q, p + k, n - (size_t)k, now, now);
}

/* Up to OUT_IOV pieces of the ready range in one sendmsg(); MSG_DONTWAIT:
 * accepted sockets are blocking (the fast path's recv, see echo_conn.c). */
#define OUT_IOV 16
static ssize_t send_ready(struct echo_outq *q, int fd)
{
	struct evbuffer_iovec v[OUT_IOV];
	struct iovec iov[OUT_IOV];
	size_t left = q->ready - q->sent;
	int n = evbuffer_peek(q->buf, (ev_ssize_t)left, NULL, v, OUT_IOV);
	struct msghdr m = { .msg_iov = iov };
	ssize_t k;

	if (n > OUT_IOV)
		n = OUT_IOV;
	for (int i = 0; i < n && left > 0; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len < left ? v[i].iov_len : left;
		left -= iov[i].iov_len;
		m.msg_iovlen++;
	}
	k = sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (k > 0)
		evbuffer_drain(q->buf, (size_t)k);
	return k;
}

int echo_outq_write(struct echo_outq *q, int fd)
{
	int wrote = 0;

	while (q->sent < q->ready) {
		ssize_t n = send_ready(q, fd);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			break;
		if (n <= 0)
			return -1;
		q->sent += (uint64_t)n;
		uncharge(q, (size_t)n);
		wrote = 1;
	}
	return wrote;
}

int64_t echo_outq_release(struct echo_outq *q, int64_t now)
{
	while (q->mcount > 0 && q->marks[q->mhead].due <= now) {
		q->ready = q->marks[q->mhead].end;
		q->mhead = (q->mhead + 1) % q->mcap;
		q->mcount--;
	}
	if (q->mcount == 0 && q->mcap > MARKS_KEEP) {
		uncharge(q, q->mcap * sizeof *q->marks);
		free(q->marks);
		q->marks = NULL;
		q->mcap = q->mhead = 0;
	}
	return q->mcount > 0 ? q->marks[q->mhead].due : 0;
}

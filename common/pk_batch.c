#include "pk_batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pk_clock.h"

union pk_ctl {
	char b[PK_RX_CTL_SIZE];
	struct cmsghdr align;
};

struct pk_batch {
	unsigned max, nout;
	size_t bufsize;
	struct mmsghdr *in, *out;
	struct iovec *iov_in, *iov_out;
	union pk_ctl *ctl;
	struct pk_rx *rx;
	unsigned char *bufs;       /* max x (bufsize + 1) */
};

struct pk_batch *pk_batch_new(unsigned max, size_t bufsize)
{
	struct pk_batch *b;

	if (max == 0 || max > 1024 || bufsize == 0 || bufsize > (1u << 20))
		return NULL;
	b = calloc(1, sizeof *b);
	if (b == NULL)
		return NULL;
	b->max = max;
	b->bufsize = bufsize;
	b->in = calloc(max, sizeof *b->in);
	b->out = calloc(max, sizeof *b->out);
	b->iov_in = calloc(max, sizeof *b->iov_in);
	b->iov_out = calloc(max, sizeof *b->iov_out);
	b->ctl = calloc(max, sizeof *b->ctl);
	b->rx = calloc(max, sizeof *b->rx);
	b->bufs = malloc((size_t)max * (bufsize + 1));
	if (!b->in || !b->out || !b->iov_in || !b->iov_out || !b->ctl || !b->rx || !b->bufs) {
		pk_batch_free(b);
		return NULL;
	}
	return b;
}

void pk_batch_free(struct pk_batch *b)
{
	if (b == NULL)
		return;
	free(b->in);
	free(b->out);
	free(b->iov_in);
	free(b->iov_out);
	free(b->ctl);
	free(b->rx);
	free(b->bufs);
	free(b);
}

unsigned char *pk_batch_buf(struct pk_batch *b, unsigned i)
{
	return b->bufs + (size_t)i * (b->bufsize + 1);
}

const struct pk_rx *pk_batch_rx(const struct pk_batch *b, unsigned i)
{
	return &b->rx[i];
}

int pk_batch_recv(int fd, struct pk_batch *b)
{
	int64_t mono, real;
	int n;

	for (unsigned i = 0; i < b->max; i++) {
		struct msghdr *m = &b->in[i].msg_hdr;

		b->iov_in[i].iov_base = pk_batch_buf(b, i);
		b->iov_in[i].iov_len = b->bufsize;
		memset(m, 0, sizeof *m);
		m->msg_name = &b->rx[i].from.ss;
		m->msg_namelen = sizeof b->rx[i].from.ss;
		m->msg_iov = &b->iov_in[i];
		m->msg_iovlen = 1;
		m->msg_control = b->ctl[i].b;
		m->msg_controllen = sizeof b->ctl[i].b;
	}
	b->nout = 0;
	n = recvmmsg(fd, b->in, b->max, MSG_DONTWAIT, NULL);
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -errno;
	mono = pk_now_ns();
	real = pk_wall_ns();
	for (int i = 0; i < n; i++) {
		struct pk_rx *rx = &b->rx[i];
		struct msghdr *m = &b->in[i].msg_hdr;

		rx->from.len = m->msg_namelen;
		rx->len = b->in[i].msg_len;
		rx->truncated = (m->msg_flags & MSG_TRUNC) != 0;
		pk_batch_buf(b, (unsigned)i)[rx->len] = '\0';
		pk_rx_stamp(rx, m, mono, real);
	}
	return n;
}

void pk_batch_reply(struct pk_batch *b, unsigned i, const void *data, size_t len)
{
	struct msghdr *m;

	if (b->nout >= b->max)
		return;
	m = &b->out[b->nout].msg_hdr;
	b->iov_out[b->nout].iov_base = (void *)data;
	b->iov_out[b->nout].iov_len = len;
	memset(m, 0, sizeof *m);
	m->msg_name = &b->rx[i].from.ss;
	m->msg_namelen = b->rx[i].from.len;
	m->msg_iov = &b->iov_out[b->nout];
	m->msg_iovlen = 1;
	b->nout++;
}

unsigned pk_batch_pending(const struct pk_batch *b)
{
	return b->nout;
}

unsigned pk_batch_flush(int fd, struct pk_batch *b)
{
	unsigned done = 0, ok = 0;

	while (done < b->nout) {
		int r = sendmmsg(fd, b->out + done, b->nout - done, MSG_DONTWAIT);

		if (r <= 0) {
			done++;          /* that reply is lost; the others go on */
			continue;
		}
		done += (unsigned)r;
		ok += (unsigned)r;
	}
	b->nout = 0;
	return ok;
}

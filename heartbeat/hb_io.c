#include "hb_io.h"

#include <errno.h>
#include <string.h>

#include "pk_clock.h"

int hb_io_recv(int fd, struct hb_io *io)
{
	int64_t mono, real;
	int n;

	for (unsigned i = 0; i < HB_IO_BATCH; i++) {
		struct msghdr *m = &io->in[i].msg_hdr;
		io->iov_in[i].iov_base = io->buf[i];
		io->iov_in[i].iov_len = sizeof io->buf[i];
		memset(m, 0, sizeof *m);
		m->msg_name = &io->rx[i].from.ss;
		m->msg_namelen = sizeof io->rx[i].from.ss;
		m->msg_iov = &io->iov_in[i];
		m->msg_iovlen = 1;
		m->msg_control = io->ctl[i].b;
		m->msg_controllen = sizeof io->ctl[i].b;
	}
	io->nout = 0;
	n = recvmmsg(fd, io->in, HB_IO_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
	mono = pk_now_ns();
	real = pk_wall_ns();
	for (int i = 0; i < n; i++) {
		struct pk_rx *rx = &io->rx[i];
		struct msghdr *m = &io->in[i].msg_hdr;

		rx->from.len = m->msg_namelen;
		rx->len = io->in[i].msg_len;
		rx->truncated = (m->msg_flags & MSG_TRUNC) != 0;
		pk_rx_stamp(rx, m, mono, real);
	}
	return n;
}

void hb_io_queue(struct hb_io *io, unsigned i, unsigned len)
{
	struct msghdr *m = &io->out[io->nout].msg_hdr;

	io->iov_out[io->nout].iov_base = io->reply[i];
	io->iov_out[io->nout].iov_len = len;
	memset(m, 0, sizeof *m);
	m->msg_name = &io->rx[i].from.ss;
	m->msg_namelen = io->rx[i].from.len;
	m->msg_iov = &io->iov_out[io->nout];
	m->msg_iovlen = 1;
	io->nout++;
}

unsigned hb_io_flush(int fd, struct hb_io *io)
{
	unsigned done = 0, ok = 0;

	while (done < io->nout) {
		int r = sendmmsg(fd, io->out + done, io->nout - done, MSG_DONTWAIT);
		if (r <= 0) {
			done++;          /* that reply is lost; the others go on */
			continue;
		}
		done += (unsigned)r;
		ok += (unsigned)r;
	}
	io->nout = 0;
	return ok;
}

#include "hb_io.h"

#include <errno.h>
#include <string.h>

#include "pk_clock.h"

/* As pk_recv_ts: the kernel stamp (realtime) is carried onto the monotonic
 * clock by the datagram's age, so both clocks' absolute values never mix. */
static void stamp(struct pk_rx *rx, struct msghdr *m, int64_t mono, int64_t real)
{
	struct cmsghdr *c;

	rx->rx_ns = mono;
	rx->clock = PK_RXCLOCK_MONOTONIC;
	for (c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
		struct timespec ts;
		int64_t age;

		if (c->cmsg_level != SOL_SOCKET ||
		    (c->cmsg_type != SO_TIMESTAMPING && c->cmsg_type != SO_TIMESTAMPNS))
			continue;
		memcpy(&ts, CMSG_DATA(c), sizeof ts);
		if (ts.tv_sec == 0 && ts.tv_nsec == 0)
			continue;
		age = real - pk_timespec_to_ns(&ts);
		if (age >= 0 && age < 10 * PK_NS_PER_S) {
			rx->rx_ns = mono - age;
			rx->clock = PK_RXCLOCK_KERNEL;
		}
	}
}

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
		stamp(rx, m, mono, real);
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

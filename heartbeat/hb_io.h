/* hb_io: batched UDP receive with kernel timestamps (recvmmsg) and batched
 * replies (sendmmsg) for the heartbeat server. A generic helper: a
 * candidate for common/ (pk_sock has the one-datagram pk_recv_ts).
 * The caller owns the struct (large: keep it on the heap); nothing here
 * allocates or prints.
 */
#ifndef HB_IO_H
#define HB_IO_H

#include <stdint.h>
#include <sys/socket.h>

#include "hb_proto.h"
#include "pk_sock.h"

#define HB_IO_BATCH 64

struct hb_io {
	struct mmsghdr in[HB_IO_BATCH], out[HB_IO_BATCH];
	struct iovec iov_in[HB_IO_BATCH], iov_out[HB_IO_BATCH];
	char buf[HB_IO_BATCH][HB_MSG_MAX + 1];
	char reply[HB_IO_BATCH][48];
	union {
		char b[PK_RX_CTL_SIZE];
		struct cmsghdr align;
	} ctl[HB_IO_BATCH];
	struct pk_rx rx[HB_IO_BATCH];
	unsigned nout;
};

/* Receives up to HB_IO_BATCH datagrams into io->buf / io->rx (receive time
 * on the monotonic clock, from the kernel stamp when there is one). Returns
 * the count (0 when nothing is queued) or -errno. */
int hb_io_recv(int fd, struct hb_io *io);
/* Queues `len` bytes of io->reply[i] as the answer to datagram i. */
void hb_io_queue(struct hb_io *io, unsigned i, unsigned len);
/* Sends the queued replies; returns how many went out (the rest failed). */
unsigned hb_io_flush(int fd, struct hb_io *io);

#endif

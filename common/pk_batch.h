/* pk_batch: datagrams in batches. One recvmmsg fills up to `max` buffers,
 * each with its sender and its receive time (from the kernel's timestamp
 * when the socket asked for them, see pk_sock_rx_timestamps); replies to
 * any of them are queued and leave in one sendmmsg.
 *
 * Memory is fixed when the batch is made (max buffers of bufsize bytes,
 * plus one byte each so that text can be NUL-terminated); nothing here
 * prints. A server drains a socket with a bounded number of pk_batch_recv
 * calls per readable event, so timers and signals stay live under load.
 */
#ifndef PK_BATCH_H
#define PK_BATCH_H

#include <stddef.h>

#include "pk_sock.h"

struct pk_batch;

/* max datagrams per call (1..1024), bufsize bytes each. NULL: no memory. */
struct pk_batch *pk_batch_new(unsigned max, size_t bufsize);
void pk_batch_free(struct pk_batch *b);

/* Receives up to max datagrams (without blocking). Returns the count, 0
 * when nothing is queued, or -errno. Queued replies not yet flushed are
 * dropped. */
int pk_batch_recv(int fd, struct pk_batch *b);

/* Datagram i of the last receive: its bytes (rx->len of them, followed by
 * a NUL; a larger datagram is cut at bufsize and marked rx->truncated),
 * and its sender and receive time. */
unsigned char *pk_batch_buf(struct pk_batch *b, unsigned i);
const struct pk_rx *pk_batch_rx(const struct pk_batch *b, unsigned i);

/* Queues len bytes at data as the reply to datagram i's sender. data must
 * stay valid until pk_batch_flush (datagram i's own buffer is fine). */
void pk_batch_reply(struct pk_batch *b, unsigned i, const void *data, size_t len);

/* Sends the queued replies. Returns how many left; a reply the kernel
 * refused (full buffer, unreachable peer) is lost, the others still go. */
unsigned pk_batch_flush(int fd, struct pk_batch *b);
/* Replies queued and not yet flushed. */
unsigned pk_batch_pending(const struct pk_batch *b);

#endif

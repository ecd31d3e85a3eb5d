/* pk_batch: batched receive with timestamps and batched replies, on loopback. */
#include "cm.h"
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pk_batch.h"
#include "pk_clock.h"
#include "pk_sock.h"

#define BUFSZ 100

static int bound(struct pk_addr *a)
{
	int fd;

	assert_int_equal(pk_resolve("127.0.0.1", 0, AF_INET, SOCK_DGRAM, 1, a), 0);
	fd = pk_udp_bind(a);
	assert_true(fd >= 0);
	assert_int_equal(pk_sock_local(fd, a), 0);
	return fd;
}

static void send_to(int fd, const struct pk_addr *to, const char *s, size_t n)
{
	assert_int_equal(sendto(fd, s, n, 0, (const struct sockaddr *)&to->ss, to->len),
	                 (ssize_t)n);
}

static void batch_round_trip(void **st)
{
	struct pk_addr sa, ca;
	int srv = bound(&sa), cli = bound(&ca);
	struct pk_batch *b = pk_batch_new(4, BUFSZ);
	int64_t t0;
	static const char *reply[3] = { "r0", "r1", "r2" };
	char buf[BUFSZ * 2];
	int n, kernel = 0;
	(void)st;
	assert_non_null(b);
	assert_int_equal(pk_sock_rx_timestamps(srv), 0);
	assert_int_equal(pk_batch_recv(srv, b), 0);            /* nothing queued */
	/* the kernel turns stamping on lazily (a deferred static key): wait
	 * until a datagram carries a stamp, bounded at 200 tries 1 ms apart */
	for (int i = 0; i < 200 && !kernel; i++) {
		usleep(i ? 1000 : 0);
		send_to(cli, &sa, "w", 1);
		struct pollfd p = { .fd = srv, .events = POLLIN };
		assert_int_equal(poll(&p, 1, 2000), 1);
		assert_int_equal(pk_batch_recv(srv, b), 1);
		kernel = pk_batch_rx(b, 0)->clock == PK_RXCLOCK_KERNEL;
	}
	assert_true(kernel);
	t0 = pk_now_ns();
	for (int i = 0; i < 3; i++) {
		n = snprintf(buf, sizeof buf, "%d 1.5", i);
		send_to(cli, &sa, buf, (size_t)n);
	}
	n = pk_batch_recv(srv, b);
	assert_int_equal(n, 3);
	for (int i = 0; i < n; i++) {
		const struct pk_rx *rx = pk_batch_rx(b, (unsigned)i);
		assert_true(pk_addr_equal(&rx->from, &ca));
		assert_int_equal(rx->len, 5);
		assert_false(rx->truncated);
		assert_int_equal(rx->clock, PK_RXCLOCK_KERNEL);
		assert_true(rx->rx_ns >= t0 - PK_NS_PER_MS && rx->rx_ns <= pk_now_ns());
		assert_int_equal(pk_batch_buf(b, (unsigned)i)[0], '0' + i);
		assert_int_equal(pk_batch_buf(b, (unsigned)i)[5], '\0');   /* terminated */
		if (i != 1)
			pk_batch_reply(b, (unsigned)i, reply[i], 2);
	}
	assert_int_equal(pk_batch_pending(b), 2);
	assert_int_equal(pk_batch_flush(srv, b), 2);
	assert_int_equal(pk_batch_pending(b), 0);
	assert_int_equal(recv(cli, buf, sizeof buf, 0), 2);
	assert_memory_equal(buf, "r0", 2);
	assert_int_equal(recv(cli, buf, sizeof buf, 0), 2);
	assert_memory_equal(buf, "r2", 2);
	assert_int_equal(recv(cli, buf, sizeof buf, MSG_DONTWAIT), -1);
	pk_batch_free(b);
	close(srv);
	close(cli);
}

/* more datagrams than a batch holds: the rest wait for the next call;
 * the reply may be the request's own buffer (an echo) */
static void batch_limits_and_echo(void **st)
{
	struct pk_addr sa, ca;
	int srv = bound(&sa), cli = bound(&ca);
	struct pk_batch *b = pk_batch_new(4, BUFSZ);
	char buf[BUFSZ * 2];
	int n;
	(void)st;
	for (int i = 0; i < 6; i++)
		send_to(cli, &sa, "abc", 3);
	assert_int_equal(pk_batch_recv(srv, b), 4);
	assert_int_equal(pk_batch_rx(b, 0)->clock, PK_RXCLOCK_MONOTONIC);  /* no stamps asked */
	pk_batch_reply(b, 0, pk_batch_buf(b, 0), (size_t)pk_batch_rx(b, 0)->len);
	assert_int_equal(pk_batch_flush(srv, b), 1);
	assert_int_equal(recv(cli, buf, sizeof buf, 0), 3);
	assert_int_equal(pk_batch_recv(srv, b), 2);
	assert_int_equal(pk_batch_recv(srv, b), 0);
	/* oversized: cut at the buffer, flagged, still terminated */
	memset(buf, '7', sizeof buf);
	send_to(cli, &sa, buf, sizeof buf);
	assert_int_equal(pk_batch_recv(srv, b), 1);
	assert_true(pk_batch_rx(b, 0)->truncated);
	assert_int_equal(pk_batch_rx(b, 0)->len, BUFSZ);
	assert_int_equal(pk_batch_buf(b, 0)[BUFSZ], '\0');
	/* an unflushed reply is dropped by the next receive */
	pk_batch_reply(b, 0, "x", 1);
	assert_int_equal(pk_batch_recv(srv, b), 0);
	assert_int_equal(pk_batch_pending(b), 0);
	/* more replies than slots: the extra ones are not queued */
	send_to(cli, &sa, "q", 1);
	assert_int_equal(pk_batch_recv(srv, b), 1);
	for (int i = 0; i < 6; i++)
		pk_batch_reply(b, 0, "y", 1);
	assert_int_equal(pk_batch_pending(b), 4);
	n = (int)pk_batch_flush(srv, b);
	assert_int_equal(n, 4);
	pk_batch_free(b);
	pk_batch_free(NULL);
	close(srv);
	close(cli);
}

static void bad_sizes_refused(void **st)
{
	(void)st;
	assert_null(pk_batch_new(0, 10));
	assert_null(pk_batch_new(2000, 10));
	assert_null(pk_batch_new(4, 0));
}

CM_MAIN(CM_T(batch_round_trip), CM_T(batch_limits_and_echo), CM_T(bad_sizes_refused))

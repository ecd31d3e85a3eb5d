/* hb_io: batched receive with timestamps and batched replies, on loopback. */
#include "cm.h"
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hb_io.h"
#include "pk_clock.h"
#include "pk_sock.h"

static int bound(struct pk_addr *a)
{
	int fd;

	assert_int_equal(pk_resolve("127.0.0.1", 0, AF_INET, SOCK_DGRAM, 1, a), 0);
	fd = pk_udp_bind(a);
	assert_true(fd >= 0);
	assert_int_equal(pk_sock_local(fd, a), 0);
	return fd;
}

static void batch_round_trip(void **st)
{
	struct pk_addr sa, ca;
	int srv = bound(&sa), cli = bound(&ca);
	static struct hb_io io;
	int64_t t0 = pk_now_ns();
	char buf[64];
	int n;
	(void)st;
	assert_int_equal(pk_sock_rx_timestamps(srv), 0);
	assert_int_equal(hb_io_recv(srv, &io), 0);            /* nothing queued */
	for (int i = 0; i < 3; i++) {
		n = snprintf(buf, sizeof buf, "%d 1.5", i);
		assert_int_equal(sendto(cli, buf, (size_t)n, 0,
		                        (struct sockaddr *)&sa.ss, sa.len), n);
	}
	n = hb_io_recv(srv, &io);
	assert_int_equal(n, 3);
	for (int i = 0; i < n; i++) {
		assert_true(pk_addr_equal(&io.rx[i].from, &ca));
		assert_int_equal(io.rx[i].len, 5);
		assert_false(io.rx[i].truncated);
		assert_true(io.rx[i].rx_ns >= t0 - PK_NS_PER_MS && io.rx[i].rx_ns <= pk_now_ns());
		assert_int_equal(io.buf[i][0], '0' + i);
		memcpy(io.reply[i], "ok", 2);
		if (i != 1)
			hb_io_queue(&io, (unsigned)i, 2);
	}
	assert_int_equal(hb_io_flush(srv, &io), 2);
	assert_int_equal(io.nout, 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(recv(cli, buf, sizeof buf, 0), 2);
	assert_int_equal(recv(cli, buf, sizeof buf, MSG_DONTWAIT), -1);
	/* oversized: truncated and flagged */
	memset(buf, 'x', sizeof buf);
	memset(io.buf, 0, sizeof io.buf);
	{
		char big[HB_MSG_MAX + 50];
		memset(big, '7', sizeof big);
		assert_int_equal(sendto(cli, big, sizeof big, 0, (struct sockaddr *)&sa.ss, sa.len),
		                 (ssize_t)sizeof big);
	}
	assert_int_equal(hb_io_recv(srv, &io), 1);
	assert_true(io.rx[0].truncated);
	close(srv);
	close(cli);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(batch_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

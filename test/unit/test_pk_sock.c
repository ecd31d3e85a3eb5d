/* pk_sock: resolve, bind, address text, kernel receive timestamps on loopback. */
#include "cm.h"
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "pk_clock.h"
#include "pk_sock.h"

static void resolve_and_format(void **st)
{
	struct pk_addr a, b;
	char buf[64];
	(void)st;
	assert_int_equal(pk_resolve("127.0.0.1", 12000, AF_UNSPEC, SOCK_DGRAM, 0, &a), 0);
	assert_int_equal(pk_addr_family(&a), AF_INET);
	assert_string_equal(pk_addr_str(&a, buf, sizeof buf), "127.0.0.1:12000");
	assert_string_equal(pk_addr_host(&a, buf, sizeof buf), "127.0.0.1");
	assert_int_equal(pk_addr_port(&a), 12000);
	assert_int_equal(pk_resolve("::1", 80, AF_UNSPEC, SOCK_DGRAM, 0, &b), 0);
	assert_string_equal(pk_addr_str(&b, buf, sizeof buf), "[::1]:80");
	assert_false(pk_addr_same_host(&a, &b));
	/* an IPv4 peer of a dual-stack socket prints as IPv4 */
	assert_int_equal(pk_resolve("::ffff:10.1.2.3", 7, AF_INET6, SOCK_DGRAM, 0, &b), 0);
	assert_string_equal(pk_addr_str(&b, buf, sizeof buf), "10.1.2.3:7");
	pk_addr_set_port(&b, 81);
	assert_int_equal(pk_addr_port(&b), 81);
	/* -4 with an IPv6 literal fails; an unknown name fails with text */
	int rc = pk_resolve("::1", 80, AF_INET, SOCK_DGRAM, 0, &b);
	assert_true(rc < 0);
	rc = pk_resolve("no-such-host.invalid", 80, AF_UNSPEC, SOCK_DGRAM, 0, &b);
	assert_true(rc <= -PK_ERESOLVE_BASE);
	assert_true(strlen(pk_sock_strerror(rc)) > 0);
	assert_string_equal(pk_sock_strerror(-EINVAL), strerror(EINVAL));
}

static void equal_and_hash(void **st)
{
	struct pk_addr a, b;
	(void)st;
	pk_resolve("127.0.0.1", 1, AF_INET, SOCK_DGRAM, 0, &a);
	pk_resolve("127.0.0.1", 1, AF_INET, SOCK_DGRAM, 0, &b);
	assert_true(pk_addr_equal(&a, &b));
	assert_int_equal(pk_addr_hash(&a), pk_addr_hash(&b));
	pk_addr_set_port(&b, 2);
	assert_false(pk_addr_equal(&a, &b));
	assert_true(pk_addr_same_host(&a, &b));
	assert_true(pk_addr_hash(&a) != pk_addr_hash(&b));
}

static void udp_roundtrip_with_timestamp(const char *host)
{
	struct pk_addr any, local;
	struct pk_rx rx;
	char buf[16];
	int kernel = 0;

	assert_int_equal(pk_resolve(host, 0, AF_UNSPEC, SOCK_DGRAM, 1, &any), 0);
	int srv = pk_udp_bind(&any);
	assert_true(srv >= 0);
	assert_int_equal(pk_sock_rx_timestamps(srv), 0);
	assert_int_equal(pk_sock_local(srv, &local), 0);
	assert_true(pk_addr_port(&local) != 0);
	int cli = pk_socket(pk_addr_family(&local), SOCK_DGRAM);
	assert_true(cli >= 0);
	/* nothing queued: -EAGAIN, non-blocking */
	assert_int_equal(pk_recv_ts(srv, buf, sizeof buf, &rx), -EAGAIN);
	/* the kernel turns stamping on lazily (a deferred static key): the
	 * first datagrams may lack a stamp; bounded at 200 tries, 1 ms apart */
	for (int i = 0; i < 200 && kernel == 0; i++) {
		if (i > 0)
			usleep(1000);
		int64_t before = pk_now_ns();
		assert_int_equal(sendto(cli, "hello", 5, 0, (struct sockaddr *)&local.ss, local.len), 5);
		struct pollfd p = { .fd = srv, .events = POLLIN };
		assert_int_equal(poll(&p, 1, 2000), 1);
		assert_int_equal(pk_recv_ts(srv, buf, sizeof buf, &rx), 5);
		assert_memory_equal(buf, "hello", 5);
		assert_false(rx.truncated);
		/* the receive time lies between the send and now */
		assert_true(rx.rx_ns >= before - 1000000);
		assert_true(rx.rx_ns <= pk_now_ns());
		kernel += rx.clock == PK_RXCLOCK_KERNEL;
	}
	assert_true(kernel > 0);         /* loopback gives software stamps */
	/* truncation is reported */
	sendto(cli, "0123456789abcdef", 16, 0, (struct sockaddr *)&local.ss, local.len);
	struct pollfd p = { .fd = srv, .events = POLLIN };
	poll(&p, 1, 2000);
	assert_int_equal(pk_recv_ts(srv, buf, 4, &rx), 4);
	assert_true(rx.truncated);
	close(cli);
	close(srv);
}

static void udp_v4(void **st) { (void)st; udp_roundtrip_with_timestamp("127.0.0.1"); }
static void udp_v6(void **st) { (void)st; udp_roundtrip_with_timestamp("::1"); }

/* Transmit stamps: each datagram sent is reported once on the error queue
 * with its number (0, 1, ...) and a time between the send and now. */
static void udp_tx_stamps(void **st)
{
	struct pk_addr any, local;
	uint32_t key;
	int64_t ns, before[3];
	(void)st;
	assert_int_equal(pk_resolve("127.0.0.1", 0, AF_INET, SOCK_DGRAM, 1, &any), 0);
	int srv = pk_udp_bind(&any);
	assert_true(srv >= 0);
	assert_int_equal(pk_sock_local(srv, &local), 0);
	int cli = pk_socket(AF_INET, SOCK_DGRAM);
	assert_int_equal(pk_sock_tx_timestamps(cli), 0);
	assert_int_equal(pk_recv_tx_stamp(cli, &key, &ns), -EAGAIN);
	for (int i = 0; i < 3; i++) {
		before[i] = pk_now_ns();
		assert_int_equal(sendto(cli, "17", 2, 0, (struct sockaddr *)&local.ss, local.len), 2);
	}
	for (uint32_t i = 0; i < 3; i++) {
		struct pollfd p = { .fd = cli, .events = 0 };   /* POLLERR: a stamp is queued */
		assert_int_equal(poll(&p, 1, 2000), 1);
		assert_int_equal(pk_recv_tx_stamp(cli, &key, &ns), 1);
		assert_int_equal(key, i);
		assert_true(ns >= before[i] - 1000000 && ns <= pk_now_ns());
	}
	assert_int_equal(pk_recv_tx_stamp(cli, &key, &ns), -EAGAIN);
	close(cli);
	close(srv);
}

static void udp_connected_filters(void **st)
{
	struct pk_addr a, srv_addr, other_addr;
	char buf[8];
	(void)st;
	pk_resolve("127.0.0.1", 0, AF_INET, SOCK_DGRAM, 1, &a);
	int srv = pk_udp_bind(&a), other = pk_udp_bind(&a);
	pk_sock_local(srv, &srv_addr);
	pk_sock_local(other, &other_addr);
	int c = pk_udp_connect(&srv_addr);
	assert_true(c >= 0);
	struct pk_addr cl;
	pk_sock_local(c, &cl);
	/* a datagram from a stranger is not delivered to a connected socket */
	sendto(other, "x", 1, 0, (struct sockaddr *)&cl.ss, cl.len);
	sendto(srv, "y", 1, 0, (struct sockaddr *)&cl.ss, cl.len);
	struct pollfd p = { .fd = c, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(recv(c, buf, sizeof buf, 0), 1);
	assert_int_equal(buf[0], 'y');
	assert_int_equal(recv(c, buf, sizeof buf, 0), -1);   /* nothing else */
	close(c);
	close(srv);
	close(other);
}

static void tcp_listen_connect(void **st)
{
	struct pk_addr a, local;
	(void)st;
	pk_resolve("127.0.0.1", 0, AF_INET, SOCK_STREAM, 1, &a);
	int l = pk_tcp_listen(&a, 8);
	assert_true(l >= 0);
	pk_sock_local(l, &local);
	int c = pk_tcp_connect(&local);
	assert_true(c >= 0);
	struct pollfd p = { .fd = c, .events = POLLOUT };
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(pk_sock_error(c), 0);
	close(c);
	close(l);
	/* a refused connect shows in SO_ERROR */
	c = pk_tcp_connect(&local);
	if (c >= 0) {
		p.fd = c;
		poll(&p, 1, 2000);
		assert_int_equal(pk_sock_error(c), -ECONNREFUSED);
		close(c);
	} else {
		assert_int_equal(c, -ECONNREFUSED);
	}
}

static void bind_in_use(void **st)
{
	struct pk_addr a, local;
	(void)st;
	pk_resolve("127.0.0.1", 0, AF_INET, SOCK_STREAM, 1, &a);
	int l = pk_tcp_listen(&a, 8);
	pk_sock_local(l, &local);
	assert_int_equal(pk_tcp_listen(&local, 8), -EADDRINUSE);
	close(l);
}

static int v6only_of(int fd)
{
	int v = -1;
	socklen_t len = sizeof v;
	assert_int_equal(getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len), 0);
	return v;
}

/* one call for every server: the wildcard is dual-stack "::" (an IPv4
 * client reaches it), -4 is 0.0.0.0, -6 is IPv6 only; TCP listens */
static void server_socket_wildcards(void **st)
{
	struct pk_addr local, to;
	char buf[8];
	int fd, cli;
	(void)st;
	fd = pk_server_socket(NULL, 0, AF_UNSPEC, SOCK_DGRAM, &local);
	assert_true(fd >= 0);
	assert_int_equal(pk_addr_family(&local), AF_INET6);
	assert_true(pk_addr_port(&local) != 0);
	assert_int_equal(v6only_of(fd), 0);
	assert_int_equal(pk_resolve("127.0.0.1", pk_addr_port(&local), AF_INET, SOCK_DGRAM, 0, &to), 0);
	cli = pk_udp_connect(&to);
	assert_true(cli >= 0);
	assert_int_equal(send(cli, "hi", 2, 0), 2);
	{
		struct pollfd p = { .fd = fd, .events = POLLIN };
		assert_int_equal(poll(&p, 1, 2000), 1);
	}
	assert_int_equal(recv(fd, buf, sizeof buf, 0), 2);
	close(cli);
	close(fd);

	fd = pk_server_socket(NULL, 0, AF_INET, SOCK_DGRAM, &local);
	assert_true(fd >= 0);
	assert_int_equal(pk_addr_family(&local), AF_INET);
	close(fd);

	fd = pk_server_socket(NULL, 0, AF_INET6, SOCK_STREAM, &local);
	assert_true(fd >= 0);
	assert_int_equal(v6only_of(fd), 1);
	{
		int acc = -1;
		socklen_t len = sizeof acc;
		assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len), 0);
		assert_int_equal(acc, 1);
	}
	close(fd);

	/* a named address; NULL local is fine */
	fd = pk_server_socket("127.0.0.1", 0, AF_UNSPEC, SOCK_STREAM, NULL);
	assert_true(fd >= 0);
	close(fd);
}

static void server_socket_errors(void **st)
{
	struct pk_addr local;
	int fd, rc;
	(void)st;
	fd = pk_server_socket("127.0.0.1", 0, AF_UNSPEC, SOCK_DGRAM, &local);
	assert_true(fd >= 0);
	/* the port in use: the error, not a silent fall-back elsewhere */
	rc = pk_server_socket("127.0.0.1", pk_addr_port(&local), AF_UNSPEC, SOCK_DGRAM, NULL);
	assert_int_equal(rc, -EADDRINUSE);
	close(fd);
	/* a family mismatch is a resolver error */
	rc = pk_server_socket("127.0.0.1", 0, AF_INET6, SOCK_DGRAM, NULL);
	assert_true(rc <= -PK_ERESOLVE_BASE);
	assert_non_null(pk_sock_strerror(rc));
}

static struct pk_addr addr_of(const char *host, uint16_t port)
{
	struct pk_addr a;
	assert_int_equal(pk_resolve(host, port, AF_UNSPEC, SOCK_DGRAM, 0, &a), 0);
	return a;
}

/* the port never counts, an IPv6 /64 is one source, mapped IPv4 is IPv4 */
static void source_hash_is_per_address(void **st)
{
	struct pk_addr a = addr_of("192.0.2.7", 1000), b = addr_of("192.0.2.7", 2000);
	struct pk_addr c = addr_of("192.0.2.8", 1000), m = addr_of("::ffff:192.0.2.7", 9);
	struct pk_addr x = addr_of("2001:db8:1:2::1", 5), y = addr_of("2001:db8:1:2:ffff::9", 6);
	struct pk_addr z = addr_of("2001:db8:1:3::1", 5);
	(void)st;
	assert_true(pk_addr_source_hash(&a) == pk_addr_source_hash(&b));
	assert_true(pk_addr_source_hash(&a) != pk_addr_source_hash(&c));
	assert_true(pk_addr_source_hash(&a) == pk_addr_source_hash(&m));
	assert_true(pk_addr_source_hash(&x) == pk_addr_source_hash(&y));
	assert_true(pk_addr_source_hash(&x) != pk_addr_source_hash(&z));
	a = addr_of("127.3.4.5", 1);
	assert_true(pk_addr_is_loopback(&a));
	assert_false(pk_addr_is_loopback(&c));
}

static void local_addrs_include_loopback(void **st)
{
	struct pk_addr a[PK_SELF_MAX];
	int n = pk_local_addrs(a, PK_SELF_MAX), lo = 0;
	(void)st;
	assert_true(n >= 1);
	for (int i = 0; i < n; i++) {
		assert_true(pk_addr_family(&a[i]) == AF_INET || pk_addr_family(&a[i]) == AF_INET6);
		assert_int_equal(pk_addr_port(&a[i]), 0);
		lo += pk_addr_is_loopback(&a[i]);
	}
	assert_true(lo >= 1);                    /* lo's 127.0.0.1 */
	assert_int_equal(pk_local_addrs(a, 1), 1);  /* bounded */
}

static void self_guard(void **st)
{
	struct pk_self s;
	struct pk_addr local = addr_of("::", 12000), bound = addr_of("192.0.2.1", 12000);
	(void)st;
	assert_int_equal(pk_self_init(&s, &local, 0), 0);
	assert_true(s.n >= 1);                        /* at least lo's addresses */
	assert_null(pk_self_refuse(&s, (struct pk_addr[]){ addr_of("127.0.0.1", 40000) }));
	assert_null(pk_self_refuse(&s, (struct pk_addr[]){ addr_of("192.0.2.9", 12000) }));
	assert_string_equal(pk_self_refuse(&s, (struct pk_addr[]){ addr_of("127.0.0.1", 0) }),
	                    "source port 0");
	assert_string_equal(pk_self_refuse(&s, (struct pk_addr[]){ addr_of("192.0.2.9", 53) }),
	                    "source port below 1024");
	assert_string_equal(pk_self_refuse(&s, (struct pk_addr[]){ addr_of("127.0.0.1", 12000) }),
	                    "our own address");
	assert_string_equal(pk_self_refuse(&s, (struct pk_addr[]){ addr_of("::1", 12000) }),
	                    "our own address");
	assert_string_equal(pk_self_refuse(&s, (struct pk_addr[]){ addr_of("::ffff:127.0.0.1", 12000) }),
	                    "our own address");
	/* an interface address of this host (the first non-loopback one) */
	for (size_t i = 0; i < s.n; i++) {
		struct pk_addr a = s.addr[i];
		if (pk_addr_is_loopback(&a))
			continue;
		pk_addr_set_port(&a, 12000);
		assert_string_equal(pk_self_refuse(&s, &a), "our own address");
		pk_addr_set_port(&a, 12001);
		assert_null(pk_self_refuse(&s, &a));
		break;
	}
	/* low ports allowed when asked */
	assert_int_equal(pk_self_init(&s, &bound, 1), 0);
	assert_int_equal(s.n, 1);
	assert_null(pk_self_refuse(&s, (struct pk_addr[]){ addr_of("192.0.2.9", 53) }));
	assert_string_equal(pk_self_refuse(&s, &bound), "our own address");
}

/* our own receive buffer's drops: told with each datagram, and on asking */
static void receive_buffer_drops(void **st)
{
	struct pk_addr a;
	struct pk_rx rx;
	char buf[2048];
	int small = 4096, srv, cli;
	uint64_t drops = 0;
	(void)st;
	assert_int_equal(pk_resolve("127.0.0.1", 0, AF_INET, SOCK_DGRAM, 1, &a), 0);
	srv = pk_udp_bind(&a);
	assert_true(srv >= 0);
	assert_int_equal(pk_sock_local(srv, &a), 0);
	assert_int_equal(setsockopt(srv, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
	assert_int_equal(pk_sock_count_drops(srv), 0);
	cli = pk_socket(AF_INET, SOCK_DGRAM);
	memset(buf, 'x', sizeof buf);
	for (int i = 0; i < 200; i++)           /* far more than 4 KiB holds */
		sendto(cli, buf, 1000, 0, (struct sockaddr *)&a.ss, a.len);
	assert_int_equal(pk_sock_drops(srv, &drops), 0);
	assert_true(drops > 0);
	/* a datagram carries the count as it stood when it was queued: those
	 * queued before the drops are told nothing (the kernel adds the count
	 * only once there is one), one sent after them carries it */
	while (pk_recv_ts(srv, buf, sizeof buf, &rx) == 1000)
		assert_int_equal(rx.rxq_drops, -1);
	sendto(cli, buf, 10, 0, (struct sockaddr *)&a.ss, a.len);
	assert_int_equal(pk_recv_ts(srv, buf, sizeof buf, &rx), 10);
	assert_int_equal(rx.rxq_drops, (int64_t)drops);
	close(cli);
	close(srv);
	/* a socket that did not ask is told nothing */
	srv = pk_udp_bind(&a);
	assert_true(srv >= 0);
	assert_int_equal(pk_sock_local(srv, &a), 0);
	cli = pk_socket(AF_INET, SOCK_DGRAM);
	sendto(cli, buf, 10, 0, (struct sockaddr *)&a.ss, a.len);
	assert_int_equal(pk_recv_ts(srv, buf, sizeof buf, &rx), 10);
	assert_int_equal(rx.rxq_drops, -1);
	close(cli);
	close(srv);
}

CM_MAIN(CM_T(resolve_and_format), CM_T(equal_and_hash), CM_T(udp_v4), CM_T(udp_v6),
	CM_T(udp_tx_stamps), CM_T(udp_connected_filters), CM_T(tcp_listen_connect),
	CM_T(bind_in_use), CM_T(server_socket_wildcards), CM_T(server_socket_errors),
	CM_T(source_hash_is_per_address), CM_T(self_guard), CM_T(local_addrs_include_loopback),
	CM_T(receive_buffer_drops))

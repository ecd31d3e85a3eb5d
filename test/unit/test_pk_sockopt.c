/* pk_sockopt: strict parsers of -I/-t/-Q (garbage refused), and the options
 * applied on loopback: a TTL of 7 and ToS ef sent, seen by the receiver
 * through pk_recv_ts's pk_rx.ttl / pk_rx.tos (IPv4 and IPv6). */
#include "cm.h"
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include "pk_sockopt.h"

static void ttl_parser(void **st)
{
	static const char *bad[] = { "", "0", "256", "-1", "+1", " 1", "1 ", "1x", "0x10",
	                             "99999999999999999999", "1.5", "ttl", NULL };
	const char *why;
	int v = -1;
	(void)st;
	assert_int_equal(pk_sockopt_parse_ttl("1", &v, &why), 0);
	assert_int_equal(v, 1);
	assert_int_equal(pk_sockopt_parse_ttl("255", &v, &why), 0);
	assert_int_equal(v, 255);
	assert_int_equal(pk_sockopt_parse_ttl("064", &v, &why), 0);
	assert_int_equal(v, 64);
	for (int i = 0; bad[i] != NULL; i++) {
		v = 42;
		why = NULL;
		assert_true(pk_sockopt_parse_ttl(bad[i], &v, &why) < 0);
		assert_non_null(why);
		assert_int_equal(v, 42);    /* untouched */
	}
	assert_true(pk_sockopt_parse_ttl(NULL, &v, NULL) < 0);
	assert_int_equal(pk_sockopt_parse_ttl("256", &v, &why), -ERANGE);
	assert_string_equal(why, "too large");
}

static void tos_parser(void **st)
{
	static const struct { const char *s; int v; } good[] = {
		{ "0", 0 }, { "184", 184 }, { "255", 255 }, { "0xb8", 0xb8 }, { "0XB8", 0xb8 },
		{ "0x0", 0 }, { "0xff", 255 }, { "ef", 0xb8 }, { "EF", 0xb8 }, { "cs0", 0 },
		{ "cs1", 0x20 }, { "cs7", 0xe0 }, { "af11", 0x28 }, { "af41", 0x88 },
		{ "af43", 0x98 }, { "le", 0x04 }, { "va", 0xb0 },
	};
	static const char *bad[] = { "", "256", "0x100", "0x", "0xg", "-1", "+1", " 1", "1 ",
	                             "ef ", "cs8", "af14", "af51", "af", "e", "efx", "0b1",
	                             "1e2", "0x1ff", "\xff", NULL };
	const char *why;
	int v;
	(void)st;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		v = -1;
		assert_int_equal(pk_sockopt_parse_tos(good[i].s, &v, &why), 0);
		assert_int_equal(v, good[i].v);
	}
	for (int i = 0; bad[i] != NULL; i++) {
		v = 42;
		why = NULL;
		assert_true(pk_sockopt_parse_tos(bad[i], &v, &why) < 0);
		assert_non_null(why);
		assert_int_equal(v, 42);
	}
	assert_int_equal(pk_dscp_by_name("af32"), 28);
	assert_int_equal(pk_dscp_by_name("nope"), -1);
	assert_int_equal(pk_dscp_by_name(NULL), -1);
}

static void iface_parser(void **st)
{
	static const char *bad[] = { "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "::g", "fe80::1%lo",
	                             "eth0/1", "a b", "a:b", ".", "..", "0123456789abcdef",
	                             "1.2.3.4 ", "\t", "eth\n", NULL };
	struct pk_sockopt o = PK_SOCKOPT_INIT;
	const char *why;
	(void)st;
	assert_int_equal(o.ttl, -1);
	assert_int_equal(o.tos, -1);
	assert_int_equal(pk_sockopt_parse_iface("127.0.0.2", &o, &why), 0);
	assert_true(o.have_src);
	assert_int_equal(pk_addr_family(&o.src), AF_INET);
	assert_string_equal(o.ifname, "");
	assert_int_equal(pk_sockopt_parse_iface("lo", &o, &why), 0);
	assert_false(o.have_src);
	assert_string_equal(o.ifname, "lo");
	assert_int_equal(pk_sockopt_parse_iface("::1", &o, &why), 0);
	assert_true(o.have_src);
	assert_int_equal(pk_addr_family(&o.src), AF_INET6);
	assert_string_equal(o.ifname, "");
	assert_int_equal(pk_sockopt_parse_iface("0123456789abcde", &o, &why), 0);   /* 15 */
	for (int i = 0; bad[i] != NULL; i++) {
		why = NULL;
		assert_true(pk_sockopt_parse_iface(bad[i], &o, &why) < 0);
		assert_non_null(why);
	}
	assert_true(pk_sockopt_parse_iface(NULL, &o, &why) < 0);
	assert_int_equal(pk_sockopt_set(&o, 't', "9", &why), 0);
	assert_int_equal(o.ttl, 9);
	assert_int_equal(pk_sockopt_set(&o, 'Q', "af21", &why), 0);
	assert_int_equal(o.tos, 18 << 2);
	assert_true(pk_sockopt_set(&o, 'x', "1", &why) < 0);
}

/* garbage of every length and byte never crashes a parser */
static void garbage(void **st)
{
	char buf[40];
	uint32_t x = 12345;
	struct pk_sockopt o;
	const char *why;
	int v;
	(void)st;
	for (int i = 0; i < 20000; i++) {
		size_t n = (size_t)(i % 39);

		for (size_t j = 0; j < n; j++) {
			x = x * 1103515245u + 12345u;
			buf[j] = (char)((x >> 16) & 0xff);
			if (buf[j] == 0)
				buf[j] = 'a';
		}
		buf[n] = '\0';
		pk_sockopt_init(&o);
		if (pk_sockopt_parse_ttl(buf, &v, &why) == 0)
			assert_true(v >= 1 && v <= 255);
		if (pk_sockopt_parse_tos(buf, &v, &why) == 0)
			assert_true(v >= 0 && v <= 255);
		if (pk_sockopt_parse_iface(buf, &o, &why) == 0)
			assert_true(o.have_src || strlen(o.ifname) > 0);
	}
}

/* Sends one datagram from a socket with o applied to a receiver asking for
 * TTL and ToS; returns what pk_recv_ts saw. */
static void roundtrip(int family, const struct pk_sockopt *o, struct pk_rx *rx)
{
	struct pk_addr la;
	const char *why = NULL;
	char buf[64];
	struct pollfd p;
	int r, s;

	if (family == AF_INET)
		la = cm_v4(0x7f000001, 0);
	else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&la.ss;

		memset(&la, 0, sizeof la);
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		la.len = sizeof *s6;
	}
	r = pk_udp_bind(&la);
	assert_true(r >= 0);
	assert_int_equal(pk_sock_rx_ttl_tos(r, family), 0);
	assert_int_equal(pk_sock_local(r, &la), 0);
	s = pk_socket(family, SOCK_DGRAM);
	assert_true(s >= 0);
	assert_int_equal(pk_sockopt_apply(s, family, o, &why), 0);
	assert_true(sendto(s, "ping", 4, 0, (struct sockaddr *)&la.ss, la.len) == 4);
	p.fd = r;
	p.events = POLLIN;
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(pk_recv_ts(r, buf, sizeof buf, rx), 4);
	close(s);
	close(r);
}

static int have_ipv6(void)
{
	int s = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int ok = s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0;

	if (s >= 0)
		close(s);
	return ok;
}

static void ttl_tos_on_the_wire(void **st)
{
	struct pk_sockopt o = PK_SOCKOPT_INIT;
	const char *why;
	struct pk_rx rx;
	(void)st;
	assert_int_equal(pk_sockopt_set(&o, 't', "7", &why), 0);
	assert_int_equal(pk_sockopt_set(&o, 'Q', "ef", &why), 0);
	roundtrip(AF_INET, &o, &rx);
	assert_int_equal(rx.ttl, 7);
	assert_int_equal(rx.tos, 0xb8);
	if (have_ipv6()) {
		roundtrip(AF_INET6, &o, &rx);
		assert_int_equal(rx.ttl, 7);
		assert_int_equal(rx.tos, 0xb8);
	}
	/* nothing set: the kernel's defaults, still reported */
	pk_sockopt_init(&o);
	roundtrip(AF_INET, &o, &rx);
	assert_true(rx.ttl >= 1 && rx.ttl <= 255);
	assert_int_equal(rx.tos, 0);
}

static void not_asked_is_minus_one(void **st)
{
	struct pk_addr la = cm_v4(0x7f000001, 0);
	struct pk_rx rx;
	char buf[8];
	struct pollfd p;
	int r = pk_udp_bind(&la), s = pk_socket(AF_INET, SOCK_DGRAM);
	(void)st;
	assert_true(r >= 0 && s >= 0);
	assert_int_equal(pk_sock_local(r, &la), 0);
	assert_true(sendto(s, "x", 1, 0, (struct sockaddr *)&la.ss, la.len) == 1);
	p.fd = r;
	p.events = POLLIN;
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(pk_recv_ts(r, buf, sizeof buf, &rx), 1);
	assert_int_equal(rx.ttl, -1);
	assert_int_equal(rx.tos, -1);
	close(s);
	close(r);
}

static void source_and_interface(void **st)
{
	struct pk_sockopt o = PK_SOCKOPT_INIT;
	struct pk_addr local;
	const char *why = NULL;
	int s;
	(void)st;
	/* an IPv4 source on an IPv6 socket: a clear error */
	assert_int_equal(pk_sockopt_parse_iface("127.0.0.1", &o, &why), 0);
	s = pk_socket(AF_INET6, SOCK_DGRAM);
	if (s >= 0) {
		assert_int_equal(pk_sockopt_apply(s, AF_INET6, &o, &why), -EAFNOSUPPORT);
		assert_string_equal(why, "source address is IPv4, the target IPv6");
		close(s);
	}
	/* the source is bound, port 0 */
	s = pk_socket(AF_INET, SOCK_DGRAM);
	assert_true(s >= 0);
	assert_int_equal(pk_sockopt_apply(s, AF_INET, &o, &why), 0);
	assert_int_equal(pk_sock_local(s, &local), 0);
	assert_int_equal(pk_addr_family(&local), AF_INET);
	assert_true(pk_addr_port(&local) != 0);
	close(s);
	/* not ours */
	assert_int_equal(pk_sockopt_parse_iface("192.0.2.1", &o, &why), 0);
	s = pk_socket(AF_INET, SOCK_DGRAM);
	assert_int_equal(pk_sockopt_apply(s, AF_INET, &o, &why), -EADDRNOTAVAIL);
	assert_string_equal(why, "not an address of this host");
	close(s);
	/* no such interface */
	assert_int_equal(pk_sockopt_parse_iface("nosuchif0", &o, &why), 0);
	s = pk_socket(AF_INET, SOCK_DGRAM);
	assert_int_equal(pk_sockopt_apply(s, AF_INET, &o, &why), -ENODEV);
	assert_string_equal(why, "no such interface");
	close(s);
}

/* A TCP socket takes -t and -Q (Linux refuses the multicast TTL there, so
 * it is only set on datagram sockets). */
static void tcp_socket(void **st)
{
	struct pk_sockopt o = PK_SOCKOPT_INIT;
	const char *why = NULL;
	int v = 0;
	socklen_t l = sizeof v;
	(void)st;
	o.ttl = 9;
	o.tos = 0xb8;
	for (int fam = 0; fam < 2; fam++) {
		int family = fam ? AF_INET6 : AF_INET;
		int fd = socket(family, SOCK_STREAM, 0);

		assert_true(fd >= 0);
		assert_int_equal(pk_sockopt_apply(fd, family, &o, &why), 0);
		l = sizeof v;
		assert_int_equal(getsockopt(fd, fam ? IPPROTO_IPV6 : IPPROTO_IP,
		                            fam ? IPV6_UNICAST_HOPS : IP_TTL, &v, &l), 0);
		assert_int_equal(v, 9);
		close(fd);
	}
}

CM_MAIN(CM_T(tcp_socket), CM_T(ttl_parser), CM_T(tos_parser), CM_T(iface_parser), CM_T(garbage),
        CM_T(ttl_tos_on_the_wire), CM_T(not_asked_is_minus_one), CM_T(source_and_interface))

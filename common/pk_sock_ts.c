/* pk_sock (receive and transmit timestamps): the kernel's software stamps
 * carried onto the monotonic clock. Declared in pk_sock.h. */
#include "pk_sock.h"
#include "pk_clock.h"

#include <errno.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

int pk_sock_rx_timestamps(int fd)
{
	int flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
	int one = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags) == 0)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) == 0)
		return 0;
	return -errno;
}

/* Kernel stamps are CLOCK_REALTIME. The datagram's age in the queue is
 * realtime_now - stamp; subtracting it from monotonic now puts the stamp on
 * the monotonic clock without mixing the two clocks' absolute values. An age
 * that is negative or implausibly old (a clock step) is not trusted. */
void pk_rx_stamp(struct pk_rx *rx, struct msghdr *m, int64_t mono_ns, int64_t real_ns)
{
	struct cmsghdr *c;

	rx->rx_ns = mono_ns;
	rx->rx_wall_ns = real_ns;
	rx->clock = PK_RXCLOCK_MONOTONIC;
	rx->rxq_drops = -1;
	rx->ttl = -1;
	rx->tos = -1;
	for (c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
		struct timespec ts;
		int64_t age;
		int v;

		/* IP_TTL, IPV6_HOPLIMIT, IPV6_TCLASS: an int; IP_TOS: a byte */
		if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
		    (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)) {
			memcpy(&v, CMSG_DATA(c), sizeof v);
			rx->ttl = v;
			continue;
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS) {
			memcpy(&v, CMSG_DATA(c), sizeof v);
			rx->tos = v & 0xff;
			continue;
		}
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) {
			rx->tos = *(const unsigned char *)CMSG_DATA(c);
			continue;
		}

		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
			uint32_t v;

			memcpy(&v, CMSG_DATA(c), sizeof v);
			rx->rxq_drops = v;
			continue;
		}

		/* SO_TIMESTAMPING's ts[0] is the software stamp */
		if (c->cmsg_level != SOL_SOCKET ||
		    (c->cmsg_type != SO_TIMESTAMPING && c->cmsg_type != SO_TIMESTAMPNS))
			continue;
		memcpy(&ts, CMSG_DATA(c), sizeof ts);
		if (ts.tv_sec == 0 && ts.tv_nsec == 0)
			continue;
		age = real_ns - pk_timespec_to_ns(&ts);
		if (age >= 0 && age < 10 * PK_NS_PER_S) {
			rx->rx_ns = mono_ns - age;
			rx->rx_wall_ns = real_ns - age;
			rx->clock = PK_RXCLOCK_KERNEL;
		}
	}
}

ssize_t pk_recv_ts(int fd, void *buf, size_t cap, struct pk_rx *rx)
{
	union {
		char buf[PK_RX_CTL_SIZE];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr msg;
	ssize_t n;

	memset(&msg, 0, sizeof msg);
	msg.msg_name = &rx->from.ss;
	msg.msg_namelen = sizeof rx->from.ss;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof ctl.buf;
	n = recvmsg(fd, &msg, 0);
	if (n < 0)
		return -errno;
	rx->from.len = msg.msg_namelen;
	rx->len = n;
	rx->truncated = (msg.msg_flags & MSG_TRUNC) != 0;
	pk_rx_stamp(rx, &msg, pk_now_ns(), pk_wall_ns());
	return n;
}

int pk_sock_rx_ttl_tos(int fd, int family)
{
	int one = 1;

	if (family == AF_INET6) {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof one) != 0 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof one) != 0)
			return -errno;
		/* IPv4-mapped peers of a dual-stack socket */
		(void)setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof one);
		(void)setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof one);
		return 0;
	}
	if (setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof one) != 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof one) != 0)
		return -errno;
	return 0;
}

int pk_sock_count_drops(int fd)
{
	int one = 1;

	return setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) == 0 ? 0 : -errno;
}

int pk_sock_drops(int fd, uint64_t *drops)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof mem;

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) != 0)
		return -errno;
	if (len < (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t))
		return -EOPNOTSUPP;
	*drops = mem[SK_MEMINFO_DROPS];
	return 0;
}

int pk_sock_tx_timestamps(int fd)
{
	int flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_TX_SOFTWARE |
	            SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID |
	            SOF_TIMESTAMPING_OPT_TSONLY;

	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags) != 0)
		return -errno;
	return 0;
}

/* The stamp and the extended error of one error-queue message. */
static int tx_stamp_of(struct msghdr *m, uint32_t *key, int64_t *real_ns)
{
	struct cmsghdr *c;
	int have_ts = 0, have_id = 0;

	for (c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPING) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof ts);     /* ts[0]: software */
			if (ts.tv_sec != 0 || ts.tv_nsec != 0) {
				*real_ns = pk_timespec_to_ns(&ts);
				have_ts = 1;
			}
		} else if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
		           (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
			struct sock_extended_err ee;
			memcpy(&ee, CMSG_DATA(c), sizeof ee);
			if (ee.ee_errno == ENOMSG && ee.ee_origin == SO_EE_ORIGIN_TIMESTAMPING &&
			    ee.ee_info == SCM_TSTAMP_SND) {
				*key = ee.ee_data;
				have_id = 1;
			}
		}
	}
	return have_ts && have_id;
}

int pk_recv_tx_stamp(int fd, uint32_t *key, int64_t *mono_ns)
{
	union {
		char buf[PK_RX_CTL_SIZE + CMSG_SPACE(sizeof(struct sock_extended_err) +
		                                     sizeof(struct sockaddr_in6))];
		struct cmsghdr align;
	} ctl;
	char data[64];
	struct iovec iov = { .iov_base = data, .iov_len = sizeof data };
	struct msghdr msg;
	int64_t real_ns = 0, now_mono, now_real, age;

	memset(&msg, 0, sizeof msg);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof ctl.buf;
	if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
		return -errno;
	now_mono = pk_now_ns();
	now_real = pk_wall_ns();
	if (!tx_stamp_of(&msg, key, &real_ns))
		return 0;
	age = now_real - real_ns;
	if (age < 0 || age >= 10 * PK_NS_PER_S)
		return 0;
	*mono_ns = now_mono - age;
	return 1;
}


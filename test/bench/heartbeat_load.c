/* hb_load: bounded heartbeat load generator for the server-scale benchmark.
 *
 *   hb_load PORT CLIENTS RATE SECONDS
 *
 * Simulates CLIENTS heartbeat clients on loopback, each sending RATE
 * heartbeats per second for SECONDS, to 127.0.0.1:PORT. One socket bound to
 * 0.0.0.0:P plays every client: each heartbeat leaves from its own source
 * address 127.1.x.y (IP_PKTINFO; all of 127/8 is local on Linux), so the
 * server sees CLIENTS distinct (address, port) pairs; the replies come back
 * to the same socket. Datagrams go out at start + k / (CLIENTS * RATE) in
 * sendmmsg batches; replies are read with recvmmsg. At the end (after a
 * 300 ms drain) it prints sent, replies, lost and its own CPU time.
 * Bounds: CLIENTS <= 65000, RATE * CLIENTS <= 500000/s, SECONDS <= 120.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hb_proto.h"
#include "pk_clock.h"

#define BATCH 64

struct load {
	int fd;
	struct sockaddr_in dst;
	uint32_t clients;
	uint64_t sent, replies, bad, send_fail;
};

static uint32_t client_ip(uint32_t i)
{
	return (127u << 24) | (1u << 16) | (i + 1);   /* 127.1.0.1 ... */
}

static void send_batch(struct load *l, uint64_t k0, unsigned n)
{
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	char msg[BATCH][64];
	union { char b[CMSG_SPACE(sizeof(struct in_pktinfo))]; struct cmsghdr a; } ctl[BATCH];
	int64_t wall = pk_wall_ns();
	int r;

	memset(mm, 0, sizeof mm);
	for (unsigned j = 0; j < n; j++) {
		uint64_t k = k0 + j;
		uint32_t c = (uint32_t)(k % l->clients);
		struct cmsghdr *cm;
		struct in_pktinfo pi;
		int len = hb_format_beat(msg[j], sizeof msg[j], k / l->clients, wall);

		iov[j].iov_base = msg[j];
		iov[j].iov_len = (size_t)len;
		mm[j].msg_hdr.msg_name = &l->dst;
		mm[j].msg_hdr.msg_namelen = sizeof l->dst;
		mm[j].msg_hdr.msg_iov = &iov[j];
		mm[j].msg_hdr.msg_iovlen = 1;
		mm[j].msg_hdr.msg_control = ctl[j].b;
		mm[j].msg_hdr.msg_controllen = sizeof ctl[j].b;
		cm = CMSG_FIRSTHDR(&mm[j].msg_hdr);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof pi);
		memset(&pi, 0, sizeof pi);
		pi.ipi_spec_dst.s_addr = htonl(client_ip(c));
		memcpy(CMSG_DATA(cm), &pi, sizeof pi);
	}
	for (unsigned done = 0; done < n; done += (unsigned)r) {
		r = sendmmsg(l->fd, mm + done, n - done, 0);
		if (r <= 0) {
			l->send_fail += n - done;
			break;
		}
		l->sent += (unsigned)r;
	}
}

static void drain(struct load *l)
{
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	char buf[BATCH][HB_MSG_MAX + 1];
	int r;

	do {
		memset(mm, 0, sizeof mm);
		for (int j = 0; j < BATCH; j++) {
			iov[j].iov_base = buf[j];
			iov[j].iov_len = sizeof buf[j];
			mm[j].msg_hdr.msg_iov = &iov[j];
			mm[j].msg_hdr.msg_iovlen = 1;
		}
		r = recvmmsg(l->fd, mm, BATCH, MSG_DONTWAIT, NULL);
		for (int j = 0; j < r; j++) {
			struct hb_reply rep;
			if (hb_parse_reply(buf[j], mm[j].msg_len, &rep) > 0)
				l->replies++;
			else
				l->bad++;
		}
	} while (r == BATCH);
}

static int setup(struct load *l, int port)
{
	struct sockaddr_in any;
	int one = 1, big = 32 << 20;

	l->fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (l->fd < 0)
		return -errno;
	setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	setsockopt(l->fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	setsockopt(l->fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
	setsockopt(l->fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
	memset(&any, 0, sizeof any);
	any.sin_family = AF_INET;
	if (bind(l->fd, (struct sockaddr *)&any, sizeof any) != 0)
		return -errno;
	memset(&l->dst, 0, sizeof l->dst);
	l->dst.sin_family = AF_INET;
	l->dst.sin_port = htons((uint16_t)port);
	l->dst.sin_addr.s_addr = htonl(0x7f000001);
	return 0;
}

int main(int argc, char **argv)
{
	struct load l;
	struct rusage ru;
	uint64_t total, k = 0;
	double rate;
	int64_t start, end, step;
	long port, clients, per, secs;

	if (argc != 5) {
		fprintf(stderr, "usage: hb_load PORT CLIENTS RATE SECONDS\n");
		return 2;
	}
	port = atol(argv[1]);
	clients = atol(argv[2]);
	per = atol(argv[3]);
	secs = atol(argv[4]);
	if (port <= 0 || port > 65535 || clients < 1 || clients > 65000 || per < 1 ||
	    clients * per > 500000 || secs < 1 || secs > 120) {
		fprintf(stderr, "hb_load: out of bounds\n");
		return 2;
	}
	memset(&l, 0, sizeof l);
	l.clients = (uint32_t)clients;
	if (setup(&l, (int)port) < 0) {
		perror("hb_load: socket");
		return 2;
	}
	pk_timer_slack_min();
	rate = (double)clients * (double)per;           /* datagrams per second */
	total = (uint64_t)(rate * (double)secs);
	step = PK_NS_PER_MS / 2;                         /* wake every 0.5 ms */
	start = pk_now_ns();
	end = start + secs * PK_NS_PER_S;
	for (int64_t t = start; k < total && pk_now_ns() < end + PK_NS_PER_S; t += step) {
		struct timespec ts = pk_ns_to_timespec(t);
		uint64_t due = (uint64_t)((double)(pk_now_ns() - start) * rate / 1e9);

		if (due > total)
			due = total;
		while (k < due) {
			unsigned n = due - k > BATCH ? BATCH : (unsigned)(due - k);
			send_batch(&l, k, n);
			k += n;
		}
		drain(&l);
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	for (int i = 0; i < 30; i++) {                  /* 300 ms for the last replies */
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		drain(&l);
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("load: clients %ld, rate %ld/s each, %.0f datagrams/s, %" PRIu64 " sent, %"
	       PRIu64 " replies, %" PRIu64 " lost (%.3f%%), %" PRIu64 " send failures, "
	       "%" PRIu64 " bad replies, elapsed %.2f s, cpu %.2f s\n", clients, per, rate,
	       l.sent, l.replies, l.sent - l.replies,
	       l.sent ? 100.0 * (double)(l.sent - l.replies) / (double)l.sent : 0.0,
	       l.send_fail, l.bad, pk_ns_to_s(pk_now_ns() - start),
	       (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	close(l.fd);
	return l.sent ? 0 : 1;
}

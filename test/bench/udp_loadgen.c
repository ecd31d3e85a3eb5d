/* Closed-loop UDP load generator: keeps INFLIGHT requests outstanding
 * against an echo server for SECONDS (bounded), re-sending on each reply
 * (and topping up after 10 ms of silence, so losses do not stall it).
 * Prints echoes per second.  usage: udp_loadgen HOST PORT INFLIGHT SECONDS */
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define B 64
int main(int argc, char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai;
	if (argc != 5 || getaddrinfo(argv[1], argv[2], &hints, &ai) != 0)
		return 2;
	int inflight = atoi(argv[3]);
	double secs = atof(argv[4]);
	if (secs > 60)
		secs = 60;
	int fd = socket(ai->ai_family, SOCK_DGRAM, 0), big = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	connect(fd, ai->ai_addr, ai->ai_addrlen);
	static char msg[] = "Ping 1 1726820518.391909";
	static char rx[B][64];
	struct mmsghdr m[B], out[B];
	struct iovec iov[B], oiov[B];
	for (int i = 0; i < B; i++) {
		memset(&m[i], 0, sizeof m[i]);
		iov[i].iov_base = rx[i];
		iov[i].iov_len = sizeof rx[i];
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
		memset(&out[i], 0, sizeof out[i]);
		oiov[i].iov_base = msg;
		oiov[i].iov_len = sizeof msg - 1;
		out[i].msg_hdr.msg_iov = &oiov[i];
		out[i].msg_hdr.msg_iovlen = 1;
	}
	long echoes = 0;
	double t0 = now(), end = t0 + secs, warm = t0 + 0.2;
	long counted = 0;
	for (int i = 0; i < inflight; i += B)
		sendmmsg(fd, out, (unsigned)(inflight - i < B ? inflight - i : B), 0);
	while (now() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 10) == 0) {       /* silence: top the window up */
			sendmmsg(fd, out, B, 0);
			continue;
		}
		int n = recvmmsg(fd, m, B, MSG_DONTWAIT, NULL);
		if (n <= 0)
			continue;
		echoes += n;
		if (now() >= warm)
			counted += n;
		sendmmsg(fd, out, (unsigned)n, 0);
	}
	printf("%.0f echoes/s (%ld in %.1f s)\n", counted / (end - warm), echoes, secs);
	return 0;
}

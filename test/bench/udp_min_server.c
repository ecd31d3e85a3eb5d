/* Minimal recvmmsg/sendmmsg UDP echo server: the capacity floor for
 * udp-ping server. Upper-cases like the real one. usage: udp_min_server PORT */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define B 32
int main(int argc, char **argv)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	static char bufs[B][2048];
	struct mmsghdr m[B];
	struct iovec iov[B];
	struct sockaddr_storage from[B];
	int fd = socket(AF_INET6, SOCK_DGRAM, 0), zero = 0, big = 4 << 20;
	socklen_t len = sizeof a;

	if (argc != 2)
		return 2;
	a.sin6_port = htons((unsigned short)atoi(argv[1]));
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0)
		return 1;
	getsockname(fd, (struct sockaddr *)&a, &len);
	printf("listening on [::]:%d\n", ntohs(a.sin6_port));
	fflush(stdout);
	for (;;) {
		for (int i = 0; i < B; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof bufs[i];
			memset(&m[i].msg_hdr, 0, sizeof m[i].msg_hdr);
			m[i].msg_hdr.msg_name = &from[i];
			m[i].msg_hdr.msg_namelen = sizeof from[i];
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
		}
		int n = recvmmsg(fd, m, B, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			for (unsigned k = 0; k < m[i].msg_len; k++)
				if (bufs[i][k] >= 'a' && bufs[i][k] <= 'z')
					bufs[i][k] -= 32;
			iov[i].iov_len = m[i].msg_len;
		}
		sendmmsg(fd, m, (unsigned)n, 0);
	}
}

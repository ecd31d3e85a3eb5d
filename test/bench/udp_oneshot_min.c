/* The start-up floor for `udp-ping client -c 1`: the least a program can do
 * to start, send one ping in udp-ping's wire format ("Ping 1 <sec>.<usec>",
 * docs/PROTOCOLS.md section 1), wait for the echo (timeout 1 s) and exit.
 * Numeric addresses only (no resolver), built with gcc -O2 -static (no
 * dynamic loader), no stdio. Exit 0 on the echo, 1 without it, 2 on usage.
 * usage: udp_oneshot_min IPV4|IPV6 PORT */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	struct sockaddr *sa = (struct sockaddr *)&a4;
	socklen_t salen = sizeof a4;
	struct timeval tv = { 1, 0 };
	struct timespec ts;
	char buf[64], rx[128];
	int fd, len, port;

	if (argc != 3 || (port = atoi(argv[2])) <= 0 || port > 65535)
		return 2;
	if (inet_pton(AF_INET, argv[1], &a4.sin_addr) == 1) {
		a4.sin_port = htons((unsigned short)port);
	} else if (inet_pton(AF_INET6, argv[1], &a6.sin6_addr) == 1) {
		a6.sin6_port = htons((unsigned short)port);
		sa = (struct sockaddr *)&a6;
		salen = sizeof a6;
	} else {
		return 2;
	}
	fd = socket(sa->sa_family, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, sa, salen) != 0)
		return 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	clock_gettime(CLOCK_REALTIME, &ts);
	len = snprintf(buf, sizeof buf, "Ping 1 %lld.%06ld", (long long)ts.tv_sec,
	               ts.tv_nsec / 1000);
	if (send(fd, buf, (size_t)len, 0) != len)
		return 1;
	/* the echo: the same bytes upper-cased */
	return recv(fd, rx, sizeof rx, 0) == len && rx[0] == 'P' && rx[1] == 'I' ? 0 : 1;
}

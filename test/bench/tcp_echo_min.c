/* Minimal TCP echo programs: the floors tcp-echo is measured against.
 *
 *   tcp_echo_min server                     echo every byte back (blocking,
 *                                           one connection at a time); prints
 *                                           "listening on 127.0.0.1:PORT"
 *   tcp_echo_min pingpong HOST PORT SIZE N  stop-and-wait: send SIZE bytes,
 *                                           read SIZE back, N times; prints
 *                                           "mean_us p50_us p99_us goodput_mbps"
 *   tcp_echo_min pipe HOST PORT SIZE N WIN  keeps WIN messages of SIZE in
 *                                           flight until N are echoed; prints
 *                                           "goodput_mbps"
 * No framing, no parsing: the least work an echo measurement can do. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int dial(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int fd, one = 1;

	if (getaddrinfo(host, port, &hints, &ai) != 0)
		exit(2);
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		perror("connect");
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	freeaddrinfo(ai);
	return fd;
}

static int serve(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	static char buf[1 << 18];

	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 16) ||
	    getsockname(lfd, (struct sockaddr *)&a, &len))
		return 2;
	printf("listening on 127.0.0.1:%u\n", ntohs(a.sin_port));
	fflush(stdout);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		ssize_t n;
		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		while ((n = read(fd, buf, sizeof buf)) > 0) {
			for (ssize_t off = 0; off < n;) {
				ssize_t k = write(fd, buf + off, (size_t)(n - off));
				if (k <= 0)
					break;
				off += k;
			}
		}
		close(fd);
	}
}

static int pingpong(const char *host, const char *port, size_t size, int n)
{
	int fd = dial(host, port);
	char *buf = malloc(size), *rx = malloc(size);
	int64_t *rtt = calloc((size_t)n, sizeof *rtt), sum = 0, start = now_ns();

	memset(buf, 'x', size);
	for (int i = 0; i < n; i++) {
		int64_t t0 = now_ns();
		size_t got = 0;
		if (write(fd, buf, size) != (ssize_t)size)
			return 1;
		while (got < size) {
			ssize_t k = read(fd, rx + got, size - got);
			if (k <= 0)
				return 1;
			got += (size_t)k;
		}
		rtt[i] = now_ns() - t0;
		sum += rtt[i];
	}
	int64_t span = now_ns() - start;
	qsort(rtt, (size_t)n, sizeof *rtt, cmp);
	printf("%.3f %.3f %.3f %.3f\n", (double)sum / n / 1e3, rtt[n / 2] / 1e3,
	       rtt[(int)(n * 0.99)] / 1e3, 8e3 * (double)size * n / (double)span);
	return 0;
}

static int pipe_run(const char *host, const char *port, size_t size, long n, long win)
{
	int fd = dial(host, port);
	char *buf = malloc(size), *rx = malloc(1 << 18);
	long long sent = 0, got = 0, total = (long long)size * n;
	int64_t start = now_ns();

	memset(buf, 'x', size);
	while (got < total) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int can_send = sent < total && sent - got < (long long)size * win;
		if (can_send)
			p.events |= POLLOUT;
		if (poll(&p, 1, 5000) <= 0)
			return 1;
		if (p.revents & POLLOUT) {
			size_t off = (size_t)(sent % (long long)size);
			ssize_t k = send(fd, buf + off, size - off, MSG_DONTWAIT);
			if (k > 0)
				sent += k;
		}
		if (p.revents & POLLIN) {
			ssize_t k = recv(fd, rx, 1 << 18, MSG_DONTWAIT);
			if (k == 0)
				return 1;
			if (k > 0)
				got += k;
		}
	}
	printf("%.3f\n", 8e3 * (double)total / (double)(now_ns() - start));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "server") == 0)
		return serve();
	if (argc == 6 && strcmp(argv[1], "pingpong") == 0)
		return pingpong(argv[2], argv[3], (size_t)atol(argv[4]), atoi(argv[5]));
	if (argc == 7 && strcmp(argv[1], "pipe") == 0)
		return pipe_run(argv[2], argv[3], (size_t)atol(argv[4]), atol(argv[5]), atol(argv[6]));
	fprintf(stderr, "usage: tcp_echo_min server | pingpong HOST PORT SIZE N | "
	        "pipe HOST PORT SIZE N WINDOW\n");
	return 2;
}

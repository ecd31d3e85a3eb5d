/* The floor for udp-ping's paced RTT: the least a client can do.
 * Sends "Ping <seq> <t>" at absolute deadlines with clock_nanosleep, waits
 * for each echo with a blocking recv (timeout 1 s), prints the median,
 * p90, p99, p99.9 and max RTT in microseconds.
 * usage: udp_floor_client HOST PORT COUNT INTERVAL_US [RAW_FILE]
 * RAW_FILE, when given, gets every RTT in ns, one a line, in send order. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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

int main(int argc, char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai;
	struct timeval tv = { 1, 0 };
	if ((argc != 5 && argc != 6) || getaddrinfo(argv[1], argv[2], &hints, &ai) != 0)
		return 2;
	int n = atoi(argv[3]);
	int64_t iv = atoll(argv[4]) * 1000LL, start;
	int64_t *rtt = calloc((size_t)n, sizeof *rtt);
	int fd = socket(ai->ai_family, SOCK_DGRAM, 0), got = 0;
	char buf[256], rx[256];

	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	connect(fd, ai->ai_addr, ai->ai_addrlen);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	start = now_ns() + 1000000;
	for (int i = 0; i < n; i++) {
		int64_t dl = start + i * iv;
		struct timespec ts = { dl / 1000000000LL, dl % 1000000000LL };
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		int len = snprintf(buf, sizeof buf, "Ping %d %lld", i + 1, (long long)dl);
		int64_t t0 = now_ns();
		send(fd, buf, (size_t)len, 0);
		if (recv(fd, rx, sizeof rx, 0) > 0)
			rtt[got++] = now_ns() - t0;
	}
	if (argc == 6) {
		FILE *f = fopen(argv[5], "w");

		if (f == NULL)
			return 2;
		for (int i = 0; i < got; i++)
			fprintf(f, "%lld\n", (long long)rtt[i]);
		fclose(f);
	}
	qsort(rtt, (size_t)got, sizeof *rtt, cmp);
	if (got == 0)
		return 1;
	printf("floor: %d/%d replies, median %.1f us, p90 %.1f us, p99 %.1f us, "
	       "p99.9 %.1f us, max %.1f us\n", got, n, rtt[got / 2] / 1e3,
	       rtt[(int)(got * 0.9)] / 1e3, rtt[(int)(got * 0.99)] / 1e3,
	       rtt[(int)(got * 0.999)] / 1e3, rtt[got - 1] / 1e3);
	return 0;
}
